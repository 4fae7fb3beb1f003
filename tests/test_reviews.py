import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder.errors import OutputError
from coder.files import read_table
from coder.models import segment_id
from coder.reviews import (
    _START,
    REVIEW_COLUMNS,
    _normalized,
    _normalized_start,
    _PresentIds,
    _rows_by_passage_text,
    apply_reviews,
    attach_reviews,
    default_reviews_path,
    explain_detached,
    import_reviews,
    normalize_review,
    precision_by_code,
    precision_counts,
    read_reviews,
    review_status,
    write_reviews,
)
from coder.segments import is_rejected, normalize_decision

COLUMNS = ["segment_id", "document", "passage", "start", "end", "code", "code_path", "label",
           "hits", "matched", "text", "review", "note"]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def make_segments(rows):
    """rows: (document, passage, code, text[, review, note])"""
    records = []
    for row in rows:
        document, passage, code, text, *rest = row
        review, note = (list(rest) + ["", ""])[:2]
        records.append({
            "segment_id": segment_id(document, text, code), "document": document, "passage": passage,
            "start": 0, "end": len(text), "code": code, "code_path": code, "label": code.title(),
            "hits": 1, "matched": "", "text": text, "review": review, "note": note,
        })
    return pd.DataFrame(records, columns=COLUMNS)


def write_csv(frame, path, *, sep=",", encoding="utf-8-sig", lineterminator="\n"):
    frame.to_csv(path, sep=sep, index=False, encoding=encoding, lineterminator=lineterminator)
    return path


BASE = [
    ("a.txt", 0, "barrier", "Red tape slows the joint projects."),
    ("a.txt", 1, "meeting", "The joint meeting agreed on a plan."),
    ("b.txt", 0, "barrier", "Local protectionism is a barrier."),
]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("accept", "accept"), ("Accepted", "accept"), (" A ", "accept"), ("y", "accept"), ("YES", "accept"),
        ("1", "accept"), ("1.0", "accept"), ("true", "accept"), ("TRUE", "accept"), ("ok", "accept"),
        ("✓", "accept"), ("reject", "reject"), ("REJECTED", "reject"), ("r", "reject"), ("N", "reject"),
        ("no", "reject"), ("0", "reject"), ("false", "reject"), ("x", "reject"), ("X", "reject"),
        ("✗", "reject"), ("", None), ("   ", None), (None, None), (float("nan"), None),
    ],
)
def test_reviews_normalize_decision_tolerant_spellings(value, expected):
    assert normalize_decision(value) == expected


@pytest.mark.parametrize("value", ["maybe", "acept", "2", "yes!"])
def test_reviews_normalize_decision_rejects_unknown(value):
    with pytest.raises(ValueError) as error:
        normalize_decision(value)
    assert str(error.value) == (
        f"'{value}' is not a review decision. Write accept (or yes, y, 1, ok, ✓, 接受), "
        f"reject (or no, n, 0, x, ✗, 拒绝), add (to code a passage by hand) or withdraw (to remove the decision "
        f"taken), or leave it blank."
    )


@pytest.mark.parametrize("value, expected", [("No", True), ("maybe", False), ("", False), ("y", False)])
def test_reviews_is_rejected(value, expected):
    assert is_rejected(value) is expected


@pytest.mark.parametrize("codebook, expected", [("project/codebook.yaml", Path("project/reviews.csv"))])
def test_reviews_default_path_beside_codebook(codebook, expected):
    assert default_reviews_path(codebook) == expected


@pytest.mark.parametrize(
    "sep, encoding, lineterminator",
    [(",", "utf-8-sig", "\n"), (";", "utf-8", "\r\n"), ("\t", "utf-16", "\r\n"), (";", "cp1252", "\r\n"),
     (",", "gb18030", "\n")],
)
def test_reviews_read_table_lenient(tmp_path, sep, encoding, lineterminator):
    frame = make_segments([("a.txt", 0, "barrier", "Red tape; slows, the \"joint\" projects", "Yes", "ok")])
    if encoding == "gb18030":
        frame.loc[0, "text"] = "区域合作"
    path = write_csv(frame, tmp_path / "segments.csv", sep=sep, encoding=encoding, lineterminator=lineterminator)
    table = read_table(path)
    assert list(table.columns) == COLUMNS
    assert table.loc[0, "text"] == frame.loc[0, "text"]
    assert table.loc[0, "review"] == "Yes"
    assert table.loc[0, "passage"] == "0"


