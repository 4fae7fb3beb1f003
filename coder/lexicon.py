"""Word knowledge shared by the stages: English lemma tables, word forms, and the one CJK definition.

The English tables are spaCy's lookup and rule lemmatizer data (spacy-lookups-data), read
straight from the package's JSON once per process (0.15 s for the lookup table, against 1.5 s
through spacy.lookups). Passages ask whether a word is English; matching asks for every surface
form of a keyword word and for Chinese word boundaries (jieba's dictionary and segmentation);
both ask "is this CJK" through `CJK_CHARS`.
"""

from __future__ import annotations

import copy
import gzip
import importlib.util
import json
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from importlib.resources import files
from math import log
from pathlib import Path

from .imports import LazyPattern

__all__ = [
    "APOSTROPHES", "CJK_CHARS", "DERIVATIONAL_SUFFIXES", "MARK_CHARS", "ChineseDictionary", "chinese_dictionary",
    "compose_text", "contains_cjk", "derived_forms", "derived_words", "english_words", "fold_text", "is_cjk",
    "is_english_word", "is_mark", "is_whole_word", "lemmas", "lookup_lemma", "release_lemma_tables", "word_forms",
]

# The one definition of "CJK" (a character written without spaces between words): CJK and
# Kangxi radicals, ideographic marks (々 〇 〡-〩 〸-〻), hiragana, katakana (and its phonetic
# extensions), bopomofo, Han ideographs with Extension A, the compatibility ideographs, and
# Extensions B-H with the compatibility supplement.
CJK_CHARS = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u3100-\u312f"
    "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
    "\U00030000-\U000323af"
)
_CJK = LazyPattern(f"[{CJK_CHARS}]")  # 1-2 ms to compile: on first use

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


@cache
def _table(name: str) -> dict:
    """One of spaCy's English lemma tables: lemma_lookup, lemma_rules, lemma_index, lemma_exc."""
    resource = files("spacy_lookups_data") / "data" / f"en_{name}.json.gz"
    table = json.loads(gzip.decompress(resource.read_bytes()))
    if name == "lemma_index":
        return {pos: frozenset(words) for pos, words in table.items()}
    return table


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words spaCy's English tables know, lowercased: the lookup table's words and lemmas, and the
    uninflected nouns, verbs and adjectives of the rule lemmatizer's index ("governance", which the
    lookup table lacks) of five letters or more; its shorter ones are mostly letters and abbreviations
    ("d", "o", "th"), which would make the halves of a broken word ("D o") two words."""
    index = _table("lemma_index")
    return _lookup_words() | frozenset(
        word.lower() for pos in _PARTS_OF_SPEECH for word in index.get(pos, ()) if len(word) >= 5 and word.isalpha())


@lru_cache(maxsize=1)
def _lookup_words() -> frozenset[str]:
    """Words and lemmas of spaCy's English lemma lookup table, lowercased."""
    table = _table("lemma_lookup")
    return frozenset(word.lower() for word in table) | frozenset(lemma.lower() for lemma in table.values())


def is_english_word(word: str) -> bool:
    """True when `word` (any case) is a word of spaCy's English tables (english_words()).

    >>> is_english_word("Meetings"), is_english_word("governance"), is_english_word("gover")
    (True, True, False)
    """
    return word.lower() in english_words()


# The English words of two letters. The lemma tables' own two-letter entries are mostly
# abbreviations ("ed", "pl"): counted as words, they kept the halves of a cut word apart ("us ed").
_SHORT_WORDS = frozenset("am an as at be by do go he if in is it me my no of on or so to up us we".split())
# The function words of spaCy's English stop list that its lemma tables, of words that inflect, lack,
# written out: the list also holds tokenizer pieces ("re", "ca", "n't"), which are no words.
_FUNCTION_WORDS = frozenset("""
    across afterwards again against all almost along already although always among amongst any anyhow
    anyone anything anyway anywhere around before below beside besides between beyond both cannot during
    each either else elsewhere ever everyone everything everywhere for formerly from hence her here
    hereby herein hereupon hers herself him his however indeed into its itself latterly many moreover
    mostly myself namely never nevertheless next none nor now off once only onto our ours ourselves over
    per perhaps quite rather really same she should since some somehow something sometimes such than the
    their themselves then thence thereafter thereby therefore therein thereupon they though throughout
    thus too toward towards unless upon very via what when whence whenever whereafter whereas whereby
    wherein whereupon wherever whether which whither who whoever whom whose with within without yet your
    yours
""".split())


