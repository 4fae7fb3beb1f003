"""Codebook regexes: `re` syntax and meaning, bounded repeats, a time limit per passage in run, lint and kwic."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coder import regexes
from coder.cli import app
from coder.regexes import RegexProblem, compile_regex, has_nested_quantifier

runner = CliRunner()
BACKTRACKS = "(a|aa)+$"  # exponential in the `regex` engine too
SLOW = "Error: regex '(a|aa)+$'{owner} took more than 0.2 s on passage 1 of 'slow.txt' and was stopped. " \
    "It backtracks without end on text that almost matches: remove nested repeats such as (a+)+ or " \
    "(\\w+\\s?)+, or make them atomic (?>...).\n"


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(regexes, "REGEX_TIMEOUT", 0.2)


def _corpus(tmp_path: Path, text: str) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "slow.txt").write_text(f"Nothing here.\n\n{text}\n", encoding="utf-8")
    return corpus


def _codebook(tmp_path: Path, pattern: str) -> Path:
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text(f"codes:\n  greedy:\n    description: d\n    regex: ['{pattern}']\n", encoding="utf-8")
    return codebook


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("joint[- ]conferences?", "JOINT conference", "JOINT conference"),
    (r"(?P<w>\w+) (?P=w)", "the the end", "the the"),
    (r"\bµm\b", "5 ΜM wide", "ΜM"),
])
def test_regexes_keep_re_meaning(pattern, text, expected):
    assert compile_regex(pattern).search(text).group() == expected


@pytest.mark.parametrize(("pattern", "problem"), [
    ("a{4294967296}", "a repeat count is above 65535 or groups are nested too deep."),
    ("a{2147483648}", "a repeat count is above 65535."),
    ("(?:a{1000}){1000}", "nested repeat counts multiply to more than 100000."),
    (r"\p{L}", "bad escape \\p at position 0."),
])
def test_regexes_reject_what_re_rejects_and_huge_repeats(pattern, problem):
    with pytest.raises(RegexProblem) as raised:
        compile_regex(pattern)
    assert str(raised.value) == problem


@pytest.mark.parametrize(("pattern", "nested"), [
    ("(a+)+$", True), (r"(\w+\s?)+ mechanism of joint conferences", True), ("(?:x*y)*", True),
    ("(a{2,})+", True), ("(ab)+c+", False), (r"(\w+ )?x+", False), ("(?>a+)+", False), ("(a|aa)+$", False),
])
def test_regexes_nested_quantifier(pattern, nested):
    assert has_nested_quantifier(pattern) is nested


@pytest.mark.parametrize("pattern", ["a{4294967296}"])
def test_regexes_cli_huge_repeat_is_a_codebook_error_with_line(tmp_path: Path, pattern):
    codebook = _codebook(tmp_path, pattern)
    result = runner.invoke(app, ["run", str(_corpus(tmp_path, "aaa")), "--codebook", str(codebook),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output == (f"Error: {codebook}:4: code 'greedy': invalid regex '{pattern}': "
                             "a repeat count is above 65535 or groups are nested too deep.\n")


@pytest.mark.parametrize("command", ["run", "lint", "kwic"])
def test_regexes_cli_backtracking_regex_is_stopped_with_a_message(tmp_path: Path, short_timeout, command, monkeypatch):
    monkeypatch.chdir(tmp_path)  # kwic: the /regex/ query runs on its own, not the codebook.yaml written here
    corpus, codebook, out = _corpus(tmp_path, "a" * 40 + "b"), _codebook(tmp_path, BACKTRACKS), tmp_path / "out"
    out.mkdir()
    (out / "segments.csv").write_bytes(b"segment_id,earlier\n")  # an earlier run's (a file of another's stops the run first)
    args = {
        "run": ["run", str(corpus), "--codebook", str(codebook), "--out", str(out), "--no-cache"],
        "lint": ["lint", "--corpus", str(corpus), "--codebook", str(codebook)],
        "kwic": ["kwic", f"/{BACKTRACKS}/", "--corpus", str(corpus)],
    }[command]
    started = time.perf_counter()
    result = runner.invoke(app, args)
    assert time.perf_counter() - started < 10
    assert result.exit_code == 1
    message = SLOW.format(owner="" if command == "kwic" else " of code 'greedy'")
    if command == "run":  # it says what the stopped run left
        message = message[:-1] + f" The run was not saved: no outputs were written to {out}.\n"
    assert result.output == message
    assert (out / "segments.csv").read_bytes() == b"segment_id,earlier\n"
    # Nothing but the lock file (empty, kept between runs) joins it.
    assert sorted(path.name for path in out.iterdir() if path.name != ".coder.lock") == ["segments.csv"]


@pytest.mark.parametrize("pattern", ["(a+)+$", r"(\w+\s?)+ mechanism of joint conferences"])
def test_regexes_cli_nested_quantifiers_end_quickly_and_lint_warns(tmp_path: Path, pattern):
    """The issue's two hangs under `re`: the `regex` engine answers both at once (no match)."""
    corpus = _corpus(tmp_path, "a" * 40 + "b")
    for seed in (Path(__file__).resolve().parents[1] / "seeds").iterdir():
        (corpus / seed.name).write_bytes(seed.read_bytes())
    codebook = _codebook(tmp_path, pattern)  # single-quoted YAML keeps backslashes as written
    started = time.perf_counter()
    result = runner.invoke(app, ["lint", "--corpus", str(corpus), "--codebook", str(codebook)])
    assert time.perf_counter() - started < 60
    assert result.exit_code == 0, result.output
    assert (f"nested quantifier (1):\n  greedy '{pattern}': a repeat inside a repeat can try exponentially many "
            f"ways on text that almost matches (each regex is stopped after 2 s on a passage). Drop one "
            f"repeat, or make the inner one possessive (\\w++) or atomic (?>...).\n") in result.output
    result = runner.invoke(app, ["run", str(corpus), "--codebook", str(codebook), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("rules", "loaded"), [("keywords: [joint meeting]", False), ("regex: ['joint[- ]meetings?']", True)])
def test_regexes_engine_loaded_only_for_a_codebook_with_regexes(rules, loaded):
    """The `regex` module (a few hundredths of a second to import) is loaded by the first regex
    compiled: a label edit of a codebook without regexes needs none."""
    import subprocess
    import sys

    codebook = f"codes:\n  meeting:\n    {rules}\n"
    script = f"import sys\nfrom coder import parse_codebook\nparse_codebook({codebook!r})\nprint('regex' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == f"{loaded}\n"


@pytest.mark.parametrize(("pattern", "problem"), [
    ("(?:abc){e<=1}", "`{e<=1}`-style braces are fuzzy matching"),
    ("colou?r{i<=1,d<=1}", "`{e<=1}`-style braces are fuzzy matching"),
    ("[[:alpha:]]+ings", "POSIX classes such as [[:alpha:]] are not Python re syntax"),
])
def test_regexes_syntax_the_regex_engine_reads_otherwise_than_re_is_refused(pattern, problem):
    """Checked with `re`, run with `regex`: `{e<=1}` matched fuzzily ("abd" for abc) and [[:alpha:]]
    matched letters, where Python's re reads both as text, as the README promises; re's
    FutureWarnings printed coder's own source lines."""
    import warnings

    from coder.regexes import RegexProblem, compile_regex

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RegexProblem, match=re.escape(problem)):
            compile_regex(pattern)
        assert compile_regex(r"\{data\}").search("a {data} b") and compile_regex("a{2,3}").search("aaa")
        assert compile_regex("[[a-z]]").search("x]")  # a nested-looking set re reads (with a FutureWarning)


