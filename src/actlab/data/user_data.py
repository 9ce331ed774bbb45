"""Users' own data: a NumPy ``.npz`` file, a CSV table, or arrays handed to the Python API
(``actlab.compare(model, data)``), validated into the same :class:`~actlab.data.datasets.Dataset` the built-in
loaders return.

Everything a user can get wrong is one :class:`DatasetError` that names the file (or the arrays), says what is
wrong and what to do, before anything trains. Inputs become float32 arrays of shape (N, ...); labels become int64
class indices 0..K-1 (``cross_entropy``) or float32 targets of shape (N,) or (N, k) (``mse``).

Arrays given in memory cannot be read again by name in another process, so they are kept in a process-wide
registry under a name derived from their content: the same data gets the same name, which is part of a run's
identity.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import math
import numbers
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from actlab.data.datasets import Dataset
from actlab.data.download import DatasetError

Loss = Literal["cross_entropy", "mse"]
LOSSES: tuple[str, ...] = get_args(Loss)
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
CSV_SPLIT_SEED = 0  # fixed: every run of a comparison, in every process, trains on the same split
ARRAYS_SOURCE = "the given arrays"  # how errors name data that has no file
FLOAT32_MAX = float(np.finfo(np.float32).max)
NPZ_HINT = "save one with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
DATA_HINT = "pass (x_train, y_train, x_test, y_test) arrays or (train_dataset, test_dataset) torch Datasets"
MAX_CSV_BYTES = 64 * 2**20  # a CSV's rows are Python strings while parsed: ~16 bytes of memory per byte of file
MAX_CLASSES = 100_000  # class indices up to this: more is a mislabelled file (its logits alone would fill memory)
LISTED_COLUMNS = 20  # a table of pixels has hundreds of columns: an error lists this many

_registry: dict[str, Dataset] = {}


# --- files ------------------------------------------------------------------------------------------


def load_npz(path: str | os.PathLike, loss: Loss = "cross_entropy") -> Dataset:
    """A NumPy ``.npz`` archive holding ``x_train``, ``y_train``, ``x_test`` and ``y_test`` (other arrays are
    ignored), read without unpickling anything: the file is the user's, and a pickle could run code."""
    _check_loss(loss, path)
    file = _existing_file(path)
    arrays = _read_npz(file)
    return _validated(f"npz:{file}", str(file), arrays, loss)


def load_csv(path: str | os.PathLike, target: str, test_fraction: float = 0.2, loss: Loss = "cross_entropy") -> Dataset:
    """A CSV table with a header row: ``target`` is the label column, every other column a numeric feature.

    The rows are split into train and test with a fixed seed (stratified by class where every class has at least
    two rows), so every run sees the same split. Class labels may be text or integers; the classes are their
    sorted distinct values (integers in numeric order), numbered 0..K-1 and named in ``class_names``.
    """
    _check_loss(loss, path)
    file = _existing_file(path)
    _check_fraction(file, test_fraction)
    header, lines, rows = _read_csv(file)
    column = _target_column(file, header, target)
    features = [i for i in range(len(header)) if i != column]
    if not features:
        raise DatasetError(f"{file}: no feature columns besides the target {target!r}; add the inputs as columns")
    x = _csv_features(file, header, lines, rows, features)
    labels = [fields[column] for fields in rows]
    class_names = None
    if loss == "cross_entropy":
        y, class_names = _csv_classes(file, target, lines, labels)
    else:
        y = _csv_targets(file, target, lines, labels)
    split = _split(file, x, y, test_fraction, stratified=loss == "cross_entropy")
    return _validated(f"csv:{file}", str(file), split, loss, class_names)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks: a data file's identity beyond its path."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise DatasetError(f"{path}: cannot read it ({error.strerror or error})") from None
    return digest.hexdigest()


def _existing_file(path: str | os.PathLike) -> Path:
    file = Path(path).expanduser().resolve()
    if not file.exists():
        raise DatasetError(f"{file}: no such file; check the path")
    if not file.is_file():
        raise DatasetError(f"{file}: not a file (a folder?); give the path of the data file itself")
    return file


