"""`coder run` after editing some codes' keywords or rules matches only those codes again, and gives
exactly what a fresh run gives."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import invoke, output_files, run_ok
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.codebook import load_codebook
from coder.corpus import StoredDocument
from coder.lexicon import fold_text
from coder.matching import compile_codebook
from coder.models import Code, Codebook, Document
from coder.passages import split_passages
from coder.recode import _candidates, _innermost, _needles, _views

ROOT = Path(__file__).resolve().parent.parent
FAST = "edited code(s) again in the"

CODEBOOK = """\
name: Recode test
unit: paragraph
codes:
  alliance:
    label: Alliance
    keywords: [party building alliance, joint construction]
  meeting:
    label: Meeting
    keywords: [joint meeting, coordination council, summit*]
    exclude: [joint meeting room]
  cooperation:
    label: Cooperation
    keywords: [regional cooperation, intergovernmental cooperation]
    rules:
      - near: [[cross-regional, cross-border], [governance, mechanism*]]
        within: 6
  integration:
    label: Integration
    keywords: [regional integration]
  barriers:
    label: Barriers
    keywords: [local protection, administrative barriers]
  chinese:
    label: Chinese
    keywords: [区域合作, 协同治理]
  pattern:
    label: Pattern
    regex: ['party[- ]driven']
  governance:
    label: Governance
    keywords: [governance]
  development:
    label: Development
    keywords: [development, ~coordinate]
"""

EDITS = {
    "keyword added": ("[regional cooperation, intergovernmental cooperation]",
                      "[regional cooperation, intergovernmental cooperation, cross-regional cooperation]"),
    "wildcard keyword added": ("[local protection, administrative barriers]",
                               "[local protection, administrative barriers, market segment*, protection-*]"),
    "wildcard of the other spelling added": ("[local protection, administrative barriers]",
                                             "[local protection, administrative barriers, labour*, organisation*]"),
    "keyword removed": ("[joint meeting, coordination council, summit*]", "[joint meeting, summit*]"),
    "exclusion added": ("keywords: [governance]", "keywords: [governance]\n    exclude: [regional governance]"),
    "rule changed": ("within: 6", "within: 2"),
    "code added": ("  governance:\n", "  prevention:\n    label: Prevention\n    keywords: [joint prevention, control]\n"
                                      "  governance:\n"),
    "code removed": ("  integration:\n    label: Integration\n    keywords: [regional integration]\n", ""),
    "Chinese keyword added": ("[区域合作, 协同治理]", "[区域合作, 协同治理, 跨域治理]"),
    "mixed-script keyword added": ("[区域合作, 协同治理]", "[区域合作, 协同治理, G60科创走廊, 区域合作 alliance*]"),
    "label and keyword": ("label: Governance\n    keywords: [governance]",
                          "label: Governance (all)\n    keywords: [governance, governments]"),
    "code renamed": ("  barriers:\n", "  obstacles:\n"),
    "regex edited": ("'party[- ]driven'", "'party[- ]led'"),
    "keyword inside another added": ("[party building alliance, joint construction]",
                                     "[party building alliance, joint construction, building alliance, construction]"),
    "keyword swapped": ("[local protection, administrative barriers]", "[local protection, market barriers]"),
    "keywords reordered": ("[party building alliance, joint construction]", "[joint construction, party building alliance]"),
    "keyword added beside an exclusion": ("[joint meeting, coordination council, summit*]",
                                          "[joint meeting, coordination council, summit*, meeting room, meeting]"),
    "exclusion removed": ("    exclude: [joint meeting room]\n", ""),
    "keyword added and exclusion added": ("keywords: [governance]",
                                          "keywords: [governance, mechanisms]\n    exclude: [regional governance]"),
}
# Edits that only the full run may code: a regex is matched in every passage.
NOT_FAST = {"regex edited"}


def _edit(path: Path, edit: str) -> None:
    old, new = EDITS[edit]
    text = path.read_text(encoding="utf-8")
    assert old in text, edit
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def history(tmp_path):
    """A corpus, the test codebook, and two run folders coded once each: `fast` (with the cache)
    and `full` (recoded without it, the reference)."""
    return make_history(tmp_path)


def make_history(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """The `history` fixture's corpus, codebook and two run folders."""
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    (corpus / "hyphens.txt").write_text(
        "Regional co-\noperation and inter-regional cooper- ation met local pro-\ntection.\n\n"
        "A joint meeting room is not a joint meeting.\n\nCross-regional   governance mechanisms: a "
        "coordination\ncouncil, a sum-\nmit, and ＲＥＧＩＯＮＡＬ ＣＯＯＰＥＲＡＴＩＯＮ.\n\n| Regional | cooperation |\n"
        "|---|---|\n\n12\n\n區域合作 and 区域\n合作.\n\n长三角G60科创\n走廊 and the 区域合作alliances.\n", encoding="utf-8")
    codebook.write_text(CODEBOOK, encoding="utf-8")
    fast, full = tmp_path / "fast", tmp_path / "full"
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    return corpus, codebook, fast, full


@pytest.mark.parametrize("edit", list(EDITS))
def test_recode_after_editing_codes_matches_a_full_run(history, edit):
    corpus, codebook, fast, full = history
    _edit(codebook, edit)

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert (FAST in output) is (edit not in NOT_FAST)
    assert output_files(fast) == output_files(full)
    # The passages did not change: the fast run kept the file (the one .previous/ holds), the full run wrote it again.
    assert (fast / "passages.parquet").samefile(fast / ".previous" / "passages.parquet") is (edit not in NOT_FAST)
    assert not (full / "passages.parquet").samefile(full / ".previous" / "passages.parquet")


