"""Document variables (documents.csv) -> counts by group, counts in long form, documents chosen by --where.

documents.csv has a `document` column (the document's path as segments.csv names it) and one
column per variable (year, region, source type, ...). A column whose every non-empty cell is a
number is read as numbers. Everything else stays text, shown and written as data only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CoderError
from .files import (
    CHINESE_CODE_PAGES,
    LOSSY_ENCODINGS,
    LOST_CHARACTERS,
    SAVED_AS,
    display_name,
    lost_characters_pattern,
    read_table,
    table_encoding,
)
from .imports import LazyModule
from .names import AmbiguousNameError, DocumentNames, slashed

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

GROUP_COLUMNS = (
    "variable", "value", "code", "passages", "documents", "documents_share", "passages_share",
    "group_documents", "group_passages",
)


class DocumentsError(CoderError):
    """documents.csv cannot be used: no `document` column, duplicate rows, a bad --where."""


@dataclass(frozen=True)
class DocumentVariables:
    """The variables of each document: `table` has a `document` column, then one column per variable.

    `missing` lists corpus documents the sheet has no row for; `unknown` lists sheet rows naming
    no document of the corpus (both filled by `matched`, which leaves the latter out of `table`).
    """

    path: str
    table: pd.DataFrame
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    recased: tuple[str, ...] = ()  # rows naming a document in other capitals, each "'typed' as 'name'"
    misnamed: bool = False  # found as "Documents.csv" (other capitals) in the corpus folder, read as documents.csv
    lost: str = ""  # a plain-ASCII sheet's cells showing "??": what may have been Chinese (_lost_characters)
    code_page: str = ""  # the Chinese code page the sheet was read in, as CHINESE_CODE_PAGES names it ("Big5 (cp950)")

    @property
    def names(self) -> list[str]:
        """The variables, in the sheet's column order."""
        return [column for column in self.table.columns if column != "document"]

    def matched(self, documents: Iterable[str]) -> DocumentVariables:
        """The same variables, each row naming its corpus document as the corpus names it (a Windows path
        with backslashes, a name with a control or bidi character written as itself or as segments.csv
        escapes it: `names.DocumentNames`), with the corpus documents missing from the sheet and the rows naming none.

        Raises:
            DocumentsError: two rows name one document.
        """
        documents = list(documents)
        corpus = set(documents)
        # A Mac's disk or zip names "Café.txt" decomposed (NFD), a name typed in the sheet composed (NFC):
        # the same name to the eye, matched in the one form (probe R11). "report.txt" for the file
        # "Report.txt" is one file on Windows and macOS: taken, with a warning, when no other reads so (AH12).
        known = DocumentNames(documents)
        recased: list[str] = []

        def corpus_name(name: str, found: str | None) -> str:
            if found is None:
                found = known.find_in_any_case(name)
                if found in named:  # another row names it as it is: this one names a file gone (probe AK8)
                    found = None
                elif found is not None:
                    recased.append(f"'{display_name(name)}' as '{display_name(found)}'")
            return found if found is not None else slashed(name)

        try:
            exact = [known.find(name) for name in self.table["document"]]
            named = set(exact) - {None}
            names = [corpus_name(name, found) for name, found in zip(self.table["document"], exact)]
        except AmbiguousNameError as error:
            raise DocumentsError(f"{self.path}: {error}.") from None
        seen: dict[str, str] = {}
        for raw, name in zip(self.table["document"], names):
            if name in corpus and name in seen:
                raise DocumentsError(f"{self.path}: rows '{display_name(seen[name])}' and '{display_name(raw)}' both name "
                                     f"{display_name(name)}. Keep one row per document.")
            seen[name] = raw
        listed = set(names)
        table = self.table.assign(document=pd.Series(names, index=self.table.index, dtype=object))
        # Only the rows of corpus documents: a row naming none made its values groups of no document (a share
        # 0.0 in code_counts_by_group.csv, a value --where offered; probe AB9). It is warned about.
        table = table[[name in corpus for name in names]]
        return replace(
            self,
            table=table,
            missing=tuple(document for document in documents if document not in listed),
            unknown=tuple(display_name(raw) for raw, name in zip(self.table["document"], names) if name not in corpus),
            recased=tuple(recased),
        )

    def warnings(self) -> list[str]:
        """One line per mismatch between the sheet and the corpus (not an error: counts leave them out)."""
        lines = []
        if self.missing:
            lines.append(f"Warning: {self.path}: {len(self.missing)} document(s) of the corpus have no row: "
                         f"{', '.join(self.missing)}")
        if self.unknown:
            lines.append(f"Warning: {self.path}: {len(self.unknown)} row(s) name no document of the corpus: "
                         f"{', '.join(self.unknown)}")
        if self.misnamed:
            lines.append(f"Warning: {self.path}: read as the document variables, as Windows and macOS read it; "
                         f"name it documents.csv")
        if self.recased:
            lines.append(f"Warning: {self.path}: {len(self.recased)} row(s) name a document in other capitals, read as "
                         f"that document (Windows and macOS open either name as one file): {', '.join(self.recased)}")
        if self.lost:
            lines.append(f"Warning: {self.path}: {self.lost}")
        if self.code_page:
            lines.append(f"Warning: {self.path}: not UTF-8; read as {self.code_page}. If its names or values look "
                         f"wrong, save it as \"CSV UTF-8\" and run again.")
        return lines

    def values(self, document: str) -> dict[str, Any]:
        """One document's variables (blank cells left out)."""
        return page_variables(self).get(document, {})