def is_whole_word(word: str) -> bool:
    """Does `word` (any case) stand alone in English text: a word of two letters that is one ("in",
    "us", not "ed"), a function word ("the", "over"), or another word of english_words(), letters as it
    has them (most letters: a passage's "no\\nt" stays "no t", as it was)?

    >>> is_whole_word("over"), is_whole_word("The"), is_whole_word("ed"), is_whole_word("government")
    (True, True, False, True)
    """
    word = word.lower()
    if len(word) == 2:
        return word in _SHORT_WORDS
    return word in _FUNCTION_WORDS or word in english_words()


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


def _lemma_forms(lemma: str) -> frozenset[str]:
    """The surface forms the lookup and exception tables give `lemma`."""
    forms, their_lemmas = _forms_by_lemma()
    start = bisect_left(their_lemmas, lemma)
    end = bisect_right(their_lemmas, lemma, lo=start)
    return frozenset(forms[start:end]).union(_exception_forms().get(lemma, ()))


@lru_cache(maxsize=1)
def _forms_by_lemma() -> tuple[list[str], list[str]]:
    """The lookup table's forms ordered by their lemmas, and those lemmas, for bisect: 4 ms (the table
    is nearly in that order already, which Timsort finds) where a dict of every lemma's forms takes 11."""
    table = _table("lemma_lookup")
    forms = sorted(table, key=table.__getitem__)
    return forms, list(map(table.__getitem__, forms))


@lru_cache(maxsize=1)
def _exception_forms() -> dict[str, set[str]]:
    """lemma -> surface forms, over the exception tables (6,000 forms)."""
    inverse: dict[str, set[str]] = defaultdict(set)
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
        candidates.update(_lemma_forms(lemma))
        for pos in _PARTS_OF_SPEECH:
            if pos == "adj" and lemma not in _table("lemma_index")["adj"]:
                continue  # "meetinger" is no word: comparatives only for known adjectives
            for old, new in _table("lemma_rules").get(pos, []):
                if lemma.endswith(new):
                    candidates.add(lemma[: len(lemma) - len(new)] + old)
    return frozenset(form for form in candidates if form and not targets.isdisjoint(lemmas(form)))


# British and American spellings: each ending, found, and the other spelling's ending, both ways (organise and
# organize, labour and labor, centre and center, defence and defense, dialogue and dialog, travelled and
# traveled, programme and program). A spelling counts only when spaCy's table knows it as an English word, so
# "tour" gives no "tor", nor "filled" "filed".
_SUFFIXES = "(e|es|ed|ing|ation|ations|er|ers)"
_OUR_SUFFIXES = "(s|ed|ing|able|ably|ite|ites|er|ers|less|ful)?"
_SPELLINGS = tuple((re.compile(pattern), replacement) for pattern, replacement in (
    (rf"(?<=[a-z]{{3}})is{_SUFFIXES}$", r"iz\1"), (rf"(?<=[a-z]{{3}})iz{_SUFFIXES}$", r"is\1"),
    (r"ys(e|es|ed|ing)$", r"yz\1"), (r"yz(e|es|ed|ing)$", r"ys\1"),
    (rf"(?<=[a-z]{{3}})our{_OUR_SUFFIXES}$", r"or\1"), (rf"(?<=[a-z]{{3}})or{_OUR_SUFFIXES}$", r"our\1"),
    (r"tre(s)?$", r"ter\1"), (r"ter(s)?$", r"tre\1"),
    (r"ence(s)?$", r"ense\1"), (r"ense(s)?$", r"ence\1"),
    (r"ogue(s)?$", r"og\1"), (r"og(s)?$", r"ogue\1"),
    (r"(?<=[aeiou])ll(ed|ing|er|ers)$", r"l\1"), (r"(?<=[aeiou])l(ed|ing|er|ers)$", r"ll\1"),
    (r"mme(s)?$", r"m\1"), (r"(?<=[a-z]{3})m(s)?$", r"mme\1"),
))


