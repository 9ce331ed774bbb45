"""Keep freed host memory in the process instead of handing it back to the kernel after every tensor.

glibc's malloc serves large blocks with ``mmap`` and returns them with ``munmap`` (and trims the heap top),
so a tensor allocated again right after one was freed — every forward and backward pass — comes back as
fresh pages the kernel must fault in and zero. For activation-sized CPU tensors that costs more than the
arithmetic: a 16M-element ``clone`` or ReLU forward+backward runs ~4× faster once freed blocks stay in the
heap for reuse, and stacked CNN epochs ~1.5× faster (docs/benchmarks.md). PyTorch's CUDA caching allocator
does the same on the GPU. The price: the process keeps its peak memory until it exits, and a workload
whose tensor sizes keep changing can fragment the heap; :func:`release_free_memory` hands the free pages
back between such phases.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
_LARGEST = 2**31 - 1


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


@functools.cache
def retain_freed_memory() -> bool:
    """Ask glibc to serve every allocation from its heap and never trim it. Returns whether it applied
    (False where the C library is not glibc); calling it again does nothing."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_TRIM_THRESHOLD, _LARGEST)) and bool(mallopt(M_MMAP_THRESHOLD, _LARGEST))


def release_free_memory() -> bool:
    """Give the pages of every free heap block back to the kernel (glibc's ``malloc_trim(0)``, which also
    releases free blocks inside the heap). Returns whether anything was released; False off glibc."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return bool(trim(0))
