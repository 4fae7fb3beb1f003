"""Records passed between the stages: Document, Passage, Code, Codebook, Match, Segment."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .corpus import Corpus

Unit = Literal["paragraph", "sentence", "document"]
UNITS: tuple[str, ...] = ("paragraph", "sentence", "document")
PassageKind = Literal["title", "author", "abstract", "keywords", "identifier", "heading", "contents", "reference", "body"]
PASSAGE_KINDS: tuple[str, ...] = ("title", "author", "abstract", "keywords", "identifier", "heading", "contents", "reference",
                                  "body")
# Identifier and classification lines (中图分类号, DOI, Received) and reference lists hold no claims
# about the concepts, only names of other works and codes; keyword lines are the authors' own
# summary of the topic, so they are coded.
UNCODED_KINDS: tuple[str, ...] = ("identifier", "contents", "reference")
CODED_KINDS: tuple[str, ...] = tuple(kind for kind in PASSAGE_KINDS if kind not in UNCODED_KINDS)


@dataclass(frozen=True)
class Removed:
    """A piece of an extracted document that is not in its text (a running header, a menu), and why."""

    page: int | None  # 1-based page for PDFs, else None
    text: str
    reason: str  # "running header", "running footer", "page number", "page header", ...


@dataclass(frozen=True)
class Document:
    """A decoded source file: `text` has no BOM and LF line ends; all offsets point into it.

    For a PDF, Word, OpenDocument, RTF or HTML file, `text` is the extracted text (`format`
    says which), `pages` the (start, end) span of each PDF page in it, `removed` what the
    extraction left out and `warnings` what it could not read.
    """

    path: str  # relative to the corpus folder, with "/"
    text: str
    encoding: str = "utf-8"
    format: str = "text"  # "text", or the extracted format: "pdf", "docx", "odt", "rtf", "html"
    pages: tuple[tuple[int, int], ...] = ()
    removed: tuple[Removed, ...] = ()
    warnings: tuple[str, ...] = ()  # what the extraction could not do ("page 3: no text layer ...")

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def is_extracted(self) -> bool:
        return self.format != "text"

    def page_label(self, start: int, end: int) -> str:
        """The page of a span, for citing it: "3", "3-4" when it crosses pages, "" without pages."""
        return page_label(self.pages, start, end)


def page_label(pages: tuple[tuple[int, int], ...], start: int, end: int) -> str:
    """The 1-based page (or "first-last" range) of the span start:end, "" when there are no pages.

    Text between two pages (the separator) counts as the page after it.

    >>> page_label(((0, 2), (4, 6)), 0, 6)
    '1-2'
    """
    if not pages:
        return ""
    first = _page_at(pages, start)
    last = _page_at(pages, max(start, end - 1))
    return str(first) if first == last else f"{first}-{last}"


def _page_at(pages: tuple[tuple[int, int], ...], offset: int) -> int:
    index = max(bisect.bisect_right([start for start, _ in pages], offset) - 1, 0)
    if offset >= pages[index][1] and index + 1 < len(pages):
        index += 1
    return index + 1


@dataclass(frozen=True)
class Passage:
    """A unit of coding: `document_text[start:end]` is its span.

    `view` has the same length as the span: extraction debris (table pipes, lone page
    numbers) and line breaks are blanked out, so positions in `view` are positions in the
    source. `text` is the readable form shown to reviewers (whitespace collapsed, words
    hyphenated at a line end rejoined). `kind` says what part of the document it is: title,
    author, abstract, keywords, identifier, heading, contents (a table of contents), reference or body.
    """

    document: str
    index: int
    start: int
    end: int
    view: str
    text: str
    kind: PassageKind = "body"


Morphology = Literal["inflectional", "derivational"]
MORPHOLOGIES: tuple[str, ...] = ("inflectional", "derivational")


@dataclass(frozen=True)
class Rule:
    """A code's rule for a concept that is not one fixed phrase; each list holds keywords.

    `near`: a word of lists[0] within `within` words (characters, for Chinese) of a word of
    lists[1]; `all`: a word of every list in the passage. Either way, a passage holding a word of
    `unless` (the YAML `not:`) is not coded by the rule.
    """

    kind: Literal["near", "all"]
    lists: tuple[tuple[str, ...], ...]
    within: int = 0
    unless: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """The rule as kwic and lint show it: `near(cooperat*|coordinat*, mechanism; 5)`."""
        lists = ", ".join("|".join(terms) for terms in self.lists)
        within = f"; {self.within}" if self.kind == "near" else ""
        unless = f" not {'|'.join(self.unless)}" if self.unless else ""
        return f"{self.kind}({lists}{within}){unless}"

    def as_record(self) -> dict:
        """The rule as plain data, as the codebook YAML spells it."""
        record: dict = {self.kind: [list(terms) for terms in self.lists]}
        if self.kind == "near":
            record["within"] = self.within
        if self.unless:
            record["not"] = list(self.unless)
        return record


@dataclass(frozen=True)
class Code:
    """One code of the codebook; `path` is the chain of ids from the top-level code down to it."""

    id: str
    label: str
    path: tuple[str, ...]
    description: str = ""
    color: str | None = None
    keywords: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    line: int | None = None  # line of the code's key in the YAML file
    morphology: Morphology = "inflectional"  # "derivational": every keyword as if written `~keyword`
    rules: tuple[Rule, ...] = ()

    @property
    def parent(self) -> str | None:
        return self.path[-2] if len(self.path) > 1 else None

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def code_path(self) -> str:
        return "/".join(self.path)

    @property
    def is_grouping(self) -> bool:
        """A code with no keywords, regex or rules only groups its children (or is coded by hand)."""
        return not self.keywords and not self.regex and not self.rules


@dataclass(frozen=True)
class Codebook:
    """The validated codebook: codes in depth-first order, ids unique across the whole tree."""

    codes: tuple[Code, ...]
    name: str = ""
    unit: Unit = "paragraph"
    source: str | None = None  # path of the YAML file it came from
    code_kinds: tuple[str, ...] = CODED_KINDS  # passages of other kinds are split but not coded
    _by_id: dict[str, Code] = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    _children: dict[str | None, list[Code]] = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {code.id: code for code in self.codes})
        children: dict[str | None, list[Code]] = {}
        for code in self.codes:
            children.setdefault(code.parent if code.depth > 1 else None, []).append(code)
        object.__setattr__(self, "_children", children)

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._by_id

    def __getitem__(self, code_id: str) -> Code:
        return self._by_id[code_id]

    def children(self, code_id: str | None) -> list[Code]:
        """The direct children of `code_id`, or the top-level codes for None."""
        return list(self._children.get(code_id, ()))

    def ancestor(self, code_id: str, level: int) -> str:
        """The id of `code_id`'s ancestor at depth `level` (1 = top level); itself if shallower."""
        return ancestor_at(self[code_id].path, level)