@pytest.mark.parametrize("name", ["segments.xlsx"])
def test_reviews_read_table_xlsx(tmp_path, name):
    frame = make_segments(BASE)
    frame.loc[1, "review"] = "n"
    frame.to_excel(tmp_path / name, index=False)
    table = read_table(tmp_path / name)
    assert table["review"].tolist() == ["", "n", ""]
    assert table["segment_id"].tolist() == frame["segment_id"].tolist()


@pytest.mark.parametrize("reviews_name", ["reviews.csv"])
def test_reviews_import_adds_new_decisions(tmp_path, reviews_name):
    frame = make_segments(BASE)
    frame.loc[0, ["review", "note"]] = ["y", "clear case"]
    frame.loc[2, "review"] = "no"
    source = write_csv(frame, tmp_path / "segments.csv", sep=";", lineterminator="\r\n")
    report = import_reviews(source, tmp_path / reviews_name, now=NOW)
    assert (report.added, report.updated, report.unchanged, report.total) == (2, (), 0, 2)
    assert report.backup is None
    reviews = read_reviews(tmp_path / reviews_name)
    assert list(reviews.columns) == list(REVIEW_COLUMNS)
    assert reviews.to_dict("records") == [
        {"segment_id": frame.loc[0, "segment_id"], "document": "a.txt", "passage": "0", "start": "0",
         "end": str(len(BASE[0][3])), "code": "barrier", "decision": "accept",
         "note": "clear case", "text": BASE[0][3], "reviewed_at": "2026-11-24T12:00:00+00:00", "context": ""},
        {"segment_id": frame.loc[2, "segment_id"], "document": "b.txt", "passage": "0", "start": "0",
         "end": str(len(BASE[2][3])), "code": "barrier", "decision": "reject",
         "note": "", "text": BASE[2][3], "reviewed_at": "2026-11-24T12:00:00+00:00", "context": ""},
    ]
    assert (tmp_path / reviews_name).read_bytes().startswith(b"\xef\xbb\xbfsegment_id,document,passage,start,end,code,decision")


@pytest.mark.parametrize("second_value", ["n"])
def test_reviews_import_updates_changed_and_keeps_blank(tmp_path, second_value):
    reviews_path = tmp_path / "reviews.csv"
    frame = make_segments(BASE)
    frame.loc[0, "review"] = "y"
    frame.loc[1, "review"] = "y"
    import_reviews(write_csv(frame, tmp_path / "round1.csv"), reviews_path, now=NOW)
    frame.loc[0, "review"] = second_value  # changed
    frame.loc[1, "review"] = ""  # blanked: must not withdraw the decision
    frame.loc[2, "review"] = "accept"  # new
    report = import_reviews(write_csv(frame, tmp_path / "round2.csv"), reviews_path, now=LATER)
    assert report.added == 1
    assert report.unchanged == 0
    assert [(change.segment_id, change.old, change.new) for change in report.updated] == [
        (frame.loc[0, "segment_id"], "accept", "reject")
    ]
    assert report.backup == str(tmp_path / "reviews.csv.bak")
    assert len(read_reviews(tmp_path / "reviews.csv.bak")) == 2
    reviews = read_reviews(reviews_path).set_index("segment_id")
    assert reviews["decision"].to_dict() == {
        frame.loc[0, "segment_id"]: "reject", frame.loc[1, "segment_id"]: "accept", frame.loc[2, "segment_id"]: "accept",
    }
    assert reviews["reviewed_at"].tolist() == [
        "2026-11-25T09:30:00+00:00", "2026-11-24T12:00:00+00:00", "2026-11-25T09:30:00+00:00",
    ]


@pytest.mark.parametrize("values", [("y", "n")])
def test_reviews_import_reports_conflicts_and_does_not_apply(tmp_path, values):
    frame = make_segments([BASE[0], BASE[0], BASE[1]])
    frame.loc[0, "review"], frame.loc[1, "review"] = values
    frame.loc[2, "review"] = "y"
    report = import_reviews(write_csv(frame, tmp_path / "segments.csv"), tmp_path / "reviews.csv", now=NOW)
    assert [(c.segment_id, c.code, c.rows, c.decisions) for c in report.conflicts] == [
        (frame.loc[0, "segment_id"], "barrier", (2, 3), ("accept", "reject"))
    ]
    assert report.added == 1
    assert read_reviews(tmp_path / "reviews.csv")["segment_id"].tolist() == [frame.loc[2, "segment_id"]]
    assert "conflict" in report.render()


