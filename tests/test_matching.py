"""The numbered matching rules of the README, one test (or parametrized family) each."""

from __future__ import annotations

import json
import random
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coder import parse_codebook
from coder.errors import CoderError
from coder.lexicon import is_cjk, lemmas, word_forms
from coder.matching import (
    _CJK_RUN,
    _GAP_SINGLES,
    _IN_WORD_HYPHENS,
    _WEB_ADDRESS,
    _WORD,
    GAP_RUN,
    _apply_exclusions,
    _dashes_as_commas,
    _Hit,
    _hyphens_in_words,
    _rule_hits,
    _segments_of_hits,
    _typed_dashes_as_commas,
    _web_addresses_blanked,
    code_passages,
    compile_codebook,
    segmenter_words_of,
)
from coder.models import Codebook, Document, Passage, Rule
from coder.passages import split_passages


def passage(text: str, *, start: int = 0) -> Passage:
    return Passage(document="doc.txt", index=0, start=start, end=start + len(text),
                   view=text.replace("\n", " "), text=" ".join(text.split()))


def matched(keywords: list[str], text: str, **extra: list[str]) -> list[str]:
    lines = ["codes:", "  c:", f"    keywords: {keywords!r}"]
    lines += [f"    {key}: {value!r}" for key, value in extra.items()]
    compiled = compile_codebook(parse_codebook("\n".join(lines)))
    return [match.text for match in compiled.find(passage(text))]


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("joint meeting", "JOINT MEETING and Joint Meeting", ["JOINT MEETING", "Joint Meeting"]),
    ("Party Building", "party building", ["party building"]),
])
def test_matching_rule1_case_insensitive(keyword, text, expected):
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("joint meeting", "two Joint Meetings were held", ["Joint Meetings"]),
    ("cooperate", "they cooperated and cooperates", ["cooperated", "cooperates"]),
    ("cooperate", "regional cooperation", []),
    ("barrier", "administrative barriers", ["barriers"]),
    ("city", "city clusters in many cities", ["city", "cities"]),
    ("mayors' joint meeting", "the mayor's Joint Meeting", ["mayor's Joint Meeting"]),
])
def test_matching_rule2_inflection_insensitive(keyword, text, expected):
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("region", "regional governance in the region", ["region"]),
    ("party", "partisan, party.", ["party"]),
    ("govern", "governance", []),
])
def test_matching_rule4_whole_words_only(keyword, text, expected):
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("govern*", "Governance, governments and governing; ungoverned", ["Governance", "governments", "governing"]),
    ("cross-region*", "cross-regional and cross regions", ["cross-regional", "cross regions"]),
])
def test_matching_rule5_trailing_star_is_prefix_wildcard(keyword, text, expected):
    assert matched([keyword], text) == expected


@pytest.mark.parametrize("text", [
    "Party-building", "party building", "party\nbuilding", "party   building", "party -\n building", "party\u2013building",
])
def test_matching_rule6_hyphens_line_breaks_and_spaces_are_equivalent(text):
    assert matched(["party building"], text) == [text.replace("\n", " ")]


@pytest.mark.parametrize("keyword", ["party-building", "party building", "party  building"])
def test_matching_rule6_keyword_spelling_does_not_matter(keyword):
    assert matched([keyword], "Party building, party-building") == ["Party building", "party-building"]


def test_matching_rule6_punctuation_between_words_breaks_a_phrase():
    assert matched(["party building"], "the party. Building on this") == []


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("党建联盟", "党建联盟中心", ["党建联盟"]),
    ("党建联盟", "党建\n联盟", ["党建 联盟"]),
    ("印度", "印度尼西亚", []),
    ("印度", "印度和印度尼西亚", ["印度"]),
    ("联席会议", "长三角城市经济协调会市长联席会议制度", ["联席会议"]),
])
def test_matching_rule7_chinese_whole_words(keyword, text, expected):
    assert matched([keyword], text) == expected


def test_matching_rule7_offsets_span_the_line_break():
    compiled = compile_codebook(parse_codebook("codes:\n  c: [党建联盟]"))
    found = compiled.find(passage("在党建\n联盟中", start=10))
    assert [(match.start, match.end) for match in found] == [(11, 16)]


def test_matching_rule8_exclude_vetoes_overlapping_keyword_matches():
    text = "the joint meeting room hosted a joint meeting"
    assert matched(["joint meeting"], text, exclude=["joint meeting room"]) == ["joint meeting"]


def test_matching_rule8_exclude_does_not_veto_regex_matches():
    codebook = parse_codebook("codes:\n  c:\n    regex: ['joint meeting']\n    exclude: [joint meeting room]")
    found = compile_codebook(codebook).find(passage("joint meeting room"))
    assert [match.text for match in found] == ["joint meeting"]


def test_matching_rule10_hits_count_surviving_matches_and_children_do_not_code_parents():
    codebook = parse_codebook(
        "codes:\n  parent:\n    keywords: [governance]\n    codes:\n      child: [barrier]\n  other: [absent]"
    )
    passages = [passage("barriers and barriers"), passage("governance of barriers")]
    passages[1] = Passage("doc.txt", 1, 30, 52, passages[1].view, passages[1].text)
    segments = list(code_passages(passages, compile_codebook(codebook)))
    assert [(s.passage, s.code, s.code_path, s.hits, s.matched) for s in segments] == [
        (0, "child", "parent/child", 2, ("barriers",)),
        (1, "parent", "parent", 1, ("governance",)),
        (1, "child", "parent/child", 1, ("barriers",)),
    ]


def test_matching_regex_is_case_insensitive_and_offsets_are_document_offsets():
    codebook = parse_codebook("codes:\n  c:\n    regex: ['joint[- ]conferences?']")
    found = compile_codebook(codebook).find(passage("A Joint-Conferences day", start=100))
    assert [(m.text, m.start, m.end) for m in found] == [("Joint-Conferences", 102, 119)]


def test_matching_overlapping_keywords_of_one_code_count_once():
    assert matched(["joint meeting", "mayors' joint meeting"], "the mayors' joint meeting") == ["mayors' joint meeting"]


@pytest.mark.parametrize(("word", "expected"), [("meetings", {"meeting"}), ("cooperated", {"cooperate"})])
def test_matching_lemmas(word, expected):
    assert expected <= lemmas(word)


def test_matching_word_forms_are_closed_under_shared_lemma():
    assert {"cooperate", "cooperated", "cooperates", "cooperating"} <= word_forms("cooperate")
    assert "cooperation" not in word_forms("cooperate")


def test_matching_compiled_codebook_supports_len_and_in():
    compiled = compile_codebook(parse_codebook("codes:\n  a: [x]\n  b:\n    codes:\n      c: [y]"))
    assert (len(compiled), "c" in compiled, "z" in compiled) == (3, True, False)



@pytest.mark.parametrize("highest", [0x10FFFF])
def test_matching_gap_singles_are_every_gap_character_but_the_space_in_order(highest):
    every = tuple(char for char in map(chr, range(highest + 1)) if char != " " and GAP_RUN.fullmatch(char))
    assert _GAP_SINGLES == every and "\t" in every and "\u2014" in every

@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("governance", "regional gover-\nnance works", ["gover- nance"]),
    ("collaborative governance", "collaborative gov-\nernance", ["collaborative gov- ernance"]),  # "gov" a word
    ("collaborative governance", "collabo-\nrative gover-\nnance", ["collabo- rative gover- nance"]),
    ("cross-regional", "cross-\nregional", ["cross- regional"]),
    ("governance", "gover\u00adnance", ["gover\u00adnance"]),
    # a word pasted from a web page with a soft hyphen at every syllable is one word
    ("cooperation", "co\u00adop\u00ader\u00ada\u00adtion", ["co\u00adop\u00ader\u00ada\u00adtion"]),
    ("intergovernmental cooperation", "In\u00adter\u00adgov\u00adern\u00admen\u00adtal co\u00adop\u00ader\u00ada\u00adtion",
     ["In\u00adter\u00adgov\u00adern\u00admen\u00adtal co\u00adop\u00ader\u00ada\u00adtion"]),
    ("joint meeting", "joint\u00admeeting\u00adroom", ["joint\u00admeeting"]),  # three words, not one
    # two soft hyphens, one of them a zero-width character read as one (probe AW1)
    ("is needed", "is n\u00ade\u00ade\u00add\u00ade\u00ad\u00add", ["is n\u00ade\u00ade\u00add\u00ade\u00ad\u00add"]),
    # a soft hyphen with a line break after it is one of the word's (probe AV4)
    ("joint meeting", "joint me\u00ade\u00ad\nting", ["joint me\u00ade\u00ad ting"]),
    ("cooperation", "co\u00adop\u00ad\ner\u00ada\u00adtion", ["co\u00adop\u00ad er\u00ada\u00adtion"]),
    ("cooperation", "Co\u00adOp\u00ader\u00ada\u00adtion", []),
    ("governance", "Gover- Nance", []),
    ("governance", "gover-\n\u00f7nance governance", ["governance"]),  # ÷ is no letter
    # a word the text hyphenates and the keyword spells as one: at a line end (where the rule keeps
    # the hyphen of "inter-") or inside a line, not before a capital
    ("intergovernmental cooperation", "inter-\ngovernmental cooperation", ["inter- governmental cooperation"]),
    ("intergovernmental", "Inter-governmental and inter\u2010governmental", ["Inter-governmental", "inter\u2010governmental"]),
    ("cooperation", "co-operation, co-\noperation, cooperation", ["co-operation", "co- operation", "cooperation"]),
    ("cooperation", "Co-Operation, xco-operation, 3co-operation", []),
    # a dash between spaces is punctuation, not a hyphen, and so is an em dash (a parenthetical dash, spaced
    # or not, probe M6); an en dash between letters is a hyphen
    ("party building", "the party \u2014 building trust; party \u2013 building; party -- building", []),
    ("party building", "party\u2013building, the ruling party\u2014building on reform\u2014, party\u2015building",
     ["party\u2013building"]),
])
def test_matching_words_hyphenated_at_a_line_end_are_rejoined(keyword, text, expected):
    assert matched([keyword], text) == expected


def _matched_by(codes: str, text: str, code: str) -> list[str]:
    compiled = compile_codebook(parse_codebook("codes:\n  " + codes))
    return [match.text for match in compiled.find(passage(text)) if match.code == code]


@pytest.mark.parametrize(("code", "other", "text", "expected"), [
    # probe S F14: a wildcard reads the hyphenated word its prefix runs into, whoever spells it as one
    ("a: {keywords: [barrier*, cooperat*]}", "b: {keywords: [co-operation]}",
     "Regional co-operation and local protection remain barriers.", ["co-operation", "barriers"]),
    ("a: {keywords: [cooperat*]}", "b: {keywords: [cooperative]}", "co-operative, co-\noperating, co-op",
     ["co-operative", "co- operating"]),
    # a prefix under five letters joins nothing, as a word under five letters does
    ("a: {keywords: [coop*]}", "b: {keywords: [cooperation]}", "co-operation", []),
    ("a: {keywords: [operation], exclude: [coop*]}", "b: {keywords: [cooperation]}", "co-operation", ["operation"]),
    ("a: {rules: [{near: [[coop*], [barrier*]], within: 3}]}", "b: {keywords: [cooperation]}",
     "co-operation barriers", []),
    # another code's join next to the code's own does not take the code's word boundary away
    ("a: {keywords: [cooperation]}", "b: {keywords: [operation-minded]}", "co-operation-minded", ["co-operation"]),
    ("a: {keywords: [operation-minded]}", "b: {keywords: [cooperation]}", "co-operation-minded", ["operation-minded"]),
    # an exclusion joins for its own code only
    ("a: {keywords: [operation]}", "b: {keywords: [operation], exclude: [cooperation]}", "co-operation",
     ["operation"]),
])
def test_matching_hyphenated_words_join_by_the_codes_own_terms(code, other, text, expected):
    """A code's matches across a hyphen inside a word are those it has alone: another code spelling the
    joined word neither adds nor takes away any (probe S F14: a recode kept the untouched code's rows)."""
    assert _matched_by(code, text, "a") == expected
    assert _matched_by(f"{code}\n  {other}", text, "a") == expected
    assert _matched_by(f"{other}\n  {code}", text, "a") == expected


