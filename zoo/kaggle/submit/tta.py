"""Test-time augmentation: each image predicted in N fixed views (flip, crops), the outputs averaged.

Views are deterministic (no random crops), so the same run and test set give the same submission every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.errors import BadData

if TYPE_CHECKING:
    import keras

CROP_FRACTION = 0.9  # a crop keeps 90% of each side, then is resized back to the input size
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
VIEWS = ("original", "flip", "crop", "flip+crop", *(f"crop:{corner}" for corner in CORNERS))
CHUNK = 256  # images per prediction call: views are made chunk by chunk, so memory stays small on big test sets


def prediction_steps(rows: int, views: tuple[str, ...]) -> int:
    """What predict_views' meter counts for `rows` rows: one per view of every chunk."""
    return -(-rows // CHUNK) * len(views)


def tta_views(count: int, flip: bool = True) -> tuple[str, ...]:
    """The first `count` views; without `flip` (digits, text: not mirror-symmetric) the flipped ones are left out."""
    views = VIEWS if flip else tuple(view for view in VIEWS if "flip" not in view)
    if not 1 <= count <= len(views):
        raise BadData(f"--tta must be between 1 (no augmentation) and {len(views)} ({', '.join(views)}); got {count}")
    return views[:count]


def crop_box(height: int, width: int, where: str) -> tuple[int, int, int, int]:
    """(top, left, crop height, crop width) of a centre or corner crop."""
    ch, cw = max(1, round(height * CROP_FRACTION)), max(1, round(width * CROP_FRACTION))
    top = {"top": 0, "bottom": height - ch}.get(where.split("-")[0], (height - ch) // 2)
    left = {"left": 0, "right": width - cw}.get(where.split("-")[-1], (width - cw) // 2)
    return top, left, ch, cw


def view_of(images: np.ndarray, view: str) -> np.ndarray:
    """One view of a (n, height, width, channels) batch, as float32 in the images' own range."""
    import keras

    x = np.asarray(images, dtype=np.float32)
    if "flip" in view:
        x = x[:, :, ::-1, :]
    if "crop" in view:
        height, width = x.shape[1:3]
        top, left, ch, cw = crop_box(height, width, view.split(":")[1] if ":" in view else "centre")
        cropped = x[:, top : top + ch, left : left + cw, :]
        x = keras.ops.convert_to_numpy(keras.ops.image.resize(cropped, (height, width), interpolation="bilinear"))
    return np.ascontiguousarray(x)


def predict_views(
    model: keras.Model, images: np.ndarray, views: tuple[str, ...], batch_size: int, meter: Any = None
) -> np.ndarray:
    """The model's outputs averaged over `views` of every image; `meter` (zoo.data.progress) counts the chunks."""
    parts = []
    for start in range(0, len(images), CHUNK):
        chunk = images[start : start + CHUNK]
        outputs = [model.predict(view_of(chunk, view), batch_size=batch_size, verbose=0) for view in views]
        parts.append(np.mean(outputs, axis=0))
        if meter is not None:
            meter.update(len(views))
    return np.concatenate(parts)
