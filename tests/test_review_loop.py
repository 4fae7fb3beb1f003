"""The review loop through the CLI (issue 10): nothing typed is lost, decisions follow the codebook,
hand coding counts everywhere, status and changes show what to review, spreadsheets stay safe."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import written_as_before_escapes
from typer.testing import CliRunner

from coder.cli import app
from coder.models import segment_id

CODEBOOK = """\
name: Loop
codes:
  joint_meeting:
    label: Joint meetings
    keywords: [joint meeting]
  barriers:
    label: Barriers
    keywords: [barrier*]
    codes:
      local_protection:
        keywords: [local protection]
  hand_only:
    label: Coded by hand
    description: No keywords; for hand coding.
"""

CORPUS = {
    "a.txt": "Mayors held a joint meeting.\n\nAdministrative barriers remain; local protection too.\n\nNothing here.\n",
    "b.txt": "Another joint meeting was held.\n\nThe barrier is high.\n",
}


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def write_project(folder: Path, codebook: str, corpus: dict[str, str]) -> Path:
    """A project folder: codebook.yaml and corpus/ with `corpus`'s documents."""
    (folder / "codebook.yaml").write_text(codebook, encoding="utf-8")
    (folder / "corpus").mkdir()
    for name, text in corpus.items():
        (folder / "corpus" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path, CODEBOOK, CORPUS)


def coder_run(project: Path, *extra: str):
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--workers", "1", *extra)
    assert result.exit_code == 0, result.output
    return result


