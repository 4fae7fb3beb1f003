"""Stage 1 (PDF): the text layer of a PDF in reading order, with page spans and without running headers.

PDFium (pypdfium2) gives each character and its box. Words are grouped into line fragments
(a fragment ends where PDFium ends a line, where the baseline changes, or at a horizontal gap
wider than about one em, which is how two columns printed side by side come apart). Then,
page by page:

1. Running headers and footers: a fragment in the one or two rows set apart (by more than 0.6
   of a line's height) at the top or bottom of the page, in its outer 15%, whose text, with digits ignored, comes
   back on at least 40% of the pages (and on two or more) is removed, and so is a lone page
   number there ("12", "- 12 -", "Page 3 of 9", "xii"). Each removal is recorded.
2. Columns: vertical gutters are x ranges that no fragment narrower than 55% of the text
   width crosses, with at least three fragments on each side and columns at least 18% of
   the text width wide. Text is read column by column, top to bottom; a fragment that
   crosses a gutter (a title, a full-width table) is read where it stands and closes the
   columns above it.
3. Paragraphs: a new paragraph starts after extra vertical space, at a change of font
   size, at a first-line indent, or after a short line that ends a sentence. Across a
   column or page break the paragraph goes on when the sentence does (no final
   punctuation before, and a lowercase letter or a CJK character after, or a full line of
   running text before: about as long as the document's lines, not a one-line block).
4. Lines of a paragraph are joined with "\\n", except between two CJK characters (no space
   in Chinese); paragraphs with a blank line. A word hyphenated at a line or page end is
   rejoined on the first line ("gover-" + "nance" -> "governance"); the hyphen stays when
   the document writes that word with a hyphen elsewhere and never without one
   ("cross-regional"). Soft hyphens (U+00AD) are always removed.
"""

from __future__ import annotations

import bisect
import ctypes
import io
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from . import ExtractedText, ExtractionError, Removed
from .pdf_streams import unpacked_stream_bytes

_EDGE_BAND = 0.15  # share of the page height where running headers and footers live
_EDGE_ROWS = 2  # rows of text from each edge considered for headers and footers
_REPEAT_SHARE = 0.4  # a header or footer is on at least this share of the pages
_NARROW = 0.55  # fragments narrower than this share of the text width can sit in a column
_MIN_COLUMN_SHARE = 0.18
_CENTRED = 0.4  # a centred line narrower than this share of the text width is no column's
_MIN_COLUMN_FRAGMENTS = 3

_HYPHENS = "-\u2010\u00ad"
_SOFT_HYPHENS = "\u00ad"
_WORD = re.compile(r"\S+")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+|p\.\s*)?(?:\d+|[ivxlcdm]+)(?:\s*(?:/|of)\s*\d+)?(?:\s*[-–—])?$|^第\s*\d+\s*页$",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.!?:;。！？：；…][\"'”’)）」』]*$")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LETTERS = re.compile(r"[^\W\d_]+")


@dataclass
class _Fragment:
    """A run of words on one line of one column."""

    x0: float
    x1: float
    bottom: float
    top: float
    text: str

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass
class _Line:
    """A line of the reading order: its fragments joined, and whether a paragraph starts here."""

    page: int
    text: str
    fragments: list[_Fragment] = field(default_factory=list)
    paragraph: bool = False  # a paragraph starts at this line
    run_start: bool = False  # first line of a column or a full-width block


# What the compressed streams of a PDF may unpack to, images aside (pdf_streams): a 1.4 MB file whose
# one page unpacks to 1.5 GB of spaces took 2.7 GB of memory, and ten times that would take the machine's.
_MAX_UNPACKED_STREAM_BYTES = 512 * 1024 * 1024


def _check_streams(data: bytes, limit: int = _MAX_UNPACKED_STREAM_BYTES) -> None:
    """Refuse a PDF whose streams (images aside) would unpack to more than `limit` bytes."""
    if unpacked_stream_bytes(data, limit=limit) > limit:
        raise ExtractionError(
            f"its compressed streams unpack to more than {limit // 2**20} MB, more than a PDF's text "
            "needs: not read, as a damaged or hostile file")


