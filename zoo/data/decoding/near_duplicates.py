"""Near-duplicate images by a difference hash: 64 bits saying, on a 9x8 grey thumbnail, whether each pixel is
brighter than its right neighbour (Krawetz, "Kind of Like That", 2013). Re-encoded, resized or slightly recoloured
copies differ in a few bits; pairs within THRESHOLD bits are then confirmed on 16x16 grey thumbnails (mean absolute
difference <= PIXEL_TOLERANCE), because on simple images (digits) many different pictures share a hash.

Why it matters: a near-copy split across folds (or across train and test) inflates the CV score. k-fold keeps each
group in one fold; `zoo doctor` lists the groups and the train images that nearly copy a test image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

THRESHOLD = 4  # bits of 64
PIXEL_TOLERANCE = 4.0  # of 255; measured on sklearn's digits: a JPEG re-save differs by < 2, other digits by > 8
THUMBNAIL = 16
SHOWN = 10  # groups and pairs listed in the text report (the JSON has them all)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
CHUNK = 2048  # rows of the pairwise distance matrix computed at once (memory: CHUNK x n bytes)


@dataclass(frozen=True)
class Fingerprints:
    """Each image's difference hash and grey thumbnail."""

    hashes: np.ndarray  # uint64
    thumbnails: np.ndarray  # (n, THUMBNAIL * THUMBNAIL) float32


def fingerprints(files: Sequence[str]) -> Fingerprints:
    """The difference hash and thumbnail of every image file."""
    from PIL import Image

    values, thumbnails = [], []
    for file in files:
        with Image.open(file) as image:
            grey = image.convert("L")
        small = np.asarray(grey.resize((9, 8), Image.BILINEAR), dtype=np.int16)
        values.append(int(np.packbits((small[:, 1:] > small[:, :-1]).flatten()).view(">u8")[0]))
        thumbnails.append(np.asarray(grey.resize((THUMBNAIL, THUMBNAIL), Image.BILINEAR), dtype=np.float32).ravel())
    shape = (len(values), THUMBNAIL * THUMBNAIL)
    return Fingerprints(np.array(values, dtype=np.uint64), np.array(thumbnails).reshape(shape))


def close_pairs(left: Fingerprints, right: Fingerprints, threshold: int = THRESHOLD) -> list[tuple[int, int]]:
    """(i, j) whose images nearly match; pass the same Fingerprints twice for pairs within one set (then i < j)."""
    same = left is right
    pairs = []
    for start in range(0, len(left.hashes), CHUNK):
        block = left.hashes[start : start + CHUNK, None] ^ right.hashes[None, :]
        rows, cols = np.nonzero(np.bitwise_count(block) <= threshold)
        rows = rows + start
        keep = rows < cols if same else np.ones(len(rows), dtype=bool)
        rows, cols = rows[keep], cols[keep]
        gap = np.abs(left.thumbnails[rows] - right.thumbnails[cols]).mean(axis=1)
        pairs += list(zip(rows[gap <= PIXEL_TOLERANCE].tolist(), cols[gap <= PIXEL_TOLERANCE].tolist(), strict=True))
    return pairs


def duplicate_groups(found: Fingerprints, threshold: int = THRESHOLD) -> np.ndarray:
    """A group id per image: images linked by a chain of close pairs share one (union-find)."""
    parent = np.arange(len(found.hashes))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in close_pairs(found, found, threshold):
        parent[root(i)] = root(j)
    return np.array([root(i) for i in range(len(parent))])


def near_duplicates(
    train: Sequence[str], test: Sequence[str] = (), threshold: int = THRESHOLD
) -> dict[str, list[list[str]]]:
    """What `zoo doctor` reports: groups of near-identical train images, and (train, test) image pairs."""
    train_hashes = fingerprints(train)
    groups = duplicate_groups(train_hashes, threshold)
    members: dict[int, list[str]] = {}
    for file, group in zip(train, groups.tolist(), strict=True):
        members.setdefault(group, []).append(str(file))
    within = [files for files in members.values() if len(files) > 1]
    across = [[str(train[i]), str(test[j])] for i, j in close_pairs(train_hashes, fingerprints(test), threshold)]
    return {"within_train": within, "train_test": across}


def image_files_in(folder: str | Path) -> list[str]:
    """The image files directly in `folder` (a competition's test folder), by name."""
    return [str(path) for path in sorted(Path(folder).iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]


def near_duplicate_lines(found: dict[str, list[list[str]]]) -> list[str]:
    """The doctor's text for near_duplicates(): how many groups and pairs, and the first few."""
    lines = []
    if found.get("within_train"):
        lines.append(f"near-duplicates ({len(found['within_train'])} groups; k-fold keeps each group in one fold):")
        lines += [f"  {', '.join(group)}" for group in found["within_train"][:SHOWN]]
    if found.get("train_test"):
        lines.append(f"train images nearly copying a test image ({len(found['train_test'])}; leakage):")
        lines += [f"  {train} ~ {test}" for train, test in found["train_test"][:SHOWN]]
    return lines
