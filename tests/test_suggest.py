"""`coder suggest` as a researcher uses it: key terms, collocates and similar passages from a run folder."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.codebook import parse_codebook
from coder.matching import compile_codebook
from coder.models import Passage
from coder.suggest import SUGGESTION_COLUMNS, suggest_for_code

CODEBOOK = """\
name: Rivers
codes:
  joint_meeting:
    label: Joint meetings
    description: Intergovernmental meetings.
    keywords: [joint meeting, 联席会议]
  barriers:
    label: Barriers
    description: Obstacles to trade.
    keywords: [barrier*]
"""
TOWNS = ("Ashford", "Bexley", "Crawley", "Dover", "Epsom", "Frome")
ENGLISH = [
    *(f"Mayors of {town} held a joint meeting on river pollution and water quality." for town in TOWNS),
    "Mayors discussed river pollution and water quality at a summit.",  # passage 6: not coded, like the coded ones
    *(f"{goods} markets and trade grew fast in the {place} cities." for goods, place in (
        ("Rice", "coastal"), ("Tea", "inland"), ("Steel", "northern"), ("Wool", "southern"), ("Salt", "eastern"),
        ("Silk", "western"))),
    "Trade barriers slowed markets in the inland cities.",
    "Schools and hospitals opened in the coastal cities.",
]
CHINESE = [
    *(f"{city}召开联席会议，共同治理流域污染。" for city in ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴")),
    "流域污染日益严重。",  # passage 6: not coded, like the coded ones
    "市场贸易快速发展。", "学校医院陆续开放。", "沿海城市贸易繁荣。", "内陆城市市场扩大。", "农村道路全面建成。",
]


def make_run(folder: Path) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "english.txt").write_text("\n\n".join(ENGLISH) + "\n", encoding="utf-8")
    (corpus / "chinese.txt").write_text("\n\n".join(CHINESE) + "\n", encoding="utf-8")
    (folder / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    out = folder / "out"
    result = invoke("run", str(corpus), "--codebook", str(folder / "codebook.yaml"), "--out", str(out), "--quiet", "--no-cache")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("suggest"))


@pytest.fixture
def own_run(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def read_suggestions(path: Path) -> pd.DataFrame:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)


def rows(frame: pd.DataFrame, kind: str) -> list[tuple]:
    part = frame[frame["kind"] == kind]
    columns = ["candidate", "score", "effect", "count_in", "count_out", "document", "passage"]
    return [(*row[:3], int(row[3]), int(row[4]), *row[5:]) for row in part[columns].itertuples(index=False)]


@pytest.mark.parametrize("min_count", [2])
def test_suggest_terms_collocates_and_passages_in_english_and_chinese(shared_run: Path, tmp_path: Path, min_count: int):
    out = tmp_path / "joint_meeting.csv"
    result = invoke("suggest", "joint_meeting", "--run", str(shared_run), "--out", str(out), "--top", "4",
                    "--min-count", str(min_count))
    assert result.exit_code == 0, result.output
    frame = read_suggestions(out)
    assert frame.columns.tolist() == list(SUGGESTION_COLUMNS)
    # The keywords themselves ("joint meeting", "联席会议") are never suggested; "held" and the
    # Chinese phrase occur only in the code's passages, the others once elsewhere (passage 6).
    # English is counted against English (66 words in, 86 out), Chinese against Chinese (36, 23):
    # held: E = 66 * 6 / 152, G2 = 2 * 6 * ln(6 / E) = 10.01, log ratio = log2((6 / 66) / (0.5 / 86)) = 3.97.
    assert rows(frame, "term") == [
        ("held", 10.01, 3.97, 6, 0, "english.txt", 0),
        ("治理流域污染", 5.93, 2.94, 6, 0, "chinese.txt", 0),
        ("mayors", 5.41, 2.97, 6, 1, "english.txt", 6),
        ("river pollution", 5.41, 2.97, 6, 1, "english.txt", 6),
    ]
    assert rows(frame, "collocate") == [
        ("held", 12.47, 1.45, 6, 0, "english.txt", 0),
        ("治理", 7.58, 0.85, 6, 0, "chinese.txt", 0),
        ("mayors", 7.56, 1.23, 6, 1, "english.txt", 0),
        ("pollution", 7.56, 1.23, 6, 1, "english.txt", 0),
    ]
    passages = frame[frame["kind"] == "passage"]
    assert passages[["candidate", "document", "passage", "example"]].values.tolist() == [
        ["mayors; pollution; quality; river; water", "english.txt", 6, ENGLISH[6]],
        ["污染; 流域", "chinese.txt", 6, CHINESE[6]],
    ]
    assert passages["count_in"].tolist() == ["", ""]
    assert frame.loc[frame["kind"] == "term", "example"].tolist()[:3] == [ENGLISH[0], CHINESE[0], ENGLISH[6]]
    assert "Key terms (G2, log ratio, in/out):\n     10.01   3.97    6/0    held  (english.txt:0)\n" in result.stdout
    assert result.stderr == f"10 suggestion(s) written to {out}\n"


def test_suggest_g2_and_log_ratio_follow_the_textbook_formulas():
    # "river" occurs 6 times in the code's 8 counted words and once in the other 8 words.
    texts = ["river river river alpha joint meeting", "beta river river river joint meeting",
             "river gamma delta epsilon", "zeta eta theta iota"]
    passages = [Passage("d.txt", index, 0, len(text), text, text) for index, text in enumerate(texts)]
    codebook = parse_codebook("codes:\n  meeting:\n    keywords: [joint meeting]\n")
    report = suggest_for_code(passages, codebook, "meeting", coded={("d.txt", 0), ("d.txt", 1)}, min_count=2)
    terms = {term.candidate: term for term in report.of_kind("term")}
    a, b, c, d = 6, 1, 8, 8  # the keyword's own words are left out of the counts
    e1, e2 = c * (a + b) / (c + d), d * (a + b) / (c + d)
    assert (terms["river"].count_in, terms["river"].count_out) == (a, b)
    assert terms["river"].score == round(2 * (a * math.log(a / e1) + b * math.log(b / e2)), 2) == 3.96
    assert terms["river"].effect == round(math.log2((a / c) / (b / d)), 2)


def test_suggest_rejected_segments_do_not_count_and_are_not_suggested(own_run: Path):
    segments = pd.read_csv(own_run / "segments.csv", encoding="utf-8-sig", keep_default_na=False)
    segments.loc[(segments["document"] == "english.txt") & (segments["passage"] == 0), "review"] = "reject"
    segments.to_csv(own_run / "segments.csv", index=False, encoding="utf-8-sig")
    result = invoke("suggest", "joint_meeting", "--run", str(own_run), "--min-count", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("joint_meeting: 11 of 27 passage(s) coded, 12 keyword hit(s).\n")
    frame = read_suggestions(own_run / "suggestions_joint_meeting.csv")
    passages = frame[frame["kind"] == "passage"]
    assert ("english.txt", 0) not in set(zip(passages["document"], passages["passage"]))


def test_suggest_keeps_a_file_named_with_out_unless_force(shared_run: Path, tmp_path: Path):
    out = tmp_path / "mine.csv"
    out.write_text("my notes\n", encoding="utf-8")
    result = invoke("suggest", "joint_meeting", "--run", str(shared_run), "--out", str(out))
    assert (result.exit_code, result.output) == (1, f"Error: {out}: already exists. Pass --force to overwrite it, or choose another --out.\n")
    assert out.read_text(encoding="utf-8") == "my notes\n"
    result = invoke("suggest", "joint_meeting", "--run", str(shared_run), "--out", str(out), "--force", "--quiet")
    assert (result.exit_code, result.output) == (0, "")
    assert read_suggestions(out).columns.tolist() == list(SUGGESTION_COLUMNS)


@pytest.mark.parametrize("name, what", [("segments.csv", "a file of the run the command reads ("),
                                        ("codebook.yaml", "the run's codebook"), ("reviews.csv", "the run's review file")])
def test_suggest_never_writes_over_the_run_it_reads_even_with_force(own_run: Path, name: str, what: str):
    """--out with --force replaced the run's segments.csv (a decision typed there, not yet imported, lost) and
    the codebook the run names, where every other command refuses them (probe AB5)."""
    target = own_run / name if name == "segments.csv" else own_run.parent / name
    if not target.exists():
        target.write_text("segment_id,decision\nsabc,reject\n", encoding="utf-8")
    before = target.read_bytes()
    result = invoke("suggest", "joint_meeting", "--run", str(own_run), "--out", str(target), "--force", "--quiet")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {target} is {what}")
    assert "writing the results there would replace it." in result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize("code, message", [
    ("joint_meting", "Error: unknown code 'joint_meting'. Did you mean 'joint_meeting'?\n"),
    ("trust", "Error: unknown code 'trust'. Codes: joint_meeting, barriers.\n"),
])
def test_suggest_unknown_code_names_the_close_ids(shared_run: Path, code: str, message: str):
    result = invoke("suggest", code, "--run", str(shared_run))
    assert (result.exit_code, result.output) == (1, message)


def test_suggest_missing_run_folder(tmp_path: Path):
    missing = tmp_path / "nowhere"
    result = invoke("suggest", "joint_meeting", "--run", str(missing))
    assert (result.exit_code, result.output) == (
        1, f"Error: {missing}: no such run folder. Run `coder run --out {missing}` first, or pass --run FOLDER.\n"
    )


def test_suggest_empty_corpus(own_run: Path):
    corpus = own_run.parent / "corpus"
    for path in corpus.iterdir():
        path.unlink()
    result = invoke("suggest", "joint_meeting", "--run", str(own_run))
    assert (result.exit_code, result.output) == (
        1, f"Error: {corpus}: the run's corpus holds no readable documents. Run `coder run` on a corpus with documents first.\n"
    )


def test_suggest_corpus_changed_since_the_run(own_run: Path):
    corpus = own_run.parent / "corpus"
    (corpus / "english.txt").write_text(ENGLISH[-1] + "\n", encoding="utf-8")
    result = invoke("suggest", "joint_meeting", "--run", str(own_run))
    assert (result.exit_code, result.output) == (1, (
        f"Error: {own_run}: suggest splits the corpus again to find what the code misses, and the corpus is no "
        "longer the one it coded (changed: english.txt). Run `coder run` again, then try this again.\n"
    ))


@pytest.mark.parametrize("change", ["appended", "added"])
def test_suggest_refuses_a_corpus_changed_where_the_code_never_matched(own_run: Path, change: str):
    """A paragraph added after the run, in passages the code does not match, was suggested as an uncoded
    passage the run never saw (only the code's own segments were compared with the corpus)."""
    corpus = own_run.parent / "corpus"
    if change == "appended":
        with (corpus / "english.txt").open("a", encoding="utf-8") as file:
            file.write("\n\nMayors held a summit on river pollution and water quality.\n")
    else:
        (corpus / "new.txt").write_text("Mayors held a summit on river pollution and water quality.\n", encoding="utf-8")
    result = invoke("suggest", "joint_meeting", "--run", str(own_run))
    assert result.exit_code == 1
    assert f"the corpus is no longer the one it coded ({'changed: english.txt' if change == 'appended' else 'added: new.txt'})" in result.output


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeds")
    shutil.copytree(REPO / "seeds", folder / "seeds")
    out = folder / "out"
    result = invoke("run", str(folder / "seeds"), "--codebook", str(REPO / "codebook.yaml"), "--out", str(out), "--quiet", "--no-cache")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("code", ["joint_meeting", "party_building_alliance"])
def test_suggest_on_the_seeds(seeds_run: Path, code: str):
    result = invoke("suggest", code, "--run", str(seeds_run), "--top", "5")
    assert result.exit_code == 0, result.output
    frame = read_suggestions(seeds_run / f"suggestions_{code}.csv")
    assert sorted(set(frame["kind"])) == ["collocate", "passage", "term"]
    keywords = {keyword.lower() for keyword in parse_codebook((REPO / "codebook.yaml").read_text(encoding="utf-8"))[code].keywords}
    assert not keywords & set(frame["candidate"].str.lower())


def test_suggest_folder_without_run_json(tmp_path: Path):
    result = invoke("suggest", "joint_meeting", "--run", str(tmp_path))
    assert (result.exit_code, result.output) == (
        1, f"Error: {tmp_path / 'run.json'}: no run.json found. Pass a folder written by `coder run --out FOLDER` or the path of its run.json.\n"
    )


def test_suggest_compares_each_language_with_itself():
    # The code's passages are Chinese; 经济发展 is as frequent in the other Chinese passages, so
    # it is not key, however many English passages the corpus also holds.
    texts = ["联席会议推动经济发展。"] * 3 + ["城市经济发展。"] * 3 + ["Markets and trade grew fast in the coastal cities."] * 6
    passages = [Passage("d.txt", index, 0, len(text), text, text) for index, text in enumerate(texts)]
    codebook = parse_codebook("codes:\n  meeting:\n    keywords: [联席会议]\n")
    report = suggest_for_code(passages, codebook, "meeting", coded={("d.txt", 0), ("d.txt", 1), ("d.txt", 2)}, min_count=2)
    assert [(term.candidate, term.count_in, term.count_out) for term in report.of_kind("term")] == [("推动经济发展", 3, 0)]


_WORDS = ["joint", "meeting", "meetings", "river", "rivers", "pollution", "of", "the", "and", "trade", "barrier",
          "水", "污染", "联席会议", "治理", "的", ",", ".", "-", "2020"]


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(st.lists(st.sampled_from(_WORDS), max_size=12), min_size=1, max_size=8),
    st.sets(st.integers(min_value=0, max_value=7)),
    st.integers(min_value=1, max_value=3),
)
def test_suggest_invariants_on_any_corpus(passage_words, coded_indexes, min_count):
    texts = [" ".join(words) for words in passage_words]
    passages = [Passage("d.txt", index, 0, len(text), text, text) for index, text in enumerate(texts)]
    codebook = parse_codebook("codes:\n  meeting:\n    keywords: [joint meeting, 联席会议]\n")
    coded = {("d.txt", index) for index in coded_indexes if index < len(texts)}
    report = suggest_for_code(passages, codebook, "meeting", coded=coded, min_count=min_count, top=5)
    matcher = compile_codebook(codebook)
    for item in report.suggestions:
        assert (item.document, item.passage) in {("d.txt", index) for index in range(len(texts))}
        assert item.example == texts[item.passage]
        if item.kind == "passage":
            assert ("d.txt", item.passage) not in coded and item.score > 0
            continue
        assert item.count_in >= min_count and item.score >= 3.84
        assert not matcher.find(Passage("", 0, 0, len(item.candidate), item.candidate, item.candidate))
    assert len(report.of_kind("term")) <= 5 and len(report.of_kind("passage")) <= 5


