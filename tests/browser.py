"""Headless Chromium for tests: Debian's `/usr/bin/chromium` driven by Playwright.

`make test` installs the `chromium` package; Playwright's own browser downloads are never
used (`executable_path`). Pages get no network: every request that is not `file:` (or an
allowed local origin, e.g. an `xpt ui` server on 127.0.0.1) is aborted and recorded, so a
test can assert that nothing tried to reach a CDN.

    from tests.browser import browser_page   # fixture, or: pytest_plugins = ["tests.browser"]

    def test_x(browser_page):
        page = browser_page()                # allow=("http://127.0.0.1:8000",) for a server
        page.goto(uri)
        assert not page.blocked              # requests that were refused
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("XPT_CHROMIUM", "/usr/bin/chromium")


class OfflinePage:
    """A Playwright page plus the list of requests it was refused."""

    def __init__(self, page: Any, blocked: list[str]) -> None:
        self.page = page
        self.blocked = blocked

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module.

    Not per session: Playwright's driver keeps an asyncio child-watcher thread alive, and
    xpt refuses to fork helpers while another thread runs (tests of that share the worker).
    """
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Callable[..., OfflinePage]]:
    """Factory of pages with the network off (except `allow`ed origins)."""
    contexts: list[Any] = []

    def make(allow: tuple[str, ...] = ()) -> OfflinePage:
        context = chromium.new_context(offline=not allow)
        contexts.append(context)
        blocked: list[str] = []

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(("file:", "data:", "blob:", "about:")) or url.startswith(allow):
                r.continue_()
            else:
                blocked.append(url)
                r.abort()

        context.route("**/*", route)
        return OfflinePage(context.new_page(), blocked)

    yield make
    for context in contexts:
        context.close()
