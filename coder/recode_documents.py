"""Rerun after documents were added, changed or removed: only those documents read and coded.

Splitting and matching work document by document: a passage's id hashes its document's path and
its text, a segment's its passage and code. So when the codebook matches as it did and some corpus
files are new, changed or gone, a fresh run gives the last run's passages and segments of every
other document as they were. `recode_changed_documents` takes those rows from the run folder's
passages.parquet and segments.parquet and reads, splits and codes only the other documents.

The codebook must match as the one that coded the tables: every code's fingerprint (which holds the
environment and everything that decides a code's matches) is the one the recode cache noted for the
tables the last run wrote (`remember_coding`), and the tables carry the stamps it noted, or failing
that, the same size and SHA-256. The documents are told apart by their files' stamps, and where a
stamp changed by their text's hash (`stamps.changed_corpus`). Anything unexpected (no note, a code
edited, a corpus moved, another unit or encoding) returns None: the caller codes as usual.

Two ways, as a cold run of the same corpus goes: `recode_changed_documents` for a corpus coded whole
in memory (up to runner.STREAMED_MIN_BYTES), which holds the whole segment table too; and
`code_partitions_from_last_run`, an engine of the partitioned run (coder.streamed) for a larger one,
which reads the kept documents' rows a partition at a time, so that its memory stays flat.

The engine also takes a codebook edit, with documents changed or not (`recode.plan_rematch`: the
codes whose matching changed, and where they can match now): in each partition the edited codes are
matched again in the kept documents' candidate passages, as `recode.recode_changed_codes` does for a
whole corpus held in memory, and a partition whose stored passages no longer fit is coded afresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cache import RecodeCache, noted_tables_unchanged
from .corpus import Corpus
from .errors import OutputError
from .extract.cache import ExtractionCache
from .files import display_name
from .models import Codebook, CodingResult
from .recode import (
    _KEPT_COLUMNS,
    RematchPlan,
    _as_table,
    _by_hand,
    _candidates,
    _match_candidates,
    _merged_order,
    _positions,
    _positions_arrow,
    _segment_rows,
    _strings,
    last_run_record,
    passage_bounds,
    plan_rematch,
)
from .runs import RunFolder
from .segments import PASSAGE_PARQUET_COLUMNS, SEGMENT_COLUMNS, add_page_column
from .stamps import CorpusChanges, CorpusStamps, changed_corpus

__all__ = ["code_partitions_from_last_run", "recode_changed_documents"]


def recode_changed_documents(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    stamps: CorpusStamps | None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    workers: int | None = None,
    corpus_changes: Callable[[], CorpusChanges | None] | None = None,
) -> CodingResult | None:
    """The CodingResult a fresh run of `codebook` over `corpus` gives, built from the run in `run`
    by coding only the documents that are new or changed since; None when that cannot be vouched for.

    `stamps`: the corpus files' stamps this run took before reading anything (`take_corpus_stamps`);
    `corpus_changes`: as `reuse.reuse_coding` takes it. `CodingResult.reused` counts as the recode cache would (the kept documents reused, the others new),
    and the last run's documents no longer coded (`documents_gone`: removed, or skipped now).

    >>> recode_changed_documents(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"),
    ...                          stamps=take_corpus_stamps("seeds"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    vouched = _vouched_changes(run, corpus, codebook, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache,
                               corpus_changes=corpus_changes)
    if vouched is None:
        return None
    record, tables, changes, _ = vouched
    # The two tables are read in a thread beside this one while it codes the new documents: reading
    # Parquet leaves the GIL. Leaving the block waits for it: a table open in it must not stop the
    # full run from replacing the file (Windows).
    with ThreadPoolExecutor(max_workers=1) as beside:
        reading = beside.submit(_read_tables, tables)
        fresh = _code_fresh(changes, codebook, workers=workers)
        return _assembled(changes, codebook, record, reading, fresh, started=started)


def _vouched_changes(run: RunFolder, corpus: str | Path, codebook: Codebook, *, stamps: CorpusStamps | None,
                     encoding: str | None, extraction_cache: ExtractionCache | None,
                     corpus_changes: Callable[[], CorpusChanges | None] | None, codes_may_change: bool = False,
                     ) -> tuple[Any, dict[str, Path], CorpusChanges, RematchPlan | None] | None:
    """The last run's record, its two tables, the corpus told against it (`corpus_changes()` when
    given: computed once for every path that asks) and what to match again of `codebook` (None: every
    code matches as it did), when the tables hold a coding the recode cache noted, made by this
    version with this unit and encoding; else None. Without `codes_may_change`, the noted coding must
    be `codebook`'s as it matches now."""
    last = last_run_record(run, codebook, encoding=encoding) if stamps is not None else None
    if last is None:
        return None
    record, tables = last
    noted = _noted_fingerprints(run, codebook, tables)
    if noted is None:
        return None
    before, fingerprints = noted
    plan = None
    if fingerprints.by_code != before:
        if not codes_may_change:
            return None
        plan = plan_rematch(record, codebook, before, fingerprints)
        if plan is None:
            return None
    changes = corpus_changes() if corpus_changes is not None else changed_corpus(
        run, corpus, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache)  # type: ignore[arg-type]
    return None if changes is None else (record, tables, changes, plan)


def _noted_fingerprints(run: RunFolder, codebook: Codebook, tables: dict[str, Path]) -> tuple[dict[str, str], Any] | None:
    """The code fingerprints the recode cache noted for `tables` (None: no note, or other tables) and
    `codebook`'s now."""
    cache = RecodeCache(run.cache_path)
    try:
        noted = cache.noted_coding()
        if noted is None or not noted_tables_unchanged(noted, tables):
            return None
        return noted.by_code, cache.fingerprints(codebook)
    except OSError:
        return None
    finally:
        cache.close()


def _read_tables(tables: dict[str, Path]) -> tuple[Any, Any] | None:
    """passages.parquet whole and segments.parquet's _KEPT_COLUMNS and `source` (recode._segment_rows),
    as Arrow tables; None when either is not as `coder run` writes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .segments import PASSAGE_PARQUET_SCHEMA

    try:
        passages = pq.read_table(tables["passages.parquet"], columns=list(PASSAGE_PARQUET_COLUMNS))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if any(passages.schema.field(name).type != PASSAGE_PARQUET_SCHEMA.field(name).type or passages[name].null_count
           for name in passages.schema.names):
        return None
    segments = _segment_rows(tables["segments.parquet"])
    return None if segments is None else (passages, segments.drop_columns(["span_text"]))


def _code_fresh(changes: CorpusChanges, codebook: Codebook, *, workers: int | None) -> CodingResult:
    """The documents of `changes` not kept, coded as a fresh run codes them (without the recode cache:
    its entries are pruned to the documents a run codes)."""
    from .pipeline import code_corpus

    fresh = tuple(document for document, kept in zip(changes.corpus.documents, changes.kept) if not kept)
    return code_corpus(Corpus(root=changes.corpus.root, documents=fresh), codebook, workers=workers)


def _assembled(changes: CorpusChanges, codebook: Codebook, record: Any, reading: Future, fresh: CodingResult, *,
               started: float) -> CodingResult | None:
    """The whole run's CodingResult: the kept documents' rows of the last run's tables (`reading`)
    and the `fresh` documents' coding, in corpus order."""
    import pyarrow as pa

    from .segments import _frame_of_table, passages_to_arrow

    read = reading.result()
    if read is None:
        return None
    old_passages, old_segments = read
    documents = list(changes.corpus.documents)
    paths = [document.path for document in documents]
    old_paths = [str(entry.get("path")) for entry in record.documents]
    # The last run's passages: in its corpus order, each document's numbered from 0, as run.json counts them.
    old_document = _positions_arrow(old_passages["document"], old_paths)
    if passage_bounds(old_document, old_passages["passage"].to_numpy(),
                      [entry.get("passages") for entry in record.documents]) is None:
        return None
    # Each of the last run's documents: its position in this corpus when kept, else -1 (the last: -1 for -1).
    position_now = {path: index for index, (path, kept) in enumerate(zip(paths, changes.kept)) if kept}
    now_of_old = np.array([position_now.get(path, -1) for path in old_paths] + [-1], dtype=np.int64)
    # Passages: the kept documents' from the last run, the fresh ones' as coded, in corpus order.
    kept_passages = now_of_old[old_document] >= 0
    fresh_passages = passages_to_arrow(fresh.passage_table)
    fresh_document = _positions_arrow(fresh_passages["document"], paths)
    passage_document = np.concatenate([now_of_old[old_document][kept_passages], fresh_document])
    if (passage_document < 0).any():
        return None
    passage_order = np.argsort(passage_document, kind="stable")  # each document's passages come from one table, in order
    passage_table = pa.concat_tables([old_passages.filter(pa.array(kept_passages)), fresh_passages]).take(
        pa.array(passage_order, type=pa.int64()))
    passage_document = passage_document[passage_order]
    per_document = np.bincount(passage_document, minlength=len(paths))
    first = np.concatenate([[0], np.cumsum(per_document)[:-1]]).astype(np.int64)
    counts = dict(zip(paths, per_document.tolist()))
    # Segments: the tool's rows of the kept documents (not those coded by hand: they come back with
    # the reviews), the fresh documents' rows, in corpus order, then passage, then codebook order.
    code_ids = [code.id for code in codebook]
    old_codes = _positions_arrow(old_segments["code"], code_ids)
    old_rows_document = now_of_old[_positions_arrow(old_segments["document"], old_paths)]
    old_rows = np.flatnonzero((old_rows_document >= 0) & ~_by_hand(old_segments))
    if (old_codes[old_rows] < 0).any():
        return None  # a kept row of a code the codebook lacks: not the coding its fingerprints say
    found = fresh.segments.assign(fingerprint=fresh.fingerprints.array)
    kept_table = old_segments.drop_columns(["source"])
    document_position = np.concatenate([old_rows_document[old_rows], _positions(found["document"], paths)])
    code_position = np.concatenate([old_codes[old_rows], _positions(found["code"], code_ids)])
    passage = np.concatenate([old_segments["passage"].to_numpy()[old_rows], found["passage"].to_numpy(dtype=np.int64)])
    if (document_position < 0).any() or (code_position < 0).any():
        return None
    if ((passage < 0) | (passage >= per_document[document_position])).any():
        return None  # a segment of a passage the table lacks
    position = first[document_position] + passage
    order = _merged_order(position * len(code_ids) + code_position, len(old_rows))
    rows = np.concatenate([old_rows, kept_table.num_rows + np.arange(len(found))])[order]
    coded = pa.concat_tables([kept_table, _as_table(found, kept_table.schema)]).take(
        pa.array(rows, type=pa.int64())).to_pandas()
    code_position, position = code_position[order], position[order]
    coded = coded.assign(code_path=_strings([code.code_path for code in codebook], code_position),
                         label=_strings([code.label for code in codebook], code_position), review="", note="")
    passages = _frame_of_table(passage_table)
    texts = passages["text"].to_numpy(dtype=object)
    coded["text"] = pd.Series(texts[position], dtype=object)
    frame = add_page_column(coded[list(SEGMENT_COLUMNS)], documents)
    reused, new = sum(changes.kept), len(documents) - sum(changes.kept)
    return CodingResult(
        corpus=changes.corpus, codebook=codebook, segments=frame, passages=counts,
        seconds=time.perf_counter() - started,
        reused={"documents_reused": reused, "documents_new": new, "codes_reused": reused * len(code_ids),
                "codes_matched": new * len(code_ids), "documents_gone": len(set(old_paths) - set(paths))},
        fingerprints=coded["fingerprint"], passage_table=passages,
    )


# Bytes of files a partition of this engine holds: a partition read from the tables costs little but its
# finishing (reviews, statuses, its summary), which is paid per partition. 50 MB corpus, one document
# added: 1 MB (the local engine's) 10.6 s, 4 MB 8.1 s, 8 MB 7.8 s; peak RSS 386, 379, 422 MB.
_PARTITION_BYTES = 4_000_000
# This engine codes the new documents in its own process, one core; past this share of the corpus's
# bytes new or changed, the local engine's coding processes do it sooner (50 MB corpus: the rest of
# this engine's rerun ~7 s, a full rerun ~12 s, one process codes ~5 MB/s).
_MAX_FRESH_SHARE = 0.25


def code_partitions_from_last_run(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    stamps: CorpusStamps | None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    progress: Any = None,
    corpus_changes: Callable[[], CorpusChanges | None] | None = None,
) -> Any:
    """An engine for a partitioned run (coder.streamed.CodePartitions) that codes only the documents
    added or changed since the run in `run`, the others' rows read from its tables a partition at a
    time (its memory stays flat, as the local engine's does); None when that cannot be vouched for
    (as `recode_changed_documents`). The tables are read as the partitions come (the run replaces them
    only at its end), and closed before the engine returns.

    >>> engine = code_partitions_from_last_run(RunFolder("outputs"), "archive", codebook, stamps=stamps)  # doctest: +SKIP
    """
    vouched = _vouched_changes(run, corpus, codebook, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache,
                               corpus_changes=corpus_changes, codes_may_change=True)
    if vouched is None:
        return None
    record, tables, changes, rematch = vouched
    # Sizes of text: a text file's bytes, an extracted document's characters (a Word file's bytes are mostly not text).
    sizes = [len(document.text) if document.is_extracted else stamps.files[document.path][0]  # type: ignore[union-attr]
             for document in changes.corpus.documents]
    if sum(size for size, keep in zip(sizes, changes.kept) if not keep) > _MAX_FRESH_SHARE * sum(sizes):
        return None
    last = _LastRun.read(tables, record, codebook, codes_known=rematch is None)
    if last is None:
        return None
    kept = {document.path: document.sha256 for document, keep in zip(changes.corpus.documents, changes.kept) if keep}
    gone = len(set(last.paths) - {document.path for document in changes.corpus.documents})

    def code(items: list[Any], plan: Any, folder: Path, receive: Any) -> Any:
        from .cache import CacheStats
        from .partitioned import finish_partition
        from .pipeline import _corpus_read, _item_length, partition_documents
        from .streamed import CodedPartitions, PartitionWriter, _release_memory

        partitions = partition_documents(items, _PARTITION_BYTES, length=_item_length)
        stats = CacheStats()
        summaries = []
        done = matched_again = 0
        coder = _FreshCoder(codebook, plan.encoding)
        kept_items = [[kept.get(item.path) is not None and _sha256_of(item) in (None, kept[item.path])
                       for item in partition] for partition in partitions]

        def rows(number: int) -> _PartitionRows:
            return _partition_rows(last, codebook, coder, partitions[number], kept_items[number], rematch=rematch)

        # The next partition's rows are read (Arrow, mostly without the GIL) in one thread, and a finished
        # partition's part files written in another (PartitionWriter), while this one finishes a partition
        # (its reviews and statuses, its summary). The reader alone touches the tables.
        reader = ThreadPoolExecutor(max_workers=1)
        reading: Future | None = reader.submit(rows, 0) if partitions else None
        try:
            with PartitionWriter(folder, receive) as writer:
                for number, partition in enumerate(partitions):
                    taken = reading.result()  # type: ignore[union-attr]
                    reading = reader.submit(rows, number + 1) if number + 1 < len(partitions) else None
                    documents = list(_corpus_read(Path(), partition, dict(taken.read), plan.encoding).documents)
                    frame, summary = finish_partition(taken.segments, taken.passages, documents, codebook, plan, number)
                    summary.passages, summary.read = taken.counts, dict(taken.read)
                    writer.write(frame, taken.passages, summary)
                    summaries.append(summary)
                    stats.documents_reused += taken.reused
                    stats.documents_new += len(documents) - taken.reused
                    matched_again += taken.passages_matched
                    del frame, taken
                    _release_memory()
                    done += len(partition)
                    if progress:
                        progress(done, len(items))
                writer.wait()
        finally:
            # Nothing left reading the tables (the writer waited as its block closed).
            reader.shutdown(wait=True, cancel_futures=True)
            last.close()
        counted = stats.as_dict()
        edited = len(rematch.to_match) if rematch is not None else 0
        counted.update(codes_reused=stats.documents_reused * (len(codebook) - edited),
                       codes_matched=stats.documents_new * len(codebook) + stats.documents_reused * edited,
                       documents_gone=gone)
        if rematch is not None:
            counted.update(codes_edited=edited, passages_matched=matched_again)
        return CodedPartitions(partitions=partitions, summaries=summaries, reused=counted)

    return code


def _sha256_of(item: Any) -> str | None:
    """A read document's text hash (an extracted document, read already); None for a file not read yet."""
    from .corpus import CorpusFile

    return None if isinstance(item, CorpusFile) else item.sha256


class _FreshCoder:
    """Codes the few documents a partition has that the last run did not, compiling the codebook once, when first needed."""

    def __init__(self, codebook: Codebook, encoding: str | None):
        self.codebook, self.encoding, self.compiled = codebook, encoding, None

    def code(self, items: list[Any]) -> tuple[Any, Any, dict[str, int], list[tuple]]:
        """Their segments and passages as Arrow tables (None: no rows), passages per document, and what reading them found."""
        from .matching import compile_codebook
        from .pipeline import _code_rows, _read_items, passage_arrow, segment_table

        documents, read = _read_items(items, self.encoding)
        if not documents:  # each skipped (an empty file)
            return None, None, {}, read
        if self.compiled is None:
            self.compiled = compile_codebook(self.codebook)
        rows, counts, _, _, passage_columns = _code_rows(documents, self.codebook, compiled=self.compiled)
        return (segment_table(rows, self.codebook) if len(rows) else None,
                passage_arrow(passage_columns) if len(passage_columns) else None, counts, read)


class _TableRows:
    """Rows of one Parquet file by ranges, each row group decoded once while consecutive ranges fall in it."""

    def __init__(self, path: Path, columns: list[str]):
        import pyarrow.parquet as pq

        self.path = path
        self.file = pq.ParquetFile(path)
        self.columns = columns
        sizes = [self.file.metadata.row_group(group).num_rows for group in range(self.file.metadata.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.group: tuple[int, Any] = (-1, None)

    def take(self, ranges: list[tuple[int, int]], schema: Any) -> Any:
        """The rows of `ranges` ((start, end), ascending), cast to `schema`. Raises OutputError naming
        the file when a row group cannot be read (damaged since it was checked)."""
        import pyarrow as pa

        pieces = []
        for start, end in _joined_ranges(ranges):
            while start < end:
                group = int(np.searchsorted(self.starts, start, side="right")) - 1
                if self.group[0] != group:
                    try:
                        self.group = (group, self.file.read_row_group(group, columns=self.columns))
                    except (pa.ArrowException, OSError) as problem:
                        raise OutputError(f"{display_name(self.path)}: cannot read it as Parquet ({problem}). "
                                          "Run `coder run --no-cache` to code every document again.") from None
                stop = min(end, int(self.starts[group + 1]))
                pieces.append(self.group[1].slice(start - int(self.starts[group]), stop - start))
                start = stop
        # Cast only the rows taken (a row group of 256,000 segments cast whole was a copy of it held throughout).
        return pa.concat_tables(pieces).cast(schema) if pieces else schema.empty_table()

    def nulls(self) -> bool:
        """Might a column hold a null? (Told by each row group's statistics; none kept: maybe.)"""
        metadata = self.file.metadata
        wanted = {metadata.schema.column(index).name: index for index in range(metadata.num_columns)}
        for group in range(metadata.num_row_groups):
            for name in self.columns:
                statistics = metadata.row_group(group).column(wanted[name]).statistics
                if statistics is None or not statistics.has_null_count or statistics.null_count:
                    return True
        return False

    def close(self) -> None:
        self.group = (-1, None)
        self.file.close()


def _joined_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """`ranges` with each that starts where the one before ends joined to it: consecutive documents'
    rows taken as one piece, not a piece each (a partition of 1,000 documents was 1,000 chunks).

    >>> _joined_ranges([(0, 3), (3, 5), (7, 9), (9, 9), (9, 12)])
    [(0, 5), (7, 12)]
    """
    joined: list[tuple[int, int]] = []
    for start, end in ranges:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


class _LastRun:
    """The last run's two tables, read a partition's documents at a time: where each document's rows are."""

    def __init__(self, paths: list[str], documents: list[dict], passages: _TableRows, passage_bounds: np.ndarray,
                 segments: _TableRows, segment_bounds: np.ndarray):
        self.paths, self.documents = paths, documents
        self.position = {path: index for index, path in enumerate(paths)}
        self.passages, self.passage_bounds = passages, passage_bounds  # each document's rows: [bounds[i], bounds[i + 1])
        self.segments, self.segment_bounds = segments, segment_bounds

    @classmethod
    def read(cls, tables: dict[str, Path], record: Any, codebook: Codebook, *, codes_known: bool = True) -> _LastRun | None:
        """The tables of the run whose record is `record`, checked as `coder run` writes them: each in
        corpus order, the passages numbered from 0 in each document as run.json counts them, no cell
        empty, and (`codes_known`) every row of the tool's of a code of `codebook`. None otherwise."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .segments import PASSAGE_PARQUET_SCHEMA, SEGMENT_PARQUET_SCHEMA

        paths = [str(entry.get("path")) for entry in record.documents]
        if len(set(paths)) != len(paths):
            return None
        passages = segments = None
        try:
            passages = _TableRows(tables["passages.parquet"], list(PASSAGE_PARQUET_COLUMNS))
            segments = _TableRows(tables["segments.parquet"], [*_KEPT_COLUMNS, "source"])
            for rows, schema in ((passages, PASSAGE_PARQUET_SCHEMA), (segments, SEGMENT_PARQUET_SCHEMA)):
                arrow = rows.file.schema_arrow
                if (any(name not in arrow.names or arrow.field(name).type != schema.field(name).type for name in rows.columns)
                        or rows.nulls()):
                    raise ValueError("not as coder run writes it")
            lean = pq.read_table(tables["passages.parquet"], columns=["document", "passage"])
            first = passage_bounds(_positions_arrow(lean["document"], paths), lean["passage"].to_numpy(),
                                   [entry.get("passages") for entry in record.documents])
            if first is None:
                raise ValueError("passages not in corpus order")
            # The segments' documents and codes a batch at a time: what is kept is a number per row.
            documents, code_ids = [], [code.id for code in codebook]
            for batch in segments.file.iter_batches(batch_size=65_536, columns=["document", "code", "source"]):
                lean = pa.Table.from_batches([batch])
                documents.append(_positions_arrow(lean["document"], paths))
                if codes_known and (_positions_arrow(lean["code"], code_ids)[~_by_hand(lean)] < 0).any():
                    raise ValueError("a code the codebook lacks")
            document = np.concatenate(documents) if documents else np.zeros(0, dtype=np.int64)
            if (document < 0).any() or (np.diff(document) < 0).any():
                raise ValueError("segments not in corpus order")
            bounds = np.searchsorted(document, np.arange(len(paths) + 1)).astype(np.int64)
        except (pa.ArrowException, OSError, ValueError, KeyError):
            for rows in (passages, segments):
                if rows is not None:
                    rows.close()
            return None
        return cls(paths, list(record.documents), passages, first, segments, bounds)

    def close(self) -> None:
        self.passages.close()
        self.segments.close()


@dataclass
class _PartitionRows:
    """One partition's rows for finish_partition: its segments frame (_FRAME_COLUMNS, as the local
    engine's) and passages frame (PASSAGE_COLUMNS), its passages per document, what reading its text
    files found, how many of its documents' rows came from the last run, and how many of their
    passages were matched again (a codebook edit's candidates)."""

    segments: pd.DataFrame
    passages: pd.DataFrame
    counts: dict[str, int]
    read: list[tuple]
    reused: int = 0
    passages_matched: int = 0


def _partition_rows(last: _LastRun, codebook: Codebook, coder: _FreshCoder, partition: list[Any],
                    kept: list[bool], *, rematch: RematchPlan | None = None) -> _PartitionRows:
    """One partition's rows: the kept documents' rows from the last run's tables (with `rematch`, those
    of the codes it matches again replaced where they can match now), the others coded here; in corpus
    order, then passage, then codebook order."""
    import pyarrow as pa

    from .corpus import CorpusFile
    from .pipeline import _FRAME_COLUMNS, PASSAGE_COLUMNS, empty_passage_frame, empty_segment_frame

    text = pa.large_string()
    passage_schema = pa.schema([(name, pa.int64() if name in ("passage", "start", "end") else text)
                                for name in PASSAGE_COLUMNS])
    segment_schema = pa.schema([(name, pa.int64() if name in ("passage", "start", "end", "hits") else text)
                                for name in [*_KEPT_COLUMNS, "source"]])
    old = [last.position[item.path] for item, keep in zip(partition, kept) if keep]
    slot = {item.path: number for number, item in enumerate(partition)}  # each document's place in the partition
    counts: dict[str, int] = {}
    read: list[tuple] = []
    for item, keep in zip(partition, kept):
        if keep:
            index = last.position[item.path]
            counts[item.path] = int(last.passage_bounds[index + 1] - last.passage_bounds[index])
            if isinstance(item, CorpusFile):
                entry = last.documents[index]
                read.append((item.path, (entry["encoding"], entry["sha256"], 0)))
    old_passages = last.passages.take([(int(last.passage_bounds[index]), int(last.passage_bounds[index + 1]))
                                       for index in old], passage_schema)
    # Segments: the tool's rows of the kept documents (then the fresh ones, merged in order).
    old_rows = last.segments.take([(int(last.segment_bounds[index]), int(last.segment_bounds[index + 1]))
                                   for index in old], segment_schema)
    old_rows = old_rows.filter(pa.array(~_by_hand(old_rows)))
    code_ids = [code.id for code in codebook]
    code_position = _positions_arrow(old_rows["code"], code_ids)
    in_order = old_rows.num_rows  # the last run's rows, in order: any others are merged in
    matched_again = 0
    if rematch is not None:
        redone = _rematched(rematch, codebook, [item for item, keep in zip(partition, kept) if keep],
                            [last.documents[index] for index in old], np.diff(last.passage_bounds)[old],
                            old_passages, old_rows, code_position, encoding=coder.encoding)
        if redone is None:  # a kept document's stored passages no longer fit its text: the partition coded afresh
            return _partition_rows(last, codebook, coder, partition, [False] * len(partition))
        keep, found, matched_again = redone
        old_rows, code_position = old_rows.filter(pa.array(keep)), code_position[keep]
        in_order = old_rows.num_rows
        if found is not None and len(found):
            old_rows = pa.concat_tables([old_rows, _as_table(found.assign(source="auto"), old_rows.schema)])
            code_position = np.concatenate([code_position, _positions(found["code"], code_ids)])
    fresh_segments, fresh_passages, fresh_counts, fresh_read = coder.code(
        [item for item, keep in zip(partition, kept) if not keep]) if not all(kept) else (None, None, {}, [])
    counts.update(fresh_counts)
    read.extend(fresh_read)
    counts = {item.path: counts[item.path] for item in partition if item.path in counts}  # in corpus order
    # Passages: each document's come from one table, in order; a stable sort by the document's place.
    places = [np.repeat([slot[last.paths[index]] for index in old], np.diff(last.passage_bounds)[old]).astype(np.int64)]
    tables = [old_passages]
    if fresh_passages is not None:
        tables.append(fresh_passages)
        places.append(_positions_arrow(fresh_passages["document"], list(slot)))
    place = np.concatenate(places)
    if place.size:
        passages = pa.concat_tables(tables).take(pa.array(np.argsort(place, kind="stable"), type=pa.int64())).to_pandas()
    else:
        passages = empty_passage_frame()

    def by_code(values: list[str]) -> Any:
        return pa.array(values, type=text).take(pa.array(code_position, type=pa.int64()))

    blank = pa.array([""], type=text).take(pa.array(np.zeros(old_rows.num_rows, dtype=np.int64)))
    kept_table = pa.table({
        **{name: old_rows[name] for name in ("segment_id", "document", "passage", "start", "end", "kind", "code")},
        "code_path": by_code([code.code_path for code in codebook]), "label": by_code([code.label for code in codebook]),
        "hits": old_rows["hits"], "matched": old_rows["matched"], "review": blank, "note": blank,
        "fingerprint": old_rows["fingerprint"],
    }).cast(pa.schema([(name, pa.int64() if name in ("passage", "start", "end", "hits") else text)
                       for name in _FRAME_COLUMNS]))
    # Each row's key: its passage's place in the partition, then its code's in the codebook.
    first = np.concatenate([[0], np.cumsum([counts.get(item.path, 0) for item in partition])]).astype(np.int64)
    documents = list(slot)

    def keys_of(table: Any, codes: np.ndarray) -> np.ndarray:
        return (first[_positions_arrow(table["document"], documents)] + table["passage"].to_numpy()) * len(code_ids) + codes

    keys = [keys_of(old_rows, code_position)]
    tables = [kept_table]
    if fresh_segments is not None:
        tables.append(fresh_segments.cast(kept_table.schema))
        keys.append(keys_of(fresh_segments, _positions_arrow(fresh_segments["code"], code_ids)))
    key = np.concatenate(keys)
    reused = len(old)
    if not key.size:
        return _PartitionRows(empty_segment_frame(), passages, counts, read, reused, matched_again)
    order = _merged_order(key, in_order)
    frame = pa.concat_tables(tables).take(pa.array(order, type=pa.int64())).to_pandas()
    return _PartitionRows(frame, passages, counts, read, reused, matched_again)


def _rematched(rematch: RematchPlan, codebook: Codebook, items: list[Any], entries: list[dict], passage_counts: np.ndarray,
               passages: Any, rows: Any, code_position: np.ndarray, *, encoding: str | None,
               ) -> tuple[np.ndarray, pd.DataFrame | None, int] | None:
    """A codebook edit in one partition's kept documents (`items`, their run.json `entries`, each with
    `passage_counts` of the Arrow `passages`, whose segment `rows` are of the codes at `code_position`),
    as recode.recode_changed_codes does it for a whole corpus: which rows are kept, the new rows of the
    codes matched again where they can match (recode._match_candidates' columns), and how many passages
    that was. None when a candidate's document is not the text the last run coded, or its stored
    passages do not fit it."""
    import pyarrow as pa

    from .pipeline import _read_items

    if not rematch.to_match or not passages.num_rows:
        return rematch.keeps[code_position], None, 0
    # The texts as one array: the table holds a piece of a row group per document (thousands of chunks).
    candidates = _candidates(passages["text"].combine_chunks(), rematch.needles)
    if candidates is None:
        return None
    row_passages = None
    if rematch.edits:  # each row's passage among the table's: its document's first, then its number
        first = np.concatenate([[0], np.cumsum(passage_counts)[:-1]]).astype(np.int64)
        row_passages = first[_positions_arrow(rows["document"], [item.path for item in items])] + rows["passage"].to_numpy()
    keep = rematch.kept_rows(code_position, row_passages, candidates, passages.num_rows)
    if not len(candidates):
        return keep, None, 0
    held = set(passages["document"].take(pa.array(candidates, type=pa.int64())).to_pylist())
    chosen = [(item, entry) for item, entry in zip(items, entries) if item.path in held]
    documents, _ = _read_items([item for item, _ in chosen], encoding)
    by_path = {document.path: document for document in documents}
    if any(item.path not in by_path or by_path[item.path].sha256 != entry.get("sha256") for item, entry in chosen):
        return None
    columns = {name: passages[name].to_pandas() for name in ("document", "passage", "start", "end", "kind", "text")}
    matched = _match_candidates(documents, columns, codebook, rematch.to_match, candidates)
    if matched is None:
        return None
    found, count = matched
    return keep, found, count
