"""zoo.hardware.precision: the auto choice on fake devices, and a model rebuilt in mixed precision with float32
outputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import zoo
from zoo.errors import BadDevice
from zoo.hardware.devices import DeviceInfo
from zoo.hardware.placement import Placement, placed_model
from zoo.hardware.precision import choose_precision, output_layers, precision_of
from zoo.layers.traversal import all_layers

CPU = DeviceInfo("CPU:0", "CPU")


def gpu(capability: tuple[int, int] | None, index: int = 0) -> DeviceInfo:
    return DeviceInfo(f"GPU:{index}", "GPU", "some GPU", capability)


@pytest.mark.parametrize(
    ("devices", "policy"),
    [
        ([gpu((8, 0))], "mixed_float16"),  # A100: tensor cores
        ([gpu((7, 0)), gpu((9, 0), 1)], "mixed_float16"),
        ([gpu((6, 1))], "float32"),  # Pascal: float16 is no faster
        ([gpu((8, 0)), gpu((6, 1), 1)], "float32"),  # the slowest replica sets the pace
        ([gpu(None)], "float32"),  # capability unknown: no guess
        ([DeviceInfo("TPU:0", "TPU")], "mixed_bfloat16"),
        ([CPU], "float32"),
    ],
)
def test_auto_precision(devices, policy):
    assert choose_precision("auto", devices) == policy


def test_an_explicit_precision_wins_and_an_unknown_one_is_refused():
    assert choose_precision("mixed_bfloat16", [CPU]) == "mixed_bfloat16"
    assert choose_precision(" Float32 ", [gpu((8, 0))]) == "float32"
    with pytest.raises(BadDevice, match="precision 'fp16' is not known; use auto, float32, mixed_float16"):
        choose_precision("fp16", [CPU])


def nested_model() -> keras.Model:
    """image -> a nested functional trunk (Conv2D, BatchNorm) -> pooling -> Dense softmax "predictions"."""
    keras.utils.set_random_seed(0)
    inner_in = keras.Input((8, 8, 3))
    inner = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3, name="conv")(inner_in))
    trunk = keras.Model(inner_in, inner, name="trunk")
    image = keras.Input((8, 8, 3), name="image")
    x = keras.layers.GlobalAveragePooling2D()(trunk(image))
    return keras.Model(image, keras.layers.Dense(3, activation="softmax", name="predictions")(x))


def test_a_model_rebuilt_in_mixed_precision_keeps_float32_outputs_and_its_weights():
    model = nested_model()
    placement = Placement(None, "one device", (CPU,), 1, "mixed_float16")
    copy = placed_model(model, placement)
    assert copy is not model and precision_of(model) == "float32" and precision_of(copy) == "mixed_float16"
    assert copy.get_layer("trunk").get_layer("conv").compute_dtype == "float16"
    assert [layer.name for layer in output_layers(copy)] == ["predictions"]
    assert copy.get_layer("predictions").compute_dtype == "float32"
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype("float32")
    out = copy(x)
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out), model.predict(x, verbose=0), atol=5e-3)  # float16 rounding
    assert placed_model(copy, placement) is copy  # built there: trained as it is
    assert placed_model(model, Placement(None, "one device", (CPU,), 1, "float32")) is model


def test_load_in_mixed_precision_keeps_the_head_float32():
    model = zoo.load("mlp_digits", precision="mixed_float16")
    policies = {layer.name: layer.dtype_policy.name for layer in all_layers(model) if layer.weights}
    assert policies.pop("predictions") == "float32" and set(policies.values()) == {"mixed_float16"}
    assert model.optimizer is not None and model.loss is not None  # compiled, as load always returns it
