"""`python -m bench.burst`: a burst of trivial runs on a running stack, and where the time went.

    python -m bench.burst --url https://127.0.0.1:3000 --runs 50
    python -m bench.burst --url http://127.0.0.1:3101 --runs 50 --stop-automation --json out.json

Submits `--runs` runs of `chunked_work_job` with the trivial run config (one chunk of 0 s:
three steps) through GraphQL `launchRun` from `--threads` threads, then polls every
`--poll-seconds` with one query for all of their statuses (light: no per-run polling, no
other samplers), and prints:

- submission: wall time of all the launchRun calls, and their median latency;
- first enqueued -> last finished (from the runs' own event timestamps) and runs/min;
- the median and max of each phase of a run, from its events: queue wait (enqueued ->
  starting), launch (starting -> the launcher's "Launching run" event), run worker start
  (-> RunStartEvent), run (-> success/failure), total;
- the run container's CPU seconds (median), where the executor reports it (the warm pool's
  "Run resource usage: CPU ..." engine event);
- host CPU seconds per run, from /proc/stat over the burst (submission to last finish), when
  this process runs on the stack's host; with `--project`, also per service container of
  that compose project, from its cgroup.

Only plain HTTP and JSON: it works against any tree of this project whose stack serves
`chunked_work_job` (the job and run config are the same since before commit 970b550), and
needs no Dagster installed. The pure helpers (marks from events, phase statistics) are used
by the load test too (tests/integration/faults/burst.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.stack_login import StackLogin, requests_kwargs, stack_login

JOB = "chunked_work_job"
# One chunk of 0 s: plan -> one chunk -> summarize, three steps doing nothing.
TRIVIAL_CONFIG: dict[str, Any] = {
    "ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 0.0}}}
}
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
LAUNCHER_MESSAGE = "[LimitedDockerRunLauncher] Launching run"
USAGE_MESSAGE = "Run resource usage: CPU "

# Event marks of a run, in order: queued, taken by the daemon, container created, run
# worker up, run finished.
PHASES: list[tuple[str, str, str]] = [
    ("queue wait", "enqueued", "starting"),
    ("launch (daemon: limits, create, start)", "starting", "container"),
    ("run worker start (container start, imports, instance)", "container", "started"),
    ("run (steps, warm pool)", "started", "finished"),
    ("total", "enqueued", "finished"),
]
_KINDS = {
    "RunEnqueuedEvent": "enqueued",
    "RunStartingEvent": "starting",
    "RunStartEvent": "started",
    "RunSuccessEvent": "finished",
    "RunFailureEvent": "finished",
    "RunCanceledEvent": "finished",
}

Execute = Callable[[str, Mapping[str, Any]], dict[str, Any]]

# --- pure helpers -----------------------------------------------------------------------


def marks_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Epoch seconds of each mark of one run (first occurrence), plus `cpu_s`: the run
    container's CPU seconds if its executor reported them. Events as GraphQL returns them
    (`__typename`, `message`, `timestamp` in epoch milliseconds as a string)."""
    marks: dict[str, float] = {}
    for event in events:
        message = event.get("message") or ""
        name = _KINDS.get(event.get("__typename") or "")
        if name is None and message.startswith(LAUNCHER_MESSAGE):
            name = "container"
        if name is None and message.startswith(USAGE_MESSAGE):
            marks["cpu_s"] = float(message[len(USAGE_MESSAGE) :].split(" s")[0])
        if name and name not in marks and event.get("timestamp") is not None:
            marks[name] = float(event["timestamp"]) / 1000
    return marks


@dataclass
class PhaseStat:
    name: str
    median_s: float
    max_s: float
    count: int


def phase_stats(all_marks: Sequence[Mapping[str, float]]) -> list[PhaseStat]:
    """Median and max of each phase over the runs that have both of its marks, then the run
    container's CPU seconds if any run reported them."""
    stats = []
    for name, start, end in PHASES:
        spans = [m[end] - m[start] for m in all_marks if start in m and end in m]
        if spans:
            stats.append(PhaseStat(name, statistics.median(spans), max(spans), len(spans)))
    cpu = [m["cpu_s"] for m in all_marks if "cpu_s" in m]
    if cpu:
        stats.append(PhaseStat("CPU of the run container (cgroup)", statistics.median(cpu), max(cpu), len(cpu)))
    return stats


def phase_table(all_marks: Sequence[Mapping[str, float]]) -> str:
    return phase_table_of(phase_stats(all_marks))


def phase_table_of(stats: Sequence[PhaseStat]) -> str:
    lines = [f"{'phase':58s} {'median':>7s} {'max':>7s}"]
    lines += [f"{s.name:58s} {s.median_s:6.2f}s {s.max_s:6.2f}s" for s in stats]
    return "\n".join(lines)


