"""The first view: a fresh server and a first visitor on the Compare page, in Chromium.

Run: .venv/bin/python bench/bench_first_view.py [--starts 5] [--delay 0] [--app DIR ...]

Each start launches a new server for the checkout ``--app`` (default: this
one; give an exported older commit too to measure "before" and "after"
interleaved, start by start, so both see the same background load) the way
its run_app.sh does (``python -m ui.serve`` where that exists, else
``streamlit run app.py``; the environment as given, so PyTorch takes its
default thread count unless ``OMP_NUM_THREADS`` is set),
waits for its health check, waits ``--delay`` seconds (0: the visitor arrives
the moment the server answers, the worst case for a background warm-up) and
opens the Compare page in Debian's Chromium. Times are taken inside the page,
from the navigation's start (``performance.now()``):

- first result: the first picture whose caption names a method and its run
  time (``"<method> · <time>"``), i.e. a segmentation, not the original;
- classic: every default method but the U-Net on screen;
- settled: the U-Net tile on screen too and the script run finished.

Prints each start and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402
from devtools.streamlit_server import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT, free_port, healthy, stop_app  # noqa: E402

TIMEOUT_MS = 120_000
CLASSIC = ("Otsu threshold", "Region growing (auto seeds)", "K-means (K=2)")
UNET = "U-Net (nuclei)"

# Polled by wait_for_function: records, once each, when the first method tile,
# all classic tiles and the U-Net tile appeared, and when the run ended after them.
PROBE = """
([classic, unet]) => {
  const w = window.__fv || (window.__fv = {});
  const now = performance.now();
  const captions = [...document.querySelectorAll('[data-testid="stImage"]')].map(e => e.innerText || '');
  const shown = name => captions.some(c => c.startsWith(name + ' ·'));
  if (w.first === undefined && captions.some(c => c.includes(' · '))) w.first = now;
  if (w.classic === undefined && classic.every(shown)) w.classic = now;
  if (w.unet === undefined && shown(unet)) w.unet = now;
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]');
  if (w.settled === undefined && w.unet !== undefined && w.classic !== undefined && idle) w.settled = now;
  return w.settled !== undefined;
}
"""


def start_server(app: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    entry = ["-m", "ui.serve"] if (app / "ui" / "serve.py").is_file() else ["-m", "streamlit", "run", "app.py"]
    command = [sys.executable, *entry, "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=app, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not healthy(url):
        if server.poll() is not None or time.monotonic() > deadline:
            stop_app(server)
            raise SystemExit(f"server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return server, url


def one_start(playwright, app: Path, delay: float, folder: Path) -> dict[str, float]:
    server, url = start_server(app, folder / "server.log")
    try:
        time.sleep(delay)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url, wait_until="commit")
            page.wait_for_function(PROBE, arg=[list(CLASSIC), UNET], timeout=TIMEOUT_MS, polling=25)
            marks = page.evaluate("() => window.__fv")
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
    finally:
        stop_app(server)
    return {name: marks[name] / 1000 for name in ("first", "classic", "unet", "settled")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between health check and visit")
    parser.add_argument("--app", type=Path, action="append", help="checkout to serve (default: this one); repeatable")
    args = parser.parse_args()
    apps = [app.resolve() for app in args.app or [REPO]]

    rows: dict[Path, list[dict[str, float]]] = {app: [] for app in apps}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        for i in range(args.starts):
            for app in apps:
                row = one_start(playwright, app, args.delay, Path(folder))
                rows[app].append(row)
                print(f"{app.name} start {i + 1}: " + "  ".join(f"{k} {v:.2f} s" for k, v in row.items()), flush=True)
    print(f"{machine()}; visitor {args.delay:g} s after the health check; "
          f"median of {args.starts} fresh starts, seconds from navigation start:")
    for app in apps:
        print(f"  {app}")
        for name in ("first", "classic", "unet", "settled"):
            values = [r[name] for r in rows[app]]
            print(f"    {name:8} median {statistics.median(values):6.2f}   min {min(values):6.2f}   "
                  f"max {max(values):6.2f}")


if __name__ == "__main__":
    main()