@cache
def spelling_variants(word: str) -> frozenset[str]:
    """`word` (lower case) in the other of British and American spelling, when spaCy's English table
    knows that spelling (none for most words).

    >>> sorted(spelling_variants("organisation")), sorted(spelling_variants("labor")), sorted(spelling_variants("tour"))
    (['organization'], ['labour'], [])
    """
    word = word.lower()
    if not word.isalpha() or not word.isascii() or len(word) < 4:
        return frozenset()
    known = _lookup_words()
    variants = set()
    for pattern, replacement in _SPELLINGS:
        if pattern.search(word):
            variant = pattern.sub(replacement, word)
            if variant != word and variant in known and _single_l_word(word, variant, known):
                variants.add(variant)
    return frozenset(variants)


@cache
def prefix_spelling_variants(prefix: str) -> frozenset[str]:
    """The other spelling, British or American, of each English word `prefix` (lower case) begins,
    where that spelling does not begin with `prefix`: the same words a wildcard `prefix*` misses.

    >>> sorted(prefix_spelling_variants("organiz"))[:3], sorted(prefix_spelling_variants("organ"))
    (['organisation', 'organisations', 'organise'], [])
    """
    if len(prefix) < 4 or not prefix.isalpha() or not prefix.isascii():
        return frozenset()  # every spelling rule changes a word after its third letter
    words = _sorted_english_words()
    begun = words[bisect_left(words, prefix):bisect_left(words, prefix + "\uffff")]
    return frozenset(variant for word in begun for variant in spelling_variants(word)
                     if not variant.startswith(prefix))


@lru_cache(maxsize=1)
def _sorted_english_words() -> tuple[str, ...]:
    return tuple(sorted(english_words()))


def _single_l_word(word: str, variant: str, known: frozenset[str]) -> bool:
    """For travelled/traveled (and no other pair): the single-l spelling's word ("travel") is a word of
    four letters or more, so that "filled" gives no "filed" nor "polling" "poling"."""
    if word.replace("ll", "l") != variant and variant.replace("ll", "l") != word:
        return True
    single = min(word, variant, key=len)
    found = re.match(r"(.*[aeiou]l)(?:ed|ing|er|ers)$", single)
    return found is not None and len(found.group(1)) >= 4 and found.group(1) in known


def is_known_noun(word: str) -> bool:
    """Is `word` (lower case) a noun of spaCy's lookup tables ("meeting", "funding"; not "coordinating")?"""
    return word in _table("lemma_index")["noun"]


def lookup_lemma(word: str) -> str:
    """The one lemma spaCy's lookup lemmatizer gives `word` (lower case), else the word itself.

    For counting words by lemma without a tagger (`coder suggest`); matching uses `lemmas`.

    >>> lookup_lemma("Meetings"), lookup_lemma("governance")
    ('meeting', 'governance')
    """
    word = word.lower()
    return _table("lemma_lookup").get(word, word)


def release_lemma_tables() -> None:
    """Forget the lemma tables and every word form made from them, keeping english_words().

    Compiling a codebook needs them (~40 MB), coding passages does not: a coding worker drops them
    once its codebook is compiled; a later compile reads them again.
    """
    if _table.cache_info().currsize:
        english_words()  # passages ask it: made while its table is here
    for cached in (_table, _lookup_words, _forms_by_lemma, _exception_forms, _known_words, lemmas, word_forms, derived_words,
                   derived_forms, spelling_variants, prefix_spelling_variants, _sorted_english_words):
        cached.cache_clear()


# --- derivation (opt-in: `~word` or `morphology: derivational`) -----------------------------------

