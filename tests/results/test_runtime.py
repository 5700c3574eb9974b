"""The runtime: converted once (OpenVINO IR, else LiteRT), checked against Keras; a run folder's exported file or the
cache serves every later run, on OpenVINO, else LiteRT, else Keras; a damaged file is converted again."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from zoo.loading.model import ZooModel, features_model
from zoo.results import conversion, runtime
from zoo.results.conversion import export_runtime
from zoo.results.runtime import ModelSource, cached_paths, file_source, open_runner
from zoo.sealed import write_sealed


def card_file(paths) -> object:
    """An entry's card (cached_paths' second)."""
    return paths[1]


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


@pytest.fixture
def conversions(monkeypatch) -> list[str]:
    """Every conversion made from now on (its file stem): one per model, ever."""
    made: list[str] = []
    convert = conversion.convert_checked

    def counted(target, purposes, folder, stem, note):
        made.append(stem)
        return convert(target, purposes, folder, stem, note)

    monkeypatch.setattr(conversion, "convert_checked", counted)
    return made


def images(count: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, 12, 12, 3)).astype(np.float32)


def test_one_conversion_serves_predict_and_embed_then_the_cache_serves_both(cache, model, conversions):
    notes: list[str] = []
    source = ModelSource("tiny.keras", "digest-both", lambda: model)
    runner = open_runner(source, "predict", notes.append)
    assert runner.runtime == "openvino" and runner.input_shape == (12, 12, 3) and runner.class_names == ["a", "b", "c"]
    assert len(notes) == 1 and "converting" in notes[0]
    np.testing.assert_allclose(runner.run(images()), model.predict(images(), verbose=0), rtol=1e-4, atol=1e-4)
    card = json.loads(card_file(cached_paths(source, "predict")).read_text())
    assert card["converted"] and card["route"] == "openvino" and card["purposes"] == ["predict", "embed"]
    assert sorted(card["files"]) == sorted(f"{cached_paths(source, 'predict')[0].name}{s}" for s in (".xml", ".bin"))
    assert card["runtimes"]["openvino"]["max_abs_diff"] <= card["runtimes"]["openvino"]["tolerance"]
    embed = open_runner(ModelSource("tiny.keras", "digest-both", refuse_to_load), "embed", notes.append)
    assert embed.runtime == "openvino" and embed.class_names is None and len(notes) == 1
    expected = features_model(model).predict(images(), verbose=0)
    np.testing.assert_allclose(embed.run(images()), expected, rtol=1e-4, atol=1e-4)
    warm = open_runner(ModelSource("tiny.keras", "digest-both", refuse_to_load), "predict", notes.append)
    np.testing.assert_array_equal(warm.run(images()), runner.run(images()))
    assert conversions == [cached_paths(source, "predict")[0].name] and len(notes) == 1  # one conversion, one note


def test_predict_and_embed_use_the_run_folders_file_and_convert_nothing(cache, model, conversions, tmp_path):
    model.save(tmp_path / "model.keras")
    card = export_runtime(model, tmp_path, pytest.fail)
    assert card["converted"] and (tmp_path / "runtime.xml").is_file() and (tmp_path / "runtime.json").is_file()
    conversions.clear()
    source = file_source(tmp_path / "model.keras", "run1")
    for purpose in ("predict", "embed"):
        cold = ModelSource(source.label, source.digest, refuse_to_load, source.home)
        runner = open_runner(cold, purpose, pytest.fail)
        assert runner.runtime == "openvino"
    assert conversions == []  # the run folder held it: nothing converted, nothing cached
    assert not card_file(cached_paths(source, "predict")).exists()


def test_a_run_folders_file_that_does_not_match_its_model_is_not_used(cache, model, conversions, tmp_path):
    model.save(tmp_path / "model.keras")
    export_runtime(model, tmp_path, pytest.fail)
    (tmp_path / "runtime.bin").write_bytes((tmp_path / "runtime.bin").read_bytes()[:-8])  # damaged after writing
    notes: list[str] = []
    runner = open_runner(file_source(tmp_path / "model.keras", "damaged"), "predict", notes.append)
    assert runner.runtime == "openvino" and len(conversions) == 2  # into the cache
    assert "damaged" in notes[0] and "converting" in notes[1]
    tiny_model().save(tmp_path / "model.keras")  # a retrained model: the folder's runtime file is another model's
    conversions.clear()
    open_runner(file_source(tmp_path / "model.keras", "retrained"), "predict", lambda line: None)
    assert len(conversions) == 1


def test_a_damaged_cached_file_is_converted_again(cache, model, conversions):
    source = ModelSource("tiny.keras", "digest-damaged", lambda: model)
    open_runner(source, "predict", lambda line: None)
    base = cached_paths(source, "predict")[0]
    base.with_name(base.name + ".xml").write_text("<net/>")
    runner = open_runner(source, "predict", lambda line: None)
    assert runner.runtime == "openvino" and len(conversions) == 2
    np.testing.assert_allclose(runner.run(images()), model.predict(images(), verbose=0), rtol=1e-4, atol=1e-4)


def test_a_model_that_did_not_convert_runs_in_keras_with_one_note(cache, model):
    source = ModelSource("odd.keras", "digest-odd", lambda: model)
    reason = "openvino: RuntimeError: an op it cannot read"
    card = {"input_shape": [12, 12, 3], "class_names": ["a", "b", "c"], "converted": False, "reason": reason}
    card |= {"runtimes": {}, "files": {}, "source": "digest-odd", "route": None}
    card_file(cached_paths(source, "predict")).parent.mkdir(parents=True, exist_ok=True)
    write_sealed(card_file(cached_paths(source, "predict")), json.dumps(card).encode())
    notes: list[str] = []
    runner = open_runner(source, "predict", notes.append)
    assert runner.runtime == "keras"
    assert notes == [f"odd.keras runs in Keras, not the fast runtime: {reason}"]
    x = np.full((2, 12, 12, 3), 100.0, np.float32)
    np.testing.assert_allclose(runner.run(x), model.predict(x, verbose=0), rtol=1e-6)


def test_the_litert_route_serves_where_openvino_is_missing_and_without_either_keras_with_a_note(
    cache, model, monkeypatch
):
    monkeypatch.setattr(runtime, "has_openvino", lambda: False)
    monkeypatch.setattr(conversion, "has_openvino", lambda: False)
    source = ModelSource("tiny.keras", "digest-litert", lambda: model)
    fallback = open_runner(source, "predict", lambda line: None)
    card = json.loads(card_file(cached_paths(source, "predict")).read_text())
    assert fallback.runtime == "litert" and card["route"] == "litert" and "openvino" not in card["runtimes"]
    np.testing.assert_allclose(fallback.run(images()), model.predict(images(), verbose=0), rtol=1e-4, atol=1e-5)
    embed = open_runner(ModelSource("tiny.keras", "digest-litert", refuse_to_load), "embed", pytest.fail)
    expected = features_model(model).predict(images(), verbose=0)
    np.testing.assert_allclose(embed.run(images()), expected, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(runtime, "has_litert", lambda: False)
    notes: list[str] = []
    last = open_runner(source, "predict", notes.append)
    assert last.runtime == "keras"
    assert notes == ["tiny.keras runs in Keras, not the fast runtime: neither openvino nor ai-edge-litert is installed"]


def test_an_unwritable_cache_runs_in_keras_with_one_note(model, tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "not-a-folder"))
    notes: list[str] = []
    runner = open_runner(ModelSource("tiny.keras", "digest-unwritable", lambda: model), "predict", notes.append)
    assert runner.runtime == "keras" and len(notes) == 1 and "cannot be written" in notes[0]
    np.testing.assert_allclose(runner.run(images()), model.predict(images(), verbose=0), rtol=1e-6)


def test_a_mixed_precision_model_is_checked_at_its_precisions_tolerance(cache):
    from zoo.results.conversion import LOW_PRECISION_TOLERANCE

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = tiny_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    source = ModelSource("mixed.keras", "digest-mixed", lambda: mixed)
    runner = open_runner(source, "predict", lambda line: None)  # float16 compute differs from float32 by ~1e-3
    card = json.loads(card_file(cached_paths(source, "predict")).read_text())
    assert (
        runner.runtime == "openvino"
        and card["runtimes"]["openvino"]["tolerances"]["predict"] == LOW_PRECISION_TOLERANCE
    )
    expected = mixed.predict(images(), verbose=0).astype(np.float32)
    np.testing.assert_allclose(runner.run(images()), expected, atol=LOW_PRECISION_TOLERANCE)
