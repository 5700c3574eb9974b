"""LiteRT (TFLite) files: the interpreter, running a file on arrays, the quantized exports, and the SavedModel and
float TFLite files written through TensorFlow (what the LiteRT runtime route and the savedmodel/tflite exports use).

The quantized files come from Keras' own `model.export(format="litert")` with converter settings: float16 weights
(half the size, float compute) and full-integer int8 (weights and activations int8, calibrated on a representative
subset of the training data; int8 input and output, so integer-only accelerators run it whole). Quantization
changes the outputs by design, so each is checked by its accuracy on the validation set against the float model's.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.data.tensorflow_sources import model_feed

if TYPE_CHECKING:
    import keras

QUANTIZED = ("tflite_fp16", "tflite_int8")
REPRESENTATIVE_ROWS = 100  # training examples int8 calibration sees (TensorFlow's guide: ~100-500)
MAX_ACCURACY_DROP = 0.05  # a quantized file that loses more than 5 points of validation accuracy is reported failed
# ... or that changes the top class of more than 5% of validation rows: the accuracy alone can stay level while many
# answers change (errors fixed and made in equal numbers); a user swapping the float model for it sees every change
MIN_AGREEMENT = 0.95
RUN_BATCH = 32


@dataclass(frozen=True)
class QuantizationData:
    """What the quantized exports need: training rows to calibrate int8 on, and the validation set to score on."""

    representative: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


def tflite_interpreter(path: Path) -> tuple[Any, str]:
    """LiteRT's standalone interpreter (the ai-edge-litert package) when installed, else TensorFlow's own."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():  # its C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate" each time
            interpreter = Interpreter(model_path=str(path))
        return interpreter, f"ai_edge_litert {version('ai-edge-litert')}"
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter(model_path=str(path)), f"tf.lite.Interpreter (tensorflow {tf.__version__})"


def run_tflite(interpreter: Any, x: np.ndarray, batch: int = RUN_BATCH) -> np.ndarray:
    """The file's first output on `x`, in batches; integer inputs quantized and outputs dequantized by its scales."""
    entry, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    results = []
    for start in range(0, len(x), batch):
        rows = np.asarray(x[start : start + batch], dtype=np.float32)
        interpreter.resize_tensor_input(entry["index"], rows.shape)  # converted with batch 1, signature batch -1
        with native_stderr_silenced():
            interpreter.allocate_tensors()
        interpreter.set_tensor(entry["index"], as_input(rows, entry))
        interpreter.invoke()
        value = interpreter.get_tensor(out["index"])
        scale, zero = out["quantization"]
        results.append((value.astype(np.float32) - zero) * scale if scale else value)
    return np.concatenate(results)


def as_input(rows: np.ndarray, entry: dict[str, Any]) -> np.ndarray:
    """Rows as the file takes them: quantized (round(x / scale) + zero point, clipped) for an integer input."""
    dtype = np.dtype(entry["dtype"])
    scale, zero = entry["quantization"]
    if not np.issubdtype(dtype, np.integer) or not scale:
        return rows.astype(dtype)
    limits = np.iinfo(dtype)
    return np.clip(np.round(rows / scale) + zero, limits.min, limits.max).astype(dtype)


def export_quantized(model: keras.Model, path: Path, kind: str, data: QuantizationData) -> None:
    """Write `model` as a float16 or a full-integer int8 LiteRT file through Keras' own exporter."""
    import tensorflow as tf

    builtins = tf.lite.OpsSet.TFLITE_BUILTINS
    if kind == "tflite_fp16":
        settings = {"target_spec": {"supported_ops": [builtins], "supported_types": [tf.float16]}}
    else:
        rows = np.asarray(data.representative, dtype=np.float32)

        def representative() -> Any:
            for row in rows:
                yield [row[np.newaxis]]

        settings = {
            "representative_dataset": representative,
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
            "inference_input_type": tf.int8,
            "inference_output_type": tf.int8,
        }
    model.export(str(path), format="litert", verbose=False, optimizations=[tf.lite.Optimize.DEFAULT], **settings)


def accuracy_check(model: keras.Model, path: Path, data: QuantizationData) -> dict[str, Any]:
    """The quantized file's validation accuracy in LiteRT against the float Keras model's, and the drop."""
    interpreter, runtime = tflite_interpreter(path)
    x = data.val_x  # read in batches by both: a float copy of a large validation set would not fit
    labels = np.asarray(data.val_y)
    quantized = decisions(run_tflite(interpreter, x), labels)
    reference = decisions(model.predict(model_feed(x, RUN_BATCH), batch_size=RUN_BATCH, verbose=0), labels)
    accuracy, float_accuracy = float(np.mean(quantized == labels)), float(np.mean(reference == labels))
    return {
        "runtime": runtime,
        "accuracy": round(accuracy, 4),
        "float_accuracy": round(float_accuracy, 4),
        "accuracy_drop": round(float_accuracy - accuracy, 4),
        "agreement": round(float(np.mean(quantized == reference)), 4),  # same top class as the float model
    }


def quantized_failure(found: dict[str, Any]) -> str | None:
    """Why an accuracy_check result fails (too much accuracy lost, or too many top-1 answers changed); None: passes."""
    if found["accuracy_drop"] > MAX_ACCURACY_DROP:
        return (
            f"validation accuracy drops {100 * found['accuracy_drop']:.1f} points (float {found['float_accuracy']}, "
            f"quantized {found['accuracy']}), over {100 * MAX_ACCURACY_DROP:g}"
        )
    if found["agreement"] < MIN_AGREEMENT:
        return (
            f"it changes the top class of {100 * (1 - found['agreement']):.1f}% of validation rows (over "
            f"{100 * (1 - MIN_AGREEMENT):g}%), though its accuracy is {found['accuracy']} "
            f"against the float model's {found['float_accuracy']}"
        )
    return None


def decisions(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """What accuracy compares with `labels`: the top class, or each label's sigmoid over 0.5 (multi-label 0/1 rows:
    accuracy is then the share of right labels)."""
    return (outputs > 0.5).astype(labels.dtype) if labels.ndim == 2 else outputs.argmax(axis=-1)


def representative_rows(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """A seeded random subset of the training rows for int8 calibration (all of them when there are few)."""
    chosen = np.random.default_rng(seed).permutation(len(x))[:REPRESENTATIVE_ROWS]
    return np.asarray(x)[np.sort(chosen)]


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block: silences C++ logging that Python cannot filter."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


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
