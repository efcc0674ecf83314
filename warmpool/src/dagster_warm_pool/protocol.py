"""Messages between the orchestrator and the template process (pickled over one pipe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from dagster_warm_pool.config import WarmPoolOptions


class TemplateSpec(NamedTuple):
    """What the template needs to exist; sent once (spawn) or inherited (fork)."""

    run_id: str
    instance_ref: Any  # dagster InstanceRef
    orchestrator_pid: int
    options: WarmPoolOptions
    spare_workers: int = 0  # step processes forked ahead of need


# orchestrator -> template


class Launch(NamedTuple):
    task_id: int
    step_key: str
    args: Any  # dagster ExecuteStepArgs


class Terminate(NamedTuple):
    task_id: int


class Probe(NamedTuple):
    task_id: int


class Shutdown(NamedTuple):
    grace_seconds: float


# template -> orchestrator


class Ready(NamedTuple):
    pid: int
    init_seconds: float
    threads: int


class InitFailed(NamedTuple):
    pid: int
    error: str


class StepExited(NamedTuple):
    task_id: int
    pid: int
    exitcode: int  # negative: killed by that signal
    oom_killed: bool
    reached_step: bool


class ForkFailed(NamedTuple):
    task_id: int
    error: str


class ProbePassed(NamedTuple):
    """A spare step process forked from the template reached the database: the pool works."""

    task_id: int
    pid: int


class ProbeFailed(NamedTuple):
    task_id: int
    error: str


class StepDone(NamedTuple):
    """A step process finished its step (code 0: normally; else a framework error)."""

    task_id: int
    pid: int
    code: int


# step process -> template


class WorkerRunning(NamedTuple):
    task_id: int


class WorkerReady(NamedTuple):
    """A spare is ready (connected to the database unless the template writes its rows) and
    waits for a step."""


class WriteRows(NamedTuple):
    """Event-log rows for the template to insert; answered by RowsWritten."""

    rows: list[dict[str, Any]]


# template -> step process


class RowsWritten(NamedTuple):
    error: str | None  # None: committed


class WorkerDone(NamedTuple):
    task_id: int
    code: int
    leaving: bool  # the process exits now (one step per process, or recycled)
