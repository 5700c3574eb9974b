"""A folder of class sub-folders: what is read, what is ignored, the clear errors, and that nothing is written."""

from __future__ import annotations

import os

import numpy as np
import pytest
from image_files import snapshot, write_image
from PIL import Image

from zoo.data import diagnose, load_data, stratified_split, write_skipped_csv
from zoo.errors import BadData


def test_classes_are_sorted_folder_names_and_pixels_match_the_files(classes):
    root = classes({"dog": 2, "cat": 3})
    data = load_data(root, image_size=None, progress=False)
    assert data.class_names == ("cat", "dog")
    assert data.y.tolist() == [0, 0, 0, 1, 1] and data.y.dtype == np.int64
    assert data.x.shape == (5, 10, 12, 3) and data.x.dtype == np.uint8
    assert data.files[3].endswith(os.path.join("dog", "0.png"))
    np.testing.assert_array_equal(data.x[3], np.asarray(Image.open(root / "dog" / "0.png").convert("RGB")))
    assert data.skipped == () and "folder" in data.origin and "5 images" in data.origin


def test_clutter_is_ignored_and_nested_folders_are_read(classes):
    root = classes({"cat": 2, "dog": 2})
    write_image(root / ".DS_Store")  # even an image: hidden files are clutter
    write_image(root / "cat" / "._0.png")  # macOS AppleDouble twin
    write_image(root / "cat" / ".ipynb_checkpoints" / "0-checkpoint.png")
    write_image(root / "__MACOSX" / "cat" / "0.png")
    write_image(root / ".hidden_class" / "0.png")
    write_image(root / "dog" / "Thumbs.db")
    write_image(root / "dog" / "more" / "deep.png", seed=99)
    data = load_data(root, image_size=(8, 8), progress=False)
    assert data.class_names == ("cat", "dog")
    assert len(data) == 5 and data.skipped == ()
    assert any(file.endswith(os.path.join("more", "deep.png")) for file in data.files)


def test_mixed_sizes_are_fitted_or_refused_with_the_fix(classes):
    root = classes({"cat": 2, "dog": 2})
    write_image(root / "dog" / "big.png", size=(40, 20), seed=7)
    data = load_data(root, image_size=(16, 24), progress=False)
    assert data.x.shape == (5, 16, 24, 3)
    with pytest.raises(BadData, match=r"different sizes.*image_size=\(height, width\)"):
        load_data(root, image_size=None, progress=False)


def test_one_channel_is_pillows_grey(classes):
    root = classes({"cat": 2, "dog": 2})
    data = load_data(root, image_size=None, channels=1, progress=False)
    assert data.x.shape == (4, 10, 12, 1)
    grey = np.asarray(Image.open(root / "cat" / "0.png").convert("L"))
    np.testing.assert_array_equal(data.x[0, ..., 0], grey)
    with pytest.raises(BadData, match="channels must be 1"):
        load_data(root, image_size=None, channels=4, progress=False)


def test_an_empty_class_folder_is_named(classes):
    root = classes({"cat": 2, "dog": 2})
    (root / "fish").mkdir()
    (root / "fish" / ".DS_Store").write_bytes(b"\0")  # clutter does not count as content
    with pytest.raises(BadData, match=r"class 'fish' has no files: .*fish; add its images or remove the class"):
        load_data(root, image_size=(8, 8), progress=False)


def test_a_single_class_says_a_classifier_needs_two(classes):
    root = classes({"train": 3})
    with pytest.raises(BadData, match=r"only one class \('train'\).*at least two.*if .*train holds the class folders"):
        load_data(root, image_size=(8, 8), progress=False)


def test_no_class_folders_or_no_images_at_all(tmp_path, classes):
    loose = tmp_path / "loose"
    write_image(loose / "a.png")
    with pytest.raises(BadData, match=r"no class sub-folders \(it holds 1 files directly\)"):
        load_data(loose, image_size=(8, 8), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadData, match=r"no class sub-folders \(it is empty\)"):
        load_data(tmp_path / "empty", image_size=(8, 8), progress=False)
    texts = tmp_path / "texts"
    for name in ("a", "b"):
        (texts / name).mkdir(parents=True)
        (texts / name / "readme.txt").write_text("not an image")
    with pytest.raises(BadData, match=r"no usable images in folder .*texts: all 2 files were skipped"):
        load_data(texts, image_size=(8, 8), progress=False)
    (tmp_path / "hollow" / "a").mkdir(parents=True)
    (tmp_path / "hollow" / "b").mkdir(parents=True)
    with pytest.raises(BadData, match="no files in any class folder"):
        load_data(tmp_path / "hollow", image_size=(8, 8), progress=False)


