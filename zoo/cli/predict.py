"""`zoo predict [NAME] [IMAGE...]`: classify photos with a pretrained backbone (default: the bundled one)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.catalogue import default_catalogue
from zoo.errors import UnknownModel

DEFAULT_BACKBONE = "efficientnet_lite0"
SAMPLE_IMAGE = Path(__file__).parent.parent / "assets" / "chelsea.jpg"


def split_name_and_images(words: list[str]) -> tuple[str, list[str]]:
    """The first word is the model unless it is a file or has a file suffix ("cat.jpg"); else the default model.

    A first word with no suffix that is neither a file nor a model is a misspelt model name (`zoo predict resnet5
    x.jpg`): say so with the closest names, rather than that no image file is called "resnet5".
    """
    if not words or Path(words[0]).exists():
        return DEFAULT_BACKBONE, words
    catalogue, first = default_catalogue(), words[0]
    if first not in catalogue and Path(first).suffix:
        return DEFAULT_BACKBONE, words
    try:
        catalogue.get(first)
    except UnknownModel as error:
        raise UnknownModel(f"{error} No file is called {first!r} either.") from None
    return first, words[1:]


def cmd_predict(args: argparse.Namespace) -> int:
    from zoo.data.images import open_image
    from zoo.loading.assemble import load

    name, images = split_name_and_images(args.words)
    images = images or [str(SAMPLE_IMAGE)]
    pictures = [open_image(image) for image in images]  # a wrong file fails now, before the model loads
    model = load(name)
    results = model.classify(pictures, top=args.top)
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
