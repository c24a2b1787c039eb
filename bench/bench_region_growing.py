"""Region growing: segcore against raw cv2.floodFill and against an Otsu threshold.

Run: .venv/bin/python bench/bench_region_growing.py [--auto-only]

**Automatic seeds and tolerance** (the defaults, also what the Compare page
runs): on a 520 x 696 synthetic nuclei image (the size of the largest
fluorescence images of the 2018 Data Science Bowl set, 150 nuclei),
``segment(image, "region_growing")`` is timed against the Otsu threshold it
starts from (``segment(image, "threshold", polarity="auto")``) and against
region growing with automatic seeds and a fixed tolerance, with the IoU of
each against the image's exact mask. ``--auto-only`` runs only this part.

**Flood fill on 12 MP.**

For the "neighbor" criterion (floodFill's floating range) and the "seed"
criterion (FLOODFILL_FIXED_RANGE), one seed in the middle of a smooth gray
image grows a region covering most of it. The raw path allocates the
floodFill mask and fills it (FLOODFILL_MASK_ONLY); the segcore path is
``segcore.segment(image, "region_growing", ...)``. Timings are medians of
interleaved repeats; ratios are against the raw path of the same run, since
this machine is shared and absolute times drift. The "mean" criterion has no
OpenCV counterpart; it is timed once. Mpx/s counts region pixels.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

# Run as a script from a checkout: make the repository's segcore importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine  # noqa: E402
import segcore  # noqa: E402
from segcore.synthetic import make_image  # noqa: E402

REPEATS = 7
HEIGHT, WIDTH = 3000, 4000
SEED = (HEIGHT // 2, WIDTH // 2)
# (criterion, floodFill flags, tolerance): tolerances chosen so the region covers most of the image.
CASES = [("neighbor", 0, 1.0), ("seed", cv2.FLOODFILL_FIXED_RANGE, 7.0)]


def smooth_gray(random_state: int = 0) -> np.ndarray:
    """Upscaled random noise compressed to 16 gray levels: a slowly varying surface."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (HEIGHT // 10, WIDTH // 10), dtype=np.uint8)
    smooth = cv2.resize(noise, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    return (smooth // 16 + 100).astype(np.uint8)


def raw_flood_fill(image: np.ndarray, flags: int, tolerance: float) -> np.ndarray:
    fill_mask = np.zeros((HEIGHT + 2, WIDTH + 2), dtype=np.uint8)
    cv2.floodFill(
        image, fill_mask, (SEED[1], SEED[0]), 0, (tolerance,), (tolerance,),
        4 | cv2.FLOODFILL_MASK_ONLY | flags | (1 << 8),
    )
    return fill_mask


def segcore_growing(image: np.ndarray, criterion: str, tolerance: float) -> np.ndarray:
    result = segcore.segment(
        image, "region_growing", seeds=[SEED], tolerance=tolerance, criterion=criterion
    )
    return result.labels


def interleaved_medians(paths: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each callable, run in turns so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def bench_automatic() -> None:
    scene = make_image((520, 696), n_objects=150, radius=(6.0, 14.0), noise=0.05, random_state=3)
    image, truth = scene.image, scene.mask
    paths = {
        'threshold (otsu, polarity="auto")': ("threshold", {"polarity": "auto"}),
        "region_growing (defaults: auto, auto)": ("region_growing", {}),
        "region_growing (tolerance=20)": ("region_growing", {"tolerance": 20}),
    }
    results = {
        name: segcore.segment(image, method, **params) for name, (method, params) in paths.items()
    }
    medians = interleaved_medians(
        {
            name: (lambda method=method, params=params: segcore.segment(image, method, **params))
            for name, (method, params) in paths.items()
        },
        repeats=15,
    )
    baseline = medians['threshold (otsu, polarity="auto")']
    print(f"automatic seeds: 520x696 RGB synthetic nuclei ({len(np.unique(scene.instances)) - 1} "
          "objects), median of 15")
    print(f"{'path':<40} {'ms':>7} {'ratio':>6} {'seeds':>5} {'IoU':>6}")
    for name, result in results.items():
        union = np.count_nonzero(result.binary | truth)
        score = np.count_nonzero(result.binary & truth) / union
        n_seeds = len(result.params["seeds"]) if "seeds" in result.params else 0
        print(f"{name:<40} {medians[name] * 1e3:7.2f} {medians[name] / baseline:5.2f}x "
              f"{n_seeds:>5} {score:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auto-only", action="store_true", help="skip the 12 MP flood-fill part")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print()
    bench_automatic()
    if args.auto_only:
        return
    print()
    image = smooth_gray()
    print(f"flood fill: {HEIGHT}x{WIDTH} gray uint8 ({HEIGHT * WIDTH / 1e6:.0f} MP), seed {SEED}, "
          f"median of {REPEATS}")
    print()
    header = f"{'criterion':<9} {'tol':>4} {'region':>7} {'path':<32} {'ms':>8} {'Mpx/s':>7}"
    print(f"{header} {'ratio':>6}")
    for criterion, flags, tolerance in CASES:
        raw_labels = raw_flood_fill(image, flags, tolerance)[1:-1, 1:-1]
        ours = segcore_growing(image, criterion, tolerance)
        assert np.array_equal(ours, raw_labels), f"{criterion}: segcore and floodFill differ"
        region = np.count_nonzero(ours)
        paths = {
            "cv2.floodFill (mask only)": lambda: raw_flood_fill(image, flags, tolerance),
            'segment(..., "region_growing")': lambda: segcore_growing(image, criterion, tolerance),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(REPEATS):
            for name, run in paths.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        baseline = statistics.median(times["cv2.floodFill (mask only)"])
        for name, samples in times.items():
            median = statistics.median(samples)
            print(
                f"{criterion:<9} {tolerance:4g} {region / image.size:6.0%} {name:<32} "
                f"{median * 1e3:8.1f} {region / median / 1e6:7.0f} {median / baseline:5.2f}x"
            )
    start = time.perf_counter()
    ours = segcore_growing(image, "mean", 7.0)
    seconds = time.perf_counter() - start
    region = np.count_nonzero(ours)
    print(
        f"{'mean':<9} {7:4g} {region / image.size:6.0%} {'segment (one run, no cv2 twin)':<32} "
        f"{seconds * 1e3:8.1f} {region / seconds / 1e6:7.1f}"
    )


if __name__ == "__main__":
    main()
