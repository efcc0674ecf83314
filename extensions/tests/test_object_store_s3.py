"""The object store end to end against a real S3-compatible server: the stack's objectstore
image (`rclone serve s3`) in a container, as the Swarm stack runs it.

- The default IO manager, swapped in through Dagster's env seam with no code change, writes an
  asset to the bucket in one run and a second run, on a fresh instance, loads it from there.
- S3FileComputeLogManager captures a step's output without starting a process, uploads it
  when the capture ends, and another manager (the webserver on another node: its own, empty
  local directory) reads it back through the API the UI uses.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
from dagster._core.storage.compute_log_manager import ComputeIOType
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from dagster_warm_pool import warm_pool_executor
from dagster_warm_pool.process_control import child_pids
from stack_testing.objectstore import ObjectStore, throwaway_objectstore

from stack_object_store import S3FileComputeLogManager

pytestmark = pytest.mark.docker

# Stray AWS settings of the machine running the tests would change what boto3 reads.
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
)


@pytest.fixture(scope="session")
def objectstore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    # Not skipped when Docker is missing or the image does not build: the store failing to
    # start fails the tests (the plugin's rule for service tests).
    try:
        with throwaway_objectstore(tmp_path_factory.mktemp("objectstore")) as store:
            yield store
    except (RuntimeError, OSError) as error:
        pytest.fail(f"the objectstore container did not start: {error}")


@pytest.fixture
def store_env(objectstore: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The stack's object store variables, with a prefix of the test's own."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = objectstore.environment(prefix=f"test-{uuid.uuid4().hex[:8]}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # boto3's process-wide session (the IO manager's and dagster_aws's clients come from it)
    # reads the credentials file's name once; a session made before these variables were set
    # would look elsewhere. A deployed process has them from its start.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return env


def _client(env: dict[str, str]) -> Any:
    # boto3 reads AWS_SHARED_CREDENTIALS_FILE from the (monkeypatched) environment.
    return boto3.session.Session().client("s3", endpoint_url=env["STACK_S3_ENDPOINT_URL"])


def _keys(env: dict[str, str], prefix: str) -> list[str]:
    listing = _client(env).list_objects_v2(Bucket=env["STACK_S3_BUCKET"], Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@dg.asset
def numbers() -> list[int]:
    return [1, 2, 3, 4]


@dg.asset
def total(numbers: list[int]) -> int:
    return sum(numbers)


def test_default_io_manager_round_trips_through_the_bucket(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_MODULE", "stack_object_store.io_manager")
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE", "s3_io_manager")
    prefix = store_env["STACK_S3_PREFIX"]

    with dg.instance_for_test() as instance:
        first = dg.materialize([numbers], instance=instance)
    assert first.success
    key = f"{prefix}/io/numbers"
    assert _keys(store_env, f"{prefix}/") == [key]
    (materialization,) = first.asset_materializations_for_node("numbers")
    assert materialization.metadata["uri"].value == f"s3://{store_env['STACK_S3_BUCKET']}/{key}"

    # Another instance with its own, empty local storage (another node): `numbers` can only
    # come from the bucket.
    with dg.instance_for_test() as instance:
        second = dg.materialize([numbers, total], selection=[total], instance=instance)
    assert second.success
    assert second.output_for_node("total") == 10
    assert f"{prefix}/io/total" in _keys(store_env, f"{prefix}/")


def _compute_logs_config(cls: type, local_dir: Path) -> dict[str, Any]:
    # As dagster.yaml gives it: every S3 setting from the environment.
    return {
        "module": cls.__module__,
        "class": cls.__name__,
        "config": {
            "bucket": {"env": "STACK_S3_BUCKET"},
            "prefix": {"env": "STACK_S3_PREFIX"},
            "endpoint_url": {"env": "STACK_S3_ENDPOINT_URL"},
            "local_dir": str(local_dir),
        },
    }


def _run_printing_step(cls: type, tmp_path: Path, token: str) -> tuple[list[str], set[int], Path]:
    """Materialize an asset that prints `token` to stdout and stderr on an instance whose
    compute log manager is `cls`; the run's log key, the processes that appeared (as children
    of this process) while the step ran, and the run side's local log directory."""
    baseline = child_pids()
    appeared: set[int] = set()

    @dg.asset
    def printing() -> None:
        print(f"stdout {token}")
        print(f"stderr {token}", file=sys.stderr)
        appeared.update(child_pids() - baseline)

    local_dir = tmp_path / "run-side"
    overrides = {"compute_logs": _compute_logs_config(cls, local_dir)}
    with dg.instance_for_test(overrides=overrides) as instance:
        manager = instance.compute_log_manager
        assert type(manager) is cls
        result = dg.materialize([printing], instance=instance)
    assert result.success
    (captured,) = [e for e in result.all_events if e.event_type_value == "LOGS_CAPTURED"]
    file_key = captured.event_specific_data.file_key
    return list(manager.build_log_key_for_run(result.run_id, file_key)), appeared, local_dir


