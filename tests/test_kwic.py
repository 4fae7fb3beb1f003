import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke

from coder.codebook import parse_codebook
from coder.errors import CoderError
from coder.kwic import KwicLine, format_kwic_line, kwic, write_kwic_csv
from coder.matching import compile_codebook
from coder.models import Passage

TEXT = "The first joint meetings were held in 2019.\nLater the joint-\nmeeting room was used. 召开联席会议研究。"
PASSAGE = Passage("a.txt", 3, 100, 100 + len(TEXT), TEXT.replace("\n", " "), " ".join(TEXT.split()))
CODEBOOK = parse_codebook(
    "codes:\n"
    "  jm:\n    keywords: [joint meeting, 联席会议]\n    exclude: [joint meeting room]\n"
    "  top:\n    codes:\n      kid: [held]\n"
)


@pytest.mark.parametrize(
    "query, width, expected",
    [
        ("joint meeting", 15, [
            KwicLine("a.txt", 3, 110, 124, "The first ", "joint meetings", " were held in 2", "", "joint meeting"),
            KwicLine("a.txt", 3, 154, 168, "019. Later the ", "joint-meeting", " room was used.", "", "joint meeting"),
        ]),
        ("/\\d{4}/", 10, [KwicLine("a.txt", 3, 138, 142, "e held in ", "2019", ". Later th", "", "\\d{4}")]),
        ("jo*", 0, [
            KwicLine("a.txt", 3, 110, 115, "", "joint", "", "", "jo*"),
            KwicLine("a.txt", 3, 154, 159, "", "joint", "", "", "jo*"),
        ]),
        ("联席会议", 4, [KwicLine("a.txt", 3, 186, 190, ". 召开", "联席会议", "研究。", "", "联席会议")]),
        ("nothing here", 10, []),
    ],
)
def test_kwic_keyword_and_pattern(query, width, expected):
    assert kwic([PASSAGE], query, width=width) == expected


def test_kwic_context_reads_past_blanked_debris():
    """A page break's running header and page number are blanks in the view: the context's slice of twice its
    width held blanks and one character, and the line showed 12 blanks and 任 (probe AR6)."""
    text = "首届长三角城市经济协作办主\n\n42\n\n中国行政管理 2022年第3期\n\n任联席会议,长三角政府间协作机制由此发轫。"
    header = text.index("\n\n42")
    view = text[:header] + " " * (text.index("任") - header) + text[text.index("任"):]
    passage = Passage("a.txt", 0, 0, len(text), view, text[:header] + text[text.index("任"):])
    assert kwic([passage], "联席会议", width=12)[0].left == "长三角城市经济协作办主任"
    blank_after = Passage("a.txt", 0, 0, 36, "联席会议" + " " * 30 + "研究", "联席会议研究")
    assert kwic([blank_after], "联席会议", width=4)[0].right == " 研究"


@pytest.mark.parametrize(
    "code, expected",
    [
        ("jm", [(110, "joint meetings", "jm"), (186, "联席会议", "jm")]),  # the excluded hit is left out
        ("top", [(130, "held", "kid")]),  # a grouping code brings its children's hits
        ("kid", [(130, "held", "kid")]),
    ],
)
def test_kwic_whole_code(code, expected):
    lines = kwic([PASSAGE], code, compiled=compile_codebook(CODEBOOK), width=10)
    assert [(line.start, line.match, line.code) for line in lines] == expected


@pytest.mark.parametrize("query, message", [
    ("/(/", "kwic: cannot use '/(/' as a query: invalid regex '(': missing ), unterminated subpattern at position 0."),
    ("   ", "kwic: the query is empty. Pass a keyword, a /regex/ or a code id."),
])
def test_kwic_bad_query(query, message):
    with pytest.raises(CoderError) as error:
        kwic([PASSAGE], query)
    assert str(error.value) == message


