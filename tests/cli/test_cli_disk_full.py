"""A full disk in a library's own words (HDF5, TensorFlow) is one `zoo: error:` line, exit 2, with the resume
command; without a mount (tests/faults/test_disk_full.py fills a real tmpfs where it can mount one)."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from finetune_data import shape_folder

from zoo.errors import BadData, disk_full, os_refusal

HDF5_FULL = (
    "Can't synchronously write data (file write failed: time = Sun Dec  6 04:20:56 2026\n, filename = "
    "'/runs/a/checkpoints/.partial-1/model.weights.h5', file descriptor = 3, errno = 28, error message = 'No space "
    "left on device', buf = 0x55f7948e4f90, total write size = 153600)"
)


def test_a_full_disk_is_recognised_in_any_exception_type_and_named_by_its_file():
    for error in (RuntimeError(HDF5_FULL), OSError(HDF5_FULL)):
        full = disk_full(error)
        assert full.errno == errno.ENOSPC and full.filename == "/runs/a/checkpoints/.partial-1/model.weights.h5"
    tensorflow = disk_full(RuntimeError("saved_model.pb; No space left on device"))
    assert tensorflow.errno == errno.ENOSPC and os_refusal(OSError(errno.EDQUOT, "quota")).errno == errno.EDQUOT
    assert disk_full(RuntimeError("shapes differ")) is None and os_refusal(ValueError("bad")) is None
    assert os_refusal(BadData("No space left on device in the listing")) is None  # says what is wrong itself


def test_a_full_disk_mid_run_is_one_line_with_the_resume_command(tmp_path, monkeypatch, capsys):
    import zoo.training.run
    from zoo.cli.main import main

    def full_disk_while_training(*args, **kwargs):
        raise RuntimeError(HDF5_FULL)

    monkeypatch.setattr(zoo.training.run, "finetune", full_disk_while_training)
    data, out = shape_folder(tmp_path / "shapes", per_class=2, size=28), tmp_path / "run"
    assert main(["finetune", "lenet5", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("zoo: error:")]
    assert line.startswith("zoo: error: No space left on device (/runs/a/checkpoints/.partial-1/model.weights.h5)")
    assert "the disk is full" in line and f"--out {out} " in line and line.endswith(" --resume")
    assert "Traceback" not in err and "file write failed" not in err
    assert not (out / ".zoo-run.lock").exists()


def test_an_export_on_a_full_disk_stops_the_run_instead_of_being_recorded_as_failed(tmp_path, monkeypatch):
    import keras

    from zoo.results import export

    def full(*args):
        raise RuntimeError("saved_model.pb: No space left on device")

    monkeypatch.setitem(export.EXPORTERS, "savedmodel", full)
    images = keras.Input((4,))
    model = keras.Model(images, keras.layers.Dense(2, activation="softmax")(images))
    with pytest.raises(OSError) as raised:
        export.export_model(model, tmp_path, np.zeros((2, 4), np.float32), formats=("savedmodel",))
    assert raised.value.errno == errno.ENOSPC
