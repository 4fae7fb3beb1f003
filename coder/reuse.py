"""Reuse the last run's coding when only labels, colours or descriptions changed since it.

A label, colour or description edit changes no match: the segments of the run already in the
folder are the segments a full run would find. `reuse_coding` checks that nothing else changed
(the documents, the extraction options, the unit, the code kinds, every code's keywords and rules,
the tool version) and rebuilds the CodingResult from segments.parquet and passages.parquet with
the labels and code paths of the new codebook; reviews are applied after it, as after coding.
"""

from __future__ import annotations

import csv as _csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .cache import (
    _matching_key,  # what code_fingerprints() reads; labels are not in it
    tables_vouched_for,
)
from .codebook import codebook_hash, codebook_to_records
from .cooccurrence import MATRIX_LEFT_OUT
from .corpus import Corpus, read_corpus
from .diff import (
    CHANGES_COLUMNS,
    SEGMENT_CHANGE_COLUMNS,
    RunComparison,
    diff_codebooks,
)
from .errors import CoderError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import _neutral, json_from, read_own_bytes, temporary_prefix, write_bytes, write_text
from .imports import LazyModule
from .models import Code, Codebook, CodingResult, CsvMode, NetworkOptions
from .network import (  # the map's colour rule, one definition
    _top_level_codes,
    code_color,
    page_label,
)
from .parquet_columns import replace_columns
from .runs import (
    CHANGES_FILE,
    CODE_COUNTS_FILE,
    CODE_COUNTS_LONG_FILE,
    NETWORK_FILES,
    PASSAGES_FILE,
    PASSAGES_PARQUET_FILE,
    RUN_FILE,
    RUN_FILES,
    SEGMENTS_FILE,
    SEGMENTS_PARQUET_FILE,
    RunFolder,
    RunRecord,
    _file_stamp,
    wants_csv,
)
from .segments import (
    SEGMENT_COLUMNS,
    SEGMENT_PARQUET_SCHEMA,
    add_page_column,
    read_parquet,
    write_parquet,
)
from .stamps import (
    CORPUS_STAMPS_FILE,
    CorpusChanges,
    CorpusStamps,
    changed_corpus,
    corpus_unchanged,
    known_corpus,
    save_corpus_stamps,
)

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

__all__ = ["Presented", "present_again", "remember_presentation", "reuse_coding"]


