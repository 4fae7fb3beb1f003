"""Stage 2 (check): is the corpus what the last run read? Decided by file stamps, without reading it.

A run takes every corpus file's stamp (size, modification and change times in nanoseconds, inode)
before it reads the corpus, and keeps them beside the hash of each document's decoded text
(`save_corpus_stamps`, in the run's `.cache/`). The next run asks `corpus_unchanged`: True only
when the same files are there under the same names, none is a link or anything but a regular
file, the options that decide how a file is read are the same (tool version, forced encoding,
extensions), and every file has its stamp, or failing that, the same hash when read again (every
file of a corpus that was moved or copied elsewhere).

A file changed within `RACY_NANOSECONDS` of the moment its stamp was taken may change again
without a new stamp (file times are coarse), so it is read again, as git does with "racily clean"
files; so are extracted documents (PDF, Word, ...), through the extraction cache: their text
depends on more than their bytes. Anything unexpected answers False: the caller reads the
corpus as usual.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from .corpus import (
    DEFAULT_EXTENSIONS,
    Corpus,
    CorpusFile,
    Document,
    SkippedFile,
    StoredDocument,
    document_variables_name,
    is_text_file,
    iter_corpus_files,
    read_corpus_file,
    read_document,
    unsupported_type,
)
from .errors import CoderError
from .extract import EXTRACTED_EXTENSIONS
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .files import display_name, json_from, read_own_bytes, write_text

if TYPE_CHECKING:
    from .runs import RunFolder

__all__ = [
    "CORPUS_STAMPS_FILE", "CorpusChanges", "CorpusStamps", "changed_corpus", "corpus_unchanged", "known_corpus",
    "save_corpus_stamps", "take_corpus_stamps",
]

CORPUS_STAMPS_FILE = "corpus_stamps.json"  # in the run's cache folder
RACY_NANOSECONDS = 2_000_000_000
_EXTRACTED_ENDINGS = tuple(EXTRACTED_EXTENSIONS)
# 3: a line of JSON (`taken`, then the header and the skipped files), then a line per column, each read and
# compared in one piece: names, hashes and formats joined by _SEPARATOR, the numbers packed as 8-byte
# integers in base64 (format 2, one JSON object of lists, 4 numbers a file, took 0.006 s to read and check at
# 8,376 files, twice a run)
_FORMAT = 3
_SEPARATOR = "\x00"  # between names: display_name escapes it in a file name, as it does a line break


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
            sheet = document_variables_name(relative for relative, _ in found)
            found = [(relative, path) for relative, path in found if relative != sheet]
        lstat, is_regular = os.lstat, stat.S_ISREG
        for relative, path in found:
            status = lstat(path)
            if not is_regular(status.st_mode):
                return None  # a link may point elsewhere tomorrow with the same stamp
            files[relative] = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
        paths = dict(found)
    except (OSError, CoderError, ValueError, RecursionError):  # RecursionError: os.walk of folders ~1,000 deep (Python 3.11)
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
            documents: Sequence[Document] = corpus.documents
            skipped: list[list] = []
        else:
            position = {relative: index for index, relative in enumerate(files)}
            positions = [position.get(item.path, -1) for item in chain(corpus.documents, corpus.skipped)]
            listed_alike = stamps is not None and sorted(positions) == list(range(len(files)))  # each file once
            documents = sorted(corpus.documents, key=lambda document: position[document.path]) if listed_alike else []
            skipped = sorted([position[item.path], item.reason] for item in corpus.skipped) if listed_alike else []
        if (stamps is None or not listed_alike or path.parent.is_symlink()
                or os.path.realpath(corpus.root) != stamps.root):  # a link to the corpus moved while it was read
            path.unlink(missing_ok=True)
            return
        from . import __version__

        header = {"format": _FORMAT, "tool_version": __version__, "root": stamps.root,
                  "encoding": check_encoding(encoding) if encoding else None, "extensions": sorted(DEFAULT_EXTENSIONS)}
        numbers, inodes = _packed_stamps(stamps.files.values())
        columns = [_SEPARATOR.join(files), _SEPARATOR.join([document.sha256 for document in documents]),
                   _SEPARATOR.join([document.format for document in documents]), _base64(numbers), _base64(inodes)]
        # `taken` first, so that a file holding all this already is told by its text, without parsing it.
        rest = "\n".join([json.dumps({**header, "skipped": skipped}, ensure_ascii=False)[1:], *columns, ""])
        kept = _taken_of(path, rest)
        if kept is not None and kept <= stamps.taken and _newest_stamp(numbers) < kept - RACY_NANOSECONDS:
            # Only `taken` would change: every file is told the same way under the older one.
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, f'{_TAKEN}{stamps.taken}, {rest}')
    except (OSError, CoderError, OverflowError, TypeError):  # OverflowError: a number past 8 bytes
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # only costs reading the corpus next time


_TAKEN = '{"taken": '  # how a stamp file starts


def _taken_of(path: Path, rest: str) -> int | None:
    """The `taken` of the stamp file at `path` when the file is `rest` after it; else None."""
    try:
        text = read_own_bytes(path).decode("utf-8")
    except (OSError, ValueError):
        return None
    taken, comma, after = text.removeprefix(_TAKEN).partition(", ")
    if text.startswith(_TAKEN) and comma and taken.isascii() and taken.isdigit() and after == rest:
        return int(taken)
    return None


def _packed_stamps(stamps: Iterable[tuple[int, int, int, int]]) -> tuple[array, array]:
    """Stamps as two arrays: size, modification and change times (signed 8-byte integers, 3 a file),
    and inodes (unsigned: some file systems number them past 2**63). Raises OverflowError for a
    number that does not fit."""
    listed = list(chain.from_iterable(stamps))
    inodes = array("Q", listed[3::4])
    del listed[3::4]
    return array("q", listed), inodes


def _base64(numbers: array) -> str:
    """`numbers` as little-endian bytes in base64."""
    if sys.byteorder == "big":
        numbers = array(numbers.typecode, numbers)
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode("ascii")


def _unpacked(typecode: str, text: str) -> array:
    """The numbers `_base64` wrote in `text`; ValueError when it is not base64 or not whole numbers."""
    numbers = array(typecode, base64.b64decode(text, validate=True))
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


def _base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _count(column: str) -> int:
    """How many items a column joined by _SEPARATOR holds (an empty column: none)."""
    return column.count(_SEPARATOR) + 1 if column else 0


def _split(column: str) -> list[str]:
    return column.split(_SEPARATOR) if column else []


@dataclass(frozen=True)
class _KeptStamps:
    """A stamp file as `save_corpus_stamps` writes it, its types and lengths checked. Its columns stay
    as written: the common check compares them whole with what the corpus gives now; they are taken
    apart (and their numbers and hashes checked) only for a check file by file."""

    header: dict  # format, tool version, root, encoding and extensions
    taken: int
    columns: dict[str, str]  # files, sha256, formats (joined by _SEPARATOR), stamps and inodes (base64)
    skipped: dict[int, str]  # a skipped file's position in the files -> its reason

    def files(self) -> list[str]:
        return _split(self.columns["files"])

    def stamp_list(self) -> list[tuple[int, int, int, int]]:
        """Each file's stamp, as CorpusStamps holds them; ValueError when a column is not what
        `save_corpus_stamps` writes."""
        numbers, inodes = _unpacked("q", self.columns["stamps"]), _unpacked("Q", self.columns["inodes"])
        if len(numbers) != 3 * len(inodes):
            raise ValueError("not 3 numbers an inode")
        return list(zip(numbers[0::3], numbers[1::3], numbers[2::3], inodes))

    def hashes(self) -> list[str]:
        """Each document's hash (the files not skipped), in order; ValueError when one is not 64 characters."""
        hashes = _split(self.columns["sha256"])
        if set(map(len, hashes)) - {64}:
            raise ValueError("a hash of another length")
        return hashes


