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
from zoo.errors import BadModelFile, ZooError, describe_os_error
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
    tune.add_argument("--resume", action="store_true", help="continue a stopped run from its last checkpoint in --out")
    tune.add_argument("--force", action="store_true", help="replace an earlier run's outputs in --out")
    tune.add_argument("--deterministic", action="store_true", help="deterministic TensorFlow ops (slower)")
    tune.add_argument("--export", default="keras,savedmodel,tflite,onnx", help="formats to export, comma-separated")
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
    for flag, value in [("--epochs", args.epochs), ("--image-size", args.image_size), *loader_flags(args).items()]:
        if value is not None:
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
    if entry is not None:
        preflight.check_model_takes_the_data(entry, args.data)
    params = entry.params if entry is not None else Path(args.name).stat().st_size // 4
    preflight.check_output_folder(out, args.data, params)
    return formats


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
                batch_size=args.batch_size,
                augment=not args.no_augment,
                seed=args.seed,
                out=out,
                strict=args.strict,
                resume=args.resume,
                force=args.force,
                deterministic=args.deterministic,
                export=formats,
                resume_command=resume,
                **placement,
            )
    except KeyboardInterrupt as interrupt:
        if not getattr(interrupt, "reported", False):  # outside training (reading data, caching, exports, plots)
            print(f"\nzoo: finetune interrupted (Ctrl-C); go on with: {resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:  # disk full, read-only, permissions: say where, and how to go on
        if isinstance(error, ZooError):  # OutputExists is a FileExistsError too: already one clear line
            raise
        error.filename = error.filename or str(out)
        raise ZooError(f"{describe_os_error(error)}; resume from the last checkpoint with: {resume}") from None
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