def test_suggest_takes_a_segments_path_and_skips_kinds_the_run_does_not_code(tmp_path, monkeypatch):
    """`--run out/segments.csv` said "no such run folder"; a reference line was offered as an uncoded
    passage like the code's, though no run codes references."""
    from conftest import invoke, make_run_folder

    monkeypatch.chdir(tmp_path)
    make_run_folder(tmp_path, {"a.txt": "Joint meetings of mayors were held on river pollution.\n\n"
                                        "Mayors discussed river pollution again.\n\nReferences\n\n"
                                        "[1] Li, X. Mayors and river pollution[J]. 2019.\n"},
                    "codes:\n  meeting: [joint meeting]\n")
    result = invoke("suggest", "meeting", "--run", "outputs/segments.csv", "--out", "s.csv")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("meeting: 1 of 3 passage(s) coded")
    suggestions = (tmp_path / "s.csv").read_text(encoding="utf-8-sig")
    assert "Mayors discussed river pollution again." in suggestions and "[J]" not in suggestions


def test_suggest_reads_a_relative_corpus_from_where_the_run_started(tmp_path, monkeypatch):
    """`coder run . --out ../out` inside the corpus folder, then suggest from the folder above: "." was
    read from there, and suggest said the corpus changed (added: docs/a.txt; removed: a.txt) (probe AJ3)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A joint meeting was held.\n\nAnother joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "docs")
    assert invoke("run", ".", "--codebook", "../codebook.yaml", "--out", "../out").exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = invoke("suggest", "meeting", "--run", "out", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "suggestions_meeting.csv").is_file()


def test_suggest_names_its_default_file_safely_whatever_the_code_id(tmp_path: Path, monkeypatch):
    """The default file was RUN/suggestions_<code id>.csv, overwritten without --force: a code id like
    'x\\..\\..\\data' would name a path out of the run folder on Windows (probe N8)."""
    from conftest import make_run_folder

    monkeypatch.chdir(tmp_path)
    codebook = 'codes:\n  "x\\\\..\\\\..\\\\data":\n    keywords: [joint meeting]\n'
    make_run_folder(tmp_path, {"a.txt": "A joint meeting was held.\n\nAnother joint meeting.\n"}, codebook)
    result = invoke("suggest", "x\\..\\..\\data", "--run", "outputs")
    assert result.exit_code == 0, result.output
    written = [path.name for path in (tmp_path / "outputs").glob("suggestions_*.csv")]
    assert written == ["suggestions_x_.._.._data.csv"]


def test_suggest_gives_codes_that_would_share_a_file_a_file_each(tmp_path: Path, monkeypatch):
    """`Barrier` and `barrier` are two codes, and on macOS and Windows suggestions_Barrier.csv and
    suggestions_barrier.csv one file: the second command replaced the first's suggestions (probe R12).
    So did `a:b` and `a_b` on every system."""
    from conftest import make_run_folder

    monkeypatch.chdir(tmp_path)
    codebook = ('codes:\n  Barrier:\n    keywords: [joint meeting]\n  barrier:\n    keywords: [meeting]\n'
                '  "a:b":\n    keywords: [joint]\n  a_b:\n    keywords: [held]\n  other:\n    keywords: [another]\n')
    make_run_folder(tmp_path, {"a.txt": "A joint meeting was held.\n\nAnother joint meeting.\n"}, codebook)
    for code in ("Barrier", "barrier", "a:b", "a_b", "other"):
        result = invoke("suggest", code, "--run", "outputs")
        assert result.exit_code == 0, result.output
    written = sorted(path.name.casefold() for path in (tmp_path / "outputs").glob("suggestions_*.csv"))
    assert len(written) == len(set(written)) == 5
    assert "suggestions_other.csv" in written  # a code no other shares a file with keeps the plain name