@pytest.mark.parametrize(("code", "other", "text", "expected"), [
    ("a: ['self-*']", "b: ['self help-*']", "Self-help-groups and self-help.", ["Self-help", "self-help"]),
    ("a: ['help-*']", "b: ['self help-*']", "Self-help-groups and self-help.", ["help-groups"]),
    ("a: ['self-*']", "b: ['self-*']", "self-self-help, self-\ngovernance", ["self-self", "self- governance"]),
])
def test_matching_hyphen_wildcards_match_whatever_another_codes_match(code, other, text, expected):
    """A `word-*` keyword matches what it matches alone: another code's longer prefix matching at the same
    place, or from inside the match, took its matches away (one regex over all of them)."""
    assert _matched_by(code, text, "a") == expected
    assert _matched_by(f"{code}\n  {other}", text, "a") == expected
    assert _matched_by(f"{other}\n  {code}", text, "a") == expected


def test_matching_offsets_survive_squeezed_gaps_and_hyphen_breaks():
    compiled = compile_codebook(parse_codebook("codes:\n  c: [joint meeting, governance]"))
    text = "a  joint \n\n  meeting  and gover-\n  nance"
    found = compiled.find(passage(text, start=7))
    assert [(m.text, m.start - 7, m.end - 7) for m in found] == [
        ("joint     meeting", 3, 20), ("gover-   nance", 26, 40),
    ]


_VOCABULARY = ["party", "parties", "building", "buildings", "joint", "meeting", "meetings", "region", "regional", "of"]
_GAPS = [" ", "  ", "\n", " \n ", "-", " - ", ", ", ". ", "\t"]
_KEYWORDS = {"a": ["party building"], "b": ["joint meeting", "region"], "c": ["meeting"]}


def _reference_matches(text: str) -> set[tuple[str, int, int]]:
    """Brute force: whole-word tokens in sequence, only spaces, line breaks and hyphens between them
    (a tab ends a table's cell)."""
    import re

    tokens = [(m.group().lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", text)]
    found = set()
    for code, keywords in _KEYWORDS.items():
        spans = []
        for keyword in keywords:
            words = keyword.split()
            for i in range(len(tokens) - len(words) + 1):
                window = tokens[i:i + len(words)]
                if not all(token in word_forms(word) for (token, _, _), word in zip(window, words)):
                    continue
                gaps = [text[window[j][2]:window[j + 1][1]] for j in range(len(window) - 1)]
                if all(re.fullmatch(r"[\s\-]+", gap) and "\t" not in gap for gap in gaps):
                    spans.append((window[0][1], window[-1][2]))
        kept_end = -1
        for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
            if start >= kept_end:
                found.add((code, start, end))
                kept_end = end
    return found


@given(st.lists(st.tuples(st.sampled_from(_VOCABULARY), st.sampled_from(_GAPS)), max_size=25),
       st.booleans(), st.integers(min_value=0, max_value=500))
@settings(max_examples=300, deadline=None)
def test_matching_agrees_with_a_brute_force_reference(pieces, capitalise, offset):
    text = "".join((word.capitalize() if capitalise and index % 3 == 0 else word) + gap
                   for index, (word, gap) in enumerate(pieces))
    lines = ["codes:"] + [f"  {code}: {keywords!r}" for code, keywords in _KEYWORDS.items()]
    compiled = compile_codebook(parse_codebook("\n".join(lines)))
    found = compiled.find(passage(text, start=offset))
    assert {(m.code, m.start - offset, m.end - offset) for m in found} == _reference_matches(text)
    assert all(m.text == text.replace("\n", " ")[m.start - offset:m.end - offset] for m in found)


@given(st.lists(st.lists(st.tuples(st.sampled_from(_VOCABULARY), st.sampled_from(_GAPS)), max_size=8),
                min_size=1, max_size=6),
       st.integers(min_value=0, max_value=500))
@settings(max_examples=200, deadline=None)
def test_matching_passages_of_one_document_match_each_on_its_own(texts, offset):
    # The passages lie end to end ("joint" ending one, "meeting" starting the next): matched in one
    # call, no match spans two and each passage's matches are the brute-force reference's.
    lines = ["codes:"] + [f"  {code}: {keywords!r}" for code, keywords in _KEYWORDS.items()]
    compiled = compile_codebook(parse_codebook("\n".join(lines)))
    passages, start = [], offset
    for index, pieces in enumerate(texts):
        text = "".join(word + gap for word, gap in pieces)
        passages.append(Passage(document="doc.txt", index=index, start=start, end=start + len(text),
                                view=text.replace("\n", " "), text=" ".join(text.split())))
        start += len(text)
    found = compiled.find_in_passages(passages)
    assert len(found) == len(passages)
    for item, matches in zip(passages, found):
        reference = _reference_matches(item.view)
        assert {(m.code, m.start - item.start, m.end - item.start) for m in matches} == reference


_FRAGMENTS = [*_VOCABULARY, "gover", "nance", "governance", "meet", "ings", "build", "联席", "会议", "联席会议", "Côte", "Co\u0302te"]


@given(st.lists(st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.sampled_from([*_GAPS, "-\n", "- ", "\u00ad", ""])),
                         max_size=8), min_size=1, max_size=5))
@settings(max_examples=200, deadline=None)
def test_matching_one_call_per_document_finds_what_one_call_per_passage_finds(texts):
    # Words hyphenated at a line end, Chinese, and text NFC changes, in passages laid end to end.
    codebook = parse_codebook(
        "codes:\n  a: ['party building', 'governance', 'côte']\n  b: ['joint meeting', '联席会议', 'meeting*']\n"
        "  c:\n    keywords: ['meeting']\n    exclude: ['joint meeting']\n"
    )
    compiled = compile_codebook(codebook)
    passages, start = [], 0
    for index, pieces in enumerate(texts):
        text = "".join(word + gap for word, gap in pieces)
        passages.append(Passage(document="doc.txt", index=index, start=start, end=start + len(text),
                                view=text.replace("\n", " "), text=" ".join(text.split())))
        start += len(text)
    assert compiled.find_in_passages(passages) == [compiled.find(item) for item in passages]


@pytest.mark.parametrize("corpus", ["seeds", "benchmarks/devset/texts"])
def test_matching_find_in_passages_and_count_in_passages_agree_with_find(corpus):
    from pathlib import Path

    from coder import load_codebook
    from coder.corpus import read_corpus
    from coder.matching import matched_words, matches_by_code
    from coder.passages import split_passages

    repo = Path(__file__).resolve().parents[1]
    codebook = load_codebook(repo / "codebook.yaml")
    compiled = compile_codebook(codebook)
    for document in read_corpus(repo / corpus).documents:
        passages = split_passages(document, unit=codebook.unit)
        alone = [compiled.find(item) for item in passages]
        assert compiled.find_in_passages(passages) == alone
        counted = [{code: (count.hits, count.matched) for code, count in found.items()}
                   for found in compiled.count_in_passages(passages)]
        assert counted == [{code: (len(group), matched_words(group)) for code, group in matches_by_code(matches).items()}
                           for matches in alone]


def _segment_hits_by_counting(compiled, passages):
    """segment_hits() by its definition: count_in_passages() grouped by code, cells joined."""
    from coder.models import join_matched

    grouped = {}
    for item, found in zip(passages, compiled.count_in_passages(passages)):
        for code, count in found.items():
            grouped.setdefault(code, []).append((item.index, count.hits, join_matched(count.matched)))
    return grouped


_SEGMENT_CODEBOOKS = {
    "keywords": "codes:\n  a: ['party building', 'party', 'governance', 'côte', 'meeting', 'joint']\n  b: ['joint meeting', '联席会议', 'meeting*']\n"
                "  c: ['build*', 'party', 'self-*', '会议']\n",
    "exclusions and rules": (
        "codes:\n  a: ['party building', 'governance', 'côte']\n  b: ['joint meeting', '联席会议', 'meeting*']\n"
        "  c:\n    keywords: ['meeting']\n    exclude: ['joint meeting']\n"
        "  d:\n    rules:\n      - near: [[party, 联席], [meeting*, governance]]\n        within: 3\n"
        "      - all: [[building], [côte, 会议]]\n        not: [nance]\n"
    ),
    "regex": "codes:\n  a: ['party building']\n  r:\n    regex: ['meet\\w*']\n",
}


@pytest.mark.parametrize("codebook", list(_SEGMENT_CODEBOOKS))
@given(texts=st.lists(st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.sampled_from([*_GAPS, "-\n", "- ", "\u00ad", "", ". "])),
                               max_size=8), min_size=0, max_size=5),
       first=st.integers(min_value=0, max_value=3))
@settings(max_examples=150, deadline=None)
def test_matching_segment_hits_are_the_counted_matches_grouped_by_code(codebook, texts, first):
    # One pass over a document's hits (sorted once, overlaps dropped across passages) gives what
    # counting each passage's matches gives, in NFC-changed text, Chinese, hyphenated line ends.
    compiled = compile_codebook(parse_codebook(_SEGMENT_CODEBOOKS[codebook]))
    passages, start = [], 0
    for index, pieces in enumerate(texts):
        text = "".join(word + gap for word, gap in pieces)
        passages.append(Passage(document="doc.txt", index=first + 2 * index, start=start, end=start + len(text),
                                view=text.replace("\n", " "), text=" ".join(text.split())))
        start += len(text)
    assert compiled.segment_hits(passages) == _segment_hits_by_counting(compiled, passages)


@pytest.mark.parametrize("codebook", list(_SEGMENT_CODEBOOKS))
@given(documents=st.lists(st.lists(st.lists(st.tuples(st.sampled_from(_FRAGMENTS), st.sampled_from([*_GAPS, "-\n", "- ", ""])),
                                            max_size=6), max_size=3), max_size=4))
@settings(max_examples=100, deadline=None)
def test_matching_segment_hits_of_several_documents_in_one_call_are_each_one_s(codebook, documents):
    # The pipeline matches a few documents in one call: each gets what a call of its own gives,
    # with its own passage indexes (which repeat from one document to the next).
    compiled = compile_codebook(parse_codebook(_SEGMENT_CODEBOOKS[codebook]))
    split = []
    for number, texts in enumerate(documents):
        passages, start = [], 0
        for index, pieces in enumerate(texts):
            text = "".join(word + gap for word, gap in pieces)
            passages.append(Passage(document=f"doc{number}.txt", index=index, start=start, end=start + len(text),
                                    view=text.replace("\n", " "), text=" ".join(text.split())))
            start += len(text) + 2
        split.append(passages)
    assert compiled.segment_hits_by_document(split) == [compiled.segment_hits(passages) for passages in split]


