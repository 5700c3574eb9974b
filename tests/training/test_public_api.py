"""zoo.finetune and zoo.lr_find are zoo.training's own functions, their docstrings name every option they take, and
`import zoo` stays free of TensorFlow."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

import zoo
from zoo.training.inputs import LoaderOptions
from zoo.training.lr_find import lr_find
from zoo.training.run import OPTION_GROUPS, finetune


def documented(function) -> set[str]:
    """The names a docstring lists as options: each `name:` (or `a, b:`) at the start of a line."""
    names = set()
    for line in inspect.getdoc(function).splitlines():
        listed = re.match(r"\s*([a-z_][a-z_0-9]*(?:, [a-z_][a-z_0-9]*)*):\s", line)
        if listed:
            names.update(listed.group(1).split(", "))
    return names


def keywords(function) -> set[str]:
    parameters = inspect.signature(function).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("group", OPTION_GROUPS, ids=lambda group: group.__name__)
def test_finetune_documents_every_option_it_takes(group):
    missing = {f.name for f in fields(group)} - documented(finetune)
    assert not missing, f"finetune's docstring does not list {sorted(missing)} ({group.__name__})"


def test_finetune_and_lr_find_document_their_own_keywords():
    assert keywords(finetune) <= documented(finetune)
    assert keywords(lr_find) | {f.name for f in fields(LoaderOptions)} <= documented(lr_find)


def test_the_option_listing_is_read_from_the_start_of_lines():
    def sample():
        """Options:
        alpha: one.
        beta, gamma: two; also mentions delta: in passing.
        """

    assert documented(sample) == {"alpha", "beta", "gamma"}


def test_finetune_and_lr_find_on_the_package_are_the_training_ones():
    import zoo
    import zoo.training.lr_find
    import zoo.training.run

    assert zoo.finetune is zoo.training.run.finetune and zoo.lr_find is zoo.training.lr_find.lr_find
    assert zoo.FinetuneResult is zoo.training.run.FinetuneResult


def test_import_zoo_does_not_import_tensorflow():
    root = Path(zoo.__file__).parent.parent  # this checkout, not whichever zoo is installed
    script = "import sys, zoo\nprint(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