# Suffixes tried on a keyword word (and on its stem without a final "e" or with "y" as "i"); a
# candidate counts only when the English word lists know it, so "meeting" + "-ity" makes nothing.
DERIVATIONAL_SUFFIXES = (
    "ion", "ation", "ive", "ative", "ed", "ing", "al", "ity", "ment", "ness", "ance", "ence", "er", "or",
)


@lru_cache(maxsize=1)
def _known_words() -> frozenset[str]:
    """english_words() plus every uninflected word of the rule lemmatizer's index, short ones too."""
    index = _table("lemma_index")
    return english_words() | frozenset(word.lower() for pos in _PARTS_OF_SPEECH for word in index.get(pos, ()))


@cache
def derived_words(word: str) -> frozenset[str]:
    """The real English words one suffix of DERIVATIONAL_SUFFIXES makes from `word` (lower case).

    >>> sorted(derived_words("cooperate"))
    ['cooperation', 'cooperative', 'cooperator']
    """
    word = word.lower()
    if not word.isalpha() or not word.isascii():
        return frozenset()
    stems = {word}
    if word.endswith("e"):
        stems.add(word[:-1])
    if word.endswith("y"):
        stems.add(word[:-1] + "i")
    known = _known_words()
    return frozenset(
        candidate for stem in stems for suffix in DERIVATIONAL_SUFFIXES
        if (candidate := stem + suffix) != word and candidate in known and candidate not in word_forms(word)
    )


@cache
def derived_forms(word: str) -> frozenset[str]:
    """word_forms() of `word` and of every word derived_words() makes from it.

    >>> {"cooperation", "cooperations", "cooperative", "cooperating"} <= derived_forms("cooperate")
    True
    """
    forms = set(word_forms(word))
    for derived in derived_words(word):
        forms |= word_forms(derived)
    return frozenset(forms)


# --- folding: one spelling for comparison, the same length as the text -----------------------------


def _bmp_blocks(first: int) -> Iterator[str]:
    """The characters from `first` to U+FFFF in blocks of 256 (one per high byte; the first block
    from `first` on), each decoded from one UTF-32 template: 0.6 ms, where chr() 65,000 times takes 3."""
    template = bytearray(array("I", range(256)).tobytes())
    for high in range(first >> 8, 0x100):
        template[1::4] = bytes((high,)) * 256
        block = template.decode("utf-32-le", "surrogatepass")
        yield block[first & 0xFF:] if high == first >> 8 else block


# Combining marks (categories Mn, Mc, Me) of the Basic Multilingual Plane: Arabic vowel marks,
# Devanagari vowel signs and virama, Thai vowels above and below. They belong to the word of the
# letter they follow, so matching treats them as word characters. A block of letters only (isalpha():
# categories L*) holds no mark: 160 of the 253 blocks (Han, Hangul, Yi) are passed over, and the
# import takes 3 ms instead of 8.
MARK_CHARS = "".join(
    re.escape(char) for block in _bmp_blocks(0x300) if not block.isalpha()
    for char in block if unicodedata.category(char).startswith("M")
)
_MARK = LazyPattern(f"[{MARK_CHARS}]")
APOSTROPHES = "'\u2019\u2018\u02bc"


