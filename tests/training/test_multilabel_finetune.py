"""Multi-label fine-tuning end to end on tiny images with LeNet-5: the Python API on a tags CSV, the CLI on 0/1
columns, thresholds saved with the model and used by classify and `zoo predict`, exports checked on sigmoid outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from multilabel_data import LABELS, multilabel_images

import zoo
from zoo.cli.main import main
from zoo.training.plan import make_plan


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("multilabel")
    multilabel_images(root, 36)
    return root


@pytest.fixture(scope="module")
def api_run(images, tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    model = zoo.load("lenet5", num_classes=len(LABELS))
    result = zoo.finetune(
        model, images / "tags.csv", multi_label=True, epochs=3, batch_size=8, out=out, export=["keras", "tflite"],
        augment=["mixup"], verbose=False,
    )
    return result, out


def test_the_python_api_trains_a_sigmoid_head_and_reports_f1_auc_and_thresholds(api_run):
    result, out = api_run
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "multilabel" and report["classes"] == list(LABELS)
    evaluation = report["evaluation"]
    assert set(evaluation["per_class"]) == set(LABELS)
    assert {"f1", "roc_auc", "threshold", "support"} <= set(evaluation["per_class"]["left"])
    assert report["val_f1_micro"] == evaluation["f1_micro"] and 0 <= evaluation["f1_macro"] <= 1
    assert all(0 <= value <= 1 for value in evaluation["thresholds"].values())
    assert "binary cross-entropy" in report["plan"]["text"] and "mixup off" in report["plan"]["text"]
    assert not (out / "confusion_matrix.png").exists()  # single-label plot, skipped
    outputs = result.model.predict(np.zeros((2, 32, 32, 1), np.uint8), verbose=0)
    assert outputs.shape == (2, 3) and not np.allclose(outputs.sum(axis=1), 1)  # independent sigmoids


def test_thresholds_travel_with_the_model_and_classify_uses_them(api_run, images):
    result, out = api_run
    card = json.loads((out / "run_card.json").read_text())
    thresholds = json.loads((out / "report.json").read_text())["evaluation"]["thresholds"]
    assert card["thresholds"] == thresholds
    saved = zoo.load_saved(out / "model.keras")
    assert saved.task == "multilabel" and saved.thresholds == [thresholds[name] for name in LABELS]
    files = [str(images / f"{i:03d}.png") for i in range(8)]
    outputs = saved.run_on_images(saved, files, 8)
    limits = np.asarray(saved.thresholds)
    for row, probabilities in zip(saved.classify(files), outputs, strict=True):
        expected = {LABELS[j] for j in np.flatnonzero(probabilities >= limits)}
        assert {label for label, _ in row} == expected
        assert [p for _, p in row] == sorted((p for _, p in row), reverse=True)


def test_the_exports_are_checked_on_sigmoid_outputs(api_run):
    _, out = api_run
    exports = json.loads((out / "report.json").read_text())["outputs"]["exports"]
    assert exports["tflite"]["ok"] and exports["tflite"]["max_abs_diff"] <= exports["tflite"]["tolerance"]
    assert exports["keras"]["ok"]


def test_zoo_predict_prints_every_label_over_its_threshold(api_run, images, capsys):
    _, out = api_run
    thresholds = json.loads((out / "report.json").read_text())["evaluation"]["thresholds"]
    files = [str(images / f"{i:03d}.png") for i in range(8)]
    assert main(["predict", str(out), *files, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [row["path"] for row in listed] == files
    for row in listed:
        assert all(item["probability"] >= thresholds[item["label"]] for item in row["labels"])
    assert main(["predict", str(out), *files[:2]]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 2 and printed[0].startswith(files[0])


def test_the_cli_trains_on_0_1_columns(images, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["finetune", "lenet5", str(images / "columns.csv"), "--label-col", "left,low,right", "--epochs", "2"]
    assert main([*argv, "--batch-size", "8", "--out", str(out), "--export", "keras"]) == 0
    printed = capsys.readouterr().out
    assert "F1 micro" in printed and "left: threshold" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["task"] == "multilabel" and report["classes"] == ["left", "low", "right"]


def test_a_tag_in_one_row_is_refused_before_any_folder(images, tmp_path, capsys):
    (tmp_path / "table").mkdir()
    table = tmp_path / "table" / "tags.csv"
    table.write_text((images / "tags.csv").read_text().replace("007.png,left low right", "007.png,left rare"))
    out = tmp_path / "run"
    argv = ["finetune", "lenet5", str(table), "--multi-label", "--image-dir", str(images), "--out", str(out)]
    assert main(argv) == 2
    assert "'rare' (1) appear in fewer than 2 rows" in capsys.readouterr().err and not out.exists()


def test_the_plan_of_a_multilabel_run_turns_batch_mixes_off():
    model = zoo.load("lenet5", num_classes=3)
    plan = make_plan(model, 100, augment=["cutmix"], multilabel=True)
    assert plan.multilabel and plan.augmentation.mix is None
    assert "cutmix off" in str(plan) and "binary cross-entropy" in str(plan)


@pytest.mark.slow  # 19-27 s; the default suite trains multi-label heads through the API and the CLI here
def test_a_pretrained_backbone_trains_in_two_bn_safe_phases_on_cached_features(images, tmp_path):
    from finetune_data import lite0

    result = zoo.finetune(
        lite0(3, 64), images / "tags.csv", multi_label=True, epochs=(1, 1), batch_size=8, out=tmp_path / "run",
        export=["keras"], verbose=False,
    )
    plan = result.plan
    assert plan.multilabel and len(plan.phases) == 2 and plan.phases[0].train == "head"
    assert all(phase.cache is not None for phase in plan.phases) and plan.phases[1].pin_batchnorm
    assert result.model.task == "multilabel" and len(result.model.thresholds) == 3
    assert result.report["outputs"]["exports"]["keras"]["ok"]


def test_lr_find_sweeps_multilabel_data_with_binary_cross_entropy(images):
    result = zoo.lr_find(zoo.load("lenet5", num_classes=3), images / "tags.csv", multi_label=True, steps=10)
    assert len(result.lrs) >= 2 and all(np.isfinite(result.losses))
