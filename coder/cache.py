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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .models import Code, Document, Passage

_FORMAT = 2


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


@dataclass
class CacheStats:
    documents_reused: int = 0
    documents_new: int = 0
    codes_reused: int = 0
    codes_matched: int = 0

    def add(self, other: "CacheStats") -> None:
        self.documents_reused += other.documents_reused
        self.documents_new += other.documents_new
        self.codes_reused += other.codes_reused
        self.codes_matched += other.codes_matched

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class RecodeCache:
    """A folder of pickled CacheEntry files, one per document key; safe to delete at any time."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pickle"

    def load(self, key: str) -> CacheEntry | None:
        try:
            with open(self._path(key), "rb") as stream:
                entry = pickle.load(stream)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None  # missing or unreadable entries are simply recomputed
        return entry if isinstance(entry, CacheEntry) else None

    def store(self, key: str, entry: CacheEntry) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(entry, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except OSError:
            pass  # a cache that cannot be written only costs speed next time
