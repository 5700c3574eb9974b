"""Training for heads finetune does not build (sigmoid multi-label, linear regression), stopped by the metric.

After every epoch the competition metric is computed on the fold's inner hold-out (rows of its training folds); the
best weights are kept and training stops after `patience` epochs without improvement. A backbone trains its new head
on the frozen trunk first, then every layer at a tenth of the rate, BatchNorm statistics pinned throughout
(zoo.training.freezing); a recipe trains all its layers in one phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from zoo.data.tensorflow_sources import model_feed
from zoo.kaggle.task.metrics import Metric
from zoo.training.faults import EpochLine
from zoo.training.feature_cache import Targets, batches
from zoo.training.freezing import backbone_parts, kept_trainable_flags, set_trainable
from zoo.training.phase_fit import augmenter_for
from zoo.training.phases import SCRATCH_EPOCHS, compiled_learning_rate, split_epochs
from zoo.training.plan import choose_augmentation

if TYPE_CHECKING:
    from zoo.kaggle.task.inputs import RunData

HEAD_LR = 1e-3
TUNE_FRACTION = 0.1  # the whole backbone trains at a tenth of the head's rate: small steps keep pretrained features
LOSSES = {"multilabel": "binary_crossentropy", "regression": "mean_squared_error"}


@dataclass
class BestWeights:
    """The best validation score seen so far (across phases) and the model's weights at that moment."""

    metric: Metric
    score: float | None = None
    weights: list[np.ndarray] | None = None
    epochs: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)


class MetricEarlyStopping(keras.callbacks.Callback):
    """Scores `model` on the validation rows after each epoch; records the best weights, stops when it stalls."""

    def __init__(self, model: keras.Model, x: np.ndarray, y: np.ndarray, best: BestWeights, patience: int, batch: int):
        super().__init__()
        self.scored, self.x, self.y, self.best, self.patience, self.batch = model, x, y, best, patience, batch
        self.waited = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        outputs = self.scored.predict(model_feed(self.x, self.batch), batch_size=self.batch, verbose=0)
        score = self.best.metric.score(self.y, outputs)
        if logs is not None:
            logs[f"val_{self.best.metric.name}"] = score  # the epoch's line shows it
        self.best.epochs += 1
        for key, value in {**(logs or {}), f"val_{self.best.metric.name}": score}.items():
            self.best.history.setdefault(key, []).append(float(value))
        if self.best.metric.better(score, self.best.score):
            self.best.score, self.best.weights, self.waited = score, self.scored.get_weights(), 0
        else:
            self.waited += 1
            self.model.stop_training = self.waited >= self.patience


def phases(model: keras.Model, epochs: int | None) -> list[tuple[str, int, float]]:
    """(what trains, epochs, learning rate) per phase: head then all for a backbone, all at once for a recipe."""
    if backbone_parts(model) is None:
        return [("all", epochs or SCRATCH_EPOCHS, compiled_learning_rate(model) or HEAD_LR)]
    head, tune = split_epochs(epochs, True)
    return [("head", head, HEAD_LR), ("all", tune, HEAD_LR * TUNE_FRACTION)]


def trainer_for(model: keras.Model, augment: bool | str, seed: int) -> keras.Model:
    """The model behind training-only augmentation (finetune's choice for this input), sharing its layers."""
    augmentation, _ = choose_augmentation(model, augment)
    augmenter = augmenter_for(augmentation, seed)
    if augmenter is None:
        return model
    image = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(image, model(augmenter(image)), name="trainer")


def fit_by_metric(
    model: keras.Model,
    run: RunData,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    seed: int,
    say: Callable[[str], None],
) -> tuple[BestWeights, float]:
    """Train `model` in place (epochs, batch size, patience and augmentation from the run's settings; one line per
    epoch to `say`), ending on its best weights; returns the record of the best epoch and the seconds."""
    kind, metric, settings = run.target.kind, run.metric, run.settings
    x_train, y_train, x_val, y_val = data
    batch_size, best, started = settings.batch_size, BestWeights(metric), time.perf_counter()
    trainer = trainer_for(model, settings.augment, seed)
    with kept_trainable_flags(model):
        for train, count, rate in phases(model, settings.epochs):
            if count == 0:
                continue
            set_trainable(model, train, pin_batchnorm=True)
            trainer.compile(optimizer=keras.optimizers.Adam(rate), loss=LOSSES[kind])
            stopper = MetricEarlyStopping(model, x_val, y_val, best, settings.patience, batch_size * 2)
            line = EpochLine(f"phase {train}", count, say)  # after the stopper, whose score it shows
            inputs = fit_inputs(x_train, y_train, batch_size, seed)
            trainer.fit(**inputs, epochs=count, callbacks=[stopper, line], verbose=0)
            model.set_weights(best.weights)  # the next phase (and the saved model) starts from the best epoch
    return best, time.perf_counter() - started


def fit_inputs(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> dict[str, Any]:
    """`fit`'s data: arrays in memory as they are; images of the on-disk store as shuffled batches read from it
    (Keras' array adapter would copy the whole memory map into one tensor; they come shuffled, so fit must not try)."""
    if not isinstance(x, np.memmap):
        return {"x": x, "y": y, "batch_size": batch_size}
    targets = Targets(y, y.shape[-1] if y.ndim > 1 else 1, multilabel=True)  # rows as they are, one batch at a time
    return {"x": batches(x[np.newaxis], targets, batch_size=batch_size, shuffle=True, seed=seed), "shuffle": False}
