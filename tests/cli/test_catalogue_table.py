"""The README's catalogue table is the one the catalogue generates today."""

from __future__ import annotations

from pathlib import Path

from zoo.catalogue import default_catalogue
from zoo.cli.catalogue_table import format_params, markdown_table, readme_section

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_current():
    expected = markdown_table(default_catalogue())
    assert readme_section(README.read_text(encoding="utf-8")) == expected, (
        "README's catalogue table is stale: replace it with the output of `zoo list --markdown`"
    )


def test_table_has_one_row_per_entry_with_its_reference():
    table = markdown_table(default_catalogue()).splitlines()
    assert len(table) == 2 + len(default_catalogue())
    row = next(line for line in table if line.startswith("| `vgg_small` |"))
    assert "test accuracy 0.9889" in row and "815.5k" in row


def test_format_params():
    assert [format_params(n) for n in (812, 61_400, 4_694_024)] == ["812", "61.4k", "4.7M"]
