"""`python -m zoo.bench gpu`: the tiny run of every step on the CPU (essential: keeps the GPU command from rotting),
the partial-run statuses, the backend fallback, and the table's checked read."""

from __future__ import annotations

import json

import pytest

from zoo.bench.__main__ import main
from zoo.bench.gpu import command as gpu
from zoo.bench.gpu import table as gpu_table
from zoo.hardware.devices import nvidia_gpus


@pytest.mark.slow  # 5-9 minutes on this shared 2-core CPU, over the default budget (the next test runs one step)
def test_the_tiny_run_measures_every_step_and_renders_the_table(tmp_path, capsys):
    assert main(["gpu", "--tiny", "--json", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert {name: step["status"] for name, step in result["steps"].items()} == {s.name: "ok" for s in gpu.STEPS}
    figures = {name: step["result"] for name, step in result["steps"].items()}
    assert set(figures["finetune_guide"]["zoo_images_per_second"]) == {"head", "top blocks"}
    assert set(figures["finetune_guide"]["keras_images_per_second"]) == {"head", "all"}
    assert 0 <= figures["input_wait"]["zoo"]["input_wait_share"] < 1
    assert {row["precision"] for row in figures["precision"]["rows"]} == {"float32", "mixed_float16"}
    assert all(row["forward"] > 0 and row["train"] > 0 for row in figures["precision"]["rows"])
    assert figures["mixed_finetune"]["passed"] in (True, False)  # accuracy on 18 toy digits decides, not the code
    mixed = figures["mixed_finetune"]["runs"]
    assert all(run["finite"] and run["batchnorm_statistics"] > 0 for run in mixed.values())
    assert all(run["batchnorm_moved"] == 0 for run in mixed.values())
    assert "mixed_float16" in mixed["mixed_float16"]["placement"]
    predict = figures["predict"]
    assert predict["zoo_choice"] in predict["images_per_second"]
    assert {"keras", "litert", "openvino"} == set(predict["images_per_second"])
    assert "MirroredStrategy on CPU:0, CPU:1; 2 replicas" in figures["mirrored"]["runs"]["2"]["placement"]
    saved = tmp_path / gpu.file_name(result)
    assert saved.name.startswith("gpu-") and saved.name.endswith("-cpu-tiny.json")
    assert main(["gpu", "--table", str(saved)]) == 0
    table = capsys.readouterr().out
    assert "| squeezenet1_1 train, images/s float32 / mixed float16 |" in table
    assert "| zoo predict, 16 files (tiny.keras) | zoo chose" in table and "skipped" not in table


def test_the_tiny_predict_step_runs_and_renders_its_table_row(tmp_path, capsys):
    """The default suite's share of the tiny run: one real step end to end (its own process), saved and rendered."""
    assert main(["gpu", "--tiny", "--only", "predict", "--json", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    predict = result["steps"]["predict"]
    assert predict["status"] == "ok", predict
    assert predict["result"]["zoo_choice"] in predict["result"]["images_per_second"]
    assert main(["gpu", "--table", str(tmp_path / gpu.file_name(result))]) == 0
    assert "| zoo predict, 16 files (tiny.keras) | zoo chose" in capsys.readouterr().out


def test_a_spent_budget_skips_the_remaining_steps_and_still_reports():
    result = gpu.run(tiny=True, budget=1)
    assert all(step["status"].startswith("skipped: the run's 1 s budget") for step in result["steps"].values())
    assert "budget was spent" in gpu_table.markdown(result)


def test_a_step_past_its_limit_reports_the_time_out():
    outcome = gpu.run_step(gpu.STEPS[0], tiny=True, seconds=0.5)
    assert outcome["status"] == "timed out after 0 s" and "last_line" in outcome


def test_without_tensorflow_only_the_backend_neutral_step_runs_on_jax(monkeypatch):
    present = {"jax"}
    monkeypatch.setattr(gpu.importlib.util, "find_spec", lambda name: object() if name in present else None)
    assert gpu.backend_for("precision") == "jax" and gpu.backend_for("finetune_guide") is None
    assert gpu.run_step(gpu.STEPS[0], tiny=True, seconds=5)["status"].startswith("skipped: TensorFlow is not installed")
    present.clear()
    assert gpu.backend_for("precision") is None


@pytest.mark.parametrize("content", ["not json", json.dumps({"kind": "other"}), json.dumps([1])])
def test_the_table_refuses_a_file_that_is_not_a_gpu_result(tmp_path, content):
    path = tmp_path / "gpu.json"
    path.write_text(content)
    with pytest.raises(SystemExit, match="gpu.json: not a"):
        main(["gpu", "--table", str(path)])


@pytest.mark.skipif(bool(nvidia_gpus()), reason="with a GPU the step runs for real")
def test_a_full_size_step_without_a_gpu_is_skipped_saying_why():
    from zoo.bench.gpu.steps import run_step

    assert run_step("precision", tiny=False) == {"skipped": "no GPU visible to Keras (tensorflow backend)"}
