"""Recode after a codebook edit that changed how some codes match: only those codes, only where they can match.

When the documents are the ones the last run coded and only some codes' keywords, exclusions or
rules changed (or codes were added or removed), a fresh run would give the last run's segments
of every other code unchanged. `recode_changed_codes` takes those rows from the run folder's
segments.parquet and matches only the changed codes (with the codes tied to them, as the recode
cache does), and only in the passages of passages.parquet that can hold one of their terms:

1. Candidates: every literal a changed code's matcher looks for (each spelling of a keyword or
   rule word, the first word of a wildcard phrase, a `word-*` prefix, a Chinese term), with every
   gap character (spaces, line breaks, hyphens, dashes) and Markdown emphasis delimiter (`*`, `_`)
   removed, searched in one pass over the passages' texts folded as matching folds them and with the
   same characters removed. A passage's text is its view with whitespace collapsed and words broken at
   a line end rejoined, which only removes gap characters, and in a .md document with the emphasis
   delimiters the view blanks, so a match in the view is a match here: the candidates are a superset.
2. The real matcher then runs on the candidates' views (the document text of the passage's span,
   checked against the stored text; else the document is split again).

A code whose only edit is keywords or exclusions added or removed (tied to no other code, its last
definition read from run.json and checked against its noted fingerprint) is matched again only in
the passages that hold one of those terms' literals; its other rows are the last run's
(`_keyword_edits` says why that is what a fresh run gives).

Which codes changed is told by their fingerprints (`cache.code_fingerprints`, which hold the
environment and everything that decides a code's matches) against those the recode cache noted
for the tables the last run wrote (`remember_coding`); the tables must carry the stamps it noted, or
failing that (a copied or synced folder), the same size and SHA-256.
The documents must be the last run's by their files' stamps (`stamps.corpus_unchanged`); text
files are then not read, but for the candidates' documents. Anything unexpected (no note, other
stamps, another unit or encoding, a changed document, a code with a regex, most codes changed)
returns None: the caller codes as usual. The per-document recode cache is left as it is: its
entries are keyed by code fingerprints, so a later recode through it is still exact.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cache import (
    RecodeCache,
    _tables,
    noted_file_in_place,
    noted_tables_unchanged,
    remember_coding,
)
from .errors import CoderError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .lexicon import compose_text, fold_text
from .matching import (
    _GAP_SINGLES,
    _compile_keywords,
    _phrase_needles,
    compile_codebook,
    segmenter_words_of,
)
from .models import (
    Code,
    Codebook,
    Document,
    Passage,
    UnchangedCodes,
    join_matched,
    numbered_copies,
    passage_fingerprint,
    segment_id_from_fingerprint,
)
from .passages import (
    _readable,
    _row_ends_as_tabs,
    blanks_markdown_emphasis,
    may_hold_table_rows,
    row_breaks_within,
    split_passages,
)
from .pipeline import CodingResult
from .runs import RunFolder, segment_index_of_table
from .segments import SEGMENT_COLUMNS, add_page_column, distinct_sorted, read_parquet
from .stamps import CorpusStamps, corpus_unchanged, known_corpus

__all__ = ["recode_changed_codes", "remember_coding"]

# Every character matching treats as a gap between words (spaces, line breaks, hyphens, dashes):
# removed from both the needles and the texts, so a phrase found with any gap is found here.
# With Markdown's emphasis delimiters, which a .md passage's text keeps where its view has spaces (`**joint**
# meeting`, probe BH1): squashed like dashes, a text holds what its view holds.
_DASHES = (*(char for char in _GAP_SINGLES if not char.isspace()), "*", "_")
_FINAL_SIGMA = ("\u03c2", "\u03c3")  # str.lower() picks final sigma by context: read both as one


def recode_changed_codes(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
    stamps: CorpusStamps | None = None,
) -> CodingResult | None:
    """The CodingResult a fresh run of `codebook` over `corpus` gives, built from the run in `run`
    by matching again only the codes whose matching changed; None when that cannot be vouched for.

    `stamps`: the corpus files' stamps this run took before reading anything (`take_corpus_stamps`).
    `CodingResult.reused` counts as the recode cache would: every document reused, the changed
    codes matched in each.

    >>> recode_changed_codes(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
    """
    started = time.perf_counter()
    last = last_run_record(run, codebook, encoding=encoding)
    if last is None:
        return None
    record, tables = last
    # Documents added, changed or removed (told by the stamps, ~0.01 s at 8,376 files; not asked here of a
    # corpus with extracted documents, which it would read twice): stop before passages.parquet is read
    # for nothing (its text held ~120 MB more through a 100 MB rerun).
    if (stamps is not None and not any("format" in entry for entry in record.documents)
            and not corpus_unchanged(run, corpus, encoding=encoding, now=stamps)):
        return None
    cache = RecodeCache(run.cache_path)
    try:
        noted = cache.noted_coding()
        if noted is None:
            return None
        try:
            if not noted_tables_unchanged(noted, tables):
                return None
        except OSError:
            return None
        before = noted.by_code
        # One thread beside this one: it reads passages.parquet while this one tells the changed codes
        # (reading Parquet leaves the GIL), searches the passages while this one checks the corpus,
        # then matches the candidates while this one reads the last run's rows. Leaving the block
        # waits for it: a table open in it must not stop the full run from replacing the file (Windows).
        beside = ThreadPoolExecutor(max_workers=1)
        with beside:
            reading = beside.submit(_read_passages, tables["passages.parquet"], own=noted_file_in_place(
                noted, "passages.parquet", tables["passages.parquet"]))
            fingerprints = cache.fingerprints(codebook)
            cache.close()
            return _recoded(run, corpus, codebook, tables, record, before, fingerprints, reading, beside,
                            encoding=encoding, extraction_cache=extraction_cache, stamps=stamps, started=started)
    finally:
        cache.close()


def last_run_record(run: RunFolder, codebook: Codebook, *, encoding: str | None) -> tuple[Any, dict[str, Path]] | None:
    """The record of the run in `run` and its two tables (single files), when this version wrote
    them with `codebook`'s unit and the same forced encoding; else None. What every recode from the
    last run's tables asks first."""
    from . import __version__

    tables = _tables(run)
    if tables is None or not run.has_record():
        return None
    try:
        record = run.record()
    except CoderError:
        return None
    if (record.tool_version != __version__ or record.unit != codebook.unit
            or record.encoding != (check_encoding(encoding) if encoding else None)):
        return None
    return record, tables


def passage_bounds(documents: np.ndarray, passages: np.ndarray, counts: list[Any]) -> np.ndarray | None:
    """Where each document's rows of a passages.parquet lie ([bounds[i], bounds[i + 1])), when the
    table is in corpus order and each document's passages are numbered from 0, as many as run.json
    counts (`counts`); else None. `documents`: each row's document, its position in corpus order
    (-1: not one of them); `passages`: each row's passage number."""
    per_document = np.bincount(documents[documents >= 0], minlength=len(counts))
    bounds = np.concatenate([[0], np.cumsum(per_document)]).astype(np.int64)
    if ((documents < 0).any() or (np.diff(documents) < 0).any()
            or not np.array_equal(passages, np.arange(len(documents)) - bounds[documents])
            or per_document.tolist() != list(counts)):
        return None
    return bounds


def _read_passages(path: Path, *, own: bool = False) -> tuple[pd.DataFrame, Any] | None:
    """passages.parquet's columns the recode reads, and their texts for `_candidates` (`_arrow_text`,
    made here: the search runs in this thread while the other one reads the frame); None when the
    file cannot be read. `own`: the file is the one the last run wrote, by its noted stamp (as
    present_again reads segments.parquet): its size is not checked first, a read of its texts
    (0.1-0.2 s of CPU at 50 MB) that guards against a table from elsewhere."""
    try:
        passages = read_parquet(path, columns=["document", "passage", "start", "end", "kind", "text"],
                                check_size=not own)
    except CoderError:
        return None
    return passages, _arrow_text(passages["text"])


def _search_passages(reading: Future, needles: list[str]) -> np.ndarray | None:
    """`_candidates` of `needles` among the passages `reading` read (done: it ran before in this
    thread); None when they cannot be told."""
    read = reading.result()
    return None if read is None else _candidates(read[1], needles)


def _recoded(run: RunFolder, corpus: str | Path, codebook: Codebook, tables: dict[str, Path], record: Any,
             before: dict[str, str], fingerprints: Any, reading: Future, beside: ThreadPoolExecutor, *,
             encoding: str | None, extraction_cache: ExtractionCache | None, stamps: CorpusStamps | None,
             started: float) -> CodingResult | None:
    """recode_changed_codes once the tables are the noted ones: `reading` reads passages.parquet in
    the thread `beside`."""
    import pyarrow as pa

    plan = plan_rematch(record, codebook, before, fingerprints)
    if plan is None:
        return None
    to_match, edits, needles = plan.to_match, plan.edits, plan.needles
    # The search (RE2 in Arrow: it leaves the GIL) runs while this thread checks the corpus.
    searching = beside.submit(_search_passages, reading, needles)
    corpus_read = known_corpus(run, corpus, encoding=encoding, extraction_cache=extraction_cache, stamps=stamps)
    if corpus_read is None:
        return None
    documents = list(corpus_read.documents)
    read = reading.result()
    if read is None:
        return None
    passages = read[0]
    # passages.parquet in corpus order, each document's passages numbered from 0, as run.json counts them.
    paths = [document.path for document in documents]
    bounds = passage_bounds(_positions(passages["document"], paths), passages["passage"].to_numpy(),
                            [entry.get("passages") for entry in record.documents])
    if bounds is None:
        return None
    first, per_document = bounds[:-1], np.diff(bounds)
    counts = dict(zip(paths, per_document.tolist()))
    # The candidates are matched in the other thread while this one reads the last run's rows and
    # places those it keeps: reading the candidates' files, reading Parquet and Arrow's compute
    # functions leave the GIL. The other thread gets the columns as Series of their own.
    columns = {name: passages[name] for name in ("document", "passage", "start", "end", "kind", "text")}
    matching = beside.submit(_search_and_match, documents, columns, codebook, to_match, searching)
    table = _segment_rows(tables["segments.parquet"])
    if table is None:
        return None  # not as `coder run` writes it
    code_ids = [code.id for code in codebook]
    # The tool's rows (not those coded by hand: they come back with the reviews) of the codes not
    # matched again, kept as they are; the new rows of the others.
    previous_codes = _positions_arrow(table["code"], code_ids)
    by_hand = _by_hand(table)
    keeps = plan.keeps.copy()
    previous_documents, previous_passages = _positions_arrow(table["document"], paths), table["passage"].to_numpy()
    candidates = row_passages = None
    if edits:
        # A code with keywords or exclusions added or removed keeps its rows outside the candidates (the
        # passages where one of those can match).
        candidates = searching.result()
        if candidates is None:
            return None
        known = previous_documents >= 0  # else a row of a document the corpus lacks: of no passage
        row_passages = np.where(known, first[np.where(known, previous_documents, 0)] + previous_passages, -1)
    kept_rows = plan.kept_rows(previous_codes, row_passages, candidates, len(passages))
    kept = np.flatnonzero(kept_rows & ~by_hand)
    kept_documents = previous_documents[kept]
    kept_codes = previous_codes[kept]
    kept_passages = previous_passages[kept]
    matched_in = matching.result()
    if matched_in is None:
        return None  # a NUL inside a text (the candidates cannot be told), or a passage not fitting its document
    found, passages_matched = matched_in
    document_position = np.concatenate([kept_documents, _positions(found["document"], paths)])
    code_position = np.concatenate([kept_codes, _positions(found["code"], code_ids)])
    passage = np.concatenate([kept_passages, found["passage"].to_numpy(dtype=np.int64)])
    if (document_position < 0).any():
        return None  # a segment of a document the corpus no longer has
    if ((passage < 0) | (passage >= per_document[document_position])).any():
        return None  # a segment of a passage the table lacks
    position = first[document_position] + passage
    # Corpus order, then passage, then codebook order: a fresh run's order. The last run's rows are
    # in it already (as it wrote them): the new rows are merged in, else everything is sorted.
    order = _merged_order(position * len(code_ids) + code_position, len(kept))
    rows = np.concatenate([kept, table.num_rows + np.arange(len(found))])[order]
    previous_index = segment_index_of_table(table)
    texts_known = table["span_text"].null_count == table.num_rows  # no row has a text of its own: each shows its passage's
    # Taken from the chunks as read (Arrow takes chunk by chunk): combining them first wrote a copy
    # of every column, ~60 MB of fresh memory at 50 MB of corpus, for nothing.
    table = table.drop_columns(["source", "span_text"])
    coded = pa.concat_tables([table, _as_table(found, table.schema)]).take(pa.array(rows, type=pa.int64())).to_pandas()
    del table
    code_position, position = code_position[order], position[order]
    coded = coded.assign(code_path=_strings([code.code_path for code in codebook], code_position),
                         label=_strings([code.label for code in codebook], code_position), review="", note="")
    # Each text once, shared by its passage's rows (as reuse.py holds them): no hashing of every text.
    texts = passages["text"].to_numpy(dtype=object)
    coded["text"] = pd.Series(texts[position], dtype=object)
    frame = add_page_column(coded[list(SEGMENT_COLUMNS)], documents)
    # The codes kept whole: a kept code with a row coded by hand has fewer rows now.
    keeps[previous_codes[by_hand]] = False
    unchanged = UnchangedCodes(
        previous_index=previous_index, code_ids=tuple(code_ids), unchanged=keeps[:-1], codes=code_position,
        previous_codes=previous_codes, previous_documents=previous_documents, previous_passages=previous_passages,
        passage_starts=bounds, passage_texts=texts if texts_known else None)
    matched = len(documents) * len(to_match)
    return CodingResult(
        corpus=corpus_read, codebook=codebook, segments=frame, passages=counts,
        seconds=time.perf_counter() - started,
        reused={"documents_reused": len(documents), "documents_new": 0,
                "codes_reused": len(documents) * len(codebook) - matched, "codes_matched": matched,
                "codes_edited": len(to_match), "passages_matched": passages_matched},
        fingerprints=coded["fingerprint"], passage_table=passages, unchanged=unchanged,
    )


@dataclass(frozen=True)
class RematchPlan:
    """Which codes a recode after a codebook edit matches again, and where.

    `to_match`: the codes whose matching changed and those tied to them, in codebook order. `edits`:
    of those, the codes whose only edit is keywords or exclusions added or removed (`_keyword_edits`),
    matched again only where one of those terms can match. `needles`: the literals a passage holds
    where a code of `to_match` can match (an edited code's: only its added or removed terms).
    `keeps` and `edited` have one entry per codebook code, then one for a code the codebook lacks: are
    the last run's rows of that code kept whole; are they kept outside the passages holding a needle?
    """

    to_match: list[Code]
    edits: dict[str, Code]
    needles: list[str]
    keeps: np.ndarray
    edited: np.ndarray

    def kept_rows(self, codes: np.ndarray, passages: np.ndarray | None, candidates: np.ndarray | None,
                  count: int) -> np.ndarray:
        """Which of the last run's rows are kept: those of a code not matched again, and an edited code's
        outside the `candidates` (there a fresh run finds what the last run found). `codes`: each row's
        code position (-1: a code the codebook lacks); with `edits`, `passages`: each row's position among
        the `count` passages searched (any other: none of them)."""
        kept = self.keeps[codes]
        if not self.edits:
            return kept
        searched = np.zeros(count + 1, dtype=bool)  # the last: a row of no passage searched
        searched[candidates] = True
        outside = np.where((passages >= 0) & (passages < count), passages, count)
        return kept | (self.edited[codes] & ~searched[outside])


def plan_rematch(record: Any, codebook: Codebook, before: dict[str, str], fingerprints: Any) -> RematchPlan | None:
    """What to match again of `codebook`, coded last as the run `record` says with the code fingerprints
    `before` (the recode cache's note), its fingerprints being `fingerprints` now; None when most codes
    changed or one to match has a regex (every passage is a candidate: the full run it is), or a needle
    would be empty."""
    changed = [code for code in codebook if before.get(code.id) != fingerprints.by_code[code.id]]
    to_match = fingerprints.codes_to_match(codebook, changed) if changed else []
    if 2 * len(to_match) > len(codebook) or any(code.regex for code in to_match):
        return None
    edits = _keyword_edits(record, changed, fingerprints, before, codebook)
    needles = _needles(Codebook(codes=tuple(edits.get(code.id, code) for code in to_match), unit=codebook.unit))
    if needles is None:
        return None
    rematched = {code.id for code in to_match}
    return RematchPlan(
        to_match=to_match, edits=edits, needles=needles,
        keeps=np.array([code.id not in rematched for code in codebook] + [False]),
        edited=np.array([code.id in edits for code in codebook] + [False]),
    )


def _keyword_edits(record: Any, changed: list[Code], fingerprints: Any, before: dict[str, str],
                   codebook: Codebook) -> dict[str, Code]:
    """Per changed code whose only edit since the last run is keywords or exclusions added or removed,
    and which is tied to no other code then or now: a code whose keywords are those terms (and with no
    exclusions or rules), whose needles find every passage where one of them can match.

    Matching such a code in a passage where none of those terms can match finds what the last run
    found there: every step after the automata (exclusions, rules, overlaps) works passage by passage
    on the hits, and a term not in the passage adds none (an exclusion phrase is compiled as a keyword
    is, only flagged). The last run's definition of the code is its copy in run.json, taken only when
    it gives the fingerprint the recode cache noted.
    """
    from .cache import untied_fingerprint
    from .codebook import codebook_from_records

    tied = frozenset().union(*fingerprints.ties)
    wanted = {code.id for code in changed if code.id not in tied}
    if not wanted:
        return {}
    stored = {entry.get("id"): entry for entry in record.codebook_codes if entry.get("id") in wanted}
    edits: dict[str, Code] = {}
    for code in changed:
        if code.id not in stored:
            continue
        try:
            previous = codebook_from_records([stored[code.id]], unit=codebook.unit)[code.id]
        except (CoderError, KeyError, TypeError, ValueError):
            continue
        if (untied_fingerprint(previous, codebook.code_kinds) != before.get(code.id)
                or (previous.regex, previous.morphology, previous.rules) != (code.regex, code.morphology, code.rules)):
            continue
        terms = [*_added_or_removed(previous.keywords, code.keywords), *_added_or_removed(previous.exclude, code.exclude)]
        edits[code.id] = Code(id=code.id, label=code.label, path=code.path, keywords=tuple(dict.fromkeys(terms)),
                              morphology=code.morphology)
    return edits


def _added_or_removed(before: tuple[str, ...], after: tuple[str, ...]) -> list[str]:
    return [term for term in after if term not in before] + [term for term in before if term not in after]


def _positions(column: pd.Series, values: list[str]) -> np.ndarray:
    """Each cell's position in `values` (-1: not one of them), hashed in Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(column.array, from_pandas=True)
        found = pc.index_in(array, value_set=pa.array(values, type=array.type))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    except (pa.ArrowException, UnicodeError, TypeError):  # text Arrow refuses (lone surrogates)
        return pd.Categorical(column, categories=values).codes.astype(np.int64)


_KEPT_COLUMNS = ["segment_id", "document", "passage", "start", "end", "kind", "code", "hits", "matched", "fingerprint"]


def _segment_rows(path: Path) -> Any:
    """segments.parquet's _KEPT_COLUMNS, `source` and `span_text`, as an Arrow table; None when the
    file is not as `coder run` writes it (other types, empty cells but in `span_text`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .segments import SEGMENT_PARQUET_SCHEMA

    try:
        table = pq.read_table(path, columns=[*_KEPT_COLUMNS, "source", "span_text"])
        if not all(table.schema.field(name).type == SEGMENT_PARQUET_SCHEMA.field(name).type for name in table.schema.names):
            return None
        if any(table[name].null_count for name in table.schema.names if name != "span_text"):
            return None
        return table
    except (pa.ArrowException, OSError, ValueError):
        return None


def _by_hand(table: Any) -> np.ndarray:
    """Which rows of `_segment_rows` were coded by hand."""
    import pyarrow.compute as pc

    return pc.equal(table["source"], "manual").to_numpy(zero_copy_only=False)


def _positions_arrow(column: Any, values: list[str]) -> np.ndarray:
    """Each cell's position in `values` (-1: not one of them), of an Arrow string column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        found = pc.index_in(column, value_set=pa.array(values, type=column.type))
    except (pa.ArrowException, UnicodeError, TypeError):  # values Arrow refuses (lone surrogates)
        return _positions(column.to_pandas(), values)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _merged_order(keys: np.ndarray, sorted_count: int) -> np.ndarray:
    """The order that sorts `keys` (stable), whose first `sorted_count` are mostly in order already:
    then the others are merged in (searchsorted), not everything sorted again."""
    head = keys[:sorted_count]
    if not (np.diff(head) > 0).all():
        return np.argsort(keys, kind="stable")
    tail_order = np.argsort(keys[sorted_count:], kind="stable")
    tail = keys[sorted_count:][tail_order]
    # Each new key after the old ones equal to it (a stable sort's place); keys are unique in practice.
    places = np.searchsorted(head, tail, side="right")
    return np.insert(np.arange(sorted_count), places, sorted_count + tail_order)


def _as_table(frame: pd.DataFrame, schema: Any) -> Any:
    """The rows of `_match_candidates` as an Arrow table of `schema`."""
    import pyarrow as pa

    return pa.Table.from_arrays([pa.array(frame[field.name].tolist(), type=field.type) for field in schema], schema=schema)


def _strings(values: list[str], positions: np.ndarray) -> pd.Series:
    """A str column (pandas' Arrow-backed text) of the `values` at `positions`, taken in Arrow."""
    import pyarrow as pa

    array = pa.chunked_array([pa.array(values, type=pa.large_string()).take(pa.array(positions, type=pa.int64()))])
    return pd.Series(pd.arrays.ArrowStringArray(array, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def _needles(codebook: Codebook) -> list[str] | None:
    """Every literal the matcher of `codebook` must find for a keyword or rule hit, squashed as
    `_squashed` squashes the texts; None when one would be empty (everything is a candidate)."""
    keywords = _compile_keywords(codebook)
    needles: set[str] = set()
    for pattern in keywords.latin:
        if pattern.exclusion:
            continue  # an exclusion only takes hits away
        spelled = _phrase_needles(pattern)
        if spelled is not None:
            needles.update(needle for needle, _ in spelled)
        else:  # the word trie: the first word (a form, or a wildcard prefix) starts every match
            first = pattern.words[0]
            needles.update([first] if isinstance(first, str) else first)
    needles.update(term.term for term in keywords.cjk if not term.exclusion)
    needles.update(term.needle for term in keywords.mixed if not term.exclusion)
    needles.update(prefix.prefix for prefix in keywords.hyphen if not prefix.exclusion)
    needles.update(term.needle for term in keywords.symbol if not term.exclusion)  # `c++`: its part with the symbol
    squashed = {_squash(needle.replace(*_FINAL_SIGMA)) for needle in needles}
    if "" in squashed:
        return None
    return _innermost(sorted(squashed))


def _innermost(needles: list[str]) -> list[str]:
    """The `needles` that hold no other of them: a text holds one of `needles` exactly when it holds
    one of these (a keyword's inflected forms mostly extend its first form: the benchmark's edited
    code has 83 needles, 19 of them innermost)."""
    import ahocorasick_rs

    encoded = [needle.encode("utf-8", "surrogatepass") for needle in needles]
    automaton = ahocorasick_rs.BytesAhoCorasick(encoded)
    return [needle for position, (needle, spelled) in enumerate(zip(needles, encoded))
            if all(found == position for found, _, _ in automaton.find_matches_as_indexes(spelled, overlapping=True))]


def _squash(text: str) -> str:
    """`text` without spaces, line breaks, hyphens or dashes."""
    text = "".join(text.split())
    for dash in _DASHES:
        if dash in text:
            text = text.replace(dash, "")
    return text


def _squashed(text: str) -> str:
    """A passage text folded and composed as matching reads it (lexicon.fold_text), gaps removed."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_GAPS).decode("ascii")
    composed, _ = compose_text(text)
    return _squash(fold_text(composed).replace(*_FINAL_SIGMA))


def _candidates(texts: Sequence[str] | Any, needles: list[str]) -> np.ndarray | None:
    """Positions in `texts` (strings, or an Arrow string array) of those that hold a needle, squashed
    (one automaton pass over them all); None when a text holds the separator that keeps them apart."""
    if not len(texts) or not needles:
        return np.zeros(0, dtype=np.int64)
    if len(needles) <= _REGEX_MAX_NEEDLES and all(char.isascii() or _is_han(char) for needle in needles for char in needle):
        found = _search_gapped(texts, needles)
        if found is not None:
            return found
    if all(needle.isascii() for needle in needles):
        utf8 = _utf8_joined(texts)
        if utf8 is not None:
            return _search(_squashed_ascii(utf8, needles), needles, len(texts))
    strings = texts.to_pylist() if hasattr(texts, "to_pylist") else texts
    joined = "\x00".join(_squashed(text) for text in strings).encode("utf-8", "surrogatepass")
    return _search(joined, needles, len(texts))


def _arrow_text(column: pd.Series) -> Any:
    """A text column as an Arrow array (pandas' own when Arrow holds it), else as a list of strings."""
    import pyarrow as pa

    try:
        return pa.array(column.array, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError, TypeError):
        return column.tolist()


def _utf8_joined(texts: Sequence[str] | Any) -> bytes | None:
    """The texts as UTF-8, NUL-joined, in a few Arrow calls (no Python string per text); None when
    they cannot be UTF-8 (lone surrogates). A NUL inside a text is left for `_search` to find."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, type=pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if array.null_count:
            return None
        array = array.cast(pa.large_string())
        # Each text with a NUL after it, as one data buffer.
        ended = pc.binary_join_element_wise(array, pa.scalar("", pa.large_string()), pa.scalar("\x00", pa.large_string()))
    except (pa.ArrowException, UnicodeError):
        return None
    offsets = np.frombuffer(ended.buffers()[1], dtype=np.int64)[ended.offset:ended.offset + len(ended) + 1]
    return memoryview(ended.buffers()[2])[offsets[0]:offsets[-1] - 1].tobytes()


def _squashed_ascii(joined: bytes, needles: list[str]) -> bytes:
    """NUL-joined UTF-8 texts squashed as `_squashed` squashes them, as far as the ASCII `needles`
    can tell: every character that folds to ASCII the needles use is folded, every gap character removed.

    An ASCII needle can only match where the folded text is ASCII, and a character folds to ASCII
    on its own (composition only builds characters beyond ASCII): other characters may stay as they
    are, and so may those that fold to characters no needle holds (a curly quote to a quote). The
    work is a few passes of C over the bytes, not a Python call per text.
    """
    # Lower-cased and gaps removed in one pass; both touch ASCII bytes only: UTF-8 sequences beyond ASCII stay whole.
    joined = joined.translate(_ASCII_LOWER, _ASCII_GAPS)
    used = set("".join(needles))
    for char in set(joined.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")):
        if char in _DASHES or char.isspace():
            replacement = b""
        else:
            folded = fold_text(unicodedata.normalize("NFC", char))  # lower case already
            if folded == char or not folded.isascii():
                continue
            replacement = folded.encode("ascii").translate(None, _ASCII_GAPS)
            if replacement and not used.intersection(replacement.decode("ascii")):
                continue  # no needle can match across it, folded or not
        joined = joined.replace(char.encode("utf-8", "surrogatepass"), replacement)
    return joined


_ASCII_BYTES = bytes(range(128))
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")  # bytes.lower()'s table
_ASCII_GAPS = bytes(char for char in range(128) if chr(char).isspace() or chr(char) in _DASHES)


def _search(joined: bytes, needles: list[str], count: int) -> np.ndarray | None:
    """Positions of the NUL-separated pieces of `joined` (`count` of them) that hold a needle."""
    ends = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 0)
    if len(ends) != count - 1:
        return None  # a NUL inside a text: the pieces cannot be told apart
    if len(needles) <= _REGEX_MAX_NEEDLES and all(needle.isascii() for needle in needles):
        found = _search_regex(joined, ends, needles)
        if found is not None:
            return found
    import ahocorasick_rs

    automaton = ahocorasick_rs.BytesAhoCorasick([needle.encode("utf-8", "surrogatepass") for needle in needles])
    # Non-overlapping is enough: a match skipped for overlapping a reported one lies in the same text.
    starts = np.array([start for _, start, _ in automaton.find_matches_as_indexes(joined)], dtype=np.int64)
    return distinct_sorted(np.searchsorted(ends, starts))  # the NULs before a match: its piece


# Up to this many ASCII needles, one regular expression (RE2, in Arrow) finds the pieces holding one
# faster than the automaton: 0.07-0.11 s against 0.09-0.46 s over the 50 MB benchmark's 79,034
# passages (49 MB) for 19 to 320 needles; 1.4 s against 0.36 s for 4,494.
_REGEX_MAX_NEEDLES = 320


def _search_gapped(texts: Sequence[str] | Any, needles: list[str]) -> np.ndarray | None:
    """`_candidates` of `needles` written in ASCII and Han ideographs, in one RE2 pass over the texts
    as Arrow holds them: no squashed copy. Each needle's characters may have any run of gap
    characters between them, as squashing removes them, and case is ignored; a character that folds
    to one the needles use (full-width letters, the Kelvin sign, a traditional Han character) is one
    more way to write that character. Folding character by character is folding the text: NFC
    composes no character into ASCII or Han. Ignoring case may find a few more texts than squashing
    does (it reads ſ as s), never fewer: the candidates stay a superset. None when Arrow cannot hold
    the texts, RE2 refuses the expression, or a character folds to two that the needles use (then
    the squashed texts it is)."""
    import pyarrow as pa

    try:
        # Chunks as they are: combining them would copy every text.
        array = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, type=pa.large_string())
        if array.null_count or not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            return None
    except (pa.ArrowException, UnicodeError, TypeError):
        return None
    gaps = {chr(byte) for byte in _ASCII_GAPS}
    spelled: dict[str, set[str]] = {}  # a character of the needles -> the characters that fold to it
    used = set("".join(needles))
    for char in _non_ascii_chars_of(array):  # each as `_squashed` reads it
        if char in _DASHES or char.isspace():
            gaps.add(char)
            continue
        folded = fold_text(unicodedata.normalize("NFC", char))
        if folded == char:
            continue
        replacement = "".join(letter for letter in folded if not (letter in _DASHES or letter.isspace()))
        if not replacement:
            gaps.add(char)
        elif used.intersection(replacement):
            if len(replacement) > 1:
                return None
            spelled.setdefault(replacement, set()).add(char)
    gap = f"[{''.join(map(_regex_char, sorted(gaps)))}]*"
    pattern = "|".join(gap.join(f"[{''.join(map(_regex_char, sorted({char, *spelled[char]})))}]" if char in spelled
                                else _regex_char(char) for char in needle) for needle in needles)
    try:
        held = _matching_texts(array, pattern)
    except pa.ArrowException:
        return None
    return np.flatnonzero(held)


# Past this many bytes of text, the search runs in two threads, half the texts each (RE2 in Arrow
# leaves the GIL): the 50 MB benchmark's 79,034 passages, 0.10 -> 0.07 s. A partition of the
# partitioned recode (1 MB) is searched in one.
_SEARCH_SPLIT_BYTES = 8_000_000


def _matching_texts(array: Any, pattern: str) -> np.ndarray:
    """Which texts of `array` hold a match of `pattern` (case ignored), as booleans."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        size = sum(chunk.buffers()[2].size for chunk in array.chunks if chunk.buffers()[2] is not None)
    else:
        size = array.buffers()[2].size if array.buffers()[2] is not None else 0
    if size < _SEARCH_SPLIT_BYTES or len(array) < 2:
        return pc.match_substring_regex(array, pattern, ignore_case=True).to_numpy(zero_copy_only=False)
    half = len(array) // 2
    with ThreadPoolExecutor(max_workers=1) as other:
        second = other.submit(pc.match_substring_regex, array.slice(half), pattern, ignore_case=True)
        first = pc.match_substring_regex(array.slice(0, half), pattern, ignore_case=True)
        return np.concatenate([first.to_numpy(zero_copy_only=False), second.result().to_numpy(zero_copy_only=False)])


def _is_han(char: str) -> bool:
    """A Han ideograph (with the extensions and compatibility ideographs): no NFC composition makes
    one, so a text folded character by character finds it where the whole text folded does."""
    point = ord(char)
    return 0x3400 <= point <= 0x4DBF or 0x4E00 <= point <= 0x9FFF or 0xF900 <= point <= 0xFAFF or 0x20000 <= point <= 0x2FA1F


def _regex_char(char: str) -> str:
    """`char` as RE2 reads it literally: a letter or digit as it is, anything else as its code."""
    return char if char.isascii() and char.isalnum() else f"\\x{{{ord(char):x}}}"


def _non_ascii_chars_of(array: Any) -> set[str]:
    """The distinct characters above U+007F of an Arrow string array (or chunked array), from the
    bytes of its data buffers, only the part its texts span (a slice of a table's row group shares the
    whole group's buffer). In numpy: the bytes above 0x7F (whole UTF-8 sequences), then each code point
    counted once."""
    import pyarrow as pa

    high = []  # each chunk's bytes above 0x7F: whole UTF-8 sequences, as a text's bytes end where a character does
    for chunk in array.chunks if hasattr(array, "chunks") else [array]:
        data = chunk.buffers()[2]
        if data is None or not len(chunk):
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        octets = np.frombuffer(data, dtype=np.uint8)[int(offsets[0]):int(offsets[-1])]
        high.append(octets[octets >= 0x80].tobytes())
    points = np.frombuffer(b"".join(high).decode("utf-8", "replace").encode("utf-32-le"), dtype=np.uint32)
    return set(map(chr, np.flatnonzero(np.bincount(points, minlength=1)).tolist())) if len(points) else set()


def _search_regex(joined: bytes, ends: np.ndarray, needles: list[str]) -> np.ndarray | None:
    """`_search` with RE2: the pieces as an Arrow binary array over `joined` (each with the NUL after
    it, which no needle holds), one alternation of the needles; None when RE2 refuses it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Every character but a letter or digit written as its code (\x2d for "-"): nothing RE2 reads as syntax.
    pattern = "|".join("".join(char if char.isalnum() else f"\\x{ord(char):02x}" for char in needle) for needle in needles)
    offsets = np.concatenate([[0], ends + 1, [len(joined)]]).astype(np.int64)
    try:
        pieces = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(offsets) - 1,
                                                  [None, pa.py_buffer(offsets), pa.py_buffer(joined)])
        held = pc.match_substring_regex(pieces, pattern)
    except pa.ArrowException:
        return None
    return np.flatnonzero(held.to_numpy(zero_copy_only=False))


def _search_and_match(
    documents: Sequence[Document],
    passages: Mapping[str, pd.Series],
    codebook: Codebook,
    to_match: list[Code],
    searching: Future,
) -> tuple[pd.DataFrame, int] | None:
    """`_match_candidates` of the passages `searching` found (`_search_passages`, done: it ran before in this
    thread); None when the candidates cannot be told (a NUL inside a text) or a stored passage does
    not fit its document."""
    candidates = searching.result() if to_match else None
    if to_match and candidates is None:
        return None
    return _match_candidates(documents, passages, codebook, to_match, candidates)


def _match_candidates(
    documents: Sequence[Document],
    passages: Mapping[str, pd.Series],
    codebook: Codebook,
    to_match: list[Code],
    candidates: np.ndarray | None,
) -> tuple[pd.DataFrame, int] | None:
    """The segment rows of the codes `to_match` (segments.parquet's columns, without `source`), from
    their matcher run on the `candidates` passages only (`_candidates` of the passages' texts; None
    when there is nothing to match), and how many passages that was; None when a stored passage does
    not fit its document."""
    columns = ["segment_id", "document", "passage", "start", "end", "kind", "code", "hits", "matched", "fingerprint"]
    integers = {"passage": "int64", "start": "int64", "end": "int64", "hits": "int64"}
    if not to_match:
        return pd.DataFrame({column: pd.Series(dtype=integers.get(column, object)) for column in columns}), 0
    coded_kind = passages["kind"].take(candidates).isin(list(codebook.code_kinds)).to_numpy()
    chosen = candidates[coded_kind]
    stored = {column: _taken(passages[column], chosen) for column in ("document", "passage", "start", "end", "kind", "text")}
    fingerprints = _candidate_fingerprints(passages, candidates, coded_kind)
    by_document: dict[str, list[int]] = {}
    for position, path in enumerate(stored["document"]):
        by_document.setdefault(path, []).append(position)
    documents_by_path = {document.path: document for document in documents}
    matcher = compile_codebook(Codebook(codes=tuple(to_match), unit=codebook.unit, code_kinds=codebook.code_kinds),
                               known_words=segmenter_words_of(codebook))  # Chinese segmented as in a full run
    order = {code.id: position for position, code in enumerate(to_match)}
    views: list[Passage] = []
    for path, positions in by_document.items():
        document = documents_by_path.get(path)
        if document is None:
            return None
        found_views = _views(document, [tuple(stored[column][position] for column in ("passage", "start", "end", "kind", "text"))
                                        for position in positions], unit=codebook.unit)
        if found_views is None:
            return None
        views.extend(found_views)
    # The views counted a few documents' worth at a time (no match crosses a passage: each passage's
    # result is the one its document alone gives, as the pipeline codes a few documents at once):
    # 0.08 s against 0.10 s a document at a time, and 0.11 s all at once, for the 50 MB benchmark's
    # 2,436 candidates in 2,164 documents.
    counts = [counted for first in range(0, len(views), _COUNTED_TOGETHER)
              for counted in matcher.count_in_passages(views[first:first + _COUNTED_TOGETHER])]
    rows: list[tuple] = []
    for passage, counted in zip(views, counts):
        if not counted:
            continue
        path = passage.document
        fingerprint = fingerprints[path, passage.index]
        for code_id in sorted(counted, key=order.__getitem__):
            found = counted[code_id]
            rows.append((segment_id_from_fingerprint(fingerprint, code_id), path, passage.index, passage.start,
                         passage.end, passage.kind, code_id, found.hits, join_matched(found.matched), fingerprint))
    frame = pd.DataFrame.from_records(rows, columns=columns)
    return frame.astype(integers), len(chosen)


_COUNTED_TOGETHER = 32  # passages per call of count_in_passages


def _candidate_fingerprints(passages: Mapping[str, pd.Series], candidates: np.ndarray,
                            coded_kind: np.ndarray) -> dict[tuple[str, int], str]:
    """{(document, passage): passage_fingerprint()} of the candidates of a coded kind, repeats numbered
    as the pipeline numbers them among all the document's passages (`numbered_copies`). Every copy of
    a text is a candidate when one is (they hold the same literals), whatever its kind, so numbering
    among all candidates numbers as among all passages."""
    documents, numbers = _taken(passages["document"], candidates), _taken(passages["passage"], candidates)
    plain = [passage_fingerprint(document, text) for document, text in zip(documents, _taken(passages["text"], candidates))]
    numbered = numbered_copies(plain)
    return {(document, number): fingerprint
            for document, number, fingerprint, coded in zip(documents, numbers, numbered, coded_kind.tolist()) if coded}


def _taken(column: pd.Series, positions: np.ndarray) -> list:
    """The cells of `column` at the ascending `positions`, as Python values. Arrow text is taken chunk
    by chunk: a take from the chunked array as a whole (and iloc, which makes it) cost 0.07 s for
    1,448 of the 50 MB run's 79,034 passage texts, against 2 ms."""
    import pyarrow as pa

    if column.dtype != "str":
        return column.to_numpy()[positions].tolist()
    array = pa.array(column.array, from_pandas=True)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    bounds = np.cumsum([0, *(len(chunk) for chunk in chunks)])
    split = np.searchsorted(positions, bounds)
    values: list = []
    for chunk, low, high, first in zip(chunks, split[:-1], split[1:], bounds[:-1]):
        if high > low:
            values.extend(chunk.take(pa.array(positions[low:high] - first, type=pa.int64())).to_pylist())
    return values


def _views(document: Document, stored: list[tuple], *, unit: str) -> list[Passage] | None:
    """The stored passages ((passage, start, end, kind, text) of passages.parquet) of `document` as
    Passages with their views.

    A view is the document text of the span with line breaks as spaces, but those the split reads as
    a table row's cell ends (a line with a tab, or starting with a pipe, on either side: probe PP1),
    which are tabs (`row_breaks_within`, the split's rule on the lines beside each break). When the
    split blanked debris in the span (table pipes, page numbers), the stored text is neither the
    span's text with its whitespace collapsed nor its readable text, and the document is split
    again; so is a document split in parts. The text is read once (a StoredDocument reads its file
    at each `text`). None when the split does not give the stored passages.
    """
    text = document.text
    tables = may_hold_table_rows(text)
    # A .md document's emphasis is blanked in the views, not in the readable text (`The **joint** meeting`):
    # its views are the split's alone.
    emphasis = blanks_markdown_emphasis(text, document.path)
    passages = []
    for index, start, end, kind, readable in stored:
        raw = text[start:end]
        # The stored text is the span's with its whitespace collapsed (the split rejoined no word and
        # blanked nothing there), else the span's readable text: _readable, which looks at each line's
        # end for words to rejoin, only for the passages where the split rejoined or blanked something.
        if emphasis or not (0 <= start < end <= len(text)) or (" ".join(raw.split()) != readable and _readable(raw) != readable):
            break
        view = raw.replace("\n", " ")
        if tables and "\n" in raw:
            breaks = row_breaks_within(text, start, end)
            if breaks is None:
                break
            view = _row_ends_as_tabs(view, [offset - start for offset in breaks])
        passages.append(Passage(document=document.path, index=index, start=start, end=end, view=view,
                                text=readable, kind=kind))
    else:
        return passages
    kept = {field.name: getattr(document, field.name) for field in fields(Document) if field.name != "text"}
    split = split_passages(Document(**kept, text=text), unit=unit)  # type: ignore[arg-type]
    chosen = []
    for index, start, end, kind, readable in stored:
        if not 0 <= index < len(split):
            return None
        passage = split[index]
        if (passage.start, passage.end, passage.kind, passage.text) != (start, end, kind, readable):
            return None
        chosen.append(passage)
    return chosen