_COLUMNS = ("files", "sha256", "formats", "stamps", "inodes")  # a line each, after the header's
_HEADER = ("format", "tool_version", "root", "encoding", "extensions")


def _read_kept_stamps(path: str | Path) -> _KeptStamps | None:
    """The stamp file at `path`, or None when it is missing, damaged, of another format, or not laid out
    as `save_corpus_stamps` writes it (its columns of the lengths its files ask, each file a document
    with its hash and format, or skipped with its reason)."""
    try:
        lines = read_own_bytes(path).decode("utf-8").split("\n")
        data = json_from(lines[0])
        if not (len(lines) == len(_COLUMNS) + 2 and lines[-1] == "" and isinstance(data, dict)
                and data.keys() == {"taken", *_HEADER, "skipped"} and data["format"] == _FORMAT
                and type(data["taken"]) is int and type(data["skipped"]) is list):
            return None
        columns = dict(zip(_COLUMNS, lines[1:]))
        files = _count(columns["files"])
        skipped: dict[int, str] = {}
        last = -1
        for item in data["skipped"]:
            position, reason = item  # ValueError or TypeError unless a pair
            if not (type(position) is int and type(reason) is str and last < position < files):
                return None  # each a file's position, in order
            skipped[last := position] = reason
    except (OSError, ValueError, TypeError):
        return None
    documents = files - len(skipped)
    if not (len(columns["stamps"]) == _base64_length(24 * files) and len(columns["inodes"]) == _base64_length(8 * files)
            and len(columns["sha256"]) == 65 * documents - (documents > 0) and _count(columns["sha256"]) == documents
            and _count(columns["formats"]) == documents):
        return None
    return _KeptStamps(header={name: data[name] for name in _HEADER}, taken=data["taken"], columns=columns,
                       skipped=skipped)


