import re
from pathlib import Path

import pytest
from conftest import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.codebook import parse_codebook
from coder.lint import KEYWORD_COLUMNS, LintFinding, findings_frame, lint_codebook
from coder.matching import compile_codebook
from coder.models import Passage

CODEBOOK = parse_codebook("""
codes:
  meeting:
    label: Meeting
    description: Officials meet.
    keywords: [joint meeting, joint meetings, summit, never seen here]
    exclude: [joint meeting room]
  room:
    label: Room
    description: A room.
    keywords: [meeting room, meeting room]
    exclude: [room]
  gathering:
    label: Gathering
    keywords: [Summit, joint-meeting]
    regex: ['summits?\\b']
""")
TEXTS = [
    "The joint meeting agreed on a plan.",
    "They booked the joint meeting room.",
    "Two summits and one joint meeting.",
]
PASSAGES = [Passage("a.txt", index, 0, len(text), text, text) for index, text in enumerate(TEXTS)]


def finding_keys(report, kind):
    return [(finding.code, finding.rule) for finding in report.of_kind(kind)]


@pytest.mark.parametrize("passages", [PASSAGES])
def test_lint_keyword_counts(passages):
    report = lint_codebook(CODEBOOK, passages)
    assert report.passages == 3
    assert list(report.keywords.columns) == list(KEYWORD_COLUMNS)
    assert report.keywords[["code", "kind", "rule", "passages", "hits", "excluded_hits"]].values.tolist() == [
        ["meeting", "keyword", "joint meeting", 2, 2, 1],
        ["meeting", "keyword", "joint meetings", 2, 2, 1],
        ["meeting", "keyword", "summit", 1, 1, 0],
        ["meeting", "keyword", "never seen here", 0, 0, 0],
        ["room", "keyword", "meeting room", 0, 0, 1],
        ["room", "keyword", "meeting room", 0, 0, 1],
        ["gathering", "keyword", "Summit", 1, 1, 0],
        ["gathering", "keyword", "joint-meeting", 3, 3, 0],
        ["gathering", "regex", "summits?\\b", 1, 1, 0],
    ]
    assert report.keywords.loc[report.keywords["rule"] == "summit", "share"].tolist() == [0.5]


@pytest.mark.parametrize("kind, expected", [
    ("no match", [("meeting", "never seen here")]),
    ("shadowed", [("room", "meeting room"), ("room", "meeting room")]),
    ("claimed twice", [("gathering", "joint-meeting"), ("gathering", "joint-meeting"), ("gathering", "Summit")]),
    ("near duplicate", [("meeting", "joint meetings"), ("room", "meeting room")]),
    ("no definition", [("gathering", "")]),
])
def test_lint_findings(kind, expected):
    assert finding_keys(lint_codebook(CODEBOOK, PASSAGES), kind) == expected


@pytest.mark.parametrize("passages", [PASSAGES])
def test_lint_finding_details(passages):
    report = lint_codebook(CODEBOOK, passages)
    assert report.of_kind("shadowed")[0] == LintFinding(
        "shadowed", "room", "meeting room",
        "the exclude phrase 'room' occurs inside it, so it can never match. Remove the exclusion or the keyword.",
        0, 0,
    )
    assert report.of_kind("claimed twice")[2] == LintFinding(
        "claimed twice", "gathering", "Summit",
        "also a keyword of 'meeting' ('summit'): a hit codes both unless an exclude phrase of one vetoes it "
        "(hits: 'Summit' 1, 'summit' 1; 1 passages in common). "
        "Keep it in one code, or rely on the hierarchy.",
        1, 1,
    )
    assert report.of_kind("near duplicate")[0].detail == (
        "close to 'joint meeting': the same up to inflection, one is enough (hits: 'joint meetings' 2, 'joint meeting' 2; 2 passages in common)."
    )
    assert findings_frame(report).shape == (9, 6)
    assert report.render().splitlines()[:3] == [
        "Checked 9 keywords and regexes against 3 passages.",
        "no match (1):",
        "  meeting 'never seen here': matches nothing in 3 passages. Check the spelling or drop it.",
    ]


