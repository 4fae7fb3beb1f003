"""Stage 2: read corpus files (decode, normalise) -> Documents.

A corpus is one file or a folder read recursively, in order of relative path. Hidden files
and folders (names starting with ".") are ignored; files with other extensions are listed in
`Corpus.skipped` with the reason, never a crash.

Decoding, in order: a UTF-8 byte order mark ("utf-8-sig"), a UTF-16 LE/BE byte order mark
("utf-16"), strict UTF-8 ("utf-8"), then GB18030 ("gb18030", a superset of GBK and GB2312)
but only if the result looks like Chinese text: a Latin-1 or binary file must not turn into
rare CJK characters. Bytes with NUL and no UTF-16 byte order mark are binary.

Normalising changes only two things, so offsets into `Document.text` are stable: the byte
order mark is removed, and CRLF and lone CR become LF. No Unicode normalisation is applied.
"""

from __future__ import annotations

import codecs
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError
from .models import Document

DEFAULT_EXTENSIONS: tuple[str, ...] = (".txt", ".md")
UNDECODABLE = "cannot decode: not UTF-8, UTF-16 or GB18030 text"
BINARY = "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark)"
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
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _strict(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The "utf-16" codec reads the byte order mark and drops it.
        text, encoding = _strict(data, "utf-16"), "utf-16"
        if "\x00" in text:  # UTF-32 LE also starts with FF FE
            raise _Skip(UNDECODABLE)
    elif b"\x00" in data:
        raise _Skip(BINARY)
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _strict(data, "gb18030"), "gb18030"
            if text is not None and not _looks_like_chinese_text(text):
                raise _Skip(UNDECODABLE)
    if text is None:
        raise _Skip(UNDECODABLE)
    if not text.strip():
        raise _Skip(EMPTY)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_IDEOGRAPH = "\u3400-\u9fff\uf900-\ufaff"
_IDEOGRAPH_RUN = re.compile(f"[{_IDEOGRAPH}]{{2,}}")


def _looks_like_chinese_text(text: str) -> bool:
    """True if GB18030-decoded text is plausibly real text rather than mis-decoded bytes.

    Real GBK/GB2312 documents use mostly the ideographs of GB2312 (both bytes >= 0xA1; even
    traditional-character text has under half outside it). A Latin-1 or Windows-1252 file
    decoded as GB18030 pairs an accented letter with the next ASCII letter (second byte
    < 0xA1), which gives almost only GBK-only ideographs; binary data
    brings control, private-use and unassigned characters. Real Chinese comes in runs of
    ideographs, while a mis-decoded accent gives one ideograph between Latin letters
    ("w琰s"), so at least half of the ideographs must be in runs of two or more. Punctuation and symbols outside
    GB2312 (no-break spaces, "›") are neutral, so mostly-English GBK files are accepted.
    """
    counts = Counter(text)
    controls = ideographs = rare = 0
    for char, n in counts.items():
        if char < "\x80":
            if char < " " and char not in _ALLOWED_CONTROLS:
                controls += n
            continue
        category = unicodedata.category(char)
        if category in ("Co", "Cn", "Cs"):
            return False
        if category == "Cc":
            controls += n
        elif "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or char >= "\U00020000":
            ideographs += n
            try:
                char.encode("gb2312")
            except UnicodeEncodeError:
                rare += n
    if controls > len(text) // 1000 or rare > 0.5 * ideographs:
        return False
    # Chinese words are runs of ideographs; a mis-decoded accent is one ideograph among letters.
    in_runs = sum(len(run) for run in _IDEOGRAPH_RUN.findall(text)) if ideographs else 0
    return in_runs >= 0.5 * ideographs


def _normalise_extensions(extensions: Iterable[str]) -> frozenset[str]:
    if isinstance(extensions, str):
        extensions = (extensions,)
    return frozenset(ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in extensions)
