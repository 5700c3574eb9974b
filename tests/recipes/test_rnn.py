"""RNN recipes: padding is masked out, bidirectional rows really are, the regressor gives one float, training learns."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.catalogue import entries_of

ENTRIES = {entry.name: entry for entry in entries_of("rnn")}
TEXT = sorted(name for name, entry in ENTRIES.items() if entry.input_dtype == "int32")
SERIES = sorted(name for name, entry in ENTRIES.items() if entry.input_dtype != "int32")
UNITS = 6
SMALL_TEXT = {"vocab_size": 50, "embed_dim": 8, "units": UNITS}
SMALL_SERIES = {"timesteps": 24, "units": UNITS}


def _model(name: str, **overrides):
    """Entry `name` as zoo.load returns it (compiled), with a fixed seed and small overrides."""
    import keras

    keras.utils.set_random_seed(0)
    small = SMALL_TEXT if name in TEXT else SMALL_SERIES
    return zoo.load(name, **{**small, **overrides})


def _padded(tokens: list[int], seq_len: int, front: bool = False) -> np.ndarray:
    pad = (seq_len - len(tokens), 0) if front else (0, seq_len - len(tokens))
    return np.pad(np.array([tokens], dtype="int32"), ((0, 0), pad))


@pytest.mark.parametrize("name", TEXT)
def test_padding_zeros_do_not_change_a_text_prediction(name):
    short, long = _model(name, seq_len=8), _model(name, seq_len=16)
    long.set_weights(short.get_weights())
    tokens = [5, 3, 7]
    reference = short.predict(_padded(tokens, 8), verbose=0)
    np.testing.assert_allclose(long.predict(_padded(tokens, 16), verbose=0), reference, atol=1e-6)
    np.testing.assert_allclose(short.predict(_padded(tokens, 8, front=True), verbose=0), reference, atol=1e-6)
    # The same positions filled with a real token must matter, or the checks above prove nothing.
    filled = np.where(_padded(tokens, 8) == 0, 1, _padded(tokens, 8))
    assert not np.allclose(short.predict(filled, verbose=0), reference, atol=1e-4)


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_bidirectional_rows_wrap_the_named_cell(name):
    import keras

    hparams = ENTRIES[name].hparams
    model = _model(name)
    cell = keras.layers.LSTM if hparams["cell"] == "lstm" else keras.layers.GRU
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    if hparams["bidirectional"]:
        assert len(wrapped) == 1
        assert isinstance(wrapped[0].forward_layer, cell) and isinstance(wrapped[0].backward_layer, cell)
        assert wrapped[0].output.shape[-1] == 2 * UNITS  # forward and backward states concatenated
    else:
        assert not wrapped
        assert sum(isinstance(layer, cell) for layer in model.layers) == 1


def test_an_unknown_cell_is_refused_by_name():
    with pytest.raises(ValueError, match="rnn"):
        _model("lstm_text", cell="rnn")


def test_regressor_outputs_one_unbounded_float_per_sample():
    entry = ENTRIES["lstm_regressor"]
    model = _model("lstm_regressor")
    x = np.random.default_rng(0).normal(size=(5, 24, 1)).astype("float32") * 10
    y = model.predict(x, verbose=0)
    assert entry.task == "regression" and entry.classifier is None
    assert y.shape == (5, 1) and y.dtype == np.float32
    assert len(np.unique(y)) == 5


def _learnable(name: str, count: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Tiny data with a rule to learn: token 2 present (text), rising vs falling (series), the series' sum."""
    rng = np.random.default_rng(0)
    if name in TEXT:
        x = rng.integers(3, SMALL_TEXT["vocab_size"], size=(count, 10)).astype("int32")
        labels = rng.integers(0, 2, size=count)
        x[labels == 1, rng.integers(0, 10, size=int(labels.sum()))] = 2
        return x, labels
    ramp = np.linspace(-1, 1, SMALL_SERIES["timesteps"], dtype="float32")
    signs = rng.choice([-1.0, 1.0], size=count).astype("float32")
    x = (signs[:, None] * ramp + 0.1 * rng.normal(size=(count, len(ramp))))[..., None].astype("float32")
    if ENTRIES[name].task == "regression":
        return x, x.sum(axis=(1, 2)) / 10
    return x, (signs > 0).astype("int64")


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_a_few_training_steps_lower_the_loss(name):
    x, y = _learnable(name)
    model = _model(name, seq_len=10) if name in TEXT else _model(name)
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)[0]
    assert after < 0.9 * before
