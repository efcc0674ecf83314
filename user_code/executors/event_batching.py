"""Per-step batching of a warm worker's event-log writes (Postgres).

Stock Dagster writes every event of a step as it happens: on Postgres that is an INSERT
and a NOTIFY (two autocommitted statements) per event, ~16 events per step.  In a warm
worker the instance's `handle_new_event` is wrapped so that the step's *plain* events
(step lifecycle, inputs/outputs, engine and log-message events) are kept in a buffer
and written together, in one statement:

    WITH ins AS (INSERT INTO event_logs ... VALUES (...), (...), ... RETURNING run_id, id)
    SELECT pg_notify('run_events', run_id || '_' || id) FROM ins

i.e. Dagster's own `prepare_insert_event_batch` rows (same columns, same serialization)
plus the same per-event NOTIFY payload `PostgresEventLogStorage.store_event` sends, in one
round trip and one commit.

When the buffer is written (before anything else can observe the step differently):
  * a step's terminal event (STEP_SUCCESS / STEP_FAILURE / STEP_UP_FOR_RETRY /
    STEP_SKIPPED) is appended and the buffer written *inside* the
    logging call, i.e. before the event is yielded back over the pipe to the
    orchestrator; later events of that step are written directly;
  * any event that is not plain (asset materializations / observations / failures /
    planned, asset check events, run events, anything not on the allow list) first
    writes the buffer and then goes through Dagster's normal `handle_new_event`, so
    event ids keep the order in which events were logged and Dagster's asset/check
    indexing and run-status handling run unchanged;
  * the end of the step's command (also on exceptions);
  * a timer thread: no buffered event waits longer than `max_delay_s`, so a long step
    still shows as started (and its log messages appear) in the UI.
If the batch statement fails, the events are written one by one through the storage's
`store_event` (as Dagster's own batch path falls back).

What is given up: if the worker is SIGKILLed mid-step, up to `max_delay_s` of that
step's buffered events are lost (the orchestrator still records the crash).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance
    from dagster._core.events.log import EventLogEntry


def _event_types() -> tuple[frozenset[Any], frozenset[Any]]:
    from dagster._core.events import DagsterEventType as T

    # STEP_RESTARTED is not among them: it is a retry attempt's *first* event (logged
    # instead of STEP_START, execute_step.core_dagster_event_sequence_for_step).
    terminal = frozenset({T.STEP_SUCCESS, T.STEP_FAILURE, T.STEP_UP_FOR_RETRY, T.STEP_SKIPPED})
    # Types that EventLogStorage.store_event (sql + postgres) and handle_new_event treat
    # no differently from any other row.  Everything else takes the normal path.
    plain = frozenset(
        {
            T.STEP_WORKER_STARTED,
            T.STEP_START,
            T.STEP_RESTARTED,
            T.STEP_INPUT,
            T.STEP_OUTPUT,
            T.LOADED_INPUT,
            T.HANDLED_OUTPUT,
            T.STEP_EXPECTATION_RESULT,
            T.OBJECT_STORE_OPERATION,
            T.LOGS_CAPTURED,
            T.ENGINE_EVENT,
            T.RESOURCE_INIT_STARTED,
            T.RESOURCE_INIT_SUCCESS,
            T.RESOURCE_INIT_FAILURE,
        }
    )
    return terminal, plain | terminal


def batch_writer_for(instance: DagsterInstance):
    """The one-statement batch writer for `instance`'s event log, or None if unsupported."""
    try:
        from dagster_postgres.event_log.event_log import CHANNEL_NAME, PostgresEventLogStorage
    except ImportError:  # pragma: no cover - dagster-postgres is a dependency
        return None
    storage = instance.event_log_storage
    if type(storage) is not PostgresEventLogStorage:  # subclasses may store differently
        return None

    import sqlalchemy as sa
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable as table

    def write(events: list[EventLogEntry]) -> None:
        inserted = (
            storage.prepare_insert_event_batch(events)
            .returning(table.c.run_id, table.c.id)
            .cte("inserted")
        )
        notify = sa.select(
            sa.func.pg_notify(
                sa.literal(CHANNEL_NAME),
                inserted.c.run_id + sa.literal("_") + sa.cast(inserted.c.id, sa.String),
            )
        )
        # The storage's own connection helper (retries, pooled engine, AUTOCOMMIT): the
        # whole statement is one implicit transaction.
        with storage._connect() as conn:  # noqa: SLF001
            conn.execute(notify).fetchall()

    return write


