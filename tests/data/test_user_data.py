"""Users' own data: .npz files, CSV tables and arrays in memory, on small files written here; every mistake a
user can make is one DatasetError that says what is wrong."""

import hashlib
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import IterableDataset, TensorDataset

from actlab.data.download import DatasetError
from actlab.data.user_data import (
    arrays_from,
    file_digest,
    load_arrays,
    load_csv,
    load_npz,
    register_arrays,
)


def error_of(function, *args, **kwargs) -> str:
    with pytest.raises(DatasetError) as caught:
        function(*args, **kwargs)
    return str(caught.value)


def valid_arrays(n_train: int = 6, n_test: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.normal(size=(n_train, 3)),
        "y_train": np.arange(n_train, dtype=np.int32) % 3,
        "x_test": rng.normal(size=(n_test, 3)),
        "y_test": np.arange(n_test, dtype=np.int32) % 3,
    }


def write_npz(tmp_path, name: str = "data.npz", drop: tuple[str, ...] = (), **overrides):
    arrays = {**valid_arrays(), **overrides}
    path = tmp_path / name
    np.savez(path, **{key: value for key, value in arrays.items() if key not in drop})
    return path


def write_csv(tmp_path, text: str, name: str = "table.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- npz ----------------------------------------------------------------------------------------------


def test_npz_classification(tmp_path):
    y_test = np.array([0, 4, 1, 2])  # the largest label only in the test set: classes counts it
    path = write_npz(tmp_path, y_test=y_test)
    ds = load_npz(path)
    arrays = valid_arrays()
    assert ds.name == f"npz:{path.resolve()}"
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (6, 3) and ds.input_shape == (3,)
    np.testing.assert_allclose(ds.x_test, arrays["x_test"].astype(np.float32))
    assert ds.y_train.dtype == np.int64 and ds.y_train.tolist() == [0, 1, 2, 0, 1, 2]
    assert ds.y_test.tolist() == [0, 4, 1, 2] and ds.classes == 5 and ds.class_names is None
    assert ds.value_range == (float(ds.x_train.min()), float(ds.x_train.max()))


def test_npz_images_and_float_labels_that_are_whole_numbers(tmp_path):
    images = np.arange(6 * 16, dtype=np.uint8).reshape(6, 1, 4, 4)
    path = write_npz(tmp_path, x_train=images, x_test=images[:4], y_train=np.array([0.0, 1, 2, 0, 1, 2]))
    ds = load_npz(path)
    assert ds.x_train.shape == (6, 1, 4, 4) and ds.x_train.dtype == np.float32 and ds.input_shape == (1, 4, 4)
    assert ds.value_range == (0.0, 95.0) and ds.y_train.dtype == np.int64 and ds.classes == 3


def test_npz_regression_with_one_and_several_targets(tmp_path):
    one = load_npz(write_npz(tmp_path, "one.npz", y_train=np.linspace(0, 1, 6), y_test=np.ones(4)), loss="mse")
    assert one.y_train.dtype == np.float32 and one.y_train.shape == (6,) and one.classes == 1
    np.testing.assert_allclose(one.y_train, np.linspace(0, 1, 6), rtol=1e-6)
    several = load_npz(write_npz(tmp_path, "two.npz", y_train=np.ones((6, 2)), y_test=np.zeros((4, 2))), loss="mse")
    assert several.y_train.shape == (6, 2) and several.y_test.dtype == np.float32 and several.classes == 2


def test_npz_constant_inputs_and_a_vector_of_inputs(tmp_path):
    ds = load_npz(write_npz(tmp_path, x_train=np.full(6, 3.0), x_test=np.zeros(4)))
    assert ds.x_train.shape == (6, 1) and ds.x_test.shape == (4, 1)  # N numbers: N examples of one feature
    assert ds.value_range == (3.0, 4.0)  # min == max would divide by zero in min-max scaling


def test_npz_relative_path_becomes_absolute(tmp_path, monkeypatch):
    write_npz(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert load_npz("data.npz").name == f"npz:{(tmp_path / 'data.npz').resolve()}"


def test_npz_file_errors(tmp_path):
    missing = tmp_path / "nowhere.npz"
    assert "nowhere.npz: no such file" in error_of(load_npz, missing)
    text = write_csv(tmp_path, "a,b\n1,2\n", name="text.npz")
    assert "text.npz: not a NumPy .npz archive" in error_of(load_npz, text)
    np.save(tmp_path / "single.npy", np.zeros(3))
    assert "single.npy: a single .npy array, not an .npz" in error_of(load_npz, tmp_path / "single.npy")
    good = write_npz(tmp_path).read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    assert "cut.npz: a corrupt .npz archive" in error_of(load_npz, tmp_path / "cut.npz")
    assert "not a file" in error_of(load_npz, tmp_path)


def test_npz_with_python_objects_is_refused_without_unpickling(tmp_path):
    path = write_npz(tmp_path, y_test=np.array([0, 1, "two", None], dtype=object))
    message = error_of(load_npz, path)
    assert "data.npz: y_test cannot be read" in message and "Python objects" in message


def test_npz_missing_arrays_says_which_and_what_it_has(tmp_path):
    np.savez(tmp_path / "data.npz", x_train=np.zeros((2, 1)), x_test=np.zeros((2, 1)), labels=np.zeros(2))
    message = error_of(load_npz, tmp_path / "data.npz")
    assert "data.npz: missing y_train, y_test (it has x_train, x_test, labels)" in message
    assert "np.savez(path, x_train=" in message


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"y_train": np.zeros(5, int)}, "x_train has 6 examples but y_train has 5"),
        ({"x_test": np.zeros((3, 3))}, "x_test has 3 examples but y_test has 4"),
        ({"x_train": np.zeros((0, 3)), "y_train": np.zeros(0, int)}, "the train set is empty"),
        ({"x_test": np.zeros((0, 3)), "y_test": np.zeros(0, int)}, "the test set is empty"),
        ({"x_test": np.zeros((4, 2))}, "x_train's examples have shape (3,) but x_test's (2,)"),
        ({"x_train": np.zeros((6, 0))}, "x_train has shape (6, 0), no features"),
        ({"x_train": np.array(["a"] * 6)}, "x_train has dtype <U1, not numbers"),
    ],
)
def test_npz_shape_and_type_errors(tmp_path, overrides, expected):
    path = write_npz(tmp_path, **overrides)
    message = error_of(load_npz, path)
    assert message.startswith(f"{path.resolve()}: ") and expected in message


