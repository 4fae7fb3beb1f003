"""Co-occurrence counts and measures against values worked out by hand."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from conftest import SMALL_CODEBOOK, SMALL_ROWS, segment_frame
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder.cooccurrence import (
    CODE_COLUMNS,
    PAIR_COLUMNS,
    build_cooccurrence,
    cooccurrence_counts,
    roll_up,
)
from coder.errors import OutputError


def frame(rows: list[tuple[str, int, str]], reviews: dict[int, str] | None = None) -> pd.DataFrame:
    """Segments rows (document, passage, code) with the columns of segments.csv."""
    return segment_frame(
        rows, reviews=reviews, end=1, label=lambda document, passage, code: code.title(),
        matched=lambda document, passage, code: f"{code}-word", text=lambda document, passage, code: f"passage {document}:{passage}",
    )


# SMALL_ROWS, and in d2 ¶1 local too, rejected by the reviewer; d2 ¶2: no code. N = 6.
SMALL = frame([*SMALL_ROWS, ("d2", 1, "local")], reviews={9: "Rejected"})


def test_cooccurrence_counts_per_code_by_hand():
    result = build_cooccurrence(SMALL, total_passages=6)
    expected = pd.DataFrame({
        "code": ["admin", "gov", "local"],
        "code_path": ["barriers/admin", "gov", "barriers/local"],
        "label": ["Admin", "Gov", "Local"],
        "passages": [3, 4, 2],
        "documents": [2, 2, 1],
    })
    pd.testing.assert_frame_equal(result.codes, expected)
    assert result.total_passages == 6
    assert list(result.codes.columns) == list(CODE_COLUMNS)


def test_cooccurrence_measures_by_hand():
    result = build_cooccurrence(SMALL, total_passages=6)
    pairs = result.pairs
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    assert pairs[["source", "target", "count", "documents"]].values.tolist() == [
        ["admin", "gov", 3, 2],
        ["admin", "local", 1, 1],
        ["gov", "local", 1, 1],
    ]
    # jaccard n12/(n1+n2-n12): 3/(3+4-3), 1/(3+2-1), 1/(4+2-1)
    assert pairs["jaccard"].tolist() == pytest.approx([0.75, 0.25, 0.2], abs=1e-12)
    # association n12*N/(n1*n2): 3*6/(3*4), 1*6/(3*2), 1*6/(4*2)
    assert pairs["association"].tolist() == pytest.approx([1.5, 1.0, 0.75], abs=1e-12)
    # npmi log(n12*N/(n1*n2)) / -log(n12/N): log 1.5/log 2, 0, log 0.75/log 6
    assert pairs["npmi"].tolist() == pytest.approx(
        [math.log(1.5) / math.log(2), 0.0, math.log(0.75) / math.log(6)], abs=1e-12
    )
    assert pairs[["example_document", "example_passage"]].values.tolist() == [["d1", 0], ["d1", 1], ["d1", 1]]


def test_cooccurrence_rejected_rows_are_not_counted():
    accepted = SMALL.assign(review="")
    with_rejected = build_cooccurrence(SMALL, total_passages=6).codes.set_index("code")["passages"]
    without_review = build_cooccurrence(accepted, total_passages=6).codes.set_index("code")["passages"]
    assert with_rejected["local"] == 2
    assert without_review["local"] == 3


@pytest.mark.parametrize(
    "level, codes, pairs",
    [
        # barriers = admin ∪ local: d1¶0 d1¶1 d1¶2 d2¶0 -> 4 passages; with gov: d1¶0 d1¶1 d2¶0 -> 3
        (1, [["barriers", "barriers", 4, 2], ["gov", "gov", 4, 2]],
         [["barriers", "gov", 3, 2, 3 / 5, 3 * 6 / 16, math.log(1.125) / math.log(2)]]),
        (2, [["admin", "barriers/admin", 3, 2], ["gov", "gov", 4, 2], ["local", "barriers/local", 2, 1]],
         [["admin", "gov", 3, 2, 0.75, 1.5, math.log(1.5) / math.log(2)],
          ["admin", "local", 1, 1, 0.25, 1.0, 0.0],
          ["gov", "local", 1, 1, 0.2, 0.75, math.log(0.75) / math.log(6)]]),
    ],
)
def test_cooccurrence_roll_up_by_level_by_hand(level, codes, pairs):
    result = build_cooccurrence(SMALL, total_passages=6, level=level, codebook=SMALL_CODEBOOK)
    assert result.codes[["code", "code_path", "passages", "documents"]].values.tolist() == codes
    got = result.pairs[["source", "target", "count", "documents", "jaccard", "association", "npmi"]].values.tolist()
    assert [row[:4] for row in got] == [row[:4] for row in pairs]
    assert [value for row in got for value in row[4:]] == pytest.approx([value for row in pairs for value in row[4:]])
    assert result.level == level


def test_cooccurrence_roll_up_merges_children_into_one_row_per_passage():
    segments = frame([("d1", 1, "admin"), ("d1", 1, "local")])
    rolled = roll_up(segments, SMALL_CODEBOOK, 1)
    assert rolled[["document", "passage", "code", "code_path", "label", "matched"]].values.tolist() == [
        ["d1", 1, "barriers", "barriers", "Barriers", "admin-word; local-word"]
    ]


@pytest.mark.parametrize("codebook", [None, SMALL_CODEBOOK])
def test_cooccurrence_roll_up_uses_code_path_for_codes_missing_from_codebook(codebook):
    segments = pd.DataFrame({
        "document": ["d", "d"], "passage": [0, 0], "code": ["hand_coded", "gov"],
        "code_path": ["memos/hand_coded", "gov"], "label": ["Hand coded", "Governance"],
    })
    rolled = roll_up(segments, codebook, 1)
    assert rolled[["code", "code_path", "label"]].values.tolist() == [
        ["memos", "memos", "memos"], ["gov", "gov", "Governance"]
    ]


def test_cooccurrence_roll_up_fills_blank_code_path_from_codebook():
    segments = pd.DataFrame({"document": ["d"], "passage": [0], "code": ["local"], "code_path": [""]})
    assert roll_up(segments, SMALL_CODEBOOK, 1)[["code", "code_path"]].values.tolist() == [["barriers", "barriers"]]


def test_cooccurrence_roll_up_level_zero_is_an_error():
    with pytest.raises(OutputError, match=r"^level 0: levels count from 1 \(the top-level codes\)\. Pass --level 1 or more\.$"):
        roll_up(SMALL, SMALL_CODEBOOK, 0)


@pytest.mark.parametrize("passages", [2, 5])
def test_cooccurrence_npmi_is_one_when_a_pair_codes_every_passage(passages):
    rows = [(f"d{number}", 0, code) for number in range(passages) for code in ("a", "b")]
    pairs = build_cooccurrence(frame(rows), total_passages=passages).pairs
    assert pairs[["count", "documents", "jaccard", "association", "npmi"]].values.tolist() == [
        [passages, passages, 1.0, 1.0, 1.0]
    ]


@pytest.mark.parametrize("total, expected", [(None, 5), (10, 10)])
def test_cooccurrence_total_passages_defaults_to_coded_passages(total, expected):
    assert build_cooccurrence(SMALL, total_passages=total).total_passages == expected


def test_cooccurrence_total_passages_below_coded_passages_is_an_error():
    with pytest.raises(OutputError, match=r"^total_passages=3 is smaller than the 5 coded passages"):
        build_cooccurrence(SMALL, total_passages=3)


@pytest.mark.parametrize(
    "rows, codes, pairs",
    [
        ([], 0, 0),
        ([("d", 0, "a")], 1, 0),
        ([("d", 0, "a"), ("d", 1, "b"), ("e", 0, "a")], 2, 0),
    ],
)
def test_cooccurrence_empty_one_code_and_no_pair_cases(rows, codes, pairs):
    segments = frame(rows) if rows else pd.DataFrame(columns=list(SMALL.columns))
    result = build_cooccurrence(segments)
    assert (len(result.codes), len(result.pairs)) == (codes, pairs)
    assert list(result.pairs.columns) == list(PAIR_COLUMNS)
    assert list(result.codes.columns) == list(CODE_COLUMNS)


def test_cooccurrence_duplicate_rows_count_once():
    rows = [("d", 0, "a"), ("d", 0, "a"), ("d", 0, "b")]
    result = build_cooccurrence(frame(rows))
    assert result.codes["passages"].tolist() == [1, 1]
    assert result.pairs["count"].tolist() == [1]


def test_cooccurrence_passage_numbers_read_as_text():
    segments = SMALL.assign(passage=SMALL["passage"].astype(str))
    assert build_cooccurrence(segments, total_passages=6).pairs["count"].tolist() == [3, 1, 1]


@pytest.mark.parametrize("texts, expected", [
    (["one", "two"], ["one", "two"]),  # strings only: the column as it is
    (["one", None], ["one", ""]),
    (["one", float("nan")], ["one", ""]),
    (["one", 2], ["one", "2"]),
    ([None, None], ["", ""]),
])
def test_cooccurrence_example_texts_of_object_columns_are_strings_blank_for_missing(texts, expected):
    """A keyword recode's passage texts come as a column of Python strings: kept as they are, and
    missing cells still blank, other values as text."""
    segments = SMALL.head(2).assign(text=pd.Series(texts, dtype=object))
    assert build_cooccurrence(segments).segments["text"].tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("uvw"), st.integers(-2, 4), st.sampled_from("abcde")), max_size=40))
def test_cooccurrence_matches_brute_force_counting(rows):
    segments = frame(rows) if rows else pd.DataFrame(columns=list(SMALL.columns))
    result = build_cooccurrence(segments)
    coded: dict[tuple[str, int], set[str]] = {}
    for document, passage, code in rows:
        coded.setdefault((document, passage), set()).add(code)
    counts: dict[tuple[str, str], int] = {}
    documents: dict[tuple[str, str], set[str]] = {}
    for (document, _), codes in coded.items():
        for pair in itertools.combinations(sorted(codes), 2):
            counts[pair] = counts.get(pair, 0) + 1
            documents.setdefault(pair, set()).add(document)
    got = {(row.source, row.target): (row.count, row.documents) for row in result.pairs.itertuples()}
    assert got == {pair: (count, len(documents[pair])) for pair, count in counts.items()}
    per_code = {code: sum(code in codes for codes in coded.values()) for code in {row[2] for row in rows}}
    assert dict(zip(result.codes["code"], result.codes["passages"])) == per_code


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("uvwx"), st.integers(0, 5), st.sampled_from("abcdef")), max_size=60),
       st.integers(1, 12))
@example(rows=[("u", 0, "a"), ("u", 0, "b"), ("u", 1, "a"), ("u", 1, "b")], at_once=1)  # one document, two runs
def test_cooccurrence_pairs_made_a_few_passages_at_a_time_count_the_same(rows, at_once):
    """A dictionary of thousands of codes made every passage's pairs in one piece (84 million, 9 GB):
    now runs of passages are counted apart and added up, documents cut between runs counted once."""
    from unittest import mock

    import coder.cooccurrence

    segments = frame(rows) if rows else pd.DataFrame(columns=list(SMALL.columns))
    whole = build_cooccurrence(segments)
    with mock.patch.object(coder.cooccurrence, "_PAIRS_AT_ONCE", at_once):
        in_runs = build_cooccurrence(segments)
    pd.testing.assert_frame_equal(in_runs.pairs, whole.pairs)
    pd.testing.assert_frame_equal(in_runs.codes, whole.codes)


def test_cooccurrence_lexsort_path_for_huge_keys_gives_the_same_pairs(monkeypatch):
    import coder.cooccurrence

    packed = build_cooccurrence(SMALL, total_passages=6).pairs
    monkeypatch.setattr(coder.cooccurrence, "_PACKED_KEY_LIMIT", 0)
    pd.testing.assert_frame_equal(build_cooccurrence(SMALL, total_passages=6).pairs, packed)


@pytest.mark.parametrize("level", [None, 1])
@pytest.mark.parametrize("rows", [SMALL, SMALL.iloc[:0]], ids=["small", "empty"])
def test_cooccurrence_counts_are_build_cooccurrences_counts(rows: pd.DataFrame, level: int | None):
    """What a partition keeps: build_cooccurrence's coded codes (without a level, with their passage
    hashes), its pairs' counts and example passages (an Arrow table), and its counted rows."""
    from coder.cooccurrence import PASSAGE_HASH_COLUMNS, add_code_hashes

    built = build_cooccurrence(rows, level=level, codebook=SMALL_CODEBOOK, with_counts=True)
    codes, pairs, counted = cooccurrence_counts(rows, level=level, codebook=SMALL_CODEBOOK)
    if level is None:
        hashes = add_code_hashes([codes])
        assert [hashes[code].tolist() for code in built.counts.codes] == built.counts.hashes.tolist()
        codes = codes.drop(columns=list(PASSAGE_HASH_COLUMNS))
    assert codes.values.tolist() == built.codes[built.codes["passages"] > 0].values.tolist()
    assert pairs.column_names == ["source", "target", "count", "documents", "example_document", "example_passage"]
    assert pairs.to_pylist() == built.pairs[pairs.column_names].to_dict("records")
    pd.testing.assert_frame_equal(counted, built.segments)


