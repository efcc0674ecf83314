"""The stack end to end: healthy services, runs in their own limited containers, storage in
Postgres. Everything goes through the real stack: GraphQL, Docker API, psql."""

import time

import pytest

from dagster_run_limits import LimitPolicy, resolve_run_limits
from stack_testing.figures import record

from tests.integration.stack import Stack

EXPECTED_ASSETS = {"input_records", "fanout_results", "fanout_report"}
EXPECTED_JOBS = {"fanout_job", "chunked_work_job", "batched_work_job"}


def _policy(stack: Stack) -> LimitPolicy:
    """The operator policy the stack's daemon runs with, read back from its environment."""
    env = dict(
        item.split("=", 1) for item in stack.service_container("daemon").attrs["Config"]["Env"]
    )
    return LimitPolicy.from_strings(
        default_cpus=env["RUN_DEFAULT_CPUS"],
        default_memory=env["RUN_DEFAULT_MEMORY"],
        max_cpus=env.get("RUN_MAX_CPUS"),
        max_memory=env.get("RUN_MAX_MEMORY"),
        pids_limit=int(env["RUN_PIDS_LIMIT"]),
        over_max=env.get("RUN_LIMITS_OVER_MAX", "clamp"),
    )


def _run_tags(stack: Stack, run_id: str) -> dict[str, str]:
    (run,) = stack.runs({"runIds": [run_id]})
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def _assert_in_own_limited_container(stack: Stack, run_id: str) -> str:
    containers = stack.run_containers(run_id)
    assert len(containers) == 1, f"run {run_id} has {len(containers)} containers"
    container = containers[0]
    attrs = container.attrs
    host = attrs["HostConfig"]
    expected = resolve_run_limits(_run_tags(stack, run_id), _policy(stack)).container_kwargs()
    assert host["NanoCpus"] == expected["nano_cpus"]
    assert host["Memory"] == expected["mem_limit"]
    assert host["MemorySwap"] == expected["memswap_limit"]
    assert host["PidsLimit"] == expected["pids_limit"]
    assert f"{stack.name}-network" in attrs["NetworkSettings"]["Networks"]
    # The image of the location's code server when the run was submitted, as its tag says.
    assert attrs["Config"]["Image"] == _run_tags(stack, run_id)["stack/image"]
    assert attrs["Config"]["Image"].startswith(f"{stack.name}/fanout:")
    assert attrs["Config"]["User"] == "10001:10001", "run containers must not run as root"
    return container.id


def test_services_are_healthy_and_daemon_reports_healthy(stack: Stack) -> None:
    for service in ("postgres", "webserver", "daemon", "docker-proxy"):
        state = stack.service_container(service).attrs["State"]
        assert state["Health"]["Status"] == "healthy", service
    for location in ("fanout", "warehouse"):
        state = stack.code_server(location).attrs["State"]
        assert state["Health"]["Status"] == "healthy", location
    data = stack.graphql(
        "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
    )
    statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
    required = {s["daemonType"]: s["healthy"] for s in statuses if s["required"]}
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"} <= set(required)
    assert all(required.values()), required


def test_ui_lists_fanout_assets_and_jobs(stack: Stack) -> None:
    data = stack.graphql(
        """{ repositoriesOrError { ... on RepositoryConnection { nodes {
             location { name } jobs { name } assetNodes { assetKey { path } } } } } }"""
    )
    repos = {repo["location"]["name"]: repo for repo in data["repositoriesOrError"]["nodes"]}
    assert set(repos) == {"fanout", "warehouse"}
    repo = repos["fanout"]
    assert EXPECTED_JOBS <= {job["name"] for job in repo["jobs"]}
    assert EXPECTED_ASSETS == {"/".join(a["assetKey"]["path"]) for a in repo["assetNodes"]}


@pytest.fixture(scope="module")
def finished_runs(stack: Stack) -> dict[str, str]:
    """The fan-out asset job and the multiprocess chunk job, launched through GraphQL."""
    launched = {
        "fanout_job": stack.launch("fanout_job"),
        "chunked_work_job": stack.launch(
            "chunked_work_job", {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 4, "chunk_seconds": 0.2}}}}
        ),
    }
    for job, run_id in launched.items():
        status = stack.wait_for_run(run_id)
        assert status == "SUCCESS", f"{job}: {status}\n{stack.failure_messages(run_id)}"
    return launched


