"""The phases of a plan, carried out: for each, the model that trains, the arrays it trains on, the optimizer, the
fit; in order, on the run's placement, with resume, feature caches, checkpoints and NaN stops (run_phases).

The trainer shares its layers (and so its weights) with the user's model but is a separate keras.Model: the
augmentation layers and any extra dropout live only in it, so nothing of them reaches the saved or exported model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from zoo.hardware.cluster import lost_workers_reported
from zoo.hardware.feeding import InputWait
from zoo.hardware.placement import placed_model
from zoo.layers.augment import augmenter_for, mixed_batches
from zoo.training.discriminative_lr import DiscriminativeAdam, OneCycle, variable_multipliers
from zoo.training.faults import Progress
from zoo.training.feature_cache import (
    Extractor,
    Targets,
    batches,
    cache_folder,
    feature_array,
    on_runtime,
    steps,
)
from zoo.training.freezing import BackboneParts, backbone_parts, kept_trainable_flags, set_trainable, split_trunk
from zoo.training.inputs import class_weight_vector, model_inputs
from zoo.training.plan import FeatureCache, FinetunePlan, Phase, PlanSettings

if TYPE_CHECKING:
    from zoo.data import LabelledData
    from zoo.hardware.placement import Placement
    from zoo.training.faults import RunGuard

EXTRACT_BATCH = 64  # inference only: larger batches than training are fine and faster


@dataclass(frozen=True)
class TrainingRun:
    """What every phase of one finetune run works with: the model that trains (the user's, or its copy built on the
    placement), the plan, the data, the seed, where big caches go, the run's guard and its placement."""

    model: keras.Model
    plan: FinetunePlan
    train: LabelledData
    val: LabelledData
    seed: int
    cache_dir: str | Path | None  # where big feature caches go; None: a temporary folder (run_phases)
    guard: RunGuard
    placement: Placement | None = None
    log_dir: Path | None = None  # TensorBoard logs, one sub-folder per phase; None: none

    def tensorboard(self, index: int) -> list[keras.callbacks.Callback]:
        """Phase `index`'s TensorBoard callback (epoch scalars, no graph or histograms: cheap), if logs were asked."""
        if self.log_dir is None:
            return []
        name = self.plan.phases[index].name.replace(" ", "_")
        return [keras.callbacks.TensorBoard(str(self.log_dir / f"phase{index + 1}_{name}"), write_graph=False)]


@dataclass
class PhaseSetup:
    """The model a phase trains and, when part of the network is frozen and cached, the part that feeds it."""

    model: keras.Model  # the user's model, whose layers the trainer shares
    parts: BackboneParts | None  # the model's backbone, worked out once for the phase; None: a recipe
    trainer: keras.Model
    extractor: keras.Model | None  # images -> cached features; None: the trainer takes the images themselves
    augmenter: keras.Layer | None  # used by the extractor when caching views, or inside the trainer otherwise


def head_on(features: Any, parts: BackboneParts, dropout: float) -> Any:
    """The model's head applied to `features`, after a training-only Dropout when the model has none of its own."""
    if dropout and not parts.has_dropout:
        features = keras.layers.Dropout(dropout, name="training_dropout")(features)
    for layer in parts.head:
        features = layer(features)
    return features


def phase_setup(model: keras.Model, phase: Phase, settings: PlanSettings, augmenter: keras.Layer | None) -> PhaseSetup:
    """Freeze for the phase (BatchNorm pinned) and build the trainer: on cached features, or on images."""
    parts = backbone_parts(model)
    set_trainable(model, phase.train, pin_batchnorm=phase.pin_batchnorm)
    image = keras.Input(model.input_shape[1:], name="image")
    trained = augmenter(image) if augmenter is not None and phase.cache is None else image
    if parts is None:  # from scratch: the whole model trains on (augmented) inputs
        return PhaseSetup(model, None, keras.Model(image, model(trained), name="trainer"), None, augmenter)
    split = split_trunk(parts.trunk, phase.cache.cut_layer) if phase.cache and phase.cache.cut_layer else None
    if phase.cache is not None and (phase.cache.cut_layer is None or split is not None):
        frozen, trained_part = (parts.trunk, None) if split is None else split  # cached part, part that trains
        extractor = images_to(frozen, model, parts)
        features = keras.Input(extractor.output.shape[1:], name="features")
        top = features if trained_part is None else trained_part(features)
        trainer = keras.Model(features, head_on(top, parts, settings.dropout), name="trainer")
        return PhaseSetup(model, parts, trainer, extractor, augmenter)
    frozen = phase.train == "head"  # then the trunk runs in inference mode: its dropout stays off as when cached
    trunk_out = parts.trunk(parts.preprocess(trained), training=False if frozen else None)
    trainer = keras.Model(image, head_on(trunk_out, parts, settings.dropout), name="trainer")
    return PhaseSetup(model, parts, trainer, None, augmenter)


