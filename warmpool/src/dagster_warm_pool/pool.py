"""The orchestrator's side of the template: starting it, launching steps, reading their fate.

Everything here runs in the run worker, inside StepDelegatingExecutor's loop (through the
step handler), so it never blocks longer than a poll except on start-up and shutdown.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import multiprocessing.connection
import time
from dataclasses import dataclass
from typing import Any

from dagster_warm_pool.process_control import os_thread_count
from dagster_warm_pool.protocol import (
    ForkFailed,
    InitFailed,
    Launch,
    Probe,
    ProbeFailed,
    ProbePassed,
    Ready,
    Shutdown,
    StepDone,
    StepExited,
    TemplateSpec,
    Terminate,
)
from dagster_warm_pool.step_death import StepDeath, describe_death
from dagster_warm_pool.template import template_main

# Consecutive step processes that may die before reaching their step before the run stops.
MAX_START_FAILURES = 5
# A step process that exited cleanly but whose result the orchestrator has not seen after
# this long is reported as failed rather than waited on forever.
LOST_RESULT_S = 30.0
_PROBE_TASK_ID = 0
# The orchestrator's pause while no step process runs (none can wake it).
IDLE_PAUSE_S = 0.02


class WarmPoolError(Exception):
    """The warm pool cannot go on; the message says why."""


class TemplateUnavailable(WarmPoolError):
    """At start: the run falls back to Dagster's multiprocess executor."""


class TemplateCrashLoop(WarmPoolError):
    """Mid-run: the template or step processes keep dying before work starts; the run fails."""


@dataclass
class Task:
    task_id: int
    step_key: str
    exited: StepExited | None = None
    exited_at: float | None = None
    lost_template: str | None = None  # why the template died under this step
    fork_error: str | None = None
    deferred: bool = False  # an abnormal end was seen once; reported at the next check
    reported: bool = False


@dataclass(frozen=True)
class StartInfo:
    template_pid: int
    start_method: str
    threads_in_orchestrator: int
    init_seconds: float
    ready_seconds: float
    probe_seconds: float