def test_recode_twice_in_a_row_matches_a_full_run(history):
    corpus, codebook, fast, full = history
    for edit in ("keyword added", "exclusion added", "code removed"):
        _edit(codebook, edit)
        output = run_ok(corpus, codebook, fast)
        run_ok(corpus, codebook, full, "--no-cache")
        assert FAST in output
        assert output_files(fast) == output_files(full)


def test_recode_with_reviews_matches_a_full_run(history, tmp_path):
    corpus, codebook, fast, full = history
    segments = (fast / "segments.csv").read_text(encoding="utf-8-sig").splitlines()
    header = segments[0].split(",")
    first = dict(zip(header, segments[1].split(",")))
    (tmp_path / "reviews.csv").write_text(
        "segment_id,document,code,decision,note,text,reviewed_at\n"
        f"{first['segment_id']},{first['document']},{first['code']},reject,not this one,x,\n", encoding="utf-8")
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)
    assert ",rejected,reject,not this one," in (fast / "segments.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("change", ["changed document", "new document", "removed document", "passages of the same size",
                                    "other run without cache"])
def test_recode_codes_everything_when_the_documents_or_outputs_changed(history, change):
    corpus, codebook, fast, full = history
    if change == "other run without cache":  # it rewrites the tables the cache noted
        run_ok(corpus, codebook, fast, "--no-cache")
        run_ok(corpus, codebook, full, "--no-cache")
    _edit(codebook, "keyword added")
    first = sorted(corpus.glob("*.txt"))[0]
    if change == "changed document":
        first.write_text(first.read_text(encoding="utf-8") + "\n\nRegional cooperation again.\n", encoding="utf-8")
    elif change == "new document":
        (corpus / "zz_new.txt").write_text("Cross-regional cooperation of governments.\n", encoding="utf-8")
    elif change == "removed document":
        first.unlink()
    elif change == "passages of the same size":  # not the table noted, though its size is: told by its digest
        table = fast / "passages.parquet"
        table.write_bytes(table.read_bytes()[::-1])

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST not in output
    kept = {".previous/passages.parquet"} if change == "passages of the same size" else set()  # the last run's, as damaged
    assert ({name: data for name, data in output_files(fast).items() if name not in kept}
            == {name: data for name, data in output_files(full).items() if name not in kept})


@pytest.mark.parametrize("move", ["touched tables", "copied run folder", "copied project"])
def test_recode_in_a_copied_folder_matches_only_the_edited_codes(history, tmp_path, move):
    """A run folder copied or synced elsewhere (other inodes and change times, maybe other modification
    times) holds the same tables: told by their size and digest, the recode still matches only the
    edited codes, and gives what a full run gives. A copied corpus is read again and told by its texts."""
    corpus, codebook, fast, full = history
    if move == "touched tables":
        for table in ("segments.parquet", "passages.parquet"):
            os.utime(fast / table, ns=(1, 1))
    else:
        moved = tmp_path / "elsewhere"
        shutil.copytree(fast, moved / "fast", copy_function=shutil.copy)  # new files, new times
        shutil.rmtree(fast)
        fast = moved / "fast"
        if move == "copied project":
            shutil.copytree(corpus, moved / "corpus", copy_function=shutil.copy)
            corpus = moved / "corpus"
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    run_ok(history[0], codebook, full, "--no-cache")

    assert FAST in output
    masked = {name: data.replace(str(corpus).encode(), str(history[0]).encode()) for name, data in output_files(fast).items()}
    assert masked == output_files(full)


@pytest.mark.parametrize(("move", "checked"), [("in place", False), ("copied run folder", True)])
def test_recode_checks_the_size_of_passages_only_of_a_copied_folder(history, tmp_path, monkeypatch, move, checked):
    """The passages.parquet the last run wrote (its noted stamp: size, times, inode) is read without
    check_parquet_size first, which read its texts a second time; a copy (same bytes, another file, maybe
    someone else's) is checked, as any table from elsewhere. Either way the outputs are a full run's."""
    import coder.segments

    corpus, codebook, fast, full = history
    if move == "copied run folder":
        shutil.copytree(fast, tmp_path / "copy", copy_function=shutil.copy)
        shutil.rmtree(fast)
        shutil.move(tmp_path / "copy", fast)
    sized: list[Path] = []
    check = coder.segments.check_parquet_size
    monkeypatch.setattr(coder.segments, "check_parquet_size", lambda file, *args, **options: sized.append(Path(file))
                        or check(file, *args, **options))
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert (fast / "passages.parquet" in sized) is checked
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("damage", ["note", "cache file"])
def test_recode_with_a_damaged_cache_codes_everything(history, damage):
    corpus, codebook, fast, full = history
    _edit(codebook, "keyword added")
    import sqlite3

    cache = fast / ".cache" / "recode.sqlite"
    if damage == "note":
        with sqlite3.connect(cache) as connection:
            connection.execute("UPDATE coding SET value = X'7b7d'")
    else:
        cache.write_bytes(b"not a database")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST not in output
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("edit", ["keyword added", "keyword removed", "code added", "code removed", "exclusion added",
                                  "code renamed", "decision typed"])
