"""`zoo predict [MODEL] [INPUTS...]`: top-k labels of image files, folders or a CSV of paths, one row per file.

MODEL is a catalogue name, a saved .keras file, a finetune run folder, a zoo kaggle run folder (its fold models
averaged, its calibration applied) or a blend of them, each read by zoo.kaggle.submit.sources as every command reads
it; it defaults to the bundled efficientnet_lite0 and INPUTS to a sample photo. Models run through
zoo.results.runtime (OpenVINO or LiteRT once converted and cached); a warm cache never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.catalogue import default_catalogue
from zoo.errors import BadData, UnknownModel

if TYPE_CHECKING:
    from zoo.results.runtime import Runner

DEFAULT_BACKBONE = "efficientnet_lite0"
SAMPLE_IMAGE = Path(__file__).parent.parent / "assets" / "chelsea.jpg"
PATH_COLUMNS = ("path", "file", "filename", "image", "image_path")  # the CSV column read for paths, else the first


def is_model(word: str) -> bool:
    """A .keras file, a run folder (finetune, kaggle or blend: usable or not) or a catalogue name."""
    from zoo.kaggle.submit.sources import is_model as names_a_model

    return names_a_model(word)


def split_model_and_inputs(words: list[str]) -> tuple[str, list[str]]:
    """The first word is the model if it is one; else the default model. A suffix-less first word that is neither a
    model nor a file is a misspelt model name (`zoo predict resnet5 x.jpg`): say so, with the closest names."""
    if not words:
        return DEFAULT_BACKBONE, []
    first = words[0]
    if is_model(first):
        return first, words[1:]
    if first.endswith(".keras"):
        raise BadData(f"model file not found: {first} (check the path; relative paths start at {Path.cwd()})")
    if Path(first).exists() or Path(first).suffix:
        return DEFAULT_BACKBONE, words
    try:
        default_catalogue().get(first)
    except UnknownModel as error:
        raise UnknownModel(f"{error} No file is called {first!r} either.") from None
    return first, words[1:]  # unreachable: a catalogue name is a model


def zero_shot_labels(word: str, labels: str) -> list[str]:
    """--labels "cat,dog,a red car" as a list, for an image-text hub model only (checked before any loading)."""
    from zoo.catalogue import recipe_module

    architecture = default_catalogue().get(word).hparams.get("architecture") if word in default_catalogue() else None
    if architecture not in recipe_module("hub").IMAGE_TEXT:
        raise BadData(f"--labels scores label texts with an image-text model (siglip_*, clip_* in `zoo list --family "
                      f"hub`); {word} is not one")
    names = [label.strip() for label in labels.split(",")]
    if not all(names) or len(set(names)) != len(names):
        raise BadData(f"--labels {labels!r}: give different, non-empty label names separated by commas")
    return names


def csv_paths(table: Path) -> list[str]:
    """The image paths a CSV lists: its path/file/filename/image column, else its first; relative to the CSV."""
    with open(table, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise BadData(f"{table} is empty: list one image path per row, under a header `path`")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in PATH_COLUMNS if name in header), 0)
    return [str(table.parent / row[column]) for row in rows[1:] if len(row) > column and row[column].strip()]


def input_files(words: Sequence[str]) -> list[str]:
    """Every file INPUTS name: files as given, folders recursively (as training lists them), CSVs by their rows."""
    from zoo.data.listings.listing import files_under

    files: list[str] = []
    for word in words:
        path = Path(word)
        if path.is_dir():
            files.extend(files_under(word))
        elif path.suffix.lower() == ".csv" and path.is_file():
            files.extend(csv_paths(path))
        else:
            files.append(word)  # a missing file is reported with the unreadable ones
    if not files:
        raise BadData(f"no files in {', '.join(words)}: pass image files, folders of them or a CSV of paths")
    return files


def check_some_readable(files: Sequence[str]) -> None:
    """Stop before the model loads (a first conversion takes a minute) when no file is readable: the first error."""
    from zoo.data.decoding.images import open_image

    errors = []
    for path in files:
        try:
            open_image(path)
            return
        except BadData as error:
            errors.append(str(error))
    raise BadData(errors[0] if len(errors) == 1 else f"none of the {len(errors)} files can be read; first: {errors[0]}")


def tta_transforms(tta: int) -> list:
    """The batch transforms of `--tta N` views (none for N = 1: the images as they are)."""
    from zoo.kaggle.submit.tta import view_transforms

    return view_transforms(tta)


def report_failures(failures: list[tuple[str, str]], done: int) -> None:
    """List the files that could not be read on stderr; nothing readable at all is an error."""
    for _, reason in failures:
        print(f"zoo: skipped: {reason}", file=sys.stderr)
    if failures and not done:
        raise BadData(f"none of the {len(failures)} input files could be read (see above)")  # they went meanwhile


def class_labels(runner: Runner, config: dict | None, width: int) -> list[str]:
    """Class names of the outputs: the model's, a kaggle run's target names, else the output index."""
    names = config["target"]["names"] if config else runner.class_names
    return list(names) if names is not None and len(names) == width else [str(i) for i in range(width)]


def cmd_predict(args: argparse.Namespace) -> int:
    from zoo.kaggle.submit.sources import resolve, source_outputs
    from zoo.loading.ranking import labels_over, top_labels
    from zoo.results.run_folder import check_new_file

    check_options(args)
    if args.csv:
        check_new_file(Path(args.csv), args.force)  # before the work: a user's file is never replaced unasked
    model, inputs = split_model_and_inputs(args.words)
    if args.labels is not None:
        zero_shot_labels(model, args.labels)  # before reading any file
    source = resolve(model, args.labels)  # a run folder without a usable model stops here, before any file is read
    files = input_files(inputs or [str(SAMPLE_IMAGE)])
    check_some_readable(files)  # a wrong path fails now, before the model loads
    failures: list[tuple[str, str]] = []
    paths, probabilities, runner = source_outputs(
        source, files, args.batch_size, failures, views=tta_transforms(args.tta)
    )
    labels = class_labels(runner, source.config, probabilities.shape[-1])
    thresholds = saved_thresholds(model, len(labels)) if paths else None
    picked = (
        top_labels(probabilities, labels, args.top)
        if thresholds is None
        else labels_over(probabilities, labels, thresholds)
    )
    rows = list(zip(paths, picked, strict=True)) if paths else []
    report_failures(failures, len(rows))
    if thresholds is not None:
        return show_multilabel(args, rows)
    if args.csv:
        write_csv(Path(args.csv), rows, args.top)
    if args.json:
        ranked = [{"path": path, "top": [{"label": k, "probability": v} for k, v in top]} for path, top in rows]
        print(json.dumps(ranked))
    elif not args.csv:
        for path, ranked in rows:
            print(f"{path}  " + "  ".join(f"{label} {probability:.2%}" for label, probability in ranked))
    return 0


@functools.cache  # read once per run, not once per batch
def saved_thresholds(word: str, labels: int) -> list[float] | None:
    """A multi-label model's per-label thresholds (its model.keras), None for any other model."""
    from zoo.results.scoring.saved_thresholds import multilabel_thresholds

    path = Path(word) / "model.keras" if Path(word).is_dir() else Path(word)
    return multilabel_thresholds(path, labels) if path.suffix == ".keras" and path.is_file() else None


