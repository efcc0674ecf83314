"""Warm pool: per-step event batching (event_batching.py) and the plan cache (plan_cache.py).

Batching applies to Postgres only; these tests use the session's `postgres_url` fixture.
"""

import select
import time

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.system_config.objects import ResolvedRunConfig

import warm_pool_jobs as J
from user_code.executors.db_connections import hold_connections
from user_code.executors.event_batching import (
    StepEventBuffer,
    batch_writer_for,
    install_step_event_buffer,
)
from user_code.executors.plan_cache import PlanCache

pytestmark = pytest.mark.timeout(120)

T = DagsterEventType


@pytest.fixture
def pg_instance(tmp_path, postgres_url):
    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance


@pytest.fixture
def run(pg_instance):
    return pg_instance.create_run_for_job(J.simple_job)


def _stored(instance, run_id):
    return [r.event_log_entry for r in instance.get_records_for_run(run_id).records]


def _types(entries):
    return [e.dagster_event_type if e.is_dagster_event else "LOG" for e in entries]


def _step_event(run, event_type, step_key="one", **kwargs):
    from dagster._core.events import EngineEventData, StepSuccessData

    defaults = {T.ENGINE_EVENT: EngineEventData(), T.STEP_SUCCESS: StepSuccessData(duration_ms=1.0)}
    if event_type in defaults:
        kwargs.setdefault("event_specific_data", defaults[event_type])
    return dg.DagsterEvent(
        event_type_value=event_type.value, job_name=run.job_name, step_key=step_key, **kwargs
    )


def _report(instance, run, event_type, **kwargs):
    instance.report_dagster_event(_step_event(run, event_type, **kwargs), run_id=run.run_id)


def _log_message(instance, run, msg):
    from dagster._core.events.log import EventLogEntry

    instance.handle_new_event(
        EventLogEntry(
            user_message=msg, level=20, job_name=run.job_name, run_id=run.run_id,
            error_info=None, timestamp=time.time(), step_key="one",
        )
    )


