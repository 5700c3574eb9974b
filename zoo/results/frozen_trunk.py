"""A frozen part of a model held in memory (the trunk finetune caches features of) on the fast CPU runtime.

The converted file is named by a digest of the part's weights, its cut, input and output shapes (and zoo's version,
as every runtime file), so a rerun, a resume and every kaggle fold that starts from the same pretrained trunk reuse
one conversion, and any change of weights converts anew. Converting costs seconds, so a cold cache converts only
for a pass big enough to win them back (CONVERSION_PAYS); a warm one is always used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np

from zoo.results.runtime import (
    CONVERSION_PAYS,
    ModelSource,
    Runner,
    cached_paths,
    card_file,
    open_runner,
    read_card,
    say,
)

PURPOSE = "features"


def weights_digest(model: Any) -> str:
    """sha256 over every weight's shape, dtype and values, in order: equal for equal trunks, whatever built them
    (variable paths are left out: Keras numbers unnamed layers per process, so they differ between equal models)."""
    digest = hashlib.sha256()
    for value in model.get_weights():
        digest.update(f"{value.shape}|{value.dtype}|".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def memory_source(model: Any, label: str, key: str = "") -> ModelSource:
    """A Keras model in memory as a runtime source, named by its weights, its input and output shapes and `key`."""
    shapes = f"{tuple(model.input_shape)}->{tuple(model.output_shape)}"
    return ModelSource(label, f"{weights_digest(model)}|{shapes}|{key}", lambda: model)


def trunk_runner(
    extractor: Any, cut: str | None, pixels: int, note: Callable[[str], None] = say
) -> Callable[[np.ndarray], np.ndarray] | None:
    """`extractor` (images -> the trunk up to `cut`, None: all of it) on the fast runtime, or None for Keras: when a
    cold conversion would not pay for a pass over `pixels`, or the part does not convert (one `note` line says why)."""
    source = memory_source(extractor, f"trunk-{cut or 'all'}", key=f"cut={cut}")
    warm = read_card(card_file(cached_paths(source, PURPOSE))) is not None
    if not warm and pixels < CONVERSION_PAYS:
        return None
    runner: Runner = open_runner(source, PURPOSE, note)
    return runner.run if runner.runtime != "keras" else None