def read_document_variables(path: str | Path) -> DocumentVariables:
    """Read documents.csv (any encoding, separator or .xlsx the one CSV reader takes).

    Raises:
        DocumentsError: no `document` column, or a document listed on more than one row.

    >>> variables = read_document_variables("seeds/documents.csv")  # doctest: +SKIP
    >>> variables.names  # doctest: +SKIP
    ['year', 'region']
    """
    table = read_table(path, chinese_code_pages=True)
    lost = _lost_characters(path, table)
    blank = [position for position, name in enumerate(table.columns, 1) if _BLANK_HEADER.fullmatch(str(name).strip())]
    if blank:  # pandas names a blank header cell "unnamed: N": it became a variable of that name (probe N10)
        raise DocumentsError(f"{path}: column {blank[0]} has no name in the header row. Name each variable's column, "
                             f"or delete the column.")
    if "document" not in table.columns:
        found = ", ".join(str(column) for column in table.columns) or "none"
        raise DocumentsError(
            f"{path}: no 'document' column (columns: {found}). Name the column holding each document's "
            f"path, as segments.csv writes it, 'document'."
        )
    # (the names as written: `matched` reads them against the corpus, backslashes as slashes or as escapes)
    table = table.assign(document=table["document"].astype(str).str.strip())
    table = table[table["document"] != ""]
    repeated = table[table["document"].map(slashed).duplicated(keep=False)]
    if len(repeated):
        rows = ", ".join(str(int(index) + 2) for index in repeated.index)  # line 1 is the header
        names = ", ".join(dict.fromkeys(repeated["document"]))
        raise DocumentsError(f"{path}: rows {rows}: more than one row for {names}. Keep one row per document.")
    taken = [str(name) for name in table.columns if str(name) in _COUNT_COLUMNS]
    if taken:
        raise DocumentsError(
            f"{path}: column(s) {', '.join(taken)} have the name of a column of code_counts_long.csv, where each "
            f"document's variables are written beside document, code and passages. Rename them (say, "
            f"{taken[0]}_of_document)."
        )
    columns = {"document": table["document"].reset_index(drop=True).astype(object)}
    for name in table.columns:
        if name != "document" and name:
            columns[name] = _typed(table[name])
    return DocumentVariables(path=str(path), table=pd.DataFrame(columns), lost=lost,
                             code_page=CHINESE_CODE_PAGES.get(table_encoding(table), ""))


def _lost_characters(path: str | Path, table: pd.DataFrame) -> str:
    """Stop when documents.csv was saved in a code page without the characters of its names or values
    (Excel's "CSV (Comma delimited)" writes each Chinese character as "?"): 长三角 and 珠三角 would both
    read as ???, one group. A lone "?" is a value (unknown); two together are a lost word. A sheet of
    plain ASCII may be a UTF-8 file whose "??" was typed ("year: ??"): its cells give a warning, returned,
    and only a column named "??" (no one names a column so) stops it."""
    encoding = table_encoding(table)
    if encoding in CHINESE_CODE_PAGES:
        return _lost_chinese_characters(path, table, encoding)
    if encoding not in LOSSY_ENCODINGS:
        return ""
    headers, cells = _places_showing(table, header=lambda name: "??" in name or name.strip() == "?",
                                     cell=lambda column: column.str.contains("??", regex=False))
    if not headers and not cells:
        return ""
    if headers or encoding != "ascii":
        raise DocumentsError(
            f"{path}: saved {SAVED_AS[encoding]}, which cannot hold Chinese and most other characters: "
            f"{'; '.join(headers + cells)} show \"?\" in their place, and values that differed would read as one. "
            f"Save it as \"CSV UTF-8\" and run again."
        )
    return (f"{'; '.join(cells)} show \"??\". If the sheet was saved {SAVED_AS[encoding]}, Chinese and most other "
            f"characters were lost there, and values that differed read as one: save it as \"CSV UTF-8\". "
            f"A \"??\" typed as a value is read as it is.")


