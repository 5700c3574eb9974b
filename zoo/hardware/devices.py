"""Which devices a run may use: the device spec (argument, --device or ZOO_DEVICE) parsed, what TensorFlow sees
listed, and the one checked against the other before anything is built, with an error that lists what exists.

Parsing and choosing are pure functions of descriptions, so they are tested without devices; only
`local_devices` and `enable_memory_growth` touch TensorFlow.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from zoo.errors import BadDevice

DEVICE_ENV = "ZOO_DEVICE"
KINDS = ("auto", "cpu", "gpu", "all", "tpu")
SPEC_HELP = "auto, cpu, gpu, gpu:N, all, tpu, or a comma list of devices such as gpu:0,gpu:1"
DEVICE_NAME = re.compile(r"^(cpu|gpu|tpu):(\d+)$")
# Signs of a TPU host; the resolver is only asked when one is there (elsewhere it may wait on a metadata server).
TPU_ENV = ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE")


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed device request: a kind (auto, cpu, gpu, all, tpu) or explicit devices ("GPU:1", "CPU:0")."""

    kind: str  # one of KINDS, or "list" for explicit devices
    devices: tuple[str, ...] = ()
    text: str = "auto"  # as the user gave it, for messages


@dataclass(frozen=True)
class DeviceInfo:
    """One device TensorFlow sees: "GPU:0", its type, and for GPUs the model and compute capability."""

    name: str
    type: str  # "CPU", "GPU" or "TPU"
    model: str | None = None
    compute_capability: tuple[int, int] | None = None


def parse_device(spec: str | None = None, env: Mapping[str, str] = os.environ) -> DeviceSpec:
    """The device request from `spec`, else the ZOO_DEVICE variable, else "auto"; malformed text is refused."""
    text = spec if spec is not None else env.get(DEVICE_ENV) or "auto"
    cleaned = text.strip().lower()
    if cleaned in KINDS:
        return DeviceSpec(cleaned, (), text)
    names = [part.strip() for part in cleaned.split(",")]
    source = "" if spec is not None else f" (from {DEVICE_ENV})"
    bad = [part for part in names if not DEVICE_NAME.match(part)]
    if bad or not names:
        raise BadDevice(f"device {text!r}{source} is not a device spec; use {SPEC_HELP}")
    devices = tuple(part.upper() for part in names)
    if len(set(devices)) != len(devices):
        raise BadDevice(f"device {text!r}{source} names a device twice; list each device once (gpu:0,gpu:1)")
    return DeviceSpec("list", devices, text)


def select_devices(spec: DeviceSpec, available: Sequence[DeviceInfo], cuda: bool = True) -> tuple[str, ...]:
    """The devices `spec` asks for among `available` ("GPU:0", ...); auto: TPUs, else every GPU, else the CPU.

    `cuda` says whether this TensorFlow was built with CUDA (the error then says how to get GPU support).
    """
    by_type = {kind: [d.name for d in available if d.type == kind] for kind in ("CPU", "GPU", "TPU")}
    if spec.kind == "auto":
        return tuple(by_type["TPU"] or by_type["GPU"] or by_type["CPU"][:1])
    wanted = {
        "cpu": by_type["CPU"][:1],
        "gpu": by_type["GPU"][:1],
        "all": by_type["GPU"],
        "tpu": by_type["TPU"],
        "list": [name for name in spec.devices if any(d.name == name for d in available)],
    }[spec.kind]
    if spec.kind == "list" and len(wanted) != len(spec.devices):
        missing = ", ".join(name for name in spec.devices if name not in wanted)
        raise unavailable(spec, f"{missing} does not exist", available, cuda)
    if not wanted:
        what = {"all": "it uses every local GPU and there is none", "tpu": "no TPU is attached"}.get(
            spec.kind, "there is no GPU"
        )
        raise unavailable(spec, what, available, cuda)
    return tuple(wanted)


