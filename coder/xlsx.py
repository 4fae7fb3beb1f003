"""Exports: coded segments as an Excel workbook for reviewers (its XML written directly; openpyxl reads it back)."""

from __future__ import annotations

import functools
import re
import secrets
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.writer.theme import theme_xml

from .errors import OutputError
from .files import ESCAPING_APP_VERSION, WORKBOOK_PROPERTY, atomic_path, display_name
from .segments import split_matched

SHEET_TITLE = "segments"
# Characters XML 1.0 (so an .xlsx cell) cannot hold: control characters, lone surrogates, U+FFFE/U+FFFF.
_CONTROL = re.compile(r"[\000-\010\013\014\016-\037]")
_NON_CHARACTER = re.compile("[\ud800-\udfff\ufffe\uffff]")
_UNSAFE = re.compile("[\000-\010\013\014\016-\037\ud800-\udfff\ufffe\uffff]")
CELL_LIMIT = 32767  # Excel's limit, counted in UTF-16 code units
_WIDTHS = {"segment_id": 18, "document": 28, "code": 22, "code_path": 30, "label": 22, "matched": 24,
           "text": 90, "status": 11, "review": 10, "note": 30, "source": 8}
_NUMBERS = ("passage", "start", "end", "hits")


def write_segments_xlsx(frame: pd.DataFrame, path: str | Path, *, identifier: str | None = None) -> Path:
    """Write segments to an .xlsx a reviewer can filter, read and fill in.

    The header is bold, frozen and filterable; the passage text is wrapped with the matched
    words in bold red; `review` has a drop-down (accept / reject; other spellings such as
    y / n are still accepted by `coder review import`). Written atomically. `identifier` (hex digits; by
    default a new random one) names this workbook in its custom document properties, which spreadsheets
    keep when they save it (`files.workbook_carries`).

    Raises:
        OutputError: more segments than an Excel sheet holds (EXCEL_MAX_ROWS, the header's row among
        them); nothing is written.

    >>> write_segments_xlsx(read_segments_csv("outputs/segments.csv"), "outputs/segments.xlsx")  # doctest: +SKIP
    """
    path = Path(path)
    columns = [str(column) for column in frame.columns]
    for column in ("review", "note"):
        if column not in columns:
            columns.append(column)
    rows = len(frame)
    if rows + 1 > EXCEL_MAX_ROWS:  # Excel opens a longer sheet as a damaged file, its rows past the limit lost
        raise OutputError(
            f"{display_name(path)}: {rows:,} segments, more than an Excel sheet holds ({EXCEL_MAX_ROWS - 1:,} under its "
            f"header): no workbook written. Review segments.csv instead (it has the same columns), or export a run "
            f"of fewer documents.")
    last = get_column_letter(len(columns))
    area = f"A1:{last}{max(rows + 1, 1)}"
    review = get_column_letter(columns.index("review") + 1)
    letters = [get_column_letter(index) for index in range(1, len(columns) + 1)]
    identifier = identifier or secrets.token_hex(16)
    if re.fullmatch(r"[0-9a-f]{1,64}", identifier) is None:
        raise ValueError(f"identifier {identifier!r}: expected up to 64 hex digits")
    try:
        with atomic_path(path) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for name, text in _PARTS.items():
                archive.writestr(name, text.replace("{area}", _absolute(area)).replace("{now}", now)
                                 .replace("{identifier}", identifier))
            archive.writestr("xl/theme/theme1.xml", theme_xml)  # the fonts and colours Excel's own files name
            sheet = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=time.localtime()[:6])
            sheet.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(sheet, "w", force_zip64=True) as stream:
                _write_sheet(stream, frame, columns, letters, area=area, review=review)
    except PermissionError:
        raise OutputError(f"{path}: cannot write the workbook (is it open in Excel?). Close it and run again.")
    return path


# Rows of an Excel sheet (the header's among them): past it, Excel reports the workbook damaged.
EXCEL_MAX_ROWS = 1_048_576

