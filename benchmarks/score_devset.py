"""Score a codebook against the hand-coded development set, one sentence at a time.

The development set (`benchmarks/devset/`) holds real texts on cross-regional governance that are
not the seeds, in English and Chinese, hand-coded by reading the five concept definitions
(`CODING.md`). Each text is cut into sentence units by `split_units()` below, on purpose
independent of coder's passages, so that changing how coder splits passages does not move the
units being scored. A unit counts as coded with a concept when a keyword or regex match of that
concept, or of any code below it, overlaps the unit (`segment.matches` offsets). Precision,
recall and F1 are computed per concept over units; macro F1 is their plain mean over the five
concepts. A naive baseline runs in the same call: lowercase substring search with a five-line
codebook (`BASELINE_CODEBOOK`), so the figures have a reference.

    python benchmarks/score_devset.py                       # shipped codebook.yaml, every split
    python benchmarks/score_devset.py --codebook my.yaml --split dev
    python benchmarks/score_devset.py --split heldout2

The heldout and heldout2 splits are for reporting only: never tune a codebook on them. heldout2
(added 2026-12-06) was hand-coded before the codebook was ever run on its texts.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "benchmarks" / "devset"
SPLITS = ("dev", "heldout", "heldout2")

CONCEPTS = (
    "party_building_alliance",
    "joint_meeting",
    "collaborative_governance",
    "barriers",
    "recommendations",
)

# One or two obvious terms per concept, English and Chinese: what a user would type in five minutes.
BASELINE_CODEBOOK: dict[str, tuple[str, ...]] = {
    "party_building_alliance": ("party building", "党建"),
    "joint_meeting": ("joint meeting", "联席会议"),
    "collaborative_governance": ("collaborative governance", "cooperation", "协同治理", "合作"),
    "barriers": ("barrier", "壁垒"),
    "recommendations": ("should", "建议"),
}

# --- sentence units ------------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CLOSERS = "\"'”’」』）)\\]》"
# Chinese terminators always end a sentence. ., ! and ? end one after a character that is not a
# digit or a space ("1.中山大学", "No.2" and stray "? ?" stay whole) and before a space, the end,
# a capital or a CJK character ("area.The paper" in pasted abstracts still splits).
_SENTENCE_END = re.compile(
    rf"[。！？]+[{_CLOSERS}]*"
    rf"|(?<=[^\d\s])[.!?]+[{_CLOSERS}]*(?=\s|$|[A-Z{_CJK}])"
)
# An inline list item: " - " before a capital ("Group 1 - The core issue ... [1] - A shift ...").
_INLINE_ITEM = re.compile(r"\s-\s(?=[A-Z])")
# A line starting with one of these opens a list item, a heading or a bracketed label.
_LINE_START_ITEM = re.compile(
    r"\s*(?:[\[(（【•·\-*■□◎※|]|\d+[.、．)]|[一二三四五六七八九十]+[、.．]|第[一二三四五六七八九十]+)"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Unit:
    """One sentence unit: `text[start:end]` with surrounding whitespace already left out."""

    start: int
    end: int


def _lines(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _continues(line: str, next_line: str) -> bool:
    """Whether a line break inside a wrapped paragraph (a PDF paste) joins `line` to `next_line`."""
    line = line.rstrip()
    if not next_line.strip() or _LINE_START_ITEM.match(next_line):
        return False
    if len(_CJK_CHAR.findall(line)) > len(_ASCII_LETTER.findall(line)):
        # Chinese wrapped lines are long and stop on a character or a comma, not on 。 or a colon.
        return len(line) >= 40 and bool(re.search(f"[{_CJK},，、]$", line))
    # Latin wrapped lines are long and stop on a lowercase letter, a comma or a hyphen; the next
    # line goes on in lowercase, or is long too ("...from the Chinese Ministry of" / "Environmental
    # Protection (hereafter: MEP), transboundary ..."), unlike a short heading after a long line.
    following = next_line.strip()
    return (
        len(line) >= 60
        and bool(re.search(r"[a-z,;\-]$", line))
        and following[:1].isalpha()
        and (following[:1].islower() or len(following) >= 60)
    )


def _blocks(text: str) -> list[tuple[int, int]]:
    """Lines, with wrapped lines joined; in a Chinese PDF paste blank lines between them are skipped."""
    lines = _lines(text)
    blocks: list[tuple[int, int]] = []
    index = 0
    while index < len(lines):
        start, end = lines[index]
        following = index + 1
        while following < len(lines):
            line = text[lines[following - 1][0] : lines[following - 1][1]]
            nxt = following
            if _CJK_CHAR.search(line):
                # Chinese PDF pastes put a blank line between the wrapped lines of one paragraph.
                while nxt < len(lines) and not text[lines[nxt][0] : lines[nxt][1]].strip():
                    nxt += 1
            if nxt >= len(lines) or not _continues(line, text[lines[nxt][0] : lines[nxt][1]]):
                break
            end = lines[nxt][1]
            following = nxt + 1
        blocks.append((start, end))
        index = following
    return blocks


def _has_word(piece: str) -> bool:
    return any(character.isalpha() for character in piece)


def split_units(text: str) -> list[Unit]:
    """Cut `text` into sentence units; offsets index `text` (the UTF-8 file as Python reads it).

    A unit ends at 。！？, at . ! ? ending a sentence, at an inline " - " list item, and at a line
    break, except a line break inside a wrapped (PDF-pasted) paragraph. Units without a letter or
    a CJK character (page numbers, "[2]", "*") are dropped.

    >>> text = "Title\\nFirst one. Second one!\\n第一句。第二句？"
    >>> [text[unit.start:unit.end] for unit in split_units(text)]
    ['Title', 'First one.', 'Second one!', '第一句。', '第二句？']
    """
    units: list[Unit] = []
    for block_start, block_end in _blocks(text):
        cuts = [block_start]
        block = text[block_start:block_end]
        cuts += [block_start + match.end() for match in _SENTENCE_END.finditer(block)]
        cuts += [block_start + match.start() for match in _INLINE_ITEM.finditer(block)]
        cuts.append(block_end)
        cuts = sorted(set(cuts))
        for start, end in zip(cuts, cuts[1:]):
            piece = text[start:end]
            if not _has_word(piece):
                continue
            left = len(piece) - len(piece.lstrip())
            right = len(piece.rstrip())
            units.append(Unit(start + left, start + right))
    return units


# --- gold and predictions ------------------------------------------------------------------------


@dataclass(frozen=True)
class DevDocument:
    """One text of the development set with its metadata from `documents.csv`."""

    name: str
    language: str
    split: str
    text: str


def read_documents(devset: Path = DEVSET) -> list[DevDocument]:
    """The documents listed in `documents.csv`, with their text read as UTF-8."""
    with (devset / "documents.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        DevDocument(
            name=row["document"],
            language=row["language"],
            split=row["split"],
            text=(devset / "texts" / row["document"]).read_text(encoding="utf-8"),
        )
        for row in rows
    ]


def read_gold(path: Path) -> dict[str, list[tuple[int, int, str]]]:
    """`gold.csv` as {document: [(start, end, code), ...]}."""
    gold: dict[str, list[tuple[int, int, str]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            span = (int(row["start"]), int(row["end"]), row["code"])
            gold.setdefault(row["document"], []).append(span)
    return gold


def label_units(units: Sequence[Unit], spans: Iterable[tuple[int, int, str]]) -> list[set[str]]:
    """The concepts of each unit: every span that overlaps the unit gives it its code."""
    labels: list[set[str]] = [set() for _ in units]
    for start, end, code in spans:
        for index, unit in enumerate(units):
            if unit.start < end and start < unit.end:
                labels[index].add(code)
    return labels


def predict_coder(document: DevDocument, codebook, matcher) -> list[tuple[int, int, str]]:
    """Match spans of coder's library API, each mapped to its top-level concept."""
    from coder import Document, split_passages
    from coder.matching import code_passages

    source = Document(document.name, document.text)
    spans = []
    for segment in code_passages(split_passages(source, unit=codebook.unit), matcher):
        concept = codebook[segment.code].path[0]
        spans += [(match.start, match.end, concept) for match in segment.matches]
    return spans


