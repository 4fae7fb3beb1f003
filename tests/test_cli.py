"""`coder run` driven as a user drives it: exit codes, messages and the files written."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke

run = invoke


def test_cli_run_writes_segments_counts_and_run_json(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = (out / "segments.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    assert frame.columns.tolist() == [
        "segment_id", "document", "passage", "start", "end", "kind", "code", "code_path", "label",
        "hits", "matched", "text", "status", "review", "note", "source",
    ]
    assert set(frame["status"]) == {"new"} and set(frame["source"]) == {"auto"}
    assert all(str(identifier).startswith("s") for identifier in frame["segment_id"])
    assert frame[["document", "passage", "code", "code_path", "hits", "matched"]].values.tolist() == [
        ["a.txt", 0, "joint_meeting", "joint_meeting", 1, "Joint Meeting"],
        ["a.txt", 1, "barriers", "barriers", 1, "barriers"],
        ["a.txt", 1, "local_protection", "barriers/local_protection", 1, "local protection"],
        ["sub/b.md", 1, "joint_meeting", "joint_meeting", 1, "联席会议"],
    ]
    texts = {path: (tiny_corpus / path).read_text(encoding="utf-8") for path in ("a.txt", "sub/b.md")}
    for row in frame.itertuples():
        assert texts[row.document][row.start:row.end] == row.text
    assert set(frame["review"]) == {""} and set(frame["note"]) == {""}
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["counts"]["documents"] == 2
    assert record["counts"]["passages"] == 4
    assert record["counts"]["segments"] == 4
    assert record["unit"] == "paragraph"
    assert len(record["codebook_sha256"]) == 64
    assert [code["id"] for code in record["codebook_codes"]] == ["joint_meeting", "barriers", "local_protection"]
    counts = pd.read_csv(out / "code_counts.csv", encoding="utf-8-sig")
    assert counts[["code", "a.txt", "sub/b.md", "total", "total_with_children"]].values.tolist() == [
        ["joint_meeting", 1, 1, 2, 2],
        ["barriers", 1, 0, 1, 1],
        ["local_protection", 1, 0, 1, 1],
        ["(any code)", 2, 1, 3, 3],
    ]
    for name in ("network.html", "network.graphml", "network.gexf", "cooccurrence.csv", "codes.csv"):
        assert (out / name).is_file()
    assert "Read 2 document(s), skipped 0; 4 passage(s) (paragraph), 4 coded segment(s)" in result.output
    assert "    Local protection" not in result.output  # labels default to ids
    assert "    local_protection       1" in result.output



def test_cli_cold_run_starts_its_coding_processes_first_and_leaves_none(tiny_corpus: Path, tiny_codebook: Path,
                                                                      tmp_path: Path, monkeypatch):
    from coder import pipeline

    for index in range(12):
        (tiny_corpus / f"extra_{index}.txt").write_text(f"Document {index}: a joint meeting.\n", encoding="utf-8")
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    started = []
    start = pipeline.start_coding_processes
    monkeypatch.setattr(pipeline, "start_coding_processes", lambda *args, **kw: started.append(start(*args, **kw)))
    out = tmp_path / "out"
    for _ in range(2):  # cold, then a rerun the recode cache serves: no processes started for it
        result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out), "--workers", "2")
        assert result.exit_code == 0, result.output
        assert not pipeline._early_pool
    assert started == [True]
    assert len(pd.read_csv(out / "segments.csv", encoding="utf-8-sig")) == 4 + 12


def test_cli_run_reports_skipped_files_and_keeps_going(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    (tiny_corpus / "scan.pdf").write_bytes(b"%PDF-1.4")
    (tiny_corpus / "empty.txt").write_text("", encoding="utf-8")
    (tiny_corpus / "latin1.txt").write_bytes("caf\xe9 \xe0 la cr\xe8me \xff\xfe\xfd".encode("latin-1"))
    out = tmp_path / "out"
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Read 3 document(s), skipped 2" in result.output  # latin1.txt is read as Windows-1252
    assert "skipped scan.pdf: damaged or not a PDF: PDFium cannot open it." in result.output
    assert "skipped empty.txt: empty file" in result.output
    assert "Traceback" not in result.output


def test_cli_run_counts_skipped_files_past_twenty_by_reason(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    """A scraped corpus of 750 failed pages printed 750 'skipped' lines and buried the summary (probe HH8):
    twenty are named, the rest counted by reason, and run.json still lists every one."""
    for number in range(23):
        (tiny_corpus / f"empty{number:02d}.txt").write_text("", encoding="utf-8")
    for number in range(3):
        (tiny_corpus / f"scan{number}.pdf").write_bytes(b"%PDF-1.4")
    out = tmp_path / "out"
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    named = [line for line in result.output.splitlines() if line.startswith("  skipped ")]
    assert len(named) == 20
    assert "  ... and 3 more skipped: empty file" in result.output.splitlines()
    assert any(line.startswith("  ... and 3 more skipped: damaged or not a PDF") for line in result.output.splitlines())
    assert len(json.loads((out / "run.json").read_text(encoding="utf-8"))["skipped"]) == 26


@pytest.mark.parametrize(("codebook_text", "message"), [
    ("codes:\n  a:\n    keyword: [x]\n", "codebook.yaml:3: code 'a': unknown key 'keyword'. Did you mean 'keywords'?"),
    ("codes:\n  a:\n    regex: ['(']\n", "codebook.yaml:3: code 'a': invalid regex '(': missing ), unterminated subpattern at position 0."),
])
def test_cli_run_bad_codebook_exits_1_without_traceback(tiny_corpus: Path, tmp_path: Path, codebook_text, message):
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(codebook_text, encoding="utf-8")
    result = run("run", str(tiny_corpus), "--codebook", str(codebook), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path}/{message}\n"
    assert not (tmp_path / "out" / "segments.csv").exists()


def test_cli_run_missing_corpus_exits_1(tiny_codebook: Path, tmp_path: Path):
    result = run("run", str(tmp_path / "nowhere"), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path / 'nowhere'}: no such file or folder.")
    assert "Traceback" not in result.output


def test_cli_run_missing_codebook_exits_1(tiny_corpus: Path, tmp_path: Path):
    result = run("run", str(tiny_corpus), "--codebook", str(tmp_path / "cb.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'cb.yaml'}: codebook not found. Pass an existing file with --codebook.\n"


def test_cli_failed_run_leaves_earlier_outputs_untouched(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 0
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    tiny_codebook.write_text("codes:\n  a: [x\n", encoding="utf-8")
    assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 1
    after = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    assert after == before


def test_cli_run_single_file_corpus(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("run", str(tiny_corpus / "a.txt"), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "segments.csv", encoding="utf-8-sig")
    assert set(frame["document"]) == {"a.txt"}


def test_cli_run_empty_folder_is_an_error_and_writes_nothing(tiny_codebook: Path, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    result = run("run", str(tmp_path / "empty"), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: no documents read from {tmp_path / 'empty'}: it holds no files")
    assert [path.name for path in out.rglob("*")] in ([], [".coder.lock"])  # only the run's lock file


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_cli_help(flag):
    result = run("run", flag)
    assert result.exit_code == 0
    assert "Example: coder run seeds --codebook codebook.yaml --out outputs" in result.output


def test_cli_help_keeps_the_install_hint_whole():
    """The help is Rich markup: "coder[dask]" lost its "[dask]" as a tag, and the hint installed nothing useful."""
    from typer.testing import CliRunner

    from coder.cli import app

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "250"})
    assert 'needs pip install "coder[dask]")' in result.output


def test_cli_run_names_every_file_it_wrote(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    listed = result.output.split(f"Results in {out}/: ")[1].strip().split(", ")
    assert sorted(listed) == sorted(path.name for path in out.iterdir() if not path.name.startswith("."))


def test_cli_bad_option_is_a_usage_error(tmp_path: Path):
    result = run("run", "--measure", "bogus")
    assert result.exit_code == 2


def test_cli_run_on_the_bundled_seeds_codes_every_concept(tmp_path: Path):
    from conftest import REPO

    out = tmp_path / "out"
    result = run("run", str(REPO / "seeds"), "--codebook", str(REPO / "codebook.yaml"), "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    top_level = set(frame["code_path"].str.split("/").str[0])
    assert top_level == {"party_building_alliance", "joint_meeting", "collaborative_governance", "barriers", "recommendations"}
    for row in frame.itertuples():
        text = (REPO / "seeds" / row.document).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
        assert 0 <= row.start < row.end <= len(text)


def test_cli_outputs_are_ordinary_readable_files(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    import os
    import stat

    out = tmp_path / "out"
    previous = os.umask(0o022)
    try:
        assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((out / "segments.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "network.html").stat().st_mode) == 0o644


@pytest.mark.parametrize(("encoding", "prefix"), [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("gbk", b""),
    ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
])
def test_cli_run_decodes_every_supported_encoding(tiny_codebook: Path, tmp_path: Path, encoding, prefix):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "各市召开联席会议。\r\nA joint\r\nmeeting was held.\r\n"
    (corpus / "doc.txt").write_bytes(prefix + text.encode(encoding))
    out = tmp_path / "out"
    result = run("run", str(corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    assert frame[["code", "hits", "matched", "start", "end"]].values.tolist() == [
        ["joint_meeting", 2, "联席会议; joint meeting", 0, 35],
    ]
    decoded = text.replace("\r\n", "\n")
    assert decoded[0:35] == "各市召开联席会议。\nA joint\nmeeting was held."


def test_cli_rerun_reports_changes_and_diff_agrees_with_and_without_the_index(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 0
    edited = tiny_codebook.read_text(encoding="utf-8")
    edited = edited.replace("keywords: [local protection]", "keywords: [local protection, remain]")
    edited = edited.replace("  joint_meeting:", "  joint_meetings:")  # an id rename, same rules
    tiny_codebook.write_text(edited, encoding="utf-8")
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out))
    assert result.exit_code == 0, result.output
    changes = pd.read_csv(out / "changes.csv", encoding="utf-8-sig", keep_default_na=False)
    rows = changes[["code", "change", "segments_added", "segments_removed", "segments_unchanged"]].values.tolist()
    assert ["local_protection", "keyword added", 0, 0, 1] in rows
    assert any(row[0] == "joint_meetings" and row[1] == "renamed" and row[3] == 0 for row in rows)
    with_index = run("diff", str(out / ".previous"), str(out)).output
    for table in (out / "segments.parquet", out / "passages.parquet"):  # the new run as segments.csv alone
        table.unlink()
    without_index = run("diff", str(out / ".previous"), str(out)).output
    assert with_index == without_index


def test_cli_run_out_that_is_a_file_is_a_clear_error(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "taken"))
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'taken'}: is a file, not a folder. Pass another --out folder.\n"
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "mine"


def test_cli_run_unwritable_output_is_a_clear_error(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, monkeypatch):
    import coder.files

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out" / "segments.csv"))

    monkeypatch.setattr(coder.files.tempfile, "mkstemp", refuse)
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path / 'out' / 'segments.csv'}: Permission denied. "
                             f"The run was not saved: no outputs were written to {tmp_path / 'out'}.\n")


def test_cli_uncoded_codes_are_listed_with_zero_and_drawn_unless_hidden(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    import networkx as nx

    text = tiny_codebook.read_text(encoding="utf-8") + "  unused:\n    label: Never seen\n    keywords: [zebra crossing]\n"
    tiny_codebook.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 0
    codes = pd.read_csv(out / "codes.csv", encoding="utf-8-sig", keep_default_na=False)
    assert codes.loc[codes["code"] == "unused", ["passages", "documents", "degree"]].values.tolist() == [[0, 0, 0]]
    assert "Never seen" in (out / "report.html").read_text(encoding="utf-8")
    assert "unused" in nx.read_graphml(out / "network.graphml")
    assert run("network", str(out / "segments.csv"), "--out", str(out), "--hide-isolated").exit_code == 0
    assert "unused" not in nx.read_graphml(out / "network.graphml")


@pytest.mark.parametrize("command, option", [
    (["kwic", "joint meeting", "--csv", "{target}"], "--csv"),
    (["lint", "--csv", "{target}"], "--csv"),
    (["diff", "{out}", "{out}", "--csv", "{target}"], "--csv"),
    (["export", "qdpx", "--segments", "{out}/segments.csv", "--out", "{target}"], "--out"),
    (["export", "qdc", "--out", "{target}"], "--out"),
])
def test_cli_named_files_are_never_overwritten_without_force(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, command, option):
    out = tmp_path / "out"
    assert run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(out)).exit_code == 0
    target = tmp_path / "mine.csv"  # (export xlsx: a workbook it replaces is read first; test_review_loop)
    target.write_bytes(b"my notes\r\n")
    args = [part.format(target=target, out=out) for part in command]
    if command[0] in ("kwic", "lint"):
        args += ["--corpus", str(tiny_corpus), "--codebook", str(tiny_codebook)]
    elif command[:2] == ["export", "qdc"]:
        args += ["--codebook", str(tiny_codebook)]
    result = run(*args)
    assert result.exit_code == 1
    assert result.output == f"Error: {target}: already exists. Pass --force to overwrite it, or choose another file with {option}.\n"
    assert target.read_bytes() == b"my notes\r\n"
    result = run(*args, "--force")
    assert result.exit_code == 0, result.output
    assert target.read_bytes() != b"my notes\r\n"


@pytest.mark.parametrize("command", [
    ["agree", "{empty}", "--segments", "{segments}"],
    ["agree", "{gold}", "--segments", "{empty}"],
    ["network", "{empty}", "--out", "{out}"],
])
def test_cli_empty_csv_is_one_clear_error(tmp_path: Path, command):
    empty, out = tmp_path / "empty.csv", tmp_path / "net"
    empty.write_bytes(b"")
    segments = tmp_path / "segments.csv"
    segments.write_text("segment_id,document,passage,code\ns1,a.txt,0,x\n", encoding="utf-8")
    gold = tmp_path / "gold.csv"
    gold.write_text("document,passage,code\na.txt,0,x\n", encoding="utf-8")
    result = run(*[part.format(empty=empty, segments=segments, gold=gold, out=out) for part in command])
    assert result.exit_code == 1
    assert result.output == f"Error: {empty}: the file is empty. Pass a table with a header row.\n"
    assert not out.exists()


@pytest.mark.parametrize("passage", ["1.5", "one", ""])
def test_cli_network_rejects_a_passage_that_is_not_a_whole_number(tmp_path: Path, passage):
    segments = tmp_path / "segments.csv"
    segments.write_text(f"segment_id,document,passage,code\ns1,a.txt,1,x\ns2,a.txt,{passage},y\n", encoding="utf-8")
    result = run("network", str(segments), "--out", str(tmp_path / "net"))
    assert result.exit_code == 1
    assert result.output == (f"Error: {segments}: row 3: column 'passage' must hold a whole number, not '{passage}'. "
                             f"Pass segments.csv as `coder run` wrote it.\n")
    assert not (tmp_path / "net").exists()


def test_cli_messages_escape_control_characters_in_names(tmp_path: Path):
    evil = tmp_path / "evil\x1b[2J\nError: forged.csv"
    result = run("network", str(evil), "--out", str(tmp_path / "net"))
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path}/evil\\x1b[2J\\nError: forged.csv: no such segments file. "
                             f"Run `coder run` first, or pass the path of a segments.csv.\n")


def test_cli_internal_error_is_one_line_with_the_traceback_in_a_file(tiny_corpus: Path, tiny_codebook: Path,
                                                                      tmp_path: Path, monkeypatch):
    """A bug (here: the coding raising a TypeError) is one line naming it and saying what stayed as it
    was, exit 1, and the traceback kept in a file for the report; CODER_TRACEBACK=1 shows it instead."""
    import re

    from coder import runner

    def broken(*args, **kwargs):
        raise TypeError("boom")

    monkeypatch.setattr(runner, "run_coding", broken)
    monkeypatch.delenv("CODER_TRACEBACK", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    result = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    found = re.fullmatch(r"Error: coder stopped on an internal error \(TypeError: boom\)\. .*This is a bug in coder: "
                         r"please report it \(the traceback is in (.+coder-error-\w+\.txt)\)\.\n", result.output, re.S)
    assert found, result.output
    kept = Path(found.group(1)).read_text(encoding="utf-8")
    assert "Traceback" in kept and 'raise TypeError("boom")' in kept
    monkeypatch.setenv("CODER_TRACEBACK", "1")
    shown = run("run", str(tiny_corpus), "--codebook", str(tiny_codebook), "--out", str(tmp_path / "out"))
    assert isinstance(shown.exception, TypeError)


def _edited_segments(out: Path, row: int, column: str, value: str) -> Path:
    segments = out / "segments.csv"
    frame = pd.read_csv(segments, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[row, column] = value
    frame.to_csv(segments, index=False, encoding="utf-8-sig")
    return segments


def test_cli_hand_edited_numbers_and_codes_are_one_error_line_not_an_internal_error(tiny_corpus, tiny_codebook, tmp_path):
    """Each of these ended in "coder stopped on an internal error": a code the codebook lacks given to
    `network`, a passage of 23 digits in segments.csv or a gold file, a `nan` passage on an add row,
    and a seed numpy cannot take."""
    from conftest import run_ok

    out = tmp_path / "out"
    run_ok(tiny_corpus, tiny_codebook, out, "--workers", "1")
    segments = _edited_segments(out, 0, "code", "nonexistent")
    network = invoke("network", segments, "--codebook", tiny_codebook, "--out", tmp_path / "net")
    assert network.exit_code == 1
    assert network.output == (f"Error: {segments}: 1 code(s) the codebook does not have ('nonexistent'; first on row 2). "
                              f"Pass the codebook of the run with --codebook, or correct the code column.\n")
    run_ok(tiny_corpus, tiny_codebook, out, "--workers", "1")
    _edited_segments(out, 0, "passage", "99999999999999999999999")
    huge = invoke("network", segments, "--codebook", tiny_codebook, "--out", tmp_path / "net")
    assert huge.exit_code == 1 and "column 'passage' must hold a whole number" in huge.output
    gold = tmp_path / "gold.csv"
    gold.write_text("document,passage,code\na.txt,99999999999999999999999,joint_meeting\n", encoding="utf-8")
    agree = invoke("agree", gold, "--segments", out / "segments.csv", "--out", tmp_path / "agreement")
    assert agree.exit_code == 1
    assert agree.output == f"Error: {gold}:2: `passage` is 99999999999999999999999, larger than any document's passages or characters.\n"
    added = tmp_path / "added.csv"
    for value in ("nan", "inf", "2.7", "-3", "1e0"):
        added.write_text(f"segment_id,document,passage,code,review\n,a.txt,{value},joint_meeting,add\n", encoding="utf-8")
        result = invoke("review", "import", added, "--reviews", tmp_path / "reviews.csv", "--run", out)
        assert result.exit_code == 0 and "Traceback" not in result.output and "internal error" not in result.output
        assert f"row 2: `passage` is '{value}', not a whole number of at most 15 digits." in result.output
    for command in (["network", segments, "--out", tmp_path / "net"], ["sample", "3", "--segments", segments],
                    ["agree", gold, "--segments", segments]):
        for seed in ("-1", "4294967296"):
            result = invoke(*command, "--seed", seed)
            assert result.exit_code == 2 and "is not in the range 0<=x<=4294967295" in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_cli_force_never_puts_a_file_in_place_of_a_pipe_or_a_folder(tiny_corpus, tiny_codebook, tmp_path):
    """--force replaced a named pipe (as root, /dev/null itself) with a regular file; a folder named
    for `sample --out` showed a temporary file's name."""
    from conftest import run_ok

    out = tmp_path / "out"
    run_ok(tiny_corpus, tiny_codebook, out, "--workers", "1")
    pipe, folder = tmp_path / "pipe", tmp_path / "folder"
    os.mkfifo(pipe)
    folder.mkdir()
    for command in (["export", "qdc", "--codebook", tiny_codebook, "--out"], ["sample", "2", "--segments", out / "segments.csv", "--out"]):
        for target, what in ((pipe, "is not a regular file (a device or a pipe)"), (folder, "is a folder, not a file")):
            result = invoke(*command, target, "--force")
            assert result.exit_code == 1
            assert result.output == f"Error: {target}: {what}. Choose a file name with --out.\n"
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    missing = invoke("sample", "2", "--segments", tmp_path / "nowhere.csv")
    assert missing.output == f"Error: {tmp_path / 'nowhere.csv'}: no such segments file. Run `coder run` first, or pass the path of a segments.csv.\n"
    wide = invoke("kwic", "joint meeting", "--corpus", tiny_corpus, "--codebook", tiny_codebook, "--width", "10001")
    assert wide.exit_code == 2 and "0<=x<=10000" in wide.output


