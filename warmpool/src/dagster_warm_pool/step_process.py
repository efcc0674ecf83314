"""What runs in a process forked from the template: steps (or the start-up probe)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from dagster_warm_pool.event_log import BatchingPostgresEventLogStorage, SendRows
from dagster_warm_pool.process_control import (
    STEP_NAME,
    die_with_parent,
    raise_oom_score,
    set_process_name,
)
from dagster_warm_pool.process_memory import resident_bytes
from dagster_warm_pool.protocol import (
    RowsWritten,
    WorkerDone,
    WorkerReady,
    WorkerRunning,
    WriteRows,
)
from dagster_warm_pool.renamed_env import warm_pool_setting
from dagster_warm_pool.sizing import MIB

from dagster_warm_pool.template_state import TemplateState

if TYPE_CHECKING:
    from dagster_warm_pool.protocol import Launch

# Exit codes of a step process that could not run its step.
EXIT_RUN_MISSING = 3
EXIT_FRAMEWORK_ERROR = 4
EXIT_INTERRUPTED = 1
# Diagnostics: a directory where each step process writes its cProfile stats.
PROFILE_DIR_ENV = "WARM_POOL_PROFILE_DIR"


def _become_step_process(template_pid: int) -> None:
    die_with_parent(template_pid)
    set_process_name(STEP_NAME)
    # The template ignores SIGINT; a step needs it back for Dagster's interrupt handling.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise_oom_score()


def worker_main(state: TemplateState, conn: Any, launch: Launch | None) -> int:
    """Run `launch` (a spare: the first step the template sends), then (reuse opt-in) further
    steps sent by the template; the exit code."""
    from dagster_warm_pool.connections import hold_connections, open_connection, release_connections

    _become_step_process(template_pid=os.getppid())
    options = state.spec.options
    memory_cap = options.max_worker_memory_mib * MIB if options.max_worker_memory_mib else None
    served = 0
    try:
        hold_connections(state.instance)
        if launch is None:
            # A spare: when it writes its own rows, connect now, while nothing waits on it;
            # then wait for a step.
            if not state.writes_rows:
                open_connection(state.instance)
            conn.send(WorkerReady())
        current: Launch | None = launch if launch is not None else conn.recv()
        while current is not None:
            conn.send(WorkerRunning(current.task_id))
            code = _run_profiled(state, current, _rows_sender(conn) if state.writes_rows else None)
            served += 1
            rss = resident_bytes() or 0
            leaving = (
                code != 0
                or served >= options.steps_per_worker
                or (memory_cap is not None and rss > memory_cap)
            )
            conn.send(WorkerDone(current.task_id, code, leaving))
            if leaving:
                return code
            current = conn.recv()  # the next step, or None to leave
        return 0
    except (EOFError, OSError):
        return 0  # the template is gone; so is this process's reason to live
    finally:
        release_connections(state.instance)


def _rows_sender(conn: Any) -> SendRows:
    """Hands event-log rows to the template and waits until they are committed."""

    def send(rows: list[dict[str, Any]]) -> None:
        conn.send(WriteRows(rows))
        answer = conn.recv()
        if not isinstance(answer, RowsWritten):
            raise RuntimeError(f"unexpected answer from the template: {answer!r}")
        if answer.error is not None:
            raise RuntimeError(answer.error)

    return send


def _run_profiled(state: TemplateState, launch: Launch, send_rows: SendRows | None) -> int:
    profile_dir = warm_pool_setting(PROFILE_DIR_ENV, "DAGSTER_WARM_POOL_PROFILE_DIR")
    if not profile_dir:
        return _run_step(state, launch, send_rows)
    import cProfile

    profiler = cProfile.Profile(time.process_time)
    try:
        return profiler.runcall(_run_step, state, launch, send_rows)
    finally:
        profiler.dump_stats(os.path.join(profile_dir, f"step-{launch.step_key}-{os.getpid()}.prof"))


def _run_step(state: TemplateState, launch: Launch, send_rows: SendRows | None) -> int:
    """One step, the way `dagster api execute_step` runs it; the result code."""
    from dagster_warm_pool._dagster import (
        INTERRUPTS,
        execute_step_in_this_process,
        interrupts_captured,
    )

    try:
        # The run as the template read it: its status is not re-read (one connection and one
        # query less per step); a terminated run's steps are stopped by the orchestrator.
        with _batched_writes(state.instance, send_rows), interrupts_captured():
            for _event in execute_step_in_this_process(launch.args, state.instance, state.run):
                pass  # each event is already in the run's event log
        return 0
    except INTERRUPTS:
        return EXIT_INTERRUPTED
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return EXIT_FRAMEWORK_ERROR


def _batched_writes(instance: Any, send_rows: SendRows | None) -> Any:
    storage = instance.event_log_storage
    if isinstance(storage, BatchingPostgresEventLogStorage):
        return storage.batched_step_writes(send_rows)
    return contextlib.nullcontext()


def probe_main(state: TemplateState, conn: Any) -> int:
    """The start-up probe: a child of the template that can read the run from the database."""
    from dagster_warm_pool.connections import release_connections

    _become_step_process(template_pid=os.getppid())
    try:
        run = state.instance.get_run_by_id(state.spec.run_id)
        if run is None:
            return EXIT_RUN_MISSING
        conn.send(WorkerRunning(0))
        return 0
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return EXIT_FRAMEWORK_ERROR
    finally:
        release_connections(state.instance)
