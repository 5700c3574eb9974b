"""Door checks on DATA: a name that is neither a path nor a known TFDS dataset is refused before anything loads."""

from __future__ import annotations

import pytest

from zoo.errors import BadData
from zoo.training.preflight import check_data_exists


def test_missing_paths_and_unknown_bare_names_are_refused_at_the_door(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadData, match="no_folder/x: no such file or folder"):
        check_data_exists("no_folder/x")
    with pytest.raises(BadData, match="no folder or file named 'nothere', and no TensorFlow Datasets dataset"):
        check_data_exists("nothere")
    check_data_exists("tfds:anything")  # tfds:NAME is left to the TFDS reader
    (tmp_path / "nothere").mkdir()
    check_data_exists("nothere")


def test_a_bare_name_tfds_knows_passes(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.chdir(tmp_path)
    check_data_exists("mnist")


def test_the_door_knows_the_export_formats_and_augment_names_of_the_code_it_guards():
    from zoo.layers.augment import NAMES
    from zoo.results.export import FORMATS
    from zoo.results.export import ONNX_PACKAGES as EXPORTER_NEEDS
    from zoo.training.preflight import AUGMENT_NAMES, EXPORT_FORMATS, ONNX_PACKAGES

    assert EXPORT_FORMATS == FORMATS and AUGMENT_NAMES == NAMES and ONNX_PACKAGES == EXPORTER_NEEDS


def test_onnx_without_its_packages_is_refused_at_the_door_with_the_install_command(monkeypatch):
    import importlib.util

    from zoo.errors import BadOverride
    from zoo.training import preflight

    assert preflight.export_formats("keras,onnx") == ("keras", "onnx")  # the test extra has them
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "tf2onnx" else found(name))
    with pytest.raises(
        BadOverride, match=r"--export onnx needs the tf2onnx package\(s\).*pip install 'zoo-keras\[export\]'"
    ):
        preflight.export_formats("keras,onnx")
    assert preflight.export_formats("keras,runtime") == ("keras", "runtime")
