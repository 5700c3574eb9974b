"""The command-line options that say how to read a CSV of image files and labels, shared by every data command."""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoo.data.listings.table import TableOptions


def add_csv_options(parser: argparse.ArgumentParser) -> None:
    """--id-col, --label-col, --multi-label, --image-dir, --extension, --pixel-cols, --pixel-shape: the TableOptions
    zoo.data.load_data reads a CSV source with."""
    parser.add_argument("--id-col", help="CSV column holding file names or ids (default: id, image_id, file, ...)")
    parser.add_argument(
        "--label-col",
        help="CSV column holding labels (default: label, class, category, ...); several, comma-separated: "
        "multi-label 0/1 columns, one per label",
    )
    parser.add_argument(
        "--multi-label", action="store_true", help="the label column holds space-separated tags (multi-label)"
    )
    parser.add_argument("--image-dir", help="folder the CSV's file names are relative to (default: the CSV's folder)")
    parser.add_argument("--extension", help="extension appended to CSV ids that lack it, e.g. .jpg")
    parser.add_argument(
        "--pixel-cols",
        metavar="PREFIX",
        help="a CSV whose columns PREFIX0..PREFIXN hold pixels: read as images (default: pixel0..pixelN when present)",
    )
    parser.add_argument(
        "--pixel-shape", metavar="HxW[xC]", help="the pixels' image shape when their count is no square"
    )


def csv_options(args: argparse.Namespace) -> TableOptions:
    """The CSV options given on the command line (zoo.data, and with it NumPy, loads only when a command runs)."""
    from zoo.data.listings.table import TableOptions

    return TableOptions(**{field.name: getattr(args, field.name) for field in fields(TableOptions)})
