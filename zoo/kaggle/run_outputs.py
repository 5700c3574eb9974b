"""What a competition run writes besides its models: oof.csv (out-of-fold predictions) and cv.json (the CV score)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from zoo.kaggle.inputs import RunData
from zoo.kaggle.metrics import Metric
from zoo.kaggle.targets import Target


def cv_summary(metric: Metric, folds: list[dict[str, Any]], oof_score: float) -> dict[str, Any]:
    """The metric per fold, their mean and sample standard deviation, and the metric of all out-of-fold rows."""
    scores = np.asarray([fold["score"] for fold in folds], dtype=np.float64)
    return {
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "folds": folds,
        "mean": float(scores.mean()),
        "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
        "oof": oof_score,
    }


def cv_line(cv: dict[str, Any]) -> str:
    """One line: 'CV accuracy 0.9811 +- 0.0042 over 3 folds (out-of-fold 0.9811)'."""
    return (
        f"CV {cv['metric']} {cv['mean']:.4f} +- {cv['std']:.4f} over {len(cv['folds'])} folds "
        f"(out-of-fold {cv['oof']:.4f})"
    )


def write_cv_json(run_dir: Path, cv: dict[str, Any]) -> Path:
    path = run_dir / "cv.json"
    path.write_text(json.dumps(cv, indent=2) + "\n", encoding="utf-8")
    return path


def output_names(target: Target) -> list[str]:
    """oof.csv's prediction columns: a probability per class or label, or a value per regression column."""
    prefix = "pred_" if target.kind == "regression" else "prob_"
    return [prefix + name for name in target.names]


def write_oof_csv(run_dir: Path, data: RunData, oof: np.ndarray) -> Path:
    """oof.csv: id, fold, the true target as in train.csv, then each fold model's output on the rows it did not see."""
    path, target = run_dir / "oof.csv", data.target
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([data.settings.id_col, "fold", *target.columns, *output_names(target)])
        for row, identifier in enumerate(data.ids):
            truth = [data.table.cells[column][row] for column in target.columns]
            writer.writerow([identifier, int(data.folds[row]), *truth, *(f"{value:.8g}" for value in oof[row])])
    return path
