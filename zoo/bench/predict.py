"""`python -m zoo.bench predict`: inference speed on the CPU, Keras against zoo's runtime against zoo end to end.

In one process, on the same model and the same JPEG files: Keras `predict` on preloaded arrays (at its best batch
size of 16, 32 and 64), the runtime zoo chose (OpenVINO or LiteRT) called raw on the same arrays, the raw LiteRT
interpreter too, and zoo's predict path (decoding, fitting, the runtime, top-k) from the files. Then, in fresh
processes, a cold `zoo predict` of one image (warm conversion cache) against `python -c "import tensorflow"`, and
the figures against the machine's limit and a Keras user's folder script.

The limit: a JPEG costs its decode (read, decode, fit) and its inference, each in core time (CPU seconds over all
threads), and the machine has `cores` of them, so no pipeline beats cores / (decode + runtime) images per second;
`zoo_of_bound` says how near zoo's end-to-end rate comes. The folder comparison runs two fresh processes on the
same folder of JPEGs: `zoo predict MODEL FOLDER --json` (warm conversion cache) and the script a Keras user writes
(`image_dataset_from_directory` + `predict` on the same model saved as .keras); wall rate and peak memory of each.
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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from zoo.data.decoding.images import decode_file, file_batches
from zoo.loading.ranking import top_labels
from zoo.results import runtime_cache
from zoo.results.conversion import via_litert
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
KERAS_BATCHES = (16, 32, 64)
PEAK_POLL_S = 0.05  # how often a child's peak memory is read  # Keras is measured at each, its best kept
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
        (Path(scratch) / "photos").mkdir()
        files = write_photos(Path(scratch) / "photos", setting.images)
        failures: list = []
        pixels = np.concatenate([b for _, b in file_batches(files, runner.input_shape, setting.batch_size, failures)])
        names = runner.class_names or []

        def zoo_pass(runner: Runner = runner) -> None:
            for _, outputs in run_files([runner], files, setting.batch_size, [], progress=False):
                top_labels(outputs, names, 5)

        tflite_path = litert_file(model, pixels[:2], Path(scratch))
        works = {f"keras_{size}": keras_pass(model, pixels, size) for size in KERAS_BATCHES}
        works["litert"] = raw_interpreter(tflite_path, pixels, setting.batch_size)
        if runner.runtime == "openvino":
            works["openvino"] = raw_openvino(runner.run.path, pixels)  # type: ignore[attr-defined]
            on_litert = litert_runner(str(tflite_path), {"input_shape": runner.input_shape, "class_names": names})
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
        decode_ms = core_ms_per_image(decode_pass(files, runner.input_shape), len(files), setting.repeats)
        runtime_ms = core_ms_per_image(works[runner.runtime], len(files), setting.repeats)
        result |= bound_figures(decode_ms, runtime_ms, len(os.sched_getaffinity(0)), rates["zoo"])
        # on a shared machine zoo gets a share of the cores, not all: its own core time per image says how near
        # the limit it would come on an idle one (the bound's core time over zoo's)
        result["zoo_core_ms_per_image"] = core_ms_per_image(zoo_pass, len(files), setting.repeats)
        result["zoo_of_bound_core_time"] = (decode_ms + runtime_ms) / result["zoo_core_ms_per_image"]
        model.save(Path(scratch) / "model.keras")
        result |= folder_comparison(setting.model, Path(scratch) / "model.keras", Path(scratch) / "photos", len(files))
    return {**result, **ratios(result), "setting": asdict(setting), "cpus": len(os.sched_getaffinity(0))}


def seal_check_seconds(source: ModelSource, repeats: int, full: bool = False) -> float:
    """The fastest of `repeats` checks a warm open makes before it runs: the entry's key (conversion code and
    versions digested anew), the card's, the converted files' and OpenVINO's compiled model's seals. `full`: each
    file hashed in full instead (what `zoo cache verify` does), for comparison."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        runtime_cache.conversion_identity.cache_clear()
        paths = cached_paths(source, "predict")
        card = runtime_cache.checked_entry(paths, print)
        if card is None or not card["converted"]:
            raise RuntimeError(f"the runtime cache entry {paths[1]} is missing, damaged or not converted")
        model = runtime_cache.model_file(paths, card)
        runtime_cache.compiled_folder(model, print)
        if full:
            files = [paths[1], *(paths[1].parent / name for name in card["files"])]
            for path in (*files, *(model.parent / "openvino" / model.stem).glob("*.blob")):
                check_sealed(path, full=True)
        best = min(best, time.perf_counter() - started)
    return best


def litert_file(model: Any, sample: np.ndarray, scratch: Path) -> Path:
    """The model through the LiteRT route (what zoo runs where OpenVINO is missing), for the raw LiteRT figure."""
    return via_litert(model, scratch, sample, [model.predict(sample, verbose=0)], [1.0], ("predict",))[0]


