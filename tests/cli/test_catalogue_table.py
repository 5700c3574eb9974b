"""The catalogue page's table (docs/catalogue.md) is the one the catalogue generates today."""

from __future__ import annotations

from pathlib import Path

from zoo.catalogue import default_catalogue
from zoo.cli.catalogue_table import format_params, markdown_table, page_section

CATALOGUE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"


def test_catalogue_page_table_is_current():
    expected = markdown_table(default_catalogue())
    assert page_section(CATALOGUE_PAGE.read_text(encoding="utf-8")) == expected, (
        "docs/catalogue.md's table is stale: replace it with the output of `zoo list --markdown`"
    )


def test_table_has_one_row_per_entry_with_its_reference():
    table = markdown_table(default_catalogue()).splitlines()
    assert len(table) == 2 + len(default_catalogue())
    row = next(line for line in table if line.startswith("| `vgg_small` |"))
    assert "test accuracy 0.9889" in row and "815.5k" in row


def test_format_params():
    assert [format_params(n) for n in (812, 61_400, 4_694_024)] == ["812", "61.4k", "4.7M"]


def test_weights_licences_are_in_the_table_and_in_zoo_info(capsys):
    from zoo.cli.main import main

    hub = [default_catalogue().get(name) for name in default_catalogue().names(family="hub")]
    assert hub and all(entry.licence in ("Apache-2.0", "MIT") for entry in hub)
    row = next(line for line in markdown_table(default_catalogue()).splitlines() if line.startswith("| `clip_b32` |"))
    assert "| MIT |" in row
    assert main(["info", "dinov2_small"]) == 0
    assert any(line.split() == ["licence", "Apache-2.0"] for line in capsys.readouterr().out.splitlines())
