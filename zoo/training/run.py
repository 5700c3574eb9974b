"""`finetune(model, data)`: train a zoo model on your labelled data the careful way, in one call.

data -> checked LabelledData -> plan (printable) -> phases (frozen trunk + cached features, then the top blocks at
lower, per-block learning rates with BatchNorm pinned) -> evaluation -> outputs (model files, plots, report.json).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import keras

from zoo.data import LabelledData
from zoo.data.progress import silent
from zoo.errors import BadDevice, BadOverride
from zoo.hardware.cluster import worker_cache_dir, worker_output
from zoo.hardware.placement import Placement, place
from zoo.layers.lora import enable_lora
from zoo.results.export import DEFAULT_FORMATS
from zoo.results.outputs import FinishedRun, build_report, summary_line, write_outputs
from zoo.results.run_card import now
from zoo.results.run_folder import RunMarker, owned
from zoo.results.scoring.evaluation import Evaluation, evaluate_classifier
from zoo.results.scoring.multilabel_evaluation import MultilabelEvaluation, evaluate_multilabel
from zoo.training.faults import RunGuard, fingerprint_of
from zoo.training.inputs import LoaderOptions, head_for, load_split
from zoo.training.phase_fit import TrainingRun, run_phases
from zoo.training.plan import Augmentation, FinetunePlan, PlanSettings, make_plan
from zoo.training.preflight import check_output_folder, check_tensorboard, export_formats
from zoo.training.seeding import seed_everything
from zoo.version import __version__


@dataclass
class FinetuneResult:
    """What finetune returns: the trained model (class names set), per-epoch history, the plan, scores, report."""

    model: keras.Model
    history: dict[str, list[float]]
    plan: FinetunePlan
    evaluation: Evaluation | MultilabelEvaluation
    report: dict[str, Any]
    out_dir: Path | None  # None also on a worker that is not the chief (the chief writes the outputs)
    placement: Placement | None = None


@dataclass(frozen=True)
class RunOptions:
    """finetune options that do not change the plan: reproducibility, outputs, caching, messages."""

    deterministic: bool = False  # TensorFlow op determinism: repeatable to the bit on one machine, slower
    force: bool = False  # replace an earlier run's outputs in `out` (zoo's own files only; its checkpoints go)
    export: Sequence[str] = DEFAULT_FORMATS  # formats written to `out` (model.keras always)
    cache_dir: str | Path | None = None  # where big feature caches go (default: a temporary folder)
    verbose: bool | str = True  # plan, epoch and cache lines, summary; "epochs": only epoch and cache lines; False
    resume_command: str | None = None  # printed on Ctrl-C (the CLI passes the command line that resumes)
    device: str | None = None  # auto, cpu, gpu, gpu:N, all, tpu, or a list (gpu:0,gpu:1); None: $ZOO_DEVICE or auto
    precision: str = "auto"  # auto, float32, mixed_float16, mixed_bfloat16 (zoo.hardware.precision)
    xla: bool | None = None  # None: Keras decides (on for one GPU where every layer supports it)
    tensorboard: str | Path | None = None  # TensorBoard log folder (one sub-folder per phase); needs the extra
    lr_scaling: str = "sqrt"  # how learning rates grow with the replicas: sqrt, linear, none (zoo.hardware.placement)
    # A metric (name, greater_is_better, score(y, outputs)) that early stopping and the restored best epoch follow
    # instead of val_loss: zoo.kaggle passes the competition's. None: val_loss.
    monitor: Any = None


OPTION_GROUPS = (RunOptions, LoaderOptions, PlanSettings)  # what finetune's **options may name, in this order


def split_options(options: dict[str, Any]) -> tuple[RunOptions, LoaderOptions, dict[str, Any]]:
    """finetune's **options sorted into run, data-loading and plan settings; an unknown name is refused."""
    groups = [{f.name for f in fields(kind)} for kind in OPTION_GROUPS]
    unknown = sorted(set(options) - set().union(*groups))
    if unknown:
        known = ", ".join(sorted(set().union(*groups)))
        raise BadOverride(f"finetune does not take {', '.join(map(repr, unknown))}; it takes: {known}")
    picked = [{k: v for k, v in options.items() if k in group} for group in groups]
    return RunOptions(**picked[0]), LoaderOptions(**picked[1]), picked[2]