def _check_decrypted_streams(document, limit: int = _MAX_UNPACKED_STREAM_BYTES) -> None:
    """`_check_streams` for an encrypted PDF, whose streams are ciphertext in the file: they are counted
    in the copy PDFium saves without the encryption (still packed: saving unpacks none of them)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) == -1:
        return
    copy = io.BytesIO()
    try:
        document.save(copy, flags=pdfium_c.FPDF_REMOVE_SECURITY)
    except pdfium.PdfiumError:
        raise ExtractionError(
            "encrypted PDF whose streams cannot be checked: open it, save a copy without the encryption "
            "(or print it to PDF) and code that copy") from None
    _check_streams(copy.getvalue(), limit)


def extract_pdf(data: bytes) -> ExtractedText:
    """Extract the text layer of a PDF in reading order, with one (start, end) span per page.

    Raises:
        ExtractionError: damaged, password-protected, no text layer at all (a scan), or streams that
            unpack to more than _MAX_UNPACKED_STREAM_BYTES.
    """
    import pypdfium2 as pdfium

    _check_streams(data)
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise ExtractionError(
                "password-protected PDF: open it, save a copy without a password (or print it to PDF) and code that copy"
            ) from None
        raise ExtractionError(
            "damaged or not a PDF: PDFium cannot open it. Open it in a PDF reader and save a new copy (or print it to PDF)"
        ) from None
    try:
        _check_decrypted_streams(document)
        pages: list[tuple[list[_Fragment], float]] = []
        removed: list[Removed] = []
        unreadable: set[int] = set()  # page numbers PDFium cannot load (a damaged page tree)
        for index in range(len(document)):
            try:
                page = document[index]
            except pdfium.PdfiumError:
                unreadable.add(index + 1)
                pages.append(([], 0.0))
                continue
            rotated: list[str] = []
            try:
                pages.append((_page_fragments(page, rotated), page.get_height()))
            finally:
                page.close()
            if rotated:
                removed.append(Removed(page=index + 1, text=" ".join(rotated), reason="rotated text (margin stamp)"))
    finally:
        document.close()
    if not pages:
        raise ExtractionError("the PDF has no pages")
    if len(unreadable) == len(pages):
        raise ExtractionError(
            "damaged PDF: PDFium cannot load any of its pages. Open it in a PDF reader and save a new copy (or print it to PDF)"
        )
    if not any(fragments for fragments, _ in pages):
        raise ExtractionError(
            "no text layer: needs OCR. The PDF holds only images (a scan?). Run OCR on it "
            "(for example `ocrmypdf in.pdf out.pdf`) and code the result"
        )
    warnings = tuple(
        f"page {number}: damaged, PDFium cannot load it; its text is missing" if number in unreadable
        else f"page {number}: no text layer (a scanned page?); its text is missing, run OCR to include it"
        for number, (fragments, _) in enumerate(pages, start=1)
        if not fragments
    )
    removed = _remove_running_lines(pages) + removed
    removed.sort(key=lambda item: item.page or 0)
    lines: list[_Line] = []
    for number, (fragments, _) in enumerate(pages, start=1):
        lines.extend(_reading_order(fragments, number))
    text, spans = _assemble(lines, len(pages))
    return ExtractedText(text=text, format="pdf", pages=spans, removed=tuple(removed), warnings=warnings)


# --- characters -> fragments -------------------------------------------------------------


def _page_fragments(page, rotated: list[str] | None = None) -> list[_Fragment]:
    """The page's line fragments; words printed at an angle (margin stamps) go to `rotated`."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        count = pdfium_c.FPDFText_CountChars(raw)
        if count <= 0:
            return []
        text = textpage.get_text_range(0, count)
        if len(text) != count:  # characters outside the BMP: read one by one to keep indices
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i) or 32) for i in range(count))
        # PDFium reports a hyphen at a line end as U+FFFE or U+0002, whether or not the word
        # was hyphenated by the typesetter; it is a hyphen like any other here.
        text = text.replace("\ufffe", "-").replace("\x02", "-")
        rect = pdfium_c.FS_RECTF()
        pointer = ctypes.byref(rect)

        def box(index: int) -> tuple[float, float, float, float]:
            pdfium_c.FPDFText_GetLooseCharBox(raw, index, pointer)
            return rect.left, rect.right, rect.bottom, rect.top

        fragments: list[_Fragment] = []
        current: _Fragment | None = None
        previous_end = 0
        for match in _WORD.finditer(text):
            gap_text = text[previous_end:match.start()]
            previous_end = match.end()
            angle = pdfium_c.FPDFText_GetCharAngle(raw, match.start())
            if 0.05 < angle < 6.23:  # radians; upright text is 0 (or -1 when unknown)
                if rotated is not None:
                    rotated.append(match.group())
                continue
            for piece in _word_pieces(match.group(), match.start(), box):
                x0, x1, bottom, top, word = piece
                if current is not None and _continues(current, x0, x1, bottom, top, gap_text, word):
                    current.text += (" " if gap_text else "") + word
                    current.x0, current.x1 = min(current.x0, x0), max(current.x1, x1)
                    current.bottom = min(current.bottom, bottom)
                    current.top = max(current.top, top)
                else:
                    current = _Fragment(x0, x1, bottom, top, word)
                    fragments.append(current)
                gap_text = ""  # pieces of one word follow each other without a space
        return fragments
    finally:
        textpage.close()


