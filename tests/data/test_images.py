"""Reading images the same way for prediction and training: by content, oriented, as RGB, centre-cropped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zoo.data.decoding.images import file_batches, fit_to, image_batches, images_to_batch, open_image, to_rgb
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


def test_fit_to_takes_exactly_the_centre_box_in_one_resize():
    pixels = np.random.default_rng(0).integers(0, 256, (256, 448, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)  # the shorter side is already 224 / 0.875: the fit is the centre crop itself
    np.testing.assert_array_equal(fit_to(image, (224, 224)), pixels[16:240, 112:336].astype(np.float32))
    halves = Image.fromarray(np.repeat([[0] * 300 + [255] * 300], 400, axis=0).astype(np.uint8))
    row = fit_to(halves, (64, 64))[32]
    assert row[:31].max() < 8 and row[33:].min() > 247 and abs(row[31] + row[32] - 255) < 8  # the edge at the centre


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


def test_floats_in_0_1_read_as_the_same_pixels_as_uint8():
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    as_uint8 = images_to_batch(pixels, (8, 8))
    np.testing.assert_allclose(images_to_batch(pixels / 255.0, (8, 8)), as_uint8, atol=1.0)  # plt.imread's PNGs
    np.testing.assert_array_equal(images_to_batch(pixels.astype(np.float32), (8, 8)), as_uint8)
    np.testing.assert_array_equal(images_to_batch(pixels.astype(np.uint16) * 257, (8, 8)), as_uint8)


def test_preprocessed_or_nan_arrays_are_refused_not_misread():
    with pytest.raises(BadData, match=r"span \[-1, 1\].*raw pixels"):
        images_to_batch(np.linspace(-1, 1, 48).reshape(4, 4, 3), (4, 4))
    with pytest.raises(BadData, match="span"):
        images_to_batch(np.full((4, 4, 3), np.nan), (4, 4))


def test_grey_models_get_grey_batches_and_rgb_models_rgb():
    colour = np.zeros((6, 6, 3), np.uint8)
    colour[..., 0] = 255  # pure red: grey 76 by Pillow's ITU-R 601 weights
    assert images_to_batch(colour, (6, 6), channels=1).shape == (1, 6, 6, 1)
    assert images_to_batch(colour, (6, 6), channels=1)[0, 0, 0, 0] == 76
    assert images_to_batch(np.full((6, 6), 9, np.uint8), (6, 6), channels=3)[0, 0, 0].tolist() == [9, 9, 9]
    with pytest.raises(BadData, match="4-channel"):
        images_to_batch(colour, (6, 6), channels=4)


def test_batches_are_bounded_and_a_batch_array_follows_one_rule():
    batch = np.zeros((5, 4, 4, 3), np.float32)
    batch[0] = 200.0  # the others are black: as [0, 255] values they must stay black, not be scaled
    sizes = [len(part) for part in image_batches(batch, (4, 4), 3, batch_size=2)]
    assert sizes == [2, 2, 1]
    assert images_to_batch(batch, (4, 4))[:, 0, 0, 0].tolist() == [200, 0, 0, 0, 0]


def test_file_batches_skip_unreadable_files_and_say_why(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(good)
    (tmp_path / "bad.jpg").write_text("not a picture")
    failures: list = []
    files = [str(good), str(tmp_path / "bad.jpg"), str(good), str(tmp_path / "gone.jpg")]
    batches = list(file_batches(files, (4, 4, 3), 2, failures))
    assert [paths for paths, _ in batches] == [[str(good)], [str(good)]]
    assert [path for path, _ in failures] == [str(tmp_path / "bad.jpg"), str(tmp_path / "gone.jpg")]
    assert "not an image Pillow can read" in failures[0][1] and "not found" in failures[1][1]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[0.0, 0.25], [0.5, 1.0]], np.float32), [[0, 64], [128, 255]]),  # [0, 1]: scaled by 255
        (np.array([[0.0, 2.0], [100.0, 255.0]], np.float32), [[0, 2], [100, 255]]),  # [0, 255]: as it is
    ],
)
def test_a_float_tiff_is_scaled_by_its_range(tmp_path, values, expected):
    path = tmp_path / "float.tif"
    Image.fromarray(values, "F").save(path)
    assert Image.open(path).mode == "F"
    assert np.asarray(open_image(path))[..., 0].tolist() == expected


@pytest.mark.parametrize(
    ("values", "mode", "message"),
    [
        (np.array([[0.0, 300.0]], np.float32), "F", r"float image \(Pillow mode F\) with values in \[0, 300\]"),
        (np.array([[-1.0, 0.5]], np.float32), "F", r"values in \[-1, 0.5\]"),
        (np.array([[0, 70000]], np.int32), "I", r"32-bit integer image \(Pillow mode I\) .*\[0, 65535\] only"),
    ],
)
def test_pixels_that_cannot_be_read_without_guessing_are_refused(tmp_path, values, mode, message):
    path = tmp_path / "odd.tif"
    Image.fromarray(values, mode).save(path)
    with pytest.raises(BadData, match=message + r".*convert it to an 8- or 16-bit image"):
        open_image(path)


def test_a_32_bit_integer_image_is_scaled_from_16_bits_when_it_needs_them(tmp_path):
    path = tmp_path / "int.tif"
    Image.fromarray(np.array([[0, 1000, 65535]], np.int32), "I").save(path)
    assert np.asarray(open_image(path))[0, :, 0].tolist() == [0, 4, 255]


@pytest.mark.parametrize("side", [40, 80])  # 40x40: Pillow only warns; 80x80: Pillow raises (over twice the limit)
def test_prediction_refuses_an_image_over_the_pixel_limit_as_training_does(tmp_path, monkeypatch, side, recwarn):
    from zoo.data import load_data

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    Image.new("RGB", (side, side)).save(tmp_path / "big.png")
    with pytest.raises(BadData) as caught:
        images_to_batch(tmp_path / "big.png", (8, 8))
    failures = []
    assert list(file_batches([str(tmp_path / "big.png")], (8, 8, 3), 4, failures)) == []
    for folder in ("a", "b"):
        (tmp_path / "data" / folder).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (4, 4), (i, 9, 9)).save(tmp_path / "data" / folder / f"{i}.png")
    (tmp_path / "big.png").rename(tmp_path / "data" / "a" / "big.png")
    skipped = load_data(tmp_path / "data", image_size=(8, 8), progress=False).skipped
    reason = f"too large to decode safely: {side * side} pixels is over the limit PIL.Image.MAX_IMAGE_PIXELS = 1000"
    if side == 40:
        reason = reason.replace(": 1600", ": 40x40 = 1600")
    assert reason in str(caught.value) and reason in failures[0][1] and skipped[0].reason.startswith(reason)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_a_large_jpeg_decodes_reduced_and_the_same_for_prediction_and_training(tmp_path):
    from zoo.data import load_data
    from zoo.data.decoding.images import decode_image

    rng = np.random.default_rng(0)
    smooth = np.kron(rng.integers(0, 256, (20, 25, 3), dtype=np.uint8), np.ones((80, 80, 1), np.uint8))
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(smooth).save(tmp_path / name / "big.jpg", quality=95)  # 2000x1600
    path = tmp_path / "a" / "big.jpg"
    assert decode_image(path, (224, 224))[0].size == (500, 400)  # 1/4: the shorter side still >= 224 / 0.875
    assert decode_image(path)[0].size == (2000, 1600)
    predicted = images_to_batch(path, (224, 224))[0]
    trained = load_data(tmp_path, image_size=(224, 224), progress=False).x[0]
    np.testing.assert_array_equal(trained, predicted.astype(np.uint8))
    full = fit_to(decode_image(path)[0], (224, 224))
    assert np.abs(full - predicted).mean() < 3  # the reduced decode is close to the full one
