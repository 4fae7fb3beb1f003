"""Document variables: documents.csv, counts by group, code_counts_long.csv, cooccurrence_matrix.csv, --where.

Every expected number below is counted by hand from FOUR (paragraph passages):
  d1 Yangtze 2020: {a,b} {a}           d2 Yangtze 2021: {b,c} {} {a,b}
  d3 Pearl 2020:   {c} {a,c}           d4 Pearl 2021:   {}
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder.files import read_table
from coder.groups import (
    DocumentVariables,
    page_variables,
    read_document_variables,
    select_documents,
)

CODEBOOK = "codes:\n  a:\n    keywords: [apple]\n  b:\n    keywords: [berry]\n  c:\n    keywords: [cherry]\n"
FOUR = {
    "d1.txt": "apple berry.\n\napple.\n",
    "d2.txt": "berry cherry.\n\nnothing here.\n\napple berry.\n",
    "d3.txt": "cherry.\n\napple cherry.\n",
    "d4.txt": "nothing.\n",
}
SHEET = "document,region,year\nd1.txt,Yangtze,2020\nd2.txt,Yangtze,2021\nd3.txt,Pearl,2020\nd4.txt,Pearl,2021\n"


def _corpus(folder: Path, sheet: str | None = SHEET) -> Path:
    for name, text in FOUR.items():
        (folder / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "corpus" / name).write_text(text, encoding="utf-8")
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    if sheet is not None:
        (folder / "corpus" / "documents.csv").write_text(sheet, encoding="utf-8")
    return folder


def _run(folder: Path, *extra: object):
    return invoke("run", folder / "corpus", "--codebook", folder / "codebook.yaml", "--out", folder / "out",
                  "--workers", "1", "--quiet", *extra)


def _rows(path: Path) -> list[list[str]]:
    return read_table(path).values.tolist()


@pytest.mark.parametrize("sheet", [SHEET])
def test_groups_counts_by_group_by_hand(tmp_path: Path, sheet: str) -> None:
    result = _run(_corpus(tmp_path, sheet))
    assert result.exit_code == 0, result.output
    assert result.output == ""  # every document has a row, every row a document: nothing to report
    assert _rows(tmp_path / "out" / "code_counts_by_group.csv") == [
        ["region", "Yangtze", "a", "3", "2", "1.0", "0.6", "2", "5"],
        ["region", "Yangtze", "b", "3", "2", "1.0", "0.6", "2", "5"],
        ["region", "Yangtze", "c", "1", "1", "0.5", "0.2", "2", "5"],
        ["region", "Pearl", "a", "1", "1", "0.5", "0.333333", "2", "3"],
        ["region", "Pearl", "b", "0", "0", "0.0", "0.0", "2", "3"],
        ["region", "Pearl", "c", "2", "1", "0.5", "0.666667", "2", "3"],
        ["year", "2020", "a", "3", "2", "1.0", "0.75", "2", "4"],
        ["year", "2020", "b", "1", "1", "0.5", "0.25", "2", "4"],
        ["year", "2020", "c", "2", "1", "0.5", "0.5", "2", "4"],
        ["year", "2021", "a", "1", "1", "0.5", "0.25", "2", "4"],
        ["year", "2021", "b", "2", "1", "0.5", "0.5", "2", "4"],
        ["year", "2021", "c", "1", "1", "0.5", "0.25", "2", "4"],
    ]
    assert list(read_table(tmp_path / "out" / "code_counts_by_group.csv").columns) == [
        "variable", "value", "code", "passages", "documents", "documents_share", "passages_share",
        "group_documents", "group_passages",
    ]
    assert _rows(tmp_path / "out" / "code_counts_long.csv") == [
        ["d1.txt", "a", "2", "Yangtze", "2020"], ["d1.txt", "b", "1", "Yangtze", "2020"],
        ["d2.txt", "a", "1", "Yangtze", "2021"], ["d2.txt", "b", "2", "Yangtze", "2021"],
        ["d2.txt", "c", "1", "Yangtze", "2021"],
        ["d3.txt", "a", "1", "Pearl", "2020"], ["d3.txt", "c", "2", "Pearl", "2020"],
    ]
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["document_variables"] == {"path": str(tmp_path / "corpus" / "documents.csv"),
                                            "variables": ["region", "year"]}
    assert record["counts"]["documents"] == 4  # documents.csv is not coded as a document
    assert record["skipped"] == []


@pytest.mark.parametrize("measure, expected", [
    ("count", [["a", "4", "2", "1"], ["b", "2", "3", "1"], ["c", "1", "1", "3"]]),
    ("jaccard", [["a", "4", "0.4", "0.166667"], ["b", "0.4", "3", "0.2"], ["c", "0.166667", "0.2", "3"]]),
])
def test_groups_cooccurrence_matrix(tmp_path: Path, measure: str, expected: list[list[str]]) -> None:
    assert _run(_corpus(tmp_path, sheet=None), "--measure", measure).exit_code == 0
    assert (tmp_path / "out" / "code_counts_long.csv").is_file()
    assert not (tmp_path / "out" / "code_counts_by_group.csv").exists()
    matrix = read_table(tmp_path / "out" / "cooccurrence_matrix.csv")
    assert list(matrix.columns) == ["code", "a", "b", "c"]
    assert matrix.values.tolist() == expected


@pytest.mark.parametrize("where, matrix, chosen", [
    (["region=Yangtze"], [["a", "3", "2", "0"], ["b", "2", "3", "1"], ["c", "0", "1", "1"]], "2 document(s) where region=Yangtze."),
    (["year=2020"], [["a", "3", "1", "1"], ["b", "1", "1", "0"], ["c", "1", "0", "2"]], "2 document(s) where year=2020."),
    (["region=Yangtze", "year=2020"], [["a", "2", "1", "0"], ["b", "1", "1", "0"], ["c", "0", "0", "0"]],
     "1 document(s) where region=Yangtze and year=2020."),
])
def test_groups_network_where(tmp_path: Path, where: list[str], matrix: list[list[str]], chosen: str) -> None:
    assert _run(_corpus(tmp_path)).exit_code == 0
    options = [part for condition in where for part in ("--where", condition)]
    result = invoke("network", tmp_path / "out" / "segments.csv", "--measure", "count", "--out", tmp_path / "group", *options)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == chosen
    assert read_table(tmp_path / "group" / "cooccurrence_matrix.csv").values.tolist() == matrix
    # Drawn again into the same folder: its own code_counts_by_group.csv was "a file coder did not write".
    again = invoke("network", tmp_path / "out" / "segments.csv", "--measure", "count", "--out", tmp_path / "group", *options)
    assert again.exit_code == 0, again.output


def test_groups_network_where_measures(tmp_path: Path) -> None:
    assert _run(_corpus(tmp_path)).exit_code == 0
    result = invoke("network", tmp_path / "out" / "segments.csv", "--where", "region=Yangtze", "--out", tmp_path / "group")
    assert result.exit_code == 0, result.output
    pairs = read_table(tmp_path / "group" / "cooccurrence.csv")
    # N = 5 passages in d1 and d2; a and b share 2 passages, each codes 3; b and c share 1, c codes 1.
    assert pairs[["source", "target", "count", "jaccard", "association"]].values.tolist() == [
        ["a", "b", "2", "0.5", "1.111111"], ["b", "c", "1", "0.333333", "1.666667"],
    ]
    long = read_table(tmp_path / "group" / "code_counts_long.csv")
    assert sorted(set(long["document"])) == ["d1.txt", "d2.txt"]


@pytest.mark.parametrize("where", [["region=Yangtze"]])
def test_groups_network_where_writes_no_group_it_left_out(tmp_path: Path, where: list[str]) -> None:
    """code_counts_by_group.csv under --where region=Yangtze had rows for Pearl, a group of no chosen
    document (group_documents 0, every share 0.0), as if it had been counted (probe AF, lesser points)."""
    assert _run(_corpus(tmp_path)).exit_code == 0
    options = [part for condition in where for part in ("--where", condition)]
    result = invoke("network", tmp_path / "out" / "segments.csv", "--out", tmp_path / "group", *options)
    assert result.exit_code == 0, result.output
    assert _rows(tmp_path / "group" / "code_counts_by_group.csv") == [
        ["region", "Yangtze", "a", "3", "2", "1.0", "0.6", "2", "5"],
        ["region", "Yangtze", "b", "3", "2", "1.0", "0.6", "2", "5"],
        ["region", "Yangtze", "c", "1", "1", "0.5", "0.2", "2", "5"],
        ["year", "2020", "a", "2", "1", "1.0", "1.0", "1", "2"],
        ["year", "2020", "b", "1", "1", "1.0", "0.5", "1", "2"],
        ["year", "2020", "c", "0", "0", "0.0", "0.0", "1", "2"],
        ["year", "2021", "a", "1", "1", "1.0", "0.333333", "1", "3"],
        ["year", "2021", "b", "2", "1", "1.0", "0.666667", "1", "3"],
        ["year", "2021", "c", "1", "1", "1.0", "0.333333", "1", "3"],
    ]


@pytest.mark.parametrize("where, message", [
    ("regio=Yangtze", "Error: --where regio=Yangtze: {sheet} has no variable 'regio'. Variables: region, year.\n"),
    ("region=Yellow", "Error: --where region=Yellow: no document has region=Yellow. Values of region: Yangtze, Pearl.\n"),
    ("year=1999", "Error: --where year=1999: no document has year=1999. Values of year: 2020, 2021.\n"),
    ("region", "Error: --where region: write it as VARIABLE=VALUE, for example --where region=Yangtze.\n"),
])
def test_groups_network_where_unknown(tmp_path: Path, where: str, message: str) -> None:
    assert _run(_corpus(tmp_path)).exit_code == 0
    result = invoke("network", tmp_path / "out" / "segments.csv", "--where", where, "--out", tmp_path / "group")
    assert result.exit_code == 1
    assert result.output == message.format(sheet=tmp_path / "corpus" / "documents.csv")
    assert not (tmp_path / "group").exists()


@pytest.mark.parametrize("sheet, warnings", [
    ("document,region\nd1.txt,Yangtze\nd2.txt,Yangtze\nd3.txt,Pearl\nd4.txt,Pearl\nd9.txt,Pearl\n",
     ["Warning: {sheet}: 1 row(s) name no document of the corpus: d9.txt"]),
    ("document,region\nd1.txt,Yangtze\nd2.txt,Yangtze\nd3.txt,Pearl\n",
     ["Warning: {sheet}: 1 document(s) of the corpus have no row: d4.txt"]),
])
def test_groups_sheet_mismatch_is_reported(tmp_path: Path, sheet: str, warnings: list[str]) -> None:
    _corpus(tmp_path, sheet)
    result = invoke("run", tmp_path / "corpus", "--codebook", tmp_path / "codebook.yaml", "--out", tmp_path / "out",
                    "--workers", "1")
    assert result.exit_code == 0, result.output
    path = tmp_path / "corpus" / "documents.csv"
    lines = result.output.splitlines()
    assert [line for line in lines if line.startswith("Warning")] == [line.format(sheet=path) for line in warnings]


def test_groups_a_row_naming_no_document_makes_no_group(tmp_path: Path) -> None:
    """A row naming no document of the corpus is warned about and left out of the groups, as README says: its value
    was a group of no document (shares 0.0 in code_counts_by_group.csv) and a value --where offered (probe AB9)."""
    _corpus(tmp_path, "document,region\nd1.txt,Yangtze\nd2.txt,Yangtze\nd3.txt,Pearl\nd4.txt,Pearl\nd9.txt,Ghost\n")
    assert _run(tmp_path).exit_code == 0
    by_group = pd.read_csv(tmp_path / "out" / "code_counts_by_group.csv", encoding="utf-8-sig")
    assert "Ghost" not in set(by_group.astype(str).to_numpy().ravel())
    result = invoke("network", tmp_path / "out" / "segments.csv", "--where", "region=Ghost", "--out", tmp_path / "group")
    assert (result.exit_code, result.output) == (
        1, "Error: --where region=Ghost: no document has region=Ghost. Values of region: Yangtze, Pearl.\n")


@pytest.mark.parametrize("sheet, message", [
    ("name,region\nd1.txt,Yangtze\n",
     "Error: {sheet}: no 'document' column (columns: name, region). Name the column holding each document's "
     "path, as segments.csv writes it, 'document'.\n"),
    ("document,region\nd1.txt,Yangtze\nd2.txt,Yangtze\nd1.txt,Pearl\n",
     "Error: {sheet}: rows 2, 4: more than one row for d1.txt. Keep one row per document.\n"),
])
def test_groups_bad_sheet_is_one_error(tmp_path: Path, sheet: str, message: str) -> None:
    assert _run(_corpus(tmp_path)).exit_code == 0
    before = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir() if path.is_file()}
    (tmp_path / "corpus" / "documents.csv").write_text(sheet, encoding="utf-8")
    result = _run(tmp_path)
    assert result.exit_code == 1
    assert result.output == message.format(sheet=tmp_path / "corpus" / "documents.csv")
    after = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir() if path.is_file()}
    assert after == before


@pytest.mark.parametrize("cell", ["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")"])
def test_groups_markup_in_cells_is_data(tmp_path: Path, cell: str) -> None:
    sheet = f"document;source\nd1.txt;{cell}\nd2.txt;paper\nd3.txt;paper\nd4.txt;paper\n"  # ";" as Excel saves it
    assert _run(_corpus(tmp_path, sheet)).exit_code == 0
    long = read_table(tmp_path / "out" / "code_counts_long.csv")
    assert long.loc[long["document"] == "d1.txt", "source"].tolist() == [cell, cell]
    groups = read_table(tmp_path / "out" / "code_counts_by_group.csv")
    assert groups["value"].unique().tolist() == [cell, "paper"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html


@pytest.mark.parametrize("text, expected", [
    ("document,year,score,region\na.txt,2020,1.5,East\nb.txt,,2,7 West\n",
     {"a.txt": {"year": 2020, "score": 1.5, "region": "East"}, "b.txt": {"score": 2.0, "region": "7 West"}}),
])
def test_groups_numbers_read_as_numbers(tmp_path: Path, text: str, expected: dict) -> None:
    path = tmp_path / "documents.csv"
    path.write_text(text, encoding="utf-8")
    variables = read_document_variables(path)
    data = page_variables(variables)
    assert data == expected
    assert json.loads(json.dumps(data)) == expected
    assert type(data["a.txt"]["year"]) is int
    assert select_documents(variables, ["year=2020"], ["a.txt", "b.txt"]) == ["a.txt"]
    assert select_documents(variables, ["score=2"], ["a.txt", "b.txt"]) == ["b.txt"]


def test_groups_page_variables_without_sheet() -> None:
    assert page_variables(None) == {}
    table = pd.DataFrame({"document": ["a.txt"], "region": ["East"]})
    assert DocumentVariables("documents.csv", table).matched(["a.txt", "b.txt"]).missing == ("b.txt",)


def test_groups_documents_option(tmp_path: Path) -> None:
    _corpus(tmp_path, sheet=None)
    elsewhere = tmp_path / "variables.csv"
    elsewhere.write_text(SHEET, encoding="utf-8")
    assert _run(tmp_path, "--documents", elsewhere).exit_code == 0
    assert (tmp_path / "out" / "code_counts_by_group.csv").is_file()
    result = invoke("network", tmp_path / "out" / "segments.csv", "--where", "year=2021", "--out", tmp_path / "group")
    assert result.exit_code == 0, result.output
    assert sorted(set(read_table(tmp_path / "group" / "code_counts_long.csv")["document"])) == ["d2.txt"]


@pytest.mark.parametrize("documents", [["d1.txt", "d2.txt"], ["d2.txt"], []])
def test_groups_counts_long_leaves_out_documents_the_corpus_no_longer_has(tmp_path: Path, documents):
    from coder.runner import write_document_tables
    from coder.runs import RunFolder

    segments = pd.DataFrame({"document": pd.array(["d1.txt", "d2.txt", "d1.txt", None], dtype="str"),
                             "passage": [0, 0, 1, 0], "code": ["a", "a", "b", "a"], "review": ""})
    write_document_tables(segments, None, RunFolder(tmp_path), variables=None,
                          passages_by_document=dict.fromkeys(documents, 2))
    expected = {"d1.txt": [["d1.txt", "a", "1"], ["d1.txt", "b", "1"]], "d2.txt": [["d2.txt", "a", "1"]]}
    assert read_table(tmp_path / "code_counts_long.csv").values.tolist() == [
        row for document in documents for row in expected[document]]


_COUNTED_ROW = st.tuples(st.sampled_from(["d1.txt", "d2.txt", "=d3.txt", "gone.txt"]), st.integers(0, 2),
                         st.sampled_from(["a", "b", "c", "not_in_codebook"]), st.sampled_from(["", "reject"]))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_COUNTED_ROW, max_size=14), documents=st.permutations(["d1.txt", "d2.txt", "=d3.txt", "d4.txt"]))
@example(rows=[("d2.txt", 0, "a", ""), ("d1.txt", 0, "a", "")], documents=["d1.txt", "d2.txt", "=d3.txt", "d4.txt"])
@example(rows=[("d1.txt", 0, "not_in_codebook", ""), ("d1.txt", 1, "a", "")], documents=["d1.txt", "d2.txt", "=d3.txt", "d4.txt"])
def test_groups_count_tables_are_the_tables_counted_apart(tmp_path_factory, rows, documents):
    """code_counts.csv and code_counts_long.csv from one count (`write_count_tables`) are byte for byte
    those counted apart (build_code_counts, write_document_tables): rows in or out of corpus order, codes
    the codebook lacks, rejected rows, documents the corpus no longer has, a formula-like name."""
    from coder.codebook import parse_codebook
    from coder.files import write_csv
    from coder.runner import write_count_tables, write_document_tables
    from coder.runs import RunFolder
    from coder.segments import build_code_counts, drop_rejected

    codebook = parse_codebook(CODEBOOK)
    segments = pd.DataFrame({"document": pd.array([row[0] for row in rows], dtype="str"),
                             "passage": pd.array([row[1] for row in rows], dtype="int64"),
                             "code": pd.array([row[2] for row in rows], dtype="str"),
                             "review": pd.array([row[3] for row in rows], dtype="str")})
    counted = drop_rejected(segments)
    passages = dict.fromkeys(documents, 3)
    one, apart = RunFolder(tmp_path_factory.mktemp("one")), RunFolder(tmp_path_factory.mktemp("apart"))
    write_count_tables(counted, codebook, one, variables=None, passages_by_document=passages)
    write_csv(build_code_counts(counted, codebook, documents), apart.code_counts_path)
    write_document_tables(counted, codebook, apart, variables=None, passages_by_document=passages)
    for name in ("code_counts.csv", "code_counts_long.csv"):
        assert (one.folder / name).read_bytes() == (apart.folder / name).read_bytes(), name


def test_groups_network_never_writes_into_another_runs_folder(tmp_path: Path, monkeypatch) -> None:
    """`coder network other/out/segments.csv` wrote into ./outputs (the default --out), replacing another run's
    report and network beside its own segments; --where without --out left the run folder's codes.csv
    counting some documents and its code_counts.csv all of them."""
    assert _run(_corpus(tmp_path)).exit_code == 0
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "project"
    (other / "outputs").mkdir(parents=True)
    assert invoke("run", tmp_path / "corpus", "--codebook", tmp_path / "codebook.yaml", "--out", other / "outputs").exit_code == 0
    before = {path.name: path.read_bytes() for path in (other / "outputs").iterdir() if path.is_file()}
    monkeypatch.chdir(other)
    result = invoke("network", tmp_path / "out" / "segments.csv", "--measure", "count")
    assert result.exit_code == 0, result.output
    assert {path.name: path.read_bytes() for path in (other / "outputs").iterdir() if path.is_file()} == before
    assert read_table(tmp_path / "out" / "cooccurrence.csv")["count"].tolist()  # written beside the segments read
    refused = invoke("network", tmp_path / "out" / "segments.csv", "--out", "outputs")
    assert refused.exit_code == 1
    assert refused.output == ("Error: outputs: holds another run (its run.json), whose files would then disagree with its "
                              f"network. Choose another --out folder, or leave --out out to write beside {tmp_path / 'out' / 'segments.csv'}.\n")
    where = invoke("network", tmp_path / "out" / "segments.csv", "--where", "region=Yangtze")
    assert where.exit_code == 1 and where.output.startswith("Error: --where draws the network of some documents: name a "
                                                            "folder for it with --out")
    assert {path.name: path.read_bytes() for path in (other / "outputs").iterdir() if path.is_file()} == before


def test_groups_network_level_deeper_than_the_codebook_is_refused(tmp_path: Path) -> None:
    """`--level 5` on a one-level codebook was accepted and drew the codes as they are."""
    assert _run(_corpus(tmp_path)).exit_code == 0
    result = invoke("network", tmp_path / "out" / "segments.csv", "--level", "5")
    assert (result.exit_code, result.output) == (1, "Error: --level 5: the codebook's codes go 1 level(s) deep. Pass "
                                                    "--level 1 or less (1 rolls codes up to the top level), or leave it out.\n")


def test_groups_network_where_no_document_holds_every_condition(tmp_path: Path) -> None:
    """`--where region=Yangtze --where region=Pearl` chose no document, exited 0 and wrote an empty report."""
    assert _run(_corpus(tmp_path)).exit_code == 0
    result = invoke("network", tmp_path / "out" / "segments.csv", "--where", "region=Yangtze", "--where", "region=Pearl",
                    "--out", tmp_path / "group")
    assert (result.exit_code, result.output) == (1, "Error: --where region=Yangtze --where region=Pearl: no document has "
                                                    "region=Yangtze and region=Pearl (several --where must all hold). "
                                                    "Leave one out, or draw each group with its own --out.\n")
    assert not (tmp_path / "group").exists()


@pytest.mark.parametrize("name", ["code", "passages"])
def test_groups_a_variable_named_as_a_count_column_is_refused(tmp_path: Path, name: str) -> None:
    """A participant `code` column became code_x and code_y in code_counts_long.csv, silently."""
    from coder.errors import CoderError
    from coder.groups import read_document_variables

    sheet = tmp_path / "documents.csv"
    sheet.write_text(f"document,{name},year\na.txt,P01,2020\n", encoding="utf-8")
    with pytest.raises(CoderError, match=f"column\\(s\\) {name} have the name of a column of code_counts_long.csv"):
        read_document_variables(sheet)


def _group_counts_by_definition(per_code_document, table, passages_by_document, codes):
    """code_counts_by_group.csv's rows straight from their definition: a group is the corpus documents
    with that value; a code's passages and documents in it are summed over them."""
    from coder.groups import _values, value_text

    rows = []
    for name in [column for column in table.columns if column != "document"]:
        value_of = {str(row["document"]): row[name] for row in table.to_dict("records") if not pd.isna(row[name])}
        for wanted in _values(table[name]):
            group = [document for document in passages_by_document
                     if document in value_of and value_text(value_of[document]) == wanted]
            if not group:  # a value of no document counted (one --where left out) is no group
                continue
            group_passages = sum(passages_by_document[document] for document in group)
            for code in codes:
                counts = [per_code_document.get((code, document), 0) for document in group]
                passages, documents = sum(counts), sum(count > 0 for count in counts)
                rows.append((name, wanted, code, passages, documents,
                             round(documents / len(group), 6) if group else 0.0,
                             round(passages / group_passages, 6) if group_passages else 0.0,
                             len(group), group_passages))
    return rows


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_groups_counts_by_group_are_their_definition(data) -> None:
    """group_counts_from summed each code's counts once per value and code (a scan of every count each
    time): 192 s for a 50-value variable on 2,000 documents and 100 codes, where the run took 35 s
    (probe O1). Now one pass a variable; its rows are still those of the definition."""
    from coder.groups import group_counts_from

    documents = [f"d{number}.txt" for number in range(data.draw(st.integers(1, 12)))]
    codes = [f"c{number}" for number in range(data.draw(st.integers(1, 4)))]
    counts = {(code, document): data.draw(st.integers(0, 4)) for code in codes for document in documents
              if data.draw(st.booleans())}
    listed = [document for document in documents if data.draw(st.booleans())] + ["gone.txt"]
    table = pd.DataFrame({"document": listed,
                          "year": data.draw(st.lists(st.sampled_from([2019, 2020.0, None]), min_size=len(listed),
                                                     max_size=len(listed))),
                          "region": data.draw(st.lists(st.sampled_from(["A", "B", None]), min_size=len(listed),
                                                       max_size=len(listed)))})
    passages = {document: data.draw(st.integers(1, 9)) for document in documents}
    series = (pd.Series(list(counts.values()), index=pd.MultiIndex.from_tuples(list(counts), names=["code", "document"]))
              if counts else pd.Series(dtype="int64"))
    frame = group_counts_from(series, DocumentVariables("documents.csv", table), passages_by_document=passages,
                              codes=codes)
    assert list(frame.itertuples(index=False, name=None)) == _group_counts_by_definition(counts, table, passages, codes)


