"""`python -m zoo.bench hub`: the hub family on the bench data (scikit-learn's digits, upscaled to RGB).

Three measurements, each said plainly when skipped:
- CPU speed of a small ViT (ViT-Ti/16 at 224, DeiT-tiny's shape: 5.5M parameters, built from its config with random
  weights, so no download): images/s of Keras predict and of zoo's runtime (the cached OpenVINO or LiteRT file).
- EMA against no EMA: zoo's finetune of the bundled EfficientNet-Lite0 (offline) on the digits, same seed and epochs.
- Pretrained accuracy, only where a real preset folder is in $ZOO_WEIGHTS_DIR: a fine-tuned hub backbone's validation
  accuracy, and an image-text model's zero-shot accuracy with the labels "0" .. "9" (no training).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.bench.datasets import digits
from zoo.bench.predict import images_per_second, keras_pass
from zoo.weights.hub_presets import preset_folder

VIT_TINY = dict(image_shape=(224, 224, 3), patch_size=16, num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768)


@dataclass(frozen=True)
class Setting:
    finetuned: str = "dinov2_small"  # hub entry fine-tuned when its preset folder is here
    zero_shot: str = "siglip_b16_224"  # image-text hub entry scored zero-shot when its preset folder is here
    image_size: int = 64  # of the digits for the EMA comparison (Lite0, offline)
    epochs: tuple[int, int] = (2, 2)
    per_class: int = 40  # training digits per class (validation: the held-out quarter, all of it)
    images: int = 32  # for the CPU speed
    batch_size: int = 16
    repeats: int = 3


def digit_images(size: int, per_class: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, train y, val x, val y): the digits as RGB uint8 images of `size`, at most `per_class` per class."""
    import keras

    split = digits()
    keep = np.concatenate([np.flatnonzero(split.y_train == k)[:per_class] for k in range(10)]) if per_class else None

    def rgb(images: np.ndarray) -> np.ndarray:
        scaled = keras.ops.image.resize(images * 255.0, (size, size), interpolation="bilinear")
        return np.repeat(keras.ops.convert_to_numpy(scaled), 3, axis=-1).clip(0, 255).astype("uint8")

    if keep is None:
        return rgb(split.x_train), split.y_train, rgb(split.x_test), split.y_test
    return rgb(split.x_train[keep]), split.y_train[keep], rgb(split.x_test), split.y_test


def vit_tiny_speed(setting: Setting) -> dict[str, Any]:
    """Images/s of a random-weight ViT-Ti/16 (with its ImageConverter and a 10-way head): Keras, then zoo's runtime."""
    import keras_hub

    from zoo.loading.hub import headed_model
    from zoo.loading.hub_zero_shot import LoadedPreset
    from zoo.results.runtime import file_source, open_runner
    from zoo.weights.hub_presets import HubPreset

    backbone = keras_hub.models.ViTBackbone(**VIT_TINY)
    converter = keras_hub.layers.ImageConverter(image_size=(224, 224), scale=1 / 127.5, offset=-1.0)
    loaded = LoadedPreset(backbone, converter, "vit", (224, 224, 3), HubPreset("vit_tiny", "vit_tiny", None), "vit_ti")
    model = headed_model(loaded, 10, 0.0)
    pixels = np.random.default_rng(0).uniform(0, 255, (setting.images, 224, 224, 3)).astype("float32")
    with tempfile.TemporaryDirectory(prefix="zoo-bench-hub-") as scratch:
        path = Path(scratch) / "vit_ti.keras"
        model.save(path)
        runner = open_runner(file_source(path, "vit_ti"))
        batches = [pixels[i : i + setting.batch_size] for i in range(0, len(pixels), setting.batch_size)]
        works = {"keras": keras_pass(model, pixels, setting.batch_size),
                 "runtime": lambda: [runner.run(batch) for batch in batches]}
        for work in works.values():
            work()
        rates = images_per_second(setting.images, works, setting.repeats)
    return {"params": model.count_params(), "runtime": runner.runtime, "keras_images_per_s": rates["keras"],
            "runtime_images_per_s": rates["runtime"], "runtime_vs_keras": rates["runtime"] / rates["keras"]}


def ema_against_none(setting: Setting) -> dict[str, Any]:
    """Validation accuracy of zoo's finetune of EfficientNet-Lite0 on the digits with and without EMA."""
    import zoo

    x, y, xv, yv = digit_images(setting.image_size, setting.per_class)
    accuracy = {}
    for ema in (False, True):
        model = zoo.load("efficientnet_lite0", num_classes=10, input_shape=(setting.image_size, setting.image_size, 3))
        result = model.finetune((x, y), validation=(xv, yv), epochs=setting.epochs, batch_size=32, ema=ema,
                                verbose=False, seed=0)
        accuracy["ema" if ema else "no_ema"] = float(np.mean(result.model.predict(xv, verbose=0).argmax(1) == yv))
    return accuracy


def pretrained(setting: Setting) -> dict[str, Any]:
    """Fine-tuned and zero-shot accuracy where the real presets are here; otherwise why each was skipped."""
    import zoo
    from zoo.catalogue import default_catalogue

    out: dict[str, Any] = {}
    for key, name in (("finetuned", setting.finetuned), ("zero_shot", setting.zero_shot)):
        preset = default_catalogue().get(name).hparams["preset"]
        if preset_folder(preset) is None:
            where = Path(os.environ.get("ZOO_WEIGHTS_DIR") or "$ZOO_WEIGHTS_DIR") / preset
            out[key] = {"model": name, "skipped": f"no real preset folder at {where}"}
            continue
        size = default_catalogue().get(name).input_shape[0]
        x, y, xv, yv = digit_images(size, setting.per_class)
        if key == "zero_shot":
            model = zoo.load(name, labels=[str(d) for d in range(10)])
        else:
            model = zoo.load(name, num_classes=10).finetune(
                (x, y), validation=(xv, yv), epochs=setting.epochs, verbose=False, seed=0).model
        out[key] = {"model": name, "accuracy": float(np.mean(model.predict(xv, verbose=0).argmax(1) == yv))}
    return out


def run(setting: Setting) -> dict[str, Any]:
    return {"vit_tiny_cpu": vit_tiny_speed(setting), "ema": ema_against_none(setting),
            "pretrained": pretrained(setting), "setting": asdict(setting), "cpus": len(os.sched_getaffinity(0))}


def render(result: dict[str, Any]) -> str:
    speed, ema = result["vit_tiny_cpu"], result["ema"]
    lines = [
        f"ViT-Ti/16 224px ({speed['params'] / 1e6:.1f}M params, random weights), {result['cpus']} CPUs: Keras "
        f"{speed['keras_images_per_s']:.1f} images/s, zoo's {speed['runtime']} {speed['runtime_images_per_s']:.1f} "
        f"images/s ({speed['runtime_vs_keras']:.2f}x)",
        f"EfficientNet-Lite0 on digits, finetune val accuracy: no EMA {ema['no_ema']:.3f}, EMA {ema['ema']:.3f}",
    ]
    for key, value in result["pretrained"].items():
        shown = f"accuracy {value['accuracy']:.3f}" if "accuracy" in value else f"skipped: {value['skipped']}"
        lines.append(f"{key.replace('_', '-')} {value['model']} on digits: {shown}")
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
