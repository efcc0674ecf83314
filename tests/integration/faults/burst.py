"""A burst of runs against the live stack: what is sampled while it drains, and where each
run's time went (from the run's own event timestamps)."""

import statistics
import threading
from dataclasses import dataclass, field

from tests.integration.stack import Stack

IN_FLIGHT = """
{ runsOrError(filter: {statuses: [STARTING, STARTED]}) { ... on Runs { count } } }
"""
EVENTS = """
query ($runId: ID!) { logsForRun(runId: $runId, limit: 5000) { ... on EventConnection {
  events { __typename ... on MessageEvent { message timestamp } } } } }
"""

# Event marks of a run, in order: queued, taken by the daemon, container created, run
# worker up, run finished.
PHASES = [
    ("queue wait", "enqueued", "starting"),
    ("launch (daemon: limits, create, start)", "starting", "container"),
    ("run worker start (container start, imports, instance)", "container", "started"),
    ("run (steps, warm pool)", "started", "finished"),
    ("total", "enqueued", "finished"),
]


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
        (e.get("message") or "").startswith("[LimitedDockerRunLauncher] Launching run")
        for e in events
    )
    started = sum(e["__typename"] == "RunStartEvent" for e in events)
    return launched, started


def run_marks(stack: Stack, run_id: str) -> dict[str, float]:
    marks: dict[str, float] = {}
    kinds = {
        "RunEnqueuedEvent": "enqueued",
        "RunStartingEvent": "starting",
        "RunStartEvent": "started",
        "RunSuccessEvent": "finished",
        "RunFailureEvent": "finished",
    }
    events = stack.graphql(EVENTS, {"runId": run_id})["logsForRun"]["events"]
    for event in events:
        at = float(event["timestamp"]) / 1000
        message = event.get("message") or ""
        name = kinds.get(event["__typename"])
        if name is None and message.startswith("[LimitedDockerRunLauncher] Launching run"):
            name = "container"
        if name is None and message.startswith("Run resource usage: CPU"):
            marks["cpu_s"] = float(message.split("CPU ")[1].split(" s")[0])
        if name and name not in marks:
            marks[name] = at
    return marks


def phase_table(all_marks: list[dict[str, float]]) -> str:
    lines = [f"{'phase':58s} {'median':>7s} {'max':>7s}"]
    for name, start, end in PHASES:
        spans = [m[end] - m[start] for m in all_marks if start in m and end in m]
        if spans:
            lines.append(f"{name:58s} {statistics.median(spans):6.2f}s {max(spans):6.2f}s")
    cpu = [m["cpu_s"] for m in all_marks if "cpu_s" in m]
    if cpu:
        lines.append(f"{'CPU of the run container (cgroup)':58s} {statistics.median(cpu):6.2f}s {max(cpu):6.2f}s")
    return "\n".join(lines)
