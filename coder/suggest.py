"""Suggest: what the codebook misses for one code (key terms, collocates of its keywords, similar uncoded passages).

Three lists, each computed over the passages `coder run` coded, from plain counts:

- **term**: words and phrases over-represented in the code's passages against the rest of the
  corpus. English words count by their spaCy lookup lemma (spacy-lookups-data) and as 1-3-word
  phrases; Chinese counts jieba words (the codebook's own Chinese terms kept whole) and 2-3-word
  compounds. The words of the code's own keyword hits are left out of every count, so the list
  shows what else the code's passages say. Score: log-likelihood G2 (Dunning 1993; Rayson and
  Garside 2000) on occurrences in the code's passages against occurrences elsewhere; effect:
  log ratio, log2 of the ratio of relative frequencies (Hardie 2014), 0.5 added to a zero count.
- **collocate**: words within `window` words either side of a hit of the code's keywords more
  often than chance. Score: G2 of the 2x2 table (in a window / elsewhere, this word / other
  words); effect: mutual information, log2(observed / expected) (Church and Hanks 1990).
- **passage**: passages the code does not code that are most like the ones it codes: cosine of
  their TF-IDF vector (smoothed idf, L2-normalised, the same words as the term counts) with the
  centroid of the code's passages; effect: the highest cosine with any one coded passage.

Terms and collocates are counted within one script (English words against English words,
Chinese against Chinese), must reach G2 >= 3.84 (p < 0.05, one degree of freedom) and occur
at least `min_count` times in the code's passages (windows). A candidate the code's own rules
already match (a keyword, a longer phrase holding one, a regex) is never suggested; neither
is a phrase that only ever occurs inside a longer candidate with the same counts.
Nothing here reads or writes files except `suggest_for_run` and `write_suggestions_csv`.
"""

from __future__ import annotations

import difflib
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from .errors import CoderError, CorpusError, OutputError
from .files import command_argument, write_csv

# The matcher's Chinese dictionary (jieba's words and segmentation), shared with matching.
from .lexicon import CJK_CHARS, chinese_dictionary, contains_cjk, lookup_lemma
from .matching import CompiledCodebook, compile_codebook
from .models import Code, Codebook, Passage

SuggestionKind = Literal["term", "collocate", "passage"]
SUGGESTION_COLUMNS = (
    "kind", "candidate", "score", "effect", "count_in", "count_out", "document", "passage", "example",
)

_TOKEN = re.compile(f"(?P<cjk>[{CJK_CHARS}]+)|(?P<word>[^\\W\\d_{CJK_CHARS}]+(?:['\u2019][^\\W\\d_{CJK_CHARS}]+)*)")
# Between two words of one phrase only spaces and hyphens may stand; anything else ends the clause.
_PHRASE_GAP = re.compile("[\\s\\-\u00ad\u2010\u2011]*")
# The only stop words a phrase may hold inside it.
_LINKS = frozenset({"of", "的"})
# G2 of 3.84 is the chi-squared critical value for p < 0.05 with one degree of freedom.
_SIGNIFICANT = 3.84


@dataclass(frozen=True)
class Suggestion:
    """One row of the suggestions CSV; `document`/`passage` locate `example`.

    `count_in`/`count_out` are occurrences in the code's passages and elsewhere (term), or
    within a keyword's window and elsewhere (collocate); None for a passage.
    """

    kind: SuggestionKind
    candidate: str
    score: float
    effect: float
    count_in: int | None
    count_out: int | None
    document: str
    passage: int
    example: str


