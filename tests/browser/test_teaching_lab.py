"""The teaching lab in a real browser: an animation that plays, and a small robustness sweep.

AppTest cannot press a plotly button or click a multiselect chip's close
button: these tests do, in Chromium, against the server of conftest.py. Each
opens its page by URL (a new session), which skips the Compare page's
first run. Without Chromium they are skipped (see conftest.py).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from segcore.robustness import DEFAULT_SWEEP_PRESETS
from devtools.pages import IDLE, assert_no_exception, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The Robustness page's first sweep runs the U-Net at eight levels, after importing torch.
FIRST_LOAD_MS = 180_000
RERUN_MS = 90_000
# Frames last 250 ms; a few seconds leaves room for a busy machine.
ANIMATION_SECONDS = 8
expect.set_options(timeout=RERUN_MS)

KEPT = ["Otsu threshold", "Local threshold (mean)"]


def screenshot(page: Page, folder, name: str) -> None:
    if folder is not None:
        page.screenshot(path=folder / f"teaching_lab_{name}.png")


def open_page(page: Page, url: str, path: str, heading: str) -> None:
    page.goto(f"{url}/{path}")
    expect(page.locator("h1").first).to_have_text(heading, timeout=FIRST_LOAD_MS)
    expect(page.locator(IDLE)).to_have_count(1, timeout=FIRST_LOAD_MS)
    wait_idle(page)


def current_wave(chart: Locator) -> str:
    """The text of the animation slider's current-value label (e.g. "wave 12").

    Plotly gives the current value and the tick labels the same class; the
    current value is the one carrying the "wave " prefix.
    """
    return chart.evaluate(
        "el => Array.from(el.querySelectorAll('.slider-label'))"
        ".map(label => label.textContent).find(text => text.startsWith('wave ')) || ''")


def frame_title(chart: Locator) -> str:
    return chart.locator(".gtitle").first.text_content()


def remove_chip(multiselect: Locator, label: str) -> None:
    """Press the close button of ``label``'s chip in a multiselect.

    The five method names overflow the Methods box; when the box is not
    focused, the first press focuses it and scrolls the chips, which moves
    the button away from the pointer (as it does for a person with a mouse),
    so a press that removed nothing is repeated.
    """
    button = multiselect.get_by_role("button", name=f"Remove {label}")
    for _ in range(3):
        button.click()
        try:
            expect(button).to_have_count(0, timeout=3_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"three presses did not remove {label!r} from the multiselect")


def test_region_growing_animation_plays(page: Page, app_url: str, screenshot_dir):
    open_page(page, app_url, "region_growing", "Region growing")
    page.get_by_role("tab", name="Watch it work").click()
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Wave by wave")).to_be_visible()
    chart = page.get_by_test_id("stPlotlyChart").filter(has=page.locator(".updatemenu-button")).first
    expect(chart.locator(".main-svg").first).to_be_visible()
    wait_idle(page)
    assert_no_exception(page)

    assert current_wave(chart) == "wave 0"
    assert re.fullmatch(r"Region growing · wave 0: 1 in regions \(\+1 in white\)", frame_title(chart)), \
        frame_title(chart)
    play = chart.locator(".updatemenu-button").filter(has_text="Play")
    expect(play).to_have_count(1)
    play.click()

    waves = []
    deadline = time.monotonic() + ANIMATION_SECONDS
    while time.monotonic() < deadline and len(set(waves)) < 3:
        waves.append(current_wave(chart))
        page.wait_for_timeout(300)
    numbers = [int(text.removeprefix("wave ")) for text in dict.fromkeys(waves)]
    assert len(numbers) >= 3, f"the animation did not advance: {waves}"
    assert numbers == sorted(numbers) and numbers[-1] > 0
    # the title follows the frames
    title = frame_title(chart)
    assert re.fullmatch(r"Region growing · wave \d+: [\d,]+ in regions \(\+[\d,]+ in white\)", title), title
    assert not title.startswith("Region growing · wave 0:")

    chart.locator(".updatemenu-button").filter(has_text="Pause").click()
    page.wait_for_timeout(600)  # a frame already under way may still land
    paused = current_wave(chart)
    page.wait_for_timeout(1000)
    assert current_wave(chart) == paused
    screenshot(page, screenshot_dir, "region_growing_animation")
    assert_no_exception(page)


def test_small_robustness_sweep(page: Page, app_url: str, screenshot_dir):
    open_page(page, app_url, "robustness", "Robustness lab")
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".main-svg").first).to_be_visible()
    traces = chart.locator(".scatterlayer .trace")
    expect(traces).to_have_count(len(DEFAULT_SWEEP_PRESETS))
    assert_no_exception(page)

    methods = page.get_by_test_id("stMultiSelect")
    remaining = list(DEFAULT_SWEEP_PRESETS)
    for label in reversed(DEFAULT_SWEEP_PRESETS):
        if label in KEPT:
            continue
        remove_chip(methods, label)
        remaining.remove(label)
        # the rerun has happened once the chart lost the line, not merely when the app looks idle
        expect(traces).to_have_count(len(remaining))
        wait_idle(page)
    expect(methods.get_by_role("button", name=re.compile("^Remove "))).to_have_count(len(KEPT))

    levels = page.get_by_test_id("stSlider").filter(has_text="Levels")
    thumb = levels.get_by_role("slider")
    thumb.focus()
    thumb.press("Home")  # 2 levels
    thumb.press("ArrowRight")  # 3 levels
    expect(thumb).to_have_value("3")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(re.compile(r"^6 runs in "))).to_be_visible()
    wait_idle(page)

    expect(traces).to_have_count(len(KEPT))
    for index in range(len(KEPT)):
        expect(traces.nth(index).locator(".points path")).to_have_count(3)
    legend = [item.text_content() for item in chart.locator(".legend .traces .legendtext").all()]
    assert legend == KEPT
    expect(main.get_by_text("noise = 0.2", exact=True)).to_be_visible()
    assert_no_exception(page)
    screenshot(page, screenshot_dir, "robustness_small_sweep")
