"""Exports: coded segments as an Excel workbook for reviewers (openpyxl)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.filters import AutoFilter

from .errors import OutputError
from .files import atomic_path
from .segments import split_matched

SHEET_TITLE = "segments"
MATCH_FONT = InlineFont(b=True, color="C00000")
# Characters XML 1.0 (so an .xlsx cell) cannot hold: control characters, lone surrogates, U+FFFE/U+FFFF.
_CONTROL = re.compile(r"[\000-\010\013\014\016-\037]")
_NON_CHARACTER = re.compile("[\ud800-\udfff\ufffe\uffff]")
CELL_LIMIT = 32767  # Excel's limit, counted in UTF-16 code units
_WIDTHS = {"segment_id": 18, "document": 28, "code": 22, "code_path": 30, "label": 22, "matched": 24,
           "text": 90, "status": 11, "review": 10, "note": 30, "source": 8}
_NUMBERS = ("passage", "start", "end", "hits")


def write_segments_xlsx(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write segments to an .xlsx a reviewer can filter, read and fill in.

    The header is bold, frozen and filterable; the passage text is wrapped with the matched
    words in bold red; `review` has a drop-down (accept / reject; other spellings such as
    y / n are still accepted by `coder review import`). Written atomically.

    >>> write_segments_xlsx(read_segments_csv("outputs/segments.csv"), "outputs/segments.xlsx")  # doctest: +SKIP
    """
    path = Path(path)
    columns = [str(column) for column in frame.columns]
    for column in ("review", "note"):
        if column not in columns:
            columns.append(column)
    rows = len(frame)
    # Write-only: rows are streamed to the file as they come (a worksheet of 430,000 rows built in
    # memory first took 3.75 GB and 167 s); so widths, filter and validation are set before them.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column, 10)
    sheet.freeze_panes = "A2"
    area = f"A1:{get_column_letter(len(columns))}{max(rows + 1, 1)}"
    sheet.auto_filter = AutoFilter(ref=area)
    # The sheet's <dimension>, which the writer asks a sheet built in memory for: without it a reader in
    # read-only mode (openpyxl's) knows no last row.
    sheet.calculate_dimension = lambda: area
    review = get_column_letter(columns.index("review") + 1)
    validation = DataValidation(type="list", formula1='"accept,reject,add"', allow_blank=True, showErrorMessage=False)
    validation.promptTitle = "Review"
    validation.prompt = "accept or reject (y/n also work); add on a new row codes a passage by hand"
    validation.showInputMessage = True
    validation.add(f"{review}2:{review}{max(rows + 1, 2)}")
    sheet.data_validations.append(validation)  # (what add_data_validation does; a write-only sheet lacks it)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    sheet.append([_cell(sheet, name, font=header_font, fill=header_fill) for name in columns])
    wrapped = Alignment(wrap_text=True, vertical="top")
    text_index = columns.index("text") if "text" in columns else None
    matched_index = columns.index("matched") if "matched" in columns else None
    added = (None,) * (len(columns) - len(frame.columns))  # review and note, when the frame had none
    for values in frame.itertuples(index=False, name=None):
        cells = [_cell_value(column, value) for column, value in zip(columns, values + added)]
        if text_index is not None and matched_index is not None:
            cells[text_index] = _marked(str(cells[text_index]), str(cells[matched_index]))
        # A plain value where nothing is styled: a styled cell object per cell took most of the time.
        sheet.append([_cell(sheet, value, alignment=wrapped) if column in ("text", "note")
                      else _cell(sheet, value) if isinstance(value, str) and value.startswith("=") else value
                      for column, value in zip(columns, cells)])
    _save_atomic(workbook, path)
    return path


def _cell(sheet, value: object, *, font: Font | None = None, fill: PatternFill | None = None,
          alignment: Alignment | None = None) -> WriteOnlyCell:
    """A cell of the write-only sheet; text starting with "=" stays text, never a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("=") and cell.data_type == "f":
        cell.data_type = "s"
        cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _cell_value(column: str, value: object) -> object:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if column in _NUMBERS:
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
    return cell_text(str(value))


def cell_text(text: str) -> str:
    r"""`text` as an .xlsx cell can hold it: control characters become spaces, lone surrogates and
    U+FFFE/U+FFFF become U+FFFD, and text over Excel's 32,767 UTF-16 units is cut, ending in "…"
    (segments keep their start and end offsets, so the whole passage can be read from the document).

    >>> cell_text("a\x00b\uffff"), len(cell_text("😀" * 20000).encode("utf-16-le")) // 2
    ('a b�', 32767)
    """
    text = _NON_CHARACTER.sub("\ufffd", _CONTROL.sub(" ", text))
    if len(text) <= CELL_LIMIT // 2 or _utf16_units(text) <= CELL_LIMIT:
        return text
    units, cut = 0, 0
    for position, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > CELL_LIMIT - 1:  # room for the "…"
            break
        cut = position + 1
    return text[:cut] + "…"


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _marked(text: str, matched: str) -> CellRichText | str:
    """The text with every occurrence of the matched words as bold red runs."""
    words = sorted(split_matched(matched), key=len, reverse=True)
    if not text or not words:
        return text
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    parts: list[str | TextBlock] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        parts.append(TextBlock(MATCH_FONT, match.group()))
        position = match.end()
    if position == 0:
        return text
    if position < len(text):
        parts.append(text[position:])
    return CellRichText(parts)


def _save_atomic(workbook: Workbook, path: Path) -> None:
    try:
        with atomic_path(path) as temporary:
            workbook.save(temporary)
    except PermissionError:
        raise OutputError(f"{path}: cannot write the workbook (is it open in Excel?). Close it and run again.")
