"""Thresholding: speed against the raw libraries, and how well local thresholds segment.

Run: .venv/bin/python bench/bench_threshold.py

1. Otsu on a 12 MP RGB image: the raw OpenCV path (cvtColor + threshold with
   THRESH_OTSU), ``segcore.segment(image, "threshold", algorithm="otsu")``,
   and scikit-image's float path (rgb2gray + threshold_otsu + compare).
2. Local thresholds on a 2048 x 2048 gray image: each segcore algorithm and
   polarity against the raw call it wraps (``cv2.adaptiveThreshold``,
   scikit-image's ``threshold_sauvola`` / ``threshold_niblack`` + compare).
   Bright Sauvola/Niblack objects cost one image inversion more.
3. IoU of the local algorithms (``polarity="auto"``, default offsets) for a
   few block sizes on the synthetic nuclei samples and on DSB2018 val (when
   the data is beside the checkout), with global Otsu and the Compare
   preset for reference: the measurements behind the preset's choice.

Each timing is the median of interleaved repeats; ratios are against the raw
library path of the same run, since this machine is shared and absolute
times drift.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from skimage.color import rgb2gray
from skimage.filters import threshold_niblack, threshold_otsu, threshold_sauvola

# Run as a script from a checkout: make the repository's segcore importable.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import machine  # noqa: E402
import segcore  # noqa: E402
from segcore import metrics  # noqa: E402
from segcore.cli import pair_files  # noqa: E402
from segcore.compare import PRESETS  # noqa: E402
from segcore.loading import load_image, load_mask  # noqa: E402
from segcore.methods.threshold import LOCAL_ALGORITHMS  # noqa: E402
from segcore.samples import load_sample  # noqa: E402

OTSU_REPEATS = 11
LOCAL_REPEATS = 5
HEIGHT, WIDTH = 3000, 4000
LOCAL_SIDE = 2048
LOCAL_BLOCK = 51
QUALITY_BLOCKS = (25, 51, 101)
LOCAL_PRESET = "Local threshold (mean)"
SHARED = Path(os.environ.get("SEGCORE_SHARED", REPO.parent / "shared"))
DSB_VAL = SHARED / "data" / "dsb2018" / "val"


def smooth_noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Random noise upscaled with cubic interpolation: smooth, full range."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (shape[0] // 10, shape[1] // 10, *shape[2:]), dtype=np.uint8)
    return cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def timed(paths: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each path, repeats interleaved, after one warm-up call each."""
    for run in paths.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def print_times(times: dict[str, float], baselines: dict[str, str]) -> None:
    """One row per path: ms and the ratio to its raw-library baseline."""
    print(f"{'path':<58} {'ms':>8} {'vs raw':>8}")
    for name, seconds in times.items():
        ratio = seconds / times[baselines[name]]
        print(f"{name:<58} {seconds * 1e3:8.1f} {ratio:7.2f}x")


def bench_otsu() -> None:
    image = smooth_noise((HEIGHT, WIDTH, 3))

    def opencv_otsu() -> np.ndarray:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]

    def segcore_otsu() -> np.ndarray:
        return segcore.segment(image, "threshold", algorithm="otsu").mask

    def skimage_otsu() -> np.ndarray:
        gray = rgb2gray(image)
        return gray > threshold_otsu(gray)

    assert np.array_equal(segcore_otsu(), opencv_otsu() > 0), "segcore and OpenCV masks differ"
    paths = {
        "opencv cvtColor + THRESH_OTSU": opencv_otsu,
        'segment(..., "threshold", algorithm="otsu")': segcore_otsu,
        "skimage rgb2gray + threshold_otsu (float)": skimage_otsu,
    }
    megapixels = HEIGHT * WIDTH / 1e6
    print(f"Otsu: {HEIGHT}x{WIDTH} RGB uint8 ({megapixels:.0f} MP), median of {OTSU_REPEATS}")
    times = timed(paths, OTSU_REPEATS)
    print_times(times, dict.fromkeys(paths, "opencv cvtColor + THRESH_OTSU"))


