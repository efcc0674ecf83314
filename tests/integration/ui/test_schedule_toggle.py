"""Turning fanout_schedule off and on in the UI: each state is stored, so a reload shows it."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots

SELECTOR = {
    "repositoryLocationName": "fanout",
    "repositoryName": "__repository__",
    "scheduleName": "fanout_schedule",
}


def _stored_status(stack: Stack) -> str:
    data = stack.graphql(
        "query ($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {"
        " ... on Schedule { scheduleState { status } } } }",
        {"s": SELECTOR},
    )
    return data["scheduleOrError"]["scheduleState"]["status"]


def _start(stack: Stack) -> None:
    stack.graphql(
        "mutation ($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { __typename } }",
        {"s": SELECTOR},
    )


@pytest.fixture
def schedule_running(stack: Stack) -> Iterator[None]:
    """Starts RUNNING (the stack's default), and ends RUNNING whatever happens in the test:
    other tests count on the schedule ticking."""
    if _stored_status(stack) != "RUNNING":
        _start(stack)
    yield
    if _stored_status(stack) != "RUNNING":
        _start(stack)


def _running_switch(page: Page) -> Locator:
    return page.get_by_role("row", name="Running").get_by_role("checkbox")


def _flip(switch: Locator) -> None:
    # The checkbox input is drawn as a switch: the visible, clickable part is its label.
    switch.locator("xpath=ancestor::label[1]").click()


def test_schedule_off_and_on_survives_a_reload(
    page: Page, shots: Screenshots, stack: Stack, schedule_running: None
) -> None:
    page.goto("/automation")
    page.get_by_role("link", name="fanout_schedule").first.click()
    switch = _running_switch(page)
    expect(switch).to_be_checked()
    shots(page, "running")

    for turn_on, stored in ((False, "STOPPED"), (True, "RUNNING")):
        _flip(switch)
        expect(switch).to_be_checked(checked=turn_on)
        page.reload()
        expect(_running_switch(page)).to_be_checked(checked=turn_on)
        assert _stored_status(stack) == stored
        shots(page, f"after-reload-{stored.lower()}")