@pytest.mark.parametrize(("codebook", "text", "codes"), [
    # meeting* (b), meeting (a, d) match "meetings" at one span: found by the automaton as written, by
    # the rejoining pass hyphenated (in a line or at a line end); the codes come in one order.
    ("codes:\n  b: ['meeting*']\n  a: [meeting]\n  d: [meeting]\n", "meetings", ["a", "b", "d"]),
    ("codes:\n  b: ['meeting*']\n  a: [meeting]\n  d: [meeting]\n", "meet-ings", ["a", "b", "d"]),
    ("codes:\n  b: ['meeting*']\n  a: [meeting]\n  d: [meeting]\n", "meet-\nings", ["a", "b", "d"]),
    ("codes:\n  c: ['part*']\n  a: [party]\n", "party", ["a", "c"]),
    ("codes:\n  d: ['会*']\n  b: [会议]\n", "会议", ["b", "d"]),
    # A longer match at the same start comes first, whatever its code.
    ("codes:\n  a: [party]\n  b: [party building]\n", "party building", ["b", "a"]),
])
def test_matching_segment_hits_codes_tied_at_one_span_in_code_order(codebook, text, codes):
    # Hits of several codes at one span are ordered by code, as find() sorts matches (start, end, code):
    # not by which pass or automaton needle found them first.
    compiled = compile_codebook(parse_codebook(codebook))
    passage = Passage(document="doc.txt", index=0, start=0, end=len(text), view=text.replace("\n", " "),
                      text=" ".join(text.split()))
    assert list(compiled.segment_hits([passage])) == codes


@given(hits=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(1, 4)), max_size=30))
@settings(max_examples=100, deadline=None)
def test_matching_segments_of_hits_sort_alike_where_the_one_key_would_overflow(hits):
    # Offsets too large for one int64 key (start, longest first, code) are sorted with np.lexsort.
    import numpy as np

    codes = np.array([code for code, _, _ in hits], dtype=np.int64)
    starts = np.array([start for _, start, _ in hits], dtype=np.int64)
    ends = starts + np.array([length for _, _, length in hits], dtype=np.int64)
    passage = Passage(document="doc.txt", index=0, start=0, end=0, view="", text="")
    found = [_segments_of_hits(codes, starts + shift, ends + shift, codes_by_number=["a", "b", "c", "d"],
                               passages=[passage], owner=[0], documents=1, joined="", view_starts=[0])
             for shift in (0, 2**61)]
    assert [list(grouped[0].items()) for grouped in found[1:]] == [list(found[0][0].items())]


@pytest.mark.parametrize("corpus", ["seeds", "benchmarks/devset/texts"])
@pytest.mark.parametrize("unit", ["paragraph", "document"])
def test_matching_segment_hits_agree_with_counting_on_real_text(corpus, unit):
    from pathlib import Path

    from coder import load_codebook
    from coder.corpus import read_corpus

    repo = Path(__file__).resolve().parents[1]
    codebook = load_codebook(repo / "codebook.yaml")
    without_regexes = parse_codebook("codes:\n" + "".join(
        f"  {code.id}: {list(code.keywords)!r}\n" for code in codebook if code.keywords))
    for compiled in (compile_codebook(codebook), compile_codebook(without_regexes)):
        for document in read_corpus(repo / corpus).documents:
            passages = split_passages(document, unit=unit)
            assert compiled.segment_hits(passages) == _segment_hits_by_counting(compiled, passages)


def test_matching_quick_gate_never_changes_results_on_the_seeds():
    from pathlib import Path

    from coder import load_codebook
    from coder.corpus import read_corpus
    from coder.passages import split_passages

    repo = Path(__file__).resolve().parents[1]
    codebook = load_codebook(repo / "codebook.yaml")
    passages = [p for d in read_corpus(repo / "seeds").documents for p in split_passages(d)]
    for code in codebook:
        gated = compile_codebook(parse_codebook(f"codes:\n  {code.id}: {list(code.keywords)!r}"))
        ungated = compile_codebook(parse_codebook(f"codes:\n  {code.id}: {list(code.keywords)!r}"))
        ungated._phrase_gate = None
        assert gated._phrase_gate is not None or not code.keywords
        assert [gated.find(p) for p in passages] == [ungated.find(p) for p in passages]


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("联席*", "召开联席会议。", ["联席会议"]),
    ("联席*", "联席", ["联席"]),
    ("印*", "印度尼西亚", ["印度尼西亚"]),
    ("尼西*", "印度尼西亚", []),
])
def test_matching_chinese_wildcard_matches_the_whole_word_it_begins(keyword, text, expected):
    assert matched([keyword], text) == expected


@pytest.mark.parametrize("piece", [40, 97])
def test_matching_chinese_long_clause_in_pieces_matches_the_whole_clause(monkeypatch, piece):
    """An unpunctuated clause is segmented in pieces cut where no word spans: same hits as whole."""
    import coder.matching

    codebook = parse_codebook("codes:\n  a: [协同治理, 联盟, 印度]\n  b: [党建联盟, 印度尼西亚, 治理*]\n  c: [跨域协同治理]\n")
    text = "各地推进跨域协同治理与党建联盟建设印度尼西亚和印度代表参加区域协同治理论坛联盟成员共同治理" * 12
    passage = Passage(document="d", index=0, start=0, end=len(text), view=text, text=text)
    whole = compile_codebook(codebook).find(passage)
    monkeypatch.setattr(coder.matching, "_PIECE", piece)
    assert compile_codebook(codebook).find(passage) == whole
    assert {match.rule for match in whole} == {"跨域协同治理", "党建联盟", "印度尼西亚", "印度", "协同治理", "联盟", "治理*"}


def test_matching_chinese_long_clause_reads_the_dictionary_for_its_text_once(monkeypatch):
    """Cutting a long unpunctuated clause into pieces asks the dictionary's word table for the text's
    characters once, not once per cut (that made coding quadratic in the clause's length)."""
    import coder.matching
    from coder.lexicon import ChineseDictionary

    read: list[int] = []
    original = ChineseDictionary.frequencies

    def counted(self, text):
        read.append(len(text))
        return original(self, text)

    monkeypatch.setattr(ChineseDictionary, "frequencies", counted)
    monkeypatch.setattr(coder.matching, "_PIECE", 40)
    codebook = parse_codebook("codes:\n  a: [协同治理, 联盟]\n  b: [治理*]\n")
    text = "各地推进跨域协同治理与党建联盟建设印度尼西亚和印度代表参加区域协同治理论坛联盟成员共同治理" * 40
    passage = Passage(document="d", index=0, start=0, end=len(text), view=text, text=text)
    assert compile_codebook(codebook).find(passage)
    # The text is read whole a fixed number of times (the segmentation's table, the hits' check), never
    # per cut: with 40-character pieces that would be ~45 times. 治理* is judged without 协同治理 (a longer
    # term holding it), by a second reading of the dictionary that asks for the table once more.
    assert len([length for length in read if length >= len(text)]) <= 3


# --- issue 11, section 2: matching gaps, each through `coder run` and `coder kwic` ---------------


def _code_through_cli(folder, codebook: str, text: str) -> tuple[list[tuple[int, int, int, str]], list[str]]:
    """`coder run` and `coder kwic c` on one document: the segments (start, end, hits, matched)
    and the kwic matches, each checked to be the document's own text at its offsets."""
    import pandas as pd
    from conftest import invoke, make_run_folder

    make_run_folder(folder, {"doc.txt": text}, codebook)
    frame = pd.read_csv(folder / "outputs" / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    segments = []
    for row in frame.itertuples():
        assert text[row.start:row.end].split() == row.text.split()
        segments.append((row.start, row.end, row.hits, row.matched))
    result = invoke("kwic", "c", "--corpus", "corpus", "--codebook", "codebook.yaml", "--csv", "kwic.csv")
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(folder / "kwic.csv", encoding="utf-8-sig", keep_default_na=False)
    matches = []
    for line in lines.itertuples():
        assert text[line.start:line.end] == line.match
        matches.append(line.match)
    return segments, matches


def _keywords_codebook(keywords: list[str], **settings: str) -> str:
    import json

    extra = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    return f"codes:\n  c:\n    keywords: {json.dumps(keywords, ensure_ascii=False)}\n{extra}"


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    (["don't", "can't", "I'm"], "I don't know. I can’t say. I’m sure. We do not, don t.",
     ["don't", "can’t", "I’m"]),
    (["O'Brien", "Côte d'Ivoire"], "O‘Brien went to Côte d’Ivoire; O'Brien's team. Brien.", ["O‘Brien", "Côte d’Ivoire", "O'Brien"]),
    (["U.S.", "Ph.D."], "The U.S. and a Ph.D. student, not U S or the U.S.A. or PhD.", ["U.S.", "Ph.D."]),
])
def test_matching_apostrophes_and_periods_inside_a_word_match_their_spelling(tmp_path, monkeypatch, keywords, text,
                                                                            expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords), text)
    assert matches == expected
    assert segments == [(0, len(text), len(expected), "; ".join(dict.fromkeys(expected)))]


# Probe AB1: `C++` was the keyword `c` (it coded "Take vitamin C daily." and the C of "C#"), `50%` matched
# "50", `$100` "100", `.NET` "NET"; `AT&T` and `R&D` never matched their own spelling.
SYMBOL_TEXT = ("Take vitamin C daily.\n\nThe C# team.\n\nWe write C++ and c++ code, not C++11.\n\n"
               "Growth was 50 and 150% or 50 %.\n\nGrowth was 50%.\n\nIt cost 100, $1000, US$100 or $100.50.\n\n"
               "It cost $100.\n\nThe NET result; ASP.NET.\n\nBuilt on .NET today.\n\nAT and T; R and D; R D.\n\n"
               "AT&T funds R&D.\n\nR & D.\n")


@pytest.mark.parametrize(("keyword", "expected"), [
    ("C++", ["We write C++ and c++ code, not C++11."]),
    ("C#", ["The C# team."]),
    ("50%", ["Growth was 50%."]),
    ("$100", ["It cost $100."]),
    (".NET", ["Built on .NET today."]),
    ("AT&T", ["AT&T funds R&D."]),
    ("R&D", ["AT&T funds R&D."]),
    ("R & D", ["R & D."]),
    ("vitamin C", ["Take vitamin C daily."]),  # a keyword of words is as before
])
def test_matching_keywords_with_symbols_match_as_written(tmp_path, monkeypatch, keyword, expected):
    """A keyword holding a symbol codes the passages that spell it, whole, in any case; not the bare word."""
    import pandas as pd
    from conftest import make_run_folder

    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"doc.txt": SYMBOL_TEXT}, _keywords_codebook([keyword]))
    frame = pd.read_csv(tmp_path / "outputs" / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    assert frame["text"].tolist() == expected


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    # words beside the symbol part keep rules 2 and 6: inflected, any gap between them
    (["C++ programmer"], "Two C++ programmers; a C++-programmer; C programmers; C++ programming.",
     ["C++ programmers", "C++-programmer"]),
    (["R&D*"], "R&Ds and R&D-heavy firms; R and D.", ["R&Ds", "R&D"]),  # a trailing * runs to the word's end
    (["C++-*"], "C++ and C++-based code", ["C++-based"]),
    (["~C++ cooperate"], "C++ cooperation", ["C++ cooperation"]),
    (["AT&T"], "ＡＴ&Ｔ and at&t", ["ＡＴ&Ｔ", "at&t"]),  # folded as any keyword
    # a possessive after it, or a possessive word in it, as any keyword (probe AD1)
    (["AT&T", "R&D"], "AT&T's profits, AT&T’s shares and R&D's share; AT&Tx.", ["AT&T", "AT&T", "R&D"]),
    (["mayors' C++"], "a mayor's C++ code and the mayors' C++ code", ["mayor's C++", "mayors' C++"]),
    (["C++ programmer"], "a C++ programmer's job", ["C++ programmer"]),
    # a word hyphenated in the keyword matches the text's one-word spelling too (probe AD2)
    (["co-operation $100"], "cooperation $100 only; co-operation $100 too", ["cooperation $100", "co-operation $100"]),
    # its needle everywhere, matches tried where it is: as many as a search through the text finds (probe AD4)
    (["50%"], "50%50% 50% x50% 50%.50% (50%) " * 3, ["50%"] * 12),
])
def test_matching_keywords_with_symbols_keep_the_other_rules(tmp_path, monkeypatch, keywords, text, expected):
    monkeypatch.chdir(tmp_path)
    _, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords), text)
    assert matches == expected