def _opencc_characters(name: str) -> dict[str, str]:
    """One character-to-character table of OpenCC's dictionaries (opencc-python-reimplemented)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / f"{name}.txt"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and source != target:
            table[source] = target
    return table


# CJK Radicals Supplement forms that stand for whole ideographs (no compatibility mapping).
_RADICAL_FORMS = "⻓⻔⻢⻋⻅⻉⻜⻛⻩⻄⻘⻬⻰⻨⻮⻤⻚⻝⻟⻳⺠⺟⻆⻗⻙⻡⻥⻦⻧"
_RADICAL_IDEOGRAPHS = "长门马车见贝飞风黄西青齐龙麦齿鬼页食食龟民母角雨韦首鱼鸟卤"


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Character -> one character: traditional Han to simplified (Taiwan and Hong Kong variants
    first to OpenCC's standard form), CJK radicals to the ideographs they stand for, full-width ASCII to ASCII, typographic apostrophes to ',
    dotted capital I to i, and the case folds that keep one character (ς -> σ, ſ -> s)."""
    table: dict[str, str] = {}
    variants = {**_opencc_characters("HKVariantsRev"), **_opencc_characters("TWVariantsRev")}
    simplified = _opencc_characters("TSCharacters")
    for char in {*variants, *simplified}:
        target = simplified.get(variants.get(char, char), variants.get(char, char))
        if target != char:
            table[char] = target
    # Radicals that Chinese PDFs give for the ideographs they look like (⾏政 for 行政, ⻓三角): the
    # Kangxi radicals by their compatibility mapping, the supplement's simplified forms by name.
    radicals = {char: unicodedata.normalize("NFKC", char) for char in map(chr, range(0x2F00, 0x2FD6))}
    radicals.update(zip(_RADICAL_FORMS, _RADICAL_IDEOGRAPHS))
    for char, ideograph in radicals.items():
        table[char] = simplified.get(variants.get(ideograph, ideograph), variants.get(ideograph, ideograph))
    for point in range(0xFF01, 0xFF5F):  # ！ to ～: the full-width forms of ASCII ! to ~
        table[chr(point)] = chr(point - 0xFEE0)
    table["\u3000"] = " "  # ideographic space
    for apostrophe in APOSTROPHES[1:]:
        table[apostrophe] = "'"
    table["\u0130"] = "i"  # İ lower-cases to i + combining dot: two characters
    for block in _bmp_blocks(0x80):
        lower = block.lower()
        # Lowered and folded whole (C loops): when both keep the length and agree, every character
        # lowers and folds to the same one character (Σ, lowered by its context, differs as ς).
        # 10 blocks of 256 differ: 1 ms in all, against 8 ms for every character apart.
        if len(lower) == len(block) and lower == block.casefold():
            continue
        for char in block:
            lower, folded = char.lower(), char.casefold()
            if len(lower) == 1 and len(folded) == 1 and lower != folded and char not in table:
                table[char] = folded
    return {ord(char): target for char, target in table.items()}


@lru_cache(maxsize=1)
def _fold_chars() -> frozenset[str]:
    return frozenset(chr(point) for point in _fold_table())


def fold_text(text: str, *, separator: str | None = None) -> str:
    """`text` as matching compares it: lower case and folded (see _fold_table), character for
    character, so an offset into the result is an offset into `text`. With `separator` (a character
    that is no letter), `text` is pieces joined by it, each folded as it would be on its own.

    >>> fold_text("ＣＯ２ İstanbul’s 臺灣 議會")
    "co2 istanbul's 台湾 议会"
    """
    if text.isascii():
        return text.lower()
    present = _fold_chars().intersection(_non_ascii_chars(text))
    if present:
        table = _fold_table()
        if any(ord(table[ord(char)]) in table for char in present):
            text = text.translate(table)  # a target is folded too: translate() folds each character once
        else:
            for char in present:  # a few characters, each replaced in one pass (translate() goes char by char)
                text = text.replace(char, table[ord(char)])
    lower = text.lower()
    if len(lower) != len(text):  # a character that lower-cases to two: keep it as it is
        if separator is not None:
            return separator.join(fold_text(piece) for piece in text.split(separator))
        lower = "".join(char.lower() if len(char.lower()) == 1 else char for char in text)
    return lower


_ASCII_BYTES = bytes(range(128))


def _non_ascii_chars(text: str) -> set[str]:
    """The distinct characters of `text` above U+007F (through bytes: C loops, not a regex's)."""
    encoded = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(encoded.decode("utf-8", "surrogatepass"))


def compose_text(text: str) -> tuple[str, list[int] | None]:
    """`text` in Unicode NFC, and for each of its characters (plus the end) the offset in `text`
    it came from; None when `text` is already NFC (the usual case).

    >>> compose_text("Co\u0302te")
    ('Côte', [0, 1, 3, 4, 5])
    """
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text, None
    pieces: list[str] = []
    positions: list[int] = []
    start = 0
    for index in range(1, len(text) + 1):
        # A cluster is a character and the combining characters after it; NFC composes within it.
        if index < len(text) and unicodedata.combining(text[index]):
            continue
        composed = unicodedata.normalize("NFC", text[start:index])
        pieces.append(composed)
        positions.extend([start] * len(composed))
        start = index
    positions.append(len(text))
    return "".join(pieces), positions


