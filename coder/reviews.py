"""Reviews: the review file of decisions and hand-coded passages, import from spreadsheets, applying to segments.

The review file (default `reviews.csv` beside the codebook) is the only place decisions live:
`coder review import` merges a reviewed segments.csv (or .xlsx) into it, `coder run` first
imports what was typed into the segments.csv it is about to replace, then applies the file.
A decision is attached to a passage and a code: the segment id hashes the document, the
passage text and the code id, and when the id no longer matches (a code renamed, a document
renamed) the decision follows the passage text. `add` entries are passages a reviewer coded
by hand; every run turns them into segments with `source = manual`.

The file is never rewritten with fewer entries than it had, and the previous version is kept
as `reviews.csv.bak`, itself replaced only once the new backup is complete.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from itertools import repeat
from pathlib import Path
from typing import Literal

from .corpus import corpus_reads
from .errors import OutputError, first_lines, passages_held, quoted
from .files import (
    CANNOT_HOLD,
    CODE_PAGE_READINGS,
    LOCK_FILE,
    MAX_DIGITS,
    SAVED_AS,
    atomic_path,
    cannot_hold,
    cell_shown,
    command_argument,
    display_name,
    folder_lock,
    read_table,
    rows_with_lost_characters,
    saved_as,
    shows_lost_characters,
    table_encoding,
    whole_number,
    with_lost_characters_restored,
    write_csv,
)
from .imports import LazyModule
from .lexicon import fold_text
from .models import (
    Document,
    Passage,
    copy_fingerprint,
    normalize_segment_id,
    passage_fingerprint,
    passage_fingerprints,
    segment_id,
    segment_id_from_fingerprint,
    segment_ids_from_fingerprints,
)
from .names import AmbiguousNameError, DocumentNames
from .segments import ADD_SPELLINGS, STATUSES, WITHDRAW_SPELLINGS, decision_text, normalize_decision

pd = LazyModule("pandas")  # imported on first use: a label or colour edit needs none

Review = Literal["accept", "reject", "add", "withdraw"]
# `context`: for a decision on a passage repeated in its document, the passages around its copy (passage_context).
REVIEW_COLUMNS = ("segment_id", "document", "passage", "start", "end", "code", "decision", "note", "text", "reviewed_at",
                  "context")
PRECISION_COLUMNS = ("code", "segments", "reviewed", "accepted", "rejected", "precision", "added", "recall")
DETACHED_COLUMNS = ("document", "passage", "code", "decision", "note", "why")
REVIEWS_FILE = "reviews.csv"
MANUAL, AUTO = "manual", "auto"
_ADD = ADD_SPELLINGS


def normalize_review(value: object) -> Review | None:
    """A review cell: accept, reject, add (a passage coded by hand), withdraw (the decision taken removed: a
    blank cell keeps it) or None when blank.

    >>> normalize_review("Add"), normalize_review("y"), normalize_review(" Withdraw ")
    ('add', 'accept', 'withdraw')
    """
    if value is not None and decision_text(value) in _ADD:
        return "add"
    if value is not None and decision_text(value) in WITHDRAW_SPELLINGS:
        return "withdraw"
    return normalize_decision(value)


def written_cell_keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Each row's keys among the cells a run or an export wrote (`written`): its segment id, and its place: its
    document, code, passage, start and end, by which a row coding a passage by hand is noted (workbook_cells). An
    `add` row typed into a workbook has no id: it was read again on every import, and brought back a hand coding
    withdrawn since (probe YY1); a row copied with its code changed to code the passage by hand keeps the id of the
    row it was copied from, and the two were noted as one (ZZ1)."""
    def column(name: str) -> list[str]:
        if name not in frame.columns:
            return [""] * len(frame)
        return ["" if value is None or value != value else str(value).strip() for value in frame[name].tolist()]

    return [(normalize_segment_id(identifier), "add:" + "\x1f".join(place) if any(place) else "")
            for identifier, *place in zip(column("segment_id"), column("document"), column("code"),
                                          column("passage"), column("start"), column("end"))]


def _as_written_in(written: Mapping[str, tuple[str, str]], keys: tuple[str, str], cell: tuple[str, str]) -> bool:
    """Is a row's `cell` (written_cell) the one written under one of its `keys` (written_cell_keys)?"""
    return any(key and written.get(key) == cell for key in keys)


def written_cell(review: object, note: object) -> tuple[str, str]:
    """A row's (review, note) as compared with what was written there: the decision as coder spells it ("Reject",
    "n" and "拒绝" are "reject": compared as typed, a row whose note was edited took its spelled decision again,
    probe YY3), both stripped."""
    text = "" if review is None or review != review else str(review).strip()
    try:
        text = normalize_review(text) or "" if text else ""
    except ValueError:
        pass  # not a decision: compared as it is
    return text, "" if note is None or note != note else str(note).strip()


def workbook_cells(frame: pd.DataFrame) -> dict[str, list[str]]:
    """{key (written_cell_keys): [review, note]} of a workbook's rows as written or read (written_cell); rows of one
    segment (two reviewers' sheets pasted together) as an import joins them: their decision, their notes "; "-joined
    (the last row alone made the first one's cells typed again, probe YY2); a note as the cell holds it (a vertical
    tab a space: kept, the untouched cell counted as typed, XX7)."""
    from .xlsx import cell_characters

    reviews = frame["review"].tolist() if "review" in frame.columns else [""] * len(frame)
    notes = frame["note"].tolist() if "note" in frame.columns else [""] * len(frame)
    rows: dict[str, list[tuple[str, str]]] = {}
    for (identifier, place), review, note in zip(written_cell_keys(frame), reviews, notes):
        decision, text = written_cell(review, note)
        key = place if decision == "add" or not identifier else identifier
        if key:
            rows.setdefault(key, []).append((decision, cell_characters(text).strip()))
    cells = {}
    for key, cell in rows.items():
        decisions = {review for review, _ in cell if review}
        cells[key] = [decisions.pop() if len(decisions) == 1 else cell[-1][0],
                      "; ".join(dict.fromkeys(note for _, note in cell if note))]
    return cells


def decision_spellings(cells: pd.Series) -> tuple[dict[str, str], tuple[int, str] | None]:
    """Each distinct cell of a decision column -> its decision ("" when blank), decided once per
    spelling; and the first cell that is no decision, as (its position, why), or None."""
    spellings: dict[str, str] = {}
    for value in cells.unique():
        try:
            spellings[value] = normalize_review(value) or ""
        except ValueError as error:
            return spellings, (int((cells == value).to_numpy().argmax()), str(error))
    return spellings, None


def default_reviews_path(codebook: str | Path) -> Path:
    """The review file beside the codebook: `codebook.yaml` -> `reviews.csv` in the same folder."""
    return Path(codebook).parent / REVIEWS_FILE


# --- the review file -----------------------------------------------------------------------


def empty_reviews() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=str) for column in REVIEW_COLUMNS})


def _backup_path(path: Path) -> Path:
    """Where write_reviews keeps the review file before it: reviews.csv.bak beside reviews.csv."""
    return path.with_name(path.name + ".bak")


def refuse_reviews_in_corpus(reviews_file: Path, corpus: str | Path) -> None:
    """Refuse a review file the corpus would read as a document (`--reviews corpus/reviews.txt`: the next
    run coded the decisions as a document, probe BE4), as an --out inside the corpus is refused. A
    reviews.csv there (beside a codebook kept in the corpus folder) is no document type: it stays allowed, and so
    is a file the corpus walk passes over (`corpus/.coder/reviews.txt`, in a run's folder: probe BH3).

    Raises:
        OutputError: the corpus reads the review file (a .txt, .md, .pdf ... file in the corpus folder).
    """
    if corpus_reads(corpus, reviews_file):
        raise OutputError(f"{display_name(reviews_file)}: is inside the corpus folder {display_name(corpus)}, so the "
                          f"next run would code the review file as a document. Pass a --reviews file outside the corpus.")


def _not_a_review_file(path: Path) -> str:
    """The message for a file passed as the review file that is none (no segment_id and decision columns)."""
    return (f"{path}: not a review file: a review file is a table (CSV or .xlsx) of decisions on coded segments, "
            f"one row each, with the columns {', '.join(REVIEW_COLUMNS)}. "
            f"{_restore_advice(path)}Pass another file with --reviews.")


