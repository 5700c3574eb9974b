"""Every recipe of the catalogue: builds, has its declared parameter count, predicts, trains, reloads from .keras."""

from __future__ import annotations

import math

import numpy as np
import pytest

import zoo
from tests.conftest import tiny_inputs, tiny_targets
from zoo.catalogue import default_catalogue

# Pretrained families are swept elsewhere: backbones by their own tests, KerasHub presets (which need their preset
# files) on tiny presets saved from configs in tests/loading/test_hub.py.
RECIPES = [entry.name for entry in default_catalogue() if entry.family not in ("backbone", "hub")]


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_builds_trains_and_round_trips(name, tmp_path):
    import keras

    entry = zoo.info(name)
    keras.utils.set_random_seed(0)
    model = zoo.load(name)
    assert model.count_params() == entry.params, "Entry.params must be the built model's count"
    assert model.name == name

    x = tiny_inputs(entry)
    y = tiny_targets(entry, model, x)
    before = model.predict(x, verbose=0)
    assert np.all(np.isfinite(before))
    if entry.task == "classification":
        np.testing.assert_allclose(before.sum(axis=-1), 1.0, rtol=1e-5)
        assert model.get_layer(entry.classifier) is not None

    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = model.predict(x, verbose=0)
    assert not np.allclose(before, after), "one training step must change the predictions"

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), after, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_metadata_is_complete(name):
    entry = zoo.info(name)
    assert entry.summary and entry.params > 0
    assert "learning_rate" in entry.hparams
    if entry.task == "classification":
        assert entry.hparams.get("num_classes", 0) >= 2
    if entry.reference is not None:
        assert entry.reference.command.startswith("python -m zoo.bench")
        assert math.isfinite(entry.reference.value)
