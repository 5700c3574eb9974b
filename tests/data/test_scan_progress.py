"""Scanning many files: progress on stderr (one line per ~10% in a log), order kept across the thread pool."""

from __future__ import annotations

import io

from image_files import write_image

import zoo.data.progress
from zoo.data import load_data
from zoo.data.decoding.scan import ScanOptions, scan_files
from zoo.data.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_per_tenth():
    stream = io.StringIO()
    meter = Progress(250, "checking 250 images", stream=stream)
    for _ in range(250):
        meter.advance()
    meter.close()
    lines = stream.getvalue().splitlines()
    assert lines[:10] == [f"checking 250 images: {p}% ({p * 250 // 100}/250)" for p in range(10, 101, 10)]
    assert len(lines) == 11 and lines[-1].startswith("checking 250 images: 250/250 done in ")


def test_a_terminal_gets_one_updating_line():
    stream = Terminal()
    meter = Progress(300, "checking", stream=stream)
    for _ in range(300):
        meter.advance()
    meter.close()
    text = stream.getvalue()
    assert text.startswith("\rchecking: 1/300 (0%)") and "\rchecking: 300/300 (100%)" in text
    assert text.count("\n") == 1 and text.endswith(" s\n")


def test_short_scans_and_disabled_progress_print_nothing():
    for meter in (Progress(10, "x", stream=io.StringIO()), Progress(1000, "x", enabled=False, stream=io.StringIO())):
        for _ in range(meter.total):
            meter.advance()
        meter.close()
        assert meter.stream.getvalue() == ""


def test_loading_reports_progress_on_stderr(classes, capsys, monkeypatch):
    monkeypatch.setattr(zoo.data.progress, "MIN_FILES", 10)
    root = classes({"cat": 10, "dog": 10})
    load_data(root, image_size=(8, 8))
    captured = capsys.readouterr()
    assert captured.out == ""
    plan, first = captured.err.splitlines()[:2]
    assert plan.startswith("image store: 20 images") and first == "checking 20 images: 10% (2/20)"
    load_data(root, image_size=(8, 8), progress=False)
    assert capsys.readouterr().err == ""
    load_data(root, image_size=(8, 8))  # the store holds them now: nothing to decode
    assert capsys.readouterr().err.startswith("image store: 20 decoded images reused from ")


def test_many_threads_keep_the_file_order(tmp_path):
    files = [str(write_image(tmp_path / f"{i:03}.png", size=(4 + i % 5, 6), seed=i)) for i in range(40)]
    scans = scan_files(files, ScanOptions(), workers=8, progress=False)
    assert [scan.file for scan in scans] == files
    assert [scan.size for scan in scans] == [(4 + i % 5, 6) for i in range(40)]
