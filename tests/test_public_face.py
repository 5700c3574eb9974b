"""`import zoo`: every error class and the public functions, without importing TensorFlow."""

from __future__ import annotations

import inspect
import subprocess
import sys

import zoo
import zoo.errors


def test_every_error_is_importable_from_zoo():
    errors = [obj for _, obj in inspect.getmembers(zoo.errors, inspect.isclass) if issubclass(obj, zoo.errors.ZooError)]
    assert len(errors) > 10
    missing = [error.__name__ for error in errors if getattr(zoo, error.__name__, None) is not error]
    assert missing == [], f"add these to zoo/__init__.py: {missing}"
    assert set(zoo.__all__) >= {error.__name__ for error in errors}


def test_import_zoo_imports_no_tensorflow_and_finetune_is_the_real_one():
    code = (
        "import sys, zoo; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'; "
        "assert 'keras_hub' not in sys.modules, 'keras_hub imported'; "
        "import zoo.training.run as run, zoo.training.lr_find as lf; "
        "assert zoo.finetune is run.finetune and zoo.FinetuneResult is run.FinetuneResult and zoo.lr_find is lf.lr_find"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_unknown_attribute_is_an_attribute_error():
    try:
        zoo.no_such_thing  # noqa: B018
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("zoo.no_such_thing did not raise")
