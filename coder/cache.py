"""The recode cache: passages per document and matches per (document, code), reused across runs.

A document's entry is keyed by the hash of its decoded text, the tool version and the passage
settings, so editing a document or upgrading coder invalidates it. Within an entry, matches are
stored per code under a fingerprint of exactly what decides them (keywords, regexes, exclusions),
so after a codebook edit only the edited codes are matched again; labels, descriptions, colours
and moves in the hierarchy reuse everything.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .models import Code, Document, Passage

_FORMAT = 4


def code_fingerprint(code: Code) -> str:
    """What decides a code's matches, hashed: a changed fingerprint means re-matching that code."""
    decisive = repr((_FORMAT, __version__, code.keywords, code.regex, code.exclude))
    return hashlib.sha1(decisive.encode("utf-8")).hexdigest()[:16]


def document_key(document: Document, *, unit: str, settings: str = "") -> str:
    material = f"{_FORMAT}\x1f{__version__}\x1f{unit}\x1f{settings}\x1f{document.path}\x1f{document.sha256}"
    return hashlib.sha1(material.encode("utf-8")).hexdigest()


@dataclass
class CacheEntry:
    """One document's cached passages and, per code fingerprint, the code's hits in them:
    (passage index, hits, matched words "; "-joined) for each passage the code codes."""

    passages: list[Passage]
    hits: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    fingerprints: list[str] = field(default_factory=list)  # passage_fingerprint() of each passage


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


class RecodeCache:
    """A SQLite file of pickled CacheEntry rows, one per document key; safe to delete at any time.

    Each process opens its own connection to read; new entries are queued with `store()` and
    written by the parent process in one transaction per batch of documents.
    """

    FILE = "recode.sqlite"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._pending: list[tuple[str, bytes]] = []

    def _db(self) -> sqlite3.Connection | None:
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = self._open(), os.getpid()
        return self._connection

    def _open(self) -> sqlite3.Connection | None:
        path = self.folder / self.FILE
        for attempt in range(2):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, timeout=60)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, entry BLOB)")
                return connection
            except sqlite3.DatabaseError:
                if attempt == 0:  # not a database (damaged): start the cache afresh
                    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                        leftover.unlink(missing_ok=True)
            except OSError:
                break
        return None  # no cache: every document is simply coded

    def load(self, key: str) -> CacheEntry | None:
        db = self._db()
        try:
            row = db.execute("SELECT entry FROM entries WHERE key = ?", (key,)).fetchone() if db else None
            entry = pickle.loads(row[0]) if row else None
        except (sqlite3.Error, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None  # unreadable entries are simply recomputed
        return entry if isinstance(entry, CacheEntry) else None

    def store(self, key: str, entry: CacheEntry) -> None:
        """Queue an entry; `take_pending()` hands the queue to the one process that writes."""
        self._pending.append((key, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)))

    def take_pending(self) -> list[tuple[str, bytes]]:
        pending, self._pending = self._pending, []
        return pending

    def write(self, pending: list[tuple[str, bytes]]) -> None:
        """Write queued entries in one transaction (worker processes never write: no lock waits)."""
        db = self._db()
        if db is None or not pending:
            return
        try:
            db.executemany("INSERT OR REPLACE INTO entries (key, entry) VALUES (?, ?)", pending)
            db.commit()
        except sqlite3.Error:
            pass  # a cache that cannot be written only costs speed next time

    def prune(self, keep: set[str]) -> int:
        """Forget documents that are no longer in the corpus (or changed); returns how many."""
        db = self._db()
        if db is None:
            return 0
        try:
            stale = [key for (key,) in db.execute("SELECT key FROM entries") if key not in keep]
            db.executemany("DELETE FROM entries WHERE key = ?", [(key,) for key in stale])
            db.commit()
        except sqlite3.Error:
            return 0
        return len(stale)
