"""One way from a file, PIL image or array to a model's pixels: training, `zoo predict`, `zoo explain`, `classify` and
`embed` see the same pixels of a large JPEG (decoded with the draft training uses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.data.decoding.images import (
    decode_file,
    draft_factor,
    draft_size,
    file_batches,
    fit_to,
    images_to_batch,
    model_pixels,
    open_image,
)

SHAPE = (224, 224, 3)
SAMPLE_IMAGE = Path(__file__).parents[2] / "zoo" / "assets" / "chelsea.jpg"


@pytest.fixture
def large_jpeg(tmp_path):
    """zoo's sample photo enlarged 5x to 2255 x 1500 as a JPEG: its drafted and full-size decodes differ by up to 66
    grey levels at 224 px."""
    with Image.open(SAMPLE_IMAGE) as photo:
        large = photo.resize((photo.width * 5, photo.height * 5), Image.Resampling.BICUBIC)
    path = tmp_path / "large.jpg"
    large.save(path, quality=95)
    return path


def test_draft_factor_is_pillows_own(large_jpeg):
    for fit in ((32, 32), (96, 96), (224, 224), (700, 700)):
        with Image.open(large_jpeg) as image:
            full = image.size
            image.draft(None, draft_size(full, fit))
            assert full[0] // image.size[0] in (draft_factor(full, fit), draft_factor(full, fit) - 1 or 1)
            assert image.size == tuple(-(-side // draft_factor(full, fit)) for side in full)


def test_a_path_and_a_lazily_opened_pil_image_give_the_same_pixels(large_jpeg):
    by_path = model_pixels(str(large_jpeg), SHAPE)
    with Image.open(large_jpeg) as image:
        np.testing.assert_array_equal(model_pixels(image, SHAPE), by_path)
        assert image.size == (2255, 1500)  # the caller's image is not changed
    np.testing.assert_array_equal(decode_file(str(large_jpeg), SHAPE), by_path)  # zoo predict, training's scan
    failures: list = []
    batch = next(file_batches([str(large_jpeg)], SHAPE, 4, failures))[1][0]
    np.testing.assert_array_equal(batch, by_path)
    np.testing.assert_array_equal(images_to_batch([str(large_jpeg)], SHAPE[:2])[0], by_path)


def test_a_loaded_jpeg_image_is_reduced_as_the_draft_reduces_it(large_jpeg):
    by_path = model_pixels(str(large_jpeg), SHAPE)
    loaded = Image.open(large_jpeg)
    loaded.load()
    # skipping the draft: far off (21 levels since fit_to resizes the centre box in one pass; 66 before)
    assert np.abs(fit_to(open_image(large_jpeg), SHAPE[:2]) - by_path).max() > 15
    assert np.abs(model_pixels(loaded, SHAPE) - by_path).max() <= 2


def test_explain_reads_an_image_file_as_predict_does(large_jpeg):
    import keras

    from zoo.results.explain import model_input

    inputs = keras.Input(SHAPE)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)
    np.testing.assert_array_equal(model_input(model, large_jpeg), model_pixels(str(large_jpeg), SHAPE))
