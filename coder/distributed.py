"""Stage 5, on a cluster: corpus -> segments on Dask workers (dask.distributed), beside pipeline.code_corpus.

The driver (the process that runs `coder run --engine dask`) reads the corpus, cuts the documents
into partitions of about the same size and sends each partition's document texts to a worker.
Every worker receives the codebook once (scattered to all workers) and compiles it once.

`run_coding_distributed` (what `coder run --engine dask` calls) never gathers the segments: each
worker codes its partition, applies the review decisions and statuses to it, writes its
segments.parquet and passages.parquet part files (part-NNNNN.parquet, in corpus order) into the
output folder, and returns a compact summary (coder.partitioned): counts per document and code,
co-occurrence per pair of codes at each roll-up level, the report's code sets. The driver sums
them into every summary file and reads back only the rows it shows. The output folder must be on
a filesystem the workers share; `parts="driver"` sends the part files back instead.

`code_corpus_distributed` is the Python API's counterpart of `code_corpus`: the same
CodingResult, every segment gathered on the driver (a local run's memory).

>>> coded = code_corpus_distributed("seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
>>> coded.result.segments[["document", "code", "hits"]].head()  # doctest: +SKIP
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .cooccurrence import build_cooccurrence
from .corpus import Corpus, CorpusFile, SkippedFile, no_documents_error, read_corpus
from .diff import compare_with_previous, write_changes_csv
from .errors import CoderError, OutputError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import LOCK_FILE, atomic_open, folder_lock, neutralize_formulas, write_csv
from .groups import DocumentVariables, group_counts_from
from .matching import CompiledCodebook, compile_codebook
from .models import (
    Codebook,
    CsvMode,
    Document,
    NetworkOptions,
    passage_fingerprint,
    segment_id,
    segment_id_from_fingerprint,
)
from .partitioned import (
    PairStore,
    PartitionPlan,
    PartitionSummary,
    ReviewPlan,
    finish_partition,
    listed_passages,
    merge_code_counts,
    merge_cooccurrence,
    merge_counts_long,
    plan_listing,
    segment_id_numbers,
)
from .pipeline import (
    PASSAGE_COLUMNS,
    CodingResult,
    _corpus_read,
    _entries_to_code,
    _item_length,
    _read_items,
    code_documents,
    partition_documents,
    passage_texts,
)
from .reviews import (
    DETACHED_COLUMNS,
    PassageLocator,
    _follow_moved_passages,
    _locate_added,
    _manual_rows,
    _normalized,
    explain_detached,
    precision_from_counts,
    read_reviews,
    rename_codes,
    write_reviews,
)
from .runs import (
    PASSAGES_PARQUET_FILE,
    SEGMENTS_PARQUET_FILE,
    RunFolder,
    _remove_path,
    build_run_record,
    wants_csv,
)
from .stamps import CORPUS_STAMPS_FILE, save_corpus_stamps, take_corpus_stamps
from .segments import (
    SEGMENT_COLUMNS,
    add_page_column,
    drop_rejected,
    passages_to_arrow,
    read_parquet,
    read_passages_parquet,
    read_segments_parquet,
    segments_to_frame,
    write_parquet,
    write_segments_parquet,
)

if TYPE_CHECKING:
    from distributed import Client

    from .runner import RunReport

__all__ = [
    "DaskError", "DistributedCoding", "code_corpus_distributed", "partition_documents", "run_coding_distributed",
]

INSTALL_HINT = 'pip install "coder[dask]"'
# Partitions: at least this much text each (a task costs milliseconds to schedule) ...
_MIN_PARTITION_CHARS = 1_000_000
# ... and at most this much, so that a worker holds one partition's text and rows at a time.
_MAX_PARTITION_CHARS = 32_000_000
# Partitions per worker, so that a slow partition does not leave the other workers idle at the end.
_PARTITIONS_PER_WORKER = 4
# Partitions sent to a worker ahead of the one it codes (its texts wait in the worker's memory).
_IN_FLIGHT_PER_WORKER = 2
_CONNECT_TIMEOUT = "10s"
# The segment columns a part holds: the passage text lives once in the passages part.
PART_SEGMENT_COLUMNS = tuple(column for column in (*SEGMENT_COLUMNS, "fingerprint") if column != "text")


class DaskError(CoderError):
    """The Dask engine cannot run: dask is not installed, the scheduler is unreachable, or a worker failed."""


@dataclass(frozen=True)
class DistributedCoding:
    """A corpus coded on a cluster: the same CodingResult as `code_corpus`, and the partitions' Parquet parts."""

    result: CodingResult
    partitions: tuple[tuple[str, ...], ...]  # the document paths of each partition, in corpus order
    workers: int  # workers of the cluster that coded it


