"""The executor's run-config schema (`execution: config:`) and the options object built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from dagster_warm_pool._dagster import (
    get_retries_config,
    get_step_dependency_config_field,
    get_tag_concurrency_limits_config,
)
from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS
from dagster_warm_pool.supported_versions import (
    SUPPORTED_VERSIONS_ENV,
    default_supported_versions,
)

# Private memory a forked step process adds on top of the template it shares pages with: the
# stack's fan-out steps measured well below this, which leaves room for heavier steps
# (BENCHMARKS.md, "Figures behind code defaults").
DEFAULT_WORKER_MEMORY_MIB = 48
# The orchestrator polls the event log this often for the steps' events (StepDelegatingExecutor).
DEFAULT_POLL_INTERVAL_S = 0.1
DEFAULT_MAX_TEMPLATE_RESTARTS = 3
# Optimizations that rest on Dagster's private code, each of which can be turned off to measure
# what it earns (BENCHMARKS.md, "Optimizations on private Dagster code").
OPTIMIZATIONS = ("template_rows", "narrowed_plans")


@dataclass(frozen=True)
class WarmPoolOptions:
    """How the template and its step processes run: one object from run config to the template."""

    worker_memory_mib: int = DEFAULT_WORKER_MEMORY_MIB
    termination_grace_seconds: float = 30.0
    poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_S
    supported_dagster_versions: str = field(default_factory=default_supported_versions)
    preload_modules: tuple[str, ...] = ()
    max_template_restarts: int = DEFAULT_MAX_TEMPLATE_RESTARTS
    template_start_timeout_seconds: float = 60.0
    memory_limit_hint: str = ""
    steps_per_worker: int = 1
    max_worker_memory_mib: int = 0
    force_multiprocess: bool = False
    optimizations_off: frozenset[str] = frozenset()

    def uses(self, optimization: str) -> bool:
        if optimization not in OPTIMIZATIONS:
            raise ValueError(f"unknown optimization {optimization!r}")
        return optimization not in self.optimizations_off

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WarmPoolOptions:
        defaults = cls()
        # No schema default on purpose: the operator's environment variable applies only where
        # run config does not name the versions itself.
        versions = config.get("supported_dagster_versions")
        return cls(
            worker_memory_mib=int(config.get("worker_memory_mib", defaults.worker_memory_mib)),
            termination_grace_seconds=float(
                config.get("termination_grace_seconds", defaults.termination_grace_seconds)
            ),
            poll_interval_seconds=float(
                config.get("poll_interval_seconds", defaults.poll_interval_seconds)
            ),
            supported_dagster_versions=(
                defaults.supported_dagster_versions if versions is None else str(versions)
            ),
            preload_modules=tuple(config.get("preload_modules") or ()),
            max_template_restarts=int(
                config.get("max_template_restarts", defaults.max_template_restarts)
            ),
            template_start_timeout_seconds=float(
                config.get(
                    "template_start_timeout_seconds", defaults.template_start_timeout_seconds
                )
            ),
            memory_limit_hint=str(config.get("memory_limit_hint", defaults.memory_limit_hint)),
            steps_per_worker=max(1, int(config.get("steps_per_worker", defaults.steps_per_worker))),
            max_worker_memory_mib=int(
                config.get("max_worker_memory_mib", defaults.max_worker_memory_mib)
            ),
            force_multiprocess=bool(config.get("force_multiprocess", defaults.force_multiprocess)),
            optimizations_off=_known_optimizations(config.get("optimizations_off") or ()),
        )


def _known_optimizations(names: Any) -> frozenset[str]:
    unknown = sorted(set(names) - set(OPTIMIZATIONS))
    if unknown:
        raise ValueError(f"optimizations_off: unknown {unknown}; known: {list(OPTIMIZATIONS)}")
    return frozenset(names)


WARM_POOL_CONFIG: dict[str, Any] = {
    "max_concurrent": dg.Field(
        dg.Noneable(int),
        default_value=None,
        description=(
            "Steps running at once. Default: the smaller of the container's CPU quota and "
            "(memory limit - orchestrator memory) / worker_memory_mib."
        ),
    ),
    "tag_concurrency_limits": get_tag_concurrency_limits_config(),
    "retries": get_retries_config(),
    "step_dependency_config": get_step_dependency_config_field(),
    "worker_memory_mib": dg.Field(
        int,
        default_value=DEFAULT_WORKER_MEMORY_MIB,
        description="Memory one step process is expected to add, for the default max_concurrent.",
    ),
    "termination_grace_seconds": dg.Field(
        float,
        default_value=30.0,
        description="After termination, how long a step may take to stop before it is killed.",
    ),
    "poll_interval_seconds": dg.Field(
        float,
        default_value=DEFAULT_POLL_INTERVAL_S,
        description=(
            "Longest pause between the orchestrator's reads of the event log. A step process "
            "that ends wakes the orchestrator at once; this bounds how late anything else "
            "(a termination request, a retry delay, an event written by another process) is seen."
        ),
    ),
    "event_tailer_offset": dg.Field(
        int,
        is_required=False,
        description=(
            "Deprecated, ignored (removed in the next release): the orchestrator uses Dagster's "
            "own event tailer, with the run-scoped offset the event-log storage sets."
        ),
    ),
    "supported_dagster_versions": dg.Field(
        str,
        is_required=False,
        description=(
            "PEP 440 specifier of the Dagster versions to use the warm pool with; outside it the "
            "run uses Dagster's multiprocess executor and says so in its log. Default: "
            f"${SUPPORTED_VERSIONS_ENV} if set, else {TESTED_DAGSTER_VERSIONS!r} (the tested "
            "release)."
        ),
    ),
    "preload_modules": dg.Field(
        [str],
        is_required=False,
        description="Modules the template imports before any step is forked from it.",
    ),
    "max_template_restarts": dg.Field(
        int,
        default_value=DEFAULT_MAX_TEMPLATE_RESTARTS,
        description=(
            "Times the template process may die and be restarted (with back-off) before the "
            "run fails."
        ),
    ),
    "template_start_timeout_seconds": dg.Field(
        float,
        default_value=60.0,
        description="Longest wait for the template to be ready before falling back.",
    ),
    "steps_per_worker": dg.Field(
        int,
        default_value=1,
        description=(
            "1 (default): every step in a fresh process forked from the template, so no step "
            "sees what another changed. Above 1 (opt-in, faster on short steps): a step "
            "process runs up to this many steps in turn, sharing module globals, environment, "
            "working directory, threads and memory between them."
        ),
    ),
    "max_worker_memory_mib": dg.Field(
        int,
        default_value=0,
        description=(
            "With steps_per_worker above 1: a step process holding more than this much "
            "resident memory after a step is replaced (0: no limit)."
        ),
    ),
    "force_multiprocess": dg.Field(
        bool,
        default_value=False,
        description=(
            "Run this run on Dagster's multiprocess executor instead (same configuration): to "
            "compare the two, or to rule the warm pool out while investigating a problem."
        ),
    ),
    "optimizations_off": dg.Field(
        [str],
        is_required=False,
        description=(
            "For measuring only: optimizations to turn off, from "
            f"{list(OPTIMIZATIONS)} (each rests on Dagster's private code; turning one off "
            "takes Dagster's own path instead). Leave unset."
        ),
    ),
    "memory_limit_hint": dg.Field(
        str,
        default_value="",
        description="Appended to the message of a step killed for memory (e.g. which tag to raise).",
    ),
}
