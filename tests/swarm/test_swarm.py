"""The stack on a real 3-node Swarm (node1: the stack's services and the swarm's manager;
node2 and node3: runs), each run a one-shot service placed by Swarm's scheduler. Every
figure the tests print is from this run: the node each run landed on, detection times of
each cluster fault, and launch -> SUCCESS."""

import json
import os
import time

import pytest
from bench.burst import JOB, LAUNCH, REPOSITORIES, TRIVIAL_CONFIG, find_job
from stack_testing.dagster_api import VIEWER_USER
from stack_testing.figures import record

from tests.swarm.swarm_deployment import MANAGER as MANAGER_NODE
from tests.swarm.swarm_deployment import WEBHOOK_FILE, WEBHOOK_URL, SwarmDeployment

pytestmark = pytest.mark.swarm

WORKERS = {"node2", "node3"}
# The bound: a cluster fault ends the run in FAILURE within this many seconds.
DETECTION_LIMIT_S = 15.0
TRIVIAL = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 2, "chunk_seconds": 0.5}}}}
LONG = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 40.0}}}}


def _launch_and_wait(swarm: SwarmDeployment, job: str, config: dict | None = None, **kwargs) -> tuple[str, float]:
    try:
        return swarm.launch_to_success(job, config, **kwargs)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{swarm.diagnostics()}") from None


def _wait_for_status(swarm: SwarmDeployment, run_id: str, status: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if swarm.client.get_run_status(run_id).value == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} not {status} within {timeout:.0f} s")


def _failure_time(swarm: SwarmDeployment, run_id: str) -> tuple[float, str]:
    (failure,) = [(at, message) for kind, at, message in swarm.event_times(run_id) if kind == "RunFailureEvent"]
    return failure


def test_fanout_job_succeeds_on_a_worker_node(swarm: SwarmDeployment) -> None:
    run_id, seconds = _launch_and_wait(swarm, "fanout_job")
    node = swarm.run_node(run_id)
    record(f"[swarm] fanout_job, first run (its node pulls the image): launch -> SUCCESS {seconds:.1f} s on {node}")
    assert node in WORKERS
    assert swarm.run_tags(run_id)["dagster-swarm/node"] == node
    # Both workers hold the image (the other one pulls it here); then the figure compared
    # with the one-host stack's (tests/integration/test_stack.py), one run at a time.
    for worker in sorted(WORKERS):
        started = time.monotonic()
        swarm.cluster.docker(worker, "pull", swarm.images["fanout"])
        record(f"[swarm] {worker}: docker pull of the fanout image by digest {time.monotonic() - started:.1f} s")
    timed = [_launch_and_wait(swarm, "fanout_job") for _ in range(2)]
    where = ", ".join(f"{seconds:.1f} s on {swarm.run_node(run_id)}" for run_id, seconds in timed)
    record(f"[swarm] fanout_job one at a time: launch -> SUCCESS {where}")


def test_runs_land_on_both_worker_nodes_within_their_reservations(swarm: SwarmDeployment) -> None:
    run_ids = [swarm.launch("chunked_work_job", TRIVIAL, {"limits/cpus": "1"}) for _ in range(4)]
    for run_id in run_ids:
        assert swarm.wait_for_run(run_id, timeout=300) == "SUCCESS", swarm.failure_messages(run_id)
    nodes = {run_id: swarm.run_node(run_id) for run_id in run_ids}
    record(f"[swarm] 4 runs of 1 CPU each landed on: {sorted(nodes.values())}")
    assert set(nodes.values()) == WORKERS, nodes
    service = swarm.run_service(run_ids[0])
    if service is not None:  # removed by cleanup only beyond the newest 20
        resources = service["Spec"]["TaskTemplate"]["Resources"]
        assert resources["Limits"]["NanoCPUs"] == resources["Reservations"]["NanoCPUs"] == 1_000_000_000
        spec = service["Spec"]["TaskTemplate"]["ContainerSpec"]
        assert spec["User"] == "10001:10001" and spec["ReadOnly"] and spec["CapabilityDrop"] == ["ALL"]