def _word_pieces(word: str, start: int, box):
    """(x0, x1, bottom, top, text) for a word, split where it moves to another line."""
    first = box(start)
    last = box(start + len(word) - 1) if len(word) > 1 else first
    if _overlap(first[2], first[3], last[2], last[3]) > 0.5 * min(first[3] - first[2], last[3] - last[2]):
        yield min(first[0], last[0]), max(first[1], last[1]), min(first[2], last[2]), max(first[3], last[3]), word
        return
    # PDFium joined two lines into one "word" (a hyphenated line end): split by position.
    piece_start = 0
    x0, x1, bottom, top = first
    for offset in range(1, len(word)):
        left, right, low, high = box(start + offset)
        if _overlap(bottom, top, low, high) > 0.5 * min(top - bottom, high - low):
            x0, x1, bottom, top = min(x0, left), max(x1, right), min(bottom, low), max(top, high)
            continue
        yield x0, x1, bottom, top, word[piece_start:offset]
        piece_start, x0, x1, bottom, top = offset, left, right, low, high
    yield x0, x1, bottom, top, word[piece_start:]


def _continues(fragment: _Fragment, x0: float, x1: float, bottom: float, top: float, gap_text: str, word: str) -> bool:
    if "\n" in gap_text or "\r" in gap_text:
        return False
    height = max(fragment.height, top - bottom, 1.0)
    if _overlap(fragment.bottom, fragment.top, bottom, top) < 0.5 * min(fragment.height, top - bottom):
        return False
    # Right-to-left scripts (Arabic, Hebrew) go on to the left of the fragment.
    gap = fragment.x0 - x1 if _RTL.match(word) else x0 - fragment.x1
    return -0.5 * height <= gap <= 1.0 * height


def _overlap(bottom1: float, top1: float, bottom2: float, top2: float) -> float:
    return min(top1, top2) - max(bottom1, bottom2)


# --- running headers and footers ------------------------------------------------------------


def _edge_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.lower())).strip()


