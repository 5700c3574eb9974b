"""`export_model`: every format written, reloaded in its own runtime and compared with Keras, failures told honestly."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo.results.export
from zoo.layers.preprocess import Preprocess
from zoo.loading.model import ZooModel
from zoo.results.conversion import FLOAT32_TOLERANCE, LOW_PRECISION_TOLERANCE, tolerance_for
from zoo.results.export import DEFAULT_FORMATS, compare, export_model

RNG = np.random.default_rng(0)
OTHER_FORMATS = ("savedmodel", "tflite", "onnx")  # on request


def test_the_default_is_what_a_user_will_use_model_keras_and_the_runtimes_file(tmp_path):
    checks = export_model(small_cnn(), tmp_path, RNG.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8))
    assert list(checks) == list(DEFAULT_FORMATS) == ["keras", "runtime"]
    assert all(check.ok for check in checks.values()), {name: c.error for name, c in checks.items()}
    assert checks["runtime"].path == tmp_path / "runtime.xml" and checks["runtime"].runtime.startswith("openvino")


def small_cnn() -> ZooModel:
    """The shape of a zoo backbone: image -> Preprocess -> nested trunk model -> dropout -> softmax head."""
    trunk_input = keras.Input((16, 16, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(trunk_input))
    trunk = keras.Model(trunk_input, features, name="trunk")
    image = keras.Input((16, 16, 3), name="image")
    x = trunk(Preprocess("torch", name="preprocess")(image))
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(keras.layers.Dropout(0.2)(x))
    return ZooModel(image, outputs, class_names=["a", "b", "c"], entry_name="tiny_cnn")


def small_mlp() -> keras.Model:
    layers = [keras.Input((8,)), keras.layers.Dense(6, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(layers)


def small_lstm() -> keras.Model:
    layers = [keras.Input((6, 4)), keras.layers.LSTM(5), keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(layers)


def test_functional_zoo_model_exports_to_every_format_within_tolerance(tmp_path):
    model = small_cnn()
    images = RNG.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)  # uint8, as the data adapters give
    assert np.ptp(model.predict(images, verbose=0)) > 1e-3  # outputs that differ, so agreeing on them means something
    checks = export_model(model, tmp_path, images, formats=("runtime", *OTHER_FORMATS, "keras"))
    assert list(checks) == ["keras", "runtime", *OTHER_FORMATS]  # model.keras first: the runtime's file is bound to it
    for check in checks.values():
        assert check.ok, check.error
        assert check.max_abs_diff <= FLOAT32_TOLERANCE == check.tolerance
        assert check.path.exists() and check.size_bytes > 0 and check.runtime
    runtime_files = {f"runtime.{end}{seal}" for end in ("xml", "bin", "json") for seal in ("", ".seal")}
    assert {p.name for p in tmp_path.iterdir()} == {
        "model.keras",
        "saved_model",
        "model.tflite",
        "model.onnx",
    } | runtime_files
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(reloaded, ZooModel) and reloaded.class_names == ["a", "b", "c"]


def test_sequential_model_exports_to_every_format_within_tolerance(tmp_path):
    checks = export_model(small_mlp(), tmp_path, RNG.random((5, 8)))
    assert all(check.ok for check in checks.values()), {name: c.error for name, c in checks.items()}
    assert max(check.max_abs_diff for check in checks.values()) <= FLOAT32_TOLERANCE


def test_a_model_built_on_a_list_of_one_input_exports_too(tmp_path):
    mlp = small_mlp()
    listed = ZooModel(mlp.inputs, mlp.outputs, class_names=["a", "b", "c"])  # as zoo.loading.assemble wraps recipes
    checks = export_model(listed, tmp_path, RNG.random((3, 8)), formats=("savedmodel", "onnx"))
    assert all(check.ok for check in checks.values()), {name: c.error for name, c in checks.items()}


def test_lstm_tflite_needs_flex_ops_and_says_so_while_the_other_formats_work(tmp_path):
    checks = export_model(small_lstm(), tmp_path, RNG.random((3, 6, 4)), formats=("keras", *OTHER_FORMATS))
    tflite = checks.pop("tflite")
    assert not tflite.ok and tflite.path is None and tflite.max_abs_diff is None
    assert tflite.error.startswith("ConverterError") and "Flex" in tflite.error and "LSTM" in tflite.error
    assert all(check.ok for check in checks.values()), {name: c.error for name, c in checks.items()}
    assert not (tmp_path / "model.tflite").exists()


def test_tflite_alone_converts_from_a_scratch_savedmodel(tmp_path):
    checks = export_model(small_mlp(), tmp_path, RNG.random((2, 8)), formats=("tflite",))
    assert checks["tflite"].ok, checks["tflite"].error
    assert [p.name for p in tmp_path.iterdir()] == ["model.tflite"]


def test_a_missing_onnx_package_fails_onnx_only(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo.results.export, "ONNX_PACKAGES", ("onnx", "no_such_package_for_zoo"))
    checks = export_model(small_mlp(), tmp_path, RNG.random((2, 8)), formats=("keras", "onnx"))
    assert checks["keras"].ok
    assert not checks["onnx"].ok
    assert "no_such_package_for_zoo" in checks["onnx"].error and "zoo-keras[export]" in checks["onnx"].error


def test_each_format_says_how_it_went_and_its_time(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo.results.export, "ONNX_PACKAGES", ("no_such_package_for_zoo",))
    lines: list[str] = []
    export_model(small_mlp(), tmp_path, RNG.random((2, 8)), formats=("keras", "onnx"), say=lines.append)
    assert len(lines) == 2
    assert re.fullmatch(r"export keras: model\.keras checked \(\d+\.\d s\)", lines[0]), lines
    assert re.fullmatch(r"export onnx: failed: .*no_such_package_for_zoo.* \(\d+\.\d s\)", lines[1]), lines


def test_unknown_format_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"unknown export format\(s\) \['pickle'\]; choose among keras"):
        export_model(small_mlp(), tmp_path / "out", RNG.random((2, 8)), formats=("keras", "pickle"))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("outputs", "ok", "error"),
    [
        ([np.array([[0.5, 0.5]])], True, None),
        ([np.array([[0.5, 0.6]])], False, r"differ from Keras' by up to 0\.1, over the tolerance 0\.0001"),
        ([np.array([[0.5, np.nan]])], False, r"by up to nan"),
        ([np.array([0.5, 0.5])], False, r"shaped \[\(2,\)\] where Keras gives \[\(1, 2\)\]"),
    ],
)
def test_compare_fails_beyond_tolerance_on_nan_and_on_other_shapes(tmp_path, outputs, ok, error):
    path = tmp_path / "model.bin"
    path.write_bytes(b"1234")
    check = compare("x", path, "test", [np.array([[0.5, 0.5]])], outputs, FLOAT32_TOLERANCE)
    assert check.ok is ok
    if error:
        assert check.error is not None and re.search(error, check.error)
    assert check.size_bytes == 4


def mixed_precision_mlp() -> keras.Model:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((8,))
        hidden = keras.layers.Dense(16, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", dtype="float32")(hidden))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_precision_models_get_the_looser_tolerance():
    assert tolerance_for(mixed_precision_mlp()) == LOW_PRECISION_TOLERANCE
    assert tolerance_for(small_mlp()) == FLOAT32_TOLERANCE


def test_mixed_precision_exports_to_onnx_but_its_float16_ops_are_not_tflite_builtins(tmp_path):
    checks = export_model(mixed_precision_mlp(), tmp_path, RNG.random((4, 8)), formats=("savedmodel", "tflite", "onnx"))
    assert checks["savedmodel"].ok and checks["onnx"].ok, {name: c.error for name, c in checks.items()}
    assert not checks["tflite"].ok and "Flex" in checks["tflite"].error


def test_export_check_to_json_is_plain():
    path = Path("/x/model.onnx")
    check = zoo.results.export.ExportCheck("onnx", path, True, 1e-7, 1e-4, "onnxruntime", None, 0.1, 10)
    assert check.to_json()["path"] == "/x/model.onnx" and check.to_json()["max_abs_diff"] == 1e-7


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")  # the reason LiteRT comes first
def test_without_litert_tensorflows_own_interpreter_runs_the_tflite_file(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # makes the import fail
    checks = export_model(small_mlp(), tmp_path, RNG.random((2, 8)), formats=("tflite",))
    assert checks["tflite"].ok, checks["tflite"].error
    assert checks["tflite"].runtime.startswith("tf.lite.Interpreter")
