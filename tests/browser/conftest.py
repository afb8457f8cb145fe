"""Headless Chromium for the browser tests.

Chromium and chromedriver are Debian's (``make browser`` installs them; ``make test`` runs it first).
Selenium is given both paths, so Selenium Manager never looks for a browser or a driver online.
A failed test leaves its last screenshot and page source in ``tests/artifacts/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium keeps calling Google's services, and the sandbox refuses them noisily
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver; the test fails (not skips) without them: ``make test`` installs them."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            f"chromium ({browser or 'missing'}) and chromedriver ({driver or 'missing'}) are needed: run `make browser`"
        )
    return browser, driver


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by the browser fixture's teardown
    return report


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium with a fresh profile; on failure its screenshot and page source go to tests/artifacts/."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            save_browser_page(driver, f"{request.node.name}-failure")
        driver.quit()


@pytest.fixture
def save_page(browser: Any) -> Any:
    """``save_page(name)``: what the browser shows, as ``tests/artifacts/<name>.png`` and ``<name>.html``."""
    return lambda name: save_browser_page(browser, name)


def save_browser_page(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(png))
    (ARTIFACTS / f"{name}.html").write_text(driver.page_source, encoding="utf-8")
    return png
