"""Lint: check a codebook against a corpus: dead, shared, shadowed and near-duplicate keywords and rules."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from . import regexes
from .errors import RegexTimeoutError
from .matching import GAP_RUN, CompiledCodebook, compile_codebook
from .models import Code, Codebook, Passage, Rule
from .regexes import has_nested_quantifier

KEYWORD_COLUMNS = ("code", "kind", "rule", "passages", "hits", "excluded_hits", "share")
FINDING_KINDS = ("nested quantifier", "no match", "shadowed", "claimed twice", "near duplicate", "no definition")
_SEPARATOR = "::"


@dataclass(frozen=True)
class LintFinding:
    """One problem: `kind` is one of FINDING_KINDS; `passages`/`hits` are corpus counts."""

    kind: str
    code: str
    rule: str
    detail: str
    passages: int = 0
    hits: int = 0


@dataclass(frozen=True)
class LintReport:
    """Findings plus, per keyword and regex, how many passages and hits it brings to its code."""

    findings: tuple[LintFinding, ...]
    keywords: pd.DataFrame  # KEYWORD_COLUMNS
    passages: int

    def of_kind(self, kind: str) -> list[LintFinding]:
        return [finding for finding in self.findings if finding.kind == kind]

    def render(self) -> str:
        """Findings grouped by kind, then the keywords that carry each code, as plain text."""
        lines = [f"Checked {len(self.keywords)} keywords and regexes against {self.passages} passages."]
        if not self.findings:
            lines.append("No problems found.")
        for kind in FINDING_KINDS:
            found = self.of_kind(kind)
            if not found:
                continue
            lines.append(f"{kind} ({len(found)}):")
            for finding in found:
                rule = f" '{finding.rule}'" if finding.rule else ""
                lines.append(f"  {finding.code}{rule}: {finding.detail}")
        if len(self.keywords):
            lines.append("Keywords per code (passages, hits, share of the code's passages):")
            for code, rows in self.keywords.groupby("code", sort=False):
                lines.append(f"  {code}")
                for row in rows.itertuples(index=False):
                    lines.append(f"    {row.passages:>5} {row.hits:>6} {row.share:>5.0%}  {row.rule}"
                                 + ("  (regex)" if row.kind == "regex" else "  (rule)" if row.kind == "rule" else ""))
        return "\n".join(lines)


def lint_codebook(codebook: Codebook, passages: Iterable[Passage], *, near_ratio: float = 0.9) -> LintReport:
    """Check every keyword, regex and exclusion of `codebook` against `passages`.

    Finds regexes with nested repeats (`(a+)+`), which can backtrack for ever; keywords that match nothing; keywords whose every hit an exclusion vetoes (or that
    contain an exclude phrase, so they can never match); the same keyword (up to case,
    hyphens and inflection) in two codes; near-duplicate keywords (difflib ratio >= `near_ratio`,
    or one matching the other, as "meeting" and "meetings" do); codes without a description.
    Counts come from compiling one code per keyword, with the same matching rules as a run.

    >>> report = lint_codebook(load_codebook("codebook.yaml"), passages)  # doctest: +SKIP
    >>> [finding.rule for finding in report.of_kind("no match")]  # doctest: +SKIP
    ['adjacent party building']
    """
    rules = _rules(codebook)
    without_exclusions = compile_codebook(_rule_codebook(codebook, rules, exclusions=False))
    try:
        counts = _count_rules(codebook, rules, passages, without_exclusions)
    except RegexTimeoutError as error:  # name the code, not lint's one-code-per-rule id
        owner = error.code.split(_SEPARATOR)[0]
        raise RegexTimeoutError(owner, error.pattern, error.document, error.passage, error.seconds) from None
    findings = _nested_quantifiers(rules)
    findings.extend(_rule_findings(codebook, rules, counts, without_exclusions))
    findings.extend(_claimed_and_near(rules, without_exclusions, counts.hits, counts.rule_passages, near_ratio))
    findings.extend(_undefined_codes(codebook, rules, counts))
    order = {kind: position for position, kind in enumerate(FINDING_KINDS)}
    findings.sort(key=lambda finding: order[finding.kind])
    return LintReport(findings=tuple(findings), keywords=_keyword_table(rules, counts), passages=counts.passages)


@dataclass
class _RuleCounts:
    """What each keyword and regex brings in the corpus, with and without its code's exclusions."""

    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    raw_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rule_passages: dict[str, set[tuple[str, int]]] = field(default_factory=lambda: defaultdict(set))
    code_passages: dict[str, set[tuple[str, int]]] = field(default_factory=lambda: defaultdict(set))
    list_hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per rule list: "code::u0::l1"
    passages: int = 0


