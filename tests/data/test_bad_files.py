"""Files that cannot be used are skipped and listed before training (or refused together with strict=True)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from image_files import write_image
from PIL import Image

from zoo.data import load_data, write_skipped_csv
from zoo.errors import BadData


def truncated(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


BAD_FILES = {
    "truncated.jpg": (truncated("JPEG"), "corrupt or truncated image"),
    "truncated.png": (truncated("PNG"), "corrupt or truncated image"),
    "empty.jpg": (b"", "empty file (0 bytes)"),
    "notes.txt": (b"just some text\n", "not an image Pillow can read"),
    "vector.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>', "not an image"),
    "phone.heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "not an image Pillow can read"),
    "garbage.png": (bytes(np.random.default_rng(2).integers(0, 256, 500, dtype=np.uint8)), "not an image"),
    "header_only.png": (b"\x89PNG\r\n\x1a\n", "not an image Pillow can read"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_bad_file_is_skipped_with_its_reason_and_the_rest_trains(classes, name):
    content, reason = BAD_FILES[name]
    root = classes({"cat": 2, "dog": 2})
    (root / "dog" / name).write_bytes(content)
    data = load_data(root, image_size=(8, 8), progress=False)
    assert len(data) == 4 and data.x.shape == (4, 8, 8, 3)
    assert [item.file for item in data.skipped] == [str(root / "dog" / name)]
    assert data.skipped[0].reason.startswith(reason)
    assert "1 files skipped" in data.origin


def test_strict_refuses_listing_every_bad_file_and_how_to_go_on(classes):
    root = classes({"cat": 2, "dog": 2})
    for name, (content, _) in BAD_FILES.items():
        (root / "cat" / name).write_bytes(content)
    with pytest.raises(BadData) as caught:
        load_data(root, image_size=(8, 8), strict=True, progress=False)
    message = str(caught.value)
    assert f"{len(BAD_FILES)} of {len(BAD_FILES) + 4} files" in message and "strict=False" in message
    assert all(name in message for name in BAD_FILES)


@pytest.mark.parametrize("side", [40, 80])  # 40x40 only warns in Pillow (over the limit), 80x80 errors (over 2x)
def test_images_over_the_decompression_bomb_limit_are_skipped(classes, monkeypatch, side, recwarn):
    root = classes({"cat": 2, "dog": 2})
    write_image(root / "dog" / "bomb.png", size=(side, side), seed=9)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    data = load_data(root, image_size=(8, 8), progress=False)
    assert [item.file for item in data.skipped] == [str(root / "dog" / "bomb.png")]
    assert "too large to decode safely" in data.skipped[0].reason
    assert "MAX_IMAGE_PIXELS" in data.skipped[0].reason
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_files_are_decoded_by_content_not_by_extension(classes):
    root = classes({"cat": 2, "dog": 2})
    write_image(root / "cat" / "png_named.jpg", seed=20, fmt="PNG")
    write_image(root / "dog" / "gif_named.jpg", seed=21, fmt="GIF")
    write_image(root / "dog" / "no_extension", seed=22, fmt="BMP")
    data = load_data(root, image_size=(8, 8), progress=False)
    assert len(data) == 7 and data.skipped == ()


def test_an_animated_gif_gives_its_first_frame(classes):
    root = classes({"cat": 2, "dog": 2})
    frames = [Image.new("RGB", (12, 10), colour) for colour in ((250, 0, 0), (0, 0, 250), (0, 250, 0))]
    frames[0].save(root / "dog" / "zz_anim.gif", save_all=True, append_images=frames[1:], duration=50)
    data = load_data(root, image_size=None, progress=False)
    red, green, blue = data.x[-1].reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 30 and blue < 30


def test_skipped_files_are_written_as_csv(classes, tmp_path):
    root = classes({"cat": 2, "dog": 2})
    (root / "cat" / "a.jpg").write_bytes(b"")
    (root / "dog" / "b.txt").write_text("no")
    data = load_data(root, image_size=(8, 8), progress=False)
    write_skipped_csv(data.skipped, tmp_path / "run" / "skipped.csv")
    with open(tmp_path / "run" / "skipped.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "reason"]
    assert [row[0] for row in rows[1:]] == [str(root / "cat" / "a.jpg"), str(root / "dog" / "b.txt")]
    assert rows[1][1] == "empty file (0 bytes)"
