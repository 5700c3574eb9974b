"""Fast CPU inference: each model converted once (zoo.results.conversion: OpenVINO IR, else LiteRT), checked against
Keras, run by the fastest runtime that gives Keras' answers: OpenVINO, else LiteRT's interpreter (XNNPACK).

A finetune run folder holds the file it was exported to (runtime.xml/.bin or runtime.tflite, with runtime.json);
otherwise the converted file and its card (input shape, class names, the files' sha256, each runtime's check) live
in zoo's cache folder, named by a digest of the weights (or saved model), the input size, the kind (model: predict
and embed from one file; features) and the zoo version. With a warm cache nothing here imports TensorFlow: OpenVINO
or ai-edge-litert, NumPy and Pillow do the work. A model that does not convert, or converts to different answers,
runs in Keras, with one line saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.catalogue import default_catalogue
from zoo.data.decoding.images import file_batches
from zoo.data.progress import Progress
from zoo.errors import BadData
from zoo.hardware.devices import import_tensorflow_quietly
from zoo.results.conversion import RUN_FOLDER_STEM, convert_and_record, features_of, files_intact
from zoo.results.litert import native_stderr_silenced
from zoo.results.openvino_runtime import OpenVINOCall, has_openvino
from zoo.version import __version__
from zoo.weights.cache import weights_identity
from zoo.weights.manifest import load_manifest
from zoo.weights.resolve import cache_dir
from zoo.weights.verify import digest_file

RUNTIME_FOLDER = "runtime"
PURPOSES = ("predict", "embed", "features")  # features: the model's own outputs, checked as embeddings are
RUNTIMES = ("openvino", "litert")  # fastest first (python -m zoo.bench predict); Keras is the last resort
SCREENFUL = 40  # files: this many or more get a progress line on stderr
# Pixels (images x views x height x width) a cold pass must hold for its conversion to pay, where a pass may stay in
# Keras (finetune's frozen trunk, zoo kaggle predict; zoo predict converts on first use, for every later call).
# Measured on a busy 2-core CPU with efficientnet_lite0 (README, "cached lower-trunk features"): converting its trunk
# took 36-48 s at 64-224 px; at 224 px its lower trunk ran at ~25 images/s in LiteRT against ~15 in Keras
# (augmentation included), 0.027 s saved per image (0.05 megapixels): ~0.5 s per megapixel.
CONVERT_SECONDS = 40.0
SAVED_SECONDS_PER_MEGAPIXEL = 0.5
CONVERSION_PAYS = CONVERT_SECONDS / SAVED_SECONDS_PER_MEGAPIXEL * 1e6


@dataclass(frozen=True)
class ModelSource:
    """A model to run, known without Keras: what the user called it, a digest of its weights, how to load it."""

    label: str
    digest: str  # of everything that fixes the outputs: weights (or the .keras file), input size
    load: Callable[[], Any]  # -> the Keras model (a ZooModel), only called on a cold cache or for the Keras fallback
    home: Path | None = None  # the run folder the model was exported into with its runtime files, if any


@dataclass
class Runner:
    """Runs (n, height, width, channels) float32 pixel batches in [0, 255] through one model."""

    input_shape: tuple[int, int, int]
    class_names: list[str] | None
    runtime: str  # "openvino", "litert" or "keras"
    run: Callable[[np.ndarray], np.ndarray]


def file_source(path: Path, label: str) -> ModelSource:
    """A saved .keras file: its digest is the file's sha256, its loader zoo.load_saved."""

    def load() -> Any:
        from zoo.loading.assemble import load_saved

        return load_saved(path)

    return ModelSource(label, digest_file(path)["sha256"], load, home=path.parent)


def catalogue_source(name: str) -> ModelSource:
    """A catalogue entry with trained weights; an entry without any is refused with how to train it."""
    entry = default_catalogue().get(name)
    if not entry.weights or entry.task not in ("classification", "image-classification"):
        raise BadData(
            f"{name} has no trained weights (zoo ships none for its recipes, only ImageNet backbones): train it "
            f"first with `zoo finetune {name} DATA --out run1`, then run `zoo predict run1 IMAGES`"
        )
    manifest = load_manifest()
    hashes = [weights_identity(manifest.get(key)) for key in entry.weights if key in manifest]
    digest = f"{name}|{'|'.join(hashes)}|{entry.input_shape}"

    def load() -> Any:
        from zoo.loading.assemble import load

        return load(name)

    return ModelSource(name, digest, load)


