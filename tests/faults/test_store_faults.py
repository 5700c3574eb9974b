"""Faults of the image store and the feature caches: damaged, deleted during a run, a full disk, a bad size cap,
Ctrl-C while a store is written. Afterwards no partial file is ever used and the next run works."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from finetune_data import shape_folder

from zoo.cli.main import main
from zoo.data import load_data
from zoo.data.decoding import store
from zoo.data.decoding.eviction import STORE_NAME
from zoo.sealed import check_tree
from zoo.training.feature_cache import feature_array

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def photos(tmp_path):
    return shape_folder(tmp_path / "photos", per_class=4, size=28)


def load(folder: Path):
    return load_data(folder, image_size=(16, 16), progress=False)


def the_store(root: Path) -> Path:
    (folder,) = [path for path in root.iterdir() if STORE_NAME.fullmatch(path.name)]
    return folder


def test_a_damaged_store_is_one_line_and_decoded_anew(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "stores"))
    expected = np.array(load(photos).x)
    pixels = the_store(tmp_path / "stores") / "images.u8"
    with open(pixels, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff" * 8)
    again = load(photos)
    lines = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert len(lines) == 1 and "decoding again" in lines[0] and str(pixels.parent) in lines[0]
    assert not again.x.flags.writeable
    np.testing.assert_array_equal(np.asarray(again.x), expected)


def test_a_store_deleted_during_a_run_keeps_serving_that_run_and_the_next_decodes_anew(photos, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "stores"))
    data = load(photos)
    expected = np.array(data.x)
    shutil.rmtree(the_store(tmp_path / "stores"))  # `zoo env --clear-image-store` or eviction by another run
    np.testing.assert_array_equal(np.asarray(data.x), expected)  # the open map keeps its pages (POSIX)
    np.testing.assert_array_equal(np.asarray(load(photos).x), expected)
    assert all(check.state == "good" for check in check_tree(the_store(tmp_path / "stores")))


def test_a_feature_cache_deleted_during_a_run_keeps_serving_that_run(tmp_path):
    image = keras.Input((8, 8, 3))
    extractor = keras.Model(image, keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(image)))
    images = np.random.default_rng(0).integers(0, 255, (6, 8, 8, 3)).astype(np.uint8)
    (tmp_path / "features").mkdir()
    cached = feature_array(extractor, images, batch_size=4, path=tmp_path / "features" / "f.npy")
    expected = np.array(cached)
    shutil.rmtree(tmp_path / "features")
    np.testing.assert_array_equal(np.asarray(cached), expected)


def test_a_store_on_a_disk_that_fills_after_the_door_is_one_os_error_and_no_partial_file(
    tmp_path, small_disk, monkeypatch
):
    big = shape_folder(tmp_path / "big", per_class=40, size=28)  # 120 images at 64x64x3: 1.5 MB, the disk 600 KB
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(small_disk / "stores"))
    monkeypatch.setattr(store, "require_room", lambda folder, needed, what: 10**12)  # filled after the door check
    with pytest.raises(OSError) as raised:
        load_data(big, image_size=(64, 64), progress=False)
    assert raised.value.errno == errno.ENOSPC
    left = [path for path in (small_disk / "stores").rglob("*") if path.is_file() and path.name != store.STORE_LOCK]
    assert not left  # no partial file left (the empty lock file stays, as a lock file does)


@pytest.mark.slow  # a fresh process that imports TensorFlow; the OSError itself is tested above, in-process
def test_the_cli_says_a_full_disk_in_one_line_when_the_store_cannot_be_written(tmp_path, small_disk, capsys):
    big = shape_folder(tmp_path / "big", per_class=250, size=28)  # lenet5 reads 32x32x1: 750 KB, the disk 600 KB
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_IMAGE_STORE": str(small_disk / "stores")}
    code = (
        "import sys, zoo.data.decoding.store as s, zoo.cli.main as m; "
        "s.require_room = lambda folder, needed, what: 10**12; sys.exit(m.main(sys.argv[1:]))"
    )
    argv = ["finetune", "lenet5", str(big), "--out", str(tmp_path / "run"), "--epochs", "1"]
    result = subprocess.run([sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, timeout=300)
    errors = [line for line in result.stderr.splitlines() if line.startswith("zoo: error:")]
    assert result.returncode == 2 and len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "disk is full" in errors[0]


def test_a_feature_cache_on_a_full_disk_is_one_os_error_and_no_partial_file(small_disk):
    image = keras.Input((8, 8, 3))
    extractor = keras.Model(image, keras.layers.Flatten()(image))  # 192 floats an image: 400 images, 300 KB a view
    images = np.zeros((400, 8, 8, 3), np.uint8)
    with pytest.raises(OSError) as raised:
        feature_array(extractor, images, batch_size=100, views=3, path=small_disk / "phase0_train.npy")
    assert raised.value.errno == errno.ENOSPC and not list(small_disk.iterdir())


@pytest.mark.parametrize("value", ["lots", "-1", "nan"])
def test_a_bad_store_cap_is_one_line_before_any_folder_is_made(photos, tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "stores"))
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", value)
    out = tmp_path / "run"
    argv = ["finetune", "lenet5", str(photos), "--out", str(out), "--epochs", "1", "--export", "keras"]
    assert main(argv) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "ZOO_IMAGE_STORE_MAX_GB must be a number of gigabytes" in errors[0], errors
    assert not out.exists() and not [p for p in (tmp_path / "stores").rglob("*") if p.is_file()]


def test_ctrl_c_while_a_store_is_written_leaves_nothing_that_is_used(tmp_path, monkeypatch):
    many = shape_folder(tmp_path / "many", per_class=30, size=28)
    stores = tmp_path / "stores"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_IMAGE_STORE": str(stores), "PYTHONUNBUFFERED": "1"}
    code = (  # each decode slowed down, so that Ctrl-C lands while the rows are written
        "import sys, time, zoo.data.decoding.store as s; real = s.scan_file\n"
        "def slow(path, options):\n    print('decoding', flush=True); time.sleep(0.05); return real(path, options)\n"
        "s.scan_file = slow\nfrom zoo.data import load_data\n"
        f"load_data({str(many)!r}, image_size=(16, 16), progress=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"decoding"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and b"KeyboardInterrupt" in err
    left = [path.name for path in stores.rglob("*") if path.is_file() and path.name != store.STORE_LOCK]
    assert not left, left  # no partial rows, no store.json: nothing a later run could take for a store
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(stores))
    data = load_data(many, image_size=(16, 16), progress=False)
    assert len(data) == 90 and all(check.state == "good" for check in check_tree(the_store(stores)))
