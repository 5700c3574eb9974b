"""tf.data.Dataset of (image, label), batched or not; TFDS by name, with a clear error when it is not on disk."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data import load_data
from zoo.errors import BadData

tf = pytest.importorskip("tensorflow")
tfds = pytest.importorskip("tensorflow_datasets")

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (6, 10, 12, 3), dtype=np.uint8)
LABELS = np.array([0, 1, 2, 0, 1, 2])


def test_unbatched_pairs_are_read_and_fitted():
    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS))
    data = load_data(dataset, image_size=(8, 8), class_names=["a", "b", "c"])
    assert data.x.shape == (6, 8, 8, 3) and data.x.dtype == np.uint8
    assert data.y.tolist() == LABELS.tolist() and data.class_names == ("a", "b", "c")
    assert data.files is None and "tf.data" in data.origin


def test_batched_and_dict_datasets_give_the_same_rows():
    plain = load_data(tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)), image_size=None)
    batched = load_data(tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(4), image_size=None)
    as_dict = load_data(tf.data.Dataset.from_tensor_slices({"image": IMAGES, "label": LABELS}), image_size=None)
    np.testing.assert_array_equal(plain.x, IMAGES)
    for other in (batched, as_dict):
        np.testing.assert_array_equal(other.x, plain.x)
        np.testing.assert_array_equal(other.y, plain.y)


def test_string_labels_become_sorted_names():
    names = np.array([b"dog", b"cat", b"dog", b"cat", b"emu", b"emu"])
    data = load_data(tf.data.Dataset.from_tensor_slices((IMAGES, names)), image_size=(8, 8))
    assert data.class_names == ("cat", "dog", "emu") and data.y.tolist() == [1, 0, 1, 0, 2, 2]


def test_repeating_one_hot_and_non_pair_datasets_are_refused():
    repeating = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).repeat()
    with pytest.raises(BadData, match=r"repeats forever: pass it without .repeat\(\)"):
        load_data(repeating, image_size=(8, 8))
    one_hot = tf.data.Dataset.from_tensor_slices((IMAGES, np.eye(3)[LABELS]))
    with pytest.raises(BadData, match="labels have shape.*tf.argmax"):
        load_data(one_hot, image_size=(8, 8))
    with pytest.raises(BadData, match=r"must yield \(image, label\) pairs"):
        load_data(tf.data.Dataset.from_tensor_slices(IMAGES), image_size=(8, 8))


@pytest.mark.parametrize("name", ["tfds:mnist", "mnist"])
def test_tfds_not_on_disk_says_where_it_looked_and_how_to_provide_it(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so that "mnist" is no folder here
    with pytest.raises(BadData) as caught:
        load_data(name, image_size=(8, 8), data_dir=tmp_path / "tfds")
    message = str(caught.value)
    assert f"looked in {tmp_path / 'tfds' / 'mnist'}" in message
    assert f"tfds build mnist --data_dir {tmp_path / 'tfds'}" in message and "download_and_prepare()" in message
    assert "copy that folder here" in message


def test_an_unknown_tfds_name_gets_close_matches(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadData, match=r"no folder or file named 'mnsit', and no TensorFlow Datasets .*mean: .*mnist"):
        load_data("mnsit", image_size=(8, 8), data_dir=tmp_path)


def test_a_prepared_tfds_split_gives_its_class_names(tmp_path):
    with tfds.testing.mock_data(num_examples=60):  # stands in for the files `tfds build` would write
        data = load_data("tfds:mnist", image_size=(8, 8), data_dir=tmp_path, split="test")
    assert data.x.shape == (60, 8, 8, 3) and data.class_names == tuple(str(i) for i in range(10))
    assert "TFDS mnist split 'test'" in data.origin


def test_streamed_images_equal_the_in_memory_arrays_path_and_live_in_a_store():
    from zoo.data.arrays import from_arrays

    mixed = tf.data.Dataset.from_tensor_slices((IMAGES.astype(np.float32), LABELS))
    streamed = load_data(mixed, image_size=(8, 8), class_names=["a", "b", "c"])
    in_memory = from_arrays(IMAGES.astype(np.float32), LABELS, image_size=(8, 8), class_names=["a", "b", "c"])
    assert isinstance(streamed.x, np.memmap) and streamed.x.dtype == np.uint8
    np.testing.assert_array_equal(streamed.x, in_memory.x)
    np.testing.assert_array_equal(streamed.y, in_memory.y)
    with pytest.raises(BadData, match=r"floats in \[0, 1\].*x \* 255"):
        load_data(tf.data.Dataset.from_tensor_slices((IMAGES / 255.0, LABELS)), image_size=(8, 8))


def test_a_prepared_tfds_split_is_stored_once_and_reused(tmp_path, monkeypatch):
    with tfds.testing.mock_data(num_examples=60):  # every class of the ten appears
        first = load_data("tfds:mnist", image_size=(8, 8), data_dir=tmp_path, split="test")
        monkeypatch.setattr(
            "zoo.data.tensorflow_sources.stream_into_store", lambda *args: pytest.fail("streamed again")
        )
        second = load_data("tfds:mnist", image_size=(8, 8), data_dir=tmp_path, split="test")
    assert isinstance(first.x, np.memmap) and second.x.filename == first.x.filename
    np.testing.assert_array_equal(second.x, first.x)
    np.testing.assert_array_equal(second.y, first.y)


def test_streaming_holds_a_few_rows_not_the_dataset():
    import tracemalloc

    images = RNG.integers(0, 256, (400, 32, 32, 3), dtype=np.uint8)  # 1.2 MB decoded
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(400) % 2))
    tracemalloc.start()
    data = load_data(dataset, image_size=(32, 32))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(data.x, images)
    assert peak < images.nbytes / 4, f"{peak} bytes at the peak for {images.nbytes} of images"


def test_a_refused_stream_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path))
    def pairs():
        yield IMAGES[0], 0
        yield IMAGES[1][..., :2], 1  # two channels: refused after the first image was written

    spec = (tf.TensorSpec((10, 12, None), tf.uint8), tf.TensorSpec((), tf.int64))
    with pytest.raises(BadData, match="HxWx3 or HxWx4; got shape"):
        load_data(tf.data.Dataset.from_generator(pairs, output_signature=spec), image_size=(8, 8))
    assert not list(tmp_path.glob("*/images.u8*"))


@pytest.mark.parametrize("progress", [True, False])
def test_streaming_a_known_number_of_images_shows_progress_unless_asked_not_to(capsys, progress):
    images = RNG.integers(0, 256, (240, 4, 4, 3), dtype=np.uint8)  # past MIN_FILES: worth progress lines
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(240) % 2))
    load_data(dataset, image_size=(4, 4), progress=progress)
    lines = [line for line in capsys.readouterr().err.splitlines() if "fitting 240 images into the image store" in line]
    assert (lines[-1].endswith("s") and "240/240 done" in lines[-1]) if progress else lines == [], lines


def test_a_stream_that_does_not_fit_the_disk_is_refused_before_writing(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: type("Usage", (), {"free": 10})())
    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, LABELS))
    with pytest.raises(BadData, match=f"not enough disk for the image store of the tf.data.Dataset \\({len(IMAGES)}"):
        load_data(dataset, image_size=(8, 8))
    assert not list(tmp_path.glob("*/images.u8*"))
