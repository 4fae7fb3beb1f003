"""Test documents made on the spot: PDFs with reportlab, Word files with python-docx, known text.

Used by tests/test_extract.py and benchmarks/bench_extract.py; nothing here is shipped.
"""

from __future__ import annotations

import io
from pathlib import Path

LETTER_WIDTH, LETTER_HEIGHT = 612.0, 792.0

BODY = [
    "Cross-regional governance needs joint meetings of the mayors and a shared budget.",
    "The alliance meets every quarter and reports to the provincial party committee.",
    "Local protection remains the main barrier to a common market for services.",
    "Officials from both provinces exchange posts for two years at a time.",
]


def pdf_bytes(pages: list[list[tuple[float, float, str]] | None], *, font: str = "Helvetica", size: float = 10,
              header: str | None = None, footer_numbers: bool = False, image_only: bool = False,
              password: str | None = None) -> bytes:
    """A PDF whose page i draws `pages[i]`: (x, y, text) strings in the order given.

    `header` is drawn at the top of every page; `footer_numbers` draws "- n -" at the
    bottom; `image_only` (or a page given as None) draws a grey rectangle and no text, as a
    scan without OCR; `password` encrypts the file with that user password.
    """
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(LETTER_WIDTH, LETTER_HEIGHT), invariant=1, encrypt=password)
    for number, items in enumerate(pages, start=1):
        if image_only or items is None:
            pdf.setFillGray(0.5)
            pdf.rect(72, 72, 400, 600, fill=1)
        else:
            if header:
                pdf.setFont("Helvetica", 8)
                pdf.drawString(72, LETTER_HEIGHT - 40, header)
            if footer_numbers:
                pdf.setFont("Helvetica", 8)
                pdf.drawCentredString(LETTER_WIDTH / 2, 30, f"- {number} -")
            pdf.setFont(font, size)
            for x, y, text in items:
                pdf.drawString(x, y, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def column_lines(lines: list[str], *, x: float, top: float = 700, leading: float = 14) -> list[tuple[float, float, str]]:
    return [(x, top - i * leading, line) for i, line in enumerate(lines)]


def two_column_pdf() -> bytes:
    """Title across the page, then two columns drawn row by row (left, right, left, ...)."""
    left = ["The left column starts", "here and goes on for", "four lines of text", "before it ends."]
    right = ["The right column is read", "after the left one, even", "though it was drawn", "line by line with it."]
    items = [(72, 740, "A Title Across Both Columns Of The Page")]
    for i in range(4):
        items.append((72, 700 - 14 * i, left[i]))
        items.append((320, 700 - 14 * i, right[i]))
    return pdf_bytes([items], size=11)


def running_header_pdf(pages: int = 4) -> bytes:
    """Pages with the same header and a page number; a word hyphenated across pages 2 and 3."""
    content = []
    for number in range(1, pages + 1):
        lines = [f"Page {number} body: the joint meeting discussed item {number}.", "Local protection was raised again by", "the delegates from the"]
        if number == 2:
            lines[-1] = "delegates, who called it a gover-"
        if number == 3:
            lines[0] = "nance problem of the region. Then the joint meeting went on."
        content.append(column_lines(lines, x=72))
    return pdf_bytes(content, header="Journal of Regional Studies 12(3)", footer_numbers=True)


def hyphenated_pdf() -> bytes:
    """One paragraph with words hyphenated at line ends; one is a real compound."""
    lines = [
        "Regional gover-",
        "nance depends on cross-regional agreements. The cross-",
        "regional committee meets in the provin-",
        "cial capital.",
    ]
    return pdf_bytes([column_lines(lines, x=72)])


def chinese_pdf() -> bytes:
    """Chinese text in reportlab's built-in CID font STSong-Light (Adobe-GB1)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    lines = ["各市召开联席会议，破除行政", "壁垒，推动区域党建一体化。", "", "地方保护仍是主要障碍。"]
    items = [(72, 700 - 18 * i, line) for i, line in enumerate(lines) if line]
    return pdf_bytes([items], font="STSong-Light", size=12)


def docx_bytes(paragraphs: list[str], *, header: str | None = None, table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table):
            for cell, value in zip(row.cells, values):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def long_pdf(pages: int = 5, *, seed: int = 0) -> bytes:
    """A report of `pages` two-column pages with a running header and page numbers, for benchmarks."""
    words = " ".join(BODY[(i + seed) % len(BODY)] for i in range(40 * pages)).split()
    content = []
    for number in range(pages):
        items = [(72, 720, "Cooperation between the provinces")] if number == 0 else []
        for column, x in enumerate((72, 320)):
            row = 0
            while row < 44 and words:
                line = []
                while words and len(" ".join([*line, words[0]])) <= 42:
                    line.append(words.pop(0))
                items.append((x, 690 - 14 * row, " ".join(line)))
                row += 1
        content.append(items)
    return pdf_bytes(content, header="Regional Governance Review", footer_numbers=True)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
