"""Each kaggle fold says it starts, prints its epoch lines (one per epoch, never a bar in a log) and its time."""

from __future__ import annotations

import re

import pytest
from kaggle_data import read_rows, tabular_competition, write_csv

from zoo.kaggle import predict, train


def fold_lines(printed: str, folds: int) -> list[str]:
    """The lines of each fold, from its `fold k/K: training` line to its `fold k/K: <metric>` line, checked."""
    lines = printed.splitlines()
    blocks = []
    for fold in range(1, folds + 1):
        start = next(i for i, line in enumerate(lines) if line.startswith(f"fold {fold}/{folds}: training on"))
        end = next(i for i, line in enumerate(lines) if i > start and line.startswith(f"fold {fold}/{folds}: "))
        assert re.search(r"\(\d+ epochs, \d+\.\d+s\)$", lines[end]), lines[end]
        blocks.append(lines[start + 1 : end])
    return blocks


@pytest.mark.slow
def test_a_classification_fold_prints_its_epoch_lines(tmp_path, capsys):
    table = tabular_competition(tmp_path / "tabular", count=120)
    train(table.train_csv, id_col="id", target_col="label", folds=2, epochs=2, out=tmp_path / "run")
    printed = capsys.readouterr()
    for block in fold_lines(printed.out, 2):
        epochs = [line for line in block if " epoch " in line]
        assert len(epochs) == 2 and all("val_accuracy" in line for line in epochs), block
        assert not any("image store" in line or "plan" in line.lower() for line in block)  # not finetune's plan
    assert "\r" not in printed.err and "it/s" not in printed.err  # no step bars when stderr is not a terminal


def test_a_regression_fold_prints_its_epoch_lines_with_the_metric(tmp_path, capsys):
    table = tabular_competition(tmp_path / "tabular", count=60)
    header, rows = read_rows(table.train_csv)
    train_csv = write_csv(
        tmp_path / "reg.csv",
        ["id", *header[1:65], "ink"],
        [[row[0], *row[1:65], sum(map(int, row[1:65])) / 100] for row in rows],
    )
    train(train_csv, id_col="id", target_col="ink", folds=2, epochs=1, out=tmp_path / "run")
    for block in fold_lines(capsys.readouterr().out, 2):
        epochs = [line for line in block if " epoch " in line]
        assert epochs and all("val_rmse" in line for line in epochs), block
    predict(tmp_path / "run", test_csv=table.test_csv, out=tmp_path / "s.csv")
    meter = [line for line in capsys.readouterr().err.splitlines() if line.startswith("predicting 2 folds x 1 views")]
    assert meter[-1].startswith("predicting 2 folds x 1 views: 2/2 done in"), meter


@pytest.mark.slow
def test_a_quiet_run_prints_nothing(tmp_path, capsys):
    table = tabular_competition(tmp_path / "tabular", count=120)
    train(table.train_csv, id_col="id", target_col="label", folds=2, epochs=1, out=tmp_path / "run", verbose=False)
    assert capsys.readouterr().out == ""
