"""What a fine-tuning run leaves behind: report.json, the exported model files, plots, skipped.csv and the run card."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.data import LabelledData, Skipped, write_skipped_csv
from zoo.results.run_folder import write_atomic

if TYPE_CHECKING:
    from zoo.training.plan import FinetunePlan  # a type only: results never imports training

EXPORT_SAMPLE = 8  # validation images each exported format is checked on


def all_skipped(*datasets: LabelledData) -> list[Skipped]:
    """Files skipped by any of the data sets, each once (a split's halves share their source's list)."""
    seen: dict[tuple[str, str], Skipped] = {}
    for data in datasets:
        for item in data.skipped:
            seen.setdefault((item.file, item.reason), item)
    return list(seen.values())


@dataclass(frozen=True)
class FinishedRun:
    """A fine-tuning run once trained and scored: what report.json, the plots and the run card are made from."""

    plan: FinetunePlan
    config: dict[str, Any]  # the settings that define the run (the run card's "config")
    started: str  # ISO time
    train: LabelledData
    val: LabelledData
    history: dict[str, list[float]]
    phases: list[dict[str, Any]]  # one record per phase trained
    status: str  # "completed", or why the run stopped
    evaluation: Any
    placement: dict[str, Any] | None = None


def build_report(run: FinishedRun, seconds: dict[str, float]) -> dict[str, Any]:
    """report.json's content: the headline numbers first, then everything needed to understand them."""
    train, val, evaluation = run.train, run.val, run.evaluation
    multilabel = getattr(evaluation, "multilabel", False)
    headline = {"val_f1_micro": evaluation.micro_f1, "val_f1_macro": evaluation.macro_f1} if multilabel else {}
    return {
        "val_accuracy": evaluation.accuracy,  # multi-label: exact matches (every label of a sample right)
        **headline,
        "task": "multilabel" if multilabel else "classification",
        "classes": list(train.class_names),
        "skipped": [{"file": item.file, "reason": item.reason} for item in all_skipped(train, val)],
        "model": run.plan.model_name,
        "status": run.status,
        "train_size": len(train),
        "val_size": len(val),
        "data": {"train": train.origin, "validation": val.origin},
        "phases": run.phases,
        "history": run.history,
        "seconds": {key: round(value, 3) for key, value in seconds.items()},
        "placement": run.placement,
        "plan": run.plan.to_dict(),
        "evaluation": evaluation.to_json(),
    }


def phase_boundaries(phases: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(phase["name"], phase["epochs_run"]) for phase in phases]


def write_outputs(
    out_dir: Path,
    model: Any,
    report: dict[str, Any],
    run: FinishedRun,
    formats: Sequence[str],
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write every output of the run into `out_dir` and add what was written (and any export failure) to `report`;
    `say` gets one line per export format with its time."""
    from zoo.results.export import export_model
    from zoo.results.litert import QUANTIZED, QuantizationData, representative_rows
    from zoo.results.run_card import data_fingerprint, write_run_card
    from zoo.results.scoring.plots import save_plots

    train, val = run.train, run.val
    out_dir.mkdir(parents=True, exist_ok=True)
    skipped_csv = out_dir / "skipped.csv"
    write_skipped_csv(all_skipped(train, val), skipped_csv)
    quantize = QuantizationData(representative_rows(train.x), val.x, val.y) if set(formats) & set(QUANTIZED) else None
    if "keras" not in formats:  # model.keras is always written: it is what `zoo.load_saved` and resume read
        model.save(out_dir / "model.keras")  # before the exports: the runtime's file is bound to it by its sha256
    started = time.perf_counter()
    checks = export_model(model, out_dir, val.x[:EXPORT_SAMPLE], tuple(formats), quantize, say=say)
    report["seconds"]["exports"] = round(time.perf_counter() - started, 3)
    history_csv = write_history_csv(report["history"], phase_boundaries(report["phases"]), out_dir / "history.csv")
    plots = save_plots(report["history"], run.evaluation, val, out_dir, phase_boundaries(report["phases"]), model)
    files = None if train.files is None else [*train.files, *(val.files or ())]
    arrays = None if files is not None else (train.x, train.y, val.x, val.y)
    extra = {"placement": report["placement"]} if report.get("placement") else {}
    if getattr(model, "weights_files", None):  # a hub preset: its files' sha256
        extra["weights"] = model.weights_files
    if report.get("task") == "multilabel":  # what zoo predict needs besides model.keras's own copy
        extra["thresholds"] = report["evaluation"]["thresholds"]
    card = write_run_card(out_dir, run.config, data_fingerprint(files, arrays), extra or None, started=run.started)
    report["outputs"] = {
        "model": str(out_dir / "model.keras"),
        "exports": {name: check.to_json() for name, check in checks.items()},
        "plots": {name: str(path) for name, path in plots.items()},
        "skipped_csv": str(skipped_csv),
        "history_csv": str(history_csv),
        "run_card": str(card),
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report["outputs"]


def write_history_csv(history: dict[str, list[float]], phases: list[tuple[str, int]], path: Path) -> Path:
    """One row per epoch of the whole run (phase, epoch within it, every logged value): Keras CSVLogger's content,
    joined over the phases and any resume, for a spreadsheet or pandas."""
    keys = list(history)
    names = [name for name, epochs in phases for _ in range(epochs)]
    within = [epoch for _, epochs in phases for epoch in range(1, epochs + 1)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["epoch", "phase", "phase_epoch", *keys])
    for row in range(max((len(values) for values in history.values()), default=0)):
        place = [names[row], within[row]] if row < len(names) else ["", ""]
        values = [history[key][row] if row < len(history[key]) else "" for key in keys]
        writer.writerow([row + 1, *place, *values])
    write_atomic(path, text.getvalue().encode("utf-8"))
    return path


def summary_line(report: dict[str, Any], out_dir: Path | None) -> str:
    """One line for the end of a run: score, epochs per phase, time, where the outputs are."""
    phases = ", ".join(f"{p['name']} {p['epochs_run']}" for p in report["phases"]) or "none"
    where = f"; outputs in {out_dir}" if out_dir is not None else ""
    status = "" if report["status"] == "completed" else f" ({report['status']})"
    skipped = len(report["skipped"])
    listed = " (listed in skipped.csv)" if out_dir is not None else " (report['skipped'] lists them)"
    skipped_note = f"; {skipped} unreadable file{'s' if skipped != 1 else ''} skipped{listed}" if skipped else ""
    score, chose = f"val_accuracy {report['val_accuracy']:.4f}", "the best epoch"
    if report.get("task") == "multilabel":
        score = f"val F1 micro {report['val_f1_micro']:.4f}, macro {report['val_f1_macro']:.4f} (multi-label)"
        chose = "the best epoch and the thresholds"
    return (  # the validation set chose what it scores: the figure is a validation one, not a held-out test
        f"finetune: {report['model']} {score} on {report['val_size']} examples (which chose {chose}), "
        f"{len(report['classes'])} classes; epochs: {phases}; {seconds_said(report['seconds'])}{status}"
        f"{skipped_note}{where}"
    )


def seconds_said(seconds: dict[str, float]) -> str:
    """`training 60.1s, exports 9.8s` (exports only when the run wrote some): what each part of the run cost."""
    exports = f", exports {seconds['exports']:.1f}s" if "exports" in seconds else ""
    return f"training {seconds['total']:.1f}s{exports}"