def _counts_spy(monkeypatch_context) -> list[bool]:
    """Record whether each build_cooccurrence with `previous` took the stored pairs (True) or counted all."""
    import coder.cooccurrence

    used: list[bool] = []
    patched = coder.cooccurrence._patched_counts

    def spy(*args, **kwargs):
        result = patched(*args, **kwargs)
        used.append(result is not None)
        return result

    monkeypatch_context.setattr(coder.cooccurrence, "_patched_counts", spy)
    return used


_ROWS = st.lists(st.tuples(st.sampled_from(["u", "v", "w", "区"]), st.integers(0, 4), st.sampled_from("abcdef")),
                 max_size=40)


@settings(max_examples=80, deadline=None)
@given(before=_ROWS, edited=st.sets(st.sampled_from("abcdefg"), max_size=3), after=_ROWS,
       rejected=st.sets(st.integers(0, 39), max_size=3))
def test_cooccurrence_from_previous_counts_equals_counting_everything(before, edited, after, rejected):
    """The last run's counts plus the edited codes' rows give exactly what counting every row gives."""
    import coder.cooccurrence

    old = frame(before) if before else None
    if old is None:
        return
    kept = [row for row in before if row[2] not in edited]
    new_rows = sorted(kept + [row for row in after if row[2] in edited], key=lambda row: (row[0], row[1]))
    if not new_rows:
        return
    new = frame(new_rows, reviews={index: "reject" for index in rejected if index < len(new_rows)})
    previous = build_cooccurrence(old, total_passages=50, with_counts=True).counts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coder.cooccurrence, "_RECOUNT_SHARE", 1.0)
        used = _counts_spy(patch)
        result = build_cooccurrence(new, total_passages=50, previous=previous, with_counts=True)
    expected = build_cooccurrence(new, total_passages=50, with_counts=True)
    pd.testing.assert_frame_equal(result.pairs, expected.pairs)
    pd.testing.assert_frame_equal(result.codes, expected.codes)
    pd.testing.assert_frame_equal(result.counts.pairs, expected.counts.pairs)
    assert result.counts.hashes.tolist() == expected.counts.hashes.tolist()
    if expected.codes["code"].nunique() >= 2:
        assert used == [True]


