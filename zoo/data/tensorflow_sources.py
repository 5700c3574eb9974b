"""TensorFlow sources: a tf.data.Dataset of (image, label), and TensorFlow Datasets by name (offline first).

TensorFlow is imported only here, inside the functions: the folder and CSV paths (and `zoo doctor`) never load it.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.data.arrays import from_arrays
from zoo.data.decoding.rows import release_pages
from zoo.data.labelled import LabelledData
from zoo.errors import BadData

# A TFDS name: "mnist", "mnist:3.*.*", "imagenette/160px", "tfds:cats_vs_dogs"; no path separators beyond the
# one that names a config.
TFDS_NAME = re.compile(r"^[a-z][a-z0-9_]*(/[a-z0-9_.-]+)?(:[0-9.*]+)?$")


def is_tf_dataset(data: Any) -> bool:
    """True for a tf.data.Dataset, without importing TensorFlow when the caller has not."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


@functools.cache
def tfds_catalogue() -> frozenset[str]:
    """The dataset names this TensorFlow Datasets installation knows, read locally (listing community datasets
    would go to the network, which is what made a mistyped path take 30 s); empty without TFDS."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return frozenset()
    return frozenset(tfds.list_builders(with_community_datasets=False))


def dataset_name(text: str) -> str:
    """The dataset of a TFDS name: "tfds:imagenette/160px:1.*" -> "imagenette"."""
    return text.removeprefix("tfds:").split("/")[0].split(":")[0]


def looks_like_tfds_name(text: str) -> bool:
    """ "tfds:NAME", or a bare name that TFDS knows such as "mnist" (asked only when no file or folder has it)."""
    return text.startswith("tfds:") or (bool(TFDS_NAME.match(text)) and dataset_name(text) in tfds_catalogue())


def unknown_name_message(name: str) -> str:
    """Neither a path nor a TFDS dataset: say both, with the closest TFDS names."""
    close = difflib.get_close_matches(dataset_name(name), sorted(tfds_catalogue()), n=5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " See `tfds.list_builders()` for the names."
    return f"no folder or file named {name!r}, and no TensorFlow Datasets dataset of that name.{hint}"


def supervised_pairs(dataset: Any) -> Any:
    """The dataset as unbatched (image, label) pairs; dict elements with "image" and "label" are accepted."""
    import tensorflow as tf

    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise BadData("the tf.data.Dataset repeats forever: pass it without .repeat() so it can be read once")
    spec = dataset.element_spec
    if isinstance(spec, dict) and {"image", "label"} <= set(spec):
        dataset = dataset.map(lambda element: (element["image"], element["label"]))
        spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise BadData(f"a tf.data.Dataset must yield (image, label) pairs; its elements are {spec}")
    image_rank, label_shape = spec[0].shape.rank, spec[1].shape
    if label_shape.rank == 1 and (image_rank == 4 or label_shape[0] is None):
        return dataset.unbatch()  # batched: one label per image along the first axis
    if label_shape.rank != 0:
        raise BadData(
            f"the tf.data.Dataset's labels have shape {label_shape}: pass one class id per image "
            "(for one-hot labels: dataset.map(lambda x, y: (x, tf.argmax(y, -1))))"
        )
    return dataset


def from_tf_dataset(
    dataset: Any,
    *,
    image_size: tuple[int, int] | None,
    channels: int = 3,
    class_names: Sequence[str] | None = None,
    source: str = "the tf.data.Dataset",
) -> LabelledData:
    """Read the whole dataset once into memory, then treat it as arrays (images fitted when image_size is given)."""
    images, labels = [], []
    for image, label in supervised_pairs(dataset).as_numpy_iterator():
        images.append(image)
        labels.append(label.decode("utf-8", "backslashreplace") if isinstance(label, bytes) else label)
    if not images:
        raise BadData(f"{source} is empty: it yielded no (image, label) pairs")
    if image_size is None and len({np.shape(image) for image in images}) == 1:
        images = np.stack(images)
    labels = np.asarray(labels)
    return from_arrays(images, labels, image_size=image_size, channels=channels, class_names=class_names, source=source)


def tfds_builder(name: str, data_dir: str | os.PathLike | None) -> Any:
    """The TFDS builder of `name`; an unknown name gets the closest known ones."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    except tfds.core.registered.DatasetNotFoundError:
        raise BadData(unknown_name_message(name)) from None


def offline_message(name: str, builder: Any, data_dir: str | os.PathLike | None) -> str:
    """How to provide a TFDS dataset on a machine that cannot (or should not) download it."""
    root = "DIR" if data_dir is None else os.fspath(data_dir)
    return (
        f"TensorFlow Datasets has no prepared copy of {name!r}: it looked in {builder.data_dir} and found no data "
        f"there. zoo never downloads datasets by itself. To provide it: on a machine with internet run "
        f"`tfds build {name} --data_dir {root}` (or tfds.builder({name!r}, data_dir={root!r}).download_and_prepare()),"
        f" then copy that folder here and pass data_dir={root!r} (it must hold {builder.name}/{builder.version}/)"
    )


def from_tfds(
    name: str,
    *,
    image_size: tuple[int, int] | None,
    channels: int = 3,
    data_dir: str | os.PathLike | None = None,
    split: str | None = None,
    class_names: Sequence[str] | None = None,
) -> LabelledData:
    """A prepared TFDS dataset's split (default "train") as supervised pairs; class names from its ClassLabel."""
    name = name.removeprefix("tfds:")
    builder = tfds_builder(name, data_dir)
    split = split or "train"
    try:
        dataset = builder.as_dataset(split=split, as_supervised=True)
    except AssertionError:  # TFDS's way of saying the data was never downloaded and prepared
        raise BadData(offline_message(name, builder, data_dir)) from None
    except ValueError as error:  # an unknown split, or a dataset with no (input, label) pair
        splits = sorted(builder.info.splits)
        raise BadData(f"cannot read split {split!r} of TFDS {name!r} ({error}); its splits are {splits}") from None
    if class_names is None and builder.info.supervised_keys:
        label = builder.info.features[builder.info.supervised_keys[1]]
        class_names = getattr(label, "names", None)
    source = f"TFDS {name} split {split!r} ({builder.data_dir})"
    return from_tf_dataset(dataset, image_size=image_size, channels=channels, class_names=class_names, source=source)


def model_feed(x: np.ndarray, batch_size: int) -> Any:
    """What to hand Keras' `predict`: an ordinary array as is; a memory map as a tf.data pipeline of its slices.

    Keras' array adapter turns the whole array into one tensor (`Dataset.from_tensors(inputs)`, Keras 3.15
    array_data_adapter.py), which would read a store larger than memory into RAM; slices keep memory to a batch.
    """
    if not isinstance(x, np.memmap):
        return x
    import tensorflow as tf

    def generate() -> Any:
        for start in range(0, len(x), batch_size):
            batch = np.array(x[start : start + batch_size])
            release_pages(x)
            yield batch

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-len(x) // batch_size))).prefetch(2)
