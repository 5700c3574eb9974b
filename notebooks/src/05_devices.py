# %% [markdown]
# # 5. Devices and scale-out
#
# `finetune` decides where it trains before it builds anything: the devices (`device=`, `--device` or `ZOO_DEVICE`),
# the strategy over them, the numeric precision, the global batch and how the learning rates grow with the replicas.
# It prints that decision in one line. This notebook runs on a CPU: it shows each decision, then trains one model on
# two replicas (the CPU split into two logical devices) and on two worker processes, as several GPUs or machines would.

# %%
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import zoo
from zoo.bench.finetune import Setting, digit_folders
from zoo.hardware.devices import DeviceInfo, local_devices
from zoo.errors import BadDevice
from zoo.hardware.placement import Placement, place
from zoo.hardware.precision import choose_precision

plt.rcParams["figure.dpi"] = 72  # small figures keep the notebook light
work = Path(tempfile.mkdtemp(prefix="zoo-devices-"))

# %% [markdown]
# ## What this machine has, and what `auto` picks
# `auto` takes a TPU if one is attached, else every local GPU (`MirroredStrategy`), else the one GPU, else the CPU.

# %%
for device in local_devices():
    print(device)
print(place("auto").describe())

# %% [markdown]
# ## Precision
# `precision="auto"` is a pure function of the device descriptions: mixed float16 on GPUs with tensor cores (compute
# capability 7.0 and up), mixed bfloat16 on TPUs, float32 elsewhere. The model's output layer always stays float32.

# %%
machines = {
    "a CPU": [DeviceInfo("CPU:0", "CPU")],
    "an A100 (CC 8.0)": [DeviceInfo("GPU:0", "GPU", "NVIDIA A100-SXM4-40GB", (8, 0))],
    "a GTX 1080 (CC 6.1)": [DeviceInfo("GPU:0", "GPU", "NVIDIA GeForce GTX 1080", (6, 1))],
    "a TPU": [DeviceInfo("TPU:0", "TPU")],
}
for name, devices in machines.items():
    print(f"{name:<20} -> {choose_precision('auto', devices)}")

# %% [markdown]
# ## A device that is not there
# Asked for before any model is built, with an error that lists what TensorFlow sees (the `zoo` command prints it as
# one `zoo: error: ...` line).

# %%
try:
    place("gpu:3")
except BadDevice as error:
    print(f"{type(error).__name__}: {error}")

# %% [markdown]
# ## Batch and learning rate with more replicas
# `batch_size` is per replica, so the global batch grows with the replicas, and the learning rates with it: by the
# square root by default (Adam normalises its step by the gradient's size, so SGD's linear rule overshoots), or
# `lr_scaling="linear"` or `"none"`.

# %%
rows = []
for replicas in (1, 2, 4, 8):
    sqrt = Placement(None, "MirroredStrategy", (), replicas, "float32", batch_size=32, lr_rule="sqrt")
    linear = replace(sqrt, lr_rule="linear")
    rows.append({"replicas": replicas, "global batch": sqrt.global_batch, "lr x (sqrt)": sqrt.lr_factor,
                 "head lr 1e-3 becomes": 1e-3 * sqrt.lr_factor, "lr x (linear)": linear.lr_factor})  # fmt: skip
pd.DataFrame(rows).set_index("replicas").round(5)

# %% [markdown]
# ## Two replicas against one
# Logical CPU devices must be set up before TensorFlow starts, and it has started in this kernel, so the run goes to
# a fresh Python process. It splits the CPU in two and fine-tunes `mlp_digits` on scikit-learn's digits twice, same
# seed and global batch: on one device (32 rows a step) and on `cpu:0,cpu:1` (16 rows per replica). On GPUs,
# `device="all"` takes every GPU the same way (on a CPU it is an error: it means every GPU). Dropout and BatchNorm are
# off here, since both depend on which rows a replica sees; without them two replicas compute what one does, up to
# float32 sums added in another order.

