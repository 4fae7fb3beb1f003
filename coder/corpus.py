"""Stage 2: read corpus files (extract, decode, normalise) -> Documents.

A corpus is one file or a folder read recursively, in order of relative path. Hidden files
and folders (names starting with ".") are ignored; files with other extensions, and files
that cannot be read, are listed in `Corpus.skipped` with the reason, never a crash. Folder links
are not followed, and a file (or a file link) that resolves outside the corpus folder is skipped
unread, so `passwd.txt -> /etc/passwd` is never coded or exported. A document's path is its
relative name with control characters and the bytes of a non-UTF-8 name escaped
(`files.display_name`), so it can be written to any output and printed safely.

PDF, Word (.docx), OpenDocument (.odt), RTF and HTML files are extracted by `coder.extract`
(text layer in reading order, page spans, running headers removed); the extracted text is what
is coded, and an `ExtractionCache` keeps it by file hash.

Text files (.txt, .md): `files.decode_text` without a fallback: a UTF-8 byte order mark
("utf-8-sig"), a UTF-16 LE/BE byte order mark ("utf-16"), strict UTF-8 ("utf-8"), then GB18030
("gb18030", a superset of GBK and GB2312) but only if the result looks like Chinese text: a
Latin-1 or binary file must not turn into rare CJK characters. Bytes with NUL and no UTF-16
byte order mark are binary. Then legacy encodings (`extract.encodings.detect_legacy`:
Windows-1252 for Western text, else charset-normalizer's guess when it reads cleanly). With
`encoding=` every text file without a byte order mark is decoded with that encoding, strictly.

Normalising changes only two things, so offsets into `Document.text` are stable: the byte
order mark is removed, and CRLF and lone CR become LF. No Unicode normalisation is applied.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .extract import EXTRACTED_EXTENSIONS, ExtractionError, extract_file
from .extract.cache import ExtractionCache
from .extract.encodings import (
    check_encoding,
    decode_forced,
    detect_legacy,
    misread,
    utf8_with_strays,
)
from .files import BINARY, UNDECODABLE, DecodeError, decode_text, display_name
from .models import Document

TEXT_EXTENSIONS: tuple[str, ...] = (".txt", ".md")
DEFAULT_EXTENSIONS: tuple[str, ...] = (*TEXT_EXTENSIONS, *EXTRACTED_EXTENSIONS)
EMPTY = "empty file"
LEGACY_UNDECODABLE = "cannot decode: not UTF-8, UTF-16, GB18030 or a legacy encoding coder recognises"
#: How to turn a file coder cannot read into one it can, by the reason it was skipped.
CONVERT_HINT = (
    "coder reads .txt and .md (UTF-8, UTF-16, GB18030 or a legacy encoding; force one with "
    "--encoding), .pdf with a text layer, .docx, .odt, .rtf and .html. Save other files in one of "
    "these formats (Word: File > Save As > .docx; scans: run OCR, e.g. `ocrmypdf in.pdf out.pdf`)."
)
# Archives a corpus is sent in: each is skipped with how to read what it holds.
ARCHIVE_EXTENSIONS = frozenset({".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz"})
OUTSIDE = "links outside the corpus folder (not read)"
NOT_A_FILE = "not a regular file (not read)"


@dataclass(frozen=True)
class SkippedFile:
    """A corpus file that was not read, and why (shown to the user as a warning)."""

    path: str  # relative to the corpus folder, with "/"
    reason: str


@dataclass(frozen=True)
class Corpus:
    """The documents read from a corpus path, in order of relative path, and the files skipped."""

    root: str
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...] = ()

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)


class _Skip(Exception):
    """Internal: the file cannot be used; `reason` goes into SkippedFile.reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
# Document variables beside the corpus (coder.groups); never coded as a document.
DOCUMENTS_FILE = "documents.csv"



