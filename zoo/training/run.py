"""`finetune(model, data)`: train a zoo model on your labelled data the careful way, in one call.

data -> checked LabelledData -> plan (printable) -> phases (frozen trunk + cached features, then the top blocks at
lower, per-block learning rates with BatchNorm pinned) -> evaluation -> outputs (model files, plots, report.json).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo.data import LabelledData
from zoo.errors import BadDevice, BadOverride
from zoo.hardware.cluster import lost_workers_reported, worker_cache_dir, worker_output
from zoo.hardware.placement import Placement, place, placed_model
from zoo.results.evaluation import Evaluation, evaluate_classifier
from zoo.results.export import FORMATS
from zoo.results.outputs import build_report, summary_line, write_outputs
from zoo.results.run_card import now
from zoo.training.faults import RunGuard, fingerprint_of
from zoo.training.freezing import kept_trainable_flags
from zoo.training.inputs import LoaderOptions, head_for, load_split, model_inputs, sample_weights
from zoo.training.phase_fit import augmenter_for, compile_phase, fit_phase, phase_arrays, phase_setup
from zoo.training.plan import Augmentation, FinetunePlan, PlanSettings, make_plan
from zoo.training.seeding import seed_everything


@dataclass
class FinetuneResult:
    """What finetune returns: the trained model (class names set), per-epoch history, the plan, scores, report."""

    model: keras.Model
    history: dict[str, list[float]]
    plan: FinetunePlan
    evaluation: Evaluation
    report: dict[str, Any]
    out_dir: Path | None  # None also on a worker that is not the chief (the chief writes the outputs)
    placement: Placement | None = None


@dataclass(frozen=True)
class RunOptions:
    """finetune options that do not change the plan: reproducibility, outputs, caching, messages."""

    deterministic: bool = False  # TensorFlow op determinism: repeatable to the bit on one machine, slower
    export: Sequence[str] = FORMATS  # formats written to `out` (model.keras always)
    cache_dir: str | Path | None = None  # where big feature caches go (default: a temporary folder)
    verbose: bool = True  # plan, one line per epoch, summary
    resume_command: str | None = None  # printed on Ctrl-C (the CLI passes the command line that resumes)
    device: str | None = None  # auto, cpu, gpu, gpu:N, all, tpu, or a list (gpu:0,gpu:1); None: $ZOO_DEVICE or auto
    precision: str = "auto"  # auto, float32, mixed_float16, mixed_bfloat16 (zoo.hardware.precision)
    xla: bool | None = None  # None: Keras decides (on for one GPU where every layer supports it)
    lr_scaling: str = "sqrt"  # how learning rates grow with the replicas: sqrt, linear, none (zoo.hardware.placement)
    # A metric (name, greater_is_better, score(y, outputs)) that early stopping and the restored best epoch follow
    # instead of val_loss: zoo.kaggle passes the competition's. None: val_loss.
    monitor: Any = None


def split_options(options: dict[str, Any]) -> tuple[RunOptions, LoaderOptions, dict[str, Any]]:
    """finetune's **options sorted into run, data-loading and plan settings; an unknown name is refused."""
    groups = [{f.name for f in fields(kind)} for kind in (RunOptions, LoaderOptions, PlanSettings)]
    unknown = sorted(set(options) - set().union(*groups))
    if unknown:
        known = ", ".join(sorted(set().union(*groups)))
        raise BadOverride(f"finetune does not take {', '.join(map(repr, unknown))}; it takes: {known}")
    picked = [{k: v for k, v in options.items() if k in group} for group in groups]
    return RunOptions(**picked[0]), LoaderOptions(**picked[1]), picked[2]


