"""Rows of a memory-mapped array without holding them all: gathered in chunks into a sibling memory-mapped file.

Fancy indexing a np.memmap (`x[[3, 7, 9]]`) reads every chosen row into RAM; a split of a store larger than memory
would then not fit. The chosen rows are copied on disk instead, once per distinct selection, and read back mapped.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import BadData, BrokenSeal
from zoo.locks import folder_locked
from zoo.sealed import check_sealed, remove_sealed, seal_written

CHUNK_BYTES = 4 * 1024**2  # rows copied per round: bounds the memory a copy holds (and its peak)
ROWS_LOCK = "rows.lock"  # one per store folder: see rows_locked


def require_room(folder: Path, needed: int, what: str) -> int:
    """The free bytes on `folder`'s disk; BadData naming `what` when `needed` bytes do not fit there."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise BadData(
            f"not enough disk for {what} in {folder}: {needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free; free "
            "space or set ZOO_IMAGE_STORE (or ZOO_CACHE_DIR) to a larger disk"
        )
    return free


def new_memmap(path: Path, dtype: Any, shape: tuple[int, ...], *, npy: bool = False) -> np.memmap:
    """A new memory-mapped file (raw, or .npy with its header) whose disk blocks are allocated before any write.

    Writing through a map onto a full disk is a SIGBUS that kills the process; allocating first makes it an
    OSError(ENOSPC) here, and the file is removed again.
    """
    array = None
    try:
        if npy:
            array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        else:
            array = np.memmap(path, dtype=dtype, mode="w+", shape=shape)
        allocate(Path(path))
    except OSError as error:
        del array
        Path(path).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, str(path)) from None
    return array


def allocate(path: Path) -> None:
    """Give every byte of the (sparse) file at `path` its disk blocks: ENOSPC now rather than on a later write."""
    if not hasattr(os, "posix_fallocate"):  # macOS, Windows: the free-space check at the door is what there is
        return
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # else: cannot allocate ahead
                raise


def take_rows(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """x[rows]: in memory for an ordinary array, a read-only memory map next to `x` when `x` is one on disk."""
    if not isinstance(x, np.memmap) or x.filename is None or len(rows) == 0:
        return x[rows]
    if np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return x[rows[0] : rows[0] + len(rows)]  # a contiguous run is a view: nothing to copy
    digest = hashlib.sha256(f"{x.filename}:{x.shape}:{x.dtype}:{x.offset}".encode() + rows.tobytes()).hexdigest()
    target = Path(x.filename).parent / f"rows-{digest[:24]}.u8"  # discard_copy knows copies by this prefix
    shape = (len(rows), *x.shape[1:])
    expected = int(np.prod(shape)) * x.dtype.itemsize
    with rows_locked(target.parent):
        if not intact(target):
            require_room(target.parent, expected, f"a copy of {len(rows)} rows of {Path(x.filename).name}")
            partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
            with removed_unless_finished(partial):
                copy = new_memmap(partial, x.dtype, shape)
                step = max(1, CHUNK_BYTES // max(1, x[0].nbytes))
                for start in range(0, len(rows), step):
                    copy[start : start + step] = x[rows[start : start + step]]
                    release_pages(x)
                    release_pages(copy)
                copy.flush()
                del copy
                seal_written(partial, target, made_by="zoo image store rows")
        return np.memmap(target, dtype=x.dtype, mode="r", shape=shape)


@contextmanager
def rows_locked(folder: Path) -> Iterator[None]:
    """One process at a time checks, writes, opens or removes a row copy in `folder`: without it another process
    (a second worker of a cluster run, a second run on the same store) could find a copy between its rename and its
    seal and remove it as unfinished, or discard it between this one's check and its open. Once open, a map survives
    the file's removal."""
    with folder_locked(folder, ROWS_LOCK):
        yield


def intact(path: Path) -> bool:
    """True when `path` exists and matches its seal; a damaged one is removed (made again)."""
    if not path.exists():
        return False
    try:
        check_sealed(path)
        return True
    except BrokenSeal:
        remove_sealed(path)
        return False


@contextmanager
def removed_unless_finished(partial: Path) -> Iterator[None]:
    """Remove `partial` (a file being written) when the block does not finish: an error, a full disk, Ctrl-C."""
    try:
        yield
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def discard_copy(x: np.ndarray) -> None:
    """Remove the file of a `take_rows` copy once its user is done (k folds would otherwise keep k copies of the
    data on disk); anything else, a store included, is left alone. An open map keeps working until it is closed."""
    name = getattr(x, "filename", None)
    if isinstance(x, np.memmap) and name is not None and Path(name).name.startswith("rows-"):
        with rows_locked(Path(name).parent):
            remove_sealed(Path(name))


def hash_rows(digest: Any, array: np.ndarray) -> None:
    """Update `digest` with the array's bytes, CHUNK_BYTES of rows at a time: the same digest as hashing
    array.tobytes(), without that whole copy (a store on disk stays on disk)."""
    step = max(1, CHUNK_BYTES // max(1, array[:1].nbytes))
    for start in range(0, len(array), step):
        digest.update(np.ascontiguousarray(array[start : start + step]).tobytes())
        release_pages(array)


def release_pages(x: np.ndarray) -> None:
    """Drop a memory map's pages from this process's resident set (flushed first when writable).

    Pages read through a map stay counted in the process's memory until unmapped, though the kernel keeps them in its
    page cache either way; releasing them as a pass goes keeps resident memory flat however large the file.
    """
    mapping = getattr(x, "_mmap", None)  # np.memmap's mapping, shared by its views; no public name for it
    if mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    if x.flags.writeable:
        mapping.flush()
    mapping.madvise(mmap.MADV_DONTNEED)
