"""Pins what dagster_warm_pool._dagster relies on in Dagster, each against the stock path, so
an upgrade that changes one of them fails here rather than silently in production."""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.execution.retries import RetryMode
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import serialize_value
from dagster_warm_pool import _dagster as adapter
from dagster_warm_pool.connections import (
    drop_inherited_connections,
    hold_connections,
    pooled_engines,
    release_connections,
)
from dagster_warm_pool.mapped_steps import narrowed_to_own_mapping_key
from dagster_warm_pool.multiprocess import is_child_process_crash, step_worker_pid
from dagster_warm_pool.step_definitions import warm_step_definitions
from warm_pool_runs import events, execute, step_keys

pytestmark = pytest.mark.timeout(120)


def _step_args(instance: dg.DagsterInstance, run: dg.DagsterRun, step_key: str) -> ExecuteStepArgs:
    return ExecuteStepArgs(
        job_origin=dg.reconstructable(J.simple_job).get_python_origin(),
        run_id=run.run_id,
        step_keys_to_execute=[step_key],
        instance_ref=instance.get_ref(),
        retry_mode=RetryMode.DISABLED,
        known_state=KnownExecutionState(),
        print_serialized_events=False,
    )


def _new_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    recon = dg.reconstructable(J.simple_job)
    run = instance.create_run_for_job(
        J.simple_job, job_code_origin=recon.get_python_origin(), status=dg.DagsterRunStatus.STARTED
    )
    return run


def _types(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.dagster_event.event_type_value for e in events(instance, run_id)]


def test_execute_step_matches_dagster_api_execute_step(tmp_path: Path, postgres_url: str) -> None:
    """Our in-process call and the `dagster api execute_step` CLI write the same events."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: {postgres_url}\ntelemetry:\n  enabled: false\n"
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        ours, stock = _new_run(instance), _new_run(instance)
        for _event in adapter.execute_step_in_this_process(
            _step_args(instance, ours, "one"), instance, ours
        ):
            pass
        env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run(
            [sys.executable, "-m", "dagster", "api", "execute_step",
             serialize_value(_step_args(instance, stock, "one"))],
            env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert _types(instance, ours.run_id) == _types(instance, stock.run_id)
        assert "STEP_SUCCESS" in _types(instance, ours.run_id)


def _stock_tailer() -> object:
    from dagster._core.executor.step_delegating import StepDelegatingExecutor

    return StepDelegatingExecutor(step_handler=None, retries=RetryMode.DISABLED)  # type: ignore[arg-type]


def test_the_storages_tailer_offset_catches_a_row_committed_below_the_cursor(
    pg_instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that becomes visible after Dagster's tailer has passed its id: without an offset
    the tailer never returns it; with the run-scoped offset the stack's event-log storage sets
    through Dagster's hook, it does on the next poll."""
    import sqlalchemy as db

    storage = pg_instance.event_log_storage
    assert storage.default_run_scoped_event_tailer_offset() > 0
    with storage.index_connection() as conn:
        # The id a slow writer would have been given before the run's last events.
        late_id = conn.execute(db.text("SELECT nextval('event_logs_id_seq')")).scalar()
    run, _ = execute(pg_instance, J.simple_job)
    plain, hooked = _stock_tailer(), _stock_tailer()
    plain_seen: set[int] = set()
    hooked_seen: set[int] = set()
    monkeypatch.setenv("DAGSTER_EXECUTOR_POP_EVENTS_OFFSET", "0")
    plain._pop_events(pg_instance, run.run_id, plain_seen)  # noqa: SLF001
    monkeypatch.delenv("DAGSTER_EXECUTOR_POP_EVENTS_OFFSET")
    hooked._pop_events(pg_instance, run.run_id, hooked_seen)  # noqa: SLF001
    assert min(hooked_seen) > late_id
    assert max(hooked_seen) - late_id < storage.default_run_scoped_event_tailer_offset()
    with storage.index_connection() as conn:
        conn.execute(
            db.text(
                "INSERT INTO event_logs (id, run_id, event, dagster_event_type, timestamp, step_key) "
                "SELECT :late, run_id, event, dagster_event_type, timestamp, step_key "
                "FROM event_logs WHERE id = :last"
            ),
            {"late": late_id, "last": max(hooked_seen)},
        )
    monkeypatch.setenv("DAGSTER_EXECUTOR_POP_EVENTS_OFFSET", "0")
    assert plain._pop_events(pg_instance, run.run_id, plain_seen) == []  # noqa: SLF001
    monkeypatch.delenv("DAGSTER_EXECUTOR_POP_EVENTS_OFFSET")
    late = hooked._pop_events(pg_instance, run.run_id, hooked_seen)  # noqa: SLF001
    assert len(late) == 1 and late_id in hooked_seen


