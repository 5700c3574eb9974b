"""Locks on a cache folder shared by processes: two runs (or the workers of a cluster run) on one machine and one
cache must not write, check or remove the same files at once (image stores, row copies, runtime conversions). The
operating system releases a lock whose process died, so a killed run never leaves one behind. Portable (filelock),
where fcntl is POSIX only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def folder_locked(folder: Path, name: str, *, waiting: str | None = None) -> Iterator[None]:
    """Hold the lock file `folder/name` for the block; print `waiting` to stderr when another process holds it. A
    folder where the lock cannot be made (read-only) is used unlocked: nothing can be written or removed there."""
    from filelock import FileLock, Timeout  # 50 ms to import: only where a cache file is written

    lock = FileLock(str(folder / name))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if waiting:
                print(waiting, file=sys.stderr)
            lock.acquire()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()
