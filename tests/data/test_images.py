"""Reading images the same way for prediction and training: by content, oriented, as RGB, centre-cropped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo.data.images import fit_to, images_to_batch, open_image, to_rgb
from zoo.errors import BadData


def test_decodes_by_content_not_extension(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    Image.new("RGB", (4, 3), (10, 200, 30)).save(path, format="PNG")
    assert np.asarray(open_image(path))[0, 0].tolist() == [10, 200, 30]


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (6, 2), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert open_image(path).size == (2, 6)


def test_transparency_composites_on_white_and_palette_matches_pillow():
    rgba = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert np.asarray(to_rgb(rgba))[0, 0].tolist() == [255, 255, 255]
    palette = Image.new("RGB", (3, 3), (12, 34, 56)).convert("P")
    np.testing.assert_array_equal(np.asarray(to_rgb(palette)), np.asarray(palette.convert("RGB")))


def test_sixteen_bit_grey_is_scaled_to_eight_bits():
    image = Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16))
    assert np.asarray(to_rgb(image))[0, 0].tolist() == [255, 255, 255]


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    red, green, blue = np.asarray(open_image(path))[0, 0].tolist()
    assert red > 200 and blue < 50


def test_truncated_or_missing_file_names_the_file(tmp_path):
    path = tmp_path / "broken.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BadData, match="broken.jpg"):
        open_image(path)
    with pytest.raises(BadData, match="not found: .*nothing.png"):
        open_image(tmp_path / "nothing.png")


def test_fit_to_resizes_shorter_side_and_centre_crops():
    image = Image.new("RGB", (400, 200))
    assert fit_to(image, (224, 224)).shape == (224, 224, 3)
    assert fit_to(Image.new("RGB", (224, 224)), (224, 224)).dtype == np.float32


def test_batch_from_mixed_inputs_and_clear_refusals():
    array = np.zeros((10, 10, 3), dtype=np.uint8)
    batch = images_to_batch([array, Image.new("L", (12, 12))], (8, 8))
    assert batch.shape == (2, 8, 8, 3)
    with pytest.raises(BadData, match="HxW"):
        images_to_batch(np.zeros((2, 2, 2)), (8, 8))
    with pytest.raises(BadData, match="no images"):
        images_to_batch([], (8, 8))
    with pytest.raises(BadData, match="cannot use int"):
        images_to_batch([3], (8, 8))
