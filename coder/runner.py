"""`coder run` as one library call: code, apply reviews, write every output, compare with the last run.

`write_network_outputs` is the network half of it, which `coder network` calls alone.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .cache import remember_coding
from .codebook import load_codebook, refuse_deeper_level
from .cooccurrence import (
    MATRIX_LEFT_OUT,
    Cooccurrence,
    PairCounts,
    build_cooccurrence,
    build_cooccurrence_matrix,
    matrix_codes,
    read_pair_counts,
    write_pair_counts,
)
from .corpus import DOCUMENTS_FILE, document_variables_name, no_documents_error
from .diff import RunComparison, compare_with_previous, write_changes_csv
from .errors import CoderError, OutputError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import atomic_path, display_name, lies_in, read_table, same_place, write_csv
from .groups import (
    DocumentVariables,
    build_counts_long,
    build_group_counts,
    read_document_variables,
)
from .imports import LazyModule
from .models import ENGINES, Codebook, CodingResult, Engine, NetworkOptions, UnchangedCodes
from .network import build_network, write_codes_csv, write_cooccurrence_csv
from .render import render_redirect, render_report, write_gexf, write_graphml
from .reuse import present_again, remember_presentation, reuse_coding
from .reviews import (
    AppliedReviews,
    PassageLocator,
    PendingImport,
    ReviewConflictError,
    attach_reviews,
    default_reviews_path,
    explain_detached,
    foreign_columns,
    import_pending,
    precision_by_code,
    read_reviews,
    refuse_renamed_review_columns,
    refuse_reviews_in_corpus,
    rename_codes,
    review_file_lock,
    write_reviews,
)
from .runs import (
    NETWORK_FILES,
    CsvMode,
    Recovery,
    RunFolder,
    RunRecord,
    build_run_record,
    wants_csv,
)
from .segments import OUTPUT_COLUMNS, STATUSES, add_page_column, drop_rejected, segment_ids_among
from .stamps import (
    CORPUS_STAMPS_FILE,
    CorpusStamps,
    changed_corpus,
    save_corpus_stamps,
    take_corpus_stamps,
)

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

__all__ = [
    "NETWORK_FILES", "ReducedNetwork", "RunReport", "SegmentTally", "find_document_variables", "run_coding", "write_count_tables",
    "write_document_tables", "write_network_outputs",
]


# A cold run over more bytes of text files than this codes in partitions (coder.streamed), whose
# peak stays near 525 MB up to 20 MB; below it, the whole segment table in memory peaks lower and
# runs a little faster (the benchmark corpus, 2 workers: 431, 470, 502 MB at 5, 10, 20 MB).
STREAMED_MIN_BYTES = 20_000_000
# After a codebook edit, a corpus of at most this many bytes of text files is recoded with the last run's
# tables in memory (recode.recode_changed_codes: 2.5-2.7 s at 50 MB, against 13-15 s cold, but a peak
# that grows with the corpus: 690 MB at 50 MB, 1,060-1,130 MB at 100 MB); a larger one partition by
# partition (recode_documents.code_partitions_from_last_run), whose peak stays flat as a cold run's.
RECODE_IN_MEMORY_MAX_BYTES = 64_000_000


@dataclass(frozen=True)
class ReducedNetwork:
    """The network and report inputs of a partitioned run (the Dask engine), summed across partitions:
    the co-occurrence at the map's level (its `segments` hold only the rows the map shows as
    examples), at no level (`base`), at each roll-up level, and the report's passage data."""

    cooccurrence: Cooccurrence
    base: Cooccurrence
    rolled: dict[int, Cooccurrence]
    listing: tuple[list[str], list[list[Any]], list[str], list[list[Any]], dict[str, int] | None]


@dataclass(frozen=True)
class SegmentTally:
    """What the terminal summary counts, for a run whose segments stay in its folder (a partitioned
    run: the Dask engine, or the local engine on a corpus over STREAMED_MIN_BYTES; an edit of labels,
    colours or descriptions that rewrote only the files showing them)."""

    segments: int  # every segment, rejected and hand-coded ones included
    counted_by_code: dict[str, int]  # segments that count (not rejected), per code
    added: int  # passages coded by hand


@dataclass(frozen=True)
class RunReport:
    """What a run did, for the terminal summary and for callers."""

    result: CodingResult
    out_dir: Path
    written: dict[str, Path]
    network: dict[str, Any] = field(default_factory=dict)
    comparison: RunComparison | None = None
    reviews_path: Path | None = None
    orphans: pd.DataFrame | None = None  # detached review entries, DETACHED_COLUMNS
    precision: pd.DataFrame | None = None
    imported: tuple[PendingImport | KeptCopy, ...] = ()  # decisions typed into the old outputs, imported first
    carried: int = 0  # decisions that followed a renamed code
    followed: int = 0  # decisions that followed their passage into a renamed document
    recovered: Recovery | None = None  # what this run did first about a run stopped in the same folder
    document_variables: DocumentVariables | None = None  # documents.csv, matched against the corpus
    coding_reused: bool = False  # the last run's coding taken over (only labels, colours, descriptions changed)
    # why the segments could not be compared with the previous run's (its segment data is damaged)
    not_compared: str | None = None
    # The segments are in the run folder only (result.segments is empty, or None after a label edit); their counts.
    tally: SegmentTally | None = None
    # Why decisions the last run applied were not applied this time (its review file is not this run's).
    reviews_missed: str | None = None
    # Why the run folder's .staging/ could not be deleted (the run is saved all the same).
    leftover: str | None = None

    @property
    def counted_segments(self) -> pd.DataFrame | None:  # see `tally` when the segments stay in the folder
        """Segments that count: everything the reviewer has not rejected (None with `result.segments`)."""
        frame = self.result.segments
        return None if frame is None else drop_rejected(frame)


