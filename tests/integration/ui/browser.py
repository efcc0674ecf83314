"""Debian's Chromium driven by Playwright, and a screenshot per test step.

No browser is ever downloaded: Playwright launches the `chromium` binary of Debian's package
(`apt-get install chromium`), headless, with the flags that keep it off the network except for
the page under test.
"""

import os
import re
import shutil
from pathlib import Path

import time

from playwright.sync_api import Browser, Page, Playwright, Request, Response

REPO_ROOT = Path(__file__).resolve().parents[3]
# Debian's /usr/bin/chromium is a shell wrapper; Playwright needs the browser binary itself.
DEBIAN_CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI; the page is our own UI
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # HTTP/1.1 to the front door: Chromium closes every HTTP/2 session, failing the requests in
    # flight (ERR_NETWORK_CHANGED), whenever the host's IP addresses change, and Docker adds a
    # network interface for each run container it starts on this host.
    "--disable-http2",
]
VIEWPORT = {"width": 1440, "height": 1000}
ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
# Set by scripts/screenshots.sh: where the screenshots of the README and docs/ui.md are written.
DOCS_DIR_ENV = "FANOUT_UI_DOCS_DIR"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", DEBIAN_CHROMIUM)
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"no Chromium at {path}: the browser tests drive Debian's package "
            "(apt-get install chromium fonts-liberation; .ci/run does), or set CHROMIUM_PATH"
        )
    return path


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


class Screenshots:
    """Numbered full-page screenshots of one test in test-artifacts/ui/<test>/; a step given a
    `doc` name is also written to $FANOUT_UI_DOCS_DIR/<doc>.png when that is set."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def __call__(self, page: Page, step: str, doc: str | None = None) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=path)
        docs_dir = os.environ.get(DOCS_DIR_ENV)
        if doc and docs_dir:
            target = REPO_ROOT / docs_dir  # an absolute docs_dir stays as it is
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / f"{doc}.png")
        return path


class NetworkLog:
    """The page's requests that failed, answered with an error, or never finished: what a
    spinner that never ends was waiting for, reported beside a failed test."""

    def __init__(self, page: Page) -> None:
        self.started: dict[Request, float] = {}
        self.problems: list[str] = []
        page.on("request", self._request)
        page.on("requestfinished", lambda request: self.started.pop(request, None))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _request(self, request: Request) -> None:
        self.started[request] = time.monotonic()

    def _describe(self, request: Request) -> str:
        operation = ""
        if request.url.endswith("/graphql") and request.post_data:
            # Dagster's UI names each query: the operation says which panel asked.
            operation = request.post_data.split('"operationName":"')[-1].split('"')[0]
        return f"{request.method} {request.url} {operation}".rstrip()

    def _failed(self, request: Request) -> None:
        started = self.started.pop(request, time.monotonic())
        self.problems.append(
            f"failed after {time.monotonic() - started:.1f} s: {self._describe(request)}: {request.failure}"
        )

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {self._describe(response.request)}")

    def report(self) -> str:
        now = time.monotonic()
        pending = [
            f"pending for {now - started:.1f} s: {self._describe(request)}"
            for request, started in self.started.items()
        ]
        return "\n".join(self.problems + pending) or "no failed or pending request"
