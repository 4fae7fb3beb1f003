"""Validation: agreement of the automatic coding with a researcher's hand coding (gold), per code and overall.

The unit is the passage: for every code, each passage is either coded or not by each
coder (automatic and gold). Per code: TP/FP/FN/TN, precision, recall, F1, Cohen's kappa
and Krippendorff's alpha (nominal); overall: micro-averaged precision/recall/F1, the mean
kappa and alpha pooled over all (passage, code) units.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .errors import CoderError, OutputError, first_lines, passages_held, quoted
from .files import (
    CODE_PAGE_READINGS,
    LEGACY_ENCODINGS,
    SAVED_AS,
    cannot_hold,
    read_table,
    saved_as,
    table_encoding,
    whole_number,
    write_csv,
)
from .models import Codebook, ancestor_at
from .names import AmbiguousNameError, DocumentNames
from .runs import RunFolder

AGREEMENT_COLUMNS = (
    "code", "gold", "predicted", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "kappa", "alpha",
)
# 95% bootstrap confidence intervals (passages resampled with replacement), after the figures.
INTERVAL_COLUMNS = ("precision_low", "precision_high", "recall_low", "recall_high")
OVERALL = "(overall)"

Coincidences = dict[tuple[Hashable, Hashable], float]


# ------------------------------------------------------------------ Krippendorff's alpha


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def coincidence_matrix(data: Sequence[Sequence[Hashable | None]]) -> Coincidences:
    """Krippendorff's coincidence matrix o[c, k] from reliability data (rows = coders, columns = units).

    Missing values are None (or NaN); units with fewer than two values are not pairable and
    add nothing. Each pairable unit with m values adds 1/(m-1) per ordered pair of values.
    """
    width = max((len(row) for row in data), default=0)
    matrix: Coincidences = Counter()
    for unit in range(width):
        values = [row[unit] for row in data if unit < len(row) and not _missing(row[unit])]
        m = len(values)
        if m < 2:
            continue
        for i, first in enumerate(values):
            for j, second in enumerate(values):
                if i != j:
                    matrix[(first, second)] += 1 / (m - 1)
    return dict(matrix)


def alpha_from_coincidences(matrix: Mapping[tuple[Hashable, Hashable], float]) -> float:
    """Nominal alpha = 1 - (n - 1) * sum(o[c,k], c != k) / sum(n_c * n_k, c != k); NaN when undefined."""
    totals: Counter[Hashable] = Counter()
    for (first, _), count in matrix.items():
        totals[first] += count
    n = sum(totals.values())
    observed = sum(count for (first, second), count in matrix.items() if first != second)
    expected = n * n - sum(total * total for total in totals.values())  # sum over c != k of n_c * n_k
    if n <= 1 or expected <= 0:
        return float("nan")
    return 1 - (n - 1) * observed / expected


def krippendorff_alpha(data: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal data, any number of coders, missing values allowed.

    >>> round(krippendorff_alpha([[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]), 3)
    0.095
    """
    return alpha_from_coincidences(coincidence_matrix(data))


def _binary_coincidences(tp: int, fp: int, fn: int, tn: int) -> Coincidences:
    # Two coders, no missing values: each unit adds its ordered pair both ways.
    return {(True, True): 2.0 * tp, (False, False): 2.0 * tn, (True, False): float(fp + fn), (False, True): float(fp + fn)}


def cohen_kappa(tp: int, fp: int, fn: int, tn: int) -> float:
    """Cohen's kappa for two coders on present/absent; NaN when chance agreement is 1.

    >>> round(cohen_kappa(20, 5, 10, 15), 4)
    0.4
    """
    n = tp + fp + fn + tn
    if n == 0:
        return float("nan")
    observed = (tp + tn) / n
    chance = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    if chance >= 1:
        return float("nan")
    return (observed - chance) / (1 - chance)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def _row(code: str, tp: int, fp: int, fn: int, tn: int) -> dict[str, object]:
    return {
        "code": code,
        "gold": tp + fn,
        "predicted": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "kappa": cohen_kappa(tp, fp, fn, tn),
        "alpha": alpha_from_coincidences(_binary_coincidences(tp, fp, fn, tn)),
    }


# ------------------------------------------------------------------ gold coding