@pytest.mark.parametrize("cell", ["a\\u202eb.txt", "a\u202eb.txt"])
def test_groups_a_document_whose_name_segments_csv_escapes_gets_its_row(tmp_path: Path, cell: str) -> None:
    """A name holding a bidi or control character is escaped in segments.csv ("a\\u202eb.txt"): written either
    way in documents.csv, its backslash was made a slash and the row named no document (probe O4)."""
    sheet = tmp_path / "documents.csv"
    sheet.write_text(f"document,region\n{cell},A\nsub\\plain.txt,B\n", encoding="utf-8")
    variables = read_document_variables(sheet).matched(["a\\u202eb.txt", "sub/plain.txt"])
    assert (variables.missing, variables.unknown) == ((), ())
    assert page_variables(variables) == {"a\\u202eb.txt": {"region": "A"}, "sub/plain.txt": {"region": "B"}}


def test_groups_a_name_a_mac_decomposes_gets_its_row(tmp_path: Path) -> None:
    """A Mac's disk or zip gives "Café_Zürich.txt" decomposed (NFD); typed in documents.csv it is composed
    (NFC): the row named no document, and the two warnings showed the same name (probe R11)."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Café_Zürich.txt")
    sheet = tmp_path / "documents.csv"
    sheet.write_text("document,region\nCafé_Zürich.txt,A\n", encoding="utf-8")
    variables = read_document_variables(sheet).matched([decomposed, "other.txt"])
    assert (variables.missing, variables.unknown) == (("other.txt",), ())
    assert page_variables(variables) == {decomposed: {"region": "A"}}


def test_groups_a_name_listed_with_a_leading_dot_slash_gets_its_row(tmp_path: Path) -> None:
    """A sheet made from `find .` in the corpus writes "./en/a.txt" (and Windows ".\\b.txt"): every row named no
    document, and the whole sheet was left out of the groups with two warnings (probe W17)."""
    sheet = tmp_path / "documents.csv"
    sheet.write_text("document,region\n./en/a.txt,A\n.\\b.txt,B\n", encoding="utf-8")
    variables = read_document_variables(sheet).matched(["en/a.txt", "b.txt"])
    assert (variables.missing, variables.unknown) == ((), ())
    assert page_variables(variables) == {"en/a.txt": {"region": "A"}, "b.txt": {"region": "B"}}


def test_groups_two_rows_naming_one_document_are_refused(tmp_path: Path) -> None:
    sheet = tmp_path / "documents.csv"
    sheet.write_text("document,region\na\u202eb.txt,A\na\\u202eb.txt,B\n", encoding="utf-8")
    with pytest.raises(Exception, match="both name"):
        read_document_variables(sheet).matched(["a\\u202eb.txt"])


def test_groups_a_blank_header_cell_is_refused(tmp_path: Path) -> None:
    """A blank header cell became a variable named 'unnamed: 1' in every count table (probe N10)."""
    from coder.groups import DocumentsError

    sheet = tmp_path / "documents.csv"
    sheet.write_text("document,\na.txt,1\nb.txt,2\n", encoding="utf-8")
    with pytest.raises(DocumentsError, match="column 2 has no name"):
        read_document_variables(sheet)


@pytest.mark.parametrize("encoding", ["cp1252", "mac_roman"])
@pytest.mark.parametrize("other", ["", "São Paulo"])  # without it, the file saved is plain ASCII
def test_groups_a_sheet_saved_in_a_code_page_without_chinese_is_refused(tmp_path: Path, encoding, other) -> None:
    """Excel's "CSV (Comma delimited)" writes 长三角, 珠三角 and 京津冀 all as ???: one group, silently (probe W15)."""
    from coder.groups import DocumentsError

    sheet = tmp_path / "documents.csv"
    text = f"document,区域,city\r\nd1.txt,长三角,{other}\r\nd2.txt,珠三角,x\r\nd3.txt,京津冀,y\r\n"
    sheet.write_bytes(text.encode(encoding, errors="replace"))
    with pytest.raises(DocumentsError) as error:
        read_document_variables(sheet)
    assert str(error.value).startswith(f"{sheet}: saved as ")
    assert str(error.value).endswith(
        "which cannot hold Chinese and most other characters: column 2 is named '??'; 3 cell(s) of column '??' "
        "(first, row 2: '???') show \"?\" in their place, and values that differed would read as one. "
        "Save it as \"CSV UTF-8\" and run again.")


