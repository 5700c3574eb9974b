"""Kaggle-style competitions: k-fold training with out-of-fold scores, fold-averaged and test-time-augmented
predictions, and a submission.csv in the competition's own format. Importing this imports neither TensorFlow nor
NumPy (`zoo --help` imports the package).

    from zoo.kaggle import train, predict
    run = train("train.csv", images="train_images", id_col="id", target_col="label", folds=5, out="run")
    predict("run", template="sample_submission.csv", images="test_images", tta=4, out="submission.csv")
    blend(["run", "run_b"], out="blend"); bundle("blend", out="kit")   # an ensemble; an offline kit to upload
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoo.kaggle.cv.training import KaggleRun

__all__ = ["blend", "bundle", "predict", "train"]


def train(train_csv: str | Path, **options: Any) -> KaggleRun:
    """Cross-validate a model on train.csv and keep every fold's model (see zoo.kaggle.cv.training.train)."""
    from zoo.kaggle.cv.training import train as run_train

    return run_train(train_csv, **options)


def predict(run: str | Path, **options: Any) -> Path:
    """Write a submission from a run's fold models (see zoo.kaggle.submit.prediction.predict)."""
    from zoo.kaggle.submit.prediction import predict as run_predict

    return run_predict(run, **options)


def blend(runs: list[str | Path], **options: Any) -> Any:
    """Weigh several runs' out-of-fold predictions to the best blended CV (see zoo.kaggle.submit.blend.blend)."""
    from zoo.kaggle.submit.blend import blend as run_blend

    return run_blend(runs, **options)


def bundle(run: str | Path, **options: Any) -> Path:
    """Write an offline kit for a run: wheels, the run's predict files, a notebook (see zoo.kaggle.submit.bundle)."""
    from zoo.kaggle.submit.bundle import bundle as run_bundle

    return run_bundle(run, **options)