def test_recode_counts_only_the_changed_codes_pairs_and_matches_a_full_run(history, edit, monkeypatch):
    """The co-occurrence of a recode comes from the last run's counts (.cache/cooccurrence_counts.json)
    plus the changed codes' pairs, and equals a full run's; a review typed into segments.csv too."""
    import coder.cooccurrence

    corpus, codebook, fast, full = history
    used: list[bool] = []
    patched = coder.cooccurrence._patched_counts
    monkeypatch.setattr(coder.cooccurrence, "_patched_counts",
                        lambda *args, **kwargs: used.append(patched(*args, **kwargs) is not None) or patched(*args, **kwargs))
    if edit == "decision typed":
        _type_decision(fast / "segments.csv", "reject")
        _type_decision(full / "segments.csv", "reject")
    else:
        _edit(codebook, edit)

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert used and all(used)
    assert output_files(fast) == output_files(full)
    assert (fast / ".cache" / "cooccurrence_counts.json").is_file()
    assert not (full / ".cache" / "cooccurrence_counts.json").exists()


def _type_decision(path: Path, decision: str) -> None:
    """Type `decision` into the review cell of segments.csv's first row, as a reviewer in a spreadsheet."""
    import csv
    import io

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("review")] = decision  # by the CSV's cells: a passage text may hold commas
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig", newline="")


@pytest.mark.parametrize("damage", ["byte changed", "another corpus's", "removed"])
def test_recode_with_damaged_or_foreign_cooccurrence_counts_matches_a_full_run(history, tmp_path, damage):
    corpus, codebook, fast, full = history
    counts = fast / ".cache" / "cooccurrence_counts.json"
    if damage == "byte changed":
        data = counts.read_bytes()
        counts.write_bytes(data[:-40] + bytes([data[-40] ^ 1]) + data[-39:])
    elif damage == "another corpus's":
        other = tmp_path / "other"
        other.mkdir()
        for number, path in enumerate(sorted(corpus.glob("*.txt"))[:3]):
            (other / f"renamed-{number}.txt").write_bytes(path.read_bytes())
        run_ok(other, codebook, tmp_path / "other-out")
        shutil.copyfile(tmp_path / "other-out" / ".cache" / "cooccurrence_counts.json", counts)
    else:
        counts.unlink()
    _edit(codebook, "keyword added")

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize(
    "text",
    [
        "Regional co-\noperation", "regional cooper- ation", "REGIONAL\tCOOPERATION", "ＲＥＧＩＯＮＡＬ ＣＯＯＰＥＲＡＴＩＯＮ",
        "regional—cooperation", "regional－cooperation", "regional\u00adcooperation", "REGIONAL\u212aCOOPERATION", "Re\u0301gional cooperation", "區域合作", "区域\n合作",
        "Cross-regional\n\ngovernance", "ΟΔΟΣ regional cooperations", "the summits", "protection-minded",
    ],
)
# Needles in ASCII and Han: RE2 over the texts (or, with gapped False, the squashed texts); with Greek,
# the squashed texts; ASCII only: RE2, or the bytes path.
@pytest.mark.parametrize("codes", ["all", "no Greek", "no Chinese"])
@pytest.mark.parametrize("gapped", [True, False])
def test_recode_candidates_hold_every_passage_the_matcher_codes(monkeypatch, text, codes, gapped):
    import coder.recode as recode

    if not gapped:
        monkeypatch.setattr(recode, "_search_gapped", lambda texts, needles: None)
    source = CODEBOOK.replace("[local protection, administrative barriers]", "[local protection, protection-*, οδος]")
    if codes == "no Greek":
        source = source.replace("[local protection, protection-*, οδος]", "[local protection, protection-*]")
    if codes == "no Chinese":
        source = source.replace("[local protection, protection-*, οδος]", "[local protection, protection-*]")
        source = source.replace("  chinese:\n    label: Chinese\n    keywords: [区域合作, 协同治理]\n", "")
    codebook = load_codebook_text(source)
    document = Document("a.txt", text)
    passages = split_passages(document)
    matcher = compile_codebook(codebook)
    needles = _needles(codebook)
    assert needles is not None and all(needle.isascii() for needle in needles) is (codes == "no Chinese")
    candidates = set(_candidates([passage.text for passage in passages], needles))
    for position, passage in enumerate(passages):
        if matcher.find(passage):
            assert position in candidates, (passage.text, fold_text(passage.text))


@pytest.mark.parametrize(
    "texts, expected",
    [(["Regional—co-operation", "nothing here", "", "REGIONAL’cooperation", "ＲＥＧＩＯＮＡＬ cooperation", "regional cooperation"],
      [0, 4, 5])],
)
def test_recode_candidates_are_the_same_from_strings_and_from_arrow_chunks(texts, expected):
    import pyarrow as pa

    needles = ["regionalcooperation"]
    chunked = pa.chunked_array([pa.array(texts[:2], type=pa.string()), pa.array(texts[2:], type=pa.string())])
    assert _candidates(texts, needles).tolist() == expected
    assert _candidates(chunked, needles).tolist() == expected
    assert _candidates(pa.array(texts, type=pa.large_string()).slice(1), needles).tolist() == [position - 1 for position in expected[1:]]


@pytest.mark.parametrize("texts", [["regional cooperation", "a\x00b", "regional cooperation"]])
def test_recode_candidates_refuse_texts_holding_the_separator(monkeypatch, texts):
    """The bytes path joins the texts with NULs: a NUL inside one leaves the pieces untold. RE2 reads
    each text on its own."""
    import pyarrow as pa

    import coder.recode as recode

    assert _candidates(texts, ["regionalcooperation"]).tolist() == [0, 2]
    monkeypatch.setattr(recode, "_search_gapped", lambda texts, needles: None)
    assert _candidates(texts, ["regionalcooperation"]) is None
    assert _candidates(pa.array(texts), ["regionalcooperation"]) is None