@dataclass(frozen=True)
class FinetuneCall:
    """One finetune call's arguments besides the model and the data, its **options sorted (split_options)."""

    validation: Any
    epochs: int | tuple[int, int] | None
    batch_size: int  # per replica
    augment: bool | str | Sequence[str] | Augmentation
    seed: int
    out: str | Path | None
    strict: bool
    resume: bool
    run: RunOptions
    loader: LoaderOptions
    plan_options: dict[str, Any]
    model_name: str = ""

    def say(self, text: str) -> None:
        """Print `text` when the call is fully verbose (verbose=True; "epochs" prints only say_progress's lines)."""
        if self.run.verbose and self.run.verbose != "epochs":
            print(text)

    @property
    def say_progress(self) -> Callable[[str], None]:
        """Epoch lines (and their bars on a terminal), cache and resume lines: printed unless verbose=False."""
        return print if self.run.verbose else silent

    def guard(self, out_dir: Path | None, fingerprint: dict[str, Any]) -> RunGuard:
        """The run's guard: checkpoints in `out_dir` (if any), a resume checked against `fingerprint`."""
        hint = self.run.resume_command or (
            f"call finetune(...) again with the same arguments, out={str(self.out)!r} and resume=True"
        )
        if out_dir is not None and not self.resume:  # the marker says what made the run (resume keeps the first)
            replace(self.marker, fingerprint=fingerprint).write(out_dir)
        say, monitor = self.say_progress, self.run.monitor
        return RunGuard(out_dir, fingerprint, resume=self.resume, say=say, hint=hint, monitor=monitor)

    def owned(self, out_dir: Path | None, model: keras.Model, data: Any) -> AbstractContextManager:
        """The output folder checked (writable, room, outside the data), claimed and locked for the run."""
        if out_dir is None:
            if self.resume:
                raise BadOverride("resume=True needs the output folder of the stopped run: pass out=DIR (--out DIR)")
            return nullcontext()
        export_formats(self.run.export)
        check_output_folder(out_dir, data, model.count_params())
        return owned(out_dir, self.marker, resume=self.resume, force=self.run.force, say=self.say)

    @property
    def marker(self) -> RunMarker:
        return RunMarker("finetune", self.model_name, version=__version__)