def read_gold(path: str | Path) -> pd.DataFrame:
    """Read GOLD.csv: columns document, code and either passage or start and end (UTF-8, BOM allowed).

    A `code` cell may name several codes separated by ";"; a blank one says the passage was
    read and has no code (a filled-in `coder sample` sheet is a gold file). Rows blank in every
    cell (what a spreadsheet leaves of cleared rows) are skipped. The index is each row's place
    in the file: its line is the index + 2.

    >>> gold = read_gold("gold.csv")  # doctest: +SKIP
    """
    path = Path(path)
    # An empty line counts, as a spreadsheet numbers its rows (probe AI13).
    frame = read_table(path, missing="gold coding not found. Pass a CSV with columns document, passage, code.",
                       blank_rows=True, chinese_code_pages=True)
    encoding = table_encoding(frame)
    has_passage = "passage" in frame.columns
    has_span = "start" in frame.columns and "end" in frame.columns
    missing = [column for column in ("document", "code") if column not in frame.columns]
    if missing or not (has_passage or has_span):
        raise CoderError(
            f"{path}: the header must name document, code and either passage or start and end "
            f"(found: {', '.join(frame.columns)}). For example: document,passage,code"
        )
    frame = frame[[any(str(cell).strip() for cell in row) for row in frame.itertuples(index=False)]]
    if not len(frame):
        raise CoderError(f"{path}: the header has no rows under it: nothing to score. Add a row for each passage "
                         f"you coded (document,passage,code), or fill in the `code` cells of a `coder sample` sheet.")
    problems = []
    numbers = ["passage"] if has_passage else ["start", "end"]
    for position, row in zip(frame.index, frame.to_dict("records")):
        line = position + 2
        if not str(row["document"]).strip():
            problems.append(f"{path}:{line}: `document` is empty.")
        for column in numbers:
            problem = _number_problem(str(row[column]).strip())
            if problem:
                problems.append(f"{path}:{line}: `{column}` {problem}.")
        start, end = (_whole(str(row.get(column, "")).strip()) for column in ("start", "end"))
        if has_span and not has_passage and start is not None and end is not None:
            if start > end:
                problems.append(f"{path}:{line}: start {row['start']} is after end {row['end']}.")
    if problems:
        raise CoderError("\n".join(first_lines(problems)))
    # The passage's text, where the sheet has it (a `coder sample` sheet): it tells a passage moved by an
    # edit of the corpus since the sheet was drawn.
    texts = ["text"] if has_passage and "text" in frame.columns else []
    # A span beside a passage number is checked against it (check_spans_name_their_passages).
    spans = ["start", "end"] if has_passage and has_span else []
    columns = ["document", "code", *numbers, *texts, *spans]
    frame = frame[columns].apply(lambda column: column.str.strip())
    frame["document"] = frame["document"].str.replace(_HERE, "", regex=True)
    for column in numbers:
        frame[column] = frame[column].map(_whole)
    for column in spans:
        # A Series of its own, as `.map` makes the blank cells' None NaN beside numbers (probe AI6).
        frame[column] = pd.Series([_whole(cell) if not _number_problem(cell) else None for cell in frame[column]],
                                  index=frame.index, dtype=object)
    frame["code"] = frame["code"].map(lambda cell: [code.strip() for code in cell.split(";") if code.strip()] or [""])
    frame = frame.explode("code")
    frame.attrs["encoding"] = encoding  # what the sheet was saved in tells a text that lost characters
    return frame


_HERE = re.compile(r"^(?:\./+)+")  # "./a.txt", as a list made with `find .` in the corpus names it


def _whole(cell: str) -> int | None:
    """A passage number or offset as a spreadsheet may write it ("3", "3.0"); None when it is not one."""
    return whole_number(cell.split(".")[0] if re.fullmatch(r"[0-9]+\.0*", cell) else cell)


def _number_problem(cell: str) -> str:
    """Why a cell is not a passage number or character offset ("" when it is one)."""
    if not cell:
        return "is empty"
    if _whole(cell) is not None:
        return ""
    if re.fullmatch(r"[0-9]+(?:\.0*)?", cell):
        return f"is {cell}, larger than any document's passages or characters"
    if re.fullmatch(r"[-\u2212]\s*[0-9]+(?:\.[0-9]*)?", cell):
        return f"is {cell}: passages and characters are numbered from 0, so it must be 0 or more"
    return f"is {quoted(cell)}, not a whole number"


def map_spans_to_passages(
    gold: pd.DataFrame, passages: Iterable[tuple[str, int, int, int]], *, source: str = "gold"
) -> pd.DataFrame:
    """Gold rows as (document, passage, code): spans become every passage they overlap.

    `passages` are (document, index, start, end). A zero-length span counts for the passage
    that contains its position.
    """
    if "passage" in gold.columns:
        return gold[["document", "passage", "code"]].drop_duplicates().reset_index(drop=True)
    by_document: dict[str, list[tuple[int, int, int]]] = {}
    for document, index, start, end in passages:
        by_document.setdefault(document, []).append((start, end, index))
    rows, problems = [], []
    for position, row in zip(gold.index, gold.to_dict("records")):
        number = int(position) + 2  # read_gold's index is the row's place in the file
        spans = by_document.get(row["document"])
        if spans is None:
            problems.append(f"{source}:{number}: document '{row['document']}' has no passages (is it in the corpus?).")
            continue
        start, end = int(row["start"]), int(row["end"])
        hit = [
            index for first, last, index in spans
            if (first < end and start < last) or (start == end and first <= start < last)
        ]
        if not hit:
            problems.append(f"{source}:{number}: span {start}-{end} of '{row['document']}' overlaps no passage.")
        rows.extend((row["document"], index, row["code"]) for index in hit)
    if problems:
        raise CoderError("\n".join(first_lines(problems)))
    return pd.DataFrame(rows, columns=["document", "passage", "code"]).drop_duplicates().reset_index(drop=True)


