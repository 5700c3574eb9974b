"""Fixtures of the fault sweep: a small real file system that fills up."""

from __future__ import annotations

import subprocess
import uuid

import pytest


@pytest.fixture
def small_disk(tmp_path):
    """A 600 KB tmpfs mounted for the test (root only): writes past it fail with ENOSPC, as on a full disk."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