def run_coding(
    corpus: str | Path,
    codebook_path: str | Path,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    reviews_path: str | Path | None = None,
    use_cache: bool = True,
    network_options: NetworkOptions = NetworkOptions(),
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    documents_path: str | Path | None = None,
    csv: CsvMode = "auto",
    engine: Engine = "local",
    scheduler: Any = None,
) -> RunReport:
    """Code `corpus` with the codebook and write all outputs into `out_dir`, as one unit.

    The folder is locked for the whole run (a second run into it stops with an OutputError).
    The outputs are written into a staging folder and swapped in at the end (`RunFolder.staged`):
    when anything fails, `out_dir` keeps the previous run whole and RunNotSaved says so. What a
    stopped run left is finished or removed first (`RunReport.recovered`).
    PDF, Word, OpenDocument, RTF and HTML files are extracted (once per file version, cached in
    `out_dir`/.extracted) and their text is written to `out_dir`/texts/. `encoding` forces the
    encoding of text files. `documents_path` (default: documents.csv in the corpus folder, when
    there) gives each document's variables: code_counts_by_group.csv and the variables as columns
    of code_counts_long.csv. `csv` says when segments.csv and passages.csv are written beside
    segments.parquet and passages.parquet (auto: up to CSV_AUTO_MAX_SEGMENTS segments).
    `engine="dask"` codes on the Dask cluster at `scheduler` (an address or a
    `distributed.Client`; None: a LocalCluster of `workers` processes), without the recode cache;
    its segments.parquet and passages.parquet are folders with one part per partition.
    A cold run of the local engine over more than STREAMED_MIN_BYTES of text files codes in
    partitions too (coder.streamed), so that its memory does not grow with the corpus: the same
    files, but `result.segments` of the report is empty (`tally` counts the segments; read them
    with `RunFolder(out_dir).read_segments()`).

    Raises:
        CorpusError: no document could be read (the message lists what was skipped and why); the
            folder is left as it was.
        CoderError: called at a script's top level without `if __name__ == "__main__":`, in a
            worker process that spawn started (it runs the script again).

    >>> report = run_coding("seeds", "codebook.yaml", "outputs")  # doctest: +SKIP
    >>> sorted(report.written)  # doctest: +SKIP
    ['changes', 'code_counts', 'run', 'segments']
    """
    from .processes import refuse_script_rerun_in_worker

    refuse_script_rerun_in_worker("run_coding()")  # before the folder lock a worker would find taken
    out_dir = Path(out_dir)
    wants_csv(csv, 0)  # a bad mode stops the run before coding
    if engine not in ENGINES:
        raise CoderError(f"engine {engine!r}: choose one of {', '.join(ENGINES)}.")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file, not a folder. Pass another --out folder.")
    if Path(corpus).is_dir() and lies_in(out_dir, corpus):
        where = "the corpus folder" if same_place(out_dir, corpus) else f"inside the corpus folder {display_name(corpus)}"
        raise OutputError(f"{display_name(out_dir)}: is {where}, so the next run would code its report and texts "
                          f"as documents. Pass an --out folder outside the corpus.")
    codebook = load_codebook(codebook_path)
    refuse_deeper_level(codebook, network_options.level)
    variables = find_document_variables(corpus, documents_path)  # a bad sheet stops the run before coding
    run = RunFolder(out_dir)
    run.refuse_corpus_inside(corpus)  # `coder run texts --out .` deleted the documents
    run.refuse_others_files()  # `--out .` in a project folder must not replace the researcher's own files
    reviews_file = Path(reviews_path) if reviews_path else default_reviews_path(codebook_path)
    if reviews_file.is_dir() or (reviews_file.exists() and not reviews_file.is_file()):
        # Read only when something was typed: a folder was otherwise passed over, its decisions never applied.
        raise OutputError(f"{display_name(reviews_file)}: is not a file (a folder, a device or a pipe). Pass the review "
                          f"file (reviews.csv) with --reviews.")
    refuse_reviews_in_corpus(reviews_file, corpus)
    if engine == "dask":
        # Workers code, review and write each partition; the driver sums their counts (coder.distributed).
        from .distributed import run_coding_distributed

        return run_coding_distributed(
            corpus, codebook_path, run, codebook=codebook, variables=variables, reviews_file=reviews_file,
            workers=workers, scheduler=scheduler, use_cache=use_cache, network_options=network_options,
            progress=progress, encoding=encoding, csv=csv)
    with run.locked(), review_file_lock(reviews_file, if_writable=True):
        recovered = run.recover()
        # Nothing typed is lost: what a reviewer typed into the outputs this run replaces goes into the
        # review file first (or the run stops before changing anything, naming the conflicting rows).
        # The last run's decisions came from another review file (the codebook moved): what was typed
        # must not start a new one here, where none of them are.
        elsewhere = _reviews_elsewhere(run, reviews_file) if not reviews_file.is_file() and reviews_path is None else None
        missed = _reviews_missed(run, reviews_file, *elsewhere) if elsewhere else None
        imported = import_typed_decisions(run, reviews_file, codes=[code.id for code in codebook],
                                          refuse_new=_new_review_file_refused(reviews_file, *elsewhere) if elsewhere else None)
        reviews = read_reviews(reviews_file, written=run.read_written_reviews) if reviews_file.is_file() else None
        extraction_cache = ExtractionCache(run.extraction_cache_path) if use_cache else None
        reused = None
        # Before anything reads the corpus: a file changed after this moment has a newer stamp.
        stamps = take_corpus_stamps(corpus) if use_cache else None
        # Only labels, colours or descriptions changed: rewrite the files that show them, keep the rest.
        presented = present_again(
            run, corpus, codebook, codebook_path=codebook_path, encoding=encoding, options=network_options, csv=csv,
            workers=workers, stamps=stamps, extraction_cache=extraction_cache,
        ) if use_cache and reviews is None and not imported and variables is None else None
        if presented is not None:
            remember_coding(run, codebook)  # its segments.parquet holds the same coding under new labels
            tally = SegmentTally(segments=sum(presented.segments_by_code.values()),
                                 counted_by_code=presented.segments_by_code, added=0)
            return RunReport(result=presented.result, out_dir=out_dir, written=presented.written,
                             network=presented.network, comparison=presented.comparison, imported=tuple(imported),
                             recovered=recovered, coding_reused=True, tally=tally, reviews_missed=missed,
                             leftover=run.leftover)
        # The matcher's modules here, the network's beside the coding (networkx takes 0.3-0.4 s): both are
        # needed from here on (a label or colour edit imports neither). networkx only once pandas is in:
        # two imports at once take turns at the GIL, and the recode waited for pandas (50 MB keyword
        # recode, 2.69 -> 2.56 s, 8 runs each).
        from .pipeline import code_corpus
        from .recode import recode_changed_codes
        from .recode_documents import code_partitions_from_last_run, recode_changed_documents

        _import_beside("networkx")

        # The corpus told against the last run's documents (only the files whose stamps changed read
        # again), once, for whichever path below asks first.
        corpus_changes = functools.cache(functools.partial(
            changed_corpus, run, corpus, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache,
        )) if stamps is not None else None
        # A label, colour or description edit: the last run's segments, relabelled, without matching.
        reused = reuse_coding(run, corpus, codebook, encoding=encoding, extraction_cache=extraction_cache,
                              stamps=stamps, corpus_changes=corpus_changes) if use_cache else None
        # Some codes' keywords or rules edited: only those codes matched again, only where they can match
        # (past RECODE_IN_MEMORY_MAX_BYTES, in partitions below).
        recoded = recode_changed_codes(run, corpus, codebook, encoding=encoding, extraction_cache=extraction_cache,
                                       stamps=stamps) if use_cache and reused is None and not _text_bytes(
            corpus, stamps, past=RECODE_IN_MEMORY_MAX_BYTES) > RECODE_IN_MEMORY_MAX_BYTES else None
        large = reused is None and recoded is None and _text_bytes(corpus, stamps, past=STREAMED_MIN_BYTES) > STREAMED_MIN_BYTES
        # Some documents added, changed or removed, the codebook matching as before: only those documents
        # coded, the others' rows taken from the last run's tables. It holds the whole segment table, as a
        # cold run below STREAMED_MIN_BYTES does; a large corpus is done in partitions instead (below).
        redone = recode_changed_documents(
            run, corpus, codebook, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache, workers=workers,
            corpus_changes=corpus_changes,
        ) if use_cache and reused is None and recoded is None and not large else None
        if large:
            # A large corpus coded in partitions, each finished and written as it arrives (coder.streamed).
            from .streamed import code_in_partitions, code_partitions_locally

            cache_dir = run.cache_path if use_cache else None
            # Documents added, changed or removed, or some codes' matching edited (or both): only the new
            # documents coded and the edited codes matched again, the rest read from the last run's tables a
            # partition at a time.
            engine_here = code_partitions_from_last_run(
                run, corpus, codebook, stamps=stamps, encoding=encoding, extraction_cache=extraction_cache,
                progress=progress, corpus_changes=corpus_changes) if use_cache and reused is None and recoded is None else None
            return replace(code_in_partitions(
                corpus, codebook_path, run, codebook=codebook, variables=variables, reviews=reviews,
                reviews_file=reviews_file, imported=imported, recovered=recovered, extraction_cache=extraction_cache,
                stamps=stamps, workers=workers, use_cache=use_cache, network_options=network_options,
                encoding=encoding, csv=csv, engine="local",
                code_partitions=engine_here or code_partitions_locally(codebook, workers=workers, cache_dir=cache_dir,
                                                                       progress=progress),
            ), reviews_missed=missed)
        result = reused or recoded or redone or code_corpus(
            corpus, codebook, workers=workers, cache_dir=run.cache_path if use_cache else None, progress=progress,
            encoding=encoding, extraction_cache=extraction_cache,
        )
        if not result.corpus.documents:
            raise no_documents_error(corpus, result.corpus)
        passages_kept = recoded is not None and result is recoded  # its passage table is passages.parquet's
        # The recode's rows of the codes it did not match again are the last run's: the statuses and the
        # comparison look only at the others' (not when hand-coded rows come in among them, below).
        unchanged = result.unchanged if passages_kept else None
        renamed = _renamed_codes(run, codebook)
        orphans = precision = reviews_moved = None
        carried = followed = 0
        if reviews is not None:
            reviews_now, carried = rename_codes(reviews, renamed, renamed_fingerprints(run, renamed))
            applied = attach_reviews(
                result.segments, reviews_now, codebook=codebook,
                locator=PassageLocator(result.corpus.documents, unit=codebook.unit, earlier=_last_run_documents(run),
                                       earlier_passages=run.read_passages_if_any),
            )
            followed = applied.followed
            if not applied.reviews.equals(reviews):  # decisions now under their new code ids and documents
                reviews_moved = functools.partial(write_reviews, applied.reviews, reviews_file)
            if applied.segments["source"].eq("manual").any():
                unchanged = None
            result = _with_manual_rows(result, applied)
            orphans = explain_detached(applied.detached, result.segments, codes=[code.id for code in codebook],
                                       documents=[document.path for document in result.corpus.documents])
            precision = precision_by_code(result.segments)
        # Pages again after the manual rows (coded by hand, after the pipeline's own page column).
        segments = add_page_column(result.segments.drop(columns="page", errors="ignore"), result.corpus.documents)
        if "source" not in segments.columns:
            segments["source"] = "auto"
        # The last run's segment index, read once: for the statuses, then for changes.csv (its copy in .previous/).
        # A recode read it already, with the rows it kept.
        previous_index = unchanged.previous_index if unchanged is not None else _previous_index(run)
        segments["status"] = _statuses(segments, run, renamed, index=previous_index, unchanged=unchanged)
        result = replace(result, segments=segments, unchanged=None)  # spent: the report keeps no last run's index
        review_counts = None if reviews is None else {
            "path": str(reviews_file), "decisions": len(reviews), "orphaned": len(orphans) if orphans is not None else 0,
            "added": int(segments["source"].eq("manual").sum()),
        }
        record = build_run_record(result, codebook_path=codebook_path, corpus_path=corpus, workers=workers,
                                  reviews=review_counts, review_file=reviews_file,
                                  encoding=check_encoding(encoding) if encoding else None)
        if variables is not None:
            variables = variables.matched(document.path for document in result.corpus.documents)
            record = replace(record, document_variables={"path": variables.path, "variables": variables.names})
        if use_cache:  # its documents are most often the last run's: their text is copied, not encoded again
            record = run.with_documents_text_kept(record)
        not_compared = None
        with run.staged(then=reviews_moved) as stage:  # the review file rewritten once the run is saved
            # The last run's record as read already (while its run.json is the file read) and this
            # run's: the comparison needs neither file parsed again (1.6 MB each at 50 MB).
            previous_record = run.record_if_unchanged()
            kept = run.keep_previous(into=stage)
            records = (previous_record, record.as_read_back(stage.folder)) if kept and previous_record else None
            # The passage fingerprints come from coding, so the index needs no second pass over the text.
            # .array: the column as it is (to_numpy() made a Python string per row, then Arrow again: a second).
            indexed = segments.assign(fingerprint=result.fingerprints.array) if result.fingerprints is not None else segments
            # A recode read the passages from passages.parquet and changed none: the file stays as it is.
            # segments.parquet goes on being written while the network and report are built (staged waits).
            written = stage.write_outputs(replace(result, segments=indexed), record, csv=csv,
                                          passages_file=run.passages_parquet_path if passages_kept else None,
                                          background=True, code_counts=False)
            counted = drop_rejected(result.segments)
            # The count tables and the comparison with the last run go on in a second thread while this
            # one builds the network and report: part of both is Arrow and numpy work that leaves the GIL.
            # Leaving the block waits for it (a failed network leaves nothing writing into the stage).
            with ThreadPoolExecutor(max_workers=1) as beside:
                tables = beside.submit(_tables_and_changes, counted, codebook, stage, variables=variables,
                                       passages_by_document={document.path: result.passages.get(document.path, 0)
                                                             for document in result.corpus.documents},
                                       new_segments=indexed, old_index=previous_index, unchanged=unchanged,
                                       records=records)
                network = write_network_outputs(
                    counted, codebook, stage.folder, options=network_options,
                    total_passages=result.passage_count, documents=variables.table if variables is not None else None,
                    pair_counts=(read_pair_counts(run.cache_path / PAIR_COUNTS_FILE) or True) if use_cache else False,
                    passages_by_document=result.passages if variables is not None else None,
                )
                tables_written, comparison, not_compared = tables.result()
            written.update(tables_written)
        if use_cache:
            run.remember_written_files()
            remember_coding(run, codebook)
        save_corpus_stamps(run.cache_path / CORPUS_STAMPS_FILE, stamps, result.corpus, encoding=encoding)
        graph = network.pop("graph", None)
        remember_presentation(run, graph=graph if use_cache else None, options=network_options, csv=csv)
        remember_pair_counts(run, network.pop("pair_counts", None))
        run.prune_texts(result.corpus.documents)
        if extraction_cache is not None:
            extraction_cache.prune()
    # Report where the files are now, not where they were written.
    written = {key: out_dir / path.name for key, path in written.items()}
    network = {key: out_dir / value.name if isinstance(value, Path) else value for key, value in network.items()}
    return RunReport(result=result, out_dir=out_dir, written=written, network=network, comparison=comparison,
                     reviews_path=reviews_file if reviews is not None else None, orphans=orphans, precision=precision,
                     imported=tuple(imported), carried=carried, followed=followed, recovered=recovered,
                     document_variables=variables, not_compared=run.named_once_in_place(not_compared),
                     coding_reused=reused is not None,
                     reviews_missed=missed, leftover=run.leftover)


