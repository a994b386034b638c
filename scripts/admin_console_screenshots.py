"""Render the Administration Console's High Availability tabs into PNGs in docs/:

    .venv/bin/python scripts/admin_console_screenshots.py [--out docs]

It starts its own pair of fresh servers, then, in Debian's headless Chromium: the HA
Security tab before the trust, the trust saved there, and, once HA is configured and the
standby Ready, the HA Configuration tab and the HA Security tab of a configured pair.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

from ipics_lab.browser import CHROMIUM, CHROMIUM_ARGS
from ipics_lab.supervisor import LabPair


async def main(out: Path) -> None:
    shots = out / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        lab = LabPair(Path(tmp), time_scale=0.05)
        try:
            await lab.start()
            p, s = lab.primary, lab.secondary
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = await browser.new_page(viewport={"width": 1100, "height": 720})

                async def log_in() -> None:
                    await page.goto(p.url + "/admin/login")
                    await page.fill("#username", "ipicsadmin")
                    await page.fill("#password", lab.admin_password)
                    await page.click("#login")

                await page.goto(p.url + "/admin/login")
                await page.screenshot(path=shots / "admin-login.png")
                await log_in()
                await page.fill("#partner-address", f"{s.host}:{s.port}")
                await page.screenshot(path=shots / "admin-security-not-trusted.png")
                await page.fill("#partner-password", lab.admin_password)
                await page.click("#save")
                await expect(page.locator("#server-status")).to_have_text("Trusted")
                await lab.configure(interval_s=15, missed_count=5)
                await lab.wait_ready()
                await log_in()
                await page.click("#tab-configuration")
                await expect(page.locator("#standby-server-status")).to_have_text("Ready")
                await page.screenshot(path=shots / "admin-ha-configuration.png", full_page=True)
                await page.click("#tab-security")
                await page.screenshot(path=shots / "admin-security-trusted.png", full_page=True)
                await page.click("#tab-configuration")
                await page.click("#failover")
                await page.screenshot(path=shots / "admin-failover-confirmation.png")
                await browser.close()
        finally:
            lab.stop()
    print(f"screenshots in {shots}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    asyncio.run(main(parser.parse_args().out))
