"""The runtime: converted once to LiteRT, cached, each runtime checked against Keras; the cache alone serves later
runs, on OpenVINO, else LiteRT, else Keras."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from zoo.loading.model import ZooModel, features_model
from zoo.results import runtime
from zoo.results.runtime import ModelSource, cached_paths, open_runner
from zoo.sealed import write_sealed


def tiny_model() -> ZooModel:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return ZooModel(inputs, outputs, class_names=["a", "b", "c"], classifier="predictions")


def refuse_to_load():
    raise AssertionError("a warm cache must not load the Keras model")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("zoo-cache")
        patch.setenv("ZOO_CACHE_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.mark.parametrize("purpose", ["predict", "embed"])
def test_converted_once_then_served_from_the_cache(cache, model, purpose):
    notes: list[str] = []
    source = ModelSource("tiny.keras", f"digest-{purpose}", lambda: model)
    runner = open_runner(source, purpose, notes.append)
    assert runner.runtime == "openvino" and runner.input_shape == (12, 12, 3)
    assert len(notes) == 1 and "converting" in notes[0]
    x = np.random.default_rng(0).uniform(0, 255, (5, 12, 12, 3)).astype(np.float32)
    keras_model = model if purpose == "predict" else features_model(model)
    np.testing.assert_allclose(runner.run(x), keras_model.predict(x, verbose=0), rtol=1e-4, atol=1e-4)
    card = json.loads(cached_paths(source, purpose)[1].read_text())
    assert card["converted"] and card["class_names"] == (["a", "b", "c"] if purpose == "predict" else None)
    assert card["runtimes"]["openvino"]["ok"] and card["runtimes"]["litert"]["ok"]
    assert card["runtimes"]["openvino"]["max_abs_diff"] <= card["tolerance"]
    warm = open_runner(ModelSource("tiny.keras", f"digest-{purpose}", refuse_to_load), purpose, notes.append)
    assert warm.runtime == "openvino" and len(notes) == 1  # no second conversion, no note
    np.testing.assert_array_equal(warm.run(x), runner.run(x))


def test_a_model_that_did_not_convert_runs_in_keras_with_one_note(cache, model):
    source = ModelSource("odd.keras", "digest-odd", lambda: model)
    model_path, card_path = cached_paths(source, "predict")
    card_path.parent.mkdir(parents=True, exist_ok=True)
    reason = "ConverterError: the model needs TensorFlow (Flex) ops"
    card = {"input_shape": [12, 12, 3], "class_names": ["a", "b", "c"], "converted": False, "reason": reason}
    card["runtimes"] = {"litert": {"ok": False}}
    write_sealed(card_path, json.dumps(card).encode())
    notes: list[str] = []
    runner = open_runner(source, "predict", notes.append)
    assert runner.runtime == "keras" and not model_path.exists()
    assert notes == [f"odd.keras runs in Keras, not LiteRT: {reason}"]
    x = np.full((2, 12, 12, 3), 100.0, np.float32)
    np.testing.assert_allclose(runner.run(x), model.predict(x, verbose=0), rtol=1e-6)


def warm_card(cache, model, digest: str, runtimes: dict | None) -> ModelSource:
    """A converted file in the cache (the tiny model's, from a first open) under a card with these runtime checks."""
    first = ModelSource("tiny.keras", "digest-fallback", lambda: model)
    open_runner(first, "predict", lambda line: None)
    source = ModelSource("tiny.keras", digest, refuse_to_load)
    converted, card = cached_paths(first, "predict")
    paths = cached_paths(source, "predict")
    write_sealed(paths[0], converted.read_bytes())
    found = json.loads(card.read_text())
    if runtimes is None:
        del found["runtimes"]
    else:
        found["runtimes"] = runtimes
    write_sealed(paths[1], json.dumps(found).encode())
    return source


def test_openvino_runs_only_what_it_passed_the_check_on(cache, model):
    runtimes = {"litert": {"ok": True}, "openvino": {"ok": False, "reason": "differs"}}
    runner = open_runner(warm_card(cache, model, "digest-unchecked", runtimes), "predict", pytest.fail)  # no note
    assert runner.runtime == "litert"


def test_a_card_from_before_openvino_is_converted_again(cache, model):
    source = warm_card(cache, model, "digest-old-card", None)
    notes: list[str] = []
    runner = open_runner(ModelSource(source.label, source.digest, lambda: model), "predict", notes.append)
    assert runner.runtime == "openvino" and "converting" in notes[0]


def test_without_openvino_litert_serves_and_without_either_keras_with_a_note(cache, model, monkeypatch):
    source = warm_card(cache, model, "digest-missing", {"litert": {"ok": True}, "openvino": {"ok": True}})
    x = np.random.default_rng(1).uniform(0, 255, (3, 12, 12, 3)).astype(np.float32)
    fastest = open_runner(source, "predict", pytest.fail)
    monkeypatch.setattr(runtime, "has_openvino", lambda: False)
    fallback = open_runner(source, "predict", pytest.fail)  # no note: LiteRT gives the same answers
    assert (fastest.runtime, fallback.runtime) == ("openvino", "litert")
    np.testing.assert_allclose(fallback.run(x), fastest.run(x), rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(runtime, "has_litert", lambda: False)
    notes: list[str] = []
    last = open_runner(ModelSource("tiny.keras", "digest-missing", lambda: model), "predict", notes.append)
    assert last.runtime == "keras"
    assert notes == ["tiny.keras runs in Keras, not LiteRT: neither openvino nor ai-edge-litert is installed"]
    np.testing.assert_allclose(last.run(x), fastest.run(x), rtol=1e-4, atol=1e-5)
