"""Multi-label tables: space-separated tags (multi_label=True) and several 0/1 columns read to the same 0/1 rows,
bad cells refused with the rows named, and a split that keeps every label on both sides."""

from __future__ import annotations

import numpy as np
import pytest
from multilabel_data import LABELS, multilabel_images

from zoo.data import load_data, stratified_split
from zoo.errors import BadData


def test_tags_and_columns_give_the_same_labels(tmp_path):
    y = multilabel_images(tmp_path, 16)
    tags = load_data(tmp_path / "tags.csv", image_size=(32, 32), channels=1, multi_label=True, progress=False)
    columns = load_data(
        tmp_path / "columns.csv", image_size=(32, 32), channels=1, label_col="left,low,right", progress=False
    )
    assert tags.class_names == columns.class_names == LABELS
    assert tags.multilabel and columns.multilabel
    np.testing.assert_array_equal(tags.y, y)
    np.testing.assert_array_equal(columns.y, y)
    assert list(tags.counts()) == list(y.sum(axis=0))


def test_a_cell_that_is_not_0_or_1_is_refused_naming_its_row(tmp_path):
    multilabel_images(tmp_path, 8)
    path = tmp_path / "columns.csv"
    path.write_text(path.read_text().replace("001.png,1,0,0", "001.png,2,0,0"))
    with pytest.raises(BadData, match=r"values other than 0 and 1: line 3 .*'001.png'"):
        load_data(path, image_size=(32, 32), channels=1, label_col="left,low,right", progress=False)


def test_tags_read_as_classes_say_how_to_read_them_as_tags(tmp_path):
    multilabel_images(tmp_path, 8)
    path = tmp_path / "tags.csv"
    path.write_text(path.read_text().replace("000.png,\n", ""))  # the empty row (single-label needs a label)
    data = load_data(path, image_size=(32, 32), channels=1, progress=False)
    assert not data.multilabel and "left low" in data.class_names
    assert "pass multi_label=True (--multi-label)" in data.origin


def test_the_split_keeps_every_label_on_both_sides(tmp_path):
    multilabel_images(tmp_path, 36)
    data = load_data(tmp_path / "tags.csv", image_size=(32, 32), channels=1, multi_label=True, progress=False)
    for seed in range(5):
        train, val = stratified_split(data, 0.2, seed)
        assert len(train) + len(val) == len(data)
        assert set(train.files).isdisjoint(val.files)
        assert train.counts().min() > 0 and val.counts().min() > 0
        assert 0.1 < len(val) / len(data) < 0.35


def test_a_tag_in_fewer_than_two_rows_is_refused_by_name(tmp_path):
    multilabel_images(tmp_path, 8)
    path = tmp_path / "tags.csv"
    path.write_text(path.read_text().replace("007.png,left low right", "007.png,left low right rare"))
    data = load_data(path, image_size=(32, 32), channels=1, multi_label=True, progress=False)
    with pytest.raises(BadData, match=r"labels 'rare' \(1\) appear in fewer than 2 rows"):
        stratified_split(data, 0.2, 0)


def test_doctor_counts_images_once_and_each_label(tmp_path):
    from zoo.data.doctor import diagnose

    y = multilabel_images(tmp_path, 16)
    report = diagnose(tmp_path / "tags.csv", multi_label=True, progress=False)
    assert report.to_json()["usable"] == 16 and list(report.counts) == list(y.sum(axis=0))
    assert "files: 16 (16 usable, 0 skipped)" in str(report) and "classes (images):" in str(report)
