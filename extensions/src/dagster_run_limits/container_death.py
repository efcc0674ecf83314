"""Pure logic: a dead run container's Docker state -> the cause in words, and whether a
retry could help. No Dagster, no Docker client."""

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagster_run_limits.limits import MEMORY_TAG, format_memory

# Docker reports a process killed by signal N as exit code 128 + N.
_SIGNAL_EXIT_BASE = 128


@dataclass(frozen=True)
class ContainerDeath:
    """Why a run container stopped, as the run's failure message should say it."""

    cause: str  # "oom", "signal", "exit_code", "image_missing"
    message: str
    # False when the same run would fail the same way again (OOM, missing image): run
    # retries would only repeat it.
    retryable: bool


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_container_death(
    state: Mapping[str, Any], memory_limit: int | None, phase: str
) -> ContainerDeath:
    """`state` is the container's `State` from `docker inspect`; `phase` says when it died,
    e.g. "before the run started"."""
    code = int(state.get("ExitCode") or 0)
    if state.get("OOMKilled"):
        limit = f"its memory limit of {format_memory(memory_limit)}" if memory_limit else "its memory limit"
        return ContainerDeath(
            cause="oom",
            message=(
                f"Run container was OOM-killed {phase}: it needed more than {limit} "
                f"(exit code {code}). Raise the run's `{MEMORY_TAG}` tag (e.g. to "
                f'"{_suggest(memory_limit)}") and launch it again. Not retried: with the same '
                "limit it would be killed again."
            ),
            retryable=False,
        )
    if code > _SIGNAL_EXIT_BASE:
        name = _signal_name(code - _SIGNAL_EXIT_BASE)
        return ContainerDeath(
            cause="signal",
            message=(
                f"Run container was killed by {name} {phase} (exit code {code}), not by the "
                "memory limit: something outside the run stopped it (docker kill, the host)."
            ),
            retryable=True,
        )
    error = str(state.get("Error") or "").strip()
    detail = f": {error}" if error else ""
    return ContainerDeath(
        cause="exit_code",
        message=f"Run container exited with code {code} {phase}{detail}.",
        retryable=True,
    )


def describe_missing_image(image: str) -> ContainerDeath:
    return ContainerDeath(
        cause="image_missing",
        message=(
            f"Run container image {image} was not found on this Docker host, and the launcher "
            "does not pull images. It was removed after the run was submitted: redeploy its code "
            "location (`scripts/deploy.sh LOCATION`) and launch the run again. Not retried: the "
            "image is still missing."
        ),
        retryable=False,
    )


def _suggest(memory_limit: int | None) -> str:
    """Twice the limit, in whole MiB: a concrete value to try next."""
    if not memory_limit:
        return "2g"
    return f"{-(-2 * memory_limit // 1024**2)}m"
