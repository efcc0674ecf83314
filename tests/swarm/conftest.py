"""The Swarm cluster tests' fixture: a 3-node swarm of Docker-in-Docker nodes on this machine
(stack_testing.swarm_cluster), the stack deployed on it, both torn down at the end. A cluster
that cannot start fails the tests with its nodes' logs; it never skips them."""

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from stack_testing.figures import record
from stack_testing.swarm_cluster import SwarmCluster

from tests.swarm.swarm_deployment import SwarmDeployment

# node1 holds the stack's services (and manages the swarm); runs go to the other two.
LABELS = {"node1": {"stack.role": "core"}, "node2": {"stack.role": "runs"}, "node3": {"stack.role": "runs"}}
OVERRIDES = {
    "FANOUT_SCHEDULE_ENABLED": "false",
    "FANOUT_SENSOR_INTERVAL_SECONDS": "30",
    "RUN_DEFAULT_CPUS": "0.5",
    "RUN_DEFAULT_MEMORY": "768m",
    # Above any node of the test cluster (each sees this host's cores): a run may ask for
    # more than a node has, which the launcher must refuse with the reason.
    "RUN_MAX_CPUS": "256",
    "RUN_MAX_MEMORY": "4g",
    # Below the product's floor, as on one host: the OOM test provokes a kill at start.
    "RUN_MIN_MEMORY": "32m",
    "STACK_MAX_CONCURRENT_RUNS": "4",
}


# Module scope: the cluster is gone before the one-host integration tests start their stack.
@pytest.fixture(scope="module")
def swarm() -> Iterator[SwarmDeployment]:
    name = f"swarmtest-{uuid.uuid4().hex[:6]}"
    # A 2 s heartbeat (Swarm's default is 5 s): the manager sees a node go down in seconds,
    # as docs/swarm.md advises for production.
    cluster = SwarmCluster(prefix=name, nodes=3, labels=LABELS, dispatcher_heartbeat="2s")
    deployment = SwarmDeployment(
        cluster=cluster, name=name,
        overrides={
            **OVERRIDES, "STACK_DAGSTER_IMAGE": f"{name}/dagster:swarm", "DOCKER_PROXY_IMAGE": f"{name}/docker-proxy:swarm",
            "FRONTDOOR_IMAGE": f"{name}/frontdoor:swarm",
        },
    )  # fmt: skip
    started = time.monotonic()
    try:
        cluster.start()
        deployment.deploy()
    except Exception as error:
        diagnostics = cluster.diagnostics() if hasattr(cluster, "diagnostics") else ""
        cluster.teardown()
        pytest.fail(f"the Swarm stack {name} did not come up: {error}\n{diagnostics}")
    record(f"[swarm] {name}: {cluster.timings} {deployment.timings}")
    for image in cluster.distributions:
        record(f"[swarm] image {image.report()}")
    try:
        yield deployment
    finally:
        # SWARM_TEST_KEEP=1 leaves the cluster up to look at after a failure.
        if not os.environ.get("SWARM_TEST_KEEP"):
            cluster.teardown()
        record(f"[swarm] the cluster tests, from the first node's start to teardown: {time.monotonic() - started:.0f} s")
