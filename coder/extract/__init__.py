"""Stage 1: extract the text of a PDF, Word, OpenDocument, RTF or HTML file, with page spans.

The text a document is coded on is the text this stage returns: offsets in segments.csv,
kwic and the REFI-QDA export point into it, so it is stored beside the outputs. What the
extraction dropped (running headers, footers, page numbers, menus) is listed in
`ExtractedText.removed`, so a reader can see that nothing else was lost.

One module per family, each behind one function taking the file's bytes:

- `pdf.py`: PDF text layer with pypdfium2 (PDFium), reading order, headers and hyphens;
- `html.py`: saved web pages, the article text with trafilatura;
- `office.py`: DOCX (python-docx), ODT (its content.xml, with lxml) and RTF (striprtf);
- `encodings.py`: plain text in legacy encodings (charset-normalizer) or a forced one;
- `cache.py`: extracted texts kept by the hash of the file, so a PDF is read once per change.

>>> extracted = extract_bytes(b"<html><body><p>Joint meetings.</p></body></html>", ".html")  # doctest: +SKIP
>>> extracted.text  # doctest: +SKIP
'Joint meetings.'
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import CorpusError
from ..models import Removed, page_label

if TYPE_CHECKING:
    from .cache import ExtractionCache

Format = Literal["pdf", "docx", "odt", "rtf", "html"]

#: File extensions this stage reads, and the format each one is.
EXTRACTED_EXTENSIONS: dict[str, Format] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".rtf": "rtf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
}


class ExtractionError(CorpusError):
    """A document file cannot be turned into text (no text layer, password, damaged file)."""


@dataclass(frozen=True)
class ExtractedText:
    """The text of one document as it will be coded, and where its pages are.

    `pages[i]` is the (start, end) span of page i + 1 in `text` (PDFs only; other formats
    have no pages). Text between two page spans is the separator written between pages.
    """

    text: str
    format: Format
    pages: tuple[tuple[int, int], ...] = ()
    removed: tuple[Removed, ...] = ()
    warnings: tuple[str, ...] = ()
    encoding: str | None = None  # a web page's encoding (how its bytes were read); None for the other formats

    def page_label(self, start: int, end: int) -> str:
        """The page of a span for citing it: "3", "3-4" when it crosses a page, "" without pages.

        >>> ExtractedText("ab\\n\\ncd", "pdf", pages=((0, 2), (4, 6))).page_label(0, 6)
        '1-2'
        """
        return page_label(self.pages, start, end)


def break_mark() -> str:
    """A word no document holds (random each time), for an extractor to mark its line breaks with
    before a library reads them as paragraph ends; `with_breaks` reads them back."""
    return "brk" + secrets.token_hex(8)


def with_breaks(line: str, mark: str) -> str:
    """`line` with the marks an extractor put for line breaks (HTML's <br>, RTF's \\line) read back:
    one is a line break inside the paragraph, two or more in a row (`<br><br>`, as old pages write
    paragraphs) a paragraph break; none at either end.

    >>> with_breaks("joint#meetings  ## held# ", "#")
    'joint\\nmeetings\\n\\nheld'
    """
    if mark not in line:
        return line.strip()
    paragraphs = ("\n".join(piece.strip() for piece in part.split(mark) if piece.strip())
                  for part in re.split(rf"(?:\s*{mark}){{2,}}", line))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def is_extracted(path: str | Path) -> bool:
    """True if the file's extension is one this stage reads (PDF, DOCX, ODT, RTF, HTML)."""
    return Path(path).suffix.lower() in EXTRACTED_EXTENSIONS


def extract_file(path: str | Path, *, cache: ExtractionCache | None = None) -> ExtractedText:
    """Extract the text of one document file, chosen by its extension; reuse `cache` if given.

    Raises:
        ExtractionError: the file cannot be read or holds no text (the message says how to fix it).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ExtractionError(f"{path}: cannot read: {error.strerror or error}")
    key = None
    if cache is not None:
        from .cache import file_key

        key = file_key(data, suffix=path.suffix)
        found = cache.get(key)
        if found is not None:
            return found
    try:
        extracted = extract_bytes(data, path.suffix)
    except ExtractionError as error:
        raise ExtractionError(f"{path.name}: {error}") from None
    except (RecursionError, MemoryError):
        raise ExtractionError(f"{path.name}: nested or large beyond what can be read: not read, as a damaged or "
                              "hostile file") from None
    except Exception as error:  # a reader library's own error on a file it cannot parse: this file is skipped, not the run
        raise ExtractionError(f"{path.name}: cannot be read ({type(error).__name__}: {str(error)[:80]}); open it and "
                              "save it again, or save it in another format") from None
    return cache.put(key, extracted) if cache is not None and key is not None else extracted


def extract_bytes(data: bytes, suffix: str) -> ExtractedText:
    """Extract text from the bytes of a file whose extension is `suffix` (".pdf", "docx", ...).

    Raises:
        ExtractionError: unknown format, or the bytes hold no extractable text.
    """
    key = suffix.lower() if suffix.startswith(".") else f".{suffix.lower()}"
    kind = EXTRACTED_EXTENSIONS.get(key)
    if kind is None:
        raise ExtractionError(f"unsupported file type {key}")
    if kind == "pdf":
        from .pdf import extract_pdf

        return extract_pdf(data)
    if kind == "html":
        from .html import extract_html

        return _letters_for_ligatures(extract_html(data))
    from . import office

    return _letters_for_ligatures(
        {"docx": office.extract_docx, "odt": office.extract_odt, "rtf": office.extract_rtf}[kind](data))


# Latin ligatures as one character each (ﬁ U+FB01 ...), which text copied from a PDF into a Word file or a
# web page holds: "ﬁnancial" is no word "financial" to the matcher (probe AB4). The PDF reader gives letters.
_LIGATURES = {chr(code): unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}


def _letters_for_ligatures(extracted: ExtractedText) -> ExtractedText:
    """`extracted` with each Latin ligature its letters (a format without pages: offsets are into this text).

    >>> _letters_for_ligatures(ExtractedText("The ﬁnancial plan was eﬃcient.", "docx")).text
    'The financial plan was efficient.'
    """
    text = extracted.text
    if text.isascii() or not any(ligature in text for ligature in _LIGATURES):
        return extracted
    return replace(extracted, text=text.translate(str.maketrans(_LIGATURES)))


__all__ = [
    "EXTRACTED_EXTENSIONS",
    "ExtractedText",
    "ExtractionError",
    "Removed",
    "extract_bytes",
    "extract_file",
    "is_extracted",
]
