"""Checks that run before anything trains: each returns problems (messages) so `zoo doctor` can list them all,
and `load_data` raises them together as one BadData.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zoo.data.labelled import Skipped, label_counts
from zoo.errors import BadData

SHOWN_SKIPPED = 20  # how many skipped files a strict-mode error lists before "and N more"


def raise_problems(problems: Sequence[str]) -> None:
    """One BadData holding every problem (one per line), or nothing."""
    if len(problems) == 1:
        raise BadData(problems[0])
    if problems:
        raise BadData(f"{len(problems)} problems with the data:\n- " + "\n- ".join(problems))


def class_problems(
    y: np.ndarray, class_names: Sequence[str], origin: str, skipped: Sequence[Skipped] = (), hint: str = ""
) -> list[str]:
    """No usable example at all, a class without examples, or a single class: training cannot start."""
    if len(y) == 0:
        reasons = "; ".join(f"{item.file}: {item.reason}" for item in skipped[:3])
        cause = f": all {len(skipped)} files were skipped ({reasons}{' ...' if len(skipped) > 3 else ''})"
        return [f"no usable images in {origin}{cause if skipped else ''}; add images Pillow can read"]
    problems = []
    if len(class_names) < 2:
        only = repr(class_names[0]) if class_names else "none"
        problems.append(
            f"only one class ({only}) in {origin}: a classifier needs at least two; give each class its own "
            f"folder or label{hint}"
        )
    counts = label_counts(y, len(class_names))
    empty = [repr(name) for name, count in zip(class_names, counts, strict=True) if count == 0]
    if empty:
        which = f"class {empty[0]} has" if len(empty) == 1 else f"classes {', '.join(empty)} have"
        problems.append(
            f"{which} no usable images in {origin}{integer_hint(class_names)}; add images of "
            f"{'it' if len(empty) == 1 else 'them'} or remove the class"
        )
    return problems


def integer_hint(class_names: Sequence[str]) -> str:
    """For integer class ids: the usual cause of an empty class is labels counted from 1."""
    if list(class_names) == [str(i) for i in range(len(class_names))]:
        return " (integer labels are class ids counted from 0: labels 1..k need `labels - 1`)"
    return ""


def split_problems(y: np.ndarray, class_names: Sequence[str]) -> list[str]:
    """Classes too small to have an image on both sides of a validation split."""
    counts = label_counts(y, len(class_names))
    small = [f"{name!r} ({count})" for name, count in zip(class_names, counts, strict=True) if count == 1]
    if not small:
        return []
    return [
        f"classes with a single usable image: {', '.join(small)}; a validation split needs at least 2 images of "
        "every class (one each side): add images of them"
    ]


def strict_message(skipped: Sequence[Skipped], total: int, origin: str) -> str:
    """The error strict=True raises: every unusable file (the first SHOWN_SKIPPED) with its reason."""
    lines = [f"  {item.file}: {item.reason}" for item in skipped[:SHOWN_SKIPPED]]
    if len(skipped) > SHOWN_SKIPPED:
        lines.append(f"  ... and {len(skipped) - SHOWN_SKIPPED} more")
    return (
        f"{len(skipped)} of {total} files in {origin} cannot be used, and strict=True refuses to skip them:\n"
        + "\n".join(lines)
        + "\nfix or remove those files, or pass strict=False to train without them (they are then listed in "
        "`skipped`)"
    )
