"""Comparing two runs (`coder diff`): codebook changes, segments added and removed per code, changes.csv."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codebook import normalize_code_record, rule_from_record
from .errors import CoderError, OutputError
from .files import display_name, whole_number, write_csv
from .imports import LazyModule
from .models import (
    CODED_KINDS,
    SEGMENT_ID_PREFIX,
    UnchangedCodes,
    normalize_segment_id,
    segment_id_from_fingerprint,
)
from .runs import RunFolder, RunRecord, segment_index
from .segments import (
    HASH_MULTIPLIERS,
    mix64,
    numbered_codes,
    read_parquet,
    segment_id_numbers,
    segment_ids_among,
)

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

CHANGES_COLUMNS = ("code", "change", "detail", "segments_added", "segments_removed", "segments_unchanged")
# changes.csv also lists the segments themselves, one row each, after the per-code rows.
SEGMENT_CHANGE_COLUMNS = ("segment_id", "document", "passage", "text")
# A segment removed and one added of the same code, document and passage text but for whitespace (a newer coder
# reads a line end with a space more or less, or the document's spacing was edited): one segment, its id changed.
RESPACED = "segment respaced"
RESPACED_DETAIL = "its document unchanged, read with a space more or less by the other run's coder version"


# --- comparing codebooks -----------------------------------------------------------------------


@dataclass(frozen=True)
class CodebookChange:
    """One change to one code between two codebooks, e.g. ("barrier", "keyword added", "red tape")."""

    code: str
    change: str
    detail: str = ""


_LIST_FIELDS = (("keywords", "keyword"), ("regex", "regex"), ("exclude", "exclude"))


def diff_codebooks(old_codes: list[dict[str, Any]], new_codes: list[dict[str, Any]]) -> list[CodebookChange]:
    """What changed per code between two codebooks given as `codebook_to_records` lists.

    Reports codes added and removed, ids renamed (a removed and an added id with the same
    keywords or label), labels renamed, codes moved to another parent, keywords, regexes and
    exclusions added or removed, descriptions and colours changed. Codes come in the new
    codebook's order, removed codes last.

    >>> old = [{"id": "a", "keywords": ["x"]}]
    >>> diff_codebooks(old, [{"id": "a", "keywords": ["x", "y"]}])
    [CodebookChange(code='a', change='keyword added', detail='y')]
    """
    old_by_id = {code["id"]: normalize_code_record(code) for code in old_codes}
    new_by_id = {code["id"]: normalize_code_record(code) for code in new_codes}
    added = [code_id for code_id in new_by_id if code_id not in old_by_id]
    removed = [code_id for code_id in old_by_id if code_id not in new_by_id]
    renamed = _match_renamed_ids(
        [old_by_id[code_id] for code_id in removed], [new_by_id[code_id] for code_id in added]
    )
    old_of = {new_id: old_id for old_id, new_id in renamed.items()}
    old_of.update({code_id: code_id for code_id in new_by_id if code_id in old_by_id})

    changes: list[CodebookChange] = []
    for code_id, new in new_by_id.items():
        if code_id not in old_of:
            changes.append(CodebookChange(code_id, "code added", _describe_rules(new)))
            continue
        old = old_by_id[old_of[code_id]]
        if old["id"] != code_id:
            changes.append(CodebookChange(code_id, "renamed", f"id '{old['id']}' -> '{code_id}'"))
        if old["label"] != new["label"]:
            changes.append(CodebookChange(code_id, "renamed", f"label '{old['label']}' -> '{new['label']}'"))
        old_parent = old["path"][:-1]
        new_parent = [old_of.get(part, part) for part in new["path"][:-1]]
        if old_parent != new_parent:
            changes.append(CodebookChange(
                code_id, "moved", f"{'/'.join(old['path'])} -> {'/'.join(new['path'])}"
            ))
        for key, name in _LIST_FIELDS:
            old_items, new_items = old[key], new[key]
            changes.extend(CodebookChange(code_id, f"{name} added", item) for item in new_items if item not in old_items)
            changes.extend(CodebookChange(code_id, f"{name} removed", item) for item in old_items if item not in new_items)
        old_morphology, new_morphology = (code.get("morphology", "inflectional") for code in (old, new))
        if old_morphology != new_morphology:
            changes.append(CodebookChange(code_id, "morphology changed", f"{old_morphology} -> {new_morphology}"))
        old_rules, new_rules = (
            [rule_from_record(rule).description for rule in code.get("rules", ())] for code in (old, new)
        )
        changes.extend(CodebookChange(code_id, "rule added", rule) for rule in new_rules if rule not in old_rules)
        changes.extend(CodebookChange(code_id, "rule removed", rule) for rule in old_rules if rule not in new_rules)
        if old["description"] != new["description"]:
            changes.append(CodebookChange(code_id, "description changed", _shorten(new["description"]) or "(removed)"))
        if (old["color"] or "") != (new["color"] or ""):
            changes.append(CodebookChange(code_id, "colour changed", f"{old['color'] or '(none)'} -> {new['color'] or '(none)'}"))
    for code_id in removed:
        if code_id not in renamed:
            changes.append(CodebookChange(code_id, "code removed", _describe_rules(old_by_id[code_id])))
    return changes


def renamed_codes(changes: list[CodebookChange]) -> dict[str, str]:
    """{old id: new id} for the id renames among `changes`."""
    renames = {}
    for change in changes:
        if change.change == "renamed" and change.detail.startswith("id '"):
            old_id = change.detail[len("id '"):].split("' -> '", 1)[0]
            renames[old_id] = change.code
    return renames


def _match_renamed_ids(removed: list[dict[str, Any]], added: list[dict[str, Any]]) -> dict[str, str]:
    """Pair removed and added codes that are one code under a new id: same rules, else same label."""
    pairs: dict[str, str] = {}
    taken: set[str] = set()
    for key in (_rules_key, lambda code: code["label"].casefold()):
        for old in removed:
            if old["id"] in pairs:
                continue
            candidates = [new for new in added if new["id"] not in taken and key(new) == key(old) and key(old)]
            if len(candidates) == 1:
                pairs[old["id"]] = candidates[0]["id"]
                taken.add(candidates[0]["id"])
    return pairs


def _rules_key(code: dict[str, Any]) -> tuple[Any, ...] | None:
    if not code["keywords"] and not code["regex"]:
        return None
    return (frozenset(code["keywords"]), frozenset(code["regex"]))


def _describe_rules(code: dict[str, Any]) -> str:
    parts = [f"{len(code[key])} {name}{'s' if len(code[key]) != 1 and name != 'regex' else ''}"
             for key, name in _LIST_FIELDS if code[key]]
    return ", ".join(parts)


def _shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- comparing segments --------------------------------------------------------------------------

SEGMENT_DIFF_COLUMNS = ("code", "segments_added", "segments_removed", "segments_unchanged")


def diff_segments(
    old_frame: pd.DataFrame, new_frame: pd.DataFrame, *, renamed: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per code, segments added, removed and unchanged between two runs, matched by segment_id.

    Either frame may be a segments frame or its compact `segment_index`. `renamed` maps old code
    ids to new ones so that a renamed code's segments count as unchanged rather than removed
    and added again.

    >>> diff_segments(old, new)  # doctest: +SKIP
          code  segments_added  segments_removed  segments_unchanged
    0  barrier               3                 1                  12
    """
    return _count_changes(_segment_keys(old_frame, renamed or {}), _segment_keys(new_frame, {}))


