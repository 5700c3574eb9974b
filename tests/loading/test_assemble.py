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


def test_truncated_or_missing_model_files_say_so(tmp_path):
    from zoo.errors import BadModelFile

    model = zoo.load(zoo.list_models(family="ffn")[0])
    model.save(tmp_path / "m.keras")
    whole = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BadModelFile, match="cut.keras is truncated or corrupt"):
        zoo.load_saved(tmp_path / "cut.keras")
    with pytest.raises(BadModelFile, match="no such model file"):
        zoo.load_saved(tmp_path / "none.keras")
    (tmp_path / "text.keras").write_text("not a model")
    with pytest.raises(BadModelFile, match="text.keras is truncated or corrupt"):
        zoo.load(str(tmp_path / "text.keras"))
    assert zoo.load_saved(tmp_path / "m.keras").count_params() == model.count_params()
