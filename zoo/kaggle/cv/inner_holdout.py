"""A fold's inner hold-out: the share of its own training rows that early stopping and the best epoch follow.

Without it a fold would pick its epoch on the rows it then scores, and its out-of-fold figure would be flattered by
that choice. The hold-out is stratified like the folds (by class, by target decile for regression, by label for
multi-label), keeps a group (--group-col, near-duplicate images) on one side, and is drawn with the fold's seed. The
fold's model is not re-fitted on all its training rows afterwards: it is the model the inner hold-out chose, so the
saved model is the one that was scored (the cost is 1/8 fewer training rows per fold).
"""

from __future__ import annotations

import numpy as np

from zoo.data.split import class_holdout, first_rows, multilabel_holdout
from zoo.kaggle.task.folds import strata
from zoo.kaggle.task.targets import Target

INNER_SHARE = 0.125  # one row in eight: enough to rank epochs, few enough to leave the fold most of its rows
STRATA_BINS_FOLDS = 8  # regression deciles sized as for eight folds (strata's bins need a fold count)


def inner_holdout(target: Target, y: np.ndarray, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """Which of a fold's training rows (`y`, and their `groups` or None) are held out to choose its epochs: about
    INNER_SHARE of each class, decile or label, at least one of each with two rows or groups, never all, never none."""
    lead = first_rows(None if groups is None else [str(group) for group in groups], len(y))
    leaders = lead == np.arange(len(y))
    if target.kind == "multilabel":
        counts = (y[leaders] > 0).sum(axis=0)
        chosen = multilabel_holdout(y, leaders, counts, INNER_SHARE, seed)
    else:
        labels = strata(target, y, STRATA_BINS_FOLDS)
        counts = np.bincount(labels[leaders], minlength=int(labels.max()) + 1)
        chosen = class_holdout(labels, leaders, counts, INNER_SHARE, seed)
    held = np.isin(lead, chosen)
    if not held.any() and leaders.sum() > 1:  # every class too rare to spare a row: one random group still decides
        held = lead == np.random.default_rng(seed).choice(np.flatnonzero(leaders))
    return held
