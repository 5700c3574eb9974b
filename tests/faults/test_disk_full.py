"""A disk that fills up during `zoo finetune`: one clear line, exit 2, no crash at exit, no partial checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from finetune_data import shape_folder
from folder_snapshots import snapshot

from zoo.training.checkpoints import CheckpointFolder

ROOT = Path(__file__).resolve().parents[2]


# Run in the child after its first checkpoint: fill the disk of --out, leaving LEAVE bytes (as another process would).
FILL_AFTER_FIRST_CHECKPOINT = """
import zoo.training.checkpoints as c
save = c.CheckpointFolder.save
def fill(folder, leave):
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(bytes(2**16)); handle.flush()
        except OSError:
            pass
    with open(folder / "filler", "r+b") as handle:
        handle.truncate(max(0, handle.seek(0, 2) - leave))
def saved_then_full(self, *args, **kwargs):
    final = save(self, *args, **kwargs)
    if not (self.root.parent.parent / "filler").exists():
        fill(self.root.parent.parent, LEAVE)
    return final
c.CheckpointFolder.save = saved_then_full
"""


def run_zoo(
    *arguments: str, cwd: Path, estimate_room: bool = True, fill_leaving: int | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`zoo ARGUMENTS` in a fresh process; estimate_room=False makes the door's free-space estimate zero, as if the
    disk filled up only after the run started (another process writing, a cache growing); fill_leaving fills the
    disk of --out right after the first checkpoint, leaving that many bytes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    patch = "" if estimate_room else "p.HEADROOM_BYTES = p.COPIES_OF_THE_WEIGHTS = 0; "
    if fill_leaving is not None:
        patch += f"exec({FILL_AFTER_FIRST_CHECKPOINT.replace('LEAVE', str(fill_leaving))!r}); "
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


# no room to create a file (HDF5's message was two lines); room to start writing one (a segfault, rc 139)
LEAVES = [pytest.param(0, marks=pytest.mark.slow), 8_000, pytest.param(40_000, marks=pytest.mark.slow)]


@pytest.mark.parametrize("leave", LEAVES)
def test_a_disk_that_fills_after_the_first_checkpoint_keeps_it_and_exits_with_one_line(tmp_path, roomy_disk, leave):
    """A full disk mid-write was a segfault (rc 139) from HDF5 at exit, the partial folder and the lock left."""
    data = shape_folder(tmp_path / "shapes", per_class=6, size=28)
    out = roomy_disk / "run"
    command = ["finetune", "lenet5", str(data), "--epochs", "3", "--out", str(out), "--export", "keras"]
    result = run_zoo(*command, cwd=tmp_path, estimate_room=False, fill_leaving=leave)
    line = one_error_line(result)
    assert "disk is full" in line and f"--out {out}" in line and line.endswith("--resume"), line
    assert not list(out.rglob(".partial-*")) and not (out / ".zoo-run.lock").exists()
    (first,) = CheckpointFolder(out).saved()  # the checkpoint written before the disk filled, still readable
    assert (first.phase, first.epoch) == (0, 1)


def fill(folder: Path, leave: int) -> None:
    """Fill `folder`'s disk, leaving about `leave` bytes."""
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(bytes(2**16))
                handle.flush()
        except OSError:
            pass
        handle.truncate(max(0, handle.tell() - leave))


def test_an_image_store_on_a_disk_that_filled_after_its_check_is_one_line(tmp_path, small_disk):
    """Decoding into a memory map on a full disk was a SIGBUS (rc 135): its blocks are now allocated first."""
    data = shape_folder(tmp_path / "shapes", per_class=6, size=28)
    fill(small_disk, leave=8_000)  # room to create the file, not to fill it
    stores = small_disk / "stores"
    code = (
        "import sys, zoo.data.decoding.store as s, zoo.cli.main as m; s.require_room = lambda *a: 10**12; "
        "sys.exit(m.main(sys.argv[1:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "ZOO_IMAGE_STORE": str(stores)}
    command = [sys.executable, "-c", code, "finetune", "lenet5", str(data), "--out", str(tmp_path / "run")]
    line = one_error_line(subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600))
    assert "disk is full" in line and str(stores) in line, line
    assert not list(stores.rglob("*.partial-*"))
