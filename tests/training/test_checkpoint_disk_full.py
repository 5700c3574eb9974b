"""Writes on a full disk without a mount (a write refused with ENOSPC): checkpoints, memory maps, feature caches;
and older checkpoints' weights."""

from __future__ import annotations

import errno
import os

import keras
import numpy as np
import pytest

from zoo.data.decoding.rows import new_memmap
from zoo.training import checkpoints
from zoo.training.checkpoints import LEGACY_WEIGHTS, WEIGHTS, CheckpointFolder
from zoo.training.feature_cache import feature_array


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
    model.compile("adam", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 3)), epochs=1, verbose=0)  # builds the optimizer's variables
    return model


def state(epoch: int) -> dict:
    return {"phase": 0, "epoch": epoch, "done": False, "fingerprint": {}}


def test_a_full_disk_during_a_save_leaves_the_previous_checkpoint_and_no_partial(tmp_path, monkeypatch):
    model = small_model(0)
    folder = CheckpointFolder(tmp_path)
    first = folder.save(model, model.optimizer, state(1), best_weights=model.get_weights())
    written = []

    def write_array(member, array, **options):
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(array)
        np.save(member, array)

    monkeypatch.setattr(np.lib.format, "write_array", write_array)
    with pytest.raises(OSError) as raised:
        folder.save(model, model.optimizer, state(2))
    assert raised.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert not list((tmp_path / "checkpoints").glob(".partial-*"))
    fresh = small_model(1)
    assert folder.latest_valid(fresh).folder == first
    for restored, original in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(restored, original)
    assert checkpoints.load_best_weights(folder.saved()[0]) is not None


def test_weights_of_another_architecture_are_passed_over(tmp_path):
    model = small_model(0)
    CheckpointFolder(tmp_path).save(model, None, state(1))
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5)])
    assert CheckpointFolder(tmp_path).latest_valid(other) is None


def test_a_checkpoint_of_an_older_zoo_with_keras_weights_still_resumes(tmp_path):
    model = small_model(0)
    saved = CheckpointFolder(tmp_path).save(model, None, state(1))
    (saved / WEIGHTS).unlink()
    model.save_weights(saved / LEGACY_WEIGHTS)
    fresh = small_model(1)
    assert CheckpointFolder(tmp_path).latest_valid(fresh).folder == saved
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def refuse_allocation(monkeypatch) -> None:
    def posix_fallocate(descriptor, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", posix_fallocate)


@pytest.mark.parametrize("npy", [False, True])
def test_a_memory_map_without_room_is_an_os_error_and_no_file(tmp_path, monkeypatch, npy):
    refuse_allocation(monkeypatch)
    with pytest.raises(OSError) as raised:
        new_memmap(tmp_path / "rows.u8", np.uint8, (100, 8), npy=npy)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "rows.u8")
    assert not list(tmp_path.iterdir())


def test_a_feature_cache_without_room_stops_before_computing(tmp_path, monkeypatch):
    refuse_allocation(monkeypatch)
    images = keras.Input((4, 4, 3))
    extractor = keras.Model(images, keras.layers.GlobalAveragePooling2D()(images))
    with pytest.raises(OSError, match="No space left"):
        feature_array(extractor, np.zeros((6, 4, 4, 3), np.uint8), path=tmp_path / "features.npy")
    assert not (tmp_path / "features.npy").exists()
