"""Where a run trains: the strategy, devices, replicas, precision, XLA and batch that the hardware found calls for,
chosen from the device spec and the cluster (TF_CONFIG or SLURM), and told to the user in one line.

auto picks a TPU, else every local GPU (MirroredStrategy), else the one GPU, else the CPU; TF_CONFIG or a SLURM job
step of several tasks makes it MultiWorkerMirroredStrategy over the workers' local devices. A strategy is made once
per process (MultiWorkerMirroredStrategy can only be made before TensorFlow runs anything) and reused.
"""

from __future__ import annotations

import math
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.errors import BadDevice
from zoo.hardware.cluster import Cluster, cluster_from_env, multi_worker_strategy
from zoo.hardware.devices import (
    DeviceInfo,
    DeviceSpec,
    cuda_built,
    local_devices,
    parse_device,
    select_devices,
    tpu_hinted,
    unavailable,
)
from zoo.hardware.precision import choose_precision, output_layers, precision_of, with_precision

if TYPE_CHECKING:
    import keras

# Adam's step is normalised by the gradient's size, so the linear rule (right for SGD) overshoots; the square-root
# rule follows Malladi et al. 2022, "On the SDEs and scaling rules for adaptive gradient algorithms".
LR_RULES = ("sqrt", "linear", "none")
_STRATEGIES: dict[tuple, tuple[Any, str, tuple[DeviceInfo, ...]]] = {}  # spec or cluster -> strategy, kind, devices
_LOCAL: dict[tuple[str, ...], Any] = {}  # device names -> the strategy over them
_PLACED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (strategy id, precision) it was built on