@pytest.mark.parametrize("bad", ["maybe"])
def test_reviews_import_reports_invalid_rows(tmp_path, bad):
    frame = make_segments(BASE)
    frame.loc[1, "review"] = bad
    frame.loc[2, "review"] = "yes"
    report = import_reviews(write_csv(frame, tmp_path / "segments.csv"), tmp_path / "reviews.csv", now=NOW)
    assert [(invalid.row, invalid.value) for invalid in report.invalid] == [(3, bad)]
    assert report.added == 1
    assert report.render().splitlines()[-1] == (
        f"  row 3: '{bad}' is not a review decision. Write accept (or yes, y, 1, ok, ✓, 接受), "
        f"reject (or no, n, 0, x, ✗, 拒绝), add (to code a passage by hand) or withdraw (to remove the decision "
        f"taken), or leave it blank."
    )


@pytest.mark.parametrize("missing", ["review"])
def test_reviews_import_needs_review_column(tmp_path, missing):
    frame = make_segments(BASE).drop(columns=[missing])
    with pytest.raises(OutputError) as error:
        import_reviews(write_csv(frame, tmp_path / "s.csv"), tmp_path / "reviews.csv")
    assert str(error.value).startswith(f"{tmp_path / 's.csv'}: needs a review column (found: segment_id, document,")


@pytest.mark.parametrize("keep", [1])
def test_reviews_write_never_shrinks(tmp_path, keep):
    frame = make_segments(BASE)
    frame["review"] = ["y", "n", "y"]
    path = tmp_path / "reviews.csv"
    import_reviews(write_csv(frame, tmp_path / "s.csv"), path, now=NOW)
    before = path.read_bytes()
    fewer = read_reviews(path).iloc[:keep]
    with pytest.raises(OutputError) as error:
        write_reviews(fewer, path)
    assert str(error.value) == (
        f"{path}: refusing to write 1 review entries over 3 (2 would be lost). The review file is left unchanged."
    )
    assert path.read_bytes() == before
    assert not (tmp_path / "reviews.csv.bak").exists()


@pytest.mark.parametrize("note", ["only a note"])
def test_reviews_import_keeps_note_without_decision(tmp_path, note):
    frame = make_segments(BASE)
    frame.loc[1, "note"] = note
    report = import_reviews(write_csv(frame, tmp_path / "s.csv"), tmp_path / "reviews.csv", now=NOW)
    assert report.added == 1
    reviews = read_reviews(tmp_path / "reviews.csv")
    assert reviews[["decision", "note"]].values.tolist() == [["", note]]


@pytest.mark.parametrize("shift", [2])
def test_reviews_survive_recode_that_reorders_passages(tmp_path, shift):
    frame = make_segments(BASE)
    frame["review"] = ["y", "n", ""]
    frame.loc[0, "note"] = "good"
    import_reviews(write_csv(frame, tmp_path / "s.csv"), tmp_path / "reviews.csv", now=NOW)
    # A recode: a new paragraph is inserted before the others, so passage numbers move.
    recoded = make_segments([
        ("a.txt", 0, "meeting", "A new opening paragraph about the joint meeting."),
        ("a.txt", 0 + shift, "barrier", "Red tape slows the joint projects."),
        ("a.txt", 1 + shift, "meeting", "The joint meeting agreed on a plan."),
        ("b.txt", 0, "barrier", "Local protectionism is a barrier."),
    ])
    filled, orphans = apply_reviews(recoded, read_reviews(tmp_path / "reviews.csv"))
    assert filled["review"].tolist() == ["", "accept", "reject", ""]
    assert filled["note"].tolist() == ["", "good", "", ""]
    assert orphans.empty


@pytest.mark.parametrize("vanished", [0])
def test_reviews_vanished_segments_kept_and_reported(tmp_path, vanished):
    frame = make_segments(BASE)
    frame["review"] = ["n", "y", "y"]
    path = tmp_path / "reviews.csv"
    import_reviews(write_csv(frame, tmp_path / "s.csv"), path, now=NOW)
    recoded = frame.drop(index=vanished).reset_index(drop=True).assign(review="", note="")
    filled, orphans = apply_reviews(recoded, read_reviews(path))
    assert filled["review"].tolist() == ["accept", "accept"]
    assert orphans["segment_id"].tolist() == [frame.loc[vanished, "segment_id"]]
    assert orphans["decision"].tolist() == ["reject"]
    # Importing the recoded segments (with fewer rows) keeps the vanished decision.
    report = import_reviews(write_csv(filled, tmp_path / "s2.csv"), path, now=LATER)
    assert (report.added, report.total) == (0, 3)
    assert len(read_reviews(path)) == 3


