"""fanout_report watches its own performance: after a deliberately slow materialization the
performance check warns on the asset page, the hard check passes, and the asset's plots show the
figures over time."""

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import open_showing
from fanout.lib.records import generate_records

# One record of 11 units of 0.8 s sleep: about 1.25 units/s, several times below any normal
# fan-out's (tens of units/s), whatever else the host is doing.
SLOW_RECORDS = {"record_count": 1, "seed": 2}
SLOW_CONFIG: dict[str, Any] = {
    "ops": {
        "input_records": {"config": SLOW_RECORDS},
        "fanout_results": {"config": {"unit_work_ms": 800, "work_kind": "sleep"}},
    }
}
assert generate_records(1, 2)[0].units == 11


def _materializations(stack: Stack) -> int:
    data = stack.graphql(
        '{ assetOrError(assetKey: {path: ["fanout_report"]}) {'
        " ... on Asset { assetMaterializations(limit: 3) { runId } } } }"
    )
    asset = data["assetOrError"]
    return len(asset.get("assetMaterializations") or [])


def _run(stack: Stack, run_config: dict[str, Any] | None = None) -> str:
    run_id = stack.launch("fanout_job", run_config=run_config)
    status = stack.wait_for_run(run_id, timeout=600)
    assert status == "SUCCESS", stack.failure_messages(run_id)
    return run_id


@pytest.fixture(scope="module")
def slow_run(stack: Stack) -> str:
    """At least two normal materializations of fanout_report, then the slow one (its run id)."""
    while _materializations(stack) < 2:
        _run(stack)
    return _run(stack, SLOW_CONFIG)


def test_slow_materialization_warns_and_the_plots_show_the_history(
    page: Page, shots: Screenshots, slow_run: str
) -> None:
    open_showing(
        page, "/assets/fanout_report?view=checks",
        lambda p: p.get_by_text("performance_vs_recent", exact=True).first,
    )
    expect(page.get_by_role("tab", name="Checks")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("all_records_present", exact=True).first).to_be_visible()
    shots(page, "checks")

    def execution_of_slow_run(check: str, shows: str | re.Pattern[str]) -> Locator:
        """The slow run's row in the check's execution history, once it shows `shows`. Opened
        again at most twice: a stylesheet or script chunk the row's description needs can
        fail to load (ERR_TOO_MANY_RETRIES under load), and the UI then leaves it blank."""
        for attempt in (1, 2, 3):
            if attempt > 1:
                open_showing(page, "/assets/fanout_report?view=checks", lambda p: p.get_by_text(check, exact=True).first)
            page.get_by_text(check, exact=True).first.click()
            page.get_by_role("tab", name="Execution history").click()
            row = page.get_by_role("row").filter(has=page.locator(f'a[href^="/runs/{slow_run}"]'))
            try:
                expect(row).to_contain_text(shows, timeout=45_000)
                return row
            except AssertionError:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    # Its description names the figure(s) beyond the margin: units/s, the overhead, or both.
    performance = execution_of_slow_run(
        "performance_vs_recent", re.compile(r"(units_per_s|overhead_ratio) .*x worse \(beyond the 1\.50x margin\)")
    )
    expect(performance).to_contain_text("Failed")
    expect(performance.get_by_role("img", name="warning_outline")).to_be_visible()  # WARN
    shots(page, "performance-check-warns", doc="fanout-report-checks")

    execution_of_slow_run("all_records_present", "Passed")
    shots(page, "completeness-check-passes")

    page.get_by_role("tab", name="Overview").first.click()  # the asset's tab, not the check's
    page.get_by_role("button", name="Plots").click()
    for figure in ("units_per_s", "overhead_ratio", "span_s", "cpu_seconds", "peak_memory_mib"):
        title = page.get_by_text(figure, exact=True)
        expect(title).to_be_visible()
        plot = title.locator("xpath=ancestor::div[.//canvas][1]").locator("canvas")
        expect(plot).to_be_visible()
    page.get_by_text("units_per_s", exact=True).scroll_into_view_if_needed()
    shots(page, "plots", doc="fanout-report-plots")
