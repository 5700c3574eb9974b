"""The mislabel finder: training rows whose out-of-fold prediction confidently names another class (confident
learning, Northcutt et al. 2021): class j's threshold is the mean probability of j over the rows labelled j; a row
is flagged when another class clears its threshold. Flagged rows come first, each group ranked by self-confidence
(the probability of the given label), lowest first.

Writes suspect_labels.csv and, for image runs, suspect_labels.png: a grid of the top suspects with both labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.results.run_folder import write_rows

SUSPECTS_FILE, GRID_FILE = "suspect_labels.csv", "suspect_labels.png"
GRID_SHOWN, GRID_ACROSS = 25, 5  # top flagged rows drawn in the PNG grid, images per grid row


@dataclass(frozen=True)
class Suspects:
    """Every training row, most suspect first: flagged rows (another class clears its threshold) by self-confidence,
    then the others by self-confidence; with the class the predictions favour over the label."""

    rows: np.ndarray
    flagged: np.ndarray  # bool: another class clears its confident-learning threshold
    labels: np.ndarray  # the labels given
    suggested: np.ndarray  # the most probable class other than the label
    p_label: np.ndarray
    p_suggested: np.ndarray


def rank_suspects(y: np.ndarray, probabilities: np.ndarray) -> Suspects:
    """Rank rows by how confidently their out-of-fold prediction disagrees with their label (see the module)."""
    rows, classes = np.arange(len(y)), probabilities.shape[1]
    thresholds = np.array(
        [probabilities[y == j, j].mean() if np.any(y == j) else 1.0 for j in range(classes)], dtype=np.float64
    )
    above = probabilities >= thresholds
    above[rows, y] = False
    others = probabilities.astype(np.float64).copy()
    others[rows, y] = -1.0
    suggested = np.argmax(np.where(above, others + 2.0, others), axis=1)  # a class over its threshold first
    flagged, p_label = above.any(axis=1), probabilities[rows, y]
    order = np.lexsort((p_label, ~flagged))
    return Suspects(order, flagged[order], y[order], suggested[order], p_label[order], others[rows, suggested][order])


def write_suspects(path: Path, id_col: str, ids: Sequence[str], names: Sequence[str], found: Suspects) -> Path:
    """suspect_labels.csv: rank, id, whether flagged, the label given, the label suggested and their probabilities."""
    columns = (found.rows, found.flagged, found.labels, found.suggested, found.p_label, found.p_suggested)
    rows = [
        [rank, ids[row], int(flag), names[label], names[other], f"{p_label:.6g}", f"{p_other:.6g}"]
        for rank, (row, flag, label, other, p_label, p_other) in enumerate(zip(*columns, strict=True), start=1)
    ]
    return write_rows(path, ["rank", id_col, "flagged", "label", "suggested", "p_label", "p_suggested"], rows)


def write_grid(path: Path, files: Sequence[str], names: Sequence[str], found: Suspects) -> Path | None:
    """suspect_labels.png: the top GRID_SHOWN flagged rows' images titled 'label -> suggested'; None if none."""
    import io

    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from PIL import Image

    from zoo.results.run_folder import write_atomic

    shown = min(GRID_SHOWN, int(found.flagged.sum()))
    if shown == 0:
        return None
    across = min(GRID_ACROSS, shown)
    down = -(-shown // across)
    figure, axes = plt.subplots(down, across, figsize=(2 * across, 2.2 * down), squeeze=False)
    for k, axis in enumerate(axes.flat):
        axis.axis("off")
        if k < shown:
            with Image.open(files[found.rows[k]]) as image:
                axis.imshow(np.asarray(image.convert("RGB")))
            label, suggested = names[found.labels[k]], names[found.suggested[k]]
            axis.set_title(f"{label} -> {suggested} ({found.p_suggested[k]:.2f})", fontsize=8)
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    plt.close(figure)
    write_atomic(path, png.getvalue())
    return path
