"""`python -m zoo.bench finetune`: zoo's `finetune` against the Keras guide's plain script, same folder, same weights.

Both paths start from the same PNG class folders (scikit-learn's 1797 handwritten digits, upscaled to RGB images),
the same pretrained backbone, epochs per phase, batch size and augmentation, and end with the accuracy of the
trained model on the same validation files. Wall time is measured end to end, data loading and model loading
included, in one process after a shared warm-up. finetune runs without `out` (no exports, plots or checkpoints):
the guide's script writes nothing either.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench.finetune_defaults import BACKBONE, BATCH_SIZE, EPOCHS, IMAGE_SIZE, ORDERS
from zoo.bench.keras_guide import GuideRun, run_keras_guide
from zoo.layers.augment import STRONG
from zoo.training.plan import Augmentation

VALIDATION_FRACTION = 0.2
# Digits are not mirror-symmetric, so no flip; the rest are finetune's default kinds and amounts.
AUGMENTATION = Augmentation(flip=None, rotation=0.05, zoom=0.1, contrast=0.1)
PRESETS = {"light": AUGMENTATION, "strong": replace(STRONG, flip=None)}  # `python -m zoo.bench augment`; no flips


@dataclass(frozen=True)
class Setting:
    """What both paths share: backbone, image size, epochs per phase, batch, augmentation, data size, seed."""

    backbone: str = BACKBONE
    image_size: int = IMAGE_SIZE
    epochs: tuple[int, int] = EPOCHS
    batch_size: int = BATCH_SIZE
    seed: int = 0
    per_class: int | None = None  # at most this many digits per class (None: all 1797)
    classes: int = 10  # the first `classes` digits only (the smoke test uses a few)
    order: str = "zoo-first"


def digit_folders(root: Path, setting: Setting) -> tuple[Path, Path, int, int]:
    """Write the digits as RGB PNGs (upscaled, bilinear) into root/train/<digit>/ and root/val/<digit>/.

    The split is stratified and seeded, so both paths train and validate on exactly the same files.
    """
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    keep = np.flatnonzero(digits.target < setting.classes)
    if setting.per_class is not None:
        keep = np.concatenate([keep[digits.target[keep] == k][: setting.per_class] for k in range(setting.classes)])
    images = (digits.images[keep] * (255 / 16)).round().astype(np.uint8)  # pixel values 0..16 -> 0..255
    labels = digits.target[keep]
    train, val = train_test_split(
        np.arange(len(keep)), test_size=VALIDATION_FRACTION, stratify=labels, random_state=setting.seed
    )
    size = (setting.image_size, setting.image_size)
    for split, indices in (("train", train), ("val", val)):
        for index in indices:
            folder = root / split / str(labels[index])
            folder.mkdir(parents=True, exist_ok=True)
            image = Image.fromarray(images[index], mode="L").resize(size, Image.Resampling.BILINEAR)
            image.convert("RGB").save(folder / f"{keep[index]:04d}.png")
    return root / "train", root / "val", len(train), len(val)


def warm_up(setting: Setting) -> float:
    """Start TensorFlow and run the backbone once, so neither timed path pays the process's first-use costs."""
    import zoo

    started = time.perf_counter()
    model = zoo.load(setting.backbone, include_top=False, input_shape=(setting.image_size, setting.image_size, 3))
    model.predict(np.zeros((2, setting.image_size, setting.image_size, 3), np.float32), verbose=0)
    return time.perf_counter() - started


