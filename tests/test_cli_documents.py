"""`coder run` on the documents researchers hold: PDF, Word, HTML, legacy encodings, through the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from make_documents import chinese_pdf, docx_bytes, pdf_bytes, running_header_pdf, two_column_pdf
from typer.testing import CliRunner

from coder.cli import app

CODEBOOK = """\
name: Documents
codes:
  joint_meeting:
    keywords: [joint meeting, 联席会议]
  barriers:
    keywords: [local protection, 地方保护]
  governance:
    keywords: [governance]
  columns:
    keywords: [right column]
"""

PAGE = """<html><head><title>News</title></head><body><nav><a href="/">Home</a> <a href="/x">Local protection news</a></nav>
<article><h1>Mayors hold a joint meeting</h1><p>The mayors of the two cities met on Tuesday for their first joint meeting
and agreed to meet every quarter from now on, officials said after the talks in the city hall.</p></article>
<footer>Local protection is our sponsor's slogan.</footer></body></html>"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def documents(tmp_path: Path) -> Path:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "report.pdf").write_bytes(running_header_pdf(4))
    (folder / "columns.pdf").write_bytes(two_column_pdf())
    (folder / "chinese.pdf").write_bytes(chinese_pdf())
    (folder / "notes.docx").write_bytes(docx_bytes(["The joint meeting was short."], header="Draft"))
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    (folder / "windows.txt").write_bytes("Caf\u00e9 talk: local protection \u2013 again.".encode("cp1252"))
    (tmp_path / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    return folder


def _segments(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "segments.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_cli_documents_run_codes_extracted_text_with_pages(documents: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "Read 6 document(s), skipped 0;" in result.output
    assert f"Extracted the text of 5 document(s) into {out / 'texts'}" in result.output
    frame = _segments(out)
    assert frame.columns.tolist()[:6] == ["segment_id", "document", "passage", "start", "end", "page"]
    # Every offset points into the stored text, and the keyword is there.
    for row in frame.itertuples():
        source = out / "texts" / f"{row.document}.txt" if not row.document.endswith(".txt") else documents / row.document
        text = source.read_text(encoding="utf-8" if source.suffix == ".txt" and "texts" in source.parts else "cp1252")
        assert row.matched.split("; ")[0].lower() in text[int(row.start):int(row.end)].lower().replace("\n", " ")
    pages = {(row.document, row.code, row.page) for row in frame.itertuples()}
    assert ("report.pdf", "governance", "2-3") in pages  # "gover-" ends page 2, "nance" starts page 3
    assert ("report.pdf", "joint_meeting", "1") in pages
    assert ("columns.pdf", "columns", "1") in pages
    assert ("chinese.pdf", "joint_meeting", "1") in pages
    assert ("chinese.pdf", "barriers", "1") in pages
    assert ("notes.docx", "joint_meeting", "") in pages
    assert ("page.html", "joint_meeting", "") in pages
    assert ("windows.txt", "barriers", "") in pages
    # The menu and the footer of the web page are not coded.
    assert not any(row.document == "page.html" and row.code == "barriers" for row in frame.itertuples())
    report = (out / "texts" / "report.pdf.txt").read_text(encoding="utf-8")
    assert "Journal of Regional Studies" not in report and "- 2 -" not in report
    assert "a governance\nproblem" in report
    assert (out / "texts" / "chinese.pdf.txt").read_text(encoding="utf-8") == (
        "各市召开联席会议，破除行政壁垒，推动区域党建一体化。\n\n地方保护仍是主要障碍。"
    )


def test_cli_documents_run_json_records_formats_encodings_and_removals(documents: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out)).exit_code == 0
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "encoding" not in record
    by_path = {document["path"]: document for document in record["documents"]}
    assert by_path["windows.txt"]["encoding"] == "cp1252"
    assert "format" not in by_path["windows.txt"]
    report = by_path["report.pdf"]
    assert (report["format"], report["pages"], report["text"]) == ("pdf", 4, "texts/report.pdf.txt")
    assert report["removed"][:2] == [
        {"reason": "running header", "text": "Journal of Regional Studies 12(3)", "pages": [1, 2, 3, 4]},
        {"reason": "page number", "text": "- 1 -", "pages": [1]},
    ]
    assert by_path["notes.docx"]["removed"] == [{"reason": "page header", "text": "Draft", "pages": []}]
    assert by_path["page.html"]["format"] == "html"


@pytest.mark.parametrize("encoding", ["cp1251"])
def test_cli_documents_forced_encoding(tmp_path: Path, encoding):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_bytes("Совместное заседание: local protection.".encode(encoding))
    (tmp_path / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    out = tmp_path / "out"
    result = run("run", str(folder), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--encoding", encoding)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["encoding"] == encoding
    assert record["documents"][0]["encoding"] == encoding
    assert _segments(out)["text"].tolist() == ["Совместное заседание: local protection."]


@pytest.mark.parametrize(("value", "message"), [("klingon", "Error: unknown encoding 'klingon'. Use a Python codec name")])
def test_cli_documents_unknown_encoding_is_an_error(documents: Path, tmp_path: Path, value, message):
    result = run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(tmp_path / "out"), "--encoding", value)
    assert result.exit_code == 1
    assert result.output.startswith(message)


def test_cli_documents_nothing_readable_is_an_error_and_keeps_earlier_outputs(documents: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out)).exit_code == 0
    def outputs() -> dict[Path, bytes]:  # the recode cache (SQLite) may tidy its journal files
        return {path: path.read_bytes() for path in out.rglob("*") if path.is_file() and ".cache" not in path.parts}

    before = outputs()
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "scan.pdf").write_bytes(pdf_bytes([[]], image_only=True))
    (unreadable / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (unreadable / "latin.txt").write_bytes("naïve".encode("latin-1"))
    result = run("run", str(unreadable), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--encoding", "utf-8")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no documents read from {unreadable}: 3 files skipped.\n"
        "  latin.txt: cannot decode as utf-8: byte 2 (0xef) is not valid in it. Check the encoding, or leave out --encoding to let coder detect it\n"
        "  old.doc: unsupported file type .doc\n"
        "  scan.pdf: no text layer: needs OCR. The PDF holds only images (a scan?). Run OCR on it (for example `ocrmypdf in.pdf out.pdf`) and code the result\n"
        "coder reads .txt and .md (UTF-8, UTF-16, GB18030 or a legacy encoding; force one with --encoding), .pdf with a text "
        "layer, .docx, .odt, .rtf and .html. Save other files in one of these formats (Word: File > Save As > .docx; scans: "
        "run OCR, e.g. `ocrmypdf in.pdf out.pdf`).\n"
    )
    assert outputs() == before


def test_cli_documents_second_run_reuses_extracted_texts(documents: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    args = ("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--workers", "1")
    assert run(*args).exit_code == 0
    first = _segments(out).drop(columns="status")
    monkeypatch.setattr("coder.extract.extract_bytes", lambda *a: pytest.fail("extracted again"))
    result = run(*args)
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(_segments(out).drop(columns="status"), first)
    assert set(_segments(out)["status"]) == {"unchanged"}
    # A document removed from the corpus leaves no text and no cache entry behind.
    (documents / "columns.pdf").unlink()
    assert run(*args).exit_code == 0
    assert not (out / "texts" / "columns.pdf.txt").exists()
    assert len(list((out / ".extracted").glob("*.json"))) == 4


def test_cli_documents_export_qdpx_carries_extracted_texts(documents: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out)).exit_code == 0
    result = run("export", "qdpx", "--segments", str(out / "segments.csv"), "--out", str(tmp_path / "project.qdpx"))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "project.qdpx") as archive:
        project = archive.read("project.qde").decode("utf-8")
        sources = {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.startswith("sources/")}
    assert 'name="report.pdf"' in project
    assert "Text extracted by coder from report.pdf (PDF, 4 pages); positions refer to this text." in project
    assert (out / "texts" / "report.pdf.txt").read_text(encoding="utf-8") in sources.values()


