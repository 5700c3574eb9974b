"""The image stores' size cap: oldest finished stores go first; the current one, partial ones and others stay."""

from __future__ import annotations

import json
import os

import pytest

from zoo.data.decoding.eviction import clear_stores, evict_stores, finished_stores, mark_used, store_cap
from zoo.errors import BadData


def make_store(root, digit, used, size=1000, finished=True):
    """A store folder of `size` bytes last used at `used` (seconds since the epoch)."""
    folder = root / (digit * 32)
    folder.mkdir(parents=True)
    (folder / "images.u8").write_bytes(b"\0" * size)
    if finished:
        (folder / "store.json").write_text("{}", encoding="utf-8")
        os.utime(folder / "store.json", (used, used))
    return folder


def test_the_least_recently_used_stores_go_first_and_the_current_one_stays(tmp_path, capsys):
    oldest, older, newer = (make_store(tmp_path, d, used) for d, used in (("a", 100), ("b", 200), ("c", 300)))
    current = make_store(tmp_path, "d", 50)  # the run's own store, even though it looks the oldest
    removed = evict_stores(current, cap=2500)
    assert [store.path for store in removed] == [oldest, older]
    assert sorted(p.name for p in tmp_path.iterdir()) == [newer.name, current.name]
    assert "removed 2 least recently used store(s)" in capsys.readouterr().err


def test_nothing_is_removed_under_the_cap(tmp_path):
    stores = [make_store(tmp_path, d, used) for d, used in (("a", 100), ("b", 200))]
    assert evict_stores(stores[1], cap=2100) == []
    assert all(path.exists() for path in stores)


def test_partial_stores_and_other_folders_are_never_touched(tmp_path):
    partial = make_store(tmp_path, "a", 0, finished=False)  # another run is writing it
    redecoding = make_store(tmp_path, "b", 1)
    (redecoding / "images.u8.partial-123").write_bytes(b"\0")
    other = tmp_path / "my-notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine", encoding="utf-8")
    stray = tmp_path / ("e" * 32 + ".txt")
    stray.write_text("a file, not a store", encoding="utf-8")
    current = make_store(tmp_path, "c", 2)
    assert evict_stores(current, cap=0) == []
    assert partial.exists() and redecoding.exists() and (other / "keep.txt").exists() and stray.exists()
    assert clear_stores(tmp_path) and not current.exists() and partial.exists() and other.exists()


def test_opening_a_store_makes_it_the_most_recent(tmp_path):
    first, second = make_store(tmp_path, "a", 100), make_store(tmp_path, "b", 200)
    mark_used(first)
    assert [store.path for store in finished_stores(tmp_path)] == [second, first]


def test_the_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("ZOO_IMAGE_STORE_MAX_GB", raising=False)
    assert store_cap() == 20 * 10**9
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", "0.5")
    assert store_cap() == 5 * 10**8
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", "lots")
    with pytest.raises(BadData, match="ZOO_IMAGE_STORE_MAX_GB must be a number"):
        store_cap()


def test_writing_a_new_store_evicts_the_old_one(classes, monkeypatch, tmp_path):
    from zoo.data import load_data

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", "0")
    root = classes({"cat": 2, "dog": 2})
    load_data(root, image_size=(8, 8), progress=False)
    second = load_data(root, image_size=(6, 6), progress=False)  # another size: another store
    (only,) = (tmp_path / "store").iterdir()
    assert only == finished_stores(tmp_path / "store")[0].path
    assert json.loads((only / "store.json").read_text())["shape"] == [4, 6, 6, 3] == list(second.x.shape)


def test_a_bad_cap_stops_the_load_before_anything_is_decoded(classes, monkeypatch, tmp_path):
    from zoo.data import load_data

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", "lots")
    with pytest.raises(BadData, match="ZOO_IMAGE_STORE_MAX_GB must be a number"):
        load_data(classes({"cat": 2, "dog": 2}), image_size=(8, 8), progress=False)
    assert not any(path.name.startswith("images.u8") for path in (tmp_path / "store").rglob("*"))


def test_streamed_tfds_stores_count_and_go_but_a_running_streams_folder_stays(tmp_path):
    old = make_store(tmp_path, "a", 100)
    streamed = old.rename(tmp_path / f"stream-{'a' * 32}")  # a TFDS split's store, keyed by its prepared files
    running = tmp_path / "stream-k2j_9x1q"  # a process's unnamed tf.data stream (mkdtemp), removed when it exits
    running.mkdir()
    (running / "store.json").write_text("{}", encoding="utf-8")
    current = make_store(tmp_path, "b", 200)
    assert [store.path for store in evict_stores(current, cap=0)] == [streamed]
    assert running.exists() and current.exists()