def predict_baseline(
    text: str, codebook: dict[str, tuple[str, ...]] = BASELINE_CODEBOOK
) -> list[tuple[int, int, str]]:
    """Lowercase substring search: every occurrence of a term is a span of its concept."""
    lowered = text.lower()
    spans = []
    for concept, terms in codebook.items():
        for term in terms:
            start = lowered.find(term)
            while start != -1:
                spans.append((start, start + len(term), concept))
                start = lowered.find(term, start + 1)
    return spans


# --- scores --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConceptScore:
    """Unit counts and measures for one concept; precision is None when nothing was predicted."""

    concept: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float | None:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.support if self.support else None

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall; 0.0 when either is 0 or undefined."""
        denominator = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / denominator if self.true_positives else 0.0


def score_units(
    gold: Sequence[set[str]], predicted: Sequence[set[str]], concepts: Sequence[str] = CONCEPTS
) -> list[ConceptScore]:
    """Per-concept unit counts: gold and predicted are the concept sets of the same units, in order.

    >>> [(s.precision, s.recall, s.f1) for s in score_units([{"a"}, set()], [{"a"}, {"a"}], ["a"])]
    [(0.5, 1.0, 0.6666666666666666)]
    """
    if len(gold) != len(predicted):
        raise ValueError(f"gold has {len(gold)} units, predicted {len(predicted)}")
    scores = []
    for concept in concepts:
        tp = sum(concept in g and concept in p for g, p in zip(gold, predicted))
        fp = sum(concept not in g and concept in p for g, p in zip(gold, predicted))
        fn = sum(concept in g and concept not in p for g, p in zip(gold, predicted))
        scores.append(ConceptScore(concept, tp, fp, fn))
    return scores


def macro_f1(scores: Sequence[ConceptScore]) -> float:
    """The plain mean of the concepts' F1."""
    return sum(score.f1 for score in scores) / len(scores) if scores else 0.0


