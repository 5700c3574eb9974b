"""`zoo predict RUN` and `zoo kaggle predict --run RUN` give the same probabilities: fold averaging, the run's
calibration and a blend's weights are applied by one path (zoo.kaggle.submit.sources) for both."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from zoo.cli.main import main
from zoo.kaggle import blend, predict

TEST_IMAGES = 12


def by_zoo_predict(capsys, run, files) -> dict[str, dict[str, float]]:
    """file stem -> {class: probability} as `zoo predict RUN FILES --json --top 10` prints them."""
    assert main(["predict", str(run), *map(str, files), "--json", "--top", "10"]) == 0
    rows = json.loads(capsys.readouterr().out)
    return {row["path"].rsplit("/", 1)[-1][:-4]: {t["label"]: t["probability"] for t in row["top"]} for row in rows}


def by_kaggle_predict(run, test_csv, images, out) -> dict[str, dict[str, float]]:
    """id -> {class: probability} from the submission `zoo kaggle predict` writes (one column per class)."""
    predict(run, test_csv=test_csv, images=images, out=out, verbose=False)
    with open(out, newline="") as handle:
        return {row.pop("id"): {k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)}


def assert_same(first: dict, second: dict) -> float:
    """The largest difference between two id -> {class: probability} tables over the same ids and classes."""
    assert first.keys() == second.keys()
    worst = max(abs(first[i][c] - second[i][c]) for i in first for c in first[i])
    assert worst < 1e-5, worst
    return worst


@pytest.fixture(scope="module")
def calibrated_run(flipped_runs, tmp_path_factory):
    """A copy of the lenet run with a strong temperature, so that a path skipping calibration cannot pass."""
    run = tmp_path_factory.mktemp("one-path") / "lenet"
    shutil.copytree(flipped_runs.lenet, run)
    saved = json.loads((run / "calibration.json").read_text())
    (run / "calibration.json").write_text(json.dumps(saved | {"temperature": 3.0, "applied": True}))
    return run


def test_zoo_predict_applies_a_kaggle_runs_calibration_as_kaggle_predict_does(
    capsys, flipped_runs, calibrated_run, tmp_path
):
    competition = flipped_runs.competition
    ids = competition.test_ids[:TEST_IMAGES]
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("id\n" + "".join(f"{i}\n" for i in ids))
    files = [competition.test_images / f"{i}.png" for i in ids]
    kaggle = by_kaggle_predict(calibrated_run, test_csv, competition.test_images, tmp_path / "submission.csv")
    assert_same(by_zoo_predict(capsys, calibrated_run, files), kaggle)
    uncalibrated = by_zoo_predict(capsys, flipped_runs.lenet, files)  # T = 3 changes the answers: the test can fail
    assert max(abs(uncalibrated[i][c] - kaggle[i][c]) for i in kaggle for c in kaggle[i]) > 0.01


def test_zoo_predict_of_a_blend_is_the_blend_kaggle_predict_submits(capsys, flipped_runs, calibrated_run, tmp_path):
    competition = flipped_runs.competition
    ids = competition.test_ids[:TEST_IMAGES]
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("id\n" + "".join(f"{i}\n" for i in ids))
    mixed = tmp_path / "blend"
    blend([calibrated_run, flipped_runs.mlp], out=mixed, verbose=False)
    files = [competition.test_images / f"{i}.png" for i in ids]
    kaggle = by_kaggle_predict(mixed, test_csv, competition.test_images, tmp_path / "submission.csv")
    assert_same(by_zoo_predict(capsys, mixed, files), kaggle)
    assert np.isclose(sum(kaggle[ids[0]].values()), 1.0, atol=1e-4)
