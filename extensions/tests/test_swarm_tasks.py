"""A run service's task and its node -> the run's health, with the node and cause named."""

from dagster_run_limits.swarm_tasks import TaskPhase, task_health

MIB = 1024**2


def _task(state: str, node: str = "n2", exit_code: int | None = None, err: str = "", created: str = "1") -> dict:
    status: dict = {"State": state}
    if exit_code is not None:
        status["ContainerStatus"] = {"ExitCode": exit_code}
    if err:
        status["Err"] = err
    task = {"ID": f"t{created}", "CreatedAt": created, "Status": status}
    if node:  # a task Swarm has not placed has no node
        task["NodeID"] = f"id-{node}"
    return task


def _nodes(**states: str) -> dict:
    return {
        f"id-{name}": {
            "ID": f"id-{name}",
            "Description": {"Hostname": name},
            "Status": {"State": state, "Addr": "10.0.0.2"},
        }
        for name, state in states.items()
    }


def test_running_and_succeeded() -> None:
    assert task_health([_task("running")], _nodes(n2="ready"), MIB).phase is TaskPhase.RUNNING
    done = task_health([_task("complete", exit_code=0)], _nodes(n2="ready"), MIB)
    assert done.phase is TaskPhase.SUCCEEDED and done.node == "n2"


def test_no_task_yet_and_pending_without_room() -> None:
    assert task_health([], {}, MIB).phase is TaskPhase.WAITING
    pending = task_health(
        [_task("pending", node="", err="no suitable node (insufficient resources on 3 nodes)")], {}, MIB
    )
    assert pending.phase is TaskPhase.WAITING
    assert "insufficient resources" in pending.detail


def test_failed_task_names_node_and_exit_code() -> None:
    health = task_health([_task("failed", exit_code=3, err="task: non-zero exit (3)")], _nodes(n2="ready"), MIB)
    assert health.phase is TaskPhase.FAILED and health.death is not None
    assert "node n2" in health.death.message and "exit code 3" in health.death.message
    assert health.death.retryable


def test_exit_137_under_a_limit_is_an_oom_kill_not_retried() -> None:
    health = task_health([_task("failed", exit_code=137)], _nodes(n2="ready"), 300 * MIB)
    assert health.death is not None and health.death.cause == "oom"
    assert "300 MiB" in health.death.message and "n2" in health.death.message
    assert not health.death.retryable


def test_a_running_task_on_a_down_node_is_failed() -> None:
    health = task_health([_task("running", node="n3")], _nodes(n3="down"), MIB)
    assert health.phase is TaskPhase.FAILED and health.death is not None
    assert health.death.cause == "node_down"
    assert "n3" in health.death.message and "down" in health.death.message
    assert health.death.retryable


def test_a_node_removed_from_the_swarm() -> None:
    health = task_health([_task("running", node="gone")], {}, MIB)
    assert health.phase is TaskPhase.FAILED and "removed" in health.death.message  # type: ignore[union-attr]


def test_rejected_for_a_missing_image_is_not_retried() -> None:
    health = task_health([_task("rejected", err="No such image: x@sha256:1")], _nodes(n2="ready"), MIB)
    assert health.death is not None and health.death.cause == "rejected"
    assert not health.death.retryable


def test_the_newest_task_counts() -> None:
    tasks = [_task("failed", exit_code=1, created="1"), _task("running", created="2")]
    assert task_health(tasks, _nodes(n2="ready"), MIB).phase is TaskPhase.RUNNING


def test_a_node_briefly_unknown_after_a_manager_restart_keeps_its_runs() -> None:
    for state in ("unknown", "disconnected"):
        assert task_health([_task("running", node="n3")], _nodes(n3=state), MIB).phase is TaskPhase.RUNNING
