"""The one place this package touches Dagster beyond its public API: names imported from
`dagster._*` modules, private attributes and methods, and undocumented shapes, each with a
one-line wrapper and a note on what it relies on. Behaviour lives in the modules that use
them. `dagster_warm_pool.guard` checks at every run that the installed Dagster is one these
were tested with; outside that set the run goes to Dagster's own multiprocess executor, with a
warning in the run's log. `warmpool/tests/test_dagster_adapter.py` pins each of them against
Dagster's stock path.
"""

from __future__ import annotations

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
    "CHILD_CRASH_ERROR",
    "CheckStepHealthResult",
    "DagsterEvent",
    "EngineEventData",
    "ExecutionPlan",
    "HookedStepDelegatingExecutor",
    "INTERRUPTS",
    "LocalComputeLogManager",
    "MultiprocessExecutor",
    "PlanOrchestrationContext",
    "RetryMode",
    "STEP_WORKER_PID_KEY",
    "StepDelegatingExecutor",
    "StepDependencyConfig",
    "StepHandler",
    "StepHandlerContext",
    "captured_log_context",
    "compute_log_extensions",
    "create_execution_plan",
    "event_channel",
    "event_to_row",
    "execute_step_in_this_process",
    "get_retries_config",
    "get_step_dependency_config_field",
    "get_tag_concurrency_limits_config",
    "import_step_command",
    "interrupts_captured",
    "multiple_process_executor_requirements",
    "recon_job_from_origin",
    "storage_connection",
    "storage_engine",
    "token_provider",
    "with_dynamic_mappings",
]

# Relies on: a terminated step inside `dagster api execute_step`'s body re-raising the
# interrupt after "Step execution terminated by interrupt" is logged.
INTERRUPTS = (KeyboardInterrupt, DagsterExecutionInterruptedError)

# Relies on: the multiprocess executor's "child process for step X unexpectedly exited" engine
# event carrying this error class name (dagster._core.executor.multiprocess).
CHILD_CRASH_ERROR = "ChildProcessCrashException"

# Relies on: the multiprocess executor's STEP_WORKER_STARTED event carrying the step process's
# pid under this metadata key.
STEP_WORKER_PID_KEY = "pid"


class HookedStepDelegatingExecutor(StepDelegatingExecutor):
    """StepDelegatingExecutor whose loop pauses with `pause` instead of a fixed sleep.

    Relies on: `__init__` assigning `self._sleep_seconds` and `execute()` reading it once per
    loop iteration right before `time.sleep`."""

    def __init__(self, *args: Any, pause: Callable[[], float], **kwargs: Any) -> None:
        self._pause = pause
        super().__init__(*args, **kwargs)

    @property
    def _sleep_seconds(self) -> float:
        return self._pause()

    @_sleep_seconds.setter
    def _sleep_seconds(self, value: float) -> None:
        pass  # the pause decides


def interrupts_captured() -> Any:
    """Relies on: `capture_interrupts` being what `dagster api execute_step` wraps a step in,
    so SIGINT/SIGTERM become DagsterExecutionInterruptedError inside the op."""
    from dagster._utils.interrupts import capture_interrupts

    return capture_interrupts()


def import_step_command() -> None:
    """Relies on: `dagster._cli.api` being the module `dagster api execute_step` runs."""
    import dagster._cli.api  # noqa: F401


def recon_job_from_origin(origin: Any) -> Any:
    """Relies on: the per-process cache Dagster keeps of a job reconstructed from its origin."""
    from dagster._utils.hosted_user_process import recon_job_from_origin as recon

    return recon(origin)


def create_execution_plan(job: Any, run_config: Any) -> Any:
    """Relies on: the plan builder `dagster api execute_step` uses."""
    from dagster._core.execution.api import create_execution_plan as create

    return create(job, run_config=run_config)


def execute_step_in_this_process(
    args: ExecuteStepArgs, instance: DagsterInstance, run: DagsterRun
) -> Iterator[Any]:
    """Relies on: `_execute_step_command_body` being the whole body of `dagster api
    execute_step` (worker-started event, run-status check, one-step plan, execution, framework
    and interrupt events), each event written to the run's event log as it happens."""
    from dagster._cli.api import _execute_step_command_body

    return _execute_step_command_body(args, instance, run)


def with_dynamic_mappings(args: ExecuteStepArgs, mappings: dict[str, Any]) -> ExecuteStepArgs:
    """Relies on: ExecuteStepArgs and KnownExecutionState being records, and the step's plan
    depending on `known_state.dynamic_mappings` only through the mapping keys it lists."""
    from dagster_shared.record import copy

    known = args.known_state
    return copy(args, known_state=known._replace(dynamic_mappings=mappings))  # type: ignore[union-attr]


def storage_engine(storage: Any) -> Any:
    """Relies on: the SQL storages keeping their SQLAlchemy engine in `_engine`."""
    return getattr(storage, "_engine", None)


def event_to_row(storage: Any, entry: Any) -> dict[str, Any]:
    """Relies on: `_event_to_row` building the event_logs row `store_event` inserts."""
    return storage._event_to_row(entry)


def storage_connection(storage: Any) -> Any:
    """Relies on: `_connect()` being the autocommit connection `store_event` writes on."""
    return storage._connect()


def token_provider(storage: Any) -> Any:
    """Relies on: dagster-postgres keeping a cloud-auth token provider in `_token_provider`."""
    return getattr(storage, "_token_provider", None)


def event_channel() -> str:
    """Relies on: PostgresEventLogStorage.store_event's NOTIFY channel (`<run_id>_<id>`)."""
    from dagster_postgres.event_log.event_log import CHANNEL_NAME

    return CHANNEL_NAME


def captured_log_context(log_key: Any) -> Any:
    """Relies on: CapturedLogContext being what ComputeLogManager.capture_logs yields."""
    from dagster._core.storage.compute_log_manager import CapturedLogContext

    return CapturedLogContext(log_key)


def compute_log_extensions() -> tuple[str, str]:
    """Relies on: LocalComputeLogManager's stdout/stderr file extensions, which its readers
    (the UI's log viewer) expect."""
    from dagster._core.storage.compute_log_manager import ComputeIOType
    from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION

    return IO_TYPE_EXTENSION[ComputeIOType.STDOUT], IO_TYPE_EXTENSION[ComputeIOType.STDERR]
