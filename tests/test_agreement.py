"""Agreement with hand coding: reference alpha values, hand-computed per-code figures, gold reading."""

from __future__ import annotations

import math
import unicodedata

import pandas as pd
import pytest
from conftest import invoke, make_run_folder
from hypothesis import given
from hypothesis import strategies as st

from coder.agreement import (
    AGREEMENT_COLUMNS,
    _binary_coincidences,
    alpha_from_coincidences,
    cohen_kappa,
    coincidence_matrix,
    compute_agreement,
    krippendorff_alpha,
    map_spans_to_passages,
    read_gold,
    write_agreement,
)
from coder.codebook import parse_codebook
from coder.errors import CoderError

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: nominal data,
# 4 observers x 12 units with missing values (alpha = 0.743), and section A: 2 observers,
# binary data, 10 units (alpha = 0.095).
KRIPPENDORFF_NOMINAL = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
KRIPPENDORFF_BINARY = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    "data, published, exact",
    [(KRIPPENDORFF_NOMINAL, 0.743, 113 / 152), (KRIPPENDORFF_BINARY, 0.095, 2 / 21)],
)
def test_agreement_alpha_matches_krippendorff_worked_examples(data, published, exact):
    alpha = krippendorff_alpha(data)
    assert round(alpha, 3) == published
    assert alpha == pytest.approx(exact, abs=1e-12)


def test_agreement_coincidence_matrix_of_binary_example():
    assert coincidence_matrix(KRIPPENDORFF_BINARY) == {(0, 0): 10.0, (0, 1): 4.0, (1, 0): 4.0, (1, 1): 2.0}


@pytest.mark.parametrize(
    "data",
    [
        [[1, 1, 1], [1, 1, 1]],  # one value only: no expected disagreement
        [[1, N, 2]],  # one coder: nothing pairable
        [[1, N], [N, 2]],  # no unit has two values
        [],
    ],
)
def test_agreement_alpha_is_nan_when_undefined(data):
    assert math.isnan(krippendorff_alpha(data))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_agreement_binary_shortcut_equals_general_alpha(pairs):
    tp = sum(1 for a, b in pairs if a and b)
    fp = sum(1 for a, b in pairs if a and not b)
    fn = sum(1 for a, b in pairs if b and not a)
    tn = len(pairs) - tp - fp - fn
    general = krippendorff_alpha([[a for a, _ in pairs], [b for _, b in pairs]])
    shortcut = alpha_from_coincidences(_binary_coincidences(tp, fp, fn, tn))
    assert (math.isnan(general) and math.isnan(shortcut)) or general == pytest.approx(shortcut, abs=1e-12)


@pytest.mark.parametrize(
    "counts, kappa",
    [((20, 5, 10, 15), 0.4), ((1, 1, 1, 7), 0.375), ((1, 0, 0, 9), 1.0), ((0, 1, 1, 8), -0.02 / 0.18), ((0, 0, 0, 5), math.nan)],
)
def test_agreement_cohen_kappa_hand_computed(counts, kappa):
    found = cohen_kappa(*counts)
    assert (math.isnan(found) and math.isnan(kappa)) or found == pytest.approx(kappa, abs=1e-12)


CODEBOOK = parse_codebook(
    "codes:\n  g:\n    codes:\n      x: [ex]\n      y: [why]\n  z: [zed]\n", source="codebook.yaml"
)
PREDICTED = pd.DataFrame(
    [("a", 0, "x", "g/x"), ("a", 1, "x", "g/x"), ("a", 2, "y", "g/y"), ("b", 0, "z", "z")],
    columns=["document", "passage", "code", "code_path"],
)
GOLD = pd.DataFrame([("a", 0, "x"), ("a", 2, "x"), ("a", 2, "y"), ("b", 1, "z")], columns=["document", "passage", "code"])


def _rows(frame):
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in frame.itertuples(index=False)]


def test_agreement_per_code_and_overall_hand_computed():
    result = compute_agreement(PREDICTED, GOLD, units=10, codebook=CODEBOOK)
    assert list(result.columns) == list(AGREEMENT_COLUMNS)
    assert _rows(result) == [
        ("x", 2, 2, 1, 1, 1, 7, 0.5, 0.5, 0.5, 0.375, 0.40625),
        ("y", 1, 1, 1, 0, 0, 9, 1.0, 1.0, 1.0, 1.0, 1.0),
        ("z", 1, 1, 0, 1, 1, 8, 0.0, 0.0, 0.0, round(-0.02 / 0.18, 6), round(1 - 76 / 72, 6)),
        ("(overall)", 4, 4, 2, 2, 2, 24, 0.5, 0.5, 0.5, round((0.375 + 1 - 0.02 / 0.18) / 3, 6), round(1 - 472 / 832, 6)),
    ]


def test_agreement_level_rolls_codes_up():
    result = compute_agreement(PREDICTED, GOLD, units=10, codebook=CODEBOOK, level=1)
    # g: automatic {a0, a1, a2}, gold {a0, a2}
    assert _rows(result)[0] == ("g", 2, 3, 2, 1, 0, 7, round(2 / 3, 6), 1.0, 0.8, round((0.9 - 0.62) / 0.38, 6), round(1 - 38 / 150, 6))
    assert list(result["code"]) == ["g", "z", "(overall)"]


