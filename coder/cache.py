"""The recode cache: passages per document and matches per (document, code), reused across runs.

A document's entry is keyed by its path and decoded text, the passage unit and the environment
(tool version, the package's own source, the libraries and Unicode tables that decide passages and
matches), so editing a document or upgrading anything invalidates it. Within an entry, matches are
stored per code under a fingerprint of everything that decides them: the code's keywords, regexes
and exclusions and, where matching ties codes together, the other codes' terms too. Two such ties
exist: every Chinese term of the codebook is a word of the one dictionary that segments Chinese
text, and keywords too long to spell out share one word automaton (see `matching`). After a
codebook edit only the codes whose fingerprint changed are matched again, together with the codes
they are tied to, so a recode equals a fresh run; labels, descriptions, colours and moves in the
hierarchy reuse everything.

A document's row holds its passages once and, in one blob, the hits of every code of the run that
first coded it (its code set). Codes matched later (an edited code) get one small row each per
document beside it, so an edit writes only the edited codes' rows and never rewrites the others';
when most of a document's codes changed, its blob is written afresh instead.

Plain data at rest: an output folder may come from someone else, so the SQLite file holds JSON
only, every row is checked against the document it describes, and anything unexpected (a damaged,
locked or foreign file, another schema, a malformed row) is a cache miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from . import __version__
from .files import package_versions, read_own_bytes, source_digest
from .lexicon import contains_cjk
from .models import PASSAGE_KINDS, Code, Codebook, Document, Passage

if TYPE_CHECKING:
    from .runs import RunFolder

_SCHEMA = 10  # the stored layout; another number (or none) means start afresh
_FINGERPRINT = re.compile("[0-9a-f]{16}")
_DIGEST = re.compile("[0-9a-f]{64}")
_HEX = re.compile("[0-9a-f]*")
_TIMEOUT = 5.0  # seconds to wait for another run's write lock before running without the cache

# One code's hits: (passage index, hits, matched words "; "-joined) for each passage it codes.
CodeHits = list[tuple[int, int, str]]


class NotedCoding(NamedTuple):
    """What `remember_coding` noted of a run's segment tables: {name: file stamp}, {code id:
    fingerprint} of the coding they hold, and {name: SHA-256 of the file}."""

    stamps: dict[str, list[int]]
    by_code: dict[str, str]
    digests: dict[str, str]


class PendingEntry(NamedTuple):
    """What a worker hands the writing process for one document."""

    key: str
    passages: bytes | None  # JSON, or None when the passages are stored already
    hits: bytes | None  # the hits of a whole code set (JSON), or None when only `code_hits` change
    code_set: str  # the key of the code set `hits` covers
    new_set: bytes | None  # that set's JSON, the first time this process uses it
    code_hits: tuple[tuple[str, bytes], ...] = ()  # (code fingerprint, JSON rows) of codes matched since
    replaced: bool = False  # an older blob is replaced: its per-code rows go


Pending = list[PendingEntry]


# -- what decides a code's matches -----------------------------------------------------------


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """The package's own source, hashed: a development checkout changes without a version bump."""
    return source_digest(Path(__file__).resolve().parent, "**/*.py")


@lru_cache(maxsize=1)
def _library_versions() -> str:
    # opencc-python-reimplemented's tables decide which traditional characters read as simplified.
    versions = package_versions(("jieba", "spacy-lookups-data", "ahocorasick-rs", "opencc-python-reimplemented"))
    # str.lower(), \w and the CJK ranges follow the Unicode tables of this Python.
    versions.append(f"python={sys.version_info[0]}.{sys.version_info[1]} unicode={unicodedata.unidata_version}")
    return " ".join(versions)


def environment() -> str:
    """Everything outside the codebook and the document that decides passages and matches."""
    return f"{_SCHEMA} {__version__} {_source_digest()} {_library_versions()}"


def _hash(*parts: object) -> str:
    # ensure_ascii: a lone surrogate (an undecodable file name) hashes like any other character.
    return hashlib.sha1(json.dumps(parts, ensure_ascii=True).encode("ascii")).hexdigest()


def _terms(code: Code) -> list[str]:
    """Every keyword, exclude phrase and rule word of `code`."""
    words = [word for rule in code.rules for terms in (*rule.lists, rule.unless) for word in terms]
    return [*code.keywords, *code.exclude, *words]


def _settings(code: Code) -> list[object]:
    """What besides its terms decides a code's matches: derivation and rules, as plain data."""
    return [code.morphology, [rule.as_record() for rule in code.rules]]


def _uses_chinese(code: Code) -> bool:
    return any(contains_cjk(term) for term in _terms(code))


def _automaton_key(code: Code) -> str:
    """What decides whether `code` has a term in the shared word automaton: its terms and their derivation."""
    return _hash(code.keywords, code.exclude, *_settings(code))[:16]