def reuse_coding(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    stamps: CorpusStamps | None = None,
    corpus_changes: Callable[[], CorpusChanges | None] | None = None,
) -> CodingResult | None:
    """The coding of the run in `run` under `codebook`'s labels, when coding `corpus` again would
    find exactly its segments; None when anything that decides a match changed (then code as usual).
    `corpus_changes`: gives `stamps.changed_corpus` of this run, computed once for every path that
    asks (else it is computed here when needed).

    The corpus is not split or matched. With `stamps` (taken before, `take_corpus_stamps`) that show
    the files unchanged and no extracted documents, it is not read either: the documents are
    StoredDocuments whose text is read when asked for; else it is read and its documents' hashes
    must equal run.json's.
    `CodingResult.reused` counts as the recode cache would: every document and code reused.

    >>> reuse_coding(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
    """
    from . import __version__

    started = time.perf_counter()
    if not (run.has_record() and run.segments_parquet_path.exists() and run.passages_parquet_path.exists()):
        return None
    try:
        record = run.record()
        if record.tool_version != __version__ or record.unit != codebook.unit or record.encoding != (check_encoding(encoding) if encoding else None):
            return None
        stored = run.stored_codebook()
    except CoderError:
        return None
    # The key of every code's fingerprint at once (ids, terms, rules, kinds, the tool's own source),
    # without compiling either codebook.
    if _matching_key(stored) != _matching_key(codebook):
        return None
    # Its tables as the run left them: a table written since (by hand, by another tool, copied from
    # another run) is not that run's coding, and is not read (a planted one could cost any memory).
    if not tables_vouched_for(run):
        return None
    corpus_read = _unchanged_corpus(run, record, corpus, encoding=encoding, extraction_cache=extraction_cache,
                                    stamps=stamps)
    # Else only the files whose stamps changed are read again (a file touched, a document added).
    if corpus_read is None and stamps is not None:
        changes = corpus_changes() if corpus_changes is not None else changed_corpus(
            run, corpus, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache)
    else:
        changes = None
    if changes is not None:
        if not changes.unchanged:
            return None
        corpus_read = changes.corpus
    try:
        corpus_read = corpus_read or read_corpus(corpus, encoding=encoding, extraction_cache=extraction_cache)
    except CoderError:
        return None  # the full run reports it
    documents = list(corpus_read.documents)
    if ([(document.path, document.sha256) for document in documents]
            != [(entry.get("path"), entry.get("sha256")) for entry in record.documents]
            or [{"path": skipped.path, "reason": skipped.reason} for skipped in corpus_read.skipped]
            != list(record.skipped)):
        return None
    try:
        segments = read_parquet(run.segments_parquet_path)
        passages = read_parquet(run.passages_parquet_path)
    except CoderError:
        return None
    # The tool's rows only, as coding left them: the review file adds decisions and hand-coded rows again.
    segments = segments[segments["source"].ne("manual")].reset_index(drop=True)
    labels = {code.id: code.label for code in codebook}
    paths = {code.id: code.code_path for code in codebook}
    if not set(segments["code"]) <= labels.keys():
        return None
    keys = pd.MultiIndex.from_frame(passages[["document", "passage"]])
    rows = keys.get_indexer(pd.MultiIndex.from_frame(segments[["document", "passage"]]))
    if (rows < 0).any():
        return None
    frame = segments.assign(
        label=segments["code"].map(labels), code_path=segments["code"].map(paths), review="", note="",
        text=pd.Series(passages["text"].to_numpy(dtype=object)[rows], dtype=object),
    )[list(SEGMENT_COLUMNS)]
    counts = {str(entry["path"]): int(entry.get("passages", 0)) for entry in record.documents}
    return CodingResult(
        corpus=corpus_read, codebook=codebook, segments=add_page_column(frame, documents), passages=counts,
        seconds=time.perf_counter() - started,
        # What the recode cache would say: every document and code reused, nothing matched.
        reused={"documents_reused": len(documents), "documents_new": 0, "codes_reused": len(documents) * len(codebook),
                "codes_matched": 0},
        fingerprints=segments["fingerprint"], passage_table=passages[["document", "passage", "start", "end", "kind", "text"]],
    )


# --- a label, colour or description edit, without rebuilding the run -----------------------------

PRESENTED_FILE = "presented.json"  # in the run's cache folder: what `present_again` reuses
_PRESENTED_FORMAT = 1
# Files whose bytes a label, colour or description edit cannot change: kept as they are.
_KEPT = (PASSAGES_PARQUET_FILE, CODE_COUNTS_LONG_FILE, NETWORK_FILES["matrix"], NETWORK_FILES["html"])
# Every file a run without reviews, document variables, extracted texts or CSV views consists of.
_PRESENTED_FILES = frozenset({RUN_FILE, SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE, CODE_COUNTS_FILE,
                              CODE_COUNTS_LONG_FILE, *NETWORK_FILES.values()})
# segments.csv and passages.csv, with `--csv` views.
_CSV_VIEWS = frozenset({SEGMENTS_FILE, PASSAGES_FILE})
_ANY_CODE_ROW = b"(any code),,passages with at least one code,"  # code_counts.csv's last row (segments.build_code_counts)


@dataclass(frozen=True)
class Presented:
    """What `present_again` did: the run's result (its segments stay in the folder: `segments` is None)
    and what it wrote."""

    result: CodingResult
    written: dict[str, Path]
    network: dict[str, Any]
    comparison: RunComparison
    segments_by_code: dict[str, int]  # every segment, per code (without reviews, all count)


def remember_presentation(run: RunFolder, *, graph: Any, options: NetworkOptions, csv: CsvMode) -> None:
    """After a run: keep in the cache folder what the next run needs to redo only what labels, colours
    and descriptions change: the map's graph (as exported), the options, and every output file's stamp
    (a file changed since is not reused). Without a graph, the note is removed."""
    kept = None
    if graph is not None:
        from .render import export_graph

        plain = export_graph(graph)
        kept = {"graph": plain.graph, "nodes": [[node, attributes] for node, attributes in plain.nodes(data=True)],
                "edges": [[source, target, attributes] for source, target, attributes in plain.edges(data=True)]}
    _keep_presentation(run, kept, options=options, csv=csv)