def test_launch_to_success_of_fanout_job_one_at_a_time(stack: Stack, finished_runs: dict[str, str]) -> None:
    """The figure compared with the Swarm deployment's (tests/swarm): launch -> SUCCESS of the
    same job, one run at a time, images already on the host."""
    times = [stack.launch_to_success("fanout_job")[1] for _ in range(2)]
    record(f"[stack] fanout_job one at a time: launch -> SUCCESS {', '.join(f'{t:.1f}' for t in times)} s")


def test_each_run_succeeds_in_its_own_limited_container(
    stack: Stack, finished_runs: dict[str, str]
) -> None:
    ids = {_assert_in_own_limited_container(stack, run_id) for run_id in finished_runs.values()}
    assert len(ids) == len(finished_runs)


def test_asset_from_one_run_container_loads_in_the_next(
    stack: Stack, finished_runs: dict[str, str]
) -> None:
    """fanout_report alone: its input, fanout_results, was written by the earlier run's
    container to the shared IO volume and must load in this new container."""
    run_id = stack.launch("fanout_job", asset_selection=["fanout_report"])
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    assert stack.run_containers(run_id)[0].id not in {
        c.id for r in finished_runs.values() for c in stack.run_containers(r)
    }
    messages = [e.get("message") or "" for e in stack.run_events(run_id)]
    assert any('Loaded input "fanout_results"' in m for m in messages), messages


def test_jobs_run_on_the_warm_pool_executor(stack: Stack, finished_runs: dict[str, str]) -> None:
    """The stack's default executor: Dagster's step-delegating orchestration, each step in a
    process forked from the run's warm template, and the run's resource usage at the end."""
    for run_id in finished_runs.values():
        messages = [e.get("message") or "" for e in stack.run_events(run_id)]
        started = [m for m in messages if m.startswith("Warm pool: template pid")]
        # The run worker runs no other thread, so the template is forked from it (not spawned).
        assert started and "forked from the run worker" in started[0], messages[:10]
        assert "Starting execution with step handler warm_pool." in messages, messages[:10]
        assert not any(m.startswith("Warm pool not used") for m in messages), messages[:10]
        assert any(m.startswith("Run resource usage: CPU") for m in messages), messages[-5:]


def test_step_logs_reach_the_ui(stack: Stack, finished_runs: dict[str, str]) -> None:
    """The run container writes step stdout/stderr to the shared compute-log volume; the
    webserver serves it, as the UI's log viewer asks for it."""
    run_id = finished_runs["chunked_work_job"]
    captured = [e for e in stack.run_events(run_id) if e["__typename"] == "LogsCapturedEvent"]
    assert captured, "no step logs were captured"
    data = stack.graphql(
        "query ($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr } }",
        {"key": [run_id, "compute_logs", captured[0]["fileKey"]]},
    )
    logs = data["capturedLogs"]
    text = (logs["stdout"] or "") + (logs["stderr"] or "")
    assert captured[0]["stepKeys"][0].split("[")[0] in text, text[:2000]


def test_runs_are_stored_in_postgres_and_survive_a_webserver_restart(
    stack: Stack, finished_runs: dict[str, str]
) -> None:
    ids = sorted(finished_runs.values())
    in_db = stack.psql(
        "select run_id || ':' || status from runs where run_id in ("
        + ",".join(f"'{i}'" for i in ids) + ") order by run_id"
    )
    assert in_db.splitlines() == [f"{i}:SUCCESS" for i in ids]

    stack.compose("restart", "webserver")
    deadline = time.monotonic() + 120
    while True:
        try:
            listed = {run["runId"]: run["status"] for run in stack.runs({"runIds": ids})}
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert listed == {i: "SUCCESS" for i in ids}


def test_terminating_a_run_stops_its_container(stack: Stack) -> None:
    """The UI's Terminate button: the webserver stops the run container through the Docker
    socket, the warm workers are interrupted, and the run ends CANCELED."""
    run_id = stack.launch(
        "chunked_work_job",
        {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 2, "chunk_seconds": 120}}}},
    )
    deadline = time.monotonic() + 120
    while stack.client.get_run_status(run_id).value != "STARTED":
        assert time.monotonic() < deadline, "run never started"
        time.sleep(0.5)
    while not any(
        (e.get("stepKey") or "").startswith("run_one_chunk") and e["__typename"] == "ExecutionStepStartEvent"
        for e in stack.run_events(run_id)
    ):
        assert time.monotonic() < deadline, "chunk steps never started"
        time.sleep(0.5)
    stack.client.terminate_run(run_id)
    assert stack.wait_for_run(run_id, timeout=90) == "CANCELED", stack.failure_messages(run_id)
    (container,) = stack.run_containers(run_id)
    container.reload()
    assert container.status == "exited"
