"""The learning-rate range test: raise the rate exponentially batch by batch, watch the loss, suggest a rate.

It trains what phase 1 of the fine-tuning plan trains (the head on cached trunk features for a backbone, every layer
for a recipe) on the model itself, then puts its weights and trainable flags back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo.data.progress import progress_meter
from zoo.errors import BadOverride
from zoo.training.discriminative_lr import DiscriminativeAdam
from zoo.training.feature_cache import batches
from zoo.training.freezing import kept_trainable_flags
from zoo.training.inputs import LoaderOptions, as_labelled, head_for, input_spec, model_inputs
from zoo.training.phase_fit import augmenter_for, phase_arrays, phase_loss, phase_setup, targets
from zoo.training.plan import make_plan
from zoo.training.seeding import seed_everything

SMOOTHING = 0.98  # exponential moving average of the loss (bias-corrected), as in fastai's lr_find
DIVERGED = 4.0  # stop when the smoothed loss exceeds this many times its best
SWEEP_METER_STEPS = 20  # a sweep of fewer batches ends before progress lines would help


@dataclass(frozen=True)
class LRFindResult:
    """The sweep (rates and smoothed losses, in step order) and the suggested learning rate with how it was chosen."""

    lrs: list[float]
    losses: list[float]
    suggestion: float
    method: str  # "steepest descent" or "minimum / 10"
    stopped: str  # why the sweep ended
    plot_path: Path | None = None

    def plot(self, path: str | Path) -> Path:
        """Save loss against learning rate (log scale), suggestion marked, as a PNG (Agg, no window)."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        axes.plot(self.lrs, self.losses)
        axes.set_xscale("log")
        axes.axvline(self.suggestion, color="tab:red", linestyle="--", label=f"suggested {self.suggestion:.2e}")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("loss (smoothed)")
        axes.set_title(f"learning-rate range test ({self.method})")
        axes.legend()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
        return path


class RangeTest(keras.callbacks.Callback):
    """Sets an exponentially growing learning rate before each step and records the smoothed loss after it.

    Each step runs as a one-batch epoch: Keras logs a batch's loss as the running mean of the epoch so far.
    """

    def __init__(self, start_lr: float, end_lr: float, steps: int, progress: bool = False) -> None:
        super().__init__()
        self.rates = np.geomspace(start_lr, end_lr, steps)
        self.meter = progress_meter(steps, "learning-rate sweep", enabled=progress, min_items=SWEEP_METER_STEPS)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.average, self.best, self.stopped = 0.0, math.inf, "reached the end of the sweep"

    def on_epoch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate.assign(float(self.rates[batch]))

    def on_train_end(self, logs: dict | None = None) -> None:
        self.meter.close()

    def on_epoch_end(self, batch: int, logs: dict | None = None) -> None:
        self.meter.update(1)
        loss = float((logs or {}).get("loss", math.nan))
        if not math.isfinite(loss):
            self.stopped, self.model.stop_training = f"the loss became {loss} at step {batch + 1}", True
            return
        self.average = SMOOTHING * self.average + (1 - SMOOTHING) * loss
        smoothed = self.average / (1 - SMOOTHING ** (batch + 1))
        self.lrs.append(float(self.rates[batch]))
        self.losses.append(smoothed)
        self.best = min(self.best, smoothed)
        if smoothed > DIVERGED * self.best and batch > 0:
            self.stopped, self.model.stop_training = f"the loss diverged at step {batch + 1}", True