def ancestor_at(path: Sequence[str], level: int) -> str:
    """The code at depth `level` (1 = top level) of a path of code ids; the last one if the path is shorter.

    Codes roll up to it for `--level` (network, agreement); paths come from a Codebook or
    from segments.csv's `code_path` ("parent/child"), so codes a codebook lacks roll up too.

    >>> ancestor_at(("barriers", "local_protection"), 1), ancestor_at(("barriers",), 2)
    ('barriers', 'barriers')
    """
    return path[min(level, len(path)) - 1]


@dataclass(frozen=True)
class Match:
    """One keyword or regex hit: `start`/`end` are offsets into the document text."""

    code: str
    start: int
    end: int
    text: str  # the matched source words as they appear
    rule: str  # the keyword or regex that produced the hit




@lru_cache(maxsize=4096)
def passage_fingerprint(document: str, passage_text: str) -> str:
    """Hash of a passage's document and whitespace-normalised, case-folded text."""
    # " ".join(split()) is re.sub(r"\s+", " ", text).strip() (both split at str.isspace()), in C
    normalized = " ".join(passage_text.split()).casefold()
    return hashlib.sha1(f"{document}\x1f{normalized}".encode()).hexdigest()


def passage_fingerprints(document: str, passage_texts: Iterable[str]) -> list[str]:
    """passage_fingerprint() of each of a document's passage texts whose whitespace is normalised
    already, as split_passages() writes Passage.text (" ".join(text.split())): the same hashes
    without splitting and joining every text again, or a cache entry per passage. `passage_texts` are
    all the document's passages, in order: a text seen before is numbered (numbered_copies).

    >>> passage_fingerprints("a.txt", ["The joint meeting."]) == [passage_fingerprint("a.txt", "The joint meeting.")]
    True
    """
    return numbered_copies(passage_hashes(document, passage_texts))


