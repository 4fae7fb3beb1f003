"""Regexes: a codebook regex in Python `re` syntax, checked and compiled once for the bounded `regex` engine.

Python's `re` cannot stop a match that backtracks for ever (`(a|aa)+$` on forty a's). The
`regex` module runs the same patterns (VERSION0 is its `re`-compatible mode) with a time limit.
Patterns are parsed with `re`'s own parser first, so what is valid, and what it means, stays
what it was under `re`; repeat counts are capped because `regex` expands counted repeats in
memory (`a{2147483648}` exhausts it).
"""

from __future__ import annotations

import re
import re._constants as _sre
import re._parser as _sre_parse
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

# Seconds one regex may spend on one passage; matching normally takes microseconds.
REGEX_TIMEOUT = 2.0
# CPU seconds one regex may spend in all, over the passages one process matches: a pattern that takes a
# second on each of many short passages (never over REGEX_TIMEOUT) would otherwise cost hours. CPU, not
# wall time: on a loaded machine the waits for a core would stop a cheap regex over a large corpus.
REGEX_BUDGET = 60.0
# Largest count in one repeat ({n}, {n,m}), and largest product of nested counts.
MAX_REPEAT_COUNT = 65535
_MAX_REPEAT_PRODUCT = 100_000
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


# Syntax the `regex` engine reads as features where Python's re reads text: fuzzy-match constraints
# ({e<=1}, {i<=1,d<=1}, {e}) and POSIX classes ([[:alpha:]]).
_FUZZY = re.compile(r"(?<!\\)\{[^{}\d]*\b[eisd]\b[^{}]*\}")
_POSIX_CLASS = re.compile(r"\[\[:\^?[a-z]+:\]")


class RegexProblem(ValueError):
    """A regex that cannot be used, with a message that ends in a full stop."""


def compile_regex(pattern: str) -> regex.Pattern:
    """Compile a codebook regex (case-insensitive, `re` syntax) for matching with a time limit.

    Raises RegexProblem when `re` rejects the pattern or a repeat count is too large.

    >>> compile_regex("joint[- ]conferences?").search("Joint conference").group()
    'Joint conference'
    """
    if _FUZZY.search(pattern):
        raise RegexProblem("`{e<=1}`-style braces are fuzzy matching in other regex engines but literal text in "
                           "Python's re; write \\{ and \\} for the braces, or spell the variants out.")
    if _POSIX_CLASS.search(pattern):
        raise RegexProblem("POSIX classes such as [[:alpha:]] are not Python re syntax; use [^\\W\\d_] for a letter, "
                           "\\d for a digit, \\s for a space.")
    try:
        with warnings.catch_warnings():  # re's FutureWarnings ("Possible nested set") name its own source lines
            warnings.simplefilter("ignore", FutureWarning)
            tree = _sre_parse.parse(pattern, re.IGNORECASE)
    except re.error as error:
        raise RegexProblem(f"{error}.") from None
    except (OverflowError, RecursionError):
        raise RegexProblem(f"a repeat count is above {MAX_REPEAT_COUNT} or groups are nested too deep.") from None
    _check_counts(tree, 1)
    # Imported here: a codebook without regexes (and a run that loads one only to relabel) never needs it.
    import regex

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern, re.IGNORECASE)  # the rest of re's checks (group references, flags)
            return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except (re.error, regex.error) as error:
        raise RegexProblem(f"{error}.") from None
    except (OverflowError, RecursionError, MemoryError):
        raise RegexProblem("too large to compile; use fewer or smaller repeats.") from None


def has_nested_quantifier(pattern: str) -> bool:
    """True when a repeated group holds an open-ended repeat, as in `(a+)+` or `(\\w+\\s?)+ x`:
    on text that almost matches, the two can split it in exponentially many ways.

    >>> has_nested_quantifier(r"(\\w+\\s?)+ mechanism"), has_nested_quantifier(r"(\\w+ )?x+")
    (True, False)
    """
    try:
        tree = _sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError):
        return False
    return _nested(tree, inside_repeat=False)


def _children(op, value) -> list:
    """The sub-patterns directly under one parsed item."""
    if op in _REPEATS:
        return [value[2]]
    if op == _sre.SUBPATTERN:
        return [value[3]]
    if op == _sre.BRANCH:
        return list(value[1])
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return [value[1]]
    if op == _sre.ATOMIC_GROUP:
        return [value]
    if op == _sre.GROUPREF_EXISTS:
        return [part for part in value[1:] if part is not None]
    return []


def _check_counts(tree, product: int) -> None:
    for op, value in tree:
        inner = product
        if op in _REPEATS:
            low, high = value[0], value[1]
            count = low if high == _sre.MAXREPEAT else high
            if max(low, 0 if high == _sre.MAXREPEAT else high) > MAX_REPEAT_COUNT:
                raise RegexProblem(f"a repeat count is above {MAX_REPEAT_COUNT}.")
            inner = product * max(count, 1)
            if inner > _MAX_REPEAT_PRODUCT:
                raise RegexProblem(f"nested repeat counts multiply to more than {_MAX_REPEAT_PRODUCT}.")
        for child in _children(op, value):
            _check_counts(child, inner)


def _nested(tree, *, inside_repeat: bool) -> bool:
    for op, value in tree:
        if op == _sre.ATOMIC_GROUP:
            continue  # an atomic group never gives back what it matched
        open_ended = op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and value[1] == _sre.MAXREPEAT
        if open_ended and inside_repeat:
            return True
        repeats = op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and (value[1] == _sre.MAXREPEAT or value[1] > 1)
        if any(_nested(child, inside_repeat=inside_repeat or repeats) for child in _children(op, value)):
            return True
    return False
