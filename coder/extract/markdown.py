"""Stage 1 (Markdown): the prose of a .md file as its rendered page shows it, without the markup.

A small reader of the CommonMark blocks and spans researchers' notes and exported web pages use, in
one pass over the lines and one over each block's text, with no recursion and no pattern that scans
the rest of a line again at every character: a hostile file (5 MB of `>` or `[`, 100,000 backticks)
is read in linear time. What it gives, a paragraph per block separated by a blank line:

- an ATX (`## 一、背景`) or setext (a line underlined with `===` or `---`) heading is a paragraph of its
  own, without its `#`s or underline, so the passage splitter reads it as a heading;
- `*`, `**`, `_`, `__` and `~~` around words are dropped (not `_` inside a word, as in snake_case, nor a
  `*` between spaces, as in 2 * 3); a backslash escape gives its character;
- a link gives its text (`[text](url)` -> text, `[text][ref]` -> text), an image its alt text, an
  autolink (`<https://...>`) its address; reference definitions (`[ref]: url`) are left out;
- a code span gives its text without the backticks; a fenced code block is a paragraph of its lines as
  written (no fence lines);
- a table's rows are paragraphs, cells split by a tab (as a Word table's rows), the `|---|` row left
  out; a list's items are paragraphs (as a web page's), without their markers;
- `>` quote markers are dropped; HTML tags are dropped (`<br>` breaks the line), HTML comments too;
- YAML front matter (`---` ... `---` at the start, `key: value` lines) is metadata, not text: left out and
  listed as removed.

Offsets in segments.csv point into this text, as for every extracted format: it is written to
`OUT/texts/<document>.txt`.

>>> render_markdown("## 一、背景\\n\\nA joint **meeting** [held](http://x.org) ![the hall](h.png).").text
'一、背景\\n\\nA joint meeting held the hall.'
"""

from __future__ import annotations

import html
import re

from . import ExtractedText, ExtractionError, Removed

_FRONT_MATTER_REASON = "front matter (metadata)"
_FRONT_MATTER_LINE = re.compile(r"[ \t]*(?:[\w.-]+[ \t]*:|- |#|$)")
_QUOTE = re.compile(r"(?: {0,3}> ?)+")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+|$)")
_ITEM = re.compile(r"([ \t]*)([-+*]|(\d{1,9})[.)])(?:[ \t]+|$)")
_TASK = re.compile(r"\[[ xX]\][ \t]+")
_DEFINITION = re.compile(r" {0,3}\[[^\]\n]{1,999}\]:[ \t]*(?:<[^<>\n]*>|\S+)(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*$")
# The first characters of every line that is not plain prose: a blank line ("") and the marks of
# quotes, headings, fences, breaks, underlines, list items, comments and reference definitions.
_BLOCK_STARTS = frozenset(("", ">", "#", "`", "~", "-", "+", "*", "_", "=", "<", "[", *"0123456789"))
_DELIMITER_CELL = re.compile(r":?-+:?")
_BACKTICKS = re.compile(r"`+")
_URL = r"(?:<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))*)(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*"
# Characters no text holds, dropped from it first: a list's items and a table's rows are rendered in
# one pass with _ITEM_END between them (one call a block, not one a row), and *, _ and ~ written as
# characters (escaped, in code) stand in as the other three until the emphasis delimiters are gone.
_ITEM_END = "\x1e"
_CONTINUED = "\x1f"  # a list item's line after its first
_ESCAPED_MARKS = "\x0e\x0f\x10"
_NO_TEXT = dict.fromkeys(map(ord, _ITEM_END + _CONTINUED + _ESCAPED_MARKS))
_PROTECTED = str.maketrans("*_~", _ESCAPED_MARKS)
_RESTORED = str.maketrans(_ESCAPED_MARKS, "*_~")
_MARKUP = re.compile(r"[\\`<\[!&*_~]")
# An emphasis delimiter run is dropped where it opens or closes emphasis, kept between spaces (2 * 3)
# and, for _, inside a word (snake_case, as CommonMark reads it). Possessive runs: never part of one.
_EMPHASIS = re.compile(
    r"(?<=[^\s*])\*++|(?<!\*)\*++(?=\S)"
    r"|(?<=[^\s~])~~++|(?<!~)~~++(?=\S)"
    r"|(?<=[^\w\s])_++|(?<!_)_++(?=[^\w\s])|(?<=[^\W_])_++(?![^\W_])|(?<![^\s])_++(?=[^\W_])"
)
_SPAN = re.compile(
    r"\\(?P<escaped>[!-/:-@\[-`{-~])"
    r"|(?P<hard>\\\n)"
    r"|<(?P<autolink>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>"
    r"|!\[(?P<alt>[^\[\]\n]*)\](?:\(" + _URL + r"\)|\[[^\[\]\n]*\])"
    r"|\[(?P<link>[^\[\]\n]*)\](?:\(" + _URL + r"\)|\[[^\[\]\n]*\])"
    r"|(?P<tag></?(?P<name>[A-Za-z][A-Za-z0-9-]{0,31})(?:[ \t\n/][^<>]*)?>)"
    r"|(?P<entity>&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
)