def _reviews_missed(run: RunFolder, reviews_file: Path, last: Path, decisions: int) -> str:
    """Why the `decisions` the last run in `run` applied from `last` are not applied now."""
    return (f"no review file at {display_name(reviews_file)} (beside the codebook), but the last run in "
            f"{display_name(run.folder)} applied {decisions} decision(s) from {display_name(last)}; this run "
            f"applied none. Pass --reviews {display_name(last)} to apply them.")


def _new_review_file_refused(reviews_file: Path, last: Path, decisions: int) -> str:
    """Why typed decisions are not imported into a new review file beside a codebook read from another folder."""
    return (f"importing them would start a new review file, {display_name(reviews_file)}, beside the codebook, while "
            f"the last run applied {decisions} decision(s) from {display_name(last)}. Pass --reviews {display_name(last)} "
            f"(or copy that file beside the codebook), then run again; nothing was imported.")


def _reviews_elsewhere(run: RunFolder, reviews_file: Path) -> tuple[Path, int] | None:
    """The review file the last run in `run` applied decisions from and how many, when that file is
    still there but is not `reviews_file` (the codebook was read from another folder); else None.
    (run.json keeps that file's path as it was given: a relative one is looked for from here, and a
    file not found says nothing.)"""
    try:
        applied = run.record().reviews if run.has_record() else None
    except CoderError:
        return None
    if not isinstance(applied, dict) or not isinstance(applied.get("path"), str) or not applied.get("decisions"):
        return None
    last = Path(applied["path"])
    decisions = applied["decisions"]
    try:
        if not last.is_file() or last.resolve() == reviews_file.resolve():
            return None
    except OSError:
        return None
    return last, decisions