@pytest.mark.parametrize(
    "texts",
    [["Regional co-\noperation", "regional cooper- ation", "REGIONAL\tCOOPERATION", "ＲＥＧＩＯＮＡＬ ＣＯＯＰＥＲＡＴＩＯＮ",
      "regional—cooperation", "regional\u00adcooperation", "REGIONAL\u212aCOOPERATION", "regional\u3000cooperation",
      "regional’cooperation", "re gional co op er ation", "regional cooperatio", "regional, cooperation", "régional cooperation",
      "区域 regional\u2003cooperation", "", "region al-\u2014 \ncoop", "İ ſ", "ﬁ regional cooperation"]],
)
@pytest.mark.parametrize("needles", [["regionalcooperation"], ["isfi", "s"], ["regional'cooperation", "coop"]])
@pytest.mark.parametrize("split", [False, True])
def test_recode_candidates_from_regex_are_those_of_the_squashed_texts(monkeypatch, texts, needles, split):
    """RE2 over the texts as they are, gaps allowed between the needles' characters and look-alikes
    read as the characters they fold to, finds the texts that squashing them finds; in one thread, or
    half the texts in each of two (`split`, as past _SEARCH_SPLIT_BYTES)."""
    import pyarrow as pa

    import coder.recode as recode

    monkeypatch.setattr(recode, "_SEARCH_SPLIT_BYTES", 0 if split else 10**12)

    chunked = pa.chunked_array([pa.array(texts[:5], type=pa.string()), pa.array(texts[5:], type=pa.string())])
    gapped = recode._search_gapped(chunked, needles)
    squashed = recode._search(recode._squashed_ascii(recode._utf8_joined(texts), needles), needles, len(texts))
    assert gapped is not None and gapped.tolist() == squashed.tolist()


@pytest.mark.parametrize(
    "texts",
    [["區域合作", "区域\n合作", "区域 合作机制", "區域—合作", "区域", "合作区域", "regional 区\u3000域合作", "协同治理", "協同\n治理",
      "\uf9b5 区域合作", "", "regional cooperation", "ＲＥＧＩＯＮＡＬ cooperation", "区域合\u0301作"]],
)
@pytest.mark.parametrize("needles", [["区域合作"], ["区域合作", "协同治理", "regionalcooperation"], ["合作区"]])
def test_recode_candidates_of_han_needles_from_regex_are_those_of_the_squashed_texts(texts, needles):
    """Han needles (traditional characters fold to simplified, gaps between characters) are found by
    RE2 in the texts that the squashed texts (composed and folded as matching reads them) hold them."""
    import pyarrow as pa

    import coder.recode as recode

    gapped = recode._search_gapped(pa.array(texts, type=pa.large_string()), needles)
    joined = "\x00".join(recode._squashed(text) for text in texts).encode("utf-8", "surrogatepass")
    squashed = recode._search(joined, needles, len(texts))
    assert gapped is not None and gapped.tolist() == squashed.tolist()


@pytest.mark.parametrize(
    "texts, needles, expected",
    [(["a.b and c", "ab", "x(y]z", "c+d", "back\\slash", "", "50%off", "q?r*s", "a.bc+d"],
      ["a.b", "c+d", "(y]", "k\\s", "%o", "r*s"], [0, 2, 3, 4, 6, 7, 8]),
     (["regional cooperation", "cooperation", "cooperationregional"], ["cooperationregional"], [2])],
)
@pytest.mark.parametrize("regex", [True, False])
def test_recode_search_finds_the_same_pieces_with_the_regular_expression_and_the_automaton(
        monkeypatch, texts, needles, expected, regex):
    """Needles holding characters a regular expression reads as syntax are found as literals."""
    import coder.recode as recode

    monkeypatch.setattr(recode, "_REGEX_MAX_NEEDLES", 1000 if regex else 0)
    joined = "\x00".join(texts).encode("utf-8")
    assert recode._search(joined, needles, len(texts)).tolist() == expected
    assert recode._search(joined, needles, len(texts) + 1) is None  # the count of pieces is checked
    if regex:  # and not by falling back to the automaton
        ends = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 0)
        assert recode._search_regex(joined, ends, needles).tolist() == expected


def load_codebook_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "codebook.yaml"
        path.write_text(text, encoding="utf-8")
        return load_codebook(path)


_ENGLISH_CODES = "".join(f"  e{number}: {{keywords: [{keyword}]}}\n" for number, keyword in
                         enumerate(["joint meeting", "local protection", "regional", "city"]))
_LONG_TERM = "印度尼西亚共和国的国家发展计划部长会议"  # 19 characters, longer than jieba's words