def extract_markdown(data: bytes) -> ExtractedText:
    """The prose of a Markdown file's bytes, decoded as coder decodes a .txt file (UTF-8, UTF-16,
    GB18030, a legacy encoding); `corpus` decodes it itself when an encoding is forced.

    Raises:
        ExtractionError: the bytes are no text in an encoding coder recognises.
    """
    from ..files import DecodeError, decode_text
    from .encodings import detect_legacy, utf8_with_strays

    try:
        text, _ = decode_text(data, stray_nuls=True)
    except DecodeError as problem:
        text = utf8_with_strays(data) or (detect_legacy(data) or ("", ""))[0]
        if not text:
            raise ExtractionError(str(problem)) from None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return render_markdown(text)


def render_markdown(text: str) -> ExtractedText:
    """The prose of a Markdown text (decoded, LF line ends): headings, paragraphs, list items and table
    rows without their markup, blocks separated by a blank line (see the module's docstring).

    >>> render_markdown("- one\\n- [x] two\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |").text
    'one\\n\\ntwo\\n\\na\\tb\\n\\n1\\t2'
    """
    lines = text.translate(_NO_TEXT).split("\n")
    removed: list[Removed] = []
    start = _front_matter_end(lines)
    if start:
        removed.append(Removed(page=None, text="\n".join(lines[1:start - 1]).strip(), reason=_FRONT_MATTER_REASON))
    blocks: list[str] = []
    current: list[str] = []
    kind = ""  # of `current`: "paragraph", "list" or "table"
    fence = ""  # the open code fence's backticks or tildes
    code: list[str] = []
    comment = False  # inside an HTML comment over several lines

    def close() -> None:
        nonlocal current, kind
        if current:
            blocks.append(_render_block(current, kind))
        current, kind = [], ""

    for line in lines[start:]:
        line = line.rstrip("\r")
        if comment:
            end = line.find("-->")
            if end < 0:
                continue
            comment, line = False, line[end + 3:]
        if not fence and "|" not in line and line.lstrip(" \t")[:1] not in _BLOCK_STARTS:
            # A line of prose (most lines): no block starts with its first character.
            if kind == "table":
                close()
            if kind == "list":
                current.append(_CONTINUED + line)
            else:
                kind = "paragraph"
                current.append(line)
            continue
        quoted = _QUOTE.match(line)
        body = line[quoted.end():] if quoted else line
        if fence:
            stripped = body.strip()
            if stripped and stripped[0] == fence[0] and len(stripped) >= len(fence) and stripped == stripped[0] * len(stripped):
                blocks.append("\n".join(code).strip("\n"))
                fence, code = "", []
            else:
                code.append(body.rstrip())
            continue
        stripped = body.strip()
        if not stripped:
            close()
            continue
        if stripped.startswith("<!--") and "-->" not in stripped:
            close()
            comment = True
            continue
        opened = _FENCE.match(body)
        if opened and not (opened.group(1)[0] == "`" and "`" in body[opened.end():]):
            close()
            fence = opened.group(1)
            continue
        heading = _HEADING.match(body)
        if heading:
            close()
            blocks.append(_render_block([_without_closing_hashes(body[heading.end():])], "heading"))
            continue
        if kind == "paragraph" and _is_underline(stripped):
            current, kind = [" ".join(current)], "heading"
            close()
            continue
        if _is_break(stripped):
            close()
            continue
        if kind == "paragraph" and len(current) == 1 and "|" in current[0] and "|" in stripped and _is_delimiter_row(stripped):
            current, kind = [_cells(current[0])], "table"
            continue
        if kind == "table":
            if "|" in stripped:
                current.append(_cells(stripped))
                continue
            close()
        item = _ITEM.match(body)
        if item and not (kind == "paragraph" and item.group(3) is not None and item.group(3) != "1"):
            if kind != "list":
                close()
                kind = "list"
            rest = body[item.end():]
            task = _TASK.match(rest)
            current.append(rest[task.end():] if task else rest)
            continue
        if not current and _DEFINITION.match(body):
            continue  # a link reference definition: where a link points, not text
        if kind == "list":  # a lazy continuation line of the item (marked, not added to it: 10,000 lines)
            current.append(_CONTINUED + body)
            continue
        if not current:
            kind = "paragraph"
        current.append(body)
    close()
    if fence and code:  # a fence never closed runs to the end of the file (CommonMark)
        blocks.append("\n".join(code).strip("\n"))
    return ExtractedText(text="\n\n".join(block for block in blocks if block.strip()), format="markdown",
                         removed=tuple(removed))


