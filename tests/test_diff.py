import json

import pandas as pd
import pytest
from conftest import invoke
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder.codebook import codebook_to_records, parse_codebook
from coder.diff import (
    CHANGES_COLUMNS,
    CodebookChange,
    compare_runs,
    compare_with_previous,
    diff_codebooks,
    diff_segments,
    render_comparison,
    write_changes_csv,
)
from coder.models import segment_id
from coder.runs import RunFolder

BASE_YAML = """
name: Test
codes:
  barriers:
    label: Barriers
    description: Things that block cooperation.
    codes:
      administrative_barrier:
        label: Administrative barrier
        color: "#ff0000"
        keywords: [red tape, bureaucracy]
        exclude: [red tape measure]
      market_barrier:
        label: Market barrier
        keywords: [local protectionism]
  cooperation:
    label: Cooperation
    codes:
      joint_meeting:
        label: Joint meeting
        keywords: [joint meeting, 联席会议]
        regex: ['joint\\s+conference']
"""


def records(yaml_text):
    return codebook_to_records(parse_codebook(yaml_text))


def edit(old, new):
    assert old in BASE_YAML
    return BASE_YAML.replace(old, new)


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        (BASE_YAML, []),
        (edit("[red tape, bureaucracy]", "[red tape, bureaucracy, paperwork]"),
         [CodebookChange("administrative_barrier", "keyword added", "paperwork")]),
        (edit("[red tape, bureaucracy]", "[red tape]"),
         [CodebookChange("administrative_barrier", "keyword removed", "bureaucracy")]),
        (edit("['joint\\s+conference']", "['joint\\s+(conference|session)']"),
         [CodebookChange("joint_meeting", "regex added", "joint\\s+(conference|session)"),
          CodebookChange("joint_meeting", "regex removed", "joint\\s+conference")]),
        (edit("exclude: [red tape measure]", "exclude: [red tape measure, red tape cutting]"),
         [CodebookChange("administrative_barrier", "exclude added", "red tape cutting")]),
        (edit("        exclude: [red tape measure]\n", ""),
         [CodebookChange("administrative_barrier", "exclude removed", "red tape measure")]),
        (BASE_YAML + "  funding:\n    label: Funding\n    keywords: [fund, budget]\n",
         [CodebookChange("funding", "code added", "2 keywords")]),
        (edit("      market_barrier:\n        label: Market barrier\n        keywords: [local protectionism]\n", ""),
         [CodebookChange("market_barrier", "code removed", "1 keyword")]),
        (edit("label: Market barrier", "label: Market protection"),
         [CodebookChange("market_barrier", "renamed", "label 'Market barrier' -> 'Market protection'")]),
        (edit("      market_barrier:", "      protectionism:"),
         [CodebookChange("protectionism", "renamed", "id 'market_barrier' -> 'protectionism'")]),
        (edit("      market_barrier:\n        label: Market barrier\n        keywords: [local protectionism]\n", "")
         + "      market_barrier:\n        label: Market barrier\n        keywords: [local protectionism]\n",
         [CodebookChange("market_barrier", "moved", "barriers/market_barrier -> cooperation/market_barrier")]),
        (edit("description: Things that block cooperation.", "description: Obstacles."),
         [CodebookChange("barriers", "description changed", "Obstacles.")]),
        (edit('color: "#ff0000"', 'color: "#00ff00"'),
         [CodebookChange("administrative_barrier", "colour changed", "#ff0000 -> #00ff00")]),
    ],
    ids=["same", "keyword-added", "keyword-removed", "regex-changed", "exclude-added", "exclude-removed",
         "code-added", "code-removed", "label-renamed", "id-renamed", "moved", "description", "colour"],
)
def test_diff_diff_codebooks_each_edit(yaml_text, expected):
    assert diff_codebooks(records(BASE_YAML), records(yaml_text)) == expected


@pytest.mark.parametrize("new_id", ["barriers_all"])
def test_diff_diff_codebooks_renamed_parent_is_not_a_move(new_id):
    changed = BASE_YAML.replace("  barriers:\n    label: Barriers", f"  {new_id}:\n    label: Barriers")
    assert diff_codebooks(records(BASE_YAML), records(changed)) == [
        CodebookChange(new_id, "renamed", f"id 'barriers' -> '{new_id}'"),
    ]


