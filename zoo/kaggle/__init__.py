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
    """Cross-validate a model on `train_csv` and keep every fold's model in `out`. Guide: docs/kaggle.md.

    Keyword options:
        out: the run folder (new, empty or an earlier zoo kaggle run). Required.
        id_col: the id column (also the image file names); None: a column named id (any case), else row numbers 1..N.
        target_col: the target column, or a list of them (multi-label 0/1 columns, multi-target regression). Required.
        images: folder of the images named by id; None: the other columns are tabular features.
        extension: the suffix added to ids without one (None: found).
        model: a catalogue name (default efficientnet_lite0 for images, mlp_tabular for tables).
        task: multiclass, binary, multilabel or regression (None: inferred from the target).
        metric: accuracy, log_loss, roc_auc, f1_macro, quadratic_kappa or rmse (None: the task's default).
        group_col: a column whose groups stay within one fold.
        folds: number of folds (5). seed: the folds' and training's seed (0).
        epochs: epochs per fold (None: the trainer's default, early stopping ends most runs sooner).
        batch_size: examples per step (32). patience: early stopping's patience (3).
        image_size: the side images are fitted to (None: the model's own input size).
        augment: True/False, "light", "strong", "none" or a list such as "rotation,zoom" (finetune's names).
        group_duplicates: keep near-duplicate images in one fold (True).
        features: tabular feature columns (None: every column but id, targets and group).
        categorical: tabular columns one-hot encoded even when they hold numbers.
        pixel_cols: prefix of pixel columns read as images (None: pixel0..pixelN when present).
        pixel_shape: "HxW" or "HxWxC" of those columns, where the count is not a square (or 3x a square).
        tabular: read pixel columns as tabular features instead of images (False).
        zero_shot: no training: an image-text hub model (siglip_*, clip_*) scores the class names as label texts,
            a zero-training baseline that CV, predict and blend take like any run (False).
        weights: a backbone's weights file (else $ZOO_WEIGHTS_DIR, the cache, bundled packages).
        force: replace an earlier run with other settings (only zoo's own files). verbose: print progress (True).
    """
    from zoo.kaggle.cv.training import train as run_train

    return run_train(train_csv, **options)


def predict(run: str | Path, **options: Any) -> Path:
    """Write a submission from `run`'s fold models (or a blend's runs); returns its path. Guide: docs/kaggle.md.

    Keyword options:
        out: the submission file ("submission.csv"; an existing one is replaced only with force=True).
        test_csv: the test ids (and tabular features); None: the template's ids.
        template: sample_submission.csv: fixes the header, the columns and the id order.
        images: folder of the test images, named by id. extension: their suffix (None: the run's, or found).
        tta: average this many fixed views of each image (1). tta_flip: False leaves the flipped views out.
        batch_size: test images decoded and predicted at a time (64).
        id_col, target_col: the test CSV's and template's id and target column(s) (None: train.csv's).
        force: replace an existing submission. verbose: print progress (True).
    """
    from zoo.kaggle.submit.prediction import predict as run_predict

    return run_predict(run, **options)


def blend(runs: list[str | Path], **options: Any) -> Any:
    """Weigh several `runs`' out-of-fold predictions to the best blended CV; returns blend.json's content.

    Keyword options:
        out: the blend's run folder (BLEND/blend.json, cv.json); `zoo kaggle predict --run BLEND` uses it.
        force: replace an earlier blend there. verbose: print the weights and scores (True).
    """
    from zoo.kaggle.submit.blend import blend as run_blend

    return run_blend(runs, **options)


def bundle(run: str | Path, **options: Any) -> Path:
    """Write an offline kit for `run` to upload as a Kaggle dataset: wheels, the run's predict files, a notebook.

    Keyword options:
        out: the kit folder. python_version: the target Python, e.g. "3.11" (default: this one).
        platforms: wheel platform tags (default manylinux_2_35_x86_64, Kaggle's glibc).
        skip: packages left out because the image has them (default: TensorFlow, Keras, NumPy, ...).
        force: replace an earlier kit. verbose: print progress (True).
    """
    from zoo.kaggle.submit.bundle import bundle as run_bundle

    return run_bundle(run, **options)
