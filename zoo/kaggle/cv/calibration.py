"""Temperature scaling for log loss: one number T fitted on the out-of-fold probabilities, p -> softmax(log p / T).

T > 1 softens over-confident probabilities, T < 1 sharpens timid ones; the arg-max (accuracy, F1, kappa) and the
order of a binary probability (ROC AUC) do not change, so predict applies it whatever the metric. Guo et al. 2017,
"On Calibration of Modern Neural Networks"; the after-score in cv.json is cross-fitted (T fitted on the other folds'
rows, scored on each fold's), so it is not flattered by fitting T on the rows it scores. A T whose cross-fitted
score is no better than the raw one (weak or few folds) is recorded but not applied: the saved temperature is 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from zoo.kaggle.task.metrics import CLIP

CALIBRATION_FILE = "calibration.json"
BOUNDS = (0.05, 20.0)  # temperatures beyond these mean the outputs carry no usable confidence


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of log-probabilities divided by `temperature` (1 returns the probabilities, renormalised)."""
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), CLIP, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def mean_log_loss(y: np.ndarray, probabilities: np.ndarray) -> float:
    picked = np.clip(probabilities[np.arange(len(y)), y], CLIP, 1.0)
    return float(-np.mean(np.log(picked)))


def fit_temperature(y: np.ndarray, probabilities: np.ndarray) -> float:
    """The T in BOUNDS that minimises the log loss of `probabilities` (rows of class probabilities) on labels `y`."""
    from scipy.optimize import minimize_scalar

    low, high = np.log(BOUNDS)
    found = minimize_scalar(
        lambda log_t: mean_log_loss(y, scaled(probabilities, float(np.exp(log_t)))),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(found.x))


def calibrate(y: np.ndarray, oof: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    """calibration.json: T fitted on every out-of-fold row, and the log loss before and after (cross-fitted)."""
    after = np.zeros_like(oof, dtype=np.float64)
    for fold in np.unique(folds):
        held = folds == fold
        after[held] = scaled(oof[held], fit_temperature(y[~held], oof[~held]))
    before, cross_fitted = mean_log_loss(y, scaled(oof, 1.0)), mean_log_loss(y, after)
    fitted = round(fit_temperature(y, oof), 6)
    helps = cross_fitted < before  # else a T fitted on some folds does not carry to the others: keep T = 1
    return {
        "method": "temperature",
        "temperature": fitted if helps else 1.0,
        "fitted_temperature": fitted,
        "applied": helps,
        "log_loss_before": before,
        "log_loss_after": cross_fitted,
    }


def calibration_line(calibration: dict[str, Any]) -> str:
    losses = f"out-of-fold log loss {calibration['log_loss_before']:.4f} -> {calibration['log_loss_after']:.4f}"
    if not calibration.get("applied", True):  # runs written before "applied" existed always applied theirs
        return f"temperature {calibration['fitted_temperature']:.3f} not applied: {losses} (cross-fitted) is no better"
    return f"temperature {calibration['temperature']:.3f}: {losses} (cross-fitted)"


def apply_saved(run_dir: Path, classifies: bool, outputs: np.ndarray) -> np.ndarray:
    """`outputs` scaled by the temperature saved in the run (class targets); unchanged for runs without one."""
    path = Path(run_dir) / CALIBRATION_FILE
    if not classifies or not path.is_file():
        return outputs
    return scaled(outputs, float(json.loads(path.read_text(encoding="utf-8"))["temperature"]))