def test_cli_export_xlsx_writes_only_a_name_ending_in_xlsx(tiny_corpus, tiny_codebook, tmp_path):
    """A workbook written as x.csv was then refused by `review import x.csv` as binary data."""
    from conftest import run_ok

    run_ok(tiny_corpus, tiny_codebook, tmp_path / "out", "--workers", "1")
    result = invoke("export", "xlsx", "--segments", tmp_path / "out" / "segments.csv", "--out", tmp_path / "book.csv")
    assert result.exit_code == 1 and not (tmp_path / "book.csv").exists()
    assert result.output == (f"Error: {tmp_path / 'book.csv'}: the workbook's name must end in .xlsx, as Excel and "
                             f"`coder review import` read it by. Choose a name like segments.xlsx with --out.\n")


def test_cli_out_that_is_a_file_is_named_as_one(tmp_path, monkeypatch):
    """`--out` naming a file (or a path through one) said only "File exists" or "Not a directory"."""
    from conftest import make_run_folder

    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "A joint meeting.\n"}, "codes:\n  m: [joint meeting]\n")
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    for out, written in (("afile", ""), ("afile/sub", " (to write afile/sub)")):
        result = invoke("network", "outputs/segments.csv", "--out", out)
        assert (result.exit_code, result.output) == (
            1, f"Error: afile: is a file, where a folder is needed{written}. Earlier outputs are unchanged.\n")
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"


