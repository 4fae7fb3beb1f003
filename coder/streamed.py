"""Stages 5-8 in partitions: corpus -> coded, reviewed part files -> every output, the segments never held at once.

The driver of a partitioned run, for both engines that use it: the local engine on a large corpus
(`coder run`; this machine's coding processes, pipeline's pool) and the Dask engine
(coder.distributed). The corpus is cut into partitions of whole documents; each partition is
coded, its review decisions and statuses are applied (partitioned.finish_partition), its segments
and passages are written as part files (part-NNNNN.parquet, in corpus order), and it is reduced
to a PartitionSummary. The driver sums the summaries into every summary file and reads back from
the parts only the rows it shows (the map's examples, the report's listed passages), the ids
`changes.csv` compares and, when the run is small enough for segments.csv, the table itself.

What runs where differs by engine. On Dask each worker finishes and writes its partition. Locally
the coding processes code (they never import pandas: each stays ~95 MB) and this process finishes
each partition as it arrives, a partition at a time, writes the recode cache's new entries, and at
the end joins the parts into one segments.parquet and one passages.parquet, the same rows in the
same row groups as a run that holds the whole table writes (the files a recode reads). A second
thread writes what Arrow writes without the GIL beside the main thread's pandas work: each
partition's part files and stored summary; at the end the parts are joined, then the network and
the report are built from them (read a partition ahead in a second thread).

>>> report = run_coding("big-corpus", "codebook.yaml", "outputs")  # doctest: +SKIP
>>> RunFolder("outputs").read_segments().shape  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import gc
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .cache import CacheStats, RecodeCache, document_key
from .cooccurrence import build_cooccurrence, pair_counts_from_sums
from .corpus import Corpus, CorpusFile, SkippedFile, no_documents_error, read_corpus
from .diff import compare_with_previous, write_changes_csv
from .errors import OutputError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import write_csv_parts
from .groups import DocumentVariables, group_counts_from
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
    PartitionPlan,
    PartitionSummary,
    ReviewPlan,
    SummaryStore,
    counts_long_parts,
    finish_partition,
    listed_passages,
    merge_code_counts,
    merge_cooccurrence,
    merge_counts_long,
    plan_listing,
)
from .pipeline import (
    CodingResult,
    _corpus_read,
    _entries_to_code,
    _fingerprints,
    _item_length,
    _new_cache,
    _passage_table,
    _segment_frame,
    code_batches,
    partition_documents,
    trim_heap,
)
from .reviews import (
    DETACHED_COLUMNS,
    PassageLocator,
    _folded,
    _follow_moved_passages,
    _locate_added,
    _manual_rows,
    _normalized,
    copy_ids,
    explain_detached,
    holding_nothing,
    place_on_copies,
    precision_from_counts,
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
from .segments import (
    _parquet_files,
    check_parquet_size,
    distinct_sorted,
    drop_rejected,
    join_parquet_parts,
    passages_to_arrow,
    read_parquet,
    read_passages_parquet,
    read_segments_parquet,
    segment_id_numbers,
    segment_id_numbers_or_zero,
    segments_to_frame,
    write_parquet,
    write_segments_parquet,
)
from .stamps import CORPUS_STAMPS_FILE, CorpusStamps, save_corpus_stamps

if TYPE_CHECKING:
    from .reviews import PendingImport
    from .runner import RunReport
    from .runs import Recovery

__all__ = ["CodedPartitions", "code_in_partitions", "code_partitions_locally"]

# Where the part files are written before the run is staged (inside the output folder, so that
# the parts are renamed or joined into the staged run, not copied across filesystems; removed
# whatever happens).
PARTS_FOLDER = ".parts"
_SUMMARIES_FOLDER = ".summaries"  # in PARTS_FOLDER: what each partition's summary keeps on disk until summed
PartsMode = Literal["workers", "driver"]
PARTS_MODES: tuple[str, ...] = ("workers", "driver")
# Example passages per code on the map (network.build_network's default, which `coder run` keeps).
_EXAMPLES = 3
# A local partition: about this many bytes of files, whatever the corpus's size, so that what a
# coding process and this process hold for one partition does not grow with the corpus (half a
# worker batch: this process finishing a 2 MB partition peaked ~35 MB higher, the workers ~10 MB).
LOCAL_PARTITION_BYTES = 1_000_000
# Partitions sent to each local coding process ahead of the one this process finishes.
_AHEAD_PER_WORKER = 2


@dataclass(frozen=True)
class CodedPartitions:
    """What an engine returns: the partitions (corpus entries, in corpus order) and their summaries."""

    partitions: list[list[Any]]
    summaries: list[PartitionSummary]
    reused: dict[str, int] = field(default_factory=dict)  # what the recode cache saved (local engine)
    # Called with the run's documents once they are known (the local engine prunes the recode cache to
    # them then: a key per document held through the coding was ~150 bytes a file).
    finish: Callable[[Sequence[Document]], None] | None = None


# An engine: code these corpus entries in partitions under this plan, write each partition's part
# files into this folder, hand each summary to `receive` as it is done.
CodePartitions = Callable[[list[Any], PartitionPlan, Path, Callable[[PartitionSummary], PartitionSummary]],
                          CodedPartitions]


def code_partitions_locally(
    codebook: Codebook, *, workers: int | None, cache_dir: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> CodePartitions:
    """The local engine: partitions of LOCAL_PARTITION_BYTES coded by `workers` processes (spawned;
    in this process for one worker or one partition), each finished here as it arrives; the new
    recode cache entries written into `cache_dir` (None: no cache)."""
    workers = workers or os.cpu_count() or 1

    def code(items: list[Any], plan: PartitionPlan, folder: Path,
             receive: Callable[[PartitionSummary], PartitionSummary]) -> CodedPartitions:
        partitions = partition_documents(items, LOCAL_PARTITION_BYTES, length=_item_length)
        # No cache file yet (a cold run): the coding processes compute the fingerprints as they start, so
        # this process stores them while the first partitions are coded, not before sending them (0.2 s).
        new_cache = _new_cache(cache_dir)
        cache = RecodeCache(cache_dir) if cache_dir is not None else None
        if cache is not None and not new_cache:
            _fingerprints(codebook, cache)  # stored before any worker looks for them
        stats = CacheStats()
        summaries: list[PartitionSummary] = []
        done = 0
        coded = code_batches(_SharedPartitions(partitions), codebook, workers=workers, cache=cache,
                             cache_dir=cache_dir, encoding=plan.encoding, ahead=_AHEAD_PER_WORKER,
                             new_cache=new_cache,
                             meanwhile=(lambda computed: _fingerprints(codebook, cache, computed=computed))
                             if new_cache else None)
        with PartitionWriter(folder, receive) as writer:
            for number, (partition, batch) in enumerate(zip(partitions, coded)):
                rows, counts, batch_stats, pending, passage_columns, read = batch
                del batch
                if cache is not None:
                    cache.write(pending)
                stats.add(batch_stats)
                documents = list(_corpus_read(Path(), partition, dict(read), plan.encoding).documents)
                frame, passages = _segment_frame(rows, codebook), _passage_table(passage_columns)
                del rows, passage_columns
                frame, summary = finish_partition(frame, passages, documents, codebook, plan, number)
                summary.passages, summary.read = counts, dict(read)
                writer.write(frame, passages, summary)
                del frame, passages
                summaries.append(summary)
                _release_memory()
                done += len(partition)
                if progress:
                    progress(done, len(items))
            writer.wait()

        def finish(documents: Sequence[Document]) -> None:
            if cache is not None:
                cache.prune({document_key(document, unit=codebook.unit) for document in documents},
                            fingerprints=_fingerprints(codebook).by_code.values())
                cache.close()  # folds SQLite's write-ahead log into the cache file

        return CodedPartitions(partitions=partitions, summaries=summaries,
                               reused=stats.as_dict() if cache_dir is not None else {}, finish=finish)

    return code


class PartitionWriter:
    """A finished partition's part files encoded and compressed, and its summary's row-sized parts
    stored (`receive`), in a second thread (Arrow's writers leave the GIL) while the caller goes on
    to the next partition; one partition's at a time, so what waits to be written is one partition's
    rows. Leaving the `with` block waits for the writing (nothing left writing into a folder the
    caller removes)."""

    def __init__(self, folder: Path, receive: Callable[[PartitionSummary], PartitionSummary]):
        self.folder, self.receive = folder, receive
        self._writer = ThreadPoolExecutor(max_workers=1)
        self._writing: Future | None = None

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, *exception: object) -> None:
        self._writer.shutdown(wait=True)

    def write(self, frame: pd.DataFrame, passages: pd.DataFrame, summary: PartitionSummary) -> None:
        """Write this partition once the previous one is written (its error, if any, is raised here)."""
        self.wait()
        self._writing = self._writer.submit(_write_received, [frame, passages], self.folder, summary, self.receive)

    def wait(self) -> None:
        """Wait for the partition being written; raises its error."""
        if self._writing is not None:
            self._writing.result()


class _SharedPartitions(Sequence):
    """Partitions of corpus entries, each given as the workers read it (`_shared`) when it is sent, not held."""

    def __init__(self, partitions: list[list[Any]]):
        self.partitions = partitions

    def __len__(self) -> int:
        return len(self.partitions)

    def __getitem__(self, number: int) -> list[Any]:  # type: ignore[override]
        return [_shared(item) for item in self.partitions[number]]


def _arrow_on_the_c_heap(function: Callable) -> Callable:
    """`function` run with Arrow allocating from the C library's heap (pyarrow's system pool), the
    pool before restored. pyarrow's mimalloc keeps much of what its threads (the Parquet readers)
    freed, so the driver kept each stage's peak; trim_heap gives the C heap back. 100 MB corpus,
    tree peak 535 -> 488 MB, the driver's end stages 522 -> 452 MB; CPU no worse."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        import pyarrow as pa

        previous = pa.default_memory_pool()
        pa.set_memory_pool(pa.system_memory_pool())
        try:
            return function(*args, **kwargs)
        finally:
            pa.set_memory_pool(previous)

    return run


