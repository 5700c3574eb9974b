"""The training steps of `python -m zoo.bench gpu`, each run in its own process: `python -m zoo.bench.gpu.steps STEP
[--tiny]` prints one JSON object as its last line (the step's figures, or {"skipped": why}).

Full size is sized for one GPU of the H100 class inside the run's 10 minutes; --tiny runs the same code on a CPU at
toy sizes so that the command cannot rot (tests/bench/test_gpu_bench.py).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

PRECISIONS = ("float32", "mixed_float16")
BACKBONE = "efficientnet_lite0"  # bundled ImageNet weights: the GPU machine has no network
TINY_BACKBONE = "squeezenet1_1"  # bundled weights too, and a few dozen layers: Keras traces it in seconds on a CPU
TINY_SIZE = 48  # squeezenet's smallest comfortable input (its pools shrink 32 px to nothing)
THROUGHPUT_BACKBONES = ("efficientnet_lite0", "resnet50")
NEEDS_NO_TENSORFLOW = ("precision",)  # runs on any Keras backend (JAX where TensorFlow is missing)


def digits_setting(tiny: bool) -> Any:
    """The digits folders both finetune steps train on (zoo.bench.finetune's, smaller)."""
    from zoo.bench.finetune import Setting

    if tiny:
        return Setting(TINY_BACKBONE, image_size=TINY_SIZE, epochs=(1, 1), batch_size=8, per_class=6, classes=3)
    return Setting(image_size=96, epochs=(3, 3), batch_size=64)


def finetune_guide(tiny: bool) -> dict[str, Any]:
    """zoo's finetune against the Keras guide's script on the same folders and weights: images/s of both phases."""
    from zoo.bench import finetune as bench

    result = bench.run(digits_setting(tiny))
    keep = ("zoo_images_per_second", "keras_images_per_second", "zoo_val_accuracy", "keras_val_accuracy")
    return {key: result[key] for key in (*keep, "speedup", "n_train", "image_size", "epochs", "batch_size")}


def input_wait(tiny: bool) -> dict[str, Any]:
    """The share of a training step spent waiting for input: zoo's pipeline and a plain from_tensor_slices one."""
    import tensorflow as tf

    from zoo.bench import devices

    name = TINY_BACKBONE if tiny else BACKBONE
    setting = devices.Setting(
        backbones=(name,),
        image_size=TINY_SIZE if tiny else 224,
        images=32 if tiny else 640,
        batch_size=8 if tiny else 64,
        allow_cpu=tiny,
    )
    x, y = devices.synthetic(setting)
    x, y = x[: setting.images], y[: setting.images]
    zoo_wait = devices.zoo_input_wait(name, x, y, setting, xla=False if tiny else None)  # XLA: see mirrored
    model = devices.load_backbone(name, setting)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    plain = tf.data.Dataset.from_tensor_slices((x.astype(np.float32), y)).batch(setting.batch_size)
    return {"backbone": name, "zoo": zoo_wait, "plain_keras": devices.input_wait(model, plain)}


def precision(tiny: bool) -> dict[str, Any]:
    """Forward and training images/s of each backbone in float32 and mixed float16 (random weights, one batch
    resident on the device, XLA as Keras decides); the outputs stay float32 as in finetune."""
    import keras

    import zoo
    from zoo.hardware.precision import output_layers, with_precision

    size, batch, steps = (TINY_SIZE, 4, 2) if tiny else (224, 128, 15)
    x = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)), "float32")
    y = keras.ops.convert_to_tensor(np.arange(batch) % 10)
    rows = []
    for name in (TINY_BACKBONE,) if tiny else THROUGHPUT_BACKBONES:
        model = zoo.load(name, weights=None, input_shape=(size, size, 3), num_classes=10)
        keep = {layer.name for layer in output_layers(model)}
        for policy in PRECISIONS:
            keras.backend.clear_session()
            placed = model.__class__.from_config(with_precision(model.get_config(), policy, keep))
            placed.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            forward = timed(lambda m=placed: m.predict_on_batch(x), steps)
            train = timed(lambda m=placed: m.train_on_batch(x, y), steps)
            rows.append({"backbone": name, "precision": policy, "forward": batch / forward, "train": batch / train})
    return {"rows": rows, "image_size": size, "batch_size": batch, "backend": keras.backend.backend()}


def timed(work: Any, steps: int) -> float:
    """Median seconds of `work` (which returns host values, so the device is done) after two warm-up calls."""
    work(), work()
    seconds = []
    for _ in range(steps):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))