class TemplateClient:
    def __init__(
        self,
        spec: TemplateSpec,
        inherited: tuple[Any, Any] | None,
        memory_limit_bytes: int | None,
    ) -> None:
        self._spec = spec
        self._inherited = inherited
        self._memory_limit = memory_limit_bytes
        self._options = spec.options
        self._ids = itertools.count(1)
        self._tasks: dict[str, Task] = {}
        self._by_id: dict[int, Task] = {}
        self._process: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._template_deaths = 0
        self._start_failures = 0
        self._last_death = ""
        self._news = False  # the template reported a step process's end since the last wait
        self.info: StartInfo | None = None

    # -- start and restart --------------------------------------------------------------------

    def start(self) -> StartInfo:
        """Start the template and prove it can run a process against the database."""
        began = time.perf_counter()
        method, threads = self._start_template()
        ready = self._wait_ready()
        ready_s = time.perf_counter() - began
        probe_began = time.perf_counter()
        self._probe()
        self.info = StartInfo(
            template_pid=ready.pid,
            start_method=method,
            threads_in_orchestrator=threads,
            init_seconds=ready.init_seconds,
            ready_seconds=ready_s,
            probe_seconds=time.perf_counter() - probe_began,
        )
        return self.info

    def _start_template(self) -> tuple[str, int]:
        threads = os_thread_count()
        # Forking a process that runs other threads can copy a lock some thread holds, and
        # the copy never gets unlocked: only fork a thread-free orchestrator.
        use_fork = threads == 1 and "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if use_fork else "spawn")
        parent_conn, child_conn = context.Pipe(duplex=True)
        if use_fork:
            args: tuple[Any, ...] = (
                child_conn,
                self._spec,
                self._inherited,
                (parent_conn.fileno(),),
            )
        else:
            args = (child_conn, self._spec)
        process = context.Process(
            target=template_main, args=args, name="dagster-warm-pool-template", daemon=False
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn
        return ("fork" if use_fork else "spawn"), threads

    def _wait_ready(self) -> Ready:
        timeout = self._options.template_start_timeout_seconds
        message = self._receive(timeout)
        if isinstance(message, Ready):
            return message
        if isinstance(message, InitFailed):
            self._reap_template()
            raise TemplateUnavailable(f"the template process failed to start:\n{message.error}")
        self._kill_template()
        if message is None:
            raise TemplateUnavailable(f"the template process was not ready within {timeout:g} s")
        raise TemplateUnavailable(f"the template process ended before it was ready ({message})")

    def _probe(self) -> None:
        assert self._conn is not None
        self._conn.send(Probe(_PROBE_TASK_ID))
        deadline = time.monotonic() + self._options.template_start_timeout_seconds
        while time.monotonic() < deadline:
            message = self._receive(max(0.0, deadline - time.monotonic()))
            if isinstance(message, ProbePassed) and message.task_id == _PROBE_TASK_ID:
                return
            if isinstance(message, ProbeFailed) and message.task_id == _PROBE_TASK_ID:
                self._kill_template()
                raise TemplateUnavailable(
                    f"the template could not reach the database: {message.error}"
                )
            if isinstance(message, StepExited) and message.task_id == _PROBE_TASK_ID:
                if message.exitcode == 0 and message.reached_step:
                    return
                self._kill_template()
                raise TemplateUnavailable(
                    f"the probe process forked from the template exited with code "
                    f"{message.exitcode} (reached the database: {message.reached_step})"
                )
            if isinstance(message, ForkFailed):
                self._kill_template()
                raise TemplateUnavailable(f"the template could not fork the probe: {message.error}")
            if isinstance(message, str):  # template gone
                raise TemplateUnavailable(f"the template died during the probe: {message}")
        self._kill_template()
        raise TemplateUnavailable("the probe did not finish in time")

    def _receive(self, timeout: float) -> Any:
        """The template's next message; a string if the template died; None on timeout."""
        assert self._conn is not None and self._process is not None
        ready = multiprocessing.connection.wait([self._conn, self._process.sentinel], timeout)
        if self._conn in ready:
            try:
                return self._conn.recv()
            except (EOFError, OSError):
                pass
        if ready:
            return self._template_death_cause()
        return None

    def _template_death_cause(self) -> str:
        self._reap_template()
        code = self._process.exitcode if self._process is not None else None
        return f"template process exited with code {code}"

    def _ensure_template(self) -> None:
        if self._template_alive():
            return
        self._template_deaths += 1
        if self._template_deaths > self._options.max_template_restarts:
            raise TemplateCrashLoop(
                f"Warm pool: the template process died {self._template_deaths} times "
                f"(last: {self._last_death}); max_template_restarts is "
                f"{self._options.max_template_restarts}, so the run stops here."
            )
        time.sleep(_backoff(self._template_deaths))
        self._start_template()
        try:
            self._wait_ready()
        except TemplateUnavailable as error:
            raise TemplateCrashLoop(f"Warm pool: restarting the template failed: {error}") from None

    def _template_alive(self) -> bool:
        self.poll()
        return self._process is not None and self._process.is_alive() and self._conn is not None

    # -- steps --------------------------------------------------------------------------------

    def launch(self, step_key: str, args: Any) -> None:
        if self._start_failures >= MAX_START_FAILURES:
            raise TemplateCrashLoop(
                f"Warm pool: {self._start_failures} step processes in a row died before their "
                f"step started (last: {self._last_death}); the run stops here."
            )
        self._ensure_template()
        if self._start_failures:
            time.sleep(_backoff(self._start_failures))
        task = Task(next(self._ids), step_key)
        self._tasks[step_key] = task
        self._by_id[task.task_id] = task
        assert self._conn is not None
        self._conn.send(Launch(task.task_id, step_key, args))

    def terminate(self, step_key: str) -> None:
        task = self._tasks.get(step_key)
        if task is None or task.exited is not None or self._conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(Terminate(task.task_id))

    def unhealthy_reason(self, step_key: str) -> str | None:
        """Why the step's process is gone without a result, once; None while it is fine."""
        self.poll()
        task = self._tasks.get(step_key)
        if task is None or task.reported:
            return None
        reason = self._failure_reason(task)
        if reason is None:
            return None
        # The process may have committed its result just before it ended: give the executor
        # one more poll of the event log before calling the step failed.
        if not task.deferred:
            task.deferred = True
            return None
        task.reported = True
        return reason

    def _failure_reason(self, task: Task) -> str | None:
        if task.fork_error is not None:
            return f"Warm pool: {task.fork_error}"
        if task.lost_template is not None:
            return f"Warm pool: the template process died ({task.lost_template}), and the step's process with it."
        exited = task.exited
        if exited is None:
            return None
        if exited.exitcode == 0:
            if time.monotonic() - (task.exited_at or 0) > LOST_RESULT_S:
                return (
                    f"Warm pool: the step process (pid {exited.pid}) exited cleanly, but no "
                    f"result reached the event log within {LOST_RESULT_S:g} s."
                )
            return None
        return describe_death(
            StepDeath(
                step_key=task.step_key,
                pid=exited.pid,
                exitcode=exited.exitcode,
                oom_killed=exited.oom_killed,
                memory_limit_bytes=self._memory_limit,
                reached_step=exited.reached_step,
            ),
            self._options.memory_limit_hint,
        )

    def poll(self) -> None:
        """Read every message the template has sent; notice if it died."""
        if self._conn is None or self._process is None:
            return
        try:
            while self._conn.poll():
                self._on_message(self._conn.recv())
        except (EOFError, OSError):
            self._on_template_death()
            return
        if not self._process.is_alive():
            self._on_template_death()

    def wait_for_news(self, timeout: float) -> None:
        """Return once the template reports a step process's end (or fork failure, or its own
        death), or after `timeout`. The orchestrator's loop pauses here between its reads of
        the event log, so a step's result is read as soon as the step is done."""
        self.poll()
        if not self._news:
            if self._by_id and self._conn is not None and self._process is not None:
                multiprocessing.connection.wait([self._conn, self._process.sentinel], timeout)
                self.poll()
            else:
                # No step process out there to report: the run just ended, or its next steps
                # wait on something else (a retry delay, a concurrency slot); a short pause.
                time.sleep(min(timeout, IDLE_PAUSE_S))
        self._news = False

    def _on_message(self, message: Any) -> None:
        self._news = True
        if isinstance(message, StepDone):
            message = StepExited(
                task_id=message.task_id,
                pid=message.pid,
                exitcode=message.code,
                oom_killed=False,
                reached_step=True,
            )
        if isinstance(message, StepExited):
            task = self._by_id.pop(message.task_id, None)
            if task is None:
                return
            task.exited, task.exited_at = message, time.monotonic()
            if message.exitcode != 0 and not message.reached_step:
                self._start_failures += 1
                self._last_death = f"pid {message.pid} exit code {message.exitcode}"
            elif message.reached_step:
                self._start_failures = 0
                self._template_deaths = 0
        elif isinstance(message, ForkFailed):
            task = self._by_id.pop(message.task_id, None)
            if task is not None:
                task.fork_error = message.error
                self._start_failures += 1
                self._last_death = message.error

    def _on_template_death(self) -> None:
        self._news = True
        cause = self._template_death_cause()
        self._last_death = cause
        for task in self._by_id.values():
            task.lost_template = cause
        self._by_id.clear()
        with contextlib.suppress(OSError):
            if self._conn is not None:
                self._conn.close()
        self._conn = None

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(self, grace_seconds: float) -> None:
        """Stop the template after its running steps end (interrupted, killed after the
        grace period). Its step processes die with it (parent-death signal)."""
        if self._process is None:
            return
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(Shutdown(grace_seconds))
        self._process.join(grace_seconds + 5.0)
        self._kill_template()

    def _kill_template(self) -> None:
        if self._process is None:
            return
        if self._process.is_alive():
            self._process.kill()
        self._reap_template()

    def _reap_template(self) -> None:
        if self._process is not None:
            self._process.join(5.0)

    @property
    def template_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


def _backoff(failures: int) -> float:
    return min(0.25 * 2 ** max(0, failures - 1), 4.0)
