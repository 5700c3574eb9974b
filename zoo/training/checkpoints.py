"""Resumable checkpoints of a fine-tuning run: the model's weights, the optimizer's state and where the run stood.

Each save is written into a temporary folder, every file sealed (zoo.sealed), and renamed into place (a rename is
atomic); the two newest are kept. A run killed mid-save leaves the previous checkpoint intact and no renamed folder,
so a renamed folder whose files do not match their seals was damaged afterwards: resuming refuses it in one line
(DamagedCheckpoint) naming the file and the previous checkpoint, rather than resuming from wrong weights or silently
from an older epoch.
Sequence numbers come from the folder names (never from what could be read), so a damaged checkpoint never collides
with the next one; leftover `.partial-*` folders of killed saves are removed. A finished run keeps only its newest
checkpoint: what `--resume` or more epochs need.

Every array goes through Python's own file writes (.npz, one variable at a time), never HDF5: HDF5 writing onto a
full disk leaves file handles it can neither flush nor close, and the process segfaults at exit. A full disk is then
an ordinary OSError (ENOSPC) the command line turns into one line with the resume command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from zoo.errors import BrokenSeal, DamagedCheckpoint, ResumeMismatch
from zoo.sealed import SEAL_SUFFIX, check_sealed, seal_in_place

KEEP = 2
FOLDER_NAME = re.compile(r"^(\d+)-phase\d+-epoch\d+$")
WEIGHTS, OPTIMIZER, STATE, BEST = "model.weights.npz", "optimizer.npz", "state.json", "best_weights.npz"
LEGACY_WEIGHTS = "model.weights.h5"  # checkpoints of zoo before the .npz weights: still resumed from


@dataclass(frozen=True)
class Saved:
    """One checkpoint: phase index, epochs of it done, whether the phase had finished, the run's record so far."""

    folder: Path
    phase: int
    epoch: int
    done: bool
    sequence: int
    fingerprint: dict[str, Any]
    history: dict[str, list[float]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    stopping: dict[str, Any] | None = None  # early stopping's best score, patience count and best epoch


def saved_from(folder: Path, state: dict[str, Any]) -> Saved:
    keys = ("phase", "epoch", "done", "sequence", "fingerprint")
    extra = (state.get("history", {}), state.get("records", []), state.get("stopping"))
    return Saved(folder, *(state[key] for key in keys), *extra)


class CheckpointFolder:
    """OUT/checkpoints/<sequence>-phase<p>-epoch<e>/ folders, newest two kept."""

    def __init__(self, out_dir: Path) -> None:
        self.root = Path(out_dir) / "checkpoints"

    def save(self, model: keras.Model, optimizer: Any, state: dict[str, Any], best_weights: list | None = None) -> Path:
        """Write weights, optimizer variables (when built), early stopping's best weights and `state` atomically;
        drop all but the newest two. A failed save (disk full) leaves no partial folder behind."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.remove_partials()  # the run folder is locked: any partial save is a killed one's
        sequence = self.last_sequence() + 1
        scratch = self.root / f".partial-{uuid.uuid4().hex}"
        scratch.mkdir()
        try:
            write_checkpoint(scratch, model, optimizer, best_weights)
            (scratch / STATE).write_text(json.dumps({**state, "sequence": sequence}, default=float), encoding="utf-8")
            for path in sorted(scratch.iterdir()):
                seal_in_place(path, made_by="zoo checkpoint")
            final = self.root / f"{sequence:06d}-phase{state['phase']}-epoch{state['epoch']}"
            os.replace(scratch, final)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        self.prune(KEEP)
        return final

    def check_newest(self) -> None:
        """Raise DamagedCheckpoint unless every file of the newest checkpoint folder matches its seal (checkpoints
        of a zoo before the seals, with none, pass: their weights are still checked by loading them)."""
        folders = sorted(
            (p for p in self.root.glob("[0-9]*-phase*-epoch*") if FOLDER_NAME.match(p.name)),
            key=lambda p: int(FOLDER_NAME.match(p.name).group(1)),
        )
        if not folders or not any(p.name.endswith(SEAL_SUFFIX) for p in folders[-1].iterdir()):
            return
        newest = folders[-1]
        for path in sorted(newest.iterdir()):
            sealed = path.with_name(path.name.removesuffix(SEAL_SUFFIX))
            if sealed != path and sealed.exists():
                continue  # the file itself is checked
            try:
                check_sealed(sealed)  # a file without its seal, a seal without its file, or a mismatch
            except BrokenSeal as error:
                raise DamagedCheckpoint(damage_line(newest, error, folders[:-1])) from None

    def last_sequence(self) -> int:
        """The highest sequence number of any checkpoint folder, readable or not."""
        numbers = [int(m.group(1)) for p in self.root.iterdir() if (m := FOLDER_NAME.match(p.name))]
        return max(numbers, default=0)

    def prune(self, keep: int) -> None:
        """Keep the `keep` newest readable checkpoints; older and unreadable ones go (all of this run's lineage)."""
        readable = self.saved()
        kept = {saved.folder.name for saved in readable[:keep]}
        for folder in self.root.glob("[0-9]*-phase*-epoch*"):
            if folder.name not in kept and FOLDER_NAME.match(folder.name):
                shutil.rmtree(folder, ignore_errors=True)

    def remove_partials(self) -> None:
        for partial in self.root.glob(".partial-*"):
            shutil.rmtree(partial, ignore_errors=True)

    def finish(self) -> None:
        """At the end of a run: only the newest checkpoint stays (for --resume or more epochs), no partials."""
        if self.root.is_dir():
            self.remove_partials()
            self.prune(1)

    def saved(self) -> list[Saved]:
        """Readable checkpoints, newest first (a folder with a missing or garbled state or weights is passed over)."""
        found = []
        for folder in self.root.glob("[0-9]*-phase*-epoch*"):
            try:
                state = json.loads((folder / STATE).read_text(encoding="utf-8"))
                if weights_file(folder).stat().st_size == 0:
                    continue
                found.append(saved_from(folder, state))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(found, key=lambda s: s.sequence, reverse=True)

    def latest_valid(self, model: keras.Model) -> Saved | None:
        """The newest checkpoint whose weights load into `model` (loaded there), or None when there is none."""
        for saved in self.saved():
            try:
                load_model_weights(model, weights_file(saved.folder))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # truncated or foreign file: fall back to the previous checkpoint
            return saved
        return None


def damage_line(folder: Path, error: BrokenSeal, older: list[Path]) -> str:
    """What is damaged and the two ways on: remove it and resume from the previous checkpoint, or re-train."""
    if older:
        way = (f"to resume from the previous checkpoint ({older[-1].name}), remove this one (rm -r '{folder}') and "
               "run the same command with --resume again; or re-train from the start into a new output folder")
    else:
        way = "no earlier checkpoint is kept: re-train from the start into a new output folder"
    return f"checkpoint {folder.name} is damaged ({error}); nothing was changed; {way}"


def weights_file(folder: Path) -> Path:
    """A checkpoint's weights: the .npz zoo writes, or an older checkpoint's Keras .weights.h5."""
    legacy = folder / LEGACY_WEIGHTS
    return legacy if legacy.exists() and not (folder / WEIGHTS).exists() else folder / WEIGHTS


def load_model_weights(model: keras.Model, path: Path) -> None:
    """Put a checkpoint's weights into `model`; ValueError when their number or shapes do not fit it."""
    if path.name == LEGACY_WEIGHTS:
        model.load_weights(path)
        return
    with np.load(path) as arrays:
        values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    model.set_weights(values)  # checks the count and every shape


def write_checkpoint(folder: Path, model: keras.Model, optimizer: Any, best_weights: list | None) -> None:
    """The checkpoint's array files, each streamed one array at a time (see the module's note on HDF5)."""
    save_arrays(folder / WEIGHTS, (variable.numpy() for variable in model.weights))
    if optimizer is not None and optimizer.built:
        save_arrays(folder / OPTIMIZER, (variable.numpy() for variable in optimizer.variables))
    if best_weights is not None:
        save_arrays(folder / BEST, best_weights)


def save_arrays(path: Path, arrays: Iterable[Any]) -> None:
    """What np.savez(path, *arrays) writes (np.load reads arr_0, arr_1, ...), holding one array at a time in memory."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
        for index, array in enumerate(arrays):
            with archive.open(f"arr_{index}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def check_settings(saved: Saved, fingerprint: dict[str, Any]) -> None:
    """Refuse to resume a run whose settings or data differ from the stopped one's, naming each difference."""
    now = json.loads(json.dumps(fingerprint, default=str))
    changed = sorted(key for key in set(saved.fingerprint) | set(now) if saved.fingerprint.get(key) != now.get(key))
    if changed:
        details = "; ".join(f"{key}: was {saved.fingerprint.get(key)!r}, now {now.get(key)!r}" for key in changed)
        raise ResumeMismatch(
            f"cannot resume from {saved.folder}: {details}. Run with the stopped run's settings and data, "
            "or drop resume (--resume) and use a new output folder to start afresh"
        )


def load_best_weights(saved: Saved) -> list[np.ndarray] | None:
    """Early stopping's best weights kept with a checkpoint, or None when it kept none (or the file is damaged)."""
    path = saved.folder / BEST
    try:
        with np.load(path) as arrays:
            return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def restore_optimizer(saved: Saved, trainer: keras.Model) -> bool:
    """Put the saved optimizer state (moments, step count) into `trainer`'s optimizer; False when there is none."""
    path = saved.folder / OPTIMIZER
    if not path.exists():
        return False
    optimizer = trainer.optimizer
    optimizer.build(trainer.trainable_variables)
    try:
        with np.load(path) as arrays:
            values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    except (OSError, ValueError, zipfile.BadZipFile):
        return False  # a damaged file: the optimizer restarts, the weights are restored
    if len(values) != len(optimizer.variables):
        return False
    for variable, value in zip(optimizer.variables, values, strict=True):
        variable.assign(value)
    return True
