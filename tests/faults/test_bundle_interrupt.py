"""Ctrl-C during `zoo kaggle bundle`: exit 130 with one line, the lock released, the kit never looks finished (no
notebook), and the next bundle replaces every partial file and finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.kaggle import train
from zoo.kaggle.submit.kit_notebook import NOTEBOOK_FILE
from zoo.results.run_folder import LOCK

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "kaggle"))
from kaggle_data import image_competition  # noqa: E402

# Building zoo's wheel and downloading the others takes minutes and the network: stand-ins write a wheel each, the
# download first leaving a partial file and (when SLOW) waiting to be interrupted.
PATCH = """
import sys, time, zoo.kaggle.submit.bundle as b, zoo.cli.main as m
def build(root, folder):
    (folder / "zoo-0-py3-none-any.whl").write_bytes(b"wheel")
def download(names, target, folder):
    (folder / "numpy.whl.partial").write_bytes(b"half a wheel")
    if SLOW:
        print("downloading", flush=True)
        time.sleep(120)
    (folder / "numpy.whl.partial").rename(folder / "numpy-0-py3-none-any.whl")
b.build_zoo_wheel, b.download_wheels = build, download
sys.exit(m.main(sys.argv[1:]))
"""


def bundle(run: Path, kit: Path, slow: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    code = f"SLOW = {slow}\n{PATCH}"
    command = [sys.executable, "-c", code, "kaggle", "bundle", str(run), "--out", str(kit)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # trains a small kaggle run first
def test_ctrl_c_during_bundle_leaves_no_kit_that_looks_finished_and_the_next_bundle_works(tmp_path):
    competition = image_competition(tmp_path / "competition", count=40, size=28)
    settings = {"images": competition.train_images, "id_col": "id", "target_col": "label", "metric": "log_loss"}
    run = train(
        competition.train_csv, model="lenet5", out=tmp_path / "run", folds=2, epochs=1, verbose=False, **settings
    ).run_dir
    kit = tmp_path / "kit"
    first = bundle(run, kit, slow=True)
    for line in first.stdout:
        if "downloading" in line:
            break
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130 and "interrupted" in err and "Traceback" not in err, err[-2000:]
    assert not (kit / LOCK).exists() and not (kit / NOTEBOOK_FILE).exists()  # never looks like a finished kit
    second = bundle(run, kit, slow=False)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-2000:]
    assert (kit / NOTEBOOK_FILE).is_file()
    assert sorted(path.name for path in (kit / "wheels").iterdir()) == [
        "numpy-0-py3-none-any.whl",
        "zoo-0-py3-none-any.whl",
    ]  # the interrupted run's partial file is gone