def _read_npz(file: Path) -> list[np.ndarray]:
    with open(file, "rb") as handle:
        head = handle.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise DatasetError(f"{file}: a single .npy array, not an .npz archive of four arrays; {NPZ_HINT}")
    if not head.startswith(b"PK"):  # an .npz is a zip archive
        raise DatasetError(f"{file}: not a NumPy .npz archive; {NPZ_HINT}")
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{file}: a corrupt .npz archive ({error}); {NPZ_HINT}") from None
    with archive:
        missing = [key for key in ARRAY_KEYS if key not in archive.files]
        if missing:
            has = ", ".join(archive.files) or "no arrays"
            raise DatasetError(f"{file}: missing {', '.join(missing)} (it has {has}); {NPZ_HINT}")
        arrays = []
        for key in ARRAY_KEYS:
            try:
                arrays.append(archive[key])
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
                raise DatasetError(
                    f"{file}: {key} cannot be read ({error}); the archive is corrupt or holds Python objects "
                    f"rather than numbers; {NPZ_HINT} from numeric arrays"
                ) from None
    return arrays


# --- CSV ----------------------------------------------------------------------------------------------


def _check_fraction(file: Path, fraction: Any) -> None:
    ok = isinstance(fraction, numbers.Real) and not isinstance(fraction, bool) and 0 < fraction < 1
    if not ok:
        raise DatasetError(
            f"{file}: test_fraction must be strictly between 0 and 1 (the share of rows held out for testing), "
            f"got {fraction!r}"
        )


def _read_csv(file: Path) -> tuple[list[str], list[int], list[list[str]]]:
    """The header and the data rows (fields stripped, blank lines skipped) with each row's line in the file. A file
    over :data:`MAX_CSV_BYTES` is refused before it is read: its rows are held as text while parsed."""
    size = file.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DatasetError(
            f"{file}: {size / 2**20:.0f} MiB; a CSV is parsed in memory (about 16 times its size) and is read up to "
            f"{MAX_CSV_BYTES // 2**20} MiB: save a larger table as .npz (np.savez(path, x_train=…, y_train=…, "
            "x_test=…, y_test=…)), which loads without parsing"
        )
    header: list[str] | None = None
    lines: list[int] = []
    rows: list[list[str]] = []
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                for raw in reader:
                    if not raw or (len(raw) == 1 and not raw[0].strip()):
                        continue
                    fields = [field.strip() for field in raw]
                    if header is None:
                        header = _checked_header(file, fields)
                    elif len(fields) != len(header):
                        raise DatasetError(
                            f"{file}: line {reader.line_num} has {len(fields)} fields but the header has "
                            f"{len(header)}; every row needs one value per column"
                        )
                    else:
                        rows.append(fields)
                        lines.append(reader.line_num)
            except csv.Error as error:
                raise DatasetError(f"{file}: line {reader.line_num}: {error}; is it a CSV file?") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{file}: not UTF-8 text; save the table as a CSV file in UTF-8") from None
    except OSError as error:
        raise DatasetError(f"{file}: cannot read it ({error.strerror or error})") from None
    if header is None:
        raise DatasetError(f"{file}: the file is empty; a CSV needs a header row naming the columns, then one row each")
    if not rows:
        raise DatasetError(f"{file}: a header but no data rows; add one row per example")
    return header, lines, rows


def _checked_header(file: Path, header: list[str]) -> list[str]:
    if all(_number(name) is not None for name in header):
        raise DatasetError(
            f"{file}: the first line ({', '.join(header[:LISTED_COLUMNS])}) looks like data, not a header; "
            "add a header row naming the columns"
        )
    if "" in header:
        raise DatasetError(
            f"{file}: column {header.index('') + 1} has no name (a pandas index written by to_csv? save with "
            "index=False); name every column in the header"
        )
    duplicate = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if duplicate is not None:
        raise DatasetError(f"{file}: the header names column {duplicate!r} twice; give each column its own name")
    return header


