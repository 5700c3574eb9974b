"""`blend(runs, out)`: weights for several runs' out-of-fold predictions that maximise the competition metric.

Greedy ensemble selection with replacement (Caruana et al. 2004): start from the best run, add the run whose
addition scores best, keep the best prefix; weights = how often each run was picked. Non-negative, summing to 1,
never worse out of fold than the best single run, and it works for metrics with no gradient (accuracy, kappa).
For ROC AUC the runs' outputs are turned into ranks first (rank averaging: AUC only reads the order).
BLEND gets blend.json (runs, weights, method, scores) and cv.json; `predict --run BLEND` writes the blended submission.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import BadData
from zoo.kaggle.cv.calibration import apply_saved
from zoo.kaggle.cv.run_outputs import output_names
from zoo.kaggle.task.metrics import Metric, metric_for
from zoo.kaggle.task.run_config import read_config
from zoo.kaggle.task.run_folders import check_folder, take_folder
from zoo.kaggle.task.tables import read_table
from zoo.kaggle.task.targets import Target, read_target
from zoo.results.run_folder import write_json

BLEND_FILE = "blend.json"
ROUNDS = 25  # greedy additions; weights are multiples of 1/ROUNDS at the finest


def ranks(outputs: np.ndarray) -> np.ndarray:
    """Each column's values replaced by their rank scaled to [0, 1] (ties share their mean rank)."""
    from scipy.stats import rankdata

    return (rankdata(outputs, axis=0) - 1) / max(len(outputs) - 1, 1)


def combine(outputs: Sequence[np.ndarray], weights: Sequence[float], method: str) -> np.ndarray:
    """The weighted mean of the runs' outputs (method "mean") or of their ranks ("rank")."""
    parts = [ranks(o) if method == "rank" else np.asarray(o, dtype=np.float64) for o in outputs]
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.stack(parts), axes=1)


def select_weights(y: np.ndarray, outputs: Sequence[np.ndarray], metric: Metric, method: str) -> np.ndarray:
    """Greedy selection with replacement: the pick counts (over the best-scoring prefix) as weights summing to 1."""
    parts = [ranks(o) if method == "rank" else np.asarray(o, dtype=np.float64) for o in outputs]
    counts, best_counts, best_score = np.zeros(len(parts)), None, None
    total = np.zeros_like(parts[0])
    for _ in range(ROUNDS):
        trials = [metric.score(y, (total + part) / (counts.sum() + 1)) for part in parts]
        pick = int(np.argmax(trials) if metric.greater_is_better else np.argmin(trials))
        counts[pick] += 1
        total += parts[pick]
        if metric.better(trials[pick], best_score):
            best_score, best_counts = trials[pick], counts.copy()
    return best_counts / best_counts.sum()


def read_oof(run_dir: Path, target: Target) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A run's oof.csv: the ids, the encoded targets and the out-of-fold outputs."""
    table = read_table(run_dir / "oof.csv")
    _, y = read_target(table, target.columns, target.kind)
    columns = [table.column(name, "oof.csv") for name in output_names(target)]
    outputs = apply_saved(run_dir, target.classifies, np.asarray(columns, dtype=np.float64).T)
    return table.ids(table.columns[0]), y, outputs


def check_members(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """The runs' configs; refused unless there are two or more plain runs with the same target and metric."""
    if len(runs) < 2:
        raise BadData(f"a blend needs two runs or more; got {len(runs)}: pass the --out folders of `zoo kaggle train`")
    configs = [read_config(run) for run in runs]
    for run, config in zip(runs, configs, strict=True):
        if (Path(run) / BLEND_FILE).is_file():
            raise BadData(f"{run} is a blend: blend the runs it blends instead")
        if (config["target"], config["metric"]) != (configs[0]["target"], configs[0]["metric"]):
            raise BadData(
                f"{run} predicts {config['target']['columns']} scored by {config['metric']}, but {runs[0]} predicts "
                f"{configs[0]['target']['columns']} scored by {configs[0]['metric']}: blend runs of one competition"
            )
    return configs


def blend(runs: Sequence[str | Path], *, out: str | Path, force: bool = False, verbose: bool = True) -> dict[str, Any]:
    """Fit blend weights on the runs' out-of-fold predictions; write BLEND/blend.json and cv.json; return blend.json."""
    from zoo.results.run_folder import locked

    say = print if verbose else (lambda *_: None)
    runs = [Path(run).resolve() for run in runs]
    configs = check_members(runs)
    target, out = Target.from_json(configs[0]["target"]), Path(out).resolve()
    metric = metric_for(configs[0]["metric"], target.kind)
    fingerprint = {"runs": [str(run) for run in runs]}
    check_folder(out, "kaggle-blend", fingerprint, force, runs)
    oofs = [read_oof(run, target) for run in runs]  # calibrated as predict will calibrate the runs' test outputs
    if any(ids != oofs[0][0] for ids, _, _ in oofs):
        raise BadData(f"the runs' oof.csv list different ids: blend runs trained on the same train.csv ({runs[0]})")
    y, outputs = oofs[0][1], [oof for _, _, oof in oofs]
    method = "rank" if metric.name == "roc_auc" else "mean"
    weights = select_weights(y, outputs, metric, method)
    scores = [metric.score(y, oof) for oof in outputs]
    blended = metric.score(y, combine(outputs, weights, method))
    summary = {
        "runs": [str(run) for run in runs],
        "weights": [round(float(w), 6) for w in weights],
        "method": method,
        "metric": metric.name,
        "run_scores": scores,
        "oof": blended,
    }
    with locked(out, say):
        take_folder(out, "kaggle-blend", " + ".join(c["model"] for c in configs), fingerprint, say)
        write_json(out / BLEND_FILE, summary)
        write_json(
            out / "cv.json", {"metric": metric.name, "greater_is_better": metric.greater_is_better, "oof": blended}
        )
    for run, weight, score in zip(runs, weights, scores, strict=True):
        say(f"  {run.name}: weight {weight:.3f}, out-of-fold {metric.name} {score:.4f}")
    say(f"blend ({method}): out-of-fold {metric.name} {blended:.4f}; {out / BLEND_FILE}")
    return summary


def members(run: Path) -> tuple[list[Path], list[float], str]:
    """(runs, weights, method) that `predict --run` averages: a blend's runs and weights, or the run itself.
    A relative run path is inside the blend folder (an offline kit's copy of a blend)."""
    path = run / BLEND_FILE
    if not path.is_file():
        return [run], [1.0], "mean"
    found = json.loads(path.read_text(encoding="utf-8"))
    return [run / member for member in found["runs"]], list(found["weights"]), found["method"]
