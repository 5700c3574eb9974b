"""Helpers for the data tests: tiny image files in tmp_path, and snapshots of a folder tree."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def write_image(path: str | Path, size: tuple[int, int] = (12, 10), seed: int = 0, fmt: str | None = None) -> Path:
    """A noisy RGB image (distinct content per seed) of size (width, height); PNG content unless `fmt` says."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt or "PNG")
    return path


def make_classes(root: Path, counts: dict[str, int], size: tuple[int, int] = (12, 10)) -> Path:
    """root/<class>/<i>.png with counts[class] distinct images each."""
    seed = 0
    for name, count in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            seed += 1
            write_image(root / name / f"{i}.png", size, seed)
    return root


def snapshot(root: Path) -> dict[bytes, int]:
    """Every path (as bytes, so any name works) under root with its modification time in nanoseconds."""
    found = {}
    for parent, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            path = os.path.join(parent, name)
            found[path] = os.lstat(path).st_mtime_ns
    return found


def within(seconds: float, call):
    """call() on a daemon thread, failing the test after `seconds` instead of hanging (a read that blocks forever)."""
    import threading

    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test thread
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s: it blocks"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
