"""The replicated training loop on the CPU split into 2 logical devices (MirroredStrategy), in a fresh process
(tests/device_scripts.py replicas): it matches Keras `fit` on one replica, and BatchNorm + Dropout stay finite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from device_scripts import TOLERANCE

SCRIPT = Path(__file__).resolve().parents[1] / "device_scripts.py"


def script(command: str) -> dict:
    """The JSON that tests/device_scripts.py COMMAND prints last, in a fresh process with the CPU split in two."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), command], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def replicas() -> dict:
    return script("replicas")


def test_auto_stays_on_one_device_when_the_cpu_is_split(replicas):
    assert replicas["auto"] == (
        "placement: one device on CPU:0; 1 replica, precision float32, XLA auto (on where every layer supports it), "
        "global batch 32"
    )


def test_two_replicas_match_one_replica(replicas):
    """Same data, seed and global batch (1 x 32 against 2 x 16), no dropout or BatchNorm: what differs is only the
    order of float32 sums, so the weights agree to TOLERANCE and the per-epoch losses to 1e-6."""
    match = replicas["match"]
    assert match["lines"][1] == (
        "placement: MirroredStrategy on CPU:0, CPU:1; 2 replicas, precision float32, XLA off, global batch 32 "
        "(16 per replica), learning rates not scaled"
    )
    assert match["max_weight_difference"] < TOLERANCE
    np.testing.assert_allclose(*match["loss"], rtol=1e-6)
    np.testing.assert_allclose(*match["val_loss"], rtol=1e-6)
    assert match["loss"][0][-1] < match["loss"][0][0]  # it did learn


def test_batchnorm_and_dropout_keep_a_finite_loss_on_two_replicas(replicas):
    """keras-team/keras#20611 (Dropout under MirroredStrategy) and #21172 (NaN on several GPUs): the last batch of
    each epoch has one row, so one replica gets none; its NaN batch statistics must not reach the model."""
    run = replicas["batchnorm"]
    assert all(np.isfinite(run["loss"] + run["val_loss"])) and run["weights_finite"]
    assert run["loss"][-1] < run["loss"][0]
    assert run["moving_statistics"] == 4 and run["replicas_agree"]  # 2 BatchNorm layers: mean and variance each


@pytest.mark.slow  # 18-25 s: a second process of its own; the replicated loop itself is covered above
def test_a_backbone_fine_tunes_on_two_replicas():
    """Cached trunk features (one device) feed the replicated head phase; the top blocks then train replicated."""
    run = script("transfer")
    assert run["phases"] == ["head", "top blocks"] and run["global_batch"] == 16
    assert all(np.isfinite(run["loss"])) and run["head_changed"]
