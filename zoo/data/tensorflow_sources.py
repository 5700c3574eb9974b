"""TensorFlow sources: a tf.data.Dataset of (image, label), and TensorFlow Datasets by name (offline first).

TensorFlow is imported only here, inside the functions: the folder and CSV paths (and `zoo doctor`) never load it.
"""

from __future__ import annotations

import atexit
import difflib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.arrays import check_image_row, encode_array_labels, from_arrays, label_values, unit_floats
from zoo.data.checks import class_problems, raise_problems
from zoo.data.decoding.images import array_to_image
from zoo.data.decoding.rows import release_pages, require_room
from zoo.data.decoding.scan import image_pixels
from zoo.data.decoding.store import STORE_FORMAT, finish_store, open_store, store_root
from zoo.data.labelled import LabelledData
from zoo.data.progress import progress_meter
from zoo.errors import BadData, BrokenSeal
from zoo.sealed import read_sealed, write_sealed
from zoo.version import __version__

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


@dataclass(frozen=True)
class StreamOrigin:
    """Where a streamed dataset comes from: its name in messages, a key naming data that does not change (so a
    second run reuses its store; None: a dataset that cannot be recognised again), and whether to show progress."""

    source: str = "the tf.data.Dataset"
    key: str | None = None
    progress: bool = True


def from_tf_dataset(
    dataset: Any,
    *,
    image_size: tuple[int, int] | None,
    channels: int = 3,
    class_names: Sequence[str] | None = None,
    origin: StreamOrigin = StreamOrigin(),
) -> LabelledData:
    """Read the dataset once. With image_size, each image is fitted as arrays are and written row by row into an
    image store (never all in memory); without, the whole dataset is read into memory and treated as arrays."""
    source, key = origin.source, origin.key
    supervised = supervised_pairs(dataset)
    pairs = labelled_pairs(supervised)
    if image_size is None:
        images, labels = [], []
        for image, label in pairs:
            images.append(image)
            labels.append(label)
        if not images:
            raise BadData(f"{source} is empty: it yielded no (image, label) pairs")
        if len({np.shape(image) for image in images}) == 1:
            images = np.stack(images)
        labels = np.asarray(labels)
        return from_arrays(images, labels, image_size=None, channels=channels, class_names=class_names, source=source)
    folder = streamed_store_folder(key, image_size, channels)
    stored, labels = open_store(folder), stored_labels(folder)
    if stored is None or labels is None:
        stored = stream_into_store(pairs, (*image_size, channels), folder, origin, known_length(supervised))
        labels = stored_labels(folder)
    values = label_values(labels, source)
    ids, names = encode_array_labels(values, source, class_names)
    raise_problems(class_problems(ids, names, source))
    shape = "x".join(str(d) for d in stored.x.shape)
    return LabelledData(stored.x, ids, names, None, (), f"{source}: {shape} uint8, {len(names)} classes")


def stored_labels(folder: Path) -> np.ndarray | None:
    """A streamed store's labels as sealed, or None when there are none; damaged ones are one line (streamed anew)."""
    path = folder / "labels.npy"
    if not path.exists():
        return None
    try:
        return np.load(io.BytesIO(read_sealed(path)), allow_pickle=False)
    except (BrokenSeal, ValueError, OSError) as error:
        print(f"image store: the labels in {folder} are damaged ({error}): streaming again", file=sys.stderr)
        return None


def labelled_pairs(dataset: Any) -> Iterator[tuple[np.ndarray, Any]]:
    """(image, label) NumPy pairs one at a time; byte-string labels as text."""
    for image, label in dataset.as_numpy_iterator():
        yield image, label.decode("utf-8", "backslashreplace") if isinstance(label, bytes) else label


def streamed_store_folder(key: str | None, image_size: tuple[int, int], channels: int) -> Path:
    """The store folder of a streamed dataset: named by `key` and the size; without a key, a folder of this
    process only, removed when it exits (an unnamed dataset cannot be recognised again)."""
    if key is None:
        folder = Path(tempfile.mkdtemp(prefix="stream-", dir=ensure(store_root())))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return folder
    facts = json.dumps([STORE_FORMAT, __version__, key, list(image_size), channels]).encode()
    return store_root() / f"stream-{hashlib.sha256(facts).hexdigest()[:32]}"


def ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def known_length(dataset: Any) -> int:
    """The dataset's number of elements when TensorFlow knows it (a TFDS split does), else 0."""
    return max(0, int(dataset.cardinality()))


def stream_into_store(
    pairs: Iterator[tuple[np.ndarray, Any]], row_shape: tuple, folder: Path, origin: StreamOrigin, total: int
) -> Any:
    """Fit each image (as zoo.data.arrays does) and append it to folder's rows file; labels.npy, then store.json.
    Progress over `total` images when known (a count of rows otherwise would have no end to show)."""
    source = origin.source
    require_room(ensure(folder), total * int(np.prod(row_shape)), f"the image store of {source} ({total} images)")
    meter = progress_meter(total, f"fitting {total} images into the image store", enabled=origin.progress)
    (folder / "store.json").unlink(missing_ok=True)  # a damaged store being replaced must not look finished
    partial = folder / f"images.u8.partial-{os.getpid()}"
    labels, floats, peak = [], False, 0.0
    try:
        with open(partial, "wb") as rows:
            for image, label in pairs:
                if not labels:
                    check_image_row(np.asarray(image))
                if image.dtype.kind == "f":
                    floats, peak = True, max(peak, float(np.nanmax(image, initial=0.0)))
                rows.write(image_pixels(array_to_image(image), row_shape[:2], row_shape[2]).tobytes())
                labels.append(label)
                meter.update(1)
        meter.close()
        if not labels or (floats and peak <= 1.0):  # the rule fit_images applies to all the images at once
            raise BadData(f"{source} is empty: it yielded no (image, label) pairs") if not labels else unit_floats()
    except BaseException:  # a refused image or an interrupt: no partial file is left behind
        partial.unlink(missing_ok=True)
        raise
    array = io.BytesIO()
    np.save(array, label_values(np.asarray(labels), source), allow_pickle=False)
    write_sealed(folder / "labels.npy", array.getvalue(), made_by="zoo image store labels")
    return finish_store(folder, partial, row_shape, list(range(len(labels))), [])


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


def tfds_split(
    name: str, data_dir: str | os.PathLike | None, split: str | None, class_names: Sequence[str] | None
) -> tuple[Any, StreamOrigin, Sequence[str] | None]:
    """A prepared TFDS dataset's split (default "train") as supervised pairs, where it came from (its store is named
    by the prepared files, as they are now: reused until rebuilt), and its class names (from its ClassLabel)."""
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
    return dataset, StreamOrigin(source, key=f"tfds:{split}:{folder_facts(builder.data_dir)}"), class_names


def folder_facts(folder: str | os.PathLike) -> str:
    """The path, names, sizes and modification times of a folder's files: changes when its data is rebuilt."""
    try:
        entries = sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in os.scandir(folder))
    except OSError:
        entries = []
    return json.dumps([os.fspath(folder), entries])


def model_feed(x: np.ndarray, batch_size: int) -> Any:
    """What to hand Keras' `predict`: an ordinary array as is; a memory map as a tf.data pipeline of its slices.

    Keras' array adapter turns the whole array into one tensor (`Dataset.from_tensors(inputs)`, Keras 3.15
    array_data_adapter.py), which would read a store larger than memory into RAM; slices keep memory to a batch.
    """
    return sliced_feed(x, batch_size) if isinstance(x, np.memmap) else x


def sliced_feed(x: np.ndarray, batch_size: int) -> Any:
    """A tf.data pipeline of `x`'s batches, each sliced when it is needed (and a memory map's pages released): no
    whole copy of `x` is ever made, as Dataset.from_tensor_slices(x) would make one."""
    import tensorflow as tf

    def generate() -> Any:
        for start in range(0, len(x), batch_size):
            batch = np.array(x[start : start + batch_size])
            release_pages(x)
            yield batch

    spec = tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-len(x) // batch_size))).prefetch(2)
