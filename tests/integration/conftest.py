import os
import uuid
from collections.abc import Iterator

import pytest

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
}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    name = os.environ.get("FANOUT_TEST_STACK_NAME") or f"fanouttest-{uuid.uuid4().hex[:6]}"
    live = Stack(name=name, port=free_port(), overrides=dict(TEST_OVERRIDES))
    try:
        seconds = live.up()
    except Exception as error:
        print(live.diagnostics())
        live.down()
        pytest.fail(f"stack {name} did not come up healthy: {error}")
    print(f"\n[stack] {name} healthy in {seconds:.1f} s on port {live.port}")
    try:
        yield live
    finally:
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
