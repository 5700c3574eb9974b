"""`zoo finetune NAME DATA` and `zoo lr-find NAME DATA`: fine-tune a catalogue model on your data from the shell.

Only argparse is imported here; TensorFlow and the training code load inside the command functions, so `zoo --help`
stays fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from zoo.cli.data_options import add_csv_options, csv_options
from zoo.errors import BadModelFile, BadOverride, ZooError, describe_os_error, os_refusal
from zoo.results.run_folder import RunMarker, owned
from zoo.version import __version__

DATA_HELP = "a folder of class sub-folders, a CSV of files and labels, or a TFDS name (tfds:NAME)"
EXIT_STOPPED, EXIT_INTERRUPTED = 1, 130  # a run that ended on a NaN loss; Ctrl-C (128 + SIGINT), as shells do


def add_data_options(parser: argparse.ArgumentParser) -> None:
    add_csv_options(parser)
    parser.add_argument("--image-size", type=int, help="train at this height = width (backbones; default: theirs)")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, the augmentation and the weights")
    parser.add_argument("--strict", action="store_true", help="stop on the first unreadable file instead of skipping")


def add_finetune_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add `finetune` and `lr-find` to the `zoo` command's subparsers."""
    tune = subparsers.add_parser(
        "finetune",
        help="fine-tune a catalogue model on labelled data; writes the model, exports, plots and report.json",
        description="Train NAME (a backbone gets a new head; a recipe trains from scratch) on DATA with a stratified "
        "validation split, then write model.keras, exports, plots, report.json, skipped.csv and run_card.json to "
        "--out. Prints the plan first, one line per epoch, and a summary.",
    )
    tune.add_argument("name", metavar="NAME", help="a catalogue name (see `zoo list`) or a saved .keras file")
    tune.add_argument("data", metavar="DATA", help=DATA_HELP)
    tune.add_argument("--epochs", type=int, help="total epochs, split between the head and fine-tuning phases")
    tune.add_argument("--out", type=Path, help="output folder (default: ./finetune-NAME)")
    tune.add_argument("--no-augment", action="store_true", help="no augmentation: frozen features are cached once")
    tune.add_argument(
        "--augment",
        help="light (default: flips, rotation, zoom, contrast), strong (light + RandAugment on half the images), "
        "none, or a list such as flip,rotation,randaugment,cutmix",
    )
    tune.add_argument("--resume", action="store_true", help="continue a stopped run from its last checkpoint in --out")
    tune.add_argument("--force", action="store_true", help="replace an earlier run's outputs in --out")
    tune.add_argument("--deterministic", action="store_true", help="deterministic TensorFlow ops (slower)")
    tune.add_argument(
        "--export",
        default="keras,runtime",
        help="formats to export, comma-separated (default %(default)s: model.keras and the file zoo predict runs, "
        "OpenVINO IR; also savedmodel, tflite, onnx, and tflite_fp16, tflite_int8: quantized, scored on the "
        "validation set)",
    )
    tune.add_argument(
        "--tensorboard", type=Path, metavar="DIR", help="also log to DIR for TensorBoard (history.csv: always)"
    )
    add_recipe_options(tune)
    add_placement_options(tune)
    add_data_options(tune)
    tune.set_defaults(run=cmd_finetune)

    find = subparsers.add_parser(
        "lr-find",
        help="learning-rate range test: plot loss against learning rate and suggest one",
        description="Raise the learning rate exponentially over a few hundred steps of what fine-tuning trains "
        "first, plot the smoothed loss (lr_find.png in --out) and print the suggested rate.",
    )
    find.add_argument("name", metavar="NAME", help="a catalogue name (see `zoo list`) or a saved .keras file")
    find.add_argument("data", metavar="DATA", help=DATA_HELP)
    find.add_argument("--out", type=Path, help="folder for lr_find.png (default: ./lr-find-NAME)")
    find.add_argument("--steps", type=int, default=200, help="steps of the sweep (default 200)")
    add_data_options(find)
    find.set_defaults(run=cmd_lr_find)


def unfreeze_value(text: str) -> str | int | float:
    """--unfreeze: top, all, none, a number of blocks (3) or a fraction of them (0.5)."""
    if text in ("top", "all", "none"):
        return text
    try:
        return int(text) if text.isdigit() else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use top, all, none, a number of blocks or a fraction") from None


