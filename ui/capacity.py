"""Server-wide caps on long background jobs (trainings, dataset evaluations).

One counter per kind for the whole server process, shared by every session;
the caps come from :func:`ui.config.settings`. A page asks with
:func:`try_acquire` before it starts a job and tells the visitor to wait when
it gets ``False``; the job calls :func:`release` when it ends, however it ends.
"""

from __future__ import annotations

import threading

from ui.config import settings

KINDS = ("training", "evaluation")
_lock = threading.Lock()
_running = {kind: 0 for kind in KINDS}


SETTING = {"training": "max_trainings", "evaluation": "max_evaluations"}
NOUN = {"training": "trainings", "evaluation": "dataset evaluations"}


def limit(kind: str) -> int:
    return getattr(settings(), SETTING[kind])


def wait_message(kind: str) -> str:
    """What to tell a visitor whose job did not get a slot."""
    cap = limit(kind)
    if cap == 0:
        return (f"{NOUN[kind].capitalize()} are switched off on this server (the operator's setting "
                f"`{SETTING[kind]} = 0`).")
    return (f"The server is busy: {running(kind)} of {cap} {NOUN[kind]} allowed at once are running. "
            "Please try again when one has finished; nothing of yours was lost.")


def try_acquire(kind: str) -> bool:
    """Take one slot of ``kind``; ``False`` (and nothing taken) when all are in use."""
    with _lock:
        if _running[kind] >= limit(kind):
            return False
        _running[kind] += 1
        return True


def release(kind: str) -> None:
    with _lock:
        _running[kind] = max(0, _running[kind] - 1)


def running(kind: str) -> int:
    with _lock:
        return _running[kind]
