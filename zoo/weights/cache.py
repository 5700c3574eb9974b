"""The cache's contents: importing files the user downloaded (checked, or trusted as their own), re-hashing every
local copy and converted file (`zoo weights verify`), and the per-key status `zoo weights list` shows."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import BrokenSeal, CacheNotWritable, CorruptWeights, UnknownWeightsFile, WeightsNotFound
from zoo.sealed import check_sealed
from zoo.weights.fetch import ensure_writable, open_temp_beside
from zoo.weights.manifest import Manifest, WeightsRecord, load_manifest
from zoo.weights.resolve import CACHE_DIR_VAR, cache_dir, converted_dir, local_places, verified_markers
from zoo.weights.verify import (
    CHUNK_BYTES,
    VerifiedMarkers,
    check_digest,
    check_file,
    check_size,
    digest_file,
    trust_hint,
)

__all__ = [
    "ImportedWeights",
    "WeightsCheck",
    "WeightsStatus",
    "import_weights",
    "remove_cached",
    "verify_cache",
    "weights_identity",
    "weights_status",
]


@dataclass(frozen=True)
class ImportedWeights:
    """One file copied into the cache; `trusted` holds its sha256 when the user vouched for it (--trust)."""

    source: Path
    keys: tuple[str, ...]
    path: Path
    trusted: str | None = None


@dataclass(frozen=True)
class WeightsCheck:
    """One local copy re-hashed by `verify_cache`: state is good, bad, unverifiable (no published hash) or missing."""

    key: str
    file: str
    state: str
    path: Path | None
    detail: str = ""


@dataclass(frozen=True)
class WeightsStatus:
    """What `zoo weights list` shows for a key: state is verified, trusted, cached, bundled or missing; `bytes` is
    the local file's size, else the manifest's (None where unknown)."""

    key: str
    file: str
    state: str
    path: Path | None
    where: str
    bytes: int | None


def import_weights(
    files: Iterable[Path | str], *, manifest: Manifest | None = None, as_key: str | None = None, trust: bool = False
) -> list[ImportedWeights]:
    """Copy files the manifest knows (by name, else by hash; or as `as_key`) into the cache, checked, atomically.

    Every file is matched before any is copied: one unknown or corrupt file refuses the whole import. With `trust`,
    the one file given is the user's own weights for `as_key`: copied under that key's file name, unverified, its
    sha256 recorded so that any later change to it is caught.
    """
    manifest = manifest or load_manifest()
    files = [Path(file) for file in files]
    if trust or as_key is not None:
        return [_import_as(files, manifest, as_key, trust)]
    matches = [(file, match_file(manifest, file)) for file in files]
    folder = ensure_writable(cache_dir(), CACHE_DIR_VAR)
    markers = verified_markers()
    imported = []
    for source, records in matches:
        for file in dict.fromkeys(record.file for record in records):
            same = [record for record in records if record.file == file]
            target, _ = _copy_checked(source, same[0], folder, markers)
            imported.append(ImportedWeights(source, tuple(record.key for record in same), target))
    return imported


def _import_as(files: list[Path], manifest: Manifest, as_key: str | None, trust: bool) -> ImportedWeights:
    """One file imported as `as_key`: checked against its record, or, with `trust`, recorded as the user's own."""
    if as_key is None or len(files) != 1:
        raise UnknownWeightsFile(
            "--as KEY (and --trust) take exactly one file and its key, e.g. "
            "`zoo weights import my_resnet50.h5 --as resnet50.top --trust`"
        )
    record, source = manifest.get(as_key), files[0]
    if not source.is_file():
        raise WeightsNotFound(f"cannot import {source}: no such file")
    folder = ensure_writable(cache_dir(), CACHE_DIR_VAR)
    path, sha256 = _copy_checked(source, record, folder, verified_markers(), trust)
    return ImportedWeights(source, (record.key,), path, sha256 if trust else None)


def match_file(manifest: Manifest, source: Path) -> list[WeightsRecord]:
    """The records `source` is: by file name (then its size and hash must agree), else by hash."""
    if not source.is_file():
        raise WeightsNotFound(f"cannot import {source}: no such file")
    named = manifest.by_file(source.name)
    if named:
        record = named[0]
        fix = (
            "It is not the file the manifest describes (a partial download, or another release?): nothing was "
            f"imported. Fetch it again from {' or '.join(record.urls) or 'its package'} and re-import it. "
            f"{trust_hint(record, source)}"
        )
        check_size(record, source, source.stat().st_size, fix)
        if record.hash is not None:
            check_digest(record, source, digest_file(source, [record.hash.algorithm])[record.hash.algorithm], fix)
        return named
    digests = digest_file(source, ("md5", "sha256"))
    by_hash = [record for record in manifest if record.hash and digests[record.hash.algorithm] == record.hash.value]
    if by_hash:
        return by_hash
    raise UnknownWeightsFile(
        f"refusing to import {source}: it matches no file in {manifest.path} (its name {source.name!r} is not "
        f"a manifest file name and its sha256 {digests['sha256']} / md5 {digests['md5']} match no published hash). "
        "Run `zoo weights list` to see the file names expected."
    )


