"""Turning fanout_schedule off and on in the UI: each state is stored, so a reload shows it."""

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.automation_state import set_instigator, stack_instigators
from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import open_showing

SCHEDULE = "fanout_schedule"


@pytest.fixture
def schedule_running(stack: Stack) -> Iterator[None]:
    """The test starts from RUNNING; afterwards the schedule is put back as it was (the
    automation test stops it, so that a heavy run a minute does not hold up other tests)."""
    before = _status(stack)
    if before != "RUNNING":
        set_instigator(stack, SCHEDULE, running=True)
    yield
    if before == "STOPPED" and _status(stack) == "RUNNING":
        set_instigator(stack, SCHEDULE, running=False)
    elif before == "RUNNING" and _status(stack) != "RUNNING":
        set_instigator(stack, SCHEDULE, running=True)


def _status(stack: Stack) -> str:
    return stack_instigators(stack)[SCHEDULE]


def _running_switch(page: Page) -> Locator:
    return page.get_by_role("row", name="Running").get_by_role("checkbox")


def _flip(switch: Locator) -> None:
    # The checkbox input is drawn as a switch: the visible, clickable part is its label.
    switch.locator("xpath=ancestor::label[1]").click()


def test_schedule_off_and_on_survives_a_reload(
    page: Page, shots: Screenshots, stack: Stack, schedule_running: None
) -> None:
    open_showing(page, "/automation", lambda p: p.get_by_role("link", name=SCHEDULE).first)
    page.get_by_role("link", name=SCHEDULE).first.click()
    switch = _running_switch(page)
    expect(switch).to_be_checked()
    shots(page, "running")

    for turn_on, stored in ((False, "STOPPED"), (True, "RUNNING")):
        _flip(switch)
        expect(switch).to_be_checked(checked=turn_on)
        # The switch flips at once; the mutation behind it may still be in flight on a busy
        # host, and a reload would race it. Reload once the instance has stored the change.
        _wait_for_stored(stack, stored)
        page.reload()
        expect(_running_switch(page)).to_be_checked(checked=turn_on)
        assert _status(stack) == stored
        shots(page, f"after-reload-{stored.lower()}")


def _wait_for_stored(stack: Stack, status: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (current := _status(stack)) != status:
        assert (
            time.monotonic() < deadline
        ), f"{SCHEDULE} still {current} {timeout_s:.0f} s after the toggle"
        time.sleep(0.25)
