"""Datasets for the tests.

The real MNIST/Fashion-MNIST files are found the way the loaders find them ($ACTLAB_DATA, then the per-user
cache); tests that need them use the ``real_datasets`` fixture, which skips with a reason where they are absent,
except under ``ACTLAB_REQUIRE_DATA=1`` (CI), where a missing file fails the test.

Everything else that needs IDX data runs on small files written here in the real format (gzipped IDX with the
official names), registered as the files to expect (their size and MD5), so a clone without the datasets still
tests the loaders, the quick recipes and the CLI.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

IDX_DATASETS = ("mnist", "fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _search_dirs() -> list[Path]:
    from actlab.data.download import search_dirs

    return search_dirs(None)


# Looked up once, at import, before any test isolates the environment ($ACTLAB_DATA, the cache).
SEARCHED = _search_dirs()
REAL_DATA = next((d for d in SEARCHED if all((d / name / f).is_file() for name in IDX_DATASETS for f in FILES)), None)


def required() -> bool:
    return os.environ.get("ACTLAB_REQUIRE_DATA") == "1"


def missing_reason() -> str:
    looked = ", ".join(str(d) for d in SEARCHED)
    return (
        f"the MNIST and Fashion-MNIST files are not here (looked in {looked}): point ACTLAB_DATA at a folder "
        "holding mnist/ and fashion-mnist/ with the original .gz files (make test uses ../shared/datasets when it "
        "exists), or let `actlab train --dataset mnist` download them"
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """``array`` (uint8) as a gzipped IDX file: magic 0x00000800 | ndim, big-endian dims, then the bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def synthetic_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28×28 uint8 images of ten learnable classes: a fixed random prototype per class plus noise."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(12345).integers(0, 256, size=(10, 28, 28))
    labels = rng.integers(0, 10, size=count).astype(np.uint8)
    noise = rng.normal(0.0, 60.0, size=(count, 28, 28))
    images = np.clip(prototypes[labels] + noise, 0, 255).astype(np.uint8)
    return images, labels


def write_synthetic(root: Path, name: str, train: int = 2400, test: int = 600) -> Path:
    """A small dataset ``name`` in the real IDX files under ``root/name``; returns ``root``."""
    seed = IDX_DATASETS.index(name)
    x_train, y_train = synthetic_images(train, seed)
    x_test, y_test = synthetic_images(test, seed + 10)
    for filename, array in zip(FILES, (x_train, y_train, x_test, y_test), strict=True):
        write_idx(root / name / filename, array)
    return root


def expect_files(root: Path, monkeypatch) -> None:
    """Register the IDX files under ``root`` as the ones the loaders verify (size and MD5)."""
    from actlab.data import datasets
    from actlab.data.download import md5sum

    for name, table in (("mnist", datasets.MNIST_FILES), ("fashion-mnist", datasets.FASHION_FILES)):
        patched = {}
        for filename, remote in table.items():
            path = root / name / filename
            patched[filename] = type(remote)(remote.name, md5sum(path), path.stat().st_size, remote.urls)
        monkeypatch.setattr(datasets, "MNIST_FILES" if name == "mnist" else "FASHION_FILES", patched)
