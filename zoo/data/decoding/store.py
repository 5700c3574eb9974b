"""The image store: every listed file decoded and fitted once, kept on disk as a memory-mapped uint8 array.

A store is keyed by the listing's fingerprint (paths, sizes, modification and change times, inodes), the image size
and the channels, so a second run on the same data skips decoding and a changed file decodes anew (even one rewritten
in place with its mtime put back: its ctime cannot be). Rows are written one by one while decoding (memory never
holds all images) into a temporary name, renamed when complete; `store.json`, written last, marks a finished store,
so a killed decode leaves nothing that is reused. Both files are sealed (zoo.sealed) and checked when the store is
opened: a damaged store is one line and decoded anew. One process at a time decodes a store (its store.lock);
another one asking for it then waits and reuses it (two workers of a cluster run on one machine, two runs at once).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
from PIL import Image

from zoo.data.decoding.eviction import evict_stores, mark_used, store_cap
from zoo.data.decoding.rows import new_memmap, release_pages, removed_unless_finished, require_room
from zoo.data.decoding.scan import ScanOptions, scan_file
from zoo.data.labelled import Skipped, printable
from zoo.data.progress import progress_meter, worth_reporting
from zoo.errors import BadData, BrokenSeal
from zoo.locks import folder_locked
from zoo.sealed import check_sealed, read_sealed, seal_written, write_sealed
from zoo.version import __version__

STORE_FORMAT = 3  # bump when the stored files would differ for the same files (a decoder or resize change)
# 2: sealed; 3: fit_to crops and resizes in one pass (resize with box and reducing_gap), exactly centred
CHUNK = 256  # files decoded per round: bounds the decoded images held in memory at once
STORE_LOCK = "store.lock"  # held while a store is decoded: a second process waits, then reuses it
STORE_VAR = "ZOO_IMAGE_STORE"  # where stores go; ZOO_CACHE_DIR (the weights' cache variable) moves it too
BUDGET_VAR = "ZOO_MEMORY_BUDGET_MB"
BUDGET_FRACTION = 0.5  # of the available RAM, when BUDGET_VAR is not set


@dataclass(frozen=True)
class StoredImages:
    """A finished store: the decoded rows (read-only memory map), which listed files they are, what was skipped."""

    x: np.memmap
    usable: np.ndarray  # indices into the listing of the files that decoded, in row order
    skipped: tuple[Skipped, ...]
    folder: Path
    reused: bool


def store_root() -> Path:
    """$ZOO_IMAGE_STORE, else $ZOO_CACHE_DIR/images, else the user cache's zoo/images (next to the weights cache)."""
    chosen = os.environ.get(STORE_VAR, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    root = os.environ.get("ZOO_CACHE_DIR", "").strip()
    if root:
        return Path(root).expanduser() / "images"
    import platformdirs

    return Path(platformdirs.user_cache_dir("zoo", appauthor=False)) / "images"


def store_key(files: Sequence[str], image_size: tuple[int, int], channels: int) -> str:
    """A digest of what the decoded rows depend on: each file's path, size, mtime, ctime and inode (os.utime can put
    an mtime back, not a ctime), the size and channels."""
    digest = hashlib.sha256(json.dumps([STORE_FORMAT, __version__, list(image_size), channels]).encode())
    for file in files:
        try:
            stat = os.stat(file)
            facts = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
        except OSError:
            facts = "missing"  # decoding will skip it; if it appears later the key changes
        digest.update(os.fsencode(file) + b"\0" + facts.encode() + b"\0")
    return digest.hexdigest()[:32]


def memory_budget() -> int:
    """Bytes of RAM the data may hold: $ZOO_MEMORY_BUDGET_MB, else half the memory available now."""
    value = os.environ.get(BUDGET_VAR, "").strip()
    if value:
        try:
            return int(float(value) * 1e6)
        except ValueError:
            raise BadData(f"{BUDGET_VAR} must be a number of megabytes; got {value!r}") from None
    return int(available_memory() * BUDGET_FRACTION)


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux), else free pages times the page size."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def open_store(folder: Path, *, report: bool = True) -> StoredImages | None:
    """The finished store in `folder`, or None when there is none (or only a partial one); a store that does not
    match its seals is None and, when `report`, one line (decoded anew)."""
    meta_path = folder / "store.json"
    if not meta_path.exists():
        return None
    try:
        meta = json.loads(read_sealed(meta_path))
        shape = tuple(meta["shape"])
        path = folder / "images.u8"
        check_sealed(path)
        if path.stat().st_size != int(np.prod(shape)):
            raise BrokenSeal(f"{path} does not hold the {shape} rows {meta_path.name} says")
        x = np.memmap(path, dtype=np.uint8, mode="r", shape=shape) if shape[0] else np.zeros(shape, np.uint8)
        skipped = tuple(Skipped(file, reason) for file, reason in meta["skipped"])
        usable = np.asarray(meta["usable"], dtype=np.int64)
    except (BrokenSeal, OSError, ValueError, KeyError, TypeError) as error:
        if report:
            print(f"image store: the store in {folder} is damaged ({error}): decoding again", file=sys.stderr)
        return None
    mark_used(folder)  # the eviction's least-recently-used order (zoo.data.decoding.eviction)
    return StoredImages(x, usable, skipped, folder, reused=True)


