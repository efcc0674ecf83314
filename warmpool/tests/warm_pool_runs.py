"""Running a test job on a real instance and reading back what happened, for the warm-pool tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg

START_PREFIX = "Warm pool: template pid"


def execute(instance: dg.DagsterInstance, job: dg.JobDefinition, run_config: dict | None = None):
    """(run, outputs by node) of `job` run through execute_job on `instance`."""
    with dg.execute_job(
        dg.reconstructable(job), instance=instance, run_config=run_config or {}
    ) as result:
        outputs = {}
        if result.success:
            for node in ("total", "add_one_2", "flaky_op_policy", "flaky_op_retry_requested"):
                try:
                    outputs[node] = result.output_for_node(node)
                except Exception:  # node not in this job
                    pass
        run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return run, outputs


def events(instance: dg.DagsterInstance, run_id: str, event_type: str | None = None) -> list[Any]:
    """The run's stored events (the event log, as the UI reads it), oldest first."""
    entries = [
        r.event_log_entry for r in instance.get_records_for_run(run_id, limit=100000).records
    ]
    dagster_events = [e for e in entries if e.dagster_event is not None]
    if event_type is None:
        return dagster_events
    return [e for e in dagster_events if e.dagster_event.event_type_value == event_type]


def step_keys(instance: dg.DagsterInstance, run_id: str, event_type: str) -> list[str]:
    return [e.dagster_event.step_key for e in events(instance, run_id, event_type)]


def engine_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.dagster_event.message or "" for e in events(instance, run_id, "ENGINE_EVENT")]


def template_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    for entry in events(instance, run_id, "ENGINE_EVENT"):
        if (entry.dagster_event.message or "").startswith(START_PREFIX):
            return int(entry.dagster_event.engine_event_data.metadata["template_pid"].value)
    raise AssertionError("the run has no warm-pool start event")


def step_pids(instance: dg.DagsterInstance, run_id: str) -> list[int]:
    """The process of every step attempt, as STEP_WORKER_STARTED recorded it."""
    return [e.dagster_event.pid for e in events(instance, run_id, "STEP_WORKER_STARTED")]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def warm_pool_processes() -> list[int]:
    """Live processes named as the warm pool names its template and step processes (spares
    included, which never appear in a run's events) that descend from this test session.
    The session is a child subreaper (conftest), so a process orphaned by a test is still its
    descendant, and warm pools of other sessions or containers on the host are not."""
    from dagster_warm_pool.process_control import STEP_NAME, TEMPLATE_NAME

    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name in (STEP_NAME, TEMPLATE_NAME) and pid_alive(pid):
            found.append(pid)
    return found


def assert_nothing_left(instance: dg.DagsterInstance, run_id: str) -> None:
    """The template and every step process of the run are gone, spares too."""
    pids = [template_pid(instance, run_id), *step_pids(instance, run_id)]
    assert pids
    assert [p for p in pids if pid_alive(p)] == []
    assert warm_pool_processes() == []


def spans(marker_dir: Path) -> dict[str, tuple[int, float, float]]:
    found = {}
    for f in marker_dir.glob("*.span"):
        pid, start, end = f.read_text().split()
        found[f.stem] = (int(pid), float(start), float(end))
    return found


def overlap(a: tuple[int, float, float], b: tuple[int, float, float]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def this_pid() -> int:
    return os.getpid()
