"""The plan's phases carried out in order on the run's placement: resume, feature caches, checkpoints, NaN stops.

Each phase: freeze and build its trainer (zoo.training.phase_fit), compile, compute its inputs (cached features or
the images), fit under the run's guard (zoo.training.faults), record and checkpoint it.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo.hardware.cluster import lost_workers_reported
from zoo.hardware.placement import placed_model
from zoo.training.faults import Progress
from zoo.training.freezing import kept_trainable_flags
from zoo.training.inputs import model_inputs
from zoo.training.phase_fit import (
    PhaseSetup,
    TrainingRun,
    augmenter_for,
    compile_phase,
    fit_phase,
    phase_arrays,
    phase_setup,
)


def cache_folder(cache_dir: str | Path | None) -> Any:
    """The folder for on-disk feature caches: the one given, or a temporary one removed after the run."""
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        return nullcontext(Path(cache_dir))
    return _temporary()


class _temporary:
    def __enter__(self) -> Path:
        self._folder = tempfile.TemporaryDirectory(prefix="zoo-features-")
        return Path(self._folder.name)

    def __exit__(self, *exc: Any) -> None:
        self._folder.cleanup()


Outcome = tuple[dict[str, list[float]], list[dict[str, Any]], str]  # joined history, one record per phase, status


def run_phases(run: TrainingRun) -> Outcome:
    """Carry the plan's phases out in order on the placement, trainable flags kept and caches in run.cache_dir (a
    temporary folder when None). Under a strategy or another precision a copy of run.model built on the placement
    trains, and its weights are copied back at the end (the user's model stays a plain one: exports work as ever)."""
    model = run.model
    with kept_trainable_flags(model), cache_folder(run.cache_dir) as cache:
        start = run.guard.begin(model)  # a resumed run: weights loaded, history so far
        with lost_workers_reported(run.placement.cluster), run.placement.scope():
            placed = placed_model(model, run.placement)
            outcome = train_phases(replace(run, model=placed, cache_dir=cache), start)
        if placed is not model:
            model.set_weights(placed.get_weights())
    return outcome


def train_phases(run: TrainingRun, start: Progress) -> Outcome:
    """The phases, from where `start` says (fresh or resumed), on run.model as placed."""
    inputs = (model_inputs(run.train.x, run.model), model_inputs(run.val.x, run.model))
    augmenter = augmenter_for(run.plan.augmentation, run.seed)
    shared: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # lower-trunk caches both phases use
    progress = start
    for index, phase in enumerate(run.plan.phases):
        if phase.epochs == 0 or start.skips(index):
            continue
        setup = phase_setup(run.model, phase, run.plan.settings, augmenter)
        compile_phase(setup, phase, run)
        initial = run.guard.restore(start, setup.trainer) if index == start.phase else 0
        arrays, prepared = phase_inputs(setup, run, index, inputs, shared)
        begun = Progress(index, initial, False, progress.history, progress.records)
        progress = train_phase(setup, arrays, run, begun, prepared)
        nan_epoch = progress.records[-1]["non_finite_at"]
        if nan_epoch is not None:
            status = f"stopped in phase {index + 1} epoch {nan_epoch}: the loss became NaN or infinite; "
            return progress.history, progress.records, status + "the last finite weights were kept"
    return progress.history, progress.records, "completed"


def phase_inputs(
    setup: PhaseSetup,
    run: TrainingRun,
    index: int,
    inputs: tuple[np.ndarray, np.ndarray],
    shared: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """What phase `index` trains and is scored on (cached features, or the inputs), and the seconds that took."""
    if setup.extractor is not None:
        name = run.plan.phases[index].name
        run.guard.say(f"phase {index + 1}/{len(run.plan.phases)} {name}: computing the cached features")
    started = time.perf_counter()
    with run.placement.inference_device():  # the cache: one inference pass on one device (zoo.training.feature_cache)
        arrays = phase_arrays(setup, run.plan.phases[index], inputs, run.cache_dir, index, shared)
    return arrays, time.perf_counter() - started


def train_phase(
    setup: PhaseSetup, arrays: tuple[np.ndarray, np.ndarray], run: TrainingRun, progress: Progress, prepared: float
) -> Progress:
    """Fit the phase at progress.phase from progress.epoch; its record (`prepared`: seconds its inputs took) joins
    the progress, which is checkpointed with the phase's best weights as done."""
    index, phase = progress.phase, run.plan.phases[progress.phase]
    validation = (arrays[1][0], run.val.y)  # what the phase's trainer is scored on (features or images)
    callbacks = run.guard.callbacks(run.plan, run.model, progress, validation)
    with run.guard.watching(index):
        part, seconds = fit_phase(setup, arrays, run, index, callbacks, progress.epoch)
    record = {
        "name": phase.name,
        "epochs_run": progress.epoch + len(part.get("loss", [])),
        "seconds": seconds + prepared,
        "cache_seconds": prepared,
        "stopped_early": run.guard.stopped_early(callbacks),
        "non_finite_at": run.guard.nan_stopped(callbacks),
    }
    history = {key: [*progress.history.get(key, []), *values] for key, values in part.items()}
    done = Progress(index, phase.epochs, True, history, [*progress.records, record])
    run.guard.save(run.model, None, done)  # the phase's best weights, done
    return done
