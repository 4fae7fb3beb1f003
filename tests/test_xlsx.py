import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText

from coder.models import segment_id
from coder.files import read_table
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
    assert [(v.type, v.formula1, str(v.sqref)) for v in validations] == [("list", '"accept,reject,add"', "L2:L4")]


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
