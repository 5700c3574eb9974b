"""Listing files: only regular files are offered to the decoder; a named pipe named like an image never blocks."""

from __future__ import annotations

import os

import pytest
from image_files import within, write_image

from zoo.data import diagnose, load_data
from zoo.data.decoding.images import open_image
from zoo.errors import BadData

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")


@pytest.fixture
def with_pipe(classes):
    """Two classes of two images, plus a named pipe cat/pipe.jpg that nothing ever writes to."""
    root = classes({"cat": 2, "dog": 2})
    os.mkfifo(root / "cat" / "pipe.jpg")
    return root


def test_doctor_and_training_pass_over_a_named_pipe_and_say_so(with_pipe):
    report = within(20, lambda: diagnose(with_pipe, progress=False))
    assert report.ok and report.listed == 4 and "pipe.jpg" in report.notes[0] and "not regular files" in str(report)
    data = within(20, lambda: load_data(with_pipe, image_size=(8, 8), progress=False))
    assert len(data) == 4 and "passed over" in data.origin


def test_a_named_pipe_given_directly_or_in_a_csv_is_refused_at_once(with_pipe, tmp_path):
    pipe = with_pipe / "cat" / "pipe.jpg"
    with pytest.raises(BadData, match="pipe.jpg: not a regular file .*pass an image file"):
        within(20, lambda: open_image(pipe))
    write_image(tmp_path / "a.png")
    (tmp_path / "labels.csv").write_text(f"id,label\na.png,x\n{pipe},y\n")
    with pytest.raises(BadData, match=r"1 rows of CSV .* point at folders, named pipes or devices.*line 3"):
        within(20, lambda: load_data(tmp_path / "labels.csv", image_size=(8, 8), progress=False))


def test_the_scan_refuses_a_pipe_that_appears_after_listing(tmp_path):
    from zoo.data.decoding.scan import ScanOptions, scan_files

    os.mkfifo(tmp_path / "late.png")
    scans = within(20, lambda: scan_files([str(tmp_path / "late.png")], ScanOptions(), progress=False))
    assert scans[0].reason.startswith("not a regular file")
