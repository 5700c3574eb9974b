"""Faults during fine-tuning: Ctrl-C leaves a resumable checkpoint, resume continues, NaN stops, bad resumes refused."""

from __future__ import annotations

import io
import json
import re
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo.data.progress import silent
from zoo.errors import DamagedCheckpoint, ResumeMismatch, ZooError
from zoo.training.checkpoints import CheckpointFolder
from zoo.training.faults import EpochLine, ResumableEarlyStopping
from zoo.training.run import finetune


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data[:400], data.target[:400]


def mlp():
    keras.utils.set_random_seed(0)
    return zoo.load("mlp_tabular")


def interrupt_at(monkeypatch, epoch_number: int) -> None:
    """Ctrl-C right after the given epoch's progress line (before that epoch's checkpoint is written)."""
    original = EpochLine.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == epoch_number:
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochLine, "on_epoch_end", on_epoch_end)


def test_ctrl_c_leaves_a_checkpoint_and_resume_finishes_the_run(digits, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    interrupt_at(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, resume_command="zoo finetune ...")
    assert "resume with: zoo finetune ..." in capsys.readouterr().err
    saved = CheckpointFolder(out).saved()
    assert [(s.phase, s.epoch) for s in saved] == [(0, 3), (0, 2)]  # the newest two; epoch 4 never finished
    monkeypatch.undo()
    result = finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, resume=True)
    assert "resuming from" in capsys.readouterr().out
    assert len(result.history["loss"]) == 6 and result.report["phases"][0]["epochs_run"] == 6
    assert result.report["status"] == "completed"
    assert json.loads((out / "report.json").read_text())["val_accuracy"] == pytest.approx(result.evaluation.accuracy)


def test_the_best_score_and_its_weights_survive_a_resume(digits, tmp_path, monkeypatch):
    out = tmp_path / "run"
    interrupt_at(monkeypatch, 4)
    with pytest.raises(KeyboardInterrupt):
        finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, verbose=False)
    newest = CheckpointFolder(out).saved()[0]
    assert newest.stopping["best"] == pytest.approx(min(newest.history["val_loss"]))
    assert (newest.folder / "best_weights.npz").exists()
    monkeypatch.undo()
    seen = {}
    original = ResumableEarlyStopping.on_train_begin

    def on_train_begin(self, logs=None):
        original(self, logs)
        seen.update(best=self.best, weights=self.best_weights)

    monkeypatch.setattr(ResumableEarlyStopping, "on_train_begin", on_train_begin)
    finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, resume=True, verbose=False)
    assert seen["best"] == pytest.approx(newest.stopping["best"])  # not forgotten: Keras's own restarts at None
    assert seen["weights"] is not None and len(seen["weights"]) == len(mlp().get_weights())


def test_a_new_run_never_overwrites_an_earlier_one(digits, tmp_path):
    out = tmp_path / "run"
    finetune(mlp(), digits, epochs=1, out=out, export=("keras",), verbose=False)
    before = (out / "report.json").read_bytes()
    with pytest.raises(ZooError, match="holds an earlier finetune run of mlp_tabular.*--resume"):
        finetune(mlp(), digits, epochs=1, out=out, export=("keras",), verbose=False)
    assert (out / "report.json").read_bytes() == before


class Worsening:
    """A metric that gets worse every time it is asked: early stopping on it must stop and keep the first epoch."""

    name, greater_is_better = "worsening", True

    def __init__(self) -> None:
        self.calls = 0

    def score(self, y, outputs) -> float:
        assert outputs.shape == (len(y), 10)
        self.calls += 1
        return -float(self.calls)


def test_early_stopping_can_follow_a_given_metric(digits):
    model = mlp()
    result = finetune(model, digits, epochs=8, patience=1, monitor=Worsening(), verbose=False)
    assert result.history["val_worsening"] == [-1.0, -2.0]  # stopped after one epoch without improvement
    assert result.report["phases"][0]["stopped_early"] and result.report["phases"][0]["epochs_run"] == 2


def test_resume_with_other_settings_is_refused(digits, tmp_path):
    out = tmp_path / "run"
    finetune(mlp(), digits, epochs=1, out=out, export=("keras",), verbose=False)
    with pytest.raises(ResumeMismatch, match=r"batch_size: was 32, now 16"):
        finetune(mlp(), digits, epochs=1, out=out, batch_size=16, resume=True, verbose=False)


def stopped_run(digits, out, monkeypatch, at_epoch: int = 3) -> list:
    """A run of mlp_tabular stopped by Ctrl-C during epoch `at_epoch`: its readable checkpoints, newest first."""
    interrupt_at(monkeypatch, at_epoch)
    with pytest.raises(KeyboardInterrupt):
        finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, verbose=False)
    monkeypatch.undo()
    return CheckpointFolder(out).saved()


def flip_a_byte(path, at: int = -40) -> None:
    """Change one byte of `path` in place (same size): damage no size check can see."""
    with open(path, "r+b") as handle:
        handle.seek(at, 2)
        byte = handle.read(1)
        handle.seek(at, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))


def resume_refused(digits, out, damaged) -> str:
    """Resume `out` and expect one DamagedCheckpoint naming `damaged`; nothing in `out` changed. The message."""
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(DamagedCheckpoint) as raised:
        finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, resume=True, verbose=False)
    message = str(raised.value)
    assert "\n" not in message and str(damaged) in message
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing deleted or changed
    return message


