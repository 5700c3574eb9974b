"""Competition-shaped folders made from scikit-learn's bundled digits: what a Kaggle download looks like.

Images: train/ and test/ folders of RGB PNG files named img_0001.png ..., train.csv (id,label), test.csv (id) and
sample_submission.csv (id,label). Tabular: the 64 pixel values as columns plus a categorical column, and a
sample_submission.csv with a probability column per class (a log-loss competition).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@dataclass(frozen=True)
class Competition:
    """Paths of a competition folder and the test answers (kept out of it, to score a submission)."""

    root: Path
    train_csv: Path
    test_csv: Path
    sample_submission: Path
    train_images: Path | None
    test_images: Path | None
    test_ids: list[str]
    test_labels: list[str]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def digits_split(count: int | None, seed: int) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
    """(images 0..16, labels, ids, train rows, test rows): a stratified 75/25 split of the first `count` digits."""
    digits = load_digits()
    images, labels = digits.images[:count], digits.target[:count]
    ids = [f"img_{i + 1:04d}" for i in range(len(labels))]
    train, test = train_test_split(np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=seed)
    return images, labels, ids, np.sort(train), np.sort(test)


def image_competition(root: Path, count: int | None = None, size: int = 32, seed: int = 0) -> Competition:
    """Digits as size x size RGB PNG files in train/ and test/, with the CSV files of a Kaggle image competition."""
    images, labels, ids, train, test = digits_split(count, seed)
    for folder, rows in (("train", train), ("test", test)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in rows:
            grey = Image.fromarray((images[i] * (255 / 16)).astype(np.uint8)).resize((size, size), Image.BILINEAR)
            grey.convert("RGB").save(root / folder / f"{ids[i]}.png")
    write_csv(root / "train.csv", ["id", "label"], [[ids[i], int(labels[i])] for i in train])
    write_csv(root / "test.csv", ["id"], [[ids[i]] for i in test])
    write_csv(root / "sample_submission.csv", ["id", "label"], [[ids[i], 0] for i in test])
    csvs = (root / "train.csv", root / "test.csv", root / "sample_submission.csv")
    return Competition(
        root, *csvs, root / "train", root / "test", [ids[i] for i in test], [str(labels[i]) for i in test]
    )


def tabular_competition(root: Path, count: int | None = None, seed: int = 0) -> Competition:
    """Digits' 64 pixels as numeric columns px0..px63 plus 'ink' (light / medium / heavy: total ink terciles)."""
    images, labels, ids, train, test = digits_split(count, seed)
    flat = images.reshape(len(images), -1)
    ink = np.digitize(flat.sum(axis=1), np.quantile(flat.sum(axis=1), [1 / 3, 2 / 3]))
    names = np.array(["light", "medium", "heavy"])[ink]
    features = [f"px{j}" for j in range(flat.shape[1])]
    root.mkdir(parents=True, exist_ok=True)
    rows = {i: [ids[i], *(int(v) for v in flat[i]), names[i]] for i in range(len(ids))}
    write_csv(root / "train.csv", ["id", *features, "ink", "label"], [[*rows[i], int(labels[i])] for i in train])
    write_csv(root / "test.csv", ["id", *features, "ink"], [rows[i] for i in test])
    # scored by log loss: one probability column per class, as Kaggle's multi-class templates have
    classes = [str(c) for c in range(10)]
    write_csv(root / "sample_submission.csv", ["id", *classes], [[ids[i], *[0.1] * 10] for i in test])
    csvs = (root / "train.csv", root / "test.csv", root / "sample_submission.csv")
    return Competition(root, *csvs, None, None, [ids[i] for i in test], [str(labels[i]) for i in test])


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV's header and rows, as text."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def pixel_competition(
    root: Path, count: int | None = None, seed: int = 0, *, scale: int = 255, prefix: str = "pixel"
) -> Competition:
    """Digit Recognizer's format: train.csv label,pixel0..63 (0-255, or 0-1 with scale=1), test.csv the pixels only
    (no id column), sample_submission.csv ImageId,Label with ImageId 1..N in test row order."""
    images, labels, _, train, test = digits_split(count, seed)
    flat = images.reshape(len(images), -1) / 16 * scale
    cells = np.rint(flat).astype(int).astype(str) if scale == 255 else np.char.mod("%.4f", flat)
    columns = [f"{prefix}{j}" for j in range(flat.shape[1])]
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "train.csv", ["label", *columns], [[int(labels[i]), *cells[i]] for i in train])
    write_csv(root / "test.csv", columns, [list(cells[i]) for i in test])
    image_ids = [str(n) for n in range(1, len(test) + 1)]
    write_csv(root / "sample_submission.csv", ["ImageId", "Label"], [[n, 0] for n in image_ids])
    csvs = (root / "train.csv", root / "test.csv", root / "sample_submission.csv")
    return Competition(root, *csvs, None, None, image_ids, [str(labels[i]) for i in test])
