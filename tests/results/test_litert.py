"""Quantized LiteRT exports: float16 and full-integer int8 files, each scored in LiteRT against the float model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo.results.export import export_model
from zoo.results.litert import (
    QuantizationData,
    as_input,
    quantized_failure,
    representative_rows,
    run_tflite,
    tflite_interpreter,
)


def brightest_channel(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8-range 12x12 RGB images whose class is the channel made brightest: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = np.arange(count) % 3
    x = rng.uniform(0, 120, (count, 12, 12, 3)).astype(np.float32)
    x[np.arange(count), :, :, y] += 100
    return x, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = brightest_channel(150, seed=0)
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    return model, x


def test_float16_and_int8_files_keep_the_validation_accuracy(trained, tmp_path):
    model, train_x = trained
    val_x, val_y = brightest_channel(60, seed=1)
    data = QuantizationData(representative_rows(train_x), val_x, val_y)
    checks = export_model(model, tmp_path, val_x[:4], formats=("tflite_fp16", "tflite_int8"), quantize=data)
    for name, file in (("tflite_fp16", "model_fp16.tflite"), ("tflite_int8", "model_int8.tflite")):
        check = checks[name]
        assert check.ok, check.error
        assert check.path == tmp_path / file and check.size_bytes == (tmp_path / file).stat().st_size
        found = check.quantized
        assert found["float_accuracy"] >= 0.9  # the float model learned, so keeping its accuracy means something
        assert found["accuracy_drop"] == pytest.approx(found["float_accuracy"] - found["accuracy"], abs=1e-4)
        assert found["accuracy_drop"] <= 0.05 and found["agreement"] >= 0.9
    interpreter, _ = tflite_interpreter(tmp_path / "model_int8.tflite")
    assert interpreter.get_input_details()[0]["dtype"] == np.int8  # full integer: int8 in, int8 out
    assert interpreter.get_output_details()[0]["dtype"] == np.int8
    probabilities = run_tflite(interpreter, val_x[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=0.05)  # dequantized back to probabilities


def test_a_quantized_format_without_data_is_reported_not_raised(trained, tmp_path):
    model, train_x = trained
    check = export_model(model, tmp_path, train_x[:2], formats=("tflite_int8",))["tflite_int8"]
    assert not check.ok and "needs training rows" in check.error


def test_integer_inputs_are_quantized_by_the_file_scale():
    entry = {"dtype": np.int8, "quantization": (2.0, -128)}
    np.testing.assert_array_equal(as_input(np.array([0.0, 255.0, 9999.0]), entry), [-128, 0, 127])
    assert as_input(np.array([1.5]), {"dtype": np.float32, "quantization": (0.0, 0)}).dtype == np.float32


def test_an_int8_file_that_changes_many_top1_answers_fails_though_its_accuracy_holds():
    level = {"accuracy": 0.8, "float_accuracy": 0.8, "accuracy_drop": 0.0}
    assert quantized_failure(level | {"agreement": 0.98}) is None
    failure = quantized_failure(level | {"agreement": 0.84})  # 16% of answers changed, accuracy level
    assert failure is not None and "changes the top class of 16.0% of validation rows" in failure
    assert "drops 6.0 points" in quantized_failure({"accuracy": 0.74, "float_accuracy": 0.8, "accuracy_drop": 0.06})
