"""Stage 6: coded segments -> co-occurrence counts and measures per pair of codes (sparse).

Two codes co-occur when they code the same passage, a passage being identified by
(document, passage). With N passages in the corpus, n1 and n2 the passages coded by each
code and n12 the passages coded by both:

- count        n12
- jaccard      n12 / (n1 + n2 - n12)          (ATLAS.ti's c-coefficient)
- association  n12 * N / (n1 * n2)            (van Eck & Waltman's association strength)
- npmi         log(p12 / (p1 * p2)) / -log(p12), p = n / N   (Bouma 2009; 1 when n12 = N)
- documents    documents holding at least one passage coded by both
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import OutputError
from .files import json_from, read_own_bytes, write_bytes
from .imports import LazyModule
from .models import Codebook, ancestor_at
from .segments import HASH_MULTIPLIERS, drop_rejected, join_matched, mix64, split_matched

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

CODE_COLUMNS = ("code", "code_path", "label", "passages", "documents")
PAIR_COLUMNS = (
    "source", "target", "count", "jaccard", "association", "npmi", "documents",
    "example_document", "example_passage",
)
MEASURES = ("jaccard", "association", "npmi", "count")
# Pair and passage are packed into one int64 sort key while it cannot overflow; else lexsort.
_PACKED_KEY_LIMIT = 2**62

def roll_up(segments: pd.DataFrame, codebook: Codebook | None = None, level: int | None = None) -> pd.DataFrame:
    """Replace each code by its ancestor at depth `level` (1 = top-level) and merge duplicates.

    The ancestor comes from the segment's `code_path` ("parent/child"), so codes missing from
    the codebook roll up too; `codebook` fills in a path only where `code_path` is blank. A
    passage coded by two children of one parent keeps a single row for the parent, with the
    matched words of both. `level=None` returns the segments unchanged.

    >>> frame = pd.DataFrame({"document": ["d", "d"], "passage": [0, 0], "code": ["b", "c"],
    ...                       "code_path": ["a/b", "a/c"], "label": ["B", "C"],
    ...                       "matched": ["x", "y"], "text": ["t", "t"]})
    >>> roll_up(frame, level=1)[["code", "code_path", "matched"]].values.tolist()
    [['a', 'a', 'x; y']]
    """
    if level is None:
        return segments
    if level < 1:
        raise OutputError(f"level {level}: levels count from 1 (the top-level codes). Pass --level 1 or more.")
    frame = _with_columns(segments)
    if frame.empty:
        return frame
    # Each distinct (code_path, code) rolled up once, then taken per row: a big run has hundreds of
    # thousands of rows and a few hundred codes (splitting every row's path took 0.6 s at 437,785 rows).
    path_index, path_values = pd.factorize(frame["code_path"].astype(str), use_na_sentinel=False)
    code_index, code_values = pd.factorize(frame["code"], use_na_sentinel=False)
    pair_index, pairs = pd.factorize(path_index.astype(np.int64) * max(len(code_values), 1) + code_index)
    known = {code.id: code.code_path for code in codebook} if codebook is not None else {}
    rolled_codes, rolled_paths = [], []
    for pair in pairs.tolist():
        path, code = path_values[pair // max(len(code_values), 1)], code_values[pair % max(len(code_values), 1)]
        parts = (path if path != "" else known.get(code, str(code))).split("/")
        rolled_codes.append(ancestor_at(parts, level))
        rolled_paths.append("/".join(parts[:level]))
    rolled = frame.assign(code=pd.Series(np.array(rolled_codes, dtype=object)[pair_index], index=frame.index),
                          code_path=pd.Series(np.array(rolled_paths, dtype=object)[pair_index], index=frame.index))
    changed = (rolled["code"] != frame["code"]).to_numpy()
    if changed.any():
        labels = {code.id: code.label for code in codebook} if codebook is not None else {}
        moved, codes = pd.factorize(rolled.loc[changed, "code"], use_na_sentinel=False)  # each code's label once
        rolled.loc[changed, "label"] = np.array([labels.get(code, code) for code in codes], dtype=object)[moved]
    keys = ["document", "passage", "code"]
    if not rolled.duplicated(keys).any():
        return rolled
    grouped = rolled.groupby(keys, sort=False, as_index=False)
    groups = grouped.ngroup()
    if groups.isna().any():  # a row without a key (no group): as pandas' aggregation leaves it out
        merged = grouped.agg({column: "first" for column in rolled.columns if column not in keys and column != "matched"}
                             | {"matched": _join_matched})
        return merged[list(rolled.columns)]
    merged = grouped.agg({column: "first" for column in rolled.columns if column not in keys and column != "matched"})
    merged["matched"] = _joined_per_group(rolled["matched"], groups.to_numpy(dtype=np.int64), len(merged))
    return merged[list(rolled.columns)]


def _joined_per_group(matched: pd.Series, groups: np.ndarray, count: int) -> list[str]:
    """_join_matched of each group's `matched` cells (rows in order), groups numbered 0..count-1: each
    distinct cell split once, and only groups of several rows joined word by word (an aggregation calling
    _join_matched made a Series per group: 7 s for 388,273 groups of a 50 MB run rolled up)."""
    cells, distinct = pd.factorize(matched, use_na_sentinel=False)
    words = [split_matched(value) for value in distinct]
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if count else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(order)]
    alone = [join_matched(each) for each in words]
    joined = [alone[cell] for cell in cells[order[starts]].tolist()]
    for position in np.flatnonzero(ends - starts > 1).tolist():
        rows = cells[order[starts[position]:ends[position]]].tolist()
        joined[position] = join_matched(word for cell in rows for word in words[cell])
    return joined


def _join_matched(values: Iterable[str]) -> str:
    return join_matched(word for value in values for word in split_matched(value))


def _with_columns(segments: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in ("document", "passage", "code") if column not in segments.columns]
    if missing:
        raise OutputError(
            f"segments: missing column(s) {', '.join(missing)}; pass the segments.csv written by `coder run`."
        )
    frame = segments
    for column in ("code_path", "label", "matched", "text"):
        if column not in frame.columns:
            frame = frame.assign(**{column: ""})
    frame = frame.assign(**{column: _as_text(frame[column]) for column in ("code_path", "label", "matched", "text")})
    try:
        passages = pd.to_numeric(frame["passage"]).astype(np.int64)
    except (ValueError, TypeError):
        raise OutputError("segments: column 'passage' must hold whole numbers (the passage index within its document).")
    return frame.assign(document=frame["document"].astype(str), passage=passages)


def _as_text(column: pd.Series) -> pd.Series:
    """The column as strings, blank for missing; a categorical of strings stays categorical (each
    passage text is held once: turning it into one string per row costs seconds on a big run)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        # A str-dtype index holds only strings; anything else is asked value by value.
        if isinstance(categories.dtype, pd.StringDtype) or all(isinstance(value, str) for value in categories):
            if not column.hasnans:
                return column
            return (column if "" in categories else column.cat.add_categories([""])).fillna("")
    if column.dtype == "str" and not column.hasnans:
        return column  # already text: astype(str) would copy every cell (4 columns, every level, every partition)
    # Strings only, none missing (a keyword recode's passage texts): one pass, not a second for hasnans.
    if column.dtype == object and len(column) and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        # Already strings (a reused run's columns): astype(str) would build an Arrow copy of every
        # cell, seconds on a big run, for the same values.
        return column.fillna("") if column.hasnans else column
    return column.fillna("").astype(str)