def test_cli_segments_argument_that_is_no_segments_file(tmp_path, monkeypatch):
    """passages.parquet was taken as SEGMENTS (segments.csv beside it read silently); /dev/null was "no such file"."""
    from conftest import make_run_folder

    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "A joint meeting.\n"}, "codes:\n  m: [joint meeting]\n")
    result = invoke("network", "outputs/passages.parquet", "--out", "net")
    assert (result.exit_code, result.output) == (1, "Error: outputs/passages.parquet: is the run's passages table, not its "
                                                    "segments. Pass segments.csv or segments.parquet (or the run's folder).\n")
    if Path("/dev/null").exists():
        result = invoke("network", "/dev/null", "--out", "net")
        assert (result.exit_code, result.output) == (1, "Error: /dev/null: not a file (a folder, a device or a pipe). Pass the "
                                                        "path of a segments.csv.\n")


def test_cli_force_never_writes_over_what_the_command_reads(tmp_path, monkeypatch):
    """--force is for the old output of the same name: kwic --csv over the codebook, or diff --csv over a
    run's run.json, replaced the inputs the user had just named; a CSV written into the corpus folder
    would be coded by the next run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    codebook = "codes:\n  meeting:\n    keywords: [joint meeting]\n"
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out").exit_code == 0
    record = (tmp_path / "out" / "run.json").read_bytes()
    for args in (["kwic", "joint", "--corpus", "corpus", "--csv", "codebook.yaml", "--force"],
                 ["lint", "--corpus", "corpus", "--csv", "codebook.yaml", "--force"],
                 ["diff", "out", "out", "--csv", "out/run.json", "--force"],
                 ["kwic", "joint", "--corpus", "corpus", "--csv", "corpus/kwic.csv"],
                 ["export", "qdc", "--out", "codebook.yaml", "--force"],
                 ["network", "out", "--out", "corpus"]):
        result = invoke(*args)
        assert result.exit_code == 1, args
        assert "Traceback" not in result.output and ("would replace it" in result.output or "corpus folder, whose" in result.output)
    assert (tmp_path / "codebook.yaml").read_text(encoding="utf-8") == codebook
    assert (tmp_path / "out" / "run.json").read_bytes() == record
    assert not (tmp_path / "corpus" / "kwic.csv").exists()


@pytest.mark.parametrize("command, option", [
    (["sample", "2", "--segments", "out/segments.csv", "--out", "corpus/sample.txt"], "--out"),
    (["diff", "out", "out", "--csv", "corpus/changes.txt"], "--csv"),
    (["suggest", "meeting", "--run", "out", "--out", "corpus/suggestions.txt", "--quiet"], "--out"),
    (["export", "qdpx", "--segments", "out/segments.csv", "--out", "corpus/project.qdpx"], "--out"),
    (["export", "xlsx", "--segments", "out/segments.csv", "--out", "corpus/segments.xlsx"], "--out"),
])
def test_cli_commands_reading_a_run_never_write_into_its_corpus_folder(tmp_path, monkeypatch, command, option):
    """kwic --csv refused a place inside the corpus folder; sample, diff, suggest and export wrote there, and
    the next run coded a .txt so written as a document (suggest: "corpus changed: added") (probe AF)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n\nAnother joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out").exit_code == 0
    result = invoke(*command, "--force")
    assert (result.exit_code, result.output) == (
        1, f"Error: {command[command.index(option) + 1]}: is inside the run's corpus folder (corpus), whose every file "
           f"a run codes. Choose a place outside it with {option}.\n")
    assert sorted(path.name for path in (tmp_path / "corpus").iterdir()) == ["a.txt"]