def test_matching_keywords_with_symbols_in_exclusions_and_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    codebook = ('codes:\n  c:\n    keywords: [C++, C#]\n    exclude: ["C# minor"]\n'
                '    rules:\n      - near: [["$100"], [budget]]\n        within: 2\n')
    text = "C# minor and C++; a $100 budget, not 100 budget; C#."
    _, matches = _code_through_cli(tmp_path, codebook, text)
    assert matches == ["C++", "$100", "budget", "C#"]


def test_matching_keywords_with_symbols_recode_as_a_fresh_run(tmp_path):
    """Keywords with a symbol added to a code: the recode matches them where a fresh run does (it looks
    for them only in the passages that hold their symbol part)."""
    from conftest import output_files, run_ok

    corpus, codebook, fast, full = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "fast", tmp_path / "full"
    corpus.mkdir()
    (corpus / "a.txt").write_text(SYMBOL_TEXT, encoding="utf-8")
    codebook.write_text("codes:\n  a: {keywords: [vitamin]}\n  b: {keywords: [growth]}\n", encoding="utf-8")
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    codebook.write_text('codes:\n  a: {keywords: [vitamin, "C++", "$100", ".NET"]}\n  b: {keywords: [growth]}\n',
                        encoding="utf-8")
    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")
    assert "edited code(s) again in the" in output
    assert output_files(fast) == output_files(full)
    assert "We write C++ and c++ code, not C++11." in (fast / "segments.csv").read_text(encoding="utf-8-sig")


class _Tried:
    """A compiled pattern that records the places of `text` it is tried at (where a match may start)."""

    def __init__(self, regex: re.Pattern, text: str, starts: set[int]):
        self.regex, self.text, self.starts = regex, text, starts

    def _record(self, string: str, places: range) -> None:
        if string is self.text:
            self.starts.update(places)

    def match(self, string, pos=0, endpos=sys.maxsize):
        self._record(string, range(pos, pos + 1))
        return self.regex.match(string, pos, endpos)

    def search(self, string, pos=0, endpos=sys.maxsize):
        self._record(string, range(pos, min(endpos, len(string)) + 1))
        return self.regex.search(string, pos, endpos)

    def finditer(self, string, pos=0, endpos=sys.maxsize):
        self._record(string, range(pos, min(endpos, len(string)) + 1))
        return self.regex.finditer(string, pos, endpos)

    def __getattr__(self, name):
        return getattr(self.regex, name)


@pytest.mark.parametrize("keyword", ["about 50%", "US $100", "co-operation $100", "mayors' C++", "vitamin C++*",
                                     "C# at&t-* C++"])
def test_matching_keywords_with_symbols_tried_only_near_their_symbol_part(keyword):
    """A keyword holding a symbol is tried only in the words before its symbol part, even where other
    words come first in it (`about 50%`), not searched for through the whole text: 0.1 s per keyword per
    2 MB where its symbol part is common (probe AE3; benchmarks/bench_symbols.py)."""
    compiled = compile_codebook(parse_codebook(f"codes:\n  k: [{json.dumps(keyword)}]\n"))
    text = ("the budget rose by about 5 points, us 10 ... " * 200
            + "about 50%; us $100; co-operation $100, cooperation $100; mayor's c++ vitamins c++x c# at&t-x c++")
    starts: set[int] = set()
    compiled._symbols = [entry._make(_Tried(item, text, starts) if isinstance(item, re.Pattern) else item
                                     for item in entry) if hasattr(entry, "_make")
                         else tuple(_Tried(item, text, starts) if isinstance(item, re.Pattern) else item
                                    for item in entry)
                         for entry in compiled._symbols]
    hits = [text[hit.start:hit.end] for hit in compiled._find_symbols(text)]
    assert len(hits) == (2 if keyword == "co-operation $100" else 1)
    assert starts and min(starts) > len(text) - 120


_RANDOM_WORDS = ["about", "abouts", "us", "u", "mayor", "mayors", "mayor's", "mayors'", "vitamin", "vitamins", "co",
                 "operation", "cooperation", "co-operation", "self", "x", "xs", "asp", "net", "etc", "o'brien", "a"]
_RANDOM_SYMBOLS = ["50%", "$100", "c++", "c#", "at&t", "r&d", ".net", "#a#b", "#a", "a_b", "5%"]
_RANDOM_GAPS = [" ", " ", " ", "  ", "\n", "-", "\u2010", " - ", "\u00ad", "\u2013", "\n\n", " \u2014 ", "-\n"]
_RANDOM_GLUE = ["", "'", "'s", ".", ",", "(", ")", "中文", "x", "_", "\u0301", "..", "''", "5", "$", "%", "+", "#"]


def _random_symbol_text(rng: random.Random, keywords: list[str]) -> str:
    """Random words, symbols and glue, and the keywords spelt with other forms, gaps, glue and tails."""
    pieces = []
    for _ in range(rng.randint(1, 20)):
        draw = rng.random()
        if draw < 0.4:
            for part in GAP_RUN.split(rng.choice(keywords).lstrip("~")):
                part = part.rstrip("*") + (rng.choice(["", "x", "5", "-x", "-"]) if part.endswith("*") else "")
                part += rng.choice(["s", "'s", "'", ".", "x", "%", "+"]) if rng.random() < 0.2 else ""
                part = (rng.choice(["x", "(", "'", ".", "中", "_", "#", "$"]) if rng.random() < 0.1 else "") + part
                pieces += [part, rng.choice(_RANDOM_GAPS) if rng.random() < 0.9 else rng.choice(_RANDOM_GLUE)]
        else:
            pieces.append(rng.choice(_RANDOM_SYMBOLS) if draw < 0.6 else rng.choice(_RANDOM_WORDS) if draw < 0.9
                          else rng.choice(_RANDOM_GLUE))
        pieces.append(rng.choice(_RANDOM_GAPS) if rng.random() < 0.7 else rng.choice(_RANDOM_GLUE))
    return "".join(pieces)


def _random_symbol_keyword(rng: random.Random) -> str:
    """A random keyword the codebook takes (a `*` only at a word's end): words and symbols, `*`, `-*`, `~`."""
    while True:
        parts = []
        for _ in range(rng.randint(1, 4)):
            part = rng.choice(_RANDOM_SYMBOLS) if rng.random() < 0.4 else rng.choice(_RANDOM_WORDS)
            part += "*" if rng.random() < 0.15 else ""
            part += "-*" if rng.random() < 0.1 else ""
            parts.append(part)
        keyword = ("~" if rng.random() < 0.1 else "") + (" " if rng.random() < 0.8 else "-").join(parts)
        try:
            parse_codebook(f"codes:\n  k: [{json.dumps(keyword)}]\n")
        except CoderError:
            continue
        return keyword


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matching_keywords_with_symbols_found_near_their_symbol_part_as_through_the_text(seed):
    """Random keywords holding symbols, with words, wildcards, `-*` and possessives before and after their
    symbol part, over random texts of the same words and symbols and of the keywords, glued, hyphenated,
    across line breaks: _find_symbols() finds what each pattern's finditer() over the whole text finds,
    with words before the symbol part too (probe AE3)."""
    rng, after_words = random.Random(seed), 0
    for _ in range(3):
        keywords = [_random_symbol_keyword(rng) for _ in range(12)]
        lines = ["codes:"] + [f"  k{index}: [{json.dumps(keyword)}]" for index, keyword in enumerate(keywords)]
        compiled = compile_codebook(parse_codebook("\n".join(lines)))
        assert any(search.gap_runs for search in compiled._symbols)
        for _ in range(100):
            lower = _random_symbol_text(rng, keywords).lower()
            after_words += sum(1 for search in compiled._symbols if search.gap_runs and search.needle in lower
                               for _ in search.regex.finditer(lower))
            expected = [_Hit(keyword.code, *found.span(), keyword.rule, keyword.exclusion, keyword.term)
                        for search in compiled._symbols if search.needle in lower
                        for found in search.regex.finditer(lower) for keyword in search.keywords]
            assert list(compiled._find_symbols(lower)) == expected, (keywords, lower)
    assert after_words > 20, after_words


@pytest.mark.parametrize(("keyword", "gap_runs"), [
    ("C++", 0), ("C++ programmer", 0), ("about 50%", 1), ("US $100", 1), ("co-operation $100", 2),
    ("mayors' C++", 1), ("x-* y C++", 3), ("C# C++-*", 1),
])
def test_matching_keywords_with_symbols_gap_runs_before_their_symbol_part(keyword, gap_runs):
    compiled = compile_codebook(parse_codebook(f"codes:\n  k: [{json.dumps(keyword)}]\n"))
    assert compiled._symbols[0].gap_runs == gap_runs


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    # NFC: a decomposed ô (o + U+0302) in the text; offsets stay in the text as written.
    (["côte"], "La Co\u0302te and la côte.", ["Co\u0302te", "côte"]),
    # Full-width Latin letters and digits read as ASCII, in the text and in keywords.
    (["CO2", "ＡＰＥＣ"], "ＣＯ２ emissions; APEC and ＡＰＥＣ.", ["ＣＯ２", "APEC", "ＡＰＥＣ"]),
    # Radicals that Chinese PDFs give for the ideographs they look like (Kangxi ⾏ ⾼, supplement ⻓ ⻔).
    (["行政壁垒", "高质量发展", "长三角", "门户"], "打破⾏政壁垒，推动⾼质量发展。⻓三角⻔户。",
     ["⾏政壁垒", "⾼质量发展", "⻓三角", "⻔户"]),
    # Turkish dotted capital I: one character, offsets unshifted after it.
    (["istanbul", "izmir"], "İSTANBUL and İzmir, then istanbul.", ["İSTANBUL", "İzmir", "istanbul"]),
    # Combining marks belong to their word: Arabic vowel marks, Devanagari signs, Thai vowels.
    (["كِتَاب"], "قرأ كِتَاب اليوم وكِتَابٌ", ["كِتَاب"]),
    (["हिन्दी"], "मैं हिन्दी बोलता हूँ", ["हिन्दी"]),
    (["ภาษา"], "เรียน ภาษา ไทย", ["ภาษา"]),
])
def test_matching_unicode_normalised_casefolded_with_marks_in_the_word(tmp_path, monkeypatch, keywords, text, expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords), text)
    assert matches == expected
    assert [(start, end, hits) for start, end, hits, _ in segments] == [(0, len(text), len(expected))]


@pytest.mark.parametrize(("keyword", "text", "unexpected"), [
    ("كِتَا", "كِتَاب", "a keyword word ends where a mark follows it"),
    ("हिन", "हिन्दी", "virama and vowel signs are part of the word"),
])
def test_matching_marks_never_end_a_word(tmp_path, monkeypatch, keyword, text, unexpected):
    monkeypatch.chdir(tmp_path)
    assert _code_through_cli(tmp_path, _keywords_codebook([keyword]), text) == ([], []), unexpected


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    (["self-*"], "Self-interest, self‑governance and self-help; not self, nor self interest.",
     ["Self-interest", "self‑governance", "self-help"]),
    (["well-*", "self"], "well-being for the self", ["well-being", "self"]),
])
def test_matching_hyphen_wildcard_needs_more_letters(tmp_path, monkeypatch, keywords, text, expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords), text)
    assert matches == expected


