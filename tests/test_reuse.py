"""`coder run` after a label, colour or description edit reuses the last run's coding, byte for byte."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import output_files, run_ok

from coder.runs import RunFolder

ROOT = Path(__file__).resolve().parent.parent
REUSED = "Reused the coding of the last run"


def _seeds(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the bundled seeds and codebook (runs lock the codebook's folder; tests edit both)."""
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    shutil.copy(ROOT / "codebook.yaml", codebook)
    return corpus, codebook


def _cold_runs(corpus: Path, codebook: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two cold runs (no CSV views): `fast` to recode with the cache, `full` to recode with --no-cache."""
    fast, full = tmp_path / "fast", tmp_path / "full"
    for out in (fast, full):
        run_ok(corpus, codebook, out, "--csv", "never")
    return fast, full


def _run_loading(corpus: Path, codebook: Path, out: Path, names: tuple[str, ...], *options: str) -> subprocess.CompletedProcess:
    """A `coder run` into `out` in a fresh interpreter, which prints the sorted list of `names` it loaded
    (the app itself: `python -m coder` would end the process before the list is printed)."""
    arguments = ["run", str(corpus), "--codebook", str(codebook), "--out", str(out), "--csv", "never", *options]
    script = (
        "import sys\nfrom coder.cli import app\n"
        f"sys.argv = ['coder', *{arguments!r}]\n"
        "try:\n    app(prog_name='coder')\nexcept SystemExit as stop:\n    assert not stop.code\n"
        f"print(sorted(name for name in {names!r} if name in sys.modules))\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)


def _edit_codebook(path: Path, edit: str) -> None:
    text = path.read_text(encoding="utf-8")
    edits = {
        "label": ("label: Party-building alliance", "label: Party alliances (renamed)"),
        "colour": ('color: "#d62728"', 'color: "#123456"'),
        "description": ("Party organisations of neighbouring", "Party committees of adjacent"),
        "keyword": ("      - joint construction\n", "      - joint construction\n      - standing alliance\n"),
        "name": ("name: ", "name: Renamed "),
        "formula label": ("label: Party-building alliance", "label: '=Party, \"alliances\"'"),
        # a child's own colour (it was accepted and the parent's drawn, probe O6), and a label holding an open
        # bidi override (an isolate on the page, probe O5): a presentation edit gives what a full run gives
        "child colour": ("        label: Regional party-building integration\n",
                         "        label: Regional party-building integration\n        color: \"#00aa00\"\n"),
        "bidi label": ("label: Party-building alliance", "label: \"Party-building \\u202e alliance\""),
    }
    old, new = edits[edit]
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_corpus(corpus: Path, edit: str) -> None:
    if edit == "touched document":
        path = sorted(corpus.glob("*.txt"))[0]
        path.write_bytes(path.read_bytes())  # same text, new modification time
    elif edit == "changed document":
        path = sorted(corpus.glob("*.txt"))[0]
        path.write_text(path.read_text(encoding="utf-8") + "\n\nA standing party building alliance met.\n",
                        encoding="utf-8")
    elif edit == "reviews":
        pass  # written by the test, beside the codebook
    elif edit == "new document":
        (corpus / "zz_new.txt").write_text("Joint construction of a party building alliance.\n", encoding="utf-8")


# Files a label, colour or description edit cannot change: without CSVs the recode keeps them as they are.
KEPT = ("passages.parquet", "code_counts_long.csv", "cooccurrence_matrix.csv", "network.html")


@pytest.mark.parametrize("csv_mode", ["auto", "never"])
@pytest.mark.parametrize(
    ("codebook_edit", "corpus_edit", "reused"),
    [
        ("label", None, True),
        ("colour", None, True),
        ("description", None, True),
        ("name", None, True),
        ("formula label", None, True),
        ("child colour", None, True),
        ("bidi label", None, True),
        ("keyword", None, False),
        ("label", "touched document", True),
        ("label", "changed document", False),
        ("label", "new document", False),
        ("label", "reviews", True),
    ],
)
def test_reuse_recode_after_edit_matches_a_full_run(tmp_path, codebook_edit, corpus_edit, reused, csv_mode):
    corpus, codebook = _seeds(tmp_path)
    fast, full = tmp_path / "fast", tmp_path / "full"
    run_ok(corpus, codebook, fast, "--csv", csv_mode)
    run_ok(corpus, codebook, full, "--csv", csv_mode)
    inodes = {name: (fast / name).stat().st_ino for name in KEPT}
    _edit_codebook(codebook, codebook_edit)
    if corpus_edit:
        _edit_corpus(corpus, corpus_edit)
    if corpus_edit == "reviews":
        rows = RunFolder(fast).read_segments()[["segment_id", "document", "code"]].head(3).to_dict("records")
        (tmp_path / "reviews.csv").write_text(
            "segment_id,document,code,decision,note,text,reviewed_at\n"
            f"{rows[0]['segment_id']},{rows[0]['document']},{rows[0]['code']},reject,not this one,x,\n"
            f"{rows[2]['segment_id']},{rows[2]['document']},{rows[2]['code']},accept,,x,\n", encoding="utf-8")

    output = run_ok(corpus, codebook, fast, "--csv", csv_mode)
    run_ok(corpus, codebook, full, "--csv", csv_mode, "--no-cache")

    assert (REUSED in output) is reused
    if reused and corpus_edit == "reviews":  # its count says what the run's "coded segment(s)" left out
        assert "segment(s), 1 rejected among them): the documents" in output
    assert output_files(fast) == output_files(full)
    # Only a run like the last one (no reviews) keeps files rather than writing them again; with CSV
    # views too (segments.csv is written again from segments.parquet, passages.csv copied).
    kept = reused and corpus_edit != "reviews"
    assert {name: (fast / name).stat().st_ino for name in KEPT} == inodes if kept else True
    # A keyword edit (of a code using Chinese, as every code of the shipped codebook) is a keyword recode,
    # which keeps passages.parquet too: only the edited code is matched again since 678f9f6.
    assert (inodes["passages.parquet"] == (fast / "passages.parquet").stat().st_ino) is (kept or codebook_edit == "keyword")
    if corpus_edit == "reviews":
        statuses = RunFolder(fast).read_segments()[["status", "review", "note"]].head(1).to_dict("records")
        assert statuses == [{"status": "rejected", "review": "reject", "note": "not this one"}]


@pytest.mark.parametrize("edit", ["label", "colour"])
def test_reuse_edit_with_csv_views_writes_them_anew_and_a_decision_typed_after_still_counts(tmp_path, edit):
    """With segments.csv and passages.csv (a run of at most 100,000 segments), a label or colour edit
    still takes the shortcut: segments.csv is written again (labels, and every status `unchanged`
    now), passages.csv copied, neither linked to the last run's file. What is typed into segments.csv
    after such a run is imported by the next run, as after a full run."""
    import csv

    corpus, codebook = _seeds(tmp_path)
    out = tmp_path / "out"
    run_ok(corpus, codebook, out)
    inodes = {name: (out / name).stat().st_ino for name in ("segments.csv", "passages.csv", "passages.parquet")}
    _edit_codebook(codebook, edit)

    output = run_ok(corpus, codebook, out)

    assert REUSED in output and (out / "passages.parquet").stat().st_ino == inodes["passages.parquet"]  # the shortcut
    assert all((out / name).stat().st_ino != inodes[name] for name in ("segments.csv", "passages.csv"))
    assert re.search(r"Results in .*segments\.csv, code_counts\.csv, run\.json, passages\.csv, segments\.parquet", output)
    with open(out / "segments.csv", encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.reader(stream))
    header = rows[0]
    assert {row[header.index("status")] for row in rows[1:]} == {"unchanged"}
    assert ("Party alliances (renamed)" in {row[header.index("label")] for row in rows[1:]}) is (edit == "label")
    rows[1][header.index("review")], rows[1][header.index("note")] = "reject", "typed after the shortcut"
    with open(out / "segments.csv", "w", encoding="utf-8-sig", newline="") as stream:
        csv.writer(stream, lineterminator="\r\n").writerows(rows)

    run_ok(corpus, codebook, out)

    rejected = RunFolder(out).read_segments().query("review == 'reject'")
    assert rejected[["segment_id", "note", "status"]].values.tolist() == [[rows[1][0], "typed after the shortcut", "rejected"]]


def test_reuse_recode_relabels_segments(tmp_path):
    corpus, codebook = _seeds(tmp_path)
    out = tmp_path / "out"
    run_ok(corpus, codebook, out)
    _edit_codebook(codebook, "label")

    run_ok(corpus, codebook, out)

    text = (out / "segments.csv").read_text(encoding="utf-8-sig")
    assert "Party alliances (renamed)" in text
    assert "Party-building alliance" not in text


@pytest.mark.parametrize(
    "damage",
    ["code_counts.csv edited", "codes.csv edited", "report.html edited", "segments.parquet replaced",
     "presented.json damaged", "presented.json removed", "second edit", "passage repeated in a document"],
)
def test_reuse_recode_checks_what_it_keeps(tmp_path, damage):
    corpus, codebook = _seeds(tmp_path)
    if damage == "passage repeated in a document":  # two segments with one id: the comparison counts it once
        path = sorted(corpus.glob("*.txt"))[0]
        repeated = "A party building alliance for joint construction.\n\n"
        path.write_text(repeated + path.read_text(encoding="utf-8") + "\n\n" + repeated, encoding="utf-8")
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    if damage.endswith("edited"):
        path = fast / damage.split()[0]
        path.write_bytes(path.read_bytes().replace(b"Party-building alliance", b"Party-building alliancE"))
    elif damage == "segments.parquet replaced":
        shutil.copy(fast / "segments.parquet", tmp_path / "copy.parquet")  # the same bytes, another file
        os.replace(tmp_path / "copy.parquet", fast / "segments.parquet")
    elif damage == "presented.json damaged":
        (fast / ".cache" / "presented.json").write_text('{"format": 1, "graph": [', encoding="utf-8")
    elif damage == "presented.json removed":
        (fast / ".cache" / "presented.json").unlink()
    _edit_codebook(codebook, "label")
    if damage == "second edit":
        run_ok(corpus, codebook, fast, "--csv", "never")
        run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")
        _edit_codebook(codebook, "colour")
    inode = (fast / "passages.parquet").stat().st_ino

    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert REUSED in output
    assert output_files(fast) == output_files(full)
    assert ((fast / "passages.parquet").stat().st_ino == inode) is (damage in ("second edit", "passage repeated in a document"))


@pytest.mark.parametrize("edit", [None, "label"])
def test_reuse_recode_never_takes_a_segment_table_written_since(tmp_path, edit):
    """A segments.parquet written since the run (rows dropped by another tool, say) is not the run's
    coding: the next run, edit or none, codes again and finds what a fresh run finds."""
    import pyarrow.parquet as pq

    corpus, codebook = _seeds(tmp_path)
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    table = pq.read_table(fast / "segments.parquet")
    pq.write_table(table.slice(0, table.num_rows - 5), fast / "segments.parquet")
    if edit:
        _edit_codebook(codebook, edit)

    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert REUSED not in output
    coded = [RunFolder(out).read_segments().drop(columns="status") for out in (fast, full)]
    pd.testing.assert_frame_equal(coded[0], coded[1])
    assert len(coded[0]) == table.num_rows
    for name in ("code_counts.csv", "cooccurrence.csv", "report.html"):
        assert (fast / name).read_bytes() == (full / name).read_bytes()


@pytest.mark.parametrize("edit", ["colour", "description"])
def test_reuse_recode_keeps_the_files_an_edit_leaves_alone(tmp_path, edit):
    """After a label edit, a colour or description edit keeps segments.parquet and the CSVs (links to the
    last run's files, not written again) and still gives a full run's outputs."""
    corpus, codebook = _seeds(tmp_path)
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    _edit_codebook(codebook, "label")
    run_ok(corpus, codebook, fast, "--csv", "never")  # every segment "unchanged" from here on
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")
    kept = ("segments.parquet", "code_counts.csv", "codes.csv", "cooccurrence.csv", *KEPT)
    inodes = {name: (fast / name).stat().st_ino for name in kept}
    _edit_codebook(codebook, edit)

    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert REUSED in output
    assert output_files(fast) == output_files(full)
    assert {name: (fast / name).stat().st_ino for name in kept} == inodes


@pytest.mark.parametrize("edit", ["label", "colour"])
def test_reuse_recode_loads_no_graph_or_language_library(tmp_path, edit):
    """A label or colour edit redoes only what shows them: networkx, scipy, pyvis, spaCy, jieba and the
    matcher's own modules (matching, passages, pipeline, recode) stay unloaded."""
    (corpus, codebook), out = _seeds(tmp_path), tmp_path / "out"
    run_ok(corpus, codebook, out, "--csv", "never")
    _edit_codebook(codebook, edit)
    result = _run_loading(corpus, codebook, out, ("networkx", "scipy", "pyvis", "spacy", "jieba", "coder.matching",
                                                  "coder.passages", "coder.pipeline", "coder.recode"))
    assert REUSED in result.stderr
    assert result.stdout == "[]\n"


@pytest.mark.parametrize("quiet", [("--quiet",), ()])
@pytest.mark.parametrize("edit", ["label", "colour"])
def test_reuse_recode_imports_no_pandas(tmp_path, edit, quiet):
    """`coder run` after a label or colour edit never imports pandas (0.3 s, a third of the edit's time),
    with its summary or without: nothing it writes or prints needs a frame, and pyarrow imports it for
    pa.array() and to_numpy()."""
    (corpus, codebook), out = _seeds(tmp_path), tmp_path / "out"
    run_ok(corpus, codebook, out, "--csv", "never")
    _edit_codebook(codebook, edit)
    inode = (out / "passages.parquet").stat().st_ino
    result = _run_loading(corpus, codebook, out, ("pandas", "coder.recode"), *quiet)
    assert result.stdout == "[]\n"
    assert (REUSED in result.stderr) is not quiet
    assert (out / "passages.parquet").stat().st_ino == inode  # the edit was redone from the last run's files


@pytest.mark.parametrize("edit", ["label", "formula label", "colour"])
def test_reuse_recode_report_is_a_full_runs(tmp_path, edit):
    """run_coding's report after a label or colour edit counts what a full run's counts (its segments stay
    in the folder: `tally`), and its comparison writes the changes.csv the run wrote."""
    from coder.diff import write_changes_csv
    from coder.runner import SegmentTally, run_coding

    corpus, codebook = _seeds(tmp_path)
    fast, full = tmp_path / "fast", tmp_path / "full"
    for out in (fast, full):
        run_coding(corpus, codebook, out, csv="never")
    _edit_codebook(codebook, edit)

    report = run_coding(corpus, codebook, fast, csv="never")
    expected = run_coding(corpus, codebook, full, csv="never", use_cache=False)

    assert report.coding_reused and (fast / "changes.csv").read_bytes() == (full / "changes.csv").read_bytes()
    assert report.result.segments is None and report.counted_segments is None
    counted = expected.counted_segments
    assert report.tally == SegmentTally(segments=len(expected.result.segments), added=0,
                                        counted_by_code=counted.groupby("code", sort=False).size().to_dict())
    pd.testing.assert_frame_equal(report.comparison.table(), expected.comparison.table())
    assert report.comparison.segments_added == report.comparison.segments_removed == 0
    write_changes_csv(report.comparison, tmp_path / "changes.csv")
    assert (tmp_path / "changes.csv").read_bytes() == (fast / "changes.csv").read_bytes()


@pytest.mark.parametrize("edit", ["label", "colour"])
def test_reuse_recode_summary_is_a_full_runs(tmp_path, edit):
    """The terminal summary after a label or colour edit (printed from counts, no segment table) counts
    and compares as a full run's does; only the line saying the coding was reused is its own."""
    corpus, codebook = _seeds(tmp_path)
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    _edit_codebook(codebook, edit)
    inode = (fast / "passages.parquet").stat().st_ino

    shown = {out: run_ok(corpus, codebook, out, "--csv", "never", *options)
             for out, options in ((fast, ()), (full, ("--no-cache",)))}

    assert (fast / "passages.parquet").stat().st_ino == inode  # the edit was redone from the last run's files
    lines = {out: re.sub(r"\(\d{4}-\d\d-\d\dT[^)]*\)|in \d+\.\d\ds", "", text.replace(str(out), "OUT")).splitlines()
             for out, text in shown.items()}
    assert [line for line in lines[fast] if not line.startswith(REUSED)] == lines[full]
    assert "Segments per code:" in lines[full] and any(line.startswith("Since the previous run") for line in lines[full])


@pytest.mark.parametrize("edit", ["label"])
def test_reuse_recode_writes_segments_whole_when_columns_cannot_be_replaced(tmp_path, monkeypatch, edit):
    """A segments.parquet that parquet_columns cannot splice is written whole: the same outputs."""
    import coder.reuse

    def refuse(data: bytes, columns: bytes) -> bytes:
        raise ValueError("Parquet: refused by the test")

    corpus, codebook = _seeds(tmp_path)
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    inode = (fast / "passages.parquet").stat().st_ino
    _edit_codebook(codebook, edit)
    monkeypatch.setattr(coder.reuse, "replace_columns", refuse)

    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert REUSED in output and (fast / "passages.parquet").stat().st_ino == inode
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("edit, read", [("keyword", False), ("label", True)])
def test_reuse_note_is_read_only_when_only_the_presentation_changed(tmp_path, monkeypatch, edit, read):
    """A keyword edit is told from the codebooks alone: the note of the map's graph (presented.json) is not
    parsed for a run that cannot reuse it."""
    from coder import reuse

    corpus, codebook = _seeds(tmp_path)
    fast, full = _cold_runs(corpus, codebook, tmp_path)
    _edit_codebook(codebook, edit)
    names = []
    monkeypatch.setattr(reuse, "read_own_bytes", lambda path: names.append(Path(path).name) or Path(path).read_bytes())
    output = run_ok(corpus, codebook, fast, "--csv", "never")
    run_ok(corpus, codebook, full, "--csv", "never", "--no-cache")

    assert ("presented.json" in names) is read
    assert (REUSED in output) is read
    assert output_files(fast) == output_files(full)