def test_compute_logs_show_in_the_ui_from_the_object_store(swarm: SwarmDeployment) -> None:
    run_id, _ = _launch_and_wait(swarm, "chunked_work_job", TRIVIAL)
    captured = [e for e in swarm.run_events(run_id) if e["__typename"] == "LogsCapturedEvent"]
    assert captured, "no step logs were captured"
    data = swarm.graphql(
        "query ($key: [String!]!) { capturedLogs(logKey: $key) { stdout stderr } }",
        {"key": [run_id, "compute_logs", captured[0]["fileKey"]]},
    )
    text = (data["capturedLogs"]["stdout"] or "") + (data["capturedLogs"]["stderr"] or "")
    assert captured[0]["stepKeys"][0].split("[")[0] in text, text[:2000]


def test_an_asset_materialized_on_one_node_loads_on_another_and_drained_nodes_get_no_runs(
    swarm: SwarmDeployment,
) -> None:
    swarm.cluster.drain("node3")
    try:
        first, _ = _launch_and_wait(swarm, "fanout_job")
        assert swarm.run_node(first) == "node2"
        swarm.cluster.activate("node3")
        swarm.cluster.drain("node2")
        second, _ = _launch_and_wait(swarm, "fanout_job", asset_selection=["fanout_report"])
        assert swarm.run_node(second) == "node3"
    finally:
        swarm.cluster.activate("node2")
        swarm.cluster.activate("node3")
    messages = [e.get("message") or "" for e in swarm.run_events(second)]
    assert any('Loaded input "fanout_results"' in m for m in messages), messages
    record(f"[swarm] fanout_results materialized on node2 ({first}), loaded on node3 ({second})")


def test_a_run_larger_than_any_node_fails_with_the_reason(swarm: SwarmDeployment) -> None:
    # Each Docker-in-Docker node reports this host's cores: one more fits none of them.
    cpus = (os.cpu_count() or 1) + 1
    started = time.monotonic()
    run_id = swarm.launch("chunked_work_job", TRIVIAL, {"limits/cpus": str(cpus)})
    assert swarm.wait_for_run(run_id, timeout=60) == "FAILURE"
    message = swarm.failure_messages(run_id)
    record(f"[swarm] a run reserving {cpus} CPUs: FAILURE in {time.monotonic() - started:.1f} s")
    assert "more than any active node" in message, message
    assert not swarm.retries_of(run_id)


def test_oom_kill_at_start_names_the_node_and_the_limit(swarm: SwarmDeployment) -> None:
    run_id = swarm.launch("chunked_work_job", TRIVIAL, {"limits/memory": "48m"})
    assert swarm.wait_for_run(run_id, timeout=120) == "FAILURE"
    failed, message = _failure_time(swarm, run_id)
    node = swarm.run_node(run_id)
    record(f"[swarm] OOM at start on {node}: {message.splitlines()[0]}")
    assert node in WORKERS and f"node {node}" in message, message
    assert "memory limit of 48 MiB" in message and "137" in message, message
    time.sleep(3)
    assert not swarm.retries_of(run_id)


def test_a_task_killed_on_its_node_fails_fast_naming_the_node(swarm: SwarmDeployment) -> None:
    run_id = swarm.launch("chunked_work_job", LONG)
    _wait_for_status(swarm, run_id, "STARTED")
    node = swarm.run_node(run_id)
    assert node in WORKERS
    swarm.kill_run_container(node, run_id)
    killed = time.time()
    assert swarm.wait_for_run(run_id, timeout=60) == "FAILURE"
    failed, message = _failure_time(swarm, run_id)
    record(f"[swarm] task killed on {node}: FAILURE {failed - killed:.1f} s later: {message.splitlines()[0]}")
    assert failed - killed < DETECTION_LIMIT_S
    assert f"node {node}" in message and "137" in message, message


