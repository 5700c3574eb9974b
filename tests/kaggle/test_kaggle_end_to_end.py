"""The whole loop on competition-shaped folders made from sklearn's digits: train, then predict a submission.

Bars, from measured runs with margin (2-core CPU, seed 0): images, LeNet-5, 3 folds x 5 epochs: CV accuracy 0.972
(bar 0.95), test accuracy 0.976 (bar 0.95), 0.958 with 3 TTA views (bar 0.93: crops cut strokes off digits that
fill their frame); tabular, mlp_tabular, 3 folds x 15 epochs: CV log loss 0.130, test 0.115 (bar 0.25).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from kaggle_data import image_competition, read_rows, tabular_competition

from zoo.cli.main import main
from zoo.kaggle import predict, train

IMAGE_CV_BAR, IMAGE_TEST_BAR, IMAGE_TTA_BAR, TABULAR_LOG_LOSS_BAR = 0.95, 0.95, 0.93, 0.25


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return image_competition(tmp_path_factory.mktemp("digits_images"))


@pytest.fixture(scope="module")
def image_run(images, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "lenet"
    settings = {"model": "lenet5", "folds": 3, "epochs": 5, "seed": 0, "verbose": False}
    return train(images.train_csv, images=images.train_images, id_col="id", target_col="label", out=out, **settings)


def test_a_run_writes_models_folds_oof_and_the_cv_score(image_run, images):
    run_dir = image_run.run_dir
    expected = {"config.json", "folds.csv", "oof.csv", "cv.json", "run_card.json", "fold_0", "fold_1", "fold_2"}
    assert expected <= {p.name for p in run_dir.iterdir()}
    assert all((run_dir / f"fold_{k}" / "model.keras").is_file() for k in range(3))
    cv = json.loads((run_dir / "cv.json").read_text())
    assert cv["metric"] == "accuracy" and len(cv["folds"]) == 3 and cv["std"] >= 0
    assert cv["mean"] >= IMAGE_CV_BAR, cv
    header, rows = read_rows(run_dir / "oof.csv")
    assert header == ["id", "fold", "label", *(f"prob_{c}" for c in range(10))]
    train_ids = [row[0] for row in read_rows(images.train_csv)[1]]
    assert [row[0] for row in rows] == train_ids
    hits = [int(np.argmax([float(v) for v in row[3:]])) == int(row[2]) for row in rows]
    assert np.mean(hits) == pytest.approx(cv["oof"])
    folds = [row[1] for row in read_rows(run_dir / "folds.csv")[1]]
    assert folds == [row[1] for row in rows] and sorted(set(folds)) == ["0", "1", "2"]


def test_config_records_what_was_inferred_and_the_command_that_reruns_it(image_run, images):
    config = json.loads((image_run.run_dir / "config.json").read_text())
    names = [str(c) for c in range(10)]
    assert config["target"] == {"kind": "multiclass", "columns": ["label"], "names": names, "tags": False}
    assert config["input"]["shape"] == [32, 32, 1]  # LeNet-5 reads grey 32x32
    assert config["command"].startswith("zoo kaggle train --train-csv " + str(images.train_csv))
    assert "--model lenet5 --folds 3 --epochs 5 --out" in config["command"]


def accuracy(rows: list[list[str]], images) -> float:
    answers = dict(zip(images.test_ids, images.test_labels, strict=True))
    return float(np.mean([answers[row[0]] == row[1] for row in rows]))


def test_api_predict_follows_the_template(image_run, images, tmp_path):
    inputs = {"template": images.sample_submission, "images": images.test_images}
    path = predict(image_run.run_dir, **inputs, out=tmp_path / "submission.csv", verbose=False)
    header, rows = read_rows(path)
    template_header, template_rows = read_rows(images.sample_submission)
    assert header == template_header and [r[0] for r in rows] == [r[0] for r in template_rows]
    assert {r[1] for r in rows} <= {str(c) for c in range(10)}
    assert accuracy(rows, images) >= IMAGE_TEST_BAR


def test_cli_predict_with_tta_writes_the_same_format_and_refuses_to_overwrite(image_run, images, tmp_path, capsys):
    out = tmp_path / "submission.csv"
    argv = ["kaggle", "predict", "--run", str(image_run.run_dir), "--test-csv", str(images.test_csv)]
    argv += ["--images", str(images.test_images), "--tta", "3", "--no-tta-flip", "--out", str(out)]
    assert main(argv) == 0
    assert "3 views (original, crop, crop:top-left)" in capsys.readouterr().out
    header, rows = read_rows(out)
    assert header == ["id", "label"] and [r[0] for r in rows] == images.test_ids
    assert accuracy(rows, images) >= IMAGE_TTA_BAR
    assert main(argv) == 2
    assert "submission.csv exists: pass --force" in capsys.readouterr().err


def test_cli_names_test_ids_without_an_image(image_run, images, tmp_path, capsys):
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("id\n" + "\n".join([*images.test_ids[:3], "img_9998", "img_9999"]) + "\n")
    argv = ["kaggle", "predict", "--run", str(image_run.run_dir), "--test-csv", str(test_csv)]
    argv += ["--images", str(images.test_images), "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    assert "2 of 5 ids in CSV " in capsys.readouterr().err


def test_cli_names_test_images_that_cannot_be_read(image_run, images, tmp_path, capsys):
    folder = tmp_path / "test"
    folder.mkdir()
    for identifier in images.test_ids[:3]:
        shutil.copy(images.test_images / f"{identifier}.png", folder)
    (folder / "img_broken.png").write_bytes(b"not a png")
    test_csv = tmp_path / "test.csv"
    test_csv.write_text("id\n" + "\n".join([*images.test_ids[:3], "img_broken"]) + "\n")
    argv = ["kaggle", "predict", "--run", str(image_run.run_dir), "--test-csv", str(test_csv)]
    argv += ["--images", str(folder), "--out", str(tmp_path / "s.csv"), "--batch-size", "2"]
    assert main(argv) == 2
    assert "1 of 4 images cannot be read" in capsys.readouterr().err and not (tmp_path / "s.csv").exists()


def test_fold_models_run_on_the_runtime_as_in_keras(image_run, images, tmp_path, monkeypatch):
    """Each fold keeps the runtime file it was exported to: predict runs it, converting nothing, with Keras' answers
    (the same run without those files, too few images for a conversion to pay, runs in Keras)."""
    import shutil

    from zoo.kaggle.submit.prediction import PredictSettings, image_outputs

    files = [str(images.test_images / f"{identifier}.png") for identifier in images.test_ids]
    request = PredictSettings(tta=2, tta_flip=False, batch_size=50)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    lines: list[str] = []
    fast = image_outputs(image_run.run_dir, files, request, lines.append)
    assert lines[-1].endswith(("(run in openvino)", "(run in litert)")), lines  # the fastest that passed its check
    assert not any("convert" in line for line in lines), lines  # the folds' own files: no conversion
    bare = tmp_path / "bare"
    shutil.copytree(image_run.run_dir, bare)
    for runtime_file in bare.glob("fold_*/runtime.*"):
        runtime_file.unlink()
    lines = []
    in_keras = image_outputs(bare, files, request, lines.append)
    assert sum("images are too few for a conversion" in line for line in lines) == 3, lines
    assert lines[-1].endswith("(run in keras)")
    np.testing.assert_allclose(fast, in_keras, atol=1e-4)
    assert np.array_equal(fast.argmax(axis=1), in_keras.argmax(axis=1))


@pytest.fixture(scope="module")
def tabular(tmp_path_factory):
    return tabular_competition(tmp_path_factory.mktemp("digits_tabular"))


@pytest.fixture(scope="module")
def tabular_run(tabular, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    argv = ["kaggle", "train", "--train-csv", str(tabular.train_csv), "--id-col", "id", "--target-col", "label"]
    argv += ["--metric", "logloss", "--folds", "3", "--epochs", "15", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    return out


def test_tabular_cli_run_standardises_and_one_hot_encodes_per_fold(tabular_run):
    cv = json.loads((tabular_run / "cv.json").read_text())
    assert cv["metric"] == "log_loss" and cv["mean"] <= TABULAR_LOG_LOSS_BAR, cv
    config = json.loads((tabular_run / "config.json").read_text())
    assert config["model"] == "mlp_tabular" and config["input"]["features"][-1] == "ink"
    transform = json.loads((tabular_run / "fold_0" / "transform.json").read_text())
    assert len(transform["numeric"]) == 64 and transform["categories"] == [["heavy", "light", "medium"]]


def test_tabular_predict_writes_one_probability_per_class(tabular_run, tabular, tmp_path, capsys):
    out = tmp_path / "submission.csv"
    argv = ["kaggle", "predict", "--run", str(tabular_run), "--test-csv", str(tabular.test_csv)]
    argv += ["--template", str(tabular.sample_submission), "--out", str(out)]
    assert main(argv) == 0
    assert "probabilities: the metric is log_loss" in capsys.readouterr().out
    header, rows = read_rows(out)
    assert header == ["id", *(str(c) for c in range(10))] and [r[0] for r in rows] == tabular.test_ids
    probabilities = np.array([[float(v) for v in r[1:]] for r in rows])
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    truth = np.array([int(label) for label in tabular.test_labels])
    assert -np.mean(np.log(probabilities[np.arange(len(truth)), truth])) <= TABULAR_LOG_LOSS_BAR
    again = predict(tabular_run, test_csv=tabular.test_csv, out=tmp_path / "api.csv", verbose=False)
    assert read_rows(again) == read_rows(out)  # the API writes the same file (same layout without a template)


def test_a_template_that_does_not_fit_the_metric_is_refused(tabular_run, tabular, tmp_path, capsys):
    template = tmp_path / "labels_template.csv"
    template.write_text("id,label\n" + "".join(f"{i},0\n" for i in tabular.test_ids))
    argv = ["kaggle", "predict", "--run", str(tabular_run), "--test-csv", str(tabular.test_csv)]
    argv += ["--template", str(template), "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    assert "columns it cannot fill: ['label']" in capsys.readouterr().err


def test_predict_fills_a_template_whose_columns_are_named_otherwise(image_run, images, tmp_path, capsys):
    template = tmp_path / "sample_submission.csv"
    template.write_text("ImageId,Label\n" + "".join(f"{i},0\n" for i in images.test_ids))
    argv = ["kaggle", "predict", "--run", str(image_run.run_dir), "--template", str(template)]
    argv += ["--images", str(images.test_images), "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 0  # the template's first column holds the ids; its Label is the run's label
    assert "target column 'label': written as the template's 'Label'" in capsys.readouterr().out
    header, rows = read_rows(tmp_path / "s.csv")
    assert header == ["ImageId", "Label"] and accuracy(rows, images) >= IMAGE_TEST_BAR
    assert main([*argv, "--id-col", "imageid", "--target-col", "Label", "--force"]) == 0
    assert read_rows(tmp_path / "s.csv") == (header, rows)
    assert main([*argv, "--id-col", "Image", "--force"]) == 2
    assert "has no column 'Image'; it could mean 'ImageId': pass --id-col ImageId" in capsys.readouterr().err
    assert main([*argv, "--id-col", "ImageId", "--target-col", "Label,Other", "--force"]) == 2
    assert "--target-col names 2 column(s)" in capsys.readouterr().err