def _copy_checked(
    source: Path, record: WeightsRecord, folder: Path, markers: VerifiedMarkers, trust: bool = False
) -> tuple[Path, str]:
    """Copy into a hidden temp file beside the target, hashing what is written, then rename it into place.

    Returns the target and its sha256; with `trust` nothing is compared and a trust marker records that sha256.
    """
    target = folder / record.file
    if target.exists() and target.samefile(source):
        if trust:
            sha256 = digest_file(target)["sha256"]
            markers.trust(record, target, sha256)
            return target, sha256
        check_file(record, target, markers, rehash=True)
        return target, digest_file(target)["sha256"]
    temp = None
    try:
        handle, temp = open_temp_beside(target)
        hashers = {name: hashlib.new(name) for name in {"sha256", record.hash.algorithm if record.hash else "sha256"}}
        with open(source, "rb") as src, os.fdopen(handle, "wb") as out:
            while chunk := src.read(CHUNK_BYTES):
                for hasher in hashers.values():
                    hasher.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if not trust:
            check_size(record, source, Path(temp).stat().st_size)
            check_digest(record, source, hashers[record.hash.algorithm if record.hash else "sha256"].hexdigest())
        os.replace(temp, target)
    except OSError as error:
        raise CacheNotWritable(f"cannot copy {source} into {folder}: {error}. Set {CACHE_DIR_VAR} elsewhere.") from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
    sha256 = hashers["sha256"].hexdigest()
    if trust:
        markers.trust(record, target, sha256)
    elif record.hash is not None:
        markers.save(record, target)
    return target, sha256


def verify_cache(*, manifest: Manifest | None = None) -> list[WeightsCheck]:
    """Re-hash every local copy of every manifest file (markers ignored), then every converted file against the
    sha256 written beside it: good, bad, trusted (the user's own, unchanged), unverifiable or missing."""
    manifest = manifest or load_manifest()
    markers = verified_markers()
    checks = []
    for record in manifest:
        found = [place.path for place in local_places(record) if place.path is not None and place.path.is_file()]
        if not found:
            checks.append(WeightsCheck(record.key, record.file, "missing", None))
        for path in found:
            try:
                vouched = check_file(record, path, markers, rehash=True)
            except CorruptWeights as error:
                markers.forget(path)
                checks.append(WeightsCheck(record.key, record.file, "bad", path, str(error)))
                continue
            trusted = None if vouched else markers.trusted_sha256(path)
            state, detail = ("good", "") if vouched else ("unverifiable", "no published hash; size matches")
            if trusted:
                state, detail = "trusted", f"your own weights (imported with --trust), sha256 {trusted} unchanged"
            checks.append(WeightsCheck(record.key, record.file, state, path, detail))
    return checks + [_check_converted(path) for path in sorted(converted_dir().glob("*.weights.h5"))]


def _check_converted(path: Path) -> WeightsCheck:
    """A converted file hashed in full against the seal written beside it when it was made."""
    key = path.name.split("-", 1)[0]
    try:
        check_sealed(path, full=True)
    except BrokenSeal as error:
        detail = (
            f"converted file {error} Delete it (rm '{path}' '{path}.seal'): it is converted again from its package "
            "on next use."
        )
        return WeightsCheck(key, path.name, "bad", path, detail)
    return WeightsCheck(key, path.name, "good", path, "converted")


def weights_status(*, manifest: Manifest | None = None) -> list[WeightsStatus]:
    """Per key, where its file is and whether a marker vouches for it; stats files, never hashes them."""
    manifest = manifest or load_manifest()
    markers = verified_markers()
    rows = []
    for record in manifest:
        place = next((p for p in local_places(record) if p.path is not None and p.path.is_file()), None)
        if place is None:
            rows.append(WeightsStatus(record.key, record.file, "missing", None, "", record.bytes))
            continue
        if record.hash is not None and markers.vouches(record, place.path):
            state = "verified"
        elif markers.trusted_sha256(place.path):
            state = "trusted"
        else:
            state = "bundled" if place.kind == "package" else "cached"
        rows.append(WeightsStatus(record.key, record.file, state, place.path, place.label, place.path.stat().st_size))
    return rows


def weights_identity(record: WeightsRecord) -> str:
    """What fixes the weights `record` loads as: its published hash, or the sha256 of the user's own trusted file
    found first (so a conversion cached for one is never served for the other). Stats files, hashes none."""
    place = next((p for p in local_places(record) if p.path is not None and p.path.is_file()), None)
    trusted = verified_markers().trusted_sha256(place.path) if place is not None else None
    return f"trusted-sha256:{trusted}" if trusted else str(record.hash)


def remove_cached(key: str, *, manifest: Manifest | None = None) -> list[Path]:
    """Remove zoo's cached copy of `key`'s file (downloaded, imported, or trusted with --trust), its marker and what
    was converted from it; the removed paths. Files in $ZOO_WEIGHTS_DIR or a package are the user's: never touched."""
    record = (manifest or load_manifest()).get(key)
    target = cache_dir() / record.file
    removed = []
    if target.is_file():
        verified_markers().forget(target)
        target.unlink()
        removed.append(target)
    for converted in sorted(converted_dir().glob(f"{key}-*.weights.h5*")):
        converted.unlink(missing_ok=True)
        removed.append(converted)
    return removed
