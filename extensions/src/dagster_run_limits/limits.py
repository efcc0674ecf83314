"""Pure logic: run tags -> validated, clamped container limits. No Dagster, no Docker."""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CPUS_TAG = "limits/cpus"
MEMORY_TAG = "limits/memory"

OverMax = Literal["clamp", "reject"]

# Docker refuses containers with less memory than this.
MIN_MEMORY_BYTES = 6 * 1024 * 1024

_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:ib|i|b)?\s*$", re.IGNORECASE)


class RunLimitsError(ValueError):
    """A limit tag or policy value that cannot be applied; the message names the tag and value."""


def parse_cpus(text: str, *, source: str = CPUS_TAG) -> float:
    """'1.5' -> 1.5. Refuses anything that is not a positive, finite number of CPUs."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise RunLimitsError(
            f'{source}: "{text}" is not a number of CPUs (examples: "0.5", "1", "1.5")'
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise RunLimitsError(f'{source}: "{text}" must be a positive number of CPUs')
    return value


def parse_memory(text: str, *, source: str = MEMORY_TAG) -> int:
    """'768m' -> bytes. Units k/m/g/t are powers of 1024, as in `docker run --memory`;
    'Mi', 'MB', 'mib' spell the same unit."""
    match = _MEMORY_RE.match(str(text))
    if not match:
        raise RunLimitsError(
            f'{source}: "{text}" is not a memory size (examples: "512m", "1.5g", "2Gi")'
        )
    number, unit = match.groups()
    value = int(float(number) * _MEMORY_UNITS[unit.lower()])
    if value < MIN_MEMORY_BYTES:
        raise RunLimitsError(f'{source}: "{text}" is below Docker\'s minimum of 6 MiB')
    return value


def format_memory(num_bytes: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if num_bytes >= size:
            return f"{num_bytes / size:g} {unit}"
    return f"{num_bytes} B"


def floor_tag_value(num_bytes: int) -> str:
    """The smallest whole-MiB tag value at or above num_bytes, e.g. "160m"."""
    return f"{-(-num_bytes // 1024**2)}m"


@dataclass(frozen=True)
class LimitPolicy:
    """The operator's settings: what a run gets without tags, and the most it may ask for."""

    default_cpus: float
    default_memory: int
    max_cpus: float | None = None
    max_memory: int | None = None
    pids_limit: int | None = None
    over_max: OverMax = "clamp"
    # What a run worker needs to start and finish a trivial run (measured, see docs/operations.md):
    # a run tagged with less would be OOM-killed before doing anything.
    min_memory: int | None = None

    def __post_init__(self) -> None:
        if self.over_max not in ("clamp", "reject"):
            raise RunLimitsError(f'over_max: "{self.over_max}" must be "clamp" or "reject"')
        if self.max_cpus is not None and self.default_cpus > self.max_cpus:
            raise RunLimitsError(
                f"default_cpus {self.default_cpus:g} is above max_cpus {self.max_cpus:g}"
            )
        if self.max_memory is not None and self.default_memory > self.max_memory:
            raise RunLimitsError(
                f"default_memory {format_memory(self.default_memory)} is above max_memory "
                f"{format_memory(self.max_memory)}"
            )
        if self.min_memory is not None:
            for name, value in (("default_memory", self.default_memory), ("max_memory", self.max_memory)):
                if value is not None and value < self.min_memory:
                    raise RunLimitsError(
                        f"{name} {format_memory(value)} is below min_memory "
                        f"{format_memory(self.min_memory)}, the least a run worker needs"
                    )
        if self.pids_limit is not None and self.pids_limit < 1:
            raise RunLimitsError(f"pids_limit {self.pids_limit} must be at least 1")

    @classmethod
    def from_config(cls, limits: Mapping[str, Any] | None) -> "LimitPolicy":
        """From a run launcher's `limits` config (LIMITS_SCHEMA), defaults filled in."""
        limits = dict(limits or {})
        return cls.from_strings(
            default_cpus=limits.get("default_cpus", "1"),
            default_memory=limits.get("default_memory", "1g"),
            max_cpus=limits.get("max_cpus"),
            max_memory=limits.get("max_memory"),
            pids_limit=limits.get("pids_limit"),
            over_max=limits.get("over_max", "clamp"),
            min_memory=limits.get("min_memory"),
        )

    @classmethod
    def from_strings(
        cls,
        *,
        default_cpus: str,
        default_memory: str,
        max_cpus: str | None = None,
        max_memory: str | None = None,
        pids_limit: int | None = None,
        over_max: str = "clamp",
        min_memory: str | None = None,
    ) -> "LimitPolicy":
        """Build from config values; an empty string means "no maximum"."""
        return cls(
            default_cpus=parse_cpus(default_cpus, source="default_cpus"),
            default_memory=parse_memory(default_memory, source="default_memory"),
            max_cpus=parse_cpus(max_cpus, source="max_cpus") if max_cpus else None,
            max_memory=parse_memory(max_memory, source="max_memory") if max_memory else None,
            pids_limit=pids_limit or None,
            over_max=over_max.strip().lower(),  # type: ignore[arg-type]
            min_memory=parse_memory(min_memory, source="min_memory") if min_memory else None,
        )