_BUFFERS: weakref.WeakSet[StepEventBuffer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for buffer in list(_BUFFERS):
        buffer._reset_after_fork()  # noqa: SLF001


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class StepEventBuffer:
    """Wraps `instance.handle_new_event` of a worker's instance; see the module doc."""

    def __init__(self, instance: DagsterInstance, write_batch, max_delay_s: float = 0.5) -> None:
        self._instance = instance
        self._storage = instance.event_log_storage
        self._write_batch = write_batch
        self._direct = instance.handle_new_event  # the instance's own (bound) method
        self._terminal, self._plain = _event_types()
        self.max_delay_s = max(0.0, max_delay_s)
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._buffer: list[EventLogEntry] = []
        self._oldest_at: float | None = None
        self._active = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.stats = {"batches": 0, "batched_events": 0, "direct_events": 0, "fallbacks": 0}
        _BUFFERS.add(self)

    # -- installation / step scope ----------------------------------------------------

    def install(self) -> StepEventBuffer:
        self._instance.handle_new_event = self.handle_new_event  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._timer_loop, name="warm-pool-event-flush", daemon=True
        )
        self._thread.start()
        return self

    def begin_step(self) -> None:
        with self._lock:
            self._flush_locked()
            self._active = True

    def end_step(self) -> None:
        with self._lock:
            self._active = False
            self._flush_locked()

    def close(self) -> None:
        with self._lock:
            self._active = False
            self._closed = True
            try:
                self._flush_locked()
            finally:
                self._wake.notify_all()
        self._instance.__dict__.pop("handle_new_event", None)

    # -- the wrapped method -------------------------------------------------------------

    def _bufferable(self, event: EventLogEntry) -> bool:
        if event.is_dagster_event:
            if event.get_dagster_event().event_type not in self._plain:
                return False
        # handle_new_event also calls the run's in-process subscribers per event; keep
        # that path when there are any (none in a worker unless user code adds one).
        subscribers = getattr(self._instance, "_subscribers", None)
        return not (subscribers and subscribers.get(event.run_id))

    def handle_new_event(self, event: EventLogEntry, *, batch_metadata: Any = None) -> None:
        with self._lock:
            if not self._active or batch_metadata is not None or not self._bufferable(event):
                self._flush_locked()  # keep the order events were logged in
                self.stats["direct_events"] += 1
                self._direct(event, batch_metadata=batch_metadata)
                return
            self._buffer.append(event)
            if event.is_dagster_event and event.get_dagster_event().event_type in self._terminal:
                # Written before this call returns, i.e. before the event is yielded to
                # the orchestrator; the rest of the step is written directly.
                self._active = False
                self._flush_locked()
            elif self._oldest_at is None:
                self._oldest_at = time.monotonic()
                self._wake.notify()

    # -- writing ------------------------------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        events, self._buffer, self._oldest_at = self._buffer, [], None
        if not events:
            return
        try:
            self._write_batch(events)
            self.stats["batches"] += 1
            self.stats["batched_events"] += len(events)
            return
        except Exception as exc:
            sys.stderr.write(f"warm pool: batched event write failed ({exc!r}); storing one by one\n")
            self.stats["fallbacks"] += 1
        for i, event in enumerate(events):
            try:
                self._storage.store_event(event)
            except Exception:
                self._buffer[:0] = events[i:]  # retried at the next flush
                if self._oldest_at is None:
                    self._oldest_at = time.monotonic()
                raise

    def _timer_loop(self) -> None:
        with self._lock:
            while not self._closed:
                if self._oldest_at is None:
                    self._wake.wait()
                    continue
                remaining = self._oldest_at + self.max_delay_s - time.monotonic()
                if remaining > 0:
                    self._wake.wait(remaining)
                    continue
                try:
                    self._flush_locked()
                except Exception as exc:  # the step's next flush raises it there
                    sys.stderr.write(f"warm pool: timed event flush failed: {exc!r}\n")
                    self._oldest_at = time.monotonic()

    def _reset_after_fork(self) -> None:
        # A process forked by user code gets a copy of the wrapped instance but no timer
        # thread, possibly a held lock, and the parent's buffered events (written by the
        # parent): start over as a pass-through.
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._buffer = []
        self._oldest_at = None
        self._active = False
        self._closed = True
        self._thread = None


def install_step_event_buffer(instance: DagsterInstance, max_delay_s: float) -> StepEventBuffer | None:
    """Wrap `instance.handle_new_event` with a StepEventBuffer if its storage supports it."""
    writer = batch_writer_for(instance)
    if writer is None:
        return None
    return StepEventBuffer(instance, writer, max_delay_s).install()
