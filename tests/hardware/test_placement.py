"""zoo.hardware.placement: the placement line, batch and learning-rate scaling, the choice on this machine, the CLI
flags, and a one-device finetune in mixed precision (loss scaling, float32 head)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import zoo
from zoo.cli.finetune import add_finetune_parser, placement_options, resume_argv
from zoo.cli.main import main
from zoo.errors import BadDevice
from zoo.hardware.cluster import Cluster
from zoo.hardware.devices import DeviceInfo, local_devices
from zoo.hardware.placement import Placement, place
from zoo.training.plan import make_plan
from zoo.training.run import finetune, scaled_plan

CPU = DeviceInfo("CPU:0", "CPU")
GPUS = (DeviceInfo("GPU:0", "GPU", "NVIDIA A100", (8, 0)), DeviceInfo("GPU:1", "GPU", "NVIDIA A100", (8, 0)))
HAS_GPU = any(d.type == "GPU" for d in local_devices())


def test_one_device_line():
    line = Placement(None, "one device", (CPU,), 1, "float32", batch_size=32).describe()
    assert line == (
        "placement: one device on CPU:0; 1 replica, precision float32, XLA auto (on where every layer supports it), "
        "global batch 32"
    )


def test_mirrored_line_scales_batch_and_learning_rates():
    placement = Placement(object(), "MirroredStrategy", GPUS, 2, "mixed_float16", batch_size=32)
    assert placement.global_batch == 64 and placement.lr_factor == pytest.approx(2**0.5) and placement.replicated
    assert placement.describe() == (
        "placement: MirroredStrategy on GPU:0, GPU:1; 2 replicas, precision mixed_float16, XLA off, global batch 64 "
        "(32 per replica), learning rates x1.41 (sqrt rule)"
    )
    assert Placement(object(), "MirroredStrategy", GPUS, 4, "float32", lr_rule="linear").lr_factor == 4.0
    unscaled = Placement(object(), "MirroredStrategy", GPUS, 2, "float32", xla=True, lr_rule="none")
    assert unscaled.lr_factor == 1.0 and unscaled.jit_compile() is False
    assert "XLA off (not used with several replicas)" in unscaled.describe()
    assert unscaled.describe().endswith("learning rates not scaled")


def test_one_gpu_leaves_xla_to_keras_and_the_dict_has_the_line():
    placement = Placement(None, "one device", GPUS[:1], 1, "mixed_float16", batch_size=16)
    assert placement.jit_compile() == "auto" and "XLA auto (on where every layer supports it)" in placement.describe()
    record = placement.to_dict()
    assert record["device_models"] == ["NVIDIA A100"] and record["text"] == placement.describe()
    assert (record["replicas"], record["workers"], record["global_batch"], record["chief"]) == (1, 1, 16, True)


def test_multi_worker_line_names_the_worker():
    cluster = Cluster("TF_CONFIG", 2, "worker", 1, False)
    placement = Placement(object(), "MultiWorkerMirroredStrategy", (CPU,), 2, "float32", batch_size=8, cluster=cluster)
    assert not placement.is_chief and placement.to_dict()["workers"] == 2
    assert placement.describe().startswith(
        "placement: MultiWorkerMirroredStrategy on 2 workers (TF_CONFIG), this is worker 1 (not chief), each on "
        "CPU:0; 2 replicas"
    )


@pytest.mark.skipif(HAS_GPU, reason="auto picks the GPU here")
def test_auto_on_this_cpu_machine_is_one_device_in_float32():
    placement = place("auto", batch_size=8)
    assert (placement.strategy, placement.kind, placement.replicas, placement.precision) == (
        None,
        "one device",
        1,
        "float32",
    )
    assert placement.devices[0].name == "CPU:0" and not placement.replicated


def test_unavailable_devices_and_bad_options_are_refused():
    with pytest.raises(BadDevice, match="device 'gpu:7' is not available: GPU:7 does not exist; TensorFlow sees CPU:0"):
        place("gpu:7")
    with pytest.raises(BadDevice, match="lr_scaling 'log' is not known; use one of sqrt, linear, none"):
        place("cpu", lr_scaling="log")
    with pytest.raises(BadDevice, match="batch_size must be at least 1, got 0"):
        place("cpu", batch_size=0)


def test_the_plan_carries_the_scaled_learning_rates():
    model = zoo.load("mlp_tabular")
    plan = make_plan(model, 1000, epochs=2, batch_size=128)
    four = Placement(object(), "MirroredStrategy", GPUS, 4, "float32", batch_size=32, lr_rule="linear")
    scaled = scaled_plan(plan, four)
    assert scaled.phases[0].learning_rate == pytest.approx(4 * plan.phases[0].learning_rate)
    assert "learning rates x4 for 4 replicas (linear rule); batch 128 is the global batch (32 per replica)" in str(
        scaled
    )
    assert scaled_plan(plan, Placement(None, "one device", (CPU,), 1, "float32")) is plan


def test_one_device_finetune_in_mixed_precision_prints_its_placement(capsys):
    from sklearn.datasets import load_digits

    digits = load_digits()
    model = zoo.load("mlp_tabular", hidden_units=(32,))
    before = [w.copy() for w in model.get_weights()]
    result = finetune(
        model,
        (digits.data[:200] / 16, digits.target[:200]),
        epochs=2,
        batch_size=16,
        precision="mixed_float16",
        device="cpu",
    )
    first = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("placement:"))
    assert first == (
        "placement: one device on CPU:0; 1 replica, precision mixed_float16, XLA auto (on where every layer "
        "supports it), global batch 16"
    )
    assert result.report["placement"]["precision"] == "mixed_float16" and result.placement.replicas == 1
    assert all(np.isfinite(loss) for loss in result.history["loss"])
    assert model.layers[-1].dtype_policy.name == "float32" and result.model is model  # the user's model, trained
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def cli_args(*argv: str) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="zoo")
    add_finetune_parser(root.add_subparsers(dest="command", required=True))
    return root.parse_args(["finetune", "lenet5", "data/", *argv])


def test_device_flags_reach_finetune_and_the_resume_command(tmp_path):
    default = cli_args()
    assert placement_options(default) == {"device": None, "precision": "auto", "xla": None}
    args = cli_args("--device", "gpu:0,gpu:1", "--precision", "mixed_bfloat16", "--xla", "off")
    assert placement_options(args) == {"device": "gpu:0,gpu:1", "precision": "mixed_bfloat16", "xla": False}
    argv = resume_argv(args, tmp_path)
    assert argv[argv.index("--device") + 1] == "gpu:0,gpu:1" and argv[argv.index("--xla") + 1] == "off"
    assert "--device" not in resume_argv(default, tmp_path)


def test_the_command_refuses_a_missing_device_before_reading_data(tmp_path, capsys):
    (tmp_path / "photos" / "a").mkdir(parents=True)  # an empty class: reading it would fail after the device check
    argv = ["finetune", "lenet5", str(tmp_path / "photos"), "--out", str(tmp_path / "run"), "--device", "gpu:5"]
    assert main(argv) == 2
    assert "zoo: error: device 'gpu:5' is not available: GPU:5 does not exist" in capsys.readouterr().err
