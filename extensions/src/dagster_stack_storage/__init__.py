"""Postgres storages for the stack: dagster-postgres (and dagster-warm-pool's event log)
with pooled connections that survive a Postgres restart (see pre_ping)."""

from dagster_stack_storage.storage import (
    PrePingBatchingEventLogStorage,
    PrePingRunStorage,
    PrePingScheduleStorage,
)

__all__ = ["PrePingBatchingEventLogStorage", "PrePingRunStorage", "PrePingScheduleStorage"]
