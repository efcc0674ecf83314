"""The pool of warm worker processes that run one run's steps (orchestrator side).

Workers are forked from the run worker at the start of `execute` (everything is already
imported there, and Dagster's storages hold no DB connection open at that point), or
started with forkserver/spawn if configured.  Each worker runs one step at a time; the
pool queues steps beyond its size, routes worker messages into the per-step inboxes,
replaces a worker that dies, and escalates interrupts (SIGINT, re-sent, then SIGKILL).
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from dagster import _check as check
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.executor.child_process_executor import ChildProcessSystemErrorEvent
from dagster._core.executor.multiprocess import MultiprocessExecutorChildProcessCommand
from dagster._utils.error import serializable_error_info_from_exc_info

from user_code.executors.worker import (
    MSG_DONE,
    MSG_EVENT,
    MSG_READY,
    StepTask,
    WorkerStatic,
    worker_main,
)

# Imported before the fork (or in the forkserver) so no worker pays for them per run.
DEFAULT_PRELOAD: tuple[str, ...] = (
    "dagster",
    "dagster._core.executor.multiprocess",
    "dagster._core.execution.api",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "sqlalchemy",
    "alembic",
    "user_code.executors.worker",
)

# Dagster's own child termination re-checks its event about this often.
_RESEND_INTERRUPT_S = 0.5
# Upper bound of one wait when the caller gave none, so interrupts get escalated.
_DEFAULT_PUMP_S = 0.1
_SHUTDOWN_JOIN_S = 1.0


class Task:
    """One step attempt, from submission until its worker reports it done (or dies)."""

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

    def __init__(
        self,
        task_id: int,
        command: MultiprocessExecutorChildProcessCommand,
        inbox: collections.deque[Any],
    ) -> None:
        self.id = task_id
        self.step_key = command.step_key
        self.command = command
        self.inbox = inbox
        self.worker: Worker | None = None
        self.finished = False
        self.exitcode: int | None = None
        self.interrupt_at: float | None = None
        self.last_signal_at = 0.0


class Worker:
    __slots__ = ("process", "conn", "task", "ready_info", "started_at")

    def __init__(self, process: Any, conn: multiprocessing.connection.Connection) -> None:
        self.process = process
        self.conn = conn
        self.task: Task | None = None
        self.ready_info: dict[str, Any] | None = None
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid


class Replacement(NamedTuple):
    dead_pid: int
    exitcode: int | None
    new_pid: int | None


class WarmPool:
    def __init__(
        self,
        size: int,
        static: WorkerStatic,
        start_method: str = "fork",
        preload_modules: Sequence[str] = (),
        termination_grace_seconds: float = 30.0,
        inherited_instance: Any = None,
    ) -> None:
        self.size = max(1, size)
        self._static = static
        self._start_method = start_method
        self._preload = list(preload_modules)
        self._grace = termination_grace_seconds
        self._workers: list[Worker] = []
        self._pending: collections.deque[Task] = collections.deque()
        self._running: dict[int, Task] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self.unreported_replacements: list[Replacement] = []
        self.worker_pids: list[int] = []
        if start_method not in ("fork", "forkserver", "spawn"):
            raise check.CheckError(f"unknown start method {start_method!r}")
        self._mp = multiprocessing.get_context(start_method)
        # Only a forked worker can be handed a live object (nothing is pickled).
        self._inherited_instance = inherited_instance if start_method == "fork" else None
        if start_method == "forkserver":
            self._mp.set_forkserver_preload([*DEFAULT_PRELOAD, *self._preload])

    @property
    def start_method(self) -> str:
        return self._start_method

    @property
    def inherits_instance(self) -> bool:
        return self._inherited_instance is not None

    def worker_init_seconds(self) -> dict[int, float]:
        """pid -> one-time init time, for the workers that have reported ready so far."""
        return {
            w.pid: w.ready_info["init_s"]
            for w in self._workers
            if w.ready_info and "init_s" in w.ready_info
        }

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        if self._start_method == "fork":
            for module in self._preload:  # inherited by the forked workers
                __import__(module)
        for _ in range(self.size):
            self._spawn_worker()

    def _spawn_worker(self) -> Worker:
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        close_fds: list[int] = []
        args: tuple[Any, ...] = (child_conn, self._static)
        if self._start_method == "fork":
            # A forked worker inherits every other worker's pipe end; if it kept them,
            # a sibling's death would not show up as EOF.
            close_fds = [w.conn.fileno() for w in self._workers] + [parent_conn.fileno()]
            args = (child_conn, self._static, close_fds, self._inherited_instance)
        process = self._mp.Process(
            target=worker_main,
            args=args,
            name="dagster-warm-worker",
            daemon=False,  # a step may start its own process pool (daemons cannot)
        )
        process.start()
        child_conn.close()
        worker = Worker(process, parent_conn)
        self._workers.append(worker)
        self.worker_pids.append(process.pid)
        return worker

    def shutdown(self, timeout: float = 5.0) -> None:
        self._closing = True
        for task in list(self._pending):
            self._finish_locally(task, "pool shut down")
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
                worker.process.join(_SHUTDOWN_JOIN_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(_SHUTDOWN_JOIN_S)
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

    def submit(self, task: Task) -> None:
        self._pending.append(task)
        self._dispatch()

    def interrupt(self, task: Task) -> None:
        if task.finished:
            return
        if task in self._pending:
            self._pending.remove(task)
            self._finish_locally(task, "interrupted before start")
            return
        task.interrupt_at = time.monotonic()
        self._signal(task)

    def _signal(self, task: Task) -> None:
        worker = task.worker
        if worker is None or task.finished:
            return
        task.last_signal_at = time.monotonic()
        try:
            os.kill(worker.pid, signal.SIGINT)
        except OSError:
            pass

    def _finish_locally(self, task: Task, msg: str) -> None:
        """End a task that never reached a worker the way an interrupted child would."""
        try:
            raise DagsterExecutionInterruptedError(msg)
        except DagsterExecutionInterruptedError:
            info = serializable_error_info_from_exc_info(sys.exc_info())
        task.inbox.append(ChildProcessSystemErrorEvent(pid=os.getpid(), error_info=info))
        task.finished = True
        task.exitcode = 0

    def _dispatch(self) -> None:
        for worker in self._workers:
            if not self._pending:
                return
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
                self._pending.appendleft(task)  # dead worker: pump() replaces it
                continue
            worker.task = task
            task.worker = worker
            self._running[task.id] = task

    def _has_undelivered(self) -> bool:
        return any(t.inbox for t in self._running.values())

    def pump(self, timeout: float | None) -> None:
        """Wait up to `timeout` for worker messages/deaths and route them."""
        if self._has_undelivered():
            timeout = 0.0  # let the executor loop pick up what already arrived
        elif timeout is None:
            timeout = _DEFAULT_PUMP_S
        conns = {w.conn: w for w in self._workers}
        sentinels = {w.process.sentinel: w for w in self._workers}
        try:
            ready = multiprocessing.connection.wait([*conns, *sentinels], timeout)
        except OSError:
            ready = []
        dead: list[Worker] = []
        for obj in ready:
            if obj in conns:
                if not self._drain(conns[obj]):
                    dead.append(conns[obj])
            elif obj in sentinels:
                dead.append(sentinels[obj])
        for worker in dict.fromkeys(dead):
            self._drain(worker)  # events sent before it died still belong to the step
            self._on_worker_death(worker)
        self._escalate()
        self._dispatch()

    def _drain(self, worker: Worker) -> bool:
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

    def _on_worker_death(self, worker: Worker) -> None:
        if worker not in self._workers:
            return
        worker.process.join(_SHUTDOWN_JOIN_S)
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
        new_pid = None if self._closing else self._spawn_worker().pid
        self.unreported_replacements.append(Replacement(worker.pid, exitcode, new_pid))

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
