"""What keeps a long run safe: one progress line per epoch (and a bar over its batches on a terminal), early
stopping, NaN stops, checkpoints, resume, Ctrl-C.

`RunGuard` is finetune's single contact with checkpoints and training callbacks: it says where a (resumed) run
starts, gives each phase its callbacks, and turns Ctrl-C into a message naming the command that resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import keras
import numpy as np

from zoo.data import LabelledData
from zoo.data.decoding.rows import hash_rows
from zoo.data.progress import silent
from zoo.data.tensorflow_sources import model_feed
from zoo.errors import ResumeMismatch, ZooError
from zoo.training.checkpoints import CheckpointFolder, Saved, check_settings, load_best_weights, restore_optimizer
from zoo.training.plan import FinetunePlan


@dataclass(frozen=True)
class Progress:
    """Where a run stands: (phase index, epochs of it done, whether it finished), the history and the per-phase
    records so far; a resumed run's start also brings the checkpoint it was read from."""

    phase: int = 0
    epoch: int = 0
    done: bool = False  # the phase at `phase` had finished
    history: dict[str, list[float]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    saved: Saved | None = None

    def skips(self, index: int) -> bool:
        return index < self.phase or (index == self.phase and self.done)


def fingerprint_of(config: dict[str, Any], train: LabelledData, val: LabelledData) -> dict[str, Any]:
    """What a resumed run must share with the stopped one: its settings and a hash of its data."""
    digest = hashlib.sha256()
    for data in (train, val):
        digest.update(json.dumps([list(data.class_names), data.files], default=str).encode())
        digest.update(np.ascontiguousarray(data.y).tobytes())
        if data.files is None:  # in chunks: x.tobytes() would copy every image (a stored TFDS split included)
            hash_rows(digest, data.x)
    shape = list(train.x.shape[1:])  # the input size: a resume at another --image-size is another run
    return json.loads(json.dumps({**config, "input_shape": shape, "data_sha256": digest.hexdigest()}, default=str))


class EpochLine(keras.callbacks.Callback):
    """One line per epoch (phase, epoch, loss and accuracy, validation, seconds); on a terminal also a bar over the
    epoch's batches on stderr, cleared when the line is printed. Logs (not a terminal) get the lines only."""

    def __init__(self, label: str, epochs: int, say: Any) -> None:
        super().__init__()
        self.label, self.epochs, self.say = label, epochs, say
        self._bar: Any = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()
        if self.say is not silent and sys.stderr.isatty():
            from tqdm import tqdm

            steps = (self.params or {}).get("steps")
            where = f"{self.label} epoch {epoch + 1}/{self.epochs}"
            self._bar = tqdm(total=steps, desc=where, unit="batch", leave=False, file=sys.stderr, mininterval=0.2)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        shown = ", ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items() if key != "learning_rate")
        self.say(f"{self.label} epoch {epoch + 1}/{self.epochs}: {shown} ({time.perf_counter() - self._started:.1f}s)")


class FiniteLossStop(keras.callbacks.Callback):
    """Stops at the first NaN or infinite loss and puts back the weights of the last epoch that ended finite."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped_at: int | None = None
        self._epoch, self._finite = 0, None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._finite = self.model.get_weights()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.stopped_at = self._epoch + 1
            self.model.set_weights(self._finite)
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.stopped_at is None:
            self._finite = self.model.get_weights()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """Early stopping on val_loss with best weights restored, whose best score, best weights and patience count
    carry over a resume (Keras's own starts again from nothing at each `fit`, forgetting the best epoch)."""

    def __init__(self, patience: int, carried: Carried | None = None, monitor: ValidationScore | None = None) -> None:
        watched, mode = ("val_loss", "min") if monitor is None else (monitor.key, monitor.mode)
        super().__init__(monitor=watched, mode=mode, patience=patience, restore_best_weights=True)
        self.carried = carried

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.carried is not None:
            self.best, self.wait, self.best_epoch = self.carried.best, self.carried.wait, self.carried.best_epoch
            self.best_weights = self.carried.best_weights

    def state(self) -> dict[str, Any]:
        """What a checkpoint records of it (the best weights go into their own file)."""
        best = None if self.best is None else float(self.best)
        return {"best": best, "wait": int(self.wait), "best_epoch": int(self.best_epoch)}


class ScoresOutputs(Protocol):
    """A metric finetune can stop on: zoo.kaggle.task.metrics.Metric is one."""

    name: str
    greater_is_better: bool

    def score(self, y: np.ndarray, outputs: np.ndarray) -> float: ...


class ValidationScore(keras.callbacks.Callback):
    """Scores the validation data with a metric after each epoch, as `val_<name>` in the epoch's logs, so early
    stopping, the restored best epoch and the history follow the metric a competition is judged on."""

    def __init__(self, metric: ScoresOutputs, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        super().__init__()
        self.metric, self.x, self.y, self.batch_size = metric, x, y, batch_size
        self.key, self.mode = f"val_{metric.name}", "max" if metric.greater_is_better else "min"

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            outputs = self.model.predict(model_feed(self.x, self.batch_size), batch_size=self.batch_size, verbose=0)
            logs[self.key] = float(self.metric.score(self.y, outputs))


@dataclass(frozen=True)
class Carried:
    """Early stopping's state read back from a checkpoint."""

    best: float | None
    wait: int
    best_epoch: int
    best_weights: list[np.ndarray] | None


class EpochSave(keras.callbacks.Callback):
    """Saves a resumable checkpoint after every epoch that ended with a finite loss (early stopping's state too)."""

    def __init__(self, guard: RunGuard, model: keras.Model, prior: Progress, stopping: ResumableEarlyStopping) -> None:
        super().__init__()
        self.guard, self.owner, self.prior, self.stopping = guard, model, prior, stopping
        self.logs: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not all(math.isfinite(float(value)) for value in (logs or {}).values()):
            return  # never checkpoint a broken state
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))
        history = {key: [*self.prior.history.get(key, []), *values] for key, values in self.logs.items()}
        progress = replace(self.prior, epoch=epoch + 1, done=False, history=history)
        self.guard.save(self.owner, self.model.optimizer, progress, (self.stopping.state(), self.stopping.best_weights))


class RunGuard:
    """Callbacks, checkpoints and resume for one finetune run (checkpoints only with an output folder)."""

    def __init__(
        self,
        out_dir: Path | None,
        fingerprint: dict,
        *,
        resume: bool,
        say: Any,
        hint: str,
        monitor: ScoresOutputs | None = None,
    ) -> None:
        if resume and out_dir is None:
            raise ZooError("resume=True needs the output folder of the stopped run: pass out=DIR (or --out DIR)")
        self.out_dir, self.fingerprint, self.resume, self.say, self.hint = out_dir, fingerprint, resume, say, hint
        self.store = CheckpointFolder(out_dir) if out_dir is not None else None
        self.carried: Carried | None = None  # early stopping's state for the phase being resumed
        self.monitor = monitor  # the metric early stopping follows (None: val_loss)

    def begin(self, model: keras.Model) -> Progress:
        """A fresh start, or (resume) the newest valid checkpoint, its weights loaded into `model`."""
        if not self.resume:
            return Progress()
        self.store.check_newest()  # damage is one line naming the file, before anything is read from it
        readable = self.store.saved()
        if not readable:
            self.say(f"finetune: no checkpoint in {self.store.root}: starting from the beginning")
            return Progress()
        check_settings(readable[0], self.fingerprint)  # before any weights are read: a mismatch is not damage
        saved = self.store.latest_valid(model)
        if saved is None:
            raise ResumeMismatch(
                f"no checkpoint in {self.store.root} can be loaded into {model.name} (all damaged); nothing was "
                "deleted: start afresh with another output folder"
            )
        self.say(f"finetune: resuming from {saved.folder.name} (phase {saved.phase + 1}, epoch {saved.epoch})")
        return Progress(saved.phase, saved.epoch, saved.done, saved.history, saved.records, saved)

    def finish(self) -> None:
        """The run is over and its outputs written: keep only the newest checkpoint (for --resume / more epochs)."""
        if self.store is not None:
            self.store.finish()

    def restore(self, start: Progress, trainer: keras.Model) -> int:
        """The optimizer state of a phase resumed mid-way; returns the epochs of it already done."""
        if start.saved is None or not start.epoch or start.done:
            return 0
        if not restore_optimizer(start.saved, trainer):
            self.say("finetune: the optimizer state could not be restored; it restarts (weights are restored)")
        stopping = start.saved.stopping
        if stopping:
            weights = load_best_weights(start.saved)
            self.carried = Carried(stopping["best"], stopping["wait"], stopping["best_epoch"], weights)
        return start.epoch

    def save(
        self,
        model: keras.Model,
        optimizer: Any,
        progress: Progress,
        stopping: tuple[dict[str, Any], list[np.ndarray] | None] | None = None,
    ) -> None:
        """A checkpoint of `progress`: mid-phase with the optimizer and early stopping's state, or a finished phase."""
        if self.store is None:
            return
        state = {
            "fingerprint": self.fingerprint,
            "phase": progress.phase,
            "epoch": progress.epoch,
            "done": progress.done,
            "history": progress.history,
            "records": progress.records,
        }
        best_weights = None
        if stopping is not None and not progress.done:
            state["stopping"], best_weights = stopping
        self.store.save(model, optimizer if not progress.done else None, state, best_weights)

    def callbacks(
        self, plan: FinetunePlan, model: keras.Model, progress: Progress, validation: tuple[np.ndarray, np.ndarray]
    ) -> list:
        """The phase's callbacks (the phase at progress.phase, history and records from before it): NaN stop,
        (metric score,) early stopping, one line per epoch, checkpoints."""
        index = progress.phase
        phase = plan.phases[index]
        label = f"phase {index + 1}/{len(plan.phases)} {phase.name}"
        score = None if self.monitor is None else ValidationScore(self.monitor, *validation, plan.batch_size * 2)
        stopping = ResumableEarlyStopping(plan.settings.patience, self.carried, score)
        self.carried = None  # used by the resumed phase only
        scoring = [score] if score is not None else []
        callbacks = [FiniteLossStop(), *scoring, stopping, EpochLine(label, phase.epochs, self.say)]
        if self.store is not None:
            callbacks.append(EpochSave(self, model, progress, stopping))
        return callbacks

    @contextmanager
    def watching(self, index: int) -> Iterator[None]:
        """Turn Ctrl-C into a message naming the checkpoint and the command that resumes, then stop."""
        try:
            yield
        except KeyboardInterrupt as interrupt:
            interrupt.reported = True  # the command line then adds nothing
            where = (
                f"checkpoints kept in {self.store.root}; " if self.store is not None else "no checkpoints (no out); "
            )
            print(f"\nfinetune: interrupted in phase {index + 1}: {where}resume with: {self.hint}", file=sys.stderr)
            raise

    @staticmethod
    def stopped_early(callbacks: list[keras.callbacks.Callback]) -> bool:
        return any(c.stopped_epoch > 0 for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))

    @staticmethod
    def nan_stopped(callbacks: list[keras.callbacks.Callback]) -> int | None:
        """The epoch at which the loss stopped being finite, or None."""
        return next((c.stopped_at for c in callbacks if isinstance(c, FiniteLossStop) and c.stopped_at), None)
