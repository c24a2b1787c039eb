"""Warm the server up in the background: imports, the U-Net's load and the default Compare page.

A first visitor otherwise pays for scikit-learn's and PyTorch's imports, the
model load and all four default methods before seeing anything. :func:`start`
runs that work once per process in a daemon thread, through the same
process-wide caches the pages use (:mod:`ui.runner`'s result store and
segcore's model cache), so a visitor who arrives while it runs waits for the
same computations instead of repeating them, and one who arrives later gets
the results at once. ``python -m ui.serve`` (what run_app.sh runs) starts it
with the server; ``app.py`` starts it on the first page run otherwise.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_thread: threading.Thread | None = None
log = logging.getLogger(__name__)


def start() -> threading.Thread:
    """Start the warm-up thread unless it was started already in this process; return it."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=warm, name="seglab-warmup", daemon=True)
            _thread.start()
        return _thread


def warm() -> None:
    """The warm-up itself: default sample, default presets (classic ones first, the U-Net last)."""
    try:
        from segcore.compare import DEFAULT_PRESETS
        from segcore.samples import DEFAULT_SAMPLE, load_sample
        from ui import models, runner, state

        models.sweep_uploads()  # upload folders left by a previous run of the server
        image, _ = load_sample(DEFAULT_SAMPLE)
        working, _ = state._working_copy(image, False)
        runner.run_presets(working, state.digest(working), list(DEFAULT_PRESETS), progress=lambda label: None)
    except Exception:  # a warm-up must never take the server down; the pages report errors themselves
        log.exception("warm-up failed")