def add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """The plan's knobs most often changed: learning rate and schedule, what unfreezes, early stopping, validation."""
    parser.add_argument(
        "--lr",
        type=float,
        help="learning rate of the head phase (or of a model trained from scratch), e.g. the "
        "one `zoo lr-find` suggests; fine-tuning then peaks at a tenth of it (default 1e-3)",
    )
    parser.add_argument(
        "--unfreeze",
        type=unfreeze_value,
        help="what phase 2 unfreezes: top (default: the top quarter of the "
        "blocks), all, none, a number of blocks or a fraction of them",
    )
    parser.add_argument(
        "--schedule",
        choices=("cosine", "one_cycle"),
        help="cosine (default: constant head phase, then warm-up + cosine decay) or one_cycle (fastai's, every phase)",
    )
    parser.add_argument("--patience", type=int, help="epochs without a better val_loss before stopping (default 3)")
    parser.add_argument(
        "--lora", type=int, metavar="RANK",
        help="LoRA adapters of this rank on a transformer trunk's attention (hub vit/deit/dinov2/siglip/clip); only "
        "they train in the trunk (with --unfreeze all: all of them in phase 2); merged into model.keras",
    )
    parser.add_argument("--ema", action="store_true", help="keep a moving average of the weights and end with it")
    parser.add_argument(
        "--validation", help="held-out data (same kinds as DATA), or the share of DATA to hold out (default 0.2)"
    )


def recipe_options(args: argparse.Namespace) -> dict[str, Any]:
    """finetune's validation and plan settings from --lr, --unfreeze, --schedule, --patience, --lora, --ema and
    --validation."""
    options: dict[str, Any] = {"validation": None}
    if args.lr is not None:
        options.update(head_lr=args.lr, scratch_lr=args.lr)
    if args.unfreeze is not None:
        options["unfreeze"] = args.unfreeze
    if args.patience is not None:
        options["patience"] = args.patience
    if args.schedule is not None:
        options["schedule"] = args.schedule
    if args.lora:
        options["lora"] = args.lora
    if args.ema:
        options["ema"] = True
    fraction = validation_fraction(args.validation)
    if fraction is not None:
        options["validation_fraction"] = fraction
    elif args.validation is not None:
        options["validation"] = args.validation
    return options


def validation_fraction(value: str | None) -> float | None:
    """--validation as a share of DATA (a number), or None when it names data (or is absent)."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def add_placement_options(parser: argparse.ArgumentParser) -> None:
    """Where and how the run computes: --device, --precision, --xla (zoo.hardware.placement)."""
    parser.add_argument(
        "--device",
        help="auto (default, or $ZOO_DEVICE): TPU, else every GPU, else one GPU, else the CPU; or cpu, gpu, gpu:N, "
        "all (every local GPU), tpu, or a list such as gpu:0,gpu:1. With TF_CONFIG (or a SLURM job step) set, "
        "every worker runs this same command and they train one model together; the chief writes --out",
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_float16", "mixed_bfloat16"),
        default="auto",
        help="auto: mixed float16 on GPUs of compute capability 7.0 and up, mixed bfloat16 on TPUs, else float32",
    )
    parser.add_argument(
        "--xla",
        choices=("auto", "on", "off"),
        default="auto",
        help="XLA compilation (auto: where every layer supports it; off with several replicas)",
    )


def placement_options(args: argparse.Namespace) -> dict[str, Any]:
    """finetune's device, precision and xla options from the flags."""
    return {"device": args.device, "precision": args.precision, "xla": {"on": True, "off": False}.get(args.xla)}


def model_and_data(args: argparse.Namespace) -> tuple[Any, Any]:
    """The data read at the model's input size, then the model with one output per class of the data."""
    from zoo.catalogue import default_catalogue
    from zoo.data import load_data
    from zoo.loading.assemble import load, load_saved
    from zoo.training.seeding import seed_everything

    seed_everything(args.seed)  # before loading: a new head's initial weights then repeat too
    if args.name.endswith(".keras"):
        model = load_saved(args.name)
        shape = tuple(model.input_shape[1:])
    else:
        entry = default_catalogue().get(args.name)
        shape = tuple(entry.hparams.get("input_shape", entry.input_shape))
        if args.image_size and len(shape) == 3:
            shape = (args.image_size, args.image_size, shape[2])
    size, channels = (shape[:2], shape[2]) if len(shape) == 3 else (None, 3)
    data = load_data(args.data, image_size=size, channels=channels, strict=args.strict, **csv_options(args).keywords())
    if args.name.endswith(".keras"):
        return model, data
    overrides: dict[str, Any] = {"num_classes": len(data.class_names)} if "num_classes" in entry.hparams else {}
    if "input_shape" in entry.hparams:
        overrides["input_shape"] = shape
    return load(args.name, **overrides), data


def resume_argv(args: argparse.Namespace, out: Path) -> list[str]:
    """The arguments of this command with --resume added: what Ctrl-C prints so the run can go on."""
    argv = ["finetune", args.name, args.data, "--out", str(out), "--batch-size", str(args.batch_size)]
    argv += ["--seed", str(args.seed), "--export", args.export]
    recipe = [("--lr", args.lr), ("--unfreeze", args.unfreeze), ("--patience", args.patience)]
    recipe += [("--schedule", args.schedule)]
    recipe += [("--validation", args.validation), ("--epochs", args.epochs), ("--image-size", args.image_size)]
    recipe += [("--tensorboard", args.tensorboard), ("--augment", args.augment)]
    for flag, value in [*recipe, *loader_flags(args).items()]:
        if value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    argv += [flag for flag, on in (("--no-augment", args.no_augment), ("--strict", args.strict)) if on]
    argv += ["--deterministic"] if args.deterministic else []
    argv += ["--device", args.device] if args.device else []
    for flag, value in (("--precision", args.precision), ("--xla", args.xla)):
        argv += [flag, value] if value != "auto" else []
    return [*argv, "--resume"]


