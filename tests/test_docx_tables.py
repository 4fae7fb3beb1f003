"""Word tables read in one pass (coder.extract.office._table_rows), as python-docx's row.cells read them.

row.cells repeats a spanned cell once per grid column and walks up the rows above for the text of
each vertically merged cell: a small file of one cell spanning a billion columns, or of thousands
of merged rows, never finished. The one pass must give what row.cells gave on any table Word makes.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile

import docx
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.extract import extract_bytes
from coder.extract.office import _table_rows


def rows_by_python_docx(table) -> list[str]:
    """The rows as the code before read them."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = cell.text.strip()
            if not cells or value != cells[-1]:
                cells.append(value)
        rows.append("\t".join(cells))
    return rows


@st.composite
def merged_tables(draw):
    """A python-docx table with text in every cell, then some rectangles merged (as Word merges them)."""
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    document = docx.Document()
    table = document.add_table(rows=rows, cols=columns)
    for row in range(rows):
        for column in range(columns):
            table.cell(row, column).text = draw(st.sampled_from(["", "a", "b", f"r{row}c{column}", " x \n y "]))
    for _ in range(draw(st.integers(0, 3))):
        top, left = draw(st.integers(0, rows - 1)), draw(st.integers(0, columns - 1))
        bottom, right = draw(st.integers(top, rows - 1)), draw(st.integers(left, columns - 1))
        try:
            table.cell(top, left).merge(table.cell(bottom, right))
        except Exception:  # python-docx refuses a merge across an earlier one that is not a rectangle
            continue
    return table


@settings(max_examples=300, deadline=None)
@given(merged_tables())
def test_table_rows_are_those_python_docx_gave(table):
    try:
        before = rows_by_python_docx(table)
    except ValueError:  # a merge continuing under no cell: python-docx refused the file, now it is read
        assert len(_table_rows(table._tbl)) == len(table._tbl.tr_lst)
        return
    assert _table_rows(table._tbl) == before


def _docx(document_xml_fix) -> bytes:
    document = docx.Document()
    document.add_paragraph("Joint meeting of a party building alliance.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "a", "b"
    packed = io.BytesIO()
    document.save(packed)
    source, out = zipfile.ZipFile(io.BytesIO(packed.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item.filename, document_xml_fix(data) if item.filename == "word/document.xml" else data)
    return out.getvalue()


def extracted(data: bytes) -> str:
    """The text, in a thread: a read that never ends fails the test instead of hanging it."""
    text: list[str] = []
    worker = threading.Thread(target=lambda: text.append(extract_bytes(data, ".docx").text), daemon=True)
    worker.start()
    worker.join(timeout=300)
    assert text, "the read did not end"
    return text[0]


def test_a_cell_spanning_a_billion_columns_is_read_once():
    data = _docx(lambda xml: xml.replace(b"<w:tcPr>", b'<w:tcPr><w:gridSpan w:val="1000000000"/>', 1))
    assert extracted(data) == "Joint meeting of a party building alliance.\n\na\tb"


def test_thousands_of_vertically_merged_rows_are_read_once():
    def merged(xml: bytes) -> bytes:
        row = re.search(rb"<w:tr\b.*?</w:tr>", xml, re.S).group(0)
        return xml.replace(row, row + row.replace(b"<w:tcPr>", b"<w:tcPr><w:vMerge/>") * 3000)

    text = extracted(_docx(merged))
    assert text == "Joint meeting of a party building alliance." + "\n\na\tb" * 3001


_MC = b'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
_BOX = b"<w:txbxContent><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:txbxContent>"


def test_text_boxes_and_nested_tables_are_read_once_each():
    """Word's text boxes (a DrawingML one with its VML fallback, and a VML one alone) and a table
    nested in a cell were dropped without a word (probe H4)."""
    def boxed(xml: bytes) -> bytes:
        drawing = (b'<w:r><mc:AlternateContent ' + _MC + b'><mc:Choice Requires="wps"><w:drawing><wps:txbx '
                   b'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
                   + _BOX % b"Box: the joint meeting." + b'</wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict>'
                   b'<v:textbox xmlns:v="urn:schemas-microsoft-com:vml">' + _BOX % b"Box: the joint meeting."
                   + b"</v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r>")
        vml = (b'<w:r><w:pict><v:textbox xmlns:v="urn:schemas-microsoft-com:vml">' + _BOX % "文本框:联席会议。".encode()
               + b"</v:textbox></w:pict></w:r>")
        xml = xml.replace(b"</w:t></w:r></w:p>", b"</w:t></w:r>" + drawing + vml + b"</w:p>", 1)
        nested = (b"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>inner x</w:t></w:r></w:p></w:tc>"
                  b"<w:tc><w:p><w:r><w:t>inner y</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p/>")
        return xml.replace(b"<w:t>b</w:t></w:r></w:p>", b"<w:t>b</w:t></w:r></w:p>" + nested, 1)

    assert extracted(_docx(boxed)) == ("Joint meeting of a party building alliance.\n\nBox: the joint meeting.\n\n"
                                       "文本框:联席会议。\n\na\tb\ninner x\tinner y")
