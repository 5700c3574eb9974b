"""Run folders: zoo writes only into new, empty or its own folders, never inside the data, one writer at a time."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from zoo.errors import OutputExists, RunLocked
from zoo.results.run_folder import LOCK, MARKER, RunMarker, check_outside, claim, locked, owned, write_atomic

MARK = RunMarker(kind="finetune", model="lenet5", fingerprint={"seed": 0}, version="0.1.0", created="2026-12-01")


def test_new_and_empty_folders_are_claimed_and_marked(tmp_path):
    assert claim(tmp_path / "new" / "run", MARK) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim(empty, MARK) is None
    assert RunMarker.read(tmp_path / "new" / "run") == MARK and RunMarker.read(empty) == MARK


def test_a_users_folder_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExists, match="not a zoo run folder.*notes.txt"):
        claim(tmp_path, MARK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_earlier_run_needs_resume_or_force(tmp_path):
    claim(tmp_path, MARK)
    with pytest.raises(OutputExists, match="earlier finetune run of lenet5.*--resume"):
        claim(tmp_path, MARK)
    assert claim(tmp_path, MARK, resume=True) == MARK
    other = RunMarker(kind="kaggle", model="lenet5")
    with pytest.raises(OutputExists, match="holds a finetune run, not a kaggle run"):
        claim(tmp_path, other, force=True)


def test_resume_of_nothing_yet_starts_the_run_and_says_so(tmp_path):
    said = []
    with owned(tmp_path / "run", MARK, resume=True, force=False, say=said.append):
        assert RunMarker.read(tmp_path / "run") == MARK
    assert "nothing to resume" in said[0]


def test_force_replaces_checkpoints_and_keeps_the_users_files(tmp_path):
    claim(tmp_path, MARK)
    (tmp_path / "checkpoints" / "000001-phase0-epoch1").mkdir(parents=True)
    (tmp_path / "my-notes.txt").write_text("mine")
    claim(tmp_path, MARK, force=True)
    assert not (tmp_path / "checkpoints").exists() and (tmp_path / "my-notes.txt").read_text() == "mine"


def test_an_outer_claim_makes_the_inner_one_a_no_op(tmp_path):
    with owned(tmp_path / "run", MARK, resume=False, force=False):
        with owned(tmp_path / "run", MARK, resume=False, force=False):  # finetune inside the command line's claim
            assert (tmp_path / "run" / LOCK).exists()
    assert not (tmp_path / "run" / LOCK).exists()


def test_a_truncated_marker_is_not_a_marker(tmp_path):
    (tmp_path / MARKER).write_text('{"kind": "fine')
    assert RunMarker.read(tmp_path) is None
    with pytest.raises(OutputExists, match="not a zoo run folder"):
        claim(tmp_path, MARK)


def test_output_inside_the_data_is_refused(tmp_path):
    (tmp_path / "data" / "cats").mkdir(parents=True)
    with pytest.raises(OutputExists, match="inside the data folder"):
        check_outside(tmp_path / "data" / "run", [tmp_path / "data"])
    check_outside(tmp_path / "run", [tmp_path / "data"])


HOLD_LOCK = (
    "import sys, time; from pathlib import Path; from zoo.results.run_folder import locked\n"
    "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)\n"
)


def test_a_second_writer_is_refused_with_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked, match=f"process {holder.pid} on {socket.gethostname()}"):
            with locked(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_the_same_process_may_lock_again_inside(tmp_path):
    with locked(tmp_path):
        with locked(tmp_path):
            assert (tmp_path / LOCK).exists()
        assert (tmp_path / LOCK).exists(), "the inner exit must not release the outer lock"
    assert not (tmp_path / LOCK).exists()


def test_a_dead_processes_lock_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / LOCK).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "x"}))
    said = []
    with locked(tmp_path, say=said.append):
        holder = json.loads((tmp_path / LOCK).read_text())
    assert holder["pid"] == os.getpid() and "no longer running" in said[0]


def test_atomic_write_leaves_the_old_file_when_it_fails(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_text("old")

    def broken_replace(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_run_that_stops_before_writing_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError):
        with owned(tmp_path / "run", MARK, resume=False, force=False):
            raise RuntimeError("the data could not be read")
    assert not (tmp_path / "run").exists()
    with owned(tmp_path / "kept", MARK, resume=False, force=False):
        (tmp_path / "kept" / "report.json").write_text("{}")
    assert (tmp_path / "kept" / "report.json").exists() and (tmp_path / "kept" / MARKER).exists()


def test_a_users_empty_folder_stays_when_the_run_stops_early(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError):
        with owned(tmp_path / "mine", MARK, resume=False, force=False):
            raise RuntimeError("the data could not be read")
    assert (tmp_path / "mine").is_dir()
