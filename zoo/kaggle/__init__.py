"""Kaggle-style competitions: k-fold training with out-of-fold scores, fold-averaged and test-time-augmented
predictions, and a submission.csv in the competition's own format. Importing this imports neither TensorFlow nor
NumPy (`zoo --help` imports the package).

    from zoo.kaggle import train, predict
    run = train("train.csv", images="train_images", id_col="id", target_col="label", folds=5, out="run")
    predict("run", template="sample_submission.csv", images="test_images", tta=4, out="submission.csv")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.kaggle.cv.training import KaggleRun

__all__ = ["predict", "train"]


def train(train_csv: str | Path, **options: Any) -> KaggleRun:
    """Cross-validate a model on train.csv and keep every fold's model (see zoo.kaggle.cv.training.train)."""
    from zoo.kaggle.cv.training import train as run_train

    return run_train(train_csv, **options)


def predict(run: str | Path, **options: Any) -> Path:
    """Write a submission from a run's fold models (see zoo.kaggle.submit.prediction.predict)."""
    from zoo.kaggle.submit.prediction import predict as run_predict

    return run_predict(run, **options)
