"""Runs shared by the calibration, mislabel-finder and blend tests: two different models on one image competition
whose train.csv has 2% of its labels deliberately flipped (trained once per session: about 30 s on 2 cores)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from kaggle_data import Competition, image_competition, read_rows, write_csv

from zoo.kaggle import train

FLIPPED_SHARE = 0.02


@dataclass(frozen=True)
class FlippedRuns:
    competition: Competition
    flipped: set[str]  # ids whose label was changed to another digit
    rows: int
    lenet: Path
    mlp: Path


def flip_labels(train_csv: Path, share: float, seed: int) -> set[str]:
    """Give `share` of train.csv's rows another digit as label; their ids."""
    header, rows = read_rows(train_csv)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(rows), size=max(1, int(len(rows) * share)), replace=False)
    for i in chosen:
        rows[i][1] = str((int(rows[i][1]) + 1 + int(rng.integers(9))) % 10)
    write_csv(train_csv, header, rows)
    return {rows[i][0] for i in chosen}


@pytest.fixture(autouse=True, scope="session")
def runtime_cache(tmp_path_factory):
    """Fold models converted for the fast runtime are cached in a temporary folder, never the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_CACHE_DIR", str(tmp_path_factory.mktemp("zoo-cache")))
        yield


@pytest.fixture(scope="session")
def flipped_runs(tmp_path_factory, worker_id) -> FlippedRuns:
    """Trained once per test session, not once per xdist worker: the first worker to ask trains under a lock in the
    session's shared temporary folder and pickles the competition and the flipped ids; the others wait and read them."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    root, done = shared / "flipped", shared / "flipped" / "competition.pickle"
    with FileLock(str(shared / "flipped.lock")):
        if not done.exists():
            competition = image_competition(root / "competition", count=600)
            flipped = flip_labels(competition.train_csv, FLIPPED_SHARE, seed=0)
            common = {"images": competition.train_images, "id_col": "id", "target_col": "label", "metric": "log_loss"}
            common |= {"folds": 3, "epochs": 4, "seed": 0, "verbose": False}
            train(competition.train_csv, model="lenet5", out=root / "lenet", **common)
            train(competition.train_csv, model="mlp_digits", out=root / "mlp", **common)
            done.write_bytes(pickle.dumps((competition, flipped)))
    competition, flipped = pickle.loads(done.read_bytes())
    rows = len(read_rows(competition.train_csv)[1])
    return FlippedRuns(competition, flipped, rows, root / "lenet", root / "mlp")
