"""What the tests do in Dagster's UI, in one place: the launchpad, the run page, asset pages.

Selectors are roles and visible text (Dagster's UI has few data-testids); every wait is on page
state, with timeouts sized for a busy 2-core host where a page can take many seconds to load
and a run can queue behind the schedule's heavy fan-out runs.
"""

import re
from collections.abc import Callable

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

PAGE_TIMEOUT_MS = 90_000
RUN_TIMEOUT_MS = 600_000
RUN_ID_URL = re.compile(r"/runs/([0-9a-f-]{36})")
FINISHED = re.compile(r"^(Success|Failure|Canceled)$")
# The fanout location's asset group, drawn as its lineage graph: with several code locations
# the global lineage shows each location as a collapsed group instead.
FANOUT_GROUP_LINEAGE = "/locations/fanout/asset-groups/fanout/lineage"
# The run page's status tag, whatever the run's state.
RUN_STATUS = re.compile(r"^(Queued|Not started|Starting|Started|Success|Failure|Canceling|Canceled)$")


# --- launchpad -----------------------------------------------------------------------------


def open_launchpad(page: Page, job: str, location: str = "fanout") -> None:
    open_showing(page, f"/locations/{location}/jobs/{job}/playground", lambda p: p.get_by_role("button", name="Launch Run"))


def type_config(page: Page, yaml_text: str) -> None:
    """Replace the run config in the launchpad's editor (CodeMirror, which has no role) with
    `yaml_text`, entered as text input, and wait for the editor to validate it."""
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    # insert_text, not type(): typed newlines would be auto-indented by the editor.
    page.keyboard.insert_text(yaml_text)
    expect(page.get_by_text("No errors", exact=True)).to_be_visible()


def add_tag(page: Page, key: str, value: str) -> None:
    page.get_by_role("button", name="Edit tags").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Tag Key").last.fill(key)
    dialog.get_by_role("textbox", name="Tag Value").last.fill(value)
    dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"{key}: {value}", exact=True)).to_be_visible()


def launch(page: Page) -> str:
    """Launch from the launchpad; the UI moves to the new run's page. Returns its run id."""
    page.get_by_role("button", name="Launch Run").click()
    page.wait_for_url(RUN_ID_URL)
    return run_id_from_url(page)


# --- runs ----------------------------------------------------------------------------------


def open_showing(
    page: Page, path: str, shown: Callable[[Page], Locator], attempts: int = 3, timeout_ms: int = 45_000
) -> None:
    """Opens `path` until `shown(page)` is visible, reloading at most `attempts - 1` times.
    Dagster's UI does not retry a GraphQL request that failed at the network level
    ("ApolloError: Failed to fetch": a keep-alive connection closed under load, or
    ERR_NETWORK_CHANGED when Docker adds a run container's network interface) and its page
    then stays blank or spinning where a user would reload. The page fixture reports which
    requests failed or hung when a test fails (tests/integration/ui/browser.py, NetworkLog)."""
    for attempt in range(1, attempts + 1):
        try:
            page.goto(path)
            expect(shown(page)).to_be_visible(timeout=timeout_ms)
            return
        except (AssertionError, PlaywrightError):
            if attempt == attempts:
                raise


def open_run(page: Page, run_id: str) -> None:
    """Open a run's page and wait until it shows the run's status."""
    open_showing(page, f"/runs/{run_id}", lambda p: p.get_by_text(RUN_STATUS).first, attempts=2, timeout_ms=PAGE_TIMEOUT_MS)


def run_id_from_url(page: Page) -> str:
    found = RUN_ID_URL.search(page.url)
    assert found, f"not on a run page: {page.url}"
    return found.group(1)


def wait_for_run_end(page: Page) -> str:
    """On a run page: wait until the status tag shows a finished run (the page updates live)
    and return it: Success, Failure or Canceled."""
    status = page.get_by_text(FINISHED).first
    expect(status).to_be_visible(timeout=RUN_TIMEOUT_MS)
    return status.inner_text()


def filter_run_log(page: Page, query: str) -> None:
    """On a run page: filter the event log (free text, or tokens such as `type:ENGINE_EVENT`)."""
    box = page.get_by_role("textbox", name="Filter…")
    box.fill(query)
    box.press("Enter")


def show_step_log(page: Page, stream: str, step_key: str) -> None:
    """On a run page: show the captured `stream` (stdout or stderr) of one step."""
    page.get_by_role("button", name=stream).click()  # named "logs_stdout stdout" etc.
    page.get_by_role("combobox", name="Select a step…").click()
    page.get_by_role("menuitem", name=step_key, exact=True).click()


# --- assets --------------------------------------------------------------------------------


def asset_lineage_links(page: Page, direction: str) -> Locator:
    """On an asset page: the links under "Upstream assets" or "Downstream assets"."""
    return page.get_by_text(f"{direction} assets", exact=True).locator("..").get_by_role("link")
