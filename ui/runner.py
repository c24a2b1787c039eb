"""Cached calls into segcore, keyed by the image digest and the parameters.

Moving one slider re-runs only the method whose parameters changed; every
other result on the page (and on the Compare page) comes from the cache.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import streamlit as st

import segcore
from segcore.result import SegmentationResult

CACHE_ENTRIES = 96


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def _run_cached(image_key: str, method: str, key: str, _image: np.ndarray, _params: dict[str, Any],
                _progress: Callable[[float, str], None] | None = None) -> SegmentationResult:
    extra = {} if _progress is None else {"progress": _progress}
    return segcore.segment(_image, method, **_params, **extra)


def run(image: np.ndarray, image_key: str, method: str, *, progress: Callable[[float, str], None] | None = None,
        **params: Any) -> SegmentationResult:
    """``segcore.segment`` through the cache. Raises what segment raises.

    ``progress`` is handed to methods that report it (the U-Net) and is not
    part of the cache key.
    """
    return _run_cached(image_key, method, params_key(params), image, params, progress)


def try_run(image: np.ndarray, image_key: str, method: str, **params: Any) -> SegmentationResult | None:
    """Like :func:`run`, but a bad parameter becomes an ``st.error`` and None."""
    try:
        return run(image, image_key, method, **params)
    except segcore.SegcoreError as error:
        st.error(f"{segcore.get_method(method).title}: {error}", icon=":material/error:")
        return None


@st.cache_data(max_entries=16, show_spinner=False)
def _try_all_cached(image_key: str, polarity: str, _image: np.ndarray) -> dict[str, SegmentationResult]:
    from segcore.methods.threshold import try_all

    return try_all(_image, polarity=polarity)


def try_all_thresholds(image: np.ndarray, image_key: str, polarity: str) -> dict[str, SegmentationResult]:
    """Every global automatic threshold on the image (cached)."""
    return _try_all_cached(image_key, polarity, image)


def run_presets(image: np.ndarray, image_key: str, labels: list[str]) -> tuple[dict[str, SegmentationResult], dict[str, str]]:
    """Run Compare-page presets through the cache, with a progress bar for the ones not cached yet.

    Returns (results, failures): a method that fails on this image is reported, not fatal.
    """
    from segcore.compare import get_preset

    results: dict[str, SegmentationResult] = {}
    failures: dict[str, str] = {}
    bar = st.progress(0.0)  # cached runs return at once, so it only stays up while work is done
    for i, label in enumerate(labels):
        preset = get_preset(label)
        bar.progress(i / len(labels), text=f"Running {label} ({i + 1} of {len(labels)})…")
        try:
            results[label] = _run_cached(image_key, preset.method, params_key(preset.params), image, preset.params)
        except segcore.SegcoreError as error:
            failures[label] = str(error)
    bar.empty()
    return results, failures



@st.cache_data(max_entries=12, show_spinner=False)
def _sweep_cached(methods: tuple[str, ...], degradation: str, levels: tuple[float, ...], size: int, scene: str,
                  baseline: str, seed: int, _scene: dict, _baseline: dict, _progress=None):
    from segcore.robustness import sweep as run_sweep

    return run_sweep(list(methods), degradation, list(levels), shape=(size, size), scene=_scene,
                     baseline=_baseline, seed=seed, progress=_progress)


def sweep(methods: list[str], degradation: str, levels: list[float], *, size: int, scene: dict[str, Any],
          baseline: dict[str, float], seed: int, progress: Callable[[float, str], None] | None = None):
    """A robustness sweep (segcore.robustness.sweep), cached on all its settings."""
    return _sweep_cached(tuple(methods), degradation, tuple(levels), size, params_key(scene), params_key(baseline),
                         seed, scene, baseline, progress)
