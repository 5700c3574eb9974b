"""The devices benchmark: skipped with exit 0 without a GPU, bad settings refused, and a tiny run on the CPU."""

from __future__ import annotations

import json

import pytest

from zoo.bench import devices as bench
from zoo.bench.__main__ import main
from zoo.hardware.devices import local_devices

HAS_GPU = any(d.type == "GPU" for d in local_devices())


@pytest.mark.skipif(HAS_GPU, reason="with a GPU the benchmark runs for real")
def test_without_a_gpu_it_says_so_and_exits_0(capsys):
    assert main(["devices", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("devices benchmark skipped: no GPU here")
    assert json.loads(out[-1])["skipped"] == "no GPU"


@pytest.mark.parametrize("argv", [["--epochs", "1"], ["--images", "8"], ["--image-size", "16"]])
def test_bad_settings_are_refused(argv):
    with pytest.raises(SystemExit, match="need --epochs >= 2"):
        main(["devices", *argv])


@pytest.mark.slow
def test_a_tiny_run_on_the_cpu_measures_every_path():
    setting = bench.Setting(
        backbones=("efficientnet_b0",), image_size=32, images=64, batch_size=16, epochs=2, allow_cpu=True
    )
    result = bench.run(setting)
    row = result["rows"][0]
    assert result["device"] == "CPU" and row["backbone"] == "efficientnet_b0"
    for path in ("keras_plain", "zoo_finetune", "zoo_finetune_all_layers"):
        assert row[path]["images_per_second"] > 0
    for path in ("keras_plain", "zoo_pipeline"):
        assert 0.0 <= row[path]["input_wait_share"] < 1.0 and row[path]["step_seconds_on_device"] > 0
    assert set(row["zoo_finetune"]["phases"]) == {"head", "top blocks"}
    assert "img/s" in bench.render(result)
