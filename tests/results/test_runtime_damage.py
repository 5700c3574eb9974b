"""A damaged runtime-cache entry is never taken as converted: `has_conversion` checks its seals, a damaged entry is
rebuilt once with one line, and in a read-only cache it is one line and Keras' answers."""

from __future__ import annotations

import gc
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_runtime import images, tiny_model  # noqa: E402

from zoo.kaggle.submit.inference import runner_for
from zoo.results.runtime import ModelSource, cached_paths, conversion_state, has_conversion, open_runner


def flip_a_byte(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.seek(-20, 2)
        byte = handle.read(1)
        handle.seek(-20, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))


def converted_file(source: ModelSource) -> Path:
    base = cached_paths(source, "predict")[0]
    return next(base.with_name(base.name + suffix) for suffix in (".bin", ".tflite") if
                base.with_name(base.name + suffix).exists())


@pytest.fixture
def disk(tmp_path, monkeypatch):
    """A small tmpfs as the cache (root only), remountable read-only; skips where it cannot be mounted."""
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.decode().strip()}")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_damaged_entry_is_not_a_conversion_at_hand_and_is_rebuilt_once_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    model = tiny_model()
    source = ModelSource("tiny.keras", "digest-has", lambda: model)
    assert not has_conversion(source, "predict")
    open_runner(source, "predict", lambda line: None)
    assert has_conversion(source, "predict")
    flip_a_byte(converted_file(source))
    assert not has_conversion(source, "predict") and conversion_state(source, "predict") == "damaged"
    capsys.readouterr()
    runner = runner_for(source, "predict", "cached")  # the damaged entry is rebuilt once, with one line, then used
    notes = capsys.readouterr().err.splitlines()
    damaged = [line for line in notes if line.startswith("zoo: the cached runtime file is damaged")]
    assert len(damaged) == 1 and "converting again" in damaged[0], notes
    assert runner.runtime != "keras" and has_conversion(source, "predict")
    np.testing.assert_allclose(runner.run(images()), model.predict(images(), verbose=0), rtol=1e-4, atol=1e-4)


def test_a_damaged_entry_in_a_read_only_cache_is_one_line_and_keras_answers(disk):
    model = tiny_model()
    source = ModelSource("tiny.keras", "digest-read-only", lambda: model)
    first = open_runner(source, "predict", lambda line: None)
    del first  # OpenVINO maps the weights file: the runner must go before the disk can be remounted
    gc.collect()
    flip_a_byte(converted_file(source))
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    notes: list[str] = []
    runner = open_runner(source, "predict", notes.append)
    assert runner.runtime == "keras" and len(notes) == 1, notes
    assert "damaged" in notes[0] and "cannot be written" in notes[0], notes
    np.testing.assert_allclose(runner.run(images()), model.predict(images(), verbose=0), rtol=1e-6)
