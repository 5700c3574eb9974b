"""Convert a Keras model once for the fast CPU runtime and check the file against Keras: OpenVINO IR from the
model's inference graph with its weights as constants first, the LiteRT (.tflite) route when OpenVINO is missing or
disagrees.

Measured on efficientnet_lite0, 2 cores (docs/benchmarks.md): Keras' own IR export converted in 7.7 s against 26.5 s
for the SavedModel -> tf.lite route, with the same first-call latency (0.28 s) and agreement (~6e-7); the
constant-weight graph (write_openvino_ir) then took 0.42-0.46x of Keras' export's time. A model with
a classifier converts with two outputs, its own and its pooled features, so predict and embed share one file.
Files land in their folder by rename (from a scratch folder beside them), each sealed (zoo.sealed), the card last.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.results.openvino_runtime import OpenVINOCall, has_openvino, openvino_version
from zoo.results.runtime_cache import store_card
from zoo.sealed import seal_written
from zoo.version import __version__

ROUTES = ("openvino", "litert")  # fastest conversion first; each route's file is checked before it is kept
FLOAT32_TOLERANCE = 1e-4  # float32 runtimes agree with Keras to ~1e-6; the same bound holds every export to it
# float16 / bfloat16 layers round at about 1e-3 relative; runtimes may order those roundings differently.
LOW_PRECISION_TOLERANCE = 1e-2
CHECK_IMAGES = 4  # random images each conversion is compared with Keras on, once
EMBED_TOLERANCE = 1e-3  # features are not probabilities: their magnitudes reach tens; compare relative to the largest
RUN_FOLDER_STEM = "runtime"  # a run folder's runtime.xml/.bin (or .tflite) and runtime.json, exported with the model
SUFFIXES = {"openvino": (".xml", ".bin"), "litert": (".tflite",)}


def convert_checked(
    target: Any, purposes: Sequence[str], folder: Path, stem: str, note: Callable[[str], None]
) -> dict[str, Any]:
    """Convert `target` (outputs in the order of `purposes`) into folder/stem.*, check each runtime on the file
    against Keras, and return the card's conversion part: route, files and their sha256, each runtime's check."""
    shape = tuple(int(side) for side in target.input_shape[1:4])
    sample = np.random.default_rng(0).uniform(0, 255, (CHECK_IMAGES, *shape)).astype(np.float32)
    references = [np.asarray(out) for out in as_list(eager_outputs(target, sample))]
    base = tolerance_for(target)
    limits = [tolerance(reference, purpose, base) for reference, purpose in zip(references, purposes, strict=True)]
    folder.mkdir(parents=True, exist_ok=True)
    reasons = []
    for route in ROUTES if has_openvino() else ROUTES[1:]:
        with tempfile.TemporaryDirectory(prefix=".zoo-convert-", dir=folder) as scratch:
            try:
                path, runtimes = ROUTE_CONVERTERS[route](target, Path(scratch), sample, references, limits, purposes)
            except Exception as error:  # a model a route cannot convert tries the next one
                reasons.append(f"{route}: {type(error).__name__}: {first_line(error)}")
                continue
            if any(check.get("ok") for check in runtimes.values()):
                files = place(path, folder, stem, route)
                return {"converted": True, "route": route, "files": files, "runtimes": runtimes, "reason": None}
            reasons.append(f"{route}: {'; '.join(check.get('reason', '') for check in runtimes.values())}")
    return {"converted": False, "route": None, "files": {}, "runtimes": {}, "reason": "; ".join(reasons)}


def eager_outputs(model: Any, sample: np.ndarray) -> Any:
    """`model` called eagerly on a small sample: tracing a predict function would cost more than the call."""
    with warnings.catch_warnings():  # a model built on [input] warns that one array is not a list; Keras takes it
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
        return model(sample, training=False)


def first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:200]


def as_list(outputs: Any) -> list:
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


def tolerance(reference: np.ndarray, purpose: str, base: float = FLOAT32_TOLERANCE) -> float:
    """`base` (the model's precision's) for probabilities; for features also relative to the largest value (their
    magnitudes reach tens)."""
    if purpose == "predict":
        return base
    return max(base, EMBED_TOLERANCE * max(1.0, float(np.abs(reference).max())))


def tolerance_for(model: Any) -> float:
    """1e-4 for float32 models; looser when any layer computes in float16 or bfloat16 (mixed precision)."""
    pending, dtypes = [model], set()
    while pending:
        layer = pending.pop()
        dtypes.add(getattr(getattr(layer, "dtype_policy", None), "compute_dtype", "float32"))
        pending.extend(getattr(layer, "layers", []))
    return LOW_PRECISION_TOLERANCE if dtypes & {"float16", "bfloat16"} else FLOAT32_TOLERANCE


def place(path: Path, folder: Path, stem: str, route: str) -> dict[str, str]:
    """Rename the checked file(s) from the scratch folder into folder/stem.*, each sealed (the weights before the
    graph that names them), and return {file name: sha256}."""
    files = {}
    for suffix in SUFFIXES[route][::-1]:
        final = folder / f"{stem}{suffix}"
        seal_written(path.with_suffix(suffix), final, made_by=f"zoo {__version__} {route} conversion")
        files[final.name] = json.loads(final.with_name(final.name + ".seal").read_text())["sha256"]
    return files


def output_order(outputs: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> list[int]:
    """For each Keras output, the index of the file's output of the same shape that is closest to it (a converter
    may reorder outputs)."""
    order = []
    for reference in references:
        same = [i for i, out in enumerate(outputs) if out.shape == reference.shape] or [0]
        order.append(min(same, key=lambda i: float(np.abs(outputs[i].astype(np.float64) - reference).max())))
    return order


def check_outputs(
    outputs: Sequence[np.ndarray], references: Sequence[np.ndarray], limits: Sequence[float], purposes: Sequence[str]
) -> dict[str, Any]:
    """One runtime's check: each Keras output found among the file's within its limit, and where."""
    order = output_order(outputs, references)
    diffs = []
    for index, reference in zip(order, references, strict=True):
        found = outputs[index] if index < len(outputs) else np.full_like(reference, np.nan)
        same = found.shape == reference.shape
        diffs.append(float(np.abs(found.astype(np.float64) - reference).max()) if same else np.inf)
    ok = all(diff <= limit for diff, limit in zip(diffs, limits, strict=True))  # NaN fails
    check = {"ok": bool(ok), "max_abs_diff": max(diffs), "tolerance": max(limits)}
    check["tolerances"] = dict(zip(purposes, limits, strict=True))  # each output's: the model's precision's
    check["outputs"] = dict(zip(purposes, order, strict=True))
    if not ok:
        check["reason"] = f"outputs differ from Keras' by up to {max(diffs):.3g}"
    return check


def via_openvino(
    target: Any, scratch: Path, sample: np.ndarray, references: list, limits: list, purposes: Sequence[str]
) -> tuple[Path, dict[str, Any]]:
    """OpenVINO IR from the model's inference graph (no tf.lite), run and checked by OpenVINO."""
    path = scratch / "model.xml"
    write_openvino_ir(target, path)
    check = check_outputs(OpenVINOCall(path, output=None).all_outputs(sample), references, limits, purposes)
    return path, {"openvino": {**check, "runtime": f"openvino {openvino_version()}"}}


