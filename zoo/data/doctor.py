"""`diagnose`: the checks `load_data` runs, without training and without TensorFlow, plus what is worth knowing
about a data set before training on it: duplicates, odd modes and sizes, tiny images, the class weights.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo.data.checks import class_problems, split_problems
from zoo.data.decoding.near_duplicates import image_files_in, near_duplicate_lines, near_duplicates
from zoo.data.decoding.scan import FileScan, ScanOptions, scan_files
from zoo.data.labelled import Skipped, label_counts, printable
from zoo.data.listings.table import TableOptions
from zoo.data.sources import PathLike, list_source
from zoo.data.split import class_weights
from zoo.errors import BadData

TINY_SIDE = 32  # pixels; a side this short carries little for a network that works at 224
SHOWN = 10  # examples per list in the text report (the JSON has them all)


@dataclass
class DoctorReport:
    """What `zoo doctor` found; `problems` are what would stop training, the rest is for information."""

    origin: str
    class_names: tuple[str, ...]
    counts: tuple[int, ...]  # usable images per class
    listed: int  # files listed (usable + skipped)
    skipped: tuple[Skipped, ...]
    duplicates: list[list[tuple[str, str]]]  # groups of (file, class) with the same content
    modes: dict[str, int]  # the files' own Pillow modes (all are converted to RGB for training)
    sizes: dict[str, Any]  # width/height ranges and the most common sizes
    tiny: list[str]  # files with a side under TINY_SIDE
    weights: dict[str, float]  # balanced class weights training would use
    problems: list[str]
    notes: list[str]  # what was passed over, merged or looks wrong but does not stop training
    near_duplicates: dict[str, list[list[str]]] = field(default_factory=dict)  # see data.near_duplicates

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """Everything as one JSON-ready dict."""
        return {
            "origin": self.origin,
            "ok": self.ok,
            "files": self.listed,
            "usable": self.listed - len(self.skipped),
            "classes": dict(zip(self.class_names, self.counts, strict=True)),
            "class_weights": self.weights,
            "skipped": [{"file": item.file, "reason": item.reason} for item in self.skipped],
            "duplicates": [[{"file": file, "class": name} for file, name in group] for group in self.duplicates],
            "modes": self.modes,
            "sizes": self.sizes,
            "tiny": self.tiny,
            "problems": self.problems,
            "notes": self.notes,
            "near_duplicates": self.near_duplicates,
        }

    def __str__(self) -> str:
        return format_report(self)


def duplicate_groups(scans: Sequence[FileScan], y: np.ndarray, class_names: Sequence[str]) -> list[list[tuple]]:
    """Files with identical bytes, grouped (within and across classes), largest groups first."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for scan, class_id in zip(scans, y, strict=True):
        label = " ".join(np.asarray(class_names)[class_id > 0]) if np.ndim(class_id) else class_names[class_id]
        groups[scan.sha256].append((printable(scan.file), label))
    found = [group for group in groups.values() if len(group) > 1]
    return sorted(found, key=lambda group: (-len(group), group[0][0]))


def size_summary(scans: Sequence[FileScan]) -> dict[str, Any]:
    """Width and height ranges and the three most common sizes of the usable images."""
    if not scans:
        return {}
    widths = [scan.size[0] for scan in scans]
    heights = [scan.size[1] for scan in scans]
    common = Counter(scan.size for scan in scans).most_common(3)
    return {
        "width": [min(widths), max(widths)],
        "height": [min(heights), max(heights)],
        "most_common": [{"width": w, "height": h, "count": n} for (w, h), n in common],
    }


