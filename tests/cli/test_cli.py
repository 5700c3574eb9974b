"""The `zoo` command line: listing is fast and TensorFlow-free; errors are one clear line."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zoo.cli.main
from zoo.catalogue import default_catalogue
from zoo.cli.main import main
from zoo.entry import FAMILIES


def run_zoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True, timeout=60)


def test_list_json_has_every_entry_with_required_keys(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == [entry.name for entry in default_catalogue()]
    for row in rows:
        assert {"name", "family", "task", "params"} <= set(row)
        assert row["family"] in FAMILIES and row["params"] > 0


def test_list_filters_by_family(capsys):
    assert main(["list", "--family", "cnn"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.split()[1] == "cnn" for line in lines)


def test_list_does_not_import_tensorflow():
    """What makes `zoo list` fast, asserted deterministically (no wall clock: a busy machine failed that)."""
    code = (
        "import sys; from zoo.cli.main import main; main(['list']); "
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'numpy', 'PIL', 'keras_hub') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_list_family_hub_works_without_the_extra_and_says_how_to_install_it():
    """keras_hub hidden from the import system: the hub rows still list, with the one line naming the extra."""
    code = (
        "import sys, importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda name, *a: None if name == 'keras_hub' else real(name, *a); "
        "from zoo.cli.main import main; rc = main(['list', '--family', 'hub']); "
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'keras_hub') if m in sys.modules)); sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if not line.startswith("HEAVY")]
    assert {"vit_b16", "dinov2_small", "siglip_b16_224", "clip_b32", "deit_tiny", "hgnetv2_b4"} <= {
        row.split()[0] for row in rows
    }
    assert all(row.split()[1] == "hub" for row in rows)
    assert "HEAVY []" in result.stdout
    assert "pip install 'zoo-keras[hub]'" in result.stderr


def test_info_json_round_trips_metadata(capsys):
    name = default_catalogue().names()[0]
    assert main(["info", name, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == name and data["params"] == default_catalogue().get(name).params


def test_unknown_name_is_one_line_with_suggestion():
    name = default_catalogue().names()[0]
    result = run_zoo("info", name[:-1] + "x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert name in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"]])
def test_help_works(args):
    result = run_zoo(*args)
    assert result.returncode == 0 and "usage" in result.stdout


def test_env_reports_versions_settings_and_devices(capsys, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert main(["env", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["versions"]["keras"].startswith("3.")
    assert report["settings"]["ZOO_OFFLINE"] == "1" and report["offline"] is True
    assert any(device.startswith("CPU") for device in report["devices"])


@pytest.mark.parametrize(
    ("number", "expected"),
    [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"), (errno.EACCES, "permission denied")],
)
def test_system_refusals_are_one_line_with_the_file(monkeypatch, capsys, number, expected):
    def refused(args):
        raise OSError(number, os.strerror(number), "/runs/a/model.keras")

    monkeypatch.setattr(zoo.cli.main, "cmd_list", refused)
    assert zoo.cli.main.main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zoo: error:") and "/runs/a/model.keras" in err and expected in err


@pytest.mark.parametrize(
    ("args", "imports"),
    [
        (["list"], False),
        (["info", "mlp"], False),
        (["env", "--no-devices"], False),
        (["env", "--clear-image-store"], False),
        (["doctor", "data"], False),  # class folders and CSVs: no TensorFlow
        (["weights", "list"], False),
        (["env"], True),
        (["finetune", "mlp", "data"], True),
        (["lr-find", "mlp", "data"], True),
        (["kaggle", "predict", "--run", "r", "--test-csv", "t.csv", "--out", "o.csv"], True),
        (["explain", "mlp", "a.png"], True),
        (["weights", "import", "f.h5", "--as", "k.top", "--trust"], True),
        (["weights", "import", "f.h5"], False),
    ],
)
def test_every_command_that_imports_tensorflow_silences_it_first(args, imports):
    parsed = zoo.cli.main.build_parser().parse_args(args)
    assert zoo.cli.main.imports_tensorflow(parsed) is imports


@pytest.mark.slow
def test_zoo_env_is_quiet_unless_verbose_or_tf_cpp_min_log_level():
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])

    def zoo_env(*flags: str, **extra: str) -> str:
        command = [sys.executable, "-m", "zoo", *flags, "env", "--json"]
        done = subprocess.run(command, env={**env, **extra}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0
        return done.stderr

    loud = zoo_env("--verbose")
    if not loud:
        pytest.skip("this TensorFlow prints nothing at start-up: nothing to silence")
    assert zoo_env() == ""
    assert zoo_env(TF_CPP_MIN_LOG_LEVEL="0") != ""


@pytest.mark.slow
def test_tensorflow_start_up_logs_are_silenced_unless_asked(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    script = "from zoo.hardware.devices import import_tensorflow_quietly as s; "
    script += "s(); import tensorflow as tf; tf.constant(1); tf.get_logger().warning('5 out of 8 calls retraced')"
    loud = subprocess.run([sys.executable, "-c", script.replace("s();", "")], env=env, capture_output=True, text=True)
    if not loud.stderr:
        pytest.skip("this TensorFlow prints nothing at start-up: nothing to silence")
    quiet = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_a_users_tf_cpp_min_log_level_above_0_does_not_bring_tensorflows_start_up_lines_back():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    script = "from zoo.hardware.devices import import_tensorflow_quietly as s; s(); import tensorflow as tf; "
    script += "import os; tf.constant(1); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    quiet = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr[-2000:]  # absl's I0000 port.cc lines showed
    assert quiet.stdout.strip() == "3"  # the user's level is kept
