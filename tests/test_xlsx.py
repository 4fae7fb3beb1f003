import pandas as pd
import pytest
from conftest import written_as_before_escapes
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText

from coder.files import read_table
from coder.models import segment_id
from coder.reviews import import_reviews, read_reviews
from coder.xlsx import write_segments_xlsx

COLUMNS = ["segment_id", "document", "passage", "start", "end", "code", "code_path", "label",
           "hits", "matched", "text", "review", "note"]


def frame_of(rows):
    return pd.DataFrame([
        {"segment_id": segment_id(document, text, code), "document": document, "passage": passage,
         "start": start, "end": start + len(text), "code": code, "code_path": f"top/{code}", "label": code,
         "hits": hits, "matched": matched, "text": text, "review": review, "note": ""}
        for document, passage, start, code, hits, matched, text, review in rows
    ], columns=COLUMNS)


ROWS = [
    ("a.txt", 0, 0, "barrier", 2, "Red tape; bureaucracy", "Red tape and more red tape, bureaucracy.", ""),
    ("b.txt", 3, 120, "meeting", 1, "联席会议", "召开联席会议，研究合作。", "reject"),
    ("c.txt", 1, 9, "barrier", 1, "", "No matched words\x0b here.", ""),
]


@pytest.mark.parametrize("rows", [ROWS])
def test_xlsx_reopened_with_openpyxl(tmp_path, rows):
    path = write_segments_xlsx(frame_of(rows), tmp_path / "segments.xlsx")
    sheet = load_workbook(path, rich_text=True)["segments"]
    assert [cell.value for cell in sheet[1]] == COLUMNS
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:M4"
    assert [sheet.cell(row, 3).value for row in (2, 3, 4)] == [0, 3, 1]
    assert sheet.column_dimensions["K"].width == 90
    assert sheet["K2"].alignment.wrap_text is True
    text = sheet["K2"].value
    assert isinstance(text, CellRichText)
    assert [(getattr(part, "text", part), bool(getattr(part, "font", None) and part.font.b)) for part in text] == [
        ("Red tape", True), (" and more ", False), ("red tape", True), (", ", False), ("bureaucracy", True),
        (".", False),
    ]
    assert text[0].font.color.rgb == "00C00000"
    chinese = sheet["K3"].value
    assert [getattr(part, "text", part) for part in chinese] == ["召开", "联席会议", "，研究合作。"]
    assert sheet["K4"].value == "No matched words  here."
    assert sheet["L3"].value == "reject"
    validations = sheet.data_validations.dataValidation
    assert [(v.type, v.formula1, str(v.sqref)) for v in validations] == [("list", '"accept,reject,add,withdraw"', "L2:L4")]


@pytest.mark.parametrize("decision", ["y"])
def test_xlsx_review_round_trip(tmp_path, decision):
    frame = frame_of(ROWS)
    path = write_segments_xlsx(frame, tmp_path / "segments.xlsx")
    workbook = load_workbook(path)
    workbook["segments"]["L2"] = decision
    workbook.save(path)
    report = import_reviews(path, tmp_path / "reviews.csv")
    assert (report.added, report.total) == (2, 2)
    assert read_reviews(tmp_path / "reviews.csv")["decision"].tolist() == ["accept", "reject"]
    assert read_table(path)["text"].tolist() == [ROWS[0][6], ROWS[1][6], "No matched words  here."]


@pytest.mark.parametrize("name", ["empty.xlsx"])
def test_xlsx_empty_frame(tmp_path, name):
    path = write_segments_xlsx(pd.DataFrame(columns=COLUMNS), tmp_path / name)
    sheet = load_workbook(path)["segments"]
    assert sheet.max_row == 1
    assert [cell.value for cell in sheet[1]] == COLUMNS