def mixed_finetune(tiny: bool) -> dict[str, Any]:
    """finetune on digits in float32, then in mixed float16: validation accuracies (mixed within 1 point of float32
    passes), no NaN, and the BatchNorm pinning check (every moving mean and variance of the backbone unchanged)."""
    import keras

    from zoo.bench.finetune import digit_folders
    from zoo.layers.traversal import all_layers, is_batchnorm
    from zoo.loading.assemble import load
    from zoo.training.run import finetune

    setting = digits_setting(tiny)
    if tiny:  # the pinning check needs BatchNorm layers, which squeezenet lacks: lite0 at its smallest
        setting = replace(setting, backbone=BACKBONE, image_size=32)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="zoo-bench-gpu-") as folder:
        train_dir, val_dir, _, _ = digit_folders(Path(folder), setting)
        for policy in PRECISIONS:
            keras.backend.clear_session()
            model = load(setting.backbone, input_shape=(setting.image_size,) * 2 + (3,), num_classes=setting.classes)
            statistics = [v for layer in all_layers(model) if is_batchnorm(layer) for v in layer.weights]
            before = [v.numpy().copy() for v in statistics if "moving" in v.path]
            data = {"validation": str(val_dir), "epochs": setting.epochs, "batch_size": setting.batch_size}
            quiet = {"augment": False, "verbose": False, "progress": False, "xla": False if tiny else None}
            result = finetune(model, str(train_dir), **data, **quiet, precision=policy)
            trained = [v for layer in all_layers(result.model) if is_batchnorm(layer) for v in layer.weights]
            after = [v.numpy() for v in trained if "moving" in v.path]
            runs[policy] = {
                "val_accuracy": round(float(result.evaluation.accuracy), 4),
                "placement": result.report["placement"]["text"],
                "finite": all(np.isfinite(w).all() for w in result.model.get_weights())
                and all(np.isfinite(v).all() for v in result.history["loss"]),
                "batchnorm_statistics": len(before),
                "batchnorm_moved": sum(not np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
            }
    gap = 100 * (runs["mixed_float16"]["val_accuracy"] - runs["float32"]["val_accuracy"])
    pinned = all(r["batchnorm_statistics"] and r["batchnorm_moved"] == 0 for r in runs.values())  # no BN: no check
    passed = gap >= -1 and pinned and all(r["finite"] for r in runs.values())
    return {"runs": runs, "mixed_minus_float32_points": round(gap, 2), "passed": passed}


def mirrored(tiny: bool) -> dict[str, Any]:
    """finetune on 2 replicas (MirroredStrategy) against 1: images/s per phase and finite losses. Needs 2 GPUs; the
    tiny run splits the CPU into two logical devices instead (before TensorFlow starts anything else)."""
    import tensorflow as tf

    from zoo.bench import devices
    from zoo.training.run import finetune

    if tiny:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    elif len(tf.config.list_physical_devices("GPU")) < 2:
        return {"skipped": "one GPU on this machine: a 2-replica MirroredStrategy run needs two"}
    kind = "cpu" if tiny else "gpu"
    size, images, batch = (TINY_SIZE, 32, 8) if tiny else (160, 1280, 64)
    setting = devices.Setting(image_size=size, images=images, batch_size=batch)
    x, y = devices.synthetic(setting)
    runs = {}
    for replicas, device in ((1, f"{kind}:0"), (2, f"{kind}:0,{kind}:1")):
        model = devices.load_backbone(TINY_BACKBONE if tiny else BACKBONE, setting)
        options = {"augment": False, "verbose": False, "validation_fraction": 1 / 6, "patience": 99}
        options["xla"] = False if tiny else None  # XLA compiles for minutes on a busy CPU; on the GPU Keras decides
        result = finetune(model, (x, y), epochs=(1, 1), batch_size=setting.batch_size, device=device, **options)
        rows = result.report["train_size"]
        runs[str(replicas)] = {
            "placement": result.report["placement"]["text"],
            "phases": {p["name"]: round(rows * p["epochs_run"] / p["seconds"], 1) for p in result.report["phases"]},
            "finite": bool(np.isfinite(result.history["loss"]).all()),
        }
    return {"backbone": TINY_BACKBONE if tiny else BACKBONE, "runs": runs}


def run_step(name: str, tiny: bool) -> dict[str, Any]:
    """One step by name; without a GPU (and without --tiny) {"skipped": ...}."""
    if not tiny and not gpu_present():
        return {"skipped": f"no GPU visible to Keras ({os.environ.get('KERAS_BACKEND', 'tensorflow')} backend)"}
    if name == "predict":  # imported only here: the runtimes' modules need TensorFlow, the precision step does not
        from zoo.bench.gpu.predict_step import predict

        return predict(tiny)
    steps = {
        "finetune_guide": finetune_guide,
        "input_wait": input_wait,
        "precision": precision,
        "mixed_finetune": mixed_finetune,
        "mirrored": mirrored,
    }
    return steps[name](tiny)


def gpu_present() -> bool:
    """Whether the Keras backend of this process sees a GPU (TensorFlow's or JAX's)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return any(device.platform == "gpu" for device in jax.devices())
    from zoo.bench.devices import gpu_name

    return gpu_name() is not None


if __name__ == "__main__":
    from zoo.hardware.devices import import_tensorflow_quietly

    step, tiny = sys.argv[1], "--tiny" in sys.argv[2:]
    if step != "precision" or os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import_tensorflow_quietly()
    print(json.dumps(run_step(step, tiny), default=float))