def segments_of(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "out" / "segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def save_as_spreadsheet(frame: pd.DataFrame, path: Path, how: str) -> None:
    """Save the way Excel's "Save as" choices do."""
    if how == "utf-8-sig,":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif how == "cp1252;":
        frame.to_csv(path, index=False, sep=";", encoding="cp1252", lineterminator="\r\n")
    elif how == "utf-16\t":  # "Unicode text"
        frame.to_csv(path, index=False, sep="\t", encoding="utf-16")
    elif how == "reordered":
        frame[list(reversed(frame.columns))].assign(extra="x").to_csv(path, index=False, encoding="utf-8")


@pytest.mark.parametrize("how", ["utf-8-sig,", "cp1252;", "utf-16\t", "reordered"])
def test_review_loop_typed_decisions_survive_a_rerun(project, how):
    coder_run(project)
    frame = segments_of(project)
    rows = frame.index[:3]
    frame.loc[rows, "review"] = "reject"
    frame.loc[3, "note"] = "check the date"
    save_as_spreadsheet(frame, project / "out" / "segments.csv", how)
    second = coder_run(project)
    assert second.stderr.splitlines()[0] == (
        f"Imported 3 decision(s), 1 note(s) typed into {project / 'out' / 'segments.csv'} into "
        f"{project / 'reviews.csv'} first."
    )
    for _ in range(2):  # and again: the rewritten file and the one before it keep them
        after = segments_of(project)
        assert after.loc[after["segment_id"].isin(frame.loc[rows, "segment_id"]), "review"].tolist() == ["reject"] * 3
        assert after.loc[after["segment_id"] == frame.loc[3, "segment_id"], "note"].tolist() == ["check the date"]
        assert "Imported" not in coder_run(project).stderr


@pytest.mark.parametrize("text", ["The **joint** meeting was held.", "**Joint meeting** held in _May_"])
def test_review_loop_decisions_on_markdown_emphasis_keep_to_their_segments(tmp_path, text):
    """A .md passage's text keeps its emphasis delimiters, which the matcher does not read: a segment's id
    is made from that text, so a decision typed before they were blanked applies (probe BH1: it came
    loose as detached, and the rejected segment was counted again)."""
    project = write_project(tmp_path, CODEBOOK, {"a.md": text + "\n"})
    (project / "reviews.csv").write_text(
        "segment_id,document,passage,start,end,code,decision,note,text,reviewed_at,context\n"
        f"{segment_id('a.md', text, 'joint_meeting')},a.md,0,0,{len(text)},joint_meeting,reject,checked,{text},"
        "2026-12-01T00:00:00+00:00,\n", encoding="utf-8-sig")
    result = coder_run(project)
    assert "detached" not in result.output
    (row,) = segments_of(project).itertuples()
    assert (row.code, row.review, row.text, row.start, row.end) == ("joint_meeting", "reject", text, "0", str(len(text)))


@pytest.mark.parametrize("typed, filed", [("withdraw", "accept")])
def test_review_loop_conflict_stops_the_run_and_changes_nothing(project, typed, filed):
    """The run wrote `reject`; the review file took `accept` since; `withdraw` typed over the cell's `reject`."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)  # imported
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    reviews.loc[0, ["decision", "note"]] = [filed, "second reviewer"]
    reviews.to_csv(project / "reviews.csv", index=False, encoding="utf-8-sig")
    frame = segments_of(project)
    frame.loc[0, "review"] = typed
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    before = {path.name: path.read_bytes() for path in (project / "out").iterdir() if path.is_file()}
    before["reviews.csv"] = (project / "reviews.csv").read_bytes()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    segments = project / "out" / "segments.csv"
    assert result.stderr == (
        f"Error: {segments}: 1 typed decision(s) conflict with {project / 'reviews.csv'}; none of its decisions were imported:\n"
        f"  row 2 (a.txt, passage 0, joint_meeting): segments.csv says {typed}, reviews.csv says {filed}\n"
        f"To keep the spreadsheet's decisions run `coder review import {segments} --reviews {project / 'reviews.csv'}`; "
        f"to keep the review file's, clear those cells in {segments}. Then run the command again.\n"
    )
    after = {path.name: path.read_bytes() for path in (project / "out").iterdir() if path.is_file()}
    after["reviews.csv"] = (project / "reviews.csv").read_bytes()
    assert after == before


@pytest.mark.parametrize("new_id", ["obstacles"])
@pytest.mark.parametrize("text", ["as written", "edited", "deleted"])
def test_review_loop_decisions_follow_a_renamed_code(project, new_id, text):
    """The new ids come from the passages of the last run, not from the text kept with the decision:
    a text cell edited in the spreadsheet (or turned into a date by it) left the decision detached."""
    coder_run(project)
    frame = segments_of(project)
    barrier = frame.index[frame["code"] == "barriers"]
    frame.loc[barrier, "review"] = ["accept", "reject"]
    if text == "edited":
        frame.loc[barrier, "text"] = frame.loc[barrier, "text"] + " [checked]"
    elif text == "deleted":
        frame = frame.drop(columns=["text"])
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    codebook = project / "codebook.yaml"
    codebook.write_text(CODEBOOK.replace("  barriers:", f"  {new_id}:"), encoding="utf-8")
    result = coder_run(project)
    assert "  2 decision(s) followed their renamed code." in result.stderr.splitlines()
    after = segments_of(project)
    assert after.loc[after["code"] == new_id, "review"].tolist() == ["accept", "reject"]
    assert after.loc[after["code"] == new_id, "status"].tolist() == ["accepted", "rejected"]
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert sorted(reviews["code"]) == [new_id, new_id]
    status = invoke("review", "status", "--codebook", str(codebook), "--segments", str(project / "out" / "segments.csv"))
    assert "No detached decisions: each has its segment in the last run." in status.stdout


@pytest.mark.parametrize("old_name, new_name", [("b.txt", "renamed.txt")])
def test_review_loop_decisions_follow_unchanged_passages_of_a_renamed_document(project, old_name, new_name):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["document"] == old_name, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    (project / "corpus" / old_name).rename(project / "corpus" / new_name)
    result = coder_run(project)
    assert "  2 decision(s) followed their passage into a renamed document." in result.stderr.splitlines()
    after = segments_of(project)
    assert after.loc[after["document"] == new_name, "review"].tolist() == ["reject", "reject"]


@pytest.mark.parametrize("mangled, cut", [("5.10941E+15", False), ("5.10941E+15", True)])
def test_review_loop_excel_mangled_id_still_imports(project, mangled, cut):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["segment_id", "review"]] = [mangled, "reject"]
    if cut:  # and the text cut short, as a workbook cell over Excel's limit: the passage number finds it
        frame.loc[0, "text"] = frame.loc[0, "text"][:8] + "…"
    frame.to_csv(project / "reviewed.csv", index=False, encoding="utf-8-sig")
    result = invoke("review", "import", str(project / "reviewed.csv"), "--codebook", str(project / "codebook.yaml"),
                    "--run", str(project / "out"))
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0].endswith("1 new, 0 changed, 0 unchanged review decisions -> "
                                                  f"{project / 'reviews.csv'} (1 in all).")
    coder_run(project)
    assert segments_of(project).loc[0, "review"] == "reject"


def test_review_loop_segment_ids_are_never_all_digits(project):
    coder_run(project)
    ids = segments_of(project)["segment_id"]
    assert all(identifier[0] == "s" and len(identifier) == 17 for identifier in ids)


@pytest.mark.parametrize("how", ["passage", "span"])
def test_review_loop_added_passage_counts_everywhere_and_survives_recodes(project, how):
    coder_run(project)
    text = CORPUS["a.txt"].split("\n\n")[2].strip()  # "Nothing here.": the tool codes nothing there
    start = CORPUS["a.txt"].index(text)
    row = {"document": "a.txt", "code": "hand_only", "review": "add", "note": "missed"}
    row.update({"passage": "2"} if how == "passage" else {"start": str(start), "end": str(start + len(text))})
    sheet = pd.DataFrame([row])
    sheet.to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    result = invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                    "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
    assert result.exit_code == 0, result.output
    identifier = segment_id("a.txt", text, "hand_only")
    for _ in range(2):
        summary = coder_run(project).stderr
        assert "1 passage(s) coded by hand counted." in summary
        frame = segments_of(project)
        manual = frame[frame["source"] == "manual"]
        assert manual[["segment_id", "document", "passage", "code", "text", "status", "review", "note"]].values.tolist() == [
            [identifier, "a.txt", "2", "hand_only", text, "added", "add", "missed"]
        ]
        assert set(frame.loc[frame["source"] != "manual", "source"]) == {"auto"}
        counts = pd.read_csv(project / "out" / "code_counts.csv", encoding="utf-8-sig").set_index("code")
        assert counts.loc["hand_only", "total"] == 1
        codes = pd.read_csv(project / "out" / "codes.csv", encoding="utf-8-sig")
        assert codes.loc[codes["code"] == "hand_only"].iloc[0].to_dict()["passages"] == 1
    qdpx = project / "out" / "project.qdpx"
    exported = invoke("export", "qdpx", "--segments", str(project / "out" / "segments.csv"), "--out", str(qdpx))
    assert exported.exit_code == 0, exported.output
    assert f"{len(frame)} coded segment(s)" in exported.stderr
    with zipfile.ZipFile(qdpx) as archive:
        project_xml = archive.read("project.qde").decode("utf-8")
    assert f'startPosition="{start}" endPosition="{start + len(text)}"' in project_xml


@pytest.mark.parametrize("command", ["run", "network"])
def test_a_hand_coded_row_with_a_misspelt_code_is_refused_with_the_nearest_code(project, command):
    """A row typed into segments.csv with `add` and a misspelt code was imported without a word and
    showed up only as a detached decision (probe W21): the run (and network) refuse it now, naming
    the row and the code meant, and import nothing."""
    coder_run(project)
    frame = segments_of(project)
    typo = frame.iloc[[0]].assign(code="joint_meting", review="add", passage="2")
    pd.concat([frame, typo]).to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    segments = project / "out" / "segments.csv"
    if command == "run":
        result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                        "--out", str(project / "out"))
    else:
        result = invoke("network", str(segments))
    assert (result.exit_code, result.output) == (1, (
        f"Error: {segments}: 1 typed row(s) cannot be read, so the file was not replaced (first, row {len(frame) + 2}: "
        f"code 'joint_meting' is not in the codebook (did you mean 'joint_meeting'?); use a code id of the codebook.). "
        f"Correct them, or run `coder review import {segments}` to see every row.\n"))
    assert not (project / "reviews.csv").exists()


def test_review_loop_precision_and_recall_in_summary_and_status(project):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"] == "barriers", "review"] = ["accept", "reject"]
    added = pd.DataFrame([{"document": "a.txt", "passage": "2", "code": "barriers", "review": "add"}])
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    added.to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--run", str(project / "out")).exit_code == 0
    summary = coder_run(project).stderr.splitlines()
    table = summary[summary.index("code      reviewed  accepted  precision  added  recall (estimate)"):][:2]
    # 2 automatic segments at precision 1/2: 1 true find; 1 missed passage added: recall 1/2.
    assert table[1] == "barriers         2         1        50%      1     50%"
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert "barriers         2         1        50%      1     50%" in status.stdout.splitlines()


def test_review_status_before_the_next_run_calls_a_passage_just_coded_by_hand_pending(project):
    """Right after `review import` of an `add` row, status said the passage was detached, "no longer in the
    document", though the document was unchanged and the next run counts it (probe AX3)."""
    coder_run(project)
    added = pd.DataFrame([{"document": "a.txt", "passage": "2", "code": "barriers", "review": "add"}])
    added.to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--run", str(project / "out")).exit_code == 0
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert status.exit_code == 0, status.output
    assert status.stdout.splitlines()[1:3] == [
        "No detached decisions.",
        "1 passage(s) coded by hand since the last run (their text is in its documents): the next run counts them.",
    ]
    (project / "corpus" / "a.txt").write_text(CORPUS["a.txt"].replace("Nothing here.", "Something else."),
                                              encoding="utf-8")
    coder_run(project)
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert status.stdout.splitlines()[1:3] == [
        "1 decision(s) are detached: the last run has no segment for them (kept):",
        "  a.txt, passage 2, barriers: add; the passage text is no longer in the document",
    ]


@pytest.mark.parametrize("old_code, new_code", [("barriers", "obstacles")])
@pytest.mark.parametrize("where", ["here", "beside another project's outputs"])
def test_review_loop_status_lists_detached_and_reattach_maps_them(project, tmp_path_factory, monkeypatch, old_code,
                                                                  new_code, where):
    """`reattach` without --segments looks at ./outputs/segments.csv: a run there of another review file (the
    clean clone's seeds run of `make run`) said the moved decisions' code coded none of them."""
    if where != "here":
        other = tmp_path_factory.mktemp("other")
        (other / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
        assert invoke("run", str(project / "corpus"), "--codebook", str(other / "codebook.yaml"),
                      "--out", str(other / "outputs")).exit_code == 0
        monkeypatch.chdir(other)
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"] == old_code, ["review", "note"]] = [["reject", "too vague"], ["accept", ""]]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    # A rename `coder diff` cannot recognise: new id, new label, new keywords.
    edited = CODEBOOK.replace("  barriers:\n    label: Barriers\n    keywords: [barrier*]",
                              f"  {new_code}:\n    label: Obstacles\n    keywords: [barrier*, obstacle]")
    (project / "codebook.yaml").write_text(edited, encoding="utf-8")
    summary = coder_run(project).stderr
    assert "  2 decision(s) are detached: this run has no segment for them; they are kept in" in summary
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert status.exit_code == 0
    why = f"code '{old_code}' is not in the codebook: `coder review reattach {old_code} NEW_CODE`"
    assert status.stdout.splitlines()[1:4] == [
        "2 decision(s) are detached: the last run has no segment for them (kept):",
        f"  a.txt, passage 1, {old_code}: reject \"too vague\"; {why}",
        f"  b.txt, passage 1, {old_code}: accept; {why}",
    ]
    moved = invoke("review", "reattach", old_code, new_code, "--codebook", str(project / "codebook.yaml"))
    assert moved.exit_code == 0
    assert moved.stderr == (f"{project / 'reviews.csv'}: 2 decision(s) moved from {old_code} to {new_code}. "
                            f"Run `coder run` to apply them.\n")
    coder_run(project)
    after = segments_of(project)
    assert after.loc[after["code"] == new_code, "review"].tolist() == ["reject", "accept"]
    unknown = invoke("review", "reattach", new_code, "nope", "--codebook", str(project / "codebook.yaml"))
    assert (unknown.exit_code, unknown.stderr) == (
        1, "Error: code 'nope' is not in the codebook. Pass a code id of the codebook as NEW.\n")


@pytest.mark.parametrize("old_code, new_code", [("barriers", "obstacles")])
def test_review_commands_of_a_run_use_its_codebook_and_review_file(project, monkeypatch, old_code, new_code):
    """From a folder with a codebook.yaml of its own, `review status`, `reattach` and `import` of a run read
    that codebook and the reviews.csv beside it (probe W7): status gave a deleted code's decision the wrong
    reason (or none, from an empty review file), reattach refused a code of the run's codebook. They use
    the codebook and the review file the run's run.json names now, as network and suggest do."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"] == old_code, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    edited = CODEBOOK.replace("  barriers:\n    label: Barriers\n    keywords: [barrier*]",
                              f"  {new_code}:\n    label: Obstacles\n    keywords: [barrier*, obstacle]")
    (project / "codebook.yaml").write_text(edited, encoding="utf-8")
    coder_run(project)
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    segments = str(project / "out" / "segments.csv")
    status = invoke("review", "status", "--segments", segments)
    assert status.exit_code == 0, status.output
    why = f"code '{old_code}' is not in the codebook: `coder review reattach {old_code} NEW_CODE`"
    assert f"  a.txt, passage 1, {old_code}: reject; {why}" in status.stdout.splitlines()
    moved = invoke("review", "reattach", old_code, new_code, "--segments", segments)
    assert (moved.exit_code, moved.stderr) == (0, f"{project / 'reviews.csv'}: 2 decision(s) moved from {old_code} to "
                                                  f"{new_code}. Run `coder run` to apply them.\n")
    frame = segments_of(project)
    frame.loc[frame["code"] == "joint_meeting", "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", segments)
    assert imported.exit_code == 0, imported.output
    assert imported.stderr.startswith(f"{segments}: 2 new, 0 changed, 0 unchanged review decisions -> "
                                      f"{project / 'reviews.csv'} (4 in all).")
    assert not (elsewhere / "reviews.csv").exists()


def test_review_import_of_a_run_takes_its_reviews_option_before_a_decision_was_in_it(project, monkeypatch):
    """A first run with --reviews naming a file not there yet recorded no review file: `coder review import` of its
    segments.csv (the advice of export xlsx) wrote to the reviews.csv beside the codebook, and every later run with
    --reviews left that decision out (probe BB7). run.json names the file the run looked for."""
    chosen = project / "decisions" / "team.csv"
    chosen.parent.mkdir()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--reviews", str(chosen))
    assert result.exit_code == 0, result.output
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(project / "typed.csv", index=False, encoding="utf-8-sig")
    monkeypatch.chdir(project / "decisions")
    imported = invoke("review", "import", str(project / "typed.csv"), "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    assert chosen.is_file() and not (project / "reviews.csv").exists()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--reviews", str(chosen))
    assert result.exit_code == 0, result.output
    assert segments_of(project).loc[0, "review"] == "reject"


def test_review_loop_status_column_and_changes_list_segments(project):
    coder_run(project)
    assert set(segments_of(project)["status"]) == {"new"}
    frame = segments_of(project)
    frame.loc[0, "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    (project / "codebook.yaml").write_text(CODEBOOK.replace("[joint meeting]", "[joint meeting, nothing]"), encoding="utf-8")
    coder_run(project)
    after = segments_of(project)
    nothing = segment_id("a.txt", "Nothing here.", "joint_meeting")
    assert after.set_index("segment_id")["status"].to_dict() == {
        frame.loc[0, "segment_id"]: "accepted", **{identifier: "unchanged" for identifier in frame["segment_id"][1:]},
        nothing: "new",
    } or after.set_index("segment_id").loc[nothing, "status"] == "new"
    changes = list(csv.reader(io.StringIO((project / "out" / "changes.csv").read_bytes().decode("utf-8-sig"))))
    assert changes[0][-4:] == ["segment_id", "document", "passage", "text"]
    assert ["joint_meeting", "segment added", "", "", "", "", nothing, "a.txt", "2", "Nothing here."] in changes


@pytest.mark.parametrize("first, second", [("accept", "reject")])
def test_review_loop_duplicate_lines_in_review_file_are_reported(project, first, second):
    coder_run(project)
    identifier = segments_of(project).loc[0, "segment_id"]
    header = "segment_id,document,code,decision,note,text,reviewed_at\n"
    (project / "reviews.csv").write_text(
        header + f"{identifier},a.txt,joint_meeting,{first},,x,\n{identifier},a.txt,joint_meeting,{second},,x,\n",
        encoding="utf-8")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"Error: {project / 'reviews.csv'}: 1 segment(s) appear on several lines with different decisions "
        f"(two review files pasted together?):",
        f"  {identifier} (joint_meeting, a.txt): lines 2, 3 say {first} / {second}",
    ]


def _damaged(good: Path, book: Path, damage: str) -> None:
    if damage == "truncated":
        book.write_bytes(good.read_bytes()[:500])
    elif damage == "empty":
        book.write_bytes(b"")
    else:  # crafted: a sheet that is not XML, or no sheet at all
        with zipfile.ZipFile(good) as source, zipfile.ZipFile(book, "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    if damage == "no sheet":
                        continue
                    data = b"<<<"
                target.writestr(item.filename, data)


@pytest.mark.parametrize("damage", ["truncated", "empty", "bad xml", "no sheet"])
@pytest.mark.parametrize("command", ["review import", "export xlsx", "review status"])
def test_review_loop_damaged_workbook_is_one_error_line(project, command, damage):
    coder_run(project)
    book = project / "out" / "book.xlsx"
    good = project / "out" / "good.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(good)).exit_code == 0
    _damaged(good, book, damage)
    args = {
        "review import": ["review", "import", str(book), "--codebook", str(project / "codebook.yaml")],
        "export xlsx": ["export", "xlsx", "--segments", str(book), "--out", str(project / "out" / "again.xlsx")],
        "review status": ["review", "status", "--codebook", str(project / "codebook.yaml"), "--segments", str(book)],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {book}: not a readable Excel workbook (")


def _with_sheet(good: Path, book: Path, sheet: bytes) -> None:
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, sheet if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename))


def test_review_loop_workbook_bomb_is_refused_before_it_is_read(project):
    """A 70 KB workbook whose one cell unpacks to 70 MB: refused by its parts' declared sizes before
    openpyxl reads it (it held about seven times the XML: 0.6 MB of one 600 MB cell took 4 GB and 12 s)."""
    coder_run(project)
    good, book = project / "out" / "good.xlsx", project / "out" / "book.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(good)).exit_code == 0
    _with_sheet(good, book, b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                b'2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' + b"a" * 70 * 2**20
                + b"</t></is></c></row></sheetData></worksheet>")
    assert book.stat().st_size < 200_000
    result = invoke("review", "import", str(book), "--codebook", str(project / "codebook.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {book}: its 10 part(s) would unpack to 70 MB from ")
    assert "more than a workbook holds: not read, as a damaged or hostile file." in result.stderr


def test_review_loop_workbook_with_more_rows_than_excel_holds_is_refused(project, monkeypatch):
    """A sheet longer than Excel's 1,048,576 rows is no workbook Excel saved: read up to there, then
    refused (3,000,000 rows in 15 MB took 110 s and 0.8 GB; now 53 s and 0.4 GB). Here Excel holds 3 rows."""
    from coder import files

    coder_run(project)
    book = project / "out" / "book.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book)).exit_code == 0
    assert len(pd.read_excel(book)) >= 3
    monkeypatch.setattr(files, "_EXCEL_MAX_ROWS", 3)
    result = invoke("review", "import", str(book), "--codebook", str(project / "codebook.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {book}: its sheet 'segments' has more rows than Excel holds (3): not read")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_review_loop_workbook_decisions_are_imported_before_it_is_replaced(project):
    coder_run(project)
    book = project / "out" / "segments.xlsx"
    export = ["export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book),
              "--codebook", str(project / "codebook.yaml")]
    assert invoke(*export).exit_code == 0
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook["segments"]
    review = [cell.value for cell in sheet[1]].index("review") + 1
    sheet.cell(row=2, column=review, value="n")
    workbook.save(book)
    assert invoke(*export).exit_code == 1  # a file the user named is never replaced without --force
    again = invoke(*export, "--force")
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines()[0] == (
        f"Imported 1 decision(s) typed into {book} into {project / 'reviews.csv'} first.")
    assert load_workbook(book)["segments"].cell(row=2, column=review).value == "reject"


FIVE = {f"d{number}.txt": f"A joint meeting in city {number}.\n\nThe barrier stays.\n\nQuiet paragraph {number}.\n"
        for number in range(5)}


@pytest.fixture
def five(tmp_path: Path) -> Path:
    coder_run(write_project(tmp_path, CODEBOOK, FIVE))
    return tmp_path


@pytest.mark.parametrize("documents", [["d1.txt", "d3.txt"]])
def test_review_loop_agree_on_a_sample_of_the_tools_own_coding_scores_one(five, documents):
    frame = segments_of(five)
    frame[frame["document"].isin(documents)][["document", "passage", "code"]].to_csv(five / "gold.csv", index=False)
    result = invoke("agree", str(five / "gold.csv"), "--segments", str(five / "out" / "segments.csv"))
    assert result.exit_code == 0, result.output
    agreement = pd.read_csv(five / "out" / "agreement.csv", encoding="utf-8-sig").set_index("code")
    assert agreement.loc["(overall)", ["precision", "recall", "f1"]].tolist() == [1.0, 1.0, 1.0]
    assert agreement.loc["(overall)", ["precision_low", "recall_high"]].tolist() == [1.0, 1.0]
    assert agreement.loc["(overall)", "fp"] == 0


@pytest.mark.parametrize("size, seed", [(6, 3)])
def test_review_loop_sample_is_seeded_and_stratified(five, size, seed):
    out = five / "sample.csv"
    args = ["sample", str(size), "--segments", str(five / "out" / "segments.csv"), "--seed", str(seed), "--out", str(out)]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    drawn = out.read_bytes()
    assert invoke(*args).exit_code == 1  # never overwritten without --force
    assert invoke(*args, "--force").exit_code == 0 and out.read_bytes() == drawn
    sheet = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert sheet.columns.tolist() == ["document", "passage", "start", "end", "text", "code"]
    coded = {(row.document, row.passage) for row in segments_of(five).itertuples()}
    in_sample = [(row.document, row.passage) in coded for row in sheet.itertuples()]
    assert (len(sheet), sum(in_sample)) == (size, size // 2)
    assert first.stderr.splitlines()[0] == f"Drew {size} passage(s) (seed {seed}): 3 of 10 coded, 3 of 5 uncoded."
    by_code = invoke("sample", "4", "--segments", str(five / "out" / "segments.csv"), "--by-code", "--out",
                     str(five / "by_code.csv"))
    assert "1 of 5 coded by barriers" in by_code.stderr and "1 of 5 coded by joint_meeting" in by_code.stderr
    # The filled sheet is a gold file: the tool's own codes give 1.0 on exactly these passages.
    own = segments_of(five).groupby(["document", "passage"])["code"].agg(";".join).to_dict()
    sheet["code"] = [own.get((row.document, row.passage), "") for row in sheet.itertuples()]
    sheet.to_csv(out, index=False, encoding="utf-8-sig")
    scored = invoke("agree", str(out), "--segments", str(five / "out" / "segments.csv"))
    assert scored.exit_code == 0, scored.output
    assert f"Note: scored the {size} passage(s) the gold coding names" in scored.output
    agreement = pd.read_csv(five / "out" / "agreement.csv", encoding="utf-8-sig").set_index("code")
    assert agreement.loc["(overall)", ["precision", "recall"]].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"http://evil\",\"click\")", "+SUM(1)", "-1+2", "@cmd"])
def test_review_loop_formulas_never_run_and_round_trip(project, hostile):
    (project / "corpus" / "a.txt").write_text(f"{hostile} joint meeting.\n\nA barrier.\n", encoding="utf-8")
    coder_run(project)
    rows = list(csv.reader(io.StringIO((project / "out" / "segments.csv").read_bytes().decode("utf-8-sig"))))
    text = rows[0].index("text")
    assert rows[1][text] == "'" + hostile + " joint meeting."
    book = project / "out" / "segments.xlsx"
    result = invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book))
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    sheet = load_workbook(book)["segments"]
    cell = sheet.cell(row=2, column=text + 1)
    assert (cell.data_type, str(cell.value)) == ("s", hostile + " joint meeting.")
    with zipfile.ZipFile(book) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    frame = segments_of(project)
    frame.loc[0, "note"] = hostile
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert segments_of(project).loc[0, "note"] == "'" + hostile  # neutralised again when written
    from coder.segments import read_segments_csv

    assert read_segments_csv(project / "out" / "segments.csv").loc[0, "note"] == hostile


@pytest.mark.parametrize("text", ["A \uffff\ufffe\x01\x1f barrier \ud800."])
def test_review_loop_xlsx_with_characters_xml_cannot_hold(tmp_path, text):
    from openpyxl import load_workbook

    from coder.xlsx import write_segments_xlsx

    frame = pd.DataFrame([{"segment_id": "s1", "document": "a\x02.txt", "passage": 0, "start": 0, "end": 5, "code": "c",
                           "label": "L\uffff", "matched": "barrier", "text": text, "review": "", "note": "\x00"}], dtype=object)
    write_segments_xlsx(frame, tmp_path / "odd.xlsx")
    values = [cell.value for cell in load_workbook(tmp_path / "odd.xlsx")["segments"][2]]
    assert values[1] == "a .txt" and values[6] == "L\ufffd"
    assert "".join(getattr(part, "text", part) for part in values[8]) == "A \ufffd\ufffd   barrier \ufffd."


@pytest.mark.parametrize("units", [40000])
def test_review_loop_long_cells_cut_by_utf16_units(tmp_path, units):
    from coder.xlsx import CELL_LIMIT, write_segments_xlsx

    text = "😀" * (units // 2) + "x"
    frame = pd.DataFrame([{"segment_id": "s1", "document": "a.txt", "passage": 0, "start": 0, "end": len(text),
                           "code": "c", "text": text, "review": "", "note": ""}])
    write_segments_xlsx(frame, tmp_path / "long.xlsx")
    from openpyxl import load_workbook

    value = load_workbook(tmp_path / "long.xlsx")["segments"]["G2"].value
    assert len(value.encode("utf-16-le")) // 2 <= CELL_LIMIT and value.endswith("…")
    assert value[:-1] == text[: len(value) - 1]


def test_review_loop_network_keeps_typed_decisions_too(project):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("network", str(project / "out" / "segments.csv"), "--out", str(project / "out"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"Imported 1 decision(s) typed into {project / 'out' / 'segments.csv'} into {project / 'reviews.csv'} first.")
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert reviews[["segment_id", "decision"]].values.tolist() == [[frame.loc[0, "segment_id"], "reject"]]


@pytest.mark.parametrize("sheet", [None, "document,region\na.txt,East\nb.txt,West\n"])
def test_review_loop_network_in_the_run_folder_rewrites_every_count_table(project, sheet):
    """`coder network` after rejects typed into segments.csv left the run's code_counts.csv (and
    code_counts_by_group.csv) counting them, beside a network and code_counts_long.csv that did not
    (probe W4): every count table is now the one the next run writes."""
    if sheet is not None:
        (project / "corpus" / "documents.csv").write_text(sheet, encoding="utf-8")
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"] == "joint_meeting", "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("network", str(project / "out" / "segments.csv"))
    assert result.exit_code == 0, result.output
    tables = ["code_counts.csv", "code_counts_long.csv", *(["code_counts_by_group.csv"] if sheet else [])]
    assert result.stderr.splitlines()[-1].endswith("network.gexf, " + ", ".join(tables))
    after_network = {name: (project / "out" / name).read_bytes() for name in tables}
    counts = pd.read_csv(project / "out" / "code_counts.csv", encoding="utf-8-sig").set_index("code")["total"]
    assert counts["joint_meeting"] == 0
    coder_run(project)  # the rejects now come from reviews.csv
    assert {name: (project / "out" / name).read_bytes() for name in tables} == after_network


@pytest.mark.parametrize("keep_time", [False, True])
def test_review_loop_untouched_segments_file_is_not_read_again(project, monkeypatch, keep_time):
    """A rerun reads segments.csv for typed decisions only when the file changed since the last run
    wrote it (a save that restores the modification time counts as a change)."""
    import os

    from coder import runner

    coder_run(project)
    read: list[str] = []
    real = runner.import_pending

    def spy(path, *args, **kwargs):
        read.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runner, "import_pending", spy)
    coder_run(project)
    assert read == []
    path = project / "out" / "segments.csv"
    before = path.stat()
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    if keep_time:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    second = coder_run(project)
    assert read == ["segments.csv"]
    assert second.stderr.splitlines()[0].startswith("Imported 1 decision(s)")


@pytest.mark.parametrize("workers", ["2"])
def test_review_loop_hand_coded_span_found_when_workers_read_the_corpus(project, monkeypatch, workers):
    # Coding workers read the text files; this process finds the hand-coded passage by reading its file again.
    from coder import pipeline

    coder_run(project)
    text = CORPUS["a.txt"].split("\n\n")[2].strip()
    start = CORPUS["a.txt"].index(text)
    pd.DataFrame([{"document": "a.txt", "code": "hand_only", "review": "add", "start": str(start),
                   "end": str(start + len(text))}]).to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--reviews", str(project / "reviews.csv"), "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    serial = segments_of(project)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 10)
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out",
                    str(project / "out"), "--workers", workers, "--no-cache")
    assert result.exit_code == 0, result.output
    frame = segments_of(project)
    assert frame.loc[frame["source"] == "manual", ["document", "passage", "text"]].values.tolist() == [["a.txt", "2", text]]
    pd.testing.assert_frame_equal(frame, serial)


@pytest.mark.parametrize("has_record", [True, False])
def test_review_loop_statuses_from_decisions_sources_and_the_last_run(has_record):
    from coder.runner import _statuses

    class Folder:
        def has_record(self):
            return has_record

    segments = pd.DataFrame({
        "segment_id": ["s1", "s2", "s3", "s4", "s5", "s6", "s7"],
        "review": ["", " Accept", "REJECT", "add", None, "maybe", ""],
        "source": ["auto", "auto", "auto", "auto", "auto", "auto", "manual"],
    })
    index = pd.DataFrame({"segment_id": ["s1", "s2", "s5", "gone"], "code": "c", "fingerprint": "f"})

    statuses = _statuses(segments, Folder(), {}, index=index)

    kept = "unchanged" if has_record else "new"  # s1 and s5 were in the last run
    assert statuses.tolist() == [kept, "accepted", "rejected", "added", kept, "new", "added"]
    assert str(statuses.dtype) == "str"


@pytest.mark.parametrize("dtype", [object, "str"])
def test_review_loop_hand_coded_rows_sorted_in_with_their_fingerprints(dtype):
    from coder.corpus import Corpus
    from coder.models import CodingResult, Document, passage_fingerprint
    from coder.partitioned import _with_manual  # the order of a partitioned run, pandas-sorted
    from coder.reviews import AppliedReviews
    from coder.runner import _with_manual_rows

    documents = (Document("a.txt", ""), Document("b.txt", ""), Document("c.txt", ""))

    def rows(places, source):
        return pd.DataFrame({
            "document": pd.Series([document for document, _ in places], dtype=dtype),
            "passage": [passage for _, passage in places],
            "text": [f"{document} {passage} {source} {number}" for number, (document, passage) in enumerate(places)],
            "source": source,
        })

    tool = rows([("a.txt", 0), ("a.txt", 2), ("b.txt", 1), ("b.txt", 1), ("c.txt", 0)], "auto")
    manual = rows([("b.txt", 1), ("z.txt", 0), ("a.txt", 1), ("c.txt", 3), ("a.txt", 0)], "manual")
    fingerprints = pd.Series([passage_fingerprint(document, text) for document, text in zip(tool["document"], tool["text"])])
    result = CodingResult(corpus=Corpus("corpus", documents), codebook=None, segments=tool, passages={},
                          fingerprints=fingerprints)
    applied = AppliedReviews(pd.concat([tool, manual], ignore_index=True), pd.DataFrame(), pd.DataFrame())
    done = _with_manual_rows(result, applied)
    expected = _with_manual(tool, manual, documents)
    pd.testing.assert_frame_equal(done.segments, expected)
    assert done.fingerprints.tolist() == [passage_fingerprint(document, text)
                                          for document, text in zip(expected["document"], expected["text"])]
    assert done.fingerprints.dtype == pd.Series(done.fingerprints.tolist()).dtype


@pytest.mark.parametrize("hand_coded", [False, True])
def test_review_loop_keyword_recode_with_decisions_looks_up_only_the_edited_codes(project, hand_coded, monkeypatch):
    """With decisions but no passage coded by hand, a keyword recode's rows of the codes it leaves alone
    are the last run's: their statuses and changes are not looked up row by row. A hand-coded passage
    comes in among the rows: every row is looked up. Either way the outputs are a full run's."""
    from conftest import output_files, run_ok

    import coder.diff
    import coder.runner

    corpus, codebook, fast, full = project / "corpus", project / "codebook.yaml", project / "fast", project / "full"
    run_ok(corpus, codebook, fast, "--workers", "1")
    rows = [{"segment_id": row["segment_id"], "document": row["document"], "passage": row["passage"], "code": row["code"],
             "decision": "reject" if row["code"] == "barriers" else "accept", "note": "", "text": row["text"]}
            for row in csv.DictReader(io.StringIO((fast / "segments.csv").read_text(encoding="utf-8-sig")))]
    rows.append({**rows[0], "segment_id": segment_id("gone.txt", "Gone.", "barriers"), "document": "gone.txt",
                 "code": "barriers", "text": "Gone."})
    if hand_coded:
        rows.append({"segment_id": segment_id("a.txt", "Nothing here.", "hand_only"), "document": "a.txt", "passage": "2",
                     "code": "hand_only", "decision": "add", "note": "by hand", "text": "Nothing here."})
    pd.DataFrame(rows).to_csv(project / "reviews.csv", index=False)
    for folder in (fast, full):
        run_ok(corpus, codebook, folder, "--workers", "1")
    codebook.write_text(CODEBOOK.replace("keywords: [joint meeting]", "keywords: [joint meeting, mayors]"), encoding="utf-8")
    taken: list[str] = []
    for module, name in ((coder.diff, "_known_alike"), (coder.runner, "_statuses_beside_unchanged")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *args, original=original, name=name: taken.append(name) or original(*args))

    output = run_ok(corpus, codebook, fast, "--workers", "1")
    run_ok(corpus, codebook, full, "--workers", "1", "--no-cache")

    assert "edited code(s) again in the" in output
    assert sorted(taken) == ([] if hand_coded else ["_known_alike", "_statuses_beside_unchanged"])
    assert output_files(fast) == output_files(full)
    statuses = [row["status"] for row in csv.DictReader(io.StringIO((fast / "segments.csv").read_text(encoding="utf-8-sig")))]
    assert {"accepted", "rejected"} <= set(statuses) and ("added" in statuses) is hand_coded


def test_review_loop_codebook_read_from_another_folder_warns_of_the_decisions_left_behind(project, tmp_path):
    """The review file is the one beside the codebook: a codebook copied elsewhere and run from there
    applies no decisions, and the run says which file the last run's came from."""
    coder_run(project)
    first = segments_of(project).iloc[0]
    (project / "reviews.csv").write_text(
        "segment_id,document,code,decision,note,text,reviewed_at\n"
        f"{first['segment_id']},{first['document']},{first['code']},reject,,,\n", encoding="utf-8")
    assert "Warning" not in coder_run(project).stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    moved = invoke("run", str(project / "corpus"), "--codebook", str(elsewhere / "codebook.yaml"),
                   "--out", str(project / "out"), "--workers", "1")
    assert moved.exit_code == 0, moved.output
    assert (f"Warning: no review file at {elsewhere / 'reviews.csv'} (beside the codebook), but the last run in "
            f"{project / 'out'} applied 1 decision(s) from {project / 'reviews.csv'}; this run applied none. "
            f"Pass --reviews {project / 'reviews.csv'} to apply them.") in moved.stderr
    assert segments_of(project)["review"].eq("").all()
    given = invoke("run", str(project / "corpus"), "--codebook", str(elsewhere / "codebook.yaml"), "--out",
                   str(project / "out"), "--workers", "1", "--reviews", str(project / "reviews.csv"))
    assert given.exit_code == 0 and "Warning" not in given.stderr
    assert segments_of(project)["review"].tolist().count("reject") == 1


def test_review_loop_errors_name_the_row_in_one_line_and_offer_only_a_backup_that_exists(project):
    coder_run(project)
    segments = project / "out" / "segments.csv"
    frame = segments_of(project)
    frame.loc[3, "review"] = "?"
    frame.to_csv(segments, index=False, encoding="utf-8-sig")
    typed = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert typed.exit_code == 1
    assert "1 typed row(s) cannot be read, so the file was not replaced (first, row 5: '?' is not" in typed.output
    # a row with more cells than the header (pandas' message ends in a line break)
    lines = segments.read_text(encoding="utf-8-sig").splitlines()
    segments.write_text("\n".join([*lines[:4], lines[4] + ",x,y,z", *lines[5:]]) + "\n", encoding="utf-8-sig")
    ragged = invoke("review", "import", str(segments), "--reviews", str(project / "reviews.csv"))
    assert ragged.exit_code == 1 and ragged.output.count("\n") == 1
    assert "Expected 16 fields in line 5, saw 19). Save it as CSV (UTF-8) and try again." in ragged.output
    # a file that is not a review file: its backup is offered only when there is one
    notes = project / "notes.csv"
    notes.write_text("my,notes\n1,2\n", encoding="utf-8")
    frame.to_csv(segments, index=False, encoding="utf-8-sig")
    wrong = invoke("review", "import", str(segments), "--reviews", str(notes))
    assert wrong.exit_code == 1 and "Restore" not in wrong.output and wrong.output.endswith("Pass another file with --reviews.\n")
    (project / "notes.csv.bak").write_text("segment_id,decision\n", encoding="utf-8")
    backed = invoke("review", "import", str(segments), "--reviews", str(notes))
    assert "Restore it from notes.csv.bak. Pass another file with --reviews." in backed.output


def test_review_loop_a_folder_named_for_a_file_is_one_error_line_without_a_temporary_name(project, monkeypatch):
    monkeypatch.chdir(project)
    (project / "kwic_lines").mkdir()
    result = invoke("kwic", "joint meeting", "--corpus", "corpus", "--codebook", "codebook.yaml", "--csv", "kwic_lines", "--force")
    assert result.exit_code == 1
    assert result.output == "Error: kwic_lines: is a folder, not a file. Choose a file name with --csv.\n"


def test_review_loop_a_note_typed_over_one_the_review_file_took_since_keeps_both(project):
    """A colleague's note imported into the review file was replaced, silently, by a note typed into
    segments.csv before the next run; a decision typed again as it was is not counted as new."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "first note"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    colleague = segments_of(project).iloc[[0]].copy()
    colleague["note"] = "colleague: borderline, see p.3"
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "colleague.csv"), "--reviews", str(project / "reviews.csv"),
                      "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    mine = segments_of(project)
    mine.loc[0, "note"] = "my own new note"
    mine.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = coder_run(project)
    assert "Imported 0 decision(s), 1 note(s) typed into" in result.stderr
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # The colleague's import kept the first note too (it had replaced it).
    both = "first note / colleague: borderline, see p.3 / my own new note"
    assert reviews[["decision", "note"]].values.tolist() == [["reject", both]]
    assert segments_of(project).loc[0, "note"] == both


def test_review_loop_an_interrupted_run_leaves_the_review_file_as_it_was(project, monkeypatch):
    """A run after a code's rename rewrote reviews.csv under the new id before it saved its outputs:
    interrupted, it said the folder was unchanged, and with the rename undone the decisions were detached."""
    import coder.runner

    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame.index[frame["code"] == "barriers"], "review"] = ["accept", "reject"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    reviews = (project / "reviews.csv").read_bytes()
    codebook = project / "codebook.yaml"
    codebook.write_text(CODEBOOK.replace("  barriers:", "  obstacles:"), encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(coder.runner, "write_network_outputs", interrupted)
        stopped = invoke("run", str(project / "corpus"), "--codebook", str(codebook), "--out", str(project / "out"),
                         "--workers", "1")
    assert stopped.exit_code == 130 and "Interrupted." in stopped.output
    assert (project / "reviews.csv").read_bytes() == reviews
    codebook.write_text(CODEBOOK, encoding="utf-8")  # the rename undone
    undone = coder_run(project)
    assert "detached" not in undone.output
    assert segments_of(project).loc[lambda rows: rows["code"] == "barriers", "status"].tolist() == ["accepted", "rejected"]
    codebook.write_text(CODEBOOK.replace("  barriers:", "  obstacles:"), encoding="utf-8")
    coder_run(project)  # saved: the review file follows the rename
    assert sorted(pd.read_csv(project / "reviews.csv", dtype=str, encoding="utf-8-sig")["code"]) == ["obstacles", "obstacles"]


def test_review_loop_workbook_decisions_go_to_the_review_file_of_its_run(project, tmp_path, monkeypatch):
    """Without --codebook, `export xlsx` sent a workbook's typed decisions to a reviews.csv beside
    whatever codebook.yaml the current folder held, not to the one the run used."""
    from openpyxl import load_workbook

    coder_run(project)
    book = project / "out" / "segments.xlsx"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    export = ["export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book), "--force"]
    assert invoke(*export).exit_code == 0
    workbook = load_workbook(book)
    sheet = workbook["segments"]
    sheet.cell(row=2, column=[cell.value for cell in sheet[1]].index("review") + 1, value="reject")
    workbook.save(book)
    result = invoke(*export)
    assert result.exit_code == 0, result.output
    assert f"into {project / 'reviews.csv'} first." in result.output
    assert not (elsewhere / "reviews.csv").exists()
    assert pd.read_csv(project / "reviews.csv", dtype=str, encoding="utf-8-sig")["decision"].tolist() == ["reject"]


def test_review_loop_rows_of_one_segment_that_disagree_are_named_with_what_to_do(project):
    """Two rows of one segment saying accept and reject were reported as a conflict with a review file
    that did not exist, one row named, with advice (`coder review import`) that refused them too."""
    coder_run(project)
    frame = segments_of(project)
    doubled = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    doubled.loc[0, "review"], doubled.loc[len(doubled) - 1, "review"] = "accept", "reject"
    doubled.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    row = frame.iloc[0]
    assert result.stderr == (
        f"Error: {project / 'out' / 'segments.csv'}: 1 segment(s) are given different decisions on rows of this file; none "
        f"of its decisions were imported:\n  rows 2, {len(doubled) + 1} ({row['document']}, passage {row['passage']}, "
        f"{row['code']}): accept / reject\nMake those rows agree (or clear the cells of all but one) in "
        f"{project / 'out' / 'segments.csv'}, then run the command again.\n")
    assert not (project / "reviews.csv").exists()


def test_reattach_after_a_split_moves_only_the_detached_decisions(project):
    """A code split in two (the old id keeps one half): reattach moves the decisions the new code took, not
    those still on the old code's segments, and never replaces a decision the new code has of its own."""
    split = CODEBOOK.replace("    keywords: [joint meeting]\n", "    keywords: [joint meeting]\n  held:\n    keywords: [held]\n")
    (project / "codebook.yaml").write_text(split, encoding="utf-8")
    coder_run(project)
    frame = segments_of(project)
    meetings = frame["code"].eq("joint_meeting")
    frame.loc[meetings, ["review", "note"]] = [["accept", "a: mayors"], ["reject", "b: another"]]
    frame.loc[frame["code"].eq("held"), ["review", "note"]] = ["accept", "held, typed on the new code"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    # The split: "Another joint meeting was held." now goes to `held` only.
    (project / "codebook.yaml").write_text(split.replace("keywords: [joint meeting]", "keywords: [mayors held a joint meeting]"),
                                           encoding="utf-8")
    coder_run(project)
    moved = invoke("review", "reattach", "joint_meeting", "held", "--codebook", str(project / "codebook.yaml"),
                   "--segments", str(project / "out" / "segments.csv"))
    assert moved.exit_code == 0, moved.output
    assert moved.stderr.splitlines() == [
        f"{project / 'reviews.csv'}: 0 decision(s) moved from joint_meeting to held.",
        "  1 decision(s) of joint_meeting stay: joint_meeting still codes their passages.",
        "  1 decision(s) of joint_meeting stay: held has a decision of its own on that passage, which is kept "
        "(`coder review status` lists them as detached).",
        "Run `coder run` to apply them.",
    ]
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False)
    assert sorted(zip(reviews["code"], reviews["decision"], reviews["note"])) == [
        ("held", "accept", "held, typed on the new code"), ("held", "accept", "held, typed on the new code"),
        ("joint_meeting", "accept", "a: mayors"), ("joint_meeting", "reject", "b: another")]


@pytest.mark.parametrize("halves", [("meeting_of_mayors", "meeting_held")])
def test_reattach_after_a_split_names_the_moved_decisions_the_new_code_does_not_code(project, halves):
    """A code split into two new ones (the old id removed): `reattach OLD FIRST` moved every decision,
    those of the second half's passages too, and said only "2 decision(s) moved"; the next run left
    one detached again (probe W8). It names those now, and how to move them on."""
    first, second = halves
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"].eq("joint_meeting"), "review"] = ["accept", "reject"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    split = CODEBOOK.replace("  joint_meeting:\n    label: Joint meetings\n    keywords: [joint meeting]\n",
                             f"  {first}:\n    keywords: [mayors held]\n  {second}:\n    keywords: [was held]\n")
    (project / "codebook.yaml").write_text(split, encoding="utf-8")
    coder_run(project)
    moved = invoke("review", "reattach", "joint_meeting", first, "--segments", str(project / "out" / "segments.csv"))
    assert moved.exit_code == 0, moved.output
    assert moved.stderr.splitlines() == [
        f"{project / 'reviews.csv'}: 2 decision(s) moved from joint_meeting to {first}.",
        f"  1 of them {first} does not code in the last run, so the next run leaves it detached:",
        "    b.txt, passage 0 (reject)",
        f"  If another code codes it now, `coder review reattach {first} OTHER_CODE` moves it on.",
        "Run `coder run` to apply them.",
    ]
    onward = invoke("review", "reattach", first, second, "--segments", str(project / "out" / "segments.csv"))
    assert onward.exit_code == 0, onward.output
    assert onward.stderr.splitlines()[0] == f"{project / 'reviews.csv'}: 1 decision(s) moved from {first} to {second}."
    coder_run(project)
    after = segments_of(project).set_index("code")
    assert [after.loc[first, "review"], after.loc[second, "review"]] == ["accept", "reject"]