# In the run's cache folder: the co-occurrence's counts, from which the next run recounts only changed codes' pairs.
PAIR_COUNTS_FILE = "cooccurrence_counts.json"


def remember_pair_counts(run: RunFolder, counts: PairCounts | None) -> None:
    """Keep the run's co-occurrence counts in its cache folder for the next run (or remove the old ones)."""
    run.keep_cache_file(PAIR_COUNTS_FILE, None if counts is None else functools.partial(write_pair_counts, counts))


def _text_bytes(corpus: str | Path, stamps: CorpusStamps | None, *, past: int) -> int:
    """Bytes of the corpus's text files (pipeline._corpus_bytes): from the stamps this run took, when it
    took them (no second walk and stat of every file: 0.06 s at 8,376 files)."""
    if stamps is None:
        from .pipeline import _corpus_bytes

        return _corpus_bytes(corpus, past=past)
    return sum(stamp[0] for name, stamp in stamps.files.items() if os.path.splitext(name)[1].lower() in (".txt", ".md"))


def _import_beside(*modules: str) -> None:
    """Import `modules` in a second thread while this one goes on: much of what follows (reading
    Parquet, Arrow, RE2, the coding processes) leaves the GIL. A module that fails to import fails
    again where it is imported for use, with its error."""
    import importlib
    import threading

    def load() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return

    threading.Thread(target=load, name="coder-import").start()


