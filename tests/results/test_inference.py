"""`zoo.classify` / `zoo.embed`: the fast runtime where a converted file is held (a run folder's or the cache's), with
`runtime="auto"` converting once, Keras otherwise; a fresh Python on a run folder never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.loading.model import ZooModel, features_model
from zoo.results import conversion
from zoo.results.conversion import export_runtime


def tiny_model() -> ZooModel:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return ZooModel(inputs, outputs, class_names=["a", "b", "c"], classifier="predictions")


@pytest.fixture
def conversions(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    made: list[str] = []
    convert = conversion.convert_checked
    monkeypatch.setattr(conversion, "convert_checked", lambda *args: made.append(args[3]) or convert(*args))
    return made


def pictures(count: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 12, 12, 3), dtype=np.uint8)


def test_a_model_in_memory_runs_in_keras_until_asked_then_the_cache_serves_it(conversions):
    model = tiny_model()
    expected = model.classify(pictures(), top=2)
    assert zoo.classify(model, pictures(), top=2) == expected and conversions == []  # cold "cached": Keras
    fast = zoo.classify(model, pictures(), top=2, runtime="auto")
    assert len(conversions) == 1
    again = zoo.classify(model, pictures(), top=2)  # "cached" now finds the file: no second conversion
    assert len(conversions) == 1 and again == fast
    for ranked, wanted in zip(fast, expected, strict=True):
        assert [label for label, _ in ranked] == [label for label, _ in wanted]
        np.testing.assert_allclose([p for _, p in ranked], [p for _, p in wanted], atol=1e-4)
    features = zoo.embed(model, pictures())
    np.testing.assert_allclose(features, features_model(model).predict(pictures(), verbose=0), atol=1e-4, rtol=1e-4)
    assert len(conversions) == 1  # predict's file serves embed too
    model.layers[1].kernel.assign(model.layers[1].kernel * 2)  # other weights: another model, not the cached file
    zoo.classify(model, pictures())
    assert len(conversions) == 1


def test_a_bad_runtime_is_refused():
    with pytest.raises(zoo.BadData, match="runtime='fast': choose among cached, auto, keras"):
        zoo.classify(tiny_model(), pictures(), runtime="fast")


@pytest.mark.slow  # a fresh Python process
def test_a_fresh_python_classifies_with_a_run_folders_file_without_tensorflow(conversions, tmp_path):
    model = tiny_model()
    model.save(tmp_path / "model.keras")
    export_runtime(model, tmp_path, pytest.fail)
    Image.fromarray(pictures(1)[0]).save(tmp_path / "a.png")
    script = (
        "import sys, zoo; top = zoo.classify(sys.argv[1], [sys.argv[2]], top=1); "
        "print(top[0][0][0], sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    command = [sys.executable, "-c", script, str(tmp_path), str(tmp_path / "a.png")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [model.classify(str(tmp_path / "a.png"), top=1)[0][0][0], "[]"]
    assert done.stderr == ""
