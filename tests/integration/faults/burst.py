"""A burst of runs against the live stack: what is sampled while it drains, and where each
run's time went (from the run's own event timestamps)."""

import threading
from dataclasses import dataclass, field

from bench.burst import LAUNCHER_MESSAGE, marks_from_events
from tests.integration.stack import Stack

IN_FLIGHT = """
{ runsOrError(filter: {statuses: [STARTING, STARTED]}) { ... on Runs { count } } }
"""
EVENTS = """
query ($runId: ID!) { logsForRun(runId: $runId, limit: 5000) { ... on EventConnection {
  events { __typename ... on MessageEvent { message timestamp } } } } }
"""


@dataclass
class Samples:
    in_flight: list[int] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)


class Sampler:
    """Samples runs STARTING/STARTED (what max_concurrent_runs limits) every 0.5 s and
    Postgres connections every second, on two threads, until stopped."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.samples = Samples()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(self._in_flight, 0.5), daemon=True),
            threading.Thread(target=self._loop, args=(self._connections, 1.0), daemon=True),
        ]

    def _in_flight(self) -> None:
        count = self.stack.graphql(IN_FLIGHT)["runsOrError"]["count"]
        self.samples.in_flight.append(count)

    def _connections(self) -> None:
        self.samples.connections.append(int(self.stack.psql("select count(*) from pg_stat_activity")))

    def _loop(self, sample, interval: float) -> None:
        while not self._stop.is_set():
            try:
                sample()
            except Exception:
                pass  # a missed sample is not a finding; the next one is taken as usual
            self._stop.wait(interval)

    def __enter__(self) -> "Sampler":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def times_launched(stack: Stack, run_id: str) -> tuple[int, int]:
    """(containers launched for the run, times its run worker started): (1, 1) is exactly
    once. Read from the run's events, which outlive the containers the launcher removes."""
    events = stack.graphql(EVENTS, {"runId": run_id})["logsForRun"]["events"]
    launched = sum(
        (e.get("message") or "").startswith(LAUNCHER_MESSAGE)
        for e in events
    )
    started = sum(e["__typename"] == "RunStartEvent" for e in events)
    return launched, started


def run_marks(stack: Stack, run_id: str) -> dict[str, float]:
    events = stack.graphql(EVENTS, {"runId": run_id})["logsForRun"]["events"]
    return marks_from_events(events)

