"""The background warm-up (ui.warmup): started once, and at the lowest CPU priority on Linux."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ui import warmup


@pytest.fixture
def fresh_warmup(monkeypatch):
    """A warm-up module that has not started its thread, with ``warm`` replaced by ``recorder``."""
    monkeypatch.delenv("SEGLAB_WARMUP", raising=False)
    monkeypatch.setattr(warmup, "_thread", None)
    seen: dict[str, int] = {}

    def recorder() -> None:
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["calls"] = seen.get("calls", 0) + 1

    monkeypatch.setattr(warmup, "warm", recorder)
    return seen


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux behaviour")
def test_the_warm_up_thread_runs_at_the_lowest_priority_and_leaves_the_caller_alone(fresh_warmup):
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = warmup.start()
    thread.join(timeout=30)
    assert fresh_warmup["nice"] == warmup.BACKGROUND_NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    assert os.getpriority(os.PRIO_PROCESS, os.getpid()) == before  # the main thread keeps its priority


def test_the_warm_up_starts_once_per_process(fresh_warmup):
    first = warmup.start()
    first.join(timeout=30)
    assert warmup.start() is first
    assert fresh_warmup["calls"] == 1


def test_the_warm_up_can_be_switched_off(fresh_warmup, monkeypatch):
    monkeypatch.setenv("SEGLAB_WARMUP", "0")
    assert warmup.start() is None
    assert "calls" not in fresh_warmup
