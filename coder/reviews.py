"""Reviews: keep reviewers' accept/reject decisions in a file of their own and apply them to segments.

The review file (default `reviews.csv` beside the codebook) is the only place decisions live:
`coder review import` merges a reviewed segments.csv into it, every `coder run` applies it.
It is never rewritten with fewer entries than it had, and the previous version is kept as
`reviews.csv.bak`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .errors import OutputError
from .files import read_table, write_csv
from .segments import normalize_decision

REVIEW_COLUMNS = ("segment_id", "document", "code", "decision", "note", "text", "reviewed_at")
PRECISION_COLUMNS = ("code", "reviewed", "accepted", "rejected", "precision")
REVIEWS_FILE = "reviews.csv"

_SEGMENT_ID = re.compile(r"[0-9a-f]{16}")


def default_reviews_path(codebook: str | Path) -> Path:
    """The review file beside the codebook: `codebook.yaml` -> `reviews.csv` in the same folder."""
    return Path(codebook).parent / REVIEWS_FILE


# --- the review file -----------------------------------------------------------------------


def read_reviews(path: str | Path) -> pd.DataFrame:
    """Read the review file; a missing file is an empty review file (no decisions yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame({column: pd.Series(dtype=str) for column in REVIEW_COLUMNS})
    frame = read_table(path)
    if "segment_id" not in frame.columns or "decision" not in frame.columns:
        raise OutputError(
            f"{path}: not a review file (it needs the columns {', '.join(REVIEW_COLUMNS)}). "
            f"Restore it from {path.name}.bak or pass another file with --reviews."
        )
    for column in REVIEW_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    frame = frame[list(REVIEW_COLUMNS)].reset_index(drop=True)
    spellings: dict[str, str] = {}
    for value in frame["decision"].unique():
        try:
            spellings[value] = normalize_decision(value) or ""
        except ValueError as error:
            row = int((frame["decision"] == value).to_numpy().argmax()) + 2
            raise OutputError(f"{path}:{row}: {error}")
    frame["decision"] = frame["decision"].map(spellings)
    return frame


def write_reviews(reviews: pd.DataFrame, path: str | Path) -> Path | None:
    """Replace the review file atomically, keeping the old one as `<name>.bak`.

    Refuses (OutputError) to write fewer entries than the file on disk holds: a review
    file only grows. Returns the backup path, or None when there was no file before.
    """
    path = Path(path)
    before = read_reviews(path) if path.exists() else None
    if before is not None:
        missing = set(before["segment_id"]) - set(reviews["segment_id"])
        if len(reviews) < len(before) or missing:
            raise OutputError(
                f"{path}: refusing to write {len(reviews)} review entries over {len(before)} "
                f"({len(missing)} would be lost). The review file is left unchanged."
            )
    frame = reviews.reindex(columns=list(REVIEW_COLUMNS)).fillna("")
    backup = None
    if before is not None:
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    write_csv(frame, path)
    return backup


# --- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionChange:
    segment_id: str
    code: str
    old: str  # "accept", "reject" or "" for a note-only entry
    new: str


@dataclass(frozen=True)
class Conflict:
    segment_id: str
    code: str
    rows: tuple[int, ...]  # line numbers in the imported file (header = line 1)
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class InvalidDecision:
    row: int  # line number in the imported file (header = line 1)
    value: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """What `import_reviews` did; `total` counts the entries the review file holds afterwards."""

    reviews_path: str
    source: str
    added: int
    updated: tuple[DecisionChange, ...]
    unchanged: int
    conflicts: tuple[Conflict, ...]
    invalid: tuple[InvalidDecision, ...]
    total: int
    backup: str | None

    def render(self) -> str:
        """A short human summary for the terminal."""
        lines = [
            f"{self.source}: {self.added} new, {len(self.updated)} changed, {self.unchanged} unchanged "
            f"review decisions -> {self.reviews_path} ({self.total} in all)."
        ]
        for change in self.updated:
            lines.append(f"  changed {change.segment_id} ({change.code}): {change.old or '(none)'} -> {change.new or '(none)'}"
                         + ("" if change.old != change.new else " (note changed)"))
        for conflict in self.conflicts:
            rows = ", ".join(str(row) for row in conflict.rows)
            lines.append(
                f"  conflict {conflict.segment_id} ({conflict.code}): rows {rows} say "
                f"{' / '.join(conflict.decisions)}; not applied. Keep one decision and import again."
            )
        for invalid in self.invalid:
            lines.append(f"  row {invalid.row}: {invalid.reason}")
        return "\n".join(lines)


def import_reviews(
    segments_file: str | Path, reviews_path: str | Path, *, now: datetime | None = None
) -> ImportReport:
    """Merge the decisions a reviewer typed into segments.csv (or .xlsx) into the review file.

    New decisions are added, changed ones updated, rows of the same segment that disagree are
    reported and not applied, unreadable decisions are reported by row. A blank review cell
    never removes a decision. Writes the review file atomically, never with fewer entries.

    >>> report = import_reviews("outputs/segments.csv", "reviews.csv")  # doctest: +SKIP
    >>> report.added, report.total  # doctest: +SKIP
    (12, 40)
    """
    segments_file, reviews_path = Path(segments_file), Path(reviews_path)
    stamp = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    proposals, invalid = _read_proposals(_read_reviewed_table(segments_file))
    existing = read_reviews(reviews_path)
    merge = _merge_proposals(existing, proposals, stamp)
    result = pd.DataFrame(list(merge.reviews.values()), columns=list(REVIEW_COLUMNS)).fillna("")
    assert len(result) >= len(existing), "a review import must never drop decisions"
    changed = merge.added or merge.updated
    backup = write_reviews(result, reviews_path) if changed or not reviews_path.exists() else None
    return ImportReport(
        reviews_path=str(reviews_path), source=str(segments_file), added=merge.added, updated=tuple(merge.updated),
        unchanged=merge.unchanged, conflicts=tuple(merge.conflicts), invalid=tuple(invalid), total=len(result),
        backup=str(backup) if backup else None,
    )


@dataclass(frozen=True)
class _Proposal:
    """One row of a reviewed segments file that says something: a decision, a note, or both."""

    row: int  # line number in the imported file (header = line 1)
    decision: str  # "accept", "reject" or "" for a note only
    note: str
    record: dict[str, str]


@dataclass
class _Merge:
    """The review file after merging proposals, and what the merge did."""

    reviews: dict[str, dict[str, str]]  # segment_id -> review record
    added: int = 0
    unchanged: int = 0
    updated: list[DecisionChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def _read_reviewed_table(segments_file: Path) -> pd.DataFrame:
    """The reviewed segments file, with the columns an import reads (blank where missing)."""
    table = read_table(segments_file)
    if "segment_id" not in table.columns or "review" not in table.columns:
        raise OutputError(
            f"{segments_file}: needs the columns segment_id and review (found: {', '.join(table.columns)}). "
            f"Import the segments.csv written by `coder run`, with the review column filled in."
        )
    for column in ("document", "code", "note", "text"):
        if column not in table.columns:
            table[column] = ""
    return table


def _read_proposals(table: pd.DataFrame) -> tuple[dict[str, list[_Proposal]], list[InvalidDecision]]:
    """The rows that say something, grouped by segment_id, and the rows that cannot be applied."""
    invalid: list[InvalidDecision] = []
    proposals: dict[str, list[_Proposal]] = {}
    for position, record in enumerate(table.to_dict("records")):
        row = position + 2
        segment = str(record["segment_id"]).strip().lower()
        value, note = str(record["review"]).strip(), str(record["note"]).strip()
        if not value and not note:
            continue
        try:
            decision = normalize_decision(value) or ""
        except ValueError as error:
            invalid.append(InvalidDecision(row, value, str(error)))
            continue
        if not segment:
            invalid.append(InvalidDecision(row, value, "no segment_id: the row cannot be matched to a segment."))
            continue
        if not _SEGMENT_ID.fullmatch(segment):
            invalid.append(InvalidDecision(
                row, value, f"segment_id '{segment}' is not a 16-character id written by `coder run` "
                f"(a spreadsheet may have turned it into a number). Copy the id from segments.csv.",
            ))
            continue
        proposals.setdefault(segment, []).append(_Proposal(row, decision, note, record))
    return proposals, invalid


def _merge_proposals(existing: pd.DataFrame, proposals: dict[str, list[_Proposal]], stamp: str) -> _Merge:
    """Apply each segment's proposals to the review file's records; disagreeing rows are conflicts."""
    merge = _Merge(reviews={record["segment_id"]: dict(record) for record in existing.to_dict("records")})
    for segment, rows in proposals.items():
        decisions = {proposal.decision for proposal in rows if proposal.decision}
        record = rows[0].record
        if len(decisions) > 1:
            merge.conflicts.append(Conflict(
                segment, str(record["code"]), tuple(proposal.row for proposal in rows),
                tuple(proposal.decision or "(blank)" for proposal in rows),
            ))
            continue
        decision = decisions.pop() if decisions else ""
        note = "; ".join(dict.fromkeys(proposal.note for proposal in rows if proposal.note))
        old = merge.reviews.get(segment)
        if old is None:
            merge.reviews[segment] = {
                "segment_id": segment, "document": str(record["document"]), "code": str(record["code"]),
                "decision": decision, "note": note, "text": str(record["text"]), "reviewed_at": stamp,
            }
            merge.added += 1
            continue
        # A blank cell keeps what was decided before; it never withdraws a decision.
        new_decision = decision or old["decision"]
        new_note = note or old["note"]
        if new_decision == old["decision"] and new_note == old["note"]:
            merge.unchanged += 1
            continue
        merge.updated.append(DecisionChange(segment, str(old["code"]), old["decision"], new_decision))
        old.update(decision=new_decision, note=new_note, reviewed_at=stamp)
    return merge


# --- applying decisions ------------------------------------------------------------------------


def apply_reviews(segments: pd.DataFrame, reviews: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill the `review` and `note` columns of a segments frame from the review file.

    Rejected segments stay in the frame marked "reject" (consumers drop them). Returns the
    filled frame and the orphans: decisions whose segment_id the segments no longer contain,
    kept in the review file and reported, never dropped.

    >>> frame, orphans = apply_reviews(segments, read_reviews("reviews.csv"))  # doctest: +SKIP
    """
    frame = segments.copy()
    for column in ("review", "note"):
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str)
    if reviews.empty or frame.empty:
        orphans = reviews.copy() if frame.empty else reviews.iloc[0:0].copy()
        return frame, orphans.reset_index(drop=True)
    by_id = reviews.drop_duplicates("segment_id", keep="last").set_index("segment_id")
    ids = frame["segment_id"].astype(str)
    known = ids.isin(by_id.index)
    decisions = ids[known].map(by_id["decision"]).fillna("")
    notes = ids[known].map(by_id["note"]).fillna("")
    frame.loc[known, "review"] = decisions.where(decisions != "", frame.loc[known, "review"])
    frame.loc[known, "note"] = notes.where(notes != "", frame.loc[known, "note"])
    orphans = reviews[~reviews["segment_id"].isin(set(ids))].reset_index(drop=True)
    return frame, orphans


def precision_by_code(reviews: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Per code, how many of the current segments were reviewed and what share was accepted.

    Only decisions on segments the run still produces count; precision = accepted / reviewed.

    >>> precision_by_code(reviews, segments)  # doctest: +SKIP
         code  reviewed  accepted  rejected  precision
    0  barrier        10         8         2        0.8
    """
    decided = reviews[reviews["decision"].isin(("accept", "reject"))]
    current = segments[["segment_id", "code"]].drop_duplicates("segment_id")
    joined = current.merge(decided[["segment_id", "decision"]], on="segment_id", how="inner")
    if joined.empty:
        return pd.DataFrame({
            "code": pd.Series(dtype=str), "reviewed": pd.Series(dtype=int), "accepted": pd.Series(dtype=int),
            "rejected": pd.Series(dtype=int), "precision": pd.Series(dtype=float),
        })
    table = (
        joined.assign(accepted=joined["decision"].eq("accept"), rejected=joined["decision"].eq("reject"))
        .groupby("code", sort=True)
        .agg(reviewed=("decision", "size"), accepted=("accepted", "sum"), rejected=("rejected", "sum"))
        .reset_index()
    )
    table["accepted"] = table["accepted"].astype(int)
    table["rejected"] = table["rejected"].astype(int)
    table["precision"] = table["accepted"] / table["reviewed"]
    return table[list(PRECISION_COLUMNS)]


@dataclass(frozen=True)
class ReviewStatus:
    """Counts for `coder review status`."""

    reviews_path: str
    entries: int
    accepted: int
    rejected: int
    notes_only: int
    orphans: int | None  # None when no segments were given
    precision: pd.DataFrame | None

    def render(self) -> str:
        lines = [
            f"{self.reviews_path}: {self.entries} entries: {self.accepted} accepted, {self.rejected} rejected"
            + (f", {self.notes_only} with a note only" if self.notes_only else "") + "."
        ]
        if self.orphans is not None:
            lines.append(f"{self.orphans} decisions are for segments the last run did not produce (kept).")
        if self.precision is not None and not self.precision.empty:
            lines.append(render_precision(self.precision))
        return "\n".join(lines)


def review_status(reviews_path: str | Path, segments: pd.DataFrame | None = None) -> ReviewStatus:
    """Summarise the review file, and against a segments frame its orphans and precision."""
    reviews = read_reviews(reviews_path)
    orphans = precision = None
    if segments is not None:
        orphans = len(apply_reviews(segments, reviews)[1])
        precision = precision_by_code(reviews, segments)
    return ReviewStatus(
        reviews_path=str(reviews_path), entries=len(reviews),
        accepted=int(reviews["decision"].eq("accept").sum()), rejected=int(reviews["decision"].eq("reject").sum()),
        notes_only=int(reviews["decision"].eq("").sum()), orphans=orphans, precision=precision,
    )


def render_precision(precision: pd.DataFrame) -> str:
    """Precision per code as aligned text lines, for summaries."""
    if precision.empty:
        return "No reviewed segments yet: precision unknown."
    width = max(len("code"), *(len(str(code)) for code in precision["code"]))
    lines = [f"{'code':<{width}}  reviewed  accepted  precision"]
    for record in precision.itertuples(index=False):
        lines.append(f"{record.code:<{width}}  {record.reviewed:>8}  {record.accepted:>8}  {record.precision:>9.0%}")
    return "\n".join(lines)
