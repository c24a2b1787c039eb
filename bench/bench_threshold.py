"""Otsu thresholding of a 12 MP RGB image: segcore against the raw libraries.

Run: .venv/bin/python bench/bench_threshold.py

Rows: the raw OpenCV path (cvtColor + threshold with THRESH_OTSU),
``segcore.segment(image, "threshold", algorithm="otsu")``, and scikit-image's
float path (rgb2gray + threshold_otsu + compare) for reference. Each timing is
the median of interleaved repeats; ratios are against the OpenCV path of the
same run, since this machine is shared and absolute times drift.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu

# Run as a script from a checkout: make the repository's segcore importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import segcore  # noqa: E402

REPEATS = 11
HEIGHT, WIDTH = 3000, 4000


def smooth_rgb(seed: int = 0) -> np.ndarray:
    """Random noise upscaled with cubic interpolation: smooth, full range, RGB."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (HEIGHT // 10, WIDTH // 10, 3), dtype=np.uint8)
    return cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)


def opencv_otsu(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return binary


def segcore_otsu(image: np.ndarray) -> np.ndarray:
    return segcore.segment(image, "threshold", algorithm="otsu").mask


def skimage_otsu(image: np.ndarray) -> np.ndarray:
    gray = rgb2gray(image)
    return gray > threshold_otsu(gray)


def main() -> None:
    image = smooth_rgb()
    paths = {
        "opencv cvtColor + THRESH_OTSU": opencv_otsu,
        'segment(..., "threshold", algorithm="otsu")': segcore_otsu,
        "skimage rgb2gray + threshold_otsu (float)": skimage_otsu,
    }
    for run in paths.values():  # warm up: imports, first allocations
        run(image)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(REPEATS):
        for name, run in paths.items():
            start = time.perf_counter()
            run(image)
            times[name].append(time.perf_counter() - start)

    reference = opencv_otsu(image) > 0
    assert np.array_equal(segcore_otsu(image), reference), "segcore and OpenCV masks differ"

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"image: {HEIGHT}x{WIDTH} RGB uint8 ({HEIGHT * WIDTH / 1e6:.0f} MP), median of {REPEATS}")
    print()
    baseline = statistics.median(times["opencv cvtColor + THRESH_OTSU"])
    print(f"{'path':<46} {'ms':>8} {'vs OpenCV':>10}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<46} {median * 1e3:8.1f} {median / baseline:9.2f}x")


if __name__ == "__main__":
    main()