@pytest.mark.parametrize("text", ["The joint meeting room is booked; a meeting room too."])
def test_lint_shadowed_by_hits(text):
    codebook = parse_codebook(
        "codes:\n  c:\n    description: d\n    keywords: [meeting room, joint meeting]\n    exclude: [joint meeting room, a meeting room]\n"
    )
    report = lint_codebook(codebook, [Passage("a", 0, 0, len(text), text, text)])
    assert [(f.rule, f.detail) for f in report.of_kind("shadowed")] == [
        ("meeting room", "all 2 hits overlap an exclude phrase of the code. Narrow the exclusion or drop the keyword."),
        ("joint meeting", "all 1 hits overlap an exclude phrase of the code. Narrow the exclusion or drop the keyword."),
    ]


@pytest.mark.parametrize("passages", [[]])
def test_lint_empty_corpus(passages):
    report = lint_codebook(CODEBOOK, passages)
    assert report.passages == 0
    # no passages: nothing to say a keyword matches nothing in (it listed 7); what the codebook alone
    # shows stays (the two "meeting room" can never match: shadowed)
    assert report.of_kind("no match") == [] and len(report.of_kind("shadowed")) == 2


@pytest.mark.parametrize("keywords, detail", [
    ("[govern*, governance]", "close to 'govern*': one matches the other (a wildcard, or a hyphenated spelling) (hits: 'governance' 1, 'govern*' 1; 1 passages in common)."),
    # `cooperation` matches "co-operation" and `co-operation` "cooperation": one of the two is enough
    ("[cooperation, co-operation]", "close to 'cooperation': the same up to inflection, one is enough (hits: 'co-operation' 1, 'cooperation' 1; 1 passages in common)."),
])
def test_lint_near_duplicates_in_one_code(keywords, detail):
    """Each count is named by its keyword: printed as "(1 and 0 hits)" after the other keyword's name, the
    finding's own keyword's count came second and read as the other's."""
    text = "Good governance needs cooperation."
    codebook = parse_codebook(f"codes:\n  c:\n    description: d\n    keywords: {keywords}\n")
    report = lint_codebook(codebook, [Passage("a", 0, 0, len(text), text, text)])
    assert [finding.detail for finding in report.of_kind("near duplicate")] == [detail]


SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def seed_report():
    from coder.codebook import load_codebook
    from coder.corpus import read_corpus
    from coder.passages import split_passages

    codebook = load_codebook(SEEDS.parent / "codebook.yaml")
    documents = read_corpus(SEEDS).documents
    passages = [passage for document in documents for passage in split_passages(document, unit=codebook.unit)]
    return codebook, documents, lint_codebook(codebook, passages)


def _flat(text):
    return re.sub(r"[\s\-]+", " ", text.casefold())


def test_lint_on_seeds_dead_keywords_really_absent(seed_report):
    codebook, documents, report = seed_report
    dead = report.of_kind("no match")
    assert ("joint_meeting", "联席会议") in [(finding.code, finding.rule) for finding in dead]
    corpus = " ".join(_flat(document.text) for document in documents)
    compact = re.sub(r"\s+", "", corpus)
    for finding in dead:
        if report.keywords.set_index("rule").at[finding.rule, "kind"] == "regex":
            assert not any(re.search(finding.rule, document.text, re.IGNORECASE) for document in documents)
        else:
            literal = _flat(finding.rule.rstrip("*"))
            # Chinese keywords match whole words: '党建共同体' inside the longer term '跨域党建共同体' is not a hit.
            longer = [keyword for code in codebook for keyword in code.keywords if literal in keyword and keyword != literal]
            rest = compact
            for keyword in longer:
                rest = rest.replace(keyword, "")
            if literal.isascii():
                assert literal not in corpus
            else:
                assert literal.replace(" ", "") not in rest


def test_lint_on_seeds_counts_match_independent_count(seed_report):
    codebook, documents, report = seed_report
    counts = report.keywords.set_index(["code", "rule"])
    expected = sum(len(re.findall(r"(?<!intergovernmental )joint[\s\-]+meetings?\b", document.text, re.IGNORECASE))
                   for document in documents)
    # The keyword alone, counted without the overlap rule of its code.
    assert counts.at[("joint_meeting", "joint meeting"), "hits"] == sum(
        len(re.findall(r"joint[\s\-]+meetings?\b", document.text, re.IGNORECASE)) for document in documents
    )
    assert expected < counts.at[("joint_meeting", "joint meeting"), "hits"]
    assert len(report.keywords) == sum(len(code.keywords) + len(code.regex) + len(code.rules) for code in codebook)
    assert set(report.keywords["code"]) == {code.id for code in codebook if not code.is_grouping}


