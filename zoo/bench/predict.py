"""`python -m zoo.bench predict`: inference speed on the CPU, Keras against zoo's runtime against zoo end to end.

In one process, on the same model and the same JPEG files: Keras `predict` on preloaded arrays (at its best batch
size of 16, 32 and 64), the runtime zoo chose (OpenVINO or LiteRT) called raw on the same arrays, the raw LiteRT
interpreter too, and zoo's predict path (decoding, fitting, the runtime, top-k) from the files. Then, in fresh
processes, a cold `zoo predict` of one image (warm conversion cache) against `python -c "import tensorflow"`.
Each throughput is the best of `repeats` passes, every path taking one pass in turn, so a burst of load on a shared
machine hurts all of them alike. Last, what trust on read costs a warm `zoo predict`: the cache key (zoo's conversion
code and versions digested) and the seal checks of the card, the converted file and OpenVINO's compiled model,
against that fresh process's wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zoo.data.decoding.images import file_batches
from zoo.loading.ranking import top_labels
from zoo.results import runtime_cache
from zoo.results.openvino_runtime import SETTINGS
from zoo.results.runtime import (
    ModelSource,
    Runner,
    cached_paths,
    catalogue_source,
    file_source,
    litert_runner,
    open_runner,
    run_files,
)
from zoo.sealed import check_sealed

MODEL = "efficientnet_lite0"
KERAS_BATCHES = (16, 32, 64)  # Keras is measured at each, its best kept
PHOTOS = Path(__file__).parent.parent / "assets"


@dataclass(frozen=True)
class Setting:
    """The model (a catalogue name or a .keras file), how many image files, the batch size and passes per path."""

    model: str = MODEL
    images: int = 64
    batch_size: int = 32
    repeats: int = 3


def write_photos(folder: Path, count: int) -> list[str]:
    """`count` JPEG files at camera-like sizes: the bundled photos, each cropped a little differently."""
    rng = np.random.default_rng(0)
    photos = [Image.open(path).convert("RGB") for path in sorted(PHOTOS.glob("*.jpg"))]
    files = []
    for index in range(count):
        photo = photos[index % len(photos)]
        left, top = (int(value) for value in rng.integers(0, 20, 2))
        path = folder / f"photo_{index:04d}.jpg"
        photo.crop((left, top, photo.width - 20 + left, photo.height - 20 + top)).save(path, quality=90)
        files.append(str(path))
    return files


def images_per_second(count: int, works: dict[str, Any], repeats: int) -> dict[str, float]:
    """For each named `work`, `count` / its fastest of `repeats` timed calls; each round calls every work once."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(repeats):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: count / seconds for name, seconds in best.items()}


def raw_interpreter(model_path: Path, pixels: np.ndarray, batch_size: int) -> Any:
    """A pass of LiteRT's interpreter over preloaded pixels, with nothing of zoo around it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model_path), num_threads=len(os.sched_getaffinity(0)))
    entry, output = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]

    shape = [None]

    def run() -> None:
        for start in range(0, len(pixels), batch_size):
            batch = np.ascontiguousarray(pixels[start : start + batch_size], dtype=np.float32)
            if batch.shape != shape[0]:
                interpreter.resize_tensor_input(entry, batch.shape)
                interpreter.allocate_tensors()
                shape[0] = batch.shape
            interpreter.set_tensor(entry, batch)
            interpreter.invoke()
            interpreter.get_tensor(output)

    return run


def raw_openvino(model_path: Path, pixels: np.ndarray) -> Any:
    """A pass of OpenVINO over preloaded pixels as zoo sets it up (throughput streams, float32, one image per
    request), with nothing of zoo around it."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(str(model_path))
    model.reshape([1, *pixels.shape[1:]])
    queue = ov.AsyncInferQueue(core.compile_model(model, "CPU", SETTINGS))

    def run() -> None:
        for index in range(len(pixels)):
            queue.start_async([pixels[index : index + 1]], index)
        queue.wait_all()

    return run


