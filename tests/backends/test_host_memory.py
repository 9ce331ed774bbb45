"""Freed host memory stays in the process: the setting applies on glibc, once, and training still works."""

import platform

import pytest

from actlab.backends import host_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_applies_on_glibc_and_only_once(monkeypatch):
    assert host_memory.retain_freed_memory() is True
    calls = []
    monkeypatch.setattr(host_memory.ctypes, "CDLL", lambda *a: calls.append(a))
    assert host_memory.retain_freed_memory() is True  # cached: the C library is not asked again
    assert calls == []


def test_without_a_c_library_it_declines(monkeypatch):
    monkeypatch.setattr(host_memory.ctypes.util, "find_library", lambda name: None)
    assert host_memory.retain_freed_memory.__wrapped__() is False