def test_cooccurrence_counts_of_unchanged_codes_come_from_previous(tmp_path):
    """Only the changed codes' pairs are counted again: a stored count of two unchanged codes is taken
    as it is (here altered on purpose to show it), the changed code's pairs are counted."""
    previous = build_cooccurrence(SMALL, total_passages=6, with_counts=True).counts
    pairs = previous.pairs.copy()
    altered = type(previous)(codes=previous.codes, passages=previous.passages, hashes=previous.hashes,
                             pairs=pairs.assign(documents=pairs["count"]))
    changed = SMALL[~((SMALL["code"] == "meeting") & (SMALL["passage"] == 0) & (SMALL["document"] == "d1"))]
    result = build_cooccurrence(changed, total_passages=6, previous=altered).pairs
    expected = build_cooccurrence(changed, total_passages=6).pairs
    meeting = (result["source"] == "meeting") | (result["target"] == "meeting")
    pd.testing.assert_frame_equal(result[meeting], expected[meeting])
    others = result[~meeting].merge(altered.pairs, on=["source", "target"], suffixes=("", "_stored"))
    assert others["documents"].tolist() == others["documents_stored"].tolist()


@pytest.mark.parametrize("name", ["d1", "文件 ,\"q\"\\.txt"])
def test_cooccurrence_counts_read_back_as_written(tmp_path, name):
    from coder.cooccurrence import read_pair_counts, write_pair_counts

    segments = SMALL.assign(document=[name if document == "d1" else document for document in SMALL["document"]])
    counts = build_cooccurrence(segments, total_passages=6, with_counts=True).counts
    write_pair_counts(counts, tmp_path / "counts.json")
    read = read_pair_counts(tmp_path / "counts.json")
    assert read.codes == counts.codes
    assert read.passages.tolist() == counts.passages.tolist()
    assert read.hashes.tolist() == counts.hashes.tolist()
    assert read.pairs.astype(object).values.tolist() == counts.pairs.astype(object).values.tolist()
    again = build_cooccurrence(segments, total_passages=6, previous=read)
    pd.testing.assert_frame_equal(again.pairs, build_cooccurrence(segments, total_passages=6).pairs)


