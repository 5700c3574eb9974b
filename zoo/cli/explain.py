"""`zoo explain MODEL IMAGE [--out PNG] [--class NAME] [--layer NAME]`: where an image classifier looked.

Writes the image with its HiResCAM heat map over it (zoo.results.explain) for the predicted class or a named one.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def chosen_model(word: str) -> tuple[Any, str]:
    """The Keras model MODEL names, as `zoo predict` reads it (a kaggle run: its first fold), and a note on which.

    Checked at the door, before anything loads: a .keras file must exist, a catalogue entry must take images.
    """
    from zoo.catalogue import default_catalogue
    from zoo.loading.assemble import check_model_file
    from zoo.results.explain import check_image_input
    from zoo.results.inference import model_sources

    if word.endswith(".keras"):
        check_model_file(Path(word))
    elif not Path(word).is_dir():
        check_image_input(word, tuple(default_catalogue().get(word).input_shape))
    sources, _ = model_sources(word)
    note = f" ({sources[0].label}, the first of {len(sources)} fold models)" if len(sources) > 1 else ""
    return sources[0].load(), note


def cmd_explain(args: argparse.Namespace) -> int:
    from zoo.data.decoding.images import open_image
    from zoo.results.explain import explain_image, save_overlay
    from zoo.results.run_folder import check_new_file

    open_image(args.image)  # a wrong image fails now, before the model loads
    out = Path(args.out) if args.out else Path(f"{Path(args.image).stem}_explained.png")
    check_new_file(out, args.force)
    model, note = chosen_model(args.model)
    explanation = explain_image(model, args.image, class_name=args.class_name, layer=args.layer)
    save_overlay(explanation, out)
    print(
        f"{out}: {explanation.class_name} ({explanation.probability:.2%}); HiResCAM heat map of layer "
        f"{explanation.layer!r} of {args.model}{note} over {args.image}"
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
    explain.add_argument("--force", action="store_true", help="replace --out if it exists")
    explain.add_argument("--class", dest="class_name", metavar="NAME", help="explain this class (default: predicted)")
    explain.add_argument("--layer", metavar="NAME", help="the feature map to explain (default: the last spatial one)")
    explain.set_defaults(run=cmd_explain)