def write_openvino_ir(target: Any, path: Path) -> None:
    """Save `target`'s inference call as OpenVINO IR, its weights traced in as constants (float32, uncompressed).

    Keras' `export(format="openvino")` traces the same call but keeps the weights as variables, which it first
    gathers into a SavedModel-style archive and OpenVINO's front end then matches to the graph one by one (a search
    per weight): 2.2-2.4x slower for efficientnet_lite0 (docs/benchmarks.md), same IR numbers."""
    import openvino as ov
    import tensorflow as tf

    trainable = [variable.numpy() for variable in target.trainable_variables]
    fixed = [variable.numpy() for variable in target.non_trainable_variables]

    def inference(pixels: Any) -> Any:
        weights = [tf.constant(value) for value in trainable], [tf.constant(value) for value in fixed]
        return target.stateless_call(*weights, pixels, training=False)[0]

    graph = tf.function(inference).get_concrete_function(tf.TensorSpec((None, *target.input_shape[1:]), tf.float32))
    ov.save_model(ov.convert_model(graph), str(path), compress_to_fp16=False)


def via_litert(
    target: Any, scratch: Path, sample: np.ndarray, references: list, limits: list, purposes: Sequence[str]
) -> tuple[Path, dict[str, Any]]:
    """A .tflite file through zoo.results.export's TFLite path, checked in LiteRT and (when installed) OpenVINO."""
    from zoo.results.litert import export_tflite

    path, outputs, runtime = export_tflite(target, scratch, sample, {}, scratch)
    runtimes = {"litert": {**check_outputs([np.asarray(o) for o in outputs], references, limits, purposes)}}
    runtimes["litert"]["runtime"] = runtime
    if runtimes["litert"]["ok"] and has_openvino():
        try:
            found = OpenVINOCall(path, output=None).all_outputs(sample)
            runtimes["openvino"] = {**check_outputs(found, references, limits, purposes)}
            runtimes["openvino"]["runtime"] = f"openvino {openvino_version()}"
        except Exception as error:  # a model OpenVINO cannot read or compile simply stays on LiteRT
            runtimes["openvino"] = {"ok": False, "reason": f"{type(error).__name__}: {first_line(error)}"}
    return path, runtimes


