"""Warm the server up in the background: imports, the U-Net's load and the default Compare page.

A first visitor otherwise pays for scikit-learn's and PyTorch's imports, the
model load and all four default methods before seeing anything. :func:`start`
runs that work once per process in a daemon thread, through the same
process-wide caches the pages use (:mod:`ui.runner`'s result store and
segcore's model cache), so a visitor who arrives while it runs waits for the
same computations instead of repeating them, and one who arrives later gets
the results at once. ``python -m ui.serve`` (what run_app.sh runs) starts it
with the server; ``app.py`` starts it on the first page run otherwise.

The warm-up is background work: on Linux its thread runs at the lowest CPU
priority, so a visitor's page load (the browser, the server's request handling
and the page's own run) comes first when they overlap. Measured on the 2-core
development machine, visitor at the health check, median of 6 fresh starts:
classic tiles 2.77 s at normal priority, 2.19 s at the lowest; the U-Net tile
was not later (5.80 s against 5.82 s).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

BACKGROUND_NICE = 19  # the lowest priority a process may give itself
_lock = threading.Lock()
_thread: threading.Thread | None = None
log = logging.getLogger(__name__)


def start() -> threading.Thread | None:
    """Start the warm-up thread unless it was started already in this process; return it.

    ``SEGLAB_WARMUP=0`` in the environment switches it off (the AppTests do).
    """
    global _thread
    if os.environ.get("SEGLAB_WARMUP") == "0":
        return None
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run_in_background, name="seglab-warmup", daemon=True)
            _thread.start()
        return _thread


def _run_in_background() -> None:
    lower_thread_priority()
    warm()


def lower_thread_priority() -> None:
    """Give the calling thread the lowest CPU priority, where the system allows it.

    Linux only, where a thread has its own nice value (threads it starts inherit
    it; a thread cannot raise it back unprivileged). Elsewhere ``setpriority``
    takes a process id, which a thread id is not: nothing is changed there.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except OSError:  # not permitted here: the warm-up runs at normal priority
        pass


def warm() -> None:
    """The warm-up itself: what the default page imports, its classic methods, then the U-Net."""
    started = time.perf_counter()
    try:
        # What the Compare page imports and draws with (pandas, plotly charts, the display helpers):
        # a visitor's first run then imports nothing heavy while the rest of the warm-up goes on.
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        import plotly.subplots  # noqa: F401

        from segcore.compare import DEFAULT_PRESETS, PRESETS
        from segcore.samples import DEFAULT_SAMPLE, load_sample
        from ui import display, models, runner, state  # noqa: F401

        models.sweep_uploads()  # upload folders left by a previous run of the server
        image, _ = load_sample(DEFAULT_SAMPLE)
        working, _ = state._working_copy(image, False)
        key = state.digest(working)
        # Classic methods first (scikit-learn's import is most of k-means' first run), the U-Net
        # (PyTorch and smp imports, model load) last: the tiles a visitor sees first are ready first.
        labels = sorted(DEFAULT_PRESETS, key=lambda label: PRESETS[label].method == "unet")
        for label in labels:
            runner.run_presets(working, key, [label], progress=lambda _: None)
            print(f"warm-up: {label} ready after {time.perf_counter() - started:.2f} s", file=sys.stderr, flush=True)
    except Exception:  # a warm-up must never take the server down; the pages report errors themselves
        log.exception("warm-up failed")
