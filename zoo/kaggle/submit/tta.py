"""Test-time augmentation: each image predicted in N fixed views (flip, crops), the outputs averaged.

Views are deterministic (no random crops), so the same run and test set give the same submission every time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from zoo.errors import BadData

CROP_FRACTION = 0.9  # a crop keeps 90% of each side, then is resized back to the input size
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
VIEWS = ("original", "flip", "crop", "flip+crop", *(f"crop:{corner}" for corner in CORNERS))


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


def view_transforms(count: int, flip: bool = True) -> list[Callable[[np.ndarray], np.ndarray]]:
    """The first `count` views as batch transforms for runtime.run_files; none for one view (the images as they
    are: no copy, and no Keras import on the fast path)."""
    return [partial(view_of, view=view) for view in tta_views(count, flip)] if count > 1 else []