@pytest.mark.parametrize("damage", ["byte changed", "cut short", "not json", "other format", "missing",
                                    "count above the code's passages", "code not in the list", "wrong types"])
def test_cooccurrence_damaged_counts_are_not_used(tmp_path, damage):
    """A damaged or inconsistent counts file is never trusted: not read, or read and refused, the
    pairs are counted from the rows."""
    import hashlib
    import json

    import coder.cooccurrence
    from coder.cooccurrence import read_pair_counts, write_pair_counts

    path = tmp_path / "counts.json"
    write_pair_counts(build_cooccurrence(SMALL, total_passages=6, with_counts=True).counts, path)
    head, body = path.read_bytes().split(b"\n", 1)
    data = json.loads(body)

    def rewrite(data):  # a consistent checksum over edited content: only the checks on the content stop it
        text = json.dumps(data, separators=(",", ":")).encode("ascii")
        path.write_bytes(json.dumps({"format": 1, "checksum": hashlib.sha256(text).hexdigest()}).encode() + b"\n"
                         + text + b"\n")

    if damage == "byte changed":
        path.write_bytes(head + b"\n" + body.replace(b'"count":[3', b'"count":[4'))
    elif damage == "cut short":
        path.write_bytes(path.read_bytes()[:-20])
    elif damage == "not json":
        path.write_bytes(b"\x00\xff not json")
    elif damage == "other format":
        path.write_bytes(head.replace(b'"format": 1', b'"format": 2') + b"\n" + body)
    elif damage == "missing":
        path.unlink()
    elif damage == "count above the code's passages":
        data["pairs"]["count"] = [count + 10 for count in data["pairs"]["count"]]
        rewrite(data)
    elif damage == "code not in the list":
        data["pairs"]["source"][0] = "zzz"
        rewrite(data)
    elif damage == "wrong types":
        data["pairs"]["count"][0] = "3"
        rewrite(data)
    read = read_pair_counts(path)
    if damage == "count above the code's passages":
        assert read is not None  # well-formed, but it does not fit the rows: not used
        with pytest.MonkeyPatch.context() as patch:
            used = _counts_spy(patch)
            result = build_cooccurrence(SMALL, total_passages=6, previous=read)
        assert used == [False]
        pd.testing.assert_frame_equal(result.pairs, build_cooccurrence(SMALL, total_passages=6).pairs)
    else:
        assert read is None
    assert coder.cooccurrence  # imported for the spy


