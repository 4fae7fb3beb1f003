"""Stage 5: the segment table: coded Segments <-> DataFrame <-> segments.csv, its review state and matched words.

Every module that reads segments.csv, a `review` cell or a `matched` cell asks this one; the
code-by-document counts report is built here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd

from .errors import OutputError
from .files import display_name, read_table, write_csv
from .models import Codebook, Document, Segment

SEGMENT_COLUMNS = (
    "segment_id", "document", "passage", "start", "end", "kind", "code", "code_path", "label",
    "hits", "matched", "text", "review", "note",
)
# segments.csv as `coder run` writes it: `status` says what a reviewer still has to look at (new,
# unchanged since the last run, or the decision taken before: accepted, rejected, added); `source`
# is auto for the tool's rows and manual for passages a reviewer coded by hand.
OUTPUT_COLUMNS = (*SEGMENT_COLUMNS[:-2], "status", "review", "note", "source")
STATUSES = ("new", "unchanged", "accepted", "rejected", "added")
_INTEGER_COLUMNS = ("passage", "start", "end", "hits")
MATCHED_SEPARATOR = "; "

Decision = Literal["accept", "reject"]
_ACCEPT = frozenset({"accept", "accepted", "a", "y", "yes", "1", "true", "ok", "✓", "✔", "+"})
_REJECT = frozenset({"reject", "rejected", "r", "n", "no", "0", "false", "x", "✗", "✘", "-"})
# What Excel and LibreOffice turn a typed 1/0/TRUE into when the column is re-saved.
_NUMERIC = {"1.0": "1", "0.0": "0"}


def segments_to_frame(segments: Iterable[Segment]) -> pd.DataFrame:
    """One row per (passage, code), in the column order of segments.csv; review and note empty.

    >>> segments_to_frame([]).columns[:3].tolist()
    ['segment_id', 'document', 'passage']
    """
    rows = [
        (s.segment_id, s.document, s.passage, s.start, s.end, s.kind, s.code, s.code_path, s.label,
         s.hits, join_matched(s.matched), s.text, "", "")
        for s in segments
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(SEGMENT_COLUMNS))
    return frame.astype({column: "int64" for column in _INTEGER_COLUMNS})


def add_page_column(frame: pd.DataFrame, documents: Iterable[Document]) -> pd.DataFrame:
    """Insert `page` after `end` when any document has pages (PDFs): the page where the passage
    starts, "3-4" when it runs onto the next. Without paged documents the frame is unchanged.

    >>> frame = segments_to_frame([])
    >>> add_page_column(frame, [Document("a.pdf", "ab", pages=((0, 2),))]).columns[5]
    'page'
    """
    paged = {document.path: document for document in documents if document.pages}
    if not paged:
        return frame
    pages = [
        paged[document].page_label(start, end) if document in paged else ""
        for document, start, end in zip(frame["document"], frame["start"], frame["end"])
    ]
    frame = frame.copy()
    frame.insert(frame.columns.get_loc("end") + 1, "page", pd.Series(pages, index=frame.index, dtype=object))
    return frame


def write_segments_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write segments.csv (UTF-8 with BOM for Excel), atomically; the review columns last, as in OUTPUT_COLUMNS."""
    tail = ("status", "review", "note", "source")
    columns = [column for column in frame.columns if column not in (*tail, "fingerprint")]
    write_csv(frame[columns + [column for column in tail if column in frame.columns]], path)


def read_segments_csv(path: str | Path) -> pd.DataFrame:
    """Read a segments.csv written by `coder run` (or re-saved by a spreadsheet); integer columns as int64.

    >>> read_segments_csv("outputs/segments.csv").columns[:3].tolist()  # doctest: +SKIP
    ['segment_id', 'document', 'passage']
    """
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{display_name(path)}: no such segments file. Run `coder run` first, or pass the path of a segments.csv.")
    frame = read_table(path)
    missing = [column for column in ("document", "passage", "code") if column not in frame.columns]
    if missing:
        raise OutputError(f"{path}: missing column(s) {', '.join(missing)}; expected the columns of segments.csv.")
    for column in ("review", "note", "code_path", "label", "matched", "text", "segment_id", "status", "kind"):
        if column not in frame.columns:
            frame[column] = ""
    if "source" not in frame.columns:
        frame["source"] = "auto"
    if "page" in frame.columns:  # "3" and "3-4": text, whatever a spreadsheet made of them
        frame["page"] = frame["page"].astype(str).replace({"nan": ""}).str.removesuffix(".0")
    for column in _INTEGER_COLUMNS:
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            # 1.5 must not become passage 1: a fraction is as wrong as a word.
            wrong = (numbers.isna() | (numbers != numbers.round())).to_numpy()
            if wrong.any():
                row = int(wrong.argmax())
                raise OutputError(
                    f"{path}: row {row + 2}: column '{column}' must hold a whole number, not "
                    f"'{frame[column].iloc[row]}'. Pass segments.csv as `coder run` wrote it."
                )
            frame[column] = numbers.astype("int64")
    return frame