def test_agreement_units_default_to_passages_seen():
    result = compute_agreement(PREDICTED, GOLD)
    assert list(result["tn"]) == [2, 4, 3, 9]  # 5 passages seen: a0 a1 a2 b0 b1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 3}, "units: 3 passages given, but 5 different passages are coded. Pass the number of passages in the corpus."),
        ({"level": 0}, "--level 0: levels start at 1 (the top-level codes)."),
    ],
)
def test_agreement_rejects_bad_options(kwargs, message):
    with pytest.raises(CoderError) as caught:
        compute_agreement(PREDICTED, GOLD, **kwargs)
    assert str(caught.value) == message


def test_agreement_unknown_gold_code_is_named():
    gold = pd.DataFrame([("a", 0, "X"), ("a", 1, "nothing")], columns=["document", "passage", "code"])
    with pytest.raises(CoderError) as caught:
        compute_agreement(PREDICTED, gold, codebook=CODEBOOK)
    assert str(caught.value) == (
        "gold: code(s) not in the codebook: 'X' (did you mean 'x'?), 'nothing'. "
        "Use the code ids of the codebook in the `code` column."
    )


PASSAGES = [("a", 0, 0, 10), ("a", 1, 12, 30), ("a", 2, 32, 40), ("b", 0, 0, 5)]


@pytest.mark.parametrize(
    "span, passages",
    [
        ((0, 10), [0]),
        ((5, 15), [0, 1]),
        ((10, 12), []),  # only the gap between two passages
        ((12, 12), [1]),  # a position inside passage 1
        ((0, 40), [0, 1, 2]),
        ((29, 33), [1, 2]),
    ],
)
def test_agreement_spans_map_to_overlapping_passages(span, passages):
    gold = pd.DataFrame([("a", span[0], span[1], "x")], columns=["document", "start", "end", "code"])
    if not passages:
        with pytest.raises(CoderError) as caught:
            map_spans_to_passages(gold, PASSAGES)
        assert str(caught.value) == f"gold:2: span {span[0]}-{span[1]} of 'a' overlaps no passage."
        return
    mapped = map_spans_to_passages(gold, PASSAGES)
    assert mapped.values.tolist() == [["a", index, "x"] for index in passages]


def test_agreement_span_in_unknown_document():
    gold = pd.DataFrame([("c", 0, 1, "x")], columns=["document", "start", "end", "code"])
    with pytest.raises(CoderError) as caught:
        map_spans_to_passages(gold, PASSAGES, source="GOLD.csv")
    assert str(caught.value) == "GOLD.csv:2: document 'c' has no passages (is it in the corpus?)."


@pytest.mark.parametrize(
    "content, expected",
    [
        ("\ufeffdocument,passage,code\na.txt,0,x\na.txt, 2 ,y\n", [["a.txt", "x", 0], ["a.txt", "y", 2]]),
        ("Document;Start;End;Code\nb.txt;3;9;z\n", [["b.txt", "z", 3, 9]]),
        ("document,code,start,end,note\n报告.txt,x,0,4,ok\n", [["报告.txt", "x", 0, 4]]),
        # Excel's rows of cleared cells are skipped (they stopped agree: "`document` is empty", probe AF5)
        ("document,passage,code\r\na.txt,0,x\r\n,,\r\n , ,\r\n", [["a.txt", "x", 0]]),
        # "1.0" is passage 1, and "./a.txt" is a.txt, as documents.csv reads it (probe AF lesser points)
        ("document,passage,code\n./a.txt,1.0,x\n", [["a.txt", "x", 1]]),
    ],
)
def test_agreement_read_gold_shapes(tmp_path, content, expected):
    path = tmp_path / "gold.csv"
    path.write_text(content, encoding="utf-8")
    assert read_gold(path).values.tolist() == expected


@pytest.mark.parametrize(
    "content, message",
    [
        ("document,code\na,x\n", "{path}: the header must name document, code and either passage or start and end (found: document, code). For example: document,passage,code"),
        ("document,passage,code\na,one,x\n,1,x\n", "{path}:2: `passage` is 'one', not a whole number.\n{path}:3: `document` is empty."),
        ("document,start,end,code\na,9,3,x\n", "{path}:2: start 9 is after end 3."),
        # a header and no rows was "scored": exit 0, an empty agreement.csv (probe AF4)
        ("document,passage,code\n", "{path}: the header has no rows under it: nothing to score. Add a row for each "
         "passage you coded (document,passage,code), or fill in the `code` cells of a `coder sample` sheet."),
        ("document,passage,code\n,,\n", "{path}: the header has no rows under it: nothing to score. Add a row for each "
         "passage you coded (document,passage,code), or fill in the `code` cells of a `coder sample` sheet."),
        # -1 and 1.5 were both "not a whole number"
        ("document,passage,code\na,-1,x\na,1.5,x\n,,\na,,x\n", "{path}:2: `passage` is -1: passages and characters are "
         "numbered from 0, so it must be 0 or more.\n{path}:3: `passage` is '1.5', not a whole number.\n"
         "{path}:5: `passage` is empty."),
        # an empty line was dropped before rows were numbered: every later line was named one too early (probe AI13)
        ("document,passage,code\na,0,x\n\na,one,x\n", "{path}:4: `passage` is 'one', not a whole number."),
    ],
)
def test_agreement_read_gold_errors(tmp_path, content, message):
    path = tmp_path / "gold.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CoderError) as caught:
        read_gold(path)
    assert str(caught.value) == message.format(path=path)


