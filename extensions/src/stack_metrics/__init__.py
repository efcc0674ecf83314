"""The stack's /metrics endpoint: Dagster's Postgres storage read on each scrape with aggregate
SQL (`sql`), turned into Prometheus families by pure functions (`families`) in a custom
collector (`collector`); `python -m stack_metrics` serves it."""