def finetune(
    model: keras.Model,
    data: Any,
    *,
    validation: Any = None,
    epochs: int | tuple[int, int] | None = None,
    batch_size: int = 32,
    augment: bool | Augmentation = True,
    seed: int = 0,
    out: str | Path | None = None,
    strict: bool = False,
    resume: bool = False,
    **options: Any,
) -> FinetuneResult:
    """Fine-tune `model` (a zoo backbone or recipe) on `data` (anything zoo.data.load_data takes).

    Prints the placement, the plan, one line per epoch and a summary; with `out`, writes model.keras, exports,
    plots, report.json, skipped.csv and run_card.json there, and keeps resumable checkpoints (`resume=True` continues
    a stopped run). `batch_size` is per replica. `options`: PlanSettings fields (unfreeze, head_lr, ...), RunOptions
    fields (device, precision, ...) and load_data's reading options.
    """
    started, clock = now(), time.perf_counter()
    run, loader, plan_options = split_options(options)
    say = print if run.verbose else (lambda *_: None)
    placement = placement_for(run, batch_size, resume)
    seed_everything(seed, run.deterministic)
    settings = PlanSettings.from_options(plan_options)
    loaded = time.perf_counter()
    train, val = load_split(
        model, data, validation, strict=strict, seed=seed, fraction=settings.validation_fraction, loader=loader
    )
    loaded = time.perf_counter() - loaded
    model = head_for(model, train.class_names, say)
    plan = scaled_plan(make_plan(
        model, len(train), epochs=epochs, batch_size=placement.global_batch, augment=augment,
        num_classes=len(train.class_names), validation_size=len(val), **plan_options,
    ), placement)  # fmt: skip
    say(placement.describe())
    say(str(plan))
    if run.monitor is not None:
        say(f"  early stopping follows val_{run.monitor.name} (the given metric) instead of val_loss")
    config = run_config(plan, seed=seed, epochs=epochs, augment=augment, strict=strict, run=run)
    hint = resume_hint(run, out)
    with worker_output(Path(out) if out is not None else None, placement.cluster) as out_dir:
        fingerprint = fingerprint_of(config, train, val)
        guard = RunGuard(out_dir, fingerprint, resume=resume, say=say, hint=hint, monitor=run.monitor)
        with kept_trainable_flags(model), cache_folder(worker_cache_dir(run.cache_dir, placement.cluster)) as cache:
            history, phases, status = run_phases(
                model, plan, train, val, seed=seed, cache_dir=cache, guard=guard, placement=placement
            )
        model.class_names = list(train.class_names)
        evaluation = evaluate_classifier(model, val)
        seconds = {"load_data": loaded, "train": sum(p["seconds"] for p in phases), "total": 0.0}
        report = build_report(
            plan=plan, evaluation=evaluation, train=train, val=val, history=history, phases=phases, status=status,
            seconds=seconds, placement=placement.to_dict(),
        )  # fmt: skip
        report["seconds"]["total"] = round(time.perf_counter() - clock, 3)  # exports and plots not included
        if out_dir is not None:
            write_outputs(
                out_dir, model=model, report=report, evaluation=evaluation, train=train, val=val,
                formats=run.export, config=config, started=started,
            )  # fmt: skip
            guard.finish()
    kept = out_dir if placement.is_chief else None  # a non-chief worker's folder was temporary
    say(summary_line(report, kept))
    return FinetuneResult(model, history, plan, evaluation, report, kept, placement)


def placement_for(run: RunOptions, batch_size: int, resume: bool) -> Placement:
    """The run's placement (batch_size per replica); resuming on several machines is refused."""
    placement = place(
        run.device, precision=run.precision, xla=run.xla, batch_size=batch_size, lr_scaling=run.lr_scaling
    )
    if resume and placement.cluster is not None:
        raise BadDevice(
            "resume=True is not supported on several machines (the workers' checkpoints are not shared); "
            "start the run again with a new output folder"
        )
    return placement


def scaled_plan(plan: FinetunePlan, placement: Placement) -> FinetunePlan:
    """The plan with its learning rates scaled for the placement's replicas, and a note saying so."""
    factor = placement.lr_factor
    if factor == 1.0:
        return plan
    phases = tuple(replace(phase, learning_rate=phase.learning_rate * factor) for phase in plan.phases)
    note = (
        f"learning rates x{factor:.3g} for {placement.replicas} replicas ({placement.lr_rule} rule); batch "
        f"{plan.batch_size} is the global batch ({placement.batch_size} per replica)"
    )
    return replace(plan, phases=phases, notes=(*plan.notes, note))


