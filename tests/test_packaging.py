"""The recipes (top-level recipes/, imported as zoo.recipes) and data files are found from a plain checkout, an editable
install and an installed wheel alike, from any folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The project's wheel, built and installed (without dependencies) into a fresh target folder."""
    wheels = tmp_path_factory.mktemp("wheels")
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(wheels.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    return target


def test_wheel_lists_the_catalogue_from_another_folder(installed, tmp_path):
    code = (
        "import json, zoo, zoo.catalogue as c, zoo.data; c.default_catalogue(); import sys; "
        "from zoo.weights.manifest import load_manifest; from zoo.loading.imagenet import imagenet_class_names; "
        "print(json.dumps({'zoo': zoo.__file__, 'recipes': sys.modules['zoo.recipes'].__file__, "
        "'manifest': str(load_manifest().path), 'records': len(load_manifest()), "
        "'classes': len(imagenet_class_names()), 'families': sorted({e.family for e in c.default_catalogue()})}))"
    )
    env = {"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["zoo"].startswith(str(installed)) and found["recipes"].startswith(str(installed))
    assert found["manifest"].startswith(str(installed)) and found["records"] >= 2 * 40
    assert found["classes"] == 1000
    assert {"ffn", "cnn", "rnn", "autoencoder", "dbn", "backbone"} <= set(found["families"])


RECIPES_OF = (
    "import json, sys, zoo, zoo.catalogue as c; c.default_catalogue(); "
    "print(json.dumps({'zoo': zoo.__file__, 'recipes': sys.modules['zoo.recipes'].__file__, "
    "'names': len(c.default_catalogue())}))"
)


def where_from(*arguments: str, env: dict | None, cwd: Path) -> dict:
    command = [sys.executable, *arguments, "-c", RECIPES_OF]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plain_checkout_imports_its_own_recipes(tmp_path):
    # -S: no site-packages, so no installed or editable zoo can answer: only the checkout on PYTHONPATH
    found = where_from("-S", env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert found["zoo"] == str(ROOT / "zoo" / "__init__.py")
    assert found["recipes"] == str(ROOT / "recipes" / "__init__.py") and found["names"] > 50


def test_editable_install_imports_the_checkouts_recipes(tmp_path):
    found = where_from(env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    if not found["zoo"].startswith(str(ROOT)):
        pytest.skip(f"zoo is not installed in editable mode from this checkout here ({found['zoo']})")
    assert found["recipes"] == str(ROOT / "recipes" / "__init__.py") and found["names"] > 50