@pytest.mark.parametrize("line, width, expected", [
    (KwicLine("a", 0, 0, 1, "ab", "X", "cdef"), 3, (" ab", "X", "cde")),
    (KwicLine("a", 0, 0, 1, "x召开", "Y", "研究。"), 4, ("召开", "Y", "研究")),
    (KwicLine("a", 0, 0, 1, "开", "Y", ""), 3, (" 开", "Y", "")),
])
def test_kwic_format_aligns_by_cells(line, width, expected):
    assert format_kwic_line(line, width=width) == expected


def test_kwic_cli_aligns_on_the_longest_context_not_on_the_width(tmp_path, monkeypatch):
    """`--width 10000` led every line with up to 10,000 spaces: lines align on the longest left context."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting.\n\nThe mayors held a joint meeting.\n", encoding="utf-8")
    result = invoke("kwic", "joint meeting", "--corpus", "corpus", "--width", "10000")
    assert result.stdout.splitlines() == [" " * 16 + "A joint meeting.  a.txt:0", "The mayors held a joint meeting.  a.txt:1"]


@pytest.mark.parametrize("name", ["kwic.csv"])
def test_kwic_write_csv(tmp_path, name):
    lines = kwic([PASSAGE], "held", width=5)
    path = write_kwic_csv(lines, tmp_path / name)
    assert path.read_text(encoding="utf-8-sig") == (
        "document,passage,start,end,left,match,right,code,rule\n"
        "a.txt,3,130,134,were ,held, in 2,,held\n"
    )


SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CODEBOOK_FILE = SEEDS.parent / "codebook.yaml"


@pytest.fixture(scope="module")
def seed_documents():
    from coder.corpus import read_corpus

    return read_corpus(SEEDS).documents


@pytest.mark.parametrize("query, oracle", [
    ("joint meeting", r"joint[\s\-]+meetings?\b"),
    ("/cross-regional governance/", r"cross-regional governance"),
])
def test_kwic_on_seeds_matches_an_independent_count(seed_documents, query, oracle):
    lines = kwic(seed_documents, query, width=30, unit="paragraph")
    expected = sum(len(re.findall(oracle, document.text, re.IGNORECASE)) for document in seed_documents)
    assert len(lines) == expected
    texts = {document.path: document.text for document in seed_documents}
    for line in lines:
        assert " ".join(texts[line.document][line.start:line.end].split()) == line.match
        assert len(line.left) <= 30 and len(line.right) <= 30


@pytest.mark.parametrize("code", ["joint_meeting"])
def test_kwic_on_seeds_whole_code_equals_coded_hits(seed_documents, code):
    from coder.codebook import load_codebook
    from coder.matching import code_passages
    from coder.passages import split_passages

    codebook = load_codebook(CODEBOOK_FILE)
    compiled = compile_codebook(codebook)
    passages = [passage for document in seed_documents for passage in split_passages(document, unit=codebook.unit)]
    hits = sum(segment.hits for segment in code_passages(passages, compiled) if segment.code == code)
    lines = kwic(passages, code, compiled=compiled)
    assert len(lines) == hits
    assert {line.code for line in lines} == {code}


@pytest.mark.parametrize("width", [20])
def test_kwic_cli_on_seeds(tmp_path, width):
    result = invoke(
        "kwic", "coordination council", "--width", str(width), "--corpus", str(SEEDS),
        "--codebook", str(CODEBOOK_FILE), "--csv", str(tmp_path / "kwic.csv"),
    )
    assert result.exit_code == 0
    from coder.corpus import read_corpus

    (line,) = kwic(read_corpus(SEEDS).documents, "coordination council", width=width)
    assert result.stdout == (
        "delta city economic coordination council mayor's Joint Meeti"
        f"  intergovernmental_joint_meeting_thesis_2019.txt:{line.passage}\n"
    )
    assert result.stderr == (f"1 hit(s) in 1 document(s). Lines written to {tmp_path / 'kwic.csv'}\n"
                             "The keyword 'coordination council', as the codebook's keywords match.\n")
    assert (tmp_path / "kwic.csv").read_text(encoding="utf-8-sig").splitlines()[0] == (
        "document,passage,start,end,left,match,right,code,rule"
    )


@pytest.mark.parametrize("code", ["mechanism"])
def test_kwic_cli_code_with_rules_shows_rule_hits(tmp_path, monkeypatch, code):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    text = "A cooperation mechanism. The 区域之间的合作机制 works.\n"
    (tmp_path / "corpus" / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(
        "codes:\n  mechanism:\n    rules:\n      - near: [[cooperat*, 合作], [mechanism, 机制]]\n        within: 1\n",
        encoding="utf-8")
    result = invoke("kwic", code, "--corpus", "corpus", "--codebook", "codebook.yaml", "--csv", "k.csv", "--width", "5")
    assert result.exit_code == 0, result.output
    lines = pd.read_csv(tmp_path / "k.csv", encoding="utf-8-sig", keep_default_na=False)
    assert [(row.match, text[row.start:row.end], row.rule) for row in lines.itertuples()] == [
        (word, word, "near(cooperat*|合作, mechanism|机制; 1)") for word in ("cooperation", "mechanism", "合作", "机制")
    ]


def test_kwic_cli_searches_as_the_run_codes(tmp_path, monkeypatch):
    """A Chinese keyword is cut into words knowing the codebook's terms, as in a run (协同 is a word of
    the compound 协同治理, 协/同治 would not be), and passages of kinds the run does not code (a
    funding line, the references) are not searched, for a code or a keyword."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    text = ("推进协同治理。各方协同推进。\n\n基金项目: 国家社会科学基金“协同治理研究”(19BZZ001)\n\n"
            "参考文献\n\n[1] 张三. 协同治理与区域合作[J]. 政治学研究, 2019(2): 1-10.\n")
    (tmp_path / "corpus" / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  governance: [协同治理]\n", encoding="utf-8")
    assert invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "out").exit_code == 0
    coded = pd.read_csv(tmp_path / "out" / "segments.csv", encoding="utf-8-sig")
    assert coded["hits"].sum() == 1
    for query, hits in (("governance", 1), ("协同治理", 1), ("协同", 2), ("同治", 0)):
        result = invoke("kwic", query, "--corpus", "corpus", "--codebook", "codebook.yaml", "--csv", f"{hits}{len(query)}.csv")
        assert result.exit_code == 0, result.output
        lines = pd.read_csv(tmp_path / f"{hits}{len(query)}.csv", encoding="utf-8-sig", keep_default_na=False)
        assert list(lines["passage"]) == [0] * hits, query
    assert invoke("kwic", "协同", "--corpus", "corpus", "--codebook", "codebook.yaml").stdout.count("协同推进") == 2


