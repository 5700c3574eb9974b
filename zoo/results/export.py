"""Export a trained model as .keras, the fast runtime's file, SavedModel, TFLite and ONNX, and prove each file by
running it in its own runtime.

The default is what a user will use: model.keras and the runtime's file (runtime.xml/.bin, OpenVINO IR, or
runtime.tflite; zoo.results.runtime.export_runtime), which `zoo predict`/`embed` then run as they are. Every format
is reloaded and compared with the Keras model on a sample; one that cannot be produced or disagrees is reported
with the reason (ExportCheck.ok False) and never stops the others. The quantized LiteRT files (tflite_fp16,
tflite_int8; opt-in) are checked by their validation accuracy instead (zoo.results.litert).
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import disk_full
from zoo.results.conversion import FLOAT32_TOLERANCE, eager_outputs, tolerance_for
from zoo.results.litert import (
    MAX_ACCURACY_DROP,
    QUANTIZED,
    Exported,
    QuantizationData,
    accuracy_check,
    export_quantized,
    export_savedmodel,
    export_tflite,
    quantized_failure,
)

if TYPE_CHECKING:
    import keras

DEFAULT_FORMATS = ("keras", "runtime")
FORMATS = (*DEFAULT_FORMATS, "savedmodel", "tflite", "onnx", *QUANTIZED)
ONNX_PACKAGES = ("tf2onnx", "onnx", "onnxruntime")  # Keras' ONNX export needs the first two, the check the third
REASON_CHARS = 600


@dataclass
class ExportCheck:
    """One exported format: where it is, whether it reloaded and agreed with Keras, by how much, or why not."""

    format: str
    path: Path | None
    ok: bool
    max_abs_diff: float | None = None
    tolerance: float | None = None
    runtime: str | None = None  # what reloaded and ran the file
    error: str | None = None
    seconds: float = 0.0
    size_bytes: int | None = None
    quantized: dict[str, Any] | None = None  # a quantized file's validation accuracy, the float model's, the drop

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path) if self.path else None}


def export_model(
    model: keras.Model,
    out_dir: Path,
    sample: np.ndarray,
    formats: Sequence[str] = DEFAULT_FORMATS,
    quantize: QuantizationData | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, ExportCheck]:
    """Write out_dir/model.keras, saved_model/, model.tflite, model.onnx, model_fp16.tflite, model_int8.tflite (those
    asked for), each checked on `sample`; the quantized ones on `quantize`'s validation set; `say`: a line for each."""
    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; choose among {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sample = np.asarray(sample).astype(model.inputs[0].dtype)
    reference = as_arrays(model.predict(sample, batch_size=len(sample), verbose=0))
    tolerance = tolerance_for(model)
    checks: dict[str, ExportCheck] = {}
    with tempfile.TemporaryDirectory(prefix="zoo-export-") as scratch:
        for name in sorted(formats, key=lambda name: name != "keras"):  # the runtime's file is bound to model.keras
            started = time.perf_counter()
            try:
                if name in QUANTIZED:
                    checks[name] = quantized_check(model, out_dir, name, quantize)
                elif name == "runtime":
                    checks[name] = runtime_check(model, out_dir)
                else:
                    path, outputs, runtime = EXPORTERS[name](model, out_dir, sample, checks, Path(scratch))
                    checks[name] = compare(name, path, runtime, reference, as_arrays(outputs), tolerance)
            except Exception as error:  # any failure of one format is recorded, the others go on
                full = disk_full(error)
                if full is not None:  # not the format's failure: the run stops with one line (zoo.cli)
                    raise full from None
                checks[name] = ExportCheck(name, None, False, error=reason(error), tolerance=tolerance)
            checks[name].seconds = round(time.perf_counter() - started, 3)
            if say is not None:
                say(export_line(checks[name]))
    return checks


def export_line(check: ExportCheck) -> str:
    """What one export took and how it went: `export tflite: model.tflite checked (12.3 s)`."""
    if check.ok and check.path is not None:
        done = f"{check.path.name} checked"
    else:
        done = f"failed: {check.error or 'its outputs differ from the Keras model (see report.json)'}"
    return f"export {check.format}: {done} ({check.seconds:.1f} s)"


def runtime_check(model: keras.Model, out_dir: Path) -> ExportCheck:
    """The fast runtime's file, converted as `zoo predict` would convert it (and checked against Keras the same way),
    bound to out_dir/model.keras (written first, by the keras format or here)."""
    from zoo.results.conversion import RUN_FOLDER_STEM, export_runtime

    if not (out_dir / "model.keras").is_file():
        model.save(out_dir / "model.keras")
    card = export_runtime(model, out_dir, note=lambda line: None)
    checks = [check for check in card["runtimes"].values() if check.get("ok")]
    main = next((name for name in card["files"] if name.endswith((".xml", ".tflite"))), None)
    path = out_dir / main if main else None
    check = ExportCheck("runtime", path, bool(card["converted"]), tolerance=FLOAT32_TOLERANCE, error=card["reason"])
    if checks:
        check.max_abs_diff = checks[0].get("max_abs_diff")
        check.runtime = ", ".join(str(c.get("runtime")) for c in checks)
        check.size_bytes = sum(size_of(out_dir / name) for name in card["files"])
    check.error = None if check.ok else card["reason"] or f"no runtime file: see {out_dir / RUN_FOLDER_STEM}.json"
    return check


def quantized_check(model: keras.Model, out_dir: Path, name: str, data: QuantizationData | None) -> ExportCheck:
    """Write a quantized LiteRT file and check it: at most MAX_ACCURACY_DROP of validation accuracy lost and at least
    MIN_AGREEMENT of its top-1 answers the float model's (zoo.results.litert.quantized_failure)."""
    if data is None:
        raise ValueError(f"{name} needs training rows to calibrate on and validation data to be checked on")
    path = out_dir / f"model_{name.removeprefix('tflite_')}.tflite"
    export_quantized(model, path, name, data)
    found = accuracy_check(model, path, data)
    runtime = found.pop("runtime")
    failure = quantized_failure(found)
    check = ExportCheck(
        name, path, failure is None, tolerance=MAX_ACCURACY_DROP, runtime=runtime, size_bytes=size_of(path)
    )
    check.quantized = found
    check.error = failure
    return check


def compare(name: str, path: Path, runtime: str, reference: list, outputs: list, tolerance: float) -> ExportCheck:
    """The check of one reloaded format: largest absolute difference from Keras' predictions, within tolerance."""
    check = ExportCheck(name, path, False, tolerance=tolerance, runtime=runtime, size_bytes=size_of(path))
    shapes = [a.shape for a in reference], [a.shape for a in outputs]
    if shapes[0] != shapes[1]:
        check.error = f"the reloaded model gives outputs shaped {shapes[1]} where Keras gives {shapes[0]}"
        return check
    pairs = zip(reference, outputs, strict=True)
    diffs = [np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0) for a, b in pairs]
    check.max_abs_diff = float(max(diffs, default=0.0))
    check.ok = bool(check.max_abs_diff <= tolerance)  # NaN compares False: a NaN output fails
    if not check.ok:
        check.error = (
            f"predictions differ from Keras' by up to {check.max_abs_diff:.3g}, over the tolerance {tolerance:g}"
        )
    return check