@_arrow_on_the_c_heap
def code_in_partitions(
    corpus: str | Path,
    codebook_path: str | Path,
    run: RunFolder,
    *,
    codebook: Codebook,
    variables: DocumentVariables | None,
    reviews: pd.DataFrame | None,
    reviews_file: Path,
    imported: Sequence[PendingImport] = (),
    recovered: Recovery | None = None,
    extraction_cache: ExtractionCache | None,
    stamps: CorpusStamps | None,
    code_partitions: CodePartitions,
    workers: int | None = None,
    use_cache: bool = True,
    network_options: NetworkOptions = NetworkOptions(),
    encoding: str | None = None,
    csv: CsvMode = "auto",
    parts: PartsMode = "workers",
    engine: Literal["local", "dask"] = "local",
) -> RunReport:
    """The body of `coder run` for a partitioned run, in a locked run folder whose typed decisions are
    imported (`reviews`: the review file read after that): the same files as a run that holds the
    whole segment table, while this process holds counts, not segments.

    `code_partitions` is the engine (`code_partitions_locally`, or the Dask cluster's). The text
    files are read by whoever codes them, unless this process must hold the texts: parts come
    back to it (`parts="driver"`), or passages coded by hand must be found before coding. A local
    run (`engine="local"`) joins the parts into one segments.parquet and one passages.parquet and
    keeps what the next recode needs; a Dask run keeps them as folders of parts.
    `result.segments` of the report is empty; `tally` counts them.
    """
    from .recode import remember_coding
    from .reuse import remember_presentation
    from .runner import (
        RunReport,
        SegmentTally,
        _last_run_documents,
        _renamed_codes,
        remember_pair_counts,
        renamed_fingerprints,
        write_network_outputs,
    )

    started = time.perf_counter()
    forced = check_encoding(encoding) if encoding else None
    entries = None
    if parts == "workers" and not (reviews is not None and reviews["decision"].eq("add").any()):
        entries = _entries_to_code(corpus, encoding=forced, extraction_cache=extraction_cache)
        # The entries themselves (an engine gives each worker its own copy, `_shared`): a second list of
        # copies held through the run was ~1 KB a file, 10 MB at 100 MB of corpus.
        items: list = [entry for entry in entries if not isinstance(entry, SkippedFile)]
        # Until the text files are read: the extracted documents and the files skipped.
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
        reviews_now, carried = rename_codes(reviews, renamed, renamed_fingerprints(run, renamed))
        locator = PassageLocator(read.documents, unit=codebook.unit, earlier=_last_run_documents(run),
                                 earlier_passages=run.read_passages_if_any)
        review_plan = _review_plan(reviews_now, locator, codebook)
    plan = PartitionPlan(
        levels=tuple(range(1, max((code.depth for code in codebook), default=1))),
        network_level=network_options.level, examples=_EXAMPLES, previous_ids=_previous_ids(run, renamed),
        compared=run.has_record(), reviews=review_plan, encoding=forced)
    folder = run.folder.resolve() / PARTS_FOLDER  # never resolved itself: a link planted there is removed, not followed
    _remove_path(folder)
    try:
        store = SummaryStore(folder / _SUMMARIES_FOLDER)

        def receive(summary: PartitionSummary) -> PartitionSummary:
            # As each partition arrives: its part files written (parts="driver"), its row-sized parts stored.
            _write_files(summary, folder)
            store.put(summary)
            store.put_documents(summary)
            return summary

        coded = code_partitions(items, plan, folder, receive)
        summaries, partitions = coded.summaries, coded.partitions
        for summary in summaries:  # kept on disk while the coding processes ran
            summary.passages, summary.read = store.documents(summary.number)
        if entries is not None:  # the text files as the workers read them (StoredDocuments: no text kept)
            read = _corpus_read(Path(corpus), entries, {path: found for summary in summaries
                                                         for path, found in summary.read.items()}, forced)
        documents = list(read.documents)
        if not documents:
            raise no_documents_error(corpus, read)
        if coded.finish is not None:
            coded.finish(documents)
        by_path = {document.path: document for document in documents}
        partitions = [[by_path[item.path] for item in partition if item.path in by_path] for partition in partitions]
        if entries is not None and locator is not None:  # the text files too, read again where asked
            locator = PassageLocator(documents, unit=codebook.unit, earlier=locator.earlier,
                                     earlier_passages=run.read_passages_if_any)
        settled = _settle_reviews(summaries, partitions, folder, codebook, plan, reviews_now, locator,
                                  store) if review_plan is not None else None
        if settled is not None:
            summaries = settled.summaries
        result = CodingResult(corpus=read, codebook=codebook, segments=segments_to_frame([]),
                              passages={document.path: 0 for document in documents},
                              seconds=time.perf_counter() - started, reused=coded.reused)
        for summary in summaries:
            result.passages.update(summary.passages)
        applied_reviews, orphans, precision, followed, reviews_moved = None, None, None, 0, None
        if reviews is not None:
            applied_reviews = settled.reviews if settled is not None else reviews
            if not applied_reviews.equals(reviews):  # decisions now under their new code ids and documents
                reviews_moved = functools.partial(write_reviews, applied_reviews, reviews_file)
            orphans = _orphans(settled, codebook, documents)
            precision = _precision(summaries)
            followed = settled.followed if settled is not None else 0
        tally = SegmentTally(segments=sum(summary.segments for summary in summaries),
                             counted_by_code=_summed(store.part(summary, "counted_by_code") for summary in summaries),
                             added=sum(summary.added for summary in summaries))
        review_counts = None if reviews is None else {
            "path": str(reviews_file), "decisions": len(reviews),
            "orphaned": len(orphans) if orphans is not None else 0, "added": tally.added,
        }
        record = build_run_record(result, codebook_path=codebook_path, corpus_path=corpus, workers=workers,
                                  reviews=review_counts, review_file=reviews_file, encoding=forced)
        record = replace(record, counts=_record_counts(summaries, store, result, codebook))
        if variables is not None:
            variables = variables.matched(document.path for document in documents)
            record = replace(record, document_variables={"path": variables.path, "variables": variables.names})
        not_compared = comparison = None
        with run.staged(then=reviews_moved) as stage:  # the review file rewritten once the run is saved
            run.keep_previous(into=stage)
            # The part files are joined into the staged run before the network is summed from them (the
            # join leaves them as they are). Joining in a second thread beside the network saved little
            # wall and raised a 100 MB run's peak by about 40 MB (366 -> 397-415 MB): the two stages'
            # data alive together.
            written = _write_outputs(stage, folder, summaries, store, result, record, csv=csv,
                                     segments=tally.segments, joined=engine == "local")
            # A full collection once (what the coding left to the oldest generation), then after each later
            # stage only the objects made since: a stage's cycles are young. A full collection after each
            # freed nothing more in the 50 MB run and walked the 90,000-215,000 objects that live to the
            # end every time (30-70 ms each).
            _release_memory(collect="all")
            parts_at = RunFolder(folder) if engine == "local" else stage
            reduced = _reduced_network(parts_at, summaries, store, codebook, network_options, result.passage_count)
            _release_memory(collect="young")
            network = write_network_outputs(
                segments_to_frame([]), codebook, stage.folder, options=network_options,
                total_passages=result.passage_count, documents=variables.table if variables is not None else None,
                reduced=reduced, pair_counts=use_cache and engine == "local",
                passages_by_document=result.passages if variables is not None else None,
            )
            del reduced
            _release_memory(collect="young")
            written.update(_write_document_tables(stage, summaries, store, codebook, variables, result.passages))
            _release_memory(collect="young")
            try:
                comparison = compare_with_previous(stage)
            except OutputError as error:
                comparison, not_compared = None, str(error)
            if comparison is not None:
                written["changes"] = write_changes_csv(comparison, stage.changes_path)
    finally:
        _remove_path(folder)
    if use_cache:
        run.remember_written_files()
    if engine == "local":
        if use_cache:
            remember_coding(run, codebook)
    save_corpus_stamps(run.cache_path / CORPUS_STAMPS_FILE, stamps, read, encoding=encoding)
    if engine == "local":
        graph = network.pop("graph", None)
        remember_presentation(run, graph=graph if use_cache else None, options=network_options, csv=csv)
        remember_pair_counts(run, network.pop("pair_counts", None))
    run.prune_texts(documents)
    if extraction_cache is not None:
        extraction_cache.prune()
    written = {key: run.folder / path.name for key, path in written.items()}
    network = {key: run.folder / value.name if isinstance(value, Path) else value for key, value in network.items()}
    return RunReport(result=result, out_dir=run.folder, written=written, network=network, comparison=comparison,
                     reviews_path=reviews_file if reviews is not None else None, orphans=orphans, precision=precision,
                     imported=tuple(imported), carried=carried, followed=followed, recovered=recovered,
                     document_variables=variables, not_compared=run.named_once_in_place(not_compared), tally=tally,
                     leftover=run.leftover)