@pytest.mark.parametrize(
    "value,expected",
    [
        (np.nan, "x_test[2, 1] is nan"),
        (np.inf, "x_test[2, 1] is inf"),
        (-np.inf, "x_test[2, 1] is -inf"),
        (1e300, "x_test[2, 1] = 1e+300 is too large for float32"),
    ],
)
def test_npz_non_finite_inputs_name_the_array_and_first_index(tmp_path, value, expected):
    x_test = np.zeros((4, 3))
    x_test[2, 1] = value
    x_test[3, 0] = value  # a later one: the first is reported
    message = error_of(load_npz, write_npz(tmp_path, x_test=x_test))
    assert expected in message and "finite" in message


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"y_train": np.array([0, 1, 0.5, 1, 0, 1])}, "y_train[2] = 0.5 is not an integer class label"),
        ({"y_test": np.array([0, 1, np.nan, 1])}, "y_test[2] = nan is not an integer class label"),
        ({"y_test": np.array([0, -1, 1, 1])}, "y_test[1] = -1 is negative"),
        ({"y_train": np.eye(6, 3)}, "y_train has shape (6, 3); cross_entropy needs one integer class label"),
        ({"y_train": np.array(list("abcabc"))}, "y_train has dtype <U1, not integer class labels"),
        ({"y_train": np.array([0, 1, 10**9, 1, 0, 1])}, "y_train[2] = 1000000000 is not a class index"),
        ({"y_test": np.array([0, 1, 2, 1e9])}, "y_test[3] = 1000000000 is not a class index: cross_entropy labels"),
        (
            {"y_train": np.zeros(6, dtype=int), "y_test": np.zeros(4)},
            "every example has the label 0: a classifier needs at least two classes",
        ),
    ],
)
def test_npz_bad_class_labels(tmp_path, overrides, expected):
    message = error_of(load_npz, write_npz(tmp_path, **overrides))
    assert expected in message


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"y_train": np.array(list("abcabc"))}, "y_train has dtype <U1, not numbers; the mse loss needs numeric"),
        ({"y_test": np.array([0, 1, np.inf, 1.0])}, "y_test[2] is inf; the mse loss needs finite targets"),
        ({"y_train": np.zeros((6, 2, 2))}, "y_train has shape (6, 2, 2); the mse loss needs targets of shape"),
        ({"y_train": np.zeros((6, 2)), "y_test": np.zeros((4, 3))}, "y_train has shape (6, 2) but y_test (4, 3)"),
    ],
)
def test_npz_bad_regression_targets(tmp_path, overrides, expected):
    message = error_of(load_npz, write_npz(tmp_path, **overrides), loss="mse")
    assert expected in message


