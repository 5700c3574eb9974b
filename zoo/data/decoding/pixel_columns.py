"""Pixel columns as images: `pixel0..pixelN` (Digit Recognizer, Fashion-MNIST, Sign Language MNIST) read as grey or
RGB images, written once as PNG files so they take the same path as image files (store, augmentation, TTA, runtime).

The layout (prefix, columns in pixel order, shape, value range) is found from the training CSV's header and values
and kept with the run, so test rows are read exactly as training rows were. PNGs go to a folder keyed by a digest of
the pixels and layout under the image store's root; a finished folder holds `pixels.json` (sealed) with the digest of
every PNG's bytes, checked when it is reused (a damaged folder is written anew). Pixel folders count against the
image stores' cap (ZOO_IMAGE_STORE_MAX_GB, zoo.data.decoding.eviction) and `zoo cache verify` checks them.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.eviction import evict_stores, mark_used
from zoo.errors import BadData, BrokenSeal
from zoo.sealed import SealCheck, read_sealed, write_sealed

AUTO_PREFIX = "pixel"  # the Kaggle convention, matched case-insensitively
AUTO_MINIMUM = 16  # pixel columns found without --pixel-cols are images from 4x4 up
FINISHED = "pixels.json"
PIXELS_FORMAT = 1  # bump when the PNGs written for the same values would differ


@dataclass(frozen=True)
class PixelLayout:
    """Which columns hold the pixels (in row-major height, width, channel order), the image shape, and the range:
    255 for 0-255 values, 1 for 0-1 values (scaled to 0-255)."""

    columns: tuple[str, ...]
    shape: tuple[int, int, int]
    scale: int

    def to_json(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "shape": list(self.shape), "scale": self.scale}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PixelLayout:
        return cls(tuple(data["columns"]), tuple(data["shape"]), int(data["scale"]))

    def describe(self) -> str:
        height, width, channels = self.shape
        first, last = self.columns[0], self.columns[-1]
        colour = "grey" if channels == 1 else "RGB"
        return f"{first}..{last} read as {height}x{width} {colour} images, values 0-{self.scale}"


def numbered_columns(columns: Sequence[str], prefix: str, minimum: int = 1) -> list[str]:
    """Columns named prefix + a number (case-insensitive), in number order (none when fewer than `minimum`);
    refused unless numbered 0..N-1 or 1..N."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)", re.IGNORECASE)
    numbered = sorted((int(m.group(1)), name) for name in columns if (m := pattern.fullmatch(name)))
    if len(numbered) < minimum:
        return []
    numbers = [number for number, _ in numbered]
    if numbers and numbers != list(range(numbers[0], numbers[0] + len(numbers))) or numbers[:1] not in ([], [0], [1]):
        raise BadData(
            f"pixel columns {prefix}N must be numbered 0..N-1 or 1..N without gaps; found {len(numbers)} numbered "
            f"{numbers[0]}..{numbers[-1]}: fix the header, or pass --tabular to read them as features"
        )
    return [name for _, name in numbered]


def parse_shape(text: str) -> tuple[int, ...]:
    """--pixel-shape HxW or HxWxC as integers."""
    parts = text.lower().split("x")
    if len(parts) not in (2, 3) or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise BadData(f"--pixel-shape {text!r}: pass height x width (28x28) or with channels (32x32x3)")
    return tuple(int(part) for part in parts)


