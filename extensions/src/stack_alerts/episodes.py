"""Alert once per episode: a condition that stays true across many checks (a stuck queue, a
stale daemon) gives one alert when it starts, and arms again only once it has cleared."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EpisodeStep:
    # True while the condition holds and has been alerted on.
    active: bool
    # Send the alert now: the condition has just started.
    alert: bool = False
    # The condition has just cleared after an alert.
    recovered: bool = False


def next_episode(active: bool, condition: bool) -> EpisodeStep:
    if condition:
        return EpisodeStep(active=True, alert=not active)
    return EpisodeStep(active=False, recovered=active)