def test_groups_a_plain_ascii_sheet_with_a_double_question_mark_is_read_with_a_warning(tmp_path: Path) -> None:
    """A plain-ASCII sheet (an English project's, or UTF-8 without a BOM) holding "??" (a year not known) stopped
    every run as a lossy save (probe BB5): nothing was lost, and saving it as UTF-8 gave the same bytes. Its cells
    are read, with a warning that names them; a column named "??" still stops it (as in the test above)."""
    sheet = tmp_path / "documents.csv"
    sheet.write_bytes(b"document,region,year\r\nd1.txt,???,??\r\nd2.txt,east,2019\r\n")
    variables = read_document_variables(sheet)
    assert page_variables(variables) == {"d1.txt": {"region": "???", "year": "??"}, "d2.txt": {"region": "east", "year": "2019"}}
    warning, = variables.matched(["d1.txt", "d2.txt"]).warnings()
    assert warning.startswith(f"Warning: {sheet}: 1 cell(s) of column 'region' (first, row 2: '???'); 1 cell(s) of "
                              "column 'year' (first, row 2: '??') show \"??\". If the sheet was saved as plain ASCII")


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_groups_a_sheet_in_a_code_page_with_a_lone_question_mark_is_read(tmp_path: Path, encoding) -> None:
    """A lone "?" is a value (not known), and a Western sheet in Windows-1252 loses nothing."""
    sheet = tmp_path / "documents.csv"
    city = "São Paulo" if encoding == "cp1252" else "Sao Paulo"
    sheet.write_bytes(f"document,city,founded\r\nd1.txt,{city},?\r\nd2.txt,Lyon,43\r\n".encode(encoding))
    assert page_variables(read_document_variables(sheet)) == {
        "d1.txt": {"city": city, "founded": "?"}, "d2.txt": {"city": "Lyon", "founded": "43"}}


