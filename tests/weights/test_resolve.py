"""Resolution order, offline mode, hash checks of local files, import, verify and status (no network at all)."""

from __future__ import annotations

import hashlib
import os
import socket
import sys

import pytest
from weights_server import isolate, leftovers, read_only, record, weight_bytes, write_manifest

from zoo.errors import CacheNotWritable, CorruptWeights, UnknownWeightsFile, WeightsNotFound
from zoo.weights import verify as weights_verify
from zoo.weights.cache import import_weights, verify_cache, weights_identity, weights_status
from zoo.weights.manifest import load_manifest
from zoo.weights.resolve import is_offline, resolve_checked, resolve_weights

DATA = weight_bytes(50_000)
NOTOP = weight_bytes(30_000, seed=1)
URL = "https://weights.example.org/releases/mini_top.h5"


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def manifest(tmp_path):
    records = {
        "mini.top": record("mini_top.h5", DATA, [URL]),
        "mini.notop": record("mini_notop.h5", NOTOP, [URL.replace("top", "notop")], algorithm="md5"),
    }
    return load_manifest(write_manifest(tmp_path, records))


def downloaded(tmp_path, name="mini_top.h5", data=DATA):
    """A file as the user downloaded it by hand, outside every place zoo looks."""
    folder = tmp_path / "downloads"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def flip_a_byte(path, keep_mtime=False):
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_mtime:  # a change that hides from mtime still changes ctime
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_offline_with_sockets_blocked_fails_fast_naming_file_url_and_fix(manifest, monkeypatch, cache):
    attempts = []

    def no_network(sock, address):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(WeightsNotFound) as caught:
        resolve_weights("mini.top", manifest=manifest)
    assert attempts == []  # no connection tried: nothing to wait for
    message = str(caught.value)
    assert "mini_top.h5" in message and URL in message and "zoo weights import mini_top.h5" in message
    assert str(cache / "mini_top.h5") in message and "ZOO_WEIGHTS_DIR" in message and "ZOO_OFFLINE=1" in message
    assert "Traceback" not in message and len(message.splitlines()) <= 8


def test_offline_argument_overrides_the_environment(manifest, monkeypatch):
    with pytest.raises(WeightsNotFound, match=r"offline \(offline=True\)"):
        resolve_weights("mini.top", manifest=manifest, offline=True)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert is_offline() and not is_offline(False)
    monkeypatch.setenv("ZOO_OFFLINE", "0")
    assert not is_offline() and is_offline(True)


def test_the_weights_dir_is_preferred_over_the_cache(manifest, tmp_path, monkeypatch, cache):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    mine = tmp_path / "my-weights"
    mine.mkdir()
    (mine / "mini_top.h5").write_bytes(DATA)
    monkeypatch.setenv("ZOO_WEIGHTS_DIR", str(mine))
    assert resolve_weights("mini.top", manifest=manifest) == mine / "mini_top.h5"
    assert sorted(os.listdir(mine)) == ["mini_top.h5"]  # nothing is ever written there
    assert weights_status(manifest=manifest)[0].where == "$ZOO_WEIGHTS_DIR"


def test_a_corrupt_file_in_the_weights_dir_is_refused_not_skipped(manifest, tmp_path, monkeypatch):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    mine = tmp_path / "my-weights"
    mine.mkdir()
    (mine / "mini_top.h5").write_bytes(DATA[:-1] + b"!")
    monkeypatch.setenv("ZOO_WEIGHTS_DIR", str(mine))
    with pytest.raises(CorruptWeights, match=str(mine / "mini_top.h5")) as caught:
        resolve_weights("mini.top", manifest=manifest)
    message = str(caught.value)  # your own file is not just called corrupt: the way to use it is named
    assert "is not the published file" in message and "is corrupt" not in message
    assert f"zoo weights import '{mine / 'mini_top.h5'}' --as mini.top --trust" in message and "verify=False" in message


def test_verify_false_takes_your_own_file_and_records_its_sha256(manifest, tmp_path):
    mine = downloaded(tmp_path, "my_checkpoint.h5", weight_bytes(123, seed=7))
    resolved = resolve_checked("mini.top", mine, verify=False, manifest=manifest)
    assert resolved.path == mine and hashlib.sha256(mine.read_bytes()).hexdigest() in resolved.unverified
    with pytest.raises(CorruptWeights):
        resolve_checked("mini.top", mine, manifest=manifest)
    assert resolve_checked("mini.top", downloaded(tmp_path), manifest=manifest).unverified == ""


