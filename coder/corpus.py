"""Stage 2: read corpus files (decode, normalise) -> Documents.

A corpus is one file or a folder read recursively, in order of relative path. Hidden files
and folders (names starting with ".") are ignored; files with other extensions are listed in
`Corpus.skipped` with the reason, never a crash.

Decoding is `files.decode_text` without a fallback: a UTF-8 byte order mark ("utf-8-sig"), a
UTF-16 LE/BE byte order mark ("utf-16"), strict UTF-8 ("utf-8"), then GB18030 ("gb18030", a
superset of GBK and GB2312) but only if the result looks like Chinese text: a Latin-1 or binary
file must not turn into rare CJK characters. Bytes with NUL and no UTF-16 byte order mark are binary.

Normalising changes only two things, so offsets into `Document.text` are stable: the byte
order mark is removed, and CRLF and lone CR become LF. No Unicode normalisation is applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .files import DecodeError, decode_text
from .models import Document

DEFAULT_EXTENSIONS: tuple[str, ...] = (".txt", ".md")
EMPTY = "empty file"


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


def read_corpus(path: str | Path, *, extensions: Iterable[str] = DEFAULT_EXTENSIONS) -> Corpus:
    """Read every document under `path` (a folder, read recursively, or one file).

    A folder with no readable documents is not an error: the result is empty and the
    caller decides how to warn.

    >>> corpus = read_corpus("seeds")  # doctest: +SKIP
    >>> [document.path for document in corpus.documents][:1]  # doctest: +SKIP
    ['drc_report_cross_regional_governance_2020.txt']

    Raises:
        CorpusError: `path` does not exist.
    """
    root = Path(path)
    wanted = _normalise_extensions(extensions)
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for relative, file_path in iter_corpus_files(root):
        suffix = file_path.suffix.lower()
        if suffix not in wanted:
            what = f"unsupported file type {suffix}" if suffix else "unsupported file type (no extension)"
            skipped.append(SkippedFile(relative, what))
            continue
        try:
            text, encoding = _read_text(file_path)
        except _Skip as skip:
            skipped.append(SkippedFile(relative, skip.reason))
            continue
        documents.append(Document(path=relative, text=text, encoding=encoding))
    return Corpus(root=str(root), documents=tuple(documents), skipped=tuple(skipped))


def iter_corpus_files(path: str | Path, extensions: Iterable[str] | None = None) -> Iterator[tuple[str, Path]]:
    """Yield (relative path with "/", file path) for every non-hidden file, sorted by relative path.

    For a single file the relative path is its name (hidden or not: it was asked for). With
    `extensions`, only files with one of them (case-insensitive) are yielded.

    Raises:
        CorpusError: `path` does not exist.
    """
    root = Path(path)
    wanted = None if extensions is None else _normalise_extensions(extensions)
    if root.is_file():
        if wanted is None or root.suffix.lower() in wanted:
            yield root.name, root
        return
    if not root.is_dir():
        raise CorpusError(
            f"{path}: no such file or folder. Pass a folder of .txt/.md documents or one document file."
        )
    found: list[tuple[str, Path]] = []
    for folder, subfolders, files in os.walk(root):
        # Pruning in place keeps os.walk out of .git, .venv and friends.
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in files:
            if name.startswith(".") or (wanted is not None and os.path.splitext(name)[1].lower() not in wanted):
                continue
            file_path = Path(folder) / name
            found.append((file_path.relative_to(root).as_posix(), file_path))
    found.sort(key=lambda item: item[0])
    yield from found


def read_document(file_path: str | Path, *, relative_to: str | Path | None = None) -> Document:
    """Read and decode one file; `Document.path` is relative to `relative_to` (or the file name).

    >>> read_document("seeds/party_building_alliance_guangdong_guangxi.txt", relative_to="seeds").encoding  # doctest: +SKIP
    'utf-8'

    Raises:
        CorpusError: the file is missing, unreadable, empty or not text in a known encoding.
    """
    file_path = Path(file_path)
    if relative_to is None:
        relative = file_path.name
    else:
        relative = file_path.relative_to(relative_to).as_posix()
    try:
        text, encoding = _read_text(file_path)
    except _Skip as skip:
        raise CorpusError(f"{file_path}: {skip.reason}. Save it as UTF-8 text (or remove it from the corpus).")
    return Document(path=relative, text=text, encoding=encoding)


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


def _read_text(file_path: Path) -> tuple[str, str]:
    try:
        data = file_path.read_bytes()
    except FileNotFoundError:
        raise _Skip("cannot read: no such file")
    except OSError as error:
        raise _Skip(f"cannot read: {error.strerror or error}")
    return _decode(data)


def _decode(data: bytes) -> tuple[str, str]:
    try:
        text, encoding = decode_text(data)
    except DecodeError as problem:
        raise _Skip(str(problem))
    if not text.strip():
        raise _Skip(EMPTY)
    return text, encoding


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    return frozenset(ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in extensions)