@pytest.mark.parametrize("decision", ["n"])
def test_xlsx_cli_export_with_reviews(tmp_path, decision):
    from typer.testing import CliRunner

    from coder.cli import app

    frame = frame_of(ROWS).assign(review="")
    frame.to_csv(tmp_path / "segments.csv", index=False, encoding="utf-8-sig")
    reviewed = frame.assign(review=[decision, "", ""])
    reviewed.to_csv(tmp_path / "reviewed.csv", index=False, encoding="utf-8-sig")
    import_reviews(tmp_path / "reviewed.csv", tmp_path / "reviews.csv")
    out = tmp_path / "out" / "segments.xlsx"
    result = CliRunner().invoke(app, [
        "export", "xlsx", "--segments", str(tmp_path / "segments.csv"), "--out", str(out),
        "--reviews", str(tmp_path / "reviews.csv"),
    ])
    assert result.exit_code == 0
    assert result.stderr == (
        f"Wrote {out}: 3 segment(s). Fill `review` (accept/reject, or add on a new row) and import it with `coder review import {out}`.\n"
    )
    sheet = load_workbook(out)["segments"]
    assert [sheet.cell(row, 12).value for row in (2, 3, 4)] == ["reject", None, None]


@pytest.mark.parametrize("rows", [ROWS, []])
def test_xlsx_states_its_size_for_readers_that_stream(tmp_path, rows):
    """The workbook is written row by row; a streaming reader still learns its size (<dimension>)."""
    path = write_segments_xlsx(frame_of(rows), tmp_path / "segments.xlsx")
    sheet = load_workbook(path, read_only=True)["segments"]
    assert (sheet.max_row, sheet.max_column, sheet.calculate_dimension()) == (len(rows) + 1, 13, f"A1:M{len(rows) + 1}")


