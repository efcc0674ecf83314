"""The front door in the browser: a viewer sees runs and assets but no action that changes
anything, an admin launches a run, and without a login the UI is refused."""

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from bench.burst import JOB
from stack_testing.dagster_api import ADMIN_USER, VIEWER_USER

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.conftest import open_page
from tests.integration.ui.dagster_ui import launch, open_launchpad, open_run, open_showing, type_config

pytestmark = [pytest.mark.integration, pytest.mark.ui]

# One chunk that sleeps long enough for the run page to offer Terminate while it runs.
SLOW_CONFIG = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 120.0}}}}
TRIVIAL_YAML = """\
ops:
  plan_chunk_steps:
    config:
      chunk_count: 1
      chunk_seconds: 0.0
"""


@pytest.fixture
def running_run(stack: Stack) -> Iterator[str]:
    """A run in flight, launched by the admin; terminated afterwards."""
    run_id = stack.launch(JOB, run_config=SLOW_CONFIG, tags={"test": "frontdoor-ui"})
    # Until its container runs: Chromium aborts page loads (ERR_NETWORK_CHANGED) while Docker
    # adds the container's network interface.
    deadline = time.monotonic() + 120
    while stack.client.get_run_status(run_id).value != "STARTED":
        assert time.monotonic() < deadline, f"run {run_id} not started"
        time.sleep(0.5)
    time.sleep(2)
    try:
        yield run_id
    finally:
        stack.graphql(
            "mutation ($id: String!) { terminateRun(runId: $id) { __typename } }", {"id": run_id}
        )


def enabled_buttons(page: Page, name: str) -> int:
    buttons = page.get_by_role("button", name=name)
    return sum(1 for i in range(buttons.count()) if buttons.nth(i).is_enabled())


def test_viewer_sees_runs_and_assets_but_no_action(
    browser: Browser, stack: Stack, running_run: str
) -> None:
    shots = Screenshots("frontdoor-viewer")
    admin = open_page(browser, stack, ADMIN_USER)
    viewer = open_page(browser, stack, VIEWER_USER)
    try:
        # The admin's run page offers Terminate for the run in flight; the viewer's does not.
        open_run(admin, running_run)
        expect(admin.get_by_role("button", name="Terminate")).to_be_visible()
        open_run(viewer, running_run)
        shots(viewer, "run-page")
        assert enabled_buttons(viewer, "Terminate") == 0

        open_showing(viewer, "/runs", lambda p: p.get_by_role("link", name=running_run[:8]).first)
        shots(viewer, "runs")

        open_showing(viewer, "/assets/fanout_report", lambda p: p.get_by_text("fanout_report").first)
        shots(viewer, "asset")
        assert enabled_buttons(viewer, "Materialize") == 0

        # The read-only webserver shows the job's launchpad tab, disabled.
        open_showing(
            viewer, f"/locations/fanout/jobs/{JOB}/playground",
            lambda p: p.get_by_role("tab", name="Launchpad"),
        )
        expect(viewer.get_by_role("tab", name="Launchpad")).to_be_disabled()
        assert enabled_buttons(viewer, "Launch Run") == 0
        shots(viewer, "launchpad")
    except Exception:
        shots(viewer, "failed")
        raise
    finally:
        admin.context.close()
        viewer.context.close()


def test_admin_launches_a_run(browser: Browser, stack: Stack) -> None:
    shots = Screenshots("frontdoor-admin")
    page = open_page(browser, stack, ADMIN_USER)
    try:
        open_launchpad(page, JOB)
        type_config(page, TRIVIAL_YAML)
        run_id = launch(page)
        open_run(page, run_id)
        shots(page, "launched")
    finally:
        page.context.close()
    assert stack.wait_for_run(run_id, timeout=300) == "SUCCESS", stack.failure_messages(run_id)


@pytest.mark.parametrize("path", ["/", "/runs", "/graphql"])
def test_without_credentials_the_ui_is_refused(browser: Browser, stack: Stack, path: str) -> None:
    page = open_page(browser, stack, user=None)
    try:
        # Headless Chromium has no login prompt: a 401 ends the navigation with this error.
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            page.goto(path)
        # The same request from the browser's context, status and body as the server sent them.
        response = page.context.request.get(path)
        assert response.status == 401
        assert "dagster" not in response.text().lower()
    finally:
        page.context.close()
