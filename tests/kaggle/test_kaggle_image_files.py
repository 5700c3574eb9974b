"""Each id's image file: found with or without an extension; missing or unreadable ones listed."""

from __future__ import annotations

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
