"""Runs in a fresh Python process for the device tests: splitting the CPU into logical devices and starting a
multi-worker strategy must happen before TensorFlow starts, which in the pytest process it already has.

    python tests/device_scripts.py replicas  -> JSON: 1 vs 2 replicas, BatchNorm + Dropout on 2 replicas
    python tests/device_scripts.py transfer  -> JSON: a backbone fine-tuned on 2 replicas
    python tests/device_scripts.py worker DATA OUT WEIGHTS  (TF_CONFIG set) -> one worker of a 2-worker finetune

The last line printed is the JSON result.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TOLERANCE = 1e-5  # largest weight difference allowed between 1 and 2 replicas (float32 sums in another order)


def split_cpu(count: int) -> None:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def digits(rows: int) -> tuple:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[:rows].astype("float32") / 16, data.target[:rows], data.images[:rows]


def one_against_two() -> dict:
    """The same run (no dropout, no BatchNorm: nothing random per replica) on 1 replica and on 2 of half the batch."""
    import keras
    import numpy as np

    import zoo
    from zoo.training.run import finetune

    x, y, _ = digits(303)
    train, val = (x[:243], y[:243]), (x[243:], y[243:])  # 243 = 7 x 32 + 19: the last batch splits 10 + 9
    runs = {}
    for device, batch in (("cpu", 32), ("cpu:0,cpu:1", 16)):
        keras.utils.set_random_seed(0)
        model = zoo.load("mlp_tabular", dropout=0.0, hidden_units=(32,))
        result = finetune(
            model, train, validation=val, epochs=3, batch_size=batch, device=device, lr_scaling="none", verbose=False
        )
        runs[device] = (model.get_weights(), result.history, result.placement.describe())
    (one, one_history, one_line), (two, two_history, two_line) = runs.values()
    return {
        "lines": [one_line, two_line],
        "max_weight_difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two, strict=True)),
        "loss": [one_history["loss"], two_history["loss"]],
        "val_loss": [one_history["val_loss"], two_history["val_loss"]],
    }


def batchnorm_and_dropout() -> dict:
    """mlp_digits (BatchNorm + Dropout) on 2 replicas; 161 training rows leave the last global batch of 16 a single
    row, so one replica gets none. Then the replicated loop alone: do both replicas end with the same moving
    statistics?"""
    import keras
    import numpy as np

    import zoo
    from zoo.hardware.placement import place
    from zoo.hardware.replicated_loop import replicated_fit
    from zoo.training.feature_cache import Targets, batches
    from zoo.training.run import finetune

    _, y, images = digits(201)
    images = (images[..., None] * 15.9).astype("uint8")
    keras.utils.set_random_seed(0)
    model = zoo.load("mlp_digits")
    train, val = (images[:161], y[:161]), (images[161:], y[161:])  # 161 = 10 x 16 + 1
    result = finetune(model, train, validation=val, epochs=3, batch_size=8, device="cpu:0,cpu:1", verbose=False)
    strategy = place("cpu:0,cpu:1").strategy  # a second strategy over the same devices would clash with it
    with strategy.scope():
        trainer = zoo.load("mlp_digits")
        trainer.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy())
    x = (images[np.newaxis] / 255).astype("float32")
    data = batches(x, Targets(y, 10), batch_size=16, shuffle=True)
    held = batches(x[:, :32], Targets(y[:32], 10), batch_size=32, shuffle=False)
    replicated_fit(trainer, strategy, (data, held), epochs=2)
    moving = [strategy.experimental_local_results(v.value) for v in trainer.non_trainable_weights if "moving" in v.path]
    return {
        "loss": result.history["loss"],
        "val_loss": result.history["val_loss"],
        "weights_finite": all(bool(np.isfinite(w).all()) for w in model.get_weights()),
        "replicas_agree": all(np.array_equal(a.numpy(), b.numpy()) for a, b in moving),
        "moving_statistics": len(moving),
    }


def transfer() -> dict:
    """A pretrained backbone on 2 replicas: cached (augmented) trunk features for the head, then the top blocks."""
    import numpy as np
    from finetune_data import lite0, shapes

    from zoo.training.run import finetune

    x, y = shapes(45, size=32)
    model = lite0(size=32)
    before = model.get_layer("predictions").get_weights()[0].copy()
    result = finetune(model, (x, y), epochs=(2, 1), batch_size=8, device="cpu:0,cpu:1", views=2, verbose=False)
    return {
        "phases": [phase["name"] for phase in result.report["phases"]],
        "loss": result.history["loss"],
        "head_changed": not np.array_equal(before, model.get_layer("predictions").get_weights()[0]),
        "global_batch": result.report["placement"]["global_batch"],
    }


def replicas() -> dict:
    split_cpu(2)
    from zoo.hardware.placement import place

    return {"auto": place("auto").describe(), "match": one_against_two(), "batchnorm": batchnorm_and_dropout()}


def replicated_transfer() -> dict:
    split_cpu(2)
    return transfer()


def worker(data: str, out: str, weights: str) -> dict:
    """One worker of a multi-worker finetune, as `zoo finetune` runs it: placement first, then model and data."""
    import numpy as np

    import zoo
    from zoo.hardware.placement import place
    from zoo.training.run import finetune

    place()  # the multi-worker strategy, before any model exists
    model = zoo.load("mlp_digits", input_shape=(8, 8, 1), num_classes=3)
    result = finetune(model, data, epochs=2, batch_size=8, out=out, export=("keras",), verbose=False)
    np.savez(weights, *model.get_weights())
    return {"placement": result.report["placement"], "out_dir": str(result.out_dir), "loss": result.history["loss"]}


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print(json.dumps({"replicas": replicas, "transfer": replicated_transfer, "worker": worker}[command](*arguments)))