def run_files(
    runners: Sequence[Runner],
    files: Sequence[str],
    batch_size: int,
    failures: list,
    views: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
    progress: bool = True,
) -> Iterator[tuple[list[str], np.ndarray]]:
    """(paths, outputs) per batch of readable files: outputs averaged over the runners (folds) and over `views` of
    each batch (test-time augmentation; none: the images as they are). A progress line on a screenful or more."""
    progress_line = Progress(len(files), "predicting", enabled=progress, min_items=SCREENFUL)
    for paths, batch in file_batches(files, runners[0].input_shape, batch_size, failures):
        inputs = [view(batch) for view in views] or [batch]
        outputs = np.mean([runner.run(x) for runner in runners for x in inputs], axis=0)
        for _ in paths:
            progress_line.advance()
        yield paths, outputs
    progress_line.close()


def runtime_folder() -> Path:
    """$ZOO_CACHE_DIR/runtime, else the user cache's zoo/runtime (beside the weights folder)."""
    return cache_dir().parent / RUNTIME_FOLDER


def kind_of(purpose: str) -> str:
    """What a purpose's file is: "model" (its outputs and its features, serving predict and embed) or "features"."""
    return "features" if purpose == "features" else "model"


def cached_paths(source: ModelSource, purpose: str) -> tuple[Path, str]:
    """(folder, stem) of the cached conversion of `source` for `purpose`: stem.json is its card, stem.xml/.bin or
    stem.tflite the converted file. predict and embed share one file (its second output is the features)."""
    key = hashlib.sha256(f"{source.digest}|{kind_of(purpose)}|{__version__}".encode()).hexdigest()[:24]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(source.label).stem)[:40] or "model"
    return runtime_folder(), f"{stem}-{kind_of(purpose)}-{key}"


def card_file(place: tuple[Path, str]) -> Path:
    return place[0] / f"{place[1]}.json"


def say(line: str) -> None:
    print(f"zoo: {line}", file=sys.stderr)


def open_runner(
    source: ModelSource, purpose: str = "predict", note: Callable[[str], None] = say, images: int | None = None
) -> Runner:
    """The fastest runner of `source` that gives Keras' answers: OpenVINO or LiteRT on the file a run folder holds or
    the cache holds (converted on first use and checked against Keras then), else Keras with one line saying why.
    With `images` (what the caller will run), a cold cache converts only when they hold CONVERSION_PAYS pixels."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    held = held_conversion(source, purpose)
    if held is not None and held[1]["converted"]:
        runner = compiled_runner(*held, purpose)
        if runner is not None:
            return runner
    import_tensorflow_quietly()  # Keras from here on: its CUDA probes would read as failures on a CPU machine
    model = source.load()
    if len(model.input_shape) != 4:
        raise BadData(f"{source.label} takes inputs shaped {model.input_shape[1:]}, not images: use model.predict")
    keras_call = keras_target(model, purpose).predict_on_batch
    if held is None and images is not None and images * np.prod(model.input_shape[1:3]) < CONVERSION_PAYS:
        note(f"{source.label} runs in Keras: {images} images are too few for a conversion to the fast runtime to pay")
        return keras_runner(model, purpose, keras_call)
    if held is None:
        place = cached_paths(source, purpose)
        note(f"converting {model.name} for the fast runtime once (cached in {place[0]}) ...")  # names fold or run
        held = convert_and_record(model, purpose, source.digest, place, note)
        runner = compiled_runner(*held, purpose) if held[1]["converted"] else None
        if runner is not None:
            return runner
    why = held[1]["reason"] if not held[1]["converted"] else "neither openvino nor ai-edge-litert is installed"
    note(f"{source.label} runs in Keras, not the fast runtime: {why}")
    return keras_runner(model, purpose, keras_call)


def keras_target(model: Any, purpose: str) -> Any:
    return features_of(model) if purpose == "embed" else model


def keras_runner(model: Any, purpose: str, call: Callable[[np.ndarray], np.ndarray]) -> Runner:
    shape = tuple(int(side) for side in model.input_shape[1:4])
    names = getattr(model, "class_names", None) if purpose == "predict" else None
    return Runner(shape, names, "keras", call)  # type: ignore[arg-type]


def held_conversion(source: ModelSource, purpose: str) -> tuple[Path, dict] | None:
    """(folder, card) of a conversion already made for `source`: the run folder's (exported with the model, for
    predict and embed), else the cache's; None when neither holds one whose files are intact."""
    run_folder = [] if source.home is None or purpose == "features" else [(source.home, RUN_FOLDER_STEM)]
    for place in [*run_folder, cached_paths(source, purpose)]:
        card = read_card(card_file(place))
        if card is None or card.get("source") != source.digest:
            continue
        if place in run_folder and not (card["converted"] and runnable(card, purpose)):
            continue  # a run folder's file this machine cannot run (its runtime missing): the cache may convert
        if not card["converted"] or files_intact(place[0], card["files"]):
            return place[0], card
    return None


