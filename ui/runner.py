"""Cached calls into segcore, keyed by the image digest and the parameters.

Moving one slider re-runs only the method whose parameters changed; every
other result on the page (and on the Compare page) comes from the cache.

Results live in a process-wide LRU store rather than ``st.cache_data``:
long runs report progress to a bar drawn outside them, and ``st.cache_data``
would record that element call and fail to replay it on the next hit. The
stored results are shared between sessions, so callers never modify them.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

import numpy as np
import streamlit as st

import segcore
from segcore.result import SegmentationResult

CACHE_ENTRIES = 64  # results (of any size: a 4 Mpx U-Net result holds ~30 MB)
SWEEP_ENTRIES = 12

Progress = Callable[[float, str], None]


class _LruStore:
    """A small thread-safe least-recently-used mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@st.cache_resource(show_spinner=False)
def _stores() -> dict[str, _LruStore]:
    return {"results": _LruStore(CACHE_ENTRIES), "sweeps": _LruStore(SWEEP_ENTRIES)}


def clear() -> None:
    """Forget every cached result and sweep (tests use it to start cold)."""
    for store in _stores().values():
        store.clear()


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _cached(store: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    hit = _stores()[store].get(key)
    if hit is None:
        hit = compute()
        _stores()[store].put(key, hit)
    return hit


def run(image: np.ndarray, image_key: str, method: str, *, progress: Progress | None = None,
        **params: Any) -> SegmentationResult:
    """``segcore.segment`` through the cache. Raises what segment raises (errors are not cached).

    ``progress`` is handed to methods that report it (the U-Net) and is not
    part of the cache key.
    """
    extra = {} if progress is None else {"progress": progress}
    return _cached("results", (image_key, method, params_key(params)),
                   lambda: segcore.segment(image, method, **params, **extra))


def try_run(image: np.ndarray, image_key: str, method: str, **params: Any) -> SegmentationResult | None:
    """Like :func:`run`, but a bad parameter becomes an ``st.error`` and None."""
    try:
        return run(image, image_key, method, **params)
    except segcore.SegcoreError as error:
        st.error(f"{segcore.get_method(method).title}: {error}", icon=":material/error:")
        return None


def try_all_thresholds(image: np.ndarray, image_key: str, polarity: str) -> dict[str, SegmentationResult]:
    """Every global automatic threshold on the image (cached)."""
    from segcore.methods.threshold import try_all

    return _cached("results", (image_key, "try_all", polarity), lambda: try_all(image, polarity=polarity))


def run_presets(image: np.ndarray, image_key: str, labels: list[str]) -> tuple[dict[str, SegmentationResult], dict[str, str]]:
    """Run Compare-page presets through the cache, with a progress bar while work is done.

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
            results[label] = run(image, image_key, preset.method, **preset.params)
        except segcore.SegcoreError as error:
            failures[label] = str(error)
    bar.empty()
    return results, failures


def sweep(methods: list[str], degradation: str, levels: list[float], *, size: int, scene: dict[str, Any],
          baseline: dict[str, float], seed: int, progress: Progress | None = None):
    """A robustness sweep (segcore.robustness.sweep), cached on all its settings."""
    from segcore.robustness import sweep as run_sweep

    key = (tuple(methods), degradation, tuple(levels), size, params_key(scene), params_key(baseline), seed)
    return _cached("sweeps", key, lambda: run_sweep(list(methods), degradation, list(levels), shape=(size, size),
                                                    scene=scene, baseline=baseline, seed=seed, progress=progress))
