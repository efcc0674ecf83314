"""The Swarm run service built from the same limits policy as the Docker launcher's."""

import pytest

from dagster_run_limits.limits import LimitPolicy, RunLimits, resolve_run_limits
from dagster_run_limits.swarm_spec import (
    RunServiceSettings,
    build_run_service,
    matches_constraints,
    placement_problem,
    service_name,
)

GIB = 1024**3


def _node(hostname: str, cpus: float, memory: int, role: str = "worker", **labels: str) -> dict:
    return {
        "ID": f"id-{hostname}",
        "Description": {
            "Hostname": hostname,
            "Resources": {"NanoCPUs": int(cpus * 1e9), "MemoryBytes": memory},
        },
        "Spec": {"Role": role, "Availability": "active", "Labels": labels},
        "Status": {"State": "ready"},
    }


def test_limits_become_limits_and_reservations() -> None:
    policy = LimitPolicy.from_strings(default_cpus="1", default_memory="1g", max_cpus="2")
    limits = resolve_run_limits({"limits/cpus": "4", "limits/memory": "512m"}, policy)
    service = build_run_service(
        run_id="abc", job_name="fanout_job", image="reg:5000/fanout@sha256:00", command=["dagster"],
        env={"A": "1"}, limits=limits, settings=RunServiceSettings(stack_name="st"),
    )  # fmt: skip
    assert service.resources() == {
        "cpu_limit": 2_000_000_000,
        "mem_limit": 512 * 1024**2,
        "cpu_reservation": 2_000_000_000,
        "mem_reservation": 512 * 1024**2,
    }
    assert "clamped" in service.describe()
    assert service.labels["dagster/run_id"] == "abc"
    assert service.labels["dagster-fanout/stack"] == "st"
    assert service.env["DAGSTER_RUN_JOB_NAME"] == "fanout_job"


def test_service_name_is_a_dns_label() -> None:
    run_id = "0123456789abcdef0123456789abcdef0123"
    name = service_name("a-rather-long-stack-name-for-a-team", run_id)
    assert len(name) <= 63
    assert name.startswith("a-rather-long-stack-name-for-a-team-run-01234")
    assert not name.endswith("-")


def test_constraints_on_labels_role_and_hostname() -> None:
    node = _node("n2", 2, GIB, **{"stack.role": "runs"})
    assert matches_constraints(node, ["node.labels.stack.role==runs"])
    assert not matches_constraints(node, ["node.labels.stack.role==core"])
    assert matches_constraints(node, ["node.role!=manager", "node.hostname==n2"])
    assert not matches_constraints(node, ["node.hostname!=n2"])


def _limits(cpus: float, memory: int) -> RunLimits:
    return RunLimits(cpus=cpus, memory=memory, pids_limit=None)


def test_a_run_larger_than_every_node_is_refused_with_the_largest() -> None:
    nodes = [_node("n1", 2, 4 * GIB, role="manager"), _node("n2", 2, 2 * GIB), _node("n3", 1, 8 * GIB)]
    problem = placement_problem(_limits(1, 16 * GIB), nodes, ["node.role==worker"])
    assert problem is not None
    assert "n3" in problem and "8 GiB" in problem and "16 GiB" in problem
    assert placement_problem(_limits(1, 6 * GIB), nodes, ["node.role==worker"]) is None
    # Fits the manager only, which the constraint excludes.
    assert placement_problem(_limits(2, 3 * GIB), nodes, ["node.role==worker"]) is not None


def test_drained_nodes_do_not_count() -> None:
    node = _node("n2", 2, 2 * GIB)
    node["Spec"]["Availability"] = "drain"
    problem = placement_problem(_limits(1, GIB), [node], [])
    assert problem is not None and "drained" in problem


@pytest.mark.parametrize("cpus", [0.25, 1.5])
def test_fractional_cpus_are_nano_cpus(cpus: float) -> None:
    service = build_run_service(
        run_id="r", job_name="j", image="i", command=[], env={}, limits=_limits(cpus, GIB),
        settings=RunServiceSettings(stack_name="s"),
    )  # fmt: skip
    assert service.resources()["cpu_limit"] == int(cpus * 1e9)
