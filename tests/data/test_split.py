"""Seeded stratified splits that keep every class on both sides, and balanced class weights."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.data import LabelledData, class_weights, stratified_split
from zoo.errors import BadData


def labelled(counts: list[int]) -> LabelledData:
    y = np.repeat(np.arange(len(counts)), counts)
    files = tuple(f"f{i}.png" for i in range(len(y)))
    names = tuple(f"c{i}" for i in range(len(counts)))
    return LabelledData(np.arange(len(y))[:, None], y, names, files, (), "test")


def test_each_class_is_split_by_the_fraction_with_one_at_least_each_side():
    data = labelled([50, 10, 2, 3])
    train, validation = stratified_split(data, 0.2, seed=0)
    assert validation.counts().tolist() == [10, 2, 1, 1]
    assert train.counts().tolist() == [40, 8, 1, 2]
    assert sorted(train.x[:, 0].tolist() + validation.x[:, 0].tolist()) == list(range(65))  # a partition
    assert all(file == f"f{row}.png" for file, row in zip(train.files, train.x[:, 0], strict=True))  # rows aligned


@pytest.mark.parametrize("fraction", [0.01, 0.99])
def test_extreme_fractions_still_keep_every_class_on_both_sides(fraction):
    train, validation = stratified_split(labelled([2, 5, 40]), fraction)
    assert train.counts().min() >= 1 and validation.counts().min() >= 1


def test_the_seed_decides_the_split_and_repeats_it():
    data = labelled([30, 30])
    first = stratified_split(data, 0.3, seed=1)[1].x[:, 0].tolist()
    assert stratified_split(data, 0.3, seed=1)[1].x[:, 0].tolist() == first
    assert stratified_split(data, 0.3, seed=2)[1].x[:, 0].tolist() != first


def test_a_class_with_one_example_or_a_bad_fraction_is_refused():
    with pytest.raises(
        BadData, match=r"classes 'c1' \(1\) have fewer than 2 examples.*one of every class on each side"
    ):
        stratified_split(labelled([5, 1]), 0.2)
    for fraction in (0.0, 1.0, -0.5):
        with pytest.raises(BadData, match="validation_fraction must be between 0 and 1"):
            stratified_split(labelled([5, 5]), fraction)


def test_class_weights_are_balanced():
    y = np.array([0] * 6 + [1] * 3 + [2])
    weights = class_weights(y, 4)
    assert weights == pytest.approx({0: 10 / 24, 1: 10 / 12, 2: 10 / 4, 3: 1.0})
    assert sum(weights[c] * n for c, n in enumerate([6, 3, 1])) == pytest.approx(len(y) * 3 / 4)
    with pytest.raises(BadData, match=r"class ids must be 0..1"):
        class_weights(np.array([0, 2]), 2)


def test_a_file_listed_twice_never_lands_on_both_sides():
    data = labelled([6, 6])
    files = tuple(f"f{i % 6}.png" if i < 6 else f"g{i % 3}.png" for i in range(12))  # every file two rows or more
    data = LabelledData(data.x, data.y, data.class_names, files, (), "test")
    for seed in range(10):
        train, validation = stratified_split(data, 0.5, seed=seed)
        assert not set(train.files) & set(validation.files)
        assert len(train) + len(validation) == 12 and set(validation.y.tolist()) == {0, 1}