@pytest.mark.parametrize(("encoding", "text"), [
    ("cp950", "document,地區\r\nd1.txt,臺灣\r\nd2.txt,香港\r\n"),  # Excel on a Traditional-Chinese Windows
    ("gbk", "document,地区\r\nd1.txt,长三角\r\nd2.txt,珠三角\r\n"),  # ... on a Simplified-Chinese one
    ("cp1252", "document,note\r\nd1.txt,it´s late\r\nd2.txt,O´Neill\r\n"),  # Big5 decodes it too: it愀 late
])
def test_groups_a_sheet_in_a_chinese_code_page_is_read(tmp_path: Path, encoding, text) -> None:
    """A Big5 sheet was read as Windows-1252: 地區 became ¦a°ï in every count table (probe AN5)."""
    sheet = tmp_path / "documents.csv"
    sheet.write_bytes(text.encode(encoding))
    header, *rows = [line.split(",") for line in text.split("\r\n")[:-1]]
    assert page_variables(read_document_variables(sheet)) == {row[0]: {header[1]: row[1]} for row in rows}


def test_groups_a_big5_sheet_that_lost_simplified_characters_is_refused(tmp_path: Path) -> None:
    """Big5 holds no simplified 华 or 东: Excel wrote 华北 and 东北 as ?北, one region, read without a word
    (probe AX2); a lone "?" stays a value."""
    from coder.groups import DocumentsError

    sheet = tmp_path / "documents.csv"
    sheet.write_bytes("document,地區,年\r\nd1.txt,華北,?\r\nd2.txt,臺灣,2020\r\n".encode("cp950"))
    assert page_variables(read_document_variables(sheet))["d1.txt"] == {"地區": "華北", "年": "?"}
    sheet.write_bytes("document,地區\r\nd1.txt,华北\r\nd2.txt,东北\r\nd3.txt,臺灣\r\n".encode("cp950", "replace"))
    with pytest.raises(DocumentsError, match=r"read as Big5 \(cp950\).*column '地區' \(first, row 2: '\?北'\)"):
        read_document_variables(sheet)


