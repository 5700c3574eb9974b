"""Benchmark rows: measured per seed, averaged over seeds, printed as a table or JSON."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Row:
    """One recipe's measured result on one dataset: the mean over seeds of a held-out metric."""

    recipe: str
    family: str
    dataset: str
    metric: str
    value: float
    seconds: float
    seeds: int = 1
    spread: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Measure:
    """What a row measures: the recipe family, the dataset and the held-out metric."""

    family: str
    dataset: str
    metric: str


def averaged(recipe: str, measure: Measure, values: Sequence[float], seconds: Sequence[float], note: str = "") -> Row:
    """Mean (and population standard deviation) of per-seed values; seconds are summed."""
    return Row(
        recipe=recipe,
        family=measure.family,
        dataset=measure.dataset,
        metric=measure.metric,
        value=round(statistics.fmean(values), 4),
        seconds=round(sum(seconds), 1),
        seeds=len(values),
        spread=round(statistics.pstdev(values), 4) if len(values) > 1 else 0.0,
        note=note,
    )


def render(rows: Iterable[Row]) -> str:
    """A fixed-width table for people."""
    rows = list(rows)
    header = f"{'recipe':<24} {'dataset':<16} {'metric':<16} {'value':>8} {'±':>7} {'seconds':>8}  note"
    lines = [header, "-" * len(header)]
    lines += [
        f"{r.recipe:<24} {r.dataset:<16} {r.metric:<16} {r.value:>8.4f} {r.spread:>7.4f} {r.seconds:>8.1f}  {r.note}"
        for r in rows
    ]
    return "\n".join(lines)


def as_json(rows: Iterable[Row]) -> str:
    """One JSON line: a list of row objects."""
    return json.dumps([asdict(r) for r in rows])