@dataclass(frozen=True)
class SuggestionReport:
    """Suggestions for one code, and the evidence they were computed from."""

    code: str
    suggestions: tuple[Suggestion, ...]
    passages: int
    coded_passages: int
    keyword_hits: int
    notes: tuple[str, ...] = field(default=())

    def of_kind(self, kind: SuggestionKind) -> list[Suggestion]:
        return [suggestion for suggestion in self.suggestions if suggestion.kind == kind]

    def to_frame(self) -> pd.DataFrame:
        """The suggestions in the column order of the CSV (counts as nullable integers)."""
        frame = pd.DataFrame(
            [[getattr(item, column) for column in SUGGESTION_COLUMNS] for item in self.suggestions],
            columns=list(SUGGESTION_COLUMNS),
        )
        return frame.astype({"count_in": "Int64", "count_out": "Int64", "passage": "int64"})

    def render(self, *, width: int = 48) -> str:
        """A short plain-text table per kind for the terminal."""
        lines = [
            f"{self.code}: {self.coded_passages} of {self.passages} passage(s) coded, "
            f"{self.keyword_hits} keyword hit(s)."
        ]
        lines.extend(f"Note: {note}" for note in self.notes)
        titles = {
            "term": ("Key terms (G2, log ratio, in/out)", "term"),
            "collocate": ("Collocates of its keywords (G2, MI, in window/out)", "collocate"),
            "passage": ("Uncoded passages like its passages (cosine, best single match)", "passage"),
        }
        for kind, (title, _) in titles.items():
            found = self.of_kind(kind)  # type: ignore[arg-type]
            lines.append(f"{title}:" if found else f"{title}: none")
            for item in found:
                candidate = _shorten(item.candidate, width)
                where = f"{item.document}:{item.passage}"
                if item.kind == "passage":
                    lines.append(f"  {item.score:>8.3f} {item.effect:>6.3f}  {where}  {candidate}")
                else:
                    lines.append(f"  {item.score:>8.2f} {item.effect:>6.2f} {item.count_in:>4}/{item.count_out:<4} "
                                 f"{candidate}  ({where})")
        return "\n".join(lines)