@pytest.mark.parametrize("command", [
    ["run", "corpus", "--codebook", "codebook.yaml", "--out", "out"],
    ["network", "out/segments.csv"],
    ["review", "import", "out/segments.csv"],
])
@pytest.mark.parametrize("reviews", ["corpus/reviews.txt", "corpus/sub/../reviews.md", "link/Reviews.TXT"])
def test_cli_review_file_inside_the_corpus_is_refused(tmp_path, monkeypatch, command, reviews):
    """`--reviews corpus/reviews.txt` was taken: the review file was written there and the next run coded
    it as a document (probe BE4). Refused as an --out inside the corpus is, under any spelling."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n\nAnother joint meeting.\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(tmp_path / "corpus")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out").exit_code == 0
    segments = pd.read_csv("out/segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    segments.loc[0, "review"] = "reject"  # typed, to be written into the review file
    segments.to_csv("out/segments.csv", index=False, encoding="utf-8-sig")
    result = invoke(*command, "--reviews", reviews)
    assert (result.exit_code, result.output) == (
        1, f"Error: {reviews}: is inside the corpus folder corpus, so the next run would code the review file as a "
           f"document. Pass a --reviews file outside the corpus.\n")
    assert sorted(path.name for path in (tmp_path / "corpus").iterdir()) == ["a.txt"]


def test_cli_review_file_beside_a_codebook_in_the_corpus_folder_is_still_taken(tmp_path, monkeypatch):
    """A reviews.csv in the corpus folder (beside a codebook kept there) is no document type: not refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    (tmp_path / "corpus" / "codebook.yaml").write_text("codes:\n  meeting: [joint meeting]\n", encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "corpus/codebook.yaml", "--out", "out", "--quiet").exit_code == 0
    segments = pd.read_csv("out/segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    segments.loc[0, "review"] = "reject"
    segments.to_csv("out/segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("run", "corpus", "--codebook", "corpus/codebook.yaml", "--out", "out", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "corpus" / "reviews.csv").is_file()
    assert pd.read_csv("out/segments.csv", encoding="utf-8-sig")["document"].tolist() == ["a.txt"]


@pytest.mark.parametrize("reviews", ["corpus/.coder/reviews.txt", "corpus/.reviews.txt", "corpus/earlier/reviews.txt"])
def test_cli_review_file_the_corpus_does_not_read_is_taken(tmp_path, monkeypatch, reviews):
    """A review file in the corpus folder that the corpus walk passes over (hidden, or in a folder a run wrote)
    was refused as one the next run would code (probe BH3): it is taken, and the next run codes a.txt alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus" / ".coder").mkdir(parents=True)
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.txt").write_text("Another joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    assert invoke("run", "other", "--codebook", "codebook.yaml", "--out", "corpus/earlier", "--quiet").exit_code == 0
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out", "--quiet").exit_code == 0
    segments = pd.read_csv("out/segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    segments.loc[0, "review"] = "reject"
    segments.to_csv("out/segments.csv", index=False, encoding="utf-8-sig")
    for _ in range(2):
        result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out", "--quiet", "--reviews", reviews)
        assert result.exit_code == 0, result.output
        assert Path(reviews).is_file()
        after = pd.read_csv("out/segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert (after["document"].tolist(), after["review"].tolist()) == (["a.txt"], ["reject"])


@pytest.mark.parametrize("name", ["out/run.json", "out/segments.parquet", "notes.txt"])
def test_cli_a_file_that_is_no_review_table_is_named_so(tmp_path, monkeypatch, name):
    """`--reviews out/run.json` was refused with "row 2 has more cells than the header row" (probe BE4)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting: [joint meeting]\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("my notes, on the meeting\nthe second line, with, more, commas\n", encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out").exit_code == 0
    result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out", "--reviews", name)
    assert (result.exit_code, result.output) == (
        1, f"Error: {name}: not a review file: a review file is a table (CSV or .xlsx) of decisions on coded "
           f"segments, one row each, with the columns segment_id, document, passage, start, end, code, decision, "
           f"note, text, reviewed_at, context. Pass another file with --reviews.\n")


@pytest.mark.parametrize("command, written", [
    (["export", "xlsx", "--segments", "out/segments.csv"], "out/segments.xlsx"),
    (["sample", "2", "--segments", "out/segments.csv"], "out/sample.csv"),
    (["diff", "out", "out", "--csv", "changes.csv"], "changes.csv"),
])
def test_cli_a_run_of_a_relative_corpus_is_read_from_where_it_started(tmp_path, monkeypatch, command, written):
    """`coder run . --out ../out` inside the corpus folder, then a command from the folder above: the
    recorded "." was read from that folder, so every default output was refused as inside the run's
    corpus folder (probe AJ3)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A joint meeting was held.\n\nAnother joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "docs")
    assert invoke("run", ".", "--codebook", "../codebook.yaml", "--out", "../out").exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    assert (tmp_path / written).is_file()


@pytest.mark.parametrize("command, target, option", [
    (["suggest", "meeting", "--run", "out", "--quiet"], "out/code_counts.csv", "--out"),
    (["suggest", "meeting", "--run", "out", "--quiet"], "other/code_counts.csv", "--out"),
    (["sample", "2", "--segments", "out/segments.csv"], "out/cooccurrence.csv", "--out"),
    (["diff", "out", "other"], "out/report.html", "--csv"),
    (["export", "qdpx", "--segments", "out/segments.csv"], "out/network.gexf", "--out"),
    (["export", "qdc", "--codebook", "codebook.yaml"], "out/network.graphml", "--out"),
    (["kwic", "joint", "--corpus", "corpus"], "out/codes.csv", "--csv"),
    (["lint", "--corpus", "corpus"], "out/Code_Counts_Long.csv", "--csv"),
    (["suggest", "meeting", "--run", "out", "--quiet"], "out/texts/a.txt", "--out"),
    (["sample", "2", "--segments", "out/segments.csv"], "out/.previous/sample.csv", "--out"),
])
@pytest.mark.parametrize("force", [True, False])
def test_cli_no_command_writes_over_a_runs_own_files_even_with_force(tmp_path, monkeypatch, command, target, option, force):
    """suggest --out run1/code_counts.csv --force replaced one of the run's own tables (only its record, segment
    and passage tables were kept), so the run folder's files disagreed until the next run (probe AF). A file of a
    name a run writes in a run folder, and the folders a run keeps (texts/, .previous/), are refused. Without
    --force the same refusal: lint, kwic and export said "Pass --force", which was then refused (probe AJ4)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n\nAnother joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    for folder in ("out", "other"):
        assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", folder, "--quiet").exit_code == 0
    (tmp_path / "out" / "texts").mkdir()
    (tmp_path / "out" / "texts" / "a.txt").write_text("the text of a.pdf\n", encoding="utf-8")
    before = {path: path.read_bytes() for folder in ("out", "other") for path in (tmp_path / folder).rglob("*")
              if path.is_file() and ".cache" not in path.parts}
    result = invoke(*command, option, target, *(["--force"] if force else []))
    name = Path(target).name
    assert (result.exit_code, result.output) == (1, (
        f"Error: {target}: lies inside {Path(target).parent}, a folder coder keeps for the run and replaces. Choose a "
        f"place outside it with {option}.\n" if Path(target).parent.name in ("texts", ".previous") else
        f"Error: {target}: is {name}, a file the run in {Path(target).parent} writes: writing the results there "
        f"would replace the run's own. Choose another name with {option} (--force never writes over it).\n"))
    assert {path: path.read_bytes() for path in before} == before


def test_cli_more_workers_than_cores_are_capped_with_a_note(tmp_path, monkeypatch):
    """`-j 1000` for `-j 10` started a thousand processes."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    result = invoke("run", str(tmp_path / "corpus"), "-c", str(tmp_path / "codebook.yaml"), "-o", str(tmp_path / "out"),
                    "--workers", "1000")
    assert result.exit_code == 0, result.output
    assert "Note: --workers 1000 is more than this machine's 2 core(s): using 2." in result.output


@pytest.mark.skipif(os.name == "nt", reason="the commands are quoted for PowerShell and cmd there")
@pytest.mark.parametrize("folder", ["my outputs"])
def test_cli_printed_commands_quote_paths_with_spaces(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path,
                                                      monkeypatch, folder: str):
    """`coder review import my outputs/segments.xlsx`, as export xlsx printed it, failed when pasted with
    a usage error: paths with spaces ("My Documents", OneDrive) were never quoted (probe AH11)."""
    import shlex

    monkeypatch.chdir(tmp_path)
    out = Path(folder)
    assert run("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out).exit_code == 0
    exported = run("export", "xlsx", "--segments", out / "segments.csv")
    assert exported.exit_code == 0, exported.output
    assert exported.output.endswith("import it with `coder review import 'my outputs/segments.xlsx'`.\n")
    sampled = run("sample", "2", "--segments", out / "segments.csv", "--out", out / "sample sheet.csv")
    assert sampled.exit_code == 0, sampled.output
    assert sampled.output.endswith("then: coder agree 'my outputs/sample sheet.csv' --segments 'my outputs/segments.csv'\n")
    pasted = shlex.split(exported.output.rsplit("`", 2)[1])
    assert pasted[:1] == ["coder"] and run(*pasted[1:]).exit_code == 0


@pytest.mark.parametrize(("value", "windows", "shown"), [
    ("outputs/segments.csv", False, "outputs/segments.csv"),
    ("联席会议/out", False, "联席会议/out"),
    ("my outputs/segments.xlsx", False, "'my outputs/segments.xlsx'"),
    ("it's/out", False, "'it'\"'\"'s/out'"),
    ("C:\\Users\\me\\out", False, "'C:\\Users\\me\\out'"),
    ("C:\\Users\\me\\out", True, "C:\\Users\\me\\out"),
    ("C:\\Users\\me\\My Documents\\out", True, '"C:\\Users\\me\\My Documents\\out"'),
])
def test_cli_command_argument_quotes_for_the_shell(value: str, windows: bool, shown: str):
    from coder.files import command_argument

    assert command_argument(value, windows=windows) == shown
