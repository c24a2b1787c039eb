"""Server memory while visitors upload ten 48 Mpx images in turn, and after they leave.

Run: .venv/bin/python bench/bench_memory.py [--visitors 10] [--cache-mb 256] [--linger 20]

Starts the dashboard as run_app.sh does (``python -m ui.serve``) with an
operator file setting ``result_cache_mb`` to ``--cache-mb``. A first visitor
opens the Compare page (default sample) and leaves; once the background
warm-up is done, the server's resident memory is the **base** (Python,
Streamlit, PyTorch and the U-Net loaded). Then each visitor, in a fresh
Chromium context (a new session), opens the Compare page, uploads its own
8000x6000 JPEG (48 Mpx, every one different) through the sidebar, waits
until the four default methods have run on it, and leaves. The server's RSS
is sampled every 0.2 s (peak) and read after each visitor has settled, and
``--linger`` seconds after the last one left. The claim checked: after each
visitor and after they all left, RSS <= base + cache bound.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine, natural_image  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS, VIEWPORT, free_port, healthy, stop_app  # noqa: E402
from tests.browser.pages import assert_no_exception, wait_idle  # noqa: E402

WIDTH, HEIGHT = 8000, 6000
TIMEOUT_MS = 300_000
MB = 2**20


def write_images(folder: Path, count: int) -> list[Path]:
    base = natural_image(WIDTH, HEIGHT)
    paths = []
    for i in range(count):
        picture = np.roll(base, shift=(i * 397) % HEIGHT, axis=0)  # a different image for each visitor
        cv2.putText(picture, f"visitor {i}", (200, 800), cv2.FONT_HERSHEY_SIMPLEX, 20, (255, 255, 0), 40)
        path = folder / f"visitor_{i:02d}_48mp.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.stop = threading.Event()

    def now(self) -> int:
        return self.process.memory_info().rss

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.2)


def settled_compare(page) -> None:
    expect(page.get_by_text("Scores against the ground truth").or_(page.get_by_text("Agreement between methods"))
           ).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    assert_no_exception(page)


def visit(browser, url: str, image: Path | None) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(url)
    settled_compare(page)
    if image is not None:
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
        expect(sidebar.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(2, timeout=TIMEOUT_MS)
        wait_idle(page, TIMEOUT_MS)
        sidebar.get_by_test_id("stFileUploaderDropzoneInput").nth(0).set_input_files(image)
        expect(sidebar).to_contain_text(f"{image.name} ·", timeout=TIMEOUT_MS)
        settled_compare(page)
        expect(page.get_by_test_id("stImage").filter(has_text="U-Net (nuclei) ·")).to_have_count(1, timeout=TIMEOUT_MS)
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--cache-mb", type=int, default=256)
    parser.add_argument("--linger", type=float, default=20.0, help="seconds to watch after the last visitor left")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        images = write_images(folder, args.visitors)
        settings = folder / "lab.toml"
        settings.write_text(f"result_cache_mb = {args.cache_mb}\nmax_upload_mb = 200\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "SEGLAB_CONFIG": str(settings)}
        log = folder / "server.log"
        with open(log, "wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.headless", "true",
                                       "--server.address", "127.0.0.1", "--server.port", str(port),
                                       "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                      cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            while not healthy(url):
                if server.poll() is not None:
                    raise SystemExit(log.read_text())
                time.sleep(0.2)
            sampler = RssSampler(server.pid)
            sampler.start()
            rows = []
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                     args=CHROMIUM_FLAGS)
                visit(browser, url, None)
                time.sleep(5)
                base = sampler.now()
                print(f"base (default page served, U-Net loaded): {base / MB:.0f} MB; bound = base + "
                      f"{args.cache_mb} MB = {base / MB + args.cache_mb:.0f} MB", flush=True)
                for i, image in enumerate(images):
                    started = time.perf_counter()
                    visit(browser, url, image)
                    rss = sampler.now()
                    rows.append(rss)
                    print(f"visitor {i + 1:2d} ({image.stat().st_size / MB:.1f} MB JPEG) left after "
                          f"{time.perf_counter() - started:5.1f} s: RSS {rss / MB:6.0f} MB, peak so far "
                          f"{sampler.peak / MB:6.0f} MB", flush=True)
                browser.close()
            time.sleep(args.linger)
            after = sampler.now()
            sampler.stop.set()
        finally:
            stop_app(server)
    bound = base + args.cache_mb * MB
    print(f"{machine()}; {args.visitors} visitors, 48 Mpx JPEG each, result_cache_mb = {args.cache_mb}")
    print(f"  base {base / MB:.0f} MB; after each visitor: max {max(rows) / MB:.0f} MB; "
          f"{args.linger:g} s after the last left: {after / MB:.0f} MB; peak (0.2 s samples) {sampler.peak / MB:.0f} MB")
    print(f"  bound base + cache = {bound / MB:.0f} MB: after-visitor max {'within' if max(rows) <= bound else 'OVER'}, "
          f"after leaving {'within' if after <= bound else 'OVER'}")


if __name__ == "__main__":
    main()
