"""Deployment-dependent settings read from the environment, so no code edit is needed per deployment.

Env vars:
  STACK_DEPLOYMENT     "stack" inside the Docker stack (its image sets it); anything else means
                       local/dev. Until this release DAGSTER_DEPLOYMENT: still read, with a
                       warning, for one more release.
  FANOUT_EXECUTOR      "in_process" | "multiprocess" | "warm_pool" (default: warm_pool in the
                       stack, in_process elsewhere). New executors are added in EXECUTOR_BUILDERS only.
  FANOUT_DATA_DIR      records files root (default /opt/dagster/data in the stack, ./.cache/data locally).
  FANOUT_SCHEDULE_ENABLED / FANOUT_SCHEDULE_CRON / FANOUT_SENSOR_INTERVAL_SECONDS: see schedules/sensors.
"""


import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_warm_pool import default_max_concurrent, multiprocess_executor, warm_pool_executor

STACK = "stack"
STACK_DATA_DIR = "/opt/dagster/data"
LOCAL_DATA_DIR = "./.cache/data"

# Imported once in the forkserver so each step process forks with them already loaded
# instead of paying the import cost per step. Missing modules are skipped by the forkserver.
FORKSERVER_PRELOAD_MODULES = [
    "fanout.definitions",
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
ExecutorBuilder = Callable[[TagLimits], dg.ExecutorDefinition]

# What a step killed for memory should tell the person who launched the run.
MEMORY_LIMIT_HINT = (
    "Give the run more memory with the `limits/memory` run tag, up to the stack's "
    "RUN_MAX_MEMORY, or make each unit hold less (unit_memory_mib)."
)


DEPLOYMENT_ENV = "STACK_DEPLOYMENT"
OLD_DEPLOYMENT_ENV = "DAGSTER_DEPLOYMENT"


def deployment(env: Mapping[str, str] = os.environ) -> str:
    """STACK_DEPLOYMENT; where it is unset, its old name (with a warning naming both)."""
    value = env.get(DEPLOYMENT_ENV, "")
    if not value.strip() and env.get(OLD_DEPLOYMENT_ENV, "").strip():
        warnings.warn(
            f"{OLD_DEPLOYMENT_ENV} is renamed {DEPLOYMENT_ENV}: set {DEPLOYMENT_ENV} instead "
            "(the old name is read until the next release)",
            FutureWarning,
            stacklevel=2,
        )
        return env[OLD_DEPLOYMENT_ENV]
    return value


def is_stack(env: Mapping[str, str] = os.environ) -> bool:
    return deployment(env) == STACK


def _in_process(tag_limits: TagLimits) -> dg.ExecutorDefinition:
    # One process runs every step in order, so tag limits hold trivially.
    return dg.in_process_executor


def _with_defaults(schema: Mapping[str, dg.Field], defaults: Mapping[str, Any]) -> dict[str, dg.Field]:
    """The executor's own config schema with this deployment's defaults, so every field can
    still be set per run (a plain `configured({...})` would fix them and ignore run config)."""
    fields = dict(schema)
    for key, value in defaults.items():
        field = fields[key]
        fields[key] = dg.Field(field.config_type, default_value=value, description=field.description)
    return fields


def _configured(
    executor: dg.ExecutorDefinition, name: str, defaults: dict[str, Any], tag_limits: TagLimits
) -> dg.ExecutorDefinition:
    schema = _with_defaults(executor.config_schema.as_field().config_type.fields, defaults)

    def with_job_limits(config: dict[str, Any]) -> dict[str, Any]:
        # A job's own tag limits apply unless the run sets some.
        if tag_limits and not config.get("tag_concurrency_limits"):
            return {**config, "tag_concurrency_limits": tag_limits}
        return config

    return executor.configured(with_job_limits, name=name, config_schema=schema)


def _multiprocess(tag_limits: TagLimits) -> dg.ExecutorDefinition:
    # Dagster's multiprocess executor (with the package's out-of-memory explanation), sized
    # like the warm pool: the run container's CPU quota and memory limit.
    defaults = {
        "max_concurrent": default_max_concurrent(),
        "start_method": {"forkserver": {"preload_modules": FORKSERVER_PRELOAD_MODULES}},
        "memory_limit_hint": MEMORY_LIMIT_HINT,
    }
    return _configured(multiprocess_executor, "multiprocess", defaults, tag_limits)


def _warm_pool(tag_limits: TagLimits) -> dg.ExecutorDefinition:
    # No max_concurrent: the executor sizes itself at run start from the run container's
    # CPU quota and memory limit.
    return _configured(warm_pool_executor, "warm_pool", {"memory_limit_hint": MEMORY_LIMIT_HINT}, tag_limits)


# The single place to register another executor; each builder takes the job's tag
# concurrency limits.
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
    """The executor this deployment runs jobs with."""
    return EXECUTOR_BUILDERS[executor_name(env)](tag_limits or [])


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    default = STACK_DATA_DIR if is_stack(env) else LOCAL_DATA_DIR
    return Path(env.get("FANOUT_DATA_DIR", "").strip() or default)


def automation_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Schedule and sensor start RUNNING only in the stack; FANOUT_SCHEDULE_ENABLED=false turns both off."""
    enabled = env.get("FANOUT_SCHEDULE_ENABLED", "true").strip().lower() != "false"
    return is_stack(env) and enabled
