"""With a GPU present (faked here: nvidia-smi lists one), zoo predict's runtime is chosen by measurement, once per
model and GPU, and kept beside the card; without one nothing is measured."""

from __future__ import annotations

import json
import subprocess

import keras
import numpy as np
import pytest

from zoo.hardware import devices
from zoo.loading.model import ZooModel
from zoo.results import runtime_choice
from zoo.results.runtime import ModelSource, cached_paths, open_runner

GPU = "NVIDIA Fake GPU"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="module")
def model():
    """A two-class image model small enough to convert in seconds."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Flatten()(keras.layers.Conv2D(2, 1, activation="relu")(inputs))
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    return ZooModel(inputs, outputs, class_names=["yes", "no"], classifier="predictions")


def rates_where_keras_is(speed: float):
    return lambda runner, batch: speed if runner.runtime == "keras" else 100.0


def choices_of(source: ModelSource) -> dict:
    return json.loads(runtime_choice.choice_path(cached_paths(source, "predict")[1]).read_text())


def test_without_a_gpu_nothing_is_measured(cache, model, monkeypatch):
    monkeypatch.setattr(runtime_choice, "nvidia_gpus", lambda: [])
    source = ModelSource("tiny.keras", "digest-cpu", lambda: model)
    assert open_runner(source, note=lambda line: None).runtime == "openvino"
    assert not runtime_choice.choice_path(cached_paths(source, "predict")[1]).exists()


def test_with_a_gpu_the_measured_faster_runs_and_the_choice_is_kept(cache, model, monkeypatch):
    monkeypatch.setattr(runtime_choice, "nvidia_gpus", lambda: [GPU])
    monkeypatch.setattr(runtime_choice, "images_per_second", rates_where_keras_is(400.0))
    notes: list[str] = []
    source = ModelSource("tiny.keras", "digest-gpu", lambda: model)
    runner = open_runner(source, note=notes.append)
    assert runner.runtime == "keras"
    expected = {"choice": "keras", "images_per_second": {"openvino": 100.0, "keras": 400.0}}
    assert choices_of(source)[GPU] == expected
    assert notes[-1].startswith(f"with {GPU} here, keras runs this model fastest")
    x = np.random.default_rng(1).uniform(0, 255, (3, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(runner.run(x), model.predict(x, verbose=0), rtol=1e-6)

    def refuse(runner, batch):
        raise AssertionError("a kept choice is not measured again")

    monkeypatch.setattr(runtime_choice, "images_per_second", refuse)
    assert open_runner(source, note=notes.append).runtime == "keras"


def test_a_slower_keras_leaves_the_converted_runtime(cache, model, monkeypatch):
    monkeypatch.setattr(runtime_choice, "nvidia_gpus", lambda: [GPU])
    monkeypatch.setattr(runtime_choice, "images_per_second", rates_where_keras_is(10.0))
    source = ModelSource("tiny.keras", "digest-slow", lambda: model)
    assert open_runner(source, note=lambda line: None).runtime == "openvino"
    assert choices_of(source)[GPU]["choice"] == "openvino"


def test_a_damaged_choice_is_measured_again(cache, model, monkeypatch):
    monkeypatch.setattr(runtime_choice, "nvidia_gpus", lambda: [GPU])
    monkeypatch.setattr(runtime_choice, "images_per_second", rates_where_keras_is(10.0))
    source = ModelSource("tiny.keras", "digest-damaged", lambda: model)
    open_runner(source, note=lambda line: None)
    runtime_choice.choice_path(cached_paths(source, "predict")[1]).write_text(json.dumps({GPU: {"choice": "warp"}}))
    monkeypatch.setattr(runtime_choice, "images_per_second", rates_where_keras_is(400.0))
    assert open_runner(source, note=lambda line: None).runtime == "keras"
    assert choices_of(source)[GPU]["choice"] == "keras"


def test_a_real_measurement_records_both_rates(cache, model, monkeypatch):
    monkeypatch.setattr(runtime_choice, "nvidia_gpus", lambda: [GPU])
    source = ModelSource("tiny.keras", "digest-real", lambda: model)
    runner = open_runner(source, note=lambda line: None)
    entry = choices_of(source)[GPU]
    assert set(entry["images_per_second"]) == {"openvino", "keras"} and min(entry["images_per_second"].values()) > 0
    assert runner.runtime == entry["choice"] == max(entry["images_per_second"], key=entry["images_per_second"].get)


@pytest.mark.parametrize(("visible", "expected"), [(None, ["A", "B"]), ("1", ["B"]), ("", []), ("-1", [])])
def test_nvidia_gpus_follows_cuda_visible_devices(monkeypatch, visible, expected):
    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    listing = subprocess.CompletedProcess([], 0, stdout="A\nB\n", stderr="")
    monkeypatch.setattr(devices.subprocess, "run", lambda *args, **kwargs: listing)
    env = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert devices.nvidia_gpus(env) == expected