def test_a_cheap_regex_on_a_loaded_machine_stays_within_its_budget(monkeypatch):
    """The budget counted wall time: on a machine busy with other work, `coder suggest` over a 27 MB corpus
    stopped a linear regex of the shipped codebook ('joint[- ]conferences?', 0.2 s of CPU in all) as one
    that "backtracks" (probe HH1). Time the process waits for a core, here a sleep inside each call, is
    not the regex's."""
    import time

    from coder import parse_codebook, regexes
    from coder.matching import compile_codebook
    from coder.models import Document
    from coder.passages import split_passages

    class WaitingForACore:
        def __init__(self, compiled):
            self.compiled = compiled

        def finditer(self, text, **options):
            time.sleep(0.01)
            return self.compiled.finditer(text, **options)

    monkeypatch.setattr(regexes, "REGEX_BUDGET", 0.05)
    compiled = compile_codebook(parse_codebook('codes:\n  joint:\n    regex: ["joint[- ]conferences?"]\n'))
    compiled._regexes = [(code, pattern, WaitingForACore(regex)) for code, pattern, regex in compiled._regexes]
    document = Document("s.txt", "\n\n".join(["A joint conference met."] * 20) + "\n")
    found = [compiled.find(passage) for passage in split_passages(document)]
    assert [len(matches) for matches in found] == [1] * 20


def test_a_regex_slow_on_many_short_passages_is_stopped_by_its_budget(monkeypatch):
    """Each of 100 short paragraphs took (a|aa)+$ about 0.5 s, under the 2 s limit per passage: a 3 KB file
    kept a run busy for a minute, and a larger one for hours. The regex's time over all passages is bounded."""
    from coder import parse_codebook, regexes
    from coder.errors import RegexBudgetError
    from coder.matching import compile_codebook
    from coder.models import Document
    from coder.passages import split_passages

    monkeypatch.setattr(regexes, "REGEX_BUDGET", 0.05)
    compiled = compile_codebook(parse_codebook('codes:\n  greedy:\n    regex: ["(a|aa)+$"]\n'))
    document = Document("s.txt", "\n\n".join(["a" * 24 + "!"] * 200) + "\n")
    with pytest.raises(RegexBudgetError, match=r"regex '\(a\|aa\)\+\$' of code 'greedy' spent more than 0.05 s on"):
        for passage in split_passages(document):
            compiled.find(passage)
