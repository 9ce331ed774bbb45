"""Loaders of the original formats, on the verified MNIST/Fashion-MNIST copies and on small CIFAR-10
archives written here in both official formats."""

import gzip
import io
import os
import pickle
import shutil
import tarfile

import numpy as np
import pytest

from actlab.data import DatasetError, load, preprocess
from actlab.data.datasets import CIFAR_PYTHON, load_cifar10, load_digits, read_idx
from tests import idx_data


def test_digits_split_is_fixed_and_stratified():
    a, b = load_digits(), load_digits()
    assert a.x_train.shape == (1347, 1, 8, 8) and a.x_test.shape == (450, 1, 8, 8)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert np.bincount(a.y_test).min() >= 40 and a.value_range == (0.0, 16.0)


@pytest.mark.parametrize("name,first_labels", [("mnist", [5, 0, 4, 1, 9]), ("fashion-mnist", [9, 0, 0, 3, 0])])
def test_idx_datasets_from_the_verified_copies(real_datasets, name, first_labels):
    ds = load(name, data_dir=real_datasets, download=False)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.y_train[:5].tolist() == first_labels
    counts = np.bincount(ds.y_train, minlength=10)
    assert len(counts) == 10 and counts.min() >= 5000 and ds.classes == 10
    assert ds.x_train.max() == 255 and ds.value_range == (0.0, 255.0)


def test_the_canonical_checksums():
    from actlab.data import datasets

    assert datasets.MNIST_FILES["t10k-labels-idx1-ubyte.gz"].md5 == "ec29112dd5afa0611ce80d1b7f02629c"
    assert datasets.FASHION_FILES["train-images-idx3-ubyte.gz"].size == 26421880


