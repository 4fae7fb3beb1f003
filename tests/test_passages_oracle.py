"""The splitter against its own earlier version (tests/passages_c077bbf.py): the same passages,
offsets, views, texts, kinds and plain-text flags on real and generated texts, for every unit.
A faster splitter that diverges anywhere fails here."""

import random
from pathlib import Path

import passages_c077bbf as before
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.corpus import read_document
from coder.models import UNITS, Document
from coder.passages import _readable, sentence_boundaries, split_passages_noting_plain_text

ROOT = Path(__file__).resolve().parent.parent
TEXTS = sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "benchmarks" / "devset" / "texts").glob("*.txt"))
# The benchmark corpora, when they were built here (benchmarks/.data is never committed).
BENCHMARK_CORPUS = ROOT / "benchmarks" / ".data" / "corpus_5mb"


def _assert_same(text: str, *, units=UNITS, max_chars=(1200, 300, 40)) -> None:
    document = Document("doc.txt", text)
    for unit in units:
        for limit in max_chars if unit == "paragraph" else (1200,):
            expected = before.split_passages_noting_plain_text(document, unit=unit, max_chars=limit)
            assert split_passages_noting_plain_text(document, unit=unit, max_chars=limit) == expected, (unit, limit)


def _variants(text: str) -> list[str]:
    """The text as it is and as other sources would give it: CRLF, form feeds between pages, a table."""
    lines = text.split("\n")
    return [
        text,
        text.replace("\n", "\r\n"),
        "\n\x0c".join(text.split("\n\n")),
        "\n".join(f"| {line} |" if number % 7 == 3 else line for number, line in enumerate(lines)),
        text.replace(" ", "  ").replace("\n\n", "\n \n"),
    ]


@pytest.mark.parametrize("path", TEXTS, ids=lambda path: path.name)
def test_passages_oracle_real_texts(path):
    for text in _variants(read_document(path).text):
        _assert_same(text)


@pytest.mark.skipif(not BENCHMARK_CORPUS.is_dir(), reason="the benchmark corpus is built by benchmarks/bench_coding.py")
@pytest.mark.parametrize("sample", [0])
def test_passages_oracle_benchmark_corpus(sample):
    paths = sorted(BENCHMARK_CORPUS.glob("*.txt"))
    for path in random.Random(sample).sample(paths, min(120, len(paths))):
        _assert_same(read_document(path).text, units=("paragraph",), max_chars=(1200,))


# Pieces of the inputs the splitter meets: PDF line ends and hyphenation, CRLF, form feeds,
# tables, page numbers, labels and headings, Chinese, right-to-left text, combining marks,
# wide and odd spaces, abbreviations and sentence ends.
_PIECES = [
    "word", "Word", "the", "model", "gover-", "nance", "cross-", "regional", "tri", "ggered", "a", "round",
    "over", "all", "us", "ed",
    " ", "  ", "\t", "\u00a0", "\u3000", "\u2009", "\u200b", "\r", "\r\n", "\x0c", "\x1c", "\x85", "\u2028",
    "\n", "\n", "\n", "\n\n", "\n \n", "\n\n\n", " \n", "-\n", "\n12\n", "\n- 3 -\n", "Page 4", "\n第3页\n", "\n[1]①\n",
    "| ", " |", "|", "|---|---|", "\n| a | b |\n",
    ".", ". ", "!", "?", "。", "！", "？", "……", "…", "，", ";", "；", "、", ":", "“", "”", "\"", ")", "）",
    "e.g.", "U.S.", "Dr.", "et al.", "2.1.3", "3.5%", "2020.", "1. Introduction", "IV. Results", "（一）", "一、", "第一章",
    "Abstract:", "Keywords:", "摘要：", "关键词：", "DOI: 10.1/x", "References", "参考文献", "[1] Li, X. A paper title. 2020.",
    "By Jane Doe", "Jane Doe, John Smith", "University of Somewhere", "北京大学", "张三", "李四 王五",
    "治理", "区域", "党建", "联盟", "合作", "מִשְׁפָּט", "العربية", "e\u0301", "\u0301", "ﬁ", "İ", "ſ", "\u212a",
    "Ｗｏｒｄ", "ｗｏｒｄ", "x" * 90, "很" * 50,
    "Funding:", "基金项目：", "Disclosure statement", "No potential conflict of interest was reported by the",
    "To cite this article: A. Author (2013) Title:", "15BJL038",
    "Conflicts of interest", "Funding sources", "There is no conflict of interest", "附件：", "Annex 1.", "作者简介：",
    "Not applicable.", "(Grant No. 71874032)", "Supported by the", "注释：", "Endnotes", "Table 1.", "表1",
]


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=80))
def test_passages_oracle_generated_pieces(pieces):
    _assert_same("".join(pieces), units=("paragraph", "document"))


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=40))
def test_passages_oracle_generated_pieces_sentence_unit(pieces):
    _assert_same("".join(pieces), units=("sentence",))


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.lists(st.sampled_from(_PIECES[:60] + [" ", " ", "word", "Word"]), max_size=12).map("".join),
                      min_size=5, max_size=40),
       gap=st.sampled_from(["\n", "\n\n", "\n \n", "\n\n\n"]))
