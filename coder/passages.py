"""Stage 3: Document -> Passages with exact character offsets.

Every passage keeps `document.text[start:end]` as its span, so a match found in the passage
can be shown, counted and reviewed in the original text. Three strings describe it:

- the span, `document.text[start:end]`, with surrounding whitespace and debris left out;
- `view`, the same length as the span, where extraction debris is blanked (replaced by
  spaces) and every line break is a space; the matcher runs on it and adds `start`;
- `text`, the readable form for reviewers: whitespace collapsed, words hyphenated at a line
  end rejoined.

Debris (blanked in `view`, never deleted): a table pipe at the start ("| ") or end (" |") of a
line, a Markdown table rule line ("|---|---|"), and a lone page number on its own line
("12", "- 12 -", "Page 3", "12/40", "第3页"). Web and PDF boilerplate lines are real text and stay.

Paragraph unit. Paragraphs are separated by blank lines (empty or whitespace-only, including
no-break spaces); single line breaks inside a paragraph are joined. A page-number line
inside a paragraph does not end it. Double-spaced documents (PDF pastes where each text
line is followed by one blank line, as seeds/regional_cooperation_governance_paper.txt) are
detected: at least 5 text lines, more than half of the gaps between text lines are exactly
one blank line, and a sentence runs on across most of those gaps. A gap is inside a sentence
when the line before does not end in . ! ? : ; 。 ！ ？ ： ； or a closing quote or bracket,
and the line after starts with a lowercase letter, or (Chinese has no capitals) with a CJK
character or mark when the line before is a full line (at least 15 characters and 80% of
the document's full line length, the 75th percentile of its line lengths: a PDF column
breaks full lines, while a title, an author or a heading line is short) and the line after
is not a heading or a label (一、 （一） 第一章 摘要 关键词 中图分类号 ...). "Most" means more than
half of the single gaps, or, with at least 3 such gaps, more than half of the single gaps
after a full line (so the short front-matter lines of a Chinese paste do not outvote its
body). In such a document one blank line is a line break, a run of two or more blank lines
is a paragraph break, and a run holding a page number or a lone note marker ("[1]①") is a
page break, which does not end the paragraph.

Long paragraphs. A paragraph longer than `max_chars` is cut at sentence boundaries and the
sentences are packed greedily into passages of at most `max_chars`. A single sentence
longer than `max_chars` stays whole unless it is longer than `2 * max_chars`; then it is cut
after the last clause mark (; ； ， , 、) before the limit, else at the last space, else at the
limit. The sentence rule is a fast regular expression: after . ! ? (and closing quotes)
followed by whitespace or directly by a capital letter ("the party.Party building"), after
。！？ and after an ellipsis (… ……); not after common abbreviations (e.g. i.e. U.S. No.
Vol. Dr. Mr. et al.), single initials or section numbers ("2.1." with parts of one or two
digits; a year such as "2020." still ends a sentence), not between digits (2.1.3, 3.5%), and not when the
next word starts with a lowercase letter.

Sentence unit. spaCy's rule-based "sentencizer" on a blank English pipeline (no model),
run on each paragraph's view after cutting at 。！？, so sentences never cross paragraphs
and Chinese sentences are split even inside a run of CJK characters. A sentence that ends
with one of the abbreviations above is joined to the next.

Document unit. One passage: the whole text without surrounding whitespace and debris.

Readable `text`: a word hyphenated at a line end is rejoined without the hyphen when the
second part starts with a lowercase letter and either the joined word is in spaCy's English
lemma lookup table (spacy-lookups-data) or neither part is ("gover-\\nnance" ->
"governance"); otherwise the hyphen stays ("cross-\\nregional" -> "cross-regional"). A word
broken across lines without a hyphen, with no space before the break ("tri\\nggered"), is
rejoined only when the joined word is in the table and at least one part is not. A line
break between two CJK characters or CJK punctuation marks disappears (Chinese has no spaces
between words).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from .lexicon import is_cjk, is_english_word
from .models import UNITS, Document, Passage, Unit

__all__ = ["sentence_boundaries", "split_passages"]

# --- debris -------------------------------------------------------------------------------
_H = r"[^\S\n]"  # horizontal whitespace: any whitespace but a line break
_PAGE_NUMBER = re.compile(
    rf"""{_H}*(?:
        [-–—]{_H}*\d{{1,4}}{_H}*[-–—]                                  # - 12 -
      | (?:page|p\.){_H}*\d{{1,4}}(?:{_H}*(?:/|of){_H}*\d{{1,4}})?      # Page 3, Page 3 of 40
      | \d{{1,4}}(?:{_H}*/{_H}*\d{{1,4}})?                             # 12, 12/40
      | 第{_H}*\d{{1,4}}{_H}*页(?:{_H}*[/,，]?{_H}*共{_H}*\d{{1,4}}{_H}*页)?  # 第3页 共40页
    ){_H}*""",
    re.IGNORECASE | re.VERBOSE,
)
# A note marker alone on a line ("[1]①", "[2]"), left between the lines of a PDF paste: like a page
# number it does not end a paragraph there (it is not debris: it stays in the passage).
_NOTE_MARKER = re.compile(rf"{_H}*(?:\[\d{{1,3}}\]|[\u2460-\u2473]){{1,4}}{_H}*")
_TABLE_RULE = re.compile(rf"{_H}*\|[ \t:|-]*-[ \t:|-]*")
_LEADING_PIPE = re.compile(rf"^{_H}*(\|)(?={_H}|$)", re.MULTILINE)
_TRAILING_PIPE = re.compile(rf"(?<={_H})(\|){_H}*$", re.MULTILINE)

_BLANK, _PAGE, _TEXT = 0, 1, 2

# --- sentences ----------------------------------------------------------------------------
_CLOSERS = "\"'”’)]）」』】"
# Latin terminators count only before whitespace, a capital or an opening quote (so not in
# 2.1.3, 3.5% or www.example.com); the match takes the following whitespace, so it ends
# where the next sentence starts.
_SENTENCE_END = re.compile(
    rf"(?:([.!?]+)[{re.escape(_CLOSERS)}]*(?=[\sA-Z“\"'‘])|[。！？]+[{re.escape(_CLOSERS)}]*|…+[{re.escape(_CLOSERS)}]*)\s*"
)
_CJK_TERMINATOR = re.compile(rf"[。！？]+[{re.escape(_CLOSERS)}]*")
_ABBREVIATIONS = frozenset(
    ["e.g", "i.e", "u.s", "u.k", "u.n", "no", "nos", "vol", "vols", "dr", "mr", "mrs", "ms", "prof", "al", "fig", "figs", "vs", "cf", "pp", "jr", "sr", "st", "ed", "eds", "approx"]
)
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.*$")
_SECTION_NUMBER = re.compile(r"(?<![\w.])\d{1,2}(?:\.\d{1,2})*$")
_CLAUSE_MARK = re.compile(r"[;；，,、]")

# --- double spacing -------------------------------------------------------------------------
_FULL_LINE_MIN = 15
# A line starting like this starts something of its own: a numbered heading or a front-matter label.
_LINE_LABEL = re.compile(
    r"[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]{1,3}[）)]|第[一二三四五六七八九十百\d]+[章节部篇]|"
    r"(?:摘\s*要|关\s*键\s*[词字]|關\s*鍵\s*[詞字]|中[图圖]分[类類][号號]|文[献獻][标標]识[码碼]|文[献獻][标標]識[码碼]|文章[编編][号號]|收稿日期|基金[项項目资資]|作者[简簡]介|参考文献|參考文獻)"
)

# --- readable text ------------------------------------------------------------------------
# Only line breaks are examined (the text between them is never scanned), which keeps this fast.
_LINE_BREAK = re.compile(r"\n\s*")
_WORD_BEFORE_HYPHEN = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?=-$)")
_LATIN_WORD_AT_END = re.compile(r"(?<![A-Za-z])[A-Za-z]+$")
_WORD_AT_START = re.compile(r"[^\W\d_]+")
_LOWER_WORD_AT_START = re.compile(r"[a-z]+(?![^\W\d_])")
_WINDOW = 64
_TERMINAL = frozenset(".!?:;。！？：；" + _CLOSERS)


def split_passages(document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200) -> list[Passage]:
    """Split a document into passages (paragraphs, sentences or the whole document).

    `max_chars` applies to the paragraph unit only (see the module docstring for the rules).

    >>> doc = Document("a.txt", "| First line\\nsame paragraph. |\\n\\n12\\n\\nSecond.")
    >>> [(p.start, p.end, p.text) for p in split_passages(doc)]
    [(2, 28, 'First line same paragraph.'), (36, 43, 'Second.')]
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be 'paragraph', 'sentence' or 'document', not {unit!r}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    text = document.text
    if not text or text.isspace():
        return []
    view = _blank_debris(text)
    if unit == "document":
        spans: Iterator[tuple[int, int]] = iter([(0, len(text))])
    else:
        paragraphs = _paragraphs(text)
        if unit == "sentence":
            spans = _sentence_spans(view, paragraphs)
        else:
            spans = _packed_spans(view, paragraphs, max_chars)
    passages: list[Passage] = []
    for start, end in spans:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        raw = view[start:end]
        passages.append(
            Passage(
                document=document.path,
                index=len(passages),
                start=start,
                end=end,
                view=raw.replace("\n", " "),
                text=_readable(raw),
            )
        )
    return passages