def _word_automaton_codes(codebook: Codebook, known: Mapping[str, bool] | None = None) -> dict[str, bool]:
    """Per code's `_automaton_key`, whether it has a term in the shared word automaton (a wildcard
    inside, or too many spellings to list). Each term compiles on its own, so the codes `known`
    does not answer for are compiled alone (a keyword edit compiles one code, not the codebook)."""
    known = known or {}
    keys = {code.id: _automaton_key(code) for code in codebook}
    unknown = tuple(code for code in codebook if keys[code.id] not in known)
    found: set[str] = set()
    if unknown:  # the matcher's modules only then (a label or colour edit loads none of them)
        from .matching import _compile_keywords, _phrase_needles

        found = {pattern.code for pattern in _compile_keywords(Codebook(codes=unknown, unit=codebook.unit)).latin
                 if _phrase_needles(pattern) is None}
    return {keys[code.id]: known[keys[code.id]] if keys[code.id] in known else code.id in found for code in codebook}


@dataclass(frozen=True, eq=False)
class Fingerprints:
    """Per code, the fingerprint of what decides its matches, and the codes each is tied to."""

    by_code: dict[str, str]
    ties: tuple[frozenset[str], ...]  # each set: codes whose matches depend on one another's terms
    # Per _automaton_key: whether the code's terms go into the word automaton (the second tie), for the next codebook.
    word_automaton: dict[str, bool] = field(default_factory=dict)

    @cached_property
    def current(self) -> frozenset[str]:
        return frozenset(self.by_code.values())

    @cached_property
    def codes_by_fingerprint(self) -> dict[str, tuple[str, ...]]:
        """fingerprint -> the codes that have it (codes with the same keywords share one)."""
        codes: dict[str, tuple[str, ...]] = {}
        for code_id, fingerprint in self.by_code.items():
            codes[fingerprint] = (*codes.get(fingerprint, ()), code_id)
        return codes

    def codes_to_match(self, codebook: Codebook, codes: Iterable[Code]) -> list[Code]:
        """`codes` plus every code of the shared word automaton when one of them is in it, in codebook
        order: matched together, they see the automaton a full run does. Codes using Chinese need no
        company: a matcher of some codes is told every Chinese term of the codebook (segmenter_words_of),
        and a change of those terms changes every such code's fingerprint."""
        wanted = {code.id for code in codes}
        automaton = self.ties[1]
        if not automaton.isdisjoint(wanted):
            wanted |= automaton
        return [code for code in codebook if code.id in wanted]


def code_fingerprints(codebook: Codebook, *, word_automaton: Mapping[str, bool] | None = None) -> Fingerprints:
    """What decides each code's matches, hashed: a changed fingerprint means matching that code again.

    `word_automaton`: a `Fingerprints.word_automaton` of an earlier codebook; codes whose terms it
    knows are not compiled again.

    >>> fingerprints = code_fingerprints(load_codebook("codebook.yaml"))  # doctest: +SKIP
    >>> len(fingerprints.by_code["joint_meeting"])  # doctest: +SKIP
    16
    """
    automaton = _word_automaton_codes(codebook, word_automaton)
    ties = (frozenset(code.id for code in codebook if _uses_chinese(code)),
            frozenset(code.id for code in codebook if automaton[_automaton_key(code)]))
    # Chinese terms match under a segmentation that knows every Chinese term of the codebook: a code using
    # Chinese depends on the others' Chinese terms only (an English keyword added to one of them changed
    # every such code's fingerprint, and a keyword recode of the shipped codebook matched every code again).
    chinese_terms = sorted({term for code_id in ties[0] for term in _terms(codebook[code_id]) if contains_cjk(term)})
    shared = [
        _hash(chinese_terms),
        _hash(sorted(_hash(_terms(codebook[code_id]), _settings(codebook[code_id])) for code_id in ties[1])),
    ]
    by_code = {
        code.id: _code_fingerprint(code, codebook.code_kinds, [digest for digest, tied in zip(shared, ties) if code.id in tied])
        for code in codebook
    }
    return Fingerprints(by_code=by_code, ties=ties, word_automaton=automaton)


def untied_fingerprint(code: Code, code_kinds: object) -> str:
    """The fingerprint `code_fingerprints` gives `code` when it is tied to no other code."""
    return _code_fingerprint(code, code_kinds, [])


def _code_fingerprint(code: Code, code_kinds: object, tie_digests: list[str]) -> str:
    return _hash(environment(), code.keywords, code.regex, code.exclude, code_kinds, *_settings(code), tie_digests)[:16]


