"""App latency in a real browser: a slider change on a 2 Mpx image, and switching methods.

Run: .venv/bin/python bench/bench_app_latency.py [--presses 10] [--switches 6]

The requirement: "on a 2 MP image, a slider change on the thresholding page
re-renders in well under a second". This starts the dashboard (``streamlit
run app.py`` on a free local port, as the browser tests do), opens it in
Debian's Chromium (/usr/lib/chromium/chromium) through Playwright, uploads a
1600x1250 synthetic PNG through the sidebar's real file input, opens
Thresholding and chooses "Fixed value". Then:

- slider: focus the "Threshold value T" slider's thumb and press ArrowRight,
  ``--presses`` times;
- automatic method: choose "Automatic", then switch the method otsu -> li ->
  otsu ... ``--switches`` times (the first visit to li computes it, later
  ones come from the app's cache).

Each change is timed inside the page, from the key press (or the click on
the option) to the moment the app is idle again: the script state went to
"running" and back to "notRunning" and the result image's ``src`` changed.
"image" is when the first new picture arrived; "reruns" counts the script
runs one change caused. The times hold everything a person waits for:
sending the change, the script run, and the browser drawing the result.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402
from segcore.synthetic import make_image  # noqa: E402
from devtools.streamlit_server import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT, AppDidNotStart, start_app, stop_app  # noqa: E402
from devtools.pages import wait_idle  # noqa: E402

HEIGHT, WIDTH = 1250, 1600  # 2.0 Mpx
TIMEOUT_MS = 180_000
CHANGE_TIMEOUT_MS = 60_000

# Records, with performance.now() times: script-state changes of the app,
# new or changed pictures in the main area, key presses and clicks.
RECORDER = """
() => {
  window.__events = [];
  const log = (kind, value) => window.__events.push({t: performance.now(), kind, value});
  const app = document.querySelector('[data-testid="stApp"]');
  // One callback may carry several changes: each record holds the value before it, so the
  // value after record i is the old value of record i + 1 (and the current one for the last).
  new MutationObserver(records => {
    const after = records.slice(1).map(r => r.oldValue);
    after.push(app.getAttribute('data-test-script-state'));
    after.forEach(value => log('state', value));
  }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  const main = document.querySelector('[data-testid="stMain"]');
  new MutationObserver(mutations => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.target.tagName === 'IMG') log('image', m.target.src.slice(-40));
      for (const node of m.addedNodes || [])
        if (node.nodeType === 1 && (node.tagName === 'IMG' || node.querySelector('img'))) log('image', 'added');
    }
  }).observe(main, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  document.addEventListener('keydown', () => log('input', 'key'), true);
  document.addEventListener('click', () => log('input', 'click'), true);
}
"""

# True once, after the last input, the app went running -> notRunning and a picture changed.
SETTLED = """
() => {
  const events = window.__events;
  const input = events.map(e => e.kind).lastIndexOf('input');
  if (input < 0) return false;
  const after = events.slice(input + 1);
  const running = after.findIndex(e => e.kind === 'state' && e.value === 'running');
  if (running < 0) return false;
  const idle = after.slice(running + 1).some(e => e.kind === 'state' && e.value === 'notRunning');
  return idle && after.some(e => e.kind === 'image')
    && document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state') === 'notRunning';
}
"""

# (seconds to idle, seconds to the first new picture) of the last input.
MEASURE = """
() => {
  const events = window.__events;
  const input = events.map(e => e.kind).lastIndexOf('input');
  const start = events[input].t;
  const after = events.slice(input + 1);
  const idle = after.filter(e => e.kind === 'state' && e.value === 'notRunning').pop().t;
  const image = after.find(e => e.kind === 'image').t;
  const reruns = after.filter(e => e.kind === 'state' && e.value === 'running').length;
  return [(idle - start) / 1000, (image - start) / 1000, reruns];
}
"""


def write_test_image(path: Path) -> None:
    sample = make_image((HEIGHT, WIDTH), n_objects=80, radius=(12, 30), noise=0.05, blur=1.0, random_state=0)
    Image.fromarray(sample.image).save(path)


def settle(page) -> tuple[float, float, int]:
    page.wait_for_function(SETTLED, timeout=CHANGE_TIMEOUT_MS, polling=20)
    seconds, first_image, reruns = page.evaluate(MEASURE)
    return seconds, first_image, reruns


def choose_option(page, selectbox, option: str) -> None:
    selectbox.click()
    page.get_by_role("option", name=option, exact=True).click()


def measure(page, presses: int, switches: int, image_path: Path) -> dict[str, list[tuple[float, float, int]]]:
    main = page.get_by_test_id("stMain")
    sidebar = page.get_by_test_id("stSidebar")
    expect(page.locator("h1").first).to_have_text("Thresholding", timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)

    sidebar.get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
    expect(sidebar.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(2, timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    started = time.perf_counter()
    sidebar.get_by_test_id("stFileUploaderDropzoneInput").nth(0).set_input_files(image_path)
    expect(sidebar).to_contain_text(f"{image_path.name} · {WIDTH}×{HEIGHT} px", timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    upload_seconds = time.perf_counter() - started

    main.get_by_test_id("stRadio").get_by_text("Fixed value", exact=True).click()
    slider = main.get_by_test_id("stSlider").filter(has_text="Threshold value T")
    expect(slider).to_have_count(1, timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    page.evaluate(RECORDER)

    timings: dict[str, list[tuple[float, float, int]]] = {"upload (s, not timed in page)": [(upload_seconds, 0, 0)]}
    thumb = slider.get_by_role("slider")
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")
        timings.setdefault("slider: threshold T +1", []).append(settle(page))

    main.get_by_test_id("stRadio").get_by_text("Automatic", exact=True).click()
    method = main.get_by_test_id("stSelectbox").filter(has_text="Automatic method")
    expect(method).to_have_count(1, timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    for index in range(switches):
        target = "Li (minimum cross-entropy)" if index % 2 == 0 else "Otsu"
        choose_option(page, method, target)
        name = ("method: otsu -> li (computed)" if index == 0 else
                "method: otsu -> li (cached)" if index % 2 == 0 else "method: li -> otsu (cached)")
        timings.setdefault(name, []).append(settle(page))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=10)
    parser.add_argument("--switches", type=int, default=6)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        image_path = Path(folder) / "bench_2mp.png"
        write_test_image(image_path)
        try:
            server, url = start_app(Path(folder) / "server.log")
        except AppDidNotStart as error:
            raise SystemExit(str(error)) from None
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                     args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url + "/threshold")
                timings = measure(page, args.presses, args.switches, image_path)
                version = browser.version
                browser.close()
        finally:
            stop_app(server)

    print(f"2 Mpx image ({WIDTH}x{HEIGHT}), Thresholding page; seconds from the input to an idle app")
    print(f"{'change':34} {'n':>3} {'median':>8} {'max':>8} {'image med':>10} {'reruns':>7}")
    for name, rows in timings.items():
        seconds = [row[0] for row in rows]
        if name.startswith("upload"):
            print(f"{name:34} {len(rows):3} {seconds[0]:8.3f}")
            continue
        images = [row[1] for row in rows]
        reruns = sorted({row[2] for row in rows})
        print(f"{name:34} {len(rows):3} {statistics.median(seconds):8.3f} {max(seconds):8.3f} "
              f"{statistics.median(images):10.3f} {'/'.join(map(str, reruns)):>7}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine: {machine()}, load average {load}; "
          f"Chromium {version}; python {platform.python_version()}")


if __name__ == "__main__":
    main()
