"""Glue between Airflow and the plain functions of `strategy_briefs` (the only Airflow-aware code)."""
