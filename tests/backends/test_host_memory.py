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
    monkeypatch.setattr(host_memory, "_libc", lambda: None)
    assert host_memory.retain_freed_memory.__wrapped__() is False
    assert host_memory.release_free_memory() is False


def _resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_gives_retained_pages_back():
    import torch

    host_memory.retain_freed_memory()
    keep = torch.ones(1000)  # a live block above the big one, so the heap top cannot simply shrink
    big = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    keep2 = torch.ones(1000)
    held = _resident_mib()
    del big
    assert _resident_mib() > held - 32  # retained: freeing kept the pages
    host_memory.release_free_memory()
    assert _resident_mib() < held - 32
    del keep, keep2
