"""What a competition run writes besides its models: oof.csv (out-of-fold predictions) and cv.json (the CV score)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.kaggle.cv.inner_holdout import INNER_SHARE
from zoo.kaggle.task.inputs import RunData
from zoo.kaggle.task.metrics import Metric
from zoo.kaggle.task.targets import Target
from zoo.results.run_folder import write_json, write_rows

EPOCHS_CHOSEN_ON = f"inner hold-outs ({INNER_SHARE:.1%} of each fold's training rows)"


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
        "epochs_chosen_on": EPOCHS_CHOSEN_ON,
    }


def cv_line(cv: dict[str, Any]) -> str:
    """One line: 'CV accuracy 0.9811 +- 0.0042 over 3 folds (out-of-fold 0.9811; ...)', saying where each fold's
    epochs were chosen (runs written before the inner hold-out chose them on the rows they scored)."""
    chosen = cv.get("epochs_chosen_on", "each fold's own out-of-fold rows: optimistic")
    return (
        f"CV {cv['metric']} {cv['mean']:.4f} +- {cv['std']:.4f} over {len(cv['folds'])} folds "
        f"(out-of-fold {cv['oof']:.4f}; epochs chosen on {chosen})"
    )


def write_cv_json(run_dir: Path, cv: dict[str, Any]) -> Path:
    return write_json(run_dir / "cv.json", cv)


def output_names(target: Target) -> list[str]:
    """oof.csv's prediction columns: a probability per class or label, or a value per regression column."""
    prefix = "pred_" if target.kind == "regression" else "prob_"
    return [prefix + name for name in target.names]


def write_oof_csv(run_dir: Path, data: RunData, oof: np.ndarray) -> Path:
    """oof.csv: id, fold, the true target as in train.csv, then each fold model's output on the rows it did not see."""
    target = data.target
    header = [data.settings.id_name, "fold", *target.columns, *output_names(target)]
    rows = (
        [identifier, int(data.folds[row]), *(data.table.cells[column][row] for column in target.columns)]
        + [f"{value:.8g}" for value in oof[row]]
        for row, identifier in enumerate(data.ids)
    )
    return write_rows(run_dir / "oof.csv", header, rows)


def class_extras(run_dir: Path, data: RunData, oof: np.ndarray, say: Any) -> dict[str, Any]:
    """For class targets: the temperature that calibrates the probabilities (calibration.json) and the rows whose
    labels look wrong (suspect_labels.csv, and suspect_labels.png for images); what cv.json records of them."""
    from zoo.kaggle.cv.calibration import CALIBRATION_FILE, calibrate, calibration_line
    from zoo.kaggle.cv.suspects import GRID_FILE, SUSPECTS_FILE, rank_suspects, write_grid, write_suspects

    if not data.target.classifies:
        return {}
    calibration = calibrate(data.y, oof, data.folds)
    write_json(run_dir / CALIBRATION_FILE, calibration)
    found = rank_suspects(data.y, oof)
    names = data.target.names
    write_suspects(run_dir / SUSPECTS_FILE, data.settings.id_name, data.ids, names, found)
    grid = write_grid(run_dir / GRID_FILE, data.files, names, found) if data.files else None
    say(f"calibration: {calibration_line(calibration)}")
    written = SUSPECTS_FILE + (f" and {GRID_FILE}" if grid else "")
    flagged = int(found.flagged.sum())
    say(f"{flagged} rows whose label the other folds' models doubt (all rows ranked): {written}")
    return {"calibration": calibration, "suspect_labels": flagged}
