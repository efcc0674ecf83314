"""Why a step process ended without reporting its result, as a sentence for the run's log."""

from __future__ import annotations

import signal
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class StepDeath:
    step_key: str
    pid: int
    exitcode: int  # as multiprocessing reports it: negative = killed by that signal
    oom_killed: bool
    memory_limit_bytes: int | None
    reached_step: bool  # the process got as far as starting the step


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_oom(
    step_key: str, pid: int | None, memory_limit_bytes: int | None, memory_hint: str = ""
) -> str:
    where = f"step process (pid {pid})" if pid else "step process"
    limit = (
        f"the container's memory limit of {memory_limit_bytes / MIB:.0f} MiB"
        if memory_limit_bytes
        else "the container's memory limit"
    )
    hint = f" {memory_hint}" if memory_hint else ""
    return (
        f"The {where} for {step_key} was killed by the kernel for exceeding {limit} "
        f"(out of memory, SIGKILL).{hint}"
    )


def describe_death(death: StepDeath, memory_hint: str = "") -> str:
    if death.oom_killed:
        return describe_oom(death.step_key, death.pid, death.memory_limit_bytes, memory_hint)
    where = f"step process (pid {death.pid}) for {death.step_key}"
    if death.exitcode < 0:
        cause = f"was killed by {_signal_name(-death.exitcode)}"
    else:
        cause = f"exited with code {death.exitcode}"
    stage = "" if death.reached_step else " before the step started"
    return f"The {where} {cause}{stage} without reporting a result."