def _edge_fragments(fragments: list[_Fragment], height: float) -> list[tuple[_Fragment, str]]:
    """Fragments of the rows set apart at the top or bottom of a page, with "top" or "bottom".

    The edge block is the outermost one or two rows, up to a vertical gap over 0.6 of a line,
    inside the outer band of the page; body text runs on without such a gap.
    """
    rows: list[list[_Fragment]] = []
    extents: list[tuple[float, float]] = []  # each row's lowest bottom and highest top, kept as it grows
    for fragment in sorted(fragments, key=lambda f: -f.top):
        middle = (fragment.bottom + fragment.top) / 2
        if rows and extents[-1][0] <= middle <= extents[-1][1]:
            rows[-1].append(fragment)
            extents[-1] = (min(extents[-1][0], fragment.bottom), max(extents[-1][1], fragment.top))
        else:
            rows.append([fragment])
            extents.append((fragment.bottom, fragment.top))
    if len(rows) < 2:
        return []
    found: list[tuple[_Fragment, str]] = []
    for where, order in (("top", range(len(rows))), ("bottom", range(len(rows) - 1, -1, -1))):
        order = list(order)
        for depth in range(min(_EDGE_ROWS, len(order) - 1)):
            row, inner = extents[order[depth]], extents[order[depth + 1]]
            gap = row[0] - inner[1] if where == "top" else inner[0] - row[1]
            line = max(row[1] - row[0], inner[1] - inner[0])
            in_band = row[0] >= height * (1 - _EDGE_BAND) if where == "top" else row[1] <= height * _EDGE_BAND
            if not in_band:
                break
            if gap > 0.6 * line:
                found.extend((fragment, where) for index in order[: depth + 1] for fragment in rows[index])
                break
    return found


def _remove_running_lines(pages: list[tuple[list[_Fragment], float]]) -> list[Removed]:
    edges = [_edge_fragments(fragments, height) for fragments, height in pages]
    pages_with = defaultdict(set)
    for number, found in enumerate(edges):
        for fragment, _ in found:
            pages_with[_edge_key(fragment.text)].add(number)
    needed = max(2, _REPEAT_SHARE * len(pages))
    removed: list[Removed] = []
    for number, found in enumerate(edges):
        drop = []
        if len(found) == len(pages[number][0]):
            continue  # nothing but edge text on the page: keep it, it is the page's content
        for fragment, where in found:
            text = fragment.text.strip()
            if _PAGE_NUMBER.match(text):
                reason = "page number"
            elif len(pages_with[_edge_key(text)]) >= needed:
                reason = "running header" if where == "top" else "running footer"
            else:
                continue
            drop.append(fragment)
            removed.append(Removed(page=number + 1, text=text, reason=reason))
        if drop:
            ids = {id(fragment) for fragment in drop}
            pages[number][0][:] = [f for f in pages[number][0] if id(f) not in ids]
    return removed


# --- reading order ------------------------------------------------------------------------


def _gutters(fragments: list[_Fragment]) -> list[tuple[float, float]]:
    found = _gaps_between_narrow(fragments)
    return _column_gutters(*found) if found is not None else []


def _gaps_between_narrow(
    fragments: list[_Fragment],
) -> tuple[list[_Fragment], list[tuple[float, float]], float, float] | None:
    """The fragments narrow enough to sit in a column (sorted by x0), the gaps no narrow fragment
    crosses, and the text's left and right edge; None when there are too few narrow fragments."""
    left = min(f.x0 for f in fragments)
    right = max(f.x1 for f in fragments)
    width = right - left
    if width <= 0:
        return None
    narrow = [f for f in fragments if f.x1 - f.x0 < _NARROW * width]
    # A short line centred on the page, starting where no other line starts (a title block's author and
    # date, a page number), sits across the gutter of two columns below it: it hides no gap (it is read
    # as full width). A middle column's lines, centred too, start together.
    middle = (left + right) / 2
    starts = Counter(round(f.x0) for f in narrow)
    narrow = sorted((f for f in narrow if not (f.x1 - f.x0 < _CENTRED * width and abs((f.x0 + f.x1) / 2 - middle) < 0.02 * width
                                                and starts[round(f.x0)] == 1)), key=lambda f: f.x0)
    if len(narrow) < 2 * _MIN_COLUMN_FRAGMENTS:
        return None
    min_gap = 0.5 * statistics.median(f.height for f in narrow)
    gaps = []
    reach = narrow[0].x1
    for fragment in narrow[1:]:
        if fragment.x0 - reach >= min_gap:
            gaps.append((reach, fragment.x0))
        reach = max(reach, fragment.x1)
    return narrow, gaps, left, right


