"""The template process: one per run, holding Dagster, the user code's definitions, the
instance and the run, started from a process that runs no other thread. It never runs a step
itself: it forks step processes from itself, so each starts from the same clean state (module
globals, environment, working directory, signal handlers, no threads, no memory left by an
earlier step) without importing or building anything again.

By default a step process runs one step and exits. With `steps_per_worker` above 1 (opt-in) a
step process runs up to that many steps in turn, and is replaced once it has, or once it holds
more than `max_worker_memory_mib`.

The template keeps `spare_workers` step processes forked ahead, already connected to the
database and waiting: a step starts as soon as it is launched, and the fork and connection of
the next spare happen while steps run. A spare has run nothing, so it is as clean as a fresh
fork.
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
from dataclasses import dataclass
from typing import Any

from dagster_warm_pool.cgroup_memory import read_memory
from dagster_warm_pool.process_control import (
    TEMPLATE_NAME,
    TEMPLATE_OOM_SCORE_ADJ,
    close_quietly,
    die_with_parent,
    os_thread_count,
    pidfd,
    raise_oom_score,
    set_process_name,
)
from dagster_warm_pool.protocol import (
    ForkFailed,
    InitFailed,
    Launch,
    Probe,
    ProbeFailed,
    ProbePassed,
    Ready,
    RowsWritten,
    Shutdown,
    StepDone,
    StepExited,
    TemplateSpec,
    Terminate,
    WorkerDone,
    WorkerReady,
    WorkerRunning,
    WriteRows,
)
from dagster_warm_pool.row_writer import RowWriter
from dagster_warm_pool.step_process import probe_main, worker_main
from dagster_warm_pool.template_state import TemplateState

# A step that ignores the interrupt gets it again this often until the grace period ends.
_RESEND_INTERRUPT_S = 0.5
# Without pidfds (Linux < 5.3) children are reaped by polling this often.
_REAP_POLL_S = 0.05
_PROBE = "probe"


@dataclass
class Child:
    pid: int
    pidfd: int | None
    conn: Any  # the template's end of the child's pipe
    task_id: int | None  # the step it runs now; None while idle
    step_key: str
    reached_step: bool = False
    ready: bool = False  # a spare that has connected to the database
    leaving: bool = False  # said it exits after its current step
    interrupt_at: float | None = None
    last_signal_at: float = 0.0


def _init_state(spec: TemplateSpec, inherited: tuple[Any, Any] | None) -> TemplateState:
    from dagster_warm_pool.connections import (
        drop_inherited_connections,
        hold_connections,
        release_connections,
    )
    from dagster_warm_pool.event_log import BatchingPostgresEventLogStorage
    from dagster_warm_pool.event_rows import writer_dsn
    from dagster_warm_pool.step_definitions import warm_step_definitions

    if inherited is not None:
        instance, run = inherited
        drop_inherited_connections(instance)
    else:
        from dagster import DagsterInstance

        instance = DagsterInstance.from_ref(spec.instance_ref)
        run = instance.get_run_by_id(spec.run_id)
        if run is None:
            raise RuntimeError(f"run {spec.run_id} not found")
        # A pooled storage keeps that connection: close it, or every step forked from here
        # would inherit it in its pool.
        release_connections(instance)
    for module in spec.options.preload_modules:
        __import__(module)
    warm_step_definitions(instance, run)
    # Storages are created lazily: create them here, once, not in every step process.
    _ = instance.run_storage, instance.event_log_storage, instance.compute_log_manager
    # Pooled engines are built here, once, with nothing connected yet: every step process
    # inherits them and connects into its own empty pool, instead of replacing the engines
    # itself, a cost every step process paid (BENCHMARKS.md, "Executors side by side"). The
    # template queries nothing through the instance from here on, so no connection is ever in
    # the pool a step inherits.
    hold_connections(instance)
    storage = instance.event_log_storage
    writes_rows = spec.options.uses("template_rows")
    batching = isinstance(storage, BatchingPostgresEventLogStorage)
    dsn = writer_dsn(storage) if batching and writes_rows else None
    return TemplateState(spec=spec, instance=instance, run=run, writer_dsn=dsn)


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
    set_process_name(TEMPLATE_NAME)
    raise_oom_score(TEMPLATE_OOM_SCORE_ADJ)
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
    # from touching (and so copying) their pages in each child. No gc.collect() first: it
    # walks the whole inherited heap, a visible part of a run's start (docs/changelog.md,
    # 2026-11-23 02:35), and copies every page it touches, to free what is at most a little
    # garbage, which the template keeps instead.
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
        self._reuse = state.spec.options.steps_per_worker > 1
        self._children: dict[int, Child] = {}  # by pid
        self._oom_seen = read_memory().oom_kills or 0
        self._shutdown_deadline: float | None = None
        self._spares = state.spec.spare_workers
        # The start-up probe's task id while it waits for the first spare to be ready.
        self._probe_task: int | None = None
        self._writer = RowWriter(state.writer_dsn) if state.writes_rows else None

    # -- main loop ------------------------------------------------------------------------

    def serve(self) -> None:
        try:
            self._serve()
        finally:
            if self._writer is not None:
                self._writer.close()  # politely: the server logs a dropped client otherwise

    def _serve(self) -> None:
        self._top_up_spares()
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
                if child.conn is not None:
                    waitables.append(child.conn)
            timeout = _REAP_POLL_S if polling else None
            if self._shutdown_deadline is not None or any(
                c.interrupt_at is not None for c in self._children.values()
            ):
                timeout = _RESEND_INTERRUPT_S / 2
            for obj in multiprocessing.connection.wait(waitables, timeout):
                if obj is self._conn:
                    if not self._handle_orders():
                        self._kill_all()
                        return
                else:
                    self._handle_child(obj)
            for child in list(self._children.values()):
                if child.pidfd is None:
                    self._reap(child, block=False)
            self._escalate()

    def _handle_orders(self) -> bool:
        """Run every queued order; False when the orchestrator is gone."""
        try:
            while self._conn.poll():
                order = self._conn.recv()
                if isinstance(order, Launch):
                    self._launch(order)
                elif isinstance(order, Probe):
                    self._probe(order.task_id)
                elif isinstance(order, Terminate):
                    self._interrupt_task(order.task_id)
                elif isinstance(order, Shutdown):
                    self._begin_shutdown(order.grace_seconds)
        except (EOFError, OSError):
            return False
        return True

    def _handle_child(self, obj: Any) -> None:
        for child in list(self._children.values()):
            if obj is child.conn:
                self._read_child(child)
                return
            if obj == child.pidfd:
                self._reap(child, block=True)
                return

    def _read_child(self, child: Child) -> None:
        try:
            while child.conn is not None and child.conn.poll():
                message = child.conn.recv()
                if isinstance(message, WorkerRunning) and message.task_id == child.task_id:
                    child.reached_step = True
                elif isinstance(message, WriteRows):
                    error = (
                        self._writer.write(message.rows)
                        if self._writer is not None
                        else "this template writes no rows"
                    )
                    child.conn.send(RowsWritten(error))
                elif isinstance(message, WorkerReady):
                    child.ready = True
                    self._answer_probe(child)
                elif isinstance(message, WorkerDone) and message.task_id == child.task_id:
                    child.leaving = message.leaving
                    self._send(StepDone(message.task_id, child.pid, message.code))
                    child.task_id, child.reached_step = None, False
                    child.interrupt_at = None
        except (EOFError, OSError):
            child.conn.close()
            child.conn = None

    # -- the start-up probe -------------------------------------------------------------------

    def _probe(self, task_id: int) -> None:
        """With spares, the first spare ready to run a step is the probe (and then runs the
        run's first step); without, a process is forked for the probe alone. Where the
        template writes its steps' rows, its own connection must work too."""
        if self._writer is not None:
            try:
                self._writer.connect()
            except Exception as error:
                self._send(ProbeFailed(task_id, f"{type(error).__name__}: {error}".strip()))
                return
        if self._spares <= 0:
            self._fork(task_id, _PROBE, None)
            return
        self._probe_task = task_id
        for child in self._children.values():
            self._answer_probe(child)

    def _answer_probe(self, child: Child) -> None:
        if self._probe_task is None or not child.ready or child.task_id is not None:
            return
        self._send(ProbePassed(self._probe_task, child.pid))
        self._probe_task = None

    # -- step processes ---------------------------------------------------------------------

    def _launch(self, launch: Launch) -> None:
        for child in self._children.values():
            if child.task_id is None and not child.leaving and child.conn is not None:
                try:
                    child.conn.send(launch)
                except OSError:
                    continue
                child.task_id, child.step_key = launch.task_id, launch.step_key
                break
        else:
            self._fork(launch.task_id, launch.step_key, launch)
        self._top_up_spares()

    def _top_up_spares(self) -> None:
        if self._shutdown_deadline is not None:
            return
        idle = sum(
            1 for c in self._children.values() if c.task_id is None and not c.leaving and c.conn
        )
        for _ in range(self._spares - idle):
            self._fork(None, "spare", None, spare=True)

    def _fork(
        self, task_id: int | None, step_key: str, launch: Launch | None, spare: bool = False
    ) -> None:
        parent_end, child_end = multiprocessing.Pipe(duplex=True)
        try:
            pid = os.fork()
        except OSError as error:
            parent_end.close()
            child_end.close()
            self._send(ForkFailed(task_id, f"fork failed: {error}"))
            return
        if pid == 0:  # the step process
            code = 70  # EX_SOFTWARE, if anything below escapes
            try:
                parent_end.close()
                self._conn.close()
                for other in self._children.values():
                    close_quietly(other.pidfd)
                    if other.conn is not None:
                        other.conn.close()
                if launch is None and not spare:
                    code = probe_main(self._state, child_end)
                else:
                    code = worker_main(self._state, child_end, launch)
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        child_end.close()
        self._children[pid] = Child(
            pid=pid, pidfd=pidfd(pid), conn=parent_end, task_id=task_id, step_key=step_key
        )

    def _interrupt_task(self, task_id: int) -> None:
        for child in self._children.values():
            if child.task_id == task_id:
                self._interrupt(child)

    def _interrupt(self, child: Child) -> None:
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
        for child in list(self._children.values()):
            if child.task_id is None and child.conn is not None:
                with contextlib.suppress(OSError):
                    child.conn.send(None)  # an idle worker leaves on its own
            else:
                self._interrupt(child)

    def _kill_all(self) -> None:
        for child in self._children.values():
            self._signal(child, signal.SIGKILL)
        for child in list(self._children.values()):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            self._forget(child)

    def _reap(self, child: Child, block: bool) -> None:
        try:
            pid, status = os.waitpid(child.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status = child.pid, 0
        if pid == 0:
            return
        exitcode = os.waitstatus_to_exitcode(status)
        self._read_child(child)  # a message sent just before exiting still counts
        self._forget(child)
        if child.task_id is None and self._probe_task is not None and not child.ready:
            # A spare died before reaching the database while the probe waited on it.
            child.task_id, self._probe_task = self._probe_task, None
        if child.task_id is None:
            return  # an idle worker that left after its last step
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
        self._children.pop(child.pid, None)
        close_quietly(child.pidfd)
        child.pidfd = None
        if child.conn is not None:
            child.conn.close()
            child.conn = None

    def _send(self, message: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(message)