def _newest_stamp(numbers: array) -> int:
    """The latest modification or change time among stamps laid out 3 numbers a file (-1 for none)."""
    return max(max(numbers[1::3], default=-1), max(numbers[2::3], default=-1))


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
        documents = (list(map(itemgetter("path"), record.documents)), list(map(itemgetter("sha256"), record.documents)))
        skipped = [(str(entry["path"]), str(entry["reason"])) for entry in record.skipped]
        encodings = {str(entry["path"]): entry.get("encoding") for entry in record.documents}
    except (CoderError, KeyError, TypeError):
        return False
    return stamps_match(run.cache_path / CORPUS_STAMPS_FILE, corpus, documents=documents, skipped=skipped,
                        encoding=encoding, extraction_cache=extraction_cache, now=now, encodings=encodings)


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
    documents: tuple[list[str], list[str]],
    skipped: Iterable[tuple[str, str]],
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    now: CorpusStamps | None = None,
    encodings: dict[str, object] | None = None,
) -> bool:
    """`corpus_unchanged` against the stamps kept at `path` and an expected list of documents
    ((paths, sha256 hashes), in corpus order) and skipped files ((path, reason)); a file read again
    must also have the recorded encoding (`encodings`, by path), when given."""
    kept = _kept_for(path, corpus, encoding)
    if kept is None or not _describe_alike(kept, documents, skipped):
        return False
    root = os.path.realpath(corpus)
    # A corpus moved or copied elsewhere (the project folder on another drive) has the same names but
    # other files: each is read again and told by its text's hash.
    moved = kept.header["root"] != root
    if now is None or now.root != root:
        now = take_corpus_stamps(corpus)
    if now is None or len(now.files) != _count(kept.columns["files"]) or _SEPARATOR.join(now.files) != kept.columns["files"]:
        return False
    settled = kept.taken - RACY_NANOSECONDS
    try:
        numbers, inodes = _packed_stamps(now.files.values())
    except OverflowError:
        return False
    if (not moved and _base64(numbers) == kept.columns["stamps"] and _base64(inodes) == kept.columns["inodes"]
            and _newest_stamp(numbers) < settled and not _any_extracted(kept.columns["files"])):
        return True  # the common case, told in whole columns rather than file by file
    try:
        old_stamps, old_hashes = kept.stamp_list(), kept.hashes()
    except ValueError:
        return False
    documents_before = 0
    for index, ((relative, stamp), old_stamp) in enumerate(zip(now.files.items(), old_stamps)):
        extracted = os.path.splitext(relative)[1].lower() in EXTRACTED_EXTENSIONS
        racy = max(old_stamp[1], old_stamp[2]) >= settled
        skipped_file = index in kept.skipped
        documents_before += not skipped_file
        if stamp == old_stamp and not racy and not extracted and not moved:
            continue
        if skipped_file:
            return False  # a skipped file changed: why it is skipped may have changed too
        if not _same_text(Path(corpus), Path(now.paths[relative]), relative, old_hashes[documents_before - 1],
                          encoding=encoding, extraction_cache=extraction_cache,
                          recorded_encoding=(encodings or {}).get(relative, _ANY)):
            return False
    return True


def _kept_for(path: str | Path, corpus: str | Path, encoding: str | None) -> _KeptStamps | None:
    """The stamp file at `path` when it was written by this version, with these options (forced
    encoding, extensions), for a corpus at any root; else None."""
    from . import __version__

    kept = _read_kept_stamps(path)
    try:
        forced = check_encoding(encoding) if encoding else None
    except CoderError:
        return None
    root = os.path.realpath(corpus)
    if kept is None or {**kept.header, "root": root} != {"format": _FORMAT, "tool_version": __version__, "root": root,
                                                         "encoding": forced, "extensions": sorted(DEFAULT_EXTENSIONS)}:
        return None
    return kept


def _describe_alike(kept: _KeptStamps, documents: tuple[list[str], list[str]], skipped: Iterable[tuple[str, str]]) -> bool:
    """Do the stamps `kept` describe the same run as run.json: the same documents ((paths, hashes)),
    and skipped files ((path, reason))? Told by the columns whole (no name holds _SEPARATOR when as
    many are joined as the column holds)."""
    paths, hashes = documents
    expected_skipped = dict(skipped)
    try:
        if kept.skipped or expected_skipped:
            files = kept.files()
            if ([relative for index, relative in enumerate(files) if index not in kept.skipped] != paths
                    or {files[index]: reason for index, reason in kept.skipped.items()} != expected_skipped):
                return False
        elif len(paths) != _count(kept.columns["files"]) or _SEPARATOR.join(paths) != kept.columns["files"]:
            return False
        return len(hashes) == _count(kept.columns["sha256"]) and _SEPARATOR.join(hashes) == kept.columns["sha256"]
    except TypeError:  # a path or hash in run.json that is not text
        return False


