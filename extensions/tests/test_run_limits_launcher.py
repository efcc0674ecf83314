"""The launcher's container context for a run: limits, volumes and labels merged in."""

import pytest
from dagster._core.storage.dagster_run import DagsterRun

from dagster_run_limits import CPUS_TAG, MEMORY_TAG, LimitedDockerRunLauncher, RunLimitsError
from dagster_run_limits.launcher import STACK_LABEL

CONFIG = {
    "network": "teststack-network",
    "stack_name": "teststack",
    "limits": {
        "default_cpus": "1",
        "default_memory": "1g",
        "max_cpus": "2",
        "max_memory": "2g",
        "pids_limit": 128,
        "over_max": "clamp",
    },
    "mounts": [
        {"volume": "teststack-storage", "target": "/opt/dagster/storage", "read_only": False},
        {"volume": "teststack-data", "target": "/opt/dagster/data", "read_only": True},
    ],
    "container_kwargs": {"labels": {"dagster-fanout/role": "run"}},
}


def _launcher() -> LimitedDockerRunLauncher:
    from dagster._config import process_config

    processed = process_config(LimitedDockerRunLauncher.config_type(), CONFIG)
    assert processed.success, processed.errors
    return LimitedDockerRunLauncher.from_config_value(None, processed.value)


def _run(tags: dict[str, str]) -> DagsterRun:
    return DagsterRun(job_name="fanout_job", run_id="abc", tags=tags)


def test_container_kwargs_carry_limits_mounts_and_labels() -> None:
    kwargs = _launcher().get_container_context(_run({CPUS_TAG: "1.5"})).container_kwargs
    assert kwargs["nano_cpus"] == 1_500_000_000
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 1024**3
    assert kwargs["pids_limit"] == 128
    assert kwargs["volumes"] == {
        "teststack-storage": {"bind": "/opt/dagster/storage", "mode": "rw"},
        "teststack-data": {"bind": "/opt/dagster/data", "mode": "ro"},
    }
    assert kwargs["labels"] == {"dagster-fanout/role": "run", STACK_LABEL: "teststack"}


def test_clamped_to_the_operator_maximum() -> None:
    kwargs = _launcher().get_container_context(
        _run({CPUS_TAG: "6", MEMORY_TAG: "3g"})
    ).container_kwargs
    assert kwargs["nano_cpus"] == 2_000_000_000
    assert kwargs["mem_limit"] == 2 * 1024**3


def test_invalid_tag_raises_before_any_container() -> None:
    with pytest.raises(RunLimitsError, match="lots"):
        _launcher().get_container_context(_run({CPUS_TAG: "lots"}))


def test_config_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._config import process_config

    monkeypatch.setenv("TEST_DEFAULT_CPUS", "0.5")
    config = {**CONFIG, "limits": {**CONFIG["limits"], "default_cpus": {"env": "TEST_DEFAULT_CPUS"}}}
    processed = process_config(LimitedDockerRunLauncher.config_type(), config)
    launcher = LimitedDockerRunLauncher.from_config_value(None, processed.value)
    assert launcher.get_container_context(_run({})).container_kwargs["nano_cpus"] == 500_000_000


def test_a_failed_pull_of_a_missing_image_is_recognised() -> None:
    """DockerRunLauncher pulls when `create` says ImageNotFound; the pull's own error (no
    registry, or the proxy refusing it) carries the ImageNotFound as its context."""
    import docker.errors

    from dagster_run_limits.launcher import _is_image_not_found

    try:
        try:
            raise docker.errors.ImageNotFound("No such image: x")
        except docker.errors.ImageNotFound:
            raise docker.errors.APIError("403 Client Error: Forbidden") from None
    except docker.errors.APIError as error:
        pull_error = error
    assert pull_error.__context__ is not None
    assert _is_image_not_found(pull_error)
    assert not _is_image_not_found(docker.errors.APIError("500 Server Error"))


def test_floor_comes_from_config() -> None:
    from dagster._config import process_config

    config = {**CONFIG, "limits": {**CONFIG["limits"], "min_memory": "160m"}}
    processed = process_config(LimitedDockerRunLauncher.config_type(), config)
    launcher = LimitedDockerRunLauncher.from_config_value(None, processed.value)
    with pytest.raises(RunLimitsError, match='ask for at least "160m"'):
        launcher.resolve_limits(_run({MEMORY_TAG: "64m"}))
