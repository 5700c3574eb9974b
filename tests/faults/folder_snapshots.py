"""Snapshots of folders' files, to show a fault case changed nothing of the user's or of an earlier run."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(*folders: Path) -> dict[str, str]:
    """sha256 of every file below the folders, by path: equal snapshots mean nothing was written, moved or deleted."""
    found = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
