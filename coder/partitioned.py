"""Stages 5-8 for a partitioned run: what one partition of documents sends back, and the sums of them.

The Dask engine (coder.distributed) codes, reviews and writes each partition on a worker, so the
driver never holds the segment table. A partition's PartitionSummary holds counts, not rows:
segments and passages per document and code, co-occurrence per pair of codes at every roll-up
level (passages, documents and the first passage both code), the report's code sets per
document, the matched words in the order first met, and the few keys the driver needs to settle
review decisions. The `merge_*` functions sum the summaries of every partition, in corpus order,
into exactly what the local engine computes from the whole table (a test compares every output
file of both engines). Partitions never split a document, which is what makes "documents"
counts add up.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .cooccurrence import (
    PAIR_COLUMNS,
    Cooccurrence,
    _with_uncoded_codes,
    add_code_hashes,
    cooccurrence_counts,
)
from .groups import build_counts_long
from .models import Codebook, Document
from .report import PASSAGE_CHARACTERS, PASSAGES_SHOWN, SAMPLE_PER_CODE
from .reviews import (
    _START,
    MANUAL,
    _folded,
    _normalized,
    _normalized_start,
    attach_reviews,
    precision_counts,
)
from .segments import (
    add_page_column,
    code_count_cells,
    code_counts_table,
    drop_rejected,
    segment_id_numbers_or_zero,
    split_matched,
)

_DECIDED = {"accept": "accepted", "reject": "rejected", "add": "added"}
# The columns a pair of codes keeps per partition; the measures are computed once, from the sums.
_PAIR_COUNTS = ("source", "target", "count", "documents", "example_document", "example_passage")
# code_counts.csv's cells built and written at a time, a block of codes: the whole codes x documents
# table and its text were ~200 MB at 100 MB of corpus.
CODE_COUNTS_CELLS = 1_000_000
# A summary's parts that SummaryStore.put moves to disk and SummaryStore.part gives back.
StoredPart = Literal["by_code", "counted_by_code", "code_counts", "examples", "words", "coded_by_document"]


@dataclass(frozen=True)
class ReviewPlan:
    """What a partition needs to know of the review file, and what the driver asks back about it."""

    reviews: pd.DataFrame  # the review file, codes renamed as in this codebook
    asked: frozenset[str]  # segment ids the driver must know are coded (decisions, hand-coded candidates)
    follow: frozenset[tuple[str, str]]  # (code, normalised text) of decisions that may have lost their segment
    entries: frozenset[tuple[str, str]]  # (document, normalised text) of every decision
    # (document, code, folded text) of the decisions in `follow`: a passage edited where the matcher reads no change
    edited: frozenset[tuple[str, str, str]] = frozenset()


@dataclass(frozen=True)
class PartitionPlan:
    """Everything a partition is finished with, the same for every partition (sent to each worker once)."""

    levels: tuple[int, ...]  # roll-up levels the report draws (besides every code)
    network_level: int | None  # the level of cooccurrence.csv and the map
    examples: int  # example passages per code on the map
    previous_ids: np.ndarray  # segment ids of the run in the folder, as sorted uint64
    compared: bool  # the folder holds a run: statuses say new or unchanged
    reviews: ReviewPlan | None  # None: no review file
    encoding: str | None = None  # --encoding, for the text files a worker reads


@dataclass(frozen=True)
class CellCounts:
    """A block of code_counts.csv's cells, its nonzero cells only (most codes are not in most documents):
    numpy arrays, so that the driver imports no scipy while it codes (scipy.sparse: ~7.5 MB resident).

    >>> CellCounts.from_dense(np.array([[0, 2], [3, 0]])).rows(1, 2)
    array([[3, 0]])
    """

    shape: tuple[int, int]
    row: np.ndarray
    column: np.ndarray
    count: np.ndarray

    @classmethod
    def from_dense(cls, table: np.ndarray) -> CellCounts:
        row, column = np.nonzero(table)
        return cls(shape=(int(table.shape[0]), int(table.shape[1])), row=row.astype(np.int32),
                   column=column.astype(np.int32), count=table[row, column].astype(np.int64))

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows `start` to `stop` (excluded), every column, dense."""
        block = np.zeros((max(0, min(stop, self.shape[0]) - start), self.shape[1]), dtype=np.int64)
        chosen = (self.row >= start) & (self.row < stop)
        block[self.row[chosen] - start, self.column[chosen]] = self.count[chosen]
        return block

    def toarray(self) -> np.ndarray:
        return self.rows(0, self.shape[0])