def test_matching_hyphen_wildcard_across_a_line_end():
    """A hyphen ending a line joins the word on the next line; a suspended hyphen does not."""
    compiled = compile_codebook(parse_codebook("codes:\n  s: [self-*]\n"))
    text = "Local self-\ngovernance and self-\n  reliance;\nself- and co-regulation, self- or peer-review."
    document = Document(path="a.txt", text=text)
    found = [match for passage in split_passages(document) for match in compiled.find(passage)]
    assert [text[match.start:match.end] for match in found] == ["self-\ngovernance", "self-\n  reliance"]


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    (["联席会议", "区域合作"], "各市召開聯席會議，推動區域合作。", ["聯席會議", "區域合作"]),
    (["聯席會議", "區域*"], "各市召开联席会议，推动区域合作。", ["联席会议", "区域合作"]),
    # Word boundaries still come from jieba on the converted text: 印度 is not inside 印度尼西亞.
    (["印度"], "印度尼西亞與印度合作", ["印度"]),
])
def test_matching_traditional_and_simplified_are_one_script(tmp_path, monkeypatch, keywords, text, expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords), text)
    assert matches == expected
    assert segments[0][3] == "; ".join(expected)  # `matched` shows the text's own characters


@pytest.mark.parametrize(("keywords", "settings", "text", "expected"), [
    (["cooperate"], {}, "cooperation, cooperative, cooperating", ["cooperating"]),
    (["~cooperate"], {}, "cooperation, cooperative, cooperating", ["cooperation", "cooperative", "cooperating"]),
    (["fragment"], {"morphology": "derivational"}, "fragmented and fragmentation", ["fragmented", "fragmentation"]),
    (["~meeting"], {}, "meetings and meetingness", ["meetings"]),
])
def test_matching_derivation_is_opt_in(tmp_path, monkeypatch, keywords, settings, text, expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, _keywords_codebook(keywords, **settings), text)
    assert matches == expected


def test_matching_derivation_for_the_whole_codebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    codebook = "morphology: derivational\ncodes:\n  c: [cooperate]\n  d:\n    keywords: [fragment]\n    morphology: inflectional\n"
    text = "cooperation and fragmentation"
    _, matches = _code_through_cli(tmp_path, codebook, text)
    assert matches == ["cooperation"]  # kwic of code c; d keeps to inflections


RULES_CODEBOOK = """codes:
  c:
    rules:
      - near: [[cooperat*, coordinat*], [mechanism, platform]]
        within: 2
        not: [pilot]
      - all: [[区域], [合作机制]]
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("A cooperation mechanism.", [(2, "cooperation; mechanism")]),
    ("A platform for regional coordination.", [(2, "platform; coordination")]),
    ("A platform for the new regional coordination.", []),  # four words apart, within: 2
    ("A pilot cooperation mechanism.", []),  # `not`
    ("Mechanism. Cooperation.", [(2, "Mechanism; Cooperation")]),  # either order
    ("区域之间建立合作机制。", [(2, "区域; 合作机制")]),
    ("合作机制。", []),
])
def test_matching_rules_near_all_not(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    segments, matches = _code_through_cli(tmp_path, RULES_CODEBOOK, text)
    assert [(hits, matched) for _, _, hits, matched in segments] == expected


@pytest.mark.parametrize(("text", "within", "expected"), [
    ("党建 alliance and joint meeting", 2, ["党建 alliance", "joint meeting"]),
    ("党建 alliance and the new joint meeting", 2, []),  # three words
    ("joint meeting, then the 党建 alliance", 2, []),  # its Chinese end faces the gap: 8 characters
    ("G60科创走廊 and the joint meeting", 2, []),  # as 科创走廊 alone: 6 characters
    ("G60科创走廊 and the joint meeting", 6, ["G60科创走廊", "joint meeting"]),
    ("party alliance and the joint meeting", 2, ["party alliance", "joint meeting"]),
])
def test_matching_near_rule_counts_words_where_a_mixed_keyword_is_latin(text, within, expected):
    """`党建 alliance` counted the English words after it in characters, as a Chinese term does: within: 2
    missed "党建 alliance and joint meeting" (probe S F8). A gap is counted in characters where a Chinese
    end of either hit faces it, in words where both facing ends are not Chinese."""
    codebook = parse_codebook("codes:\n  c:\n    rules:\n      - near: [[党建 alliance, G60科创走廊, party alliance], "
                              f"[joint meeting]]\n        within: {within}\n")
    assert [match.text for match in compile_codebook(codebook).find(passage(text))] == expected


def _near_by_pairs(firsts: list[_Hit], seconds: list[_Hit], lower: str, within: int) -> list[tuple[int, int]]:
    """The near rule as first written, the reference: every pair of hits tried, each gap read (in characters
    when the end of either hit that faces it is Chinese)."""
    near: dict[tuple[int, int], _Hit] = {}
    for first in firsts:
        for second in seconds:
            if first.start < second.end and second.start < first.end:
                continue
            before, after = (first, second) if first.start < second.start else (second, first)
            gap = lower[before.end:after.start]
            if is_cjk(lower[before.end - 1]) or is_cjk(lower[after.start]):  # a Chinese end faces the gap
                distance = sum(1 for char in gap if not char.isspace())
            else:
                distance = len(_WORD.findall(gap)) + len(_CJK_RUN.findall(gap))
            if distance <= within:
                near[first.start, first.end] = first
                near[second.start, second.end] = second
    return list(near)


# English words, an apostrophe, hyphens and dashes, punctuation, spaces and line breaks (a CJK run
# may hold them), a letter and its combining mark, digits, the passage separator, Chinese, kana and
# a CJK character beyond the BMP.
_NEAR_PIECES = ["body", "agencies", "co", "U.S.", "'s", "-", "\u2014", ",", ". ", "_", " ", "  ", "\n", "\t",
                "\u3000", "e\u0301", "12", "\x00", "协调", "机 构", "合\n作", "。", "カ", "\U00020000"]


@st.composite
def _near_case(draw):
    lower = "".join(draw(st.lists(st.sampled_from(_NEAR_PIECES), min_size=1, max_size=40)))
    # Hits anywhere, inside words too; never empty, as no keyword match is.
    spans = st.tuples(st.integers(0, len(lower) - 1), st.integers(1, 8)).map(
        lambda span: (span[0], min(len(lower), span[0] + span[1])))
    lists = [[_Hit("c", start, end, "word", term=position) for start, end in draw(st.lists(spans, max_size=12))]
             for position in (0, 1)]
    # Hits at the same span (two words of a list matching one word) and in both lists.
    for position in (0, 1):
        if lists[position] and draw(st.booleans()):
            lists[position].append(draw(st.sampled_from(lists[1 - position] or lists[position])))
    return lower, lists, draw(st.integers(0, 6))


@given(_near_case())
@settings(max_examples=1000, deadline=None)
def test_matching_near_rule_finds_what_trying_every_pair_finds(case):
    lower, (firsts, seconds), within = case
    rule = Rule(kind="near", lists=(("a",), ("b",)), within=within)
    found = {position: hits for position, hits in enumerate((firsts, seconds)) if hits}
    expected = _near_by_pairs(firsts, seconds, lower, within) if len(found) == 2 else []
    assert [(hit.start, hit.end) for hit in _rule_hits(rule, found, lower)] == expected


NEAR_CODEBOOK = """unit: {unit}
codes:
  coordination_body:
    rules:
      - near: [[coordinat*, regional, 协调, 合作], [body, bodies, agency, agencies, 机构]]
        within: 2
"""
NEAR_PARAGRAPHS = [
    "Today the regional coordination body met. Nothing else happened.",
    "Reports say agencies coordinate poorly, and a regional body is still missing here.",
    "The agency and the regional press were far from each other in this story.",
    "在本地区，区域协调机构和合作机构已经成立，各方表示支持。",
    "Plain words between the other paragraphs, with no rule word.",
]


def test_matching_near_rule_over_a_long_document_finds_what_its_paragraphs_find():
    # A document unit puts thousands of hits of each list in one passage; no two paragraphs hold a
    # pair within two words (characters), so its matches are those of the paragraphs one by one.
    text = "\n\n".join(NEAR_PARAGRAPHS[index % len(NEAR_PARAGRAPHS)] for index in range(3000)) + "\n"
    document = Document("doc.txt", text)
    found = {}
    for unit in ("document", "paragraph"):
        compiled = compile_codebook(parse_codebook(NEAR_CODEBOOK.format(unit=unit)))
        passages = split_passages(document, unit=unit)
        found[unit] = [match for matches in compiled.find_in_passages(passages) for match in matches]
    assert len(split_passages(document, unit="document")) == 1
    assert len(found["document"]) == 7800  # 13 in each five paragraphs
    assert found["document"] == found["paragraph"]


LONG_DOCUMENT_CODEBOOK = """unit: {unit}
codes:
  governance:
    keywords: [governance, meeting]
    exclude: [joint meeting]
"""
LONG_DOCUMENT_PARAGRAPHS = [
    "The gover-\nnance of the river basin was discussed at a joint meeting.",
    "A meeting of the cross-\nregional governance group followed the joint meeting.",
]


def test_matching_exclusions_and_line_end_hyphens_over_a_long_document_find_what_its_paragraphs_find():
    # A document unit holds thousands of exclude-phrase hits and words hyphenated at a line end.
    text = "\n\n".join(LONG_DOCUMENT_PARAGRAPHS[index % 2] for index in range(4000)) + "\n"
    document = Document("doc.txt", text)
    found = {}
    for unit in ("document", "paragraph"):
        compiled = compile_codebook(parse_codebook(LONG_DOCUMENT_CODEBOOK.format(unit=unit)))
        passages = split_passages(document, unit=unit)
        found[unit] = [(match.text, match.start) for matches in compiled.find_in_passages(passages) for match in matches]
    assert [text for text, _ in found["document"][:3]] == ["gover- nance", "meeting", "governance"]
    assert len(found["document"]) == 6000
    assert found["document"] == found["paragraph"]


_EXCLUSION_HITS = st.lists(st.builds(
    lambda code, start, length, exclusion: _Hit(code, start, start + length, "word", exclusion),
    st.sampled_from("ab"), st.integers(0, 30), st.integers(0, 6), st.booleans()), max_size=20)


@given(_EXCLUSION_HITS)
@settings(max_examples=300, deadline=None)
def test_matching_exclusions_drop_what_any_overlapping_exclude_phrase_drops(raw):
    excluded = [hit for hit in raw if hit.exclusion]
    expected = [hit for hit in raw if not hit.exclusion and not any(
        other.code == hit.code and other.start < hit.end and hit.start < other.end for other in excluded)]
    assert _apply_exclusions(raw) == expected


@pytest.mark.parametrize(("codebook", "message"), [
    ("codes:\n  c:\n    rules:\n      - near: [[a], [b]]\n",
     "codebook.yaml:4: code 'c': a `near` rule needs `within: N`, the most words (characters, for Chinese) between "
     "its two words, a whole number from 1 to 1,000,000."),
    ("codes:\n  c:\n    rules:\n      - near: [[a]]\n        within: 2\n",
     "codebook.yaml:4: code 'c': `near` takes two lists of words, as in `near: [[cooperat*], [mechanism]]`."),
    ("codes:\n  c:\n    rules:\n      - not: [a]\n",
     "codebook.yaml:4: code 'c': a rule has exactly one of `near` or `all` (found neither `near` nor `all`). "
     "A `not` list goes inside the rule it limits."),
    ("codes:\n  c:\n    rules:\n      - all: [a, b]\n",
     "codebook.yaml:4: code 'c': `all` takes a list of word lists, as in `all: [[cooperat*, coordinat*], [mechanism]]`."),
    ("codes:\n  c:\n    rules:\n      - all: [[a]]\n        within: 3\n        nott: [b]\n",
     "codebook.yaml:6: code 'c' rule: unknown key 'nott'. Did you mean 'not'?\n"
     "codebook.yaml:5: code 'c': `within` belongs to a `near` rule; `all` means anywhere in the passage."),
    ("morphology: derivation\ncodes:\n  c: [a]\n",
     "codebook.yaml:1: codebook: morphology 'derivation' is not one of inflectional, derivational."),
    ("codes:\n  c: [co~operate]\n",
     "codebook.yaml:2: code 'c': keyword 'co~operate': `~` (derivations) goes once, before an English keyword, as in "
     "'~cooperate'."),
])
def test_matching_rules_and_morphology_are_validated_with_lines(tmp_path, monkeypatch, codebook, message):
    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("a b", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet")
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"


def test_matching_a_regex_and_a_keyword_of_one_code_count_a_span_once():
    """README rule 10: overlapping matches of one code count once; a regex matching what a keyword of its
    code matched was a second hit (hits 6 for 3 spans). Another code's regex still counts."""
    codebook = parse_codebook(
        "codes:\n  b:\n    keywords: [red tape, joint meeting]\n    regex: ['red tape', 'joint meetings?', 'tape']\n"
        "  c:\n    regex: ['red tape']\n")
    text = "The red tape was bad. Joint meetings and joint meeting."
    document = Document(path="a.txt", text=text)
    (passage,) = split_passages(document)
    compiled = compile_codebook(codebook)
    found = [(match.code, text[match.start:match.end], match.rule) for match in compiled.find(passage)]
    assert found == [("b", "red tape", "red tape"), ("c", "red tape", "red tape"), ("b", "Joint meetings", "joint meeting"),
                     ("b", "joint meeting", "joint meeting")]
    counted = compiled.count_in_passages([passage])[0]
    assert (counted["b"].hits, counted["c"].hits) == (3, 1)