def test_a_file_without_published_hash_loads_as_unverified(tmp_path, monkeypatch):
    records = {"mobile.top": record("mobile_top.h5", DATA, [URL], hash=None)}  # as MobileNet v1/v2's files
    manifest = load_manifest(write_manifest(tmp_path, records))
    mine = tmp_path / "folder"
    mine.mkdir()
    (mine / "mobile_top.h5").write_bytes(DATA)
    monkeypatch.setenv("ZOO_WEIGHTS_DIR", str(mine))
    assert resolve_checked("mobile.top", manifest=manifest).unverified == "no published hash to check it against"


def test_a_trusted_import_resolves_as_unverified_until_it_changes(manifest, tmp_path, cache):
    mine = downloaded(tmp_path, "my_checkpoint.h5", weight_bytes(123, seed=7))
    (imported,) = import_weights([mine], manifest=manifest, as_key="mini.top", trust=True)
    assert imported.path == cache / "mini_top.h5" and imported.trusted == hashlib.sha256(mine.read_bytes()).hexdigest()
    resolved = resolve_checked("mini.top", manifest=manifest)
    assert resolved.path == cache / "mini_top.h5" and imported.trusted in resolved.unverified
    assert [row.state for row in weights_status(manifest=manifest)][0] == "trusted"
    flip_a_byte(cache / "mini_top.h5")
    with pytest.raises(CorruptWeights, match="is not the published file"):
        resolve_weights("mini.top", manifest=manifest)


def test_an_explicit_path_wins_and_is_checked(manifest, tmp_path):
    path = downloaded(tmp_path)
    assert resolve_weights("mini.top", path, manifest=manifest) == path
    assert resolve_weights("mini.top", path.parent, manifest=manifest) == path  # a folder holding the file
    with pytest.raises(WeightsNotFound, match="passed explicitly"):
        resolve_weights("mini.top", tmp_path / "nowhere.h5", manifest=manifest)
    flip_a_byte(path)
    with pytest.raises(CorruptWeights):
        resolve_weights("mini.top", path, manifest=manifest)


@pytest.mark.parametrize("keep_mtime", [False, True])
def test_a_flipped_byte_in_the_cache_is_caught_on_resolve_and_by_verify(manifest, tmp_path, cache, keep_mtime):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    cached = cache / "mini_top.h5"
    assert resolve_weights("mini.top", manifest=manifest) == cached
    flip_a_byte(cached, keep_mtime)
    with pytest.raises(CorruptWeights) as caught:
        resolve_weights("mini.top", manifest=manifest)
    message = str(caught.value)
    assert str(cached) in message and hashlib.sha256(DATA).hexdigest() in message
    assert hashlib.sha256(cached.read_bytes()).hexdigest() in message
    assert "rm " in message and "zoo weights import" in message
    states = {check.key: check.state for check in verify_cache(manifest=manifest)}
    assert states == {"mini.top": "bad", "mini.notop": "missing"}


