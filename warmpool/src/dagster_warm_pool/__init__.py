"""dagster-warm-pool: a Dagster executor for short steps (see warmpool/README.md)."""
