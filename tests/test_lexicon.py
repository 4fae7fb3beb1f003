"""The lexicon: one CJK definition for every stage, and the English tables loaded once."""

from __future__ import annotations

import pytest

from coder.lexicon import contains_cjk, english_words, is_cjk, is_english_word
from coder.models import Document
from coder.passages import split_passages


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("合", True),  # CJK Unified Ideographs
        ("㐀", True),  # Extension A
        ("\U00020000", True),  # Extension B
        ("\U00030000", True),  # Extension G
        ("豈", True),  # compatibility ideograph
        ("か", True),  # hiragana
        ("カ", True),  # katakana
        ("ㄅ", True),  # bopomofo
        ("々", True),  # ideographic iteration mark
        ("a", False),
        ("，", False),  # full-width punctuation is not a character of a word
        ("。", False),
        ("1", False),
    ],
)
def test_lexicon_is_cjk(char, expected):
    assert is_cjk(char) is expected


@pytest.mark.parametrize(("text", "expected"), [("regional 合作", True), ("regional cooperation", False), ("", False)])
def test_lexicon_contains_cjk(text, expected):
    assert contains_cjk(text) is expected


@pytest.mark.parametrize(("text", "expected"), [("地域の\n協力です。", "地域の協力です。"), ("区域\n合作。", "区域合作。")])
def test_lexicon_passages_join_kana_and_han_across_a_line_break(text, expected):
    assert [passage.text for passage in split_passages(Document("a.txt", text))] == [expected]


@pytest.mark.parametrize(("word", "expected"), [("Meetings", True), ("gover", False)])
def test_lexicon_english_words(word, expected):
    assert is_english_word(word) is expected
    assert english_words() is english_words()  # loaded once
