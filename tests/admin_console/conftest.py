"""The Administration Console in a real browser: Debian's headless Chromium driven by
Playwright, against real server processes (the ``lab``, ``pair`` fixtures)."""

from __future__ import annotations

import shutil

import pytest

from ipics_lab.browser import CHROMIUM, CHROMIUM_ARGS
from ipics_lab.pytest_tiers import starts_processes
from ipics_lab.supervisor import LabPair, ServerProcess

from ..pair.conftest import lab, pair  # noqa: F401 (fixtures)

#: real seconds for a page to show a state the servers have reached (the page polls each second)
SHOWN_S = 10


@pytest.fixture
@starts_processes
async def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (packaging/bootstrap.sh does)", pytrace=False)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # A fresh profile each time (Playwright's default): no cookie outlives a test.
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1100, "height": 820})
    page = await context.new_page()
    page.set_default_timeout(SHOWN_S * 1000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    await context.close()
    assert not errors, f"the page's script failed: {errors}"


class AdminConsole:
    """What an administrator does in the Administration Console, in the chapter's words."""

    def __init__(self, page, lab: LabPair):  # noqa: F811
        self.page = page
        self.lab = lab

    async def open(self, server: ServerProcess, path: str = "/admin/login") -> None:
        await self.page.goto(server.url + path)

    async def log_in(self, server: ServerProcess, username: str = "ipicsadmin", password: str | None = None) -> None:
        await self.open(server)
        if not await self.page.locator("#username").count():
            pytest.fail(f"no login form at {self.page.url}: {await self.page.inner_text('body')}")
        await self.page.fill("#username", username)
        await self.page.fill("#password", password or self.lab.admin_password)
        # Until the next page is loaded: a test may stop the server right after.
        async with self.page.expect_navigation():
            await self.page.click("#login")

    async def click_confirmed(self, selector: str) -> None:
        """Click a button that asks first, then OK in its confirmation."""
        await self.page.click(selector)
        await self.page.click("#confirm-ok")

    async def tab(self, name: str) -> None:
        async with self.page.expect_navigation():
            await self.page.click(f"#tab-{name}")


@pytest.fixture
def admin_console(page, lab):  # noqa: F811
    return AdminConsole(page, lab)
