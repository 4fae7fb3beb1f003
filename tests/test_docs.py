"""Every command has help with an example and appears in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from conftest import invoke

from coder.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found = []

    def walk(command, path: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, child in command.commands.items():
                walk(child, (*path, name))
        else:
            found.append(path)

    walk(root, ())
    return found


def test_docs_command_list_is_complete():
    assert sorted(" ".join(path) for path in _commands()) == [
        "agree", "diff", "export qdc", "export qdpx", "export xlsx", "import dictionary", "import qdc",
        "kwic", "lint", "network", "review import", "review reattach", "review status", "run", "sample", "suggest",
    ]


@pytest.mark.parametrize("path", _commands(), ids=lambda path: " ".join(path))
def test_docs_every_command_has_help_with_an_example_and_is_in_the_readme(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0
    assert "Example: coder " in result.output
    assert f"coder {' '.join(path)}" in README


def test_docs_public_api_names_all_resolve():
    import coder

    missing = [name for name in coder.__all__ if not callable(getattr(coder, name, None)) and not isinstance(getattr(coder, name, None), type)]
    assert missing == []