@pytest.mark.parametrize(("first", "second", "text"), [
    # probe S F14: a code spelling "cooperation" made `cooperat*` read "co-operation" in the fresh run only
    ("codes:\n  a: {keywords: [barrier*, cooperat*]}\n", "  b: {keywords: [co-operation]}\n", None),
    ("codes:\n  a: {keywords: [cooperation]}\n", "  b: {keywords: [operation-minded]}\n", None),
    ("codes:\n  a: {keywords: [coop*]}\n", "  b: {keywords: [cooperation, barriers]}\n", None),
    # a longer `word-*` prefix took a shorter one's matches in the fresh run only
    (f"codes:\n  a: {{keywords: [self-*, help-*]}}\n{_ENGLISH_CODES}", "  b: {keywords: [self help-*]}\n",
     "Self-help-groups met the city.\n"),
    # a matcher of the edited code looked less far for a Chinese word spanning a hit than the codebook's
    (f"codes:\n  x: {{keywords: [发展计划]}}\n  y: {{keywords: [{_LONG_TERM}]}}\n{_ENGLISH_CODES}",
     "  x: {keywords: [发展计划, plan]}\n", f"{_LONG_TERM}召开。\n\n发展计划 and the city.\n"),
])
def test_recode_after_another_codes_terms_changed_matches_a_full_run(tmp_path, first, second, text):
    """A code's matches depend on its own terms (or on the terms that tie it to others), so a recode of
    the edited codes gives a fresh run's segments; `second` adds a code, or replaces one of the same id."""
    corpus, codebook, fast, full = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "fast", tmp_path / "full"
    corpus.mkdir()
    (corpus / "a.txt").write_text(text or "Regional co-operation and local protection remain barriers.\n\n"
                                          "A co-operation-minded city.\n", encoding="utf-8")
    codebook.write_text(first, encoding="utf-8")
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    replaced = second.split(":")[0] + ":"
    edited = "".join(second if line.startswith(replaced) else line for line in first.splitlines(keepends=True))
    codebook.write_text(edited if edited != first else first + second, encoding="utf-8")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)


def test_recode_of_a_markdown_document_with_emphasis_matches_a_full_run(tmp_path):
    """A .md passage's text keeps the emphasis delimiters its view blanks (probe BH1): the recode finds the
    passages an added keyword matches across them, and matches them in the split's views."""
    corpus, codebook, fast, full = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "fast", tmp_path / "full"
    corpus.mkdir()
    (corpus / "a.md").write_text("The **joint** meeting was held.\n\n召开联席**会议**。\n\n"
                                 "A *regional* plan, **cross-border** _barriers_.\n", encoding="utf-8")
    codebook.write_text("codes:\n  a: {keywords: [joint meeting]}\n", encoding="utf-8")
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    codebook.write_text("codes:\n  a: {keywords: [joint meeting]}\n  b: {keywords: [regional plan, cross-border barriers, "
                        "联席会议]}\n", encoding="utf-8")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)
    assert pd.read_csv(fast / "segments.csv", encoding="utf-8-sig")["code"].tolist() == ["a", "b", "b"]


@pytest.mark.parametrize(("keywords", "text"), [
    # probe PP1: the line break before a row with a tab is a cell's end (a tab in the view the split
    # makes); the recode rebuilt the view with a space there, so its www matched where the fresh run's did not
    ("[www]", "www.\n war \t"),
    ("[joint meeting]", "The joint\nmeeting\tx\n"),  # `joint` ends one row, `meeting` starts the next
    ("[joint meeting]", "x\tjoint\nmeeting of cities\n"),
])
def test_recode_after_a_rename_matches_a_full_run_at_table_rows(tmp_path, keywords, text):
    """A renamed code is matched again in the stored passages' views: those the split makes, where a
    table row's line breaks are tabs."""
    corpus, codebook, fast, full = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "fast", tmp_path / "full"
    corpus.mkdir()
    (corpus / "a.txt").write_text(text, encoding="utf-8")
    codebook.write_text(f"codes:\n  gov: {{keywords: {keywords}}}\n  other: {{keywords: [regional]}}\n", encoding="utf-8")
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    codebook.write_text(f"codes:\n  gov2: {{keywords: {keywords}}}\n  other: {{keywords: [regional]}}\n", encoding="utf-8")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)


def _split_and_rebuilt(document: Document, unit: str = "paragraph") -> tuple[list, list]:
    """A document's passages as the split makes them, and as the recode rebuilds them from passages.parquet's rows."""
    passages = split_passages(document, unit=unit)
    return passages, _views(document, [(passage.index, passage.start, passage.end, passage.kind, passage.text)
                                       for passage in passages], unit=unit)


@pytest.mark.parametrize("text", [
    "www.\n war \t", "The joint\nmeeting\tx\n", "x\tjoint\nmeeting\n\ny | z\nw\n\n| a | b |\njoint\nmeeting\n",
    "joint\nmeeting\n\nwww.a.cn\tjoint\nmeeting here\n",
])
def test_recode_views_are_those_of_the_split(text):
    """The views the recode rebuilds from passages.parquet's rows are the split's, and a matcher counts the
    same in both (the recode's and the fresh run's way to the same passages)."""
    passages, views = _split_and_rebuilt(Document("a.txt", text))
    assert views == passages
    compiled = compile_codebook(Codebook(codes=(Code(id="a", label="a", path=("a",), keywords=("www", "joint meeting")),)))
    assert compiled.count_in_passages(views) == compiled.count_in_passages(passages)


@pytest.mark.parametrize("text", ["The **joint** meeting.\n\nA joint_meeting here.", "召开联席**会议**。\n\n**Joint** meeting"])
def test_recode_views_of_markdown_emphasis_are_those_of_the_split(text):
    """A .md passage's readable text keeps its emphasis delimiters (`The **joint** meeting`), its view blanks
    them: the recode rebuilt the view from the text as written, where `joint meeting` is not found."""
    passages, views = _split_and_rebuilt(Document("a.md", text))
    assert views == passages
    compiled = compile_codebook(Codebook(codes=(Code(id="a", label="a", path=("a",), keywords=("joint meeting", "联席会议")),)))
    assert [bool(counted) for counted in compiled.count_in_passages(views)] == [True, bool("Joint" in text)]


