"""The whole coding job: corpus -> passages -> matches -> segments, on every core."""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .cache import (
    CacheEntry,
    CacheStats,
    Fingerprints,
    Pending,
    RecodeCache,
    code_fingerprints,
    document_key,
)
from .cache import passage_rows as cached_passage_rows
from .corpus import (
    Corpus,
    CorpusFile,
    SkippedFile,
    StoredDocument,
    corpus_entries,
    listed_files,
    read_corpus,
    read_corpus_file,
)
from .errors import CoderError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .lexicon import release_lemma_tables
from .matching import CompiledCodebook, compile_codebook, segmenter_words_of
from .models import (  # noqa: F401 (CodingResult: imported from here too)
    Code,
    Codebook,
    CodingResult,
    Document,
    Passage,
    numbered_copies,
    passage_fingerprints,
    passage_hashes,
    segment_ids_from_fingerprints,
)
from .passages import (
    split_passages,
    split_passages_in_parts,
    split_passages_noting_plain_text,
    splits_in_parts,
)
from .processes import GUARD_ADVICE, refuse_script_rerun_in_worker

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    import pandas as pd
    import pyarrow as pa

# The segment table's columns without `text` (the passage's, joined once at the end). Spelled out
# here, not imported, so that coding workers never load pandas or pyarrow (segments.py needs both):
# each worker is ~130 MB lighter.
_SEGMENT_COLUMNS = ("segment_id", "document", "passage", "start", "end", "kind", "code", "code_path", "label",
                    "hits", "matched", "review", "note")

# segment_id_from_fingerprint()'s ids and passage_fingerprint()'s hashes, in characters.
_SEGMENT_ID_WIDTH, _FINGERPRINT_WIDTH = 17, 40

# Below this much text, starting worker processes costs more than it saves.
_PARALLEL_MIN_CHARS = 2_000_000
# fork does not exist on Windows and is unsafe with threads on macOS; spawn works everywhere, so
# every platform runs the same code (workers get the codebook through a picklable initialiser).
# spawn imports the caller's script again in each worker: see refuse_script_rerun_in_worker().
_START_METHOD = "spawn"
_BATCH_CHARS = 1_000_000
# At most this many bytes of files per batch when workers read them: a worker holds a batch's text,
# passages and rows at once, and this process a finished batch's columns.
_WORKER_BATCH_BYTES = 2_000_000


# One code's hits in one passage: (passage index, hits, matched words "; "-joined).
CodeHits = list[tuple[int, int, str]]


# The frame a batch's segments become: segments.csv's columns without `text`, plus the passage's
# passage_fingerprint() for the segment index.
_FRAME_COLUMNS = (*_SEGMENT_COLUMNS, "fingerprint")

PASSAGE_COLUMNS = ("document", "passage", "start", "end", "kind", "text")
_Item = TypeVar("_Item")


def code_documents(
    documents: Sequence[Document],
    codebook: Codebook,
    *,
    compiled: CompiledCodebook | None = None,
    cache: RecodeCache | None = None,
) -> tuple[pd.DataFrame, dict[str, int], CacheStats, Pending, list[tuple[str, int, int, int, str, str]]]:
    """Code documents in this process: the segments frame without `text` (plus a `fingerprint`
    column, the passage's passage_fingerprint), passages per document, cache use, the new cache
    entries for the calling process to write, and every passage as a row of PASSAGE_COLUMNS."""
    rows, counts, stats, pending, passage_rows = _code_rows(documents, codebook, compiled=compiled, cache=cache)
    return _segment_frame(rows, codebook), counts, stats, pending, passage_rows.as_rows()


class SegmentColumns:
    """One batch's segment rows column by column, as a coding worker sends them back: plain lists
    and int64 arrays (no pandas, no Python object per number), documents and codes by number.

    The main process turns them into the frame's Arrow columns in a few calls (`_segment_frame`),
    where a DataFrame built from one tuple per row took seconds on a large corpus.
    """

    def __init__(self) -> None:
        self.documents: list[str] = []  # the batch's documents, by number
        self.document = array("q")  # each row's document number
        self.passage, self.start, self.end, self.hits = array("q"), array("q"), array("q"), array("q")
        self.code = array("q")  # each row's code, by its position in the codebook
        self.segment_id: list[str] = []
        self.kind: list[str] = []
        self.matched: list[str] = []
        self.fingerprint: list[str] = []  # the passage's passage_fingerprint()
        # Each distinct `matched` cell once, for every row that has it: pickled (and read back) once.
        self.cells: dict[str, str] = {}
        # After pack(): the ids and fingerprints as one ASCII buffer each (`segment_id`, `fingerprint` emptied).
        self.segment_id_data: bytes | None = None
        self.fingerprint_data: bytes | None = None

    def __len__(self) -> int:
        return len(self.code)

    def pack(self) -> None:
        """Hold the segment ids ("s" and 16 hex digits) and fingerprints (40 hex digits) as one ASCII
        buffer each, as Arrow stores text of fixed width: the worker sends two bytes objects instead
        of two strings per row, and the main process wraps them without converting a string per row."""
        self.cells = {}
        ids, fingerprints = "".join(self.segment_id), "".join(self.fingerprint)
        if (len(self.fingerprint) == len(self.segment_id) and ids.isascii() and fingerprints.isascii()
                and set(map(len, self.segment_id)) <= {_SEGMENT_ID_WIDTH}
                and set(map(len, self.fingerprint)) <= {_FINGERPRINT_WIDTH}):
            self.segment_id_data, self.fingerprint_data = ids.encode("ascii"), fingerprints.encode("ascii")
            self.segment_id, self.fingerprint = [], []


