"""With a GPU present, the runtime of a converted model is chosen by measurement, once per model and GPU model.

On a CPU-only machine OpenVINO (then LiteRT) beats Keras (python -m zoo.bench predict), so zoo takes it without
measuring. A GPU can turn that around: Keras runs the model there while the fast runtimes stay on the CPU. So when
nvidia-smi lists a GPU, the converted runtime and Keras each run the same random batch, the faster is used, and the
choice is kept beside the model's card (<card>.choice.json, by GPU name; the card itself is left as converted), so
later runs on that machine take it without measuring again. The choice file is checked when read: anything but a
known runtime is measured again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from zoo.errors import BrokenSeal
from zoo.hardware.devices import nvidia_gpus
from zoo.sealed import read_sealed, write_sealed


class Runner(Protocol):
    """What is measured of zoo.results.runtime.Runner (named here without importing it: runtime imports this)."""

    runtime: str
    input_shape: tuple[int, int, int]
    run: Callable[[np.ndarray], np.ndarray]


R = TypeVar("R", bound=Runner)

MEASURE_BATCH = 32  # zoo predict's batch
MEASURE_PASSES = 3  # each runner's best of these, after one warm-up pass
RUNTIMES = ("openvino", "litert", "keras")


def choice_path(card_path: Path) -> Path:
    """Where the measured choices of a converted model are kept: beside its card."""
    return card_path.with_suffix(".choice.json")


def read_choices(path: Path) -> dict[str, Any]:
    """The measured choices by GPU name, checked against their seal; empty when absent, damaged or unreadable
    (measured again)."""
    if not path.exists():
        return {}
    try:
        choices = json.loads(read_sealed(path))
    except (OSError, ValueError, BrokenSeal):
        return {}
    return choices if isinstance(choices, dict) else {}


def remembered(choices: dict[str, Any], gpu: str) -> str | None:
    """The runtime measured fastest for this GPU; None when absent or damaged."""
    entry = choices.get(gpu)
    choice = entry.get("choice") if isinstance(entry, dict) else None
    return choice if choice in RUNTIMES else None


def images_per_second(runner: Runner, batch: np.ndarray) -> float:
    """`runner`'s best rate over MEASURE_PASSES calls on `batch`, after a warm-up call (tracing, allocation)."""
    runner.run(batch)
    best = float("inf")
    for _ in range(MEASURE_PASSES):
        started = time.perf_counter()
        runner.run(batch)
        best = min(best, time.perf_counter() - started)
    return len(batch) / max(best, 1e-9)


def choose_runner(
    compiled: R,
    keras_runner: Callable[[], R],
    card_path: Path,
    note: Callable[[str], None],
) -> R:
    """`compiled` without a GPU; with one, the faster of it and Keras, measured once and kept beside the card."""
    gpus = nvidia_gpus()
    if not gpus:
        return compiled
    gpu = gpus[0]
    path = choice_path(card_path)
    choices = read_choices(path)
    choice = remembered(choices, gpu)
    if choice is not None:
        return keras_runner() if choice == "keras" else compiled
    candidate = keras_runner()
    batch = np.random.default_rng(0).uniform(0, 255, (MEASURE_BATCH, *compiled.input_shape)).astype(np.float32)
    rates = {runner.runtime: images_per_second(runner, batch) for runner in (compiled, candidate)}
    choice = max(rates, key=rates.__getitem__)
    entry = {"choice": choice, "images_per_second": {name: round(rate, 1) for name, rate in rates.items()}}
    save_choices(path, {**choices, gpu: entry}, note)
    rates_text = ", ".join(f"{name} {rate:.0f}" for name, rate in rates.items())
    note(f"with {gpu} here, {choice} runs this model fastest (images/s on a batch of {MEASURE_BATCH}: {rates_text})")
    return candidate if choice == "keras" else compiled


def save_choices(path: Path, choices: dict[str, Any], note: Callable[[str], None]) -> None:
    """The choices written (temporary name, renamed); an unwritable cache only means measuring again."""
    try:
        write_sealed(path, json.dumps(choices, indent=1).encode(), made_by="zoo runtime choice")
    except OSError as error:
        note(f"cannot keep the measured runtime choice in {path} ({error.strerror}): it is measured again")
