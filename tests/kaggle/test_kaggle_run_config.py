"""Run settings: the recorded command parses back to the same settings; a run folder is not clobbered by another."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from zoo.cli.main import build_parser, main
from zoo.errors import BadData, BadOverride
from zoo.kaggle.task.inputs import check_batch_mix
from zoo.kaggle.task.run_config import RunSettings, read_config, train_command
from zoo.kaggle.task.targets import Target

FULL = RunSettings(
    train_csv="/data/train.csv",
    out="/runs/a b",
    id_col="image_id",
    target_cols=("cat", "dog"),
    images="/data/img",
    extension=".jpg",
    model="lenet5",
    task="multilabel",
    metric="f1_macro",
    group_col="patient",
    folds=3,
    seed=4,
    epochs=7,
    batch_size=16,
    image_size=48,
    augment=False,
    patience=2,
    weights="/w/lite0.pth",
)


def settings_from_command(command: str) -> RunSettings:
    """What `zoo kaggle train` would run for this command line (parsed by the real parser)."""
    args = build_parser().parse_args(shlex.split(command)[1:])
    fields = RunSettings.__dataclass_fields__
    values = {name: getattr(args, name) for name in fields if hasattr(args, name) and name != "out"}
    values = {k: str(v) if k in ("train_csv", "images", "weights") and v is not None else v for k, v in values.items()}
    return RunSettings(out=str(args.out), target_cols=args.target_col, **values)


@pytest.mark.parametrize(
    "settings",
    [
        FULL,
        RunSettings("/t.csv", "/run", "id", ("label",)),
        RunSettings("/t.csv", "/run", "id", ("y",), features=("a", "b"), categorical=("b",), metric="rmse"),
        RunSettings("/t.csv", "/run", "id", ("label",), images="/img", augment="strong"),
        RunSettings("/t.csv", "/run", "id", ("label",), images="/img", augment="rotation,zoom,mixup"),
    ],
)
def test_the_recorded_command_reproduces_the_settings(settings):
    assert settings_from_command(train_command(settings)) == settings


def test_json_round_trip():
    assert RunSettings.from_json(json.loads(json.dumps(FULL.to_json()))) == FULL


def test_bad_settings_are_refused():
    with pytest.raises(BadData, match="folds must be a positive whole number; got 0"):
        RunSettings("/t.csv", "/run", "id", ("y",), folds=0)
    with pytest.raises(BadData, match="--tabular reads every column as a feature: leave out --images"):
        RunSettings("/t.csv", "/run", "id", ("y",), images="/images", tabular=True)


@pytest.mark.parametrize(
    ("given", "kept"), [("light", True), ("none", False), ("strong", "strong"), ("zoom,cutmix", "zoom,cutmix")]
)
def test_augment_names_are_checked_and_presets_kept_as_earlier_runs_recorded_them(given, kept):
    assert RunSettings("/t.csv", "/run", "id", ("y",), augment=given).augment == kept


def test_unknown_augmentations_are_refused_when_the_settings_are_made():
    with pytest.raises(BadOverride, match="--augment rotate: use light, strong, none"):
        RunSettings("/t.csv", "/run", "id", ("y",), augment="rotate")


@pytest.mark.parametrize("augment", ["mixup", "zoom,cutmix"])
def test_batch_mixes_are_refused_for_targets_that_are_not_classes(augment):
    check_batch_mix(augment, Target("binary", ("y",), ("a", "b")))  # one class per row: mixing labels is fine
    check_batch_mix("rotation,zoom", Target("regression", ("y",), ("y",)))
    with pytest.raises(BadOverride, match=f"--augment {augment}: .* this run's target is regression"):
        check_batch_mix(augment, Target("regression", ("y",), ("y",)))


def test_a_folder_that_is_not_a_run_is_refused_by_read_config(tmp_path):
    with pytest.raises(BadData, match="is not a zoo kaggle run"):
        read_config(tmp_path / "elsewhere")


def test_kaggle_help_does_not_import_tensorflow_or_numpy():
    code = (
        "import sys, contextlib, io\n"
        "from zoo.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit): main(['kaggle', '--help'])\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'sklearn', 'numpy') if m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_cli_errors_say_what_exists_before_any_training(tmp_path, capsys):
    train_csv = tmp_path / "train.csv"
    train_csv.write_text("id,label\n" + "".join(f"r{i},{i % 2}\n" for i in range(10)))
    argv = ["kaggle", "train", "--train-csv", str(train_csv), "--id-col", "id", "--out", str(tmp_path / "run")]
    assert main([*argv, "--target-col", "target"]) == 2
    assert "has no column 'target'; its columns are ['id', 'label']: pass --target-col" in capsys.readouterr().err
    assert main([*argv, "--target-col", "labels"]) == 2
    assert "has no column 'labels'; it could mean 'label': pass --target-col label" in capsys.readouterr().err
    assert main([*argv, "--target-col", "label", "--image-size", "16"]) == 2
    assert "--image-size applies to images" in capsys.readouterr().err
    assert main([*argv, "--target-col", "label", "--metric", "mape"]) == 2
    assert "unknown metric 'mape': known metrics are accuracy, log_loss" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing written for a refused run
