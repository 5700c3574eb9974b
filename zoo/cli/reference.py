"""The CLI reference page (docs/reference/cli.md), generated from the argparse parsers so it cannot drift.

`python -m zoo.cli.reference > docs/reference/cli.md` writes it; tests/test_docs_site.py fails when the page is stale.
"""

from __future__ import annotations

import argparse
import os

HEADER = (
    "# Command line reference\n\n"
    "Every `zoo` command and option, generated from the argparse parsers by `python -m zoo.cli.reference` "
    "(a test fails when this page is stale). `zoo COMMAND --help` prints the same.\n"
)


def sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's sub-commands by name, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def section(path: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """One heading per command, its --help text in a block, then its sub-commands' sections."""
    lines = [f"{'#' * min(len(path) + 1, 4)} {' '.join(path)}", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, child in sub_commands(parser).items():
        lines += section([*path, name], child)
    return lines


def render() -> str:
    """The whole page, at a fixed width so the text does not depend on the terminal."""
    from zoo.cli.main import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        lines = section(["zoo"], build_parser())
    finally:
        if previous is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = previous
    return HEADER + "\n" + "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
