"""Train one fold: classes through `zoo.training.run.finetune`, multi-label and regression through `fit_by_metric`.

Either way the competition metric, scored on the fold's inner hold-out (never on the rows the fold is scored on),
drives early stopping and the best epoch kept: finetune is given it as `monitor`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from zoo.data import LabelledData
from zoo.data.tensorflow_sources import model_feed
from zoo.kaggle.task.metrics import Metric

if TYPE_CHECKING:
    from zoo.kaggle.task.inputs import RunData

PREDICT_BATCH = 128  # inference only: larger batches than training are fine


@dataclass
class FoldFit:
    """A trained fold: its model, its out-of-fold outputs and score, and how the training went."""

    model: keras.Model
    outputs: np.ndarray  # (out-of-fold rows, outputs): probabilities or values
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
    run: RunData,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    scored: tuple[np.ndarray, np.ndarray],
    *,
    seed: int,
    say: Callable[[str], None],
) -> FoldFit:
    """Train `model` on `data` (training rows, then the inner hold-out its epochs are chosen on; one line per epoch
    to `say`), then score it on the out-of-fold rows `scored` (x, y), which play no part in training."""
    from zoo.data.progress import silent
    from zoo.kaggle.cv.metric_fit import fit_by_metric

    target, metric, settings = run.target, run.metric, run.settings
    x_train, y_train, x_val, y_val = data
    started = time.perf_counter()
    if settings.zero_shot:  # the model already scores the class names: nothing to train
        history, epochs = {}, 0
    elif target.classifies:
        from zoo.training.run import finetune

        train, val = (
            LabelledData(x, y, target.names, None, (), "fold") for x, y in ((x_train, y_train), (x_val, y_val))
        )
        common = {"epochs": settings.epochs, "batch_size": settings.batch_size, "augment": settings.augment}
        options = {"patience": settings.patience, "monitor": metric, **finetune_options(metric)}
        verbose = "epochs" if say is not silent else False  # the fold's epoch lines, not its plan and summary
        result = finetune(model, train, validation=val, verbose=verbose, seed=seed, **common, **options)
        model, history = result.model, result.history
        epochs = len(history.get("loss", []))
    else:
        best, _ = fit_by_metric(model, run, data, seed, say)
        history, epochs = best.history, best.epochs
    x_scored, y_scored = scored
    outputs = model.predict(model_feed(x_scored, PREDICT_BATCH), batch_size=PREDICT_BATCH, verbose=0)
    return FoldFit(model, outputs, metric.score(y_scored, outputs), epochs, time.perf_counter() - started, history)