def is_mark(char: str) -> bool:
    """True for a combining mark, which is part of the word of the letter before it."""
    return _MARK.match(char) is not None


# --- Chinese words: jieba's dictionary, read as needed, and its segmentation ----------------------

# jieba's own patterns (jieba/__init__.py, 0.42.1): the blocks it segments, the separators it keeps,
# and the single letters and digits it joins into one word.
_JIEBA_BLOCK = LazyPattern("([\u4E00-\u9FD5a-zA-Z0-9+#&\\._%\\-]+)")
_JIEBA_SKIP = re.compile("(\r\n|\\s)")
_JIEBA_ENGLISH = re.compile("[a-zA-Z0-9]")


# A run of consecutive lines of dict.txt that begin with one character (group 1, its UTF-8 bytes).
# jieba's file is nearly grouped by first character already: 11,783 runs for 11,772 characters.
_DICTIONARY_RUN = re.compile(rb"^([\x00-\x7f]|[\xc0-\xff][\x80-\xbf]*)[^\n]*\n(?:\1[^\n]*\n)*", re.MULTILINE)
_DICTIONARY_FREQUENCY = re.compile(rb"^[^ \n]* ([^ \n]*)", re.MULTILINE)  # a line's second field


class _DictionaryFile:
    """jieba's dict.txt ("word frequency tag" lines, UTF-8) as its bytes plus, for each first
    character, the spans of the runs of lines that begin with it (file order kept), and the sum of
    its frequencies. No Python object per line and no numpy: ~5 MB per process (an index of
    numpy arrays over the lines held ~30 MB more in every coding worker)."""

    def __init__(self, path: Path):
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            data += b"\n"
        self._data = data
        self._runs: dict[bytes, list[tuple[int, int]]] = {}
        for run in _DICTIONARY_RUN.finditer(data):
            self._runs.setdefault(run.group(1), []).append(run.span())
        self.total = sum(map(int, _DICTIONARY_FREQUENCY.findall(data)))

    def entries(self, char: str) -> Iterable[tuple[str, int]]:
        """(word, frequency) of every line whose word begins with `char`, in the order of the file
        (a word on two lines comes twice: jieba keeps the frequency it reads last)."""
        data = self._data
        spans = self._runs.get(char.encode("utf-8", "surrogatepass"), ())
        lines = b"".join(data[start:end] for start, end in spans).decode().split("\n")[:-1]
        fields = " ".join(lines).split(" ")
        if len(fields) == 3 * len(lines):
            words, frequencies = fields[0::3], fields[1::3]
        else:
            pairs = [line.split(" ")[:2] for line in lines]
            words, frequencies = [word for word, _ in pairs], [frequency for _, frequency in pairs]
        return zip(words, map(int, frequencies))


@lru_cache(maxsize=1)
def _jieba_dictionary() -> _DictionaryFile:
    # jieba is not imported: its import loads its HMM tables (0.3 s) and its dictionary loader
    # unmarshals a cache file from the shared temporary folder; the word list is all we need.
    spec = importlib.util.find_spec("jieba")
    folder = Path(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr]
    return _DictionaryFile(folder / "dict.txt")


COMMON_HANZI_COUNT = 4000


@lru_cache(maxsize=1)
def common_hanzi() -> frozenset[str]:
    """The 4,000 ideographs written most often in (simplified) Chinese, by their share of the frequencies of
    jieba's words (的 first). A traditional character is common when `fold_text` makes it one."""
    import numpy as np

    pairs = re.findall(r"^(\S+) (\d+)", _jieba_dictionary()._data.decode(), re.MULTILINE)  # "word frequency tag"
    words, frequencies = [word for word, _ in pairs], np.array([frequency for _, frequency in pairs], dtype=np.int64)
    points = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
    weights = np.bincount(points, np.repeat(frequencies, [len(word) for word in words]).astype(float))
    ideographs = np.flatnonzero(weights)
    ideographs = ideographs[((ideographs >= 0x3400) & (ideographs <= 0x9FFF)) | ((ideographs >= 0xF900) & (ideographs <= 0xFAFF))]
    ranked = ideographs[np.argsort(-weights[ideographs], kind="stable")]
    return frozenset(map(chr, ranked[:COMMON_HANZI_COUNT].tolist()))


