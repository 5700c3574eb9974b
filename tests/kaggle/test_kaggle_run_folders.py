"""zoo kaggle writes only into its own folders: new, empty or marked runs; never among a user's files, never inside
the images; a second writer is refused; --force removes only what zoo wrote."""

from __future__ import annotations

import json
import os

import pytest
from kaggle_data import tabular_competition

from zoo.errors import OutputExists, RunLocked
from zoo.kaggle import train
from zoo.kaggle.task.run_folders import check_folder, take_folder
from zoo.results.run_folder import LOCK, MARKER


def test_check_folder_refuses_a_users_folder_and_the_images_folder(tmp_path):
    assert check_folder(tmp_path / "new", "kaggle", {"folds": 5}, False, []) is False
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "cv.json").write_text("{}")  # the user's own cv.json
    with pytest.raises(OutputExists, match="not a zoo run folder: it holds 1 file.*cv.json"):
        check_folder(tmp_path / "mine", "kaggle", {}, True, [])
    (tmp_path / "images").mkdir()
    with pytest.raises(OutputExists, match="inside the data folder"):
        check_folder(tmp_path / "images" / "run", "kaggle", {}, False, [tmp_path / "images"])


def test_other_settings_need_force_which_removes_only_zoos_files(tmp_path):
    run = tmp_path / "run"
    take_folder(run, "kaggle", "lenet5", {"folds": 5}, print)
    assert check_folder(run, "kaggle", {"folds": 5}, False, []) is True  # the same settings: replaced in place
    with pytest.raises(OutputExists, match=r"other settings \(folds 5 -> 3\): pass another --out, or --force"):
        check_folder(run, "kaggle", {"folds": 3}, False, [])
    with pytest.raises(OutputExists, match="holds a kaggle run, not a kaggle-blend run"):
        check_folder(run, "kaggle-blend", {"folds": 5}, True, [])
    (run / "fold_0").mkdir()
    for name in ("cv.json", "oof.csv", "fold_0/model.keras", "notes.txt", "fold_0/my_plot.png"):
        (run / name).write_text("x")
    take_folder(run, "kaggle", "lenet5", {"folds": 3}, print)
    left = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    assert left == sorted(["fold_0/my_plot.png", MARKER, "notes.txt"])
    assert json.loads((run / MARKER).read_text())["fingerprint"] == {"folds": 3}


def test_train_refuses_a_foreign_folder_and_a_second_writer(tmp_path):
    table = tabular_competition(tmp_path / "tabular", count=100)
    options = {"id_col": "id", "target_col": "label", "folds": 2, "epochs": 1, "verbose": False}
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "oof.csv").write_text("the user's")
    with pytest.raises(OutputExists, match="not a zoo run folder"):
        train(table.train_csv, out=tmp_path / "mine", force=True, **options)
    assert (tmp_path / "mine" / "oof.csv").read_text() == "the user's"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / LOCK).write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename, "started": "now"}))
    with pytest.raises(RunLocked, match="being written by process"):
        train(table.train_csv, out=busy, **options)
