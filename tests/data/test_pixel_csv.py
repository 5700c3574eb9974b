"""`zoo finetune train.csv` on a Digit-Recognizer-format CSV: the pixel columns are the images, the label column
their classes, through the same listing, store and checks as image files."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.datasets import load_digits

from zoo.data import load_data
from zoo.errors import BadData


def write_pixel_csv(path, count: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    pixels, labels = digits.data[:count] / 16 * scale, digits.target[:count]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Label", *[f"pixel{j}" for j in range(64)]])
        writer.writerows([[int(y), *(f"{v:g}" for v in row)] for y, row in zip(labels, pixels, strict=True)])
    return pixels, labels


@pytest.mark.parametrize("scale", [255, 1])
def test_pixel_columns_load_as_grey_images_with_their_labels(tmp_path, scale):
    pixels, labels = write_pixel_csv(tmp_path / "train.csv", 30, scale)
    data = load_data(str(tmp_path / "train.csv"), image_size=(8, 8), channels=1, progress=False)
    assert data.x.shape == (30, 8, 8, 1) and data.class_names == tuple(str(c) for c in range(10))
    assert data.y.tolist() == labels.tolist()
    expected = np.rint(pixels / scale * 255).reshape(30, 8, 8, 1)
    assert np.abs(data.x.astype(float) - expected).max() <= 1
    assert "pixel0..pixel63 read as 8x8 grey images" in data.origin


def test_a_pixel_csv_with_text_in_a_pixel_cell_is_refused_by_cell(tmp_path):
    write_pixel_csv(tmp_path / "train.csv", 5, 255)
    text = (tmp_path / "train.csv").read_text().splitlines()
    text[3] = text[3].replace(",0,", ",x,", 1)
    (tmp_path / "train.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(BadData, match="row 3 holds 'x', not a number"):
        load_data(str(tmp_path / "train.csv"), image_size=(8, 8), channels=1, progress=False)


def test_pixel_columns_given_by_prefix_and_shape(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(12, 4 * 16))
    with open(tmp_path / "train.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", *[f"px{j + 1}" for j in range(64)]])
        writer.writerows([["ab"[i % 2], *row] for i, row in enumerate(pixels)])
    with pytest.raises(BadData, match="64 pixelN columns|no columns"):
        load_data(str(tmp_path / "train.csv"), image_size=(4, 16), channels=1, progress=False, pixel_cols="pixel")
    data = load_data(
        str(tmp_path / "train.csv"), image_size=(4, 16), channels=1, progress=False, pixel_cols="px", pixel_shape="4x16"
    )
    assert data.class_names == ("a", "b") and np.array_equal(data.x[:, :, :, 0], pixels.reshape(12, 4, 16))


@pytest.mark.slow  # about 40 s on 2 busy cores: TensorFlow's start, a model build and one epoch
def test_zoo_finetune_trains_on_pixel_columns_from_the_command_line(tmp_path, capsys):
    import json

    from zoo.cli.main import main

    (tmp_path / "data").mkdir()
    write_pixel_csv(tmp_path / "data" / "train.csv", 80, 255)
    out = tmp_path / "run"
    argv = ["finetune", "mlp_digits", str(tmp_path / "data" / "train.csv"), "--epochs", "1", "--export", "keras"]
    assert main([*argv, "--batch-size", "16", "--out", str(out)]) == 0
    assert "pixel0..pixel63 read as 8x8 grey images, values 0-255" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["classes"] == [str(c) for c in range(10)] and (out / "model.keras").is_file()