@pytest.mark.parametrize("decisions", [["y", "n", "y", "", "y"]])
def test_reviews_precision_by_code(tmp_path, decisions):
    rows = BASE + [("c.txt", 0, "barrier", "Barriers everywhere."), ("c.txt", 1, "meeting", "Meeting notes.")]
    frame = make_segments(rows)
    frame["review"] = decisions
    import_reviews(write_csv(frame, tmp_path / "s.csv"), tmp_path / "reviews.csv", now=NOW)
    reviews = read_reviews(tmp_path / "reviews.csv")
    filled, _ = apply_reviews(frame.assign(review=""), reviews)
    table = precision_by_code(filled)
    assert table.to_dict("records") == [
        {"code": "barrier", "segments": 3, "reviewed": 2, "accepted": 2, "rejected": 0, "precision": 1.0,
         "added": 0, "recall": 1.0},
        {"code": "meeting", "segments": 2, "reviewed": 2, "accepted": 1, "rejected": 1, "precision": 0.5,
         "added": 0, "recall": 1.0},
    ]
    # Decisions on segments the run no longer produces do not count.
    filled, _ = apply_reviews(frame.iloc[[0, 1]].assign(review=""), reviews)
    assert precision_by_code(filled)[["code", "reviewed", "accepted", "precision"]].to_dict("records") == [
        {"code": "barrier", "reviewed": 1, "accepted": 1, "precision": 1.0},
        {"code": "meeting", "reviewed": 1, "accepted": 0, "precision": 0.0},
    ]
    status = review_status(tmp_path / "reviews.csv", frame.iloc[[0, 1]].assign(review=""))
    assert (status.entries, status.accepted, status.rejected, status.orphans) == (4, 3, 1, 2)
    assert status.render().splitlines()[:4] == [
        f"{tmp_path / 'reviews.csv'}: 4 entries: 3 accepted, 1 rejected.",
        "2 decision(s) are detached: the last run has no segment for them (kept):",
        "  b.txt, passage 0, barrier: accept; the document is not in the corpus (renamed or removed, and its "
        "passage text is not found once elsewhere)",
        "  c.txt, passage 1, meeting: accept; the document is not in the corpus (renamed or removed, and its "
        "passage text is not found once elsewhere)",
    ]


@pytest.mark.parametrize("added", [2])
def test_reviews_recall_estimate_from_added_passages(added):
    frame = make_segments(BASE[:1] * 1 + [("c.txt", 0, "barrier", "Barriers everywhere.")])
    frame["review"] = ["accept", "reject"]
    manual = make_segments([("d.txt", number, "barrier", f"Hand {number}.") for number in range(added)])
    frame = pd.concat([frame.assign(source="auto"), manual.assign(review="add", source="manual")], ignore_index=True)
    row = precision_by_code(frame).to_dict("records")[0]
    # precision 1/2 of 2 automatic segments: 1 true find; with 2 missed: recall 1/3.
    assert (row["precision"], row["added"], round(row["recall"], 4)) == (0.5, added, 0.3333)


@pytest.mark.parametrize("content", ["segment_id,decision\nabc,maybe\n"])
def test_reviews_read_reviews_reports_bad_decision(tmp_path, content):
    path = tmp_path / "reviews.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OutputError) as error:
        read_reviews(path)
    assert str(error.value).startswith(f"{path}:2: 'maybe' is not a review decision.")


@pytest.mark.parametrize(("backup_encoding", "note"), [("cp950", "相關"), ("gbk", "相关"), ("utf-8-sig", "相關")])
def test_reviews_read_reviews_knows_a_note_lost_in_a_save_by_a_backup_in_a_chinese_code_page(tmp_path, backup_encoding,
                                                                                              note):
    """A review file whose note typed in Chinese (on an English passage) a Windows-1252 save turned into "??",
    beside its backup saved as Big5 (a reviewer's Big5 save the last run replaced): the backup was read as
    Windows-1252, its note as mojibake, and "??" was read as the note, silently. It is refused, as beside a
    UTF-8 backup."""
    text = "The joint meeting was held."
    row = {"segment_id": segment_id("a.txt", text, "jm"), "document": "a.txt", "code": "jm", "decision": "reject",
           "note": note, "text": text}
    frame = pd.DataFrame([row])
    path = tmp_path / "reviews.csv"
    path.with_name("reviews.csv.bak").write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode(backup_encoding))
    path.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("cp1252", errors="replace"))
    with pytest.raises(OutputError) as error:
        read_reviews(path)
    assert str(error.value).startswith(f"{path}:2: saved as plain ASCII (Excel's \"CSV (Comma delimited)\", say), "
                                       f"which cannot hold Chinese and most other characters: 1 line(s) show \"?\" ")


