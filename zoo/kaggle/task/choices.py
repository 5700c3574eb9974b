"""The names `zoo kaggle` offers: target kinds, metrics and their aliases (stdlib only, so `zoo --help` and
`zoo list` import no NumPy). zoo.kaggle.task.metrics implements each metric named here."""

from __future__ import annotations

KINDS = ("multiclass", "binary", "multilabel", "regression")
METRIC_NAMES = ("accuracy", "log_loss", "roc_auc", "f1_macro", "quadratic_kappa", "rmse")
ALIASES = {
    "acc": "accuracy",
    "logloss": "log_loss",
    "auc": "roc_auc",
    "f1": "f1_macro",
    "qwk": "quadratic_kappa",
    "kappa": "quadratic_kappa",
}
DEFAULT_METRIC = {"multiclass": "accuracy", "binary": "roc_auc", "multilabel": "roc_auc", "regression": "rmse"}
