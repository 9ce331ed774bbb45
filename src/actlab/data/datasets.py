"""Datasets in their original distribution formats: scikit-learn's digits (bundled, the offline default),
MNIST and Fashion-MNIST (gzipped IDX), CIFAR-10 (the python or the binary archive).

Every loader returns raw values (uint8 pixels, or digits' 0..16) and integer labels; scaling is
:mod:`actlab.data.preprocess`'s job.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actlab.choices import DATASETS
from actlab.data.download import DatasetError, RemoteFile, locate, search_dirs, verify


@dataclass(frozen=True)
class Dataset:
    """Train and test splits; images are (N, C, H, W) (digits: (N, 1, 8, 8)), labels int64 (float32 targets for
    a user's regression data, see :mod:`actlab.data.user_data`).

    ``class_names`` are the names of classes 0..K-1 when the data has them (a user's CSV), None otherwise.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    value_range: tuple[float, float]
    classes: int
    class_names: tuple[str, ...] | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


# --- digits -----------------------------------------------------------------------------------------

DIGITS_TEST_FRACTION = 0.25
DIGITS_SPLIT_SEED = 0


def load_digits(data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """scikit-learn's 1,797 8×8 digits (bundled with scikit-learn), split 75/25, stratified, with a fixed
    seed so that every run sees the same split."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    x = bunch.images.astype(np.float32)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=DIGITS_SPLIT_SEED
    )
    return Dataset("digits", x_train, y_train, x_test, y_test, (0.0, 16.0), 10)


# --- MNIST and Fashion-MNIST (IDX) ------------------------------------------------------------------

MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)


def _idx_files(urls: tuple[str, ...], table: dict[str, tuple[str, int]]) -> dict[str, RemoteFile]:
    return {name: RemoteFile(name, md5, size, tuple(u + name for u in urls)) for name, (md5, size) in table.items()}


MNIST_FILES = _idx_files(
    MNIST_URLS,
    {
        "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
        "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
        "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", 1648877),
        "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
    },
)
FASHION_FILES = _idx_files(
    FASHION_URLS,
    {
        "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
        "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", 29515),
        "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", 4422102),
        "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", 5148),
    },
)


def read_idx(path: Path) -> np.ndarray:
    """A gzipped IDX file (big-endian header: 0, 0, type 0x08 = uint8, ndim; then the dims) as an array."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: not a complete gzip file ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(f"{path}: {len(raw)} bytes after decompression, expected {expected} for shape {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx_dataset(name: str, files: dict[str, RemoteFile], data_dir, download: bool) -> Dataset:
    arrays = {}
    for key, remote in files.items():
        arrays[key] = read_idx(locate(name, remote, data_dir, download))
    x_train, y_train = arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]
    x_test, y_test = arrays["t10k-images-idx3-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(f"{name} {split}: images {x.shape} do not match labels {y.shape}")
        if y.max() >= 10:
            raise DatasetError(f"{name} {split}: label {y.max()} out of range 0..9")
    return Dataset(
        name, x_train[:, None], y_train.astype(np.int64), x_test[:, None], y_test.astype(np.int64), (0.0, 255.0), 10
    )


def load_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """MNIST: 60,000 + 10,000 28×28 handwritten digits (LeCun, Cortes, Burges)."""
    return _load_idx_dataset("mnist", MNIST_FILES, data_dir, download)


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Fashion-MNIST: 60,000 + 10,000 28×28 Zalando article images (Xiao, Rasul, Vollgraf 2017)."""
    return _load_idx_dataset("fashion-mnist", FASHION_FILES, data_dir, download)


# --- CIFAR-10 ---------------------------------------------------------------------------------------

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"
CIFAR_PYTHON = RemoteFile(
    "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071, (CIFAR_URL + "cifar-10-python.tar.gz",)
)
CIFAR_BINARY = RemoteFile(
    "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", 170052171, (CIFAR_URL + "cifar-10-binary.tar.gz",)
)
CIFAR_IMAGE_BYTES = 3 * 32 * 32


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batches and nothing else: dicts, lists, bytes, numbers and NumPy arrays.

    The archive is untrusted input; the default unpickler would run any callable a pickle names.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 batch")
        return super().find_class(module, name)


def _read_python_batch(raw: bytes, member: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = RestrictedUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DatasetError(f"CIFAR-10 batch {member}: {error}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"CIFAR-10 batch {member}: not a dict with data and labels")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != CIFAR_IMAGE_BYTES or labels.shape != (len(data),):
        raise DatasetError(f"CIFAR-10 batch {member}: data {data.dtype}{data.shape}, labels {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_binary_batch(raw: bytes, member: str) -> tuple[np.ndarray, np.ndarray]:
    record = 1 + CIFAR_IMAGE_BYTES
    if len(raw) % record:
        raise DatasetError(f"CIFAR-10 batch {member}: {len(raw)} bytes is not a whole number of {record}-byte records")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, record)
    return rows[:, 1:].reshape(-1, 3, 32, 32), rows[:, 0].astype(np.int64)


def read_cifar10_archive(path: Path) -> Dataset:
    """Read either official CIFAR-10 archive without extracting it."""
    binary = "binary" in path.name
    folder, suffix = ("cifar-10-batches-bin", ".bin") if binary else ("cifar-10-batches-py", "")
    reader: Callable[[bytes, str], tuple[np.ndarray, np.ndarray]] = _read_binary_batch if binary else _read_python_batch
    names = [f"data_batch_{i}{suffix}" for i in range(1, 6)] + [f"test_batch{suffix}"]
    parts = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for name in names:
                try:
                    member = archive.extractfile(f"{folder}/{name}")
                except KeyError:
                    member = None
                if member is None:
                    raise DatasetError(f"{path}: {folder}/{name} is missing")
                parts[name] = reader(member.read(), name)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"{path}: not a complete CIFAR-10 archive ({error})") from None
    train = [parts[n] for n in names[:5]]
    x_test, y_test = parts[names[5]]
    y_all = np.concatenate([y for _, y in train] + [y_test])
    if y_all.min() < 0 or y_all.max() >= 10:
        raise DatasetError(f"{path}: labels outside 0..9")
    return Dataset(
        "cifar10",
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
        (0.0, 255.0),
        10,
    )


def load_cifar10(data_dir: str | os.PathLike | None = None, download: bool = True, check: bool = True) -> Dataset:
    """CIFAR-10: 50,000 + 10,000 32×32 colour images (Krizhevsky 2009), from the python archive (read with
    a restricted unpickler) or the binary one, whichever is present; the python one is downloaded if
    neither is."""
    for base in search_dirs(data_dir):
        for remote in (CIFAR_BINARY, CIFAR_PYTHON):
            for path in (base / "cifar10" / remote.name, base / remote.name):
                if path.is_file():
                    if check:
                        verify(path, remote)
                    return read_cifar10_archive(path)
    return read_cifar10_archive(locate("cifar10", CIFAR_PYTHON, data_dir, download, check))


LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
}


assert tuple(LOADERS) == DATASETS, "every dataset of the vocabulary has a loader"


def load(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """Load a dataset by name (see :data:`LOADERS`)."""
    if name not in LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(LOADERS)}")
    return LOADERS[name](data_dir=data_dir, download=download)