def test_a_verified_file_is_not_hashed_again_but_verify_always_rehashes(manifest, tmp_path, monkeypatch):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    calls = []
    real = weights_verify.digest_file
    monkeypatch.setattr(weights_verify, "digest_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        resolve_weights("mini.top", manifest=manifest)
    assert calls == []  # the import left a marker for this very file
    assert [c.state for c in verify_cache(manifest=manifest) if c.key == "mini.top"] == ["good"]
    assert len(calls) == 1


def test_a_truncated_cached_file_is_caught_by_its_size(manifest, tmp_path, cache):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    (cache / "mini_top.h5").write_bytes(DATA[:1000])
    with pytest.raises(CorruptWeights, match=r"its size is 1000 bytes, the manifest expects 50000 bytes"):
        resolve_weights("mini.top", manifest=manifest)


def test_import_matches_by_name_then_by_hash(manifest, tmp_path, cache):
    renamed = downloaded(tmp_path, "download (1).bin", NOTOP)
    imported = import_weights([downloaded(tmp_path), renamed], manifest=manifest)
    assert [(item.keys, item.path) for item in imported] == [
        (("mini.top",), cache / "mini_top.h5"),
        (("mini.notop",), cache / "mini_notop.h5"),
    ]
    assert (cache / "mini_notop.h5").read_bytes() == NOTOP and leftovers(cache) == []
    assert {row.key: row.state for row in weights_status(manifest=manifest)} == {
        "mini.top": "verified",
        "mini.notop": "verified",
    }
    assert oct((cache / "mini_top.h5").stat().st_mode & 0o777) != oct(0o600)  # readable like any other file


def test_import_refuses_unknown_and_corrupt_files_before_copying_any(manifest, tmp_path, cache):
    stranger = downloaded(tmp_path, "holiday.jpg", b"not weights")
    with pytest.raises(UnknownWeightsFile, match="holiday.jpg") as caught:
        import_weights([downloaded(tmp_path), stranger], manifest=manifest)
    assert "zoo weights list" in str(caught.value)
    assert not (cache / "mini_top.h5").exists()
    bad = downloaded(tmp_path, "mini_notop.h5", NOTOP[:-1] + b"?")
    with pytest.raises(CorruptWeights, match="nothing was imported") as caught:
        import_weights([bad], manifest=manifest)
    assert hashlib.md5(NOTOP).hexdigest() in str(caught.value)
    with pytest.raises(WeightsNotFound, match="no such file"):
        import_weights([tmp_path / "absent.h5"], manifest=manifest)


def test_import_into_a_read_only_cache_is_reported(manifest, tmp_path, cache):
    source = downloaded(tmp_path)
    with read_only(cache), pytest.raises(CacheNotWritable) as caught:
        import_weights([source], manifest=manifest)
    assert str(cache) in str(caught.value) and "ZOO_CACHE_DIR" in str(caught.value)


def test_a_read_only_cache_still_serves_its_files(manifest, tmp_path, cache):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    with read_only(cache):
        assert resolve_weights("mini.top", manifest=manifest, offline=True) == cache / "mini_top.h5"


def test_status_lists_every_key_without_hashing(manifest, tmp_path, cache, monkeypatch):
    import_weights([downloaded(tmp_path)], manifest=manifest)
    (cache / "mini_notop.h5").write_bytes(NOTOP)  # put there by hand: present, not yet verified
    monkeypatch.setattr(weights_verify, "digest_file", lambda *a, **k: pytest.fail("status must not hash"))
    rows = {row.key: (row.state, row.path) for row in weights_status(manifest=manifest)}
    assert rows == {"mini.top": ("verified", cache / "mini_top.h5"), "mini.notop": ("cached", cache / "mini_notop.h5")}


@pytest.mark.parametrize("with_metadata", [True, False])
def test_a_bundled_package_file_is_found_without_importing_the_package(tmp_path, monkeypatch, with_metadata):
    site = tmp_path / "site"
    package = site / "zoo_fake_weights_pkg"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the package code must not run')\n")
    (package / "weights" / "tiny.pkl").write_bytes(DATA)
    if with_metadata:
        info = site / "zoo_fake_weights_pkg-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-fake-weights-pkg\nVersion: 0.1\n")
    monkeypatch.syspath_prepend(str(site))
    bundled = {"name": "zoo-fake-weights-pkg", "version": "0.1", "path": "zoo_fake_weights_pkg/weights/tiny.pkl"}
    records = {"tiny.top": record("tiny.pkl", DATA, [], format="numpy-pickle", package=bundled)}
    manifest = load_manifest(write_manifest(tmp_path, records))
    assert [row.state for row in weights_status(manifest=manifest)] == ["bundled"]
    assert resolve_weights("tiny", manifest=manifest, offline=True) == package / "weights" / "tiny.pkl"
    assert "zoo_fake_weights_pkg" not in sys.modules


def test_a_missing_package_is_named_with_the_install_command(tmp_path):
    bundled = {"name": "zoo-absent-pkg", "version": "2.0", "path": "zoo_absent_pkg/w.pkl"}
    records = {"tiny.top": record("tiny.pkl", DATA, [], format="numpy-pickle", package=bundled)}
    with pytest.raises(WeightsNotFound, match=r"pip install zoo-absent-pkg==2.0"):
        resolve_weights("tiny.top", manifest=load_manifest(write_manifest(tmp_path, records)))


def test_the_weights_modules_stay_light():
    """Listing imports zoo.weights.resolve and zoo.cli.weights: no TensorFlow, Keras, numpy or HTTP stack at import."""
    import subprocess

    code = (
        "import sys; import zoo.weights.resolve, zoo.cli.weights; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'numpy', 'requests', 'pooch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_identity_of_a_trusted_file_is_its_own_hash(manifest, tmp_path):
    published = str(manifest.get("mini.top").hash)
    assert weights_identity(manifest.get("mini.top")) == published
    mine = downloaded(tmp_path, "my_checkpoint.h5", weight_bytes(123, seed=7))
    (imported,) = import_weights([mine], manifest=manifest, as_key="mini.top", trust=True)
    assert weights_identity(manifest.get("mini.top")) == f"trusted-sha256:{imported.trusted}"
