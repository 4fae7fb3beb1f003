"""The run folder: one RunFolder reads and writes everything `coder run` leaves in its --out folder.

A run folder holds the segment data of record, segments.parquet and passages.parquet (see
`coder.segments`), the views of them for people, segments.csv and passages.csv (written when the
run is small enough to review, `CsvMode`), code_counts.csv, run.json (a RunRecord), changes.csv,
the network files, the previous run in .previous/ and the recode cache in .cache/. Runs of
earlier versions have the CSVs and a compact .segments_index.csv instead of the Parquet tables;
they are read as well. Every command that reads a run (`coder network`, `diff`, `agree`,
`export qdpx`, `review status`) opens it through RunFolder, so no other module knows these names.
Documents extracted from PDF, Word, OpenDocument, RTF or HTML files leave their text (the one
every offset points into) in texts/<document>.txt and the extraction cache in .extracted/.

A run is saved as one unit (`RunFolder.staged`): every file is written into .staging/ inside the
folder, then a manifest listing them is written, then each file is renamed into place. A run
stopped before the manifest exists (an error, a full disk, Ctrl-C, kill -9) leaves the previous
files untouched, and the next run deletes its .staging/. A run stopped during the renames has a
complete new set split between .staging/ and the folder, and the next run finishes the renames
first (`RunFolder.recover`). Either way the folder holds one whole run, old or new, once `recover`
has run. `.coder.lock` keeps two runs (and review imports) out of one folder at a time.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .codebook import (
    codebook_from_records,
    codebook_hash,
    codebook_to_records,
    load_codebook,
    normalize_code_record,
)
from .errors import CoderError, OutputError
from .files import (
    CACHE_FOLDER,
    DEVICE_NAMES,
    LOCK_FILE,
    atomic_path,
    display_name,
    fitting_name,
    folder_lock,
    json_from,
    lies_in,
    read_own_bytes,
    read_table,
    refuse_special_file,
    same_place,
    workbook_carries,
    write_csv,
    write_csv_parts,
    write_text,
)
from .imports import LazyModule
from .models import (
    CODED_KINDS,
    Codebook,
    CsvMode,
    Document,
    normalize_segment_id,
    numbered_copies,
    passage_fingerprint,
)

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

if TYPE_CHECKING:  # the pipeline pulls in spaCy; `coder diff` and `coder network` never need it
    from concurrent.futures import Future

    import numpy as np

    from .pipeline import CodingResult

RUN_FILE = "run.json"
SEGMENTS_FILE = "segments.csv"
SEGMENTS_PARQUET_FILE = "segments.parquet"
PASSAGES_PARQUET_FILE = "passages.parquet"
CODE_COUNTS_FILE = "code_counts.csv"
CHANGES_FILE = "changes.csv"
PREVIOUS_FOLDER = ".previous"
WRITTEN_STAMP = "segments_written.json"  # in CACHE_FOLDER: segments.csv and run.json as the last run left them
# In CACHE_FOLDER: the review and note cells `coder export xlsx` wrote into the folder's segments.xlsx, with the
# name that workbook carries (files.workbook_carries). Past WORKBOOK_WRITTEN_MAX_BYTES (a million rows with
# notes of 200 characters) it is not read: the workbook is read as one that does not say what it showed.
WORKBOOK_WRITTEN = "workbook_written.json"
WORKBOOK_WRITTEN_MAX_BYTES = 256 * 1024 * 1024
TEXTS_FOLDER = "texts"
EXTRACTION_CACHE_FOLDER = ".extracted"
# Runs before segments.parquet: a compact copy of what a comparison needs (ids, codes, documents,
# passage fingerprints) beside segments.csv, so comparing two large runs did not re-read their
# passages. segments.parquet holds these columns now; the file is read, no longer written.
SEGMENT_INDEX_FILE = ".segments_index.csv"
_INDEX_COLUMNS = ("segment_id", "code", "document", "fingerprint")
# Also in the index: where each segment is, and the review and note cells the run wrote into
# segments.csv, so the next run tells a cell a reviewer typed from one it wrote itself.
_WRITTEN_COLUMNS = ("passage", "review", "note")
WORKBOOK_FILE = "segments.xlsx"
PASSAGES_FILE = "passages.csv"
AGREEMENT_FILE = "agreement.csv"  # `coder agree` writes it beside segments.csv
AGREEMENT_HEADER = "code,gold,predicted,tp,fp,fn,tn,precision,recall,f1,kappa,alpha"  # agreement.AGREEMENT_COLUMNS
NETWORK_FILES = {
    "cooccurrence": "cooccurrence.csv",
    "codes": "codes.csv",
    "report": "report.html",
    "html": "network.html",
    "graphml": "network.graphml",
    "gexf": "network.gexf",
    "matrix": "cooccurrence_matrix.csv",
}
CODE_COUNTS_LONG_FILE = "code_counts_long.csv"
CODE_COUNTS_BY_GROUP_FILE = "code_counts_by_group.csv"
# Every file one run consists of, beside run.json (renamed into place last) and in .previous/.
RUN_FILES = (SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE, SEGMENTS_FILE, PASSAGES_FILE, CODE_COUNTS_FILE, SEGMENT_INDEX_FILE, CHANGES_FILE, *NETWORK_FILES.values(),
             CODE_COUNTS_LONG_FILE, CODE_COUNTS_BY_GROUP_FILE)
# What `coder network --out FOLDER` writes there.
NETWORK_OUTPUT_FILES = (*NETWORK_FILES.values(), CODE_COUNTS_FILE, CODE_COUNTS_LONG_FILE, CODE_COUNTS_BY_GROUP_FILE)
PREVIOUS_FILES = (RUN_FILE, SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE, SEGMENTS_FILE, SEGMENT_INDEX_FILE)
# `coder run --csv`: auto writes segments.csv and passages.csv when the run has at most
# CSV_AUTO_MAX_SEGMENTS segments, a table a person can still read through and a spreadsheet opens
# in seconds (Excel stops at 1,048,576 rows, and a 100,000-row segments.csv is already ~100 MB).
CSV_MODES: tuple[str, ...] = ("auto", "always", "never")
CSV_AUTO_MAX_SEGMENTS = 100_000
STAGING_FOLDER = ".staging"
# Written into .staging/ once every file of the new run is there: from then on the run is saved.
MANIFEST_FILE = "manifest.json"
_REPLACED_FOLDER = ".replaced"  # in .staging/: the files a run replaces, moved there before its own move in

Recovery = Literal["finished", "discarded"]


class RunNotSaved(OutputError):
    """Writing a run's outputs failed; the folder still holds the previous run, untouched."""


# --- run.json ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """What run.json says about one run: what ran, on what, with which codebook (kept whole for diffs).

    `folder` is where it was read from and is not stored. `to_dict` gives run.json's fields in
    their order; `from_dict` reads them back, older spellings included.
    """

    tool_version: str = ""
    started: str = ""
    seconds: float | None = None
    corpus: str = ""
    corpus_absolute: str = ""
    codebook: str = ""
    codebook_sha256: str = ""
    codebook_name: str = ""
    unit: str = ""
    workers: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    documents: tuple[dict[str, Any], ...] = ()
    skipped: tuple[dict[str, Any], ...] = ()
    codebook_codes: tuple[dict[str, Any], ...] = ()
    reviews: dict[str, Any] | None = None
    review_file: str | None = None  # where the run looked for decisions (--reviews), applied or not yet there
    cache: dict[str, Any] | None = None
    encoding: str | None = None  # --encoding, when the run forced one
    document_variables: dict[str, Any] | None = None  # {"path": documents.csv, "variables": [...]}
    code_kinds: tuple[str, ...] | None = None  # the codebook's coded passage kinds, when not the default
    # The folder `coder run` started in, absolute: the relative paths above (codebook, review file,
    # documents.csv) are relative to it. run.json keeps it relative to the run folder, so a command
    # run from anywhere, or the project moved whole, finds those files again (probe KK6).
    started_in: str | None = None
    folder: str = ""
    # The documents as run.json writes them, copied from the last run's (RunFolder.with_documents_text_kept).
    documents_text: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """run.json's contents, in the order `coder run` writes them."""
        data: dict[str, Any] = {
            "tool": "coder",
            "tool_version": self.tool_version,
            "started": self.started,
            "seconds": self.seconds,
            "corpus": self.corpus,
            "corpus_absolute": self.corpus_absolute,
            "codebook": self.codebook,
            "codebook_sha256": self.codebook_sha256,
            "codebook_name": self.codebook_name,
            "unit": self.unit,
            "workers": self.workers,
            "counts": self.counts,
            "documents": list(self.documents),
            "skipped": list(self.skipped),
            "codebook_codes": list(self.codebook_codes),
        }
        if self.reviews is not None:
            data["reviews"] = self.reviews
        if self.review_file is not None:
            data["review_file"] = self.review_file
        if self.cache is not None:
            data["cache"] = self.cache
        if self.encoding is not None:
            data["encoding"] = self.encoding
        if self.document_variables is not None:
            data["document_variables"] = self.document_variables
        if self.code_kinds is not None:
            data["code_kinds"] = list(self.code_kinds)
        if self.started_in is not None:
            data["started_in"] = self.started_in
        return data

    def as_read_back(self, folder: str | Path) -> RunRecord:
        """The record as `RunFolder(folder).record()` reads it once it is written there, without
        encoding and decoding its documents: built from the plain values `build_run_record` gives
        them, which read back equal."""
        data = self.to_dict()
        data["documents"] = []
        return replace(RunRecord.from_dict(json.loads(json.dumps(data)), folder=str(folder)), documents=self.documents)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, folder: str = "", source: str = RUN_FILE) -> RunRecord:
        """A RunRecord from run.json's contents; `source` names the file in error messages.

        >>> RunRecord.from_dict({"unit": "sentence", "codebook_codes": [{"id": "a"}]}).codebook_codes[0]["label"]
        'a'
        """
        codes = data.get("codebook_codes", data.get("codebook_records", []))
        if not isinstance(codes, list) or not all(isinstance(code, dict) and "id" in code for code in codes):
            raise OutputError(
                f"{source}: \"codebook_codes\" must be a list of code objects with an \"id\". "
                f"This run.json predates run comparison; run `coder run` again to rewrite it."
            )
        seconds, workers = data.get("seconds"), data.get("workers")
        return cls(
            tool_version=str(data.get("tool_version", data.get("version", ""))),
            started=str(data.get("started", data.get("time", ""))),
            seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
            corpus=str(data.get("corpus", "")),
            corpus_absolute=str(data.get("corpus_absolute") or ""),
            codebook=str(data.get("codebook", "")),
            codebook_sha256=str(data.get("codebook_sha256", "")),
            codebook_name=str(data.get("codebook_name") or ""),
            unit=str(data.get("unit", "")),
            workers=workers if isinstance(workers, int) else None,
            counts=_counts_of(data.get("counts")),
            documents=tuple(item for item in data.get("documents") or [] if isinstance(item, dict)),
            skipped=tuple(item for item in data.get("skipped") or [] if isinstance(item, dict)),
            codebook_codes=tuple(normalize_code_record(code) for code in codes),
            reviews=data["reviews"] if isinstance(data.get("reviews"), dict) else None,
            review_file=data["review_file"] if isinstance(data.get("review_file"), str) else None,
            cache=data["cache"] if isinstance(data.get("cache"), dict) else None,
            encoding=data["encoding"] if isinstance(data.get("encoding"), str) else None,
            document_variables=data["document_variables"] if isinstance(data.get("document_variables"), dict) else None,
            code_kinds=_kinds_of(data.get("code_kinds")),
            started_in=_started_in(data.get("started_in"), folder),
            folder=folder,
        )


