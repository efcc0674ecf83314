"""A burst of runs against the live stack: what is sampled while it drains, and where each
run's time went (from the run's own event timestamps)."""

import subprocess
import threading
from dataclasses import dataclass, field

from bench.burst import LAUNCHER_MESSAGE, marks_from_events
from tests.integration.stack import REPO_ROOT, Stack

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
        self._psql: subprocess.Popen[str] | None = None
        self._threads = [
            threading.Thread(target=self._loop, args=(self._in_flight, 0.5), daemon=True),
            threading.Thread(target=self._loop, args=(self._connections, 1.0), daemon=True),
        ]

    def _in_flight(self) -> None:
        count = self.stack.graphql(IN_FLIGHT)["runsOrError"]["count"]
        self.samples.in_flight.append(count)

    def _connections(self) -> None:
        # One exec for all samples: a shell in the Postgres container runs psql for each line
        # it reads. A compose command and an exec per sample were a load of their own on the
        # burst being measured.
        if self._psql is None:
            command = [
                "docker", "compose", "--project-name", self.stack.name, "exec", "-T", "postgres",
                "sh", "-c",
                'while read -r q; do psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$q"; done',
            ]  # fmt: skip
            self._psql = subprocess.Popen(
                command, cwd=REPO_ROOT, env=self.stack.env, text=True, bufsize=1,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        assert self._psql.stdin is not None and self._psql.stdout is not None
        self._psql.stdin.write("select count(*) from pg_stat_activity\n")
        self._psql.stdin.flush()
        self.samples.connections.append(int(self._psql.stdout.readline()))

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
        if self._psql is not None:
            self._psql.kill()
            self._psql.wait(timeout=10)


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

