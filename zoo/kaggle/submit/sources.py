"""One way from a model source to outputs, for `zoo predict`, `embed`, `explain` and `zoo kaggle predict` alike.

A source is a catalogue name, a saved .keras file, a finetune run folder, a kaggle run folder (its fold models
averaged, then its calibration.json applied) or a blend of kaggle runs (each run so, then the blend's weights).
A folder is a run by its marker (zoo-run.json) or by the files runs write; a run without a usable model is one line
naming what is missing and how to get it back, never a folder of input images.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.catalogue import default_catalogue
from zoo.errors import BadData
from zoo.kaggle.cv.calibration import apply_saved
from zoo.kaggle.submit.blend import BLEND_FILE, members
from zoo.kaggle.submit.blend_weights import combine
from zoo.kaggle.task.run_config import CONFIG_FILE, read_config
from zoo.results.run_folder import CHECKPOINTS, MARKER, RunMarker

if TYPE_CHECKING:
    from zoo.results.runtime import ModelSource, Runner

MODEL_FILE = "model.keras"
FINETUNE_FILES = (MODEL_FILE, "report.json", "run_card.json", CHECKPOINTS)  # any of them: a finetune run's folder


@dataclass(frozen=True)
class RunPart:
    """One run of a source: its models (a kaggle run's folds, averaged), whose calibration applies, its weight."""

    label: str
    models: list[ModelSource]
    calibrated_by: Path | None  # the kaggle run whose calibration.json scales the outputs; None: no calibration
    weight: float = 1.0


@dataclass(frozen=True)
class Source:
    """What MODEL names, resolved at the door: its runs, how they combine, and a kaggle run's config (class names)."""

    word: str
    parts: list[RunPart]
    method: str = "mean"  # a blend's: "mean" or "rank"
    config: dict | None = None


def run_kind(folder: Path) -> str | None:
    """The kind of run `folder` holds: its marker's, else read off the files runs write; None when it is no run."""
    marker = RunMarker.read(folder)
    if marker is not None:
        return marker.kind
    if (folder / BLEND_FILE).is_file():
        return "kaggle-blend"
    if (folder / CONFIG_FILE).is_file():
        return "kaggle"
    if (folder / MARKER).exists() or any((folder / name).exists() for name in FINETUNE_FILES):
        return "finetune"
    return None


def is_model(word: str) -> bool:
    """A .keras file, a run folder (finetune, kaggle or blend, usable or not) or a catalogue name."""
    path = Path(word)
    if path.is_dir():
        return run_kind(path) is not None
    return (word.endswith(".keras") and path.is_file()) or word in default_catalogue()


def resolve(word: str, labels: Sequence[str] | str | None = None) -> Source:
    """The source MODEL names; a run folder without a usable model is refused with what is missing and the fix.
    With `labels` (a list, or "a,b,c"): an image-text hub model scoring those label texts (zero-shot)."""
    from zoo.results.runtime import catalogue_source, file_source, zero_shot_source

    if labels is not None:
        names = [label.strip() for label in labels.split(",")] if isinstance(labels, str) else list(labels)
        source = zero_shot_source(word, names)
        return Source(word, [RunPart(source.label, [source], None)])
    path = Path(word)
    if not path.is_dir():
        source = file_source(path, path.name) if word.endswith(".keras") else catalogue_source(word)
        return Source(word, [RunPart(source.label, [source], None)])
    kind = run_kind(path)
    if kind == "kaggle-blend":
        runs, weights, method = members(path)
        parts = [kaggle_part(run, weight) for run, weight in zip(runs, weights, strict=True)]
        return Source(word, parts, method, image_config(runs[0], word))
    if kind == "kaggle":
        return Source(word, [kaggle_part(path, 1.0)], config=image_config(path, word))
    if kind == "finetune" and (path / MODEL_FILE).is_file():
        return Source(word, [RunPart(path.name, [file_source(path / MODEL_FILE, path.name)], None)])
    raise BadData(missing_model(path, kind))


def missing_model(path: Path, kind: str | None) -> str:
    """Why the run folder `path` has no model to predict with, and how to get one."""
    if kind == "finetune":
        saved = " (its checkpoints are kept)" if (path / CHECKPOINTS).is_dir() else ""
        return (
            f"{path} is a finetune run folder without {MODEL_FILE}: the run stopped before it finished, or the file "
            f"was removed{saved}; finish it with the command that started it plus --resume, or train it again"
        )
    if kind in ("lr-find", "kaggle-bundle"):
        return f"{path} is a {kind} folder, which holds no model to predict with: pass a finetune or kaggle run folder"
    return f"{path} is a zoo {kind} run folder without a model zoo can read: pass a finetune or kaggle run folder"


def image_config(run: Path, word: str) -> dict:
    """A kaggle run's config; a run on tabular data is refused (its models take feature rows, not images)."""
    config = read_config(run)
    if config.get("input", {}).get("kind") != "images":
        raise BadData(f"{word} is a kaggle run on tabular data: use `zoo kaggle predict --run {word}`")
    return config


def fold_folders(run: Path) -> list[Path]:
    """The fold folders of a kaggle run that hold a model, in fold order; none is refused with the re-run command."""
    models = sorted(run.glob(f"fold_*/{MODEL_FILE}"), key=lambda p: int(p.parent.name.split("_")[-1]))
    if not models:
        try:
            command = json.loads((run / CONFIG_FILE).read_text(encoding="utf-8"))["command"]
        except (OSError, ValueError, KeyError, TypeError):
            command = "`zoo kaggle train` with its settings"
        raise BadData(
            f"{run} is a kaggle run without fold models (fold_K/{MODEL_FILE}): its training did not finish or they "
            f"were removed; train it again: {command}"
        )
    return [model.parent for model in models]


def kaggle_part(run: Path, weight: float) -> RunPart:
    """A kaggle run as one part: every fold's model, calibrated by the run's calibration.json (class targets)."""
    from zoo.kaggle.task.targets import Target
    from zoo.results.runtime import file_source

    config = read_config(run)
    models = [file_source(fold / MODEL_FILE, f"{run.name}-{fold.name}") for fold in fold_folders(run)]
    return RunPart(run.name, models, run if Target.from_json(config["target"]).classifies else None, weight)


def open_part(part: RunPart, purpose: str, note: Callable[[str], None], images: int | None = None) -> list[Runner]:
    """A runner per model of `part`, each on the fastest runtime that gives Keras' answers (see runtime.open_runner)."""
    import warnings

    from zoo.results.runtime import open_runner

    with warnings.catch_warnings():  # a fold's saved optimizer state: prediction does not need it
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        return [open_runner(model, purpose, note, images=images) for model in part.models]


def part_outputs(
    part: RunPart, runners: Sequence[Runner], files: Sequence[str], batch_size: int, failures: list, **run: Any
) -> tuple[list[str], np.ndarray]:
    """(readable files, outputs) of one part: its models averaged over the files (and `run`'s views), calibrated."""
    from zoo.results.runtime import run_files

    paths: list[str] = []
    parts = []
    for batch_paths, outputs in run_files(runners, files, batch_size, failures, **run):
        paths += batch_paths
        parts.append(outputs)
    return paths, calibrated(part, np.concatenate(parts) if parts else np.zeros((0, 0)))


def calibrated(part: RunPart, outputs: np.ndarray) -> np.ndarray:
    """`outputs` of `part` through its kaggle run's calibration.json, where it has one."""
    if part.calibrated_by is not None and len(outputs):
        return apply_saved(part.calibrated_by, True, outputs)
    return outputs


def source_outputs(
    source: Source,
    files: Sequence[str],
    batch_size: int,
    failures: list,
    purpose: str = "predict",
    note: Callable[[str], None] | None = None,
    **run: Any,
) -> tuple[list[str], np.ndarray, Runner]:
    """(readable files, outputs, the first runner) of `source`: each part's outputs, combined by the blend's weights.

    `run`: run_files' keywords (views, progress). Embeddings are neither calibrated nor blended."""
    from zoo.results.runtime import say

    if purpose != "predict" and len(source.parts) > 1:
        raise BadData(f"{source.word} blends {len(source.parts)} runs: embed with one of them (their features differ)")
    results, first = [], None
    for part in source.parts:
        runners = open_part(part, purpose, note or say)
        first = first or runners[0]
        part = part if purpose == "predict" else RunPart(part.label, part.models, None, part.weight)
        results.append(part_outputs(part, runners, files, batch_size, failures if not results else [], **run))
    paths = results[0][0]
    if any(other != paths for other, _ in results[1:]):
        raise BadData(f"the input files changed while {source.word}'s runs read them: run the command again")
    outputs = [outputs for _, outputs in results]
    combined = outputs[0] if len(outputs) == 1 else combine(outputs, [p.weight for p in source.parts], source.method)
    return paths, combined, first