# --- the matched column ------------------------------------------------------------------------


def join_matched(words: Iterable[str]) -> str:
    """The `matched` cell for some words: distinct, in order, "; "-joined.

    >>> join_matched(["red tape", "delay", "red tape"])
    'red tape; delay'
    """
    return MATCHED_SEPARATOR.join(dict.fromkeys(word for word in words if word))


def split_matched(value: object) -> list[str]:
    """The distinct words of a `matched` cell, in order; a blank, missing or NaN cell has none.

    Splits on ";" and strips, so a cell a spreadsheet re-saved without the space still reads.

    >>> split_matched("red tape; delay;delay"), split_matched(float("nan"))
    (['red tape', 'delay'], [])
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    return list(dict.fromkeys(word.strip() for word in str(value).split(";") if word.strip()))


# --- review state ------------------------------------------------------------------------------


def normalize_decision(value: object) -> Decision | None:
    """Read a reviewer's spelling of a decision: "accept", "reject", or None when blank.

    Raises ValueError for anything else, naming the spellings that are understood.

    >>> normalize_decision(" Yes "), normalize_decision("n"), normalize_decision("")
    ('accept', 'reject', None)
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip().casefold()
    text = _NUMERIC.get(text, text)
    if not text:
        return None
    if text in _ACCEPT:
        return "accept"
    if text in _REJECT:
        return "reject"
    raise ValueError(
        f"'{value}' is not a review decision. Write accept (or yes, y, 1, ok, ✓), "
        f"reject (or no, n, 0, x, ✗) or add (to code a passage by hand), or leave it blank."
    )


def is_rejected(value: object) -> bool:
    """True when a `review` cell says reject in any accepted spelling (unknown values are not).

    >>> is_rejected("No"), is_rejected("maybe")
    (True, False)
    """
    try:
        return normalize_decision(value) == "reject"
    except ValueError:
        return False


def drop_rejected(segments: pd.DataFrame) -> pd.DataFrame:
    """The segments whose `review` does not say rejected (all of them without a review column).

    >>> frame = pd.DataFrame({"code": ["a", "b"], "review": ["no", ""]})
    >>> drop_rejected(frame)["code"].tolist()
    ['b']
    """
    if "review" not in segments.columns or segments.empty:
        return segments
    review = segments["review"]
    # Decide once per distinct spelling, not once per row: a million rows hold a handful.
    rejected = [value for value in pd.unique(review) if is_rejected(value)]
    if not rejected:
        return segments
    return segments[~review.isin(rejected).to_numpy()]


def build_code_counts(frame: pd.DataFrame, codebook: Codebook, documents: Iterable[str]) -> pd.DataFrame:
    """Passages coded per code (rows) and document (columns), with totals.

    `total` counts a code's own passages; `total_with_children` also counts passages coded only
    by its descendants (the roll-up a report needs). The last row, `(any code)`, counts passages
    coded by at least one code.
    """
    documents = list(documents)
    ids = [code.id for code in codebook]
    passages = frame[["document", "passage", "code"]].drop_duplicates()
    table = passages.groupby(["code", "document"]).size().unstack(fill_value=0) if len(passages) else pd.DataFrame()
    table = table.reindex(index=ids, columns=documents, fill_value=0)
    columns: dict[str, object] = {
        "code": ids,
        "code_path": [code.code_path for code in codebook],
        "label": [code.label for code in codebook],
    }
    values = table.to_numpy()
    for position, document in enumerate(documents):
        columns[document] = values[:, position]
    columns["total"] = values.sum(axis=1) if documents else [0] * len(ids)
    ancestors = passages.assign(
        ancestor=passages["code"].map(lambda code: codebook[code].path if code in codebook else (code,))
    ).explode("ancestor")
    rolled = ancestors.drop_duplicates(["document", "passage", "ancestor"]).groupby("ancestor").size()
    columns["total_with_children"] = rolled.reindex(ids, fill_value=0).to_numpy()
    result = pd.DataFrame(columns)
    coded = passages[["document", "passage"]].drop_duplicates()
    per_document = coded.groupby("document").size()
    any_row = {"code": "(any code)", "code_path": "", "label": "passages with at least one code"}
    for document in documents:
        any_row[document] = int(per_document.get(document, 0))
    any_row["total"] = any_row["total_with_children"] = len(coded)
    return pd.concat([result, pd.DataFrame([any_row])], ignore_index=True)