@pytest.mark.parametrize("name", idx_data.IDX_DATASETS)
def test_idx_files_are_read_exactly(idx_data_dir, name):
    ds = load(name, data_dir=idx_data_dir, download=False)
    x_train, y_train = idx_data.synthetic_images(2400, idx_data.IDX_DATASETS.index(name))
    np.testing.assert_array_equal(ds.x_train[:, 0], x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    assert ds.x_test.shape == (600, 1, 28, 28) and ds.y_train.dtype == np.int64 and ds.x_train.dtype == np.uint8


def test_environment_variable_and_order(idx_data_dir, tmp_path, monkeypatch):
    from actlab.data import datasets

    monkeypatch.setenv("ACTLAB_DATA", str(idx_data_dir))
    assert load("mnist", download=False).x_test.shape == (600, 1, 28, 28)
    # --data-dir comes first: a corrupt copy there is found (and rejected) before the good one
    bad = tmp_path / "bad" / "mnist"
    bad.mkdir(parents=True)
    for f in (idx_data_dir / "mnist").iterdir():
        shutil.copy(f, bad / f.name)
    with open(bad / "t10k-labels-idx1-ubyte.gz", "r+b") as handle:
        handle.seek(20)
        handle.write(b"\xff")
    expected = datasets.MNIST_FILES["t10k-labels-idx1-ubyte.gz"].md5
    with pytest.raises(DatasetError, match=f"MD5 .* expected {expected}"):
        load("mnist", data_dir=tmp_path / "bad", download=False)


def test_truncated_and_missing_files(idx_data_dir, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in (idx_data_dir / "mnist").iterdir():
        shutil.copy(f, folder / f.name)
    data = (folder / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated"):
        load("mnist", data_dir=tmp_path, download=False)
    with pytest.raises(DatasetError, match="not a complete gzip"):
        read_idx(folder / "t10k-images-idx3-ubyte.gz")
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="not found .* downloading is off"):
        load("mnist", data_dir=tmp_path, download=False)
    with pytest.raises(DatasetError, match="unknown dataset 'mnsit'"):
        load("mnsit")


def test_the_dataset_folder_itself_is_accepted(idx_data_dir):
    assert load("fashion-mnist", data_dir=idx_data_dir / "fashion-mnist", download=False).x_test.shape == (
        600,
        1,
        28,
        28,
    )


def test_a_missing_dataset_says_where_it_looked_and_leaves_no_folders(idx_data_dir, tmp_path, monkeypatch):
    """No file anywhere and no network: one line naming every folder searched and what to do; the cache holds no
    empty folder afterwards."""
    from actlab.data import datasets

    monkeypatch.setenv("ACTLAB_DATA", str(tmp_path / "env"))
    unreachable = {
        k: type(r)(r.name, r.md5, r.size, ("http://127.0.0.1:9/" + r.name,)) for k, r in datasets.MNIST_FILES.items()
    }
    monkeypatch.setattr(datasets, "MNIST_FILES", unreachable)
    with pytest.raises(DatasetError) as raised:
        load("mnist", data_dir=tmp_path / "given")
    message = str(raised.value)
    assert "\n" not in message and "could not download it" in message and "http://127.0.0.1:9/" in message
    for folder in (tmp_path / "given", tmp_path / "env", tmp_path / "cache" / "actlab"):
        assert str(folder) in message
    assert "--data-dir DIR" in message and "DIR/mnist/" in message
    assert not (tmp_path / "cache").exists()


def test_download_is_verified_and_atomic(idx_data_dir, tmp_path):
    """Downloads go through mirrors (file:// here) into the cache; a bad mirror leaves nothing behind."""
    good = idx_data_dir.resolve().as_uri() + "/mnist/"
    corrupt_dir = tmp_path / "corrupt"
    corrupt_dir.mkdir()
    for f in (idx_data_dir / "mnist").iterdir():
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        (corrupt_dir / f.name).write_bytes(bytes(data))
    from actlab.data import datasets

    original = dict(datasets.MNIST_FILES)
    for key, remote in original.items():
        datasets.MNIST_FILES[key] = type(remote)(
            remote.name, remote.md5, remote.size, (corrupt_dir.as_uri() + "/" + remote.name, good + remote.name)
        )
    ds = load("mnist")
    cache = tmp_path / "cache" / "actlab" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(original)  # no .part files
    assert ds.y_test.shape == (600,)
    for key, remote in original.items():
        datasets.MNIST_FILES[key] = type(remote)(
            remote.name, remote.md5, remote.size, (corrupt_dir.as_uri() + "/" + remote.name,)
        )
    shutil.rmtree(cache)
    with pytest.raises(DatasetError, match="could not download it .*MD5"):
        load("mnist")
    assert not cache.exists()  # no partial file, and no folder made for it


def test_preprocessing():
    ds = load_digits()
    x_train, x_test = preprocess(ds, "minmax")
    assert x_train.dtype == np.float32 and x_train.min() == 0.0 and x_train.max() == 1.0
    z_train, _ = preprocess(ds, "standardize")
    varying = ds.x_train.reshape(len(ds.x_train), -1).std(0) > 0
    flat = z_train.reshape(len(z_train), -1)
    np.testing.assert_allclose(flat.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(flat.std(0)[varying], 1.0, atol=1e-4)
    raw, _ = preprocess(ds, "none")
    assert raw.max() == 16.0
    with pytest.raises(ValueError, match="unknown preprocessing 'scale'"):
        preprocess(ds, "scale")


# --- CIFAR-10, on archives in the two official formats -------------------------------------------------


def _cifar_batches(per_batch: int = 7):
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {
        n: (rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8), rng.integers(0, 10, size=per_batch).tolist())
        for n in names
    }


def _write_tar(path, folder, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))


def write_python_archive(root, batches, tamper=None):
    members = {}
    for name, (data, labels) in batches.items():
        payload = {
            b"batch_label": name.encode(),
            b"labels": labels,
            b"data": data,
            b"filenames": [b"x.png"] * len(labels),
        }
        members[name] = pickle.dumps(payload, protocol=2)
    if tamper:
        members.update(tamper)
    path = root / "cifar10" / "cifar-10-python.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_tar(path, "cifar-10-batches-py", members)
    return path


def write_binary_archive(root, batches):
    members = {
        f"{name}.bin": np.concatenate([np.array(labels, dtype=np.uint8)[:, None], data], axis=1).tobytes()
        for name, (data, labels) in batches.items()
    }
    path = root / "cifar10" / "cifar-10-binary.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_tar(path, "cifar-10-batches-bin", members)
    return path


@pytest.mark.parametrize("writer", [write_python_archive, write_binary_archive])
def test_cifar10_archives(tmp_path, writer):
    batches = _cifar_batches()
    writer(tmp_path, batches)
    ds = load_cifar10(data_dir=tmp_path, download=False, check=False)
    assert ds.x_train.shape == (35, 3, 32, 32) and ds.x_test.shape == (7, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    np.testing.assert_array_equal(ds.x_train[7:14].reshape(7, -1), data)
    assert ds.y_train[7:14].tolist() == labels and ds.y_test.tolist() == batches["test_batch"][1]
    with pytest.raises(DatasetError, match="bytes, expected 170"):  # not the canonical archive
        load_cifar10(data_dir=tmp_path, download=False)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/actlab-pwned",))


def test_cifar10_pickles_are_never_trusted(tmp_path):
    evil = pickle.dumps({b"data": _Exploit(), b"labels": []}, protocol=2)
    write_python_archive(tmp_path, _cifar_batches(), tamper={"data_batch_3": evil})
    with pytest.raises(DatasetError, match="refusing to load posix.system"):
        load_cifar10(data_dir=tmp_path, download=False, check=False)
    assert not os.path.exists("/tmp/actlab-pwned")


def test_cifar10_damaged_archives(tmp_path):
    batches = _cifar_batches()
    del batches["test_batch"]
    write_python_archive(tmp_path, batches)
    with pytest.raises(DatasetError, match="test_batch is missing"):
        load_cifar10(data_dir=tmp_path, download=False, check=False)
    path = write_binary_archive(tmp_path / "b", _cifar_batches())
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(DatasetError, match="not a complete CIFAR-10 archive"):
        load_cifar10(data_dir=tmp_path / "b", download=False, check=False)
    (tmp_path / "c" / "cifar10").mkdir(parents=True)
    (tmp_path / "c" / "cifar10" / "cifar-10-python.tar.gz").write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(DatasetError, match="not a complete CIFAR-10 archive"):
        load_cifar10(data_dir=tmp_path / "c", download=False, check=False)
    assert CIFAR_PYTHON.md5 == "c58f30108f718f92721af3b95e74349a"


def test_minmax_of_bytes_is_the_formula_to_the_bit():
    """Images are scaled through a 256-entry table: every byte value gets exactly (x - lo) / (hi - lo) in float32."""
    from actlab.data.datasets import Dataset

    values = np.arange(256, dtype=np.uint8).reshape(4, 1, 8, 8)
    ds = Dataset(
        "bytes", values, np.zeros(4, dtype=np.int64), values[:1], np.zeros(1, dtype=np.int64), (0.0, 255.0), 10
    )
    x_train, x_test = preprocess(ds, "minmax")
    expected = (values.astype(np.float32) - 0.0) / (255.0 - 0.0)
    assert x_train.dtype == np.float32 and x_train.shape == values.shape
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(x_test, expected[:1])
