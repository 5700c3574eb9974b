"""The fault sweep: bad inputs and wrong uses of --out, --resume and --force, each refused with one line, and for
each case every file of the user's folders and of earlier runs hashed before and after: nothing may change."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from finetune_data import shape_folder
from folder_snapshots import snapshot

from zoo.cli.main import main

KAGGLE_TESTS = Path(__file__).resolve().parents[1] / "kaggle"
sys.path.insert(0, str(KAGGLE_TESTS))
from kaggle_data import image_competition  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A user's photos, a user's own folder, a competition, and an earlier finished finetune run of lenet5."""
    root = tmp_path_factory.mktemp("world")
    photos = shape_folder(root / "photos", per_class=4, size=28)
    mine = root / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    (mine / "cv.json").write_text('{"mine": true}')
    (mine / "features.npy").write_bytes(b"my features")
    (mine / "overlay.png").write_bytes(b"my picture")
    competition = image_competition(root / "competition", count=60, size=28)
    earlier = root / "earlier"
    argv = ["finetune", "lenet5", str(photos), "--out", str(earlier), "--epochs", "1", "--export", "keras"]
    assert main(argv) == 0
    return {"root": root, "photos": photos, "mine": mine, "competition": competition, "earlier": earlier}


def with_class_added(world) -> Path:
    """A copy of the photos with one class more (the copy is the user's too: it is hashed like the rest)."""
    grown = world["root"] / "photos-grown"
    if not grown.exists():
        shutil.copytree(world["photos"], grown)
        shutil.copytree(grown / sorted(p.name for p in grown.iterdir())[0], grown / "extra_class")
    return grown


CASES = {
    "out is a user's folder": (lambda w: ["finetune", "lenet5", str(w["photos"]), "--out", str(w["mine"])],
                               "not a zoo run folder"),
    "out inside the data": (lambda w: ["finetune", "lenet5", str(w["photos"]), "--out", str(w["photos"] / "run")],
                            "inside the data folder"),
    "out is an earlier run": (lambda w: ["finetune", "lenet5", str(w["photos"]), "--out", str(w["earlier"])],
                              "holds an earlier finetune run"),
    "resume with another model": (
        lambda w: ["finetune", "vgg_small", str(w["photos"]), "--out", str(w["earlier"]), "--resume",
                   "--image-size", "28", "--epochs", "1", "--export", "keras"],
        "cannot resume"),
    "resume with a class added": (
        lambda w: ["finetune", "lenet5", str(with_class_added(w)), "--out", str(w["earlier"]), "--resume",
                   "--epochs", "1", "--export", "keras"],
        "cannot resume"),
    "resume at another image size": (
        lambda w: ["finetune", "lenet5", str(w["photos"]), "--out", str(w["earlier"]), "--resume",
                   "--image-size", "40", "--epochs", "1", "--export", "keras"],
        "cannot resume"),
    "unknown export format": (
        lambda w: ["finetune", "lenet5", str(w["photos"]), "--out", str(w["root"] / "new"), "--export", "keras,pdf"],
        "unknown format"),
    "image size 1": (lambda w: ["finetune", "lenet5", str(w["photos"]), "--image-size", "1"], "--image-size 1"),
    "text model on images": (lambda w: ["finetune", "lstm_text", str(w["photos"]), "--out", str(w["root"] / "t")],
                             "not images"),
    "kaggle train into a user's folder": (
        lambda w: ["kaggle", "train", "--train-csv", str(w["competition"].train_csv), "--images",
                   str(w["competition"].train_images), "--id-col", "id", "--target-col", "label",
                   "--out", str(w["mine"])],
        "mine"),
    "kaggle train inside the images": (
        lambda w: ["kaggle", "train", "--train-csv", str(w["competition"].train_csv), "--images",
                   str(w["competition"].train_images), "--id-col", "id", "--target-col", "label",
                   "--out", str(w["competition"].train_images / "run")],
        "inside"),
    "embed onto a user's file": (
        lambda w: ["embed", "efficientnet_lite0", str(w["photos"]), "--out", str(w["mine"] / "features.npy")],
        "features.npy exists: pass --force"),
    "explain onto a user's file": (
        lambda w: ["explain", "efficientnet_lite0", str(next(w["photos"].rglob("*.png"))), "--out",
                   str(w["mine"] / "overlay.png")],
        "overlay.png exists: pass --force"),
    "predict --csv onto a user's file": (
        lambda w: ["predict", "efficientnet_lite0", str(w["photos"]), "--csv", str(w["mine"] / "cv.json")],
        "cv.json exists: pass --force"),
    "lr-find into a user's folder": (lambda w: ["lr-find", "lenet5", str(w["photos"]), "--out", str(w["mine"])],
                                     "not a zoo run folder"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_refused_case_changes_no_file(world, case, capsys):
    argv, expected = CASES[case]
    argv = argv(world)
    before = snapshot(world["root"])
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"{case}: exit {code}\n{err[-2000:]}"
    errors = [line for line in err.splitlines() if line.startswith("zoo: error:")]
    assert len(errors) == 1 and expected in errors[0], f"{case}: {err[-2000:]}"
    after = snapshot(world["root"])
    changed = sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
    grown = str(world["root"] / "photos-grown")
    assert [path for path in changed if not path.startswith(grown)] == [], f"{case} changed files"


def test_a_second_writer_is_refused_at_once_and_changes_nothing(world, capsys):
    code = "import sys, time; from pathlib import Path; from zoo.results.run_folder import locked\n" + (
        "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(world["earlier"])], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(world["root"])
        argv = ["finetune", "lenet5", str(world["photos"]), "--out", str(world["earlier"]), "--resume"]
        assert main([*argv, "--export", "keras"]) == 2
        assert f"being written by process {holder.pid}" in capsys.readouterr().err
        assert {k: v for k, v in snapshot(world["root"]).items() if ".zoo-run.lock" not in k} == {
            k: v for k, v in before.items() if ".zoo-run.lock" not in k
        }
    finally:
        holder.kill()
        holder.wait()
