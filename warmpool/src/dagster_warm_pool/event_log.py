"""`BatchingPostgresEventLogStorage`: Dagster's Postgres event log, plus one-statement writes
for the bookkeeping events of a warm-pool step.

Stock Dagster writes every event as it happens: an INSERT and a NOTIFY, each autocommitted,
about a dozen per step. Inside `batched_step_writes()` (entered only by the warm pool's step
processes) the step's plain bookkeeping events (dagster_warm_pool.event_rows.PLAIN_KINDS)
are held and written together, in one statement, at the points where someone could look:
  * at STEP_START, so a long step shows as running;
  * with any log message (`context.log...`), so messages appear when they are logged;
  * at the step's terminal event (success, failure, retry, skip), before the orchestrator
    can see it;
  * before any other event (asset materializations, checks, run events), which then takes
    Dagster's own path unchanged, so storage ids keep the order events were logged in;
  * when the step process leaves the block (also on errors).
Everywhere else (webserver, daemon, other executors) the class behaves exactly as its parent.

With `send_rows` (the warm pool's template writes them: dagster_warm_pool.row_writer) a flush
hands the rows over instead of inserting them on the step's own connection; when that fails
the step inserts them itself.

What is given up: a step process killed hard (SIGKILL, out of memory) loses the bookkeeping
events logged since its last flush point (inputs loaded, outputs yielded); the failure itself
is recorded by the orchestrator.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from dagster_postgres import PostgresEventLogStorage

from dagster_warm_pool._dagster import token_provider
from dagster_warm_pool.event_rows import (
    PLAIN_KINDS,
    TERMINAL_KINDS,
    event_rows,
    insert_event_rows,
)

# Rows a concurrent writer can commit below a tailer's cursor: a few flushes of each step
# process running at once.
RUN_SCOPED_TAILER_OFFSET = 50

SendRows = Callable[[list[dict[str, Any]]], None]


class BatchingPostgresEventLogStorage(PostgresEventLogStorage):
    _buffer: list[Any] | None = None
    _send_rows: SendRows | None = None

    @classmethod
    def from_config_value(
        cls, inst_data: Any, config_value: Any
    ) -> BatchingPostgresEventLogStorage:
        stock = PostgresEventLogStorage.from_config_value(inst_data, config_value)
        return cls(
            postgres_url=stock.postgres_url,
            should_autocreate_tables=stock.should_autocreate_tables,
            inst_data=inst_data,
            token_provider=token_provider(stock),
        )

    def default_run_scoped_event_tailer_offset(self) -> int:
        # Dagster's designed hook for the step-delegating executor's tailer, which reads by id:
        # step processes commit concurrently, so a row can become visible below its cursor; the
        # tailer re-reads this many ids behind it on every poll.
        return RUN_SCOPED_TAILER_OFFSET

    @contextlib.contextmanager
    def batched_step_writes(self, send_rows: SendRows | None = None) -> Iterator[None]:
        self._buffer = []
        self._send_rows = send_rows
        try:
            yield
        finally:
            try:
                self._flush()
            finally:
                self._buffer = None
                self._send_rows = None

    def store_event(self, event: Any) -> None:
        if self._buffer is None:
            super().store_event(event)
            return
        dagster_event = event.dagster_event
        if dagster_event is None:  # a log message: written now, with what is held
            self._buffer.append(event)
            self._flush()
            return
        kind = dagster_event.event_type
        if kind not in PLAIN_KINDS:
            self._flush()
            super().store_event(event)
            return
        self._buffer.append(event)
        if kind in TERMINAL_KINDS or kind.value == "STEP_START":
            self._flush()

    def _flush(self) -> None:
        held, self._buffer = self._buffer or [], [] if self._buffer is not None else None
        if not held:
            return
        try:
            if self._send_rows is not None:
                try:
                    self._send_rows(event_rows(self, held))
                    return
                except Exception as error:
                    sys.stderr.write(
                        f"events not written by the template ({error}); writing them\n"
                    )
            insert_event_rows(self, held)
        except Exception as error:  # as Dagster's own batch path: fall back to one by one
            sys.stderr.write(f"batched event write failed ({error}); writing one by one\n")
            for event in held:
                super().store_event(event)