@pytest.mark.parametrize("limit", [3])
def test_xlsx_more_segments_than_a_sheet_holds_is_one_error_and_no_file(tmp_path, monkeypatch, limit):
    """Past Excel's 1,048,576 rows a sheet is a damaged file to Excel: the export stops before writing
    anything (tried with a sheet of `limit` rows)."""
    from typer.testing import CliRunner

    from coder import xlsx
    from coder.cli import app

    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", limit)
    frame_of(ROWS).to_csv(tmp_path / "segments.csv", index=False, encoding="utf-8-sig")
    result = CliRunner().invoke(app, ["export", "xlsx", "--segments", str(tmp_path / "segments.csv"),
                                      "--out", str(tmp_path / "segments.xlsx")])
    assert (result.exit_code, result.output) == (1, (
        f"Error: {tmp_path / 'segments.xlsx'}: 3 segments, more than an Excel sheet holds (2 under its header): no "
        f"workbook written. Review segments.csv instead (it has the same columns), or export a run of fewer documents.\n"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["segments.csv"]
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", limit + 1)
    assert load_workbook(write_segments_xlsx(frame_of(ROWS), tmp_path / "fits.xlsx"))["segments"].max_row == 4


@pytest.mark.parametrize("text", ["  <b>&amp;</b> \"q\" 'a'\r\n\tend  ", "=1+1", "== 2 joint"])
def test_xlsx_cells_read_back_as_written(tmp_path, text):
    """The workbook's XML is written directly: what needs escaping, spaces at the ends, a line break, and
    text that looks like a formula come back as they were, as text."""
    frame = frame_of([("a.txt", 0, 0, "c", 1, "joint", text, "")]).assign(note=text, label=text)
    sheet = load_workbook(write_segments_xlsx(frame, tmp_path / "x.xlsx"), rich_text=True)["segments"]
    for column in ("H", "K", "M"):  # label, text, note
        value = sheet[f"{column}2"].value
        assert ("".join(getattr(part, "text", part) for part in value) if isinstance(value, CellRichText) else value) == text
        assert sheet[f"{column}2"].data_type != "f"
    assert read_table(tmp_path / "x.xlsx")[["label", "text", "note"]].iloc[0].tolist() == [text] * 3


@pytest.mark.parametrize("slice_rows", [1, 2])
def test_xlsx_rows_written_a_slice_at_a_time_read_back_in_order(tmp_path, monkeypatch, slice_rows):
    """The sheet is written a slice of rows at a time (the whole table's cells at once held 2.5 GB for
    433,000 segments): each row keeps its number and its cells."""
    from coder import xlsx

    monkeypatch.setattr(xlsx, "_ROWS_A_SLICE", slice_rows)
    sheet = load_workbook(write_segments_xlsx(frame_of(ROWS), tmp_path / "x.xlsx"))["segments"]
    assert [[sheet.cell(row, column).value for column in (2, 3, 12)] for row in (2, 3, 4)] == [
        ["a.txt", 0, None], ["b.txt", 3, "reject"], ["c.txt", 1, None]]


def test_xlsx_a_note_too_long_for_a_cell_survives_round_trips(tmp_path):
    """A note over Excel's 32,767 UTF-16 units is cut in the workbook; importing the workbook untouched
    made the note "whole / cut", and the next round trip the cut note alone (probe KK8)."""
    from typer.testing import CliRunner

    from coder.cli import app

    long_note = "长注释😀" * 9000
    frame = frame_of(ROWS).assign(review="")
    frame.to_csv(tmp_path / "segments.csv", index=False, encoding="utf-8-sig")
    frame.assign(review=["reject", "", ""], note=[long_note, "", ""]).to_csv(tmp_path / "reviewed.csv", index=False,
                                                                            encoding="utf-8-sig")
    import_reviews(tmp_path / "reviewed.csv", tmp_path / "reviews.csv")
    for _ in range(2):
        out = tmp_path / "segments.xlsx"
        result = CliRunner().invoke(app, ["export", "xlsx", "--segments", str(tmp_path / "segments.csv"), "--out",
                                          str(out), "--reviews", str(tmp_path / "reviews.csv"), "--force"])
        assert result.exit_code == 0, result.output
        assert load_workbook(out)["segments"]["M2"].value.endswith("…")
        import_reviews(out, tmp_path / "reviews.csv")
        assert read_reviews(tmp_path / "reviews.csv")["note"].tolist() == [long_note]


@pytest.mark.parametrize("text", ["_x0041_", "_x005F_", "_X0041_", "_x00", "_x000D_ and _x000d_", "召开_x4E2D_会议",
                                  "_x0041_x0042_", "Item_x0020_Cover x0041"])
def test_xlsx_text_that_spells_an_escape_is_shown_and_read_back_as_written(tmp_path, text):
    """A spreadsheet reads "_xHHHH_" in a cell as the character U+HHHH (ECMA-376 ST_Xstring): the workbook
    escapes its "_" (probe KK13), so Excel shows the text, and a note read back is the note written, in a
    cell cut into runs by a matched word too."""
    from openpyxl.utils.escape import unescape  # the spec's reading, every "_xHHHH_" a character

    frame = frame_of([("a.txt", 0, 0, "c", 1, "x0041", text, "accept")]).assign(note=text, label=text)
    path = write_segments_xlsx(frame, tmp_path / "x.xlsx")
    sheet = load_workbook(path)["segments"]
    assert [unescape(sheet[f"{column}2"].value) for column in ("H", "K", "M")] == [text] * 3
    assert read_table(path)[["label", "text", "note"]].iloc[0].tolist() == [text] * 3
    import_reviews(path, tmp_path / "reviews.csv")
    assert read_reviews(tmp_path / "reviews.csv")["note"].tolist() == [text]


@pytest.mark.parametrize(("spelt", "shown"), [
    ("_x005F_x000D_", "_x000D_"), ("a_x000D_b", "a\rb"), ("_x005F_x0041_x005F_x0042_", "_x0041_x0042_"),
    ("_x005F_x0041_x0042_", "_x0041_x0042_"), ("_x0041_ ax005F_b", "_x0041_ ax005F_b"), ("_xD83D__xDE00_", "😀")])
def test_xlsx_cells_a_spreadsheet_saved_read_as_it_shows_them(tmp_path, spelt, shown):
    """A workbook Excel or LibreOffice saved spells a carriage return "_x000D_" and a typed "_x000D_"
    "_x005F_x000D_", in its shared strings; openpyxl dropped every "x005F_" from them, so both read as
    "_x000D_". Read as LibreOffice shows them: "_x0041_" that no program escaped stays as typed."""
    path = _saved_with_shared_strings(tmp_path / "saved.xlsx", [["segment_id", "review", "note"], ["s1", "accept", spelt]])
    assert read_table(path)["note"].tolist() == [shown]


def _saved_with_shared_strings(path, rows, *, app=None):
    """A workbook of text cells as Excel and LibreOffice save one: each cell an index into xl/sharedStrings.xml
    (openpyxl and `export xlsx` write the text in the cell); `app`: the properties its docProps/app.xml
    names, and dc:creator coder in docProps/core.xml (the part a spreadsheet keeps)."""
    import zipfile
    from xml.sax.saxutils import escape

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    strings = [text for row in rows for text in row]
    cells = iter(range(len(strings)))
    sheet = "".join(f'<row r="{number}">' + "".join(
        f'<c r="{chr(65 + column)}{number}" t="s"><v>{next(cells)}</v></c>' for column in range(len(row))) + "</row>"
        for number, row in enumerate(rows, start=1))
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kind}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relationships}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{relationships}"><sheets>'
        '<sheet name="segments" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{relationships}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{relationships}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{sheet}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(text)}</t></si>" for text in strings) + "</sst>",
    }
    if app is not None:
        parts["_rels/.rels"] = parts["_rels/.rels"].replace("</Relationships>", (
            f'<Relationship Id="rId2" Type="{relationships}/extended-properties" Target="docProps/app.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/></Relationships>'))
        parts["docProps/app.xml"] = (
            f'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">{app}</Properties>')
        parts["docProps/core.xml"] = (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>coder</dc:creator></cp:coreProperties>')
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


OLD_EXPORT_TEXTS = ["_x005F_", "_x0000_ and _xD800_ and _xFFFF_", "see _x000D_ and _x0041_x0042_",
                    "@SUM(1) -2 +3 _x005F_x0041_", "tab\there\nnewline _x0009_", "box_x0012_memo.txt"]


@pytest.mark.parametrize("text", OLD_EXPORT_TEXTS)
def test_xlsx_a_workbook_exported_before_escapes_reads_as_written(tmp_path, monkeypatch, text):
    """A workbook `export xlsx` wrote before it escaped text holds "_x000D_" as those seven characters; read
    as a spreadsheet reads it, an untouched export changed notes on import, a NUL among them (probe LL2)."""
    written_as_before_escapes(monkeypatch)
    frame = frame_of([(text, 0, 0, "c", 1, "x0041", text, "accept")]).assign(note=text, label=text)
    path = write_segments_xlsx(frame, tmp_path / "old.xlsx")
    assert read_table(path)[["document", "label", "text", "note"]].iloc[0].tolist() == [text] * 4
    import_reviews(path, tmp_path / "reviews.csv")
    assert read_reviews(tmp_path / "reviews.csv")[["document", "note"]].iloc[0].tolist() == [text] * 2


@pytest.mark.parametrize(("app", "shown"), [
    (None, "_x000D_ \r"),
    ('<Application>LibreOffice/7.4.7.2$Linux_X86_64 LibreOffice_project/40$Build-2</Application>'
     '<AppVersion>15.0000</AppVersion>', "_x000D_ \r"),  # a coder export LibreOffice saved: dc:creator still coder
    ("<Application>Microsoft Excel</Application><AppVersion>16.0300</AppVersion>", "_x000D_ \r"),
    ("<Application>coder</Application><AppVersion>2.0000</AppVersion>", "_x000D_ \r"),  # `export xlsx` now
    ("<Application>coder</Application>", "_x005F_x000D_ _x000D_"),  # `export xlsx` before escapes, never saved since
])
def test_xlsx_escapes_read_unless_coder_wrote_the_workbook_before_it_escaped_text(tmp_path, app, shown):
    """Which writer the workbook's docProps/app.xml names tells how its text is spelt: Excel, LibreOffice
    and `export xlsx` escape it, and each writes its own app.xml when it saves the workbook."""
    path = _saved_with_shared_strings(tmp_path / "saved.xlsx", [["segment_id", "note"], ["s1", "_x005F_x000D_ _x000D_"]],
                                      app=app)
    assert read_table(path)["note"].tolist() == [shown]


@pytest.mark.parametrize("text", OLD_EXPORT_TEXTS[:-1])
def test_xlsx_an_export_from_before_escapes_saved_since_keeps_the_notes_it_was_given(tmp_path, monkeypatch, text):
    """Saved by a script (openpyxl) or a spreadsheet, an export written before escapes is read as a spreadsheet
    shows it, "_x000D_" a carriage return: a note that reads as the note it was given is that note (probe LL2)."""
    with monkeypatch.context() as patched:
        written_as_before_escapes(patched)
        path = write_segments_xlsx(frame_of([("a.txt", 0, 0, "c", 1, "", "a passage", "")]).assign(note=text),
                                   tmp_path / "old.xlsx")
    import_reviews(path, tmp_path / "reviews.csv")
    workbook = load_workbook(path)
    workbook["segments"]["L2"] = "reject"
    workbook.save(path)
    import_reviews(path, tmp_path / "reviews.csv")
    assert read_reviews(tmp_path / "reviews.csv")[["decision", "note"]].iloc[0].tolist() == ["reject", text]


@pytest.mark.parametrize("saved_by", ["nothing", "openpyxl", "pandas"])
def test_xlsx_a_workbook_carries_its_name_when_saved_again(tmp_path, saved_by):
    """The name `export xlsx` gives a workbook (its custom document properties) stays when a spreadsheet saves it,
    so the run folder's record of what it showed still applies (probe WW5); a workbook written anew has none."""
    from coder.files import workbook_carries

    path = write_segments_xlsx(frame_of(ROWS), tmp_path / "segments.xlsx", identifier="0f3a9c1e")
    if saved_by == "openpyxl":
        workbook = load_workbook(path)
        workbook["segments"]["L2"] = "accept"
        workbook.save(path)
    elif saved_by == "pandas":
        read_table(path).to_excel(path, index=False, sheet_name="segments")
    assert workbook_carries(path, "0f3a9c1e") is (saved_by != "pandas")
    assert workbook_carries(path, "0f3a9c1f") is False
    assert workbook_carries(tmp_path / "missing.xlsx", "0f3a9c1e") is False
    with pytest.raises(ValueError):
        write_segments_xlsx(frame_of(ROWS), tmp_path / "other.xlsx", identifier='"/><x')


@pytest.mark.parametrize("decoys, carried", [(0, True), (10, True), (20_000, False)])
def test_xlsx_a_workbook_name_is_looked_for_near_the_property_only(tmp_path, decoys, carried):
    """docProps/custom.xml with the property's name written many times, left open, before the name itself: one
    pattern over the whole part backtracked over each (1 MB: 30 s a part, probe XX3). The value is looked for in
    the 1 KB after the first 64 places the property's name is; past them the workbook does not say its name."""
    import zipfile

    from coder.files import workbook_carries

    path = tmp_path / "book.xlsx"
    body = ('<?xml version="1.0"?><Properties>' + 'name="coder workbook" ' * decoys
            + '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="coder workbook">'
            '<vt:lpwstr>0f3a9c1e</vt:lpwstr></property></Properties>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("docProps/custom.xml", body)
    assert workbook_carries(path, "0f3a9c1e") is carried
