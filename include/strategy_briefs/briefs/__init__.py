"""Brief facts -> typed context -> narrative, charts, PDF."""