def loader_flags(args: argparse.Namespace) -> dict[str, Any]:
    return {f"--{key.replace('_', '-')}": value for key, value in csv_options(args).keywords().items()}


def check_at_the_door(args: argparse.Namespace, out: Path) -> tuple[str, ...]:
    """Every check that needs no TensorFlow, before any model is built or image decoded; the export formats."""
    from zoo.catalogue import default_catalogue
    from zoo.training import preflight

    entry = None if args.name.endswith(".keras") else default_catalogue().get(args.name)
    if entry is None and not Path(args.name).is_file():
        raise BadModelFile(f"{args.name}: no such model file (NAME is a catalogue name or a saved .keras file)")
    formats = preflight.export_formats(getattr(args, "export", "keras"))
    preflight.check_positive("--epochs", getattr(args, "epochs", None))
    preflight.check_positive("--batch-size", args.batch_size)
    preflight.check_image_size(args.image_size, entry)
    preflight.check_data_exists(args.data)
    check_recipe_options(args)
    preflight.check_tensorboard(getattr(args, "tensorboard", None))
    preflight.check_augment(getattr(args, "augment", None))
    if entry is not None:
        preflight.check_model_takes_the_data(entry, args.data)
    params = entry.params if entry is not None else Path(args.name).stat().st_size // 4
    preflight.check_output_folder(out, args.data, params)
    return formats


def check_recipe_options(args: argparse.Namespace) -> None:
    """--lr, --patience and --validation checked before any work (finetune checks --unfreeze against the model)."""
    from zoo.training import preflight

    if getattr(args, "lr", None) is not None and not args.lr > 0:
        raise BadOverride(f"--lr {args.lr}: must be above 0 (`zoo lr-find` suggests one)")
    if getattr(args, "patience", None) is not None and args.patience < 0:
        raise BadOverride(f"--patience {args.patience}: must be 0 or more")
    fraction = validation_fraction(getattr(args, "validation", None))
    if fraction is not None and not 0 < fraction < 1:
        raise BadOverride(f"--validation {args.validation}: a share of DATA must be between 0 and 1 (e.g. 0.2)")
    if fraction is None and getattr(args, "validation", None) is not None:
        try:
            preflight.check_data_exists(args.validation)
        except ZooError as error:
            raise type(error)(f"--validation: {error}") from None


def cmd_finetune(args: argparse.Namespace) -> int:
    out = args.out or Path(f"finetune-{Path(args.name).stem}")
    formats = check_at_the_door(args, out)
    from zoo.hardware.placement import place
    from zoo.training.run import finetune

    placement = placement_options(args)
    place(**placement)  # first: several machines need their strategy before TensorFlow runs anything
    resume = shlex.join(["zoo", *resume_argv(args, out)])
    marker = RunMarker("finetune", Path(args.name).stem, version=__version__)
    try:
        with owned(out, marker, resume=args.resume, force=args.force):  # before reading data: a 2nd writer stops now
            model, data = model_and_data(args)
            result = finetune(
                model,
                data,
                epochs=args.epochs,
                **recipe_options(args),
                batch_size=args.batch_size,
                augment=False if args.no_augment else args.augment or True,
                seed=args.seed,
                out=out,
                strict=args.strict,
                resume=args.resume,
                force=args.force,
                deterministic=args.deterministic,
                export=formats,
                resume_command=resume,
                tensorboard=args.tensorboard,
                **placement,
            )
    except KeyboardInterrupt as interrupt:
        if not getattr(interrupt, "reported", False):  # outside training (reading data, caching, exports, plots)
            print(f"\nzoo: finetune interrupted (Ctrl-C); go on with: {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # disk full, read-only, permissions: say where, and how to go on
        refusal = os_refusal(error)  # None for a ZooError (OutputExists is a FileExistsError too): one line already
        if refusal is None:
            raise
        refusal.filename = refusal.filename or str(out)
        raise ZooError(f"{describe_os_error(refusal)}; resume from the last checkpoint with: {resume}") from None
    return 0 if result.report["status"] == "completed" else EXIT_STOPPED


def cmd_lr_find(args: argparse.Namespace) -> int:
    from zoo.training.lr_find import lr_find

    out = args.out or Path(f"lr-find-{Path(args.name).stem}")
    check_at_the_door(args, out)
    marker = RunMarker("lr-find", Path(args.name).stem, version=__version__)
    with owned(out, marker, resume=False, force=True):  # a new sweep replaces an earlier one's plot
        model, data = model_and_data(args)
        result = lr_find(model, data, steps=args.steps, batch_size=args.batch_size, seed=args.seed, out=out)
    print(f"suggested learning rate: {result.suggestion:.2e} ({result.method}; {result.stopped})")
    print(f"plot: {result.plot_path}")
    return 0