def _keep_presentation(run: RunFolder, graph: dict[str, Any] | None, *, options: NetworkOptions, csv: CsvMode) -> None:
    """remember_presentation with the map's graph as exported, in plain data ({graph, nodes, edges})."""
    def write(path: Path) -> None:
        data = {
            "format": _PRESENTED_FORMAT, "source": _source_hash(), "options": asdict(options), "csv": csv,
            "outputs": _output_stamps(run), "graph": graph,
        }
        write_text(path, json.dumps(data, ensure_ascii=False, allow_nan=False) + "\n")

    run.keep_cache_file(PRESENTED_FILE, None if graph is None else write)


def present_again(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    codebook_path: str | Path,
    encoding: str | None = None,
    options: NetworkOptions = NetworkOptions(),
    csv: CsvMode = "auto",
    workers: int | None = None,
    stamps: CorpusStamps | None = None,
    extraction_cache: ExtractionCache | None = None,
) -> Presented | None:
    """Redo the run in `run` after an edit of labels, colours, descriptions or the codebook's name only:
    rewrite the files that show them, keep every other file, read no document and build no frame of
    passages. None (nothing written) when anything else may differ from the last run: then run as usual.

    Holds only for a run like the last one: no review file, no document variables, no extracted
    documents, the same options and tool, every output file as that run left it
    (`remember_presentation`) and the corpus unchanged (`corpus_unchanged`). With `--csv` views,
    segments.csv is written again from the new segments.parquet (it shows labels, and statuses
    against the run before) and passages.csv is copied. The outputs are exactly those of a full
    run; `Presented.result.segments` is None (read them from the folder).
    Call it with the folder locked.

    >>> present_again(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"), codebook_path="codebook.yaml")  # doctest: +SKIP
    """
    from . import __version__

    started = time.perf_counter()
    try:
        record = run.record()
        stored = run.stored_codebook()
    except (OSError, ValueError, CoderError):
        return None
    forced = check_encoding(encoding) if encoding else None
    if (record.tool_version != __version__ or record.unit != codebook.unit or record.encoding != forced
            or record.reviews is not None or record.document_variables is not None or not record.documents
            or not _only_presentation_changed(stored, codebook)
            or any("format" in entry or "text" in entry for entry in record.documents) or run.texts_path.exists()):
        return None
    views = wants_csv(csv, int(record.counts.get("segments", -1)))
    files = _PRESENTED_FILES | (_CSV_VIEWS if views else frozenset())
    if not (run.folder / NETWORK_FILES["matrix"]).exists():  # left out (too many codes), as it will be again
        files -= {NETWORK_FILES["matrix"]}
    # The note (the map's graph is most of it) is read only now: an edit of keywords or rules stops above.
    try:
        kept = json_from(read_own_bytes(run.cache_path / PRESENTED_FILE).decode("utf-8"))
        if not (run.segments_parquet_path.is_file() and run.passages_parquet_path.is_file()
                and isinstance(kept, dict) and kept.get("format") == _PRESENTED_FORMAT and kept.get("csv") == csv
                and kept.get("options") == json.loads(json.dumps(asdict(options))) and kept.get("source") == _source_hash()
                and isinstance(kept.get("outputs"), dict) and set(kept["outputs"]) >= files
                and set(kept["outputs"]) <= files | {CHANGES_FILE}
                and kept["outputs"] == _output_stamps(run)):
            return None
    except (OSError, ValueError, CoderError):
        return None
    # A corpus changed since (told by its stamps, ~0.01 s at 8,376 files) stops here, before the
    # second thread below reads and writes segments.parquet for nothing.
    if stamps is None or not corpus_unchanged(run, corpus, encoding=encoding, extraction_cache=extraction_cache,
                                              now=stamps):
        return None
    # segments.parquet is read, checked and written again (beside the last run's) by Arrow, which leaves
    # the GIL, in a second thread while this one checks the corpus and relabels the other files.
    with ThreadPoolExecutor(max_workers=1) as pool:
        segments = pool.submit(_segments_again, run, codebook, rows=int(record.counts.get("segments", -1)),
                               old_labels={code.id: code.label for code in stored})
        table_file = pool.submit(_write_beside, run.segments_parquet_path, segments)
        try:
            read = _unchanged_corpus(run, record, corpus, encoding=encoding, extraction_cache=extraction_cache,
                                     stamps=stamps)
            if read is None:
                return None
            try:
                work = _Presentation(run, record, stored, codebook, kept["graph"], segments, views=views)
            except (OSError, ValueError, KeyError, TypeError, IndexError, CoderError, pa.ArrowException):
                return None  # something kept is not what the last run wrote: do the full work
            new_record = replace(
                record, tool_version=__version__, started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                seconds=round(time.perf_counter() - started, 3), corpus=str(corpus),
                corpus_absolute=str(Path(corpus).resolve()), codebook=str(codebook_path),
                codebook_sha256=codebook_hash(codebook_path) if Path(codebook_path).is_file() else "",
                codebook_name=codebook.name, workers=workers or os.cpu_count() or 1,
                codebook_codes=tuple(codebook_to_records(codebook)), encoding=forced,
                cache={"documents_reused": len(record.documents), "documents_new": 0,
                       "codes_reused": len(record.documents) * len(codebook), "codes_matched": 0},
                started_in=os.getcwd(),
            )
            new_record = run.with_documents_text_kept(new_record)  # its documents are the last run's
            with run.staged() as stage:
                run.keep_previous(into=stage)
                # changes.csv while Arrow writes segments.parquet (work.write waits for it).
                comparison = work.comparison(record, new_record)
                write_bytes(stage.changes_path, _changes_csv(comparison))
                written = work.write(stage, new_record, table_file=table_file)
                written["changes"] = stage.changes_path
        finally:
            _remove_unused(table_file)
    run.remember_written_files()
    save_corpus_stamps(run.cache_path / CORPUS_STAMPS_FILE, stamps, read, encoding=encoding)
    if extraction_cache is not None:
        extraction_cache.prune()
    _keep_presentation(run, work.graph, options=options, csv=csv)
    result = CodingResult(
        corpus=read, codebook=codebook, segments=None,
        passages={str(entry["path"]): int(entry.get("passages", 0)) for entry in record.documents},
        seconds=time.perf_counter() - started, reused=dict(new_record.cache or {}),
    )
    written = {key: run.folder / path.name for key, path in written.items()}
    network: dict[str, Any] = {key: run.folder / name for key, name in NETWORK_FILES.items()}
    if not network["matrix"].exists():
        network.pop("matrix")
        network["matrix_left_out"] = MATRIX_LEFT_OUT
    network.update(code_count=len(work.graph["nodes"]), edge_count=len(work.graph["edges"]), pair_count=work.pair_count)
    return Presented(result=result, written=written, network=network, comparison=comparison,
                     segments_by_code=work.segments_by_code)