def _tables_and_changes(
    counted: pd.DataFrame, codebook: Codebook, stage: RunFolder, *, variables: DocumentVariables | None,
    passages_by_document: dict[str, int], new_segments: pd.DataFrame, old_index: pd.DataFrame | None,
    unchanged: UnchangedCodes | None = None, records: tuple[RunRecord, RunRecord] | None = None,
) -> tuple[dict[str, Path], RunComparison | None, str | None]:
    """`coder run`'s count tables and changes.csv in the staged run `stage`: what was written, the
    comparison with the last run, and why there is none when its segment data is damaged."""
    written = write_count_tables(counted, codebook, stage, variables=variables, passages_by_document=passages_by_document)
    try:
        comparison = compare_with_previous(stage, new_segments=new_segments, old_index=old_index, unchanged=unchanged,
                                           records=records)
    except OutputError as error:
        # A damaged earlier run must not stop the run that replaces it: no changes.csv this time.
        return written, None, str(error)
    if comparison is not None:
        written["changes"] = write_changes_csv(comparison, stage.changes_path)
    return written, comparison, None


def find_document_variables(corpus: str | Path, documents_path: str | Path | None = None) -> DocumentVariables | None:
    """The document variables `documents_path` names, else those of documents.csv in the corpus folder, else None."""
    if documents_path is None:
        try:
            name = document_variables_name(os.listdir(corpus)) if Path(corpus).is_dir() else None
        except OSError:
            name = None
        if name is None or not (Path(corpus) / name).is_file():
            return None
        variables = read_document_variables(Path(corpus) / name)
        return replace(variables, misnamed=True) if name != DOCUMENTS_FILE else variables
    return read_document_variables(documents_path)


def write_count_tables(
    counted: pd.DataFrame, codebook: Codebook | None, run: RunFolder, *, variables: DocumentVariables | None,
    passages_by_document: dict[str, int],
) -> dict[str, Path]:
    """code_counts.csv, code_counts_long.csv and (with variables) code_counts_by_group.csv of the
    segments that count (`counted`), the documents of `passages_by_document` in its order: both count
    tables from one count of the segments when it holds both (code_counts_long.csv took 0.1-0.2 s CPU
    counting them again at 437,785 segments). Without a codebook there is no code_counts.csv (its
    rows are the codebook's codes)."""
    from .groups import build_counts_long_from_cells
    from .segments import code_counts_table, count_code_cells

    if codebook is None:
        return write_document_tables(counted, None, run, variables=variables, passages_by_document=passages_by_document)
    documents = list(passages_by_document)
    cells, total, with_children, long_too = count_code_cells(counted, codebook, documents)
    written = {"code_counts": write_csv(code_counts_table(codebook, documents, cells, total=total,
                                                          total_with_children=with_children), run.code_counts_path)}
    if variables is None and long_too and len(set(documents)) == len(documents):
        return written | run.write_document_tables(
            build_counts_long_from_cells(cells[:-1], documents, [code.id for code in codebook]), None)
    return written | write_document_tables(counted, codebook, run, variables=variables,
                                           passages_by_document=passages_by_document)


def write_document_tables(
    segments: pd.DataFrame,
    codebook: Codebook | None,
    run: RunFolder,
    *,
    variables: DocumentVariables | None,
    passages_by_document: dict[str, int],
) -> dict[str, Path]:
    """Write code_counts_long.csv and (with variables) code_counts_by_group.csv into the run folder."""
    frame = drop_rejected(segments)
    if len(frame):
        # Rows of documents the corpus no longer holds, if any: asked of the few distinct names (pandas'
        # isin on Arrow text makes a scalar of each of thousands of documents: 0.06-0.07 s at 50 MB).
        gone = [name for name in pd.unique(frame["document"]) if name not in passages_by_document]
        frame = frame[~frame["document"].isin(gone).to_numpy()] if gone else frame
    codes = [code.id for code in codebook] if codebook is not None else None
    counts_long = build_counts_long(frame, variables, codes=codes)
    by_group = None
    if variables is not None:
        by_group = build_group_counts(frame, variables, passages_by_document=passages_by_document, codes=codes)
    return run.write_document_tables(counts_long, by_group)


