"""`zoo doctor DATA`: check a data set the way training would (no training, no TensorFlow) and describe it."""

from __future__ import annotations

import argparse
import json

from zoo.cli.data_options import add_csv_options, csv_options


def cmd_doctor(args: argparse.Namespace) -> int:
    from zoo.data import diagnose

    report = diagnose(args.data, **csv_options(args).keywords(), progress=not args.json, test_images=args.test_images)
    print(json.dumps(report.to_json()) if args.json else report)
    return 0 if report.ok else 1


def add_doctor_parser(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="check a data set before training: classes, unreadable files, duplicates, sizes, class weights",
        description="Run the checks training runs on DATA (decode every image, check labels and classes) without "
        "training, and print class counts, skipped files with reasons, duplicate images, modes and sizes, and "
        "the class weights training would use. Exit status: 0 ready, 1 problems found, 2 unusable input.",
    )
    doctor.add_argument("data", metavar="DATA", help="a folder of class sub-folders, or a CSV of files and labels")
    add_csv_options(doctor)
    doctor.add_argument("--test-images", help="the test images' folder: lists train images nearly copying one")
    doctor.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    doctor.set_defaults(run=cmd_doctor)