def segments_frame(rows):
    return pd.DataFrame(
        [{"segment_id": segment_id(document, text, code), "document": document, "passage": passage,
          "code": code, "text": text, "review": "", "note": ""}
         for document, passage, code, text in rows]
    )


PASSAGES = [
    ("a.txt", 0, "administrative_barrier", "Red tape slows projects."),
    ("a.txt", 1, "joint_meeting", "The joint meeting agreed."),
    ("b.txt", 0, "administrative_barrier", "Bureaucracy is everywhere."),
    ("b.txt", 1, "market_barrier", "Local protectionism persists."),
]


@pytest.mark.parametrize("renamed", [{"market_barrier": "protectionism"}])
def test_diff_diff_segments_counts_and_rename(renamed):
    old = segments_frame(PASSAGES)
    new = segments_frame([
        PASSAGES[0],
        PASSAGES[1],
        ("c.txt", 0, "administrative_barrier", "Paperwork again."),
        ("b.txt", 1, "protectionism", "Local protectionism persists."),
    ])
    plain = diff_segments(old, new)
    assert plain.values.tolist() == [
        ["administrative_barrier", 1, 1, 1], ["joint_meeting", 0, 0, 1],
        ["protectionism", 1, 0, 0], ["market_barrier", 0, 1, 0],
    ]
    assert diff_segments(old, new, renamed=renamed).values.tolist() == [
        ["administrative_barrier", 1, 1, 1], ["joint_meeting", 0, 0, 1], ["protectionism", 0, 0, 1],
    ]


def write_run(folder, yaml_text, rows, *, started="2026-11-24T12:00:00+00:00"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({
        "tool_version": "0.1.0", "codebook": "codebook.yaml", "codebook_sha256": "abc",
        "codebook_codes": records(yaml_text), "corpus": "seeds", "unit": "paragraph",
        "counts": {"documents": 2}, "started": started, "seconds": 1.5,
    }), encoding="utf-8")
    segments_frame(rows).to_csv(folder / "segments.csv", index=False, encoding="utf-8-sig")
    return folder