@pytest.mark.parametrize("path_name", ["missing.csv"])
def test_reviews_read_reviews_missing_is_empty(tmp_path, path_name):
    reviews = read_reviews(tmp_path / path_name)
    assert list(reviews.columns) == list(REVIEW_COLUMNS)
    assert len(reviews) == 0


@pytest.mark.parametrize("decisions", [["y", "maybe", "n"]])
def test_reviews_cli_import_and_status(tmp_path, decisions):
    from typer.testing import CliRunner

    from coder.cli import app

    frame = make_segments(BASE)
    frame["review"] = decisions
    segments = write_csv(frame, tmp_path / "segments.csv")
    (tmp_path / "codebook.yaml").write_text("codes:\n  barrier: [red tape]\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["review", "import", str(segments), "--codebook", str(tmp_path / "codebook.yaml")])
    assert result.exit_code == 0
    reviews = tmp_path / "reviews.csv"
    assert result.stderr.splitlines() == [
        f"{segments}: 2 new, 0 changed, 0 unchanged review decisions -> {reviews} (2 in all).",
        "  row 3: 'maybe' is not a review decision. Write accept (or yes, y, 1, ok, ✓, 接受), reject (or no, n, 0, x, ✗, 拒绝), "
        "add (to code a passage by hand) or withdraw (to remove the decision taken), or leave it blank.",
        "0 conflicting and 1 unreadable rows were not applied.",
    ]
    status = runner.invoke(app, ["review", "status", "--reviews", str(reviews), "--segments", str(segments)])
    assert status.exit_code == 0
    assert status.stdout == (
        f"{reviews}: 2 entries: 1 accepted, 1 rejected.\n"
        "No detached decisions: each has its segment in the last run.\n"
        "code     reviewed  accepted  precision  added  recall (estimate)\n"
        "barrier         2         1        50%      0    100%\n"
    )


@pytest.mark.parametrize("mangled", ["1.23457E+15", "12345", "5.10941E+15"])
def test_reviews_import_falls_back_when_segment_id_is_mangled(tmp_path, mangled):
    frame = make_segments(BASE)
    frame["review"] = ["y", "y", "n"]
    good = frame.loc[1, "segment_id"]
    frame.loc[1, "segment_id"] = mangled
    frame.loc[2, "segment_id"] = mangled
    frame.loc[2, "text"] = ""  # no text either: nothing left to find the segment by
    report = import_reviews(write_csv(frame, tmp_path / "s.csv"), tmp_path / "reviews.csv", now=NOW)
    assert report.added == 2
    assert read_reviews(tmp_path / "reviews.csv")["segment_id"].tolist() == [frame.loc[0, "segment_id"], good]
    assert [(invalid.row, invalid.reason) for invalid in report.invalid] == [(
        4, f"segment_id '{mangled}' is not an id written by `coder run` (a spreadsheet may have turned it into "
        f"a number), and the row has no document, code and text to find the segment by. Copy the id from segments.csv.",
    )]


@pytest.mark.parametrize("old_id", ["0123456789abcdef"])
def test_reviews_old_ids_without_prefix_still_read(tmp_path, old_id):
    path = tmp_path / "reviews.csv"
    path.write_text(f"segment_id,document,code,decision,note,text,reviewed_at\n{old_id},a.txt,c,accept,,T,\n",
                    encoding="utf-8")
    assert read_reviews(path)["segment_id"].tolist() == ["s" + old_id]


@pytest.mark.parametrize("second", ["reject", "accept"])
def test_reviews_duplicate_lines_in_review_file(tmp_path, second):
    frame = make_segments(BASE)
    path = tmp_path / "reviews.csv"
    identifier = frame.loc[0, "segment_id"]
    path.write_text(
        "segment_id,document,code,decision,note,text,reviewed_at\n"
        f"{identifier},a.txt,barrier,accept,,T,\n{frame.loc[1, 'segment_id']},a.txt,meeting,reject,,U,\n"
        f"{identifier},a.txt,barrier,{second},,T,\n", encoding="utf-8")
    if second == "accept":  # the same line twice (two files pasted together): read once
        assert len(read_reviews(path)) == 2
        frame["review"] = ["n", "", ""]
        report = import_reviews(write_csv(frame, tmp_path / "s.csv"), path, now=NOW)
        assert (report.updated[0].new, report.total) == ("reject", 2)
        return
    with pytest.raises(OutputError) as error:
        read_reviews(path)
    assert str(error.value) == (
        f"{path}: 1 segment(s) appear on several lines with different decisions (two review files pasted together?):\n"
        f"  {identifier} (barrier, a.txt): lines 2, 4 say accept / reject\n"
        f"Keep one line per segment in {path} and run the command again."
    )


@pytest.mark.parametrize("rounds", [2])
def test_reviews_backup_keeps_previous_good_copy(tmp_path, rounds, monkeypatch):
    frame = make_segments(BASE)
    path = tmp_path / "reviews.csv"
    for number in range(rounds):
        frame["review"] = ["y" if number == 0 else "n", "", ""]
        import_reviews(write_csv(frame, tmp_path / "s.csv"), path, now=NOW)
    backup = path.with_name("reviews.csv.bak")
    good = backup.read_bytes()
    import shutil

    def full_disk(source, target, *args, **kwargs):
        with open(target, "wb") as stream:
            stream.write(b"trunc")
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    frame["review"] = ["y", "", ""]
    with pytest.raises(OSError):
        import_reviews(write_csv(frame, tmp_path / "s.csv"), path, now=NOW)
    assert backup.read_bytes() == good
    assert [name.name for name in tmp_path.iterdir() if name.name.endswith(".tmp")] == []


# --- the review path's cost follows the review file, not the run (same results as before) ---------

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000"
TRICKY = WHITESPACE + "abcAB.-\u00df\u1e9e\u0130\u0131\u03a3\u03c3\u03c2\ufb01\u212a\u0149"


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(alphabet=TRICKY, max_size=160), st.text(max_size=160)))
@example(text="\n" * 50 + " Cross-regional governance and government cooperation")  # the start is past the first characters
@example(text=" " * 44 + "Cross-regional governance and government cooperation")  # 20 characters of it there
@example(text="\u0149" * 30)  # casefold makes each of these two characters
def test_reviews_normalized_is_the_regex_form_and_its_start_is_its_first_characters(text):
    assert _normalized(text) == re.sub(r"\s+", " ", text).strip().casefold()
    assert _normalized_start(text) == _normalized(text)[:_START]