def _target_column(file: Path, header: list[str], target: str | None) -> int:
    if target and target in header:
        return header.index(target)
    listed = ", ".join(header[:LISTED_COLUMNS]) + (
        f", … ({len(header)} columns)" if len(header) > LISTED_COLUMNS else ""
    )
    if not target:
        raise DatasetError(
            f"{file}: no target column given; name the label column (--target COLUMN, or target=...) among: {listed}"
        )
    close = difflib.get_close_matches(target, header, n=1)
    advice = f"did you mean {close[0]!r}?" if close else "give one of them as the target"
    separator = next((s for s in (";", "\t", "|") if len(header) == 1 and s in header[0]), None)
    if separator is not None:
        advice += f" (the file looks separated by {separator!r}; actlab reads comma-separated values)"
    raise DatasetError(f"{file}: no column {target!r} for the target (columns: {listed}); {advice}")


def _number(text: str) -> float | None:
    """The value of a finite number that fits in float32, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) <= FLOAT32_MAX else None


def _why_not_a_number(text: str) -> str:
    if not text:
        return "is empty (a missing value)"
    try:
        value = float(text)
    except ValueError:
        return "is not a number"
    return "is not a finite number" if not math.isfinite(value) else "is too large for float32"


def _csv_features(
    file: Path, header: list[str], lines: list[int], rows: list[list[str]], features: list[int]
) -> np.ndarray:
    """The feature columns as float64 (N, F); the first cell that is not a finite number is an error."""
    try:
        x = np.array([[float(fields[i]) for i in features] for fields in rows], dtype=np.float64)
    except ValueError:
        x = None
    if x is None or not np.isfinite(x).all() or np.abs(x).max() > FLOAT32_MAX:
        _raise_first_bad_cell(file, header, lines, rows, features)
    return x


def _raise_first_bad_cell(
    file: Path, header: list[str], lines: list[int], rows: list[list[str]], features: list[int]
) -> None:
    for line, fields in zip(lines, rows, strict=True):
        for i in features:
            if _number(fields[i]) is None:
                raise DatasetError(
                    f"{file}: line {line}, column {header[i]!r}: {fields[i]!r} {_why_not_a_number(fields[i])}; "
                    "every feature must be a finite number (drop the column, encode it, or fill the value)"
                )


def _csv_classes(file: Path, target: str, lines: list[int], labels: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class indices 0..K-1 over the sorted distinct labels, and the labels' names. Integer labels sort by value
    (2 before 10); any text makes them all text, sorted as strings."""
    _check_no_empty_label(file, target, lines, labels)
    values = [float(text) if _number(text) is not None else None for text in labels]
    if any(value is None for value in values):
        names, y = np.unique(np.array(labels), return_inverse=True)
        return y.astype(np.int64), tuple(str(name) for name in names)
    bad = next((i for i, value in enumerate(values) if value != round(value)), None)
    if bad is not None:
        raise DatasetError(
            f"{file}: line {lines[bad]}: label {labels[bad]!r} in column {target!r} is not an integer; class "
            "labels are integers or text (for a numeric target to predict, use the mse loss)"
        )
    distinct, y = np.unique(np.array(values), return_inverse=True)
    return y.astype(np.int64), tuple(str(int(value)) for value in distinct)


def _csv_targets(file: Path, target: str, lines: list[int], labels: list[str]) -> np.ndarray:
    _check_no_empty_label(file, target, lines, labels)
    values = []
    for line, text in zip(lines, labels, strict=True):
        value = _number(text)
        if value is None:
            raise DatasetError(
                f"{file}: line {line}, column {target!r}: {text!r} {_why_not_a_number(text)}; "
                "the mse loss needs a finite number as every row's target"
            )
        values.append(value)
    return np.array(values, dtype=np.float32)


def _check_no_empty_label(file: Path, target: str, lines: list[int], labels: list[str]) -> None:
    if "" in labels:
        line = lines[labels.index("")]
        raise DatasetError(f"{file}: line {line}: no value in the target column {target!r}; every row needs one")


def _split(file: Path, x: np.ndarray, y: np.ndarray, fraction: float, stratified: bool) -> list[np.ndarray]:
    """(x_train, y_train, x_test, y_test), split with scikit-learn's rule: ceil(fraction × N) rows for testing."""
    from sklearn.model_selection import train_test_split

    n_test = math.ceil(fraction * len(y))
    n_train = len(y) - n_test
    if n_train < 1 or n_test < 1:
        raise DatasetError(
            f"{file}: test_fraction {fraction} of {len(y)} rows leaves {n_train} for training and {n_test} for "
            "testing; each needs at least one row (use a fraction nearer 0.5, or more rows)"
        )
    stratify = None
    if stratified:
        counts = np.bincount(y)
        # scikit-learn refuses to stratify a class of one row, or a split with fewer rows than classes
        if counts.min() >= 2 and min(n_train, n_test) >= len(counts):
            stratify = y
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=fraction, random_state=CSV_SPLIT_SEED, stratify=stratify
    )
    return [x_train, y_train, x_test, y_test]


