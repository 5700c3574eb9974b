"""Turn what users call "images" (paths, PIL images, arrays, batches of them) into one float RGB batch.

The same code reads images at prediction time and at training time, so orientation, mode conversion and
resizing can never differ between the two.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps

from zoo.errors import BadData

# Standard ImageNet evaluation: resize the shorter side to size / 0.875, then centre-crop `size`.
CENTRE_CROP_FRACTION = 0.875


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: EXIF orientation applied, 16-bit scaled, alpha composited on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.round(pixels / peak * 255.0), 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def decode_image(source: str | Path | BinaryIO, *, refuse_over_limit: bool = False) -> tuple[Image.Image, str]:
    """Fully decode one image by its content: first frame, oriented, RGB; also the file's own mode.

    Raises Pillow's own errors. `refuse_over_limit` also refuses what Pillow only warns about (over
    Image.MAX_IMAGE_PIXELS but under twice it), as a training scan must: a warning would still decode a bomb.
    """
    with Image.open(source) as image:
        mode = image.mode
        limit = Image.MAX_IMAGE_PIXELS
        if refuse_over_limit and limit and image.width * image.height > limit:
            raise Image.DecompressionBombError(
                f"{image.width}x{image.height} = {image.width * image.height} pixels is over Pillow's "
                f"decompression-bomb limit PIL.Image.MAX_IMAGE_PIXELS = {limit}"
            )
        image.seek(0)
        image.load()
        return to_rgb(image), mode


def open_image(path: str | Path) -> Image.Image:
    """Open an image file by its content (not its extension), first frame of an animation, as RGB."""
    try:
        return decode_image(path)[0]
    except FileNotFoundError:
        raise BadData(f"image file not found: {path}") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise BadData(f"cannot read image {path}: {error}") from None


def fit_to(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Resize the shorter side to size / 0.875 and centre-crop to `size` (height, width); float32 in [0, 255]."""
    height, width = size
    if image.size != (width, height):
        scale = max(height, width) / CENTRE_CROP_FRACTION / min(image.size)
        resized = (max(width, math.ceil(image.width * scale)), max(height, math.ceil(image.height * scale)))
        image = image.resize(resized, Image.Resampling.BICUBIC)
        left, top = (image.width - width) // 2, (image.height - height) // 2
        image = image.crop((left, top, left + width, top + height))
    return np.asarray(image, dtype=np.float32)


def array_to_image(array: np.ndarray) -> Image.Image:
    """An HxW or HxWxC array (uint8, or float in [0, 255]) as an RGB Pillow image."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise BadData(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4; got shape {array.shape}")
    return to_rgb(Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)))


def images_to_batch(images: Any, size: tuple[int, int]) -> np.ndarray:
    """A float32 batch (n, height, width, 3) in [0, 255] from one image or a sequence of them."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        items = list(images)
    elif isinstance(images, (str, Path, Image.Image, np.ndarray)):
        items = [images]
    else:
        items = list(images)
    if not items:
        raise BadData("no images given: pass a path, a PIL image, an array or a list of them")
    return np.stack([fit_to(as_image(item), size) for item in items])


def as_image(item: Any) -> Image.Image:
    """One image of any accepted kind as an RGB Pillow image."""
    if isinstance(item, (str, Path)):
        return open_image(item)
    if isinstance(item, Image.Image):
        return to_rgb(item)
    if isinstance(item, np.ndarray):
        return array_to_image(item)
    raise BadData(f"cannot use {type(item).__name__} as an image: pass a path, a PIL image or an array")