class PassageColumns:
    """One batch's passages column by column (see SegmentColumns): PASSAGE_COLUMNS."""

    def __init__(self) -> None:
        self.documents: list[str] = []
        self.document = array("q")
        self.passage, self.start, self.end = array("q"), array("q"), array("q")
        self.kind: list[str] = []
        self.text: list[str] = []
        # After pack(): the texts as one UTF-8 buffer and its offsets (`text` emptied).
        self.text_data: bytearray | None = None
        self.text_offsets = array("q")
        self.unpackable = False  # a text UTF-8 cannot hold was met: all stay strings

    def __len__(self) -> int:
        return len(self.passage)

    def extend(self, number: int, passages: Sequence[Passage]) -> None:
        """Add passages of the document numbered `number` (its index in `documents`)."""
        self.document.extend([number] * len(passages))
        self.passage.extend([passage.index for passage in passages])
        self.start.extend([passage.start for passage in passages])
        self.end.extend([passage.end for passage in passages])
        self.kind.extend([passage.kind for passage in passages])
        self.text.extend([passage.text for passage in passages])

    def pack(self) -> None:
        """Hold the texts as one UTF-8 buffer with offsets, as Arrow stores text: the worker sends one
        bytes object instead of a string per passage, and the main process wraps it without a copy
        per passage. Texts added since the last pack are appended to the buffer (a document coded a
        part at a time packs each part's). Text UTF-8 cannot hold (lone surrogates) stays as it is,
        and so do all the texts with it."""
        if self.unpackable:
            return
        try:
            encoded = [text.encode("utf-8") for text in self.text]
        except UnicodeEncodeError:
            self.text, self.text_data, self.text_offsets = self.texts(), None, array("q")
            self.unpackable = True
            return
        if self.text_data is None:
            self.text_data, self.text_offsets = bytearray(), array("q", [0])
        offsets = self.text_offsets
        total = offsets[-1]
        for piece in encoded:
            total += len(piece)
            offsets.append(total)
        self.text_data += b"".join(encoded)
        self.text = []

    def texts(self) -> list[str]:
        """The passages' texts, packed or not."""
        if self.text_data is None:
            return self.text
        data, offsets = self.text_data, self.text_offsets
        return [bytes(data[offsets[row]:offsets[row + 1]]).decode("utf-8")
                for row in range(len(offsets) - 1)] + self.text

    def as_rows(self) -> list[tuple[str, int, int, int, str, str]]:
        """The passages as rows of PASSAGE_COLUMNS."""
        return [(self.documents[document], passage, start, end, kind, text) for document, passage, start, end, kind, text
                in zip(self.document, self.passage, self.start, self.end, self.kind, self.texts())]


def _segment_frame(columns: SegmentColumns, codebook: Codebook) -> pd.DataFrame:
    """The batch's segments frame (_FRAME_COLUMNS), built column by column in Arrow."""
    if not len(columns):  # as a frame built from no rows has always been: object columns
        return empty_segment_frame()
    return segment_table(columns, codebook).to_pandas()


def empty_segment_frame() -> pd.DataFrame:
    """A batch's segments frame with no rows (_FRAME_COLUMNS)."""
    return _empty_frame(_FRAME_COLUMNS, ("passage", "start", "end", "hits"))


def segment_table(columns: SegmentColumns, codebook: Codebook) -> pa.Table:
    """The batch's segments (_FRAME_COLUMNS) as an Arrow table, text as pandas stores its str columns."""
    import numpy as np
    import pyarrow as pa

    rows = len(columns)
    text = pa.large_string()  # as pandas stores its str columns
    codes = list(codebook)

    def numbers(values: array) -> pa.Array:
        return pa.array(np.frombuffer(values, dtype=np.int64))

    def by_number(names: list[str], index: array) -> pa.Array:
        return pa.array(names, type=text).take(numbers(index))

    def fixed_width(data: bytes | None, width: int, values: list[str]) -> pa.Array:
        if data is None:
            return pa.array(values, type=text)
        offsets = pa.py_buffer(np.arange(0, width * (rows + 1), width, dtype=np.int64))
        return pa.LargeStringArray.from_buffers(rows, offsets, pa.py_buffer(data))

    code_index = numbers(columns.code)
    blank = pa.array([""], type=text).take(pa.array(np.zeros(rows, dtype=np.int64)))
    arrays = {
        "segment_id": fixed_width(columns.segment_id_data, _SEGMENT_ID_WIDTH, columns.segment_id),
        "document": by_number(columns.documents, columns.document),
        "passage": numbers(columns.passage), "start": numbers(columns.start), "end": numbers(columns.end),
        "kind": pa.array(columns.kind, type=text),
        "code": pa.array([code.id for code in codes], type=text).take(code_index),
        "code_path": pa.array([code.code_path for code in codes], type=text).take(code_index),
        "label": pa.array([code.label for code in codes], type=text).take(code_index),
        "hits": numbers(columns.hits),
        "matched": pa.array(columns.matched, type=text),
        "review": blank, "note": blank,
        "fingerprint": fixed_width(columns.fingerprint_data, _FINGERPRINT_WIDTH, columns.fingerprint),
    }
    assert tuple(arrays) == _FRAME_COLUMNS
    return pa.table(arrays)