# --- arrays in memory ---------------------------------------------------------------------------------


def arrays_from(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) as NumPy arrays, from four arrays (NumPy, torch tensors, or anything
    ``np.asarray`` takes) or from two torch ``Dataset``s of (x, y) pairs, read item by item. Only converted here;
    :func:`register_arrays` validates."""
    if isinstance(data, (tuple, list)):
        if len(data) == 4 and not any(_is_torch_dataset(item) for item in data):
            x_train, y_train, x_test, y_test = (
                _to_numpy(key, item) for key, item in zip(ARRAY_KEYS, data, strict=True)
            )
            return x_train, y_train, x_test, y_test
        if len(data) == 2 and all(_is_torch_dataset(item) for item in data):
            x_train, y_train = _materialise("train", data[0])
            x_test, y_test = _materialise("test", data[1])
            return x_train, y_train, x_test, y_test
    raise DatasetError(f"{ARRAYS_SOURCE}: got {_describe(data)}; {DATA_HINT}")


def register_arrays(data: Any, loss: Loss = "cross_entropy") -> str:
    """Validate ``data`` (see :func:`arrays_from`) like a file, keep it for this process and return its name,
    ``arrays:`` and 16 hex digits of a SHA-256 over the validated arrays' dtypes, shapes and bytes.

    The digest is of what trains (float32 inputs; int64 classes or float32 targets), so equal data gives the same
    name whatever its container, and the same arrays under the two losses get different names. The kept arrays are
    copies, read-only: changing the caller's arrays afterwards cannot change a registered name's data.
    """
    _check_loss(loss, ARRAYS_SOURCE)
    dataset = _validated("arrays", ARRAYS_SOURCE, arrays_from(data), loss)
    arrays = (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test)
    for array in arrays:
        array.setflags(write=False)
    name = f"arrays:{_arrays_digest(arrays)[:16]}"
    _registry[name] = replace(dataset, name=name)
    return name


def load_arrays(name: str) -> Dataset:
    """The dataset :func:`register_arrays` kept under ``name`` in this process."""
    try:
        return _registry[name]
    except KeyError:
        raise DatasetError(
            f"{name}: no such arrays in this process; arrays given to actlab.compare live only in the process that "
            "was given them (they were given in another process, or never); pass the data again, or save it with "
            "np.savez and use npz:PATH"
        ) from None


def _arrays_digest(arrays: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape};".encode())
        digest.update(contiguous)
    return digest.hexdigest()


def _describe(data: Any) -> str:
    kind = type(data).__name__
    if isinstance(data, (tuple, list)):
        items = ", ".join(type(item).__name__ for item in data[:5]) + (", …" if len(data) > 5 else "")
        return f"a {kind} of {len(data)} items ({items})" if data else f"an empty {kind}"
    if isinstance(data, dict):
        return f"a dict with keys {', '.join(map(str, list(data)[:5]))}" + (", …" if len(data) > 5 else "")
    if kind == "DataLoader":
        return "a DataLoader (pass its .dataset)"
    return f"a {kind}"


def _is_torch_tensor(obj: Any) -> bool:
    if not type(obj).__module__.startswith("torch"):  # torch is imported only for what may be its own
        return False
    import torch

    return isinstance(obj, torch.Tensor)


def _is_torch_dataset(obj: Any) -> bool:
    if not any(cls.__module__.startswith("torch.utils.data") for cls in type(obj).__mro__):
        return False
    from torch.utils.data import Dataset as TorchDataset

    return isinstance(obj, TorchDataset)


def _to_numpy(what: str, item: Any) -> np.ndarray:
    if _is_torch_tensor(item):
        tensor = item.detach().cpu().resolve_conj()
        try:
            return tensor.numpy()
        except TypeError:  # dtypes NumPy lacks (bfloat16): their values are exact in float32
            return tensor.float().numpy()
    try:
        return np.asarray(item)
    except (ValueError, TypeError) as error:
        raise DatasetError(f"{ARRAYS_SOURCE}: {what} cannot be made into an array ({error}); {DATA_HINT}") from None


def _materialise(split: str, dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """A torch Dataset's (x, y) items stacked into two arrays; a plain two-tensor TensorDataset is taken whole."""
    from torch.utils.data import IterableDataset, TensorDataset

    if type(dataset) is TensorDataset and len(dataset.tensors) == 2:
        return _to_numpy(f"x_{split}", dataset.tensors[0]), _to_numpy(f"y_{split}", dataset.tensors[1])
    if isinstance(dataset, IterableDataset):
        items = iter(dataset)
    else:
        try:
            size = len(dataset)
        except TypeError:
            raise DatasetError(
                f"{ARRAYS_SOURCE}: the {split} dataset ({type(dataset).__name__}) has no len(); give it __len__ "
                "or make it an IterableDataset"
            ) from None
        items = (dataset[i] for i in range(size))  # not iter(dataset): __getitem__ need not end with IndexError
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for index, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise DatasetError(
                f"{ARRAYS_SOURCE}: item {index} of the {split} dataset is {_describe(item)}, not an (x, y) pair; "
                "each item must be (input, label)"
            )
        x, y = _to_numpy(f"x_{split}[{index}]", item[0]), _to_numpy(f"y_{split}[{index}]", item[1])
        for part, value, seen in (("input", x, xs), ("label", y, ys)):
            if seen and value.shape != seen[0].shape:
                raise DatasetError(
                    f"{ARRAYS_SOURCE}: item {index} of the {split} dataset has {part} shape {value.shape} but item 0 "
                    f"has {seen[0].shape}; every {part} of a dataset needs the same shape"
                )
        xs.append(x)
        ys.append(y)
    if not xs:
        return np.empty((0,), np.float32), np.empty((0,), np.int64)
    return np.stack(xs), np.stack(ys)


