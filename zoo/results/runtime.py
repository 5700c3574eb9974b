"""Fast CPU inference: each model converted once (zoo.results.conversion: OpenVINO IR, else LiteRT), checked against
Keras, run by the fastest runtime that gives Keras' answers: OpenVINO, else LiteRT's interpreter (XNNPACK).

A finetune or kaggle run folder holds the file it was exported to (runtime.xml/.bin or runtime.tflite, with
runtime.json), used as it is; otherwise the converted file and a small card (input shape, class names, each
runtime's check) live in zoo's cache folder, named by what fixes them (zoo.results.runtime_cache): the weights (or
saved model), the input size, the kind (predict and embed share one file), zoo's conversion code and the converter's
and runtimes' versions. Both are sealed (zoo.sealed) and checked on every open. With a warm cache nothing here imports
TensorFlow: OpenVINO or ai-edge-litert, NumPy and Pillow do the work. A model that does not convert, or converts
to different answers, runs in Keras, with one line saying why.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.catalogue import default_catalogue
from zoo.data.decoding.images import file_batches
from zoo.data.progress import Progress
from zoo.errors import BadData, BrokenSeal
from zoo.hardware.devices import quiet_tensorflow_when_imported
from zoo.results.conversion import RUN_FOLDER_STEM, convert_and_record, features_of
from zoo.results.litert import native_stderr_silenced
from zoo.results.openvino_runtime import OpenVINOCall, has_openvino
from zoo.results.runtime_cache import (
    cached_paths,
    checked_entry,
    compiled_folder,
    conversion_lock,
    discard,
    last_line,
    model_file,
    runtime_folder,
    seal_compiled,
    sealed_card,
    writable,
)
from zoo.results.runtime_choice import choose_runner
from zoo.weights.cache import weights_identity
from zoo.weights.manifest import load_manifest
from zoo.weights.verify import digest_file

PURPOSES = ("predict", "embed", "features")  # features: the model's own outputs, checked as embeddings are
RUNTIMES = ("openvino", "litert")  # fastest first (python -m zoo.bench predict); Keras is the last resort
SCREENFUL = 40  # files: this many or more get a progress line on stderr
# Pixels (images x views x height x width) a cold pass must hold for its conversion to pay, where a pass may stay in
# Keras (finetune's frozen trunk, zoo kaggle predict; zoo predict converts on first use, for every later call).
# Measured on a busy 2-core CPU with efficientnet_lite0 (docs/benchmarks.md, frozen trunk): converting its trunk
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


def zero_shot_source(name: str, labels: Sequence[str]) -> ModelSource:
    """An image-text hub entry scoring `labels` (zero-shot): its digest holds the preset files' sha256 where they are
    local (else the preset's name: keras_hub's own download is versioned by its handle) and the labels."""
    from zoo.weights.hub_presets import preset_digests, resolve_preset

    entry = default_catalogue().get(name)
    preset = resolve_preset(entry.hparams["preset"])
    files = preset_digests(preset.folder) if preset.folder is not None else preset.handle
    digest = hashlib.sha256(json.dumps([name, files, list(labels)], sort_keys=True).encode()).hexdigest()

    def load() -> Any:
        from zoo.loading.assemble import load

        return load(name, labels=list(labels))

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


def say(line: str) -> None:
    print(f"zoo: {line}", file=sys.stderr)


def open_runner(
    source: ModelSource, purpose: str = "predict", note: Callable[[str], None] = say, images: int | None = None
) -> Runner:
    """The fastest runner of `source` that gives Keras' answers: OpenVINO or LiteRT on the file its run folder holds
    or the cache holds (converted on first use and checked against Keras then; checked against its seals on every
    open), else Keras with one line saying why. With `images` (what the caller will run), a cold cache converts only
    when they hold CONVERSION_PAYS pixels; fewer run in Keras. A damaged entry is one line and a rebuild."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    exported = run_folder_runner(source, purpose, note)
    if exported is not None:
        return exported
    paths = cached_paths(source, purpose)
    card = checked_entry(paths, note)
    if card is not None and card["converted"]:
        runner = readable_runner(paths, card, purpose, note)
        if runner is not None:
            return choose_runner(runner, lambda: keras_runner(source, purpose), paths[1], note)
        card = checked_entry(paths, note)  # None when the runtime could not read the file (removed: convert again)
    quiet_tensorflow_when_imported()  # Keras from here on (imported by the load, after its weights are found): quietly
    model = source.load()
    if len(model.input_shape) != 4:
        raise BadData(f"{source.label} takes inputs shaped {model.input_shape[1:]}, not images: use model.predict")
    in_keras = loaded_runner(model, purpose)
    target = features_of(model) if purpose == "embed" else model
    if card is not None and not card["converted"]:
        note(f"{source.label} runs in Keras, not the fast runtime: {card['reason']}")
        return in_keras
    if card is None and images is not None and images * np.prod(target.input_shape[1:3]) < CONVERSION_PAYS:
        note(f"{source.label} runs in Keras: {images} images are too few for a conversion to the fast runtime to pay")
        return in_keras
    if card is None and not writable(paths[1].parent):
        note(f"{source.label} runs in Keras: the runtime cache {paths[1].parent} cannot be written (set ZOO_CACHE_DIR)")
        return in_keras
    if card is None:
        with conversion_lock(paths):  # another process converting it: wait, then use its entry
            card = checked_entry(paths, note) or convert(model, source, purpose, paths, note)
    runner = readable_runner(paths, card, purpose, lambda line: None) if card["converted"] else None
    if runner is not None:
        return choose_runner(runner, lambda: in_keras, paths[1], note)
    why = card["reason"] if not card["converted"] else "neither openvino nor ai-edge-litert is installed"
    if card["converted"] and (has_openvino() or has_litert()):
        why = f"the converted file could not be cached in, or read back from, {paths[1].parent}"
    note(f"{source.label} runs in Keras, not the fast runtime: {why}")
    return in_keras