def write_network_outputs(
    segments: pd.DataFrame,
    codebook: Codebook | None,
    out_dir: str | Path,
    *,
    options: NetworkOptions = NetworkOptions(),
    total_passages: int | None = None,
    title: str | None = None,
    documents: pd.DataFrame | None = None,
    reduced: ReducedNetwork | None = None,
    pair_counts: PairCounts | bool = False,
    passages_by_document: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write cooccurrence.csv, cooccurrence_matrix.csv, codes.csv, report.html (network.html opens it),
    network.graphml and network.gexf.

    `documents` (a `document` column plus document variables) gives the report's group selector, and
    `passages_by_document` (every corpus document) each group's passages, the page's N for the group.
    `reduced` (the Dask engine, coder.partitioned) gives the co-occurrence of every level and the
    report's passage data already summed across partitions; `segments` is then not read.

    Returns the written paths under the keys of NETWORK_FILES plus the counts "code_count"
    (codes drawn), "edge_count" (links drawn) and "pair_count" (rows of cooccurrence.csv), and
    the map's "graph" (networkx).

    `pair_counts` True (or the last run's PairCounts, which spares counting again the pairs of the
    codes whose passages did not change) adds the co-occurrence's counts for the next run under
    "pair_counts" (None with a roll-up level).

    >>> options = NetworkOptions(level=1, measure="association")
    >>> written = write_network_outputs(segments, codebook, "outputs", options=options)  # doctest: +SKIP
    >>> written["html"]  # doctest: +SKIP
    PosixPath('outputs/network.html')
    """
    from .report import report_data

    out_dir = Path(out_dir)
    if reduced is not None:
        cooccurrence = reduced.cooccurrence
    else:
        cooccurrence = build_cooccurrence(
            segments, level=options.level, total_passages=total_passages, codebook=codebook,
            previous=pair_counts if isinstance(pair_counts, PairCounts) else None, with_counts=pair_counts is not False)
    graph = build_network(
        cooccurrence, codebook, measure=options.measure, min_count=options.min_count, top_edges=options.top_edges,
        hide_isolated=options.hide_isolated, seed=options.seed,
    )
    written: dict[str, Any] = {key: out_dir / name for key, name in NETWORK_FILES.items()}
    write_cooccurrence_csv(cooccurrence, graph, written["cooccurrence"])
    write_codes_csv(cooccurrence, graph, written["codes"])
    shown = matrix_codes(cooccurrence)
    if shown is None:  # no matrix: nor one of an earlier network left in the folder to be taken for this one's
        written.pop("matrix").unlink(missing_ok=True)
        written["matrix_left_out"] = MATRIX_LEFT_OUT
    else:
        # Rounded as cooccurrence.csv is; "%.10g" writes the diagonal's passage counts as whole numbers.
        write_csv(build_cooccurrence_matrix(cooccurrence, measure=options.measure, codes=shown).round(6),
                  written["matrix"], float_format="%.10g")
    name = codebook.name if codebook is not None and codebook.name else "Concept network"
    base = reduced.base if reduced is not None else cooccurrence
    # The map drew the report's own codes and links (its tables, no code hidden): the page takes its communities
    network = graph if (cooccurrence.level is None and not options.hide_isolated and cooccurrence.codes is base.codes
                        and cooccurrence.pairs is base.pairs) else None
    if reduced is not None:
        page = report_data(segments, codebook, options=options, total_passages=total_passages, documents=documents,
                           title=title or name, cooccurrence=reduced.base, rolled=reduced.rolled,
                           listing=reduced.listing, network=network, passages_by_document=passages_by_document)
    else:
        page = report_data(segments, codebook, options=options, total_passages=total_passages, documents=documents,
                           title=title or name, cooccurrence=cooccurrence, network=network, sets_as_json=True,
                           passages_by_document=passages_by_document)
    render_report(page, written["report"])
    render_redirect(written["html"], target=written["report"].name)  # the old name keeps working: it opens report.html
    write_graphml(graph, written["graphml"])
    write_gexf(graph, written["gexf"])
    written.update(code_count=graph.number_of_nodes(), edge_count=graph.number_of_edges(),
                   pair_count=len(cooccurrence.pairs), graph=graph)
    if pair_counts is not False:
        written["pair_counts"] = reduced.base.counts if reduced is not None else cooccurrence.counts
    return written



def import_typed_decisions(
    run: RunFolder, reviews_path: Path, *, codes: list[str] | None = None, workbook: Path | None = None,
    refuse_new: str | None = None,
) -> list[PendingImport | KeptCopy]:
    """Import the decisions and notes typed into a run folder's segments.csv (and its exported
    workbook, when saved after the run) that the review file does not hold yet.

    Raises ReviewConflictError, before anything is written, when a typed cell disagrees with a
    decision the review file took since, or when `refuse_new` (why) and the review file is not
    there yet: what was typed is not imported into a new one.
    """
    def locate() -> PassageLocator | None:
        if not run.has_record():
            return None
        return PassageLocator(run.documents(), unit=run.record().unit or "paragraph", recorded_texts=run.recorded_texts)

    reports = []
    # Each file with what the last run wrote there: its (review, note) cells, its segments' (document, code).
    sources: list[tuple[Path, dict[str, tuple[str, str]] | None, dict[str, tuple[str, str, str]] | None]] = []
    # The folder may have been shared: a link where the run wrote a file is not followed (it could point
    # anywhere), nor replaced while it may hold what someone typed. It has to go first.
    for own in (run.segments_path, *(() if workbook is not None else (run.workbook_path,))):
        if own.is_symlink():
            raise OutputError(f"{own}: a link, not the file coder wrote; decisions are read only from that file. "
                              "Remove the link (or copy what it points to in its place) and run again.")
    # A file exactly as the last run left it, or holding its rows and cells as written (a copied folder), holds
    # nothing typed: not read whole (103 MB took 6.5 s of CPU and 770 MB for nothing, probe HH2).
    edited = run.segments_path.is_file() and not run.segments_file_holds_nothing_typed()
    table = read_table(run.segments_path, chinese_code_pages=True) if edited else None
    foreign = foreign_columns(table, (*OUTPUT_COLUMNS, "page")) if table is not None else []
    if table is not None:
        refuse_renamed_review_columns(run.segments_path, table, foreign)
        sources.append((run.segments_path, run.read_written_reviews(), run.read_written_segments() if run.has_segments() else None))
    book = workbook if workbook is not None else run.workbook_path
    book_record = book_table = None
    # Saved, or copied in (its change time: a copy keeping an older modification time, as `cp -p`, an
    # unzipped archive or a sync client make, was skipped), after the last run.
    if book.is_file() and (not run.run_path.is_file()
                           or max(book.stat().st_mtime, book.stat().st_ctime) > run.run_path.stat().st_mtime):
        # Its name and cells as `coder export xlsx` wrote them, or as the last import read them, edited since or
        # not; None: every cell counts as typed.
        book_record = run.read_workbook_record(book)
        book_table = read_table(book) if book_record is not None else None
        sources.append((book, book_record[1] if book_record is not None else None, None))
    if not sources:
        return reports
    if codes is not None:  # the rows name the last run's codes too (a code renamed since follows its decisions)
        codes = [*codes, *_last_run_codes(run)]
    advice = (f"The decisions typed into {sources[0][0].name} go to {display_name(reviews_path.name)} there: "
              f"pass --reviews with a file in a folder you can write in.")
    with review_file_lock(reviews_path, advice=advice):  # as `coder review import` (a run holds it already)
        # All sources or none: when the workbook conflicts with what segments.csv just gave the review file,
        # the review file is put back as it was (the run stops having written nothing).
        before = reviews_path.read_bytes() if len(sources) > 1 and reviews_path.is_file() else None
        held = read_reviews(reviews_path) if len(sources) > 1 else None
        imported_from: dict[str, Path] = {}  # a conflict with a decision just taken from segments.csv names that file
        # The review file's entries the workbook's rows noted by their place became: those of the record, and those
        # this import takes (a cell edited there later goes to its entry, its passage moved since or not: probe ZZ3).
        placed = dict(book_record[2]) if book_record is not None else {}
        try:
            for path, written, segments in sources:
                report = import_pending(path, reviews_path, written=written, locate=locate, codes=codes, segments=segments,
                                        table=table if path == run.segments_path else book_table if path == book else None,
                                        passages=run.read_passages_if_any,
                                        refuse_new=f"{path}: holds typed decisions or notes; {refuse_new}" if refuse_new else None,
                                        imported_from=imported_from,
                                        entries=book_record[2] if path == book and book_record is not None else None,
                                        placed=placed if path == book else None)
                if report is not None:
                    reports.append(report)
                    if held is not None:
                        imported_from.update(dict.fromkeys(_decisions_changed(held, read_reviews(reviews_path)), path))
        except ReviewConflictError as conflict:
            if reports:
                _put_back(reviews_path, before)
                kept = f"{display_name(reviews_path)} is as it was" if before is not None else "no review file was written"
                raise ReviewConflictError(f"{conflict} (The decisions typed into {reports[0].source} are not imported "
                                          f"either: {kept}.)") from None
            raise
    if book_record is not None:
        # Its cells imported, the next import takes only those typed after: left as exported, a decision typed there,
        # imported and withdrawn in segments.csv since, came back when the workbook was saved again (probe XX1), and
        # withdraw typed over it later was a conflict with itself (XX9).
        run.remember_workbook(book_record[0], book_table, placed)
    if foreign:  # the run rewrites the file with its own columns: the reviewer's are kept in a copy
        reports.append(_keep_edited_copy(run.segments_path, foreign))
    return reports


def _last_run_documents(run: RunFolder) -> list[str]:
    """The documents of the run before in the run folder; none when its run.json cannot be read."""
    try:
        return [str(entry.get("path")) for entry in run.record().documents] if run.has_record() else []
    except CoderError:
        return []


def _last_run_codes(run: RunFolder) -> list[str]:
    """The code ids of the codebook the run folder's last run used; none when its run.json cannot be read."""
    try:
        return [str(code["id"]) for code in run.record().codebook_codes] if run.has_record() else []
    except OutputError:  # a damaged run.json must not stop the run that replaces it
        return []


