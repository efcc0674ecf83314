"""The orchestrator's event-log tailer for Postgres: re-checks the run's most recent ids on
every poll, so a row committed out of id order is still seen, and fetches and deserializes
only rows it has not seen.

Two step processes writing at once can commit out of id order (ids come from one sequence
when a statement starts; rows become visible when it commits), so a plain id cursor passes a
later-committing row for good. Dagster's own answer, the storage's run-scoped tailer offset,
re-reads and re-deserializes the last N rows on every poll; this re-reads only their ids.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


class OrderSafeTailer:
    def __init__(self, offset: int) -> None:
        self._offset = offset
        self._low = 0

    def __call__(
        self, instance: Any, run_id: str, seen_storage_ids: set[int], limit: int
    ) -> list[Any]:
        import sqlalchemy as db

        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    db.text(
                        "SELECT id FROM event_logs WHERE run_id = :run_id AND id > :low "
                        "AND dagster_event_type IS NOT NULL ORDER BY id LIMIT :limit"
                    ),
                    {"run_id": run_id, "low": self._low, "limit": limit},
                )
            ]
            new_ids = [i for i in ids if i not in seen_storage_ids]
            rows = (
                conn.execute(
                    db.text("SELECT id, event FROM event_logs WHERE id = ANY(:ids) ORDER BY id"),
                    {"ids": new_ids},
                ).fetchall()
                if new_ids
                else []
            )
        seen_storage_ids.update(new_ids)
        if ids:
            self._low = max(self._low, ids[-1] - self._offset)
        entries = [dg.deserialize_value(row[1], dg.EventLogEntry) for row in rows]
        return [entry.dagster_event for entry in entries if entry.dagster_event is not None]


def order_safe_tailer(instance: Any, offset: int | None) -> OrderSafeTailer | None:
    """The tailer for this instance, or None for Dagster's own (sqlite commits in id order; an
    offset of None turns this tailer off)."""
    from dagster_postgres import PostgresEventLogStorage

    if offset is None or not isinstance(instance.event_log_storage, PostgresEventLogStorage):
        return None
    return OrderSafeTailer(offset)