def sentence_boundaries(view: str) -> list[int]:
    """Offsets where a new sentence starts in `view` (fast rule, no spaCy), ascending.

    >>> sentence_boundaries("In the party.Party building. Dr. Li came. 3.5% rose。下一句")
    [13, 29, 42, 52]
    """
    cuts: list[int] = []
    length = len(view)
    for match in _SENTENCE_END.finditer(view):
        cut = match.end()
        if cut >= length:
            break
        latin = match.group(1)
        if latin is not None:
            if view[cut].islower():
                continue  # "approx. five": probably not a sentence end
            if latin == "." and _after_abbreviation(view, match.start()):
                continue
        cuts.append(cut)
    return cuts


# --- helpers --------------------------------------------------------------------------------


def _blank_debris(text: str) -> str:
    """The document text with every debris character replaced by a space (same length, LF kept)."""
    spans: list[tuple[int, int]] = []
    position = 0
    for line in text.split("\n"):
        if (len(line) <= 40 and _PAGE_NUMBER.fullmatch(line)) or ("|" in line and _TABLE_RULE.fullmatch(line)):
            spans.append((position, position + len(line)))
        position += len(line) + 1
    if "|" in text:
        spans.extend(match.span(1) for match in _LEADING_PIPE.finditer(text))
        spans.extend(match.span(1) for match in _TRAILING_PIPE.finditer(text))
        spans.sort()
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        start = max(start, position)
        if end <= start:
            continue
        pieces.append(text[position:start])
        pieces.append(" " * (end - start))
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _line_kinds(lines: list[str]) -> list[int]:
    kinds = []
    for line in lines:
        if not line or line.isspace():
            kinds.append(_BLANK)
        elif len(line) <= 40 and (_PAGE_NUMBER.fullmatch(line) or _NOTE_MARKER.fullmatch(line)):
            kinds.append(_PAGE)
        else:
            kinds.append(_TEXT)
    return kinds


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, before trimming; see the module docstring for the rules."""
    lines = text.split("\n")
    kinds = _line_kinds(lines)
    starts = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    double_spaced = _is_double_spaced(lines, kinds)
    paragraphs: list[tuple[int, int]] = []
    first = last = None  # line numbers of the open paragraph's first and last content line
    gap_blanks = 0
    gap_has_page = False
    for number, kind in enumerate(kinds):
        if kind == _BLANK:
            gap_blanks += 1
            continue
        if kind == _PAGE and double_spaced:
            gap_has_page = True
            continue
        if first is not None and gap_blanks and (not double_spaced or (gap_blanks >= 2 and not gap_has_page)):
            paragraphs.append((starts[first], starts[last] + len(lines[last])))
            first = None
        if first is None:
            first = number
        last = number
        gap_blanks = 0
        gap_has_page = False
    if first is not None:
        paragraphs.append((starts[first], starts[last] + len(lines[last])))
    return paragraphs


def _is_double_spaced(lines: list[str], kinds: list[int]) -> bool:
    gaps = single = inside_sentence = after_full = 0
    previous = None
    blanks = 0
    paged = False
    full = _full_line_length(lines, kinds)
    for number, kind in enumerate(kinds):
        if kind != _TEXT:
            blanks += kind == _BLANK
            paged = paged or kind == _PAGE
            continue
        if previous is not None:
            gaps += 1
            if blanks == 1 and not paged:
                single += 1
                before = lines[previous].strip()
                after_full += _is_full(before, full)
                inside_sentence += _runs_on(before, lines[number].strip(), full)
        previous = number
        blanks = 0
        paged = False
    if gaps < 4 or 2 * single <= gaps:
        return False
    # Most single gaps run on (an English paste), or most gaps after a full line do (a Chinese paste
    # whose front matter, title and headings on short lines of their own, would outvote its body).
    return 2 * inside_sentence > single or (inside_sentence >= 3 and 2 * inside_sentence > after_full)


def _full_line_length(lines: list[str], kinds: list[int]) -> int:
    """The length of a full line of the document: the 75th percentile of its text lines' lengths.

    In a PDF paste most lines fill the column, so this is the column width; in an ordinary
    article it is a paragraph's length, which no title, author or heading line reaches.
    """
    lengths = sorted(len(line.strip()) for line, kind in zip(lines, kinds) if kind == _TEXT)
    return lengths[(3 * len(lengths)) // 4] if lengths else 0


def _is_full(line: str, full: int) -> bool:
    """A line as long as a full line of the document (and not a short one in a short-lined document)."""
    return len(line) >= max(_FULL_LINE_MIN, 0.8 * full)


def _runs_on(before: str, after: str, full: int) -> bool:
    """Does a sentence run on from the line `before` a single blank line to the line `after` it?

    Latin text: the line after starts with a lowercase letter. Chinese has no capitals, so a
    CJK line after counts only when the line before is a full line (at least 15 characters and
    80% of the document's full line length), as a PDF column breaks it, and the line after is
    not a heading or a front-matter label ("一、引言", "（一）", "摘要:", "关键词").
    """
    if not before or not after or before[-1] in _TERMINAL:
        return False
    if after[0].islower():
        return True
    return _is_wide(after[0]) and _is_full(before, full) and _LINE_LABEL.match(after) is None


def _is_wide(char: str) -> bool:
    """A CJK character or CJK/full-width punctuation: no space is written next to these."""
    return is_cjk(char) or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef"


def _trim(view: str, start: int, end: int) -> tuple[int, int] | None:
    """Shrink [start, end) past whitespace and blanked debris; None if nothing is left."""
    while start < end and view[start].isspace():
        start += 1
    while end > start and view[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _after_abbreviation(view: str, dot: int) -> bool:
    """True if the period at `dot` ends an abbreviation ("e.g.", "et al."), an initial or a section number."""
    if _SECTION_NUMBER.search(view, max(0, dot - 12), dot):
        return True  # a section number: "1. Introduction", "2.2.1. The regional economics"
    match = _WORD_BEFORE.search(view, max(0, dot - 12), dot)
    if match is None:
        return False
    word = match.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial: "L. P. Xu"
    return word.lower() in _ABBREVIATIONS


def _packed_spans(view: str, paragraphs: list[tuple[int, int]], max_chars: int) -> Iterator[tuple[int, int]]:
    for start, end in paragraphs:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        if end - start <= max_chars:
            yield start, end
            continue
        paragraph = view[start:end].replace("\n", " ")
        cuts = [0, *sentence_boundaries(paragraph), len(paragraph)]
        chunk = 0
        for left, right in zip(cuts, cuts[1:]):
            if right - chunk <= max_chars:
                continue
            if left > chunk:
                yield start + chunk, start + left
                chunk = left
            if right - left > max_chars:
                if right - left > 2 * max_chars:
                    for piece_start, piece_end in _cut_long_sentence(paragraph, left, right, max_chars):
                        yield start + piece_start, start + piece_end
                else:
                    yield start + left, start + right
                chunk = right
        if chunk < len(paragraph):
            yield start + chunk, end


def _cut_long_sentence(view: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut a sentence longer than 2 * max_chars after clause marks, else spaces, else anywhere."""
    while end - start > max_chars:
        limit = start + max_chars
        cut = 0
        for match in _CLAUSE_MARK.finditer(view, start, limit):
            cut = match.end()
        if cut <= start:
            space = view.rfind(" ", start + 1, limit)
            cut = space if space > start else limit
        yield start, cut
        start = cut
    yield start, end


def _sentence_spans(view: str, paragraphs: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    nlp = _sentencizer()
    for start, end in paragraphs:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        paragraph = view[start:end].replace("\n", " ")
        pieces = [0, *(m.end() for m in _CJK_TERMINATOR.finditer(paragraph) if m.end() < len(paragraph)), len(paragraph)]
        spans: list[tuple[int, int]] = []
        chunks = [paragraph[left:right] for left, right in zip(pieces, pieces[1:])]
        for offset, doc in zip(pieces, nlp.pipe(chunks)):
            for sent in doc.sents:
                left, right = offset + sent.start_char, offset + sent.end_char
                if spans and _ends_with_abbreviation(paragraph, spans[-1]):
                    spans[-1] = (spans[-1][0], right)
                else:
                    spans.append((left, right))
        for left, right in spans:
            yield start + left, start + right


def _ends_with_abbreviation(paragraph: str, span: tuple[int, int]) -> bool:
    end = span[1]
    while end > span[0] and paragraph[end - 1].isspace():
        end -= 1
    return end > span[0] and paragraph[end - 1] == "." and _after_abbreviation(paragraph, end - 1)


@lru_cache(maxsize=1)
def _sentencizer():
    import spacy  # only the sentence unit needs spaCy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**9
    return nlp


def _readable(raw: str) -> str:
    """The reviewer's text: `raw` is the blanked span with its line breaks still in place."""
    if "\n" not in raw:
        return " ".join(raw.split())
    pieces: list[str] = []
    position = 0
    for match in _LINE_BREAK.finditer(raw):
        start, end = match.span()
        before = raw[max(position, start - _WINDOW) : start]
        stripped = before.rstrip()
        after = raw[end : end + _WINDOW]
        if not stripped or not after:
            continue
        cut = start - (len(before) - len(stripped))  # drop the line's trailing spaces too
        joined = None
        if stripped[-1] == "-":
            first = _WORD_BEFORE_HYPHEN.search(stripped)
            second = _WORD_AT_START.match(after)
            if first and second:
                joined = "" if rejoins_hyphenated(first.group(), second.group()) else "-"
                cut -= 1
        elif len(stripped) == len(before):  # no space before the break: maybe a word cut in two
            first = _LATIN_WORD_AT_END.search(before)
            second = _LOWER_WORD_AT_START.match(after)
            if first and second and _rejoin_broken(first.group(), second.group()):
                joined = ""
        if joined is None and _is_wide(stripped[-1]) and _is_wide(after[0]):
            joined = ""
        if joined is not None:
            pieces.append(raw[position:cut])
            pieces.append(joined)
            position = end
    pieces.append(raw[position:])
    return " ".join("".join(pieces).split())


def rejoins_hyphenated(first: str, second: str) -> bool:
    """Is "first-" at a line end and "second" one word? "gover" + "nance" yes; "cross" + "regional" no.

    The one rule for hyphenated line ends, shared by the readable text and the matcher.
    """
    return second[0].islower() and (is_english_word(first + second) or not (is_english_word(first) or is_english_word(second)))


def _rejoin_broken(first: str, second: str) -> bool:
    """"tri" + "ggered" -> True; "the" + "model" and "a" + "round" -> False."""
    return is_english_word(first + second) and not (is_english_word(first) and is_english_word(second))