def bench_local() -> None:
    gray = smooth_noise((LOCAL_SIDE, LOCAL_SIDE))
    block = LOCAL_BLOCK

    def ours(algorithm: str, polarity: str) -> Callable[[], np.ndarray]:
        return lambda: segcore.segment(
            gray, "threshold", algorithm=algorithm, polarity=polarity, block_size=block
        ).mask

    def raw_adaptive(cv_method: int) -> Callable[[], np.ndarray]:
        return lambda: cv2.adaptiveThreshold(gray, 255, cv_method, cv2.THRESH_BINARY, block, -5)

    def raw_skimage(local: Callable[..., np.ndarray]) -> Callable[[], np.ndarray]:
        return lambda: gray <= local(gray, window_size=block)

    raw_mean = "cv2.adaptiveThreshold MEAN_C"
    raw_gaussian = "cv2.adaptiveThreshold GAUSSIAN_C"
    raw_sauvola = "skimage threshold_sauvola + compare"
    raw_niblack = "skimage threshold_niblack + compare"
    paths = {
        raw_mean: raw_adaptive(cv2.ADAPTIVE_THRESH_MEAN_C),
        "segment local_mean, bright": ours("local_mean", "bright"),
        "segment local_mean, dark": ours("local_mean", "dark"),
        "segment local_mean, auto": ours("local_mean", "auto"),
        raw_gaussian: raw_adaptive(cv2.ADAPTIVE_THRESH_GAUSSIAN_C),
        "segment local_gaussian, bright": ours("local_gaussian", "bright"),
        raw_sauvola: raw_skimage(threshold_sauvola),
        "segment sauvola, dark": ours("sauvola", "dark"),
        "segment sauvola, bright (on the inverted image)": ours("sauvola", "bright"),
        raw_niblack: raw_skimage(threshold_niblack),
        "segment niblack, bright (on the inverted image)": ours("niblack", "bright"),
    }
    baselines = {}
    for name in paths:
        if not name.startswith("segment"):
            current = name
        baselines[name] = current
    print(f"Local thresholds: {LOCAL_SIDE}x{LOCAL_SIDE} gray uint8, block_size={block}, "
          f"median of {LOCAL_REPEATS}")
    times = timed(paths, LOCAL_REPEATS)
    print_times(times, baselines)


def dsb_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    if not (DSB_VAL / "images").is_dir():
        return []
    pairs, _, _ = pair_files(DSB_VAL / "images", DSB_VAL / "masks")
    loaded = []
    for _, image_path, mask_path in pairs:
        image = load_image(image_path)
        loaded.append((image, load_mask(mask_path, shape=image.shape) > 0))
    return loaded


def bench_quality() -> None:
    scenes = {name: load_sample(name) for name in ("synthetic_nuclei", "synthetic_uneven")}
    dsb = dsb_pairs()

    def row(label: str, run: Callable[[np.ndarray], np.ndarray]) -> None:
        scores = [metrics.iou(truth, run(image)) for image, truth in scenes.values()]
        if dsb:
            scores.append(statistics.fmean(metrics.iou(truth, run(image)) for image, truth in dsb))
        print(f"{label:<48}" + "".join(f"{score:>18.3f}" for score in scores))

    columns = [*scenes, f"DSB2018 val ({len(dsb)})" if dsb else None]
    print("IoU, polarity auto, default offsets")
    print(f"{'method':<48}" + "".join(f"{name:>18}" for name in columns if name))
    row("otsu", lambda image: segcore.segment(
        image, "threshold", algorithm="otsu", polarity="auto").mask)
    for algorithm in LOCAL_ALGORITHMS:
        for block in QUALITY_BLOCKS:
            row(f"{algorithm}, block_size={block}", lambda image: segcore.segment(
                image, "threshold", algorithm=algorithm, polarity="auto", block_size=block).mask)
    preset = PRESETS[LOCAL_PRESET]
    row(f"preset: {', '.join(f'{k}={v}' for k, v in preset.params.items() if k != 'polarity')}",
        lambda image: preset.run(image).mask)


def main() -> None:
    print(f"machine: {machine()}")
    print()
    bench_otsu()
    print()
    bench_local()
    print()
    bench_quality()


if __name__ == "__main__":
    main()
