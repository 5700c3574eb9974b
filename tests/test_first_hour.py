"""The errors a newcomer meets first each end the command with one line that says the fix, and no traceback.

The CLI runs in-process (`zoo.cli.main.main`), so what is checked is exactly what `zoo` prints on stderr.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PIL import Image

import zoo
from zoo.cli.main import main

CHELSEA = Path(zoo.__file__).parent / "assets" / "chelsea.jpg"


def one_line_error(capsys, argv: list[str]) -> str:
    """Run `zoo ARGV`; check it fails with exactly one `zoo: error:` line on stderr and return that line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0, f"zoo {' '.join(argv)} succeeded"
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), err
    return lines[0]


@pytest.mark.parametrize("argv", [["info", "resnet5"], ["predict", "resnet5", "x.jpg"]], ids=["info", "predict"])
def test_unknown_model_name_gets_the_closest_names(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)  # no file called resnet5 here
    line = one_line_error(capsys, argv)
    assert "unknown model 'resnet5'" in line and "Did you mean: resnet50" in line and "zoo list" in line


def test_no_weights_offline_names_the_file_and_how_to_import_it(capsys, tmp_path, monkeypatch):
    def no_network(sock, address):
        raise AssertionError(f"offline, yet a connection to {address} was tried")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    for variable in ("ZOO_WEIGHTS_DIR", "ZOO_CACHE_DIR"):
        (tmp_path / variable).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / variable))
    line = one_line_error(capsys, ["predict", "resnet50", str(CHELSEA)])
    file = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    assert f"no file {file}" in line and "ZOO_OFFLINE=1" in line and str(tmp_path / "ZOO_CACHE_DIR") in line
    assert f"run `zoo weights import {file}`" in line and "https://" in line


@pytest.mark.parametrize("argv", [["finetune", "lenet5"], ["doctor"]], ids=["finetune", "doctor"])
def test_empty_folder_says_how_to_lay_out_the_classes(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    line = one_line_error(capsys, [*argv, "photos"])
    assert "photos has no class sub-folders (it is empty)" in line and "photos/cat/1.jpg" in line
    assert list(tmp_path.iterdir()) == [tmp_path / "photos"]  # nothing written: no run folder was started


def wrong_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files a newcomer passes as images, each with the words its error must contain."""
    (folder / "notes.txt").write_text("a shopping list, not a photo\n")
    Image.open(CHELSEA).save(folder / "whole.jpg")
    (folder / "cut.jpg").write_bytes((folder / "whole.jpg").read_bytes()[:2000])
    (folder / "album").mkdir()
    return {
        "text-file": (folder / "notes.txt", "not an image Pillow can read (an unknown or unsupported format"),
        "truncated-jpg": (folder / "cut.jpg", "image file is truncated"),
        "folder": (folder / "album", "no files in"),
        "missing": (folder / "nope.jpg", "image file not found"),
    }


FIXES = {
    "text-file": "pass a JPEG, PNG, GIF, BMP, TIFF or WebP image",
    "truncated-jpg": "download or export it again",
    "folder": "pass image files, folders of them or a CSV of paths",
    "missing": "check the path",
}


@pytest.mark.parametrize("kind", sorted(FIXES))
def test_a_file_that_is_not_an_image_fails_before_the_model_loads(capsys, tmp_path, monkeypatch, kind):
    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the images were checked")

    monkeypatch.setattr(zoo, "load", no_loading)
    path, reason = wrong_files(tmp_path)[kind]
    line = one_line_error(capsys, ["predict", "efficientnet_lite0", str(path)])
    assert str(path) in line and reason in line and FIXES[kind] in line