@pytest.mark.parametrize("codebook_text", ["codes:\n  meeting:\n    keywords: [joint meeting, never ever here]\n"])
def test_lint_cli_on_seeds(tmp_path, codebook_text):
    from coder.corpus import read_corpus
    from coder.models import CODED_KINDS
    from coder.passages import split_passages

    # the passages a run codes: not the funding lines and references (5 of the seeds' 63)
    count = sum(passage.kind in CODED_KINDS for document in read_corpus(SEEDS).documents for passage in split_passages(document))
    assert count == 58
    (tmp_path / "codebook.yaml").write_text(codebook_text, encoding="utf-8")
    result = invoke(
        "lint", "--corpus", str(SEEDS), "--codebook", str(tmp_path / "codebook.yaml"), "--csv", str(tmp_path / "k.csv"),
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1:7] == [
        "no match (1):",
        f"  meeting 'never ever here': matches nothing in {count} passages. Check the spelling or drop it.",
        "one language (1):",
        "  meeting: code 'meeting' has English terms only; the corpus has Chinese passages (8): add Chinese terms.",
        "no definition (1):",
        "  meeting: no description. Add `description:` so coders and reviewers know what the code means.",
    ]
    assert lines[0] == f"Checked 2 keywords and regexes against {count} passages."
    from coder.kwic import kwic

    lines = kwic(read_corpus(SEEDS).documents, "joint meeting")
    passages = len({(line.document, line.passage) for line in lines})
    assert (tmp_path / "k.csv").read_text(encoding="utf-8-sig").splitlines()[1:] == [
        f"meeting,keyword,joint meeting,{passages},{len(lines)},0,1.0", "meeting,keyword,never ever here,0,0,0,0.0",
    ]
    assert len(lines) == 13


LINT_RULES_CODEBOOK = """unit: document
codes:
  mechanism:
    description: cooperation joined with a mechanism
    rules:
      - near: [[cooperat*], [mechanism, platform]]
        within: 2
      - near: [[cooperat*], [mechanizm]]
        within: 2
      - near: [[cooperat*], [meeting]]
        within: 1
      - all: [[region*], [joint]]
        not: [meeting]
"""