def _lost_chinese_characters(path: str | Path, table: pd.DataFrame, encoding: str) -> str:
    """Stop when documents.csv, read as Big5, shows "?" beside a Chinese character: a character Big5 cannot
    hold (simplified 华), and values that differed would read as one (华北, 东北 as ?北; probe AX2). Read as
    GBK, which holds every Chinese character, only "??" does (a character such as ö or an emoji lost; a "?"
    typed beside Chinese is a question mark, probe AZ2)."""
    lost = lost_characters_pattern(encoding)
    headers, cells = _places_showing(table, header=lambda name: bool(lost.search(name)),
                                     cell=lambda column: column.str.contains(lost))
    if headers or cells:
        beside = "beside Chinese" if lost is LOST_CHARACTERS else "in their place"
        raise DocumentsError(
            f"{path}: read as {CHINESE_CODE_PAGES[encoding]}, which cannot hold every character: "
            f"{'; '.join(headers + cells)} show \"?\" {beside}, and values that differed would read as one. "
            f"Save it as \"CSV UTF-8\" and run again.")
    return ""


def _places_showing(table: pd.DataFrame, *, header: Callable[[str], bool],
                    cell: Callable[[pd.Series], pd.Series]) -> tuple[list[str], list[str]]:
    """The headers (`header` true of the name) and the columns with cells (`cell` true of a column as text)
    showing what a code page lost, each told as its place in the sheet, for the message that stops the run."""
    headers = [f"column {position} is named '{display_name(name)}'" for position, name in enumerate(table.columns, 1)
               if header(str(name))]
    cells = []
    for name in table.columns:
        rows = table.index[cell(table[name].astype(str))]
        if len(rows):
            cells.append(f"{len(rows)} cell(s) of column '{display_name(name)}' (first, row {int(rows[0]) + 2}: "
                         f"'{display_name(table[name][rows[0]])}')")
    return headers, cells


_COUNT_COLUMNS = ("code", "passages")  # code_counts_long.csv's own columns beside `document`
_BLANK_HEADER = re.compile(r"|unnamed: \d+", re.IGNORECASE)


# Whole numbers from here up are not all exact as floats (2**53), nor as Int64 past 2**63: such a column is text.
_EXACT_WHOLE = 2**53


def _typed(cells: pd.Series) -> pd.Series:
    """A column's cells: numbers when every non-empty cell is one (whole numbers as Int64), else text; blank is missing."""
    text = cells.astype(str).str.strip().reset_index(drop=True)
    filled = text[text != ""]
    numbers = pd.to_numeric(filled, errors="coerce")
    if len(filled) and numbers.notna().all():
        whole = bool((numbers == numbers.round()).all())
        if whole and bool((numbers.abs() >= _EXACT_WHOLE).any()):
            return text.where(text != "", None).astype(object)  # a 20-digit identifier: no number holds it exactly
        column = pd.to_numeric(text.where(text != "", None), errors="coerce")
        return column.round().astype("Int64") if whole else column.astype("float64")
    return text.where(text != "", None).astype(object)


def value_text(value: Any) -> str:
    """A variable's value as --where and the tables spell it (2020, not 2020.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value: Any) -> Any:
    """A cell as a JSON-ready Python value (numpy numbers to int/float); missing is None."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _rows(variables: DocumentVariables) -> dict[str, dict[str, Any]]:
    """{document: {variable: value or None}}, values as plain Python."""
    return {str(row["document"]): {name: _plain(row[name]) for name in variables.names}
            for row in variables.table.to_dict("records")}