@pytest.mark.parametrize("as_json_path", [False, True])
def test_diff_compare_runs_after_keyword_added(tmp_path, as_json_path):
    old = write_run(tmp_path / "old", BASE_YAML, PASSAGES)
    new_yaml = edit("[red tape, bureaucracy]", "[red tape, bureaucracy, paperwork]")
    new = write_run(tmp_path / "new", new_yaml, PASSAGES + [("c.txt", 0, "administrative_barrier", "Paperwork again.")],
                    started="2026-11-24T13:00:00+00:00")
    if as_json_path:
        old, new = old / "run.json", new / "run.json"
    comparison = compare_runs(old, new)
    assert comparison.changes == (CodebookChange("administrative_barrier", "keyword added", "paperwork"),)
    assert comparison.table().values.tolist() == [
        ["administrative_barrier", "keyword added", "paperwork", 1, 0, 2],
    ]
    assert render_comparison(comparison) == (
        "Since the previous run (2026-11-24T12:00:00+00:00): 1 segments added, 0 removed, 1 codebook changes.\n"
        "  administrative_barrier  +1 -0 (2 unchanged)\n"
        "                            keyword added: paperwork"
    )
    path = write_changes_csv(comparison, tmp_path / "changes.csv")
    assert path.read_text(encoding="utf-8-sig") == (
        ",".join(CHANGES_COLUMNS) + ",segment_id,document,passage,text\n"
        "administrative_barrier,keyword added,paperwork,1,0,2,,,,\n"
        f"administrative_barrier,segment added,,,,,{segment_id('c.txt', 'Paperwork again.', 'administrative_barrier')},"
        "c.txt,0,Paperwork again.\n"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("dropped", [3])
def test_diff_compare_runs_segments_only_and_no_change(tmp_path, dropped):
    old = write_run(tmp_path / "old", BASE_YAML, PASSAGES)
    same = write_run(tmp_path / "same", BASE_YAML, PASSAGES)
    assert render_comparison(compare_runs(old, same)) == (
        "No changes since the previous run (2026-11-24T12:00:00+00:00): same codebook rules, same segments."
    )
    # Same codebook, a document edited: segments change without a codebook change.
    fewer = write_run(tmp_path / "fewer", BASE_YAML, PASSAGES[:dropped])
    assert compare_runs(old, fewer).table().values.tolist() == [["market_barrier", "segments only", "", 0, 1, 0]]


@pytest.mark.parametrize("with_csv", [True])
def test_diff_cli_diff(tmp_path, with_csv):
    old = write_run(tmp_path / "old", BASE_YAML, PASSAGES)
    new = write_run(tmp_path / "new", edit("[red tape, bureaucracy]", "[red tape]"), PASSAGES[:2] + PASSAGES[3:])
    result = invoke("diff", str(old), str(new), "--csv", str(tmp_path / "changes.csv"))
    assert result.exit_code == 0
    assert result.stdout == (  # (two runs, not a run and the one before: the earlier one is named)
        f"Since {old} (2026-11-24T12:00:00+00:00): 0 segments added, 1 removed, 1 codebook changes.\n"
        "  administrative_barrier  +0 -1 (1 unchanged)\n"
        "                            keyword removed: bureaucracy\n"
    )
    lines = (tmp_path / "changes.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == "administrative_barrier,keyword removed,bureaucracy,0,1,1,,,,"
    removed = PASSAGES[2]
    assert lines[2] == (f"administrative_barrier,segment removed,,,,,{segment_id(removed[0], removed[3], removed[2])},"
                        f"{removed[0]},{removed[1]},{removed[3]}")


@pytest.mark.parametrize("name", ["segments.csv", "run.json", "."])
def test_diff_cli_takes_a_run_by_its_segments_file_too(tmp_path, name):
    """`coder diff RUN RUN/segments.csv` said "segments.csv:1: run.json is not valid JSON ... Run `coder run`
    again to rewrite it" (probe W10): a segments file names its run, as in every other command."""
    old = write_run(tmp_path / "old", BASE_YAML, PASSAGES)
    new = write_run(tmp_path / "new", edit("[red tape, bureaucracy]", "[red tape]"), PASSAGES[:2] + PASSAGES[3:])
    result = invoke("diff", str(old / name), str(new / name))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"Since {old / name} (2026-11-24T12:00:00+00:00): 0 segments added, 1 removed, 1 codebook changes.")


@pytest.mark.parametrize("name", ["report.html"])
def test_diff_cli_names_a_file_that_is_no_run(tmp_path, name):
    old = write_run(tmp_path / "old", BASE_YAML, PASSAGES)
    (old / name).write_text("<html></html>", encoding="utf-8")
    result = invoke("diff", str(old / name), str(old))
    assert (result.exit_code, result.stderr) == (1, (
        f"Error: {old / name}: is not a run's folder, run.json or segments file. Pass the folder written by "
        f"`coder run --out FOLDER`, or its run.json or segments.csv.\n"))


@pytest.mark.parametrize("missing", ["nowhere"])
def test_diff_cli_diff_missing_run(tmp_path, missing):
    result = invoke("diff", str(tmp_path / missing), str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / missing}: no run.json found. Pass a folder written by "
        f"`coder run --out FOLDER` or the path of its run.json.\n"
    )


@pytest.mark.parametrize("extra", [("c.txt", 0, "market_barrier", "Protectionism again.")])
def test_diff_keep_previous_and_compare(tmp_path, extra):
    out = tmp_path / "out"
    assert RunFolder(out).keep_previous() is None  # nothing to keep on a first run
    write_run(out, BASE_YAML, PASSAGES)
    assert compare_with_previous(out) is None
    assert RunFolder(out).keep_previous().folder == out / ".previous"
    assert (out / ".previous" / "segments.csv").read_bytes() == (out / "segments.csv").read_bytes()
    write_run(out, BASE_YAML, PASSAGES + [extra], started="2026-11-24T13:00:00+00:00")
    comparison = compare_with_previous(out)
    assert comparison.table().values.tolist() == [["market_barrier", "segments only", "", 1, 0, 1]]


_ROW = st.tuples(st.sampled_from(["a.txt", "b.txt"]), st.sampled_from(["x", "y", "z"]),
                 st.sampled_from(["One.", "Two.", "Three.", "Four."]))


