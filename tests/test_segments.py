"""The segment table: segments.csv round trip, review state, matched words, the code-by-document counts report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder import parse_codebook
from coder.errors import OutputError
from coder.models import Segment, ancestor_at
from coder.segments import (
    SEGMENT_COLUMNS,
    build_code_counts,
    code_count_cells,
    drop_rejected,
    is_rejected,
    join_matched,
    read_parquet,
    read_segments_csv,
    rows_with_segment_ids,
    segment_id_numbers,
    segment_id_numbers_or_zero,
    segments_to_frame,
    split_matched,
    write_segments_csv,
)

CODEBOOK = parse_codebook("codes:\n  parent:\n    codes:\n      child: [x]\n      other: [y]\n  alone: [z]\n")


def segment(document: str, passage: int, code: str, text: str = "t") -> Segment:
    return Segment(document, passage, passage * 10, passage * 10 + 5, code, CODEBOOK[code].code_path,
                   CODEBOOK[code].label, 1, ("x",), text)


def test_segments_code_counts_roll_up_children_and_count_passages_once():
    frame = segments_to_frame([
        segment("a.txt", 0, "child"), segment("a.txt", 0, "other"), segment("a.txt", 1, "other"),
        segment("b.txt", 0, "alone"), segment("b.txt", 2, "child"),
    ])
    counts = build_code_counts(frame, CODEBOOK, ["a.txt", "b.txt", "c.txt"])
    assert counts.values.tolist() == [
        ["parent", "parent", "parent", 0, 0, 0, 0, 3],
        ["child", "parent/child", "child", 1, 1, 0, 2, 2],
        ["other", "parent/other", "other", 2, 0, 0, 2, 2],
        ["alone", "alone", "alone", 0, 1, 0, 1, 1],
        ["(any code)", "", "passages with at least one code", 2, 2, 0, 4, 4],
    ]
    cells, total, total_with_children = code_count_cells(frame, CODEBOOK, ["a.txt", "b.txt", "c.txt"])
    assert (cells.tolist(), total.tolist(), total_with_children.tolist()) == (
        counts[["a.txt", "b.txt", "c.txt"]].values.tolist(), counts["total"].tolist(), counts["total_with_children"].tolist())


FLAT_CODEBOOK = parse_codebook("codes:\n  child: [x]\n  other: [y]\n  alone: [z]\n")
_COUNT_ROW = st.tuples(st.sampled_from(["a.txt", "b.txt", "gone.txt"]), st.integers(0, 3),
                       st.sampled_from(["parent", "child", "other", "alone", "unknown"]))


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(_COUNT_ROW, max_size=16), nested=st.booleans(), in_order=st.booleans())
@example(rows=[("a.txt", 0, "child"), ("a.txt", 0, "other"), ("gone.txt", 1, "child"), ("a.txt", 2, "unknown")],
         nested=False, in_order=False)
@example(rows=[("a.txt", 0, "child"), ("a.txt", 0, "other"), ("a.txt", 0, "child"), ("a.txt", 1, "child"),
               ("b.txt", 1, "child"), ("b.txt", 1, "other"), ("b.txt", 1, "other")], nested=False, in_order=True)
def test_segments_code_count_cells_are_the_passages_counted_one_by_one(rows, nested, in_order):
    """Each cell, total and total_with_children counted by hand: distinct passages per code and document,
    a code's descendants' passages rolled up (a flat codebook rolls up nothing), documents not listed
    left out of the cells, codes the codebook lacks counted only in "(any code)". Rows `in_order`
    (document by document, passages in order, as a run's table comes; a code twice in one passage
    too) are numbered by their passage runs, other rows factorized."""
    from coder.segments import _passage_runs

    if in_order:
        rows = sorted(rows, key=lambda row: (row[0], row[1]))
    codebook = CODEBOOK if nested else FLAT_CODEBOOK
    documents = ["a.txt", "b.txt", "c.txt"]
    frame = pd.DataFrame({"document": pd.array([row[0] for row in rows], dtype="str"),
                          "passage": pd.array([row[1] for row in rows], dtype="int64"),
                          "code": pd.array([row[2] for row in rows], dtype="str")})
    cells, total, total_with_children = code_count_cells(frame, codebook, documents)
    if in_order and rows:
        assert _passage_runs(pd.factorize(frame["document"])[0], frame["passage"]) is not None
    ids = [code.id for code in codebook]
    passages = {(document, passage) for document, passage, code in rows}  # coded by any code, known or not
    expected_cells = [[len({(d, p) for d, p, c in rows if c == code and d == document}) for document in documents]
                      for code in ids]
    expected_cells.append([len({(d, p) for d, p, c in rows if d == document}) for document in documents])
    rolled = [len({(d, p) for d, p, c in rows if c in ids and code in codebook[c].path}) for code in ids]
    assert cells.tolist() == expected_cells
    assert total.tolist() == [sum(row) for row in expected_cells[:-1]] + [len(passages)]
    assert total_with_children.tolist() == rolled + [len(passages)]


@pytest.mark.parametrize("documents", [None, set(), {"b.txt"}, {"a.txt", "b.txt", "missing.txt"}])
def test_segments_read_parquet_keeps_the_rows_of_the_documents_asked(tmp_path: Path, documents):
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"document": ["a.txt", "b.txt", "a.txt", "c.txt"], "passage": [0, 1, 2, 3]}), tmp_path / "t.parquet")
    frame = read_parquet(tmp_path / "t.parquet", documents=documents)
    every = [("a.txt", 0), ("b.txt", 1), ("a.txt", 2), ("c.txt", 3)]
    assert list(zip(frame["document"], frame["passage"])) == [
        row for row in every if documents is None or row[0] in documents]


def test_segments_csv_round_trip_with_bom_and_chinese(tmp_path: Path):
    frame = segments_to_frame([segment("中文.txt", 3, "child", text="党建联盟, \"quoted\"\nline")])
    write_segments_csv(frame, tmp_path / "segments.csv")
    assert (tmp_path / "segments.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    again = read_segments_csv(tmp_path / "segments.csv")
    # Older files without status and source read with them filled: status blank, source auto.
    assert again.columns.tolist() == [*SEGMENT_COLUMNS, "status", "source"]
    pd.testing.assert_frame_equal(again[list(SEGMENT_COLUMNS)], frame.astype({"review": str, "note": str}))


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2 km", "@SUM(A1)", "\tx", "'=already", "''@two"])
def test_segments_csv_neutralizes_formulas_and_reads_them_back(tmp_path: Path, text: str):
    frame = segments_to_frame([segment("=evil.txt", 0, "child", text=text)])
    write_segments_csv(frame, tmp_path / "segments.csv")
    import csv
    import io

    rows = list(csv.reader(io.StringIO((tmp_path / "segments.csv").read_bytes().decode("utf-8-sig"), newline="")))
    # Each such cell starts with a quote, so Excel and LibreOffice show text, never run a formula.
    assert (rows[1][1], rows[1][11]) == ("'=evil.txt", "'" + text)
    again = read_segments_csv(tmp_path / "segments.csv")
    assert (again.loc[0, "document"], again.loc[0, "text"]) == ("=evil.txt", text)


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such segments file"),
    ("document,code\na.txt,x\n", "missing column(s) passage"),
])
def test_segments_read_errors_name_the_file(tmp_path: Path, content, message):
    path = tmp_path / "segments.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(OutputError) as error:
        read_segments_csv(path)
    assert str(error.value).startswith(f"{path}: {message}")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("reject", True), ("Rejected", True), (" REJECTED ", True), ("n", True), ("No", True),
        ("0", True), (0, True), (0.0, True), ("false", True), ("FALSE", True), (False, True), ("x", True),
        ("", False), (None, False), (float("nan"), False), ("accept", False), ("yes", False),
        ("1", False), (1, False), ("maybe", False),
    ],
)
def test_segments_is_rejected_reads_reviewer_spellings(value, expected):
    assert is_rejected(value) is expected


def test_segments_drop_rejected_keeps_unreviewed_and_accepted_rows():
    segments = pd.DataFrame({"code": ["a", "b", "c", "d"], "review": ["no", "", "yes", "Reject"]})
    assert drop_rejected(segments)["code"].tolist() == ["b", "c"]


def test_segments_drop_rejected_without_review_column_keeps_everything():
    segments = pd.DataFrame({"code": ["a", "b"]})
    assert drop_rejected(segments)["code"].tolist() == ["a", "b"]


@pytest.mark.parametrize(("cell", "words"), [
    ("red tape; delay", ["red tape", "delay"]),
    ("red tape;delay; red tape", ["red tape", "delay"]),  # re-saved without the space, repeated
    ("nan", ["nan"]),  # a keyword (the pinyin "nan"), not a missing value
    ("", []),
    (float("nan"), []),
    (None, []),
])
def test_segments_split_matched(cell, words):
    assert split_matched(cell) == words


@pytest.mark.parametrize(("words", "cell"), [(["a", "", "b", "a"], "a; b"), ([], "")])
def test_segments_join_matched_round_trips(words, cell):
    assert join_matched(words) == cell
    assert split_matched(cell) == list(dict.fromkeys(word for word in words if word))


@pytest.mark.parametrize(("path", "level", "expected"), [
    (("a", "b", "c"), 1, "a"), (("a", "b", "c"), 2, "b"), (("a", "b", "c"), 5, "c"), (("a",), 2, "a"),
])
def test_segments_ancestor_at_level(path, level, expected):
    assert ancestor_at(path, level) == expected


def test_a_parquet_file_depends_on_its_rows_not_on_how_the_table_is_chunked(tmp_path):
    # A recode reads passages.parquet back (other chunks) and must write the bytes a fresh run writes.
    import pyarrow as pa

    from coder.segments import PASSAGE_PARQUET_SCHEMA, write_parquet

    rows = 3000
    table = pa.table({
        "document": [f"doc_{row // 40:03d}.txt" for row in range(rows)],
        "passage": list(range(rows)), "start": [row * 10 for row in range(rows)],
        "end": [row * 10 + 9 for row in range(rows)], "kind": ["body"] * rows,
        # ~6 MB of distinct texts: several data pages, whose cuts followed the chunks before.
        "text": [f"passage {row} on regional cooperation " * 50 for row in range(rows)],
    }, schema=PASSAGE_PARQUET_SCHEMA)
    one = write_parquet(table, tmp_path / "one.parquet").read_bytes()
    batches = pa.Table.from_batches(table.to_batches(max_chunksize=97))
    assert batches["text"].num_chunks > 1
    assert write_parquet(batches, tmp_path / "many.parquet").read_bytes() == one
    assert write_parquet(table.slice(0, 0), tmp_path / "empty.parquet").exists()


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "str"])
def test_segments_segment_id_numbers_are_the_hex_digits(dtype):
    ids = pd.Series(["s0000000000000000", "s00000000000000ff", "sffffffffffffffff", "s0123456789abcdef"], dtype=dtype)
    assert segment_id_numbers(ids).tolist() == [int(value[1:], 16) for value in ids]


@pytest.mark.parametrize("ids", [
    ["s000000000000000F"],  # upper case: another string, so not the same number
    ["x000000000000000f"], ["s00000000000000f"], ["s0000000000000000f"], ["s000000000000000\u00e9"],
    ["s000000000000000f", None], [1],
])
def test_segments_segment_id_numbers_refuse_other_forms(ids):
    assert segment_id_numbers(pd.Series(ids, dtype=object)) is None


@pytest.mark.parametrize("ids", [[], pd.Series([], dtype=object), pd.Series([], dtype="str")])
def test_segments_segment_id_numbers_of_no_ids_are_none_at_all(ids):
    # The renamed codes' ids are a list, empty when no code was renamed: still numbers, not the slow path.
    assert segment_id_numbers(ids).tolist() == []


@pytest.mark.parametrize("last", ["s00000000000000ff", "s00000000000000fF", None])
def test_segments_segment_id_numbers_read_a_chunked_column_a_chunk_at_a_time(last):
    """A column as read from Parquet (a chunk per row group, an empty one among them): each chunk's
    ids read alike, and one id of another form in a later chunk refuses the whole column."""
    import pyarrow as pa

    chunks = [["s0000000000000000", "s0123456789abcdef"], [], ["sffffffffffffffff", last]]
    column = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(chunk, type=pa.large_string())
                                                                    for chunk in chunks])))
    numbers = segment_id_numbers(column)
    if last == "s00000000000000ff":
        assert numbers.tolist() == [0, 0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF, 0xFF]
    else:
        assert numbers is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="s0123456789abcdefAFgx \u00e9", min_size=15, max_size=18), max_size=6))
@example(["s0123456789abcdef", "s0123456789abcdes"])  # the prefix where a digit goes
@example(["s0123456789abcdef", "ss123456789abcdef"])
@example(["s00000000000000ff", "s0123456789abcdef"])
def test_segments_segment_id_numbers_read_the_ids_of_the_usual_form_only(ids):
    well_formed = all(len(value) == 17 and value[0] == "s" and all(char in "0123456789abcdef" for char in value[1:])
                      for value in ids)
    numbers = segment_id_numbers(pd.Series(ids, dtype="str"))
    assert (numbers is not None) is well_formed
    if well_formed:
        assert numbers.tolist() == [int(value[1:], 16) for value in ids]


def test_segments_segment_id_numbers_read_a_sliced_chunked_array():
    array = pa.chunked_array([["s0000000000000001", "s0000000000000002"], ["s0000000000000003"]]).slice(1)
    assert segment_id_numbers(array).tolist() == [2, 3]


@given(st.lists(st.integers(0, 2**64 - 1), max_size=30), st.lists(st.integers(0, 2**64 - 1), max_size=30),
       st.lists(st.text(max_size=18), max_size=3))
def test_segments_statuses_and_changes_tell_ids_apart_as_strings_do(new, old, others):
    from coder.diff import _key_numbers
    from coder.segments import segment_ids_among

    new_ids = pd.Series([f"s{number:016x}" for number in new] + others, dtype=object)
    old_ids = pd.Series([f"s{number:016x}" for number in old + new[:3]], dtype=object)
    assert segment_ids_among(new_ids, [old_ids]).tolist() == [value in set(old_ids) for value in new_ids]
    numbers = _key_numbers(pd.DataFrame({"key": old_ids}), pd.DataFrame({"key": new_ids}))
    expected = pd.factorize(pd.concat([new_ids, old_ids], ignore_index=True), use_na_sentinel=False)[0]
    assert np.array_equal(numbers, expected)


@pytest.mark.parametrize("dtype", [object, "str"])
def test_segments_rows_with_segment_ids_read_ids_as_normalize_segment_id_does(dtype):
    ids = pd.Series(["s0123456789abcdef", " 0123456789ABCDEF ", "sfedcba9876543210", "5.10941E+15", None], dtype=dtype)
    assert rows_with_segment_ids(ids, {"s0123456789abcdef"}).tolist() == [True, True, False, False, False]
    assert rows_with_segment_ids(ids, {"5.10941E+15"}).tolist() == [False, False, False, True, False]
    assert rows_with_segment_ids(ids, set()).tolist() == [False] * 5


@pytest.mark.parametrize("ids", [
    ["s000000000000000f", "s0000000000000010"],
    ["s000000000000000f", "S000000000000000F", None, "s00000000000000zz", "", "s000000000000000f0", "s0000000000000010"],
    pd.Series(["s00000000000000ab", float("nan"), "s00000000000000cd"], dtype=object, index=[5, 3, 9]),
])
def test_segments_segment_id_numbers_or_zero_reads_each_id_of_the_usual_form_and_zeroes_the_rest(ids):
    expected = [int(value[1:], 16) if isinstance(value, str) and re.fullmatch(r"s[0-9a-f]{16}", value) else 0
                for value in list(ids)]
    numbers = segment_id_numbers_or_zero(ids)
    assert numbers.dtype == np.uint64
    assert numbers.tolist() == expected


@pytest.mark.parametrize("layout", ["one file, row groups of 3", "a folder of parts"])
def test_segments_read_parquet_chosen_rows_are_the_table_filtered(tmp_path, layout):
    """read_parquet with a mask reads only those rows, a row group at a time, across part files, and
    gives what reading the whole table then filtering it gives; a mask of another length is refused."""
    import pyarrow.parquet as pq

    from coder.segments import read_parquet

    table = pa.table({"segment_id": [f"s{number:016x}" for number in range(10)],
                      "document": [f"d{number % 3}.txt" for number in range(10)], "passage": list(range(10))})
    path = tmp_path / "table.parquet"
    if layout == "a folder of parts":
        path.mkdir()
        for part, (start, stop) in enumerate([(0, 4), (4, 4), (4, 10)]):  # one part empty
            pq.write_table(table.slice(start, stop - start), path / f"part-{part:03d}.parquet", row_group_size=2)
    else:
        pq.write_table(table, path, row_group_size=3)
    whole = read_parquet(path, columns=["segment_id", "passage"])
    for mask in (np.zeros(10, dtype=bool), np.ones(10, dtype=bool), np.arange(10) % 3 == 1,
                 np.array([True] + [False] * 8 + [True])):
        chosen = read_parquet(path, columns=["segment_id", "passage"], rows=mask)
        pd.testing.assert_frame_equal(chosen, whole[mask].reset_index(drop=True))
    for wrong in (np.ones(9, dtype=bool), np.ones(11, dtype=bool)):
        with pytest.raises(OutputError, match="cannot read it as Parquet"):
            read_parquet(path, rows=wrong)
    # Rows chosen by what they hold (documents, or a keep asked of each row group), with or without a mask,
    # are the whole table filtered; `positions` keeps each row's position in the table as the index.
    whole = read_parquet(path)
    odd = np.arange(10) % 2 == 1
    keep_odd_passages = lambda rows: (rows["passage"].to_numpy() % 2 == 1)  # noqa: E731
    for options, expected in (
        ({"documents": {"d1.txt", "missing.txt"}}, whole["document"].eq("d1.txt").to_numpy()),
        ({"documents": set()}, np.zeros(10, dtype=bool)),
        ({"keep": keep_odd_passages}, odd),
        ({"keep": keep_odd_passages, "documents": {"d0.txt"}}, odd & whole["document"].eq("d0.txt").to_numpy()),
        ({"keep": keep_odd_passages, "rows": np.arange(10) < 5}, odd & (np.arange(10) < 5)),
    ):
        chosen = read_parquet(path, **options)
        pd.testing.assert_frame_equal(chosen, whole[expected].reset_index(drop=True))
        pd.testing.assert_frame_equal(read_parquet(path, positions=True, **options), whole[expected])


def test_segments_numbered_codes_are_the_ids_as_numbers_and_the_codes_as_indices(tmp_path):
    """segments.parquet's ids and codes read a batch at a time as numbers and indices into the names
    met (shared across calls), as the whole columns read as text give them; None for an id of another form."""
    import pyarrow.parquet as pq

    from coder.segments import numbered_codes

    codes = ["b", "a", "b", None, "c"] * 30_000  # more rows than a batch
    table = pa.table({"segment_id": [f"s{number * 7919:016x}" for number in range(len(codes))], "code": codes})
    path = tmp_path / "segments.parquet"
    pq.write_table(table, path, row_group_size=100_000)
    names = {"c": 0}
    numbers, indices = numbered_codes(path, names)
    assert numbers.dtype == np.uint64 and numbers.tolist() == [number * 7919 for number in range(len(codes))]
    assert names == {"c": 0, "b": 1, "a": 2, "": 3}
    assert [list(names)[index] for index in indices[:5]] == ["b", "a", "b", "", "c"]
    assert len(indices) == len(codes)
    pq.write_table(table.set_column(0, "segment_id", pa.array(["S" + value[1:] for value in table["segment_id"].to_pylist()])),
                   path)
    assert numbered_codes(path, {}) is None
    with pytest.raises(OutputError, match="no such Parquet table"):
        numbered_codes(tmp_path / "missing.parquet", {})


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=200), st.sampled_from([np.uint64, np.int64]))
@settings(max_examples=60, deadline=None)
def test_segments_distinct_sorted_is_np_unique(values, dtype):
    from coder.segments import distinct_sorted

    array = np.array(values, dtype=np.uint64).astype(dtype)
    found = distinct_sorted(array)
    assert found.dtype == array.dtype
    assert found.tolist() == np.unique(array).tolist()



@pytest.mark.parametrize("pieces", [[0], [5, 0, 700], [0, 256, 256, 1], [300, 0, 300, 99], [1] * 9])
def test_join_parquet_parts_writes_the_bytes_of_the_whole_table(tmp_path, monkeypatch, pieces):
    """Part files of any size (empty ones among them, before and after the first with rows) joined:
    the bytes write_parquet writes for the whole table, its row groups included."""
    import pyarrow as pa

    from coder import segments

    monkeypatch.setattr(segments, "_ROW_GROUP_ROWS", 256)
    rows = sum(pieces)
    whole = pa.table({"document": [f"doc {row // 40}" for row in range(rows)], "passage": list(range(rows)),
                      "code": [f"c{row % 7}" for row in range(rows)]})
    parts, start = [], 0
    for number, piece in enumerate(pieces):
        parts.append(segments.write_parquet(whole.slice(start, piece), tmp_path / "parts" / f"part-{number:05d}.parquet"))
        start += piece
    segments.join_parquet_parts(parts, tmp_path / "joined.parquet")
    segments.write_parquet(whole, tmp_path / "whole.parquet")

    assert (tmp_path / "joined.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["joined.parquet", "parts", "whole.parquet"]


def test_check_parquet_size_refuses_only_what_decodes_into_far_more_than_its_size(tmp_path, monkeypatch):
    """Past the floor, a file whose columns decode into more than _PARQUET_MAX_EXPANSION times its size
    is refused; text that compresses as text does (or anything under the floor) is not."""
    import random

    import pyarrow as pa

    from coder import segments

    monkeypatch.setattr(segments, "_PARQUET_EXPANSION_FLOOR", 1_000_000)
    words = [f"word{number}" for number in range(5000)]
    chooser = random.Random(7)
    prose = pa.table({"text": [" ".join(chooser.choices(words, k=400)) for _ in range(1000)]})  # ~3 MB
    repeated = pa.table({"text": ["a" * 3_000_000]})
    small = pa.table({"text": ["a" * 900_000]})
    for name, table in (("prose", prose), ("repeated", repeated), ("small", small)):
        segments.write_parquet(table, tmp_path / f"{name}.parquet")

    segments.check_parquet_size(tmp_path / "prose.parquet")
    segments.check_parquet_size(tmp_path / "small.parquet")
    with pytest.raises(ValueError, match="would take 3 MB or more from 1 KB on disk"):
        segments.check_parquet_size(tmp_path / "repeated.parquet")


@pytest.mark.parametrize("arrow_schema", [True, False])
def test_check_parquet_size_counts_what_a_dictionary_column_decodes_into(tmp_path, monkeypatch, arrow_schema):
    """A text column stored as a dictionary of one long value and a row pointing at it, many times: small
    on disk and in its pages (2 MB), 12 GB once decoded (a rerun took 236 s and 23 GB of memory). Its
    rows are counted from the dictionary and the indices, never decoded; the columns asked only."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from coder import segments

    rows = 3000
    value = os.urandom(200_000).hex()  # 400 KB that does not compress: 1.2 GB over the rows
    table = pa.table({"document": pa.array([f"d{row}" for row in range(rows)]),
                      "matched": pa.DictionaryArray.from_arrays(pa.array([0] * rows, type=pa.int32()), pa.array([value]))})
    pq.write_table(table, tmp_path / "bomb.parquet", compression="zstd", store_schema=arrow_schema)
    assert (tmp_path / "bomb.parquet").stat().st_size < 500_000

    with pytest.raises(ValueError, match="would take 1,2[0-9]{2} MB or more from"):
        segments.check_parquet_size(tmp_path / "bomb.parquet")
    segments.check_parquet_size(tmp_path / "bomb.parquet", columns=["document"])
    with pytest.raises(segments.OutputError, match="bomb.parquet: cannot read it as Parquet"):
        segments.read_parquet(tmp_path / "bomb.parquet")