def test_two_reviewers_notes_are_both_kept_by_the_run_and_by_review_import(project):
    coder_run(project)
    frame = segments_of(project)
    first, second = frame.index[:2]
    a, b = frame.copy(), frame.copy()
    a.loc[first, ["review", "note"]] = ["accept", "A: clear case"]
    a.loc[second, "note"] = "A: only a note"
    b.loc[first, ["review", "note"]] = ["accept", "B: agree, see p.3"]
    b.loc[second, "review"] = "reject"
    # Pasted together into segments.csv (header once): the run keeps every row's note.
    pd.concat([a, b]).to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    after = segments_of(project)
    assert after.loc[[first, second], ["review", "note"]].values.tolist() == [
        ["accept", "A: clear case; B: agree, see p.3"], ["reject", "A: only a note"]]
    # A colleague's file imported over notes the review file holds: both are kept.
    c = segments_of(project)
    c.loc[first, "note"] = "C: borderline"
    c.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "colleague.csv"), "--codebook", str(project / "codebook.yaml"))
    assert imported.exit_code == 0, imported.output
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False).set_index("segment_id")
    assert reviews.loc[frame.loc[first, "segment_id"], "note"] == "A: clear case; B: agree, see p.3 / C: borderline"


@pytest.mark.parametrize("slip", ["sorted without segment_id", "code typed over"])
def test_a_typed_row_whose_id_is_another_segments_stops_the_run(project, slip):
    """Columns sorted without segment_id (or a code typed over an automatic row's): the decision would go to the
    segment the id names, silently. The run stops, names the rows and keeps the file; nothing is imported."""
    coder_run(project)
    frame = segments_of(project)
    if slip == "sorted without segment_id":
        others = [column for column in frame.columns if column != "segment_id"]
        frame[others] = frame[others].sort_values("code", kind="stable").to_numpy()
        row = frame.index[frame["code"].eq("joint_meeting")][0]
    else:
        row = frame.index[frame["code"].eq("joint_meeting")][0]
        frame.loc[row, "code"] = "hand_only"
    frame.loc[row, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    saved = (project / "out" / "segments.csv").read_bytes()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    assert f"row {row + 2}: {frame.loc[row, 'segment_id']} is the segment of " in result.output
    assert "carry the segment_id of another segment" in result.output and "Traceback" not in result.output
    assert (project / "out" / "segments.csv").read_bytes() == saved
    assert not (project / "reviews.csv").exists()


def test_a_reviewers_own_columns_are_kept_in_a_copy_and_a_renamed_review_column_stops_the_run(project):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame["my_comment"] = ""
    frame.loc[1, "my_comment"] = "compare with the 2019 report"
    frame["Unnamed: 17"] = ""  # an empty column a spreadsheet adds is nothing to keep
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    saved = (project / "out" / "segments.csv").read_bytes()
    result = coder_run(project)
    kept = sorted((project / "out").glob("segments.kept-*.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == saved
    assert (f"out/segments.csv: column(s) my_comment are not coder's, and the new file will not have them: the file as "
            f"you saved it is kept as out/{kept[0].name}.") in result.stderr.replace(str(project) + "/", "")
    assert segments_of(project).loc[0, "review"] == "reject"
    # `review` renamed: nothing it holds is read, so the run stops before replacing the file.
    frame = segments_of(project).rename(columns={"review": "Decision"})
    frame.loc[2, "Decision"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    saved = (project / "out" / "segments.csv").read_bytes()
    stopped = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert stopped.exit_code == 1
    assert "has no `review` column, and decision hold typed cells" in stopped.output
    assert (project / "out" / "segments.csv").read_bytes() == saved


def test_notes_typed_without_a_review_column_are_imported(project):
    coder_run(project)
    frame = segments_of(project).drop(columns="review")
    frame.loc[0, "note"] = "a note, the review column deleted"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert segments_of(project).loc[0, "note"] == "a note, the review column deleted"


def test_a_workbook_with_a_sheet_added_before_the_segments_is_read_from_its_segments_sheet(project):
    from openpyxl import load_workbook

    coder_run(project)
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(project / "out" / "segments.xlsx")).exit_code == 0
    book = project / "out" / "segments.xlsx"
    workbook = load_workbook(book)
    sheet = workbook["segments"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("review") + 1, value="reject")
    sheet.cell(row=2, column=header.index("note") + 1, value="typed on the segments sheet")
    pivot = workbook.create_sheet("Pivot", 0)
    pivot.append(["code", "count"])
    pivot.append(["joint_meeting", 2])
    workbook.save(book)
    result = coder_run(project)
    assert "typed into" in result.stderr and "segments.xlsx" in result.stderr
    assert segments_of(project).loc[0, ["review", "note"]].tolist() == ["reject", "typed on the segments sheet"]


def test_a_reviewed_workbook_copied_in_with_an_older_time_is_read(project):
    import os

    from openpyxl import load_workbook

    coder_run(project)
    elsewhere = project / "from_colleague.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(elsewhere)).exit_code == 0
    workbook = load_workbook(elsewhere)
    sheet = workbook["segments"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("review") + 1, value="reject")
    workbook.save(elsewhere)
    coder_run(project)  # run.json is newer than the workbook now
    old = (project / "out" / "run.json").stat().st_mtime - 3600
    os.utime(elsewhere, (old, old))
    (project / "out" / "segments.xlsx").write_bytes(elsewhere.read_bytes())
    os.utime(project / "out" / "segments.xlsx", (old, old))  # as `cp -p` or unzipping keeps it
    result = coder_run(project)
    assert "segments.xlsx" in result.stderr
    assert segments_of(project).loc[0, "review"] == "reject"


@pytest.mark.parametrize("typed", ["rejected", "reject"])
def test_a_decision_typed_into_status_stops_the_run(project, typed):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[1, "status"] = typed
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    saved = (project / "out" / "segments.csv").read_bytes()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    assert f"row 3: status is '{typed}', the run wrote 'new'" in result.output
    assert (project / "out" / "segments.csv").read_bytes() == saved


def test_decisions_in_chinese_and_from_an_emoji_picker_are_read(project):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[[0, 1, 2], "review"] = ["接受", "✔\ufe0f", "拒绝"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert segments_of(project).loc[[0, 1, 2], "review"].tolist() == ["accept", "accept", "reject"]


def test_a_stale_copy_saved_over_segments_csv_does_not_undo_a_newer_decision(project):
    """A spreadsheet left open during a run, then saved: its cells are what an older run wrote, and
    the colleague's decision imported since would be reverted without a word."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    stale = segments_of(project)  # the reviewer's open window
    colleague = stale.iloc[[0]].assign(review="reject", note="colleague: off topic")
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "colleague.csv"), "--codebook", str(project / "codebook.yaml")).exit_code == 0
    coder_run(project)
    assert segments_of(project).loc[0, "review"] == "reject"
    stale.loc[3, "note"] = "typed in the stale window"
    stale.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    assert "row 2: status is 'accepted', the run wrote 'rejected'" in result.output
    assert "saved from an older run's segments.csv" in result.output
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False)
    assert reviews["decision"].tolist() == ["reject"]


@pytest.mark.parametrize("typed", [("reject", "typed in the stale window")])
def test_a_stale_copy_imported_as_the_error_advises_lets_the_run_go_on(project, typed):
    """Following the stale-file error's advice (`coder review import FILE`, then run again) stopped
    the next run with the same error (probe W19): once the review file holds every cell of the file,
    replacing it undoes nothing, and the run goes on."""
    coder_run(project)
    stale = segments_of(project)  # the reviewer's open window; the next run writes "unchanged" statuses
    coder_run(project)
    stale.loc[0, ["review", "note"]] = typed
    stale.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    refused = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                     "--out", str(project / "out"))
    assert refused.exit_code == 1
    advice = (f"`coder review import {project / 'out' / 'segments.csv'} --reviews {project / 'reviews.csv'}`, "
              "then run again")
    assert advice in " ".join(refused.output.split())
    command = advice.split("`")[1].split()[1:]
    assert invoke(*command).exit_code == 0
    coder_run(project)
    assert segments_of(project).loc[0, ["review", "note", "status"]].tolist() == [*typed, "rejected"]


def test_a_decision_typed_after_the_codebook_moved_does_not_start_a_second_review_file(project):
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "round 1"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    (project / "v2").mkdir()
    (project / "v2" / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    frame = segments_of(project)
    frame.loc[1, "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "v2" / "codebook.yaml"),
                    "--out", str(project / "out"))
    assert result.exit_code == 1
    assert "importing them would start a new review file" in result.output and "Pass --reviews" in result.output
    assert not (project / "v2" / "reviews.csv").exists()
    assert segments_of(project).loc[1, "review"] == "accept"  # still there, for the run with --reviews
    rerun = invoke("run", str(project / "corpus"), "--codebook", str(project / "v2" / "codebook.yaml"),
                   "--out", str(project / "out"), "--reviews", str(project / "reviews.csv"))
    assert rerun.exit_code == 0, rerun.output
    assert segments_of(project).loc[[0, 1], "review"].tolist() == ["reject", "accept"]


def test_an_add_row_typed_with_passage_only_does_not_stop_other_commands(project):
    """README step 4 invites a new row with document, passage and code; until the next run, review status,
    export and sample refused segments.csv ("column 'start' must hold a whole number, not ''")."""
    coder_run(project)
    with (project / "out" / "segments.csv").open("a", encoding="utf-8", newline="") as handle:
        handle.write("\r\n".join([",a.txt,2,,,,hand_only,,,,,,,add,typed by hand,"]) + "\r\n")
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert status.exit_code == 0, status.output
    exported = invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"),
                      "--out", str(project / "out" / "segments.xlsx"))
    assert exported.exit_code == 0, exported.output
    coder_run(project)
    after = segments_of(project)
    assert after.loc[after["code"].eq("hand_only"), ["document", "passage", "source"]].values.tolist() == [["a.txt", "2", "manual"]]


@pytest.mark.parametrize("kept", ["reject", "accept"])
def test_a_conflict_between_segments_csv_and_the_workbook_imports_neither(project, kept):
    """segments.csv's reject was imported, then the workbook's accept of the same segment conflicted with it:
    the run stopped blaming reviews.csv, which held half of the import; then it blamed reviews.csv, which did
    not exist, and its advice kept the other file's decision (probe W6). It names both files now, and
    clearing the cell of the decision not wanted keeps the other."""
    from openpyxl import load_workbook

    coder_run(project)
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"),
                  "--out", str(project / "out" / "segments.xlsx")).exit_code == 0
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "typed in csv"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    book = project / "out" / "segments.xlsx"
    workbook = load_workbook(book)
    sheet = workbook["segments"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=header.index("review") + 1, value="accept")
    workbook.save(book)
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    segments = project / "out" / "segments.csv"
    assert result.output == (
        f"Error: {book}: 1 typed decision(s) conflict with {segments}; none of its decisions were imported:\n"
        f"  row 2 (a.txt, passage 0, joint_meeting): segments.xlsx says accept, segments.csv says reject\n"
        f"Keep one decision of each: clear the cell of the one you do not want, in {book} or in {segments}. "
        f"Then run the command again. (The decisions typed into {segments} are not imported either: no review "
        f"file was written.)\n"
    )
    assert not (project / "reviews.csv").exists()
    assert segments_of(project).loc[0, "review"] == "reject"  # still typed there
    if kept == "reject":
        sheet.cell(row=2, column=header.index("review") + 1).value = None
        workbook.save(book)
    else:
        frame.loc[0, "review"] = ""
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert segments_of(project).loc[0, "review"] == kept


def test_reviews_naming_a_folder_is_refused_even_with_nothing_typed(project):
    """--reviews FOLDER was passed over when nothing was typed: the run applied no decision, rc 0."""
    (project / "decisions").mkdir()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out",
                    str(project / "out"), "--reviews", str(project / "decisions"))
    assert result.exit_code == 1 and "is not a file (a folder, a device or a pipe)" in result.output


@pytest.mark.parametrize("how", ["workbook", "note typed in segments.csv", "review import"])
def test_a_hand_coded_span_stays_a_span_when_its_row_comes_back(project, how):
    """A span coded by hand (start and end inside a passage) comes back in segments.csv and the workbook
    with its passage and its own text: each import made it a second hand coding of the whole passage, and
    a note typed on the span's row went to that new segment (probe K1)."""
    coder_run(project)
    start = CORPUS["a.txt"].index("local protection")
    pd.DataFrame([{"document": "a.txt", "code": "hand_only", "review": "add", "note": "span",
                   "start": str(start), "end": str(start + len("local protection"))}]).to_csv(
        project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--reviews", str(project / "reviews.csv"), "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    if how == "workbook":
        assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    elif how == "note typed in segments.csv":
        frame = segments_of(project)
        frame.loc[frame["source"] == "manual", "note"] = "typed later"
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    else:
        assert invoke("review", "import", str(project / "out" / "segments.csv"), "--codebook",
                      str(project / "codebook.yaml"), "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert reviews[["document", "start", "end", "code", "decision"]].values.tolist() == [
        ["a.txt", str(start), str(start + len("local protection")), "hand_only", "add"]]
    assert reviews["note"].tolist() == ["typed later" if how == "note typed in segments.csv" else "span"]
    manual = segments_of(project).query("source == 'manual'")
    assert manual[["passage", "text"]].values.tolist() == [["1", "local protection"]]


def test_a_hand_coded_span_starting_in_the_blank_lines_before_a_passage_codes_that_passage(project):
    """A span from the blank line before a passage was taken, then detached as if its text had gone (probe K3)."""
    coder_run(project)
    start = CORPUS["a.txt"].index("\n\nAdministrative")
    pd.DataFrame([{"document": "a.txt", "code": "hand_only", "review": "add", "start": str(start),
                   "end": str(start + 30)}]).to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--reviews", str(project / "reviews.csv"), "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    manual = segments_of(project).query("source == 'manual'")
    assert manual[["passage", "start", "text"]].values.tolist() == [["1", str(start + 2), "Administrative barriers rema"]]


@pytest.mark.parametrize("moved_to, follows", [("theses/a.txt", True), ("renamed.txt", True), (None, False)])
def test_a_hand_coded_span_follows_its_document_into_a_subfolder(project, moved_to, follows):
    """A span coded by hand stayed with the document's old name when the file was moved into a subfolder
    (passage adds and decisions followed), detached as if its text were gone (probe W3)."""
    coder_run(project)
    start = CORPUS["a.txt"].index("local protection")
    span = {"document": "a.txt", "code": "hand_only", "review": "add", "note": "span",
            "start": str(start), "end": str(start + len("local protection"))}
    pd.DataFrame([span]).to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    if moved_to is None:  # its text twice in the corpus: never guessed
        (project / "corpus" / "c.txt").write_text("Local protection.\n\nAnd local protection again.\n", encoding="utf-8")
        moved_to = "renamed.txt"
    (project / "corpus" / moved_to).parent.mkdir(exist_ok=True)
    (project / "corpus" / "a.txt").rename(project / "corpus" / moved_to)
    for _ in range(2):  # and again, from the review file it rewrote
        coder_run(project)
        manual = segments_of(project).query("source == 'manual'")
        expected = [[moved_to, "1", str(start), "local protection", "add"]] if follows else []
        assert manual[["document", "passage", "start", "text", "review"]].values.tolist() == expected
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    if follows:
        assert "No detached decisions" in status.stdout
    else:
        assert ("a.txt, passage 1, hand_only: add \"span\"; the document is not in the corpus (renamed or removed, "
                "and its text is not found once elsewhere)") in status.stdout


def test_a_hand_coded_span_of_a_deleted_document_does_not_land_in_another_one(project):
    """A span of a document deleted (not renamed) moved into another document that held its text once, and was
    counted there without a word (probe BB12). A document of the run before is not the gone one renamed: the
    span is detached, with its reason."""
    (project / "corpus" / "c.txt").write_text("A report: local protection persisted.\n", encoding="utf-8")
    coder_run(project)
    start = CORPUS["a.txt"].index("local protection")
    pd.DataFrame([{"document": "a.txt", "code": "hand_only", "review": "add", "note": "span", "start": str(start),
                   "end": str(start + len("local protection"))}]).to_csv(project / "added.csv", index=False,
                                                                         encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--run", str(project / "out")).exit_code == 0
    coder_run(project)
    (project / "corpus" / "a.txt").unlink()
    result = coder_run(project)
    assert segments_of(project).query("source == 'manual'").empty
    assert "detached" in result.stderr


def test_suggest_takes_a_code_with_a_hand_coded_span(project):
    """A span coded by hand holds its own text, not its passage's: suggest took that for a changed corpus
    and refused the code and its parents (probe K2)."""
    coder_run(project)
    start = CORPUS["a.txt"].index("local protection")
    pd.DataFrame([{"document": "a.txt", "code": "local_protection", "review": "add", "start": str(start),
                   "end": str(start + len("local protection"))}]).to_csv(project / "added.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--reviews", str(project / "reviews.csv"), "--run", str(project / "out")).exit_code == 0
    coder_run(project, "--csv", "never")
    for code in ("local_protection", "barriers"):
        result = invoke("suggest", code, "--run", str(project / "out"), "--out", str(project / f"{code}.csv"), "--min-count", "1")
        assert result.exit_code == 0, result.output


# --- files saved in a code page without Chinese (Excel's "CSV (Comma delimited)", Excel for Mac's CSV) ---

MIXED_CORPUS = {
    "甲.txt": "市长召开联席会议。\n\n行政壁垒依然存在。\n",
    "b.txt": "The “joint meeting” at the café was held.\n\nThe barrier is high.\n",
}
MIXED_CODEBOOK = CODEBOOK.replace("[joint meeting]", "[joint meeting, 联席会议]").replace("[barrier*]", "[barrier*, 壁垒]")


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A project whose corpus holds a Chinese document (named in Chinese) and an English one with accents."""
    return write_project(tmp_path, MIXED_CODEBOOK, MIXED_CORPUS)


def save_in_code_page(frame: pd.DataFrame, path: Path, encoding: str, *, separator: str = ",", line_end: str = "\r\n") -> None:
    """Save as Excel does in a code page: each character it cannot encode written as "?"."""
    text = frame.to_csv(index=False, sep=separator, lineterminator=line_end)
    path.write_bytes(text.encode(encoding, errors="replace"))


def reviews_of(project: Path) -> dict[str, tuple[str, str]]:
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return {identifier: (decision, note) for identifier, decision, note in zip(reviews["segment_id"], reviews["decision"], reviews["note"])}


def chinese_row(frame: pd.DataFrame) -> int:
    return int(frame.index[frame["document"] == "甲.txt"][0])


def note_filed_on_the_chinese_row(project: Path, note: str) -> tuple[pd.DataFrame, int]:
    """A first round: a reject and `note` typed on the Chinese document's first row of segments.csv, saved as
    UTF-8, and the run that files them; the segments that run wrote, and the row's index."""
    coder_run(project)
    frame = segments_of(project)
    first = chinese_row(frame)
    frame.loc[first, ["review", "note"]] = ["reject", note]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    return segments_of(project), first


WINDOWS_1252 = "as Windows-1252 (Excel's \"CSV (Comma delimited)\")"
PLAIN_ASCII = "as plain ASCII (Excel's \"CSV (Comma delimited)\", say)"  # no letter beyond ASCII was left


@pytest.mark.parametrize(("english", "latin_note", "saved"), [
    (MIXED_CORPUS["b.txt"], "café: check", WINDOWS_1252),
    ("The joint meeting was held.\n", "", PLAIN_ASCII),
    ("The joint meeting was held.\n", "check the date", PLAIN_ASCII),
])
@pytest.mark.parametrize("separator", [",", ";"])
def test_a_windows_1252_save_keeps_the_chinese_notes_it_turned_into_question_marks(mixed, english, latin_note, saved,
                                                                                    separator):
    """Excel's "CSV (Comma delimited)" writes each Chinese character as "?": a note read so would replace
    the reviewer's note. It is kept as it was; a decision and a Latin note typed in the same save are imported."""
    (mixed / "corpus" / "b.txt").write_text(english, encoding="utf-8")
    frame, first = note_filed_on_the_chinese_row(mixed, "与主题无关")
    accepted, noted = [index for index in frame.index if index != first][:2]
    frame.loc[accepted, "review"] = "accept"
    frame.loc[noted, "note"] = latin_note
    save_in_code_page(frame, mixed / "out" / "segments.csv", "cp1252", separator=separator)
    result = coder_run(mixed)
    reviews = reviews_of(mixed)
    assert reviews[frame.loc[first, "segment_id"]] == ("reject", "与主题无关")
    assert reviews[frame.loc[accepted, "segment_id"]][0] == "accept"
    assert reviews.get(frame.loc[noted, "segment_id"], ("", ""))[1] == latin_note
    chinese_rows = int((frame["document"] == "甲.txt").sum())
    assert (f"Warning: {mixed / 'out' / 'segments.csv'} was saved {saved}, which cannot hold Chinese and most other "
            f"characters: {chinese_rows} row(s) show \"?\" in their place. 1 note(s) were kept as they were before, not "
            f"imported with \"?\". Save it as \"CSV UTF-8\" next time: Chinese typed into it is lost in any other CSV."
            ) in result.stderr.splitlines()
    assert segments_of(mixed).loc[first, "note"] == "与主题无关"


@pytest.mark.parametrize(("how", "saved", "kept"), [
    ("run", "????? (see p. 4)", "与主题无关 (see p. 4)"),  # typed beside the lost characters: both
    ("run", "??? (see p. 4)", "与主题无关 / ??? (see p. 4)"),  # changed where characters were lost: which, nothing tells
    ("run", "off topic", "off topic"),  # typed over: the new note
    ("review import", "????? (see p. 4)", "与主题无关 (see p. 4)"),
    ("review import", "??? (see p. 4)", "与主题无关 / ??? (see p. 4)"),
    ("review import", "off topic", "与主题无关 / off topic"),  # an imported note is added to the one filed, as always
])
def test_a_note_edited_in_a_windows_1252_save_keeps_what_was_lost_and_what_was_typed(mixed, how, saved, kept):
    frame, first = note_filed_on_the_chinese_row(mixed, "与主题无关")
    save_in_code_page(frame.assign(note=frame["note"].where(frame.index != first, saved)),
                      mixed / "edited.csv", "cp1252")
    if how == "run":
        (mixed / "out" / "segments.csv").write_bytes((mixed / "edited.csv").read_bytes())
        coder_run(mixed)
    else:
        result = invoke("review", "import", str(mixed / "edited.csv"), "--codebook", str(mixed / "codebook.yaml"),
                        "--run", str(mixed / "out"))
        assert result.exit_code == 0, result.output
        assert "Warning: " in result.output
    assert reviews_of(mixed)[frame.loc[first, "segment_id"]] == ("reject", kept)


def test_a_review_file_saved_as_windows_1252_stops_the_run_before_it_loses_a_note(mixed):
    """reviews.csv opened in Excel (a row deleted, to withdraw a decision) and saved as "CSV": its Chinese
    notes are "?". The run stops naming the file and line, and changes neither the file nor its backup."""
    coder_run(mixed)
    frame = segments_of(mixed)
    frame.loc[frame.index[:3], ["review", "note"]] = [["reject", "备注1"], ["accept", "备注2"], ["accept", "ok"]]
    frame.to_csv(mixed / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(mixed)
    reviews = pd.read_csv(mixed / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    save_in_code_page(reviews.drop(index=2), mixed / "reviews.csv", "cp1252", separator=";")
    saved = (mixed / "reviews.csv").read_bytes()
    backup = (mixed / "reviews.csv.bak").read_bytes() if (mixed / "reviews.csv.bak").exists() else None
    result = invoke("run", str(mixed / "corpus"), "--codebook", str(mixed / "codebook.yaml"), "--out", str(mixed / "out"))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {mixed / 'reviews.csv'}:2: saved {WINDOWS_1252}, which cannot hold "
                                    f"Chinese and most other characters: ")
    assert "save it again as \"CSV UTF-8\"" in result.output
    assert (mixed / "reviews.csv").read_bytes() == saved
    assert ((mixed / "reviews.csv.bak").read_bytes() if (mixed / "reviews.csv.bak").exists() else None) == backup
    assert segments_of(mixed).loc[frame.index[:2], "note"].tolist() == ["备注1", "备注2"]


@pytest.mark.parametrize("line_end", ["\r", "\r\n"])
def test_an_excel_for_mac_csv_is_read_as_mac_roman(mixed, line_end):
    """Excel for Mac's "Comma Separated Values" is Mac Roman: read as Windows-1252, a typed note became
    "cafŽ Ð rŽsumŽ ÒquotedÓ na•ve". The reading under which coder's own cells read back is taken."""
    coder_run(mixed)
    frame = segments_of(mixed)
    row = int(frame.index[frame["document"] == "b.txt"][0])
    frame.loc[row, ["review", "note"]] = ["reject", "café – résumé “quoted” naïve"]
    save_in_code_page(frame, mixed / "out" / "segments.csv", "mac_roman", line_end=line_end)
    coder_run(mixed)
    assert reviews_of(mixed)[frame.loc[row, "segment_id"]] == ("reject", "café – résumé “quoted” naïve")


@pytest.mark.parametrize("how", ["run", "review import"])
def test_a_decision_typed_in_a_windows_1252_save_is_filed_with_coders_document_and_text(mixed, how):
    """A decision typed on a row of 甲.txt in a "CSV (Comma delimited)" save: the review file took "?.txt" and
    "?????????" from the row, and the decision could not follow its passage when its id changed."""
    coder_run(mixed)
    frame = segments_of(mixed)
    rows = frame.index[frame["document"] == "甲.txt"]
    frame.loc[rows, "review"] = "accept"
    save_in_code_page(frame, mixed / "edited.csv", "cp1252")
    if how == "run":
        (mixed / "out" / "segments.csv").write_bytes((mixed / "edited.csv").read_bytes())
        coder_run(mixed)
    else:
        result = invoke("review", "import", str(mixed / "edited.csv"), "--codebook", str(mixed / "codebook.yaml"),
                        "--run", str(mixed / "out"))
        assert result.exit_code == 0, result.output
    reviews = pd.read_csv(mixed / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert reviews[["document", "text", "decision"]].values.tolist() == frame.loc[rows, ["document", "text", "review"]].values.tolist()


@pytest.mark.parametrize("how", ["run", "review import"])
def test_a_chinese_note_typed_into_a_windows_1252_save_is_named_by_its_line(mixed, how):
    """A note typed in Chinese and saved as "CSV (Comma delimited)" is "????" in the file: nothing can bring it
    back, but the warning names its line so that it can be typed again."""
    coder_run(mixed)
    frame = segments_of(mixed)
    row = chinese_row(frame)
    frame.loc[row, "note"] = "新的备注"
    save_in_code_page(frame, mixed / "edited.csv", "cp1252")
    if how == "run":
        (mixed / "out" / "segments.csv").write_bytes((mixed / "edited.csv").read_bytes())
        output = coder_run(mixed).stderr
    else:
        result = invoke("review", "import", str(mixed / "edited.csv"), "--codebook", str(mixed / "codebook.yaml"),
                        "--run", str(mixed / "out"))
        assert result.exit_code == 0, result.output
        output = result.output
    warning = next(line for line in output.splitlines() if line.startswith("Warning: "))
    assert f' The note(s) typed on line(s) {row + 2} show "??": retype what was lost there.' in warning


@pytest.mark.parametrize(("encoding", "note", "kept", "warned"), [
    ("gbk", "是否相关?", "是否相关?", False),  # GBK holds every Chinese character: the "?" is a question mark
    ("cp950", "是否相关?", "是否相??", True),  # Big5 lost 关
])
def test_a_question_mark_typed_beside_chinese_is_lost_only_where_the_code_page_loses_chinese(
        mixed, encoding, note, kept, warned):
    """A note typed "是否相关?" into a GBK save was kept as typed, but the run warned that line showed "?" for
    lost characters: retype them (probe AZ2)."""
    coder_run(mixed)
    frame = segments_of(mixed)
    row = chinese_row(frame)
    frame.loc[row, ["review", "note"]] = ["reject", note]
    save_in_code_page(frame, mixed / "out" / "segments.csv", encoding)
    output = coder_run(mixed).stderr
    assert reviews_of(mixed)[frame.loc[row, "segment_id"]] == ("reject", kept)
    assert (f"The note(s) typed on line(s) {row + 2}" in output) == warned, output


def _use_engine(monkeypatch, engine: str) -> None:
    """`coder run` codes with the whole-table engine, or ("streamed") partition by partition, small ones."""
    if engine == "streamed":
        from coder import runner, streamed

        monkeypatch.setattr(runner, "STREAMED_MIN_BYTES", -1)
        monkeypatch.setattr(streamed, "LOCAL_PARTITION_BYTES", 100)


def _import_decisions(project: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """`coder review import` of (passage, code, review, note) rows on c.txt, into the run's review file."""
    pd.DataFrame([{"document": "c.txt", "passage": passage, "code": code, "review": review, "note": note}
                  for passage, code, review, note in rows]).to_csv(project / "decided.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "decided.csv"), "--codebook", str(project / "codebook.yaml"),
                  "--run", str(project / "out")).exit_code == 0


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_decisions_follow_a_passage_corrected_where_the_matcher_reads_no_change(project, monkeypatch, engine):
    """Two characters of a traditional-Chinese passage normalised (並 -> 并, 設 -> 设, as the matcher itself
    reads them): every decision and hand coding on the passage was detached (probe W5)."""
    _use_engine(monkeypatch, engine)
    (project / "codebook.yaml").write_text(CODEBOOK.replace("[joint meeting]", "[joint meeting, 联席会议]"), encoding="utf-8")
    text = "兩省設有聯席會議制度，並定期舉行會議。\n\n這是另一段。\n"
    (project / "corpus" / "c.txt").write_text(text, encoding="utf-8")
    coder_run(project)
    _import_decisions(project, [("0", "joint_meeting", "reject", "not a meeting"), ("1", "hand_only", "add", "by hand")])
    coder_run(project)
    (project / "corpus" / "c.txt").write_text(text.replace("並", "并").replace("設", "设").replace("這", "这"), encoding="utf-8")
    for _ in range(2):  # and again, from the review file it rewrote
        result = coder_run(project)
        assert "detached" not in result.stderr
        rows = segments_of(project).query("document == 'c.txt'")
        assert rows[["passage", "code", "review", "note"]].values.tolist() == [
            ["0", "joint_meeting", "reject", "not a meeting"], ["1", "hand_only", "add", "by hand"]]


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_a_passage_corrected_to_read_as_another_keeps_its_decision_and_the_other_its_own(project, monkeypatch, engine):
    """並 -> 并 corrected in a passage that then reads exactly as a later passage of its document: the later
    passage's accept went to the corrected one, and the corrected one's reject was detached (probe BB2)."""
    _use_engine(monkeypatch, engine)
    (project / "codebook.yaml").write_text(CODEBOOK.replace("[joint meeting]", "[joint meeting, 开展合作]"), encoding="utf-8")
    text = "两地並开展合作。\n\n这是另一段。\n\n两地并开展合作。\n"
    (project / "corpus" / "c.txt").write_text(text, encoding="utf-8")
    coder_run(project)
    _import_decisions(project, [("0", "joint_meeting", "reject", "p0"), ("2", "joint_meeting", "accept", "p2")])
    coder_run(project)
    (project / "corpus" / "c.txt").write_text(text.replace("並", "并"), encoding="utf-8")
    for _ in range(2):  # and again, from the review file it rewrote
        result = coder_run(project)
        assert "detached" not in result.stderr
        rows = segments_of(project).query("document == 'c.txt'")
        assert rows[["passage", "code", "review", "note"]].values.tolist() == [
            ["0", "joint_meeting", "reject", "p0"], ["2", "joint_meeting", "accept", "p2"]]
    recoded = segments_of(project).drop(columns="status")
    assert invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out",
                  str(project / "fresh"), "--no-cache").exit_code == 0
    fresh = pd.read_csv(project / "fresh" / "segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(recoded, fresh.drop(columns="status"))


def _typed(frame: pd.DataFrame, edit: str) -> pd.DataFrame:
    """segments.csv as a reviewer left it: `edit` says how."""
    frame = frame.copy()
    barrier = frame.index[frame["code"] == "barriers"]
    frame.loc[barrier, "review"] = ["reject", "accept"]
    frame.loc[barrier[0], "note"] = {"crlf note": "line one\r\nline two", "formula note": "'=not a formula"}.get(edit, "off topic")
    if edit == "sorted":
        frame = frame.sort_values("code", kind="stable")
    elif edit == "row added":
        frame = pd.concat([frame, frame.loc[[barrier[0]]].assign(code="hand_only", segment_id="", review="add")])
    elif edit == "row deleted":
        frame = frame.drop(index=frame.index[-1])
    elif edit == "status typed over":
        frame.loc[barrier[1], "status"] = "reject"
    return frame


@pytest.mark.parametrize("edit, how", [
    ("nothing", "untouched"), ("nothing", "utf-8-sig,"), ("decisions", "utf-8-sig,"), ("crlf note", "utf-8-sig,"),
    ("formula note", "utf-8-sig,"), ("sorted", "utf-8-sig,"), ("row added", "utf-8-sig,"), ("row deleted", "utf-8-sig,"),
    ("status typed over", "utf-8-sig,"), ("decisions", "cp1252;"), ("decisions", "utf-16\t"), ("decisions", "reordered"),
])
def test_review_loop_run_with_parquet_reads_segments_csv_as_typed(project, edit, how):
    """A run with its Parquet tables takes from segments.csv only its typed cells (probe HH2: the whole file cost
    later commands 3-4 times the memory); what a command sees is still exactly what the file holds."""
    from coder.runs import RunFolder
    from coder.segments import read_segments_csv

    coder_run(project)
    path = project / "out" / "segments.csv"
    if how != "untouched":
        save_as_spreadsheet(_typed(segments_of(project), edit), path, how)
    frame = RunFolder(project / "out").read_segments()
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), read_segments_csv(path).reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.parametrize("parquet", [True, False])
def test_review_loop_network_counts_a_rejection_typed_into_segments_csv(project, parquet):
    """A rejection typed into segments.csv and not yet imported leaves the counts of `coder network`, with the run's
    Parquet tables beside it or segments.csv alone (a run folder of an older version, a copied file)."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"] == "joint_meeting", "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    if not parquet:
        for name in ("segments.parquet", "passages.parquet"):
            (project / "out" / name).unlink()
    result = invoke("network", str(project / "out" / "segments.csv"), "--reviews", str(project / "reviews.csv"))
    assert result.exit_code == 0, result.output
    counts = pd.read_csv(project / "out" / "code_counts.csv", dtype=str, keep_default_na=False)
    assert counts.loc[counts["code"] == "joint_meeting", "total"].tolist() == ["0"]
    status = invoke("review", "status", "--reviews", str(project / "reviews.csv"), "--codebook",
                    str(project / "codebook.yaml"), "--segments", str(project / "out" / "segments.csv"))
    assert status.exit_code == 0, status.output
    assert "joint_meeting" in status.stdout


@pytest.mark.parametrize("edit", ["nothing", "decisions", "own column", "status typed over"])
def test_review_loop_copied_run_folder_imports_what_was_typed(project, edit):
    """A run folder copied (or synced) holds a segments.csv the run did not leave: `network` tells from its typed
    cells whether anything was typed (reading the whole 103 MB file for nothing cost 770 MB, probe HH2); what was
    typed is imported, a column of the reviewer's kept, a status typed over refused, as before."""
    import shutil

    coder_run(project)
    frame = segments_of(project)
    if edit == "decisions":
        frame.loc[frame["code"] == "joint_meeting", "review"] = "reject"
    elif edit == "own column":
        frame = frame.assign(mine="checked")
    if edit != "nothing":
        frame = _typed(frame, "status typed over") if edit == "status typed over" else frame
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    shutil.copytree(project / "out", project / "copy")
    result = invoke("network", str(project / "copy" / "segments.csv"), "--reviews", str(project / "reviews.csv"))
    if edit == "status typed over":
        assert result.exit_code == 1 and "status" in result.output
        return
    assert result.exit_code == 0, result.output
    assert ("Imported 2 decision(s)" in result.output) == (edit == "decisions")
    assert (project / "reviews.csv").is_file() == (edit == "decisions")
    assert bool(list((project / "copy").glob("segments.kept-*.csv"))) == (edit == "own column")


def test_a_note_too_long_for_a_workbook_cell_survives_runs_that_read_the_workbook(project):
    """export xlsx cuts a note over Excel's 32,767 UTF-16 units; the next run read the workbook's cut
    note as typed and kept "whole / cut", then the cut note alone (probe KK8)."""
    from coder.reviews import read_reviews

    coder_run(project)
    long_note = "长注释😀" * 9000
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", long_note]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    for _ in range(2):
        book = project / "out" / "segments.xlsx"
        assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--force").exit_code == 0
        assert book.is_file()
        coder_run(project)
        assert read_reviews(project / "reviews.csv")["note"].tolist() == [long_note]


@pytest.mark.parametrize("where", ["inside the run folder", "the project moved"])
def test_commands_find_the_files_a_run_named_relative_to_where_it_started(tmp_path, monkeypatch, where):
    """run.json names the codebook, review file and documents.csv as `coder run` was given them, relative to
    the folder it started in; from inside the run folder a review command looked for reviews.csv there,
    imported typed decisions into a stray new file, and `network .` dropped the counts by group (probe KK6)."""
    (tmp_path / "project").mkdir()
    project = write_project(tmp_path / "project", CODEBOOK, CORPUS)
    (project / "documents.csv").write_text("document,region\na.txt,east\nb.txt,west\n", encoding="utf-8")
    monkeypatch.chdir(project)
    result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--documents", "documents.csv",
                    "--workers", "1")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv("outputs/segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[0, "review"] = "reject"
    frame.to_csv("outputs/segments.csv", index=False, encoding="utf-8-sig")
    if where == "the project moved":
        project = project.rename(tmp_path / "moved")
        monkeypatch.chdir(tmp_path)
        run = project / "outputs"
    else:
        monkeypatch.chdir(project / "outputs")
        run = Path(".")
    result = invoke("review", "import", str(run / "segments.csv"))
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(project / "reviews.csv", encoding="utf-8-sig")) == 1
    assert not (project / "outputs" / "reviews.csv").exists() and not (tmp_path / "reviews.csv").exists()
    status = invoke("review", "status", "--segments", str(run / "segments.csv"))
    assert status.exit_code == 0 and "1 reject" in status.output, status.output
    assert invoke("network", str(run)).exit_code == 0
    assert (project / "outputs" / "code_counts_by_group.csv").is_file()


@pytest.mark.parametrize("notes", [["_x005F_", "tab\there\nnewline _x0009_", "see _x000D_ and _x0000_"]])
def test_a_workbook_exported_before_escapes_changes_no_note_when_the_run_reads_it(project, monkeypatch, notes):
    """Export, upgrade coder, run again: the run read the untouched workbook's "_x005F_" as "_" and a tail
    "_x0009_" as a tab it then stripped, and replaced the notes in the review file (probe LL2)."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[: len(notes) - 1, ["review", "note"]] = [["accept", note] for note in notes]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    reviews = (project / "reviews.csv").read_bytes()
    with monkeypatch.context() as patched:
        written_as_before_escapes(patched)
        assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    result = coder_run(project)
    assert "typed into" not in result.stderr
    assert (project / "reviews.csv").read_bytes() == reviews
    assert segments_of(project)["note"].tolist()[: len(notes)] == notes


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_decisions_follow_their_passages_when_a_new_coder_reads_a_line_end_with_a_space_more(project, monkeypatch, engine):
    """An upgrade whose passage text keeps a space at a line end where the old one read one word ("accept\\nor" was
    "acceptor"): the text, and so the segment id, of the passage changed, not the document, its offsets or what
    matched. 17 of 99 decisions and both hand codings were detached (probe LL1)."""
    from coder import cache, passages
    from coder.lexicon import is_english_word

    _use_engine(monkeypatch, engine)
    text = ("The joint meeting may accept\nor reject barriers.\n\n"
            "Barriers hold power over\nall members.\n\n"
            "Local protection stays as it was.\n\n"
            "Notices in\nform of a joint meeting.\n\n"
            "The joint meeting, and so\non.\n\n"
            "Between the copies.\n\n"
            "The joint meeting, and so\non.\n")
    (project / "corpus" / "c.txt").write_text(text, encoding="utf-8")
    # another document reads as c.txt's first passage did: that passage is still in c.txt, not there
    (project / "corpus" / "d.txt").write_text("The joint meeting may acceptor reject barriers.\n", encoding="utf-8")
    decided = [["0", "barriers", "reject", "not a barrier"], ["0", "joint_meeting", "accept", "p0"],
               ["1", "barriers", "accept", "p1"], ["2", "local_protection", "accept", "kept"],
               ["3", "hand_only", "add", "by hand"], ["6", "joint_meeting", "reject", "second copy"]]
    # the coder before: a hyphenless line end joins whenever the letters spell a word, and its own cache
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: is_english_word(first + second))
    monkeypatch.setattr(cache, "_source_digest", lambda: "the coder before")
    coder_run(project)
    _import_decisions(project, [tuple(row) for row in decided])
    coder_run(project)
    before = segments_of(project).query("document == 'c.txt'")[["passage", "code", "review", "note", "text"]]
    assert sorted(row[:4] for row in before.values.tolist() if row[2]) == sorted(decided)
    assert "acceptor" in before["text"].iloc[0]
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: False)  # the new coder: apart
    monkeypatch.setattr(cache, "_source_digest", lambda: "the new coder")
    for _ in range(2):  # and again, from the review file it rewrote
        result = coder_run(project)
        assert "detached" not in result.stderr
        rows = segments_of(project).query("document == 'c.txt'")
        assert rows[["passage", "code", "review", "note"]].values.tolist() == before.drop(columns="text").values.tolist()
        assert segments_of(project).query("document == 'd.txt'")["review"].tolist() == ["", ""]
        assert "accept or" in rows["text"].iloc[0] and "in form" in rows.query("passage == '3'")["text"].iloc[0]


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_decisions_stay_on_their_copies_when_a_new_coder_reads_the_passages_around_them_with_a_space_more(
        project, monkeypatch, engine):
    """The same upgrade (see above) on a repeated answer: a copy is told by the text of the passages around it, and
    the second copy's both changed ("accept\\nor", "over\\nall"), so its reject was detached."""
    from coder import cache, passages
    from coder.lexicon import is_english_word

    _use_engine(monkeypatch, engine)
    text = ("Q: Do you meet?\n\nA: The joint meeting, yes.\n\nQ: Members may accept\nor reject it?\n\n"
            "A: The joint meeting, yes.\n\nQ: And power over\nall?\n\nA: The joint meeting, yes.\n")
    (project / "corpus" / "c.txt").write_text(text, encoding="utf-8")
    decided = [["1", "joint_meeting", "accept", "first"], ["3", "joint_meeting", "reject", "second"],
               ["5", "joint_meeting", "accept", "third"]]
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: is_english_word(first + second))
    monkeypatch.setattr(cache, "_source_digest", lambda: "the coder before")
    coder_run(project)
    _import_decisions(project, [tuple(row) for row in decided])
    coder_run(project)
    assert segments_of(project).query("document == 'c.txt'")[["passage", "code", "review", "note"]].values.tolist() == decided
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: False)
    monkeypatch.setattr(cache, "_source_digest", lambda: "the new coder")
    for _ in range(2):
        result = coder_run(project)
        assert "detached" not in result.stderr
        rows = segments_of(project).query("document == 'c.txt'")
        assert rows[["passage", "code", "review", "note"]].values.tolist() == decided
        shown = pd.read_csv(project / "out" / "passages.csv", dtype=str, keep_default_na=False).query("document == 'c.txt'")
        assert shown["text"].tolist()[2] == "Q: Members may accept or reject it?"


_TWINS = {  # (codebook, text, decided (passage, code), the codebook edited or None, the text edited)
    "a keyword removed": (
        "  seating:\n    keywords: [round, around]\n",
        "Intro.\n\nThe delegates sat at a round table.\n\nThe delegates sat at around table.\n\nClosing.\n",
        ("1", "seating"), "  seating:\n    keywords: [around]\n", None),
    "a keyword replaced": (
        "  seating:\n    keywords: [round]\n",
        "Intro.\n\nThe delegates sat at a round table.\n\nThe delegates sat at around table.\n\nClosing.\n",
        ("1", "seating"), "  seating:\n    keywords: [around]\n", None),
    "its paragraph deleted": (
        "", "The joint meeting sat at a round table.\n\nThe joint meeting sat at around table.\n",
        ("0", "joint_meeting"), None, "The joint meeting sat at around table.\n"),
    "its sentence deleted": (
        "  lianxi:\n    keywords: [联席会议]\n",
        "本文研究区域合作。两省于 2019 年召开联席会议。\n\n此后合作加深。两省于2019年召开联席会议。\n",
        ("1", "lianxi"), None, "本文研究区域合作。\n\n此后合作加深。两省于2019年召开联席会议。\n"),
}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("case", list(_TWINS))
def test_a_decision_whose_passage_is_gone_stays_detached_beside_a_passage_that_differs_only_in_spaces(
        project, monkeypatch, engine, case):
    """A passage decided, and another of its document that reads the same but for spaces ("a round"/"around",
    "2019 年"/"2019年"), there before and never reviewed: when the decided one's segment went (its keyword
    removed, it deleted), its reject moved onto the other, review status said nothing was detached, and the
    review file was rewritten to point there (probe RR1)."""
    _use_engine(monkeypatch, engine)
    codes, text, (passage, code), edited_codes, edited_text = _TWINS[case]
    codebook = CODEBOOK.replace("codes:\n", "codes:\n" + codes, 1)
    if case == "its sentence deleted":
        codebook = codebook.replace("name: Loop\n", "name: Loop\nunit: sentence\n")
    (project / "codebook.yaml").write_text(codebook, encoding="utf-8")
    (project / "corpus" / "c.txt").write_text(text, encoding="utf-8")
    coder_run(project)
    _import_decisions(project, [(passage, code, "reject", "not this one")])
    coder_run(project)
    assert segments_of(project).query("document == 'c.txt' and code == @code")["review"].tolist()[0] == "reject"
    if edited_codes:
        (project / "codebook.yaml").write_text(codebook.replace(codes, edited_codes), encoding="utf-8")
    if edited_text:
        (project / "corpus" / "c.txt").write_text(edited_text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file it wrote
        result = coder_run(project)
        assert "1 decision(s) are detached" in result.stderr
        assert segments_of(project).query("document == 'c.txt' and code == @code")["review"].tolist() == [""]
        reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        assert reviews[["passage", "code", "decision"]].values.tolist() == [[passage, code, "reject"]]
        status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                        "--segments", str(project / "out" / "segments.csv"))
        assert status.exit_code == 0 and "1 decision(s) are detached" in status.output, status.output


COUNT_TABLES = ("code_counts.csv", "code_counts_long.csv", "cooccurrence.csv")


def count_tables(project: Path) -> dict[str, bytes]:
    return {name: (project / "out" / name).read_bytes() for name in COUNT_TABLES}


def reviews_file_of(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _code_by_hand(project: Path, code: str, **cells: str) -> None:
    """The first joint_meeting passage coded by hand with `code` (its row copied in segments.csv, review `add`,
    `cells` typed beside), and the run that imports it."""
    frame = segments_of(project)
    added = frame[frame["code"] == "joint_meeting"].iloc[[0]].assign(code=code, review="add", segment_id="", **cells)
    pd.concat([frame, added]).to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)


@pytest.mark.parametrize("scenario", ["typed, network, cleared", "imported by a run, cleared",
                                      "withdrawn in reviews.csv", "deleted from reviews.csv"])
def test_review_loop_network_counts_as_the_next_run_does(project, scenario):
    """`coder network` counted rejects by segments.csv's cells, not by the review file it had just imported
    into (probe KK19 (a)): rejects typed and imported (by network or a run), then the cells cleared, were
    counted again by network, while the review file, `review status` and the next run kept them; a decision
    withdrawn in reviews.csv stayed rejected in network's counts while the next run counted the segment.
    Network now applies the review file as the next run does; a blank cell keeps what was decided."""
    coder_run(project)
    frame = segments_of(project)
    rows = frame.index[frame["code"] == "joint_meeting"]
    frame.loc[rows, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert invoke("network", str(project / "out")).exit_code == 0
    if scenario != "typed, network, cleared":
        coder_run(project)
        frame = segments_of(project)
        assert frame.loc[rows, "review"].tolist() == ["reject"] * len(rows)
    if scenario in ("typed, network, cleared", "imported by a run, cleared"):
        frame.loc[rows, "review"] = ""
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    else:
        reviews = reviews_file_of(project)
        reviews = reviews.iloc[1:] if scenario == "deleted from reviews.csv" else reviews.assign(
            decision=["", *reviews["decision"][1:]])
        reviews.to_csv(project / "reviews.csv", index=False, encoding="utf-8-sig")
    result = invoke("network", str(project / "out"))
    assert result.exit_code == 0, result.output
    after_network = count_tables(project)
    status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
    coder_run(project)
    assert count_tables(project) == after_network
    assert invoke("review", "status", "--segments", str(project / "out" / "segments.csv")).output == status.output
    rejected = 1 if scenario in ("withdrawn in reviews.csv", "deleted from reviews.csv") else 0
    counts = pd.read_csv(project / "out" / "code_counts.csv", encoding="utf-8-sig").set_index("code")["total"]
    assert counts["joint_meeting"] == rejected


def type_into_workbook(book: Path, rows, value: str) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook["segments"]
    review = [cell.value for cell in sheet[1]].index("review") + 1
    for row in rows:
        sheet.cell(row=row + 2, column=review, value=value)
    workbook.save(book)


@pytest.mark.parametrize("command", ["run", "network"])
@pytest.mark.parametrize("where", ["segments.csv", "workbook", "workbook, --csv never"])
def test_review_loop_withdraw_typed_in_a_review_cell_removes_the_decision_everywhere(project, where, command):
    """A blank cell keeps what was decided (probe NN1/NN2: a cleared cell cannot be told from a deleted column
    or a stale file), so a decision is withdrawn by typing `withdraw` in its review cell (KK19 (b)): the
    review file keeps the entry and its note with no decision, the run says how many it withdrew, the counts,
    network and `review status` count the segment again, and the next run writes the cell blank."""
    extra = ("--csv", "never") if where.endswith("never") else ()
    coder_run(project, *extra)
    base = count_tables(project)
    book = project / "out" / "segments.xlsx"
    export = ["export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book), "--force"]
    if extra:
        assert invoke(*export).exit_code == 0
        frame = pd.read_excel(book, dtype=str, keep_default_na=False)
    else:
        frame = segments_of(project)
    rows = frame.index[frame["code"] == "joint_meeting"]
    assert len(rows) == 2
    if extra:
        type_into_workbook(book, rows, "reject")
    else:
        frame.loc[rows, "review"] = "reject"
        frame.loc[rows[0], "note"] = "not a meeting"
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project, *extra)
    rejected = count_tables(project)
    assert rejected != base
    if where == "segments.csv":
        frame = segments_of(project)
        frame.loc[rows, "review"] = [" Withdraw", "WITHDRAW "]
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
        source = project / "out" / "segments.csv"
    else:
        assert invoke(*export).exit_code == 0
        type_into_workbook(book, rows, "withdraw")
        source = book
    result = invoke("network", str(project / "out")) if command == "network" else coder_run(project, *extra)
    assert result.exit_code == 0, result.output
    reviews_path = project / "reviews.csv"
    assert (f"Withdrew 2 decision(s) from {reviews_path}: their review cell says withdraw in {source} (the file "
            f"before is kept as reviews.csv.bak).") in result.stderr.splitlines()
    assert count_tables(project) == base
    notes = ["not a meeting", ""] if not extra else ["", ""]
    assert reviews_file_of(project)[["segment_id", "decision", "note"]].values.tolist() == [
        [identifier, "", note] for identifier, note in zip(frame.loc[rows, "segment_id"], notes)]
    status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
    assert status.output.splitlines()[0] == (
        f"{reviews_path}: 2 entries: 0 accepted, 0 rejected, " + ("1 with a note only, 1 withdrawn." if not extra
                                                                  else "2 withdrawn."))
    again = coder_run(project, *extra)
    assert "Withdrew" not in again.stderr
    assert count_tables(project) == base
    if not extra:
        assert segments_of(project).loc[rows, "review"].tolist() == ["", ""]
    assert invoke("review", "status", "--segments", str(project / "out" / "segments.csv")).output == status.output


@pytest.mark.parametrize("where", ["segments.csv", "segments.xlsx"])
def test_review_loop_withdraw_over_a_decision_the_review_file_took_since_stops_the_run(project, where):
    """`withdraw` typed where the review file took another decision since the run wrote the cell is a conflict,
    as a typed decision is: nothing is withdrawn, and the message says how to keep either side. So it is in the
    workbook `coder export xlsx` wrote, which says what it showed (WW5)."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    if where == "segments.xlsx":
        assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    reviews = reviews_file_of(project)
    reviews.loc[0, "decision"] = "accept"  # a colleague's decision, taken since
    reviews.to_csv(project / "reviews.csv", index=False, encoding="utf-8-sig")
    frame = segments_of(project)
    if where == "segments.xlsx":
        type_into_workbook(project / "out" / where, [0], "withdraw")
    else:
        frame.loc[0, "review"] = "withdraw"
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    before = (project / "reviews.csv").read_bytes()
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"), "--out", str(project / "out"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1] == f"  row 2 (a.txt, passage 0, joint_meeting): {where} says withdraw, reviews.csv says accept"
    assert (project / "reviews.csv").read_bytes() == before
    imported = invoke("review", "import", str(project / "out" / where))
    assert imported.exit_code == 0, imported.output
    assert f"  changed {frame.loc[0, 'segment_id']} (joint_meeting): accept -> (none)" in imported.stderr.splitlines()
    assert reviews_file_of(project)[["decision"]].values.tolist() == [[""]]
    coder_run(project)
    assert segments_of(project).loc[0, "review"] == ""


def test_review_loop_withdraw_where_nothing_was_decided_adds_nothing_and_reads_as_blank_in_the_review_file(project):
    """`withdraw` on a segment without a decision withdraws nothing and adds no entry (a note typed beside it
    is a note); typed into reviews.csv's decision column, it is no decision."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[[0, 1], "review"] = ["withdrawn", "撤回"]
    frame.loc[1, "note"] = "looked at it"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = coder_run(project)
    assert "Withdrew" not in result.stderr
    assert reviews_file_of(project)[["segment_id", "decision", "note"]].values.tolist() == [
        [frame.loc[1, "segment_id"], "", "looked at it"]]
    reviews = reviews_file_of(project)
    reviews.loc[0, "decision"] = "Withdraw"
    reviews.to_csv(project / "reviews.csv", index=False, encoding="utf-8-sig")
    status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
    assert status.exit_code == 0, status.output
    assert status.output.splitlines()[0].endswith("1 entries: 0 accepted, 0 rejected, 1 with a note only.")


def test_review_loop_withdrawn_entries_are_no_detached_decisions(project):
    """An entry left with neither a decision nor a note (withdrawn) whose segment is gone was listed as a detached
    decision "(note)" and counted in run.json's orphans (probe NN10)."""
    coder_run(project)
    frame = segments_of(project)
    rows = frame.index[frame["document"].eq("b.txt")]
    frame.loc[rows, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    frame = segments_of(project)
    frame.loc[rows[0], "review"] = "withdraw"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    (project / "corpus" / "b.txt").unlink()
    coder_run(project)
    record = (project / "out" / "run.json").read_text(encoding="utf-8")
    assert f'"orphaned": {len(rows) - 1}' in record
    status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
    assert f"{len(rows) - 1} decision(s) are detached" in status.output
    assert "(note)" not in status.output


@pytest.mark.parametrize("where", ["segments.csv", "segments.csv, network first", "workbook", "review import",
                                   "a passage the tool codes too"])
def test_review_loop_a_passage_coded_by_hand_withdrawn_with_its_note_is_no_detached_decision(project, where):
    """A passage coded by hand (`add`) with a note, then `withdraw` typed in its review cell: the entry stayed
    as a note on no segment, listed as a detached decision whose code's keywords changed (probe TT2).
    Withdrawn, the hand coding is gone, note and all (the file before is kept as reviews.csv.bak); one on a
    passage the tool codes with that code too keeps its note there."""
    coder_run(project)
    code = "joint_meeting" if where == "a passage the tool codes too" else "hand_only"
    _code_by_hand(project, code, note="by hand")
    assert reviews_file_of(project)[["code", "decision", "note"]].values.tolist() == [[code, "add", "by hand"]]
    frame = segments_of(project)
    hand = frame.index[(frame["code"] == code) & (frame["note"] == "by hand")]
    assert frame.loc[hand, ["review", "note"]].values.tolist() == [["add" if code == "hand_only" else "accept", "by hand"]]
    if where.startswith("segments.csv") or where == "a passage the tool codes too":
        frame.loc[hand, "review"] = "withdraw"
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
        if where.endswith("network first"):
            network = invoke("network", str(project / "out"))
            assert network.exit_code == 0, network.output
            assert "Withdrew 1 decision(s)" in network.stderr
            assert reviews_file_of(project)["code"].tolist() == []
    elif where == "workbook":
        book = project / "out" / "segments.xlsx"
        assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book),
                      "--force").exit_code == 0
        type_into_workbook(book, hand, "withdraw")
    else:
        frame.loc[hand].assign(review="withdraw").to_csv(project / "withdrawn.csv", index=False, encoding="utf-8-sig")
        imported = invoke("review", "import", str(project / "withdrawn.csv"), "--codebook", str(project / "codebook.yaml"),
                          "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
        assert imported.exit_code == 0, imported.output
        assert f"changed {frame.loc[hand[0], 'segment_id']} (hand_only): add -> (none)" in imported.stderr
    result = coder_run(project)
    if where not in ("review import", "segments.csv, network first"):
        assert "Withdrew 1 decision(s)" in result.stderr
    assert "detached" not in result.stderr
    assert '"orphaned": 0' in (project / "out" / "run.json").read_text(encoding="utf-8")
    status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
    assert "No detached decisions" in status.stdout and "keywords" not in status.stdout, status.stdout
    if code == "joint_meeting":  # the tool's segment keeps the note, with no decision
        assert reviews_file_of(project)[["code", "decision", "note"]].values.tolist() == [[code, "", "by hand"]]
        assert segments_of(project).loc[hand, ["review", "note"]].values.tolist() == [["", "by hand"]]
    else:
        assert reviews_file_of(project)["code"].tolist() == []
        assert "hand_only" not in segments_of(project)["code"].tolist()


@pytest.mark.parametrize("where", ["review import without source", "a new note typed beside it"])
def test_review_loop_a_withdrawn_hand_coding_keeps_a_note_it_cannot_be_sure_of(project, where):
    """cd68fd7 removed a withdrawn hand coding's entry, note and all, also where the import file has no `source`
    column to say the tool does not code the passage (the tool coded it: its note was lost; probe VV2), and where
    a new note was typed with the withdraw (in no file after the run, not even the .bak; VV3). Both keep the note."""
    coder_run(project)
    code = "joint_meeting" if where.startswith("review import") else "hand_only"
    _code_by_hand(project, code, note="by hand")
    frame = segments_of(project)
    hand = frame.index[(frame["code"] == code) & (frame["note"] == "by hand")]
    if where.startswith("review import"):
        columns = ["segment_id", "document", "passage", "code", "text", "review", "note"]
        frame.loc[hand, columns].assign(review="withdraw").to_csv(project / "withdrawn.csv", index=False,
                                                                  encoding="utf-8-sig")
        imported = invoke("review", "import", str(project / "withdrawn.csv"), "--codebook", str(project / "codebook.yaml"),
                          "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
        assert imported.exit_code == 0, imported.output
        kept = "by hand"
    else:
        frame.loc[hand, ["review", "note"]] = ["withdraw", "coded by mistake, see memo 14"]
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
        kept = "coded by mistake, see memo 14"
    coder_run(project)
    assert reviews_file_of(project)[["code", "decision", "note"]].values.tolist() == [[code, "", kept]]
    if code == "hand_only":  # the note, on no segment, is listed as detached: not for keywords changed (WW2)
        status = invoke("review", "status", "--segments", str(project / "out" / "segments.csv"))
        assert "a note without a decision, on a passage the code does not code now (a hand coding withdrawn" in status.stdout


def test_review_loop_a_reject_typed_over_a_hand_coding_the_tool_also_codes_is_no_conflict(project):
    """`add` typed on a segment the tool codes: the review file says add, the cell shows accept. A reject typed
    there later was taken for one over a decision the review file took since, and stopped the run."""
    coder_run(project)
    _code_by_hand(project, "joint_meeting", note="by hand")
    frame = segments_of(project)
    row = frame.index[frame["note"] == "by hand"]
    assert frame.loc[row, "review"].tolist() == ["accept"]
    frame.loc[row, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert reviews_file_of(project)[["decision", "note"]].values.tolist() == [["reject", "by hand"]]


def type_cells_into_workbook(book: Path, row: int, **cells: str) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook["segments"]
    header = [cell.value for cell in sheet[1]]
    for column, value in cells.items():
        sheet.cell(row=row + 2, column=header.index(column) + 1, value=value)
    workbook.save(book)


@pytest.mark.parametrize("edit, expected, unrecorded", [
    ({"note": "n1 edited"}, ("reject", "n1 edited"), ("reject", "n1 edited")),
    ({"review": "withdraw", "note": "n1 edited"}, ("", "n1 edited"), ("", "n1 edited")),
    # Edited where the review file's note is as the workbook showed it, the cell replaces it, as in segments.csv;
    # a workbook that does not say what it showed (no record: an older export) keeps both.
    ({"note": "rewritten"}, ("reject", "rewritten"), ("reject", "n1 / rewritten")),
    ({"note": "n"}, ("reject", "n"), ("reject", "n1 / n")),  # a piece of the note is a note typed (WW1)
])
@pytest.mark.parametrize("recorded", [True, False])
def test_review_loop_a_note_edited_in_the_workbook_replaces_the_note_it_holds(project, edit, expected, unrecorded,
                                                                              recorded):
    """A `--csv never` run's workbook showing the note "n1", the cell edited to "n1 edited": the review file's note
    became "n1 / n1 edited", where the same edit in segments.csv replaces it (probe TT3). A note that holds the
    one it was is that note edited; one that does not (rewritten, or changed by a spreadsheet's re-save) is
    kept beside it when the workbook does not say what it showed (WW5)."""
    coder_run(project, "--csv", "never")
    book = project / "out" / "segments.xlsx"
    export = ["export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book), "--force"]
    assert invoke(*export).exit_code == 0
    frame = pd.read_excel(book, dtype=str, keep_default_na=False)
    row = int(frame.index[frame["code"] == "joint_meeting"][0])
    type_cells_into_workbook(book, row, review="reject", note="n1")
    coder_run(project, "--csv", "never")
    assert reviews_file_of(project)[["decision", "note"]].values.tolist() == [["reject", "n1"]]
    assert invoke(*export).exit_code == 0
    if not recorded:
        (project / "out" / ".cache" / "workbook_written.json").unlink(missing_ok=True)
        expected = unrecorded
    type_cells_into_workbook(book, row, **edit)
    coder_run(project, "--csv", "never")
    assert reviews_file_of(project)[["segment_id", "decision", "note"]].values.tolist() == [[frame.loc[row, "segment_id"], *expected]]


def test_review_loop_a_workbook_cell_left_as_it_was_keeps_a_note_imported_since(project):
    """A `--csv never` run's workbook showing "n1"; a colleague's note imported since ("n1 / B: agree"); the
    workbook saved with another row edited. Its cell still reads "n1", which the review file's note holds: it cut
    the colleague's note away with no message (probe VV4). The review file's note stays."""
    coder_run(project, "--csv", "never")
    book = project / "out" / "segments.xlsx"
    export = ["export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book), "--force"]
    assert invoke(*export).exit_code == 0
    frame = pd.read_excel(book, dtype=str, keep_default_na=False)
    rows = [int(row) for row in frame.index[frame["code"] == "joint_meeting"][:2]]
    type_cells_into_workbook(book, rows[0], review="reject", note="n1")
    coder_run(project, "--csv", "never")
    assert invoke(*export).exit_code == 0
    colleague = project / "colleague.xlsx"
    colleague.write_bytes(book.read_bytes())
    type_cells_into_workbook(colleague, rows[0], note="B: agree")
    imported = invoke("review", "import", str(colleague), "--codebook", str(project / "codebook.yaml"),
                      "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    assert reviews_file_of(project)["note"].tolist() == ["n1 / B: agree"]
    type_cells_into_workbook(book, rows[1], review="accept")
    coder_run(project, "--csv", "never")
    notes = reviews_file_of(project).set_index("segment_id")["note"]
    assert notes[frame.loc[rows[0], "segment_id"]] == "n1 / B: agree"


@pytest.mark.parametrize("workbook", ["untouched", "another row typed in it"])
def test_review_loop_a_workbook_nobody_typed_into_does_not_undo_a_withdraw(project, workbook):
    """`coder export xlsx` after a run, then `withdraw` typed in segments.csv on a reject and on a passage coded by
    hand: the run withdrew both, then imported the workbook's `reject` and `add` as newly typed, both decisions back
    (probe WW5; the workbook did not say what it showed). It notes what it wrote: only cells changed since count,
    in a workbook saved with another row typed too."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "not a meeting"]
    added = frame.iloc[[0]].assign(code="hand_only", review="add", note="by hand", segment_id="")
    pd.concat([frame, added]).to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    book = project / "out" / "segments.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    frame = segments_of(project)
    hand = frame.index[frame["code"] == "hand_only"]
    other = int(frame.index[frame["code"] == "barriers"][0])
    if workbook != "untouched":
        type_into_workbook(book, [other], "accept")
    frame.loc[[0, *hand], "review"] = "withdraw"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = coder_run(project)
    assert "Withdrew 2 decision(s)" in result.stderr.splitlines()[0]
    imported = [line for line in result.stderr.splitlines() if "segments.xlsx" in line]
    assert imported == ([] if workbook == "untouched" else [
        f"Imported 1 decision(s) typed into {book} into {project / 'reviews.csv'} first."])
    expected = [[frame.loc[0, "segment_id"], "", "not a meeting"]]
    if workbook != "untouched":
        expected.append([frame.loc[other, "segment_id"], "accept", ""])
    assert reviews_file_of(project)[["segment_id", "decision", "note"]].values.tolist() == expected
    assert "hand_only" not in segments_of(project)["code"].tolist()
    again = invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--force")
    assert again.exit_code == 0, again.output  # it reads the workbook it replaces the same way
    assert "Imported" not in again.stderr
    assert reviews_file_of(project)[["segment_id", "decision", "note"]].values.tolist() == expected


@pytest.mark.parametrize("note", ["first draft: not about meetings, see memo 3", "memo " * 8000])
def test_review_loop_a_note_shortened_in_segments_csv_stays_short_beside_an_exported_workbook(project, note):
    """`coder export xlsx` after a run, then a note shortened in segments.csv, as README step 6 advises: the
    workbook nobody typed into brought the whole note back, "typed into out/segments.xlsx" (probe WW6). A note
    over a cell's limit, cut in the workbook, is the note it was written from."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", note]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    frame = segments_of(project)
    frame.loc[0, "note"] = "not about meetings"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = coder_run(project)
    assert "segments.xlsx" not in result.stderr
    assert reviews_file_of(project)[["decision", "note"]].values.tolist() == [["reject", "not about meetings"]]


@pytest.mark.parametrize("record", ["another workbook's", "none (an older version)", "damaged"])
def test_review_loop_a_workbook_without_its_record_counts_every_cell_as_typed(project, record):
    """The folder's record of what its segments.xlsx showed is of the workbook carrying its name: a workbook copied
    in from elsewhere is read as one that does not say what it showed, every cell typed, as before WW5, and so is one
    whose record is missing or damaged (never a traceback). Here `reject` typed in a colleague's workbook, a cell
    the folder's own record says showed `reject` (before a withdraw), is imported."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "reject"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    book, colleague = project / "out" / "segments.xlsx", project / "colleague.xlsx"
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv")).exit_code == 0
    book.unlink()  # its record stays
    frame = segments_of(project)
    frame.loc[0, "review"] = "withdraw"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert reviews_file_of(project)["decision"].tolist() == [""]
    assert invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(colleague)).exit_code == 0
    type_into_workbook(colleague, [0], "reject")
    book.write_bytes(colleague.read_bytes())
    kept = project / "out" / ".cache" / "workbook_written.json"
    if record.startswith("none"):
        kept.unlink(missing_ok=True)
    elif record == "damaged":
        kept.write_bytes(b'{"workbook": [')
    result = coder_run(project)
    assert f"Imported 1 decision(s) typed into {book} into {project / 'reviews.csv'} first." in result.stderr.splitlines()
    assert reviews_file_of(project)["decision"].tolist() == ["reject"]


def test_reattach_moves_a_decision_onto_the_new_codes_withdrawn_entry(project):
    """A withdrawn entry of the new code holds nothing: `reattach` put the old code's decision aside as if the new
    code had "a decision of its own" there (probe NN11). It now takes that entry's place."""
    split = CODEBOOK.replace("    keywords: [joint meeting]\n", "    keywords: [joint meeting]\n  held:\n    keywords: [held]\n")
    (project / "codebook.yaml").write_text(split, encoding="utf-8")
    coder_run(project)
    frame = segments_of(project)
    meetings = frame["code"].eq("joint_meeting")
    frame.loc[meetings, ["review", "note"]] = [["accept", "a: mayors"], ["reject", "b: another"]]
    frame.loc[frame["code"].eq("held"), "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    frame = segments_of(project)
    frame.loc[frame["code"].eq("held"), "review"] = "withdraw"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    (project / "codebook.yaml").write_text(split.replace("keywords: [joint meeting]", "keywords: [mayors held a joint meeting]"),
                                           encoding="utf-8")
    coder_run(project)
    moved = invoke("review", "reattach", "joint_meeting", "held", "--codebook", str(project / "codebook.yaml"),
                   "--segments", str(project / "out" / "segments.csv"))
    assert moved.exit_code == 0, moved.output
    assert moved.stderr.splitlines()[:2] == [
        f"{project / 'reviews.csv'}: 1 decision(s) moved from joint_meeting to held.",
        "  1 decision(s) of joint_meeting stay: joint_meeting still codes their passages."]
    reviews = reviews_file_of(project)
    assert sorted(zip(reviews["code"], reviews["decision"], reviews["note"])) == [
        ("held", "", ""), ("held", "reject", "b: another"), ("joint_meeting", "", ""), ("joint_meeting", "accept", "a: mayors")]
    coder_run(project)
    after = segments_of(project)
    assert after.loc[after["code"].eq("held") & after["document"].eq("b.txt"), "review"].tolist() == ["reject"]
    assert "No detached decisions" in invoke("review", "status", "--segments", str(project / "out" / "segments.csv")).output


@pytest.mark.parametrize("where", ["segments.csv", "workbook"])
def test_review_loop_a_note_typed_over_a_colleagues_note_that_holds_it_as_a_piece_is_kept_beside_it(project, where):
    """A colleague's notes ("agree", "相关", "ok") imported since the run; the reviewer's cells showed none, and they
    type "disagree", "不相关", "not ok": each replaced the colleague's note, which holds only as a piece of a word
    (probe WW3, regression of 4cb19d5). Both are kept; a note that is the colleague's added to still replaces it."""
    coder_run(project)
    frame = segments_of(project)
    book = project / "out" / "segments.xlsx"
    if where == "workbook":  # exported before the colleague's notes came: its cells show none
        _export(project)
    colleague = frame.copy()
    colleague.loc[:3, "note"] = ["agree", "相关", "ok", "B: check"]
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "colleague.csv"), "--codebook", str(project / "codebook.yaml"),
                      "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    typed = ["disagree", "不相关", "not ok", "B: check, A: done"]
    if where == "segments.csv":
        frame.loc[:3, "note"] = typed
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    else:
        shown = pd.read_excel(book, dtype=str, keep_default_na=False)
        for identifier, note in zip(frame.loc[:3, "segment_id"], typed):
            type_cells_into_workbook(book, int(shown.index[shown["segment_id"] == identifier][0]), note=note)
    coder_run(project)
    notes = dict(zip(reviews_file_of(project)["segment_id"], reviews_file_of(project)["note"]))
    assert [notes[identifier] for identifier in frame.loc[:3, "segment_id"]] == [
        "agree / disagree", "相关 / 不相关", "ok / not ok", "B: check, A: done"]


@pytest.mark.parametrize("where", ["segments.csv", "workbook"])
def test_review_loop_withdrawing_a_hand_coding_keeps_a_note_imported_since(project, where):
    """A passage coded by hand, no note; a colleague's note on it imported since; the reviewer's cell showed no
    note and they type withdraw. The entry left the review file with the colleague's note, only in the .bak until
    the next write (probe WW4, regression of cd68fd7). The note is kept, its decision withdrawn."""
    coder_run(project)
    _code_by_hand(project, "hand_only")
    frame = segments_of(project)
    hand = frame.index[frame["code"] == "hand_only"]
    if where == "workbook":
        book = _export(project)
    colleague = frame.copy()
    colleague.loc[hand, "note"] = "B: keep it (memo 7)"
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "colleague.csv"), "--codebook", str(project / "codebook.yaml"),
                      "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    if where == "segments.csv":
        frame.loc[hand, "review"] = "withdraw"
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    else:
        shown = pd.read_excel(book, dtype=str, keep_default_na=False)
        type_cells_into_workbook(book, int(shown.index[shown["code"] == "hand_only"][0]), review="withdraw")
    coder_run(project)
    assert reviews_file_of(project)[["code", "decision", "note"]].values.tolist() == [["hand_only", "", "B: keep it (memo 7)"]]


def test_review_loop_a_withdraw_from_an_older_file_taken_by_review_import_lets_the_next_run_go_on(project):
    """A withdraw typed into a segments.csv saved from an older run's file: the run stops, as it should, and says to
    take the file's decisions with `coder review import`. Once that was done every later run still stopped, the
    review file holding no `withdraw` (probe WW9). Now the run goes on, the decision withdrawn, its note kept."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "unclear"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    older = segments_of(project)
    current = older.copy()
    current.loc[1, "review"] = "accept"
    current.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    older.loc[0, "review"] = "withdraw"
    older.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    stopped = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                     "--out", str(project / "out"), "--workers", "1")
    assert stopped.exit_code != 0 and "older run" in stopped.output
    imported = invoke("review", "import", str(project / "out" / "segments.csv"), "--reviews", str(project / "reviews.csv"))
    assert imported.exit_code == 0, imported.output
    coder_run(project)
    entries = reviews_file_of(project).set_index("segment_id")
    assert entries.loc[older.loc[0, "segment_id"], ["decision", "note"]].tolist() == ["", "unclear"]
    assert entries.loc[older.loc[1, "segment_id"], "decision"] == "accept"


@pytest.mark.parametrize("where", ["segments.csv", "workbook"])
def test_review_loop_a_decision_typed_where_only_the_note_changed_since_is_no_conflict(project, where):
    """The cell showed `accept`; a colleague's note imported since, the decision as it was; `reject` typed there
    stopped the run as a conflict with the review file's `accept`, as if that decision had been taken since (probe
    XX2). It is taken, and both notes kept."""
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, "review"] = "accept"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    book = _export(project)
    colleague = segments_of(project)
    colleague.loc[0, "note"] = "B: fine"
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "colleague.csv"), "--codebook", str(project / "codebook.yaml"),
                      "--reviews", str(project / "reviews.csv"), "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    if where == "segments.csv":
        frame = segments_of(project)
        frame.loc[0, ["review", "note"]] = ["reject", "A: not a meeting"]
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    else:
        shown = pd.read_excel(book, dtype=str, keep_default_na=False)
        row = int(shown.index[shown["segment_id"] == frame.loc[0, "segment_id"]][0])
        type_cells_into_workbook(book, row, review="reject", note="A: not a meeting")
    coder_run(project)
    assert reviews_file_of(project)[["decision", "note"]].values.tolist() == [["reject", "B: fine / A: not a meeting"]]


def _export(project: Path, *extra: str) -> Path:
    book = project / "out" / "segments.xlsx"
    exported = invoke("export", "xlsx", "--segments", str(project / "out" / "segments.csv"), "--out", str(book), *extra)
    assert exported.exit_code == 0, exported.output
    return book


def _type_into_row(book: Path, identifier: str, **cells: str) -> None:
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["segment_id"] == identifier][0]), **cells)


def _typed_in_csv(project: Path, identifier: str, **cells: str) -> None:
    frame = segments_of(project)
    for column, value in cells.items():
        frame.loc[frame["segment_id"] == identifier, column] = value
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")


def _entry_of(project: Path, identifier: str) -> list[str]:
    entries = reviews_file_of(project)
    return entries.loc[entries["segment_id"] == identifier, ["decision", "note"]].values.tolist()


@pytest.mark.parametrize("then", ["export again", "workbook saved again"])
def test_review_loop_a_decision_imported_from_the_workbook_and_withdrawn_since_stays_withdrawn(project, then):
    """`reject` typed in the exported workbook and imported by a run; withdrawn in segments.csv since. Re-exporting
    (as the README advises) or saving the workbook again brought the decision back, the workbook's record still
    naming the cell as exported, empty (probe XX1). An import notes the cells it read."""
    coder_run(project)
    identifier = segments_of(project).loc[0, "segment_id"]
    other = segments_of(project).loc[1, "segment_id"]
    book = _export(project)
    _type_into_row(book, identifier, review="reject", note="wb")
    coder_run(project)
    assert _entry_of(project, identifier) == [["reject", "wb"]]
    _typed_in_csv(project, identifier, review="withdraw")
    coder_run(project)
    assert _entry_of(project, identifier) == [["", "wb"]]
    if then == "export again":
        _export(project, "--force")
    else:
        _type_into_row(book, other, note="later note")
        coder_run(project)
        assert _entry_of(project, other) == [["", "later note"]]
    assert _entry_of(project, identifier) == [["", "wb"]]


@pytest.mark.parametrize("csv", ["never", "auto"])
def test_review_loop_a_withdraw_typed_in_the_workbook_over_its_own_imported_decision_is_no_conflict(project, csv):
    """`reject` typed in the workbook and imported; `withdraw` typed in the same cell later stopped the run as a
    conflict with the review file's `reject`, the decision the workbook itself gave (probe XX9, regression of the
    workbook's record)."""
    coder_run(project, "--csv", csv)
    identifier = segments_of(project).loc[0, "segment_id"] if csv == "auto" else None
    book = _export(project)
    if identifier is None:
        identifier = pd.read_excel(book, dtype=str, keep_default_na=False).loc[0, "segment_id"]
    _type_into_row(book, identifier, review="reject", note="wb")
    coder_run(project, "--csv", csv)
    _type_into_row(book, identifier, review="withdraw")
    coder_run(project, "--csv", csv)
    assert _entry_of(project, identifier) == [["", "wb"]]


@pytest.mark.parametrize("typed_in_workbook", [{"review": "withdraw"}, {"note": "n1, checked"}])
def test_review_loop_a_workbook_cell_as_exported_does_not_undo_segments_csv(project, typed_in_workbook):
    """One cell of a workbook row typed, the other as exported: the one as exported was read as typed too. A note
    shortened in segments.csv since came back beside the exported one when `withdraw` was typed in the workbook
    (probe XX4); a `withdraw` typed in segments.csv was undone by the exported `reject` when the row's note was
    edited in the workbook (XX10)."""
    coder_run(project)
    identifier = segments_of(project).loc[0, "segment_id"]
    _typed_in_csv(project, identifier, review="reject", note="first thought, long version")
    coder_run(project)
    book = _export(project)
    if "review" in typed_in_workbook:
        _typed_in_csv(project, identifier, note="final")
        expected = [["", "final"]]
    else:
        _typed_in_csv(project, identifier, review="withdraw")
        expected = [["", "n1, checked"]]
    _type_into_row(book, identifier, **typed_in_workbook)
    coder_run(project)
    assert _entry_of(project, identifier) == expected


def test_review_loop_an_older_file_the_review_file_holds_imports_nothing(project):
    """A segments.csv saved from an older run's file (another decision's status tells it) whose every cell the
    review file holds goes on, as it should; its stale note "n1" then replaced the review file's "n1 / B: agree",
    a colleague's note imported since (probe XX8). Nothing in it is imported."""
    coder_run(project)
    identifier, other = segments_of(project).loc[:1, "segment_id"]
    _typed_in_csv(project, identifier, review="accept", note="n1")
    coder_run(project)
    stale = (project / "out" / "segments.csv").read_bytes()
    colleague = segments_of(project)
    colleague.loc[colleague["segment_id"] == identifier, "note"] = "B: agree"
    colleague.to_csv(project / "colleague.csv", index=False, encoding="utf-8-sig")
    assert invoke("review", "import", str(project / "colleague.csv"), "--reviews", str(project / "reviews.csv")).exit_code == 0
    _typed_in_csv(project, other, review="reject")
    coder_run(project)
    (project / "out" / "segments.csv").write_bytes(stale)
    coder_run(project)
    assert _entry_of(project, identifier) == [["accept", "n1 / B: agree"]]
    assert _entry_of(project, other) == [["reject", ""]]


def test_review_loop_a_note_a_cell_cannot_hold_is_no_typed_note_in_an_untouched_workbook(project):
    """A note with a vertical tab (a Word line break) is exported as a space; the workbook's record kept the tab,
    so a workbook nobody touched counted as typed and the note became "tab\\there vt" (probe XX7)."""
    coder_run(project)
    identifier, other = segments_of(project).loc[:1, "segment_id"]
    _typed_in_csv(project, identifier, review="reject", note="tab\there\x0bvt")
    coder_run(project)
    book = _export(project)
    _type_into_row(book, other, review="accept")
    result = coder_run(project)
    assert "note(s) typed" not in result.stderr
    assert _entry_of(project, identifier) == [["reject", "tab\there\x0bvt"]]


def _append_to_workbook(book: Path, **cells: str) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook["segments"]
    header = [cell.value for cell in sheet[1]]
    sheet.append([cells.get(column, "") for column in header])
    workbook.save(book)


@pytest.mark.parametrize("copies", ["one row", "two rows of one segment"])
def test_review_loop_rows_typed_into_the_workbook_are_imported_once(project, copies):
    """Rows typed in the workbook, imported by a run, then withdrawn in segments.csv: read again when the workbook
    was saved again, a hand coding's `add` row (it has no segment id: probe YY1) and a segment's two rows (two
    reviewers' sheets pasted together, the record keeping the last: YY2) brought the decision back."""
    coder_run(project)
    frame = segments_of(project)
    first, other = frame.loc[0], frame.loc[1]
    book = _export(project)
    if copies == "one row":
        _append_to_workbook(book, document=first["document"], passage=first["passage"], code="hand_only",
                            review="add", note="by hand")
    else:
        _type_into_row(book, first["segment_id"], review="reject", note="A: no")
        _append_to_workbook(book, **{**{column: str(first[column]) for column in frame.columns},
                                     "review": "reject", "note": "B: no"})
    coder_run(project)
    entries = reviews_file_of(project)
    assert entries[["decision", "note"]].values.tolist() == ([["add", "by hand"]] if copies == "one row"
                                                             else [["reject", "A: no; B: no"]])
    identifier = entries.loc[0, "segment_id"]
    _typed_in_csv(project, identifier, review="withdraw")
    coder_run(project)
    _type_into_row(book, other["segment_id"], note="later")  # the workbook saved again
    coder_run(project)
    kept = reviews_file_of(project)
    assert kept.loc[kept["segment_id"] == identifier, ["decision", "note"]].values.tolist() == (
        [] if copies == "one row" else [["", "A: no; B: no"]])


@pytest.mark.parametrize("spelled", ["Reject", "n", "拒绝"])
def test_review_loop_a_decision_spelled_otherwise_in_the_workbook_is_read_as_coder_spells_it(project, spelled):
    """`Reject`, `n` or `拒绝` typed in the workbook and imported; its record kept the spelling, so the imported
    cell was not the decision as written: withdraw typed over it stopped the run as a conflict (probe YY4), and a
    withdraw typed in segments.csv was undone once the row's note was edited (YY3)."""
    coder_run(project)
    identifier = segments_of(project).loc[0, "segment_id"]
    book = _export(project)
    _type_into_row(book, identifier, review=spelled, note="wb")
    coder_run(project)
    assert _entry_of(project, identifier) == [["reject", "wb"]]
    _typed_in_csv(project, identifier, review="withdraw")
    _type_into_row(book, identifier, note="wb, checked")
    coder_run(project)
    assert _entry_of(project, identifier) == [["", "wb, checked"]]
    _type_into_row(book, identifier, review="accept")
    coder_run(project)
    assert _entry_of(project, identifier) == [["accept", "wb, checked"]]


def test_review_loop_a_note_with_a_vertical_tab_edited_in_the_workbook_replaces_it(project):
    """A note with a vertical tab, shown in the workbook with a space: ", checked" added there kept both notes,
    the review file's counted as changed since (probe YY5)."""
    coder_run(project)
    identifier = segments_of(project).loc[0, "segment_id"]
    _typed_in_csv(project, identifier, review="reject", note="tab\x0bhere")
    coder_run(project)
    book = _export(project)
    _type_into_row(book, identifier, note="tab here, checked")
    coder_run(project)
    assert _entry_of(project, identifier) == [["reject", "tab here, checked"]]


def test_review_loop_a_row_copied_in_the_workbook_to_code_by_hand_keeps_its_own_record(project):
    """README step 4 in the workbook: a row copied, its code changed and `add` typed (it keeps the segment id of
    the row it was copied from), `reject` typed on that row. The record noted both under the id, as `add`: once the
    reject was withdrawn in segments.csv, the workbook saved again brought it back (probe ZZ1)."""
    coder_run(project)
    frame = segments_of(project)
    first, other = frame.loc[0], frame.loc[1]
    book = _export(project)
    _type_into_row(book, first["segment_id"], review="reject")
    _append_to_workbook(book, **{**{column: str(first[column]) for column in frame.columns},
                                 "code": "hand_only", "review": "add", "note": "by hand"})
    coder_run(project)
    assert _entry_of(project, first["segment_id"]) == [["reject", ""]]
    _typed_in_csv(project, first["segment_id"], review="withdraw")
    coder_run(project)
    _type_into_row(book, other["segment_id"], note="later")
    coder_run(project)
    assert _entry_of(project, first["segment_id"]) == [["", ""]]
    assert reviews_file_of(project).query("code == 'hand_only'")[["decision", "note"]].values.tolist() == [["add", "by hand"]]


def test_review_loop_a_note_rewritten_on_a_hand_coding_row_of_the_workbook_replaces_it(project):
    """An `add` row typed into the workbook (no segment id) with the note "n1", imported; the note rewritten there
    to "other": the row's cells were looked up by the hand coding's id, not found, and "n1 / other" kept both, where
    segments.csv replaces it (probe ZZ2)."""
    coder_run(project)
    first = segments_of(project).loc[0]
    book = _export(project)
    _append_to_workbook(book, document=first["document"], passage=first["passage"], code="hand_only", review="add",
                        note="n1")
    coder_run(project)
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["code"] == "hand_only"][0]), note="other")
    coder_run(project)
    assert reviews_file_of(project)[["code", "decision", "note"]].values.tolist() == [["hand_only", "add", "other"]]


def test_review_loop_a_hand_coding_of_a_passage_past_the_last_names_how_they_are_numbered(project):
    """"'a.txt' has no passage 3 (it has 3)" read as a contradiction: passages are numbered from 0, and the message
    says which there are ("it has 3, numbered from 0" still had the reader count; probe ZZ, low)."""
    coder_run(project)
    frame = segments_of(project)
    row = frame.iloc[[0]].assign(code="hand_only", review="add", segment_id="", passage="99", start="", end="", text="")
    pd.concat([frame, row]).to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--workers", "1")
    assert result.exit_code != 0
    assert f"row 7: '{frame.loc[0, 'document']}' has no passage 99 (it has passages 0-2).)" in result.output


def test_review_loop_a_second_hand_coding_row_for_one_passage_keeps_both_notes(project):
    """An `add` row imported (note n1), then a second `add` row for the same passage and code typed beside it in the
    workbook (note n2): the import read the second row alone, and n2 replaced n1, silently. Rows of one passage
    coded by hand are read together, as rows of one segment are: every note is kept (probe AD7)."""
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n1")
    coder_run(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n2")
    coder_run(project)
    assert reviews_file_of(project).query("code == 'hand_only'")[["decision", "note"]].values.tolist() == [
        ["add", "n1; n2"]]
    coder_run(project)  # and nothing more on the next run
    assert reviews_file_of(project).query("code == 'hand_only'")["note"].tolist() == ["n1; n2"]
    # The second row deleted again: the row left read as the joined note shortened, and n2 was cut (probe AE4).
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    sheet = workbook["segments"]
    sheet.delete_rows(sheet.max_row)
    workbook.save(book)
    coder_run(project)
    assert reviews_file_of(project).query("code == 'hand_only'")["note"].tolist() == ["n1; n2"]


def test_review_loop_a_pasted_row_whose_note_adds_to_the_untouched_one_is_that_note(project):
    """A segment's row left as exported ("A: ok") and a copy of it pasted with the note added to ("A: ok / B: agree"):
    the notes were joined as "A: ok; A: ok / B: agree" (probe AE5)."""
    coder_run(project)
    frame = segments_of(project)
    first = frame.index[frame["code"] == "joint_meeting"][0]
    frame.loc[first, ["review", "note"]] = ["accept", "A: ok"]
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    book = _export(project)
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    row = shown[shown["note"] == "A: ok"].iloc[0].to_dict()
    _append_to_workbook(book, **{**row, "note": "A: ok / B: agree"})
    coder_run(project)
    reviews = reviews_file_of(project)
    assert reviews.loc[reviews["code"] == "joint_meeting", "note"].tolist() == ["A: ok / B: agree"]


def test_review_loop_a_record_pointing_a_hand_coding_row_at_another_codes_decision_is_not_followed(project):
    """The workbook's record says which hand coding a row coded by hand became (ZZ3); a record pointing the row at
    a decision of another code (damaged, or planted in a shared folder) put the row's note on that decision, the
    hand coding keeping its old note (probe AD5)."""
    import json

    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n1")
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["code"] == "barriers"][0]), review="reject")
    coder_run(project)
    reviews = reviews_file_of(project)
    rejected = reviews.loc[reviews["code"] == "barriers", "segment_id"].iloc[0]
    record_path = project / "out" / ".cache" / "workbook_written.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert len(record["entries"]) == 1
    record["entries"] = dict.fromkeys(record["entries"], rejected)
    record_path.write_text(json.dumps(record), encoding="utf-8")
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["code"] == "hand_only"][0]), note="other")
    coder_run(project)
    reviews = reviews_file_of(project)
    assert reviews.loc[reviews["code"] == "barriers", ["decision", "note"]].values.tolist() == [["reject", ""]]
    assert reviews.loc[reviews["code"] == "hand_only", "note"].tolist() == ["other"]


def test_review_loop_a_record_pointing_a_hand_coding_row_at_another_documents_hand_coding_is_not_followed(project):
    """The same, pointing at a hand coding of the same code in another document: the note went there (probe AE6)."""
    import json

    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n1")
    _append_to_workbook(book, document="b.txt", passage="1", code="hand_only", review="add", note="m1")
    coder_run(project)
    reviews = reviews_file_of(project)
    other = reviews.loc[reviews["document"] == "b.txt", "segment_id"].iloc[0]
    record_path = project / "out" / ".cache" / "workbook_written.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["entries"] = {place: other for place in record["entries"]}
    record_path.write_text(json.dumps(record), encoding="utf-8")
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[(shown["code"] == "hand_only") & (shown["document"] == "a.txt")][0]),
                             note="other")
    coder_run(project)
    reviews = reviews_file_of(project).query("code == 'hand_only'")
    assert dict(zip(reviews["document"], reviews["note"])) == {"a.txt": "other", "b.txt": "m1"}


