"""`python -m zoo.bench recipes|finetune|augment|devices|predict|scale|hub|gpu [--json]`: measured results of the
recipes, of finetune against Keras, of finetune's strong against its light augmentation, of fine-tuning throughput on
the GPU, of inference speed on the CPU, of memory at scale, of the KerasHub family (hub), and of every GPU path in one
run (gpu).

recipes: train each recipe family on real bundled data. finetune: zoo's finetune against the Keras transfer-learning
guide's plain script on the same images and backbone (time ratio and both validation accuracies). devices: images
per second of finetune and of a plain Keras script on the GPU, and the share of a step spent waiting for input
(skipped, exit 0, without a GPU). predict: images per second of Keras, the raw LiteRT interpreter and zoo predict
end to end, and a cold `zoo predict` against importing TensorFlow (zoo.bench.predict). hub: a small ViT's CPU speed,
finetune with EMA against without, and hub presets' fine-tuned and zero-shot accuracy where real ones are here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from zoo.bench.table import as_json, render
from zoo.hardware.devices import import_tensorflow_quietly

RECIPE_BENCHES = ("ffn", "cnn", "rnn", "autoencoder", "dbn")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zoo.bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    recipes = sub.add_parser("recipes", help="train every recipe family on real data; mean over seeds")
    recipes.add_argument("--json", action="store_true", help="last line is a JSON list of rows")
    recipes.add_argument("--seeds", type=int, default=3, help="number of seeds to average (default 3)")
    recipes.add_argument("--family", choices=RECIPE_BENCHES, action="append", help="only this family (repeatable)")
    add_finetune_parser(sub)
    add_augment_parser(sub)
    add_devices_parser(sub)
    add_predict_parser(sub)
    add_scale_parser(sub)
    hub = sub.add_parser("hub", help="hub family: ViT-Ti CPU speed, EMA vs none, pretrained accuracy if presets here")
    hub.add_argument("--json", action="store_true", help="last line is a JSON object")
    add_gpu_parser(sub)
    return parser.parse_args(argv)


def add_gpu_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.bench.gpu.command import STEPS

    bench = sub.add_parser("gpu", help="every GPU path, each step in its own process and time limit")
    bench.add_argument("--tiny", action="store_true", help="the same steps at toy sizes on the CPU (5-9 min, 2 cores)")
    bench.add_argument("--json", action="store_true", help="last line is the JSON object (also written to --out)")
    bench.add_argument("--out", default="benchmarks", help="folder of gpu-<date>-<device>.json (default %(default)s)")
    bench.add_argument("--budget", type=int, default=None, help="seconds for all steps (default 540; tiny 1800)")
    bench.add_argument("--only", choices=[step.name for step in STEPS], action="append", help="only this step")
    bench.add_argument("--table", metavar="FILE", help="print the README table of a saved JSON and stop")


def main_gpu(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from zoo.bench.gpu import command as gpu
    from zoo.bench.gpu import table as gpu_table
    from zoo.errors import BadData

    if args.table:
        try:
            print(gpu_table.markdown(gpu_table.read(Path(args.table))))
        except BadData as error:
            raise SystemExit(str(error)) from None
        return 0
    if args.budget is not None and args.budget < 10:
        raise SystemExit(f"--budget must be at least 10 seconds, got {args.budget}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out} is a file: give a folder for the JSON (default benchmarks)")
    result = gpu.run(tiny=args.tiny, budget=args.budget, only=tuple(args.only or ()))
    path = gpu.write(result, out)
    print(gpu_table.markdown(result))
    print(f"raw JSON: {path}")
    if args.json:
        print(json.dumps(result))
    return 0


def add_scale_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.bench.scale import Setting

    bench = sub.add_parser("scale", help="finetune's peak memory on a small and a large folder; image store reuse")
    bench.add_argument("--json", action="store_true", help="last line is a JSON object (the figures and ratios)")
    bench.add_argument("--small", type=int, default=Setting.images_small, help="images (default %(default)s)")
    bench.add_argument("--large", type=int, default=Setting.images_large, help="images (default %(default)s)")
    bench.add_argument("--image-size", type=int, default=Setting.image_size, help="default %(default)s")
    bench.add_argument("--epochs", type=int, default=Setting.epochs, help="default %(default)s")
    bench.add_argument(
        "--budget-mb", type=int, nargs="+", default=list(Setting.budgets_mb), help="memory budgets (%(default)s)"
    )


def main_scale(args: argparse.Namespace) -> int:
    from zoo.bench import scale as bench

    if not 10 <= args.small < args.large or args.image_size < 32 or args.epochs < 1 or min(args.budget_mb) < 1:
        raise SystemExit(
            f"need 10 <= --small < --large, --image-size >= 32, --epochs >= 1, --budget-mb >= 1; got {args.small}, "
            f"{args.large}, {args.image_size}, {args.epochs}, {args.budget_mb}"
        )
    setting = bench.Setting(args.small, args.large, args.image_size, args.epochs, tuple(args.budget_mb))
    return print_result(bench, bench.run(setting), args.json)


def add_predict_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.bench.predict import Setting

    bench = sub.add_parser("predict", help="inference images/s on the CPU: Keras, raw LiteRT, zoo; cold start")
    bench.add_argument("--json", action="store_true", help="last line is a JSON object (the figures and ratios)")
    bench.add_argument("--model", default=Setting.model, help="catalogue name or .keras file (default %(default)s)")
    bench.add_argument("--images", type=int, default=Setting.images, help="JPEG files (default %(default)s)")
    bench.add_argument("--batch-size", type=int, default=Setting.batch_size, help="default %(default)s")
    bench.add_argument("--repeats", type=int, default=Setting.repeats, help="passes, best kept (default %(default)s)")


def main_predict(args: argparse.Namespace) -> int:
    from zoo.bench import predict as bench

    if min(args.images, args.batch_size, args.repeats) < 1:
        given = f"{args.images}, {args.batch_size}, {args.repeats}"
        raise SystemExit(f"need --images, --batch-size and --repeats >= 1; got {given}")
    setting = bench.Setting(args.model, images=args.images, batch_size=args.batch_size, repeats=args.repeats)
    return print_result(bench, bench.run(setting), args.json)


def add_devices_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.bench.devices import BACKBONES, Setting

    bench = sub.add_parser("devices", help="fine-tuning images/s on the GPU: zoo's finetune vs a plain Keras script")
    bench.add_argument("--json", action="store_true", help='last line is a JSON object ({"skipped": ...} without GPU)')
    bench.add_argument("--backbone", choices=BACKBONES, action="append", help="only this backbone (repeatable)")
    bench.add_argument("--image-size", type=int, default=Setting.image_size, help="default %(default)s")
    bench.add_argument("--images", type=int, default=Setting.images, help="training images (default %(default)s)")
    bench.add_argument("--batch-size", type=int, default=Setting.batch_size, help="per replica (default %(default)s)")
    bench.add_argument("--epochs", type=int, default=Setting.epochs, help="per run, >= 2 (default %(default)s)")


def add_finetune_parser(sub: argparse._SubParsersAction) -> None:
    """The finetune suite's options; defaults are the benchmark's default setting (zoo.bench.finetune)."""
    from zoo.bench.finetune_defaults import BACKBONE, BATCH_SIZE, EPOCHS, IMAGE_SIZE, ORDERS

    bench = sub.add_parser("finetune", help="zoo's finetune vs the Keras guide's script: time ratio, both accuracies")
    bench.add_argument("--json", action="store_true", help="last line is a JSON object (speedup, accuracies, details)")
    bench.add_argument("--backbone", default=BACKBONE, help=f"catalogue backbone with offline weights ({BACKBONE})")
    bench.add_argument("--image-size", type=int, default=IMAGE_SIZE, help=f"square image side (default {IMAGE_SIZE})")
    bench.add_argument(
        "--epochs",
        type=int,
        nargs="+",
        default=list(EPOCHS),
        metavar="N",
        help=f"epochs per phase: HEAD [FINETUNE] (one number: both; default {EPOCHS[0]} {EPOCHS[1]})",
    )
    bench.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"default {BATCH_SIZE}")
    bench.add_argument("--seed", type=int, default=0, help="split, initialisation and augmentation seed (default 0)")
    bench.add_argument("--per-class", type=int, default=None, help="at most N digits per class (default: all 1797)")
    bench.add_argument("--order", choices=ORDERS, default=ORDERS[0], help="which path runs first (default zoo-first)")


def add_augment_parser(sub: argparse._SubParsersAction) -> None:
    """`augment`: finetune's light against its strong augmentation preset, equal epochs (zoo.bench.finetune)."""
    from zoo.bench.finetune_defaults import BACKBONE, BATCH_SIZE, EPOCHS

    bench = sub.add_parser("augment", help="finetune's strong vs light augmentation on digits, equal epochs")
    bench.add_argument("--json", action="store_true", help="last line is a JSON object")
    bench.add_argument("--backbone", default=BACKBONE, help=f"catalogue backbone with offline weights ({BACKBONE})")
    bench.add_argument("--image-size", type=int, default=64, help="square image side (default 64)")
    bench.add_argument("--epochs", type=int, nargs=2, default=list(EPOCHS), metavar=("HEAD", "FINETUNE"))
    bench.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"default {BATCH_SIZE}")
    bench.add_argument("--seeds", type=int, default=3, help="seeds (split, initialisation, augmentation); default 3")
    bench.add_argument("--per-class", type=int, default=None, help="at most N digits per class (default: all 1797)")