def _header_names_a_review_file(path: Path) -> bool | None:
    """Does the header row of a text file that read_table could not read name the columns segment_id and
    decision, however a spreadsheet saved it (UTF-16 with or without a byte order mark, Excel's `sep=;`
    line before it, the names renamed `Segment ID`)? Then the reader's message says what is wrong with
    the table (probe BH4). None for a workbook, an empty file or one that cannot be opened."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return None
    try:
        with open(path, "rb") as file:
            start = file.read(65536)
    except OSError:
        return None
    if not start.strip():
        return None
    if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif b"\x00" in start[:512]:  # UTF-16 without a byte order mark: the NULs are the high bytes of ASCII
        encoding = "utf-16-le" if start[1:512:2].count(0) >= start[0:512:2].count(0) else "utf-16-be"
    else:
        encoding = "utf-8"  # the column names are ASCII in every code page the reader reads
    lines = start.decode(encoding, errors="replace").lstrip("\ufeff").splitlines()[:2]
    header = lines[1] if len(lines) > 1 and re.fullmatch(r"\s*sep=.\s*", lines[0], re.IGNORECASE) else lines[0]
    names = re.sub(r"[\s_\-]", "", header.casefold())
    return "segmentid" in names and "decision" in names


def _restore_advice(path: Path) -> str:
    """ "Restore it from reviews.csv.bak. " when that backup exists, else nothing."""
    backup = _backup_path(path)
    return f"Restore it from {backup.name}. " if backup.is_file() else ""


def _in_device_folder(folder: Path) -> bool:
    """Is `folder` /dev or under it, links followed? A codebook read as /dev/stdin or /dev/fd/63 (a shell's
    pipe) puts the default review file there, where a reboot empties what was written (probe KK10).
    /dev/shm, a folder of files like /tmp, is not a device folder (probe NN8)."""
    if os.name != "posix":
        return False
    device, shared_memory = Path("/dev"), Path("/dev/shm")
    for spelling in (folder, Path(os.path.realpath(folder))):
        if (spelling == device or device in spelling.parents) and not (
                spelling == shared_memory or shared_memory in spelling.parents):
            return True
    return False


def review_file_lock(reviews_path: str | Path, *, if_writable: bool = False,
                     advice: str = "Pass --reviews with a file in a folder you can write in."):
    """Hold the lock of the review file's folder (`files.folder_lock`) while it is read and written. Held
    by another command, the error names the review file and its folder: "." (the codebook's folder,
    named as typed) read as the run's output folder (probe HH6). A folder under /dev is refused as one
    that cannot be written (a piped codebook's /dev/fd or /dev/stdin): with `if_writable`, not locked."""
    path = Path(reviews_path)
    folder = Path(os.path.abspath(path.parent))
    if _in_device_folder(folder):
        if if_writable:
            return nullcontext()
        raise OutputError(f"{display_name(path.parent)}: cannot write in this folder (a device folder, which a "
                          f"reboot empties). {advice}")
    busy = (f"{display_name(path.name)} in {display_name(folder)} is being updated by another coder command right now "
            f"(a `coder run` with this review file, from its start to its end, or a `coder review import`; it holds "
            f"{display_name(folder / LOCK_FILE)}). Runs that share a review file take turns, so that neither loses "
            f"a decision the other imports: wait for it to finish, then try again.")
    return folder_lock(path.parent / LOCK_FILE, if_writable=if_writable, advice=advice, busy=busy)


def read_reviews(
    path: str | Path, *, written: Callable[[], Mapping[str, tuple[str, str]] | None] | None = None,
) -> pd.DataFrame:
    """Read the review file; a missing file is an empty review file (no decisions yet).

    Ids written before the "s" prefix are read in the current form; lines that repeat an entry
    word for word (two reviewers' files pasted together) are read once; lines that give one
    segment different decisions are an OutputError naming them. So is a file saved in a code page
    that lost characters (`_refuse_lost_characters`); `written` gives the (review, note) the last run
    wrote into segments.csv to tell such a note by, asked only of a file saved so.
    """
    path = Path(path)
    if not path.exists():
        return empty_reviews()
    try:
        frame = read_table(path, chinese_code_pages=True)
    except OutputError:
        if _header_names_a_review_file(path) is not False:
            raise  # a review file with a problem of its own (a ragged row, an empty file): the reader names it
        # `--reviews out/run.json` said "row 2 has more cells than the header row" (probe BE4)
        raise OutputError(_not_a_review_file(path)) from None
    if "segment_id" not in frame.columns or "decision" not in frame.columns:
        raise OutputError(_not_a_review_file(path))
    for column in REVIEW_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    _refuse_lost_characters(path, frame, written)
    frame = frame[list(REVIEW_COLUMNS)].reset_index(drop=True)
    spellings, wrong = decision_spellings(frame["decision"])
    if wrong is not None:
        raise OutputError(f"{path}:{wrong[0] + 2}: {wrong[1]}")
    frame["decision"] = frame["decision"].map(spellings).replace({"withdraw": ""})  # typed there: no decision
    ids = [normalize_segment_id(value) for value in frame["segment_id"]]
    for position, (identifier, record) in enumerate(zip(ids, frame.to_dict("records"))):
        if not identifier:  # an id a spreadsheet mangled: the passage text still names the segment
            if not (record["document"] and record["code"] and record["text"]):
                raise OutputError(
                    f"{path}:{position + 2}: segment_id '{record['segment_id']}' is damaged and the line has no "
                    f"document, code and text to find the segment by. {_restore_advice(path) or 'Correct the line.'}".rstrip()
                )
            ids[position] = segment_id(record["document"], record["text"], record["code"])
    frame["segment_id"] = ids
    return _fold_duplicates(frame, path)


def _refuse_lost_characters(path: Path, frame: pd.DataFrame,
                            written: Callable[[], Mapping[str, tuple[str, str]] | None] | None) -> None:
    """Stop when the review file was saved in a code page that lost characters (Excel's "CSV (Comma
    delimited)" writes each Chinese character as "?"): lines whose passage text or document shows "?"
    where the segment id says otherwise, or whose note is, saved so, its note in the backup or in the
    last run's segments.csv (`written`). Read, its notes would be taken as they now are, and the next
    write would keep them so."""
    encoding = table_encoding(frame)
    if encoding not in CODE_PAGE_READINGS:
        return
    damaged = rows_with_lost_characters(frame)
    notes_before = _backup_notes(path)
    last_run = (written() if written is not None else None) or {}
    notes_before.update((identifier, note) for identifier, (_, note) in last_run.items() if note)
    for position, identifier, note in zip(frame.index, frame["segment_id"], frame["note"]):
        before = notes_before.get(normalize_segment_id(identifier), "")
        if before and note != before and note == saved_as(before, encoding):
            damaged[position] = True
    if damaged.any():
        first = int(damaged.to_numpy().argmax()) + 2
        backup = _backup_path(path)
        restore = f"restore it from {backup.name}" if backup.is_file() else "restore it from a backup"
        raise OutputError(
            f"{path}:{first}: saved {SAVED_AS[encoding]}, which cannot hold {cannot_hold(encoding)}: "
            f"{int(damaged.sum())} line(s) show \"?\" in their place in the passage text, document or note, and a note "
            f"read so would replace the one you wrote. Nothing was read. If the file is "
            f"still open in your spreadsheet, save it again as \"CSV UTF-8\"; otherwise {restore}, redo your "
            f"change and save it as \"CSV UTF-8\"."
        )


def _backup_notes(path: Path) -> dict[str, str]:
    """{segment id: note} of the review file's backup (reviews.csv.bak), read as the review file is (Big5 and GBK
    too: a backup of a file saved so was read as Windows-1252, its notes as mojibake); empty when it cannot be read."""
    backup = _backup_path(path)
    try:
        frame = read_table(backup, chinese_code_pages=True) if backup.is_file() else None
    except OutputError:
        return {}
    if frame is None or not {"segment_id", "note"} <= set(frame.columns):
        return {}
    return {normalize_segment_id(identifier): note for identifier, note in zip(frame["segment_id"], frame["note"]) if note}


def _fold_duplicates(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    repeated = frame["segment_id"].duplicated(keep=False)
    if not repeated.any():
        return frame
    problems = []
    for identifier, rows in frame[repeated].groupby("segment_id", sort=False):
        if len(rows[["decision", "note"]].drop_duplicates()) > 1:
            lines = ", ".join(str(position + 2) for position in rows.index)
            said = " / ".join(f"{decision or '(blank)'}" + (f" ({note})" if note else "")
                              for decision, note in zip(rows["decision"], rows["note"]))
            problems.append(f"{identifier} ({rows['code'].iloc[0]}, {rows['document'].iloc[0]}): lines {lines} say {said}")
    if problems:
        raise OutputError(
            f"{path}: {len(problems)} segment(s) appear on several lines with different decisions "
            f"(two review files pasted together?):\n  " + "\n  ".join(first_lines(problems))
            + f"\nKeep one line per segment in {path} and run the command again."
        )
    return frame.drop_duplicates("segment_id", keep="first").reset_index(drop=True)


def write_reviews(reviews: pd.DataFrame, path: str | Path, *, removed: int = 0) -> Path | None:
    """Replace the review file atomically, keeping the old one as `<name>.bak`.

    Refuses (OutputError) to write fewer entries than the file on disk holds: a review file only
    grows, but for the `removed` entries a reviewer withdrew (passages coded by hand). The backup
    is itself written to a temporary file first, so the previous good backup stays until the new
    one is complete. Returns the backup path, or None when there was no file before.
    """
    path = Path(path)
    before = read_reviews(path) if path.exists() else None
    if before is not None and len(reviews) < len(before) - removed:
        raise OutputError(
            f"{path}: refusing to write {len(reviews)} review entries over {len(before)} "
            f"({len(before) - removed - len(reviews)} would be lost). The review file is left unchanged."
        )
    frame = reviews.reindex(columns=list(REVIEW_COLUMNS)).fillna("").astype(str)
    backup = None
    if before is not None:
        backup = _backup_path(path)
        with atomic_path(backup) as temporary:
            shutil.copyfile(path, temporary)
    write_csv(frame, path)
    return backup


# --- finding passages ----------------------------------------------------------------------------


class PassageLocator:
    """The passages of a corpus, split on demand, to resolve hand-coded rows and damaged ids.

    >>> locator = PassageLocator(read_corpus("seeds").documents, unit="paragraph")  # doctest: +SKIP
    >>> locator.passage("a.txt", 3).text  # doctest: +SKIP
    """

    def __init__(self, documents: Iterable[Document], *, unit: str = "paragraph", earlier: Iterable[str] = (),
                 earlier_passages: Callable[[], pd.DataFrame | None] | None = None,
                 recorded_texts: Callable[[], Mapping[str, str]] | None = None):
        self.documents = {document.path: document for document in documents}
        self.unit = unit
        # {document: sha256 of its text} as the runs in the folder recorded them (RunFolder.recorded_texts), read
        # when first asked: which document a gone one was renamed to.
        self._recorded_texts = recorded_texts
        # The documents of the run before: a document gone since can have been renamed only to one new since.
        self.earlier = frozenset(earlier)
        # The passages table of the run before (RunFolder.read_passages_if_any), read when first asked.
        self._earlier_passages = earlier_passages
        self._earlier_table: pd.DataFrame | None = None
        self._earlier_texts: dict[str, dict[int, tuple[int, int, str]]] = {}
        self._earlier_contexts: dict[str, dict[str, list[int]]] = {}
        self._earlier_normalized: dict[str, Counter[str]] = {}
        self._passages: dict[str, list[Passage]] = {}
        self._fingerprints: dict[str, list[str]] = {}
        self._sides_before: dict[str, frozenset[str]] = {}
        self._folded_before: dict[str, dict[str, set[str]]] = {}
        self._neighbours: dict[str, _Neighbours] = {}
        self._deletions: dict[str, _Deletions | None] = {}
        self._deletions_across: dict[tuple[str, str], _Deletions | None] = {}

    def renamed_to(self, document: str) -> str | None:
        """The one document of the corpus holding, unchanged, the text a run recorded for `document`, now gone
        from it (renamed); None when it is not gone, or no run recorded it, or its text is not there once."""
        if document in self.documents or self._recorded_texts is None:
            return None
        text = self._recorded_texts().get(document)
        found = [path for path, source in self.documents.items() if text and source.sha256 == text]
        return found[0] if len(found) == 1 else None

    def renamed_and_run(self, document: str) -> str | None:
        """renamed_to(document), once a run has coded the document under its new name: that run moved its decisions
        there, and one filed under the gone name now no run follows (probe AM4). Before it, the next run does."""
        renamed = self.renamed_to(document)
        return renamed if renamed is not None and renamed in self._recorded_texts() else None  # type: ignore[misc]

    @cached_property
    def names(self) -> DocumentNames:
        """The corpus documents, found by a name typed in a workbook (NFC or NFD, "\\" for "/", "./")."""
        return DocumentNames(self.documents)

    def passages(self, document: str) -> list[Passage]:
        if document not in self._passages:
            from .passages import split_passages

            source = self.documents.get(document)
            self._passages[document] = split_passages(source, unit=self.unit) if source else []  # type: ignore[arg-type]
        return self._passages[document]

    def passage(self, document: str, index: int) -> Passage | None:
        passages = self.passages(document)
        return passages[index] if 0 <= index < len(passages) else None

    def fingerprint(self, document: str, index: int) -> str:
        """passage_fingerprint() of a passage of the document, numbered when it repeats an earlier one (as a run numbers it)."""
        if document not in self._fingerprints:
            self._fingerprints[document] = passage_fingerprints(document, [passage.text for passage in self.passages(document)])
        return self._fingerprints[document][index]

    def context(self, document: str, index: int) -> str:
        """passage_context() of a passage of the document."""
        return passage_context(self.passages(document), index)

    def earlier_context(self, document: str, passage: object, start: object, end: object, text: object) -> str:
        """passage_context() of a passage as the run before had it, named as a review entry names it (its passage
        number, start and end in that run, and its text); "" when that run's passages table does not show it so.
        A decision kept without a context whose passage repeats now (a copy added since, or another passage
        corrected to read as it) is told from the other copies by where it was."""
        if self._earlier_passages is None or not isinstance(text, str):
            return ""
        passages = self._earlier_of(document)
        number = whole_number(str(passage))
        if number is None or number not in passages:
            return ""
        first, last, words = passages[number]
        if (str(first), str(last)) != (str(start), str(end)) or _normalized(words) != _normalized(text):
            return ""
        return _context(passages[number - 1][2] if number - 1 in passages else "",
                        passages[number + 1][2] if number + 1 in passages else "")

    def earlier_host(self, document: str, passage: object, start: int, end: int,
                     text: str) -> tuple[int, str, str, int] | None:
        """(start, text, passage_context(), which copy of its text it is, from 0) of passage `passage` of the
        document as the run before had it, when it holds the span `start`-`end` reading `text` and is more than it
        (a passage coded by hand in part); else None."""
        if self._earlier_passages is None:
            return None
        passages, number = self._earlier_of(document), whole_number(str(passage))
        if number is None or number not in passages:
            return None
        first, last, words = passages[number]
        if not (first <= start < end <= last) or (first, last) == (start, end) or _normalized(text) not in _normalized(words):
            return None
        copy = sum(1 for other, (_, _, read) in passages.items() if other < number and _normalized(read) == _normalized(words))
        return first, words, _context(passages[number - 1][2] if number - 1 in passages else "",
                                      passages[number + 1][2] if number + 1 in passages else ""), copy

    def earlier_copy_contexts(self, document: str, text: object) -> set[str]:
        """passage_context() of every copy of `text` in the document as the run before had it; none when that
        run's passages table is not at hand."""
        return set(self.earlier_copy_order(document, text) or ())

    def earlier_copy_order(self, document: str, text: object) -> list[str] | None:
        """passage_context() of each copy of `text` in the document as the run before had it, first copy first;
        None when that run's passages table is not at hand or does not hold the document."""
        if self._earlier_passages is None or not isinstance(text, str):
            return None
        passages, wanted = self._earlier_of(document), _normalized(text)
        if not passages:
            return None
        return [_context(passages[number - 1][2] if number - 1 in passages else "",
                         passages[number + 1][2] if number + 1 in passages else "")
                for number, (_, _, words) in sorted(passages.items()) if _normalized(words) == wanted]

    def context_now(self, document: str, context: str, *, as_before: bool = False) -> str:
        """passage_context() now of the one passage that had `context` in the run before, when it and the
        passages around it are where they were and read as they did but for whitespace (_folded: a new coder
        reads a line end with a space more or less); "" otherwise. A copy's context names its neighbours' text
        with its spaces, and a decision kept one before its neighbours' text changed so."""
        if self._earlier_passages is None or not context:
            return ""
        passages = self._earlier_of(document)
        found = self._earlier_numbers(document).get(context, [])
        if len(found) != 1:
            return ""
        number = found[0]
        for near in (number - 1, number, number + 1):
            then, now = passages.get(near), self.passage(document, near) if near >= 0 else None
            if (then is None) != (now is None) or (now is not None and (
                    (now.start, now.end) != then[:2] or _folded(now.text) != _folded(then[2]))):  # type: ignore[index]
                return ""
        return self.context_as_before(document, number) if as_before else self.context(document, number)

    def kept_by_deletion(self, document: str, context: str, index: int) -> bool | None:
        """Whether passage `index` of the document now may be the one passage that had `context` in the run before,
        passages deleted around it: the passages both runs read (by text, in order) before it now are some of those
        before it then, and so after it. None when that cannot be told: no passages table of the run before, no
        one passage had `context` then, or passages moved since (those both runs read are not, in order, some of
        the run before's). A copy whose neighbour now was beyond its other neighbour then is another copy."""
        if self._earlier_passages is None or not context:
            return None
        if document not in self._deletions:
            self._deletions[document] = _Deletions.of(
                [(number, _normalized(words)) for number, (_, _, words) in sorted(self._earlier_of(document).items())],
                [(passage.index, _normalized(passage.text)) for passage in self.passages(document)])
        deletions, found = self._deletions[document], self._earlier_numbers(document).get(context, [])
        if deletions is None or len(found) != 1:
            return None
        return deletions.keeps(found[0], index)

    def kept_across(self, was: str, document: str, context: str, index: int) -> bool | None:
        """kept_by_deletion() for passage `index` of `document` now as the passage of document `was` that had
        `context` in the run before: the document renamed, or a passage of it read again (並 -> 并), its passages
        compared as the matcher reads them (_folded)."""
        if self._earlier_passages is None or not context:
            return None
        if (was, document) not in self._deletions_across:
            self._deletions_across[was, document] = _Deletions.of(
                [(number, _folded(words)) for number, (_, _, words) in sorted(self._earlier_of(was).items())],
                [(passage.index, _folded(passage.text)) for passage in self.passages(document)])
        deletions, found = self._deletions_across[was, document], self._earlier_numbers(was).get(context, [])
        if deletions is None or len(found) != 1:
            return None
        return deletions.keeps(found[0], index)

    def _earlier_numbers(self, document: str) -> dict[str, list[int]]:
        """{passage_context(): the numbers of the passages that had it} of the document in the run before."""
        if document not in self._earlier_contexts:
            passages, by_context = self._earlier_of(document), dict[str, list[int]]()
            for number in passages:
                by_context.setdefault(_context(passages[number - 1][2] if number - 1 in passages else "",
                                               passages[number + 1][2] if number + 1 in passages else ""), []).append(number)
            self._earlier_contexts[document] = by_context
        return self._earlier_contexts[document]

    def side_as_before(self, document: str, index: int) -> str:
        """How a context names a passage of the document now (_side; "" past its edge), but as the run before named
        it when it reads as one of that run's passages but for whitespace or 並/并 (_folded; a line re-wrapped, as
        a new extraction of a PDF gives) and as no other: a copy's neighbour re-wrapped is the neighbour it had."""
        passage = self.passage(document, index) if index >= 0 else None
        if passage is None:
            return _side("")
        side = _side(passage.text)
        if self._earlier_passages is None or side in self.sides_before(document):
            return side
        if document not in self._folded_before:
            texts: dict[str, set[str]] = {}
            for _, _, words in self._earlier_of(document).values():
                texts.setdefault(_folded(words), set()).add(_normalized(words))
            self._folded_before[document] = texts
        was = self._folded_before[document].get(_folded(passage.text), set())
        return _side(next(iter(was))) if len(was) == 1 else side

    def context_as_before(self, document: str, index: int) -> str:
        """passage_context() of a passage of the document, its neighbours named as side_as_before() names them."""
        return f"{self.side_as_before(document, index - 1)}-{self.side_as_before(document, index + 1)}"

    def sides_before(self, document: str) -> frozenset[str]:
        """The short hashes (_side) of the document's passages in the run before; none without its passages table."""
        if document not in self._sides_before:
            earlier = self._earlier_of(document) if self._earlier_passages is not None else {}
            self._sides_before[document] = frozenset(_side(words) for _, _, words in earlier.values())
        return self._sides_before[document]

    def neighbours(self, document: str) -> _Neighbours:
        """What a copy's neighbour in the document can be, now and in the run before (_copy_of)."""
        if document not in self._neighbours:
            count = len(self.passages(document))
            now = frozenset([_side(""), *(self.side_as_before(document, index) for index in range(count))])
            self._neighbours[document] = _Neighbours(now, self.sides_before(document))
        return self._neighbours[document]

    def held_before(self, document: str, text: str) -> int | None:
        """How many passages of the document read `text` (_normalized) in the run before; None when its passages
        table is not at hand."""
        if self._earlier_passages is None:
            return None
        passages = self._earlier_of(document)
        if self._earlier_table is None or self._earlier_table.empty:
            return None
        if document not in self._earlier_normalized:
            self._earlier_normalized[document] = Counter(_normalized(words) for _, _, words in passages.values())
        return self._earlier_normalized[document][_normalized(text)]

    def _earlier_of(self, document: str) -> dict[int, tuple[int, int, str]]:
        """{passage number: (start, end, text)} of the document in the run before's passages table."""
        if self._earlier_table is None:
            table = self._earlier_passages() if self._earlier_passages is not None else None
            self._earlier_table = table if table is not None else pd.DataFrame(columns=["document", "passage", "start", "end", "text"])
        if document not in self._earlier_texts:
            rows = self._earlier_table[self._earlier_table["document"].astype(str) == document]
            self._earlier_texts[document] = {int(number): (int(first), int(last), str(words)) for number, first, last, words
                                             in zip(rows["passage"], rows["start"], rows["end"], rows["text"])}
        return self._earlier_texts[document]

    def containing(self, document: str, offset: int) -> Passage | None:
        for passage in self.passages(document):
            if passage.start <= offset < passage.end:
                return passage
        return None

    def find(self, text: str, *, document: str | None = None, folded: bool = False) -> list[Passage]:
        """Passages whose text is `text` (whitespace and case ignored; `folded`: read as the matcher reads
        it, see _folded): in `document`, else anywhere."""
        names = [document] if document is not None else list(self.documents)
        compared = _folded if folded else _normalized
        wanted = compared(text)
        return [passage for name in names for passage in self.passages(name) if compared(passage.text) == wanted]


def passage_context(passages: Sequence[Passage], index: int) -> str:
    """What tells a copy of a repeated passage from the others: short hashes of the passage before it and
    the passage after it (whitespace and case ignored; "" before the first and after the last).

    >>> passages = [Passage("a.txt", number, 0, 0, text, text) for number, text in enumerate(["Q1", "Yes.", "Q2", "Yes."])]
    >>> passage_context(passages, 1) != passage_context(passages, 3)
    True
    """
    return _context(passages[index - 1].text if index > 0 else "", passages[index + 1].text if index + 1 < len(passages) else "")


def _context(before: str, after: str) -> str:
    return f"{_side(before)}-{_side(after)}"


def _side(text: str) -> str:
    """How a context names a passage: a short hash of its text (whitespace and case ignored; "" the document's edge)."""
    return hashlib.sha1(_normalized(text).encode()).hexdigest()[:8]


def _folded(text: str) -> str:
    """_normalized(text) as the matcher reads it, traditional and simplified characters, full and half
    width, one (lexicon.fold_text), and without its whitespace. A passage whose 並 became 并 is the
    passage it was, and so is one whose text a new coder reads with a space more or less at a line end
    ("acceptor" and "accept or": the matcher reads the document, whose characters did not change).

    >>> _folded("河湖長聯席會議 並舉行") == _folded("河湖长联席会议 并举行"), _folded("accept or") == _folded("Acceptor")
    (True, True)
    """
    return "".join(fold_text(_normalized(text)).split())


def _normalized(text: str) -> str:
    """The text with runs of whitespace as one space, stripped, casefolded: how a passage is compared.

    str.split() breaks at exactly the characters a regex's \\s matches (str.isspace) and casefold never
    makes whitespace, so this is `re.sub(r"\\s+", " ", text).strip().casefold()` at less than half the cost.

    >>> _normalized("  Joint\\n\\tMEETING ")
    'joint meeting'
    """
    return " ".join(str(text).split()).casefold()


# --- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionChange:
    segment_id: str
    code: str
    old: str  # "accept", "reject", "add" or "" for a note-only entry
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
    lost: LostCharacters | None = None

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
        if self.lost is not None:
            lines.append(self.lost.render())
        return "\n".join(lines)


@dataclass(frozen=True)
class LostCharacters:
    """A reviewed file saved in a code page without characters coder or the reviewer wrote there (Excel's
    "CSV (Comma delimited)" writes each Chinese character as "?"): how many rows show it, how many notes
    were kept as they were before rather than imported so, and the lines of notes typed there that
    show "??" (Chinese typed and lost, as likely as not)."""

    source: str
    encoding: str
    rows: int
    kept: int
    retype: tuple[int, ...] = ()

    def render(self) -> str:
        kept = f" {self.kept} note(s) were kept as they were before, not imported with \"?\"." if self.kept else ""
        chinese = self.encoding in CANNOT_HOLD  # Big5 or GBK: a "?" beside a Chinese character is one lost
        retype = (f" The note(s) typed on line(s) {', '.join(first_lines([str(line) for line in self.retype], 10))} "
                  f"show \"{'?' if chinese else '??'}\": retype what was lost there." if self.retype else "")
        lost = "what its code page cannot hold, typed into it, is lost" if chinese else "Chinese typed into it is lost"
        return (f"Warning: {self.source} was saved {SAVED_AS[self.encoding]}, which cannot hold "
                f"{cannot_hold(self.encoding)}: {self.rows} row(s) show \"?\" in their place.{kept}{retype} Save it as "
                f"\"CSV UTF-8\" next time: {lost} in any other CSV.")


@dataclass(frozen=True)
class _RestoredNotes:
    """A table's notes with what its code page lost taken back (`_notes_restored`), by row: which notes
    that changed, and which typed notes still show "??"."""

    table: pd.DataFrame
    kept: pd.Series
    retype: pd.Series


def lost_characters(
    table: pd.DataFrame, source: str | Path, *, notes: _RestoredNotes | None = None,
) -> LostCharacters | None:
    """What a table read in a code page without Chinese (`table_encoding`) lost: rows whose passage text
    or document shows "?" where their segment id says otherwise, or whose note was kept or shows "??"
    (`notes`); None when it was read in another encoding or nothing shows the loss."""
    encoding = table_encoding(table)
    if encoding not in CODE_PAGE_READINGS:
        return None
    none = pd.Series(False, index=table.index)
    kept, retype = (notes.kept, notes.retype) if notes is not None else (none, none)
    rows = int((rows_with_lost_characters(table) | kept | retype).sum())
    lines = tuple(int(position) + 2 for position in table.index[retype])
    return LostCharacters(str(source), encoding, rows, int(kept.sum()), lines) if rows else None


def _notes_restored(table: pd.DataFrame, notes_before: Mapping[str, str]) -> _RestoredNotes | None:
    """`table` (read in a code page without Chinese) with each note's lost characters taken back from the
    note its segment had before (`notes_before`: segment id -> note); None when it has no notes or was
    read in another encoding. A note typed there is kept as typed (`with_lost_characters_restored`)."""
    encoding = table_encoding(table)
    if encoding not in CODE_PAGE_READINGS or not {"segment_id", "note"} <= set(table.columns):
        return None
    before = [notes_before.get(normalize_segment_id(identifier), "") for identifier in table["segment_id"]]
    notes = [with_lost_characters_restored(str(note), old, encoding) for note, old in zip(table["note"], before)]
    kept = pd.Series([new != str(saved) for new, saved in zip(notes, table["note"])], index=table.index, dtype=bool)
    retype = pd.Series([shows_lost_characters(new, encoding) and new != old for new, old in zip(notes, before)],
                       index=table.index, dtype=bool)
    restored = table.assign(note=notes)
    restored.attrs["encoding"] = encoding
    return _RestoredNotes(restored, kept, retype)


def _coder_cells_restored(table: pd.DataFrame, locate: Locate | None, *, encoding: str) -> pd.DataFrame:
    """`table` (read in `encoding`, a code page without Chinese) with the document names and passage texts
    coder wrote there taken back from the corpus (`locate`) where the code page lost characters of them: a
    decision filed with "?.txt" and "????" could not follow its passage when its segment id changes."""
    lost = rows_with_lost_characters(table) if encoding in CODE_PAGE_READINGS else None
    if lost is None or not lost.any() or locate is None or (locator := locate()) is None:
        return table
    names: dict[str, list[str]] = {}
    for name in locator.documents:
        names.setdefault(saved_as(name, encoding), []).append(name)
    documents, texts = table["document"].astype(str).copy(), table["text"].astype(str).copy()
    for position in table.index[lost]:
        shown = documents[position].strip()
        candidates = [shown] if shown in locator.documents else names.get(shown, [])
        if len(candidates) != 1:  # two names saved alike (甲.txt, 乙.txt): which, nothing tells
            continue
        documents[position] = candidates[0]
        number = _whole(str(table.at[position, "passage"])) if "passage" in table.columns else None
        passage = locator.passage(candidates[0], number) if number is not None else None
        if passage is not None and saved_as(passage.text, encoding) == " ".join(texts[position].split()):
            texts[position] = passage.text
    return table.assign(document=documents, text=texts)


@dataclass(frozen=True)
class _Proposal:
    row: int
    decision: str
    note: str
    entry: dict[str, str]
    source: str = ""  # the row's `source` cell: manual for a passage coded by hand, as a run writes it


Locate = Callable[[], PassageLocator | None]


def _cell(record: dict, column: str) -> str:
    value = record.get(column, "")
    return "" if value is None else str(value).strip()


def _whole(value: str) -> int | None:
    """A cell's whole number (3, or 3.0 as a spreadsheet saves it); None for anything else: text,
    fractions, negatives, nan, inf, or more digits than any passage or offset has."""
    return whole_number(value.strip().removesuffix(".0"))


def _read_proposals(
    table: pd.DataFrame, source: Path, *, locate: Locate | None, codes: Sequence[str] | None,
    placed: Mapping[int, Mapping[str, str]] | None = None,
) -> tuple[dict[str, list[_Proposal]], list[InvalidDecision]]:
    """The rows of a reviewed table that say something, keyed by segment id, and the rows that cannot be read.
    `placed`: {row number: review file entry} of rows whose entry the workbook's record names (import_pending):
    their passage is that entry's, wherever it moved, not found again by the row's stale number (probe ZZ3)."""
    if "review" not in table.columns:
        raise OutputError(
            f"{source}: needs a review column (found: {', '.join(table.columns)}). "
            f"Import the segments.csv written by `coder run`, with the review column filled in."
        )
    if "segment_id" not in table.columns and not {"document", "code"} <= set(table.columns):
        raise OutputError(
            f"{source}: needs the columns segment_id and review, or document, passage, code and review "
            f"(found: {', '.join(table.columns)}). Import the segments.csv written by `coder run`."
        )
    locator: list[PassageLocator | None] = []

    def located() -> PassageLocator | None:
        if not locator:
            locator.append(locate() if locate is not None else None)
        return locator[0]

    known = set(codes) if codes is not None else None
    invalid: list[InvalidDecision] = []
    proposals: dict[str, list[_Proposal]] = {}
    for position, record in enumerate(table.to_dict("records")):
        row = position + 2
        value, note = _cell(record, "review"), _cell(record, "note")
        if not value and not note:
            continue
        try:
            decision = normalize_review(value) or ""
        except ValueError as error:
            invalid.append(InvalidDecision(row, value, str(error)))
            continue
        entry = {column: _cell(record, column) for column in ("document", "passage", "start", "end", "code", "text")}
        entry.update(decision=decision, note=note)
        if known is not None and entry["code"] and entry["code"] not in known:
            close = difflib.get_close_matches(entry["code"], list(codes or ()), n=1) if len(entry["code"]) <= 1000 else []
            meant = f" (did you mean '{close[0]}'?)" if close else ""
            invalid.append(InvalidDecision(row, value, f"code {quoted(entry['code'])} is not in the codebook{meant}; "
                                                       f"use a code id of the codebook."))
            continue
        if placed is not None and row in placed:
            entry.update({column: str(placed[row].get(column) or "") for column in
                          ("segment_id", "document", "passage", "start", "end", "code", "text")})
            problem = ""
        elif decision == "add":
            problem = _resolve_added(entry, located)
        else:
            problem = _resolve_reviewed(entry, _cell(record, "segment_id"), located)
        if problem:
            invalid.append(InvalidDecision(row, value, problem))
            continue
        proposal = _Proposal(row, decision, note, entry, _cell(record, "source"))
        proposals.setdefault(entry["segment_id"], []).append(proposal)
    return proposals, invalid


def _record_copy_contexts(proposals: dict[str, list[_Proposal]], passages: Callable[[], pd.DataFrame | None] | None,
                          ran: Container[str] | None = None) -> None:
    """Give each decision (or whole passage coded by hand) typed on a passage repeated in its document the context
    of its copy (passage_context),
    from the passages table of the run that wrote the rows (RunFolder.read_passages) where the passage is as the
    row shows it: a copy added before it since that run would otherwise take it by its number. `ran`: that run's
    segment ids, when known (a repeated passage's second copy is among them)."""
    entries = [proposal.entry for rows in proposals.values() for proposal in rows
               if proposal.entry["text"] and _whole(proposal.entry["passage"]) is not None]
    if ran is not None:  # (a passage coded by hand with a code of its own has no segment in that run to tell)
        entries = [entry for entry in entries if entry["decision"] == "add" or segment_id_from_fingerprint(
            copy_fingerprint(passage_fingerprint(entry["document"], entry["text"]), 1), entry["code"]) in ran]
    table = passages() if entries and passages is not None else None
    if table is None or table.empty:
        return
    table = table[table["document"].isin(list({entry["document"] for entry in entries}))]
    for document, rows in table.sort_values(["document", "passage"]).groupby("document", sort=False):
        texts = rows["text"].astype(str).tolist()
        normalized = [_normalized(text) for text in texts]
        places = {number: (position, start, end) for position, (number, start, end)
                  in enumerate(zip(rows["passage"].tolist(), rows["start"].tolist(), rows["end"].tolist()))}
        for entry in (entry for entry in entries if entry["document"] == document):
            position, start, end = places.get(_whole(entry["passage"]), (None, None, None))
            if position is None or (start, end) != (_whole(entry["start"]), _whole(entry["end"])) \
                    or normalized[position] != _normalized(entry["text"]):
                continue  # not the run's passage: the next run learns the copy from where its id is
            if normalized.count(normalized[position]) > 1:
                entry["context"] = _context(texts[position - 1] if position else "",
                                            texts[position + 1] if position + 1 < len(texts) else "")


def _resolve_reviewed(entry: dict[str, str], raw_id: str, located: Callable[[], PassageLocator | None]) -> str:
    """Give a reviewed row its segment id: its own, else from (document, passage text, code),
    else from (document, passage, code) in the corpus. Returns a problem, or "" when found."""
    identifier = normalize_segment_id(raw_id)
    if not identifier and entry["document"] and entry["code"]:
        # The passage as the corpus has it first (a workbook cell may hold a cut text), else the row's text.
        number = _whole(entry["passage"])
        locator = located() if number is not None else None
        problem = _named_as_in_corpus(entry, locator)
        if problem:
            return problem
        passage = locator.passage(entry["document"], number) if locator is not None else None  # type: ignore[arg-type]
        if passage is not None and (not entry["text"] or _same_start(entry["text"], passage.text)):
            identifier = segment_id_from_fingerprint(locator.fingerprint(entry["document"], passage.index), entry["code"])  # type: ignore[union-attr]
            entry.update(text=passage.text, start=str(passage.start), end=str(passage.end))
        elif entry["text"]:
            identifier = segment_id(entry["document"], entry["text"], entry["code"])
    if identifier:
        # A row of a file written before its document was renamed, typed after a run followed the rename, is not
        # filed under the gone name, detached while the renamed document keeps its decision (probe AM4): refused.
        locator = located() if entry["document"] else None
        if locator is not None and locator.renamed_and_run(entry["document"]) is not None:
            return _not_in_corpus(entry["document"], locator, by_id=bool(raw_id))
        entry["segment_id"] = identifier
        return ""
    if not raw_id and entry["document"] and entry["code"]:
        # The row names its segment, by a passage not found: say which (not "no document, code and text": AD6).
        locator = located()
        if locator is not None and entry["document"] not in locator.documents:
            return _not_in_corpus(entry["document"], locator)
        number = _whole(entry["passage"])
        if locator is not None and number is not None:
            return _no_passage(entry["document"], number, locator)
    if not raw_id:
        return "no segment_id, and no document, code and text (or passage) to find the segment by."
    return (
        f"segment_id '{raw_id}' is not an id written by `coder run` (a spreadsheet may have turned it into "
        f"a number), and the row has no document, code and text to find the segment by. Copy the id from segments.csv."
    )


def _not_in_corpus(document: str, locator: PassageLocator, *, by_id: bool = False) -> str:
    """Why a row naming `document` is not read: not in the corpus, and where it went when it was renamed.
    `by_id`: the row has a segment id, which names the gone document too."""
    renamed = locator.renamed_to(document)
    if renamed is None:
        return f"document '{document}' is not in the corpus."
    cells = "document cell, and clear its segment_id cell" if by_id else "document cell"
    return (f"document '{document}' is not in the corpus: it was renamed to '{renamed}' (the same text). "
            f"Write '{renamed}' in the row's {cells}.")


def _no_passage(document: str, number: int, locator: PassageLocator) -> str:
    """Why a row naming passage `number` of `document` is not read: the passages it has ("no passage 3 (it has 3)"
    read as a contradiction, as they are numbered from 0).

    >>> _no_passage("a.txt", 3, PassageLocator([Document("a.txt", "One.\\n\\nTwo.\\n\\nThree.")]))
    "'a.txt' has no passage 3 (it has passages 0-2)."
    """
    return f"'{document}' has no passage {number} (it has {passages_held(len(locator.passages(document)))})."


def _named_as_in_corpus(entry: dict[str, str], locator: PassageLocator | None) -> str:
    """Give a typed row the name its document has in the corpus: "Café.txt" typed for a Mac's decomposed name,
    "sub\\a.txt" as Explorer copies it, "./a.txt" (probes AH1, AH2). Returns a problem, or "" (a name of no
    document is left as typed, for the caller to say so)."""
    if locator is None:
        return ""
    try:
        found = locator.names.find(entry["document"])
    except AmbiguousNameError as error:
        return f"document {error}."
    if found is not None:
        entry["document"] = found
    return ""


def _same_start(cell: str, text: str) -> bool:
    """True when a cell shows `text`, perhaps cut short with "…" (as a workbook cell over Excel's limit)."""
    cell, text = _normalized(cell).rstrip("…"), _normalized(text)
    return text.startswith(cell) if cell else False


def _resolve_added(entry: dict[str, str], located: Callable[[], PassageLocator | None]) -> str:
    """Give a hand-coded row (review `add`) its passage text, offsets and segment id; a problem, or ""."""
    if not entry["document"] or not entry["code"]:
        return "an `add` row needs document and code, and passage (or start and end)."
    for column in ("passage", "start", "end"):
        if entry[column] and _whole(entry[column]) is None:
            return f"`{column}` is {quoted(entry[column])}, not a whole number of at most {MAX_DIGITS} digits."
    locator = located()
    problem = _named_as_in_corpus(entry, locator)
    if problem:
        return problem
    start, end, number = _whole(entry["start"]), _whole(entry["end"]), _whole(entry["passage"])
    span = start is not None and end is not None and end > start
    if locator is not None and entry["document"] not in locator.documents:
        return _not_in_corpus(entry["document"], locator)
    # A span (start and end) is taken as written unless the row names another passage than the one the span
    # starts in (a row copied and its passage number changed). A span row of an exported run, carrying its
    # passage and its own text, was made a hand coding of the whole passage on every import.
    inside = locator.containing(entry["document"], start) if span and locator is not None else None  # type: ignore[arg-type]
    if span and locator is not None and (number is None or not entry["text"] or inside is None or inside.index == number):
        source = locator.documents[entry["document"]].text
        if end > len(source):  # type: ignore[operator]
            return f"span {start}-{end} is past the end of '{entry['document']}' ({len(source)} characters)."
        if inside is None:  # it starts in the blank lines (or page furniture) before a passage: from that passage on
            inside = next((passage for passage in locator.passages(entry["document"])
                           if start < passage.start < end and not source[start:passage.start].strip()), None)  # type: ignore[operator]
            if inside is None:
                return (f"span {start}-{end} of '{entry['document']}' starts outside every passage (blank lines, page "
                        f"numbers or table rules): give offsets inside a passage, or its passage number.")
            start = inside.start
        entry.update(text=source[start:end], passage=str(inside.index), start=str(start), end=str(end))
    elif number is not None and locator is not None:
        passage = locator.passage(entry["document"], number)
        if passage is None:
            return _no_passage(entry["document"], number, locator)
        if not entry["text"] or _normalized(entry["text"]) != _normalized(passage.text):
            entry.update(text=passage.text)
        entry.update(start=str(passage.start), end=str(passage.end))
        # A passage repeated in the document (a running header, a repeated question) has an id per copy.
        entry["segment_id"] = segment_id_from_fingerprint(locator.fingerprint(entry["document"], number), entry["code"])
        return ""
    elif not entry["text"]:
        return ("an `add` row needs passage (or start and end) and the run whose corpus it names: run `coder run` "
                "first, or name the run folder (`coder review import FILE --run OUT`).")
    entry["segment_id"] = segment_id(entry["document"], entry["text"], entry["code"])
    return ""


def import_reviews(
    segments_file: str | Path,
    reviews_path: str | Path,
    *,
    now: datetime | None = None,
    locate: Locate | None = None,
    codes: Sequence[str] | None = None,
    passages: Callable[[], pd.DataFrame | None] | None = None,
) -> ImportReport:
    """Merge the decisions a reviewer typed into segments.csv (or .xlsx) into the review file.

    New decisions are added, changed ones updated, rows of the same segment that disagree are
    reported and not applied, unreadable decisions are reported by row. A blank review cell
    never removes a decision. A row whose id a spreadsheet damaged is found by its document,
    passage text (or passage number) and code. Rows with review `add` code a passage by hand:
    `locate` gives the corpus to find it in; `passages` the passages table of the run that wrote
    the file, which tells copies of a repeated passage apart. Writes the review file atomically,
    never with fewer entries.

    >>> report = import_reviews("outputs/segments.csv", "reviews.csv")  # doctest: +SKIP
    >>> report.added, report.total  # doctest: +SKIP
    (12, 40)
    """
    segments_file, reviews_path = Path(segments_file), Path(reviews_path)
    stamp = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    locate = cache(locate) if locate is not None else None
    read = read_table(segments_file, chinese_code_pages=True)
    table = _coder_cells_restored(read, locate, encoding=table_encoding(read))
    # Locked from reading to writing: a second import at once would lose one side's decisions.
    with review_file_lock(reviews_path):
        existing = read_reviews(reviews_path)
        notes = _notes_restored(table, dict(zip(existing["segment_id"], existing["note"])))
        table = notes.table if notes is not None else table
        proposals, invalid = _read_proposals(table, segments_file, locate=locate, codes=codes)
        _record_copy_contexts(proposals, passages)
        merge = _merge_proposals(existing, proposals, stamp)
        result = pd.DataFrame(list(merge.reviews.values()), columns=list(REVIEW_COLUMNS)).fillna("")
        changed = merge.added or merge.updated
        backup = (write_reviews(result, reviews_path, removed=merge.removed) if changed or not reviews_path.exists()
                  else None)
    return ImportReport(
        reviews_path=str(reviews_path), source=str(segments_file), added=merge.added, updated=tuple(merge.updated),
        unchanged=merge.unchanged, conflicts=tuple(merge.conflicts), invalid=tuple(invalid), total=len(result),
        backup=str(backup) if backup else None, lost=lost_characters(read, segments_file, notes=notes),
    )


@dataclass
class _Merge:
    """The review file after merging proposals, and what the merge did."""

    reviews: dict[str, dict[str, str]]  # segment_id -> review record
    added: int = 0
    unchanged: int = 0
    removed: int = 0  # passages coded by hand whose `add` was withdrawn: their entries are gone
    updated: list[DecisionChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def _merge_proposals(existing: pd.DataFrame, proposals: dict[str, list[_Proposal]], stamp: str) -> _Merge:
    """Merge an import's proposals into the review file's entries: the spreadsheet wins, a blank
    cell keeps what was decided, rows of one segment that disagree are conflicts."""
    merge = _Merge({record["segment_id"]: dict(record) for record in existing.to_dict("records")})
    for identifier, rows in proposals.items():
        decisions = {proposal.decision for proposal in rows if proposal.decision}
        entry = rows[0].entry
        if len(decisions) > 1:
            merge.conflicts.append(Conflict(
                identifier, entry["code"], tuple(proposal.row for proposal in rows),
                tuple(proposal.decision or "(blank)" for proposal in rows),
            ))
            continue
        decision = decisions.pop() if decisions else ""
        note = "; ".join(dict.fromkeys(proposal.note for proposal in rows if proposal.note))
        old = merge.reviews.get(identifier)
        if decision == "withdraw":  # the decision removed, the entry and its note kept
            if old is not None and old["decision"]:
                merge.updated.append(DecisionChange(identifier, str(old["code"]), old["decision"], ""))
                if _coded_by_hand_alone(old, rows[-1], None, _as_written(note, old["note"])):
                    del merge.reviews[identifier]
                    merge.removed += 1
                    continue
                old.update(decision="", note=_joined_notes(old["note"], _as_written(note, old["note"])), reviewed_at=stamp)
                continue
            decision = ""  # nothing to withdraw: a note typed beside it is a note
            if not note:
                merge.unchanged += old is not None
                continue
        if old is None:
            merge.reviews[identifier] = {**_entry(entry), "decision": decision, "note": note, "reviewed_at": stamp}
            merge.added += 1
            continue
        # A blank cell keeps what was decided before; it never withdraws a decision. A note beside
        # another (a colleague's file) is added to it, never replacing it.
        new_decision, new_note = decision or old["decision"], _joined_notes(old["note"], _as_written(note, old["note"]))
        if new_decision == old["decision"] and new_note == old["note"]:
            merge.unchanged += 1
            continue
        merge.updated.append(DecisionChange(identifier, str(old["code"]), old["decision"], new_decision))
        old.update(decision=new_decision, note=new_note, reviewed_at=stamp)
    return merge


def foreign_columns(table: pd.DataFrame, known: Collection[str]) -> list[str]:
    """The columns of a segments file that are not `known` (what coder writes) and hold a cell that
    is not blank: what a reviewer added, or a column of coder's renamed (`Decision` for `review`)."""
    return [str(column) for column in table.columns if column not in known
            and table[column].astype(str).str.strip().ne("").any()]


def refuse_renamed_review_columns(path: Path, table: pd.DataFrame, foreign: list[str]) -> None:
    """Stop when the file lacks `review` or `note` and other columns hold typed cells: a renamed
    column, whose decisions or notes would be lost when the file is replaced."""
    missing = [column for column in ("review", "note") if column not in table.columns]
    if missing and foreign:
        raise ReviewConflictError(
            f"{display_name(path)}: has no {' or '.join(f'`{column}`' for column in missing)} column, and "
            f"{', '.join(foreign)} hold typed cells; decisions are read only from `review`, notes only from `note`, "
            f"so the file was not replaced. Rename the column(s) back (or move what they hold there), then run again."
        )


def _refuse_typed_statuses(table: pd.DataFrame, segments: Mapping[str, tuple[str, str, str]], path: Path,
                           reviews_path: Path, *, held: Callable[[dict[str, str]], bool]) -> bool:
    """Stop when `status` cells (coder's: what is left to review) were typed over: a decision typed
    there is not read, and would be lost when the file is replaced. A file saved from an older run
    (statuses coder wrote, but another run's) goes on once the review file `held` all it says: True then, and
    nothing in it is imported (its stale note "n1" cut a colleague's "n1 / B: agree" the review file holds, probe
    XX8)."""
    if not {"segment_id", "status"} <= set(table.columns):
        return False
    typed = []
    older: dict[str, str] = {}  # segment id -> the status the file shows
    # A row showing another segment than its id is left to _refuse_rows_of_other_segments (a sort without the id).
    shown = (zip(table["document"].astype(str).str.strip(), table["code"].astype(str).str.strip())
             if {"document", "code"} <= set(table.columns) else repeat(None))
    for position, identifier, status, row in zip(table.index, table["segment_id"], table["status"], shown):
        written = segments.get(normalize_segment_id(identifier))
        status = str(status).strip()
        if written is not None and written[2] and status != written[2] and (row is None or row == written[:2]):
            typed.append(f"row {int(position) + 2}: status is '{status}', the run wrote '{written[2]}'")
            older[normalize_segment_id(identifier)] = status
    if typed and not (set(older.values()) <= set(STATUSES) and held(older)):
        raise ReviewConflictError(
            f"{path}: {len(typed)} `status` cell(s) are not what the last run wrote there, so the file was not replaced:\n  "
            + "\n  ".join(first_lines(typed))
            + "\nWas a decision typed into `status`? Decisions are read only from `review`: move it there. Or was the file "
            "saved from an older run's segments.csv (a spreadsheet left open during a run)? Its cells would undo newer "
            "decisions: type your changes into the current segments.csv, or take the file's decisions deliberately with "
            f"`coder review import {command_argument(path)} --reviews {command_argument(reviews_path)}`, then run again."
        )
    return bool(typed)


_DECISION_OF_STATUS = {"accepted": "accept", "rejected": "reject", "added": "add"}


def _review_file_holds(table: pd.DataFrame, statuses: dict[str, str], path: Path, reviews_path: Path, *,
                       locate: Locate | None, codes: Sequence[str] | None) -> bool:
    """Does the review file hold every decision and note typed into `table`, and the decision each of
    `statuses` (segment id -> a status the file shows) says? Then replacing the file undoes nothing."""
    if "review" not in table.columns:
        return False
    proposals, invalid = _read_proposals(table, path, locate=locate, codes=codes)
    reviews = read_reviews(reviews_path)
    entries = dict(zip(reviews["segment_id"], zip(reviews["decision"], reviews["note"])))
    said = [(identifier, proposal.decision, proposal.note) for identifier, rows in proposals.items() for proposal in rows]
    said += [(identifier, _DECISION_OF_STATUS[status], "") for identifier, status in statuses.items()
             if status in _DECISION_OF_STATUS]
    return not invalid and all(_holds(entries.get(identifier), decision, note) for identifier, decision, note in said)


def _holds(entry: tuple[str, str] | None, decision: str, note: str) -> bool:
    """Does a review file entry's (decision, note), None when there is none, hold a typed decision and note? A
    withdraw is held where no decision is (imported, the entry kept without one, or a hand coding's gone): once
    `coder review import` took an older file's withdraw, as the run's message said, every run stopped (probe WW9)."""
    if decision == "withdraw":
        return entry is None or not entry[0] and note in entry[1]
    return entry is not None and decision in ("", entry[0]) and note in entry[1]


def _refuse_rows_of_other_segments(typed: pd.DataFrame, segments: Mapping[str, tuple[str, str, str]], path: Path, *,
                                   encoding: str = "") -> None:
    """Stop when a typed row's segment_id is, in the run that wrote the file, a segment of another
    document or code than the row shows: its decision would go to that other segment. A row coding
    a passage by hand (`add`, a copied row with its code changed) is not one of these; nor a row whose
    document name shows "?" for the characters the file's legacy code page (`encoding`) lost."""
    if not {"segment_id", "document", "code"} <= set(typed.columns):
        return
    wrong = []
    for position, identifier, document, code, review in zip(typed.index, typed["segment_id"], typed["document"],
                                                            typed["code"], typed["review"]):
        if str(review).strip().casefold() == "add":
            continue
        written = segments.get(normalize_segment_id(identifier))
        shown = (str(document).strip(), str(code).strip())
        if written is not None and written[:2] != shown and (
                encoding not in CODE_PAGE_READINGS or (saved_as(written[0], encoding), written[1]) != shown):
            wrong.append(f"row {int(position) + 2}: {identifier} is the segment of {written[1]} in {written[0]}, "
                         f"but the row shows {str(code).strip()} in {str(document).strip()}")
    if wrong:
        raise ReviewConflictError(
            f"{path}: {len(wrong)} typed row(s) carry the segment_id of another segment, so their decisions would "
            f"go to that segment; the file was not replaced and nothing was imported:\n  " + "\n  ".join(first_lines(wrong))
            + "\nWere the rows sorted without the segment_id column? Sort whole rows, or undo the sort. To code a "
            "passage with another code, copy its row, change `code` and set review to `add`."
        )


def _as_written(note: str, *whole: str) -> str:
    """The note of `whole` that `note` was read from, when `note` is it as `export xlsx` wrote it in a
    cell: cut to fit an Excel cell (xlsx.cell_text: 32,767 UTF-16 units, ending in "…"), or, written before
    the workbook escaped text and saved since by a spreadsheet or a script, read as they read it, a
    "_x000D_" a carriage return. Read back so, the note is not an edit (probe KK8: two round trips replaced a
    36,000-character note by its first 26,214; probe LL2: "_x005F_x0041_" by "_x0041_")."""
    if not note.endswith("\u2026") and not any("_x" in full for full in whole):
        return note
    from .xlsx import cell_text

    for full in whole:
        written = cell_text(full) if full and full != note else None
        if written is None:
            continue
        if note.endswith("\u2026") and len(full) >= len(note) and written == note:
            return full
        if "_x" in written and cell_shown(written).strip() == note:
            return full
    return note


def _joined_notes(old: str, new: str) -> str:
    """The review file's note `old` with an imported note `new`: both, unless `new` is `old` or whole notes of it,
    or is `old` added to (_note_typed, which a run's import uses too: compared as substrings, "clear" over "unclear"
    was dropped and "disagree" replaced "agree", probe WW8).

    >>> _joined_notes("A: clear case", "B: agree"), _joined_notes("A: clear", "A: clear case"), _joined_notes("x", "")
    ('A: clear case / B: agree', 'A: clear case', 'x')
    >>> _joined_notes("unclear", "clear"), _joined_notes("agree", "disagree")
    ('unclear / clear', 'agree / disagree')
    """
    return _note_typed(old, new, True)


def _note_typed(old: str, new: str, changed_since: bool) -> str:
    """The review file's note once `new` is typed over a cell that showed `old`, or over one the review file's note
    may have changed since (`changed_since`; a workbook with no record of what it showed, always may). Then a note
    that is the review file's added to (_added_to) is that note edited, and replaces it, losing nothing (a workbook's
    "n1" edited to "n1 edited" was appended to itself: probe TT3); one that is the review file's, or whole notes of
    it, is a cell left as it was, or cut, and keeps the review file's (a colleague's note imported since,
    "n1 / B: agree", was cut back to the stale cell's "n1": VV4); any other (rewritten, changed by a spreadsheet's
    re-save, LL6, or one that holds the review file's only as a piece of a word: "disagree" over a colleague's
    "agree", "不相关" over "相关", WW3) is kept beside it. A blank cell keeps the note.

    >>> _note_typed("n1", "n1 edited", True), _note_typed("n1 / B: agree", "n1", True), _note_typed("n1", "other", True)
    ('n1 edited', 'n1 / B: agree', 'n1 / other')
    >>> _note_typed("agree", "disagree", True), _note_typed("ok", "not ok", True), _note_typed("相关", "不相关", True)
    ('agree / disagree', 'ok / not ok', '相关 / 不相关')
    >>> _note_typed("n1 long", "n1", False), _note_typed("n1", "", True)
    ('n1', 'n1')
    """
    if not new:
        return old
    if changed_since and old:
        if _joined_in(new, old):
            return old
        if not _added_to(new, old):
            return f"{old} / {new}"
    return new


def _entry_of_place(entry: Mapping[str, str], place: str) -> bool:
    """Is `entry` of the review file a hand coding of the document and code a row's `place` names
    (written_cell_keys: "add:document\x1fcode\x1fpassage\x1fstart\x1fend")?"""
    document, code = (place.removeprefix("add:").split("\x1f") + ["", ""])[:2]
    return entry.get("decision") == "add" and entry.get("document") == document and entry.get("code") == code


def _recorded_entry(held: Mapping[str, dict], identifier: str, place: str, locate: Locate | None) -> dict | None:
    """The review file's entry (of `held`: segment id -> entry) that a row noted by its `place` became, as the
    workbook's record names it (`identifier`): that hand coding of the place's document and code; else, the document
    gone from the corpus, renamed (a run recorded its text, now the text of one document only), the one hand
    coding of its code in the document it became whose passage had that id in it (the row's cells stopped every
    run, probe AD6); None when there is none, or several, or the document is not known to be renamed (another
    document sharing the passage is not where it went: a note went to b.txt's hand coding, probe AJ1)."""
    if identifier in held:
        return held[identifier] if _entry_of_place(held[identifier], place) else None
    document, code = (place.removeprefix("add:").split("\x1f") + ["", ""])[:2]
    locator = locate() if locate is not None else None
    if locator is None or document in locator.documents:
        return None
    renamed = locator.renamed_to(document)
    found = [entry for entry in held.values() if entry.get("decision") == "add" and entry.get("code") == code
             and renamed is not None and entry.get("document") == renamed
             and _id_in(entry, document, locator) == identifier]
    return found[0] if len(found) == 1 else None


def _id_in(entry: Mapping[str, str], document: str, locator: PassageLocator) -> str:
    """The segment id a hand coding (a review entry) had in `document`, its text there as it is now: numbered as
    the copy of its passage it is when it is on a repeated one (it has a context)."""
    text, code = str(entry.get("text") or ""), str(entry.get("code") or "")
    number = _whole(str(entry.get("passage") or ""))
    passages = locator.passages(str(entry.get("document") or ""))
    if _is_text(entry.get("context")) and number is not None and number < len(passages) \
            and _normalized(passages[number].text) == _normalized(text):
        return segment_id_from_fingerprint(passage_fingerprints(document, [passage.text for passage in passages])[number], code)
    return segment_id(document, text, code)


def _rows_taken_out(before: tuple[str, str] | None, cells: list[tuple[str, str]]) -> bool:
    """Are `cells` (written_cell) the rows of one segment or place as workbook_cells noted them (`before`: their
    decision, their notes "; "-joined), less some rows deleted since: each row's decision theirs and its note one
    of theirs?

    >>> _rows_taken_out(("accept", "A: ok; B: agree"), [("accept", "A: ok")]), _rows_taken_out(("add", "n1"), [("add", "n2")])
    (True, False)
    """
    if before is None or not cells:
        return False
    parts = set(before[1].split("; ")) if before[1] else set()
    return all(decision == before[0] and (not note or note in parts) for decision, note in cells)


def _added_to(note: str, old: str) -> bool:
    """Is `note` the note `old` with more written after it ("n1" -> "n1 edited", "n1, checked", "相关，待讨论"), not
    one that merely holds it ("disagree" over "agree", "相关内容" over "相关")?

    >>> _added_to("n1, checked", "n1"), _added_to("agree", "agree"), _added_to("disagree", "agree"), _added_to("ok?", "ok")
    (True, True, False, True)
    """
    return note.startswith(old) and (len(note) == len(old) or not note[len(old)].isalnum() or not old[-1].isalnum())


def _joined_in(note: str, notes: str) -> bool:
    """Is `note` the whole of `notes`, or whole notes of it as the review file joins them (" / ")? Not a piece of a
    word or of a note: "clear" over "unclear", or "ok" over "look again", is a note typed (probe WW1).

    >>> _joined_in("n1", "n1 / B: agree"), _joined_in("B: agree", "n1 / B: agree"), _joined_in("clear", "unclear")
    (True, True, False)
    """
    return note == notes or notes.startswith(f"{note} / ") or notes.endswith(f" / {note}") or f" / {note} / " in notes


def _note_changed(note: str, written: str) -> bool:
    """Is the review file's `note` another than the one written in the cell (`written`), a workbook's cell holding
    it with the characters it cannot hold as spaces? Else a vertical tab made the cell's note one changed since,
    and a note edited there was kept beside it instead of replacing it (probe YY5)."""
    if note == written:
        return False
    from .xlsx import cell_characters

    return cell_characters(note).strip() != written


def _shown(decision: str, written: tuple[str, str] | None) -> str:
    """A review file's decision as the run wrote it in its cell (`written`): `add` on a passage the tool codes with
    that code too shows as accept. Compared as stored, a cell typed over it was taken for one over a decision the
    review file took since: a conflict."""
    return "accept" if decision == "add" and written is not None and written[0] == "accept" else decision


def _coded_by_hand_alone(entry: Mapping[str, str], proposal: _Proposal, written: tuple[str, str] | None,
                         note: str) -> bool:
    """Whether a withdrawn entry is a passage coded by hand that the tool does not code, `note` (typed beside the
    withdraw) adding nothing to its note: its row's `source` says manual, else the run wrote the row as `add`
    (`written`; None: the file does not say, and the entry stays). Withdrawn, it codes nothing and no segment can
    show its note: it leaves the review file, note and all (the file before is kept as its .bak), as the row
    leaves segments.csv. Kept as a note, it was listed as a detached decision whose code's keywords changed (probe
    TT2). One the tool codes too (its row says auto), one whose file does not say (an import without `source`:
    probe VV2), one given a new note with the withdraw (VV3) and one whose note the withdrawing cell did not show
    (a colleague's, imported since: the cell blank, or the run wrote another note there; WW4) keep their note."""
    if entry["decision"] != "add" or note != entry["note"] and (note or written is None or written[1] != entry["note"]):
        return False
    if proposal.source:
        return proposal.source.casefold() == MANUAL
    return written is not None and written[0] == "add"


def _entry(entry: dict[str, str]) -> dict[str, str]:
    return {column: entry.get(column, "") for column in REVIEW_COLUMNS}


def _conflict_line(proposal: _Proposal, line: object, file_name: str, said: str, other_name: str, other_said: str) -> str:
    """One conflict of a typed cell with the review file (or another file of the same import), as the error lists it."""
    return (f"row {line} ({proposal.entry['document']}, passage {proposal.entry['passage'] or '?'}, "
            f"{proposal.entry['code']}): {file_name} says {said}, {other_name} says {other_said}")


class ReviewConflictError(OutputError):
    """Decisions typed into a segments file disagree with the review file, or with each other; none of them were imported."""


@dataclass(frozen=True)
class PendingImport:
    """Decisions and notes typed into a segments file that the review file did not hold yet, and what
    the file lost when it was saved in a code page without Chinese (`lost`)."""

    source: str
    reviews_path: str
    decisions: int
    notes: int
    added: int  # passages coded by hand
    lost: LostCharacters | None = None
    withdrawn: int = 0  # decisions removed by a review cell typed `withdraw`

    def render(self) -> str:
        lines = []
        if self.decisions or self.notes or self.added:
            parts = [f"{self.decisions} decision(s)"]
            if self.added:
                parts.append(f"{self.added} hand-coded passage(s)")
            if self.notes:
                parts.append(f"{self.notes} note(s)")
            lines.append(f"Imported {', '.join(parts)} typed into {self.source} into {self.reviews_path} first.")
        if self.withdrawn:
            lines.append(f"Withdrew {self.withdrawn} decision(s) from {self.reviews_path}: their review cell says withdraw "
                         f"in {self.source} (the file before is kept as {_backup_path(Path(self.reviews_path)).name}).")
        if self.lost is not None:
            lines.append(self.lost.render())
        return "\n".join(lines)


def import_pending(
    segments_file: str | Path,
    reviews_path: str | Path,
    *,
    written: dict[str, tuple[str, str]] | None = None,
    now: datetime | None = None,
    locate: Locate | None = None,
    codes: Sequence[str] | None = None,
    segments: Mapping[str, tuple[str, str, str]] | None = None,
    table: pd.DataFrame | None = None,
    refuse_new: str | None = None,
    imported_from: Mapping[str, Path] | None = None,
    passages: Callable[[], pd.DataFrame | None] | None = None,
    entries: Mapping[str, str] | None = None,
    placed: dict[str, str] | None = None,
) -> PendingImport | None:
    """Before a command replaces a reviewed segments file: import what was typed there and is not
    in the review file yet. None when nothing was typed.

    `written` maps segment ids to the (review, note) the last run wrote in that file, so a cell
    the reviewer changed is told from one the review file changed since. A cell that disagrees
    with a review file entry that also changed is a conflict: ReviewConflictError names the rows
    and nothing is written. `segments` maps the ids of the run that wrote the file to their
    (document, code, status): a typed row whose id is another segment's (columns sorted without it,
    a code typed over), or a `status` cell typed over, stops the import too. `table`: the file,
    when the caller read it already. `refuse_new`: the message to stop with, before writing, when
    the review file does not exist yet. `imported_from`: segment id -> the file whose typed decision
    the review file took earlier in the same import, named as the other side of a conflict.
    `passages`: the passages table of the run that wrote the file (RunFolder.read_passages), to tell
    copies of a repeated passage apart. `entries`: {place ("add:...", written_cell_keys): segment id} of the
    review file's entries that rows noted by their place became when an import took them (the workbook's
    record): such a row's cells go to its entry while the review file has it, its passage number read again
    coded the passage now at that number after its passage moved, the hand coding left as it was (probe ZZ3).
    `placed`, when given, is filled with the same for the rows of this file.
    """
    segments_file, reviews_path = Path(segments_file), Path(reviews_path)
    table = read_table(segments_file, chinese_code_pages=True) if table is None else table
    notes = None
    if table_encoding(table) in CODE_PAGE_READINGS:
        # The notes the file showed before it was saved: what the run wrote there, else the review file's.
        existing = read_reviews(reviews_path)
        notes_before = dict(zip(existing["segment_id"], existing["note"]))
        notes_before.update((identifier, note) for identifier, (_, note) in (written or {}).items())
        notes = _notes_restored(table, notes_before)
        table = notes.table if notes is not None else table
    lost = lost_characters(table, segments_file, notes=notes)
    if segments is not None and _refuse_typed_statuses(
            table, segments, segments_file, reviews_path,
            held=lambda statuses: _review_file_holds(table, statuses, segments_file, reviews_path, locate=locate, codes=codes)):
        return PendingImport(str(segments_file), str(reviews_path), 0, 0, 0, lost) if lost is not None else None
    if "review" not in table.columns:
        table = table.assign(review="")  # notes may still be typed
    notes = table["note"] if "note" in table.columns else pd.Series("", index=table.index)
    typed = table[(table["review"].astype(str).str.strip() != "") | (notes.astype(str).str.strip() != "")]
    if written is not None and "segment_id" in typed.columns and len(typed):
        # Cells as the run wrote them were not typed: leave them out before reading any row.
        row_keys = written_cell_keys(typed)
        cells = [written_cell(review, note) for review, note in zip(typed["review"], notes[typed.index])]
        as_written = [_as_written_in(written, keys, cell) for keys, cell in zip(row_keys, cells)]
        # Rows of one segment or place are read together, as workbook_cells notes them: a second row typed beside
        # one as written (a hand coding's add row with another note) replaced its note instead of joining it
        # (probe AD7).
        groups = [place if cell[0] == "add" or not identifier else identifier
                  for (identifier, place), cell in zip(row_keys, cells)]
        members: dict[str, list[tuple[str, str]]] = {}
        for group, same, cell in zip(groups, as_written, cells):
            if group:
                members.setdefault(group, []).append(cell)
        # A group whose rows are the written ones less some deleted (a pasted row taken out again) is not typed:
        # the rows left read as the joined note shortened, which cut the deleted row's note (probe AE4).
        changed = {group for group, same in zip(groups, as_written)
                   if not same and group and not _rows_taken_out(written.get(group), members[group])}
        typed = typed[[group in changed if group else not same for group, same in zip(groups, as_written)]]
    if typed.empty:
        return PendingImport(str(segments_file), str(reviews_path), 0, 0, 0, lost) if lost is not None else None
    if segments is not None:
        _refuse_rows_of_other_segments(typed, segments, segments_file, encoding=table_encoding(table))
    locate = cache(locate) if locate is not None else None
    typed = _coder_cells_restored(typed, locate, encoding=table_encoding(table))
    keys = written_cell_keys(typed) if written is not None else []
    entries = entries or {}
    existing = read_reviews(reviews_path) if entries and keys else None
    recorded: dict[int, dict] = {}  # row number -> the entry the record says it became, still in the review file
    if existing is not None and len(existing):
        held = {record["segment_id"]: record for record in existing.to_dict("records")}
        # Only a hand coding of the row's document and code: a record pointing elsewhere (damaged, or planted in a
        # shared folder) put the row's note on another code's decision or another document's hand coding (probes
        # AD5, AE6).
        became = {place: _recorded_entry(held, entries[place], place, locate) for _, place in keys if place in entries}
        recorded = {position + 2: became[place] for position, (_, place) in enumerate(keys)
                    if became.get(place) is not None}
    proposals, invalid = _read_proposals(typed.reset_index(drop=True), segments_file, locate=locate, codes=codes,
                                         placed=recorded)
    _record_copy_contexts(proposals, passages, segments)
    if invalid:
        first = invalid[0]
        row = int(typed.index[first.row - 2]) + 2  # the row in the file, not among the typed rows
        raise ReviewConflictError(
            f"{segments_file}: {len(invalid)} typed row(s) cannot be read, so the file was not replaced "
            f"(first, row {row}: {first.reason}). Correct them, or run `coder review import {command_argument(segments_file)}` to see every row."
        )
    existing = read_reviews(reviews_path) if existing is None else existing
    merged = {record["segment_id"]: dict(record) for record in existing.to_dict("records")}
    stamp = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    rows_by_position = {position + 2: original for position, original in enumerate(typed.index)}
    places = [place for _, place in keys]
    conflicts: list[tuple[Path | None, str]] = []  # (the other file, or None: the review file's own decision)
    disagreeing: list[str] = []  # rows of this file that give one segment different decisions
    decisions = noted = added = withdrawn = removed = 0
    for identifier, rows in proposals.items():
        proposal = rows[-1]
        said = {item.decision for item in rows if item.decision}
        line = rows_by_position.get(proposal.row, proposal.row - 2) + 2
        if len(said) > 1:
            lines = ", ".join(str(rows_by_position.get(item.row, item.row - 2) + 2) for item in rows if item.decision)
            disagreeing.append(f"rows {lines} ({proposal.entry['document']}, passage {proposal.entry['passage'] or '?'}, "
                               f"{proposal.entry['code']}): {' / '.join(sorted(said))}")
            continue
        # Rows of one segment (two reviewers' sheets pasted together): every note is kept, once: a row's note that
        # another row's adds to ("A: ok" beside "A: ok / B: agree") is in that one (probe AE5).
        notes = list(dict.fromkeys(item.note for item in rows if item.note))
        notes = [note for note in notes if not any(other != note and _added_to(other, note) for other in notes)]
        decision, note = (said.pop() if said else ""), "; ".join(notes)
        before = written.get(identifier) if written is not None else None
        if written is not None and (proposal.row in recorded or (before is None and decision == "add")):
            # Noted by its place (ZZ2: a note edited on a hand coding's add row was kept beside the one it was).
            before = written.get(places[proposal.row - 2])
        note = _as_written(note, before[1] if before is not None else "", (merged.get(identifier) or {}).get("note") or "")
        if before is not None:
            # A cell as the run wrote it was not typed, whatever the other cell of its row holds: a workbook's
            # `reject` still as exported, its note edited, undid a withdraw typed in segments.csv (probe XX10), and
            # its note as exported came back beside one shortened in segments.csv since (XX4).
            decision, note = ("" if decision == before[0] else decision), ("" if note == before[1] else note)
            if not decision and not note:
                continue  # what the run wrote: nothing was typed here
        old = merged.get(identifier)
        if decision == "withdraw":
            if old is not None and old["decision"]:
                # Taken since the run wrote the cell, or just now from another file (segments.csv, then the workbook).
                if (before is not None and _shown(old["decision"], before) != before[0]) or identifier in (imported_from or {}):
                    other = (imported_from or {}).get(identifier)
                    conflicts.append((other, _conflict_line(proposal, line, segments_file.name, "withdraw",
                                                            (other or reviews_path).name, old["decision"])))
                    continue
                withdrawn += 1
                if _coded_by_hand_alone(old, proposal, before, note):
                    del merged[identifier]
                    removed += 1
                    continue
                changed_since = before is None or _note_changed(old["note"], before[1])
                new_note = _note_typed(old["note"], note, changed_since)
                noted += new_note != old["note"]
                old.update(decision="", note=new_note, reviewed_at=stamp)
                continue
            decision = ""  # no decision to withdraw: a note typed beside it is a note
            if not note or (before is not None and note == before[1]):
                continue  # the note the run wrote (its entry withdrawn since, by `coder network`, say)
        if old is None:
            merged[identifier] = {**_entry(proposal.entry), "decision": decision, "note": note, "reviewed_at": stamp}
        else:
            new_decision, new_note = decision or old["decision"], note or old["note"]
            if (new_decision, new_note) == (old["decision"], old["note"]):
                continue
            # Told apart: a decision typed over one the review file took since is a conflict, not one over a note
            # taken since (a colleague's note imported, the cell's `accept` as it was: probe XX2).
            decided_since = before is None or _shown(old["decision"], before) != before[0]
            if decided_since and decision and old["decision"] and decision != old["decision"]:
                other = (imported_from or {}).get(identifier)
                conflicts.append((other, _conflict_line(proposal, line, segments_file.name, decision,
                                                        (other or reviews_path).name, old["decision"])))
                continue
            new_note = _note_typed(old["note"], note, before is None or _note_changed(old["note"], before[1]))
            if (new_decision, new_note) == (old["decision"], old["note"]):
                continue  # a cell the review file's note holds, as it was
            if decision == old["decision"]:
                decision = ""  # not a new decision: only the note changed
            if new_note == old["note"]:
                note = ""
            old.update(decision=new_decision, note=new_note, reviewed_at=stamp)
        if decision == "add":
            added += 1
        elif decision:
            decisions += 1
        if note:
            noted += 1
    if placed is not None and keys:  # each row noted by its place (workbook_cells): the entry it is now
        for identifier, rows in proposals.items():
            for item in rows:
                raw, place = keys[item.row - 2]
                if place and (item.decision == "add" or not raw) and identifier in merged:
                    placed[place] = identifier
    if disagreeing:
        raise ReviewConflictError(
            f"{segments_file}: {len(disagreeing)} segment(s) are given different decisions on rows of this file; "
            f"none of its decisions were imported:\n  " + "\n  ".join(first_lines(disagreeing))
            + f"\nMake those rows agree (or clear the cells of all but one) in {segments_file}, then run the command again."
        )
    if conflicts:
        others = list(dict.fromkeys(other for other, _ in conflicts))
        advice = [f"Keep one decision of each: clear the cell of the one you do not want, in {segments_file} or in {other}."
                  if other is not None else
                  f"To keep the spreadsheet's decisions run `coder review import {command_argument(segments_file)} --reviews {command_argument(reviews_path)}`; "
                  f"to keep the review file's, clear those cells in {segments_file}." for other in others]
        raise ReviewConflictError(
            f"{segments_file}: {len(conflicts)} typed decision(s) conflict with "
            f"{' and '.join(str(other or reviews_path) for other in others)}; none of its decisions were imported:\n  "
            + "\n  ".join(first_lines([line for _, line in conflicts])) + "\n" + " ".join(advice) + " Then run the command again."
        )
    if not (decisions or noted or added or withdrawn):
        return PendingImport(str(segments_file), str(reviews_path), 0, 0, 0, lost) if lost is not None else None
    if refuse_new and not reviews_path.exists():
        raise ReviewConflictError(refuse_new)
    write_reviews(pd.DataFrame(list(merged.values()), columns=list(REVIEW_COLUMNS)).fillna(""), reviews_path,
                  removed=removed)
    return PendingImport(str(segments_file), str(reviews_path), decisions, noted, added, lost, withdrawn)


# --- following the codebook --------------------------------------------------------------------


def rename_codes(
    reviews: pd.DataFrame, renames: dict[str, str], fingerprints: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The review entries with codes renamed old id -> new id (segment ids recomputed); how many moved.

    A segment's new id comes from its passage's fingerprint in the last run (`fingerprints`: old
    segment id -> fingerprint), else from the text the entry keeps, which a reviewer may have edited
    in the spreadsheet (or a spreadsheet turned into a date).

    >>> frame = pd.DataFrame([{"segment_id": "s0", "document": "a.txt", "code": "old", "text": "T"}])
    >>> rename_codes(frame, {"old": "new"})[0]["code"].tolist()
    ['new']
    """
    if reviews.empty or not renames:
        return reviews, 0
    moved = reviews["code"].isin(list(renames))
    if not moved.any():
        return reviews, 0
    fingerprints = fingerprints or {}
    frame = reviews.copy()
    new_ids = pd.Series([_renamed_id(entry, renames[entry["code"]], fingerprints)
                         for entry in frame.loc[moved].to_dict("records")], index=frame.index[moved], dtype=object)
    # A decision whose new id an entry of the file already holds (a removed code's decisions kept under the id a
    # code is renamed to) stays where it was, detached, as `coder review move` leaves it: two entries under one
    # id stopped every run (probe BO1).
    held = set(frame.loc[~moved, "segment_id"].astype(str))
    colliding = new_ids.isin(held) | new_ids.duplicated(keep=False)
    new_ids = new_ids[~colliding]
    frame.loc[new_ids.index, "segment_id"] = new_ids
    frame.loc[new_ids.index, "code"] = frame.loc[new_ids.index, "code"].map(renames)
    return frame, len(new_ids)


def _renamed_id(entry: dict, code: str, fingerprints: Mapping[str, str]) -> str:
    """The segment id of review entry `entry` under code `code`: from its passage's fingerprint in the last run,
    else from its document and text, on the copy its id numbers when the passage repeats in its document."""
    identifier, text = entry["segment_id"], entry.get("text") or ""
    if identifier in fingerprints:
        return segment_id_from_fingerprint(fingerprints[identifier], code)
    if not isinstance(text, str) or not text:
        return identifier
    fingerprint = passage_fingerprint(str(entry["document"]), text)
    numbered = _numbered_copy(identifier, fingerprint, str(entry["code"]), str(entry.get("passage", "")))
    if numbered is None and isinstance(context := entry.get("context"), str) and context:
        # A decision on a copy not found in a run (detached): it keeps being one, and place_on_copies puts it on
        # its copy by its context when that copy is back, as it would have under the code it had.
        return _detached_copy_id(identifier, context)
    return segment_id_from_fingerprint(numbered or fingerprint, code)


def _numbered_copy(identifier: str, fingerprint: str, code: str, passage: str) -> str | None:
    """The fingerprint of the copy of a passage (first copy: `fingerprint`) whose segment id with `code` is
    `identifier`, or None when none is. A copy numbered k is passage k or later, so the copies up to the
    entry's passage number are tried, and at least the first 64."""
    if segment_id_from_fingerprint(fingerprint, code) == identifier:
        return fingerprint
    for copy in range(1, max(whole_number(passage) or 0, 63) + 1):
        numbered = copy_fingerprint(fingerprint, copy)
        if segment_id_from_fingerprint(numbered, code) == identifier:
            return numbered
    return None


@dataclass(frozen=True)
class Reattached:
    """What `reattach` did: entries moved, and entries it left with the old code, and why."""

    moved: int
    attached: int = 0  # still on a segment of the old code (which is still in the codebook)
    collisions: int = 0  # the new code has a decision of its own on that passage
    uncoded: tuple[str, ...] = ()  # moved onto passages the new code does not code in the last run ("a.txt, passage 0 (reject)")
    copies_gone: tuple[str, ...] = ()  # moved, on a copy of a repeated passage the last run did not find

    def render(self, path: str, old_code: str, new_code: str) -> str:
        head, advice = f"{path}: {self.moved} decision(s) moved from {old_code} to {new_code}.", "Run `coder run` to apply them."
        stayed = []
        if self.uncoded:
            them = "it" if len(self.uncoded) == 1 else "them"
            stayed += [f"  {len(self.uncoded)} of them {new_code} does not code in the last run, so the next run leaves "
                       f"{them} detached:", *(f"    {passage}" for passage in first_lines(list(self.uncoded))),
                       f"  If another code codes {them} now, `coder review reattach {command_argument(new_code)} OTHER_CODE` moves {them} on."]
        if self.copies_gone:
            stayed += [f"  {len(self.copies_gone)} of them were on a copy of a passage repeated in its document that the "
                       f"last run did not find, so the next run leaves them detached until that copy is back:",
                       *(f"    {passage}" for passage in first_lines(list(self.copies_gone)))]
        if self.attached:
            stayed.append(f"  {self.attached} decision(s) of {old_code} stay: {old_code} still codes their passages.")
        if self.collisions:
            stayed.append(f"  {self.collisions} decision(s) of {old_code} stay: {new_code} has a decision of its own on "
                          f"that passage, which is kept (`coder review status` lists them as detached).")
        return "\n".join([head, *stayed, advice]) if stayed else f"{head} {advice}"


def reattach(reviews_path: str | Path, old_code: str, new_code: str, *, codes: Sequence[str] | None = None,
             attached: Collection[str] | None = None, fingerprints: Mapping[str, str] | None = None) -> Reattached:
    """Move the review entries of code `old_code` to `new_code` in the review file.

    When `old_code` is still a code of the codebook (`codes`), the entries on segments the last run
    has (`attached`, its segment ids) stay: only detached ones move. An entry whose passage already
    has a decision of `new_code` stays too: the new code's own decision is never replaced.
    `fingerprints` ({segment id: passage fingerprint} of the last run) give moved entries their new
    ids; without one, an id is made from the entry's document and text.

    >>> reattach("reviews.csv", "meeting", "joint_meeting").moved  # doctest: +SKIP
    3
    """
    reviews_path = Path(reviews_path)
    if codes is not None and new_code not in codes:
        raise OutputError(f"code {quoted(new_code)} is not in the codebook. Pass a code id of the codebook as NEW.")
    reviews = read_reviews(reviews_path)
    if not reviews["code"].eq(old_code).any():
        known = ", ".join(sorted(set(reviews["code"]))) or "(none)"
        raise OutputError(f"{reviews_path}: no decisions for code '{old_code}'. Codes in the review file: {known}.")
    of_old = reviews["code"].eq(old_code)
    staying = of_old & reviews["segment_id"].isin(list(attached)) if (
        attached is not None and codes is not None and old_code in codes) else pd.Series(False, index=reviews.index)
    moving = reviews[of_old & ~staying]
    renamed, _ = rename_codes(moving, {old_code: new_code}, fingerprints=dict(fingerprints or {}))
    empty = holding_nothing(reviews) & ~of_old  # the new code's withdrawn entries: a moved decision takes their place
    taken = set(reviews.loc[~of_old & ~empty, "segment_id"])
    collides = renamed["segment_id"].isin(list(taken)) | renamed["segment_id"].duplicated()
    frame = reviews.copy()
    moved_rows = renamed[~collides.to_numpy()]
    # A decision moving onto the new code's withdrawn entry goes into that entry's line; its own line is left
    # holding nothing (the file never shrinks).
    withdrawn = dict(zip(frame.loc[empty, "segment_id"], frame.index[empty]))
    into = [withdrawn.get(identifier, index) for index, identifier in zip(moved_rows.index, moved_rows["segment_id"])]
    frame.loc[[index for index, line in zip(moved_rows.index, into) if index != line], ["decision", "note"]] = ""
    frame.loc[into, list(REVIEW_COLUMNS)] = moved_rows[list(REVIEW_COLUMNS)].to_numpy()
    write_reviews(frame, reviews_path)
    # A split's other half: the passage is not one of the new code's in the last run (hand codings need none).
    outside = moved_rows[~moved_rows["segment_id"].isin(list(attached)) & moved_rows["decision"].ne("add")] \
        if attached is not None else moved_rows.iloc[:0]
    copy_gone = pd.Series([_is_detached_copy(entry) for entry in outside.to_dict("records")], index=outside.index, dtype=bool)

    def listed(rows: pd.DataFrame) -> tuple[str, ...]:
        return tuple(f"{document}, passage {passage} ({decision or 'note'})"
                     for document, passage, decision in zip(rows["document"], rows["passage"], rows["decision"]))

    return Reattached(moved=len(moved_rows), attached=int(staying.sum()), collisions=int(collides.sum()),
                      uncoded=listed(outside[~copy_gone]), copies_gone=listed(outside[copy_gone]))


def _is_detached_copy(entry: Mapping) -> bool:
    """Whether a review entry is on a copy of a repeated passage that a run did not find: it has a context, and
    its id numbers no copy of its text (place_on_copies gave it an id of no segment, and _renamed_id kept it one)."""
    context, text = entry.get("context"), entry.get("text")
    if not (isinstance(context, str) and context and isinstance(text, str) and text):
        return False
    fingerprint = passage_fingerprint(str(entry["document"]), text)
    return _numbered_copy(str(entry["segment_id"]), fingerprint, str(entry["code"]), str(entry.get("passage", ""))) is None


# --- applying decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedReviews:
    """Segments with the review file applied, and what could not be applied."""

    segments: pd.DataFrame  # review/note filled; manual rows appended with source = manual
    detached: pd.DataFrame  # review entries that match no segment of this run (kept in the file)
    reviews: pd.DataFrame  # the review file as it should now be (entries followed their passages)
    followed: int = 0  # entries whose id changed to follow their passage (document renamed)


def apply_reviews(
    segments: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    locator: PassageLocator | None = None,
    codebook=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill the `review` and `note` columns of a segments frame from the review file.

    Rejected segments stay in the frame marked "reject" (consumers drop them). Returns the
    filled frame and the detached entries: decisions whose segment the segments no longer
    contain, kept in the review file and reported, never dropped. With a `locator` (the
    run's corpus) and the codebook, passages coded by hand become segments too.

    >>> frame, detached = apply_reviews(segments, read_reviews("reviews.csv"))  # doctest: +SKIP
    """
    applied = attach_reviews(segments, reviews, locator=locator, codebook=codebook)
    return applied.segments, applied.detached


def applied_as_the_next_run(
    segments: pd.DataFrame, reviews: pd.DataFrame, written: Mapping[str, tuple[str, str]] | None,
) -> pd.DataFrame:
    """A run folder's segments (as RunFolder.read_segments reads them, cells typed since and all) with the
    review file applied as the next run applies it (`coder network` after its import, `coder review status`).

    A row the run wrote (its id in `written`, RunFolder.read_written_reviews) whose cells are as the run
    wrote them, or blank, shows the review file's decision and note, blank where the file has none
    (withdrawn, or its entry deleted): a cleared cell keeps what was decided, and says nothing else (probe
    KK19: network counted a cleared reject again; a reject withdrawn in the review file stayed rejected). A
    decision typed since shows as typed, as the next run imports it. A hand-coded row the file no longer adds
    is left out. Rows typed since (a passage coded by hand) are filled as apply_reviews fills them."""
    import numpy as np

    applied = attach_reviews(segments, reviews)
    frame = applied.segments
    if not written or frame.empty:
        return frame
    ids = frame["segment_id"].astype(str)
    ran = ids.isin(list(written)).to_numpy(dtype=bool)
    if not ran.any():
        return frame
    cells = (segments["review"] if "review" in segments.columns else pd.Series("", index=segments.index)
             ).fillna("").astype(str).str.strip()
    notes = (segments["note"] if "note" in segments.columns else pd.Series("", index=segments.index)
             ).fillna("").astype(str).str.strip()
    cells, notes = cells.to_numpy()[ran], notes.to_numpy()[ran]
    as_written = np.fromiter((written.get(identifier) == (review, note) for identifier, review, note
                              in zip(ids[ran], cells, notes)), dtype=bool, count=int(ran.sum()))
    typed = ~as_written & (cells != "")
    spellings, _ = decision_spellings(pd.Series(cells[typed], dtype=object))
    by_id = applied.reviews.drop_duplicates("segment_id", keep="last").set_index("segment_id")
    decisions = np.array(ids[ran].map(by_id["decision"]).astype(object).fillna(""), dtype=object)  # a copy: set below
    decisions[typed] = [spellings.get(cell, cell) for cell in cells[typed]]
    manual = frame["source"].eq(MANUAL).to_numpy(dtype=bool)[ran]
    frame.loc[ran, "review"] = np.where(manual | (decisions != "add"), decisions, "accept")
    filed = ids[ran].map(by_id["note"]).astype(object).fillna("").to_numpy(dtype=object)
    frame.loc[ran, "note"] = np.where(~as_written & (notes != ""), notes, filed)
    gone = frame.index[ran][manual & (decisions != "add")]
    return frame.drop(index=gone).reset_index(drop=True) if len(gone) else frame


def attach_reviews(
    segments: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    locator: PassageLocator | None = None,
    codebook=None,
) -> AppliedReviews:
    """Apply the review file to a run's segments: by segment id, then by passage text and code
    (a renamed document), and turn hand-coded passages (`add`) into `source = manual` rows."""
    frame = segments.copy()
    for column in ("review", "note"):
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str)
    if "source" not in frame.columns:
        frame["source"] = AUTO
    reviews = reviews.reset_index(drop=True)
    if reviews.empty:
        return AppliedReviews(frame, reviews.copy(), reviews)
    ids = frame["segment_id"].astype(str)
    reviews = reviews.copy()
    copies = copy_ids(reviews)
    present = _PresentIds(ids, [*reviews["segment_id"], *copies["first"], *copies["second"]])
    if locator is not None:
        place_on_copies(reviews, locator, present, copies)
    followed = _follow_moved_passages(reviews, frame, present, locator)
    manual = _manual_rows(reviews, present, locator, codebook) if locator is not None and codebook is not None else None
    if manual is not None and len(manual):  # their ids are in `present` already
        frame = pd.concat([frame, manual], ignore_index=True)
        ids = frame["segment_id"].astype(str)
    by_id = reviews.set_index("segment_id")
    known = ids.isin(by_id.index)
    decisions = ids[known].map(by_id["decision"]).fillna("").replace({"add": "accept"})
    manual_rows = frame["source"].eq(MANUAL)
    decisions = decisions.where(~manual_rows[known], "add")
    notes = ids[known].map(by_id["note"]).fillna("")
    frame.loc[known, "review"] = decisions.where(decisions != "", frame.loc[known, "review"])
    frame.loc[known, "note"] = notes.where(notes != "", frame.loc[known, "note"])
    detached = reviews[_missing(reviews["segment_id"], present) & ~holding_nothing(reviews)].reset_index(drop=True)
    return AppliedReviews(frame, detached, reviews, followed)


def holding_nothing(reviews: pd.DataFrame) -> pd.Series:
    """Entries with neither a decision nor a note (a decision withdrawn): they are no detached decisions (probe
    NN10), nor a decision of their own that `reattach` keeps (NN11)."""
    return reviews["decision"].fillna("").astype(str).eq("") & reviews["note"].fillna("").astype(str).str.strip().eq("")


class _PresentIds:
    """`in` for the segment ids of a run, asked about the few ids of a review file: those are looked up
    among the run's ids at once, in Arrow; an id not asked at first, alone. A Python set of a large
    run's ids, and pandas' isin with one (each of its values made an Arrow scalar), took seconds.
    `add` an id that is present from now on (a hand-coded row)."""

    def __init__(self, ids: pd.Series, asked: Iterable[str]):
        asked = list(dict.fromkeys(asked))
        self._ids = ids
        self._answers = dict.fromkeys(asked, False)
        self._answers.update(dict.fromkeys(ids[ids.isin(asked)], True) if asked else {})

    def __contains__(self, identifier: object) -> bool:
        if identifier not in self._answers:
            self._answers[identifier] = bool(self._ids.isin([identifier]).any())
        return self._answers[identifier]

    def add(self, identifier: str) -> None:
        self._answers[identifier] = True


def _missing(identifiers: pd.Series, present: Container[str]) -> pd.Series:
    """Whether each id is not in `present`, one lookup per id (the review file is the small side)."""
    return pd.Series([identifier not in present for identifier in identifiers], index=identifiers.index, dtype=bool)


def _follow_moved_passages(reviews: pd.DataFrame, frame: pd.DataFrame, present: Container[str],
                           locator: PassageLocator | None = None) -> int:
    """Entries whose id is gone but whose passage text and code one segment has (the document was renamed),
    else one segment of their document whose text the matcher reads the same (a character corrected, 並 -> 并,
    or a space more or less at a line end, as a new coder reads it: _folded):
    point them at that segment. Where several of its document's passages read the same (a repeated answer
    corrected throughout, or a passage corrected to read as another), the one with the passages around it that
    the entry's copy had (its `context`, else where the run before had it: `locator`); never one the run before had
    reading so already (_there_before: another passage, not this one read again). Changes `reviews` in
    place, and adds the segments they now name to `present` (a set, or attach_reviews' _PresentIds). Returns
    how many moved into another document."""
    lost = reviews.index[_missing(reviews["segment_id"], present) & reviews["text"].astype(bool) & reviews["decision"].ne("add")]
    if not len(lost) or frame.empty:
        return 0
    wanted = {(reviews.at[index, "code"], _normalized(reviews.at[index, "text"])) for index in lost}
    keys = _rows_by_passage_text(frame, wanted)
    documents = frame["document"]

    def elsewhere(index: object) -> bool:  # no row of its own document has its text: renamed, or edited in place
        return all(str(documents.iat[row]) != reviews.at[index, "document"]
                   for row in keys.get((reviews.at[index, "code"], _normalized(reviews.at[index, "text"])), []))

    unmatched = [index for index in lost if elsewhere(index)]
    edited = _rows_by_folded_text(frame, {(reviews.at[index, "document"], reviews.at[index, "code"]) for index in unmatched})
    taken = set(reviews["segment_id"])
    moves: dict[object, dict[str, object]] = {}
    followed = 0
    for index in lost:
        matches = keys.get((reviews.at[index, "code"], _normalized(reviews.at[index, "text"])), [])
        # its passage edited where the matcher reads no change (並 -> 并, a space at a line end), in its own
        # document: before the same text in another document (a copy of it there is not this passage)
        key = (reviews.at[index, "document"], reviews.at[index, "code"], _folded(reviews.at[index, "text"]))
        read_again = elsewhere(index) and bool(edited.get(key))
        if read_again:
            matches = edited[key]
        on_a_copy = _on_a_copy(reviews, index) and elsewhere(index)
        if locator is not None and matches and ((len(matches) > 1 and read_again) or on_a_copy):
            # several passages read as its, or it was on a copy (the copy left, or one in the document renamed, may be
            # another copy: probes YY6, YY8): the one its copy is, by the passages around it
            matches = _by_context(reviews, index, frame, matches, locator)
        elif on_a_copy:
            continue  # no corpus to tell its copy (review status, network: the last run followed what it could)
        if len(matches) != 1:
            continue  # the text is gone, or it is in several places: leave it detached, never guess
        row = frame.iloc[matches[0]]
        if not read_again and row["document"] == reviews.at[index, "document"] and _on_a_copy(reviews, index):
            continue  # the one copy of its passage left, which place_on_copies did not find to be its copy
        if row["segment_id"] in taken or (read_again and _there_before(row, locator)):
            continue
        taken.add(row["segment_id"])
        present.add(row["segment_id"])  # type: ignore[attr-defined]
        followed += row["document"] != reviews.at[index, "document"]
        moves[index] = {"segment_id": row["segment_id"], "document": row["document"], "passage": str(row["passage"]),
                        "start": str(row["start"]), "end": str(row["end"])}
        if locator is not None and len(locator.find(str(row["text"]), document=str(row["document"]))) > 1:
            moves[index]["context"] = locator.context(str(row["document"]), int(row["passage"]))  # a copy: place_on_copies keeps it there
    if any("context" in move for move in moves.values()) and "context" not in reviews.columns:
        reviews["context"] = ""
    _set_cells(reviews, moves)
    return followed


def _on_a_copy(reviews: pd.DataFrame, index: object) -> bool:
    """Whether review entry `index` was on a copy of a passage repeated in its document: it keeps the passages
    around it (its `context`). place_on_copies tells whether a copy is its own; the one copy of its text left in
    its document is not followed to by text (probe VV1: a Q/A block deleted where the answer was given twice put
    its decision on the other answer, silently)."""
    context = reviews.at[index, "context"] if "context" in reviews.columns else ""
    return isinstance(context, str) and bool(context)


def _there_before(row: pd.Series, locator: PassageLocator | None) -> bool:
    """Whether a passage that reads as a lost decision's but for whitespace or 並/并 was there in the run before,
    reading as it does now: another passage of its document ("at a round table" beside "at around table"), not
    the decision's own read again, and the decision stays detached (probe RR1). Told by the run before's passages
    table: as many of the document's passages read so then as now (none is new). Without a locator (review
    status, network, export: a run's segments, the last run having followed what it could) always."""
    if locator is None:
        return True
    document, text = str(row["document"]), str(row["text"])
    held = locator.held_before(document, text)
    return held is not None and held >= len(locator.find(text, document=document))


def _by_context(reviews: pd.DataFrame, index: object, frame: pd.DataFrame, matches: list[int],
                locator: PassageLocator) -> list[int]:
    """Of the rows `matches` (passages that read as entry `index`'s), the one its copy is, told by the passages
    around it (_copy_elsewhere); none when none is, or several are, or they are in several documents."""
    documents = {str(frame.iloc[match]["document"]) for match in matches}
    if len(documents) != 1:
        return []
    rows = {int(frame.iloc[match]["passage"]): match for match in matches}
    number = _copy_elsewhere(reviews.loc[index], documents.pop(), sorted(rows), locator)
    return [rows[number]] if number is not None else []


def _copy_elsewhere(entry: pd.Series, document: str, numbers: list[int], locator: PassageLocator) -> int | None:
    """Of passages `numbers` of `document` that read as review entry `entry`'s, the copy it was on, where its id names
    none of them: its document renamed to `document`, or its passage read again (並 -> 并, `document` its own).
    Told as place_on_copies tells a copy in its own document (_copy_of): by the passages around it (its `context`,
    else where the run before had it), the copy its id numbers among its copies then, and those copies as the run
    before had them in its document; None when none is, or several are, or `document` is another that the run
    before had (its copy was not found in it then, when that run's passages could tell). A copy deleted as the
    copy left was corrected, or as the document was renamed, gave its decision to the copy left, found once by its
    text (probe YY6; a hand coding likewise, YY7), and the copies of a renamed document were not told apart at all
    (YY8)."""
    was, text = str(entry["document"]), entry["text"]
    if document != was and document in locator.earlier:
        return None  # a document the run before had: it was not followed into it then, when that run could tell
    context = entry.get("context")
    if not (isinstance(context, str) and context):
        context = locator.earlier_context(was, entry["passage"], entry["start"], entry["end"], text)
    if not context:
        return None
    around = {number: locator.context_as_before(document, number) for number in numbers}
    if document == was:
        context = _context_now(context, around, document, locator, as_before=True)
    order = locator.earlier_copy_order(was, text)
    # the copy its id numbers, when the run before had those copies (its number then)
    copy = _copy_number(str(entry["segment_id"]), passage_fingerprint(was, str(text)), str(entry["code"]),
                        str(entry.get("passage", ""))) if order else None
    here = numbers[copy] if copy is not None and copy < len(numbers) else None
    neighbours = _Neighbours(locator.neighbours(document).now, locator.sides_before(was))
    return _copy_of(context, here, around, earlier={*(order or ()), context}, earlier_order=order,
                    neighbours=lambda: neighbours,
                    kept=lambda number: locator.kept_across(was, document, context, number))


def _copy_number(identifier: str, fingerprint: str, code: str, passage: str) -> int | None:
    """Which copy of its passage (0: the first) segment id `identifier` with `code` numbers (_numbered_copy)."""
    numbered = _numbered_copy(identifier, fingerprint, code, passage)
    if numbered is None:
        return None
    if numbered == fingerprint:
        return 0
    return next(copy for copy in range(1, max(whole_number(passage) or 0, 63) + 1)
                if copy_fingerprint(fingerprint, copy) == numbered)


def copy_ids(reviews: pd.DataFrame) -> pd.DataFrame:
    """For each decision and passage coded by hand, the segment ids of the `first` and `second` copy of its
    passage in its document ("" without a text): a run with the first codes the passage with the entry's code,
    a run with the second holds it twice, and place_on_copies puts the entry on its copy."""
    copies = pd.DataFrame({"first": "", "second": ""}, index=reviews.index, dtype=object)
    decided = reviews["text"].fillna("").astype(str).ne("")
    fingerprints = [passage_fingerprint(str(document), str(text))
                    for document, text in zip(reviews.loc[decided, "document"], reviews.loc[decided, "text"])]
    codes = reviews.loc[decided, "code"].astype(str).tolist()
    copies.loc[decided, "first"] = segment_ids_from_fingerprints(fingerprints, codes)
    copies.loc[decided, "second"] = segment_ids_from_fingerprints(
        [copy_fingerprint(fingerprint, 1) for fingerprint in fingerprints], codes)
    return copies


def place_on_copies(reviews: pd.DataFrame, locator: PassageLocator, present: Container[str],
                    copies: pd.DataFrame | None = None) -> int:
    """Put each decision (and passage coded by hand) on a passage repeated in its document (a repeated answer, a
    running header) on the copy it was taken on, told by the passages around it (its `context`) before its order;
    returns how many moved.

    A copy's segment id numbers it among the copies (the second, the third), so a copy added or removed before
    it gave its decision to a neighbouring copy. A decision on a repeated passage keeps the context of its
    copy and follows that context; a copy whose passage before or after was edited keeps its decision by
    its number. One whose copy is not found, or not told apart, while its id is another copy's, gets an id
    of no segment: it is detached (explain_detached says why), never put on another copy; it comes back
    when its copy does. Changes `reviews` in place; `present`: the run's ids, asked about `copies`' (copy_ids)
    too (attach_reviews' _PresentIds, or a set); a copy a decision moves to is added to it.
    """
    copies = copy_ids(reviews) if copies is None else copies
    kept = (reviews["context"].fillna("").astype(str) if "context" in reviews.columns
            else pd.Series("", index=reviews.index, dtype=object))
    contexts = kept.copy()
    examined: dict[str, list[object]] = {}
    for index in reviews.index[copies["second"].ne("")]:
        document = str(reviews.at[index, "document"])
        if document in locator.documents and (contexts[index] or copies.at[index, "second"] in present or (
                # coded by hand with a code that codes no copy, its passage given once when it was kept (no
                # context) and repeated now: _manual_rows put it on the first copy by its text (probe ZZ5)
                reviews.at[index, "decision"] == "add" and len(locator.find(str(reviews.at[index, "text"]), document=document)) > 1)):
            examined.setdefault(document, []).append(index)
    changes: dict[object, dict[str, object]] = {}
    moved = 0
    for document, indexes in examined.items():
        numbers_by_text: dict[str, list[int]] = {}
        for passage in locator.passages(document):
            numbers_by_text.setdefault(_normalized(passage.text), []).append(passage.index)
        wanted: dict[object, int | None] = {}
        ids: dict[object, dict[int, str]] = {}
        # The copies as they were, by the passages around them: the last run's, and the decisions' own.
        earlier: dict[str, set[str]] = {}
        order: dict[str, list[str] | None] = {}  # the copies as the last run had them, in order
        for index in indexes:
            if not contexts[index]:  # kept before its passage repeated (or by an earlier version): where it was
                contexts[index] = _earlier_context(reviews, index, locator)
        texts = {index: _normalized(reviews.at[index, "text"]) for index in indexes}
        for index in indexes:
            if texts[index] not in earlier:
                order[texts[index]] = locator.earlier_copy_order(document, reviews.at[index, "text"])
                earlier[texts[index]] = set(order[texts[index]] or ())
            if contexts[index]:
                earlier[texts[index]].add(contexts[index])
        # A text's copies, their contexts and their ids by code, once for all its decisions.
        arounds: dict[str, dict[int, str]] = {}
        ids_by_code: dict[tuple[str, str], dict[int, str]] = {}
        for index in indexes:
            numbers = numbers_by_text.get(texts[index], [])
            code = str(reviews.at[index, "code"])
            if (texts[index], code) not in ids_by_code:
                ids_by_code[texts[index], code] = {number: segment_id_from_fingerprint(locator.fingerprint(document, number), code)
                                                   for number in numbers}
            ids[index] = ids_by_code[texts[index], code]
            current = reviews.at[index, "segment_id"]
            here = next((number for number, identifier in ids[index].items() if identifier == current), None)
            if texts[index] not in arounds:  # its neighbours named as the run before named them (a line re-wrapped)
                arounds[texts[index]] = {number: locator.context_as_before(document, number) for number in numbers}
            around = arounds[texts[index]]
            context = _context_now(contexts[index], around, document, locator, as_before=True)
            wanted[index] = _copy_of(context, here, around, earlier=earlier[texts[index]], earlier_order=order[texts[index]],
                                     neighbours=lambda: locator.neighbours(document),
                                     kept=lambda number, was=contexts[index]: locator.kept_by_deletion(document, was, number))
        targets = Counter(ids[index][number] for index, number in wanted.items() if number is not None)
        for index, number in wanted.items():
            current = reviews.at[index, "segment_id"]
            target = ids[index][number] if number is not None else None
            if target is not None and target != current and targets[target] > 1:
                target = None  # two decisions of one code want this copy: neither is guessed
            if target is None:
                if current in ids[index].values() or (kept[index] and reviews.at[index, "decision"] == "add" and ids[index]):
                    # on another copy now, or (coded by hand, on a copy) its copy gone where its text is still in the
                    # document, which _manual_rows would find by text on another copy (probe YY7): detached, under
                    # an id of no segment
                    changes[index] = {"segment_id": _detached_copy_id(current, contexts[index])}
                continue
            passage = locator.passages(document)[number]  # type: ignore[index]
            change: dict[str, object] = {"context": locator.context(document, passage.index)}
            if target != current or (reviews.at[index, "decision"] == "add" and  # _manual_rows finds it by its offsets
                                      (reviews.at[index, "start"], reviews.at[index, "end"]) != (str(passage.start), str(passage.end))):
                change.update(segment_id=target, passage=str(passage.index), start=str(passage.start), end=str(passage.end))
                moved += 1
                if copies.at[index, "first"] in present:  # the code codes this text: every copy of it
                    present.add(target)  # type: ignore[attr-defined]
            if change != {"context": kept[index]}:
                changes[index] = change
    if changes and "context" not in reviews.columns:
        reviews["context"] = ""
    _set_cells(reviews, changes)
    return moved


def _earlier_context(reviews: pd.DataFrame, index: object, locator: PassageLocator) -> str:
    """locator.earlier_context() of review entry `index`, by the passage, start and end it keeps."""
    entry = reviews.loc[index]
    return locator.earlier_context(str(entry["document"]), entry["passage"], entry["start"], entry["end"], entry["text"])


def _context_now(context: str, around: dict[int, str], document: str, locator: PassageLocator, *,
                 as_before: bool = False) -> str:
    """`context`, or, when no copy (`around`: their contexts) has it, what the copy that had it in the run before
    has now (PassageLocator.context_now; `as_before`: its neighbours named as in side_as_before), if any."""
    if not context or context in around.values():
        return context
    return locator.context_now(document, context, as_before=as_before) or context


def _copy_of(context: str, here: int | None, around: dict[int, str], *, earlier: Collection[str] = (),
             earlier_order: Sequence[str] | None = None,
             neighbours: Callable[[], _Neighbours] | None = None,
             kept: Callable[[int], bool | None] | None = None) -> int | None:
    """Which copy (passage number) a decision is on: the one whose context is the decision's, else the one
    whose passage before or after is the decision's; the copy its id names (`here`) when it is one of those.
    A decision without a context stays on `here`. None when no copy is it, or several are.

    Another copy than `here` sharing one side only is not taken when its other side is that side of a copy
    as it was (`earlier`, contexts): it is that copy, its own neighbour gone, not this one with a neighbour
    edited. A copy deleted with its question left its answer after (or before) at another copy, which took
    the deleted copy's decision (probe KK5).

    When `here` shares one side and another copy the other (a copy added right after it, or copies deleted,
    added or swapped around it), the passages around them cannot tell which it is; its number can, only when
    the copies before it are those before it in the run before (`earlier_order`, their contexts in order):
    else the copy its id numbers may be another, and it was given the decision (probe NN9). Nor is its number
    any evidence when it shares one side alone: it is told as any other copy. Nor when passages were only
    deleted (or edited) around the copies and `here` cannot be the decision's copy so (`kept`: its neighbour
    now lay beyond the decision's copy then): it is another copy, unchanged, sharing with the decision's a
    passage that sits beside many copies (a filler line, "Q: Okay.", after every answer). A Q/A block deleted
    with its filler gave the next answer, which its id numbers now, the deleted copy's decision, over that
    answer's own (probe VV1).

    A copy sharing one side only is taken (`neighbours`: the passages of the document now and in the run before)
    only when the decision's copy may be it, its other neighbour gone from the document (edited or deleted) or the
    copy's a passage the run before had (moved there), and no other copy of the run before, not found now, may
    be it with its neighbours edited or deleted. Blocks swapped or moved and a neighbour edited (a question
    reworded, or a line re-wrapped) gave a copy that had lost its neighbours the decision of another (probe TT1)."""
    if not context:
        return here
    before, after = context.split("-", 1) if "-" in context else (context, "")
    same = [number for number, found in around.items() if found == context]
    starts, ends = before + "-", "-" + after
    half = [number for number, found in around.items() if found.startswith(starts) or found.endswith(ends)]
    if here in half and not same:
        # Rivals: other copies sharing one side, but not those as a copy was in the run before (that copy, unchanged).
        rivals = [number for number in half if number != here and around[number] not in earlier]
        ahead = [around[number] for number in sorted(around) if number < here]
        in_order = (earlier_order is not None and len(earlier_order) > len(ahead)
                    and list(earlier_order[:len(ahead)]) == ahead)
        if rivals and not in_order:
            return None
        if (earlier_order is not None and not in_order) or (kept is not None and kept(here) is False):
            here = None
    if here not in half:
        befores = {known.split("-", 1)[0] for known in earlier}
        afters = {known.split("-", 1)[1] for known in earlier if "-" in known}
        half = [number for number in half if not (
            around[number].split("-", 1)[0] in befores if around[number].endswith("-" + after)
            else around[number].split("-", 1)[-1] in afters)]
        if neighbours is not None:
            others = [known for known in earlier if known != context and known not in around.values()]
            half = [number for number in half if _may_be(context, around[number], neighbours(), moved=True)
                    and not any(_may_be(other, around[number], neighbours()) for other in others)]
    for candidates in (same, half):
        if here in candidates:
            return here
        if candidates:
            return candidates[0] if len(candidates) == 1 else None
    return None


@dataclass(frozen=True)
class _Neighbours:
    """What a copy's neighbour can be: the short hashes (_side) of a document's passages now (as side_as_before
    names them, and its edge) and of those the run before had (none without its passages table)."""

    now: frozenset[str]
    before: frozenset[str]


def _may_be(was: str, now: str, neighbours: _Neighbours, *, moved: bool = False) -> bool:
    """Whether the copy whose context was `was` may be the one whose context is `now`: on each side the neighbour
    it had, or another where the one it had is in the document no more; `moved`: or a passage the run before had."""
    return all(then == found or then not in neighbours.now or (moved and found in neighbours.before)
               for then, found in zip(was.split("-", 1), now.split("-", 1)))


@dataclass(frozen=True)
class _Deletions:
    """A document's passages now as the run before's with passages deleted, edited or new (by text, whitespace
    and case ignored): those both runs read, by position in each, and how far into the run before's a run of them
    reaches when each is taken as early (`ends`) or as late (`starts`) as it can be."""

    earlier: dict[int, int]  # passage number then: its position among those both runs read
    now: dict[int, int]  # passage number now: likewise
    ends: list[int]  # ends[k]: the fewest of the run before's (shared) passages that hold the first k now, in order
    starts: list[int]  # starts[k]: the latest position from which the run before's hold those from the k-th on

    @classmethod
    def of(cls, then: Sequence[tuple[int, str]], now: Sequence[tuple[int, str]]) -> _Deletions | None:
        """From (passage number, _normalized text) of each passage then and now; None when the passages both read
        are not, in order, some of the run before's: passages moved."""
        both = {text for _, text in then} & {text for _, text in now}
        then, now = [kept for kept in then if kept[1] in both], [kept for kept in now if kept[1] in both]
        old, new = [text for _, text in then], [text for _, text in now]
        ends, at = [0], 0
        for text in new:
            while at < len(old) and old[at] != text:
                at += 1
            if at == len(old):
                return None
            at += 1
            ends.append(at)
        starts, at = [len(old)], len(old)
        for text in reversed(new):
            at -= 1
            while old[at] != text:
                at -= 1
            starts.append(at)
        return cls({number: position for position, (number, _) in enumerate(then)},
                   {number: position for position, (number, _) in enumerate(now)}, ends, starts[::-1])

    def keeps(self, then: int, now: int) -> bool | None:
        """Whether passage `then` of the run before may be passage `now`, those both read before it now being some
        of those before it then, in order, and so after it; None when either is not read by both."""
        if then not in self.earlier or now not in self.now:
            return None
        position, place = self.earlier[then], self.now[now]
        return self.ends[place] <= position and self.starts[place + 1] >= position + 1


def _detached_copy_id(identifier: str, context: str) -> str:
    """The id of a decision whose copy of a repeated passage is not found: no segment has it."""
    return segment_id_from_fingerprint(hashlib.sha1(f"{identifier}\x1f{context}".encode()).hexdigest(), "detached copy")


def _set_cells(reviews: pd.DataFrame, changes: dict[object, dict[str, object]]) -> None:
    """Set `reviews`' cells {index: {column: value}}, a column at a time (pandas' loc took 3 ms a call)."""
    for column in dict.fromkeys(column for change in changes.values() for column in change):
        indexes = [index for index, change in changes.items() if column in change]
        reviews.loc[indexes, column] = [changes[index][column] for index in indexes]


# A passage's text is first compared by the first _START characters of its _normalized form, taken
# from its first _START_CHARACTERS characters when these are enough.
_START, _START_CHARACTERS = 24, 64


def _rows_by_passage_text(frame: pd.DataFrame, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
    """{(code, _normalized text): positions of the rows of `frame` with them}, for the pairs `wanted` only.

    The rows of the wanted codes are first compared by the start of their normalized text, made from
    the start of the text (`_normalized_start`); only those that start as a wanted text of their code
    are normalized whole, each distinct text once. Normalizing every row of the codes took 20
    microseconds a row: 2 s for the 144,000 rows of the codes of 28 lost decisions on the 50 MB benchmark.
    """
    import numpy as np

    starts = {(code, text[:_START]) for code, text in wanted}
    wanted_starts = {start for _, start in starts}
    rows = np.flatnonzero(frame["code"].isin(list({code for code, _ in wanted})).to_numpy())
    texts = frame["text"].take(rows)
    text_starts = [_normalized_start(text) for text in texts]
    hopeful = np.flatnonzero(np.array([start in wanted_starts for start in text_starts], dtype=bool))
    normalized: dict[object, str] = {}
    keys: dict[tuple[str, str], list[int]] = {}
    for number, code, text in zip(hopeful, frame["code"].take(rows[hopeful]), texts.take(hopeful)):
        if (code, text_starts[number]) not in starts:
            continue
        if text not in normalized:
            normalized[text] = _normalized(text)
        key = (code, normalized[text])
        if key in wanted:
            keys.setdefault(key, []).append(int(rows[number]))
    return keys


def _rows_by_folded_text(frame: pd.DataFrame, wanted: set[tuple[str, str]]) -> dict[tuple[str, str, str], list[int]]:
    """{(document, code, _folded text): positions of the rows of `frame` with them}, for the rows of the
    (document, code) pairs `wanted` only."""
    import numpy as np

    if not wanted:
        return {}
    rows = np.flatnonzero(frame["document"].isin(list({document for document, _ in wanted})).to_numpy())
    keys: dict[tuple[str, str, str], list[int]] = {}
    for row, document, code, text in zip(rows, frame["document"].take(rows), frame["code"].take(rows), frame["text"].take(rows)):
        if (str(document), str(code)) in wanted:
            keys.setdefault((str(document), str(code), _folded(text)), []).append(int(row))
    return keys


def _normalized_start(text: object) -> str:
    """`_normalized(text)[:_START]`, from the text's first _START_CHARACTERS characters when they hold it.

    The start of a text decides the start of its normalized form: a cut whitespace run is still one
    space, a cut word the start of the word, and casefold maps each character alone.

    >>> _normalized_start("  Cross-Regional\\n  GOVERNANCE and government cooperation")
    'cross-regional governanc'
    """
    text = str(text)
    start = _normalized(text[:_START_CHARACTERS])
    if len(start) < _START and len(text) > _START_CHARACTERS:
        start = _normalized(text)  # much whitespace at the start
    return start[:_START]


def _manual_rows(reviews: pd.DataFrame, present: Container[str], locator: PassageLocator, codebook) -> pd.DataFrame:
    """Segments for the passages reviewers coded by hand (review `add`), located in this run's corpus."""
    from .segments import SEGMENT_COLUMNS

    rows = []
    changes: dict[object, dict[str, object]] = {}
    held = set(reviews["segment_id"].astype(str))  # another entry's id is never taken: two entries with one id
    for index in reviews.index[reviews["decision"].eq("add")]:
        entry = reviews.loc[index]
        if entry["segment_id"] in present or entry["code"] not in codebook:
            continue  # the tool codes it too (the automatic row is kept), or the code is gone
        on_copy = _span_on_its_copy(entry, locator)
        if isinstance(on_copy, str):  # a span on a copy of a repeated passage not found: detached, as place_on_copies does
            if not _is_detached_copy(entry):
                changes[index] = {"segment_id": _detached_copy_id(str(entry["segment_id"]), on_copy), "context": on_copy}
            continue
        if on_copy is None and _is_detached_copy(entry):
            continue  # its copy of a repeated passage is not found (place_on_copies): never put on another copy
        found = _locate_added(entry, locator) if on_copy is None else on_copy[0]
        if found is None:
            continue
        document, passage, start, end, text = found
        located = locator.passage(document, passage)
        # A whole passage's id is its copy's (a repeated passage has one per copy); a span's, its text's.
        identifier = (segment_id_from_fingerprint(locator.fingerprint(document, passage), entry["code"])
                      if located is not None and (located.start, located.end) == (start, end)
                      else segment_id(document, text, entry["code"]))
        if identifier != entry["segment_id"]:
            if identifier in present or identifier in held:
                continue  # the tool codes it, or another entry holds it (its own hand coding, probe AJ2): detached
            changes[index] = {"segment_id": identifier, "document": document}
        changes.setdefault(index, {}).update(passage=str(passage), start=str(start), end=str(end))
        if located is not None and (located.start, located.end) == (start, end) and len(locator.find(text, document=document)) > 1:
            changes[index]["context"] = locator.context(document, passage)  # a copy: place_on_copies keeps it on it
        elif located is not None and (on_copy is not None or len(locator.find(located.text, document=document)) > 1):
            changes[index]["context"] = locator.context(document, passage)  # a span on a copy: _span_on_its_copy keeps it there
        code = codebook[entry["code"]]
        kind = located.kind if located is not None else "body"
        rows.append((identifier, document, passage, start, end, kind, code.id, code.code_path, code.label, 0, "", text,
                     "add", entry["note"]))
        present.add(identifier)
    if changes and "context" not in reviews.columns:
        reviews["context"] = ""
    _set_cells(reviews, changes)
    frame = pd.DataFrame.from_records(rows, columns=list(SEGMENT_COLUMNS))
    frame = frame.astype({column: "int64" for column in ("passage", "start", "end", "hits")})
    frame["source"] = MANUAL
    return frame


def _span_on_its_copy(entry: pd.Series, locator: PassageLocator) -> tuple[tuple[str, int, int, int, str], str] | str | None:
    """A span coded by hand (start and end, part of a passage) on a copy of a passage repeated in its document:
    ((document, passage, start, end, text) on its copy now, that copy's context), or the context of its copy when
    that copy is not found (it is detached); None when it is on no copy (_locate_added finds it by its offsets,
    else its text). Its copy is told as place_on_copies tells a decision's, by the passages around the copy as the
    run before had it (or its `context`); found by its text alone, the span went to the first copy, where copies
    were added before its own or its own was deleted (probe ZZ6)."""
    document, text = str(entry["document"]), str(entry["text"])
    start, end = _whole(str(entry["start"])), _whole(str(entry["end"]))
    source = locator.documents.get(document)
    stored = entry.get("context")
    stored = stored if isinstance(stored, str) else ""
    if source is None or start is None or end is None or end <= start or not text.strip():
        return None
    passages = locator.passages(document)
    host = locator.earlier_host(document, entry["passage"], start, end, text)
    offset: int | None = None
    if host is not None:
        first, words, context, copy = host
        context = stored or context
        copies = [passage.index for passage in passages if _normalized(passage.text) == _normalized(words)]
        order = locator.earlier_copy_order(document, words)
        if not stored and len(copies) < 2 and len(order or ()) < 2:
            return None  # its passage does not repeat
        around = {number: locator.context_as_before(document, number) for number in copies}
        here = copies[copy] if copy < len(copies) else None  # the copy a decision's id would number
        number = _copy_of(_context_now(context, around, document, locator, as_before=True), here, around,
                          earlier={*(order or ()), context}, earlier_order=order,
                          neighbours=lambda: locator.neighbours(document),
                          kept=lambda number: locator.kept_by_deletion(document, context, number))
        offset = start - first
    elif stored and not locator.find(text, document=document):
        # a span (no passage reads as it) where the run before had it is not known (it was detached, or that run's
        # passages table is not at hand): only the copy with its context
        holding = [passage.index for passage in passages if text in source.text[passage.start:passage.end]]
        if not holding:
            return None  # its text is gone from the document
        same = [number for number in holding if locator.context(document, number) == stored]
        number, context = (same[0] if len(same) == 1 else None), stored
    else:
        return None
    if number is None:
        return context
    passage = passages[number]
    at = passage.start + offset if offset is not None else -1
    if offset is None or source.text[at:at + len(text)] != text:
        at = source.text.find(text, passage.start, passage.end)
        if at < 0:
            return context  # its copy no longer holds it
    return (document, number, at, at + len(text), text), locator.context(document, number)


def _locate_added(entry: pd.Series, locator: PassageLocator) -> tuple[str, int, int, int, str] | None:
    """(document, passage, start, end, text) of a hand-coded entry in this run's corpus, or None."""
    document, text = str(entry["document"]), str(entry["text"])
    start, end = _whole(str(entry["start"])), _whole(str(entry["end"]))
    source = locator.documents.get(document)
    # A span coded by offsets: the same text at the same place, else the same text elsewhere in the document.
    if source is not None and start is not None and end is not None:
        whole = [passage for passage in locator.passages(document) if passage.start == start and passage.end == end]
        if whole and _folded(whole[0].text) == _folded(text):  # that passage, as it was (of its copies)
            return (document, whole[0].index, whole[0].start, whole[0].end, whole[0].text)
        if not whole:
            if source.text[start:end] != text:
                moved = source.text.find(text) if text else -1
                if moved < 0:
                    return None
                start, end = moved, moved + len(text)
            passage = locator.containing(document, start)
            return (document, passage.index if passage else 0, start, end, text) if passage else None
    matches = locator.find(text, document=document) if source is not None else []
    elsewhere = not matches
    if not matches and source is not None:  # a character corrected where the matcher reads no change (並 -> 并)
        matches = locator.find(text, document=document, folded=True)
    if not matches:  # the document was renamed: to one new since the run before (probe AJ2)
        matches = [passage for passage in locator.find(text) if _may_be_renamed(document, passage.document, locator)]
        if len(matches) != 1 and not (matches and _is_text(entry.get("context"))):
            return _span_in_renamed_document(text, locator, gone=document) if source is None and start is not None else None
    if elsewhere and matches and _is_text(entry.get("context")):
        # on a copy of a repeated passage: the copy it was on, not the one copy left (probe YY7, its document
        # renamed) nor any (YY8)
        if len({passage.document for passage in matches}) != 1:
            return None
        number = _copy_elsewhere(entry, matches[0].document, [passage.index for passage in matches], locator)
        if number is None:
            return None
        matches = [passage for passage in matches if passage.index == number]
    passage = matches[0]
    return (passage.document, passage.index, passage.start, passage.end, passage.text)


def _may_be_renamed(gone: str, document: str, locator: PassageLocator) -> bool:
    """Whether `document` can be `gone` renamed: one new since the run before (a rename in capitals only too: the
    new name is new), `gone` one the run before had. A document the run before had is another one, in other
    capitals too (two files on Linux, probe AK4): a hand coding of a deleted document moved onto its copy of the
    passage, silently, or onto its own hand coding of it (probe AJ2); and a document deleted runs ago is not
    renamed into one added since: its hand coding of a consent paragraph moved into a new interview (AL2)."""
    return document not in locator.earlier and (gone in locator.earlier or not locator.earlier)


def _span_in_renamed_document(text: str, locator: PassageLocator, *, gone: str = "") -> tuple[str, int, int, int, str] | None:
    """A span of `gone`, a document no longer in the corpus, where its text appears once in the corpus (the
    document renamed or moved), as a decision follows its passage text; None when it is not there, or twice.
    Only documents new since the run before are looked in, and only while `gone` went since then
    (_may_be_renamed): a document that was there then is not the gone one renamed, and a short span of a
    deleted interview would land in any report that says it once."""
    if not text.strip() or (locator.earlier and gone not in locator.earlier):
        return None
    found = []
    for document in locator.documents.values():
        if document.path in locator.earlier:
            continue
        position = document.text.find(text)
        if position >= 0:
            found.append((document.path, position))
            if len(found) > 1 or document.text.find(text, position + 1) >= 0:
                return None  # in several places: never guessed
    if not found:
        return None
    document, start = found[0]
    passage = locator.containing(document, start)
    return (document, passage.index, start, start + len(text), text) if passage is not None else None


def explain_detached(detached: pd.DataFrame, segments: pd.DataFrame, *, codes: Iterable[str] | None = None,
                     documents: Iterable[str] | None = None) -> pd.DataFrame:
    """The detached entries as (document, passage, code, decision, note, why), why naming the fix."""
    if detached.empty:
        return pd.DataFrame(columns=list(DETACHED_COLUMNS))
    entries = detached.to_dict("records")
    known_codes = set(codes) if codes is not None else _among(segments["code"], {entry["code"] for entry in entries})
    known_documents = (set(documents) if documents is not None
                       else _among(segments["document"], {entry["document"] for entry in entries}))
    # Only the segments of the entries' documents can tell whether a passage of theirs is coded.
    mine = segments["document"].astype(str).isin(list({entry["document"] for entry in entries}))
    coded_texts = {(str(document), _normalized(text))
                   for document, text in zip(segments.loc[mine, "document"], segments.loc[mine, "text"])}
    rows = []
    for entry in entries:
        if entry["code"] not in known_codes:
            why = f"code '{entry['code']}' is not in the codebook: `coder review reattach {command_argument(entry['code'])} NEW_CODE`"
        elif entry["document"] not in known_documents:
            what = "text" if entry["decision"] == "add" else "passage text"
            why = f"the document is not in the corpus (renamed or removed, and its {what} is not found once elsewhere)"
        elif not entry["decision"]:
            # a note alone: its decision withdrawn, perhaps a hand coding's, which the code never coded (probes WW2,
            # WW10: its copy "not found", or its text "changed", were false for such a note)
            why = ("a note without a decision, on a passage the code does not code now (a hand coding withdrawn, its "
                   "keywords or the passage changed): delete its row in the review file if it is not wanted")
        elif entry["decision"] == "add" and not _is_detached_copy(entry):
            why = "the passage text is no longer in the document"
        elif entry["decision"] == "add" or (
                (entry["document"], _normalized(entry["text"])) in coded_texts and _is_text(entry.get("context"))):
            why = ("its passage repeats in the document and the copy it was on is not found by the passages around "
                   "it (copies added or removed beside it, or those passages edited), or not told apart from another")
        elif (entry["document"], _normalized(entry["text"])) in coded_texts:
            why = "the code no longer codes this passage (its keywords changed)"
        else:
            why = "no code codes this passage now, or its text changed"
        rows.append((entry["document"], entry["passage"], entry["code"], entry["decision"] or "(note)", entry["note"], why))
    return pd.DataFrame(rows, columns=list(DETACHED_COLUMNS))


def detached_count(decided: pd.Series) -> str:
    """"3 decision(s) are", "2 decision(s) and 1 note(s) without a decision are": detached entries told by
    `decided` (one bool each), a note kept alone not counted as a decision (probe WW10)."""
    notes = int((~decided.astype(bool)).sum())
    decisions = len(decided) - notes
    if not notes:
        return f"{decisions} decision(s) are"
    return (f"{decisions} decision(s) and " if decisions else "") + f"{notes} note(s) without a decision are"


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _among(column: pd.Series, values: set[str]) -> set[str]:
    """The `values` that are among the column's values (as str), looked up in the column at once."""
    column = column.astype(str)
    return set(column[column.isin(list(values))])


# --- precision and recall ------------------------------------------------------------------------


def precision_by_code(segments: pd.DataFrame) -> pd.DataFrame:
    """Per code: automatic segments, how many were reviewed and accepted, precision, passages added
    by hand, and a recall estimate, from a segments frame with reviews applied.

    precision = accepted / reviewed. recall ~ (precision x automatic segments) / (that + added):
    the tool's estimated true finds over those plus the passages reviewers found it missed. It is
    an upper bound, since it only knows the misses someone noticed; `coder sample` and `coder agree`
    measure recall on a random sample.

    >>> precision_by_code(segments)  # doctest: +SKIP
         code  segments  reviewed  accepted  rejected  precision  added  recall
    0  barrier       20        10         8         2        0.8      4    0.8
    """
    if segments.empty or "review" not in segments.columns:
        return precision_from_counts(None)
    return precision_from_counts(precision_counts(segments))


def precision_counts(segments: pd.DataFrame) -> pd.DataFrame:
    """Per code (sorted): automatic segments, accepted, rejected, added; sums of these over parts of a
    run (the Dask engine's partitions) give the whole run's, for `precision_from_counts`."""
    source = segments["source"] if "source" in segments.columns else pd.Series(AUTO, index=segments.index)
    # Each distinct review cell read once: a large run has hundreds of thousands of rows and a handful of
    # spellings (casefolding every row took 0.07 s at 437,785 rows).
    cells, distinct = pd.factorize(segments["review"], use_na_sentinel=False)
    review = pd.Series(distinct).astype(str).str.strip().str.casefold()
    spellings = {}
    for value in pd.unique(review):
        try:
            spellings[value] = normalize_review(value) or ""
        except ValueError:
            spellings[value] = ""
    decided = review.map(spellings)
    manual = source.eq(MANUAL).to_numpy(dtype=bool)
    table = pd.DataFrame({
        "code": segments["code"].astype(str),
        "segments": ~manual,
        "accepted": ~manual & decided.isin(("accept", "add")).to_numpy(dtype=bool)[cells],
        "rejected": ~manual & decided.eq("reject").to_numpy(dtype=bool)[cells],
        "added": manual,
    }).groupby("code", sort=True).sum().reset_index()
    return table


def precision_from_counts(table: pd.DataFrame | None) -> pd.DataFrame:
    """precision_by_code's table from `precision_counts` (None: no segments)."""
    columns = {"code": str, "segments": int, "reviewed": int, "accepted": int, "rejected": int,
               "precision": float, "added": int, "recall": float}
    if table is None:
        return pd.DataFrame({column: pd.Series(dtype=kind) for column, kind in columns.items()})
    table = table[(table["accepted"] + table["rejected"] + table["added"]) > 0]
    if table.empty:
        return pd.DataFrame({column: pd.Series(dtype=kind) for column, kind in columns.items()})
    table["reviewed"] = table["accepted"] + table["rejected"]
    table["precision"] = table["accepted"] / table["reviewed"].where(table["reviewed"] > 0)
    found = table["precision"] * table["segments"]
    table["recall"] = found / (found + table["added"]).where((found + table["added"]) > 0)
    table = table.astype({column: int for column in ("segments", "reviewed", "accepted", "rejected", "added")})
    return table[list(PRECISION_COLUMNS)].reset_index(drop=True)


def render_precision(precision: pd.DataFrame) -> str:
    """Precision and recall estimate per code as aligned text lines, for summaries."""
    if precision.empty:
        return "No reviewed segments yet: precision unknown."
    width = max(len("code"), *(len(str(code)) for code in precision["code"]))

    def share(value: float) -> str:
        return "–" if value != value else f"{value:.0%}"

    lines = [f"{'code':<{width}}  reviewed  accepted  precision  added  recall (estimate)"]
    for record in precision.itertuples(index=False):
        lines.append(f"{record.code:<{width}}  {record.reviewed:>8}  {record.accepted:>8}  {share(record.precision):>9}"
                     f"  {record.added:>5}  {share(record.recall):>6}")
    return "\n".join(lines)


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewStatus:
    """Counts for `coder review status`."""

    reviews_path: str
    entries: int
    accepted: int
    rejected: int
    added: int
    notes_only: int
    detached: pd.DataFrame | None = None  # DETACHED_COLUMNS; None when no segments were given
    precision: pd.DataFrame | None = None
    withdrawn: int = 0  # entries holding neither a decision nor a note (a decision withdrawn)
    pending: int = 0  # passages coded by hand since the last run, which its passages hold: the next run counts them

    @property
    def orphans(self) -> int | None:
        return None if self.detached is None else len(self.detached)

    def render(self) -> str:
        lines = [
            f"{self.reviews_path}: {self.entries} entries: {self.accepted} accepted, {self.rejected} rejected"
            + (f", {self.added} added by hand" if self.added else "")
            + (f", {self.notes_only} with a note only" if self.notes_only else "")
            + (f", {self.withdrawn} withdrawn" if self.withdrawn else "") + "."
        ]
        if self.detached is not None and not len(self.detached):
            lines.append("No detached decisions" + (": each has its segment in the last run." if not self.pending else "."))
        if self.pending:
            lines.append(f"{self.pending} passage(s) coded by hand since the last run (their text is in its documents): "
                         f"the next run counts them.")
        if self.detached is not None and len(self.detached):
            lines.append(f"{detached_count(self.detached['decision'].ne('(note)'))} detached: the last run has no segment "
                         f"for them (kept):")
            for row in self.detached.itertuples(index=False):
                note = f" \"{row.note}\"" if row.note else ""
                lines.append(f"  {row.document}, passage {row.passage or '?'}, {row.code}: {row.decision}{note}; {row.why}")
        if self.precision is not None and not self.precision.empty:
            lines.append(render_precision(self.precision))
        return "\n".join(lines)


def review_status(
    reviews_path: str | Path, segments: pd.DataFrame | None = None, *, codes: Iterable[str] | None = None,
    documents: Iterable[str] | None = None, written: Mapping[str, tuple[str, str]] | None = None,
    passages: Callable[[], pd.DataFrame | None] | None = None,
) -> ReviewStatus:
    """Summarise the review file; against a run's segments also its detached entries and precision, counted
    as the next run counts them (`written`: what that run wrote in their review cells, applied_as_the_next_run).
    `passages` gives that run's passages table: a passage coded by hand since that run, which its passages
    hold, is pending, not detached (probe AX3: it was said to be no longer in the document)."""
    reviews = read_reviews(reviews_path)
    empty = holding_nothing(reviews)
    detached = precision = None
    pending = 0
    if segments is not None:
        _, lost = apply_reviews(segments, reviews)
        waiting = _added_since_the_run(lost, passages, codes)
        pending = int(waiting.sum())
        detached = explain_detached(lost[~waiting], segments, codes=codes, documents=documents)
        precision = precision_by_code(applied_as_the_next_run(segments, reviews, written))
    return ReviewStatus(
        reviews_path=str(reviews_path), entries=len(reviews),
        accepted=int(reviews["decision"].eq("accept").sum()), rejected=int(reviews["decision"].eq("reject").sum()),
        added=int(reviews["decision"].eq("add").sum()), notes_only=int((reviews["decision"].eq("") & ~empty).sum()),
        detached=detached, precision=precision, withdrawn=int(empty.sum()), pending=pending,
    )


def _added_since_the_run(lost: pd.DataFrame, passages: Callable[[], pd.DataFrame | None] | None,
                         codes: Iterable[str] | None) -> pd.Series:
    """Which detached entries are passages coded by hand (`add`, on no lost copy of a repeated passage, their
    code in the codebook) whose text a passage of their document holds in the run's `passages` table: the run
    was before they were added, and the next run codes them."""
    candidates = lost["decision"].eq("add") & lost["text"].astype(str).str.strip().ne("")
    if codes is not None:
        candidates &= lost["code"].isin(list(codes))
    candidates &= pd.Series([not _is_detached_copy(entry) for entry in lost.to_dict("records")], index=lost.index,
                            dtype=bool)
    table = passages() if passages is not None and candidates.any() else None
    if table is None:
        return pd.Series(False, index=lost.index, dtype=bool)
    wanted = set(lost.loc[candidates, "document"].astype(str))
    mine = table[table["document"].astype(str).isin(list(wanted))]
    texts: dict[str, list[str]] = {}
    for document, text in zip(mine["document"].astype(str), mine["text"].astype(str)):
        texts.setdefault(document, []).append(_normalized(text))
    return pd.Series([bool(held) and any(_normalized(str(entry["text"])) in text for text in texts.get(str(entry["document"]), ()))
                      for held, entry in zip(candidates, lost.to_dict("records"))], index=lost.index, dtype=bool)