def passage_hashes(document: str, passage_texts: Iterable[str]) -> list[str]:
    """passage_fingerprints() before copies are numbered: each text's hash alone (what a document
    coded a part at a time gathers, part by part, to number them once)."""
    prefix = f"{document}\x1f"
    sha1 = hashlib.sha1
    return [sha1((prefix + text.casefold()).encode()).hexdigest() for text in passage_texts]


def numbered_copies(fingerprints: Sequence[str]) -> list[str]:
    """The passage_fingerprint()s of passages in corpus order, each repeat of an earlier one (the same
    text again in the same document: a running header, a repeated question) given its copy number,
    so that identical passages get segment ids of their own. The first copy keeps the fingerprint it
    has alone, and with it the segment ids (and review decisions) it had before.

    >>> first, again = numbered_copies(["f" * 40, "f" * 40])
    >>> first == "f" * 40, again == copy_fingerprint("f" * 40, 1)
    (True, True)
    """
    fingerprints = list(fingerprints)
    if len(set(fingerprints)) == len(fingerprints):
        return fingerprints
    seen: dict[str, int] = {}
    for position, fingerprint in enumerate(fingerprints):
        copies = seen.get(fingerprint, 0)
        seen[fingerprint] = copies + 1
        if copies:
            fingerprints[position] = copy_fingerprint(fingerprint, copies)
    return fingerprints


def copy_fingerprint(fingerprint: str, copy: int) -> str:
    """The fingerprint of copy number `copy` (1: the second) of a passage whose first copy has `fingerprint`."""
    return hashlib.sha1(f"{fingerprint}\x1f{copy}".encode()).hexdigest()


MATCHED_SEPARATOR = "; "


def join_matched(words: Iterable[str]) -> str:
    """The `matched` cell of segments.csv for some words: distinct, in order, "; "-joined (here, not in
    segments.py, so that coding workers need no pandas).

    >>> join_matched(["red tape", "delay", "red tape"])
    'red tape; delay'
    """
    return MATCHED_SEPARATOR.join(dict.fromkeys(word for word in words if word))


# "s" and 16 hex digits: the letter keeps a spreadsheet from reading an id as a number
# (Excel turned the all-digit "5109410000000001" into 5.10941E+15). Ids written before the
# prefix are the same 16 digits without it; normalize_segment_id reads both.
SEGMENT_ID_PREFIX = "s"
_SEGMENT_ID = re.compile(r"s?([0-9a-f]{16})")


def segment_id(document: str, passage_text: str, code: str) -> str:
    """A stable id for a (passage, code) pair: survives recoding and passage reordering.

    It depends on the document path, the passage's text (whitespace and case ignored) and the
    code id, never on the passage's position.

    >>> segment_id("a.txt", "The joint meeting agreed.", "meeting")[:1]
    's'
    """
    return segment_id_from_fingerprint(passage_fingerprint(document, passage_text), code)


def segment_id_from_fingerprint(fingerprint: str, code: str) -> str:
    """segment_id() for a passage whose passage_fingerprint() is known."""
    return segment_ids_from_fingerprints((fingerprint,), (code,))[0]


def segment_ids_from_fingerprints(fingerprints: Iterable[str], codes: Iterable[str]) -> list[str]:
    """segment_id_from_fingerprint() of each (fingerprint, code) pair, without a call per pair (a
    coding worker makes one per segment).

    >>> segment_ids_from_fingerprints(["f" * 40], ["meeting"])
    ['s97049b944436d432']
    """
    sha1, prefix = hashlib.sha1, SEGMENT_ID_PREFIX
    return [prefix + sha1(f"{fingerprint}\x1f{code}".encode()).hexdigest()[:16]
            for fingerprint, code in zip(fingerprints, codes)]


def normalize_segment_id(value: object) -> str:
    """A segment id as `coder run` writes it, from the current or the older (unprefixed) form; ""
    when the value is not an id at all (blank, or mangled by a spreadsheet).

    >>> normalize_segment_id(" 0123456789ABCDEF "), normalize_segment_id("5.10941E+15")
    ('s0123456789abcdef', '')
    """
    match = _SEGMENT_ID.fullmatch(str(value if value is not None else "").strip().casefold())
    return SEGMENT_ID_PREFIX + match.group(1) if match else ""


