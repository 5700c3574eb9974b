"""The image stores' size cap: least-recently-used finished stores are removed when a new one is written.

Bookkeeping: a store's last use is the modification time of its `store.json`, set when it is written and bumped
each time a run opens it (`mark_used`). Only folders that are stores are ever touched: a 32-hex-digit name (after
`stream-` for a streamed TFDS split) and a `store.json` (a finished store). A store being written (no `store.json`
yet, or a `images.u8.partial-*` file of a process re-decoding it) is never removed, nor the store the calling run
uses, nor anything else in the folder.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import BadData

CAP_VAR = "ZOO_IMAGE_STORE_MAX_GB"
DEFAULT_CAP_GB = 20.0  # a few large datasets at training sizes; a fixed figure is predictable, a disk share is not
# store_key's digest, or a TFDS split's streamed store (stream-<digest>); a process's temporary stream folder
# (stream-<random>, removed when it exits) is not a name of either kind
# and pixel columns' PNG folders (pixels-<digest>, finished by pixels.json) share the cap
STORE_NAME = re.compile(r"(stream-|pixels-)?[0-9a-f]{32}")
FINISHED = "store.json"
PIXELS_FINISHED = "pixels.json"


def finished_marker(folder: Path) -> Path:
    """The file whose presence says the folder is finished and whose mtime is its last use."""
    return folder / (PIXELS_FINISHED if folder.name.startswith("pixels-") else FINISHED)


@dataclass(frozen=True)
class StoreFolder:
    """One finished store: where it is, its bytes on disk and when it was last used (seconds since the epoch)."""

    path: Path
    bytes: int
    used: float


def store_cap() -> int:
    """Bytes the finished stores may take together: $ZOO_IMAGE_STORE_MAX_GB (0: only the one in use), else 20 GB."""
    value = os.environ.get(CAP_VAR, "").strip()
    if not value:
        return int(DEFAULT_CAP_GB * 1e9)
    try:
        gigabytes = float(value)
    except ValueError:
        gigabytes = -1.0
    if not gigabytes >= 0:  # also refuses nan
        raise BadData(f"{CAP_VAR} must be a number of gigabytes (0 or more); got {value!r}")
    return int(gigabytes * 1e9)


def mark_used(folder: Path) -> None:
    """Record that a run opened the store in `folder` (its store.json's mtime); a read-only cache is left as it is."""
    try:
        os.utime(finished_marker(folder))
    except OSError:
        pass


def finished_stores(root: Path) -> list[StoreFolder]:
    """The finished stores under `root`, least recently used first; partial ones and other folders are left out."""
    found = []
    try:
        candidates = [path for path in root.iterdir() if STORE_NAME.fullmatch(path.name) and path.is_dir()]
    except OSError:
        return []
    for path in candidates:
        try:
            names = os.listdir(path)
            marker = finished_marker(path)
            if marker.name not in names or any(".partial-" in name or ".tmp" in name for name in names):
                continue  # being written by a run: not ours to remove
            size = sum((path / name).stat().st_size for name in names)
            found.append(StoreFolder(path, size, marker.stat().st_mtime))
        except OSError:
            continue  # removed meanwhile by another run
    return sorted(found, key=lambda store: store.used)


def evict_stores(current: Path, cap: int | None = None) -> list[StoreFolder]:
    """Remove the least recently used finished stores beside `current` (kept) until they fit the cap; the removed."""
    limit = store_cap() if cap is None else cap
    stores = finished_stores(current.parent)
    total = sum(store.bytes for store in stores)
    removed = []
    for store in stores:
        if total <= limit:
            break
        if store.path == current:
            continue
        if remove_store(store.path):
            total -= store.bytes
            removed.append(store)
    if removed:
        freed = sum(store.bytes for store in removed) / 1e9
        print(
            f"image store: removed {len(removed)} least recently used store(s), {freed:.2f} GB, to stay under "
            f"{limit / 1e9:g} GB (set {CAP_VAR} to change it)",
            file=sys.stderr,
        )
    return removed


def remove_store(path: Path) -> bool:
    """Rename the store out of the way (a run looking for it then decodes anew, never half a store), then delete it."""
    doomed = path.with_name(f".evicted-{path.name}-{os.getpid()}")
    try:
        os.replace(path, doomed)
    except OSError:
        return False  # gone already, or in use where the system forbids it (Windows)
    shutil.rmtree(doomed, ignore_errors=True)  # POSIX: a run still reading its memory map keeps its pages
    return True


def clear_stores(root: Path) -> list[StoreFolder]:
    """Remove every finished store under `root` (partial ones being written are left); the removed."""
    return [store for store in finished_stores(root) if remove_store(store.path)]
