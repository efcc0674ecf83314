"""The fan-out's lineage, and the graph-backed asset's dynamic sub-pipeline, as a user finds them."""

from playwright.sync_api import Page, expect

from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import FANOUT_GROUP_LINEAGE, asset_lineage_links, open_showing

ASSETS = ["input_records", "fanout_results", "fanout_report"]


def test_lineage_and_the_graph_backed_assets_dynamic_sub_pipeline(
    page: Page, shots: Screenshots
) -> None:
    # With several code locations the global lineage shows each as a group: the fanout
    # location's own asset group is where its lineage is drawn.
    open_showing(page, FANOUT_GROUP_LINEAGE, lambda p: p.locator("svg foreignObject").first)
    graph = page.locator("svg foreignObject")  # the asset nodes of the lineage graph
    for asset in ASSETS:
        expect(graph.get_by_text(asset, exact=True)).to_be_visible()
    expect(graph.get_by_text("Loading...")).to_have_count(0)  # each node's latest event
    shots(page, "lineage", doc="lineage")

    # The chain, from the middle asset's page: input_records -> fanout_results -> fanout_report.
    open_showing(page, "/assets/fanout_results", lambda p: p.get_by_text("Upstream assets", exact=True))
    # (to_contain_text: each link also holds its name's tooltip)
    expect(asset_lineage_links(page, "Upstream")).to_contain_text(["input_records"])
    expect(asset_lineage_links(page, "Downstream")).to_contain_text(["fanout_report"])
    shots(page, "fanout_results-asset")

    # Graph-backed: the asset is computed by a graph of ops, opened from its compute details.
    page.get_by_role("button", name="Compute details").click()
    page.get_by_role("link", name="fanout_results", exact=True).click()
    ops = page.locator("svg foreignObject")
    for op in ["split_records", "process_record", "collect_results"]:
        expect(ops.get_by_text(op, exact=True)).to_be_visible()
    shots(page, "dynamic-sub-pipeline", doc="dynamic-sub-pipeline")