def test_warning_engine_event_is_stored_at_warning_level(pg_instance) -> None:
    run, _ = execute(
        pg_instance,
        J.fan_out_job,
        {
            "ops": {"fan_out": {"config": {"chunks": 1}}},
            "execution": {"config": {"supported_dagster_versions": "<0"}},
        },
    )
    warnings = [
        e for e in events(pg_instance, run.run_id, "ENGINE_EVENT") if e.level == logging.WARNING
    ]
    assert len(warnings) == 1


def test_child_process_crash_is_recognized_on_the_stock_executor(
    pg_instance, tmp_path: Path
) -> None:
    cfg = {"ops": {"dies": {"config": {"marker_dir": str(tmp_path), "always": True}}}}
    run, _ = execute(pg_instance, J.stock_worker_death_job, cfg)
    assert run.status == dg.DagsterRunStatus.FAILURE
    crashes = [
        e.dagster_event
        for e in events(pg_instance, run.run_id, "ENGINE_EVENT")
        if is_child_process_crash(e.dagster_event)
    ]
    assert [e.step_key for e in crashes] == ["dies"]
    assert "exited with code 17" in (crashes[0].message or "")


def test_stock_step_processes_are_the_first_out_of_memory_victims(pg_instance) -> None:
    """STEP_WORKER_STARTED still carries the step process's pid, so the explaining variant of
    Dagster's executor raises that process's oom_score_adj (the run worker keeps 0)."""
    from dagster_warm_pool.process_control import STEP_OOM_SCORE_ADJ

    with dg.execute_job(dg.reconstructable(J.stock_oom_score_job), instance=pg_instance) as result:
        assert result.success
        assert result.output_for_node("reads_its_oom_score") == STEP_OOM_SCORE_ADJ
        started = [
            e.dagster_event for e in events(pg_instance, result.run_id, "STEP_WORKER_STARTED")
        ]
    assert [step_worker_pid(e) for e in started] != [None]
    assert Path("/proc/self/oom_score_adj").read_text().strip() == "0"


def test_connection_holding_on_postgres(pg_instance) -> None:
    import sqlalchemy.pool

    engines = pooled_engines(pg_instance)
    assert len(engines) == 2 and all(isinstance(e.pool, sqlalchemy.pool.NullPool) for e in engines)
    hold_connections(pg_instance)
    engines = pooled_engines(pg_instance)
    assert all(isinstance(e.pool, sqlalchemy.pool.QueuePool) for e in engines)
    pg_instance.get_runs(limit=1)
    assert engines[0].pool.checkedin() == 1  # the connection stays open for the next query
    hold_connections(pg_instance)  # already pooled: kept, not replaced
    assert pooled_engines(pg_instance) == engines
    drop_inherited_connections(pg_instance)
    assert engines[0].pool.checkedin() == 0
    release_connections(pg_instance)


def test_interrupts_are_captured_not_raised() -> None:
    from dagster._utils.interrupts import check_captured_interrupt

    with adapter.interrupts_captured():
        os.kill(os.getpid(), signal.SIGINT)
        assert check_captured_interrupt()
    assert issubclass(adapter.INTERRUPTS[1], BaseException)


def test_warmed_definitions_are_what_a_step_process_gets(pg_instance) -> None:
    """A step process rebuilds its job from the run's origin; after warming, that is a cache
    hit on the very object the template built (so a forked step inherits it)."""
    from dagster._utils.hosted_user_process import recon_job_from_origin

    run = _new_run(pg_instance)
    warm_step_definitions(pg_instance, run)
    first = recon_job_from_origin(run.job_code_origin).get_definition()
    assert recon_job_from_origin(run.job_code_origin).get_definition() is first
    assert first.name == "simple_job"
    # The template also built the run's config schema, which every step's plan needs.
    assert first._run_config_schema is not None  # noqa: SLF001 - the cache being pinned


def test_the_loops_sleep_becomes_the_pause() -> None:
    """StepDelegatingExecutor sets `_sleep_seconds` in __init__ and sleeps that long once per
    loop iteration; reading it runs the pause, and the loop sleeps what the pause returns."""
    calls: list[int] = []
    executor = adapter.HookedStepDelegatingExecutor(
        None,  # type: ignore[arg-type]
        retries=RetryMode.DISABLED,
        sleep_seconds=0.25,
        pause=lambda: calls.append(1) or 0.0,
    )
    assert executor._sleep_seconds == 0.0  # noqa: SLF001 - the hook being pinned
    assert calls == [1]