def _decisions_changed(before: pd.DataFrame, after: pd.DataFrame) -> list[str]:
    """The segment ids whose decision the review file `after` gives otherwise than `before` did."""
    earlier = dict(zip(before["segment_id"], before["decision"]))
    return [identifier for identifier, decision in zip(after["segment_id"], after["decision"])
            if earlier.get(identifier) != decision]


def _put_back(path: Path, before: bytes | None) -> None:
    """The review file as it was before an import that did not complete (None: there was none)."""
    if before is None:
        path.unlink(missing_ok=True)
    else:
        with atomic_path(path) as temporary:
            temporary.write_bytes(before)


@dataclass(frozen=True)
class KeptCopy:
    """A reviewed segments file kept as it was saved, for columns of the reviewer's own that the run drops."""

    source: Path
    copy: Path
    columns: tuple[str, ...]

    def render(self) -> str:
        return (f"{display_name(self.source)}: column(s) {', '.join(self.columns)} are not coder's, and the new file will not "
                f"have them: the file as you saved it is kept as {display_name(self.copy)}.")


def _keep_edited_copy(path: Path, columns: list[str]) -> KeptCopy:
    """Copy a reviewed segments file beside itself, under a name no run writes (segments.kept-<time>.csv)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    copy = path.with_name(f"{path.stem}.kept-{stamp}{path.suffix}")
    number = 1
    while copy.exists():
        number += 1
        copy = path.with_name(f"{path.stem}.kept-{stamp}-{number}{path.suffix}")
    with atomic_path(copy) as temporary:
        shutil.copyfile(path, temporary)
    return KeptCopy(path, copy, tuple(columns))


def renamed_fingerprints(run: RunFolder, renamed: dict[str, str]) -> dict[str, str]:
    """{segment id: passage fingerprint} of the last run's segments of the renamed codes, which give
    their decisions the new ids (`reviews.rename_codes`); {} when nothing was renamed or the run
    folder's segments cannot be read."""
    if not renamed or not run.has_segments():
        return {}
    try:
        index = run.read_segment_index(columns=("segment_id", "code", "fingerprint"))
    except (OutputError, OSError, ValueError, KeyError):
        return {}
    index = index[index["code"].isin(list(renamed))]
    return dict(zip(index["segment_id"].astype(str), index["fingerprint"].astype(str)))