def _release_memory(*, collect: Literal["none", "young", "all"] = "none") -> None:
    """Give the heap a finished partition used back to the system: Arrow's pool and the C library's
    (what either keeps grows the process a partition's worth at a time, and stays). `collect`: free
    what only a reference cycle keeps first (a stage's frames and their pieces): "young", of the
    objects made since the last collection (the collector's two younger generations), or "all"."""
    import pyarrow as pa

    if collect != "none":
        gc.collect(1 if collect == "young" else 2)
    pa.default_memory_pool().release_unused()
    trim_heap()


def _shared(entry: Document | CorpusFile) -> Document | CorpusFile:
    """A corpus entry as a worker reads it: a file by its absolute path (a worker's folder may be another)."""
    if isinstance(entry, CorpusFile) and not entry.file.is_absolute():
        return replace(entry, file=entry.file.absolute())
    return entry  # a corpus given by its absolute path: its entries as they are (a copy of each: 18 ms at 8,376 files)


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


def _write_received(tables: list[pd.DataFrame], folder: Path, summary: PartitionSummary,
                   receive: Callable[[PartitionSummary], PartitionSummary]) -> None:
    """A finished partition's part files written (`tables`: its segments and passages, emptied here so
    that they go once written), then its summary handed to `receive` (which stores it)."""
    frame, passages = tables
    tables.clear()
    _write_part(frame, passages, folder, summary.number)
    del frame, passages
    receive(summary)
    _release_memory()  # what writing the part files and storing the summary freed, while the next is coded


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
        return distinct_sorted(np.concatenate([segment_id_numbers_or_zero(index["segment_id"]), _renamed_ids(index, renamed)]))
    import pyarrow as pa
    import pyarrow.parquet as pq

    numbers = []
    # The ids read as numbers from Arrow's buffers; codes and fingerprints only when a code was renamed
    # (every batch made a frame of the three columns as text: 0.25-0.29 s at 437,000 segments).
    columns = ["segment_id", "code", "fingerprint"] if renamed else ["segment_id"]
    try:
        for file in _parquet_files(run.segments_parquet_path):
            check_parquet_size(file, columns=columns)
            for batch in pq.ParquetFile(file).iter_batches(columns=columns):
                found = None if renamed else segment_id_numbers(batch.column(0))
                if found is None:
                    index = batch.to_pandas()
                    found = segment_id_numbers_or_zero(index["segment_id"])
                    numbers.append(_renamed_ids(index, renamed))
                numbers.append(found)
    except (pa.ArrowException, OSError, ValueError):
        return empty  # damaged: as runner._statuses, every segment is new
    return distinct_sorted(np.concatenate(numbers)) if numbers else empty