def read_corpus(
    path: str | Path,
    *,
    extensions: Iterable[str] = DEFAULT_EXTENSIONS,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | str | Path | None = None,
) -> Corpus:
    """Read every document under `path` (a folder, read recursively, or one file).

    `encoding` forces the encoding of text files; `extraction_cache` (a folder or an
    ExtractionCache) keeps extracted texts so unchanged PDFs are not extracted again.
    A folder with no readable documents is not an error: the result is empty and the
    caller decides how to report it.

    >>> corpus = read_corpus("seeds")  # doctest: +SKIP
    >>> [document.path for document in corpus.documents][:1]  # doctest: +SKIP
    ['drc_report_cross_regional_governance_2020.txt']

    Raises:
        CorpusError: `path` does not exist.
    """
    root = Path(path)
    wanted = _normalise_extensions(extensions)
    forced = check_encoding(encoding) if encoding else None
    cache = ExtractionCache(extraction_cache) if isinstance(extraction_cache, (str, Path)) else extraction_cache
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for entry in corpus_entries(root, extensions=wanted):
        if isinstance(entry, SkippedFile):
            skipped.append(entry)
            continue
        try:
            documents.append(_read(entry.file, entry.path, encoding=forced, cache=cache))
        except _Skip as skip:
            skipped.append(SkippedFile(entry.path, skip.reason))
    return Corpus(root=str(root), documents=tuple(documents), skipped=tuple(skipped))


@dataclass(frozen=True, slots=True)  # slots: a partitioned run holds one per file (~100 bytes less each)
class CorpusFile:
    """A corpus file to read: its document path (relative, with "/") and where it is."""

    path: str
    file: Path

    @property
    def is_text(self) -> bool:
        """A .txt or .md file (decoded, not extracted)."""
        return is_text_file(self.file.name)


def is_text_file(file: str) -> bool:
    """Is the file at the path `file` a .txt or .md file (decoded, not extracted)? Its suffix as
    Path.suffix reads it, without making a Path (a corpus of thousands of files)."""
    if file.endswith(".txt") and file[-5:-4] not in ("", "/", "\\", ":"):
        return True  # most corpora: no basename per file (a known corpus asks for each of thousands)
    name = os.path.basename(file)
    dot = name.rfind(".")
    return 0 < dot < len(name) - 1 and name[dot:].lower() in TEXT_EXTENSIONS


def corpus_entries(path: str | Path, *, extensions: Iterable[str] = DEFAULT_EXTENSIONS) -> Iterator[CorpusFile | SkippedFile]:
    """read_corpus's files in its order, unread: a CorpusFile to read, or a SkippedFile (a link
    out of the folder, a pipe, an unsupported type) with its reason.

    Raises:
        CorpusError: `path` does not exist.
    """
    root = Path(path)
    wanted = _normalise_extensions(extensions)
    inside = os.path.realpath(root) if root.is_dir() else None
    folders: dict[str, str] = {}  # folder -> its real path, resolved once
    run_folders: list[str] = []
    listed = listed_files(root, run_folders=run_folders)
    for folder in run_folders:
        yield SkippedFile(folder, RUN_FOLDER_SKIPPED)
    sheet = document_variables_name(relative for relative, _, _ in listed) if root.is_dir() else None
    for relative, file_path, plain in _with_paths(listed):
        if relative == sheet:
            continue  # the document variables beside the corpus, not a document of it
        # A regular file that is no link, met in a folder walked without following links, is inside the
        # corpus folder: only the others are looked at (a lstat, a stat and a real path per file took
        # ~0.1 s of a cold run's start at 8,376 files).
        problem = None if plain and inside is not None else _not_plain_file(file_path, inside, folders)
        if problem:
            yield SkippedFile(relative, problem)
            continue
        if file_path.name.startswith("~$"):  # read as a damaged .docx, with advice to save it again (probe AB7)
            yield SkippedFile(relative, OWNER_FILE_SKIPPED)
            continue
        unsupported = unsupported_type(file_path, wanted)
        if unsupported:
            yield SkippedFile(relative, unsupported)
            continue
        yield CorpusFile(relative, file_path)


def document_variables_name(names: Iterable[str]) -> str | None:
    """Of the names of a corpus folder's files (relative, with "/"), the one of its document variables:
    documents.csv at the top, else the one file there named so in other capitals ("Documents.csv", as Excel
    and Finder users name it, which Windows and macOS open as documents.csv; probe AH9); None for none.

    >>> document_variables_name(["a.txt", "Documents.csv"]), document_variables_name(["sub/documents.csv"])
    ('Documents.csv', None)
    """
    found = [name for name in names if "/" not in name and name.casefold() == DOCUMENTS_FILE]
    if DOCUMENTS_FILE in found:
        return DOCUMENTS_FILE
    return found[0] if len(found) == 1 else None


