"""Keyword in context: every hit of a keyword, a pattern or a whole code, with the words around it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd
import yaml
from rich.cells import cell_len

from .codebook import parse_codebook
from .errors import CodebookError, CoderError, RegexTimeoutError
from .files import display_name, write_csv
from .matching import CompiledCodebook, compile_codebook, matched_text
from .models import Codebook, Document, Passage, Unit

_QUERY_CODE = "query"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class KwicLine:
    """One hit: `start`/`end` are offsets into the document text; left/right are its context."""

    document: str
    passage: int
    start: int
    end: int
    left: str
    match: str
    right: str
    code: str = ""
    rule: str = ""


def compile_query(query: str, *, compiled: CompiledCodebook | None = None) -> tuple[CompiledCodebook, set[str]]:
    """The matcher for a query and the code ids whose hits count.

    A code id of `compiled` selects that code and its descendants; `/.../` is a regex; anything
    else is a keyword under the codebook's matching rules (inflections, `*` wildcard, Chinese, with
    the words of `compiled` known to the Chinese segmenter, as in a run).
    """
    query = query.strip()
    if not query:
        raise CoderError("kwic: the query is empty. Pass a keyword, a /regex/ or a code id.")
    if compiled is not None and query in compiled:
        codebook = compiled.codebook
        wanted = {code.id for code in codebook if query in code.path}
        return compiled, wanted
    if _is_regex(query):
        rule = {"regex": [query[1:-1]]}
    else:
        rule = {"keywords": [query]}
    text = yaml.safe_dump({"codes": {_QUERY_CODE: rule}}, allow_unicode=True)
    try:
        codebook = parse_codebook(text, source="query")
    except CodebookError as error:
        problem = str(error).split(": ", 2)[-1]
        raise CoderError(f"kwic: cannot use '{query}' as a query: {problem}")
    # Chinese words are cut as the codebook's matching cuts them: 协同 is no word of 协同治理 there.
    known_words = compiled.segmenter_words if compiled is not None else ()
    return compile_codebook(codebook, known_words=known_words), {_QUERY_CODE}


def _is_regex(query: str) -> bool:
    return len(query) > 2 and query.startswith("/") and query.endswith("/")


def describe_query(query: str, codebook: Codebook | None) -> str:
    """How compile_query() reads `query` with `codebook`: a code, a regex or a keyword (naming a close
    code id, as a mistyped one is searched as a word).

    >>> describe_query("/red/", None)
    'The regex red.'
    """
    import difflib

    query = query.strip()
    if codebook is not None and query in codebook:
        return f"Code '{display_name(query)}' with its child codes (a code id; for the word, search /{display_name(query)}/)."
    if _is_regex(query):
        return f"The regex {display_name(query[1:-1])}."
    close = difflib.get_close_matches(query, [code.id for code in codebook], n=1) if codebook is not None else []
    hint = f" No code is called '{display_name(query)}': did you mean '{display_name(close[0])}'?" if close else ""
    known = "" if codebook is not None else " (no codebook: code ids are not known)"
    return f"The keyword '{display_name(query)}', as the codebook's keywords match{known}.{hint}"


def kwic(
    documents_or_passages: Iterable[Document | Passage],
    query: str,
    *,
    compiled: CompiledCodebook | None = None,
    width: int = 40,
    unit: Unit = "paragraph",
) -> list[KwicLine]:
    """Keyword-in-context lines for `query` across documents (split into passages) or passages.

    `query` is a code id of `compiled` (that code and its children), a `/regex/`, or a keyword
    matched with the same rules as the codebook. Context stays inside the passage, with line
    breaks and runs of spaces shown as one space, at most `width` characters each side.

    >>> lines = kwic(passages, "joint meeting*", width=30)  # doctest: +SKIP
    >>> lines[0].match  # doctest: +SKIP
    'joint meetings'
    """
    matcher, wanted = compile_query(query, compiled=compiled)
    lines: list[KwicLine] = []
    for passage in _passages(documents_or_passages, unit):
        try:
            found = matcher.find(passage)
        except RegexTimeoutError as error:
            if error.code != _QUERY_CODE:
                raise
            raise RegexTimeoutError("", error.pattern, error.document, error.passage, error.seconds) from None
        for match in found:
            if match.code not in wanted:
                continue
            start, end = match.start - passage.start, match.end - passage.start
            view = passage.view
            left = _left_context(view, start, width) if width else ""
            right = _right_context(view, end, width) if width else ""
            lines.append(KwicLine(
                document=passage.document, passage=passage.index, start=match.start, end=match.end,
                left=left, match=matched_text(match.text), right=right,
                code=match.code if match.code != _QUERY_CODE else "", rule=match.rule,
            ))
    return lines


def _left_context(view: str, start: int, width: int) -> str:
    """The last `width` readable characters of the view before `start`: a slice of twice that, longer while
    blanked debris (a running header and page number at a page break) leaves fewer (probe AR6: 12 blanks)."""
    span = 2 * width
    while True:
        left = _readable_context(view[max(0, start - span):start]).lstrip()
        if len(left) >= width or span >= start:
            return left[-width:]
        span *= 2


def _right_context(view: str, end: int, width: int) -> str:
    """The first `width` readable characters of the view after `end`, as _left_context reads the left."""
    span = 2 * width
    while True:
        right = _readable_context(view[end:end + span]).rstrip()
        if len(right) >= width or end + span >= len(view):
            return right[:width]
        span *= 2


def _readable_context(view: str) -> str:
    """A context cut from a passage's view as its readable text reads it ("co- ordination" broken at a
    line end as coordination, runs of spaces as one), with one space at an edge that had any (the side
    next to the match keeps its gap; the outer side is cut off by the caller)."""
    text = matched_text(view)
    if not text:
        return " " if view else ""
    return (" " if view[:1].isspace() else "") + text + (" " if view[-1:].isspace() else "")


def _passages(items: Iterable[Document | Passage], unit: Unit) -> Iterable[Passage]:
    for item in items:
        if isinstance(item, Passage):
            yield item
        else:
            from .passages import split_passages

            yield from split_passages(item, unit=unit)


def format_kwic_line(line: KwicLine, *, width: int = 40, align: int | None = None) -> tuple[str, str, str]:
    """The three columns of a line for a terminal: left context right-aligned to `align` cells (default
    `width`; Chinese characters take two) and cut to `width`, the match, the right context cut to `width`."""
    left = line.left
    while cell_len(left) > width:
        left = left[1:]
    right = line.right
    while cell_len(right) > width:
        right = right[:-1]
    align = width if align is None else align
    return " " * max(align - cell_len(left), 0) + left, line.match, right


def write_kwic_csv(lines: list[KwicLine], path: str | Path) -> Path:
    """Write KWIC lines as CSV (UTF-8 with BOM), atomically."""
    columns = [field.name for field in fields(KwicLine)]
    return write_csv(pd.DataFrame([asdict(line) for line in lines], columns=columns), path)
