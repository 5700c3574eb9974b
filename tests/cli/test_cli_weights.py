"""`zoo weights list|import|verify|path` through add_weights_parser on a parser of the test's own."""

from __future__ import annotations

import argparse
import hashlib
import json

import pytest
from weights_server import WeightsServer, isolate, record, weight_bytes, write_manifest

from zoo.cli.weights import add_weights_parser
from zoo.errors import CorruptWeights, UnknownWeightsFile, WeightsDoNotFit
from zoo.sealed import write_sealed
from zoo.weights.cache import import_weights
from zoo.weights.manifest import load_manifest

DATA = weight_bytes(40_000)
NOTOP = weight_bytes(20_000, seed=3)
URL = "https://weights.example.org/mini_top.h5"


@pytest.fixture(autouse=True)
def cache(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def manifest_path(tmp_path):
    records = {
        "mini.top": record("mini_top.h5", DATA, [URL]),
        "mini.notop": record("mini_notop.h5", NOTOP, [URL.replace("top", "notop")]),
    }
    return write_manifest(tmp_path, records)


def zoo(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zoo")
    add_weights_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.run(args)


def a_download(tmp_path, name="mini_top.h5", data=DATA):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_list_shows_every_key_and_its_state(manifest_path, tmp_path, capsys, cache):
    assert zoo("weights", "list", "--manifest", str(manifest_path)) == 0
    out = capsys.readouterr().out
    assert f"# cache: {cache}" in out
    rows = [line.split() for line in out.splitlines() if not line.startswith("#")]
    assert [row[:2] for row in rows[:2]] == [["mini.top", "missing"], ["mini.notop", "missing"]]
    assert rows[0][2:5] == ["0.0", "MB", "offline"] and rows[0][5] == "no"  # 40 kB from the manifest
    assert out.rstrip().endswith("0 of 2 files available offline")
    assert zoo("weights", "import", str(a_download(tmp_path)), "--manifest", str(manifest_path)) == 0
    capsys.readouterr()
    assert zoo("weights", "list", "--json", "--manifest", str(manifest_path)) == 0
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["mini.top"]["state"] == "verified" and rows["mini.top"]["path"] == str(cache / "mini_top.h5")
    assert rows["mini.notop"] == {**rows["mini.notop"], "state": "missing", "path": None}


def test_import_copies_known_files_and_refuses_others(manifest_path, tmp_path, capsys, cache):
    renamed = a_download(tmp_path, "whatever.bin", NOTOP)
    assert zoo("weights", "import", str(a_download(tmp_path)), str(renamed), "--manifest", str(manifest_path)) == 0
    out = capsys.readouterr().out
    assert f"as mini.top -> {cache / 'mini_top.h5'}" in out and f"as mini.notop -> {cache / 'mini_notop.h5'}" in out
    with pytest.raises(UnknownWeightsFile, match="notes.txt"):  # zoo.cli.main.main turns it into one line and exit 2
        zoo("weights", "import", str(a_download(tmp_path, "notes.txt", b"hello")), "--manifest", str(manifest_path))


def test_verify_reports_good_bad_missing_and_exits_1_on_bad(manifest_path, tmp_path, capsys, cache):
    zoo("weights", "import", str(a_download(tmp_path)), "--manifest", str(manifest_path))
    capsys.readouterr()
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 0
    assert "1 good, 0 bad, 0 trusted, 0 unverifiable, 1 missing" in capsys.readouterr().out
    (cache / "mini_top.h5").write_bytes(DATA[::-1])
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith("bad") and "is not the published file" in out and "0 good, 1 bad" in out
    assert "--as mini.top --trust" in out  # a user's own file is not just called corrupt
    assert zoo("weights", "verify", "--json", "--manifest", str(manifest_path)) == 1
    assert [row["state"] for row in json.loads(capsys.readouterr().out)] == ["bad", "missing"]


def test_path_prints_the_resolved_path(manifest_path, tmp_path, capsys, cache):
    zoo("weights", "import", str(a_download(tmp_path)), "--manifest", str(manifest_path))
    capsys.readouterr()
    assert zoo("weights", "path", "mini.top", "--manifest", str(manifest_path)) == 0
    assert capsys.readouterr().out.strip() == str(cache / "mini_top.h5")
    assert zoo("weights", "path", "mini", "--manifest", str(manifest_path)) == 0  # a model name: its .top file
    assert capsys.readouterr().out.strip() == str(cache / "mini_top.h5")


def test_path_offline_prints_where_it_looked_and_exits_2(manifest_path, capsys):
    assert zoo("weights", "path", "mini.notop", "--offline", "--manifest", str(manifest_path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "mini_notop.h5" in captured.err and URL.replace("top", "notop") in captured.err
    assert "zoo weights import mini_notop.h5" in captured.err and "Traceback" not in captured.err


def test_path_downloads_when_online(tmp_path, capsys, cache):
    with WeightsServer() as server:
        url = server.add("mini_top.h5", DATA)
        manifest_path = write_manifest(tmp_path, {"mini.top": record("mini_top.h5", DATA, [url])})
        assert zoo("weights", "path", "mini.top", "--manifest", str(manifest_path)) == 0
    assert capsys.readouterr().out.strip() == str(cache / "mini_top.h5")


def test_an_unknown_name_exits_2_with_close_matches(manifest_path, capsys):
    assert zoo("weights", "path", "mini.tpo", "--manifest", str(manifest_path)) == 2
    assert "Did you mean: mini.top" in capsys.readouterr().err


def test_import_as_trust_takes_your_own_file_unverified(manifest_path, tmp_path, capsys, cache):
    mine = a_download(tmp_path, "my_finetuned.h5", weight_bytes(41_000, seed=9))
    with pytest.raises(CorruptWeights, match="(?s)is not the published file.*--as mini.top --trust"):
        zoo("weights", "import", str(mine), "--as", "mini.top", "--manifest", str(manifest_path))
    # the bookkeeping of a trusted file (the command line also checks that it loads: mini has no architecture)
    imported = import_weights([mine], manifest=load_manifest(manifest_path), as_key="mini.top", trust=True)[0]
    sha256 = hashlib.sha256(mine.read_bytes()).hexdigest()
    assert imported.path == cache / "mini_top.h5" and imported.trusted == sha256
    assert zoo("weights", "list", "--manifest", str(manifest_path)) == 0
    listed = capsys.readouterr().out
    assert "mini.top    trusted" in listed and "offline yes" in listed and "1 of 2 files available offline" in listed
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 0
    assert "trusted       mini.top" in capsys.readouterr().out
    (cache / "mini_top.h5").write_bytes(weight_bytes(41_000, seed=10))  # changed after it was trusted
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 1


def test_import_as_takes_one_file(manifest_path, tmp_path):
    with pytest.raises(UnknownWeightsFile, match="exactly one file"):
        zoo(
            "weights",
            "import",
            str(a_download(tmp_path)),
            str(a_download(tmp_path, "b.h5")),
            "--as",
            "mini.top",
            "--manifest",
            str(manifest_path),
        )


def test_verify_checks_converted_files(manifest_path, capsys, cache):
    converted = cache / "converted"
    converted.mkdir(parents=True)
    good, bad = converted / "mini.top-0123456789ab.weights.h5", converted / "mini.notop-0123456789ab.weights.h5"
    for path in (good, bad):
        write_sealed(path, b"converted weights")
    with open(bad, "r+b") as handle:
        handle.write(b"C")
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 1
    out = capsys.readouterr().out
    assert f"good          mini.top    {good}" in out and f"bad           mini.notop  {bad}" in out
    assert "converted again from its package" in out


def test_trust_refuses_a_file_that_does_not_load_into_the_architecture(tmp_path, capsys, cache):
    import keras

    from zoo.loading.assemble import load

    lenet = tmp_path / "lenet.weights.h5"
    load("lenet5").save_weights(lenet)
    with pytest.raises(WeightsDoNotFit, match="does not load into efficientnet_lite0.*Nothing was imported"):
        zoo("weights", "import", str(lenet), "--as", "efficientnet_lite0.top", "--trust")
    assert not (cache / "efficientnet-lite0-57934424.pth").exists()
    # one stored before this check existed breaks the bundled model: the error names the command that undoes it
    import_weights([lenet], as_key="efficientnet_lite0.top", trust=True)
    with pytest.raises(WeightsDoNotFit, match="`zoo weights remove efficientnet_lite0.top` removes it"):
        load("efficientnet_lite0")
    assert zoo("weights", "remove", "efficientnet_lite0.top") == 0
    assert "removed" in capsys.readouterr().out and not (cache / "efficientnet-lite0-57934424.pth").exists()
    assert isinstance(load("efficientnet_lite0"), keras.Model)  # the published file again
