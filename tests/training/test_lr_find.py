"""The learning-rate range test: exponential sweep, smoothed loss, divergence stop, suggestion, plot."""

from __future__ import annotations

import numpy as np
import pytest
from finetune_data import lite0, shapes

import zoo
from zoo.errors import BadData, BadOverride
from zoo.layers.traversal import all_layers
from zoo.training.lr_find import LRFindResult, lr_find, suggest


def test_sweep_on_a_backbone_leaves_the_model_as_it_was(tmp_path):
    model = lite0(size=32)
    weights = [w.copy() for w in model.get_weights()]
    flags = [layer.trainable for layer in all_layers(model)]
    result = lr_find(model, shapes(48, size=32), steps=60, batch_size=16, out=tmp_path)
    assert 5 <= len(result.lrs) <= 60 and len(result.losses) == len(result.lrs)
    assert np.all(np.diff(result.lrs) > 0) and np.allclose(np.diff(np.log(result.lrs)), np.log(1e8) / 59)
    assert np.all(np.isfinite(result.losses))
    assert 1e-7 <= result.suggestion <= 10 and result.method in ("steepest descent", "minimum / 10")
    assert result.plot_path == tmp_path / "lr_find.png"
    assert result.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    assert flags == [layer.trainable for layer in all_layers(model)]


def test_a_recipe_sweep_stops_when_the_loss_diverges(capsys):
    from sklearn.datasets import load_digits

    digits = load_digits()
    result = lr_find(zoo.load("mlp_tabular"), (digits.data, digits.target), steps=120, end_lr=1e4, batch_size=64)
    assert "diverged" in result.stopped or "became" in result.stopped
    assert len(result.lrs) < 120
    assert 1e-5 < result.suggestion < 1.0  # an Adam rate that trains an MLP on digits
    swept = [line for line in capsys.readouterr().err.splitlines() if line.startswith("learning-rate sweep: ")]
    assert swept and swept[-1].endswith(" s") and f"{len(result.lrs)}/120 done in" in swept[-1]  # not a terminal


def test_suggestion_is_the_steepest_descent_before_the_minimum():
    lrs = list(np.geomspace(1e-6, 1, 50))
    losses = [2.0 - 1.5 / (1 + np.exp(-(np.log10(lr) + 3) * 3)) for lr in lrs]  # falls fastest at 1e-3
    losses[-5:] = [3.0] * 5
    rate, method = suggest(lrs, losses)
    assert method == "steepest descent" and rate == pytest.approx(1e-3, rel=0.5)


def test_a_sweep_with_an_early_minimum_suggests_a_tenth_of_it():
    lrs, losses = [1e-4, 1e-3, 1e-2, 1e-1, 1.0], [1.0, 0.5, 2.0, 4.0, 8.0]
    assert suggest(lrs, losses) == (pytest.approx(1e-4), "minimum / 10")


def test_plot_without_out(tmp_path):
    result = LRFindResult([1e-4, 1e-3, 1e-2], [1.0, 0.8, 1.5], 1e-3, "steepest descent", "test")
    assert result.plot(tmp_path / "sub" / "plot.png").exists()


def test_bad_ranges_are_refused():
    with pytest.raises(BadOverride, match="start_lr < end_lr"):
        lr_find(zoo.load("mlp_tabular"), (np.zeros((4, 64)), np.array([0, 1, 0, 1])), start_lr=1.0, end_lr=0.1)


def test_data_dir_and_split_reach_the_tfds_reader(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(BadData, match=f"looked in {tmp_path / 'tfds' / 'mnist'}"):
        lr_find(zoo.load("lenet5"), "tfds:mnist", data_dir=tmp_path / "tfds", split="test")
