"""Stage 5: coded Segments <-> DataFrame <-> CSV, and the code-by-document counts report."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .errors import OutputError
from .files import write_csv
from .models import Codebook, Segment

SEGMENT_COLUMNS = (
    "segment_id", "document", "passage", "start", "end", "code", "code_path", "label",
    "hits", "matched", "text", "review", "note",
)
_INTEGER_COLUMNS = ("passage", "start", "end", "hits")


def segments_to_frame(segments: Iterable[Segment]) -> pd.DataFrame:
    """One row per (passage, code), in the column order of segments.csv; review and note empty.

    >>> segments_to_frame([]).columns[:3].tolist()
    ['segment_id', 'document', 'passage']
    """
    rows = [
        (s.segment_id, s.document, s.passage, s.start, s.end, s.code, s.code_path, s.label,
         s.hits, "; ".join(s.matched), s.text, "", "")
        for s in segments
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(SEGMENT_COLUMNS))
    return frame.astype({column: "int64" for column in _INTEGER_COLUMNS})


def write_segments_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write segments.csv (UTF-8 with BOM for Excel), atomically."""
    write_csv(frame, path)


def read_segments_csv(path: str | Path) -> pd.DataFrame:
    """Read a segments.csv written by `coder run` (or re-saved by a spreadsheet)."""
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: no such segments file. Run `coder run` first, or pass the path of a segments.csv.")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False, sep=None, engine="python")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise OutputError(f"{path}: not a readable segments CSV ({error}).")
    missing = [column for column in ("document", "passage", "code") if column not in frame.columns]
    if missing:
        raise OutputError(f"{path}: missing column(s) {', '.join(missing)}; expected the columns of segments.csv.")
    for column in ("review", "note", "code_path", "label", "matched", "text", "segment_id"):
        if column not in frame.columns:
            frame[column] = ""
    for column in _INTEGER_COLUMNS:
        if column in frame.columns:
            try:
                frame[column] = pd.to_numeric(frame[column]).astype("int64")
            except (ValueError, TypeError):
                raise OutputError(f"{path}: column '{column}' must hold whole numbers.")
    return frame


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
