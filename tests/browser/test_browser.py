"""The dashboard in a real browser: first load, real file uploads, every page, a refused upload.

Streamlit reruns the script after every interaction; each test first waits
for the effect it expects (an image, a chart, a text), then for the app to
be idle, and only then checks that no exception box appeared. Without
Chromium these tests are skipped (see conftest.py).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import files
from devtools.pages import assert_no_exception, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The first run imports torch and runs four methods (the U-Net among them) on two busy cores.
FIRST_LOAD_MS = 180_000
RERUN_MS = 90_000
expect.set_options(timeout=RERUN_MS)


def assert_images_loaded(page: Page) -> int:
    """Every visible st.image picture was served and decoded; returns how many there are."""
    pictures = page.locator('[data-testid="stImage"] img')
    visible = [pictures.nth(i) for i in range(pictures.count()) if pictures.nth(i).is_visible()]
    for picture in visible:
        expect(picture).to_have_js_property("complete", True)
        assert picture.evaluate("img => img.naturalWidth") > 0, picture.get_attribute("src")
    return len(visible)


def assert_charts_drawn(page: Page) -> int:
    """Every visible plotly chart has drawn its SVG; returns how many there are."""
    charts = page.get_by_test_id("stPlotlyChart")
    visible = [charts.nth(i) for i in range(charts.count()) if charts.nth(i).is_visible()]
    for chart in visible:
        expect(chart.locator(".main-svg").first).to_be_visible()
    return len(visible)


def open_app(page: Page, url: str) -> None:
    """Load the app and wait for the Compare page's charts (the slowest part of the first run)."""
    page.goto(url)
    expect(page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first).to_be_visible(
        timeout=FIRST_LOAD_MS)
    wait_idle(page)


def choose_upload_source(page: Page) -> None:
    page.get_by_test_id("stSidebar").get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
    expect(page.get_by_test_id("stSidebar").get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(2)
    wait_idle(page)


def sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def test_fresh_start_shows_the_compare_page(page: Page, app_url: str):
    open_app(page, app_url)
    assert_no_exception(page)
    expect(page.locator("h1")).to_have_text("Compare methods")
    expect(sidebar(page)).to_contain_text("Synthetic nuclei (ground truth) · 256×256 px")
    assert assert_images_loaded(page) >= 6  # original, ground truth, four methods
    assert assert_charts_drawn(page) >= 2  # scores and run time
    expect(page.get_by_test_id("stMain")).to_contain_text("Scores against the ground truth")


def test_real_uploads_of_an_image_and_its_mask_are_scored(page: Page, app_url: str, tmp_path):
    pair = files.synthetic_pair()
    image_file = tmp_path / "cells.png"
    mask_file = tmp_path / "cells_mask.png"
    image_file.write_bytes(pair.image_png)
    mask_file.write_bytes(pair.mask_png)
    open_app(page, app_url)
    choose_upload_source(page)
    inputs = sidebar(page).get_by_test_id("stFileUploaderDropzoneInput")

    inputs.nth(0).set_input_files(image_file)
    expect(sidebar(page)).to_contain_text("cells.png · 128×96 px")
    expect(sidebar(page)).to_contain_text("Ground truth: none")
    expect(page.get_by_test_id("stMain")).to_contain_text("Agreement between methods")
    wait_idle(page)

    inputs.nth(1).set_input_files(mask_file)
    expect(sidebar(page)).to_contain_text("Ground truth: cells_mask.png")
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("Scores against the ground truth")
    expect(main.get_by_test_id("stDataFrame")).to_be_visible()
    expect(main.get_by_text("Original — cells.png")).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    assert assert_charts_drawn(page) >= 2
    assert assert_images_loaded(page) >= 6
    expect(sidebar(page).get_by_test_id("stFileChipName")).to_have_text(["cells.png", "cells_mask.png"])


def test_every_page_renders(page: Page, app_url: str, screenshot_dir):
    open_app(page, app_url)
    links = page.get_by_test_id("stSidebarNavLink")
    count = links.count()
    assert count >= 6, links.all_inner_texts()
    for index in range(count):
        link = links.nth(index)
        title = link.inner_text().splitlines()[-1]  # the text after the icon's name
        heading = page.locator("h1").first
        if link.get_attribute("aria-current") != "page":
            # the old page stays on screen until the new one draws: wait for its heading to go
            previous = heading.inner_text()
            link.click()
            expect(link).to_have_attribute("aria-current", "page")
            expect(heading).not_to_have_text(previous)
        expect(heading).to_be_visible()
        wait_idle(page)
        assert_no_exception(page)
        # An st.image is invisible until its picture arrives from the media server: wait for one.
        expect(page.locator('[data-testid="stImage"] img:visible, [data-testid="stPlotlyChart"]:visible').first,
               f"page {title!r} shows no image and no chart").to_be_visible()
        shown = assert_images_loaded(page) + assert_charts_drawn(page)
        assert shown > 0, f"page {title!r} shows no image and no chart"
        if screenshot_dir is not None:
            slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
            page.screenshot(path=screenshot_dir / f"{index:02d}_{slug}.png")


def test_refused_upload_shows_a_message_and_the_app_keeps_working(page: Page, app_url: str, tmp_path):
    broken = files.REFUSED_IMAGES["truncated_png"]
    broken_file = tmp_path / broken.name
    broken_file.write_bytes(broken.data)
    open_app(page, app_url)
    choose_upload_source(page)
    sidebar(page).get_by_test_id("stFileUploaderDropzoneInput").nth(0).set_input_files(broken_file)
    alert = sidebar(page).get_by_test_id("stAlert")
    expect(alert).to_contain_text(f"{broken.name}: this file is not an image we can read")
    expect(alert).to_contain_text("The previous image is still in use.")
    expect(alert).not_to_contain_text("Traceback")
    wait_idle(page)
    assert_no_exception(page)
    expect(sidebar(page)).to_contain_text("Synthetic nuclei (ground truth) · 256×256 px")

    page.get_by_test_id("stSidebarNavLink").filter(has_text="Thresholding").click()
    expect(page.locator("h1")).to_have_text("Thresholding")
    expect(page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)
    assert assert_images_loaded(page) >= 3