def unavailable(spec: DeviceSpec, what: str, available: Sequence[DeviceInfo], cuda: bool) -> BadDevice:
    """The error for a device that is not here: what was asked, what exists, how to get it or what to pass instead."""
    names = ", ".join(d.name for d in available) or "none"
    hint = ""
    if any(name.startswith("GPU") for name in spec.devices) or spec.kind in ("gpu", "all"):
        hint = "" if cuda else "; this TensorFlow has no CUDA support (on Linux: pip install 'tensorflow[and-cuda]')"
    return BadDevice(
        f"device {spec.text!r} is not available: {what}; TensorFlow sees {names}{hint}. "
        "Pass device='auto' (--device auto) to use what is there, or one of the devices listed"
    )


def tpu_hinted(env: Mapping[str, str] = os.environ) -> bool:
    """Whether this looks like a TPU host (a TPU variable is set, or a TPU VM's /dev/accel0 exists)."""
    return any(env.get(name) for name in TPU_ENV) or os.path.exists("/dev/accel0")


def enable_memory_growth() -> None:
    """Let TensorFlow take GPU memory as it needs it instead of all at once, so other processes keep theirs.

    Must run before TensorFlow starts its GPUs; later, or when TF_FORCE_GPU_ALLOW_GROWTH says otherwise, it is
    left as it is.
    """
    import tensorflow as tf

    if "TF_FORCE_GPU_ALLOW_GROWTH" in os.environ:  # the user's own choice wins
        return
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPUs are already initialised: their memory setting can no longer change
            return


def nvidia_gpus(env: Mapping[str, str] = os.environ) -> list[str]:
    """The NVIDIA GPUs this process may use, named by nvidia-smi ("NVIDIA H100 80GB HBM3"), without importing
    TensorFlow; empty without nvidia-smi or when CUDA_VISIBLE_DEVICES hides them."""
    if shutil.which("nvidia-smi") is None:
        return []
    query = ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return names
    wanted = [int(part) for part in visible.split(",") if part.strip().isdigit() and int(part) >= 0]
    return [names[index] for index in wanted if index < len(names)]


def local_devices() -> list[DeviceInfo]:
    """The logical devices of this process (CPU:0, CPU:1 when the CPU was split, GPU:N), GPUs with model and
    compute capability; memory growth is turned on first."""
    import tensorflow as tf

    enable_memory_growth()
    physical = {f"GPU:{i}": gpu for i, gpu in enumerate(tf.config.list_physical_devices("GPU"))}
    found = []
    for device in tf.config.list_logical_devices():
        name = device.name.split("device:")[-1]
        if device.device_type not in ("CPU", "GPU", "TPU"):
            continue
        details = tf.config.experimental.get_device_details(physical[name]) if name in physical else {}
        capability = details.get("compute_capability")
        found.append(DeviceInfo(name, device.device_type, details.get("device_name"), capability and tuple(capability)))
    return found


def cuda_built() -> bool:
    import tensorflow as tf

    return bool(tf.test.is_built_with_cuda())


def import_tensorflow_quietly() -> None:
    """Import TensorFlow now, with its native start-up logs discarded (see `quiet_tensorflow_when_imported`)."""
    quiet_tensorflow_when_imported()
    import tensorflow  # noqa: F401


def quiet_tensorflow_when_imported() -> None:
    """Whenever TensorFlow is first imported from now on, discard its native start-up logs (absl, CUDA probes:
    alarming on a CPU machine); nothing is imported here, so door checks stay TensorFlow-free.

    TF 2.21 writes them before its log level applies, so TF_CPP_MIN_LOG_LEVEL alone does not stop them: stderr's
    file descriptor is pointed at /dev/null while the module loads, whatever TF_CPP_MIN_LOG_LEVEL says (absl's
    "I0000 ... port.cc" lines show even at 3) unless it is 0: a user's 0 brings the start-up logs back, as
    `zoo --verbose` does (it does not call this). A user's level is kept for later logs. TensorFlow's Python logger
    then keeps only errors: its warnings (tf.function retracing hints) read as problems too.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0" or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not any(isinstance(finder, QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlowImport())


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, and loads it with stderr's descriptor on /dev/null; then leaves."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader.exec_module = partial(stderr_discarded_while, spec.loader.exec_module)
        return spec


def stderr_discarded_while(load: Callable[[Any], None], module: Any) -> None:
    """`load(module)` with file descriptor 2 on /dev/null (native code writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        load(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # its Python warnings too (tf.function retracing hints)
