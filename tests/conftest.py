"""Shared fixtures: tiny inputs and targets made from an entry's own input spec."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The longest files (30-60 s each on 2 cores, from `--durations`) are handed out first, so that `--dist loadfile` does
# not leave one worker running a long file alone at the end (one full run each way: 752 s first, 818 s in file order).
LONGEST_FIRST = (
    "tests/kaggle/test_kaggle_bundle.py",
    "tests/hardware/test_replicated_loop.py",
    "tests/kaggle/test_kaggle_end_to_end.py",
    "tests/test_docs_examples.py",
    "tests/training/test_faults.py",
    "tests/kaggle/test_kaggle_training.py",
    "tests/training/test_run.py",
    "tests/recipes/test_backbones.py",
    "tests/kaggle/test_kaggle_pixels.py",
    "tests/loading/test_hub.py",
    "tests/hardware/test_cluster.py",
    "tests/recipes/test_catalogue_sweep.py",
    "tests/training/test_run_catalogue.py",
)


def pytest_collection_modifyitems(items: list) -> None:
    """Longest files first (a stable sort: the order within a file, and among the other files, is kept)."""
    rank = {path: index for index, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture(autouse=True, scope="session")
def image_store(tmp_path_factory):
    """Decoded-image stores (zoo.data.decoding.store) of the whole run go to one temporary folder, never the
    user's cache."""
    os.environ["ZOO_IMAGE_STORE"] = str(tmp_path_factory.mktemp("image-store"))


def tiny_inputs(entry, batch: int = 4, seed: int = 0, hparams: dict | None = None) -> np.ndarray:
    """A small batch that fits the entry's input spec: token ids for int inputs, values in [0, 1) otherwise."""
    hparams = {**entry.hparams, **(hparams or {})}
    rng = np.random.default_rng(seed)
    shape = (batch, *tuple(hparams.get("input_shape", entry.input_shape)))
    if entry.input_dtype.startswith("int"):
        return rng.integers(1, hparams["vocab_size"], size=shape).astype(entry.input_dtype)
    return rng.random(shape).astype(entry.input_dtype)


def tiny_targets(entry, model, x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Targets of the entry's task: class ids, floats shaped like the output, or the input itself."""
    rng = np.random.default_rng(seed)
    if entry.task == "reconstruction":
        return x
    output_shape = (len(x), *model.output_shape[1:])
    if entry.task == "regression":
        return rng.random(output_shape).astype("float32")
    return rng.integers(0, output_shape[-1], size=len(x))
