"""`zoo weights list|import|verify|path` through add_weights_parser on a parser of the test's own."""

from __future__ import annotations

import argparse
import json

import pytest
from weights_server import WeightsServer, isolate, record, weight_bytes, write_manifest

from zoo.cli.weights import add_weights_parser
from zoo.errors import UnknownWeightsFile

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
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["mini.top", "missing"], ["mini.notop", "missing"]]
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
    assert "1 good, 0 bad, 0 unverifiable, 1 missing" in capsys.readouterr().out
    (cache / "mini_top.h5").write_bytes(DATA[::-1])
    assert zoo("weights", "verify", "--manifest", str(manifest_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith("bad") and "is corrupt" in out and "0 good, 1 bad" in out
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
