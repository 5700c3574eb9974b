"""`FileListing`, and the folder source: a directory with one sub-folder of images per class.

Nothing here writes to or moves anything in the user's folders; system clutter (hidden files, .DS_Store,
.ipynb_checkpoints, __MACOSX, Thumbs.db) is ignored. Every other file is offered to the decoder, whatever its
extension: decoding is by content.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from zoo.data.labelled import printable
from zoo.errors import BadData

# Folder names of data splits: class folders with these names are splits holding the real class folders.
SPLIT_NAMES = frozenset(
    {"train", "training", "val", "valid", "validation", "test", "testing", "heldout", "holdout", "dev"}
)
# Folders and files that operating systems and tools leave behind; never images of a class.
IGNORED_NAMES = frozenset({"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini", "$RECYCLE.BIN"})


@dataclass
class FileListing:
    """Image files with their class ids, before decoding; `problems` are reasons training cannot start."""

    files: list[str]
    y: np.ndarray
    class_names: tuple[str, ...]
    origin: str
    problems: list[str] = field(default_factory=list)
    one_class_hint: str = ""  # appended to the "only one class" error: the likely fix for this kind of source
    notes: list[str] = field(default_factory=list)  # what was passed over or merged: worth saying, not stopping for


def is_ignored(name: str) -> bool:
    """Hidden files and folders (.DS_Store, .ipynb_checkpoints, ._AppleDouble) and known OS clutter."""
    return name.startswith(".") or name in IGNORED_NAMES


def files_under(folder: str) -> list[str]:
    """Every non-ignored regular file below `folder`, sorted, recursing into sub-folders (symlinks not followed)."""
    return walk_files(folder)[0]


def walk_files(folder: str) -> tuple[list[str], list[str]]:
    """(regular files, other entries) below `folder`, sorted: a named pipe, socket or device named like an image
    would block or never end when read, so it is passed over (and said so) instead of decoded."""
    found, others = [], []
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not is_ignored(name))
        for path in (os.path.join(parent, name) for name in sorted(names) if not is_ignored(name)):
            (found if os.path.isfile(path) else others).append(path)
    return found, others


def class_folders(root: str) -> list[os.DirEntry]:
    """The class sub-folders of `root`, sorted by name; a clear error when there are none."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError as error:
        raise BadData(f"cannot list the folder {printable(root)}: {error.strerror}") from None
    folders = [entry for entry in entries if entry.is_dir() and not is_ignored(entry.name)]
    if not folders:
        loose = sum(1 for entry in entries if entry.is_file() and not is_ignored(entry.name))
        holds = f" (it holds {loose} files directly)" if loose else " (it is empty)"
        raise BadData(
            f"{printable(root)} has no class sub-folders{holds}: put each class's images in a sub-folder named "
            f"after the class, e.g. {printable(os.path.join(root, 'cat', '1.jpg'))} and "
            f"{printable(os.path.join(root, 'dog', '2.jpg'))}"
        )
    return folders


def list_folder(root: str | os.PathLike, class_names: Sequence[str] | None = None) -> FileListing:
    """The files of each class folder of `root`; class names are the folder names (sorted) or `class_names`."""
    root = os.fsdecode(root)
    folders = {printable(entry.name): entry.path for entry in class_folders(root)}
    problems = []
    names = tuple(sorted(folders)) if class_names is None else tuple(str(name) for name in class_names)
    strays = sorted(set(folders) - set(names))
    if strays:
        problems.append(
            f"class folders {strays} in {printable(root)} are not in class_names {list(names)}: "
            "add them to class_names or move those folders out"
        )
    files: list[str] = []
    ids: list[int] = []
    passed_over: list[str] = []
    for class_id, name in enumerate(names):
        found, others = walk_files(folders[name]) if name in folders else ([], [])
        passed_over += others
        if not found:
            where = printable(folders[name]) if name in folders else f"(no folder {name!r} in {printable(root)})"
            problems.append(f"class {name!r} has no files: {where}; add its images or remove the class")
        files.extend(found)
        ids.extend([class_id] * len(found))
    if not files:
        raise BadData(
            f"no files in any class folder of {printable(root)} (folders: {', '.join(sorted(folders))}): "
            "put the images of each class in its folder"
        )
    origin = f"folder {printable(root)}"
    inner = printable(os.path.join(root, names[0]))
    hint = f" (if {inner} holds the class folders, pass that folder)" if len(names) == 1 else ""
    notes = [not_files_note(passed_over)] if passed_over else []
    nested = nested_classes(folders)
    if nested:  # split names (train, heldout) are never the classes a user means: stop; other names may be
        (problems if set(folders) <= SPLIT_NAMES else notes).append(nested)
    return FileListing(files, np.asarray(ids, dtype=np.int64), names, origin, problems, hint, notes)


def nested_classes(folders: dict[str, str]) -> str:
    """When the class folders hold folders of the same names (train/cat, heldout/cat), the "classes" are probably
    splits: a message saying which folder to pass ("" otherwise)."""
    inner = []
    for path in folders.values():
        try:
            inner.append({entry.name for entry in os.scandir(path) if entry.is_dir() and not is_ignored(entry.name)})
        except OSError:
            inner.append(set())
    shared = sorted(set.intersection(*inner)) if len(inner) > 1 else []
    if len(shared) < 2:
        return ""
    pick = next((name for name in ("train", "training") if name in folders), sorted(folders)[0])
    return (
        f"the classes {sorted(folders)} each hold folders of the same names ({', '.join(shared[:5])}): if those "
        f"are the classes, pass {printable(folders[pick])} (and the others as validation or test data)"
    )


def not_files_note(paths: Sequence[str]) -> str:
    """The entries passed over because they are not regular files (named pipes, sockets, devices, broken links)."""
    shown = ", ".join(printable(path) for path in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (
        f"{len(paths)} {'entry is' if len(paths) == 1 else 'entries are'} not regular files (named pipes, sockets, "
        f"devices or broken links) and passed over: {shown}"
    )
