import dagster as dg
import pytest

from fanout.deployment import (
    EXECUTOR_BUILDERS,
    FORKSERVER_PRELOAD_MODULES,
    automation_enabled,
    build_executor,
    data_dir,
    executor_name,
    is_stack,
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "in_process"),
        ({"STACK_DEPLOYMENT": "local"}, "in_process"),
        ({"STACK_DEPLOYMENT": "stack"}, "warm_pool"),
        ({"STACK_DEPLOYMENT": "stack", "FANOUT_EXECUTOR": "multiprocess"}, "multiprocess"),
        ({"STACK_DEPLOYMENT": "stack", "FANOUT_EXECUTOR": "in_process"}, "in_process"),
        ({"FANOUT_EXECUTOR": "multiprocess"}, "multiprocess"),
        ({"FANOUT_EXECUTOR": " "}, "in_process"),
    ],
)
def test_executor_name(env: dict[str, str], expected: str) -> None:
    assert executor_name(env) == expected


def test_unknown_executor_refused_with_choices() -> None:
    with pytest.raises(ValueError, match=r"FANOUT_EXECUTOR='warm' is not one of \['in_process', 'multiprocess', 'warm_pool'\]"):
        executor_name({"FANOUT_EXECUTOR": "warm"})


def test_multiprocess_executor_is_named_and_configured() -> None:
    executor = build_executor(env={"FANOUT_EXECUTOR": "multiprocess"})
    assert executor.name == "multiprocess"
    # The full config is exercised by a real run in test_multiprocess_run.py.


def test_warm_pool_executor_is_named() -> None:
    executor = build_executor(env={"FANOUT_EXECUTOR": "warm_pool"})
    assert executor.name == "warm_pool"


def test_in_process_executor() -> None:
    assert build_executor(env={}) is dg.in_process_executor


def test_builders_registry_is_the_extension_point() -> None:
    assert set(EXECUTOR_BUILDERS) == {"in_process", "multiprocess", "warm_pool"}
    assert "fanout.definitions" in FORKSERVER_PRELOAD_MODULES


def test_the_old_deployment_name_is_read_for_one_release_with_a_warning() -> None:
    with pytest.warns(FutureWarning, match="DAGSTER_DEPLOYMENT is renamed STACK_DEPLOYMENT"):
        assert is_stack({"DAGSTER_DEPLOYMENT": "stack"})
    assert not is_stack({"STACK_DEPLOYMENT": "local", "DAGSTER_DEPLOYMENT": "stack"})


def test_data_dir_defaults() -> None:
    assert str(data_dir({})) == ".cache/data"
    assert str(data_dir({"STACK_DEPLOYMENT": "stack"})) == "/opt/dagster/data"
    assert str(data_dir({"FANOUT_DATA_DIR": "/x"})) == "/x"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"STACK_DEPLOYMENT": "stack"}, True),
        ({"STACK_DEPLOYMENT": "stack", "FANOUT_SCHEDULE_ENABLED": "false"}, False),
        ({"STACK_DEPLOYMENT": "stack", "FANOUT_SCHEDULE_ENABLED": "FALSE"}, False),
        ({"FANOUT_SCHEDULE_ENABLED": "true"}, False),
    ],
)
def test_automation_enabled(env: dict[str, str], expected: bool) -> None:
    assert automation_enabled(env) is expected


@pytest.mark.parametrize("name", ["warm_pool", "multiprocess"])
def test_run_config_still_reaches_the_deployments_executor(name: str) -> None:
    """The deployment sets defaults, not fixed values: a run can still configure its executor,
    and a job's own tag limits apply unless the run sets others."""
    from dagster._core.system_config.objects import ResolvedRunConfig

    executor = build_executor([{"key": "k", "value": "v", "limit": 1}], env={"FANOUT_EXECUTOR": name})

    @dg.op
    def noop() -> None:
        pass

    @dg.job(executor_def=executor)
    def job() -> None:
        noop()

    default = ResolvedRunConfig.build(job, {}).execution.execution_engine_config
    assert default["tag_concurrency_limits"] == [{"key": "k", "value": "v", "limit": 1}]
    assert "limits/memory" in default["memory_limit_hint"]
    chosen = ResolvedRunConfig.build(
        job, {"execution": {"config": {"max_concurrent": 3, "tag_concurrency_limits": []}}}
    ).execution.execution_engine_config
    assert chosen["max_concurrent"] == 3
