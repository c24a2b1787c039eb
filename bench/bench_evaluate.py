"""Dataset evaluation on Dask: images per second at 1 and 2 workers, client memory over 2,000 images.

    .venv/bin/python bench/bench_evaluate.py throughput [--images 48] [--data DIR]
    .venv/bin/python bench/bench_evaluate.py memory [--images 2000] [--data DIR]

Both parts generate their images first (512x512 PNG scenes of bright discs on
noise, with 0/255 masks and 16-bit labels) into ``--data`` (default: a
folder under /tmp, reused when it already holds them), then time
:func:`segcore.evaluation.iter_scores` on a ``LocalCluster`` of worker
processes (one thread each), exactly as ``python -m segcore evaluate
--workers N`` runs.

``throughput``: Otsu, watershed and the bundled U-Net on every image, at 1
and then 2 workers. Each cluster is warmed up first (every worker imports
torch and loads the model once), so the figure is the steady rate a long
run sees; the start-up is printed separately. Also the per-image cost, for
an estimate on a cluster: cost x images / workers.

``memory``: Otsu on 2,000 images at 2 workers, peak resident memory of this
(client) process sampled every 100 images, and of the workers at the end.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402
from segcore import datasets, evaluation  # noqa: E402
from segcore.compare import get_preset  # noqa: E402

SIDE = 512
THROUGHPUT_METHODS = ["Otsu threshold", "Watershed (Otsu mask)", "U-Net (nuclei)"]
MEMORY_METHODS = ["Otsu threshold"]


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 512x512 gray scene of 20-40 discs (radius 6-14) on noise, and its instance labels."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((SIDE, SIDE), np.uint16)
    for k in range(1, int(rng.integers(20, 41)) + 1):
        centre = (int(rng.integers(15, SIDE - 15)), int(rng.integers(15, SIDE - 15)))
        disc = np.zeros_like(labels, dtype=np.uint8)
        cv2.circle(disc, centre[::-1], int(rng.integers(6, 15)), 1, -1)
        labels[(disc > 0) & (labels == 0)] = k
    image = rng.normal(35, 8, labels.shape)
    image[labels > 0] += 130
    image = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (5, 5), 1.0)
    return image, labels


def prepare(folder: Path, n: int) -> datasets.Dataset:
    for sub in ("images", "masks", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"scene{i:05d}.png"
        if (folder / "labels" / name).exists():
            continue
        image, labels = scene(i)
        cv2.imwrite(str(folder / "images" / name), image)
        cv2.imwrite(str(folder / "masks" / name), (labels > 0).astype(np.uint8) * 255)
        cv2.imwrite(str(folder / "labels" / name), labels)
    found = datasets.find_pairs(folder)
    assert len(found) >= n, f"{folder} holds {len(found)} pairs, {n} wanted"
    return datasets.Dataset(found.pairs[:n], found.skipped, found.layout)


def run(pairs, presets, client) -> tuple[float, list]:
    start = time.perf_counter()
    scored = list(evaluation.iter_scores(pairs, presets, client=client))
    return time.perf_counter() - start, scored


def throughput(folder: Path, n: int) -> None:
    dataset = prepare(folder, n)
    presets = [get_preset(label) for label in THROUGHPUT_METHODS]
    rates = {}
    for workers in (1, 2):
        start = time.perf_counter()
        client = evaluation.dask_client(workers=workers)
        try:
            warm_seconds, _ = run(dataset.pairs[: 2 * workers], presets, client)  # imports + model load per worker
            started = time.perf_counter() - start
            seconds, scored = run(dataset.pairs, presets, client)
        finally:
            evaluation.close_client(client)
        rates[workers] = len(scored) / seconds
        per_method = {label: statistics.median(row["seconds"] for s in scored for row in s.rows
                                               if row["method"] == label) for label in THROUGHPUT_METHODS}
        per_image = statistics.median(s.seconds for s in scored)
        print(f"{workers} worker(s): {len(scored)} images in {seconds:.1f} s = {rates[workers]:.2f} images/s "
              f"(cluster start + warm-up {started:.1f} s); one image {per_image:.3f} s median inside a worker "
              f"(read + 3 methods + scoring); method medians: "
              + ", ".join(f"{label} {value:.3f} s" for label, value in per_method.items()))
    print(f"speed-up at 2 workers: {rates[2] / rates[1]:.2f}x")


def memory(folder: Path, n: int) -> None:
    dataset = prepare(folder, n)
    presets = [get_preset(label) for label in MEMORY_METHODS]
    me = psutil.Process()
    client = evaluation.dask_client(workers=2)
    samples = []
    try:
        start = time.perf_counter()
        rows = 0
        for done, scored in enumerate(evaluation.iter_scores(dataset.pairs, presets, client=client), start=1):
            rows += len(scored.rows)
            if done % 100 == 0 or done == 1:
                samples.append((done, me.memory_info().rss / 2**20))
        seconds = time.perf_counter() - start
        workers = client.run(lambda: psutil.Process().memory_info().rss / 2**20)
    finally:
        evaluation.close_client(client)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} images, {rows} rows, {seconds:.1f} s ({n / seconds:.1f} images/s) at 2 workers")
    print("client RSS (MB) after N images: " + ", ".join(f"{d}: {mb:.0f}" for d, mb in samples))
    print(f"client peak RSS {peak:.0f} MB; workers' RSS at the end: "
          + ", ".join(f"{mb:.0f} MB" for mb in workers.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=("throughput", "memory"))
    parser.add_argument("--images", type=int)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "segcore_bench_evaluate")
    args = parser.parse_args()
    print(machine())
    if args.part == "throughput":
        throughput(args.data, args.images or 48)
    else:
        memory(args.data, args.images or 2000)


if __name__ == "__main__":
    main()
