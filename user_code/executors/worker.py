"""The warm worker process: one per pool slot, alive for a whole run.

A worker is started once (fork from the run worker, or forkserver/spawn), builds the
expensive per-run state once -- the DagsterInstance (fork: the run worker's, inherited;
otherwise built from the run's instance ref), the reconstructed job definition, the
resolved run config -- and then executes one step
per task message it receives, exactly like Dagster's multiprocess child
(`MultiprocessExecutorChildProcessCommand`) would: STEP_WORKER_STARTED, then
`execute_plan_iterator` over a single-step plan.  Events go back to the orchestrator
over the worker's pipe, wrapped by Dagster's own `_execute_command_in_child_process`
(so ChildProcessStart/Done/SystemError events are the stock ones).

Termination: the orchestrator sends SIGINT to the worker; the worker's main loop runs
inside `capture_interrupts()` so an interrupt that lands outside user code is recorded,
and Dagster's step execution (`raise_execution_interrupts`) turns it into
DagsterExecutionInterruptedError inside user code -- the same mechanism as the stock
child's termination thread (`send_interrupt()` = SIGINT to self).

This module is deliberately light to import (it is a forkserver preload candidate).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from dagster._core.definitions.reconstruct import ReconstructableJob
    from dagster._core.definitions.repository_definition import RepositoryLoadData
    from dagster._core.execution.plan.state import KnownExecutionState
    from dagster._core.execution.retries import RetryMode
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.storage.dagster_run import DagsterRun

    from user_code.executors.config import WarmPoolOptions

# Messages worker -> orchestrator: (kind, task_id, payload)
MSG_EVENT = "ev"
MSG_DONE = "done"
MSG_READY = "ready"

_PR_SET_PDEATHSIG = 1


class WorkerStatic(NamedTuple):
    """Everything that is the same for every step of the run (sent once per worker)."""

    instance_ref: InstanceRef
    recon_job: ReconstructableJob
    dagster_run: DagsterRun
    run_config: Mapping[str, object]
    repository_load_data: RepositoryLoadData | None
    orchestrator_pid: int
    options: WarmPoolOptions


class StepTask(NamedTuple):
    """Per-step payload (sent per task)."""

    task_id: int
    step_key: str
    known_state: KnownExecutionState | None
    retry_mode: RetryMode


def _set_parent_death_signal() -> None:
    """Linux: have the kernel SIGKILL us if the forking thread of the orchestrator dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # pragma: no cover - best effort
        pass


def _orchestrator_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


class _PipeQueue:
    """The `.put` side of a queue, as `_execute_command_in_child_process` expects."""

    def __init__(self, conn: Connection, task_id: int):
        self._conn = conn
        self._task_id = task_id

    def put(self, obj: Any) -> None:
        self._conn.send((MSG_EVENT, self._task_id, obj))


class WorkerState:
    """Per-worker cache of instance / job / resolved config.

    `inherited_instance` (fork only): the orchestrator's DagsterInstance as this process
    inherited it.  Its storages are already created and checked (a new instance from the
    ref repeats that: several queries on fresh connections per storage, ~0.1-0.2 s per
    worker on Postgres, all before the first step).  No connection comes with it: the
    first fork happens before the orchestrator pools any, and a later (replacement) fork
    drops the orchestrator's pooled ones in the child (db_connections).  Whatever this
    worker changes on it (pooled engines, event buffer, log capture) is its own copy.
    """

    def __init__(self, static: WorkerStatic, inherited_instance: Any = None):
        self.static = static
        self._inherited_instance = inherited_instance
        self.instance = None
        self.job = None
        self._resolved_run_config = None
        self.event_buffer = None
        self._plans = None
        self.timings: dict[str, float] = {}

    def ensure_ready(self) -> None:
        if self.instance is not None:
            return
        from dagster._core.instance import DagsterInstance

        t0 = time.perf_counter()
        for module in self.static.options.preload_modules:
            __import__(module)
        if self._inherited_instance is not None:
            from user_code.executors.db_connections import forget_inherited_connections

            instance = self._inherited_instance
            forget_inherited_connections(instance)  # normally none (NullPool), but be sure
            self.timings["inherited_instance"] = 1.0
        else:
            instance = DagsterInstance.from_ref(self.static.instance_ref)
        job = self.static.recon_job
        if self.static.repository_load_data is not None:
            job = job.with_repository_load_data(self.static.repository_load_data)
        job_def = job.get_definition()  # import user code + build the definition once
        if self.static.options.db_connection_pool:
            from user_code.executors.db_connections import hold_connections, relax_event_commits

            hold_connections(instance)
            if not self.static.options.synchronous_commit:
                relax_event_commits(instance)
        # Touch the lazily-created storages so the first step doesn't pay for them.
        _ = instance.run_storage, instance.event_log_storage, instance.compute_log_manager
        if self.static.options.event_batching and self.static.options.db_connection_pool:
            from user_code.executors.event_batching import install_step_event_buffer

            self.event_buffer = install_step_event_buffer(
                instance, self.static.options.event_batch_max_delay_s
            )
        if self.static.options.compute_logs == "no_mirror":
            from user_code.executors.compute_logs import install_no_mirror_capture

            install_no_mirror_capture(instance)
        from dagster._core.system_config.objects import ResolvedRunConfig

        self._resolved_run_config = ResolvedRunConfig.build(job_def, self.static.run_config)
        if self.static.options.plan_cache:
            from user_code.executors.plan_cache import PlanCache

            self._plans = PlanCache(
                job_def, self._resolved_run_config, self.static.repository_load_data
            )
        self.instance = instance
        self.job = job
        self.timings["init_s"] = time.perf_counter() - t0

    def create_plan(self, task: StepTask):
        from dagster._core.execution.plan.plan import ExecutionPlan
        from dagster._core.execution.plan.state import KnownExecutionState

        assert self.job is not None
        if self._plans is not None:
            return self._plans.single_step_plan(
                task.step_key, task.known_state or KnownExecutionState()
            )
        # Same as dagster.create_execution_plan(), minus re-resolving the run config for
        # every step (it is the same job and the same config for the whole run).
        return ExecutionPlan.build(
            self.job.get_definition(),
            self._resolved_run_config,
            step_keys_to_execute=[task.step_key],
            known_state=task.known_state or KnownExecutionState(),
            repository_load_data=self.static.repository_load_data,
        )

    def dispose(self) -> None:
        if self.event_buffer is not None:
            try:
                self.event_buffer.close()
            except Exception:
                pass
            self.event_buffer = None
        if self.instance is not None:
            try:
                if self.instance is self._inherited_instance:
                    # Not ours to dispose (its launcher, watchers, ... belong to the
                    # orchestrator); only close the connections this worker opened.
                    from user_code.executors.db_connections import release_connections

                    release_connections(self.instance)
                else:
                    self.instance.dispose()
            except Exception:
                pass
            self.instance = None


