"""The pictures of a training run: loss and accuracy curves, the confusion matrix, the most confidently wrong images.

Drawn on matplotlib Figure objects with the Agg renderer, never through pyplot, so no window opens and a
notebook's own backend is left untouched.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zoo.errors import NotExplainable
from zoo.results.explain import draw_overlay, heatmaps

if TYPE_CHECKING:
    import keras
    from matplotlib.axes import Axes

    from zoo.data import LabelledData
    from zoo.results.scoring.evaluation import Evaluation

ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "acc")
ANNOTATE_UP_TO = 30  # classes; beyond that the counts in the cells are too small to read
TICK_LABELS_UP_TO = 60  # classes; beyond that the axis names overlap
GRID_IMAGES = 16
LABEL_CHARS = 24


def save_plots(
    history: dict[str, list[float]],
    evaluation: Evaluation,
    data: LabelledData,
    out_dir: Path,
    phases: list[tuple[str, int]] | None = None,
    model: keras.Model | None = None,
) -> dict[str, Path]:
    """Write training_curves.png, confusion_matrix.png and (for image data with mistakes) most_wrong.png.

    `phases` lists (phase name, epochs that phase ran) in order; `evaluation` must come from `data` (and `model`,
    when given, whose heat maps then overlay the most-wrong grid). Returns {plot name: path} for the plots written.
    """
    if len(data.x) != len(evaluation.labels):
        raise ValueError(
            f"the evaluation covers {len(evaluation.labels)} samples but the data has {len(data.x)}; "
            "pass the data the evaluation was made on"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if any(len(values) for values in history.values()):
        paths["training_curves"] = plot_training_curves(history, out_dir / "training_curves.png", phases)
    if not getattr(evaluation, "multilabel", False):  # a confusion matrix needs one true class per sample
        paths["confusion_matrix"] = plot_confusion_matrix(evaluation, out_dir / "confusion_matrix.png")
    if is_image_batch(data.x) and len(evaluation.most_wrong):
        paths["most_wrong"] = plot_most_wrong(evaluation, data.x, out_dir / "most_wrong.png", model=model)
    return paths


def is_image_batch(x: np.ndarray) -> bool:
    """True for uint8 (n, h, w, 1 or 3) arrays, the images zoo's data adapters produce."""
    return isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4 and x.shape[-1] in (1, 3)


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def plot_training_curves(
    history: dict[str, list[float]], path: Path, phases: list[tuple[str, int]] | None = None
) -> Path:
    """Loss (and accuracy, when recorded) per epoch, training and validation, with phase boundaries marked."""
    from matplotlib.ticker import MaxNLocator

    accuracy = next((key for key in ACCURACY_KEYS if key in history or f"val_{key}" in history), None)
    panels = [("loss", "loss")] + ([(accuracy, "accuracy")] if accuracy else [])
    figure = new_figure(6 * len(panels), 4.2)
    epochs = max(len(values) for values in history.values())
    for axes, (key, title) in zip(np.atleast_1d(figure.subplots(1, len(panels))), panels, strict=True):
        for name, label, style in ((key, "training", "-"), (f"val_{key}", "validation", "--")):
            values = history.get(name) or []
            if values:
                marker = "o" if len(values) <= 30 else None
                axes.plot(np.arange(1, len(values) + 1), values, style, marker=marker, markersize=3, label=label)
        axes.set(title=title, xlabel="epoch", ylabel=title)
        axes.grid(alpha=0.3)
        axes.set_xlim(0.5, epochs + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        mark_phases(axes, phases or [], epochs)
        axes.legend(loc="best")
    figure.savefig(path)
    return path


def mark_phases(axes: Axes, phases: list[tuple[str, int]], epochs: int) -> None:
    """Shade every other phase, draw a line between phases and write each phase's name above its span."""
    if sum(count for _, count in phases) > epochs:
        raise ValueError(
            f"phases {phases} add up to {sum(c for _, c in phases)} epochs but the history has {epochs}; "
            "pass (phase name, epochs that phase ran) for each phase in order"
        )
    start = 0
    for index, (name, count) in enumerate(phases):
        left, right = start + 0.5, start + count + 0.5
        if index % 2:
            axes.axvspan(left, right, color="grey", alpha=0.08, linewidth=0)
        if index:
            axes.axvline(left, color="grey", linestyle=":", linewidth=1.2)
        axes.text(
            (left + right) / 2, 1.0, name, transform=axes.get_xaxis_transform(), ha="center", va="bottom", fontsize=8
        )
        start += count
    if phases:
        axes.set_title(axes.get_title(), pad=14)  # room for the phase names above the plot


def plot_confusion_matrix(evaluation: Evaluation, path: Path) -> Path:
    """Counts per (true, predicted) pair, coloured by the fraction of each true class so rare classes show too."""
    confusion = evaluation.confusion
    k = len(confusion)
    rows = confusion.sum(axis=1, keepdims=True)
    fractions = np.divide(confusion, rows, out=np.zeros(confusion.shape), where=rows > 0)
    side = min(max(4.5, 1.2 + 0.45 * k), 24)
    figure = new_figure(side + 1.5, side)
    axes = figure.subplots()
    image = axes.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, shrink=0.8, label="fraction of the true class")
    if k <= ANNOTATE_UP_TO:
        for (true, predicted), count in np.ndenumerate(confusion):
            colour = "white" if fractions[true, predicted] > 0.5 else "black"
            axes.text(predicted, true, str(count), ha="center", va="center", color=colour, fontsize=8)
    if k <= TICK_LABELS_UP_TO:
        names = [short(name) for name in evaluation.class_names]
        axes.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
        axes.set_yticks(range(k), names)
    axes.set(
        xlabel="predicted",
        ylabel="true",
        title=f"confusion matrix\naccuracy {evaluation.accuracy:.3f} on {len(evaluation.labels)} samples",
    )
    figure.savefig(path)
    return path


