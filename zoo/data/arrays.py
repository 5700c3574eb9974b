"""In-memory sources: NumPy (x, y), and the rows a tf.data pipeline yields.

With an image_size, x holds images (n, h, w[, c]; uint8, or float in [0, 255]) and each is converted and fitted
through zoo.data.decoding.images exactly as files are. Without one, x is used unchanged (feature arrays for
non-image recipes): only its length, finiteness and labels are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.data.checks import class_problems, raise_problems
from zoo.data.decoding.images import array_to_image
from zoo.data.decoding.scan import image_pixels
from zoo.data.labelled import LabelledData
from zoo.data.listings.labels import encode_labels, quote_rows
from zoo.errors import BadData


def label_values(y: Any, source: str) -> np.ndarray:
    """Labels as a 1-D array; a one-hot matrix gets a clear refusal with the one-line fix."""
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        raise BadData(
            f"labels of {source} have shape {values.shape}: that looks one-hot; pass class ids instead "
            "(y.argmax(axis=1))"
        )
    if values.ndim != 1:
        raise BadData(f"labels of {source} must be one label per example (shape (n,)); got shape {values.shape}")
    return values


def encode_array_labels(values: np.ndarray, source: str, class_names: Sequence[str] | None):
    """Class ids for a label array; whole-array checks for integer arrays so a million labels stay fast."""
    if values.dtype.kind in "iu":
        count = len(class_names) if class_names is not None else int(values.max(initial=-1)) + 1
        bad = np.flatnonzero((values < 0) | (values >= count))
        if len(bad):
            raise BadData(
                f"{len(bad)} labels of {source} are out of range (class ids must be 0..{count - 1}): "
                f"{quote_rows([f'y[{i}] = {values[i]}' for i in bad])}; integer labels are class ids counted "
                "from 0: fix them, or pass class_names listing every class"
            )
        names = tuple(class_names) if class_names is not None else tuple(str(i) for i in range(count))
        return values.astype(np.int64), tuple(str(name) for name in names)
    where = [f"y[{i}]" for i in range(len(values))]
    encoded = encode_labels(list(values), where, source=source, class_names=class_names)
    raise_problems(encoded.problems)
    return encoded.y, encoded.class_names


def fit_images(images: Sequence[np.ndarray] | np.ndarray, image_size: tuple[int, int], channels: int) -> np.ndarray:
    """Image arrays as one uint8 (n, h, w, channels) batch, through the same conversion and fitting as files."""
    shape = (*image_size, channels)
    if isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape[1:] == shape:
        return images  # already what training needs; converting would only copy
    floats = [np.asarray(image) for image in images if np.asarray(image).dtype.kind == "f"]
    if floats and max(float(np.nanmax(image, initial=0.0)) for image in floats) <= 1.0:
        raise unit_floats()
    batch = np.empty((len(images), *shape), dtype=np.uint8)
    for i, image in enumerate(images):
        batch[i] = image_pixels(array_to_image(image), image_size, channels)
    return batch


def unit_floats() -> BadData:
    """The refusal of float images that all lie in [0, 1]: image arrays are read as [0, 255]."""
    return BadData(
        "the images hold floats in [0, 1], but image arrays are read as values in [0, 255]: "
        "pass x * 255 (or uint8 images)"
    )


def check_image_row(first: np.ndarray) -> None:
    """With an image size, each row must be an image: (h, w) or (h, w, 1|3|4)."""
    if first.ndim not in (2, 3) or (first.ndim == 3 and first.shape[-1] not in (1, 3, 4)):
        raise BadData(
            f"image_size was given, but each row of x has shape {first.shape}, not an image (h, w) or "
            "(h, w, 1|3|4); pass image_size=None to use feature arrays unchanged"
        )


def check_finite(x: np.ndarray, source: str) -> None:
    """NaN or infinite inputs make the loss NaN at the first batch: refuse them before training."""
    if x.dtype.kind in "fc":
        rows = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        if len(rows):
            raise BadData(
                f"{len(rows)} rows of {source} hold NaN or infinite values: "
                f"{quote_rows([f'x[{i}]' for i in rows])}; drop or impute those rows"
            )


def from_arrays(
    x: Any,
    y: Any,
    *,
    image_size: tuple[int, int] | None,
    channels: int = 3,
    class_names: Sequence[str] | None = None,
    source: str = "the arrays",
) -> LabelledData:
    """LabelledData from inputs and labels held in memory (a list of differently sized images is fine)."""
    labels = label_values(y, source)
    if len(x) != len(labels):
        raise BadData(f"{source}: x has {len(x)} rows but y has {len(labels)} labels; they must match one to one")
    if len(labels) == 0:
        raise BadData(f"{source} hold no examples: pass at least one example of each class")
    ids, names = encode_array_labels(labels, source, class_names)
    raise_problems(class_problems(ids, names, source))
    if image_size is None:
        try:
            inputs = np.asarray(x)
        except ValueError:  # NumPy refuses ragged lists
            inputs = None
        if inputs is None or inputs.dtype == object:
            raise BadData(f"{source}: x holds arrays of different shapes; pass image_size=(h, w) to fit images")
        check_finite(inputs, source)
    else:
        check_image_row(np.asarray(x[0]))
        inputs = fit_images(x, image_size, channels)
    shape = "x".join(str(d) for d in np.shape(inputs))
    origin = f"{source}: {shape} {inputs.dtype}, {len(names)} classes"
    return LabelledData(inputs, ids, names, None, (), origin)
