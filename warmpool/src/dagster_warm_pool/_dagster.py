"""The one place this package touches Dagster beyond its public API.

Everything imported from a `dagster._*` module, and every call whose behaviour this package
relies on without Dagster documenting it, lives here with a note on what it relies on. The
rest of the package imports from this module only. `dagster_warm_pool.guard` checks at every
run that the installed Dagster is one these were tested with; outside that set the executor
runs the run on Dagster's own multiprocess executor instead, with a warning in the run's log.
`warmpool/tests/test_dagster_adapter.py` pins what each of them is expected to do.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

# Executor plumbing: the same classes dagster-k8s and dagster-docker build their
# step-delegating executors from (the designed seam for "run each step somewhere else").
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.execution.step_dependency_config import (
    StepDependencyConfig,
    get_step_dependency_config_field,
)
from dagster._core.execution.tags import get_tag_concurrency_limits_config
from dagster._core.executor.multiprocess import MultiprocessExecutor
from dagster._core.executor.step_delegating import (
    CheckStepHealthResult,
    StepDelegatingExecutor,
    StepHandler,
    StepHandlerContext,
)

# The file-based compute log manager (documented instance config, private module path); the
# package's FileComputeLogManager subclasses it and keeps its readers, paths and marker.
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager

if TYPE_CHECKING:
    from dagster import DagsterInstance
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._grpc.types import ExecuteStepArgs

__all__ = [
    "ExecutionPlan",
    "PlanOrchestrationContext",
    "captured_log_context",
    "CheckStepHealthResult",
    "compute_log_extensions",
    "DagsterEvent",
    "drop_inherited_connections",
    "EngineEventData",
    "execute_step_in_this_process",
    "get_retries_config",
    "get_step_dependency_config_field",
    "get_tag_concurrency_limits_config",
    "hold_connections",
    "event_rows",
    "insert_event_rows",
    "insert_rows",
    "writer_dsn",
    "INTERRUPTS",
    "interrupts_captured",
    "is_child_process_crash",
    "LocalComputeLogManager",
    "multiple_process_executor_requirements",
    "narrowed_to_own_mapping_key",
    "MultiprocessExecutor",
    "step_worker_pid",
    "open_connection",
    "OrderSafeStepDelegatingExecutor",
    "release_connections",
    "RetryMode",
    "step_error_event",
    "step_event_kinds",
    "StepDelegatingExecutor",
    "StepDependencyConfig",
    "StepHandler",
    "StepHandlerContext",
    "warm_step_definitions",
    "warning_engine_event",
]

# How a terminated step ends inside `dagster api execute_step`'s body: the interrupt is
# re-raised after "Step execution terminated by interrupt" is logged.
INTERRUPTS = (KeyboardInterrupt, DagsterExecutionInterruptedError)


class OrderSafeStepDelegatingExecutor(StepDelegatingExecutor):
    """Dagster's StepDelegatingExecutor with an event-log tailer that re-checks the run's most
    recent ids on every poll, cheaply, so a row committed out of id order is still seen.

    The stock tailer (`_pop_events`) reads rows above an id cursor. Two step processes writing
    at once can commit out of id order (ids come from one sequence when a statement starts;
    rows become visible when it commits): the cursor passes the later-committing row and never
    sees it. With `DAGSTER_EXECUTOR_POP_EVENTS_OFFSET=N` the stock tailer re-reads and
    re-deserializes the last N rows on every poll, several milliseconds of CPU each time. This
    override re-reads only the last `tail_offset` ids, then fetches and deserializes just the
    rows not seen before. On other storages than Postgres (sqlite commits in id order) it is
    the stock tailer.

    `pause`: what the loop does between iterations instead of a fixed sleep. The stock loop
    ends every iteration with `time.sleep(self._sleep_seconds)`, so a finished step waits up
    to a whole sleep before the orchestrator reads its result and launches the next one. Here
    `_sleep_seconds` is read through a property that first calls `pause` (the warm pool waits
    on its template's pipe, which reports every step process that finishes, up to the poll
    interval) and then tells the loop to sleep no more."""

    def __init__(
        self,
        *args: Any,
        tail_offset: int,
        pause: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self._pause = pause
        super().__init__(*args, **kwargs)
        self._tail_offset = tail_offset
        self._tail_low = 0

    # Relies on StepDelegatingExecutor.__init__ assigning `self._sleep_seconds` and execute()
    # reading it once per loop iteration, right before `time.sleep`.
    @property
    def _sleep_seconds(self) -> float:
        if self._pause is None:
            return self._fixed_sleep_seconds
        self._pause()
        return 0.0

    @_sleep_seconds.setter
    def _sleep_seconds(self, value: float) -> None:
        self._fixed_sleep_seconds = value

    def _pop_events(self, instance: Any, run_id: str, seen_storage_ids: set[int]) -> list[Any]:
        import sqlalchemy as db
        from dagster._core.events.log import EventLogEntry
        from dagster._serdes import deserialize_value
        from dagster_postgres import PostgresEventLogStorage

        storage = instance.event_log_storage
        if not isinstance(storage, PostgresEventLogStorage):
            return super()._pop_events(instance, run_id, seen_storage_ids)
        with storage.index_connection() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    db.text(
                        "SELECT id FROM event_logs WHERE run_id = :run_id AND id > :low "
                        "AND dagster_event_type IS NOT NULL ORDER BY id LIMIT :limit"
                    ),
                    {"run_id": run_id, "low": self._tail_low, "limit": self._pop_events_limit},
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
            self._tail_low = max(self._tail_low, ids[-1] - self._tail_offset)
        entries = [deserialize_value(row[1], EventLogEntry) for row in rows]
        return [entry.dagster_event for entry in entries if entry.dagster_event is not None]


@contextlib.contextmanager
def interrupts_captured() -> Iterator[None]:
    """What `dagster api execute_step` wraps a step in: SIGINT (and SIGTERM) are recorded and
    turned into DagsterExecutionInterruptedError inside the op (`raise_execution_interrupts`),
    so a terminated step ends with STEP_FAILURE instead of a dead process."""
    from dagster._utils.interrupts import capture_interrupts

    with capture_interrupts():
        yield


def warm_step_definitions(instance: DagsterInstance, run: DagsterRun) -> None:
    """Build, in the template, what every step process would otherwise build first: the
    modules of `dagster api execute_step` (its CLI module alone costs ~0.1 s to import), and
    the code location's definitions for the run's job (cached per process by Dagster's
    `recon_job_from_origin`/`ReconstructableRepository.get_definition`), so a forked step
    inherits them instead of importing and building them again."""
    import dagster._cli.api  # noqa: F401
    from dagster._core.execution.api import create_execution_plan
    from dagster._utils.hosted_user_process import recon_job_from_origin

    origin = run.job_code_origin
    if origin is None:
        raise ValueError(f"run {run.run_id} has no job code origin")
    recon_job = recon_job_from_origin(origin)  # type: ignore[arg-type]
    recon_job.get_definition()
    if not run.has_repository_load_data:
        subset = recon_job.with_repository_load_data(None).get_subset(
            op_selection=run.resolved_op_selection,
            asset_selection=run.asset_selection,
            asset_check_selection=run.asset_check_selection,
        )
        create_execution_plan(subset, run_config=run.run_config)


def execute_step_in_this_process(
    args: ExecuteStepArgs, instance: DagsterInstance, run: DagsterRun
) -> None:
    """The body of `dagster api execute_step` (dagster._cli.api._execute_step_command_body):
    STEP_WORKER_STARTED, the run-status check, the job subset, the one-step plan and
    execute_plan_iterator, with the stock framework-error and interrupt events. Every event is
    written to the run's event log as it happens; the orchestrator tails it from there."""
    from dagster._cli.api import _execute_step_command_body

    for _event in _execute_step_command_body(args, instance, run):
        pass