def export_keras(
    model: keras.Model, out_dir: Path, sample: np.ndarray, checks: dict[str, ExportCheck], scratch: Path
) -> Exported:
    """The native format, reloaded with safe_mode on as users will (zoo's layers registered by import)."""
    import keras

    from zoo.loading.assemble import load_saved

    path = out_dir / "model.keras"
    model.save(path)
    reloaded = load_saved(path)
    return path, eager_outputs(reloaded, sample), f"keras {keras.version()}"


def export_onnx(
    model: keras.Model, out_dir: Path, sample: np.ndarray, checks: dict[str, ExportCheck], scratch: Path
) -> Exported:
    """ONNX through Keras' own exporter (tf2onnx inside), checked with onnxruntime on the CPU."""
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"ONNX export needs the {', '.join(missing)} package(s), not installed; pip install 'zoo-keras[export]'"
        )
    import onnxruntime

    path = out_dir / "model.onnx"
    with warnings.catch_warnings():  # Keras' tf2onnx shim probes np.object, which NumPy 2 warns about
        warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)
        model.export(str(path), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    return path, session.run(None, {first.name: sample}), f"onnxruntime {onnxruntime.__version__}"


EXPORTERS: dict[str, Callable] = {
    "keras": export_keras,
    "savedmodel": export_savedmodel,
    "tflite": export_tflite,
    "onnx": export_onnx,
}


def as_arrays(outputs: Any) -> list[np.ndarray]:
    """Any model output (array, tensor, list, dict) as a flat list of NumPy arrays, dicts in key order."""
    if isinstance(outputs, dict):
        return [array for key in sorted(outputs) for array in as_arrays(outputs[key])]
    if isinstance(outputs, list | tuple):
        return [array for item in outputs for array in as_arrays(item)]
    return [np.asarray(outputs)]


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def reason(error: BaseException) -> str:
    """A short account of a failure: the exception type and its error lines, without MLIR's location noise."""
    text = str(error)
    lines = [line.split("error:", 1)[1].strip() for line in text.splitlines() if "error:" in line] or [text.strip()]
    lines = [re.sub(r"^loc\(.*\)\):\s*", "", line) for line in lines]  # drop MLIR's loc(callsite(...)) prefix
    lines = [line.split(" For example", 1)[0] for line in lines]  # the converter's advice is to enable Flex ops
    summary = "; ".join(dict.fromkeys(line for line in lines if line))[:REASON_CHARS]
    if any(words in text for words in ("Select TF ops", "TF Select", "flex op")):
        summary += (
            " -- the model needs TensorFlow (Flex) ops that a plain TFLite interpreter cannot run; recurrent layers"
            " (LSTM, GRU) and float16 compute are the usual causes: use the SavedModel or ONNX export instead"
        )
    return f"{type(error).__name__}: {summary}"
