"""The image of each id: found in a folder (with or without an extension in the id) and decoded through zoo.data.

Unlike `zoo finetune`, nothing is skipped: every id needs a prediction (test) or an out-of-fold score (train), so an
id without a readable image is an error that lists them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from zoo.data.decoding.scan import ScanOptions, scan_files, skipped_reasons
from zoo.data.decoding.store import stored_images
from zoo.data.labelled import printable
from zoo.data.listings.labels import quote_rows
from zoo.data.listings.table import TableOptions, file_path, missing_files_hint
from zoo.errors import BadData

# Tried in this order when ids carry no extension and none is given.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def files_by_stem(folder: str) -> dict[str, str]:
    """File names in `folder` keyed by their name without extension (the commonest image extension wins a tie)."""
    rank = {ext: i for i, ext in enumerate(IMAGE_EXTENSIONS)}
    names = sorted(
        (entry.name for entry in os.scandir(folder) if entry.is_file()),
        key=lambda name: rank.get(os.path.splitext(name)[1].lower(), len(rank)),
    )
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(os.path.splitext(name)[0], name)
    return found


def image_files(ids: Sequence[str], options: TableOptions, source: str) -> list[str]:
    """Each id's image in options.image_dir: the file named id, id + extension, or id.<an image extension>."""
    folder = os.fspath(options.image_dir)
    if not os.path.isdir(folder):
        raise BadData(f"image folder {printable(folder)} is not a folder: pass the folder that holds the images")
    if options.extension:
        paths = [file_path(identifier, folder, options.suffix) for identifier in ids]
    else:
        stems = files_by_stem(folder)
        paths = [
            os.path.join(folder, identifier)
            if os.path.isfile(os.path.join(folder, identifier))
            else os.path.join(folder, stems.get(identifier, identifier))
            for identifier in ids
        ]
    missing = [i for i, path in enumerate(paths) if not os.path.isfile(path)]
    if missing:
        shown = [f"{ids[i]!r}" for i in missing]
        raise BadData(
            f"{len(missing)} of {len(ids)} ids in {source} have no image file in {printable(folder)}: "
            f"{quote_rows(shown)}" + missing_files_hint([paths[i] for i in missing], folder, options.suffix)
        )
    return paths


def read_images(files: Sequence[str], size: tuple[int, int], channels: int, progress: bool = True) -> np.ndarray:
    """(n, height, width, channels) uint8 pixels, each image fitted to `size` the way prediction fits it."""
    scans = scan_files(files, ScanOptions(size, channels), progress=progress)
    refuse_unreadable(skipped_reasons(scans), len(files))
    return np.stack([scan.pixels for scan in scans])


def store_images(files: Sequence[str], size: tuple[int, int], channels: int, progress: bool = True) -> np.ndarray:
    """The same pixels as `read_images`, as a read-only memory map of the image store (zoo.data.decoding.store):
    decoded once row by row, never all in memory, and reused by the next run on the same files and size."""
    stored = stored_images(files, ScanOptions(size, channels), progress=progress)
    refuse_unreadable([(item.file, item.reason) for item in stored.skipped], len(files))
    return stored.x


def refuse_unreadable(unreadable: Sequence[tuple[str, str]], count: int) -> None:
    """Every id needs its image: BadData listing the files that did not decode, if any."""
    if unreadable:
        shown = [f"{file}: {reason}" for file, reason in unreadable]
        raise BadData(
            f"{len(unreadable)} of {count} images cannot be read: {quote_rows(shown)}; replace or remove them"
        )