# Pieces of table documents: cells split by tabs, Markdown rows and rules, words a line break may join
# (hyphens, CJK), page numbers, blank lines, web addresses.
_TABLE_PIECES = ["joint", "meeting", "www.", "a.cn", "\t", "|", "| a | b |", "|---|---|", "\n", "\n", "\n\n", " ",
                 "gover-", "gover", "nance", "党建", "联盟", "12", "-", "  "]


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.lists(st.sampled_from(_TABLE_PIECES), max_size=40), st.sampled_from(["paragraph", "sentence"]))
def test_recode_views_of_table_documents_are_those_of_the_split(pieces, unit):
    """The recode's views, told for a table's rows from the lines beside each line break (no split of
    the document), are the split's, read from a document holding tabs and pipes or from its file."""
    passages, views = _split_and_rebuilt(Document("a.txt", "".join(pieces)), unit)
    assert views == passages


def test_recode_views_read_a_stored_document_once(tmp_path, monkeypatch):
    """A document whose text the run did not keep (StoredDocument) is read once for its views, also when
    it is split again (a page number blanked in a table document)."""
    import coder.corpus as corpus_module

    text = "x\tjoint\nmeeting\n\n12\n\njoint\nmeeting | y\n"
    path = tmp_path / "a.txt"
    path.write_text(text, encoding="utf-8")
    stored_document = StoredDocument(("a.txt", str(path)), encoding="utf-8", sha256=Document("a.txt", text).sha256)
    reads = []
    read = corpus_module.read_corpus_file
    monkeypatch.setattr(corpus_module, "read_corpus_file",
                        lambda *args, **kwargs: reads.append(1) or read(*args, **kwargs))
    passages = split_passages(Document("a.txt", text))
    stored = [(passage.index, passage.start, passage.end, passage.kind, "?" + passage.text) for passage in passages[:1]]
    reads.clear()
    assert _views(stored_document, stored, unit="paragraph") is None  # not the split's text: split again, told apart
    assert len(reads) == 1


def test_recode_after_a_label_edit_then_a_keyword_edit_matches_a_full_run(history):
    corpus, codebook, fast, full = history
    for folder in (fast, full):  # without the CSV views: the label edit rewrites only what shows labels
        run_ok(corpus, codebook, folder, "--csv", "never")
    text = codebook.read_text(encoding="utf-8")
    codebook.write_text(text.replace("label: Barriers", "label: Obstacles"), encoding="utf-8")
    assert "Reused the coding" in run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize(
    "needles, innermost",
    [(["cooperationregional", "cooperationregionals", "cooperationsregional", "regional", "区域合作", "跨区域合作社"],
      ["regional", "区域合作"]),
     (["ab", "abc", "b", "xbx", "yz"], ["b", "yz"]), (["only"], ["only"]), ([], [])],
)
def test_recode_needles_holding_another_are_left_out(needles, innermost):
    assert _innermost(needles) == innermost
    texts = [*needles, "no needle", "x" + "".join(needles) + "y", "abyz"]
    assert _candidates(texts, innermost).tolist() == _candidates(texts, needles).tolist()


@pytest.mark.parametrize(
    "keys, sorted_count",
    [([1, 4, 9, 12, 3, 10, 0, 13], 4), ([1, 4, 9], 3), ([5, 2], 0), ([], 0), ([2, 1, 7, 0], 2), ([1, 3, 3, 2], 3)],
)
def test_recode_merged_order_is_a_stable_sort(keys, sorted_count):
    """The new rows merged into the last run's (in order already) give the order a sort gives; a head
    out of order is sorted with the rest."""
    from coder.recode import _merged_order

    keys = np.array(keys, dtype=np.int64)
    assert _merged_order(keys, sorted_count).tolist() == np.argsort(keys, kind="stable").tolist()