def test_cooccurrence_counts_of_another_corpus_are_not_taken():
    """Counts kept by a run of other documents share no code's passages: every pair is counted again."""
    other = build_cooccurrence(SMALL.assign(document=SMALL["document"] + "-other"), total_passages=6,
                               with_counts=True).counts
    with pytest.MonkeyPatch.context() as patch:
        used = _counts_spy(patch)
        result = build_cooccurrence(SMALL, total_passages=6, previous=other)
    assert used == [False]
    pd.testing.assert_frame_equal(result.pairs, build_cooccurrence(SMALL, total_passages=6).pairs)


@pytest.mark.parametrize("moved", [("d1", 0, "d1", 3), ("d1", 0, "d2", 0), ("d2", 3, "d1", 1)])
def test_cooccurrence_code_moved_to_other_passages_is_counted_again(moved):
    """A code coding as many passages as before, but other ones, is a changed code (its hash says so)."""
    document, passage, to_document, to_passage = moved
    rows = [("d1", 0, "a"), ("d1", 0, "b"), ("d1", 1, "b"), ("d1", 1, "c"), ("d1", 3, "c"), ("d2", 0, "c"),
            ("d2", 3, "a"), ("d2", 3, "c")]
    before = frame(rows)
    after = frame(sorted([(to_document, to_passage, code) if (doc, number) == (document, passage) and code == "a"
                          else (doc, number, code) for doc, number, code in rows]))
    previous = build_cooccurrence(before, total_passages=9, with_counts=True).counts
    with pytest.MonkeyPatch.context() as patch:
        used = _counts_spy(patch)
        result = build_cooccurrence(after, total_passages=9, previous=previous)
    assert used == [True]
    pd.testing.assert_frame_equal(result.pairs, build_cooccurrence(after, total_passages=9).pairs)


