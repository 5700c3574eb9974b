"""`train(...)`: train.csv (+ images or tabular features) -> folds, one model per fold, out-of-fold scores, CV.

RUN gets config.json (settings + the command that re-runs them), folds.csv, fold_K/model.keras (+ transform.json
for tabular data), oof.csv, cv.json and run_card.json.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.decoding.rows import discard_copy
from zoo.kaggle.cv.inner_holdout import INNER_SHARE, inner_holdout
from zoo.kaggle.cv.run_outputs import class_extras, cv_line, cv_summary, write_cv_json, write_oof_csv
from zoo.kaggle.task.columns import resolved_settings
from zoo.kaggle.task.folds import write_folds_csv
from zoo.kaggle.task.inputs import TRANSFORM_FILE, InputSpec, RunData, fold_arrays, read_run_data
from zoo.kaggle.task.metrics import Metric
from zoo.kaggle.task.run_config import RunSettings, absolute, train_command, write_config
from zoo.kaggle.task.run_folders import check_folder, take_folder
from zoo.kaggle.task.tables import read_table
from zoo.kaggle.task.targets import Target


@dataclass
class KaggleRun:
    """A finished run: its folder, the CV summary (cv.json), the out-of-fold outputs and each row's fold."""

    run_dir: Path
    cv: dict[str, Any]
    oof: np.ndarray
    folds: np.ndarray
    config: dict[str, Any]


def train(
    train_csv: str | Path,
    *,
    out: str | Path,
    id_col: str | None = None,
    target_col: str | Sequence[str],
    force: bool = False,
    verbose: bool = True,
    **options: Any,
) -> KaggleRun:
    """Cross-validate a model on a competition's training data and keep every fold's model in `out`.

    `id_col`: None finds a column called id, else numbers the rows 1..N. `target_col`: one column, or several
    (multi-label 0/1 columns, multi-target regression). `options`: the other RunSettings fields
    (images, pixel_cols, pixel_shape, tabular, model, task, metric, group_col, folds, seed, epochs, image_size, ...).
    """
    columns = (target_col,) if isinstance(target_col, str) else tuple(target_col)
    for name in ("features", "categorical"):
        if options.get(name) is not None:
            options[name] = tuple(options[name])
    for name in ("images", "weights"):
        options[name] = absolute(options.get(name))
    settings = RunSettings(
        train_csv=absolute(train_csv), out=absolute(out), id_col=id_col, target_cols=columns, **options
    )
    return run_training(settings, force=force, verbose=verbose)


def run_training(settings: RunSettings, *, force: bool = False, verbose: bool = True) -> KaggleRun:
    """Carry out a run described by `settings` (what `zoo kaggle train` calls)."""
    from zoo.data.progress import silent
    from zoo.results.run_card import now
    from zoo.results.run_folder import locked

    started, say, run_dir = now(), print if verbose else silent, Path(settings.out)
    table = read_table(settings.train_csv)
    settings = resolved_settings(settings, table, say)  # column names as train.csv spells them
    fingerprint = settings.to_json()
    check_folder(run_dir, "kaggle", fingerprint, force, [settings.images])  # before any work: refusals cost nothing
    data = read_run_data(settings, progress=verbose, table=table, say=say)
    with locked(run_dir, say):
        take_folder(run_dir, "kaggle", settings.model_name, fingerprint, say)
        return write_run(data, run_dir, started, say)