def test_a_finished_step_wakes_the_orchestrator(pg_instance) -> None:
    """With a 20 s poll interval, a run whose steps each waited out the pause would take over
    a minute (fan_out, two squares, total: at least three waits); waking on the template's
    report of each finished step, it ends well within one interval."""
    run, outputs = execute(
        pg_instance,
        J.fan_out_job,
        {
            "ops": {"fan_out": {"config": {"chunks": 2}}},
            "execution": {"config": {"poll_interval_seconds": 20.0}},
        },
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["total"] == 1
    record = pg_instance.get_run_record_by_id(run.run_id)
    assert record.end_time - record.start_time < 20.0


def _mapped_args(step_key: str, mappings: dict) -> ExecuteStepArgs:
    return ExecuteStepArgs(
        job_origin=dg.reconstructable(J.two_fan_outs_job).get_python_origin(),
        run_id="not-needed-for-planning",
        step_keys_to_execute=[step_key],
        instance_ref=None,
        retry_mode=RetryMode.DISABLED,
        known_state=KnownExecutionState(
            previous_retry_attempts={step_key: 1}, dynamic_mappings=mappings
        ),
        print_serialized_events=False,
    )


def test_a_mapped_steps_plan_from_its_own_mapping_key_is_the_full_plans() -> None:
    """`dagster api execute_step` plans a step from the known state it is given. Narrowed to
    the step's own mapping key, every step of a run plans to exactly the step the full state
    gives: a mapped chain, a mapped step that also reads a collected second fan-out with the
    same keys, and the collect steps (which keep every key)."""
    from dagster._core.execution.api import create_execution_plan

    keys = [f"c{i}" for i in range(4)]
    mappings = {"fan_out_a": {"result": keys}, "fan_out_b": {"result": keys}}
    job = J.two_fan_outs_job
    every_step = [
        step_key.replace("[?]", f"[{key}]")
        for step_key in create_execution_plan(job).step_keys_to_execute
        for key in (keys if step_key.endswith("[?]") else [None])
    ]
    assert {"square_2[c3]", "increment[c0]", "scale[c2]", "total", "total_b"} <= set(every_step)
    narrowed_any = False
    for step_key in every_step:
        full = _mapped_args(step_key, mappings)
        narrow = narrowed_to_own_mapping_key(full)
        if "[" not in step_key:
            assert narrow is full
            continue
        narrowed_any = True
        own = step_key.split("[")[1].rstrip("]")
        assert narrow.known_state.dynamic_mappings == {
            "fan_out_a": {"result": [own]},
            "fan_out_b": {"result": [own]},
        }
        assert narrow.known_state.previous_retry_attempts == {step_key: 1}
        plans = [
            create_execution_plan(job, step_keys_to_execute=[step_key], known_state=a.known_state)
            for a in (full, narrow)
        ]
        assert plans[1].step_keys_to_execute == plans[0].step_keys_to_execute == [step_key]
        assert plans[1].get_step_by_key(step_key) == plans[0].get_step_by_key(step_key)
    assert narrowed_any


def test_narrowing_leaves_keys_it_did_not_produce_and_nested_mappings_alone() -> None:
    only_b = {"fan_out_a": {"result": ["c0", "c1"]}, "fan_out_b": {"result": ["c7"]}}
    narrow = narrowed_to_own_mapping_key(_mapped_args("square_2[c1]", only_b))
    assert narrow.known_state.dynamic_mappings == {
        "fan_out_a": {"result": ["c1"]},
        "fan_out_b": {"result": ["c7"]},
    }
    nested = {"fan_out_a": {"result": ["c0"]}, "square_2[c0]": {"result": ["c0"]}}
    args = _mapped_args("square_2[c0]", nested)
    assert narrowed_to_own_mapping_key(args) is args


def test_a_run_of_narrowed_steps_computes_what_the_stock_executor_does(pg_instance) -> None:
    """The same job on the warm pool (every mapped step planned from its own key) and on
    Dagster's multiprocess executor: the same step keys succeed and the same total comes out
    (squares 0,1,4,9 -> +1 -> x total_b (14) -> 252)."""
    config = {
        "ops": {"fan_out_a": {"config": {"chunks": 4}}, "fan_out_b": {"config": {"chunks": 4}}}
    }
    runs = {}
    for name, force_multiprocess in [("warm_pool", False), ("stock", True)]:
        run_config = {**config, "execution": {"config": {"force_multiprocess": force_multiprocess}}}
        runs[name] = execute(pg_instance, J.two_fan_outs_job, run_config)
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run, _ in runs.values())
    assert runs["warm_pool"][1]["total"] == runs["stock"][1]["total"] == 252
    succeeded = {
        name: sorted(step_keys(pg_instance, run.run_id, "STEP_SUCCESS"))
        for name, (run, _) in runs.items()
    }
    assert succeeded["warm_pool"] == succeeded["stock"]
    assert "scale[c3]" in succeeded["warm_pool"]


def test_storage_internals_are_where_the_wrappers_look(pg_instance) -> None:
    """The private attributes the wrappers read exist with the shapes the package uses."""
    import sqlalchemy

    storage = pg_instance.event_log_storage
    assert isinstance(adapter.storage_engine(storage), sqlalchemy.engine.Engine)
    assert adapter.storage_engine(object()) is None
    assert adapter.token_provider(storage) is None
    with adapter.storage_connection(storage) as conn:
        with conn.connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    # store_event's NOTIFY: what the webserver's and daemon's event watchers LISTEN on.
    assert adapter.event_channel() == "run_events"
    assert adapter.compute_log_extensions() == ("out", "err")