def _count_rules(
    codebook: Codebook, rules: list[tuple[str, Code, str, str]], passages: Iterable[Passage],
    without_exclusions: CompiledCodebook,
) -> _RuleCounts:
    """Hits and passages per rule (one code per keyword or regex), with and without exclusions."""
    with_exclusions = compile_codebook(_rule_codebook(codebook, rules, exclusions=True))
    lists = _list_codebook(codebook, rules)
    list_matcher = compile_codebook(lists) if len(lists) else None
    counts = _RuleCounts()
    owner = {rule_id: code.id for rule_id, code, _, _ in rules}
    for passage in passages:
        counts.passages += 1
        key = (passage.document, passage.index)
        for match in with_exclusions.find(passage):
            counts.hits[match.code] += 1
            counts.rule_passages[match.code].add(key)
            counts.code_passages[owner[match.code]].add(key)
        for match in without_exclusions.find(passage):
            counts.raw_hits[match.code] += 1
        if list_matcher is not None:
            for match in list_matcher.find(passage):
                counts.list_hits[match.code] += 1
    return counts


def _list_codebook(codebook: Codebook, rules: list[tuple[str, Code, str, str]]) -> Codebook:
    """One code per word list of each rule (`near`/`all` lists, not `not`), to tell which list of
    a rule that never holds matches nothing."""
    codes = []
    for rule_id, code, kind, rule in rules:
        if kind != "rule":
            continue
        for found in _code_rules(code, rule):
            for position, words in enumerate(found.lists):
                list_id = f"{rule_id}{_SEPARATOR}l{position}"
                codes.append(Code(id=list_id, label=list_id, path=(list_id,), keywords=words, morphology=code.morphology))
            break
    return Codebook(codes=tuple(codes), unit=codebook.unit)


def _code_rules(code: Code, description: str) -> tuple[Rule, ...]:
    """The code's rules that lint lists as `description`."""
    return tuple(rule for rule in code.rules if rule.description == description)


def _keyword_table(rules: list[tuple[str, Code, str, str]], counts: _RuleCounts) -> pd.DataFrame:
    """KEYWORD_COLUMNS: per rule, its passages, hits, excluded hits and share of its code's passages."""
    rows = []
    for rule_id, code, kind, rule in rules:
        passages_hit = len(counts.rule_passages[rule_id])
        total = len(counts.code_passages[code.id])
        rows.append((code.id, kind, rule, passages_hit, counts.hits[rule_id],
                     counts.raw_hits[rule_id] - counts.hits[rule_id], passages_hit / total if total else 0.0))
    return pd.DataFrame(rows, columns=list(KEYWORD_COLUMNS)).astype(
        {"passages": int, "hits": int, "excluded_hits": int, "share": float}
    )


def _rule_findings(
    codebook: Codebook, rules: list[tuple[str, Code, str, str]], counts: _RuleCounts,
    without_exclusions: CompiledCodebook,
) -> list[LintFinding]:
    """Keywords and regexes that never match, or whose every hit an exclusion vetoes."""
    findings: list[LintFinding] = []
    always_excluded = _contained_exclusions(codebook, rules, without_exclusions)
    for rule_id, code, kind, rule in rules:
        count, raw = counts.hits[rule_id], counts.raw_hits[rule_id]
        if rule_id in always_excluded:
            findings.append(LintFinding(
                "shadowed", code.id, rule,
                f"the exclude phrase '{always_excluded[rule_id]}' occurs inside it, so it can never match. "
                f"Remove the exclusion or the keyword.", len(counts.rule_passages[rule_id]), count,
            ))
        elif raw and not count:
            findings.append(LintFinding(
                "shadowed", code.id, rule,
                f"all {raw} hits overlap an exclude phrase of the code. Narrow the exclusion or drop the keyword.",
                0, 0,
            ))
        elif not raw and kind == "rule":
            findings.append(LintFinding("no match", code.id, rule, _rule_never_holds(rule_id, code, rule, counts)))
        elif not raw:
            findings.append(LintFinding(
                "no match", code.id, rule,
                f"matches nothing in {counts.passages} passages. Check the spelling or drop it.",
            ))
    return findings


