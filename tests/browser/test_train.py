"""The "Train a U-Net" page in a real browser: upload a zip of pairs, train a few seconds, see the curves."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import zips
from devtools.pages import assert_no_exception, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The first training imports torch and smp and builds the network on two busy cores.
RUN_MS = 180_000


def test_upload_a_zip_train_a_few_seconds_and_see_the_curves(page: Page, app_url: str, tmp_path, screenshot_dir):
    archive = tmp_path / "pairs.zip"
    archive.write_bytes(zips.layout_a_zip(6))
    page.goto(f"{app_url}/train")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("24 images train and 6 validate", exact=False)).to_be_visible(timeout=RUN_MS)
    wait_idle(page)

    main.get_by_test_id("stRadio").get_by_text("Upload a zip", exact=True).click()
    wait_idle(page)
    main.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
    expect(main.get_by_text("5 images train and 1 validate", exact=False)).to_be_visible(timeout=RUN_MS)
    wait_idle(page)
    main.get_by_text("From scratch (random weights)").click()  # the fastest encoder
    wait_idle(page)
    budget = main.get_by_role("spinbutton", name="Time budget (minutes)")
    budget.fill("0.1")
    budget.press("Enter")
    wait_idle(page)

    main.get_by_role("button", name="Train", exact=True).click()
    charts = main.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".main-svg").first).to_be_visible(timeout=RUN_MS)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "train_running.png"))
    expect(main.get_by_text("Training ended", exact=False)).to_be_visible(timeout=RUN_MS)
    wait_idle(page)
    assert charts.count() == 2  # loss per step, validation IoU/Dice
    expect(main.get_by_text("Training loss per step").first).to_be_attached()
    expect(main.get_by_role("button", name="Download the model (zip)")).to_be_visible()
    assert_no_exception(page)
    if screenshot_dir is not None:
        page.screenshot(path=str(screenshot_dir / "train_done.png"))