def code_corpus_distributed(
    corpus: str | Path | Corpus,
    codebook: Codebook,
    *,
    scheduler: str | Client | None = None,
    workers: int | None = None,
    partition_chars: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | str | Path | None = None,
) -> DistributedCoding:
    """Read (if given a path), split and code a corpus on a Dask cluster; the result equals `code_corpus`'s.

    `scheduler` is the address of a running scheduler ("tcp://10.0.0.5:8786"), a `distributed.Client`,
    or None for a LocalCluster of `workers` processes (default: every core) on this machine.
    `partition_chars` overrides the partition size (characters of text per task).

    Raises:
        DaskError: dask is not installed, the scheduler cannot be reached, or a worker failed.

    >>> coded = code_corpus_distributed("seeds", codebook, scheduler="tcp://10.0.0.5:8786")  # doctest: +SKIP
    """
    started = time.perf_counter()
    if not isinstance(corpus, Corpus):
        corpus = read_corpus(corpus, encoding=encoding, extraction_cache=extraction_cache)
    documents = list(corpus.documents)
    with _client(scheduler, workers) as client:
        cluster_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        total_chars = sum(len(document.text) for document in documents)
        size = partition_chars or min(
            max(_MIN_PARTITION_CHARS, total_chars // (cluster_workers * _PARTITIONS_PER_WORKER) + 1),
            _MAX_PARTITION_CHARS)
        partitions = partition_documents(documents, size)
        parts = _code_partitions(client, partitions, codebook, progress=progress, total=len(documents))
    passage_table = _passages_of(parts)
    segments = _segments_of(parts, documents, passage_table)
    counts = {document.path: 0 for document in documents}
    for part in parts:
        counts.update(part.passages_by_document)
    result = CodingResult(
        corpus=corpus, codebook=codebook, segments=segments[list(_visible_columns(segments))], passages=counts,
        seconds=time.perf_counter() - started, passage_table=passage_table,
        fingerprints=segments["fingerprint"].reset_index(drop=True) if len(segments) else pd.Series([], dtype=str),
    )
    return DistributedCoding(
        result=result, partitions=tuple(tuple(document.path for document in partition) for partition in partitions),
        workers=cluster_workers)


# --- the cluster ---------------------------------------------------------------------------------


@contextmanager
def _client(scheduler: str | Client | None, workers: int | None) -> Iterator[Client]:
    """A client of the cluster at `scheduler`, of a LocalCluster when None, or `scheduler` itself."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskError(f"--engine dask needs dask.distributed, which is not installed. Install it with: {INSTALL_HINT}")
    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        # Processes, one thread each: coding is pure Python, so threads would share one core.
        # distributed starts worker processes with spawn (its default), as on Windows and macOS.
        try:
            # Only this machine connects; the status pages go on any free port (none without bokeh).
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
        except Exception as error:  # a port or process limit: the machine refused to start the workers
            raise DaskError(f"could not start a local Dask cluster ({type(error).__name__}: {error}).")
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise DaskError(
            f"could not reach the Dask scheduler at {scheduler} ({error}). Check the address (e.g. "
            f"tcp://10.0.0.5:8786) and that the scheduler is running, or leave out --scheduler to use this machine."
        )
    with client:
        if not client.scheduler_info().get("workers"):
            raise DaskError(f"the Dask scheduler at {scheduler} has no workers. Start workers with "
                            f"`dask worker {scheduler}` (with coder installed) and run again.")
        yield client


@dataclass(frozen=True)
class _Partition:
    """One partition's documents, scattered as one object (a bare list would be scattered item by item)."""

    documents: tuple[Document, ...]
    number: int = 0  # its place in corpus order: the number of its part files


@dataclass(frozen=True)
class _Part:
    """What one partition sends back: Parquet bytes and the passage count of each of its documents."""

    segments: bytes
    passages: bytes
    passages_by_document: dict[str, int]


def _code_partitions(
    client: Client, partitions: list[list[Document]], codebook: Codebook, *,
    progress: Callable[[int, int], None] | None, total: int, task: Callable | None = None, extra: tuple = (),
    receive: Callable | None = None,
) -> list:
    """Run `task` (default: code a partition into Parquet bytes) on every partition of the cluster;
    the results in partition order. `extra` are sent once to every worker and passed after the partition.

    At most _IN_FLIGHT_PER_WORKER partitions per worker are sent ahead, so a worker holds a few
    partitions' texts at a time, not its share of the whole corpus.
    """
    from distributed import as_completed

    if not partitions:
        return []
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    try:
        shared = client.scatter(codebook, broadcast=True, hash=False)  # sent once to every worker
        sent = [client.scatter(value, broadcast=True, hash=False) for value in extra]
        waiting = iter(enumerate(partitions))
        numbers = {}
        running = as_completed()

        def send_next() -> None:
            for number, partition in waiting:
                # Scattered first: the texts go straight to a worker, not through the scheduler.
                texts = client.scatter(_Partition(tuple(partition), number), hash=False)
                # Looked up when sent (not bound at definition), so a test can replace the task.
                function = task or _code_partition_table
                future = client.submit(function, shared, texts, *sent, pure=False)
                numbers[future] = number
                running.add(future)
                return

        for _ in range(workers * _IN_FLIGHT_PER_WORKER):
            send_next()
        parts: list = [None] * len(partitions)
        done = 0
        for future in running:
            number = numbers.pop(future)
            parts[number] = future.result() if receive is None else receive(future.result())
            future.release()
            send_next()
            done += len(partitions[number])
            if progress:
                progress(done, total)
    except CoderError:
        raise  # a codebook regex that ran too long on a worker: the same message as on this machine
    except Exception as error:
        raise DaskError(f"the Dask cluster failed while coding ({type(error).__name__}: {error}).")
    return parts


_compiled: dict[int, tuple[Codebook, CompiledCodebook]] = {}
_compiling = threading.Lock()


def _compiled_codebook(codebook: Codebook) -> CompiledCodebook:
    """The worker's compiled codebook: compiled once per worker process, for every partition it codes."""
    with _compiling:
        cached = _compiled.get(id(codebook))
        if cached is None or cached[0] is not codebook:
            cached = (codebook, compile_codebook(codebook))
            _compiled.clear()
            _compiled[id(codebook)] = cached
    return cached[1]


def _code_partition_table(codebook: Codebook, partition: _Partition) -> _Part:
    """Runs on a worker: code one partition, as `code_corpus` codes one batch."""
    frame, counts, _, _, passage_rows = code_documents(list(partition.documents), codebook,
                                                       compiled=_compiled_codebook(codebook))
    passages = pd.DataFrame.from_records(passage_rows, columns=list(PASSAGE_COLUMNS))
    passages = passages.astype({"passage": "int64", "start": "int64", "end": "int64"})
    # Each segment row names its passage's row, so the driver takes the text without a join.
    keys = pd.MultiIndex.from_frame(passages[["document", "passage"]])
    rows = keys.get_indexer(pd.MultiIndex.from_frame(frame[["document", "passage"]])) if len(frame) else []
    segments = frame[list(PART_SEGMENT_COLUMNS)].assign(passage_row=pd.Series(rows, index=frame.index, dtype="int64"))
    return _Part(segments=_parquet(segments), passages=_parquet(passages), passages_by_document=counts)


def _parquet(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()


def _read_table(data: bytes):
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


# --- back on the driver --------------------------------------------------------------------------


def _segments_of(parts: list[_Part], documents: list[Document], passage_table: pd.DataFrame) -> pd.DataFrame:
    """Every partition's segment rows, in corpus order, with the passage text joined back from the
    passages as `code_corpus` joins it (a categorical over the passage texts, each held once)."""
    import pyarrow as pa

    tables = []
    for part in parts:
        segments = _read_table(part.segments)
        if not segments.num_rows:
            continue
        tables.append(segments.drop_columns(["passage_row"]))
    if tables:
        segments = pa.concat_tables(tables).to_pandas()
        segments.insert(segments.columns.get_loc("matched") + 1, "text", passage_texts(segments, passage_table))
        segments = segments[[*SEGMENT_COLUMNS, "fingerprint"]]
    else:
        segments = segments_to_frame([]).assign(fingerprint=pd.Series([], dtype=str))
    return add_page_column(segments, documents)


def _visible_columns(segments: pd.DataFrame) -> list[str]:
    return [column for column in segments.columns if column != "fingerprint"]


def _passages_of(parts: list[_Part]) -> pd.DataFrame:
    import pyarrow as pa

    if not parts:
        return pd.DataFrame({column: [] for column in PASSAGE_COLUMNS}).astype(
            {"passage": "int64", "start": "int64", "end": "int64"})
    return pa.concat_tables([_read_table(part.passages) for part in parts]).to_pandas()


# --- `coder run --engine dask`: partitions reduced, never gathered ---------------------------------

# Where the workers write their part files before the run is staged (inside the output folder, so
# that the parts are renamed into the staged run, not copied; removed whatever happens).
PARTS_FOLDER = ".dask-parts"
_PAIRS_FOLDER = ".pairs"  # in PARTS_FOLDER: each partition's co-occurrence counts until summed
PartsMode = Literal["workers", "driver"]
PARTS_MODES: tuple[str, ...] = ("workers", "driver")
# Example passages per code on the map (network.build_network's default, which `coder run` keeps).
_EXAMPLES = 3


def run_coding_distributed(
    corpus: str | Path,
    codebook_path: str | Path,
    run: RunFolder,
    *,
    codebook: Codebook,
    variables: DocumentVariables | None,
    reviews_file: Path,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    use_cache: bool = True,
    network_options: NetworkOptions = NetworkOptions(),
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    csv: CsvMode = "auto",
    parts: PartsMode = "workers",
) -> RunReport:
    """`run_coding(..., engine="dask")`: the same files, while the driver holds counts, not segments.

    Each worker codes a partition, applies the review decisions and statuses to it, writes its
    segments.parquet and passages.parquet part files into the output folder (which must be on a
    filesystem the workers share; `parts="driver"` sends the part files back to be written here
    instead) and returns a PartitionSummary. The driver sums the summaries into code_counts*,
    cooccurrence*, the network and the report, and reads back from the parts only the rows it
    shows (the map's examples, the report's listed passages), the ids `changes.csv` compares,
    and, when the run is small enough for segments.csv (`csv`), the table itself.
    `result.segments` of the report is empty: read the segments with `RunFolder(out).read_segments()`.
    """
    from .runner import RunReport, SegmentTally, _renamed_codes, import_typed_decisions, write_network_outputs

    if parts not in PARTS_MODES:
        raise DaskError(f"parts {parts!r}: choose one of {', '.join(PARTS_MODES)}.")
    started = time.perf_counter()
    with run.locked(), folder_lock(reviews_file.parent / LOCK_FILE):
        recovered = run.recover()
        imported = import_typed_decisions(run, reviews_file)
        reviews = read_reviews(reviews_file) if reviews_file.is_file() else None
        extraction_cache = ExtractionCache(run.extraction_cache_path) if use_cache else None
        # Before anything reads the corpus: a file changed after this moment has a newer stamp.
        stamps = take_corpus_stamps(corpus) if use_cache else None
        forced = check_encoding(encoding) if encoding else None
        # The workers read the text files themselves (the driver lists them), unless the driver must
        # hold the texts: parts come back to it (no shared filesystem), or passages coded by hand
        # must be found in the corpus before coding.
        entries = None
        if parts == "workers" and not (reviews is not None and reviews["decision"].eq("add").any()):
            entries = _entries_to_code(corpus, encoding=forced, extraction_cache=extraction_cache)
            items: list = [_shared(entry) for entry in entries if not isinstance(entry, SkippedFile)]
            # Until the workers have read the text files: the extracted documents and the files skipped.
            read = Corpus(root=str(Path(corpus)), documents=tuple(entry for entry in entries if isinstance(entry, Document)),
                          skipped=tuple(entry for entry in entries if isinstance(entry, SkippedFile)))
        else:
            read = read_corpus(corpus, encoding=encoding, extraction_cache=extraction_cache)
            items = list(read.documents)
        if not items:
            raise no_documents_error(corpus, read)
        renamed = _renamed_codes(run, codebook)
        carried = 0
        locator = review_plan = reviews_now = None
        if reviews is not None and not reviews.empty:
            reviews_now, carried = rename_codes(reviews, renamed)
            locator = PassageLocator(read.documents, unit=codebook.unit)
            review_plan = _review_plan(reviews_now, locator, codebook)
        plan = PartitionPlan(
            levels=tuple(range(1, max((code.depth for code in codebook), default=1))),
            network_level=network_options.level, examples=_EXAMPLES, previous_ids=_previous_ids(run, renamed),
            compared=run.has_record(), reviews=review_plan, encoding=forced)
        folder = (run.folder / PARTS_FOLDER).resolve()
        _remove_path(folder)
        try:
            with _client(scheduler, workers) as client:
                cluster_workers = max(len(client.scheduler_info().get("workers", {})), 1)
                # Characters of the texts at hand; bytes of the files the workers read.
                total_chars = sum(_item_length(item) for item in items)
                size = min(max(_MIN_PARTITION_CHARS, total_chars // (cluster_workers * _PARTITIONS_PER_WORKER) + 1),
                           _MAX_PARTITION_CHARS)
                partitions = partition_documents(items, size, length=_item_length)
                pairs_store = PairStore(folder / _PAIRS_FOLDER)

                def receive(summary: PartitionSummary) -> PartitionSummary:
                    # As each partition arrives: its part files written (parts="driver"), its pairs stored.
                    _write_files(summary, folder)
                    pairs_store.put(summary)
                    return summary

                summaries: list[PartitionSummary] = _code_partitions(
                    client, partitions, codebook, progress=progress, total=len(items), task=_code_partition,
                    extra=(plan, str(folder) if parts == "workers" else None), receive=receive)
            if entries is not None:  # the text files as the workers read them (StoredDocuments: no text kept)
                read = _corpus_read(Path(corpus), entries, {path: found for summary in summaries
                                                             for path, found in summary.read.items()}, forced)
            documents = list(read.documents)
            if not documents:
                raise no_documents_error(corpus, read)
            by_path = {document.path: document for document in documents}
            partitions = [[by_path[item.path] for item in partition if item.path in by_path] for partition in partitions]
            settled = _settle_reviews(summaries, partitions, folder, codebook, plan, reviews_now, locator,
                                      pairs_store) if review_plan is not None else None
            if settled is not None:
                summaries = settled.summaries
            result = CodingResult(corpus=read, codebook=codebook, segments=segments_to_frame([]),
                                  passages={document.path: 0 for document in documents},
                                  seconds=time.perf_counter() - started)
            for summary in summaries:
                result.passages.update(summary.passages)
            applied_reviews, orphans, precision, followed = None, None, None, 0
            if reviews is not None:
                applied_reviews = settled.reviews if settled is not None else reviews
                if not applied_reviews.equals(reviews):
                    write_reviews(applied_reviews, reviews_file)  # decisions now under their new code ids and documents
                orphans = _orphans(settled, codebook, documents)
                precision = _precision(summaries)
                followed = settled.followed if settled is not None else 0
            tally = SegmentTally(segments=sum(summary.segments for summary in summaries),
                                 counted_by_code=_summed(summary.counted_by_code for summary in summaries),
                                 added=sum(summary.added for summary in summaries))
            review_counts = None if reviews is None else {
                "path": str(reviews_file), "decisions": len(reviews),
                "orphaned": len(orphans) if orphans is not None else 0, "added": tally.added,
            }
            record = build_run_record(result, codebook_path=codebook_path, corpus_path=corpus, workers=workers,
                                      reviews=review_counts, encoding=check_encoding(encoding) if encoding else None)
            record = replace(record, counts=_record_counts(summaries, result, codebook))
            if variables is not None:
                variables = variables.matched(document.path for document in documents)
                record = replace(record, document_variables={"path": variables.path, "variables": variables.names})
            not_compared = comparison = None
            with run.staged() as stage:
                run.keep_previous(into=stage)
                written = _write_outputs(stage, folder, summaries, result, record, csv=csv, segments=tally.segments)
                network = write_network_outputs(
                    segments_to_frame([]), codebook, stage.folder, options=network_options,
                    total_passages=result.passage_count, documents=variables.table if variables is not None else None,
                    reduced=_reduced_network(stage, summaries, pairs_store, codebook, network_options,
                                             result.passage_count),
                )
                written.update(_write_document_tables(stage, summaries, codebook, variables, result.passages))
                try:
                    comparison = compare_with_previous(stage)
                except OutputError as error:
                    comparison, not_compared = None, str(error)
                if comparison is not None:
                    written["changes"] = write_changes_csv(comparison, stage.changes_path)
        finally:
            _remove_path(folder)
        if use_cache:
            run.remember_segments_file()
        save_corpus_stamps(run.cache_path / CORPUS_STAMPS_FILE, stamps, read, encoding=encoding)
        run.prune_texts(documents)
        if extraction_cache is not None:
            extraction_cache.prune()
    written = {key: run.folder / path.name for key, path in written.items()}
    network = {key: run.folder / value.name if isinstance(value, Path) else value for key, value in network.items()}
    return RunReport(result=result, out_dir=run.folder, written=written, network=network, comparison=comparison,
                     reviews_path=reviews_file if reviews is not None else None, orphans=orphans, precision=precision,
                     imported=tuple(imported), carried=carried, followed=followed, recovered=recovered,
                     document_variables=variables, not_compared=not_compared, tally=tally)


def _code_partition(codebook: Codebook, partition: _Partition, plan: PartitionPlan, folder: str | None) -> PartitionSummary:
    """Runs on a worker: code one partition, finish it as `coder run` finishes the whole table, write its
    part files into `folder` (None: return them) and send back its summary."""
    documents, read = _read_items(partition.documents, plan.encoding)  # text files read here, from the shared filesystem
    frame, counts, _, _, passage_rows = code_documents(documents, codebook, compiled=_compiled_codebook(codebook))
    passages = _passage_frame(passage_rows)
    frame, summary = finish_partition(frame, passages, documents, codebook, plan, partition.number)
    summary.passages, summary.read = counts, dict(read)
    if folder is not None:
        _write_part(frame, passages, Path(folder), partition.number)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as temporary:
            files = _write_part(frame, passages, Path(temporary), partition.number)
            summary.files = {name: path.read_bytes() for name, path in files.items()}
    return summary


def _shared(entry: Document | CorpusFile) -> Document | CorpusFile:
    """A corpus entry as a worker reads it: a file by its absolute path (a worker's folder may be another)."""
    return replace(entry, file=entry.file.absolute()) if isinstance(entry, CorpusFile) else entry


def _passage_frame(rows: list[tuple]) -> pd.DataFrame:
    passages = pd.DataFrame.from_records(rows, columns=list(PASSAGE_COLUMNS))
    return passages.astype({"passage": "int64", "start": "int64", "end": "int64"})


def _part_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def _write_part(frame: pd.DataFrame, passages: pd.DataFrame, folder: Path, number: int) -> dict[str, Path]:
    """A partition's segments.parquet and passages.parquet part files, under `folder`."""
    paths = {table: folder / table / _part_name(number) for table in (SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE)}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    write_segments_parquet(frame, paths[SEGMENTS_PARQUET_FILE], passages=passages)
    write_parquet(passages_to_arrow(passages), paths[PASSAGES_PARQUET_FILE])
    return paths


def _write_files(summary: PartitionSummary, folder: Path) -> None:
    """Write the part files a worker sent back (parts="driver"), one partition at a time."""
    for table, data in summary.files.items():
        path = folder / table / _part_name(summary.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    summary.files = {}


def _read_part(folder: Path, number: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A written partition back: its segments (every stored column, text of hand-coded spans) and passages."""
    name = _part_name(number)
    segments = read_parquet(folder / SEGMENTS_PARQUET_FILE / name)
    passages = read_parquet(folder / PASSAGES_PARQUET_FILE / name)
    return segments, passages


def _previous_ids(run: RunFolder, renamed: dict[str, str]) -> np.ndarray:
    """The segment ids of the run in the folder (renamed codes under their new ids, as runner._statuses
    counts them), as sorted uint64: 8 bytes a segment, read a batch at a time."""
    empty = np.zeros(0, dtype=np.uint64)
    if not run.has_record():
        return empty
    if not run.segments_parquet_path.exists():
        try:
            index = run.read_segment_index()
        except OutputError:
            return empty
        return np.unique(np.concatenate([segment_id_numbers(index["segment_id"]), _renamed_ids(index, renamed)]))
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = run.segments_parquet_path
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    numbers = []
    try:
        for file in files:
            for batch in pq.ParquetFile(file).iter_batches(columns=["segment_id", "code", "fingerprint"]):
                index = batch.to_pandas()
                numbers += [segment_id_numbers(index["segment_id"]), _renamed_ids(index, renamed)]
    except (pa.ArrowException, OSError, ValueError):
        return empty  # damaged: as runner._statuses, every segment is new
    return np.unique(np.concatenate(numbers)) if numbers else empty


def _renamed_ids(index: pd.DataFrame, renamed: dict[str, str]) -> np.ndarray:
    if not renamed:
        return np.zeros(0, dtype=np.uint64)
    moved = index[index["code"].isin(list(renamed))]
    return segment_id_numbers([segment_id_from_fingerprint(fingerprint, renamed[code])
                               for fingerprint, code in zip(moved["fingerprint"], moved["code"])])


# --- review decisions across partitions ----------------------------------------------------------


def _review_plan(reviews: pd.DataFrame, locator: PassageLocator, codebook: Codebook) -> ReviewPlan:
    """What the partitions must report for the driver to apply the review file as attach_reviews does."""
    asked = set(reviews["segment_id"].astype(str))
    for _, entry in reviews[reviews["decision"].eq("add")].iterrows():
        if entry["code"] in codebook:
            found = _locate_added(entry, locator)
            if found is not None:  # the segment a hand-coded passage becomes, unless the tool codes it too
                asked.add(segment_id(found[0], found[4], entry["code"]))
    movable = reviews[reviews["text"].astype(bool) & reviews["decision"].ne("add")]
    return ReviewPlan(
        reviews=reviews, asked=frozenset(asked),
        follow=frozenset((str(code), _normalized(text)) for code, text in zip(movable["code"], movable["text"])),
        entries=frozenset((str(document), _normalized(text)) for document, text in zip(reviews["document"], reviews["text"])),
    )


@dataclass(frozen=True)
class _Settled:
    summaries: list[PartitionSummary]
    reviews: pd.DataFrame  # the review file as attach_reviews leaves it
    detached: pd.DataFrame
    coded_texts: frozenset[tuple[str, str]]
    followed: int


def _settle_reviews(
    summaries: list[PartitionSummary], partitions: list[list[Document]], folder: Path, codebook: Codebook,
    plan: PartitionPlan, reviews: pd.DataFrame, locator: PassageLocator, pairs_store: PairStore,
) -> _Settled:
    """The review file applied to the whole run: decisions that follow a renamed document and passages
    coded by hand change a few partitions, which the driver finishes again from their part files."""
    present = set().union(*(summary.present for summary in summaries))
    found = [summary.candidates for summary in summaries if summary.candidates is not None and len(summary.candidates)]
    candidates = pd.concat(found, ignore_index=True) if found else pd.DataFrame(
        {column: [] for column in ("segment_id", "document", "passage", "start", "end", "code", "text")})
    present |= set(candidates["segment_id"])
    reviews = reviews.reset_index(drop=True).copy()
    before = reviews.copy()
    followed = _follow_moved_passages(reviews, candidates, present)
    manual = _manual_rows(reviews, present, locator, codebook)
    manual = manual.assign(fingerprint=[passage_fingerprint(document, text)
                                        for document, text in zip(manual["document"], manual["text"])])
    moved = reviews["segment_id"].ne(before["segment_id"]) & reviews["decision"].ne("add")
    touched = set(reviews.loc[moved, "document"]) | set(manual["document"])
    part_of = {document.path: number for number, partition in enumerate(partitions) for document in partition}
    summaries = list(summaries)
    for number in sorted({part_of[document] for document in touched if document in part_of}):
        frame, passages = _read_part(folder, number)
        frame = frame.drop(columns=["status", "span_text"], errors="ignore")
        mine = manual[manual["document"].isin([document.path for document in partitions[number]])]
        frame, summary = finish_partition(frame, passages, partitions[number], codebook, plan, number,
                                          reviews=reviews, manual=mine.reset_index(drop=True))
        summary.passages, summary.present = summaries[number].passages, summaries[number].present
        summary.candidates, summary.coded_texts = summaries[number].candidates, summaries[number].coded_texts
        _write_part(frame, passages, folder, number)
        pairs_store.put(summary)
        summaries[number] = summary
    coded_texts = frozenset().union(*(summary.coded_texts for summary in summaries))
    coded_texts |= {(str(document), _normalized(text)) for document, text in zip(manual["document"], manual["text"])}
    detached = reviews[~reviews["segment_id"].isin(present)].reset_index(drop=True)
    return _Settled(summaries=summaries, reviews=reviews, detached=detached, coded_texts=coded_texts,
                    followed=followed)


def _orphans(settled: _Settled | None, codebook: Codebook, documents: list[Document]) -> pd.DataFrame:
    """explain_detached for the whole run, from the (document, passage text) pairs the partitions found coded."""
    if settled is None:
        return explain_detached(pd.DataFrame(columns=list(DETACHED_COLUMNS)), pd.DataFrame())
    known = pd.DataFrame(sorted(settled.coded_texts), columns=["document", "text"])
    return explain_detached(settled.detached, known, codes=[code.id for code in codebook],
                            documents=[document.path for document in documents])


def _precision(summaries: list[PartitionSummary]) -> pd.DataFrame:
    counts = [summary.precision for summary in summaries if summary.precision is not None]
    if not counts:
        return precision_from_counts(None)
    return precision_from_counts(pd.concat(counts, ignore_index=True).groupby("code", sort=True).sum().reset_index())


def _summed(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for each in counts:
        for key, value in each.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def _record_counts(summaries: list[PartitionSummary], result: CodingResult, codebook: Codebook) -> dict:
    """run.json's counts, summed (build_run_record counts them from the whole table)."""
    by_code = _summed(summary.by_code for summary in summaries)
    return {
        "documents": len(result.corpus.documents),
        "skipped": len(result.corpus.skipped),
        "passages": result.passage_count,
        "segments": sum(summary.segments for summary in summaries),
        "coded_passages": sum(summary.coded_passages for summary in summaries),
        "segments_by_code": {code.id: int(by_code.get(code.id, 0)) for code in codebook},
    }


# --- the outputs ---------------------------------------------------------------------------------


def _write_outputs(stage: RunFolder, folder: Path, summaries: list[PartitionSummary], result: CodingResult,
                   record, *, csv: CsvMode, segments: int) -> dict[str, Path]:
    """RunFolder.write_outputs for a partitioned run: the parts moved in, code_counts.csv summed, the
    CSVs (small runs only) read back from the parts, run.json."""
    written: dict[str, Path] = {}
    stage.folder.mkdir(parents=True, exist_ok=True)
    for table in (SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE):
        os.replace(folder / table, stage.folder / table)
    csv_too = wants_csv(csv, segments)
    numbers = [summary.number for summary in summaries]
    if csv_too:
        paged = any(document.pages for document in result.corpus.documents)
        written["segments"] = _write_csv_by_part(stage.segments_path, (
            _csv_segments(read_segments_parquet(stage.segments_parquet_path / _part_name(number),
                                                passages=stage.passages_parquet_path / _part_name(number)), paged)
            for number in numbers))
    written.update(code_counts=stage.code_counts_path, run=stage.run_path)
    if csv_too:
        written["passages"] = _write_csv_by_part(stage.passages_path, (
            read_passages_parquet(stage.passages_parquet_path / _part_name(number)) for number in numbers))
    written.update(segments_parquet=stage.segments_parquet_path, passages_parquet=stage.passages_parquet_path)
    write_csv(merge_code_counts(summaries, result.codebook, [document.path for document in result.corpus.documents]),
              written["code_counts"])
    if stage.write_texts(result.corpus.documents):
        written["texts"] = stage.texts_path
    stage.write_record(record)
    return written


def _csv_segments(frame: pd.DataFrame, paged: bool) -> pd.DataFrame:
    """One part's rows in segments.csv's columns (as write_segments_csv orders them); `page` when any
    document of the run has pages, though this part's have none."""
    if paged and "page" not in frame.columns:
        frame.insert(frame.columns.get_loc("end") + 1, "page", "")
    tail = ("status", "review", "note", "source")
    return frame[[column for column in frame.columns if column not in tail] + [column for column in tail
                                                                             if column in frame.columns]]


def _write_csv_by_part(path: Path, frames: Iterator[pd.DataFrame]) -> Path:
    """files.write_csv for a table given a part at a time (the same bytes): the driver holds one part."""
    with atomic_open(path, "w", encoding="utf-8-sig", newline="") as stream:
        for position, frame in enumerate(frames):
            neutralize_formulas(frame).to_csv(stream, header=position == 0, index=False, lineterminator="\r\n")
    return path


def _write_document_tables(stage: RunFolder, summaries: list[PartitionSummary], codebook: Codebook,
                           variables: DocumentVariables | None, passages: dict[str, int]) -> dict[str, Path]:
    """code_counts_long.csv and code_counts_by_group.csv from the partitions' per-document counts."""
    counts_long = merge_counts_long(summaries)
    by_group = None
    if variables is not None:
        per_code_document = counts_long.groupby(["code", "document"])["passages"].sum() if len(counts_long) \
            else pd.Series(dtype="int64")
        by_group = group_counts_from(per_code_document, variables, passages_by_document=passages,
                                     codes=[code.id for code in codebook])
        if variables.names:
            counts_long = counts_long.merge(variables.table, on="document", how="left")
    return stage.write_document_tables(counts_long, by_group)


def _reduced_network(stage: RunFolder, summaries: list[PartitionSummary], pairs_store: PairStore, codebook: Codebook,
                     options: NetworkOptions, total_passages: int):
    """The co-occurrence of every level and the report's passage data, summed; the rows the map and
    the report show read back from the part files."""
    from .network import _kept_pairs
    from .report import ALL_CODES, _codes
    from .runner import ReducedNetwork

    numbers = [summary.number for summary in summaries]
    merged = {level: merge_cooccurrence(pairs_store.sums(level, numbers), level, total_passages=total_passages,
                                        codebook=codebook)
              for level in dict.fromkeys((None, *pairs_store.levels))}
    base = merged[None]
    index = {code["id"]: position for position, code in enumerate(_codes(base.codes, codebook))}
    listing = plan_listing(summaries, index, seed=options.seed)
    shown = merged[options.level]
    pairs = _kept_pairs(shown.pairs, measure=options.measure, min_count=options.min_count, top_edges=options.top_edges)
    examples = pd.concat([summary.examples for summary in summaries], ignore_index=True) if summaries else None
    wanted: set[tuple[str, int]] = set(zip(pairs["example_document"].astype(str), pairs["example_passage"].tolist()))
    if examples is not None and len(examples):
        first = examples.groupby("code", sort=False).head(_EXAMPLES)
        wanted |= set(zip(first["document"].astype(str), first["passage"].tolist()))
    rows, listed = _read_rows(stage, summaries, wanted, listing.listed)
    counted = drop_rejected(rows)
    network_rows = build_cooccurrence(counted, level=options.level, codebook=codebook).segments
    shown = replace(shown, segments=network_rows)
    listed_rows = build_cooccurrence(counted, codebook=codebook).segments
    passages = listed_passages(listing, listed, listed_rows, index)
    rolled = {level: cooccurrence for level, cooccurrence in merged.items() if level is not None and level != ALL_CODES}
    return ReducedNetwork(cooccurrence=shown, base=base, rolled=rolled,
                          listing=(listing.names, passages, listing.words, listing.sets, listing.sample))


def _read_rows(stage: RunFolder, summaries: list[PartitionSummary], wanted: set[tuple[str, int]],
               ranks: list[tuple[str, int]]) -> tuple[pd.DataFrame, list[tuple[str, int]]]:
    """The rows (with text) of the `wanted` passages and of the passages listed by (document, rank
    among its counted coded passages), read one part file at a time, text only for those passages;
    the listed passages as (document, passage)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    by_document: dict[str, list[int]] = {}
    for document, rank in ranks:
        by_document.setdefault(document, []).append(rank)
    documents = {document for document, _ in wanted} | set(by_document)
    resolved: dict[tuple[str, int], tuple[str, int]] = {}
    kept = []
    for summary in summaries:
        mine = documents.intersection(summary.documents)
        if not mine:
            continue
        name = _part_name(summary.number)
        frame = read_parquet(stage.segments_parquet_path / name, columns=list(_ROW_COLUMNS))
        frame = frame[frame["document"].isin(mine).to_numpy()]
        keep = set(wanted)
        for document, group in drop_rejected(frame).groupby("document", sort=False):
            if document in by_document:
                numbers = sorted(set(group["passage"].tolist()))
                for rank in by_document[document]:
                    resolved[(document, rank)] = (document, numbers[rank])
                    keep.add((document, numbers[rank]))
        frame = frame[np.asarray([(document, passage) in keep for document, passage in
                                  zip(frame["document"], frame["passage"].tolist())], dtype=bool)]
        # The passages' text, converted to Python strings only for the passages kept.
        table = pq.read_table(stage.passages_parquet_path / name, columns=["document", "passage", "text"])
        keys = table.select(["document", "passage"]).to_pandas()
        shown = set(zip(frame["document"], frame["passage"].tolist()))
        mask = np.asarray([(document, passage) in shown for document, passage in
                           zip(keys["document"], keys["passage"].tolist())], dtype=bool)
        texts = table.filter(pa.array(mask)).to_pandas().set_index(["document", "passage"])["text"]
        text = texts.reindex(pd.MultiIndex.from_frame(frame[["document", "passage"]])).fillna("").to_numpy()
        own = frame["span_text"].notna().to_numpy()
        text[own] = frame["span_text"].to_numpy()[own]  # a hand-coded part of a passage keeps its own text
        kept.append(frame.drop(columns="span_text").assign(text=text))
    rows = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(
        {column: [] for column in (*_ROW_COLUMNS[:-1], "text")})
    return rows, [resolved[key] for key in ranks]


# What the map's examples and the report's listing read of a segment row (the text joins from its passage).
_ROW_COLUMNS = ("document", "passage", "code", "code_path", "label", "matched", "review", "span_text")
