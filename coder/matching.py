"""Stage 4: compile the codebook once, then find every code's matches in passages.

Matching rules (the README documents them for users):

1. Case-insensitive, after NFC, full-width-to-ASCII, case and apostrophe folding, and with
   traditional Chinese read as simplified: one character for one (lexicon.fold_text), offsets kept.
2. English words are inflection-insensitive: a keyword word matches every surface form whose
   lemma it shares, under spaCy's lookup and rule tables (spacy-lookups-data). The forms are
   enumerated when the codebook is compiled, so matching itself never lemmatises.
3. Derivations (`~word`, `morphology: derivational`) add lexicon.derived_forms.
4. Whole words only; combining marks are word characters; apostrophes and periods inside a
   keyword word are part of it (don't, U.S.).
5. A trailing ``*`` makes a word a prefix wildcard; ``word-*`` needs a hyphen and more letters.
6. Between the words of a keyword, any run of spaces, line breaks and hyphens is equivalent.
7. Chinese (CJK) keywords match whole words under a jieba segmentation that knows every CJK term
   of the codebook; whitespace and line breaks between CJK characters are ignored. A keyword mixing
   Chinese with Latin letters or digits (G60科创走廊, PM2.5污染, 党建 alliance) matches as written,
   any whitespace allowed between Chinese characters, any gap of rule 6 where Chinese meets Latin or
   between Latin words (_mixed_reading): its Latin ends are whole words, its Chinese ends whole words
   under that segmentation.
8. An ``exclude`` phrase suppresses the code's keyword and rule matches that overlap it.
9. Rules (`near`, `all`, with `not`) report the words that make them hold.
10. Regexes (Python syntax, case-insensitive) run on the passage as written, each stopped after
    regexes.REGEX_TIMEOUT seconds on one passage (RegexTimeoutError).

Candidate words are located with one Aho-Corasick automaton over all keyword forms, so the cost
grows with the text and the number of hits, not with the size of the codebook.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from itertools import accumulate, islice
from operator import attrgetter, itemgetter, methodcaller
from time import thread_time
from typing import NamedTuple

import ahocorasick_rs

from . import regexes
from .errors import RegexBudgetError, RegexTimeoutError
from .imports import LazyModule, LazyPattern
from .lexicon import (
    CJK_CHARS,
    MARK_CHARS,
    ChineseDictionary,
    chinese_dictionary,
    compose_text,
    contains_cjk,
    derived_forms,
    fold_text,
    is_cjk,
    is_english_word,
    is_known_noun,
    is_mark,
    lemmas,
    prefix_spelling_variants,
    spelling_variants,
    word_forms,
)
from .models import (
    MATCHED_SEPARATOR,
    Code,
    Codebook,
    Match,
    Passage,
    Rule,
    Segment,
    join_matched,
    passage_fingerprint,
)
from .passages import _readable, rejoins_hyphenated
from .regexes import compile_regex

# The patterns holding the CJK or the combining-mark class take 1-3 ms each to compile: on first use
# (a keyword recode that matches a few ASCII phrases needs none of them).
_CJK_RUN = LazyPattern(f"[{CJK_CHARS}](?:\\s*[{CJK_CHARS}])*")
_MAYBE_CJK = re.compile(f"[{CJK_CHARS[0]}-\U0010ffff]")  # at or above the first CJK character
_SPACE = re.compile("\\s")
_CJK_CLAUSE_BREAK = re.compile(r"[，。、；：！？,.;:!?（）()「」『』“”\"'《》【】\s]")
# A word character: a letter or digit that is not CJK (CJK runs are handled by segmentation), or a
# combining mark (Arabic vowel marks, Devanagari vowel signs: part of the letter's word).
_W = f"(?:[^\\W_{CJK_CHARS}]|[{MARK_CHARS}])"
_WORD = LazyPattern(f"{_W}+")
_WORD_TAIL = LazyPattern(f"{_W}*")
# A keyword word keeps its inner apostrophes and periods (don't, O'Brien, U.S., Ph.D.).
_KEYWORD_WORD = LazyPattern(f"{_W}+(?:['.]{_W}+)*\\.?")
# `self-*`: the words before a hyphen and a final star.
_HYPHEN_WILDCARD = re.compile("^(.*[^\\s\\-\u2010\u2011])[-\u2010\u2011]\\*$")
# What may stand between two words of a keyword: spaces, line breaks, hyphens and dashes.
_GAP_CHARS = "\\s\\-\u00ad\u2010\u2011\u2012\u2013\u2014"
# The next word of a phrase; group 1 is set when a possessive ("mayors' joint meeting") came between.
_NEXT_WORD = LazyPattern(f"('s?)?[{_GAP_CHARS}]+({_W}+)((?:['.]{_W}+)*\\.?)")
_POSSESSIVE = re.compile("'s?$")
# A run of what may stand between two words of a keyword; lint normalises keywords with it too.
GAP_RUN = re.compile(f"[{_GAP_CHARS}]+")


# Passages matched in one call at most (in characters of their views): a call holds several copies of
# its text (joined, folded, flags per character), and one 48 MB document took 1.7 GB in one piece. At
# 4 million characters a coding process holding one 5 MB file peaked at 183 MB (97 MB started, 102 MB
# with a batch of small files), at 500,000 at 144 MB, no slower; a group of small documents
# (_GROUP_CHARS in pipeline.py) is one call either way.
_MATCHED_AT_ONCE = 500_000
_VIEW = attrgetter("view")

# Joins the passages of a document for one automaton pass: no keyword, word or gap run crosses it
# (it is neither a word character nor a space or hyphen) and no CJK run does.
_SEPARATOR = "\x00"
_DASHES = "\u2012\u2013\u2014\u2015"
_SPACED_HYPHENS = LazyPattern(r" --+(?=\s)")  # two hyphens or more, as typewriters wrote a dash


# A web address, up to a space or a character no address holds unescaped (CJK text after it, quotes, brackets).
_WEB_ADDRESS = LazyPattern("(?:[a-z][a-z0-9+.-]*://|www\\.)[^\\s\\x00\"'<>()\\[\\]{}\u2e80-\U0010ffff]+")


_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789+.-")  # what a scheme's letters run over


def _web_addresses_blanked(text: str) -> str:
    """Each web address (_WEB_ADDRESS) as spaces, one for one: what the regex's sub makes, with the
    regex tried only where an address may start. An address holds "://" or "www." at its start; so
    the leftmost one starts in the run of scheme characters before the first of them (or at it), and
    nowhere before: the regex scanning a long text from every letter took ~12 ms per 150,000 characters."""
    pieces = []
    copied = 0  # the end of the text copied so far
    position = 0  # no address starts before it
    match = _WEB_ADDRESS.match
    while True:
        found = [place for place in (text.find("://", position), text.find("www.", position)) if place >= 0]
        if not found:
            break
        place = min(found)
        first = place
        while first > position and text[first - 1] in _SCHEME_CHARS:
            first -= 1
        address = next(filter(None, (match(text, start) for start in range(first, place + 1))), None)
        if address is None:
            position = place + 1
            continue
        pieces.append(text[copied:address.start()])
        pieces.append(" " * (address.end() - address.start()))
        copied = position = address.end()
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def _dashes_as_commas(text: str) -> str:
    """Each dash run between spaces, or holding an em dash or a horizontal bar (a parenthetical dash
    with or without spaces: "the party—building on decades of reform—kept"), as commas, one for one;
    any other dash run (an en dash between letters, "party–building") as it is.

    The dashes are found with str.find, not a regex: a character class scanned over a long text of
    few dashes costs a regex far more than the dashes themselves.
    """
    places = []
    for dash in _DASHES:
        place = text.find(dash)
        while place >= 0:
            places.append(place)
            place = text.find(dash, place + 1)
    places.sort()
    pieces = []
    copied = 0  # the end of the text copied so far
    length = len(text)
    index = 0
    while index < len(places):
        start = places[index]
        end = start + 1
        index += 1
        while index < len(places) and places[index] == end:
            end += 1
            index += 1
        run = text[start:end]
        spaced = start and text[start - 1].isspace() and end < length and text[end].isspace()
        if "\u2014" in run or "\u2015" in run or spaced:
            pieces.append(text[copied:start])
            pieces.append("," * (end - start))
            copied = end
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def _typed_dashes_as_commas(text: str) -> str:
    """Each typed dash (_SPACED_HYPHENS) as commas after its space, one for one. Matched only where
    str.find meets " --": a regex sub copies and scans the whole text for a few dashes."""
    pieces = []
    copied = 0  # the end of the text copied so far
    place = text.find(" --")
    while place >= 0:
        dashes = _SPACED_HYPHENS.match(text, place)
        if dashes is None:
            place = text.find(" --", place + 1)
            continue
        end = dashes.end()
        pieces.append(text[copied:place])
        pieces.append(" " + "," * (end - place - 1))
        copied = end
        place = text.find(" --", end)
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


# A hyphen after a letter (with the spaces of a line end after it) and the letters after it.
# A hyphen, an en dash ("inter–governmental") or a soft hyphen (invisible, from hyphenated web pages) in a word.
_IN_WORD_HYPHENS = "-\u2010\u2011\u2013\u00ad"
# One pattern per hyphen, as _HYPHEN_BREAKS: a literal first character is searched for quickly, where
# a class of them is tried at every character. A match holds no other hyphen, so merged they are what
# one pattern over all the hyphens finds.
_HYPHENS_IN_WORD = tuple(
    (hyphen, LazyPattern(rf"{hyphen}(?<=[^\W\d_].)\s*([^\W\d_]+)")) for hyphen in _IN_WORD_HYPHENS
)
_POSITION = itemgetter(0, 1, 2)  # a match's (start, end, code): the order of find()'s result
_MATCH_START = methodcaller("start")
_HIT_POSITION = itemgetter(1, 2, 0)  # the same order of _Hits: (start, end, code)


class CodeMatches(NamedTuple):
    """One code's matches in one passage, as its segment counts them."""

    hits: int
    matched: tuple[str, ...]  # matched_words() of the matches


class _DocumentHits(NamedTuple):
    """One document's passages joined for matching, and each passage's hits (offsets into the
    composed text; `positions` maps them to `joined` when NFC changed it, else they are the same)."""

    views: list[str]
    view_starts: list[int]  # each passage's offset in `joined`
    joined: str
    positions: list[int] | None
    hits: list[list[_Hit]]


class _RawHits(NamedTuple):
    """CompiledCodebook._raw_hits(): one document's passages joined and every hit in them."""

    views: list[str]
    view_starts: list[int]
    joined: str
    lower: str  # composed and folded: the hits' offsets are offsets into it
    positions: list[int] | None  # offsets of `lower` in `joined`; None when they are the same
    phrases: _PhraseMatches | None  # the phrase automaton's matches, as arrays: before `raw`
    raw: list[_Hit]


class _Hit(NamedTuple):
    """One keyword, exclude-phrase or regex hit at [start, end) of a passage view."""

    code: str
    start: int
    end: int
    rule: str  # the keyword, exclude phrase or regex
    exclusion: bool = False  # an exclude phrase of `code`: it vetoes the code's overlapping hits
    term: int = -1  # for a word of a rule's list: its index in CompiledCodebook._rule_lists


@dataclass(frozen=True)
class _Pattern:
    """A compiled keyword: a sequence of word tests, owned by a code (or, with `exclusion`, a
    code's exclude phrase)."""

    code: str
    exclusion: bool
    rule: str
    words: tuple[frozenset[str] | str, ...]  # a set of surface forms, or a wildcard prefix str
    after_possessive: tuple[bool, ...]  # for words[1:]: may an apostrophe (and s) precede it?
    term: int = -1


def fold_keyword(keyword: str) -> str:
    """A keyword as matching compares it: NFC, lower case, folded as fold_text() folds the text."""
    return fold_text(unicodedata.normalize("NFC", keyword.strip()))


def _split_keyword(keyword: str) -> list[str]:
    return [part for part in GAP_RUN.split(fold_keyword(keyword)) if part]


def _keyword_tokens(part: str) -> list[str]:
    """The word tokens of one part of a keyword: inner apostrophes and periods stay in the word,
    a final period only after an inner one ("U.S.", not "etc."); other punctuation separates."""
    tokens = []
    for token in _KEYWORD_WORD.findall(part):
        if token.endswith(".") and "." not in token[:-1]:
            token = token[:-1]
        tokens.append(token)
    return tokens


_CJK_GAP = LazyPattern(f"(?<=[{CJK_CHARS}])[^\\S\t]+(?=[{CJK_CHARS}])")  # not a tab: it splits cells


def _without_cjk_gaps(view: str) -> tuple[str, list[int] | None]:
    """A passage view as regexes read it: a line break (or spaces) between two CJK characters removed,
    as Chinese has no spaces ("联席\n会议" reads 联席会议); with each kept character's place in the view,
    or None when nothing was removed."""
    if view.isascii() or _CJK_GAP.search(view) is None:
        return view, None
    places, pieces, position = [], [], 0
    for gap in _CJK_GAP.finditer(view):
        pieces.append(view[position:gap.start()])
        places.extend(range(position, gap.start()))
        position = gap.end()
    pieces.append(view[position:])
    places.extend(range(position, len(view)))
    return "".join(pieces), places


def _noun_forms(word: str) -> frozenset[str]:
    """word_forms(), but a keyword word in -ing that the lexicon knows as a noun (meeting, building,
    funding) and that is also a form of a verb reads as the noun: `meeting` matches "meeting" and
    "meetings", not "met" or "the plan meets the standard" (write `meet` for those)."""
    forms = word_forms(word)
    word = word.lower()
    if word.endswith("ing") and not lemmas(word) <= {word} and is_known_noun(word):
        return frozenset(form for form in forms if form in (word, word + "s"))
    return forms


def _spelled_forms(forms_of: Callable[[str], frozenset[str]], word: str) -> frozenset[str]:
    """The forms of `word` and of its other spelling, British or American (lexicon.spelling_variants):
    `organisation` matches "organizations", `labor` "labour"."""
    forms = forms_of(word)
    variants = spelling_variants(word)
    return forms.union(*map(forms_of, variants)) if variants else forms


def _compile_latin(code: str, keyword: str, *, exclusion: bool, derivational: bool = False,
                   term: int = -1) -> _Pattern | None:
    if keyword.startswith("~"):
        derivational = True
    forms_of = derived_forms if derivational else _noun_forms
    words: list[frozenset[str] | str] = []
    after_possessive: list[bool] = []
    possessive = False
    for part in _split_keyword(keyword.lstrip("~")):
        wildcard = part.endswith("*")
        part = part.rstrip("*")
        next_possessive = bool(_POSSESSIVE.search(part))
        tokens = _keyword_tokens(_POSSESSIVE.sub("", part))
        for position, token in enumerate(tokens):
            last = position == len(tokens) - 1
            if words:
                after_possessive.append(possessive)
            words.append(token if (wildcard and last) else _spelled_forms(forms_of, token))
            possessive = False
        possessive = next_possessive
    if not words:
        return None
    return _Pattern(code=code, exclusion=exclusion, rule=keyword, words=tuple(words),
                    after_possessive=tuple(after_possessive), term=term)


