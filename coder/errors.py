"""Errors: every problem a user can cause is a CoderError with a message that says what, where and how to fix it."""

from __future__ import annotations


class CoderError(Exception):
    """A problem with the user's input; the CLI prints it as `Error: ...` and exits 1."""


class CodebookError(CoderError):
    """The codebook YAML is malformed or inconsistent."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class CorpusError(CoderError):
    """The corpus path is missing or holds nothing that can be read."""


class OutputError(CoderError):
    """An output or input file produced by an earlier run is missing or malformed."""
