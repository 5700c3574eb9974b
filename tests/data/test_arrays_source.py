"""NumPy (x, y): images converted and fitted like files; feature arrays passed through unchanged, labels checked."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo.data import load_data
from zoo.data.decoding.images import fit_to
from zoo.errors import BadData

RNG = np.random.default_rng(0)


def test_uint8_images_are_fitted_like_files():
    x = RNG.integers(0, 256, (4, 10, 14, 3), dtype=np.uint8)
    data = load_data((x, np.array([0, 1, 0, 1])), image_size=(8, 8))
    assert data.x.shape == (4, 8, 8, 3) and data.x.dtype == np.uint8 and data.files is None
    np.testing.assert_array_equal(data.x[2], fit_to(Image.fromarray(x[2]), (8, 8)).astype(np.uint8))
    assert data.class_names == ("0", "1") and "arrays" in data.origin


def test_images_already_at_size_are_used_as_they_are():
    x = RNG.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    assert load_data(x, labels=[0, 1, 1, 0], image_size=(8, 8)).x is x


def test_grey_and_float_images_become_rgb_and_floats_in_0_1_are_refused():
    grey = RNG.integers(0, 256, (3, 9, 9), dtype=np.uint8)
    data = load_data((grey.astype(np.float32), ["a", "b", "a"]), image_size=(9, 9))
    assert data.x.shape == (3, 9, 9, 3) and data.class_names == ("a", "b")
    np.testing.assert_array_equal(data.x[1], np.asarray(Image.fromarray(grey[1]).convert("RGB")))
    with pytest.raises(BadData, match=r"floats in \[0, 1\].*pass x \* 255"):
        load_data((grey / 255.0, [0, 1, 0]), image_size=(9, 9))


def test_differently_sized_images_in_a_list_are_fitted():
    x = [RNG.integers(0, 256, shape, dtype=np.uint8) for shape in ((6, 9, 3), (12, 7, 3), (8, 8, 4))]
    assert load_data((x, [0, 1, 1]), image_size=(5, 5)).x.shape == (3, 5, 5, 3)
    with pytest.raises(BadData, match=r"different shapes; pass image_size=\(h, w\)"):
        load_data((x, [0, 1, 1]), image_size=None)


def test_numbers_are_class_ids_even_when_class_names_are_digits():
    data = load_data((np.zeros((3, 2)), [0, 1, 1]), image_size=None, class_names=["1", "0"])
    assert data.y.tolist() == [0, 1, 1]
    by_name = load_data((np.zeros((3, 2)), np.array(["0", "1", "1"])), image_size=None, class_names=["1", "0"])
    assert by_name.y.tolist() == [1, 0, 0]


def test_feature_arrays_pass_through_unchanged():
    x = RNG.normal(size=(6, 64)).astype(np.float32)
    data = load_data((x, np.array([2, 0, 1, 2, 1, 0])), image_size=None, class_names=["a", "b", "c"])
    assert data.x is x or np.shares_memory(data.x, x)
    assert data.y.dtype == np.int64 and data.class_names == ("a", "b", "c")
    with pytest.raises(BadData, match=r"each row of x has shape \(64,\), not an image.*image_size=None"):
        load_data((x, [0, 1, 0, 1, 0, 1]), image_size=(8, 8))


@pytest.mark.parametrize(
    ("y", "kwargs", "expected"),
    [
        (np.eye(3)[[0, 1, 2, 0, 1, 2]], {}, r"shape \(6, 3\): that looks one-hot.*y.argmax\(axis=1\)"),
        (np.array([0, 1, 2]), {}, "x has 6 rows but y has 3 labels"),
        (np.array([0, 1, 2, 3, 0, 1]), {"class_names": ["a", "b", "c"]}, r"out of range .*0..2\): y\[3\] = 3"),
        (np.array([0, -1, 1, 0, 1, 0]), {}, r"out of range .*y\[1\] = -1"),
        (np.zeros(6, dtype=int), {}, r"only one class \('0'\)"),
        (np.array([0, 2, 2, 0, 2, 0]), {}, r"class '1' has no usable images"),
        (np.array(["a", None, "b", "a", "b", "a"], dtype=object), {}, r"1 rows of the arrays have no label.*y\[1\]"),
    ],
)
def test_bad_labels_are_refused_with_the_fix(y, kwargs, expected):
    x = RNG.normal(size=(6, 4))
    with pytest.raises(BadData, match=expected):
        load_data((x, y), image_size=None, **kwargs)


def test_non_finite_inputs_and_empty_arrays_are_refused():
    x = RNG.normal(size=(5, 3))
    x[3, 1] = np.nan
    with pytest.raises(BadData, match=r"1 rows of the arrays hold NaN or infinite values: x\[3\]"):
        load_data((x, [0, 1, 0, 1, 0]), image_size=None)
    with pytest.raises(BadData, match="hold no examples"):
        load_data((np.zeros((0, 3)), np.zeros(0, dtype=int)), image_size=None)
    with pytest.raises(BadData, match="needs its labels"):
        load_data(np.zeros((3, 3)), image_size=None)