@pytest.mark.parametrize("typed", [{"note": "other"}, {"review": "withdraw"}])
def test_review_loop_a_hand_coding_row_of_the_workbook_edited_after_its_passage_moved_edits_that_hand_coding(
        project, typed):
    """An `add` row typed into the workbook by passage number (no segment id, no text), imported; a paragraph
    inserted at the start of its document since, the run moved the hand coding to its passage, now the next one.
    The row's note edited in the same workbook (it still says the old number) coded the passage now at that number
    with the note, the hand coding keeping its old one, silently; `withdraw` typed there withdrew nothing (probe
    ZZ3). The record notes the entry the row became, and the row's cells go to that entry."""
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n1")
    coder_run(project)
    (project / "corpus" / "a.txt").write_text("A new first paragraph.\n\n" + CORPUS["a.txt"], encoding="utf-8")
    coder_run(project)
    assert reviews_file_of(project)[["code", "passage", "note"]].values.tolist() == [["hand_only", "3", "n1"]]
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["code"] == "hand_only"][0]), **typed)
    coder_run(project)
    hand = reviews_file_of(project).query("code == 'hand_only'")
    if "note" in typed:
        assert hand[["passage", "decision", "note"]].values.tolist() == [["3", "add", "other"]]
    else:
        assert hand.empty
    assert segments_of(project).query("code == 'hand_only'")["passage"].tolist() == ([] if hand.empty else ["3"])


