"""The lexicon: one CJK definition for every stage, and the English tables loaded once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.lexicon import (
    ChineseDictionary,
    chinese_dictionary,
    contains_cjk,
    english_words,
    is_cjk,
    is_english_word,
)
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


# --- the Chinese dictionary segments as jieba does -------------------------------------------------

_CODEBOOK_TERMS = ("联席会议", "区域合作", "党建联盟", "长三角一体化")


@pytest.fixture(scope="module")
def jieba_tokenizer():
    """jieba itself, with the same words added, as the reference (it loads its dictionary: ~2 s)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    ours = chinese_dictionary(_CODEBOOK_TERMS)
    for term in _CODEBOOK_TERMS:
        tokenizer.add_word(term, freq=ours._extra_frequency[term])
    return tokenizer


@pytest.mark.parametrize("term", [*_CODEBOOK_TERMS, "党建", "协同治理", "市长联席会议"])
def test_lexicon_a_codebook_term_weighs_what_jieba_add_word_gives_it(term):
    """Each term's frequency is jieba's own suggestion (add_word without a frequency), not one that
    outweighs the words around it: 10**7 cut "我们党建立" as 我们/党建/立."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    reference = jieba.Tokenizer()
    reference.initialize()
    assert chinese_dictionary((term,))._extra_frequency[term] == reference.suggest_freq(term, False)
    assert [word for word, _, _ in chinese_dictionary(("党建",)).tokenize("我们党建立了统一战线")][:3] == ["我们", "党", "建立"]


def _seed_chinese() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in sorted(Path("seeds").glob("*.txt"))]
    return [line for text in texts for line in text.splitlines() if contains_cjk(line)]


def test_lexicon_chinese_dictionary_segments_the_seeds_as_jieba(jieba_tokenizer):
    lines = _seed_chinese()
    assert lines
    dictionary = ChineseDictionary(_CODEBOOK_TERMS)
    for line in lines:
        assert list(dictionary.tokenize(line)) == list(jieba_tokenizer.tokenize(line, HMM=False))


_SEGMENT_CHARS = st.sampled_from([*"联席会议区域合作党建联盟长三角一体化召开市长城市的是了和与共同推进协同发展治理机制",
                                  *"カタかな㐀龥豈", *"ab1 .-%\n\t，。"])


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(_SEGMENT_CHARS, max_size=40))
def test_lexicon_chinese_dictionary_agrees_with_jieba(jieba_tokenizer, text):
    dictionary = chinese_dictionary(_CODEBOOK_TERMS)
    assert list(dictionary.tokenize(text)) == list(jieba_tokenizer.tokenize(text, HMM=False))
    assert dictionary.boundaries(text) == [0, *(end for _, _, end in jieba_tokenizer.tokenize(text, HMM=False))]


@pytest.mark.parametrize("terms", [("联席会议",)])
def test_lexicon_chinese_dictionary_never_reads_jiebas_temp_cache(terms):
    # jieba unmarshals a cache file from the shared temporary folder; the dictionary reads only
    # jieba's own word list, so segmenting does not even import jieba.
    script = (
        "import sys; from coder.lexicon import chinese_dictionary; "
        f"print([w for w, _, _ in chinese_dictionary({terms!r}).tokenize('召开联席会议')], 'jieba' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "['召开', '联席会议'] False\n"


def test_lexicon_dictionary_file_reads_jiebas_word_table(jieba_tokenizer):
    # Every word and frequency jieba reads from dict.txt (its FREQ table without the prefixes it
    # adds at 0 and without the words added above), and the same total.
    from coder.lexicon import _jieba_dictionary

    dictionary_file = _jieba_dictionary()
    first_chars = {word[0] for word, frequency in jieba_tokenizer.FREQ.items() if frequency}
    ours = {word: frequency for char in first_chars for word, frequency in dictionary_file.entries(char)}
    theirs = {word: frequency for word, frequency in jieba_tokenizer.FREQ.items() if frequency}
    for term in _CODEBOOK_TERMS:
        theirs.pop(term)
        ours.pop(term, None)
    assert ours == theirs
    assert dictionary_file.total == jieba_tokenizer.total - sum(chinese_dictionary(_CODEBOOK_TERMS)._extra_frequency.values())


@pytest.mark.parametrize("terms", [("联席会议",)])
def test_lexicon_chinese_dictionary_loads_no_numpy(terms):
    # Every coding worker holds the dictionary: numpy alone would add ~10 MB to each.
    script = (
        "import sys; from coder.lexicon import chinese_dictionary; "
        f"print([w for w, _, _ in chinese_dictionary({terms!r}).tokenize('召开联席会议')], 'numpy' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "['召开', '联席会议'] False\n"


@pytest.mark.parametrize("word", ["cooperate", "meeting"])
def test_lexicon_release_lemma_tables_keeps_every_answer(word):
    from coder.lexicon import derived_forms, lemmas, release_lemma_tables, word_forms

    before = (word_forms(word), derived_forms(word), lemmas(word), english_words())
    release_lemma_tables()
    assert is_english_word(word)
    assert (word_forms(word), derived_forms(word), lemmas(word), english_words()) == before


# --- word forms: a lemma's forms found by bisect, against the whole inverted tables ---------------


def _whole_inverse() -> dict[str, set[str]]:
    """lemma -> surface forms of the lookup and exception tables, inverted whole (as word_forms()
    found them until 4 December 2026): the oracle."""
    from coder import lexicon

    inverse: dict[str, set[str]] = {}
    for form, lemma in lexicon._table("lemma_lookup").items():
        inverse.setdefault(lemma, set()).add(form)
    for by_form in lexicon._table("lemma_exc").values():
        for form, lemma_list in by_form.items():
            for lemma in lemma_list:
                inverse.setdefault(lemma, set()).add(form)
    return inverse


def _oracle_word_forms(word: str, inverse: dict[str, set[str]]) -> frozenset[str]:
    """word_forms() as it was written over the whole inverse."""
    from coder import lexicon

    word = word.lower()
    if not word.isalpha() or not word.isascii():
        return frozenset({word})
    targets = lexicon.lemmas(word)
    candidates = set(targets)
    for lemma in targets:
        candidates.update(inverse.get(lemma, ()))
        for pos in ("noun", "verb", "adj"):
            if pos == "adj" and lemma not in lexicon._table("lemma_index")["adj"]:
                continue
            for old, new in lexicon._table("lemma_rules").get(pos, []):
                if lemma.endswith(new):
                    candidates.add(lemma[: len(lemma) - len(new)] + old)
    return frozenset(form for form in candidates if form and not targets.isdisjoint(lexicon.lemmas(form)))


def _oracle_derived_words(word: str, inverse: dict[str, set[str]]) -> frozenset[str]:
    """derived_words() over the whole inverse."""
    from coder import lexicon

    word = word.lower()
    if not word.isalpha() or not word.isascii():
        return frozenset()
    stems = {word, *([word[:-1]] if word.endswith("e") else []), *([word[:-1] + "i"] if word.endswith("y") else [])}
    forms = _oracle_word_forms(word, inverse)
    return frozenset(candidate for stem in stems for suffix in lexicon.DERIVATIONAL_SUFFIXES
                     if (candidate := stem + suffix) != word and candidate in lexicon._known_words()
                     and candidate not in forms)


def _words_from_the_tables() -> list[str]:
    """~3,000 words: forms and lemmas of the lookup table, irregular forms and their lemmas, words of
    the rule index, words with apostrophes, hyphens or non-ASCII letters, capitals, and non-words."""
    from coder import lexicon

    lookup = lexicon._table("lemma_lookup")
    exceptions = [(form, lemma) for by_form in lexicon._table("lemma_exc").values()
                  for form, lemma_list in by_form.items() for lemma in lemma_list]
    index = sorted(word for words in lexicon._table("lemma_index").values() for word in words)
    words = [*list(lookup)[::41], *list(lookup.values())[::43], *[form for form, _ in exceptions][::13],
             *[lemma for _, lemma in exceptions][::17], *index[::211]]
    words += [word for word in lookup if "'" in word][:40] + [word for word in lookup if not word.isascii()]
    words += [word for word in lookup if word != word.lower()][::20]
    words += ["went", "better", "mice", "cooperate", "meeting", "meetinger", "gover", "zzzq", "governance", "co-operate"]
    return list(dict.fromkeys(words))


def test_lexicon_lemma_forms_equal_the_whole_inverse():
    # Every lemma of the tables, and words that are no lemma: the forms found by bisect are the
    # forms the whole inverse holds.
    from coder import lexicon

    inverse = _whole_inverse()
    lookup = lexicon._table("lemma_lookup")
    for lemma in [*inverse, *list(lookup)[::7], "gover", "zzzq", "", "A", "\u00e9t\u00e9"]:
        assert lexicon._lemma_forms(lemma) == frozenset(inverse.get(lemma, ())), lemma


def test_lexicon_word_forms_equal_the_whole_inverse():
    # word_forms() and derived_forms() made by bisect over the lookup table ordered by lemma, as they
    # were made from the whole inverted tables, for every kind of word the tables hold.
    from coder import lexicon

    lexicon.release_lemma_tables()
    inverse = _whole_inverse()
    words = _words_from_the_tables()
    assert len(words) > 2500
    for word in words:
        assert lexicon.word_forms(word) == _oracle_word_forms(word, inverse), word
    for word in words[::5]:
        derived = _oracle_derived_words(word, inverse)
        assert lexicon.derived_words(word) == derived, word
        assert lexicon.derived_forms(word) == _oracle_word_forms(word, inverse).union(
            *(_oracle_word_forms(other, inverse) for other in derived)), word
    lexicon.release_lemma_tables()


@pytest.mark.parametrize(("word", "expected"), [
    ("went", {"go", "goes", "going", "gone", "went"}),
    ("mice", {"mice", "mouse", "mouses"}),
    ("cooperation", {"cooperation", "cooperations"}),
])
def test_lexicon_word_forms_of_irregular_and_regular_words(word, expected):
    from coder import lexicon

    assert expected <= lexicon.word_forms(word)


def test_lexicon_release_lemma_tables_forgets_every_table_and_form():
    from coder import lexicon

    lexicon.word_forms("cooperation")
    lexicon.derived_forms("cooperate")
    lexicon.release_lemma_tables()
    cached = [name for name in dir(lexicon) if hasattr(getattr(lexicon, name), "cache_info")]
    kept = {"english_words", "chinese_dictionary", "_fold_table", "_fold_chars", "_jieba_dictionary", "common_hanzi"}
    assert {"_table", "_forms_by_lemma", "_exception_forms", "word_forms"} <= set(cached)
    assert {name for name in cached if getattr(lexicon, name).cache_info().currsize} <= kept



# --- tables over the Basic Multilingual Plane, made a block at a time --------------------------------


@pytest.mark.parametrize("first", [0x80, 0x300, 0xFF00, 0xFFFF])
def test_lexicon_bmp_blocks_hold_every_character_once(first):
    from coder.lexicon import _bmp_blocks

    blocks = list(_bmp_blocks(first))
    assert "".join(blocks) == "".join(map(chr, range(first, 0x10000)))
    assert all(len(block) == 256 for block in blocks[1:])


def test_lexicon_mark_chars_are_every_combining_mark():
    import re
    import unicodedata

    from coder.lexicon import MARK_CHARS

    expected = "".join(re.escape(chr(point)) for point in range(0x300, 0x10000)
                       if unicodedata.category(chr(point)).startswith("M"))
    assert MARK_CHARS == expected
    assert "\u0301" in MARK_CHARS and "\u0e31" in MARK_CHARS and "\u4e00" not in MARK_CHARS


def test_lexicon_fold_table_holds_every_one_character_case_fold():
    # Lowered and folded a block at a time, the table is the one made a character at a time.
    from coder.lexicon import _fold_table

    table = _fold_table()
    case_folds = {}
    for point in range(0x80, 0x10000):
        char = chr(point)
        lower, folded = char.lower(), char.casefold()
        if len(lower) == 1 and len(folded) == 1 and lower != folded:
            case_folds[point] = folded
    expected = {point: table[point] for point in _non_case_entries() if point in table}  # made before
    expected.update({point: folded for point, folded in case_folds.items() if point not in expected})
    assert table == expected
    assert table[ord("ς")] == "σ" and table[ord("ſ")] == "s" and table[ord("µ")] == "μ"


def _non_case_entries() -> set[int]:
    """The characters the fold table maps before its case folds (Han variants, CJK radicals, full-width
    ASCII, the ideographic space, apostrophes, İ): a case fold does not replace them."""
    from coder.lexicon import _RADICAL_FORMS, APOSTROPHES, _opencc_characters

    entries = {ord(char) for name in ("HKVariantsRev", "TWVariantsRev", "TSCharacters") for char in _opencc_characters(name)}
    entries |= set(range(0x2F00, 0x2FD6)) | {ord(char) for char in _RADICAL_FORMS}
    entries |= set(range(0xFF01, 0xFF5F)) | {0x3000, 0x130} | {ord(char) for char in APOSTROPHES[1:]}
    return entries


def test_lexicon_doctests():
    import doctest

    from coder import lexicon

    assert doctest.testmod(lexicon).failed == 0
