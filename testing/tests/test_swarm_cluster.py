"""The Swarm test harness on a real 3-node swarm of Docker-in-Docker nodes (no mocks): the
cluster forms with its labels, an image goes through the swarm's registry and a worker pulls
it by digest, a drained node gets no task, a node added later pulls from the registry too, and
a stopped node is marked down (measured with Swarm's default dispatcher heartbeat and a 2 s
one). Every figure printed (`-s`) is from this run."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator

import pytest
from stack_testing.swarm_cluster import MANAGER, SwarmCluster
from stack_testing.swarm_images import DEFAULT_BASE_IMAGE
from stack_testing.swarm_nodes import LABEL, docker

pytestmark = pytest.mark.swarm

WORKERS = {"node2", "node3"}
REPORT: dict[str, object] = {}


def _report(key: str, value: object) -> None:
    REPORT[key] = value
    print(f"\n[swarm-cluster] {key}: {value}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[SwarmCluster]:
    cluster = SwarmCluster(prefix=f"swarmharness-{uuid.uuid4().hex[:6]}")
    try:
        cluster.start()
    except Exception as error:
        diagnostics = cluster.diagnostics()
        cluster.teardown()
        pytest.fail(f"the cluster {cluster.prefix} did not form: {error}\n{diagnostics}")
    _report("start", {k: round(v, 2) for k, v in cluster.timings.items()})
    try:
        yield cluster
    finally:
        problems = cluster.teardown()
        print(f"\n[swarm-cluster] report: {json.dumps(REPORT, default=str)}")
        assert not problems, problems


@pytest.fixture(scope="module")
def image(cluster: SwarmCluster) -> str:
    """The stack's base image, in the swarm's registry, pinned by digest."""
    distributed = cluster.distribute(os.environ.get("PYTHON_BASE_IMAGE") or DEFAULT_BASE_IMAGE)
    _report("distribute", distributed.report())
    return distributed


def test_three_nodes_are_ready_with_their_roles_and_labels(cluster: SwarmCluster) -> None:
    info = cluster.node_info()
    assert set(info) == {"node1", "node2", "node3"}
    assert all(node["state"] == "ready" and node["availability"] == "active" for node in info.values())
    assert {name for name, node in info.items() if node["role"] == "manager"} == {MANAGER}
    assert info["node1"]["labels"]["stack.role"] == "core"
    assert info["node2"]["labels"] == info["node3"]["labels"] == {"stack.role": "runs"}
    assert {name: node["address"] for name, node in info.items()} == {
        name: cluster.node_ip(name) for name in info
    }
    assert set(cluster.node_ids()) == set(info)


def test_a_worker_pulls_a_distributed_image_by_digest_from_the_registry(
    cluster: SwarmCluster, image: str
) -> None:
    assert image.startswith(f"{cluster.registry}/fanout-local/python@sha256:")
    assert not any(cluster.has_image(worker, image) for worker in WORKERS)
    since = time.time() - 1
    task = cluster.run_once(
        image, "python3", "-c", "print('ran')", constraints=["node.role==worker"]
    )
    _report("one_shot_on_worker", {"node": task.node, "state": task.state, "s": round(task.seconds, 2)})
    assert task.state == "complete", task
    assert task.node in WORKERS
    assert cluster.pulls(task.node, since) == [image]
    assert cluster.has_image(task.node, image)


def test_a_drained_node_gets_no_task(cluster: SwarmCluster, image: str) -> None:
    cluster.drain("node2")
    try:
        assert cluster.node_info()["node2"]["availability"] == "drain"
        for _ in range(2):
            task = cluster.run_once(image, "true", constraints=["node.role==worker"])
            assert (task.node, task.state) == ("node3", "complete"), task
    finally:
        cluster.activate("node2")
    assert cluster.node_info()["node2"]["availability"] == "active"


def test_a_node_added_later_pulls_from_the_registry(cluster: SwarmCluster, image: str) -> None:
    started = time.monotonic()
    node = cluster.add_node()
    joined = time.monotonic() - started
    assert node == "node4"
    assert cluster.node_info()[node]["labels"] == {"stack.role": "runs"}
    since = time.time() - 1
    task = cluster.run_once(image, "true", constraints=[f"node.hostname=={node}"])
    _report("add_node", {"node": node, "joined_s": round(joined, 2), "first_task_s": round(task.seconds, 2)})
    assert task.state == "complete", task
    assert cluster.pulls(node, since) == [image]


def test_a_stopped_node_is_marked_down(cluster: SwarmCluster) -> None:
    """How long Swarm takes to mark a node whose machine went away `down`: about three
    dispatcher heartbeat periods after its last heartbeat (Swarm's default period is 5 s)."""
    measured = {}
    for heartbeat, kill in ((None, False), ("2s", False), ("2s", True)):
        if heartbeat and cluster.dispatcher_heartbeat != heartbeat:
            cluster.set_dispatcher_heartbeat(heartbeat)  # waits until the nodes use it
        issued = time.monotonic()
        stop_s = cluster.stop_node("node3", kill=kill)
        down_s = cluster.wait_node_state("node3", "down", timeout=40)
        measured[f"{'kill' if kill else 'stop'} heartbeat={heartbeat or '5s (default)'}"] = {
            "stop_s": round(stop_s, 2), "down_after_stopped_s": round(down_s, 2),
            "down_after_issued_s": round(time.monotonic() - issued, 2),
        }  # fmt: skip
        assert cluster.node_info()["node2"]["state"] == "ready"
        restart_s = cluster.start_node("node3")
        assert cluster.node_state("node3") == "ready"
        measured[list(measured)[-1]]["restart_to_ready_s"] = round(restart_s, 2)
    _report("node_down_detection", measured)
    default, short = (measured[k]["down_after_stopped_s"] for k in list(measured)[:2])
    assert short < default


def test_teardown_removes_the_nodes_volumes_and_network(cluster: SwarmCluster) -> None:
    prefix = cluster.prefix
    started = time.monotonic()
    assert cluster.teardown() == []
    _report("teardown_s", round(time.monotonic() - started, 2))
    for kind in (("ps", "-a"), ("volume", "ls"), ("network", "ls")):
        assert docker(*kind, "-q", "--filter", f"label={LABEL}={prefix}") == "", kind
    assert docker("ps", "-aq", "--filter", f"name={prefix}-") == ""