def run_zoo(
    setting: Setting, train_dir: Path, val_dir: Path, num_classes: int, augmentation: Augmentation = AUGMENTATION
) -> GuideRun:
    """Folder -> zoo.load (new head) -> finetune (no outputs written) -> its validation accuracy, timed."""
    import zoo
    from zoo.training.run import finetune

    clock = time.perf_counter()
    shape = (setting.image_size, setting.image_size, 3)
    model = zoo.load(setting.backbone, input_shape=shape, num_classes=num_classes)
    loaded = time.perf_counter() - clock
    result = finetune(
        model,
        str(train_dir),
        validation=str(val_dir),
        epochs=setting.epochs,
        batch_size=setting.batch_size,
        augment=augmentation,
        seed=setting.seed,
        verbose=False,
        progress=False,
    )
    total = time.perf_counter() - clock
    print(str(result.plan), file=sys.stderr)
    seconds = {"load_model": loaded, "load_data": result.report["seconds"]["load_data"]}
    for phase in result.report["phases"]:
        name = phase["name"].replace(" ", "_")
        seconds[f"{name}_cache"] = phase["cache_seconds"]
        seconds[f"{name}_fit"] = phase["seconds"] - phase["cache_seconds"]
    seconds["other"] = total - sum(seconds.values())  # head, plan, compiles, final evaluation
    seconds["total"] = total
    head_epochs = result.report["phases"][0]["epochs_run"]  # the head phase's last epoch, as for the keras path
    head_accuracy = result.history["val_accuracy"][head_epochs - 1] if head_epochs else None
    rounded = {key: round(value, 2) for key, value in seconds.items()}
    rows = result.report["train_size"]
    phases = result.report["phases"]
    rates = {p["name"]: round(rows * p["epochs_run"] / p["seconds"], 1) for p in phases if p["seconds"]}
    return GuideRun(float(result.evaluation.accuracy), rounded, head_accuracy, rates)


def run(setting: Setting | None = None, workdir: str | Path | None = None) -> dict[str, Any]:
    """Run both paths on the setting's digits folders; returns the speedup, both accuracies and the details."""
    import keras

    setting = setting or Setting()
    if setting.order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {setting.order!r}")
    with tempfile.TemporaryDirectory(prefix="zoo-bench-finetune-", dir=workdir) as folder:
        train_dir, val_dir, n_train, n_val = digit_folders(Path(folder), setting)
        warm = warm_up(setting)
        paths = {
            "zoo": lambda: run_zoo(setting, train_dir, val_dir, setting.classes),
            "keras": lambda: run_keras_guide(setting, train_dir, val_dir, AUGMENTATION),
        }
        results: dict[str, GuideRun] = {}
        for name in ("zoo", "keras") if setting.order == "zoo-first" else ("keras", "zoo"):
            keras.backend.clear_session()
            gc.collect()
            print(f"[bench] finetune: running the {name} path...", file=sys.stderr, flush=True)
            results[name] = paths[name]()
    zoo_run, keras_run = results["zoo"], results["keras"]
    return {
        "speedup": round(keras_run.seconds["total"] / zoo_run.seconds["total"], 2),
        "zoo_val_accuracy": round(zoo_run.val_accuracy, 4),
        "keras_val_accuracy": round(keras_run.val_accuracy, 4),
        "zoo_head_val_accuracy": _rounded(zoo_run.head_val_accuracy),
        "keras_head_val_accuracy": _rounded(keras_run.head_val_accuracy),
        "zoo_seconds": zoo_run.seconds["total"],
        "keras_seconds": keras_run.seconds["total"],
        "backbone": setting.backbone,
        "image_size": setting.image_size,
        "epochs": list(setting.epochs),
        "batch_size": setting.batch_size,
        "n_train": n_train,
        "n_val": n_val,
        "seed": setting.seed,
        "order": setting.order,
        "augmentation": AUGMENTATION.describe(),
        "warm_up_seconds": round(warm, 2),
        "zoo_images_per_second": zoo_run.images_per_second,  # per phase: training images x epochs / seconds
        "keras_images_per_second": keras_run.images_per_second,
        "zoo_stages": zoo_run.seconds,
        "keras_stages": keras_run.seconds,
        "setting": asdict(setting),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def render(result: dict[str, Any]) -> str:
    """A small table for people: both paths' seconds and accuracy, the ratio, and the setting."""
    header = f"{'path':<34} {'seconds':>8} {'val accuracy':>13}"
    gap = 100 * (result["zoo_val_accuracy"] - result["keras_val_accuracy"])
    lines = [
        header,
        "-" * len(header),
        f"{'keras guide script':<34} {result['keras_seconds']:>8.1f} {result['keras_val_accuracy']:>13.4f}",
        f"{'zoo finetune':<34} {result['zoo_seconds']:>8.1f} {result['zoo_val_accuracy']:>13.4f}",
        f"val accuracy after the head phase: keras {result['keras_head_val_accuracy']}, "
        f"zoo {result['zoo_head_val_accuracy']}",
        f"speedup {result['speedup']:.2f}x (keras seconds / zoo seconds); zoo accuracy {gap:+.2f} points",
        f"setting: {result['backbone']}, {result['image_size']}x{result['image_size']} RGB digits, epochs "
        f"{result['epochs'][0]} head + {result['epochs'][1]} fine-tune, batch {result['batch_size']}, "
        f"{result['n_train']} train / {result['n_val']} val images, augmentation {result['augmentation']}, "
        f"{result['order']} after a {result['warm_up_seconds']:.1f}s warm-up",
        "zoo stages (s): " + ", ".join(f"{k} {v:g}" for k, v in result["zoo_stages"].items()),
        "keras stages (s): " + ", ".join(f"{k} {v:g}" for k, v in result["keras_stages"].items()),
    ]
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)