def _front_matter_end(lines: list[str]) -> int:
    """The index of the first line after YAML front matter (`---`, `key: value` lines, `---` or `...`),
    or 0 when the text opens with none."""
    if not lines or lines[0].rstrip() != "---":
        return 0
    for number in range(1, min(len(lines), 200)):
        line = lines[number].rstrip()
        if line in ("---", "...") and number > 1:
            return number + 1
        if not _FRONT_MATTER_LINE.match(line):
            return 0
    return 0


def _without_closing_hashes(text: str) -> str:
    """An ATX heading's text without its optional closing #s ("Title ##" -> "Title")."""
    text = text.strip()
    bare = text.rstrip("#")
    if not bare or bare[-1] in " \t":
        return bare.rstrip()
    return text


def _is_underline(line: str) -> bool:
    """A setext heading's underline: === or --- alone (the line is stripped)."""
    return line[0] in "=-" and line == line[0] * len(line)


def _is_break(line: str) -> bool:
    """A thematic break: three or more *, - or _ (spaces between them allowed)."""
    marks = line.replace(" ", "").replace("\t", "")
    return len(marks) >= 3 and marks[0] in "*-_" and marks == marks[0] * len(marks)


def _is_delimiter_row(line: str) -> bool:
    cells = line.strip().strip("|").split("|")
    return all(_DELIMITER_CELL.fullmatch(cell.strip()) for cell in cells)


