"""Near-duplicates: a re-encoded or brightened copy is found within train and across train/test, different digits
are not; `zoo doctor --test-images` reports both; k-fold keeps a group of near-copies in one fold."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from zoo.cli.main import main
from zoo.data.decoding.near_duplicates import duplicate_groups, fingerprints, near_duplicates
from zoo.kaggle.task.folds import assign_folds, merged_groups
from zoo.kaggle.task.targets import Target


def digit_files(folder, count: int) -> list[str]:
    """`count` digits as 32x32 PNG files in class folders (digit_<label>/)."""
    digits = load_digits()
    files = []
    for i in range(count):
        grey = Image.fromarray((digits.images[i] * (255 / 16)).astype(np.uint8)).resize((32, 32), Image.BILINEAR)
        path = folder / f"digit_{digits.target[i]}" / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        grey.save(path)
        files.append(str(path))
    return files


def test_copies_are_found_and_different_digits_are_not(tmp_path):
    files = digit_files(tmp_path / "train", 60)
    with Image.open(files[0]) as image:
        image.convert("RGB").save(tmp_path / "train" / "digit_0" / "copy.jpg", quality=90)
        image.point(lambda v: min(255, v + 3)).save(tmp_path / "test.png")
    copy, test = str(tmp_path / "train" / "digit_0" / "copy.jpg"), str(tmp_path / "test.png")
    found = near_duplicates([*files, copy], [test])
    assert found["within_train"] == [[files[0], copy]]
    assert found["train_test"] == [[files[0], test], [copy, test]]
    groups = duplicate_groups(fingerprints(files))
    assert len(np.unique(groups)) == len(files)  # 60 different digits: no group


def test_doctor_reports_near_duplicates_and_train_test_leakage(tmp_path, capsys):
    files = digit_files(tmp_path / "train", 30)
    with Image.open(files[3]) as image:
        image.save(tmp_path / "train" / files[3].split("/")[-2] / "again.png")
        (tmp_path / "test").mkdir()
        image.save(tmp_path / "test" / "t1.png")
    main(["doctor", str(tmp_path / "train"), "--test-images", str(tmp_path / "test"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert [len(group) for group in report["near_duplicates"]["within_train"]] == [2]
    assert len(report["near_duplicates"]["train_test"]) == 2  # both copies nearly copy the test image
    main(["doctor", str(tmp_path / "train"), "--test-images", str(tmp_path / "test")])
    assert "train images nearly copying a test image (2; leakage)" in capsys.readouterr().out


def test_kfold_keeps_near_duplicates_and_named_groups_together():
    merged = merged_groups([np.array([0, 1, 2, 3, 4, 5, 6, 7]), ["a", "a", "b", "c", "d", "e", "f", "g"]], 8)
    assert merged is not None and merged[0] == merged[1] and len(np.unique(merged)) == 7
    linked = merged_groups([[0, 0, 1, 2, 3, 4, 5, 5], ["a", "b", "b", "c", "d", "e", "f", "g"]], 8)
    assert linked[0] == linked[1] == linked[2] and linked[6] == linked[7]  # joined through row 1's two groups
    assert merged_groups([np.arange(8)], 8) is None and merged_groups([], 8) is None
    target = Target("multiclass", ("label",), ("0", "1"))
    y = np.array([0, 1] * 10)
    groups = merged_groups([np.r_[[0, 0, 0], np.arange(3, 20)]], 20)
    folds = assign_folds(target, y, 4, seed=0, groups=groups)
    assert len(set(folds[:3].tolist())) == 1
