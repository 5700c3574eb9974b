"""CSV files, DataFrames and path lists: Kaggle-style ids and extensions, string and integer labels, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from image_files import write_image

from zoo.data import load_data
from zoo.errors import BadData


def kaggle(tmp_path, rows, header="id,label", folder="train", ext=".png"):
    """tmp_path/labels.csv with `rows` (id, label) and each id's image in tmp_path/folder (with `ext`)."""
    lines = [header]
    for seed, (identifier, label) in enumerate(rows):
        lines.append(f"{identifier},{label}")
        if identifier:
            write_image(tmp_path / folder / f"{identifier}{ext}", seed=seed)
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "labels.csv"


@pytest.mark.parametrize("extension", [".png", "png"])
def test_ids_with_an_extension_appended_and_string_labels(tmp_path, extension):
    csv_path = kaggle(tmp_path, [("a1", "dog"), ("a2", "cat"), ("a3", "dog"), ("a4", "cat")])
    data = load_data(csv_path, image_size=(8, 8), image_dir=tmp_path / "train", extension=extension, progress=False)
    assert data.class_names == ("cat", "dog") and data.y.tolist() == [1, 0, 1, 0]
    assert data.files[0] == str(tmp_path / "train" / "a1.png") and data.x.shape == (4, 8, 8, 3)
    assert "CSV" in data.origin and "labels.csv" in data.origin


def test_file_names_without_extension_option_and_integer_labels(tmp_path):
    csv_path = kaggle(tmp_path, [("b.png", 1), ("c.png", 0), ("d.png", 2)], header="file,target", folder=".", ext="")
    data = load_data(csv_path, image_size=(8, 8), progress=False)  # image_dir defaults to the CSV's folder
    assert data.class_names == ("0", "1", "2") and data.y.tolist() == [1, 0, 2]
    named = load_data(csv_path, image_size=(8, 8), class_names=["ant", "bee", "cow"], progress=False)
    assert named.class_names == ("ant", "bee", "cow") and named.y.tolist() == [1, 0, 2]


def test_labels_that_name_class_names_map_by_name(tmp_path):
    csv_path = kaggle(tmp_path, [("a", "2"), ("b", "10")], folder=".")
    data = load_data(csv_path, image_size=(8, 8), class_names=["10", "2"], extension="png", progress=False)
    assert data.y.tolist() == [1, 0]


def test_rows_pointing_at_missing_files_give_count_examples_and_the_extension_fix(tmp_path):
    csv_path = kaggle(tmp_path, [(f"p{i}", "a" if i % 2 else "b") for i in range(8)], folder=".")
    with pytest.raises(BadData) as caught:
        load_data(csv_path, image_size=(8, 8), progress=False)
    message = str(caught.value)
    assert message.startswith("8 of 8 rows of CSV") and "point at files that do not exist" in message
    assert "line 2 (id 'p0')" in message and "line 6 (id 'p4')" in message and "and 3 more" in message
    assert "line 7" not in message  # five examples, not all
    assert "pass extension='.png'" in message


def test_missing_files_in_a_sub_folder_suggest_image_dir(tmp_path):
    csv_path = kaggle(tmp_path, [("x.png", "a"), ("y.png", "b")], folder="images", ext="")
    with pytest.raises(BadData, match=r"2 of 2 rows .* the files are in .*images: pass image_dir="):
        load_data(csv_path, image_size=(8, 8), progress=False)
    assert len(load_data(csv_path, image_size=(8, 8), image_dir=tmp_path / "images", progress=False)) == 2


def test_missing_labels_are_counted_and_located(tmp_path):
    csv_path = kaggle(tmp_path, [("a", "cat"), ("b", ""), ("c", "dog"), ("d", " ")], folder=".")
    with pytest.raises(BadData, match=r"2 rows of CSV .* have no label \(empty or NaN\): line 3 \(id 'b'\), line 5"):
        load_data(csv_path, image_size=(8, 8), extension=".png", progress=False)