def unsupported_type(file: Path, wanted: frozenset[str] = frozenset(DEFAULT_EXTENSIONS)) -> str | None:
    """Why `corpus_entries` skips `file` for its type (its suffix not one of `wanted`, lower case
    with the dot), or None when it is read."""
    suffix = file.suffix.lower()
    if suffix in wanted:
        return None
    trimmed = file.name.rstrip()
    if trimmed != file.name and Path(trimmed).suffix.lower() in wanted:  # made in Finder; the space cannot be seen
        blank = "a space" if file.name.endswith(" ") else "white space"
        return f"the name ends in {blank} ({file.name!r}): rename the file {trimmed!r} to have it read"
    if suffix in ARCHIVE_EXTENSIONS:
        return (f"unsupported file type {suffix}: an archive, not opened. Extract its files into the corpus folder "
                f"(or a folder of their own, and pass that) and run again")
    return f"unsupported file type {suffix}" if suffix else "unsupported file type (no extension)"


def corpus_reads(corpus: str | Path, file: str | Path) -> bool:
    """Would a run of the folder `corpus` read `file` (there or not yet) as a document? As listed_files walks
    it: the file lies in the folder (under any spelling: lies_in), neither it nor a folder on the way is
    hidden, no folder on the way is one a run wrote, and its type is read (`corpus/.coder/reviews.txt` is
    not read, probe BH3).

    >>> corpus_reads("seeds", "seeds/notes.txt"), corpus_reads("seeds", "seeds/.coder/notes.txt")
    (True, False)
    """
    root = Path(corpus)
    if not root.is_dir():
        return False
    place = Path(file).resolve()
    try:
        root_status = root.stat()
    except OSError:
        return False
    root_path = root.resolve()
    for depth, folder in enumerate(place.parents):
        if folder == root_path or _same_status(folder, root_status):
            break
    else:
        return False
    parts = place.parts[len(place.parts) - depth - 1:]
    if any(part.startswith(".") for part in parts):
        return False
    if any(is_run_folder(os.fspath(place.parents[above])) for above in range(depth)):
        return False
    return unsupported_type(place) is None


def _same_status(folder: Path, status: os.stat_result) -> bool:
    """Is `folder` the folder whose stat() is `status` (False where it cannot be read)?"""
    try:
        return os.path.samestat(folder.stat(), status)
    except OSError:
        return False


def read_corpus_file(entry: CorpusFile, *, encoding: str | None = None,
                     extraction_cache: ExtractionCache | None = None) -> Document | SkippedFile:
    """One corpus_entries() file as read_corpus reads it (`encoding` checked already): its
    Document, or a SkippedFile saying why it cannot be read."""
    try:
        return _read(entry.file, entry.path, encoding=encoding, cache=extraction_cache)
    except _Skip as skip:
        return SkippedFile(entry.path, skip.reason)


class StoredDocument(Document):
    """A text file's Document whose text this process does not keep: it was read (and coded) by a
    worker process, which sent back its encoding and hash. `text` reads the file again, decoded
    the same way, and is refused if the file no longer holds the text that was coded.

    >>> document = StoredDocument(CorpusFile("a.txt", Path("corpus/a.txt")), encoding="utf-8", sha256="...")  # doctest: +SKIP
    """

    def __init__(self, entry: CorpusFile | tuple[str, str], *, encoding: str, sha256: str,
                 forced_encoding: str | None = None):
        # `entry` may be (document path, file path): its CorpusFile (a Path) is made only if the text is read.
        # Document is a frozen dataclass: its fields are set in the instance's __dict__, as object.__setattr__
        # would set them, in one update (a rerun makes one per file). Document.sha256 is a cached_property:
        # `sha256` is its value.
        self.__dict__.update(path=entry.path if isinstance(entry, CorpusFile) else entry[0], encoding=encoding,
                             format="text", pages=(), removed=(), warnings=(), sha256=sha256, _entry=entry,
                             _forced_encoding=forced_encoding)

    @property  # type: ignore[override]
    def text(self) -> str:
        entry = self.__dict__["_entry"]
        if not isinstance(entry, CorpusFile):
            entry = CorpusFile(entry[0], Path(entry[1]))
        read = read_corpus_file(entry, encoding=self.__dict__["_forced_encoding"])
        if isinstance(read, SkippedFile) or read.sha256 != self.sha256:
            raise CorpusError(f"{entry.path}: the file changed while coder was running (its text is not the "
                              "text that was coded). Run `coder run` again.")
        return read.text