def diagnose(
    data: Any,
    *,
    labels: Sequence[Any] | None = None,
    id_col: str | None = None,
    label_col: str | None = None,
    image_dir: PathLike | None = None,
    extension: str | None = None,
    pixel_cols: str | None = None,
    pixel_shape: str | None = None,
    multi_label: bool = False,
    class_names: Sequence[str] | None = None,
    progress: bool = True,
    test_images: PathLike | None = None,
) -> DoctorReport:
    """Check `data` (a folder, CSV, DataFrame or path list) the way training would, and describe it; never trains.

    labels, id_col, label_col, image_dir, extension, pixel_cols, pixel_shape, multi_label, class_names: as load_data
    reads them;
    progress: lines on stderr; test_images: a folder of test images checked for near-copies of training images.
    """
    if isinstance(data, PathLike) and not os.fsdecode(data).startswith("tfds:") and not os.path.lexists(data):
        raise BadData(f"{printable(data)}: no such file or folder (pass a folder of class sub-folders or a CSV)")
    table = TableOptions(id_col, label_col, image_dir, extension, pixel_cols, pixel_shape, multi_label)
    listing = list_source(data, labels=labels, options=table, class_names=class_names)
    if listing is None:
        raise BadData(
            "zoo doctor checks image files: pass a folder of class folders, a CSV or a DataFrame "
            f"(got {printable(data) if isinstance(data, PathLike) else type(data).__name__})"
        )
    scans = scan_files(listing.files, ScanOptions(keep_pixels=False, hash_content=True), progress=progress)
    skipped = tuple(Skipped(printable(scan.file), scan.reason) for scan in scans if scan.reason is not None)
    usable = [i for i, scan in enumerate(scans) if scan.reason is None]
    good, y, names = [scans[i] for i in usable], listing.y[usable], listing.class_names
    problems = listing.problems + class_problems(y, names, listing.origin, skipped, listing.one_class_hint)
    problems += split_problems(y, names) if len(y) else []
    weights = class_weights(y, len(names)) if len(y) and y.ndim == 1 else {}
    near = near_duplicates([scan.file for scan in good], image_files_in(test_images) if test_images else ())
    return DoctorReport(
        origin=listing.origin,
        class_names=names,
        counts=tuple(int(c) for c in label_counts(y, len(names))),
        listed=len(scans),
        skipped=skipped,
        duplicates=duplicate_groups(good, y, names),
        modes=dict(Counter(scan.mode for scan in good).most_common()),
        sizes=size_summary(good),
        tiny=[printable(scan.file) for scan in good if min(scan.size) < TINY_SIDE],
        weights={names[i]: round(w, 4) for i, w in weights.items()},
        problems=problems,
        notes=listing.notes,
        near_duplicates=near,
    )


def shown(items: Sequence[str], indent: str = "  ") -> list[str]:
    """The first SHOWN items, one per line, then how many more."""
    lines = [f"{indent}{item}" for item in items[:SHOWN]]
    return lines + ([f"{indent}... and {len(items) - SHOWN} more (--json lists all)"] if len(items) > SHOWN else [])


def format_report(report: DoctorReport) -> str:
    """The report as text for a terminal."""
    usable = report.listed - len(report.skipped)  # multi-label counts add up to more than the images
    lines = [f"data: {report.origin}", f"files: {report.listed} ({usable} usable, {len(report.skipped)} skipped)"]
    lines.append("classes (images, class weight):" if report.weights else "classes (images):")
    width = max((len(name) for name in report.class_names), default=0)
    for name, count in zip(report.class_names, report.counts, strict=True):
        weight = f"  {report.weights[name]:.3f}" if name in report.weights else ""
        lines.append(f"  {name:<{width}}  {count:>6}{weight}")
    if report.skipped:
        lines.append(f"skipped ({len(report.skipped)}; training leaves them out):")
        lines += shown([f"{item.file}: {item.reason}" for item in report.skipped])
    if report.duplicates:
        count = sum(len(group) for group in report.duplicates)
        lines.append(f"duplicates ({len(report.duplicates)} groups, {count} files with identical content):")
        described = []
        for group in report.duplicates:
            classes = sorted({name for _, name in group})
            note = f"  [different classes: {', '.join(classes)}]" if len(classes) > 1 else ""
            described.append(", ".join(file for file, _ in group) + note)
        lines += shown(described)
    if report.modes:
        converted = {mode: "" if mode == "RGB" else " (converted to RGB)" for mode in report.modes}
        modes = ", ".join(f"{mode} {n}{converted[mode]}" for mode, n in report.modes.items())
        lines.append(f"modes: {modes}")
    if report.sizes:
        (w0, w1), (h0, h1) = report.sizes["width"], report.sizes["height"]
        common = ", ".join(f"{s['width']}x{s['height']} ({s['count']})" for s in report.sizes["most_common"])
        lines.append(f"sizes: width {w0}..{w1}, height {h0}..{h1}; most common {common}")
    if report.tiny:
        lines.append(f"tiny images (a side under {TINY_SIDE} px): {len(report.tiny)}")
        lines += shown(report.tiny)
    lines += near_duplicate_lines(report.near_duplicates)
    return "\n".join(lines + verdict_lines(report))


def verdict_lines(report: DoctorReport) -> list[str]:
    """The notes, the problems, and the verdict: problems stop training, notes only need reading."""
    lines = []
    if report.notes:
        lines.append(f"notes ({len(report.notes)}):")
        lines += [f"  - {note}" for note in report.notes]
    if report.problems:
        lines.append(f"problems ({len(report.problems)}; training would stop on these):")
        lines += [f"  - {problem}" for problem in report.problems]
    if not report.ok:
        return lines + ["verdict: fix the problems above before training"]
    return lines + ["verdict: ready to train" + (" (read the notes above first)" if report.notes else "")]
