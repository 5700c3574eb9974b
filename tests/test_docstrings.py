"""Every public function of `zoo`, `zoo.kaggle` and `zoo.data` names each of its options in its docstring (what
`help()` and the generated API reference show), those it forwards through **options included."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterator

import pytest

import zoo
import zoo.data
import zoo.kaggle

PUBLIC_MODULES = (zoo, zoo.kaggle, zoo.data)


def public_functions() -> Iterator[tuple[str, Callable]]:
    """The functions of the public modules, and the methods zoo adds to the models `zoo.load` returns."""
    from zoo.loading.model import ZooModel

    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj
    for name in ("classify", "embed", "finetune", "lr_find"):
        yield f"ZooModel.{name}", getattr(ZooModel, name)


def field_names(cls: type) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


def keyword_names(function: Callable) -> set[str]:
    kinds = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    parameters = inspect.signature(function).parameters.items()
    return {name for name, p in parameters if p.kind not in kinds and name != "self"}


def forwarded_options() -> dict[str, set[str]]:
    """What each public function takes through **options: the fields or parameters of what it hands them to."""
    from zoo.catalogue import default_catalogue
    from zoo.kaggle.cv.training import train
    from zoo.kaggle.submit.blend import blend
    from zoo.kaggle.submit.bundle import bundle
    from zoo.kaggle.submit.prediction import PredictSettings, predict
    from zoo.kaggle.task.run_config import RunSettings
    from zoo.loading.assemble import load
    from zoo.training.inputs import LoaderOptions
    from zoo.training.phases import PlanSettings
    from zoo.training.run import RunOptions

    catalogue = default_catalogue()
    backbone_keys = set().union(*(catalogue.get(n).hparams for n in catalogue.names(family="backbone")))
    kaggle_train = keyword_names(train) | field_names(RunSettings) - {"train_csv", "target_cols"}
    options = field_names(PlanSettings) | field_names(RunOptions) | field_names(LoaderOptions)
    return {
        "zoo.load": keyword_names(load) | backbone_keys - {"application"},
        "zoo.finetune": options,
        "zoo.kaggle.train": kaggle_train,
        "zoo.kaggle.predict": keyword_names(predict) | field_names(PredictSettings),
        "zoo.kaggle.blend": keyword_names(blend) - {"runs"},
        "zoo.kaggle.bundle": keyword_names(bundle) - {"run"},
    }


def test_public_functions_are_found():
    names = {name for name, _ in public_functions()}
    assert {"zoo.load", "zoo.finetune", "zoo.kaggle.train", "zoo.data.load_data"} <= names


@pytest.mark.parametrize(
    "qualified, function", list(public_functions()), ids=[qualified for qualified, _ in public_functions()]
)  # ids by name only: a function's repr holds its address, which differs between pytest-xdist workers
def test_docstring_names_every_option(qualified, function):
    doc = inspect.getdoc(function) or ""
    wanted = keyword_names(function) | forwarded_options().get(qualified, set())
    missing = sorted(name for name in wanted if not re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", doc))
    assert missing == [], f"{qualified}'s docstring does not name {missing}: add a line for each"
