"""After `import zoo`, Keras finds zoo's classes by itself: at once if Keras is loaded, else once Keras loads."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import keras
import pytest

from zoo.loading.model import ZooModel
from zoo.loading.registration import AfterKerasImport


def test_the_hook_imports_the_modules_right_after_the_package(tmp_path, monkeypatch):
    (tmp_path / "fake_keras_pkg").mkdir()
    (tmp_path / "fake_keras_pkg" / "__init__.py").write_text("LOADED = True\n")
    (tmp_path / "registers_after.py").write_text("import fake_keras_pkg\nSAW = fake_keras_pkg.LOADED\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    hook = AfterKerasImport(["registers_after"], "fake_keras_pkg")
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])
    try:
        import fake_keras_pkg  # noqa: F401

        assert sys.modules["registers_after"].SAW is True
        assert hook not in sys.meta_path  # one shot
    finally:
        for name in ("fake_keras_pkg", "registers_after"):
            sys.modules.pop(name, None)


@pytest.mark.slow
def test_keras_load_model_works_after_a_plain_import_zoo(tmp_path):
    inputs = keras.Input((3,))
    model = ZooModel(inputs, keras.layers.Dense(2, name="predictions")(inputs), class_names=["cat", "dog"])
    path = tmp_path / "m.keras"
    model.save(path)
    script = textwrap.dedent(f"""
        import sys
        import zoo
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules
        import keras
        reloaded = keras.saving.load_model({str(path)!r})
        print(type(reloaded).__name__, reloaded.class_names)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "ZooModel ['cat', 'dog']"