def _rule_never_holds(rule_id: str, code: Code, description: str, counts: _RuleCounts) -> str:
    """Why a rule codes nothing: a list none of whose words occurs, or lists that never meet."""
    rule = _code_rules(code, description)[0]
    empty = [position for position in range(len(rule.lists))
             if not counts.list_hits[f"{rule_id}{_SEPARATOR}l{position}"]]
    if empty:
        names = "; ".join(f"list {position + 1} ({'|'.join(rule.lists[position])})" for position in empty)
        return (f"never holds in {counts.passages} passages: no word of {names} occurs. Check the spelling, or add the "
                f"words the texts use (coder kwic finds them).")
    unless = " outside passages with a `not` word" if rule.unless else ""
    if rule.kind == "near":
        return (f"never holds in {counts.passages} passages: both lists occur, but never within {rule.within} words "
                f"(characters, for Chinese) of each other{unless}. Widen `within` or the lists.")
    return f"never holds in {counts.passages} passages: every list occurs, but never all in one passage{unless}."


def _nested_quantifiers(rules: list[tuple[str, Code, str, str]]) -> list[LintFinding]:
    """Regexes with a repeat inside a repeat, which can backtrack for ever on text that almost matches."""
    return [
        LintFinding(
            "nested quantifier", code.id, rule,
            f"a repeat inside a repeat can try exponentially many ways on text that almost matches (each "
            f"regex is stopped after {regexes.REGEX_TIMEOUT:g} s on a passage). Drop one repeat, or make the "
            f"inner one possessive (\\w++) or atomic (?>...).",
        )
        for _, code, kind, rule in rules
        if kind == "regex" and has_nested_quantifier(rule)
    ]


def _undefined_codes(codebook: Codebook, rules: list[tuple[str, Code, str, str]], counts: _RuleCounts) -> list[LintFinding]:
    """Codes without a description."""
    return [
        LintFinding(
            "no definition", code.id, "",
            "no description. Add `description:` so coders and reviewers know what the code means.",
            len(counts.code_passages[code.id]),
            sum(counts.hits[rule_id] for rule_id, owner_code, _, _ in rules if owner_code.id == code.id),
        )
        for code in codebook
        if not code.description.strip()
    ]


def findings_frame(report: LintReport) -> pd.DataFrame:
    """The findings as a table (kind, code, rule, detail, passages, hits), for CSV."""
    return pd.DataFrame(
        [(f.kind, f.code, f.rule, f.detail, f.passages, f.hits) for f in report.findings],
        columns=["kind", "code", "rule", "detail", "passages", "hits"],
    )


def _rules(codebook: Codebook) -> list[tuple[str, Code, str, str]]:
    """(rule id, code, kind, rule) for every keyword, regex and rule; rule ids are "code::k0", "code::r0",
    "code::u0" (a rule is listed by its description)."""
    rules = []
    for code in codebook:
        rules.extend((f"{code.id}{_SEPARATOR}k{index}", code, "keyword", keyword) for index, keyword in enumerate(code.keywords))
        rules.extend((f"{code.id}{_SEPARATOR}r{index}", code, "regex", pattern) for index, pattern in enumerate(code.regex))
        rules.extend((f"{code.id}{_SEPARATOR}u{index}", code, "rule", rule.description)
                     for index, rule in enumerate(dict.fromkeys(code.rules)))
    return rules