@dataclass(frozen=True)
class Cooccurrence:
    """Co-occurrence tables: `codes` one row per code, `pairs` one row per pair with count > 0.

    `segments` keeps the counted rows (rejected ones dropped, rolled up to `level`) so that
    the network can show example passages; `total_passages` is the N of the measures.
    """

    codes: pd.DataFrame
    pairs: pd.DataFrame
    segments: pd.DataFrame
    total_passages: int
    level: int | None = None
    counts: PairCounts | None = None  # at no roll-up level: what the next run may recount from (write_pair_counts)
    # `segments`' integer keys, which the map and the report take instead of factorizing its columns again
    # (None when the tables come from elsewhere, as a partitioned run's sums)
    passage_keys: _PassageKeys | None = None


@dataclass(frozen=True)
class PairCounts:
    """The counts of a co-occurrence at no roll-up level, kept after a run (write_pair_counts) so that
    the next one recounts only the pairs of codes whose passages changed (build_cooccurrence's
    `previous`): each code's passages and a hash of the set of them, and each pair's counts.

    A pair of two codes that code the same passages as before has the same count, documents and
    first shared passage; a code is taken as unchanged only when its passage count and both 64-bit
    sums of its passages' hashes (`_code_hashes`) are the stored ones."""

    codes: tuple[str, ...]  # ascending, as build_cooccurrence numbers them
    passages: np.ndarray  # int64, per code
    hashes: np.ndarray  # uint64, (codes, 2)
    pairs: pd.DataFrame  # PAIR_COUNT_COLUMNS, source < target, in (source, target) order


PAIR_COUNT_COLUMNS = ("source", "target", "count", "documents", "example_document", "example_passage")
_PAIR_COUNTS_FORMAT = 1
# Past this share of the counted rows changed, recounting everything is as quick and needs no merge.
_RECOUNT_SHARE = 0.5


def build_cooccurrence(
    segments: pd.DataFrame,
    *,
    level: int | None = None,
    total_passages: int | None = None,
    codebook: Codebook | None = None,
    previous: PairCounts | None = None,
    with_counts: bool = False,
) -> Cooccurrence:
    """Count passages per code and per pair of codes, and the association measures of each pair.

    Rows whose `review` says rejected are dropped first; `level` rolls codes up to their
    ancestor at that depth. `total_passages` is N, the corpus's passage count including the
    passages no code matched (run.json's counts.passages); without it N is the number of
    coded passages. Pairs are listed once, `source` < `target`.

    Without a level and `with_counts`, `Cooccurrence.counts` holds the counts for the next run; given
    them back as `previous`, only the pairs of codes whose passages changed are counted again (the
    others are taken from it), with the same result. A `previous` that does not fit is not used.

    >>> frame = pd.DataFrame({"document": ["d"] * 3, "passage": [0, 0, 1], "code": ["a", "b", "a"]})
    >>> build_cooccurrence(frame, total_passages=4).pairs[["source", "target", "count", "association"]].values.tolist()
    [['a', 'b', 1, 2.0]]
    """
    keys, code_passages = _counted(segments, level=level, codebook=codebook)
    coded_passages = len(keys.passage_documents)
    n_total = coded_passages if total_passages is None else int(total_passages)
    if n_total < coded_passages:
        raise OutputError(
            f"total_passages={n_total} is smaller than the {coded_passages} coded passages in the segments. "
            f"Pass the corpus's passage count (run.json counts.passages) or leave it out."
        )
    code_table = _code_table(keys, code_passages)
    if codebook is not None:  # codes no passage codes still belong in the tables and on the map
        code_table = _with_uncoded_codes(code_table, codebook, level)
    hashes = _code_hashes(keys) if level is None and (with_counts or previous is not None) else None
    pairs = _pair_table(keys, code_passages, n_total, previous=previous if level is None else None, hashes=hashes)
    counts = None
    if hashes is not None and with_counts:
        counts = PairCounts(codes=tuple(str(code) for code in keys.codes), passages=code_passages, hashes=hashes,
                            pairs=pairs[list(PAIR_COUNT_COLUMNS)])
    return Cooccurrence(codes=code_table, pairs=pairs, segments=keys.frame, total_passages=n_total, level=level,
                        counts=counts, passage_keys=keys)


