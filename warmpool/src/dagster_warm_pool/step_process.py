"""What runs in a process forked from the template: one step (or the start-up probe)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

from dagster_warm_pool.event_log import BatchingPostgresEventLogStorage
from dagster_warm_pool.process_control import die_with_parent, raise_oom_score

if TYPE_CHECKING:
    from dagster_warm_pool.protocol import Launch
    from dagster_warm_pool.template import TemplateState

# Exit codes of a step process that could not run its step.
EXIT_RUN_MISSING = 3
EXIT_FRAMEWORK_ERROR = 4
# Diagnostics: a directory where each step process writes its cProfile stats.
PROFILE_DIR_ENV = "DAGSTER_WARM_POOL_PROFILE_DIR"


def _become_step_process(template_pid: int) -> None:
    die_with_parent(template_pid)
    # The template ignores SIGINT; a step needs it back for Dagster's interrupt handling.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise_oom_score()


def step_process_main(state: TemplateState, launch: Launch, status: Any) -> int:
    """Run one step the way `dagster api execute_step` does; returns the exit code."""
    profile_dir = os.environ.get(PROFILE_DIR_ENV)
    if not profile_dir:
        return _run_step(state, launch, status)
    import cProfile

    profiler = cProfile.Profile(time.process_time)
    try:
        return profiler.runcall(_run_step, state, launch, status)
    finally:
        profiler.dump_stats(os.path.join(profile_dir, f"step-{launch.step_key}-{os.getpid()}.prof"))


def _run_step(state: TemplateState, launch: Launch, status: Any) -> int:
    from dagster_warm_pool._dagster import (
        INTERRUPTS,
        execute_step_in_this_process,
        hold_connections,
        interrupts_captured,
        release_connections,
    )

    _become_step_process(template_pid=os.getppid())
    instance = state.instance
    try:
        hold_connections(instance)
        status.send_bytes(b"R")
        status.close()
        # The run as the template read it: its status is not re-read (one connection and one
        # query less per step); a terminated run's steps are stopped by the orchestrator.
        with _batched_writes(instance), interrupts_captured():
            execute_step_in_this_process(launch.args, instance, state.run)
        return 0
    except INTERRUPTS:
        return 1
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        return EXIT_FRAMEWORK_ERROR
    finally:
        release_connections(instance)


def _batched_writes(instance: Any) -> Any:
    storage = instance.event_log_storage
    if isinstance(storage, BatchingPostgresEventLogStorage):
        return storage.batched_step_writes()
    return contextlib.nullcontext()


def probe_main(state: TemplateState, status: Any) -> int:
    """The start-up probe: a child of the template that can read the run from the database."""
    from dagster_warm_pool._dagster import release_connections

    _become_step_process(template_pid=os.getppid())
    try:
        run = state.instance.get_run_by_id(state.spec.run_id)
        if run is None:
            return EXIT_RUN_MISSING
        status.send_bytes(b"R")
        status.close()
        return 0
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        return EXIT_FRAMEWORK_ERROR
    finally:
        release_connections(state.instance)
