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
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .corpus import Corpus, read_corpus
from .errors import CoderError
from .extract.cache import ExtractionCache
from .groups import DocumentVariables
from .matching import CompiledCodebook, compile_codebook
from .models import Codebook, CsvMode, Document, NetworkOptions
from .partitioned import PartitionPlan, PartitionSummary, finish_partition
from .pipeline import (
    PASSAGE_COLUMNS,
    CodingResult,
    _item_length,
    _read_items,
    code_documents,
    partition_documents,
    passage_texts,
)
from .reviews import read_reviews, review_file_lock
from .runs import RunFolder
from .segments import SEGMENT_COLUMNS, add_page_column, segments_to_frame
from .stamps import take_corpus_stamps
from .streamed import (
    PARTS_FOLDER,  # noqa: F401 (where the part files are written, for callers)
    PARTS_MODES,
    CodedPartitions,
    PartsMode,
    _shared,
    _write_part,
    code_in_partitions,
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
    _check_scheduler(scheduler)
    try:
        client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
    except Exception as error:  # a scheduler that is not one fails in whatever distributed's code meets first
        raise DaskError(
            f"could not reach the Dask scheduler at {scheduler} ({type(error).__name__}: {str(error)[:200]}). Check "
            f"the address (e.g. tcp://10.0.0.5:8786) and that the scheduler is running, or leave out --scheduler to "
            f"use this machine."
        )
    with client:
        if not client.scheduler_info().get("workers"):
            raise DaskError(f"the Dask scheduler at {scheduler} has no workers. Start workers with "
                            f"`dask worker {scheduler}` (with coder installed) and run again.")
        yield client


_SCHEDULER_ADDRESS = re.compile(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:/\[\]\s]+):(?P<port>\d{1,5})/?")
_SCHEDULER_ANSWER_SECONDS = 10.0


def _check_scheduler(address: str) -> None:
    """A scheduler address is tcp://HOST:PORT (or tls://, or HOST:PORT), and over TCP something there
    greets as a Dask scheduler does: on connecting, it sends its handshake, a frame count of a few.
    A web server (a dashboard port) says nothing and distributed waited for ever; a service that sends
    a banner had its bytes read as a frame count (MemoryError: 3 EiB)."""
    import socket
    import struct

    found = _SCHEDULER_ADDRESS.fullmatch(address.strip())
    if found is None or (found.group("scheme") or "tcp") not in ("tcp", "tls"):
        raise DaskError(f"--scheduler {address}: write the scheduler's address as tcp://HOST:PORT (for example "
                        f"tcp://10.0.0.5:8786, or tls://... for a cluster with TLS).")
    if found.group("scheme") == "tls":
        return  # encrypted: the greeting cannot be read here; distributed reports what goes wrong
    host, port = found.group("host").strip("[]"), int(found.group("port"))
    advice = "Check the address and that a Dask scheduler (`dask scheduler`) listens there (8786 by default)."
    try:
        with socket.create_connection((host, port), timeout=_SCHEDULER_ANSWER_SECONDS) as connection:
            connection.settimeout(_SCHEDULER_ANSWER_SECONDS)
            greeting = b""
            while len(greeting) < 8:
                part = connection.recv(8 - len(greeting))
                if not part:
                    break
                greeting += part
    except TimeoutError:  # socket.timeout
        raise DaskError(f"--scheduler {address}: something listens there but sent nothing in "
                        f"{_SCHEDULER_ANSWER_SECONDS:.0f} s, as a Dask scheduler does at once (a dashboard or web port?). {advice}")
    except OSError as error:
        raise DaskError(f"could not reach the Dask scheduler at {address} ({error.strerror or error}). {advice}")
    if len(greeting) < 8 or not 0 < struct.unpack("<Q", greeting)[0] <= 64:
        raise DaskError(f"--scheduler {address}: what answers there is not a Dask scheduler. {advice}")


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
        # A worker killed or lost mid-task: distributed says "KilledWorker" or that a key is "already
        # forgotten", which names none of what to do.
        lost = type(error).__name__ in ("KilledWorker", "FutureCancelledError", "CancelledError") or "forgotten" in str(error)
        advice = (" A worker stopped or was lost (out of memory, killed, or its machine went away): check the workers' "
                  "logs and memory, then run again; the earlier outputs are unchanged." if lost else "")
        raise DaskError(f"the Dask cluster failed while coding ({type(error).__name__}: {str(error)[:300]}).{advice}")
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


# --- `coder run --engine dask`: partitions reduced, never gathered (coder.streamed) -----------------


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
    instead) and returns a PartitionSummary; the driver (streamed.code_in_partitions) sums them.
    `result.segments` of the report is empty: read the segments with `RunFolder(out).read_segments()`.
    """
    from .runner import import_typed_decisions

    if parts not in PARTS_MODES:
        raise DaskError(f"parts {parts!r}: choose one of {', '.join(PARTS_MODES)}.")

    def code_on_cluster(items: list, plan: PartitionPlan, folder: Path,
                        receive: Callable[[PartitionSummary], PartitionSummary]) -> CodedPartitions:
        items = [_shared(item) for item in items]
        with _client(scheduler, workers) as client:
            cluster_workers = max(len(client.scheduler_info().get("workers", {})), 1)
            # Characters of the texts at hand; bytes of the files the workers read.
            total_chars = sum(_item_length(item) for item in items)
            size = min(max(_MIN_PARTITION_CHARS, total_chars // (cluster_workers * _PARTITIONS_PER_WORKER) + 1),
                       _MAX_PARTITION_CHARS)
            partitions = partition_documents(items, size, length=_item_length)
            # _code_partition looked up now (not bound at definition), so a test can replace it.
            summaries = _code_partitions(
                client, partitions, codebook, progress=progress, total=len(items), task=_code_partition,
                extra=(plan, str(folder) if parts == "workers" else None), receive=receive)
        return CodedPartitions(partitions=partitions, summaries=summaries)

    with run.locked(), review_file_lock(reviews_file, if_writable=True):
        recovered = run.recover()
        imported = import_typed_decisions(run, reviews_file, codes=[code.id for code in codebook])
        reviews = read_reviews(reviews_file, written=run.read_written_reviews) if reviews_file.is_file() else None
        extraction_cache = ExtractionCache(run.extraction_cache_path) if use_cache else None
        # Before anything reads the corpus: a file changed after this moment has a newer stamp.
        stamps = take_corpus_stamps(corpus) if use_cache else None
        return code_in_partitions(
            corpus, codebook_path, run, codebook=codebook, variables=variables, reviews=reviews,
            reviews_file=reviews_file, imported=imported, recovered=recovered, extraction_cache=extraction_cache,
            stamps=stamps, code_partitions=code_on_cluster, workers=workers, use_cache=use_cache,
            network_options=network_options, encoding=encoding, csv=csv, parts=parts, engine="dask")


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




def _passage_frame(rows: list[tuple]) -> pd.DataFrame:
    passages = pd.DataFrame.from_records(rows, columns=list(PASSAGE_COLUMNS))
    return passages.astype({"passage": "int64", "start": "int64", "end": "int64"})
