"""Word knowledge shared by the stages: English lemma tables, word forms, and the one CJK definition.

The English tables are spaCy's lookup and rule lemmatizer data (spacy-lookups-data), read
straight from the package's JSON once per process (0.15 s for the lookup table, against 1.5 s
through spacy.lookups). Passages ask whether a word is English; matching asks for every surface
form of a keyword word; both ask "is this CJK" through `CJK_CHARS`.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from functools import cache, lru_cache
from importlib.resources import files

__all__ = ["CJK_CHARS", "contains_cjk", "english_words", "is_cjk", "is_english_word", "lemmas", "lookup_lemma", "word_forms"]

# The one definition of "CJK" (a character written without spaces between words): CJK and
# Kangxi radicals, ideographic marks (々 〇 〡-〩 〸-〻), hiragana, katakana (and its phonetic
# extensions), bopomofo, Han ideographs with Extension A, the compatibility ideographs, and
# Extensions B-H with the compatibility supplement.
CJK_CHARS = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u3100-\u312f"
    "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
    "\U00030000-\U000323af"
)
_CJK = re.compile(f"[{CJK_CHARS}]")

_PARTS_OF_SPEECH = ("noun", "verb", "adj")


def is_cjk(char: str) -> bool:
    """True for one CJK character (Han, kana, bopomofo, radicals, ideographic marks).

    >>> is_cjk("合"), is_cjk("カ"), is_cjk("\U00020000"), is_cjk("a")
    (True, True, True, False)
    """
    return _CJK.match(char) is not None


def contains_cjk(text: str) -> bool:
    """True when `text` holds at least one CJK character."""
    return _CJK.search(text) is not None


@lru_cache(maxsize=None)
def _table(name: str) -> dict:
    """One of spaCy's English lemma tables: lemma_lookup, lemma_rules, lemma_index, lemma_exc."""
    resource = files("spacy_lookups_data") / "data" / f"en_{name}.json.gz"
    table = json.loads(gzip.decompress(resource.read_bytes()))
    if name == "lemma_index":
        return {pos: frozenset(words) for pos, words in table.items()}
    return table


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Words and lemmas of spaCy's English lemma lookup table, lowercased."""
    table = _table("lemma_lookup")
    return frozenset(word.lower() for word in table) | frozenset(lemma.lower() for lemma in table.values())


def is_english_word(word: str) -> bool:
    """True when `word` (any case) is in spaCy's English lemma lookup table.

    >>> is_english_word("Meetings"), is_english_word("gover")
    (True, False)
    """
    return word.lower() in english_words()


@cache
def lemmas(word: str) -> frozenset[str]:
    """Every lemma spaCy's English tables can give `word`, over nouns, verbs and adjectives.

    >>> sorted(lemmas("meetings"))
    ['meeting', 'meetings']
    """
    word = word.lower()
    found = {word}
    lookup = _table("lemma_lookup")
    if word in lookup:
        found.add(lookup[word])
    for pos in _PARTS_OF_SPEECH:
        found.update(_rule_lemmas(word, pos))
    return frozenset(found)


def _rule_lemmas(word: str, pos: str) -> list[str]:
    """spaCy's rule lemmatizer for one part of speech (spacy.lang.en.lemmatizer, without a tagger)."""
    index = _table("lemma_index").get(pos, {})
    exceptions = _table("lemma_exc").get(pos, {}).get(word, [])
    forms, oov_forms = [], []
    for old, new in _table("lemma_rules").get(pos, []):
        if word.endswith(old):
            form = word[: len(word) - len(old)] + new
            if not form:
                continue
            if form in index or not form.isalpha():
                forms.append(form)
            else:
                oov_forms.append(form)
    forms = list(exceptions) + [form for form in dict.fromkeys(forms) if form not in exceptions]
    return forms or oov_forms[:1] or [word]


@lru_cache(maxsize=1)
def _inverse_tables() -> dict[str, set[str]]:
    """lemma -> surface forms known to the lookup and exception tables."""
    inverse: dict[str, set[str]] = defaultdict(set)
    for form, lemma in _table("lemma_lookup").items():
        inverse[lemma].add(form)
    for by_form in _table("lemma_exc").values():
        for form, lemma_list in by_form.items():
            for lemma in lemma_list:
                inverse[lemma].add(form)
    return inverse


@cache
def word_forms(word: str) -> frozenset[str]:
    """All surface forms that share a lemma with `word` (lower case), including `word` itself.

    >>> {"cooperated", "cooperates", "cooperating"} <= word_forms("cooperate")
    True
    """
    word = word.lower()
    if not word.isalpha() or not word.isascii():
        return frozenset({word})
    targets = lemmas(word)
    candidates = set(targets)
    for lemma in targets:
        candidates.update(_inverse_tables().get(lemma, ()))
        for pos in _PARTS_OF_SPEECH:
            if pos == "adj" and lemma not in _table("lemma_index")["adj"]:
                continue  # "meetinger" is no word: comparatives only for known adjectives
            for old, new in _table("lemma_rules").get(pos, []):
                if lemma.endswith(new):
                    candidates.add(lemma[: len(lemma) - len(new)] + old)
    return frozenset(form for form in candidates if form and not targets.isdisjoint(lemmas(form)))


def lookup_lemma(word: str) -> str:
    """The one lemma spaCy's lookup lemmatizer gives `word` (lower case), else the word itself.

    For counting words by lemma without a tagger (`coder suggest`); matching uses `lemmas`.

    >>> lookup_lemma("Meetings"), lookup_lemma("governance")
    ('meeting', 'governance')
    """
    word = word.lower()
    return _table("lemma_lookup").get(word, word)
