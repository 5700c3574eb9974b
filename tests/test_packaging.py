"""An installed wheel finds its recipes (and data files) from any folder, not only from the source checkout."""

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
