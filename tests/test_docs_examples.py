"""Every example in the README and the guides runs, and shows what it prints (the rules: docs/index.md, "How the
examples are tested").

`python` blocks run in one namespace per page, `pycon` blocks are doctests in it, `bash` blocks run each `zoo`
command and must exit 0, `console` blocks run each `$ ` command and compare its output with the lines below it. A
block preceded by `<!-- not-run: REASON -->` is left out; `text` blocks are shown, not run. Each page runs in a fresh
folder of small stand-ins named as the examples name them, in this process (TensorFlow imported once).
"""

from __future__ import annotations

import contextlib
import doctest
import importlib.util
import io
import re
import shlex
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RUN = {"python", "pycon", "bash", "console"}
SHOWN = {"text", "json", "csv", "yaml", "toml"}
NOT_RUN = re.compile(r"<!--\s*not-run:\s*(.*?)\s*-->")
SAME_AS = re.compile(r"<!--\s*same-as:\s*(\S+)\s*-->")  # a block repeated from a page that runs it
# The README's set-up commands install the package; .ci/run runs the test command, the main command is a user's.
SET_UP = {
    "<!-- main-command -->": "the set-up command: it creates a venv and installs the package",
    "<!-- test-command -->": "the set-up command: .ci/run runs it",
}
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
CHECKER_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    body: str
    not_run: str | None  # the reason given, or None when the block runs

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    """The README and every page of the site (the helpers' docs/_incoming notes and the notebooks excluded)."""
    docs = [p for p in sorted((ROOT / "docs").rglob("*.md")) if not {"_incoming", "notebooks"} & set(p.parts)]
    return [ROOT / "README.md", *docs]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, each with the not-run reason written on the line before it, if any."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, language = opening.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = "\n".join(line[len(indent) :] for line in lines[i + 1 : end])
        before = lines[i - 1] if i else ""
        marker, same = NOT_RUN.search(before), SAME_AS.search(before)
        reason = marker.group(1) if marker else SET_UP.get(before.strip())
        if same:
            reason = f"same-as {same.group(1)}"
        found.append(Block(str(page.relative_to(ROOT)), i + 1, language, body, reason))
        i = end + 1
    return found


def every_block() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def test_every_block_says_what_it_is():
    unlabelled = [b.where for b in every_block() if b.language not in RUN | SHOWN]
    assert unlabelled == [], f"give these blocks a language ({sorted(RUN | SHOWN)}): {unlabelled}"


def test_every_not_run_block_says_why():
    unexplained = [b.where for b in every_block() if b.not_run is not None and len(b.not_run) < 10]
    assert unexplained == [], f"say why these blocks are not run: {unexplained}"


def test_repeated_blocks_are_run_where_they_come_from():
    """A block marked `same-as: PAGE` (the README repeating a guide) must appear in a block that PAGE runs."""
    for block in every_block():
        if block.not_run and block.not_run.startswith("same-as "):
            source = ROOT / block.not_run.removeprefix("same-as ")
            run_there = [b.body for b in blocks(source) if b.not_run is None and b.language == block.language]
            assert any(block.body in body for body in run_there), f"{block.where} is not run in {source}"


def test_most_examples_run():
    runnable = [b for b in every_block() if b.language in RUN]
    assert len([b for b in runnable if b.not_run is None]) >= 15, "the pages lost their runnable examples"


# ---- stand-ins -------------------------------------------------------------------------------------------------