def test_groups_a_sheet_read_as_gbk_keeps_a_question_mark_typed_beside_chinese() -> None:
    """GBK holds every Chinese character: a "?" beside Chinese in a documents.csv read as GBK was typed (待定?),
    not a character lost as Big5 loses simplified ones (probe AZ2); "??" there is still a lost character (ö or
    an emoji, which GBK cannot hold), as in Big5."""
    from coder.groups import DocumentsError, _lost_characters

    table = pd.DataFrame({"document": ["d1.txt", "d2.txt"], "备注": ["区域合作待定?", "华北"]})
    for encoding in ("gbk", "cp950"):
        table.attrs["encoding"] = encoding
        if encoding == "gbk":
            assert _lost_characters("documents.csv", table) == ""
        else:
            with pytest.raises(DocumentsError, match=r"read as Big5 \(cp950\).*beside Chinese"):
                _lost_characters("documents.csv", table)
    table.attrs["encoding"] = "gbk"
    with pytest.raises(DocumentsError, match=r"read as GBK.*column '备注' \(first, row 2: 'Gr\?\?e'\)"):
        _lost_characters("documents.csv", table.assign(备注=["Gr??e", "华北"]))


def _xlsx_sheet(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


@pytest.mark.parametrize("name", ["documents.xlsx"])
def test_groups_xlsx_dates_and_numbers_read_as_the_sheet_shows_them(tmp_path: Path, name: str) -> None:
    """A documents.xlsx's date cell is the date typed (2019-03-27, not 2019-03-27 00:00:00), a time is kept
    when it is not midnight, and a number column's whole values are 1 in every table, not 1.0 (probe W17)."""
    import datetime

    _corpus(tmp_path, sheet=None)
    sheet = _xlsx_sheet(tmp_path / name, [
        ["document", "published", "score"],
        ["d1.txt", datetime.datetime(2019, 3, 27), 1.0],
        ["d2.txt", datetime.datetime(2019, 3, 27), 2.5],
        ["d3.txt", datetime.datetime(2019, 3, 28, 14, 30), 1.0],
        ["d4.txt", datetime.date(2019, 3, 28), 2.5],
    ])
    result = _run(tmp_path, "--documents", sheet)
    assert result.exit_code == 0, result.output
    long = read_table(tmp_path / "out" / "code_counts_long.csv")
    assert long.drop_duplicates("document")[["document", "published", "score"]].values.tolist() == [
        ["d1.txt", "2019-03-27", "1"], ["d2.txt", "2019-03-27", "2.5"], ["d3.txt", "2019-03-28 14:30", "1"],
    ]
    groups = read_table(tmp_path / "out" / "code_counts_by_group.csv")
    assert list(dict.fromkeys(zip(groups["variable"], groups["value"]))) == [
        ("published", "2019-03-27"), ("published", "2019-03-28 14:30"), ("published", "2019-03-28"),
        ("score", "1"), ("score", "2.5"),
    ]
    chosen = invoke("network", tmp_path / "out" / "segments.csv", "--where", "published=2019-03-27",
                    "--where", "score=1", "--out", tmp_path / "group")
    assert chosen.exit_code == 0, chosen.output
    assert chosen.output.splitlines()[0] == "1 document(s) where published=2019-03-27 and score=1."


@pytest.mark.parametrize("big", ["100000000000000000000", "1e20", "9007199254740993"])
def test_groups_a_whole_number_too_large_to_hold_exactly_is_read_as_text(tmp_path: Path, big: str) -> None:
    """A 20-digit identifier in documents.csv stopped the run on an internal error (Int64 cannot hold it), and
    past 2**53 a float would change its digits: such a column is text, selected as written."""
    path = tmp_path / "documents.csv"
    path.write_text(f"document,record\na.txt,{big}\nb.txt,7\n", encoding="utf-8")
    variables = read_document_variables(path)
    assert page_variables(variables) == {"a.txt": {"record": big}, "b.txt": {"record": "7"}}
    assert select_documents(variables, [f"record={big}"], ["a.txt", "b.txt"]) == ["a.txt"]


@pytest.mark.parametrize("name", ["Documents.csv", "DOCUMENTS.CSV"])
def test_groups_a_sheet_named_in_other_capitals_is_read_with_a_warning(tmp_path: Path, name: str) -> None:
    """"Documents.csv" at the corpus top was listed as skipped ("unsupported file type .csv") and not read on
    Linux, while Windows and macOS open it as documents.csv and read it: one project, two outputs (probe AH9)."""
    _corpus(tmp_path, sheet=None)
    (tmp_path / "corpus" / name).write_text(SHEET, encoding="utf-8")
    result = invoke("run", tmp_path / "corpus", "--codebook", tmp_path / "codebook.yaml", "--out", tmp_path / "out",
                    "--workers", "1")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith(("Warning", "  skipped"))] == [
        f"Warning: {tmp_path / 'corpus' / name}: read as the document variables, as Windows and macOS read it; "
        f"name it documents.csv"]
    assert {tuple(row[:2]) for row in _rows(tmp_path / "out" / "code_counts_by_group.csv")} >= {
        ("region", "Pearl"), ("region", "Yangtze"), ("year", "2020")}
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run["skipped"] == []


