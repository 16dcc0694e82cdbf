"""The HTML report in headless Chromium: it renders, shows charts and numbers, and makes
no network request.

Needs Debian's ``chromium`` and the ``playwright`` package (never ``playwright install``).
Without them the test skips, unless ``CAREBOT_REQUIRE_BROWSER=1`` (set in CI) makes
that a failure.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from bot.reporting import add_report_commands, run_report
from storage.db import Database
from tests.helpers import make_settings
from tests.storage.report_fixtures import seed_fixed

CHROMIUM = os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _need(reason: str) -> None:
    if os.environ.get("CAREBOT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CAREBOT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"{reason} (apt-get install chromium; pip install playwright)")


def _chromium_present() -> bool:
    return Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None


async def test_html_report_in_chromium(database: Database, tmp_path: Path) -> None:
    if not database.is_sqlite:
        pytest.skip("one engine is enough for the browser")
    try:
        from playwright.async_api import Route, async_playwright
    except ImportError:
        _need("the playwright package is not installed")
    if not _chromium_present():
        _need(f"Chromium was not found at {CHROMIUM}")
    await seed_fixed(database)
    import argparse

    parser = argparse.ArgumentParser()
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(
        [
            "report",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-15",
            "--format",
            "html",
            "--by",
            "intent",
        ]
    )
    out = io.StringIO()
    settings = make_settings(database_url=str(database.engine.url), timezone="Europe/Berlin")
    assert await run_report(args, settings, out) == 0
    page_path = tmp_path / "report.html"
    page_path.write_text(out.getvalue(), encoding="utf-8")
    page_url = page_path.as_uri()

    requested: list[str] = []

    async def guard(route: Route) -> None:
        requested.append(route.request.url)
        if route.request.url == page_url:
            await route.continue_()
        else:
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/*", guard)
            await page.goto(page_url, wait_until="load")
            assert "Carebot report" in await page.title()
            for chart in ("#chart-csat-trend", "#chart-reasons", "#chart-times"):
                box = await page.locator(chart).bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 20, chart
            assert await page.locator("#chart-reasons rect").count() == 3
            body = await page.inner_text("body")
            for text in (
                "Conversations",
                "CSAT",
                "refund_status",
                "Lowest rated",
                "slow",
                "19m 00s",
            ):
                assert text in body
        finally:
            await browser.close()
    assert requested == [page_url]