def convert(
    model: Any, source: ModelSource, purpose: str, paths: tuple[Path, Path], note: Callable[[str], None]
) -> dict:
    """Convert `model` into the cache entry `paths` (zoo.results.conversion), sealed; an unwritable cache is a note
    and a card saying so (the model runs in Keras)."""
    note(f"converting {model.name} for the fast runtime once (cached in {paths[1].parent}) ...")  # names fold or run
    try:
        return convert_and_record(model, purpose, source.digest, (paths[1].parent, paths[0].name), note)[1]
    except OSError as error:
        note(f"cannot cache the converted model in {paths[1].parent} ({error.strerror}): it converts again next time")
        return {"converted": False, "reason": f"the runtime cache could not be written: {error.strerror}"}


def run_folder_runner(source: ModelSource, purpose: str, note: Callable[[str], None]) -> Runner | None:
    """The runner on the runtime file `source`'s run folder was exported with (runtime.json, sealed, made from this
    very model file), when an installed runtime passed its check for `purpose`; None otherwise (the cache's turn).
    A damaged file is one line, and the cache is used instead."""
    if source.home is None or purpose == "features":
        return None
    place = (source.home / RUN_FOLDER_STEM, source.home / f"{RUN_FOLDER_STEM}.json")
    try:
        card = sealed_card(place[1])
    except BrokenSeal as error:
        note(f"{source.label}'s exported runtime file is damaged ({error}): using the runtime cache instead")
        return None
    if card is None or card["source"] != source.digest or not card["converted"]:
        return None  # none exported, or exported from another model.keras (a retrained run): the cache's turn
    try:
        runner = compiled_runner(place, card, purpose, note)
    except Exception as error:  # OpenVINO's RuntimeError, LiteRT's ValueError: whatever the runtime raises
        note(f"the runtime cannot read {source.home / RUN_FOLDER_STEM}: {last_line(error)}: using the runtime cache")
        return None
    if runner is None:
        return None
    return choose_runner(runner, lambda: keras_runner(source, purpose), runtime_folder() / place_name(card), note)


def has_conversion(source: ModelSource, purpose: str) -> bool:
    """Whether a converted file that matches its seals is at hand for `source` (its run folder's export or the
    cache's), so opening it imports no TensorFlow; a damaged one is not (conversion_state tells it apart)."""
    return conversion_state(source, purpose) == "converted"


def conversion_state(source: ModelSource, purpose: str) -> str:
    """"converted" (sealed and whole), "damaged" (a cache entry that fails its seals: open_runner rebuilds it once,
    with one line) or "none"; nothing is removed or said here."""
    if source.home is not None and purpose != "features":
        try:
            card = sealed_card(source.home / f"{RUN_FOLDER_STEM}.json")
            if card is not None and card["source"] == source.digest and card["converted"]:
                return "converted"
        except BrokenSeal:
            pass  # open_runner says so once and turns to the cache
    try:
        return "none" if sealed_card(cached_paths(source, purpose)[1]) is None else "converted"
    except BrokenSeal:
        return "damaged"


def place_name(card: dict) -> str:
    """The cache's name for a run folder's exported file (its compiled models, the runtime choice beside it)."""
    return f"run-{card['source'][:24]}.json"


def loaded_runner(model: Any, purpose: str) -> Runner:
    """A loaded Keras `model` (its features for embed) as a runner, on the GPU where TensorFlow has one."""
    target = features_of(model) if purpose == "embed" else model
    names = getattr(model, "class_names", None) if target is model else None
    return Runner(shape_of(target), names, "keras", target.predict_on_batch)


def keras_runner(source: ModelSource, purpose: str) -> Runner:
    """`source`'s model (its features for embed) run by Keras, on the GPU where TensorFlow has one."""
    quiet_tensorflow_when_imported()
    return loaded_runner(source.load(), purpose)


def shape_of(model: Any) -> tuple[int, int, int]:
    return tuple(int(side) for side in model.input_shape[1:4])


def readable_runner(
    paths: tuple[Path, Path], card: dict, purpose: str, note: Callable[[str], None]
) -> Runner | None:
    """compiled_runner on the entry; a file the runtime cannot read is one line and the entry removed (None)."""
    try:
        return compiled_runner(paths, card, purpose, note)
    except Exception as error:  # OpenVINO's RuntimeError, LiteRT's ValueError: whatever the runtime raises
        discard(paths, note, f"the runtime cannot read {paths[0].name}: {last_line(error)}")
        return None


def compiled_runner(paths: tuple[Path, Path], card: dict, purpose: str, note: Callable[[str], None]) -> Runner | None:
    """The first runtime of RUNTIMES that is installed and passed the card's check for `purpose`; None when none."""
    checks = {name: check for name, check in card["runtimes"].items() if check.get("ok")}
    checks = {name: check for name, check in checks.items() if purpose in check.get("outputs", {})}
    names = card["class_names"] if purpose == "predict" else None
    model = model_file(paths, card)
    if "openvino" in checks and has_openvino():
        in_cache = model.parent == runtime_folder()
        compiled = compiled_folder(model if in_cache else runtime_folder() / place_name(card), note)
        call = OpenVINOCall(model, compiled, output=checks["openvino"]["outputs"][purpose])
        seal_compiled(compiled)
        return Runner(tuple(card["input_shape"]), names, "openvino", call)
    if "litert" in checks and has_litert():
        return litert_runner(str(model), {**card, "class_names": names}, checks["litert"]["outputs"][purpose])
    return None


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