def run_config(plan: FinetunePlan, *, seed: int, epochs: Any, augment: Any, strict: bool, run: RunOptions) -> dict:
    """The settings that define the run: what the run card records and what resuming must match."""
    return {
        "model": plan.model_name,
        "seed": seed,
        "epochs": list(epochs) if isinstance(epochs, tuple) else epochs,
        "batch_size": plan.batch_size,
        "augment": asdict(plan.augmentation) if plan.augmentation else False,
        "strict": strict,
        "deterministic": run.deterministic,
        "settings": asdict(plan.settings),
        "phases": [(phase.name, phase.epochs) for phase in plan.phases],
    }


def resume_hint(run: RunOptions, out: Any) -> str:
    if run.resume_command:
        return run.resume_command
    return f"call finetune(...) again with the same arguments, out={str(out)!r} and resume=True"


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


def run_phases(
    model: keras.Model,
    plan: FinetunePlan,
    train: LabelledData,
    val: LabelledData,
    *,
    seed: int,
    cache_dir: Path,
    guard: RunGuard,
    placement: Placement,
) -> tuple[dict[str, list[float]], list[dict[str, Any]], str]:
    """Carry the plan's phases out in order on the placement; returns the joined history, one record per phase,
    and the status. Under a strategy or another precision a copy of `model` built on the placement trains, and its
    weights are copied back into `model` at the end (the user's model stays a plain one: exports work as ever)."""
    start = guard.begin(model)  # a resumed run: weights loaded, history so far
    with lost_workers_reported(placement.cluster), placement.scope():
        trained = placed_model(model, placement)
        outcome = train_phases(trained, plan, train, val, start, seed=seed, cache_dir=cache_dir, guard=guard,
                               placement=placement)  # fmt: skip
    if trained is not model:
        model.set_weights(trained.get_weights())
    return outcome


def train_phases(
    model: keras.Model,
    plan: FinetunePlan,
    train: LabelledData,
    val: LabelledData,
    start: Any,
    *,
    seed: int,
    cache_dir: Path,
    guard: RunGuard,
    placement: Placement,
) -> tuple[dict[str, list[float]], list[dict[str, Any]], str]:
    """The phases, from where `start` says (fresh or resumed), on `model` as placed."""
    inputs = (model_inputs(train.x, model), model_inputs(val.x, model))
    weights = sample_weights(train.y, plan.num_classes, plan.settings.class_weighting)
    augmenter = augmenter_for(plan.augmentation, seed)
    history, records = start.history, start.records
    shared: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # lower-trunk caches both phases use
    for index, phase in enumerate(plan.phases):
        if phase.epochs == 0 or start.skips(index):
            continue
        setup = phase_setup(model, phase, plan.settings, augmenter)
        compile_phase(setup, model, phase, plan.settings, len(train), plan.batch_size, placement)
        initial = guard.restore(start, setup.trainer) if index == start.phase else 0
        if setup.extractor is not None:
            guard.say(f"phase {index + 1}/{len(plan.phases)} {phase.name}: computing the cached features")
        prepared = time.perf_counter()
        with placement.inference_device():  # the cache: one inference pass on one device (zoo.training.feature_cache)
            arrays = phase_arrays(setup, phase, inputs, cache_dir, index, shared)
        prepared = time.perf_counter() - prepared
        validation = (arrays[1][0], val.y)  # what the phase's trainer is scored on (features or images)
        callbacks = guard.callbacks(plan, index, phase, model, history, records, validation)
        with guard.watching(index):
            part, seconds = fit_phase(
                setup, arrays, (train.y, val.y), weights, num_classes=plan.num_classes, epochs=phase.epochs,
                batch_size=plan.batch_size, seed=seed + index, callbacks=callbacks, initial_epoch=initial,
                placement=placement,
            )  # fmt: skip
        history = {key: [*history.get(key, []), *values] for key, values in part.items()}
        nan_epoch = guard.nan_stopped(callbacks)
        records = [*records, {
            "name": phase.name, "epochs_run": initial + len(part.get("loss", [])), "seconds": seconds + prepared,
            "cache_seconds": prepared, "stopped_early": guard.stopped_early(callbacks), "non_finite_at": nan_epoch,
        }]  # fmt: skip
        guard.save(model, None, index, phase.epochs, True, history, records)  # the phase's best weights, done
        if nan_epoch is not None:
            status = f"stopped in phase {index + 1} epoch {nan_epoch}: the loss became NaN or infinite; "
            return history, records, status + "the last finite weights were kept"
    return history, records, "completed"