ROUTE_CONVERTERS: dict[str, Callable] = {"openvino": via_openvino, "litert": via_litert}


def convert_and_record(
    model: Any, purpose: str, digest: str, place: tuple[Path, str], note: Callable[[str], None]
) -> tuple[Path, dict]:
    """Convert `model` for `purpose` into place (folder, stem), checked; write its card last, sealed; return (the
    folder, the card)."""
    target, purposes = runtime_target(model, purpose)
    folder, stem = place
    card = {
        "input_shape": [int(side) for side in target.input_shape[1:4]],
        "class_names": getattr(model, "class_names", None),
        "source": digest,  # sha256 of the .keras file (or the weights) the conversion was made from
        "purposes": list(purposes),
        **convert_checked(target, purposes, folder, stem, note),
        "zoo": __version__,
    }
    store_card(folder / f"{stem}.json", card)
    return folder, card


def runtime_target(model: Any, purpose: str) -> tuple[Any, tuple[str, ...]]:
    """What is converted: a classifier with its features as a second output (predict and embed from one file),
    else the model alone for predict, its features model for embed, the model's own outputs for features."""
    if purpose == "features":
        return model, ("features",)
    both = outputs_and_features(model)
    if both is not None:
        return both, ("predict", "embed")
    return (model, ("predict",)) if purpose == "predict" else (features_of(model), ("embed",))


def export_runtime(model: Any, out_dir: Path, note: Callable[[str], None]) -> dict:
    """A run folder's runtime files (runtime.xml/.bin or runtime.tflite, and runtime.json), converted from its
    model.keras, which must be written first: its sha256 binds them, so predict and embed use them as they are."""
    from zoo.weights.verify import digest_file

    digest = digest_file(out_dir / "model.keras")["sha256"]
    return convert_and_record(model, "predict", digest, (out_dir, RUN_FOLDER_STEM), note)[1]


def features_of(model: Any) -> Any:
    from zoo.loading.model import features_model

    return features_model(model)


def outputs_and_features(model: Any) -> Any:
    from zoo.loading.model import outputs_and_features as both

    return both(model)
