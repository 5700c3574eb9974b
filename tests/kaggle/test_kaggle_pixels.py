"""Pixel columns read as images (Digit Recognizer's format): square and given shapes, 0-255 and 0-1 values, the
PNG folder's trust on read, and one competition from CSVs to a template-exact submission in two commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kaggle_data import pixel_competition, read_rows, write_csv

from zoo.cli.main import main
from zoo.data.decoding.pixel_columns import FINISHED, find_layout, pixel_files
from zoo.errors import BadData
from zoo.kaggle.task.inputs import input_spec, load_images
from zoo.kaggle.task.run_config import RunSettings
from zoo.kaggle.task.tables import read_table


def layout_of(path, prefix=None, shape=None):
    table = read_table(path)
    return find_layout(table.columns, lambda names: [table.cells[n] for n in names], prefix, shape)


def run_images(competition, model="mlp_digits", **options):
    """The images a run on `competition`'s train.csv trains on (uint8, at the model's input size)."""
    table = read_table(competition.train_csv)
    settings = RunSettings(str(competition.train_csv), "unused", None, ("label",), model=model, **options)
    spec = input_spec(settings, table)
    return spec, load_images(spec, table.row_ids(), settings.images_table, table, progress=False)[1]


def test_square_pixel_columns_in_either_range_are_the_same_grey_images(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    bytes_ = pixel_competition(tmp_path / "bytes", count=60)
    unit = pixel_competition(tmp_path / "unit", count=60, scale=1)
    assert layout_of(bytes_.train_csv).shape == (8, 8, 1) and layout_of(bytes_.train_csv).scale == 255
    assert layout_of(unit.train_csv).scale == 1
    spec, from_bytes = run_images(bytes_)
    _, from_unit = run_images(unit)
    assert spec.kind == "images" and spec.pixels.columns[0] == "pixel0" and from_bytes.shape == (45, 8, 8, 1)
    assert np.abs(from_bytes.astype(int) - from_unit.astype(int)).max() <= 1  # 0-1 written with 4 decimals
    assert from_bytes.max() > 200  # 0-255 values kept as they are, not scaled again


def test_a_given_shape_and_prefix_read_rgb_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(6, 2 * 4 * 3))
    columns = [f"px{j + 1}" for j in range(pixels.shape[1])]  # numbered from 1, as Sign Language MNIST is
    write_csv(tmp_path / "train.csv", ["label", *columns], [[i % 2, *row] for i, row in enumerate(pixels)])
    layout = layout_of(tmp_path / "train.csv", "px", "2x4x3")
    assert layout.shape == (2, 4, 3) and layout.columns[:2] == ("px1", "px2")
    table = read_table(tmp_path / "train.csv")
    files = pixel_files([table.cells[c] for c in layout.columns], layout, tmp_path / "store")
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(files[3])), pixels[3].reshape(2, 4, 3))
    with pytest.raises(BadData, match="--pixel-shape 3x3 holds 9 values"):
        layout_of(tmp_path / "train.csv", "px", "3x3")
    with pytest.raises(BadData, match="24 pxN columns are not a square image"):
        layout_of(tmp_path / "train.csv", "px")


def test_pixel_values_outside_the_range_and_gaps_are_refused(tmp_path):
    write_csv(tmp_path / "a.csv", ["label", "pixel0", "pixel1", "pixel3"], [[0, 1, 2, 3]])
    assert layout_of(tmp_path / "a.csv") is None  # three pixelN columns found alone are features, not an image
    with pytest.raises(BadData, match="without gaps.*--tabular"):
        layout_of(tmp_path / "a.csv", "pixel")
    write_csv(tmp_path / "b.csv", ["label", *[f"pixel{j}" for j in range(16)]], [[0, *range(15), 300]])
    with pytest.raises(BadData, match="'pixel15' row 1 holds 300, outside 0-255"):
        layout_of(tmp_path / "b.csv")
    write_csv(tmp_path / "c.csv", ["label", "f0"], [[0, 1]])
    assert layout_of(tmp_path / "c.csv") is None
    with pytest.raises(BadData, match="--pixel-cols img: no columns named img0"):
        layout_of(tmp_path / "c.csv", "img")


def test_a_damaged_png_folder_is_written_again(tmp_path):
    write_csv(tmp_path / "t.csv", [f"pixel{j}" for j in range(4)], [[0, 64, 128, 255], [1, 2, 3, 4]])
    layout = layout_of(tmp_path / "t.csv", "pixel")
    cells = [read_table(tmp_path / "t.csv").cells[c] for c in layout.columns]
    files = pixel_files(cells, layout, tmp_path / "store")
    written = [open(f, "rb").read() for f in files]
    with open(files[0], "wb") as handle:
        handle.write(b"damaged")
    assert pixel_files(cells, layout, tmp_path / "store") == files
    assert [open(f, "rb").read() for f in files] == written
    meta = json.loads((tmp_path / "store" / files[0].split("/")[-2] / FINISHED).read_text())
    assert meta["count"] == 2


def test_tabular_reads_pixel_columns_as_features_and_an_image_model_without_images_is_refused(tmp_path, capsys):
    competition = pixel_competition(tmp_path / "c", count=40)
    table = read_table(competition.train_csv)
    settings = RunSettings(str(competition.train_csv), "x", None, ("label",), tabular=True)
    assert input_spec(settings, table).kind == "tabular" and len(input_spec(settings, table).features) == 64
    write_csv(tmp_path / "plain.csv", ["label", "f0", "f1"], [[i % 2, i, -i] for i in range(8)])
    out = tmp_path / "run"
    argv = ["kaggle", "train", "--train-csv", str(tmp_path / "plain.csv"), "--target-col", "label"]
    assert main([*argv, "--model", "vgg_small", "--out", str(out)]) == 2
    assert "vgg_small takes images" in capsys.readouterr().err and not out.exists()  # refused before any folder
    assert main([*argv, "--model", "conv_ae", "--out", str(out)]) == 2
    assert "no classifier head" in capsys.readouterr().err and not out.exists()


def test_digit_recognizer_format_from_csvs_to_a_template_exact_submission(tmp_path, monkeypatch, capsys):
    """One `zoo kaggle train` and one `zoo kaggle predict` on pixel0..63 without ids and a CRLF ImageId,Label
    template give that template's header, ids, order and line endings, and labels a CNN learnt from the pixels."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    competition = pixel_competition(tmp_path / "digits", count=400)
    template = competition.sample_submission
    template.write_bytes(template.read_bytes().replace(b"\n", b"\r\n"))
    run, submission = tmp_path / "run", tmp_path / "submission.csv"
    train = ["kaggle", "train", "--train-csv", str(competition.train_csv), "--target-col", "Label"]
    assert main([*train, "--model", "lenet5", "--folds", "2", "--epochs", "6", "--out", str(run)]) == 0
    said = capsys.readouterr().out
    assert "no id column: rows are numbered 1..300" in said and "took column 'label'" in said
    assert "pixel0..pixel63 read as 8x8 grey images, values 0-255" in said
    predict = ["kaggle", "predict", "--run", str(run), "--test-csv", str(competition.test_csv)]
    assert main([*predict, "--template", str(template), "--out", str(submission), "--tta", "2"]) == 0
    assert "template's 100 ids are matched to its rows by order" in capsys.readouterr().out
    assert submission.read_bytes().startswith(b"ImageId,Label\r\n1,")
    header, rows = read_rows(submission)
    assert header == ["ImageId", "Label"] and [row[0] for row in rows] == competition.test_ids
    right = np.mean([row[1] == label for row, label in zip(rows, competition.test_labels, strict=True)])
    assert right >= 0.8
    short = tmp_path / "short.csv"
    short.write_text("ImageId,Label\n1,0\n2,0\n")
    assert main([*predict, "--template", str(short), "--out", str(tmp_path / "s2.csv")]) == 2
    assert "has 2 rows and the test data 100" in capsys.readouterr().err