def test_no_batching_on_sqlite(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert batch_writer_for(instance) is None
        assert install_step_event_buffer(instance, 0.5) is None


def test_plain_events_are_buffered_until_the_terminal_event(pg_instance, run):
    hold_connections(pg_instance)
    buffer = install_step_event_buffer(pg_instance, max_delay_s=3600)
    assert isinstance(buffer, StepEventBuffer)
    try:
        before = len(_stored(pg_instance, run.run_id))
        buffer.begin_step()
        _report(pg_instance, run, T.STEP_START)
        _log_message(pg_instance, run, "user message")
        _report(pg_instance, run, T.ENGINE_EVENT, message="engine")
        assert len(_stored(pg_instance, run.run_id)) == before  # still buffered
        _report(pg_instance, run, T.STEP_SUCCESS)  # terminal: written inside this call
        stored = _stored(pg_instance, run.run_id)[before:]
        assert _types(stored) == [T.STEP_START, "LOG", T.ENGINE_EVENT, T.STEP_SUCCESS]
        assert stored[1].user_message == "user message"
        assert buffer.stats["batches"] == 1 and buffer.stats["batched_events"] == 4
        # After the terminal event the rest of the step is written directly.
        _report(pg_instance, run, T.ENGINE_EVENT, message="after")
        assert len(_stored(pg_instance, run.run_id)) == before + 5
        buffer.end_step()
    finally:
        buffer.close()
    assert "handle_new_event" not in pg_instance.__dict__  # uninstalled


def test_special_events_flush_first_and_keep_dagsters_path(pg_instance, run):
    hold_connections(pg_instance)
    buffer = install_step_event_buffer(pg_instance, max_delay_s=3600)
    try:
        buffer.begin_step()
        _report(pg_instance, run, T.STEP_START)
        materialization = dg.AssetMaterialization(asset_key="batched_key", metadata={"a": 1})
        from dagster._core.events import StepMaterializationData

        _report(
            pg_instance, run, T.ASSET_MATERIALIZATION,
            event_specific_data=StepMaterializationData(materialization),
        )
        _report(pg_instance, run, T.ENGINE_EVENT, message="after")
        _report(pg_instance, run, T.STEP_SUCCESS)
        buffer.end_step()
    finally:
        buffer.close()
    stored = _stored(pg_instance, run.run_id)
    assert _types(stored)[-4:] == [T.STEP_START, T.ASSET_MATERIALIZATION, T.ENGINE_EVENT, T.STEP_SUCCESS]
    # Indexed by Dagster's normal store path (asset key table, latest materialization).
    latest = pg_instance.get_latest_materialization_event(dg.AssetKey("batched_key"))
    assert latest is not None and latest.run_id == run.run_id


def test_batched_rows_send_the_same_notify_as_store_event(pg_instance, run, postgres_url):
    import psycopg2

    hold_connections(pg_instance)
    listener = psycopg2.connect(postgres_url)
    listener.autocommit = True
    listener.cursor().execute("LISTEN run_events")
    buffer = install_step_event_buffer(pg_instance, max_delay_s=3600)
    try:
        buffer.begin_step()
        _report(pg_instance, run, T.STEP_START)
        _report(pg_instance, run, T.STEP_SUCCESS)
        buffer.end_step()
        ids = [r.storage_id for r in pg_instance.get_records_for_run(run.run_id).records][-2:]
        payloads: list[str] = []
        deadline = time.monotonic() + 10
        while len(payloads) < 2 and time.monotonic() < deadline:
            select.select([listener], [], [], 1.0)
            listener.poll()
            payloads += [n.payload for n in listener.notifies]
            listener.notifies.clear()
    finally:
        buffer.close()
        listener.close()
    assert payloads == [f"{run.run_id}_{i}" for i in ids]


def test_timer_writes_events_of_a_long_step(pg_instance, run):
    hold_connections(pg_instance)
    buffer = install_step_event_buffer(pg_instance, max_delay_s=0.05)
    try:
        before = len(_stored(pg_instance, run.run_id))
        buffer.begin_step()
        _report(pg_instance, run, T.STEP_START)
        deadline = time.monotonic() + 10
        while len(_stored(pg_instance, run.run_id)) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _types(_stored(pg_instance, run.run_id)[before:]) == [T.STEP_START]
        buffer.end_step()
    finally:
        buffer.close()


def test_failed_batch_falls_back_to_single_writes(pg_instance, run):
    hold_connections(pg_instance)

    def broken(_events):
        raise RuntimeError("batch statement rejected")

    buffer = StepEventBuffer(pg_instance, broken, max_delay_s=3600).install()
    try:
        before = len(_stored(pg_instance, run.run_id))
        buffer.begin_step()
        _report(pg_instance, run, T.STEP_START)
        _report(pg_instance, run, T.STEP_SUCCESS)
        assert _types(_stored(pg_instance, run.run_id)[before:]) == [T.STEP_START, T.STEP_SUCCESS]
        assert buffer.stats["fallbacks"] == 1
    finally:
        buffer.close()


def _events_by_step(instance, run_id):
    out: dict[str, list] = {}
    for entry in _stored(instance, run_id):
        if entry.is_dagster_event and entry.step_key:
            out.setdefault(entry.step_key, []).append(entry.dagster_event_type)
    return out


def test_job_events_same_with_and_without_batching(pg_instance):
    by_mode = {}
    for batching in (True, False):
        cfg = {
            "ops": {"fan_out_logged": {"config": {"chunks": 4}}},
            "execution": {"config": {"event_batching": batching}},
        }
        with dg.execute_job(dg.reconstructable(J.batching_job), instance=pg_instance, run_config=cfg) as result:
            assert result.success
            assert result.output_for_node("total") == 6
            run_id = result.run_id
        steps = _events_by_step(pg_instance, run_id)
        by_mode[batching] = steps
        for step_key, types in steps.items():
            if T.STEP_START in types:
                assert types.index(T.STEP_START) < types.index(T.STEP_SUCCESS), step_key
        messages = [e.user_message for e in _stored(pg_instance, run_id) if not e.is_dagster_event]
        for x in range(4):
            assert messages.index(f"before materialization {x}") < messages.index(f"after materialization {x}")
            latest = pg_instance.get_latest_materialization_event(dg.AssetKey(f"batched_asset_{x}"))
            assert latest is not None and latest.run_id == run_id
    assert by_mode[True] == by_mode[False]


# -- plan cache ----------------------------------------------------------------------


def _fan_out_state(chunks: int) -> KnownExecutionState:
    return KnownExecutionState(
        dynamic_mappings={"fan_out": {"result": [f"c{i}" for i in range(chunks)]}},
        ready_outputs=set(),
    )


def test_plan_cache_matches_a_fresh_build():
    job = J.fan_out_job
    cfg = ResolvedRunConfig.build(job, {"ops": {"fan_out": {"config": {"chunks": 5}}}})
    cache = PlanCache(job, cfg, None)
    state = _fan_out_state(5)
    for key in ["fan_out", "square[c0]", "square[c3]", "total"]:
        stock = ExecutionPlan.build(job, cfg, step_keys_to_execute=[key], known_state=state)
        cached = cache.single_step_plan(key, state)
        assert cached.step_keys_to_execute == stock.step_keys_to_execute == [key]
        assert set(cached.step_dict) == set(stock.step_dict)
        assert set(cached.executable_map) == set(stock.executable_map)
        assert set(cached.resolvable_map) == set(stock.resolvable_map)
        assert cached.artifacts_persisted == stock.artifacts_persisted
        assert cached.known_state is state
        assert cached.get_executable_step_deps() == stock.get_executable_step_deps()
    assert cache.builds == 1
    # New dynamic mappings -> a new full plan.
    cache.single_step_plan("square[c6]", _fan_out_state(7))
    assert cache.builds == 2


def test_plan_cache_isolates_in_place_resolution():
    job = J.fan_out_job
    cfg = ResolvedRunConfig.build(job, {"ops": {"fan_out": {"config": {"chunks": 3}}}})
    cache = PlanCache(job, cfg, None)
    empty = KnownExecutionState()
    plan = cache.single_step_plan("fan_out", empty)
    full_before = set(cache.full_plan(empty).step_dict)
    # What ActiveExecution does when fan_out yields its dynamic outputs.
    plan.resolve({"fan_out": {"result": ["c0", "c1"]}})
    assert set(cache.full_plan(empty).step_dict) == full_before


@pytest.mark.parametrize("job_name", ["failing_job", "retry_policy_job"])
def test_failure_and_retry_events_same_with_and_without_batching(pg_instance, tmp_path, job_name):
    job = getattr(J, job_name)
    by_mode = {}
    for batching in (True, False):
        marker_dir = tmp_path / f"markers-{batching}"
        marker_dir.mkdir()
        cfg: dict = {"execution": {"config": {"event_batching": batching}}}
        if job_name == "retry_policy_job":
            cfg["ops"] = {"flaky_op_policy": {"config": {"marker_dir": str(marker_dir)}}}
        with dg.execute_job(dg.reconstructable(job), instance=pg_instance, run_config=cfg) as result:
            assert result.success == (job_name == "retry_policy_job")
            by_mode[batching] = _events_by_step(pg_instance, result.run_id)
    assert by_mode[True] == by_mode[False]
    if job_name == "retry_policy_job":
        types = by_mode[True]["flaky_op_policy"]
        assert types.index(T.STEP_UP_FOR_RETRY) < types.index(T.STEP_RESTARTED) < types.index(T.STEP_SUCCESS)
    else:
        assert T.STEP_FAILURE in by_mode[True]["always_fails"]
