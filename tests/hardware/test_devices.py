"""zoo.hardware.devices: device specs parsed and refused, chosen among fake device lists, and what this machine has."""

from __future__ import annotations

import pytest

from zoo.errors import BadDevice
from zoo.hardware.devices import DeviceInfo, DeviceSpec, local_devices, parse_device, select_devices

CPU = DeviceInfo("CPU:0", "CPU")
GPUS = [DeviceInfo(f"GPU:{i}", "GPU", "NVIDIA A100", (8, 0)) for i in range(2)]
TPUS = [DeviceInfo(f"TPU:{i}", "TPU") for i in range(4)]


@pytest.mark.parametrize(
    ("text", "kind", "devices"),
    [
        ("auto", "auto", ()),
        (" GPU ", "gpu", ()),
        ("all", "all", ()),
        ("tpu", "tpu", ()),
        ("gpu:1", "list", ("GPU:1",)),
        ("gpu:0, gpu:2", "list", ("GPU:0", "GPU:2")),
        ("cpu:0,cpu:1", "list", ("CPU:0", "CPU:1")),
    ],
)
def test_specs_are_parsed(text, kind, devices):
    assert parse_device(text, env={}) == DeviceSpec(kind, devices, text)


def test_the_environment_variable_is_the_default_and_an_argument_wins():
    assert parse_device(None, env={}).kind == "auto"
    assert parse_device(None, env={"ZOO_DEVICE": "cpu"}).kind == "cpu"
    assert parse_device("gpu", env={"ZOO_DEVICE": "cpu"}).kind == "gpu"
    with pytest.raises(BadDevice, match=r"'gpu1' \(from ZOO_DEVICE\) is not a device spec; use auto, cpu, gpu"):
        parse_device(None, env={"ZOO_DEVICE": "gpu1"})


@pytest.mark.parametrize("text", ["cuda", "gpu:", "gpu:a", "gpu:0,,gpu:1", "gpu:0;gpu:1"])
def test_malformed_specs_are_refused_with_the_forms_that_work(text):
    with pytest.raises(BadDevice, match=f"device {text!r} is not a device spec; use auto, cpu, gpu, gpu:N, all, tpu"):
        parse_device(text, env={})


def test_a_device_named_twice_is_refused():
    with pytest.raises(BadDevice, match="names a device twice"):
        parse_device("gpu:0,gpu:0", env={})


@pytest.mark.parametrize(
    ("available", "chosen"),
    [
        ([CPU, *GPUS, *TPUS], ("TPU:0", "TPU:1", "TPU:2", "TPU:3")),
        ([CPU, *GPUS], ("GPU:0", "GPU:1")),
        ([CPU, GPUS[0]], ("GPU:0",)),
        ([CPU, DeviceInfo("CPU:1", "CPU")], ("CPU:0",)),
    ],
)
def test_auto_picks_tpus_then_every_gpu_then_one_cpu(available, chosen):
    assert select_devices(parse_device("auto"), available) == chosen


@pytest.mark.parametrize(
    ("text", "chosen"),
    [("cpu", ("CPU:0",)), ("gpu", ("GPU:0",)), ("all", ("GPU:0", "GPU:1")), ("gpu:1", ("GPU:1",))],
)
def test_explicit_choices(text, chosen):
    assert select_devices(parse_device(text), [CPU, *GPUS]) == chosen


def test_an_unavailable_gpu_lists_what_exists():
    with pytest.raises(BadDevice) as error:
        select_devices(parse_device("gpu:3"), [CPU, *GPUS])
    message = str(error.value)
    assert "device 'gpu:3' is not available: GPU:3 does not exist; TensorFlow sees CPU:0, GPU:0, GPU:1" in message
    assert "device='auto'" in message


def test_no_gpu_at_all_says_so_and_how_to_get_one():
    with pytest.raises(BadDevice) as error:
        select_devices(parse_device("all"), [CPU], cuda=False)
    expected = "it uses every local GPU and there is none; TensorFlow sees CPU:0; this TensorFlow has no CUDA support"
    assert expected + " (on Linux: pip install 'tensorflow[and-cuda]')" in str(error.value)
    with pytest.raises(BadDevice, match="no TPU is attached; TensorFlow sees CPU:0, GPU:0"):
        select_devices(parse_device("tpu"), [CPU, GPUS[0]])


def test_this_machine_lists_its_cpu():
    devices = local_devices()
    assert devices[0] == DeviceInfo("CPU:0", "CPU") and all(d.type in ("CPU", "GPU", "TPU") for d in devices)
    assert all(d.compute_capability for d in devices if d.type == "GPU")
