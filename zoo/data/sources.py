"""`load_data`: any supported source to one `LabelledData`, with every check done before anything trains.

Sources: a folder of class sub-folders, a CSV file, a pandas DataFrame, a list of image paths with `labels`,
a TFDS name ("tfds:mnist" or "mnist"), a tf.data.Dataset of (image, label), or NumPy (x, y).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from zoo.data.arrays import from_arrays
from zoo.data.checks import class_problems, raise_problems, strict_message
from zoo.data.decoding.scan import ScanOptions, check_channels, scan_files
from zoo.data.decoding.store import StoredImages, stored_images
from zoo.data.labelled import LabelledData, Skipped, printable
from zoo.data.listings.listing import FileListing, list_folder
from zoo.data.listings.table import TableOptions, is_data_frame, list_csv, list_frame, list_table
from zoo.data.tensorflow_sources import (
    TFDS_NAME,
    StreamOrigin,
    from_tf_dataset,
    is_tf_dataset,
    looks_like_tfds_name,
    tfds_split,
    unknown_name_message,
)
from zoo.errors import BadData

PathLike = str | bytes | os.PathLike


def is_path_list(data: Any) -> bool:
    """A list or tuple of file paths (not arrays)."""
    return isinstance(data, list | tuple) and bool(data) and all(isinstance(item, PathLike) for item in data)


def list_source(
    data: Any, *, labels: Sequence[Any] | None, options: TableOptions, class_names: Sequence[str] | None
) -> FileListing | None:
    """The image files of a file-based source with their class ids; None when `data` is not file-based."""
    if options.image_dir is not None:
        options = replace(options, image_dir=os.fsdecode(options.image_dir))
    if is_data_frame(data):
        return list_frame(data, options, class_names)
    if labels is not None and is_path_list(data):
        if len(labels) != len(data):
            raise BadData(f"{len(data)} image paths but {len(labels)} labels: pass one label per path")
        paths = [os.fsdecode(item) for item in data]
        rows = {"file": paths, "label": list(labels)}
        names = [f"item {i}" for i in range(len(paths))]
        # The file list's own columns: the table options' column names do not apply to it.
        listed = TableOptions(image_dir=options.image_dir or os.getcwd(), extension=options.extension)
        return list_table(
            ["file", "label"], rows, source="the file list", row_names=names, options=listed, class_names=class_names
        )
    if not isinstance(data, PathLike):
        return None
    path = os.fsdecode(data)
    if os.path.isdir(path):
        return list_folder(path, class_names)
    if os.path.isfile(path):
        if path.lower().endswith((".csv", ".tsv", ".txt")):
            return list_csv(path, options, class_names)
        raise BadData(
            f"{printable(path)} is a file but not a CSV: pass a folder with one sub-folder per class, or a .csv "
            "listing image files and labels"
        )
    if looks_like_tfds_name(path):
        return None
    if TFDS_NAME.match(path):
        raise BadData(unknown_name_message(path))
    raise BadData(f"no such folder or file: {printable(path)} (pass a folder of class folders, a CSV or a TFDS name)")


def from_listing(
    listing: FileListing, *, image_size: tuple[int, int] | None, channels: int, strict: bool, progress: bool
) -> LabelledData:
    """Decode every listed file (skipping the unreadable ones), check the classes, stack the pixels."""
    raise_problems(listing.problems)
    if image_size is not None:  # a fixed size: decode once into the on-disk store (decoding.store), or reuse it
        stored = stored_images(listing.files, ScanOptions(image_size, channels), progress=progress)
        return from_store(listing, stored, strict=strict)
    scans = scan_files(listing.files, ScanOptions(image_size, channels), progress=progress)
    skipped = tuple(Skipped(printable(scan.file), scan.reason) for scan in scans if scan.reason is not None)
    if strict and skipped:
        raise BadData(strict_message(skipped, len(scans), listing.origin))
    usable = [i for i, scan in enumerate(scans) if scan.reason is None]
    y = listing.y[usable]
    raise_problems(class_problems(y, listing.class_names, listing.origin, skipped, listing.one_class_hint))
    sizes = {scans[i].pixels.shape for i in usable}
    if len(sizes) > 1:
        shown = ", ".join(f"{h}x{w}" for h, w, _ in sorted(sizes)[:5])
        raise BadData(
            f"the images of {listing.origin} have {len(sizes)} different sizes ({shown} ...): "
            "pass image_size=(height, width) to resize them all (the model's input size)"
        )
    x = np.stack([scans[i].pixels for i in usable])
    files = tuple(printable(scans[i].file) for i in usable)
    return LabelledData(x, y, listing.class_names, files, skipped, described(listing, len(usable), skipped))


def described(listing: FileListing, count: int, skipped: tuple[Skipped, ...]) -> str:
    """The data's origin line: the source, what was kept and skipped, and the listing's notes."""
    origin = f"{listing.origin}: {count} images, {len(listing.class_names)} classes"
    origin += f", {len(skipped)} files skipped" if skipped else ""
    return origin + "".join(f"; {note}" for note in listing.notes)


def from_store(listing: FileListing, stored: StoredImages, *, strict: bool) -> LabelledData:
    """LabelledData over a store's read-only memory map, checked as a fresh decode would be."""
    skipped = stored.skipped
    if strict and skipped:
        raise BadData(strict_message(skipped, len(listing.files), listing.origin))
    y = listing.y[stored.usable]
    raise_problems(class_problems(y, listing.class_names, listing.origin, skipped, listing.one_class_hint))
    files = tuple(printable(listing.files[i]) for i in stored.usable)
    return LabelledData(stored.x, y, listing.class_names, files, skipped, described(listing, len(y), skipped))