def test_passages_oracle_generated_lines(lines, gap):
    # Many lines with one kind of gap between them: double-spaced pastes, front matter, long paragraphs.
    _assert_same(gap.join(lines), units=("paragraph",))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300))
def test_passages_oracle_any_text(text):
    _assert_same(text, units=("paragraph", "document"))


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(list(" \n\t\r\x0c\u00a0\u3000-|.。aZ中e\u0301") + ["12", "\n\n"]), max_size=120).map("".join))
def test_passages_oracle_whitespace_and_breaks(text):
    _assert_same(text, units=("paragraph",), max_chars=(1200, 7))
    assert _readable(text) == before._readable(text)
    assert sentence_boundaries(text) == before.sentence_boundaries(text)


@pytest.mark.parametrize("text", ["First line\nsame paragraph.\n\nSecond.", "gover-\nnance\n\n治理\n区域"])
def test_passages_are_the_dataclass_as_its_init_makes_it(text):
    # The splitter sets a Passage's fields in its __dict__ (no __init__ call per passage): the same
    # fields in the same order (pickles alike), and nothing the class would do on construction skipped.
    from dataclasses import fields

    from coder.models import Passage

    assert not hasattr(Passage, "__post_init__")
    for passage in split_passages_noting_plain_text(Document("doc.txt", text))[0]:
        made = Passage(**{field.name: getattr(passage, field.name) for field in fields(Passage)})
        assert list(vars(passage).items()) == list(vars(made).items())
        assert passage == made and hash(passage) == hash(made)


@settings(max_examples=500, deadline=None)
@given(text=st.lists(st.sampled_from([" ", "  ", "   ", "a", "bc", "\u00a0", "\t", "\n", "治", "e\u0301", "\u200b"]),
                     max_size=40).map("".join))
def test_passages_collapsed_is_split_and_join(text):
    from coder.passages import _collapsed, _collapsed_spaces

    assert _collapsed(text) == " ".join(text.split())
    if text.isprintable() and text == text.strip():
        assert _collapsed_spaces(text) == " ".join(text.split())


@pytest.mark.parametrize("remembered", [50])
def test_passages_special_lines_past_the_remembered_first_characters(remembered, monkeypatch):
    # Once _REMEMBERED first characters are remembered, the others are still looked at, not remembered.
    import coder.passages as passages

    monkeypatch.setattr(passages, "_MAY_START_SPECIAL", passages._FirstCharacters())
    monkeypatch.setattr(passages, "_REMEMBERED", remembered)
    text = "\n".join([chr(0x4E00 + number) + "摘要: a" for number in range(60)] + ["1. Introduction", "Abstract: b", "zzz line"])
    assert passages._special_lines(text) == before._special_lines(text)
    assert len(passages._MAY_START_SPECIAL) == remembered
    _assert_same(text)


@pytest.mark.parametrize("text", ["References\n\nAbstract:", "References\n\n[1] Zhang. A. 2019.\n\n1. Introduction\n\nBody text here."])
def test_passages_oracle_a_references_section_ends_at_a_label_or_heading(text):
    """Hypothesis found "References\\n\\nAbstract:", where the copy (older than 6453888) kept reading references."""
    _assert_same(text)
