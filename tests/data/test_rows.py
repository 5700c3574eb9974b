"""Rows of memory maps: chosen rows copied on disk, and pages released without losing what was written."""

from __future__ import annotations

import numpy as np

from zoo.data.decoding.rows import release_pages, take_rows


def mapped(tmp_path, rows=10):
    x = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="w+", shape=(rows, 4, 4, 3))
    x[:] = np.arange(rows, dtype=np.uint8)[:, None, None, None]
    return x


def test_released_pages_keep_what_was_written(tmp_path):
    x = mapped(tmp_path)
    release_pages(x)
    assert np.fromfile(tmp_path / "x.u8", dtype=np.uint8).reshape(x.shape)[:, 0, 0, 0].tolist() == list(range(10))
    assert x[:, 0, 0, 0].tolist() == list(range(10))  # the map reads them back


def test_chosen_rows_are_a_memory_map_beside_the_source_reused_next_time(tmp_path):
    x = mapped(tmp_path)
    chosen = take_rows(x, np.array([7, 2, 5]))
    assert isinstance(chosen, np.memmap) and chosen[:, 0, 0, 0].tolist() == [7, 2, 5]
    assert len(list(tmp_path.glob("rows-*.u8"))) == 1 and not list(tmp_path.glob("*.partial-*"))
    take_rows(x, np.array([7, 2, 5]))
    assert len(list(tmp_path.glob("rows-*.u8"))) == 1
    run = take_rows(x, np.array([3, 4, 5]))  # a contiguous run: a view, no file
    assert np.shares_memory(run, x) and len(list(tmp_path.glob("rows-*.u8"))) == 1


def test_arrays_in_memory_are_indexed_as_usual():
    x = np.arange(10)
    assert take_rows(x, np.array([3, 1])).tolist() == [3, 1]


def test_a_discarded_copy_loses_its_file_and_the_source_stays(tmp_path):
    from zoo.data.decoding.rows import discard_copy

    x = mapped(tmp_path)
    chosen = take_rows(x, np.array([7, 2, 5]))
    discard_copy(chosen)
    discard_copy(x)  # not a copy: left alone
    assert not list(tmp_path.glob("rows-*.u8")) and (tmp_path / "x.u8").exists()
    assert chosen[:, 0, 0, 0].tolist() == [7, 2, 5]  # the open map still reads


def take_and_discard(folder: str, rounds: int) -> str:
    """One process's turns at the same row copy: take it, read it, discard it; the first error, else ''."""
    from pathlib import Path

    from zoo.data.decoding.rows import discard_copy

    x = np.memmap(Path(folder) / "x.u8", dtype=np.uint8, mode="r", shape=(200, 16, 16, 3))
    try:
        for _ in range(rounds):
            chosen = take_rows(x, np.arange(199, -1, -2))
            assert chosen[:, 0, 0, 0].tolist() == list(range(199, -1, -2))
            discard_copy(chosen)
    except Exception as error:  # noqa: BLE001 - reported to the test, which names it
        return f"{type(error).__name__}: {error}"
    return ""


def test_two_processes_taking_and_discarding_the_same_copy_never_fail(tmp_path):
    """Two workers of one cluster run read the same store: neither may remove the copy the other is opening or has
    just renamed before its seal (a FileNotFoundError in a worker before the lock)."""
    import multiprocessing

    x = np.memmap(tmp_path / "x.u8", dtype=np.uint8, mode="w+", shape=(200, 16, 16, 3))
    x[:] = (np.arange(200) % 256).astype(np.uint8)[:, None, None, None]
    x.flush()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        errors = pool.starmap(take_and_discard, [(str(tmp_path), 150)] * 2)
    assert errors == ["", ""]