def finetune(
    model: keras.Model,
    data: Any,
    *,
    validation: Any = None,
    epochs: int | tuple[int, int] | None = None,
    batch_size: int = 32,
    augment: bool | str | Sequence[str] | Augmentation = True,
    seed: int = 0,
    out: str | Path | None = None,
    strict: bool = False,
    resume: bool = False,
    **options: Any,
) -> FinetuneResult:
    """Fine-tune `model` (a zoo backbone or recipe) on `data` (anything zoo.data.load_data takes).

    Prints the placement, the plan, one line per epoch and a summary; with `out`, writes model.keras, exports,
    plots, report.json, skipped.csv and run_card.json there, and keeps resumable checkpoints.

    Keyword options:
        validation: held-out data (same kinds as `data`); None splits it off `data` (stratified, seeded).
        epochs: total epochs (split head / fine-tune), a (head, fine-tune) pair, or None for the defaults (10 + 10).
        batch_size: examples per step on each replica (the global batch is this times the replicas).
        augment: "light" (= True: flips, rotation, zoom, contrast for images), "strong" (light + RandAugment on
            half the images), a list of names (flip, rotation, zoom, contrast, randaugment, and mixup or cutmix),
            False, or an Augmentation (zoo.layers.augment says how each combines with cached features and soft
            labels).
        seed: seeds Python, NumPy, TensorFlow, the split and the augmentation.
        out: output folder for the model files, plots, report.json, skipped.csv, run_card.json and checkpoints.
        strict: raise on an unreadable file instead of skipping it (and listing it in skipped.csv).
        resume: continue the stopped run in `out` from its newest checkpoint.
      Plan settings (PlanSettings):
        unfreeze: what phase 2 unfreezes: "top" (top quarter of the blocks), N blocks, a fraction, "all", "none".
        head_lr: learning rate of the head phase (1e-3).
        finetune_lr: peak learning rate of the fine-tuning phase (default head_lr / 10).
        scratch_lr: learning rate of a model without a backbone (default: the one it was compiled with).
        warmup_epochs: epochs of linear warm-up before the cosine decay of phase 2 (1).
        schedule: "cosine" (a constant head phase, then warm-up + cosine decay) or "one_cycle" (fastai's one-cycle
            in every phase: up from a 25th of the peak over a quarter of the steps, then cosine down).
        lora: rank of LoRA adapters on a transformer trunk's query/value projections (0: none; merged when saved).
        ema: keep an exponential moving average of the weights while training and end with it (False).
        block_lr_decay: each earlier unfrozen block learns this much slower than the one above it (0.8).
        label_smoothing: of the cross-entropy loss (0.1).
        dropout: added before the head while training, when the model has no dropout of its own (0.2).
        patience: epochs without a better val_loss before early stopping; best weights restored (3).
        views: augmented views cached per image while the trunk is frozen; 0 recomputes every epoch (4).
        class_weighting: balanced class weights, so rare classes count as much as common ones (True).
        validation_fraction: share of `data` held out when no `validation` is given (0.2).
        memory_limit: bytes above which feature caches go to disk (2 GiB).
      Run options (RunOptions):
        deterministic: TensorFlow op determinism: repeatable to the bit on one machine, slower.
        force: replace an earlier run's outputs in `out` (only zoo's own files; its checkpoints are removed).
        export: formats written to `out` (model.keras always): keras and runtime (the default: the file `zoo predict`
            runs), savedmodel, onnx, tflite, tflite_fp16, tflite_int8 (quantized; checked by validation accuracy).
        cache_dir: folder for on-disk feature caches (default: a temporary folder removed after the run).
        verbose: print the plan, one line per epoch and the summary (True); "epochs": only the epoch lines.
        tensorboard: folder for TensorBoard logs, one sub-folder per phase (pip install 'zoo-keras[tensorboard]').
        resume_command: what to print on Ctrl-C as the way to resume (the CLI passes its command line).
        device: auto, cpu, gpu, gpu:N, all, tpu, or a list (gpu:0,gpu:1); None: $ZOO_DEVICE or auto.
        precision: auto, float32, mixed_float16 or mixed_bfloat16.
        xla: compile with XLA (True/False); None lets Keras decide.
        lr_scaling: how learning rates grow with the replicas: sqrt, linear or none.
        monitor: a metric (name, greater_is_better, score(y, outputs)) early stopping follows instead of val_loss.
      Reading options (LoaderOptions, passed to zoo.data.load_data):
        labels: labels for a list of files or an array of images.
        id_col: a CSV's column of file names or ids.
        label_col: a CSV's column of labels; several, comma-separated ("a,b,c"): multi-label 0/1 columns.
        multi_label: the label column holds space-separated tags: a sigmoid per label, binary cross-entropy,
            per-label thresholds chosen on the validation data (saved with the model; zoo predict uses them).
        image_dir: folder the CSV's file names are relative to.
        extension: added to ids that have none (".png").
        pixel_cols: a CSV's pixel-column prefix, read as images (None: pixel0..pixelN when present).
        pixel_shape: "HxW" or "HxWxC" of those columns where the count is not a square (or 3x a square).
        data_dir: TensorFlow Datasets' data folder, for a TFDS name.
        split: the TFDS split of `data` (e.g. "train").
        validation_split: the TFDS split of `validation` when it is a TFDS name.
        progress: show a progress line while decoding images (True).
    """
    started, clock = now(), time.perf_counter()
    arguments = (validation, epochs, batch_size, augment, seed, out, strict, resume, *split_options(options))
    call = FinetuneCall(*arguments, model_name=getattr(model, "entry_name", None) or model.name)
    check_tensorboard(call.run.tensorboard)
    placement = placement_for(call)
    out_folder = Path(out) if out is not None else None
    with worker_output(out_folder, placement.cluster) as out_dir, call.owned(out_dir, model, data):
        seed_everything(seed, call.run.deterministic)
        train, val, load_seconds = loaded_data(model, data, call)
        call.say(f"data: {train.origin}")  # where the examples came from (pixel columns read as images say so)
        model = head_for(model, train.class_names, call.say, multilabel=train.multilabel)
        lora_rank = PlanSettings.from_options(call.plan_options).lora
        if lora_rank:
            call.say(f"LoRA: rank-{lora_rank} adapters on {enable_lora(model, lora_rank)} attention projections")
        plan = plan_for(model, train, val, call, placement)
        announce(plan, placement, call)
        config = run_config(plan, call)
        guard = call.guard(out_dir, fingerprint_of(config, train, val))
        cache = worker_cache_dir(call.run.cache_dir, placement.cluster)
        logs = Path(call.run.tensorboard) if call.run.tensorboard is not None else None
        run = TrainingRun(model, plan, train, val, seed, cache, guard, placement, logs)
        finished = trained(run, config, started)
        report = report_of(finished, load_seconds, clock)
        if out_dir is not None:
            write_outputs(out_dir, model, report, finished, call.run.export, call.say_progress)
            guard.finish()
    kept = out_dir if placement.is_chief else None  # a non-chief worker's folder was temporary
    if train.multilabel:  # per-label thresholds, F1 and AUC: what zoo predict will use
        call.say(finished.evaluation.summary())
    call.say(summary_line(report, kept))
    return FinetuneResult(model, finished.history, plan, finished.evaluation, report, kept, placement)


