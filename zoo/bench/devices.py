"""`python -m zoo.bench devices`: fine-tuning throughput on the GPU, zoo's finetune against a plain Keras script.

For each backbone (ResNet50, EfficientNetB0; random weights: the speed of a step does not depend on their values,
and the GPU machine has no network): images per second of
- a plain Keras script: the whole network trains, float32, `compile` defaults, batches from
  `tf.data.Dataset.from_tensor_slices(...).batch(B)` (no prefetch, no other tuning), over all its epochs and
  after the first (steady);
- zoo's `finetune` as it runs by default (head on cached features, then the top blocks), placed by auto
  (mixed precision on tensor-core GPUs, XLA where Keras allows it), per phase and overall;
- zoo's `finetune` with `unfreeze="all"`: the whole network trains, as in the plain script;
and for both whole-network runs the share of a training step spent waiting for input: 1 - (seconds per step on a
batch already on the GPU) / (seconds per step fed by the run's own pipeline). Without a GPU it says so and stops.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

BACKBONES = ("resnet50", "efficientnet_b0")
CLASSES = 10


@dataclass(frozen=True)
class Setting:
    backbones: tuple[str, ...] = BACKBONES
    image_size: int = 224
    images: int = 1280  # synthetic training images (plus a fifth as many for validation)
    batch_size: int = 32
    epochs: int = 3  # per run; the first epoch (tracing, caching) is not counted in the plain script's rate
    allow_cpu: bool = False  # the smoke test runs it on a CPU at a tiny size


def gpu_name() -> str | None:
    """The first GPU's model name ("NVIDIA H100 80GB HBM3"), or None without a GPU."""
    from zoo.hardware.devices import local_devices

    return next((d.model or d.name for d in local_devices() if d.type == "GPU"), None)


def synthetic(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rows = setting.images + setting.images // 5
    x = rng.integers(0, 256, (rows, setting.image_size, setting.image_size, 3), dtype=np.uint8)
    return x, np.arange(rows) % CLASSES


def load_backbone(name: str, setting: Setting) -> Any:
    import zoo

    shape = (setting.image_size, setting.image_size, 3)
    return zoo.load(name, weights=None, input_shape=shape, num_classes=CLASSES)


def plain_keras(name: str, x: np.ndarray, y: np.ndarray, setting: Setting) -> dict[str, Any]:
    """The plain script: every layer trains in float32 with compile's defaults; images/s over all epochs (as
    finetune's are measured) and after the first (tracing and warm-up left out)."""
    import keras
    import tensorflow as tf

    model = load_backbone(name, setting)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y)).batch(setting.batch_size)
    seconds = []
    for _ in range(setting.epochs):
        started = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - started)
    wait = input_wait(model, data)
    keras.backend.clear_session()
    return {
        "images_per_second": round(len(x) * len(seconds) / sum(seconds), 1),  # as finetune's: first epoch included
        "steady_images_per_second": round(len(x) * (len(seconds) - 1) / sum(seconds[1:]), 1),
        "epoch_seconds": [round(s, 2) for s in seconds],
        **wait,
    }


def zoo_finetune(name: str, x: np.ndarray, y: np.ndarray, setting: Setting, **options: Any) -> dict[str, Any]:
    """finetune as a user runs it (placement auto); images/s per phase from its report: every epoch, the first
    (tracing) and the feature caching included."""
    import keras

    from zoo.training.run import finetune

    model = load_backbone(name, setting)
    epochs = (setting.epochs, setting.epochs) if "unfreeze" not in options else (0, setting.epochs)
    result = finetune(
        model,
        (x, y),
        epochs=epochs,
        batch_size=setting.batch_size,
        augment=False,
        verbose=False,
        patience=99,
        validation_fraction=1 / 6,
        **options,
    )
    rows = result.report["train_size"]
    phases = {p["name"]: round(rows * p["epochs_run"] / p["seconds"], 1) for p in result.report["phases"]}
    total = sum(p["epochs_run"] for p in result.report["phases"]) * rows / result.report["seconds"]["train"]
    keras.backend.clear_session()
    return {"images_per_second": round(total, 1), "phases": phases, "placement": result.report["placement"]["text"]}