def throughput(all_marks: Sequence[Mapping[str, float]]) -> tuple[float, float]:
    """(seconds from the first enqueued to the last finished, runs per minute over them)."""
    first = min(m["enqueued"] for m in all_marks)
    last = max(m["finished"] for m in all_marks)
    span = last - first
    return span, (len(all_marks) / span * 60 if span > 0 else float("inf"))


def find_job(repositories: Iterable[Mapping[str, Any]], job: str) -> tuple[str, str]:
    """(location, repository) of the one repository that has `job`."""
    found = [
        (repo["location"]["name"], repo["name"])
        for repo in repositories
        if any(p["name"] == job for p in repo.get("pipelines") or [])
    ]
    if len(found) != 1:
        raise SystemExit(f"{job}: expected in exactly one repository, found in {found or 'none'}")
    return found[0]


def cpu_seconds_of_proc_stat(text: str) -> float:
    """Busy CPU seconds of the host (every state but idle and iowait) from /proc/stat."""
    fields = [float(v) for v in text.splitlines()[0].split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0.0)
    # Guest time is already counted in user/nice.
    if len(fields) > 8:
        busy -= sum(fields[8:10])
    return busy / os.sysconf("SC_CLK_TCK")


def cgroup_usage_seconds(cpu_stat: str) -> float:
    """usage_usec of a cgroup v2 cpu.stat, in seconds."""
    for line in cpu_stat.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    raise ValueError("cpu.stat without usage_usec")


# --- GraphQL ----------------------------------------------------------------------------

REPOSITORIES = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name }
    pipelines { name }
    schedules { name scheduleState { id status } }
    sensors { name sensorState { id status } } } } ... on PythonError { message } } }
"""
LAUNCH = """
mutation ($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename
  ... on LaunchRunSuccess { run { runId } }
  ... on PythonError { message }
  ... on RunConfigValidationInvalid { errors { message } }
  ... on InvalidSubsetError { message }
  ... on PipelineNotFoundError { message }
  ... on RunConflict { message }
  ... on UnauthorizedError { message }
  ... on PresetNotFoundError { message }
  ... on ConflictingExecutionParamsError { message }
  ... on NoModeProvidedError { message }
} }
"""
STATUSES = """
query ($ids: [String!]) { runsOrError(filter: {runIds: $ids}) {
  __typename ... on Runs { results { runId status } } ... on PythonError { message } } }
"""
EVENTS = """
query ($runId: ID!, $cursor: String) { logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
  __typename
  ... on EventConnection { cursor hasMore events { __typename
    ... on MessageEvent { message timestamp } } }
  ... on PythonError { message } ... on RunNotFoundError { message } } }
