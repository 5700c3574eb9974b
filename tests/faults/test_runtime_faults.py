"""Faults of the runtime cache, each in real `zoo predict` processes: Ctrl-C during the first conversion, two
processes converting one model at once, a read-only cache. No partial file is ever used; answers never change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.sealed import check_tree

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "results"))
from test_runtime import tiny_model  # noqa: E402

pytestmark = pytest.mark.slow  # each case converts a model in fresh processes that import TensorFlow


@pytest.fixture(scope="module")
def model_and_image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    tiny_model().save(folder / "m.keras")
    pixels = np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "x.png")
    return folder / "m.keras", folder / "x.png"


def predict(model_and_image, cache: Path, wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "zoo", "predict", *map(str, model_and_image)]
    if wait:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def zoo_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("zoo:")]


def all_sealed(cache: Path) -> None:
    checks = check_tree(cache / "runtime")
    assert all(check.state == "good" for check in checks), [(c.path.name, c.state) for c in checks]
    assert not [path for path in (cache / "runtime").rglob("*") if path.name.endswith(".tmp")]


def test_ctrl_c_during_the_first_conversion_leaves_nothing_that_is_used(model_and_image, tmp_path):
    reference = predict(model_and_image, tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr[-2000:]
    cache = tmp_path / "cache"
    run = predict(model_and_image, cache, wait=False)
    for line in run.stderr:
        if "converting" in line:
            break
    time.sleep(1.0)  # inside the conversion
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=300)
    assert run.returncode in (130, -signal.SIGINT), err[-2000:]
    all_sealed(cache)  # nothing half-written, nothing unsealed
    again = predict(model_and_image, cache)
    assert again.returncode == 0 and again.stdout == reference.stdout, again.stderr[-2000:]
    warm = predict(model_and_image, cache)
    assert warm.stdout == reference.stdout and not zoo_lines(warm.stderr), warm.stderr[-2000:]  # no conversion
    all_sealed(cache)


def test_two_processes_converting_one_model_make_one_conversion_and_both_answer(model_and_image, tmp_path):
    cache = tmp_path / "cache"
    first, second = predict(model_and_image, cache, wait=False), predict(model_and_image, cache, wait=False)
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == second.returncode == 0, [err[-2000:] for _, err in outputs]
    assert outputs[0][0] == outputs[1][0] and "a" in outputs[0][0]
    conversions = [line for _, err in outputs for line in zoo_lines(err) if "converting" in line]
    assert len(conversions) == 1, [err for _, err in outputs]
    all_sealed(cache)


def test_a_read_only_cache_runs_keras_with_one_line_and_the_same_answers(model_and_image, tmp_path, read_only_disk):
    reference = predict(model_and_image, tmp_path / "reference")
    result = predict(model_and_image, read_only_disk)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = zoo_lines(result.stderr)
    assert len(lines) == 1 and "runs in Keras" in lines[0] and "cannot be written" in lines[0], lines
    assert result.stdout == reference.stdout  # the percentages zoo prints: equal to the runtime's
