"""Both code locations in the UI: the code locations page lists each one loaded from its own
versioned image, and a run launched from each location's launchpad succeeds and carries the
image it ran in as a tag on its run page."""

import pytest
from playwright.sync_api import Page, expect

from tests.integration.stack import LOCATIONS, Stack
from tests.integration.ui.browser import Screenshots
from tests.integration.ui.dagster_ui import launch, open_launchpad, open_run, open_showing, wait_for_run_end

JOBS = {"fanout": "chunked_work_job", "warehouse": "warehouse_job"}


def test_code_locations_page_lists_each_location_with_its_image(
    page: Page, shots: Screenshots, stack: Stack
) -> None:
    open_showing(page, "/locations", lambda p: p.get_by_text(f"{len(LOCATIONS)} code locations", exact=True))
    for location in LOCATIONS:
        expect(page.get_by_role("link", name=location, exact=True).or_(
            page.get_by_role("link", name=f"{location} {location}", exact=True)).first).to_be_visible()
        expect(page.get_by_text(f"image: {stack.serving_image(location)}", exact=True)).to_be_visible()
    shots(page, "code-locations", doc="code-locations")


@pytest.mark.parametrize("location", LOCATIONS)
def test_a_run_launched_from_each_location_runs_in_its_image(
    page: Page, shots: Screenshots, stack: Stack, location: str
) -> None:
    image = stack.serving_image(location)
    open_launchpad(page, JOBS[location], location=location)
    run_id = launch(page)
    open_run(page, run_id)
    status = wait_for_run_end(page)
    assert status == "Success", stack.failure_messages(run_id)
    # The run's tags, as the run page shows them: the image it ran in.
    page.get_by_role("button", name="View tags and config").click()
    expect(page.get_by_role("dialog")).to_contain_text("stack/image")
    expect(page.get_by_role("dialog")).to_contain_text(image)
    shots(page, f"{location}-run")
    (container,) = stack.run_containers(run_id)
    assert container.attrs["Config"]["Image"] == image
