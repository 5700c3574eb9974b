"""Repeatable runs: one seed for every generator, and run_card.json recording what a run needs to be repeated."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.results.run_card import data_fingerprint, write_run_card
from zoo.training.seeding import seed_everything


def draws() -> tuple:
    return random.random(), float(np.random.rand()), float(tf.random.uniform(())), float(keras.random.uniform(()))


def test_one_seed_repeats_python_numpy_tensorflow_and_keras_draws():
    seed_everything(7)
    first = draws()
    seed_everything(7)
    assert draws() == first
    seed_everything(8)
    assert all(a != b for a, b in zip(draws(), first, strict=True))


def test_deterministic_turns_on_tensorflow_op_determinism():
    from tensorflow.python.framework import config  # the public API can enable it but neither read nor undo it

    assert not config.is_op_determinism_enabled()
    try:
        seed_everything(0, deterministic=True)
        assert config.is_op_determinism_enabled()
    finally:
        config.disable_op_determinism()  # process-wide: other tests must not inherit it


def test_run_card_records_config_versions_machine_devices_data_and_times(tmp_path):
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    config = {"model": "tiny", "epochs": 3, "seed": 11, "out": tmp_path}
    data = data_fingerprint(["b.png", "a.png"])
    path = write_run_card(tmp_path / "run", config, data, extra={"note": "test"}, started=started)
    assert path == tmp_path / "run" / "run_card.json"
    card = json.loads(path.read_text())
    assert card["config"] == {**config, "out": str(tmp_path)} and card["seed"] == 11 and card["note"] == "test"
    versions = card["versions"]
    assert versions["keras"] == keras.version() and versions["numpy"] == np.__version__
    assert versions["tensorflow"] == tf.__version__ and versions["zoo"] == zoo.__version__
    assert versions["python"].count(".") == 2 and versions["pillow"]
    assert card["platform"]["cpus"] >= 1 and card["platform"]["system"]
    assert {"name": "/physical_device:CPU:0", "type": "CPU"} in card["devices"]
    assert card["data"] == data_fingerprint(["a.png", "b.png"])
    assert card["started"] == "2025-01-02T03:04:05+00:00"
    assert datetime.fromisoformat(card["finished"]) > started


def test_file_listing_hash_ignores_order_and_sees_a_renamed_file():
    listing = data_fingerprint(["cats/1.jpg", "dogs/2.jpg"])
    assert listing["count"] == 2 and listing["of"] == "sorted file listing"
    assert data_fingerprint(["dogs/2.jpg", "cats/1.jpg"]) == listing
    assert data_fingerprint(["cats/1.jpg", "dogs/3.jpg"])["sha256"] != listing["sha256"]


def test_array_hash_sees_values_dtype_and_shape_and_files_take_precedence():
    x, y = np.arange(12, dtype=np.uint8).reshape(3, 4), np.array([0, 1, 0])
    base = data_fingerprint(None, [x, y])["sha256"]
    assert data_fingerprint(None, [x.copy(), y.copy()])["sha256"] == base
    changed = x.copy()
    changed[0, 0] = 99
    assert data_fingerprint(None, [changed, y])["sha256"] != base
    assert data_fingerprint(None, [x.astype(np.int8), y])["sha256"] != base
    assert data_fingerprint(None, [x.reshape(4, 3), y])["sha256"] != base
    assert data_fingerprint(["a"], [x, y])["of"] == "sorted file listing"
    assert data_fingerprint(None)["sha256"] is None


def test_seed_defaults_to_the_config_and_arrays_are_hashed_without_files(tmp_path):
    card = json.loads(write_run_card(tmp_path, {"seed": 3}, data_fingerprint(None, [np.zeros(4)]), seed=5).read_text())
    assert card["seed"] == 5 and card["data"]["of"] == "array bytes" and card["data"]["count"] == 4


def test_extra_fields_may_not_replace_measured_ones(tmp_path):
    with pytest.raises(ValueError, match=r"\['versions'\] would replace measured ones"):
        write_run_card(tmp_path, {}, data_fingerprint(None), extra={"versions": "mine"})


def test_array_fingerprints_hash_a_store_in_chunks_with_the_same_digest(tmp_path):
    import hashlib
    import tracemalloc

    x = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="w+", shape=(1000, 64, 64, 3))  # 12.3 MB
    x[:] = (np.arange(1000) % 251).astype(np.uint8)[:, None, None, None]
    y = np.arange(1000) % 3
    whole = hashlib.sha256()
    for array in (x, y):
        whole.update(f"{array.dtype.str}{array.shape}".encode() + np.asarray(array).tobytes())
    tracemalloc.start()
    found = data_fingerprint(None, (x, y))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found["sha256"] == whole.hexdigest() == data_fingerprint(None, (np.array(x), y))["sha256"]
    assert peak < x.nbytes / 2, f"{peak} bytes at the peak for a {x.nbytes}-byte array"
