"""`zoo explain MODEL IMAGE [--out PNG] [--class NAME] [--layer NAME]`: where an image classifier looked.

Writes the image with its HiResCAM heat map over it (zoo.results.explain) for the predicted class or a named one.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def model_source(model: str) -> str:
    """A catalogue name or a .keras file as `load` takes it (which refuses a missing one); a run folder: its model."""
    path = Path(model)
    return str(path / "model.keras") if path.is_dir() and (path / "model.keras").is_file() else model


def cmd_explain(args: argparse.Namespace) -> int:
    from zoo.catalogue import default_catalogue
    from zoo.data.images import open_image
    from zoo.loading.assemble import load
    from zoo.results.explain import check_image_input, explain_image, save_overlay

    source = model_source(args.model)
    if not source.endswith(".keras"):  # a catalogue name: refuse a model of other inputs before building it
        check_image_input(source, tuple(default_catalogue().get(source).input_shape))
    open_image(args.image)  # a wrong image fails now, before the model loads
    explanation = explain_image(load(source), args.image, class_name=args.class_name, layer=args.layer)
    out = Path(args.out) if args.out else Path(f"{Path(args.image).stem}_explained.png")
    save_overlay(explanation, out)
    print(
        f"{out}: {explanation.class_name} ({explanation.probability:.2%}); HiResCAM heat map of layer "
        f"{explanation.layer!r} over {args.image}"
    )
    return 0


def add_explain_parser(subparsers: argparse._SubParsersAction) -> None:
    explain = subparsers.add_parser(
        "explain",
        help="draw where an image classifier looked (a HiResCAM heat map over the image, as a PNG)",
        description="Write IMAGE with the model's heat map for a class over it. MODEL is a catalogue name, a .keras "
        "file or a finetune run folder.",
    )
    explain.add_argument("model", metavar="MODEL", help="catalogue name, .keras file or run folder")
    explain.add_argument("image", metavar="IMAGE", help="an image file")
    explain.add_argument("--out", metavar="PNG", help="where to write the overlay (default: IMAGE_explained.png here)")
    explain.add_argument("--class", dest="class_name", metavar="NAME", help="explain this class (default: predicted)")
    explain.add_argument("--layer", metavar="NAME", help="the feature map to explain (default: the last spatial one)")
    explain.set_defaults(run=cmd_explain)
