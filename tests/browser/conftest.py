"""Fixtures of the browser tests: one headless Chromium per session, a fresh context (and page) per test.

Without Chromium or Playwright the tests skip, saying how to enable them; when ``CI`` is set they fail
instead, so a CI run cannot pass with its browser tests skipped.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from . import harness


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    reason = harness.missing()
    if reason:
        _unavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=harness.chromium_path(), headless=True,
                                      args=harness.CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (no shared cache or storage), 1000 x 800 CSS px, closed after the test."""
    ctx = browser.new_context(viewport={"width": 1000, "height": 800})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def logs(tmp_path) -> Path:
    """A folder for the servers' logs of one test."""
    path = tmp_path / "logs"
    path.mkdir()
    return path
