"""Training on several machines: the cluster this process belongs to (TF_CONFIG or a SLURM allocation), its
strategy, and where each worker writes.

Every worker runs the same command (`zoo finetune ...` with its own TF_CONFIG) and trains one model together: batches
are split across workers and gradients summed across them each step (zoo.hardware.replicated_loop). The chief (the
"chief" task, else worker 0) writes the outputs; the other workers write theirs to a temporary folder that is removed,
so a folder shared between machines holds one run.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import BadDevice, WorkerLost

TF_CONFIG_EXAMPLE = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'


@dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker run."""

    source: str  # "TF_CONFIG" or "SLURM"
    workers: int  # tasks that train (chief included)
    task_type: str  # "chief" or "worker"
    task_index: int
    is_chief: bool

    def describe(self) -> str:
        role = "chief" if self.is_chief else "not chief"
        return f"{self.workers} workers ({self.source}), this is {self.task_type} {self.task_index} ({role})"


def cluster_from_env(env: Mapping[str, str] = os.environ) -> Cluster | None:
    """The cluster TF_CONFIG (or else a SLURM job step of several tasks) describes; None on a single machine."""
    if env.get("TF_CONFIG"):
        return cluster_from_tf_config(env["TF_CONFIG"])
    tasks = env.get("SLURM_STEP_NUM_TASKS") or env.get("SLURM_NTASKS") or "1"
    if env.get("SLURM_JOB_ID") and "SLURM_PROCID" in env and tasks.isdigit() and int(tasks) > 1:
        index = int(env["SLURM_PROCID"])
        return Cluster("SLURM", int(tasks), "worker", index, index == 0)
    return None


def cluster_from_tf_config(text: str) -> Cluster | None:
    """TF_CONFIG read and checked: chief and worker tasks only; None when it lists a single task."""
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, task_index = str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise BadDevice(f"TF_CONFIG cannot be read ({error}); it must look like {TF_CONFIG_EXAMPLE}") from None
    other = sorted(set(cluster) - {"chief", "worker"})
    if other or task_type not in ("chief", "worker"):
        raise BadDevice(
            f"TF_CONFIG has {', '.join(other) or task_type!r} tasks; zoo trains data-parallel on chief and worker "
            f"tasks only (MultiWorkerMirroredStrategy): list every machine under 'worker', e.g. {TF_CONFIG_EXAMPLE}"
        )
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    if task_index >= len(cluster.get(task_type, [])):
        raise BadDevice(f"TF_CONFIG's task is {task_type} {task_index} but its cluster has no such task: {text}")
    if workers < 2:
        return None
    is_chief = task_type == "chief" or (task_type == "worker" and task_index == 0 and not cluster.get("chief"))
    return Cluster("TF_CONFIG", workers, task_type, task_index, is_chief)


def multi_worker_strategy(cluster: Cluster) -> Any:
    """MultiWorkerMirroredStrategy for `cluster`; it must be made before TensorFlow runs anything in this process."""
    import tensorflow as tf

    resolver = (
        tf.distribute.cluster_resolver.TFConfigClusterResolver()
        if cluster.source == "TF_CONFIG"
        else tf.distribute.cluster_resolver.SlurmClusterResolver()
    )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except RuntimeError as error:  # "Collective ops must be configured at program startup"
        raise BadDevice(
            f"{cluster.source} asks for multi-worker training, but TensorFlow was already running in this process "
            f"({error}): choose the placement before building any model: zoo.load(NAME, device=...) or "
            "zoo.hardware.placement.place() first (the zoo command does this itself)"
        ) from None


@contextmanager
def worker_output(out_dir: Path | None, cluster: Cluster | None) -> Iterator[Path | None]:
    """Where this process writes: `out_dir` on the chief (or a single machine), a temporary folder elsewhere."""
    if cluster is None or cluster.is_chief or out_dir is None:
        yield out_dir
        return
    with tempfile.TemporaryDirectory(prefix=f"zoo-{cluster.task_type}{cluster.task_index}-") as folder:
        yield Path(folder)


def worker_cache_dir(cache_dir: str | Path | None, cluster: Cluster | None) -> str | Path | None:
    """Each worker's own sub-folder of a shared feature-cache folder: workers on one machine must not share files."""
    if cache_dir is None or cluster is None:
        return cache_dir
    return Path(cache_dir) / f"{cluster.task_type}{cluster.task_index}"


@contextmanager
def lost_workers_reported(cluster: Cluster | None) -> Iterator[None]:
    """Turn TensorFlow's error for a peer that went away (it failed, or was stopped) into one line saying so."""
    if cluster is None:
        yield
        return
    import tensorflow as tf

    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
        cause = " ".join(str(error).split())[:300]
        raise WorkerLost(
            f"another worker of this {cluster.workers}-worker run stopped or cannot be reached ({cause}); read its "
            "output for the reason, then start every worker again"
        ) from None
