"""The predict step of `python -m zoo.bench gpu`: which runtime `zoo predict` chooses with a GPU present, measured
against the others on the same files.

End to end from JPEG files (decoding, fitting, the runtime, top-5), each best of a few passes: zoo's choice, then
every other runner zoo can build for the model: OpenVINO and LiteRT on the CPU, Keras (on the GPU when there is one).
The fastest of them is the choice made by measurement; the step says whether zoo's choice is it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from zoo.bench.predict import images_per_second, write_photos
from zoo.loading.ranking import top_labels
from zoo.results.openvino_runtime import OpenVINOCall, has_openvino
from zoo.results.runtime import (
    Runner,
    cached_paths,
    catalogue_source,
    file_source,
    has_litert,
    litert_runner,
    open_runner,
    run_files,
)
from zoo.results.runtime_cache import checked_entry, model_file

MODEL = "efficientnet_lite0"  # bundled weights, 224 px: the model of `python -m zoo.bench predict`
FILES, TINY_FILES = 256, 16
BATCH = 32


def tiny_model(folder: Path) -> Path:
    """A small saved classifier (16 px, one convolution) standing in for a catalogue model on the CPU."""
    import keras

    from zoo.loading.model import ZooModel

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    ZooModel(inputs, outputs, class_names=["a", "b"]).save(folder / "tiny.keras")
    return folder / "tiny.keras"


def runners(source: Any, chosen: Runner) -> dict[str, Runner]:
    """zoo's choice and every other runner of the converted file (which exists only once it passed its checks),
    and Keras, keyed by runtime."""
    found = {chosen.runtime: chosen}
    paths = cached_paths(source, "predict")
    card = checked_entry(paths, lambda line: None)
    model_path = model_file(paths, card) if card is not None and card["converted"] else None
    checks = card["runtimes"] if card is not None else {}
    outputs = {name: check.get("outputs", {}).get("predict", 0) for name, check in checks.items()}
    if model_path is not None and "litert" in outputs and has_litert():
        details = {"input_shape": chosen.input_shape, "class_names": chosen.class_names}
        found.setdefault("litert", litert_runner(str(model_path), details, outputs["litert"]))
    if model_path is not None and has_openvino():
        output = outputs.get("openvino", outputs.get("litert", 0))
        openvino = Runner(chosen.input_shape, chosen.class_names, "openvino", OpenVINOCall(model_path, output=output))
        found.setdefault("openvino", openvino)
    if "keras" not in found:
        model = source.load()
        found["keras"] = Runner(chosen.input_shape, chosen.class_names, "keras", model.predict_on_batch)
    return found


def predict(tiny: bool) -> dict[str, Any]:
    """Convert (cold cache, timed), then every runner end to end on the same files; zoo's choice against the fastest."""
    import os

    with tempfile.TemporaryDirectory(prefix="zoo-bench-gpu-predict-") as scratch:
        folder = Path(scratch)
        os.environ["ZOO_CACHE_DIR"] = str(folder / "cache")  # a cold conversion cache, removed afterwards
        source = file_source(tiny_model(folder), "tiny.keras") if tiny else catalogue_source(MODEL)
        started = time.perf_counter()
        chosen = open_runner(source, note=lambda line: None)
        conversion = time.perf_counter() - started
        files = write_photos(folder, TINY_FILES if tiny else FILES)
        every = runners(source, chosen)

        def end_to_end(runner: Runner) -> Any:
            names = runner.class_names or []
            return lambda: [top_labels(out, names, 5) for _, out in run_files([runner], files, BATCH, [], (), False)]

        works = {runtime: end_to_end(runner) for runtime, runner in every.items()}
        for work in works.values():  # warm-up: tracing, compiling, allocation
            work()
        rates = images_per_second(len(files), works, repeats=2 if tiny else 3)
    fastest = max(rates, key=rates.__getitem__)
    return {
        "model": "tiny.keras" if tiny else MODEL,
        "files": len(files),
        "zoo_choice": chosen.runtime,
        "images_per_second": {runtime: round(rate, 1) for runtime, rate in rates.items()},
        "fastest": fastest,
        "zoo_choice_is_fastest": chosen.runtime == fastest,
        "choice_vs_fastest": round(rates[chosen.runtime] / rates[fastest], 3),
        "first_open_seconds": round(conversion, 1),
    }