def _key_numbers(old_keys: pd.DataFrame, new_keys: pd.DataFrame,
                 numbers: tuple[np.ndarray | None, np.ndarray | None] | None = None) -> np.ndarray:
    """One number per distinct key, for the new run's rows then the old run's (`numbers`: the keys'
    `segment_id_numbers`, old then new, when known)."""
    old_numbers, new_numbers = numbers if numbers is not None else (
        segment_id_numbers(old_keys["key"]), segment_id_numbers(new_keys["key"]))
    if new_numbers is not None and old_numbers is not None:  # the ids as numbers: an int64 hash table
        return pd.factorize(np.concatenate([new_numbers, old_numbers]))[0]
    return pd.factorize(pd.concat([new_keys["key"], old_keys["key"]], ignore_index=True), use_na_sentinel=False)[0]


def _count_changes(old_keys: pd.DataFrame, new_keys: pd.DataFrame, key_index: np.ndarray | None = None) -> pd.DataFrame:
    """SEGMENT_DIFF_COLUMNS from the two runs' (code, key) rows, codes in order of appearance (new run first).

    Integer keys from one factorize of each column (`key_index`: `_key_numbers`, when known), then
    sets of int64: a merge of 400,000 string pairs took over a second.
    """
    codes_seen = pd.concat([new_keys["code"], old_keys["code"]], ignore_index=True)
    code_index, code_names = pd.factorize(codes_seen, use_na_sentinel=False)
    if key_index is None:
        key_index = _key_numbers(old_keys, new_keys)
    span = max(int(key_index.max(initial=-1)) + 1, 1)
    combined = code_index.astype(np.int64) * span + key_index
    # pandas' hash tables: numpy's unique and isin sort or hash far slower on 400,000 keys.
    fresh, before = pd.unique(combined[:len(new_keys)]), pd.unique(combined[len(new_keys):])
    both = fresh[pd.Series(fresh).isin(before).to_numpy()]
    n_codes = len(code_names)

    def per_code(keys: np.ndarray) -> np.ndarray:
        return np.bincount(keys // span, minlength=n_codes).astype(int)

    unchanged = per_code(both)
    result = pd.DataFrame({
        "code": [str(code) for code in code_names],
        "segments_added": per_code(fresh) - unchanged,
        "segments_removed": per_code(before) - unchanged,
        "segments_unchanged": unchanged,
    }, columns=list(SEGMENT_DIFF_COLUMNS))
    return result.astype({"segments_added": int, "segments_removed": int, "segments_unchanged": int})


def _segment_keys(frame: pd.DataFrame, renamed: dict[str, str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame({"code": pd.Series(dtype=str), "key": pd.Series(dtype=str)})
    codes = frame["code"].astype(str)
    keys = frame["segment_id"].astype(str)
    if renamed:
        moved = codes.isin(renamed)
        codes = codes.where(~moved, codes.map(renamed))
        # segment_id hashes the code id: recompute it under the new id for renamed codes.
        index = segment_index(frame[moved])
        keys = keys.copy()
        keys[moved] = [segment_id_from_fingerprint(fingerprint, code)
                       for fingerprint, code in zip(index["fingerprint"], codes[moved])]
    # .array: the columns as they are (to_numpy() made a Python string per row, then Arrow again).
    return pd.DataFrame({"code": codes.array, "key": keys.array})


# --- comparing runs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side: the codebook changes and, per code, the segment changes."""

    old: RunRecord
    new: RunRecord
    changes: tuple[CodebookChange, ...]
    # per code (new run's first, then the old run's): (segments added, removed, unchanged)
    segments: dict[str, tuple[int, int, int]]
    # one row per segment added, removed or respaced: code, change, SEGMENT_CHANGE_COLUMNS (and detail, when respaced)
    listed: pd.DataFrame | None = None
    # per code, its segments respaced (RESPACED): counted as unchanged, not as added and removed
    respaced: dict[str, int] = field(default_factory=dict)

    def segment_rows(self) -> pd.DataFrame:
        """The segments added, removed and respaced, as changes.csv rows (change "segment added", "segment removed",
        RESPACED: the new segment, its detail naming the old one)."""
        columns = [*CHANGES_COLUMNS, *SEGMENT_CHANGE_COLUMNS]
        if self.listed is None or self.listed.empty:
            return pd.DataFrame(columns=columns)
        frame = self.listed.assign(segments_added="", segments_removed="", segments_unchanged="")
        frame["detail"] = frame["detail"].fillna("") if "detail" in frame.columns else ""
        return frame[columns]

    def table(self) -> pd.DataFrame:
        """`table_rows()` as a frame (CHANGES_COLUMNS)."""
        return pd.DataFrame(self.table_rows(), columns=list(CHANGES_COLUMNS))

    def table_rows(self) -> list[tuple[str, str, str, int, int, int]]:
        """One row per (code, change) with that code's segment counts (CHANGES_COLUMNS); codes whose
        segments changed without a codebook change get a row with change "segments only"."""
        rows = []
        by_code: dict[str, list[CodebookChange]] = {}
        for change in self.changes:
            by_code.setdefault(change.code, []).append(change)
        for code in dict.fromkeys([*by_code, *self.segments]):
            added, removed, unchanged = self.segments.get(code, (0, 0, 0))
            entries = by_code.get(code)
            respaced = self.respaced.get(code, 0)
            if not entries:
                entries = [CodebookChange(code, "segments only", "")] if added or removed else []
            if respaced:
                entries = [*entries, CodebookChange(code, "segments respaced",
                                                    f"{respaced} whose passage reads the same but for whitespace")]
            rows += [(code, entry.change, entry.detail, added, removed, unchanged) for entry in entries]
        return rows

    @property
    def segments_added(self) -> int:
        return sum(added for added, _, _ in self.segments.values())

    @property
    def segments_removed(self) -> int:
        return sum(removed for _, removed, _ in self.segments.values())

    @property
    def segments_respaced(self) -> int:
        return sum(self.respaced.values())


def compare_runs(
    old_run: str | Path | RunFolder, new_run: str | Path | RunFolder, *, new_segments: pd.DataFrame | None = None,
    old_index: pd.DataFrame | None = None, unchanged: UnchangedCodes | None = None,
    records: tuple[RunRecord, RunRecord] | None = None,
) -> RunComparison:
    """Compare two run folders (or run.json paths): codebook changes and segments per code.

    `new_segments` is the new run's segments frame, and `old_index` the old run's
    `RunFolder.read_segment_index()`, when the caller holds them already. `unchanged` (a recode's,
    whose segments `new_segments` are and whose `previous_index` is `old_index`) names the codes
    whose rows are the old run's as they were: only the other codes' rows are compared one by one.
    `records`: the two runs' records as their run.json files read, when the caller holds them.

    >>> comparison = compare_runs("outputs/.previous", "outputs")  # doctest: +SKIP
    >>> print(render_comparison(comparison))  # doctest: +SKIP
    """
    old_folder = old_run if isinstance(old_run, RunFolder) else RunFolder.at(old_run)
    new_folder = new_run if isinstance(new_run, RunFolder) else RunFolder.at(new_run)
    old, new = records if records is not None else (old_folder.record(), new_folder.record())
    changes = diff_codebooks(list(old.codebook_codes), list(new.codebook_codes))
    renamed = renamed_codes(changes)
    changes = [*_codebook_wide_changes(old, new), *changes]
    # Two runs read from their folders (no code renamed: no fingerprint needed to tell the ids apart):
    # first only their ids and codes; the other columns only for the rows compared one by one below.
    # A full rerun of a 100 MB corpus held both runs' whole index, 875,736 rows each: 550 MB more.
    lean = new_segments is None and old_index is None and not renamed
    # Both runs' segment tables, their ids as numbers and codes as indices (12 bytes a row), when they
    # are: the ids as text are then made only for the segments listed as added or removed.
    numbered = _numbered_keys(old_folder, new_folder) if lean else None
    lean_as_text = lean and numbered is None  # ids and codes read as text, the rest for the rows compared
    lean_columns = ["segment_id", "code"]
    if numbered is not None:
        (old_keys, old_numbers), (new_keys, new_numbers) = numbered
        old_frame = new_frame = None
    else:
        new_frame = (segment_index(new_segments) if new_segments is not None
                     else new_folder.read_segment_index(columns=lean_columns) if lean_as_text else new_folder.read_segment_index())
        old_frame = (old_index if old_index is not None
                     else old_folder.read_segment_index(columns=lean_columns) if lean_as_text else old_folder.read_segment_index())
    known = old_segments = None
    if (unchanged is not None and not renamed and new_segments is not None and old_frame is unchanged.previous_index
            and len(new_frame) == len(unchanged.codes)):
        known = _known_alike(unchanged, new_frame["segment_id"])
    if known is not None:
        # Only the other codes' rows compared row by row, found without comparing the unchanged codes' rows.
        alike, order, others_old, others_new, new_numbers = known
        old_frame = old_frame.take(others_old).reset_index(drop=True)
        new_frame = new_frame.take(others_new).reset_index(drop=True)
        new_segments = new_segments.take(others_new)
        old_keys, new_keys = _segment_keys(old_frame, renamed), _segment_keys(new_frame, {})
        numbers = segment_id_numbers(old_keys["key"]), new_numbers[others_new]
        order += [code for code in pd.unique(old_keys["code"]) if code not in order]
        # The removed segments' details from the rows the recode read, not from the whole run read again.
        old_segments = _previous_rows(unchanged, others_old) if numbers[0] is not None else None
    else:
        if numbered is not None:
            numbers = old_numbers, new_numbers
        else:
            old_keys, new_keys = _segment_keys(old_frame, renamed), _segment_keys(new_frame, {})
            # The ids as numbers once for every step below (0.02-0.03 s each at 437,785 ids).
            numbers = segment_id_numbers(old_keys["key"]), segment_id_numbers(new_keys["key"])
        alike = _codes_alike(old_keys, new_keys, numbers=numbers)
        if alike:
            # Only the other codes' segments compared row by row (a keyword recode changes one code of hundreds).
            order = list(dict.fromkeys([*pd.unique(new_keys["code"]), *pd.unique(old_keys["code"])]))
            others_old = ~old_keys["code"].isin(list(alike)).to_numpy()
            others_new = ~new_keys["code"].isin(list(alike)).to_numpy()
            old_keys, new_keys = old_keys[others_old].reset_index(drop=True), new_keys[others_new].reset_index(drop=True)
            if lean_as_text:
                old_frame = _index_rows(old_folder, others_old, old_keys["key"])
                new_frame = _index_rows(new_folder, others_new, new_keys["key"])
            elif numbered is None:  # (numbered: the listed segments' ids are made from their numbers)
                old_frame, new_frame = old_frame[others_old].reset_index(drop=True), new_frame[others_new].reset_index(drop=True)
            numbers = tuple(None if values is None else values[others]
                            for values, others in zip(numbers, (others_old, others_new)))
            if new_segments is not None and len(new_segments) == len(others_new):
                # The new run's rows the listed segments can come from: those of the codes compared row by row.
                new_segments = new_segments[others_new]
        elif lean_as_text:
            old_frame, new_frame = old_folder.read_segment_index(), new_folder.read_segment_index()
    key_index = _key_numbers(old_keys, new_keys, numbers)
    segments = _count_changes(old_keys, new_keys, key_index)
    if alike:
        same = pd.DataFrame({"code": list(alike), "segments_added": 0, "segments_removed": 0,
                             "segments_unchanged": list(alike.values())}, columns=list(SEGMENT_DIFF_COLUMNS))
        segments = pd.concat([segments, same], ignore_index=True).set_index("code").loc[order].reset_index()
        segments = segments.astype({"segments_added": int, "segments_removed": int, "segments_unchanged": int})
    listed = _listed_segments(old_folder, new_folder, old_frame, new_frame, old_keys, new_keys, new_segments, key_index,
                              old_segments=old_segments, numbers=numbers if numbered is not None else None)
    counts = {str(code): (int(added), int(removed), int(kept))
              for code, added, removed, kept in segments.itertuples(index=False, name=None)}
    respaced: dict[str, int] = {}
    if not _codebook_wide_changes(old, new):  # (a unit changed: every passage is another)
        listed, respaced = _respaced(listed, old_folder, new_folder, _document_hashes(old), _document_hashes(new))
        for code, pairs in respaced.items():
            added, removed, kept = counts[code]
            counts[code] = (added - pairs, removed - pairs, kept + pairs)
    return RunComparison(old=old, new=new, changes=tuple(changes), segments=counts, listed=listed, respaced=respaced)


def _document_hashes(record: RunRecord) -> dict[str, str]:
    return {str(entry.get("path")): str(entry.get("sha256") or "") for entry in record.documents}


def _passage_texts(folder: RunFolder, documents: list[str]) -> Counter[tuple[str, str]] | None:
    """How many passages of each of `documents` read each text (whitespace runs as one space) in the run in `folder`;
    None when its passages.parquet cannot be read."""
    try:
        frame = read_parquet(folder.passages_parquet_path, columns=["document", "text"], documents=documents)
    except (CoderError, OSError):
        return None
    return Counter((str(document), " ".join(str(text).split())) for document, text in zip(frame["document"], frame["text"]))


def _respaced(listed: pd.DataFrame, old_folder: RunFolder, new_folder: RunFolder, old_hashes: dict[str, str],
              new_hashes: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The listed segments with each segment removed and one added of the same code and document whose passage texts
    differ only in whitespace made one row, RESPACED (the added one; its detail names the removed one's id), where the
    document's file did not change (`old_hashes`, `new_hashes`: sha256 by path), so that only the two runs' readers
    differ; per code, how many. An edited document's pairs stay removed and added: a space there can change the words
    ("a round table" -> "around table", "will inform" -> "will in form"; probe UU3). Several such of one code, document
    and text are paired in passage order. Only a passage whose text changed is respaced: fewer of its document's
    passages read its old text now than before, and more its new text (the runs' passages.parquet). Two passages that
    were both there ("a round table", "around table": a keyword moved from one to the other) stay a segment removed
    and one added, and so does every pair when those tables cannot be read."""
    if listed.empty:
        return listed, {}
    listed = listed.reset_index(drop=True)
    # Python lists of the columns: iterating over an Arrow-backed column makes each value alone (3 times as long)
    changes, codes = listed["change"].astype(str).tolist(), listed["code"].astype(str).tolist()
    documents = listed["document"].astype(str).tolist()
    both = ({(code, document) for change, code, document in zip(changes, codes, documents) if change == "segment added"}
            & {(code, document) for change, code, document in zip(changes, codes, documents) if change == "segment removed"})
    both = {(code, document) for code, document in both
            if new_hashes.get(document) and new_hashes.get(document) == old_hashes.get(document)}
    if not both:  # only where a code's segment went and one came
        return listed, {}
    # (code, document, text without whitespace) -> [(row, id, text)], each (code, id) once, for either side
    sides: dict[str, dict[tuple[str, str, str], list[tuple[int, str, str]]]] = {"segment added": {}, "segment removed": {}}
    seen: set[tuple[str, str, str]] = set()
    ids = listed["segment_id"].astype(str).tolist()
    for row, change, code, document, identifier, text in zip(range(len(listed)), changes, codes, documents, ids,
                                                             listed["text"].tolist()):
        if (code, document) not in both or change not in sides or not isinstance(text, str) or not text \
                or (change, code, identifier) in seen:
            continue
        seen.add((change, code, identifier))
        sides[change].setdefault((code, document, "".join(text.split())), []).append((row, identifier, text))
    added, removed = sides["segment added"], sides["segment removed"]
    passages = listed["passage"].astype(str).tolist()

    def in_order(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:  # by passage number
        return sorted(rows, key=lambda found: (whole_number(passages[found[0]]) or 0, found[0]))

    candidates = []  # (code, document, row of the added one, its text, the removed one's id and text), in passage order
    for key in added.keys() & removed.keys():
        candidates += [(key[0], key[1], new[0], new[2], old[1], old[2])
                       for new, old in zip(in_order(added[key]), in_order(removed[key]))]
    if not candidates:
        return listed, {}
    before, now = (_passage_texts(folder, list(dict.fromkeys(document for _, document, *_ in candidates)))
                   for folder in (old_folder, new_folder))
    if before is None or now is None:
        return listed, {}

    def changed(document: str, old_text: str, new_text: str) -> bool:
        old_text, new_text = (" ".join(text.split()) for text in (old_text, new_text))
        return now[document, old_text] < before[document, old_text] and now[document, new_text] > before[document, new_text]

    pairs = pd.DataFrame([(code, document, row, old_id) for code, document, row, new_text, old_id, old_text in candidates
                          if changed(document, old_text, new_text)], columns=["code", "document", "index", "segment_id_old"])
    if pairs.empty:
        return listed, {}
    pairs = pairs.sort_values("index", kind="stable")
    pairs = pairs.assign(segment_id=[ids[row] for row in pairs["index"]])
    details = pd.Series([f"{RESPACED_DETAIL}; was {old_id}" for old_id in pairs["segment_id_old"]],
                        index=pairs["index"].to_numpy())
    # the pairs' removed rows go; their added rows become RESPACED (a row repeating one's id goes)
    gone, came = set(zip(pairs["code"], pairs["segment_id_old"])), set(zip(pairs["code"], pairs["segment_id"]))
    respaced = set(details.index)
    kept = [not ((change == "segment removed" and (code, identifier) in gone)
                 or (change == "segment added" and (code, identifier) in came and row not in respaced))
            for row, code, change, identifier in zip(range(len(listed)), codes, changes, ids)]
    result = listed[kept].copy()
    result["detail"] = ""
    result.loc[details.index, "change"] = RESPACED
    result.loc[details.index, "detail"] = details
    return result, {str(code): int(count) for code, count in pairs["code"].value_counts(sort=False).items()}


def _index_rows(folder: RunFolder, rows: np.ndarray, ids: pd.Series) -> pd.DataFrame:
    """The segment index of the run in `folder` at `rows` (a mask), whose ids were read before as `ids`."""
    frame = folder.read_segment_index(rows=rows)
    if len(frame) != len(ids) or not np.array_equal(frame["segment_id"].to_numpy(dtype=object), ids.to_numpy(dtype=object)):
        raise OutputError(f"{display_name(folder.folder)}: its segments changed while they were compared. "
                          "Run the command again.")
    return frame


def _known_alike(unchanged: UnchangedCodes, new_ids: pd.Series) -> tuple[
        dict[str, int], list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """What `_codes_alike` and the code order of `compare_runs` give, from a recode's `unchanged`
    codes (`new_ids`: the new run's segment ids): {code: its distinct segments} for the unchanged
    codes with segments, the new run's codes in order of appearance, the positions of the other
    rows (old run, new run), and the new run's ids as numbers. None when the ids are not of the
    usual form or the unchanged codes' rows are not as many in both runs."""
    numbers = segment_id_numbers(new_ids)
    if numbers is None:
        return None
    same_new, same_old = unchanged.kept_rows, unchanged.kept_previous_rows
    size = len(unchanged.code_ids)
    rows = np.bincount(unchanged.codes[same_new], minlength=size)
    if not np.array_equal(rows, np.bincount(unchanged.previous_codes[same_old], minlength=size)):
        return None
    # A repeated id is one code's (the id hashes the code): identical passages in one document.
    again = pd.Series(numbers[same_new]).duplicated().to_numpy()
    distinct = rows - np.bincount(unchanged.codes[same_new][again], minlength=size)
    alike = {unchanged.code_ids[code]: int(distinct[code]) for code in np.flatnonzero(rows)}
    order = [unchanged.code_ids[code] for code in pd.unique(unchanged.codes)]
    return alike, order, np.flatnonzero(~same_old), np.flatnonzero(~same_new), numbers


def _previous_rows(unchanged: UnchangedCodes, positions: np.ndarray) -> pd.DataFrame | None:
    """segment_id, document, passage and text of the old run's rows at `positions` of the recode's
    `previous_index`, as `_segment_details` reads them from that run's folder; None when a row has a
    text of its own (then the folder it is)."""
    texts = unchanged.passage_texts
    if texts is None:
        return None
    documents, passages = unchanged.previous_documents[positions], unchanged.previous_passages[positions]
    starts = unchanged.passage_starts
    shown = (documents >= 0) & (passages >= 0)  # a row of a passage passages.parquet holds: its text, else none
    shown[shown] = passages[shown] < starts[documents[shown] + 1] - starts[documents[shown]]
    text = np.full(len(positions), "", dtype=object)
    text[shown] = texts[starts[documents[shown]] + passages[shown]]
    index = unchanged.previous_index.take(positions)
    return pd.DataFrame({"segment_id": index["segment_id"].array, "document": index["document"].array,
                         "passage": passages, "text": text})


def _codes_alike(old_keys: pd.DataFrame, new_keys: pd.DataFrame,
                 numbers: tuple[np.ndarray | None, np.ndarray | None] | None = None) -> dict[str, int]:
    """{code: its distinct segments} for the codes whose segment ids are the same in both runs
    (`_segment_keys` rows; `numbers`: their `segment_id_numbers`, old then new, when known), told per
    code by the rows and two 64-bit sums of a hash of each id (equal sums of different ids, or of the
    same ids repeated differently: a chance of about 2**-128). A repeated id is one code's (the id hashes
    the code): identical passages in one document. Nothing when an id is not of the usual form."""
    old_numbers, new_numbers = numbers if numbers is not None else (
        segment_id_numbers(old_keys["key"]), segment_id_numbers(new_keys["key"]))
    if new_numbers is None or old_numbers is None or not len(new_numbers) or not len(old_numbers):
        return {}
    new_codes, names = pd.factorize(new_keys["code"])
    position = {name: number for number, name in enumerate(names)}
    old_index, old_names = pd.factorize(old_keys["code"])
    old_codes = np.array([position.get(name, -1) for name in old_names], dtype=np.int64)[old_index]

    def per_code(codes: np.ndarray, numbers: np.ndarray) -> np.ndarray:
        """(rows, hash sum, hash sum) per code of the new run."""
        known = codes >= 0
        codes, numbers = codes[known], numbers[known]
        sums = np.zeros((len(names), 3), dtype=np.uint64)
        sums[:, 0] = np.bincount(codes, minlength=len(names))
        with np.errstate(over="ignore"):
            for column, odd in enumerate(HASH_MULTIPLIERS, start=1):
                np.add.at(sums[:, column], codes, mix64(numbers * odd))
        return sums

    new_codes = new_codes.astype(np.int64)
    new_sums, old_sums = per_code(new_codes, new_numbers), per_code(old_codes, old_numbers)
    alike = (new_sums == old_sums).all(axis=1) & (new_sums[:, 0] > 0)
    if not alike.any():
        return {}
    # Rows repeating an earlier id, asked of the new run only: the same sums say the old run repeats them alike.
    known = new_codes >= 0
    again = pd.Series(new_numbers[known]).duplicated().to_numpy()
    repeated = np.bincount(new_codes[known][again], minlength=len(names))
    return {str(names[number]): int(new_sums[number, 0] - repeated[number]) for number in np.flatnonzero(alike)}


def _listed_segments(
    old_folder: RunFolder, new_folder: RunFolder, old_frame: pd.DataFrame, new_frame: pd.DataFrame,
    old_keys: pd.DataFrame, new_keys: pd.DataFrame, new_segments: pd.DataFrame | None, key_index: np.ndarray, *,
    old_segments: pd.DataFrame | None = None, numbers: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The added and removed segments themselves, with their document, passage and text (the keys:
    `_segment_keys` of each frame, numbered by `_key_numbers`; the details from the frames
    `new_segments` and `old_segments`, else from the run folders). Without the two frames, the ids
    are made from `numbers` (the keys' ids as numbers, old then new)."""
    # Integer isin over the key numbers (Series.isin on Arrow strings, or a Python set of them,
    # loops over 400,000 ids in Python; np.isin sorts).
    fresh, before = pd.Series(key_index[:len(new_keys)]), key_index[len(new_keys):]
    new_found, old_found = fresh.isin(before).to_numpy(), pd.Series(before).isin(fresh).to_numpy()
    if new_found.all() and old_found.all():
        return pd.DataFrame(columns=["code", "change", *SEGMENT_CHANGE_COLUMNS])
    if numbers is not None:
        added = new_keys[~new_found].assign(segment_id=_ids_of_numbers(numbers[1][~new_found]))
        removed = old_keys[~old_found].assign(segment_id=_ids_of_numbers(numbers[0][~old_found]))
    else:
        added = new_keys.assign(segment_id=new_frame["segment_id"].astype(str).array if len(new_frame) else [])[~new_found]
        removed = old_keys.assign(segment_id=old_frame["segment_id"].astype(str).array if len(old_frame) else [])[~old_found]
    added, removed = (rows.astype({"code": str}) for rows in (added, removed))
    parts = []
    for change, rows, folder, frame in (("segment added", added, new_folder, new_segments),
                                        ("segment removed", removed, old_folder, old_segments)):
        if rows.empty:
            continue
        details = _segment_details(folder, frame, set(rows["segment_id"]))
        part = rows[["code", "segment_id"]].merge(details, on="segment_id", how="left").fillna("")
        parts.append(part.assign(change=change))
    columns = ["code", "change", *SEGMENT_CHANGE_COLUMNS]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _ids_of_numbers(numbers: np.ndarray) -> list[str]:
    """Segment ids as `coder run` writes them, from their `segment_id_numbers`."""
    return [f"{SEGMENT_ID_PREFIX}{number:016x}" for number in numbers.tolist()]


def _numbered_keys(old_folder: RunFolder, new_folder: RunFolder) -> tuple[
        tuple[pd.DataFrame, np.ndarray], tuple[pd.DataFrame, np.ndarray]] | None:
    """Each run's (code, key) rows as `_segment_keys` gives them, the codes categorical over one set of
    names and the keys the ids as numbers, with those numbers: read from segments.parquet a row
    group at a time (`segments.numbered_codes`). None when a run has no segments.parquet or an id is
    not of the usual form."""
    names: dict[str, int] = {}
    read = []
    for folder in (old_folder, new_folder):
        if not folder.segments_parquet_path.exists() or folder.segments_parquet_path.is_symlink():
            return None
        found = numbered_codes(folder.segments_parquet_path, names)
        if found is None:
            return None
        read.append(found)
    categories = list(names)
    return tuple((pd.DataFrame({"code": pd.Categorical.from_codes(codes, categories=categories), "key": numbers}),
                  numbers) for numbers, codes in read)


def _segment_details(folder: RunFolder, frame: pd.DataFrame | None, ids: set[str]) -> pd.DataFrame:
    """document, passage and text of some segments: from the frame at hand, else the run's segments.csv."""
    columns = ["segment_id", *SEGMENT_CHANGE_COLUMNS[1:]]
    if frame is None or not set(columns) <= set(frame.columns):
        try:
            # Only the rows asked about: a keyword removed from a code took 11 s and 2.7 GB reading every
            # segment's text (50 MB benchmark).
            frame = folder.read_segments(columns=columns, segment_ids=ids)
        except OutputError:
            return pd.DataFrame(columns=columns)
        frame = frame.assign(segment_id=[normalize_segment_id(value) or str(value) for value in frame["segment_id"]])
    # The four columns only: filtering the whole segments frame first copied every row's text too.
    rows = frame.loc[segment_ids_among(frame["segment_id"].astype(str), [list(ids)]), columns].drop_duplicates("segment_id")
    return rows.astype({"passage": str})


def write_changes_csv(comparison: RunComparison, path: str | Path) -> Path:
    """Write changes.csv (UTF-8 with BOM), atomically: `comparison.table()`, one row per code and change,
    then one row per segment added or removed."""
    table = comparison.table()
    for column in SEGMENT_CHANGE_COLUMNS:
        table[column] = ""
    rows = comparison.segment_rows()
    if len(rows):
        table = pd.concat([table.astype(object), rows.astype(object)], ignore_index=True)
    # LF line ends, unlike the other tables: changes.csv is a `coder run` output whose bytes stay as they were.
    return write_csv(table, path, line_end="\n")


CODEBOOK_WIDE = "(codebook)"  # the `code` of a change to the whole codebook (no code id is empty)


def _codebook_wide_changes(old: RunRecord, new: RunRecord) -> list[CodebookChange]:
    """The passage unit and the coded passage kinds, which change every code's segments at once."""
    changes = []
    if old.unit and new.unit and old.unit != new.unit:
        changes.append(CodebookChange(CODEBOOK_WIDE, "unit changed", f"{old.unit} -> {new.unit}"))
    old_kinds, new_kinds = (record.code_kinds or CODED_KINDS for record in (old, new))
    if set(old_kinds) != set(new_kinds):
        changes.append(CodebookChange(CODEBOOK_WIDE, "coded kinds changed", f"{', '.join(old_kinds)} -> {', '.join(new_kinds)}"))
    return changes


def render_comparison(comparison: RunComparison, *, most_codes: int | None = None, old: str = "the previous run") -> str:
    """The comparison as plain text lines for the terminal: per code, +added -removed and why; with
    `most_codes`, the lines of that many codes at most (the rest counted, as changes.csv lists them).
    `old` names the earlier run (`coder diff` names the folder it was given)."""
    rows = comparison.table_rows()
    when = f" ({comparison.old.started})" if comparison.old.started else ""
    if not rows:
        return f"No changes since {old}{when}: same codebook rules, same segments."
    lines = [
        f"Since {old}{when}: {comparison.segments_added} segments added, "
        f"{comparison.segments_removed} removed, {len(comparison.changes)} codebook changes."
    ]
    if comparison.segments_respaced:
        lines.append(f"  {comparison.segments_respaced} segment(s) respaced: their documents are unchanged, and the two "
                     "runs' coder versions read their passages with a space more or less. Counted as unchanged; "
                     f"changes.csv lists them as '{RESPACED}'.")
    width = max(len(code) for code, *_ in rows)
    shown, listed = None, 0
    codes = len({code for code, *_ in rows if code != CODEBOOK_WIDE})
    for code, change, detail, added, removed, unchanged in rows:  # a code's rows follow one another
        if code == CODEBOOK_WIDE:
            lines.append(f"  codebook: {change}: {detail}")
            continue
        if code != shown:
            if most_codes is not None and listed == most_codes:
                continue
            shown, listed = code, listed + 1
            lines.append(f"  {code:<{width}}  +{added} -{removed} ({unchanged} unchanged)")
        if change != "segments only":
            lines.append(f"  {'':<{width}}    {change}{f': {detail}' if detail else ''}")
    if listed < codes:
        lines.append(f"  ... and {codes - listed:,} more code(s): changes.csv lists every change.")
    return "\n".join(lines)


def compare_with_previous(run: str | Path | RunFolder, *, new_segments: pd.DataFrame | None = None,
                          old_index: pd.DataFrame | None = None,
                          unchanged: UnchangedCodes | None = None,
                          records: tuple[RunRecord, RunRecord] | None = None) -> RunComparison | None:
    """Compare the run in a folder with the one `RunFolder.keep_previous` kept; None on a first run.
    `old_index` is that run's segment index when the caller read it before it was kept; `unchanged`
    and `records` as `compare_runs` takes them.

    >>> compare_with_previous("outputs")  # doctest: +SKIP
    """
    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    if not folder.previous.has_record():
        return None
    return compare_runs(folder.previous, folder, new_segments=new_segments, old_index=old_index, unchanged=unchanged,
                        records=records)
