"""Pure logic: one run -> the Swarm service that runs it. No Dagster, no Docker client.

The same `RunLimits` the Docker launcher turns into container limits become the service's
resource limits *and* reservations: Swarm's scheduler then places the run only on a node with
that much CPU and memory unreserved, and the kernel holds it to the same amounts."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster_run_limits.limits import RunLimits, format_memory

# Swarm service names are DNS labels: at most 63 characters.
_MAX_SERVICE_NAME = 63
RUN_ID_LABEL = "dagster/run_id"
JOB_NAME_LABEL = "dagster/job_name"


@dataclass(frozen=True)
class RunServiceSettings:
    """What the operator configures once for every run service (the launcher's config)."""

    stack_name: str
    user: str = "10001:10001"
    networks: tuple[str, ...] = ()
    # Placement constraints, e.g. "node.labels.stack.role==runs".
    constraints: tuple[str, ...] = ()
    # Swarm secrets every run gets, mounted under /run/secrets/<name>.
    secrets: tuple[str, ...] = ()
    tmpfs: Mapping[str, int] = field(
        default_factory=lambda: {"/tmp": 256 * 1024**2, "/dev/shm": 256 * 1024**2}
    )
    labels: Mapping[str, str] = field(default_factory=dict)
    stop_grace_seconds: int = 20


@dataclass(frozen=True)
class RunService:
    """A run's service, as docker-py's `services.create` takes it (see `create_kwargs`)."""

    name: str
    image: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    labels: Mapping[str, str]
    limits: RunLimits
    settings: RunServiceSettings

    def resources(self) -> dict[str, int]:
        nano_cpus = round(self.limits.cpus * 1_000_000_000)
        return {
            "cpu_limit": nano_cpus,
            "mem_limit": self.limits.memory,
            "cpu_reservation": nano_cpus,
            "mem_reservation": self.limits.memory,
        }

    def describe(self) -> str:
        where = ", ".join(self.settings.constraints) or "any node"
        return (
            f"Run service {self.name}: {self.limits.describe()}, reserved on the node Swarm "
            f"places it on ({where})"
        )


def service_name(stack_name: str, run_id: str) -> str:
    """`<stack>-run-<run id>`, cut to a DNS label; the run id's head keeps it unique."""
    name = f"{stack_name}-run-{run_id}"
    return name[:_MAX_SERVICE_NAME].rstrip("-")


def build_run_service(
    *,
    run_id: str,
    job_name: str,
    image: str,
    command: Sequence[str],
    env: Mapping[str, str],
    limits: RunLimits,
    settings: RunServiceSettings,
    extra_labels: Mapping[str, str] | None = None,
) -> RunService:
    labels = {
        **settings.labels,
        **(extra_labels or {}),
        "dagster-fanout/stack": settings.stack_name,
        "dagster-fanout/role": "run",
        RUN_ID_LABEL: run_id,
        JOB_NAME_LABEL: job_name,
    }
    return RunService(
        name=service_name(settings.stack_name, run_id),
        image=image,
        command=tuple(command),
        env={**env, "DAGSTER_RUN_JOB_NAME": job_name},
        labels=labels,
        limits=limits,
        settings=settings,
    )


@dataclass(frozen=True)
class NodeCapacity:
    hostname: str
    nano_cpus: int
    memory: int


def node_capacity(node: Mapping[str, Any]) -> NodeCapacity:
    """From a node as `GET /nodes` returns it."""
    description = node.get("Description") or {}
    resources = description.get("Resources") or {}
    return NodeCapacity(
        hostname=str(description.get("Hostname") or node.get("ID", "?")),
        nano_cpus=int(resources.get("NanoCPUs") or 0),
        memory=int(resources.get("MemoryBytes") or 0),
    )


def matches_constraints(node: Mapping[str, Any], constraints: Sequence[str]) -> bool:
    """The subset of Swarm's constraint language run services use: node.labels.KEY, node.role,
    node.hostname, with == or !=. An expression this does not know counts as matching, so the
    check below can only be less strict than Swarm, never refuse a run Swarm would place."""
    spec = node.get("Spec") or {}
    labels = spec.get("Labels") or {}
    hostname = str((node.get("Description") or {}).get("Hostname") or "")
    for expression in constraints:
        operator = "!=" if "!=" in expression else "=="
        if operator not in expression:
            continue
        key, _, wanted = (part.strip() for part in expression.partition(operator))
        if key.startswith("node.labels."):
            actual = labels.get(key[len("node.labels.") :])
        elif key == "node.role":
            actual = spec.get("Role")
        elif key == "node.hostname":
            actual = hostname
        else:
            continue
        if (actual == wanted) != (operator == "=="):
            return False
    return True


def placement_problem(
    limits: RunLimits, nodes: Sequence[Mapping[str, Any]], constraints: Sequence[str]
) -> str | None:
    """Why no node of the swarm could ever hold the run, or None if one could (now or once
    others finish). Only nodes that match the constraints and are not drained count: a run
    that fits none of them would wait in Swarm's queue forever."""
    eligible = [
        node
        for node in nodes
        if matches_constraints(node, constraints)
        and (node.get("Spec") or {}).get("Availability", "active") == "active"
    ]
    where = f" matching {', '.join(constraints)}" if constraints else ""
    if not eligible:
        return f"no active node{where} can run it (all drained, paused or none labelled)"
    need_cpus = round(limits.cpus * 1_000_000_000)
    capacities = [node_capacity(node) for node in eligible]
    if any(c.nano_cpus >= need_cpus and c.memory >= limits.memory for c in capacities):
        return None
    largest = max(capacities, key=lambda c: (c.memory, c.nano_cpus))
    return (
        f"it reserves {limits.describe()}, more than any active node{where} has: the largest, "
        f"{largest.hostname}, has {largest.nano_cpus / 1e9:g} CPUs and "
        f"{format_memory(largest.memory)}. Lower the run's `limits/*` tags or add a larger node."
    )