@settings(max_examples=60, deadline=None)
@given(old_rows=st.lists(_ROW, max_size=12, unique=True), new_rows=st.lists(_ROW, max_size=12, unique=True))
def test_diff_diff_segments_counts_add_up(old_rows, new_rows):
    old = segments_frame([(document, 0, code, text) for document, code, text in old_rows])
    new = segments_frame([(document, 0, code, text) for document, code, text in new_rows])
    table = diff_segments(old, new).set_index("code")
    for code in {row[1] for row in old_rows + new_rows}:
        old_count = sum(1 for row in old_rows if row[1] == code)
        new_count = sum(1 for row in new_rows if row[1] == code)
        assert table.at[code, "segments_unchanged"] + table.at[code, "segments_removed"] == old_count
        assert table.at[code, "segments_unchanged"] + table.at[code, "segments_added"] == new_count
    assert len(table) == len({row[1] for row in old_rows + new_rows})


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({"id": "a", "keywords": ["x"]}, {"id": "a", "keywords": ["x"], "morphology": "derivational"},
     [("a", "morphology changed", "inflectional -> derivational")]),
    ({"id": "a"}, {"id": "a", "rules": [{"near": [["x"], ["y"]], "within": 3}]},
     [("a", "rule added", "near(x, y; 3)")]),
])
def test_diff_codebooks_reports_morphology_and_rules(old, new, expected):
    from coder.diff import diff_codebooks

    assert [(change.code, change.change, change.detail) for change in diff_codebooks([old], [new])] == expected


_RUN_ROW = st.tuples(st.sampled_from(["a.txt", "b.txt"]), st.integers(0, 2),
                     st.sampled_from(["administrative_barrier", "market_barrier", "joint_meeting"]),
                     st.sampled_from(["One.", "Two.", "Three."]))


@settings(max_examples=40, deadline=None)
@given(old_rows=st.lists(_RUN_ROW, max_size=10), new_rows=st.lists(_RUN_ROW, max_size=10),
       kept=st.lists(_RUN_ROW, min_size=1, max_size=6))
@example(old_rows=[], new_rows=[("a.txt", 0, "joint_meeting", "One.")], kept=[("b.txt", 1, "market_barrier", "Two.")])
def test_diff_compare_runs_codes_alike_are_the_row_by_row_comparison(old_rows, new_rows, kept):
    """Codes whose segments are the same in both runs are counted without comparing their rows; the
    comparison (counts, code order, listed segments) is the row-by-row one, rows repeated or not."""
    import tempfile
    from pathlib import Path

    import coder.diff

    with tempfile.TemporaryDirectory() as scratch:
        old = write_run(Path(scratch) / "old", BASE_YAML, kept + old_rows)
        new = write_run(Path(scratch) / "new", BASE_YAML, new_rows + kept, started="2026-11-24T13:00:00+00:00")
        fast = compare_runs(old, new)
        # As `coder run` compares: the new run's segments in hand (the added ones' details taken from them).
        given = compare_runs(old, new, new_segments=segments_frame(new_rows + kept))
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(coder.diff, "_codes_alike", lambda old_keys, new_keys, numbers=None: {})
            slow = compare_runs(old, new)
    for each in (fast, given):
        assert list(each.segments.items()) == list(slow.segments.items())  # the order too
        pd.testing.assert_frame_equal(each.listed.reset_index(drop=True), slow.listed.reset_index(drop=True))
        assert each.table().values.tolist() == slow.table().values.tolist()


@pytest.mark.parametrize("alike", [{"market_barrier": 1}])
def test_diff_compare_runs_codes_alike_only_when_their_segments_are(tmp_path, alike):
    from coder.diff import _codes_alike, _segment_keys

    rows = [("a.txt", 0, "market_barrier", "One."), ("a.txt", 1, "joint_meeting", "Two.")]
    edited = [rows[0], ("a.txt", 1, "joint_meeting", "Three.")]  # same count, another segment
    old, new = segments_frame(rows), segments_frame(edited)
    assert _codes_alike(_segment_keys(old, {}), _segment_keys(new, {})) == alike
    twice = segments_frame([*edited, edited[0]])  # a segment listed twice (identical passages) counts once
    assert _codes_alike(_segment_keys(twice, {}), _segment_keys(twice, {})) == {"market_barrier": 1, "joint_meeting": 1}
    assert _codes_alike(_segment_keys(twice, {}), _segment_keys(new, {})) == {"joint_meeting": 1}


_CODE_IDS = ("barriers", "administrative_barrier", "market_barrier", "joint_meeting")