@dataclass(frozen=True)
class CorpusChanges:
    """The corpus as reading it now gives it, told against the last run's documents."""

    corpus: Corpus  # the text files the last run read unchanged are StoredDocuments (read when asked for)
    kept: tuple[bool, ...]  # per document of `corpus`: the last run had it, under its path, with the same text

    @property
    def unchanged(self) -> bool:
        return all(self.kept)


def changed_corpus(run: RunFolder, corpus: str | Path, *, stamps: CorpusStamps, encoding: str | None = None,
                   extraction_cache: ExtractionCache | None = None) -> CorpusChanges | None:
    """The corpus as a fresh read gives it now, each document told kept or not against the run in
    `run`, reading only the files that are new, whose stamp changed (or was taken in its racy window),
    that the last run skipped, or that are extracted (PDF, Word, ...: through `extraction_cache`). A
    file read again with the text it had is kept. `stamps`: the corpus files' stamps this run took
    before reading anything. None when the last run's stamps are missing, were taken of a corpus at
    another root, or do not describe its run.json.

    >>> changed_corpus(RunFolder("outputs"), "seeds", stamps=take_corpus_stamps("seeds"))  # doctest: +SKIP
    """
    kept_stamps = _kept_for(run.cache_path / CORPUS_STAMPS_FILE, corpus, encoding)
    root = os.path.realpath(corpus)
    if kept_stamps is None or kept_stamps.header["root"] != root or stamps.root != root:
        return None
    forced = check_encoding(encoding) if encoding else None
    try:
        record = run.record()
        known = {str(entry["path"]): entry for entry in record.documents}
        documents = ([str(entry["path"]) for entry in record.documents], [str(entry["sha256"]) for entry in record.documents])
        skipped_before = [(str(entry["path"]), str(entry["reason"])) for entry in record.skipped]
        if not _describe_alike(kept_stamps, documents, skipped_before):
            return None
        stamped = dict(zip(kept_stamps.files(), kept_stamps.stamp_list()))
    except (CoderError, KeyError, TypeError, ValueError):
        return None
    settled = kept_stamps.taken - RACY_NANOSECONDS
    read: list[Document] = []
    kept: list[bool] = []
    skipped: list[SkippedFile] = []
    for relative, stamp in stamps.files.items():
        file = stamps.paths[relative]
        before, entry = stamped.get(relative), known.get(relative)
        if (entry is not None and stamp == before and max(before[1], before[2]) < settled and is_text_file(file)
                and isinstance(entry.get("encoding"), str) and "format" not in entry):
            read.append(StoredDocument((relative, file), encoding=entry["encoding"], sha256=str(entry["sha256"]),
                                       forced_encoding=forced))
            kept.append(True)
            continue
        unsupported = unsupported_type(Path(file))
        document = SkippedFile(relative, unsupported) if unsupported else read_corpus_file(
            CorpusFile(relative, Path(file)), encoding=forced, extraction_cache=extraction_cache)
        if isinstance(document, SkippedFile):
            skipped.append(document)
            continue
        read.append(document)
        kept.append(entry is not None and document.sha256 == entry["sha256"])
    return CorpusChanges(corpus=Corpus(root=str(corpus), documents=tuple(read), skipped=tuple(skipped)), kept=tuple(kept))


def _any_extracted(files: str) -> bool:
    """Might one of `files` (joined by _SEPARATOR) be extracted (PDF, Word, ...)?"""
    names = files.lower() + _SEPARATOR
    return any(ending + _SEPARATOR in names for ending in _EXTRACTED_ENDINGS)


_ANY = object()  # no encoding recorded to compare with


def _same_text(corpus: Path, file_path: Path, relative: str, sha256: str, *, encoding: str | None,
               extraction_cache: ExtractionCache | None, recorded_encoding: object = _ANY) -> bool:
    """Does the file read now give the document `relative` with the text whose hash is `sha256` (and,
    when one is recorded, in that encoding: a file saved again as GB18030 with the same text is read
    as GB18030 from now on, and run.json must say so)?"""
    try:
        document = read_document(file_path, relative_to=corpus if corpus.is_dir() else None, encoding=encoding,
                                 extraction_cache=extraction_cache)
    except (CoderError, OSError, ValueError):
        return False
    return (document.path == relative and document.sha256 == sha256
            and (recorded_encoding is _ANY or document.encoding == recorded_encoding))
