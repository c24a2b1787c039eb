"""Training speed on this machine for each encoder the training page offers.

Run: .venv/bin/python bench/bench_train.py [--steps 6] [--threads 0]

For each encoder in ``segcore.unet.train.CPU_ENCODERS`` (U-Net with the
bundled model's decoder widths), ``segcore.unet.train.train`` runs the
page's settings (batch 4 of 256-pixel crops, BCE + Dice, fp32 on a CPU
without bf16) on the bundled DSB2018 sample split as the page splits it
(24 training / 6 validation images), for one "epoch" of ``--steps`` steps
and its validation pass. Reported: median seconds per step (the first step
excluded: it pays one-off allocations), steps/s, crops/s, the validation
pass, and the time of one epoch as the page runs it (10 steps + validation).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine  # noqa: E402
from segcore.datasets import bundled_sample  # noqa: E402
from segcore.unet.data import samples_from_dataset, split_samples  # noqa: E402
from segcore.unet.train import (CPU_ENCODERS, Step, TrainingData, Validated, quick_config,  # noqa: E402
                                train)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch

    samples = samples_from_dataset(bundled_sample()).samples
    train_set, val_set = split_samples(samples, 0.2, 0)
    data = TrainingData(train_set, val_set, "bundled sample", {})
    print(f"machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads by default")
    batch = quick_config("-").batch_size
    print(f"| encoder | s/step (batch {batch}, 256²) | steps/s | crops/s | validation pass (6 images) "
          "| page epoch (10 steps + val) |")
    print("|---|---|---|---|---|---|")
    for encoder in CPU_ENCODERS:
        steps: list[float] = []
        marks: dict[str, float] = {}
        last = [time.perf_counter()]

        def on_event(event) -> None:
            now = time.perf_counter()
            if isinstance(event, Step):
                steps.append(now - last[0])
            elif isinstance(event, Validated):
                marks["val"] = now - last[0]
            last[0] = now

        with tempfile.TemporaryDirectory() as out:
            config = quick_config(out, fine_tune=False, encoder=encoder, epochs=1, steps_per_epoch=args.steps,
                                  minutes=None, device=args.device, threads=args.threads)
            last[0] = time.perf_counter()
            train(config, [], data=data, callback=on_event)
        per_step = statistics.median(steps[1:])
        epoch = 10 * per_step + marks["val"]
        print(f"| {encoder} | {per_step:.2f} | {1 / per_step:.2f} | {batch / per_step:.1f} | {marks['val']:.1f} s "
              f"| {epoch:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
