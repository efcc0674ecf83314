"""The warm pool's run-config schema (`execution: config:`) and its defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster._core.execution.retries import get_retries_config
from dagster._core.execution.step_dependency_config import get_step_dependency_config_field
from dagster._core.execution.tags import get_tag_concurrency_limits_config

START_METHODS = ("fork", "forkserver", "spawn")
COMPUTE_LOG_MODES = ("instance", "no_mirror")
# no_mirror writes the same files the UI reads; see compute_logs.py for the trade.
DEFAULT_COMPUTE_LOGS = "no_mirror"
# Durable by default; see db_connections.relax_event_commits for what turning it off risks.
DEFAULT_SYNCHRONOUS_COMMIT = True
# One multi-row INSERT (+ NOTIFYs) per step instead of ~16 INSERT+NOTIFY pairs; see event_batching.py.
DEFAULT_EVENT_BATCHING = True
DEFAULT_EVENT_BATCH_MAX_DELAY_S = 0.5
DEFAULT_PLAN_CACHE = True
# fork: workers use the orchestrator's already-initialized DagsterInstance (see worker.py).
DEFAULT_INHERIT_INSTANCE = True
# The pool's start engine event is written once the first step runs, off the dispatch path.
DEFAULT_DEFER_START_EVENT = True

WARM_POOL_CONFIG: dict[str, Any] = {
    "max_concurrent": dg.Field(
        dg.Noneable(int),
        default_value=None,
        description=(
            "Number of warm worker processes (= steps running at once). Defaults to the "
            "container's CPU quota (cgroup v2/v1, else the affinity mask)."
        ),
    ),
    "tag_concurrency_limits": get_tag_concurrency_limits_config(),
    "retries": get_retries_config(),
    "start_method": dg.Field(
        dg.Enum("WarmPoolStartMethod", [dg.EnumValue(m) for m in START_METHODS]),
        default_value="fork",
        description=(
            "How the pool's workers are started (once per run). `fork` forks the run worker "
            "(everything already imported); `forkserver` preloads `preload_modules` plus "
            "Dagster/storage modules in a fork server."
        ),
    ),
    "preload_modules": dg.Field(
        [str],
        is_required=False,
        description="Modules to import before workers start (fork: in the run worker).",
    ),
    "termination_grace_seconds": dg.Field(
        float,
        default_value=30.0,
        description=(
            "After run termination, how long a step may ignore the interrupt before its "
            "worker is killed."
        ),
    ),
    "compute_logs": dg.Field(
        dg.Enum("WarmPoolComputeLogs", [dg.EnumValue(m) for m in COMPUTE_LOG_MODES]),
        default_value=DEFAULT_COMPUTE_LOGS,
        description=(
            "`no_mirror` (default): with a LocalComputeLogManager, capture each step's "
            "stdout/stderr to the same files (the UI shows the same logs) without the "
            "per-step `tail -F` + watcher subprocesses that mirror them live to the "
            "container's stdout; the output is copied there when the step ends. "
            "`instance`: the instance's compute log manager exactly as configured."
        ),
    ),
    "db_connection_pool": dg.Field(
        bool,
        default_value=True,
        description=(
            "Workers and the orchestrator keep one connection per storage open for the run "
            "instead of Dagster's default NullPool (a new Postgres connection per event "
            "write). Uses the storages' optimize_for_webserver(); no effect on sqlite."
        ),
    ),
    "synchronous_commit": dg.Field(
        bool,
        default_value=DEFAULT_SYNCHRONOUS_COMMIT,
        description=(
            "false: the workers' event-log connections run with Postgres "
            "`synchronous_commit = off` (no WAL flush wait per event). Events stay atomic "
            "and immediately visible; if the Postgres server itself crashes, events "
            "committed in its last ~0.6 s may be lost. Postgres with db_connection_pool only."
        ),
    ),
    "event_batching": dg.Field(
        bool,
        default_value=DEFAULT_EVENT_BATCHING,
        description=(
            "Workers write a step's plain events (step lifecycle, inputs/outputs, engine and "
            "log messages) in one multi-row INSERT + NOTIFY statement, at the latest when "
            "the step's terminal event is logged (before the orchestrator receives it). "
            "Asset / asset-check / run events and anything else Dagster indexes still go "
            "through the normal path, in order. Postgres with db_connection_pool only."
        ),
    ),
    "event_batch_max_delay_seconds": dg.Field(
        float,
        default_value=DEFAULT_EVENT_BATCH_MAX_DELAY_S,
        description=(
            "event_batching: longest time a buffered event waits before it is written "
            "(so a running step shows up in the UI). Up to this much of a step's events "
            "is lost if its worker is killed hard."
        ),
    ),
    "plan_cache": dg.Field(
        bool,
        default_value=DEFAULT_PLAN_CACHE,
        description=(
            "Workers build the run's full execution plan once per set of resolved dynamic "
            "mappings and cut each step's one-step plan from it, instead of rebuilding "
            "(and re-resolving every dynamic step) per step."
        ),
    ),
    "inherit_instance": dg.Field(
        bool,
        default_value=DEFAULT_INHERIT_INSTANCE,
        description=(
            "start_method fork only: a worker uses the DagsterInstance it inherited from the "
            "run worker (storages already set up; pooled connections are reopened in the "
            "worker) instead of building a new one from the instance ref, which costs a "
            "round of storage setup queries per worker before the first step can start."
        ),
    ),
    "defer_start_event": dg.Field(
        bool,
        default_value=DEFAULT_DEFER_START_EVENT,
        description=(
            "Write the pool's 'Warm pool: started' engine event (worker pids, init times) "
            "once the first step reports from its worker, instead of before the first step "
            "is dispatched."
        ),
    ),
    "step_dependency_config": get_step_dependency_config_field(),
}


@dataclass(frozen=True)
class WarmPoolOptions:
    """How the pool and its workers run: one object from run config to every worker."""

    start_method: str = "fork"
    preload_modules: tuple[str, ...] = ()
    termination_grace_seconds: float = 30.0
    compute_logs: str = DEFAULT_COMPUTE_LOGS
    db_connection_pool: bool = True
    synchronous_commit: bool = DEFAULT_SYNCHRONOUS_COMMIT
    event_batching: bool = DEFAULT_EVENT_BATCHING
    event_batch_max_delay_s: float = DEFAULT_EVENT_BATCH_MAX_DELAY_S
    plan_cache: bool = DEFAULT_PLAN_CACHE
    inherit_instance: bool = DEFAULT_INHERIT_INSTANCE
    defer_start_event: bool = DEFAULT_DEFER_START_EVENT

    def __post_init__(self) -> None:
        if self.start_method not in START_METHODS:
            raise ValueError(f"bad start_method {self.start_method!r}, one of {START_METHODS}")
        if self.compute_logs not in COMPUTE_LOG_MODES:
            raise ValueError(f"bad compute_logs {self.compute_logs!r}, one of {COMPUTE_LOG_MODES}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WarmPoolOptions:
        """From the executor's processed run config (WARM_POOL_CONFIG)."""
        defaults = cls()
        return cls(
            start_method=config.get("start_method", defaults.start_method),
            preload_modules=tuple(config.get("preload_modules") or ()),
            termination_grace_seconds=float(
                config.get("termination_grace_seconds", defaults.termination_grace_seconds)
            ),
            compute_logs=config.get("compute_logs", defaults.compute_logs),
            db_connection_pool=bool(config.get("db_connection_pool", defaults.db_connection_pool)),
            synchronous_commit=bool(config.get("synchronous_commit", defaults.synchronous_commit)),
            event_batching=bool(config.get("event_batching", defaults.event_batching)),
            event_batch_max_delay_s=float(
                config.get("event_batch_max_delay_seconds", defaults.event_batch_max_delay_s)
            ),
            plan_cache=bool(config.get("plan_cache", defaults.plan_cache)),
            inherit_instance=bool(config.get("inherit_instance", defaults.inherit_instance)),
            defer_start_event=bool(config.get("defer_start_event", defaults.defer_start_event)),
        )