@pytest.mark.parametrize("name", ["model.weights.npz", "state.json", "optimizer.npz", "best_weights.npz"])
def test_a_damaged_newest_checkpoint_is_one_line_naming_the_file_and_the_previous_one(digits, tmp_path, monkeypatch,
                                                                                     name):
    out = tmp_path / "run"
    newest, previous = stopped_run(digits, out, monkeypatch)
    if not (newest.folder / name).exists():
        pytest.skip(f"this run's checkpoint has no {name}")
    flip_a_byte(newest.folder / name)
    message = resume_refused(digits, out, newest.folder / name)
    assert previous.folder.name in message and "rm -r" in message and "re-train" in message


def test_a_truncated_checkpoint_is_refused_and_its_removal_resumes_from_the_previous(digits, tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "run"
    newest, previous = stopped_run(digits, out, monkeypatch)
    weights = newest.folder / "model.weights.npz"
    weights.write_bytes(weights.read_bytes()[:100])
    resume_refused(digits, out, weights)
    shutil.rmtree(newest.folder)  # what the line says to do
    result = finetune(mlp(), digits, epochs=6, out=out, export=("keras",), patience=10, resume=True, verbose=False)
    assert result.report["status"] == "completed" and len(result.history["loss"]) == 6


def test_a_damaged_only_checkpoint_says_to_re_train(digits, tmp_path):
    out = tmp_path / "run"
    finetune(mlp(), digits, epochs=1, out=out, export=("keras",), verbose=False)
    (only,) = CheckpointFolder(out).saved()
    (only.folder / "state.json").write_text('{"phase": 0, "ep')
    message = resume_refused(digits, out, only.folder / "state.json")
    assert "no earlier checkpoint" in message and "re-train" in message


def test_resume_with_another_model_is_refused_before_reading_weights(digits, tmp_path, monkeypatch):
    out = tmp_path / "run"
    stopped_run(digits, out, monkeypatch)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    other = keras_mlp_like(mlp())
    with pytest.raises(ResumeMismatch, match="cannot resume"):
        finetune(other, digits, epochs=6, out=out, export=("keras",), patience=10, resume=True, verbose=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing deleted or changed


def keras_mlp_like(model: keras.Model) -> keras.Model:
    """Another architecture on the same inputs (wider hidden layer): its weights cannot load the stopped run's."""
    inputs = keras.Input(model.input_shape[1:])
    hidden = keras.layers.Dense(7, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    other = keras.Model(inputs, outputs, name="other_mlp")
    other.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return other


def test_a_finished_run_keeps_only_its_newest_checkpoint(digits, tmp_path):
    out = tmp_path / "run"
    finetune(mlp(), digits, epochs=3, out=out, export=("keras",), patience=10, verbose=False)
    kept = CheckpointFolder(out).saved()
    assert len(kept) == 1 and kept[0].done and len(list((out / "checkpoints").iterdir())) == 1


def test_a_non_finite_loss_stops_the_run_and_keeps_finite_weights(digits):
    model = mlp()
    result = finetune(model, digits, epochs=3, scratch_lr=1e38, verbose=False)
    assert result.report["status"].startswith("stopped in phase 1 epoch 1")
    assert result.report["phases"][0]["non_finite_at"] == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_resume_without_a_checkpoint_starts_afresh(digits, tmp_path, capsys):
    result = finetune(mlp(), digits, epochs=1, out=tmp_path / "new", export=("keras",), resume=True)
    assert "no checkpoint" in capsys.readouterr().out and result.report["status"] == "completed"


@pytest.mark.slow  # 26-34 s (two lite0 runs); the default suite resumes one-phase runs in this file
def test_a_backbone_resumes_inside_its_second_phase(tmp_path, monkeypatch, capsys):
    from finetune_data import lite0, shapes

    data, out = shapes(24, size=32), tmp_path / "run"
    original = EpochLine.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if "2/2" in self.label and epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochLine, "on_epoch_end", on_epoch_end)
    options = {"epochs": (2, 3), "batch_size": 8, "out": out, "export": ("keras",), "patience": 10}
    with pytest.raises(KeyboardInterrupt):
        finetune(lite0(size=32), data, **options)
    assert [(s.phase, s.epoch, s.done) for s in CheckpointFolder(out).saved()] == [(1, 1, False), (0, 2, True)]
    monkeypatch.undo()
    capsys.readouterr()
    result = finetune(lite0(size=32), data, resume=True, **options)
    printed = capsys.readouterr().out
    assert "phase 2, epoch 1" in printed and "phase 1/2 head epoch" not in printed
    assert [p["epochs_run"] for p in result.report["phases"]] == [2, 3]
    assert len(result.history["loss"]) == 5


class Terminal(io.StringIO):
    """A stderr that says it is (or is not) a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("tty", "quiet"), [(True, False), (False, False), (True, True)])
def test_epoch_lines_and_a_bar_over_the_batches_only_on_a_terminal(monkeypatch, tty, quiet):
    stderr = Terminal(tty)
    monkeypatch.setattr(sys, "stderr", stderr)
    lines: list[str] = []
    say = silent if quiet else lines.append
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((64, 4), "float32"), np.zeros(64, "int32")
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[EpochLine("phase 1/1 all layers", 2, say)], verbose=0)
    assert len(lines) == (0 if quiet else 2)
    assert all(re.fullmatch(r"phase 1/1 all layers epoch [12]/2: loss \d\.\d{4} \(\d+\.\ds\)", line) for line in lines)
    bars = stderr.getvalue()
    if tty and not quiet:
        assert "phase 1/1 all layers epoch 2/2" in bars and "/8 [" in bars  # a bar over the 8 batches of each epoch
    else:
        assert bars == ""  # logs get the epoch lines only; a quiet run nothing
