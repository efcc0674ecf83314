"""Deployment-dependent settings read from the environment, so no code edit is needed per deployment.

Env vars:
  DAGSTER_DEPLOYMENT   "stack" inside the Docker stack; anything else means local/dev.
  FANOUT_EXECUTOR      "in_process" | "multiprocess" | "warm_pool" (default: warm_pool in the
                       stack, in_process elsewhere). New executors are added in EXECUTOR_BUILDERS only.
  FANOUT_DATA_DIR      records files root (default /opt/dagster/data in the stack, ./.cache/data locally).
  FANOUT_SCHEDULE_ENABLED / FANOUT_SCHEDULE_CRON / FANOUT_SENSOR_INTERVAL_SECONDS: see schedules/sensors.
"""


import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from dagster_warm_pool.cgroup_cpu import container_cpu_count

STACK = "stack"
STACK_DATA_DIR = "/opt/dagster/data"
LOCAL_DATA_DIR = "./.cache/data"

# Imported once in the forkserver so each step process forks with them already loaded
# instead of paying the import cost per step. Missing modules are skipped by the forkserver.
FORKSERVER_PRELOAD_MODULES = [
    "user_code.definitions",
    "dagster",
    "dagster._core.storage.event_log",
    "dagster._core.storage.runs",
    "dagster._core.execution.api",
    "dagster._core.execution.plan.execute_plan",
    "sqlalchemy",
    "alembic",
    "dagster_postgres",
]

TagLimits = list[dict[str, Any]]
ExecutorBuilder = Callable[[int, TagLimits], dg.ExecutorDefinition]


def is_stack(env: Mapping[str, str] = os.environ) -> bool:
    return env.get("DAGSTER_DEPLOYMENT", "") == STACK


def _in_process(max_concurrent: int, tag_limits: TagLimits) -> dg.ExecutorDefinition:
    # One process runs every step in order, so tag limits hold trivially.
    return dg.in_process_executor


def _multiprocess(max_concurrent: int, tag_limits: TagLimits) -> dg.ExecutorDefinition:
    config: dict[str, Any] = {
        "max_concurrent": max_concurrent,
        "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD_MODULES}},
    }
    if tag_limits:
        config["tag_concurrency_limits"] = tag_limits
    return dg.multiprocess_executor.configured(config, name="multiprocess")


def _warm_pool(max_concurrent: int, tag_limits: TagLimits) -> dg.ExecutorDefinition:
    # Imported here so the in-process and multiprocess paths do not load the pool's modules.
    from user_code.executors import warm_pool_executor

    config: dict[str, Any] = {"max_concurrent": max_concurrent}
    if tag_limits:
        config["tag_concurrency_limits"] = tag_limits
    return warm_pool_executor.configured(config, name="warm_pool")


# The single place to register another executor; each builder takes the same
# (max_concurrent, tag_limits) arguments.
EXECUTOR_BUILDERS: dict[str, ExecutorBuilder] = {
    "in_process": _in_process,
    "multiprocess": _multiprocess,
    "warm_pool": _warm_pool,
}

# The stack runs the fastest correct executor measured (BENCHMARKS.md); local iteration stays
# in one process for debuggers and quick feedback.
STACK_DEFAULT_EXECUTOR = "warm_pool"


def executor_name(env: Mapping[str, str] = os.environ) -> str:
    default = STACK_DEFAULT_EXECUTOR if is_stack(env) else "in_process"
    name = env.get("FANOUT_EXECUTOR", "").strip() or default
    if name not in EXECUTOR_BUILDERS:
        raise ValueError(
            f"FANOUT_EXECUTOR={name!r} is not one of {sorted(EXECUTOR_BUILDERS)}"
        )
    return name


def build_executor(
    tag_limits: TagLimits | None = None, env: Mapping[str, str] = os.environ
) -> dg.ExecutorDefinition:
    """The executor this deployment runs jobs with; max_concurrent follows the CPU quota."""
    return EXECUTOR_BUILDERS[executor_name(env)](container_cpu_count(), tag_limits or [])


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    default = STACK_DATA_DIR if is_stack(env) else LOCAL_DATA_DIR
    return Path(env.get("FANOUT_DATA_DIR", "").strip() or default)


def automation_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Schedule and sensor start RUNNING only in the stack; FANOUT_SCHEDULE_ENABLED=false turns both off."""
    enabled = env.get("FANOUT_SCHEDULE_ENABLED", "true").strip().lower() != "false"
    return is_stack(env) and enabled
