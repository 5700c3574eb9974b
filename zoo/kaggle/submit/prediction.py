"""`predict(run, ...)`: every fold model of a run on the test data (optionally in several views), averaged, written
as a submission in the template's format."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.listings.table import TableOptions
from zoo.data.progress import progress_meter, silent
from zoo.errors import BadData
from zoo.kaggle.cv.calibration import apply_saved
from zoo.kaggle.submit.blend import members
from zoo.kaggle.submit.blend_weights import combine
from zoo.kaggle.submit.sources import fold_folders, kaggle_part, open_part, part_outputs
from zoo.kaggle.submit.submission import (
    check_header,
    column_values,
    default_header,
    refuse_existing,
    submission_rows,
    write_submission,
)
from zoo.kaggle.submit.submission_ids import SubmissionRows, read_test_rows, template_target
from zoo.kaggle.submit.tta import tta_views, view_transforms
from zoo.kaggle.task.image_files import refuse_unreadable
from zoo.kaggle.task.inputs import TRANSFORM_FILE, InputSpec, row_files
from zoo.kaggle.task.metrics import metric_for
from zoo.kaggle.task.run_config import RunSettings, read_config
from zoo.kaggle.task.tables import Table
from zoo.kaggle.task.tabular import TabularTransform
from zoo.kaggle.task.targets import Target


@dataclass(frozen=True)
class PredictSettings:
    """What `zoo kaggle predict` takes besides the run: the test rows and images, the views, the output."""

    out: str | Path = "submission.csv"
    test_csv: str | Path | None = None  # ids (and tabular features); None: the template's ids
    template: str | Path | None = None  # sample_submission.csv: fixes the header, columns and id order
    images: str | Path | None = None  # the test images, named by id
    extension: str | None = None  # None: the run's (or found)
    tta: int = 1  # > 1 averages that many views of each image (flips, crops)
    tta_flip: bool = True  # False leaves the flipped views out
    batch_size: int = 64
    id_col: str | None = None  # the test CSV's and template's id column; None: train.csv's
    target_col: tuple[str, ...] | None = None  # the template's target column(s); None: train.csv's


def predict(run: str | Path, *, force: bool = False, verbose: bool = True, **options: Any) -> Path:
    """Write `options["out"]`: the run's fold models (or a blend's runs) averaged over the test rows. `options`:
    PredictSettings fields; `force` replaces an existing submission."""
    request = PredictSettings(**options)
    say = print if verbose else silent
    runs, weights, method = members(Path(run))
    config = read_config(runs[0])
    settings, target = RunSettings.from_json(config["settings"]), submitted_target(config, request.target_col)
    metric = metric_for(config["metric"], target.kind)
    out = Path(request.out)
    refuse_existing(out, force)  # before any work: a refused write should not cost a prediction pass
    rows = read_test_rows(request.test_csv, request.template, request.id_col, settings.id_col, say)
    target = target if request.target_col else template_target(target, rows.header, say)
    header = rows.header or default_header(rows.id_col, target, metric)
    check_header(header, rows.id_col, target, metric)
    outputs = [run_outputs(member, request, rows, say) for member in runs]
    blended = combine(outputs, weights, method) if len(runs) > 1 else outputs[0]
    values = column_values(target, metric, blended[rows.order])
    cells = submission_rows(header, rows.id_col, [rows.ids[i] for i in rows.order], values)
    path = write_submission(out, header, cells, force, rows.newline)
    say(f"wrote {path}: {len(cells)} rows, columns {header} ({metric.submits}: the metric is {metric.name})")
    return path


def submitted_target(config: dict[str, Any], target_col: tuple[str, ...] | None) -> Target:
    """The run's target, its columns renamed to the template's (--target-col) when they are named otherwise."""
    target = Target.from_json(config["target"])
    if target_col is None:
        return target
    if len(target_col) != len(target.columns):
        raise BadData(
            f"--target-col names {len(target_col)} column(s) {list(target_col)}; the run predicts "
            f"{len(target.columns)}: {list(target.columns)}: pass one template column for each"
        )
    return replace(target, columns=tuple(target_col))


def run_outputs(run_dir: Path, request: PredictSettings, rows: SubmissionRows, say: Any) -> np.ndarray:
    """One run's fold models averaged over the test rows (and views), calibrated as the run's calibration.json says."""
    config = read_config(run_dir)
    settings, spec = RunSettings.from_json(config["settings"]), InputSpec.from_json(config["input"])
    if spec.kind == "tabular" and request.tta > 1:
        raise BadData("--tta applies to images; this run trains on tabular features: leave --tta out")
    if spec.kind == "images":
        if request.images is None and spec.pixels is None:
            raise BadData("this run trains on images: pass the folder of test images (--images)")
        extension = request.extension or settings.extension
        table = TableOptions(id_col=rows.id_col, image_dir=request.images, extension=extension)
        files = row_files(spec, rows.table, rows.ids, table)
        return image_outputs(run_dir, files, request, say)  # calibrated by the path every command shares
    outputs = tabular_outputs(run_dir, rows.table, request.batch_size, say)
    return apply_saved(run_dir, Target.from_json(config["target"]).classifies, outputs)


@contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """TensorFlow's warnings off for a block: each fold model traces its own predict function, which TensorFlow
    reports as "excessive retracing" though it is expected here."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def image_outputs(run_dir: Path, files: list[str], request: PredictSettings, say: Any) -> np.ndarray:
    """The run's fold models averaged over the test images and their views, calibrated (zoo.kaggle.submit.sources,
    as `zoo predict RUN` does), on the fast runtime where the models convert and enough images make it pay."""
    views = view_transforms(request.tta, request.tta_flip)
    failures: list[tuple[str, str]] = []
    part = kaggle_part(run_dir, 1.0)
    with quiet_tensorflow():  # each conversion check (and a Keras fallback) traces one predict function per model
        images = len(files) * len(views or [None])
        runners = open_part(part, "predict", lambda line: say(f"zoo: {line}"), images)
        progress = say is not silent
        _, outputs = part_outputs(part, runners, files, request.batch_size, failures, views=views, progress=progress)
    refuse_unreadable(failures, len(files))
    names = tta_views(request.tta, request.tta_flip)
    engines = ", ".join(sorted({runner.runtime for runner in runners}))
    say(
        f"averaged {len(runners)} fold models x {len(names)} views ({', '.join(names)}) over {len(files)} rows "
        f"(run in {engines})"
    )
    return outputs


def tabular_outputs(run_dir: Path, test: Table, batch_size: int, say: Any) -> np.ndarray:
    """The mean over fold models (in Keras: tabular models are small) of each one's outputs on the test rows."""
    from zoo.loading.assemble import load_saved

    outputs = []
    folders = fold_folders(run_dir)
    meter = progress_meter(
        len(folders), f"predicting {len(folders)} folds x 1 views", enabled=say is not silent, min_items=2
    )
    for fold_dir in folders:
        with warnings.catch_warnings():  # the training optimizer's state is saved too; prediction does not need it
            warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
            model = load_saved(fold_dir / "model.keras")
        x = TabularTransform.load(fold_dir / TRANSFORM_FILE).apply(test)
        with quiet_tensorflow():
            outputs.append(model.predict(x, batch_size=batch_size, verbose=0))
        meter.update(1)
    meter.close()
    say(f"averaged {len(folders)} fold models over {len(test)} rows")
    return np.mean(outputs, axis=0)