def show_multilabel(args: argparse.Namespace, rows: list) -> int:
    """Every label at or over its threshold, per file: printed, as JSON ({path, labels}) or as a CSV (path,
    labels joined by spaces)."""
    if args.csv:
        from zoo.results.run_folder import write_rows

        write_rows(Path(args.csv), ["path", "labels"], ([path, " ".join(k for k, _ in over)] for path, over in rows))
        print(f"wrote {args.csv}: {len(rows)} rows", file=sys.stderr)
    if args.json:
        listed = [{"path": path, "labels": [{"label": k, "probability": v} for k, v in over]} for path, over in rows]
        print(json.dumps(listed))
    elif not args.csv:
        for path, over in rows:
            shown = "  ".join(f"{label} {probability:.2%}" for label, probability in over)
            print(f"{path}  {shown or '(no label over its threshold)'}")
    return 0


def check_options(args: argparse.Namespace) -> None:
    if args.batch_size < 1 or getattr(args, "top", 1) < 1:
        raise BadData(f"--batch-size and --top must be at least 1; got {args.batch_size} and {getattr(args, 'top', 1)}")


def write_csv(path: Path, rows: list, top: int) -> None:
    """path, label_1, probability_1, ... label_k, probability_k: one row per file, written then renamed."""
    from zoo.results.run_folder import write_rows

    header = ["path"] + [f"{kind}_{rank}" for rank in range(1, top + 1) for kind in ("label", "probability")]
    write_rows(path, header, ([file, *[cell for pair in ranked for cell in pair]] for file, ranked in rows))
    print(f"wrote {path}: {len(rows)} rows", file=sys.stderr)


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL and INPUTS, and the batch size: the same for predict and embed."""
    parser.add_argument(
        "words",
        nargs="*",
        metavar="[MODEL] INPUTS",
        help="a catalogue name, .keras file or run folder; then image files, folders (recursive) or CSVs of paths",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")


def add_predict_parser(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser(
        "predict",
        help="top-k labels of images with a trained model (a catalogue name, .keras file or run folder)",
        description=f"Classify images. MODEL defaults to {DEFAULT_BACKBONE} (weights bundled, no network); "
        "INPUTS default to a sample photo shipped with zoo. Runs on OpenVINO or LiteRT once converted (cached).",
    )
    add_inference_arguments(predict)
    predict.add_argument(
        "--top", type=int, default=5, help="how many classes per image (default 5; a multi-label model prints "
        "every label over its threshold instead)"
    )
    predict.add_argument("--tta", type=int, default=1, help="average N fixed views of each image (flips, crops)")
    predict.add_argument("--json", action="store_true", help="a JSON list of {path, top: [{label, probability}]}")
    predict.add_argument("--csv", metavar="FILE", help="write path, label_1, probability_1, ... to FILE")
    predict.add_argument("--force", action="store_true", help="replace the --csv file if it exists")
    predict.add_argument(
        "--labels", metavar="'cat,dog,...'",
        help="zero-shot: score these label texts with an image-text hub model (siglip_*, clip_*), no training",
    )
    predict.set_defaults(run=cmd_predict)
