"""Sealed files: every file zoo caches and reads back carries a digest written with it and checked when opened.

A sealed file `F` has a seal `F.seal` beside it (JSON: sha256, bytes, a stat fingerprint, and what made it), written
after F itself, each to a temporary name and renamed: a killed write leaves no seal, or a seal that does not match.
Opening checks the seal: the file's size, then its fingerprint (size, mtime, ctime, inode, device); a file whose
fingerprint differs is hashed in full and refused unless its sha256 matches. Any write through the file system moves
the ctime, which cannot be set back, so a changed byte is always hashed; what a fingerprint cannot see (the disk
itself rotting) `zoo cache verify` finds by hashing everything. Hashing every open instead would cost a warm
`zoo predict` ~8% (two 18 MB files; python -m zoo.bench predict), the fingerprint well under 1%. Damage raises
BrokenSeal (one line): callers rebuild the file, or fall back to a path that needs no cache. Any kind of file can be
sealed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import BrokenSeal

SEAL_SUFFIX = ".seal"
CHUNK_BYTES = 1 << 16


def seal_path(path: Path) -> Path:
    return path.with_name(path.name + SEAL_SUFFIX)


def sha256_of(path: Path) -> str:
    """The file's sha256, read into one small reused buffer (hashing a store must not hold a copy of it)."""
    digest, buffer = hashlib.sha256(), bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def fingerprint(path: Path) -> list[int]:
    """What changes whenever the file's bytes may have: size, times and identity (ctime cannot be set back)."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


def write_atomic(path: Path, payload: bytes) -> None:
    """Write to a temporary name beside `path`, flush to disk, then rename: a reader sees the old file or the new."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_seal(path: Path, sha256: str, made_by: str) -> None:
    seal = {"sha256": sha256, "bytes": path.stat().st_size, "stat": fingerprint(path), "made_by": made_by}
    write_atomic(seal_path(path), json.dumps(seal).encode())


def write_sealed(path: Path, payload: bytes, made_by: str = "") -> None:
    """Write `payload` to `path` and its seal (the old seal removed first: a crash in between leaves no seal)."""
    seal_path(path).unlink(missing_ok=True)
    write_atomic(path, payload)
    _write_seal(path, hashlib.sha256(payload).hexdigest(), made_by)


def seal_written(temporary: Path, path: Path, made_by: str = "") -> None:
    """Seal a file written in place under a temporary name (a memory map) and rename it to `path`."""
    seal_path(path).unlink(missing_ok=True)
    sha256 = sha256_of(temporary)
    os.replace(temporary, path)
    _write_seal(path, sha256, made_by)


def seal_in_place(path: Path, made_by: str = "") -> None:
    """Seal a finished file another program wrote where it stays (OpenVINO's compiled models)."""
    _write_seal(path, sha256_of(path), made_by)


def read_seal(path: Path) -> dict:
    """The seal of `path`; BrokenSeal when it is missing or unreadable."""
    try:
        seal = json.loads(seal_path(path).read_text(encoding="utf-8"))
        if isinstance(seal, dict) and isinstance(seal.get("sha256"), str) and isinstance(seal.get("bytes"), int):
            return seal
    except FileNotFoundError:
        missing = f"{path} has no seal ({seal_path(path).name}): it was not finished, or not made by zoo"
        raise BrokenSeal(missing) from None
    except (OSError, ValueError) as error:
        raise BrokenSeal(f"{path}'s seal {seal_path(path).name} is unreadable ({error})") from None
    raise BrokenSeal(f"{path}'s seal {seal_path(path).name} is malformed")


def check_sealed(path: Path, full: bool = False) -> None:
    """Raise BrokenSeal unless `path` matches its seal: its size, then its fingerprint, else (or when `full`) its
    sha256. A file that matches under a new fingerprint (copied, moved) has it recorded, where the cache is writable."""
    seal = read_seal(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise BrokenSeal(f"{path} cannot be read ({error.strerror or error})") from None
    if size != seal["bytes"]:
        raise BrokenSeal(f"{path} is {size} bytes, its seal says {seal['bytes']} (truncated or rewritten)")
    if not full and seal.get("stat") == fingerprint(path):
        return
    actual = sha256_of(path)
    if actual != seal["sha256"]:
        raise BrokenSeal(f"{path} does not match its seal (sha256 {actual[:12]}..., sealed {seal['sha256'][:12]}...)")
    if seal.get("stat") != fingerprint(path):
        try:
            _write_seal(path, actual, seal.get("made_by", ""))
        except OSError:
            pass


def read_sealed(path: Path) -> bytes:
    """The bytes of `path`, read once and checked against its seal; BrokenSeal when they do not match."""
    seal = read_seal(path)
    try:
        payload = path.read_bytes()
    except OSError as error:
        raise BrokenSeal(f"{path} cannot be read ({error.strerror or error})") from None
    if len(payload) != seal["bytes"] or hashlib.sha256(payload).hexdigest() != seal["sha256"]:
        raise BrokenSeal(f"{path} does not match its seal ({len(payload)} bytes, sealed {seal['bytes']})")
    return payload


def remove_sealed(path: Path) -> None:
    """Remove a file and its seal (a damaged entry before its rebuild); a read-only folder leaves them."""
    for each in (seal_path(path), path):
        try:
            each.unlink(missing_ok=True)
        except OSError:
            pass


TEMPORARY_NAMES = (".tmp", ".lock", ".partial-", ".probe-", ".evicted-", ".marker-")  # a write under way, a lock


@dataclass(frozen=True)
class SealCheck:
    """One file of a cache folder, hashed in full: good, bad (with why) or unsealed (unfinished, or not zoo's)."""

    path: Path
    state: str
    detail: str = ""


def check_tree(folder: Path) -> list[SealCheck]:
    """Every file under `folder` (seals, locks and writes under way left out) checked against its seal in full."""
    checks = []
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        inside = str(path.relative_to(folder))
        if not path.is_file() or path.name.endswith(SEAL_SUFFIX) or any(n in inside for n in TEMPORARY_NAMES):
            continue
        if not seal_path(path).exists():
            checks.append(SealCheck(path, "unsealed", "no seal: unfinished, or written by an older zoo"))
            continue
        try:
            check_sealed(path, full=True)
            checks.append(SealCheck(path, "good"))
        except BrokenSeal as error:
            checks.append(SealCheck(path, "bad", str(error)))
    return checks
