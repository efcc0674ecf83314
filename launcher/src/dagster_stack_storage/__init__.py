"""Postgres storage for the stack: dagster-postgres with pooled connections that survive a
Postgres restart (see pre_ping)."""

from dagster_stack_storage.storage import PrePingPostgresStorage

__all__ = ["PrePingPostgresStorage"]