"""
STOP_SCHEDULE = "mutation ($id: String) { stopRunningSchedule(id: $id) { __typename } }"
STOP_SENSOR = "mutation ($id: String) { stopSensor(id: $id) { __typename } }"


def graphql_client(url: str, timeout: float = 120.0, login: StackLogin | None = None) -> Execute:
    """GraphQL through the stack's front door with `login` (default: the admin login and CA
    that `python -m stackctl up` leaves in the secrets folder)."""
    endpoint = url.rstrip("/") + "/graphql"
    session = requests.Session()
    extra = requests_kwargs(login or stack_login())

    def execute(query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        response = session.post(
            endpoint, json={"query": query, "variables": dict(variables)}, timeout=timeout, **extra
        )
        response.raise_for_status()
        payload = response.json()
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {json.dumps(payload['errors'])[:2000]}")
        return payload["data"]

    return execute


def repositories(execute: Execute) -> list[dict[str, Any]]:
    data = execute(REPOSITORIES, {})["repositoriesOrError"]
    if data["__typename"] != "RepositoryConnection":
        raise SystemExit(f"repositories: {data['__typename']}: {data.get('message')}")
    return data["nodes"]


def stop_automation(execute: Execute) -> list[str]:
    """Stops every running schedule and sensor (as the UI's toggle does); returns their names."""
    stopped = []
    for repo in repositories(execute):
        for schedule in repo["schedules"]:
            if schedule["scheduleState"]["status"] == "RUNNING":
                execute(STOP_SCHEDULE, {"id": schedule["scheduleState"]["id"]})
                stopped.append(schedule["name"])
        for sensor in repo["sensors"]:
            if sensor["sensorState"]["status"] == "RUNNING":
                execute(STOP_SENSOR, {"id": sensor["sensorState"]["id"]})
                stopped.append(sensor["name"])
    return stopped


def launch(execute: Execute, location: str, repository: str, tags: Mapping[str, str]) -> str:
    params = {
        "selector": {
            "repositoryLocationName": location,
            "repositoryName": repository,
            "jobName": JOB,
        },
        "runConfigData": TRIVIAL_CONFIG,
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    result = execute(LAUNCH, {"params": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {result['__typename']}: {json.dumps(result)[:1000]}")
    return result["run"]["runId"]


def run_events(execute: Execute, run_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = execute(EVENTS, {"runId": run_id, "cursor": cursor})["logsForRun"]
        if page["__typename"] != "EventConnection":
            raise RuntimeError(f"events of {run_id}: {page['__typename']}: {page.get('message')}")
        events.extend(page["events"])
        if not page["hasMore"]:
            return events
        cursor = page["cursor"]


def wait_all(execute: Execute, run_ids: Sequence[str], poll_s: float, timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        data = execute(STATUSES, {"ids": list(run_ids)})["runsOrError"]
        statuses = {r["runId"]: r["status"] for r in data["results"]}
        if len(statuses) == len(run_ids) and all(s in FINISHED for s in statuses.values()):
            return statuses
        if time.monotonic() > deadline:
            pending = sum(s not in FINISHED for s in statuses.values())
            raise SystemExit(f"{pending} runs not finished after {timeout_s:.0f} s")
        time.sleep(poll_s)


# --- host CPU -----------------------------------------------------------------------------


def _host_cpu() -> float | None:
    try:
        return cpu_seconds_of_proc_stat(Path("/proc/stat").read_text())
    except OSError:
        return None


def _project_containers(project: str) -> dict[str, str]:
    """Name (without the `project-` prefix) -> full container id of the project's running
    service containers: its compose services and the code servers the deployer names
    `<project>-code-<location>-<version>` (run containers have Docker's random names)."""
    out = subprocess.run(
        ["docker", "ps", "--no-trunc", "--filter", f"name=^{project}-", "--format", "{{.ID}} {{.Names}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    pairs = (line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    return {name.removeprefix(f"{project}-"): cid for cid, name in pairs}


def _container_cpu(container_id: str) -> float | None:
    """CPU seconds of a container so far: cgroup v2 (systemd or cgroupfs driver), else v1."""
    for path in (
        f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat",
        f"/sys/fs/cgroup/docker/{container_id}/cpu.stat",
    ):
        try:
            return cgroup_usage_seconds(Path(path).read_text())
        except (OSError, ValueError):
            continue
    try:
        return int(Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage").read_text()) / 1e9
    except (OSError, ValueError):
        return None


def _services_cpu(project: str | None) -> dict[str, float]:
    if not project:
        return {}
    found = {}
    for service, cid in _project_containers(project).items():
        cpu = _container_cpu(cid)
        if cpu is not None:
            found[service] = cpu
    return found


RUN_STACK_LABEL = "dagster-fanout/stack"
CGROUP_V1_CPUACCT = Path("/sys/fs/cgroup/cpuacct/docker")


class RunContainerCpu:
    """CPU seconds of the stack's run containers over the burst: every `interval` s, the
    containers' cgroups on this host are listed, each one started since the burst began is
    asked once for its stack label, and the last reading of each of ours is kept (a
    container's final fraction of a second after the last reading is missed). cgroup v1
    (cgroupfs driver) only; `total` is None elsewhere."""

    def __init__(self, stack: str, interval: float = 0.5) -> None:
        self.stack = stack
        self.interval = interval
        self.readings: dict[str, float] = {}
        self._ours: dict[str, bool] = {}
        self._before: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _is_ours(self, container_id: str) -> bool:
        if container_id not in self._ours:
            out = subprocess.run(
                ["docker", "inspect", "--format", f'{{{{index .Config.Labels "{RUN_STACK_LABEL}"}}}}', container_id],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            self._ours[container_id] = out.stdout.strip() == self.stack
        return self._ours[container_id]

    def _sample(self) -> None:
        for entry in CGROUP_V1_CPUACCT.iterdir():
            if not entry.is_dir() or entry.name in self._before or not self._is_ours(entry.name):
                continue
            try:
                self.readings[entry.name] = int((entry / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except OSError:
                pass
            self._stop.wait(self.interval)

    @property
    def total(self) -> float | None:
        return sum(self.readings.values()) if CGROUP_V1_CPUACCT.is_dir() else None

    def __enter__(self) -> "RunContainerCpu":
        if CGROUP_V1_CPUACCT.is_dir():
            # Containers already running (services, code servers) are not the burst's runs.
            self._before = {entry.name for entry in CGROUP_V1_CPUACCT.iterdir()}
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)


# --- the burst ----------------------------------------------------------------------------


@dataclass
class BurstResult:
    url: str
    runs: int
    statuses: dict[str, int]
    loadavg_before: str
    submit_s: float
    launch_latency_median_s: float
    launch_latency_max_s: float
    span_s: float
    runs_per_min: float
    phases: list[PhaseStat]
    host_cpu_s_per_run: float | None = None
    run_containers_cpu_s_per_run: float | None = None
    service_cpu_s_per_run: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)


def run_burst(
    url: str,
    runs: int,
    threads: int = 4,
    poll_s: float = 2.0,
    timeout_s: float = 1800.0,
    tags: Mapping[str, str] | None = None,
    project: str | None = None,
    automation_off: bool = False,
    stack: str | None = None,
) -> BurstResult:
    execute = graphql_client(url)
    if automation_off:
        stopped = stop_automation(execute)
        if stopped:
            print(f"stopped: {', '.join(stopped)}", file=sys.stderr)
    location, repository = find_job(repositories(execute), JOB)
    loadavg = Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else ""
    all_tags = {"bench/burst": str(int(time.time())), **(tags or {})}

    def timed_launch(_: int) -> tuple[str, float]:
        started = time.monotonic()
        run_id = launch(execute, location, repository, all_tags)
        return run_id, time.monotonic() - started

    host_before, services_before = _host_cpu(), _services_cpu(project)
    with RunContainerCpu(stack or project or "", interval=0.5) as run_cpu:
        submit_started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            launched = list(pool.map(timed_launch, range(runs)))
        submit_s = time.monotonic() - submit_started
        run_ids = [run_id for run_id, _ in launched]
        statuses = wait_all(execute, run_ids, poll_s, timeout_s)
    host_after, services_after = _host_cpu(), _services_cpu(project)

    all_marks = [marks_from_events(run_events(execute, run_id)) for run_id in run_ids]
    span_s, per_min = throughput(all_marks)
    latencies = [latency for _, latency in launched]
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return BurstResult(
        url=url,
        runs=runs,
        statuses=counts,
        loadavg_before=loadavg,
        submit_s=submit_s,
        launch_latency_median_s=statistics.median(latencies),
        launch_latency_max_s=max(latencies),
        span_s=span_s,
        runs_per_min=per_min,
        phases=phase_stats(all_marks),
        host_cpu_s_per_run=(
            (host_after - host_before) / runs
            if host_before is not None and host_after is not None
            else None
        ),
        service_cpu_s_per_run={
            service: (services_after[service] - before) / runs
            for service, before in services_before.items()
            if service in services_after
        },
        run_containers_cpu_s_per_run=(
            run_cpu.total / runs if project and run_cpu.total is not None else None
        ),
        run_ids=run_ids,
    )


def report(result: BurstResult) -> str:
    lines = [
        f"burst of {result.runs} trivial runs on {result.url} (load before: {result.loadavg_before})",
        f"statuses: {result.statuses}",
        f"submission: {result.submit_s:.1f} s for {result.runs} launchRun calls "
        f"(latency median {result.launch_latency_median_s:.2f} s, max {result.launch_latency_max_s:.2f} s)",
        f"first enqueued -> last finished: {result.span_s:.1f} s = {result.runs_per_min:.1f} runs/min",
    ]
    if result.host_cpu_s_per_run is not None:
        lines.append(f"host CPU (submission to last finish): {result.host_cpu_s_per_run:.2f} s per run")
    if result.run_containers_cpu_s_per_run is not None:
        lines.append(f"run containers CPU (sampled cgroups): {result.run_containers_cpu_s_per_run:.2f} s per run")
    if result.service_cpu_s_per_run:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.service_cpu_s_per_run.items()))
        lines.append(f"service containers CPU s per run: {parts}")
    lines.append(phase_table_of(result.phases))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="https://127.0.0.1:3000", help="the stack's front door")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=4, help="concurrent launchRun calls")
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--stop-automation", action="store_true",
        help="stop every running schedule and sensor first (they stay stopped)",
    )  # fmt: skip
    parser.add_argument(
        "--project", help="compose project: also report its service containers' CPU per run"
    )
    parser.add_argument("--json", type=Path, help="append the result as one JSON line here")
    args = parser.parse_args(argv)
    tags = dict(item.split("=", 1) for item in args.tag)
    result = run_burst(
        args.url, args.runs, args.threads, args.poll_seconds, args.timeout, tags,
        args.project, args.stop_automation, args.project,
    )  # fmt: skip
    print(report(result))
    if args.json:
        with args.json.open("a") as out:
            out.write(json.dumps(asdict(result)) + "\n")
    return 0 if set(result.statuses) == {"SUCCESS"} else 1


if __name__ == "__main__":
    sys.exit(main())
