"""finetune takes every recipe of the catalogue: classifiers train as they are, autoencoders through their encoder."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from tests.conftest import tiny_inputs
from zoo.catalogue import default_catalogue
from zoo.errors import BadData
from zoo.training.run import finetune

# Pretrained families are swept elsewhere: backbones by their own tests, KerasHub presets (which need their preset
# files) on tiny presets saved from configs in tests/loading/test_hub.py.
RECIPES = [entry.name for entry in default_catalogue() if entry.family not in ("backbone", "hub")]
# finetune depends on a recipe's family, task and kind of input, not on its sizes: the default run fine-tunes one
# recipe of each (grey images, vectors, tokens, series, a regression refused, each autoencoder kind, a DBN); the
# others, which tests/recipes/test_catalogue_sweep.py still builds, trains and reloads, fine-tune under -m slow.
FINETUNED_BY_DEFAULT = {"mlp_digits", "mlp_tabular", "lenet5", "lstm_text", "gru_series", "lstm_regressor"}
FINETUNED_BY_DEFAULT |= {"dense_ae", "conv_ae", "vae", "dbn_digits"}
CLASSES = 3


def labelled(entry, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = tiny_inputs(entry, batch=per_class * CLASSES, seed=seed)
    if x.ndim == 4:  # images: finetune reads image arrays as pixel values in [0, 255]
        x = (x * 255).astype(np.uint8)
    return x, np.repeat(np.arange(CLASSES), per_class)


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=() if name in FINETUNED_BY_DEFAULT else pytest.mark.slow) for name in RECIPES]
)
def test_every_recipe_finetunes(name):
    entry = zoo.info(name)
    overrides = {"num_classes": CLASSES} if "num_classes" in entry.hparams else {}
    model = zoo.load(name, **overrides)
    train, val = labelled(entry, 4, seed=0), labelled(entry, 2, seed=1)
    if entry.task == "regression":
        with pytest.raises(BadData, match="is a regression model"):
            finetune(model, train, validation=val, epochs=1, verbose=False)
        return
    result = finetune(model, train, validation=val, epochs=1, batch_size=4, verbose=False)
    assert result.plan.mode == "scratch" and len(result.history["loss"]) == 1
    assert np.isfinite(result.history["loss"][0])
    assert result.model.output_shape[-1] == CLASSES and len(result.model.class_names) == CLASSES
    probabilities = result.model.predict(val[0], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_an_autoencoder_classifier_shares_the_encoders_weights():
    autoencoder = zoo.load("dense_ae")
    entry = zoo.info("dense_ae")
    result = finetune(autoencoder, labelled(entry, 4, 0), validation=labelled(entry, 2, 1), epochs=1, verbose=False)
    encoder_weights = {id(w) for w in autoencoder.weights}
    assert encoder_weights & {id(w) for w in result.model.weights}, "the classifier must reuse the trained encoder"