# --- validation ---------------------------------------------------------------------------------------


def _check_loss(loss: str, source: Any) -> None:
    if loss not in LOSSES:
        raise DatasetError(f"{source}: unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")


def _validated(
    name: str, source: str, arrays: Sequence[Any], loss: Loss, class_names: tuple[str, ...] | None = None
) -> Dataset:
    """The four arrays checked and converted into a :class:`Dataset`; ``source`` names them in errors."""
    x_train, y_train, x_test, y_test = (
        _array(source, key, array) for key, array in zip(ARRAY_KEYS, arrays, strict=True)
    )
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise DatasetError(
                f"{source}: x_{split} has {len(x)} examples but y_{split} has {len(y)}; give one label per example"
            )
        if len(x) == 0:
            raise DatasetError(f"{source}: the {split} set is empty; it needs at least one example")
    x_train, x_test = _inputs(source, "x_train", x_train), _inputs(source, "x_test", x_test)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"{source}: x_train's examples have shape {x_train.shape[1:]} but x_test's {x_test.shape[1:]}; "
            "both sets need the same features"
        )
    if loss == "cross_entropy":
        y_train, y_test = _class_labels(source, "y_train", y_train), _class_labels(source, "y_test", y_test)
        if class_names is not None:
            _check_classes(source, [class_names[i] for i in np.unique(np.concatenate([y_train, y_test]))])
        classes = len(class_names) if class_names is not None else _class_count(source, y_train, y_test)
    else:
        y_train, y_test = _targets(source, "y_train", y_train), _targets(source, "y_test", y_test)
        if y_train.shape[1:] != y_test.shape[1:]:
            raise DatasetError(
                f"{source}: y_train has shape {y_train.shape} but y_test {y_test.shape}; both sets need the same "
                "number of targets per example"
            )
        classes = 1 if y_train.ndim == 1 else y_train.shape[1]
    low, high = float(x_train.min()), float(x_train.max())
    value_range = (low, high) if high > low else (low, low + 1.0)  # min-max scaling divides by high - low
    return Dataset(name, x_train, y_train, x_test, y_test, value_range, classes, class_names)