def phase_learning_rate(phase: Phase, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Constant, one-cycle, or linear warm-up then cosine decay to 0 over the phase's steps."""
    if phase.schedule == "constant":
        return phase.learning_rate
    total = max(1, phase.epochs * steps_per_epoch)
    if phase.schedule == "one_cycle":
        return OneCycle(phase.learning_rate, total)
    warmup = min(phase.warmup_epochs * steps_per_epoch, total - 1)
    if warmup <= 0:
        return keras.optimizers.schedules.CosineDecay(phase.learning_rate, total)
    return keras.optimizers.schedules.CosineDecay(
        phase.learning_rate / warmup,  # the first step already moves; it reaches the peak after `warmup` steps
        total - warmup,
        warmup_target=phase.learning_rate,
        warmup_steps=warmup,
    )


def compile_phase(setup: PhaseSetup, phase: Phase, run: TrainingRun) -> None:
    """Compile the trainer: per-block learning rates, label-smoothed cross-entropy, accuracy; with the run's
    placement, its XLA choice and, under mixed float16, loss scaling (small gradients would otherwise round to zero)."""
    parts, placement, settings = setup.parts, run.placement, run.plan.settings
    multipliers = variable_multipliers(parts.trunk, phase.lr_multipliers) if parts and phase.lr_multipliers else {}
    rate = phase_learning_rate(phase, steps(len(run.train), run.plan.batch_size))
    optimizer = DiscriminativeAdam(rate, multipliers=multipliers, use_ema=settings.ema)
    if placement is not None and placement.precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    setup.trainer.compile(
        optimizer=optimizer,
        loss=phase_loss(run.plan),
        metrics=[accuracy_metric(run.plan)],
        jit_compile=placement.jit_compile() if placement is not None else "auto",
    )


def phase_loss(plan: FinetunePlan) -> keras.losses.Loss:
    """Binary cross-entropy over independent sigmoids (multi-label) or categorical cross-entropy, label-smoothed."""
    smoothing = plan.settings.label_smoothing
    if plan.multilabel:
        return keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
    return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)


def accuracy_metric(plan: FinetunePlan) -> keras.metrics.Metric:
    """Share of right labels (each sigmoid over 0.5 or not) for multi-label, of right top-1 classes otherwise."""
    kind = keras.metrics.BinaryAccuracy if plan.multilabel else keras.metrics.CategoricalAccuracy
    return kind(name="accuracy")


def targets(data: LabelledData, num_classes: int, balanced: bool = False) -> Targets:
    """What the loss compares the outputs with, made per batch: one-hot rows of class ids, or the 0/1 rows of
    multi-label data; `balanced`: each row weighted by its class's balanced weight (rare classes count as much)."""
    weights = class_weight_vector(data.y, num_classes) if balanced and not data.multilabel else None
    return Targets(data.y, num_classes, data.multilabel, weights)


