"""Lint: check a codebook against a corpus: dead, shared, shadowed and near-duplicate keywords and rules,
keywords whose shape cannot match, Chinese keywords always inside a longer term, one-language codes."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from . import regexes
from .errors import RegexTimeoutError
from .files import display_name
from .lexicon import CJK_CHARS, contains_cjk, fold_text, is_cjk
from .matching import GAP_RUN, CompiledCodebook, compile_codebook, fold_keyword, symbol_parts
from .models import Code, Codebook, Passage, Rule
from .regexes import has_nested_quantifier

KEYWORD_COLUMNS = ("code", "kind", "rule", "passages", "hits", "excluded_hits", "share")
FINDING_KINDS = ("nested quantifier", "unmatchable shape", "inside a longer term", "no match", "shadowed",
                 "idle exclusion", "claimed twice", "near duplicate", "one language", "no definition", "possible shadow")
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


# Findings about what a corpus holds, which a codebook checked alone cannot have.
_CORPUS_KINDS = frozenset({"no match"})


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
        lines = [f"Checked {len(self.keywords)} keywords and regexes against {self.passages} passages."
                 if self.passages else f"Checked {len(self.keywords)} keywords and regexes (the codebook alone, no corpus)."]
        if not self.findings:
            lines.append("No problems found.")
        for kind in FINDING_KINDS:
            found = self.of_kind(kind)
            if not found:
                continue
            lines.append(f"{kind} ({len(found)}):")
            for finding in found:  # ids, keywords and their quotes in details may hold line breaks: escaped
                rule = f" '{finding.rule}'" if finding.rule else ""
                lines.append(display_name(f"  {finding.code}{rule}: {finding.detail}"))
        if len(self.keywords) and self.passages:  # (counts of no corpus are no counts)
            lines.append("Keywords per code (passages, hits, share of the code's passages):")
            for code, rows in self.keywords.groupby("code", sort=False):
                lines.append(f"  {display_name(code)}")
                for row in rows.itertuples(index=False):
                    lines.append(f"    {row.passages:>5} {row.hits:>6} {row.share:>5.0%}  {display_name(row.rule)}"
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
    passages = list(passages)
    rules = _rules(codebook)
    without_exclusions = compile_codebook(_rule_codebook(codebook, rules, exclusions=False))
    try:
        counts = _count_rules(codebook, rules, passages, without_exclusions)
    except RegexTimeoutError as error:  # name the code, not lint's one-code-per-rule id
        owner = error.code.split(_SEPARATOR)[0]
        raise RegexTimeoutError(owner, error.pattern, error.document, error.passage, error.seconds) from None
    findings = _nested_quantifiers(rules)
    findings.extend(_rule_findings(codebook, rules, counts, without_exclusions, passages))
    findings.extend(_idle_exclusions(codebook, rules, without_exclusions))
    findings.extend(_one_language_codes(codebook, passages))
    if not counts.passages:
        findings.extend(_possible_shadows(rules, without_exclusions))
    findings.extend(_claimed_and_near(rules, without_exclusions, counts.hits, counts.rule_passages, near_ratio,
                                      counted=bool(counts.passages)))
    findings.extend(_undefined_codes(codebook, rules, counts))
    order = {kind: position for position, kind in enumerate(FINDING_KINDS)}
    if not counts.passages:  # the codebook alone (`--no-corpus`): what no text was there to show is no finding
        findings = [finding for finding in findings if finding.kind not in _CORPUS_KINDS]
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
    without_exclusions: CompiledCodebook, passages: list[Passage],
) -> list[LintFinding]:
    """Keywords and regexes that never match (and why, when the reason is known), or whose every
    hit an exclusion vetoes."""
    findings: list[LintFinding] = []
    always_excluded = _contained_exclusions(codebook, rules, without_exclusions)
    texts: list[str] | None = None
    for rule_id, code, kind, rule in rules:
        count, raw = counts.hits[rule_id], counts.raw_hits[rule_id]
        shape = _unmatchable_shape(rule) if kind == "keyword" else None
        if raw and shape != _EDGE_HYPHEN:  # it matches; but a dropped hyphen matches what it was meant to keep out
            shape = None
        inside = None
        if kind == "keyword" and not raw and shape is None and counts.passages and contains_cjk(rule):
            if texts is None:
                texts = [_compact(passage.text) for passage in passages]
            inside = _inside_longer_term(rule, code, rules, texts, without_exclusions, rule_id)
        if shape is not None:
            findings.append(LintFinding("unmatchable shape", code.id, rule, shape))
        elif inside is not None:
            findings.append(LintFinding("inside a longer term", code.id, rule, inside))
        elif rule_id in always_excluded:
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


def _idle_exclusions(
    codebook: Codebook, rules: list[tuple[str, Code, str, str]], compiled: CompiledCodebook
) -> list[LintFinding]:
    """Exclude phrases that veto nothing: no keyword or rule word of their code matches inside them, around
    them or across one of their edges, so what they were written against is still coded; a regex of the
    code that matches there is named, since exclusions do not apply to regexes (probe AG5: "correspondence
    should be addressed" held back nothing from `\\bshould\\b`). The check is conservative: a phrase is
    idle only when no text built from it and a term (_overlap_texts) shows a veto, no wildcard word of one
    begins a word of the other and no Chinese term meets it at an edge (probes AI3-AI5)."""
    terms = _vetoable_terms(codebook)
    phrases = [(code, phrase) for code in codebook for phrase in code.exclude]
    oracle = compile_codebook(Codebook(codes=tuple(
        Code(id=f"t{index}", label=term, path=(f"t{index}",), keywords=(term,), morphology=code.morphology)
        for index, (code, term) in enumerate(terms)
    ) + tuple(
        Code(id=f"p{index}", label=phrase, path=(f"p{index}",), keywords=(phrase,), morphology=code.morphology)
        for index, (code, phrase) in enumerate(phrases)
    ), unit=codebook.unit))
    findings = []
    for index, (code, phrase) in enumerate(phrases):
        own = {rule_id: (kind, rule) for rule_id, owner, kind, rule in rules if owner.id == code.id}
        inside = {match.code for match in compiled.find(_as_passage(phrase)) if match.code in own}
        own_terms = {f"t{number}": term for number, (owner, term) in enumerate(terms) if owner.id == code.id}
        if any(_may_meet(term, phrase) for term in own_terms.values()) or _vetoes(
                oracle, f"p{index}", set(own_terms), _overlap_texts(phrase, list(own_terms.values()))):
            continue
        regexes_there = [own[rule_id][1] for rule_id in sorted(inside) if own[rule_id][0] == "regex"]
        detail = "no keyword or rule of the code matches inside it, so it holds nothing back"
        if regexes_there:
            detail += (f"; the regex '{regexes_there[0]}' matches there, and exclusions do not apply to regexes: "
                       f"write the exception into the regex, e.g. a lookbehind (?<!...)")
        else:
            detail += ". Drop it, or add to the code the keyword it was meant to hold back"
        findings.append(LintFinding("idle exclusion", code.id, phrase, detail + "."))
    return findings


def _vetoable_terms(codebook: Codebook) -> list[tuple[Code, str]]:
    """Every keyword and rule word (of its lists and its `not` list) of every code: what an exclusion vetoes."""
    return [(code, term) for code in codebook for term in dict.fromkeys((
        *code.keywords, *(word for rule in code.rules for words in (*rule.lists, rule.unless) for word in words)))]


# Where a term may be cut to run across an edge of a phrase: after a run of spaces or hyphens, and
# between two characters of which one is Chinese.
_TERM_CUT = re.compile(f"(?<=[{CJK_CHARS}])(?=.)|(?<=.)(?=[{CJK_CHARS}])|[\\s\\-\u2010\u2011]+", re.DOTALL)
_WORD_OR_PREFIX = re.compile(r"[^\W\d_]+\*?|\d+\*?")


def _overlap_texts(phrase: str, terms: list[str]) -> list[str]:
    """Short texts where a term may meet the phrase: each alone, the phrase with a wildcard word spelled
    as a term's word it begins, and a term's first part before the phrase or its last part after it."""
    phrase_texts = [_literal(phrase)]
    for term in terms:
        for wildcard in re.findall(r"([^\W\d_]+)\*", fold_text(phrase)):
            phrase_texts.extend(_literal(fold_text(phrase).replace(f"{wildcard}*", word, 1))
                                for word in _WORD_OR_PREFIX.findall(fold_text(term)) if word.startswith(wildcard))
    texts = list(phrase_texts)
    for term in map(_literal, terms):
        texts.append(term)
        for cut in _TERM_CUT.finditer(term):
            texts.extend(f"{term[:cut.end()]}{text}" for text in phrase_texts)
            texts.extend(f"{text}{term[cut.start():]}" for text in phrase_texts)
    return list(dict.fromkeys(texts))


def _literal(keyword: str) -> str:
    """A keyword as text it matches: its wildcards and derivation mark dropped."""
    return keyword.lstrip("~").replace("*", "").strip()


def _vetoes(oracle: CompiledCodebook, phrase_id: str, term_ids: set[str], texts: list[str]) -> bool:
    """In one of `texts`, does a hit of the phrase overlap a hit of one of the terms?"""
    text = " | ".join(texts)  # no keyword runs across a bar
    matches = oracle.find(_as_passage(text))
    vetoing = [(match.start, match.end) for match in matches if match.code == phrase_id]
    return any(match.code in term_ids and match.start < end and match.end > start
               for match in matches for start, end in vetoing)


def _may_meet(term: str, phrase: str) -> bool:
    """Can the term meet the phrase in text that _overlap_texts() does not build? When a wildcard word of
    one begins a word of the other, when one is a Chinese wildcard and the other holds Chinese, or when a
    Chinese term's end is the phrase's start (or the reverse): where the words fall is the segmenter's call."""
    term, phrase = fold_text(term.lstrip("~")), fold_text(phrase.lstrip("~"))
    for wildcards, words in ((term, phrase), (phrase, term)):
        prefixes = [word[:-1] for word in _WORD_OR_PREFIX.findall(wildcards) if word.endswith("*")]
        for word in _WORD_OR_PREFIX.findall(words):
            if any(word.startswith(prefix) or word.endswith("*") and prefix.startswith(word[:-1]) for prefix in prefixes):
                return True
    if not (contains_cjk(term) and contains_cjk(phrase)):
        return False
    if "*" in term or "*" in phrase:
        return True
    term, phrase = _literal(term), _literal(phrase)
    shared = [first[-size:] for first, second in ((term, phrase), (phrase, term))
              for size in range(1, min(len(term), len(phrase))) if first[-size:] == second[:size]]
    return any(map(contains_cjk, shared))


def _normalized(keyword: str) -> str:
    return GAP_RUN.sub(" ", keyword.casefold()).strip()


def _claimed_and_near(
    rules: list[tuple[str, Code, str, str]],
    compiled: CompiledCodebook,
    hits: dict[str, int],
    rule_passages: dict[str, set[tuple[str, int]]],
    near_ratio: float,
    counted: bool = True,
) -> list[LintFinding]:
    """Pairs of keywords that are the same (in two codes) or nearly the same; `counted`: there was a
    corpus to count their hits in (without one, no counts are shown)."""
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
    normalized = [_normalized(rule) for _, _, rule in keywords]
    findings = []
    for position, later in _candidate_pairs(keywords, normalized, covers, near_ratio):
        first, first_code, first_rule = keywords[position]
        second, second_code, second_rule = keywords[later]
        same_words = normalized[position] == normalized[later]
        mutual = second in covers[first] and first in covers[second]
        one_way = second in covers[first] or first in covers[second]
        shared = len(rule_passages[first] & rule_passages[second])
        counts = (f" (hits: '{second_rule}' {hits[second]}, '{first_rule}' {hits[first]}; {shared} passages in common)"
                  if counted else "")
        if first_code.id != second_code.id and (same_words or mutual):
            findings.append(LintFinding(
                "claimed twice", second_code.id, second_rule,
                f"also a keyword of '{first_code.id}' ('{first_rule}'): "
                + ("every hit codes both" if not (first_code.exclude or second_code.exclude)
                   else "a hit codes both unless an exclude phrase of one vetoes it") + f"{counts}. "
                f"Keep it in one code, or rely on the hierarchy.",
                shared, hits[second],
            ))
            continue
        ratio = difflib.SequenceMatcher(None, normalized[position], normalized[later]).ratio()
        if same_words or one_way or ratio >= near_ratio:
            why = ("the same keyword" if same_words else
                   "the same up to inflection, one is enough" if mutual else
                   "one matches the other (a wildcard, or a hyphenated spelling)" if one_way else f"similarity {ratio:.2f}")
            where = "" if first_code.id == second_code.id else f" of '{first_code.id}'"
            findings.append(LintFinding(
                "near duplicate", second_code.id, second_rule,
                f"close to '{first_rule}'{where}: {why}{counts}.", shared, hits[second],
            ))
    return findings


def _candidate_pairs(keywords: list[tuple[str, Code, str]], normalized: list[str], covers: dict[str, set[str]],
                     near_ratio: float) -> list[tuple[int, int]]:
    """The pairs (i < j, in order) of keywords that may be a finding: one matching the other (`covers`), or
    similar enough that difflib's ratio may reach `near_ratio` (the same once normalized among them). Every
    pair was compared with difflib (4,000 keywords took 163 s, probe N3); a ratio is twice the matched
    characters over both lengths, and no more characters match than the two strings share, so a pair whose
    shared characters (counted in 64 buckets, which only counts more) fall short is left out, a row of
    pairs at a time in numpy."""
    import numpy as np

    count = len(keywords)
    position_of = {rule_id: position for position, (rule_id, _, _) in enumerate(keywords)}
    pairs: set[tuple[int, int]] = set()
    for rule_id, covered in covers.items():
        for other in covered:
            if other in position_of and position_of[other] != position_of[rule_id]:
                a, b = sorted((position_of[rule_id], position_of[other]))
                pairs.add((a, b))
    if count > 1:
        buckets = np.zeros((count, 64), dtype=np.int32)
        for position, text in enumerate(normalized):
            for char in text:
                buckets[position, ord(char) % 64] += 1
        lengths = np.array([len(text) for text in normalized], dtype=np.int64)
        for position in range(count - 1):
            shared = np.minimum(buckets[position], buckets[position + 1:]).sum(axis=1)
            total = lengths[position] + lengths[position + 1:]
            possible = np.flatnonzero(2 * shared >= near_ratio * total - 1e-9)
            pairs.update((position, position + 1 + int(later)) for later in possible)
    return sorted(pairs)


_LATIN_WORD = re.compile(r"[^\W\d_]")
_ALLOWED_PUNCTUATION = set("'.*~\u2019\u2018\u02bc")


def _has_latin(text: str) -> bool:
    return any(_LATIN_WORD.match(char) and not is_cjk(char) for char in text)


def _language(text: str) -> str | None:
    """'Chinese' for text with CJK characters, 'English' for other text with letters, else None."""
    return "Chinese" if contains_cjk(text) else "English" if _has_latin(text) else None


def _code_terms(code: Code) -> list[str]:
    terms = [*code.keywords, *code.regex]
    for rule in code.rules:
        for words in rule.lists:
            terms.extend(words)
    return terms


def _one_language_codes(codebook: Codebook, passages: list[Passage]) -> list[LintFinding]:
    """Codes whose terms are all in one language when the corpus (or, without one, the codebook)
    has both English and Chinese: they miss every passage of the other language."""
    code_languages = {code.id: {_language(term) for term in _code_terms(code)} - {None} for code in codebook}
    if passages:
        counted = {"English": 0, "Chinese": 0}
        for passage in passages:
            language = _language(passage.text)
            if language:
                counted[language] += 1
        if not all(counted.values()):
            return []
        where = {language: f"the corpus has {language} passages ({number})" for language, number in counted.items()}
    else:
        coded = {language: sum(language in found for found in code_languages.values()) for language in ("English", "Chinese")}
        if not all(coded.values()):
            return []
        where = {language: f"no corpus was given, and {number} other code(s) of the codebook have {language} terms"
                 for language, number in coded.items()}
    findings = []
    for code in codebook:
        found = code_languages[code.id]
        if len(found) != 1:
            continue
        (has,) = found
        missing = "Chinese" if has == "English" else "English"
        findings.append(LintFinding(
            "one language", code.id, "", f"code '{code.id}' has {has} terms only; {where[missing]}: add {missing} terms.",
        ))
    return findings


def _compact(text: str) -> str:
    """Text as CJK matching reads it: folded (simplified, lower case), whitespace removed."""
    return re.sub(r"\s+", "", fold_text(text))


def _longer_terms(keyword: str, rules: list[tuple[str, Code, str, str]], matcher: CompiledCodebook | None = None,
                  rule_id: str = "") -> list[tuple[str, str, Code]]:
    """(folded term, term as written, code) for every longer CJK keyword of the codebook containing `keyword`
    where the keyword is no word of it (with `matcher`, lint's one code per rule, and the keyword's
    `rule_id`): 联席会议 is a word of 市长联席会议 and matches there, 协同治理 none of 跨域协同治理."""
    folded = _compact(fold_keyword(keyword)).rstrip("*")
    longer = {}
    for _, code, kind, rule in rules:
        if kind != "keyword" or not contains_cjk(rule):
            continue
        term = _compact(fold_keyword(rule)).rstrip("*")
        if len(term) > len(folded) and folded in term and not (matcher and _matches_in(matcher, rule_id, term)):
            longer.setdefault((term, code.id), (term, rule, code))
    return list(longer.values())


def _matches_in(matcher: CompiledCodebook, rule_id: str, text: str) -> bool:
    """Does the rule `rule_id` of lint's matcher match in `text` (a longer term, read alone)?"""
    return any(match.code == rule_id for match in matcher.find(Passage("", 0, 0, len(text), text, text)))


def _inside_longer_term(
    keyword: str, code: Code, rules: list[tuple[str, Code, str, str]], texts: list[str],
    matcher: CompiledCodebook | None = None, rule_id: str = "",
) -> str | None:
    """Why a Chinese keyword found in the corpus never matches: each occurrence lies inside a longer
    codebook term, which the segmenter (knowing every codebook term) keeps as one word."""
    folded = _compact(fold_keyword(keyword)).rstrip("*")
    longer = _longer_terms(keyword, rules, matcher, rule_id)
    if not folded or not longer:
        return None
    occurrences = 0
    covering: dict[tuple[str, str], int] = defaultdict(int)
    for text in texts:
        start = text.find(folded)
        while start != -1:
            occurrences += 1
            cover = None
            for term, written, owner in longer:
                offset = term.find(folded)
                while offset != -1 and cover is None:
                    if text.startswith(term, start - offset) and start - offset >= 0:
                        cover = (written, owner.id)
                    offset = term.find(folded, offset + 1)
                if cover:
                    break
            if cover is None:
                return None
            covering[cover] += 1
            start = text.find(folded, start + 1)
    if not occurrences:
        return None
    (written, owner), _ = max(covering.items(), key=lambda item: item[1])
    whose = "this code" if owner == code.id else f"code {owner}"
    every = f"every occurrence ({occurrences})" if occurrences > 1 else "its one occurrence"
    fix = (f"drop '{keyword}', or add a rule if it should also count inside '{written}'" if owner == code.id else
           f"add '{written}' to this code, or drop '{keyword}' if those passages are not '{code.id}'")
    return (f"'{keyword}' never matches on its own: {every} is inside '{written}' ({whose}), "
            f"which the segmenter keeps as one word; {fix}.")


def _possible_shadows(rules: list[tuple[str, Code, str, str]], matcher: CompiledCodebook | None = None) -> list[LintFinding]:
    """Without a corpus: Chinese keywords inside a longer codebook term, which will not match where it occurs."""
    findings = []
    for rule_id, code, kind, rule in rules:
        if kind != "keyword" or not contains_cjk(rule):
            continue
        for _, written, owner in _longer_terms(rule, rules, matcher, rule_id):
            whose = "this code" if owner.id == code.id else f"code {owner.id}"
            findings.append(LintFinding(
                "possible shadow", code.id, rule,
                f"inside '{written}' ({whose}): where a text has '{written}' the segmenter keeps it as one word, "
                f"so '{rule}' does not match there. Give a corpus to check how often.",
            ))
    return findings


_EDGE_HYPHEN = ("a leading or trailing hyphen is read as a break between words, so it is dropped, not required. "
                "For words that begin with it write 'word-*'; otherwise drop the hyphen.")


def _unmatchable_shape(keyword: str) -> str | None:
    """Why a keyword's shape can never match its own spelling, with the fix; None for a shape that can."""
    text = keyword.strip().lstrip("~")
    parts = [part for part in re.split(r"\s+", text) if part]
    if not any(char.isalnum() for char in text):
        return ("has no letters, digits or Chinese characters, and the matcher matches words only. "
                "Use a regex for punctuation or symbols.")
    if not contains_cjk(text):
        for part in parts:
            if part.startswith(("-", "\u2010", "\u2011")) or (part.endswith(("-", "\u2010", "\u2011"))
                                                                and not part.endswith("-*")):
                return _EDGE_HYPHEN
            inner = {char for char in part.strip("-*") if not char.isalnum() and char not in _ALLOWED_PUNCTUATION
                     and char not in "-\u2010\u2011\u00ad" and not unicodedata.category(char).startswith("M")}
            if inner and not symbol_parts(keyword):  # `C++`, `AT&T` match as written (matching rule 4)
                marks = " ".join(sorted(inner))
                return (f"the matcher reads {marks} as a break between words, so the keyword needs a space or hyphen "
                        f"there in the text and never matches its own spelling. Use a regex (e.g. "
                        f"'{re.escape(part)}') or spell it as words.")
    return None