def _unchanged_codes(old_index, new_segments, untouched, old_texts):
    """What a recode knows of the rows it kept: every code of `untouched` has the same rows in both runs."""
    import numpy as np

    from coder.models import UnchangedCodes

    # Each row read as the last passage of a document of its own, showing the text segments.csv holds for it.
    passages = [passage for _, passage, _, _ in old_texts]
    texts = [text for *_, passage, _, row_text in old_texts for text in [*[""] * passage, row_text]]
    return UnchangedCodes(
        previous_index=old_index, code_ids=_CODE_IDS, unchanged=np.array([code in untouched for code in _CODE_IDS]),
        codes=np.array([_CODE_IDS.index(code) for code in new_segments["code"]], dtype=np.int64),
        previous_codes=np.array([_CODE_IDS.index(code) for code in old_index["code"]], dtype=np.int64),
        previous_documents=np.arange(len(old_texts)), previous_passages=np.array(passages, dtype=np.int64),
        passage_starts=np.cumsum([0, *(passage + 1 for passage in passages)]), passage_texts=np.array(texts, dtype=object))


@settings(max_examples=40, deadline=None)
@given(old_rows=st.lists(_RUN_ROW, max_size=10), new_rows=st.lists(_RUN_ROW, max_size=10),
       kept=st.lists(_RUN_ROW, min_size=1, max_size=6))
@example(old_rows=[("a.txt", 0, "joint_meeting", "One.")], new_rows=[],
         kept=[("b.txt", 1, "market_barrier", "Two."), ("b.txt", 2, "market_barrier", "Two.")])
def test_diff_compare_runs_with_unchanged_codes_is_the_row_by_row_comparison(old_rows, new_rows, kept):
    """A recode's unchanged codes (their rows the same in both runs) are counted without comparing their
    rows, the removed segments' details come from the rows it read: the comparison is the row-by-row one."""
    import tempfile
    from pathlib import Path

    import coder.diff

    untouched = {code for *_, code, _ in kept} - {code for *_, code, _ in old_rows + new_rows}
    with tempfile.TemporaryDirectory() as scratch:
        old = write_run(Path(scratch) / "old", BASE_YAML, kept + old_rows)
        new = write_run(Path(scratch) / "new", BASE_YAML, new_rows + kept, started="2026-11-24T13:00:00+00:00")
        old_index, new_segments = RunFolder(old).read_segment_index(), segments_frame(new_rows + kept)
        unchanged = _unchanged_codes(old_index, new_segments, untouched, kept + old_rows)
        known = compare_runs(old, new, new_segments=new_segments, old_index=old_index, unchanged=unchanged)
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(coder.diff, "_codes_alike", lambda old_keys, new_keys, numbers=None: {})
            slow = compare_runs(old, new)
    assert list(known.segments.items()) == list(slow.segments.items())  # the order too
    assert known.listed.astype(str).values.tolist() == slow.listed.astype(str).values.tolist()
    assert known.table().values.tolist() == slow.table().values.tolist()


@pytest.mark.parametrize("case", ["rows not as many", "another index"])
def test_diff_compare_runs_refuses_unchanged_codes_it_cannot_vouch_for(tmp_path, case):
    """Unchanged codes whose rows are not as many in both runs, or given with another index than the
    one compared, are not taken: every row is compared. So are ids not as coder writes them."""
    import coder.diff

    rows = [("a.txt", 0, "market_barrier", "One."), ("a.txt", 1, "joint_meeting", "Two.")]
    lost = [("a.txt", 2, "market_barrier", "Three.")]  # market_barrier lost a segment: a false claim
    old = write_run(tmp_path / "old", BASE_YAML, rows + lost)
    new = write_run(tmp_path / "new", BASE_YAML, rows, started="2026-11-24T13:00:00+00:00")
    old_index, new_segments = RunFolder(old).read_segment_index(), segments_frame(rows)
    claimed = {"market_barrier", "joint_meeting"} if case == "rows not as many" else {"joint_meeting"}
    unchanged = _unchanged_codes(old_index if case != "another index" else old_index.copy(), new_segments, claimed,
                                 rows + lost)
    taken: list = []
    known_alike = coder.diff._known_alike
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(coder.diff, "_known_alike", lambda *args: taken.append(known_alike(*args)) or taken[-1])
        comparison = compare_runs(old, new, new_segments=new_segments, old_index=old_index, unchanged=unchanged)
    assert taken == ([] if case == "another index" else [None])
    assert comparison.segments == compare_runs(old, new, new_segments=new_segments).segments
    assert comparison.segments["market_barrier"] == (0, 1, 1)
    assert known_alike(unchanged, new_segments["segment_id"].str.upper()) is None


