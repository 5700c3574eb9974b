"""`python -m zoo.bench gpu [--tiny] [--json] [--out benchmarks/]`: every GPU path of zoo measured in one command.

Steps, in order, each in its own process under its own time limit and the run's total budget, so a hang or crash
of one loses nothing else: finetune against the Keras guide's script (images/s, both phases), the input-wait
share, float32 against mixed float16 (forward and training images/s), a mixed-precision finetune against a float32
one (accuracy, NaN, BatchNorm pinning), `zoo predict`'s runtime choice against the others, and 2-replica
MirroredStrategy. Each step ends "ok" with its figures, "skipped: why", "timed out after N s" or "failed: error".
The raw JSON is written to OUT/gpu-<date>-<device>.json; zoo.bench.gpu.table renders the README's table from it.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.bench.gpu.steps import NEEDS_NO_TENSORFLOW
from zoo.hardware.devices import nvidia_gpus
from zoo.version import __version__

KIND = "zoo-bench-gpu"  # the JSON's "kind": zoo.bench.gpu.table refuses files without it
SCHEMA = 1
BUDGET_SECONDS = 540  # fits a 10-minute device run with TensorFlow's start-ups and the setup before it
TINY_BUDGET_SECONDS = 1800  # the tiny run took 5-8.5 minutes on a busy 2-core CPU: its limits only guard against hangs
TINY = 600  # seconds per tiny step (the slowest took 200 s there)


@dataclass(frozen=True)
class Step:
    """A step's name (steps.run_step), its time limit at full size and in the tiny run, and what it measures."""

    name: str
    seconds: int
    tiny_seconds: int
    what: str


STEPS = (
    Step("finetune_guide", 110, TINY, "zoo finetune vs the Keras guide script, images/s per phase"),
    Step("input_wait", 50, TINY, "share of a training step waiting for input"),
    Step("precision", 100, TINY, "float32 vs mixed float16, forward and training images/s"),
    Step("mixed_finetune", 120, TINY, "mixed precision vs float32 finetune: accuracy, NaN, BatchNorm"),
    Step("predict", 100, TINY, "zoo predict's runtime choice vs the other runtimes, 256 files"),
    Step("mirrored", 60, TINY, "2-replica MirroredStrategy vs 1 replica"),
)


def backend_for(step: str) -> str | None:
    """The Keras backend a step runs on: TensorFlow where it is installed, else JAX for the steps that need no
    TensorFlow; None when neither fits (the step is skipped)."""
    if importlib.util.find_spec("tensorflow") is not None:
        return "tensorflow"
    if step in NEEDS_NO_TENSORFLOW and importlib.util.find_spec("jax") is not None:
        return "jax"
    return None


def run_step(step: Step, tiny: bool, seconds: float) -> dict[str, Any]:
    """The step in a fresh Python process, at most `seconds`: its JSON line, or why there is none."""
    backend = backend_for(step.name)
    if backend is None:
        return {"status": "skipped: TensorFlow is not installed (and this step has no other backend)"}
    root = str(Path(__file__).resolve().parent.parent.parent)
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": path}
    command = [sys.executable, "-m", "zoo.bench.gpu.steps", step.name, *(["--tiny"] if tiny else [])]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds, check=False)
    except subprocess.TimeoutExpired as stopped:
        said = stopped.stderr.decode(errors="replace") if isinstance(stopped.stderr, bytes) else stopped.stderr or ""
        last = (said.strip().splitlines() or ["nothing"])[-1][:300]
        return {"status": f"timed out after {seconds:.0f} s", "backend": backend, "last_line": last}
    elapsed = round(time.perf_counter() - started, 1)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed: {error[:300]}", "seconds": elapsed, "backend": backend}
    result = json.loads(lines[-1])
    if "skipped" in result:
        return {"status": f"skipped: {result['skipped']}", "seconds": elapsed, "backend": backend}
    return {"status": "ok", "seconds": elapsed, "backend": backend, "result": result}


def run(tiny: bool = False, budget: float | None = None, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every step (or those in `only`) in order within `budget` seconds; a step the budget cannot reach is skipped."""
    budget = budget or (TINY_BUDGET_SECONDS if tiny else BUDGET_SECONDS)
    clock = time.perf_counter()
    steps: dict[str, Any] = {}
    for step in STEPS:
        if only and step.name not in only:
            continue
        left = budget - (time.perf_counter() - clock)
        if left < 5:
            steps[step.name] = {"status": f"skipped: the run's {budget:.0f} s budget was spent"}
            continue
        print(f"[bench] gpu: {step.name} ({step.what})...", file=sys.stderr, flush=True)
        steps[step.name] = run_step(step, tiny, min(step.tiny_seconds if tiny else step.seconds, left))
    names = nvidia_gpus()
    return {
        "kind": KIND,
        "schema": SCHEMA,
        "zoo_version": __version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "device": names[0] if names and not tiny else "CPU",
        "gpus": names,
        "tiny": tiny,
        "cpus": len(os.sched_getaffinity(0)),
        "budget_seconds": budget,
        "seconds": round(time.perf_counter() - clock, 1),
        "steps": steps,
    }


def file_name(result: dict[str, Any]) -> str:
    """gpu-<date>-<device>.json, the device as a file-name-safe slug ("nvidia-h100-80gb-hbm3")."""
    device = re.sub(r"[^a-z0-9]+", "-", result["device"].lower()).strip("-") or "unknown"
    return f"gpu-{result['date']}-{device}{'-tiny' if result['tiny'] else ''}.json"


def write(result: dict[str, Any], folder: Path) -> Path:
    """The raw JSON into `folder` (created), written to a temporary name and renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(result)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path
