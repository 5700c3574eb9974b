"""A run folder belongs to zoo: created by it, marked (kind, model, fingerprint, version), locked while written.

zoo writes only into a folder that is new, empty, or marked as one of its own runs; never into a folder holding
other files, never inside the data it reads; a second writer is refused at once, naming the holder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import OutputExists, RunLocked
from zoo.sealed import write_atomic

MARKER = "zoo-run.json"
LOCK = ".zoo-run.lock"
CHECKPOINTS = "checkpoints"
_held: set[Path] = set()  # folders this process has locked: an inner `locked` on one of them is a no-op
STALE_EMPTY_LOCK_S = 5.0


@dataclass(frozen=True)
class RunMarker:
    """What zoo-run.json says of a run folder: what made it, from what, with which settings."""

    kind: str  # finetune, kaggle, lr-find, ...
    model: str
    fingerprint: dict[str, Any] = field(default_factory=dict)  # settings + data hash: what a resume must match
    version: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    @classmethod
    def read(cls, folder: Path) -> RunMarker | None:
        """The folder's marker; None when it has none or it cannot be read (a truncated marker is not a marker)."""
        try:
            found = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            return cls(**{key: found[key] for key in ("kind", "model", "fingerprint", "version", "created")})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        write_atomic(folder / MARKER, json.dumps(asdict(self), indent=2, default=str).encode())


def write_json(path: Path, content: Any) -> Path:
    """A JSON file written whole to a temporary name, then renamed."""
    write_atomic(path, (json.dumps(content, indent=2, default=str) + "\n").encode())
    return path


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV file written whole to a temporary name, then renamed."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, text.getvalue().encode())
    return path


def check_outside(folder: Path, data_roots: Iterable[Path | str]) -> None:
    """Refuse an output folder inside (or equal to) a folder of the data: the run would become part of the data."""
    target = folder.resolve()
    for root in data_roots:
        root = Path(root).resolve()
        if root.is_dir() and (target == root or root in target.parents):
            raise OutputExists(
                f"--out {folder} is inside the data folder {root}: its checkpoints would become part of the data; "
                "pick an output folder outside it"
            )


def claim(folder: Path, marker: RunMarker, *, resume: bool = False, force: bool = False) -> RunMarker | None:
    """Make `folder` this run's: new or empty -> marked; zoo's own run -> kept for `resume`/`force`; else refused.

    Returns the earlier run's marker when the folder already held one (resume compares its fingerprint).
    """
    earlier = RunMarker.read(folder) if folder.is_dir() else None
    if folder.exists() and not folder.is_dir():
        raise OutputExists(f"--out {folder} is a file, not a folder: pick a new folder name")
    if earlier is None:
        foreign = sorted(p.name for p in folder.iterdir() if p.name != LOCK) if folder.is_dir() else []
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputExists(
                f"--out {folder} is not a zoo run folder: it holds {len(foreign)} file(s) zoo did not write "
                f"({shown}); zoo never writes among your files: pick a new folder"
            )
    elif not (resume or force):
        raise OutputExists(
            f"--out {folder} holds an earlier {earlier.kind} run of {earlier.model} ({earlier.created}): "
            "--resume continues it, --force replaces its outputs, or pick another folder"
        )
    elif earlier.kind != marker.kind:
        raise OutputExists(f"--out {folder} holds a {earlier.kind} run, not a {marker.kind} run: pick another folder")
    folder.mkdir(parents=True, exist_ok=True)
    if earlier is None or force:
        marker.write(folder)
    if force and earlier is not None:
        shutil.rmtree(folder / CHECKPOINTS, ignore_errors=True)  # the earlier run's: a new run must not resume them
    return earlier


def check_new_file(path: Path, force: bool) -> None:
    """An output file must not replace one that exists (the user's, or an earlier run's) unless asked to."""
    if path.exists() and not force:
        raise OutputExists(f"{path} exists: pass --force to replace it, or another --out")


def check_writable_with_room(folder: Path, needed_bytes: int) -> None:
    """Refuse an output folder that cannot be written (read-only, permissions) or whose disk lacks `needed_bytes`."""
    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputExists(f"--out {folder}: {existing} is a file, not a folder; pick another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputExists(f"--out {folder}: {existing} is not writable (read-only or no permission): pick another")
    free, needed = shutil.disk_usage(existing).free / 2**20, needed_bytes / 2**20
    if free < needed:
        raise OutputExists(
            f"--out {folder}: {free:.0f} MB free on its disk, the run needs about {needed:.0f} MB "
            "(model, checkpoints, exports): free space or pick another --out"
        )


@contextmanager
def owned(folder: Path, marker: RunMarker, *, resume: bool, force: bool, say: Any = print) -> Iterator[None]:
    """Claim `folder` for this run and hold its lock while the block runs (see `claim` and `locked`). A folder this
    call created and left holding nothing but its marker (the run stopped before writing) is removed again."""
    if folder.resolve() in _held:  # claimed by an outer call of this process (the command line, then finetune)
        yield
        return
    fresh = not folder.exists()  # an empty folder the user made is theirs: never removed
    try:
        with locked(folder, say):
            earlier = claim(folder, marker, resume=resume, force=force)
            if resume and earlier is None:
                say(f"zoo: nothing to resume in {folder} yet: starting the run there")
            yield
    finally:
        if fresh:
            remove_if_untouched(folder)


def remove_if_untouched(folder: Path) -> None:
    """Remove a folder holding only zoo's marker: a run that stopped before writing anything leaves no trace."""
    try:
        if {p.name for p in folder.iterdir()} <= {MARKER}:
            (folder / MARKER).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass  # gone already, or something else appeared in it: keep it


@contextmanager
def locked(folder: Path, say: Any = print) -> Iterator[None]:
    """Hold the folder's lock while the block runs; a live holder is refused at once, a dead one's lock taken over."""
    if folder.resolve() in _held:  # already ours (the command line locks before finetune does)
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    while True:
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            take_over_if_stale(lock, folder, say)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(holder, handle)
    _held.add(folder.resolve())
    try:
        yield
    finally:
        _held.discard(folder.resolve())
        lock.unlink(missing_ok=True)


def take_over_if_stale(lock: Path, folder: Path, say: Any) -> None:
    """Remove a lock whose process is gone (on this host); refuse with the holder's name while it lives."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        holder = {}  # half-written by a process that died between create and write
    pid, host = holder.get("pid"), holder.get("host")
    if host == socket.gethostname() and isinstance(pid, int) and not process_alive(pid):
        say(f"zoo: {folder}: taking over the lock of process {pid}, which is no longer running")
        lock.unlink(missing_ok=True)
        return
    if not holder:  # being written this instant, or left empty by a process that died then
        try:
            if time.time() - lock.stat().st_mtime > STALE_EMPTY_LOCK_S:
                lock.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # released meanwhile: the next try takes it
        time.sleep(0.05)
        return
    raise RunLocked(
        f"{folder} is being written by process {pid} on {host} since {holder.get('started')}: wait for it to end, "
        "or pick another --out"
    )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True
