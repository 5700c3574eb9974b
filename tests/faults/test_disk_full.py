"""A disk that fills up during `zoo finetune`: one clear line, exit 2, no crash at exit, no partial checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from finetune_data import shape_folder
from folder_snapshots import snapshot

ROOT = Path(__file__).resolve().parents[2]


def run_zoo(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "zoo", *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_finetune_onto_a_full_disk_says_so_in_one_line(tmp_path, small_disk):
    data = shape_folder(tmp_path / "shapes", per_class=6, size=28)
    before = snapshot(data)
    (small_disk / "filler").write_bytes(b"\0" * 300_000)  # what is left cannot hold lenet5's checkpoint and outputs
    out = small_disk / "run"
    command = ["finetune", "lenet5", str(data), "--epochs", "2", "--out", str(out), "--export", "keras"]
    result = run_zoo(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("zoo: error:")]
    assert len(errors) == 1 and "disk is full" in errors[0] and "Traceback" not in result.stderr
    assert not list(out.rglob(".partial-*")), "a failed checkpoint left a partial folder"
    assert snapshot(data) == before


def test_a_read_only_output_is_refused_before_training(tmp_path, read_only_disk):
    data = shape_folder(tmp_path / "shapes", per_class=2, size=28)
    result = run_zoo("finetune", "lenet5", str(data), "--out", str(read_only_disk / "run"), cwd=tmp_path)
    assert result.returncode == 2 and "not writable" in result.stderr and "Traceback" not in result.stderr
    assert "epoch" not in result.stdout, "training started before the check"