@dataclass
class PartitionSummary:
    """One partition, reduced: sizes grow with documents, codes and pairs of codes, not with segments."""

    number: int
    documents: tuple[str, ...]
    passages: dict[str, int]  # passages per document
    segments: int  # rows, rejected and hand-coded included
    by_code: dict[str, int] | None  # rows per code (None: in the SummaryStore)
    coded_passages: int  # (document, passage) pairs with a row
    counted_by_code: dict[str, int] | None  # rows per code that count (not rejected; None: in the SummaryStore)
    added: int  # rows coded by hand
    # code_counts.csv's cells for these documents: (codes + 1) x documents, sparse (most codes are not in
    # most documents: a dense block of every partition was 40 MB held through a 100 MB run)
    code_counts: CellCounts | None  # None: in the SummaryStore
    code_totals: np.ndarray  # its `total` column
    code_totals_with_children: np.ndarray  # its `total_with_children` column
    # The parts below that grow with rows are moved to disk as the driver receives the summary (SummaryStore).
    counts_long: pd.DataFrame  # code_counts_long.csv's rows for these documents
    # level -> (coded codes, pair counts as an Arrow table); emptied once the driver stores them (SummaryStore)
    cooccurrence: dict[int | None, tuple[pd.DataFrame, Any]]
    examples: pd.DataFrame | None  # document, passage, code: the first rows per code at the map's level
    words: list[str] | None  # matched words in the order first met
    code_sets: Counter  # (document, code ids sorted) -> passages
    coded_by_document: dict[str, int] | None  # coded (counted) passages per document
    first_passages: pd.DataFrame  # code, document, passage, rank: each code's first SAMPLE_PER_CODE passages
    precision: pd.DataFrame | None = None  # reviews.precision_counts of these rows
    present: frozenset[str] = frozenset()  # asked ids coded here
    candidates: pd.DataFrame | None = None  # rows a lost decision may follow (renamed documents)
    coded_texts: frozenset[tuple[str, str]] = frozenset()  # (document, normalised text) of decisions coded here
    files: dict[str, bytes] = field(default_factory=dict)  # the part files, when the driver writes them
    read: dict[str, Any] = field(default_factory=dict)  # text files read by the worker: pipeline._read_items


def finish_partition(
    frame: pd.DataFrame, passages: pd.DataFrame, documents: Sequence[Document], codebook: Codebook,
    plan: PartitionPlan, number: int, *, reviews: pd.DataFrame | None = None, manual: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, PartitionSummary]:
    """Apply the review decisions, pages and statuses to one partition's segments (`frame`, with a
    `fingerprint` column) as `coder run` does to the whole table; returns them and their summary.

    `reviews` overrides the plan's review file (the driver's second pass over a partition whose
    rows gained a decision that followed a renamed document); `manual` are its hand-coded rows.
    """
    asked: dict[str, Any] = {}
    if plan.reviews is not None:
        asked = _asked(frame, passages, plan.reviews)
        decisions = plan.reviews.reviews if reviews is None else reviews
        ids = set(frame["segment_id"].astype(str))
        # Only the decisions on this partition's rows: none of them is lost here, so none moves. Each
        # decision looked up in the rows' ids (pandas' isin would make an Arrow scalar of every id).
        on_rows = np.fromiter((segment_id in ids for segment_id in decisions["segment_id"]), dtype=bool,
                              count=len(decisions))
        frame = attach_reviews(frame, decisions[on_rows]).segments
        if manual is not None and len(manual):
            frame = _with_manual(frame, manual, documents)
    frame = add_page_column(frame.drop(columns="page", errors="ignore"), documents)
    if "source" not in frame.columns:
        frame["source"] = "auto"
    frame["status"] = _statuses(frame, plan)
    return frame, summarize(frame, documents, codebook, plan, number, passages=passages, **asked)


def _with_manual(frame: pd.DataFrame, manual: pd.DataFrame, documents: Sequence[Document]) -> pd.DataFrame:
    """Hand-coded rows sorted in among the tool's, as runner._with_manual_rows sorts them."""
    frame = pd.concat([frame, manual], ignore_index=True)
    order = {document.path: position for position, document in enumerate(documents)}
    keys = frame.assign(_document=frame["document"].map(order).fillna(len(order)), _row=range(len(frame)))
    ranked = keys.sort_values(["_document", "passage", "_row"], kind="stable").index
    return frame.loc[ranked].reset_index(drop=True)


def _statuses(frame: pd.DataFrame, plan: PartitionPlan) -> list[str]:
    """runner._statuses for one partition, the earlier run's ids given as numbers."""
    if plan.compared:
        known = _in_sorted(segment_id_numbers_or_zero(frame["segment_id"]), plan.previous_ids)
        statuses = np.where(known, "unchanged", "new").astype(object)
    else:
        statuses = np.full(len(frame), "new", dtype=object)
    # The decision word of each distinct review cell (mostly one: blank), taken for every row; the rows
    # numbered by cell only when a cell decides (a cold run's are all blank).
    if pd.notna(_decision_words(pd.unique(frame["review"]))).any():
        cells, distinct = pd.factorize(frame["review"].astype(object), use_na_sentinel=False)
        words = _decision_words(distinct)
        decided = pd.notna(words)
        rows = decided[cells]
        statuses[rows] = words[cells[rows]]
    statuses[frame["source"].eq(MANUAL).to_numpy(dtype=bool)] = "added"
    return statuses.tolist()


def _decision_words(cells: Any) -> np.ndarray:
    """The status each review cell decides ("accepted", "rejected", "added"), else NaN."""
    return pd.Series(cells, dtype=object).map(str).str.strip().str.casefold().map(_DECIDED).to_numpy(dtype=object)


