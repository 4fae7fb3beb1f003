"""Errors: every problem a user can cause is a CoderError with a message that says what, where and how to fix it."""

from __future__ import annotations


def first_lines(lines: list[str], limit: int = 20) -> list[str]:
    """The first `limit` lines of a message's list, and "... and N more" when some are left out.

    >>> first_lines(["a", "b", "c"], limit=2)
    ['a', 'b', '... and 1 more']
    """
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


def quoted(value: object, limit: int = 80) -> str:
    """A cell's value quoted for a message, cut when long (a whole transcript pasted into one cell).

    >>> quoted("rejct"), quoted("x" * 100, limit=5)
    ("'rejct'", "'xxxxx…' (100 characters)")
    """
    text = str(value)
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}…' ({len(text):,} characters)"


def passages_held(count: int) -> str:
    """What a message says a document holds when a row names a passage past its last: passages are numbered from
    0, so "no passage 3 (it has 3)" read as a contradiction.

    >>> passages_held(0), passages_held(1), passages_held(3)
    ('no passages', 'only passage 0', 'passages 0-2')
    """
    return "no passages" if not count else "only passage 0" if count == 1 else f"passages 0-{count - 1}"


class CoderError(Exception):
    """A problem with the user's input; the CLI prints it as `Error: ...` and exits 1."""


class CodebookError(CoderError):
    """The codebook YAML is malformed or inconsistent."""

    SHOWN = 50

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(dict.fromkeys(problems))
        shown = self.problems[:self.SHOWN]
        if len(self.problems) > self.SHOWN:
            shown.append(f"... and {len(self.problems) - self.SHOWN} more problems.")
        super().__init__("\n".join(shown))


class CorpusError(CoderError):
    """The corpus path is missing or holds nothing that can be read."""


class OutputError(CoderError):
    """An output or input file produced by an earlier run is missing or malformed."""


class RegexTimeoutError(CoderError):
    """A codebook regex took longer than its time limit on one passage (catastrophic backtracking)."""

    def __init__(self, code: str, pattern: str, document: str, passage: int, seconds: float):
        # The fields are the args, so the error crosses process boundaries (pickle) intact.
        super().__init__(code, pattern, document, passage, seconds)
        self.code, self.pattern, self.document, self.passage, self.seconds = code, pattern, document, passage, seconds

    def __str__(self) -> str:
        owner = f" of code '{self.code}'" if self.code else ""
        return (
            f"regex '{self.pattern}'{owner} took more than {self.seconds:g} s on passage "
            f"{self.passage} of '{self.document}' and was stopped. It backtracks without end on text that "
            f"almost matches: remove nested repeats such as (a+)+ or (\\w+\\s?)+, or make them atomic (?>...)."
        )


class RegexBudgetError(CoderError):
    """A codebook regex spent more than its time budget over many passages, each within its limit."""

    def __init__(self, code: str, pattern: str, seconds: float, passages: int):
        super().__init__(code, pattern, seconds, passages)
        self.code, self.pattern, self.seconds, self.passages = code, pattern, seconds, passages

    def __str__(self) -> str:
        owner = f" of code '{self.code}'" if self.code else ""
        return (
            f"regex '{self.pattern}'{owner} spent more than {self.seconds:g} s on {self.passages:,} passages and was "
            f"stopped: it backtracks on much of this corpus. Remove nested or overlapping repeats such as (a+)+ or "
            f"(a|aa)+, or make them atomic (?>...)."
        )
