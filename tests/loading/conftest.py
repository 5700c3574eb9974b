"""Tiny KerasHub presets of every hub architecture, saved once per test session into a $ZOO_WEIGHTS_DIR (no
network): what the hub tests load through the offline path."""

from __future__ import annotations

import pytest
from hub_presets import HUB_ENTRIES, save_tiny_preset


@pytest.fixture(scope="session")
def presets(tmp_path_factory):
    """$ZOO_WEIGHTS_DIR holding a tiny preset of every architecture, each in its entry's preset folder name."""
    pytest.importorskip("keras_hub")
    from zoo.catalogue import default_catalogue

    root = tmp_path_factory.mktemp("hub_presets")
    for architecture, name in HUB_ENTRIES.items():
        save_tiny_preset(architecture, root / default_catalogue().get(name).hparams["preset"])
    return root


@pytest.fixture
def weights_dir(presets, monkeypatch):
    monkeypatch.setenv("ZOO_WEIGHTS_DIR", str(presets))
    return presets