def main_augment(args: argparse.Namespace) -> int:
    from zoo.bench import finetune as bench

    if args.seeds < 1 or args.image_size < 32 or min(args.epochs) < 0 or max(args.epochs) < 1:
        raise SystemExit("need --seeds >= 1, --image-size >= 32 and epochs >= 0, not both 0")
    setting = bench.Setting(
        backbone=args.backbone,
        image_size=args.image_size,
        epochs=tuple(args.epochs),
        batch_size=args.batch_size,
        per_class=args.per_class,
    )
    result = bench.compare_augmentations(setting, range(args.seeds))
    print(bench.render_augmentations(result))
    if args.json:
        print(bench.as_json(result))
    return 0


def run_recipes(families: Sequence[str], seeds: int) -> list:
    """Run each family's benchmark module; progress goes to stderr so stdout stays the table."""
    rows = []
    for family in families:
        print(f"[bench] {family}: training on {seeds} seed(s)...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"zoo.bench.recipes.{family}")
        rows += module.run(range(seeds))
    return rows


def main_recipes(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1, got {args.seeds}")
    rows = run_recipes(args.family or RECIPE_BENCHES, args.seeds)
    print(render(rows))
    if args.json:
        print(as_json(rows))
    return 0


def main_finetune(args: argparse.Namespace) -> int:
    from zoo.bench import finetune as bench

    if len(args.epochs) > 2 or min(args.epochs) < 0 or max(args.epochs) < 1:
        given = " ".join(map(str, args.epochs))
        raise SystemExit(f"--epochs takes HEAD [FINETUNE], each >= 0 and not both 0; got {given}")
    if args.image_size < 32 or args.batch_size < 1 or (args.per_class is not None and args.per_class < 5):
        raise SystemExit(
            f"need --image-size >= 32, --batch-size >= 1 and --per-class >= 5; got {args.image_size}, "
            f"{args.batch_size} and {args.per_class}"
        )
    epochs = (args.epochs[0], args.epochs[-1])
    setting = bench.Setting(
        backbone=args.backbone,
        image_size=args.image_size,
        epochs=epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        per_class=args.per_class,
        order=args.order,
    )
    return print_result(bench, bench.run(setting), args.json)


def print_result(suite: Any, result: dict, as_json: bool) -> int:
    """A suite's table for people, then (with --json) its JSON object as the last line."""
    print(suite.render(result))
    if as_json:
        print(suite.as_json(result))
    return 0


def main_devices(args: argparse.Namespace) -> int:
    from zoo.bench import devices as bench

    if args.epochs < 2 or args.images < args.batch_size or args.image_size < 32:
        raise SystemExit(
            f"need --epochs >= 2, --images >= --batch-size and --image-size >= 32; got {args.epochs}, {args.images}, "
            f"{args.batch_size} and {args.image_size}"
        )
    setting = bench.Setting(
        backbones=tuple(args.backbone or bench.BACKBONES),
        image_size=args.image_size,
        images=args.images,
        batch_size=args.batch_size,
        epochs=args.epochs,
    )
    return print_result(bench, bench.run(setting), args.json)


def main_hub(args: argparse.Namespace) -> int:
    from zoo.bench import hub as bench

    return print_result(bench, bench.run(bench.Setting()), args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.suite not in ("scale", "gpu"):  # these run Keras only in child processes, which silence it themselves
        import_tensorflow_quietly()  # TF's start-up logs read as failures on a CPU; TF_CPP_MIN_LOG_LEVEL shows them
    suites = {
        "finetune": main_finetune,
        "devices": main_devices,
        "recipes": main_recipes,
        "predict": main_predict,
        "scale": main_scale,
        "augment": main_augment,
        "hub": main_hub,
        "gpu": main_gpu,
    }
    return suites[args.suite](args)


if __name__ == "__main__":
    raise SystemExit(main())
