"""SavedModel and TFLite files, written and reloaded through TensorFlow: the SavedModel through Keras' own exporter,
the TFLite file converted from it with built-in ops only (what the LiteRT runtime route and the tflite export use).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.results.litert import native_stderr_silenced, tflite_interpreter

if TYPE_CHECKING:
    import keras

# What an exporter returns: the written path, the reloaded model's outputs on the sample, the runtime that ran it.
Exported = tuple[Path, Any, str]


def export_savedmodel(
    model: keras.Model,
    out_dir: Path,
    sample: np.ndarray,
    checks: dict[str, Any],
    scratch: Path,
    path: Path | None = None,
) -> Exported:
    """A TensorFlow SavedModel through Keras' own exporter, reloaded and called through its `serve` endpoint."""
    import tensorflow as tf

    path = path or out_dir / "saved_model"
    if path.exists():
        shutil.rmtree(path)  # a stale variables/ folder from an earlier export must not mix with this one
    model.export(str(path), format="tf_saved_model", verbose=False)
    loaded = tf.saved_model.load(str(path))
    # `serve` takes the inputs in the structure the model was built with: a tensor, or [tensor] for Model([x], y).
    structure = loaded.serve.input_signature[0]
    if len(tf.nest.flatten(structure)) != 1:
        raise ValueError(f"export checks feed one sample array, but this model takes inputs {structure}")
    inputs = tf.nest.pack_sequence_as(structure, [tf.constant(sample)])
    return path, loaded.serve(inputs), f"tensorflow {tf.__version__} (tf.saved_model.load, serve)"


def export_tflite(
    model: keras.Model, out_dir: Path, sample: np.ndarray, checks: dict[str, Any], scratch: Path
) -> Exported:
    """TFLite converted from the SavedModel with built-in ops only, so any plain TFLite interpreter runs it."""
    import tensorflow as tf

    saved = checks.get("savedmodel")
    if saved is not None and saved.path is None:
        raise RuntimeError(f"TFLite is converted from the SavedModel, which failed: {saved.error}")
    source = (
        saved.path
        if saved is not None
        else export_savedmodel(model, out_dir, sample, checks, scratch, scratch / "sm")[0]
    )
    converter = tf.lite.TFLiteConverter.from_saved_model(str(source))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex (SELECT_TF_OPS)
    path = out_dir / "model.tflite"
    path.write_bytes(converter.convert())
    interpreter, runtime = tflite_interpreter(path)
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], sample.shape)  # converted with batch 1, signature batch -1
    with native_stderr_silenced():
        interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], sample.astype(entry["dtype"]))
    interpreter.invoke()
    return path, [interpreter.get_tensor(out["index"]) for out in interpreter.get_output_details()], runtime