# --- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    key: str  # the lemma (English, lower case) or the word (Chinese)
    surface: str  # as written, lower case
    start: int  # offsets into the passage's readable text
    end: int
    clause: int  # tokens of one clause may form a phrase
    cjk: bool
    content: bool  # may begin or end a candidate (not a stop word, not one letter or one character)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """spaCy's English and Chinese stop word lists."""
    import importlib.util

    # `import spacy.lang.en.stop_words` imports all of spaCy first (2 s); the two list files
    # import nothing, so they are loaded on their own.
    root = Path(importlib.util.find_spec("spacy").origin).parent / "lang"  # type: ignore[union-attr, arg-type]
    words: set[str] = set()
    for language in ("en", "zh"):
        spec = importlib.util.spec_from_file_location(f"_coder_stop_words_{language}", root / language / "stop_words.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        words.update(module.STOP_WORDS)
    return frozenset(words)


def _tokenize(text: str, segmenter) -> list[_Token]:
    """Words of a passage's readable text with offsets; CJK runs are segmented by jieba."""
    stop = _stop_words()
    tokens: list[_Token] = []
    clause = 0
    previous_end = 0
    for run in _TOKEN.finditer(text):
        if not _PHRASE_GAP.fullmatch(text, previous_end, run.start()):
            clause += 1
        previous_end = run.end()
        if run.group("word"):
            surface = run.group().lower().replace("\u2019", "'")
            key = lookup_lemma(surface)
            content = len(surface) > 1 and surface not in stop and key not in stop
            tokens.append(_Token(key, surface, run.start(), run.end(), clause, False, content))
            continue
        for word, start, end in segmenter.tokenize(run.group(), HMM=False):
            content = len(word) > 1 and word not in stop
            tokens.append(_Token(word, word, run.start() + start, run.start() + end, clause, True, content))
    return tokens


def _phrase(tokens: Sequence[_Token], attribute: str) -> str:
    words = [getattr(token, attribute) for token in tokens]
    return "".join(words) if tokens[0].cjk else " ".join(words)


# --- the three lists ------------------------------------------------------------------------------


def suggest_for_code(
    passages: Sequence[Passage],
    codebook: Codebook,
    code: str,
    *,
    coded: Iterable[tuple[str, int]],
    rejected: Iterable[tuple[str, int]] = (),
    top: int = 20,
    min_count: int = 3,
    window: int = 5,
    max_words: int = 3,
) -> SuggestionReport:
    """Key terms, collocates of its keywords, and similar uncoded passages for one code.

    `coded` holds the (document, passage index) pairs the code (or one of its child codes) codes;
    `rejected` those a reviewer rejected for it, which are never suggested as similar. Each
    list keeps its `top` best; terms and collocates need at least `min_count` occurrences in
    the code's passages (or windows).

    >>> report = suggest_for_code(passages, codebook, "joint_meeting", coded={("a.txt", 0)})  # doctest: +SKIP
    >>> [item.candidate for item in report.of_kind("term")][:2]  # doctest: +SKIP
    ['mayor', 'coordinate']
    """
    if code not in codebook:
        raise CoderError(_unknown_code(code, codebook))
    family = [item for item in codebook if code in item.path]
    own_codebook = Codebook(codes=tuple(_as_top_level(item) for item in family), unit=codebook.unit)
    own = compile_codebook(own_codebook)
    segmenter = chinese_dictionary(_cjk_terms(own_codebook))
    coded_keys, rejected_keys = set(coded), set(rejected)

    # One pass: each passage's words are counted into the three lists' tallies, then let go (the words
    # of every passage at once took 3 GB for a 50 MB corpus).
    texts: list[Passage] = []
    in_code: list[bool] = []
    key_terms, collocates, similar = _KeyTerms(max_words), _Collocates(window), _Similar()
    hits = 0
    for index, passage in enumerate(passages):
        words = _tokenize(passage.text, segmenter)
        spans = [(match.start, match.end) for match in own.find(_readable_passage(passage))]
        hits += len(spans)
        mask = ([any(start < token.end and token.start < end for start, end in spans) for token in words]
                if spans else [False] * len(words))  # True for a token inside a hit of the code's own rules
        target = (passage.document, passage.index) in coded_keys
        texts.append(passage)
        in_code.append(target)
        key_terms.add(index, words, mask, target)
        collocates.add(index, words, mask)
        similar.add(index, words, mask)

    notes = []
    if not any(in_code):
        notes.append(f"no passage is coded with '{code}' (or its child codes): there is nothing to compare.")
    covered = _Covered(own)
    terms = key_terms.suggestions(texts, covered, top=top, min_count=min_count)
    near = collocates.suggestions(texts, covered, top=top, min_count=min_count)
    excluded = [key in rejected_keys for key in ((passage.document, passage.index) for passage in texts)]
    alike = similar.suggestions(texts, in_code, excluded, top=top)
    return SuggestionReport(
        code=code, suggestions=tuple(terms + near + alike), passages=len(texts),
        coded_passages=sum(in_code), keyword_hits=hits, notes=tuple(notes),
    )


def _as_top_level(code: Code) -> Code:
    return Code(id=code.id, label=code.label, path=(code.id,), keywords=code.keywords, regex=code.regex, exclude=code.exclude)


def _cjk_terms(codebook: Codebook) -> tuple[str, ...]:
    """The Chinese terms the matcher's segmenter keeps whole, collected as compile_codebook does
    (were the two to differ, jieba's dictionary would load twice: slower, not wrong)."""
    terms = {
        re.sub(r"\s+", "", keyword.lower())
        for code in codebook for keyword in (*code.keywords, *code.exclude)
        if contains_cjk(keyword) and not keyword.endswith("*")
    }
    return tuple(sorted(terms))


def _readable_passage(passage: Passage) -> Passage:
    """The passage with its readable text as the view, so match offsets point into `text`."""
    return Passage(passage.document, passage.index, 0, len(passage.text), passage.text, passage.text)


class _Covered:
    """Does the code's own codebook already match a candidate written out as text?"""

    def __init__(self, compiled: CompiledCodebook):
        self._compiled = compiled
        self._seen: dict[str, bool] = {}

    def __call__(self, candidate: str) -> bool:
        if candidate not in self._seen:
            probe = Passage("", 0, 0, len(candidate), candidate, candidate)
            self._seen[candidate] = bool(self._compiled.find(probe))
        return self._seen[candidate]


def _g2(observed: Sequence[float], expected: Sequence[float]) -> float:
    return 2.0 * sum(o * math.log(o / e) for o, e in zip(observed, expected) if o > 0)


class _KeyTerms:
    """Phrases more frequent in the code's passages than in the others (log-likelihood), tallied a passage at a time."""

    def __init__(self, max_words: int):
        self.max_words = max_words
        self.counts: list[Counter[tuple[str, ...]]] = [Counter(), Counter()]  # reference, target
        # Words are compared within their own script: a code coded mostly in Chinese texts must not
        # make every common Chinese word "key" against English reference passages.
        self.totals = {(side, cjk): 0 for side in (0, 1) for cjk in (False, True)}
        self.surfaces: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        self.first: list[dict[tuple[str, ...], int]] = [{}, {}]

    def add(self, index: int, words: list[_Token], mask: list[bool], target: bool) -> None:
        side = int(target)
        for token, hidden in zip(words, mask):
            if not hidden:
                self.totals[side, token.cjk] += 1
        for gram in _grams(words, mask, self.max_words):
            key = tuple(token.key for token in gram)
            self.counts[side][key] += 1
            self.surfaces[key][_phrase(gram, "surface")] += 1
            self.first[side].setdefault(key, index)

    def suggestions(self, texts, covered, *, top: int, min_count: int) -> list[Suggestion]:
        counts, totals, first = self.counts, self.totals, self.first
        rows = []
        for key, count_in in counts[1].items():
            count_out = counts[0].get(key, 0)
            if count_in < min_count:
                continue
            cjk = contains_cjk(key[0])
            total_in, total_out = totals[1, cjk], totals[0, cjk]
            expected_in = total_in * (count_in + count_out) / (total_in + total_out)
            if count_in <= expected_in:
                continue
            expected_out = total_out * (count_in + count_out) / (total_in + total_out)
            score = _g2((count_in, count_out), (expected_in, expected_out))
            if score < _SIGNIFICANT:
                continue
            effect = math.log2(((count_in or 0.5) / total_in) / ((count_out or 0.5) / max(total_out, 1)))
            rows.append((key, count_in, count_out, score, effect))
        fragments = _fragments({key: (count_in, count_out) for key, count_in, count_out, _, _ in rows})
        # Show where adding the term would code something new; else where the code already has it.
        return _strongest("term", rows, self.surfaces, texts, top=top,
                          skip=lambda key, candidate: key in fragments or covered(candidate),
                          example=lambda key: first[0].get(key, first[1][key]))


def _grams(words: list[_Token], mask: list[bool], max_words: int) -> Iterable[list[_Token]]:
    """Phrases of 1 to `max_words` content words inside one clause and one script, none of them
    masked; "of" and "的" may stand inside ("rule of law", "党的建设"), other stop words end them."""
    for start, token in enumerate(words):
        if mask[start] or not token.content:
            continue
        for end in range(start + 1, min(start + max_words, len(words)) + 1):
            last = words[end - 1]
            if mask[end - 1] or last.clause != token.clause or last.cjk != token.cjk:
                break
            if last.content:
                yield words[start:end]
            elif last.key not in _LINKS:
                break


def _fragments(candidates: dict[tuple[str, ...], tuple[int, int]]) -> set[tuple[str, ...]]:
    """Shorter phrases that only ever occur inside one longer candidate (same counts in and out)."""
    found = set()
    for key, counts in candidates.items():
        for size in range(1, len(key)):
            for start in range(len(key) - size + 1):
                part = key[start:start + size]
                if candidates.get(part) == counts:
                    found.add(part)
    return found


def _display(surfaces: Counter[str]) -> str:
    """The most frequent written form; ties go to the alphabetically first."""
    return min(surfaces.items(), key=lambda item: (-item[1], item[0]))[0]


class _Collocates:
    """Words near the code's own hits more often than chance (log-likelihood), tallied a passage at a time."""

    def __init__(self, window: int):
        self.window = window
        self.frequency: Counter[str] = Counter()
        self.surfaces: dict[str, Counter[str]] = defaultdict(Counter)
        self.near: Counter[str] = Counter()
        self.first: dict[str, int] = {}
        self.window_size = {False: 0, True: 0}  # per script, as for key terms
        self.total = {False: 0, True: 0}

    def add(self, index: int, words: list[_Token], mask: list[bool]) -> None:
        window = self.window
        for token in words:
            self.total[token.cjk] += 1
            self.frequency[token.key] += 1
            self.surfaces[token.key][token.surface] += 1
        if not any(mask):
            return
        inside = set()
        for position, hidden in enumerate(mask):
            if hidden:
                inside.update(range(max(0, position - window), min(len(words), position + window + 1)))
        inside = {position for position in inside if not mask[position]}
        for position in sorted(inside):
            token = words[position]
            self.window_size[token.cjk] += 1
            self.near[token.key] += 1
            if token.content:
                self.first.setdefault(token.key, index)

    def suggestions(self, texts, covered, *, top: int, min_count: int) -> list[Suggestion]:
        frequency, first, window_size, total = self.frequency, self.first, self.window_size, self.total
        rows = []
        for key, observed in self.near.items():
            if observed < min_count or key not in first:
                continue
            cjk = contains_cjk(key)
            row_total, column_total, size = window_size[cjk], frequency[key], total[cjk]
            table = (observed, row_total - observed, column_total - observed, size - row_total - column_total + observed)
            expected = (
                row_total * column_total / size, row_total * (size - column_total) / size,
                (size - row_total) * column_total / size, (size - row_total) * (size - column_total) / size,
            )
            if observed <= expected[0]:
                continue
            score = _g2(table, expected)
            if score >= _SIGNIFICANT:
                rows.append((key, observed, column_total - observed, score, math.log2(observed / expected[0])))
        return _strongest("collocate", rows, self.surfaces, texts, top=top,
                          skip=lambda key, candidate: covered(candidate), example=first.__getitem__)


def _strongest(kind, rows, surfaces, texts, *, top: int, skip, example) -> list[Suggestion]:
    """The `top` strongest rows (key, count in, count out, score, effect) as Suggestions of `kind`.

    Strongest by score, then count, then shown form; a row is passed over where `skip(key, shown
    form)` says so; `example(key)` is the index of the passage shown with it.
    """
    rows.sort(key=lambda row: (-row[3], -row[1], _display(surfaces[row[0]])))
    found = []
    for key, count_in, count_out, score, effect in rows:
        if len(found) == top:
            break
        candidate = _display(surfaces[key])
        if skip(key, candidate):
            continue
        passage = texts[example(key)]
        found.append(Suggestion(kind, candidate, round(score, 2), round(effect, 2), count_in, count_out,
                                passage.document, passage.index, passage.text))
    return found


class _Similar:
    """Uncoded passages whose words (tf-idf) are closest to the code's passages, from each passage's
    word counts, kept as compact arrays a passage at a time."""

    def __init__(self):
        self.vocabulary: dict[str, int] = {}
        self.surfaces: dict[str, Counter[str]] = defaultdict(Counter)
        self.rows, self.columns, self.values = array("i"), array("i"), array("i")

    def add(self, index: int, words: list[_Token], mask: list[bool]) -> None:
        vocabulary = self.vocabulary
        counts = Counter(token.key for token, hidden in zip(words, mask) if token.content and not hidden)
        for token, hidden in zip(words, mask):
            if token.content and not hidden:
                self.surfaces[token.key][token.surface] += 1
        for key, count in counts.items():
            self.rows.append(index)
            self.columns.append(vocabulary.setdefault(key, len(vocabulary)))
            self.values.append(count)

    def suggestions(self, texts, in_code, excluded, *, top: int, shown_words: int = 5) -> list[Suggestion]:
        vocabulary, surfaces = self.vocabulary, self.surfaces
        if not any(in_code):
            return []
        if not vocabulary:
            return []
        counts = sparse.csr_matrix((np.frombuffer(self.values, dtype=np.int32).astype(float),
                                    (np.frombuffer(self.rows, dtype=np.int32), np.frombuffer(self.columns, dtype=np.int32))),
                                   shape=(len(texts), len(vocabulary)), dtype=float)
        document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
        idf = np.log((1 + len(texts)) / (1 + document_frequency)) + 1  # smoothed, as scikit-learn's default
        weighted = counts.multiply(idf).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1
        normalized = sparse.diags(1 / norms) @ weighted
        target = np.flatnonzero(in_code)
        centroid = np.asarray(normalized[target].mean(axis=0)).ravel()
        length = np.linalg.norm(centroid)
        if not length:
            return []
        centroid /= length
        scores = normalized @ centroid
        candidates = [index for index in range(len(texts)) if not in_code[index] and not excluded[index] and scores[index] > 0]
        candidates.sort(key=lambda index: (-scores[index], texts[index].document, texts[index].index))
        candidates = candidates[:top]
        # Only the shown passages are compared with every coded one: all pairs would not fit in memory.
        best = (normalized[candidates] @ normalized[target].T).max(axis=1).toarray().ravel() if candidates else []
        names = {position: key for key, position in vocabulary.items()}
        found = []
        for rank, index in enumerate(candidates):
            row = normalized[index]
            shared = sorted(zip(row.indices, row.data * centroid[row.indices]), key=lambda item: (-item[1], names[item[0]]))
            words = [_display(surfaces[names[column]]) for column, weight in shared[:shown_words] if weight > 0]
            passage = texts[index]
            found.append(Suggestion("passage", "; ".join(words), round(float(scores[index]), 3), round(float(best[rank]), 3),
                                    None, None, passage.document, passage.index, passage.text))
        return found


def _unknown_code(code: str, codebook: Codebook) -> str:
    ids = [item.id for item in codebook]
    close = difflib.get_close_matches(code, ids, n=3, cutoff=0.6)
    hint = f"Did you mean {' or '.join(repr(item) for item in close)}?" if close else f"Codes: {', '.join(ids)}."
    return f"unknown code '{code}'. {hint}"


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the run folder ---------------------------------------------------------------------------------


def suggest_for_run(
    run: str | Path, code: str, *, top: int = 20, min_count: int = 3, window: int = 5
) -> SuggestionReport:
    """Suggestions for `code` from a `coder run` folder: its segments, corpus and codebook.

    The corpus is read again from where run.json says it was and split into passages as the
    run did; the codebook is the one run.json names (its stored copy when the file is gone).
    Rejected segments do not count as coded.

    >>> report = suggest_for_run("outputs", "joint_meeting", top=10)  # doctest: +SKIP
    """
    from .passages import split_passages
    from .runs import RunFolder
    from .segments import is_rejected

    # Its folder, run.json, segments.csv or segments.parquet (a file, or a Dask run's folder of parts).
    folder = RunFolder.at(run) if Path(run).exists() else RunFolder(run)
    if not folder.folder.is_dir():
        raise OutputError(f"{folder.folder}: no such run folder. Run `coder run --out {command_argument(folder.folder)}` first, or pass --run FOLDER.")
    folder.record()  # a folder without run.json is an error of its own
    codebook = folder.codebook()
    if codebook is None:
        raise OutputError(f"{folder.run_path}: names no codebook and keeps no copy of one. Run `coder run` again to rewrite it.")
    if code not in codebook:
        raise CoderError(_unknown_code(code, codebook))
    frame = folder.read_segments(columns=["document", "passage", "code", "review", "text", "source"])
    corpus_path = folder.corpus_path()
    documents = folder.read_corpus().documents  # extracted documents as the run coded them
    if not documents:
        raise CorpusError(f"{corpus_path}: the run's corpus holds no readable documents. Run `coder run` on a corpus with documents first.")
    # A file changed anywhere would give passages the run never saw as uncoded ones (not only where the code matched).
    folder.refuse_changed_corpus(documents, why="suggest splits the corpus again to find what the code misses")
    every_passage = [passage for document in documents for passage in split_passages(document, unit=codebook.unit)]
    family = {item.id for item in codebook if code in item.path}
    mine = frame[frame["code"].isin(family)]
    rejected_rows = mine["review"].map(is_rejected).astype(bool) if len(mine) else pd.Series(dtype=bool)
    coded = set(zip(mine.loc[~rejected_rows, "document"], mine.loc[~rejected_rows, "passage"].astype(int)))
    rejected = set(zip(mine.loc[rejected_rows, "document"], mine.loc[rejected_rows, "passage"].astype(int))) - coded
    known = {(passage.document, passage.index): passage.text for passage in every_passage}
    # (a span coded by hand holds its own text, a part of its passage's)
    sources = mine["source"] if "source" in mine.columns else pd.Series("", index=mine.index)
    stale = sorted({
        (document, int(index)) for document, index, text, source in zip(mine["document"], mine["passage"], mine["text"], sources)
        if (document, int(index)) not in known or (text and source != "manual" and known[(document, int(index))] != text)
    })
    if stale:
        document, index = stale[0]
        table = folder.segments_path if folder.segments_path.is_file() else folder.segments_parquet_path
        raise OutputError(
            f"{table}: passage {index} of {document} is not in the corpus at {corpus_path} as the run saw it "
            f"({len(stale)} such passage(s)). Did the corpus change since the run? Run `coder run` again."
        )
    # Only the kinds the run codes: a reference is no uncoded passage to suggest, nor evidence of a term.
    passages = [passage for passage in every_passage if passage.kind in codebook.code_kinds]
    return suggest_for_code(passages, codebook, code, coded=coded, rejected=rejected, top=top, min_count=min_count, window=window)


def write_suggestions_csv(report: SuggestionReport, path: str | Path, *, force: bool = False) -> Path:
    """Write the suggestions as CSV (UTF-8 with BOM), atomically; refuse an existing file unless `force`."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputError(f"{path}: already exists. Pass --force to overwrite it, or choose another --out.")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder. Pass a file name for --out, e.g. {path / 'suggestions.csv'}.")
    write_csv(report.to_frame(), path)
    return path