class _Segments(NamedTuple):
    """segments.parquet as a label, colour or description edit leaves it."""

    columns: pa.Table  # label and status of the last run's rows: the new labels, every segment "unchanged"
    code_counts: list[tuple[str, int]]  # per code, in the order of its first row: its distinct segments
    rows_by_code: dict[str, int]  # per code: its rows
    kept: bool  # the file holds this table already: kept as it is


def _segments_again(run: RunFolder, codebook: Codebook, *, rows: int, old_labels: dict[str, str]) -> _Segments:
    """The last run's segments.parquet under `codebook`'s labels (`old_labels`: the last run's). Raises
    ValueError (or an Arrow error) when the file is not as a run without reviews wrote it, with `rows`
    rows of codes of `codebook`."""
    parquet = pq.ParquetFile(run.segments_parquet_path)
    if not parquet.schema_arrow.equals(SEGMENT_PARQUET_SCHEMA) or parquet.metadata.num_rows != rows:
        raise ValueError("segments.parquet: not as the last run wrote it")
    # The columns the checks, the labels and the comparison need (the others' bytes are copied: _write_beside).
    # No check_parquet_size: present_again comes here only for the file whose stamp (size, times, inode)
    # the last run noted, its own, and the check's read of these columns cost 0.07-0.2 s at 50 MB.
    table = parquet.read(columns=["segment_id", "code", "source", "review", "note"])
    codes = table["code"].combine_chunks().dictionary_encode()
    code_ids = codes.dictionary.to_pylist()
    if not all(code in codebook for code in code_ids):
        raise ValueError("segments.parquet: a code the codebook lacks")
    # Without reviews every row is the tool's, undecided.
    for column, value in (("source", "auto"), ("review", ""), ("note", "")):
        if pc.unique(table[column]).to_pylist() not in ([value], []):
            raise ValueError(f"segments.parquet: {column} is not {value!r} throughout")
    labels = _strings([codebook[code].label for code in code_ids]).take(codes.indices)
    # Every segment is the last run's, and nothing was decided: all are "unchanged" (runner._statuses).
    status = _strings(["unchanged"]).take(_zeros(table.num_rows))
    columns = pa.Table.from_arrays([labels, status], schema=pa.schema([SEGMENT_PARQUET_SCHEMA.field("label"),
                                                                       SEGMENT_PARQUET_SCHEMA.field("status")]))
    # A colour or description edit after a run without new segments: the file holds these labels and
    # statuses already, so its bytes are those written again (write_parquet's bytes depend on the rows only).
    # (A code with segments relabelled: the labels differ, unread.)
    kept = (parquet.schema_arrow.equals(SEGMENT_PARQUET_SCHEMA, check_metadata=True)
            and all(old_labels.get(code) == codebook[code].label for code in code_ids)
            and parquet.read(columns=["status"])["status"].equals(columns["status"])
            and parquet.read(columns=["label"])["label"].equals(columns["label"]))
    # The comparison with the last run: per code in order of first row, its distinct segments.
    # (A passage repeated in a document gives two rows one id: counted once, as diff_segments does.)
    ids = _numbers(table["segment_id"].combine_chunks().dictionary_encode().indices).astype(np.int64)
    code_numbers = _numbers(codes.indices).astype(np.int64)
    _, first = np.unique(ids * len(code_ids) + code_numbers, return_index=True)
    distinct = np.bincount(code_numbers[first], minlength=len(code_ids))
    _, first_rows = np.unique(code_numbers, return_index=True)
    order = code_numbers[np.sort(first_rows)]  # codes in order of their first row
    rows_by_code = dict(zip(code_ids, np.bincount(code_numbers, minlength=len(code_ids)).tolist()))
    return _Segments(columns, [(code_ids[number], int(distinct[number])) for number in order], rows_by_code, kept)


