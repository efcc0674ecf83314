"""What the warm pool hands Dagster in place of `multiprocessing`'s Process/Queue/Event.

`MultiprocessExecutor` reaches a child process only through the context it gets from
`multiprocessing.get_context(start_method)`: `ctx.Event()` per step, and inside
`execute_child_process_command`, `ctx.Queue()` plus
`ctx.Process(target=_execute_command_in_child_process, args=(queue, command))`.
`PoolContext` answers those three calls so that the executor's unchanged loop runs each
step on a warm worker instead of a new Python process.
"""

from __future__ import annotations

import collections
import queue
import time
from typing import TYPE_CHECKING, Any

from dagster import _check as check
from dagster._core.executor.child_process_executor import _execute_command_in_child_process
from dagster._core.executor.multiprocess import MultiprocessExecutorChildProcessCommand
from multiprocessing.process import BaseProcess

from user_code.executors.pool import Task

if TYPE_CHECKING:
    from user_code.executors.pool import WarmPool

_JOIN_POLL_S = 0.05


class TaskInbox:
    """`ctx.Queue()`: the step's events, filled by the pool from the worker's pipe.

    A blocking `get` waits on all worker pipes at once, so the executor loop wakes as
    soon as anything arrives for any step instead of sleeping a tick per in-flight step.
    """

    def __init__(self, pool: WarmPool) -> None:
        self._pool = pool
        self.items: collections.deque[Any] = collections.deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self.items:
            self._pool.pump(timeout if block else 0.0)
        if self.items:
            return self.items.popleft()
        raise queue.Empty

    def close(self) -> None:
        pass


class TermEvent:
    """`ctx.Event()`: the executor sets it on run termination; that interrupts the step."""

    def __init__(self, pool: WarmPool) -> None:
        self._pool = pool
        self._set = False
        self.task: Task | None = None

    def set(self) -> None:
        if not self._set:
            self._set = True
            if self.task is not None:
                self._pool.interrupt(self.task)

    def is_set(self) -> bool:
        return self._set


class TaskHandle(BaseProcess):
    """`ctx.Process(...)`: a step running on, or queued for, a warm worker.

    `is_alive()` means "the step has not finished and its worker lives", and `exitcode`
    is the worker's, so a worker dying mid-step reaches the executor as the stock
    "child process unexpectedly exited" crash (STEP_FAILURE or a retry).  It is a
    BaseProcess only because Dagster type-checks what it gets back; every method the
    executor uses is overridden, so BaseProcess.__init__ is deliberately not called.
    """

    def __init__(self, pool: WarmPool, target: Any, args: tuple[Any, ...]) -> None:  # noqa: PLW0231
        check.invariant(
            target is _execute_command_in_child_process and len(args) == 2,
            "warm pool only runs Dagster's step child-process command",
        )
        inbox, command = args
        check.inst(inbox, TaskInbox)
        check.inst(command, MultiprocessExecutorChildProcessCommand)
        self._pool = pool
        self._task = Task(pool.next_task_id(), command, inbox.items)
        if isinstance(command.term_event, TermEvent):
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
            self._pool.pump(_JOIN_POLL_S)


class PoolContext:
    """Registered as a multiprocessing context for the duration of one `execute`."""

    def __init__(self, pool: WarmPool) -> None:
        self._pool = pool

    def _check_available(self) -> None:
        pass

    def Event(self) -> TermEvent:  # noqa: N802
        return TermEvent(self._pool)

    def Queue(self) -> TaskInbox:  # noqa: N802
        return TaskInbox(self._pool)

    def Process(self, target: Any = None, args: tuple[Any, ...] = (), **_kw: Any) -> TaskHandle:  # noqa: N802
        return TaskHandle(self._pool, target, args)
