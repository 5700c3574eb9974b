"""`zoo.load`: overrides are applied or refused by name."""

from __future__ import annotations

import pytest

import zoo
from zoo.errors import BadOverride


def test_unknown_override_is_refused_with_the_accepted_keys():
    name = zoo.list_models(family="ffn")[0]
    with pytest.raises(BadOverride, match=r"does not take 'colour'.*learning_rate"):
        zoo.load(name, colour="blue")


def test_override_reaches_the_builder():
    name = next(n for n in zoo.list_models(task="classification") if zoo.info(n).family != "backbone")
    model = zoo.load(name, num_classes=7)
    assert model.output_shape[-1] == 7


def test_loaded_model_is_compiled():
    model = zoo.load(zoo.list_models(family="cnn")[0])
    assert model.compiled and model.optimizer is not None