PASSAGES = [
    "Cross-regional governance and government cooperation is an important way.",
    "Cross-regional governance and government cooperation is an important road.",  # the same start
    "CROSS-REGIONAL   governance and government\ncooperation is an important way.",  # the same normalized
    "Short one.", "short  ONE.", "",
]


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(range(len(PASSAGES))),
                               st.text(alphabet=WHITESPACE, max_size=90)), min_size=1, max_size=12),
       asked=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(range(len(PASSAGES)))), max_size=4),
       dtype=st.sampled_from([object, "str"]))
@example(rows=[("a", 0, "\t" * 70), ("a", 1, "")], asked=[("a", 0)], dtype=object)
def test_reviews_rows_by_passage_text_finds_what_normalizing_every_row_finds(rows, asked, dtype):
    frame = pd.DataFrame({"code": [code for code, _, _ in rows],
                          "text": pd.Series([space + PASSAGES[number] for _, number, space in rows], dtype=dtype)})
    wanted = {(code, _normalized(PASSAGES[number])) for code, number in asked}
    expected: dict = {}
    for position, (code, text) in enumerate(zip(frame["code"], frame["text"])):
        if (code, _normalized(text)) in wanted:
            expected.setdefault((code, _normalized(text)), []).append(position)
    assert _rows_by_passage_text(frame, wanted) == expected


@pytest.mark.parametrize("asked, later, expected", [(["s1", "s9"], ["s2", "s8"], [True, False, True, False])])
def test_reviews_present_ids_answers_ids_asked_first_and_later(asked, later, expected):
    present = _PresentIds(pd.Series(["s1", "s2", "s3"], dtype="str"), asked)
    assert [identifier in present for identifier in asked + later] == expected
    present.add("s8")
    assert "s8" in present


MOVED = [
    ("new.txt", 0, "barrier", "Red tape slows the joint projects."),
    ("new.txt", 1, "meeting", "The joint meeting agreed on a plan."),
    ("new.txt", 2, "barrier", "Twice said."),
    ("other.txt", 0, "barrier", "Twice said."),
    ("other.txt", 1, "meeting", "Kept where it was."),
]


def review_entry(document, passage, code, text, decision="accept"):
    return {"segment_id": segment_id(document, text, code), "document": document, "passage": str(passage), "start": "0",
            "end": str(len(text)), "code": code, "decision": decision, "note": "", "text": text, "reviewed_at": "x"}


