"""The finetune benchmark on a tiny setting: both paths run on the same files and the JSON has the promised keys."""

from __future__ import annotations

import json

import pytest

from zoo.bench import finetune as bench
from zoo.bench.__main__ import main


@pytest.mark.slow  # ~50-70 s: the benchmark's own smoke run (python -m zoo.bench finetune runs it for real)
def test_both_paths_run_and_report(tmp_path):
    setting = bench.Setting(image_size=32, epochs=(1, 1), batch_size=8, per_class=5, classes=3)
    result = bench.run(setting, workdir=tmp_path)
    assert result["n_train"] + result["n_val"] == 15
    assert result["speedup"] == pytest.approx(result["keras_seconds"] / result["zoo_seconds"], rel=0.01)
    for key in ("zoo_val_accuracy", "keras_val_accuracy", "zoo_head_val_accuracy", "keras_head_val_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    assert set(json.loads(bench.as_json(result))) >= {"speedup", "zoo_val_accuracy", "keras_val_accuracy"}
    assert "speedup" in bench.render(result)
    assert not list(tmp_path.iterdir()), "the image folders are temporary"


@pytest.mark.parametrize("argv", [["--epochs", "0", "0"], ["--epochs", "1", "2", "3"], ["--image-size", "8"]])
def test_bad_settings_are_refused(argv):
    with pytest.raises(SystemExit, match="--"):
        main(["finetune", *argv])


def test_help_of_every_bench_reads_no_keras():
    """`python -m zoo.bench --help` and each suite's help are listing work: no Keras or TensorFlow start-up."""
    import subprocess
    import sys

    code = (
        "import sys, contextlib\n"
        "from zoo.bench.__main__ import parse_args\n"
        "with contextlib.suppress(SystemExit): parse_args(['finetune', '--help'])\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'Keras imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--per-class" in done.stdout