def _rolled_row_by_row(segments: pd.DataFrame, codebook, level: int) -> pd.DataFrame:
    """roll_up as it was written first, a Python call per row and per merged passage: the rule to keep."""
    from coder.cooccurrence import _join_matched, _with_columns
    from coder.models import ancestor_at

    frame = _with_columns(segments)
    paths = frame["code_path"].astype(str).where(frame["code_path"].astype(str) != "", None)
    if codebook is not None:
        paths = paths.fillna(frame["code"].map({code.id: code.code_path for code in codebook}))
    parts = paths.fillna(frame["code"].astype(str)).str.split("/")
    rolled = frame.assign(code=parts.map(lambda path: ancestor_at(path, level)),
                          code_path=parts.map(lambda path: "/".join(path[:level])))
    changed = (rolled["code"] != frame["code"]).to_numpy()
    if changed.any():
        labels = {code.id: code.label for code in codebook} if codebook is not None else {}
        rolled.loc[changed, "label"] = [labels.get(code, code) for code in rolled.loc[changed, "code"]]
    keys = ["document", "passage", "code"]
    if not rolled.duplicated(keys).any():
        return rolled
    merged = rolled.groupby(keys, sort=False, as_index=False).agg(
        {column: "first" for column in rolled.columns if column not in keys and column != "matched"}
        | {"matched": _join_matched})
    return merged[list(rolled.columns)]


_ROLL_ROW = st.tuples(st.sampled_from(["d1", "d2"]), st.integers(0, 3),
                      st.sampled_from(["admin", "local", "gov", "memo_a", "memo_b"]),
                      st.sampled_from(["", "x", "y; x", "x;y", "z"]), st.booleans())


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(_ROLL_ROW, min_size=1, max_size=14), level=st.integers(1, 2), with_codebook=st.booleans())
def test_cooccurrence_roll_up_is_the_row_by_row_rule(rows, level, with_codebook):
    """Each distinct path rolled once, matched words joined per passage: the frame the row-by-row rule gives
    (paths from code_path, else the codebook, else the id; children of one parent in a passage merged)."""
    paths = {"memo_a": "memos/memo_a", "memo_b": "memos/sub/memo_b"}
    segments = pd.DataFrame({
        "document": [row[0] for row in rows], "passage": [row[1] for row in rows], "code": [row[2] for row in rows],
        "code_path": [paths.get(row[2], "") if row[4] else "" for row in rows],
        "label": [row[2].upper() for row in rows], "matched": [row[3] for row in rows],
        "text": [f"{row[0]} {row[1]}" for row in rows], "review": "",
    })
    codebook = SMALL_CODEBOOK if with_codebook else None
    pd.testing.assert_frame_equal(roll_up(segments, codebook, level), _rolled_row_by_row(segments, codebook, level))


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from("uvw"), st.integers(-2, 4), st.sampled_from("abcde")), min_size=1,
                     max_size=40),
       ordered=st.booleans())
def test_cooccurrence_shortcuts_for_rows_in_order_and_few_cells_count_the_same(rows, ordered):
    """Rows in (document, passage, code) order are ranked without hashing, and each code's documents marked
    in a table: the same keys and tables as hashing them (rows out of order, or repeated, take that way)."""
    import numpy as np

    import coder.cooccurrence

    # A label per passage: a code's label is its first row's
    segments = segment_frame(sorted(rows) if ordered else rows, label=lambda document, passage, code: f"{code} {passage}")
    fast = build_cooccurrence(segments, total_passages=60, with_counts=True)
    first = segments.drop_duplicates("code").set_index("code")["label"]
    assert fast.codes["label"].tolist() == [first[code] for code in fast.codes["code"]]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coder.cooccurrence, "_ascending", lambda values, strictly=False: False)
        patch.setattr(coder.cooccurrence, "_DOCUMENT_CODE_CELLS", 0)
        plain = build_cooccurrence(segments, total_passages=60, with_counts=True)
    pd.testing.assert_frame_equal(fast.codes, plain.codes)
    pd.testing.assert_frame_equal(fast.pairs, plain.pairs)
    pd.testing.assert_frame_equal(fast.segments, plain.segments)
    for name in ("document_index", "passage_index", "code_index", "passage_documents", "documents"):
        assert np.array_equal(getattr(fast.passage_keys, name), getattr(plain.passage_keys, name)), name
        assert getattr(fast.passage_keys, name).dtype == getattr(plain.passage_keys, name).dtype, name
