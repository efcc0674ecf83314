"""What runs in a process forked from the template: one step (or the start-up probe)."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from typing import TYPE_CHECKING, Any

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

    profiler = cProfile.Profile()
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
        # Fresh status: the run may have been terminated while this step was queued.
        run = instance.get_run_by_id(state.spec.run_id)
        if run is None:
            return EXIT_RUN_MISSING
        status.send_bytes(b"R")
        status.close()
        with interrupts_captured():
            execute_step_in_this_process(launch.args, instance, run)
        return 0
    except INTERRUPTS:
        return 1
    except BaseException:
        traceback.print_exc(file=sys.stderr)
        return EXIT_FRAMEWORK_ERROR
    finally:
        release_connections(instance)


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