@dataclass(frozen=True)
class Segment:
    """A passage coded with one code; `hits` counts the matches that survived exclusion."""

    document: str
    passage: int
    start: int
    end: int
    code: str
    code_path: str
    label: str
    hits: int
    matched: tuple[str, ...]
    text: str
    matches: tuple[Match, ...] = ()
    kind: str = "body"  # the passage's kind (PASSAGE_KINDS)
    copy: int = 0  # how many passages of the document before this one have its text (numbered_copies)

    @property
    def segment_id(self) -> str:
        fingerprint = passage_fingerprint(self.document, self.text)
        return segment_id_from_fingerprint(copy_fingerprint(fingerprint, self.copy) if self.copy else fingerprint, self.code)


Measure = Literal["jaccard", "association", "npmi", "count"]
# When `coder run` writes segments.csv and passages.csv beside the Parquet tables (runs.wants_csv).
CsvMode = Literal["auto", "always", "never"]
ColorBy = Literal["code", "community"]
# Where `coder run` codes: in processes on this machine, or on a Dask cluster (coder.distributed).
Engine = Literal["local", "dask"]
ENGINES: tuple[str, ...] = ("local", "dask")


@dataclass(frozen=True)
class NetworkOptions:
    """How the concept network is built and drawn; `coder run` and `coder network` share them.

    `level` rolls codes up to their ancestor at that depth (None keeps every code); links need
    `min_count` shared passages, and only the `top_edges` strongest by `measure` are kept;
    `seed` fixes communities and layout so that runs repeat. The defaults show evidence, as KH
    Coder's do (the strongest 60 links among frequent codes): a link needs 2 shared passages,
    since on one passage Jaccard and association reach their maximum by chance, and the map
    draws the 60 strongest (`top_edges=None` keeps every link).

    >>> NetworkOptions(level=1, measure="association").min_count, NetworkOptions().top_edges
    (2, 60)
    """

    level: int | None = None
    measure: Measure = "jaccard"
    min_count: int = 2
    top_edges: int | None = 60
    hide_isolated: bool = False
    color_by: ColorBy = "code"
    seed: int = 42


@dataclass(frozen=True, eq=False)
class UnchangedCodes:
    """The codes whose segments a recode took as they were from the last run's segments.parquet
    (coder.recode): their rows are that run's rows of them, all of them, so the statuses and the
    comparison with that run need only look at the other codes' rows."""

    previous_index: pd.DataFrame  # that file's segment index (as RunFolder.read_segment_index reads it)
    code_ids: tuple[str, ...]  # the codebook's codes, which the positions below number
    unchanged: np.ndarray  # bool per code of code_ids: its rows are the last run's, unchanged
    codes: np.ndarray  # each segment row's code: its position in code_ids
    previous_codes: np.ndarray  # each previous_index row's code: its position in code_ids, -1 if not there
    previous_documents: np.ndarray  # each previous_index row's document: its position in the corpus, -1 if not there
    previous_passages: np.ndarray  # each previous_index row's passage number in its document
    passage_starts: np.ndarray  # each corpus document's first passage in passage_texts, then their count
    # the last run's passage texts (passages.parquet's, objects); None: a row has a text of its own (span_text)
    passage_texts: np.ndarray | None

    @cached_property
    def kept_rows(self) -> np.ndarray:
        """Whether each segment row is of an unchanged code (a row's code -1, not in the codebook: no)."""
        return self._of_unchanged_code(self.codes)

    @cached_property
    def kept_previous_rows(self) -> np.ndarray:
        """Whether each previous_index row is of an unchanged code."""
        return self._of_unchanged_code(self.previous_codes)

    def _of_unchanged_code(self, codes: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.append(self.unchanged, False)[codes]  # the appended False: position -1


@dataclass(frozen=True)
class CodingResult:
    """Everything `coder run` learns from one pass over the corpus (coder.pipeline codes it; a
    label or colour edit rebuilds it from the last run without the matcher's modules)."""

    corpus: Corpus
    codebook: Codebook
    segments: pd.DataFrame | None  # the columns of segments.csv; None: they stay in the run folder (coder.reuse)
    passages: dict[str, int]  # passages per document
    seconds: float = 0.0
    # every passage, coded or not: PASSAGE_COLUMNS (passages.csv), in corpus order
    passage_table: pd.DataFrame | None = field(default=None, compare=False)
    reused: dict[str, int] = field(default_factory=dict)  # what the recode cache saved
    # passage_fingerprint() of each segment row's passage, aligned with `segments` (for the index)
    fingerprints: pd.Series | None = field(default=None, compare=False)
    # a recode's segments of the codes it did not match again (their statuses and changes are known)
    unchanged: UnchangedCodes | None = field(default=None, compare=False)

    @property
    def passage_count(self) -> int:
        return sum(self.passages.values())
