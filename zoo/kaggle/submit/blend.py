"""`blend(runs, out)`: weights for several runs' out-of-fold predictions that maximise the competition metric.

Greedy ensemble selection with replacement (Caruana et al. 2004): start from the best run, add the run whose
addition scores best, keep the best prefix; weights = how often each run was picked. Non-negative, summing to 1,
never worse than the best single run on the rows they were chosen on, and it works for metrics with no gradient
(accuracy, kappa). For ROC AUC the runs' outputs are turned into ranks first (rank averaging: AUC only reads the
order). The score reported is nested (zoo.kaggle.submit.blend_weights): it can be worse than the best run's, and
then the blend does not help. BLEND gets blend.json (runs, weights, method, scores, the in-sample figures apart) and
cv.json; `predict --run BLEND` writes the blended submission.
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
from zoo.kaggle.submit.blend_weights import RunOOF, applies_temperature, combine, nested_scores, select_weights
from zoo.kaggle.task.metrics import metric_for
from zoo.kaggle.task.run_config import read_config
from zoo.kaggle.task.run_folders import check_folder, take_folder
from zoo.kaggle.task.tables import read_table
from zoo.kaggle.task.targets import Target, read_target
from zoo.results.run_folder import write_json

BLEND_FILE = "blend.json"


def read_oof(run_dir: Path, target: Target) -> tuple[list[str], RunOOF]:
    """A run's oof.csv: the ids, and the encoded targets, folds and raw out-of-fold outputs (not yet calibrated)."""
    table = read_table(run_dir / "oof.csv")
    _, y = read_target(table, target.columns, target.kind)
    columns = [table.column(name, "oof.csv") for name in output_names(target)]
    folds = np.asarray([int(float(fold)) for fold in table.column("fold", "oof.csv")])
    raw = np.asarray(columns, dtype=np.float64).T
    return table.ids(table.columns[0]), RunOOF(y, folds, raw, applies_temperature(run_dir, target.classifies))


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
    oofs = [read_oof(run, target) for run in runs]
    if any(ids != oofs[0][0] or not np.array_equal(oof.folds, oofs[0][1].folds) for ids, oof in oofs):
        raise BadData(
            f"the runs' oof.csv list different ids or folds: blend runs trained on the same train.csv with the same "
            f"--folds and --seed ({runs[0]})"
        )
    y, method = oofs[0][1].y, "rank" if metric.name == "roc_auc" else "mean"
    # the weights predict uses: fitted on every row, calibrated as predict calibrates the runs' test outputs
    outputs = [apply_saved(run, target.classifies, oof.raw) for run, (_, oof) in zip(runs, oofs, strict=True)]
    weights = select_weights(y, outputs, metric, method)
    blended, scores = nested_scores([oof for _, oof in oofs], metric, method)  # the honest figures
    summary = {
        "runs": [str(run) for run in runs],
        "weights": [round(float(w), 6) for w in weights],
        "method": method,
        "metric": metric.name,
        "run_scores": scores,  # each run's out-of-fold score, its temperature fitted on the other folds
        "oof": blended,  # nested: each fold blended with temperatures and weights fitted on the other folds
        "in_sample": {  # fitted and scored on the same rows: flattering, kept for comparison only
            "oof": metric.score(y, combine(outputs, weights, method)),
            "run_scores": [metric.score(y, output) for output in outputs],
        },
    }
    with locked(out, say):
        take_folder(out, "kaggle-blend", " + ".join(c["model"] for c in configs), fingerprint, say)
        write_json(out / BLEND_FILE, summary)
        write_json(
            out / "cv.json", {"metric": metric.name, "greater_is_better": metric.greater_is_better, "oof": blended}
        )
    for run, weight, score in zip(runs, weights, scores, strict=True):
        say(f"  {run.name}: weight {weight:.3f}, out-of-fold {metric.name} {score:.4f} (calibration cross-fitted)")
    say(
        f"blend ({method}): out-of-fold {metric.name} {blended:.4f} (nested: calibration and weights fitted on the "
        f"other folds); in-sample {summary['in_sample']['oof']:.4f}; {out / BLEND_FILE}"
    )
    optimistic = [run.name for run in runs if not epochs_held_out(run)]
    if optimistic:
        say(
            f"  note: {', '.join(optimistic)} chose each fold's epochs on the rows the fold scores (trained by an "
            "older zoo): their figures and the blend's are optimistic; re-train them for held-out ones"
        )
    return summary


def epochs_held_out(run: Path) -> bool:
    """Whether the run's folds chose their epochs on inner hold-outs (its cv.json says so), not on the rows they
    score, as runs of zoo before the inner hold-out did."""
    try:
        return "epochs_chosen_on" in json.loads((run / "cv.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def members(run: Path) -> tuple[list[Path], list[float], str]:
    """(runs, weights, method) that `predict --run` averages: a blend's runs and weights, or the run itself.
    A relative run path is inside the blend folder (an offline kit's copy of a blend)."""
    path = run / BLEND_FILE
    if not path.is_file():
        return [run], [1.0], "mean"
    found = json.loads(path.read_text(encoding="utf-8"))
    return [run / member for member in found["runs"]], list(found["weights"]), found["method"]