def test_lint_cli_rules_whose_lists_match_nothing(tmp_path, monkeypatch):
    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(
        "A cooperation mechanism. Regional cooperation helps the joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(LINT_RULES_CODEBOOK, encoding="utf-8")
    result = invoke("lint", "--corpus", "corpus", "--codebook", "codebook.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.split("Keywords per code")[0] == (
        "Checked 4 keywords and regexes against 1 passages.\n"
        "no match (3):\n"
        "  mechanism 'near(cooperat*, mechanizm; 2)': never holds in 1 passages: no word of list 2 (mechanizm) occurs. "
        "Check the spelling, or add the words the texts use (coder kwic finds them).\n"
        "  mechanism 'near(cooperat*, meeting; 1)': never holds in 1 passages: both lists occur, but never within 1 "
        "words (characters, for Chinese) of each other. Widen `within` or the lists.\n"
        "  mechanism 'all(region*, joint) not meeting': never holds in 1 passages: every list occurs, but never all in "
        "one passage outside passages with a `not` word.\n"
    )
    assert "        1      3  100%  near(cooperat*, mechanism|platform; 2)  (rule)" in result.output


def _lint_output(tmp_path, monkeypatch, codebook: str, documents: dict[str, str] | None) -> str:
    """`coder lint` on `documents` (None: an empty corpus folder), up to the keyword table."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    for name, text in (documents or {}).items():
        (tmp_path / "corpus" / name).write_text(text, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    result = invoke("lint", "--corpus", "corpus", "--codebook", "codebook.yaml")
    assert result.exit_code == 0, result.output
    return result.stdout.split("Keywords per code")[0]


BILINGUAL = {"en.txt": "Regional cooperation works.\n", "zh.txt": "区域合作很好。\n\n跨域协同治理很重要。\n"}


@pytest.mark.parametrize("codebook, expected", [
    ("codes:\n  cooperation:\n    description: d\n    keywords: [cooperation]\n",
     "one language (1):\n"
     "  cooperation: code 'cooperation' has English terms only; the corpus has Chinese passages (2): add Chinese terms.\n"),
    ("codes:\n  cooperation:\n    description: d\n    keywords: [合作]\n",
     "one language (1):\n"
     "  cooperation: code 'cooperation' has Chinese terms only; the corpus has English passages (1): add English terms.\n"),
])
def test_lint_cli_one_language_code_in_bilingual_corpus(tmp_path, monkeypatch, codebook, expected):
    output = _lint_output(tmp_path, monkeypatch, codebook, BILINGUAL)
    assert output.split("\n", 1)[1] == expected


@pytest.mark.parametrize("codebook, expected", [
    ("codes:\n  a:\n    description: d\n    keywords: [cooperation]\n  b:\n    description: d\n    keywords: [合作, cooperation]\n",
     "one language (1):\n"
     "  a: code 'a' has English terms only; no corpus was given, and 1 other code(s) of the codebook have Chinese "
     "terms: add Chinese terms.\n"),
])
def test_lint_one_language_code_without_corpus(codebook, expected):
    report = lint_codebook(parse_codebook(codebook), [])
    assert [finding.detail for finding in report.of_kind("one language")] == [expected.split(": ", 1)[1].rstrip("\n")]


SHADOW_CODEBOOK = """codes:
  governance:
    description: d
    keywords: [合作, collaborative governance]
  cross:
    description: d
    keywords: [合作社, cross-regional governance]
"""


@pytest.mark.parametrize("documents, expected", [
    ({"zh.txt": "合作社很重要。\n\n我们研究合作社。\n", "en.txt": "Nothing here.\n"},
     "inside a longer term (1):\n"
     "  governance '合作': '合作' never matches on its own: every occurrence (2) is inside '合作社' "
     "(code cross), which the segmenter keeps as one word; add '合作社' to this code, or drop '合作' "
     "if those passages are not 'governance'.\n"),
])
def test_lint_cli_keyword_inside_a_longer_term(tmp_path, monkeypatch, documents, expected):
    output = _lint_output(tmp_path, monkeypatch, SHADOW_CODEBOOK, documents)
    assert output.split("no match")[0].split("\n", 1)[1] == expected


@pytest.mark.parametrize("codebook, expected", [(SHADOW_CODEBOOK, (
    "possible shadow (1):\n"
    "  governance '合作': inside '合作社' (code cross): where a text has '合作社' the segmenter keeps it "
    "as one word, so '合作' does not match there. Give a corpus to check how often.\n"
))])
def test_lint_cli_possible_shadow_without_corpus(tmp_path, monkeypatch, codebook, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    result = invoke("lint", "--no-corpus", "--codebook", "codebook.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("Keywords per code")[0].split("possible shadow")[1] == expected.split("possible shadow")[1]


@pytest.mark.parametrize("codebook, expected", [(SHADOW_CODEBOOK, [
    ("governance", "合作", "inside '合作社' (code cross): where a text has '合作社' the segmenter keeps it "
     "as one word, so '合作' does not match there. Give a corpus to check how often."),
])])
def test_lint_possible_shadow_without_corpus(codebook, expected):
    report = lint_codebook(parse_codebook(codebook), [])
    assert [(finding.code, finding.rule, finding.detail) for finding in report.of_kind("possible shadow")] == expected


SHAPES = """codes:
  shapes:
    description: d
    keywords: ["&&", PPP模式, -based, R&D, cooperation]
"""


@pytest.mark.parametrize("expected", [
    "unmatchable shape (2):\n"
    "  shapes '&&': has no letters, digits or Chinese characters, and the matcher matches words only. Use a regex "
    "for punctuation or symbols.\n"
    "  shapes '-based': a leading or trailing hyphen is read as a break between words, so it is dropped, not "
    "required. For words that begin with it write 'word-*'; otherwise drop the hyphen.\n"
])  # `R&D` matches as written (probe AB1): no finding
def test_lint_cli_unmatchable_shapes(tmp_path, monkeypatch, expected):
    documents = {"en.txt": "R&D and PPP模式 and co-operation and cooperation, 协同治理 && more.\n"}
    output = _lint_output(tmp_path, monkeypatch, SHAPES, documents)
    assert output.split("\n", 1)[1].split("one language")[0].split("no match")[0] == expected


def test_lint_counts_keywords_with_symbols_where_they_are_spelt(tmp_path):
    """Probe AB1: lint listed `C++` with the hits of every "C", and called `AT&T` unmatchable without a corpus."""
    codebook = parse_codebook('codes:\n  tech:\n    description: d\n    keywords: ["C++", "AT&T", "50%"]\n')
    texts = ["Take vitamin C daily.", "C++ and AT&T.", "AT and T, 50 or 50%."]
    report = lint_codebook(codebook, [Passage("a", index, 0, len(text), text, text) for index, text in enumerate(texts)])
    assert report.keywords.set_index("rule")[["passages", "hits"]].to_dict("index") == {
        "C++": {"passages": 1, "hits": 1}, "AT&T": {"passages": 1, "hits": 1}, "50%": {"passages": 1, "hits": 1}}
    assert not report.of_kind("unmatchable shape")
    assert not lint_codebook(codebook, []).of_kind("unmatchable shape")


def test_lint_reports_a_dropped_hyphen_with_a_corpus_too(tmp_path, monkeypatch):
    """'-based' matched "based" in a corpus, and lint said nothing there, while --no-corpus warned."""
    output = _lint_output(tmp_path, monkeypatch, SHAPES, {"en.txt": "A based approach, home-based care.\n"})
    assert "  shapes '-based': a leading or trailing hyphen is read as a break between words" in output


def test_lint_names_with_line_breaks_are_printed_escaped(tmp_path):
    """A code id or keyword holding a line break printed a line of its own ("Error: all fine")."""
    from conftest import invoke

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text('codes:\n  "x\\nError: all fine":\n    keywords: ["zzz\\nFORGED"]\n    regex: ["a("]\n', encoding="utf-8")
    broken = invoke("lint", "--no-corpus", "--codebook", codebook)
    assert broken.exit_code == 1 and broken.output.count("\n") == 1
    assert "code 'x\\nError: all fine': invalid regex" in broken.output
    codebook.write_text('codes:\n  "x\\nError: all fine":\n    keywords: ["zzz\\nFORGED"]\n', encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Nothing to see.\n", encoding="utf-8")
    report = invoke("lint", "--corpus", corpus, "--codebook", codebook)
    assert not any(line.startswith(("Error: all fine", "FORGED")) for line in report.output.splitlines())
    assert "  x\\nError: all fine 'zzz\\nFORGED': matches nothing in 1 passages." in report.output


def test_lint_the_codebook_alone_lists_no_keyword_as_matching_nothing():
    """`lint --no-corpus` reported every keyword of the shipped codebook (262) as matching nothing in
    0 passages; the findings a codebook alone can have remain (a near duplicate here)."""
    from conftest import invoke

    result = invoke("lint", "--no-corpus", "--codebook", Path(__file__).resolve().parent.parent / "codebook.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Checked 262 keywords and regexes (the codebook alone, no corpus).\n")
    assert "no match" not in result.output and "matches nothing" not in result.output
    assert "near duplicate (" in result.output


def test_lint_no_possible_shadow_where_the_shorter_term_is_a_word_of_the_longer():
    """联席会议 is a word of 市长联席会议 and matches there: listing it as shadowed sent the user to fix nothing.
    协同治理 matches in 跨域协同治理 as it does without that term (probe AY1); 合作 is no word of 合作社."""
    codebook = parse_codebook("codes:\n  a:\n    description: d\n    keywords: [联席会议, 协同治理, 合作]\n"
                              "  b:\n    description: d\n    keywords: [市长联席会议, 跨域协同治理, 合作社]\n")
    assert [finding.rule for finding in lint_codebook(codebook, []).of_kind("possible shadow")] == ["合作"]


def test_lint_without_a_corpus_shows_no_counts(tmp_path):
    """--no-corpus printed hit counts never measured ("hits: '党建*' 0, '党建联盟' 0") and a table of zeros."""
    from conftest import invoke

    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  a:\n    description: d\n    keywords: [党建*, 党建联盟]\n", encoding="utf-8")
    result = invoke("lint", "--no-corpus", "--codebook", codebook)
    assert result.exit_code == 0, result.output
    assert "a '党建联盟': close to '党建*': one matches the other (a wildcard, or a hyphenated spelling).\n" in result.output
    assert "hits" not in result.output and "Keywords per code" not in result.output


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="abcdeg 联席会议-", min_size=1, max_size=12), min_size=2, max_size=25),
       st.sampled_from([0.9, 0.8, 0.5]))
def test_lint_candidate_pairs_hold_every_similar_pair(texts, near_ratio):
    """lint compared every pair of keywords with difflib: 4,000 keywords took 163 s (probe N3). It now
    compares only the pairs whose shared characters allow the ratio; no pair that reaches it is left out."""
    import difflib

    from coder.lint import _candidate_pairs

    keywords = [(f"r{number}", None, text) for number, text in enumerate(texts)]
    pairs = set(_candidate_pairs(keywords, texts, {}, near_ratio))
    for first in range(len(texts)):
        for second in range(first + 1, len(texts)):
            if difflib.SequenceMatcher(None, texts[first], texts[second]).ratio() >= near_ratio:
                assert (first, second) in pairs


@pytest.mark.parametrize(("exclude", "idle"), [
    ("correspondence should be addressed", "the regex '\\bshould\\b' matches there"),  # probe AG5
    ("strong suggestion", "Drop it"),              # "policy suggestion" cannot run into it
    ("the recommendation letter", None),           # the keyword matches inside it
    ("we recommend", None),                        # ... or runs over its edge
    ("policy", None),                              # "policy suggestion" starts in it
    ("对策研究", None),
])
def test_lint_names_an_exclusion_that_holds_nothing_back(exclude, idle):
    codebook = parse_codebook(f"""
codes:
  recommendations:
    description: proposals
    keywords: [recommend*, policy suggestion, 对策]
    regex: ['\\bshould\\b']
    exclude: ['{exclude}']
""")
    findings = lint_codebook(codebook, []).of_kind("idle exclusion")
    assert [finding.rule for finding in findings] == ([exclude] if idle else [])
    assert idle is None or idle in findings[0].detail


def _coded(codebook, text):
    return [(match.start, match.end, match.code) for match in compile_codebook(codebook).find(Passage("t.txt", 0, 0, len(text), text, text))]


@pytest.mark.parametrize(("terms", "exclude", "text"), [
    ("keywords: [administrative barrier]", "admin*", "The administrative barrier was high."),  # probe AI3
    ("keywords: [联席会议]", "联席*", "联席会议召开了。"),
    ("keywords: [administrative barrier]", "the admin*", "the administrative barrier"),
    ("rules: [{near: [[cooperat*], [mechanism]], within: 5}]", "cooperative society",  # probe AI4
     "A cooperative society mechanism is here."),
    ("rules: [{near: [[network], [mechanism]], within: 5}]", "mechanisms of action", "The mechanisms of action of the network."),
    ("keywords: [联席会议]", "会议室", "联席会议室很大。"),  # probe AI5
    ("keywords: [self-government]", "government agency", "The self-government agency met."),
    ("keywords: [区域合作]", "跨区域", "跨区域合作"),
    ("keywords: [co-operation]", "cooperation agreement", "the co-operation agreement"),
    ("keywords: ['~govern']", "government agency", "a government agency"),
    ("keywords: [barrier]", "admin*", "an administrative barrier"),  # idle: they never overlap
    ("keywords: [合作]", "合作社", "农民合作社"),  # idle: 合作 is no word in 合作社
    ("rules: [{near: [[network], [mechanism]], within: 5}]", "near all", "near all network mechanism"),
])
def test_lint_calls_an_exclusion_idle_only_when_it_vetoes_nothing(terms, exclude, text):
    without = parse_codebook(f"codes:\n  c:\n    description: d\n    {terms}\n")
    codebook = parse_codebook(f"codes:\n  c:\n    description: d\n    {terms}\n    exclude: ['{exclude}']\n")
    vetoes = _coded(codebook, text) != _coded(without, text)
    idle = [finding.rule for finding in lint_codebook(codebook, []).of_kind("idle exclusion")]
    assert idle == ([] if vetoes else [exclude])