@pytest.mark.parametrize(
    ("labels", "class_names", "expected"),
    [
        ([0, 1, 5], ["a", "b"], r"1 labels of .* are out of range \(class ids must be 0..1\): line 4 \(id 'r2'\) = 5"),
        ([0, -1, 1], None, r"out of range \(class ids must be 0..1\): line 3 \(id 'r1'\) = -1"),
        (["cat", "dog", "emu"], ["cat", "dog"], r"1 labels of .* are not among class_names .*line 4 \(id 'r2'\) 'emu'"),
        ([1, 2, 2], None, r"class '0' has no usable images .*counted from 0: labels 1..k need `labels - 1`"),
    ],
)
def test_bad_labels_are_refused_before_any_decoding(tmp_path, labels, class_names, expected):
    csv_path = kaggle(tmp_path, [(f"r{i}", label) for i, label in enumerate(labels)], folder=".")
    with pytest.raises(BadData, match=expected):
        load_data(csv_path, image_size=(8, 8), extension="png", class_names=class_names, progress=False)


def test_columns_are_found_by_convention_or_named(tmp_path):
    csv_path = kaggle(tmp_path, [("a", "x"), ("b", "y")], folder=".")
    csv_path.write_text("image_id,category,extra\na,x,3\nb,y,4\n")
    assert len(load_data(csv_path, image_size=(8, 8), extension=".png", progress=False)) == 2
    csv_path.write_text("name,kind,extra\na,x,3\nb,y,4\n")
    with pytest.raises(BadData, match=r"which column .* holds the file\? Its columns are \['name', 'kind', 'extra'\]"):
        load_data(csv_path, image_size=(8, 8), progress=False)
    data = load_data(csv_path, image_size=(8, 8), id_col="name", label_col="kind", extension=".png", progress=False)
    assert data.class_names == ("x", "y")
    with pytest.raises(BadData, match=r"no column 'file' in CSV .*; its columns are \['name', 'kind', 'extra'\]"):
        load_data(csv_path, image_size=(8, 8), id_col="file", label_col="kind", progress=False)


def test_bom_semicolons_blank_lines_and_encoding_problems(tmp_path):
    kaggle(tmp_path, [("a", "x"), ("b", "y")], folder=".")
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffid;label\r\na.png;x\r\nb.png;y\r\n\r\n".encode())
    assert load_data(path, image_size=(8, 8), progress=False).class_names == ("x", "y")
    path.write_bytes("id,label\na.png,caf\xe9\n".encode("latin-1"))
    with pytest.raises(BadData, match="is not UTF-8 text .*save it as UTF-8 CSV"):
        load_data(path, image_size=(8, 8), progress=False)
    path.write_text("")
    with pytest.raises(BadData, match="is empty: a CSV needs a header row"):
        load_data(path, image_size=(8, 8), progress=False)
    path.write_text("id,label\n")
    with pytest.raises(BadData, match="has no rows"):
        load_data(path, image_size=(8, 8), progress=False)


