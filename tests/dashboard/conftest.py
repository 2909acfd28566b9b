"""Browser fixtures for the dashboard tests: Debian's chromium driven by the `playwright` package.

`playwright install` is neither needed nor used. CI needs:
    apt-get install -y chromium        # /usr/bin/chromium
    pip install playwright             # the Python driver only
Without either, the browser tests are skipped with the reason.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DASHBOARD = Path(__file__).resolve().parents[2] / "runtime" / "dashboard"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (starting it is the slow part). Not session-wide:
    Playwright's sync API keeps its own event loop, which must be gone before async tests run."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="needs the playwright package (pip install playwright)"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh page at 1280×800 in its own context (own sessionStorage)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves runtime/dashboard/ plus an empty page to import the modules from."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
        if self.path.split("#")[0] == "/blank.html":
            body = b"<!doctype html><title>blank</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def static_dashboard() -> Iterator[str]:
    """The dashboard's files over plain HTTP, no API: for testing the modules in isolation."""
    handler = functools.partial(_StaticHandler, directory=str(DASHBOARD))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def blank(browser_page: Any, static_dashboard: str) -> Iterator[Any]:
    """A blank page next to the dashboard's modules, to import them with `await import('/x.js')`;
    fails the test on any uncaught page error."""
    errors: list[str] = []
    browser_page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_page.goto(static_dashboard + "/blank.html")
    yield browser_page
    assert not errors, errors
