"""`zoo finetune` and `zoo lr-find`: arguments, the resume command, and short real runs on a folder of images."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
from finetune_data import shape_folder

from zoo.cli.finetune import add_finetune_parser, recipe_options, resume_argv
from zoo.cli.main import main


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zoo")
    add_finetune_parser(root.add_subparsers(dest="command", required=True))
    return root


def test_finetune_arguments_and_defaults():
    args = parser().parse_args(["finetune", "efficientnet_lite0", "photos/"])
    given = (args.name, args.data, args.epochs, args.out, args.batch_size, args.seed)
    assert given == ("efficientnet_lite0", "photos/", None, None, 32, 0)
    assert not (args.no_augment or args.strict or args.resume)
    argv = "finetune lenet5 x.csv --epochs 3 --no-augment --id-col file --label-col y --image-dir img"
    args = parser().parse_args(
        [*argv.split(), "--extension", ".png", "--strict", "--resume", "--seed", "4", "--batch-size", "8"]
    )
    given = (args.epochs, args.no_augment, args.id_col, args.label_col, args.image_dir, args.extension)
    assert given == (3, True, "file", "y", "img", ".png")
    assert args.strict and args.resume and args.seed == 4 and args.batch_size == 8


def test_the_resume_command_repeats_the_run_with_resume(tmp_path):
    args = parser().parse_args(["finetune", "lenet5", "my data", "--epochs", "3", "--no-augment", "--id-col", "f"])
    argv = resume_argv(args, tmp_path / "out")
    again = parser().parse_args(shlex.split(shlex.join(argv)))
    assert again.resume and again.out == tmp_path / "out" and again.data == "my data"
    assert (again.epochs, again.no_augment, again.id_col, again.seed) == (3, True, "f", 0)


def test_recipe_flags_become_finetune_options_and_survive_the_resume_command(tmp_path):
    argv = ["finetune", "resnet50", "data", "--lr", "0.02", "--unfreeze", "2", "--patience", "5"]
    argv += ["--schedule", "one_cycle"]
    args = parser().parse_args([*argv, "--validation", "held out", "--augment", "flip,cutmix"])
    expected = {"validation": "held out", "head_lr": 0.02, "scratch_lr": 0.02, "unfreeze": 2, "patience": 5}
    expected["schedule"] = "one_cycle"
    assert recipe_options(args) == expected
    again = parser().parse_args(shlex.split(shlex.join(resume_argv(args, tmp_path))))
    assert recipe_options(again) == expected and again.augment == "flip,cutmix"
    fraction = parser().parse_args(["finetune", "lenet5", "d", "--validation", "0.3", "--unfreeze", "0.5"])
    assert recipe_options(fraction) == {"validation": None, "validation_fraction": 0.3, "unfreeze": 0.5}
    assert parser().parse_args(["finetune", "lenet5", "d", "--unfreeze", "all"]).unfreeze == "all"
    with pytest.raises(SystemExit):
        parser().parse_args(["finetune", "lenet5", "d", "--unfreeze", "most"])


def test_help_does_not_import_tensorflow():
    code = "import sys, zoo.cli.finetune; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return shape_folder(tmp_path_factory.mktemp("shapes"), per_class=8, size=32)


def test_finetune_command_writes_a_report(folder, tmp_path, capsys):
    out = tmp_path / "run"
    args = parser().parse_args(
        [
            "finetune",
            "lenet5",
            str(folder),
            "--epochs",
            "2",
            "--out",
            str(out),
            "--export",
            "keras",
            "--batch-size",
            "8",
            *("--lr", "0.003", "--patience", "1", "--validation", "0.25", "--schedule", "one_cycle"),
        ]
    )
    assert args.run(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["classes"] == ["circle", "diamond", "square"] and report["model"] == "lenet5"
    settings = report["plan"]["settings"]
    assert (settings["scratch_lr"], settings["patience"], settings["validation_fraction"]) == (0.003, 1, 0.25)
    assert report["plan"]["phases"][0]["learning_rate"] == 0.003
    assert report["plan"]["phases"][0]["schedule"] == "one_cycle"
    assert 0.0 <= report["phases"][0]["input_wait_share"] <= 1.0  # measured (zoo.hardware.feeding)
    assert len((out / "history.csv").read_text().splitlines()) == 1 + len(report["history"]["loss"])
    printed = capsys.readouterr().out
    assert "phase 1/1 all layers" in printed and "epoch 2/2" in printed and "val_accuracy" in printed.splitlines()[-1]


@pytest.mark.slow  # a real fine-tune, then predict and embed (~60 s here); tests/results/test_runtime.py: the fast twin
def test_the_default_exports_are_what_predict_and_embed_run_converting_nothing(folder, tmp_path, capsys, monkeypatch):
    from zoo.results import conversion

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "run"
    argv = ["finetune", "lenet5", str(folder), "--epochs", "1", "--out", str(out), "--batch-size", "8"]
    assert main(argv) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"; training \d+\.\ds, exports \d+\.\ds; outputs in ", summary), summary
    report = json.loads((out / "report.json").read_text())
    assert sorted(report["outputs"]["exports"]) == ["keras", "runtime"] and report["seconds"]["exports"] > 0
    assert all(check["ok"] for check in report["outputs"]["exports"].values())
    conversions: list[str] = []
    monkeypatch.setattr(conversion, "convert_checked", lambda *args: conversions.append(args[3]))
    image = str(next(folder.rglob("*.png")))
    assert main(["predict", str(out), image, "--json"]) == 0
    assert main(["embed", str(out), image, "--out", str(tmp_path / "f.npy")]) == 0
    assert conversions == []  # the run folder's checked export is the runtime's file: nothing converts again
    assert not (tmp_path / "cache" / "runtime").exists() or not list((tmp_path / "cache" / "runtime").glob("*.json"))


def test_lr_find_command_prints_a_rate_and_saves_the_plot(folder, tmp_path, capsys):
    args = parser().parse_args(["lr-find", "lenet5", str(folder), "--out", str(tmp_path), "--steps", "20"])
    assert args.run(args) == 0
    assert "suggested learning rate" in capsys.readouterr().out
    assert (tmp_path / "lr_find.png").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--export", "keras,pdf"], "--export pdf: unknown format"),
        (["--image-size", "0"], "--image-size 0: must be between 8"),
        (["--image-size", "1"], "--image-size 1: must be between 8"),
        (["--epochs", "0"], "--epochs 0: must be 1 or more"),
        (["--lr", "0"], "--lr 0.0: must be above 0"),
        (["--augment", "flip,blur"], "--augment flip,blur: use light, strong, none"),
        (["--validation", "1.5"], "--validation 1.5: a share of DATA"),
        (["--validation", "nowhere"], "--validation: no folder or file named 'nowhere'"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, capsys, extra, expected):
    from zoo.cli.main import main

    data = tmp_path / "photos"
    (data / "a").mkdir(parents=True)
    assert main(["finetune", "lenet5", str(data), "--out", str(tmp_path / "run"), *extra]) == 2
    assert expected in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_data_and_output_folders_are_checked_at_the_door(tmp_path, capsys):
    from zoo.cli.main import main

    data = tmp_path / "photos"
    (data / "a").mkdir(parents=True)
    cases = [
        (["finetune", "lenet5", str(tmp_path / "nothere"), "--out", str(tmp_path / "r")], "nothere: no such file"),
        (["finetune", "lstm_text", str(data), "--out", str(tmp_path / "r")], "not images"),
        (["finetune", "lenet5", str(data), "--out", str(data / "run")], "inside the data folder"),
        (["finetune", "resnet50", str(data), "--image-size", "16", "--out", str(tmp_path / "r")], "between 32"),
        (["finetune", "missing.keras", str(data)], "missing.keras: no such model file"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        assert expected in capsys.readouterr().err, argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"] and [p.name for p in data.iterdir()] == ["a"]


def test_a_read_only_output_folder_is_refused_before_training(tmp_path, capsys):
    from zoo.cli.main import main

    data, locked = tmp_path / "photos", tmp_path / "locked"
    (data / "a").mkdir(parents=True)
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write a read-only folder (root without a read-only mount)")
        assert main(["finetune", "lenet5", str(data), "--out", str(locked / "run")]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)


def test_door_checks_import_no_tensorflow(tmp_path):
    code = (
        "import sys, zoo.cli.main as m; rc = m.main(['finetune', 'lenet5', '.', '--export', 'pdf']); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--export pdf: unknown format" in result.stderr, result.stderr[-2000:]


def test_ctrl_c_while_reading_the_data_prints_how_to_go_on(tmp_path, capsys, monkeypatch):
    import zoo.cli.finetune
    from zoo.cli.main import main

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo.cli.finetune, "model_and_data", interrupted)
    data = tmp_path / "photos"
    (data / "a").mkdir(parents=True)
    assert main(["finetune", "lenet5", str(data), "--out", str(tmp_path / "run"), "--export", "keras"]) == 130
    err = capsys.readouterr().err
    assert "finetune interrupted (Ctrl-C); go on with: zoo finetune lenet5" in err and "--resume" in err


def test_lora_and_ema_flags_become_plan_settings():
    import argparse

    from zoo.cli.finetune import add_recipe_options, recipe_options
    from zoo.training.phases import PlanSettings

    parser = argparse.ArgumentParser()
    add_recipe_options(parser)
    options = recipe_options(parser.parse_args(["--lora", "4", "--ema"]))
    assert options["lora"] == 4 and options["ema"] is True
    settings = PlanSettings.from_options({key: value for key, value in options.items() if key != "validation"})
    assert (settings.lora, settings.ema) == (4, True)
    assert "lora" not in recipe_options(parser.parse_args([]))
