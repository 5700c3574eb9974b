"""`zoo predict [NAME] [IMAGE...]`: classify photos with a pretrained backbone (default: the bundled one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.catalogue import default_catalogue

DEFAULT_BACKBONE = "efficientnet_lite0"
SAMPLE_IMAGE = Path(__file__).parent / "assets" / "chelsea.jpg"


def split_name_and_images(words: list[str]) -> tuple[str, list[str]]:
    """The first word is the model when it names a catalogue entry and no such file exists; else the default."""
    if words and words[0] in default_catalogue() and not Path(words[0]).exists():
        return words[0], words[1:]
    return DEFAULT_BACKBONE, words


def cmd_predict(args: argparse.Namespace) -> int:
    import zoo

    name, images = split_name_and_images(args.words)
    images = images or [str(SAMPLE_IMAGE)]
    model = zoo.load(name)
    results = model.classify(images, top=args.top)
    if args.json:
        print(json.dumps([[{"label": label, "probability": p} for label, p in ranked] for ranked in results]))
        return 0
    for image, ranked in zip(images, results, strict=True):
        print(f"{image} ({name}):")
        for label, probability in ranked:
            print(f"  {probability:7.2%}  {label}")
    return 0


def add_predict_parser(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser(
        "predict",
        help="classify images with a pretrained ImageNet backbone",
        description=f"Classify images. NAME defaults to {DEFAULT_BACKBONE} (weights bundled, no network); "
        f"IMAGE defaults to a sample photo shipped with zoo.",
    )
    predict.add_argument("words", nargs="*", metavar="[NAME] IMAGE", help="optional model name, then image files")
    predict.add_argument("--top", type=int, default=5, help="how many classes per image (default 5)")
    predict.add_argument("--json", action="store_true", help="a JSON list per image of {label, probability}")
    predict.set_defaults(run=cmd_predict)