def plot_most_wrong(
    evaluation: Evaluation,
    images: np.ndarray,
    path: Path,
    limit: int = GRID_IMAGES,
    model: keras.Model | None = None,
) -> Path:
    """A grid of the most confidently wrong images, each titled with its true and predicted labels.

    With the model that made the evaluation, each image carries its HiResCAM heat map for the predicted class:
    where the model saw what it wrongly predicted. A model with no feature map to explain gives the plain grid.
    """
    indices = evaluation.most_wrong[:limit]
    maps = None if model is None else most_wrong_heatmaps(model, images[indices], evaluation.predictions[indices])
    columns = min(4, len(indices))
    rows = math.ceil(len(indices) / columns)
    figure = new_figure(2.6 * columns, 2.9 * rows)
    explained = "; heat map: where it saw the prediction" if maps is not None else ""
    figure.suptitle(f"most confidently wrong{explained}", fontsize=11)
    for position, index in enumerate(indices):
        axes = figure.add_subplot(rows, columns, position + 1)
        image = images[index]
        if maps is not None:
            draw_overlay(axes, image, maps[position])
        else:
            grey = image.shape[-1] == 1
            axes.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None, vmin=0, vmax=255)
        sample = evaluation.describe(int(index))
        axes.set_title(
            f"true: {short(sample['true'])}\npred: {short(sample['predicted'])} ({sample['probability']:.2f})",
            fontsize=8,
        )
        axes.set_axis_off()
    figure.savefig(path)
    return path


def most_wrong_heatmaps(model: keras.Model, images: np.ndarray, predicted: np.ndarray) -> np.ndarray | None:
    """The heat maps of the predicted classes, or None for a model that has none (no image input or feature map)."""
    try:
        return heatmaps(model, images, predicted)[0]
    except NotExplainable:
        return None