def fresh_process_seconds(command: list[str]) -> float:
    """Wall time of `command` in a new Python process that imports this copy of zoo; raises if it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PHOTOS.parent.parent), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run(setting: Setting) -> dict[str, Any]:
    """Measure all five figures; the conversion cache is warmed first (and its cost is not counted)."""
    model_file = Path(setting.model)
    source = file_source(model_file, model_file.name) if setting.model.endswith(".keras") else None
    source = source or catalogue_source(setting.model)
    runner = open_runner(source)
    if runner.runtime == "keras":
        raise RuntimeError(f"{setting.model} did not convert to LiteRT: nothing to compare Keras with")
    model = source.load()
    with tempfile.TemporaryDirectory(prefix="zoo-bench-predict-") as scratch:
        files = write_photos(Path(scratch), setting.images)
        failures: list = []
        pixels = np.concatenate([b for _, b in file_batches(files, runner.input_shape, setting.batch_size, failures)])
        names = runner.class_names or []

        def zoo_pass(runner: Runner = runner) -> None:
            for _, outputs in run_files([runner], files, setting.batch_size, [], progress=False):
                top_labels(outputs, names, 5)

        model_path = cached_paths(source, "predict")[0]
        works = {f"keras_{size}": keras_pass(model, pixels, size) for size in KERAS_BATCHES}
        works["litert"] = raw_interpreter(model_path, pixels, setting.batch_size)
        if runner.runtime == "openvino":
            works["openvino"] = raw_openvino(model_path, pixels)
            on_litert = litert_runner(str(model_path), {"input_shape": runner.input_shape, "class_names": names})
            works["zoo_litert"] = lambda: zoo_pass(on_litert)
        works["zoo"] = zoo_pass
        for work in works.values():  # warm-up: graph tracing, tensor allocation
            work()
        rates = images_per_second(len(files), works, setting.repeats)
        result = {
            "runtime": runner.runtime,
            "keras_images_per_s": max(rates[f"keras_{size}"] for size in KERAS_BATCHES),
            "keras_batch_size": max(KERAS_BATCHES, key=lambda size: rates[f"keras_{size}"]),
            "runtime_images_per_s": rates[runner.runtime],
            "litert_images_per_s": rates["litert"],
            "zoo_images_per_s": rates["zoo"],
            "zoo_litert_images_per_s": rates.get("zoo_litert", rates["zoo"]),  # zoo end to end on LiteRT
            "cold_start_s": fresh_process_seconds([sys.executable, "-m", "zoo", "predict", setting.model, files[0]]),
            "tensorflow_import_s": fresh_process_seconds([sys.executable, "-c", "import tensorflow"]),
            "seal_check_s": seal_check_seconds(source, setting.repeats),
            "full_hash_s": seal_check_seconds(source, setting.repeats, full=True),
        }
    return {**result, **ratios(result), "setting": asdict(setting), "cpus": len(os.sched_getaffinity(0))}


def seal_check_seconds(source: ModelSource, repeats: int, full: bool = False) -> float:
    """The fastest of `repeats` checks a warm open makes before it runs: the entry's key (conversion code and
    versions digested anew), the card's, the converted file's and OpenVINO's compiled model's seals. `full`: each
    file hashed in full instead (what `zoo cache verify` does), for comparison."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        runtime_cache.conversion_identity.cache_clear()
        paths = cached_paths(source, "predict")
        if runtime_cache.checked_entry(paths, print) is None:
            raise RuntimeError(f"the runtime cache entry {paths[1]} is missing or damaged")
        runtime_cache.compiled_folder(paths[0], print)
        if full:
            for path in (*paths, *(paths[0].parent / "openvino" / paths[0].stem).glob("*.blob")):
                check_sealed(path, full=True)
        best = min(best, time.perf_counter() - started)
    return best


def keras_pass(model: Any, pixels: np.ndarray, batch_size: int) -> Any:
    """A pass of Keras `predict` over preloaded pixels at `batch_size`."""
    return lambda: model.predict(pixels, batch_size=batch_size, verbose=0)


def ratios(result: dict[str, float]) -> dict[str, float]:
    """The goals' ratios: zoo / raw runtime (>= 0.9), zoo / Keras (>= 2), cold start / TensorFlow import (<= 0.3),
    seal checks / a warm `zoo predict` of one image (<= 0.05)."""
    return {
        "zoo_vs_runtime": result["zoo_images_per_s"] / result["runtime_images_per_s"],
        "zoo_vs_keras": result["zoo_images_per_s"] / result["keras_images_per_s"],
        "cold_start_vs_tensorflow_import": result["cold_start_s"] / result["tensorflow_import_s"],
        "seal_check_vs_warm_predict": result["seal_check_s"] / result["cold_start_s"],
    }


def render(result: dict[str, Any]) -> str:
    """A small table for people: the five figures (and raw LiteRT) and the three ratios with their goals."""
    runtime, keras_batch = result["runtime"], result["keras_batch_size"]
    rows = [
        (f"Keras predict, preloaded arrays (batch {keras_batch})", f"{result['keras_images_per_s']:.1f} images/s"),
        (f"raw {runtime} (zoo's runtime), preloaded arrays", f"{result['runtime_images_per_s']:.1f} images/s"),
        ("raw LiteRT interpreter, preloaded arrays", f"{result['litert_images_per_s']:.1f} images/s"),
        (f"zoo predict from files (decoding included), {runtime}", f"{result['zoo_images_per_s']:.1f} images/s"),
        ("zoo predict from files, LiteRT", f"{result['zoo_litert_images_per_s']:.1f} images/s"),
        ("cold `zoo predict` of one image", f"{result['cold_start_s']:.2f} s"),
        ('`python -c "import tensorflow"`', f"{result['tensorflow_import_s']:.2f} s"),
        ("zoo / raw runtime (goal >= 0.9)", f"{result['zoo_vs_runtime']:.2f}"),
        ("zoo / Keras (goal >= 2)", f"{result['zoo_vs_keras']:.2f}"),
        ("cold start / TensorFlow import (goal <= 0.3)", f"{result['cold_start_vs_tensorflow_import']:.2f}"),
        ("seal checks of the cached files, warm open", f"{result['seal_check_s'] * 1000:.1f} ms"),
        ("every cached file hashed in full instead", f"{result['full_hash_s'] * 1000:.1f} ms"),
        ("seal checks / cold `zoo predict` (goal <= 0.05)", f"{result['seal_check_vs_warm_predict']:.4f}"),
    ]
    width = max(len(name) for name, _ in rows)
    setting = result["setting"]
    footer = f"{setting['model']}, {setting['images']} JPEG files, batch {setting['batch_size']}, {result['cpus']} CPUs"
    return "\n".join([*(f"{name:<{width}}  {value}" for name, value in rows), footer])


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