@pytest.mark.parametrize("typed", [{"note": "other"}, {"review": "withdraw"}])
@pytest.mark.parametrize("repeated", [False, True])
def test_review_loop_a_hand_coding_row_of_the_workbook_edited_after_its_document_was_renamed_edits_that_hand_coding(
        project, typed, repeated):
    """An `add` row typed into the workbook, imported; its document renamed since (a.txt -> c.txt), the run moved
    the hand coding to c.txt. The row's note edited in the same workbook (it still says a.txt) stopped every run
    ("document 'a.txt' is not in the corpus"), and `withdraw` typed there too ("no segment_id, and no document, code
    and text"): the record's entry was looked for under a.txt only (probe AD6). The row's cells go to the hand
    coding its entry became, on the second copy of a repeated passage too."""
    if repeated:
        (project / "corpus" / "a.txt").write_text("Nothing here.\n\nMayors held a joint meeting.\n\nNothing here.\n",
                                                  encoding="utf-8")
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="n1")
    coder_run(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    coder_run(project)
    assert reviews_file_of(project)[["document", "code", "note"]].values.tolist() == [["c.txt", "hand_only", "n1"]]
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[shown["code"] == "hand_only"][0]), **typed)
    coder_run(project)
    hand = reviews_file_of(project).query("code == 'hand_only'")
    if "note" in typed:
        assert hand[["document", "passage", "decision", "note"]].values.tolist() == [["c.txt", "2", "add", "other"]]
    else:
        assert hand.empty
    assert segments_of(project).query("code == 'hand_only'")["document"].tolist() == ([] if hand.empty else ["c.txt"])


