"""Blends: weights fitted on out-of-fold predictions, scored nested (calibration and weights fitted without the rows
they score); predict writes the blend."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kaggle_data import read_rows

from zoo.cli.main import main
from zoo.kaggle.submit.blend_weights import select_weights
from zoo.kaggle.task.metrics import metric_named


def test_a_blend_reports_its_nested_score_and_predicts(flipped_runs, tmp_path, capsys):
    out = tmp_path / "blend"
    assert main(["kaggle", "blend", str(flipped_runs.lenet), str(flipped_runs.mlp), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "blend (mean): out-of-fold log_loss" in printed and "(nested: calibration and weights" in printed
    summary = json.loads((out / "blend.json").read_text())
    assert summary["in_sample"]["oof"] <= min(summary["in_sample"]["run_scores"]) + 1e-9  # true only in sample
    assert json.loads((out / "cv.json").read_text())["oof"] == summary["oof"]
    lenet_cv = json.loads((flipped_runs.lenet / "cv.json").read_text())["calibration"]
    if lenet_cv["applied"]:  # the same cross-fitting as the run's own calibration figure
        assert summary["run_scores"][0] == pytest.approx(lenet_cv["log_loss_after"], abs=1e-6)
    assert all(w >= 0 for w in summary["weights"]) and sum(summary["weights"]) == pytest.approx(1)
    competition, submission = flipped_runs.competition, tmp_path / "submission.csv"
    argv = ["kaggle", "predict", "--run", str(out), "--test-csv", str(competition.test_csv)]
    assert main([*argv, "--images", str(competition.test_images), "--out", str(submission), "--quiet"]) == 0
    header, rows = read_rows(submission)
    probabilities = np.array([[float(v) for v in row[1:]] for row in rows])
    assert header[1:] == [str(c) for c in range(10)] and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    truth = np.array([int(label) for label in competition.test_labels])
    assert np.mean(np.argmax(probabilities, axis=1) == truth) >= 0.8


def test_a_blend_needs_two_runs_and_refuses_a_folder_that_is_not_a_run(flipped_runs, tmp_path, capsys):
    assert main(["kaggle", "blend", str(flipped_runs.lenet), "--out", str(tmp_path / "b")]) == 2
    assert "a blend needs two runs or more" in capsys.readouterr().err
    assert main(["kaggle", "blend", str(flipped_runs.lenet), str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert "is not a zoo kaggle run" in capsys.readouterr().err


def test_rank_averaging_blends_two_half_informed_scorers_for_auc():
    rng = np.random.default_rng(0)
    y = rng.integers(2, size=400)
    signal = [y + rng.normal(scale=1.0, size=400) for _ in range(2)]  # independent noise: the mean beats either
    outputs = [np.stack([-s, s], axis=1) for s in signal]
    auc = metric_named("roc_auc")
    weights = select_weights(y, outputs, auc, "rank")
    assert weights.min() > 0.2 and weights.sum() == pytest.approx(1)


def test_the_nested_score_is_not_flattered_by_fitting_on_the_rows_it_scores():
    """Three runs of pure noise: calibrated and blended on the rows it is scored on, the blend looks better than it
    is; nested, it does not. A single run's nested score is its calibration's cross-fitted one."""
    from zoo.kaggle.cv.calibration import calibrate, fit_temperature, scaled
    from zoo.kaggle.submit.blend_weights import RunOOF, combine, nested_scores

    rng = np.random.default_rng(0)
    y, folds = rng.integers(3, size=300), np.arange(300) % 5
    runs = [RunOOF(y, folds, rng.dirichlet(np.ones(3), size=300), True) for _ in range(3)]
    loss = metric_named("log_loss")
    nested, singles = nested_scores(runs, loss, "mean")
    for run, single in zip(runs, singles, strict=True):
        assert single == pytest.approx(calibrate(y, run.raw, folds)["log_loss_after"], abs=1e-6)
    calibrated = [scaled(r.raw, fit_temperature(y, r.raw)) for r in runs]  # every row, as blend() fits its weights
    in_sample = loss.score(y, combine(calibrated, select_weights(y, calibrated, loss, "mean"), "mean"))
    assert in_sample < nested  # fitting the weights on the scored rows flatters the blend
