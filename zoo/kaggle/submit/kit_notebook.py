"""The inference notebook of an offline kit (and the same cells as a script): install zoo from the kit's wheels with
no network, then `zoo kaggle predict --run KIT/run` writes submission.csv. The paths are set at the top."""

from __future__ import annotations

import re
from pathlib import Path

from zoo.errors import PackagingFailed

NOTEBOOK_FILE, SCRIPT_FILE = "predict.ipynb", "predict.py"

INSTALL = """import subprocess
import sys

# zoo and the packages the image lacks, from the kit's wheels: no network needed
install = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", f"{KIT}/wheels", "zoo-keras"]
subprocess.run(install, check=True)"""

PREDICT = """# the run's fold models averaged over the test rows, in the template's format
command = [sys.executable, "-m", "zoo", "kaggle", "predict", "--run", f"{KIT}/run", "--out", OUT, "--force"]
for option, value in (("--test-csv", TEST_CSV), ("--template", TEMPLATE), ("--images", IMAGES)):
    if value:
        command += [option, str(value)]
subprocess.run(command, check=True)"""

OVERRIDES = """import argparse

parser = argparse.ArgumentParser(description="Install zoo from this kit (offline) and write the submission.")
for name, value in (("kit", KIT), ("test-csv", TEST_CSV), ("template", TEMPLATE), ("images", IMAGES), ("out", OUT)):
    parser.add_argument(f"--{name}", default=value, help=f"default: {value} ('' for none)")
args = parser.parse_args()
KIT, TEST_CSV, TEMPLATE, IMAGES, OUT = args.kit, args.test_csv, args.template, args.images, args.out"""


def require_nbformat() -> None:
    """Refuse at the door, before any download, when the notebook could not be written."""
    import importlib.util

    if importlib.util.find_spec("nbformat") is None:
        raise PackagingFailed("zoo kaggle bundle writes its notebook with nbformat: pip install 'zoo-keras[kaggle]'")


def dataset_slug(kit: Path) -> str:
    """The name Kaggle gives a dataset uploaded from the folder `kit` (lower case, dashes): /kaggle/input/SLUG."""
    return re.sub(r"[^a-z0-9]+", "-", kit.resolve().name.lower()).strip("-") or "kit"


def paths_cell(kit: str, competition: str, images: bool) -> str:
    """The cell of paths at the top: the kit (a Python expression), the competition's test data, the submission."""
    data = f"/kaggle/input/{competition}"
    return "\n".join(
        [
            f"KIT = {kit}  # this kit (uploaded as a dataset)",
            f'TEST_CSV = "{data}/test.csv"  # the test ids (and tabular features); None: the template\'s ids',
            f'TEMPLATE = "{data}/sample_submission.csv"  # header, columns and id order to copy; or None',
            (
                f'IMAGES = "{data}/test"  # the test images, named by id'
                if images
                else "IMAGES = None  # tabular or pixel-column run"
            ),
            'OUT = "submission.csv"',
        ]
    )


def write_notebook(kit: Path, competition: str, images: bool) -> tuple[Path, Path]:
    """KIT/predict.ipynb (Kaggle paths) and KIT/predict.py (the same cells; paths also as options, the kit by default
    the script's own folder)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from zoo.results.run_folder import write_atomic

    title = (
        "# Submission from a zoo kaggle run, offline\n"
        "Attach the kit (this folder, uploaded as a dataset) and the competition's data; set the paths below; run all."
    )
    top = paths_cell(f'"/kaggle/input/{dataset_slug(kit)}"', competition, images)
    cells = [new_markdown_cell(title), new_code_cell(top), new_code_cell(INSTALL), new_code_cell(PREDICT)]
    notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nbformat.validate(notebook)
    write_atomic(kit / NOTEBOOK_FILE, nbformat.writes(notebook).encode())
    script_top = paths_cell("str(Path(__file__).resolve().parent)", competition, images)
    script = [
        '"""Install zoo from this kit (no network) and write the submission: python predict.py --help."""',
        "from pathlib import Path",
        script_top,
        OVERRIDES,
        INSTALL,
        PREDICT,
    ]
    write_atomic(kit / SCRIPT_FILE, ("\n\n".join(script) + "\n").encode())
    return kit / NOTEBOOK_FILE, kit / SCRIPT_FILE
