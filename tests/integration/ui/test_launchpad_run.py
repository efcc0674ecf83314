"""A fan-out run launched from the launchpad, with config typed in the editor and a limit tag
added in the tag editor, then everything a user looks at in it: the run page to Success and its
Gantt chart, a step's stdout/stderr, the run's resource usage, and fanout_report's metadata."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.conftest import open_page
from tests.integration.ui.dagster_ui import (
    add_tag,
    filter_run_log,
    launch,
    open_launchpad,
    open_run,
    show_step_log,
    type_config,
    wait_for_run_end,
)
from fanout.lib.mapping_keys import mapping_keys_for
from fanout.lib.records import generate_records

RECORD_COUNT, SEED = 6, 7
RECORDS = generate_records(RECORD_COUNT, SEED)
STEP_COUNT = RECORD_COUNT + 4  # input_records, split_records, one per record, collect, report
MEMORY_TAG, MEMORY_MIB = "1536m", 1536  # not fanout_job's own 2g, so the override shows
CONFIG = f"""\
ops:
  input_records:
    config:
      record_count: {RECORD_COUNT}
      seed: {SEED}
  fanout_results:
    config:
      unit_mode: parallel
"""


@pytest.fixture(scope="module")
def launched_run(browser: Browser, stack: Stack) -> Iterator[str]:
    """The launchpad part, done once for the module: returns the new run's id."""
    page = open_page(browser, stack)
    shots = Screenshots("launchpad")
    try:
        open_launchpad(page, "fanout_job")
        type_config(page, CONFIG)
        add_tag(page, "limits/memory", MEMORY_TAG)
        shots(page, "config-and-tag")
        run_id = launch(page)
        shots(page, "launched")
    except Exception:
        shots(page, "failed")
        raise
    finally:
        page.context.close()
    yield run_id


def _open_finished_run(page: Page, stack: Stack, run_id: str) -> None:
    open_run(page, run_id)
    status = wait_for_run_end(page)
    assert status == "Success", f"run {run_id} ended {status}:\n{stack.failure_messages(run_id)}"


def test_launched_run_is_followed_to_success_with_its_gantt_chart(
    page: Page, shots: Screenshots, stack: Stack, launched_run: str
) -> None:
    open_run(page, launched_run)
    shots(page, "run-page")
    # The page follows the run live, from queued to its end, without a reload.
    status = wait_for_run_end(page)
    assert status == "Success", stack.failure_messages(launched_run)
    # The Gantt chart's step panel counts every step of the fan-out as succeeded.
    expect(page.get_by_text(f"Succeeded ({STEP_COUNT})", exact=True)).to_be_visible()
    page.get_by_role("button", name="expand_arrows").first.click()  # the chart, full height
    shots(page, "gantt", doc="fanout-run-gantt")

    run = stack.graphql(
        "query ($id: ID!) { runOrError(runId: $id) { ... on Run { runConfigYaml tags { key value } } } }",
        {"id": launched_run},
    )["runOrError"]
    assert {"key": "limits/memory", "value": MEMORY_TAG} in run["tags"]
    assert f"record_count: {RECORD_COUNT}" in run["runConfigYaml"]
    assert "unit_mode: parallel" in run["runConfigYaml"]


def test_run_shows_its_resource_usage_from_the_container_cgroup(
    page: Page, shots: Screenshots, stack: Stack, launched_run: str
) -> None:
    _open_finished_run(page, stack, launched_run)
    filter_run_log(page, "Run resource usage")
    # The memory limit is read inside the run container: the tag set in the launchpad.
    usage = page.get_by_text("Run resource usage: CPU")
    expect(usage).to_contain_text(f"of {MEMORY_MIB} MiB (the run container's cgroup)")
    for key in ("cpu_seconds", "peak_memory_mib", "memory_limit_mib"):
        expect(page.get_by_role("cell", name=key, exact=True)).to_be_visible()
    shots(page, "resource-usage")


def test_process_record_step_log_shows_what_the_step_printed(
    page: Page, shots: Screenshots, stack: Stack, launched_run: str
) -> None:
    _open_finished_run(page, stack, launched_run)
    record = RECORDS[0]
    keys = mapping_keys_for([r.id for r in RECORDS])
    step_key = f"fanout_results.process_record[{keys[record.id]}]"

    show_step_log(page, "stdout", step_key)
    printed = f"record {record.id}: {record.units} units x 20 ms cpu work, parallel"
    expect(page.get_by_text(printed)).to_be_visible()
    shots(page, "stdout")

    show_step_log(page, "stderr", step_key)
    expect(page.get_by_text(f'Started execution of step "{step_key}"')).to_be_visible()
    shots(page, "stderr")


def test_report_shows_the_per_record_table_totals_and_checks(
    page: Page, shots: Screenshots, stack: Stack, launched_run: str
) -> None:
    _open_finished_run(page, stack, launched_run)
    # The checks ran in the same run as the materialization.
    filter_run_log(page, "type:ASSET_CHECK_EVALUATION")
    for check in ("performance_vs_recent", "all_records_present"):
        expect(page.get_by_role("link", name=check, exact=True)).to_be_visible()
    shots(page, "checks-in-run")

    # This run's materialization of fanout_report (later runs may have materialized it since).
    page.get_by_role("link", name="fanout_report", exact=True).first.click()
    expect(page.get_by_text("Materialized in run")).to_be_visible()
    expect(page.get_by_role("link", name=launched_run[:8], exact=True)).to_be_visible()
    totals = {"records": str(RECORD_COUNT), "units": str(sum(r.units for r in RECORDS))}
    for key, value in totals.items():
        expect(page.get_by_role("row", name=f"{key} {value}", exact=True)).to_be_visible()
    for key in ("span_s", "units_per_s", "overhead_ratio", "cpu_seconds", "peak_memory_mib"):
        expect(page.get_by_role("cell", name=key, exact=True)).to_be_visible()
    per_record = page.get_by_role("columnheader", name="wall/work").locator("xpath=ancestor::table[1]")
    for record in RECORDS:
        expect(per_record.get_by_role("cell", name=record.id, exact=True)).to_be_visible()
    expect(per_record.get_by_role("row")).to_have_count(RECORD_COUNT + 1)  # + header
    per_record.scroll_into_view_if_needed()
    shots(page, "report-metadata", doc="fanout-report-metadata")
