"""An invalid limit tag typed in the launchpad: the UI shows why the run is refused, and the
run never gets a container."""

from playwright.sync_api import Page, expect

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import add_tag, open_launchpad

REFUSAL = 'Run refused: limits/cpus: "lots" is not a number of CPUs'


def _runs_tagged_lots(stack: Stack) -> dict[str, str]:
    runs = stack.runs({"tags": [{"key": "limits/cpus", "value": "lots"}]}, limit=100)
    return {run["runId"]: run["status"] for run in runs}


def test_invalid_cpus_tag_is_refused_in_the_ui_without_a_container(
    page: Page, shots: Screenshots, stack: Stack
) -> None:
    before = _runs_tagged_lots(stack)
    open_launchpad(page, "fanout_job")
    add_tag(page, "limits/cpus", "lots")
    shots(page, "tag-lots")
    page.get_by_role("button", name="Launch Run").click()

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=REFUSAL)).to_be_visible()
    shots(page, "refused")
    dialog.get_by_role("button", name="OK").click()
    expect(page.get_by_role("button", name="Launch Run")).to_be_visible()  # still on the launchpad

    # The refused run is kept as FAILURE with the reason, and no container was ever created.
    new = {run_id: status for run_id, status in _runs_tagged_lots(stack).items() if run_id not in before}
    assert list(new.values()) == ["FAILURE"], new
    (run_id,) = new
    assert REFUSAL in stack.failure_messages(run_id)
    assert stack.run_tags(run_id).get("dagster/will_retry") == "false"  # not retried
    assert stack.run_containers(run_id) == []