# The workbook is written as its XML parts, one row a line of text: openpyxl built an element tree for
# every cell and a rich-text object for every passage (433,675 segments: 197 s of CPU; this: 34 s).
# What a reader sees is what openpyxl wrote: one sheet, the same styles, widths, filter, frozen
# header and drop-down, text starting with "=" as text.
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
        '<Override PartName="/xl/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '<Override PartName="/docProps/custom.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_RELATIONSHIPS}/extended-properties" Target="docProps/app.xml"/>'
        f'<Relationship Id="rId4" Type="{_RELATIONSHIPS}/custom-properties" Target="docProps/custom.xml"/>'
        '</Relationships>'),
    # Names coder and the version of its writing that escapes text (files.ESCAPING_APP_VERSION): a workbook
    # written before it names coder alone and holds its text as it is; a spreadsheet that saves the workbook
    # writes its own app.xml.
    "docProps/app.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f'<Application>coder</Application><AppVersion>{ESCAPING_APP_VERSION}</AppVersion></Properties>'),
    # The workbook's name for itself: a run folder's record of what its segments.xlsx showed is of the
    # workbook carrying it (runs.RunFolder.read_workbook_written), edited and saved since or not.
    "docProps/custom.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="{WORKBOOK_PROPERTY}">'
        '<vt:lpwstr>{identifier}</vt:lpwstr></property></Properties>'),
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>coder</dc:creator>'
        '<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
        '<bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name="{SHEET_TITLE}" sheetId="1" r:id="rId1"/></sheets>'
        f'<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"'{SHEET_TITLE}'!{{area}}</definedName></definedNames>"
        '</workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{_RELATIONSHIPS}/theme" Target="theme/theme1.xml"/>'
        '</Relationships>'),
    # Cell styles: 0 plain, 1 the header (bold, light blue), 2 wrapped at the top (text, note), 3 and 4
    # those two for text starting with "=" (a quote prefix: Excel shows it as text, never a formula).
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{_MAIN}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
        '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font></fonts>'
        '<fills count="3"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="00DDEBF7"/><bgColor rgb="00000000"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment vertical="top" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1" quotePrefix="1">'
        '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}
_HEADER, _WRAPPED, _QUOTED = 1, 2, 3
_PROMPT = "accept or reject (y/n also work); add on a new row codes a passage by hand; withdraw removes a decision"
_ROWS_A_SLICE = 5000


def _absolute(area: str) -> str:
    """"A1:P9" as "$A$1:$P$9"."""
    return ":".join(re.sub(r"([A-Z]+)([0-9]+)", r"$\1$\2", corner) for corner in area.split(":"))


def _write_sheet(stream, frame: pd.DataFrame, columns: list[str], letters: list[str], *, area: str, review: str) -> None:
    rows = len(frame)
    widths = "".join(f'<col min="{index}" max="{index}" width="{_WIDTHS.get(column, 10)}" customWidth="1"/>'
                     for index, column in enumerate(columns, start=1))
    stream.write((
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
        f'<dimension ref="{area}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
        'state="frozen"/><selection pane="bottomLeft" activeCell="A1" sqref="A1"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{widths}</cols><sheetData>'
        + _row(1, [(letter, _text_cell(cell_text(name), _HEADER)) for letter, name in zip(letters, columns)])
    ).encode("utf-8"))
    # A slice of rows at a time (the whole table's cells at once held 2.5 GB for 433,000 segments); in it
    # column by column, each cell's XML after its reference (or None: no cell), then row by row.
    for start in range(0, rows, _ROWS_A_SLICE):
        stream.write(_rows_xml(frame.iloc[start:start + _ROWS_A_SLICE], columns, letters, first=start + 2).encode("utf-8"))
    stream.write((
        f'</sheetData><autoFilter ref="{area}"/>'
        f'<dataValidations count="1"><dataValidation type="list" allowBlank="1" showErrorMessage="0" '
        f'showInputMessage="1" promptTitle="Review" prompt="{_PROMPT}" sqref="{review}2:{review}{max(rows + 1, 2)}">'
        '<formula1>"accept,reject,add,withdraw"</formula1></dataValidation></dataValidations></worksheet>'
    ).encode())


def _rows_xml(frame: pd.DataFrame, columns: list[str], letters: list[str], *, first: int) -> str:
    """The <row> elements of the frame's rows, the first numbered `first`."""
    rows = len(frame)
    fragments = [_column_cells(frame, column) if column in frame.columns else [None] * rows for column in columns]
    if "text" in frame.columns and "matched" in frame.columns:
        position = columns.index("text")
        fragments[position] = [
            _text_cell(text, _WRAPPED, marked=matched) if text else empty
            for text, matched, empty in zip(_texts(frame["text"]), _texts(frame["matched"]), fragments[position])]
    for position, column in enumerate(columns):
        if column in ("text", "note"):  # an empty wrapped cell keeps its style, for what is typed in
            fragments[position] = [_EMPTY_WRAPPED if cell is None else cell for cell in fragments[position]]
    return "".join(f'<row r="{number}">' + "".join(
        f'<c r="{letter}{number}"{cell}' for letter, cell in zip(letters, cells) if cell is not None) + "</row>"
        for number, cells in enumerate(zip(*fragments), start=first))


def _row(number: int, cells: list[tuple[str, str]]) -> str:
    return f'<row r="{number}">' + "".join(f'<c r="{letter}{number}"{cell}' for letter, cell in cells) + "</row>"


_EMPTY_WRAPPED = f' s="{_WRAPPED}"/>'


def _texts(values: pd.Series) -> list[str]:
    """A column's cells as text an .xlsx holds (`cell_text`); "" for none."""
    return [cell_text(str(value)) if not (value is None or (isinstance(value, float) and value != value)) else ""
            for value in values.tolist()]