def test_agreement_csv_written_atomically(tmp_path):
    result = compute_agreement(PREDICTED, GOLD, units=10, codebook=CODEBOOK)
    path = write_agreement(result, tmp_path / "out" / "agreement.csv")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(AGREEMENT_COLUMNS)
    assert lines[1] == "x,2,2,1,1,1,7,0.5000,0.5000,0.5000,0.3750,0.4062"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(p.name for p in path.parent.iterdir()) == ["agreement.csv"]


RUN_CODEBOOK = """\
codes:
  cooperation:
    codes:
      joint_meeting: [joint meeting]
      agreement: [agreement]
  barriers: [red tape]
"""


@pytest.fixture
def run_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # passages: 0 joint meeting | 1 red tape | 2 agreement + red tape | 3 nothing
    return make_run_folder(tmp_path, {
        "a.txt": "A joint meeting was held.\n\nRed tape everywhere.\n\nAn agreement despite red tape.\n\nNothing here.\n",
    }, RUN_CODEBOOK)


def _agree(*args):
    return invoke("agree", *args)


def test_agreement_cli_with_passages(run_folder):
    (run_folder / "gold.csv").write_text("document,passage,code\na.txt,0,joint_meeting\na.txt,2,agreement\na.txt,3,barriers\n", encoding="utf-8")
    result = _agree("gold.csv", "--whole-corpus")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Agreement written to outputs/agreement.csv\n")
    lines = (run_folder / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].endswith(",precision_low,precision_high,recall_low,recall_high")
    lines = [",".join(line.split(",")[:12]) for line in lines]
    # 4 passages; barriers: automatic {1, 2}, gold {3}
    assert lines[1:] == [
        "joint_meeting,1,1,1,0,0,3,1.0000,1.0000,1.0000,1.0000,1.0000",
        "agreement,1,1,1,0,0,3,1.0000,1.0000,1.0000,1.0000,1.0000",
        "barriers,1,2,0,2,1,1,0.0000,0.0000,0.0000,-0.5000,-0.4000",
        "(overall),3,4,2,2,1,7,0.5000,0.6667,0.5714,0.5000,0.4202",
    ]