# In the phrase text every run of gap characters (spaces, line breaks, hyphens) is one space.
# A word hyphenated at a line end (the line break is a space in the passage view), or a soft hyphen:
# what (?<=[a-z\u00df-\u024f])(?:[-\u2010\u2011]\s+|\u00ad\s*)(?=[a-z\u00df-\u024f]) matches,
# found faster: one pattern per hyphen (a literal first character is searched for quickly), each
# candidate then checked for the letter before it. No candidate holds the start of another, so the
# matches are the same (_hyphen_breaks).
_BREAK_LETTER = "[a-z\u00df-\u024f]"
_HYPHEN_BREAKS = tuple(
    # two soft hyphens: one of them a zero-width character read as one (probe AW1)
    (hyphen, re.compile(hyphen + ("\u00ad?\\s*" if hyphen == "\u00ad" else "\\s+") + f"(?={_BREAK_LETTER})"))
    for hyphen in ("-", "\u2010", "\u2011", "\u00ad")
)
_LETTER_BEFORE_BREAK = re.compile(_BREAK_LETTER)
_SUSPENDING_WORDS = "(?:and|or|nor|to|than|versus|vs)"  # "self- and co-regulation", "short- to mid-term"
# Every gap character but the space (none lies above U+3000), in code point order (one search of the
# characters up to U+3000: 1 ms less than a match each), and a run of two or more spaces.
_GAP_SINGLES = tuple("".join(GAP_RUN.findall("".join(map(chr, range(0x3001))))).replace(" ", ""))
_SPACE_RUN = re.compile("(  +)")  # a run of spaces, kept by split()
_APOSTROPHES = ("'",)  # typographic apostrophes are folded to ' (lexicon.fold_text)
_MAX_NEEDLES = 4096  # per keyword; beyond that (long phrases of many-form words) the trie path is used


def _phrase_needles(pattern: _Pattern) -> list[tuple[str, bool]] | None:
    """The literal lower-case strings that spell `pattern` with single spaces, and whether the last
    word is a wildcard prefix; None if a wildcard stands before the last word."""
    alternatives: list[list[str]] = []
    for index, word in enumerate(pattern.words):
        if isinstance(word, str) and index < len(pattern.words) - 1:
            return None
        forms = [word] if isinstance(word, str) else sorted(word)
        if index + 1 < len(pattern.words) and pattern.after_possessive[index]:
            forms = [form + tail for form in forms for tail in ("", *_APOSTROPHES, *(a + "s" for a in _APOSTROPHES))]
        alternatives.append(forms)
    needles = [""]
    for forms in alternatives:
        needles = [f"{needle} {form}" if needle else form for needle in needles for form in forms]
        if len(needles) > _MAX_NEEDLES:
            return None
    return [(needle, isinstance(pattern.words[-1], str)) for needle in needles]


class _CjkTerm(NamedTuple):
    """A CJK keyword or exclude phrase: matched in runs of CJK text with whitespace removed."""

    code: str
    exclusion: bool
    rule: str
    term: str  # folded (simplified, lower case), no whitespace, no trailing "*"
    wildcard: bool
    index: int = -1  # for a word of a rule's list: its index in CompiledCodebook._rule_lists


class _HyphenPrefix(NamedTuple):
    """A `word-*` keyword: the words, a hyphen, then more letters (self-interest, not self)."""

    code: str
    exclusion: bool
    rule: str
    prefix: str  # folded words joined by single spaces
    term: int = -1


class _RuleList(NamedTuple):
    """One list of one rule of a code; `position` is the list's index in rule.lists, -1 for `not`."""

    code: str
    rule: int
    position: int


class _MixedTerm(NamedTuple):
    """A keyword mixing Chinese with Latin letters or digits: found by its reading (_mixed_reading) in
    the text's, then its ends checked."""

    code: str
    exclusion: bool
    rule: str
    needle: str  # its reading, without its "*": what the text's reading holds wherever it matches
    latin_start: bool  # it starts with a word character: the match must start a word
    latin_end: bool  # it ends with one: the match must end a word (or, with `wildcard`, runs to its end)
    cjk_start: bool  # it starts with a Chinese character: the match must start a Chinese word
    cjk_end: bool  # it ends with one: the match must end a Chinese word (or, with `wildcard`, runs to its end)
    wildcard: bool
    cjk_words: tuple[str, ...]  # its runs of Chinese characters, told to the segmenter
    index: int = -1  # for a word of a rule's list: its index in CompiledCodebook._rule_lists


class _SymbolTerm(NamedTuple):
    """A keyword holding a symbol the word matcher reads as a break between words (`C++`, `C#`, `50%`,
    `$100`, `.NET`, `AT&T`): matched as written, by a pattern over the folded text (_symbol_pattern)."""

    code: str
    exclusion: bool
    rule: str
    pattern: str  # the regex _symbol_pattern() makes of it
    needle: str  # its longest part holding a symbol, folded: every match holds it
    term: int = -1
    # Where a match may start, seen from its needle (_symbol_approach): the runs of gap characters between
    # them (0: the match starts with its needle), and a regex of how the word before the first run starts;
    # None where that is not known (a word form holding a space or hyphen): the text is searched through.
    gap_runs: int | None = 0
    first_word_start: str = ""


class _Keywords(NamedTuple):
    latin: list[_Pattern]
    cjk: list[_CjkTerm]
    hyphen: list[_HyphenPrefix]
    rule_lists: list[_RuleList]
    mixed: list[_MixedTerm]
    symbol: list[_SymbolTerm]


def _compile_keywords(codebook: Codebook) -> _Keywords:
    """Every keyword, exclude phrase and rule word of `codebook`: Latin word patterns, CJK terms,
    `word-*` prefixes, and the rule list each rule word belongs to."""
    compiled = _Keywords([], [], [], [], [], [])
    for code in codebook:
        derivational = code.morphology == "derivational"
        for exclusion, keywords in ((False, code.keywords), (True, code.exclude)):
            for keyword in keywords:
                _compile_one(compiled, code.id, keyword, exclusion=exclusion, derivational=derivational)
        for rule_index, rule in enumerate(code.rules):
            for position, terms in [*enumerate(rule.lists), (-1, rule.unless)]:
                term = len(compiled.rule_lists)
                compiled.rule_lists.append(_RuleList(code.id, rule_index, position))
                for keyword in terms:
                    _compile_one(compiled, code.id, keyword, exclusion=False, derivational=derivational, term=term)
    return compiled


def segmenter_words_of(codebook: Codebook) -> tuple[str, ...]:
    """The Chinese words a matcher of `codebook` tells its segmenter of (`CompiledCodebook.segmenter_words`),
    without compiling it: a matcher of some of its codes, given them as `known_words`, segments Chinese as
    the whole codebook's matcher does (each word weighs what it weighs alone), so it finds what that one
    finds for those codes."""
    terms = [keyword for code in codebook
             for keyword in (*code.keywords, *code.exclude,
                             *(word for rule in code.rules for terms in (*rule.lists, rule.unless) for word in terms))
             if contains_cjk(keyword)]
    return tuple(sorted({word for term in terms for word in _segmenter_words(term)}))


def _segmenter_words(keyword: str) -> tuple[str, ...]:
    """The words a CJK keyword tells the segmenter of: the whole term (not a wildcard's prefix), or a
    mixed keyword's runs of Chinese characters."""
    folded = fold_keyword(keyword)
    if _is_mixed(folded):
        return tuple(run for run in _CJK_RUN_IN_KEYWORD.findall(folded) if len(run) > 1)
    folded = re.sub(r"\s+", "", folded)
    return () if folded.endswith("*") else (folded,)


def _is_mixed(folded: str) -> bool:
    """Does a folded keyword holding Chinese hold a Latin letter or a digit too?"""
    return any(char.isalnum() and not is_cjk(char) for char in folded)


_CJK_RUN_IN_KEYWORD = LazyPattern(f"[{CJK_CHARS}]+")


def _mixed_term(code: str, exclusion: bool, keyword: str, folded: str, term: int) -> _MixedTerm:
    """A mixed keyword: its reading, and which of its ends are Latin words and which Chinese ones."""
    wildcard = folded.endswith("*")
    folded = folded.rstrip("*").strip()
    needle, _ = _mixed_reading(folded)
    return _MixedTerm(code, exclusion, keyword, needle, _WORD_CHARS[needle[0]], _WORD_CHARS[needle[-1]],
                      is_cjk(needle[0]), is_cjk(needle[-1]), wildcard, _segmenter_words(keyword), term)


def _mixed_reading(text: str) -> tuple[str, object]:
    """`text` (folded) as mixed keywords are compared in it, with the offset in `text` of each of its
    characters (a numpy array). A run of gap characters (spaces, line breaks, hyphens: what stands between
    the words of a Latin keyword) is one space, but left out where Chinese meets other text, and left out
    between two Chinese characters when it is whitespace only (a hyphen there stays a break). A keyword is
    read the same way: `COVID-19疫情` and "COVID‐19 疫情" both read "covid 19疫情".

    >>> _mixed_reading("covid-19 疫情")[0], _mixed_reading("党 建 - 联盟")[0]
    ('covid 19疫情', '党建 联盟')
    """
    np = _np
    tables = _reading_tables()
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    bounded = np.minimum(codes, len(tables.gap) - 1)
    gap = tables.gap[bounded]
    if not gap.any():
        return text, np.arange(len(codes))
    edges = np.diff(gap.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    cjk_before = (starts > 0) & _is_cjk_code(codes[np.maximum(starts - 1, 0)])
    cjk_after = (ends < len(codes)) & _is_cjk_code(codes[np.minimum(ends, len(codes) - 1)])
    not_space = np.concatenate([[0], np.cumsum(gap & ~tables.space[bounded])])
    spaces_only = not_space[ends] == not_space[starts]
    one_space = starts[(cjk_before == cjk_after) & ~(cjk_before & spaces_only)]
    keep = ~gap
    keep[one_space] = True
    places = np.flatnonzero(keep)
    reading = codes[places]
    reading[np.searchsorted(places, one_space)] = ord(" ")
    return reading.tobytes().decode("utf-32-le"), places


class _ReadingTables(NamedTuple):
    """numpy tables of _mixed_reading(): is a code point (up to the last entry) a gap character, is it
    whitespace; and CJK_CHARS as sorted bounds (a CJK code point lies at an odd insertion place)."""

    gap: object
    space: object
    cjk_bounds: object


@cache
def _reading_tables() -> _ReadingTables:
    np = _np
    gaps = [ord(char) for char in (" ", *_GAP_SINGLES)]
    gap = np.zeros(max(gaps) + 2, dtype=bool)  # the last entry, False, stands for every code point above
    gap[gaps] = True
    space = gap.copy()
    space[[code for code in gaps if not chr(code).isspace()]] = False
    ranges = re.findall("(.)(?:-(.))?", CJK_CHARS)
    bounds = [bound for first, last in ranges for bound in (ord(first), ord(last or first) + 1)]
    return _ReadingTables(gap, space, np.array(bounds, dtype=np.uint32))


def _is_cjk_code(codes: object) -> object:
    """is_cjk() of each code point of a numpy array."""
    return _np.searchsorted(_reading_tables().cjk_bounds, codes, side="right") % 2 == 1


def _folded_cjk(keyword: str) -> str:
    """A CJK keyword as its term is matched: folded, no whitespace (a trailing "*" kept: a wildcard)."""
    return re.sub(r"\s+", "", fold_keyword(keyword))


_PLAIN_PART = LazyPattern(f"{_W}+(?:['.]{_W}+)*\\.?")  # a keyword word the word matcher reads as written
# Punctuation at either end of a keyword word stays a break between words, as in the text: `joint meeting,`
# is `joint meeting`, `"PPP"` is `PPP`. Every other character but a letter, digit or mark is a symbol.
# A keyword of letters, digits, spaces, apostrophes, periods, hyphens and wildcards only, found at once
# (a period or apostrophe only after a letter or digit, a `*` at a word's end: `.net` takes the long way).
_WORDS_ONLY = LazyPattern("~?(?:[^\\W_]|[ \\-]|(?<=[^\\W_])[.']|(?<=[^\\W_.'])\\*(?![^ \\-]))*")
_EDGE_PUNCTUATION = ",;:!?\"()[]{}\u201c\u201d\u00ab\u00bb"


def _symbol_keyword_parts(keyword: str) -> list[tuple[str, bool]]:
    """A Latin keyword's parts (between spaces and hyphens), folded, without the punctuation at their
    ends or their trailing `*`: (part, wildcard) each."""
    parts = []
    for part in _split_keyword(keyword.strip().lstrip("~")):
        wildcard = part.endswith("*")
        part = part.rstrip("*").strip(_EDGE_PUNCTUATION)
        if part or (wildcard and parts):  # ("", True): the `-*` of `C++-*`
            parts.append((part, wildcard))
    return parts


def symbol_parts(keyword: str) -> list[str]:
    """The parts (between spaces and hyphens) of a Latin keyword that hold a symbol the word matcher
    would read as a break between words (anything but letters, digits, marks, apostrophes, periods
    inside or after a word, a trailing `*`, and punctuation at a part's ends: `c++`, `c#`, `50%`, `$100`,
    `.net`, `at&t`), folded; [] for a keyword of words only, a Chinese one, or one without a letter or
    digit (it matches nothing).

    >>> symbol_parts("C++ programmer"), symbol_parts("R & D"), symbol_parts("U.S. mayors'"), symbol_parts("self-*")
    (['c++'], ['&'], [], [])
    """
    if _WORDS_ONLY.fullmatch(keyword) or contains_cjk(keyword) or not any(char.isalnum() for char in keyword):
        return []
    return [part for part, _ in _symbol_keyword_parts(keyword)
            if part and not _PLAIN_PART.fullmatch(_POSSESSIVE.sub("", part))]


def _symbol_term(code: str, keyword: str, *, exclusion: bool, derivational: bool, term: int) -> _SymbolTerm:
    pieces = _symbol_pieces(keyword, derivational=derivational)
    needle = max(symbol_parts(keyword), key=len)
    return _SymbolTerm(code, exclusion, keyword, _joined_pieces(pieces), needle, term,
                       *_symbol_approach(pieces, needle))


class _SymbolPiece(NamedTuple):
    """One part of a keyword holding a symbol, as _symbol_pattern() matches it."""

    regex: str  # the part: its forms, or its symbol as written (and the rest of a word, for a trailing `*`)
    start: str  # what each of its matches starts with: its forms, its word or its symbol (a cheap regex)
    hyphen_words: int  # `-*` after it: a hyphen and a word each
    spaced: bool  # one of its forms holds a space or a hyphen


def _symbol_pattern(keyword: str, *, derivational: bool) -> str:
    """A keyword holding a symbol (symbol_parts) as a regex over the folded text: its parts with a symbol
    as written, its other words in every form (rules 2-3), any run of spaces, line breaks and hyphens
    between parts (rule 6), a trailing `*` the rest of the word (rule 5); no letter or digit (nor a
    period or apostrophe and one) may touch either end, so the keyword is a whole word (rule 4).

    >>> [found.group() for found in re.finditer(_symbol_pattern("C++", derivational=False), "vitamin c, c#, c++.")]
    ['c++']
    >>> re.findall(_symbol_pattern("C++-*", derivational=False), "c++ and c++-based")
    ['c++-based']
    """
    return _joined_pieces(_symbol_pieces(keyword, derivational=derivational))


def _symbol_pieces(keyword: str, *, derivational: bool) -> list[_SymbolPiece]:
    if keyword.strip().startswith("~"):
        derivational = True
    forms_of = derived_forms if derivational else _noun_forms
    pieces: list[_SymbolPiece] = []
    for part, wildcard in _symbol_keyword_parts(keyword):
        if not part:  # `C++-*`: a hyphen and more letters (rule 5)
            pieces[-1] = pieces[-1]._replace(hyphen_words=pieces[-1].hyphen_words + 1)
            continue
        spaced = False
        possessive = bool(_POSSESSIVE.search(part)) and _PLAIN_PART.fullmatch(_POSSESSIVE.sub("", part)) is not None
        if possessive:  # `mayors' C++` codes "mayor's C++", as `mayors' joint meeting` does (rule 6; probe AD1)
            part = _POSSESSIVE.sub("", part)
        if _PLAIN_PART.fullmatch(part):
            period = part.endswith(".") and "." not in part[:-1]  # "etc." reads "etc" (rule 4)
            word = part[:-1] if period else part
            forms = sorted(_spelled_forms(forms_of, word) | {word}, key=lambda form: (-len(form), form))
            piece = start = re.escape(word) if wildcard else "(?:" + "|".join(map(re.escape, forms)) + ")"
            piece += "\\.?" if period else ""
            piece += "(?:'s?)?" if possessive else ""
            spaced = not wildcard and any(GAP_RUN.search(form) for form in forms)
        else:
            piece = start = re.escape(part)
        pieces.append(_SymbolPiece(piece + (f"{_W}*" if wildcard else ""), start, 0, spaced))
    return pieces


def _joined_pieces(pieces: list[_SymbolPiece]) -> str:
    # Nothing of a word may follow, but a possessive ("AT&T's", "programmers'"), as after any keyword (probe AD1).
    return (f"{_SYMBOL_START}"
            + f"[{_GAP_CHARS}]+".join(piece.regex + f"[-\u2010\u2011]{_W}+" * piece.hyphen_words for piece in pieces)
            + f"(?!{_W})(?!\\.{_W})(?!'(?!s?(?!{_W})){_W})")


def _symbol_approach(pieces: list[_SymbolPiece], needle: str) -> tuple[int | None, str]:
    """How a match of the pieces is found from its needle (the first piece that starts with it, as written):
    the runs of gap characters before that piece, each after a word of no gap character (every form of
    every piece before it is one), and what the first of those words starts with; (None, "") where a form
    before it holds a space or hyphen."""
    written = re.escape(needle)
    place = next((index for index, piece in enumerate(pieces) if piece.regex in (written, written + f"{_W}*")), None)
    if place is None or any(piece.spaced for piece in pieces[:place]):
        return None, ""
    return sum(1 + piece.hyphen_words for piece in pieces[:place]), pieces[0].start if place else ""


_SYMBOL_START = f"(?<!{_W})(?<!{_W}['.])"  # no letter or digit, nor one and a period or apostrophe, before it


def _compile_one(compiled: _Keywords, code: str, keyword: str, *, exclusion: bool, derivational: bool,
                 term: int = -1) -> None:
    if symbol_parts(keyword):
        # `C++` is no keyword `c` (probe AB1): a symbol the word matcher drops is matched as written.
        compiled.symbol.append(_symbol_term(code, keyword, exclusion=exclusion, derivational=derivational, term=term))
        joined = _INNER_HYPHEN.sub("", keyword)  # `co-operation $100` codes "cooperation $100" (probe AD2)
        if joined != keyword and symbol_parts(joined) == symbol_parts(keyword):
            compiled.symbol.append(_symbol_term(code, joined, exclusion=exclusion, derivational=derivational,
                                                term=term)._replace(rule=keyword))
        return
    if contains_cjk(keyword):
        folded = fold_keyword(keyword)
        if _is_mixed(folded):
            compiled.mixed.append(_mixed_term(code, exclusion, keyword, folded, term))
            return
        folded = _folded_cjk(keyword)
        compiled.cjk.append(_CjkTerm(code, exclusion, keyword, folded.rstrip("*"), folded.endswith("*"), term))
        return
    hyphen = _HYPHEN_WILDCARD.match(keyword.strip())
    if hyphen:
        prefix = " ".join(_split_keyword(hyphen.group(1).lstrip("~")))
        compiled.hyphen.append(_HyphenPrefix(code, exclusion, keyword, prefix, term))
        return
    pattern = _compile_latin(code, keyword, exclusion=exclusion, derivational=derivational, term=term)
    if pattern:
        compiled.latin.extend(_with_other_spellings(pattern))
    # A word the keyword hyphenates matches the text's spelling as one too: `co-operation` codes
    # "cooperation", as `cooperation` codes "co-operation" (the same code's overlapping hits count once).
    joined = _INNER_HYPHEN.sub("", keyword)
    if pattern and joined != keyword:
        variant = _compile_latin(code, joined, exclusion=exclusion, derivational=derivational, term=term)
        if variant:
            compiled.latin.extend(_with_other_spellings(replace(variant, rule=keyword)))


def _with_other_spellings(pattern: _Pattern) -> list[_Pattern]:
    """`pattern`, and for a wildcard the words it begins in their other spelling, British or American,
    that it does not begin: `organiz*` also matches "organisations", `centre*` "centers"."""
    stem = pattern.words[-1]
    variants = prefix_spelling_variants(stem) if isinstance(stem, str) else None
    if not variants:
        return [pattern]
    return [pattern, replace(pattern, words=(*pattern.words[:-1], variants))]


_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011](?=[^\W\d_])")  # a hyphen between two letters