def _counts_of(value: object) -> dict[str, Any]:
    """run.json's counts: whole numbers, and segments_by_code's; a damaged entry counts as unknown (a
    string there stopped every command with an internal error, probe N5)."""
    if not isinstance(value, dict):
        return {}

    def whole(number: object) -> bool:
        return isinstance(number, int) and not isinstance(number, bool) and number >= 0

    counts: dict[str, Any] = {str(name): number for name, number in value.items() if whole(number)}
    by_code = value.get("segments_by_code")
    if isinstance(by_code, dict):
        counts["segments_by_code"] = {str(code): number for code, number in by_code.items() if whole(number)}
    return counts


def _kinds_of(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(kind, str) for kind in value):
        return tuple(value)
    return None


def build_run_record(
    result: CodingResult,
    *,
    codebook_path: str | Path,
    corpus_path: str | Path,
    workers: int | None = None,
    reviews: dict[str, Any] | None = None,
    review_file: str | Path | None = None,
    encoding: str | None = None,
) -> RunRecord:
    """The RunRecord of a finished coding: counts, documents, skipped files and the whole codebook."""
    from . import __version__

    clashes = text_clashes(document.path for document in result.corpus.documents if document.is_extracted)
    frame = result.segments
    by_code = frame.groupby("code", sort=False).size().to_dict() if len(frame) else {}
    return RunRecord(
        tool_version=__version__,
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        seconds=round(result.seconds, 3),
        corpus=str(corpus_path),
        corpus_absolute=str(Path(corpus_path).resolve()),
        codebook=str(codebook_path),
        codebook_sha256=codebook_hash(codebook_path) if Path(codebook_path).is_file() else "",
        codebook_name=result.codebook.name,
        unit=result.codebook.unit,
        workers=workers or os.cpu_count() or 1,
        counts={
            "documents": len(result.corpus.documents),
            "skipped": len(result.corpus.skipped),
            "passages": result.passage_count,
            "segments": len(frame),
            "coded_passages": len(frame[["document", "passage"]].drop_duplicates()) if len(frame) else 0,
            "segments_by_code": {code.id: int(by_code.get(code.id, 0)) for code in result.codebook},
        },
        documents=tuple(_document_record(document, result.passages.get(document.path, 0), clashes)
                        for document in result.corpus.documents),
        skipped=tuple({"path": skipped.path, "reason": skipped.reason} for skipped in result.corpus.skipped),
        codebook_codes=tuple(codebook_to_records(result.codebook)),
        reviews=reviews,
        review_file=str(review_file) if review_file is not None else None,
        cache=result.reused,
        encoding=encoding,
        code_kinds=result.codebook.code_kinds if tuple(result.codebook.code_kinds) != tuple(CODED_KINDS) else None,
        started_in=os.getcwd(),
    )


def _started_in(value: Any, folder: str) -> str | None:
    """run.json's `started_in` (relative to the run folder, as written) as an absolute folder."""
    if not isinstance(value, str) or not value:
        return None
    if os.path.isabs(value) or not folder:
        return value
    return os.path.normpath(os.path.join(os.path.abspath(folder), value))


