"""Checking weights files against the manifest: hashing, and markers that spare re-hashing an unchanged file."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from zoo.errors import CorruptWeights
from zoo.weights.manifest import WeightsRecord

CHUNK_BYTES = 1 << 20


def digest_file(path: Path, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
    """Hex digests of a file for each algorithm, read once in 1 MiB chunks (weights files reach 500 MB)."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def trust_hint(record: WeightsRecord, path: Path | str) -> str:
    """How to use a file that is not the published one on purpose: the user's own weights of this architecture."""
    return (
        f"If it is your own weights for this architecture, use it unverified: "
        f"`zoo weights import '{path}' --as {record.key} --trust`, or zoo.load(..., weights='{path}', verify=False)."
    )


def repair_hint(record: WeightsRecord, path: Path) -> str:
    return (
        f"If it is a damaged download, delete it (rm '{path}') and run again to download a fresh copy, "
        f"or re-import a good copy with `zoo weights import FILE`. {trust_hint(record, path)}"
    )


def corrupt(record: WeightsRecord, path: Path | str, what: str, expected: object, actual: object, fix: str) -> None:
    """Raise CorruptWeights for bytes that claim to be the published file (a download): both values, and the fix."""
    raise CorruptWeights(
        f"weights file {path} ({record.key}) is corrupt: its {what} is {actual}, the manifest expects {expected}.\n"
        f"{fix}"
    )


def mismatch(record: WeightsRecord, path: Path | str, what: str, expected: object, actual: object) -> None:
    """Raise CorruptWeights for a local file that is not the published one: damaged, or the user's own weights."""
    raise CorruptWeights(
        f"weights file {path} ({record.key}) is not the published file: its {what} is {actual}, the manifest "
        f"expects {expected}.\n{repair_hint(record, Path(path))}"
    )


def check_size(record: WeightsRecord, path: Path | str, size: int, fix: str | None = None) -> None:
    if record.bytes is not None and size != record.bytes:
        expected, actual = f"{record.bytes} bytes", f"{size} bytes"
        if fix is None:
            mismatch(record, path, "size", expected, actual)
        corrupt(record, path, "size", expected, actual, fix)


def check_digest(record: WeightsRecord, path: Path | str, actual: str, fix: str | None = None) -> None:
    if record.hash is not None and actual != record.hash.value:
        if fix is None:
            mismatch(record, path, record.hash.algorithm, record.hash.value, actual)
        corrupt(record, path, record.hash.algorithm, record.hash.value, actual, fix)


def check_file(record: WeightsRecord, path: Path, markers: VerifiedMarkers | None = None, rehash: bool = False) -> bool:
    """Raise CorruptWeights unless `path` matches the record; True if a hash vouches for it (not just its size).

    An unchanged file with a marker is not hashed again, unless `rehash` (what `zoo weights verify` asks for).
    A file the user trusted (`zoo weights import --trust`) passes as unverified (False) while its sha256 is the one
    recorded then.
    """
    if markers is not None and markers.trusted(record, path, rehash):
        return False
    check_size(record, path, path.stat().st_size)
    if record.hash is None:
        return False
    if not rehash and markers is not None and markers.vouches(record, path):
        return True
    check_digest(record, path, digest_file(path, [record.hash.algorithm])[record.hash.algorithm])
    if markers is not None:
        markers.save(record, path)
    return True


def _fingerprint(path: Path) -> list[int]:
    """What changes whenever the file's bytes may have: size, times and identity (ctime cannot be set back)."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


class VerifiedMarkers:
    """Small JSON markers "this file, as it is now, has this hash", one per file path, kept in one folder.

    Markers are an optimisation only: a folder that cannot be written just means files are hashed again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _marker(self, path: Path) -> Path:
        name = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{name}.json"

    def vouches(self, record: WeightsRecord, path: Path) -> bool:
        """True if a marker says the file, unchanged since, had the record's hash."""
        try:
            marker = json.loads(self._marker(path).read_text(encoding="utf-8"))
            return marker == self._content(record, path)
        except (OSError, ValueError):
            return False

    def save(self, record: WeightsRecord, path: Path, extra: dict | None = None) -> None:
        """Record that `path` has just been hashed and matched (atomically; silently skipped if unwritable)."""
        temp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.folder, prefix=".marker-", suffix=".part")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({**self._content(record, path), **(extra or {})}, out)
            os.replace(temp, self._marker(path))
        except OSError:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)

    def trust(self, record: WeightsRecord, path: Path, sha256: str) -> None:
        """Record that the user vouches for `path` (of sha256 `sha256`) as `record`'s file: their own weights."""
        self.save(record, path, {"trusted": sha256})

    def trusted(self, record: WeightsRecord, path: Path, rehash: bool = False) -> bool:
        """True if `path` was trusted for `record` and still has the sha256 recorded then (hashed again if changed)."""
        try:
            marker = json.loads(self._marker(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(marker, dict) or marker.get("key") != record.key or "trusted" not in marker:
            return False
        if not rehash and marker.get("stat") == _fingerprint(path):
            return True
        return digest_file(path)["sha256"] == marker["trusted"]

    def trusted_sha256(self, path: Path) -> str | None:
        """The sha256 recorded when `path` was trusted, or None."""
        try:
            return json.loads(self._marker(path).read_text(encoding="utf-8")).get("trusted")
        except (OSError, ValueError, AttributeError):
            return None

    def forget(self, path: Path) -> None:
        try:
            self._marker(path).unlink(missing_ok=True)
        except OSError:
            return

    @staticmethod
    def _content(record: WeightsRecord, path: Path) -> dict:
        return {"path": str(path.resolve()), "stat": _fingerprint(path), "hash": str(record.hash), "key": record.key}