def keras_pass(model: Any, pixels: np.ndarray, batch_size: int) -> Any:
    """A pass of Keras `predict` over preloaded pixels at `batch_size`."""
    return lambda: model.predict(pixels, batch_size=batch_size, verbose=0)


KERAS_FOLDER_SCRIPT = """
import sys
import keras
import zoo  # registers zoo's layers, so the saved model loads
model = keras.saving.load_model(sys.argv[1])
height, width = model.input_shape[1:3]
images = keras.utils.image_dataset_from_directory(
    sys.argv[2], labels=None, image_size=(height, width), batch_size=32, shuffle=False
)
print(model.predict(images, verbose=0).shape)
"""


def core_ms_per_image(work: Callable[[], Any], count: int, repeats: int) -> float:
    """CPU milliseconds (all threads of this process) per image of `work`, the least of `repeats` calls."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best / count * 1000


def decode_pass(files: Sequence[str], shape: tuple[int, int, int]) -> Callable[[], None]:
    """One thread decoding and fitting every file, as each of file_batches' workers does."""
    return lambda: [decode_file(path, shape) for path in files]


def bound_figures(decode_ms: float, runtime_ms: float, cores: int, zoo_images_per_s: float) -> dict[str, float]:
    """The core times, the CPU-bound rate they allow, and zoo's end-to-end rate as a share of it."""
    bound = cores / ((decode_ms + runtime_ms) / 1000)
    return {
        "decode_ms_per_image": decode_ms,
        "runtime_ms_per_image": runtime_ms,
        "cpu_bound_images_per_s": bound,
        "zoo_of_bound": zoo_images_per_s / bound,
    }


def child_run(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of `command` in a fresh process importing this copy of zoo; raises if it
    fails. The peak is the child's own VmHWM, read while it runs: wait4's ru_maxrss would count this (large)
    process's pages, which a forked child maps until it execs."""
    root = str(Path(__file__).parent.parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: a chatty child cannot fill it and stall
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak_kb = 0
        while child.poll() is None:
            peak_kb = max(peak_kb, high_water_kb(child.pid))
            time.sleep(PEAK_POLL_S)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command[:4])} failed: {errors.read().decode(errors='replace')[-2000:]}")
    return seconds, peak_kb / 1024


def high_water_kb(pid: int) -> int:
    """The process's peak resident set so far (VmHWM, kB); 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def folder_comparison(model: str, keras_file: Path, folder: Path, count: int) -> dict[str, float]:
    """zoo predict on `folder` against the Keras user's script on it: images per second (wall, whole process,
    start-up included) and peak memory of each, and their ratios (goals: >= 3x the rate at <= 0.3x the memory)."""
    zoo_s, zoo_mb = child_run([sys.executable, "-m", "zoo", "predict", model, str(folder), "--json"])
    keras_s, keras_mb = child_run([sys.executable, "-c", KERAS_FOLDER_SCRIPT, str(keras_file), str(folder)])
    return {
        "zoo_folder_images_per_s": count / zoo_s,
        "keras_folder_images_per_s": count / keras_s,
        "zoo_folder_peak_mb": zoo_mb,
        "keras_folder_peak_mb": keras_mb,
        "zoo_vs_keras_folder": keras_s / zoo_s,
        "zoo_vs_keras_folder_memory": zoo_mb / keras_mb,
    }


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
        *limit_rows(result),
    ]
    width = max(len(name) for name, _ in rows)
    setting = result["setting"]
    footer = f"{setting['model']}, {setting['images']} JPEG files, batch {setting['batch_size']}, {result['cpus']} CPUs"
    return "\n".join([*(f"{name:<{width}}  {value}" for name, value in rows), footer])


def limit_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """The rows against the machine's limit and the Keras folder script (absent from an older result)."""
    if "zoo_of_bound" not in result:
        return []
    return [
        ("decode + fit, core ms per image", f"{result['decode_ms_per_image']:.2f}"),
        ("runtime, core ms per image", f"{result['runtime_ms_per_image']:.2f}"),
        ("CPU-bound limit (cores / both)", f"{result['cpu_bound_images_per_s']:.1f} images/s"),
        ("zoo / CPU-bound limit (goal >= 0.9)", f"{result['zoo_of_bound']:.2f}"),
        ("same, in core time (a busy machine's cores are shared)", f"{result['zoo_of_bound_core_time']:.2f}"),
        ("`zoo predict MODEL FOLDER`, whole process", f"{result['zoo_folder_images_per_s']:.1f} images/s"),
        ("Keras folder script, whole process", f"{result['keras_folder_images_per_s']:.1f} images/s"),
        ("zoo / Keras script, folder (goal >= 3)", f"{result['zoo_vs_keras_folder']:.2f}"),
        ("peak memory zoo / Keras script (goal <= 0.3)", f"{result['zoo_vs_keras_folder_memory']:.2f}"),
    ]


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result)