def test_unknown_loss(tmp_path):
    assert "unknown loss 'hinge'; choose one of cross_entropy, mse" in error_of(load_npz, write_npz(tmp_path), "hinge")


# --- CSV ----------------------------------------------------------------------------------------------

ANIMALS = ("dog", "cat", "bird")


def animals_csv(tmp_path, rows_per_class=(6, 6, 6)):
    """A table whose feature `id` tells each row's label apart: id // 100 is the animal's index in ANIMALS."""
    lines = ["id,weight,animal"]
    for index, (animal, count) in enumerate(zip(ANIMALS, rows_per_class, strict=True)):
        lines += [f"{index * 100 + i},{i * 0.5},{animal}" for i in range(count)]
    return write_csv(tmp_path, "\n".join(lines) + "\n")


def test_csv_text_labels_become_sorted_classes(tmp_path):
    path = animals_csv(tmp_path)
    ds = load_csv(path, target="animal", test_fraction=1 / 3)
    assert ds.name == f"csv:{path.resolve()}" and ds.class_names == ("bird", "cat", "dog") and ds.classes == 3
    assert ds.x_train.shape == (12, 2) and ds.x_test.shape == (6, 2) and ds.x_train.dtype == np.float32
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        animals = [ANIMALS[int(row_id) // 100] for row_id in x[:, 0]]
        assert [ds.class_names[label] for label in y] == animals
    assert ds.y_train.dtype == np.int64


def test_csv_integer_labels_sort_by_value(tmp_path):
    path = write_csv(tmp_path, "f,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate([10, 2, 9] * 4)))
    ds = load_csv(path, "label", test_fraction=0.25)
    assert ds.class_names == ("2", "9", "10") and ds.classes == 3
    by_feature = {int(f): label for f, label in zip(ds.x_train[:, 0], ds.y_train, strict=True)}
    assert all(ds.class_names[label] == str([10, 2, 9][f % 3]) for f, label in by_feature.items())


def test_csv_of_a_single_class_is_refused(tmp_path):
    path = write_csv(tmp_path, "a,label\n1,cat\n2,cat\n3,cat\n4,cat\n5,cat\n")
    assert "every example has the label cat: a classifier needs at least two" in error_of(load_csv, path, "label")


def test_csv_regression(tmp_path):
    path = write_csv(tmp_path, "a,b,price\n" + "".join(f"{i},{-i},{i * 1.5}\n" for i in range(10)))
    ds = load_csv(path, "price", test_fraction=0.2, loss="mse")
    assert ds.y_train.dtype == np.float32 and ds.y_train.shape == (8,) and ds.y_test.shape == (2,)
    assert ds.classes == 1 and ds.class_names is None
    np.testing.assert_allclose(ds.y_train, ds.x_train[:, 0] * 1.5)
    np.testing.assert_array_equal(ds.x_train[:, 1], -ds.x_train[:, 0])


def test_csv_stratified_split_keeps_class_proportions(tmp_path):
    ds = load_csv(animals_csv(tmp_path, rows_per_class=(60, 30, 10)), "animal", test_fraction=0.2)
    names = ds.class_names
    assert dict(zip(names, np.bincount(ds.y_test).tolist(), strict=True)) == {"dog": 12, "cat": 6, "bird": 2}
    assert dict(zip(names, np.bincount(ds.y_train).tolist(), strict=True)) == {"dog": 48, "cat": 24, "bird": 8}


def test_csv_split_is_deterministic_and_shuffled(tmp_path):
    path = animals_csv(tmp_path, rows_per_class=(20, 20, 20))
    a, b = load_csv(path, "animal"), load_csv(path, "animal")
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(np.sort(a.x_train[:, 0]), a.x_train[:, 0])  # not the file's order


def test_csv_with_a_class_of_one_row_is_split_without_stratifying(tmp_path):
    ds = load_csv(animals_csv(tmp_path, rows_per_class=(5, 4, 1)), "animal", test_fraction=0.25)
    assert len(ds.y_test) == 3 and len(ds.y_train) == 7 and ds.classes == 3  # ceil(0.25 × 10) for testing


def test_csv_byte_order_mark_spaces_quotes_and_blank_lines(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text('\ufeff"size", label \n 1.5 ,"big"\n\n2,small\n  \n3, big\n\n', encoding="utf-8")
    ds = load_csv(path, "label", test_fraction=0.5)
    assert ds.class_names == ("big", "small") and sorted(np.concatenate([ds.x_train, ds.x_test])[:, 0]) == [1.5, 2, 3]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("", "the file is empty; a CSV needs a header row"),
        ("\n\n", "the file is empty"),
        ("a,label\n", "a header but no data rows"),
        ("1,2,0\n3,4,1\n", "the first line (1, 2, 0) looks like data, not a header"),
        (",a,label\n0,1,x\n", "column 1 has no name (a pandas index"),
        ("a,a,label\n1,2,x\n", "the header names column 'a' twice"),
        ("label\nx\ny\n", "no feature columns besides the target 'label'"),
        ("a,label\n1,x\n2,y,3\n", "line 3 has 3 fields but the header has 2"),
        ("a,b,label\n1,2,x\n\n3,four,y\n", "line 4, column 'b': 'four' is not a number"),
        ("a,b,label\n1,,x\n", "line 2, column 'b': '' is empty (a missing value)"),
        ("a,b,label\n1,2,x\n1,nan,y\n", "line 3, column 'b': 'nan' is not a finite number"),
        ("a,b,label\n1,2,x\n1e300,1,y\n", "line 3, column 'a': '1e300' is too large for float32"),
        ("a,label\n1,x\n2,\n", "line 3: no value in the target column 'label'"),
        ("a,label\n1,0\n2,0.5\n", "line 3: label '0.5' in column 'label' is not an integer"),
    ],
)
def test_csv_errors(tmp_path, text, expected):
    path = write_csv(tmp_path, text)
    message = error_of(load_csv, path, "label")
    assert message.startswith(f"{path.resolve()}: ") and expected in message


def test_csv_missing_target_lists_columns_and_suggests_the_closest(tmp_path):
    path = write_csv(tmp_path, "sepal_length,sepal_width,species\n1,2,a\n")
    message = error_of(load_csv, path, "specie")
    assert "no column 'specie' for the target (columns: sepal_length, sepal_width, species)" in message
    assert "did you mean 'species'?" in message
    assert "did you mean" not in error_of(load_csv, path, "zzz")


@pytest.mark.parametrize("target", [None, ""])
def test_csv_without_a_target_column_given(tmp_path, target):
    message = error_of(load_csv, write_csv(tmp_path, "a,label\n1,x\n"), target)
    assert "no target column given; name the label column (--target COLUMN, or target=...) among: a, label" in message


def test_csv_missing_target_in_a_wide_table_lists_the_first_columns(tmp_path):
    path = write_csv(tmp_path, ",".join(f"pixel{i}" for i in range(784)) + ",digit\n" + "0," * 784 + "1\n")
    message = error_of(load_csv, path, "label")
    assert "pixel19, … (785 columns)" in message and "pixel20" not in message


def test_csv_separated_by_semicolons_says_so(tmp_path):
    message = error_of(load_csv, write_csv(tmp_path, "a;label\n1;x\n"), "label")
    assert "no column 'label'" in message and "separated by ';'" in message


def test_csv_regression_target_that_is_not_a_number(tmp_path):
    path = write_csv(tmp_path, "a,price\n1,2.5\n2,cheap\n")
    assert "line 3, column 'price': 'cheap' is not a number; the mse loss" in error_of(
        load_csv, path, "price", loss="mse"
    )


def test_csv_file_errors(tmp_path):
    assert "missing.csv: no such file" in error_of(load_csv, tmp_path / "missing.csv", "label")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,label\n1,café\n".encode("latin-1"))
    assert "latin.csv: not UTF-8 text" in error_of(load_csv, latin, "label")


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2, float("nan"), "0.2", True])
def test_csv_test_fraction_must_be_strictly_between_0_and_1(tmp_path, fraction):
    message = error_of(load_csv, animals_csv(tmp_path), "animal", test_fraction=fraction)
    assert "test_fraction must be strictly between 0 and 1" in message and repr(fraction) in message