def _matching_key(codebook: Codebook) -> str:
    """Everything code_fingerprints() reads, hashed: labels, colours and descriptions are not in it."""
    return _hash(environment(), codebook.code_kinds,
                 [[code.id, code.keywords, code.regex, code.exclude, *_settings(code)] for code in codebook])


def _decode_fingerprints(codebook: Codebook, data: object) -> Fingerprints:
    stored = _loads(data)
    if not (isinstance(stored, dict) and {"by_code", "ties"} <= stored.keys() <= {"by_code", "ties", "word_automaton"}
            and isinstance(stored["by_code"], dict)
            and isinstance(stored["ties"], list) and len(stored["ties"]) == 2):
        raise ValueError("fingerprints: not {by_code, ties}")
    by_code, ties = stored["by_code"], stored["ties"]
    ids = [code.id for code in codebook]
    if list(by_code) != ids or not all(isinstance(f, str) and _FINGERPRINT.fullmatch(f) for f in by_code.values()):
        raise ValueError("fingerprints: not one per code of the codebook")
    if not all(isinstance(tied, list) and set(tied) <= by_code.keys() for tied in ties):
        raise ValueError("fingerprints: ties name unknown codes")
    return Fingerprints(by_code=by_code, ties=tuple(frozenset(tied) for tied in ties),
                        word_automaton=_decode_word_automaton(stored))


def _decode_word_automaton(stored: object) -> dict[str, bool]:
    """The stored fingerprints' `word_automaton`, when sound; else {} (every code compiled)."""
    value = stored.get("word_automaton") if isinstance(stored, dict) else None
    if isinstance(value, dict) and all(isinstance(key, str) and isinstance(flag, bool) for key, flag in value.items()):
        return value
    return {}


def document_key(document: Document, *, unit: str, settings: str = "") -> str:
    """The key of a document's entry: its path and text, the passage settings and the environment."""
    return _hash(environment(), unit, settings, document.path, document.sha256)


# -- entries ------------------------------------------------------------------------------------


@dataclass
class CacheEntry:
    """One document's cached passages and, per code fingerprint, the code's hits in them: `codes`
    holds every fingerprint matched in the document, `hits` only those that found something."""

    passages: list[Passage]
    hits: dict[str, CodeHits] = field(default_factory=dict)
    codes: frozenset[str] = frozenset()
    fingerprints: list[str] = field(default_factory=list)  # passage_fingerprint() of each passage
    # Which passages' texts are their views with the whitespace collapsed, when split_passages_noting_plain_text says so.
    plain: list[bool] | None = None
    stored: bool = False  # are the passages in the cache already (only the hits need writing)?
    # A document coded a part at a time (its passages not kept): the rows its passages are stored as (passage_rows).
    rows: list[list] | None = None
    matched: set[str] = field(default_factory=set)  # fingerprints matched in this run, to be stored


@dataclass
class CacheStats:
    documents_reused: int = 0
    documents_new: int = 0
    codes_reused: int = 0
    codes_matched: int = 0

    def add(self, other: CacheStats) -> None:
        self.documents_reused += other.documents_reused
        self.documents_new += other.documents_new
        self.codes_reused += other.codes_reused
        self.codes_matched += other.codes_matched

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _dumps(value: object) -> bytes:
    # surrogatepass: text from an undecodable file name or byte survives the round trip.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _loads(data: object) -> object:
    if not isinstance(data, bytes):
        raise ValueError("not a JSON blob")
    return json.loads(data.decode("utf-8", "surrogatepass"))


def _encode_passages(document: Document, passages: list[Passage], fingerprints: list[str],
                     plain: list[bool] | None = None) -> bytes:
    """{"passages": [start, end, view, text, kind] per passage, "fingerprints": their
    passage_fingerprint()s run together}; view and text are null when they follow from the document
    text (line breaks read as spaces; whitespace collapsed), which they mostly do. `plain`: which
    texts are known to be their views collapsed (split_passages_noting_plain_text); the others are compared."""
    return _encode_passage_rows(passage_rows(document, passages, plain), fingerprints)


def passage_rows(document: Document, passages: list[Passage], plain: list[bool] | None = None) -> list[list]:
    """The rows _encode_passages stores for `passages` (all of a document's, or a part's: a row
    depends on its passage and the document's text alone)."""
    rows = []
    source = document.text  # (not a copy of it with line breaks as spaces: a document may be 100 MB)
    if plain is None or len(plain) != len(passages):
        plain = [False] * len(passages)
    for passage, known in zip(passages, plain):
        view = passage.view
        if view == source[passage.start:passage.end].replace("\n", " "):
            view = None
        text = None if known or passage.text == " ".join(passage.view.split()) else passage.text
        rows.append([passage.start, passage.end, view, text, passage.kind])
    return rows