def _make_command(state: WorkerState, task: StepTask):
    from dagster._core.definitions.metadata import MetadataValue
    from dagster._core.events import DagsterEvent
    from dagster._core.execution.api import execute_plan_iterator
    from dagster._core.execution.context_creation_job import create_context_free_log_manager
    from dagster._core.executor.child_process_executor import ChildProcessCommand

    class WarmStepCommand(ChildProcessCommand):
        def execute(self) -> Iterator[Any]:
            state.ensure_ready()
            instance = state.instance
            run = state.static.dagster_run
            buffer = state.event_buffer
            if buffer is None:
                yield from self._run(instance, run)
                return
            buffer.begin_step()
            try:
                yield from self._run(instance, run)
            finally:
                # Also on errors: the command's error/done events go out after this.
                buffer.end_step()

        def _run(self, instance, run) -> Iterator[Any]:
            log_manager = create_context_free_log_manager(instance, run)
            yield DagsterEvent.step_worker_started(
                log_manager,
                run.job_name,
                message=f'Executing step "{task.step_key}" in warm worker process.',
                metadata={"pid": MetadataValue.text(str(os.getpid()))},
                step_key=task.step_key,
            )
            plan = state.create_plan(task)
            yield from execute_plan_iterator(
                plan,
                state.job,
                run,
                run_config=state.static.run_config,
                retry_mode=task.retry_mode.for_inner_plan(),
                instance=instance,
            )

    return WarmStepCommand()


def worker_main(
    conn: Connection,
    static: WorkerStatic,
    close_fds: Sequence[int] = (),
    inherited_instance: Any = None,
) -> None:
    """Entry point of a warm worker process (`inherited_instance`: fork only)."""
    for fd in close_fds:  # fork: drop inherited orchestrator-side pipe ends
        try:
            os.close(fd)
        except OSError:
            pass
    _set_parent_death_signal()

    from dagster._core.executor.child_process_executor import _execute_command_in_child_process
    from dagster._utils.error import serializable_error_info_from_exc_info
    from dagster._utils.interrupts import capture_interrupts, pop_captured_interrupt

    state = WorkerState(static, inherited_instance)
    profile_dir = os.environ.get("WARM_POOL_PROFILE_DIR")  # diagnostics: cProfile per worker
    profiler = None
    if profile_dir:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with capture_interrupts():
        try:
            state.ensure_ready()
            conn.send((MSG_READY, None, {"pid": os.getpid(), **state.timings}))
        except Exception:
            # Reported again (and attributed to a step) when the first task runs.
            conn.send((MSG_READY, None, {"pid": os.getpid(), "error": serializable_error_info_from_exc_info(sys.exc_info())}))
            state.instance = None
        try:
            while True:
                if not conn.poll(1.0):
                    if not _orchestrator_alive(static.orchestrator_pid):
                        break
                    continue
                try:
                    task = conn.recv()
                except (EOFError, OSError):
                    break
                if task is None:  # orderly shutdown
                    break
                _execute_command_in_child_process(
                    _PipeQueue(conn, task.task_id),  # type: ignore[arg-type]
                    _make_command(state, task),
                )
                conn.send((MSG_DONE, task.task_id, None))
                # An interrupt that arrives after the step finished was meant for it, not
                # for the next step (the orchestrator re-sends while a step is running).
                pop_captured_interrupt()
        except (EOFError, OSError, BrokenPipeError):
            pass
        finally:
            state.dispose()
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(os.path.join(profile_dir, f"worker-{os.getpid()}.prof"))
