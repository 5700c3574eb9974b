"""A damaged checkpoint met by `zoo finetune --resume`: one line naming the file and the way on, exit 2, nothing
changed; never a traceback, never a resume from wrong weights."""

from __future__ import annotations

import pytest
from finetune_data import shape_folder
from folder_snapshots import snapshot
from test_disk_full import one_error_line, run_zoo

from zoo.training.checkpoints import CheckpointFolder


@pytest.mark.slow  # two zoo processes that import TensorFlow and train (tests/training/test_faults.py: in-process)
def test_a_damaged_checkpoint_on_resume_is_one_line_exit_2_and_changes_nothing(tmp_path):
    data = shape_folder(tmp_path / "shapes", per_class=4, size=28)
    out = tmp_path / "run"
    command = ["finetune", "lenet5", str(data), "--epochs", "1", "--out", str(out), "--export", "keras"]
    assert run_zoo(*command, cwd=tmp_path).returncode == 0
    (newest,) = CheckpointFolder(out).saved()
    weights = newest.folder / "model.weights.npz"
    with open(weights, "r+b") as handle:  # one byte flipped, size kept: only the seal can tell
        handle.seek(-100, 2)
        byte = handle.read(1)
        handle.seek(-100, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    before = snapshot(out)
    line = one_error_line(run_zoo(*command, "--resume", cwd=tmp_path))
    assert str(weights) in line and "re-train" in line, line
    assert snapshot(out) == before
