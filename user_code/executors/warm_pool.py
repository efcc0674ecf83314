"""`warm_pool_executor`: Dagster's multiprocess orchestration on a pool of warm workers.

Design
------
`WarmPoolExecutor` subclasses `MultiprocessExecutor` and changes only *where a step
runs*.  `MultiprocessExecutor.execute` (ActiveExecution, step selection, retries,
tag concurrency limits, dynamic outputs, known_state, crash handling, interruption)
is used as is.  The one thing it does out of process goes through the
multiprocessing context it obtains with `multiprocessing.get_context(start_method)`:
`ctx.Event()` per step, and -- inside `execute_child_process_command` -- `ctx.Queue()`
and `ctx.Process(target=_execute_command_in_child_process, args=(queue, command))`.

For the duration of `execute` we register a per-run context object (`_PoolContext`)
under a unique start-method name, so that those three calls hand the step to a warm
worker instead of starting a Python process:

* `Process(...)` returns a `_TaskHandle`: `start()` queues the step command on the
  pool, `is_alive()` is "the step has not finished and its worker is alive", `pid` /
  `exitcode` are the worker's.  A worker that dies mid-step therefore surfaces as the
  stock `ChildProcessCrashException` -> "child process for step X unexpectedly exited
  with code N" + STEP_FAILURE (or a retry), and the pool starts a replacement worker.
* `Queue()` returns a `_TaskInbox` fed from the worker's pipe.  Its blocking `get`
  waits on *all* worker pipes at once and returns as soon as anything arrives for any
  step, so the orchestrator loop does not sit out a 20 ms tick per in-flight step.
* `Event()` returns a `_TermEvent`; when the executor sets it (run termination), the
  pool SIGINTs the worker running that step (the same signal Dagster's own child
  termination thread sends itself), re-sends it while the step is still running and
  SIGKILLs the worker after `termination_grace_seconds`.

Workers are forked from the run worker at the start of `execute` (everything is
already imported there; Dagster's storages use NullPool so no DB connection is held
open across the fork; the fork happens on the orchestrating thread, before any step
runs) or started with forkserver/spawn if configured.  See worker.py for the worker
side.  The pool is shut down (orderly, then terminate/kill) when `execute` exits, on
success, failure, interruption or generator close.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from multiprocessing import context as mp_context
from multiprocessing.process import BaseProcess
from typing import Any

import dagster as dg
from dagster import _check as check
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
from dagster._core.executor.child_process_executor import (
    ChildProcessSystemErrorEvent,
    _execute_command_in_child_process,
)
from dagster._core.executor.multiprocess import (
    MultiprocessExecutor,
    MultiprocessExecutorChildProcessCommand,
)
from dagster._utils.error import serializable_error_info_from_exc_info

from user_code.lib.cpu_quota import container_cpu_count
from user_code.executors.worker import (
    MSG_DONE,
    MSG_EVENT,
    MSG_READY,
    StepTask,
    WorkerStatic,
    worker_main,
)

DEFAULT_PRELOAD = (
    "dagster",
    "dagster._core.executor.multiprocess",
    "dagster._core.execution.api",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "sqlalchemy",
    "alembic",
    "user_code.executors.worker",
)

_RESEND_INTERRUPT_S = 0.5


# --------------------------------------------------------------------------------------
# Parent-side objects standing in for Process / Queue / Event
# --------------------------------------------------------------------------------------


class _Task:
    __slots__ = (
        "id",
        "step_key",
        "command",
        "inbox",
        "worker",
        "finished",
        "exitcode",
        "interrupt_at",
        "last_signal_at",
    )

    def __init__(self, task_id: int, command: MultiprocessExecutorChildProcessCommand):
        self.id = task_id
        self.step_key = command.step_key
        self.command = command
        self.inbox: collections.deque = collections.deque()
        self.worker: _Worker | None = None
        self.finished = False
        self.exitcode: int | None = None
        self.interrupt_at: float | None = None
        self.last_signal_at = 0.0


class _TaskInbox:
    """Per-step event queue (`multiproc_ctx.Queue()`), filled by the pool."""

    def __init__(self, pool: WarmPool):
        self._pool = pool
        self._items: collections.deque = collections.deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self._items:
            self._pool.pump(timeout if block else 0.0)
        if self._items:
            return self._items.popleft()
        raise queue.Empty

    def close(self) -> None:
        pass


class _TermEvent:
    """`multiproc_ctx.Event()`: setting it interrupts the step it belongs to."""

    def __init__(self, pool: WarmPool):
        self._pool = pool
        self._set = False
        self.task: _Task | None = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            if self.task is not None:
                self._pool.interrupt(self.task)

    def is_set(self) -> bool:
        return self._set


class _TaskHandle(BaseProcess):
    """`multiproc_ctx.Process(...)`: a step running on (or queued for) a warm worker.

    A BaseProcess only because Dagster type-checks what it gets back; every method the
    executor uses is overridden and BaseProcess.__init__ is deliberately not called.
    """

    def __init__(self, pool: WarmPool, target: Any, args: tuple):  # noqa: PLW0231
        check.invariant(
            target is _execute_command_in_child_process and len(args) == 2,
            "warm pool only runs Dagster's step child-process command",
        )
        inbox, command = args
        check.inst(inbox, _TaskInbox)
        check.inst(command, MultiprocessExecutorChildProcessCommand)
        self._pool = pool
        self._task = _Task(pool.next_task_id(), command)
        self._task.inbox = inbox._items  # noqa: SLF001 - share the deque
        if isinstance(command.term_event, _TermEvent):
            command.term_event.task = self._task

    def start(self) -> None:
        self._pool.submit(self._task)

    @property
    def pid(self) -> int | None:
        worker = self._task.worker
        return worker.pid if worker else None

    @property
    def exitcode(self) -> int | None:
        return self._task.exitcode

    def is_alive(self) -> bool:
        return not self._task.finished

    def __repr__(self) -> str:
        return f"<warm-pool step {self._task.step_key!r} on pid {self.pid}>"

    def terminate(self) -> None:
        self._pool.interrupt(self._task)

    kill = terminate

    def close(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._task.finished:
            if deadline is not None and time.monotonic() >= deadline:
                return
            self._pool.pump(0.05)


class _PoolContext:
    """Quacks like a `multiprocessing` context for the calls the executor makes."""

    def __init__(self, pool: WarmPool):
        self._pool = pool

    def _check_available(self) -> None:
        pass

    def Event(self) -> _TermEvent:  # noqa: N802
        return _TermEvent(self._pool)

    def Queue(self) -> _TaskInbox:  # noqa: N802
        return _TaskInbox(self._pool)

    def Process(self, target: Any = None, args: tuple = (), **_kw: Any) -> _TaskHandle:  # noqa: N802
        return _TaskHandle(self._pool, target, args)


# --------------------------------------------------------------------------------------
# The pool
# --------------------------------------------------------------------------------------


class _Worker:
    __slots__ = ("process", "conn", "task", "ready_info", "started_at")

    def __init__(self, process: Any, conn: multiprocessing.connection.Connection):
        self.process = process
        self.conn = conn
        self.task: _Task | None = None
        self.ready_info: dict | None = None
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid


class WarmPool:
    def __init__(
        self,
        size: int,
        static: WorkerStatic,
        start_method: str = "fork",
        preload_modules: Sequence[str] = (),
        termination_grace_seconds: float = 30.0,
    ):
        self.size = max(1, size)
        self._static = static
        self._start_method = start_method
        self._preload = list(preload_modules)
        self._grace = termination_grace_seconds
        self._workers: list[_Worker] = []
        self._pending: collections.deque[_Task] = collections.deque()
        self._running: dict[int, _Task] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self.replaced_workers: list[tuple[int, int | None]] = []  # (pid, exitcode)
        self.unreported_replacements: list[tuple[int, int | None, int | None]] = []
        self.worker_pids: list[int] = []
        if start_method == "fork":
            self._mp = multiprocessing.get_context("fork")
        elif start_method == "forkserver":
            self._mp = multiprocessing.get_context("forkserver")
            self._mp.set_forkserver_preload([*DEFAULT_PRELOAD, *self._preload])
        elif start_method == "spawn":
            self._mp = multiprocessing.get_context("spawn")
        else:
            raise check.CheckError(f"unknown start method {start_method!r}")

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if self._start_method == "fork":
            for module in self._preload:  # inherited by the forked workers
                __import__(module)
        for _ in range(self.size):
            self._spawn_worker()

    def _spawn_worker(self) -> _Worker:
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        close_fds: list[int] = []
        if self._start_method == "fork":
            close_fds = [w.conn.fileno() for w in self._workers] + [parent_conn.fileno()]
        process = self._mp.Process(
            target=worker_main,
            args=(child_conn, self._static, close_fds),
            name="dagster-warm-worker",
            daemon=False,
        )
        process.start()
        child_conn.close()
        worker = _Worker(process, parent_conn)
        self._workers.append(worker)
        self.worker_pids.append(process.pid)
        return worker

    def shutdown(self, timeout: float = 5.0) -> None:
        self._closing = True
        for task in list(self._pending):
            self._finish_locally(task, DagsterExecutionInterruptedError, "pool shut down")
        self._pending.clear()
        for worker in self._workers:
            try:
                if worker.task is None:
                    worker.conn.send(None)
                else:
                    os.kill(worker.pid, signal.SIGINT)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(1.0)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1.0)
            try:
                worker.conn.close()
            except OSError:
                pass
            try:
                worker.process.close()
            except ValueError:
                pass
        self._workers.clear()

    # -- tasks ----------------------------------------------------------------------

    def next_task_id(self) -> int:
        return next(self._ids)

    def submit(self, task: _Task) -> None:
        self._pending.append(task)
        self._dispatch()

    def interrupt(self, task: _Task) -> None:
        if task.finished:
            return
        if task in self._pending:
            self._pending.remove(task)
            self._finish_locally(task, DagsterExecutionInterruptedError, "interrupted before start")
            return
        task.interrupt_at = time.monotonic()
        self._signal(task)

    def _signal(self, task: _Task) -> None:
        worker = task.worker
        if worker is None or task.finished:
            return
        task.last_signal_at = time.monotonic()
        try:
            os.kill(worker.pid, signal.SIGINT)
        except OSError:
            pass

    def _finish_locally(self, task: _Task, exc_cls: type[BaseException], msg: str) -> None:
        try:
            raise exc_cls(msg)
        except BaseException:
            info = serializable_error_info_from_exc_info(sys.exc_info())
        task.inbox.append(ChildProcessSystemErrorEvent(pid=os.getpid(), error_info=info))
        task.finished = True
        task.exitcode = 0

    def _dispatch(self) -> None:
        if not self._pending:
            return
        for worker in self._workers:
            if not self._pending:
                break
            if worker.task is not None:
                continue
            task = self._pending.popleft()
            command = task.command
            check.invariant(
                command.dagster_run.run_id == self._static.dagster_run.run_id,
                "warm pool is bound to a single run",
            )
            msg = StepTask(task.id, task.step_key, command.known_state, command.retry_mode)
            try:
                worker.conn.send(msg)
            except (OSError, ValueError):
                self._pending.appendleft(task)
                continue
            worker.task = task
            task.worker = worker
            self._running[task.id] = task

    def has_undelivered(self) -> bool:
        return any(t.inbox for t in self._running.values())

    def pump(self, timeout: float | None) -> None:
        """Wait up to `timeout` for worker messages/deaths and route them."""
        if self.has_undelivered():
            timeout = 0.0  # let the executor loop pick up what already arrived
        elif timeout is None:
            timeout = 0.1
        conns = {w.conn: w for w in self._workers}
        sentinels = {w.process.sentinel: w for w in self._workers}
        try:
            ready = multiprocessing.connection.wait([*conns, *sentinels], timeout)
        except OSError:
            ready = []
        dead: list[_Worker] = []
        for obj in ready:
            if obj in conns:
                if not self._drain(conns[obj]):
                    dead.append(conns[obj])
            elif obj in sentinels:
                dead.append(sentinels[obj])
        for worker in dict.fromkeys(dead):
            self._drain(worker)
            self._on_worker_death(worker)
        self._escalate()
        self._dispatch()

    def _drain(self, worker: _Worker) -> bool:
        """Read every available message from `worker`; False if its pipe is closed."""
        try:
            while worker.conn.poll():
                kind, task_id, payload = worker.conn.recv()
                if kind == MSG_EVENT:
                    task = self._running.get(task_id)
                    if task is not None:
                        task.inbox.append(payload)
                elif kind == MSG_DONE:
                    task = self._running.pop(task_id, None)
                    if task is not None:
                        task.finished = True
                        task.exitcode = 0
                    if worker.task is not None and worker.task.id == task_id:
                        worker.task = None
                elif kind == MSG_READY:
                    worker.ready_info = payload
        except (EOFError, OSError):
            return False
        return True

    def _on_worker_death(self, worker: _Worker) -> None:
        if worker not in self._workers:
            return
        worker.process.join(1.0)
        exitcode = worker.process.exitcode
        self._workers.remove(worker)
        try:
            worker.conn.close()
        except OSError:
            pass
        task = worker.task
        if task is not None:
            self._running.pop(task.id, None)
            task.exitcode = exitcode
            task.finished = True  # inbox drained: the executor sees a crashed child
        self.replaced_workers.append((worker.pid, exitcode))
        new_pid = None
        if not self._closing:
            new_pid = self._spawn_worker().pid
        self.unreported_replacements.append((worker.pid, exitcode, new_pid))

    def _escalate(self) -> None:
        now = time.monotonic()
        for task in list(self._running.values()):
            if task.interrupt_at is None or task.finished or task.worker is None:
                continue
            if now - task.interrupt_at > self._grace:
                try:
                    os.kill(task.worker.pid, signal.SIGKILL)
                except OSError:
                    pass
            elif now - task.last_signal_at > _RESEND_INTERRUPT_S:
                self._signal(task)


# --------------------------------------------------------------------------------------
# The executor
# --------------------------------------------------------------------------------------


class WarmPoolExecutor(MultiprocessExecutor):
    def __init__(
        self,
        retries: RetryMode,
        max_concurrent: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        start_method: str = "fork",
        preload_modules: Sequence[str] | None = None,
        termination_grace_seconds: float = 30.0,
        compute_logs: str = "instance",
        db_connection_pool: bool = True,
        step_dependency_config: StepDependencyConfig = StepDependencyConfig.default(),
    ):
        super().__init__(
            retries=retries,
            max_concurrent=max_concurrent or container_cpu_count(),
            tag_concurrency_limits=tag_concurrency_limits,
            start_method=None,  # validated/used by us, see execute()
            step_dependency_config=step_dependency_config,
        )
        check.invariant(
            start_method in ("fork", "forkserver", "spawn"), f"bad start_method {start_method}"
        )
        check.invariant(compute_logs in ("instance", "no_mirror"), f"bad compute_logs {compute_logs}")
        self._pool_start_method = start_method
        self._preload_modules = list(preload_modules or [])
        self._termination_grace_seconds = termination_grace_seconds
        self._compute_logs = compute_logs
        self._db_connection_pool = db_connection_pool
        self.last_pool: WarmPool | None = None  # for tests / diagnostics

    @property
    def max_concurrent(self) -> int:
        return self._max_concurrent

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        job = plan_context.reconstructable_job
        static = WorkerStatic(
            instance_ref=plan_context.instance.get_ref(),
            recon_job=job,
            dagster_run=plan_context.dagster_run,
            run_config=plan_context.run_config,
            repository_load_data=execution_plan.repository_load_data,
            orchestrator_pid=os.getpid(),
            preload_modules=tuple(self._preload_modules),
            compute_log_mode=self._compute_logs,
            db_connection_pool=self._db_connection_pool,
        )
        pool = WarmPool(
            size=self._max_concurrent,
            static=static,
            start_method=self._pool_start_method,
            preload_modules=self._preload_modules,
            termination_grace_seconds=self._termination_grace_seconds,
        )
        self.last_pool = pool
        ctx_name = f"dagster-warm-pool-{uuid.uuid4().hex}"
        saved_start_method = self._start_method
        extra_threads = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        t0 = time.perf_counter()
        try:
            pool.start()
            mp_context._concrete_contexts[ctx_name] = _PoolContext(pool)  # noqa: SLF001
            self._start_method = ctx_name
            yield DagsterEvent.engine_event(
                plan_context,
                f"Warm pool: started {pool.size} worker(s) with {self._pool_start_method} "
                f"in {time.perf_counter() - t0:.3f}s (pids {pool.worker_pids}, orchestrator "
                f"pid {os.getpid()})",
                EngineEventData(
                    metadata={
                        "worker_pids": dg.MetadataValue.text(str(pool.worker_pids)),
                        "start_method": dg.MetadataValue.text(self._pool_start_method),
                        "threads_at_fork": dg.MetadataValue.text(str(extra_threads)),
                    }
                ),
            )
            for event in super().execute(plan_context, execution_plan):
                yield event
                while pool.unreported_replacements:
                    pid, exitcode, new_pid = pool.unreported_replacements.pop(0)
                    yield DagsterEvent.engine_event(
                        plan_context,
                        f"Warm pool: worker pid {pid} died (exit code {exitcode}); "
                        f"replaced by pid {new_pid}",
                        EngineEventData(
                            metadata={
                                "dead_pid": dg.MetadataValue.int(pid),
                                "exit_code": dg.MetadataValue.text(str(exitcode)),
                                "replacement_pid": dg.MetadataValue.text(str(new_pid)),
                            }
                        ),
                    )
        finally:
            self._start_method = saved_start_method
            mp_context._concrete_contexts.pop(ctx_name, None)  # noqa: SLF001
            pool.shutdown()


WARM_POOL_CONFIG = {
    "max_concurrent": dg.Field(
        dg.Noneable(int),
        default_value=None,
        description=(
            "Number of warm worker processes (= steps running at once). Defaults to the "
            "container's CPU quota (cgroup v2/v1, else the affinity mask)."
        ),
    ),
    "tag_concurrency_limits": get_tag_concurrency_limits_config(),
    "retries": get_retries_config(),
    "start_method": dg.Field(
        dg.Enum(
            "WarmPoolStartMethod",
            [dg.EnumValue("fork"), dg.EnumValue("forkserver"), dg.EnumValue("spawn")],
        ),
        default_value="fork",
        description=(
            "How the pool's workers are started (once per run). `fork` forks the run worker "
            "(everything already imported); `forkserver` preloads `preload_modules` plus "
            "Dagster/storage modules in a fork server."
        ),
    ),
    "preload_modules": dg.Field(
        [str],
        is_required=False,
        description="Modules to import before workers start (fork: in the run worker).",
    ),
    "termination_grace_seconds": dg.Field(
        float,
        default_value=30.0,
        description=(
            "After run termination, how long a step may ignore the interrupt before its "
            "worker is killed."
        ),
    ),
    "compute_logs": dg.Field(
        dg.Enum(
            "WarmPoolComputeLogs", [dg.EnumValue("instance"), dg.EnumValue("no_mirror")]
        ),
        default_value="instance",
        description=(
            "`instance`: the instance's compute log manager as configured. `no_mirror`: for "
            "LocalComputeLogManager, capture stdout/stderr to the same files without the "
            "per-step `tail -F` + watcher subprocesses that mirror them to the worker's "
            "terminal; the captured output is copied to the worker's stdout/stderr when the "
            "step ends."
        ),
    ),
    "db_connection_pool": dg.Field(
        bool,
        default_value=True,
        description=(
            "Each worker keeps one connection per storage open for the run instead of "
            "Dagster's default NullPool (a new Postgres connection per event write). Uses the "
            "storages' optimize_for_webserver(); no effect on sqlite."
        ),
    ),
    "step_dependency_config": get_step_dependency_config_field(),
}


@dg.executor(
    name="warm_pool",
    config_schema=WARM_POOL_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def warm_pool_executor(init_context) -> WarmPoolExecutor:
    """Run each step in a pool of warm worker processes kept for the whole run."""
    config = init_context.executor_config
    return WarmPoolExecutor(
        retries=RetryMode.from_config(check.dict_elem(config, "retries")),  # type: ignore[arg-type]
        max_concurrent=check.opt_int_elem(config, "max_concurrent"),
        tag_concurrency_limits=check.opt_list_elem(config, "tag_concurrency_limits"),
        start_method=config.get("start_method", "fork"),
        preload_modules=check.opt_list_elem(config, "preload_modules", of_type=str),
        termination_grace_seconds=float(config.get("termination_grace_seconds", 30.0)),
        compute_logs=config.get("compute_logs", "instance"),
        db_connection_pool=bool(config.get("db_connection_pool", True)),
        step_dependency_config=StepDependencyConfig.from_config(
            check.opt_nullable_dict_elem(config, "step_dependency_config")
        ),
    )
