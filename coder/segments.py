"""Stage 5: the segment table: coded Segments <-> DataFrame <-> segments.csv/.parquet, its review state and matched words.

Every module that reads segments.csv, segments.parquet, passages.parquet, a `review` cell or a
`matched` cell asks this one; the code-by-document counts report is built here too.

The data of record of a run is two Parquet tables (zstd): segments.parquet, one row per segment
without the passage text (SEGMENT_PARQUET_COLUMNS), and passages.parquet, every passage with its
text (PASSAGE_PARQUET_COLUMNS); a segment's text joins from its passage on (document, passage).
Either may be one file or a folder of part-*.parquet files (one per batch, written by
`write_segments_part`), read in part order. segments.csv and passages.csv are views derived from
them for people.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import OutputError, quoted
from .files import (
    atomic_path,
    display_name,
    read_table,
    special_file_kind,
    table_encoding,
    write_csv,
)
from .imports import LazyModule
from .models import (
    SEGMENT_ID_PREFIX,
    Codebook,
    Document,
    Segment,
    join_matched,
    normalize_segment_id,
)

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

SEGMENT_COLUMNS = (
    "segment_id", "document", "passage", "start", "end", "kind", "code", "code_path", "label",
    "hits", "matched", "text", "review", "note",
)
# segments.csv as `coder run` writes it: `status` says what a reviewer still has to look at (new,
# unchanged since the last run, or the decision taken before: accepted, rejected, added); `source`
# is auto for the tool's rows and manual for passages a reviewer coded by hand.
OUTPUT_COLUMNS = (*SEGMENT_COLUMNS[:-2], "status", "review", "note", "source")
STATUSES = ("new", "unchanged", "accepted", "rejected", "added")
_INTEGER_COLUMNS = ("passage", "start", "end", "hits")

Decision = Literal["accept", "reject"]
_ACCEPT = frozenset({"accept", "accepted", "a", "y", "yes", "1", "true", "ok", "✓", "✔", "+", "✅", "☑",
                     "接受", "同意", "是", "对", "保留", "确认"})
_REJECT = frozenset({"reject", "rejected", "r", "n", "no", "0", "false", "x", "✗", "✘", "-", "❌", "✖", "❎",
                     "拒绝", "不同意", "否", "错", "删除", "排除", "不是"})
# What Excel and LibreOffice turn a typed 1/0/TRUE into when the column is re-saved.
_NUMERIC = {"1.0": "1", "0.0": "0"}


def segments_to_frame(segments: Iterable[Segment]) -> pd.DataFrame:
    """One row per (passage, code), in the column order of segments.csv; review and note empty.

    >>> segments_to_frame([]).columns[:3].tolist()
    ['segment_id', 'document', 'passage']
    """
    rows = [
        (s.segment_id, s.document, s.passage, s.start, s.end, s.kind, s.code, s.code_path, s.label,
         s.hits, join_matched(s.matched), s.text, "", "")
        for s in segments
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(SEGMENT_COLUMNS))
    return frame.astype({column: "int64" for column in _INTEGER_COLUMNS})


def add_page_column(frame: pd.DataFrame, documents: Iterable[Document]) -> pd.DataFrame:
    """Insert `page` after `end` when any document has pages (PDFs): the page where the passage
    starts, "3-4" when it runs onto the next. Without paged documents the frame is unchanged.

    >>> frame = segments_to_frame([])
    >>> add_page_column(frame, [Document("a.pdf", "ab", pages=((0, 2),))]).columns[5]
    'page'
    """
    paged = {document.path: document for document in documents if document.pages}
    if not paged:
        return frame
    pages = [
        paged[document].page_label(start, end) if document in paged else ""
        for document, start, end in zip(frame["document"], frame["start"], frame["end"])
    ]
    frame = frame.copy()
    frame.insert(frame.columns.get_loc("end") + 1, "page", pd.Series(pages, index=frame.index, dtype=object))
    return frame


def write_segments_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write segments.csv (UTF-8 with BOM for Excel), atomically; the review columns last, as in OUTPUT_COLUMNS."""
    tail = ("status", "review", "note", "source")
    columns = [column for column in frame.columns if column not in (*tail, "fingerprint")]
    write_csv(frame[columns + [column for column in tail if column in frame.columns]], path)