def write_run(data: RunData, run_dir: Path, started: str, say: Any) -> KaggleRun:
    """Train every fold into `run_dir` (claimed and locked) and write the out-of-fold outputs and the CV score."""
    from zoo.results.run_card import data_fingerprint, write_run_card
    from zoo.training.seeding import seed_everything

    settings, target, metric = data.settings, data.target, data.metric
    say(
        f"{len(data.ids)} rows, {target.kind} target {list(target.columns)}, metric {metric.name}, "
        f"{settings.folds} folds, model {settings.model_name}; writing {run_dir}"
    )
    config = run_config(settings, target, metric, data.spec)
    write_config(run_dir, config)
    write_folds_csv(run_dir / "folds.csv", settings.id_name, data.ids, data.folds)
    oof = np.zeros((len(data.ids), target.outputs), dtype=np.float32)
    records = []
    for fold in range(settings.folds):
        seed_everything(settings.seed + fold)  # a fold's new weights and its training order repeat with the seed
        rows = np.sum(data.folds != fold)
        say(f"fold {fold + 1}/{settings.folds}: training on {rows} rows ({INNER_SHARE:.1%} held out to choose epochs)")
        record, outputs = train_one_fold(data, fold, say)
        oof[data.folds == fold] = outputs
        records.append(record)
        say(
            f"fold {fold + 1}/{settings.folds}: {metric.name} {record['score']:.4f} on its {record['rows']} "
            "out-of-fold rows "
            f"({record['epochs']} epochs, {record['seconds']:.1f}s)"
        )
    cv = cv_summary(metric, records, metric.score(data.y, oof))
    write_oof_csv(run_dir, data, oof)
    cv.update(class_extras(run_dir, data, oof, say))
    write_cv_json(run_dir, cv)
    extra = {"cv": cv, "train_csv_sha256": hashlib.sha256(Path(settings.train_csv).read_bytes()).hexdigest()}
    arrays = None if data.files else [data.y, data.folds]  # tabular rows: train_csv_sha256 covers the features
    write_run_card(run_dir, config, data_fingerprint(data.files, arrays), extra, seed=settings.seed, started=started)
    say(f"{cv_line(cv)}; models, oof.csv and cv.json in {run_dir}")
    return KaggleRun(run_dir, cv, oof, data.folds, config)


def run_config(settings: RunSettings, target: Target, metric: Metric, spec: InputSpec) -> dict[str, Any]:
    """config.json: the settings, what was inferred from them (target, metric, model, inputs), the command."""
    from zoo.version import __version__

    return {
        "settings": settings.to_json(),
        "command": train_command(settings),
        "model": settings.model_name,
        "target": target.to_json(),
        "metric": metric.name,
        "input": spec.to_json(),
        "zoo_version": __version__,
    }


def train_one_fold(data: RunData, fold: int, say: Any) -> tuple[dict[str, Any], np.ndarray]:
    """Train fold `fold` on the other folds' rows (`say`: its epoch lines), its epochs chosen on an inner hold-out of
    them (the fold's own rows influence nothing but its score); save its model (and transform); its record and
    out-of-fold outputs."""
    from zoo.kaggle.cv.fold_models import build_model
    from zoo.kaggle.cv.fold_training import train_fold

    settings, y = data.settings, data.y
    train_rows, val_rows = np.flatnonzero(data.folds != fold), np.flatnonzero(data.folds == fold)
    groups = None if data.groups is None else data.groups[train_rows]
    picking = inner_holdout(data.target, y[train_rows], groups, settings.seed + fold)
    fit_rows, pick_rows = train_rows[~picking], train_rows[picking]
    sets = (fit_rows, pick_rows, val_rows)
    # tabular scaling from all the fold's training rows: a near-constant column scaled on fewer would blow up
    (x_fit, x_pick, x_val), transform = fold_arrays(data.spec, data.table, data.images, train_rows, *sets)
    model = build_model(settings, data.target, x_fit.shape[1:], y[fit_rows])
    arrays = (x_fit, y[fit_rows], x_pick, y[pick_rows])
    fit = train_fold(model, data, arrays, (x_val, y[val_rows]), seed=settings.seed + fold, say=say)
    for rows in (x_fit, x_pick, x_val):
        discard_copy(rows)  # the fold's rows copied out of the image store: not needed again
    fold_dir = Path(settings.out) / f"fold_{fold}"
    fold_dir.mkdir(parents=True, exist_ok=True)
    saving = fold_dir / ".model.tmp.keras"  # renamed once whole: a killed run leaves no truncated model.keras
    fit.model.save(saving)
    os.replace(saving, fold_dir / "model.keras")
    if transform is not None:
        transform.save(fold_dir / TRANSFORM_FILE)
    if data.spec.kind == "images":  # the fold's runtime file, bound to its model.keras: predict, a kit convert nothing
        from zoo.results.conversion import export_runtime

        export_runtime(fit.model, fold_dir, note=say)
    seconds = round(fit.seconds, 3)
    record = {"fold": fold, "score": fit.score, "rows": len(val_rows), "epochs": fit.epochs, "seconds": seconds,
              "fit_rows": len(fit_rows), "epoch_rows": len(pick_rows)}
    return record, fit.outputs
