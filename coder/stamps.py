"""Stage 2 (check): is the corpus what the last run read? Decided by file stamps, without reading it.

A run takes every corpus file's stamp (size, modification and change times in nanoseconds, inode)
before it reads the corpus, and keeps them beside the hash of each document's decoded text
(`save_corpus_stamps`, in the run's `.cache/`). The next run asks `corpus_unchanged`: True only
when the same files are there under the same names, none is a link or anything but a regular
file, the options that decide how a file is read are the same (tool version, forced encoding,
extensions), and every file has its stamp, or failing that, the same hash when read again.

A file changed within `RACY_NANOSECONDS` of the moment its stamp was taken may change again
without a new stamp (file times are coarse), so it is read again, as git does with "racily clean"
files; so are extracted documents (PDF, Word, ...), through the extraction cache: their text
depends on more than their bytes. Anything unexpected answers False: the caller reads the
corpus as usual.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from .corpus import (
    DEFAULT_EXTENSIONS, DOCUMENTS_FILE, Corpus, CorpusFile, Document, SkippedFile, StoredDocument, is_text_file,
    iter_corpus_files, read_corpus_file, read_document,
)
from .errors import CoderError
from .extract import EXTRACTED_EXTENSIONS
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import display_name, read_own_bytes, write_text

if TYPE_CHECKING:
    from .runs import RunFolder

__all__ = [
    "CORPUS_STAMPS_FILE", "CorpusStamps", "corpus_unchanged", "known_corpus", "save_corpus_stamps", "take_corpus_stamps",
]

CORPUS_STAMPS_FILE = "corpus_stamps.json"  # in the run's cache folder
RACY_NANOSECONDS = 2_000_000_000
_EXTRACTED_ENDINGS = tuple(EXTRACTED_EXTENSIONS)
_FORMAT = 2  # 2: the files' stamps, hashes, formats and skip reasons as columns


@dataclass(frozen=True)
class CorpusStamps:
    """The stamp of every file of a corpus, taken at `taken` (time.time_ns()) before reading it."""

    root: str  # the corpus path, resolved
    taken: int
    files: dict[str, tuple[int, int, int, int]]  # relative path -> (size, mtime_ns, ctime_ns, inode)
    # relative path -> file (a string: a Path per file was ~200 bytes more, held through a run)
    paths: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def take_corpus_stamps(corpus: str | Path) -> CorpusStamps | None:
    """Every file's stamp under `corpus`, as `read_corpus` lists them; None when a stamp cannot vouch
    for a file (a link, a pipe, a file that cannot be looked at) or the corpus cannot be listed.
    `corpus` itself may be a link (a researcher's shortcut to a shared folder): the stamps keep the
    folder it resolves to, and are kept only if it still resolves there once the corpus is read.

    >>> stamps = take_corpus_stamps("seeds")  # doctest: +SKIP
    """
    taken = time.time_ns()
    root = Path(corpus)
    resolved = os.path.realpath(root)
    files: dict[str, tuple[int, int, int, int]] = {}
    paths: dict[str, str] = {}
    try:
        found = _corpus_files(root)
        if root.is_dir():  # documents.csv is not a document: read_corpus skips it too
            found = [(relative, path) for relative, path in found if relative != DOCUMENTS_FILE]
        lstat, is_regular = os.lstat, stat.S_ISREG
        for relative, path in found:
            status = lstat(path)
            if not is_regular(status.st_mode):
                return None  # a link may point elsewhere tomorrow with the same stamp
            files[relative] = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
        paths = dict(found)
    except (OSError, CoderError, ValueError):
        return None
    return CorpusStamps(root=resolved, taken=taken, files=files, paths=paths)


def _corpus_files(root: Path) -> list[tuple[str, str]]:
    """(relative name, path) of every file `corpus.iter_corpus_files` lists, without a Path per file
    (a corpus of thousands of files). Should the two ever list differently, `save_corpus_stamps`
    finds the stamps and the corpus read disagree and keeps no stamps."""
    if not root.is_dir():
        return list((relative, str(path)) for relative, path in iter_corpus_files(root))
    top = os.fspath(root)
    found: list[tuple[str, str]] = []
    for folder, subfolders, names in os.walk(top):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        prefix = os.path.relpath(folder, top).replace(os.sep, "/")
        prefix = "" if prefix == "." else prefix + "/"
        names = [name for name in names if not name.startswith(".")]
        start = folder if folder.endswith(os.sep) else folder + os.sep  # os.path.join's, without its checks per file
        relatives = [prefix + name for name in names] if prefix else names
        if display_name("/".join(relatives)) != "/".join(relatives):  # a name to escape ("/" is never escaped)
            relatives = [display_name(relative) for relative in relatives]
        found.extend(zip(relatives, [start + name for name in names]))
    found.sort(key=lambda item: item[0])
    return found


def save_corpus_stamps(
    path: str | Path, stamps: CorpusStamps | None, corpus: Corpus, *, encoding: str | None = None,
) -> None:
    """Keep `stamps` with what reading the corpus gave (each document's hash, each skipped file's
    reason) at `path`. Without stamps, or when they and the corpus read do not list the same
    files (one came or went meanwhile), the file is removed: the next run reads the corpus. A file
    that holds all this already, stamped earlier and with no stamp in its racy window, is kept."""
    path = Path(path)
    try:
        files = list(stamps.files) if stamps is not None else []
        if not corpus.skipped and [document.path for document in corpus.documents] == files:
            listed_alike = True  # the common case, without a dict of every file
            hashes = [document.sha256 for document in corpus.documents]
            formats = [document.format for document in corpus.documents]
            reasons: list[str | None] = [None] * len(files)
        else:
            found = {document.path: (document.sha256, document.format, None) for document in corpus.documents}
            found.update({skipped.path: (None, None, skipped.reason) for skipped in corpus.skipped})
            listed_alike = stamps is not None and found.keys() == stamps.files.keys()
            columns = [found[relative] for relative in files] if listed_alike else []
            hashes, formats, reasons = ([column[index] for column in columns] for index in range(3))
        if (stamps is None or not listed_alike or path.parent.is_symlink()
                or os.path.realpath(corpus.root) != stamps.root):  # a link to the corpus moved while it was read
            path.unlink(missing_ok=True)
            return
        from . import __version__

        header = {"format": _FORMAT, "tool_version": __version__, "root": stamps.root,
                  "encoding": check_encoding(encoding) if encoding else None, "extensions": sorted(DEFAULT_EXTENSIONS)}
        columns = {"files": files, "stamps": list(chain.from_iterable(stamps.files.values())), "sha256": hashes,
                   "formats": formats, "skipped": reasons}
        kept = _read_kept_stamps(path) if path.is_file() else None
        if (kept is not None and kept.header == header and kept.columns == columns and kept.taken <= stamps.taken
                and _newest_stamp(columns["stamps"]) < kept.taken - RACY_NANOSECONDS):
            # Only `taken` would change: every file is told the same way under the older one.
            return
        data = {**header, "taken": stamps.taken, **columns}
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(data, ensure_ascii=False) + "\n")
    except (OSError, CoderError):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # only costs reading the corpus next time


@dataclass(frozen=True)
class _KeptStamps:
    """A stamp file as `save_corpus_stamps` writes it, its types checked."""

    header: dict  # format, tool version, root, encoding and extensions
    taken: int
    columns: dict[str, list]  # files, stamps (4 numbers a file), sha256, formats, skipped (one a file)


_COLUMNS = ("files", "stamps", "sha256", "formats", "skipped")
_HEADER = ("format", "tool_version", "root", "encoding", "extensions")


def _read_kept_stamps(path: str | Path) -> _KeptStamps | None:
    """The stamp file at `path`, or None when it is missing, damaged, or not one `save_corpus_stamps`
    writes (each file a document, with its hash and format, or skipped, with its reason)."""
    try:
        data = json.loads(read_own_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.keys() == {*_HEADER, "taken", *_COLUMNS}
            and type(data["taken"]) is int and all(type(data[name]) is list for name in _COLUMNS)):
        return None
    files, numbers, hashes, formats, reasons = (data[name] for name in _COLUMNS)
    text_or_none = {str, type(None)}
    if not (len(numbers) == 4 * len(files) and len(hashes) == len(formats) == len(reasons) == len(files)
            and {*map(type, files)} <= {str} and {*map(type, numbers)} <= {int} and {*map(type, hashes)} <= text_or_none
            and {*map(type, formats)} <= text_or_none and {*map(type, reasons)} <= text_or_none
            and [sha256 is None for sha256 in hashes] == [reason is not None for reason in reasons]
            == [kind is None for kind in formats]):
        return None
    return _KeptStamps(header={name: data[name] for name in _HEADER}, taken=data["taken"],
                       columns={name: data[name] for name in _COLUMNS})


def _newest_stamp(numbers: list[int]) -> int:
    """The latest modification or change time among stamps laid out 4 numbers a file (-1 for none)."""
    return max(max(numbers[1::4], default=-1), max(numbers[2::4], default=-1))


def corpus_unchanged(
    run: RunFolder,
    corpus: str | Path,
    *,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    now: CorpusStamps | None = None,
) -> bool:
    """Would reading `corpus` now give exactly the documents (paths and text hashes) and skipped
    files of the run in `run`, as its run.json lists them? Answered from file stamps; files
    changed within two seconds of their stamp, and extracted documents, are read again. `now`: the
    stamps this run took already (`take_corpus_stamps`), else they are taken here.

    >>> corpus_unchanged(RunFolder("outputs"), "seeds")  # doctest: +SKIP
    True
    """
    try:
        record = run.record()
        documents = [(str(entry["path"]), str(entry["sha256"])) for entry in record.documents]
        skipped = [(str(entry["path"]), str(entry["reason"])) for entry in record.skipped]
    except (CoderError, KeyError, TypeError):
        return False
    return stamps_match(run.cache_path / CORPUS_STAMPS_FILE, corpus, documents=documents, skipped=skipped,
                        encoding=encoding, extraction_cache=extraction_cache, now=now)


def known_corpus(run: RunFolder, corpus: str | Path, *, encoding: str | None = None,
                 extraction_cache: ExtractionCache | None = None, stamps: CorpusStamps | None = None) -> Corpus | None:
    """The corpus as the run in `run` read it, when its files are unchanged (`corpus_unchanged`),
    without reading the text files: each is a StoredDocument (its text read when asked for, and
    refused if its file changed since); extracted documents (PDF, Word, ...) are read again, through
    `extraction_cache`. None when anything differs. `stamps`: the corpus files' stamps this run took
    (else taken here).

    >>> known_corpus(RunFolder("outputs"), "seeds")  # doctest: +SKIP
    """
    stamps = stamps or take_corpus_stamps(corpus)
    if stamps is None or not corpus_unchanged(run, corpus, encoding=encoding, extraction_cache=extraction_cache,
                                              now=stamps):
        return None
    forced = check_encoding(encoding) if encoding else None
    try:
        record = run.record()
        documents: list[Document] = []
        for known in record.documents:
            # The stamps list regular files only (no links): the files corpus_entries would give.
            relative = str(known["path"])
            file = stamps.paths[relative]
            if "format" not in known and is_text_file(file):
                if not isinstance(known.get("encoding"), str):
                    return None
                # (document path, file): no Path per file unless its text is read
                documents.append(StoredDocument((relative, file), encoding=known["encoding"],
                                                sha256=str(known["sha256"]), forced_encoding=forced))
                continue
            read = read_corpus_file(CorpusFile(relative, Path(file)), encoding=forced,
                                    extraction_cache=extraction_cache)  # PDF, Word, ...
            if isinstance(read, SkippedFile) or read.sha256 != known["sha256"]:
                return None
            documents.append(read)
        skipped = tuple(SkippedFile(str(entry["path"]), str(entry["reason"])) for entry in record.skipped)
    except (CoderError, KeyError, TypeError, AttributeError):
        return None
    return Corpus(root=str(corpus), documents=tuple(documents), skipped=skipped)


def stamps_match(
    path: str | Path,
    corpus: str | Path,
    *,
    documents: Iterable[tuple[str, str]],
    skipped: Iterable[tuple[str, str]],
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    now: CorpusStamps | None = None,
) -> bool:
    """`corpus_unchanged` against the stamps kept at `path` and an expected list of documents
    ((path, sha256), in corpus order) and skipped files ((path, reason))."""
    from . import __version__

    kept = _read_kept_stamps(path)
    try:
        forced = check_encoding(encoding) if encoding else None
    except CoderError:
        return False
    if kept is None or kept.header != {"format": _FORMAT, "tool_version": __version__, "root": os.path.realpath(corpus),
                                       "encoding": forced, "extensions": sorted(DEFAULT_EXTENSIONS)}:
        return False
    files, numbers, hashes = kept.columns["files"], kept.columns["stamps"], kept.columns["sha256"]
    expected = list(documents)
    expected_skipped = dict(skipped)
    # The stamps must describe the same run as run.json: the same documents, hashes and skipped files.
    if ([(relative, sha256) for relative, sha256 in zip(files, hashes) if sha256 is not None] != expected
            or {relative: reason for relative, reason in zip(files, kept.columns["skipped"]) if reason is not None}
            != expected_skipped or len(files) != len(expected) + len(expected_skipped)):
        return False
    if now is None or now.root != os.path.realpath(corpus):
        now = take_corpus_stamps(corpus)
    if now is None or list(now.files) != files:
        return False
    settled = kept.taken - RACY_NANOSECONDS
    if (list(chain.from_iterable(now.files.values())) == numbers and _newest_stamp(numbers) < settled
            and not _any_extracted(files)):
        return True  # the common case, told in lists rather than file by file
    for index, (relative, stamp) in enumerate(now.files.items()):
        old_stamp = tuple(numbers[4 * index:4 * index + 4])
        extracted = os.path.splitext(relative)[1].lower() in EXTRACTED_EXTENSIONS
        racy = max(old_stamp[1], old_stamp[2]) >= settled
        if stamp == old_stamp and not racy and not extracted:
            continue
        if hashes[index] is None:
            return False  # a skipped file changed: why it is skipped may have changed too
        if not _same_text(Path(corpus), Path(now.paths[relative]), relative, hashes[index], encoding=encoding,
                          extraction_cache=extraction_cache):
            return False
    return True


def _any_extracted(files: list[str]) -> bool:
    """Might one of `files` be extracted (PDF, Word, ...)? A newline in a name can only make it seem so."""
    names = "\n".join(files).lower() + "\n"
    return any(ending + "\n" in names for ending in _EXTRACTED_ENDINGS)


def _same_text(corpus: Path, file_path: Path, relative: str, sha256: str, *, encoding: str | None,
               extraction_cache: ExtractionCache | None) -> bool:
    """Does the file read now give the document `relative` with the text whose hash is `sha256`?"""
    try:
        document = read_document(file_path, relative_to=corpus if corpus.is_dir() else None, encoding=encoding,
                                 extraction_cache=extraction_cache)
    except (CoderError, OSError, ValueError):
        return False
    return document.path == relative and document.sha256 == sha256
