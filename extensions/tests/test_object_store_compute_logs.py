"""S3FileComputeLogManager's seam into dagster_aws and the IO manager's env seam, without a
server: the version guard, the loud fallback to dagster_aws's stock capture, and failures
that name what to fix. test_object_store_s3.py runs both against a real S3-compatible server."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import dagster_aws
import pytest
from dagster._core.storage.compute_log_manager import ComputeIOType
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster_warm_pool.compute_logs import FileComputeLogManager

from stack_object_store import S3FileComputeLogManager, s3_io_manager
from stack_object_store._dagster_aws import (
    TESTED_DAGSTER_AWS_VERSIONS,
    dagster_aws_problem,
    use_local_manager,
)
from stack_object_store.io_manager import build_s3_io_manager
from stack_object_store.settings import ObjectStoreSettingError, object_store_settings


def _manager(tmp_path: Path) -> S3FileComputeLogManager:
    # Building one talks to no server: boto3 makes its client lazily.
    return S3FileComputeLogManager(
        bucket="dagster", endpoint_url="http://127.0.0.1:9", local_dir=str(tmp_path / "logs")
    )


def test_the_installed_dagster_aws_is_the_checked_one() -> None:
    assert dagster_aws_problem(dagster_aws.__version__) is None
    assert TESTED_DAGSTER_AWS_VERSIONS == f"=={dagster_aws.__version__}"


@pytest.mark.parametrize(
    ("installed", "supported", "expected"),
    [
        ("0.29.27", "==0.29.27", None),
        ("0.29.28", "==0.29.27", "outside the versions"),
        ("0.30.0", ">=0.29.27,<0.30", "outside the versions"),
        ("not-a-version", "==0.29.27", "is not a release version"),
        ("0.29.27", "=>0.29", "is not a version specifier"),
    ],
)
def test_version_problem(installed: str, supported: str, expected: str | None) -> None:
    problem = dagster_aws_problem(installed, supported)
    assert problem is None if expected is None else expected in (problem or "")


def test_captures_with_the_warm_pools_file_manager_in_the_configured_directory(
    tmp_path: Path,
) -> None:
    manager = _manager(tmp_path)
    assert manager.file_capture
    assert type(manager.local_manager) is FileComputeLogManager
    path = manager.local_manager.get_captured_local_path(["run", "compute_logs", "k"], "out")
    assert path == str((tmp_path / "logs" / "run" / "compute_logs" / "k.out").resolve())
    manager.dispose()


def test_loads_from_instance_config_with_env_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_S3_BUCKET", "dagster")
    monkeypatch.setenv("STACK_S3_PREFIX", "stack-a")
    monkeypatch.setenv("STACK_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    compute_logs = {
        "module": "stack_object_store",
        "class": "S3FileComputeLogManager",
        "config": {
            "bucket": {"env": "STACK_S3_BUCKET"},
            "prefix": {"env": "STACK_S3_PREFIX"},
            "endpoint_url": {"env": "STACK_S3_ENDPOINT_URL"},
            "local_dir": str(tmp_path / "logs"),
        },
    }
    with dg.instance_for_test(overrides={"compute_logs": compute_logs}) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, S3FileComputeLogManager) and manager.file_capture
        log_key = ["r", "compute_logs", "k"]
        key = manager._s3_key(log_key, ComputeIOType.STDOUT)
        assert key == "stack-a/storage/r/compute_logs/k.out"
        assert manager.local_manager.get_captured_local_path(log_key, "out").startswith(
            str((tmp_path / "logs").resolve())
        )


def test_another_dagster_aws_keeps_the_stock_capture_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dagster_aws, "__version__", "0.30.0")
    warning = "installed dagster-aws 0.30.0 .*stock LocalComputeLogManager"
    with pytest.warns(UserWarning, match=warning):
        manager = _manager(tmp_path)
    assert not manager.file_capture
    assert type(manager.local_manager) is LocalComputeLogManager


def test_a_missing_attribute_keeps_the_stock_capture_loudly(tmp_path: Path) -> None:
    class Without:
        pass

    with pytest.warns(UserWarning, match="no LocalComputeLogManager in _local_manager"):
        local = FileComputeLogManager(str(tmp_path))
        assert not use_local_manager(Without(), local)  # type: ignore[arg-type]


def test_the_io_manager_is_what_dagsters_env_seam_accepts() -> None:
    # job_definition.default_job_io_manager checks exactly this before using it.
    assert isinstance(s3_io_manager, dg.IOManagerDefinition)
    assert not s3_io_manager.config_schema.as_field().is_required


def test_an_unreadable_credentials_file_is_named(tmp_path: Path) -> None:
    settings = object_store_settings(
        {
            "STACK_S3_ENDPOINT_URL": "http://127.0.0.1:9",
            "STACK_S3_BUCKET": "dagster",
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing"),
        }
    )
    with pytest.raises(ObjectStoreSettingError, match="AWS_SHARED_CREDENTIALS_FILE=.*missing"):
        build_s3_io_manager(settings)


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3]


def test_a_missing_setting_fails_the_run_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_MODULE", "stack_object_store.io_manager")
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE", "s3_io_manager")
    monkeypatch.setenv("STACK_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("STACK_S3_BUCKET", raising=False)
    monkeypatch.delenv("DAGSTER_DEFAULT_IO_MANAGER_SILENCE_FAILURES", raising=False)
    with dg.instance_for_test() as instance:
        result = dg.materialize([numbers], instance=instance, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    assert "STACK_S3_BUCKET is not set" in failure.event_specific_data.error.to_string()
