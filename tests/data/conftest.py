"""Fixtures of the data tests."""

from __future__ import annotations

import pytest
from image_files import make_classes


@pytest.fixture
def classes(tmp_path):
    """A factory: classes({"cat": 3, "dog": 2}) -> a folder of class folders under tmp_path."""
    return lambda counts, size=(12, 10): make_classes(tmp_path / "data", counts, size)