def _column_gutters(narrow: list[_Fragment], gaps: list[tuple[float, float]], left: float,
                    right: float) -> list[tuple[float, float]]:
    """The gaps kept once every column between them holds enough text to be a column.

    From the left: a weak column merges into the next (its gap dropped), the last one into the one
    before. Columns left of a weak one stay as they were, and a column only grows (its count and width
    with it), so one pass does what asking every column again after each drop did (that was quadratic
    in the gaps)."""
    width = right - left
    starts = [fragment.x0 for fragment in narrow]

    def weak(start: float, end: float) -> bool:
        if end - start < _MIN_COLUMN_SHARE * width:
            return True
        inside = 0
        for position in range(bisect.bisect_left(starts, start - 0.5), len(narrow)):
            fragment = narrow[position]
            if fragment.x0 > end + 0.5:
                break
            if fragment.x1 <= end + 0.5:
                inside += 1
                if inside >= _MIN_COLUMN_FRAGMENTS:
                    return False
        return True

    kept: list[tuple[float, float]] = []
    start = left
    for gap in gaps:
        if not weak(start, gap[0]):
            kept.append(gap)
            start = gap[1]
    if kept and weak(start, right):
        kept.pop()
    return kept


def _reading_order(fragments: list[_Fragment], page: int) -> list[_Line]:
    if not fragments:
        return []
    gaps = _gutters(fragments)
    ordered = sorted(fragments, key=lambda f: (-f.top, f.x0))
    runs: list[list[_Fragment]] = []
    columns: list[list[_Fragment]] = [[] for _ in range(len(gaps) + 1)]
    spanning: list[_Fragment] = []

    def flush_columns() -> None:
        for column in columns:
            if column:
                runs.append(list(column))
                column.clear()

    for fragment in ordered:
        if any(fragment.x0 < end and fragment.x1 > start for start, end in gaps):
            flush_columns()
            spanning.append(fragment)
            continue
        if spanning:
            runs.append(spanning)
            spanning = []
        center = (fragment.x0 + fragment.x1) / 2
        columns[sum(center > end for _, end in gaps)].append(fragment)
    if spanning:
        runs.append(spanning)
    flush_columns()
    lines: list[_Line] = []
    for run in runs:
        lines.extend(_run_lines(run, page))
    return lines


def _run_lines(run: list[_Fragment], page: int) -> list[_Line]:
    """Group a column's fragments into lines and mark where paragraphs start."""
    rows: list[list[_Fragment]] = []
    low = high = 0.0  # the last row's lowest bottom and highest top, kept as it grows
    for fragment in sorted(run, key=lambda f: (-f.top, f.x0)):
        middle = (fragment.bottom + fragment.top) / 2
        if rows and low <= middle <= high:
            rows[-1].append(fragment)
            low, high = min(low, fragment.bottom), max(high, fragment.top)
            continue
        rows.append([fragment])
        low, high = fragment.bottom, fragment.top
    lines = []
    for row in rows:
        row.sort(key=lambda f: -f.x1 if _RTL.match(f.text) else f.x0)
        lines.append(_Line(page=page, text=" ".join(f.text for f in row), fragments=row))
    left = min(f.x0 for f in run)
    right = max(f.x1 for f in run)
    width = right - left
    boxes = [
        (min(f.x0 for f in line.fragments), max(f.x1 for f in line.fragments),
         min(f.bottom for f in line.fragments), max(f.top for f in line.fragments))
        for line in lines
    ]
    spaces = [boxes[i - 1][2] - boxes[i][3] for i in range(1, len(boxes))]
    usual = statistics.median(spaces) if len(spaces) >= 2 else 0.0
    heights = [top - bottom for _, _, bottom, top in boxes]
    for i, line in enumerate(lines):
        if i == 0:
            line.run_start = True
            continue
        x0, _, _, _ = boxes[i]
        _, previous_x1, _, _ = boxes[i - 1]
        height = min(heights[i], heights[i - 1])
        previous = lines[i - 1].text
        line.paragraph = (
            spaces[i - 1] > usual + 0.35 * height
            or abs(heights[i] - heights[i - 1]) > 0.25 * max(heights[i], heights[i - 1])
            or (x0 - left > 0.8 * height and boxes[i - 1][0] - left <= 0.8 * height and len(lines) > 2)
            or (bool(_SENTENCE_END.search(previous)) and previous_x1 < right - 0.15 * width)
        )
    return lines