@pytest.mark.parametrize("typed", [{"note": "edited on the a.txt row"}, {"review": "withdraw"}])
def test_review_loop_an_old_workbook_row_of_a_renamed_document_never_edits_another_documents_hand_coding(
        tmp_path, typed):
    """a.txt and b.txt share a passage, each coded by hand; a.txt renamed c.txt (its hand coding followed) and
    that hand coding withdrawn. A note or withdraw typed on the workbook's old a.txt row went to b.txt's hand
    coding, silently (probe AJ1, of a3ab657): the row is refused, and b.txt's hand coding stays as it was."""
    project = write_project(tmp_path, CODEBOOK, {"a.txt": "Nothing here.\n\nThe shared passage of both.\n",
                                                 "b.txt": "Something else.\n\nThe shared passage of both.\n"})
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="1", code="hand_only", review="add", note="note of a")
    _append_to_workbook(book, document="b.txt", passage="1", code="hand_only", review="add", note="note of b")
    coder_run(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    coder_run(project)
    frame = segments_of(project)
    frame.loc[(frame["code"] == "hand_only") & (frame["document"] == "c.txt"), "review"] = "withdraw"
    frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    coder_run(project)
    assert reviews_file_of(project)[["document", "decision", "note"]].values.tolist() == [["b.txt", "add", "note of b"]]
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[(shown["code"] == "hand_only") & (shown["document"] == "a.txt")][0]),
                             **typed)
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--workers", "1")
    assert result.exit_code == 1 and "document 'a.txt' is not in the corpus" in result.output
    assert reviews_file_of(project)[["document", "decision", "note"]].values.tolist() == [["b.txt", "add", "note of b"]]