@pytest.mark.parametrize("keywords, text, matched", [
    (["党建"], "我们党建立了统一战线。", []),  # 我们/党/建立: a term never outweighs the words around it
    (["党建*"], "党建立健全了制度。", []),
    (["党建*"], "加强区域党建工作。", ["党建"]),
    (["跨界*"], "克服跨界治理过程中的难题。", ["跨界"]),
    (["共治"], "广州新华学院公共治理学院。", []),  # 公共/治理: 共治 splits no compound into words
    (["机构"], "设立常设性环境协调监督机构。", ["机构"]),  # 监督机构 splits into 监督 and 机构
    (["联席会议", "市长联席会议"], "市长联席会议在合肥召开。", ["联席会议", "市长联席会议"]),
    (["协同", "协同治理"], "推进协同治理。", ["协同", "协同治理"]),
    (["印度"], "印度尼西亚的区域合作。", []),
    (["领导"], "作为推动者和领导者。", ["领导"]),  # a suffix that makes a word of it: 领导者 "leader"
    (["区域合作"], "推进跨区域合作。", ["区域合作"]),  # a prefix: 跨区域
    (["协作"], "经济协作办主任联席会。", []),  # 办 is no such affix: 协作办 is one word
])
def test_chinese_terms_match_words_and_the_words_of_compounds(keywords, text, matched):
    """A Chinese term matches a whole word, or a word of a compound that splits there into words of two or
    more characters; another code's longer term does not take its matches (a parent's 联席会议 missed
    every 市长联席会议 of its child)."""
    codes = "".join(f"  c{index}:\n    keywords: ['{keyword}']\n" for index, keyword in enumerate(keywords))
    compiled = compile_codebook(parse_codebook("codes:\n" + codes))
    document = Document("a.txt", text)
    found = sorted({text[match.start:match.end] for passage in split_passages(document) for match in compiled.find(passage)})
    assert found == sorted(matched)


@pytest.mark.parametrize("short, longer, text, matched", [
    ("合作", "跨界合作", "两省积极开展跨界合作，取得明显成效。", ["合作"]),  # jieba alone: 跨/界/合作
    ("协同", "跨域协同治理", "长三角地区推进跨域协同治理，取得明显成效。", ["协同"]),
    ("治理*", "跨域协同治理", "长三角地区推进跨域协同治理。", ["治理"]),
    ("会议", "会议室", "在三楼会议室召开。", []),  # README rule 7 as before: 会议室 is one word
    ("合作", "合作社", "成立农民专业合作社。", []),
    ("党建", "党建立", "我们党建立了统一战线。", []),
])
def test_another_codes_longer_chinese_term_takes_no_matches(short, longer, text, matched):
    """Probe AY1: a Chinese term is coded inside another code's longer term exactly where it is coded without
    that term in the codebook. `合作` coded 跨界合作 alone but not once code b held 跨界合作 (跨界 is no
    word of jieba's dictionary, so the compound did not split into words)."""
    document = Document("a.txt", text)

    def found(codebook: str) -> list[str]:
        compiled = compile_codebook(parse_codebook(codebook))
        return [text[match.start:match.end] for passage in split_passages(document)
                for match in compiled.find(passage) if match.code == "a"]

    alone = found(f"codes:\n  a: ['{short}']\n")
    assert alone == matched
    assert found(f"codes:\n  a: ['{short}']\n  b: ['{longer}']\n") == alone
    assert found(f"codes:\n  a: ['{short}', '{longer}']\n") == [longer]  # one code's overlapping matches: the longest


def test_another_codes_longer_chinese_term_takes_no_matches_on_the_devset():
    """Probe AY1's property on real terms: for a word S of a devset Chinese sentence and two or three words
    of it L holding S (each of two or more characters, as 跨域协同治理), code a: [S] codes the sentences
    holding L as it does alone, with b: [L] beside it (28 of these 150 disagreed before)."""
    from pathlib import Path

    from coder.lexicon import ChineseDictionary, fold_text

    texts = sorted(Path("benchmarks/devset/texts").glob("zh_*.txt"))
    units = [unit for path in texts for unit in re.split(r"[。！？\n]+", fold_text(path.read_text(encoding="utf-8")))
             if unit.strip()]
    dictionary = ChineseDictionary(())
    pairs = set()
    for unit in units:
        # jieba's words, runs of one-character words joined (跨/界 -> 跨界, as jieba's HMM guesses them)
        cut = re.sub(r"(?<=\b\w) (?=\w\b)", "", " ".join(word for word, _, _ in dictionary.tokenize(unit)))
        words = [word for word in cut.split(" ") if len(word) >= 2 and all(map(is_cjk, word))]
        for size in (2, 3):
            for index in range(len(words) - size + 1):
                parts = words[index:index + size]
                if "".join(parts) in unit and len("".join(parts)) <= 8:
                    pairs.update((word, "".join(parts)) for word in parts)
    for short, longer in random.Random(7).sample(sorted(pairs), 150):
        holding = [Passage("d", 0, 0, len(unit), unit, unit) for unit in units if longer in unit]
        alone = compile_codebook(parse_codebook(f"codes:\n  a: ['{short}']\n"))
        both = compile_codebook(parse_codebook(f"codes:\n  a: ['{short}']\n  b: ['{longer}']\n"))
        assert [[m for m in both.find(item) if m.code == "a"] for item in holding] == \
            [alone.find(item) for item in holding], (short, longer)


@pytest.mark.parametrize("code, text", [
    ("  a:\n    keywords: [协同]\n    exclude: [协同治理]\n", "长三角地区推进跨域协同治理，取得明显成效。"),
    ("  a:\n    rules:\n      - near: [[协同], [机制]]\n        within: 10\n        not: [协同治理]\n",
     "长三角地区推进跨域协同治理机制建设。"),
    ("  a:\n    keywords: [协同]\n    exclude: [跨域协同治理]\n", "长三角地区推进跨域协同治理，取得明显成效。"),
])
def test_another_codes_longer_chinese_term_leaves_a_codes_exclusions_vetoing(code, text):
    """Probe BB1: a code's exclusions and rule words are judged by the segmenter that judges its keywords.
    Code a [协同, exclude: 协同治理] coded nothing in 跨域协同治理 alone, but coded 协同 once b held 跨域协同:
    协同 was judged without 跨域协同 and 协同治理 with it (跨域协同/治理), so the exclusion vetoed nothing."""
    document = Document("a.txt", text)

    def found(codebook: str) -> list[str]:
        compiled = compile_codebook(parse_codebook(codebook))
        return [text[match.start:match.end] for passage in split_passages(document)
                for match in compiled.find(passage) if match.code == "a"]

    assert found("codes:\n" + code) == []
    assert found("codes:\n" + code + "  b: [跨域协同]\n") == []


@pytest.mark.parametrize("keyword, text, matched", [
    ("region", "the region-\nal governments met", []),  # reads "regional": region is no whole word there
    ("govern", "the local govern-\nments met", []),
    ("region", "a region-\nwide plan for the cross-\nregional region", ["region", "region"]),  # region-wide keeps its hyphen
    ("governance", "the gover-\nnance of rivers", ["gover-\nnance"]),
    ("region", "a region- and nation-wide plan", ["region"]),  # a suspended hyphen, no line break
])
def test_a_word_hyphenated_at_a_line_end_is_one_word(keyword, text, matched):
    compiled = compile_codebook(parse_codebook(f"codes:\n  c:\n    keywords: ['{keyword}']\n"))
    document = Document("a.txt", text)
    found = [text[match.start:match.end] for passage in split_passages(document) for match in compiled.find(passage)]
    assert found == matched


@pytest.mark.parametrize("keyword, text", [
    ("co-operation", "Regional cooperation grew."),
    ("cross-regional governance", "Crossregional governance grew."),
    ("self-govern*", "Selfgoverning bodies grew."),
])
def test_a_hyphenated_keyword_matches_the_word_spelt_as_one(keyword, text):
    """`cooperation` matched "co-operation", but `co-operation` missed "cooperation"."""
    compiled = compile_codebook(parse_codebook(f"codes:\n  c:\n    keywords: ['{keyword}']\n"))
    hits = [match for passage in split_passages(Document("a.txt", text)) for match in compiled.find(passage)]
    assert [(match.rule, len(hits)) for match in hits] == [(keyword, 1)]


@pytest.mark.parametrize("text", ["cross\u00adregional", "cross\u2013regional", "inter\u00adgovernmental ties"])
def test_a_soft_hyphen_or_en_dash_inside_a_word_is_a_hyphen_for_a_one_word_keyword(text):
    """A phrase keyword read them as hyphens, a one-word keyword missed them (`crossregional`)."""
    keyword = "intergovernmental" if text.startswith("inter") else "crossregional"
    compiled = compile_codebook(parse_codebook(f"codes:\n  c:\n    keywords: [{keyword}]\n"))
    hits = [match for passage in split_passages(Document("a.txt", text)) for match in compiled.find(passage)]
    assert len(hits) == 1


@pytest.mark.parametrize("keyword, text, hits", [
    ("meeting", "The mayors met. The plan meets national standards.", 0),  # the noun, not the verb's forms
    ("meeting", "Joint meetings and a meeting.", 2),
    ("meet", "The mayors met and will meet again.", 2),  # the verb keeps its forms
    ("party building", "The party built a school.", 0),
    ("coordinating", "They coordinated the plans.", 1),  # no noun: the verb's forms
])
def test_a_keyword_noun_in_ing_does_not_match_the_verbs_forms(keyword, text, hits):
    """`meeting` coded "the plan meets national standards" (README rule 9's own example)."""
    compiled = compile_codebook(parse_codebook(f"codes:\n  c:\n    keywords: ['{keyword}']\n"))
    found = [match for passage in split_passages(Document("a.txt", text)) for match in compiled.find(passage)]
    assert len(found) == hits