@pytest.mark.parametrize("edit", ["keyword added", "document removed", "nothing"])
def test_diff_compare_runs_read_from_folders_lean_is_the_comparison_of_whole_indexes(tmp_path, edit, monkeypatch):
    """Two runs compared from their folders read only ids (as numbers) and codes (as indices), a row group
    at a time, and make the ids as text only for the segments listed; the comparison is the one made
    from both whole indexes in hand. Read as text (a run without segments.parquet), only ids and
    codes, then the other columns of the rows compared one by one: a table that changed between the
    two reads is refused, not compared."""
    import shutil

    from conftest import REPO, run_ok

    import coder.diff

    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(REPO / "seeds", corpus)
    codebook.write_text((REPO / "codebook.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    old, new = tmp_path / "old", tmp_path / "new"
    run_ok(corpus, codebook, old)
    if edit == "keyword added":
        text = codebook.read_text(encoding="utf-8")
        codebook.write_text(text.replace("      - party building alliance\n", "      - party building alliance\n      - governance\n", 1),
                            encoding="utf-8")
    elif edit == "document removed":
        sorted(corpus.glob("*.txt"))[0].unlink()
    run_ok(corpus, codebook, new)
    old_run, new_run = RunFolder(old), RunFolder(new)

    index_reads = []
    reading = RunFolder.read_segment_index
    with monkeypatch.context() as patched:
        patched.setattr(RunFolder, "read_segment_index",
                        lambda self, **options: index_reads.append(options) or reading(self, **options))
        lean = compare_runs(old_run, new_run)
    whole = compare_runs(old_run, new_run, old_index=old_run.read_segment_index())
    with monkeypatch.context() as patched:  # the same from the ids and codes read as text (a run without Parquet)
        patched.setattr(coder.diff, "_numbered_keys", lambda *folders: None)
        lean_as_text = compare_runs(old_run, new_run)

    assert index_reads == []  # ids as numbers and codes as indices, a row group at a time: no index as text
    for comparison in (lean, lean_as_text):
        assert list(comparison.segments.items()) == list(whole.segments.items())
        pd.testing.assert_frame_equal(comparison.listed.reset_index(drop=True), whole.listed.reset_index(drop=True))
        assert render_comparison(comparison) == render_comparison(whole)
    if edit != "nothing":
        assert len(lean.listed) > 0
    monkeypatch.setattr(coder.diff, "_numbered_keys", lambda *folders: None)

    def one_row_short(self, *, columns=("segment_id", "code", "document", "fingerprint"), rows=None):
        frame = reading(self, columns=columns, rows=rows)
        return frame.iloc[1:] if rows is not None else frame

    monkeypatch.setattr(RunFolder, "read_segment_index", one_row_short)
    if edit == "keyword added":  # codes alike beside the edited one: its rows read again
        with pytest.raises(coder.diff.OutputError, match="changed while they were compared"):
            compare_runs(old_run, new_run)


def test_diff_reports_unit_and_coded_kinds_edits(tmp_path, monkeypatch):
    """A change of `unit` or `code_kinds` changes every code's segments: it was reported as "0 codebook
    changes" and "segments only" (which says a document changed). Going back to the default kinds took
    the label-only shortcut and kept the last run's segments: run.json did not keep the kinds."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(
        "Joint meetings were held. Red tape stayed.\n\nReferences\n\n[1] Li, X. Joint meetings in China[J]. 2019.\n",
        encoding="utf-8")
    base = "codes:\n  meeting: [joint meeting]\n  barrier: [red tape]\n"
    codebook = tmp_path / "codebook.yaml"

    def run(text, out="out", *extra):
        codebook.write_text(text, encoding="utf-8")
        result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", out, "--quiet", *extra)
        assert result.exit_code == 0, result.output
        return pd.read_parquet(tmp_path / out / "segments.parquet")[["document", "passage", "code", "hits"]]

    run(base)
    run("unit: sentence\n" + base)
    assert invoke("diff", "out/.previous", "out").stdout.splitlines()[1] == "  codebook: unit changed: paragraph -> sentence"
    every_kind = "code_kinds: [title, author, abstract, keywords, identifier, heading, reference, body]\n"
    assert len(run(every_kind + base)) == 3  # the reference is coded too
    lines = invoke("diff", "out/.previous", "out").stdout.splitlines()
    assert lines[1] == "  codebook: unit changed: sentence -> paragraph"
    assert lines[2].startswith("  codebook: coded kinds changed: ") and lines[2].endswith(
        "-> title, author, abstract, keywords, identifier, heading, reference, body")
    labelled = "codes:\n  meeting:\n    keywords: [joint meeting]\n    label: Meetings\n  barrier: [red tape]\n"
    back = run(labelled)  # the default kinds again, and a label edit
    assert back.equals(run(labelled, "fresh", "--no-cache"))
    assert len(back) == 2


def test_diff_and_suggest_take_a_dask_runs_segments_folder(tmp_path):
    """A Dask run's segments.parquet is a folder of part files: `coder diff` and `coder suggest --run`
    took it for a run folder and asked for segments.parquet/run.json (probe HH4), where every other
    command reads it as the run's segments."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The joint meeting met.\n\nRed tape and bureaucracy slowed the joint meeting.\n",
                                  encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(BASE_YAML, encoding="utf-8")
    runs = {}
    for name in ("old", "dask"):
        result = invoke("run", str(corpus), "--codebook", str(codebook), "--out", str(tmp_path / name), "--csv", "never")
        assert result.exit_code == 0, result.output
        runs[name] = tmp_path / name
    single = runs["dask"] / "segments.parquet"
    part = tmp_path / "part-00000.parquet"
    single.rename(part)
    single.mkdir()
    part.rename(single / "part-00000.parquet")

    result = invoke("diff", str(runs["old"]), str(single))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"No changes since {runs['old']} (")
    for named in (single, runs["dask"] / "run.json"):
        result = invoke("suggest", "joint_meeting", "--run", str(named))
        assert result.exit_code == 0, result.output
        assert (runs["dask"] / "suggestions_joint_meeting.csv").is_file()  # in the run's folder, not in the table's
        (runs["dask"] / "suggestions_joint_meeting.csv").unlink()
    assert [path.name for path in single.iterdir()] == ["part-00000.parquet"]


def test_diff_a_space_edited_into_a_document_is_a_segment_removed_and_one_added(tmp_path):
    """Respaced is a reader's difference, not an edit's: in an edited document a space changes the words ("a round
    table" -> "around table", "will inform" -> "will in form", "1 000" -> "1000"), and 5a77357 counted such pairs as
    unchanged, 'the same passage but for whitespace', the summary saying "0 segments added, 0 removed" (probe UU3).
    They stay a segment removed and one added; so does a keyword moved from one passage to another there before."""
    from conftest import run_ok

    corpus, codebook, out = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "out"
    corpus.mkdir()
    texts = {"a.txt": "They sat at a round table.\n\nThe budget is 1 000 yuan.\n\nThe joint meeting will inform them.\n",
             "c.txt": "Intro.\n\nThey sat at a round table.\n\nThey sat at around table.\n"}
    for name, text in texts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    codebook.write_text("codes:\n  seating: [table]\n  budget: [budget]\n  meeting: [joint meeting]\n  round: [round]\n",
                        encoding="utf-8")
    run_ok(corpus, codebook, out)
    (corpus / "a.txt").write_text(
        "They sat at around table.\n\nThe budget is 1000 yuan.\n\nThe joint meeting will in form them.\n", encoding="utf-8")
    codebook.write_text("codes:\n  seating: [table]\n  budget: [budget]\n  meeting: [joint meeting]\n  round: [around]\n",
                        encoding="utf-8")
    run_ok(corpus, codebook, out)
    comparison = compare_with_previous(out)
    assert comparison.respaced == {}
    assert comparison.table().values.tolist() == [
        ["round", "keyword added", "around", 2, 2, 0],
        ["round", "keyword removed", "round", 2, 2, 0],
        ["seating", "segments only", "", 1, 1, 2],
        ["budget", "segments only", "", 1, 1, 0],
        ["meeting", "segments only", "", 1, 1, 0],
    ]
    assert render_comparison(comparison).splitlines()[0] == (
        f"Since the previous run ({comparison.old.started}): 5 segments added, 5 removed, 2 codebook changes.")
    frame = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    listed = frame[frame["segment_id"] != ""]
    assert sorted(listed["change"].value_counts().items()) == [("segment added", 5), ("segment removed", 5)]
    assert set(listed["detail"]) == {""}
    # the counts still add up: the new run's segments are the added and unchanged ones
    segments = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert {code: added + unchanged for code, (added, _, unchanged) in comparison.segments.items()} == \
        segments["code"].value_counts().to_dict()


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_diff_the_first_run_of_a_coder_that_reads_a_line_end_with_a_space_more_says_so(tmp_path, monkeypatch, engine):
    """The first run after an upgrade whose passage text keeps a space at a line end ("accept\\nor" was "acceptor")
    printed "N segments added, N removed" and listed them as added and removed, though no document and no codebook
    changed (probe RR3). It says they are respaced, as this coder reads their unchanged documents."""
    import coder
    from coder import cache, passages, runner, streamed
    from coder.diff import RESPACED
    from coder.lexicon import is_english_word

    if engine == "streamed":
        monkeypatch.setattr(runner, "STREAMED_MIN_BYTES", -1)
        monkeypatch.setattr(streamed, "LOCAL_PARTITION_BYTES", 100)
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Members may accept\nor reject the joint meeting.\n\nRed tape stays.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("A joint meeting of power over\nall members.\n\nNothing else.\n", encoding="utf-8")
    codebook.write_text(BASE_YAML, encoding="utf-8")
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: is_english_word(first + second))
    monkeypatch.setattr(cache, "_source_digest", lambda: "the coder before")
    run_ok = lambda: invoke("run", corpus, "--codebook", codebook, "--out", tmp_path / "out", "--workers", "1")  # noqa: E731
    assert run_ok().exit_code == 0
    monkeypatch.setattr(passages, "_rejoin_broken", lambda first, second: False)  # the new coder: apart
    monkeypatch.setattr(cache, "_source_digest", lambda: "the new coder")
    monkeypatch.setattr(coder, "__version__", coder.__version__ + "+new")  # (a version's coding is not reused by the next)
    result = run_ok()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    since = next(number for number, line in enumerate(lines) if line.startswith("Since the previous run"))
    assert lines[since].endswith(": 0 segments added, 0 removed, 0 codebook changes.")
    assert lines[since + 1] == ("  2 segment(s) respaced: their documents are unchanged, and the two runs' coder "
                                "versions read their passages with a space more or less. Counted as unchanged; "
                                "changes.csv lists them as 'segment respaced'.")
    frame = pd.read_csv(tmp_path / "out" / "changes.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    listed = frame[frame["segment_id"] != ""]
    assert listed["change"].tolist() == [RESPACED, RESPACED]
    assert sorted(listed["text"]) == ["A joint meeting of power over all members.",
                                      "Members may accept or reject the joint meeting."]
    assert all(detail.startswith("its document unchanged, read with a space more or less by the other run's coder "
                                 "version; was s")
               for detail in listed["detail"])
    assert frame[frame["segment_id"] == ""][["code", "change", "segments_added", "segments_removed"]].values.tolist() == [
        ["joint_meeting", "segments respaced", "0", "0"]]


@pytest.mark.parametrize("target", ["v1/codebook.yaml", "v1/reviews.csv", "v2/codebook.yaml", "v2/reviews.csv"])
def test_diff_csv_never_writes_over_either_runs_codebook_or_review_file(tmp_path, target):
    """--csv with --force wrote changes.csv over the OLD run's codebook and review file: both runs' inputs were
    gathered under one name each, and the second run's replaced the first's (probe AF3)."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("The apple is red.\n\nA pear is here.\n", encoding="utf-8")
    for folder, keywords in (("v1", "[apple]"), ("v2", "[apple, pear]")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "codebook.yaml").write_text(f"codes:\n  apple: {keywords}\n", encoding="utf-8")
        (tmp_path / folder / "reviews.csv").write_text("segment_id,code,decision\n", encoding="utf-8")
        result = invoke("run", tmp_path / "c", "--codebook", tmp_path / folder / "codebook.yaml",
                        "--out", tmp_path / f"round_{folder}", "--quiet")
        assert result.exit_code == 0, result.output
    before = (tmp_path / target).read_bytes()
    result = invoke("diff", tmp_path / "round_v1", tmp_path / "round_v2", "--csv", tmp_path / target, "--force")
    assert result.exit_code == 1
    assert "writing the results there would replace it" in result.output
    assert (tmp_path / target).read_bytes() == before
