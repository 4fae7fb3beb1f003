"""Validation: agreement of the automatic coding with a researcher's hand coding (gold), per code and overall.

The unit is the passage: for every code, each passage is either coded or not by each
coder (automatic and gold). Per code: TP/FP/FN/TN, precision, recall, F1, Cohen's kappa
and Krippendorff's alpha (nominal); overall: micro-averaged precision/recall/F1, the mean
kappa and alpha pooled over all (passage, code) units.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .errors import CoderError, OutputError
from .files import read_table, write_csv
from .models import UNITS, Codebook, ancestor_at
from .runs import RunFolder

AGREEMENT_COLUMNS = (
    "code", "gold", "predicted", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "kappa", "alpha",
)
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

    >>> gold = read_gold("gold.csv")  # doctest: +SKIP
    """
    path = Path(path)
    frame = read_table(path, missing="gold coding not found. Pass a CSV with columns document, passage, code.")
    has_passage = "passage" in frame.columns
    has_span = "start" in frame.columns and "end" in frame.columns
    missing = [column for column in ("document", "code") if column not in frame.columns]
    if missing or not (has_passage or has_span):
        raise CoderError(
            f"{path}: the header must name document, code and either passage or start and end "
            f"(found: {', '.join(frame.columns)}). For example: document,passage,code"
        )
    problems = []
    numbers = ["passage"] if has_passage else ["start", "end"]
    for offset, row in enumerate(frame.to_dict("records")):
        line = offset + 2
        for column in ("document", "code", *numbers):
            value = str(row[column]).strip()
            if not value:
                problems.append(f"{path}:{line}: `{column}` is empty.")
            elif column in numbers and not value.isdigit():
                problems.append(f"{path}:{line}: `{column}` is '{value}', not a whole number.")
        if has_span and not has_passage and str(row["start"]).strip().isdigit() and str(row["end"]).strip().isdigit():
            if int(row["start"]) > int(row["end"]):
                problems.append(f"{path}:{line}: start {row['start']} is after end {row['end']}.")
    if problems:
        raise CoderError("\n".join(problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])))
    columns = ["document", "code", *numbers]
    frame = frame[columns].apply(lambda column: column.str.strip())
    for column in numbers:
        frame[column] = frame[column].astype(int)
    return frame.reset_index(drop=True)


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
    for number, row in enumerate(gold.to_dict("records"), start=2):
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
        raise CoderError("\n".join(problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])))
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
    unknown = sorted(set(gold["code"].astype(str)) - set(paths))
    if not unknown:
        return
    import difflib

    folded = {known.casefold(): known for known in paths}
    hints = []
    for code in unknown[:10]:
        close = [folded[match] for match in difflib.get_close_matches(code.casefold(), list(folded), n=1)]
        hints.append(f"'{code}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    raise CoderError(
        f"gold: code(s) not in the codebook: {', '.join(hints)}. Use the code ids of the codebook in the `code` column."
    )


def _coded_keys(frame: pd.DataFrame, paths: dict[str, str], level: int | None) -> set[tuple[str, int, str]]:
    """(document, passage, code) for every row, codes rolled up to their ancestor at `level`."""

    def roll_up(code: str) -> str:
        if level is None:
            return code
        return ancestor_at(paths.get(code, code).split("/"), level)

    return {
        (str(document), int(passage), roll_up(str(code)))
        for document, passage, code in zip(frame["document"], frame["passage"], frame["code"])
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


def write_agreement(agreement: pd.DataFrame, path: str | Path) -> Path:
    """Write agreement.csv (UTF-8 with BOM, figures to 4 decimals) through a temporary file."""
    return write_csv(agreement, path, float_format="%.4f")


def agreement_table(agreement: pd.DataFrame, *, title: str = "Agreement with the gold coding"):
    """The agreement as a rich Table for the terminal (the CLI prints it)."""
    from rich.table import Table

    table = Table(title=title)
    for column in AGREEMENT_COLUMNS:
        table.add_column(column, justify="left" if column == "code" else "right")
    for row in agreement.to_dict("records"):
        cells = []
        for column in AGREEMENT_COLUMNS:
            value = row[column]
            if isinstance(value, float):
                cells.append("–" if math.isnan(value) else f"{value:.3f}")
            else:
                cells.append(str(value))
        table.add_row(*cells, style="bold" if row["code"] == OVERALL else None)
    return table


def _run_passage_spans(run: RunFolder) -> list[tuple[str, int, int, int]]:
    """(document, passage, start, end) for every passage of the run's corpus, split as the run split it."""
    from .corpus import read_corpus
    from .passages import split_passages

    unit = run.record().unit if run.record().unit in UNITS else "paragraph"
    return [
        (passage.document, passage.index, passage.start, passage.end)
        for document in read_corpus(run.corpus_path()).documents
        for passage in split_passages(document, unit=unit)  # type: ignore[arg-type]
    ]


def agreement_for_run(
    gold_path: str | Path, *, segments_path: str | Path, level: int | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Agreement of a `coder run` (segments.csv, run.json beside it) with GOLD.csv, and notes on how units were found.

    With run.json and its corpus at hand, spans map onto the run's own passages and the
    unit count is the corpus's passage count; otherwise only the passages named in
    segments.csv and the gold coding are known, which the notes say.

    >>> agreement, notes = agreement_for_run("gold.csv", segments_path="outputs/segments.csv")  # doctest: +SKIP
    """
    segments_path = Path(segments_path)
    run = RunFolder.of_segments(segments_path)
    gold = read_gold(gold_path)  # the user's own file first: its problems are the likelier ones
    predicted = run.read_segments()
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
        passages_total = record.counts.get("passages")
        if isinstance(passages_total, int):
            units = passages_total
        if "passage" not in gold.columns:
            try:
                spans = _run_passage_spans(run)
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
    if units is None:
        notes.append("the number of passages in the corpus is unknown: TN counts only passages coded by either side")
    return compute_agreement(predicted, gold, level=level, units=units, codebook=codebook), notes