# --- report --------------------------------------------------------------------------------------


def _check_gold(
    documents: Sequence[DevDocument], gold: dict[str, list[tuple[int, int, str]]]
) -> None:
    names = {document.name for document in documents}
    problems = [f"gold.csv names an unknown document {name!r}" for name in gold if name not in names]
    for document in documents:
        unit_spans = {(unit.start, unit.end) for unit in split_units(document.text)}
        for start, end, code in gold.get(document.name, []):
            if code not in CONCEPTS:
                problems.append(
                    f"{document.name}:{start}-{end}: code {code!r} is not a top-level concept"
                )
            if (start, end) not in unit_spans:
                problems.append(
                    f"{document.name}:{start}-{end}: not a sentence unit of split_units()"
                )
    if problems:
        raise SystemExit("gold.csv does not fit the texts:\n  " + "\n  ".join(problems))


def _format(value: float | None) -> str:
    return "   - " if value is None else f"{value:5.2f}"


def _measures(score: ConceptScore) -> str:
    return f"{_format(score.precision)} {_format(score.recall)} {_format(score.f1)}"


def format_table(
    title: str, coder_scores: Sequence[ConceptScore], baseline_scores: Sequence[ConceptScore]
) -> str:
    """A plain-text table: per concept support, then P/R/F1 of the codebook and of the baseline."""
    header = f"{'P':>5} {'R':>5} {'F1':>5}"
    lines = [title, f"{'concept':<26}{'support':>8}   {header}   | baseline {header}"]
    for ours, theirs in zip(coder_scores, baseline_scores):
        lines.append(
            f"{ours.concept:<26}{ours.support:>8}   {_measures(ours)}   |          {_measures(theirs)}"
        )
    lines.append(
        f"{'macro F1':<26}{'':>8}   {'':>5} {'':>5} {_format(macro_f1(coder_scores))}"
        f"   |          {'':>5} {'':>5} {_format(macro_f1(baseline_scores))}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codebook", type=Path, default=ROOT / "codebook.yaml")
    parser.add_argument(
        "--split",
        choices=(*SPLITS, "all"),
        default=None,
        help="default: dev, then heldout, then heldout2",
    )
    parser.add_argument("--devset", type=Path, default=DEVSET, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from coder import CoderError, compile_codebook, load_codebook

    try:
        codebook = load_codebook(args.codebook)
    except CoderError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    matcher = compile_codebook(codebook)
    documents = read_documents(args.devset)
    gold = read_gold(args.devset / "gold.csv")
    _check_gold(documents, gold)
    other = sorted({code.path[0] for code in codebook} - set(CONCEPTS))
    if other:
        print(f"note: top-level codes not scored (not among the five concepts): {', '.join(other)}")

    splits = [args.split] if args.split else list(SPLITS)
    print(f"codebook: {args.codebook}   baseline: lowercase substring search, {BASELINE_CODEBOOK}")
    for split in splits:
        chosen = [d for d in documents if split == "all" or d.split == split]
        gold_labels: list[set[str]] = []
        coder_labels: list[set[str]] = []
        baseline_labels: list[set[str]] = []
        for document in chosen:
            units = split_units(document.text)
            gold_labels += label_units(units, gold.get(document.name, []))
            coder_labels += label_units(units, predict_coder(document, codebook, matcher))
            baseline_labels += label_units(units, predict_baseline(document.text))
        languages = ", ".join(
            f"{sum(d.language == language for d in chosen)} {language}" for language in ("en", "zh")
        )
        coded = sum(bool(labels) for labels in gold_labels)
        title = (
            f"\n== split {split}: {len(chosen)} documents ({languages}), "
            f"{len(gold_labels)} sentence units, {coded} hand-coded =="
        )
        print(
            format_table(
                title,
                score_units(gold_labels, coder_labels),
                score_units(gold_labels, baseline_labels),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
