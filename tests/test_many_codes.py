"""A codebook of thousands of codes (an imported dictionary): what a run writes and prints stays in bounds.

A co-occurrence matrix has codes**2 cells: 10,000 codes wrote 200 MB of zeros and held 800 MB while
building it. It holds every code up to MATRIX_CODE_LIMIT, past that only the codes that code a passage,
and is left out (with a line saying so) when those are more.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_ok

from coder.cooccurrence import (
    MATRIX_CODE_LIMIT,
    build_cooccurrence,
    build_cooccurrence_matrix,
    matrix_codes,
)
from coder.files import read_table

REUSED = "Reused the coding of the last run"


def _words(count: int) -> list[str]:
    rng = random.Random(7)
    return sorted({"".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))
                   for _ in range(count * 2)})[:count]


def _dictionary(tmp_path: Path, codes: int, coded: int) -> tuple[Path, Path]:
    """A codebook of `codes` one-word codes and a corpus in which the first `coded` of them occur,
    two words to a paragraph (so the codes co-occur in pairs)."""
    words = _words(codes)
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n" + "".join(f"  c{number}:\n    label: Word {word}\n    keywords: [{word}]\n"
                                             for number, word in enumerate(words)), encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraphs = [f"The {words[number]} and the {words[number + 1]} met." for number in range(0, coded - 1, 2)]
    (corpus / "words.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return corpus, codebook


def _segments(codes: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"document": "d", "passage": range(len(codes)), "code": codes})


def test_matrix_codes_every_code_then_the_coded_ones_then_none():
    cooccurrence = build_cooccurrence(_segments(["a", "b", "a", "c"]))
    assert matrix_codes(cooccurrence, limit=3) == ["a", "b", "c"]
    assert matrix_codes(cooccurrence, limit=2) is None

    with_uncoded = cooccurrence.__class__(**{**cooccurrence.__dict__, "codes": pd.concat(
        [cooccurrence.codes, pd.DataFrame({"code": ["z"], "passages": [0], "documents": [0]})], ignore_index=True)})
    assert matrix_codes(with_uncoded, limit=4) == ["a", "b", "c", "z"]
    assert matrix_codes(with_uncoded, limit=3) == ["a", "b", "c"]  # past the limit: the coded codes only
    matrix = build_cooccurrence_matrix(with_uncoded, measure="count", codes=["a", "c"])
    assert matrix.values.tolist() == [["a", 2, 0], ["c", 0, 1]]


def test_a_run_with_more_coded_codes_than_a_matrix_holds_leaves_it_out_and_says_so(tmp_path):
    corpus, codebook = _dictionary(tmp_path, MATRIX_CODE_LIMIT + 100, MATRIX_CODE_LIMIT + 100)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "cooccurrence_matrix.csv").write_text("code,a\na,1\n", encoding="utf-8")  # an earlier run's

    output = run_ok(corpus, codebook, out)

    assert not (out / "cooccurrence_matrix.csv").exists()
    assert f"cooccurrence_matrix.csv not written: more than {MATRIX_CODE_LIMIT:,} codes code passages" in output
    pairs = read_table(out / "cooccurrence.csv")
    assert len(pairs) == (MATRIX_CODE_LIMIT + 100) // 2  # every pair is there
    # The summary lists the codes with most segments, not thousands of lines.
    listed = output.split("(code_counts.csv lists every code):\n")[1].split("\n")
    assert sum(line.startswith("  Word ") for line in listed) == 60

    codebook.write_text(codebook.read_text(encoding="utf-8").replace("label: Word ", "label: Term ", 1),
                        encoding="utf-8")
    output = run_ok(corpus, codebook, out)  # a label edit: the shortcut, with no matrix to keep
    assert REUSED in output and "cooccurrence_matrix.csv not written" in output
    assert not (out / "cooccurrence_matrix.csv").exists()
    assert "Term " in (out / "codes.csv").read_text(encoding="utf-8-sig")


def test_a_big_codebook_of_few_coded_codes_has_a_matrix_of_those(tmp_path):
    corpus, codebook = _dictionary(tmp_path, MATRIX_CODE_LIMIT + 100, 6)
    out = tmp_path / "out"

    run_ok(corpus, codebook, out)

    matrix = read_table(out / "cooccurrence_matrix.csv")
    assert matrix["code"].tolist() == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert list(matrix.columns) == ["code", "c0", "c1", "c2", "c3", "c4", "c5"]


@pytest.mark.parametrize("codes", [3, 40])
def test_a_small_codebook_has_every_code_in_its_matrix(tmp_path, codes):
    corpus, codebook = _dictionary(tmp_path, codes, 2)
    out = tmp_path / "out"

    output = run_ok(corpus, codebook, out)

    assert read_table(out / "cooccurrence_matrix.csv")["code"].tolist() == [f"c{number}" for number in range(codes)]
    assert "Segments per code:\n" in output and "not written" not in output
