"""RNN benchmark: the catalogue's recurrent recipes on GunPoint (classification and forecasting) and on tweets.

Each run trains `zoo.load(recipe)` with its default hparams on the training split and scores the whole test split.
The tweets rows come with a TF-IDF + logistic-regression baseline trained on the same split.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from zoo.bench.datasets import Split, gunpoint, tweets
from zoo.bench.table import Measure, Row, averaged

FAMILY = "rnn"
TEXT_RECIPES = ("lstm_text", "gru_text", "bilstm_text")
HORIZON = 10  # the forecast target lies this many steps after the window's last value


@dataclass(frozen=True)
class Problem:
    """Prepared train / test arrays, and how a model's test-split output is scored."""

    dataset: str
    metric: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    score: Callable[[np.ndarray, np.ndarray], float]  # (y_true, model output) -> value
    note: str = ""

    @property
    def measure(self) -> Measure:
        return Measure(FAMILY, self.dataset, self.metric)


@dataclass(frozen=True)
class Run:
    """One recipe, at its catalogue defaults, fitted for `epochs`."""

    recipe: str
    epochs: int
    batch_size: int


def accuracy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of samples whose most probable class is the true one."""
    return float(np.mean(probabilities.argmax(axis=-1) == y_true))


def macro_f1(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Unweighted mean of the per-class F1 scores (tweets are imbalanced: 42% / 40% / 18%)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, probabilities.argmax(axis=-1), average="macro"))


def rmse(y_true: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error of one predicted float per sample."""
    return float(np.sqrt(np.mean((predicted.reshape(len(y_true)) - y_true) ** 2)))


def z_normalised(x: np.ndarray) -> np.ndarray:
    """Each series standardised by its own mean and std (as the UCR archive ships GunPoint, so a no-op there)."""
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def gunpoint_classes() -> Problem:
    """GunPoint as shipped: 50 training and 150 test series of 150 steps, gun vs point."""
    data = gunpoint()
    x_train, x_test = z_normalised(data.x_train), z_normalised(data.x_test)
    note = "each series z-normalised by its own mean and std (as UCR ships them)"
    return Problem(data.name, "test accuracy", x_train, data.y_train, x_test, data.y_test, accuracy, note)


def windows(series: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `length` steps of every series, and the value HORIZON steps after each window's end."""
    values = series[..., 0]
    starts = range(values.shape[1] - length - HORIZON + 1)
    x = np.stack([values[:, s : s + length] for s in starts], axis=1).reshape(-1, length, 1)
    y = np.stack([values[:, s + length + HORIZON - 1] for s in starts], axis=1).reshape(-1)
    return x.astype("float32"), y.astype("float32")


def gunpoint_forecast(length: int) -> Problem:
    """Forecast GunPoint HORIZON steps ahead from a window; naive (last value) and linear baselines in the note."""
    from sklearn.linear_model import Ridge

    data = gunpoint()
    x_train, y_train = windows(data.x_train, length)
    x_test, y_test = windows(data.x_test, length)
    persistence = rmse(y_test, x_test[:, -1, 0])
    linear = rmse(y_test, Ridge(alpha=1e-3).fit(x_train[..., 0], y_train).predict(x_test[..., 0]))
    note = (
        f"all {length}-step windows of the 50 train / 150 test series -> value {HORIZON} steps later; "
        f"naive last-value RMSE {persistence:.4f}, linear AR (ridge) RMSE {linear:.4f}"
    )
    return Problem(data.name, "test RMSE", x_train, y_train, x_test, y_test, rmse, note)


def tokenised_tweets(vocab_size: int, seq_len: int) -> tuple[Problem, Split]:
    """Tweets as padded token ids from a TextVectorization fitted on the training texts only; also the raw split."""
    import keras
    import tensorflow as tf

    data = tweets()
    vectorize = keras.layers.TextVectorization(max_tokens=vocab_size, output_sequence_length=seq_len)
    vectorize.adapt(tf.constant(data.x_train.astype(str)), batch_size=1024)
    x_train, x_test = (
        vectorize(tf.constant(x.astype(str))).numpy().astype("int32") for x in (data.x_train, data.x_test)
    )
    note = f"TextVectorization (lowercase, no punctuation, {vocab_size} tokens, {seq_len} ids) fitted on train texts"
    return Problem(data.name, "test macro-F1", x_train, data.y_train, x_test, data.y_test, macro_f1, note), data


def fit_and_score(run: Run, problem: Problem, seed: int) -> float:
    """Fit the recipe (built and compiled by zoo.load) on the training arrays; its score on the test arrays."""
    import keras

    import zoo

    keras.utils.set_random_seed(seed)
    model = zoo.load(run.recipe)
    model.fit(problem.x_train, problem.y_train, epochs=run.epochs, batch_size=run.batch_size, verbose=0)
    return problem.score(problem.y_test, model.predict(problem.x_test, batch_size=1024, verbose=0))


def measure(runs: Iterable[Run], problem: Problem, seeds: list[int]) -> list[Row]:
    """One row per run: the mean test score over `seeds`; one progress line per seed on stderr."""
    rows = []
    for run in runs:
        values, seconds = [], []
        for seed in seeds:
            started = time.perf_counter()
            values.append(fit_and_score(run, problem, seed))
            seconds.append(time.perf_counter() - started)
            print(
                f"[bench] {run.recipe} seed {seed}: {problem.metric} {values[-1]:.4f} ({seconds[-1]:.1f}s)",
                file=sys.stderr,
            )
        note = "; ".join(filter(None, [f"defaults, {run.epochs} epoch(s), batch {run.batch_size}", problem.note]))
        rows.append(averaged(run.recipe, problem.measure, values, seconds, note=note))
    return rows


def tfidf_baseline(data: Split, problem: Problem) -> Row:
    """TF-IDF (sublinear tf) + multinomial logistic regression on the same split: deterministic, so fitted once."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    started = time.perf_counter()
    pipeline = make_pipeline(TfidfVectorizer(sublinear_tf=True), LogisticRegression(max_iter=1000))
    pipeline.fit(data.x_train, data.y_train)
    value = problem.score(data.y_test, pipeline.predict_proba(data.x_test))
    seconds = time.perf_counter() - started
    note = "baseline, scikit-learn TF-IDF (word unigrams, sublinear tf) + LogisticRegression(C=1); deterministic"
    return averaged("tfidf_logreg (baseline)", problem.measure, [value], [seconds], note=note)


def run(seeds: Iterable[int]) -> list[Row]:
    """Series classifiers on GunPoint, the regressor on GunPoint windows, text classifiers (and baseline) on tweets."""
    import zoo

    seeds = list(seeds)
    series = (Run("lstm_series", 120, 10), Run("gru_series", 120, 10), Run("bigru_series", 120, 10))
    rows = measure(series, gunpoint_classes(), seeds)
    rows += measure(
        [Run("lstm_regressor", 15, 64)], gunpoint_forecast(zoo.info("lstm_regressor").hparams["timesteps"]), seeds
    )
    text = zoo.info("lstm_text").hparams
    if any(zoo.info(name).hparams[key] != text[key] for name in TEXT_RECIPES for key in ("vocab_size", "seq_len")):
        raise ValueError(f"{', '.join(TEXT_RECIPES)} must share vocab_size and seq_len: one tokeniser feeds them all")
    problem, raw = tokenised_tweets(text["vocab_size"], text["seq_len"])
    # One epoch: on 30k tweets every text recipe peaks after the first pass and overfits after it.
    rows += measure([Run(name, 1, 64) for name in TEXT_RECIPES], problem, seeds)
    rows.append(tfidf_baseline(raw, problem))
    return rows
