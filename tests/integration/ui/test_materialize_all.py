"""Materializing every asset from the asset graph, without the launchpad."""

import re

from playwright.sync_api import Page, expect

from tests.integration.stack import Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import FANOUT_GROUP_LINEAGE, open_showing, run_id_from_url, wait_for_run_end

ASSETS = ["input_records", "fanout_results", "fanout_report"]


def test_materialize_all_from_the_asset_graph_succeeds(
    page: Page, shots: Screenshots, stack: Stack
) -> None:
    open_showing(page, FANOUT_GROUP_LINEAGE, lambda p: p.locator("svg foreignObject").first)
    graph = page.locator("svg foreignObject")
    for asset in ASSETS:
        expect(graph.get_by_text(asset, exact=True)).to_be_visible()
    page.get_by_role("button", name="Materialize all").click()

    # Every asset's config has defaults, so the run starts at once and a toast links to it.
    toast = page.get_by_role("region", name=re.compile("Notifications"))
    expect(toast.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}$"))).to_be_visible()
    shots(page, "launched")
    toast.get_by_role("link", name="View").click()
    run_id = run_id_from_url(page)

    status = wait_for_run_end(page)
    shots(page, "finished")
    assert status == "Success", stack.failure_messages(run_id)
    run = stack.graphql(
        "query ($id: ID!) { runOrError(runId: $id) { ... on Run { assetSelection { path } } } }",
        {"id": run_id},
    )["runOrError"]
    assert sorted(key["path"][0] for key in run["assetSelection"]) == sorted(ASSETS)
