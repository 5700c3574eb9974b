"""Decode every file before anything trains, so a bad file is skipped (and listed) instead of killing an epoch.

Decoding goes through zoo.data.decoding.images (the reader prediction uses too). A thread pool over files is
enough for speed: Pillow releases the GIL while it decodes.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
from PIL import Image

from zoo.data.decoding.images import decode_image, failure_reason, fit_to, pixel_limit_quiet, read_regular_file
from zoo.data.labelled import printable
from zoo.data.progress import Progress
from zoo.errors import BadData

CHANNELS = (1, 3)


@dataclass(frozen=True)
class FileScan:
    """What decoding one file found: the reason it was skipped (None if it decoded) and facts about the image."""

    file: str  # the path as listed (may hold undecodable bytes as surrogates)
    reason: str | None = None
    mode: str = ""  # the file's own Pillow mode, before conversion to RGB
    size: tuple[int, int] = (0, 0)  # width, height after EXIF orientation (as decoded: a JPEG drafted when fitted)
    sha256: str = ""
    pixels: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ScanOptions:
    """What a scan keeps of each file: its pixels (fitted to image_size (height, width), with `channels`), a hash."""

    image_size: tuple[int, int] | None = None
    channels: int = 3
    keep_pixels: bool = True
    hash_content: bool = False


def check_channels(channels: int) -> None:
    """Only RGB (3) or grey (1) inputs are produced; say so before any file is read."""
    if channels not in CHANNELS:
        raise BadData(f"channels must be 1 (grey) or 3 (RGB); got {channels!r}")


def image_pixels(image: Image.Image, image_size: tuple[int, int] | None, channels: int) -> np.ndarray:
    """An RGB Pillow image as uint8 (h, w, channels), fitted to image_size (height, width) when given."""
    if channels == 1:
        image = image.convert("L")
    pixels = np.asarray(image) if image_size is None else fit_to(image, image_size)
    pixels = pixels.astype(np.uint8)  # fit_to gives whole numbers in [0, 255] as float32: exact
    return pixels[..., None] if pixels.ndim == 2 else pixels


def scan_file(path: str, options: ScanOptions) -> FileScan:
    """Read one file once, hash it if asked, decode it fully; never raises for a bad file."""
    try:
        content = read_regular_file(path)
    except OSError as error:
        return FileScan(path, failure_reason(error))
    if not content:
        return FileScan(path, "empty file (0 bytes)")
    digest = hashlib.sha256(content).hexdigest() if options.hash_content else ""
    try:
        fit = options.image_size if options.keep_pixels else None
        image, mode = decode_image(io.BytesIO(content), fit)
        pixels = image_pixels(image, options.image_size, options.channels) if options.keep_pixels else None
    except Exception as error:  # Pillow's plugins raise many error types on malformed files
        return FileScan(path, failure_reason(error), sha256=digest)
    return FileScan(path, None, mode, image.size, digest, pixels)


def scan_files(
    files: Sequence[str], options: ScanOptions, *, progress: bool = True, workers: int | None = None
) -> list[FileScan]:
    """Scan `files` in order with a thread pool, reporting progress on stderr for long scans."""
    meter = Progress(len(files), f"checking {len(files)} images", enabled=progress)
    workers = workers or min(16, (os.cpu_count() or 1) + 2)

    results = []
    with pixel_limit_quiet(), ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(scan_file, files, repeat(options)):
            results.append(result)
            meter.advance()
    meter.close()
    return results


def skipped_reasons(scans: Sequence[FileScan]) -> list[tuple[str, str]]:
    """(printable file, reason) of every file that did not decode."""
    return [(printable(scan.file), scan.reason) for scan in scans if scan.reason is not None]
