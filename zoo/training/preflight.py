"""Checks at the door: everything about a run that can be known before TensorFlow loads, a model is built or an
image decoded — export formats, sizes, the model's kind against the data's, and an output folder that is writable,
outside the data and has room. Each failure is one ZooError naming the argument and the fix.

Imports no TensorFlow: the command line runs these checks first.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.entry import Entry
from zoo.errors import BadData, BadOverride
from zoo.results.run_folder import check_outside, check_writable_with_room

# zoo.results.export.FORMATS and ONNX_PACKAGES, without importing it
EXPORT_FORMATS = ("keras", "runtime", "savedmodel", "tflite", "onnx", "tflite_fp16", "tflite_int8")
ONNX_PACKAGES = ("tf2onnx", "onnx", "onnxruntime")
AUGMENT_NAMES = ("flip", "rotation", "zoom", "contrast", "randaugment", "mixup", "cutmix")  # zoo.layers.augment.NAMES
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 4096
BACKBONE_MIN_IMAGE_SIZE = 32  # keras.applications refuse smaller inputs
# A run folder holds the model a few times over: model.keras, two checkpoints (weights + optimizer moments + best
# weights), SavedModel, TFLite, ONNX. Float32 parameters: 4 bytes each.
COPIES_OF_THE_WEIGHTS = 12
HEADROOM_BYTES = 20 * 2**20  # plots, reports, CSVs


def export_formats(value: str | Sequence[str]) -> tuple[str, ...]:
    """The export formats asked for, each one known; "keras,onnx" or a sequence."""
    asked = [f.strip() for f in value.split(",")] if isinstance(value, str) else [str(f) for f in value]
    asked = [f for f in asked if f]
    unknown = [f for f in asked if f not in EXPORT_FORMATS]
    if unknown:
        raise BadOverride(
            f"--export {', '.join(unknown)}: unknown format; choose among {', '.join(EXPORT_FORMATS)} (comma-separated)"
        )
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None] if "onnx" in asked else []
    if missing:
        raise BadOverride(
            f"--export onnx needs the {', '.join(missing)} package(s), not installed: pip install 'zoo-keras[export]' "
            "(or leave onnx out of --export)"
        )
    return tuple(asked)


def check_augment(value: str | None) -> None:
    """--augment: a preset (light, strong, none) or a comma-separated list of known names, at most one batch mix."""
    if value is None or value in ("light", "strong", "none"):
        return
    names = [name.strip() for name in value.split(",")]
    if any(name not in AUGMENT_NAMES for name in names) or {"mixup", "cutmix"} <= set(names):
        raise BadOverride(
            f"--augment {value}: use light, strong, none, or a list of {', '.join(AUGMENT_NAMES)} "
            "(mixup or cutmix, not both)"
        )


def check_tensorboard(log_dir: str | Path | None) -> None:
    """A TensorBoard log folder asked for needs the tensorboard package, which TensorFlow 2.21 no longer installs."""
    import importlib.util

    if log_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise BadOverride(
            f"--tensorboard {log_dir}: the tensorboard package is not installed; pip install 'zoo-keras[tensorboard]'"
        )


def check_positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise BadOverride(f"{name} {value}: must be 1 or more")


def check_image_size(size: int | None, entry: Entry | None) -> None:
    """An --image-size the model can train at: not 0 or 1 (a 1x1 model), not below a backbone's minimum."""
    if size is None:
        return
    low = BACKBONE_MIN_IMAGE_SIZE if entry is not None and entry.family == "backbone" else MIN_IMAGE_SIZE
    if not low <= size <= MAX_IMAGE_SIZE:
        name = f" for {entry.name}" if entry is not None else ""
        raise BadOverride(f"--image-size {size}: must be between {low} and {MAX_IMAGE_SIZE}{name}")
    if entry is not None and len(entry.input_shape) != 3:
        raise BadOverride(f"--image-size: {entry.name} does not take images (input {entry.input_shape})")


def takes_images(entry: Entry) -> bool:
    """Whether the entry's input is an image (height, width, channels) of floats, not tokens or a series."""
    return len(entry.input_shape) == 3 and not entry.input_dtype.startswith("int")


def looks_like_image_data(data: Any) -> bool:
    """A folder of class sub-folders or a CSV naming image files: what the command line passes as DATA."""
    if not isinstance(data, str | os.PathLike):
        return False
    path = Path(data)
    return path.is_dir() or path.suffix.lower() in {".csv", ".tsv"}


def check_model_takes_the_data(entry: Entry, data: Any) -> None:
    """Refuse a recipe that does not take images (a text LSTM, a series GRU, an MLP) on image files."""
    if looks_like_image_data(data) and not takes_images(entry):
        raise BadData(
            f"{entry.name} takes {entry.input_dtype} inputs shaped {entry.input_shape}, not images, but {data} holds "
            "image files: pick an image model (`zoo list --family cnn` or `--family backbone`)"
        )


def check_data_exists(data: Any) -> None:
    """A DATA path that names nothing local is refused at once (not after a TFDS lookup), unless it is tfds:NAME."""
    if isinstance(data, str) and data.startswith("tfds:"):
        return
    if isinstance(data, str | os.PathLike) and looks_like_a_path(str(data)) and not Path(data).exists():
        raise BadData(f"{data}: no such file or folder (DATA is a folder of class sub-folders, a CSV or tfds:NAME)")
    if isinstance(data, str) and not Path(data).exists():
        from zoo.data.tensorflow_sources import looks_like_tfds_name, unknown_name_message

        if not looks_like_tfds_name(data):  # the TFDS catalogue is read locally: no network, no TensorFlow
            raise BadData(unknown_name_message(data))


def looks_like_a_path(text: str) -> bool:
    """A path rather than a bare TFDS name such as "mnist" or "cifar10"."""
    return os.sep in text or text.startswith(".") or "." in Path(text).name or Path(text).exists()


def check_output_folder(out: Path, data: Any, params: int | None) -> None:
    """--out: outside the data, in a folder this user can write, on a disk with room for the run's files."""
    if isinstance(data, str | os.PathLike) and Path(data).exists():
        check_outside(Path(out), [Path(data) if Path(data).is_dir() else Path(data).parent])
    check_writable_with_room(Path(out), (params or 0) * 4 * COPIES_OF_THE_WEIGHTS + HEADROOM_BYTES)
