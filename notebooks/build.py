"""Build notebooks/NAME.ipynb from notebooks/src/NAME.py (a jupytext percent script), executed, outputs kept.

    .venv/bin/python notebooks/build.py               # rebuild and execute every notebook (a few minutes)
    .venv/bin/python notebooks/build.py 01_classify   # only these
    .venv/bin/python notebooks/build.py --check       # exit 1 when a notebook's cells differ from its source

The script is the source of truth (plain Python: reviewable diffs, ruff-checked); the .ipynb is generated. Notebooks
are committed with their outputs so GitHub shows the figures; tests/test_notebooks.py checks that each one is built
from its current source and that it runs top to bottom.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

FOLDER = Path(__file__).resolve().parent
SOURCES = FOLDER / "src"
CELL_TIMEOUT = 600  # seconds one cell may take before the run is called hung
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
# What the notebooks must run without: the network. Their data is made by the project or bundled by a package.
KERNEL_ENV = {"ZOO_OFFLINE": "1"}


def sources() -> list[Path]:
    """Every notebook source, in the order of the numbers that start their names."""
    return sorted(SOURCES.glob("*.py"))


def notebook_path(source: Path) -> Path:
    return FOLDER / f"{source.stem}.ipynb"


def from_source(source: Path) -> nbformat.NotebookNode:
    """The notebook a source describes, without outputs; cell ids are positions, so rebuilds give no id churn."""
    notebook = jupytext.read(source, fmt="py:percent")
    notebook.metadata = {"kernelspec": dict(KERNELSPEC)}
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"
    return notebook


def cells_of(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """What the source decides: each cell's kind and text (outputs and metadata come from running it)."""
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def this_python_kernel() -> AsyncKernelManager:
    """A kernel running this interpreter (the venv's), whatever kernelspecs the user has installed elsewhere."""
    # kernel_dirs=[] leaves only ipykernel's built-in spec, which launches sys.executable.
    return AsyncKernelManager(kernel_name=KERNELSPEC["name"], kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def execute(notebook: nbformat.NotebookNode, *, cwd: Path = FOLDER, timeout: int = CELL_TIMEOUT) -> float:
    """Run every cell in order in a fresh kernel, in place; raises nbclient's CellExecutionError on the first error.

    Returns the seconds the run took, kernel start included.
    """
    started = time.perf_counter()
    client = NotebookClient(
        notebook,
        km=this_python_kernel(),
        timeout=timeout,
        record_timing=False,  # no timestamps in the committed notebooks: a rebuild changes only what changed
        resources={"metadata": {"path": cwd}},
        # TensorFlow's C++ start-up log (timestamps, CUDA probes) goes to this process's stderr, not into the
        # notebooks: it differs on every machine and run. Python's own warnings and output still land in the cells.
        extra_arguments=["--IPKernelApp.capture_fd_output=False"],
    )
    client.execute(env={**os.environ, **KERNEL_ENV})
    return time.perf_counter() - started


def build(source: Path, *, run: bool = True) -> float:
    """Write the notebook of `source` (executed when `run`); returns the seconds the execution took."""
    notebook = from_source(source)
    seconds = execute(notebook) if run else 0.0
    nbformat.write(notebook, notebook_path(source))
    return seconds


def stale(source: Path) -> bool:
    """True when the committed notebook is missing or its cells differ from its source."""
    path = notebook_path(source)
    return not path.is_file() or cells_of(nbformat.read(path, as_version=4)) != cells_of(from_source(source))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build notebooks/*.ipynb from notebooks/src/*.py.")
    parser.add_argument("names", nargs="*", help="notebook names (default: all), e.g. 01_classify")
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ from their source")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    args = parser.parse_args(argv)
    chosen = [source for source in sources() if not args.names or source.stem in args.names]
    missing = sorted(set(args.names) - {source.stem for source in chosen})
    if missing:
        parser.error(f"no source notebooks/src/NAME.py for: {', '.join(missing)}")
    if args.check:
        outdated = [source.stem for source in chosen if stale(source)]
        for name in outdated:
            print(f"{name}: the notebook differs from src/{name}.py; run: python notebooks/build.py {name}")
        return 1 if outdated else 0
    for source in chosen:
        seconds = build(source, run=not args.no_execute)
        print(f"{notebook_path(source).name}: built" + (f", ran in {seconds:.1f}s" if seconds else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