def test_test_rows_without_the_runs_pixel_columns_are_refused_with_the_fix(tmp_path):
    from zoo.data.decoding.pixel_columns import PixelLayout
    from zoo.kaggle.task.inputs import InputSpec, row_files

    write_csv(tmp_path / "sample_submission.csv", ["ImageId", "Label"], [[1, 0]])
    spec = InputSpec("images", (8, 8, 1), pixels=PixelLayout(tuple(f"pixel{j}" for j in range(64)), (8, 8, 1), 255))
    with pytest.raises(BadData, match="lacks 64 of the run's pixel columns .* pass the test CSV that holds them"):
        row_files(spec, read_table(tmp_path / "sample_submission.csv"), ["1"], None)


def pixel_folder(tmp_path, rows):
    """A pixel folder of `rows` 2x2 grey images under tmp_path/store: (its files, the cells and layout)."""
    write_csv(tmp_path / f"t{len(rows)}.csv", [f"pixel{j}" for j in range(4)], rows)
    layout = layout_of(tmp_path / f"t{len(rows)}.csv", "pixel")
    cells = [read_table(tmp_path / f"t{len(rows)}.csv").cells[c] for c in layout.columns]
    return pixel_files(cells, layout, tmp_path / "store"), cells, layout


def test_pixel_folders_are_sealed_checked_by_cache_verify_and_repaired(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from zoo.sealed import check_sealed

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    files, _, _ = pixel_folder(tmp_path, [[0, 64, 128, 255], [1, 2, 3, 4]])
    folder = Path(files[0]).parent
    check_sealed(folder / FINISHED)  # pixels.json carries a seal
    assert main(["cache", "verify", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert not [row for row in rows if row["state"] != "good" and "pixels-" in row["path"]]
    with open(files[1], "r+b") as handle:  # one byte changed, size kept
        handle.seek(-5, 2)
        handle.write(b"\x00")
    assert main(["cache", "verify"]) == 1
    assert str(folder) in capsys.readouterr().out
    assert main(["cache", "verify", "--repair"]) == 0 and not folder.exists()


def test_pixel_folders_fall_under_the_image_store_cap(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    monkeypatch.setenv("ZOO_IMAGE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ZOO_IMAGE_STORE_MAX_GB", "0")  # only the folder in use is kept
    first, _, _ = pixel_folder(tmp_path, [[0, 64, 128, 255], [1, 2, 3, 4]])
    second, _, _ = pixel_folder(tmp_path, [[9, 64, 128, 255], [1, 2, 3, 4], [5, 6, 7, 8]])
    assert not Path(first[0]).parent.exists() and all(Path(f).exists() for f in second)
    assert "removed 1 least recently used" in capsys.readouterr().err
