"""Fixtures of the fault sweep: a small real file system that fills up."""

from __future__ import annotations

import subprocess
import uuid

import pytest


def mounted(tmp_path, options: str):
    """A tmpfs mounted for one test (root only), unmounted after it; skips where it cannot be mounted."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 600 KB file system: writes past it fail with ENOSPC, as on a full disk."""
    yield from mounted(tmp_path, "size=600k")


@pytest.fixture
def roomy_disk(tmp_path):
    """An 8 MB file system: room for a small model's run until something fills it."""
    yield from mounted(tmp_path, "size=8m")


@pytest.fixture
def read_only_disk(tmp_path):
    """A read-only file system: every write fails with EROFS, even as root."""
    yield from mounted(tmp_path, "ro,size=64k")
