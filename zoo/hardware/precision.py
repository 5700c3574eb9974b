"""Numeric precision: which Keras dtype policy a run uses on the devices it has, and a model's layers set to it.

auto: mixed float16 on GPUs with tensor cores (compute capability 7.0 and up: float16 matmuls run several times
faster there, and loss scaling keeps small gradients), mixed bfloat16 on TPUs (their native format, no loss scaling
needed), float32 elsewhere (older GPUs and CPUs gain nothing from float16). The layers that make the model's output
stay float32, so probabilities and the loss are computed at full precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zoo.errors import BadDevice

if TYPE_CHECKING:
    import keras

    from zoo.hardware.devices import DeviceInfo

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
TENSOR_CORES = (7, 0)  # Volta: the first GPUs whose float16 matrix units make mixed precision pay


def choose_precision(requested: str, devices: Sequence[DeviceInfo]) -> str:
    """The dtype policy for `devices`: `requested` when it names one, else the auto choice (see the module doc)."""
    choice = (requested or "auto").strip().lower()
    if choice not in ("auto", *POLICIES):
        raise BadDevice(f"precision {requested!r} is not known; use auto, {', '.join(POLICIES)}")
    if choice != "auto":
        return choice
    types = {device.type for device in devices}
    if "TPU" in types:
        return "mixed_bfloat16"
    gpus = [device for device in devices if device.type == "GPU"]
    if gpus and all(gpu.compute_capability and tuple(gpu.compute_capability) >= TENSOR_CORES for gpu in gpus):
        return "mixed_float16"
    return "float32"


def precision_of(model: keras.Model) -> str:
    """The dtype policy of `model`'s layers apart from its outputs (float32 for a model without weights)."""
    from zoo.layers.traversal import all_layers

    outputs = {id(layer) for layer in output_layers(model)}
    for layer in all_layers(model):
        if layer.weights and id(layer) not in outputs and not hasattr(layer, "layers"):
            return layer.dtype_policy.name
    return "float32"


def output_layers(model: keras.Model) -> list[Any]:
    """The top-level layers whose outputs are the model's outputs (the classifier of a zoo model)."""
    names = {tensor._keras_history.operation.name for tensor in model.outputs}  # Keras records each tensor's maker
    return [layer for layer in model.layers if layer.name in names]


def with_precision(config: dict[str, Any], policy: str, keep_float32: set[str]) -> dict[str, Any]:
    """A functional model's config with every float layer policy set to `policy`, except the top-level layers
    named in `keep_float32` (the outputs), which stay as they are (float32)."""
    layers = [
        layer if layer.get("config", {}).get("name") in keep_float32 else _set_policy(layer, policy)
        for layer in config["layers"]
    ]
    return {**config, "layers": layers}


def _set_policy(node: Any, policy: str) -> Any:
    """`node` (a piece of a layer config) with its float dtype policies replaced, nested models included."""
    if isinstance(node, list):
        return [_set_policy(item, policy) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and node.get("config", {}).get("name") in POLICIES:
        return {**node, "class_name": "DTypePolicy", "config": {**node["config"], "name": policy}}
    return {key: _set_policy(value, policy) for key, value in node.items()}