def _encode_passage_rows(rows: list[list], fingerprints: list[str]) -> bytes:
    if len(fingerprints) != len(rows) or not all(len(fingerprint) == 40 for fingerprint in fingerprints):
        raise ValueError("a passage fingerprint is missing")
    return _dumps({"passages": rows, "fingerprints": "".join(fingerprints)})


def _is_int(value: object) -> bool:
    return type(value) is int


def _decode_passages(document: Document, data: object) -> tuple[list[Passage], list[str]]:
    """The passages of a stored row and their fingerprints, checked against the document;
    ValueError if anything is off."""
    stored = _loads(data)
    if not (isinstance(stored, dict) and stored.keys() == {"passages", "fingerprints"}
            and isinstance(stored["passages"], list) and isinstance(stored["fingerprints"], str)):
        raise ValueError("passages: not {passages, fingerprints}")
    rows, joined = stored["passages"], stored["fingerprints"]
    if len(joined) != 40 * len(rows) or not _HEX.fullmatch(joined):
        raise ValueError("passages: not one fingerprint per passage")
    passages: list[Passage] = []
    text_length, previous = len(document.text), 0
    for index, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == 5):
            raise ValueError("passage: not [start, end, view, text, kind]")
        start, end, view, text, kind = row
        if kind not in PASSAGE_KINDS:
            raise ValueError("passage: unknown kind")
        if not (_is_int(start) and _is_int(end) and previous <= start <= end <= text_length):
            raise ValueError("passage: span out of order or outside the document")
        if view is None:
            view = document.text[start:end].replace("\n", " ")
        elif not (isinstance(view, str) and len(view) == end - start):
            raise ValueError("passage: view does not fit its span")
        if text is None:
            text = " ".join(view.split())
        elif not isinstance(text, str):
            raise ValueError("passage: text is not a string")
        passages.append(Passage(document=document.path, index=index, start=start, end=end, view=view, text=text, kind=kind))
        previous = start
    return passages, [joined[position:position + 40] for position in range(0, len(joined), 40)]


def code_set_key(fingerprints: Iterable[str]) -> str:
    """The key of a set of code fingerprints: every document of a run is matched against one set."""
    return _hash(sorted(fingerprints))[:16]


def _decode_code_set(key: str, data: object) -> frozenset[str]:
    fingerprints = _loads(data)
    if not (isinstance(fingerprints, list) and all(isinstance(f, str) and _FINGERPRINT.fullmatch(f)
                                                   for f in fingerprints)):
        raise ValueError("code set: not a list of fingerprints")
    if code_set_key(fingerprints) != key:
        raise ValueError("code set: does not match its key")
    return frozenset(fingerprints)


def _decode_hits(data: object, passage_count: int) -> tuple[str, dict[str, CodeHits]]:
    """The code set key and {code fingerprint: [[passage index, hits, matched], ...]} of the codes
    that matched somewhere, checked; ValueError if anything is off."""
    stored = _loads(data)
    if not (isinstance(stored, dict) and stored.keys() == {"codes", "hits"} and isinstance(stored["codes"], str)
            and isinstance(stored["hits"], dict)):
        raise ValueError("hits: not {codes, hits}")
    hits: dict[str, CodeHits] = {}
    for fingerprint, rows in stored["hits"].items():
        if not (_FINGERPRINT.fullmatch(fingerprint) and isinstance(rows, list) and rows):
            raise ValueError("hits: bad fingerprint or rows")
        hits[fingerprint] = _checked_rows(rows, passage_count)
    return stored["codes"], hits


def _checked_rows(rows: list, passage_count: int) -> CodeHits:
    """One code's [[passage index, hits, matched], ...], checked; ValueError if anything is off."""
    previous = -1
    code_hits: CodeHits = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3):
            raise ValueError("hits: not [passage, hits, matched]")
        passage, count, matched = row
        if not (_is_int(passage) and previous < passage < passage_count and _is_int(count) and count >= 1
                and isinstance(matched, str)):
            raise ValueError("hits: passage out of order or out of range, or no hits")
        code_hits.append((passage, count, matched))
        previous = passage
    return code_hits


def _decode_code_hits(fingerprint: object, data: object, passage_count: int) -> CodeHits:
    """The rows of one code matched after the document's code set (empty: it found nothing)."""
    rows = _loads(data)
    if not (isinstance(fingerprint, str) and _FINGERPRINT.fullmatch(fingerprint) and isinstance(rows, list)):
        raise ValueError("code hits: bad fingerprint or rows")
    return _checked_rows(rows, passage_count)


# -- the SQLite file ----------------------------------------------------------------------------