def compare_augmentations(setting: Setting, seeds: range, workdir: str | Path | None = None) -> dict[str, Any]:
    """zoo's finetune with the light and the strong preset on the same digits, epochs and seeds: val accuracies."""
    import keras

    accuracies: dict[str, list[float]] = {name: [] for name in PRESETS}
    seconds: dict[str, list[float]] = {name: [] for name in PRESETS}
    for seed in seeds:
        seeded = replace(setting, seed=seed)
        with tempfile.TemporaryDirectory(prefix="zoo-bench-augment-", dir=workdir) as folder:
            train_dir, val_dir, n_train, n_val = digit_folders(Path(folder), seeded)
            for name, augmentation in PRESETS.items():
                keras.backend.clear_session()
                gc.collect()
                print(f"[bench] augment: seed {seed}, {name}...", file=sys.stderr, flush=True)
                run = run_zoo(seeded, train_dir, val_dir, setting.classes, augmentation)
                accuracies[name].append(round(run.val_accuracy, 4))
                seconds[name].append(run.seconds["total"])
    means = {name: round(float(np.mean(values)), 4) for name, values in accuracies.items()}
    return {
        "mean_val_accuracy": means,
        "strong_minus_light_points": round(100 * (means["strong"] - means["light"]), 2),
        "val_accuracy": accuracies,
        "mean_seconds": {name: round(float(np.mean(values)), 1) for name, values in seconds.items()},
        "augmentation": {name: augmentation.describe() for name, augmentation in PRESETS.items()},
        "n_train": n_train,
        "n_val": n_val,
        "seeds": list(seeds),
        "setting": asdict(setting),
    }


def render_augmentations(result: dict[str, Any]) -> str:
    """The light and strong presets' mean validation accuracy, per seed, and the setting."""
    setting = result["setting"]
    lines = [f"{'preset':<8} {'mean val accuracy':>18} {'seconds':>8}  per seed"]
    for name, mean in result["mean_val_accuracy"].items():
        per_seed = ", ".join(f"{value:.4f}" for value in result["val_accuracy"][name])
        lines.append(f"{name:<8} {mean:>18.4f} {result['mean_seconds'][name]:>8.1f}  {per_seed}")
    lines += [
        f"strong - light: {result['strong_minus_light_points']:+.2f} points at equal epochs",
        f"setting: {setting['backbone']}, {setting['image_size']}px RGB digits, epochs {setting['epochs']}, batch "
        f"{setting['batch_size']}, {result['n_train']} train / {result['n_val']} val images, seeds {result['seeds']}",
        *(f"{name}: {described}" for name, described in result["augmentation"].items()),
    ]
    return "\n".join(lines)