# ------------------------------------------------------------------ agreement


def _code_paths(predicted: pd.DataFrame, codebook: Codebook | None) -> dict[str, str]:
    paths: dict[str, str] = {}
    if "code_path" in predicted.columns:
        for code, path in zip(predicted["code"].astype(str), predicted["code_path"].astype(str)):
            if path:
                paths[code] = path
    if codebook is not None:
        paths.update({code.id: code.code_path for code in codebook})
    return paths


def compute_agreement(
    predicted: pd.DataFrame,
    gold: pd.DataFrame,
    *,
    level: int | None = None,
    units: int | None = None,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Per-code and overall agreement of `predicted` (segments.csv rows) with `gold` (document, passage, code).

    `units` is the number of passages in the corpus (the TN count depends on it); by
    default, the passages that appear in either table. With `level`, codes roll up to their
    ancestor at that depth of the codebook (1 = top level) before comparing.

    >>> compute_agreement(segments, gold, units=120)  # doctest: +SKIP
    """
    _check_inputs(predicted, gold, level=level)
    paths = _code_paths(predicted, codebook)
    if codebook is not None:
        _check_gold_codes(gold, paths)
    automatic, human = _coded_keys(predicted, paths, level), _coded_keys(gold, paths, level)
    seen = {(document, passage) for document, passage, _ in automatic | human}
    total = len(seen) if units is None else int(units)
    if total < len(seen):
        raise CoderError(
            f"units: {total} passages given, but {len(seen)} different passages are coded. "
            f"Pass the number of passages in the corpus."
        )
    order = {code.id: number for number, code in enumerate(codebook)} if codebook is not None else {}
    codes = sorted({code for *_, code in automatic | human}, key=lambda code: (order.get(code, len(order)), paths.get(code, code), code))
    return _agreement_table(automatic, human, codes, total)


def _check_inputs(predicted: pd.DataFrame, gold: pd.DataFrame, *, level: int | None) -> None:
    for name, frame in (("segments", predicted), ("gold", gold)):
        missing = [column for column in ("document", "passage", "code") if column not in frame.columns]
        if missing:
            raise OutputError(f"{name}: missing column(s) {', '.join(missing)}; expected document, passage, code.")
    if level is not None and level < 1:
        raise CoderError(f"--level {level}: levels start at 1 (the top-level codes).")


def _check_gold_codes(gold: pd.DataFrame, paths: dict[str, str]) -> None:
    """Raise when the gold coding names codes the codebook does not have, with the likely intended ids."""
    unknown = sorted(set(gold["code"].astype(str)) - set(paths) - {""})
    if not unknown:
        return
    folded = {known.casefold(): known for known in paths}
    hints = []
    for code in unknown[:10]:
        close = [folded[match] for match in _close_matches(code.casefold(), list(folded))]
        hints.append(quoted(code) + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise CoderError(
        f"gold: code(s) not in the codebook: {', '.join(hints)}. Use the code ids of the codebook in the `code` column."
    )


def _coded_keys(frame: pd.DataFrame, paths: dict[str, str], level: int | None) -> set[tuple[str, int, str]]:
    """(document, passage, code) for every row, codes rolled up to their ancestor at `level`."""

    def roll_up(code: str) -> str:
        if level is None:
            return code
        return ancestor_at(paths.get(code, code).split("/"), level)

    return {  # a blank code names a passage read and left uncoded
        (str(document), int(passage), roll_up(str(code)))
        for document, passage, code in zip(frame["document"], frame["passage"], frame["code"]) if str(code)
    }


def _agreement_table(
    automatic: set[tuple[str, int, str]], human: set[tuple[str, int, str]], codes: list[str], total: int
) -> pd.DataFrame:
    """One row per code and the overall row (mean kappa, alpha pooled over codes)."""
    rows = []
    sums: Counter = Counter()
    pooled: Counter = Counter()
    kappas = []
    by_code: dict[str, tuple[set, set]] = {code: (set(), set()) for code in codes}
    for document, passage, code in automatic:
        by_code[code][0].add((document, passage))
    for document, passage, code in human:
        by_code[code][1].add((document, passage))
    for code in codes:
        mine, theirs = by_code[code]
        tp, fp, fn = len(mine & theirs), len(mine - theirs), len(theirs - mine)
        tn = total - tp - fp - fn
        row = _row(code, tp, fp, fn, tn)
        rows.append(row)
        sums.update({"tp": tp, "fp": fp, "fn": fn, "tn": tn})
        pooled.update(_binary_coincidences(tp, fp, fn, tn))
        if not math.isnan(row["kappa"]):  # type: ignore[arg-type]
            kappas.append(row["kappa"])
    overall = _row(OVERALL, sums["tp"], sums["fp"], sums["fn"], sums["tn"])
    overall["kappa"] = sum(kappas) / len(kappas) if kappas else float("nan")  # type: ignore[operator]
    overall["alpha"] = alpha_from_coincidences(pooled)
    rows.append(overall)
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def bootstrap_intervals(
    predicted: pd.DataFrame,
    gold: pd.DataFrame,
    units: Sequence[tuple[str, int]],
    *,
    level: int | None = None,
    codebook: Codebook | None = None,
    rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Percentile bootstrap intervals for precision and recall, per code and overall.

    The passages in `units` are resampled with replacement `rounds` times (seeded, so repeatable);
    each round recounts TP, FP and FN. Returns code plus INTERVAL_COLUMNS; NaN where a figure is
    undefined in most rounds.

    >>> bootstrap_intervals(segments, gold, [("a.txt", 0), ("a.txt", 1)])  # doctest: +SKIP
    """
    import numpy as np

    paths = _code_paths(predicted, codebook)

    def roll_up(code: str) -> str:
        return code if level is None else ancestor_at(paths.get(code, code).split("/"), level)

    position = {unit: number for number, unit in enumerate(units)}
    codes: dict[str, int] = {}
    cells = []
    for frame in (predicted, gold):
        marks = set()
        for document, passage, code in zip(frame["document"], frame["passage"], frame["code"]):
            unit = position.get((str(document), int(passage)))
            if unit is not None and str(code):
                marks.add((unit, codes.setdefault(roll_up(str(code)), len(codes))))
        cells.append(marks)
    rows = [("code", *INTERVAL_COLUMNS)]
    if not units or not codes:
        return pd.DataFrame(columns=list(rows[0]))
    automatic = np.zeros((len(units), len(codes)), dtype=bool)
    human = np.zeros_like(automatic)
    for matrix, marks in zip((automatic, human), cells):
        for unit, code in marks:
            matrix[unit, code] = True
    rng = np.random.default_rng(seed)
    weights = np.zeros((rounds, len(units)))
    np.add.at(weights, (np.arange(rounds)[:, None], rng.integers(0, len(units), size=(rounds, len(units)))), 1)
    tp = weights @ (automatic & human)
    fp = weights @ (automatic & ~human)
    fn = weights @ (~automatic & human)
    tail = (1 - confidence) / 2 * 100

    def interval(hits: np.ndarray, misses: np.ndarray) -> tuple[float, float]:
        total = hits + misses
        values = hits[total > 0] / total[total > 0]
        if len(values) < rounds / 2:
            return float("nan"), float("nan")
        return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))

    names = list(codes)
    result = [(name, *interval(tp[:, index], fp[:, index]), *interval(tp[:, index], fn[:, index]))
              for index, name in enumerate(names)]
    result.append((OVERALL, *interval(tp.sum(axis=1), fp.sum(axis=1)), *interval(tp.sum(axis=1), fn.sum(axis=1))))
    return pd.DataFrame(result, columns=list(rows[0]))


