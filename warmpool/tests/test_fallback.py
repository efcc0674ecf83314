"""The guard: a run the warm pool cannot be trusted with runs on Dagster's multiprocess
executor instead, says so in a WARNING event, and never fails because of the guard."""

import logging

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from dagster_warm_pool import FALLBACK_PREFIX, SUPPORTED_VERSIONS_ENV
from dagster_warm_pool.guard import version_problem
from dagster_warm_pool.supported_versions import default_supported_versions
from warm_pool_runs import events, execute, step_pids, template_pid

pytestmark = pytest.mark.timeout(180)

FAN_OUT = {"ops": {"fan_out": {"config": {"chunks": 3}}}}


def _warnings(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [
        e.dagster_event.message
        for e in events(instance, run_id, "ENGINE_EVENT")
        if e.level == logging.WARNING
    ]


def _ran_on_stock_multiprocess(instance: dg.DagsterInstance, run_id: str) -> bool:
    messages = [e.dagster_event.message or "" for e in events(instance, run_id)]
    return any(
        m.startswith("Multiprocess executor: Starting execution")
        or "multiprocess executor" in m.lower()
        for m in messages
    ) and not any(m.startswith("Warm pool: template pid") for m in messages)


def test_an_untested_dagster_version_falls_back_with_a_warning(pg_instance) -> None:
    # The installed Dagster is real; the supported range is set so it excludes it.
    cfg = {**FAN_OUT, "execution": {"config": {"supported_dagster_versions": "==0.0.1"}}}
    run, outputs = execute(pg_instance, J.fan_out_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["total"] == 0 + 1 + 4
    (warning,) = _warnings(pg_instance, run.run_id)
    assert warning.startswith(f"{FALLBACK_PREFIX} installed Dagster {dg.__version__} is outside")
    assert "(==0.0.1)" in warning and "Dagster's multiprocess executor" in warning
    assert _ran_on_stock_multiprocess(pg_instance, run.run_id)
    assert len(set(step_pids(pg_instance, run.run_id))) == 5


def test_a_failed_probe_falls_back_with_a_warning(pg_instance) -> None:
    # A template that cannot start (a module it must preload does not exist) fails the probe.
    # The installed release is declared supported, so the probe is what fails on any release
    # (the upgrade rehearsal runs this on untested ones).
    cfg = {
        **FAN_OUT,
        "execution": {
            "config": {
                "preload_modules": ["no_such_module_for_warm_pool"],
                "supported_dagster_versions": f"=={dg.__version__}",
            }
        },
    }
    run, outputs = execute(pg_instance, J.fan_out_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["total"] == 5
    (warning,) = _warnings(pg_instance, run.run_id)
    assert warning.startswith(
        f"{FALLBACK_PREFIX} start-up probe failed: the template process failed to start"
    )
    assert "No module named 'no_such_module_for_warm_pool'" in warning
    assert _ran_on_stock_multiprocess(pg_instance, run.run_id)


def test_the_default_range_follows_the_installed_version(pg_instance) -> None:
    """No supported_dagster_versions in run config: inside the default range (the tested
    release, or $WARM_POOL_SUPPORTED_DAGSTER_VERSIONS) the warm pool runs with no warning;
    outside it, the run falls back with the warning. The pinned venv takes the first branch
    (test_guard pins that); scripts/upgrade_rehearsal.sh runs both on other releases."""
    run, outputs = execute(pg_instance, J.fan_out_job, FAN_OUT)
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["total"] == 5
    problem = version_problem(dg.__version__, default_supported_versions())
    warnings = _warnings(pg_instance, run.run_id)
    if problem is None:
        assert warnings == []
        assert not _ran_on_stock_multiprocess(pg_instance, run.run_id)
        assert template_pid(pg_instance, run.run_id) > 0
    else:
        (warning,) = warnings
        assert warning.startswith(f"{FALLBACK_PREFIX} {problem}. The run goes on with Dagster's")
        assert _ran_on_stock_multiprocess(pg_instance, run.run_id)
        print(warning)  # the upgrade rehearsal reports the text a user would see


def test_the_environment_variable_sets_the_default_range(pg_instance, monkeypatch) -> None:
    # Read by the executor in the run worker, which here is this process (execute_job).
    monkeypatch.setenv(SUPPORTED_VERSIONS_ENV, "==0.0.1")
    run, outputs = execute(pg_instance, J.fan_out_job, FAN_OUT)
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["total"] == 5
    (warning,) = _warnings(pg_instance, run.run_id)
    assert warning.startswith(f"{FALLBACK_PREFIX} installed Dagster {dg.__version__} is outside")
    assert "(==0.0.1)" in warning
    assert _ran_on_stock_multiprocess(pg_instance, run.run_id)


def test_run_config_wins_over_the_environment_variable(pg_instance, monkeypatch) -> None:
    monkeypatch.setenv(SUPPORTED_VERSIONS_ENV, "==0.0.1")
    cfg = {
        **FAN_OUT,
        "execution": {"config": {"supported_dagster_versions": f"=={dg.__version__}"}},
    }
    run, _ = execute(pg_instance, J.fan_out_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert _warnings(pg_instance, run.run_id) == []
    assert template_pid(pg_instance, run.run_id) > 0


def test_force_multiprocess_is_an_informed_choice_not_a_warning(pg_instance) -> None:
    cfg = {**FAN_OUT, "execution": {"config": {"force_multiprocess": True}}}
    run, outputs = execute(pg_instance, J.fan_out_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["total"] == 5
    assert _warnings(pg_instance, run.run_id) == []
    messages = [
        e.dagster_event.message or "" for e in events(pg_instance, run.run_id, "ENGINE_EVENT")
    ]
    assert any(
        m.startswith("Warm pool set aside for this run: force_multiprocess is set")
        for m in messages
    )
    assert _ran_on_stock_multiprocess(pg_instance, run.run_id)