def cooccurrence_counts(
    segments: pd.DataFrame, *, level: int | None = None, codebook: Codebook | None = None,
) -> tuple[pd.DataFrame, pa.Table, pd.DataFrame]:
    """The counts of build_cooccurrence without its measures, for sums over parts of a corpus: the coded
    codes' table, the pairs' counts (source, target, count, documents, example_document,
    example_passage) as an Arrow table, and the counted rows (`Cooccurrence.segments`).

    Without a level the codes' table has two more columns, PASSAGE_HASH_COLUMNS: `_code_hashes` as
    int64 (the same bits), which add up over parts modulo 2**64 (`add_code_hashes`) as PairCounts keeps them."""
    keys, code_passages = _counted(segments, level=level, codebook=codebook)
    table = _code_table(keys, code_passages)
    if level is None:
        hashes = _code_hashes(keys).view(np.int64)
        table = table.assign(**{column: hashes[:, number] for number, column in enumerate(PASSAGE_HASH_COLUMNS)})
    return table, _pair_counts(keys, code_passages), keys.frame


PASSAGE_HASH_COLUMNS = ("passage_hash_1", "passage_hash_2")


def add_code_hashes(tables: Iterable[pd.DataFrame]) -> dict[str, np.ndarray] | None:
    """{code: its two passage hashes, uint64} summed over cooccurrence_counts' code tables of parts of a
    corpus; None when a table lacks them."""
    sums: dict[str, np.ndarray] = {}
    with np.errstate(over="ignore"):
        for table in tables:
            if not set(PASSAGE_HASH_COLUMNS) <= set(table.columns):
                return None
            values = table[list(PASSAGE_HASH_COLUMNS)].to_numpy(dtype=np.int64).view(np.uint64)
            for code, pair in zip(table["code"].astype(str), values):
                sums[code] = sums[code] + pair if code in sums else pair.copy()
    return sums


def pair_counts_from_sums(cooccurrence: Cooccurrence, hashes: dict[str, np.ndarray] | None) -> PairCounts | None:
    """The PairCounts of a co-occurrence summed over parts (no roll-up level) and its codes' summed hashes."""
    if hashes is None or cooccurrence.level is not None:
        return None
    codes = cooccurrence.codes[cooccurrence.codes["passages"] > 0]
    names = sorted(str(code) for code in codes["code"])
    if set(names) != set(hashes):
        return None
    passages = dict(zip(codes["code"].astype(str), codes["passages"]))
    return PairCounts(codes=tuple(names), passages=np.array([passages[name] for name in names], dtype=np.int64),
                      hashes=np.array([hashes[name] for name in names], dtype=np.uint64).reshape(-1, 2),
                      pairs=cooccurrence.pairs[list(PAIR_COUNT_COLUMNS)])


def _counted(segments: pd.DataFrame, *, level: int | None, codebook: Codebook | None) -> tuple[_PassageKeys, np.ndarray]:
    """The counted rows' keys (rejected rows dropped, rolled up to `level`) and each code's passages."""
    keys = _passage_keys(roll_up(_with_columns(drop_rejected(segments)), codebook, level))
    return keys, np.bincount(keys.code_index, minlength=len(keys.codes)).astype(np.int64)


@dataclass(frozen=True)
class _PassageKeys:
    """The counted rows (one per passage and code) with integer ids for documents, passages, codes."""

    frame: pd.DataFrame
    document_index: np.ndarray
    passage_index: np.ndarray
    code_index: np.ndarray
    codes: pd.Index
    passage_documents: np.ndarray  # the document id of each passage id
    documents: np.ndarray  # the document of each document id (sorted), as Python strings


def _passage_keys(frame: pd.DataFrame) -> _PassageKeys:
    # Integer keys first: factorizing millions of strings once is the expensive part.
    document_index, documents = pd.factorize(frame["document"].astype(str), sort=True)
    passage_numbers = _passage_numbers(frame)
    low = int(passage_numbers.min()) if len(frame) else 0
    span = int(passage_numbers.max()) - low + 1 if len(frame) else 1
    # Passage ids follow document order, so a document's passages are consecutive ids.
    passage_index, passage_keys = _ranked(document_index.astype(np.int64) * span + (passage_numbers - low))
    code_index, codes = pd.factorize(frame["code"].astype(str), sort=True)
    pair_keys = passage_index * max(len(codes), 1) + code_index
    # Rows in (passage, code) order, as a run writes them, repeat none; else each after the first is dropped.
    duplicate = None if _ascending(pair_keys, strictly=True) else pd.Series(pair_keys).duplicated().to_numpy()
    if duplicate is not None and duplicate.any():
        keep = ~duplicate
        frame, document_index, passage_index, code_index = (
            frame[keep], document_index[keep], passage_index[keep], code_index[keep])
    passage_documents = np.zeros(len(passage_keys), dtype=np.int64)
    passage_documents[passage_index] = document_index
    return _PassageKeys(frame=frame.reset_index(drop=True), document_index=document_index,
                        passage_index=passage_index, code_index=code_index, codes=codes,
                        passage_documents=passage_documents, documents=np.asarray(documents, dtype=object))