# A resolved dynamic step's key is `<unresolved key>[<mapping key>]`
# (ResolvedFromDynamicStepHandle.to_key); DynamicOutput only allows [A-Za-z0-9_] in keys.
_MAPPED_STEP_KEY = re.compile(r"^[^\[\]]+\[([A-Za-z0-9_]+)\]$")


def narrowed_to_own_mapping_key(args: ExecuteStepArgs) -> ExecuteStepArgs:
    """The args of one mapped step (`run_one_chunk[chunk_5]`), with every dynamic output that
    produced its mapping key cut down to that key alone.

    `dagster api execute_step` builds the step's one-step plan from the known state it is
    given, and that build resolves every mapped step of each finished dynamic output
    (`_update_from_resolved_dynamic_outputs`: all N mapped steps and the collect step's N
    inputs) before keeping the one step to run: O(N) work per step, O(N^2) per run (at N=128,
    6-14 ms of each step's plan; 0.7-1.2 ms with its own key alone). A mapped step's own plan needs only its own
    mapping key: its inputs come from `<producer>.<output>[<key>]` and from unmapped steps.

    Left unchanged: unmapped steps (a collect step needs every key), dynamic outputs that did
    not produce this key, and runs where a mapped step itself yields dynamic outputs (nested
    keys, where this reasoning was not checked). Retry attempts, step output versions and
    ready outputs are kept whole. `test_dagster_adapter` pins that the narrowed plan's step
    equals the step of the plan built from the full state."""
    keys = args.step_keys_to_execute or []
    known = args.known_state
    match = _MAPPED_STEP_KEY.match(keys[0]) if len(keys) == 1 else None
    if known is None or match is None or not known.dynamic_mappings:
        return args
    key = match.group(1)
    if any("[" in producer for producer in known.dynamic_mappings):
        return args
    narrowed = {
        producer: {
            output: [key] if mapping_keys is not None and key in mapping_keys else mapping_keys
            for output, mapping_keys in outputs.items()
        }
        for producer, outputs in known.dynamic_mappings.items()
    }
    from dagster_shared.record import copy

    return copy(args, known_state=known._replace(dynamic_mappings=narrowed))