class _SymbolSearch(NamedTuple):
    """A compiled pattern of keywords holding a symbol, and how its matches are found from its needle."""

    needle: str
    regex: re.Pattern
    keywords: list[_SymbolTerm]
    gap_runs: int | None  # _SymbolTerm.gap_runs: None, search through the text
    back_to_first_word: re.Pattern | None  # over the reversed text, from a needle back across gap_runs runs
    first_word_starts: re.Pattern | None  # finds each place the first word may start (a lookahead)


def _symbol_search(keywords: list[_SymbolTerm]) -> _SymbolSearch:
    first = keywords[0]
    back = starts = None
    if first.gap_runs:  # each run read whole (possessive): a gap run, then the word before it, and so on
        gap, other = f"[{_GAP_CHARS}]", f"[^{_GAP_CHARS}]"
        back = re.compile(f"(?:{gap}++{other}++){{{first.gap_runs - 1}}}{gap}++({other}++)")
        # Neither _SYMBOL_START nor _W (the pattern tries them): each took 20 ms to compile.
        starts = re.compile(f"(?=(?:{first.first_word_start}))")
    return _SymbolSearch(first.needle, re.compile(first.pattern), keywords, first.gap_runs, back, starts)


def _places(text: str, needle: str, *, most: int) -> list[int] | None:
    """Where `needle` starts in `text` (overlapping ones too); None where that is more than `most` places."""
    places: list[int] = []
    position = text.find(needle)
    while position >= 0:
        if len(places) == most:
            return None
        places.append(position)
        position = text.find(needle, position + 1)
    return places


def _symbol_matches(search: _SymbolSearch, lower: str, needles: list[int], backwards: str | None) -> list[re.Match]:
    """What search.regex.finditer(lower) finds, the regex tried only where a match may start. A match holds
    the needle (at one of `needles`) and, before it, gap_runs runs of gap characters, each after a word of
    none: read back from each needle across that many runs (in the reversed text), it can only start in the
    word before the first run, where that word's forms start. Those starts, tried in order and skipped
    inside the last match, give finditer's matches (probe AE3)."""
    starts: Iterable[int] = needles
    if search.gap_runs:
        found_starts = set()
        length = len(lower)
        for needle in needles:
            back = search.back_to_first_word.match(backwards, length - needle)
            if back is None:
                continue
            word_start, word_end = length - back.end(1), length - back.start(1)
            found_starts.update(start.start() for start in search.first_word_starts.finditer(lower, word_start, word_end))
        starts = sorted(found_starts)
    matches, free = [], 0
    for start in starts:
        found = search.regex.match(lower, start) if start >= free else None
        if found is not None:
            matches.append(found)
            free = found.end()
    return matches


