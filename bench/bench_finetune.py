"""What a two-minute training on the page buys: fine-tuning per modality, and training from scratch.

Run: .venv/bin/python bench/bench_finetune.py --modality histology [--minutes 2]
     .venv/bin/python bench/bench_finetune.py --scratch [--minutes 2]

Fine-tuning (``--modality M``): 8 training images of modality M from
``../shared/data/dsb2018/train`` (the first 8 of a seeded shuffle) are
trained on and 2 more of that split validate during training (they pick the
best checkpoint); the page's fine-tuning defaults (``quick_config``:
bundled model, batch 4 of 256-pixel crops, BCE + Dice, lr 3e-4) run for
``--minutes``. Both the fine-tuned model and the bundled model unchanged are
then scored on every ``val`` image of modality M (mean per-image foreground
IoU and Dice at threshold 0.5); those images were never trained on.

From scratch (``--scratch``): the page's defaults with "from scratch" (its first
encoder, MobileNetV3 small) on the
bundled sample, split as the page splits it (24 / 6 by image, random_state 0),
scored on the 6 held-out images against the bundled model on the same 6.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine  # noqa: E402
import segcore  # noqa: E402
from segcore.datasets import bundled_sample  # noqa: E402
from segcore.metrics import dice, iou  # noqa: E402
from segcore.unet.data import Sample, load_split, samples_from_dataset, split_samples  # noqa: E402
from segcore.unet.train import CPU_ENCODERS, Finished, TrainingData, quick_config, train  # noqa: E402

DSB = Path(__file__).resolve().parents[2] / "shared" / "data" / "dsb2018"


def score(model: str, samples: list[Sample]) -> tuple[float, float]:
    ious, dices = [], []
    for sample in samples:
        mask = segcore.segment(sample.image, "unet", model=model, device="cpu", threshold=0.5,
                               split_instances=False).mask
        ious.append(iou(sample.mask, mask))
        dices.append(dice(sample.mask, mask))
    return float(np.mean(ious)), float(np.mean(dices))


def modality_data(modality: str) -> tuple[TrainingData, list[Sample]]:
    with (DSB / "index.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = sorted(r["id"] for r in rows if r["split"] == "train" and r["modality"] == modality)
    chosen = [ids[i] for i in np.random.default_rng(0).permutation(len(ids))[:10]]
    by_name = {s.name: s for s in load_split(DSB, "train") if s.name in chosen}
    train_set, val_set = [by_name[i] for i in chosen[:8]], [by_name[i] for i in chosen[8:10]]
    held_out = [s for s in load_split(DSB, "val") if s.modality == modality]
    return TrainingData(train_set, val_set, f"DSB2018 train, 8 {modality} images", {}), held_out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modality", choices=("histology", "fluorescence", "brightfield"))
    parser.add_argument("--scratch", action="store_true")
    parser.add_argument("--minutes", type=float, default=2.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.scratch:
        samples = samples_from_dataset(bundled_sample()).samples
        train_set, held_out = split_samples(samples, 0.2, 0)
        data = TrainingData(train_set, held_out, "bundled sample", {})
        label = "from scratch on the bundled sample (24 images)"
    else:
        data, held_out = modality_data(args.modality)
        label = f"bundled model fine-tuned on 8 {args.modality} images"
    with tempfile.TemporaryDirectory() as out:
        # The page's defaults: fine-tuning keeps the bundled encoder; from scratch starts on the first offered one.
        extra = {"encoder": CPU_ENCODERS[0]} if args.scratch else {}
        config = quick_config(out, fine_tune=not args.scratch, minutes=args.minutes, device="cpu", **extra)
        finished: list[Finished] = []
        start = time.perf_counter()
        train(config, [], data=data, callback=lambda e: finished.append(e) if isinstance(e, Finished) else None)
        wall = time.perf_counter() - start
        end = finished[-1]
        trained = score(str(end.best_folder), held_out)
    bundled = score("nuclei", held_out)
    print(f"| {label} | {len(held_out)} | {bundled[0]:.3f} / {bundled[1]:.3f} | {trained[0]:.3f} / {trained[1]:.3f} "
          f"| {trained[0] - bundled[0]:+.3f} | {end.steps} steps, {wall:.0f} s wall ({end.reason}) |")


if __name__ == "__main__":
    main()
