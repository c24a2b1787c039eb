"""The "Evaluate a dataset" page in a real browser: upload a zip, run, see the charts and the skipped files."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import zips
from tests.browser.pages import assert_no_exception, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The default methods include the U-Net: its first import and load take a while on two busy cores.
RUN_MS = 180_000


def test_upload_a_zip_run_and_see_the_charts(page: Page, app_url: str, tmp_path, screenshot_dir):
    archive = tmp_path / "cells.zip"
    archive.write_bytes(zips.messy_zip())
    page.goto(f"{app_url}/evaluate")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("pairs", exact=False).first).to_be_visible(timeout=RUN_MS)
    wait_idle(page)

    main.get_by_test_id("stRadio").get_by_text("Upload a zip", exact=True).click()
    wait_idle(page)
    main.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
    expect(main.get_by_text("6 pairs", exact=False)).to_be_visible()
    wait_idle(page)
    main.get_by_text("Skipped files (6)").click()  # the hostile, foreign and unpaired entries, each with its reason
    expect(main.get_by_text("symbolic link; refused")).to_be_attached()  # a dataframe cell (drawn on a canvas)

    main.get_by_role("button", name="Run the evaluation").click()
    expect(main.get_by_text("Mean scores with 95% bootstrap intervals")).to_be_visible(timeout=RUN_MS)
    charts = main.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".main-svg").first).to_be_visible(timeout=RUN_MS)
    wait_idle(page)
    assert charts.count() >= 4  # distributions, breakdown by modality, AP curves, paired comparison
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_visible()
    expect(main.get_by_text("Skipped during the run (2)")).to_be_visible()
    expect(main.get_by_text("Worst images per method")).to_be_visible()
    assert_no_exception(page)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "evaluate_zip.png"))
