"""What the weights tests share: a loopback HTTP server for weight files, manifests made in tmp_path, isolation.

The manifest accepts plain http only for loopback hosts (see zoo/weights/manifest.py), so these manifests point at
http://127.0.0.1:<port>/ and the tests never need TLS or the internet.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# How the server misbehaves for a file: "ok", "cut" (Content-Length says all, the connection closes half way),
# "slow" (all of it, in small sleeps), "fail-once" (HTTP 500, then ok), "missing" (404).
MODES = ("ok", "cut", "slow", "fail-once", "missing")


class WeightsServer:
    """A threaded HTTP server on 127.0.0.1 serving in-memory files, counting the GETs of each."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def add(self, name: str, data: bytes, mode: str = "ok") -> str:
        self.files[name], self.modes[name] = data, mode
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/{name}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                return

            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                with server._lock:
                    server.hits[name] += 1
                    hits = server.hits[name]
                mode = server.modes.get(name, "missing")
                if mode == "missing" or (mode == "fail-once" and hits == 1):
                    self.send_error(404 if mode == "missing" else 500)
                    return
                data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode == "cut":
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                step = 16384 if mode == "slow" else len(data)
                for start in range(0, len(data), step):
                    self.wfile.write(data[start : start + step])
                    if mode == "slow":
                        time.sleep(0.02)

        return Handler

    def __enter__(self) -> WeightsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def weight_bytes(size: int = 200_000, seed: int = 0) -> bytes:
    """Deterministic bytes standing in for a weights file (several 64 KiB download chunks)."""
    out, block = bytearray(), hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def record(file: str, data: bytes | None, urls: list[str], algorithm: str = "sha256", **changes) -> dict:
    """A manifest record describing `data` (hash and size), with `changes` applied."""
    digest = {"algorithm": algorithm, "value": hashlib.new(algorithm, data).hexdigest()} if data is not None else None
    size = len(data) if data is not None else None
    base = {"file": file, "hash": digest, "bytes": size, "format": "keras-h5", "urls": urls, "package": None}
    return {**base, "license": "Apache-2.0", **changes}


def write_manifest(folder: Path, records: dict[str, dict]) -> Path:
    path = folder / "weights_manifest.json"
    path.write_text(json.dumps({"schema_version": 1, "files": records}, indent=1))
    return path


def isolate(monkeypatch, tmp_path: Path) -> Path:
    """Point the cache at tmp_path, clear the other variables, and refuse every non-loopback connection."""
    cache_root = tmp_path / "zoo-cache"
    monkeypatch.setenv("ZOO_CACHE_DIR", str(cache_root))
    monkeypatch.delenv("ZOO_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("ZOO_OFFLINE", raising=False)
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    real_connect = socket.socket.connect

    def loopback_only(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test refused a connection to {address}: tests stay on loopback")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return cache_root / "weights"


def leftovers(folder: Path) -> list[str]:
    """Temp files left in a cache folder (there must be none after any download or import)."""
    return sorted(name for name in os.listdir(folder) if name.endswith(".part")) if folder.is_dir() else []


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` unwritable even for root (chattr +i), else by mode bits; restored afterwards."""
    import shutil
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        import pytest

        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode != 0:
            pytest.skip("running as root without chattr +i: cannot make a folder read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        return
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(0o755)