def _in_sorted(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """Which of `values` are in `sorted_values` (sorted, as `np.unique` gives them): a binary search
    each. np.isin sorts both together on every call, and a partition's rows against a whole earlier
    run's ids took 0.2 s (12 s of a 50 MB run that had an earlier run to compare with)."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    positions = np.searchsorted(sorted_values, values)
    np.minimum(positions, len(sorted_values) - 1, out=positions)
    return sorted_values[positions] == values


def _asked(frame: pd.DataFrame, passages: pd.DataFrame, plan: ReviewPlan) -> dict[str, Any]:
    """The driver's questions about the review file, answered for this partition's rows."""
    ids = frame["segment_id"].astype(str)
    present = frozenset(ids[ids.isin(plan.asked)])
    texts: dict[tuple[str, int], str] = (
        dict(zip(zip(passages["document"].tolist(), passages["passage"].tolist()), passages["text"].tolist()))
        if len(passages) else {})
    normalized: dict[tuple[str, int], str] = {}
    starts: dict[tuple[str, int], str] = {}

    def text_of(document: str, passage: int) -> str:
        key = (document, passage)
        if key not in normalized:
            normalized[key] = _normalized(texts.get(key, ""))
        return normalized[key]

    def start_of(document: str, passage: int) -> str:
        key = (document, passage)
        if key not in starts:
            starts[key] = _normalized_start(texts.get(key, ""))
        return starts[key]

    candidates = None
    follow_codes = {code for code, _ in plan.follow}
    # A row's passage is normalized whole only when the start of its normalized text is a followed one's.
    follow_starts = {(code, text[:_START]) for code, text in plan.follow}
    rows = frame[frame["code"].isin(follow_codes)] if follow_codes else frame.iloc[:0]
    if len(rows):
        edited_pairs = {(document, code) for document, code, _ in plan.edited}
        keep = [((code, start_of(document, passage)) in follow_starts and (code, text_of(document, passage)) in plan.follow)
                or ((document, code) in edited_pairs
                    and (document, code, _folded(texts.get((document, passage), ""))) in plan.edited)
                for code, document, passage in zip(rows["code"].tolist(), rows["document"].tolist(), rows["passage"].tolist())]
        chosen = rows[np.asarray(keep, dtype=bool)]
        candidates = chosen[["segment_id", "document", "passage", "start", "end", "code"]].assign(
            text=[texts.get((document, passage), "")
                  for document, passage in zip(chosen["document"].tolist(), chosen["passage"].tolist())])
    entry_documents = {document for document, _ in plan.entries}
    coded = frame[frame["document"].isin(entry_documents)][["document", "passage"]].drop_duplicates()
    coded_texts = frozenset(key for key in ((document, text_of(document, passage))
                                            for document, passage in zip(coded["document"].tolist(), coded["passage"].tolist()))
                            if key in plan.entries)
    return {"present": present, "candidates": candidates, "coded_texts": coded_texts}


def summarize(
    frame: pd.DataFrame, documents: Sequence[Document], codebook: Codebook, plan: PartitionPlan, number: int, *,
    passages: pd.DataFrame | None = None, present: frozenset[str] = frozenset(),
    candidates: pd.DataFrame | None = None, coded_texts: frozenset[tuple[str, str]] = frozenset(),
) -> PartitionSummary:
    """The counts of one partition's finished segments (statuses, reviews and pages applied)."""
    paths = [document.path for document in documents]
    counted = drop_rejected(frame)
    # Rows of documents not in the partition, if any: asked of the few distinct names (pandas' isin on Arrow
    # text makes a scalar of each row's document).
    if len(counted) and not set(pd.unique(counted["document"])) <= set(paths):
        counted = counted[counted["document"].isin(paths)]
    every_row_counts = counted is frame
    # Only the columns the counts read: each row selection below takes every column it is given.
    counted = counted[[column for column in _COUNTED_COLUMNS if column in counted.columns]]
    # code_counts.csv's numbers for these documents (its cells and two totals), not its frame.
    cells, code_totals, code_totals_with_children = code_count_cells(counted, codebook, paths)
    ids = [code.id for code in codebook]
    cooccurrence: dict[int | None, tuple[pd.DataFrame, Any]] = {}
    rows: dict[int | None, pd.DataFrame] = {}
    for level in dict.fromkeys((None, *plan.levels, plan.network_level)):
        # The counts only: the measures come from the sums, and the uncoded codes at the end.
        codes, pairs, rows[level] = cooccurrence_counts(counted, level=level, codebook=codebook)
        cooccurrence[level] = (codes, pairs)
    shown = rows[plan.network_level]
    examples = shown.groupby("code", sort=False).head(plan.examples)[["document", "passage", "code"]] \
        if len(shown) else pd.DataFrame({"document": [], "passage": [], "code": []})
    words, code_sets, coded_by_document, first_passages = _report_parts(rows[None])
    by_code = frame.groupby("code", sort=False).size().to_dict() if len(frame) else {}
    return PartitionSummary(
        number=number, documents=tuple(paths),
        passages={},  # filled by the caller, who split the documents
        segments=len(frame),
        by_code=by_code,
        # Every row counts (none rejected, none of another document): the cells' passages with any code.
        coded_passages=int(code_totals[-1]) if every_row_counts else
        len(frame[["document", "passage"]].drop_duplicates()) if len(frame) else 0,
        counted_by_code=by_code if every_row_counts else
        counted.groupby("code", sort=False).size().to_dict() if len(counted) else {},
        added=int(frame["source"].eq(MANUAL).sum()) if "source" in frame.columns else 0,
        code_counts=CellCounts.from_dense(cells.astype(np.int64)),
        code_totals=code_totals.astype(np.int64), code_totals_with_children=code_totals_with_children.astype(np.int64),
        counts_long=build_counts_long(counted, None, codes=ids),
        cooccurrence=cooccurrence, examples=examples.reset_index(drop=True),
        words=words, code_sets=code_sets, coded_by_document=coded_by_document, first_passages=first_passages,
        precision=precision_counts(frame) if plan.reviews is not None and len(frame) else None,
        present=present, candidates=candidates, coded_texts=coded_texts,
    )


# What summarize's counts read of a counted row (cooccurrence_counts, code_count_cells, build_counts_long).
_COUNTED_COLUMNS = ("document", "passage", "code", "code_path", "label", "matched", "review")


def _report_parts(frame: pd.DataFrame) -> tuple[list[str], Counter, dict[str, int], pd.DataFrame]:
    """report._passages' inputs for one partition: words first met, code sets, coded passages per
    document, and each code's first passages in (document, passage) order with their rank in the document.
    `frame` holds one row per passage and code (build_cooccurrence(...).segments)."""
    if frame.empty:
        return [], Counter(), {}, pd.DataFrame({"code": [], "document": [], "passage": [], "rank": []})
    words = list(dict.fromkeys(word for cell in pd.unique(frame["matched"]) for word in split_matched(cell)))
    # Integer keys, sorted as the strings sort: numpy orders the rows, Python touches each passage once
    # (a dict of lists built row by row was ~7% of the driver's CPU).
    document_index, names = pd.factorize(frame["document"].astype(str), sort=True)
    code_index, codes = pd.factorize(frame["code"].astype(str), sort=True)
    passage = frame["passage"].to_numpy(dtype=np.int64)
    order = np.lexsort((code_index, passage, document_index))  # by document, passage, code
    document_index, passage, code_index = document_index[order], passage[order], code_index[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (document_index[1:] != document_index[:-1]) | (passage[1:] != passage[:-1])
    starts = np.flatnonzero(new)
    passage_documents = document_index[starts]
    first_of_document = np.ones(len(starts), dtype=bool)
    first_of_document[1:] = passage_documents[1:] != passage_documents[:-1]
    ranks = _positions_in_runs(first_of_document)
    names = np.asarray(names, dtype=object)
    code_names = np.asarray(codes, dtype=object)[code_index].tolist()
    ends = [*starts[1:].tolist(), len(order)]
    code_sets = Counter(zip(names[passage_documents].tolist(),
                            (tuple(code_names[start:end]) for start, end in zip(starts.tolist(), ends))))
    counts = np.bincount(passage_documents, minlength=len(names))
    coded_by_document = {str(name): int(count) for name, count in zip(names, counts) if count}
    # Each code's first SAMPLE_PER_CODE passages: the rows grouped by code, in passage order within a code.
    by_code = np.argsort(code_index, kind="stable")
    grouped = code_index[by_code]
    group_start = np.ones(len(by_code), dtype=bool)
    group_start[1:] = grouped[1:] != grouped[:-1]
    taken = by_code[_positions_in_runs(group_start) < SAMPLE_PER_CODE]
    row_passage = np.cumsum(new) - 1
    return words, code_sets, coded_by_document, pd.DataFrame({
        "code": np.asarray(codes, dtype=object)[code_index[taken]],
        "document": names[document_index[taken]],
        "passage": passage[taken],
        "rank": ranks[row_passage[taken]].astype(np.int64),
    })


def _positions_in_runs(first: np.ndarray) -> np.ndarray:
    """Each element's position in its run, the runs starting where `first` is True (and at 0).

    >>> _positions_in_runs(np.array([True, False, False, True, False])).tolist()
    [0, 1, 2, 0, 1]
    """
    positions = np.arange(len(first))
    return positions - np.maximum.accumulate(np.where(first, positions, 0))


# --- the sums, on the driver -----------------------------------------------------------------------


def merge_code_counts(summaries: Sequence[PartitionSummary], codebook: Codebook,
                      documents: Sequence[str], store: SummaryStore) -> Iterator[pd.DataFrame]:
    """code_counts.csv from the partitions' blocks (documents in corpus order), as build_code_counts builds
    it, a block of rows (codes) of about CODE_COUNTS_CELLS cells at a time (each partition's cells asked of `store`)."""
    ids = [code.id for code in codebook]
    documents = list(documents)
    positions: dict[str, list[int]] = {}
    for position, document in enumerate(documents):
        positions.setdefault(document, []).append(position)
    # Where each partition's columns go (a document in two partitions: the later one's, as a dict keeps it).
    placed: list[tuple[CellCounts, np.ndarray, np.ndarray]] = []
    for summary in summaries:
        pairs = [(column, position) for column, document in enumerate(summary.documents)
                 for position in positions.get(document, ())]
        counts = store.part(summary, "code_counts")
        placed.append((counts, np.array([column for column, _ in pairs], dtype=np.int64),
                       np.array([position for _, position in pairs], dtype=np.int64)))
    totals = sum((summary.code_totals for summary in summaries), np.zeros(len(ids) + 1, dtype=np.int64))
    with_children = sum((summary.code_totals_with_children for summary in summaries), np.zeros(len(ids) + 1, dtype=np.int64))
    step = max(1, CODE_COUNTS_CELLS // max(len(documents), 1))
    for start in range(0, len(ids) + 1, step):
        rows = slice(start, min(len(ids) + 1, start + step))
        block = np.zeros((rows.stop - rows.start, len(documents)), dtype=np.int64)
        for counts, columns, targets in placed:
            if len(columns):
                block[:, targets] = counts.rows(rows.start, rows.stop)[:, columns]
        yield code_counts_table(codebook, documents, block, total=totals[rows], total_with_children=with_children[rows],
                                rows=rows)


def counts_long_parts(store: SummaryStore, numbers: Sequence[int]) -> Iterator[pd.DataFrame]:
    """code_counts_long.csv's rows (without document variables) a partition at a time, partitions `numbers`
    in corpus order; the empty table when none has a row."""
    empty = True
    for number in numbers:
        part = store.counts_long(number)
        if len(part):
            empty = False
            yield part
    if empty:
        yield build_counts_long(pd.DataFrame({"document": [], "passage": [], "code": []}))


def merge_counts_long(store: SummaryStore, numbers: Sequence[int]) -> pd.DataFrame:
    """code_counts_long.csv's rows (without document variables), partitions `numbers` in corpus order."""
    return pd.concat(list(counts_long_parts(store, numbers)), ignore_index=True)


class SummaryStore:
    """The parts of each partition's summary that grow with its rows, kept on disk (small Arrow IPC files
    in `folder`) until summed: its co-occurrence counts at every level, code_counts_long.csv's rows, the
    report's code sets and each code's first passages. The driver holds one partition's (or one batch's)
    at a time and the running sums, never every partition's at once (~4 MB a partition: 240 MB held
    through a 100 MB run)."""

    _BATCH = 16  # partitions summed at once

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.levels: tuple[int | None, ...] = ()

    def put(self, summary: PartitionSummary) -> None:
        """Store a summary's row-sized parts (replacing what its partition stored before) and drop them from it:
        the ones named above, and its rows per code, code_counts.csv cells, map examples, words and coded
        passages per document (None in the summary afterwards: read them from here)."""
        import pyarrow as pa

        self.levels = tuple(summary.cooccurrence)
        for level, (codes, pairs) in summary.cooccurrence.items():
            self._write(codes, f"level-{level or 0}", "codes", summary.number)
            self._write(pairs, f"level-{level or 0}", "pairs", summary.number)
        self._write(summary.counts_long, "report", "counts_long", summary.number)
        self._write(summary.first_passages, "report", "first_passages", summary.number)
        self._write(_code_sets_frame(summary.code_sets), "report", "code_sets", summary.number)
        summary.cooccurrence, summary.code_sets = {}, Counter()
        summary.counts_long = summary.first_passages = pd.DataFrame()
        for kind in ("by_code", "counted_by_code"):
            if getattr(summary, kind) is not None:
                counted = getattr(summary, kind)
                self._write(pa.table({"code": pa.array(list(counted), type=pa.string()),
                                      "rows": pa.array(list(counted.values()), type=pa.int64())}),
                            "counts", kind, summary.number)
                setattr(summary, kind, None)
        if summary.code_counts is not None:
            counts = summary.code_counts
            self._write(pa.table({"row": pa.array(counts.row, type=pa.int32()),
                                  "column": pa.array(counts.column, type=pa.int32()),
                                  "count": pa.array(counts.count, type=pa.int64())},
                                 metadata={"shape": f"{counts.shape[0]},{counts.shape[1]}"}),
                        "counts", "code_counts", summary.number)
            summary.code_counts = None
        if summary.examples is not None:
            self._write(summary.examples, "report", "examples", summary.number)
            summary.examples = None
        if summary.words is not None:
            self._write(pa.table({"word": pa.array(summary.words, type=pa.string())}), "report", "words", summary.number)
            summary.words = None
        if summary.coded_by_document is not None:
            self._write(pa.table({"document": pa.array(list(summary.coded_by_document), type=pa.string()),
                                  "passages": pa.array(list(summary.coded_by_document.values()), type=pa.int64())}),
                        "report", "coded_by_document", summary.number)
            summary.coded_by_document = None

    def put_documents(self, summary: PartitionSummary) -> None:
        """Store a summary's per-document parts (passages per document, the text files read) and empty them
        in it, while the coding processes run; `documents` gives them back."""
        import pyarrow as pa

        found = list(summary.read.values())
        done = [None if isinstance(value, str) else value for value in found]
        self._write(pa.table({
            "path": pa.array(list(summary.read), type=pa.string()),
            "reason": pa.array([value if isinstance(value, str) else None for value in found], type=pa.string()),
            "encoding": pa.array([value and value[0] for value in done], type=pa.string()),
            "sha256": pa.array([value and value[1] for value in done], type=pa.string()),
            "characters": pa.array([value and value[2] for value in done], type=pa.int64()),
        }), "documents", "read", summary.number)
        self._write(pa.table({"path": pa.array(list(summary.passages), type=pa.string()),
                              "passages": pa.array(list(summary.passages.values()), type=pa.int64())}),
                    "documents", "passages", summary.number)
        summary.passages, summary.read = {}, {}

    def part(self, summary: PartitionSummary, name: StoredPart) -> Any:
        """A summary's part `name`: its own field while it holds it, else what `put` stored of its partition
        (the one place that choice is made; every reader of a summary's row-sized parts asks here)."""
        value = getattr(summary, name)
        if value is not None:
            return value
        if name in ("by_code", "counted_by_code"):
            return self.rows_by_code(summary.number, name)
        return getattr(self, name)(summary.number)

    def documents(self, number: int) -> tuple[dict[str, int], dict[str, Any]]:
        """Partition `number`'s passages per document and text files read, as put_documents found them."""
        passages = self._table("documents", "passages", number)
        table = self._table("documents", "read", number)
        read = {path: reason if reason is not None else (encoding, sha256, characters)
                for path, reason, encoding, sha256, characters in zip(*(table[name].to_pylist() for name in (
                    "path", "reason", "encoding", "sha256", "characters")))}
        return dict(zip(passages["path"].to_pylist(), passages["passages"].to_pylist())), read

    def rows_by_code(self, number: int, kind: str = "by_code") -> dict[str, int]:
        """Partition `number`'s rows per code (`kind` "by_code"), or rows that count ("counted_by_code")."""
        table = self._table("counts", kind, number)
        return dict(zip(table["code"].to_pylist(), table["rows"].to_pylist()))

    def code_counts(self, number: int) -> CellCounts:
        """Partition `number`'s code_counts.csv cells (PartitionSummary.code_counts)."""
        table = self._table("counts", "code_counts", number)
        shape = tuple(int(size) for size in table.schema.metadata[b"shape"].decode().split(","))
        return CellCounts(shape=shape, row=table["row"].to_numpy(), column=table["column"].to_numpy(),
                          count=table["count"].to_numpy())

    def examples(self, number: int) -> pd.DataFrame:
        """Partition `number`'s map examples (PartitionSummary.examples)."""
        return self._read("report", "examples", number)

    def words(self, number: int) -> list[str]:
        """Partition `number`'s matched words in the order first met (PartitionSummary.words)."""
        return self._table("report", "words", number)["word"].to_pylist()

    def coded_by_document(self, number: int) -> dict[str, int]:
        """Partition `number`'s coded passages per document (PartitionSummary.coded_by_document)."""
        table = self._table("report", "coded_by_document", number)
        return dict(zip(table["document"].to_pylist(), table["passages"].to_pylist()))

    def counts_long(self, number: int) -> pd.DataFrame:
        """Partition `number`'s rows of code_counts_long.csv."""
        return self._read("report", "counts_long", number)

    def first_passages(self, number: int) -> pd.DataFrame:
        """Partition `number`'s first passages of each code (PartitionSummary.first_passages)."""
        return self._read("report", "first_passages", number)

    def code_sets(self, number: int) -> Counter:
        """Partition `number`'s code sets (PartitionSummary.code_sets)."""
        table = self._table("report", "code_sets", number)
        return Counter(dict(zip(zip(table["document"].to_pylist(), map(tuple, table["codes"].to_pylist())),
                                table["passages"].to_pylist())))

    def sums(self, level: int | None, numbers: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(codes, pairs) of partitions `numbers` summed, in partition order: passages, documents and
        counts added, each code's path and label from the first partition coding it, each pair's first passage."""
        codes = pairs = None
        numbers = list(numbers)
        for first in range(0, len(numbers), self._BATCH):
            batch = numbers[first:first + self._BATCH]
            codes = _sum_codes([*([codes] if codes is not None else []),
                                *(self._read(f"level-{level or 0}", "codes", number) for number in batch)])
            pairs = _sum_pairs([*([pairs] if pairs is not None else []),
                                *(self._table(f"level-{level or 0}", "pairs", number) for number in batch)])
        if codes is None:
            codes = pd.DataFrame({"code": [], "code_path": [], "label": [], "passages": [], "documents": []})
            return codes, pd.DataFrame({column: [] for column in _PAIR_COUNTS})
        return codes, pairs.to_pandas()

    def code_hashes(self, numbers: Sequence[int]) -> dict[str, np.ndarray] | None:
        """Each code's passage hashes summed over partitions `numbers` (cooccurrence.add_code_hashes)."""
        return add_code_hashes(self._read("level-0", "codes", number) for number in numbers)

    def _path(self, group: str, kind: str, number: int) -> Path:
        return self.folder / group / f"{kind}-{number:05d}.arrow"

    def _write(self, frame: pd.DataFrame | Any, group: str, kind: str, number: int) -> None:
        # An Arrow IPC file, not Parquet: ~16 small files a partition, read back once; Parquet's encoding and
        # writer set-up cost the driver ~1 ms a file to write and as much to read, IPC ~0.1 ms.
        import pyarrow as pa

        path = self._path(group, kind, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)

    def _table(self, group: str, kind: str, number: int):
        """Partition `number`'s part `kind` of `group`, as the Arrow table `_write` stored."""
        import pyarrow as pa

        # Read into memory, not mapped: the folder is removed at the end of the run (a mapped file cannot be on Windows).
        with pa.OSFile(str(self._path(group, kind, number)), "rb") as source:
            return pa.ipc.open_file(source).read_all()

    def _read(self, group: str, kind: str, number: int) -> pd.DataFrame:
        return self._table(group, kind, number).to_pandas()


def _code_sets_frame(code_sets: Counter):
    """PartitionSummary.code_sets as an Arrow table: document, codes (a list), passages."""
    import pyarrow as pa

    keys = list(code_sets)
    return pa.table({
        "document": pa.array([document for document, _ in keys], type=pa.string()),
        "codes": pa.array([list(codes) for _, codes in keys], type=pa.list_(pa.string())),
        "passages": pa.array([code_sets[key] for key in keys], type=pa.int64()),
    })


def _sum_codes(frames: list[pd.DataFrame]) -> pd.DataFrame:
    codes = pd.concat(frames, ignore_index=True)
    first = codes.drop_duplicates("code").set_index("code")
    sums = codes.groupby("code", sort=False)[["passages", "documents"]].sum()
    names = list(first.index)
    return pd.DataFrame({
        "code": names, "code_path": first["code_path"].tolist(), "label": first["label"].tolist(),
        "passages": sums["passages"].reindex(names).to_numpy(dtype=np.int64),
        "documents": sums["documents"].reindex(names).to_numpy(dtype=np.int64),
    })


def _sum_pairs(tables: list[Any]) -> Any:
    """Pair counts (Arrow tables of cooccurrence_counts' pairs) summed per pair, in (source, target) order,
    each pair's example the first in (document, passage) order; in Arrow, which sorts and groups the
    strings without a Python object each."""
    import pyarrow as pa

    pairs = pa.concat_tables(tables, promote_options="default")
    if pairs.num_rows == 0:
        return pairs
    ordered = pairs.sort_by([(column, "ascending") for column in ("source", "target", "example_document", "example_passage")])
    # Without threads a group_by keeps its groups, and the rows within each, in the order it meets them.
    grouped = ordered.group_by(["source", "target"], use_threads=False).aggregate([
        ("count", "sum"), ("documents", "sum"), ("example_document", "first"), ("example_passage", "first")])
    return pa.table({
        "source": grouped["source"], "target": grouped["target"],
        "count": grouped["count_sum"].cast(pa.int64()), "documents": grouped["documents_sum"].cast(pa.int64()),
        "example_document": grouped["example_document_first"],
        "example_passage": grouped["example_passage_first"].cast(pa.int64()),
    })


def merge_cooccurrence(
    sums: tuple[pd.DataFrame, pd.DataFrame], level: int | None, *, total_passages: int, codebook: Codebook,
) -> Cooccurrence:
    """build_cooccurrence(all segments, level=..., total_passages=..., codebook=...) from the partitions'
    summed counts (SummaryStore.sums): passages and documents add up (a document is never split), the
    example passage of a pair is the first in (document, passage) order, and the measures come from the sums."""
    codes, pairs = sums
    names = sorted(str(code) for code in codes["code"])
    by_code = codes.set_index("code")
    table = pd.DataFrame({
        "code": names,
        "code_path": by_code["code_path"].reindex(names).tolist(),
        "label": by_code["label"].reindex(names).tolist(),
        "passages": by_code["passages"].reindex(names).to_numpy(dtype=np.int64),
        "documents": by_code["documents"].reindex(names).to_numpy(dtype=np.int64),
    })
    code_passages = dict(zip(table["code"], table["passages"]))
    if codebook is not None:
        table = _with_uncoded_codes(table, codebook, level)
    return Cooccurrence(codes=table, pairs=_merged_pairs(pairs, code_passages, total_passages),
                        total_passages=int(total_passages), level=level,
                        segments=pd.DataFrame({"document": [], "passage": [], "code": [], "code_path": [], "label": [],
                                               "matched": [], "text": []}))


def _merged_pairs(pairs: pd.DataFrame, code_passages: dict[str, int], n_total: int) -> pd.DataFrame:
    """The summed pair counts with cooccurrence._pairs' measures (the same arithmetic), in its order."""
    if pairs.empty:
        empty = {"source": np.zeros(0, dtype=object), "target": np.zeros(0, dtype=object),
                 "count": np.zeros(0, dtype=np.int64), "jaccard": np.zeros(0), "association": np.zeros(0),
                 "npmi": np.zeros(0), "documents": np.zeros(0, dtype=np.int64),
                 "example_document": np.zeros(0, dtype=object), "example_passage": np.zeros(0, dtype=np.int64)}
        return pd.DataFrame(empty)[list(PAIR_COLUMNS)]
    source = pairs["source"].to_numpy(dtype=object)
    target = pairs["target"].to_numpy(dtype=object)
    counts = pairs["count"].to_numpy(dtype=np.int64)
    n12 = counts.astype(float)
    n1 = np.array([code_passages[code] for code in source], dtype=np.int64).astype(float)
    n2 = np.array([code_passages[code] for code in target], dtype=np.int64).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(n12 * n_total / (n1 * n2)) / -np.log(n12 / n_total)
    npmi = np.where(n12 == n_total, 1.0, npmi)
    return pd.DataFrame({
        "source": source, "target": target, "count": counts,
        "jaccard": n12 / (n1 + n2 - n12), "association": n12 * n_total / (n1 * n2), "npmi": npmi,
        "documents": pairs["documents"].to_numpy(dtype=np.int64),
        "example_document": pairs["example_document"].to_numpy(dtype=object),
        "example_passage": pairs["example_passage"].to_numpy(dtype=np.int64),
    })[list(PAIR_COLUMNS)]


def merge_words(summaries: Sequence[PartitionSummary], store: SummaryStore) -> list[str]:
    """The matched words in the order the whole table first meets them (each partition's asked of `store`)."""
    return list(dict.fromkeys(word for summary in summaries for word in store.part(summary, "words")))


@dataclass(frozen=True)
class Listing:
    """The report's passage data without the listed passages' rows: report._passages's other results,
    and which passages it lists, as (document, rank among its coded passages)."""

    names: list[str]
    words: list[str]
    sets: list[list[Any]]
    sample: dict[str, int] | None
    listed: list[tuple[str, int]]


def plan_listing(summaries: Sequence[PartitionSummary], store: SummaryStore, index: dict[str, int], *,
                 seed: int) -> Listing:
    """Documents, words, code sets and the passages to list (all, or report._sample's seeded sample)."""
    coded: dict[str, int] = {}
    for summary in summaries:
        coded.update(store.part(summary, "coded_by_document"))
    names = sorted(coded)
    number = {name: position for position, name in enumerate(names)}
    counted: Counter = Counter()
    for summary in summaries:
        for (document, codes), passages in store.code_sets(summary.number).items():
            counted[(number[document], tuple(sorted(index[code] for code in codes)))] += passages
    sets = [[document, passages, list(codes)] for (document, codes), passages in sorted(counted.items())]
    offsets = dict(zip(names, np.cumsum([0, *(coded[name] for name in names)])[:-1].tolist()))
    count = sum(coded.values())
    positions = [(name, rank) for name in names for rank in range(coded[name])] if count <= PASSAGES_SHOWN else None
    sample = None
    if positions is None:
        firsts = pd.concat([store.first_passages(summary.number) for summary in summaries], ignore_index=True)
        firsts = firsts.sort_values(["document", "passage"], kind="stable").groupby("code", sort=False).head(SAMPLE_PER_CODE)
        chosen = np.zeros(count, dtype=bool)
        chosen[np.array([offsets[document] + int(rank)
                         for document, rank in zip(firsts["document"].tolist(), firsts["rank"].tolist())],
                        dtype=np.int64)] = True
        taken = int(chosen.sum())
        if taken < PASSAGES_SHOWN:
            rest = np.flatnonzero(~chosen)
            # random.sample picks positions from the length alone: the same picks report._sample makes from the list.
            picks = random.Random(seed).sample(range(len(rest)), min(len(rest), PASSAGES_SHOWN - taken))
            chosen[rest[np.array(picks, dtype=np.int64)]] = True
        where = np.flatnonzero(chosen)
        starts = np.array([offsets[name] for name in names], dtype=np.int64)
        owner = np.searchsorted(starts, where, side="right") - 1
        positions = [(names[document], int(position - starts[document])) for document, position in zip(owner, where)]
        sample = {"shown": len(positions), "coded": count, "seed": seed, "per_code": SAMPLE_PER_CODE}
    return Listing(names=names, words=merge_words(summaries, store), sets=sets, sample=sample, listed=positions)


def listed_passages(listing: Listing, listed: Sequence[tuple[str, int]], rows: pd.DataFrame,
                    index: dict[str, int]) -> list[list[Any]]:
    """report._passages's passage records for the listed passages, given as (document, passage);
    `rows` are the counted rows of at least those passages, as build_cooccurrence(...).segments
    keeps them (in table order)."""
    from .network import snippet

    by_passage: dict[tuple[str, int], list[int]] = {}
    for position, (document, passage) in enumerate(zip(rows["document"].astype(str).tolist(), rows["passage"].tolist())):
        by_passage.setdefault((document, passage), []).append(position)
    number = {name: position for position, name in enumerate(listing.names)}
    codes, matched, texts = rows["code"].astype(str).tolist(), rows["matched"].tolist(), rows["text"]
    word_number = {word: position for position, word in enumerate(listing.words)}
    records = []
    for document, passage in listed:
        members = by_passage[(document, passage)]
        numbers = [[word_number[word] for word in split_matched(matched[row])] for row in members]
        text = str(texts.iloc[members[0]])
        if len(text) > PASSAGE_CHARACTERS:
            text = snippet(text, [listing.words[word] for each in numbers for word in each], width=PASSAGE_CHARACTERS)
        records.append([number[document], int(passage), text, [index[codes[row]] for row in members], numbers])
    return records