@dataclass(frozen=True)
class Placement:
    """The hardware side of a run: what trains where, at which precision, with which global batch and rates."""

    strategy: Any  # a tf.distribute strategy; None: TensorFlow's default (one device, nothing to enter)
    kind: str  # "one device", "OneDeviceStrategy", "MirroredStrategy", "MultiWorkerMirroredStrategy", "TPUStrategy"
    devices: tuple[DeviceInfo, ...]  # this machine's devices in use
    replicas: int  # in sync, all workers together
    precision: str  # Keras dtype policy: float32, mixed_float16, mixed_bfloat16
    xla: bool | None = None  # None: Keras decides (on for one GPU when every layer supports it)
    batch_size: int = 32  # per replica
    lr_rule: str = "sqrt"
    cluster: Cluster | None = None

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.replicas

    @property
    def lr_factor(self) -> float:
        """What the learning rates are multiplied by for this many replicas (the batch grew by as much)."""
        return {"sqrt": math.sqrt(self.replicas), "linear": float(self.replicas), "none": 1.0}[self.lr_rule]

    @property
    def replicated(self) -> bool:
        """Whether training runs the replicated loop (several replicas or workers) rather than Keras `fit`."""
        return self.replicas > 1 or self.cluster is not None

    @property
    def is_chief(self) -> bool:
        return self.cluster is None or self.cluster.is_chief

    def scope(self) -> Any:
        """The context in which models, layers and optimizers of this placement are built."""
        return self.strategy.scope() if self.strategy is not None else nullcontext()

    def inference_device(self) -> Any:
        """Where one-off inference runs (computing the feature cache): this worker's first device. Under a single
        machine's strategy that device is named, since it need not be the one TensorFlow picks by itself."""
        if self.kind not in ("OneDeviceStrategy", "MirroredStrategy"):
            return nullcontext()  # TensorFlow's own pick is this worker's first device
        import tensorflow as tf

        return tf.device(f"/{self.devices[0].name}")

    def jit_compile(self) -> bool | str:
        """compile's jit_compile: off with several replicas (Keras does the same), else as asked or Keras's auto.

        Auto on CPU too: measured here, XLA made finetune's top-blocks phase about 1.1x faster on CPU (4.6 s vs 5.2 s).
        """
        if self.replicated:
            return False
        return "auto" if self.xla is None else bool(self.xla)

    def describe(self) -> str:
        """The one-line placement report printed before training."""
        names = ", ".join(device.name for device in self.devices)
        where = f"{self.cluster.describe()}, each on {names}" if self.cluster else names
        xla = {True: "on", False: "off", "auto": "auto (on where every layer supports it)"}[self.jit_compile()]
        if self.replicated and self.xla:
            xla += " (not used with several replicas)"
        line = (
            f"placement: {self.kind} on {where}; {self.replicas} replica{'s' if self.replicas != 1 else ''}, "
            f"precision {self.precision}, XLA {xla}, global batch {self.global_batch}"
        )
        if self.replicas > 1:
            scaled = f"x{self.lr_factor:.3g} ({self.lr_rule} rule)" if self.lr_rule != "none" else "not scaled"
            line += f" ({self.batch_size} per replica), learning rates {scaled}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """What report.json and the run card record of the placement."""
        return {
            "strategy": self.kind,
            "devices": [device.name for device in self.devices],
            "device_models": [device.model for device in self.devices if device.model],
            "replicas": self.replicas,
            "workers": self.cluster.workers if self.cluster else 1,
            "chief": self.is_chief,
            "precision": self.precision,
            "xla": self.jit_compile(),
            "global_batch": self.global_batch,
            "batch_per_replica": self.batch_size,
            "lr_factor": self.lr_factor,
            "lr_rule": self.lr_rule,
            "text": self.describe(),
        }


def place(
    device: str | None = None,
    *,
    precision: str = "auto",
    xla: bool | None = None,
    batch_size: int = 32,
    lr_scaling: str = "sqrt",
) -> Placement:
    """The placement for `device` (None: $ZOO_DEVICE, else "auto") in this process's cluster, if any.

    `batch_size` is per replica; `lr_scaling` ("sqrt", "linear" or "none") says how learning rates grow with the
    replicas. Call it before building any model when training on several machines.
    """
    if lr_scaling not in LR_RULES:
        raise BadDevice(f"lr_scaling {lr_scaling!r} is not known; use one of {', '.join(LR_RULES)}")
    if batch_size < 1:
        raise BadDevice(f"batch_size must be at least 1, got {batch_size}")
    spec, cluster = parse_device(device), cluster_from_env()
    key = (cluster,) if cluster is not None else (spec.kind, spec.devices)  # one multi-worker strategy: the first
    if key not in _STRATEGIES:
        _STRATEGIES[key] = make_strategy(spec, cluster)
    strategy, kind, devices = _STRATEGIES[key]
    replicas = int(strategy.num_replicas_in_sync) if strategy is not None else 1
    policy = choose_precision(precision, devices)
    return Placement(strategy, kind, devices, replicas, policy, xla, batch_size, lr_scaling, cluster)


def make_strategy(spec: DeviceSpec, cluster: Cluster | None) -> tuple[Any, str, tuple[DeviceInfo, ...]]:
    """(strategy or None, its name, the local devices it uses) for the spec on this machine or cluster."""
    import tensorflow as tf

    if cluster is not None:
        devices = restrict_to(spec)  # before the strategy starts TensorFlow: it then sees only these
        return multi_worker_strategy(cluster), "MultiWorkerMirroredStrategy", devices
    if spec.kind == "tpu" or (spec.kind == "auto" and tpu_hinted()):
        found = tpu_strategy(spec)
        if found is not None:
            return found
    available = local_devices()
    names = select_devices(spec, available, cuda_built())
    devices = tuple(device for name in names for device in available if device.name == name)
    default = next((d for d in available if d.type == "GPU"), available[0])  # where TensorFlow puts work itself
    if devices == (default,):
        return None, "one device", devices
    if names not in _LOCAL:  # one strategy per set of devices: two over the same devices would mix up collectives
        paths = [f"/{name}" for name in names]
        _LOCAL[names] = (
            tf.distribute.MirroredStrategy(paths) if len(names) > 1 else tf.distribute.OneDeviceStrategy(paths[0])
        )
    return _LOCAL[names], "MirroredStrategy" if len(names) > 1 else "OneDeviceStrategy", devices


def restrict_to(spec: DeviceSpec) -> tuple[DeviceInfo, ...]:
    """Make only the GPUs `spec` asks for visible to this worker (none for cpu); returns the devices it trains on."""
    import tensorflow as tf

    from zoo.hardware.devices import enable_memory_growth

    enable_memory_growth()
    gpus = tf.config.list_physical_devices("GPU")
    physical = [DeviceInfo("CPU:0", "CPU")] + [DeviceInfo(f"GPU:{i}", "GPU") for i in range(len(gpus))]
    if spec.kind == "tpu" or any(not name.startswith("GPU") for name in spec.devices):
        raise BadDevice(
            f"device {spec.text!r} cannot be used for multi-worker training; each worker takes auto, cpu, gpu, "
            "gpu:N, all, or a list of its GPUs (gpu:0,gpu:1)"
        )
    if spec.kind == "cpu":
        chosen: tuple[str, ...] = ()
    elif spec.kind == "auto":
        chosen = tuple(device.name for device in physical[1:])
    else:
        chosen = select_devices(spec, physical, cuda_built())
    tf.config.set_visible_devices([gpus[int(name.split(":")[1])] for name in chosen], "GPU")
    return tuple(DeviceInfo(f"GPU:{i}", "GPU") for i in range(len(chosen))) or (physical[0],)


def tpu_strategy(spec: DeviceSpec) -> tuple[Any, str, tuple[DeviceInfo, ...]] | None:
    """TPUStrategy over the attached TPU; None under auto when none answers, an error when "tpu" was asked."""
    import tensorflow as tf

    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        if spec.kind == "auto":
            return None
        raise unavailable(spec, f"no TPU answered ({error})", local_devices(), cuda_built()) from None
    devices = tuple(DeviceInfo(d.name.split("device:")[-1], "TPU") for d in tf.config.list_logical_devices("TPU"))
    return tf.distribute.TPUStrategy(resolver), "TPUStrategy", devices


def placed_model(model: keras.Model, placement: Placement) -> keras.Model:
    """`model` when it was built on this placement; otherwise a copy built under its strategy and precision (the
    outputs stay float32), holding the same weights."""
    if holds(placement, model):
        return model
    config = model.get_config()
    if placement.precision != precision_of(model):
        config = with_precision(config, placement.precision, {layer.name for layer in output_layers(model)})
    with placement.scope():
        copy = model.__class__.from_config(config)
        copy.set_weights(model.get_weights())
    remember(copy, placement)
    return copy


def remember(model: keras.Model, placement: Placement) -> None:
    """Note that `model` was built on `placement`, so finetune trains it as it is instead of a copy."""
    _PLACED[model] = (id(placement.strategy), placement.precision)


def holds(placement: Placement, model: keras.Model) -> bool:
    built_on = _PLACED.get(model)
    if built_on is not None:
        return built_on == (id(placement.strategy), placement.precision)
    return placement.strategy is None and precision_of(model) == placement.precision