def test_a_node_that_goes_down_fails_its_run_and_the_retry_succeeds_elsewhere(swarm: SwarmDeployment) -> None:
    run_id = swarm.launch("chunked_work_job", LONG)
    _wait_for_status(swarm, run_id, "STARTED")
    node = swarm.run_node(run_id)
    assert node in WORKERS
    # A power cut: the node's engine and the run worker on it stop at once, so nothing on
    # the node reports; the manager sees the node stop answering.
    swarm.cluster.stop_node(node, kill=True)
    stopped = time.time()
    try:
        assert swarm.wait_for_run(run_id, timeout=90) == "FAILURE"
        failed, message = _failure_time(swarm, run_id)
        record(f"[swarm] {node} powered off: run FAILURE {failed - stopped:.1f} s later: {message.splitlines()[0]}")
        assert failed - stopped < DETECTION_LIMIT_S, message
        assert node in message and "down" in message, message
        deadline = time.monotonic() + 60
        while not (retries := swarm.retries_of(run_id)) and time.monotonic() < deadline:
            time.sleep(1)
        assert retries, "the run was not retried"
        assert swarm.wait_for_run(retries[0], timeout=300) == "SUCCESS", swarm.failure_messages(retries[0])
        other = swarm.run_node(retries[0])
        record(f"[swarm] its retry {retries[0]} succeeded on {other}")
        assert other in WORKERS - {node}
    finally:
        swarm.cluster.start_node(node)


def test_the_warm_pool_sizes_itself_from_the_runs_cpu_limit_on_its_node(swarm: SwarmDeployment) -> None:
    for cpus in ("1", "2"):
        run_id, _ = _launch_and_wait(
            swarm, "chunked_work_job", TRIVIAL, tags={"limits/cpus": cpus, "limits/memory": "2g"}
        )
        (started,) = [
            e["message"] for e in swarm.run_events(run_id) if (e.get("message") or "").startswith("Warm pool: template")
        ]
        record(f"[swarm] limits/cpus {cpus} on {swarm.run_node(run_id)}: {started}")
        assert f"steps run {cpus} at a time" in started, started


def test_terminating_a_run_from_the_ui_removes_its_service(swarm: SwarmDeployment) -> None:
    run_id = swarm.launch("chunked_work_job", LONG)
    _wait_for_status(swarm, run_id, "STARTED")
    service = swarm.run_tags(run_id)["dagster-swarm/service"]
    data = swarm.graphql(
        "mutation ($runId: String!) { terminateRun(runId: $runId) { __typename } }", {"runId": run_id}
    )
    assert data["terminateRun"]["__typename"] == "TerminateRunSuccess", data
    assert swarm.wait_for_run(run_id, timeout=90) == "CANCELED"
    listed = swarm.cluster.docker(MANAGER_NODE, "service", "ls", "--filter", f"name={service}", "--format", "{{.Name}}")
    assert service not in listed.split(), listed


def test_the_front_door_is_the_only_way_in_with_logins_and_roles(swarm: SwarmDeployment) -> None:
    """As on one host: TLS verified against the front door's CA, nothing without a login,
    viewers on the read-only webserver, and no other service published."""
    location, repository = find_job(swarm.graphql(REPOSITORIES)["repositoriesOrError"]["nodes"], JOB)
    launch = {
        "params": {
            "selector": {"repositoryLocationName": location, "repositoryName": repository, "jobName": JOB},
            "runConfigData": TRIVIAL_CONFIG,
        }
    }
    url = f"{swarm.base_url}/graphql"
    assert swarm.session(None).post(url, json={"query": "{ version }"}, timeout=60).status_code == 401
    viewer = swarm.session(VIEWER_USER).post(url, json={"query": LAUNCH, "variables": launch}, timeout=60)
    assert viewer.status_code == 200
    assert viewer.json()["data"]["launchRun"]["__typename"] == "UnauthorizedError"
    health = swarm.session(None).get(f"{swarm.base_url}/healthz", timeout=30)
    assert (health.status_code, health.text) == (200, "ok")
    published = {}
    for name in swarm.cluster.docker(MANAGER_NODE, "stack", "services", "--format", "{{.Name}}", swarm.name).split():
        ports = swarm.cluster.docker(MANAGER_NODE, "service", "inspect", "--format", "{{json .Spec.EndpointSpec.Ports}}", name)
        if json.loads(ports):
            published[name.removeprefix(f"{swarm.name}_")] = [p["PublishedPort"] for p in json.loads(ports)]
    assert published == {"frontdoor": [swarm.port]}


