"""Production-style triggers in the live stack: the schedule ticks on the cron the
environment gives it, and the sensor starts a run when a records file lands."""

import json
import uuid

from tests.integration.automation_state import set_instigator
from tests.integration.stack import Stack


def test_schedule_tick_produces_a_successful_run(stack: Stack) -> None:
    # The test stack sets FANOUT_SCHEDULE_CRON="* * * * *"; the schedule is RUNNING by default.
    run_id = stack.wait_for_tagged_run("dagster/schedule_name", "fanout_schedule", timeout=150)
    # One tick is what this test needs; left running, a heavy fan-out run a minute would keep
    # the queue's single heavy slot busy and other tests' fanout_job runs waiting.
    set_instigator(stack, "fanout_schedule", running=False)  # asserts it is STOPPED
    status = stack.wait_for_run(run_id, timeout=300)
    assert status == "SUCCESS", stack.failure_messages(run_id)


def test_sensor_starts_a_run_for_a_new_records_file(stack: Stack) -> None:
    name = f"batch-{uuid.uuid4().hex[:8]}.json"
    records = [{"id": f"order/{n}", "units": 10 + n} for n in range(3)]
    # Written the way an upstream system would: into the stack's data volume.
    incoming = "/opt/dagster/data/incoming"
    exit_code, output = stack.code_server("fanout").exec_run(
        ["sh", "-c", f'printf %s "$0" > {incoming}/.{name}.tmp && mv {incoming}/.{name}.tmp {incoming}/{name}',
         json.dumps(records)]
    )  # fmt: skip
    assert exit_code == 0, output
    run_id = stack.wait_for_tagged_run("dagster/sensor_name", "records_file_sensor", timeout=120)
    status = stack.wait_for_run(run_id, timeout=300)
    assert status == "SUCCESS", stack.failure_messages(run_id)
    (run,) = stack.runs({"runIds": [run_id]})
    assert any(name in tag["value"] for tag in run["tags"]), run["tags"]