def read_segments_csv(path: str | Path) -> pd.DataFrame:
    """Read a segments.csv written by `coder run` (or re-saved by a spreadsheet); integer columns as int64.

    >>> read_segments_csv("outputs/segments.csv").columns[:3].tolist()  # doctest: +SKIP
    ['segment_id', 'document', 'passage']
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise OutputError(f"{display_name(path)}: not a file (a folder, a device or a pipe). Pass the path of a segments.csv.")
    if not path.is_file():
        raise OutputError(f"{display_name(path)}: no such segments file. Run `coder run` first, or pass the path of a segments.csv.")
    frame = read_table(path, chinese_code_pages=True)
    missing = [column for column in ("document", "passage", "code") if column not in frame.columns]
    if missing:
        raise OutputError(f"{path}: missing column(s) {', '.join(missing)}; expected the columns of segments.csv.")
    for column in ("review", "note", "code_path", "label", "matched", "text", "segment_id", "status", "kind"):
        if column not in frame.columns:
            frame[column] = ""
    if "source" not in frame.columns:
        frame["source"] = "auto"
    if "page" in frame.columns:  # "3" and "3-4": text, whatever a spreadsheet made of them
        frame["page"] = frame["page"].astype(str).replace({"nan": ""}).str.removesuffix(".0")
    # A row a reviewer typed to code a passage by hand (review `add`, with document, passage and code
    # only, as the README invites) is no segment until `coder run` (or `review import`) places it.
    pending = frame["review"].map(decision_text).isin(ADD_SPELLINGS).to_numpy() & np.logical_or.reduce(
        [pd.to_numeric(frame[column], errors="coerce").isna().to_numpy() for column in _INTEGER_COLUMNS if column in frame.columns]
        or [np.zeros(len(frame), dtype=bool)])
    if pending.any():
        frame = frame[~pending].reset_index(drop=True)
    for column in _INTEGER_COLUMNS:
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            # 1.5 must not become passage 1: a fraction is as wrong as a word.
            wrong = (numbers.isna() | (numbers != numbers.round()) | (numbers.abs() >= 2**53) | (numbers < 0)).to_numpy()
            if wrong.any():
                row = int(wrong.argmax())
                raise OutputError(
                    f"{path}: row {row + 2}: column '{column}' must hold a whole number, not "
                    f"'{frame[column].iloc[row]}'. Pass segments.csv as `coder run` wrote it."
                )
            frame[column] = numbers.astype("int64")
    for column in ("document", "code"):
        blank = (frame[column].astype(str).str.strip() == "").to_numpy()
        if blank.any():
            raise OutputError(f"{path}: row {int(blank.argmax()) + 2}: `{column}` is blank. Every row names the document "
                              f"and the code of a segment: fill it in or delete the row.")
    return frame


# What a reviewer types into segments.csv, and the cells that place each row on its segment: when the
# latter read as the run wrote them, row for row, the file's other cells are the Parquet tables' too.
TYPED_COLUMNS = ("review", "note")
PLACING_COLUMNS = ("segment_id", "document", "passage", "start", "end", "code", "status", "source")


def read_typed_cells(path: str | Path) -> pd.DataFrame | None:
    """segments.csv's placing and typed cells only (TYPED_COLUMNS and what places a row), every cell as
    text; None when the file is not read so: a legacy code page (told from its `text` cells, see
    `files.read_table`), a column missing, or anything `read_segments_csv` would refuse or repair."""
    wanted = (*PLACING_COLUMNS, *TYPED_COLUMNS)
    try:
        frame = read_table(path, columns=wanted)
    except OutputError:
        return None
    if table_encoding(frame) not in ("utf-8-sig", "utf-8", "utf-16") or set(frame.columns) != set(wanted):
        return None
    return frame


def with_typed_cells(frame: pd.DataFrame, typed: pd.DataFrame) -> pd.DataFrame | None:
    """`frame` (the run's segments as read from Parquet, with every placing column) with the review and
    note cells of `typed` (`read_typed_cells`); None unless `typed` has the same rows in the same order,
    each placed as in `frame`: a row added, deleted, moved or changed there is read from the file whole."""
    if not cells_as_written(frame, typed, PLACING_COLUMNS):
        return None
    frame = frame.copy()
    for column in TYPED_COLUMNS:
        frame[column] = typed[column].to_numpy(dtype=object)
    return frame


def cells_as_written(frame: pd.DataFrame, typed: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Do `typed`'s cells (text, as `read_typed_cells` reads them) of `columns` read, row for row, as the
    run wrote `frame`'s (as read from Parquet)?"""
    if len(typed) != len(frame):
        return False
    for column in columns:
        written = frame[column]
        written = written.astype("int64").astype(str) if column in _INTEGER_COLUMNS else written.astype(str)
        if not np.array_equal(written.to_numpy(dtype=object), typed[column].to_numpy(dtype=object)):
            return False
    return True


def check_review_cells(path: str | Path, frame: pd.DataFrame) -> None:
    """Stop unless every `review` cell of a segments table read as it is (no review file takes its
    decisions) is blank or a decision: "rejct" or "Reject." had counted as accepted."""
    from .reviews import decision_spellings

    if "review" not in frame.columns:
        return
    _, wrong = decision_spellings(frame["review"].reset_index(drop=True))
    if wrong is not None:
        raise OutputError(f"{display_name(path)}: row {wrong[0] + 2}: {wrong[1]}")


# --- Parquet: the segment data of record ------------------------------------------------------

_TEXT = pa.string()
# segments.parquet: the columns of segments.csv without `text`, plus the passage's
# passage_fingerprint() (what comparing two runs needs) and `span_text`, empty except on a
# segment a reviewer coded on part of a passage (its own text; every other row's text is its
# passage's). `page` is there when the corpus has paged documents (PDFs).
SEGMENT_PARQUET_SCHEMA = pa.schema([
    ("segment_id", _TEXT), ("document", _TEXT), ("passage", pa.int64()), ("start", pa.int64()),
    ("end", pa.int64()), ("page", _TEXT), ("kind", _TEXT), ("code", _TEXT), ("code_path", _TEXT),
    ("label", _TEXT), ("hits", pa.int64()), ("matched", _TEXT), ("status", _TEXT), ("review", _TEXT),
    ("note", _TEXT), ("source", _TEXT), ("fingerprint", _TEXT), ("span_text", _TEXT),
])
SEGMENT_PARQUET_COLUMNS = tuple(SEGMENT_PARQUET_SCHEMA.names)
# passages.parquet: every passage of the corpus, coded or not, with its text.
PASSAGE_PARQUET_SCHEMA = pa.schema([
    ("document", _TEXT), ("passage", pa.int64()), ("start", pa.int64()), ("end", pa.int64()),
    ("kind", _TEXT), ("text", _TEXT),
])
PASSAGE_PARQUET_COLUMNS = tuple(PASSAGE_PARQUET_SCHEMA.names)
# zstd at its default level: a third of snappy's size on passage text, and still cheap to write.
_COMPRESSION = "zstd"
_ROW_GROUP_ROWS = 256_000
# passages.parquet's row groups: each passage holds its text (~640 bytes on average), so a row group
# of this many is ~10 MB, where 256,000 rows were the whole text of a 100 MB corpus in one piece (what
# a writer or a reader of it holds at once).
_PASSAGE_ROW_GROUP_ROWS = 16_384


def _row_group_rows(schema: pa.Schema) -> int:
    return _PASSAGE_ROW_GROUP_ROWS if "text" in schema.names else _ROW_GROUP_ROWS


def segments_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A segments frame (segments.csv's columns, `fingerprint` when known) as a segments.parquet table.

    Columns the frame lacks are left empty (`source` auto); `text` is kept only where it is not
    the passage's (see `span_text`), which needs `passage_texts` to tell, so this function never
    keeps it: use `write_segments_parquet` for frames with hand-coded spans.
    """
    rows = len(frame)
    columns = []
    for field in SEGMENT_PARQUET_SCHEMA:
        if field.name in frame.columns:
            values = frame[field.name]
            if pa.types.is_string(field.type):
                if isinstance(values.dtype, pd.CategoricalDtype):
                    values = values.astype(str)
                # Arrow-backed text goes across without a Python object per cell.
                values = values.fillna("") if values.dtype == "str" else values.astype(object).where(values.notna(), "").astype(str)
                columns.append(pa.array(values, type=field.type, from_pandas=True))
            else:
                columns.append(pa.array(values.to_numpy(), type=field.type))
        elif field.name == "source":
            columns.append(pa.array(["auto"] * rows, type=field.type))
        elif field.name in ("page", "span_text"):
            columns.append(pa.nulls(rows, type=field.type))
        else:
            columns.append(pa.array([""] * rows, type=field.type))
    return pa.Table.from_arrays(columns, schema=SEGMENT_PARQUET_SCHEMA)


def passages_to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A passages frame (PASSAGE_PARQUET_COLUMNS) as a passages.parquet table."""
    # nthreads=1: for a partition's few thousand rows, the thread pool from_pandas starts costs more than it saves.
    return pa.Table.from_pandas(frame[list(PASSAGE_PARQUET_COLUMNS)], schema=PASSAGE_PARQUET_SCHEMA, preserve_index=False,
                                nthreads=1)


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write one Parquet file (zstd, dictionary-encoded strings), atomically.

    Each row group is written from one chunk per column: the file's bytes depend on the rows
    only, not on how the table happens to be chunked (a recode that reads a table back writes
    the bytes a fresh run writes), and only one row group is copied at a time.
    """
    rows = _row_group_rows(table.schema)
    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, table.schema, compression=_COMPRESSION) as writer:
        for start in range(0, max(table.num_rows, 1), rows):
            writer.write_table(table.slice(start, rows).combine_chunks(), row_group_size=rows)
    return Path(path)


def join_parquet_parts(parts: Sequence[str | Path], path: str | Path, *, blank_pages: bool = False) -> Path:
    """Write the part files `parts` (in this order) as one Parquet file, atomically, a part at a time:
    the same row groups, so the same bytes, as `write_parquet` writes from the whole table.

    `blank_pages`: the run has paged documents, so a `page` a part left empty (none of its
    documents has pages) is "", as `add_page_column` fills it for the whole table.

    >>> join_parquet_parts(sorted(Path("parts").glob("*.parquet")), "outputs/segments.parquet")  # doctest: +SKIP
    """
    import pyarrow.compute as pc

    # The schema of a part with rows: pandas' metadata says the types of its columns, which an empty part lacks.
    schema = next((pq.read_schema(part) for part in parts if pq.read_metadata(part).num_rows),
                  pq.read_schema(parts[0]))
    held: list[pa.Table] = []
    rows, group = 0, _row_group_rows(schema)

    def take(table: pa.Table) -> pa.Table:
        table = table.replace_schema_metadata(schema.metadata)
        if blank_pages and "page" in table.column_names:
            table = table.set_column(table.schema.get_field_index("page"), "page",
                                     pc.fill_null(table["page"], pa.scalar("", type=_TEXT)))
        return table.cast(schema)

    with atomic_path(path) as temporary, pq.ParquetWriter(temporary, schema, compression=_COMPRESSION) as writer:
        wrote = False
        for part in parts:
            held.append(take(pq.read_table(part)))
            rows += held[-1].num_rows
            while rows >= group:
                table = pa.concat_tables(held)
                block = table.slice(0, group).combine_chunks()
                held, rows = [table.slice(group)], rows - group
                del table  # the parts written, but for the rest of the last one
                writer.write_table(block, row_group_size=group)
                wrote = True
                del block
                pa.default_memory_pool().release_unused()  # else the pool keeps a row group's worth per row group
        if rows or not wrote:
            writer.write_table(pa.concat_tables(held).combine_chunks() if held else schema.empty_table(),
                               row_group_size=group)
    return Path(path)


def write_segments_parquet(frame: pd.DataFrame, path: str | Path, *, passages: pd.DataFrame | None = None) -> Path:
    """Write segments.parquet from a segments frame (atomically).

    A row whose `text` is not its passage's text (`passages`: document, passage, text), a
    hand-coded part of a passage, keeps it in `span_text`; every other row's text comes back
    from passages.parquet.

    >>> write_segments_parquet(result.segments, "outputs/segments.parquet")  # doctest: +SKIP
    """
    return write_parquet(segments_parquet_table(frame, passages=passages), path)


def segments_parquet_table(frame: pd.DataFrame, *, passages: pd.DataFrame | None = None) -> pa.Table:
    """The table `write_segments_parquet` writes (for a caller that writes it in another thread)."""
    table = segments_to_arrow(frame)
    if "text" in frame.columns and "source" in frame.columns and passages is not None:
        manual = frame["source"].eq("manual").to_numpy()
        if manual.any():
            own = frame.loc[manual, ["document", "passage", "text"]]
            known = passages.set_index(["document", "passage"])["text"]
            theirs = [known.get((document, passage)) for document, passage in zip(own["document"], own["passage"])]
            spans = pd.Series([None] * len(frame), dtype=object)
            spans[manual] = [text if text != passage_text else None for text, passage_text in zip(own["text"], theirs)]
            table = table.set_column(table.schema.get_field_index("span_text"), "span_text",
                                     pa.array(spans.to_numpy(), type=_TEXT))
    return table


def write_segments_part(segments: pd.DataFrame, passages: pd.DataFrame, folder: str | Path, part: int) -> tuple[Path, Path]:
    """Write one batch's segments and passages as part files of a run folder's two tables.

    `folder`/segments.parquet/part-NNNNN.parquet and `folder`/passages.parquet/part-NNNNN.parquet;
    parts are read in the order of `part`, so number batches in corpus order. The segments need
    no `text` column (the tool's rows take their passage's text).

    >>> write_segments_part(segments, passages, "outputs", 0)  # doctest: +SKIP
    """
    folder = Path(folder)
    name = f"part-{part:05d}.parquet"
    return (write_parquet(segments_to_arrow(segments), folder / "segments.parquet" / name),
            write_parquet(passages_to_arrow(passages), folder / "passages.parquet" / name))


# A table file someone else left in a run folder may hold a few KB that decode into gigabytes: a column
# of one repeated character compresses ~30,000 to 1, and a dictionary-encoded column may repeat one
# long value on every row (2 MB on disk, 12 GB decoded: a rerun took 236 s and 23 GB). The tool's own
# tables decode into at most ~12 times their size (the benchmark's generated text; real text ~3-4
# times): a file whose columns decode into more than this many times its size, and more than the
# floor, is not read.
_PARQUET_MAX_EXPANSION = 100
_PARQUET_EXPANSION_FLOOR = 64_000_000


def check_parquet_size(file: Path, metadata: pq.FileMetaData | None = None, *,
                       columns: Collection[str] | None = None) -> None:
    """Raise ValueError when the Parquet file's `columns` (default: all) would decode into far more than
    a table coder writes could (_PARQUET_MAX_EXPANSION times its size, past _PARQUET_EXPANSION_FLOOR
    bytes): first by the pages' sizes its footer gives, then, for a text column with a dictionary, by
    the lengths of the values its rows point to (read as the dictionary and the indices, what the
    file holds, never decoded)."""
    import pyarrow.compute as pc

    kind = special_file_kind(os.stat(file).st_mode)
    if kind is not None:  # a named pipe waits for ever in read_metadata (probe S F7)
        raise ValueError(f"it is {kind}, not a regular file")
    metadata = metadata if metadata is not None else pq.read_metadata(file)
    size = file.stat().st_size
    budget = max(_PARQUET_EXPANSION_FLOOR, _PARQUET_MAX_EXPANSION * size)
    schema, groups = metadata.schema, range(metadata.num_row_groups)
    chosen = [index for index in range(metadata.num_columns) if columns is None or schema.column(index).path in columns]

    def over(decoded: int) -> ValueError:
        return ValueError(f"its columns would take {decoded / 1e6:,.0f} MB or more from {size / 1e3:,.0f} KB on disk, "
                          "more than a table coder writes ever does")

    paged = {index: sum(metadata.row_group(group).column(index).total_uncompressed_size for group in groups)
             for index in chosen}
    if sum(paged.values()) > budget:
        raise over(sum(paged.values()))
    coded = [index for index in chosen if schema.column(index).physical_type == "BYTE_ARRAY" and any(
        "DICTIONARY" in encoding for group in groups for encoding in metadata.row_group(group).column(index).encodings)]
    if not coded:
        return
    decoded = sum(paged[index] for index in chosen if index not in coded)
    names = [schema.column(index).path for index in coded]
    parquet = pq.ParquetFile(file, read_dictionary=names)
    for group in groups:
        for column in parquet.read_row_group(group, columns=names, use_threads=False).columns:
            for chunk in column.chunks:
                decoded += int(pc.sum(pc.take(pc.binary_length(chunk.dictionary), chunk.indices)).as_py() or 0) \
                    if pa.types.is_dictionary(chunk.type) else chunk.nbytes
            if decoded > budget:
                raise over(decoded)


def _parquet_files(path: Path) -> list[Path]:
    """The files of a Parquet table: the file itself, or a folder's part files in name order."""
    if path.is_dir():
        return sorted(path.glob("*.parquet"))
    return [path]


def read_parquet(path: str | Path, *, columns: Sequence[str] | None = None,
                 documents: Collection[str] | None = None, rows: np.ndarray | None = None,
                 keep: Callable[[pa.Table], np.ndarray] | None = None, positions: bool = False,
                 check_size: bool = True) -> pd.DataFrame:
    """A Parquet table (one file or a folder of parts) as a frame: strings as text ("" for none), integers int64;
    with `documents`, only the rows of those documents; with `rows` (a mask of the table's rows), only
    those rows; with `keep` (a row group's table -> a mask of its rows, asked of the `columns` read), only
    the rows it keeps. Whichever of the three is given, the table is read a row group at a time and
    chosen before it becomes a frame: the whole table is never in memory. `positions`: the frame's
    index is each row's position in the whole table (as filtering a frame of it would leave it).
    `check_size` False: the files are not checked first (`check_parquet_size`): only for a run's own
    file, by its noted stamp.

    Raises OutputError naming the file when it is missing or not Parquet.
    """
    path = Path(path)
    files = _parquet_files(path) if path.exists() else []
    if not files:
        raise OutputError(f"{display_name(path)}: no such Parquet table. Run `coder run` first.")
    if documents is not None:
        keep = _of_documents(documents, keep)
    tables, chosen = [], []
    offset = 0  # the table's rows in the files before
    try:
        for file in files:
            if check_size:
                check_parquet_size(file, columns=columns)
            if rows is None and keep is None:
                table = pq.read_table(file, columns=list(columns) if columns is not None else None)
                if positions:
                    chosen.append(np.arange(offset, offset + table.num_rows))
                offset += table.num_rows
            else:
                table, offset = _chosen_rows(pq.ParquetFile(file), columns, rows, offset, keep, chosen)
            tables.append(table)
        if rows is not None and offset != len(rows):
            raise ValueError("the rows asked are not the table's")
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    except (pa.ArrowException, OSError, ValueError) as problem:
        raise _unreadable(path, problem)
    frame = _frame_of_table(table)
    if positions:
        frame.index = pd.Index(np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64))
    return frame


def _unreadable(path: Path, problem: Exception) -> OutputError:
    return OutputError(f"{display_name(path)}: cannot read it as Parquet ({problem}). Run `coder run` again to rewrite it.")


def _of_documents(documents: Collection[str], keep: Callable[[pa.Table], np.ndarray] | None
                  ) -> Callable[[pa.Table], np.ndarray]:
    """A `read_parquet` keep: the rows of these documents (and those `keep` keeps)."""
    import pyarrow.compute as pc

    chosen = sorted(documents)

    def of_documents(table: pa.Table) -> np.ndarray:
        column = table["document"]
        mask = pc.is_in(column, value_set=pa.array(chosen, type=column.type)).to_numpy(zero_copy_only=False)
        return mask & keep(table) if keep is not None else mask

    return of_documents


def _chosen_rows(file: pq.ParquetFile, columns: Sequence[str] | None, rows: np.ndarray | None,
                 offset: int, keep: Callable[[pa.Table], np.ndarray] | None = None,
                 chosen: list[np.ndarray] | None = None) -> tuple[pa.Table, int]:
    """The rows of `file` that `rows` (a mask over the whole table, whose row `offset` is the file's
    first; None: every row) marks and `keep` keeps, read a row group at a time; and the table's row
    after the file's last. `chosen` gains the positions of the rows taken."""
    tables = []
    for group in range(file.num_row_groups):
        size = file.metadata.row_group(group).num_rows
        if rows is not None and offset + size > len(rows):
            raise ValueError("the rows asked are not the table's")
        mask = rows[offset:offset + size] if rows is not None else np.ones(size, dtype=bool)
        if mask.any():
            table = file.read_row_group(group, columns=list(columns) if columns is not None else None)
            if keep is not None:
                mask = mask & np.asarray(keep(table), dtype=bool)
            tables.append(table.filter(pa.array(mask, type=pa.bool_())))
            if chosen is not None:
                chosen.append(offset + np.flatnonzero(mask))
        offset += size
    chosen = pa.concat_tables(tables) if tables else file.schema_arrow.empty_table().select(
        list(columns) if columns is not None else file.schema_arrow.names)
    return chosen, offset


def _frame_of_table(table: pa.Table) -> pd.DataFrame:
    """A table read from Parquet as `read_parquet` gives it."""
    frame = table.to_pandas()
    for name in frame.columns:
        if name in _INTEGER_COLUMNS:
            frame[name] = frame[name].astype("int64")
        elif name not in ("span_text", "page"):
            frame[name] = frame[name].fillna("").astype(object).astype(str) if frame[name].isna().any() else frame[name]
    return frame


def read_segments_parquet(path: str | Path, *, passages: str | Path | None = None,
                          columns: Sequence[str] | None = None,
                          segment_ids: Collection[str] | None = None, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Read segments.parquet into segments.csv's columns (as `read_segments_csv` gives them);
    with `passages` (passages.parquet), each row's `text` joins from its passage.

    `columns` reads only those (plus what the text join needs); without paged documents there is
    no `page` column, as in segments.csv. `segment_ids` keeps only the rows whose id is one of them
    (`rows_with_segment_ids`), before any text is joined. `rows` (a mask of the table's rows) reads
    only those, a row group at a time (`read_parquet`).

    >>> read_segments_parquet("outputs/segments.parquet", passages="outputs/passages.parquet").columns[:3].tolist()  # doctest: +SKIP
    ['segment_id', 'document', 'passage']
    """
    wanted = list(columns) if columns is not None else [name for name in SEGMENT_PARQUET_COLUMNS
                                                        if name not in ("fingerprint", "span_text")]
    with_text = passages is not None and (columns is None or "text" in wanted)
    reading = [name for name in SEGMENT_PARQUET_COLUMNS if name in wanted or (with_text and name in
                                                                               ("document", "passage", "span_text"))]
    if segment_ids is not None and "segment_id" not in reading:
        reading = [name for name in SEGMENT_PARQUET_COLUMNS if name in reading or name == "segment_id"]
    # Only these rows, chosen a row group at a time, and only their texts joined (a run's every text, as
    # strings, took seconds and gigabytes; a 100 MB run's every id and text read to list 1 segment: +150 MB).
    keep = None if segment_ids is None else (
        lambda table: rows_with_segment_ids(_frame_of_table(table.select(["segment_id"]))["segment_id"], segment_ids))
    frame = read_parquet(path, columns=reading, rows=rows, keep=keep, positions=segment_ids is not None)
    if "page" in frame.columns:
        if frame["page"].isna().all():
            frame = frame.drop(columns="page")
        else:
            frame["page"] = frame["page"].fillna("").astype(str)
    if with_text:
        texts = read_parquet(passages, columns=["document", "passage", "text"],
                             documents=set(frame["document"]) if segment_ids is not None or rows is not None else None)
        frame.insert(frame.columns.get_loc("matched") + 1 if "matched" in frame.columns else len(frame.columns),
                     "text", _joined_texts(frame, texts))
    return frame[_output_order(frame.columns, [*wanted, "text"])]


def _joined_texts(frame: pd.DataFrame, texts: pd.DataFrame) -> pd.Series:
    """Each segment's text: its passage's (`texts`: document, passage, text), else its own `span_text`
    (a part of a passage coded by hand), else "". The segments of a passage share its one Python string
    (an object column): a string per segment, as Python or Arrow text, took a 50 MB run's 430,000
    segments from 0.3 to 1.1-2.3 GB."""
    positions = pd.MultiIndex.from_frame(texts[["document", "passage"]]).get_indexer(
        pd.MultiIndex.from_frame(frame[["document", "passage"]]))
    shared = np.append(texts["text"].to_numpy(dtype=object), "")[positions]  # position -1 (no passage): ""
    if "span_text" in frame.columns:
        own = frame["span_text"].notna().to_numpy()
        shared[own] = frame["span_text"].to_numpy(dtype=object)[own]
    return pd.Series(shared, dtype=object, index=frame.index)


def segments_of_table(table: pa.Table, columns: Sequence[str]) -> pd.DataFrame:
    """`read_segments_parquet(path, columns=columns)` of segments.parquet's rows read already as the
    Arrow `table` (which holds `columns`: neither text nor page)."""
    frame = _frame_of_table(table.select([name for name in SEGMENT_PARQUET_COLUMNS if name in columns]))
    return frame[_output_order(frame.columns, columns)]


def _output_order(present: Iterable[str], wanted: Collection[str]) -> list[str]:
    """The columns of `present` that are `wanted`, in segments.csv's order (fingerprint last)."""
    present = set(present)
    return [name for name in (*OUTPUT_COLUMNS[:3], *OUTPUT_COLUMNS[3:5], "page", *OUTPUT_COLUMNS[5:], "fingerprint")
            if name in present and name in wanted]


def rows_with_segment_ids(ids: pd.Series, wanted: Collection[str]) -> np.ndarray:
    """Whether each id of `ids`, read as `normalize_segment_id` reads it (else as written), is one of
    `wanted`: hashed in Arrow, with a Python call only for ids not in the form coder writes.

    >>> rows_with_segment_ids(pd.Series(["s0123456789abcdef", "0123456789ABCDEF", "x"]), {"s0123456789abcdef"}).tolist()
    [True, True, False]
    """
    wanted = set(wanted)
    text = ids.astype(str)
    found = np.array(text.isin(list(wanted)).to_numpy(dtype=bool))  # a copy: pandas may hand back a read-only view
    canonical = text.str.fullmatch(SEGMENT_ID_PREFIX + "[0-9a-f]{16}")
    odd = ~canonical.fillna(False).to_numpy(dtype=bool)  # a written id normalises to itself
    if odd.any():
        found[odd] = [(normalize_segment_id(value) or str(value)) in wanted for value in ids[odd]]
    return found


def read_passages_parquet(path: str | Path) -> pd.DataFrame:
    """Read passages.parquet: document, passage, start, end, kind, text."""
    return read_parquet(path, columns=list(PASSAGE_PARQUET_COLUMNS))


# --- the matched column ------------------------------------------------------------------------


def split_matched(value: object) -> list[str]:
    """The distinct words of a `matched` cell, in order; a blank, missing or NaN cell has none.

    Splits on ";" and strips, so a cell a spreadsheet re-saved without the space still reads.

    >>> split_matched("red tape; delay;delay"), split_matched(float("nan"))
    (['red tape', 'delay'], [])
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    return list(dict.fromkeys(word.strip() for word in str(value).split(";") if word.strip()))


# --- review state ------------------------------------------------------------------------------


ADD_SPELLINGS = frozenset({"add", "added", "manual", "添加"})  # a review cell that codes a passage by hand
WITHDRAW_SPELLINGS = frozenset({"withdraw", "withdrawn", "撤回"})  # a review cell that removes the decision taken


def decision_text(value: object) -> str:
    """A review cell as its spelling is looked up: full-width forms (an IME's ＹＥＳ) as ASCII, emoji
    variation selectors (✔️ from a picker) dropped, stripped and case-folded.

    >>> decision_text(" ＹＥＳ "), decision_text("✔\ufe0f")
    ('yes', '✔')
    """
    return unicodedata.normalize("NFKC", str(value)).replace("\ufe0f", "").replace("\ufe0e", "").strip().casefold()


def normalize_decision(value: object) -> Decision | None:
    """Read a reviewer's spelling of a decision: "accept", "reject", or None when blank.

    Raises ValueError for anything else, naming the spellings that are understood.

    >>> normalize_decision(" Yes "), normalize_decision("n"), normalize_decision("")
    ('accept', 'reject', None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = decision_text(value)
    text = _NUMERIC.get(text, text)
    if not text:
        return None
    if text in _ACCEPT:
        return "accept"
    if text in _REJECT:
        return "reject"
    raise ValueError(
        f"{quoted(value)} is not a review decision. Write accept (or yes, y, 1, ok, ✓, 接受), "
        f"reject (or no, n, 0, x, ✗, 拒绝), add (to code a passage by hand) or withdraw (to remove the decision "
        f"taken), or leave it blank."
    )


def is_rejected(value: object) -> bool:
    """True when a `review` cell says reject in any accepted spelling (unknown values are not).

    >>> is_rejected("No"), is_rejected("maybe")
    (True, False)
    """
    try:
        return normalize_decision(value) == "reject"
    except ValueError:
        return False


# Two odd multipliers (the golden ratio's, murmur3's) give two independent 64-bit hashes of one number:
# per-code sums of both tell sets of passages or segments apart (cooccurrence, diff).
HASH_MULTIPLIERS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def distinct_sorted(values: np.ndarray) -> np.ndarray:
    """np.unique(values) for integers, by a sort: numpy 2's np.unique hashes them, 0.19-0.22 s for
    437,000 segment ids against 0.007 s sorted.

    >>> distinct_sorted(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    ordered = np.sort(values, kind="stable")
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64: every input bit moves about half the output bits."""
    with np.errstate(over="ignore"):
        values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def segment_id_numbers(ids: pd.Series | Sequence[str]) -> np.ndarray | None:
    """Segment ids as `coder run` writes them ("s" + 16 lower-case hex digits) as uint64, read from
    the Arrow buffers in a few numpy passes; None when one is of another form, or missing.

    Two well-formed ids are equal exactly when their numbers are: hashing the numbers (pandas'
    int64 tables) tells ids apart as hashing the strings does, several times faster.

    >>> segment_id_numbers(["s000000000000000f", "s0000000000000010"]).tolist()
    [15, 16]
    """
    try:
        # An Arrow column is taken as it is: pa.array walks a ChunkedArray value by value (1.5 s at 875,000 ids).
        array = ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(
            ids.array if isinstance(ids, pd.Series) else ids, from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None
    count = len(array)
    if not count:
        return np.zeros(0, dtype=np.uint64)
    if array.type == pa.string():
        offset_type = np.int32
    elif array.type == pa.large_string():
        offset_type = np.int64
    else:
        return None
    if array.null_count:
        return None
    offsets = np.frombuffer(array.buffers()[1], dtype=offset_type)[array.offset:array.offset + count + 1]
    width = len(SEGMENT_ID_PREFIX) + 16
    if not (np.diff(offsets) == width).all():
        return None
    # Checked and read by bytes methods, each one pass of C (numpy's comparisons of every digit cost
    # twice as much): the prefix starts every id, and no other byte is but a lower-case hex digit
    # (bytes.fromhex also reads "A-F", but an upper-case id is another string).
    data = memoryview(array.buffers()[2])[int(offsets[0]):int(offsets[-1])].tobytes()
    prefixes = SEGMENT_ID_PREFIX.encode("ascii") * count
    if data[::width] != prefixes or data.translate(None, b"0123456789abcdef") != prefixes:
        return None
    return np.frombuffer(bytes.fromhex(data.translate(None, prefixes[:1]).decode("ascii")), dtype=">u8").astype(np.uint64)



def numbered_codes(path: str | Path, names: dict[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """segments.parquet's segment ids as numbers (`segment_id_numbers`) and its codes as indices into
    `names` ({code: index}, which gains the codes it meets), read a batch at a time: 12 bytes a row,
    where the two columns as text took ~110 MB more at 875,000 rows. None when an id is not in
    the form `coder run` writes.

    Raises OutputError naming the file when it is missing or not Parquet.
    """
    import pyarrow.compute as pc

    path = Path(path)
    files = _parquet_files(path) if path.exists() else []
    if not files:
        raise OutputError(f"{display_name(path)}: no such Parquet table. Run `coder run` first.")
    numbers, codes = [], []
    try:
        for file in files:
            check_parquet_size(file, columns=("segment_id", "code"))
            # Batches of a row group, decoded in this thread: whole row groups (256,000 rows) decoded by
            # Arrow's threads held ~50 MB more at the peak.
            for rows in pq.ParquetFile(file).iter_batches(batch_size=65_536, columns=["segment_id", "code"],
                                                          use_threads=False):
                found = segment_id_numbers(rows["segment_id"])
                if found is None:
                    return None
                encoded = pc.dictionary_encode(pc.fill_null(rows["code"], ""))
                known = np.array([names.setdefault(str(name), len(names)) for name in encoded.dictionary.to_pylist()],
                                 dtype=np.int32)
                numbers.append(found)
                codes.append(known[encoded.indices.to_numpy(zero_copy_only=False)] if len(known) else
                             np.zeros(0, dtype=np.int32))
    except (pa.ArrowException, OSError, ValueError, KeyError) as problem:
        raise _unreadable(path, problem)
    if not numbers:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32)
    return np.concatenate(numbers), np.concatenate(codes)


def segment_id_numbers_or_zero(ids: pd.Series | Sequence[str]) -> np.ndarray:
    """`segment_id_numbers`, with an id of another form (or a missing one) as 0, which no id of a run is.

    >>> segment_id_numbers_or_zero(["s000000000000000f", "S000000000000000F", None]).tolist()
    [15, 0, 0]
    """
    numbers = segment_id_numbers(ids)
    if numbers is not None:
        return numbers
    values = pd.Series(ids, dtype=object).astype(str)
    numbers = np.zeros(len(values), dtype=np.uint64)
    wellformed = values.str.fullmatch(SEGMENT_ID_PREFIX + r"[0-9a-f]{16}").to_numpy(dtype=bool)
    if wellformed.any():
        numbers[wellformed] = [int(value[len(SEGMENT_ID_PREFIX):], 16) for value in values[wellformed]]
    return numbers


def segment_ids_among(values: pd.Series, within: Sequence[Sequence[str] | pd.Series]) -> np.ndarray:
    """Whether each segment id is one of the ids of the columns `within`: as numbers when all are
    well-formed (`segment_id_numbers`; 437,785 ids in each: 0.12-0.16 -> 0.05-0.07 s CPU), else hashed in
    Arrow (a Python set of 400,000 ids, and a lookup per row, took over a second)."""
    import pyarrow.compute as pc

    if not within:
        return np.zeros(len(values), dtype=bool)
    numbers = segment_id_numbers(values)
    known = [segment_id_numbers(column) for column in within] if numbers is not None else [None]
    if all(column is not None for column in known):  # ids as numbers: an int64 hash table, not one of strings
        return pd.Series(numbers).isin(np.concatenate(known)).to_numpy()
    try:
        value_set = pa.concat_arrays([_string_array(column) for column in within])
        return pc.is_in(_string_array(values), value_set=value_set).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, UnicodeError, TypeError):  # text Arrow refuses (lone surrogates): the slow way
        known = {value for column in within for value in column}
        return values.astype(object).isin(known).to_numpy()


def _string_array(values: object) -> pa.Array:
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.string():
        array = array.cast(pa.string())  # large_string, or an empty column of nulls
    return array

def drop_rejected(segments: pd.DataFrame) -> pd.DataFrame:
    """The segments whose `review` does not say rejected (all of them without a review column).

    >>> frame = pd.DataFrame({"code": ["a", "b"], "review": ["no", ""]})
    >>> drop_rejected(frame)["code"].tolist()
    ['b']
    """
    if "review" not in segments.columns or segments.empty:
        return segments
    review = segments["review"]
    # Decide once per distinct spelling, not once per row: a million rows hold a handful.
    rejected = [value for value in pd.unique(review) if is_rejected(value)]
    if not rejected:
        return segments
    return segments[~review.isin(rejected).to_numpy()]


def build_code_counts(frame: pd.DataFrame, codebook: Codebook, documents: Iterable[str]) -> pd.DataFrame:
    """Passages coded per code (rows) and document (columns), with totals.

    `total` counts a code's own passages; `total_with_children` also counts passages coded only
    by its descendants (the roll-up a report needs). The last row, `(any code)`, counts passages
    coded by at least one code.
    """
    documents = list(documents)
    cells, total, total_with_children = code_count_cells(frame, codebook, documents)
    return code_counts_table(codebook, documents, cells, total=total, total_with_children=total_with_children)


def code_count_cells(frame: pd.DataFrame, codebook: Codebook,
                     documents: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """build_code_counts' numbers without its frame: the (codes + 1) x documents cells (the last row,
    passages with any code), and its `total` and `total_with_children` columns."""
    return count_code_cells(frame, codebook, documents)[:3]


def count_code_cells(frame: pd.DataFrame, codebook: Codebook,
                     documents: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """`code_count_cells`, and whether its cells hold code_counts_long.csv too (`build_counts_long_from_cells`):
    every row has a code of the codebook, a document and a passage, and the documents of `documents`
    come in its order (`build_counts_long` lists documents in the order the rows give them)."""
    ids = [code.id for code in codebook]
    # Integer keys once (a big run has hundreds of thousands of rows, a few hundred codes and
    # thousands of documents); every count below is a bincount over them.
    document_index, document_names = pd.factorize(frame["document"])
    code_index, code_names = pd.factorize(frame["code"])
    n_codes = max(len(code_names), 1)
    passage_of_row = _passage_runs(document_index, frame["passage"])
    if passage_of_row is not None and len(code_names) < 2**15 and (code_index >= 0).all():
        unique_rows = _distinct_pairs(passage_of_row, code_index, n_codes)
        passages_known = True
    else:
        passage_index, _ = pd.factorize(frame["passage"])
        span = int(passage_index.max()) + 1 if len(frame) else 1
        passage_of_row = pd.factorize(document_index.astype(np.int64) * span + passage_index)[0].astype(np.int64)
        unique_rows = pd.unique(passage_of_row * n_codes + code_index)  # one per passage and code
        passages_known = bool((passage_index >= 0).all())
    row_passage, row_code = np.divmod(unique_rows, n_codes)
    passage_document = np.zeros(int(passage_of_row.max()) + 1 if len(frame) else 0, dtype=np.int64)
    passage_document[passage_of_row] = document_index
    column_of = {document: position for position, document in enumerate(documents)}
    row_of = {code: position for position, code in enumerate(ids)}
    document_column = np.array([column_of.get(name, -1) for name in document_names.tolist()], dtype=np.int64)
    code_row = np.array([row_of.get(name, -1) for name in code_names.tolist()], dtype=np.int64)
    cell_row, cell_column = code_row[row_code], document_column[passage_document[row_passage]]
    listed = (cell_row >= 0) & (cell_column >= 0)
    # The codes' cells and, as the last row, the passages with any code: one array, no copy of its 20 MB
    # (300 codes x 8,376 documents) when stacked.
    block = np.bincount(cell_row[listed] * len(documents) + cell_column[listed],
                        minlength=(len(ids) + 1) * len(documents)).astype(np.int64, copy=False)
    block = block.reshape(len(ids) + 1, len(documents))
    values = block[:-1]
    # A passage counts once for each code on its path: its own code and every ancestor.
    ancestors = [[row_of[ancestor] for ancestor in (codebook[name].path if name in codebook else (name,))
                  if ancestor in row_of] for name in code_names.tolist()]
    if all(each == [row] for each, row in zip(ancestors, code_row.tolist()) if each):
        # No code here has an ancestor: each (passage, code) pair is its code's own, counted once already.
        with_children = np.bincount(cell_row[cell_row >= 0], minlength=len(ids)).astype(np.int64, copy=False)
    else:
        fanout = np.array([len(each) for each in ancestors], dtype=np.int64)
        flat = np.array([row for each in ancestors for row in each], dtype=np.int64)
        offsets = np.cumsum(fanout) - fanout
        repeats = fanout[row_code]
        within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        taken = np.repeat(offsets[row_code], repeats) + within
        rolled = pd.unique(np.repeat(row_passage, repeats) * max(len(ids), 1) + flat[taken]) % max(len(ids), 1)
        with_children = np.bincount(rolled, minlength=len(ids)).astype(np.int64)
    per_document = np.bincount(passage_document, minlength=len(document_names)).astype(np.int64)
    known = document_column >= 0
    block[-1, document_column[known]] = per_document[known]
    coded = len(passage_document)
    listed_columns = document_column[document_column >= 0]
    long_too = bool((code_row >= 0).all() and (np.diff(listed_columns) > 0).all() and (code_index >= 0).all()
                    and (document_index >= 0).all() and passages_known)
    return (block,
            np.append(values.sum(axis=1) if documents else np.zeros(len(ids), dtype=np.int64), coded),
            np.append(with_children, coded), long_too)


def _passage_runs(document_index: np.ndarray, passages: pd.Series) -> np.ndarray | None:
    """Each row's passage numbered from 0 in row order, when the rows come document by document and,
    within a document, in passage order (as a run's segment table does): the passage changes where the
    row's document or passage number does. None for rows in another order or passages that are not
    integers (then they are factorized: two hash passes over every row, 0.02-0.04 s at 437,785 rows)."""
    values = passages.to_numpy()
    if not len(values) or values.dtype.kind != "i":
        return None
    next_document = np.diff(document_index)
    if (next_document < 0).any():  # factorize numbers documents as first seen: a document seen again
        return None
    next_passage = np.diff(values)
    if (next_passage[next_document == 0] < 0).any():
        return None
    runs = np.zeros(len(values), dtype=np.int64)
    np.cumsum((next_document != 0) | (next_passage != 0), out=runs[1:])
    return runs


def _distinct_pairs(passage_of_row: np.ndarray, code_index: np.ndarray, n_codes: int) -> np.ndarray:
    """The distinct (passage, code) pairs as passage * n_codes + code, for passages numbered in row order
    (`_passage_runs`) and fewer than 2**15 codes: the rows put code by code (a stable sort of 16-bit keys
    is numpy's radix sort) keep their passage order, so a pair seen twice is a row beside its twin."""
    order = np.argsort(code_index.astype(np.int16), kind="stable")
    codes, passages = code_index[order].astype(np.int64), passage_of_row[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (codes[1:] != codes[:-1]) | (passages[1:] != passages[:-1])
    return passages[first] * n_codes + codes[first]


def code_counts_table(codebook: Codebook, documents: list[str], block: np.ndarray, *, total: np.ndarray,
                      total_with_children: np.ndarray, rows: slice = slice(None)) -> pd.DataFrame:
    """code_counts.csv's frame: a row per code and a last "(any code)" row; the code's names, a column
    per document (`block`: codes + 1 rows, a column per document) and the two totals (codes + 1 each).
    `rows`: only these rows of the table (`block` and the totals hold only them)."""
    head = {
        "code": [*(code.id for code in codebook), "(any code)"][rows],
        "code_path": [*(code.code_path for code in codebook), ""][rows],
        "label": [*(code.label for code in codebook), "passages with at least one code"][rows],
    }
    tail = {"total": total, "total_with_children": total_with_children}
    if len(set(documents)) < len(documents) or set(documents) & {*head, *tail}:
        # A document named like a column (or twice) overwrites it, as a dict of columns would.
        columns: dict[str, object] = dict(head)
        for position, document in enumerate(documents):
            columns[document] = block[:, position]
        columns.update(tail)
        return pd.DataFrame(columns)
    return pd.concat([pd.DataFrame(head), pd.DataFrame(block, columns=documents), pd.DataFrame(tail)], axis=1)
