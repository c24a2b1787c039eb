"""Robustness sweeps: how each method's score falls as one degradation grows.

A sweep draws one synthetic scene (exact ground truth), degrades it at a
series of levels of one degradation (noise, uneven illumination, blur or
contrast) while the others stay at a baseline, runs every chosen method at
every level and scores it. The result is a table ready for an IoU-vs-level
chart, plus the degraded images and masks for a few levels.

Examples
--------
>>> result = sweep(["Otsu threshold"], "noise", [0.0, 0.3], shape=(64, 64),
...                scene={"n_objects": 3, "radius": (6, 9)})
>>> [round(r["iou"], 1) >= 0.0 for r in result.rows]
[True, True]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import metrics
from .compare import get_preset
from .checks import is_int
from .errors import InvalidParameterError, SegcoreError
from .synthetic import DEGRADATIONS, degrade, make_scene

DEFAULT_SWEEP_PRESETS = ("Otsu threshold", "Local threshold (mean)", "Region growing (auto seeds)",
                         "K-means (K=2)", "U-Net (nuclei)")
MAX_RUNS = 400  # methods x levels; a sweep beyond this is refused rather than left running for minutes


@dataclass
class SweepResult:
    """Scores per (method, level): ``rows`` (``method``, ``level``, ``iou``, ``dice``, ``pixel_accuracy``, ``seconds``, and ``error`` with NaN scores where a method failed), ``images`` per level, ``masks`` per (method, level) and the exact ``truth``."""

    degradation: str
    levels: list[float]
    methods: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    images: dict[float, np.ndarray] = field(default_factory=dict)
    masks: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    truth: np.ndarray | None = None
    seconds: float = 0.0

    def mean_scores(self, metric: str = "iou") -> dict[str, float]:
        """Mean of ``metric`` over levels, per method (NaN levels ignored)."""
        out = {}
        for method in self.methods:
            values = [r[metric] for r in self.rows if r["method"] == method]
            out[method] = float(np.nanmean(values)) if values and not np.all(np.isnan(values)) else float("nan")
        return out


def levels_between(low: float, high: float, count: int) -> list[float]:
    """``count`` evenly spaced levels from ``low`` to ``high`` (rounded for display)."""
    if not is_int(count):
        raise InvalidParameterError(f"the number of levels must be a whole number, got {count!r}")
    if count < 2:
        raise InvalidParameterError(f"a sweep needs at least 2 levels, got {count}")
    return [round(float(v), 4) for v in np.linspace(low, high, count)]


def sweep(
    methods: Sequence[str],
    degradation: str,
    levels: Sequence[float],
    *,
    shape: tuple[int, int] = (256, 256),
    scene: Mapping[str, Any] | None = None,
    baseline: Mapping[str, float] | None = None,
    random_state: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> SweepResult:
    """Run every preset in ``methods`` (names of :data:`segcore.compare.PRESETS`) at every level of ``degradation``.

    ``scene`` holds keywords of :func:`segcore.synthetic.make_scene`, ``baseline`` the other
    degradations' fixed values; ``progress(fraction, message)`` is called after every run.
    """
    if degradation not in DEGRADATIONS:
        raise InvalidParameterError(
            f"unknown degradation {degradation!r}; choose one of {', '.join(DEGRADATIONS)}")
    if not methods:
        raise InvalidParameterError("choose at least one method to sweep")
    levels = [float(v) for v in levels]
    if not levels:
        raise InvalidParameterError("a sweep needs at least one level")
    if len(set(levels)) != len(levels):
        raise InvalidParameterError(f"the levels {levels} repeat a value; each level must be different")
    runs = len(methods) * len(levels)
    if runs > MAX_RUNS:
        raise InvalidParameterError(f"{runs} runs is too many for one sweep (at most {MAX_RUNS}); "
                                    "use fewer methods or levels")
    presets = [get_preset(name) for name in methods]
    started = time.perf_counter()
    clean = make_scene(shape, random_state=random_state, **dict(scene or {}))
    result = SweepResult(degradation=degradation, levels=levels, methods=list(methods), truth=clean.mask)
    done = 0
    for level in levels:
        settings = {**dict(baseline or {}), degradation: level}
        sample = degrade(clean, random_state=random_state, **settings)
        result.images[level] = sample.image
        for preset in presets:
            row: dict[str, Any] = {"method": preset.label, "level": level}
            try:
                run = preset.run(sample.image)
            except SegcoreError as error:
                row.update(iou=np.nan, dice=np.nan, pixel_accuracy=np.nan, seconds=np.nan, error=str(error))
            else:
                scores = metrics.evaluate(sample.mask, run)
                row.update(iou=scores.iou, dice=scores.dice, pixel_accuracy=scores.pixel_accuracy,
                           seconds=run.seconds)
                result.masks[(preset.label, level)] = run.binary
            result.rows.append(row)
            done += 1
            if progress:
                progress(done / runs, f"{preset.label} at {degradation} = {level:g} ({done} of {runs})")
    result.seconds = time.perf_counter() - started
    return result
