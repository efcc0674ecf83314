"""The template process: one per run, holding Dagster, the user code's definitions, the
instance and the run, started from a process that runs no other thread. It never runs a step
itself: for every step it forks a fresh child, so each step starts from the same clean state
(module globals, environment, working directory, signal handlers, no threads, no memory left
by an earlier step) without importing or building anything again.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing.connection
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from dagster_warm_pool.cgroup_memory import read_memory
from dagster_warm_pool.process_control import close_quietly, die_with_parent, os_thread_count, pidfd
from dagster_warm_pool.protocol import (
    ForkFailed,
    InitFailed,
    Launch,
    Probe,
    Ready,
    Shutdown,
    StepExited,
    TemplateSpec,
    Terminate,
)
from dagster_warm_pool.step_process import probe_main, step_process_main

# A step that ignores the interrupt gets it again this often until the grace period ends.
_RESEND_INTERRUPT_S = 0.5
# Without pidfds (Linux < 5.3) children are reaped by polling this often.
_REAP_POLL_S = 0.05


@dataclass
class TemplateState:
    """What every step process inherits."""

    spec: TemplateSpec
    instance: Any
    run: Any


@dataclass
class Child:
    task_id: int
    pid: int
    step_key: str
    pidfd: int | None
    status: Any  # read end of the child's one-byte "reached the step" pipe
    reached_step: bool = False
    interrupt_at: float | None = None
    last_signal_at: float = 0.0
    extra_fds: list[int] = field(default_factory=list)


def _init_state(spec: TemplateSpec, inherited: tuple[Any, Any] | None) -> TemplateState:
    from dagster_warm_pool._dagster import drop_inherited_connections, warm_step_definitions

    if inherited is not None:
        instance, run = inherited
        drop_inherited_connections(instance)
    else:
        from dagster import DagsterInstance

        instance = DagsterInstance.from_ref(spec.instance_ref)
        run = instance.get_run_by_id(spec.run_id)
        if run is None:
            raise RuntimeError(f"run {spec.run_id} not found")
    for module in spec.options.preload_modules:
        __import__(module)
    warm_step_definitions(instance, run)
    # Storages are created lazily: create them here, once, not in every step process.
    _ = instance.run_storage, instance.event_log_storage, instance.compute_log_manager
    return TemplateState(spec=spec, instance=instance, run=run)


def template_main(
    conn: multiprocessing.connection.Connection,
    spec: TemplateSpec,
    inherited: tuple[Any, Any] | None = None,
    close_fds: tuple[int, ...] = (),
) -> None:
    """Entry point (fork: `inherited` is the orchestrator's instance and run objects)."""
    for fd in close_fds:
        close_quietly(fd)
    die_with_parent(spec.orchestrator_pid)
    # Ctrl-C reaches the whole process group: the orchestrator decides what stops, and tells
    # the template. SIGTERM keeps its default (die), for `docker stop` of the container.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    started = time.perf_counter()
    try:
        state = _init_state(spec, inherited)
    except BaseException:
        with contextlib.suppress(Exception):
            conn.send(InitFailed(os.getpid(), traceback.format_exc()))
        os._exit(1)
    # Objects that exist now are shared by every step process: keep the garbage collector
    # from touching (and so copying) their pages in each child.
    gc.collect()
    gc.freeze()
    conn.send(Ready(os.getpid(), time.perf_counter() - started, os_thread_count()))
    code = 0
    try:
        Template(conn, state).serve()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Template:
    def __init__(self, conn: multiprocessing.connection.Connection, state: TemplateState) -> None:
        self._conn = conn
        self._state = state
        self._children: dict[int, Child] = {}
        self._oom_seen = read_memory().oom_kills or 0
        self._shutdown_deadline: float | None = None

    # -- main loop ------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            if self._shutdown_deadline is not None and not self._children:
                return
            waitables: list[Any] = [self._conn]
            polling = False
            for child in self._children.values():
                if child.pidfd is not None:
                    waitables.append(child.pidfd)
                else:
                    polling = True
                if child.status is not None:
                    waitables.append(child.status)
            timeout = _REAP_POLL_S if polling else None
            if self._shutdown_deadline is not None or any(
                c.interrupt_at is not None for c in self._children.values()
            ):
                timeout = _RESEND_INTERRUPT_S / 2
            ready = multiprocessing.connection.wait(waitables, timeout)
            for obj in ready:
                if obj is self._conn:
                    if not self._handle_orders():
                        self._kill_all()
                        return
                else:
                    self._handle_child_fd(obj)
            self._reap(block=False)
            self._escalate()

    def _handle_orders(self) -> bool:
        """Run every queued order; False when the orchestrator is gone."""
        try:
            while self._conn.poll():
                order = self._conn.recv()
                if isinstance(order, Launch):
                    self._fork(order.task_id, order.step_key, order)
                elif isinstance(order, Probe):
                    self._fork(order.task_id, "probe", None)
                elif isinstance(order, Terminate):
                    self._interrupt(order.task_id)
                elif isinstance(order, Shutdown):
                    self._begin_shutdown(order.grace_seconds)
        except (EOFError, OSError):
            return False
        return True

    def _handle_child_fd(self, obj: Any) -> None:
        for child in list(self._children.values()):
            if obj is child.status:
                try:
                    if child.status.poll() and child.status.recv_bytes():
                        child.reached_step = True
                except (EOFError, OSError):
                    pass
                child.status.close()
                child.status = None
                return
            if obj == child.pidfd:
                self._reap_one(child)
                return

    # -- children ---------------------------------------------------------------------------

    def _fork(self, task_id: int, step_key: str, launch: Launch | None) -> None:
        status_read, status_write = multiprocessing.Pipe(duplex=False)
        try:
            pid = os.fork()
        except OSError as error:
            status_read.close()
            status_write.close()
            self._send(ForkFailed(task_id, f"fork failed: {error}"))
            return
        if pid == 0:  # the step process
            code = 70  # EX_SOFTWARE, if anything below escapes
            try:
                status_read.close()
                self._conn.close()
                for other in self._children.values():
                    close_quietly(other.pidfd)
                    if other.status is not None:
                        other.status.close()
                if launch is None:
                    code = probe_main(self._state, status_write)
                else:
                    code = step_process_main(self._state, launch, status_write)
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        status_write.close()
        self._children[task_id] = Child(
            task_id=task_id, pid=pid, step_key=step_key, pidfd=pidfd(pid), status=status_read
        )

    def _interrupt(self, task_id: int) -> None:
        child = self._children.get(task_id)
        if child is None:
            return
        if child.interrupt_at is None:
            child.interrupt_at = time.monotonic()
        self._signal(child, signal.SIGINT)

    def _signal(self, child: Child, signum: int) -> None:
        child.last_signal_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signum)

    def _escalate(self) -> None:
        now = time.monotonic()
        grace = self._state.spec.options.termination_grace_seconds
        for child in list(self._children.values()):
            if child.interrupt_at is None:
                continue
            if now - child.interrupt_at > grace or (
                self._shutdown_deadline is not None and now > self._shutdown_deadline
            ):
                self._signal(child, signal.SIGKILL)
            elif now - child.last_signal_at > _RESEND_INTERRUPT_S:
                self._signal(child, signal.SIGINT)

    def _begin_shutdown(self, grace_seconds: float) -> None:
        self._shutdown_deadline = time.monotonic() + grace_seconds
        for task_id in list(self._children):
            self._interrupt(task_id)

    def _kill_all(self) -> None:
        for child in self._children.values():
            self._signal(child, signal.SIGKILL)
        for child in list(self._children.values()):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            self._forget(child)

    def _reap(self, block: bool) -> None:
        for child in list(self._children.values()):
            if child.pidfd is None:
                self._reap_one(child, block=block)

    def _reap_one(self, child: Child, block: bool = True) -> None:
        try:
            pid, status = os.waitpid(child.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status = child.pid, 0
        if pid == 0:
            return
        exitcode = os.waitstatus_to_exitcode(status)
        if child.status is not None:
            # A byte written just before a fast exit may not have been read yet.
            with contextlib.suppress(EOFError, OSError):
                if child.status.poll() and child.status.recv_bytes():
                    child.reached_step = True
        self._forget(child)
        self._send(
            StepExited(
                task_id=child.task_id,
                pid=child.pid,
                exitcode=exitcode,
                oom_killed=exitcode == -signal.SIGKILL and self._claim_oom_kill(),
                reached_step=child.reached_step,
            )
        )

    def _claim_oom_kill(self) -> bool:
        """Whether the kernel OOM-killed a process in this container since the last claim."""
        kills = read_memory().oom_kills
        if kills is not None and kills > self._oom_seen:
            self._oom_seen += 1
            return True
        return False

    def _forget(self, child: Child) -> None:
        self._children.pop(child.task_id, None)
        close_quietly(child.pidfd)
        child.pidfd = None
        if child.status is not None:
            child.status.close()
            child.status = None

    def _send(self, message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(message)
