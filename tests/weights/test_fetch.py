"""Downloads from a loopback HTTP server: verified files land atomically; bad ones leave nothing behind."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time

import pytest
from weights_server import WeightsServer, isolate, leftovers, read_only, record, weight_bytes, write_manifest

from zoo.errors import CacheNotWritable, CorruptWeights, WeightsNotFound
from zoo.weights import fetch as weights_fetch
from zoo.weights.cache import weights_status
from zoo.weights.manifest import load_manifest
from zoo.weights.resolve import resolve_weights

DATA = weight_bytes(200_000)


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    monkeypatch.setattr(weights_fetch, "RETRY_WAIT_S", 0.0)
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def server():
    with WeightsServer() as running:
        yield running


def manifest_for(tmp_path, server, mode="ok", served=DATA, algorithm="sha256", **changes):
    url = server.add("mini_top.h5", served, mode)
    return load_manifest(
        write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [url], algorithm, **changes)})
    )


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_good_download_lands_verified_in_the_cache(tmp_path, server, cache, capsys, algorithm):
    manifest = manifest_for(tmp_path, server, algorithm=algorithm)
    path = resolve_weights("mini.top", manifest=manifest)
    assert path == cache / "mini_top.h5" and path.read_bytes() == DATA
    assert leftovers(cache) == [] and server.hits["mini_top.h5"] == 1
    assert "downloading mini_top.h5" in capsys.readouterr().err
    assert [row.state for row in weights_status(manifest=manifest)] == ["verified"]
    assert resolve_weights("mini.top", manifest=manifest) == path
    assert server.hits["mini_top.h5"] == 1  # the second call is served by the cache


def test_a_missing_cache_folder_is_created(tmp_path, server, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "not" / "yet" / "there"))
    path = resolve_weights("mini.top", manifest=manifest_for(tmp_path, server))
    assert path == tmp_path / "not" / "yet" / "there" / "weights" / "mini_top.h5"


def test_a_connection_cut_half_way_is_retried_then_leaves_nothing(tmp_path, server, cache):
    with pytest.raises(WeightsNotFound) as caught:
        resolve_weights("mini.top", manifest=manifest_for(tmp_path, server, mode="cut"))
    assert server.hits["mini_top.h5"] == weights_fetch.ATTEMPTS
    assert not (cache / "mini_top.h5").exists() and leftovers(cache) == []
    message = str(caught.value)
    assert "mini_top.h5" in message and server.url("mini_top.h5") in message and "zoo weights import" in message


def test_a_truncated_file_on_the_server_leaves_nothing(tmp_path, server, cache):
    with pytest.raises(WeightsNotFound, match=f"ended after {len(DATA) // 2} of {len(DATA)} bytes"):
        resolve_weights("mini.top", manifest=manifest_for(tmp_path, server, served=DATA[: len(DATA) // 2]))
    assert not (cache / "mini_top.h5").exists() and leftovers(cache) == []


def test_a_wrong_hash_raises_corrupt_weights_once_and_leaves_nothing(tmp_path, server, cache):
    served = bytes([DATA[0] ^ 1]) + DATA[1:]
    with pytest.raises(CorruptWeights) as caught:
        resolve_weights("mini.top", manifest=manifest_for(tmp_path, server, served=served))
    message = str(caught.value)
    assert hashlib.sha256(DATA).hexdigest() in message and hashlib.sha256(served).hexdigest() in message
    assert "mini_top.h5" in message and "Nothing was saved" in message and "zoo weights import" in message
    assert server.hits["mini_top.h5"] == 1  # same bytes next time: no retry
    assert not (cache / "mini_top.h5").exists() and leftovers(cache) == []


def test_a_larger_file_is_cut_off_as_corrupt(tmp_path, server, cache):
    with pytest.raises(CorruptWeights, match=f"more than {len(DATA)} bytes"):
        resolve_weights("mini.top", manifest=manifest_for(tmp_path, server, served=DATA + DATA))
    assert not (cache / "mini_top.h5").exists() and leftovers(cache) == []


def test_a_server_error_is_retried(tmp_path, server):
    assert resolve_weights("mini.top", manifest=manifest_for(tmp_path, server, mode="fail-once")).read_bytes() == DATA
    assert server.hits["mini_top.h5"] == 2


def test_a_404_is_not_retried_and_the_next_url_is_tried(tmp_path, server):
    good = server.add("mini_top.h5", DATA)
    missing = server.url("elsewhere/mini_top.h5")
    manifest = load_manifest(write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [missing, good])}))
    assert resolve_weights("mini.top", manifest=manifest).read_bytes() == DATA
    assert server.hits["elsewhere/mini_top.h5"] == 1
    manifest = load_manifest(write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [missing])}))
    (tmp_path / "zoo-cache" / "weights" / "mini_top.h5").unlink()
    with pytest.raises(WeightsNotFound, match="HTTP 404"):
        resolve_weights("mini.top", manifest=manifest)


def test_a_file_without_published_hash_is_size_checked_only(tmp_path, server):
    url = server.add("mini_top.h5", DATA)
    manifest = load_manifest(write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [url], hash=None)}))
    assert resolve_weights("mini.top", manifest=manifest).read_bytes() == DATA
    assert [row.state for row in weights_status(manifest=manifest)] == ["cached"]  # nothing vouches for it


def test_concurrent_threads_download_once(tmp_path, server, cache):
    manifest = manifest_for(tmp_path, server, mode="slow")
    results, errors = [], []

    def fetch():
        try:
            results.append(resolve_weights("mini.top", manifest=manifest))
        except Exception as error:  # reported below, with the thread's error
            errors.append(error)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and results == [cache / "mini_top.h5"] * 3
    assert server.hits["mini_top.h5"] == 1 and (cache / "mini_top.h5").read_bytes() == DATA
    assert leftovers(cache) == []


def test_concurrent_processes_end_with_one_valid_file(tmp_path, server, cache):
    """The test holds the download lock while two processes start, so both must wait on it: then one downloads."""
    from filelock import FileLock

    manifest = manifest_for(tmp_path, server, mode="slow")
    code = (
        "import sys; from zoo.weights.resolve import resolve_weights; from zoo.weights.manifest import load_manifest; "
        "print(resolve_weights('mini.top', manifest=load_manifest(sys.argv[1])))"
    )
    cache.mkdir(parents=True)
    logs = [tmp_path / f"stderr-{index}.txt" for index in range(2)]
    handles = [log.open("w") for log in logs]
    with FileLock(cache / ".mini_top.h5.lock"):
        command = [sys.executable, "-c", code, str(manifest.path)]
        procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=handle) for handle in handles]
        deadline = time.monotonic() + 60
        while not all("waiting for another process" in log.read_text() for log in logs):
            assert time.monotonic() < deadline and all(proc.poll() is None for proc in procs), _texts(logs)
            time.sleep(0.05)
    outputs = [proc.communicate(timeout=60)[0].decode().strip() for proc in procs]
    for handle in handles:
        handle.close()
    assert [proc.returncode for proc in procs] == [0, 0], _texts(logs)
    assert set(outputs) == {str(cache / "mini_top.h5")}
    assert (cache / "mini_top.h5").read_bytes() == DATA and leftovers(cache) == []
    assert server.hits["mini_top.h5"] == 1  # the process that got the lock second found the finished file


def _texts(logs):
    return [log.read_text() for log in logs]


def test_a_read_only_cache_is_reported_not_replaced(tmp_path, server, cache):
    manifest = manifest_for(tmp_path, server)
    with read_only(cache), pytest.raises(CacheNotWritable) as caught:
        resolve_weights("mini.top", manifest=manifest)
    assert str(cache) in str(caught.value) and "ZOO_CACHE_DIR" in str(caught.value)
    assert server.hits["mini_top.h5"] == 0 and not (cache / "mini_top.h5").exists()


def test_a_cache_that_cannot_be_created_is_reported(tmp_path, server, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(blocker))
    with pytest.raises(CacheNotWritable, match=r"ZOO_CACHE_DIR") as caught:
        resolve_weights("mini.top", manifest=manifest_for(tmp_path, server))
    assert str(blocker / "weights") in str(caught.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_not_retried_and_reads_as_offline(tmp_path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/mini_top.h5"
    manifest = load_manifest(write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [url])}))
    with pytest.raises(WeightsNotFound, match="no network\\? set ZOO_OFFLINE=1"):
        resolve_weights("mini.top", manifest=manifest)
    err = capsys.readouterr().err
    assert err.count("downloading") == 1 and "trying again" not in err


def test_a_name_that_does_not_resolve_is_not_retried(tmp_path, monkeypatch, capsys):
    import socket

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    url = "https://weights.example.org/mini_top.h5"
    manifest = load_manifest(write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [url])}))
    with pytest.raises(WeightsNotFound, match="name resolution.*no network"):
        resolve_weights("mini.top", manifest=manifest)
    assert "trying again" not in capsys.readouterr().err
