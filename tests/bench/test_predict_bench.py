"""The predict benchmark: the five promised figures, the goals' ratios, and a real run on a tiny model (slow)."""

from __future__ import annotations

import json

import keras
import pytest

from zoo.bench import predict as bench
from zoo.bench.__main__ import main
from zoo.loading.model import ZooModel

FIGURES = (
    "keras_images_per_s",
    "runtime_images_per_s",
    "zoo_images_per_s",
    "cold_start_s",
    "tensorflow_import_s",
    "seal_check_s",
)


def test_ratios_are_the_goals_and_the_table_shows_them():
    figures = dict(zip(FIGURES, (20.0, 50.0, 45.0, 0.5, 10.0, 0.01), strict=True))
    ratios = bench.ratios(figures)
    assert ratios == {
        "zoo_vs_runtime": 0.9,
        "zoo_vs_keras": 2.25,
        "cold_start_vs_tensorflow_import": 0.05,
        "seal_check_vs_warm_predict": 0.02,
    }
    setting = {"model": "m", "images": 4, "batch_size": 2, "repeats": 1}
    extra = {"runtime": "openvino", "keras_batch_size": 16, "setting": setting, "cpus": 2}
    extra |= {"litert_images_per_s": 40.0, "zoo_litert_images_per_s": 30.0, "full_hash_s": 0.1}
    result = {**figures, **ratios, **extra}
    table = bench.render(result)
    lines = {line.split("  ")[0]: line.split()[-1] for line in table.splitlines()}
    assert lines["zoo / Keras (goal >= 2)"] == "2.25" and lines["zoo / raw runtime (goal >= 0.9)"] == "0.90"
    assert "raw openvino (zoo's runtime), preloaded arrays" in lines
    assert "Keras predict, preloaded arrays (batch 16)" in lines
    assert lines["seal checks / cold `zoo predict` (goal <= 0.05)"] == "0.0200"
    assert set(json.loads(bench.as_json(result))) >= set(FIGURES)


def test_the_limit_is_the_cores_over_the_core_time_per_image():
    figures = bench.bound_figures(decode_ms=3.0, runtime_ms=7.0, cores=2, zoo_images_per_s=180.0)
    assert figures["cpu_bound_images_per_s"] == pytest.approx(200.0) and figures["zoo_of_bound"] == pytest.approx(0.9)


@pytest.mark.parametrize("argv", [["--images", "0"], ["--repeats", "0"]])
def test_bad_settings_are_refused(argv):
    with pytest.raises(SystemExit, match="--images"):
        main(["predict", *argv])


@pytest.mark.slow  # imports TensorFlow in a fresh process, as the benchmark must
def test_a_real_run_on_a_tiny_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inputs))
    model = ZooModel(inputs, keras.layers.Dense(2, activation="softmax", name="predictions")(x), class_names=["a", "b"])
    model.save(tmp_path / "m.keras")
    result = bench.run(bench.Setting(str(tmp_path / "m.keras"), images=4, batch_size=2, repeats=1))
    assert all(result[key] > 0 for key in FIGURES) and result["runtime"] == "openvino"
    assert result["zoo_vs_keras"] == pytest.approx(result["zoo_images_per_s"] / result["keras_images_per_s"])
    assert result["seal_check_vs_warm_predict"] == pytest.approx(result["seal_check_s"] / result["cold_start_s"])
    limits = ("decode_ms_per_image", "runtime_ms_per_image", "cpu_bound_images_per_s", "zoo_of_bound")
    limits += ("zoo_core_ms_per_image", "zoo_of_bound_core_time")
    folder = ("keras_folder_images_per_s", "zoo_folder_images_per_s", "keras_folder_peak_mb", "zoo_folder_peak_mb")
    assert all(result[key] > 0 for key in (*limits, *folder))
    bound = result["cpus"] / ((result["decode_ms_per_image"] + result["runtime_ms_per_image"]) / 1000)
    assert result["cpu_bound_images_per_s"] == pytest.approx(bound)
    assert result["keras_folder_peak_mb"] > result["zoo_folder_peak_mb"] > 50  # each child's own peak, not ours
