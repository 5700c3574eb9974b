"""Turn what users call "images" (paths, PIL images, arrays, batches of them) into float batches for a model.

The same code reads images at prediction time and at training time, so orientation, mode conversion and
resizing can never differ between the two.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import stat
import threading
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from zoo.errors import BadData

# Standard ImageNet evaluation: resize the shorter side to size / 0.875, then centre-crop `size`.
CENTRE_CROP_FRACTION = 0.875
REDUCING_GAP = 3.0  # Pillow reduces by an integer factor first when downscaling over 3x: "practically identical"
DECODE_AHEAD = 2  # batches file_batches keeps decoding ahead of the one its caller runs


class NotARegularFile(OSError):
    """A named pipe, socket or device where an image file was expected: reading it could block forever."""


def read_regular_file(path: str | Path) -> bytes:
    """The bytes of `path`, refusing anything but a regular file without blocking (opening a named pipe for reading
    waits for a writer; O_NONBLOCK returns at once so fstat can tell)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotARegularFile("not a regular file (a named pipe, socket or device)")
        return handle.read()


class PixelRange(ValueError):
    """An image whose values cannot be read as pixels without guessing (a float TIFF of depths, say)."""


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: EXIF orientation applied, 16-bit, 32-bit and float scaled, alpha on white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = Image.fromarray(grey_levels(np.asarray(image, dtype=np.float64), image.mode), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def grey_levels(pixels: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit integer (I) or float (F) pixels as uint8, scaled by their range by the rule `pixel_values`
    applies to arrays: I;16 from [0, 65535]; I from [0, 255] or [0, 65535]; F from [0, 1] or [0, 255].

    Anything else (negative, larger, NaN) is refused: a float TIFF of depths or counts has no one reading as pixels.
    """
    low, high = (float(pixels.min()), float(pixels.max())) if pixels.size else (0.0, 0.0)
    ranges = (255.0, 65535.0) if mode.startswith("I") else (1.0, 255.0)
    peak = 65535.0 if mode.startswith("I;16") else next((top for top in ranges if high <= top), None)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or peak is None:
        raise PixelRange(
            f"{'float' if mode == 'F' else '32-bit integer'} image (Pillow mode {mode}) with values in "
            f"[{low:g}, {high:g}]: zoo reads mode {mode} as [0, {ranges[0]:g}] or [0, {ranges[1]:g}] only"
        )
    return np.clip(np.round(pixels / peak * 255.0), 0, 255).astype(np.uint8)


@contextlib.contextmanager
def pixel_limit_quiet() -> Iterator[None]:
    """Silence Pillow's DecompressionBombWarning, in the main thread only (warning filters are process-wide and
    not thread-safe): zoo refuses every image over the limit itself, so the warning would only repeat that.
    Callers that decode on worker threads (scan_files, file_batches) enter this around their pool."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


def over_pixel_limit(pixels: int, size: str = "") -> Image.DecompressionBombError:
    """The one refusal of an image over PIL.Image.MAX_IMAGE_PIXELS, for prediction and training alike."""
    return Image.DecompressionBombError(
        f"{size}{pixels} pixels is over the limit PIL.Image.MAX_IMAGE_PIXELS = {Image.MAX_IMAGE_PIXELS}"
    )


def draft_size(size: tuple[int, int], fit: tuple[int, int]) -> tuple[int, int]:
    """The smallest (width, height) of an image of `size` from which `fit_to` can still make `fit` (height, width):
    what a JPEG may be reduced to while decoding (Pillow's draft: DCT scaling by 1/2, 1/4 or 1/8)."""
    scale = min(1.0, max(fit) / CENTRE_CROP_FRACTION / min(size))
    return math.ceil(size[0] * scale), math.ceil(size[1] * scale)


def draft_factor(size: tuple[int, int], fit: tuple[int, int]) -> int:
    """The factor (1, 2, 4 or 8) by which Pillow's JPEG draft reduces an image of `size` (width, height) for `fit`
    (height, width): the largest that keeps it at least `draft_size` (Pillow's own rule, JpegImageFile.draft)."""
    wanted = draft_size(size, fit)
    scale = min(size[0] // max(1, wanted[0]), size[1] // max(1, wanted[1]))
    return next(factor for factor in (8, 4, 2, 1) if scale >= factor)


def drafted(image: Image.Image, fit: tuple[int, int]) -> Image.Image:
    """A JPEG the caller opened, as a file path of it decodes for `fit`: one not yet loaded is decoded from its own
    bytes with the draft (the same pixels); a loaded one is reduced by the draft's factor (box averaging, what the
    draft's DCT scaling computes: within 2 grey levels at 32-224 px). Other images are returned as they are."""
    if image.format != "JPEG":
        return image
    handle = getattr(image, "fp", None)
    if getattr(image, "tile", None) and handle is not None:  # opened lazily: the caller's object is left as it was
        handle.seek(0)
        return decode_image(io.BytesIO(handle.read()), fit)[0]
    factor = draft_factor(image.size, fit)
    return image.reduce(factor) if factor > 1 and image.mode in ("L", "RGB", "CMYK") else image


def decode_image(source: str | Path | BinaryIO, fit: tuple[int, int] | None = None) -> tuple[Image.Image, str]:
    """Fully decode one image by its content: first frame, oriented, RGB; also the file's own mode.

    Raises Pillow's own errors; an image over PIL.Image.MAX_IMAGE_PIXELS is refused (Pillow only warns up to twice
    it, and a warning would still decode a bomb). With `fit` (height, width) a large JPEG decodes reduced (draft).
    """
    with pixel_limit_quiet():
        try:
            opened = Image.open(source)
        except Image.DecompressionBombError as error:  # over twice the limit: Pillow's message, said zoo's way
            found = re.search(r"\((\d+) pixels\)", str(error))
            raise over_pixel_limit(int(found.group(1)) if found else 0) from None
    with opened as image:
        mode, limit = image.mode, Image.MAX_IMAGE_PIXELS
        if limit and image.width * image.height > limit:
            raise over_pixel_limit(image.width * image.height, f"{image.width}x{image.height} = ")
        if fit is not None and image.format == "JPEG":
            image.draft(None, draft_size(image.size, fit))
        image.seek(0)
        image.load()
        return to_rgb(image), mode


def failure_reason(error: BaseException) -> str:
    """One line saying why a file cannot be used."""
    if isinstance(error, Image.DecompressionBombError):
        return f"too large to decode safely: {error} (raise PIL.Image.MAX_IMAGE_PIXELS if you trust this file)"
    if isinstance(error, PixelRange):
        return str(error)
    if isinstance(error, UnidentifiedImageError):
        return "not an image Pillow can read (an unknown or unsupported format, or a damaged header)"
    if isinstance(error, NotARegularFile):
        return f"{error}: zoo reads image files only"
    if isinstance(error, FileNotFoundError):
        return "file not found (it vanished after listing)"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError | SyntaxError | EOFError):
        return f"corrupt or truncated image: {error}"
    return f"cannot be decoded: {type(error).__name__}: {error}"


def failure_fix(error: BaseException) -> str:
    """What to do about a file that failed to decode, for a command that cannot just skip it (zoo predict)."""
    if isinstance(error, UnidentifiedImageError):
        return "pass a JPEG, PNG, GIF, BMP, TIFF or WebP image, or convert this file to one"
    if isinstance(error, PermissionError):
        return "make the file readable (chmod +r), or copy it somewhere you can read"
    if isinstance(error, Image.DecompressionBombError):
        return "or shrink the image first"
    if isinstance(error, NotARegularFile):
        return "pass an image file"
    if isinstance(error, PixelRange):
        return "convert it to an 8- or 16-bit image (or scale its values to [0, 1])"
    return "the file is damaged or incomplete: download or export it again"


def open_image(path: str | Path, fit: tuple[int, int] | None = None) -> Image.Image:
    """Open an image file by its content (not its extension), first frame of an animation, as RGB; `fit` (height,
    width) lets a large JPEG decode reduced, as training does for the same size."""
    if Path(path).is_dir():
        raise BadData(f"{path} is a folder, not an image: pass the image files in it (e.g. {Path(path) / '*.jpg'})")
    try:
        return decode_image(io.BytesIO(read_regular_file(path)), fit)[0]
    except FileNotFoundError:
        raise BadData(f"image file not found: {path} (check the path; relative paths start at {Path.cwd()})") from None
    except Exception as error:  # Pillow's plugins raise many error types on malformed files
        raise BadData(f"cannot read image {path}: {failure_reason(error)}; {failure_fix(error)}") from None


def fit_to(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """Resize the shorter side to size / 0.875 and centre-crop to `size` (height, width); float32 in [0, 255].

    One bicubic resize of the centre box (Pillow's `box`), never the parts cropped away, with `reducing_gap` for a
    large image: 1.5-1.7 ms of a core where resize-then-crop took 2.9-3.1 ms (docs/benchmarks.md, the decode change)."""
    height, width = size
    if image.size != (width, height):
        scale = max(height, width) / CENTRE_CROP_FRACTION / min(image.size)
        scale_x = max(width, math.ceil(image.width * scale)) / image.width  # each side at least the crop's
        scale_y = max(height, math.ceil(image.height * scale)) / image.height
        box_width, box_height = width / scale_x, height / scale_y
        left, top = (image.width - box_width) / 2, (image.height - box_height) / 2
        box = (left, top, left + box_width, top + box_height)
        image = image.resize((width, height), Image.Resampling.BICUBIC, box=box, reducing_gap=REDUCING_GAP)
    return np.asarray(image, dtype=np.float32)


def array_to_image(array: np.ndarray) -> Image.Image:
    """An HxW or HxWxC array (uint8, or float in [0, 255]) as an RGB Pillow image."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise BadData(f"an image array must be HxW, HxWx1, HxWx3 or HxWx4; got shape {array.shape}")
    return to_rgb(Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)))


def pixel_values(array: Any) -> np.ndarray:
    """An image array (or a batch of them) as values in [0, 255], by the documented rule of `classify`/`embed`.

    uint8 as it is; uint16 scaled from [0, 65535]; floats whose values all lie in [0, 1] (what `plt.imread` gives
    for a PNG) scaled by 255; other floats read as [0, 255]. Negative or larger values (an already preprocessed
    image) and NaN are refused: they cannot be read as pixels without guessing.
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return np.round(array / 257.0)
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise BadData(f"cannot read an array of {array.dtype} with shape {array.shape} as an image")
    low, high = float(np.min(array)), float(np.max(array))
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
        raise BadData(
            f"image values span [{low:g}, {high:g}]: pass raw pixels (uint8, or floats in [0, 1] or [0, 255]); "
            "the model applies its own preprocessing"
        )
    return array * 255.0 if array.dtype.kind == "f" and high <= 1.0 else array


def fit_pixels(image: Image.Image, size: tuple[int, int], channels: int) -> np.ndarray:
    """An RGB Pillow image as float32 (height, width, channels) in [0, 255], as training fits it (grey for 1)."""
    if channels not in (1, 3):
        raise BadData(f"the model takes {channels}-channel images; zoo reads images as grey (1) or RGB (3) only")
    pixels = fit_to(image.convert("L") if channels == 1 else image, size)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def image_items(images: Any) -> list:
    """The images of a call as a list: one path, PIL image or array, a batch array (n, h, w[, c]) or a sequence.

    A batch array is read as pixels once, as a whole, so one [0, 1] rule applies to all of its images.
    """
    if isinstance(images, np.ndarray) and images.ndim == 4:
        items = list(pixel_values(images).astype(np.uint8))  # in [0, 255] now: items are not re-scaled
    elif isinstance(images, (str, Path, Image.Image, np.ndarray)):
        items = [images]
    else:
        items = list(images)
    if not items:
        raise BadData("no images given: pass a path, a PIL image, an array or a list of them")
    return items


def image_batches(images: Any, size: tuple[int, int], channels: int = 3, batch_size: int = 32) -> Iterator[np.ndarray]:
    """Float32 batches (<= batch_size, height, width, channels) in [0, 255]: images decode one batch at a time,
    so memory stays bounded however many are given."""
    items = image_items(images)
    for start in range(0, len(items), batch_size):
        yield np.stack([model_pixels(item, (*size, channels)) for item in items[start : start + batch_size]])


def images_to_batch(images: Any, size: tuple[int, int], channels: int = 3) -> np.ndarray:
    """A float32 batch (n, height, width, channels) in [0, 255] from one image or a sequence of them."""
    return np.concatenate(list(image_batches(images, size, channels)))


def as_image(item: Any, fit: tuple[int, int] | None = None) -> Image.Image:
    """One image of any accepted kind as an RGB Pillow image (arrays by the rule of `pixel_values`); with `fit`, a
    JPEG (a path or a PIL image of one) decodes reduced as training decodes it (`drafted`). Arrays have no format:
    they are fitted from their full size, as a PNG file is."""
    if isinstance(item, (str, Path)):
        return open_image(item, fit)
    if isinstance(item, Image.Image):
        return to_rgb(drafted(item, fit) if fit is not None else item)
    if isinstance(item, np.ndarray):
        return array_to_image(pixel_values(item))
    raise BadData(f"cannot use {type(item).__name__} as an image: pass a path, a PIL image or an array")


def model_pixels(item: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """One image (path, PIL image or array) as a model of input `shape` (height, width, channels) sees it: float32 in
    [0, 255], decoded, drafted and fitted as training does. The one way every command and method reads an image."""
    return fit_pixels(as_image(item, shape[:2]), shape[:2], shape[2])


def decode_file(path: str, shape: tuple[int, int, int]) -> np.ndarray | str:
    """One file fitted to `shape` (height, width, channels) as float32, or why it cannot be read."""
    try:
        return model_pixels(path, shape)
    except BadData as error:
        return str(error)


def file_batches(
    files: Sequence[str], shape: tuple[int, int, int], batch_size: int, failures: list
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Decoded batches of `files` (height, width, channels); unreadable files go to `failures`, not raised.

    Files decode one per task on a thread per core (Pillow releases the GIL), DECODE_AHEAD batches ahead of the one
    the caller runs, so decoding fills the cores whenever the model leaves them idle (on 2 cores, 256 JPEGs, in one
    process: median 1.13x OpenVINO's and 1.05x LiteRT's end-to-end throughput with one thread one batch ahead).
    """
    chunks = [files[start : start + batch_size] for start in range(0, len(files), batch_size)]
    workers = max(2, min(8, os.cpu_count() or 2))
    with pixel_limit_quiet(), ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[list[Any]] = deque()
        for index in range(len(chunks)):
            while len(pending) < DECODE_AHEAD and index + len(pending) < len(chunks):
                pending.append([pool.submit(decode_file, path, shape) for path in chunks[index + len(pending)]])
            decoded = [(path, future.result()) for path, future in zip(chunks[index], pending.popleft(), strict=True)]
            failures.extend((path, result) for path, result in decoded if isinstance(result, str))
            good = [(path, result) for path, result in decoded if not isinstance(result, str)]
            if good:
                yield [path for path, _ in good], np.stack([pixels for _, pixels in good])