def _empty_frame(columns: Sequence[str], integers: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({column: pd.Series([], dtype="int64" if column in integers else object) for column in columns})


def _code_rows(
    documents: Sequence[Document],
    codebook: Codebook,
    *,
    compiled: CompiledCodebook | None = None,
    cache: RecodeCache | None = None,
) -> tuple[SegmentColumns, dict[str, int], CacheStats, Pending, PassageColumns]:
    """code_documents' work in plain data (segment rows and passages in columns), which a worker
    sends back without pandas."""
    if compiled is None and cache is None:
        compiled = compile_codebook(codebook)
    stats = CacheStats()
    order = {code.id: position for position, code in enumerate(codebook)}
    rows = SegmentColumns()
    passage_rows = PassageColumns()
    counts: dict[str, int] = {}
    kinds = frozenset(codebook.code_kinds)
    for group in _matching_groups(documents, codebook.unit):
        if len(group) == 1 and splits_in_parts(group[0], codebook.unit) and _code_in_parts(
                rows, passage_rows, counts, group[0], codebook, compiled, cache, stats, order):
            continue
        if cache is None:
            split = [split_passages(document, unit=codebook.unit) for document in group]
            coded = _hits_by_document(split, compiled, kinds)  # type: ignore[arg-type]
            found = [(passages, hits, passage_fingerprints(document.path, [passage.text for passage in passages]))
                     for document, passages, hits in zip(group, split, coded)]
        else:
            found = _cached_hits(group, codebook, compiled, cache, stats, order)
        for document, (passages, hits, fingerprints) in zip(group, found):
            _add_document_rows(rows, passage_rows, counts, document, passages, fingerprints, hits, order)
    rows.pack()
    passage_rows.pack()
    return rows, counts, stats, cache.take_pending() if cache is not None else [], passage_rows


# Documents matched in one matcher call (the automaton runs, folding, joining: work paid per call):
# on the benchmark corpus (documents of ~5.7 KB) 10-16 per call took 11-21% less matching time than one.
_GROUP_DOCUMENTS, _GROUP_CHARS = 16, 128_000


def _matching_groups(documents: Sequence[Document], unit: str = "paragraph") -> Iterator[list[Document]]:
    """Consecutive documents, at most _GROUP_DOCUMENTS and about _GROUP_CHARS characters a group; a
    document split in parts (splits_in_parts) in a group of its own."""
    group: list[Document] = []
    chars = 0
    for document in documents:
        if splits_in_parts(document, unit):  # type: ignore[arg-type]
            if group:
                yield group
            yield [document]
            group, chars = [], 0
            continue
        group.append(document)
        chars += len(document.text)
        if len(group) >= _GROUP_DOCUMENTS or chars >= _GROUP_CHARS:
            yield group
            group, chars = [], 0
    if group:
        yield group


def _code_in_parts(
    rows: SegmentColumns, passage_rows: PassageColumns, counts: dict[str, int], document: Document,
    codebook: Codebook, compiled: CompiledCodebook | None, cache: RecodeCache | None, stats: CacheStats,
    order: dict[str, int],
) -> bool:
    """Code a document that is split in parts a part at a time (split_passages_in_parts), adding its
    rows as _add_document_rows does, byte for byte: each part's passages are matched, put in the
    rows and let go, where the whole document's passages (each with its view and readable text) were
    held until it was coded (a 50 MB file's coding process peaked at ~620 MB). What the document
    needs whole is small: its passages' fingerprints (copies are numbered across the document), its
    hits, and the rows its cache entry stores. False, with nothing done, when the cache holds an entry
    for it (a recode reads the entry's passages whole)."""
    key = None
    if cache is not None:
        key = document_key(document, unit=codebook.unit)
        if cache.holds(key):
            return False
    kinds = frozenset(codebook.code_kinds)
    matcher = compiled if compiled is not None else _compile_subset(codebook, list(codebook))
    first = len(passage_rows)
    number = len(passage_rows.documents)
    passage_rows.documents.append(document.path)
    hashes: list[str] = []
    stored: list[list] | None = [] if cache is not None else None
    hits: dict[str, CodeHits] = {}
    for passages, plain in split_passages_in_parts(document, unit=codebook.unit):
        hashes += passage_hashes(document.path, [passage.text for passage in passages])
        if stored is not None:
            stored += cached_passage_rows(document, passages, plain)
        for code_id, found in _hits_by_document([passages], matcher, kinds)[0].items():
            hits.setdefault(code_id, []).extend(found)
        passage_rows.extend(number, passages)
        passage_rows.pack()
        del passages, plain
    fingerprints = numbered_copies(hashes)  # passage_fingerprints() of the whole document's texts
    del hashes
    if cache is not None:
        stats.documents_new += 1
        stats.codes_matched += len(codebook)
        entry = CacheEntry(passages=[], fingerprints=fingerprints, rows=stored)
        hits = _cached_result(document, codebook, cache, order, key, entry, list(codebook), matcher,  # type: ignore[arg-type]
                              fresh=hits)[1]
    counts[document.path] = len(passage_rows) - first
    spans = (passage_rows.start[first:], passage_rows.end[first:], passage_rows.kind[first:])
    _add_segment_rows(rows, document, spans, fingerprints, hits, order)  # type: ignore[arg-type]
    return True


def _add_document_rows(
    rows: SegmentColumns, passage_rows: PassageColumns, counts: dict[str, int], document: Document,
    passages: Sequence[Passage], fingerprints: Sequence[str], hits: dict[str, CodeHits], order: dict[str, int],
) -> None:
    """One document's segment rows, passage rows and passage count."""
    counts[document.path] = len(passages)
    _add_segment_rows(rows, document, passages, fingerprints, hits, order)
    number = len(passage_rows.documents)
    passage_rows.documents.append(document.path)
    passage_rows.extend(number, passages)


def _add_segment_rows(
    rows: SegmentColumns,
    document: Document,
    passages: Sequence[Passage],
    fingerprints: Sequence[str],
    hits: dict[str, CodeHits],
    order: dict[str, int],
) -> None:
    """Add one document's segment rows to `rows`, by passage, then in codebook order."""
    number = len(rows.documents)
    rows.documents.append(document.path)
    found = sorted(
        (passage_index, order[code_id], code_id, count, matched)
        for code_id, code_hits in hits.items()
        for passage_index, count, matched in code_hits
    )
    if not found:
        return
    # Column by column: a few C-level passes over the rows instead of nine appends per row.
    passage_indexes, positions, code_ids, counts, matched = zip(*found)
    passage_fingerprints = list(map(fingerprints.__getitem__, passage_indexes))
    rows.document.extend([number] * len(found))
    rows.segment_id.extend(segment_ids_from_fingerprints(passage_fingerprints, code_ids))
    rows.passage.extend(passage_indexes)
    if isinstance(passages, tuple):  # (starts, ends, kinds) of the passages, from _code_in_parts
        starts, ends, kinds = passages
        rows.start.extend(map(starts.__getitem__, passage_indexes))
        rows.end.extend(map(ends.__getitem__, passage_indexes))
        rows.kind.extend(map(kinds.__getitem__, passage_indexes))
    else:
        coded = list(map(passages.__getitem__, passage_indexes))
        rows.start.extend(map(_START, coded))
        rows.end.extend(map(_END, coded))
        rows.kind.extend(map(_KIND, coded))
    rows.code.extend(positions)
    rows.hits.extend(counts)
    rows.matched.extend(map(rows.cells.setdefault, matched, matched))
    rows.fingerprint.extend(passage_fingerprints)


_START, _END, _KIND = attrgetter("start"), attrgetter("end"), attrgetter("kind")


def _hits_by_document(documents: Sequence[Sequence[Passage]], matcher: CompiledCodebook,
                      kinds: frozenset[str]) -> list[dict[str, CodeHits]]:
    """For each document's passages, every code's hits in those of the coded `kinds` (only codes that
    matched somewhere appear): one matcher call for all of them."""
    return matcher.segment_hits_by_document([[passage for passage in passages if passage.kind in kinds]
                                             for passages in documents])


def _cached_hits(
    documents: Sequence[Document], codebook: Codebook, compiled: CompiledCodebook | None, cache: RecodeCache,
    stats: CacheStats, order: dict[str, int],
) -> list[tuple[list[Passage], dict[str, CodeHits], list[str]]]:
    """Passages, hits and passage fingerprints of each document, matching only the codes the cache
    does not hold (the documents that need one matcher in one call)."""
    prepared = [_cache_entry(document, codebook, compiled, cache, stats) for document in documents]
    kinds = frozenset(codebook.code_kinds)
    fresh: list[dict[str, CodeHits]] = [{} for _ in documents]
    by_matcher: dict[int, tuple[CompiledCodebook, list[int]]] = {}
    for number, (_, _, _, matcher) in enumerate(prepared):
        if matcher is not None:
            by_matcher.setdefault(id(matcher), (matcher, []))[1].append(number)
    for matcher, numbers in by_matcher.values():
        found = _hits_by_document([prepared[number][1].passages for number in numbers], matcher, kinds)
        for number, hits in zip(numbers, found):
            fresh[number] = hits
    return [_cached_result(document, codebook, cache, order, *item, fresh=hits)
            for document, item, hits in zip(documents, prepared, fresh)]


def _cache_entry(
    document: Document, codebook: Codebook, compiled: CompiledCodebook | None, cache: RecodeCache, stats: CacheStats,
) -> tuple[str, CacheEntry, list[Code], CompiledCodebook | None]:
    """The document's cache key and entry (its passages split now when the cache has none), the codes
    to match in it and the matcher for them (None when the cache holds every code)."""
    key = document_key(document, unit=codebook.unit)
    entry = cache.load(key, document)
    if entry is None:
        passages, plain = split_passages_noting_plain_text(document, unit=codebook.unit)
        entry = CacheEntry(passages=passages,
                           fingerprints=passage_fingerprints(document.path, [passage.text for passage in passages]),
                           plain=plain)
        stats.documents_new += 1
    else:
        stats.documents_reused += 1
    fingerprints = _fingerprints(codebook, cache)
    by_code, current = fingerprints.by_code, fingerprints.current
    if entry.codes >= current:
        missing = []
    elif not entry.codes:  # a new document (a cold run's every one): all codes, no per-code test
        missing = list(codebook)
    else:
        missing = [code for code in codebook if by_code[code.id] not in entry.codes]
        # Codes tied to an edited one (one Chinese dictionary, one word automaton) are matched with it.
        missing = fingerprints.codes_to_match(codebook, missing)
    stats.codes_reused += len(codebook) - len(missing)
    stats.codes_matched += len(missing)
    matcher = None
    if missing:
        if compiled is not None and len(missing) == len(codebook):
            matcher = compiled
        else:
            matcher = _compile_subset(codebook, missing)
    return key, entry, missing, matcher


def _cached_result(
    document: Document, codebook: Codebook, cache: RecodeCache, order: dict[str, int], key: str, entry: CacheEntry,
    missing: list[Code], matcher: CompiledCodebook | None, *, fresh: dict[str, CodeHits],
) -> tuple[list[Passage], dict[str, CodeHits], list[str]]:
    """The document's passages, hits and passage fingerprints, the `fresh` hits of the `missing` codes
    put into its entry, and the entry queued for the cache."""
    fingerprints = _fingerprints(codebook, cache)
    by_code, current = fingerprints.by_code, fingerprints.current
    if missing:
        replaced = entry.hits
        if not replaced and len(fingerprints.codes_by_fingerprint) == len(by_code):
            # A new entry, each code its own fingerprint: only the codes that matched, in codebook order.
            for code_id in sorted(fresh, key=order.__getitem__):
                replaced[by_code[code_id]] = fresh[code_id]
        else:
            for code in missing:
                fingerprint = by_code[code.id]
                code_hits = fresh.get(code.id)
                if code_hits is not None:
                    replaced[fingerprint] = code_hits
                elif replaced:
                    replaced.pop(fingerprint, None)
        entry.matched.update(current if len(missing) == len(codebook) else map(by_code.__getitem__, map(_CODE_ID, missing)))
    if entry.matched or not entry.stored:
        cache.store(key, document, entry, current=current)
    codes_by_fingerprint = fingerprints.codes_by_fingerprint
    hits = {code_id: rows for fingerprint, rows in entry.hits.items() if fingerprint in current
            for code_id in codes_by_fingerprint[fingerprint]}
    return entry.passages, hits, entry.fingerprints


_fingerprint_cache: dict[int, tuple[Codebook, Fingerprints]] = {}


def _fingerprints(codebook: Codebook, cache: RecodeCache | None = None, *,
                  computed: Fingerprints | None = None) -> Fingerprints:
    """Code fingerprints, computed (or read from the recode cache) once per codebook object, not per document;
    `computed`: code_fingerprints(codebook) as a coding process computed it."""
    cached = _fingerprint_cache.get(id(codebook))
    if cached is None or cached[0] is not codebook:
        if cache is not None:
            cached = (codebook, cache.fingerprints(codebook, computed=computed))
        else:
            cached = (codebook, computed if computed is not None else code_fingerprints(codebook))
        _fingerprint_cache.clear()
        _fingerprint_cache[id(codebook)] = cached
    return cached[1]


_subset_matchers: dict[tuple, tuple[Codebook, CompiledCodebook]] = {}
_CODE_ID = attrgetter("id")


def _compile_subset(codebook: Codebook, codes: list[Code]) -> CompiledCodebook:
    """A matcher for just `codes` (the edited ones, or all), compiled once per process."""
    if len(codes) == len(codebook):
        # Every code (codes_to_match keeps the codebook's order, no code twice): this codebook object's
        # matcher, found without spelling out the key of 300 codes for each document of a cold run.
        key: tuple = ("every code", id(codebook))
    else:
        fingerprints = _fingerprints(codebook)
        key = tuple(fingerprints.by_code[code.id] + code.id for code in codes)
    found = _subset_matchers.get(key)
    if found is None or (key[0] == "every code" and found[0] is not codebook):
        _subset_matchers.clear()
        # The codebook's every Chinese term told to the segmenter: the subset segments as the whole codebook does.
        known = segmenter_words_of(codebook) if key[0] != "every code" else ()
        found = _subset_matchers[key] = (codebook, compile_codebook(Codebook(codes=tuple(codes), unit=codebook.unit),
                                                                    known_words=known))
    return found[1]


def _stopped_error(error: BaseException) -> CoderError:
    return CoderError(f"a coding process stopped before it finished ({error}); the outputs were not changed. "
                      "Check that the machine has memory to spare, or run with --workers 1. From a Python "
                      f"script, {GUARD_ADVICE}.")


def code_corpus(
    corpus: str | Path | Corpus,
    codebook: Codebook,
    *,
    workers: int | None = None,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | str | Path | None = None,
) -> CodingResult:
    """Read (if given a path), split and code a corpus; uses every core on large corpora.

    `encoding` and `extraction_cache` go to `read_corpus`. Segments of paged documents (PDFs)
    get a `page` column.

    From a script, call it under `if __name__ == "__main__":` (see refuse_script_rerun_in_worker).

    >>> result = code_corpus("seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
    >>> result.segments[["document", "code", "hits"]].head()  # doctest: +SKIP
    """
    refuse_script_rerun_in_worker("code_corpus()")
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    pool = None
    entries: list[Document | CorpusFile | SkippedFile] | None = None
    forced = None
    if workers > 1 and not isinstance(corpus, Corpus) and _worth_workers(corpus):
        # Start the workers before the corpus is listed: they import and compile meanwhile.
        pool = _start_pool(workers, codebook, cache_dir)
        try:
            forced = check_encoding(encoding) if encoding else None
            # The workers read the text files themselves: this process never holds the corpus's text.
            entries = _entries_to_code(corpus, encoding=forced, extraction_cache=extraction_cache)
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        items: list[Document | CorpusFile] = [entry for entry in entries if not isinstance(entry, SkippedFile)]
    else:
        if not isinstance(corpus, Corpus):
            corpus = read_corpus(corpus, encoding=encoding, extraction_cache=extraction_cache)
        items = list(corpus.documents)
    total_chars = sum(_item_length(item) for item in items)
    size = max(_BATCH_CHARS, total_chars // (workers * 8) + 1)
    if entries is not None:
        size = min(size, max(_BATCH_CHARS, _WORKER_BATCH_BYTES))  # what a worker holds at once: flat in the corpus
    batches = partition_documents(items, size, length=_item_length)
    frames: list[pd.DataFrame] = []
    # Each batch's passages become a table (Arrow text) as they arrive, so the main process never
    # holds every passage's text as Python strings at once.
    passage_frames: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    read: dict[str, tuple[str, str, int] | str] = {}  # text file read by a worker -> (encoding, sha256, characters), or why skipped
    stats = CacheStats()
    done = 0
    # This process writes every new entry; with no documents there is nothing to cache (and no
    # cache file appears in an output folder a failed run must leave alone).
    cache = RecodeCache(cache_dir) if cache_dir and items else None
    if cache is not None:
        _fingerprints(codebook, cache)  # stored before any worker looks for them
    from concurrent.futures.process import BrokenProcessPool

    try:
        if workers > 1 and total_chars >= _PARALLEL_MIN_CHARS and len(batches) > 1:
            _release_compile_memory()  # the fingerprints read the lemma tables; only the workers compile
            pool = pool or _start_pool(workers, codebook, cache_dir)
            # map submits every batch now: a pool broken while its workers started raises here already
            results = pool.map(_code_batch, batches, [forced] * len(batches))
        else:
            if pool is not None:
                pool.shutdown()
                pool = None
            compiled = None if cache else compile_codebook(codebook)
            results = (_code_items(batch, forced, codebook, compiled=compiled, cache=cache) for batch in batches)
        for batch, (rows, batch_counts, batch_stats, pending, batch_passages, batch_read) in zip(batches, results):
            if cache is not None:
                cache.write(pending)
            frames.append(_segment_frame(rows, codebook))
            del rows
            passage_frames.append(_passage_table(batch_passages))
            del batch_passages
            counts.update(batch_counts)
            read.update(batch_read)
            stats.add(batch_stats)
            done += len(batch)
            if progress:
                progress(done, len(items))
    except BrokenProcessPool as error:
        raise _stopped_error(error) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if entries is not None:
        corpus = _corpus_read(Path(corpus), entries, read, forced)  # type: ignore[arg-type]
    documents = list(corpus.documents)  # type: ignore[union-attr]
    if cache is not None:
        cache.prune({document_key(document, unit=codebook.unit) for document in documents},
                    fingerprints=_fingerprints(codebook).by_code.values())
        cache.close()  # folds SQLite's write-ahead log into the cache file
    import pandas as pd

    from .segments import add_page_column

    passage_table = pd.concat(passage_frames, ignore_index=True) if passage_frames else _passage_table(PassageColumns())
    del passage_frames
    segments, fingerprints = _joined(frames, passage_table)
    segments = add_page_column(segments, documents)
    ordered = {document.path: counts.get(document.path, 0) for document in documents}
    return CodingResult(corpus=corpus, codebook=codebook, segments=segments, passages=ordered,  # type: ignore[arg-type]
                        seconds=time.perf_counter() - started, reused=stats.as_dict() if cache_dir else {},
                        fingerprints=fingerprints, passage_table=passage_table)


def _joined(frames: list[pd.DataFrame], passages: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The batches' segment rows as one segments frame, and the passage fingerprints beside it.

    Each row's `text` is its passage's, as a categorical over the distinct passage texts: a
    passage coded by six codes holds its text once, not six times (on a large corpus the
    repeated text was most of the memory of a run).
    """
    import pandas as pd

    from .segments import SEGMENT_COLUMNS, segments_to_frame

    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return segments_to_frame([]), pd.Series([], dtype=str)
    coded = pd.concat(frames, ignore_index=True)
    del frames
    coded.insert(coded.columns.get_loc("matched") + 1, "text", passage_texts(coded, passages))
    return coded[list(SEGMENT_COLUMNS)], coded["fingerprint"]


def passage_texts(segments: pd.DataFrame, passages: pd.DataFrame) -> pd.Categorical:
    """The text of each segment's passage (`passages`: document, passage, text), as a categorical.

    >>> passage_texts(segments, result.passage_table)  # doctest: +SKIP
    """
    import pandas as pd

    codes, texts = pd.factorize(passages["text"])
    if len(texts) == len(passages):
        # Every passage's text differs (the usual case): the categories are the passage table's own
        # text column, not factorize's copy of it (a second copy of the corpus's passages, ~95 MB at 100 MB).
        texts = pd.Index(passages["text"].array)
    position = pd.MultiIndex.from_frame(passages[["document", "passage"]]).get_indexer(
        pd.MultiIndex.from_frame(segments[["document", "passage"]]))
    if (position < 0).any():
        raise CoderError("a segment's passage is missing from the passage table (a bug: please report it)")
    return pd.Categorical.from_codes(codes[position], categories=texts)


def _passage_table(columns: PassageColumns) -> pd.DataFrame:
    """The batch's passages as a frame of PASSAGE_COLUMNS, built column by column in Arrow."""
    if not len(columns):
        return empty_passage_frame()
    return passage_arrow(columns).to_pandas()


def empty_passage_frame() -> pd.DataFrame:
    """A batch's passages frame with no rows (PASSAGE_COLUMNS)."""
    return _empty_frame(PASSAGE_COLUMNS, ("passage", "start", "end"))


def passage_arrow(columns: PassageColumns) -> pa.Table:
    """The batch's passages (PASSAGE_COLUMNS) as an Arrow table, text as pandas stores its str columns."""
    import numpy as np
    import pyarrow as pa

    text = pa.large_string()

    def numbers(values: array) -> pa.Array:
        return pa.array(np.frombuffer(values, dtype=np.int64))

    return pa.table({
        "document": pa.array(columns.documents, type=text).take(numbers(columns.document)),
        "passage": numbers(columns.passage), "start": numbers(columns.start), "end": numbers(columns.end),
        "kind": pa.array(columns.kind, type=text), "text": _text_array(columns),
    })


def _text_array(columns: PassageColumns) -> pa.Array:
    """The passages' texts as an Arrow array: packed texts wrapped as they are (one buffer, no
    string per passage), else converted."""
    import pyarrow as pa

    if columns.text_data is None:
        return pa.array(columns.text, type=pa.large_string())
    offsets = pa.py_buffer(columns.text_offsets)
    array = pa.LargeStringArray.from_buffers(len(columns), offsets, pa.py_buffer(columns.text_data))
    array.validate(full=True)  # offsets and UTF-8 checked before anything reads it
    return array


def _corpus_bytes(path: str | Path, *, past: int | None = None, files: list[tuple[str, str, bool]] | None = None) -> int:
    """Bytes of the corpus's text files, without reading them; with `past`, counted only until they are
    more than that (whether a corpus is large enough asks a stat of a few of its files, not of all).
    `files`: the corpus's files as `listed_files` gives them, when the caller has them."""
    try:
        if files is None:
            files = listed_files(path, _TEXT_FILES)
        else:
            files = [entry for entry in files if os.path.splitext(entry[1])[1].lower() in _TEXT_FILES]
        total = 0
        for _, file, _ in files:
            try:
                total += os.stat(file).st_size
            except OSError:
                continue  # reading it reports the problem (a link to nothing, a file gone)
            if past is not None and total > past:
                break
    except CoderError:
        return 0  # read_corpus will report the problem
    return total


def _worth_workers(corpus: str | Path) -> bool:
    """Is the corpus large enough for coding processes, and more than one file? (A single document is
    coded in this process: two idle processes beside it held 140 MB of a 48 MB file's run.)"""
    try:
        files = listed_files(corpus)  # (listed once: the text files' bytes are counted from it)
    except CoderError:
        return False  # read_corpus will report the problem
    return len(files) > 1 and _corpus_bytes(corpus, past=_PARALLEL_MIN_CHARS, files=files) >= _PARALLEL_MIN_CHARS


_TEXT_FILES = frozenset({".txt", ".md"})  # what the coding processes read themselves

# The pool start_coding_processes() started, with the arguments it was started with, until the
# run's first _start_pool() takes it.
_early_pool: list[tuple[tuple[int, Codebook, Path | None], ProcessPoolExecutor]] = []


def start_coding_processes(corpus: str | Path, codebook: Codebook, *, workers: int | None,
                           cache_dir: str | Path | None) -> bool:
    """Start the coding processes a run of `corpus` will use now, before this process's own start-up
    (pandas, pyarrow, networkx, listing the corpus), so that theirs (spawn, imports) runs beside it.
    The run's first pool of the same `workers`, codebook and `cache_dir` takes them; any other
    stops them. Nothing is started for one worker or a corpus too small for workers. Call
    `stop_coding_processes()` after the run (it stops them if the run did not need them).

    >>> start_coding_processes("archive", load_codebook("codebook.yaml"), workers=None,  # doctest: +SKIP
    ...                        cache_dir="outputs/.cache")
    True
    """
    workers = workers or os.cpu_count() or 1
    stop_coding_processes()
    if workers <= 1 or not _worth_workers(corpus):
        return False
    arguments = _pool_arguments(workers, codebook, cache_dir)
    _early_pool.append((arguments, _spawn_pool(*arguments)))
    return True


def stop_coding_processes() -> None:
    """Stop the processes `start_coding_processes()` started, if no run took them."""
    while _early_pool:
        _early_pool.pop()[1].shutdown(cancel_futures=True)


def _start_pool(workers: int, codebook: Codebook, cache_dir: str | Path | None, *,
                new_cache: bool | None = None) -> ProcessPoolExecutor:
    """The early pool of these arguments, else a new one (`new_cache`: see _spawn_pool)."""
    if _early_pool:
        arguments, pool = _early_pool.pop()
        if arguments == _pool_arguments(workers, codebook, cache_dir):
            return pool
        pool.shutdown(cancel_futures=True)
    return _spawn_pool(workers, codebook, cache_dir, new_cache)


def _pool_arguments(workers: int, codebook: Codebook, cache_dir: str | Path | None) -> tuple[int, Codebook, Path | None]:
    """What a pool is started with, as start_coding_processes() and _start_pool() compare it."""
    return workers, codebook, Path(cache_dir) if cache_dir is not None else None


def _new_cache(cache_dir: str | Path | None) -> bool:
    """No cache file yet (a first run into this folder): every document will need every code, and
    the cache will hold only what this run writes (see _start_worker)."""
    return cache_dir is not None and not (Path(cache_dir) / RecodeCache.FILE).exists()


# Windows's process pools wait on at most 63 handles, two of them their own: 61 workers at most
# (CPython refuses more, and a 64-thread workstation's default run asked for 64).
MOST_WORKERS = 61 if sys.platform == "win32" else 1 << 16


def _spawn_pool(workers: int, codebook: Codebook, cache_dir: str | Path | None,
                new_cache: bool | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` coding processes, started now. `new_cache`: the cache in `cache_dir` held
    nothing when the run began (None: it has no file now)."""
    # Imported here: a run that starts no coding processes (a recode) never needs multiprocessing (3-5 ms).
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    refuse_script_rerun_in_worker("a coder call that starts coding processes")
    if new_cache is None:
        new_cache = _new_cache(cache_dir)
    workers = min(workers, MOST_WORKERS)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context(_START_METHOD), initializer=_start_worker,
        initargs=(codebook, cache_dir, new_cache),
    )
    try:
        for _ in range(workers):
            pool.submit(int)  # each waiting task starts one more worker now, without waiting for it
    except BrokenProcessPool:
        pass  # a worker stopped while starting: the first task given to the pool says so (_stopped_error)
    return pool


def partition_documents(
    documents: Sequence[_Item], size: int, *, length: Callable[[_Item], int] = lambda document: len(document.text),
) -> list[list[_Item]]:
    """Consecutive documents in partitions of about `size` characters (a document is never split);
    `length` measures one (a file to read: its bytes).

    >>> [len(part) for part in partition_documents([Document("a", "xx"), Document("b", "x"), Document("c", "x")], 2)]
    [1, 2]
    """
    partitions: list[list[_Item]] = [[]]
    filled = 0
    for document in documents:
        if filled >= size and partitions[-1]:
            partitions.append([])
            filled = 0
        partitions[-1].append(document)
        filled += length(document)
    return [partition for partition in partitions if partition]


def _entries_to_code(path: str | Path, *, encoding: str | None,
                     extraction_cache: ExtractionCache | str | Path | None) -> list[Document | CorpusFile | SkippedFile]:
    """read_corpus's entries in its order, the text files left for the workers to read: extracted
    files (PDF, Word, HTML) are read here, where their extraction cache is written."""
    cache = ExtractionCache(extraction_cache) if isinstance(extraction_cache, (str, Path)) else extraction_cache
    return [read_corpus_file(entry, encoding=encoding, extraction_cache=cache)
            if isinstance(entry, CorpusFile) and not entry.is_text else entry
            for entry in corpus_entries(path)]


def _item_length(item: Document | CorpusFile) -> int:
    if isinstance(item, CorpusFile):
        try:
            return item.file.stat().st_size
        except OSError:
            return 0  # reading it says why
    return len(item.text)


def _read_items(items: Sequence[Document | CorpusFile], encoding: str | None) -> tuple[list[Document], list[tuple]]:
    """The documents of a batch, text files read now, and for each text file (path, (encoding,
    sha256, characters)) or (path, the reason it was skipped)."""
    documents: list[Document] = []
    read: list[tuple] = []
    for item in items:
        if isinstance(item, CorpusFile):
            document = read_corpus_file(item, encoding=encoding)
            if isinstance(document, SkippedFile):
                read.append((item.path, document.reason))
                continue
            read.append((item.path, (document.encoding, document.sha256, len(document.text))))
        else:
            document = item
        documents.append(document)
    return documents, read


def _code_items(
    items: Sequence[Document | CorpusFile], encoding: str | None, codebook: Codebook, *,
    compiled: CompiledCodebook | None, cache: RecodeCache | None,
) -> tuple[SegmentColumns, dict[str, int], CacheStats, Pending, PassageColumns, list[tuple]]:
    """_code_rows over a batch whose text files are read here, plus what reading them found (_read_items)."""
    documents, read = _read_items(items, encoding)
    return (*_code_rows(documents, codebook, compiled=compiled, cache=cache), read)  # type: ignore[return-value]


def _corpus_read(
    root: Path, entries: Sequence[Document | CorpusFile | SkippedFile], read: dict[str, tuple[str, str, int] | str],
    encoding: str | None,
) -> Corpus:
    """The Corpus read_corpus would have returned, each text file a StoredDocument (its text not kept)."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for entry in entries:
        if isinstance(entry, SkippedFile):
            skipped.append(entry)
        elif isinstance(entry, CorpusFile):
            found = read[entry.path]
            if isinstance(found, str):
                skipped.append(SkippedFile(entry.path, found))
            else:
                documents.append(StoredDocument(entry, encoding=found[0], sha256=found[1], forced_encoding=encoding))
        else:
            documents.append(entry)
    return Corpus(root=str(root), documents=tuple(documents), skipped=tuple(skipped))


_worker_state: dict[str, object] = {}


def _start_worker(codebook: Codebook, cache_dir: str | Path | None, new_cache: bool = False) -> None:
    # As in the main process (cli.py): a worker allocates a tuple or two per hit and per passage,
    # and at the default threshold (a collection every 700 allocations) the collector ran some 330
    # times per 10 MB coded, its fuller collections walking the compiled codebook each time.
    gc.set_threshold(50_000, 20, 10)
    _worker_state["codebook"] = codebook
    # A new cache (no file when the pool started) holds only the entries of this run's own
    # documents, each coded once: the worker asks it for none (new=True).
    _worker_state["cache"] = RecodeCache(cache_dir, writer=False, new=new_cache) if cache_dir else None
    # Without a cache, or with a new one, every document needs the matcher of every code (_cache_entry
    # takes it for those): compiled as the process starts, while the main process is still starting
    # up, not on the first batch. With a cache it is compiled on demand: the cache may hold every code.
    compiled = None
    if new_cache or not cache_dir:
        try:
            compiled = compile_codebook(codebook)
            compiled.read_dictionary()
            if new_cache:
                # A new cache holds no fingerprints for this process to read: computed here, while the
                # lemma tables are loaded (0.02 s; 0.17 s without), so that the main process need not
                # store them before sending the first batches (code_batches' `meanwhile`).
                _fingerprints(codebook)
        except Exception:  # noqa: BLE001 - compiled again for the first batch, whose error the run reports
            compiled = None  # (an error here would only stop the process, with no reason given)
    _worker_state["compiled"] = compiled
    _release_compile_memory()


def _worker_fingerprints() -> Fingerprints:
    """This coding process's code_fingerprints of its codebook (computed as it started, for a new cache)."""
    return _fingerprints(_worker_state["codebook"])  # type: ignore[arg-type]


def _code_batch(items: list[Document | CorpusFile], encoding: str | None) -> tuple[SegmentColumns, dict[str, int], CacheStats, Pending, PassageColumns, list[tuple]]:
    coded = _code_items(
        items, encoding, _worker_state["codebook"], compiled=_worker_state["compiled"], cache=_worker_state["cache"],  # type: ignore[arg-type]
    )
    _release_compile_memory()
    if not _worker_state.get("frozen"):
        # The compiled codebook (made by the first batch when a cache is used) lives as long as the
        # worker: no collection need walk it again.
        gc.collect()
        gc.freeze()
        _worker_state["frozen"] = True
    return coded


def _sent_fingerprints(asked: Future | None) -> Fingerprints | None:
    """A coding process's answer to _worker_fingerprints; None (computed here) if it could not give one."""
    if asked is None:
        return None
    from concurrent.futures.process import BrokenProcessPool

    try:
        return asked.result()
    except BrokenProcessPool:
        raise  # the run stops: code_batches says why
    except Exception:  # noqa: BLE001 - computed in this process instead
        return None


def _release_compile_memory() -> None:
    """Drop what compiling needed and coding does not (the lemma tables), and give the freed heap
    back to the system where the C library can (glibc's malloc_trim; elsewhere Python's own arenas
    are all that is returned)."""
    release_lemma_tables()
    trim_heap()


def trim_heap() -> None:
    """Give the C library's freed heap back to the system (glibc's malloc_trim; elsewhere nothing)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError, TypeError):  # not glibc; Windows' loader takes no None
        pass


def code_batches(
    batches: Sequence[Sequence[Document | CorpusFile]], codebook: Codebook, *, workers: int,
    cache: RecodeCache | None, cache_dir: str | Path | None, encoding: str | None, ahead: int = 2,
    new_cache: bool | None = None, meanwhile: Callable[[Fingerprints | None], object] | None = None,
) -> Iterator[tuple[SegmentColumns, dict[str, int], CacheStats, Pending, PassageColumns, list[tuple]]]:
    """Each batch coded (text files read where it is coded), in batch order: on `workers` spawned
    processes, at most `ahead` batches per process sent before the caller takes the next result
    (what waits for the caller is bounded, however many batches); in this process for one worker
    or one batch, with `cache` (the caller's writer; the processes open `cache_dir` read-only).
    `new_cache`: the cache held nothing when the run began (see _spawn_pool). `meanwhile` is called
    once the first batches are sent, while they are coded (in this process: before them), with the
    code fingerprints a coding process computed as it started for a new cache (else None).

    Raises:
        CoderError: a coding process stopped (killed, out of memory) or could not start.
    """
    if workers <= 1 or len(batches) <= 1:
        if meanwhile is not None:
            meanwhile(None)
        compiled = None if cache is not None else compile_codebook(codebook)
        for batch in batches:
            yield _code_items(batch, encoding, codebook, compiled=compiled, cache=cache)
        return
    from concurrent.futures.process import BrokenProcessPool

    _release_compile_memory()  # the fingerprints read the lemma tables; only the workers compile
    pool = _start_pool(workers, codebook, cache_dir, new_cache=new_cache)
    try:
        # A new cache: the processes computed the fingerprints as they started; one of them sends its copy,
        # which this process stores, not computing them again beside the coding (0.6 s of CPU, 300 codes).
        asked = pool.submit(_worker_fingerprints) if meanwhile is not None and new_cache else None
        waiting = iter(batches)
        running: deque = deque(pool.submit(_code_batch, batch, encoding) for batch in islice(waiting, workers * ahead))
        if meanwhile is not None:
            meanwhile(_sent_fingerprints(asked))
            _release_compile_memory()  # what it read of the lemma tables: only the workers compile
        while running:
            # Handed on, not held here: a local would keep the batch's rows while the caller finishes
            # them and while the next batch is waited for.
            coded = [running.popleft().result()]
            for batch in islice(waiting, 1):
                running.append(pool.submit(_code_batch, batch, encoding))
            yield coded.pop()
    except BrokenProcessPool as error:  # from a result, or a submit once the pool is broken
        raise _stopped_error(error) from None
    finally:
        pool.shutdown(cancel_futures=True)
