"""`zoo predict` and `zoo embed` on saved models, run folders and kaggle runs; files, folders and CSVs as inputs."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from zoo.cli.main import main
from zoo.cli.predict import input_files
from zoo.loading.model import ZooModel
from zoo.results.run_folder import RunMarker

CLASSES = ["apple", "bean", "corn"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny grey 12x12 classifier saved as a .keras file, with a conversion cache of its own."""
    root = tmp_path_factory.mktemp("predict")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, activation="relu")(inputs))
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    model = ZooModel(inputs, outputs, class_names=CLASSES, classifier="predictions")
    model.save(root / "m.keras")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_CACHE_DIR", str(root / "cache"))
        yield root / "m.keras", model


@pytest.fixture
def photos(tmp_path):
    """Two readable photos in nested folders, one text file posing as a JPEG and a hidden file."""
    rng = np.random.default_rng(0)
    for name in ("one/a.png", "one/deeper/b.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (20, 16, 3)).astype(np.uint8)).save(tmp_path / name)
    (tmp_path / "one" / "broken.jpg").write_text("not a picture")
    (tmp_path / "one" / ".DS_Store").write_text("clutter")
    return tmp_path


def test_folders_recurse_and_csvs_list_paths_relative_to_themselves(photos):
    expected = [str(photos / "one" / name) for name in ("a.png", "broken.jpg", "deeper/b.jpg")]
    assert input_files([str(photos / "one")]) == expected  # hidden files left out, as training does
    (photos / "list.csv").write_text("id,path\n1,one/a.png\n2,one/deeper/b.jpg\n")
    assert input_files([str(photos / "list.csv")]) == [str(photos / "one/a.png"), str(photos / "one/deeper/b.jpg")]


def test_an_untrained_recipe_is_refused_with_how_to_train_it(capsys, photos):
    assert main(["predict", "lenet5", str(photos / "one" / "a.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lenet5 has no trained weights" in err and "zoo finetune lenet5" in err


def test_predict_a_saved_model_on_a_folder_json_and_csv(capsys, saved, photos):
    path, model = saved
    out = photos / "predictions.csv"
    argv = ["predict", str(path), str(photos / "one"), "--top", "2", "--json", "--csv", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert sorted(Path(row["path"]).name for row in rows) == ["a.png", "b.jpg"]
    assert "broken.jpg" in captured.err and "not an image Pillow can read" in captured.err
    expected = model.classify([row["path"] for row in rows], top=2)
    for row, ranked in zip(rows, expected, strict=True):
        assert [item["label"] for item in row["top"]] == [label for label, _ in ranked]
        np.testing.assert_allclose([item["probability"] for item in row["top"]], [p for _, p in ranked], atol=1e-4)
    table = list(csv.DictReader(out.open()))
    assert [r["path"] for r in table] == [row["path"] for row in rows]
    assert list(table[0]) == ["path", "label_1", "probability_1", "label_2", "probability_2"]


def test_run_folders_kaggle_folds_and_embed(capsys, saved, photos):
    path, model = saved
    run = photos / "run1"
    run.mkdir()
    shutil.copy(path, run / "model.keras")
    image = str(photos / "one" / "a.png")
    assert main(["predict", str(run), image, "--json"]) == 0
    by_run = json.loads(capsys.readouterr().out)[0]["top"]
    kaggle = photos / "kaggle_run"
    for fold in (0, 1):
        (kaggle / f"fold_{fold}").mkdir(parents=True)
        shutil.copy(path, kaggle / f"fold_{fold}" / "model.keras")
    config = {"input": {"kind": "images"}, "target": {"kind": "multiclass", "columns": ["c"], "names": ["x", "y", "z"]}}
    (kaggle / "config.json").write_text(json.dumps(config))
    assert main(["predict", str(kaggle), image, "--json"]) == 0
    by_folds = json.loads(capsys.readouterr().out)[0]["top"]
    names = dict(zip(CLASSES, ["x", "y", "z"], strict=True))
    assert [item["label"] for item in by_folds] == [names[item["label"]] for item in by_run]
    out = photos / "features.npy"
    assert main(["embed", str(path), str(photos / "one"), "--out", str(out)]) == 0
    files = (photos / "features.files.txt").read_text().splitlines()
    features = np.load(out)
    assert features.shape == (2, 4) and sorted(Path(f).name for f in files) == ["a.png", "b.jpg"]
    np.testing.assert_allclose(features, model.embed(files), rtol=1e-4, atol=1e-4)


def test_a_warm_cache_predicts_without_tensorflow(saved, photos):
    path, _ = saved
    image = str(photos / "one" / "a.png")
    assert main(["predict", str(path), image]) == 0  # warms the cache (a no-op if an earlier test did)
    script = (
        "import sys; from zoo.cli.main import main; "
        f"code = main(['predict', {str(path)!r}, {image!r}, '--top', '1']); "
        "print(code, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "0 []" and lines[0].startswith(image)


def test_a_cold_cache_converts_without_tensorflow_start_up_logs(saved, photos, tmp_path):
    path, _ = saved
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["ZOO_CACHE_DIR"] = str(tmp_path / "cold")
    command = [sys.executable, "-m", "zoo", "predict", str(path), str(photos / "one" / "a.png")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "converting" in done.stderr  # the cache was cold: TensorFlow was imported
    noise = [line for line in done.stderr.splitlines() if not line.startswith("zoo: ")]
    assert noise == [], noise


def marked_run(folder: Path, kind: str) -> Path:
    """An empty run folder with zoo's marker of `kind` and a PNG of its own (a run's plot: never an input)."""
    folder.mkdir()
    RunMarker(kind, "m").write(folder)
    Image.new("RGB", (12, 12)).save(folder / "plot.png")
    return folder


def one_line_error(capsys, argv: list[str]) -> str:
    """The error `zoo ARGV` prints; it must exit 2 with one line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


@pytest.mark.parametrize("command", ["predict", "embed"])
def test_a_run_folder_without_its_model_is_an_error_not_a_folder_of_inputs(capsys, photos, command):
    run = marked_run(photos / "run1", "finetune")
    (run / "checkpoints").mkdir()
    extra = ["--out", str(photos / "f.npy")] if command == "embed" else []
    err = one_line_error(capsys, [command, str(run), str(photos / "one" / "a.png"), *extra])
    assert "finetune run folder without model.keras" in err and "--resume" in err, err


def test_a_kaggle_run_without_fold_models_names_the_command_that_trains_it(capsys, photos):
    run = marked_run(photos / "kaggle_run", "kaggle")
    config = {"input": {"kind": "images"}, "command": "zoo kaggle train train.csv --out kaggle_run"}
    (run / "config.json").write_text(json.dumps(config))
    err = one_line_error(capsys, ["predict", str(run), str(photos / "one" / "a.png")])
    assert "without fold models" in err and "zoo kaggle train train.csv" in err, err


def test_a_folder_marked_only_by_its_marker_is_a_run(capsys, photos):
    run = marked_run(photos / "lr", "lr-find")
    assert "lr-find folder, which holds no model" in one_line_error(capsys, ["predict", str(run)])
