"""The location's job materializes both assets in process, with the credentials read from a
secret file and only their fingerprint recorded."""

from pathlib import Path

import dagster as dg
import pytest

from warehouse.defs.assets import daily_revenue, raw_orders
from warehouse.defs.jobs import warehouse_job
from warehouse.defs.resources import WarehouseCredentials
from warehouse.definitions import defs
from warehouse.lib.secrets import MissingSecret, fingerprint


def _run(secrets_dir: Path) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(
        assets=[raw_orders, daily_revenue],
        jobs=[warehouse_job],
        resources={"credentials": WarehouseCredentials(secrets_dir=str(secrets_dir))},
    ).resolve_job_def("warehouse_job")
    return job.execute_in_process(
        run_config={"ops": {"raw_orders": {"config": {"days": 3, "orders_per_day": 4}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_job_materializes_daily_revenue_with_the_token_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "api_token").write_text("not-a-real-token\n")
    result = _run(tmp_path)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("daily_revenue")
    metadata = materialization.metadata
    assert metadata["days"].value == 3
    assert metadata["api_token_fingerprint"].value == fingerprint("not-a-real-token")
    assert "not-a-real-token" not in str(metadata)


def test_missing_secret_fails_the_step_naming_the_file(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.to_string()
    assert "secret 'api_token' not found at" in message, message


def test_read_secret_message() -> None:
    with pytest.raises(MissingSecret, match="STACK_SECRETS_DIR/warehouse"):
        WarehouseCredentials(secrets_dir="/nonexistent").api_token()


def test_schedule_targets_the_job_and_is_off_until_turned_on() -> None:
    schedule = defs.get_schedule_def("warehouse_daily")
    assert schedule.job_name == "warehouse_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
