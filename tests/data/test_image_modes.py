"""Every Pillow mode becomes the right RGB, pixel by pixel against Pillow's own conversion, and EXIF orientation
is applied the same way as at prediction time.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from zoo.data import load_data
from zoo.data.decoding.images import images_to_batch

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (5, 7), dtype=np.uint8)


def png16(values: np.ndarray, colour_type: int) -> bytes:
    """A 16-bit PNG (Pillow cannot write 48/64-bit colour PNGs): colour type 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA."""
    height, width = values.shape[:2]
    raw = b"".join(b"\x00" + values[row].astype(">u2").tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def on_white(image: Image.Image) -> np.ndarray:
    """Pillow's own compositing of an image with alpha over white."""
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image.convert("RGBA")).convert("RGB"))


def palette_with_transparency() -> Image.Image:
    image = Image.fromarray(RGB).quantize(8)
    image.info["transparency"] = 3
    return image


def grey() -> Image.Image:
    return Image.fromarray(RGB).convert("L")


def twice(path: Path) -> list[Path]:
    """The file and a copy of it: two classes need two files (one file with two labels is refused)."""
    copy = path.with_name("copy_" + path.name)
    shutil.copy(path, copy)
    return [path, copy]


def pillow_rgb(path: Path) -> np.ndarray:
    """Pillow's own conversion of the file to RGB."""
    return np.asarray(Image.open(path).convert("RGB"))


def pillow_on_white(path: Path) -> np.ndarray:
    return on_white(Image.open(path))


def grey16(path: Path) -> None:
    Image.fromarray(np.asarray(grey()).astype(np.uint16) * 257).save(path)


# name: (how to write the file, the pixels Pillow itself gives for it). The 16-bit files hold the 8-bit picture
# times 257: they must decode to exactly Pillow's 8-bit picture (Pillow's own I;16 -> L conversion clips instead).
CASES = {
    "rgb.png": (lambda p: Image.fromarray(RGB).save(p), pillow_rgb),
    "bilevel.png": (lambda p: grey().convert("1").save(p), pillow_rgb),
    "grey.png": (lambda p: grey().save(p), pillow_rgb),
    "grey_alpha.png": (lambda p: Image.merge("LA", (grey(), Image.fromarray(ALPHA))).save(p), pillow_on_white),
    "rgba.png": (lambda p: Image.fromarray(np.dstack([RGB, ALPHA])).save(p), pillow_on_white),
    "palette.png": (lambda p: Image.fromarray(RGB).quantize(16).save(p), pillow_rgb),
    "palette_transparent.png": (lambda p: palette_with_transparency().save(p), pillow_on_white),
    "cmyk.jpg": (lambda p: Image.fromarray(RGB).convert("CMYK").save(p, quality=95), pillow_rgb),
    "cmyk.tif": (lambda p: Image.fromarray(RGB).convert("CMYK").save(p), pillow_rgb),
    "grey16.png": (
        lambda p: p.write_bytes(png16(np.asarray(grey()).astype(np.uint16) * 257, 0)),
        lambda p: np.asarray(grey().convert("RGB")),
    ),
    "grey16.tif": (grey16, lambda p: np.asarray(grey().convert("RGB"))),
    "rgb48.png": (lambda p: p.write_bytes(png16(RGB.astype(np.uint16) * 257, 2)), lambda p: RGB),
    "rgba64.png": (
        lambda p: p.write_bytes(png16(np.dstack([RGB, ALPHA]).astype(np.uint16) * 257, 6)),
        lambda p: on_white(Image.fromarray(np.dstack([RGB, ALPHA]))),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_mode_becomes_pillows_rgb_pixel_by_pixel(tmp_path, name):
    write, expected = CASES[name]
    path = tmp_path / name
    write(path)
    data = load_data(twice(path), labels=["a", "b"], image_size=None, progress=False)
    assert data.x.dtype == np.uint8 and data.x.shape == (2, 5, 7, 3)
    np.testing.assert_array_equal(data.x[0], expected(path))


def test_the_modes_really_differ(tmp_path):
    """The cases above cover what they claim: each file opens in its own mode."""
    modes = {}
    for name, (write, _) in CASES.items():
        write(tmp_path / name)
        with Image.open(tmp_path / name) as image:
            modes[name] = image.mode
    assert modes["grey16.png"] == "I;16" and modes["cmyk.jpg"] == "CMYK" and modes["grey_alpha.png"] == "LA"
    assert modes["palette_transparent.png"] == "P" and modes["bilevel.png"] == "1" and modes["rgba.png"] == "RGBA"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_at_prediction(tmp_path, orientation):
    image = Image.fromarray(RGB)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"oriented{orientation}.png"
    image.save(path, exif=exif)
    data = load_data(twice(path), labels=[0, 1], image_size=None, progress=False)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(data.x[0], expected)
    assert (expected.shape[:2] == (5, 7)) == (orientation < 5)  # 5..8 swap width and height
    fitted = load_data(twice(path), labels=[0, 1], image_size=(6, 6), progress=False)
    np.testing.assert_array_equal(fitted.x[0], images_to_batch(Path(path), (6, 6))[0].astype(np.uint8))
