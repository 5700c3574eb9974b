"""`zoo kaggle train` and `zoo kaggle predict`: a competition's loop from train.csv to submission.csv.

Only argparse and the names of kinds and metrics at import (no NumPy); training code and TensorFlow load inside the
command functions, so `zoo --help` and `zoo list` stay fast.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from zoo.kaggle.task.choices import ALIASES, DEFAULT_METRIC, KINDS, METRIC_NAMES


def columns(text: str) -> tuple[str, ...]:
    """A comma-separated list of column names."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_train_parser(kaggle: argparse._SubParsersAction) -> None:
    train = kaggle.add_parser(
        "train",
        help="k-fold training: per-fold models, out-of-fold predictions and the CV score",
        description="Split train.csv into K folds (stratified; grouped with --group-col), train one model per fold on "
        "the others, score it on its own fold, and write config.json (with the command that re-runs it), folds.csv, "
        "fold_K/model.keras, oof.csv, cv.json and run_card.json to --out.",
    )
    train.add_argument("--train-csv", required=True, type=Path, help="the competition's train.csv")
    train.add_argument(
        "--images", type=Path, help="folder of training images named by id (else: pixel columns, or tabular features)"
    )
    train.add_argument(
        "--id-col",
        help="column of ids, any case (image file names, with or without extension); default: a column called id, "
        "else rows numbered 1..N",
    )
    train.add_argument(
        "--target-col",
        required=True,
        type=columns,
        help="target column, any case; several, comma-separated, for multi-label 0/1 columns",
    )
    train.add_argument(
        "--pixel-cols",
        metavar="PREFIX",
        help="columns PREFIX0..PREFIXN hold pixels read as images (default: pixel0..pixelN when present)",
    )
    train.add_argument("--pixel-shape", metavar="HxW[xC]", help="the pixels' image shape when their count is no square")
    train.add_argument("--tabular", action="store_true", help="read pixel columns as tabular features, not as images")
    train.add_argument("--out", required=True, type=Path, metavar="RUN", help="run folder")
    train.add_argument("--model", help="catalogue name (default: efficientnet_lite0 for images, mlp_tabular else)")
    train.add_argument("--task", choices=KINDS, help="target kind (default: inferred from the values and the metric)")
    aliases = ", ".join(f"{alias}={name}" for alias, name in ALIASES.items())
    defaults = ", ".join(f"{metric} for {kind}" for kind, metric in DEFAULT_METRIC.items())
    train.add_argument("--metric", help=f"one of {', '.join(METRIC_NAMES)} ({aliases}); default: {defaults}")
    train.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    train.add_argument("--group-col", help="column of groups kept within one fold (e.g. patient id)")
    train.add_argument("--seed", type=int, default=0, help="seeds the folds, the weights and the training order")
    train.add_argument("--epochs", type=int, help="epochs per fold (default: the trainer's; early stopping ends most)")
    train.add_argument("--batch-size", type=int, default=32, help="examples per step (default 32)")
    train.add_argument("--patience", type=int, default=3, help="epochs without improvement before stopping (3)")
    train.add_argument("--image-size", type=int, help="train at this height = width (default: the model's)")
    train.add_argument("--extension", help="extension of the image files when the ids lack it (default: found)")
    train.add_argument(
        "--augment",
        default=True,
        help="training augmentation, as finetune's --augment: light (default), strong, none, or a list such as "
        "rotation,zoom,mixup (MixUp/CutMix: classification targets only)",
    )
    train.add_argument("--no-augment", dest="augment", action="store_false", help="no training augmentation (none)")
    train.add_argument(
        "--no-group-duplicates",
        dest="group_duplicates",
        action="store_false",
        help="let near-duplicate images fall in different folds (default: one fold per group of near-copies)",
    )
    train.add_argument("--features", type=columns, help="tabular feature columns (default: all but id/target/group)")
    train.add_argument(
        "--categorical", type=columns, default=(), help="tabular columns to one-hot encode even if numeric"
    )
    train.add_argument("--weights", type=Path, help="a backbone weights file (or set $ZOO_WEIGHTS_DIR)")
    train.add_argument(
        "--zero-shot", action="store_true",
        help="no training: an image-text hub model (siglip_*, clip_*) scores the class names as label texts; a "
        "baseline with a CV score, predicted like any run",
    )
    train.add_argument(
        "--force", action="store_true", help="replace a zoo run with other settings in --out (only zoo's files)"
    )
    train.add_argument("--quiet", action="store_true", help="print nothing but errors")
    train.set_defaults(run=cmd_train)


def add_predict_parser(kaggle: argparse._SubParsersAction) -> None:
    predict = kaggle.add_parser(
        "predict",
        help="average a run's fold models (and TTA views) over the test set; write submission.csv",
        description="Predict the test rows with every fold model of --run, average, and write --out in the "
        "template's format (header, columns, id order): labels, probabilities or values as the run's metric needs.",
    )
    # dest run_dir: `run` is the command function main() calls
    predict.add_argument(
        "--run", dest="run_dir", required=True, type=Path, help="the --out of a `zoo kaggle train` run"
    )
    predict.add_argument("--test-csv", type=Path, help="test.csv: ids, pixel columns or tabular features")
    predict.add_argument("--template", type=Path, help="sample_submission.csv: header, columns and id order to copy")
    predict.add_argument("--images", type=Path, help="folder of test images named by id")
    predict.add_argument(
        "--id-col",
        help="id column of the test CSV and template, any case (default: train.csv's, else the template's first "
        "column; a test CSV without it is matched to the template's ids by row order, or numbered 1..N)",
    )
    predict.add_argument(
        "--target-col",
        type=columns,
        help="the template's target column(s), e.g. Label (default: train.csv's, as the template spells it)",
    )
    predict.add_argument("--extension", help="extension of the test images when the ids lack it (default: found)")
    predict.add_argument("--tta", type=int, default=1, help="views per image: 1 none, 2 + flip, 3 + centre crop, ... 8")
    predict.add_argument("--no-tta-flip", dest="tta_flip", action="store_false", help="TTA without mirrored views")
    predict.add_argument("--batch-size", type=int, default=64, help="images per prediction step (default 64)")
    predict.add_argument("--out", type=Path, default=Path("submission.csv"), help="default ./submission.csv")
    predict.add_argument("--force", action="store_true", help="replace an existing --out file")
    predict.add_argument("--quiet", action="store_true", help="print nothing but errors")
    predict.set_defaults(run=cmd_predict)