def test_csv_test_fraction_that_leaves_no_training_row(tmp_path):
    path = write_csv(tmp_path, "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(5)))
    message = error_of(load_csv, path, "label", test_fraction=0.9)
    assert "test_fraction 0.9 of 5 rows leaves 0 for training and 5 for testing" in message
    assert len(load_csv(path, "label", test_fraction=0.7).y_train) == 1  # ceil(3.5) = 4 for testing, 1 left


# --- arrays in memory ---------------------------------------------------------------------------------


class Pairs(TorchDataset):
    """A map-style dataset of (image tensor, int) pairs, read by index."""

    def __init__(self, n: int, offset: int = 0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return torch.full((1, 2, 2), float(i + self.offset)), (i + self.offset) % 3


class Stream(IterableDataset):
    def __iter__(self):
        return iter([(np.array([1.0, 2.0]), torch.tensor(1)), (np.array([3.0, 4.0]), torch.tensor(0))])


def test_arrays_from_numpy_lists_and_tensors():
    arrays = valid_arrays()
    got = arrays_from(tuple(arrays.values()))
    for value, expected in zip(got, arrays.values(), strict=True):
        assert isinstance(value, np.ndarray)
        np.testing.assert_array_equal(value, expected)
    tensors = [torch.tensor(a) for a in arrays.values()]
    tensors[0].requires_grad_(True)
    tensors[2] = tensors[2].to(torch.bfloat16)
    x_train, y_train, x_test, y_test = arrays_from(tensors)
    np.testing.assert_allclose(x_train, arrays["x_train"])
    np.testing.assert_allclose(x_test, arrays["x_test"], rtol=1e-2)
    assert y_train.dtype == np.int32 and x_test.dtype == np.float32
    assert arrays_from([[[1, 2]], [0], [[3, 4]], [1]])[2].tolist() == [[3, 4]]


def test_arrays_from_tensor_datasets_and_other_torch_datasets():
    x, y = torch.randn(5, 1, 2, 2), torch.tensor([0, 1, 2, 1, 0])
    got = arrays_from((TensorDataset(x, y), TensorDataset(x[:2], y[:2])))
    np.testing.assert_array_equal(got[0], x.numpy())
    np.testing.assert_array_equal(got[3], y[:2].numpy())
    x_train, y_train, x_test, y_test = arrays_from((Pairs(4), Stream()))
    assert x_train.shape == (4, 1, 2, 2) and x_train[3, 0, 1, 1] == 3.0 and y_train.tolist() == [0, 1, 2, 0]
    assert x_test.tolist() == [[1, 2], [3, 4]] and y_test.tolist() == [1, 0]


class NotPairs(TorchDataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return {"image": np.zeros(3), "label": i}


class Ragged(Pairs):
    def __getitem__(self, i):
        return np.zeros(3 + i), 0


@pytest.mark.parametrize(
    "data,expected",
    [
        ({"x_train": 1}, "got a dict with keys x_train"),
        ((np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1))), "got a tuple of 3 items (ndarray, ndarray, ndarray)"),
        ((np.zeros((2, 1)), np.zeros(2)), "got a tuple of 2 items (ndarray, ndarray)"),
        ("data.npz", "got a str"),
        ((Pairs(2), np.zeros(2)), "got a tuple of 2 items (Pairs, ndarray)"),
        ((NotPairs(), NotPairs()), "item 0 of the train dataset is a dict with keys image, label, not an (x, y) pair"),
        ((Pairs(2), Ragged(3)), "item 1 of the test dataset has input shape (4,) but item 0 has (3,)"),
        (([[1, 2], [3]], [0, 1], [[1, 2]], [0]), "x_train cannot be made into an array"),
    ],
)
def test_arrays_from_anything_else_says_what_it_got(data, expected):
    message = error_of(arrays_from, data)
    assert message.startswith("the given arrays: ") and expected in message


def test_register_arrays_names_equal_data_alike():
    arrays = valid_arrays()
    name = register_arrays(tuple(arrays.values()))
    assert re.fullmatch(r"arrays:[0-9a-f]{16}", name)
    same = [a.copy() for a in arrays.values()]
    same[0] = same[0].astype(np.float32)  # what trains is float32 either way
    assert register_arrays([torch.tensor(a) for a in same]) == name == register_arrays(same)
    changed = [a.copy() for a in arrays.values()]
    changed[3][0] = 1
    assert register_arrays(changed) != name
    assert register_arrays(tuple(arrays.values()), loss="mse") != name


def test_the_name_of_given_arrays_is_stable():
    """Stored runs are identified by it: the same arrays must get this name in every version."""
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    name = register_arrays((x, np.array([0, 1, 0]), x[:1], np.array([1])))
    digest = hashlib.sha256()
    for array in (x, np.array([0, 1, 0], np.int64), x[:1], np.array([1], np.int64)):
        digest.update(f"{array.dtype.str}{array.shape};".encode() + array.tobytes())
    assert name == f"arrays:{digest.hexdigest()[:16]}" == "arrays:291039f8c5df7128"


def test_load_arrays_returns_a_read_only_copy():
    arrays = valid_arrays()
    arrays["x_train"] = arrays["x_train"].astype(np.float32)  # already float32: still copied
    name = register_arrays(tuple(arrays.values()))
    arrays["x_train"][0, 0] = 1e6  # the caller's array changes afterwards
    ds = load_arrays(name)
    assert ds.name == name and ds.classes == 3 and ds.x_train.dtype == np.float32 and ds.x_train[0, 0] != 1e6
    assert not ds.x_train.flags.writeable and not ds.y_test.flags.writeable


def test_register_arrays_validates_like_the_files():
    arrays = valid_arrays()
    arrays["y_train"] = arrays["y_train"] - 1
    assert "the given arrays: y_train[0] = -1 is negative" in error_of(register_arrays, tuple(arrays.values()))
    assert "unknown loss" in error_of(register_arrays, tuple(valid_arrays().values()), loss="hinge")


def test_load_arrays_of_an_unknown_name():
    message = error_of(load_arrays, "arrays:0123456789abcdef")
    assert message.startswith("arrays:0123456789abcdef: no such arrays in this process")
    assert "another process" in message and "pass the data again" in message


# --- the rest -----------------------------------------------------------------------------------------


def test_file_digest(tmp_path):
    data = np.random.default_rng(1).bytes(2_500_000)  # several 1 MiB blocks and a partial one
    (tmp_path / "blob").write_bytes(data)
    assert file_digest(tmp_path / "blob") == hashlib.sha256(data).hexdigest()
    assert "cannot read it" in error_of(file_digest, tmp_path / "absent")


def test_importing_the_module_imports_neither_torch_nor_scikit_learn():
    code = "import sys, actlab.data.user_data; print(sorted({'torch', 'sklearn'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_csv_too_large_to_parse_in_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from actlab.data import user_data

    path = write_csv(tmp_path, "a,label\n" + "1,x\n2,y\n" * 100)
    monkeypatch.setattr(user_data, "MAX_CSV_BYTES", 100)
    assert "a CSV is parsed in memory" in error_of(load_csv, path, "label")
    assert "save a larger table as .npz" in error_of(load_csv, path, "label")