def _engines(instance: DagsterInstance) -> list[Any]:
    # The SQL storages keep their SQLAlchemy engine in `_engine` (no public accessor).
    storages = [instance.run_storage, instance.event_log_storage]
    return [engine for s in storages if (engine := getattr(s, "_engine", None)) is not None]


def hold_connections(instance: DagsterInstance) -> None:
    """Keep one connection per storage open for this process instead of Dagster's default
    NullPool (a new Postgres connection for every event written). Uses the switch the
    webserver uses for its long-lived instance; a no-op for sqlite, and where the storages
    already pool (the stack's DAGSTER_STORAGE_POOLED): replacing their engines would only
    reconnect, in every step process."""
    import sqlalchemy.pool

    engines = _engines(instance)
    if engines and not any(isinstance(e.pool, sqlalchemy.pool.NullPool) for e in engines):
        return
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)


def open_connection(instance: DagsterInstance) -> None:
    """Open (and keep, after hold_connections) the event log's connection now."""
    import sqlalchemy as db

    storage = instance.event_log_storage
    with storage.index_connection() as conn:
        conn.execute(db.text("SELECT 1"))


def release_connections(instance: DagsterInstance) -> None:
    """Close the pooled connections this process opened, politely, before it exits."""
    for engine in _engines(instance):
        with contextlib.suppress(Exception):
            engine.dispose()


def drop_inherited_connections(instance: DagsterInstance) -> None:
    """In a freshly forked process: forget the pooled connections the parent's engines hold,
    without closing them (the sockets, and the Postgres sessions behind them, are the
    parent's). Later queries open this process's own."""
    for engine in _engines(instance):
        engine.dispose(close=False)


def warning_engine_event(
    plan_context: PlanOrchestrationContext, message: str, metadata: dict[str, Any]
) -> DagsterEvent:
    """An ENGINE_EVENT logged at WARNING level: `DagsterEvent.engine_event` always logs at
    DEBUG, so the event is built the way `DagsterEvent.from_job` builds it and logged through
    the run's log manager with the level set."""
    import logging

    from dagster._core.events import DagsterEventType

    event = DagsterEvent(
        event_type_value=DagsterEventType.ENGINE_EVENT.value,
        job_name=plan_context.job_name,
        message=message,
        event_specific_data=EngineEventData(metadata=metadata),
        pid=os.getpid(),
    )
    plan_context.log.log_dagster_event(level=logging.WARNING, msg=message, dagster_event=event)
    return event


def step_error_event(
    like: DagsterEvent, plan_context: PlanOrchestrationContext, message: str
) -> DagsterEvent:
    """An ENGINE_EVENT at ERROR level attached to the same step as `like` (so the UI shows it
    in that step's log)."""
    import logging

    from dagster._core.events import DagsterEventType

    event = DagsterEvent(
        event_type_value=DagsterEventType.ENGINE_EVENT.value,
        job_name=plan_context.job_name,
        message=message,
        event_specific_data=EngineEventData(),
        step_handle=like.step_handle,
        pid=os.getpid(),
    )
    plan_context.log.log_dagster_event(level=logging.ERROR, msg=message, dagster_event=event)
    return event


