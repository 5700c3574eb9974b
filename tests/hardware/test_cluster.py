"""zoo.hardware.cluster: TF_CONFIG and SLURM read, who writes, and two worker processes on 127.0.0.1 fine-tuning one
model together (tests/device_scripts.py worker)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from finetune_data import shape_folder

from zoo.errors import BadDevice, WorkerLost
from zoo.hardware.cluster import Cluster, cluster_from_env, lost_workers_reported, worker_cache_dir, worker_output

SCRIPT = Path(__file__).resolve().parents[1] / "device_scripts.py"


def tf_config(cluster: dict, task_type: str = "worker", index: int = 0) -> dict[str, str]:
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_tf_config_workers_and_the_chief():
    two = {"worker": ["a:1", "b:1"]}
    assert cluster_from_env(tf_config(two, index=0)) == Cluster("TF_CONFIG", 2, "worker", 0, True)
    assert cluster_from_env(tf_config(two, index=1)) == Cluster("TF_CONFIG", 2, "worker", 1, False)
    chief = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    assert cluster_from_env(tf_config(chief, "chief", 0)).is_chief
    assert not cluster_from_env(tf_config(chief, "worker", 0)).is_chief  # worker 0 is not the chief when one is named
    assert cluster_from_env(tf_config(chief, "worker", 1)).workers == 3


def test_one_task_or_no_setting_is_a_single_machine():
    assert cluster_from_env(tf_config({"worker": ["a:1"]})) is None
    assert cluster_from_env({}) is None
    assert cluster_from_env({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "1", "SLURM_PROCID": "0"}) is None


def test_a_slurm_job_step_of_several_tasks():
    env = {"SLURM_JOB_ID": "7", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "2"}
    assert cluster_from_env(env) == Cluster("SLURM", 4, "worker", 2, False)
    assert cluster_from_env({**env, "SLURM_PROCID": "0"}).is_chief


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TF_CONFIG": "{not json"}, "TF_CONFIG cannot be read .*; it must look like"),
        ({"TF_CONFIG": '{"cluster": {}}'}, "TF_CONFIG cannot be read"),
        (tf_config({"worker": ["a:1"], "ps": ["b:1"]}), "TF_CONFIG has 'ps' tasks; zoo trains data-parallel"),
        (tf_config({"worker": ["a:1", "b:1"]}, "evaluator"), "TF_CONFIG has 'evaluator' tasks"),
        (tf_config({"worker": ["a:1", "b:1"]}, index=2), "task is worker 2 but its cluster has no such task"),
    ],
)
def test_bad_tf_config_is_refused(env, message):
    with pytest.raises(BadDevice, match=message):
        cluster_from_env(env)


def test_only_the_chief_writes_where_it_was_told(tmp_path):
    chief, other = Cluster("TF_CONFIG", 2, "worker", 0, True), Cluster("TF_CONFIG", 2, "worker", 1, False)
    with worker_output(tmp_path / "out", chief) as folder:
        assert folder == tmp_path / "out"
    with worker_output(tmp_path / "out", other) as folder:
        assert folder != tmp_path / "out" and folder.is_dir()
        (folder / "report.json").write_text("{}")
    assert not folder.exists()  # the non-chief's outputs were temporary
    with worker_output(None, other) as folder:
        assert folder is None
    assert worker_cache_dir(tmp_path, other) == tmp_path / "worker1" and worker_cache_dir(tmp_path, None) == tmp_path


def test_a_worker_that_went_away_is_reported_in_one_line():
    import tensorflow as tf

    cluster = Cluster("TF_CONFIG", 2, "worker", 1, False)
    with pytest.raises(WorkerLost, match=r"another worker of this 2-worker run stopped .*\(Socket closed\); read"):
        with lost_workers_reported(cluster):
            raise tf.errors.UnavailableError(None, None, "Socket closed")
    with pytest.raises(tf.errors.UnavailableError):  # on a single machine TensorFlow's own error stands
        with lost_workers_reported(None):
            raise tf.errors.UnavailableError(None, None, "Socket closed")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_one_model_and_only_the_chief_writes(tmp_path):
    data = shape_folder(tmp_path / "shapes", per_class=10, size=16)
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    addresses = [f"127.0.0.1:{port}" for port in free_ports(2)]
    workers = []
    for index in range(2):
        env = {**os.environ, **tf_config({"worker": addresses}, index=index), "TMPDIR": str(scratch)}
        command = [sys.executable, str(SCRIPT), "worker", str(data), str(out), str(tmp_path / f"weights{index}.npz")]
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    chief, other = (json.loads(output.strip().splitlines()[-1]) for output in outputs)
    assert chief["placement"]["strategy"] == "MultiWorkerMirroredStrategy" and chief["placement"]["replicas"] == 2
    assert chief["placement"]["global_batch"] == 16 and chief["placement"]["chief"] and not other["placement"]["chief"]
    assert chief["loss"] == other["loss"] and all(np.isfinite(chief["loss"]))
    with np.load(tmp_path / "weights0.npz") as first, np.load(tmp_path / "weights1.npz") as second:
        assert len(first.files) == 12  # BatchNorm moving statistics included: the workers averaged them
        assert all(np.array_equal(first[name], second[name]) for name in first.files)
    assert chief["out_dir"] == str(out) and other["out_dir"] == "None"
    report = json.loads((out / "report.json").read_text())
    assert report["placement"]["workers"] == 2 and (out / "model.keras").exists()
    assert not list(scratch.iterdir())  # the non-chief's temporary folder is gone