def _column_cells(frame: pd.DataFrame, column: str) -> list[str | None]:
    """The XML of a column's cells from after their reference on (`<c r="A2"` + this); None for an empty cell."""
    if column in _NUMBERS:
        cells: list[str | None] = []
        for value in frame[column].tolist():
            if value is None or (isinstance(value, float) and value != value) or value == "":
                cells.append(None)
                continue
            try:
                cells.append(f"><v>{int(value)}</v></c>")
            except (TypeError, ValueError):
                cells.append(_text_cell(cell_text(str(value)), 0))
        return cells
    style = _WRAPPED if column in ("text", "note") else 0
    return [_text_cell(text, style) if text else None for text in _texts(frame[column])]


def _text_cell(text: str, style: int, *, marked: str = "") -> str:
    """The rest of a text cell's <c> element from its attributes on: an inline string, the matched
    words of `marked` as bold red runs; text starting with "=" gets a quote prefix (text, not a formula)."""
    runs = _match_runs(text, marked) if marked else None
    if text.startswith("=") and runs is None:  # (runs are text already)
        style = style + 2 if style == _WRAPPED else _QUOTED if style == 0 else style
    attributes = f' s="{style}" t="inlineStr">' if style else ' t="inlineStr">'
    if runs is None:
        return f"{attributes}<is>{_t(_escaped(text))}</is></c>"
    if "_x" in text:
        runs = _escaped_runs(text, runs)
    return attributes + "<is>" + "".join(
        f'<r><rPr><b val="1"/><color rgb="00C00000"/></rPr>{_t(part)}</r>' if match else f"<r>{_t(part)}</r>"
        for part, match in runs) + "</is></c>"


# A spreadsheet reads "_xHHHH_" in a cell's text as the character U+HHHH (ECMA-376 Part 1, 22.9.2.19
# ST_Xstring): text that holds one literally ("_x000D_", "_x0041_") is written with its "_" as "_x005F_",
# as Excel writes it. Every "_" that begins one is, overlapping ones too: "_x0041_x0042_" escaped only at
# its start would show "_x0041B".
_ESCAPE_START = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def _escaped(text: str) -> str:
    r"""`text` as a cell's XML spells it for a spreadsheet to show `text` (`files.cell_shown` reads it back).

    >>> _escaped("_x0041_ and _x00"), _escaped("_X0041_")
    ('_x005F_x0041_ and _x00', '_X0041_')
    """
    return _ESCAPE_START.sub("_x005F_", text) if "_x" in text else text


def _escaped_runs(text: str, runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The runs of `text` (`_match_runs`), each escaped as `_escaped` escapes the whole: a matched word may
    cut a "_xHHHH_" in two, and a reader that joins the runs (openpyxl, so `coder review import`) reads it whole."""
    starts = {match.start() for match in _ESCAPE_START.finditer(text)}
    escaped, position = [], 0
    for part, match in runs:
        escaped.append(("".join("_x005F_" if position + index in starts else char for index, char in enumerate(part))
                        if any(position <= start < position + len(part) for start in starts) else part, match))
        position += len(part)
    return escaped


def _t(text: str) -> str:
    """A <t> element holding `text`, escaped; spaces at its ends kept (as openpyxl writes it)."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if text[:1].isspace() or text[-1:].isspace():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def cell_text(text: str) -> str:
    r"""`text` as an .xlsx cell can hold it: control characters become spaces, lone surrogates and
    U+FFFE/U+FFFF become U+FFFD, and text over Excel's 32,767 UTF-16 units is cut, ending in "…"
    (segments keep their start and end offsets, so the whole passage can be read from the document).

    >>> cell_text("a\x00b\uffff"), len(cell_text("😀" * 20000).encode("utf-16-le")) // 2
    ('a b�', 32767)
    """
    text = cell_characters(text)
    if len(text) <= CELL_LIMIT // 2 or _utf16_units(text) <= CELL_LIMIT:
        return text
    units, cut = 0, 0
    for position, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > CELL_LIMIT - 1:  # room for the "…"
            break
        cut = position + 1
    return text[:cut] + "…"


def cell_characters(text: str) -> str:
    r"""`text` with the characters an .xlsx cell cannot hold replaced, as cell_text replaces them (its length kept).

    >>> cell_characters("tab\there\x0bvt")
    'tab\there vt'
    """
    return _NON_CHARACTER.sub("\ufffd", _CONTROL.sub(" ", text)) if _UNSAFE.search(text) is not None else text


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _match_runs(text: str, matched: str) -> list[tuple[str, bool]] | None:
    """The text cut into runs, each (its text, whether it is one of the matched words); None when no
    matched word occurs in it."""
    pattern = _matched_pattern(matched)
    if not text or pattern is None:
        return None
    runs: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            runs.append((text[position:match.start()], False))
        runs.append((match.group(), True))
        position = match.end()
    if position == 0:
        return None
    if position < len(text):
        runs.append((text[position:], False))
    return runs


@functools.lru_cache(maxsize=4096)
def _matched_pattern(matched: str) -> re.Pattern[str] | None:
    """The matched words of a segment as one pattern, the longest first; many segments share theirs."""
    words = sorted(split_matched(matched), key=len, reverse=True)
    return re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE) if words else None
