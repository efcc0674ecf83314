"""Browser fixtures for the UI tests: one Chromium for the session, a fresh context (cookies,
storage) and page per test, and the test's screenshots."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from stack_testing.dagster_api import ADMIN_USER

from tests.integration.stack import Stack
from tests.integration.ui.browser import VIEWPORT, NetworkLog, Screenshots, launch_chromium
from tests.integration.ui.dagster_ui import PAGE_TIMEOUT_MS


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser: Browser, stack: Stack, user: str | None = ADMIN_USER) -> Page:
    """A page of a fresh context logged in to the front door as `user` (None: no login)."""
    context = browser.new_context(
        base_url=stack.base_url,
        viewport=VIEWPORT,
        http_credentials={"username": user, "password": stack.logins[user]} if user else None,
        # Chromium has no option for one extra CA per context: the certificate is checked
        # against the stack's CA by the API tests (tests/integration/test_frontdoor.py) instead.
        ignore_https_errors=True,
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)


@pytest.fixture
def page(
    browser: Browser, stack: Stack, shots: Screenshots, request: pytest.FixtureRequest
) -> Iterator[Page]:
    page = open_page(browser, stack)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error}\n{error.stack or ''}"))
    network = NetworkLog(page)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        # The state the test failed in, next to its step screenshots, and the UI's own errors.
        shots(page, "failed")
        if errors:
            report.sections.append(("browser page errors", "\n\n".join(errors)))
        report.sections.append(("browser network", network.report()))
    page.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