def suggest(lrs: list[float], losses: list[float]) -> tuple[float, str]:
    """The rate of steepest loss descent before the minimum, or the rate at the minimum / 10 when that is unclear.

    The first tenth of the sweep is left out: the moving average is still settling there and its wiggles would
    look steep.
    """
    lowest = int(np.argmin(losses))
    skip = max(3, len(losses) // 10)
    if lowest - skip >= 3:
        slopes = np.gradient(np.asarray(losses[skip : lowest + 1]), np.log(np.asarray(lrs[skip : lowest + 1])))
        return float(lrs[skip + int(np.argmin(slopes))]), "steepest descent"
    return float(lrs[lowest]) / 10, "minimum / 10"


def lr_find(
    model: keras.Model,
    data: Any,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 200,
    batch_size: int = 32,
    seed: int = 0,
    out: str | Path | None = None,
    strict: bool = False,
    **loader: Any,
) -> LRFindResult:
    """Sweep the learning rate from `start_lr` to `end_lr` over `steps` batches of `data`; suggest a rate.

    With `out`, the plot is saved as out/lr_find.png. The model is left as it was.

    Keyword options:
        start_lr, end_lr: the first and last learning rate of the sweep (exponential steps between them).
        steps: batches in the sweep (at least 5); it stops early once the loss diverges.
        batch_size: examples per step.
        seed: seeds Python, NumPy, TensorFlow and the batches' order.
        out: folder for the plot (lr_find.png).
        strict: raise on an unreadable file instead of skipping it.
      Reading options (LoaderOptions, as finetune reads the data):
        labels: the labels, for a list of files or an array of images.
        id_col, label_col: a CSV's columns of file names (or ids) and of labels.
        image_dir, extension: where a CSV's file names point, and the suffix added to ids without one.
        pixel_cols, pixel_shape: a CSV's pixel-column prefix and the "HxW[xC]" shape its rows are read as images in.
        multi_label: the label column holds space-separated tags (a comma-separated label_col: several 0/1
            columns); the sweep then trains one sigmoid per label with binary cross-entropy.
        progress: progress lines while images are decoded and during the sweep (True).
        data_dir, split: where a TFDS dataset is prepared and which split to sweep on (default "train").
        validation_split: taken, as finetune takes it, and unused: the sweep reads no validation data.
    """
    if not 0 < start_lr < end_lr or steps < 5:
        raise BadOverride(f"need 0 < start_lr < end_lr and steps >= 5; got {start_lr}, {end_lr}, {steps}")
    seed_everything(seed)
    size, channels = input_spec(model)
    options = LoaderOptions(**loader)
    read = {k: v for k, v in vars(options).items() if k != "validation_split"}
    labelled = as_labelled(data, {"image_size": size, "channels": channels, "strict": strict, **read})
    model = head_for(model, labelled.class_names, multilabel=labelled.multilabel)
    test = sweep(model, labelled, RangeTest(start_lr, end_lr, steps, options.progress), batch_size, seed)
    lrs, losses = test.lrs, test.losses
    if len(lrs) < 2:
        raise BadOverride(f"the learning-rate sweep stopped after {len(lrs)} step(s) ({test.stopped}); lower start_lr")
    rate, method = suggest(lrs, losses)
    result = LRFindResult(lrs, losses, rate, method, test.stopped)
    if out is not None:
        result = LRFindResult(lrs, losses, rate, method, test.stopped, result.plot(Path(out) / "lr_find.png"))
    return result


def sweep(model: keras.Model, labelled: Any, test: RangeTest, batch: int, seed: int) -> RangeTest:
    """Run the range `test` on the plan's first phase; weights and flags are restored afterwards."""
    multilabel = labelled.multilabel
    plan = make_plan(model, len(labelled), epochs=1, batch_size=batch, augment=False, views=1, multilabel=multilabel)
    phase = plan.phases[0]
    saved = model.get_weights()
    try:
        with kept_trainable_flags(model):
            setup = phase_setup(model, phase, plan.settings, augmenter_for(None, seed))
            setup.trainer.compile(
                optimizer=DiscriminativeAdam(float(test.rates[0])),
                loss=phase_loss(plan),
            )
            x = model_inputs(labelled.x, model)
            train, _ = phase_arrays(setup, phase, (x, x[:1]), None, 0, {})
            data = batches(train, targets(labelled, plan.num_classes), batch_size=batch, shuffle=True, seed=seed)
            setup.trainer.fit(
                data.repeat(), steps_per_epoch=1, epochs=len(test.rates), callbacks=[test], verbose=0, shuffle=False
            )
    finally:
        model.set_weights(saved)
    return test
