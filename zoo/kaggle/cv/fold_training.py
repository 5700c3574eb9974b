"""Train one fold: classes through `zoo.training.run.finetune`, multi-label and regression through `fit_by_metric`.

Either way the competition metric drives early stopping and the best epoch kept: finetune is given it as `monitor`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from zoo.data import LabelledData
from zoo.kaggle.task.metrics import Metric
from zoo.kaggle.task.run_config import RunSettings
from zoo.kaggle.task.targets import Target

PREDICT_BATCH = 128  # inference only: larger batches than training are fine


@dataclass
class FoldFit:
    """A trained fold: its model, its validation outputs and score, and how the training went."""

    model: keras.Model
    outputs: np.ndarray  # (validation rows, outputs): probabilities or values
    score: float
    epochs: int
    seconds: float
    history: dict[str, list[float]]


def finetune_options(metric: Metric) -> dict[str, Any]:
    """finetune settings the metric calls for: no label smoothing when probabilities are scored (it miscalibrates
    them on purpose), balanced class weights only for macro F1 (they trade accuracy for rare-class recall)."""
    options: dict[str, Any] = {"class_weighting": metric.name == "f1_macro"}
    if metric.name == "log_loss":
        options["label_smoothing"] = 0.0
    return options


def train_fold(
    model: keras.Model,
    target: Target,
    metric: Metric,
    settings: RunSettings,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    seed: int,
) -> FoldFit:
    """Train `model` on the fold's training rows, score it on its validation rows."""
    from zoo.kaggle.cv.metric_fit import fit_by_metric

    x_train, y_train, x_val, y_val = data
    started = time.perf_counter()
    if target.classifies:
        from zoo.training.run import finetune

        train, val = (
            LabelledData(x, y, target.names, None, (), "fold") for x, y in ((x_train, y_train), (x_val, y_val))
        )
        common = {"epochs": settings.epochs, "batch_size": settings.batch_size, "augment": settings.augment}
        options = {"patience": settings.patience, "monitor": metric, **finetune_options(metric)}
        result = finetune(model, train, validation=val, verbose=False, seed=seed, **common, **options)
        model, history = result.model, result.history
        epochs = len(history.get("loss", []))
    else:
        best, _ = fit_by_metric(model, target.kind, metric, data, settings, seed)
        history, epochs = best.history, best.epochs
    outputs = model.predict(x_val, batch_size=PREDICT_BATCH, verbose=0)
    return FoldFit(model, outputs, metric.score(y_val, outputs), epochs, time.perf_counter() - started, history)