class CompiledCodebook:
    """A codebook compiled for matching: build once with compile_codebook(), call find() many times."""

    def __init__(self, codebook: Codebook, *, known_words: Iterable[str] = ()):
        self.codebook = codebook
        self.codes: dict[str, Code] = {code.id: code for code in codebook}
        # Codes numbered in the order of their ids: sorted by number, hits of several codes at one span
        # come in find()'s order (_POSITION), not in the order the passes found them.
        self._codes_by_number = sorted(self.codes)
        self._code_numbers = {code_id: number for number, code_id in enumerate(self._codes_by_number)}
        latin, cjk, hyphen, self._rule_lists, self._mixed, symbol = _compile_keywords(codebook)
        self._compile_symbols(symbol)
        self._rules = {code.id: code.rules for code in codebook if code.rules}
        self._compile_hyphen(hyphen)
        self._regexes = [(code.id, pattern, compile_regex(pattern)) for code in codebook for pattern in code.regex]
        self._regex_seconds = [0.0] * len(self._regexes)  # each regex's CPU seconds so far (REGEX_BUDGET)
        self._regex_passages = 0
        fallback = self._compile_phrases(latin)
        self._compile_fallback(fallback)
        self._compile_cjk(cjk, known_words)
        self._compile_mixed()
        self._has_exclusions = any(code.exclude for code in codebook)
        self._words_of_matches = _MatchedWords()

    def _compile_phrases(self, latin: list[_Pattern]) -> list[_Pattern]:
        """One automaton over every literal spelling of the keywords; returns the keywords left to
        the word trie (a wildcard before the last word, or too many spellings)."""
        # needle -> its owners, as indexes into _phrase_owners: one owner per pattern, shared by its
        # needles (a 300-code codebook spells 41,000 needles).
        needle_owners: dict[str, list[int]] = defaultdict(list)
        self._phrase_owners: list[tuple[str, str, bool, int, bool]] = []  # (code, rule, exclusion, term, wildcard)
        fallback: list[_Pattern] = []
        spellings: list[tuple[str, str, bool]] = []  # (code, needle, wildcard)
        for pattern in latin:
            needles = _phrase_needles(pattern)
            if needles is None:
                fallback.append(pattern)
                continue
            owner = len(self._phrase_owners)
            self._phrase_owners.append((pattern.code, pattern.rule, pattern.exclusion, pattern.term,
                                        isinstance(pattern.words[-1], str)))
            for needle, wildcard in needles:
                needle_owners[needle].append(owner)
                spellings.append((pattern.code, needle, wildcard))
        self._needle_owner_lists = list(needle_owners.values())
        self._joins = _CompoundJoins(spellings)
        self._phrase_table: _PhraseTable | None = None  # numpy arrays, made on the first match
        # A small codebook (a recode of a few edited codes) first checks that every word of some
        # keyword occurs at all: one fast scan that lets most passages skip the phrase work.
        self._phrase_gate = None
        if needle_owners and len(needle_owners) <= 4096:
            gate_words = sorted({word for needle in needle_owners for word in needle.split(" ")})
            position = {word: index for index, word in enumerate(gate_words)}
            self._phrase_gate = ahocorasick_rs.AhoCorasick(gate_words)
            self._gate_needles = [frozenset(position[word] for word in needle.split(" ")) for needle in needle_owners]
        # Needles of Latin-1 characters (no "?", which stands for every other character) are searched
        # for in the text encoded one byte a character: no UTF-8 copy, offsets are character offsets.
        self._phrase_bytes = all(needle.isascii() or max(needle) <= "\xff" for needle in needle_owners) \
            and not any("?" in needle for needle in needle_owners)
        # A contiguous NFA: the same matches in the same order as the default (non-contiguous) one, found
        # ~10% faster in a third of the memory (40,000 needles: 2 MB, not 5.5); a DFA, faster still,
        # took 30 MB and 0.07 s more to build in every coding process.
        contiguous = ahocorasick_rs.Implementation.ContiguousNFA
        if not needle_owners:
            self._phrase_automaton = None
        elif self._phrase_bytes:
            self._phrase_automaton = ahocorasick_rs.BytesAhoCorasick(
                [needle.encode("latin-1") for needle in needle_owners], matchkind=ahocorasick_rs.MatchKind.Standard,
                implementation=contiguous)
        else:
            self._phrase_automaton = ahocorasick_rs.AhoCorasick(list(needle_owners),
                                                                matchkind=ahocorasick_rs.MatchKind.Standard,
                                                                implementation=contiguous)
        return fallback

    def _compile_hyphen(self, hyphen: list[_HyphenPrefix]) -> None:
        """A regex per `word-*` prefix: the words, a hyphen, and the rest of the word; and one over
        them all that finds where one of them may start."""
        self._hyphen_owners: dict[str, list[_HyphenPrefix]] = defaultdict(list)
        for keyword in hyphen:
            self._hyphen_owners[keyword.prefix].append(keyword)
        self._hyphen_regex = None
        self._hyphen_patterns: list[tuple[str, re.Pattern]] = []
        if hyphen:
            spelled = {prefix: f"[{_GAP_CHARS}]+".join(map(re.escape, prefix.split(" "))) for prefix in self._hyphen_owners}
            self._hyphen_regex = re.compile(f"(?<!{_W})(?=(?:{'|'.join(spelled.values())})[-\u2010\u2011])")
            # A hyphen that ended a line ("self-\ngovernance", a space in the passage's view) joins
            # the next word, as a hyphen break does in keyword words; one before a conjunction
            # ("self- and co-regulation") is a suspended hyphen.
            self._hyphen_patterns = [
                (prefix, re.compile(f"{words}[-\u2010\u2011](?:\\s+(?!{_SUSPENDING_WORDS}(?!{_W})))?{_W}+"))
                for prefix, words in spelled.items()
            ]

    def _compile_symbols(self, symbol: list[_SymbolTerm]) -> None:
        """A regex per keyword holding a symbol (one per pattern, shared by the keywords that spell it), and
        how its matches are found from its needle (_SymbolSearch)."""
        owners: dict[tuple[str, str], list[_SymbolTerm]] = defaultdict(list)
        for keyword in symbol:
            owners[keyword.pattern, keyword.needle].append(keyword)
        self._symbols = [_symbol_search(keywords) for keywords in owners.values()]

    def _find_symbols(self, lower: str) -> Iterator[_Hit]:
        """Hits of the keywords holding a symbol, in the folded text: a pattern is tried only where a match
        may start, found from where its needle is (str.find), not searched for through the whole text,
        which cost 0.1 s per keyword per 2 MB where its needle is common (probes AD4, AE3); the same
        matches as finditer's."""
        backwards = None  # the text reversed, read back from a needle (once, for every pattern that needs it)
        for search in self._symbols:
            if search.needle not in lower:
                continue
            # Where the needle is in every few characters, finditer is the faster (about 5 µs a needle
            # against 0.1-0.5 µs a character), and it finds the same.
            most = max(64, len(lower) // 32)
            needles = None if search.gap_runs is None else _places(lower, search.needle, most=most)
            if needles is None:
                matches: Iterable[re.Match] = search.regex.finditer(lower)
            else:
                if search.gap_runs and backwards is None:
                    backwards = lower[::-1]
                matches = _symbol_matches(search, lower, needles, backwards)
            for found in matches:
                start, end = found.span()
                for keyword in search.keywords:
                    yield _Hit(keyword.code, start, end, keyword.rule, keyword.exclusion, keyword.term)

    def _compile_fallback(self, fallback: list[_Pattern]) -> None:
        """An automaton over the first words of the trie keywords; later words are walked."""
        self._by_form: dict[str, list[_Pattern]] = defaultdict(list)
        self._by_prefix: dict[str, list[_Pattern]] = defaultdict(list)
        for pattern in fallback:
            first = pattern.words[0]
            if isinstance(first, str):
                self._by_prefix[first].append(pattern)
            else:
                for form in first:
                    self._by_form[form].append(pattern)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._by_prefix})
        needles = sorted(set(self._by_form) | set(self._by_prefix))
        self._latin_automaton = (
            ahocorasick_rs.AhoCorasick(needles, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
            if needles
            else None
        )
        self._word_cache: dict[str, _Node | None] = {}

    def _compile_cjk(self, cjk: list[_CjkTerm], known_words: Iterable[str]) -> None:
        """An automaton over the CJK terms; the Chinese dictionary is read on the first doubtful hit."""
        self._cjk_terms = cjk
        self._cjk_automaton = ahocorasick_rs.AhoCorasick([term.term for term in cjk]) if cjk else None
        self._shortest = min((len(term.term) for term in cjk), default=0)  # a shorter run holds no term
        # The segmenter knows the codebook's whole terms; a wildcard's prefix is not a word.
        self._cjk_words = tuple(sorted({term.term for term in cjk if not term.wildcard} | set(known_words)
                                       | {word for term in self._mixed for word in term.cjk_words}))
        # The longest word of the segmenter's dictionary (jieba's own are 16 at most), `known_words` among
        # them: a matcher of some codes looks as far for a word spanning a hit as the codebook's does.
        self._longest = max([16, *map(len, self._cjk_words)])
        # A term is judged by a segmenter that knows every codebook term but the longer ones holding it, so
        # that another code's 跨界合作 leaves 合作 coded where it is coded without it (probe AY1), and
        # without the other codes' terms holding any term of its code: a code's keywords, exclusions and
        # rule words are judged alike (probe BB1).
        held_by_others = _held_by_other_codes(self._cjk_words, cjk)
        readings: dict[tuple[str, ...], int] = {(): 0}  # the longer terms left out -> the reading's number
        self._cjk_readings = [readings.setdefault(_terms_holding(self._cjk_words, term, held_by_others[term.code]),
                                                  len(readings)) for term in cjk]
        self._left_out = list(readings)
        self._dictionaries: dict[int, ChineseDictionary] = {}

    def _compile_mixed(self) -> None:
        """One automaton over the readings of the mixed keywords; each reading's keywords, by number."""
        owners: dict[str, list[int]] = defaultdict(list)
        for number, term in enumerate(self._mixed):
            owners[term.needle].append(number)
        self._mixed_owners = list(owners.values())
        self._mixed_automaton = ahocorasick_rs.AhoCorasick(list(owners)) if owners else None

    @property
    def segmenter_words(self) -> tuple[str, ...]:
        """The Chinese words the segmenter is told of besides its dictionary: the codebook's whole terms.
        A query matched as the codebook matches is compiled with them (`known_words`)."""
        return self._cjk_words

    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self.codes

    # -- matching -------------------------------------------------------------------------

    def find(self, passage: Passage) -> list[Match]:
        """Every surviving match in `passage`, offsets into the document text, sorted by position."""
        return self.find_in_passages([passage])[0]

    def find_in_passages(self, passages: Sequence[Passage]) -> list[list[Match]]:
        """find() for each of `passages` (usually one document's), with every automaton run once
        over all of them; a match never crosses a passage and rules, exclusions and regexes are
        evaluated in each passage on its own, so the result is find()'s, passage by passage.

        >>> [len(matches) for matches in matcher.find_in_passages(passages)]  # doctest: +SKIP
        [0, 2, 1]
        """
        return [[Match(code, start, end, text, rule) for start, end, code, text, rule in found]
                for found in self._find_all(passages)]

    def count_in_passages(self, passages: Sequence[Passage]) -> list[dict[str, CodeMatches]]:
        """For each of `passages`, each code's matches as one segment holds them: how many, and the
        matched words (matched_words()); codes in order of their first match, as matches_by_code().

        find_in_passages() without a Match object per hit: the pipeline's way.

        >>> matcher.count_in_passages(passages)[1]  # doctest: +SKIP
        {'joint_meeting': CodeMatches(hits=2, matched=('joint meeting', 'joint meetings'))}
        """
        if self._regexes:
            return [_count(found) for found in self._find_all(passages)]
        document = self._document_hits(passages)
        if document.positions is not None:  # NFC moved offsets: count what find_in_passages() finds
            return [_count(found) for found in self._finish(passages, document)]
        # The usual case, without a tuple per match: the hits' offsets are offsets into `joined`.
        counted: list[dict[str, CodeMatches]] = []
        words: dict[str, str] = {}  # matched text -> its words as matched_words() writes them
        joined = document.joined
        for hits in document.hits:
            if len(hits) > 1:
                hits = sorted(hits, key=_HIT_POSITION)
            words_by_code: dict[str, list[str]] = {}
            for code_id, start, end, _, _, _ in hits:
                text = joined[start:end]
                word = words.get(text)
                if word is None:
                    word = words[text] = matched_text(text)
                matched = words_by_code.get(code_id)
                if matched is None:
                    words_by_code[code_id] = [word]
                else:
                    matched.append(word)
            counted.append({code_id: CodeMatches(len(matched), tuple(dict.fromkeys(matched)))
                            for code_id, matched in words_by_code.items()})
        return counted

    def _find_all(self, passages: Sequence[Passage]) -> list[list[tuple[int, int, str, str, str]]]:
        """find_in_passages() as plain (start, end, code, text, rule) tuples, fastest to make."""
        return self._finish(passages, self._document_hits(passages))

    def segment_hits(self, passages: Sequence[Passage]) -> dict[str, list[tuple[int, int, str]]]:
        """Each code's segments in `passages` (usually one document's): for each code that matched,
        (passage.index, hits, matched cell) of every passage it codes, in passage order; the cell is
        the matched words "; "-joined as segments.csv writes them (join_matched()).

        count_in_passages() grouped by code, made in one pass over the document's hits (by start, longest
        first, then by code: codes matching one span in the order of their ids): the pipeline's way.

        >>> matcher.segment_hits(passages)  # doctest: +SKIP
        {'joint_meeting': [(1, 2, 'joint meeting; joint meetings')]}
        """
        return self.segment_hits_by_document([passages])[0]

    def _segment_hits_in_runs(self, documents: Sequence[Sequence[Passage]]) -> list[dict[str, list[tuple[int, int, str]]]]:
        """segment_hits_by_document() for runs of passages of about _MATCHED_AT_ONCE characters at a time,
        a document's cut between runs where it is longer: each document's segments, by code in the order
        of the code's first segment, the same as in one call but for the order of the codes."""
        merged: list[dict[str, list[tuple[int, int, str]]]] = [{} for _ in documents]
        run: list[list[Passage]] = []  # pieces of documents
        owners: list[int] = []
        chars = 0

        def match_run() -> None:
            found_by_piece = self._segment_hits_at_once(run, [passage for piece in run for passage in piece])
            for number, found in zip(owners, found_by_piece):
                into = merged[number]
                for code_id, rows in found.items():
                    into.setdefault(code_id, []).extend(rows)

        for number, document in enumerate(documents):
            piece: list[Passage] = []
            for passage in document:
                if chars >= _MATCHED_AT_ONCE:
                    if piece:
                        run.append(piece)
                        owners.append(number)
                    match_run()
                    run, owners, piece, chars = [], [], [], 0
                piece.append(passage)
                chars += len(passage.view)
            if piece:
                run.append(piece)
                owners.append(number)
        if run:
            match_run()
        return merged

    def segment_hits_by_document(self, documents: Sequence[Sequence[Passage]]) -> list[dict[str, list[tuple[int, int, str]]]]:
        """segment_hits() of each document's passages, with every automaton run once over all of them
        (a match never crosses a passage, so this is each document's result on its own): the
        per-call work (joining, folding, the automaton's set-up) is paid once for a few documents.

        >>> [len(found) for found in matcher.segment_hits_by_document([passages, more_passages])]  # doctest: +SKIP
        [3, 0]
        """
        passages = [passage for document in documents for passage in document]
        if sum(map(len, map(_VIEW, passages))) > _MATCHED_AT_ONCE and len(passages) > 1:
            return self._segment_hits_in_runs(documents)
        return self._segment_hits_at_once(documents, passages)

    def _segment_hits_at_once(self, documents: Sequence[Sequence[Passage]],
                              passages: list[Passage]) -> list[dict[str, list[tuple[int, int, str]]]]:
        """segment_hits_by_document() in one call; `passages` are the documents' passages, in order."""
        owner = [number for number, document in enumerate(documents) for _ in document]  # passage position -> document
        if self._regexes:
            return _grouped(passages, self.count_in_passages(passages), owner, len(documents))
        views, view_starts, joined, lower, positions, phrases, raw = self._raw_hits(passages)
        if positions is not None or self._has_exclusions or self._rules:
            document = self._distributed(views, view_starts, joined, lower, positions, self._with_phrases(phrases, raw))
            if positions is not None:  # NFC moved offsets: count what find_in_passages() finds
                return _grouped(passages, [_count(found) for found in self._finish(passages, document)], owner,
                                len(documents))
            # Each passage's hits are sorted (as below) and without overlaps already.
            phrases, raw = None, [hit for hits in document.hits for hit in hits]
        np = _np
        numbers = self._code_numbers
        codes = [np.array([numbers[hit.code] for hit in raw], dtype=np.int64)]
        starts = [np.array([hit.start for hit in raw], dtype=np.int64)]
        ends = [np.array([hit.end for hit in raw], dtype=np.int64)]
        if phrases is not None:
            codes.insert(0, self._phrase_table.codes[phrases.owners])  # type: ignore[union-attr]
            starts.insert(0, phrases.starts)
            ends.insert(0, phrases.ends)
        return _segments_of_hits(np.concatenate(codes), np.concatenate(starts), np.concatenate(ends),
                                 codes_by_number=self._codes_by_number, passages=passages, owner=owner, documents=len(documents),
                                 joined=joined, view_starts=view_starts, words_of=self._matched_words())

    def _document_hits(self, passages: Sequence[Passage]) -> _DocumentHits:
        """Every automaton run once over the joined passages; each passage's keyword and rule hits
        after exclusions and overlaps, with offsets into the composed, folded text."""
        views, view_starts, joined, lower, positions, phrases, raw = self._raw_hits(passages)
        return self._distributed(views, view_starts, joined, lower, positions, self._with_phrases(phrases, raw))

    def _with_phrases(self, phrases: _PhraseMatches | None, raw: list[_Hit]) -> list[_Hit]:
        """The phrase matches as _Hits (as _phrase_hits() makes them), then `raw`."""
        if phrases is None:
            return raw
        owners = self._phrase_owners
        new_hit = tuple.__new__
        hits = [new_hit(_Hit, (owner[0], start, end, owner[1], owner[2], owner[3]))
                for owner, start, end in zip(map(owners.__getitem__, phrases.owners.tolist()),
                                             phrases.starts.tolist(), phrases.ends.tolist())]
        hits.extend(raw)
        return hits

    def _raw_hits(self, passages: Sequence[Passage]) -> _RawHits:
        """Every automaton run once over the joined passages: the views, their offsets in the joined
        text, the joined text, the composed and folded text, its offsets in the joined text (None when
        NFC changed nothing), and every hit (offsets into the folded text), before exclusions, rules
        and overlaps: the phrase matches as arrays, the others as _Hits after them."""
        views = [passage.view for passage in passages]
        joined = _SEPARATOR.join(views)
        view_starts = []  # each passage's offset in `joined`
        position = 0
        for view in views:
            view_starts.append(position)
            position += len(view) + len(_SEPARATOR)
        # Compared in NFC and folded (lexicon.fold_text, one character for one); `positions` maps
        # offsets of the composed text back to `joined` when NFC joined a letter and its marks.
        # Neither crosses the separator, so this is each passage's text as find() compares it.
        ascii_only = joined.isascii()
        if ascii_only:
            lower, composed, positions = joined.lower(), joined, None
        else:
            composed, positions = compose_text(joined)
            lower = fold_text(composed, separator=_SEPARATOR)
        # A dash between spaces is punctuation ("the party — building trust"), not a hyphen: it breaks
        # a phrase as a comma does. Character for character, so offsets hold.
        lower = _dashes_as_commas(lower)
        if " --" in lower:
            lower = _typed_dashes_as_commas(lower)
        # Addresses before tabs: a tab ends an address as a space does; read as a comma first, it let
        # "www." run on into the next cell and blank its words (probe PP1).
        if "://" in lower or "www." in lower:  # a web address is no prose: its words code nothing
            lower = _web_addresses_blanked(lower)
        if "\t" in lower:  # a tab splits a table's cells (and fields): no phrase or Chinese word runs across it
            lower = lower.replace("\t", ",")
        raw: list[_Hit] = []
        phrases = None
        if self._phrase_automaton is not None:
            phrases, raw = self._find_phrases(lower, composed)
        if self._latin_automaton is not None:
            raw.extend(self._find_latin(lower))
        if self._hyphen_regex is not None:
            raw.extend(self._find_hyphen(lower))
        if self._symbols:
            raw.extend(self._find_symbols(lower))
        if (self._mixed or self._cjk_automaton is not None) and not ascii_only and contains_cjk(joined):
            # Only the passages with a character beyond ASCII can hold a CJK run (none crosses the
            # separator); their offsets hold in `lower` unless NFC moved them.
            spans = None if positions is not None else _cjk_spans(views, view_starts)
            if self._mixed:
                raw.extend(self._find_mixed(lower, spans))
            if self._cjk_automaton is not None:
                raw.extend(self._find_cjk(lower, spans))
        return _RawHits(views, view_starts, joined, lower, positions, phrases, raw)

    def _distributed(self, views: list[str], view_starts: list[int], joined: str, lower: str,
                     positions: list[int] | None, raw: list[_Hit]) -> _DocumentHits:
        """_raw_hits()'s hits by passage, after exclusions, rules and overlaps."""
        count = len(views)
        by_passage: list[list[_Hit]] = [[] for _ in range(count)]
        if count == 1:
            by_passage[0] = raw
        elif positions is None:
            for hit in raw:
                by_passage[bisect_right(view_starts, hit.start) - 1].append(hit)
        else:
            for hit in raw:
                by_passage[bisect_right(view_starts, positions[hit.start]) - 1].append(hit)
        for index, hits in enumerate(by_passage):
            if not hits:
                continue
            # Hits keep their offsets in `lower` until the last step (no hit crosses a passage).
            if self._has_exclusions:
                hits = _apply_exclusions(hits)
            if self._rules:
                hits = self._apply_rules(hits, lower)
            if len(hits) > 1:
                hits = _drop_overlaps(hits)
            by_passage[index] = hits
        return _DocumentHits(views, view_starts, joined, positions, by_passage)

    def _finish(self, passages: Sequence[Passage], document: _DocumentHits) -> list[list[tuple[int, int, str, str, str]]]:
        """Each passage's matches as (start, end, code, text, rule), regex matches added, in find()'s order."""
        positions = document.positions
        found: list[list[tuple[int, int, str, str, str]]] = []
        for index, passage in enumerate(passages):
            hits = document.hits[index]
            if not hits and not self._regexes:
                found.append([])
                continue
            offset = passage.start
            view = document.views[index]
            base = document.view_starts[index]
            matches = []
            for code, start, end, rule, _, _ in hits:
                if positions is not None:
                    start, end = positions[start], positions[end]
                start -= base
                end -= base
                matches.append((offset + start, offset + end, code, view[start:end], rule))
            if self._regexes:
                found_by_regex = self._find_regexes(passage)
                if found_by_regex:
                    matches.extend((offset + hit.start, offset + hit.end, hit.code, view[hit.start:hit.end], hit.rule)
                                   for hit in found_by_regex)
                    matches = _drop_overlaps(matches, start=0, end=1, code=2)
            if len(matches) > 1:
                matches.sort(key=_POSITION)
            found.append(matches)
        return found

    def _find_regexes(self, passage: Passage) -> list[_Hit]:
        """Regex matches on the passage as written, each regex stopped after REGEX_TIMEOUT seconds on
        the passage, or when its time over all passages passes REGEX_BUDGET."""
        hits = []
        timeout = regexes.REGEX_TIMEOUT
        spent = self._regex_seconds
        text, places = _without_cjk_gaps(passage.view)
        for number, (code_id, pattern, compiled) in enumerate(self._regexes):
            started = thread_time()  # the CPU this thread spent: waits for a core on a loaded machine are not the regex's
            try:
                for found in compiled.finditer(text, timeout=timeout):
                    if found.end() > found.start():
                        start, end = found.span() if places is None else (places[found.start()], places[found.end() - 1] + 1)
                        hits.append(_Hit(code_id, start, end, pattern))
            except TimeoutError:
                raise RegexTimeoutError(code_id, pattern, passage.document, passage.index, timeout) from None
            spent[number] += thread_time() - started
            if spent[number] > regexes.REGEX_BUDGET:
                raise RegexBudgetError(code_id, pattern, regexes.REGEX_BUDGET, self._regex_passages + 1)
        self._regex_passages += 1
        return hits

    def _find_phrases(self, lower: str, view: str) -> tuple[_PhraseMatches | None, list[_Hit]]:
        """Keyword matches found as literal phrases (_phrase_matches()), then those across words
        hyphenated at a line end, or hyphenated where a code's terms spell them as one."""
        breaks = _hyphen_breaks(lower)
        compounds = self._compound_breaks(lower, view) if self._joins else []
        if self._phrase_gate is not None and not breaks and not compounds:
            present = {index for index, _, _ in self._phrase_gate.find_matches_as_indexes(lower, overlapping=True)}
            if not any(words <= present for words in self._gate_needles):
                return None, []
        matches = self._phrase_matches(lower)
        words: dict[int, bool | str] = {}
        breaks = [(start, end) for start, end in breaks if _rejoins(lower, view, start, end, words)]
        if breaks and matches is not None:
            matches = _outside_rejoined(matches, breaks)
        # "gover-\nnance": the passages with breaks matched again with their breaks removed, keeping only
        # the matches across one (those passages only: the rest of the document is not matched twice),
        # all in one call, joined by the separator no match crosses.
        again = _rejoined_texts(lower, breaks, compounds)
        found: list[_Hit] = []
        if again:
            offsets = list(accumulate((len(rejoined.text) + len(_SEPARATOR) for rejoined in again[:-1]), initial=0))
            for hit in self._phrase_hits(_SEPARATOR.join(rejoined.text for rejoined in again)):
                which = bisect_right(offsets, hit.start) - 1
                rejoined = again[which]
                if (hit.code in rejoined.codes) is rejoined.others:
                    continue
                first, last = hit.start - offsets[which], hit.end - 1 - offsets[which]
                start, end = rejoined.squeeze.unsqueeze(first), rejoined.squeeze.unsqueeze(last) + 1
                after = bisect_right(rejoined.break_starts, start)  # the first break after the match's start
                if after < len(rejoined.breaks) and rejoined.breaks[after][1] < end:
                    found.append(hit._replace(start=rejoined.passage_start + start, end=rejoined.passage_start + end))
        return matches, found

    def _compound_breaks(self, lower: str, view: str) -> list[tuple[int, int, frozenset[str]]]:
        """The hyphens (with the line break after one at a line end) inside a word that some code's terms
        spell as one (_CompoundJoins), with those codes: "co-operation" for `cooperation` or
        `cooperat*`, "inter-\ngovernmental" for `intergovernmental`; not before a capital
        ("Sino-American", as a line end's hyphen is kept before one)."""
        if not any(hyphen in lower for hyphen in _IN_WORD_HYPHENS):
            return []
        joins = self._joins
        tails, stem_edges, stem_edge_lengths = joins.tails, joins.stem_edges, joins.stem_edge_lengths
        spans = []
        for hyphen in _hyphens_in_words(lower):  # a hyphen between letters, a line break after it or not
            after = hyphen.group(1)
            start, end = hyphen.start(), hyphen.start(1)
            # The word after the hyphen ends a word some code joins, or carries on a prefix.
            if after not in tails:
                edge = lower[start - 1] + after
                if not any(edge[:length] in stem_edges for length in stem_edge_lengths):
                    continue
            if view[end].isupper():
                continue
            before = _word_before(lower, start)
            first = start - len(before)
            if first and _WORD_CHARS[lower[first - 1]]:
                continue
            owners = joins.owners(before, after)
            if owners:
                spans.append((start, end, owners))
        return spans

    def _phrase_hits(self, lower: str) -> list[_Hit]:
        """Keyword matches in the text with every run of gap characters read as one space."""
        return self._with_phrases(self._phrase_matches(lower), [])

    def _phrase_matches(self, lower: str) -> _PhraseMatches | None:
        """_phrase_hits() as arrays, in the same order; None when there are none.

        The automaton runs over the text with every gap character a space and every run of spaces
        one space; the matches' word-boundary tests, owners and offsets in `lower` are then worked
        out for all of them at once (numpy), not match by match.
        """
        table = self._phrase_table
        if table is None:
            table = self._phrase_table = _PhraseTable(self)
        np = _np
        text = lower
        for char in table.gap_chars:  # each gap character is a space (those below U+0100 in bytes, below)
            if char in text:
                text = text.replace(char, " ")
        if self._phrase_bytes:
            # One byte a character: Latin-1 as itself, every other character "?" (no needle holds one).
            data = text.encode("latin-1", "replace").translate(_GAP_BYTES)
            codes = np.frombuffer(data, np.uint8)
        else:
            codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
        # origin[p]: the offset in `lower` of position p of the text with each run of spaces one space.
        origin = None
        if (b"  " in data) if self._phrase_bytes else ("  " in text):
            space = codes == 32
            keep = np.ones(len(codes), dtype=bool)
            np.logical_not(space[1:] & space[:-1], out=keep[1:])  # a run keeps its first space
            origin = np.flatnonzero(keep)
            codes = codes[keep]
            if self._phrase_bytes:
                data = codes.tobytes()
            else:
                text = _SPACE_RUN.sub(" ", text)
        if not self._phrase_bytes:
            codes = np.where(codes < 256, codes, _UNKNOWN_BYTE).astype(np.uint8)
        found = self._phrase_automaton.find_matches_as_indexes(  # type: ignore[union-attr]
            data if self._phrase_bytes else text, overlapping=True)
        if not found:
            return None
        matches = np.array(found, dtype=np.int64)
        needles, starts, ends = matches[:, 0], matches[:, 1], matches[:, 2]
        length = len(codes)
        # A match must start a word: no word character before it.
        starts_word = ~table.word_flags(codes, starts - 1, starts > 0, lower, origin)
        # Its owners, in order, each needle's one after the other.
        counts = table.counts[needles]
        if table.single:
            owners = table.first[needles]
        else:
            starts_word, ends, starts = np.repeat(starts_word, counts), np.repeat(ends, counts), np.repeat(starts, counts)
            first = np.repeat(table.first[needles], counts)
            owners = table.flat[first + np.arange(len(first)) - np.repeat(np.cumsum(counts) - counts, counts)]
        wildcard = table.wildcard[owners]
        # A keyword whose last word is no wildcard must end a word too.
        keep = starts_word & (wildcard | ~table.word_flags(codes, np.minimum(ends, length - 1), ends < length, lower, origin))
        if not keep.all():
            owners, starts, ends, wildcard = owners[keep], starts[keep], ends[keep], wildcard[keep]
        if not len(owners):
            return None
        if origin is not None:
            starts = origin[starts]
            ends = origin[ends - 1] + 1
        if wildcard.any():
            # The rest of the word the wildcard's prefix begins: word characters, none of them squeezed.
            tail = _WORD_TAIL.match
            places = np.flatnonzero(wildcard)
            ends[places] = [tail(lower, end).end() for end in ends[places].tolist()]  # type: ignore[union-attr]
        return _PhraseMatches(owners, starts, ends)

    def _continuations(self, word: str) -> _Node | None:
        """The patterns whose first word matches `word`, as a trie over their further words."""
        if word in self._word_cache:
            return self._word_cache[word]
        patterns = list(self._by_form.get(word, ()))
        for length in self._prefix_lengths:
            if length > len(word):
                break
            patterns.extend(self._by_prefix.get(word[:length], ()))
        root = None
        if patterns:
            root = _Node()
            for pattern in patterns:
                root.insert(pattern, 1)
        self._word_cache[word] = root
        return root

    def _find_latin(self, lower: str) -> Iterator[_Hit]:
        length = len(lower)
        for _, start, end in self._latin_automaton.find_matches_as_indexes(lower):  # type: ignore[union-attr]
            if start and _is_word_char(lower[start - 1]):
                continue
            if end < length and _is_word_char(lower[end]):
                end = _WORD_TAIL.match(lower, end).end()  # type: ignore[union-attr]
            root = self._continuations(lower[start:end])
            if root is not None:
                for pattern, stop in root.walk(lower, end):
                    yield _Hit(pattern.code, start, stop, pattern.rule, pattern.exclusion, pattern.term)

    def _find_hyphen(self, lower: str) -> Iterator[_Hit]:
        # Each prefix is matched where it starts, whatever other prefixes match there ("self help-*" in
        # "self-help-groups" takes nothing from `self-*` or `help-*`), its own matches apart, as alone.
        ends: dict[str, int] = {}  # prefix -> the end of its last match
        for start in self._hyphen_regex.finditer(lower):  # type: ignore[union-attr]
            position = start.start()
            for prefix, pattern in self._hyphen_patterns:
                if position < ends.get(prefix, 0):
                    continue
                found = pattern.match(lower, position)
                if found is None:
                    continue
                ends[prefix] = found.end()
                for keyword in self._hyphen_owners[prefix]:
                    yield _Hit(keyword.code, position, found.end(), keyword.rule, keyword.exclusion, keyword.term)

    def _apply_rules(self, raw: list[_Hit], lower: str) -> list[_Hit]:
        """The keyword hits, plus the hits of every rule that holds; the rule words' own hits go."""
        by_list: dict[int, list[_Hit]] = defaultdict(list)
        kept = []
        for hit in raw:
            if hit.term < 0:
                kept.append(hit)
            else:
                by_list[hit.term].append(hit)
        if not by_list:
            return kept
        lists: dict[tuple[str, int], dict[int, list[_Hit]]] = defaultdict(dict)
        for term, hits in by_list.items():
            owner = self._rule_lists[term]
            lists[owner.code, owner.rule][owner.position] = hits
        for (code, rule_index), found in lists.items():
            rule = self._rules[code][rule_index]
            if -1 in found:
                continue  # a word of the rule's `not` list is in the passage
            hits = _rule_hits(rule, found, lower)
            kept.extend(_Hit(code, hit.start, hit.end, rule.description) for hit in hits)
        return kept

    def _find_cjk(self, lower: str, spans: list[list[int]] | None = None) -> Iterator[_Hit]:
        """CJK term hits in the runs of CJK text of `lower`, or of its `spans` ([start, end] each)."""
        shortest = self._shortest
        runs = (run for start, end in spans for run in _CJK_RUN.finditer(lower, start, end)) if spans is not None \
            else _CJK_RUN.finditer(lower)
        for run in runs:
            text = run.group()
            if len(text) < shortest:
                continue
            offset = run.start()
            if _SPACE.search(text) is None:  # the usual run: one line, no spaces
                compact, positions = text, None
            else:
                positions = [offset + index for index, char in enumerate(text) if not char.isspace()]
                compact = "".join(char for char in text if not char.isspace())
            hits = self._cjk_automaton.find_matches_as_indexes(compact, overlapping=True)  # type: ignore[union-attr]
            if not hits:
                continue
            tables: dict[int, dict[str, int]] = {}  # per reading: its dictionary's words, read on a doubtful hit
            segmentations: dict[int, _Segmentation] = {}  # per reading: built on the first hit that needs it
            for term_index, start, end in hits:
                term = self._cjk_terms[term_index]
                reading = self._reading(term_index, compact)
                # When no dictionary word spans either edge, no segmentation can: no need to segment.
                if not term.wildcard:
                    words = tables.get(reading)
                    if words is None:
                        words = tables[reading] = self._chinese_dictionary(reading).frequencies(compact)
                    doubtful = (_crossed(words, compact, start, self._longest)
                                or _crossed(words, compact, end, self._longest))
                if term.wildcard or doubtful:
                    segmentation = segmentations.get(reading)
                    if segmentation is None:
                        segmentation = segmentations[reading] = _Segmentation(
                            self._chinese_dictionary(reading), compact, self._longest)
                    if term.wildcard:
                        end = segmentation.word_end(start, end)
                        if end is None:
                            continue
                    elif not segmentation.is_word(start, end):
                        continue
                if positions is None:
                    yield _Hit(term.code, offset + start, offset + end, term.rule, term.exclusion, term.index)
                else:
                    yield _Hit(term.code, positions[start], positions[end - 1] + 1, term.rule, term.exclusion,
                               term.index)

    def _find_mixed(self, lower: str, spans: list[list[int]] | None = None) -> list[_Hit]:
        """The hits of the keywords mixing Chinese with Latin letters or digits (_MixedTerm) in `lower`, or
        in its `spans` ([start, end] each): one automaton pass over the text's reading, then each hit's
        ends checked; in the order of the keywords, then of the text."""
        found: list[tuple[int, int, _Hit]] = []
        length = len(lower)
        text = _MixedText(lower, [[0, length]] if spans is None else spans, self._chinese_dictionary, self._longest)
        for needle, first, last in self._mixed_automaton.find_matches_as_indexes(  # type: ignore[union-attr]
                text.reading, overlapping=True):
            hit_start, hit_end = text.offset(first), text.offset(last - 1) + 1
            for number in self._mixed_owners[needle]:
                term = self._mixed[number]
                if term.latin_start and hit_start and _WORD_CHARS[lower[hit_start - 1]]:
                    continue
                if term.cjk_start and not text.starts_word(first):
                    continue
                term_end: int | None = hit_end
                if term.latin_end and term.wildcard:
                    term_end = _WORD_TAIL.match(lower, hit_end).end()  # type: ignore[union-attr]
                elif term.latin_end:
                    if hit_end < length and _WORD_CHARS[lower[hit_end]]:
                        continue
                elif term.cjk_end:
                    term_end = text.word_end(last, wildcard=term.wildcard)
                    if term_end is None:
                        continue
                found.append((number, hit_start, _Hit(term.code, hit_start, term_end, term.rule, term.exclusion,
                                                      term.index)))
        found.sort(key=itemgetter(0, 1))
        return [hit for _, _, hit in found]

    def _matched_words(self) -> _MatchedWords:
        """Matched texts' words, remembered from call to call (the same phrases recur in every
        document), forgotten when there are _REMEMBERED_MATCHES of them."""
        if len(self._words_of_matches) > _REMEMBERED_MATCHES:
            self._words_of_matches = _MatchedWords()
        return self._words_of_matches

    def read_dictionary(self) -> None:
        """Read the Chinese dictionary now if the codebook has Chinese terms (else on their first
        doubtful match): a coding process does it while it waits for its first documents."""
        if self._cjk_terms:
            self._chinese_dictionary()

    def _reading(self, term_index: int, compact: str) -> int:
        """The dictionary that judges the CJK term `term_index` in the run `compact`: the one without the
        codebook's longer terms holding it, and the other codes' holding another term of its code, when
        the run has one of them, else the codebook's (which cuts such a run as that one would, but for
        jieba's total of frequencies)."""
        reading = self._cjk_readings[term_index]
        if reading and not any(term in compact for term in self._left_out[reading]):
            return 0
        return reading

    def _chinese_dictionary(self, reading: int = 0) -> ChineseDictionary:
        """jieba's dictionary with the codebook's terms (`reading` 0), or with all but the longer terms
        holding some term (the others: `_terms_holding`)."""
        dictionary = self._dictionaries.get(reading)
        if dictionary is None:
            dictionary = chinese_dictionary(self._cjk_words)
            if reading:
                dictionary = dictionary.without(self._left_out[reading])
            self._dictionaries[reading] = dictionary
        return dictionary


class _Segmentation:
    """jieba's word boundaries in one run of CJK text, segmented once and reused by every hit.

    A clause (text between punctuation marks) is segmented whole, as jieba would; a clause longer
    than _PIECE characters is cut, where no dictionary word spans the cut, into pieces segmented
    one by one when a hit needs them. No word spans such a cut, so every segmentation path
    passes through it and the pieces' boundaries are the clause's (jieba's best path is the
    best path of each piece): cost and memory stay linear in the text.
    """

    def __init__(self, dictionary: ChineseDictionary, compact: str, longest: int):
        self.dictionary = dictionary
        self.compact = compact
        self.longest = longest
        self.breaks = [found.start() for found in _CJK_CLAUSE_BREAK.finditer(compact)]
        self.cuts: dict[int, list[int]] = {}  # clause start -> cut positions so far (first = clause start)
        self.bounds: dict[int, frozenset[int]] = {}  # piece start -> word boundaries in it (absolute)
        self.words: dict[str, int] | None = None  # the dictionary's word table, once a clause needs cutting

    def is_word(self, start: int, end: int) -> bool:
        """True when [start, end) begins and ends on word boundaries, or where a compound word splits
        cleanly (`_splits`): 机构 in 监督机构, 联席会议 in 市长联席会议, but not 印度 in 印度尼西亚."""
        bounds = self._bounds(start, end)
        return self._edge(bounds, start, affixes=_CJK_PREFIXES) and self._edge(bounds, end, affixes=_CJK_SUFFIXES)

    def word_end(self, start: int, end: int) -> int | None:
        """For a wildcard prefix at [start, end): the end of the word it begins, if it begins one. A
        word that begins inside the prefix and runs past it is not the prefix's: 党建* begins no word
        in 我们党建立, cut 我们/党/建立, but 跨界* is 跨界 in 跨/界/治理."""
        bounds = self._bounds(start, end)
        if not self._edge(bounds, start, affixes=_CJK_PREFIXES):
            return None
        word_end = min(bound for bound in bounds if bound >= end)
        if word_end > end and max(bound for bound in bounds if bound < end) > start:
            return None
        return word_end

    def _edge(self, bounds: frozenset[int], position: int, *, affixes: frozenset[str]) -> bool:
        """Is `position` a word boundary, or inside a word that splits there into words (`_splits`), or
        into the term and one of the `affixes` outside it (领导 in 领导者, 区域 in 跨区域)?"""
        if position in bounds:
            return True
        before = max((bound for bound in bounds if bound < position), default=None)
        after = min((bound for bound in bounds if bound > position), default=None)
        if before is None or after is None:
            return False
        left, right = self.compact[before:position], self.compact[position:after]
        outside, term_side = (left, right) if affixes is _CJK_PREFIXES else (right, left)
        if outside in affixes:
            return self._splits(term_side)
        return self._splits(left) and self._splits(right)

    def _splits(self, part: str) -> bool:
        """Does `part` (one side of a compound word) cut into dictionary words of two or more characters?"""
        if self.words is None:
            self.words = self.dictionary.frequencies(self.compact)
        pieces = [piece for piece, _, _ in self.dictionary.tokenize(part)]
        return all(len(piece) >= 2 and self.words.get(piece) for piece in pieces)

    def _bounds(self, start: int, end: int) -> frozenset[int]:
        """The boundaries of the pieces that hold [start, end), their own ends included."""
        index = bisect_left(self.breaks, start)
        clause_start = self.breaks[index - 1] + 1 if index else 0
        stop = bisect_left(self.breaks, end)
        clause_end = self.breaks[stop] if stop < len(self.breaks) else len(self.compact)
        if clause_end - clause_start <= _PIECE:
            return self._piece(clause_start, clause_end)
        cuts = self.cuts.setdefault(clause_start, [clause_start])
        while cuts[-1] < clause_end and cuts[-1] < end:  # extend the cuts up to the hit, once
            cuts.append(self._next_cut(cuts[-1] + _PIECE, clause_end))
        first = bisect_left(cuts, start + 1) - 1
        if cuts[first + 1] >= end:  # the usual case: the hit lies in one piece
            return self._piece(cuts[first], cuts[first + 1])
        bounds: set[int] = set()
        for position in range(first, len(cuts) - 1):
            if cuts[position] >= end:
                break
            bounds |= self._piece(cuts[position], cuts[position + 1])
        return frozenset(bounds)

    def _next_cut(self, position: int, clause_end: int) -> int:
        if self.words is None:  # the table for every character of the text, loaded once, not once per cut
            self.words = self.dictionary.frequencies(self.compact)
        words = self.words
        while position < clause_end and _crossed(words, self.compact, position, self.longest):
            position += 1
        return min(position, clause_end)

    def _piece(self, start: int, end: int) -> frozenset[int]:
        bounds = self.bounds.get(start)
        if bounds is None:
            bounds = self.bounds[start] = frozenset(
                start + bound for bound in self.dictionary.boundaries(self.compact[start:end]))
            if len(self.bounds) > _PIECES_KEPT:  # hits come in text order: forget the oldest piece
                del self.bounds[next(iter(self.bounds))]
        return bounds


# One character that makes a word of another as a prefix or a suffix (领导者 "leader", 合作性, 跨区域,
# 非政府): a term is a word of the compound they make. Other single characters are not: 党建 is no word
# of 党/建立, 共治 none of 公共治理.
_CJK_SUFFIXES = frozenset("者们性化式型员家方制度率感力界论学法")
_CJK_PREFIXES = frozenset("非超反跨副总泛")

_PIECE = 4096  # characters of an unpunctuated clause segmented at a time (jieba builds a graph per piece)
_PIECES_KEPT = 8  # segmented pieces remembered per run of CJK text (memory stays flat)


_LETTER_OR_DIGIT = LazyPattern(f"[^\\W_{CJK_CHARS}]")


class _MixedText:
    """The `spans` of `lower` ([start, end] each, in order) as mixed keywords read them (_mixed_reading),
    joined by the separator no match crosses (one reading per call: a few documents' Chinese passages),
    with its runs of Chinese characters segmented when a hit's Chinese end needs them, each run once."""

    def __init__(self, lower: str, spans: list[list[int]], dictionary: Callable[[], ChineseDictionary],
                 longest: int):
        pieces = [lower[start:end] for start, end in spans]
        self.reading, self.places = _mixed_reading(_SEPARATOR.join(pieces))
        self.piece_starts = list(accumulate((len(piece) + len(_SEPARATOR) for piece in pieces[:-1]), initial=0))
        self.shifts = [start - piece_start for (start, _), piece_start in zip(spans, self.piece_starts)]
        self.dictionary = dictionary
        self.longest = longest
        self.runs: tuple[list[int], list[int]] | None = None  # the runs' starts and ends in the reading
        self.segmentations: dict[int, _Segmentation] = {}  # run start -> its segmentation

    def offset(self, position: int) -> int:
        """The offset in `lower` of the reading's character at `position`."""
        place = int(self.places[position])
        return place + self.shifts[bisect_right(self.piece_starts, place) - 1]

    def starts_word(self, position: int) -> bool:
        """Does a Chinese word start at `position` (a Chinese character)? A keyword's Chinese start runs
        to the end of its run of Chinese characters, where its Latin part begins."""
        run_start, run_end, segmentation = self._run_at(position)
        at = position - run_start
        return at == 0 or segmentation.is_word(at, run_end - run_start)

    def word_end(self, end: int, *, wildcard: bool) -> int | None:
        """The offset in `lower` of `end` (just after a Chinese character) if a Chinese word ends there, else
        None; with `wildcard`, of the end of the word the run's start begins (a keyword's Chinese end starts
        its run of Chinese characters, after its Latin part)."""
        run_start, run_end, segmentation = self._run_at(end - 1)
        at = end - run_start
        if at == run_end - run_start and not wildcard:
            return self.offset(end - 1) + 1
        if wildcard:
            word_end = segmentation.word_end(0, at)
            return None if word_end is None else self.offset(run_start + word_end - 1) + 1
        return self.offset(end - 1) + 1 if segmentation.is_word(0, at) else None

    def _run_at(self, position: int) -> tuple[int, int, _Segmentation]:
        if self.runs is None:
            np = _np
            cjk = _is_cjk_code(np.frombuffer(self.reading.encode("utf-32-le"), np.uint32))
            edges = np.diff(cjk.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
            self.runs = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
        starts, ends = self.runs
        index = bisect_right(starts, position) - 1
        run_start, run_end = starts[index], ends[index]
        segmentation = self.segmentations.get(run_start)
        if segmentation is None:
            segmentation = _Segmentation(self.dictionary(), self.reading[run_start:run_end], self.longest)
            self.segmentations[run_start] = segmentation
            if len(self.segmentations) > _PIECES_KEPT:  # hits come in text order: forget the oldest run
                del self.segmentations[next(iter(self.segmentations))]
        return run_start, run_end, segmentation


def _cjk_spans(views: list[str], view_starts: list[int]) -> list[list[int]]:
    """The [start, end] spans of the joined views (each at its offset in `view_starts`) that may hold
    CJK text, neighbours merged: not all ASCII (str.isascii() reads a flag the string keeps: no scan),
    and holding a character at or above the first CJK one, which a one-range class finds 3-4 times
    faster than the CJK class finds runs (no character below it folds or composes to a CJK one).
    A third of the benchmark corpus's text is ASCII, another 40% other text beyond ASCII (English
    with dashes and quotes): neither is scanned for CJK runs."""
    spans: list[list[int]] = []
    maybe_cjk = _MAYBE_CJK.search
    for view, start in zip(views, view_starts):
        if view.isascii() or maybe_cjk(view) is None:
            continue
        if spans and spans[-1][1] + len(_SEPARATOR) == start:
            spans[-1][1] = start + len(view)
        else:
            spans.append([start, start + len(view)])
    return spans


_MOST_SYLLABLES = 24  # more soft-hyphenated pieces than a word has: not read as one word
_BY_ITS_PIECES = "by its pieces"  # a soft hyphen judged as a hyphen at a line end is: by the pieces beside it
_LETTERS_OR_DIGITS = LazyPattern(f"[^\\W_{CJK_CHARS}]+")


def _rejoins(lower: str, view: str, start: int, end: int, words: dict[int, bool | str] | None = None) -> bool:
    """Does the hyphenated line end at [start, end) split one word (passages' rule)?

    A soft hyphen between letters (a line break after it or not) is judged by the whole word its soft hyphens split, as a text pasted
    from a web page hyphenates a word at every syllable: "co\u00adop\u00ader\u00ada\u00adtion" is "cooperation",
    and "in\u00adter\u00adgov\u00adern\u00admen\u00adtal" one word too, split in more than two pieces not all of
    them words. A zero-width character between two words, read as a soft hyphen, stays a break
    ("joint\u200bmeeting"). `words`, given, keeps each soft hyphen's judgement, so that a word's soft
    hyphens walk it once, not once each.
    """
    before = _word_before(lower, start)
    after = _WORD_TAIL.match(view, end).group()  # type: ignore[union-attr]
    if not (before and after):
        return False
    if lower[start] != "\u00ad":
        return rejoins_hyphenated(before, after)
    whole = None if words is None else words.get(start)
    if whole is None:
        whole = _soft_hyphenated_word(view, start, words)
    return rejoins_hyphenated(before, after) if whole is _BY_ITS_PIECES else bool(whole)


def _soft_hyphenated_word(view: str, soft_hyphen: int, words: dict[int, bool | str] | None) -> bool | str:
    """Is the word whose soft hyphen is at `soft_hyphen` one word (its pieces, letters or digits, each
    between two soft hyphens)? _BY_ITS_PIECES when it has two pieces, or more than any word has."""
    first = soft_hyphen
    while (piece := _word_before(view, first)):
        first -= len(piece)
        hyphen = first - 1
        while hyphen > 0 and view[hyphen].isspace():  # a soft hyphen at a line end
            hyphen -= 1
        while hyphen > 0 and view[hyphen] == view[hyphen - 1] == "\u00ad":  # two (a zero-width character read as one)
            hyphen -= 1
        if not (hyphen >= 1 and view[hyphen] == "\u00ad" and _LETTER_OR_DIGIT.match(view, hyphen - 1)):
            break
        first = hyphen
    pieces: list[str] = []
    soft_hyphens: list[int] = []
    position = first
    while (found := _LETTERS_OR_DIGITS.match(view, position)) is not None:
        pieces.append(found.group())
        hyphen = found.end()
        if hyphen >= len(view) or view[hyphen] != "\u00ad":
            break
        position = hyphen + 1
        while position < len(view) and view[position] == "\u00ad":
            position += 1
        while position < len(view) and view[position].isspace():
            position += 1
        if not _LETTER_OR_DIGIT.match(view, position):
            break
        soft_hyphens.append(hyphen)
    whole: bool | str
    if len(pieces) <= 2 or len(pieces) > _MOST_SYLLABLES:
        whole = _BY_ITS_PIECES
    elif not all(piece[0].islower() for piece in pieces[1:]):  # "Co\u00adOp": capitals start words
        whole = False
    else:
        lowered = [piece.lower() for piece in pieces]
        whole = is_english_word("".join(lowered)) or not all(map(is_english_word, lowered))
    if words is not None:
        words.update(dict.fromkeys(soft_hyphens, whole))
    return whole


def _word_before(lower: str, end: int) -> str:
    """The letters and digits (not CJK) that end at `end`, read backwards: a regex search for them
    scans from the passage start, for each line break of a document-unit passage."""
    start = end
    while start and _LETTER_OR_DIGIT.match(lower, start - 1):
        start -= 1
    return lower[start:end]


class _Squeeze:
    """Maps positions of a text whose runs [start, end) were replaced by `kept` characters (0 or 1)
    back to positions in the text as it was."""

    __slots__ = ("kept", "removed", "starts")

    def __init__(self, runs: list[tuple[int, int]], *, kept: int):
        self.kept = kept
        self.starts: list[int] = []
        self.removed: list[int] = []
        total = 0
        for start, end in runs:
            self.starts.append(start - total)
            total += end - start - kept
            self.removed.append(total)

    def unsqueeze(self, position: int) -> int:
        # A kept character stands at its run's start; a removed run shifts what follows it.
        before = bisect_left(self.starts, position + 1 - self.kept)
        return position + (self.removed[before - 1] if before else 0)


class _CompoundJoins:
    """Which codes read a word the text hyphenates ("co-operation", "inter-\ngovernmental") as one: those
    whose terms spell the parts joined as a word (`cooperation`), or whose wildcard's prefix the joined
    word begins, running on past the hyphen (`cooperat*`). Joined for those codes only, so a code's
    matches depend on its own terms, as a recode of the edited codes alone needs. A word or prefix under
    five letters joins nothing: such a word is too easily two parts that mean something else (co-op is
    no coop), and such a prefix would join whole families of compounds (`reco*`: re-count, re-construct)."""

    def __init__(self, spellings: Iterable[tuple[str, str, bool]]):
        """`spellings`: (code, needle, whether its last word is a wildcard's prefix) of every keyword."""
        words: dict[str, set[str]] = defaultdict(set)
        stems: dict[str, set[str]] = defaultdict(set)
        for code, needle, wildcard in spellings:
            parts = needle.split(" ")
            for index, word in enumerate(parts):
                if len(word) >= 5 and word.isalpha():
                    (stems if wildcard and index == len(parts) - 1 else words)[word].add(code)
        self.words = {word: frozenset(codes) for word, codes in words.items()}
        self.stems = {stem: frozenset(codes) for stem, codes in stems.items()}
        # The endings of the words after a first letter: the word after a hyphen is looked up here first.
        self.tails = frozenset(word[cut:] for word in self.words for cut in range(1, len(word)))
        # The same of the prefixes, each with the letter before it: the letter before a hyphen and the
        # word after it begin one of these (a prefix's one-letter endings would let most hyphens through).
        self.stem_edges = frozenset(stem[cut - 1:] for stem in self.stems for cut in range(1, len(stem)))
        self.stem_edge_lengths = sorted({len(edge) for edge in self.stem_edges})
        self.stem_lengths = sorted({len(stem) for stem in self.stems})

    def __bool__(self) -> bool:
        return bool(self.words or self.stems)

    def owners(self, before: str, after: str) -> frozenset[str]:
        """The codes that join `before` and `after`, the letters on either side of a hyphen."""
        joined = before + after
        owners = self.words.get(joined, frozenset())
        for length in self.stem_lengths:
            if len(before) < length <= len(joined):
                owners |= self.stems.get(joined[:length], frozenset())
        return owners


class _Rejoined(NamedTuple):
    """One passage with some of its breaks removed, matched again by _find_phrases(): the matches across
    one of them are kept for `codes` or, with `others`, for every code but those."""

    text: str
    passage_start: int  # the passage's offset in the text matched first
    breaks: list[tuple[int, int]]  # the breaks removed, as offsets into the passage
    break_starts: list[int]
    squeeze: _Squeeze
    codes: frozenset[str]
    others: bool


def _rejoined_texts(lower: str, breaks: list[tuple[int, int]],
                    compounds: list[tuple[int, int, frozenset[str]]]) -> list[_Rejoined]:
    """The passages of `lower` holding a break, each rejoined as a code alone would rejoin it: at every
    word hyphenated at a line end (`breaks`), and at the compounds that code joins (`compounds`, with
    their codes). The codes that join the same compounds of a passage share one text; those joining
    none share the text rejoined at `breaks` only."""
    owners: dict[tuple[int, int], frozenset[str] | None] = {(start, end): codes for start, end, codes in compounds}
    owners.update(dict.fromkeys(breaks))  # a word broken at a line end is one word for every code
    spans = sorted(owners)
    texts: list[_Rejoined] = []
    taken = 0  # spans[:taken] are done (a slice per passage, not the whole list scanned again)
    while taken < len(spans):
        passage_start = lower.rfind(_SEPARATOR, 0, spans[taken][0]) + 1
        passage_end = lower.find(_SEPARATOR, spans[taken][1])
        if passage_end < 0:
            passage_end = len(lower)
        last = bisect_right(spans, (passage_end, passage_end), taken)
        here, taken = spans[taken:last], last
        shared = [span for span in here if owners[span] is None]
        joined_by: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for span in here:
            for code in owners[span] or ():
                joined_by[code].append(span)
        codes_joining: dict[tuple[tuple[int, int], ...], set[str]] = defaultdict(set)
        for code, joined in joined_by.items():
            codes_joining[tuple(joined)].add(code)
        passage = lower[passage_start:passage_end]
        if shared:
            texts.append(_rejoined(passage, passage_start, shared, codes=frozenset(joined_by), others=True))
        for joined, codes in sorted(codes_joining.items()):  # in text order, not the sets' hash order
            texts.append(_rejoined(passage, passage_start, sorted([*shared, *joined]), codes=frozenset(codes),
                                   others=False))
    return texts


def _rejoined(passage: str, passage_start: int, spans: list[tuple[int, int]], *, codes: frozenset[str],
              others: bool) -> _Rejoined:
    """`passage` without the `spans` (offsets in the text it starts at `passage_start` of)."""
    here = [(start - passage_start, end - passage_start) for start, end in spans]
    pieces, position = [], 0
    for start, end in here:
        pieces.append(passage[position:start])
        position = end
    pieces.append(passage[position:])
    return _Rejoined("".join(pieces), passage_start, here, [start for start, _ in here], _Squeeze(here, kept=0),
                     codes, others)


def _is_word_char(char: str) -> bool:
    return (char.isalnum() and not is_cjk(char)) or is_mark(char)


class _WordChars(dict):
    """char -> _is_word_char(char), computed once per character met."""

    def __missing__(self, char: str) -> bool:
        self[char] = result = _is_word_char(char)
        return result


_WORD_CHARS = _WordChars()


# numpy, imported on the first phrase match (a label or colour edit never matches).
_np = LazyModule("numpy")
_UNKNOWN_BYTE = ord("?")  # a character beyond Latin-1 in the text the phrase automaton reads
# The gap characters below U+0100, as _phrase_matches() reads them: spaces.
_GAP_BYTES = bytes.maketrans(bytes(ord(char) for char in _GAP_SINGLES if char < "\u0100"),
                             b" " * sum(char < "\u0100" for char in _GAP_SINGLES))


def _outside_rejoined(matches: _PhraseMatches, breaks: list[tuple[int, int]]) -> _PhraseMatches:
    """The matches that neither end where a word hyphenated at a line end breaks nor start after the
    break: `region` is no whole word in "region-\nal", which reads "regional"."""
    np = _np
    starts, ends = np.array([start for start, _ in breaks]), np.array([end for _, end in breaks])
    keep = ~(np.isin(matches.ends, starts) | np.isin(matches.starts, ends))
    if keep.all():
        return matches
    return _PhraseMatches(matches.owners[keep], matches.starts[keep], matches.ends[keep])  # type: ignore[index]


class _PhraseMatches(NamedTuple):
    """Keyword matches found as literal phrases, as numpy arrays: each match's owner (an index into
    CompiledCodebook._phrase_owners) and its [start, end) in the text matched."""

    owners: object
    starts: object
    ends: object


class _PhraseTable:
    """The phrase automaton's needles and owners as numpy arrays (made on the first match)."""

    def __init__(self, compiled: CompiledCodebook):
        np = _np
        lists = compiled._needle_owner_lists
        self.counts = np.array([len(owners) for owners in lists], dtype=np.int64)
        self.single = bool((self.counts == 1).all())
        self.first = np.array([owners[0] for owners in lists], dtype=np.int64)
        if not self.single:
            self.first = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.flat = np.array([owner for owners in lists for owner in owners], dtype=np.int64)
        owners = compiled._phrase_owners
        self.wildcard = np.array([owner[4] for owner in owners], dtype=bool)
        self.codes = np.array([compiled._code_numbers[owner[0]] for owner in owners], dtype=np.int64)
        # Gap characters the text holds as characters: those beyond Latin-1 when it is read in bytes.
        self.gap_chars = tuple(char for char in _GAP_SINGLES if char >= "\u0100") if compiled._phrase_bytes \
            else _GAP_SINGLES
        # Is byte b a word character? "?" stands for characters beyond Latin-1 too: looked up in the text.
        self.word_bytes = np.array([_is_word_char(chr(byte)) for byte in range(256)], dtype=bool)

    def word_flags(self, codes, places, valid, lower: str, origin) -> object:  # noqa: ANN001 (numpy arrays)
        """Is the character at each of `places` of the matched text (where `valid`) a word character?
        `codes` holds its bytes ("?" also for a character beyond Latin-1: read in `lower`, at origin[place])."""
        np = _np
        found = codes[places]
        unknown = np.flatnonzero((found == _UNKNOWN_BYTE) & valid)
        found = self.word_bytes[found] & valid
        if len(unknown):
            at = places[unknown] if origin is None else origin[places[unknown]]
            word_char = _WORD_CHARS
            found[unknown] = [word_char[lower[place]] for place in at.tolist()]
        return found


def _count(found: list[tuple[int, int, str, str, str]]) -> dict[str, CodeMatches]:
    """One passage's matches (find()'s order) counted by code, as matches_by_code() groups them."""
    texts_by_code: dict[str, list[str]] = {}
    for _, _, code_id, text, _ in found:
        texts_by_code.setdefault(code_id, []).append(text)
    return {code_id: CodeMatches(len(texts), tuple(dict.fromkeys(map(matched_text, texts))))
            for code_id, texts in texts_by_code.items()}


def _grouped(passages: Sequence[Passage], counted: list[dict[str, CodeMatches]], owner: list[int],
             documents: int) -> list[dict[str, list[tuple[int, int, str]]]]:
    """count_in_passages()'s result grouped by document (`owner`: each passage's) and code, as
    segment_hits_by_document() returns it."""
    grouped: list[dict[str, list[tuple[int, int, str]]]] = [{} for _ in range(documents)]
    for passage, found, number in zip(passages, counted, owner):
        for code_id, (hits, matched) in found.items():
            _add_segment(grouped[number], code_id, passage.index, hits, matched)
    return grouped


def _segments_of_hits(codes, starts, ends, *, codes_by_number: list[str], passages: Sequence[Passage],  # noqa: ANN001
                      owner: list[int], documents: int, joined: str, view_starts: list[int],
                      words_of: _MatchedWords | None = None) -> list[dict[str, list[tuple[int, int, str]]]]:
    """segment_hits_by_document()'s result from every hit of the joined passages, in the order found:
    each hit's code (its number in `codes_by_number`, sorted ids) and [start, end) in `joined` (numpy arrays).

    What counting each passage's matches gives: per passage and code, the leftmost-longest of
    overlapping hits kept (_drop_overlaps()), then the code's hits and distinct matched words. The
    hits are sorted, overlaps found and cells cut for all of them at once; the rows are then made
    in the order a pass over the sorted hits would make them (each code's passage finished when the
    code's next hit lies in a later one, the last ones in order of the codes' first hits), so the
    dicts are the same, key order too.
    """
    np = _np
    grouped: list[dict[str, list[tuple[int, int, str]]]] = [{} for _ in range(documents)]
    count = len(starts)
    if not count:
        return grouped
    # Sorted as _drop_overlaps() sorts each passage's hits: by start, longest first (no hit crosses a
    # passage, so each passage's hits come in the same order); then by code, as find() sorts matches:
    # "meetings" matched by meeting* and meeting gives one order of codes whether the automaton found
    # them as written or the rejoining pass in "meet-\nings"; then as found (a code's hits at one span
    # are one hit). One int64 key, sorted stably, where it fits: 0.9 ms against np.lexsort's 5.3 ms
    # for the 5 MB benchmark corpus's 53,000 hits (1.7 ms without the code). rank: each hit's place.
    lengths = ends - starts
    longest = int(lengths.max()) + 1
    code_count = len(codes_by_number)
    if (int(starts.max()) + 1) * longest * code_count < 2**63:
        order = np.argsort((starts * longest + (longest - 1 - lengths)) * code_count + codes, kind="stable")
    else:
        order = np.lexsort((codes, -ends, starts))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count)
    # Each code's hits together, in that order: a hit that starts before the end of the code's last
    # kept one is dropped (a code's last kept end lies in an earlier passage or before the hit).
    by_code = order[np.argsort(codes[order], kind="stable")]
    code, start, end = codes[by_code], starts[by_code], ends[by_code]
    same_code = code[1:] == code[:-1]
    overlapping = np.flatnonzero(same_code & (start[1:] < end[:-1]))
    if len(overlapping):
        keep = np.ones(count, dtype=bool)
        firsts = np.flatnonzero(np.concatenate([[True], ~same_code]))  # where each code's hits begin
        bounds = np.append(firsts, count)
        start_list, end_list = start.tolist(), end.tolist()
        for group in np.unique(np.searchsorted(firsts, overlapping, side="right") - 1).tolist():
            last = -1
            for index in range(bounds[group], bounds[group + 1]):
                if start_list[index] < last:
                    keep[index] = False
                else:
                    last = end_list[index]
        by_code, code, start, end = by_code[keep], code[keep], start[keep], end[keep]
        same_code = code[1:] == code[:-1]
    position = np.searchsorted(np.array(view_starts, dtype=np.int64), start, side="right") - 1
    # A cell: a code's hits in one passage.
    new_cell = np.concatenate([[True], ~same_code | (position[1:] != position[:-1])])
    cell_first = np.flatnonzero(new_cell)
    cell_stop = np.append(cell_first[1:], len(code))
    # When a pass over the sorted hits would finish each cell: at the code's next hit (in a later
    # passage), or after the last hit, in order of the codes' first kept hits.
    kept_rank = rank[by_code]
    following = cell_stop.copy()
    following[-1] = 0
    next_same = np.append(same_code, False)[cell_stop - 1]  # the cell's code has a later cell
    code_first = np.flatnonzero(np.concatenate([[True], ~same_code]))
    first_of_cell = code_first[np.searchsorted(code_first, cell_first, side="right") - 1]
    finished = np.where(next_same, kept_rank[np.minimum(following, len(code) - 1)], count + kept_rank[first_of_cell])
    texts = [joined[a:b] for a, b in zip(start.tolist(), end.tolist())]
    words = list(map((_MatchedWords() if words_of is None else words_of).__getitem__, texts))
    firsts_list, stops_list = cell_first.tolist(), cell_stop.tolist()
    cell_codes = code[cell_first].tolist()
    cell_positions = position[cell_first].tolist()
    separator = MATCHED_SEPARATOR
    for cell in np.argsort(finished, kind="stable").tolist():
        first, stop = firsts_list[cell], stops_list[cell]
        if stop - first == 1:
            matched = words[first]  # join_matched() of one word
        else:
            found = words[first:stop]
            matched = separator.join(dict.fromkeys(found)) if "" not in found else join_matched(found)
        at = cell_positions[cell]
        rows = grouped[owner[at]]
        code_id = codes_by_number[cell_codes[cell]]
        row = (passages[at].index, stop - first, matched)
        found_rows = rows.get(code_id)
        if found_rows is None:
            rows[code_id] = [row]
        else:
            found_rows.append(row)
    return grouped


_REMEMBERED_MATCHES = 100_000


class _MatchedWords(dict):
    """matched text -> its words as matched_words() writes them (`matched_text`)."""

    def __missing__(self, text: str) -> str:
        self[text] = words = matched_text(text)
        return words


def matched_text(text: str) -> str:
    """A match's words as the `matched` cell shows them: as the passage's readable text reads them
    ("gover-\nnance" as governance, "党建\n联盟" as 党建联盟), other whitespace runs one space.

    A match is cut from the passage's view, where line breaks are spaces: there, the gaps the matcher
    reads as no word break (after a hyphen before a letter, between two CJK characters) are taken
    for the line breaks they stand for.

    >>> matched_text("gover- nance"), matched_text("党建 联盟"), matched_text("joint  meetings")
    ('governance', '党建联盟', 'joint meetings')
    """
    if "\u00ad" in text:  # a soft hyphen (or a zero-width character, read as one) shows nothing
        text = text.replace("\u00ad", "")
    if "\n" not in text:
        text = _VIEW_BREAK.sub("\n", text)
    return _readable(text) if "\n" in text else " ".join(text.split())


_VIEW_BREAK = re.compile(f"(?<=-)\\s+(?=[^\\W\\d_])(?!{_SUSPENDING_WORDS}\\b)|(?<=[\u2e80-\U0010ffff])\\s+(?=[\u2e80-\U0010ffff])")


def _add_segment(grouped: dict[str, list[tuple[int, int, str]]], code: str, index: int, hits: int,
                 matched: Collection[str]) -> None:
    """Append (passage index, hits, matched cell) to `code`'s segments; `matched` holds distinct words."""
    cell = MATCHED_SEPARATOR.join(matched) if "" not in matched else join_matched(matched)
    rows = grouped.get(code)
    if rows is None:
        grouped[code] = [(index, hits, cell)]
    else:
        rows.append((index, hits, cell))


def _hyphens_in_words(lower: str) -> list[re.Match]:
    """A hyphen between letters (a line break after it or not) and the letters after it, in text order."""
    found: list[re.Match] = []
    for hyphen, pattern in _HYPHENS_IN_WORD:
        if hyphen in lower:
            found.extend(pattern.finditer(lower))
    found.sort(key=_MATCH_START)
    return found


def _hyphen_breaks(lower: str) -> list[tuple[int, int]]:
    """The spans _HYPHEN_BREAK finds: a hyphen and a line break (or a soft hyphen) between letters."""
    spans: list[tuple[int, int]] = []
    for hyphen, pattern in _HYPHEN_BREAKS:
        if hyphen in lower:
            spans.extend(found.span() for found in pattern.finditer(lower)
                         if found.start() and _LETTER_BEFORE_BREAK.match(lower, found.start() - 1))
    spans.sort()
    return spans


def _rule_hits(rule: Rule, found: dict[int, list[_Hit]], lower: str) -> list[_Hit]:
    """The hits of the rule's lists that make it hold in the passage (none when it does not)."""
    if any(position not in found for position in range(len(rule.lists))):
        return []
    if rule.kind == "all":
        return [hit for position in range(len(rule.lists)) for hit in found[position]]
    return _near_hits(found[0], found[1], lower, within=rule.within)


def _near_hits(firsts: list[_Hit], seconds: list[_Hit], lower: str, *, within: int) -> list[_Hit]:
    """The hits of either list with a hit of the other list at most `within` words away (characters,
    when the end of either that faces the other is Chinese) that does not overlap it; each span once.

    The order is that of trying every pair, firsts outside: each near first, then its near seconds
    not listed yet. The pairs are not tried: a hit's partners lie in a window of the other list
    sorted by position, so the cost grows with the hits and their windows, not with their product.
    """
    if within < 0:
        return []
    reach = _Reach(lower, within, stop=max(hit.end for hits in (firsts, seconds) for hit in hits))
    first_near = _NearList(firsts, lower).first_near
    second_near = _NearList(seconds, lower).first_near
    listed = [((index, -1), hit) for index, hit in enumerate(firsts) if second_near(hit, reach) is not None]
    for index, hit in enumerate(seconds):
        partner = first_near(hit, reach)
        if partner is not None:
            listed.append(((partner, index), hit))
    listed.sort(key=itemgetter(0))
    near: dict[tuple[int, int], _Hit] = {}
    for _, hit in listed:
        near.setdefault((hit.start, hit.end), hit)
    return list(near.values())


# What the distance of a near rule counts: words and runs of CJK text (as _WORD and _CJK_RUN find
# them, in one pass), or non-space characters when the end of either hit that faces the other is Chinese.
_WORD_OR_CJK_RUN = LazyPattern(f"{_WORD.pattern}|{_CJK_RUN.pattern}")
_NON_SPACE = re.compile("\\S")


class _Reach:
    """How far from a hit the start of a near partner may lie: for a hit ending at `end`, the last
    position p at which lower[end:p] still holds at most `within` words and CJK runs (non-space
    characters when `chinese`). A gap's count only grows with its length, so this one position
    answers the question for every hit after it."""

    def __init__(self, lower: str, within: int, *, stop: int):
        self.lower = lower
        self.within = within
        self.stop = stop  # no hit starts at or after it
        self.known: dict[tuple[int, bool], int] = {}

    def __call__(self, end: int, chinese: bool) -> int:
        reach = self.known.get((end, chinese))
        if reach is None:
            counted = (_NON_SPACE if chinese else _WORD_OR_CJK_RUN).finditer(self.lower, end, self.stop)
            beyond = next(islice(counted, self.within, None), None)  # the first one too many
            reach = self.known[end, chinese] = self.stop if beyond is None else beyond.start()
        return reach


class _NearList:
    """The hits of one list of a near rule, grouped by the script of their ends (is the first character
    Chinese, is the last), each group sorted by start and by end: the hits near a given hit are two
    ranges of each group."""

    def __init__(self, hits: list[_Hit], lower: str):
        parts: dict[tuple[bool, bool], list[tuple[int, _Hit]]] = {}
        for index, hit in enumerate(hits):
            parts.setdefault(_chinese_ends(hit, lower), []).append((index, hit))
        self.parts = [_NearPart(chinese_ends, indexed) for chinese_ends, indexed in parts.items()]
        self.lower = lower

    def first_near(self, hit: _Hit, reach: _Reach) -> int | None:
        """The index of the first hit of this list near `hit` (another list's), None if none is."""
        chinese_start, chinese_end = _chinese_ends(hit, self.lower)
        found = [index for part in self.parts
                 if (index := part.first_near(hit, reach, chinese_start=chinese_start, chinese_end=chinese_end)) is not None]
        return min(found, default=None)


def _chinese_ends(hit: _Hit, lower: str) -> tuple[bool, bool]:
    """Are the first and the last character of `hit` Chinese? A gap is counted in characters when a
    Chinese end faces it: a mixed keyword's Latin end (党建 alliance) faces English words."""
    return is_cjk(lower[hit.start]), is_cjk(lower[hit.end - 1])


class _NearPart:
    """Part of a near rule's list: its hits' indexes in the list, ordered by start and by end."""

    def __init__(self, chinese_ends: tuple[bool, bool], indexed: list[tuple[int, _Hit]]):
        self.chinese_start, self.chinese_end = chinese_ends
        by_start = sorted(indexed, key=lambda item: item[1].start)
        self.starts = [hit.start for _, hit in by_start]
        self.start_order = [index for index, _ in by_start]
        by_end = sorted(indexed, key=lambda item: item[1].end)
        self.ends = [hit.end for _, hit in by_end]
        self.end_order = [index for index, _ in by_end]
        self.reaches: dict[bool, list[int]] = {}  # in end order, so also sorted

    def first_near(self, hit: _Hit, reach: _Reach, *, chinese_start: bool, chinese_end: bool) -> int | None:
        # After the hit: starting at its end at the earliest, at its reach at the latest.
        chinese = chinese_end or self.chinese_start
        low, high = bisect_left(self.starts, hit.end), bisect_right(self.starts, reach(hit.end, chinese))
        after = min(self.start_order[low:high], default=None)
        # Before it: ending at its start at the latest, and reaching it.
        chinese = self.chinese_end or chinese_start
        reaches = self.reaches.get(chinese)
        if reaches is None:
            reaches = self.reaches[chinese] = [reach(end, chinese) for end in self.ends]
        low, high = bisect_left(reaches, hit.start), bisect_right(self.ends, hit.start)
        before = min(self.end_order[low:high], default=None)
        return before if after is None else after if before is None else min(after, before)


class _Node:
    """A trie node over the words after a pattern's first word: forms, wildcard prefixes, ends."""

    __slots__ = ("ends", "forms", "prefixes")

    def __init__(self) -> None:
        self.ends: list[_Pattern] = []
        self.forms: dict[str, _Node] = {}
        self.prefixes: list[tuple[str, _Node]] = []

    def insert(self, pattern: _Pattern, position: int) -> None:
        if position == len(pattern.words):
            self.ends.append(pattern)
            return
        word = pattern.words[position]
        if isinstance(word, str):
            child = next((node for prefix, node in self.prefixes if prefix == word), None)
            if child is None:
                child = _Node()
                self.prefixes.append((word, child))
            child.insert(pattern, position + 1)
        else:
            for form in word:
                self.forms.setdefault(form, _Node()).insert(pattern, position + 1)

    def walk(self, lower: str, end: int) -> Iterator[tuple[_Pattern, int]]:
        """Every pattern of this trie that matches the words from `end` on, with its end offset."""
        stack = [(self, end, 0, ())]
        while stack:
            node, stop, depth, possessives = stack.pop()
            for pattern in node.ends:
                if all(pattern.after_possessive[i] or not flag for i, flag in enumerate(possessives)):
                    yield pattern, stop
            if not node.forms and not node.prefixes:
                continue
            found = _NEXT_WORD.match(lower, stop)
            if found is None:
                continue
            token, following = found.group(2), (*possessives, found.group(1) is not None)
            # A word with inner apostrophes or periods (O'Brien, U.S.) is tried whole and plain.
            tokens = {token: found.end(2)}
            if found.group(3) not in ("", "."):
                whole = token + found.group(3)
                tokens[whole] = found.end(3)
                if whole.endswith("."):
                    tokens[whole[:-1]] = found.end(3) - 1
            for word, word_end in tokens.items():
                child = node.forms.get(word)
                if child is not None:
                    stack.append((child, word_end, depth + 1, following))
            for prefix, child in node.prefixes:
                if token.startswith(prefix):
                    stack.append((child, _WORD_TAIL.match(lower, found.end(2)).end(), depth + 1, following))  # type: ignore[union-attr]


def _apply_exclusions(raw: list[_Hit]) -> list[_Hit]:
    """Drop the exclude-phrase hits and every hit of the same code that overlaps one of them."""
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for hit in raw:
        if hit.exclusion:
            spans[hit.code].append((hit.start, hit.end))
    excluded = {code: _Spans(found) for code, found in spans.items()}
    return [
        hit
        for hit in raw
        if not hit.exclusion
        and not (hit.code in excluded and excluded[hit.code].overlaps(hit.start, hit.end))
    ]


class _Spans:
    """Spans sorted by start, with the furthest end reached so far: does one overlap [start, end)?
    (A document unit may hold thousands of exclude-phrase hits and keyword hits of one code.)"""

    def __init__(self, spans: list[tuple[int, int]]):
        spans = sorted(spans)
        self.starts = [start for start, _ in spans]
        self.furthest = list(accumulate((end for _, end in spans), max))

    def overlaps(self, start: int, end: int) -> bool:
        before = bisect_left(self.starts, end)  # the spans that start before `end`
        return before > 0 and self.furthest[before - 1] > start


def _drop_overlaps(raw: list, *, code: int = 0, start: int = 1, end: int = 2) -> list:
    """Per code, keep the leftmost-longest of overlapping matches, so hits are not double-counted: of
    _Hits (code, start, end, ...), or of the (start, end, code, text, rule) tuples _finish() makes
    (`code`, `start`, `end`: the fields' places), where a regex that matches what a keyword of its
    code (or another of its regexes) matched is not a second hit there."""
    if len(raw) < 2:
        return raw
    raw = sorted(raw, key=lambda hit, start=start, end=end: (hit[start], -hit[end]))  # stable: the first found is kept
    kept = []
    ends: dict[str, int] = {}  # code -> end of its last kept hit
    for hit in raw:
        if hit[start] < ends.get(hit[code], -1):
            continue
        ends[hit[code]] = hit[end]
        kept.append(hit)
    return kept


def _terms_holding(words: tuple[str, ...], term: _CjkTerm, also: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The segmenter's `words` longer than `term` and holding it, or among `also` (other codes' terms
    holding another term of its code), which the segmenter that judges where `term` is a word leaves
    out, as a codebook without them would (跨界合作 for 合作). A wildcard keeps the words it begins, as
    the words it runs to (党建* matches 党建一体化 whole)."""
    return tuple(word for word in words if (word in also or term.term in word and word != term.term)
                 and not (term.wildcard and word.startswith(term.term)))


def _held_by_other_codes(words: tuple[str, ...], cjk: list[_CjkTerm]) -> dict[str, frozenset[str]]:
    """For each code: the segmenter's `words` that hold one of its CJK terms (`_terms_holding`) and are
    none of them, i.e. the other codes' longer terms. Its exclusion 协同治理 is judged without b's
    跨域协同 as its keyword 协同 is, so that it vetoes 协同 in 跨域协同治理 with b as without it."""
    own: dict[str, set[str]] = defaultdict(set)
    holding: dict[str, set[str]] = defaultdict(set)
    for term in cjk:
        own[term.code].add(term.term)
        holding[term.code].update(_terms_holding(words, term))
    return {code: frozenset(holding[code] - own[code]) for code in own}


def _crossed(words: dict[str, int], text: str, position: int, longest: int) -> bool:
    """Does a dictionary word of the segmenter span `position` (start before it, end after it)?"""
    for start in range(position - 1, max(-1, position - longest), -1):
        if text[start:position + 1] not in words:  # the dictionary holds every prefix of its words
            continue
        for end in range(position + 1, min(len(text), start + longest) + 1):
            word = text[start:end]
            if word not in words:
                break
            if words[word]:
                return True
    return False


def compile_codebook(codebook: Codebook, *, known_words: Iterable[str] = ()) -> CompiledCodebook:
    """Compile every keyword, exclusion and regex of `codebook` once, for fast repeated matching.
    `known_words`: more Chinese words for the segmenter (another codebook's `segmenter_words`).

    >>> matcher = compile_codebook(load_codebook("codebook.yaml"))  # doctest: +SKIP
    >>> "joint_meeting" in matcher  # doctest: +SKIP
    True
    """
    return CompiledCodebook(codebook, known_words=known_words)


def matched_words(matches: Iterable[Match]) -> tuple[str, ...]:
    """The distinct matched source words (`matched_text`), in order of first appearance."""
    return tuple(dict.fromkeys(matched_text(match.text) for match in matches))


def matches_by_code(matches: Iterable[Match]) -> dict[str, list[Match]]:
    """One passage's matches grouped by code, codes in order of their first match.

    Each group becomes one segment: `len(group)` hits, `matched_words(group)` matched words.
    """
    by_code: dict[str, list[Match]] = {}
    for match in matches:
        group = by_code.get(match.code)
        if group is None:
            by_code[match.code] = [match]
        else:
            group.append(match)
    return by_code


def segments_from_matches(passage: Passage, matches: Iterable[Match], codes: dict[str, Code]) -> list[Segment]:
    """Group one passage's matches by code into Segments (one per code that matched)."""
    segments = []
    for code_id, code_matches in matches_by_code(matches).items():
        code = codes[code_id]
        matched = matched_words(code_matches)
        segments.append(
            Segment(
                document=passage.document,
                passage=passage.index,
                start=passage.start,
                end=passage.end,
                code=code_id,
                code_path=code.code_path,
                label=code.label,
                hits=len(code_matches),
                matched=matched,
                text=passage.text,
                matches=tuple(code_matches),
                kind=passage.kind,
            )
        )
    order = {code_id: position for position, code_id in enumerate(codes)}
    segments.sort(key=lambda segment: order[segment.code])
    return segments


def code_passages(passages: Iterable[Passage], compiled: CompiledCodebook) -> Iterator[Segment]:
    """Code each passage: one Segment per (passage, code) with at least one surviving match.

    >>> segments = list(code_passages(passages, compile_codebook(codebook)))  # doctest: +SKIP
    """
    copies: dict[str, int] = {}  # passage_fingerprint() -> passages seen with it
    for passage in passages:
        fingerprint = passage_fingerprint(passage.document, passage.text)
        copy = copies.get(fingerprint, 0)
        copies[fingerprint] = copy + 1
        matches = compiled.find(passage)
        if matches:
            segments = segments_from_matches(passage, matches, compiled.codes)
            yield from (replace(segment, copy=copy) for segment in segments) if copy else segments
