"""Blend weights (greedy selection with replacement, Caruana et al. 2004) and the blend's honest out-of-fold score:
calibration and weights fitted without the rows they score.

Fitting each run's temperature and the blend weights on every out-of-fold row, then scoring the blend on those same
rows, flatters it (in-sample). Here, for each fold k: each run's temperature (where the run applies one) is fitted
on the other folds' rows, the weights are chosen on the other folds' rows, and fold k's rows are blended with them.
The pooled predictions are scored once: the nested out-of-fold score. Each run is scored the same way (its
temperature cross-fitted), so the blend and its runs compare on equal terms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.kaggle.cv.calibration import CALIBRATION_FILE, fit_temperature, scaled
from zoo.kaggle.task.metrics import Metric

ROUNDS = 25  # greedy additions; weights are multiples of 1/ROUNDS at the finest


def ranks(outputs: np.ndarray) -> np.ndarray:
    """Each column's values replaced by their rank scaled to [0, 1] (ties share their mean rank)."""
    from scipy.stats import rankdata

    return (rankdata(outputs, axis=0) - 1) / max(len(outputs) - 1, 1)


def combine(outputs: Sequence[np.ndarray], weights: Sequence[float], method: str) -> np.ndarray:
    """The weighted mean of the runs' outputs (method "mean") or of their ranks ("rank")."""
    parts = [ranks(o) if method == "rank" else np.asarray(o, dtype=np.float64) for o in outputs]
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.stack(parts), axes=1)


def select_weights(y: np.ndarray, outputs: Sequence[np.ndarray], metric: Metric, method: str) -> np.ndarray:
    """Greedy selection with replacement: the pick counts (over the best-scoring prefix) as weights summing to 1."""
    parts = [ranks(o) if method == "rank" else np.asarray(o, dtype=np.float64) for o in outputs]
    counts, best_counts, best_score = np.zeros(len(parts)), None, None
    total = np.zeros_like(parts[0])
    for _ in range(ROUNDS):
        trials = [metric.score(y, (total + part) / (counts.sum() + 1)) for part in parts]
        pick = int(np.argmax(trials) if metric.greater_is_better else np.argmin(trials))
        counts[pick] += 1
        total += parts[pick]
        if metric.better(trials[pick], best_score):
            best_score, best_counts = trials[pick], counts.copy()
    return best_counts / best_counts.sum()


@dataclass(frozen=True)
class RunOOF:
    """One run's oof.csv: encoded targets, each row's fold, its raw (uncalibrated) outputs, whether it calibrates."""

    y: np.ndarray
    folds: np.ndarray
    raw: np.ndarray
    calibrates: bool


def applies_temperature(run_dir: Path, classifies: bool) -> bool:
    """Whether predictions of the run are temperature-scaled (its calibration.json applies a T other than 1)."""
    path = Path(run_dir) / CALIBRATION_FILE
    if not classifies or not path.is_file():
        return False
    return float(json.loads(path.read_text(encoding="utf-8"))["temperature"]) != 1.0


def fold_parts(run: RunOOF, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the other folds' outputs, the held fold's), both scaled by a temperature fitted on the other folds only."""
    if not run.calibrates:
        return run.raw[~held], run.raw[held]
    temperature = fit_temperature(run.y[~held], run.raw[~held])
    return scaled(run.raw[~held], temperature), scaled(run.raw[held], temperature)


def nested_scores(runs: Sequence[RunOOF], metric: Metric, method: str) -> tuple[float, list[float]]:
    """(the blend's nested out-of-fold score, each run's cross-fitted score) over the runs' shared rows and folds."""
    y, folds = runs[0].y, runs[0].folds
    blended = np.zeros(runs[0].raw.shape, dtype=np.float64)
    singles = [np.zeros(run.raw.shape, dtype=np.float64) for run in runs]
    for fold in np.unique(folds):
        held = folds == fold
        parts = [fold_parts(run, held) for run in runs]
        weights = select_weights(y[~held], [other for other, _ in parts], metric, method)
        blended[held] = combine([own for _, own in parts], weights, method)
        for single, (_, own) in zip(singles, parts, strict=True):
            single[held] = own
    return metric.score(y, blended), [metric.score(y, single) for single in singles]