def page_variables(variables: DocumentVariables | None) -> dict[str, dict[str, Any]]:
    """JSON-ready {document: {variable: value}} for the report page (blank cells left out).

    >>> table = pd.DataFrame({"document": ["a.txt"], "year": pd.array([2020], dtype="Int64")})
    >>> page_variables(DocumentVariables("documents.csv", table))
    {'a.txt': {'year': 2020}}
    """
    if variables is None:
        return {}
    return {document: {name: value for name, value in row.items() if value is not None}
            for document, row in _rows(variables).items()}


def select_documents(variables: DocumentVariables, where: Sequence[str], documents: Iterable[str]) -> list[str]:
    """The documents (of `documents`, in order) whose variables match every `name=value` (AND).

    Raises:
        DocumentsError: a condition without "=", an unknown variable or value (the message lists the choices).
    """
    keep = set(documents)
    documents = [document for document in documents if document in keep]
    rows = _rows(variables)
    for condition in where:
        name, sep, wanted = condition.partition("=")
        name, wanted = name.strip().lower(), wanted.strip()
        if not sep or not name:
            raise DocumentsError(f"--where {condition}: write it as VARIABLE=VALUE, for example --where region=Yangtze.")
        if name not in variables.names:
            raise DocumentsError(f"--where {condition}: {variables.path} has no variable '{name}'. "
                                 f"Variables: {', '.join(variables.names) or 'none'}.")
        choices = _values(variables.table[name])
        if wanted not in choices:
            raise DocumentsError(f"--where {condition}: no document has {name}={wanted}. "
                                 f"Values of {name}: {', '.join(choices)}.")
        keep = {document for document in keep
                if document in rows and rows[document][name] is not None and value_text(rows[document][name]) == wanted}
    chosen = [document for document in documents if document in keep]
    if not chosen:  # each condition holds for some document, but not all of them for one
        raise DocumentsError(f"--where {' --where '.join(where)}: no document has {' and '.join(where)} (several "
                             f"--where must all hold). Leave one out, or draw each group with its own --out.")
    return chosen


def _values(column: pd.Series) -> list[str]:
    """The distinct non-blank values of a variable, numbers in numeric order, text as first seen."""
    present = [_plain(value) for value in column if _plain(value) is not None]
    if all(isinstance(value, (int, float)) for value in present):
        present = sorted(set(present))
    return list(dict.fromkeys(value_text(value) for value in present))