def step_worker_pid(event: DagsterEvent) -> int | None:
    """The pid in the multiprocess executor's STEP_WORKER_STARTED event ('Executing step "X" in
    subprocess.', metadata `pid`; dagster._core.executor.multiprocess), else None."""
    if event.event_type_value != "STEP_WORKER_STARTED":
        return None
    data = event.event_specific_data
    value = getattr(data, "metadata", {}).get("pid") if data is not None else None
    text = getattr(value, "value", value)
    try:
        return int(text) if text is not None else None
    except (TypeError, ValueError):
        return None


def is_child_process_crash(event: DagsterEvent) -> bool:
    """The multiprocess executor's "child process for step X unexpectedly exited" engine event
    (dagster._core.executor.multiprocess, ChildProcessCrashException)."""
    if not event.is_engine_event or event.step_key is None:
        return False
    error = event.engine_event_data.error
    return error is not None and error.cls_name == "ChildProcessCrashException"


# -- Instance-config classes (compute logs, event log) -----------------------------------------


def captured_log_context(log_key: Any) -> Any:
    """What ComputeLogManager.capture_logs yields (dagster._core.storage.compute_log_manager)."""
    from dagster._core.storage.compute_log_manager import CapturedLogContext

    return CapturedLogContext(log_key)


def compute_log_extensions() -> tuple[str, str]:
    """The file extensions LocalComputeLogManager uses for stdout and stderr ("out", "err"),
    which its readers (the UI's log viewer) expect."""
    from dagster._core.storage.compute_log_manager import ComputeIOType
    from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION

    return IO_TYPE_EXTENSION[ComputeIOType.STDOUT], IO_TYPE_EXTENSION[ComputeIOType.STDERR]


def step_event_kinds() -> tuple[frozenset[Any], frozenset[Any]]:
    """(terminal, plain) DagsterEventTypes of a step. Plain ones are stored by
    PostgresEventLogStorage.store_event as one row and nothing else (no asset or check index,
    no run-status change), so writing several in one INSERT stores exactly the same rows."""
    from dagster._core.events import DagsterEventType as T

    terminal = frozenset({T.STEP_SUCCESS, T.STEP_FAILURE, T.STEP_UP_FOR_RETRY, T.STEP_SKIPPED})
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


def event_rows(storage: Any, entries: list[Any]) -> list[dict[str, Any]]:
    """The event_logs rows `store_event` would insert for plain entries, built by the storage's
    own `_event_to_row` (column -> value; picklable, so a step process can hand them over)."""
    return [storage._event_to_row(entry) for entry in entries]


def insert_rows(cursor: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` in one statement, with the same per-row NOTIFY payload (`<run_id>_<id>` on
    channel run_events) that PostgresEventLogStorage.store_event sends, on a psycopg2 cursor of
    an autocommit connection.

    The statement goes to psycopg2 directly: SQLAlchemy compiles a multi-row INSERT anew for
    every row count, and a freshly forked step process never reuses its compile cache."""
    from dagster_postgres.event_log.event_log import CHANNEL_NAME

    columns = list(rows[0])
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values = b", ".join(cursor.mogrify(row_sql, [row[c] for c in columns]) for row in rows)
    cursor.execute(
        b"WITH inserted AS (INSERT INTO event_logs ("
        + ", ".join(columns).encode()
        + b") VALUES "
        + values
        + b" RETURNING run_id, id) SELECT pg_notify("
        + cursor.mogrify("%s", [CHANNEL_NAME])
        + b", run_id || '_' || id) FROM inserted"
    )
    cursor.fetchall()


def insert_event_rows(storage: Any, entries: list[Any]) -> None:
    """Store plain event-log entries in one statement: exactly the rows `store_event` would
    insert, on the storage's own (pooled or not) autocommit connection."""
    rows = event_rows(storage, entries)
    with storage._connect() as conn:
        cursor = conn.connection.cursor()
        try:
            insert_rows(cursor, rows)
        finally:
            cursor.close()


def writer_dsn(storage: Any) -> str | None:
    """The libpq connection string of a Postgres event log for a plain psycopg2 connection, or
    None where it needs more than libpq gives (a token provider for cloud IAM auth) or is not
    dagster-postgres's."""
    from dagster_postgres import PostgresEventLogStorage

    if not isinstance(storage, PostgresEventLogStorage):
        return None
    if getattr(storage, "_token_provider", None) is not None:  # set by dagster-postgres's config
        return None
    return storage.postgres_url
