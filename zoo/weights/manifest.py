"""weights_manifest.json: its schema, its validation, and the one function that reads it (stdlib only).

The manifest holds facts about files only (name, hash, size, format, sources, licence), keyed "<entry>.<variant>".
URLs must be https; plain http is accepted only for a loopback host (127.0.0.0/8, ::1, localhost), because such
traffic never leaves the machine: that is how the tests and a local mirror serve files without TLS.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from zoo.errors import ManifestError, UnknownModel

SCHEMA_VERSION = 1
MANIFEST_NAME = "weights_manifest.json"
HASH_LENGTHS = {"md5": 32, "sha256": 64}
FORMATS = ("keras-h5", "keras-weights", "torch-pickle", "numpy-pickle")
RECORD_FIELDS = ("file", "hash", "bytes", "format", "urls", "package", "license")
PACKAGE_FIELDS = ("name", "version", "path")
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*\.[a-z0-9][a-z0-9_\-]*$")
FILE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,254}$")
HEX_PATTERN = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class FileHash:
    """A published digest of a file: the algorithm and its lowercase hex value."""

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclass(frozen=True)
class BundledFile:
    """A weights file shipped inside a pip package: `path` is relative to the folder holding the package."""

    name: str
    version: str
    path: str


@dataclass(frozen=True)
class WeightsRecord:
    """Everything the manifest says about one weights file."""

    key: str
    file: str
    hash: FileHash | None
    bytes: int | None
    format: str
    urls: tuple[str, ...]
    package: BundledFile | None
    license: str

    @property
    def entry(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def variant(self) -> str:
        return self.key.split(".", 1)[1]


@dataclass(frozen=True)
class Manifest:
    """The validated manifest: records by key, and the file it was read from."""

    path: Path
    records: Mapping[str, WeightsRecord]

    def __iter__(self) -> Iterator[WeightsRecord]:
        return iter(self.records.values())

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, key: object) -> bool:
        return key in self.records

    def get(self, name: str) -> WeightsRecord:
        """The record of a key ("resnet50.notop"), or of an entry name: its "top" variant or its only one."""
        if name in self.records:
            return self.records[name]
        variants = [key for key in self.records if key.split(".", 1)[0] == name]
        if f"{name}.top" in variants or len(variants) == 1:
            return self.records[f"{name}.top" if f"{name}.top" in variants else variants[0]]
        if variants:
            raise UnknownModel(f"{name!r} has several weights files: name one of {', '.join(variants)}")
        close = difflib.get_close_matches(name.lower(), list(self.records), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModel(
            f"no weights {name!r} in {self.path}.{hint} Run `zoo weights list` to see the {len(self)} known files."
        )

    def by_file(self, file: str) -> list[WeightsRecord]:
        """Every record whose file has this name (several keys may share one file)."""
        return [record for record in self.records.values() if record.file == file]


def default_manifest_path() -> Path:
    """The packaged copy (zoo/weights_manifest.json) first, else the source checkout's repo-root file."""
    package_dir = Path(__file__).resolve().parent.parent  # zoo/, without importing the package root
    candidates = (package_dir / MANIFEST_NAME, package_dir.parent / MANIFEST_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ManifestError(
        f"cannot find {MANIFEST_NAME}: looked at {candidates[0]} and {candidates[1]}. "
        "Reinstall zoo-keras, or pass the manifest's path explicitly."
    )


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Read and validate the manifest (the project's own by default); any problem raises ManifestError."""
    path = Path(path) if path is not None else default_manifest_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"weights manifest {path} does not exist; pass the path of a manifest file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"cannot read weights manifest {path}: {error}. Fix the file (it must be JSON).") from None
    return parse_manifest(data, path)


def parse_manifest(data: Any, path: Path) -> Manifest:
    """Validate already-decoded manifest data; every problem found is listed in one ManifestError."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        problems.append(
            f"schema_version: expected {SCHEMA_VERSION}, got {version!r} "
            "(a newer manifest needs a newer zoo-keras: pip install -U zoo-keras)"
        )
    problems += [f"{key!r}: unknown top-level field" for key in data if key not in ("schema_version", "files")]
    files = data.get("files")
    if not isinstance(files, dict):
        problems.append(f"files: expected an object of '<entry>.<variant>': {{...}}, got {type(files).__name__}")
        files = {}
    records = {}
    for key, raw in files.items():
        record, record_problems = _parse_record(key, raw)
        problems += [f"files[{key!r}].{problem}" for problem in record_problems]
        if record is not None and not record_problems:
            records[key] = record
    problems += _shared_file_problems(records)
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise ManifestError(f"invalid weights manifest {path} ({len(problems)} problem(s)):\n  {shown}")
    return Manifest(path=path, records=MappingProxyType(records))


def _parse_record(key: Any, raw: Any) -> tuple[WeightsRecord | None, list[str]]:
    """One record and the problems found in it, each as 'field: what is wrong (got ...)'."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        return None, [f"key: expected '<entry>.<variant>' in lowercase letters, digits, '_' or '-', got {key!r}"]
    if not isinstance(raw, dict):
        return None, [f"record: expected an object, got {type(raw).__name__}"]
    problems = [
        f"{name}: unknown field (allowed: {', '.join(RECORD_FIELDS)})" for name in raw if name not in RECORD_FIELDS
    ]
    problems += [f"{name}: missing (use null where unknown)" for name in RECORD_FIELDS if name not in raw]
    if problems:
        return None, problems
    checks = (
        _file_problem(raw["file"]),
        _hash_problem(raw["hash"]),
        _bytes_problem(raw["bytes"]),
        _format_problem(raw["format"]),
        _license_problem(raw["license"]),
        *_url_problems(raw["urls"]),
        *_package_problems(raw["package"]),
    )
    problems = [problem for problem in checks if problem]
    if not problems and not raw["urls"] and raw["package"] is None:
        problems.append("urls: no source: give at least one URL or a package")
    if problems:
        return None, problems
    digest = raw["hash"] and FileHash(raw["hash"]["algorithm"], raw["hash"]["value"])
    package = raw["package"] and BundledFile(**raw["package"])
    record = WeightsRecord(
        key, raw["file"], digest, raw["bytes"], raw["format"], tuple(raw["urls"]), package, raw["license"]
    )
    return record, []


def _file_problem(file: Any) -> str | None:
    if isinstance(file, str) and FILE_PATTERN.match(file) and file not in (".", ".."):
        return None
    return f"file: expected a bare file name (letters, digits, '._+-', no '/' or '..', not hidden), got {file!r}"


def _hash_problem(digest: Any) -> str | None:
    if digest is None:
        return None
    if not isinstance(digest, dict) or set(digest) != {"algorithm", "value"}:
        return f"hash: expected null or {{'algorithm': 'md5'|'sha256', 'value': '<hex>'}}, got {digest!r}"
    algorithm, value = digest["algorithm"], digest["value"]
    if algorithm not in HASH_LENGTHS:
        return f"hash.algorithm: expected one of {', '.join(HASH_LENGTHS)}, got {algorithm!r}"
    length = HASH_LENGTHS[algorithm]
    if not isinstance(value, str) or len(value) != length or not HEX_PATTERN.match(value):
        return f"hash.value: expected {length} lowercase hex digits for {algorithm}, got {value!r}"
    return None


def _bytes_problem(size: Any) -> str | None:
    if size is None or (isinstance(size, int) and not isinstance(size, bool) and size > 0):
        return None
    return f"bytes: expected a positive integer or null, got {size!r}"


def _format_problem(fmt: Any) -> str | None:
    return None if fmt in FORMATS else f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}"


def _license_problem(license_: Any) -> str | None:
    if isinstance(license_, str) and license_.strip():
        return None
    return f"license: expected the licence's name (e.g. 'Apache-2.0'), got {license_!r}"


def _url_problems(urls: Any) -> list[str]:
    if not isinstance(urls, list):
        return [f"urls: expected a list of https URLs (may be empty when a package is given), got {urls!r}"]
    return [f"urls[{index}]: {problem}" for index, url in enumerate(urls) if (problem := url_problem(url))]


def url_problem(url: Any) -> str | None:
    """Why a URL is refused: it must be https with a host, or http to a loopback host."""
    if not isinstance(url, str):
        return f"expected a string, got {url!r}"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return None
    return f"expected an https:// URL (plain http only for a loopback host), got {url!r}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _package_problems(package: Any) -> list[str]:
    if package is None:
        return []
    if not isinstance(package, dict) or set(package) != set(PACKAGE_FIELDS):
        return [f"package: expected null or an object with exactly {', '.join(PACKAGE_FIELDS)}, got {package!r}"]
    problems = [f"package.{name}: expected a non-empty string" for name in PACKAGE_FIELDS if not package[name]]
    problems += [
        f"package.{name}: expected a string, got {package[name]!r}"
        for name in PACKAGE_FIELDS
        if package[name] and not isinstance(package[name], str)
    ]
    path = package["path"]
    if isinstance(path, str) and (path.startswith("/") or "\\" in path or ".." in path.split("/")):
        problems.append(f"package.path: expected a relative path inside the package (no '..'), got {path!r}")
    return problems


def _shared_file_problems(records: Mapping[str, WeightsRecord]) -> list[str]:
    """Two keys may share a file name only if they describe the same file: the cache holds one copy per name."""
    seen: dict[str, WeightsRecord] = {}
    problems = []
    for record in records.values():
        other = seen.setdefault(record.file, record)
        if other is not record and (other.hash, other.bytes) != (record.hash, record.bytes):
            problems.append(
                f"files[{record.key!r}].file: {record.file!r} is also the file of {other.key!r} "
                "with a different hash or size; give each file its own name"
            )
    return problems