def _cells(line: str) -> str:
    """A table row as its cells split by a tab (the row's outer pipes dropped; `\\|` is a pipe in a cell)."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return "\t".join(cell.strip().replace("\\|", "|") for cell in cells)


def _render_block(lines: list[str], kind: str) -> str:
    """A block's lines with their spans rendered, each line stripped, empty lines dropped; a heading on one
    line; a list's items and a table's rows each a paragraph, as a web page's list items and a Word
    table's rows are. The items of a block are rendered in one pass, told apart by _ITEM_END."""
    if kind == "list":
        rendered = _render_spans("".join("\n" + line[1:] if line[:1] == _CONTINUED else _ITEM_END + line for line in lines)[1:])
    else:
        rendered = _render_spans(_ITEM_END.join(lines) if kind == "table" else "\n".join(lines))
    if kind == "table":  # cells keep their tabs
        rows = ("\t".join(cell.strip() for cell in row.replace("\n", " ").split("\t")) for row in rendered.split(_ITEM_END))
        return "\n\n".join(row for row in rows if row.strip())
    if kind == "list":
        items = ("\n".join(line.strip() for line in item.split("\n") if line.strip()) for item in rendered.split(_ITEM_END))
        return "\n\n".join(item for item in items if item)
    shown = [line.strip() for line in rendered.split("\n")]
    shown = [line for line in shown if line]
    return " ".join(shown) if kind == "heading" else "\n".join(shown)


def _render_spans(text: str) -> str:
    """`text` with its inline markup rendered: code spans first (their text as written), then links,
    images, escapes, tags and entities in one pass over the rest, then emphasis delimiters."""
    if not _MARKUP.search(text):
        return text
    text = _without_comments(text)
    pieces: list[str] = []
    # The backtick runs' starts and ends in two lists of numbers, not a list of pairs: millions of tuples
    # make the garbage collector walk them again and again (1.25 million code spans took 7 times as long as 0.3 million).
    starts, ends = [], []
    for match in _BACKTICKS.finditer(text) if "`" in text else ():
        starts.append(match.start())
        ends.append(match.end())
    # Each opening run of n backticks closes at the next run of exactly n: the runs of each length are
    # looked through once, left to right (100,000 unmatched backticks take one pass, not one each).
    by_length: dict[int, list[int]] = {}
    for number, (start, end) in enumerate(zip(starts, ends)):
        by_length.setdefault(end - start, []).append(number)
    next_of: dict[int, int] = {}  # a length's position in by_length, moved on as the runs are passed
    position, number = 0, 0
    while number < len(starts):
        start, end = starts[number], ends[number]
        same = by_length[end - start]
        at = next_of.get(end - start, 0)
        while at < len(same) and same[at] <= number:
            at += 1
        next_of[end - start] = at
        closing = same[at] if at < len(same) else None
        if closing is None or _ITEM_END in text[end:starts[closing]]:  # (no code span across two list items)
            number += 1
            continue
        pieces.append(_SPAN.sub(_span, text[position:start]))
        content = text[end:starts[closing]].replace("\n", " ")
        if len(content) > 2 and content[0] == " " and content[-1] == " " and content.strip():
            content = content[1:-1]
        pieces.append(content.translate(_PROTECTED))
        position = ends[closing]
        number = closing + 1
    pieces.append(_SPAN.sub(_span, text[position:]))
    text = _EMPHASIS.sub("", "".join(pieces))
    return text.translate(_RESTORED)


def _without_comments(text: str) -> str:
    """`text` without its HTML comments (<!-- ... -->), found with two finds each: linear however many open."""
    if "<!--" not in text:
        return text
    kept, position = [], 0
    while True:
        start = text.find("<!--", position)
        if start < 0:
            break
        end = text.find("-->", start + 4)
        if end < 0:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


def _span(match: re.Match) -> str:
    group = match.lastgroup
    if group == "escaped":
        return match.group("escaped").translate(_PROTECTED)
    if group == "hard":
        return "\n"
    if group == "autolink":
        return match.group("autolink")
    if group in ("alt", "link"):
        return _SPAN.sub(_span, match.group(group))  # no bracket inside: no link in it, one level deep
    if group in ("tag", "name"):
        return "\n" if match.group("name").lower() == "br" else ""
    if group == "entity":
        return html.unescape(match.group("entity")).translate(_PROTECTED)
    return match.group()