# --- lines -> text --------------------------------------------------------------------------


def _continues_sentence(previous: str, following: str, *, full: bool = False) -> bool:
    """Does the sentence of `previous` (a column's or page's last line) go on in `following` (the next
    one's first)? Not after a sentence's end; after a full line, whatever the next starts with (a
    name, a year, a quote: "...held in" | "2003 and..."); else when it starts lowercase or CJK, or the
    line ends in a hyphen."""
    if not previous or not following or _SENTENCE_END.search(previous):
        return False
    first = following[0]
    return full or first.islower() or bool(_CJK.match(first)) or previous[-1] in _HYPHENS


def _assemble(lines: list[_Line], page_count: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    for line in lines:
        line.text = line.text.strip()
    # A full line: about as long as the document's lines are (a paragraph's last line is shorter).
    lengths = sorted(len(line.text) for line in lines if line.text)
    full = 0.8 * lengths[len(lengths) // 2] if lengths else 0
    for i, line in enumerate(lines):
        if i and line.run_start and not line.paragraph:
            before = lines[i - 1].text  # a line of running text (not a one-line block, a title) as long as most
            is_full = not lines[i - 1].run_start and len(before) >= full > 0
            line.paragraph = not _continues_sentence(before, line.text, full=is_full)
    if lines:
        lines[0].paragraph = False
    all_text = "\n".join(line.text for line in lines)
    words = {word.lower() for word in _WORDS.findall(all_text)}
    _rejoin_hyphenated(lines, words)
    parts: list[str] = []
    length = 0
    spans: list[list[int]] = [[-1, -1] for _ in range(page_count)]
    previous: _Line | None = None
    for line in lines:
        if not line.text:
            if line.paragraph and previous is not None:
                continue
            continue
        if previous is not None:
            if line.paragraph:
                separator = "\n\n"
            elif _CJK.match(previous.text[-1]) and _CJK.match(line.text[0]):
                separator = ""
            else:
                separator = "\n"
            parts.append(separator)
            length += len(separator)
        span = spans[line.page - 1]
        if span[0] < 0:
            span[0] = length
        parts.append(line.text)
        length += len(line.text)
        span[1] = length
        previous = line
    # A page without text is an empty span where it falls.
    position = 0
    for span in spans:
        if span[0] < 0:
            span[0] = span[1] = position
        position = span[1]
    return "".join(parts), tuple((start, end) for start, end in spans)


def _rejoin_hyphenated(lines: list[_Line], words: set[str]) -> None:
    """Move the second half of a word hyphenated at a line end onto the first line."""
    previous: _Line | None = None
    for line in lines:
        if not line.text:
            continue
        if previous is not None and not line.paragraph:
            text = previous.text
            if len(text) >= 2 and text[-1] in _HYPHENS and text[-2].isalpha() and line.text[0].islower():
                # The letters before the hyphen, matched from the end (a search for letters up to
                # the end tried every start in a long run of letters: quadratic in the line).
                head = _LETTERS.match(text[-2::-1])
                token = line.text.split(maxsplit=1)
                tail = _LETTERS.match(token[0])
                if head and tail:
                    first, second = head.group()[::-1].lower(), tail.group().lower()
                    keep = (
                        text[-1] not in _SOFT_HYPHENS
                        and f"{first}-{second}" in words
                        and f"{first}{second}" not in words
                    )
                    previous.text = text[:-1] + ("-" if keep else "") + token[0]
                    line.text = token[1] if len(token) > 1 else ""
                    if not line.text:
                        continue
            elif text[-1] in _SOFT_HYPHENS:
                previous.text = text[:-1]
        previous = line
    if previous is not None and previous.text and previous.text[-1] in _SOFT_HYPHENS:
        previous.text = previous.text[:-1]
