"""Giving memory back: the allocator's settings for a long-running server, and a periodic janitor.

Large images come and go (a 48 Mpx upload decodes to 144 MB), each in a
different script thread. glibc's malloc keeps freed memory in per-thread
arenas and raises its mmap threshold after large frees, so the server's
resident size ratchets up although Python freed everything. :func:`tune`
(called by ``ui.serve`` before any thread starts) caps the arenas and pins
the mmap threshold; :func:`trim` hands freed heap pages back to the system.

The janitor (:func:`start_janitor`) runs every ``JANITOR_SECONDS``: it drops
Streamlit sessions whose visitors left more than ``disconnected_session_seconds``
ago (Streamlit only does that when another session disconnects), deletes
stale upload folders and trims the heap. Elsewhere than glibc/Linux the
allocator calls do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading

JANITOR_SECONDS = 15
M_MMAP_THRESHOLD = -3  # mallopt parameters, from glibc's malloc.h
M_ARENA_MAX = -8
log = logging.getLogger(__name__)
_janitor: threading.Thread | None = None
_janitor_lock = threading.Lock()


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def tune() -> bool:
    """Two arenas, and arrays above 1 MB always in their own mappings (returned to the system when freed)."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, 2)) and bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 20))


def trim() -> None:
    """Collect garbage and give free heap pages back to the system."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def expire_disconnected_sessions() -> None:
    """Let Streamlit forget sessions past their reconnection window now, not at the next disconnect.

    Uses Streamlit's session storage (a cachetools TTLCache) through private
    attributes; when they are not there (another Streamlit version, AppTest)
    nothing happens.
    """
    try:
        from streamlit.runtime import Runtime

        manager = Runtime.instance()._session_mgr
        with manager._storage_lock:
            expired = manager._session_storage._cache.expire()
    except Exception:  # not served by a Streamlit runtime, or its internals changed
        return
    for _, info in expired or ():
        try:
            info.session.shutdown()
        except Exception:
            log.exception("could not shut down an expired session")


def _janitor_loop(stop: threading.Event) -> None:
    from ui import models

    while not stop.wait(JANITOR_SECONDS):
        try:
            expire_disconnected_sessions()
            models.sweep_uploads()
            trim()
        except Exception:
            log.exception("janitor round failed")


def start_janitor() -> threading.Thread:
    """Start the janitor thread once per process."""
    global _janitor
    with _janitor_lock:
        if _janitor is None:
            _janitor = threading.Thread(target=_janitor_loop, args=(threading.Event(),), name="seglab-janitor",
                                        daemon=True)
            _janitor.start()
        return _janitor
