"""coder/passages.py as it was at c077bbf, kept unchanged (but for these lines, absolute imports and
6453888's end of a references section, zero-width characters, table rows' ends, transcripts' turns,
web pastes' lines, tables of contents, running headers, page breaks inside a sentence,
spaced English labels and menus that are no title, the sentence unit's cuts after a period, its
abbreviations and Chinese attributions, Chinese quotation marks at a line break, references on the
line after their heading, a funding label's grant text, journals' declarations, Markdown headings, their fixes after probes BG, BJ and BM, changes of behaviour since, ported) as the oracle of
tests/test_passages_oracle.py: the faster splitter must give the same passages, offsets,
views, texts, kinds and plain-text flags on every input. Its rules are told in coder/passages.py."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate

from coder.imports import LazyPattern
from coder.lexicon import (  # is_whole_word: ported since
    CJK_CHARS,
    is_cjk,
    is_english_word,
    is_whole_word,
)
from coder.models import UNITS, Document, Passage, PassageKind, Unit
from coder.passages import (  # ported since
    _ABBREVIATIONS,
    _ABBREVIATIONS_ENDING_SENTENCES,
    _ATTRIBUTION,
    _ATX_HEADING,
    _CITE_THIS,
    _DECLARATION_END,
    _DECLARATION_LABELS,
    _END_OF_REFERENCES,
    _SPACED_END,
    _SPACED_LABELS,
    _TONE_VOWELS,
    _UNREAD,
    _WIDE_BESIDE_CJK,
    _atx_headings,
    _carried,
    _carried_by,
    _citation_runs_on,
    _is_chrome,
    _is_markdown_title,
    _is_statement,
    _lone_label_runs_on,
    _mark_contents,
    _page_breaks_inside,
    _row_break_offsets,
    _running_lines,
    _sentence_cut,
    _turns,
    _unread_read,
    _wide_at_break,
)

__all__ = ["sentence_boundaries", "split_passages"]

_UNREAD_HINT = LazyPattern(f"[\u200b-\u200d\u2060\ufeff{_TONE_VOWELS}]")  # as coder.passages had it

# --- debris -------------------------------------------------------------------------------
# A pattern that takes 0.2 ms or more to compile (the CJK class alone takes 1 ms, the label and
# author patterns 2-5 ms) is a LazyPattern, compiled when first used: a keyword recode splits
# none of its documents, or a few.
_H = r"[^\S\n]"  # horizontal whitespace: any whitespace but a line break
_PAGE_NUMBER = LazyPattern(
    rf"""{_H}*(?:
        [-–—]{_H}*\d{{1,4}}{_H}*[-–—]                                  # - 12 -
      | [·•・]{_H}*\d{{1,4}}{_H}*[·•・]                               # · 25 · (ported since)
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
_SENTENCE_END = LazyPattern(
    rf"(?:([.!?]+)[{re.escape(_CLOSERS)}]*(?=[\sA-Z“\"'‘])|[。！？]+[{re.escape(_CLOSERS)}]*|…+[{re.escape(_CLOSERS)}]*)\s*"
)
_TERMINATOR_CHARS = ".!?。！？…"
_LITERALS = {char: re.compile(re.escape(char)) for char in _TERMINATOR_CHARS}
_CJK_TERMINATOR = LazyPattern(rf"[。！？]+[{re.escape(_CLOSERS)}]*")
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.*$")
_SECTION_NUMBER = re.compile(r"(?<![\w.])\d{1,2}(?:\.\d{1,2})*$")
_CLAUSE_MARK = re.compile(r"[;；，,、]")

# --- double spacing -------------------------------------------------------------------------
_FULL_LINE_MIN = 15
# A line starting like this starts something of its own: a numbered heading or a front-matter label.
_LINE_LABEL = LazyPattern(
    r"[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]{1,3}[）)]|第[一二三四五六七八九十百\d]+[章节部篇]|"
    r"(?:摘\s*要|关\s*键\s*[词字]|關\s*鍵\s*[詞字]|中[图圖]分[类類][号號]|文[献獻][标標]识[码碼]|文[献獻][标標]識[码碼]|文章[编編][号號]|收稿日期|基金[项項目资資]|作者[简簡]介|参考文献|參考文獻)"
)

# --- passage kinds ----------------------------------------------------------------------------
_CJK_RE = LazyPattern(f"[{CJK_CHARS}]")
_CJK_CLASS = f"[{CJK_CHARS}]"
# A front-matter or apparatus line starts a passage of its own (see the module docstring).
_LEAD = r"[\s•·■◎□●○◆◇▪※★☆]*"  # bullets and author marks before a line's label
_OPEN = r"[\[【〔(（]?\s*"
_CJK_END = r"(?:\s*[\]】〕)）]|\s*[:：]|\s|$)"  # 摘要: 摘要 text 【摘要】
_LATIN_END = r"\s*[\]】〕)）]?\s*(?:[:：.—–-]|$)"  # Abstract: Abstract. ABSTRACT
_CJK_KIND_LABELS = (
    ("abstract", r"(?:内容|內容)?(?:摘\s*要|提\s*要)|中文摘要"),
    ("keywords", r"[关關]\s*[键鍵]\s*[词字詞]|主[题題][词詞]"),
    ("identifier", r"中[图圖]分[类類][号號]|分[类類][号號]|文[献獻][标標][识識][码碼]|文章[编編][号號]|收稿日期|修回日期|[录錄]用日期|"
                   r"出版日期|[发發]布日期|基金[项項]目|基金[资資]助|[项項]目基金|DOI|ISSN|ISBN|CN\s*\d"),
    ("author", r"作者[简簡]介|通[讯訊]作者|作者[单單]位|作\s*者|[责責]任[编編][辑輯]"),
)
_LATIN_KIND_LABELS = (
    ("abstract", r"abstract(?:\s*/\s*summary)?|summary"),
    ("keywords", r"key\s*-?words?(?:\s*/\s*search\s+tags)?|index\s+terms"),
    ("identifier", r"doi|issn|isbn|e-issn|received|revised|accepted|published(?:\s+online)?|online|article\s+history|"
                   r"(?:to\s+)?cite\s+this\s+article|to\s+link\s+to\s+this\s+article|funding\s+for\s+this\s+(?:research|work|study|article)\s+was\s+provided\s+by|funding(?:\s+(?:information|statement|sources?))?|fund(?:ed)?\s+by|fund(?:ing)?\s+projects?|"  # ported
                   r"foundation\s+items?|clc\s+(?:number|no\.?)|"
                   r"document\s+code|article\s+id|jel(?:\s+classification)?"),
    ("author", r"corresponding\s+authors?|about\s+the\s+authors?|authors?|author\s+information|affiliations?"),
)
_LABEL = LazyPattern(
    _LEAD + _OPEN + "(?:"
    + "|".join(f"(?P<{kind}>{pattern}){_CJK_END}" for kind, pattern in _CJK_KIND_LABELS)
    + "|" + "|".join(f"(?P<{kind}_latin>{pattern}){_LATIN_END}" for kind, pattern in _LATIN_KIND_LABELS)
    + "|" + "|".join(f"(?P<{kind}_spaced>{pattern}){_SPACED_END}" for kind, pattern in _SPACED_LABELS)  # ported: spaced labels
    + f"|(?P<identifier_declaration>{_DECLARATION_LABELS}){_DECLARATION_END}"  # ported: declarations, alone or before their wording
    + ")",
    re.IGNORECASE,
)
# A journal issue line: "理论与现代化 2018年4期", "《学报》2025年第4期", "2024, Vol. 40 ›› Issue (3): 127-141."
_ISSUE = re.compile(r".{0,40}?(?:\d{4}\s*年\s*第?\s*\d{1,2}\s*期|\bVol\.?\s*\d+.{0,12}(?:No\.?|Issue)\s*\(?\d+)")
_REFERENCES_HEADING = re.compile(
    r"\s*(?:\d{1,2}\.?\s*)?(?:参考文献|參考文獻|引用文献|references|bibliography|works\s+cited|literature\s+cited)\s*[:：]?\s*",
    re.IGNORECASE,
)
_REFERENCE_ENTRY = re.compile(r"\s*[\[［]\d{1,3}[\]］]\s*\S.{8,}")
_CITATION = re.compile(r"[\[［][JMNCDRSPZGA](?:/OL)?[\]］]|\b(?:19|20)\d{2}\b")
# Numbered headings: 第一章, 一、, （一）, 1. / 1.1 / 2.1.2., I. / IV.
_NUMBERED_HEADING = LazyPattern(
    r"\s*(?:第[一二三四五六七八九十百\d]{1,3}[章节節部篇]|[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十\d]{1,2}[）)]"
    r"|\d{1,2}(?:\.\d{1,2}){0,3}\.?(?=\s*[A-Z" + CJK_CHARS + r"])|[IVX]{1,5}\.(?=\s+[A-Z]))\s*\S"
)
_HEADING_WORDS = LazyPattern(
    r"\s*(?:引\s*言|前\s*言|导\s*言|導\s*言|绪\s*论|緒\s*論|结\s*语|結\s*語|结\s*论|結\s*論|结束语|余\s*论|"
    r"introduction|conclusions?|discussion|background|literature\s+review|methods?|methodology|results?|"
    r"concluding\s+remarks)\s*[:：]?\s*",
    re.IGNORECASE,
)
_SENTENCE_INSIDE = re.compile(r"[。！？；;]|[.!?](?=\s+[A-Z])")
_DATE_ONLY = re.compile(r"[\s\d:/.,年月日-]*|[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s*\d{4}|\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4}")
_FIELD = LazyPattern(rf"\s*(?:[A-Za-z][A-Za-z /]{{1,20}}|{_CJK_CLASS}{{2,6}})\s*[:：]")
_DATE_PREFIX = r"(?:\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\s*)?"
_CJK_NAME = rf"{_CJK_CLASS}(?:\s?{_CJK_CLASS}){{1,3}}[\d*,，]*"
_CJK_AUTHORS = LazyPattern(
    rf"{_LEAD}{_DATE_PREFIX}(?:作\s*者\s*[:：]?\s*)?(?:{_CJK_NAME}(?:[\s,，、;；]+{_CJK_NAME}){{0,7}}|{_CJK_CLASS}{{5,12}})\s*"
)
_MARKED = LazyPattern(r"[■◎□◆◇★☆]|\d{4}-\d{1,2}-\d{1,2}|作\s*者|\S[\s,，、;；]+\S")
_NOT_NAMES = LazyPattern(r"[的之与與和在了是对對及于於为為以年月日第中个個下上]")
_DATE_START = re.compile(r"\s*\d{4}-")
_LATIN_NAME = r"[A-Z][a-z]+(?:[-'][A-Za-z]+)?(?:\s+[A-Z]\.)*(?:\s+[A-Z][a-z]+(?:-[a-z]+)?){1,2}[\d*†]*"
_LATIN_AUTHORS = LazyPattern(rf"\s*{_LATIN_NAME}(?:\s*(?:,|;|\band\b|&)\s*{_LATIN_NAME}){{1,7}}\s*")
_BY_LINE = re.compile(r"\s*By\s+[A-Z][a-z]+\s+[A-Z]")
_INSTITUTION = re.compile(
    r"大学|大學|学院|學院|研究院|研究所|研究中心|党校|黨校|科学院|科學院|University|Institute|College|Academy|School of|Department of|Faculty of"
)
_AFFILIATION_SHAPE = LazyPattern(r"\s*(?:[(（]|\d\s*[.、]|[\u00b9\u00b2\u00b3])|.*\b\d{6}\b|.*(?:大学|大學|学院|學院|研究院|研究所|研究中心|党校|黨校)[\s\d,，;；)）]*$|\s*(?:School|Department|Faculty|Institute|College|University)\s+of\b")

# The lines that may hold a label, a heading, a references heading, a reference entry or a
# "By ..." line: those tests' own patterns as a lookahead after each line break (a superset:
# after a line break only, the lookahead leaves every line start its own chance; the first line
# is matched on its own), behind a cheap test of the line's first characters.
_SPECIAL_FIRST = (
    r"[^\S\n]*(?:[•·■◎□●○◆◇▪※★☆\[【〔(（［\d第一二三四五六七八九十IVX内內摘提中关關主分文收修录錄出发發基项項作通责責参參引前导導绪緒结結余]"
    r"|By|(?i:ab|su|ke|in|do|is|e-|re|ac|pu|on|ar|ci|fu|fo|cl|je|co|au|af|bi|wo|li|di|ba|me|cn|to|de|da))"  # ported: declarations
)
_SPECIAL_PREFIX = (
    f"(?={_SPECIAL_FIRST})(?:(?i:{_LABEL.pattern})|{_NUMBERED_HEADING.pattern}|(?i:{_HEADING_WORDS.pattern})"
    f"|(?i:{_REFERENCES_HEADING.pattern})|{_REFERENCE_ENTRY.pattern}|{_BY_LINE.pattern})"
)
_ASCII_SPACES = frozenset(" \t\r\x0b\x0c\x1c\x1d\x1e\x1f")
_SPECIAL_ASCII_FIRST = frozenset("0123456789[(|") | _ASCII_SPACES
# The first three letters (lowercased) of each Latin label, heading word and references heading.
_SPECIAL_HEADS = frozenset(
    "abs sum key ind doi iss isb e-i rec rev acc pub onl art cit fun fou clc doc jel cor abo aut aff "
    "ref bib wor lit int con dis bac met res dec com dat".split() + ["to "]  # ported: declarations
)
# "CN 11-1234", "By A. Author", and roman section numbers ("IV. Results")
_SPECIAL_TWO = frozenset({"CN", "Cn", "cN", "cn", "By"} | {first + second for first in "IVX" for second in "IVX."})
_SPECIAL_START = LazyPattern(_SPECIAL_PREFIX, re.MULTILINE)

_CONTINUES = frozenset({"abstract", "keywords", "reference"})  # these run on over the following lines


def _line_label(line: str) -> tuple[str, bool] | None:
    """(kind, value follows on the same line) for a labelled line: 摘要, Keywords, 中图分类号, DOI, 作者简介..."""
    match = _LABEL.match(line)
    if match is None:
        return None
    kind = next(name for name, value in match.groupdict().items() if value is not None).partition("_")[0]
    return kind, bool(line[match.end():].strip())


def _is_title_like(line: str) -> bool:
    """Short, no sentence inside it, not ending in a clause mark, not a date or a "Field: value" line."""
    stripped = line.strip()
    if not 4 <= len(stripped) <= 200 or stripped[-1] in ".。;；,，:：、" or _SENTENCE_INSIDE.search(stripped):
        return False
    if _is_chrome(stripped):  # ported: a page's menu is no title
        return False
    if _DATE_ONLY.fullmatch(stripped) or _ISSUE.match(stripped):
        return False
    cjk = len(_CJK_RE.findall(stripped))
    return cjk >= 4 or len(stripped.split()) >= 3


def _is_author(line: str, *, after_title: bool, institution: bool = True) -> bool:
    """An author line (names, "By ...") or an affiliation line, read only in the front matter.

    `institution=False` says the paragraph names no institution, so the line does not either.
    """
    stripped = line.strip()
    if len(stripped) > 300:
        return False
    if institution and _INSTITUTION.search(stripped) and _AFFILIATION_SHAPE.match(stripped):
        return True
    if _BY_LINE.match(stripped):
        return True
    if len(stripped) <= 60 and _LATIN_AUTHORS.fullmatch(stripped):
        return True
    if len(stripped) <= 40 and _CJK_AUTHORS.fullmatch(stripped):
        cjk = len(_CJK_RE.findall(stripped))
        if _NOT_NAMES.search(stripped):
            return False  # 的 之 与 于 ...: a wrapped title or a phrase, not names
        core = stripped.lstrip("•·●○▪※ \t")  # list bullets are not author marks
        if cjk >= 5 and not _MARKED.search(core.lstrip("■◎□◆◇★☆ ")):
            return after_title and not _DATE_START.match(core)
        # Names marked (■, a date, 作者) or separated count anywhere in the front matter; a lone
        # name or names run together ("方浩伟", "曾凡军黄炜杨舜清") only right after a title.
        return cjk <= 16 and (_MARKED.search(core) is not None or after_title)
    return False


def _ends_references(line: str) -> bool:
    """As coder.passages has it since 6453888 (a change of behaviour after this copy was made)."""
    stripped = line.strip()
    label = _line_label(stripped)
    if label is not None:
        return label[0] in ("abstract", "keywords")
    return len(stripped) <= 40 and not _CITATION.search(stripped) and _heading(stripped, None)


def _heading(line: str, previous: str | None, *, short: bool = True) -> bool:
    """A section heading line: numbered and short, or a known heading word alone; conservative."""
    if len(line) > 80:
        return False
    if _HEADING_WORDS.fullmatch(line):
        return True
    number = _NUMBERED_HEADING.match(line)
    if number is None:
        return False
    rest = line[number.end() - 1:]
    if rest[-1] in ".。;；,，、:：" or _SENTENCE_INSIDE.search(rest):
        return False  # a numbered sentence or list item, not a heading
    if previous is not None and previous.strip() and previous.strip()[-1] not in _TERMINAL:
        return False  # the line before runs on into this one
    # Inside a paragraph, a line as long as the document's full lines may be the first line of a
    # wrapped heading or a run-in one ("2.1.2. Regional cooperation governance as a"): not cut.
    return short and len(line.split()) <= 14 and len(_CJK_RE.findall(line)) <= 40


# --- readable text ------------------------------------------------------------------------
# Only line breaks are examined (the text between them is never scanned), which keeps this fast.
_LINE_BREAK = re.compile(r"\n\s*")
_WORD_BEFORE_HYPHEN = re.compile(r"(?<![^\W\d_])[^\W\d_]+(?=-$)")
_LATIN_WORD_AT_END = re.compile(r"(?<![A-Za-z])[A-Za-z]+$")
_WORD_AT_START = re.compile(r"[^\W\d_]+")
_LOWER_WORD_AT_START = re.compile(r"[a-z]+(?![^\W\d_])")
_WINDOW = 64
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_JOIN_LAST = _ASCII_LETTERS | {"-"}
_TERMINAL = frozenset(".!?:;。！？：；" + _CLOSERS)


def split_passages(document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200) -> list[Passage]:
    """Split a document into passages (paragraphs, sentences or the whole document).

    `max_chars` applies to the paragraph unit only (see the module docstring for the rules).

    >>> doc = Document("a.txt", "| First line\\nsame paragraph. |\\n\\n12\\n\\nSecond.")
    >>> [(p.start, p.end, p.text) for p in split_passages(doc)]
    [(2, 28, 'First line same paragraph.'), (36, 43, 'Second.')]
    """
    return split_passages_noting_plain_text(document, unit=unit, max_chars=max_chars)[0]


def split_passages_noting_plain_text(
    document: Document, *, unit: Unit = "paragraph", max_chars: int = 1200
) -> tuple[list[Passage], list[bool]]:
    """split_passages(), and for each passage whether its text is known to be its view with the
    whitespace collapsed (`" ".join(view.split())`: no word was rejoined across a line break), which
    the recode cache would otherwise find out by collapsing every view again.

    >>> split_passages_noting_plain_text(Document("a.txt", "gover-\\nnance\\n\\nSecond  one."))[1]
    [False, True]
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be 'paragraph', 'sentence' or 'document', not {unit!r}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    text = document.text
    if not text or text.isspace():
        return [], []
    lines, starts, kinds, page_numbers = _line_table(text)
    view = _blank_debris(text, lines, starts, page_numbers)
    shown = None  # zero-width characters, ported: read as the matcher skips them, left out of the text
    if not view.isascii() and _UNREAD_HINT.search(view) is not None and _UNREAD.search(view) is not None:
        shown, view = view, _unread_read(view)
    row_breaks = _row_break_offsets(lines, starts) if "\t" in text or "|" in text else []
    if unit == "document":
        spans: Iterator[tuple[int, int, PassageKind]] = iter([(0, len(text), "body")])
    else:
        blocks = _blocks(view, *_paragraph_lines(lines, starts, kinds), markdown=document.path.lower().endswith(".md"))  # ported
        if unit == "sentence":
            spans = _sentence_spans(view, blocks)
        else:
            spans = _packed_spans(view, blocks, max_chars)
    passages: list[Passage] = []
    plain: list[bool] = []
    for start, end, kind in spans:
        if end <= start:
            continue
        if view[start].isspace() or view[end - 1].isspace():  # most spans are trimmed already
            trimmed = _trim(view, start, end)
            if trimmed is None:
                continue
            start, end = trimmed
        raw = view[start:end]
        rows = [offset - start for offset in row_breaks if start <= offset < end]  # ported: a row's end joins nothing
        readable, joined = _readable_text(raw, rows)
        if shown is not None and _UNREAD.search(shown, start, end) is not None:
            readable, joined = _readable_text(_UNREAD.sub("", shown[start:end]))[0], True
            if not readable:
                continue
        passages.append(
            Passage(
                document=document.path,
                index=len(passages),
                start=start,
                end=end,
                view="".join("\t" if offset in rows else char for offset, char in enumerate(raw.replace("\n", " "))),
                text=readable,
                kind=kind,
            )
        )
        plain.append(not joined)
    return passages, plain


def sentence_boundaries(view: str) -> list[int]:
    """Offsets where a new sentence starts in `view` (fast rule, no spaCy), ascending.

    >>> sentence_boundaries("In the party.Party building. Dr. Li came. 3.5% rose。下一句")
    [13, 29, 42, 52]
    """
    cuts: list[int] = []
    length = len(view)
    matched_to = 0
    match_at = _SENTENCE_END.match
    # Every match starts at a terminator, so matching at each terminator left of where the last
    # match ended finds what finditer would, without the regex trying every character.
    for position in _terminators(view):
        if position < matched_to:
            continue
        match = match_at(view, position)
        if match is None:
            continue
        cut = matched_to = match.end()
        if cut >= length:
            break
        latin = match.group(1)
        if latin is not None:
            if view[cut].islower():
                continue  # "approx. five": probably not a sentence end
            if latin == "." and _after_abbreviation(view, match.start()):
                continue
        elif view[cut - 1] in _CLOSERS and _ATTRIBUTION.match(view, cut):
            continue  # “联席会议很有用！”他说。
        cuts.append(cut)
    return cuts


def _terminators(view: str) -> list[int]:
    """Offsets of every sentence terminator character in `view`, ascending (one fast scan per
    character present: a character class makes the regex engine test every position)."""
    present = [char for char in _TERMINATOR_CHARS if char in view]
    if not present:
        return []
    if len(present) == 1:
        return [match.start() for match in _LITERALS[present[0]].finditer(view)]
    return sorted([match.start() for char in present for match in _LITERALS[char].finditer(view)])


# --- helpers --------------------------------------------------------------------------------


def _blank_debris(text: str, lines: list[str] | None = None, starts: list[int] | None = None,
                  page_numbers: list[int] | None = None) -> str:
    """The document text with every debris character replaced by a space (same length, LF kept).

    `lines`, `starts` and `page_numbers` (the numbers of the lines that are a lone page number)
    are what `_line_table` found, passed on so the lines are not split and read twice.
    """
    if lines is None or starts is None or page_numbers is None:
        lines, starts, _, page_numbers = _line_table(text)
    spans = [(starts[number], starts[number] + len(lines[number])) for number in page_numbers]
    if "|" in text:
        # Only the lines holding a pipe are read: the same matches as the MULTILINE patterns over the
        # whole text (neither looks past its line), without scanning every character for them.
        for number in [number for number, line in enumerate(lines) if "|" in line]:
            start = starts[number]
            end = start + len(lines[number])
            if _TABLE_RULE.fullmatch(lines[number]):
                spans.append((start, end))
            for pattern in (_LEADING_PIPE, _TRAILING_PIPE):
                match = pattern.search(text, start, end)
                if match is not None:
                    spans.append(match.span(1))
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


def _line_table(text: str) -> tuple[list[str], list[int], list[int], list[int]]:
    """The document's lines, the offset where each starts, each line's kind (blank, page number
    or note marker, text) and the numbers of the lines that are a lone page number (debris)."""
    lines = text.split("\n")
    # accumulate over C callables only: no Python frame per line
    starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
    kinds, page_numbers = _classify_lines(lines)
    return lines, starts, kinds, page_numbers


def _classify_lines(lines: list[str]) -> tuple[list[int], list[int]]:
    kinds = [_TEXT if line and not line.isspace() else _BLANK for line in lines]
    page_numbers = []
    # Only a short line can be a page number or a note marker.
    for number in [number for number, line in enumerate(lines) if 0 < len(line) <= 40]:
        if kinds[number] == _TEXT:
            line = lines[number]
            if _PAGE_NUMBER.fullmatch(line):
                kinds[number] = _PAGE
                page_numbers.append(number)
            elif _NOTE_MARKER.fullmatch(line):
                kinds[number] = _PAGE
    running = _running_lines(lines, kinds)  # ported: running headers and footers
    if running:
        for number in running:
            kinds[number] = _PAGE
        page_numbers = sorted([*page_numbers, *running])
    return kinds, page_numbers


def _line_kinds(lines: list[str]) -> list[int]:
    return _classify_lines(lines)[0]


def _paragraph_lines(
    lines: list[str], starts: list[int], kinds: list[int]
) -> tuple[list[list[tuple[int, int]]], int, bool]:
    """The (start, end) of each content line (text or page number), grouped by paragraph (see the
    module docstring), the document's full line length, and whether it is double spaced."""
    full = _full_line_length(lines, kinds)
    double_spaced = _is_double_spaced(lines, kinds, full=full)
    paragraphs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    if double_spaced:
        content = [number for number, kind in enumerate(kinds) if kind == _TEXT]
    else:
        content = [number for number, kind in enumerate(kinds) if kind != _BLANK]
    own_lines = _turns(lines, kinds) if not double_spaced else frozenset()  # ported: turns, web pastes
    # ported: a page break that a sentence runs on across
    page_break = _page_breaks_inside(lines, kinds, full) if not double_spaced and _PAGE in kinds else frozenset()
    previous = -2
    for number in content:
        # A gap between content lines: in a double-spaced document only two or more blank lines
        # and no page number end a paragraph; else any blank line does.
        if current and (number in own_lines or number - previous > 1 and number not in page_break and (
            not double_spaced or (number - previous > 2 and _PAGE not in kinds[previous + 1 : number])
        )):
            paragraphs.append(current)
            current = []
        start = starts[number]
        current.append((start, start + len(lines[number])))
        previous = number
    if current:
        paragraphs.append(current)
    return paragraphs, full, double_spaced


def _blocks(
    view: str, paragraphs: list[list[tuple[int, int]]], full: int, double_spaced: bool, *, markdown: bool = False
) -> list[tuple[int, int, PassageKind]]:
    """Paragraphs cut before (and after) front-matter and apparatus lines, each block with its kind.

    See the module docstring for the rules. Only a line's start is matched against the labels,
    and the front-matter tests run only until the body starts, so long documents cost little more.
    """
    blocks: list[list] = []  # [start, end, kind, runs on over the next lines]
    in_front, in_references = True, False
    front_end = None  # the first block after the front matter
    carried: str | None = None  # a label alone in its paragraph ("摘要:") gives its kind to the next one
    ordered = _special_lines(view)
    if markdown and "#" in view:  # ported: Markdown headings
        ordered = sorted({*ordered, *_atx_headings(view)})  # ported: not in a fenced code block
    special = set(ordered)
    for lines in paragraphs:
        opens = carried  # ported: a journal's declaration alone in its paragraph
        if not in_references and _is_statement(view, lines[0][0], lines[-1][1]):  # ported: known wordings, "supported by" with a grant number
            opens = "statement"
        if not (in_front or in_references or opens) and (
            (after := bisect_left(ordered, lines[0][0])) == len(ordered) or ordered[after] > lines[-1][0]
        ):
            # A body paragraph with no special line: every line runs on into one body block (the
            # loop below would do the same, line by line), from its first line not blanked.
            for start, end in lines:
                if not view[start:end].isspace():
                    blocks.append([start, lines[-1][1], "body", False])
                    break
            continue
        current: list | None = None
        previous: str | None = None
        first_of_paragraph = True
        institution: list[bool] = []  # is there an institution's name in the paragraph? (asked once)
        for start, end in lines:
            line = view[start:end]
            if line.isspace():  # a blanked page number
                if current is not None:
                    current[1] = end
                continue
            kind: str | None = None
            runs_on = False
            atx = _ATX_HEADING.match(line) if markdown and start in special else None  # ported
            if atx is not None:
                line = " " * atx.end(1) + line[atx.end(1):]
            if in_references and (atx is not None or (first_of_paragraph and _ends_references(line))):  # ported: a Markdown heading
                in_references = False  # 6453888, ported: a table of contents' "References", or a second paper
            if in_references:
                if len(line) <= 60 and _END_OF_REFERENCES.match(line):  # ported: 附件, Annex, contributors' notes, 注释, Endnotes, Table 1 too
                    kind, in_references = "heading", False
                    if (label := _line_label(line)) is not None and label[0] == "author":  # ported
                        kind, runs_on = "author", False if label[1] else "label"
                elif first_of_paragraph or _REFERENCE_ENTRY.match(line) or (current is not None and current[2] == "heading"):
                    kind, runs_on = "reference", True  # ported: entries on the line after the references heading
            elif start not in special:
                # Not a label, heading or reference line: in the front matter it may still be an
                # issue or an author line (the same tests as below, in the same order).
                if in_front:
                    stripped = line.strip()
                    size = len(stripped)
                    if size <= 80 and ("年" in stripped or "Vol" in stripped) and _ISSUE.match(stripped):
                        kind = "identifier"
                    # Not a "By" line (that is special): an author line names an institution, or is
                    # names (at most 60 characters, from a capital) or at most 40 characters.
                    elif size <= 300 and (
                        size <= 40 or (size <= 60 and stripped[0].isupper()) or _names_institution(view, lines, institution)
                    ) and _is_author(stripped, after_title=size <= 40 and _after_title(view, blocks, current),
                                     institution=_names_institution(view, lines, institution)):
                        kind = "author"
            else:
                label = _line_label(line) if len(line) > 1 and atx is None else None
                stripped = line.strip()
                if atx is not None:  # ported
                    kind = "heading"
                    in_references = len(stripped) <= 80 and _REFERENCES_HEADING.fullmatch(stripped) is not None
                elif label is not None:
                    kind = label[0]
                    runs_on = _lone_label_runs_on(view, line, end, lines[-1][1]) if not label[1] else kind in _CONTINUES  # ported
                    if kind == "identifier" and label[1] and _CITE_THIS.match(line):
                        runs_on = "sentence"  # ported
                elif len(stripped) <= 80 and _REFERENCES_HEADING.fullmatch(stripped):
                    kind, in_references = "heading", True
                elif in_front and len(stripped) <= 80 and _ISSUE.match(stripped):
                    kind = "identifier"
                elif in_front and _is_author(stripped, after_title=len(stripped) <= 40 and _after_title(view, blocks, current)):
                    kind = "author"
                elif _heading(stripped, previous if current is not None and current[2] in ("body", "abstract") else None,
                              short=len(stripped) < 0.6 * full or len(lines) == 1):
                    kind = "heading"
                elif len(stripped) <= 600 and _REFERENCE_ENTRY.match(stripped) and _CITATION.search(stripped):
                    kind, runs_on = "reference", True
            if kind is None and current is not None and (
                current[2] == "body" or current[3] == "label" or current[3] == "paragraph"  # ported: a grant's text
                or (current[3] == "sentence" and _citation_runs_on(view, current, previous))  # ported: to the DOI's line
                or (current[3] is True and (current[2] == "reference" or double_spaced or previous.rstrip()[-1:] not in _TERMINAL))
            ):
                current[1] = end
            else:
                if current is not None:
                    blocks.append(current)
                    in_front, front_end = _still_front(view, current, in_front, front_end, len(blocks) - 1)
                if kind is None:
                    kind = "body"
                    if first_of_paragraph and opens:
                        kind, runs_on = _carried(view, lines, opens)  # ported: the whole paragraph
                current = [start, end, kind, runs_on]
            previous = line
            first_of_paragraph = False
        if current is not None:
            blocks.append(current)
            in_front, front_end = _still_front(view, current, in_front, front_end, len(blocks) - 1)
            # "摘要:" alone: the next paragraph is the abstract (only for a label with nothing after it)
            carried = _carried_by(view, current)  # ported: a funding label's or a declaration label's
    _mark_contents(view, blocks)  # ported: a table of contents
    _find_titles(view, blocks, len(blocks) if front_end is None else front_end)
    return [(start, end, kind) for start, end, kind, _ in blocks]


def _special_lines(view: str) -> list[int]:
    """The offsets of the lines that may hold a label, a heading or a reference, ascending (a
    superset: only these lines are tested one by one; the other lines of a body paragraph run on)."""
    lines = view.split("\n")
    # A cheap look at the first characters first: a line starting with ASCII characters that start
    # none of the patterns is not special (non-ASCII starts are all looked at: case-insensitive
    # matching lets "ſ", "ı", "K"... stand for ASCII letters). Lines starting with spaces are
    # looked at past them below.
    flagged = [
        number for number, line in enumerate(lines)
        if line and (line[0] in _SPECIAL_ASCII_FIRST or line[:3].lower() in _SPECIAL_HEADS or line[:2] in _SPECIAL_TWO
                     or not line[:3].isascii())
    ]
    if not flagged:
        return []
    starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
    match = _SPECIAL_START.match
    special = []
    for number in flagged:
        line = lines[number]
        if line[0] in _ASCII_SPACES:
            head = line.lstrip()[:3]
            if not (head and (not head.isascii() or head[0] in _SPECIAL_ASCII_FIRST or head.lower() in _SPECIAL_HEADS
                              or head[:2] in _SPECIAL_TWO)):
                continue
        start = starts[number]
        if match(view, start, start + len(line)):
            special.append(start)
    return special


def _names_institution(view: str, lines: list[tuple[int, int]], institution: list[bool]) -> bool:
    """Does the paragraph name an institution anywhere? Searched once, kept in `institution`."""
    if not institution:
        institution.append(_INSTITUTION.search(view, lines[0][0], lines[-1][1]) is not None)
    return institution[0]


def _after_title(view: str, blocks: list[list], current: list | None) -> bool:
    """Is the block before this line a title-like body block (so run-together names are authors)?"""
    block = current if current is not None else (blocks[-1] if blocks else None)
    if block is None or block[2] != "body":
        return False
    text = view[block[0]:block[1]].strip()
    # A title wraps over 3 lines at most, and is at most 200 characters (the first test of _is_title_like).
    return len(text) <= 200 and text.count("\n") <= 4 and _is_title_like(text.replace("\n", " "))


def _still_front(view: str, block: list, in_front: bool, front_end: int | None, index: int) -> tuple[bool, int | None]:
    """The front matter ends at the first heading or the first body block holding a sentence and 120 characters."""
    if not in_front:
        return False, front_end
    if (block[2] == "heading" and not _is_markdown_title(view, block)) or (  # ported
        block[2] == "body" and block[1] - block[0] >= 200 and _SENTENCE_INSIDE.search(view, block[0], block[1])
    ):
        return False, index
    return True, front_end


def _find_titles(view: str, blocks: list[list], front_end: int) -> None:
    """Mark titles: the title-like body block before an author block in the front matter (dates and
    identifier lines between them are skipped); else, before the first abstract or keywords block,
    the nearest title-like block that is not a "Field: value" line."""
    found = False
    for index in range(front_end):
        kind = blocks[index][2]
        if kind == "author" or (kind in ("abstract", "keywords") and not found):
            back = index - 1
            while back >= 0 and (blocks[back][2] == "identifier" or _is_date(view, blocks[back])
                                 or (kind != "author" and _is_field(view, blocks[back]))
                                 or (blocks[back][2] == "body" and _is_chrome(view[blocks[back][0]:blocks[back][1]]))):
                back -= 1
            if back >= 0 and (blocks[back][2] == "body" or _is_markdown_title(view, blocks[back])) and _is_title_like(  # ported
                view[blocks[back][0]:blocks[back][1]].replace("\n", " ")
            ):
                blocks[back][2] = "title"
                found = True
            if kind != "author":
                break


def _is_date(view: str, block: list) -> bool:
    return block[2] == "body" and _DATE_ONLY.fullmatch(view[block[0]:block[1]].strip()) is not None


def _is_field(view: str, block: list) -> bool:
    return block[2] == "body" and _FIELD.match(view, block[0], block[1]) is not None


def _is_double_spaced(lines: list[str], kinds: list[int], *, full: int | None = None) -> bool:
    text_lines = [number for number, kind in enumerate(kinds) if kind == _TEXT]
    gaps = len(text_lines) - 1
    if gaps < 4:
        return False
    # A single gap: exactly one blank line (and no page number) between two text lines.
    singles = [
        (before, after) for before, after in zip(text_lines, text_lines[1:])
        if after - before == 2 and kinds[before + 1] == _BLANK
    ]
    single = len(singles)
    if 2 * single <= gaps:
        return False
    # Most often the lowercase starts alone settle it (an English paste): count those first.
    lowercase = sum(
        1 for previous, number in singles
        if lines[previous].rstrip()[-1] not in _TERMINAL and lines[number].lstrip()[0].islower()
    )
    if 2 * lowercase > single:
        return True
    if full is None:
        full = _full_line_length(lines, kinds)
    inside_sentence = after_full = inside_after_full = 0
    threshold = max(_FULL_LINE_MIN, 0.8 * full)  # _is_full, _runs_on: inlined, this loop is per line
    for previous, number in singles:
        before = lines[previous].rstrip()
        is_full = len(before.lstrip()) >= threshold
        if before[-1] in _TERMINAL:
            runs_on = False
        else:
            after = lines[number].lstrip()
            runs_on = after[0].islower() or (is_full and _wide_at_break(before, after)[1]  # ported: “ ” beside CJK
                                             and _LINE_LABEL.match(after.rstrip()) is None)
        inside_sentence += runs_on
        if is_full:
            after_full += 1
            inside_after_full += runs_on
    # Most single gaps run on (an English paste), or most gaps after a full line do (a Chinese paste
    # whose front matter, title and headings on short lines of their own, would outvote its body).
    return 2 * inside_sentence > single or (inside_after_full >= 3 and 2 * inside_after_full > after_full)


def _full_line_length(lines: list[str], kinds: list[int]) -> int:
    """The length of a full line of the document: the 75th percentile of its text lines' lengths.

    In a PDF paste most lines fill the column, so this is the column width; in an ordinary
    article it is a paragraph's length, which no title, author or heading line reaches.
    """
    lengths = sorted([len(line.strip()) for line, kind in zip(lines, kinds) if kind == _TEXT])
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
    return _wide_at_break(before, after)[1] and _is_full(before, full) and _LINE_LABEL.match(after) is None  # ported


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
    if dot == 0:
        return False
    last = view[dot - 1]
    if not last.isdecimal():  # a section number ends in a digit: only the word test can say yes
        if last != "." and last not in _ASCII_LETTERS:
            return False  # no word ends here
        if dot > _LONGEST_ABBREVIATION and (tail := view[dot - _LONGEST_ABBREVIATION - 1 : dot]).isascii() and tail.isalpha():
            return False  # a word longer than every abbreviation (and than an initial)
    if _SECTION_NUMBER.search(view, max(0, dot - 12), dot):
        return True  # a section number: "1. Introduction", "2.2.1. The regional economics"
    match = _WORD_BEFORE.search(view, max(0, dot - 12), dot)
    if match is None:
        return False
    word = match.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial: "L. P. Xu"
    word = word.lower()
    if word in _ABBREVIATIONS_ENDING_SENTENCES:  # "... shown by Li et al. The meeting ...", "Ibid. The ..."
        return not view[dot + 1 : dot + 8].lstrip()[:1].isupper()
    return word in _ABBREVIATIONS


def _packed_spans(
    view: str, blocks: list[tuple[int, int, PassageKind]], max_chars: int
) -> Iterator[tuple[int, int, PassageKind]]:
    for start, end, kind in blocks:
        trimmed = _trim(view, start, end)
        if trimmed is None:
            continue
        start, end = trimmed
        if end - start <= max_chars:
            yield start, end, kind
            continue
        paragraph = view[start:end].replace("\n", " ")
        cuts = [0, *sentence_boundaries(paragraph), len(paragraph)]
        chunk = 0
        for left, right in zip(cuts, cuts[1:]):
            if right - chunk <= max_chars:
                continue
            if left > chunk:
                yield start + chunk, start + left, kind
                chunk = left
            if right - left > max_chars:
                if right - left > 2 * max_chars:
                    for piece_start, piece_end in _cut_long_sentence(paragraph, left, right, max_chars):
                        yield start + piece_start, start + piece_end, kind
                else:
                    yield start + left, start + right, kind
                chunk = right
        if chunk < len(paragraph):
            yield start + chunk, end, kind


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


def _sentence_spans(view: str, blocks: list[tuple[int, int, PassageKind]]) -> Iterator[tuple[int, int, PassageKind]]:
    nlp = _sentencizer()
    for start, end, kind in blocks:
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
                if spans:
                    cut = _sentence_cut(paragraph, spans[-1], left)
                    if cut is None:
                        spans[-1] = (spans[-1][0], right)
                        continue
                    spans[-1] = (spans[-1][0], cut[0])
                    left = cut[1]
                spans.append((left, right))
        for left, right in spans:
            yield start + left, start + right, kind


@lru_cache(maxsize=1)
def _sentencizer():
    import spacy  # only the sentence unit needs spaCy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.max_length = 10**9
    return nlp


def _readable(raw: str) -> str:
    """The reviewer's text: `raw` is the blanked span with its line breaks still in place."""
    return _readable_text(raw)[0]


def _readable_text(raw: str, rows: list[int] | None = None) -> tuple[str, bool]:
    """_readable(raw), and whether a line break was removed (else the text is `" ".join(raw.split())`)."""
    if "\n" not in raw:
        return " ".join(raw.split()), False
    if rows is None:
        raw_lines = raw.split("\n")
        rows = _row_break_offsets(raw_lines, list(accumulate((len(line) + 1 for line in raw_lines), initial=0)))
    pieces: list[str] = []
    position = 0
    for start in _joinable_breaks(raw):
        if start in rows:
            continue
        match = _LINE_BREAK.match(raw, start)
        end = match.end()
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
        if joined is None and all(_wide_at_break(stripped, after)):  # ported: “ ” ‘ ’ beside CJK
            joined = ""
        if joined is not None:
            pieces.append(raw[position:cut])
            pieces.append(joined)
            position = end
    if not pieces:
        return " ".join(raw.split()), False
    pieces.append(raw[position:])
    return " ".join("".join(pieces).split()), True


def _joinable_breaks(raw: str) -> list[int]:
    """Offsets of the line breaks in `raw` that `_readable` may remove: after a hyphen or a CJK
    character (trailing spaces allowed) or right after a Latin letter (a superset: any character
    from U+2E80 on stands for a CJK one); no other break can join, so the rest are left to the
    final whitespace collapse without looking at them."""
    lines = raw.split("\n")
    del lines[-1]  # no line break after it
    flagged = [
        number for number, line in enumerate(lines)
        if line and (
            (last := line[-1]) in _JOIN_LAST or (last >= "\u2e80" and not last.isspace()) or last in _WIDE_BESIDE_CJK
            or (last.isspace() and (tail := line.rstrip()[-1:]) != ""
                and (tail == "-" or tail >= "\u2e80" or tail in _WIDE_BESIDE_CJK))  # ported
        )
    ]
    if not flagged:
        return []
    ends = list(accumulate(map((1).__add__, map(len, lines))))  # just past each line's break
    return [ends[number] - 1 for number in flagged]


def rejoins_hyphenated(first: str, second: str) -> bool:
    """Is "first-" at a line end and "second" one word? "gover" + "nance" yes; "cross" + "regional" no.

    The one rule for hyphenated line ends, shared by the readable text and the matcher.
    """
    return second[0].islower() and (is_english_word(first + second) or not (is_english_word(first) or is_english_word(second)))


def _rejoin_broken(first: str, second: str) -> bool:
    """"tri" + "ggered" -> True; "the" + "model" and "a" + "round" -> False (ported since: is_whole_word)."""
    return is_english_word(first + second) and not (is_whole_word(first) and is_whole_word(second))