def _rule_codebook(codebook: Codebook, rules: list[tuple[str, Code, str, str]], *, exclusions: bool) -> Codebook:
    """A flat codebook with one code per keyword or regex, carrying its code's exclusions."""
    codes = [
        Code(
            id=rule_id, label=rule_id, path=(rule_id,),
            keywords=(rule,) if kind == "keyword" else (), regex=(rule,) if kind == "regex" else (),
            exclude=code.exclude if exclusions else (), morphology=code.morphology,
            rules=_code_rules(code, rule)[:1] if kind == "rule" else (),
        )
        for rule_id, code, kind, rule in rules
    ]
    return Codebook(codes=tuple(codes), unit=codebook.unit)


def _as_passage(text: str) -> Passage:
    return Passage(document="", index=0, start=0, end=len(text), view=text, text=text)


def _contained_exclusions(
    codebook: Codebook, rules: list[tuple[str, Code, str, str]], compiled: CompiledCodebook
) -> dict[str, str]:
    """Keywords that contain one of their code's exclude phrases: every hit would be vetoed."""
    found = {}
    for code in codebook:
        if not code.exclude:
            continue
        matcher = compile_codebook(Codebook(codes=tuple(
            Code(id=f"x{index}", label=phrase, path=(f"x{index}",), keywords=(phrase,))
            for index, phrase in enumerate(code.exclude)
        )))
        for rule_id, owner, kind, rule in rules:
            if owner.id != code.id or kind != "keyword":
                continue
            matches = matcher.find(_as_passage(rule.rstrip("*")))
            if matches:
                found[rule_id] = matches[0].rule  # the exclude phrase as written
    return found


def _normalized(keyword: str) -> str:
    return GAP_RUN.sub(" ", keyword.casefold()).strip()


def _claimed_and_near(
    rules: list[tuple[str, Code, str, str]],
    compiled: CompiledCodebook,
    hits: dict[str, int],
    rule_passages: dict[str, set[tuple[str, int]]],
    near_ratio: float,
) -> list[LintFinding]:
    """Pairs of keywords that are the same (in two codes) or nearly the same."""
    keywords = [(rule_id, code, rule) for rule_id, code, kind, rule in rules if kind == "keyword"]
    by_id = {rule_id: (code, rule) for rule_id, code, rule in keywords}
    # covers[a] = keywords whose pattern matches the whole text of keyword a.
    covers: dict[str, set[str]] = {}
    for rule_id, _, rule in keywords:
        text = rule.rstrip("*")
        covers[rule_id] = {
            match.code for match in compiled.find(_as_passage(text))
            if match.start == 0 and match.end == len(text) and match.code in by_id
        }
    findings = []
    for position, (first, first_code, first_rule) in enumerate(keywords):
        for second, second_code, second_rule in keywords[position + 1:]:
            same_words = _normalized(first_rule) == _normalized(second_rule)
            mutual = second in covers[first] and first in covers[second]
            one_way = second in covers[first] or first in covers[second]
            shared = len(rule_passages[first] & rule_passages[second])
            counts = f"{hits[first]} and {hits[second]} hits, {shared} passages in common"
            if first_code.id != second_code.id and (same_words or mutual):
                findings.append(LintFinding(
                    "claimed twice", second_code.id, second_rule,
                    f"also a keyword of '{first_code.id}' ('{first_rule}'): every hit codes both ({counts}). "
                    f"Keep it in one code, or rely on the hierarchy.",
                    shared, hits[second],
                ))
                continue
            ratio = difflib.SequenceMatcher(None, _normalized(first_rule), _normalized(second_rule)).ratio()
            if same_words or one_way or ratio >= near_ratio:
                why = ("the same keyword" if same_words else
                       "the same up to inflection, one is enough" if mutual else
                       "one matches the other (wildcard)" if one_way else f"similarity {ratio:.2f}")
                where = "" if first_code.id == second_code.id else f" of '{first_code.id}'"
                findings.append(LintFinding(
                    "near duplicate", second_code.id, second_rule,
                    f"close to '{first_rule}'{where}: {why} ({counts}).", shared, hits[second],
                ))
    return findings