def test_a_locations_secret_reaches_its_code_server_and_its_runs(swarm: SwarmDeployment) -> None:
    """As on one host, where the location's secrets volume is mounted into its code server and
    runs: each secret file is a Swarm secret mounted at /run/secrets/<file>."""
    run_id, _ = _launch_and_wait(swarm, "chunked_work_job", TRIVIAL)
    service = swarm.run_service(run_id)
    assert service is not None
    mounted = {s["File"]["Name"]: s["SecretName"] for s in service["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]}
    assert mounted[WEBHOOK_FILE].startswith(f"{swarm.name}-location-fanout-alert_webhook_url-"), mounted
    server = swarm.cluster.docker(
        MANAGER_NODE, "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={swarm.name}_code-fanout"
    ).split()
    assert server, "no code-fanout container on the manager"
    assert swarm.cluster.docker(MANAGER_NODE, "exec", server[0], "cat", f"/run/secrets/{WEBHOOK_FILE}").strip() == WEBHOOK_URL


def _service_tasks(swarm: SwarmDeployment) -> dict[str, set[str]]:
    """Each of the stack's services (not its runs): the ids of every task it has had. An
    update that changes a service's task starts a new task; `stack deploy` updates every
    service's spec version, so the version alone does not say what restarted."""
    out = swarm.cluster.docker(
        MANAGER_NODE, "service", "ls", "--filter", f"label=com.docker.stack.namespace={swarm.name}",
        "--format", "{{.Name}}",
    )  # fmt: skip
    tasks = {}
    for name in out.split():
        if not name.startswith(f"{swarm.name}_"):  # the stack's own services, not its runs
            continue
        ids = swarm.cluster.docker(MANAGER_NODE, "service", "ps", "-q", "--no-trunc", name)
        tasks[name.removeprefix(f"{swarm.name}_")] = set(ids.split())
    return tasks


def test_an_upgrade_rolls_only_the_changed_service_and_runs_go_on(swarm: SwarmDeployment) -> None:
    """docs/swarm.md's upgrade: render again and `docker stack deploy` again. Here the change
    is a user added with `stackctl user add`: its users file is a new secret, so the front
    door alone restarts on it; every other service keeps its task."""
    before = _service_tasks(swarm)
    swarm.add_user("operator2", "admin")
    url = f"{swarm.base_url}/graphql"
    assert swarm.session("operator2").post(url, json={"query": "{ version }"}, timeout=60).status_code == 401
    started = time.monotonic()
    swarm.render_and_deploy()
    deadline = started + 180
    status = None
    while time.monotonic() < deadline:
        try:
            status = swarm.session("operator2").post(url, json={"query": "{ version }"}, timeout=10).status_code
        except OSError as error:  # the front door restarting: connection refused or reset
            status = repr(error)
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, f"operator2 not let in within 180 s of the upgrade: {status}\n{swarm.diagnostics()}"
    record(f"[swarm] upgrade (a user added): the new login accepted {time.monotonic() - started:.1f} s after render + stack deploy began")
    swarm.wait_ready()  # every service running again, whatever the deploy updated
    after = _service_tasks(swarm)
    restarted = sorted(name for name in before if after.get(name) != before[name])
    assert restarted == ["frontdoor"], f"services with a new task after the upgrade: {restarted}"
    run_id, seconds = _launch_and_wait(swarm, "chunked_work_job", TRIVIAL)
    record(f"[swarm] after the upgrade: chunked_work_job launch -> SUCCESS {seconds:.1f} s on {swarm.run_node(run_id)}")