def follow_passage_texts(sheet: pd.DataFrame, passages: pd.DataFrame, *, source: str,
                         encoding: str = "") -> tuple[pd.DataFrame, int, int]:
    """The sheet's rows with the passage numbers the run gives their texts, how many moved, and how
    many texts lost characters to the code page the sheet was saved in (`encoding`, as read).

    A sheet (a gold file or a sample with `text`) drawn before the corpus changed names passages by
    their old numbers: a paragraph added at the top of a document moves every one after it. A row
    whose text is not that of its passage takes the number of the one passage of its document with
    that text (whitespace ignored); a row whose text the document no longer holds stops the command,
    all such rows listed, as its coding would be scored against another passage's.

    A sheet saved in a code page without Chinese (Excel's "CSV (Comma delimited)") shows "?" for each
    character it lost: a row whose text is its passage's text saved so keeps its number, unless other
    rows of its document show the document changed, or another passage of it saves to the same text:
    then which passage a "?" stands for cannot be told and it stops."""
    if "text" not in sheet.columns or not len(sheet):
        return sheet, 0, 0
    normal = [" ".join(str(text).split()) for text in passages["text"]]
    current = dict(zip(zip(passages["document"].astype(str), passages["passage"].astype(int)), normal))
    places: dict[tuple[str, str], list[int]] = {}
    for document, number, text in zip(passages["document"].astype(str), passages["passage"].astype(int), normal):
        places.setdefault((document, text), []).append(number)
    numbers: list[int] = []
    moved: set[tuple[str, int]] = set()
    garbled: set[tuple[str, int]] = set()
    alike: set[tuple[str, int]] = set()
    lost: list[str] = []
    gone: set[tuple[str, int]] = set()
    known = set(passages["document"].astype(str))
    for document, number, text in zip(sheet["document"], sheet["passage"], sheet["text"]):
        text = " ".join(str(text).split())
        # A document the run does not have is named as such when the rows are checked, not followed here.
        if not text or document not in known or current.get((document, int(number))) == text:
            numbers.append(int(number))
            continue
        if _saved_in_code_page(current.get((document, int(number))), text, encoding):
            numbers.append(int(number))
            garbled.add((document, int(number)))
            if any(_saved_in_code_page(original, text, encoding) for (name, other), original in current.items()
                   if name == document and other != int(number)):
                alike.add((document, int(number)))  # a passage moved to its number would show the same "?"s
            continue
        found = places.get((document, text), [])
        if len(found) == 1:
            numbers.append(found[0])
            moved.add((document, int(number)))
        elif not found and any(_saved_in_code_page(original, text, encoding) for (name, _), original in current.items()
                               if name == document):
            numbers.append(int(number))  # its text saved so is elsewhere in the document: the message says why
            moved.add((document, int(number)))
            garbled.add((document, int(number)))
        else:
            numbers.append(int(number))
            gone.add((document, int(number)))
            lost.append(f"{document}, passage {number}: "
                        + ("its text is in several passages now" if found else "its text is no longer in the document"))
    saved = f"The sheet was saved {SAVED_AS.get(encoding, 'in a code page')}, which cannot hold {cannot_hold(encoding)}"
    advice = ("Nothing was scored. Save the sheet as \"CSV UTF-8\" and run again, or code these passages again in "
              "a new sample (coder sample).")
    # Only a "?" row's own document tells whether its number still names its passage (probe AI11).
    changed = {document for document, _ in moved | gone} & {document for document, _ in garbled}
    unplaced = {row for row in garbled if row[0] in changed}
    if unplaced:
        raise CoderError(
            f"{source}: {saved}: {len(unplaced)} row(s) show \"?\" in their `text` in place of such characters, and "
            f"{sum(1 for row in moved | gone if row[0] in changed)} row(s) name passages whose text has moved or is "
            f"gone, so the corpus changed since the sample was drawn and which passage each \"?\" row means cannot be "
            f"told. {advice}")
    if alike:  # after an edit, the passage now at its number may be another one (probe AI7)
        shown = "; ".join(f"{document}, passage {number}" for document, number in sorted(alike)[:5])
        raise CoderError(
            f"{source}: {saved}: {len(alike)} row(s) show \"?\" in their `text` in place of such characters, and so "
            f"saved their text is that of other passages of their document too ({shown}{'; ...' if len(alike) > 5 else ''}"
            f"): if the document changed since the sample was drawn, another passage may hold a row's number now, so "
            f"which passage each means cannot be told. {advice}")
    _stop_unless_none(source, lost, "passage(s) named have another text now",
                      "The corpus changed since the sample was drawn: code these passages again in a new sample "
                      "(coder sample), or clear their `text` cells if only the sheet's text was edited."
                      + (f" {saved}: save it as \"CSV UTF-8\"." if encoding in CODE_PAGE_READINGS
                         and any("?" in str(text) for text in sheet["text"]) else ""))
    return sheet.assign(passage=numbers).drop(columns="text"), len(moved), len(garbled)


