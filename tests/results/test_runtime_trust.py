"""Trust on read for the runtime cache: a damaged, truncated, unreadable or edited file is one line and a rebuild,
never a changed answer; the key changes with everything that fixes the converted file."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from test_runtime import tiny_model

from zoo.results import runtime, runtime_cache
from zoo.results.runtime import ModelSource, cached_paths, open_runner
from zoo.sealed import check_sealed, write_sealed

X = np.random.default_rng(3).uniform(0, 255, (4, 12, 12, 3)).astype(np.float32)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def warm(model, name: str = "tiny.keras") -> tuple[ModelSource, np.ndarray]:
    source = ModelSource(name, f"digest-{name}", lambda: model)
    return source, open_runner(source, "predict", lambda line: None).run(X)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, model):
    """A cache holding one converted entry of `model`, and its answers: copied into each test's cache, which then
    damages its copy (a conversion takes seconds; a copy, milliseconds)."""
    folder = tmp_path_factory.mktemp("pristine")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_CACHE_DIR", str(folder))
        _, before = warm(model)
    return folder, before


@pytest.fixture
def warmed(cache, pristine, model) -> tuple[ModelSource, np.ndarray]:
    """`warm(model)` in this test's cache: the pristine entry copied there (its seals then check the copy's bytes)."""
    folder, before = pristine
    shutil.copytree(folder, cache, dirs_exist_ok=True)
    return ModelSource("tiny.keras", "digest-tiny.keras", lambda: model), before


def converted_file(source: ModelSource):
    """The entry's largest converted file (the IR's weights, or the .tflite)."""
    import json

    card = cached_paths(source, "predict")[1]
    files = [card.parent / name for name in json.loads(card.read_text())["files"]]
    return max(files, key=lambda path: path.stat().st_size)


def keep_mtime(path, change) -> None:
    stat = path.stat()
    change(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def flip_bytes(path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):  # inside the weights
        data[offset] ^= 0x55
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flipped bytes", "truncated", "card relabelled", "card truncated", "no seal"])
def test_a_damaged_cache_entry_is_one_line_and_a_rebuild_with_the_same_answers(warmed, damage):
    source, before = warmed
    converted, card = converted_file(source), cached_paths(source, "predict")[1]
    if damage == "flipped bytes":
        keep_mtime(converted, flip_bytes)
    elif damage == "truncated":
        os.truncate(converted, converted.stat().st_size // 2)
    elif damage == "card relabelled":
        keep_mtime(card, lambda p: p.write_text(p.read_text().replace('"a"', '"zebra"')))
    elif damage == "card truncated":
        os.truncate(card, 20)
    else:
        converted.with_name(converted.name + ".seal").unlink()
    notes: list[str] = []
    again = open_runner(source, "predict", notes.append)
    assert again.class_names == ["a", "b", "c"]
    np.testing.assert_allclose(again.run(X), before, rtol=1e-5, atol=1e-6)
    assert len(notes) == 2 and "converting again" in notes[0] and "converting" in notes[1], notes
    check_sealed(converted)  # rebuilt and sealed
    assert open_runner(source, "predict", pytest.fail).runtime == "openvino"  # the next run: warm, no note


def test_a_sealed_file_the_runtime_cannot_read_is_one_line_and_a_rebuild(warmed):
    source, before = warmed
    converted = converted_file(source)
    write_sealed(converted, b"TFL3 but not a model at all" * 10)  # matches its seal: only the runtime can tell
    notes: list[str] = []
    again = open_runner(source, "predict", notes.append)
    np.testing.assert_allclose(again.run(X), before, rtol=1e-5, atol=1e-6)
    assert "cannot read" in notes[0] and "converting again" in notes[0], notes


def test_the_key_changes_with_the_conversion_code_and_the_runtimes(cache, model, monkeypatch):
    source = ModelSource("tiny.keras", "digest", lambda: model)
    first = cached_paths(source, "predict")[0]
    changes = {
        "CONVERSION_MODULES": (*runtime_cache.CONVERSION_MODULES[:-1], "scoring/plots.py"),  # other code converts
        "package_version": lambda name: "99.0",  # another converter or runtime
        "__version__": "0.0.0-other",
    }
    for name, value in changes.items():
        with monkeypatch.context() as patch:
            patch.setattr(runtime_cache, name, value)
            runtime_cache.conversion_identity.cache_clear()
            assert cached_paths(source, "predict")[0] != first, name
        runtime_cache.conversion_identity.cache_clear()
    assert cached_paths(source, "predict")[0] == first


def test_the_conversion_identity_covers_every_module_the_conversion_runs():
    """A module of zoo.results that the conversion imports must be in CONVERSION_MODULES (its code is keyed)."""
    import ast
    from pathlib import Path

    folder = Path(runtime.__file__).parent
    listed, seen = set(runtime_cache.CONVERSION_MODULES), set()
    for name in listed:
        for node in ast.walk(ast.parse((folder / name).read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zoo.results."):
                seen.add(node.module.rsplit(".", 1)[1] + ".py")
    assert seen - {"run_folder.py"} <= listed, seen - listed  # run_folder only writes run folders


def test_a_read_only_cache_runs_keras_with_one_line_and_the_same_answers(warmed):
    source, before = warmed
    converted, card = converted_file(source), cached_paths(source, "predict")[1]
    for path in (converted, card):
        path.write_bytes(b"damaged")
    folder = converted.parent
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("root writes into a read-only folder: see tests/faults for a read-only mount")
        notes: list[str] = []
        again = open_runner(source, "predict", notes.append)
        assert again.runtime == "keras" and len(notes) == 2 and "cannot be written" in notes[1], notes
        np.testing.assert_allclose(again.run(X), before, rtol=1e-4, atol=1e-5)
    finally:
        folder.chmod(0o755)


def test_a_damaged_compiled_openvino_model_is_one_line_and_compiled_again(warmed):
    source, before = warmed
    blobs = list((cached_paths(source, "predict")[0].parent / "openvino").rglob("*.blob"))
    assert blobs, "OpenVINO cached no compiled model"
    for blob in blobs:
        check_sealed(blob)
        keep_mtime(blob, flip_bytes)
    notes: list[str] = []
    again = open_runner(source, "predict", notes.append)
    np.testing.assert_allclose(again.run(X), before, rtol=1e-5, atol=1e-6)
    assert len(notes) == len(blobs) and all("compiling again" in line for line in notes), notes
    for blob in blobs:
        check_sealed(blob)  # compiled again and sealed


def test_every_file_of_an_ir_entry_and_of_a_run_folders_export_is_sealed(cache, model, tmp_path):
    from zoo.results.conversion import export_runtime
    from zoo.sealed import check_tree

    source, _ = warm(model, "sealed.keras")
    model.save(tmp_path / "model.keras")
    export_runtime(model, tmp_path, pytest.fail)
    for folder, stem in ((cache / "runtime", cached_paths(source, "predict")[0].name), (tmp_path, "runtime")):
        states = {check.path.name: check.state for check in check_tree(folder) if check.path.name.startswith(stem)}
        assert states == {f"{stem}{suffix}": "good" for suffix in (".xml", ".bin", ".json")}, states