def load_data(
    data: Any,
    *,
    image_size: tuple[int, int] | None,
    channels: int = 3,
    strict: bool = False,
    labels: Sequence[Any] | np.ndarray | None = None,
    id_col: str | None = None,
    label_col: str | None = None,
    image_dir: PathLike | None = None,
    extension: str | None = None,
    pixel_cols: str | None = None,
    pixel_shape: str | None = None,
    multi_label: bool = False,
    data_dir: PathLike | None = None,
    split: str | None = None,
    class_names: Sequence[str] | None = None,
    progress: bool = True,
) -> LabelledData:
    """Any supported source as decoded, checked LabelledData; raises BadData before training when it is unusable.

    data: a folder of class sub-folders, a CSV, a DataFrame, a list of files (with `labels`), (x, y) arrays, a
    "tfds:NAME" dataset (`data_dir`, `split`) or a tf.data.Dataset. image_size: (height, width) images are fitted to
    (None: arrays as they are); channels: 1, 3 or 4. Unreadable image files are skipped and listed in `.skipped`
    (strict=True raises instead). id_col, label_col: a CSV's columns of files (or ids) and labels; image_dir,
    extension: where ids point and their suffix. pixel_cols, pixel_shape: a CSV's pixel columns (auto-detected as
    pixel0..pixelN, or this PREFIX) and their "HxW[xC]" shape, read as images. multi_label: label_col holds
    space-separated tags (a comma-separated label_col of several 0/1 columns is multi-label anyway). class_names:
    the classes' order; progress: decoding lines on stderr.
    """
    check_channels(channels)
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise BadData(f"image_size must be (height, width) with both >= 1; got {image_size!r}")
    size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
    if is_tf_dataset(data):
        return from_tf_dataset(
            data, image_size=size, channels=channels, class_names=class_names, origin=StreamOrigin(progress=progress)
        )
    arrays = {"image_size": size, "channels": channels, "class_names": class_names}
    if isinstance(data, tuple) and len(data) == 2 and labels is None and not is_path_list(data):
        if not is_path_list(data[0]):
            return from_arrays(data[0], data[1], **arrays)
        data, labels = data  # (paths, labels)
    if isinstance(data, np.ndarray):
        if labels is None:
            raise BadData("an array of inputs needs its labels: pass (x, y) or labels=y")
        return from_arrays(data, labels, **arrays)
    table = TableOptions(id_col, label_col, image_dir, extension, pixel_cols, pixel_shape, multi_label)
    listing = list_source(data, labels=labels, options=table, class_names=class_names)
    if listing is not None:
        return from_listing(listing, image_size=size, channels=channels, strict=strict, progress=progress)
    if isinstance(data, PathLike):
        dataset, origin, names = tfds_split(os.fsdecode(data), data_dir, split, class_names)
        origin = replace(origin, progress=progress)
        return from_tf_dataset(dataset, image_size=size, channels=channels, class_names=names, origin=origin)
    raise BadData(
        f"cannot read data of type {type(data).__name__}: pass a folder of class folders, a CSV path, a DataFrame, "
        "a TFDS name, a tf.data.Dataset of (image, label) or a NumPy tuple (x, y)"
    )