def test_a_chinese_regex_matches_across_a_line_break_as_keywords_do():
    """A PDF paste breaks Chinese lines anywhere: `联席会议` as a keyword matched "联席\\n会议", as a regex it did not."""
    compiled = compile_codebook(parse_codebook('codes:\n  r:\n    regex: ["联席会议", "提出了?[^。]{0,30}建议"]\n'))
    text = "各地建立了联席\n会议制度。本文最后提\n出了促进合作的对策建\n议。joint\nmeeting"
    found = [text[match.start:match.end] for passage in split_passages(Document("a.txt", text))
             for match in compiled.find(passage)]
    assert found == ["联席\n会议", "提\n出了促进合作的对策建\n议"]


@pytest.mark.parametrize(("text", "found"), [
    ("要進(jìn)一步加強合作。", "進(jìn)一步加強"), ("召开联\u200b席会议。", "联\u200b席会议"), ("召开联席\u2060会议。", "联席\u2060会议")])
def test_a_chinese_regex_reads_through_pinyin_glosses_and_zero_width_characters(text, found):
    """README (regexes): the pinyin glosses and zero-width characters of rule 6 read as nothing between
    Chinese characters for a regex too (probe AG4: the shipped codebook relies on it)."""
    compiled = compile_codebook(parse_codebook('codes:\n  r:\n    regex: ["進一步加強", "联席会议"]\n'))
    assert [text[match.start:match.end] for passage in split_passages(Document("a.txt", text))
            for match in compiled.find(passage)] == [found]


def test_matched_words_read_as_the_passage_text_reads_them():
    """`matched` showed "gover- nance" and "党建 联盟", which the passage's text (governance, 党建联盟) does not hold."""
    from coder.matching import matched_text

    assert [matched_text(text) for text in ("gover-\nnance", "党建\n联盟", "joint\nmeeting", "joint \t meeting")] == [
        "governance", "党建联盟", "joint meeting", "joint meeting"]
    # a flattened PDF's "gov- ernance" showed as "gov-ernance": "gov" is a word, and "governance" was not
    # one to the rule (spaCy's lookup table lists only words that inflect)
    assert matched_text("collaborative gov- ernance") == "collaborative governance"


def test_matched_cells_of_a_whole_run_read_as_the_passage_text_reads_them(tmp_path):
    """The test above called matched_text on raw text; the pipeline cuts matches from the passage's view,
    where line breaks are spaces, so segments.csv and kwic still showed "gover- nance" and "党建 联盟"."""
    from conftest import invoke, run_ok

    from coder.files import read_table

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The mayors agreed on better gover-\nnance of the river and regional integra-\n"
                                  "tion, with co-\nordination bodies. 三地成立的党建\n联盟开展活动。\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  a:\n    keywords: [governance, regional integration, coordination, 党建联盟]\n",
                        encoding="utf-8")
    run_ok(corpus, codebook, tmp_path / "out")

    segments = read_table(tmp_path / "out" / "segments.csv")
    assert segments["matched"].tolist() == ["governance; regional integration; coordination; 党建联盟"]
    assert all(word in segments["text"][0] for word in segments["matched"][0].split("; "))
    shown = invoke("kwic", "党建联盟", "--corpus", corpus, "--codebook", codebook, "--csv", tmp_path / "kwic.csv")
    assert shown.exit_code == 0, shown.output
    line = read_table(tmp_path / "kwic.csv").iloc[0]
    assert (line["match"], line["left"].endswith("with coordination bodies. 三地成立的")) == ("党建联盟", True)


def test_zero_width_characters_inside_words_do_not_hide_them():
    """U+200B/U+200D/U+2060 and a byte order mark inside a word (web pages, WeChat articles, two files
    joined) blocked 联席会议, 党建联盟 and `collaborative governance`; the passage's text showed a space."""
    compiled = compile_codebook(parse_codebook(
        "codes:\n  jm: [联席会议, joint meeting]\n  pba: [党建联盟]\n  cg: [collaborative governance]\n"))
    text = ("市长联\u200b席会议制度,党建\u200d联盟。\n\n"
            "The collab\u200borative governance of the joint\u2060meeting.\n\n第二部分:党建\ufeff联盟。")
    passages = split_passages(Document("a.txt", text))
    found = [[(match.code, text[match.start:match.end]) for match in compiled.find(passage)] for passage in passages]
    assert found == [
        [("jm", "联\u200b席会议"), ("pba", "党建\u200d联盟")],
        [("cg", "collab\u200borative governance"), ("jm", "joint\u2060meeting")],
        [("pba", "党建\ufeff联盟")],
    ]
    assert [passage.text for passage in passages] == [
        "市长联席会议制度,党建联盟。", "The collaborative governance of the jointmeeting.", "第二部分:党建联盟。"]
    assert [len(passage.view) for passage in passages] == [passage.end - passage.start for passage in passages]


def test_a_soft_hyphen_between_chinese_characters_does_not_hide_a_word():
    """A soft hyphen between two Chinese characters (a .txt or PDF paste) blocked 党建联盟 and 区域合作,
    where a zero-width character in its place did not (probe AG2); the passage's text leaves it out too."""
    compiled = compile_codebook(parse_codebook("codes:\n  pba: [党建联盟]\n  rc: [区域合作]\n  co: [cooperation]\n"))
    text = "党\u00ad建联盟很好。\n\n推进区域\u00ad\u00ad合作与co\u00adoperation。"
    passages = split_passages(Document("a.txt", text))
    found = [[(match.code, text[match.start:match.end]) for match in compiled.find(passage)] for passage in passages]
    assert found == [[("pba", "党\u00ad建联盟")], [("rc", "区域\u00ad\u00ad合作"), ("co", "co\u00adoperation")]]
    assert [passage.text for passage in passages] == ["党建联盟很好。", "推进区域合作与co\u00adoperation。"]


def test_pinyin_glosses_of_a_mirror_site_do_not_hide_words():
    """Content-farm mirrors put pinyin after characters: 部際聯(lián)席會(huì)議 hid 联席会议, and 權(quán)責(zé)不清
    its code (probe M9); the passage's text showed the pinyin. A bracket that is no tone-marked syllable
    stays text: (a), (2015), (lian)."""
    compiled = compile_codebook(parse_codebook(
        "codes:\n  jm: [联席会议]\n  ur: [权责不清]\n  mt: [会议]\n"))
    text = "部際聯(lián)席會(huì)議是協(xié)調機(jī)制,權(quán)責(zé)不清。\n\n會(a)議,會(2015)議,會(lian)議,會（huì）議。"
    passages = split_passages(Document("a.txt", text))
    found = [[(match.code, text[match.start:match.end]) for match in compiled.find(passage)] for passage in passages]
    assert found == [
        [("jm", "聯(lián)席會(huì)議"), ("mt", "會(huì)議"), ("ur", "權(quán)責(zé)不清")],
        [("mt", "會（huì）議")],
    ]
    assert [passage.text for passage in passages] == [
        "部際聯席會議是協調機制,權責不清。", "會(a)議,會(2015)議,會(lian)議,會議。"]
    assert [len(passage.view) for passage in passages] == [passage.end - passage.start for passage in passages]


@pytest.mark.parametrize(("text", "found"), [
    ("负责党建\t联盟成员单位\n联席\t会议室", []),  # Word table cells: a tab between them
    ("县委组织部\t党建\n联盟成员\t五个", []),  # a row's end
    ("| 项目 | 内容 |\n|---|---|\n| 党建 | 引领 |\n| 联盟 | 会议 |", []),  # a Markdown table
    ("the joint\tmeeting room", []),
    ("区域合作研究\n\n长三角区域合作不断深化，协同治理水平明显提升，各地成立党建\n联盟并定期召开联席会议，推动区域一体化发"
     "展取得新\n的成效，区域合作不断深化，一体化发展取得新的成效。\n", ["党建\n联盟", "联席会议"]),  # a wrapped line joins
    ("单位\t类别\n党建联盟\t联席会议", ["党建联盟", "联席会议"]),
])
def test_a_match_never_runs_across_table_cells(text, found):
    """The tab coder writes between a Word table's cells (and a table row's end) was read as a wrapped
    line: 联席 | 会议室 in two cells was coded 联席会议."""
    compiled = compile_codebook(parse_codebook("codes:\n  a: [党建联盟, 联席会议, joint meeting]\n"))
    assert [text[match.start:match.end] for passage in split_passages(Document("a.txt", text))
            for match in compiled.find(passage)] == found


@pytest.mark.parametrize("at_once", [1, 50, 400])
def test_segment_hits_of_long_documents_matched_a_run_of_passages_at_a_time_are_the_same(at_once):
    """One 48 MB document was matched in one call, 1.7 GB; runs of passages of about _MATCHED_AT_ONCE
    characters give every document the same segments (codes keyed in another order at most)."""
    from unittest import mock

    import coder.matching

    compiled = compile_codebook(parse_codebook(
        "codes:\n  jm: [joint meeting*, 联席会议]\n  pb:\n    keywords: [party building]\n    exclude: [party building site]\n"
        "  rx:\n    regex: ['\\bregion\\w*']\n  rule:\n    rules:\n      - all: [[cooperation], [mayors]]\n"))
    texts = [
        "Joint meetings of the mayors.\n\nRegional cooperation of mayors.\n\nThe party building site.\n\n"
        "Party building and joint meeting.\n\n长三角联席会议。\n\nNothing here.",
        "One joint meeting.",
        "Party-\nbuilding first.\n\nThen regional cooperation by the mayors.\n\n联席\n会议制度。" * 3,
    ]
    documents = [split_passages(Document(f"{number}.txt", text)) for number, text in enumerate(texts)]
    whole = compiled.segment_hits_by_document(documents)
    with mock.patch.object(coder.matching, "_MATCHED_AT_ONCE", at_once):
        in_runs = compiled.segment_hits_by_document(documents)
    assert [dict(sorted(found.items())) for found in in_runs] == [dict(sorted(found.items())) for found in whole]
    assert all(whole)


def test_words_of_a_web_address_code_nothing():
    """`party-building-alliance` in a link's address was coded (probe H11); the text around it still is."""
    compiled = compile_codebook(parse_codebook("codes:\n  a: [joint meeting, party building alliance, 联席会议]\n"))
    text = ("See [市长联席会议](https://example.com/lianxi-huiyi-joint-meeting) and <https://example.org/party-building-"
            "alliance>, www.party-building-alliance.cn/joint-meeting. The joint meeting was held. 见https://a.cn/x联席会议。")
    assert [text[match.start:match.end] for passage in split_passages(Document("a.txt", text))
            for match in compiled.find(passage)] == ["联席会议", "joint meeting", "联席会议"]


@pytest.mark.parametrize(("text", "matched"), [
    # probe PP1: a tab (or a table row's line break, a tab in the view) ends an address as a space does;
    # read as the comma it stands for, "www." ran on over it and took the next cell's words
    ("www.\n war \t", ["www"]),
    ("www.\twar", ["www"]),
    ("www. war", ["www"]),
    ("see www.example.org\tjoint meeting\n", ["joint meeting"]),
    ("https://example.org/x\tjoint meeting", ["joint meeting"]),
    ("a\twww.joint-meeting.org\tb", []),
])
def test_matching_web_address_ends_at_a_tab(text, matched):
    compiled = compile_codebook(parse_codebook("codes:\n  a: [www, joint meeting]\n"))
    passages = split_passages(Document("a.txt", text))
    assert [text[match.start:match.end] for passage in passages for match in compiled.find(passage)] == matched
    assert [sorted(counted) for counted in compiled.count_in_passages(passages)] == [["a"] if matched else []]
    assert compiled.segment_hits_by_document([passages]) == [{"a": [(0, len(matched), matched[0])]} if matched else {}]


