"""The fast path: run the frozen part of a network once, keep its outputs, and train only what follows on them.

While a trunk (or its lower part) is frozen its output for an image never changes, so recomputing it every epoch is
wasted work. With augmentation on, a few augmented views of each image are cached and each epoch draws one of them.
Batches come through tf.data with prefetching, so the accelerator never waits on Python.

Under a strategy (several GPUs, several machines) the cache is computed on one device per worker, each worker for
all rows: it is a single inference pass, cheap next to the epochs it saves, and no worker then depends on another's
files or waits on a collective. Training on the cached features (a small model) runs replicated like any phase.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.data.decoding.rows import new_memmap, release_pages, removed_unless_finished
from zoo.data.progress import progress_meter
from zoo.data.tensorflow_sources import sliced_feed
from zoo.sealed import check_sealed, seal_written

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


@dataclass(frozen=True)
class Extractor:
    """The frozen part whose features are cached: in Keras, and on the fast CPU runtime when that pays."""

    model: keras.Model  # images -> features (the model's input scaling included), inference mode
    runtime: Callable[[np.ndarray], np.ndarray] | None = None  # the same on zoo.results.frozen_trunk's runtime


def on_runtime(extractor: keras.Model, cut: str | None, images: int) -> Extractor:
    """`extractor` with its fast-runtime twin where it runs on CPU and a conversion for `images` (views included)
    pays (zoo.results.frozen_trunk): the augmentation stays in TensorFlow before it, only the frozen part moves."""
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU") or not images:
        return Extractor(extractor)  # an accelerator runs Keras faster than a CPU runtime would
    from zoo.results.frozen_trunk import trunk_runner

    height, width = extractor.input_shape[1:3]
    return Extractor(extractor, trunk_runner(extractor, cut, images * int(height) * int(width)))


def extractor_function(extractor: keras.Model | None, augmenter: keras.Layer | None, images: np.ndarray) -> Any:
    """A compiled function: uint8 or float images -> (augmented, training=True) -> frozen features (inference);
    without `extractor`, the augmented float32 images themselves (for a runtime to take on)."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *images.shape[1:]), tf.as_dtype(images.dtype))

    @tf.function(input_signature=[spec])  # one trace, whatever the size of the last batch
    def run(images: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        if augmenter is not None:
            images = augmenter(images, training=True)
        return images if extractor is None else extractor(images, training=False)

    return run


def feature_array(
    extractor: keras.Model | Extractor,
    images: np.ndarray,
    *,
    batch_size: int = 64,
    views: int = 1,
    augmenter: keras.Layer | None = None,
    path: str | Path | None = None,
) -> np.ndarray:
    """(views, n, *feature shape) float32: the extractor's output for every image, once per augmented view.

    `path` puts the array on disk (a .npy memory map, written under a temporary name, sealed, then opened read-only
    and checked against its seal) for sets too big for memory; otherwise it lives in memory. Views after the first
    differ only when `augmenter` is given (its random layers draw anew on each call).
    """
    part = extractor if isinstance(extractor, Extractor) else Extractor(extractor)
    compiled = extractor_function(None if part.runtime else part.model, augmenter, images)
    shape = (views, len(images), *(int(d) for d in part.model.output.shape[1:]))
    if path is None:
        return fill(np.empty(shape, dtype=np.float32), part, compiled, images, batch_size)
    partial = Path(path).with_name(f"{Path(path).name}.partial-{os.getpid()}")
    with removed_unless_finished(partial):  # an error, a full disk or Ctrl-C leaves no partial file
        store = new_memmap(partial, np.float32, shape, npy=True)  # a full disk: one OSError now, not a SIGBUS later
        fill(store, part, compiled, images, batch_size).flush()
        del store
        return sealed_features(partial, Path(path))


def fill(store: np.ndarray, part: Extractor, compiled: Any, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Write the features of every image into `store`, once per view (its first axis); returns `store`."""
    # Slices, not Dataset.from_tensor_slices(images): that copies the whole array (a store on disk, or a lower-trunk
    # cache in RAM) into one more tensor, a second copy of every image's features held for the whole pass.
    source = sliced_feed(images, batch_size)
    views = len(store)
    meter = progress_meter(views * steps(len(images), batch_size), "computing the cached features", min_items=20)
    for view in range(views):
        start = 0
        for batch in source:
            features = compiled(batch).numpy()
            features = part.runtime(features) if part.runtime else features
            store[view, start : start + len(features)] = features
            start += len(features)
            release_pages(store)
            meter.update(1)
    meter.close()
    return store


def sealed_features(partial: Path, path: Path) -> np.memmap:
    """Seal a written feature cache under its name, then open it read-only, checked (BrokenSeal if it changed)."""
    seal_written(partial, path, made_by="zoo feature cache")
    check_sealed(path)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Float one-hot rows: categorical cross-entropy takes label smoothing, the sparse one does not (Keras 3.15)."""
    ids = np.asarray(y, dtype=np.int64)
    rows = np.zeros((len(ids), num_classes), dtype=np.float32)  # not np.eye(num_classes)[ids]: classes^2 floats
    rows[np.arange(len(ids)), ids] = 1.0
    return rows


@dataclass(frozen=True)
class Targets:
    """What the loss compares the outputs with, made one batch at a time from the labels: class ids one-hot (or
    multi-label 0/1 rows as floats) and each row's class weight. Nothing of n x classes floats is held: one-hot
    rows for a whole set of 1,000 classes would be 4 KB per image, 8% of a decoded 128 px image."""

    y: np.ndarray  # (n,) class ids; with multilabel, rows as they are: 0/1 per label, or regression values
    num_classes: int
    multilabel: bool = False
    class_weights: np.ndarray | None = None  # (num_classes,) float32: each row is weighted by its class's

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """(targets[, weights]) of `rows`."""
        labels = self.y[rows]
        target = labels.astype(np.float32) if self.multilabel else one_hot(labels, self.num_classes)
        return (target,) if self.class_weights is None else (target, self.class_weights[labels])

    def signature(self) -> list[Any]:
        import tensorflow as tf

        shape = self.y.shape[1:] if self.multilabel else (self.num_classes,)
        specs = [tf.TensorSpec((None, *shape), tf.float32)]
        return specs if self.class_weights is None else [*specs, tf.TensorSpec((None,), tf.float32)]


def batch_indices(rows: int, views: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[tuple]:
    """(view per row, rows) index pairs for one epoch: shuffled when `rng` is given, one random view per row."""
    order = rng.permutation(rows) if rng is not None else np.arange(rows)
    chosen = rng.integers(0, views, size=rows) if rng is not None and views > 1 else np.zeros(rows, dtype=np.int64)
    for start in range(0, rows, batch_size):
        # Sorted rows keep memory-mapped reads sequential; the batch's order inside does not matter to the loss.
        rows_ = np.sort(order[start : start + batch_size])
        yield chosen[rows_], rows_


def batches(x: np.ndarray, targets: Targets, *, batch_size: int, shuffle: bool, seed: int = 0) -> tf.data.Dataset:
    """A tf.data pipeline of (x, targets[, weights]) batches from `x` shaped (views, n, ...), prefetched.

    Each pass draws a fresh order and, per row, one of the views, from a generator seeded once: runs repeat. Only a
    batch of `x` (a memory map: the image store, a disk cache) and of the targets is read at a time.
    """
    import tensorflow as tf

    views, rows = x.shape[:2]
    rng = np.random.default_rng(seed) if shuffle else None

    def generate() -> Iterator[tuple]:
        for chosen, rows_ in batch_indices(rows, views, batch_size, rng):
            features = x[chosen, rows_]
            release_pages(x)  # a memory map (the image store, a disk cache): resident memory stays one batch
            yield (features, *targets.of(rows_))

    signature = [tf.TensorSpec((None, *x.shape[2:]), tf.as_dtype(x.dtype)), *targets.signature()]
    dataset = tf.data.Dataset.from_generator(generate, output_signature=tuple(signature))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps(rows, batch_size)))  # Keras knows the epoch
    if x.dtype != np.float32:  # uint8 images travel small and become float where the model runs
        dataset = dataset.map(lambda x_, *rest: (tf.cast(x_, tf.float32), *rest), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def steps(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


def cache_folder(cache_dir: str | Path | None) -> Any:
    """The folder for on-disk feature caches: the one given, or a temporary one removed after the run."""
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        return nullcontext(Path(cache_dir))
    return _temporary()


class _temporary:
    def __enter__(self) -> Path:
        self._folder = tempfile.TemporaryDirectory(prefix="zoo-features-")
        return Path(self._folder.name)

    def __exit__(self, *exc: Any) -> None:
        self._folder.cleanup()
