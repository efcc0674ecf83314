"""Warm pool: captured step logs (default `no_mirror`) and pooled DB connections.

The Postgres tests use the session's `postgres_url` fixture (tests/conftest.py): a
throwaway Postgres container, or TEST_POSTGRES_URL.
"""

import multiprocessing
import os

import dagster as dg
import pytest

import warm_pool_jobs as J
from user_code.executors.config import DEFAULT_COMPUTE_LOGS
from user_code.executors.db_connections import hold_connections, relax_event_commits

pytestmark = pytest.mark.timeout(90)



def _captured(instance, result) -> dict[str, tuple[str, str]]:
    """step key -> (stdout, stderr) as the UI would read them from the log manager."""
    out = {}
    manager = instance.compute_log_manager
    for event in result.all_events:
        if event.event_type_value != "LOGS_CAPTURED":
            continue
        data = event.event_specific_data
        log_key = manager.build_log_key_for_run(result.run_id, data.file_key)
        assert manager.is_capture_complete(log_key)
        captured = manager.get_log_data(log_key)
        for step_key in data.step_keys:
            out[step_key] = (
                (captured.stdout or b"").decode(),
                (captured.stderr or b"").decode(),
            )
    return out


@pytest.mark.parametrize("mode", ["no_mirror", "instance"])
def test_step_output_reaches_captured_logs(tmp_path, mode):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        cfg = {"execution": {"config": {"compute_logs": mode}}}
        with dg.execute_job(dg.reconstructable(J.printing_job), instance=instance, run_config=cfg) as result:
            assert result.success
            logs = _captured(instance, result)
    stdout, stderr = logs["prints_both"]
    assert "hello-stdout from prints_both" in stdout
    assert "raw-fd-write from prints_both" in stdout
    assert "hello-stderr from prints_both" in stderr
    assert "hello-stdout" not in logs["prints_after"][0]  # per-step files, nothing leaks
    assert "second step got 1" in logs["prints_after"][0]


def test_no_mirror_is_the_default():
    assert DEFAULT_COMPUTE_LOGS == "no_mirror"
    field = J.printing_job.executor_def.config_schema.as_field().config_type.fields["compute_logs"]
    assert field.default_value == "no_mirror"


def test_hold_connections_is_a_noop_on_sqlite(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        hold_connections(instance)
        assert relax_event_commits(instance) is False
        assert instance.get_runs() == []


@pytest.fixture
def pg_instance(tmp_path, postgres_url):
    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance


def _show(instance, setting: str) -> str:
    import sqlalchemy

    with instance.event_log_storage._engine.connect() as conn:  # noqa: SLF001
        return conn.execute(sqlalchemy.text(f"SHOW {setting}")).scalar()


def test_pooled_connection_survives_a_forked_child(pg_instance):
    hold_connections(pg_instance)
    engine = pg_instance.event_log_storage._engine  # noqa: SLF001
    with engine.connect() as conn:
        import sqlalchemy

        before = conn.execute(sqlalchemy.text("select pg_backend_pid()")).scalar()
    ctx = multiprocessing.get_context("fork")
    # The child touches nothing; at exit it must not close the parent's session.
    child = ctx.Process(target=os._exit, args=(0,))
    child.start()
    child.join(10)
    assert child.exitcode == 0
    with engine.connect() as conn:
        after = conn.execute(sqlalchemy.text("select pg_backend_pid()")).scalar()
    assert after == before  # the same pooled session, still usable
    assert isinstance(pg_instance.get_runs(limit=1), list)


def test_relax_event_commits_sets_synchronous_commit_off(pg_instance):
    hold_connections(pg_instance)
    assert _show(pg_instance, "synchronous_commit") == "on"
    assert relax_event_commits(pg_instance) is True
    assert _show(pg_instance, "synchronous_commit") == "off"


@pytest.mark.parametrize("synchronous_commit", [True, False])
def test_fan_out_on_postgres(pg_instance, synchronous_commit):
    cfg = {
        "ops": {"fan_out": {"config": {"chunks": 6}}},
        "execution": {"config": {"synchronous_commit": synchronous_commit}},
    }
    with dg.execute_job(dg.reconstructable(J.fan_out_job), instance=pg_instance, run_config=cfg) as result:
        assert result.success
        assert result.output_for_node("total") == sum(i * i for i in range(6))
    # The orchestrator's instance kept working on its pooled connection afterwards.
    assert pg_instance.get_run_by_id(result.run_id).is_success