@pytest.mark.parametrize("review", ["add", "withdraw"])
@pytest.mark.parametrize("renamed", ["before the run", "before the last run"])
def test_review_loop_a_row_typed_on_a_renamed_document_is_refused_naming_its_new_name(project, review, renamed):
    """A row coding a passage by hand (or withdrawing it) typed into the workbook on a.txt, renamed c.txt since,
    the record holding no entry for it: refused, as before, but saying where the document went; `withdraw` was
    refused with "no segment_id, and no document, code and text", which points the wrong way (probe AD6)."""
    coder_run(project)
    book = _export(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    if renamed == "before the last run":
        coder_run(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review=review, note="n1")
    result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                    "--out", str(project / "out"), "--workers", "1")
    assert result.exit_code == 1
    assert ("row 7: document 'a.txt' is not in the corpus: it was renamed to 'c.txt' (the same text). "
            "Write 'c.txt' in the row's document cell.)") in result.output


@pytest.mark.parametrize("imported", ["by the run", "by coder review import"])
def test_review_loop_a_decision_typed_on_a_renamed_documents_old_row_is_refused_naming_its_new_name(project, imported):
    """A workbook exported before a.txt was renamed c.txt; after the run that followed the rename (the review file
    now files a.txt's accept under c.txt), a reject typed on the old a.txt row was imported under a.txt: detached,
    while c.txt kept its accept, and the disagreement never shown (probe AM4). Refused, naming the new name."""
    coder_run(project)
    book = _export(project)
    _typed_in_csv(project, segment_id("a.txt", "Mayors held a joint meeting.", "joint_meeting"), review="accept")
    coder_run(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    coder_run(project)
    shown = pd.read_excel(book, dtype=str, keep_default_na=False)
    type_cells_into_workbook(book, int(shown.index[(shown["document"] == "a.txt") & (shown["passage"] == "0")][0]),
                             review="reject")
    if imported == "by the run":
        result = invoke("run", str(project / "corpus"), "--codebook", str(project / "codebook.yaml"),
                        "--out", str(project / "out"), "--workers", "1")
        assert result.exit_code == 1
    else:
        result = invoke("review", "import", str(book), "--reviews", str(project / "reviews.csv"))
    assert ("document 'a.txt' is not in the corpus: it was renamed to 'c.txt' (the same text). Write 'c.txt' in "
            "the row's document cell, and clear its segment_id cell.") in " ".join(result.output.split())
    assert reviews_file_of(project)[["document", "decision"]].values.tolist() == [["c.txt", "accept"]]


def test_review_loop_a_decision_typed_before_the_run_that_follows_a_rename_follows_it(project):
    """A reject typed into segments.csv on a.txt, renamed c.txt before the next run: the run imports it and moves it
    to c.txt, as before (no run has followed the rename yet, so the row is not refused)."""
    coder_run(project)
    _typed_in_csv(project, segment_id("a.txt", "Mayors held a joint meeting.", "joint_meeting"), review="reject")
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    coder_run(project)
    assert reviews_file_of(project)[["document", "decision"]].values.tolist() == [["c.txt", "reject"]]


_NFD, _NFC = unicodedata.normalize("NFD", "Café.txt"), "Café.txt"


@pytest.mark.parametrize("file, typed", [(_NFD, _NFC), (_NFC, _NFD), ("sub/a.txt", "sub\\a.txt"),
                                         ("sub/a.txt", "./sub/a.txt")])
@pytest.mark.parametrize("row", ["add", "reject with no segment_id"])
def test_review_loop_a_row_naming_its_document_as_a_mac_or_windows_user_types_it_is_read(tmp_path, file, typed, row):
    """A row typed into segments.csv naming "Café.txt" for a Mac's decomposed name (the two look the same) stopped
    the run: "document 'Café.txt' is not in the corpus"; "sub\\a.txt" as Explorer copies it likewise, though
    documents.csv reads both (probes AH1, AH2)."""
    project = write_project(tmp_path, CODEBOOK, {})
    (project / "corpus" / file).parent.mkdir(parents=True, exist_ok=True)
    (project / "corpus" / file).write_text(CORPUS["a.txt"], encoding="utf-8")
    coder_run(project)
    frame = segments_of(project)
    name = frame.loc[0, "document"]
    typed_row = dict.fromkeys(frame.columns, "")
    if row == "add":
        typed_row.update(document=typed, passage="2", code="hand_only", review="add", note="typed by hand")
    else:
        typed_row.update(document=typed, passage="0", code="joint_meeting", review="reject", note="typed by hand")
        frame = frame[frame["code"] != "joint_meeting"]
    pd.concat([frame, pd.DataFrame([typed_row])]).to_csv(project / "out" / "segments.csv", index=False,
                                                          encoding="utf-8-sig")
    coder_run(project)
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert reviews[["document", "note"]].values.tolist() == [[name, "typed by hand"]]
    after = segments_of(project)
    assert after.loc[after["note"] == "typed by hand", "review"].tolist() == [row.split()[0]]


_SHARED = "The shared passage of both.\n"


@pytest.mark.parametrize("b_coded", [True, False])
@pytest.mark.parametrize("change", ["a deleted", "a renamed c and edited"])
def test_review_loop_a_hand_coding_of_a_gone_document_does_not_take_another_documents_passage(
        tmp_path, change, b_coded):
    """a.txt and b.txt share a passage, coded by hand in a.txt (and in b.txt with the same code). a.txt deleted, or
    renamed and edited: its hand coding was put on b.txt's passage, a document the run before had. With b.txt's own
    hand coding there, two entries shared one id and every run stopped on an internal error (InvalidIndexError)
    until reviews.csv was edited by hand; without it, the deletion moved a.txt's hand coding onto b.txt silently
    (probe AJ2). It is detached (kept, listed by `coder review status`); b.txt keeps its own."""
    project = write_project(tmp_path, CODEBOOK, {"a.txt": "A joint meeting.\n\n" + _SHARED,
                                                 "b.txt": "Another joint meeting.\n\n" + _SHARED})
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="1", code="hand_only", review="add", note="note of a")
    if b_coded:
        _append_to_workbook(book, document="b.txt", passage="1", code="hand_only", review="add", note="note of b")
    coder_run(project)
    (project / "corpus" / "a.txt").unlink()
    if change == "a renamed c and edited":
        (project / "corpus" / "c.txt").write_text("A joint meeting, edited.\n\nThe passage, edited.\n", encoding="utf-8")
    for _ in range(2):  # and again, from the review file it rewrote
        coder_run(project)
        reviews = reviews_file_of(project).query("code == 'hand_only'")
        assert reviews[["document", "note"]].values.tolist() == [["a.txt", "note of a"]] + (
            [["b.txt", "note of b"]] if b_coded else [])
        manual = segments_of(project).query("source == 'manual'")
        assert manual[["document", "passage", "note"]].values.tolist() == ([["b.txt", "1", "note of b"]] if b_coded else [])
    status = invoke("review", "status", "--codebook", str(project / "codebook.yaml"),
                    "--segments", str(project / "out" / "segments.csv"))
    assert ('a.txt, passage 1, hand_only: add "note of a"; the document is not in the corpus (renamed or removed, '
            'and its text is not found once elsewhere)') in status.stdout