def load_helper(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def make_stand_ins(folder: Path) -> None:
    """The files the examples name: two photos, a folder of class sub-folders, an empty folder, a text file, and a
    small image competition (train.csv, test.csv, sample_submission.csv, train/, test/), and one of pixel columns
    (digits/)."""
    from finetune_data import shape_folder

    assets = ROOT / "zoo" / "assets"
    shutil.copy(assets / "chelsea.jpg", folder / "cat.jpg")
    Image.open(assets / "coffee.jpg").save(folder / "cup.png")
    shape_folder(folder / "photos", per_class=6, size=64)
    (folder / "empty").mkdir()
    (folder / "notes.txt").write_text("not an image\n")
    kaggle_data = load_helper("docs_kaggle_data", ROOT / "tests" / "kaggle" / "kaggle_data.py")
    kaggle_data.image_competition(folder, count=80, size=32)
    pixel_competition(folder / "digits", train=100, test=20)


def pixel_competition(folder: Path, train: int, test: int) -> None:
    """A Digit Recognizer-format competition of scikit-learn's digits: label,pixel0..63 rows; test rows without ids."""
    import csv

    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.rint(digits.data[: train + test] * 255 / 16).astype(int).tolist()
    columns = [f"pixel{i}" for i in range(64)]
    labelled = zip(digits.target[:train].tolist(), pixels[:train], strict=True)
    tables = {
        "train.csv": [["label", *columns]] + [[label, *row] for label, row in labelled],
        "test.csv": [columns] + pixels[train:],
        "sample_submission.csv": [["ImageId", "Label"]] + [[i + 1, 0] for i in range(test)],
    }
    folder.mkdir()
    for name, rows in tables.items():
        with open(folder / name, "w", newline="") as file:
            csv.writer(file).writerows(rows)


# ---- running ---------------------------------------------------------------------------------------------------


def command_lines(text: str) -> list[str]:
    """Shell lines with `\\` continuations joined; blank lines and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def run_zoo(line: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """Run one `[VAR=value ...] zoo ARGS` line in this process; (exit status, stdout then stderr)."""
    from zoo.cli.main import main

    words = shlex.split(line, comments=True)
    env = {}
    while words and ENV_ASSIGNMENT.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words and words[0] == "zoo", f"only zoo commands are run here; mark the block not-run: {line!r}"
    out, err = io.StringIO(), io.StringIO()
    interrupt_handler = signal.getsignal(signal.SIGINT)  # the CLI installs its own; pytest's comes back after
    with monkeypatch.context() as patch, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            status = main(words[1:])
        except SystemExit as stop:  # argparse's own exits (--help, --version, a usage error)
            status = stop.code if isinstance(stop.code, int) else 1
        finally:
            signal.signal(signal.SIGINT, interrupt_handler)
    return status, out.getvalue() + err.getvalue()


def run_bash(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    for line in command_lines(block.body):
        status, output = run_zoo(line, monkeypatch)
        assert status == 0, f"{block.where}: `{line}` exited {status}:\n{output[-3000:]}"


def run_console(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each `$ command` runs; the lines below it, up to the next `$`, are its output (`...` matches any text)."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    checker = doctest.OutputChecker()
    for command, shown in steps:
        _, output = run_zoo(command, monkeypatch)
        want = "\n".join(shown).strip() + "\n"
        got = output.strip() + "\n"
        assert checker.check_output(want, got, CHECKER_FLAGS), (
            f"{block.where}: `{command}` no longer prints what the page shows.\npage:\n{want}\nnow:\n{got}"
        )


def run_python(block: Block, namespace: dict) -> None:
    exec(compile(block.body, block.where, "exec"), namespace)  # noqa: S102  (the page's own example)


def run_pycon(block: Block, namespace: dict) -> None:
    test = doctest.DocTestParser().get_doctest(block.body, namespace, block.where, block.page, block.line)
    report = io.StringIO()
    result = doctest.DocTestRunner(optionflags=CHECKER_FLAGS).run(test, out=report.write, clear_globs=False)
    assert result.failed == 0, f"{block.where}: the example's output changed:\n{report.getvalue()}"


def runnable_pages() -> list[str]:
    runs = [p for p in pages() if any(b.not_run is None and b.language in RUN for b in blocks(p))]
    return [str(p.relative_to(ROOT)) for p in runs]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One HOME for every page: its zoo cache keeps the weights converted from a package once for all of them."""
    return tmp_path_factory.mktemp("home")


@pytest.mark.parametrize("page", runnable_pages())
def test_page_examples_run(page, home, tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    make_stand_ins(folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    for name in ("ZOO_CACHE_DIR", "XDG_CACHE_HOME", "ZOO_WEIGHTS_DIR", "ZOO_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks(ROOT / page):
        if block.not_run is not None or block.language not in RUN:
            continue
        if block.language == "python":
            run_python(block, namespace)
        elif block.language == "pycon":
            run_pycon(block, namespace)
        elif block.language == "bash":
            run_bash(block, monkeypatch)
        else:
            run_console(block, monkeypatch)
