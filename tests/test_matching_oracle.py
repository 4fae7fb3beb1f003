"""Matching's fast paths against the plain algorithms they replaced, kept here as an oracle.

`_Oracle` is a CompiledCodebook whose phrase matching (a Python loop over the automaton's matches
of the str text, a bisect per offset) and segment grouping (a pass over the _Hits sorted by start,
longest first, then code) are those of main before the numpy versions, and whose Chinese matching
scans every passage for CJK runs (not only those _cjk_spans() lets through). Every generated document must give the same hits, in the same
order, and the same segment dicts, key order included.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from itertools import accumulate

import ahocorasick_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coder import parse_codebook
from coder.matching import (
    _CJK_RUN,
    _GAP_SINGLES,
    _SEPARATOR,
    _SPACE,
    _SPACE_RUN,
    _WORD_CHARS,
    _WORD_TAIL,
    CompiledCodebook,
    _add_segment,
    _compile_keywords,
    _count,
    _crossed,
    _grouped,
    _Hit,
    _hyphen_breaks,
    _phrase_needles,
    _rejoins,
    _Segmentation,
    _Squeeze,
    matched_text,
)
from coder.models import Passage


class _Oracle(CompiledCodebook):
    """main's phrase matching, segment grouping (before numpy) and CJK runs (an automaton
    call per run), on the same compiled keywords."""

    def __init__(self, codebook):
        super().__init__(codebook)
        needle_owners = defaultdict(list)
        for pattern in _compile_keywords(codebook).latin:
            needles = _phrase_needles(pattern)
            if needles is not None:
                owner = (pattern.code, pattern.rule, pattern.exclusion, pattern.term, isinstance(pattern.words[-1], str))
                for needle, _ in needles:
                    needle_owners[needle].append(owner)
        self._needle_owners = [tuple(owners) for owners in needle_owners.values()]
        self._oracle_automaton = ahocorasick_rs.AhoCorasick(list(needle_owners)) if needle_owners else None

    def _find_phrases(self, lower, view):
        breaks = _hyphen_breaks(lower)
        compounds = self._compound_breaks(lower, view) if self._joins else []
        if self._phrase_gate is not None and not breaks and not compounds:
            present = {index for index, _, _ in self._phrase_gate.find_matches_as_indexes(lower, overlapping=True)}
            if not any(words <= present for words in self._gate_needles):
                return None, []
        found = self._phrase_hits(lower)
        breaks = [(start, end) for start, end in breaks if _rejoins(lower, view, start, end)]
        # No literal match ends where a rejoined word breaks, or starts after the break ("region-\nal").
        cut_starts, cut_ends = {start for start, _ in breaks}, {end for _, end in breaks}
        found = [hit for hit in found if hit.end not in cut_starts and hit.start not in cut_ends]
        # Each code reads the text rejoined at the line ends' breaks and at the compounds it joins itself.
        for code in self.codes:
            joined = sorted({*breaks, *((start, end) for start, end, codes in compounds if code in codes)})
            found.extend(hit for hit in self._rejoined_hits(lower, joined) if hit.code == code)
        return None, found

    def _rejoined_hits(self, lower, breaks):
        found = []
        while breaks:
            passage_start = lower.rfind(_SEPARATOR, 0, breaks[0][0]) + 1
            passage_end = lower.find(_SEPARATOR, breaks[0][1])
            if passage_end < 0:
                passage_end = len(lower)
            here = [(start - passage_start, end - passage_start) for start, end in breaks if end <= passage_end]
            breaks = breaks[len(here):]
            text = lower[passage_start:passage_end]
            pieces, position = [], 0
            for break_start, break_end in here:
                pieces.append(text[position:break_start])
                position = break_end
            squeeze = _Squeeze(here, kept=0)
            break_starts = [break_start for break_start, _ in here]
            for hit in self._phrase_hits("".join(pieces) + text[position:]):
                start, end = squeeze.unsqueeze(hit.start), squeeze.unsqueeze(hit.end - 1) + 1
                after = bisect_right(break_starts, start)
                if after < len(here) and here[after][1] < end:
                    found.append(hit._replace(start=passage_start + start, end=passage_start + end))
        return found

    def _phrase_hits(self, lower):
        text = lower
        for char in _GAP_SINGLES:
            if char in text:
                text = text.replace(char, " ")
        squeezed = None
        if "  " in text:
            pieces = _SPACE_RUN.split(text)
            between = pieces[0::2]
            text = " ".join(between)
            squeezed = list(accumulate(map((1).__add__, map(len, between)), initial=-1))
            del squeezed[0], squeezed[-1]
            removed = list(accumulate(map((-1).__add__, map(len, pieces[1::2])), initial=0))
        length = len(text)
        found = []
        for needle, start, end in self._oracle_automaton.find_matches_as_indexes(text, overlapping=True):
            if start and _WORD_CHARS[text[start - 1]]:
                continue
            for code, rule, exclusion, term, wildcard in self._needle_owners[needle]:
                stop = end
                if wildcard:
                    stop = _WORD_TAIL.match(text, end).end()
                elif end < length and _WORD_CHARS[text[end]]:
                    continue
                if squeezed is not None:
                    found.append(_Hit(code, start + removed[bisect_left(squeezed, start)],
                                      stop + removed[bisect_left(squeezed, stop - 1)], rule, exclusion, term))
                else:
                    found.append(_Hit(code, start, stop, rule, exclusion, term))
        return found

    def _find_cjk(self, lower, spans=None):
        # Every run of the text, whatever `spans` leave out: main scanned each passage beyond ASCII.
        for run in _CJK_RUN.finditer(lower):
            text = run.group()
            if len(text) < self._shortest:
                continue
            offset = run.start()
            if _SPACE.search(text) is None:
                compact, positions = text, None
            else:
                positions = [offset + index for index, char in enumerate(text) if not char.isspace()]
                compact = "".join(char for char in text if not char.isspace())
            hits = self._cjk_automaton.find_matches_as_indexes(compact, overlapping=True)
            for term_index, start, end in hits:
                term = self._cjk_terms[term_index]
                dictionary = self._chinese_dictionary(self._reading(term_index, compact))
                if not term.wildcard:
                    words = dictionary.frequencies(compact)
                    doubtful = (_crossed(words, compact, start, self._longest)
                                or _crossed(words, compact, end, self._longest))
                if term.wildcard or doubtful:
                    segmentation = _Segmentation(dictionary, compact, self._longest)
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

    def segment_hits_by_document(self, documents):
        passages = [passage for document in documents for passage in document]
        owner = [number for number, document in enumerate(documents) for _ in document]
        if self._regexes:
            return _grouped(passages, self.count_in_passages(passages), owner, len(documents))
        views, view_starts, joined, lower, positions, phrases, raw = self._raw_hits(passages)
        assert phrases is None
        if positions is not None or self._has_exclusions or self._rules:
            document = self._distributed(views, view_starts, joined, lower, positions, raw)
            if positions is not None:
                return _grouped(passages, [_count(found) for found in self._finish(passages, document)], owner,
                                len(documents))
            raw = [hit for hits in document.hits for hit in hits]
        # By start, longest first, then by code (as find() sorts matches), whichever pass found them.
        raw.sort(key=lambda hit: (hit.start, -hit.end, hit.code))
        grouped = [{} for _ in documents]
        current = {}
        ends = {}
        count = len(view_starts)
        position, next_start = 0, view_starts[1] if count > 1 else len(joined) + 1
        for code, start, end, _, _, _ in raw:
            if start < ends.get(code, -1):
                continue
            ends[code] = end
            if start >= next_start:
                position = bisect_right(view_starts, start) - 1
                next_start = view_starts[position + 1] if position + 1 < count else len(joined) + 1
            word = matched_text(joined[start:end])  # as the passage's text reads it (a change since, ported)
            state = current.get(code)
            if state is not None:
                if state[0] == position:
                    state[1].append(word)
                    continue
                at = state[0]
                _add_segment(grouped[owner[at]], code, passages[at].index, len(state[1]), dict.fromkeys(state[1]))
            current[code] = (position, [word])
        for code, (at, matched) in current.items():
            _add_segment(grouped[owner[at]], code, passages[at].index, len(matched), dict.fromkeys(matched))
        return grouped


_CODEBOOKS = {
    # Latin-1 keywords: the automaton reads the text one byte a character.
    "keywords": (
        "codes:\n  a: ['party building', 'party', 'governance', 'côte', 'meeting', 'joint', 'café society']\n"
        "  b: ['joint meeting', '联席会议', 'meeting*', 'naïve', 'u.s. policy']\n"
        "  c: ['build*', 'party', 'self-*', '会议', \"mayors' joint meeting\", 'part*']\n"
        "  d: ['joint meeting', 'meeting', 'party building']\n"
    ),
    "exclusions and rules": (
        "codes:\n  a: ['party building', 'governance', 'côte']\n  b: ['joint meeting', '联席会议', 'meeting*']\n"
        "  c:\n    keywords: ['meeting', 'party']\n    exclude: ['joint meeting', 'party building']\n"
        "  d:\n    rules:\n      - near: [[party, 联席], [meeting*, governance]]\n        within: 3\n"
        "      - all: [[building], [côte, 会议]]\n        not: [nance]\n"
    ),
    "chinese": (
        "codes:\n  a: [协同治理, 联盟, 印度, 联席会议]\n  b: [党建联盟, 印度尼西亚, '治理*', 会议]\n  c: [跨域协同治理, 'party']\n"
        "  d:\n    keywords: [联席, '会*']\n    exclude: [联席会议]\n"
    ),
    # Words hyphenated inside a line that some codes join ("co-operation"), each for its own terms only.
    "compounds": (
        "codes:\n  a: ['cooperat*', 'party']\n  b: ['co-operation', 'operation-minded']\n"
        "  c:\n    keywords: ['operation', 'minded']\n    exclude: ['coop*']\n"
        "  d:\n    keywords: ['cooperation policy', 'governance']\n"
        "    rules:\n      - near: [[cooperat*], [meeting*]]\n        within: 2\n"
    ),
    # A keyword beyond Latin-1: the automaton reads the str.
    "beyond Latin-1": (
        "codes:\n  a: ['party building', 'москва', 'ελλάδα meeting']\n  b: ['joint meeting', 'meeting*', '联席会议']\n"
        "  c: ['party*', 'côte', 'œuvre']\n"
    ),
}
_FRAGMENTS = [
    "party", "parties", "building", "buildings", "joint", "meeting", "meetings", "meet", "ings", "gover", "nance",
    "governance", "build", "self", "interest", "part", "Party", "MEETING", "Côte", "Co\u0302te", "café", "society",
    "naïve", "U.S.", "policy", "mayors'", "mayor's", "œuvre", "Москва", "москвы", "Ελλάδα", "ж", "é", "?", "??",
    "联席", "会议", "联席会议", "召开", "中国", "x", "3", "协同", "治理", "协同治理", "跨域", "党建", "联盟", "印度",
    "尼西亚", "印度尼西亚", "各地推进", "。", "，", "会", "参加区域", "co", "operation", "cooperation", "minded",
    "policy",
]
_GAPS = [" ", "  ", "   ", "\n", " \n ", "-", " - ", "-\n", "- ", "\u00ad", ", ", ". ", "\t", "\u2009", "\u00a0",
         " \u2014 ", "\u3000", "", "?", " ? "]
_TEXTS = st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.sampled_from(_GAPS)), max_size=12).map(
    lambda pieces: "".join(word + gap for word, gap in pieces))


def _documents(texts_by_document: list[list[str]]) -> list[list[Passage]]:
    documents = []
    for number, texts in enumerate(texts_by_document):
        passages, start = [], 0
        for index, text in enumerate(texts):
            passages.append(Passage(document=f"doc{number}.txt", index=2 * index + number % 2, start=start,
                                    end=start + len(text), view=text.replace("\n", " "), text=" ".join(text.split())))
            start += len(text) + 2
        documents.append(passages)
    return documents


@pytest.mark.parametrize("codebook", list(_CODEBOOKS))
@given(texts_by_document=st.lists(st.lists(_TEXTS, max_size=4), max_size=4))
@settings(max_examples=300, deadline=None)
def test_matching_oracle_segment_hits_by_document_are_mains(codebook, texts_by_document):
    parsed = parse_codebook(_CODEBOOKS[codebook])
    fast, oracle = CompiledCodebook(parsed), _Oracle(parsed)
    documents = _documents(texts_by_document)
    found, expected = fast.segment_hits_by_document(documents), oracle.segment_hits_by_document(documents)
    assert [list(hits.items()) for hits in found] == [list(hits.items()) for hits in expected]
    passages = [passage for document in documents for passage in document]
    assert fast.find_in_passages(passages) == oracle.find_in_passages(passages)


@pytest.mark.parametrize("codebook", list(_CODEBOOKS))
@given(texts=st.lists(_TEXTS, max_size=5))
@settings(max_examples=300, deadline=None)
def test_matching_oracle_phrase_hits_are_mains_in_the_same_order(codebook, texts):
    parsed = parse_codebook(_CODEBOOKS[codebook])
    fast, oracle = CompiledCodebook(parsed), _Oracle(parsed)
    assert fast._phrase_bytes == (codebook != "beyond Latin-1")
    lower = _SEPARATOR.join(texts).lower()
    assert fast._phrase_hits(lower) == oracle._phrase_hits(lower)


@pytest.mark.parametrize(("codebook", "text"), [
    ("keywords", ""),
    ("keywords", "party building"),  # one match, at both ends of the text
    ("keywords", "Party   building  and joint \n\n meeting; self-interest? building"),
    ("keywords", "жparty building, 中国party building, partyж, party中国, ?party?"),  # beyond Latin-1 at the edges
    ("beyond Latin-1", "Москва  и ελλάδα   meeting; Москвы partying"),
    ("exclusions and rules", "joint meeting, party building near 联席 governance"),
    ("chinese", "各地推进跨域协同治理与党建联盟建设，印度尼西亚和印度 代表\n参加区域协同 治理论坛联盟。联席会议 party 联 席会议"),
    ("chinese", "召开联席会议。联席"),
    # Codes matching one span (meeting*, meeting, meeting): ties by code, whichever pass found them.
    ("keywords", "meet-ings"),
    ("keywords", "meet-\nings and meetings"),
    ("keywords", "party"),
    ("chinese", "会议"),
])
def test_matching_oracle_agrees_on_edge_texts(codebook, text):
    parsed = parse_codebook(_CODEBOOKS[codebook])
    fast, oracle = CompiledCodebook(parsed), _Oracle(parsed)
    documents = _documents([[text, text.upper()], [], [text]])
    assert fast.segment_hits_by_document(documents) == oracle.segment_hits_by_document(documents)
    assert [list(hits.items()) for hits in fast.segment_hits_by_document(documents)] == \
        [list(hits.items()) for hits in oracle.segment_hits_by_document(documents)]
    assert fast._phrase_hits(text.lower()) == oracle._phrase_hits(text.lower())


@pytest.mark.parametrize("unit", ["paragraph", "document"])
def test_matching_oracle_agrees_on_the_seeds_and_the_devset(unit):
    from pathlib import Path

    from coder import load_codebook
    from coder.corpus import read_corpus
    from coder.passages import split_passages

    repo = Path(__file__).resolve().parents[1]
    codebook = load_codebook(repo / "codebook.yaml")
    without_regexes = parse_codebook("codes:\n" + "".join(
        f"  {code.id}: {list(code.keywords)!r}\n" for code in codebook if code.keywords))
    for parsed in (codebook, without_regexes):
        fast, oracle = CompiledCodebook(parsed), _Oracle(parsed)
        for corpus in ("seeds", "benchmarks/devset/texts"):
            documents = [split_passages(document, unit=unit) for document in read_corpus(repo / corpus).documents]
            for start in range(0, len(documents), 5):
                group = documents[start:start + 5]
                assert [list(hits.items()) for hits in fast.segment_hits_by_document(group)] == \
                    [list(hits.items()) for hits in oracle.segment_hits_by_document(group)]


@pytest.mark.parametrize("below", [0x2E80])
def test_matching_no_cjk_below_the_first_cjk_character_even_folded(below):
    # _cjk_spans() skips a passage without a character at or above CJK_CHARS[0]: right only while no
    # CJK character lies below it and nothing below it composes or folds into one.
    import unicodedata

    from coder.lexicon import CJK_CHARS, compose_text, contains_cjk, fold_text

    assert ord(CJK_CHARS[0]) == below
    text = "".join(chr(point) for point in range(below) if not 0xD800 <= point < 0xE000)
    assert not contains_cjk(text)
    assert not contains_cjk(fold_text(compose_text(text)[0]))
    assert not any(contains_cjk(fold_text(unicodedata.normalize("NFC", char))) for char in text)
    assert contains_cjk(chr(below))