def image_shape(count: int, given: str | None, prefix: str) -> tuple[int, int, int]:
    """The (height, width, channels) of `count` pixel columns: given, a square of grey pixels, or a square of RGB."""
    if given is not None:
        shape = parse_shape(given)
        shape = (*shape, 1) if len(shape) == 2 else shape
        if shape[2] not in (1, 3) or math.prod(shape) != count:
            raise BadData(
                f"--pixel-shape {given} holds {math.prod(shape)} values in {shape[2]} channel(s); the CSV has "
                f"{count} {prefix}N columns: pass a shape whose height x width x channels (1 or 3) is {count}"
            )
        return shape
    for channels in (1, 3):
        side = math.isqrt(count // channels)
        if side * side * channels == count:
            return (side, side, channels)
    raise BadData(
        f"{count} {prefix}N columns are not a square image (grey or RGB): pass --pixel-shape HxW or HxWxC, "
        "or --tabular to read them as features"
    )


def find_layout(
    columns: Sequence[str], values: Any, prefix: str | None = None, shape: str | None = None
) -> PixelLayout | None:
    """The pixel layout of a CSV's header (None: no pixel columns, and no prefix was given); `values(names)` returns
    those columns' cells, read to tell the value range."""
    # a few pixelN columns found without being asked for are more likely features than a tiny image
    found_alone = prefix is None and shape is None
    chosen = numbered_columns(columns, prefix or AUTO_PREFIX, AUTO_MINIMUM if found_alone else 1)
    if not chosen:
        if prefix is not None:
            raise BadData(
                f"--pixel-cols {prefix}: no columns named {prefix}0, {prefix}1, ...; its columns start "
                f"{list(columns[:8])}: pass the prefix of the pixel columns"
            )
        if shape is not None:
            raise BadData("--pixel-shape needs pixel columns (pixel0..pixelN, or --pixel-cols PREFIX)")
        return None
    height_width_channels = image_shape(len(chosen), shape, prefix or AUTO_PREFIX)
    pixels = pixel_array(values(chosen), chosen)
    top = float(pixels.max()) if pixels.size else 0.0
    scale = 1 if top <= 1.0 else 255
    return PixelLayout(tuple(chosen), height_width_channels, scale)


def pixel_array(cells: Sequence[Sequence[Any]], columns: Sequence[str], scale: int = 255) -> np.ndarray:
    """(rows, columns) float64 pixel values; empty, non-numeric or out-of-range (0..scale) cells are refused."""
    try:
        pixels = np.asarray(cells, dtype=np.float64).T
    except (TypeError, ValueError):
        bad = next(
            (col, i, cell)
            for col, column in zip(columns, cells, strict=True)
            for i, cell in enumerate(column)
            if not _is_number(cell)
        )
        raise BadData(
            f"pixel column {bad[0]!r} row {bad[1] + 1} holds {bad[2]!r}, not a number: pixel columns hold 0-255 or "
            "0-1 values; fix the cell, or pass --tabular to read the columns as features"
        ) from None
    outside = ~((pixels >= 0) & (pixels <= scale))
    if outside.any():
        row, column = np.argwhere(outside)[0]
        raise BadData(
            f"pixel column {columns[column]!r} row {row + 1} holds {pixels[row, column]:g}, outside 0-{scale} "
            "(the range of the training pixels): pixel values are 0-255 or 0-1; pass --tabular to read them as "
            "features"
        )
    return pixels


def _is_number(cell: Any) -> bool:
    try:
        return math.isfinite(float(cell))
    except (TypeError, ValueError):
        return False


def as_uint8(pixels: np.ndarray, layout: PixelLayout) -> np.ndarray:
    """(rows, height, width, channels) uint8 images: 0-1 values scaled to 0-255, rounded."""
    scaled = pixels * (255.0 / layout.scale) if layout.scale != 255 else pixels
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8).reshape(len(pixels), *layout.shape)


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return buffer.getvalue()


def pixel_files(cells: Sequence[Sequence[Any]], layout: PixelLayout, root: Path) -> list[str]:
    """One PNG per row (checked values) in a folder of `root` keyed by the pixels and layout; reused when its
    pixels.json matches the files on disk."""
    images = as_uint8(pixel_array(cells, layout.columns, layout.scale), layout)
    key = hashlib.sha256(json.dumps([PIXELS_FORMAT, asdict(layout)]).encode() + images.tobytes()).hexdigest()[:32]
    folder = root / f"pixels-{key}"
    files = [str(folder / f"{row:07d}.png") for row in range(len(images))]
    if intact(folder, files):
        mark_used(folder)
        return files
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FINISHED).unlink(missing_ok=True)  # a damaged folder being rewritten must not look finished
    digest = hashlib.sha256()
    for file, image in zip(files, images, strict=True):
        data = png_bytes(image)
        digest.update(data)
        partial = f"{file}.partial-{os.getpid()}"
        Path(partial).write_bytes(data)
        os.replace(partial, file)
    meta = {"count": len(files), "sha256": digest.hexdigest()}
    write_sealed(folder / FINISHED, json.dumps(meta).encode(), made_by="zoo pixel columns")
    evict_stores(folder)  # the image stores' cap covers pixel folders too
    return files


def intact(folder: Path, files: Sequence[str]) -> bool:
    """Whether `folder` is a finished pixel folder whose PNGs are the ones written (their bytes' digest matches)."""
    try:
        meta = json.loads(read_sealed(folder / FINISHED))
    except (BrokenSeal, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("count") == len(files) and meta.get("sha256") == files_digest(files)


def files_digest(files: Sequence[str | Path]) -> str | None:
    """The sha256 of the files' bytes one after the other; None when one cannot be read."""
    digest = hashlib.sha256()
    try:
        for file in files:
            digest.update(Path(file).read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def check_pixel_folder(folder: Path) -> list[SealCheck]:
    """A pixel folder checked in full for `zoo cache verify`: pixels.json against its seal, then its PNGs (one row)
    against the digest pixels.json records."""
    try:
        meta = json.loads(read_sealed(folder / FINISHED))
    except BrokenSeal as error:
        return [SealCheck(folder / FINISHED, "unsealed" if "has no seal" in str(error) else "bad", str(error))]
    except ValueError:
        return [SealCheck(folder / FINISHED, "bad", f"{FINISHED} is not JSON")]
    files = sorted(folder.glob("*.png"))
    ok = isinstance(meta, dict) and meta.get("count") == len(files) and meta.get("sha256") == files_digest(files)
    why = "" if ok else f"its {len(files)} PNG files do not match {FINISHED} (damaged or removed): it is written anew"
    return [SealCheck(folder / FINISHED, "good"), SealCheck(folder, "good" if ok else "bad", why)]
