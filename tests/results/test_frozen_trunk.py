"""A frozen trunk in memory on the fast runtime: named by its weights, converted only where it pays, else Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from zoo.results import frozen_trunk
from zoo.results.frozen_trunk import memory_source, trunk_runner, weights_digest
from zoo.results.runtime import cached_paths


def tiny_trunk(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    image = keras.Input((12, 12, 3))
    scaled = keras.layers.Rescaling(1 / 255)(image)  # unnamed: Keras numbers it anew in each model
    return keras.Model(image, keras.layers.Conv2D(4, 3, activation="relu")(scaled))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    return tmp_path


def images(count: int = 5) -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 255, (count, 12, 12, 3)).astype(np.float32)


def test_equal_weights_give_one_name_other_weights_another():
    first, again, other = tiny_trunk(0), tiny_trunk(0), tiny_trunk(1)
    assert first.layers[1].name != again.layers[1].name  # built twice: auto-named layers differ
    assert weights_digest(first) == weights_digest(again) != weights_digest(other)
    assert cached_paths(memory_source(first, "t", "cut=a"), "features") == cached_paths(
        memory_source(again, "t", "cut=a"), "features"
    )
    assert cached_paths(memory_source(first, "t", "cut=a"), "features") != cached_paths(
        memory_source(first, "t", "cut=b"), "features"
    )


def test_a_small_cold_pass_stays_in_keras_a_big_one_converts_and_a_warm_cache_always_serves(cache, capsys):
    trunk = tiny_trunk()
    assert trunk_runner(trunk, "block2", pixels=100) is None  # cold and small: a conversion would not pay
    assert not list(cache.rglob("*.xml")) and not list(cache.rglob("*.tflite"))
    run = trunk_runner(trunk, "block2", pixels=int(frozen_trunk.CONVERSION_PAYS))
    assert run is not None and capsys.readouterr().err.count("converting") == 1
    expected = trunk.predict(images(), verbose=0)
    np.testing.assert_allclose(run(images()), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    warm = trunk_runner(tiny_trunk(), "block2", pixels=1)  # an equal trunk built again (another fold, a resume)
    assert warm is not None and capsys.readouterr().err == ""  # served from the cache: no conversion, no note
    np.testing.assert_array_equal(warm(images()), run(images()))


def test_a_trunk_that_does_not_convert_runs_in_keras_with_one_note(cache, capsys, monkeypatch):
    from zoo.results import conversion

    def failing(target, out_dir, sample, references, limits, purposes):
        raise ValueError("op FancyOp is not supported")

    monkeypatch.setattr(conversion, "ROUTE_CONVERTERS", dict.fromkeys(conversion.ROUTES, failing))
    assert trunk_runner(tiny_trunk(), None, pixels=int(frozen_trunk.CONVERSION_PAYS)) is None
    lines = [line for line in capsys.readouterr().err.splitlines() if "runs in Keras" in line]
    reason = "openvino: ValueError: op FancyOp is not supported; litert: ValueError: op FancyOp is not supported"
    assert lines == [f"zoo: trunk-all runs in Keras, not the fast runtime: {reason}"]