def _saved_in_code_page(original: str | None, text: str, encoding: str) -> bool:
    """Is `text` a passage's text `original` as a sheet saved in `encoding` (read so) writes it, with "?"
    for the characters lost, and those the code page reads back otherwise changed (Big5's "•" reads "‧")? A
    sheet of ASCII only was saved in a code page that may hold more."""
    if original is None or encoding not in CODE_PAGE_READINGS or text == original:
        return False
    pages = LEGACY_ENCODINGS + ("ascii",) if encoding == "ascii" else (encoding,)
    return any(saved_as(original, page) == text for page in pages)


def check_spans_name_their_passages(gold: pd.DataFrame, passages: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """The gold rows without their start and end, once every row that gives both a passage and a span
    has them name the same passage: the span overlaps it. A row with a `text` is placed by its text
    (a sample sheet's span is the one of the corpus it was drawn from). Raises one CoderError listing
    the rows that disagree, by line: which of the two was meant, nothing tells."""
    if not {"passage", "start", "end"} <= set(gold.columns):
        return gold
    spans = {(str(document), int(passage)): (int(start), int(end)) for document, passage, start, end
             in zip(passages["document"], passages["passage"], passages["start"], passages["end"])}
    texts = gold["text"] if "text" in gold.columns else pd.Series("", index=gold.index)
    problems = []
    for position, document, passage, start, end, text in zip(
            gold.index, gold["document"], gold["passage"], gold["start"], gold["end"], texts):
        place = spans.get((str(document), int(passage)))
        if place is None or start is None or end is None or str(text).strip():
            continue  # a passage the run does not have is named when the rows are checked
        first, last = place
        if not ((first < end and start < last) or (start == end and first <= start < last)):
            named = [str(number) for (name, number), (low, high) in spans.items() if name == str(document)
                     and ((low < end and start < high) or (start == end and low <= start < high))]
            where = f"passage {', '.join(named)}" if named else "no passage"
            problems.append(f"{source}:{int(position) + 2}: passage {passage} of '{document}' is characters {first}-{last}, "
                            f"but start-end {start}-{end} is {where}. Keep one of them (clear the other cells), or "
                            f"make them agree.")
    if problems:
        raise CoderError("\n".join(first_lines(list(dict.fromkeys(problems)))))
    return gold.drop(columns=["start", "end"])


def _stop_unless_none(source: str, problems: list[str], what: str, advice: str) -> None:
    """One CoderError listing a sheet's problems (each once, the first 20), when it has any: nothing is scored."""
    problems = list(dict.fromkeys(problems))
    if problems:
        shown = "\n  ".join(first_lines(problems))
        raise CoderError(f"{source}: {len(problems)} {what}, nothing was scored:\n  {shown}\n{advice}")


def resolve_code_labels(gold: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, dict[str, str]]:
    """The gold rows with each code named by its label (as the report shows it) named by its id, and
    those labels' ids. A cell that is a code's id stays as it is, as does a label two codes share.

    >>> from coder.models import Code
    >>> codebook = Codebook(codes=(Code(id="joint_meeting", label="Joint meeting", path=("joint_meeting",)),))
    >>> resolve_code_labels(pd.DataFrame({"code": ["Joint meeting", ""]}), codebook)[1]
    {'Joint meeting': 'joint_meeting'}
    """
    ids = {code.id for code in codebook}
    coding: dict[str, list[str]] = {}
    for code in codebook:
        coding.setdefault(code.label, []).append(code.id)
    labels = {label: found[0] for label, found in coding.items() if len(found) == 1 and label not in ids}
    named = {cell: labels[cell] for cell in dict.fromkeys(gold["code"].astype(str)) if cell in labels}
    return (gold.assign(code=gold["code"].astype(str).replace(named)) if named else gold), named


# What else people type between codes: a comma, the full-width comma and semicolon of a Chinese input
# method, the enumeration comma.
_OTHER_SEPARATORS = re.compile(r"[,\uff0c\uff1b\u3001]")


def named_as_in_run(gold: pd.DataFrame, documents: Iterable[str], *, source: str) -> pd.DataFrame:
    """The gold rows, each naming its document as the run does: a name typed composed ("Café.txt") for a Mac's
    decomposed one, with "\\" for "/" or a leading "./" (`names.DocumentNames`; probes AH2, AH3). A name of no
    document is left as typed, for check_gold_against_run to say so; one that reads as two stops, by line."""
    known = DocumentNames(documents)
    named, problems = [], []
    for line, document in zip(gold.index + 2, gold["document"].astype(str)):
        try:
            found = known.find(document)
        except AmbiguousNameError as error:
            problems.append(f"{source}:{line}: document {error}.")
            found = None
        named.append(found if found is not None else document)
    if problems:
        raise CoderError("\n".join(first_lines(list(dict.fromkeys(problems)))))
    return gold.assign(document=named)


def check_gold_against_run(gold: pd.DataFrame, *, documents: Mapping[str, int] | None, codes: Iterable[str] | None,
                           source: str = "gold", labels: Mapping[str, str] | None = None) -> None:
    """Raise one CoderError listing every gold row that names a document, passage or code the run
    does not have (`documents` maps each document to its number of passages), by line (read_gold's
    index is each row's place in the file). `labels` (code id -> label) answer a label typed with
    other capitals or spaces with its code."""
    problems = []
    known_codes = list(codes) if codes is not None else None
    by_label = {" ".join(label.split()).casefold(): code for code, label in (labels or {}).items() if label != code}
    for position, row in zip(gold.index, gold.to_dict("records")):
        where = f"{source}:{int(position) + 2}: "
        document = str(row["document"])
        if documents is not None and document not in documents:
            close = _close_matches(document, list(documents))
            problems.append(f"{where}document {quoted(document)} is not in the run"
                            + (f" (did you mean '{close[0]}'?)" if close else ""))
        elif documents is not None and "passage" in row and not 0 <= int(row["passage"]) < documents[document]:
            problems.append(f"{where}'{document}' has no passage {row['passage']} (it has {passages_held(documents[document])})")
        code = str(row["code"])
        if known_codes is not None and code and code not in known_codes:
            labelled = by_label.get(" ".join(code.split()).casefold())
            parts = [part.strip() for part in _OTHER_SEPARATORS.split(code) if part.strip()]
            if not labelled and len(parts) > 1 and all(part in known_codes or " ".join(part.split()).casefold() in by_label
                                                       for part in parts):
                problems.append(f"{where}code {quoted(code)} is not in the codebook (separate codes with ';': "
                                f"'{';'.join(parts)}')")
                continue
            close = [labelled] if labelled else _close_matches(code, known_codes)
            meant = f", labelled '{labels[labelled]}'" if labelled and labels else ""
            problems.append(f"{where}code {quoted(code)} is not in the codebook" + (f" (did you mean '{close[0]}'{meant}?)" if close else ""))
    _stop_unless_none(source, problems, "row problem(s)",
                      "Use document paths and passage numbers from segments.csv and code ids of the codebook.")


def write_agreement(agreement: pd.DataFrame, path: str | Path) -> Path:
    """Write agreement.csv (UTF-8 with BOM, figures to 4 decimals) through a temporary file."""
    return write_csv(agreement, path, float_format="%.4f")


def agreement_table(agreement: pd.DataFrame, *, title: str = "Agreement with the gold coding"):
    """The agreement as a rich Table for the terminal (the CLI prints it)."""
    from rich.table import Table

    table = Table(title=title)
    intervals = all(column in agreement.columns for column in INTERVAL_COLUMNS)
    for column in AGREEMENT_COLUMNS:
        name = f"{column} [95% CI]" if intervals and column in ("precision", "recall") else column
        table.add_column(name, justify="left" if column == "code" else "right")

    def number(value: object) -> str:
        return "–" if isinstance(value, float) and math.isnan(value) else f"{value:.3f}"

    for row in agreement.to_dict("records"):
        cells = []
        for column in AGREEMENT_COLUMNS:
            value = row[column]
            if intervals and column in ("precision", "recall"):
                low, high = row[f"{column}_low"], row[f"{column}_high"]
                span = "" if isinstance(low, float) and math.isnan(low) else f" [{low:.2f}–{high:.2f}]"
                cells.append(number(value) + span)
            elif isinstance(value, float):
                cells.append(number(value))
            else:
                cells.append(str(value))
        table.add_row(*cells, style="bold" if row["code"] == OVERALL else None)
    return table


def agreement_for_run(
    gold_path: str | Path,
    *,
    segments_path: str | Path,
    level: int | None = None,
    sample_path: str | Path | None = None,
    whole_corpus: bool = False,
    rounds: int = 1000,
    seed: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """Agreement of a `coder run` (segments.csv, run.json beside it) with GOLD.csv, and notes on how units were found.

    Only the passages the gold file names (and those of `sample_path`, the sample it was coded
    from) are scored: a passage nobody hand-coded is not evidence either way. With
    `whole_corpus`, the gold file codes the whole corpus, and every passage it does not name
    counts as coded with nothing. Rows naming a document, passage or code the run does not have
    are refused, all listed in one message. Precision and recall come with bootstrap intervals.

    >>> agreement, notes = agreement_for_run("gold.csv", segments_path="outputs/segments.csv")  # doctest: +SKIP
    """
    segments_path = Path(segments_path)
    run = RunFolder.of_segments(segments_path)
    read_passages = functools.cache(run.read_passages)  # the gold file and its sample may both need the table
    gold = read_gold(gold_path)  # the user's own file first: its problems are the likelier ones
    encoding = table_encoding(gold)
    predicted = run.read_segments()
    if "source" in predicted.columns:  # passages coded by hand are not the tool's coding
        predicted = predicted[predicted["source"].astype(str) != "manual"]
    notes: list[str] = []
    codebook = None
    units = None
    spans: list[tuple[str, int, int, int]] | None = None
    try:
        record = run.record()
    except OutputError:
        record = None
        notes.append(f"no run.json beside {segments_path}: units are only the passages named in the segments and the gold coding")
    if record is not None:
        if record.codebook_codes:
            codebook = run.stored_codebook()
        documents = {str(item.get("path")): int(item.get("passages") or 0) for item in record.documents}
        gold = named_as_in_run(gold, documents, source=str(gold_path))
        if {"passage", "start", "end"} <= set(gold.columns):
            try:
                gold = check_spans_name_their_passages(gold, read_passages(), source=str(gold_path))
            except OutputError as error:  # the run's passages cannot be read: scored by passage, as before
                notes.append(f"cannot read the run's passages ({error}): the start and end of the gold rows were not checked")
        if "text" in gold.columns:
            gold, moved, garbled = follow_passage_texts(gold, read_passages(), source=str(gold_path), encoding=encoding)
            if moved:
                notes.append(f"{moved} passage(s) of the gold coding followed their text to a new passage number "
                             f"(the corpus changed since the sample was drawn)")
            if garbled:
                notes.append(f"{gold_path} was saved {SAVED_AS[encoding]}: {garbled} passage(s) show \"?\" in their text "
                             f"for the characters it cannot hold; the rest of each text and its passage number agree with "
                             f"the run, so they were scored. Save the sheet as \"CSV UTF-8\" to keep its text")
        if codebook is not None:
            resolved, named = resolve_code_labels(gold, codebook)
            if named:
                shown = ", ".join(f"'{label}': {code}" for label, code in list(named.items())[:3])
                notes.append(f"{int(gold['code'].isin(list(named)).sum())} gold row(s) name a code by its label, "
                             f"read as its id ({shown}{', ...' if len(named) > 3 else ''})")
            gold = resolved
        check_gold_against_run(gold, documents=documents or None, codes=[code.id for code in codebook] if codebook else None,
                               source=str(gold_path), labels={code.id: code.label for code in codebook} if codebook else None)
        passages_total = record.counts.get("passages")
        if isinstance(passages_total, int):
            units = passages_total
        if "passage" not in gold.columns:
            try:
                frame = read_passages()
                spans = list(zip(frame["document"], frame["passage"], frame["start"], frame["end"]))
                if units is None:
                    units = len(spans)
            except CoderError as error:
                notes.append(f"cannot read the run's corpus ({error}); spans are mapped to the passages in segments.csv only")
    if spans is None and "passage" not in gold.columns:
        spans = sorted(
            {
                (str(row.document), int(row.passage), int(row.start), int(row.end))
                for row in predicted[["document", "passage", "start", "end"]].itertuples(index=False)
            }
        )
    gold = map_spans_to_passages(gold, spans or [], source=str(gold_path))
    if whole_corpus:
        if units is None:
            notes.append("the number of passages in the corpus is unknown: TN counts only passages coded by either side")
        scope = sorted({(str(document), int(passage)) for document, passage in zip(
            pd.concat([predicted["document"], gold["document"]]), pd.concat([predicted["passage"], gold["passage"]]))})
    else:
        scope = sorted({(str(document), int(passage)) for document, passage in zip(gold["document"], gold["passage"])})
        if sample_path is not None:
            sample = read_table(sample_path, blank_rows=True, chinese_code_pages=True)  # errors name lines
            sample_encoding = table_encoding(sample)
            if not {"document", "passage"} <= set(sample.columns):
                raise CoderError(f"{sample_path}: a sample needs the columns document and passage (as `coder sample` writes).")
            # Rows blank in every cell (an empty line, Excel's ",,") are no rows; a row with its passage cell
            # cleared is an error: left out, it took a true negative from the scores (probe AJ5).
            sample = sample[[any(str(cell).strip() for cell in row if cell is not None and cell == cell)
                             for row in sample.itertuples(index=False)]]
            cleared = [f"{sample_path}:{int(position) + 2}: `passage` is empty (the row's document "
                       f"'{str(document).strip()}'); write the passage number back, or delete the row."
                       for position, document, passage in zip(sample.index, sample["document"], sample["passage"])
                       if not str(passage).strip() or passage != passage]
            if cleared:
                raise CoderError("\n".join(first_lines(cleared)))
            # Checked as the gold file's: 'abc' was an internal error, -1 and 99999 counted as passages (probe AI12).
            problems = [f"{sample_path}:{int(position) + 2}: `passage` {_number_problem(str(passage).strip())}."
                        for position, passage in zip(sample.index, sample["passage"])
                        if _number_problem(str(passage).strip())]
            if problems:
                raise CoderError("\n".join(first_lines(problems)))
            sample = sample.assign(document=[_HERE.sub("", str(document).strip()) for document in sample["document"]],
                                   passage=[_whole(str(passage).strip()) for passage in sample["passage"]])
            if "text" in sample.columns and record is not None:
                sample, *_ = follow_passage_texts(sample, read_passages(), source=str(sample_path),
                                                  encoding=sample_encoding)
            if record is not None:
                check_gold_against_run(sample.assign(code=""), documents=documents or None, codes=None,
                                       source=str(sample_path))
            scope = sorted(set(scope) | set(zip(sample["document"], sample["passage"])))
        inside = set(scope)
        predicted = predicted[[(str(document), int(passage)) in inside
                               for document, passage in zip(predicted["document"], predicted["passage"])]]
        units = len(scope)
        notes.append(f"scored the {units} passage(s) the gold coding names"
                     + (" and its sample" if sample_path is not None else "") + "; other passages are not counted")
    agreement = compute_agreement(predicted, gold, level=level, units=units, codebook=codebook)
    intervals = bootstrap_intervals(predicted, gold, scope, level=level, codebook=codebook, rounds=rounds, seed=seed)
    agreement = agreement.merge(intervals, on="code", how="left") if len(intervals) else agreement.assign(
        **{column: float("nan") for column in INTERVAL_COLUMNS})
    return agreement, notes


def _close_matches(value: str, known: list[str]) -> list[str]:
    """difflib's closest name to `value`, for a value of a name's length (its cost grows with both)."""
    import difflib

    return difflib.get_close_matches(value, known, n=1) if len(value) <= 1000 else []
