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
edited, a corpus moved, another unit or encoding) returns None: the caller codes as usual. The
caller takes this path only for a corpus it would code whole in memory (runner.STREAMED_MIN_BYTES):
this holds the whole segment table too.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cache import RecodeCache, _tables, noted_tables_unchanged
from .corpus import Corpus
from .errors import CoderError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .models import Codebook, CodingResult
from .recode import _KEPT_COLUMNS, _as_table, _by_hand, _merged_order, _positions, _positions_arrow, _strings
from .runs import RunFolder
from .segments import PASSAGE_PARQUET_COLUMNS, SEGMENT_COLUMNS, add_page_column
from .stamps import CorpusChanges, CorpusStamps, changed_corpus

__all__ = ["recode_changed_documents"]


def recode_changed_documents(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    stamps: CorpusStamps | None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    workers: int | None = None,
) -> CodingResult | None:
    """The CodingResult a fresh run of `codebook` over `corpus` gives, built from the run in `run`
    by coding only the documents that are new or changed since; None when that cannot be vouched for.

    `stamps`: the corpus files' stamps this run took before reading anything (`take_corpus_stamps`).
    `CodingResult.reused` counts as the recode cache would (the kept documents reused, the others new),
    and the last run's documents no longer coded (`documents_gone`: removed, or skipped now).

    >>> recode_changed_documents(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"),
    ...                          stamps=take_corpus_stamps("seeds"))  # doctest: +SKIP
    """
    from . import __version__

    started = time.perf_counter()
    tables = _tables(run)
    if stamps is None or tables is None or not run.has_record():
        return None
    try:
        record = run.record()
    except CoderError:
        return None
    if (record.tool_version != __version__ or record.unit != codebook.unit
            or record.encoding != (check_encoding(encoding) if encoding else None)):
        return None
    if not _codes_as_noted(run, codebook, tables):
        return None
    changes = changed_corpus(run, corpus, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache)
    if changes is None:
        return None
    # The two tables are read in a thread beside this one while it codes the new documents: reading
    # Parquet leaves the GIL. Leaving the block waits for it: a table open in it must not stop the
    # full run from replacing the file (Windows).
    with ThreadPoolExecutor(max_workers=1) as beside:
        reading = beside.submit(_read_tables, tables)
        fresh = _code_fresh(changes, codebook, workers=workers)
        return _assembled(changes, codebook, record, reading, fresh, started=started)


def _codes_as_noted(run: RunFolder, codebook: Codebook, tables: dict[str, Path]) -> bool:
    """Do `tables` hold the coding of `codebook`'s codes, as the recode cache noted it?"""
    cache = RecodeCache(run.cache_path)
    try:
        noted = cache.noted_coding()
        if noted is None or not noted_tables_unchanged(noted, tables):
            return False
        return cache.fingerprints(codebook).by_code == noted.by_code
    except OSError:
        return False
    finally:
        cache.close()


def _read_tables(tables: dict[str, Path]) -> tuple[Any, Any] | None:
    """passages.parquet whole and segments.parquet's _KEPT_COLUMNS and `source`, as Arrow tables;
    None when either is not as `coder run` writes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .segments import PASSAGE_PARQUET_SCHEMA, SEGMENT_PARQUET_SCHEMA

    try:
        passages = pq.read_table(tables["passages.parquet"], columns=list(PASSAGE_PARQUET_COLUMNS))
        segments = pq.read_table(tables["segments.parquet"], columns=[*_KEPT_COLUMNS, "source"])
    except (pa.ArrowException, OSError, ValueError):
        return None
    for table, schema in ((passages, PASSAGE_PARQUET_SCHEMA), (segments, SEGMENT_PARQUET_SCHEMA)):
        if any(table.schema.field(name).type != schema.field(name).type or table[name].null_count
               for name in table.schema.names):
            return None
    return passages, segments


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
    per_old = np.bincount(old_document[old_document >= 0], minlength=len(old_paths))
    old_first = np.concatenate([[0], np.cumsum(per_old)[:-1]]).astype(np.int64)
    if ((old_document < 0).any() or (np.diff(old_document) < 0).any()
            or not np.array_equal(old_passages["passage"].to_numpy(), np.arange(len(old_document)) - old_first[old_document])
            or per_old.tolist() != [entry.get("passages") for entry in record.documents]):
        return None
    # Each of the last run's documents: its position in this corpus when kept, else -1 (the last: -1 for -1).
    position_now = {path: index for index, (path, kept) in enumerate(zip(paths, changes.kept)) if kept}
    now_of_old = np.array([position_now.get(path, -1) for path in old_paths] + [-1], dtype=np.int64)
    if len(set(position_now)) != sum(changes.kept):
        return None
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