def zoo_input_wait(
    name: str, x: np.ndarray, y: np.ndarray, setting: Setting, xla: bool | None = None
) -> dict[str, Any]:
    """The input wait of finetune's image pipeline (zoo.training.feature_cache.batches) under its placement's
    precision (and XLA: None lets Keras decide)."""
    from zoo.hardware.placement import place, placed_model
    from zoo.training.feature_cache import Targets, batches

    placement = place(batch_size=setting.batch_size, xla=xla)
    model = placed_model(load_backbone(name, setting), placement)
    with placement.scope():
        model.compile(optimizer="adam", loss="categorical_crossentropy", jit_compile=placement.jit_compile())
    data = batches(x[np.newaxis], Targets(y, CLASSES), batch_size=setting.batch_size, shuffle=True)
    return input_wait(model, data)


def input_wait(model: Any, data: Any, steps: int = 20) -> dict[str, Any]:
    """Seconds per step fed by `data` and fed one batch already on the device; the share spent waiting for input."""
    import tensorflow as tf

    steps = min(steps, int(data.cardinality()))
    model.fit(data.take(steps), verbose=0, shuffle=False)  # trace and warm both paths first
    started = time.perf_counter()
    model.fit(data.take(steps), verbose=0, shuffle=False)
    fed = (time.perf_counter() - started) / steps
    batch = next(iter(data))
    with tf.device(model.weights[0].value.device):
        resident = [tf.identity(t) for t in batch]
    model.train_on_batch(*resident)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(*resident)
    on_device = (time.perf_counter() - started) / steps
    return {
        "step_seconds": round(fed, 4),
        "step_seconds_on_device": round(on_device, 4),
        "input_wait_share": round(max(0.0, 1 - on_device / fed), 3),
    }


def run(setting: Setting | None = None) -> dict[str, Any]:
    """Every backbone through the three runs; {"skipped": "no GPU"} when there is no GPU (and no allow_cpu)."""
    setting = setting or Setting()
    device = gpu_name()
    if device is None and not setting.allow_cpu:
        return {"skipped": "no GPU", "setting": asdict(setting)}
    x, y = synthetic(setting)
    rows = []
    for name in setting.backbones:
        train_x, train_y = x[: setting.images], y[: setting.images]
        rows.append(
            {
                "backbone": name,
                "keras_plain": plain_keras(name, train_x, train_y, setting),
                "zoo_finetune": zoo_finetune(name, x, y, setting),
                "zoo_finetune_all_layers": zoo_finetune(name, x, y, setting, unfreeze="all"),
                "zoo_pipeline": zoo_input_wait(name, train_x, train_y, setting),
            }
        )
    return {"device": device or "CPU", "rows": rows, "setting": asdict(setting)}


def render(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return "devices benchmark skipped: no GPU here (run it on a machine with one: python -m zoo.bench devices)"
    lines = [f"device: {result['device']}; images/s while training (higher is better); input wait = share of a step"]
    for row in result["rows"]:
        plain, tuned, every = row["keras_plain"], row["zoo_finetune"], row["zoo_finetune_all_layers"]
        lines += [
            f"{row['backbone']}: plain Keras (all layers, float32) {plain['images_per_second']:.1f} img/s "
            f"({plain['steady_images_per_second']:.1f} after the first epoch), input wait "
            f"{plain['input_wait_share']:.0%}",
            f"  zoo finetune, all layers: {every['images_per_second']:.1f} img/s, input wait "
            f"{row['zoo_pipeline']['input_wait_share']:.0%} ({every['placement']})",
            f"  zoo finetune, default plan: {tuned['images_per_second']:.1f} img/s overall, per phase "
            f"{tuned['phases']}",
        ]
    return "\n".join(lines)


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
