"""Measure a U-Net on DSB2018 val with `python -m segcore evaluate` and write the scores into its card.

Run: .venv/bin/python bench/update_model_card.py [--model segcore/models/nuclei_unet]
                                                  [--data ../shared/data/dsb2018]

Scores every val image against ``val/labels`` (instance labels: the foreground
for IoU/Dice, the instances for the DSB score), with the method's defaults (the
card's threshold, automatic device), adds Otsu with automatic polarity as the
baseline, breaks the means down by modality (``index.csv``) and stores all of
it under ``"evaluation"`` in the model's ``card.json``, with the command, the
date and the machine.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import machine  # noqa: E402

BASELINE = "threshold:algorithm=otsu,polarity=auto"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "segcore/models/nuclei_unet"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/dsb2018"))
    args = parser.parse_args()
    data, model = Path(args.data), Path(args.model)
    spec = f"unet:model={model}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scores.json"
        command = [sys.executable, "-m", "segcore", "evaluate", "--images", str(data / "val/images"),
                   "--masks", str(data / "val/labels"), "--method", spec, "--method", BASELINE,
                   "--json", str(out), "--quiet"]
        subprocess.run(command, check=True, cwd=ROOT)
        scores = json.loads(out.read_text())
    modality = {row["id"]: row["modality"] for row in csv.DictReader((data / "index.csv").open())}

    def summary(method: str) -> dict:
        rows = [r for r in scores["images"] if r["method"] == method]
        result = {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("iou", "dice", "pixel_accuracy", "dsb_score")}
        result["images"] = len(rows)
        result["per_modality_iou"] = {
            m: {"iou": round(float(np.mean([r["iou"] for r in rows if modality[r["image"]] == m])), 4),
                "images": sum(modality[r["image"]] == m for r in rows)}
            for m in sorted({modality[r["image"]] for r in rows})}
        result["seconds_per_image"] = round(float(np.mean([r["seconds"] for r in rows])), 4)
        return result

    card_path = model / "card.json"
    card = json.loads(card_path.read_text())
    card["evaluation"] = {
        "data": "DSB2018 stage1_train (community mask fixes), val split: the 51 images whose "
                "sha256(id + ':val') % 8 == 0 (see ../shared/data/dsb2018/README.md)",
        "metric": "mean over images of foreground IoU / Dice / pixel accuracy; DSB instance score "
                  "(mean over IoU thresholds 0.5-0.95 of TP / (TP + FP + FN)) on the split nuclei",
        "command": "python -m segcore evaluate --images DSB/val/images --masks DSB/val/labels "
                   f"--method unet:model={model.relative_to(ROOT) if model.is_relative_to(ROOT) else model} "
                   f"--method {BASELINE}",
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "unet": summary(spec),
        "baseline_otsu_auto_polarity": summary(BASELINE),
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["evaluation"], indent=2))


if __name__ == "__main__":
    main()
