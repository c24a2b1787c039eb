"""ui.memory: the allocator settings and the janitor, outside a Streamlit server."""

from __future__ import annotations

import platform

import pytest

from ui import memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_allocator_accepts_the_settings():
    assert memory.tune() is True
    memory.trim()  # gives pages back; must not fail


def test_expiring_sessions_without_a_server_does_nothing():
    assert memory.expire_disconnected_sessions() is None


def test_one_janitor_per_process():
    first = memory.start_janitor()
    assert memory.start_janitor() is first
    assert first.is_alive() and first.daemon
