"""The image store: decoded once, reused on a second load, invalidated by a changed file, never reused half-written."""

from __future__ import annotations

import os

import numpy as np
import pytest
from image_files import write_image

import zoo.data.decoding.store as store
from zoo.data import load_data, stratified_split
from zoo.data.decoding.scan import ScanOptions


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """Store in tmp_path; counts the files the store decodes."""
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "store"))
    calls = []
    real = store.scan_file

    def scan_file(path, options):
        calls.append(path)
        return real(path, options)

    monkeypatch.setattr(store, "scan_file", scan_file)
    return calls


def load(root):
    return load_data(root, image_size=(8, 8), progress=False)


def test_second_load_reuses_the_store_without_decoding(classes, counted):
    root = classes({"cat": 3, "dog": 4})
    first = load(root)
    assert len(counted) == 7
    second = load(root)
    assert len(counted) == 7  # nothing decoded again
    assert isinstance(second.x, np.memmap) and not second.x.flags.writeable
    np.testing.assert_array_equal(np.asarray(first.x), np.asarray(second.x))
    assert second.y.tolist() == first.y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert first.x.shape == (7, 8, 8, 3)


def test_a_changed_file_decodes_anew(classes, counted):
    root = classes({"cat": 3, "dog": 3})
    before = load(root)
    write_image(root / "dog" / "0.png", (12, 10), seed=99)
    os.utime(root / "dog" / "0.png", ns=(1, 1))  # a different mtime even on a coarse clock
    after = load(root)
    assert len(counted) == 12
    assert not np.array_equal(np.asarray(before.x[3]), np.asarray(after.x[3]))


def test_a_partial_store_is_not_reused(classes, counted):
    root = classes({"cat": 2, "dog": 2})
    load(root)
    (folder,) = [path for path in (store.store_root()).iterdir() if path.is_dir()]
    (folder / "store.json").unlink()  # what a decode killed before it finished leaves
    assert store.open_store(folder) is None
    again = load(root)
    assert len(counted) == 8 and len(again) == 4


def test_a_truncated_store_is_not_reused(classes, counted):
    root = classes({"cat": 2, "dog": 2})
    load(root)
    (folder,) = [path for path in store.store_root().iterdir() if path.is_dir()]
    os.truncate(folder / "images.u8", 10)
    assert len(load(root)) == 4 and len(counted) == 8


def test_skipped_files_are_remembered_by_the_store(classes, counted):
    root = classes({"cat": 3, "dog": 2})
    (root / "cat" / "broken.png").write_bytes(b"not an image")
    first, second = load(root), load(root)
    assert [item.file for item in second.skipped] == [item.file for item in first.skipped]
    assert len(second.skipped) == 1 and len(second) == 5 and len(counted) == 6


def test_split_of_a_store_stays_on_disk(classes, counted):
    data = load(classes({"cat": 6, "dog": 6}))
    train, validation = stratified_split(data, 0.25, seed=0)
    for part in (train, validation):
        assert isinstance(part.x, np.memmap) and part.x.filename is not None  # rows on disk, not read into RAM
    whole = {bytes(np.asarray(row)) for row in data.x}
    assert {bytes(np.asarray(row)) for row in train.x} | {bytes(np.asarray(row)) for row in validation.x} == whole
    assert np.array_equal(np.asarray(train.x[0]), np.asarray(data.x[data.files.index(train.files[0])]))


def test_not_enough_disk_is_one_clear_line(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: type("Usage", (), {"free": 10})())
    with pytest.raises(store.BadData, match=r"not enough disk for the image store \(100 images at 64x64x3\)"):
        store.plan_line(100, (64, 64), 3, tmp_path / "key")


def test_a_row_copy_that_does_not_fit_the_disk_is_refused_before_writing(tmp_path, monkeypatch):
    import shutil

    from zoo.data.decoding.rows import ROWS_LOCK, take_rows

    x = np.memmap(tmp_path / "images.u8", dtype=np.uint8, mode="w+", shape=(6, 4, 4, 3))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: type("Usage", (), {"free": 10})())
    with pytest.raises(store.BadData, match="not enough disk for a copy of 3 rows of images.u8 in .*: 0 MB needed"):
        take_rows(x, np.array([5, 0, 3]))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["images.u8", ROWS_LOCK]  # no partial copy


def test_a_file_rewritten_in_place_with_its_mtime_restored_decodes_anew(classes, counted):
    root = classes({"cat": 2, "dog": 2})
    path = write_image(root / "dog" / "same.bmp", (12, 10), seed=5, fmt="BMP")  # BMP: same size for any pixels
    before = load(root)
    stat = path.stat()
    write_image(path, (12, 10), seed=6, fmt="BMP")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # what `cp -p`, rsync or an editor may leave
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    after = load(root)
    row = before.files.index(str(path))
    assert not np.array_equal(np.asarray(before.x[row]), np.asarray(after.x[row]))  # not the stale pixels


@pytest.mark.parametrize("damaged", ["images.u8", "store.json"])
def test_a_store_that_does_not_match_its_seal_is_decoded_anew(classes, counted, damaged):
    root = classes({"cat": 2, "dog": 2})
    before = load(root)
    expected = np.array(before.x)  # a copy: before.x maps the file damaged below
    (folder,) = [path for path in store.store_root().iterdir() if path.is_dir()]
    target = folder / damaged
    stat = target.stat()
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF if damaged == "images.u8" else 0  # store.json: "usable" rows re-ordered instead
    if damaged == "store.json":
        data = bytearray(bytes(data).replace(b"[0, 1, 2, 3]", b"[1, 0, 2, 3]"))
    target.write_bytes(bytes(data))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = load(root)
    assert len(counted) == 8  # decoded again, not served from the damaged store
    np.testing.assert_array_equal(np.asarray(after.x), expected)
    assert after.files == before.files


def stored_at(start: float, files: list[str], root: str) -> tuple[bool, bytes, str]:
    """One process asking for the store of `files` at `start` (epoch seconds): (reused, its rows, error or '')."""
    import time
    from pathlib import Path

    time.sleep(max(0.0, start - time.time()))
    try:
        found = store.stored_images(files, ScanOptions((8, 8), 3), progress=False, root=Path(root))
        return found.reused, np.asarray(found.x).tobytes(), ""
    except Exception as error:  # noqa: BLE001 - reported to the test, which names it
        return False, b"", f"{type(error).__name__}: {error}"


def test_two_processes_asking_for_one_store_at_once_decode_it_once(classes, monkeypatch, tmp_path):
    """The two workers of a cluster run on one machine (or two runs) load the same data at the same moment: one
    decodes, the other waits and reuses its store (both decoding, one could unlink the other's finished store.json
    before it was read back: "could not be read back after writing" in a worker)."""
    import multiprocessing
    import time

    real = store.scan_file
    monkeypatch.setattr(store, "scan_file", lambda path, options: time.sleep(0.03) or real(path, options))
    files = [str(path) for path in sorted((classes({"cat": 20, "dog": 20})).rglob("*.png"))]
    start = time.time() + 1.5  # both processes forked and waiting by then
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.starmap(stored_at, [(start, files, str(tmp_path / "store"))] * 2)
    assert [error for _, _, error in results] == ["", ""]
    assert sorted(reused for reused, _, _ in results) == [False, True]  # decoded once
    assert results[0][1] == results[1][1] and len(results[0][1]) == 40 * 8 * 8 * 3
