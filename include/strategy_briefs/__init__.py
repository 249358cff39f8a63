"""Strategy Briefs: monthly line-of-business figures to executive PDF briefs."""