def _renamed_codes(run: RunFolder, codebook) -> dict[str, str]:
    """Codes renamed since the run in the folder ({old id: new id}), as `coder diff` finds them."""
    if not run.has_record():
        return {}
    from .codebook import codebook_to_records
    from .diff import diff_codebooks, renamed_codes

    try:
        old_codes = list(run.record().codebook_codes)
    except OutputError:
        return {}
    return renamed_codes(diff_codebooks(old_codes, codebook_to_records(codebook)))


def _with_manual_rows(result: CodingResult, applied: AppliedReviews) -> CodingResult:
    """The coding result with the reviewed segments, hand-coded rows sorted in among the tool's."""
    from .models import passage_fingerprint

    segments = applied.segments
    fingerprints = result.fingerprints
    manual = segments["source"].eq("manual")
    if not manual.any():
        return replace(result, segments=segments, fingerprints=fingerprints)
    if fingerprints is not None:
        added = pd.Series([passage_fingerprint(document, text) for document, text in zip(segments.loc[manual, "document"],
                                                                                          segments.loc[manual, "text"])])
        # Appended as a column (a Python string per row, and a column made of them, took 0.17 s at 437,785 rows).
        fingerprints = pd.concat([fingerprints.astype(added.dtype), added], ignore_index=True)
    # In corpus order by (document, passage, row): each distinct document's place looked up once, the
    # rows ordered in numpy (a dict lookup per row and pandas' sort of three columns took 0.5 s).
    order = {document.path: position for position, document in enumerate(result.corpus.documents)}
    numbers, documents = pd.factorize(segments["document"])
    places = np.array([order.get(document, len(order)) for document in documents] + [len(order)])[numbers]
    ranked = np.lexsort((np.arange(len(segments)), segments["passage"].to_numpy(), places))
    segments = segments.take(ranked).reset_index(drop=True)
    if fingerprints is not None:
        fingerprints = fingerprints.take(ranked).reset_index(drop=True)
    return replace(result, segments=segments, fingerprints=fingerprints)


def _previous_index(run: RunFolder) -> pd.DataFrame | None:
    """The segment index of the run in the folder (before this one replaces it); None without one, or damaged."""
    if not run.has_record():
        return None
    try:
        return run.read_segment_index()
    except OutputError:
        return None


def _statuses(segments: pd.DataFrame, run: RunFolder, renamed: dict[str, str], *,
              index: pd.DataFrame | None = None, unchanged: UnchangedCodes | None = None) -> pd.Series:
    """Each segment's `status`: the decision taken before, else new or unchanged since the run in the
    folder (`index`: its `_previous_index`, or the `previous_index` of the recode's `unchanged` codes,
    whose rows are then unchanged without looking them up)."""
    if unchanged is not None and not renamed and index is unchanged.previous_index and len(segments) == len(unchanged.codes):
        return _decided(segments, _statuses_beside_unchanged(segments["segment_id"], unchanged))
    before: list[Any] = []  # the previous run's segment ids, in columns
    if run.has_record():
        if index is not None:
            from .models import segment_id_from_fingerprint

            before = [index["segment_id"]]
            if renamed:  # filtering 437,785 rows by code for no renamed code took 0.005-0.02 s
                moved = index[index["code"].isin(list(renamed))]
                before.append([segment_id_from_fingerprint(fingerprint, renamed[code])
                               for fingerprint, code in zip(moved["fingerprint"], moved["code"])])
    # Statuses as numbers into STATUSES until the end: a Python string per row cost 0.26 s at 440,000 rows.
    if run.has_record():
        statuses = np.where(segment_ids_among(segments["segment_id"], before), STATUSES.index("unchanged"), STATUSES.index("new"))
    else:
        statuses = np.full(len(segments), STATUSES.index("new"))
    return _decided(segments, statuses)


def _statuses_beside_unchanged(ids: pd.Series, unchanged: UnchangedCodes) -> np.ndarray:
    """New or unchanged (positions in STATUSES) of each segment `ids` of a recode: the rows of its
    unchanged codes are the last run's; the others' ids are looked up among the last run's rows of the
    codes not unchanged (an id hashes its code: it cannot be an unchanged code's)."""
    others = np.flatnonzero(~unchanged.kept_rows)
    before = unchanged.previous_index["segment_id"].take(np.flatnonzero(~unchanged.kept_previous_rows))
    statuses = np.full(len(ids), STATUSES.index("unchanged"))
    statuses[others] = np.where(segment_ids_among(ids.take(others), [before]), STATUSES.index("unchanged"),
                                STATUSES.index("new"))
    return statuses


def _decided(segments: pd.DataFrame, statuses: np.ndarray) -> pd.Series:
    """The `status` column: `statuses` (positions in STATUSES), but where a review decided or a reviewer coded the row."""
    decided = {"accept": STATUSES.index("accepted"), "reject": STATUSES.index("rejected"), "add": STATUSES.index("added")}
    # Each distinct review cell read once: a big run has hundreds of thousands of rows and a handful of spellings.
    # On the column as it is: astype(object) made a Python string per row first (0.012-0.02 s at 437,785 rows).
    spelled, spellings = pd.factorize(segments["review"], use_na_sentinel=False)
    words = np.array([decided.get(str(value).strip().casefold(), -1) for value in spellings] + [-1], dtype=np.int64)[spelled]
    statuses = np.where(words >= 0, words, statuses)
    statuses[segments["source"].eq("manual").to_numpy()] = STATUSES.index("added")
    return _status_series(statuses, segments.index)


def _status_series(statuses: np.ndarray, index: pd.Index) -> pd.Series:
    """A str column (pandas' Arrow-backed text) of the STATUSES at the positions `statuses`, taken in Arrow."""
    import pyarrow as pa

    array = pa.chunked_array([pa.array(STATUSES, type=pa.large_string()).take(pa.array(statuses, type=pa.int64()))])
    return pd.Series(pd.arrays.ArrowStringArray(array, dtype=pd.StringDtype("pyarrow", na_value=np.nan)), index=index)
