"""The README's GPU table from the raw JSON of `python -m zoo.bench gpu`: `python -m zoo.bench gpu --table FILE`.

One Markdown row per measurement; a step that did not finish shows its status ("skipped: ...", "timed out after N
s") instead of figures. The file is checked when read: a file that is not such a JSON is refused in one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.bench.gpu.command import KIND, SCHEMA, STEPS
from zoo.errors import BadData

NAMES = {"efficientnet_lite0": "EfficientNet-Lite0", "resnet50": "ResNet50"}


def read(path: Path) -> dict[str, Any]:
    """The result in `path`, checked: JSON of kind zoo-bench-gpu, this schema, every step present."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadData(f"{path}: not a readable JSON file ({error}); pass one `python -m zoo.bench gpu` wrote") from None
    if not isinstance(result, dict) or result.get("kind") != KIND or result.get("schema") != SCHEMA:
        raise BadData(f"{path}: not a `python -m zoo.bench gpu` result (kind {KIND}, schema {SCHEMA})")
    steps = result.get("steps")
    if not isinstance(steps, dict) or not all(isinstance(steps.get(step.name, {}), dict) for step in STEPS):
        raise BadData(f"{path}: its steps are damaged; run `python -m zoo.bench gpu` again")
    return result


def rate(value: float) -> str:
    return f"{value:,.0f}"


def finetune_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    zoo, keras = figures["zoo_images_per_second"], figures["keras_images_per_second"]
    text = (
        f"zoo {' / '.join(rate(v) for v in zoo.values())} ({', '.join(zoo)}); "
        f"Keras guide {' / '.join(rate(v) for v in keras.values())} ({', '.join(keras)}); "
        f"end to end {figures['speedup']:.2f}x faster; val accuracy {figures['zoo_val_accuracy']:.3f} vs "
        f"{figures['keras_val_accuracy']:.3f}"
    )
    return [(f"finetune vs Keras guide, images/s ({figures['n_train']} digits, {figures['image_size']} px)", text)]


def input_wait_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    zoo, plain = figures["zoo"]["input_wait_share"], figures["plain_keras"]["input_wait_share"]
    return [("input wait, share of a training step", f"zoo pipeline {zoo:.0%}; plain from_tensor_slices {plain:.0%}")]


def precision_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    by = {(row["backbone"], row["precision"]): row for row in figures["rows"]}
    for backbone in dict.fromkeys(row["backbone"] for row in figures["rows"]):
        single, mixed = by.get((backbone, "float32")), by.get((backbone, "mixed_float16"))
        if single is None or mixed is None:
            continue
        for kind in ("forward", "train"):
            gain = mixed[kind] / single[kind]
            name = f"{NAMES.get(backbone, backbone)} {kind}, images/s float32 / mixed float16"
            rows.append((name, f"{rate(single[kind])} / {rate(mixed[kind])} ({gain:.2f}x, {figures['backend']})"))
    return rows


def mixed_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    runs = figures["runs"]
    moved = sum(run["batchnorm_moved"] for run in runs.values())
    text = (
        f"val accuracy {runs['mixed_float16']['val_accuracy']:.3f} vs {runs['float32']['val_accuracy']:.3f} "
        f"({figures['mixed_minus_float32_points']:+.1f} points); "
        f"{'no NaN' if all(run['finite'] for run in runs.values()) else 'NaN seen'}; BatchNorm statistics moved: "
        f"{moved}; {'passed' if figures['passed'] else 'FAILED'}"
    )
    return [("mixed-precision finetune vs float32", text)]


def predict_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    rates = ", ".join(f"{runtime} {rate(value)}" for runtime, value in figures["images_per_second"].items())
    verdict = "the fastest" if figures["zoo_choice_is_fastest"] else f"{figures['choice_vs_fastest']:.2f}x the fastest"
    text = f"zoo chose {figures['zoo_choice']} ({verdict}); images/s end to end: {rates}"
    return [(f"zoo predict, {figures['files']} files ({figures['model']})", text)]


def mirrored_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    one, two = figures["runs"]["1"], figures["runs"]["2"]
    phases = ", ".join(f"{name} {rate(one['phases'][name])} -> {rate(two['phases'][name])}" for name in one["phases"])
    finite = "finite" if one["finite"] and two["finite"] else "NaN seen"
    return [("MirroredStrategy, images/s 1 -> 2 replicas", f"{phases}; losses {finite}")]


ROWS = {
    "finetune_guide": finetune_rows,
    "input_wait": input_wait_rows,
    "precision": precision_rows,
    "mixed_finetune": mixed_rows,
    "predict": predict_rows,
    "mirrored": mirrored_rows,
}


def markdown(result: dict[str, Any]) -> str:
    """The table: a line naming the device, date and version, then one row per measurement (or step status)."""
    lines = [
        f"Measured on {result['device']} ({result['cpus']} CPUs), {result['date']}, zoo {result['zoo_version']}, "
        f"with `python -m zoo.bench gpu --json --out benchmarks/`{' --tiny' if result['tiny'] else ''} "
        f"({result['seconds']:.0f} s):",
        "",
        "| measurement | result |",
        "| --- | --- |",
    ]
    for step in STEPS:
        outcome = result["steps"].get(step.name, {"status": "not run"})
        if outcome.get("status") == "ok":
            rows = ROWS[step.name](outcome["result"])
        else:
            rows = [(step.what, str(outcome.get("status", "unknown")))]
        lines += [f"| {name} | {text} |" for name, text in rows]
    return "\n".join(lines)