MIXED_TEXT = ("长三角G60科创走廊建设加快推进。\n\n推广PPP模式。\n\n京津冀PM2.5污染严重，ＰＭ２．５污染也严重。\n\n"
              "The 党建 alliance was formed in 2019, the 党建alliance again.\n\n"
              "AG60科创走廊 and G600科创走廊 are other names.\n\n2019年党建联盟成立。\n\n"
              "AI印度尼西亚的合作，AI印度的合作。")


@pytest.mark.parametrize(("keyword", "matched"), [
    ("G60科创走廊", [(0, "G60科创走廊")]),
    ("PPP模式", [(1, "PPP模式")]),
    ("pm2.5污染", [(2, "PM2.5污染"), (2, "ＰＭ２．５污染")]),
    ("党建 alliance", [(3, "党建 alliance"), (3, "党建alliance")]),
    ("2019年", [(5, "2019年")]),
    ("G60科创*", [(0, "G60科创")]),  # the word 科创 begins
    # a Chinese end must end (or start) a word: 印度 not in 印度尼西亚, as a Chinese keyword alone
    ("AI印度", [(6, "AI印度")]),
])
def test_a_keyword_mixing_chinese_with_latin_or_digits_matches(keyword, matched):
    """G60科创走廊, PPP模式 and PM2.5污染 loaded without a word and never matched, even spelled as in the text:
    a Chinese keyword was matched inside runs of Chinese text only (probe M2)."""
    codebook = parse_codebook(f"codes:\n  mixed: ['{keyword}']\n")
    passages = split_passages(Document("a.txt", MIXED_TEXT))
    found = [(passage.index, MIXED_TEXT[match.start:match.end])
             for passage in passages for match in compile_codebook(codebook).find(passage)]
    assert found == matched


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("G60科创走廊", "推进G60科创走廊建设。", ["G60科创走廊"]),
    ("G60科创走廊", "AG60科创走廊 G600科创走廊", []),
    ("G60科创走廊", "G60 科创\n走廊的", ["G60 科创 走廊"]),
    ("G60科创走廊", "G60\t科创走廊", []),  # a tab ends a table's cell
    ("G60科创走廊", "Ｇ６０科創走廊", ["Ｇ６０科創走廊"]),
    ("G60科创走廊", "G60—科创走廊", []),  # an em dash is punctuation
    ("5G网络", "5.5G网络试点，版本5G网络", ["5G网络", "5G网络"]),  # as `5G` in "5.5G network"
    ("5G网络", "15G网络 v5G网络", []),
    ("PPP模式", "PPP 模 式, PPP模式研究", ["PPP 模 式", "PPP模式"]),
    ("PPP模式", "PPPP模式 https://x.cn/PPP模式 www.PPP模式.cn", []),
    ("2019年", "在2019年召开，2019年底，12019年，2019.5年", ["2019年"]),
    ("党建 alliance", "党建 alliance-building, 党建\nalliance's", ["党建 alliance", "党建 alliance"]),
    ("党建 alliance", "党建 alliances 党建\talliance 党建 alliancé", []),
    ("党建 alliance*", "党建 alliances", ["党建 alliances"]),
    ("一带一路 initiative", "一带一路\n  initiative", ["一带一路   initiative"]),
    ("PM2.5污染", "PM2.5 污染，PM2,5污染，PM2.5污染物，PM2.55污染", ["PM2.5 污染"]),
    ("科创走廊G60", "大科创走廊G60 科创走廊G600 科创走廊G60s", ["科创走廊G60"]),
    ("A股", "A股市场 中国A股 BA股 A股票", ["A股", "A股"]),
    ("G60科创*", "G60科创走廊", ["G60科创"]),
])
def test_a_mixed_keyword_matches_as_before(keyword, text, expected):
    """What mixed keywords matched before they were found by one automaton (probe S F4), pinned."""
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    # a Latin end is a word's end as for Latin keywords: Greek and Cyrillic letters are letters
    ("G60科创走廊", "ΑG60科创走廊 ЖG60科创走廊 _G60科创走廊", ["G60科创走廊"]),
    ("科创走廊G60", "科创走廊G60Α 科创走廊G60ж", []),
    # hyphens, dashes and line breaks between its Latin words as between a Latin keyword's words
    ("COVID-19疫情", "COVID 19疫情，COVID\u201019疫情，COVID-\n19疫情",
     ["COVID 19疫情", "COVID\u201019疫情", "COVID- 19疫情"]),
    ("COVID 19疫情", "COVID-19疫情", ["COVID-19疫情"]),
    # where Chinese meets Latin, a hyphen is a gap as a space is
    ("G60科创走廊", "G60－科创走廊", ["G60－科创走廊"]),
])
def test_a_mixed_keyword_follows_the_latin_word_and_hyphen_rules(keyword, text, expected):
    """`G60科创走廊` matched in "ΑG60科创走廊" where `G60` refuses "ΑG60", and `COVID-19疫情` missed "COVID 19疫情",
    "COVID‐19疫情" and "COVID-\n19疫情", which `COVID-19` matches (probe S F9)."""
    assert matched([keyword], text) == expected


def test_mixed_keywords_read_the_text_once_whatever_their_number_and_length(monkeypatch):
    """Each mixed keyword ran its own regex over the text: "党" * 999 + "a" took 183 s on a document of a
    million 党 (probe S F4). The text is now read once for all of them, and each hit's ends checked."""
    import coder.matching

    keywords = [f"{'党' * 999}a", *(f"{'党' * 50}{number}a" for number in range(200))]
    compiled = compile_codebook(parse_codebook(f"unit: document\ncodes:\n  c: {keywords!r}\n"))
    text = "党" * 20_000 + "b a" + "党" * 50 + "7a"
    read: list[int] = []
    reading = coder.matching._mixed_reading

    def counted(part):
        read.append(len(part))
        return reading(part)

    monkeypatch.setattr(coder.matching, "_mixed_reading", counted)
    assert [match.text for match in compiled.find(passage(text))] == [f"{'党' * 50}7a"]
    assert sum(read) <= len(text)


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("party organisation", "the party organization, party organisations", ["party organization", "party organisations"]),
    ("alliance center", "an alliance centre and alliance centers", ["alliance centre", "alliance centers"]),
    ("harmonise", "harmonized, harmonizing and harmonises", ["harmonized", "harmonizing", "harmonises"]),
    ("labor", "labour and labourers", ["labour"]),
    ("defence", "national defense", ["defense"]),
    ("policy dialogue", "a policy dialog", ["policy dialog"]),
    ("modelling", "modeling", ["modeling"]),
    # a pair of two words is no spelling pair: tour and tor, filled and filed, polling and poling
    ("tour", "the tor", []),
    ("filled", "filed", []),
    ("polling", "poling", []),
])
def test_british_and_american_spellings_match_each_other(keyword, text, expected):
    """A British codebook lost every American spelling of its words, and the other way round: journals that
    mix both (Chinese English-language ones do) lost hits without a word (probe M7)."""
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("party organiz*", "party organisations and the party organizer", ["party organisations", "party organizer"]),
    ("organis*", "organized labour, organising", ["organized", "organising"]),
    ("service centre*", "service centers and a service centre", ["service centers", "service centre"]),
    ("labour*", "labor unions, laboring", ["labor", "laboring"]),
    ("analys*", "to analyze it", ["analyze"]),
    # only the other spelling of words the wildcard begins: `organiz*` begins no "organism"
    ("organiz*", "an organism", []),
    ("organ*", "organisation and organization", ["organisation", "organization"]),
])
def test_a_wildcard_matches_the_other_spelling_of_the_words_it_begins(keyword, text, expected):
    """`organization*` missed "party organisations" and `centre*` "centers", while `organization` matched
    both spellings (probe S F10): a British wildcard lost the American texts' words."""
    assert matched([keyword], text) == expected


def test_an_exclusion_wildcard_excludes_the_other_spelling_too():
    assert matched(["party*"], "party organisations; party building", exclude=["party organiz*"]) == ["party"]


@pytest.mark.parametrize(("keyword", "text", "expected"), [
    ("Москва会议", "В Москва会议 прошла.", ["Москва会议"]),
    ("α粒子", "α粒子的研究", ["α粒子"]),
])
def test_a_keyword_mixing_chinese_with_another_script_compiles_and_matches(keyword, text, expected):
    """Chinese with Greek or Cyrillic letters stopped the codebook's compiling (a ValueError: no Latin run to
    look for first)."""
    assert matched([keyword], text) == expected


@pytest.mark.parametrize(("codes", "text"), [
    # the other code's term is longer than jieba's words and spans both ends of the hit
    ("a: [发展计划]\n  b: [印度尼西亚共和国的国家发展计划部长会议]", "印度尼西亚共和国的国家发展计划部长会议召开。发展计划。"),
    ("a: [发展计划]\n  b: ['印度尼西亚共和国的国家发展计划部长会议 alliance']", "印度尼西亚共和国的国家发展计划部长会议召开。"),
])
def test_matching_a_matcher_of_some_codes_told_the_codebooks_words_finds_what_the_codebooks_finds(codes, text):
    """As a recode matches an edited code: alone, told the codebook's Chinese words (segmenter_words_of)."""
    codebook = parse_codebook("codes:\n  " + codes)
    alone = compile_codebook(Codebook(codes=(codebook["a"],), unit=codebook.unit), known_words=segmenter_words_of(codebook))
    whole = compile_codebook(codebook)
    assert alone.find(passage(text)) == [match for match in whole.find(passage(text)) if match.code == "a"]


# --- the str.find scans against the whole-text regexes they replaced ------------------------------

_DASH_TEXTS = st.text(alphabet=" \n\t-\u2010\u2011\u2012\u2013\u2014\u2015\u00ad\u3000,aZé中", max_size=40)


def _dash_as_comma(dash):
    """The callback of the regex sub _dashes_as_commas() replaced."""
    start, end, text = dash.start(), dash.end(), dash.string
    run = dash.group()
    spaced = start and text[start - 1].isspace() and end < len(text) and text[end].isspace()
    return "," * (end - start) if "\u2014" in run or "\u2015" in run or spaced else run


@pytest.mark.parametrize("pattern", [r"[\u2012-\u2015]+"])
@given(text=_DASH_TEXTS)
@settings(max_examples=500, deadline=None)
def test_matching_dashes_as_commas_is_the_regex_sub(pattern, text):
    assert _dashes_as_commas(text) == re.sub(pattern, _dash_as_comma, text)


@pytest.mark.parametrize("pattern", [r" --+(?=\s)"])
@given(text=_DASH_TEXTS)
@settings(max_examples=500, deadline=None)
def test_matching_typed_dashes_as_commas_is_the_regex_sub(pattern, text):
    assert _typed_dashes_as_commas(text) == re.sub(pattern, lambda dashes: " " + "," * (len(dashes.group()) - 1), text)


@pytest.mark.parametrize("pattern", [rf"[{_IN_WORD_HYPHENS}](?<=[^\W\d_].)\s*([^\W\d_]+)"])
@given(text=_DASH_TEXTS)
@settings(max_examples=500, deadline=None)
def test_matching_hyphens_in_words_are_the_one_patterns(pattern, text):
    assert [found.span(1) for found in _hyphens_in_words(text)] == [found.span(1) for found in re.finditer(pattern, text)]


@pytest.mark.parametrize("alphabet", [["a", "w", ".", ":", "/", "://", "www.", " ", "h", "1", "+", "-", "中", "\x00", "(", "W"]])
@given(data=st.data())
@settings(max_examples=500, deadline=None)
def test_matching_web_addresses_blanked_is_the_regex_sub(alphabet, data):
    text = "".join(data.draw(st.lists(st.sampled_from(alphabet), max_size=20)))
    assert _web_addresses_blanked(text) == _WEB_ADDRESS.sub(lambda found: " " * (found.end() - found.start()), text)
