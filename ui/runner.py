"""Cached calls into segcore, keyed by the image digest and the parameters.

Moving one slider re-runs only the method whose parameters changed; every
other result on the page (and on the Compare page) comes from the cache.

Results live in one process-wide store shared by every session
(:class:`segcore.cache.LruCache`): bounded by the bytes of the arrays the
results hold (``result_cache_mb`` in the operator's settings), least recently
used first out, and single-flight, so visitors asking for the same result at
the same time wait for one computation. Not ``st.cache_data``: long runs
report progress to a bar drawn outside them, which ``st.cache_data`` would
record and fail to replay on the next hit. Callers never modify a result.
The teaching views (animations, feature maps, elbow curves) have their own
byte-bounded store of the same kind (:func:`cached_view`).
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from typing import Any, Callable, Hashable

import numpy as np
import streamlit as st

import segcore
from segcore.cache import LruCache, nbytes_of
from segcore.result import SegmentationResult
from ui.config import settings

SWEEP_SHARE = 8  # robustness sweeps get 1/8 of the result budget (they hold small arrays)
VIEW_SHARE = 4  # teaching views (animation figures, feature maps) get 1/4 of it

Progress = Callable[[float, str], None]

_stores: dict[str, LruCache] = {}
_stores_lock = threading.Lock()


def store(name: str = "results") -> LruCache:
    """The process-wide store ``"results"``, ``"sweeps"`` or ``"views"``, sized from the settings on first use."""
    with _stores_lock:
        if not _stores:
            budget = settings().result_cache_mb * 2**20
            _stores["results"] = LruCache(max_bytes=budget, weigh=nbytes_of)
            _stores["sweeps"] = LruCache(max_bytes=budget // SWEEP_SHARE, weigh=nbytes_of)
            _stores["views"] = LruCache(max_bytes=budget // VIEW_SHARE, weigh=view_nbytes)
        return _stores[name]


def clear() -> None:
    """Forget every cached result and sweep (tests use it to start cold)."""
    for name in ("results", "sweeps", "views"):
        store(name).clear()


def view_nbytes(value: Any) -> int:
    """Bytes of a cached view: its arrays, plus the JSON size of any plotly figure in it (a figure's
    frames hold images that numpy does not see; the JSON is what the browser is sent anyway)."""
    parts = value if isinstance(value, tuple) else (value,)
    figures = sum(len(part.to_json()) for part in parts if hasattr(part, "to_json") and hasattr(part, "frames"))
    return nbytes_of(value) + figures


def cached_view(function: Callable[..., Any]) -> Callable[..., Any]:
    """Cache ``function`` in the byte-bounded ``"views"`` store, keyed by its name and the arguments
    whose names do not start with ``_`` (those, like the image, are named by another argument)."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        key = (function.__module__, function.__qualname__,
               tuple((name, value) for name, value in bound.arguments.items() if not name.startswith("_")))
        return store("views").get_or_compute(key, lambda: function(*args, **kwargs))

    return wrapper


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _cached(name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    return store(name).get_or_compute(key, compute)


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


def run_presets(image: np.ndarray, image_key: str, labels: list[str], *,
                on_result: Callable[[str, SegmentationResult], None] | None = None,
                progress: Callable[[str], Progress | None] | None = None,
                presets: dict | None = None,
                ) -> tuple[dict[str, SegmentationResult], dict[str, str]]:
    """:func:`segcore.compare.run_presets` through the cache; returns (results, failures).

    ``presets``: more presets by label (the session's trained models).

    ``on_result(label, result)`` is called as each result is ready.
    ``progress(label)`` may return a progress callback for that method (the
    U-Net reports one); without it, one bar is shown while work is done.
    """
    from segcore.compare import run_presets as run_all

    bar = None if progress is not None else st.progress(0.0)  # cache hits return at once

    def run_one(preset) -> SegmentationResult:
        report = progress(preset.label) if progress is not None else None
        extra = {"progress": report} if report is not None and preset.method == "unet" else {}
        return run(image, image_key, preset.method, **preset.params, **extra)

    def overall(fraction: float, message: str) -> None:
        if bar is not None:
            bar.progress(fraction, text=message[:1].upper() + message[1:] + "…")

    results, failures = run_all(image, labels, run=run_one, on_result=on_result, progress=overall, presets=presets)
    if bar is not None:
        bar.empty()
    return results, failures


def sweep(methods: list[str], degradation: str, levels: list[float], *, size: int, scene: dict[str, Any],
          baseline: dict[str, float], random_state: int, progress: Progress | None = None):
    """A robustness sweep (segcore.robustness.sweep), cached on all its settings."""
    from segcore.robustness import sweep as run_sweep

    key = (tuple(methods), degradation, tuple(levels), size, params_key(scene), params_key(baseline), random_state)
    return _cached("sweeps", key, lambda: run_sweep(list(methods), degradation, list(levels), shape=(size, size),
                                                    scene=scene, baseline=baseline, random_state=random_state, progress=progress))