# %%
script = work / "replicas.py"
script.write_text(textwrap.dedent("""
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from sklearn.datasets import load_digits
    import zoo
    from zoo.hardware.devices import local_devices
    from zoo.training.run import finetune

    digits = load_digits()
    x, y = (digits.images[..., None] * 255 / 16).astype("uint8"), digits.target
    runs = {"devices": [d.name for d in local_devices()]}
    for device, batch in (("cpu", 32), ("cpu:0,cpu:1", 16)):
        keras.utils.set_random_seed(0)
        model = zoo.load("mlp_digits", dropout=0.0, batch_norm=False)
        result = finetune(model, (x[:600], y[:600]), validation=(x[600:900], y[600:900]), epochs=6, batch_size=batch,
                          augment=False, device=device, lr_scaling="none", verbose=False)
        runs[device] = {"line": result.placement.describe(), "history": result.history,
                        "weights": [w.tolist() for w in model.get_weights()]}
    print(json.dumps(runs))
"""))  # fmt: skip
done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
runs = json.loads(done.stdout.strip().splitlines()[-1])
print("devices in that process:", runs.pop("devices"))
for run in runs.values():
    print(run["line"])
one, two = runs.values()
difference = max(np.abs(np.array(a) - np.array(b)).max() for a, b in zip(one["weights"], two["weights"], strict=True))
print(f"largest weight difference after {len(one['history']['loss'])} epochs: {difference:.1e}")

# %%
figure, ax = plt.subplots(figsize=(5, 3))
for (device, run), style in zip(runs.items(), ("-", "--"), strict=True):
    for key, color in (("loss", "tab:blue"), ("val_loss", "tab:orange")):
        ax.plot(run["history"][key], style, color=color, label=f"{key}, device={device}")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy")
ax.legend(fontsize=8)
ax.set_title("1 replica (solid) and 2 replicas (dashed): the same curves")
plt.show()

# %% [markdown]
# ## Several machines
# Each machine runs the same command with its own `TF_CONFIG`: the same cluster, its own task. Here two worker
# processes on 127.0.0.1 stand in for two machines; each runs the worker of `tests/device_scripts.py` (placement
# first, then `mlp_digits` fine-tuned on a folder of 3 digit classes). They train one model together, and only the
# chief (worker 0) writes `out/`. The shell equivalent: `TF_CONFIG=... zoo finetune mlp_digits DATA --out OUT` on each.

# %%
sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
for s in sockets:
    s.close()
configs = [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}}) for i in range(2)]
for config in configs:
    print(f"TF_CONFIG='{config}'")

# %%
data, *_ = digit_folders(work / "digits", Setting(classes=3, per_class=20, image_size=8))
worker_script = Path(zoo.__file__).parents[1] / "tests" / "device_scripts.py"
workers = [
    subprocess.Popen(
        [sys.executable, str(worker_script), "worker", str(data), str(work / "out"), str(work / f"weights{i}.npz")],
        env={**os.environ, "TF_CONFIG": config}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    for i, config in enumerate(configs)
]  # fmt: skip
results = [json.loads(worker.communicate(timeout=300)[0].strip().splitlines()[-1]) for worker in workers]
for i, (worker, result) in enumerate(zip(workers, results, strict=True)):
    wrote = "out/" if result["out_dir"] == str(work / "out") else "a temporary folder, now removed"
    print(f"worker {i}: exit {worker.returncode}, wrote to {wrote}, losses per epoch {np.round(result['loss'], 4)}")
print(results[0]["placement"]["text"])
with np.load(work / "weights0.npz") as first, np.load(work / "weights1.npz") as second:
    print("identical weights on both workers:", all(np.array_equal(first[k], second[k]) for k in first.files))
print("out/:", sorted(path.name for path in (work / "out").iterdir()))

# %% [markdown]
# ## On a GPU
# `python -m zoo.bench devices` measures images per second of a plain Keras script against `finetune` on ResNet50 and
# EfficientNetB0, and the share of each step spent waiting for input. It needs a GPU (without one it says it skipped),
# so it is not run here.