@pytest.mark.parametrize("positions", [[], [0], [1, 2, 3], [0, 4, 5, 9], list(range(10))])
def test_recode_taken_cells_are_those_of_the_column(positions):
    """Cells taken chunk by chunk from Arrow text (and from numbers) are the column's at those positions."""
    import pandas as pd
    import pyarrow as pa

    from coder.recode import _taken

    texts = [f"text {number}" for number in range(10)]
    chunked = pa.chunked_array([pa.array(texts[:3]), pa.array(texts[3:4]), pa.array([], type=pa.string()), pa.array(texts[4:])])
    column = pd.Series(pd.arrays.ArrowStringArray(chunked, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    chosen = np.array(positions, dtype=np.int64)
    assert _taken(column, chosen) == [texts[position] for position in positions]
    assert _taken(pd.Series(np.arange(10, 20)), chosen) == [10 + position for position in positions]


@pytest.mark.parametrize("failure", ["segment rows unreadable", "passages unreadable", "file changed while matching"])
def test_recode_waits_for_its_second_thread_and_passes_on_its_error(history, monkeypatch, failure):
    """passages.parquet is read, and the candidates matched, in a second thread: when the recode
    gives up (None: the caller codes everything) that thread has finished (no file of the folder
    left open in it), and an error raised in it (a corpus file changed under the run) is the recode's."""
    import threading
    import time

    import coder.recode as recode
    from coder.errors import CorpusError
    from coder.runs import RunFolder
    from coder.stamps import take_corpus_stamps

    corpus, codebook, fast, _ = history
    _edit(codebook, "keyword added")
    started, finished, matching = [], [], threading.Event()

    def slow(original, *, signal=None):
        def wrapper(*args, **kwargs):
            started.append(threading.current_thread() is not threading.main_thread())
            if signal is not None:
                signal.set()
            time.sleep(0.3)  # still working when this thread's caller gives up
            try:
                return original(*args, **kwargs)
            finally:
                finished.append(True)
        return wrapper

    def unreadable(*args, **kwargs):
        raise CorpusError("passages.parquet: cannot read it")

    def changed(*args, **kwargs):
        raise CorpusError("a.txt: the file changed while coder was running")

    monkeypatch.setattr(recode, "_search_and_match", slow(recode._search_and_match, signal=matching))
    monkeypatch.setattr(recode, "read_parquet", slow(unreadable if failure == "passages unreadable" else recode.read_parquet))
    if failure == "segment rows unreadable":
        monkeypatch.setattr(recode, "_segment_rows", lambda path: matching.wait(5) and None)
    if failure == "file changed while matching":
        monkeypatch.setattr(recode, "_match_candidates", changed)
    arguments = (RunFolder(fast), corpus, load_codebook(codebook))
    if failure == "file changed while matching":
        with pytest.raises(CorpusError, match="changed while coder was running"):
            recode.recode_changed_codes(*arguments, stamps=take_corpus_stamps(corpus))
    else:
        assert recode.recode_changed_codes(*arguments, stamps=take_corpus_stamps(corpus)) is None
    # What the second thread began, it ended before the recode returned.
    assert started and all(started) and len(finished) == len(started)


def _spied(monkeypatch, taken: list[str]) -> None:
    """Note in `taken` each call of the steps that a recode's unchanged codes spare looking rows up."""
    import coder.diff
    import coder.runner

    for module, name in ((coder.diff, "_known_alike"), (coder.diff, "_previous_rows"),
                         (coder.runner, "_statuses_beside_unchanged")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *args, original=original, name=name: taken.append(name) or original(*args))


@pytest.mark.parametrize("edit", [edit for edit in EDITS if edit not in NOT_FAST])
def test_recode_statuses_and_changes_of_unchanged_codes_are_those_looked_up(history, edit, monkeypatch):
    """The rows of the codes a recode leaves alone are the last run's: their statuses and changes are
    not looked up row by row, and the outputs are those of the same recode looking every row up (and
    of a full run). Not with a renamed code (its ids change)."""
    import coder.recode

    corpus, codebook, fast, full = history
    taken: list[str] = []
    _spied(monkeypatch, taken)
    _edit(codebook, edit)

    run_ok(corpus, codebook, fast)
    assert sorted(taken) == ([] if edit == "code renamed" else ["_known_alike", "_previous_rows", "_statuses_beside_unchanged"])
    taken.clear()
    monkeypatch.setattr(coder.recode, "UnchangedCodes", lambda **fields: None)  # the recode vouches for no code
    output = run_ok(corpus, codebook, full)

    assert FAST in output and taken == []
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("reviews", ["kept", "removed"])
def test_recode_after_hand_coding_matches_a_full_run(history, tmp_path, reviews, monkeypatch):
    """A reviewer coded part of a passage by hand with a code the edit leaves alone (its row has a text
    of its own). With the review file the recode looks every row up (hand-coded rows come in among the
    others); with the file removed, that code lost a row: it is not among the unchanged codes."""
    corpus, codebook, fast, full = history
    document = "hyphens.txt"
    text = (corpus / document).read_text(encoding="utf-8")
    start = text.index("A joint meeting room")
    (tmp_path / "added.csv").write_text(
        f"document,code,review,note,start,end\n{document},integration,add,by hand,{start},{start + 20}\n", encoding="utf-8")
    result = invoke("review", "import", tmp_path / "added.csv", "--codebook", codebook, "--reviews",
                    tmp_path / "reviews.csv", "--run", fast)
    assert result.exit_code == 0, result.output
    for folder in (fast, full):
        run_ok(corpus, codebook, folder)
    assert ",integration," in (fast / "segments.csv").read_text(encoding="utf-8-sig").split("by hand")[0].splitlines()[-1]
    if reviews == "removed":
        (tmp_path / "reviews.csv").unlink()
    _edit(codebook, "keyword added")
    seen: list = []
    import coder.diff

    known_alike = coder.diff._known_alike
    monkeypatch.setattr(coder.diff, "_known_alike", lambda unchanged, ids: seen.append(unchanged) or known_alike(unchanged, ids))

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output
    assert output_files(fast) == output_files(full)
    if reviews == "kept":
        assert seen == []
    else:
        (unchanged,) = seen
        assert not unchanged.unchanged[unchanged.code_ids.index("integration")]
        assert unchanged.unchanged[unchanged.code_ids.index("governance")]
        assert unchanged.passage_texts is None  # the hand-coded row's own text: removed rows' texts from the folder
        changes = (fast / "changes.csv").read_text(encoding="utf-8-sig")
        assert "integration,segments only,,0,1," in changes and "A joint meeting room" in changes


@pytest.mark.parametrize("held", [True, False])
def test_recode_compares_with_the_records_it_holds_as_with_those_read_again(history, held, monkeypatch):
    """A recode hands the comparison the last run's record it read already and its own as written:
    run.json is parsed once (three times when the last run's file changed since it was read), and
    changes.csv and the printed comparison are those of the records read from the files."""
    from coder.runs import RunFolder

    corpus, codebook, fast, full = history
    read: list[str] = []
    read_record = RunFolder._read_record
    monkeypatch.setattr(RunFolder, "_read_record", lambda self: read.append(str(self.run_path)) or read_record(self))
    if not held:
        monkeypatch.setattr(RunFolder, "record_if_unchanged", lambda self: None)
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    assert len(read) == (1 if held else 3)
    monkeypatch.undo()
    monkeypatch.setattr(RunFolder, "record_if_unchanged", lambda self: None)
    reference = run_ok(corpus, codebook, full)  # the same recode, reading both records from their files

    assert FAST in output and output_files(fast) == output_files(full)
    assert (fast / "changes.csv").read_bytes() == (full / "changes.csv").read_bytes()
    started = json.loads((fast / ".previous" / "run.json").read_text(encoding="utf-8"))["started"]
    assert f"Since the previous run ({started}): " in output
    shown, expected = (text[text.index("Since the previous run"):].split("): ", 1)[1] for text in
                       (output.replace(str(fast), str(full)), reference))
    assert shown == expected


# Edits of keywords or exclusions only, each of a code tied to no other: matched again only where an
# added or removed term can match.
KEYWORD_EDITS = {"keyword added": "cooperation", "keyword removed": "meeting", "exclusion added": "governance",
                 "exclusion removed": "meeting", "keyword added and exclusion added": "governance",
                 "keyword swapped": "barriers", "keyword added beside an exclusion": "meeting"}


def _passages_matched(output: str) -> int:
    return int(output.split(FAST)[1].split()[0])


@pytest.mark.parametrize("edit", list(KEYWORD_EDITS))
def test_recode_after_a_keyword_edit_matches_only_where_an_edited_keyword_can(history, edit, monkeypatch):
    """The code is matched in fewer passages than when every one of its keywords is looked for, and
    the outputs are a full run's both ways."""
    import coder.recode

    corpus, codebook, fast, full = history
    narrowed = fast.parent / "narrowed"
    run_ok(corpus, codebook, narrowed)
    _edit(codebook, edit)

    with_edits = run_ok(corpus, codebook, narrowed)
    monkeypatch.setattr(coder.recode, "_keyword_edits", lambda *args: {})
    without_edits = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert _passages_matched(with_edits) < _passages_matched(without_edits)
    assert output_files(narrowed) == output_files(full) == output_files(fast)


def test_recode_of_a_keyword_edit_reads_only_the_codes_it_can_vouch_for(history):
    """The last definition of a code comes from run.json only when it gives the fingerprint the
    recode cache noted: a stored copy edited by hand (here, with a keyword the code never had) makes
    the code be matched in every passage that holds one of its keywords."""
    corpus, codebook, fast, full = history
    checked = fast.parent / "checked"
    run_ok(corpus, codebook, checked)
    for folder in (fast, full):
        record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        for code in record["codebook_codes"]:
            if code["id"] == "cooperation":
                code["keywords"].append("municipal twinning")
        (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    narrowed = run_ok(corpus, codebook, checked)
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)
    # Taken as the last definition, the copy would have left the code's segments as they were.
    assert FAST in output and _passages_matched(output) > _passages_matched(narrowed)


@pytest.mark.parametrize("large", [True, False])
def test_non_ascii_characters_are_those_of_the_texts_a_slice_or_chunks_hold(large):
    """A table's slice shares its row group's whole data buffer: only the slice's texts count."""
    import pyarrow as pa

    from coder.recode import _non_ascii_chars_of

    texts = ["plain", "区域合作", "Straße", "ＲＥＧＩＯＮ", "", "naïve – dash", "協同"]
    array = pa.array(texts, type=pa.large_string() if large else pa.string())
    for start, stop in [(0, 7), (1, 3), (3, 6), (4, 5), (6, 7)]:
        wanted = {char for text in texts[start:stop] for char in text if ord(char) > 0x7F}
        assert _non_ascii_chars_of(array.slice(start, stop - start)) == wanted
    chunked = pa.chunked_array([array.slice(1, 1), array.slice(5, 2), array.slice(0, 1)])
    assert _non_ascii_chars_of(chunked) == set("区域合作–ï協同")


@pytest.mark.parametrize("engine_cache", [("--cache",), ("--no-cache",)])
def test_an_english_keyword_added_to_a_code_using_chinese_matches_that_code_alone(tmp_path, engine_cache):
    """Every code of the shipped codebook has Chinese terms, and codes using Chinese were matched together:
    one English keyword added to one code matched every code again (80 of 80 pairs on the seeds; 0.98x a
    cold run on 70 MB, probe G3). Now that code alone is matched, told every Chinese term of the codebook,
    and the run is a fresh run's."""
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    text = (ROOT / "codebook.yaml").read_text(encoding="utf-8")
    codebook.write_text(text, encoding="utf-8")
    run_ok(corpus, codebook, tmp_path / "out")
    start = text.index("keywords:", text.index("party_building_alliance:"))
    line_end = text.index("\n", start)
    indent = text[line_end + 1:text.index("-", line_end)]
    codebook.write_text(text[:line_end + 1] + f"{indent}- standing alliance council\n{indent}- region\n"
                        + text[line_end + 1:], encoding="utf-8")

    output = run_ok(corpus, codebook, tmp_path / "out")
    run_ok(corpus, codebook, tmp_path / "fresh", *engine_cache)

    assert "Matched 1 edited code(s) again" in output or "matched 5 (document, code) pair(s) again" in output, output
    assert output_files(tmp_path / "out").keys() >= {"segments.parquet", "code_counts.csv"}
    import pandas as pd

    recoded, fresh = (pd.read_parquet(tmp_path / name / "segments.parquet").drop(columns="status")
                      for name in ("out", "fresh"))
    pd.testing.assert_frame_equal(recoded, fresh)
    assert (tmp_path / "out" / "code_counts.csv").read_bytes() == (tmp_path / "fresh" / "code_counts.csv").read_bytes()