def no_documents_error(path: str | Path, corpus: Corpus) -> CorpusError:
    """The error for a corpus where nothing could be read: what was skipped, why, and how to convert.

    >>> print(no_documents_error("in", Corpus("in", (), (SkippedFile("a.doc", "unsupported file type .doc"),))))  # doctest: +ELLIPSIS
    no documents read from in: 1 file skipped.
      a.doc: unsupported file type .doc
    coder reads .txt and .md ...
    """
    if not corpus.skipped:
        return CorpusError(f"no documents read from {path}: it holds no files (hidden files and folders are ignored). {CONVERT_HINT}")
    shown = [f"  {skipped.path}: {skipped.reason}" for skipped in corpus.skipped[:20]]
    if len(corpus.skipped) > 20:
        shown.append(f"  ... and {len(corpus.skipped) - 20} more")
    count = len(corpus.skipped)
    return CorpusError(
        f"no documents read from {path}: {count} file{'s' if count != 1 else ''} skipped.\n" + "\n".join(shown) + f"\n{CONVERT_HINT}"
    )


def _not_plain_file(file_path: Path, inside: str | None, folders: dict[str, str] | None = None) -> str | None:
    """Why a corpus file must not be read (a link leading out of the folder `inside`, a pipe or
    a device), or None. `folders` keeps the real path of each folder seen (see _real_path)."""
    real = _real_path(file_path, folders) if folders is not None else os.path.realpath(file_path)
    if inside is not None and os.path.commonpath([real, inside]) != inside:
        return OUTSIDE
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            return NOT_A_FILE  # reading a named pipe would wait forever
    except OSError:
        pass  # reading it reports the problem
    return None


def _real_path(file_path: Path, folders: dict[str, str]) -> str:
    """os.path.realpath(file_path), each folder resolved once (`folders`): a file that is no link is
    its folder's real path and its name (realpath looks up every component of every file's path)."""
    path = os.fspath(file_path)
    folder, name = os.path.split(path)
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        link = True  # let realpath say what it makes of it
    if link or name in ("", ".", ".."):
        return os.path.realpath(path)
    real = folders.get(folder)
    if real is None:
        real = folders[folder] = os.path.realpath(folder)
    return os.path.join(real, name)


def iter_corpus_files(path: str | Path, extensions: Iterable[str] | None = None) -> Iterator[tuple[str, Path]]:
    """Yield (relative path with "/", file path) for every non-hidden file, sorted by relative path.

    For a single file the relative path is its name (hidden or not: it was asked for). With
    `extensions`, only files with one of them (case-insensitive) are yielded.

    Raises:
        CorpusError: `path` does not exist.
    """
    for relative, file_path, _ in _with_paths(listed_files(path, extensions)):
        yield relative, file_path


def listed_files(path: str | Path, extensions: Iterable[str] | None = None, *,
                 run_folders: list[str] | None = None) -> list[tuple[str, str, bool]]:
    """iter_corpus_files' files as (relative path, file path as a string, `plain`): `plain` when its
    folder's entry says it is a regular file and no link (told by the entry's type, without a stat per
    file; False for a corpus of one file). No Path per file: a corpus of thousands of files is listed
    more than once a run. A folder a `coder run` wrote (is_run_folder) is left out, and its relative
    path ("outputs/") added to `run_folders`.

    Raises:
        CorpusError: `path` does not exist, is a folder a run wrote, or two files show as one name.
    """
    root = Path(path)
    wanted = None if extensions is None else _normalise_extensions(extensions)
    if root.is_file():
        if wanted is None or root.suffix.lower() in wanted:
            return [(display_name(root.name), os.fspath(root), False)]
        return []
    if not root.is_dir():
        what = "not a file or a folder (a device or a pipe)" if root.exists() else "no such file or folder"
        raise CorpusError(
            f"{display_name(path)}: {what}. Pass a folder of documents (.txt, .md, .pdf, .docx, .odt, .rtf, .html) or one document file."
        )
    if is_run_folder(os.fspath(root)):
        raise CorpusError(f"{display_name(path)}: holds the outputs of a `coder run` (its run.json), not documents. "
                          "Pass the folder of the documents the run coded.")
    found: list[tuple[str, str, bool]] = []
    _walk_folder(os.fspath(root), "", wanted, found, [] if run_folders is None else run_folders)
    found.sort(key=lambda item: item[0])
    for (name, first, _), (same, second, _) in zip(found, found[1:]):
        if name == same:  # a control character escaped in one name, typed as that escape in the other
            one, other = sorted((os.path.basename(first), os.path.basename(second)))
            raise CorpusError(f"{name}: two files show as this name ({one!a} and {other!a}), so the outputs"
                              " could not tell them apart. Rename one of them.")
    return found


