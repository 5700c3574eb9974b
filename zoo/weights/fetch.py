"""Downloading one weights file into a folder: lock, temp file beside the target, size and hash check, atomic rename.

pooch's HTTPDownloader does the HTTP streaming and the progress bar (stderr); this module keeps the parts pooch's
`retrieve` does not: a size check and a size cap while streaming, a cross-process lock, retries only where another
try can help, and errors that say what to do. A host that cannot be reached at all (no DNS, refused, no route,
connect timeout) is not retried: a machine without network fails at once, as if offline.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from zoo.errors import CacheNotWritable, CorruptWeights, WeightsNotFound
from zoo.locks import folder_locked
from zoo.weights.manifest import WeightsRecord
from zoo.weights.verify import VerifiedMarkers, check_digest, check_file, corrupt

CONNECT_TIMEOUT_S = 5.0  # an unreachable host fails fast; a slow but live server still gets READ_TIMEOUT_S per chunk
READ_TIMEOUT_S = 60.0
ATTEMPTS = 3  # per URL, for failures another try can cure (dropped connection, timeout, 5xx, short transfer)
RETRY_WAIT_S = 1.0  # times the attempt number
CHUNK_BYTES = 1 << 16


class _Transient(Exception):
    """A failure another attempt may cure."""


class _Permanent(Exception):
    """A failure another attempt at the same URL will not cure (404, 403, ...)."""


class _Unreachable(_Permanent):
    """No connection was made (name resolution, refused, no route, connect timeout): the machine is offline."""


class _LocalWriteFailed(Exception):
    """Writing the temp file failed (disk full, ...): kept apart from the network's OSErrors."""


class _CappedHashingFile:
    """The file object pooch writes into: hashes as it goes and refuses more bytes than the manifest gives."""

    def __init__(self, handle: IO[bytes], record: WeightsRecord, url: str) -> None:
        import hashlib

        self.handle, self.record, self.url, self.size = handle, record, url, 0
        self.hasher = hashlib.new(record.hash.algorithm) if record.hash else None

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.record.bytes is not None and self.size > self.record.bytes:
            label, expected = f"{self.record.file} from {self.url}", f"{self.record.bytes} bytes"
            corrupt(self.record, label, "size", expected, f"more than {expected}", _nothing_saved(self.url))
        if self.hasher is not None:
            self.hasher.update(data)
        try:
            return self.handle.write(data)
        except OSError as error:
            raise _LocalWriteFailed(error) from None

    def flush(self) -> None:
        self.handle.flush()


