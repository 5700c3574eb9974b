"""finetune end to end on tiny data: a pretrained backbone on coloured shapes, a recipe from scratch on digits."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from finetune_data import CLASSES, lite0, shape_folder, shapes
from PIL import Image

import zoo
from zoo.errors import BadData, BadOverride, ZooError
from zoo.layers.traversal import all_layers
from zoo.training.freezing import backbone_parts
from zoo.training.inputs import class_weight_vector, head_for
from zoo.training.run import finetune


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    """One real run: 60 PNG shapes (and one broken file) in class folders, both phases, outputs written."""
    root = shape_folder(tmp_path_factory.mktemp("shapes"), per_class=20)
    (root / "circle" / "broken.png").write_bytes(b"not a png")
    model = lite0()
    flags = [layer.trainable for layer in all_layers(model)]
    out = tmp_path_factory.mktemp("run")
    result = finetune(model, str(root), epochs=(8, 2), batch_size=16, out=out, export=("keras",), seed=1)
    return result, model, flags, out


def test_the_run_learns_and_keeps_the_class_names(folder_run):
    result, model, _, _ = folder_run
    assert result.model is model and model.class_names == sorted(CLASSES)
    assert result.report["val_accuracy"] >= 0.75  # chance is 0.33
    assert result.report["classes"] == sorted(CLASSES)
    assert [p["name"] for p in result.report["phases"]] == ["head", "top blocks"]
    assert len(result.history["val_loss"]) == sum(p["epochs_run"] for p in result.report["phases"])
    assert result.report["status"] == "completed"


def test_outputs_are_written(folder_run):
    result, _, _, out = folder_run
    report = json.loads((out / "report.json").read_text())
    assert report["val_accuracy"] == pytest.approx(result.evaluation.accuracy)
    assert report["skipped"] == [{"file": report["skipped"][0]["file"], "reason": report["skipped"][0]["reason"]}]
    assert report["skipped"][0]["file"].endswith("broken.png")
    assert "broken.png" in (out / "skipped.csv").read_text()
    for name in ("model.keras", "run_card.json", "training_curves.png", "confusion_matrix.png"):
        assert (out / name).exists(), name
    assert "phase 2/2 top blocks" in report["plan"]["text"]


def test_the_saved_model_is_the_plain_model_with_its_class_names(folder_run):
    result, model, _, out = folder_run
    reloaded = zoo.load_saved(str(out / "model.keras"))
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]
    assert not any("random" in type(layer).__name__.lower() for layer in all_layers(reloaded))  # no augmentation
    assert reloaded.class_names == sorted(CLASSES)
    x = shapes(4, seed=9)[0]
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_trainable_flags_are_given_back(folder_run):
    _, model, flags, _ = folder_run
    assert [layer.trainable for layer in all_layers(model)] == flags


def test_a_recipe_trains_from_scratch_on_digit_arrays():
    from sklearn.datasets import load_digits

    digits = load_digits()
    keras.utils.set_random_seed(0)
    model = zoo.load("lenet5", input_shape=(8, 8, 1))
    result = finetune(model, (digits.images[:500], digits.target[:500]), epochs=4, verbose=False)
    assert result.plan.mode == "scratch" and [p["name"] for p in result.report["phases"]] == ["all layers"]
    assert result.report["val_accuracy"] >= 0.8 and result.out_dir is None
    assert model.class_names == [str(i) for i in range(10)]


@pytest.mark.slow
def test_randaugment_and_mixup_train_on_cached_features():
    x, y = shapes(24, size=32, seed=3)
    augment = "randaugment,mixup"
    result = finetune(lite0(size=32), (x, y), epochs=(2, 1), batch_size=8, augment=augment, views=2, verbose=False)
    assert result.plan.phases[0].cache.views == 2 and len(result.history["loss"]) == 3
    assert np.isfinite(result.history["loss"]).all()


@pytest.mark.parametrize(
    ("augment", "mix"), [("strong", None), ("randaugment,mixup", "mixup"), ("rotation,cutmix", "cutmix")]
)
def test_augmentation_trains_on_images(augment, mix):
    x, y = shapes(24, size=16, seed=3)
    result = finetune(
        zoo.load("lenet5", input_shape=(16, 16, 3), num_classes=3), (x, y), epochs=1, augment=augment, verbose=False
    )
    assert np.isfinite(result.history["loss"]).all() and result.plan.augmentation.mix == mix


def test_history_csv_is_always_written_and_tensorboard_logs_on_request(tmp_path):
    pytest.importorskip("tensorboard")
    from sklearn.datasets import load_digits

    digits = load_digits()
    model = zoo.load("lenet5", input_shape=(8, 8, 1))
    data, logs = (digits.images[:120], digits.target[:120]), tmp_path / "tb"
    finetune(model, data, epochs=2, out=tmp_path / "run", export=("keras",), tensorboard=logs, verbose=False)
    rows = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,phase,phase_epoch,") and "val_loss" in rows[0]
    assert [row.split(",")[:3] for row in rows[1:]] == [["1", "all layers", "1"], ["2", "all layers", "2"]]
    assert list((logs / "phase1_all_layers").rglob("events.out.tfevents.*"))


def test_tensorboard_without_its_package_is_refused_before_training(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(BadOverride, match=r"pip install 'zoo-keras\[tensorboard\]'"):
        finetune(zoo.load("lenet5", input_shape=(8, 8, 1)), "nowhere", tensorboard="logs")


@pytest.mark.slow  # 10-17 s: two runs; the default run checks the same through finetune in every fold of
# tests/kaggle/test_kaggle_training.py::test_same_seed_same_folds_and_scores (equal scores and out-of-fold arrays)
def test_the_same_seed_repeats_a_run():
    x, y = shapes(30, size=32)

    def run():
        keras.utils.set_random_seed(0)
        model = zoo.load("vgg_small", input_shape=(32, 32, 3), num_classes=3, filters=(4, 8, 8), dense_units=8)
        return finetune(model, (x, y), epochs=2, batch_size=8, seed=5, verbose=False).history

    assert run() == run()


def test_an_imagenet_head_is_replaced_on_the_loaded_trunk():
    imagenet = zoo.load("efficientnet_lite0")
    model = head_for(imagenet, ["a", "b"], say=lambda *_: None)
    assert model.output_shape == (None, 2) and model.entry_name == "efficientnet_lite0"
    old, new = imagenet.layers[2], backbone_parts(model).trunk
    np.testing.assert_array_equal(new.get_layer("stem_conv").kernel.numpy(), old.get_layer("stem_conv").kernel.numpy())
    assert "predictions" not in [layer.name for layer in new.layers]
    assert model.predict(np.zeros((1, 224, 224, 3), "uint8"), verbose=0).shape == (1, 2)


def test_a_head_that_does_not_match_the_classes_is_refused():
    x, y = shapes(12, size=32)
    with pytest.raises(BadData, match=r"head has 5 outputs but the data has 3 classes: .*num_classes=3\)"):
        finetune(lite0(num_classes=5, size=32), (x, y), epochs=1, verbose=False)


def test_wrong_options_are_refused_before_training():
    x, y = shapes(12, size=32)
    with pytest.raises(BadOverride, match="'epoch'"):
        finetune(lite0(size=32), (x, y), epoch=3, verbose=False)
    with pytest.raises(ZooError, match="out=DIR"):
        finetune(lite0(size=32), (x, y), epochs=1, resume=True, verbose=False)


def test_rare_classes_weigh_more():
    np.testing.assert_allclose(class_weight_vector(np.array([0, 0, 0, 1]), 2), [4 / 6, 2.0])  # one per class


def test_given_validation_data_is_used_as_is(tmp_path):
    train, held = shape_folder(tmp_path / "train", per_class=6, size=32), shape_folder(tmp_path / "val", 3, 32, 4)
    Image.new("RGB", (32, 32)).save(held / "circle" / "extra.png")
    result = finetune(lite0(size=32), str(train), validation=str(held), epochs=(1, 0), augment=False, verbose=False)
    assert result.report["train_size"] == 18 and result.report["val_size"] == 10


@pytest.mark.slow  # 17-35 s; tests/training/test_feature_cache.py checks each cache on disk and in memory
def test_under_a_tiny_budget_every_feature_cache_is_on_disk_and_training_is_unchanged(tmp_path):
    """A memory budget below every per-image structure: the lower-trunk and trunk-output caches are sealed memory
    maps on disk, read a batch at a time, and the run trains exactly as with everything in memory."""
    x, y = shapes(24, size=32)
    runs = {}
    for where, limit in (("disk", 1), ("memory", 2**30)):
        keras.utils.set_random_seed(0)
        result = finetune(
            lite0(size=32),
            (x, y),
            epochs=(1, 1),
            augment=False,
            memory_limit=limit,
            verbose=False,
            cache_dir=tmp_path / where,
        )
        assert {phase.cache.where for phase in result.plan.phases} == {where}
        runs[where] = result
    cached = sorted(p.name for p in (tmp_path / "disk").iterdir())
    assert any(n.startswith("lower_") and n.endswith("_train.npy") for n in cached) and "phase0_train.npy" in cached
    assert all(f"{n}.seal" in cached for n in cached if n.endswith(".npy"))  # sealed, as every cache zoo reads back
    assert not list((tmp_path / "memory").iterdir())
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(runs["disk"].history[key], runs["memory"].history[key], rtol=1e-5)