def plan_line(count: int, image_size: tuple[int, int], channels: int, folder: Path) -> str:
    """What the store takes on disk and what the data may hold in RAM; BadData when the disk cannot hold it or a
    setting is not a number."""
    needed = count * image_size[0] * image_size[1] * channels
    folder.parent.mkdir(parents=True, exist_ok=True)
    shape = f"{image_size[0]}x{image_size[1]}x{channels}"
    free = require_room(folder.parent, needed, f"the image store ({count} images at {shape})")
    budget, cap = memory_budget(), store_cap()  # a bad value of either variable stops here, before decoding
    where = "in RAM (page cache)" if needed <= budget else "streamed from disk"
    return (
        f"image store: {count} images, {needed / 1e6:.1f} MB on disk in {folder} ({free / 1e9:.1f} GB free; stores "
        f"kept up to {cap / 1e9:g} GB); memory budget {budget / 1e6:.0f} MB: images {where}"
    )


def stored_images(
    files: Sequence[str], options: ScanOptions, *, progress: bool = True, root: Path | None = None
) -> StoredImages:
    """The store of `files` at options' size and channels: reused when one is complete, else decoded into one."""
    folder = (root or store_root()) / store_key(files, options.image_size, options.channels)
    reporting = progress and worth_reporting(len(files))  # what a short decode takes is not worth a line
    found = open_store(folder, report=False)  # unlocked: it may be another process's store half-written
    if found is None:
        line = plan_line(len(files), options.image_size, options.channels, folder)  # checks the free disk first
        folder.mkdir(exist_ok=True)
        waiting = f"image store: another zoo process is decoding these images into {folder}; waiting for it"
        with folder_locked(folder, STORE_LOCK, waiting=waiting if reporting else None):
            found = open_store(folder)  # finished by the process this one waited for; damage is real here
            if found is None:
                if reporting:
                    print(line, file=sys.stderr)
                return decode_store(files, options, folder, progress=progress)
    if reporting:
        print(f"image store: {len(found.usable)} decoded images reused from {folder}", file=sys.stderr)
    return found


def decode_store(files: Sequence[str], options: ScanOptions, folder: Path, *, progress: bool) -> StoredImages:
    """Decode `files` row by row into folder/images.u8 (temporary name first), then write store.json; the caller
    holds the store's lock."""
    height, width = options.image_size
    row_shape = (height, width, options.channels)
    (folder / "store.json").unlink(missing_ok=True)  # a damaged store being replaced must not look finished
    partial = folder / f"images.u8.partial-{os.getpid()}"
    usable, skipped = [], []
    bar = progress_meter(len(files), f"checking {len(files)} images", enabled=progress)
    with removed_unless_finished(partial), warnings.catch_warnings():
        rows = new_memmap(partial, np.uint8, (max(len(files), 1), *row_shape))  # full disk: an OSError, not SIGBUS
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # decode_image refuses those files itself
        with ThreadPoolExecutor(min(16, (os.cpu_count() or 1) + 2)) as pool:
            for start in range(0, len(files), CHUNK):
                for offset, scan in enumerate(pool.map(scan_file, files[start : start + CHUNK], repeat(options))):
                    if scan.reason is not None:
                        skipped.append(Skipped(printable(scan.file), scan.reason))
                    else:
                        rows[len(usable)] = scan.pixels
                        usable.append(start + offset)
                    bar.update(1)
                release_pages(rows)
        bar.close()
        rows.flush()
        del rows
        return finish_store(folder, partial, row_shape, usable, skipped)


def finish_store(
    folder: Path, partial: Path, row_shape: tuple[int, ...], usable: list[int], skipped: list[Skipped]
) -> StoredImages:
    """Move a written rows file (`partial`, in `folder`) into place, then write store.json: the store is finished."""
    os.truncate(partial, len(usable) * int(np.prod(row_shape)))  # rows past the last usable one were never written
    seal_written(partial, folder / "images.u8", made_by=f"zoo {__version__} image store")
    meta = {"shape": [len(usable), *row_shape], "usable": usable, "skipped": [[s.file, s.reason] for s in skipped]}
    write_sealed(folder / "store.json", json.dumps(meta).encode(), made_by=f"zoo {__version__} image store")
    evict_stores(folder)  # the stores' size cap, oldest first, never this one
    stored = open_store(folder)
    if stored is None:
        raise BadData(f"the image store in {folder} could not be read back after writing: check the disk")
    return StoredImages(stored.x, stored.usable, stored.skipped, folder, reused=False)
