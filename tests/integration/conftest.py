import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack_testing.dagster_api import ADMIN_USER, VIEWER_USER

from tests.integration.stack import Stack, free_port

# Settings the integration stack runs with: a schedule that ticks every minute and a sensor
# that looks every few seconds, so both can be seen firing within a test.
TEST_OVERRIDES = {
    "FANOUT_SCHEDULE_CRON": "* * * * *",
    "FANOUT_SCHEDULE_ENABLED": "true",
    "FANOUT_SENSOR_INTERVAL_SECONDS": "3",
    # The run-limit policy the limit tests expect, whatever a developer's .env says.
    "RUN_DEFAULT_CPUS": "1",
    "RUN_DEFAULT_MEMORY": "1g",
    "RUN_MAX_CPUS": "2",
    "RUN_MAX_MEMORY": "4g",
    "RUN_LIMITS_OVER_MAX": "clamp",
    # Below the product's 160m (.env), so the fault suite can provoke what the floor
    # otherwise prevents: a run worker OOM-killed at start. The floor's refusal is tested
    # against this value, and a run at the product's floor is shown to succeed.
    "RUN_MIN_MEMORY": "32m",
    # Alerts within a test's time (tests/integration/test_alerts_limits_retention.py).
    "STACK_ALERT_SENSOR_INTERVAL_SECONDS": "5",
    "STACK_ALERT_QUEUE_AGE_SECONDS": "20",
    "STACK_WATCHDOG_TOLERANCE_SECONDS": "90",
    "STACK_WATCHDOG_INTERVAL_SECONDS": "5",
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    name = os.environ.get("FANOUT_TEST_STACK_NAME") or f"fanouttest-{uuid.uuid4().hex[:6]}"
    secrets_dir = Path(tempfile.mkdtemp(prefix=f"{name}-secrets-"))
    live = Stack(name=name, port=free_port(), secrets_dir=secrets_dir, overrides=dict(TEST_OVERRIDES))
    try:
        # The test stack's own users file: an admin (the helpers' and tools' login) and a viewer.
        live.add_user(ADMIN_USER, "admin")
        live.add_user(VIEWER_USER, "viewer")
        seconds = live.up()
    except Exception as error:
        print(live.diagnostics())
        live.down()
        pytest.fail(f"stack {name} did not come up healthy: {error}")
    print(f"\n[stack] {name} healthy in {seconds:.1f} s on port {live.port}")
    try:
        yield live
    finally:
        # FANOUT_TEST_KEEP_STACK=1 leaves the stack up for the next session (iterating on
        # tests); the next `up --build` reuses and updates it.
        if not os.environ.get("FANOUT_TEST_KEEP_STACK"):
            live.down()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    # A failing integration test carries the stack's state and every service's logs.
    if report.failed and "stack" in getattr(item, "fixturenames", ()):
        live = item.funcargs.get("stack")
        if isinstance(live, Stack):
            report.sections.append(("stack diagnostics", live.diagnostics()))
    return report
