"""Running several methods on one image and scoring them side by side.

A *preset* is a named method with fixed parameters ("Otsu threshold" is
``threshold`` with ``algorithm="otsu", polarity="auto"``). The Compare page,
the robustness sweep and notebooks use the same presets, so a method means
the same thing everywhere.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import metrics
from .errors import InvalidParameterError, SegcoreError
from .registry import segment
from .result import SegmentationResult


@dataclass(frozen=True)
class Preset:
    """A method with its parameters, under a human name."""

    label: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def run(self, image: np.ndarray, **extra: Any) -> SegmentationResult:
        return segment(image, self.method, **{**self.params, **extra})


PRESETS: dict[str, Preset] = {
    p.label: p
    for p in [
        Preset("Otsu threshold", "threshold", {"algorithm": "otsu", "polarity": "auto"}),
        # Chosen by bench/bench_threshold.py: IoU 0.94 on synthetic_uneven (global
        # Otsu 0.16) and 0.53 on DSB2018 val, where Sauvola scored 0.89 and 0.40.
        # An offset of 30 gray levels clears the samples' noise (sigma 10 to 15).
        Preset("Local threshold (mean)", "threshold",
               {"algorithm": "local_mean", "polarity": "auto", "block_size": 101, "offset": 30}),
        Preset("Region growing (auto seeds)", "region_growing", {"seeds": "auto"}),
        Preset("K-means (K=2)", "kmeans", {"n_clusters": 2, "random_state": 0}),
        Preset("Gaussian mixture (2)", "gmm", {"n_clusters": 2, "random_state": 0}),
        Preset("U-Net (nuclei)", "unet", {"model": "nuclei"}),
        Preset("Edges (Canny)", "edges", {}),
        Preset("Watershed (Otsu mask)", "watershed", {}),
    ]
}
DEFAULT_PRESETS = ("Otsu threshold", "Region growing (auto seeds)", "K-means (K=2)", "U-Net (nuclei)")


def get_preset(label: str) -> Preset:
    try:
        return PRESETS[label]
    except KeyError:
        raise InvalidParameterError(f"unknown preset {label!r}; presets are: {', '.join(PRESETS)}") from None


def run_presets(image: np.ndarray, labels: Sequence[str], *,
                progress: Callable[[float, str], None] | None = None,
                run: Callable[[Preset], SegmentationResult] | None = None,
                on_result: Callable[[str, SegmentationResult], None] | None = None,
                presets: Mapping[str, Preset] | None = None,
                ) -> tuple[dict[str, SegmentationResult], dict[str, str]]:
    """Run each preset on the image, in order; returns (results, failures).

    ``presets`` looks labels up in more presets than :data:`PRESETS` (e.g. a
    session's own trained models); :data:`PRESETS` otherwise.

    A preset that refuses this image (a :class:`SegcoreError`) lands in
    ``failures`` as its message instead of stopping the others; an unknown
    label raises at once. ``run(preset)`` replaces ``preset.run(image)``
    (the app passes its cached runner); ``on_result(label, result)`` is
    called as soon as each result is ready, so a caller can show it.
    """
    presets = [presets[label] if presets is not None and label in presets else get_preset(label) for label in labels]
    results: dict[str, SegmentationResult] = {}
    failures: dict[str, str] = {}
    for i, preset in enumerate(presets):
        if progress:
            progress(i / max(len(presets), 1), f"running {preset.label}")
        try:
            result = run(preset) if run is not None else preset.run(image)
        except SegcoreError as error:
            failures[preset.label] = str(error)
            continue
        results[preset.label] = result
        if on_result:
            on_result(preset.label, result)
    if progress:
        progress(1.0, "done")
    return results, failures


def score_rows(truth: np.ndarray, results: Mapping[str, SegmentationResult], *,
               match: str = "oracle") -> list[dict[str, Any]]:
    """One row of scores per method against the ground truth, by :func:`segcore.metrics.evaluate`."""
    rows = []
    for label, result in results.items():
        scores = metrics.evaluate(truth, result, match=match)
        rows.append({
            "method": label,
            "iou": scores.iou,
            "dice": scores.dice,
            "pixel_accuracy": scores.pixel_accuracy,
            "precision": scores.precision,
            "recall": scores.recall,
            "mean_iou": scores.mean_iou,
            "seconds": result.seconds,
            "matched": scores.match != "none",
            "per_class_iou": [float(v) for v in scores.per_class_iou],
        })
    return rows


def agreement_matrix(results: Mapping[str, SegmentationResult]) -> tuple[np.ndarray, list[str]]:
    """Pairwise IoU between the methods' foregrounds (diagonal = 1)."""
    names = list(results)
    masks = [results[n].binary for n in names]
    matrix = np.ones((len(names), len(names)))
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            matrix[i, j] = matrix[j, i] = metrics.iou(masks[i], masks[j])
    return matrix, names


def rows_to_csv(rows: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None) -> str:
    """CSV text of score rows (lists are joined with ';')."""
    if not rows:
        return ""
    columns = list(columns or rows[0].keys())
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (";".join(f"{x:.4f}" for x in v) if isinstance(v, list) else
                             f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()
