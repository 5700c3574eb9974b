"""The folders `zoo kaggle train`, `blend` and `bundle` write: zoo's own (marked, locked), never the user's, never
inside the data; their JSON and CSV files written to a temporary name and renamed.

A re-run with the same settings replaces its own outputs in place (its recorded command reproduces it); other
settings need `force`, and then only the files zoo wrote there are removed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.data.labelled import printable
from zoo.errors import OutputExists
from zoo.results.run_folder import LOCK, RunMarker, check_outside, claim

# what zoo writes in a run folder: only these are removed when a run is replaced
OWN_FILES = (
    "config.json",
    "folds.csv",
    "oof.csv",
    "cv.json",
    "run_card.json",
    "calibration.json",
    "suspect_labels.csv",
    "suspect_labels.png",
    "blend.json",
    "predict.py",
    "predict.ipynb",
    "README.txt",
)
# runtime.*: the fast runtime's file and card (zoo.results.conversion.RUN_FOLDER_STEM), exported with each image model
RUNTIME_FILES = ("runtime.json", "runtime.xml", "runtime.bin", "runtime.tflite")
FOLD_FILES = ("model.keras", "transform.json", *RUNTIME_FILES, *(f"{name}.seal" for name in RUNTIME_FILES))


def as_json(content: dict[str, Any]) -> dict[str, Any]:
    """`content` as it reads back from JSON (tuples become lists), so a fingerprint compares equal to its record."""
    return json.loads(json.dumps(content, default=str))


def check_folder(folder: Path, kind: str, fingerprint: dict[str, Any], force: bool, data: Sequence[Any]) -> bool:
    """Refuse, before any work, an --out zoo may not write; whether it holds an earlier run of this `kind`."""
    check_outside(folder, [root for root in data if root is not None])
    if folder.exists() and not folder.is_dir():
        raise OutputExists(f"--out {printable(folder)} is a file, not a folder: pick a new folder name")
    earlier = RunMarker.read(folder) if folder.is_dir() else None
    fingerprint = as_json(fingerprint)
    if earlier is None:
        foreign = sorted(p.name for p in folder.iterdir() if p.name != LOCK) if folder.is_dir() else []
        if foreign:
            raise OutputExists(
                f"--out {printable(folder)} is not a zoo run folder: it holds {len(foreign)} file(s) zoo did not "
                f"write ({', '.join(foreign[:3])}); zoo never writes among your files: pick a new folder"
            )
        return False
    if earlier.kind != kind:
        raise OutputExists(f"--out {printable(folder)} holds a {earlier.kind} run, not a {kind} run: pick another")
    changed = [
        f"{name} {earlier.fingerprint.get(name)!r} -> {value!r}"
        for name, value in fingerprint.items()
        if earlier.fingerprint.get(name) != value
    ]
    if changed and not force:
        raise OutputExists(
            f"{printable(folder)} holds a run with other settings ({'; '.join(changed)}): "
            "pass another --out, or --force to replace it"
        )
    return True


def take_folder(
    folder: Path, kind: str, model: str, fingerprint: dict[str, Any], say: Any, folders: Sequence[str] = ()
) -> None:
    """Mark `folder` as this run's (call inside `locked(folder)`, after check_folder) and clear an earlier run's
    outputs (OWN_FILES, fold models, the sub-`folders` zoo made), leaving any file zoo did not write."""
    from zoo.results.run_card import now
    from zoo.version import __version__

    replacing = RunMarker.read(folder) is not None
    claim(folder, RunMarker(kind, model, as_json(fingerprint), __version__, now()), force=True)
    if not replacing:
        return
    say(f"replacing the run in {folder}")
    for name in OWN_FILES:
        (folder / name).unlink(missing_ok=True)
    for name in folders:
        if (folder / name).is_dir():
            shutil.rmtree(folder / name)
    for fold in folder.glob("fold_*"):
        for name in FOLD_FILES:
            (fold / name).unlink(missing_ok=True)
        if fold.is_dir() and not any(fold.iterdir()):
            fold.rmdir()