def test_compute_logs_are_captured_without_processes_and_read_from_the_bucket(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    token = uuid.uuid4().hex
    log_key, appeared, run_side = _run_printing_step(S3FileComputeLogManager, tmp_path, token)

    assert appeared == set(), f"the capture started processes: {appeared}"
    # Uploaded when the capture completed, and the run side's local copies removed.
    prefix = store_env["STACK_S3_PREFIX"]
    stem = "/".join([prefix, "storage", *log_key])
    assert _keys(store_env, f"{prefix}/") == [f"{stem}.err", f"{stem}.out"]
    assert not [p for p in run_side.rglob("*") if p.is_file()]

    # The webserver's manager, on another node: built from the same config, nothing local.
    reader = S3FileComputeLogManager(
        bucket=store_env["STACK_S3_BUCKET"],
        prefix=prefix,
        endpoint_url=store_env["STACK_S3_ENDPOINT_URL"],
        local_dir=str(tmp_path / "webserver"),
    )
    try:
        assert reader.file_capture
        assert reader.is_capture_complete(log_key)
        data = reader.get_log_data(log_key)
        assert data.stdout is not None and f"stdout {token}" in data.stdout.decode()
        assert data.stderr is not None and f"stderr {token}" in data.stderr.decode()
        metadata = reader.get_log_metadata(log_key)
        assert metadata.stdout_location == f"s3://{store_env['STACK_S3_BUCKET']}/{stem}.out"
        # The backfill log view's reader: every log key under a prefix, as lines.
        lines, _cursor = reader.read_log_lines_for_log_key_prefix(
            log_key[:-1], cursor=None, io_type=ComputeIOType.STDOUT
        )
        assert f"stdout {token}" in lines
        # Nothing under a prefix: no logs (dagster_aws's own listing raises KeyError here,
        # since rclone leaves KeyCount out of an empty listing).
        assert reader.get_log_keys_for_log_key_prefix(["no-such-run"], ComputeIOType.STDOUT) == []
        assert reader.read_log_lines_for_log_key_prefix(
            ["no-such-run"], cursor=None, io_type=ComputeIOType.STDOUT
        ) == ([], None)
    finally:
        reader.dispose()


def test_dagster_aws_stock_manager_starts_mirror_processes(
    store_env: dict[str, str], tmp_path: Path
) -> None:
    # What the test above rules out does happen with dagster_aws's own manager, so the
    # child-process check is able to see it.
    _log_key, appeared, _run_side = _run_printing_step(S3ComputeLogManager, tmp_path, "stock")
    assert len(appeared) >= 2


@dg.op
def one() -> int:
    return 1


@dg.op
def add_one(x: int) -> int:
    return x + 1


# Module level, so reconstructable: the warm pool's template loads it by its module.
@dg.job(executor_def=warm_pool_executor)
def warm_pool_job() -> None:
    add_one(add_one(one()))


def test_a_warm_pool_run_passes_outputs_and_uploads_logs_through_the_bucket(
    store_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The stack's path for a run: a job on the warm-pool executor, each step in a process
    # forked from the template, which built the compute log manager (and boto3's default
    # session with it) before forking. Dagster's own storages: the object store is the point.
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_MODULE", "stack_object_store.io_manager")
    monkeypatch.setenv("DAGSTER_DEFAULT_IO_MANAGER_ATTRIBUTE", "s3_io_manager")
    compute_logs = _compute_logs_config(S3FileComputeLogManager, tmp_path / "run-side")
    overrides = {"compute_logs": compute_logs}
    with dg.instance_for_test(overrides=overrides) as instance:
        with dg.execute_job(
            dg.reconstructable(warm_pool_job), instance=instance
        ) as result:
            assert result.success
            # Loaded back from the bucket by this process.
            assert result.output_for_node("add_one_2") == 3
        run_id = result.run_id
        manager = instance.compute_log_manager
        captures = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event
                    and e.dagster_event.event_type_value == "LOGS_CAPTURED"]  # fmt: skip
        # One capture per step, each in its own step process.
        assert sorted(step for c in captures for step in c.event_specific_data.step_keys) == [
            "add_one", "add_one_2", "one"
        ]
        assert len({c.pid for c in captures}) == 3
        log_keys = [
            list(manager.build_log_key_for_run(run_id, c.event_specific_data.file_key))
            for c in captures
        ]

    prefix = store_env["STACK_S3_PREFIX"]
    keys = _keys(store_env, f"{prefix}/")
    outputs = [k for k in keys if k.startswith(f"{prefix}/io/storage/{run_id}/")]
    assert sorted(k.rsplit("/", 2)[1] for k in outputs) == ["add_one", "add_one_2", "one"]
    for log_key in log_keys:
        stem = "/".join([prefix, "storage", *log_key])
        assert {f"{stem}.out", f"{stem}.err"} <= set(keys), (log_key, keys)
    assert not [p for p in (tmp_path / "run-side").rglob("*") if p.is_file()]