def _with_paths(listed: list[tuple[str, str, bool]]) -> Iterator[tuple[str, Path, bool]]:
    """listed_files' files with a Path each, made from its folder's (Path(file) parses the whole path
    again: 3.5 against 2 microseconds a file)."""
    folders: dict[str, Path] = {}
    for relative, file, plain in listed:
        folder, name = os.path.split(file)
        parent = folders.get(folder)
        if parent is None:
            parent = folders[folder] = Path(folder)
        yield relative, parent / name, plain


OWNER_FILE_SKIPPED = "an Office lock file (~$: the document is open in Word or Excel), not a document"
# Why a folder a run wrote is not read as part of the corpus (probe AB2).
RUN_FOLDER_SKIPPED = ("a folder `coder run` wrote (its run.json): its report, map and texts/ (a copy of every PDF, Word "
                      "and web page read) are outputs, not documents; not read")


def is_run_folder(folder: str) -> bool:
    """Does `folder` hold the run.json a `coder run` writes ("tool": "coder" in its first lines)? A corpus
    folder holding an earlier run's outputs (`coder run project` after `--out project/outputs`) coded the
    report, the map and a second copy of every extracted document (probe AB2)."""
    try:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        with open(os.open(os.path.join(folder, "run.json"), flags), "rb") as stream:
            return stat.S_ISREG(os.fstat(stream.fileno()).st_mode) and b'"tool": "coder"' in stream.read(256)
    except OSError:
        return False


def _walk_folder(folder: str, prefix: str, wanted: frozenset[str] | None, found: list[tuple[str, str, bool]],
                 run_folders: list[str]) -> None:
    """Add the files of `folder` and its subfolders to `found`, as os.walk lists them (a folder it cannot
    list is passed over; folder links are not followed, nor a folder whose real path lies outside
    `folder`: a Windows junction, which is no link to os.scandir), hidden files and folders left out,
    and so are folders a run wrote (is_run_folder), added to `run_folders`.
    A loop, not a recursion: folders nested a thousand deep are walked too."""
    inside = os.path.join(os.path.realpath(folder), "")
    pending = [(folder, prefix)]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue
        subfolders = []
        if prefix and any(entry.name == "run.json" for entry in entries) and is_run_folder(folder):
            run_folders.append(display_name(prefix))
            continue
        for entry in entries:
            name = entry.name
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            if is_folder:
                if not name.startswith("."):
                    subfolders.append(entry)
                continue
            if name.startswith(".") or (wanted is not None and os.path.splitext(name)[1].lower() not in wanted):
                continue
            try:
                plain = entry.is_file(follow_symlinks=False)
            except OSError:
                plain = False
            found.append((display_name(prefix + name), entry.path, plain))
        walked = []
        for entry in subfolders:
            try:
                link = entry.is_symlink()
            except OSError:
                link = True
            if not link and os.path.join(os.path.realpath(entry.path), "").startswith(inside):
                walked.append((entry.path, f"{prefix}{entry.name}/"))
        pending.extend(reversed(walked))  # the first subfolder is walked next, whole, as a recursion would