def test_fractional_labels_are_not_classes(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": ["a.png", "b.png", "c.png"], "label": [0.5, 1.0, 0.0]})
    with pytest.raises(BadData, match=r"1 labels of the DataFrame .* fractional numbers, not classes: row 0 .* = 0.5"):
        load_data(frame, image_size=(8, 8), image_dir=tmp_path, progress=False)


def test_a_pandas_data_frame_with_int_labels_and_nan(tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")
    for i in range(4):
        write_image(tmp_path / f"{i}.jpg", seed=i, fmt="JPEG")
    frame = pd.DataFrame({"image_id": [0, 1, 2, 3], "label": np.array([1, 0, 1, 0], dtype=np.int64)})
    data = load_data(frame, image_size=(8, 8), image_dir=tmp_path, extension="jpg", progress=False)
    assert data.class_names == ("0", "1") and data.y.tolist() == [1, 0, 1, 0] and "DataFrame" in data.origin
    monkeypatch.chdir(tmp_path)  # without image_dir, names are relative to the working folder
    frame = pd.DataFrame({"file": ["0.jpg", "1.jpg", "2.jpg"], "label": ["a", math.nan, "b"]})
    with pytest.raises(BadData, match=r"1 rows of the DataFrame column 'label' have no label .*row 1 \(id '1.jpg'\)"):
        load_data(frame, image_size=(8, 8), progress=False)


def test_any_data_frame_look_alike_works_without_pandas(tmp_path):
    class Column(list):
        def tolist(self):
            return list(self)

    class Frame:
        columns = ("path", "label")

        def __init__(self, table):
            self.table = table

        def __getitem__(self, name):
            return Column(self.table[name])

    paths = [str(write_image(tmp_path / f"{i}.png", seed=i)) for i in range(2)]  # absolute: image_dir not used
    data = load_data(Frame({"path": paths, "label": ["n", "m"]}), image_size=(8, 8), progress=False)
    assert data.class_names == ("m", "n") and data.files == tuple(paths)


def test_a_list_of_paths_with_labels(tmp_path):
    paths = [write_image(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    data = load_data(paths, labels=["b", "a", "b"], image_size=(8, 8), progress=False)
    assert data.y.tolist() == [1, 0, 1] and len(data.files) == 3
    assert load_data((paths, [0, 1, 1]), image_size=(8, 8), progress=False).class_names == ("0", "1")
    with pytest.raises(BadData, match="3 image paths but 2 labels"):
        load_data(paths, labels=["a", "b"], image_size=(8, 8), progress=False)


def csv_of(tmp_path, labels):
    """tmp_path/labels.csv of rows (i.png, label) whose images exist, labels written as given (CSV text)."""
    for i in range(len(labels)):
        write_image(tmp_path / f"{i}.png", seed=i)
    rows = "".join(f"{i}.png,{label}\n" for i, label in enumerate(labels))
    (tmp_path / "labels.csv").write_text("id,label\n" + rows, encoding="utf-8")
    return tmp_path / "labels.csv"


@pytest.mark.parametrize("source", ["csv", "paths", "array"])
def test_one_label_rule_for_every_source(tmp_path, source):
    """CSV text, a path list and a NumPy array of the same labels mean the same: 0.0/1.0 are classes 0 and 1,
    NaN is missing (rows named), 0.25 is refused with the regression command."""

    def load(labels):
        path = csv_of(tmp_path, labels)
        if source == "csv":
            return load_data(path, image_size=(8, 8), progress=False)
        files = [str(tmp_path / f"{i}.png") for i in range(len(labels))]
        values = labels if source == "paths" else np.asarray([float(label) for label in labels])
        return load_data(files, labels=values, image_size=(8, 8), progress=False)

    data = load(["0.0", "1.0", "1.0", "0.0"])
    assert data.class_names == ("0", "1") and data.y.tolist() == [0, 1, 1, 0]
    with pytest.raises(BadData, match=r"2 rows of .* have no label \(empty or NaN\): .*\b1\b.*\b3\b"):
        load(["0", "nan", "1", "NaN"])
    with pytest.raises(BadData, match=r"2 labels of .* fractional numbers, not classes: .*= 0.25.*= 1.7.*--task regr"):
        load(["0.25", "1.7", "1", "0"])


def test_text_that_names_a_class_stays_a_name(tmp_path):
    path = csv_of(tmp_path, ["1.5", "2.5"])
    data = load_data(path, image_size=(8, 8), class_names=["1.5", "2.5"], progress=False)
    assert data.y.tolist() == [0, 1]


def test_a_file_listed_twice_is_used_once_or_refused_when_its_labels_differ(tmp_path):
    path = csv_of(tmp_path, ["a", "b", "a", "b"])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("0.png,a\n./1.png,b\n")  # the same files again (one spelled differently), same labels
    data = load_data(path, image_size=(8, 8), progress=False)
    assert len(data) == 4 and len(set(data.files)) == 4
    assert "2 rows of CSV" in data.origin and "line 6 (id '0.png') (as line 2 (id '0.png'))" in data.origin
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("2.png,b\n")
    with pytest.raises(BadData, match=r"1 files of CSV .* different labels: line 4 .* = .a., line 8 .* .b."):
        load_data(path, image_size=(8, 8), progress=False)
