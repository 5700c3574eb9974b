"""`python -m zoo.bench recipes [--json]`: train each recipe family on real bundled data and print the results."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from zoo.bench.table import as_json, render

RECIPE_BENCHES = ("ffn", "cnn", "rnn", "autoencoder", "dbn")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zoo.bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    recipes = sub.add_parser("recipes", help="train every recipe family on real data; mean over seeds")
    recipes.add_argument("--json", action="store_true", help="last line is a JSON list of rows")
    recipes.add_argument("--seeds", type=int, default=3, help="number of seeds to average (default 3)")
    recipes.add_argument("--family", choices=RECIPE_BENCHES, action="append", help="only this family (repeatable)")
    return parser.parse_args(argv)


def run_recipes(families: Sequence[str], seeds: int) -> list:
    """Run each family's benchmark module; progress goes to stderr so stdout stays the table."""
    rows = []
    for family in families:
        print(f"[bench] {family}: training on {seeds} seed(s)...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"zoo.bench.{family}")
        rows += module.run(range(seeds))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seeds < 1:
        raise SystemExit(f"--seeds must be at least 1, got {args.seeds}")
    rows = run_recipes(args.family or RECIPE_BENCHES, args.seeds)
    print(render(rows))
    if args.json:
        print(as_json(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