def _renamed_ids(index: pd.DataFrame, renamed: dict[str, str]) -> np.ndarray:
    if not renamed:
        return np.zeros(0, dtype=np.uint64)
    moved = index[index["code"].isin(list(renamed))]
    return segment_id_numbers_or_zero([segment_id_from_fingerprint(fingerprint, renamed[code])
                               for fingerprint, code in zip(moved["fingerprint"], moved["code"])])


# --- review decisions across partitions ----------------------------------------------------------


def _review_plan(reviews: pd.DataFrame, locator: PassageLocator, codebook: Codebook) -> ReviewPlan:
    """What the partitions must report for the driver to apply the review file as attach_reviews does."""
    copies = copy_ids(reviews)  # whether a decided passage repeats, and is coded, in its document
    asked = set(reviews["segment_id"].astype(str)) | (set(copies["first"]) | set(copies["second"])) - {""}
    for _, entry in reviews[reviews["decision"].eq("add")].iterrows():
        if entry["code"] in codebook:
            found = _locate_added(entry, locator)
            if found is not None:  # the segment a hand-coded passage becomes, unless the tool codes it too
                asked.add(segment_id(found[0], found[4], entry["code"]))
    movable = reviews[reviews["text"].astype(bool) & reviews["decision"].ne("add")]
    return ReviewPlan(
        reviews=reviews, asked=frozenset(asked),
        follow=frozenset((str(code), _normalized(text)) for code, text in zip(movable["code"], movable["text"])),
        edited=frozenset((str(document), str(code), _folded(text))
                         for document, code, text in zip(movable["document"], movable["code"], movable["text"])),
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
    plan: PartitionPlan, reviews: pd.DataFrame, locator: PassageLocator, store: SummaryStore,
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
    place_on_copies(reviews, locator, present)
    followed = _follow_moved_passages(reviews, candidates, present, locator)
    manual = _manual_rows(reviews, present, locator, codebook)
    manual = manual.assign(fingerprint=[passage_fingerprint(document, text)
                                        for document, text in zip(manual["document"], manual["text"])])
    moved = reviews["segment_id"].ne(before["segment_id"]) & reviews["decision"].ne("add")
    touched = set(reviews.loc[moved, "document"]) | set(manual["document"])
    part_of = {document.path: number for number, partition in enumerate(partitions) for document in partition}
    summaries = list(summaries)
    for number in sorted({part_of[document] for document in touched if document in part_of}):
        frame, passages = _read_part(folder, number)
        # Decided again from the review file: a decision that moved to another copy leaves its old row blank.
        frame = frame.drop(columns=["status", "span_text"], errors="ignore").assign(review="", note="")
        mine = manual[manual["document"].isin([document.path for document in partitions[number]])]
        frame, summary = finish_partition(frame, passages, partitions[number], codebook, plan, number,
                                          reviews=reviews, manual=mine.reset_index(drop=True))
        summary.passages, summary.present = summaries[number].passages, summaries[number].present
        summary.candidates, summary.coded_texts = summaries[number].candidates, summaries[number].coded_texts
        _write_part(frame, passages, folder, number)
        store.put(summary)
        summaries[number] = summary
    coded_texts = frozenset().union(*(summary.coded_texts for summary in summaries))
    coded_texts |= {(str(document), _normalized(text)) for document, text in zip(manual["document"], manual["text"])}
    detached = reviews[~reviews["segment_id"].isin(present) & ~holding_nothing(reviews)].reset_index(drop=True)
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


def _record_counts(summaries: list[PartitionSummary], store: SummaryStore, result: CodingResult,
                   codebook: Codebook) -> dict:
    """run.json's counts, summed (build_run_record counts them from the whole table)."""
    by_code = _summed(store.part(summary, "by_code") for summary in summaries)
    return {
        "documents": len(result.corpus.documents),
        "skipped": len(result.corpus.skipped),
        "passages": result.passage_count,
        "segments": sum(summary.segments for summary in summaries),
        "coded_passages": sum(summary.coded_passages for summary in summaries),
        "segments_by_code": {code.id: int(by_code.get(code.id, 0)) for code in codebook},
    }


# --- the outputs ---------------------------------------------------------------------------------


def _write_outputs(stage: RunFolder, folder: Path, summaries: list[PartitionSummary], store: SummaryStore,
                   result: CodingResult, record, *, csv: CsvMode, segments: int, joined: bool) -> dict[str, Path]:
    """RunFolder.write_outputs for a partitioned run: the parts joined into one file each (`joined`)
    or moved in as folders, code_counts.csv summed, the CSVs (small runs only) read back from the
    parts, run.json."""
    written: dict[str, Path] = {}
    stage.folder.mkdir(parents=True, exist_ok=True)
    numbers = [summary.number for summary in summaries]
    paged = any(document.pages for document in result.corpus.documents)
    if joined:
        for table in (SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE):
            join_parquet_parts([folder / table / _part_name(number) for number in numbers], stage.folder / table,
                               blank_pages=paged and table == SEGMENTS_PARQUET_FILE)
        parts = RunFolder(folder)
    else:
        if paged:
            _fill_blank_pages(folder / SEGMENTS_PARQUET_FILE, numbers)
        for table in (SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE):
            os.replace(folder / table, stage.folder / table)
        parts = stage
    csv_too = wants_csv(csv, segments)
    if csv_too:
        written["segments"] = write_csv_parts((
            _csv_segments(read_segments_parquet(parts.segments_parquet_path / _part_name(number),
                                                passages=parts.passages_parquet_path / _part_name(number)), paged)
            for number in numbers), stage.segments_path)
    written.update(code_counts=stage.code_counts_path, run=stage.run_path)
    if csv_too:
        written["passages"] = write_csv_parts(
            (read_passages_parquet(parts.passages_parquet_path / _part_name(number)) for number in numbers),
            stage.passages_path)
    written.update(segments_parquet=stage.segments_parquet_path, passages_parquet=stage.passages_parquet_path)
    write_csv_parts(merge_code_counts(summaries, result.codebook, [document.path for document in result.corpus.documents],
                                      store), written["code_counts"])
    if stage.write_texts(result.corpus.documents):
        written["texts"] = stage.texts_path
    stage.write_record(record)
    return written


def _fill_blank_pages(segments_folder: Path, numbers: list[int]) -> None:
    """A part whose documents have no pages holds a null `page`; in a run with paged documents the
    joined table holds "" there (join_parquet_parts' `blank_pages`), so the part files that stay a
    folder (the Dask engine's) are written again with "" too: one kind of empty, as the local engine's."""
    import pyarrow.parquet as pq

    for number in numbers:
        part = segments_folder / _part_name(number)
        if pq.read_table(part, columns=["page"]).column(0).null_count:
            filled = part.with_name(part.name + ".filled")
            join_parquet_parts([part], filled, blank_pages=True)
            os.replace(filled, part)


def _csv_segments(frame: pd.DataFrame, paged: bool) -> pd.DataFrame:
    """One part's rows in segments.csv's columns (as write_segments_csv orders them); `page` when any
    document of the run has pages, though this part's have none."""
    if paged and "page" not in frame.columns:
        frame.insert(frame.columns.get_loc("end") + 1, "page", "")
    tail = ("status", "review", "note", "source")
    return frame[[column for column in frame.columns if column not in tail] + [column for column in tail
                                                                             if column in frame.columns]]


def _write_document_tables(stage: RunFolder, summaries: list[PartitionSummary], store: SummaryStore,
                           codebook: Codebook, variables: DocumentVariables | None,
                           passages: dict[str, int]) -> dict[str, Path]:
    """code_counts_long.csv and code_counts_by_group.csv from the partitions' per-document counts
    (without document variables, code_counts_long.csv is written a partition at a time)."""
    numbers = [summary.number for summary in summaries]
    if variables is None:
        return stage.write_document_tables(counts_long_parts(store, numbers), None)
    counts_long = merge_counts_long(store, numbers)
    per_code_document = counts_long.groupby(["code", "document"])["passages"].sum() if len(counts_long) \
        else pd.Series(dtype="int64")
    by_group = group_counts_from(per_code_document, variables, passages_by_document=passages,
                                 codes=[code.id for code in codebook])
    if variables.names:
        counts_long = counts_long.merge(variables.table, on="document", how="left")
    return stage.write_document_tables(counts_long, by_group)


def _reduced_network(stage: RunFolder, summaries: list[PartitionSummary], store: SummaryStore, codebook: Codebook,
                     options: NetworkOptions, total_passages: int):
    """The co-occurrence of every level and the report's passage data, summed; the rows the map and
    the report show read back from the part files."""
    from .network import _kept_pairs
    from .report import ALL_CODES, _codes
    from .runner import ReducedNetwork

    numbers = [summary.number for summary in summaries]
    merged = {level: merge_cooccurrence(store.sums(level, numbers), level, total_passages=total_passages,
                                        codebook=codebook)
              for level in dict.fromkeys((None, *store.levels))}
    # What the next run recounts only changed codes' pairs from (Cooccurrence.counts).
    base = replace(merged[None], counts=pair_counts_from_sums(merged[None], store.code_hashes(numbers)))
    if options.level is None:
        merged[None] = base
    index = {code["id"]: position for position, code in enumerate(_codes(base.codes, codebook))}
    _release_memory(collect="young")
    listing = plan_listing(summaries, store, index, seed=options.seed)
    _release_memory(collect="young")
    shown = merged[options.level]
    pairs = _kept_pairs(shown.pairs, measure=options.measure, min_count=options.min_count, top_edges=options.top_edges)
    examples = pd.concat([store.part(summary, "examples") for summary in summaries], ignore_index=True) \
        if summaries else None
    wanted: set[tuple[str, int]] = set(zip(pairs["example_document"].astype(str), pairs["example_passage"].tolist()))
    if examples is not None and len(examples):
        first = examples.groupby("code", sort=False).head(_EXAMPLES)
        wanted |= set(zip(first["document"].astype(str), first["passage"].tolist()))
    rows, listed = _read_rows(stage, summaries, wanted, listing.listed)
    _release_memory(collect="young")
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
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    by_document: dict[str, list[int]] = {}
    for document, rank in ranks:
        by_document.setdefault(document, []).append(rank)
    documents = {document for document, _ in wanted} | set(by_document)
    resolved: dict[tuple[str, int], tuple[str, int]] = {}
    kept = []

    def read(number: int, mine: set[str]) -> tuple[pd.DataFrame, Any]:
        name = _part_name(number)
        frame = read_parquet(stage.segments_parquet_path / name, columns=list(_ROW_COLUMNS), documents=mine)
        table = pq.read_table(stage.passages_parquet_path / name, columns=["document", "passage", "text"])
        return frame, table.filter(pc.is_in(table["document"], value_set=pa.array(
            sorted(mine), type=table.schema.field("document").type)))

    chosen = [(summary.number, mine) for summary in summaries if (mine := documents.intersection(summary.documents))]
    # The next partition's parts are read in a second thread (Parquet leaves the GIL) while this one picks
    # the rows of the last: one partition read ahead.
    with ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(read, *chosen[0]) if chosen else None
        for position in range(len(chosen)):
            frame, table = ahead.result()
            ahead = reader.submit(read, *chosen[position + 1]) if position + 1 < len(chosen) else None
            _keep_rows(frame, table, wanted, by_document, resolved, kept)
            del frame, table
            _release_memory()
    rows = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(
        {column: [] for column in (*_ROW_COLUMNS[:-1], "text")})
    return rows, [resolved[key] for key in ranks]


def _keep_rows(frame: pd.DataFrame, table: Any, wanted: set[tuple[str, int]], by_document: dict[str, list[int]],
               resolved: dict[tuple[str, int], tuple[str, int]], kept: list[pd.DataFrame]) -> None:
    """_read_rows for one partition: its rows of the wanted and listed passages (`frame`, its segments of
    the documents asked), with their passage's text (`table`: its passages of those documents), added to
    `kept`; the listed passages' ranks resolved into `resolved`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keep = set(wanted)
    # Each listed document's counted passages (a dict of sets, not a pandas group per document).
    counted = drop_rejected(frame)
    coded: dict[str, set[int]] = {}
    for document, passage in zip(counted["document"].tolist(), counted["passage"].tolist()):
        if document in by_document:
            coded.setdefault(document, set()).add(passage)
    for document, passages in coded.items():
        numbers = sorted(passages)
        for rank in by_document[document]:
            resolved[(document, rank)] = (document, numbers[rank])
            keep.add((document, numbers[rank]))
    frame = frame[np.asarray([(document, passage) in keep for document, passage in
                              zip(frame["document"].tolist(), frame["passage"].tolist())], dtype=bool)]
    # Each row's passage text taken in Arrow (a string per row, never a Python object).
    at = {key: position for position, key in enumerate(zip(table["document"].to_pylist(), table["passage"].to_pylist()))}
    found = np.array([at.get(key, -1) for key in zip(frame["document"].tolist(), frame["passage"].tolist())],
                     dtype=np.int64)
    blank = pa.scalar("", type=table.schema.field("text").type)
    text = pc.fill_null(table["text"].take(pa.array(np.maximum(found, 0))), blank) if len(table) \
        else pa.array([""] * len(frame), type=blank.type)
    text = pc.if_else(pa.array(found >= 0), text, blank)
    own = frame["span_text"].notna().to_numpy()
    if own.any():  # a hand-coded part of a passage keeps its own text
        text = pc.if_else(pa.array(own), pa.array(frame["span_text"].fillna("").astype(object).to_numpy(),
                                                  type=blank.type), text)
    text = text.to_pandas()
    text.index = frame.index
    kept.append(frame.drop(columns="span_text").assign(text=text))


# What the map's examples and the report's listing read of a segment row (the text joins from its passage).
_ROW_COLUMNS = ("document", "passage", "code", "code_path", "label", "matched", "review", "span_text")