def build_counts_long(
    segments: pd.DataFrame, variables: DocumentVariables | None = None, *, codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Passages coded per (document, code), one row each where the count is not zero, with the
    document's variables as columns (code_counts_long.csv). Documents in the order of `segments`,
    codes in the order of `codes` (the codebook's) when given.

    >>> frame = pd.DataFrame({"document": ["a", "a", "b"], "passage": [0, 1, 0], "code": ["x", "x", "x"]})
    >>> build_counts_long(frame).values.tolist()
    [['a', 'x', 2], ['b', 'x', 1]]
    """
    columns = ["document", "code", "passages"]
    if len(segments):
        # Integer keys, first-seen order (as a groupby without sorting lists its groups).
        document_index, documents = pd.factorize(segments["document"])
        passage_index, _ = pd.factorize(segments["passage"])
        code_index, code_names = pd.factorize(segments["code"])
        n_passages, n_codes = len(passage_index) and int(passage_index.max()) + 1, max(len(code_names), 1)
        rows = pd.unique((document_index.astype(np.int64) * n_passages + passage_index) * n_codes + code_index)
        row_document, row_code = rows // n_codes // n_passages, rows % n_codes
        pair, first = pd.factorize(row_document * n_codes + row_code)
        passages = np.bincount(pair, minlength=len(first)).astype(np.int64)
        order = {code: position for position, code in enumerate(codes if codes is not None else [])}
        code_rank = np.array([order.get(code, len(order)) for code in code_names], dtype=np.int64)
        pair_document, pair_code = first // n_codes, first % n_codes
        ranked = np.lexsort((np.arange(len(first)), code_rank[pair_code], pair_document))
        counts = pd.DataFrame({
            "document": documents[pair_document[ranked]], "code": code_names[pair_code[ranked]],
            "passages": passages[ranked],
        })
    else:
        counts = pd.DataFrame({column: [] for column in columns}).astype({"passages": "int64"})
    counts = counts[columns]
    if variables is not None and variables.names:
        counts = counts.merge(variables.table, on="document", how="left")
    return counts


def build_counts_long_from_cells(cells: np.ndarray, documents: Sequence[str], codes: Sequence[str]) -> pd.DataFrame:
    """code_counts_long.csv without document variables from code_counts.csv's cells (codes x `documents`,
    `segments.count_code_cells`), as `build_counts_long` builds it from the same segments when
    count_code_cells says its cells hold it: without counting the segments again.

    >>> build_counts_long_from_cells(np.array([[2, 0], [1, 1]]), ["a", "b"], ["x", "y"]).values.tolist()
    [['a', 'x', 2], ['a', 'y', 1], ['b', 'y', 1]]
    """
    cells = np.asarray(cells)
    # Document by document, codes in the codebook's order: the non-zero cells found in a transposed copy
    # of which cells are not zero (a byte each), not in the transposed cells themselves (strided reads of
    # 20 MB at 50 MB of corpus: twice the time).
    document, code = np.divmod(np.flatnonzero(np.ascontiguousarray((cells != 0).T)), max(cells.shape[0], 1))
    # Categories: each name turned into a CSV field once, as the text columns of build_counts_long are.
    return pd.DataFrame({
        "document": pd.Categorical.from_codes(document, categories=list(documents)),
        "code": pd.Categorical.from_codes(code, categories=list(codes)),
        "passages": cells[code, document].astype(np.int64),
    })


def build_group_counts(
    segments: pd.DataFrame,
    variables: DocumentVariables,
    *,
    passages_by_document: dict[str, int],
    codes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Code by variable value (code_counts_by_group.csv, long form): for each variable, value and code,
    the passages and documents it codes in that group and their shares of the group's documents and
    passages. A group is the corpus documents (the keys of `passages_by_document`) with that value;
    documents with a blank cell belong to no group of that variable.
    """
    frame = segments[["document", "passage", "code"]].drop_duplicates() if len(segments) else \
        pd.DataFrame({"document": [], "passage": [], "code": []})
    codes = list(codes) if codes is not None else list(dict.fromkeys(frame["code"]))
    per_code_document = frame.groupby(["code", "document"]).size() if len(frame) else pd.Series(dtype="int64")
    return group_counts_from(per_code_document, variables, passages_by_document=passages_by_document, codes=codes)


def group_counts_from(
    per_code_document: pd.Series, variables: DocumentVariables, *, passages_by_document: dict[str, int],
    codes: Sequence[str],
) -> pd.DataFrame:
    """build_group_counts from the passages each code codes per document (a Series on (code, document)),
    as a partitioned run (the Dask engine) sums them without a segment table. One pass over those counts
    per variable (it was one per value and code: minutes for a variable of 50 values on a big run)."""
    by_document = _rows(variables)
    frame = per_code_document.rename("passages").reset_index() if len(per_code_document) else None
    if frame is not None:
        frame.columns = ["code", "document", "passages"]
        frame["document"] = frame["document"].astype(str)
        frame["code"] = frame["code"].astype(str)
    rows = []
    for name in variables.names:
        value_of = {document: value_text(by_document[document][name]) for document in passages_by_document
                    if document in by_document and by_document[document][name] is not None}
        members: dict[str, list[str]] = {wanted: [] for wanted in _values(variables.table[name])}
        for document, value in value_of.items():
            if value in members:
                members[value].append(document)
        found: dict[tuple[str, str], tuple[int, int]] = {}
        if frame is not None and value_of:
            values = frame["document"].map(value_of)
            grouped = frame[values.notna()].assign(value=values[values.notna()], coded=frame["passages"] > 0)
            sums = grouped.groupby(["value", "code"], sort=False).agg(passages=("passages", "sum"),
                                                                     documents=("coded", "sum"))
            for (value, code), passages, documents in zip(sums.index, sums["passages"].tolist(),
                                                          sums["documents"].tolist()):
                found[value, code] = (int(passages), int(documents))
        for wanted, group in members.items():
            if not group:  # a value of documents left out (--where region=East: West), not a group of 0 documents
                continue
            group_passages = sum(passages_by_document[document] for document in group)
            for code in codes:
                passages, documents = found.get((wanted, code), (0, 0))
                rows.append((name, wanted, code, passages, documents,
                             round(documents / len(group), 6) if group else 0.0,
                             round(passages / group_passages, 6) if group_passages else 0.0,
                             len(group), group_passages))
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))