def runnable(card: dict, purpose: str) -> bool:
    """Whether an installed runtime passed the card's check for `purpose`."""
    installed = {"openvino": has_openvino(), "litert": has_litert()}
    return any(
        check.get("ok") and purpose in check.get("outputs", {}) and installed.get(name)
        for name, check in card["runtimes"].items()
    )


def compiled_runner(folder: Path, card: dict, purpose: str) -> Runner | None:
    """The first runtime of RUNTIMES that is installed and passed the card's check for `purpose`; None when none."""
    checks = {name: check for name, check in card["runtimes"].items() if check.get("ok")}
    checks = {name: check for name, check in checks.items() if purpose in check.get("outputs", {})}
    names = card["class_names"] if purpose == "predict" else None
    model = folder / next(name for name in card["files"] if name.endswith((".xml", ".tflite")))
    if "openvino" in checks and has_openvino():
        call = OpenVINOCall(model, compiled_cache(runtime_folder()), output=checks["openvino"]["outputs"][purpose])
        return Runner(tuple(card["input_shape"]), names, "openvino", call)
    if "litert" in checks and has_litert():
        return litert_runner(str(model), {**card, "class_names": names}, checks["litert"]["outputs"][purpose])
    return None


def compiled_cache(folder: Path) -> Path | None:
    """runtime/openvino, where OpenVINO keeps its compiled models; None when it cannot be made (compiled each time)."""
    try:
        (folder / "openvino").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / "openvino"


def read_card(path: Path) -> dict | None:
    """The card, or None when absent, unreadable (a truncated card only costs a new conversion) or written by a zoo
    that did not record the converted files' digests (converted again)."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = ("input_shape", "class_names", "converted", "reason", "runtimes", "files", "source")
    return card if isinstance(card, dict) and all(key in card for key in keys) else None


def has_litert() -> bool:
    import importlib.util

    return importlib.util.find_spec("ai_edge_litert") is not None


def litert_runner(model: str | bytes, card: dict, output: int = 0) -> Runner:
    """A runner on LiteRT's interpreter (XNNPACK for float models), one thread per CPU this process may use, giving
    the file's output `output`."""
    from ai_edge_litert.interpreter import Interpreter

    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    source = {"model_content": model} if isinstance(model, bytes) else {"model_path": model}
    with native_stderr_silenced():  # LiteRT's C++ prints "INFO: Created TensorFlow Lite XNNPACK delegate" each time
        interpreter = Interpreter(**source, num_threads=threads)
    return Runner(tuple(card["input_shape"]), card["class_names"], "litert", InterpreterCall(interpreter, output))


class InterpreterCall:
    """One batch through a LiteRT interpreter; tensors are re-allocated only when the batch shape changes."""

    def __init__(self, interpreter: Any, output: int = 0) -> None:
        self.interpreter = interpreter
        self.input = interpreter.get_input_details()[0]["index"]
        self.output = interpreter.get_output_details()[output]["index"]
        self.shape: tuple[int, ...] | None = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape != self.shape:
            self.interpreter.resize_tensor_input(self.input, batch.shape)
            with native_stderr_silenced():
                self.interpreter.allocate_tensors()
            self.shape = batch.shape
        self.interpreter.set_tensor(self.input, np.ascontiguousarray(batch, dtype=np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output).copy()