def test_agreement_cli_with_spans_and_level(run_folder):
    text = (run_folder / "corpus" / "a.txt").read_text(encoding="utf-8")
    start = text.index("joint")
    end = text.index("Red") + 3  # reaches into passage 1
    (run_folder / "gold.csv").write_text(f"document,start,end,code\na.txt,{start},{end},joint_meeting\n", encoding="utf-8")
    result = _agree("gold.csv", "--level", "1", "--out", "report", "--whole-corpus")
    assert result.exit_code == 0, result.output
    lines = (run_folder / "report" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    lines = [",".join(line.split(",")[:12]) for line in lines]
    assert lines[1:3] == [
        "cooperation,2,2,1,1,1,1,0.5000,0.5000,0.5000,0.0000,0.1250",
        "barriers,0,2,0,2,0,2,0.0000,,0.0000,0.0000,-0.1667",
    ]
    # A folder the user named keeps its agreement.csv unless --force (beside segments.csv it is the run's own)
    written = (run_folder / "report" / "agreement.csv").read_bytes()
    again = _agree("gold.csv", "--level", "2", "--out", "report", "--whole-corpus")
    assert again.exit_code == 1
    assert again.output == ("Error: report/agreement.csv: already exists. Pass --force to overwrite it, or choose "
                            "another file with --out.\n")
    assert (run_folder / "report" / "agreement.csv").read_bytes() == written
    assert _agree("gold.csv", "--level", "2", "--out", "report", "--whole-corpus", "--force").exit_code == 0
    assert (run_folder / "report" / "agreement.csv").read_bytes() != written


def test_agreement_cli_never_replaces_the_hand_coding(run_folder):
    """The results were written over a gold file saved as outputs/agreement.csv (exit 0), and over a
    file of that name beside segments.csv that coder had not written."""
    gold = "document,passage,code\na.txt,0,joint_meeting\na.txt,1,\n"
    (run_folder / "outputs" / "agreement.csv").write_text(gold, encoding="utf-8")
    for extra in ([], ["--force"], ["--out", "outputs", "--force"]):
        result = _agree("outputs/agreement.csv", *extra)
        assert result.exit_code == 1, extra
        assert result.output.startswith("Error: outputs/agreement.csv is the gold file: writing the results there would "
                                        "replace it."), result.output
    (run_folder / "gold.csv").write_text(gold, encoding="utf-8")
    result = _agree("gold.csv")
    assert result.exit_code == 1 and "already exists. Pass --force" in result.output
    assert (run_folder / "outputs" / "agreement.csv").read_text(encoding="utf-8") == gold
    assert _agree("gold.csv", "--force").exit_code == 0
    assert _agree("gold.csv").exit_code == 0  # coder's own agreement.csv is replaced as before


def test_agreement_header_is_the_one_run_folders_recognise():
    from coder.agreement import AGREEMENT_COLUMNS
    from coder.runs import AGREEMENT_HEADER

    assert AGREEMENT_HEADER == ",".join(AGREEMENT_COLUMNS)


def test_agreement_cli_follows_passages_moved_by_a_corpus_edit(run_folder):
    """A filled sample sheet names passages by number: after a paragraph was added at the top and the
    run redone, every number pointed at the passage before it (F1 fell from 1.0 to 0.67, exit 0)."""
    assert invoke("sample", "4", "--out", "sheet.csv").exit_code == 0
    sheet = pd.read_csv(run_folder / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    codes = {"A joint meeting was held.": "joint_meeting", "Red tape everywhere.": "barriers",
             "An agreement despite red tape.": "agreement;barriers", "Nothing here.": ""}
    sheet["code"] = sheet["text"].map(codes)
    sheet.to_csv(run_folder / "sheet.csv", index=False, encoding="utf-8-sig")
    first = _agree("sheet.csv")
    assert first.exit_code == 0, first.output
    before = (run_folder / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig")
    corpus = run_folder / "corpus" / "a.txt"
    corpus.write_text("A new opening paragraph.\n\n" + corpus.read_text(encoding="utf-8"), encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet").exit_code == 0
    again = _agree("sheet.csv", "--sample", "sheet.csv")
    assert again.exit_code == 0, again.output
    assert "Note: 4 passage(s) of the gold coding followed their text to a new passage number" in again.output
    assert (run_folder / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig") == before
    # a passage whose text is gone cannot be scored against whatever holds its number now
    corpus.write_text(corpus.read_text(encoding="utf-8").replace("Red tape everywhere.", "Red tape here and there."),
                      encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet").exit_code == 0
    lost = _agree("sheet.csv", "--force")
    assert lost.exit_code == 1
    assert lost.output.startswith("Error: sheet.csv: 1 passage(s) named have another text now, nothing was scored:\n"
                                  "  a.txt, passage 1: its text is no longer in the document\n")


def test_sample_without_passages_table_refuses_a_changed_corpus(run_folder):
    """Without passages.parquet (an older run) the corpus is split again: after an edit its passages were
    not the run's, and `sample` counted coded passages wrongly, silently."""
    for name in ("passages.parquet", "passages.csv"):
        (run_folder / "outputs" / name).unlink(missing_ok=True)
    assert invoke("sample", "2", "--out", "one.csv").exit_code == 0
    corpus = run_folder / "corpus" / "a.txt"
    corpus.write_text("A new opening paragraph.\n\n" + corpus.read_text(encoding="utf-8"), encoding="utf-8")
    (run_folder / "corpus" / "b.txt").write_text("Another joint meeting.\n", encoding="utf-8")
    result = invoke("sample", "2", "--out", "two.csv")
    assert (result.exit_code, result.output) == (1, (
        "Error: outputs: the run kept no passages table, and the corpus is no longer the one it coded (changed: a.txt; "
        "added: b.txt). Run `coder run` again, then try this again.\n"))


def test_agreement_cli_unknown_code(run_folder):
    (run_folder / "gold.csv").write_text("document,passage,code\na.txt,0,Joint_Meeting\n", encoding="utf-8")
    result = _agree("gold.csv")
    assert (result.exit_code, result.output) == (
        1,
        "Error: gold.csv: 1 row problem(s), nothing was scored:\n"
        "  gold.csv:2: code 'Joint_Meeting' is not in the codebook (did you mean 'joint_meeting'?)\n"
        "Use document paths and passage numbers from segments.csv and code ids of the codebook.\n",
    )


LABELLED_CODEBOOK = """\
codes:
  joint_meeting:
    label: Intergovernmental joint meeting
    keywords: [joint meeting]
  barriers:
    label: Red tape
    keywords: [red tape]
"""


@pytest.mark.parametrize("cell, outcome", [
    ("Intergovernmental joint meeting", 0),
    ("intergovernmental  Joint meeting", "code 'intergovernmental  Joint meeting' is not in the codebook "
                                         "(did you mean 'joint_meeting', labelled 'Intergovernmental joint meeting'?)"),
])
def test_agreement_cli_reads_a_code_named_by_its_label(tmp_path, monkeypatch, cell, outcome):
    """A gold sheet naming a code by its label (as the report shows it) was refused with "did you mean
    'intergovernmental_cooperation'?" (probe W9): the exact label is read as the code's id, and a label
    typed otherwise is answered with the code whose label it is."""
    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "A joint meeting was held.\n\nRed tape everywhere.\n"}, LABELLED_CODEBOOK)
    (tmp_path / "gold.csv").write_text(f"document,passage,code\na.txt,0,{cell}\na.txt,1,barriers\n", encoding="utf-8")
    result = _agree("gold.csv")
    if outcome:
        assert (result.exit_code, result.output) == (1, (
            f"Error: gold.csv: 1 row problem(s), nothing was scored:\n  gold.csv:2: {outcome}\n"
            "Use document paths and passage numbers from segments.csv and code ids of the codebook.\n"))
        return
    assert result.exit_code == 0, result.output
    assert f"Note: 1 gold row(s) name a code by its label, read as its id ('{cell}': joint_meeting)" in result.output
    lines = (tmp_path / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("joint_meeting,1,1,1,0,0,")


def test_agreement_cli_scores_only_named_passages(run_folder):
    # The gold file names passages 0 and 1 only: passage 2 (coded by the tool) is not counted.
    (run_folder / "gold.csv").write_text("document,passage,code\na.txt,0,joint_meeting\na.txt,1,\n", encoding="utf-8")
    result = _agree("gold.csv")
    assert result.exit_code == 0, result.output
    assert "Note: scored the 2 passage(s) the gold coding names; other passages are not counted" in result.output
    lines = (run_folder / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    cells = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    # joint_meeting: tool {0}, gold {0}; barriers: tool {1}, gold {} (passage 1 read, left uncoded).
    assert cells["joint_meeting"][1:8] == ["1", "1", "1", "0", "0", "1", "1.0000"]
    assert cells["barriers"][1:8] == ["0", "1", "0", "1", "0", "1", "0.0000"]
    assert "agreement" not in cells


def test_agreement_cli_rejects_unknown_documents_passages_and_codes(run_folder):
    """Each problem names its line (they named none), and an empty line counts (probe AI13)."""
    (run_folder / "gold.csv").write_text(
        "document,passage,code\na.txt,0,joint_meeting\n\nb.txt,0,barriers\na.txt,9,barriers\na.txt,1,nope\n",
        encoding="utf-8")
    result = _agree("gold.csv")
    assert (result.exit_code, result.output) == (1, (
        "Error: gold.csv: 3 row problem(s), nothing was scored:\n"
        "  gold.csv:4: document 'b.txt' is not in the run (did you mean 'a.txt'?)\n"
        "  gold.csv:5: 'a.txt' has no passage 9 (it has passages 0-3)\n"
        "  gold.csv:6: code 'nope' is not in the codebook\n"
        "Use document paths and passage numbers from segments.csv and code ids of the codebook.\n"
    ))


@pytest.mark.parametrize("content, outcome", [
    ("a.txt,abc\n", "Error: sample.csv:3: `passage` is 'abc', not a whole number.\n"),
    ("a.txt,-1\n", "Error: sample.csv:3: `passage` is -1: passages and characters are numbered from 0, so it must be 0 "
                   "or more.\n"),
    ("a.txt,99999\nb.txt,1\n", "Error: sample.csv: 2 row problem(s), nothing was scored:\n"
     "  sample.csv:3: 'a.txt' has no passage 99999 (it has passages 0-3)\n"
     "  sample.csv:4: document 'b.txt' is not in the run (did you mean 'a.txt'?)\n"
     "Use document paths and passage numbers from segments.csv and code ids of the codebook.\n"),
    ("./a.txt,3.0\n", None),
    ("./a.txt,3.0\n,\n", None),  # a row of blank cells is no row
    ("a.txt,\n", "Error: sample.csv:3: `passage` is empty (the row's document 'a.txt'); write the passage number back, "
                 "or delete the row.\n"),  # it was left out, a true negative fewer (probe AJ5)
])
def test_agreement_cli_checks_the_sample_sheets_passages(run_folder, content, outcome):
    """--sample's passage cells were never checked: 'abc' was an internal error, and passages -1 or 99999
    that the document lacks were scored as agreeing "no code" passages (probe AI12)."""
    (run_folder / "gold.csv").write_text("document,passage,code\na.txt,0,joint_meeting\n", encoding="utf-8")
    (run_folder / "sample.csv").write_text(f"document,passage\n\n{content}", encoding="utf-8")
    result = _agree("gold.csv", "--sample", "sample.csv")
    if outcome is None:
        assert result.exit_code == 0, result.output
        assert "Note: scored the 2 passage(s) the gold coding names and its sample" in result.output
    else:
        assert (result.exit_code, result.output) == (1, outcome)


@pytest.mark.parametrize("seed", [0])
def test_agreement_bootstrap_intervals(seed):
    from coder.agreement import bootstrap_intervals

    units = [("a.txt", number) for number in range(40)]
    gold = pd.DataFrame([(document, passage, "c") for document, passage in units[:20]], columns=["document", "passage", "code"])
    perfect = bootstrap_intervals(gold, gold, units, seed=seed)
    assert perfect.set_index("code").loc["c"].tolist() == [1.0, 1.0, 1.0, 1.0]
    # The tool finds 10 of the 20 and 10 false ones: precision and recall 0.5, intervals around it.
    predicted = pd.DataFrame([(document, passage, "c") for document, passage in units[10:30]],
                             columns=["document", "passage", "code"])
    first = bootstrap_intervals(predicted, gold, units, seed=seed)
    again = bootstrap_intervals(predicted, gold, units, seed=seed)
    pd.testing.assert_frame_equal(first, again)
    low, high = first.set_index("code").loc["c", ["precision_low", "precision_high"]]
    assert 0.2 < low < 0.5 < high < 0.8


def test_sample_counts_each_codes_passages_and_leaves_out_kinds_the_run_does_not_code(tmp_path, monkeypatch):
    """`--by-code` printed "0 of 1 coded by b" for a passage drawn in another code's turn; a size past the
    passages drew them all without a word; funding lines and references were drawn to be hand-coded,
    though the run never codes them (a miss the tool cannot but make)."""
    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "Alpha and beta.\n\nAlpha again.\n\nNothing.\n\nFunding: alpha fund (19BZZ001).\n\n"
                                        "References\n\n[1] Li, X. Alpha beta[J]. 2019.\n"},
                    "codes:\n  a: [alpha]\n  b: [beta]\n")
    from coder.models import CODED_KINDS

    passages = pd.read_parquet(run_folder_path := tmp_path / "outputs" / "passages.parquet")
    coded_kinds = passages[passages["kind"].isin(list(CODED_KINDS))]
    assert len(passages) > len(coded_kinds)  # the funding line and the reference are passages of their own
    result = invoke("sample", "100", "--by-code", "--out", "sheet.csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"Drew {len(coded_kinds)} passage(s) (seed 42): 2 of 2 coded by a, 1 of 1 coded by b, 2 of 2 uncoded. "
        f"Only {len(coded_kinds)} passage(s) can be drawn, fewer than the 100 asked for: the sample holds them all.")
    sheet = pd.read_csv(tmp_path / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    assert sorted(sheet["text"]) == sorted(coded_kinds["text"])
    assert run_folder_path.is_file()


def test_agreement_cli_names_a_document_the_run_does_not_have(run_folder):
    """A sample sheet row naming a document not in the run (a typo, a Windows path) was reported as a
    passage whose text is no longer in the document."""
    assert invoke("sample", "2", "--out", "sheet.csv").exit_code == 0
    sheet = pd.read_csv(run_folder / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    sheet["document"] = "nope.txt"
    sheet.to_csv(run_folder / "sheet.csv", index=False, encoding="utf-8-sig")
    result = _agree("sheet.csv", "--sample", "sheet.csv")
    assert result.exit_code == 1
    assert "document 'nope.txt' is not in the run" in result.output and "no longer in the document" not in result.output


@pytest.mark.parametrize("name", ["segments.csv", "segments.parquet", "run.json"])
def test_sample_never_writes_over_a_file_of_its_run_even_with_force(run_folder, name):
    """`coder sample --out outputs/segments.csv --force` replaced the run's segments.csv with a sample sheet:
    a decision typed there and not yet imported was lost, and suggest, export and agree failed after (probe N2)."""
    target = run_folder / "outputs" / name
    if not target.exists():
        pytest.skip(f"this run has no {name}")
    before = target.read_bytes()
    result = invoke("sample", "2", "--out", f"outputs/{name}", "--force")
    assert result.exit_code == 1 and "--force never writes over it" in result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("segments", ["outputs", "outputs/segments.csv"])
def test_agreement_cli_writes_into_the_run_folder(run_folder, segments):
    """`--segments outputs` (the run folder) wrote agreement.csv into its parent, not into the run folder (probe AF1)."""
    (run_folder / "gold.csv").write_text("document,passage,code\na.txt,0,joint_meeting\na.txt,1,\n", encoding="utf-8")
    result = _agree("gold.csv", "--segments", segments)
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Agreement written to outputs/agreement.csv\n")
    assert (run_folder / "outputs" / "agreement.csv").is_file() and not (run_folder / "agreement.csv").exists()


def test_agreement_cli_reads_a_sheet_saved_in_a_code_page(tmp_path, monkeypatch):
    """A sample sheet saved by Excel as "CSV (Comma delimited)" (Windows-1252: each Chinese character "?")
    stopped agree with "The corpus changed since the sample was drawn", which it had not (probe AF2)."""
    monkeypatch.chdir(tmp_path)
    corpus = "Joint meeting of the two cities.\n\n两地召开联席会议。\n\nNothing here.\n"
    make_run_folder(tmp_path, {"a.txt": corpus}, "codes:\n  jm: [joint meeting, 联席会议]\n")
    assert invoke("sample", "3", "--out", "sheet.csv").exit_code == 0
    sheet = pd.read_csv(tmp_path / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    sheet["code"] = ["jm" if "ee" in text or "会" in text else "" for text in sheet["text"]]
    sheet.to_csv(tmp_path / "utf8.csv", index=False, encoding="utf-8-sig")
    sheet.to_csv(tmp_path / "ansi.csv", index=False, encoding="cp1252", errors="replace")
    assert "???" in (tmp_path / "ansi.csv").read_text(encoding="cp1252")
    assert invoke("agree", "utf8.csv", "--out", "utf8").exit_code == 0
    result = invoke("agree", "ansi.csv", "--out", "ansi")
    assert result.exit_code == 0, result.output
    assert ('Note: ansi.csv was saved as plain ASCII (Excel\'s "CSV (Comma delimited)", say): 1 passage(s) show "?" in '
            "their text for the characters it cannot hold; the rest of each text and its passage number agree with the "
            'run, so they were scored. Save the sheet as "CSV UTF-8" to keep its text\n') in result.output
    assert (tmp_path / "ansi" / "agreement.csv").read_bytes() == (tmp_path / "utf8" / "agreement.csv").read_bytes()
    # After the corpus changed, which passage a row of "?" means cannot be told: the message says why.
    (tmp_path / "corpus" / "a.txt").write_text("A new opening paragraph.\n\n" + corpus, encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet").exit_code == 0
    changed = invoke("agree", "ansi.csv", "--out", "ansi", "--force")
    assert changed.exit_code == 1
    assert changed.output == (
        'Error: ansi.csv: The sheet was saved as plain ASCII (Excel\'s "CSV (Comma delimited)", say), which cannot hold '
        'Chinese and most other characters: 1 row(s) show "?" in their `text` in place of such characters, and 3 row(s) '
        "name passages whose text has moved or is gone, so the corpus changed since the sample was drawn and which "
        'passage each "?" row means cannot be told. Nothing was scored. Save the sheet as "CSV UTF-8" and run again, '
        "or code these passages again in a new sample (coder sample).\n")
    assert invoke("agree", "utf8.csv", "--out", "utf8", "--force").exit_code == 0


def _sheet_saved_in_cp1252(path, rows):
    """A sample sheet as Excel's "CSV (Comma delimited)" saves it: each Chinese character "?"."""
    frame = pd.DataFrame(rows, columns=["document", "passage", "text", "code"])
    frame.to_csv(path, index=False, encoding="cp1252", errors="replace")


def test_agreement_cli_places_question_mark_rows_by_their_own_document(tmp_path, monkeypatch):
    """The "?" rows of a sheet saved in a code page were refused ("which passage each "?" row means cannot be
    told") when another document had changed and its rows followed their text (probe AI11)."""
    monkeypatch.chdir(tmp_path)
    english = "Joint meeting of the committees was held.\n\nNothing here.\n"
    make_run_folder(tmp_path, {"zh.txt": "两地召开联席会议。\n\n没有。\n", "en.txt": english},
                    "codes:\n  jm: [joint meeting, 联席会议]\n")
    _sheet_saved_in_cp1252(tmp_path / "sheet.csv", [("zh.txt", 0, "两地召开联席会议。", "jm"),
                                                   ("en.txt", 0, "Joint meeting of the committees was held.", "jm")])
    (tmp_path / "corpus" / "en.txt").write_text("A new opening paragraph.\n\n" + english, encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet").exit_code == 0
    result = invoke("agree", "sheet.csv")
    assert result.exit_code == 0, result.output
    assert "Note: 1 passage(s) of the gold coding followed their text to a new passage number" in result.output
    assert "1 passage(s) show \"?\" in their text" in result.output
    lines = (tmp_path / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("jm,2,2,2,0,0,0,1.0000,1.0000,1.0000")


def test_agreement_cli_refuses_question_mark_rows_other_passages_share(tmp_path, monkeypatch):
    """A sheet saved in a code page, after a paragraph of the same length was added at the top: each row's "?"
    text is also the new passage's at its old number, and every row was scored against the passage before its
    own, with a note that its number agrees with the run (probe AI7)."""
    monkeypatch.chdir(tmp_path)
    corpus = "区域合作治理的联席会议制度。\n\n行政壁垒阻碍了区域协同发展。\n"
    make_run_folder(tmp_path, {"a.txt": corpus}, "codes:\n  jm: [联席会议]\n  barriers: [行政壁垒]\n")
    _sheet_saved_in_cp1252(tmp_path / "sheet.csv", [("a.txt", 0, "区域合作治理的联席会议制度。", "jm"),
                                                   ("a.txt", 1, "行政壁垒阻碍了区域协同发展。", "barriers")])
    (tmp_path / "corpus" / "a.txt").write_text("我们研究了长三角地区的发展。\n\n" + corpus, encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--quiet").exit_code == 0
    result = invoke("agree", "sheet.csv")
    assert (result.exit_code, result.output) == (1, (
        'Error: sheet.csv: The sheet was saved as plain ASCII (Excel\'s "CSV (Comma delimited)", say), which cannot '
        'hold Chinese and most other characters: 2 row(s) show "?" in their `text` in place of such characters, and so '
        "saved their text is that of other passages of their document too (a.txt, passage 0; a.txt, passage 1): if the "
        "document changed since the sample was drawn, another passage may hold a row's number now, so which passage "
        'each means cannot be told. Nothing was scored. Save the sheet as "CSV UTF-8" and run again, or code these '
        "passages again in a new sample (coder sample).\n"))


@pytest.mark.parametrize("row, outcome", [
    ("a.txt,0,27,47,barriers", "Error: gold.csv:2: passage 0 of 'a.txt' is characters 0-25, but start-end 27-47 is "
                               "passage 1. Keep one of them (clear the other cells), or make them agree.\n"),
    ("a.txt,1,27,47,barriers", None),
    ("a.txt,1,,,barriers", None),
    # blank start and end beside a row that has them were read as NaN: "start-end nan-nan is no passage" (probe AI6)
    ("a.txt,0,0,25,joint_meeting\na.txt,1,,,barriers", None),
])
def test_agreement_cli_refuses_a_passage_and_a_span_that_disagree(run_folder, row, outcome):
    """A row whose passage and start/end named different passages was scored by its passage, the span
    ignored without a word (probe AF6)."""
    (run_folder / "gold.csv").write_text(f"document,passage,start,end,code\n{row}\n", encoding="utf-8")
    result = _agree("gold.csv")
    if outcome is None:
        assert result.exit_code == 0, result.output
    else:
        assert (result.exit_code, result.output) == (1, outcome)


@pytest.mark.parametrize("cell", ["joint_meeting, barriers", "joint_meeting\uff1bbarriers", "joint_meeting\u3001barriers"])
def test_agreement_cli_says_how_to_separate_codes(run_folder, cell):
    """`apple, pear` or the full-width `apple；pear` got "did you mean 'apple'?" (probe AF, lesser points)."""
    (run_folder / "gold.csv").write_text(f'document,passage,code\na.txt,0,"{cell}"\n', encoding="utf-8")
    result = _agree("gold.csv")
    assert (result.exit_code, result.output) == (1, (
        "Error: gold.csv: 1 row problem(s), nothing was scored:\n"
        f"  gold.csv:2: code {chr(39)}{cell}{chr(39)} is not in the codebook (separate codes with ';': 'joint_meeting;barriers')\n"
        "Use document paths and passage numbers from segments.csv and code ids of the codebook.\n"))


@pytest.mark.parametrize(("file", "typed"), [
    (unicodedata.normalize("NFD", "Café.txt"), "Café.txt"),
    ("Café.txt", unicodedata.normalize("NFD", "Café.txt")),
    ("sub/a.txt", "sub\\a.txt"),
    ("sub/a.txt", ".\\sub\\a.txt"),
])
def test_agreement_a_document_typed_as_a_mac_or_windows_user_types_it_is_scored(tmp_path, monkeypatch, file, typed):
    """A gold file typed "Café.txt" for a Mac's decomposed name was refused: "document 'Café.txt' is not in the run
    (did you mean 'Café.txt'?)"; "sub\\a.txt" as Explorer copies it likewise (probes AH3, AH2)."""
    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {file: "A joint meeting was held.\n\nRed tape everywhere.\n"}, RUN_CODEBOOK)
    (tmp_path / "gold.csv").write_text(f"document,passage,code\n{typed},0,joint_meeting\n{typed},1,\n", encoding="utf-8")
    result = _agree("gold.csv")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "outputs" / "agreement.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith("joint_meeting,1,1,1,0,0,1,")


@pytest.mark.parametrize("document", [
    "区域党建一体化\n\n• 作者简介：联席会议研究员。\n",  # simplified: Big5 saves "?" for some, "‧" for the bullet
    "區域黨建一體化\n\n• 作者簡介：聯席會議研究員。\n",  # traditional: only the bullet changes
])
def test_agreement_cli_reads_a_big5_sheet_whose_passage_holds_a_bullet(tmp_path, monkeypatch, document):
    """Big5 writes "•" where it reads "‧": a Big5 sheet whose passage held a bullet was refused, "the corpus
    changed since the sample was drawn" (probe AZ3)."""
    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": document}, "codes:\n  jm: [联席会议, 聯席會議]\n")
    assert invoke("sample", "2", "--out", "sheet.csv").exit_code == 0
    sheet = pd.read_csv(tmp_path / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    sheet["code"] = ["jm" if "•" in text else "" for text in sheet["text"]]
    sheet.to_csv(tmp_path / "utf8.csv", index=False, encoding="utf-8-sig")
    (tmp_path / "big5.csv").write_bytes(sheet.to_csv(index=False).encode("cp950", errors="replace"))
    assert invoke("agree", "utf8.csv", "--out", "utf8").exit_code == 0
    result = invoke("agree", "big5.csv", "--out", "big5")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "big5" / "agreement.csv").read_bytes() == (tmp_path / "utf8" / "agreement.csv").read_bytes()


def test_agreement_cli_reads_a_sheet_saved_as_big5(tmp_path, monkeypatch):
    """A sample sheet saved by Excel on a Traditional-Chinese Windows (Big5) was read as Windows-1252: its
    document 臺北.txt named no document of the run. It is read as Big5 and scored as the UTF-8 sheet is."""
    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"臺北.txt": "兩地召開聯席會議。\n\n沒有。\n"}, "codes:\n  jm: [聯席會議]\n")
    assert invoke("sample", "2", "--out", "sheet.csv").exit_code == 0
    sheet = pd.read_csv(tmp_path / "sheet.csv", encoding="utf-8-sig", keep_default_na=False)
    sheet["code"] = ["jm" if "會" in text else "" for text in sheet["text"]]
    sheet.to_csv(tmp_path / "utf8.csv", index=False, encoding="utf-8-sig")
    sheet.to_csv(tmp_path / "big5.csv", index=False, encoding="cp950")
    assert invoke("agree", "utf8.csv", "--out", "utf8").exit_code == 0
    result = invoke("agree", "big5.csv", "--out", "big5")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "big5" / "agreement.csv").read_bytes() == (tmp_path / "utf8" / "agreement.csv").read_bytes()
