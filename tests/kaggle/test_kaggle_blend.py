"""Blends: weights fitted on out-of-fold predictions score at least the best single run; predict writes the blend.

Measured (seed 0, 450 digit images with 2% flipped labels, 3 folds x 4 epochs, calibrated): LeNet-5 out-of-fold log
loss 0.330, mlp_digits 0.578, blend (weights 0.955 / 0.045) 0.321.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from kaggle_data import read_rows

from zoo.cli.main import main
from zoo.kaggle.submit.blend import select_weights
from zoo.kaggle.task.metrics import metric_named


def test_a_blend_scores_at_least_the_best_single_run_and_predicts(flipped_runs, tmp_path, capsys):
    out = tmp_path / "blend"
    assert main(["kaggle", "blend", str(flipped_runs.lenet), str(flipped_runs.mlp), "--out", str(out)]) == 0
    assert "blend (mean): out-of-fold log_loss" in capsys.readouterr().out
    summary = json.loads((out / "blend.json").read_text())
    assert summary["oof"] <= min(summary["run_scores"]) + 1e-9
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