_REMEMBERED_CHARS = 512  # boundaries() remembers texts up to this long ...
_REMEMBERED_CLAUSES = 4096  # ... this many of them, the oldest forgotten first (a few MB at most)


class ChineseDictionary:
    """jieba's dictionary plus extra words (a codebook's Chinese terms), segmenting text exactly as
    `jieba.Tokenizer` with those words added (`add_word(word, freq=frequency)`) and `HMM=False`.

    A `jieba.Tokenizer` builds a table of its 350,000 words and all their prefixes before the first
    segmentation (1-2 s); this one reads the words that begin with a character when it first meets
    that character, so its cost follows the text's characters, not the dictionary.

    >>> [word for word, _, _ in chinese_dictionary(("联席会议",)).tokenize("召开联席会议")]
    ['召开', '联席会议']
    """

    def __init__(self, words: Iterable[str], *, frequency: int | None = None):
        self._file = _jieba_dictionary()
        self._extra: dict[str, list[str]] = defaultdict(list)
        self._frequencies: dict[str, int] = {}  # word -> frequency; each prefix of a word -> 0 unless a word
        self._loaded: set[str] = set()
        self._weights: dict[str, float] = {}
        self._boundaries: dict[str, list[int]] = {}  # text -> boundaries(text), for recurring short clauses
        self._hidden: dict[str, int] = {}  # extra words read at their own frequency in jieba's dictionary (`without`)
        extra = [word for word in dict.fromkeys(words) if word]
        self._log_total = log(self._file.total)
        # Each extra word's frequency: `frequency`, or what jieba's add_word(word) gives it (its own
        # frequency in the dictionary, else just enough to be kept whole against its own parts), so
        # that a codebook term is a word where the text reads so, and never outweighs the words
        # around it ("我们党建立" stays 我们/党/建立 with the term 党建, where a frequency of 10**7 cut 党建/立).
        self._extra_frequency = {word: frequency if frequency is not None else self._own_frequency(word) for word in extra}
        for word in extra:
            self._extra[word[0]].append(word)
        # jieba's add_word adds each word's frequency to the total, also for a word it already knew
        self._log_total = log(self._file.total + sum(self._extra_frequency.values()))
        self._frequencies, self._loaded, self._weights, self._boundaries = {}, set(), {}, {}  # read without the extra words

    def without(self, words: Iterable[str]) -> ChineseDictionary:
        """This dictionary segmenting as if `words` (some of its extra words) had never been added, sharing
        its word table: each is read at its frequency in jieba's dictionary (0: no word), the total as
        jieba's add_word leaves it without them."""
        reduced = copy.copy(self)
        reduced._hidden = {word: dict(self._file.entries(word[0])).get(word, 0)
                           for word in dict.fromkeys(words) if word in self._extra_frequency}
        kept = sum(frequency for word, frequency in self._extra_frequency.items() if word not in reduced._hidden)
        reduced._log_total = log(self._file.total + kept)
        reduced._weights, reduced._boundaries = {}, {}
        return reduced

    def frequencies(self, text: str) -> dict[str, int]:
        """The word table, complete for every word that begins with a character of `text`."""
        if self._loaded.issuperset(text):  # the usual case once a few runs are read: no set built
            return self._frequencies
        missing = set(text).difference(self._loaded)
        if missing:
            table = self._frequencies
            for char in missing:
                # The words first, then each prefix that is no word (jieba's table holds both).
                words = dict(self._file.entries(char))
                table.update(words)
                for prefix in {word[:end] for word in words for end in range(1, len(word))}.difference(words):
                    table.setdefault(prefix, 0)
                for word in self._extra.get(char, ()):
                    table[word] = self._extra_frequency[word]
                    for end in range(1, len(word)):
                        table.setdefault(word[:end], 0)
                self._loaded.add(char)
        return self._frequencies

    def _own_frequency(self, word: str) -> int:
        """jieba's suggest_freq(word, tune=False) before any extra word is added: the product of its parts'
        probabilities (as the dictionary cuts it) times the total, plus one, or the word's own
        frequency in the dictionary when that is more."""
        table = self.frequencies(word)
        total = self._file.total
        probability = 1.0
        for piece in self._cut(word):
            probability *= (table.get(piece) or 1) / total
        return max(int(probability * total) + 1, table.get(word) or 1)

    def tokenize(self, text: str, HMM: bool = False) -> Iterator[tuple[str, int, int]]:  # noqa: N803 (jieba's name)
        """(word, start, end) of each word of `text`, as `jieba.Tokenizer.tokenize(text, HMM=False)`."""
        if HMM:
            raise ValueError("ChineseDictionary segments without jieba's hidden Markov model (HMM=False)")
        start = 0
        for word in self._cut(text):
            yield word, start, start + len(word)
            start += len(word)

    def boundaries(self, text: str) -> list[int]:
        """The offsets in `text` where a word ends (as tokenize() cuts it), after 0."""
        ends = self._boundaries.get(text)
        if ends is None:
            ends = [0]
            end = 0
            for word in self._cut(text):
                end += len(word)
                ends.append(end)
            # Clauses recur (headers, boilerplate, quoted titles): short ones are remembered.
            if len(text) <= _REMEMBERED_CHARS:
                if len(self._boundaries) >= _REMEMBERED_CLAUSES:
                    del self._boundaries[next(iter(self._boundaries))]
                self._boundaries[text] = ends
        return list(ends)

    def _cut(self, text: str) -> Iterator[str]:
        # jieba.Tokenizer.cut(text, cut_all=False, HMM=False)
        for block in _JIEBA_BLOCK.split(text):
            if not block:
                continue
            if _JIEBA_BLOCK.match(block):
                yield from self._cut_block(block)
            else:
                for piece in _JIEBA_SKIP.split(block):
                    if _JIEBA_SKIP.match(piece):
                        yield piece
                    else:
                        yield from piece

    def _cut_block(self, block: str) -> Iterator[str]:
        # jieba's get_DAG, calc and __cut_DAG_NO_HMM; every score is computed as jieba computes it
        # (log(freq or 1) - logtotal + the rest of the route), so ties break the same way.
        table = self.frequencies(block)
        weights = self._weights
        log_total = self._log_total
        hidden = self._hidden
        length = len(block)
        best: list[tuple[float, int]] = [(0, 0)] * (length + 1)
        for start in range(length - 1, -1, -1):
            choice: tuple[float, int] | None = None
            end = start + 1
            fragment = block[start]
            found = False
            while fragment in table:
                frequency = hidden.get(fragment, table[fragment]) if hidden else table[fragment]
                if frequency:
                    found = True
                    weight = weights.get(fragment)
                    if weight is None:
                        weight = weights[fragment] = log(frequency) - log_total
                    candidate = (weight + best[end][0], end - 1)
                    if choice is None or candidate > choice:
                        choice = candidate
                if end >= length:
                    break
                end += 1
                fragment = block[start:end]
            if not found:
                choice = (log(1) - log_total + best[start + 1][0], start)
            best[start] = choice  # type: ignore[assignment]
        position = 0
        letters = ""
        while position < length:
            stop = best[position][1] + 1
            word = block[position:stop]
            if len(word) == 1 and _JIEBA_ENGLISH.match(word):
                letters += word
            else:
                if letters:
                    yield letters
                    letters = ""
                yield word
            position = stop
        if letters:
            yield letters


@lru_cache(maxsize=8)
def chinese_dictionary(words: tuple[str, ...]) -> ChineseDictionary:
    """The ChineseDictionary with `words` added, built once per set of words."""
    return ChineseDictionary(words)
