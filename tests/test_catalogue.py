"""The catalogue mechanism, on small catalogues built by the tests, plus the project's own catalogue's shape."""

from __future__ import annotations

import pytest

from zoo.catalogue import Catalogue, default_catalogue
from zoo.entry import FAMILIES, Entry
from zoo.errors import CatalogueError, UnknownModel


def make_entry(name: str, family: str = "ffn", module: str = "tests.a") -> Entry:
    entry = Entry(
        name=name,
        family=family,
        task="classification",
        build=lambda **_: None,
        hparams={"units": 4},
        input_shape=(4,),
        params=24,
        summary="a test entry",
    )
    object.__setattr__(entry, "module", module)
    return entry


def test_duplicate_name_names_both_modules():
    with pytest.raises(CatalogueError, match=r"'mlp'.*tests\.a.*tests\.b"):
        Catalogue([make_entry("mlp", module="tests.a"), make_entry("mlp", module="tests.b")])


def test_unknown_name_suggests_close_matches():
    catalogue = Catalogue([make_entry("resnet_small"), make_entry("lenet5"), make_entry("mlp_tabular")])
    with pytest.raises(UnknownModel) as caught:
        catalogue.get("resnet_smal")
    assert "resnet_small" in str(caught.value)
    assert "zoo list" in str(caught.value)


def test_names_filter_by_family_and_task():
    catalogue = Catalogue([make_entry("a", "ffn"), make_entry("b", "cnn"), make_entry("c", "cnn")])
    assert catalogue.names() == ["a", "b", "c"]
    assert catalogue.names(family="cnn") == ["b", "c"]
    assert catalogue.names(task="regression") == []
    with pytest.raises(ValueError, match="family='cnns'"):
        catalogue.names(family="cnns")


def test_entry_refuses_unknown_family_and_freezes_hparams():
    with pytest.raises(ValueError, match="family 'mlp'"):
        make_entry("x", family="mlp")
    entry = make_entry("x")
    with pytest.raises(TypeError):
        entry.hparams["units"] = 8


def test_describe_is_json_ready():
    import json

    data = make_entry("x").describe()
    assert json.loads(json.dumps(data))["hparams"] == {"units": 4}


def test_project_catalogue_covers_every_recipe_family():
    families = {entry.family for entry in default_catalogue()}
    assert set(FAMILIES) - {"backbone"} <= families