def text_file_name(document: str, clashes: Collection[str] = ()) -> str:
    """The file in a run folder that keeps the extracted text of `document` (its path in the corpus):
    texts/<document>.txt, a name too long for the file system shortened (`files.fitting_name`).

    A name that macOS, Windows or a USB disk cannot hold as it is (`a:b.html`, `CON.html`, a name ending
    in a dot), or whose folded form (text_clashes) another document of the run shares (`Report.html` and
    `report.html`, one file where case is not told apart), is made portable and given a hash of the
    whole path: two documents never share a text file, on any disk (probe R6).

    >>> text_file_name("reports/2019.pdf"), text_file_name("a:b.html").startswith("texts/a_b.html~")
    ('texts/reports/2019.pdf.txt', True)
    """
    *folders, name = document.split("/")
    portable = [_portable_part(part) for part in (*folders, name)]
    if portable != [*folders, name] or _folded(document) in clashes:
        digest = hashlib.sha256(document.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        file = fitting_name(f"{portable[-1]}~{digest}", ".txt")
    else:
        file = fitting_name(name, ".txt")
    return "/".join((TEXTS_FOLDER, *portable[:-1], file))


def text_clashes(documents: Iterable[str]) -> frozenset[str]:
    """The folded names (case and Unicode form left out) that more than one of `documents` has."""
    seen = Counter(_folded(document) for document in documents)
    return frozenset(name for name, count in seen.items() if count > 1)


def _folded(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _portable_part(part: str) -> str:
    """One part of a path as every common file system takes it: \\ : * ? " < > |, control characters and
    a trailing dot or space as "_", a name Windows reserves for a device (CON, nul.txt) after a "_"."""
    safe = _NOT_PORTABLE.sub("_", part)
    if safe.endswith((".", " ")):
        safe = safe.rstrip(". ") + "_"
    if safe.split(".")[0].upper() in DEVICE_NAMES:
        safe = "_" + safe
    return safe


_NOT_PORTABLE = re.compile(r'[\\:*?"<>|\x00-\x1f\x7f]')


def _document_record(document: Document, passages: int, clashes: Collection[str] = ()) -> dict[str, Any]:
    """A document's entry in run.json; extracted documents also say from what, where their text
    is, how many pages they have and what the extraction removed (grouped by text and reason)."""
    record: dict[str, Any] = {"path": document.path, "encoding": document.encoding, "sha256": document.sha256,
                              "passages": passages}
    if document.is_extracted:
        record["format"] = document.format
        record["text"] = text_file_name(document.path, clashes)  # the file's own name (probe R13)
        if document.pages:
            record["pages"] = len(document.pages)
        removed: dict[tuple[str, str], list[int]] = {}
        for item in document.removed:
            removed.setdefault((item.reason, item.text), []).extend([item.page] if item.page else [])
        record["removed"] = [{"reason": reason, "text": text, "pages": pages} for (reason, text), pages in removed.items()]
        if document.warnings:
            record["warnings"] = list(document.warnings)
    return record


def _whole_numbers_shown(counts_long: pd.DataFrame) -> pd.DataFrame:
    """code_counts_long.csv's table with a number variable's whole values written as the by-group table,
    --where and the report spell them (1, not 1.0), in a column holding 2.5 too (read as float)."""
    floats = [column for column in counts_long.columns if pd.api.types.is_float_dtype(counts_long[column].dtype)]
    if not floats:
        return counts_long
    from .groups import value_text

    return counts_long.assign(**{str(column): counts_long[column].map(lambda value: "" if pd.isna(value) else value_text(value))
                                 .astype(object) for column in floats})


# --- the folder ----------------------------------------------------------------------------------


def _file_stamp(path: Path) -> list[int]:
    # Any write, even one that restores the modification time, changes the change time (ctime).
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


class _InFolder:
    """A RunFolder attribute for one file or folder of the run: `run.passages_path` is `run.folder / PASSAGES_FILE`."""

    def __init__(self, name: str, *, doc: str | None = None):
        self.name = name
        self.__doc__ = doc

    def __get__(self, run: RunFolder | None, owner: type | None = None) -> Path:
        if run is None:
            return self  # type: ignore[return-value]  # on the class: the descriptor itself, as property does
        return run.folder / self.name


class RunFolder:
    """A `coder run` output folder: the one place that knows its files and how to read and write them.

    >>> run = RunFolder("outputs")
    >>> run.segments_path.as_posix(), run.previous.folder.as_posix()
    ('outputs/segments.csv', 'outputs/.previous')
    """

    def __init__(self, folder: str | Path, *, segments: str | Path | None = None, run_file: str | Path | None = None):
        self.folder = Path(folder)
        parquet = segments is not None and Path(segments).suffix.lower() == ".parquet"
        self.segments_path = Path(segments) if segments is not None and not parquet else self.folder / SEGMENTS_FILE
        self.segments_parquet_path = Path(segments) if parquet else self.folder / SEGMENTS_PARQUET_FILE  # type: ignore[arg-type]
        self.run_path = Path(run_file) if run_file is not None else self.folder / RUN_FILE
        self._record: RunRecord | None = None
        self._record_stamp: list[int] | None = None  # run.json's when `_record` was read from it
        self._text_names: tuple[RunRecord, dict[str, str]] | None = None  # _recorded_text_names, for its record
        self._writing: list[Any] = []  # files write_outputs(background=True) left writing: wait_for_writes()
        # Why .staging/ could not be deleted after a run it held was in place, or before one: a warning.
        self.leftover: str | None = None

    @classmethod
    def at(cls, run: str | Path) -> RunFolder:
        """The run in a folder, the run whose run.json is at `run` (under any name ending in .json), or
        the run a segments file belongs to (as `coder diff` takes them).

        Raises:
            OutputError: for another file, which is none of these.
        """
        path = Path(run)
        if path.is_dir() and path.suffix.lower() != ".parquet":  # a Dask run's segments.parquet is a folder of parts
            return cls(path)
        if path.suffix.lower() in (".csv", ".parquet"):  # segments.csv, as every other command takes a run
            return cls.of_segments(path)
        if path.is_file() and path.suffix.lower() != ".json":
            raise OutputError(f"{display_name(path)}: is not a run's folder, run.json or segments file. Pass the folder "
                              f"written by `coder run --out FOLDER`, or its run.json or segments.csv.")
        return cls(path.parent, run_file=path)

    @classmethod
    def of_segments(cls, segments_path: str | Path) -> RunFolder:
        """The run a segments file (segments.csv or segments.parquet) belongs to: run.json is looked
        for beside it. A run folder may be given as well."""
        path = Path(segments_path)
        if path.is_dir() and path.suffix.lower() != ".parquet":
            return cls(path)
        if path.name.lower() in (PASSAGES_FILE, PASSAGES_PARQUET_FILE):
            raise OutputError(f"{display_name(path)}: is the run's passages table, not its segments. Pass segments.csv "
                              f"or segments.parquet (or the run's folder).")
        if not path.exists() and not any((path.parent / name).exists() for name in (RUN_FILE, SEGMENTS_PARQUET_FILE)):
            raise OutputError(f"{display_name(path)}: no such segments file. Run `coder run` first, or pass the path of a "
                              f"segments.csv.")  # as reading it says: not a missing /run.json beside it
        return cls(path.parent, segments=path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.folder)!r})"

    code_counts_path = _InFolder(CODE_COUNTS_FILE)
    workbook_path = _InFolder(WORKBOOK_FILE, doc="Where `coder export xlsx` writes the reviewers' workbook by default.")
    passages_path = _InFolder(PASSAGES_FILE)
    passages_parquet_path = _InFolder(PASSAGES_PARQUET_FILE)
    index_path = _InFolder(SEGMENT_INDEX_FILE)
    changes_path = _InFolder(CHANGES_FILE)
    cache_path = _InFolder(CACHE_FOLDER)
    staging_path = _InFolder(STAGING_FOLDER)
    lock_path = _InFolder(LOCK_FILE)
    texts_path = _InFolder(TEXTS_FOLDER)
    extraction_cache_path = _InFolder(EXTRACTION_CACHE_FOLDER)

    def text_path(self, document: str, clashes: Collection[str] = ()) -> Path:
        """Where the extracted text of `document` (its path in the corpus) is written (text_file_name)."""
        return self.folder / text_file_name(document, clashes)

    def _recorded_text_path(self, document: str) -> Path:
        """Where run.json says the run kept `document`'s text (a name of this folder's texts/ only), else
        where text_path puts it."""
        return _text_file_in(self.folder, self._recorded_text_names().get(document)) or self.text_path(document)

    def _recorded_text_names(self) -> dict[str, str]:
        """run.json's `text` of each extracted document, by its path (one pass per record read: a later
        command asks it once a document)."""
        try:
            record = self.record() if self.has_record() else None
        except CoderError:
            record = None
        if record is None:
            return {}
        if self._text_names is None or self._text_names[0] is not record:
            names = {item["path"]: item["text"] for item in record.documents
                     if isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("text"), str)}
            self._text_names = (record, names)
        return self._text_names[1]

    @property
    def previous(self) -> RunFolder:
        """The copy of the run before this one, kept by `keep_previous` (it may not exist)."""
        return RunFolder(self.folder / PREVIOUS_FOLDER)

    # --- reading ---------------------------------------------------------------------------------

    def has_record(self) -> bool:
        return self.run_path.is_file()

    def refuse_others_files(self, names: tuple[str, ...] = (*RUN_FILES, TEXTS_FOLDER)) -> None:
        """Stop before writing into a folder that holds files of these names coder did not write.

        A run folder (coder's run.json, or a stopped run's staging) is coder's own; a run.json of
        another tool stops the run. Elsewhere (`--out .` in a
        project folder, a folder of earlier work) each file a run would replace or remove is checked
        for what coder writes at its start; texts/ is coder's only when empty of anything else.

        Raises:
            OutputError: naming the files that would be lost.
        """
        if self.staging_path.exists() or not self.folder.is_dir():
            return
        if self.has_record():
            # coder's run.json, or a damaged one beside a table coder wrote: a run folder, written anew.
            if written_by_coder(self.run_path) or any(
                    (self.folder / name).exists() and written_by_coder(self.folder / name) for name in RUN_FILES):
                return
            raise OutputError(
                f"{display_name(self.run_path)}: a run.json coder did not write (it does not say \"tool\": \"coder\"): "
                f"the run would replace it and the files beside it. Choose another --out folder, or move it away.")
        others = [name for name in names if (self.folder / name).exists() and not written_by_coder(self.folder / name)]
        if others:
            shown = ", ".join(others[:6]) + (f" and {len(others) - 6} more" if len(others) > 6 else "")
            raise OutputError(
                f"{display_name(self.folder)}: holds {display_name(shown)}, which coder did not write (the folder has "
                f"no run.json): coder would replace them. Choose another --out folder, or move them away.")

    def record(self) -> RunRecord:
        """run.json as a RunRecord (read once).

        >>> RunFolder("outputs").record().codebook_sha256  # doctest: +SKIP
        '3f1c...'
        """
        if self._record is None:
            self._record = self._read_record()
        return self._record

    def record_if_unchanged(self) -> RunRecord | None:
        """The record `record` read already, while run.json is still the file it read (the same
        size, times and inode); None when none was read or the file has changed since."""
        if self._record is None or self._record_stamp is None:
            return None
        try:
            stamp = _file_stamp(self.run_path)
        except OSError:
            return None
        return self._record if stamp == self._record_stamp else None

    def _read_record(self) -> RunRecord:
        path = self.run_path
        self._record_stamp = None
        try:
            stamp = _file_stamp(path)  # before reading: a file changed meanwhile has another stamp
        except OSError:
            stamp = None
        refuse_special_file(path)
        if not path.is_file():
            raise OutputError(
                f"{path}: no run.json found. Pass a folder written by `coder run --out FOLDER` "
                f"or the path of its run.json."
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise OutputError(f"{path}: run.json is not UTF-8 text (damaged, or another file saved under its name). "
                              f"Run `coder run` again to rewrite it.") from None
        except json.JSONDecodeError as error:
            raise OutputError(f"{path}:{error.lineno}: run.json is not valid JSON ({error.msg}). Run `coder run` again to rewrite it.")
        except RecursionError:
            raise OutputError(f"{path}: run.json is nested too deeply to be a run's record. Run `coder run` again to rewrite it.") from None
        if not isinstance(data, dict):
            raise OutputError(f"{path}: run.json must hold a JSON object. Run `coder run` again to rewrite it.")
        record = RunRecord.from_dict(data, folder=str(path.parent), source=str(path))
        self._record_stamp = stamp
        return record

    def has_segments(self) -> bool:
        """True when the run has segment data: segments.csv or segments.parquet."""
        return self.segments_path.is_file() or self.segments_parquet_path.exists()

    def _reads_parquet(self) -> bool:
        """segments.csv is read when there (what a reviewer typed into it counts), else segments.parquet."""
        return not self.segments_path.is_file() and self.segments_parquet_path.exists()

    def read_segments(self, *, columns: list[str] | None = None,
                      segment_ids: Collection[str] | None = None) -> pd.DataFrame:
        """The run's segments in segments.csv's columns: from segments.csv, as coder wrote it or as a
        spreadsheet re-saved it (see `segments.read_segments_csv`), else from segments.parquet
        with each row's text joined from passages.parquet.

        `columns` (Parquet only) reads just those, which for a large run is much less: leave out
        "text" and passages.parquet is not read at all. `segment_ids` keeps only the rows whose id
        (normalised, as `segments.rows_with_segment_ids` reads it) is one of them; from Parquet, the
        texts of those rows only are joined.

        >>> RunFolder("outputs").read_segments(columns=["document", "passage", "code"])  # doctest: +SKIP
        """
        from .segments import read_segments_csv, read_segments_parquet, rows_with_segment_ids

        self._refuse_linked(self.segments_path, self.segments_parquet_path, self.passages_parquet_path)
        if self._reads_parquet():
            passages = self.passages_parquet_path if self.passages_parquet_path.exists() else None
            frame = read_segments_parquet(self.segments_parquet_path, passages=passages, columns=columns,
                                          segment_ids=segment_ids)
            if "text" not in frame.columns and (columns is None or "text" in columns):
                frame.insert(frame.columns.get_loc("matched") + 1 if "matched" in frame.columns else len(frame.columns),
                             "text", "")
            return frame
        frame = self._typed_over_parquet(columns)
        if frame is None:
            frame = read_segments_csv(self.segments_path)
        if segment_ids is not None:
            frame = frame[rows_with_segment_ids(frame["segment_id"], segment_ids)]
        return frame

    def _typed_over_parquet(self, columns: list[str] | None) -> pd.DataFrame | None:
        """segments.csv as `read_segments_csv` reads it, from the Parquet tables beside it with only its
        review and note cells read from the file, or from nothing when the run left it untouched; None
        when it must be read whole (no Parquet tables, an older run's file, rows added, deleted,
        sorted or changed, a legacy code page). A 103 MB segments.csv cost `network`, `sample` and
        `review status` 860-910 MB and 77-93 s against 225-277 MB and 4-16 s from Parquet (probe HH2)."""
        from .segments import (
            PLACING_COLUMNS,
            TYPED_COLUMNS,
            read_segments_parquet,
            read_typed_cells,
            with_typed_cells,
        )

        if not (self.segments_parquet_path.exists() and self.passages_parquet_path.exists()
                and self.segments_path.is_file()) or self.segments_path.suffix.lower() != ".csv":
            return None
        if columns is not None:
            columns = [name for name in (*PLACING_COLUMNS, *TYPED_COLUMNS, *columns) if name in columns
                       or name in (*PLACING_COLUMNS, *TYPED_COLUMNS)]
        untouched = self.segments_file_untouched()
        typed = None if untouched else read_typed_cells(self.segments_path)
        if not untouched and typed is None:
            return None
        try:
            frame = read_segments_parquet(self.segments_parquet_path, passages=self.passages_parquet_path,
                                          columns=list(dict.fromkeys(columns)) if columns is not None else None)
        except OutputError:
            return None  # the file itself is then what the run left to read
        return frame if typed is None else with_typed_cells(frame, typed)

    def segments_file_holds_nothing_typed(self) -> bool:
        """Is segments.csv as the last run left it, or does it hold, in coder's columns only, the rows the run
        wrote in its order with the review and note cells it wrote (a copy of the folder, a sync client's
        rewrite, a spreadsheet's save without a change)? Then nothing can have been typed into it. Told
        from the Parquet tables and the file's placing and typed cells (`segments.read_typed_cells`)."""
        from .segments import (
            OUTPUT_COLUMNS,
            PLACING_COLUMNS,
            TYPED_COLUMNS,
            cells_as_written,
            read_segments_parquet,
            read_typed_cells,
        )

        if self.segments_file_untouched():
            return True
        if not self.segments_parquet_path.exists() or self.segments_path.suffix.lower() != ".csv":
            return False
        typed = read_typed_cells(self.segments_path)
        if typed is None or not set(typed.attrs.get("header", ["?"])) <= {*OUTPUT_COLUMNS, "page"}:
            return False
        try:
            written = read_segments_parquet(self.segments_parquet_path, columns=[*PLACING_COLUMNS, *TYPED_COLUMNS])
        except OutputError:
            return False
        return cells_as_written(written, typed, (*PLACING_COLUMNS, *TYPED_COLUMNS))

    def _refuse_linked(self, *paths: Path) -> None:
        """Stop at a link where the run wrote one of its tables: the folder may have come from someone else,
        and a link may point anywhere (export xlsx read another project's notes through one, probe N6)."""
        for path in paths:
            if path.is_symlink():
                raise OutputError(f"{display_name(path)}: a link, not the file coder wrote; a run's tables are read only "
                                  f"from its own files. Remove the link (or copy what it points to in its place) and run again.")

    def codebook(self, codebook_path: str | Path | None = None) -> Codebook | None:
        """The codebook the run used: `codebook_path` when given; else the file run.json names, if it
        still exists; else the copy kept in run.json; None without run.json."""
        if codebook_path is not None:
            return load_codebook(codebook_path)
        if not self.has_record():
            return None
        record = self.record()
        named = self.named_path(record.codebook) if record.codebook else None
        if named is not None and named.is_file():
            return load_codebook(named)
        return self.stored_codebook() if record.codebook_codes else None

    def named_path(self, name: str | os.PathLike) -> Path:
        """A file run.json names (the codebook, the review file, documents.csv): a relative name is
        relative to the folder the run started in, wherever this command runs (probe KK6: from inside
        the run folder, the review file was looked for, and created, beside it)."""
        path = Path(name)
        started_in = self.record().started_in if self.has_record() else None
        return path if path.is_absolute() or not started_in else Path(os.path.normpath(Path(started_in) / path))

    def stored_codebook(self, *, name: str = "") -> Codebook:
        """The copy of the codebook kept in run.json, as the run used it."""
        record = self.record()
        codebook = codebook_from_records(record.codebook_codes, name=name, unit=record.unit, source=str(self.run_path))
        return replace(codebook, code_kinds=record.code_kinds) if record.code_kinds is not None else codebook

    def passage_total(self) -> int | None:
        """How many passages the run's corpus had (N for the measures); None when unknown."""
        if not self.has_record():
            return None
        passages = self.record().counts.get("passages")
        return int(passages) if isinstance(passages, (int, float)) and passages > 0 else None

    def corpus_path(self) -> Path:
        """The run's corpus folder: the recorded path read from the folder the run started in (as its
        codebook is), else its absolute form, else the path as recorded. Read from the current folder
        first, a run of `coder run . --out ../out` took the folder a later command ran in for its corpus
        (probe AJ3: export xlsx refused out/segments.xlsx as inside it, suggest saw every document moved)."""
        record = self.record()
        recorded = Path(record.corpus)
        candidates = [self.named_path(recorded)] if record.started_in else []
        candidates += [Path(record.corpus_absolute)] if record.corpus_absolute else []
        found = next((path for path in [*candidates, recorded] if path.exists()), self.named_path(recorded))
        # Named as recorded when that is the same folder (a command run where the run was), as its messages did.
        return recorded if os.path.abspath(recorded) == os.path.abspath(found) else found

    def read_segment_index(self, *, columns: Sequence[str] = _INDEX_COLUMNS, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The compact segment index (segment_id, code, document, fingerprint), from segments.parquet,
        else .segments_index.csv (earlier runs) when present and sound, else computed from segments.csv.
        `columns`: only those of the index; `rows` (a mask of the index's rows): only those rows,
        which from segments.parquet are read a row group at a time.

        Raises:
            OutputError: a link where the run wrote a segment table (a run folder received from someone
                else: the run and diff compared with another project's table through one, probe S F3).
        """
        self._refuse_linked(self.segments_parquet_path, self.folder / SEGMENTS_FILE, self.index_path)
        if self.segments_parquet_path.exists():
            from .segments import read_segments_parquet

            return read_segments_parquet(self.segments_parquet_path, columns=list(columns), rows=rows)
        frame = self._read_whole_segment_index()[list(columns)]
        if rows is None:
            return frame
        if len(rows) != len(frame):
            raise OutputError(f"{self.folder}: its segments changed while they were compared. Run the command again.")
        return frame[rows].reset_index(drop=True)

    def _read_whole_segment_index(self) -> pd.DataFrame:
        """read_segment_index() of a run with no segments.parquet."""
        if self.index_path.is_file():
            try:
                frame = read_table(self.index_path)[list(_INDEX_COLUMNS)]
                return frame.assign(segment_id=_current_ids(frame["segment_id"]))
            except (OutputError, KeyError):
                pass  # damaged: fall back to segments.csv
        path = self.folder / SEGMENTS_FILE
        if not path.is_file():
            raise OutputError(f"{display_name(self.folder)}: no segment table beside run.json (neither segments.parquet nor"
                              " segments.csv; a link in their place is neither kept nor followed). Run `coder run`"
                              " again to write one.")
        wanted = ["segment_id", "code", "document", "text"]
        frame = read_table(path)
        missing = [column for column in wanted if column not in frame.columns]
        if missing:
            raise OutputError(f"{path}: missing column(s) {', '.join(missing)}. Pass a segments.csv written by `coder run`.")
        return segment_index(frame)

    def keep_cache_file(self, name: str, write: Callable[[Path], Any] | None) -> None:
        """Keep the file `name` in the cache folder for the next run: `write(path)` writes it, None
        removes it, and so does a failure to write it (OSError, ValueError, TypeError): a missing file
        only costs the next run the full work. Never written through a link planted as the folder."""
        path = self.cache_path / name
        try:
            if write is None or self.cache_path.is_symlink():
                path.unlink(missing_ok=True)
                return
            self.cache_path.mkdir(parents=True, exist_ok=True)
            write(path)
        except (OSError, ValueError, TypeError):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass

    def remember_written_files(self) -> None:
        """Note segments.csv and run.json as this run left them (size, modification and change times,
        inode) with the environment that wrote them (`cache.environment`): the next run need not read
        an untouched segments.csv for typed decisions, and may copy run.json's documents as they are
        written (`with_documents_text_kept`). Kept with the cache: without the note, the next run reads
        segments.csv and encodes the documents."""
        from .cache import environment

        def write(path: Path) -> None:
            written = {name: _file_stamp(file) for name, file in ((SEGMENTS_FILE, self.segments_path),
                                                                  (RUN_FILE, self.run_path)) if file.is_file()}
            write_text(path, json.dumps({"environment": environment(), **written}) + "\n")

        self.keep_cache_file(WRITTEN_STAMP, write)

    def _written_note(self) -> dict[str, Any]:
        """The note `remember_written_files` left ({} when there is none, or it is damaged)."""
        try:
            noted = json_from(read_own_bytes(self.cache_path / WRITTEN_STAMP).decode("utf-8"))
        except (OSError, ValueError):
            return {}
        return noted if isinstance(noted, dict) else {}

    def segments_file_untouched(self) -> bool:
        """Is segments.csv exactly as the last run left it (so nothing was typed into it since)?"""
        try:
            return self._written_note().get(SEGMENTS_FILE) == _file_stamp(self.segments_path)
        except OSError:
            return False

    def with_documents_text_kept(self, record: RunRecord) -> RunRecord:
        """`record` carrying its documents as this folder's run.json writes them, when they are that
        run's documents (`record()` read them) and the file is still the one a run in this environment
        wrote (`remember_written_files`): writing `record` then copies them instead of encoding 8,000
        documents again. Else `record` as it is.

        >>> run.with_documents_text_kept(record).documents_text is not None  # doctest: +SKIP
        True
        """
        from .cache import environment

        last = self._record
        if not record.documents or last is None or self._record_stamp is None:
            return record
        noted = self._written_note()
        # Written by this environment, and read by record(): the same file, its text as this version writes it.
        if noted.get(RUN_FILE) != self._record_stamp or noted.get("environment") != environment():
            return record
        if record.documents != last.documents:  # same version: equal documents are written alike
            return record
        try:
            text = read_own_bytes(self.run_path).decode("utf-8")
            if _file_stamp(self.run_path) != self._record_stamp:
                return record  # changed while read
        except (OSError, ValueError):
            return record
        start = text.find(_DOCUMENTS_KEY)
        end = text.find(_SKIPPED_KEY, start)
        if start < 0 or end < 0:
            return record
        return replace(record, documents_text=text[start + len(_DOCUMENTS_KEY):end])

    def read_written_reviews(self) -> dict[str, tuple[str, str]] | None:
        """{segment id: (review, note)} as the last run wrote them into segments.csv; None when
        the index does not say (a run of an older version, or no run)."""
        if self.segments_parquet_path.exists():
            from .segments import read_segments_parquet

            try:
                frame = read_segments_parquet(self.segments_parquet_path, columns=["segment_id", "review", "note"])
            except OutputError:
                return None
            return dict(zip(frame["segment_id"], zip(frame["review"], frame["note"])))
        if not self.index_path.is_file():
            return None
        try:
            frame = read_table(self.index_path)
        except OutputError:
            return None
        if not {"segment_id", "review", "note"} <= set(frame.columns):
            return None
        ids = _current_ids(frame["segment_id"])
        return dict(zip(ids, zip(frame["review"], frame["note"])))

    def remember_workbook(self, identifier: str, frame: pd.DataFrame, entries: Mapping[str, str] | None = None) -> None:
        """Note the review and note cells of `frame`, which `coder export xlsx` just wrote into this folder's
        segments.xlsx as the workbook named `identifier` (probes WW5, WW6): the next run imports from it only
        the cells changed since, as from segments.csv. Kept with the cache: without the note, every cell of
        the workbook counts as typed. `entries`: {place ("add:..."): segment id} of the review file's entry each
        row noted by its place became when an import took it (reviews.import_pending), for the rows `frame` still
        has: a cell edited there later goes to that entry, wherever its passage moved since (probe ZZ3)."""
        from .reviews import workbook_cells

        def write(path: Path) -> None:
            cells = workbook_cells(frame)
            noted: dict[str, object] = {"workbook": identifier, "cells": cells}
            if entries:
                noted["entries"] = {place: entry for place, entry in entries.items() if place in cells}
            write_text(path, json.dumps(noted, ensure_ascii=False) + "\n")

        self.keep_cache_file(WORKBOOK_WRITTEN, write)

    def read_workbook_written(self, path: str | Path | None = None) -> dict[str, tuple[str, str]] | None:
        """{segment id: (review, note)} as `coder export xlsx` wrote them into the workbook at `path` (by
        default this folder's segments.xlsx), or as the last import read them, edited since or not; None when it
        was not written so: no note (an older version, another folder's workbook copied in), one of another
        workbook, or one that cannot be read.

        >>> run.read_workbook_written()  # doctest: +SKIP
        {'s8a49053fe39cbae8': ('reject', 'not a meeting'), ...}
        """
        record = self.read_workbook_record(path)
        return record[1] if record is not None else None

    def read_workbook_record(
        self, path: str | Path | None = None,
    ) -> tuple[str, dict[str, tuple[str, str]], dict[str, str]] | None:
        """The name the workbook at `path` carries, read_workbook_written()'s cells and the entries of the review
        file its rows noted by their place became ({"add:...": segment id}; none in a record written before they
        were noted, or when they cannot be read), read once: an import notes under that name the cells it read
        (remember_workbook)."""
        book = Path(path) if path is not None else self.workbook_path
        if not same_place(book, self.workbook_path):
            return None
        record = self.cache_path / WORKBOOK_WRITTEN
        try:
            if record.stat().st_size > WORKBOOK_WRITTEN_MAX_BYTES:
                return None
            noted = json_from(read_own_bytes(record).decode("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(noted, dict) or not isinstance(noted.get("cells"), dict) \
                or not isinstance(noted.get("workbook"), str) or not workbook_carries(book, noted["workbook"]):
            return None
        shown = {}
        for identifier, cell in noted["cells"].items():
            if not (isinstance(cell, list) and len(cell) == 2 and all(isinstance(value, str) for value in cell)):
                return None
            # a row coding a passage by hand is noted by its place, "add:..." (reviews.written_cell_keys)
            key = identifier if identifier.startswith("add:") else normalize_segment_id(identifier)
            if key:
                shown[key] = (cell[0], cell[1])
        entries: dict[str, str] = {}
        if isinstance(noted.get("entries"), dict):
            for place, entry in noted["entries"].items():
                if place in shown and place.startswith("add:") and isinstance(entry, str) and normalize_segment_id(entry):
                    entries[place] = normalize_segment_id(entry)
        return noted["workbook"], shown, entries

    def read_written_segments(self) -> dict[str, tuple[str, str, str]] | None:
        """{segment id: (document, code, status)} of the last run's segments (status "" when the table
        does not hold it); None when they cannot be read."""
        try:
            if self.segments_parquet_path.exists():
                from .segments import read_segments_parquet

                frame = read_segments_parquet(self.segments_parquet_path, columns=["segment_id", "document", "code", "status"])
            else:
                frame = self.read_segment_index(columns=("segment_id", "document", "code")).assign(status="")
        except OutputError:
            return None
        return dict(zip(frame["segment_id"], zip(frame["document"], frame["code"], frame["status"])))

    def documents(self) -> list:
        """The run's corpus, read again (for passages coded by hand and samples)."""
        return list(self.read_corpus().documents)

    def recorded_texts(self) -> dict[str, str]:
        """{document: sha256 of its text} as this run and the run before it (in .previous/) recorded them, this
        run's first; {} when neither run.json can be read."""
        texts: dict[str, str] = {}
        for run in (self.previous, self):
            try:
                documents = run.record().documents if run.has_record() else ()
            except CoderError:  # a damaged run.json names no document
                continue
            texts.update((item["path"], item["sha256"]) for item in documents if isinstance(item, dict)
                         and isinstance(item.get("path"), str) and isinstance(item.get("sha256"), str))
        return texts

    def refuse_changed_corpus(self, documents: list, *, why: str) -> None:
        """Stop unless `documents` (read_corpus()'s) are the ones the run coded (run.json's hashes):
        an edited, added or removed file moves every offset and passage after the edit. An extracted
        document whose text comes from texts/ is as the run coded it, whatever its file became."""
        recorded = {str(item.get("path")): str(item.get("sha256") or "") for item in self.record().documents}
        if not recorded:
            return
        found = {document.path: document.sha256 for document in documents}
        kept = {document.path for document in documents if document.is_extracted and self.stored_text(document.path) is not None}
        changed = sorted(path for path in recorded.keys() & found.keys()
                         if recorded[path] and recorded[path] != found[path] and path not in kept)
        added, removed = sorted(found.keys() - recorded.keys()), sorted(recorded.keys() - found.keys())
        if changed or added or removed:
            what = "; ".join(f"{label}: {', '.join(display_name(path) for path in paths[:3])}"
                             + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
                             for label, paths in (("changed", changed), ("added", added), ("removed", removed)) if paths)
            raise OutputError(
                f"{display_name(self.folder)}: {why}, and the corpus is no longer the one it coded ({what}). "
                f"Run `coder run` again, then try this again.")

    def read_passages(self) -> pd.DataFrame:
        """Every passage of the run's corpus: document, passage, start, end, kind, text.

        From passages.parquet, else passages.csv when the run wrote one, else split again from the
        corpus with the run's unit.
        """
        columns = ["document", "passage", "start", "end", "kind", "text"]
        self._refuse_linked(self.passages_parquet_path, self.passages_path)
        if self.passages_parquet_path.exists():
            from .segments import read_passages_parquet

            return read_passages_parquet(self.passages_parquet_path)
        if self.passages_path.is_file():
            frame = read_table(self.passages_path)
            if {"document", "passage", "start", "end", "text"} <= set(frame.columns):
                if "kind" not in frame.columns:
                    frame["kind"] = "body"
                frame = frame[columns].copy()
                for column in ("passage", "start", "end"):
                    frame[column] = pd.to_numeric(frame[column]).astype("int64")
                return frame
        from .passages import split_passages

        unit = self.record().unit if self.record().unit in ("paragraph", "sentence", "document") else "paragraph"
        documents = self.documents()
        self.refuse_changed_corpus(documents, why="the run kept no passages table")
        rows = [
            (passage.document, passage.index, passage.start, passage.end, passage.kind, passage.text)
            for document in documents
            for passage in split_passages(document, unit=unit)  # type: ignore[arg-type]
        ]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"passage": "int64", "start": "int64", "end": "int64"})

    def read_passages_if_any(self) -> pd.DataFrame | None:
        """read_passages(), or None when the folder holds no run or its passages cannot be read as it coded them."""
        try:
            return self.read_passages() if self.has_record() else None
        except (CoderError, OSError):
            return None

    # --- writing ---------------------------------------------------------------------------------

    def write_outputs(self, result: CodingResult, record: RunRecord, *, csv: CsvMode = "auto",
                      partitions: Sequence[Sequence[str]] | None = None,
                      passages_file: Path | None = None, background: bool = False,
                      code_counts: bool = True) -> dict[str, Path]:
        """Write segments.parquet, passages.parquet, code_counts.csv and run.json, and with `csv` (see
        CsvMode) segments.csv and passages.csv, each atomically; returns what was written.
        `code_counts` False: the caller writes code_counts.csv (it keeps its place among the keys).

        `result.segments` may carry a `fingerprint` column (the passage's passage_fingerprint()),
        which goes into segments.parquet for comparing runs. `partitions` (the document paths of
        each part, in corpus order, as `coder run --engine dask` coded them) writes both tables as
        folders of part-NNNNN.parquet files instead of one file each. `passages_file`: a passages.parquet
        that holds `result.passage_table` as this would write it (the last run's, when only some codes
        were matched again): hard-linked, not written again.
        """
        from .segments import (
            passages_to_arrow,
            segments_parquet_table,
            write_parquet,
            write_segments_csv,
        )

        self.folder.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        csv_too = wants_csv(csv, len(result.segments))
        if csv_too:
            written["segments"] = self.folder / SEGMENTS_FILE
            write_segments_csv(result.segments, written["segments"])
        written.update(code_counts=self.code_counts_path, run=self.run_path)
        if csv_too and result.passage_table is not None:
            written["passages"] = write_csv(result.passage_table, self.passages_path)
        # segments.parquet is compressed and written in a second thread (Arrow's writer leaves the GIL)
        # while this one counts the codes and writes the CSVs; the call waits for it, unless `background`:
        # then it returns while segments.parquet and code_counts.csv are still being written (each in a
        # thread), so the caller's next work (the network and report) runs beside them, and
        # `wait_for_writes` (which `staged` calls) waits.
        try:
            if partitions is not None and result.passage_table is not None:
                written.update(self._write_parts(result.segments, result.passage_table, partitions))
            else:
                self.write_in_background(write_parquet, segments_parquet_table(
                    result.segments, passages=result.passage_table), self.segments_parquet_path)
                written["segments_parquet"] = self.segments_parquet_path  # in its place among the keys
                if passages_file is not None:
                    _link_tree(passages_file, self.passages_parquet_path)
                    written["passages_parquet"] = self.passages_parquet_path
                elif result.passage_table is not None:
                    written["passages_parquet"] = write_parquet(passages_to_arrow(result.passage_table),
                                                                self.passages_parquet_path)
            if code_counts:
                documents = [document.path for document in result.corpus.documents]
                _write_code_counts(result.segments, result.codebook, documents, written["code_counts"])
            if self.write_texts(result.corpus.documents):
                written["texts"] = self.texts_path
            self.write_record(record)
        except BaseException:
            _wait_quietly(self)  # nothing left writing into a folder the caller may remove
            raise
        if not background:
            self.wait_for_writes()  # their errors, if any, are this call's
        return written

    def write_in_background(self, write: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call `write(*args, **kwargs)` in a second thread and return its future; `staged` (and
        `wait_for_writes`) wait for it, so a failed run removes nothing still being written."""
        from concurrent.futures import ThreadPoolExecutor

        writer = ThreadPoolExecutor(max_workers=1)
        try:
            future = writer.submit(write, *args, **kwargs)
        finally:
            writer.shutdown(wait=False)
        self._writing.append(future)
        return future

    def wait_for_writes(self) -> None:
        """Wait for the files `write_outputs(background=True)` left writing; raises the first one's error."""
        writing, self._writing = self._writing, []
        errors = [error for error in (future.exception() for future in writing) if error is not None]
        if errors:
            raise errors[0]

    def _write_parts(self, segments: pd.DataFrame, passages: pd.DataFrame,
                     partitions: Sequence[Sequence[str]]) -> dict[str, Path]:
        """segments.parquet/ and passages.parquet/ with one part per partition of documents."""
        from .segments import passages_to_arrow, write_parquet, write_segments_parquet

        part_of = {document: number for number, documents in enumerate(partitions) for document in documents}
        last = max(len(partitions) - 1, 0)  # a row of a document no partition holds goes with the last part
        segment_part = segments["document"].map(part_of).fillna(last).astype("int64").to_numpy()
        passage_part = passages["document"].map(part_of).fillna(last).astype("int64").to_numpy()
        self.segments_parquet_path.mkdir(parents=True, exist_ok=True)
        self.passages_parquet_path.mkdir(parents=True, exist_ok=True)
        for number in range(max(len(partitions), 1)):
            name = f"part-{number:05d}.parquet"
            these = passages[passage_part == number]
            write_segments_parquet(segments[segment_part == number], self.segments_parquet_path / name, passages=these)
            write_parquet(passages_to_arrow(these), self.passages_parquet_path / name)
        return {"segments_parquet": self.segments_parquet_path, "passages_parquet": self.passages_parquet_path}

    def write_document_tables(self, counts_long: pd.DataFrame | Iterable[pd.DataFrame],
                              by_group: pd.DataFrame | None) -> dict[str, Path]:
        """Write code_counts_long.csv (a table, or its parts in order) and, with document variables,
        code_counts_by_group.csv; removes a by-group table left by an earlier run without variables."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / CODE_COUNTS_LONG_FILE
        written = {"code_counts_long": write_csv(_whole_numbers_shown(counts_long), path)
                   if isinstance(counts_long, pd.DataFrame) else write_csv_parts(counts_long, path)}
        by_group_path = self.folder / CODE_COUNTS_BY_GROUP_FILE
        if by_group is not None:
            written["code_counts_by_group"] = write_csv(by_group, by_group_path)
        else:
            by_group_path.unlink(missing_ok=True)
        return written

    def passages_by_document(self) -> dict[str, int]:
        """Each coded document's passage count, as run.json recorded it (in corpus order)."""
        if not self.has_record():
            return {}
        return {str(item["path"]): int(item.get("passages") or 0) for item in self.record().documents if "path" in item}

    def write_texts(self, documents) -> int:
        """Write texts/<document>.txt (UTF-8) for every extracted document; returns how many."""
        extracted = [document for document in documents if document.is_extracted]
        clashes = text_clashes(document.path for document in extracted)
        for document in extracted:
            write_text(self.text_path(document.path, clashes), document.text)
        return len(extracted)

    def prune_texts(self, documents) -> None:
        """Delete the texts/ files the previous run wrote (its run.json, now in .previous/, lists them)
        of documents that are no longer extracted documents of the corpus. A file no run wrote (a
        researcher's own transcripts kept in texts/) is never deleted."""
        if not self.texts_path.is_dir() or self.texts_path.is_symlink():
            return
        extracted = [document.path for document in documents if document.is_extracted]
        clashes = text_clashes(extracted)
        keep = {self.text_path(path, clashes) for path in extracted}
        try:
            previous = self.previous.record().documents if self.previous.has_record() else []
        except CoderError:
            return  # which files the last run wrote cannot be told: none is deleted
        kept_files: set[tuple[int, int]] | None = None  # (device, inode) of each kept file, made when needed
        for item in previous:
            if isinstance(item, dict) and _own_name(item.get("path")) and item.get("text"):
                path = _text_file_in(self.folder, item["text"]) or self.text_path(item["path"])
                if (path not in keep and _stays_in(self.texts_path, path.relative_to(self.texts_path).as_posix())
                        and path.is_file() and not path.is_symlink()):
                    if kept_files is None:
                        kept_files = {_identity(kept) for kept in keep} - {None}
                    if _identity(path) not in kept_files:  # a document renamed by case only, on a disk that
                        path.unlink()                       # ignores case: that name is the new file (probe R7)

    def kept_place_holding(self, path: str | Path) -> tuple[Path, bool] | None:
        """The folder this run folder keeps for itself (texts/, .previous/, .staging/, its caches, a table of
        parts) that `path` is or lies inside, and whether it is that folder itself; None for any other path.
        The next run replaces or deletes what is there."""
        for name in (TEXTS_FOLDER, PREVIOUS_FOLDER, STAGING_FOLDER, EXTRACTION_CACHE_FOLDER, CACHE_FOLDER,
                     SEGMENTS_PARQUET_FILE, PASSAGES_PARQUET_FILE):
            owned = self.folder / name
            try:
                if lies_in(path, owned):
                    return owned, same_place(path, owned)
            except OSError:
                return None
        return None

    def refuse_corpus_inside(self, corpus: str | Path) -> None:
        """Stop when the corpus folder is, or lies inside, a folder coder writes in this run folder
        (texts/, .previous/, its caches): the run would replace or delete the documents."""
        kept = self.kept_place_holding(corpus)
        if kept is not None:
            place, itself = kept
            raise OutputError(
                f"{display_name(corpus)}: the corpus folder {'is' if itself else 'lies inside'} {display_name(place)}, "
                f"which coder writes (and deletes files in) in the --out folder {display_name(self.folder)}: the run "
                f"would replace or delete the documents. Move the documents to a folder of another name, or pass another --out.")

    def read_corpus(self):
        """The run's corpus as it was coded: its recorded --encoding, extracted documents with the
        text kept in texts/ (so offsets point where they pointed), read through the run's cache."""
        from dataclasses import replace

        from .corpus import Corpus, read_corpus

        record = self.record()
        corpus = read_corpus(self.corpus_path(), encoding=record.encoding, extraction_cache=self.extraction_cache_path)
        documents = []
        for document in corpus.documents:
            stored = self.stored_text(document.path) if document.is_extracted else None
            if stored is not None:
                document = replace(document, text=stored)
            documents.append(document)
        return Corpus(root=corpus.root, documents=tuple(documents), skipped=corpus.skipped)

    def stored_text(self, document: str) -> str | None:
        """texts/<document>.txt as the run wrote it; None when it is not there, or not a file of this
        folder: a link (to /etc/passwd, say) anywhere on its way is never followed."""
        path = self._recorded_text_path(document)
        for place in (path, *path.parents):
            if place == self.folder:
                break
            if place.is_symlink():
                return None
        try:
            return read_own_bytes(path).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def write_record(self, record: RunRecord) -> Path:
        """Write run.json (atomically)."""
        home = self.folder.parent if self.folder.name == STAGING_FOLDER else self.folder  # where run.json will lie
        write_text(self.run_path, _record_text(record, home))
        self._record = self._record_stamp = None
        return self.run_path

    def write_segment_index(self, frame: pd.DataFrame) -> Path:  # runs before segments.parquet; kept for tests of them
        """Write the compact segment index beside segments.csv (atomically), with the passage and the
        review and note cells written when `frame` has them."""
        index = segment_index(frame)
        written = [column for column in _WRITTEN_COLUMNS if column in frame.columns]
        if written:
            index = index.assign(**{column: frame[column].to_numpy() for column in written})
        write_csv(index, self.index_path)
        return self.index_path

    def keep_previous(self, into: RunFolder | None = None) -> RunFolder | None:
        """Copy the run.json and segment data already here (segments.parquet and passages.parquet,
        else segments.csv and its index) to `.previous/` (of `into`, else of this folder), before a
        run replaces them.

        Returns the previous run, or None when the folder holds no complete earlier run.

        >>> RunFolder("outputs").keep_previous()  # doctest: +SKIP
        RunFolder('outputs/.previous')
        """
        parquet = self.segments_parquet_path.exists()
        if not self.run_path.is_file() or not (parquet or (self.folder / SEGMENTS_FILE).is_file()):
            return None
        previous = (into if into is not None else self).previous
        if previous.folder.is_symlink():  # planted: the link goes, nothing is written where it points
            previous.folder.unlink()
        previous.folder.mkdir(parents=True, exist_ok=True)
        for name in PREVIOUS_FILES[1:]:
            _remove_path(previous.folder / name)
        if parquet:
            # Parquet files are only ever replaced whole, never edited in place: hard links are safe.
            for table in (self.segments_parquet_path, self.passages_parquet_path):
                if table.exists():
                    _link_tree(table, previous.folder / table.name)
            sources = [self.run_path]
            indexed = False
        else:
            sources = [self.run_path, self.folder / SEGMENTS_FILE]
            indexed = self.index_path.is_file()
            if indexed:
                sources.append(self.index_path)
        for source in sources:
            with atomic_path(previous.folder / source.name) as temporary:
                # With an index the comparison never reads the old segments.csv, so a hard link (free
                # for a file of hundreds of MB) is enough; otherwise keep a true copy.
                if indexed and source.name == SEGMENTS_FILE:
                    temporary.unlink()
                    try:
                        os.link(source, temporary)
                    except OSError:
                        shutil.copyfile(source, temporary)
                else:
                    shutil.copyfile(source, temporary)
        return previous


    # --- saving a run as one unit ------------------------------------------------------------------

    @contextmanager
    def locked(self, *, timeout: float = 0) -> Iterator[RunFolder]:
        """Hold the folder's lock file: a second `coder run` (or review import) here stops with a message.

        The operating system releases the lock when the process ends, however it ends, so a killed
        run never blocks the next one.

        Raises:
            OutputError: another process holds the lock for longer than `timeout` seconds.
        """
        with folder_lock(self.lock_path, timeout=timeout):
            yield self

    def recover(self) -> Recovery | None:
        """Finish or discard what a stopped run left here; returns what was done (None: nothing).

        A staging folder with its manifest holds a complete run whose renames were cut short: they
        are finished ("finished"). Without a manifest the run never completed and .staging/ is
        deleted ("discarded"). Temporary files of earlier versions' single-file writes go too.
        Call it with the lock held.
        """
        done: Recovery | None = None
        if self.staging_path.is_symlink():  # planted: the link goes, nothing is moved out of where it points
            self.staging_path.unlink()
            return "discarded"
        manifest = self._read_manifest()
        if manifest is not None:
            with _interrupts_deferred():
                self._move_in(manifest)
            done = "finished"
        elif self.staging_path.exists():
            self._discard_staging()
            done = "discarded"
        for left in self.folder.glob(f"{STAGING_FOLDER}-left-*"):  # set aside by an earlier run: try again
            if left.name.removeprefix(f"{STAGING_FOLDER}-left-").isdigit() and left.is_dir():
                try:
                    _remove(left)
                except OSError:
                    pass
        for folder, names in ((self.folder, (RUN_FILE, *RUN_FILES)), (self.previous.folder, PREVIOUS_FILES)):
            if folder.is_symlink():  # a .previous planted as a link: nothing is deleted where it points (probe P5)
                continue
            for name in names:
                for temporary in folder.glob(f".{_glob_escape(name)}.*.tmp"):
                    temporary.unlink(missing_ok=True)
                    done = done or "discarded"
        return done

    def named_once_in_place(self, message: str | None) -> str | None:
        """`message` (about a file of the staged run, such as the last run's kept in `.previous/`)
        naming the file where it is once the run is in place, not in `.staging/`."""
        if message is None:
            return None
        return message.replace(display_name(self.staging_path), display_name(self.folder))

    @contextmanager
    def staged(self, *, then: Callable[[], None] | None = None) -> Iterator[RunFolder]:
        """A fresh .staging/ folder to write a whole run into; on success it replaces this folder's run.

        The staged folder's `.previous/` receives this folder's current run (hard links where
        possible). When the block fails, the staging folder is deleted and RunNotSaved (or the
        KeyboardInterrupt) is raised: the files here are as they were. `then` runs once the run is
        in place, with Ctrl-C held back as for the renames (the review file rewritten under renamed
        codes: written before, an interrupted run left it rewritten beside the previous outputs).

        >>> with RunFolder("outputs").staged() as stage:  # doctest: +SKIP
        ...     stage.write_outputs(result, record)
        """
        if self.staging_path.exists():
            stuck = self._discard_staging()
            if stuck is not None and self.staging_path.exists():
                raise OutputError(f"{stuck}. Close the program that holds it, or delete the folder by hand, and run "
                                  f"again. {self.unchanged_note()}")
        stage = RunFolder(self.staging_path)
        try:
            self.staging_path.mkdir(parents=True)
            yield stage
            stage.wait_for_writes()
            write_text(self.staging_path / MANIFEST_FILE, json.dumps(self._manifest(stage), indent=1) + "\n")
        except KeyboardInterrupt:
            _wait_quietly(stage)
            _remove(self.staging_path)
            raise
        except (CoderError, OSError, MemoryError) as error:
            _wait_quietly(stage)
            _remove(self.staging_path)
            raise RunNotSaved(f"{self._problem(error)} {self.unchanged_note()}") from error
        except Exception:  # a bug: reported as one, with its traceback (CODER_TRACEBACK), the stage gone
            _wait_quietly(stage)
            _remove(self.staging_path)
            raise
        with _interrupts_deferred():  # the renames take milliseconds; Ctrl-C then waits for them
            manifest = self._read_manifest() or {}
            self._make_way(manifest)
            self._move_in(manifest)
            if then is not None:
                then()

    def unchanged_note(self) -> str:
        """The sentence telling the user what a failed or interrupted run left here."""
        where = display_name(self.folder)
        if self.has_record():
            return f"The run was not saved: {where} still holds the previous run's outputs, unchanged."
        return f"The run was not saved: no outputs were written to {where}."

    def _problem(self, error: Exception) -> str:
        if isinstance(error, CoderError):
            return str(error).rstrip(".") + "."
        if isinstance(error, OSError):
            where = ""
            if error.filename:
                path = Path(os.fsdecode(error.filename))
                try:  # name the file the run was writing, not its staging copy
                    path = self.folder / path.relative_to(self.staging_path)
                except ValueError:
                    pass
                where = f"{display_name(path)}: "
            return f"{where}{error.strerror or error}."
        return f"Could not write the outputs ({type(error).__name__}: {error})."

    def _manifest(self, stage: RunFolder) -> dict[str, list[str]]:
        """What to rename into place (run.json last) and which files of the old run to delete."""
        files = sorted(
            path.relative_to(stage.folder).as_posix() for path in stage.folder.rglob("*")
            if path.is_file() and path.name != MANIFEST_FILE
        )
        files.sort(key=lambda name: name == RUN_FILE)
        known = [*RUN_FILES, RUN_FILE, *(f"{PREVIOUS_FOLDER}/{name}" for name in PREVIOUS_FILES)]
        tops = {name for file in files for name in _prefixes(file)}
        return {"files": files, "remove": [name for name in known if name not in tops]}

    def _read_manifest(self) -> dict[str, list[str]] | None:
        path = self.staging_path / MANIFEST_FILE
        try:
            data = json_from(read_own_bytes(path).decode("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(key), list) for key in ("files", "remove")):
            return None
        if not all(_own_name(name) for key in ("files", "remove") for name in data[key]):
            return None  # a name out of the folder: no manifest coder wrote (the staging is discarded)
        return data

    def _make_way(self, manifest: dict[str, list[str]]) -> None:
        """Move the files the run replaces or removes into .staging/ first, and so find a file another
        program holds (Windows refuses to rename a file open in Excel) before anything changed: the
        files moved go back, the staging is deleted, and RunNotSaved says which file it was. The run
        used to stop halfway through its renames, the folder holding new and old files together.

        What was moved aside goes with .staging/ once the new files are in; a run stopped after this
        step is finished by recover() as before (every new file is still in .staging/).
        """
        aside = self.staging_path / _REPLACED_FOLDER
        moved: list[tuple[Path, Path]] = []
        for name in [*manifest.get("files", []), *manifest.get("remove", [])]:
            target = self.folder / name
            if target.is_symlink() or not target.is_file() or not _stays_in(self.folder, name):
                continue  # a link is replaced or removed, never moved; a folder of parts is not held so
            held = aside / name
            try:
                held.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, held)
            except OSError as error:
                kept = self._put_back(moved)
                if kept:
                    _remove(self.staging_path)
                where = display_name(target)
                reason = error.strerror or str(error)
                raise RunNotSaved(
                    f"{where}: {reason}. Is it open in another program (Excel, R, a viewer)? Close it and run "
                    f"again. {self.unchanged_note() if kept else 'Run coder again to finish writing the outputs.'}"
                ) from error
            moved.append((held, target))

    @staticmethod
    def _put_back(moved: list[tuple[Path, Path]]) -> bool:
        """Rename each moved file back where it was; False when one could not be."""
        back = True
        for held, target in reversed(moved):
            try:
                os.replace(held, target)
            except OSError:
                back = False
        return back

    def _move_in(self, manifest: dict[str, list[str]]) -> None:
        """Rename the staged files into place, delete the old run's extra files, remove .staging/.

        Each step can be repeated, so a run stopped halfway is finished by doing it all again.
        """
        files = manifest.get("files", [])
        # A table written as one file replaces a folder of parts and the other way round; parts of
        # the old run the new one does not have are removed after the renames.
        tables = {name.rsplit("/", 1)[0] for name in files if name.endswith(".parquet") and "/" in name}
        for name in files:
            source, target = self.staging_path / name, self.folder / name
            # (a link inside .staging, .staging/texts -> elsewhere, moved a file of elsewhere in; probe P4)
            if source.is_file() and not source.is_symlink() and _stays_in(self.staging_path, name):
                for parent in _prefixes(name)[:-1]:
                    if (self.folder / parent).is_file() or (self.folder / parent).is_symlink():
                        (self.folder / parent).unlink()  # a file or a link where a folder of ours goes
                if target.is_dir():
                    _remove(target)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        listed = set(files)
        for table in tables:
            if (self.folder / table).is_symlink() or not _stays_in(self.folder, table):
                continue
            for path in (self.folder / table).glob("*.parquet"):
                if f"{table}/{path.name}" not in listed:
                    path.unlink(missing_ok=True)
        for name in manifest.get("remove", []):
            if _stays_in(self.folder, name):
                _remove_path(self.folder / name)
        self._record = None
        # The run is in place: a file left in .staging/ (of those it replaced) that cannot be deleted is a
        # warning, not a failed run (probe AH5).
        self._discard_staging()

    def _discard_staging(self) -> str | None:
        """Delete .staging/, which holds no run to finish. When a file in it cannot be deleted (another
        program holds it), rename the folder aside so that it stops no later run; `leftover` says so.
        Returns why it could not be deleted, None when it went."""
        try:
            _remove(self.staging_path)
            return None
        except OSError as error:
            where = f"{display_name(os.fsdecode(error.filename))}: " if error.filename else ""
            problem = f"{where}{error.strerror or error}"
        names = (self.folder / f"{STAGING_FOLDER}-left-{number}" for number in range(1, 1000))
        aside = next((name for name in names if not name.exists() and not name.is_symlink()), None)
        cannot = f"{display_name(self.staging_path)} could not be deleted ({problem})"
        try:
            if aside is None:
                raise OSError("no free name")
            os.replace(self.staging_path, aside)
        except OSError:
            self.leftover = f"{cannot}. It holds no outputs, only files of an earlier run; delete it by hand."
            return cannot
        self.leftover = (f"{cannot}; it was renamed {display_name(aside)}. It holds no outputs, only files of an "
                         f"earlier run; delete it by hand.")
        return cannot


def _write_code_counts(segments: pd.DataFrame, codebook: Codebook, documents: list[str], path: Path) -> Path:
    """code_counts.csv of the segments that count (not rejected), documents in corpus order."""
    from .segments import build_code_counts, drop_rejected

    return write_csv(build_code_counts(drop_rejected(segments), codebook, documents), path)


def _prefixes(name: str) -> list[str]:
    """"a/b/c" -> ["a", "a/b", "a/b/c"]: the folders a staged file sits in, and itself."""
    parts = name.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]


def _own_name(name: object) -> bool:
    """Is `name` one a run writes in its folder (a manifest's, a document's path in run.json): relative,
    no empty, "." or ".." part, no drive (and no backslash on Windows)? Names from the folder's files
    may come from someone else: nothing they name is deleted or moved outside the folder."""
    if not isinstance(name, str) or not name or "\x00" in name or name.startswith("/") or _DRIVE.match(name):
        return False
    if os.sep == "\\" and "\\" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


_DRIVE = re.compile(r"[A-Za-z]:")


def _stays_in(folder: Path, name: str) -> bool:
    """No folder on the way from `folder` to `folder / name` (the last part aside) is a link: the path stays
    in the folder, whatever a received folder planted."""
    path = folder
    for part in name.split("/")[:-1]:
        path = path / part
        if path.is_symlink():
            return False
    return True


def _text_file_in(folder: Path, name: object) -> Path | None:
    """The file run.json names as a document's text (`text`), when it is a file of `folder`'s texts/."""
    if _own_name(name) and name.startswith(f"{TEXTS_FOLDER}/") and (folder / name).is_file():
        return folder / name
    return None


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode); None when it is not there."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _remove_path(path: Path) -> None:
    """Delete a file or a folder (a Parquet table of parts), if there; a link, never what it points to."""
    if path.is_dir():  # a link to a folder too: _remove unlinks it
        _remove(path)
    else:
        path.unlink(missing_ok=True)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link a file, or each file of a folder, at `target` (copy where links are not possible).
    Links, and anything but regular files and folders, are left out: never followed out of the run folder."""
    if source.is_symlink() or not (source.is_file() or source.is_dir()):
        return
    pairs = [(source, target)] if source.is_file() else [
        (file, target / file.name) for file in sorted(source.iterdir()) if file.is_file() and not file.is_symlink()]
    for origin, destination in pairs:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(destination) as temporary:
            temporary.unlink()
            try:
                os.link(origin, temporary)
            except OSError:
                shutil.copyfile(origin, temporary)


_DOCUMENTS_KEY = '\n  "documents": '  # where run.json's documents start (the keys before it hold no list)
_SKIPPED_KEY = ',\n  "skipped": '  # and where they end (no text holds a line break: strings escape it)


# What each file coder writes starts with (its first line for a CSV, read with the BOM or as UTF-16
# after a spreadsheet saved it again); a page or a graph holds the marker in its first megabyte (the
# report inlines 220 KB of styles before it).
_OWN_STARTS = {
    CODE_COUNTS_FILE: ("code,code_path,label",), CODE_COUNTS_LONG_FILE: ("document,code,passages",),
    CODE_COUNTS_BY_GROUP_FILE: ("code,", "variable,value,code,"), NETWORK_FILES["codes"]: ("code,label,code_path",),
    NETWORK_FILES["cooccurrence"]: ("source,target,source_label",), NETWORK_FILES["matrix"]: ("code,",),
    PASSAGES_FILE: ("document\tpassage", "document,passage", "document;passage"),
    CHANGES_FILE: ("code,change,detail",), SEGMENT_INDEX_FILE: ("",),
    AGREEMENT_FILE: (AGREEMENT_HEADER,),
}
_OWN_MARKERS = {
    SEGMENTS_FILE: b"segment_id", NETWORK_FILES["report"]: b'id="coder-', NETWORK_FILES["html"]: b"report.html",
    NETWORK_FILES["graphml"]: b'attr.name="code_path"', NETWORK_FILES["gexf"]: b'title="code_path"',
    SEGMENTS_PARQUET_FILE: b"PAR1", PASSAGES_PARQUET_FILE: b"PAR1", RUN_FILE: b'"tool": "coder"',
}


def written_by_coder(path: Path) -> bool:
    """Does the file (or folder) at `path`, named as one coder writes, start as coder writes it?"""
    if path.name == TEXTS_FOLDER:  # a folder of .txt files may as well be someone's transcripts
        return path.is_dir() and not path.is_symlink() and all(item.is_dir() for item in path.rglob("*"))
    if not path.is_file():
        return False
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 20)
    except OSError:
        return False
    if path.name in _OWN_MARKERS:
        marker = _OWN_MARKERS[path.name]
        return head.startswith(marker) if marker == b"PAR1" else (
            marker in head or marker.decode().encode("utf-16-le") in head)
    encoding = "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    first = head.decode(encoding, "ignore").split("\n", 1)[0].strip()
    return any(first.startswith(start) for start in _OWN_STARTS.get(path.name, ("",)))


def _record_text(record: RunRecord, folder: Path) -> str:
    """run.json's text: json.dumps with indent 2, whose Python encoder spends most of its time on the
    documents (about 0.15 s for 8,000 of them). They are `record.documents_text` when it holds them
    already (`RunFolder.with_documents_text_kept`), else written by `_documents_text` (the C encoder)
    where they are plain."""
    data = record.to_dict()
    if data.get("started_in") and os.path.isabs(data["started_in"]):
        try:
            data["started_in"] = Path(os.path.relpath(data["started_in"], os.path.abspath(folder))).as_posix()
        except ValueError:  # another drive (Windows): kept absolute
            pass
    kept = record.documents_text if data["documents"] else None
    if kept is None:
        kept = _documents_text(data["documents"])
    if kept is None:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    data["documents"] = []
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    head, empty, tail = text.partition(_DOCUMENTS_KEY + "[]")
    return head + _DOCUMENTS_KEY + kept + tail


_PLAIN_VALUES = (str, int, float, type(None))  # bool is an int
_MARK = ",\x00"  # an item separator no JSON text holds otherwise (strings escape control characters)


def _documents_text(documents: list[Any]) -> str | None:
    """run.json's documents (at its first nesting level) as json.dumps(..., indent=2) writes them, made by
    one call of the C encoder: with an indent json.dumps runs its Python encoder, 0.04-0.05 s of CPU for
    the 50 MB benchmark's 8,376 documents and several times that in wall time while a run's other threads
    want the GIL (it gives the GIL up every few milliseconds; one C call keeps it). Each document is
    written on one line, items parted by _MARK, then the marks become line breaks and indents: a mark
    after "}" parts two documents, any other parts two items of one (their values are plain, so no
    other "}" comes before a mark). None (written as usual) when a document is not a non-empty object
    of text keys and plain values."""
    if not documents or not all(
        type(document) is dict and document
        and all(isinstance(key, str) and isinstance(value, _PLAIN_VALUES) for key, value in document.items())
        for document in documents
    ):
        return None
    text = json.dumps(documents, ensure_ascii=False, separators=(_MARK, ": "))
    body = text[2:-2].replace("}" + _MARK + "{", "\n    }," + "\n    {\n      ").replace(_MARK, ",\n      ")
    return "[\n    {\n      " + body + "\n    }\n  ]"


def wants_csv(mode: CsvMode, segments: int) -> bool:
    """Whether a run with this many segments gets segments.csv and passages.csv under `--csv mode`.

    >>> wants_csv("auto", 150), wants_csv("auto", 2_000_000), wants_csv("never", 1)
    (True, False, False)
    """
    if mode not in CSV_MODES:
        raise OutputError(f"--csv must be one of {', '.join(CSV_MODES)}, not '{mode}'.")
    return mode == "always" or (mode == "auto" and segments <= CSV_AUTO_MAX_SEGMENTS)


def _wait_quietly(stage: RunFolder) -> None:
    """Wait for what `stage` is still writing, its errors dropped (the run failed already)."""
    try:
        stage.wait_for_writes()
    except BaseException:  # noqa: BLE001 - the error that stopped the run is the one to report
        pass


def _remove(folder: Path) -> None:
    if folder.is_symlink():  # planted where a folder of ours goes: the link goes, never what it points to
        folder.unlink()
        return
    # A read-only file (Windows refuses to delete one; a segments.csv the user marked read-only is moved
    # into .staging/.replaced/ by the next run) has the flag cleared; any other error names its file.
    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=_deleted_writable)
    else:
        shutil.rmtree(folder, onerror=lambda function, path, info: _deleted_writable(function, path, info[1]))


def _deleted_writable(function: Callable[..., Any], path: str, error: BaseException) -> None:
    """shutil.rmtree's error handler: delete a read-only file or folder again with its write bit set;
    re-raise any other error."""
    if not isinstance(error, PermissionError) or function not in (os.unlink, os.remove, os.rmdir):
        raise error
    try:
        os.chmod(path, os.lstat(path).st_mode | stat.S_IWRITE)
    except OSError:
        raise error from None
    function(path)


def _glob_escape(name: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block is done (only the main thread can catch signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda number, frame: None)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def read_run(run: str | Path) -> RunRecord:
    """Read a run folder (or its run.json path) into a RunRecord.

    >>> read_run("outputs").codebook_sha256  # doctest: +SKIP
    '3f1c...'
    """
    return RunFolder.at(run).record()


def segment_index_of_table(table: Any) -> pd.DataFrame:
    """`RunFolder.read_segment_index()` of a run whose segments.parquet was read already as the Arrow
    `table` (holding the index's columns): the same frame, without reading the file again."""
    from .segments import segments_of_table

    return segments_of_table(table, _INDEX_COLUMNS)


def segment_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The compact form of a segments frame that comparisons need (see SEGMENT_INDEX_FILE)."""
    if "fingerprint" in frame.columns:
        return frame[list(_INDEX_COLUMNS)]
    fingerprints = _row_fingerprints(frame)
    return pd.DataFrame({
        "segment_id": _current_ids(frame["segment_id"]), "code": frame["code"].astype(str).to_numpy(),
        "document": frame["document"].astype(str).to_numpy(), "fingerprint": fingerprints,
    }, columns=list(_INDEX_COLUMNS))


def _row_fingerprints(frame: pd.DataFrame) -> list[str]:
    """passage_fingerprint() of each row's passage, a repeat of a text in its document numbered
    (`numbered_copies`) among the frame's distinct passages in passage order."""
    plain = [passage_fingerprint(str(document), str(text)) for document, text in zip(frame["document"], frame["text"])]
    numbers = pd.to_numeric(frame["passage"], errors="coerce") if "passage" in frame.columns else None
    if len(set(plain)) == len(plain) or numbers is None or numbers.isna().any():
        return plain
    passages = pd.DataFrame({"fingerprint": plain, "passage": numbers.to_numpy()})
    distinct = passages.drop_duplicates().sort_values("passage", kind="stable")
    numbered = dict(zip(zip(distinct["fingerprint"], distinct["passage"]), numbered_copies(distinct["fingerprint"].tolist())))
    return [numbered[key] for key in zip(passages["fingerprint"], passages["passage"])]


def _current_ids(ids: pd.Series) -> list[str]:
    """Segment ids in the current form; ids of runs before the "s" prefix gain it."""
    return [normalize_segment_id(value) or str(value) for value in ids]
