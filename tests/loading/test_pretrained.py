"""Your own weights files through `zoo.load`: refused unless verify=False, then checked layer by layer; recipes
take their own saved weights; a missing file fails before TensorFlow is imported."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.catalogue import default_catalogue
from zoo.errors import BadModelFile, CorruptWeights, WeightsDoNotFit
from zoo.loading.backbone import build_architecture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "zoo-cache"))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.delenv("ZOO_WEIGHTS_DIR", raising=False)


@pytest.fixture(scope="module")
def own_mobilenet(tmp_path_factory) -> Path:
    """MobileNetV3Small weights of the user's own (random, so not the published file), saved from zoo's build."""
    entry = default_catalogue().get("mobilenet_v3_small")
    model = build_architecture(entry, entry.hparams, 3, include_top=True)
    path = tmp_path_factory.mktemp("own") / "my_mobilenet.weights.h5"
    model.save_weights(path)
    return path


def test_your_own_backbone_weights_load_unverified_only_when_asked(own_mobilenet, capfd):
    with pytest.raises(CorruptWeights, match="(?s)is not the published file.*verify=False"):
        zoo.load("mobilenet_v3_small", weights=own_mobilenet)
    model = zoo.load("mobilenet_v3_small", weights=own_mobilenet, verify=False)
    err = capfd.readouterr().err
    sha256 = hashlib.sha256(own_mobilenet.read_bytes()).hexdigest()
    assert "unverified weights for mobilenet_v3_small.top" in err and sha256 in err
    entry = default_catalogue().get("mobilenet_v3_small")
    saved = build_architecture(entry, entry.hparams, 3, include_top=True)
    saved.load_weights(own_mobilenet)
    trunk = next(layer for layer in model.layers if hasattr(layer, "layers"))  # the architecture inside the ZooModel
    for loaded, expected in zip(trunk.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, expected)


def test_your_own_file_of_another_architecture_is_refused_layer_by_layer(tmp_path):
    entry = default_catalogue().get("mobilenet_v3_large")
    other = tmp_path / "large.weights.h5"
    build_architecture(entry, entry.hparams, 3, include_top=True).save_weights(other)
    with pytest.raises(WeightsDoNotFit, match="large.weights.h5 does not load into mobilenet_v3_small"):
        zoo.load("mobilenet_v3_small", weights=other, verify=False)


def test_a_recipe_loads_its_own_saved_weights(tmp_path):
    trained = zoo.load("mlp_digits", weights=None)
    trained.set_weights([np.full(w.shape, 0.5, w.dtype) for w in trained.get_weights()])
    path = tmp_path / "mlp.weights.h5"
    trained.save_weights(path)
    loaded = zoo.load("mlp_digits", weights=path)
    for a, b in zip(loaded.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_recipe_refuses_weights_it_cannot_take(tmp_path):
    with pytest.raises(BadModelFile, match="mlp_digits is a recipe without published weights"):
        zoo.load("mlp_digits", weights=str(tmp_path / "x.h5"))
    with pytest.raises(BadModelFile, match="no such file"):
        zoo.load("mlp_digits", weights=tmp_path / "missing.weights.h5")
    other = tmp_path / "lenet.weights.h5"
    zoo.load("lenet5", weights=None).save_weights(other)
    with pytest.raises(WeightsDoNotFit, match="does not load into mlp_digits"):
        zoo.load("mlp_digits", weights=other)


def test_offline_predict_fails_before_tensorflow_is_imported(tmp_path):
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('tensorflow imported:', 'tensorflow' in sys.modules, file=sys.stderr))\n"
        f"sys.argv = ['zoo', 'predict', 'resnet50', {str(ROOT / 'zoo' / 'assets' / 'coffee.jpg')!r}]\n"
        "runpy.run_module('zoo', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_OFFLINE": "1", "ZOO_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "weights resnet50.top not found" in done.stderr and "ZOO_OFFLINE=1" in done.stderr
    assert "tensorflow imported: False" in done.stderr
