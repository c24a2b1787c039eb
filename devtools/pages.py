"""Helpers for driving the dashboard in Chromium (Playwright), shared by the browser tests and bench/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

#: The app element once a script run has finished.
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: What Streamlit shows while a run is going on.
BUSY = '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stAppSkeleton"]'


def wait_idle(page: Page, timeout_ms: float | None = None) -> None:
    """Wait until the script run has finished and Streamlit shows no running indicator.

    ``timeout_ms`` None uses ``expect``'s current default.
    """
    expect(page.locator(IDLE)).to_have_count(1, timeout=timeout_ms)
    expect(page.locator(BUSY)).to_have_count(0, timeout=timeout_ms)


def assert_no_exception(page: Page) -> None:
    """No ``st.exception`` box on the page (its text is the failure message)."""
    exceptions = page.get_by_test_id("stException")
    assert exceptions.count() == 0, exceptions.first.inner_text()
