"""`zoo doctor DATA`: text and JSON reports, exit status, the CSV options, and no TensorFlow import."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from PIL import Image

from zoo.cli.doctor import add_doctor_parser


def doctor(*argv: str) -> int:
    """Run `zoo doctor ARGV` through the parser the CLI uses."""
    parser = argparse.ArgumentParser(prog="zoo")
    add_doctor_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["doctor", *argv])
    return args.run(args)


def make_folder(root, counts):
    rng = np.random.default_rng(0)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def test_text_report_and_exit_status_zero(tmp_path, capsys):
    root = make_folder(tmp_path / "pets", {"cat": 3, "dog": 2})
    (root / "dog" / "bad.jpg").write_bytes(b"")
    assert doctor(str(root)) == 0
    out = capsys.readouterr().out
    assert "files: 6 (5 usable, 1 skipped)" in out and "bad.jpg: empty file (0 bytes)" in out
    assert "cat       3" in out and out.rstrip().endswith("verdict: ready to train")


def test_json_report_is_one_object(tmp_path, capsys):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    assert doctor(str(root), "--json") == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["classes"] == {"cat": 2, "dog": 2} and report["class_weights"] == {"cat": 1.0, "dog": 1.0}
    assert captured.out.count("\n") == 1 and captured.err == ""


def test_problems_exit_one_and_csv_options_are_passed(tmp_path, capsys):
    root = make_folder(tmp_path / "imgs", {"x": 2})
    (tmp_path / "train.csv").write_text("name,kind\n0,a\n1,b\n2,b\n")
    options = ["--id-col", "name", "--label-col", "kind", "--image-dir", str(root / "x"), "--extension", "png"]
    status = doctor(str(tmp_path / "train.csv"), *options, "--json")
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["ok"] is False and report["classes"] == {"a": 1, "b": 1}
    assert any("1 of 3 rows" in problem and "2.png" in problem for problem in report["problems"])


def test_doctor_does_not_import_tensorflow(tmp_path):
    root = make_folder(tmp_path / "pets", {"cat": 2, "dog": 2})
    code = (
        "import sys, argparse\n"
        "from zoo.cli.doctor import add_doctor_parser\n"
        "parser = argparse.ArgumentParser(); add_doctor_parser(parser.add_subparsers())\n"
        f"args = parser.parse_args(['doctor', {str(root)!r}, '--json']); status = args.run(args)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["usable"] == 4


def test_a_path_that_does_not_exist_is_one_line_and_exit_two(tmp_path, capsys, monkeypatch):
    from zoo.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["doctor", "nonexist"]) == 2
    err = capsys.readouterr().err
    assert err == "zoo: error: nonexist: no such file or folder (pass a folder of class sub-folders or a CSV)\n"
