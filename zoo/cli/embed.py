"""`zoo embed MODEL INPUTS... --out features.npy`: pooled trunk features of each image, for scikit-learn or kNN.

Writes the (n, d) float32 array and, beside it, features.files.txt: the file of each row, in order. Unreadable
files are listed and left out. The same models, inputs and runtime as `zoo predict`.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from zoo.cli.predict import (
    DEFAULT_BACKBONE,
    add_inference_arguments,
    check_options,
    check_some_readable,
    input_files,
    open_runners,
    report_failures,
    split_model_and_inputs,
)
from zoo.errors import BadData


def files_list_path(out: Path) -> Path:
    """features.npy -> features.files.txt: the list of files, one per row of the array."""
    return out.with_suffix(".files.txt")


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from zoo.results.run_folder import check_new_file, write_atomic
    from zoo.results.runtime import run_files

    check_options(args)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise BadData(f"--out {out}: name a .npy file (e.g. features.npy); the file list goes beside it")
    if not out.parent.is_dir():
        raise BadData(f"--out {out}: the folder {out.parent} does not exist; create it first")
    for path in (out, files_list_path(out)):
        check_new_file(path, args.force)
    model, inputs = split_model_and_inputs(args.words)
    if not inputs:
        raise BadData("pass the images to embed after MODEL: files, folders or a CSV of paths")
    files = input_files(inputs)
    check_some_readable(files)
    runners, _ = open_runners(model, "embed")
    failures: list[tuple[str, str]] = []
    paths: list[str] = []
    parts = []
    for batch_paths, features in run_files(runners, files, args.batch_size, failures):
        paths += batch_paths
        parts.append(features.astype(np.float32))
    report_failures(failures, len(paths))
    features = np.concatenate(parts)
    array = io.BytesIO()
    np.save(array, features)
    write_atomic(out, array.getvalue())  # temporary name, then renamed: a reader never sees half a file
    write_atomic(files_list_path(out), "".join(f"{path}\n" for path in paths).encode())
    shape = f"{features.shape[0]} x {features.shape[1]}"
    print(f"wrote {out}: {shape} features; the files, in order: {files_list_path(out)}", file=sys.stderr)
    return 0


def add_embed_parser(subparsers: argparse._SubParsersAction) -> None:
    embed = subparsers.add_parser(
        "embed",
        help="pooled trunk features of images (a .npy array + the file list), for scikit-learn, kNN, search",
        description=f"Write the features the classifier layer of MODEL reads (average-pooled) for each image. MODEL "
        f"defaults to {DEFAULT_BACKBONE}; runs on OpenVINO or LiteRT once converted (cached).",
    )
    add_inference_arguments(embed)
    embed.add_argument("--force", action="store_true", help="replace --out and its file list if they exist")
    embed.add_argument("--out", required=True, help="the .npy file to write; the file list goes to OUT.files.txt")
    embed.set_defaults(run=cmd_embed)
