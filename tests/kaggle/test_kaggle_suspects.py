"""The mislabel finder: deliberately flipped labels rank in the top 5% of suspect_labels.csv.

Measured (seed 0, 9 of 450 digit labels flipped, LeNet-5, 3 folds x 4 epochs): all 9 in the top 5% (22 rows); 5 rows
flagged by confident learning, all 5 flipped.
"""

from __future__ import annotations

import numpy as np
from kaggle_data import read_rows
from PIL import Image

from zoo.kaggle.cv.suspects import rank_suspects

TOP_SHARE, FOUND_BAR = 0.05, 0.8


def test_confident_learning_flags_a_row_another_class_claims():
    y = np.array([0, 0, 0, 1, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    found = rank_suspects(y, probabilities)
    assert found.rows[0] == 2 and found.flagged.tolist() == [True, False, False, False, False, False]
    assert found.suggested[0] == 1 and found.p_label[0] == 0.1
    assert sorted(found.rows.tolist()) == list(range(6))  # every row ranked


def test_flipped_labels_rank_in_the_top_five_percent(flipped_runs):
    header, rows = read_rows(flipped_runs.lenet / "suspect_labels.csv")
    assert header == ["rank", "id", "flagged", "label", "suggested", "p_label", "p_suggested"]
    assert len(rows) == flipped_runs.rows
    top = {row[1] for row in rows[: int(TOP_SHARE * len(rows))]}
    found = len(top & flipped_runs.flipped) / len(flipped_runs.flipped)
    assert found >= FOUND_BAR, (found, flipped_runs.flipped)


def test_image_runs_draw_the_top_suspects(flipped_runs):
    with Image.open(flipped_runs.lenet / "suspect_labels.png") as grid:
        assert grid.format == "PNG" and grid.size[0] >= 160