def test_a_class_whose_files_are_all_unreadable_is_named(classes):
    root = classes({"cat": 2, "dog": 0})
    (root / "dog" / "a.jpg").write_bytes(b"")
    with pytest.raises(BadData, match=r"class 'dog' has no usable images"):
        load_data(root, image_size=(8, 8), progress=False)


def test_class_names_set_the_order_and_must_cover_every_folder(classes):
    root = classes({"cat": 2, "dog": 2})
    data = load_data(root, image_size=(8, 8), class_names=["dog", "cat"], progress=False)
    assert data.class_names == ("dog", "cat") and data.y.tolist() == [0, 0, 1, 1]
    assert f"{os.sep}dog{os.sep}" in data.files[0] and f"{os.sep}cat{os.sep}" in data.files[2]
    with pytest.raises(BadData, match=r"class folders \['dog'\] .* are not in class_names"):
        load_data(root, image_size=(8, 8), class_names=["cat", "bird"], progress=False)


def test_missing_path_and_non_csv_file_are_refused(tmp_path):
    with pytest.raises(BadData, match="no such folder or file: .*nowhere/x"):
        load_data(tmp_path / "nowhere" / "x", image_size=(8, 8), progress=False)
    photo = write_image(tmp_path / "photo.png")
    with pytest.raises(BadData, match="is a file but not a CSV"):
        load_data(photo, image_size=(8, 8), progress=False)


def test_non_ascii_and_non_utf8_names_load_or_are_reported_by_path(classes, tmp_path):
    root = classes({"chat": 2, "犬": 2})
    write_image(root / "chat" / "café.png", seed=50)
    good = os.path.join(os.fsencode(root / "chat"), b"caf\xe9-latin1.png")  # not valid UTF-8
    bad = os.path.join(os.fsencode(root / "chat"), b"broken-\xff.jpg")
    source = (root / "chat" / "café.png").read_bytes()
    for path, content in ((good, source), (bad, b"\xff\xd8\xff\xe0 truncated")):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(handle, content)
        os.close(handle)
    data = load_data(root, image_size=(8, 8), progress=False)
    assert data.class_names == ("chat", "犬") and len(data) == 6
    assert any(file.endswith("caf\\xe9-latin1.png") for file in data.files)
    assert any(file.endswith("café.png") for file in data.files)
    assert [item.file.rsplit(os.sep, 1)[-1] for item in data.skipped] == ["broken-\\xff.jpg"]
    out = tmp_path / "out" / "skipped.csv"
    write_skipped_csv(data.skipped, out)  # printable names: writing them as UTF-8 cannot fail
    assert "broken-\\xff.jpg" in out.read_text(encoding="utf-8")


def test_nothing_in_the_users_folder_is_written_or_moved(classes, tmp_path):
    root = classes({"cat": 3, "dog": 3})
    (root / "cat" / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    write_image(root / "dog" / "other.png", size=(30, 20), seed=5)
    before = snapshot(root)
    data = load_data(root, image_size=(8, 8), progress=False)
    stratified_split(data, 0.3, seed=1)
    diagnose(root, progress=False)
    write_skipped_csv(data.skipped, tmp_path / "report" / "skipped.csv")
    assert snapshot(root) == before


def test_a_bare_name_that_is_no_path_and_no_tfds_dataset_fails_fast(tmp_path, monkeypatch):

    import zoo.data.sources

    def no_lookup(*args, **kwargs):
        raise AssertionError("a name TFDS does not know must not reach the TFDS reader (a network lookup)")

    monkeypatch.setattr(zoo.data.sources, "tfds_split", no_lookup)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadData, match="no folder or file named 'nothere', and no TensorFlow Datasets dataset"):
        load_data("nothere", image_size=(8, 8), progress=False)  # `no_lookup` fails the test on a network lookup