@dataclass(frozen=True)
class RunLimits:
    cpus: float
    memory: int
    pids_limit: int | None
    notes: tuple[str, ...] = field(default=())

    def container_kwargs(self) -> dict[str, int]:
        """docker-py `containers.create` keys. Swap is capped at the memory limit, so a run
        over its limit is OOM-killed instead of swapping the host."""
        kwargs = {
            "nano_cpus": round(self.cpus * 1_000_000_000),
            "mem_limit": self.memory,
            "memswap_limit": self.memory,
        }
        if self.pids_limit:
            kwargs["pids_limit"] = self.pids_limit
        return kwargs

    def describe(self) -> str:
        text = f"cpus={self.cpus:g}, memory={format_memory(self.memory)}"
        if self.pids_limit:
            text += f", pids={self.pids_limit}"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def _resolve_one(
    tags: Mapping[str, str],
    tag: str,
    parse: Callable[[str], float],
    default: float,
    maximum: float | None,
    show: Callable[[float], str],
    over_max: OverMax,
) -> tuple[float, str | None]:
    """One limit: the tag's value (or the default), checked against the maximum."""
    if tag not in tags:
        return default, None
    raw = tags[tag]
    requested = parse(raw)
    if maximum is None or requested <= maximum:
        return requested, None
    if over_max == "reject":
        raise RunLimitsError(f'{tag}: "{raw}" is above the operator maximum of {show(maximum)}')
    return maximum, f"{tag} {raw} clamped to {show(maximum)}"


def resolve_run_limits(tags: Mapping[str, str], policy: LimitPolicy) -> RunLimits:
    """Limits for one run: tag values if present, else the policy's defaults, then the
    operator maximums applied (clamped or rejected as the policy says)."""
    cpus, cpus_note = _resolve_one(
        tags, CPUS_TAG, parse_cpus, policy.default_cpus, policy.max_cpus,
        lambda value: f"{value:g}", policy.over_max,
    )  # fmt: skip
    memory, memory_note = _resolve_one(
        tags, MEMORY_TAG, parse_memory, policy.default_memory, policy.max_memory,
        lambda value: format_memory(int(value)), policy.over_max,
    )  # fmt: skip
    if MEMORY_TAG in tags and policy.min_memory is not None and memory < policy.min_memory:
        floor = format_memory(policy.min_memory)
        raise RunLimitsError(
            f'{MEMORY_TAG}: "{tags[MEMORY_TAG]}" is below the {floor} a run worker needs to '
            f'start; ask for at least "{floor_tag_value(policy.min_memory)}"'
        )
    notes = tuple(note for note in (cpus_note, memory_note) if note)
    return RunLimits(cpus=cpus, memory=int(memory), pids_limit=policy.pids_limit, notes=notes)