def read_document(
    file_path: str | Path,
    *,
    relative_to: str | Path | None = None,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | str | Path | None = None,
) -> Document:
    """Read and decode (or extract) one file; `Document.path` is relative to `relative_to` (or the file name).

    >>> read_document("seeds/party_building_alliance_guangdong_guangxi.txt", relative_to="seeds").encoding  # doctest: +SKIP
    'utf-8'

    Raises:
        CorpusError: the file is missing, unreadable, empty or not text in a known encoding.
    """
    file_path = Path(file_path)
    if relative_to is None:
        relative = display_name(file_path.name)
    else:
        relative = display_name(file_path.relative_to(relative_to).as_posix())
    cache = ExtractionCache(extraction_cache) if isinstance(extraction_cache, (str, Path)) else extraction_cache
    try:
        return _read(file_path, relative, encoding=check_encoding(encoding) if encoding else None, cache=cache)
    except _Skip as skip:
        if file_path.suffix.lower() in EXTRACTED_EXTENSIONS:
            raise CorpusError(f"{display_name(file_path)}: {skip.reason}.")
        raise CorpusError(f"{display_name(file_path)}: {skip.reason}. Save it as UTF-8 text (or remove it from the corpus).")


def _read(file_path: Path, relative: str, *, encoding: str | None, cache: ExtractionCache | None) -> Document:
    if file_path.suffix.lower() in EXTRACTED_EXTENSIONS:
        try:
            extracted = extract_file(file_path, cache=cache)
        except ExtractionError as error:
            raise _Skip(str(error).removeprefix(f"{file_path.name}: "))
        if not extracted.text.strip():
            raise _Skip(EMPTY)
        return Document(path=relative, text=extracted.text, encoding=extracted.encoding or "utf-8", format=extracted.format,
                        pages=extracted.pages, removed=extracted.removed, warnings=extracted.warnings)
    text, found = _read_text(file_path, encoding=encoding)
    return Document(path=relative, text=text, encoding=found)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode and normalise file bytes: (text with LF line ends and no BOM, encoding name).

    >>> decode_bytes(b"\\xef\\xbb\\xbfa\\r\\nb\\rc")
    ('a\\nb\\nc', 'utf-8-sig')

    Raises:
        CorpusError: the bytes are empty, binary, or not UTF-8, UTF-16 or GB18030 text.
    """
    try:
        return _decode(data)
    except _Skip as skip:
        raise CorpusError(f"{skip.reason}.")


def _read_text(file_path: Path, *, encoding: str | None = None) -> tuple[str, str]:
    try:
        data = file_path.read_bytes()
    except FileNotFoundError:
        raise _Skip("cannot read: no such file")
    except OSError as error:
        raise _Skip(f"cannot read: {error.strerror or error}")
    if encoding is not None and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = decode_forced(data, encoding)
        except ExtractionError as error:
            raise _Skip(str(error))
        if not text or text.isspace():  # (strip() would copy a whole document)
            raise _Skip(EMPTY)
        return text.replace("\r\n", "\n").replace("\r", "\n"), encoding
    try:
        return _decode(data)
    except _Skip as skip:
        if skip.reason != UNDECODABLE:
            raise
    mostly_utf8 = utf8_with_strays(data)
    if mostly_utf8 is not None:
        return mostly_utf8.replace("\r\n", "\n").replace("\r", "\n"), "utf-8+cp1252"
    legacy = detect_legacy(data)
    if legacy is None:
        raise _Skip(LEGACY_UNDECODABLE)
    text, found = legacy
    return text.replace("\r\n", "\n").replace("\r", "\n"), found


def _decode(data: bytes) -> tuple[str, str]:
    try:
        text, encoding = decode_text(data, stray_nuls=True)
    except DecodeError as problem:
        utf16 = _utf16_without_bom(data) if str(problem) == BINARY else None
        if utf16 is None:
            raise _Skip(str(problem))
        # A Windows program's "Unicode" text saved without its byte order mark: one byte order reads
        # it as text (--encoding would read every other file of the corpus as UTF-16 too).
        text, encoding = data.decode(utf16).replace("\r\n", "\n").replace("\r", "\n"), utf16
    if not text or text.isspace():
        raise _Skip(EMPTY)
    return text, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when `data` reads as text in it (spaces or line ends, no NUL or other
    control, not `misread`, more ASCII than the other byte order gives), as a file a Windows program
    saved without its byte order mark does; else None."""
    if len(data) % 2:
        return None
    readings = []
    for name in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if (len(text) >= 4 and any(char in " \t\n" for char in text)
                and not any(char < " " and char not in "\t\n\r" for char in text)
                and misread(text) is None):
            readings.append((sum(char < "\x80" for char in text), name))
    return max(readings)[1] if readings else None


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    return frozenset(ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in extensions)