@pytest.mark.parametrize("query", ["joint meeting"])
def test_cli_documents_kwic_reads_pdfs(documents: Path, tmp_path: Path, query):
    result = run("kwic", query, "--corpus", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--width", "10")
    assert result.exit_code == 0, result.output
    assert "report.pdf" in result.output and "notes.docx" in result.output and "page.html" in result.output


def test_cli_documents_texts_no_run_wrote_are_never_deleted(documents: Path, tmp_path: Path):
    """texts/ is where coder keeps extracted text, and prunes it; a file no run wrote there (a researcher's
    own notes) is kept, and a corpus that is texts/ itself (`coder run texts --out .`) is refused: its
    documents were deleted after the run."""
    out = tmp_path / "out"
    args = ("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--workers", "1")
    assert run(*args).exit_code == 0
    (out / "texts" / "my_notes.txt").write_text("notes of my own", encoding="utf-8")
    (documents / "page.html").unlink()
    assert run(*args).exit_code == 0
    assert not (out / "texts" / "page.html.txt").exists()
    assert (out / "texts" / "my_notes.txt").read_text(encoding="utf-8") == "notes of my own"

    project = tmp_path / "project"
    (project / "texts").mkdir(parents=True)
    (project / "texts" / "interview.txt").write_text("The joint meeting was long.", encoding="utf-8")
    refused = run("run", str(project / "texts"), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(project))
    assert refused.exit_code == 1
    assert "the corpus folder is" in refused.output and "a folder of another name" in refused.output
    assert (project / "texts" / "interview.txt").is_file() and not (project / "run.json").exists()
    # A folder with no run.json whose texts/ holds files is not coder's: those files would be replaced.
    other = tmp_path / "other"
    (other / "texts").mkdir(parents=True)
    (other / "texts" / "notes.txt").write_text("mine", encoding="utf-8")
    kept = run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(other))
    assert kept.exit_code == 1 and "holds texts, which coder did not write" in kept.output
    assert (other / "texts" / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_cli_documents_a_folder_with_another_tools_run_json_is_not_coders(documents: Path, tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text('{"name": "some other tool"}\n', encoding="utf-8")
    (other / "report.html").write_text("<p>my report</p>", encoding="utf-8")
    result = run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(other))
    assert result.exit_code == 1 and "a run.json coder did not write" in result.output
    assert (other / "report.html").read_text(encoding="utf-8") == "<p>my report</p>"


@pytest.mark.needs_symlinks
def test_cli_documents_a_link_planted_in_texts_is_never_read(documents: Path, tmp_path: Path):
    """A run folder may come from someone else: a texts/ file replaced by a link to a private file was read
    and packed into the .qdpx project (`coder export qdpx`)."""
    out = tmp_path / "out"
    assert run("run", str(documents), "--codebook", str(tmp_path / "codebook.yaml"), "--out", str(out), "--workers", "1").exit_code == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("PRIVATE-LINE the joint meeting\n", encoding="utf-8")
    stored = out / "texts" / "notes.docx.txt"
    stored.unlink()
    stored.symlink_to(secret)
    project = tmp_path / "project.qdpx"
    result = run("export", "qdpx", "--segments", str(out / "segments.csv"), "--out", str(project))
    with zipfile.ZipFile(project) as archive:
        assert not any(b"PRIVATE-LINE" in archive.read(name) for name in archive.namelist())
    assert "Traceback" not in result.output
