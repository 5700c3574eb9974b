"""Test-time augmentation views: fixed, in order, and averaged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo.errors import BadData
from zoo.kaggle.submit.tta import crop_box, tta_views, view_of, view_transforms
from zoo.results.runtime import Runner, run_files


def test_views_in_order_with_and_without_flips():
    assert tta_views(1) == ("original",)
    assert tta_views(3) == ("original", "flip", "crop")
    assert tta_views(3, flip=False) == ("original", "crop", "crop:top-left")
    with pytest.raises(BadData, match="--tta must be between 1 .* and 8"):
        tta_views(9)
    assert len(tta_views(6, flip=False)) == 6  # original, centre crop, 4 corner crops
    with pytest.raises(BadData, match="and 6"):
        tta_views(7, flip=False)


def test_flip_mirrors_left_and_right():
    images = np.arange(2 * 3 * 4 * 1, dtype=np.uint8).reshape(2, 3, 4, 1)
    flipped = view_of(images, "flip")
    assert flipped.dtype == np.float32 and flipped.shape == images.shape
    assert np.array_equal(flipped[:, :, 0], images[:, :, 3]) and np.array_equal(view_of(flipped, "flip"), images)


def test_crops_take_90_percent_at_the_centre_or_a_corner_and_keep_the_size():
    assert crop_box(100, 50, "centre") == (5, 2, 90, 45)
    assert crop_box(100, 50, "top-left") == (0, 0, 90, 45)
    assert crop_box(100, 50, "bottom-right") == (10, 5, 90, 45)
    images = np.zeros((1, 20, 20, 3), dtype=np.uint8)
    images[:, :10, :10] = 200  # a bright top-left quarter
    corner, centre = view_of(images, "crop:top-left"), view_of(images, "crop")
    assert corner.shape == centre.shape == images.shape
    assert corner[0, :, :, 0].mean() > centre[0, :, :, 0].mean()  # the corner crop enlarges the bright quarter
    assert np.array_equal(view_of(images, "original"), images.astype(np.float32))


def test_predictions_are_averaged_over_views_of_each_streamed_batch(tmp_path):
    files = []
    for i, pixels in enumerate(([[10, 20], [30, 40]], [[0, 0], [0, 200]])):
        files.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.array(pixels, dtype=np.uint8), "L").save(files[-1])
    seen: list[int] = []
    runner = Runner((2, 2, 1), None, "test", lambda x: seen.append(len(x)) or x.reshape(len(x), -1))
    views = view_transforms(2, flip=True)  # original, flip
    batches = list(run_files([runner], files, 1, [], views, progress=False))
    assert seen == [1, 1, 1, 1]  # one image at a time, each in two views: never the whole set at once
    assert [b[1].tolist() for b in batches] == [[[15, 15, 35, 35]], [[0, 0, 100, 100]]]
    assert view_transforms(1) == []  # one view: the images as they are