@pytest.mark.parametrize("dtype", [object, "str"])
def test_reviews_decisions_follow_a_renamed_document_only_to_one_passage(dtype):
    segments = make_segments(MOVED).astype({"segment_id": dtype, "document": dtype, "code": dtype, "text": dtype})
    reviews = pd.DataFrame([
        review_entry("old.txt", 0, "barrier", "Red tape slows the joint projects."),  # followed
        review_entry("old.txt", 1, "meeting", "THE joint   meeting agreed\non a plan.", "reject"),  # followed: same text
        review_entry("old.txt", 2, "barrier", "Twice said."),  # in two places: never guessed
        review_entry("old.txt", 3, "barrier", "Nowhere now."),  # gone
        review_entry("old.txt", 0, "meeting", "Red tape slows the joint projects."),  # the text, under another code
        review_entry("other.txt", 1, "meeting", "Kept where it was."),  # attached by its id
    ], columns=list(REVIEW_COLUMNS))
    applied = attach_reviews(segments, reviews)
    assert applied.followed == 2
    assert applied.reviews[["document", "passage"]].values.tolist() == [
        ["new.txt", "0"], ["new.txt", "1"], ["old.txt", "2"], ["old.txt", "3"], ["old.txt", "0"], ["other.txt", "1"]]
    assert applied.reviews["segment_id"].tolist()[:2] == segments["segment_id"].tolist()[:2]
    assert applied.detached["segment_id"].tolist() == reviews["segment_id"].tolist()[2:5]
    assert applied.segments["review"].tolist() == ["accept", "reject", "", "", "accept"]


@pytest.mark.parametrize("given_names", [False, True])
def test_reviews_explain_detached_looks_at_the_entries_documents(given_names):
    segments = make_segments([("a.txt", 0, "barrier", "Red tape slows the joint projects."),
                              ("b.txt", 0, "meeting", "Meetings are held.")])
    detached = pd.DataFrame([
        review_entry("a.txt", 0, "retired", "Red tape slows the joint projects."),
        review_entry("z.txt", 0, "barrier", "Red tape slows the joint projects."),
        review_entry("a.txt", 3, "barrier", "Typed by hand.", "add"),
        review_entry("a.txt", 0, "meeting", "red  TAPE slows the joint projects."),
        review_entry("a.txt", 1, "barrier", "Meetings are held."),  # coded, but in another document
        {**review_entry("a.txt", 0, "meeting", "Red tape slows the joint projects.", ""), "note": "n"},  # (WW2)
        {**review_entry("a.txt", 0, "barrier", "Red tape slows the joint projects.", ""), "note": "n",
         "context": "ab12-cd34"},  # a note alone on a repeated passage: not a copy lost (WW10)
        {**review_entry("a.txt", 2, "barrier", "Never coded.", ""), "note": "n"},  # nor a text changed (WW10)
    ], columns=list(REVIEW_COLUMNS))
    names = {"codes": ["barrier", "meeting"], "documents": ["a.txt", "b.txt"]} if given_names else {}
    explained = explain_detached(detached, segments, **names)
    assert explained["why"].tolist() == [
        "code 'retired' is not in the codebook: `coder review reattach retired NEW_CODE`",
        "the document is not in the corpus (renamed or removed, and its passage text is not found once elsewhere)",
        "the passage text is no longer in the document",
        "the code no longer codes this passage (its keywords changed)",
        "no code codes this passage now, or its text changed",
        *["a note without a decision, on a passage the code does not code now (a hand coding withdrawn, its keywords or "
          "the passage changed): delete its row in the review file if it is not wanted"] * 3,
    ]


def test_reviews_detached_notes_are_not_counted_as_decisions():
    from coder.reviews import detached_count

    assert detached_count(pd.Series([True, True])) == "2 decision(s) are"
    assert detached_count(pd.Series([True, False, False])) == "1 decision(s) and 2 note(s) without a decision are"
    assert detached_count(pd.Series([False])) == "1 note(s) without a decision are"


@pytest.mark.parametrize("dtype", [object, "str"])
def test_reviews_precision_counts_read_each_spelling_as_a_row_would(dtype):
    cells = ["", " Yes ", "X", "bogus", None, "ADD", "reject", "", "ok", "n"]
    sources = ["auto", "auto", "auto", "auto", "auto", "manual", "auto", "manual", "auto", "auto"]
    segments = pd.DataFrame({"code": ["b", "a", "b", "a", "b", "a", "a", "b", "b", "a"],
                             "review": pd.Series(cells, dtype=dtype), "source": sources})

    def decided(cell):
        try:
            return normalize_review(str(cell).strip().casefold()) or "" if cell is not None else ""
        except ValueError:
            return ""

    expected = {}
    for code, cell, source in zip(segments["code"], cells, sources):
        counts = expected.setdefault(code, [0, 0, 0, 0])
        automatic = source != "manual"
        counts[0] += automatic
        counts[1] += automatic and decided(cell) in ("accept", "add")
        counts[2] += automatic and decided(cell) == "reject"
        counts[3] += not automatic
    table = precision_counts(segments)
    assert {row[0]: list(row[1:]) for row in table.itertuples(index=False)} == expected
    assert table.columns.tolist() == ["code", "segments", "accepted", "rejected", "added"]