def ensure_writable(folder: Path, variable: str) -> Path:
    """Create `folder` if missing and prove it writable; else CacheNotWritable naming it and `variable`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise CacheNotWritable(
            f"the weights cache {folder} cannot be written ({error.strerror or error}). "
            f"Make it writable, or set {variable} to a folder you can write "
            f"(e.g. export {variable}=$HOME/zoo-cache)."
        ) from None
    return folder


def open_temp_beside(target: Path) -> tuple[int, Path]:
    """A new hidden temp file in the target's folder (so the final rename is atomic), with the umask's usual mode:
    mkstemp's 0600 would leave a shared cache's files unreadable to others."""
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temp file beside {target}")


def fetch_file(record: WeightsRecord, folder: Path, markers: VerifiedMarkers | None = None) -> Path:
    """Download `record` into `folder` (created if missing) and return its path; only a verified file lands there.

    Raises CorruptWeights when a server sends bytes that differ from the manifest, WeightsNotFound when no URL works.
    """
    if not record.urls:
        raise WeightsNotFound(f"{record.file} has no download URL (it comes only from a package)")
    target = folder / record.file
    waiting = f"zoo: waiting for another process downloading {record.file} into {folder}"
    with folder_locked(folder, f".{record.file}.lock", waiting=waiting):  # one download of a file at a time
        if target.is_file():  # another process fetched it while this one waited for the lock
            check_file(record, target, markers)
            return target
        failures, mismatch = [], None
        for url in record.urls:
            try:
                _fetch_from(url, record, target)
            except CorruptWeights as error:
                mismatch = mismatch or error
            except _Unreachable as error:
                failures.append(f"{url}: {error} (no network? set ZOO_OFFLINE=1 to skip downloads)")
            except (_Transient, _Permanent) as error:
                failures.append(f"{url}: {error}")
            else:
                if markers is not None and record.hash is not None:
                    markers.save(record, target)
                return target
    if mismatch is not None:
        raise mismatch
    raise WeightsNotFound("failed: " + "; ".join(failures))


def _fetch_from(url: str, record: WeightsRecord, target: Path) -> None:
    """Up to ATTEMPTS tries of one URL, announced once; an unreachable host or a 404 is not tried again."""
    size = f" ({record.bytes / 1e6:.1f} MB)" if record.bytes else ""
    print(f"zoo: downloading {record.file}{size} from {url}", file=sys.stderr)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _download(url, record, target)
            return
        except _Transient as error:
            if attempt == ATTEMPTS:
                raise
            print(f"zoo: {error}; trying again ({attempt + 1}/{ATTEMPTS})", file=sys.stderr)
            time.sleep(RETRY_WAIT_S * attempt)


def _download(url: str, record: WeightsRecord, target: Path) -> None:
    """One attempt: stream into a hidden temp file beside `target`, check it, rename it into place."""
    temp = None
    try:
        handle, temp = open_temp_beside(target)
        with os.fdopen(handle, "wb") as out:
            sink = _CappedHashingFile(out, record, url)
            _stream(url, sink)
            out.flush()
            os.fsync(out.fileno())
        if record.bytes is not None and sink.size < record.bytes:
            raise _Transient(f"the transfer ended after {sink.size} of {record.bytes} bytes")
        if sink.hasher is not None:
            check_digest(record, f"{record.file} from {url}", sink.hasher.hexdigest(), _nothing_saved(url))
        os.replace(temp, target)
    except (OSError, _LocalWriteFailed) as error:
        raise CacheNotWritable(
            f"cannot write {record.file} into {target.parent}: {error}. "
            "Free some space, or set ZOO_CACHE_DIR to a folder on a disk with room."
        ) from None
    finally:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)


def _stream(url: str, sink: _CappedHashingFile) -> None:
    """pooch streams the body into `sink` with a progress bar on stderr; network errors become ours."""
    import requests
    from pooch import HTTPDownloader

    downloader = HTTPDownloader(progressbar=True, chunk_size=CHUNK_BYTES, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
    try:
        downloader(url, sink, None)
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        kind = _Transient if status >= 500 or status == 429 else _Permanent
        raise kind(f"HTTP {status}") from None
    except requests.exceptions.SSLError as error:  # a certificate problem stays one: no retry
        raise _Permanent(f"TLS error: {_reason(error)}") from None
    except (requests.ConnectTimeout, requests.exceptions.ProxyError) as error:
        raise _Unreachable(_reason(error)) from None
    except requests.ConnectionError as error:
        if sink.size == 0 and _never_connected(error):
            raise _Unreachable(_reason(error)) from None
        raise _Transient(_reason(error)) from None
    except (requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
        raise _Transient(_reason(error)) from None
    except requests.RequestException as error:
        raise _Permanent(_reason(error)) from None
    except OSError as error:  # local write failures arrive as _LocalWriteFailed, so this is the network's
        raise _Transient(_reason(error)) from None


def _never_connected(error: Exception) -> bool:
    """Whether urllib3 failed before any connection (DNS, refused, unreachable) rather than during a transfer."""
    from urllib3.exceptions import NewConnectionError

    cause = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    cause = getattr(cause, "reason", None) or cause
    return isinstance(cause, NewConnectionError | ConnectionRefusedError | socket.gaierror)


def _reason(error: Exception) -> str:
    """The root cause in one short line: urllib3 wraps it in MaxRetryError and prefixes the connection's repr."""
    cause = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    cause = getattr(cause, "reason", None) or cause
    lines = str(cause).strip().splitlines()
    text = re.sub(r"^(\w+\([^)]*\)|<[^>]*>): ", "", lines[0]) if lines else type(cause).__name__
    return f"{type(error).__name__}: {text}"[:240]


def _nothing_saved(url: str) -> str:
    return (
        f"Nothing was saved. The server sent other bytes than the manifest describes: try again later, "
        f"or download {url} yourself, check it, and run `zoo weights import FILE`."
    )
