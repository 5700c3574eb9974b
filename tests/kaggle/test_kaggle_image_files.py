"""Each id's image file: found with or without an extension; missing or unreadable ones listed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.data.listings.table import TableOptions
from zoo.errors import BadData
from zoo.kaggle.task.image_files import image_files, read_images


@pytest.fixture
def folder(tmp_path):
    for name, colour in (("a.png", 10), ("b.jpg", 120), ("c.png", 250)):
        Image.new("RGB", (6, 4), (colour, colour, colour)).save(tmp_path / name)
    return tmp_path


def test_ids_with_or_without_their_extension(folder):
    paths = image_files(["a", "b.jpg", "c"], TableOptions(image_dir=folder), "CSV test.csv")
    assert [p.split("/")[-1] for p in paths] == ["a.png", "b.jpg", "c.png"]
    assert image_files(["a", "c"], TableOptions(image_dir=folder, extension="png"), "CSV test.csv")[1].endswith("c.png")


def test_missing_images_are_counted_with_examples(folder):
    with pytest.raises(BadData, match=r"2 of 3 ids in CSV test.csv have no image file in .*: 'x', 'y'"):
        image_files(["a", "x", "y"], TableOptions(image_dir=folder), "CSV test.csv")
    with pytest.raises(BadData, match="not a folder"):
        image_files(["a"], TableOptions(image_dir=folder / "nope"), "CSV test.csv")


def test_images_are_read_at_the_asked_size_and_channels(folder):
    x = read_images(image_files(["a", "c"], TableOptions(image_dir=folder), "t"), (4, 6), 1, progress=False)
    assert x.shape == (2, 4, 6, 1) and x.dtype == np.uint8 and x[1].min() == 250


def test_unreadable_images_are_an_error_not_a_skip(folder):
    (folder / "d.png").write_bytes(b"not a png")
    with pytest.raises(BadData, match=r"1 of 2 images cannot be read: .*d.png: not an image"):
        read_images(image_files(["a", "d"], TableOptions(image_dir=folder), "t"), (4, 6), 3, progress=False)


def test_training_images_come_from_the_store_equal_to_reading_them(folder, tmp_path_factory, monkeypatch):
    from zoo.kaggle.task.image_files import store_images

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path_factory.mktemp("store")))
    files = image_files(["a", "b", "c"], TableOptions(image_dir=folder), "t")
    stored = store_images(files, (4, 6), 3, progress=False)
    assert isinstance(stored, np.memmap)
    np.testing.assert_array_equal(stored, read_images(files, (4, 6), 3, progress=False))
    monkeypatch.setattr("zoo.data.decoding.store.decode_store", lambda *args, **kwargs: pytest.fail("decoded again"))
    assert store_images(files, (4, 6), 3, progress=False).filename == stored.filename  # the second run reuses it
    monkeypatch.undo()
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(Path(stored.filename).parent.parent))
    (folder / "d.png").write_bytes(b"not a png")
    with pytest.raises(BadData, match=r"1 of 2 images cannot be read: .*d.png: not an image"):
        store_images(image_files(["a", "d"], TableOptions(image_dir=folder), "t"), (4, 6), 3, progress=False)


def test_fold_rows_of_the_store_are_copied_on_disk_equal_to_indexing(folder, tmp_path_factory, monkeypatch):
    from zoo.kaggle.task.image_files import store_images
    from zoo.kaggle.task.inputs import InputSpec, fold_arrays

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path_factory.mktemp("store")))
    stored = store_images(image_files(["a", "b", "c"], TableOptions(image_dir=folder), "t"), (4, 6), 3, False)
    spec = InputSpec("images", (4, 6, 3))
    (train, val), transform = fold_arrays(spec, None, stored, np.array([0, 2]), np.array([0, 2]), np.array([1]))
    assert isinstance(train, np.memmap) and transform is None
    np.testing.assert_array_equal(train, np.asarray(stored)[[0, 2]])
    np.testing.assert_array_equal(val, np.asarray(stored)[[1]])