@pytest.mark.parametrize("edit, message", [
    (lambda rows: rows[1].__setitem__(rows[0].index("code"), ""),
     "row 2: `code` is blank. Every row names the document and the code of a segment: fill it in or delete the row."),
    (lambda rows: rows[1].__setitem__(rows[0].index("passage"), "-1"),
     "row 2: column 'passage' must hold a whole number, not '-1'. Pass segments.csv as `coder run` wrote it."),
    (lambda rows: rows[0].__setitem__(rows[0].index("passage"), "document"),
     "the header names column 'document' twice (columns 2 and 3). Rename or delete one, then try again."),
    (lambda rows: rows[2].__setitem__(rows[0].index("review"), "rejct"),
     "row 3: 'rejct' is not a review decision. Write accept (or yes, y, 1, ok, ✓, 接受), reject (or no, n, 0, x, ✗, 拒绝), add "
     "(to code a passage by hand) or withdraw (to remove the decision taken), or leave it blank."),
])
def test_segments_standalone_file_edited_by_hand_is_refused_by_row(tmp_path, monkeypatch, edit, message):
    """A segments.csv without its run, edited in a spreadsheet: a blank code was an internal error
    (KeyError: ''), a repeated column name a network of nothing, "rejct" an accepted segment."""
    import csv

    from conftest import invoke, make_run_folder

    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "Red tape again.\n\nA joint meeting on red tape.\n\nJoint meetings.\n"},
                    "codes:\n  barrier: [red tape]\n  meeting: [joint meeting]\n")
    source = tmp_path / "outputs" / "segments.csv"
    rows = list(csv.reader(source.read_text(encoding="utf-8-sig").splitlines()))
    edit(rows)
    (tmp_path / "alone").mkdir()
    with open(tmp_path / "alone" / "segments.csv", "w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file).writerows(rows)
    result = invoke("network", tmp_path / "alone" / "segments.csv", "--out", tmp_path / "net")
    assert (result.exit_code, result.output) == (1, f"Error: {tmp_path / 'alone' / 'segments.csv'}: {message}\n")
