"""Pure logic: a run service's tasks and the swarm's nodes -> how the run worker is doing,
and for a dead one the node and the cause in words. No Dagster, no Docker client.

Swarm reports a task on a node that went down as "running" for as long as the node stays
away (its orphaned-task timer is a day), so a task's own state is not enough: the node's
state is read too."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from dagster_run_limits.container_death import ContainerDeath
from dagster_run_limits.limits import MEMORY_TAG, format_memory

# Docker reports a process killed by SIGKILL as exit code 128 + 9; the kernel's OOM killer
# is what sends it to a run held to a memory limit.
OOM_EXIT_CODE = 137
_WAITING = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
# Only "down": "unknown" and "disconnected" are what every node is for a moment after a
# manager restart or a brief network drop, and its tasks are fine.
_NODE_GONE = {"down"}


class TaskPhase(Enum):
    WAITING = "waiting"  # no task yet, or not placed / not started
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class TaskHealth:
    phase: TaskPhase
    node: str | None = None
    # For FAILED: the cause and message the run's failure carries. For WAITING: why, if
    # Swarm said (e.g. "no suitable node (insufficient resources on 3 nodes)").
    death: ContainerDeath | None = None
    detail: str = ""


def latest_task(tasks: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """A one-shot service has one task; should Swarm have made more, the newest counts."""
    if not tasks:
        return None
    return max(tasks, key=lambda task: (task.get("CreatedAt") or "", task.get("ID") or ""))


def node_name(node: Mapping[str, Any] | None, node_id: str | None) -> str:
    if node:
        hostname = (node.get("Description") or {}).get("Hostname")
        if hostname:
            return str(hostname)
    return node_id[:12] if node_id else "(not placed)"


def task_health(
    tasks: Sequence[Mapping[str, Any]],
    nodes: Mapping[str, Mapping[str, Any]],
    memory_limit: int | None,
) -> TaskHealth:
    """`tasks` from `GET /tasks?filters={"service": [...]}`, `nodes` by node ID from
    `GET /nodes`; `memory_limit` is the run's, in bytes, for the OOM message."""
    task = latest_task(tasks)
    if task is None:
        return TaskHealth(TaskPhase.WAITING, detail="Swarm has not created the run's task yet")
    status = task.get("Status") or {}
    state = str(status.get("State") or "new")
    node_id = task.get("NodeID") or None
    node = nodes.get(node_id) if node_id else None
    where = node_name(node, node_id)
    node_state = str(((node or {}).get("Status") or {}).get("State") or "")
    if node_id and node is None and state not in ("complete", "failed", "rejected"):
        return TaskHealth(TaskPhase.FAILED, where, _death_node_gone(where, "removed from the swarm", state))
    if node_state in _NODE_GONE and state not in ("complete", "failed", "rejected"):
        address = ((node or {}).get("Status") or {}).get("Addr") or ""
        at = f" at {address}" if address else ""
        return TaskHealth(TaskPhase.FAILED, where, _death_node_gone(where + at, node_state, state))
    if state in _WAITING:
        return TaskHealth(TaskPhase.WAITING, node_id and where, detail=str(status.get("Err") or state))
    if state == "running":
        return TaskHealth(TaskPhase.RUNNING, where)
    code = int((status.get("ContainerStatus") or {}).get("ExitCode") or 0)
    if state == "complete" and code == 0:
        return TaskHealth(TaskPhase.SUCCEEDED, where)
    return TaskHealth(TaskPhase.FAILED, where, _death_of_task(where, state, code, status, memory_limit))


def _death_node_gone(where: str, node_state: str, task_state: str) -> ContainerDeath:
    return ContainerDeath(
        cause="node_down",
        message=(
            f"The run's node {where} is {node_state}: its run task (last reported {task_state}) "
            "is lost with it. Swarm keeps such a task 'running' for a day, so the launcher reads "
            "the node's state. A retry is placed on another node."
        ),
        retryable=True,
    )


def _death_of_task(
    where: str, state: str, code: int, status: Mapping[str, Any], memory_limit: int | None
) -> ContainerDeath:
    error = str(status.get("Err") or "").strip()
    detail = f": {error}" if error else ""
    if state == "rejected":
        return ContainerDeath(
            cause="rejected",
            message=f"Node {where} could not start the run's task{detail}.",
            retryable="No such image" not in error,
        )
    if code == OOM_EXIT_CODE and memory_limit:
        limit = format_memory(memory_limit)
        # Swarm's task status has the exit code but not Docker's OOMKilled flag.
        return ContainerDeath(
            cause="oom",
            message=(
                f"Run task on node {where} was killed by SIGKILL (exit code {code}) under its "
                f"memory limit of {limit}: the kernel's OOM killer ends a run that needs more "
                "(Swarm reports the code only, and a `docker kill` on the node gives the same). "
                f"Raise the run's `{MEMORY_TAG}` tag and launch it again. Not retried: with the "
                "same limit it would be killed again."
            ),
            retryable=False,
        )
    if state == "complete":
        return ContainerDeath(
            cause="exit_code", message=f"Run task on node {where} exited with code {code}.", retryable=True
        )
    if state in ("shutdown", "remove", "orphaned"):
        return ContainerDeath(
            cause="stopped",
            message=f"Run task on node {where} was stopped by Swarm ({state}){detail}.",
            retryable=True,
        )
    return ContainerDeath(
        cause="exit_code",
        message=f"Run task on node {where} failed with exit code {code}{detail}.",
        retryable=True,
    )