def add_blend_parser(kaggle: argparse._SubParsersAction) -> None:
    blend = kaggle.add_parser(
        "blend",
        help="weight several runs' out-of-fold predictions to maximise the metric; predict --run BLEND uses them",
        description="Fit non-negative weights summing to 1 (greedy ensemble selection; rank averaging for ROC AUC) "
        "on the runs' out-of-fold predictions, print the blended CV against each run's, and write blend.json and "
        "cv.json to --out. `zoo kaggle predict --run BLEND` then writes the blended submission.",
    )
    blend.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="the --out folders of `zoo kaggle train`")
    blend.add_argument("--out", required=True, type=Path, metavar="BLEND", help="blend folder")
    blend.add_argument("--force", action="store_true", help="replace a blend of other runs in --out")
    blend.add_argument("--quiet", action="store_true", help="print nothing but errors")
    blend.set_defaults(run=cmd_blend)


def add_bundle_parser(kaggle: argparse._SubParsersAction) -> None:
    from zoo.kaggle.submit.kit_wheels import DEFAULT_PLATFORM, DEFAULT_SKIP

    bundle = kaggle.add_parser(
        "bundle",
        help="an offline kit of a run to upload as a Kaggle dataset: wheels, the run, an inference notebook",
        description="Write KIT: wheels/ (zoo and the packages the target image lacks), run/ (what predict --run "
        "reads), predict.ipynb and predict.py (install from wheels/ with no network, write submission.csv) and "
        "README.txt. Give RUN before --skip.",
    )
    # dest run_dir: `run` is the command function main() calls
    bundle.add_argument("run_dir", type=Path, metavar="RUN", help="the --out of `zoo kaggle train` or `blend`")
    bundle.add_argument("--out", required=True, type=Path, metavar="KIT", help="kit folder (new, empty or a kit)")
    bundle.add_argument("--python-version", help="the target's Python, e.g. 3.11 (default: the running one)")
    bundle.add_argument(
        "--platform",
        dest="platforms",
        action="append",
        help=f"wheel platform tag, repeatable (default {DEFAULT_PLATFORM}: Kaggle's glibc; older glibc tags included)",
    )
    bundle.add_argument(
        "--skip",
        nargs="*",
        metavar="PKG",
        help="packages the target image has, not shipped (replaces the default: Kaggle's image has "
        f"{', '.join(DEFAULT_SKIP)}); --skip alone ships everything",
    )
    bundle.add_argument("--force", action="store_true", help="replace a kit of another run or other settings")
    bundle.add_argument("--quiet", action="store_true", help="print nothing but errors")
    bundle.set_defaults(run=cmd_bundle)


def add_kaggle_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add `kaggle train`, `predict`, `blend` and `bundle` to the `zoo` command's subparsers."""
    kaggle = subparsers.add_parser(
        "kaggle",
        help="Kaggle-style competitions: k-fold CV, out-of-fold scores, TTA, fold ensembles, submission.csv",
        description="From train.csv + images (or tabular features) to submission.csv, offline and reproducible.",
    )
    commands = kaggle.add_subparsers(dest="kaggle_command", required=True, metavar="COMMAND")
    add_train_parser(commands)
    add_predict_parser(commands)
    add_blend_parser(commands)
    add_bundle_parser(commands)


def cmd_train(args: argparse.Namespace) -> int:
    from zoo.kaggle.cv.training import train
    from zoo.kaggle.task.run_config import RunSettings

    named = ("train_csv", "out", "id_col", "target_cols")  # passed by name below; --target-col is target_col
    options = {field.name: getattr(args, field.name) for field in fields(RunSettings) if field.name not in named}
    options["verbose"] = not args.quiet
    train(args.train_csv, out=args.out, id_col=args.id_col, target_col=args.target_col, force=args.force, **options)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from zoo.kaggle.submit.prediction import PredictSettings, predict

    options = {field.name: getattr(args, field.name) for field in fields(PredictSettings)}
    predict(args.run_dir, force=args.force, verbose=not args.quiet, **options)
    return 0


def cmd_blend(args: argparse.Namespace) -> int:
    from zoo.kaggle.submit.blend import blend

    blend(args.runs, out=args.out, force=args.force, verbose=not args.quiet)
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from zoo.kaggle.submit.bundle import bundle

    options = {"python_version": args.python_version, "force": args.force, "verbose": not args.quiet}
    options |= {"platforms": args.platforms} if args.platforms else {}
    options |= {"skip": args.skip} if args.skip is not None else {}
    bundle(args.run_dir, out=args.out, **options)
    return 0