def test_kwic_cli_says_how_it_read_the_query(tmp_path, monkeypatch):
    """A code id, a word and a mistyped code id looked alike in the output ("0 hit(s)"), and a missing
    --codebook was ignored: the code id was searched as a word."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Barriers and red tape.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  barriers: [red tape]\n", encoding="utf-8")
    said = {query: invoke("kwic", query, "--corpus", "corpus").stderr.splitlines()
            for query in ("barriers", "barrier_s", "/red/", "Barriers")}
    assert said["barriers"] == ["1 hit(s) in 1 document(s).",
                                "Code 'barriers' with its child codes (a code id; for the word, search /barriers/)."]
    assert said["barrier_s"] == ["0 hit(s) in 0 document(s).", "The keyword 'barrier_s', as the codebook's keywords "
                                 "match. No code is called 'barrier_s': did you mean 'barriers'?"]
    assert said["/red/"][1] == "The regex red."
    assert said["Barriers"] == ["1 hit(s) in 1 document(s).", "The keyword 'Barriers', as the codebook's keywords match. "
                                "No code is called 'Barriers': did you mean 'barriers'?"]
    missing = invoke("kwic", "barriers", "--corpus", "corpus", "--codebook", "other.yaml")
    assert missing.exit_code == 1 and missing.output.startswith("Error: other.yaml: ")