def phase_arrays(
    setup: PhaseSetup,
    phase: Phase,
    inputs: tuple[np.ndarray, np.ndarray],
    cache_dir: Path | None,
    index: int,
    shared: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """(views, n, ...) training and (1, m, ...) validation arrays: cached features, or the images themselves.

    A lower-trunk cache shared between phases is computed once and kept in `shared` (keyed by its cut layer).
    """
    train_x, val_x = inputs
    if setup.extractor is None:
        return train_x[np.newaxis], val_x[np.newaxis]
    cache = phase.cache
    cut = cache.via or (cache.cut_layer if cache.cut_layer in shared else None)
    images = len(train_x) * cache.views + len(val_x)  # what the frozen part computes: views of each, validation once
    if cut is None:
        extractor = on_runtime(setup.extractor, None, images)
        return cached_features(extractor, setup.augmenter, cache, inputs, cache_dir, f"phase{index}")
    if cut not in shared:
        lower, _ = split_trunk(setup.parts.trunk, cut)
        extractor = on_runtime(images_to(lower, setup.model, setup.parts), cut, images)
        lower_cache = replace(cache, where=cache.via_where) if cache.via_where else cache  # where phase 2 wants it
        shared[cut] = cached_features(extractor, setup.augmenter, lower_cache, inputs, cache_dir, f"lower_{cut}")
    lower_train, lower_val = shared[cut]
    if cache.cut_layer == cut:
        return lower_train, lower_val
    _, upper = split_trunk(setup.parts.trunk, cut)  # phase 1: the rest of the trunk, inference
    views, rows = lower_train.shape[:2]
    on_disk = cache.where == "disk" and cache_dir is not None  # the plan counts both caches against one budget
    paths = (cache_dir / f"phase{index}_train.npy", cache_dir / f"phase{index}_val.npy") if on_disk else (None, None)
    # The views flattened are a view of the lower cache, not a copy (a concatenation with the validation rows was)
    flat = lower_train.reshape(views * rows, *lower_train.shape[2:])
    train = feature_array(upper, flat, batch_size=EXTRACT_BATCH, path=paths[0])
    val = feature_array(upper, lower_val[0], batch_size=EXTRACT_BATCH, path=paths[1])
    return train[0].reshape(views, rows, *train.shape[2:]), val


def images_to(part: keras.Model, model: keras.Model, parts: BackboneParts) -> keras.Model:
    """Images -> the model's input scaling -> `part` of its trunk (`parts`), in inference mode."""
    image = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(image, part(parts.preprocess(image), training=False), name="extractor")


def cached_features(
    extractor: Extractor,
    augmenter: keras.Layer | None,
    cache: FeatureCache,
    inputs: tuple[np.ndarray, np.ndarray],
    cache_dir: Path | None,
    stem: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Training features for the cache's views (augmented) and validation features (not), in memory or on disk."""
    on_disk = cache.where == "disk" and cache_dir is not None
    paths = (cache_dir / f"{stem}_train.npy", cache_dir / f"{stem}_val.npy") if on_disk else (None, None)
    train = feature_array(
        extractor, inputs[0], batch_size=EXTRACT_BATCH, views=cache.views, augmenter=augmenter, path=paths[0]
    )
    return train, feature_array(extractor, inputs[1], batch_size=EXTRACT_BATCH, path=paths[1])


def fit_phase(
    setup: PhaseSetup,
    arrays: tuple[np.ndarray, np.ndarray],
    run: TrainingRun,
    index: int,
    callbacks: list[keras.callbacks.Callback],
    initial_epoch: int = 0,
) -> tuple[dict[str, list[float]], float]:
    """Fit the trainer on phase `index` of the run's plan (Keras `fit` on one replica, the replicated loop on
    several); returns its history (per-epoch lists) and the seconds it took. The plan's batch is the global batch."""
    plan, placement, epochs = run.plan, run.placement, run.plan.phases[index].epochs
    y_train = targets(run.train, plan.num_classes, plan.settings.class_weighting)
    y_val = targets(run.val, plan.num_classes)
    train_data = batches(arrays[0], y_train, batch_size=plan.batch_size, shuffle=True, seed=run.seed + index)
    train_data = mixed_batches(train_data, plan.mix_in(index), run.seed + index)
    val_data = batches(arrays[1], y_val, batch_size=plan.batch_size * 2, shuffle=False)
    started = time.perf_counter()
    if placement is not None and placement.replicated:
        from zoo.hardware.replicated_loop import replicated_fit

        data = (train_data, val_data)
        history = replicated_fit(
            setup.trainer, placement.strategy, data, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks
        )
        return history, time.perf_counter() - started
    for probe in (c for c in callbacks if isinstance(c, InputWait)):  # the input-wait share (zoo.hardware.feeding)
        train_data = probe.stamped(train_data)
    fitted = setup.trainer.fit(
        train_data,
        validation_data=val_data,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,  # the pipeline shuffles, seeded
    )
    return {key: [float(v) for v in values] for key, values in fitted.history.items()}, time.perf_counter() - started


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
    feeding = InputWait()  # the input-wait share, on Keras's fit and on the replicated loop
    callbacks = [*run.guard.callbacks(run.plan, run.model, progress, validation), *run.tensorboard(index), feeding]
    with run.guard.watching(index):
        part, seconds = fit_phase(setup, arrays, run, index, callbacks, progress.epoch)
    record = {
        "name": phase.name,
        "epochs_run": progress.epoch + len(part.get("loss", [])),
        "seconds": seconds + prepared,
        "cache_seconds": prepared,
        "input_wait_share": feeding.share(),
        "stopped_early": run.guard.stopped_early(callbacks),
        "non_finite_at": run.guard.nan_stopped(callbacks),
    }
    history = {key: [*progress.history.get(key, []), *values] for key, values in part.items()}
    done = Progress(index, phase.epochs, True, history, [*progress.records, record])
    run.guard.save(run.model, None, done)  # the phase's best weights, done
    return done