def test_review_loop_a_hand_coding_of_a_renamed_document_follows_it_past_another_documents_copy(tmp_path):
    """The same, a.txt renamed c.txt unchanged: its hand coding follows it to c.txt (a document new since the run
    before), not to b.txt's copy of the passage, which keeps its own."""
    project = write_project(tmp_path, CODEBOOK, {"a.txt": "A joint meeting.\n\n" + _SHARED,
                                                 "b.txt": "Another joint meeting.\n\n" + _SHARED})
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="1", code="hand_only", review="add", note="note of a")
    _append_to_workbook(book, document="b.txt", passage="1", code="hand_only", review="add", note="note of b")
    coder_run(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    coder_run(project)
    manual = segments_of(project).query("source == 'manual'")
    assert sorted(manual[["document", "passage", "note"]].values.tolist()) == [["b.txt", "1", "note of b"],
                                                                              ["c.txt", "1", "note of a"]]


def test_review_loop_a_hand_coding_of_a_renamed_document_never_takes_a_passage_coded_so_by_hand_already(project):
    """a.txt coded by hand, renamed c.txt, and c.txt's passage coded by hand with the same code (imported before the
    run): the gone document's hand coding is not put on that passage too (two entries with one id stopped the run on
    an internal error, probe AJ2); it is detached, and c.txt's own is kept."""
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="2", code="hand_only", review="add", note="note of a")
    coder_run(project)
    (project / "corpus" / "a.txt").rename(project / "corpus" / "c.txt")
    pd.DataFrame([{"document": "c.txt", "passage": "2", "code": "hand_only", "review": "add", "note": "note of c"}]).to_csv(
        project / "added.csv", index=False, encoding="utf-8-sig")
    imported = invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                      "--run", str(project / "out"))
    assert imported.exit_code == 0, imported.output
    coder_run(project)
    manual = segments_of(project).query("source == 'manual'")
    assert manual[["document", "passage", "note"]].values.tolist() == [["c.txt", "2", "note of c"]]
    assert reviews_file_of(project).query("code == 'hand_only'")["document"].tolist() == ["a.txt", "c.txt"]


def test_review_loop_a_hand_coding_of_a_document_deleted_runs_ago_stays_out_of_a_new_one(tmp_path):
    """a.txt, coded by hand on its consent paragraph, deleted (the hand coding detached, two runs); then a new
    interview n.txt sharing only that paragraph: the hand coding moved onto n.txt, silently, its entry rewritten
    (probe AL2). A document deleted runs ago is not renamed into one added since: it stays detached."""
    consent = "Consent: I agree to be recorded."
    project = write_project(tmp_path, CODEBOOK, {"a.txt": f"Interview A about pears.\n\n{consent}\n\nA talks.\n",
                                                 "b.txt": "Interview B about plums.\n\nB talks.\n"})
    coder_run(project)
    book = _export(project)
    _append_to_workbook(book, document="a.txt", passage="1", code="hand_only", review="add", note="coded in A")
    coder_run(project)
    (project / "corpus" / "a.txt").unlink()
    coder_run(project)
    coder_run(project)
    (project / "corpus" / "n.txt").write_text(f"Interview N.\n\n{consent}\n\nN talks.\n", encoding="utf-8")
    coder_run(project)
    assert reviews_file_of(project)[["document", "code", "note"]].values.tolist() == [["a.txt", "hand_only", "coded in A"]]
    assert segments_of(project).query("code == 'hand_only'").empty


GBK = "as GBK (Excel's \"CSV (Comma delimited)\" on a Simplified-Chinese Windows)"
BIG5 = "as Big5 (Excel's \"CSV (Comma delimited)\" on a Traditional-Chinese Windows)"


@pytest.mark.parametrize(("encoding", "note", "saved", "cannot_hold"), [
    ("gbk", "Größe prüfen", GBK, "most accented letters (ö, ß) and some rare Chinese characters"),
    ("cp950", "与主题相关", BIG5, "simplified Chinese and accented letters"),
])
def test_a_chinese_code_page_save_keeps_the_notes_it_turned_into_question_marks(mixed, encoding, note, saved,
                                                                                cannot_hold):
    """Excel on a Chinese Windows saves "CSV" as GBK (no ö, ß) or Big5 (no simplified Chinese): a note of an
    earlier round the reviewer did not touch came back with "?" and replaced the one filed, silently (probes
    AX4, AX5). It is kept, with the warning a Windows-1252 save gives; the decision typed beside it is imported."""
    frame, first = note_filed_on_the_chinese_row(mixed, note)
    accepted = next(index for index in frame.index if frame.loc[index, "document"] == "b.txt")
    frame.loc[accepted, "review"] = "accept"
    save_in_code_page(frame, mixed / "out" / "segments.csv", encoding)
    result = coder_run(mixed)
    reviews = reviews_of(mixed)
    assert reviews[frame.loc[first, "segment_id"]] == ("reject", note)
    assert reviews[frame.loc[accepted, "segment_id"]][0] == "accept"
    assert segments_of(mixed).loc[first, "note"] == note
    warning = next(line for line in result.stderr.splitlines() if line.startswith("Warning: "))
    assert warning.startswith(f"Warning: {mixed / 'out' / 'segments.csv'} was saved {saved}, which cannot hold "
                              f"{cannot_hold}: ")
    assert "1 note(s) were kept as they were before, not imported with \"?\"." in warning


def test_a_note_typed_in_a_big5_save_is_read_as_typed(mixed):
    """A note typed in traditional Chinese on a Traditional-Chinese Windows, saved as Big5, was read as
    Windows-1252 (與主題無關 as mojibake), and its document name 甲.txt as ¥Ò.txt stopped the run (probe AX4's
    other half). It is read as Big5: the note as typed, and the simplified one filed before is kept."""
    frame, first = note_filed_on_the_chinese_row(mixed, "与主题相关")
    typed = next(index for index in frame.index if index != first)
    frame.loc[typed, ["review", "note"]] = ["accept", "與主題無關 見第4頁"]
    save_in_code_page(frame, mixed / "out" / "segments.csv", "cp950")
    coder_run(mixed)
    reviews = reviews_of(mixed)
    assert reviews[frame.loc[typed, "segment_id"]] == ("accept", "與主題無關 見第4頁")
    assert reviews[frame.loc[first, "segment_id"]] == ("reject", "与主题相关")


def test_a_note_typed_in_a_big5_save_of_passages_with_western_symbols_is_read_as_typed(tmp_path: Path):
    """A Big5 segments.csv whose passage holds a symbol Big5 holds (°, ×, €) was read as Windows-1252: the note
    typed 相關嗎 was filed as ¬ÛÃö¶Ü, with no warning (probe BC5). It is read as Big5."""
    project = write_project(tmp_path, "codes:\n  jm: [聯席會議]\n",
                            {"a.txt": "臺北氣溫25°C聯席會議，長寬25×30公分，€50。\n\n區域聯席會議。\n"})
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", "相關嗎"]
    save_in_code_page(frame, project / "out" / "segments.csv", "cp950")
    coder_run(project)
    assert reviews_of(project)[frame.loc[0, "segment_id"]] == ("reject", "相關嗎")


@pytest.mark.parametrize("notes", [("約48°51′N相關", "附錄B相關")])
def test_a_note_with_a_letter_beside_chinese_typed_in_a_big5_save_is_read_as_typed(tmp_path: Path, notes):
    """A Big5 segments.csv whose note glues a Latin letter to Chinese (約48°51′N相關, 附錄B相關) was read as
    Windows-1252 and the notes filed as mojibake (¬ù48¢X51¡¬N¬ÛÃö), with no warning: Big5 is refused beside an
    ASCII letter, which Western text gives (probe AV3). The passages read back in Big5: it is read so (probe BD3)."""
    project = write_project(tmp_path, "codes:\n  jm: [聯席會議]\n", {"a.txt": "臺北召開聯席會議。\n\n區域聯席會議在臺灣舉行。\n"})
    coder_run(project)
    frame = segments_of(project)
    frame.loc[0, ["review", "note"]] = ["reject", notes[0]]
    frame.loc[1, ["review", "note"]] = ["accept", notes[1]]
    save_in_code_page(frame, project / "out" / "segments.csv", "cp950")
    coder_run(project)
    reviews = reviews_of(project)
    assert [reviews[frame.loc[row, "segment_id"]] for row in (0, 1)] == [("reject", notes[0]), ("accept", notes[1])]


def test_a_code_renamed_to_the_id_of_a_removed_code_with_decisions_does_not_stop_the_run(tmp_path):
    """x accepted, x removed (its decision kept), y added and rejected, y renamed x: the rejection moved onto the id
    the kept acceptance holds, two entries under one id, and every later run into the folder stopped with an
    internal error (probe BO1). The rejection stays under y, detached, as `coder review move` leaves a collision."""
    def book(**codes: str) -> str:
        return "codes:\n" + "".join(f"  {code}:\n    label: {code.upper()}\n    keywords: [{word}]\n"
                                   for code, word in codes.items())

    project = write_project(tmp_path, book(x="joint"), {"a.txt": "The joint meeting was held.\n"})

    def decide(code: str, decision: str) -> None:
        frame = segments_of(project)
        frame.loc[frame["code"].eq(code), "review"] = decision
        frame.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
        coder_run(project)

    coder_run(project)
    decide("x", "accept")
    (project / "codebook.yaml").write_text(book(z="held"), encoding="utf-8")
    coder_run(project)
    (project / "codebook.yaml").write_text(book(z="held", y="joint"), encoding="utf-8")
    coder_run(project)
    decide("y", "reject")
    (project / "codebook.yaml").write_text(book(z="held", x="joint"), encoding="utf-8")
    coder_run(project)
    coder_run(project)
    reviews = pd.read_csv(project / "reviews.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert not reviews["segment_id"].duplicated().any()
    assert set(zip(reviews["code"], reviews["decision"])) >= {("x", "accept"), ("y", "reject")}
    assert segments_of(project).set_index("code").loc["x", "review"] == "accept"
