"""Sealed files: written with their digest, refused when damaged, truncated, unfinished or unsealed."""

from __future__ import annotations

import os

import pytest

from zoo import sealed
from zoo.errors import BrokenSeal
from zoo.sealed import check_sealed, read_sealed, remove_sealed, seal_path, seal_written, write_sealed


def flip(path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the mtime put back: the bytes still differ


def test_a_sealed_file_reads_back_and_checks(tmp_path):
    path = tmp_path / "model.bin"
    write_sealed(path, b"x" * 100, made_by="test")
    assert read_sealed(path) == b"x" * 100
    check_sealed(path)
    assert seal_path(path).is_file() and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("damage", ["flip", "truncate", "no seal", "bad seal", "missing"])
def test_damage_is_refused_in_one_line(tmp_path, damage):
    path = tmp_path / "model.bin"
    write_sealed(path, bytes(range(256)) * 4)
    if damage == "flip":
        flip(path)
    elif damage == "truncate":
        os.truncate(path, 100)
    elif damage == "no seal":
        seal_path(path).unlink()
    elif damage == "bad seal":
        seal_path(path).write_text("{not json")
    else:
        path.unlink()
    for check in (read_sealed, check_sealed):
        with pytest.raises(BrokenSeal) as raised:
            check(path)
        assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_an_unchanged_file_is_checked_by_fingerprint_and_hashed_once_it_changed(tmp_path, monkeypatch):
    temporary, path = tmp_path / "rows.partial", tmp_path / "rows.u8"
    temporary.write_bytes(bytes(1000))
    seal_written(temporary, path)
    with monkeypatch.context() as patch:
        patch.setattr(sealed, "sha256_of", pytest.fail)
        check_sealed(path)  # unchanged: its fingerprint vouches, nothing is hashed
    flip(path)  # same size, mtime restored: ctime still moved, so it is hashed, and refused
    with pytest.raises(BrokenSeal, match="does not match its seal"):
        check_sealed(path)


def test_a_copied_file_is_hashed_again_and_accepted(tmp_path):
    path = tmp_path / "a.bin"
    write_sealed(path, b"payload")
    moved = tmp_path / "b.bin"
    moved.write_bytes(path.read_bytes())
    seal_path(moved).write_bytes(seal_path(path).read_bytes())
    check_sealed(moved)  # another inode: hashed, matches, its new fingerprint kept
    assert sealed.read_seal(moved)["stat"] == sealed.fingerprint(moved)


def test_remove_sealed_takes_the_file_and_its_seal(tmp_path):
    path = tmp_path / "a.bin"
    write_sealed(path, b"payload")
    remove_sealed(path)
    assert not list(tmp_path.iterdir())
