"""The documentation's structure: the generated CLI reference is current, every command's --help names an existing
guide, the README stays a front page whose links land, and the helpers' notes stay out of the site."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from zoo.cli.main import GUIDES, build_parser, main
from zoo.cli.reference import render, sub_commands
from zoo.version import __version__

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="argparse's help layout differs between Python versions")
def test_cli_reference_is_current():
    page = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    assert page == render(), "docs/reference/cli.md is stale: run `python -m zoo.cli.reference > docs/reference/cli.md`"


def test_cli_reference_has_every_command():
    page = render()
    for name, command in sub_commands(build_parser()).items():
        assert f"## zoo {name}\n" in page
        for action in sub_commands(command):
            assert f"#### zoo {name} {action}\n" in page


def test_every_command_help_names_an_existing_guide():
    commands = sub_commands(build_parser())
    assert set(commands) == set(GUIDES), "add each new command to GUIDES in zoo/cli/main.py"
    for name, command in commands.items():
        for parser in [command, *sub_commands(command).values()]:
            guide = re.fullmatch(r"guide: (docs/\S+\.md)", parser.epilog or "")
            assert guide and (ROOT / guide.group(1)).is_file(), f"zoo {name}: epilog {parser.epilog!r}"


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"zoo {__version__}"


def heading_anchors(page: Path) -> set[str]:
    """The anchors mkdocs (and GitHub, for these headings) give the page's headings."""
    anchors, fence = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", text)).strip("-"))
    return anchors


def test_readme_is_a_front_page_whose_links_land():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for marker in ("<!-- main-command -->", "<!-- test-command -->"):
        assert marker in text
    local = [link for link in LINK.findall(text) if not link.startswith(("http://", "https://"))]
    assert len(local) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        target = ROOT / path
        assert target.exists(), f"README links to {link}: no such file"
        if anchor:
            assert anchor in heading_anchors(target), f"README links to {link}: no such heading"


def test_readme_links_every_guide_in_one_click():
    links = set(LINK.findall(README.read_text(encoding="utf-8")))
    for guide in ("classify", "finetune", "predict", "kaggle", "devices", "weights", "data", "troubleshooting"):
        assert f"docs/{guide}.md" in links


def test_helpers_notes_stay_out_of_the_site():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"exclude_docs: \|\n(  .*\n)*  _incoming/\n", config)
    assert "strict: true" in config