# pa.array() and Array.to_numpy() import pandas to ask whether their argument is a pandas object (0.3 s a
# label edit does not need): these three go through the arrays' buffers.
def _strings(values: list[str]) -> pa.Array:
    """`values` as an Arrow string array."""
    encoded = [value.encode("utf-8") for value in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _zeros(rows: int) -> pa.Array:
    """`rows` zeros as an Arrow int32 array (indices into a one-value array)."""
    return pa.Array.from_buffers(pa.int32(), rows, [None, pa.py_buffer(np.zeros(rows, dtype=np.int32))])


def _numbers(indices: pa.Array) -> np.ndarray:
    """The int32 indices of a dictionary-encoded array as numpy, a view of their buffer."""
    if indices.type != pa.int32() or indices.null_count:
        raise ValueError("segments.parquet: an empty code or segment id")
    return np.frombuffer(indices.buffers()[1], dtype=np.int32)[indices.offset:indices.offset + len(indices)]


def _write_beside(path: Path, segments: Future[_Segments]) -> Path | None:
    """Write segments.parquet at `path` with the columns of `segments` to a new file beside it, for the
    new run to move in; None when the file at `path` is kept. Raises what `segments` raised, with
    nothing written."""
    if segments.result().kept:
        return None
    columns = segments.result().columns
    handle, name = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        # The new columns written alone, the other columns' bytes copied around them: the file
        # write_parquet writes for the whole table, without encoding sixteen columns again.
        write_parquet(columns, name)
        try:
            data = replace_columns(path.read_bytes(), Path(name).read_bytes())
        except ValueError:  # not laid out as replace_columns expects: the whole table written again
            table = pq.ParquetFile(path).read()
            for field in columns.schema:
                table = table.set_column(table.schema.get_field_index(field.name), field, columns[field.name])
            return write_parquet(table, name)
        write_bytes(name, data)
        return Path(name)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _remove_unused(table_file: Future[Path | None]) -> None:
    """Remove the file `_write_beside` wrote when no run moved it in (the run was not saved)."""
    try:
        written = table_file.result()
    except Exception:
        return  # nothing was written
    if written is not None:
        written.unlink(missing_ok=True)


def _unchanged_corpus(run: RunFolder, record: RunRecord, corpus: str | Path, *, encoding: str | None,
                      extraction_cache: ExtractionCache | None, stamps: CorpusStamps | None) -> Corpus | None:
    """The corpus of the run in `run` as StoredDocuments when its files are known unchanged by their
    stamps and none is extracted (a PDF's Document carries its pages); None otherwise."""
    try:
        if stamps is None or any("format" in entry or "text" in entry for entry in record.documents):
            return None
        return known_corpus(run, corpus, encoding=encoding, extraction_cache=extraction_cache, stamps=stamps)
    except (CoderError, KeyError, TypeError):
        return None


def _only_presentation_changed(stored: Codebook, codebook: Codebook) -> bool:
    """Do the two codebooks differ in labels, descriptions, colours, YAML lines and the name only?"""
    def shown(book: Codebook) -> list[Code]:
        return [replace(code, label="", description="", color=None, line=None) for code in book]

    return (stored.unit == codebook.unit and stored.code_kinds == codebook.code_kinds
            and _matching_key(stored) == _matching_key(codebook) and shown(stored) == shown(codebook)
            and all(code.label for code in codebook))


class _Presentation:
    """The new contents of the files a label, colour or description shows in, from the last run's files.

    Everything is read and checked in __init__, before anything is written: what does not look as
    the last run wrote it raises (ValueError and friends), and the caller does the full work.
    """

    def __init__(self, run: RunFolder, record: RunRecord, stored: Codebook, codebook: Codebook, graph: dict,
                 segments: Future[_Segments], *, views: bool):
        self.run, self.codebook, self.views = run, codebook, views  # views: segments.csv and passages.csv
        self.old_raw = {code.id: code.label for code in stored}
        self.old_labels = {code.id: _neutral(code.label) for code in stored}  # as written into a CSV
        self.labels = {code.id: _neutral(code.label) for code in codebook}
        self.written_ids = {_neutral(code.id): code.id for code in codebook}
        # The CSVs show labels only: without a label edit they are kept as the last run wrote them (None).
        self.code_counts_csv = self.codes_csv = self.cooccurrence_csv = None
        if self.old_raw != {code.id: code.label for code in codebook}:
            self.code_counts_csv = self._code_counts(run.code_counts_path.read_bytes())
            self.codes_csv = self._relabel_csv(run.folder / NETWORK_FILES["codes"], {"label": "code"})
            self.cooccurrence_csv = self._relabel_csv(run.folder / NETWORK_FILES["cooccurrence"],
                                                      {"source_label": "source", "target_label": "target"})
        cooccurrence = self.cooccurrence_csv or (run.folder / NETWORK_FILES["cooccurrence"]).read_bytes()
        self.pair_count = cooccurrence.count(b"\n") - 1
        colors = _top_level_codes(None, codebook)
        self.graph, changes = self._graph(graph, colors)
        self.page = self._page(colors)
        self.graphml = self.gexf = None  # None: written again by networkx
        try:
            from .render import relabel_gexf, relabel_graphml

            folder = run.folder
            self.graphml = relabel_graphml((folder / NETWORK_FILES["graphml"]).read_bytes().decode("utf-8"), changes)
            self.gexf = relabel_gexf((folder / NETWORK_FILES["gexf"]).read_bytes().decode("utf-8"), changes)
        except ValueError:  # a value XML escapes (or a file not as expected): networkx writes the graph
            self.graphml = self.gexf = None
        # last: read meanwhile in the other thread
        self.code_counts, self.segments_by_code = segments.result().code_counts, segments.result().rows_by_code

    def _code_counts(self, data: bytes) -> bytes:
        """code_counts.csv (code, code_path, label, one column per document) with the new labels."""
        lines = data.split(b"\r\n")
        if not lines[0].startswith(b"\xef\xbb\xbfcode,code_path,label,") or lines[-1] != b"":
            raise ValueError("code_counts.csv: not as the last run wrote it")
        out = [lines[0]]
        cells = {_cell(written): code for written, code in self.written_ids.items()}
        if any("\r" in label or "\n" in label for label in self.old_labels.values()):
            raise ValueError("code_counts.csv: a label across lines")  # rows cannot be told by line ends
        rows, total = lines[1:-2], lines[-2]
        if not total.startswith(_ANY_CODE_ROW):
            raise ValueError("code_counts.csv: no total row")
        for line in rows:
            code = cells[line.split(b",", 1)[0].decode("utf-8")]
            head = f"{_cell(_neutral(code))},{_cell(_neutral(self.codebook[code].code_path))},".encode()
            old = head + _cell(self.old_labels[code]).encode() + b","
            if not line.startswith(old):
                raise ValueError("code_counts.csv: a row that is not as the last run wrote it")
            out.append(head + _cell(self.labels[code]).encode() + b"," + line[len(old):])
        return b"\r\n".join([*out, total, b""])

    def _relabel_csv(self, path: Path, columns: dict[str, str]) -> bytes:
        """A CSV the last run wrote, with each label column (keyed by the column of its code) relabelled.

        When no code id or label holds a line break (so a line is a row), only the lines naming a
        relabelled code are read and written again; the file's stamp vouches for the others."""
        data = path.read_bytes()
        if any("\r" in text or "\n" in text for text in (*self.written_ids, *self.labels.values(), *self.old_labels.values())):
            return self._relabel_rows(path.name, data, columns)
        lines = data.split(b"\r\n")
        cells = [_cell(written).encode() for written, code in self.written_ids.items()
                 if self.labels[code] != self.old_labels[code]]
        chosen = [number for number in range(1, len(lines) - 1) if any(cell in lines[number] for cell in cells)]
        part = self._relabel_rows(path.name, b"\r\n".join([lines[0], *(lines[number] for number in chosen), b""]), columns)
        relabelled = part.split(b"\r\n")
        if lines[-1] != b"" or len(relabelled) != len(chosen) + 2:
            raise ValueError(f"{path.name}: not as the last run wrote it")
        for number, line in zip(chosen, relabelled[1:-1]):
            lines[number] = line
        return b"\r\n".join(lines)

    def _relabel_rows(self, name: str, data: bytes, columns: dict[str, str]) -> bytes:
        """`_relabel_csv` of every row of `data` (a header, then rows)."""
        rows = list(_csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        if _csv_bytes(rows) != data:
            raise ValueError(f"{name}: not as the last run wrote it")
        header = rows[0]
        where = [(header.index(label), header.index(code)) for label, code in columns.items()]
        for row in rows[1:]:
            for label, code in where:
                code_id = self.written_ids[row[code]]
                if row[label] != self.old_labels[code_id]:
                    raise ValueError(f"{name}: a label that is not the last run's")
                row[label] = self.labels[code_id]
        return _csv_bytes(rows)

    def _graph(self, kept: dict, colors: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, dict[str, tuple[str, str]]]]]:
        """The map's graph as the last run exported it (plain data: graph, nodes, edges), with the new labels,
        descriptions and colours, and what changed in each node ({attribute: (old, new)})."""
        from .render import xml_text

        if not (isinstance(kept, dict) and isinstance(kept["graph"], dict) and isinstance(kept["edges"], list)):
            raise ValueError("presented.json: no graph")
        changes = []
        for node, attributes in kept["nodes"]:
            code, top = self.codebook[node], attributes["top"]
            if attributes["label"] != xml_text(self.old_raw[node]) or top != code.path[0]:
                raise ValueError("presented.json: the graph is not the last run's")
            new = {"label": xml_text(code.label), "description": xml_text(code.description),
                   "top_label": xml_text(self.codebook[top].label),
                   "color": xml_text(code_color(code.path, colors, self.codebook))}
            changes.append((node, {name: (attributes[name], value) for name, value in new.items()}))
            attributes.update(new)
        return kept, changes

    def _networkx_graph(self) -> Any:
        import networkx as nx

        graph = nx.Graph()
        graph.graph.update(self.graph["graph"])
        graph.add_nodes_from((node, attributes) for node, attributes in self.graph["nodes"])
        graph.add_edges_from((source, target, attributes) for source, target, attributes in self.graph["edges"])
        return graph

    def _page(self, colors: dict[str, str]) -> bytes:
        """The report page as the last run wrote it, with the new labels, descriptions, colours and title."""
        from .render import relabel_report

        def relabelled(codes: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for code in codes:
                known = self.codebook[code["id"]]
                code.update(label=page_label(known.label), description=known.description,
                            color=code_color(code["path"], colors, self.codebook))
            return codes

        page = (self.run.folder / NETWORK_FILES["report"]).read_bytes()  # line ends as written
        return relabel_report(page, title=self.codebook.name or "Concept network", codes=relabelled)

    def write(self, stage: RunFolder, record: RunRecord, *, table_file: Future[Path | None]) -> dict[str, Path]:
        """Write the new run into `stage`: relabelled files written, the others linked, and segments.parquet
        as `table_file` gives it (`_write_beside`: written beside the last run's, or None to keep that)."""
        from .render import write_gexf, write_graphml

        folder = stage.folder
        for name in _KEPT:
            if name != NETWORK_FILES["matrix"] or (self.run.folder / name).exists():
                _link(self.run.folder / name, folder / name)
        # None: the bytes the last run wrote (a colour or description edit), linked.
        for name, content in {CODE_COUNTS_FILE: self.code_counts_csv, NETWORK_FILES["codes"]: self.codes_csv,
                              NETWORK_FILES["cooccurrence"]: self.cooccurrence_csv}.items():
            if content is None:
                _link(self.run.folder / name, folder / name)
            else:
                write_bytes(folder / name, content)
        write_bytes(folder / NETWORK_FILES["report"], self.page)
        if self.graphml is not None and self.gexf is not None:
            write_text(folder / NETWORK_FILES["graphml"], self.graphml)
            write_text(folder / NETWORK_FILES["gexf"], self.gexf)
        else:
            graph = self._networkx_graph()
            write_graphml(graph, folder / NETWORK_FILES["graphml"])
            write_gexf(graph, folder / NETWORK_FILES["gexf"])
        stage.write_record(record)
        written = table_file.result()  # last: the other files are written while Arrow writes it
        if written is None:
            _link(self.run.segments_parquet_path, stage.segments_parquet_path)
        else:
            os.replace(written, stage.segments_parquet_path)
        if self.views:
            from .segments import write_segments_csv

            # What a full run writes: the rows of the new segments.parquet with their passages' texts.
            # passages.csv shows no code: copied, not linked (a file a person may open and save in place).
            write_segments_csv(stage.read_segments(), folder / SEGMENTS_FILE)
            shutil.copyfile(self.run.folder / PASSAGES_FILE, folder / PASSAGES_FILE)
        return {**({"segments": folder / SEGMENTS_FILE} if self.views else {}),
                "code_counts": stage.code_counts_path, "run": stage.run_path,
                **({"passages": folder / PASSAGES_FILE} if self.views else {}),
                "segments_parquet": stage.segments_parquet_path, "passages_parquet": stage.passages_parquet_path,
                "code_counts_long": folder / CODE_COUNTS_LONG_FILE}

    def comparison(self, old: RunRecord, new: RunRecord) -> RunComparison:
        """What compare_with_previous finds: the codebook changes, and every segment unchanged."""
        return RunComparison(old=old, new=new, changes=tuple(diff_codebooks(list(old.codebook_codes), list(new.codebook_codes))),
                             segments={code: (0, 0, count) for code, count in self.code_counts})


def _changes_csv(comparison: RunComparison) -> bytes:
    """changes.csv as write_changes_csv writes it for a comparison that lists no segment."""
    rows = [[*CHANGES_COLUMNS, *SEGMENT_CHANGE_COLUMNS]]
    rows += [[_neutral(code), _neutral(change), _neutral(detail), str(added), str(removed), str(unchanged), "", "", "", ""]
             for code, change, detail, added, removed, unchanged in comparison.table_rows()]
    return _csv_bytes(rows, line_end="\n")  # LF: see write_changes_csv


def _cell(value: str) -> str:
    """One CSV cell as the CSV writer (pandas' too) writes it: quoted only when it must be."""
    buffer = io.StringIO()
    _csv.writer(buffer, lineterminator="").writerow([value])
    return buffer.getvalue()


def _csv_bytes(rows: list[list[str]], *, line_end: str = "\r\n") -> bytes:
    """Rows of text cells as files.write_csv writes them: UTF-8 with BOM, CRLF (or `line_end`)."""
    buffer = io.StringIO()
    _csv.writer(buffer, lineterminator=line_end).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _link(source: Path, target: Path) -> None:
    """`target` as a second name of `source` (files of a run are replaced whole, never edited), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _output_stamps(run: RunFolder) -> dict[str, list[int]]:
    """The stamp of every file of the run in the folder (a folder of parts has none: never reused)."""
    stamps = {}
    for name in (RUN_FILE, *RUN_FILES):
        path = run.folder / name
        if path.exists():
            stamps[name] = _file_stamp(path) if path.is_file() else []
    return stamps


@lru_cache(maxsize=1)
def _source_hash() -> str:
    """The tool's own files and the libraries that format its outputs: a change to any means the
    last run's files may not be what this version writes."""
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "?"

    root = Path(__file__).parent
    # networkx and lxml wrote the graph files this run edits; reading their versions and pandas' imports none
    # of them (a label edit needs none).
    digest = hashlib.sha256(f"{sys.version}\x1f{version('pandas')}\x1f{pa.__version__}\x1f{np.__version__}\x1f"
                            f"{version('networkx')}\x1f{version('lxml')}".encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\x00" + path.read_bytes())
    return digest.hexdigest()