@pytest.mark.parametrize("files, typed, found", [
    (["Report.txt", "b.txt"], "report.txt", "Report.txt"),
    (["Report.txt", "REPORT.txt"], "report.txt", None),  # two read so: which, nothing tells
])
def test_groups_a_row_naming_a_document_in_other_capitals(tmp_path: Path, files: list[str], typed: str,
                                                          found: str | None) -> None:
    """A row "report.txt" for the file "Report.txt" (one file on Windows and macOS) named no document and was left
    out of the groups (probe AH12): the one document it reads as is taken, with a warning naming both."""
    sheet = tmp_path / "documents.csv"
    sheet.write_text(f"document,region\n{typed},A\n", encoding="utf-8")
    variables = read_document_variables(sheet).matched(files)
    if found is None:
        assert (variables.unknown, variables.warnings()[-1]) == (
            (typed,), f"Warning: {sheet}: 1 row(s) name no document of the corpus: {typed}")
        return
    assert page_variables(variables) == {found: {"region": "A"}}
    assert variables.warnings()[-1] == (f"Warning: {sheet}: 1 row(s) name a document in other capitals, read as that "
                                        f"document (Windows and macOS open either name as one file): "
                                        f"'{typed}' as '{found}'")


def test_groups_a_row_in_other_capitals_beside_a_row_naming_the_document_names_a_file_gone(tmp_path: Path) -> None:
    """Rows "report.txt" (a file deleted since) and "Report.txt", the corpus holding Report.txt: both were taken
    as Report.txt and the run stopped, "two rows name one document", where the earlier version ran (probe AK8)."""
    sheet = tmp_path / "documents.csv"
    sheet.write_text("document,year\nreport.txt,2020\nReport.txt,2021\n", encoding="utf-8")
    variables = read_document_variables(sheet).matched(["Report.txt"])
    assert page_variables(variables) == {"Report.txt": {"year": 2021}}
    assert variables.unknown == ("report.txt",)


@pytest.mark.parametrize(("encoding", "named"), [("cp950", "Big5 (cp950)")])
def test_groups_a_sheet_read_in_a_chinese_code_page_says_so(tmp_path: Path, encoding: str, named: str) -> None:
    """A sheet read as Big5 (Excel's "CSV (Comma delimited)" on a Traditional-Chinese Windows) is read, and the run
    says which code page it guessed, as `coder import dictionary` does: a Western sheet guessed wrong shows it."""
    sheet = tmp_path / "documents.csv"
    sheet.write_bytes("document,地區\r\nd1.txt,臺灣\r\nd2.txt,香港\r\n".encode(encoding))
    variables = read_document_variables(sheet)
    assert page_variables(variables) == {"d1.txt": {"地區": "臺灣"}, "d2.txt": {"地區": "香港"}}
    assert variables.matched(["d1.txt", "d2.txt"]).warnings() == [
        f"Warning: {sheet}: not UTF-8; read as {named}. If its names or values look wrong, save it as \"CSV UTF-8\" "
        "and run again."]
