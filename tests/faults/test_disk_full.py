"""A disk that fills up during `zoo finetune`: one clear line, exit 2, no crash at exit, no partial checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from finetune_data import shape_folder
from folder_snapshots import snapshot

ROOT = Path(__file__).resolve().parents[2]


def run_zoo(*arguments: str, cwd: Path, estimate_room: bool = True) -> subprocess.CompletedProcess:
    """`zoo ARGUMENTS` in a fresh process; estimate_room=False makes the door's free-space estimate zero, as if the
    disk filled up only after the run started (another process writing, a cache growing)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    patch = "" if estimate_room else "p.HEADROOM_BYTES = p.COPIES_OF_THE_WEIGHTS = 0; "
    code = f"import sys, zoo.training.preflight as p, zoo.cli.main as m; {patch}sys.exit(m.main(sys.argv[1:]))"
    command = [sys.executable, "-c", code, *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("zoo: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return errors[0]


def test_a_disk_without_room_for_the_run_is_refused_at_the_door(tmp_path, small_disk):
    data = shape_folder(tmp_path / "shapes", per_class=2, size=28)
    result = run_zoo("finetune", "lenet5", str(data), "--out", str(small_disk / "run"), cwd=tmp_path)
    assert "MB free on its disk, the run needs about" in one_error_line(result)
    assert "epoch" not in result.stdout and not (small_disk / "run").exists()


def test_a_disk_that_fills_during_the_run_is_one_line_with_the_resume_command(tmp_path, small_disk):
    data = shape_folder(tmp_path / "shapes", per_class=6, size=28)
    before = snapshot(data)
    (small_disk / "filler").write_bytes(b"\0" * 300_000)  # what is left cannot hold lenet5's checkpoint and outputs
    out = small_disk / "run"
    command = ["finetune", "lenet5", str(data), "--epochs", "2", "--out", str(out), "--export", "keras"]
    line = one_error_line(run_zoo(*command, cwd=tmp_path, estimate_room=False))
    assert "disk is full" in line and "--resume" in line
    assert not list(out.rglob(".partial-*")), "a failed checkpoint left a partial folder"
    assert snapshot(data) == before


def test_a_read_only_output_is_refused_before_training(tmp_path, read_only_disk):
    data = shape_folder(tmp_path / "shapes", per_class=2, size=28)
    result = run_zoo("finetune", "lenet5", str(data), "--out", str(read_only_disk / "run"), cwd=tmp_path)
    assert "not writable" in one_error_line(result)
    assert "epoch" not in result.stdout, "training started before the check"
