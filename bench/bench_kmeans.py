"""k-means: segcore's sampled fit against scikit-learn's full fit.

Run: .venv/bin/python bench/bench_kmeans.py [--repeats N] [--sizes 2048x2048 4000x3000]

Two images at 4 MP (2048 x 2048) and 12 MP (4000 x 3000): a photo (the astronaut resized, mild
noise) and a smooth colour gradient with noise (no real clusters, the hard case for a sample), K = 3
and 8. Times ``KMeans(n_clusters=K, random_state=0, n_init="auto").fit(pixels)`` against
``segment(image, "kmeans", n_clusters=K)`` (a 100k-pixel sample fitted with three k-means++ starts,
then every pixel assigned) and compares their inertia over all pixels. Two 1 MP rows check that
segcore equals scikit-learn exactly below the sampling limit. Times are medians of the repeats;
compare ratios within one run only (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import gradient_image, machine, natural_image, timed  # noqa: E402

from segcore import segment  # noqa: E402

IMAGES = {"photo": natural_image, "gradient": gradient_image}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement (median)")
    parser.add_argument("--sizes", nargs="+", default=["2048x2048", "4000x3000"])
    args = parser.parse_args()

    from sklearn.cluster import KMeans

    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} at start")
    header = (f"{'image':>8} {'size':>10} {'K':>2} {'sklearn s':>10} {'segcore s':>10} {'speed-up':>9} "
              f"{'sklearn inertia':>16} {'segcore inertia':>16} {'rel. diff':>10}  notes")
    print(header)
    print("-" * len(header))
    rows = [(name, size, k) for size in args.sizes for name in IMAGES for k in (3, 8)]
    rows += [("photo", "1000x1000", 3), ("photo", "1000x1000", 8)]
    for name, size, n_clusters in rows:
        width, height = map(int, size.split("x"))
        image = IMAGES[name](width, height)
        pixels = image.reshape(-1, 3)
        full_seconds, full = timed(
            lambda: KMeans(n_clusters=n_clusters, random_state=0, n_init="auto").fit(pixels), args.repeats
        )
        ours_seconds, ours = timed(lambda: segment(image, "kmeans", n_clusters=n_clusters), args.repeats)
        relative = (ours.info["inertia"] - full.inertia_) / full.inertia_
        if ours.info["sampled"]:
            notes = f"sampled {ours.params['sample_size']} px"
        else:
            exact = np.array_equal(ours.labels.ravel(), full.labels_) and np.array_equal(
                ours.info["centers"], full.cluster_centers_
            )
            notes = f"full fit, labels and centres equal: {exact}"
        print(f"{name:>8} {size:>10} {n_clusters:>2} {full_seconds:>10.3f} {ours_seconds:>10.3f} "
              f"{full_seconds / ours_seconds:>8.1f}x {full.inertia_:>16.6g} {ours.info['inertia']:>16.6g} "
              f"{relative:>+10.3%}  {notes}", flush=True)


if __name__ == "__main__":
    main()
