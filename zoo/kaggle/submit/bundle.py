"""`bundle(run, out)`: an offline kit to upload as a Kaggle dataset, for notebooks that run without internet.

KIT/wheels: zoo and the packages the target image lacks; KIT/run: what `zoo kaggle predict --run` reads, nothing
else; KIT/predict.ipynb and predict.py: install from the wheels with no network, write submission.csv; README.txt.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.errors import OutputExists
from zoo.kaggle.submit.blend import BLEND_FILE, members
from zoo.kaggle.submit.kit_notebook import NOTEBOOK_FILE, SCRIPT_FILE, require_nbformat, write_notebook
from zoo.kaggle.submit.kit_wheels import (
    DEFAULT_PLATFORM,
    DEFAULT_SKIP,
    KitTarget,
    build_zoo_wheel,
    download_wheels,
    needed,
    source_root,
)
from zoo.kaggle.task.run_config import CONFIG_FILE, RunSettings, read_config
from zoo.kaggle.task.run_folders import FOLD_FILES, check_folder, take_folder
from zoo.results.run_folder import write_json

KIND = "kaggle-bundle"
KIT_FOLDERS = ("wheels", "run")
RUN_FILES = (CONFIG_FILE, "calibration.json")  # with each fold's FOLD_FILES: what predict reads of a run
README_FILE = "README.txt"
WHEELS_ROOM = 200 * 2**20  # zoo's dependencies outside Kaggle's image are about 45 MB as wheels


def bundle(
    run: str | Path,
    *,
    out: str | Path,
    python_version: str | None = None,
    platforms: Sequence[str] = (DEFAULT_PLATFORM,),
    skip: Sequence[str] = DEFAULT_SKIP,
    force: bool = False,
    verbose: bool = True,
) -> Path:
    """Write the kit folder `out` for `run` (a train or blend run folder): wheels for `python_version` (default this
    one) and `platforms`, leaving out the packages in `skip`; the run's predict files; the notebook. Returns `out`."""
    from zoo.results.run_folder import check_writable_with_room, locked

    say = print if verbose else (lambda *_: None)
    run, out = Path(run).resolve(), Path(out).resolve()
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    target = KitTarget(version, tuple(platforms), tuple(skip))
    runs = members(run)[0]
    configs = [read_config(member) for member in runs]  # refuses a folder that is not a run, before any work
    if out == run or out in run.parents:
        raise OutputExists(f"--out {out} holds the run {run}: a kit replaces its folders; pick another --out")
    fingerprint = {"run": str(run), "python_version": version, "platforms": list(platforms), "skip": sorted(skip)}
    check_folder(out, KIND, fingerprint, force, [run, *runs])
    check_writable_with_room(out, sum(folder_bytes(member) for member in runs) + WHEELS_ROOM)
    root = source_root()
    require_nbformat()
    with locked(out, say):
        take_folder(out, KIND, " + ".join(c["model"] for c in configs), fingerprint, say, folders=KIT_FOLDERS)
        copy_run(run, out / "run")
        (out / "wheels").mkdir()
        say(f"building zoo's wheel from {root}; downloading the wheels Python {version} lacks beyond the image")
        build_zoo_wheel(root, out / "wheels")
        download_wheels(needed(root, target), target, out / "wheels")
        settings = RunSettings.from_json(configs[0]["settings"])
        write_notebook(out, Path(settings.train_csv).parent.name, settings.images is not None)
        write_readme(out, run, target)
    say(f"wrote {out}: {len(list((out / 'wheels').iterdir()))} wheels, {folder_bytes(out) / 2**20:.0f} MB in all")
    return out


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def copy_run(run: Path, dest: Path) -> None:
    """What `zoo kaggle predict --run` reads of `run`: a run's config, calibration and fold files; for a blend,
    blend.json naming its runs by their folders inside `dest` (members/K-NAME), and those runs' files."""
    if not (run / BLEND_FILE).is_file():
        copy_plain_run(run, dest)
        return
    blended = json.loads((run / BLEND_FILE).read_text(encoding="utf-8"))
    inside = [f"members/{number}-{member.name}" for number, member in enumerate(members(run)[0])]
    for member, name in zip(members(run)[0], inside, strict=True):
        copy_plain_run(member, dest / name)
    write_json(dest / BLEND_FILE, blended | {"runs": inside})


def copy_plain_run(run: Path, dest: Path) -> None:
    from zoo.kaggle.submit.sources import fold_folders

    dest.mkdir(parents=True)
    for name in RUN_FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, dest / name)
    for fold in fold_folders(run):
        (dest / fold.name).mkdir()
        for name in FOLD_FILES:
            if (fold / name).is_file():
                shutil.copy2(fold / name, dest / fold.name / name)


def write_readme(kit: Path, run: Path, target: KitTarget) -> None:
    """README.txt: what the kit holds, how to use it, what it leaves to the image."""
    from zoo.results.run_folder import write_atomic
    from zoo.version import __version__

    wheels = sorted(path.name for path in (kit / "wheels").iterdir())
    lines: list[Any] = [
        f"zoo offline kit of the run {run.name} (zoo {__version__})",
        "",
        "Upload this folder as a Kaggle dataset; attach it and the competition's data to a notebook with the internet",
        f"off; set the paths at the top of {NOTEBOOK_FILE} and run it (or: python {SCRIPT_FILE} --help).",
        "It installs with: pip install --no-index --find-links KIT/wheels zoo-keras",
        "and writes the submission with: zoo kaggle predict --run KIT/run ... --out submission.csv",
        "",
        f"wheels/  for Python {target.python_version} on {', '.join(target.platforms)}:",
        *(f"    {name}" for name in wheels),
        f"    not shipped (the image has them): {', '.join(target.skip) or 'nothing'}",
        "run/     what `zoo kaggle predict --run` reads: config.json, calibration.json, fold_K/model.keras",
        "         (and fold_K/transform.json for tabular runs; for image runs fold_K/runtime.*, each fold model",
        "         converted once, when it was trained: the offline machine converts nothing); a blend's runs under",
        "         run/members/",
        "weights: none needed: each fold model is a fine-tuned model.keras that holds all its weights",
    ]
    write_atomic(kit / README_FILE, ("\n".join(lines) + "\n").encode())