def _array(source: str, key: str, array: Any) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 0:
        raise DatasetError(f"{source}: {key} is a single value, not an array with one entry per example")
    return array


def _inputs(source: str, key: str, x: np.ndarray) -> np.ndarray:
    """float32, finite, at least (N, 1): a vector of N numbers is N examples of one feature."""
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{source}: {key} has dtype {x.dtype}, not numbers; every input must be a number")
    if x.size == 0:
        raise DatasetError(f"{source}: {key} has shape {x.shape}, no features; every example needs at least one input")
    x32 = _float32(x)
    _check_finite(source, key, x, x32, "every input must be a finite number (drop or fill missing values)")
    return x32[:, None] if x32.ndim == 1 else x32


def _class_labels(source: str, key: str, y: np.ndarray) -> np.ndarray:
    """int64 class indices of shape (N,): integers, or floats that are whole numbers, none negative."""
    if y.ndim != 1:
        raise DatasetError(
            f"{source}: {key} has shape {y.shape}; cross_entropy needs one integer class label per example, shape "
            "(N,) (one-hot labels: pass y.argmax(axis=1); several numbers to predict: use the mse loss)"
        )
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            index = int(np.argmax(bad))
            raise DatasetError(
                f"{source}: {key}[{index}] = {y[index]} is not an integer class label; cross_entropy needs labels "
                "0..K-1 (for a number to predict, use the mse loss)"
            )
    elif y.dtype.kind not in "biu":
        raise DatasetError(
            f"{source}: {key} has dtype {y.dtype}, not integer class labels; number the classes 0..K-1 "
            "(a CSV may name them with text)"
        )
    labels = y.astype(np.int64)
    if (labels < 0).any():
        index = int(np.argmax(labels < 0))
        raise DatasetError(f"{source}: {key}[{index}] = {labels[index]} is negative; class labels must be 0..K-1")
    return labels


def _class_count(source: str, y_train: np.ndarray, y_test: np.ndarray) -> int:
    """K for class indices 0..K-1: one more than the largest label, at most :data:`MAX_CLASSES`. Data of one class
    (train and test together) is refused: a classifier that always answers it scores 100 %, having learned nothing."""
    for key, y in (("y_train", y_train), ("y_test", y_test)):
        if int(y.max()) >= MAX_CLASSES:
            index = int(np.argmax(y))
            raise DatasetError(
                f"{source}: {key}[{index}] = {y[index]} is not a class index: cross_entropy labels are the class "
                f"indices 0..K-1 (at most {MAX_CLASSES} classes); number the classes 0..K-1 (for a number to "
                "predict, use the mse loss)"
            )
    _check_classes(source, np.unique(np.concatenate([y_train, y_test])))
    return int(max(y_train.max(), y_test.max())) + 1


def _check_classes(source: str, present: Sequence[Any]) -> None:
    if len(present) < 2:
        raise DatasetError(
            f"{source}: every example has the label {present[0]}: a classifier needs at least two classes "
            "to learn anything (for a number to predict, use the mse loss)"
        )


def _targets(source: str, key: str, y: np.ndarray) -> np.ndarray:
    """float32 regression targets of shape (N,) or (N, k), finite."""
    if y.dtype.kind not in "biuf":
        raise DatasetError(f"{source}: {key} has dtype {y.dtype}, not numbers; the mse loss needs numeric targets")
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
        raise DatasetError(f"{source}: {key} has shape {y.shape}; the mse loss needs targets of shape (N,) or (N, k)")
    y32 = _float32(y)
    _check_finite(source, key, y, y32, "the mse loss needs finite targets")
    return y32


def _float32(array: np.ndarray) -> np.ndarray:
    """A float32 copy; values beyond float32's range become inf here and are reported by :func:`_check_finite`."""
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(np.float32)


def _check_finite(source: str, key: str, original: np.ndarray, converted: np.ndarray, rule: str) -> None:
    bad = ~np.isfinite(converted)
    if not bad.any():
        return
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    value = original[index]
    problem = f"= {value} is too large for float32" if np.isfinite(value) else f"is {value}"
    raise DatasetError(f"{source}: {key}[{', '.join(str(int(i)) for i in index)}] {problem}; {rule}")