_CREATE = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE passages (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE hits (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    # One code matched after the document's code set: its rows ([] when it found nothing).
    "CREATE TABLE code_hits (key TEXT NOT NULL, code TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (key, code))"
    " WITHOUT ROWID",
    "CREATE TABLE code_sets (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    # code_fingerprints() of the last codebook: a label or colour edit compiles no keyword to find them.
    "CREATE TABLE fingerprints (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    # What the run folder's segment tables hold: their file stamps and the fingerprints of the codes
    # they were coded with (coder.recode matches again only the codes whose fingerprint changed).
    "CREATE TABLE coding (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
)
# Errors that say the file is not (or no longer) a sound cache: it is replaced. Others (locked,
# read-only, disk full) leave it alone and the run goes on without it.
_DAMAGED = {"SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_SCHEMA", "SQLITE_ERROR", "SQLITE_MISMATCH"}


@lru_cache(maxsize=1)
def _expected_schema() -> frozenset[tuple]:
    """sqlite_master of a fresh cache: anything else (a view, a trigger, another column) is not ours."""
    memory = sqlite3.connect(":memory:")
    for statement in _CREATE:
        memory.execute(statement)
    schema = frozenset(memory.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    memory.close()
    return schema


class _NotOurs(Exception):
    """The file is a database, but not a cache of this schema and environment."""


class RecodeCache:
    """A SQLite file of JSON rows (passages and hits per document key); safe to delete at any time.

    The process that constructs it with `writer=True` checks the file (replacing it when it is
    damaged or not ours) and writes every new entry, queued by `store()`, one transaction per
    batch. Worker processes open their own read connection and never write: no lock waits.
    After any database error the cache is off for the rest of the run in that process.
    """

    FILE = "recode.sqlite"

    def __init__(self, folder: str | Path, *, writer: bool = True, new: bool = False):
        self.folder = Path(folder)
        self.writer = writer
        # The file did not exist when the run began: it holds only entries this run wrote, each for
        # a document coded already, so load() has nothing to find and asks nothing.
        self.new = new
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._off = False
        self._pending: Pending = []
        self._code_sets: dict[str, frozenset[str]] = {}  # read or written by this process
        # The last code set stored and its key: every document of a run is stored with the same
        # set, whose key (300 fingerprints sorted and hashed) need not be computed per document.
        self._last_set: tuple[frozenset[str], str] | None = None
        self._new_sets = False  # has this process written a code set (old ones may be unused now)?
        if writer:
            self._db()

    @property
    def path(self) -> Path:
        return self.folder / self.FILE

    def _db(self) -> sqlite3.Connection | None:
        if self._off:
            return None
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = self._open(), os.getpid()
            self._off = self._connection is None
        return self._connection

    def _fail(self) -> None:
        self._off = True

    def _open(self) -> sqlite3.Connection | None:
        if self.folder.is_symlink():
            return None  # never write through a link planted in a shared folder
        for attempt in range(2):
            connection = None
            try:
                if self.path.is_symlink():
                    raise _NotOurs  # the link itself is removed below, never what it points to
                if self.writer:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    for part in (self.path, self.path.with_name(self.FILE + "-wal")):
                        _unshared(part)
                elif not self.path.is_file():
                    return None
                connection = sqlite3.connect(self.path, timeout=_TIMEOUT)
                connection.execute("PRAGMA trusted_schema=OFF")
                schema = frozenset(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
                if not schema and self.writer:
                    self._create(connection)
                elif schema != _expected_schema() or dict(connection.execute("SELECT name, value FROM meta")) != {
                    "schema": str(_SCHEMA), "environment": environment()
                }:
                    raise _NotOurs
                if self.writer:
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute("PRAGMA synchronous=NORMAL")
                return connection
            except (_NotOurs, sqlite3.DatabaseError) as error:
                if connection is not None:
                    connection.close()
                damaged = isinstance(error, _NotOurs) or getattr(error, "sqlite_errorname", "") in _DAMAGED
                if not (self.writer and damaged and attempt == 0):
                    return None  # locked, read-only, or a reader: run without the cache
                try:  # damaged or not ours: start the cache afresh
                    for leftover in (self.path, *(self.path.with_name(self.FILE + tail) for tail in ("-wal", "-shm"))):
                        leftover.unlink(missing_ok=True)
                except OSError:
                    return None
            except (OSError, ValueError, sqlite3.Error):
                if connection is not None:
                    connection.close()
                return None
        return None

    @staticmethod
    def _create(connection: sqlite3.Connection) -> None:
        with connection:
            for statement in _CREATE:
                connection.execute(statement)
            connection.executemany("INSERT INTO meta VALUES (?, ?)",
                                   [("schema", str(_SCHEMA)), ("environment", environment())])

    def fingerprints(self, codebook: Codebook, *, computed: Fingerprints | None = None) -> Fingerprints:
        """code_fingerprints(codebook), stored with the matching part of the codebook as key: a
        run whose codes match as the last run's did (only labels, colours or descriptions
        changed) needs no keyword compiled to tell that nothing needs matching again. `computed`:
        code_fingerprints(codebook) computed elsewhere (a coding process), used when no earlier
        codebook's are stored (which would give the same fingerprints compiling fewer codes)."""
        key = _matching_key(codebook)
        db = self._db()
        earlier: dict[str, bool] = {}  # the last codebook's codes: those still spelled the same are not compiled
        if db is not None:
            try:
                row = db.execute("SELECT value FROM fingerprints WHERE key = ?", (key,)).fetchone()
                if row is not None:
                    return _decode_fingerprints(codebook, row[0])
                row = db.execute("SELECT value FROM fingerprints").fetchone()
                if row is not None:
                    earlier = _decode_word_automaton(_loads(row[0]))
            except sqlite3.Error:
                self._fail()
            except Exception:  # noqa: BLE001 - malformed: computed afresh below
                pass
        fingerprints = computed if computed is not None and not earlier else \
            code_fingerprints(codebook, word_automaton=earlier)
        db = self._db() if self.writer else None
        if db is not None:
            try:
                value = _dumps({"by_code": fingerprints.by_code, "ties": [sorted(tied) for tied in fingerprints.ties],
                                "word_automaton": fingerprints.word_automaton})
                with db:
                    db.execute("DELETE FROM fingerprints")
                    db.execute("INSERT INTO fingerprints (key, value) VALUES (?, ?)", (key, value))
            except sqlite3.Error:
                self._fail()
            except (ValueError, TypeError):
                pass
        return fingerprints

    def note_coding(self, stamps: dict[str, list[int]], by_code: dict[str, str], digests: dict[str, str]) -> None:
        """Note that the run folder's tables with these file `stamps` ({name: stamp}) and contents
        (`digests`: {name: SHA-256}) hold the coding of codes with these fingerprints ({code id:
        code_fingerprints() fingerprint})."""
        db = self._db() if self.writer else None
        if db is None:
            return
        try:
            value = _dumps({"stamps": stamps, "by_code": by_code, "digests": digests})
            with db:
                db.execute("INSERT OR REPLACE INTO coding (name, value) VALUES ('last', ?)", (value,))
        except sqlite3.Error:
            self._fail()
        except (ValueError, TypeError):
            pass

    def forget_coding(self) -> None:
        """Forget the note: the run folder's tables are not (or no longer) known to hold a coding."""
        db = self._db() if self.writer else None
        if db is None:
            return
        try:
            with db:
                db.execute("DELETE FROM coding")
        except sqlite3.Error:
            self._fail()

    def noted_coding(self) -> NotedCoding | None:
        """note_coding()'s stamps, fingerprints and digests, checked; None when there is no sound note."""
        db = self._db()
        if db is None:
            return None
        try:
            row = db.execute("SELECT value FROM coding WHERE name = 'last'").fetchone()
            if row is None:
                return None
            stored = _loads(row[0])
        except sqlite3.Error:
            self._fail()
            return None
        except Exception:  # noqa: BLE001 - a malformed note is no note
            return None
        if not (isinstance(stored, dict) and stored.keys() == {"stamps", "by_code", "digests"}
                and all(isinstance(stored[name], dict) for name in stored)):
            return None
        stamps, by_code, digests = stored["stamps"], stored["by_code"], stored["digests"]
        if not all(isinstance(stamp, list) and len(stamp) == 4 and all(_is_int(value) for value in stamp)
                   for stamp in stamps.values()):
            return None
        if not all(isinstance(fingerprint, str) and _FINGERPRINT.fullmatch(fingerprint) for fingerprint in by_code.values()):
            return None
        if digests.keys() != stamps.keys() or not all(isinstance(digest, str) and _DIGEST.fullmatch(digest)
                                                      for digest in digests.values()):
            return None
        return NotedCoding(stamps=stamps, by_code=by_code, digests=digests)

    def holds(self, key: str) -> bool:
        """Whether the cache has passages stored under `key` (load() may still find them unusable)."""
        db = None if self.new else self._db()
        if db is None:
            return False
        try:
            return db.execute("SELECT 1 FROM passages WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error:
            self._fail()
            return False

    def load(self, key: str, document: Document) -> CacheEntry | None:
        """The document's entry, checked against it; None when missing, unreadable or malformed."""
        db = None if self.new else self._db()
        if db is None:
            return None
        # A row far larger than the document could ever need is not read into memory at all.
        limit = 64 * len(document.text) + 4096
        try:
            row = db.execute("SELECT value, length(value) <= ? FROM passages WHERE key = ?", (limit, key)).fetchone()
            if row is None or not row[1]:
                return None
            hits_row = db.execute("SELECT value FROM hits WHERE key = ?", (key,)).fetchone()
            code_rows = db.execute("SELECT code, value FROM code_hits WHERE key = ?", (key,)).fetchall()
            passages, fingerprints = _decode_passages(document, row[0])
            if hits_row is None:
                return CacheEntry(passages=passages, fingerprints=fingerprints, stored=True)
            code_set, found = _decode_hits(hits_row[0], len(passages))
            if code_set not in self._code_sets:
                set_row = db.execute("SELECT value FROM code_sets WHERE key = ?", (code_set,)).fetchone()
                if set_row is None:
                    return CacheEntry(passages=passages, fingerprints=fingerprints, stored=True)
                self._code_sets[code_set] = _decode_code_set(code_set, set_row[0])
        except sqlite3.Error:
            self._fail()
            return None
        except Exception:  # noqa: BLE001 - anything malformed (bad JSON, deep nesting, bad ranges) is a miss
            return None
        codes = self._code_sets[code_set]
        if not codes.issuperset(found):
            return None
        later = set()
        for fingerprint, value in code_rows:
            try:
                rows = _decode_code_hits(fingerprint, value, len(passages))
            except Exception:  # noqa: BLE001 - a malformed row only means matching that code again
                continue
            later.add(fingerprint)
            if rows:
                found[fingerprint] = rows
            else:
                found.pop(fingerprint, None)
        return CacheEntry(passages=passages, hits=found, codes=codes | later if later else codes,
                          fingerprints=fingerprints, stored=True)

    def store(self, key: str, document: Document, entry: CacheEntry, *, current: frozenset[str] | None = None) -> None:
        """Queue what this run added to an entry (`entry.matched`, or all of a new document) for the
        `current` code set (default: the entry's); `take_pending()` hands the queue to the one
        process that writes.

        A document stored before gets one row per code matched since, unless most of its codes
        were: then one blob of the current code set replaces its old one."""
        current = entry.codes if current is None else current
        try:
            passages = None if entry.stored else _encode_passage_rows(entry.rows, entry.fingerprints) \
                if entry.rows is not None else _encode_passages(document, entry.passages, entry.fingerprints, entry.plain)
            if entry.stored and 2 * len(entry.matched) <= len(current):
                self._pending.append(PendingEntry(
                    key, None, None, "", None, tuple((fingerprint, _dumps(entry.hits.get(fingerprint, [])))
                                                     for fingerprint in sorted(entry.matched))))
                return
            last = self._last_set
            if last is not None and last[0] is current:
                code_set = last[1]
            else:
                code_set = code_set_key(current)
                self._last_set = (current, code_set)
            hits = _dumps({"codes": code_set, "hits": {fingerprint: rows for fingerprint, rows in entry.hits.items()
                                                       if rows and fingerprint in current}})
            new_set = None if code_set in self._code_sets else _dumps(sorted(current))
        except (ValueError, TypeError, RecursionError):
            return  # not storable: only costs speed next time
        self._code_sets[code_set] = current
        self._pending.append(PendingEntry(key, passages, hits, code_set, new_set, replaced=entry.stored))

    def take_pending(self) -> Pending:
        pending, self._pending = self._pending, []
        return pending

    def write(self, pending: Pending) -> None:
        """Write queued entries in one transaction (worker processes never write: no lock waits)."""
        db = self._db()
        if db is None or not pending:
            return
        try:
            with db:
                new_sets = [(entry.code_set, entry.new_set) for entry in pending if entry.new_set is not None]
                self._new_sets = self._new_sets or bool(new_sets)
                db.executemany("INSERT OR REPLACE INTO code_sets (key, value) VALUES (?, ?)", new_sets)
                db.executemany("INSERT OR REPLACE INTO passages (key, value) VALUES (?, ?)",
                               [(entry.key, entry.passages) for entry in pending if entry.passages is not None])
                db.executemany("DELETE FROM code_hits WHERE key = ?", [(entry.key,) for entry in pending if entry.replaced])
                db.executemany("INSERT OR REPLACE INTO hits (key, value) VALUES (?, ?)",
                               [(entry.key, entry.hits) for entry in pending if entry.hits is not None])
                db.executemany("INSERT OR REPLACE INTO code_hits (key, code, value) VALUES (?, ?, ?)",
                               [(entry.key, code, rows) for entry in pending for code, rows in entry.code_hits])
        except sqlite3.Error:
            self._fail()  # a cache that cannot be written only costs speed next time

    def prune(self, keep: set[str], *, fingerprints: Iterable[str] = ()) -> int:
        """Forget documents that are no longer in the corpus (or changed), rows of codes that are
        not among `fingerprints` (the run's) and code sets no document uses; returns how many documents."""
        db = self._db()
        if db is None:
            return 0
        current = set(fingerprints)
        try:
            stale = [(key,) for (key,) in db.execute("SELECT key FROM passages") if key not in keep]
            stale_hits = [(key,) for (key,) in db.execute("SELECT key FROM hits") if key not in keep]
            stale_codes = [(code,) for (code,) in db.execute("SELECT DISTINCT code FROM code_hits") if code not in current]
            with db:
                db.executemany("DELETE FROM passages WHERE key = ?", stale)
                db.executemany("DELETE FROM hits WHERE key = ?", stale_hits)
                db.executemany("DELETE FROM code_hits WHERE key = ?", stale_hits)
                db.executemany("DELETE FROM code_hits WHERE code = ?", stale_codes)
                if self._new_sets or stale_hits:
                    # A blob starts {"codes":"<its code set's key>": a prefix is all it takes to see which are used.
                    used = {bytes.fromhex(prefix).decode("ascii", "replace")
                            for (prefix,) in db.execute("SELECT DISTINCT hex(substr(value, 11, 16)) FROM hits")}
                    unused = [(key,) for (key,) in db.execute("SELECT key FROM code_sets") if key not in used]
                    db.executemany("DELETE FROM code_sets WHERE key = ?", unused)
        except sqlite3.Error:
            self._fail()
            return 0
        return len(stale)

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


def remember_coding(run: RunFolder, codebook: Codebook) -> None:
    """Note in the run's recode cache that its segment tables hold the coding of `codebook`, so the
    next run can match again only the codes edited since. Called after a run's outputs are in place."""
    from .runs import _file_stamp

    cache = RecodeCache(run.cache_path)
    try:
        tables = _tables(run)
        if tables is None:
            cache.forget_coding()
            return
        stamps = {name: _file_stamp(path) for name, path in tables.items()}
        before = cache.noted_coding()
        # A table with the stamp it had when its digest was taken is the same file (passages.parquet
        # after a recode): not read again.
        digests = {name: before.digests[name] if before is not None and before.stamps.get(name) == stamp
                   else file_digest(tables[name]) for name, stamp in stamps.items()}
        if {name: _file_stamp(path) for name, path in tables.items()} != stamps:
            cache.forget_coding()  # written again while it was read
            return
        cache.note_coding(stamps, cache.fingerprints(codebook).by_code, digests)
    except OSError:
        cache.forget_coding()
    finally:
        cache.close()


def noted_tables_unchanged(noted: NotedCoding, tables: dict[str, Path]) -> bool:
    """Are `tables` ({name: path}) the files `noted` describes? Told by their stamps, or where a stamp
    differs, by size and content: a copied or synced run folder (`cp -a`, a cloud drive) has other
    inodes and change times but the same tables."""
    from .runs import _file_stamp

    if noted.stamps.keys() != tables.keys():
        return False
    for name, path in tables.items():
        stamp = _file_stamp(path)
        if stamp != noted.stamps[name] and (stamp[0] != noted.stamps[name][0] or file_digest(path) != noted.digests[name]):
            return False
    return True


def noted_file_in_place(noted: NotedCoding, name: str, path: Path) -> bool:
    """Is `path` the very file the last run wrote as table `name`, by its stamp (size, times, inode)? Not
    merely the same bytes: a copied folder's file (same digest, another inode) is someone else's copy."""
    from .runs import _file_stamp

    try:
        return noted.stamps.get(name) == _file_stamp(path)
    except OSError:
        return False


def tables_vouched_for(run: RunFolder) -> bool:
    """Are the run's segments.parquet and passages.parquet the files its last run wrote, as the recode
    cache noted them (`remember_coding`)? False without a sound note, or for a table changed since."""
    tables = _tables(run)
    if tables is None:
        return False
    cache = RecodeCache(run.cache_path)
    try:
        noted = cache.noted_coding()
        return noted is not None and noted_tables_unchanged(noted, tables)
    except OSError:
        return False
    finally:
        cache.close()


def file_digest(path: Path) -> str:
    """The SHA-256 of a run's own file, in hex (about 9 ms for the 13 MB of tables of a 50 MB corpus);
    read as `read_own_bytes` reads (never through a link, a pipe or a device), else OSError."""
    return hashlib.sha256(read_own_bytes(path)).hexdigest()


def _tables(run: RunFolder) -> dict[str, Path] | None:
    """segments.parquet and passages.parquet of the run, when both are single files."""
    tables = {"segments.parquet": run.segments_parquet_path, "passages.parquet": run.passages_parquet_path}
    if not all(path.is_file() and not path.is_symlink() for path in tables.values()):
        return None
    return tables


def _unshared(path: Path) -> None:
    """Make `path`, when another name shares its file (a hard-linked snapshot, `cp -al`, a backup tool's
    link farm), a file of its own, so that writing the cache changes no other folder (probe S F6)."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_nlink < 2:
            return
    except OSError:
        return
    copy = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.copy2(path, copy)
    os.replace(copy, path)

