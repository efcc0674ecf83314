"""Warm pool start-up: forked workers inherit the orchestrator's instance; the pool's
start event is written once a step runs instead of before the first dispatch."""

import json
import os

import dagster as dg
import pytest

import warm_pool_jobs as J
from user_code.executors.config import DEFAULT_DEFER_START_EVENT, DEFAULT_INHERIT_INSTANCE
from user_code.executors.pool import WarmPool
from user_code.executors.worker import WorkerState

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as inst:
        yield inst


@pytest.fixture
def pg_instance(tmp_path, postgres_url):
    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as inst:
        yield inst


def _execute(instance, job, execution=None, ops=None):
    cfg = {"ops": ops or {}}
    if execution is not None:
        cfg["execution"] = {"config": execution}
    with dg.execute_job(dg.reconstructable(job), instance=instance, run_config=cfg) as result:
        return result, list(result.all_events)


def _start_event(events):
    found = [e for e in events if (e.message or "").startswith("Warm pool: started")]
    assert len(found) == 1, [e.message for e in events if e.event_type_value == "ENGINE_EVENT"]
    return found[0]


def _index(events, pred):
    return next(i for i, e in enumerate(events) if pred(e))


def test_defaults():
    assert DEFAULT_INHERIT_INSTANCE is True
    assert DEFAULT_DEFER_START_EVENT is True


@pytest.mark.parametrize("inherit", [True, False])
def test_fork_workers_inherit_the_instance_or_build_one(instance, inherit):
    result, events = _execute(instance, J.simple_job, {"inherit_instance": inherit})
    assert result.success
    md = _start_event(events).event_specific_data.metadata
    assert md["inherited_instance"].value is inherit
    pids = json.loads(md["worker_pids"].value)
    assert {e.pid for e in events if e.event_type_value == "STEP_START"} <= set(pids)


def test_pool_hands_the_instance_only_to_forked_workers(instance):
    static = object()
    assert WarmPool(1, static, "fork", inherited_instance=instance).inherits_instance
    assert not WarmPool(1, static, "spawn", inherited_instance=instance).inherits_instance
    assert not WarmPool(1, static, "fork").inherits_instance


def test_start_event_is_deferred_until_a_worker_reports(instance):
    result, events = _execute(instance, J.simple_job)
    assert result.success
    start = events.index(_start_event(events))
    first_starting = _index(events, lambda e: e.event_type_value == "STEP_WORKER_STARTING")
    first_worker = _index(events, lambda e: e.pid != os.getpid())
    assert first_starting < first_worker < start
    md = _start_event(events).event_specific_data.metadata
    assert "worker_init_s" in md


def test_start_event_eager_when_not_deferred(instance):
    result, events = _execute(instance, J.simple_job, {"defer_start_event": False})
    assert result.success
    start = events.index(_start_event(events))
    assert start < _index(events, lambda e: e.event_type_value == "STEP_WORKER_STARTING")


def test_worker_death_with_inherited_instance_on_postgres(pg_instance, tmp_path):
    # The replacement is forked after the orchestrator pooled its connections: it must
    # drop those, open its own, and write its events through them.
    result, events = _execute(
        pg_instance,
        J.worker_death_job,
        {"max_concurrent": 1},
        {"dies": {"config": {"marker_dir": str(tmp_path), "always": True}}},
    )
    assert not result.success
    assert [e.step_key for e in events if e.event_type_value == "STEP_SUCCESS"] == ["survivor"]
    stored = pg_instance.all_logs(result.run_id)
    assert any(
        e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS" for e in stored
    )
    # the orchestrator's own connection still works after the forks
    assert pg_instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.FAILURE


def test_fan_out_on_postgres_with_and_without_inheritance(pg_instance):
    for inherit in (True, False):
        result, events = _execute(
            pg_instance,
            J.fan_out_job,
            {"inherit_instance": inherit},
            {"fan_out": {"config": {"chunks": 6}}},
        )
        assert result.success
        stored = [
            e.dagster_event.event_type_value
            for e in pg_instance.all_logs(result.run_id)
            if e.dagster_event
        ]
        assert stored.count("STEP_SUCCESS") == 8


def test_worker_state_does_not_dispose_an_inherited_instance(instance):
    state = WorkerState(static=None, inherited_instance=instance)  # type: ignore[arg-type]
    state.instance = instance
    state.dispose()
    assert instance.get_runs() == []  # still usable