def placement_for(call: FinetuneCall) -> Placement:
    """The run's placement (batch_size per replica); resuming on several machines is refused."""
    run = call.run
    placement = place(
        run.device, precision=run.precision, xla=run.xla, batch_size=call.batch_size, lr_scaling=run.lr_scaling
    )
    if call.resume and placement.cluster is not None:
        raise BadDevice(
            "resume=True is not supported on several machines (the workers' checkpoints are not shared); "
            "start the run again with a new output folder"
        )
    return placement


def loaded_data(model: keras.Model, data: Any, call: FinetuneCall) -> tuple[LabelledData, LabelledData, float]:
    """(train, validation) as the model takes them, and the seconds reading them took."""
    holdout = (PlanSettings.from_options(call.plan_options).validation_fraction, call.seed)
    started = time.perf_counter()
    train, val = load_split(model, data, call.validation, strict=call.strict, holdout=holdout, loader=call.loader)
    return train, val, time.perf_counter() - started


def plan_for(
    model: keras.Model, train: LabelledData, val: LabelledData, call: FinetuneCall, placement: Placement
) -> FinetunePlan:
    """make_plan's plan for this data and the placement's global batch, its learning rates scaled for the replicas."""
    plan = make_plan(
        model,
        len(train),
        epochs=call.epochs,
        batch_size=placement.global_batch,
        augment=call.augment,
        num_classes=len(train.class_names),
        validation_size=len(val),
        multilabel=train.multilabel,
        **call.plan_options,
    )
    return scaled_plan(plan, placement)


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


def announce(plan: FinetunePlan, placement: Placement, call: FinetuneCall) -> None:
    """Say where the run trains and what it will do, before it does it."""
    call.say(placement.describe())
    call.say(str(plan))
    if call.run.monitor is not None:
        call.say(f"  early stopping follows val_{call.run.monitor.name} (the given metric) instead of val_loss")


def run_config(plan: FinetunePlan, call: FinetuneCall) -> dict:
    """The settings that define the run: what the run card records and what resuming must match."""
    return {
        "model": plan.model_name,
        "seed": call.seed,
        "epochs": list(call.epochs) if isinstance(call.epochs, tuple) else call.epochs,
        "batch_size": plan.batch_size,
        "augment": asdict(plan.augmentation) if plan.augmentation else False,
        "strict": call.strict,
        "deterministic": call.run.deterministic,
        # Where a feature cache lives (memory_limit, from the free RAM) never changes the numbers: not part of a run.
        "settings": {key: value for key, value in asdict(plan.settings).items() if key != "memory_limit"},
        "phases": [(phase.name, phase.epochs) for phase in plan.phases],
    }


def trained(run: TrainingRun, config: dict[str, Any], started: str) -> FinishedRun:
    """Carry the run out, then score the trained model (its class names set) on the validation data."""
    history, phases, status = run_phases(run)
    run.model.class_names = list(run.train.class_names)
    if run.train.multilabel:  # thresholds chosen on the validation data travel with the model (model.keras)
        evaluation = evaluate_multilabel(run.model, run.val)
        run.model.thresholds = evaluation.thresholds.astype(float).tolist()
    else:
        evaluation = evaluate_classifier(run.model, run.val)
    placement = run.placement.to_dict()
    return FinishedRun(run.plan, config, started, run.train, run.val, history, phases, status, evaluation, placement)


def report_of(finished: FinishedRun, load_seconds: float, clock: float) -> dict[str, Any]:
    """report.json's content, timed from `clock` (the call's start; exports and plots not included)."""
    seconds = {"load_data": load_seconds, "train": sum(p["seconds"] for p in finished.phases), "total": 0.0}
    report = build_report(finished, seconds)
    report["seconds"]["total"] = round(time.perf_counter() - clock, 3)
    return report