# Below this many (document, code) cells, each code's documents are marked in a table of them (a byte a
# cell) rather than found by hashing every row's pair (437,785 rows of 8,363 documents and 300 codes:
# 0.020 -> 0.003 s).
_DOCUMENT_CODE_CELLS = 2**24


def _documents_per_code(pairs: np.ndarray, n_documents: int, n_codes: int) -> np.ndarray:
    """How many distinct documents each code has among `pairs` (document * n_codes + code)."""
    if not n_codes:
        return np.zeros(0, dtype=np.int64)
    if n_documents * n_codes <= _DOCUMENT_CODE_CELLS:
        seen = np.zeros(n_documents * n_codes, dtype=bool)
        seen[pairs] = True
        return seen.reshape(n_documents, n_codes).sum(axis=0, dtype=np.int64)
    return np.bincount(pd.unique(pairs) % n_codes, minlength=n_codes).astype(np.int64)


def _ranked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pd.factorize(values, sort=True) of int64 values: each value's rank among the distinct ones, and
    those. Values already ascending (a run's rows are in passage order) are ranked without hashing."""
    if not _ascending(values):
        index, distinct = pd.factorize(values, sort=True)
        return index.astype(np.int64), distinct
    new = np.empty(len(values), dtype=bool)
    new[:1] = True
    np.not_equal(values[1:], values[:-1], out=new[1:])
    return np.cumsum(new, dtype=np.int64) - 1, values[new]


def _ascending(values: np.ndarray, *, strictly: bool = False) -> bool:
    return bool((values[1:] > values[:-1]).all() if strictly else (values[1:] >= values[:-1]).all())


def _code_table(keys: _PassageKeys, code_passages: np.ndarray) -> pd.DataFrame:
    """One row per coded code: its path and label (from its first row), passages and documents."""
    codes, n_codes = keys.codes, len(keys.codes)
    code_documents = _documents_per_code(keys.document_index.astype(np.int64) * n_codes + keys.code_index,
                                         len(keys.documents), n_codes)
    first_row = np.full(n_codes, len(keys.code_index), dtype=np.int64)
    np.minimum.at(first_row, keys.code_index, np.arange(len(keys.code_index)))
    first = keys.frame.iloc[np.sort(first_row)]  # each code's first row, in row order
    by_code = first.set_index("code")
    table = pd.DataFrame({
        "code": [str(code) for code in codes],
        "code_path": by_code["code_path"].reindex(codes).tolist() if n_codes else [],
        "label": by_code["label"].reindex(codes).tolist() if n_codes else [],
        "passages": code_passages,
        "documents": code_documents,
    }, columns=list(CODE_COLUMNS))
    table["code_path"] = table["code_path"].where(table["code_path"] != "", table["code"])
    table["label"] = table["label"].where(table["label"] != "", table["code"])
    return table


def _with_uncoded_codes(table: pd.DataFrame, codebook: Codebook, level: int | None) -> pd.DataFrame:
    """`table` plus a zero row for each codebook code shown at `level` that codes no passage."""
    present = set(table["code"])
    shown = {ancestor_at(code.path, level) if level else code.id for code in codebook}
    parents = {ancestor for code in codebook if code.id in shown for ancestor in code.path[:-1]}
    wanted = shown - parents - present  # once: in the comprehension it cost 7.5 s for 10,000 codes
    missing = [code for code in codebook if code.id in wanted]
    if not missing:
        return table
    return pd.concat([table, pd.DataFrame({
        "code": [code.id for code in missing], "code_path": [code.code_path for code in missing],
        "label": [code.label for code in missing], "passages": 0, "documents": 0,
    }, columns=list(CODE_COLUMNS))], ignore_index=True)


def _pair_table(keys: _PassageKeys, code_passages: np.ndarray, n_total: int, *, previous: PairCounts | None = None,
                hashes: np.ndarray | None = None) -> pd.DataFrame:
    """One row per pair of codes sharing a passage, named by code id, with the first shared passage;
    with `previous` (and the codes' `hashes`), only the pairs of changed codes counted (`_patched_counts`)."""
    frame = keys.frame
    counts = _patched_counts(keys, code_passages, hashes, previous) if previous is not None and hashes is not None \
        else None
    if counts is None:
        counts = _pair_count_arrays(keys.passage_index, keys.code_index, keys.passage_documents, len(code_passages))
    pairs = pd.DataFrame(_with_measures(counts, code_passages, n_total))
    names = np.asarray(keys.codes, dtype=object)
    example_rows = _first_rows(keys, pairs.pop("example_index").to_numpy())
    pairs.insert(0, "target", names[pairs.pop("target_index").to_numpy()])
    pairs.insert(0, "source", names[pairs.pop("source_index").to_numpy()])
    # By document id: a pair's document is one of the few names, not a string taken from the Arrow column per pair.
    pairs["example_document"] = keys.documents[keys.document_index[example_rows]]
    pairs["example_passage"] = _passage_numbers(frame)[example_rows]
    return pairs[list(PAIR_COLUMNS)]


def _code_hashes(keys: _PassageKeys) -> np.ndarray:
    """Per code, two 64-bit sums (modulo 2**64) of a hash of each (document, passage) it codes: equal
    sums say, but for a chance of about 2**-128, that a code codes the same passages as before."""
    digests = b"".join(hashlib.blake2b(str(name).encode("utf-8", "surrogatepass"), digest_size=16,
                                       person=b"coder-passages").digest() for name in keys.documents)
    documents = np.frombuffer(digests, dtype="<u8").astype(np.uint64).reshape(-1, 2)
    numbers = np.zeros(len(keys.passage_documents), dtype=np.uint64)
    numbers[keys.passage_index] = _passage_numbers(keys.frame).astype(np.uint64)
    sums = np.zeros((len(keys.codes), 2), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column, odd in enumerate(HASH_MULTIPLIERS):
            passage_hashes = mix64(documents[keys.passage_documents, column] ^ (numbers * odd))
            np.add.at(sums[:, column], keys.code_index, passage_hashes[keys.passage_index])
    return sums


def _patched_counts(keys: _PassageKeys, code_passages: np.ndarray, hashes: np.ndarray,
                    previous: PairCounts) -> dict[str, np.ndarray] | None:
    """_pair_count_arrays' result, counting only the pairs of the codes whose passages changed since
    `previous` and taking the others from it; None when `previous` does not fit these keys (count it all)."""
    names = [str(code) for code in keys.codes]
    n_codes, n_passages = len(names), len(keys.passage_documents)
    if n_codes < 2 or not len(previous.codes):
        return None
    stored = {code: position for position, code in enumerate(previous.codes)}
    old = np.array([stored.get(name, -1) for name in names], dtype=np.int64)
    same = old >= 0
    same[same] = ((previous.passages[old[same]] == code_passages[same])
                  & (previous.hashes[old[same]] == hashes[same]).all(axis=1))
    changed_rows = ~same[keys.code_index]
    if changed_rows.sum() > _RECOUNT_SHARE * len(changed_rows):
        return None
    # The pairs of a changed code, counted in the passages a changed code codes (all of that code's pairs).
    touched = np.zeros(n_passages, dtype=bool)
    touched[keys.passage_index[changed_rows]] = True
    rows = touched[keys.passage_index]
    passages, within = np.unique(keys.passage_index[rows], return_inverse=True)
    fresh = _pair_count_arrays(within.reshape(-1), keys.code_index[rows], keys.passage_documents[passages], n_codes)
    fresh["example_index"] = passages[fresh["example_index"]]
    mine = ~(same[fresh["source_index"]] & same[fresh["target_index"]])
    fresh = {column: values[mine] for column, values in fresh.items()}
    # The pairs of two unchanged codes, as stored, their first passage found among these keys.
    pairs = previous.pairs
    position = {name: index for index, name in enumerate(names)}
    # tolist(): a list of Python strings at once (iterating the Arrow-backed column made a scalar per value)
    source = np.array([position.get(code, -1) for code in pairs["source"].tolist()], dtype=np.int64)
    target = np.array([position.get(code, -1) for code in pairs["target"].tolist()], dtype=np.int64)
    kept = (source >= 0) & (target >= 0)
    kept[kept] = same[source[kept]] & same[target[kept]]
    count = pairs["count"].to_numpy()[kept]
    documents = pairs["documents"].to_numpy()[kept]
    source, target = source[kept], target[kept]
    example = _passage_ids(keys, pairs["example_document"].to_numpy(dtype=object)[kept],
                           pairs["example_passage"].to_numpy()[kept])
    if (example is None or (source >= target).any() or (count < 1).any() or (documents < 1).any()
            or (documents > count).any() or (count > np.minimum(code_passages[source], code_passages[target])).any()):
        return None
    key = np.concatenate([source * n_codes + target, fresh["source_index"] * n_codes + fresh["target_index"]])
    order = np.argsort(key, kind="stable")
    if len(key) > 1 and (np.diff(key[order]) == 0).any():
        return None
    return {
        "source_index": np.concatenate([source, fresh["source_index"]])[order],
        "target_index": np.concatenate([target, fresh["target_index"]])[order],
        "count": np.concatenate([count.astype(np.int64), fresh["count"]])[order],
        "documents": np.concatenate([documents.astype(np.int64), fresh["documents"]])[order],
        "example_index": np.concatenate([example, fresh["example_index"]])[order],
    }


def _passage_ids(keys: _PassageKeys, documents: np.ndarray, numbers: np.ndarray) -> np.ndarray | None:
    """The passage id of each (document, passage number) among the counted rows' keys; None when one is missing."""
    if not len(documents):
        return np.zeros(0, dtype=np.int64)
    document_ids = np.searchsorted(keys.documents, documents)
    if (document_ids >= len(keys.documents)).any() or (keys.documents[document_ids] != documents).any():
        return None
    passage_numbers = np.zeros(len(keys.passage_documents), dtype=np.int64)
    passage_numbers[keys.passage_index] = _passage_numbers(keys.frame)
    low, high = int(passage_numbers.min()), int(passage_numbers.max())
    numbers = np.asarray(numbers, dtype=np.int64)
    if (numbers < low).any() or (numbers > high).any():
        return None
    span = high - low + 1
    # Passage ids follow (document, passage) order, so their keys ascend.
    ordered = keys.passage_documents * span + (passage_numbers - low)
    wanted = document_ids.astype(np.int64) * span + (numbers - low)
    ids = np.searchsorted(ordered, wanted)
    if (ids >= len(ordered)).any() or (ordered[ids] != wanted).any():
        return None
    return ids.astype(np.int64)


def write_pair_counts(counts: PairCounts, path: str | Path) -> None:
    """Keep `counts` as JSON at `path` (atomically), with a checksum of its content."""
    pairs = counts.pairs
    body = {
        "codes": list(counts.codes), "passages": [int(value) for value in counts.passages],
        "hashes": [f"{int(first):016x}{int(second):016x}" for first, second in counts.hashes.tolist()],
        # tolist(): Python str and int in one call each (a conversion per value cost most of the write)
        "pairs": {column: pairs[column].astype(str).tolist() if column in ("source", "target", "example_document")
                  else pairs[column].to_numpy(dtype=np.int64).tolist() for column in PAIR_COUNT_COLUMNS},
    }
    text = json.dumps(body, separators=(",", ":"))  # ASCII: names with any character, lone surrogates too
    checksum = hashlib.sha256(text.encode("ascii")).hexdigest()
    write_bytes(path, (json.dumps({"format": _PAIR_COUNTS_FORMAT, "checksum": checksum}) + "\n" + text + "\n").encode("ascii"))


def read_pair_counts(path: str | Path) -> PairCounts | None:
    """The PairCounts write_pair_counts kept at `path`; None when missing, damaged, of another format or
    not a consistent table (it is then not used: the pairs are counted from the segments)."""
    try:
        head, _, data = read_own_bytes(path).partition(b"\n")
        header = json_from(head)
        data = data.removesuffix(b"\n")
        if (not isinstance(header, dict) or header.get("format") != _PAIR_COUNTS_FORMAT
                or header.get("checksum") != hashlib.sha256(data).hexdigest()):
            return None
        body = json_from(data)
        codes, passages, hashes, pairs = body["codes"], body["passages"], body["hashes"], body["pairs"]
        if not (isinstance(codes, list) and all(isinstance(code, str) for code in codes) and codes == sorted(set(codes))
                and isinstance(passages, list) and len(passages) == len(codes)
                and all(isinstance(value, int) and value >= 0 for value in passages)
                and isinstance(hashes, list) and len(hashes) == len(codes)
                and all(isinstance(value, str) and len(value) == 32 for value in hashes)
                and isinstance(pairs, dict) and set(pairs) == set(PAIR_COUNT_COLUMNS)):
            return None
        columns = {column: pairs[column] for column in PAIR_COUNT_COLUMNS}
        size = len(columns["source"])
        if not all(isinstance(values, list) and len(values) == size for values in columns.values()):
            return None
        for column, values in columns.items():
            kind = str if column in ("source", "target", "example_document") else int
            if not all(type(value) is kind for value in values):
                return None
        known = set(codes)
        if not all(source in known and target in known and source < target
                   for source, target in zip(columns["source"], columns["target"])):
            return None
        table = pd.DataFrame({
            "source": np.array(columns["source"], dtype=object), "target": np.array(columns["target"], dtype=object),
            "count": np.array(columns["count"], dtype=np.int64), "documents": np.array(columns["documents"], dtype=np.int64),
            "example_document": np.array(columns["example_document"], dtype=object),
            "example_passage": np.array(columns["example_passage"], dtype=np.int64),
        })
        return PairCounts(codes=tuple(codes), passages=np.array(passages, dtype=np.int64),
                          hashes=np.array([[int(value[:16], 16), int(value[16:], 16)] for value in hashes],
                                          dtype=np.uint64).reshape(-1, 2),
                          pairs=table)
    except (OSError, ValueError, TypeError, KeyError, OverflowError, UnicodeError):
        return None


def _pair_counts(keys: _PassageKeys, code_passages: np.ndarray) -> pa.Table:
    """_pair_table's counts and example passages (no measures) as an Arrow table, names taken in Arrow:
    a partition's pairs never become Python strings."""
    pairs = _pair_arrays(keys.passage_index, keys.code_index, keys.passage_documents, code_passages,
                         max(len(keys.passage_documents), 1))
    example_rows = _first_rows(keys, pairs["example_index"])
    names = pa.array(np.asarray(keys.codes, dtype=object), type=pa.large_string())
    documents = pa.array(keys.documents, type=pa.large_string())
    return pa.table({
        "source": names.take(pa.array(pairs["source_index"])), "target": names.take(pa.array(pairs["target_index"])),
        "count": pa.array(pairs["count"], type=pa.int64()), "documents": pa.array(pairs["documents"], type=pa.int64()),
        "example_document": documents.take(pa.array(keys.document_index[example_rows], type=pa.int64())),
        "example_passage": pa.array(_passage_numbers(keys.frame)[example_rows], type=pa.int64()),
    })


def _first_rows(keys: _PassageKeys, passage_ids: np.ndarray) -> np.ndarray:
    """The first counted row of each passage id in `passage_ids` (a pair's example passage)."""
    passage_first_row = np.zeros(len(keys.passage_documents), dtype=np.int64)
    passage_first_row[keys.passage_index[::-1]] = np.arange(len(keys.frame))[::-1]
    return passage_first_row[passage_ids]


def _passage_numbers(frame: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(frame["passage"]).to_numpy(dtype=np.int64) if len(frame) else np.zeros(0, dtype=np.int64)


def _pairs(passage_index, code_index, passage_document, code_passages, n_total) -> pd.DataFrame:
    """Every pair of codes sharing a passage, generated per passage from a sparse incidence matrix."""
    return pd.DataFrame(_pair_arrays(passage_index, code_index, passage_document, code_passages, n_total))


def _pair_arrays(passage_index, code_index, passage_document, code_passages, n_total) -> dict[str, np.ndarray]:
    """_pairs' columns."""
    return _with_measures(_pair_count_arrays(passage_index, code_index, passage_document, len(code_passages)),
                          code_passages, n_total)


def _no_pairs() -> dict[str, np.ndarray]:
    return {"source_index": np.zeros(0, dtype=np.int64), "target_index": np.zeros(0, dtype=np.int64),
            "count": np.zeros(0, dtype=np.int64), "documents": np.zeros(0, dtype=np.int64),
            "example_index": np.zeros(0, dtype=np.int64)}


_PairRuns = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]  # pair counts, each pair's first and last document


# Pairs of codes in one passage are made this many at a time (about 16 bytes each in each of a few arrays):
# a passage of k codes has k*(k-1)/2, and a dictionary of thousands of codes gave 84 million in one piece.
_PAIRS_AT_ONCE = 2_000_000


def _pair_count_arrays(passage_index, code_index, passage_document, n_codes: int) -> dict[str, np.ndarray]:
    """Each pair of codes sharing a passage (code numbers, source < target, in that order), its
    passages, documents and first shared passage (`example_index`): _pair_arrays without the measures.

    The pairs are made for runs of passages of about _PAIRS_AT_ONCE pairs, whose counts are then added up
    (memory grows with the pairs of codes, not with every passage's pairs)."""
    n_passages = len(passage_document)
    if n_codes < 2:
        return _no_pairs()
    indptr, indices = _incidence(passage_index, code_index, n_passages, n_codes)
    per_row = np.diff(indptr)
    pairs_per_row = per_row * (per_row - 1) // 2
    ends = np.cumsum(pairs_per_row)
    if not len(ends) or ends[-1] <= _PAIRS_AT_ONCE:
        return _pair_counts_of_rows(indptr, indices, passage_document, n_codes, 0, n_passages)[0]
    bounds = [0]
    while bounds[-1] < n_passages:  # each run at least one passage, and about _PAIRS_AT_ONCE pairs
        done = ends[bounds[-1] - 1] if bounds[-1] else 0
        bounds.append(max(bounds[-1] + 1, int(np.searchsorted(ends, done + _PAIRS_AT_ONCE, side="right"))))
    bounds[-1] = n_passages
    added = None  # the runs so far, added up: what is held grows with the pairs, not with the runs
    for start, stop in zip(bounds[:-1], bounds[1:]):
        part = _pair_counts_of_rows(indptr, indices, passage_document, n_codes, start, stop)
        added = part if added is None else _added_pair_counts([added, part], n_codes)
    return added[0]


def _pair_counts_of_rows(indptr: np.ndarray, indices: np.ndarray, passage_document: np.ndarray, n_codes: int,
                         first: int, stop: int) -> _PairRuns:
    """The pair counts of the passages first..stop-1, and each pair's first and last document there."""
    n_passages = len(passage_document)
    begin, end = int(indptr[first]), int(indptr[stop])
    entries = indices[begin:end]
    row_of_entry = np.repeat(np.arange(first, stop, dtype=np.int64), np.diff(indptr[first:stop + 1]))
    # Each entry pairs with the entries after it in its row: k codes give k*(k-1)/2 pairs.
    after = indptr[row_of_entry + 1] - np.arange(begin, end) - 1
    total = int(after.sum())
    if not total:
        return _no_pairs(), np.zeros(0, dtype=passage_document.dtype), np.zeros(0, dtype=passage_document.dtype)
    left = np.repeat(np.arange(len(entries), dtype=np.int64), after)
    starts = np.cumsum(after) - after
    right = left + 1 + (np.arange(total, dtype=np.int64) - np.repeat(starts, after))
    pair_key = entries[left] * n_codes + entries[right]
    pair_passage = row_of_entry[left]
    del left, right
    # One sort orders pairs, and within a pair its passages, hence its documents (passage
    # numbers were assigned in document order): counts, documents and the first passage fall out.
    if n_codes * n_codes * max(n_passages, 1) < _PACKED_KEY_LIMIT:
        combined = np.sort(pair_key * n_passages + pair_passage)
        pair_key, pair_passage = np.divmod(combined, n_passages)
    else:
        order = np.lexsort((pair_passage, pair_key))
        pair_key, pair_passage = pair_key[order], pair_passage[order]
    new_pair = np.empty(total, dtype=bool)
    new_pair[:1] = True
    np.not_equal(pair_key[1:], pair_key[:-1], out=new_pair[1:])
    pair_document = passage_document[pair_passage]
    new_document = new_pair.copy()
    new_document[1:] |= pair_document[1:] != pair_document[:-1]
    group_starts = np.flatnonzero(new_pair)
    group_ends = np.append(group_starts[1:], total) - 1
    counts = np.diff(np.append(group_starts, total))
    documents = np.add.reduceat(new_document.astype(np.int64), group_starts)
    keys = pair_key[group_starts]
    return ({
        "source_index": keys // n_codes,
        "target_index": keys % n_codes,
        "count": counts.astype(np.int64),
        "documents": documents.astype(np.int64),
        "example_index": pair_passage[group_starts],
    }, pair_document[group_starts], pair_document[group_ends])


def _added_pair_counts(parts: list[_PairRuns], n_codes: int) -> _PairRuns:
    """The pair counts of consecutive runs of passages added up: counts summed, the first run's first
    passage, documents summed less one where a pair's last document in a run is its first in the next
    (a document cut between two runs); with each pair's first and last document."""
    keys = np.concatenate([part["source_index"] * n_codes + part["target_index"] for part, _, _ in parts])
    order = np.argsort(keys, kind="stable")  # stable: within a pair, the runs in passage order
    keys = keys[order]

    def joined(values) -> np.ndarray:
        return np.concatenate(values)[order]

    counts = joined([part["count"] for part, _, _ in parts])
    documents = joined([part["documents"] for part, _, _ in parts])
    examples = joined([part["example_index"] for part, _, _ in parts])
    first_documents, last_documents = joined([first for _, first, _ in parts]), joined([last for _, _, last in parts])
    new_pair = np.empty(len(keys), dtype=bool)
    new_pair[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new_pair[1:])
    cut = np.zeros(len(keys), dtype=np.int64)
    cut[1:] = (~new_pair[1:]) & (first_documents[1:] == last_documents[:-1])
    group_starts = np.flatnonzero(new_pair)
    group_ends = np.append(group_starts[1:], len(keys)) - 1
    pair_keys = keys[group_starts]
    return ({
        "source_index": pair_keys // n_codes,
        "target_index": pair_keys % n_codes,
        "count": np.add.reduceat(counts, group_starts) if len(keys) else counts,
        "documents": np.add.reduceat(documents - cut, group_starts) if len(keys) else documents,
        "example_index": examples[group_starts],
    }, first_documents[group_starts], last_documents[group_ends])


def _with_measures(counts: dict[str, np.ndarray], code_passages: np.ndarray, n_total: int) -> dict[str, np.ndarray]:
    """_pair_count_arrays' columns with each pair's measures, in _pairs' column order."""
    source, target = counts["source_index"], counts["target_index"]
    n12 = counts["count"].astype(float)
    n1, n2 = code_passages[source].astype(float), code_passages[target].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(n12 * n_total / (n1 * n2)) / -np.log(n12 / n_total)
    npmi = np.where(n12 == n_total, 1.0, npmi)
    return {
        "source_index": source,
        "target_index": target,
        "count": counts["count"],
        "jaccard": n12 / (n1 + n2 - n12),
        "association": n12 * n_total / (n1 * n2),
        "npmi": npmi,
        "documents": counts["documents"],
        "example_index": counts["example_index"],
    }


def _incidence(passage_index, code_index, n_passages: int, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """The passages x codes incidence as CSR's (indptr, indices): each passage's codes together and
    ascending. The (passage, code) keys are distinct (`_passage_keys` drops repeats), so sorting them
    is all a sparse matrix did here; numpy alone spares a keyword recode importing scipy (~0.25 s)."""
    passages = np.asarray(passage_index, dtype=np.int64)
    codes = np.asarray(code_index, dtype=np.int64)
    if n_passages * n_codes < _PACKED_KEY_LIMIT:
        packed = np.sort(passages * n_codes + codes)
        passages, codes = np.divmod(packed, n_codes)
    else:
        order = np.lexsort((codes, passages))
        passages, codes = passages[order], codes[order]
    indptr = np.zeros(n_passages + 1, dtype=np.int64)
    np.cumsum(np.bincount(passages, minlength=n_passages), out=indptr[1:])
    return indptr, codes


# cooccurrence_matrix.csv holds at most this many codes: it has codes**2 cells (10,000 codes wrote 200 MB of
# zeros, and needed 800 MB to build), and a spreadsheet opens at most 16,384 columns.
MATRIX_CODE_LIMIT = 2_000


def matrix_codes(cooccurrence: Cooccurrence, *, limit: int = MATRIX_CODE_LIMIT) -> list[str] | None:
    """The codes cooccurrence_matrix.csv holds: every code of the co-occurrence's table up to `limit`;
    past it only the codes that code a passage, and None (no matrix) when those are more than `limit`.

    >>> frame = pd.DataFrame({"document": ["d"] * 3, "passage": [0, 0, 1], "code": ["a", "b", "a"]})
    >>> matrix_codes(build_cooccurrence(frame)), matrix_codes(build_cooccurrence(frame), limit=1)
    (['a', 'b'], None)
    """
    table = cooccurrence.codes
    if len(table) <= limit:
        return [str(code) for code in table["code"]]
    coded = table.loc[table["passages"].to_numpy() > 0, "code"]
    return [str(code) for code in coded] if len(coded) <= limit else None


MATRIX_LEFT_OUT = (f"cooccurrence_matrix.csv not written: more than {MATRIX_CODE_LIMIT:,} codes code passages "
                   "(a matrix holds at most that many); cooccurrence.csv lists every pair.")


def build_cooccurrence_matrix(cooccurrence: Cooccurrence, *, measure: str = "jaccard",
                              codes: list[str] | None = None) -> pd.DataFrame:
    """Codes by codes (cooccurrence_matrix.csv): the `measure` of each pair, 0 where two codes never
    share a passage; the diagonal holds each code's passages. `codes` (of the co-occurrence's table, in its
    order) keeps to those; by default every code.

    >>> frame = pd.DataFrame({"document": ["d"] * 3, "passage": [0, 0, 1], "code": ["a", "b", "a"]})
    >>> build_cooccurrence_matrix(build_cooccurrence(frame), measure="count").values.tolist()
    [['a', 2, 1], ['b', 1, 1]]
    """
    if measure not in (*MEASURES, "documents"):
        raise OutputError(f"measure '{measure}': choose one of {', '.join(MEASURES)}.")
    if codes is None:
        codes = [str(code) for code in cooccurrence.codes["code"]]
    position = {code: index for index, code in enumerate(codes)}
    values = np.zeros((len(codes), len(codes)), dtype=np.int64 if measure in ("count", "documents") else float)
    for source, target, value in zip(cooccurrence.pairs["source"].tolist(), cooccurrence.pairs["target"].tolist(),
                                     cooccurrence.pairs[measure].tolist()):
        if source in position and target in position:
            values[position[source], position[target]] = values[position[target], position[source]] = value
    for code, passages in zip(cooccurrence.codes["code"].astype(str).tolist(), cooccurrence.codes["passages"].tolist()):
        if code in position:
            values[position[code], position[code]] = passages
    matrix = pd.DataFrame(values, columns=codes)
    matrix.insert(0, "code", codes, allow_duplicates=True)  # a code may be called "code" too
    return matrix