def _asked_row_by_row(frame: pd.DataFrame, passages: pd.DataFrame, plan) -> dict:
    """partitioned._asked as it was: every row of a followed code normalized whole (the oracle)."""
    from coder.reviews import _normalized

    texts = {(document, int(passage)): text for document, passage, text in
             zip(passages["document"], passages["passage"], passages["text"])}
    follow_codes = {code for code, _ in plan.follow}
    keep = [code in follow_codes and (code, _normalized(texts.get((document, int(passage)), ""))) in plan.follow
            for code, document, passage in zip(frame["code"], frame["document"], frame["passage"])]
    chosen = frame[keep]
    coded = {(document, _normalized(texts.get((document, int(passage)), "")))
             for document, passage in zip(frame["document"], frame["passage"])}
    return {"candidates": sorted(chosen["segment_id"]), "coded_texts": frozenset(coded & plan.entries)}


_PASSAGE_TEXTS = st.sampled_from([
    "Joint meeting of the two cities", "joint   MEETING of the two cities", "Joint meeting of the two towns",
    " " * 70 + "Joint meeting of the two cities", "Straße und Kooperation", "STRASSE UND KOOPERATION", "", "区域 合作",
])


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_PASSAGE_TEXTS, min_size=1, max_size=8), followed=st.lists(_PASSAGE_TEXTS, max_size=3),
       codes=st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=8))
def test_reviews_partition_answers_what_normalizing_every_row_answers(texts, followed, codes):
    """A partition compares passages by the start of their normalized text first: it finds the
    rows a lost decision may follow and the coded texts of the decisions' documents that comparing
    every row's whole normalized text finds."""
    from coder.partitioned import ReviewPlan, _asked
    from coder.reviews import _normalized

    passages = pd.DataFrame({"document": ["d.txt"] * len(texts), "passage": range(len(texts)), "text": texts})
    rows = [(f"s{index:016x}", "d.txt", index % len(texts), 0, 1, code) for index, code in enumerate(codes)]
    frame = pd.DataFrame(rows, columns=["segment_id", "document", "passage", "start", "end", "code"])
    plan = ReviewPlan(reviews=pd.DataFrame(), asked=frozenset(),
                      follow=frozenset(("a", _normalized(text)) for text in followed),
                      entries=frozenset(("d.txt", _normalized(text)) for text in followed))

    asked = _asked(frame, passages, plan)
    expected = _asked_row_by_row(frame, passages, plan)

    found = [] if asked["candidates"] is None else sorted(asked["candidates"]["segment_id"])
    assert found == expected["candidates"]
    assert asked["coded_texts"] == expected["coded_texts"]


_HEADER = "segment_id,document,passage,start,end,code,decision,note,text,reviewed_at,context"
_ROW = "s6ad3549fad60f6b4,a.txt,0,0,27,joint_meeting,accept,ok,The joint meeting was held.,2026-12-08T00:12:05+00:00,"


@pytest.mark.parametrize(("data", "message"), [
    # Excel's `sep=;` line before the header
    (("sep=;\r\n" + _HEADER.replace(",", ";") + "\r\n" + _ROW.replace(",", ";") + "\r\n").encode(), "row 2 has more cells"),
    # UTF-16 without a byte order mark
    ((_HEADER.replace(",", "\t") + "\r\n" + _ROW.replace(",", "\t") + "\r\n").encode("utf-16-le"), "binary data"),
    ((_HEADER.replace(",", "\t") + "\r\n" + _ROW.replace(",", "\t") + "\r\n").encode("utf-16-be"), "binary data"),
    # the columns renamed, a row ragged
    (("Segment ID" + _HEADER[10:].replace("decision", "Decision") + "\n" + _ROW + "\n" + _ROW + ",EXTRA\n").encode(),
     "Expected 11 fields in line 3"),
])
def test_review_file_the_reader_cannot_read_keeps_the_readers_message(tmp_path, data, message):
    """A review file read_table cannot read, whose header row names the review columns however it was saved,
    is named by the reader's message, not "not a review file" (probe BH4: the header was read as UTF-8's first line)."""
    path = tmp_path / "reviews.csv"
    path.write_bytes(data)
    with pytest.raises(OutputError) as error:
        read_reviews(path)
    assert message in str(error.value) and "not a review file" not in str(error.value)
