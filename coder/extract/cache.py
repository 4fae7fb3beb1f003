"""Stage 1 (cache): extracted texts kept by the hash of the file's bytes, extracted once each.

One JSON file per extracted document version, `<folder>/<sha256 of the bytes>.json`, holding
the text, page spans, removals and warnings (plain data: an output folder may come from
someone else). The key also covers the extraction settings, the coder version, the extractors'
own source and the versions of the libraries they read with, so a change to any of them extracts
again (a recode then gives what a fresh run gives). Entries of files no longer in the corpus are
pruned by the caller.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from ..files import atomic_open, json_from, package_versions, read_own_bytes, source_digest
from . import ExtractedText, Removed

_FORMAT = 1


def file_key(data: bytes, *, suffix: str) -> str:
    """The cache key of a file's bytes read as `suffix` (".pdf", ...)."""
    from .. import __version__  # here: coder/__init__.py imports this module before defining it

    digest = hashlib.sha256(data).hexdigest()
    return hashlib.sha256(
        f"{_FORMAT}\x1f{__version__}\x1f{_extractors()}\x1f{suffix.lower()}\x1f{digest}".encode()).hexdigest()


@lru_cache(maxsize=1)
def _extractors() -> str:
    """The extractors' source (a development checkout changes without a version bump) and the
    versions of the libraries they read with, hashed."""
    versions = package_versions(("pypdfium2", "python-docx", "lxml", "trafilatura", "striprtf", "charset-normalizer"))
    return f"{source_digest(Path(__file__).resolve().parent, '*.py')} {' '.join(versions)}"


class ExtractionCache:
    """Extracted texts under `folder`, one JSON file per file version.

    >>> cache = ExtractionCache("outputs/.extracted")  # doctest: +SKIP
    >>> cache.get(key) or cache.put(key, extract_bytes(data, ".pdf"))  # doctest: +SKIP
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.used: set[str] = set()  # keys read or written: what a prune after the run keeps
        # A link planted in place of the folder (a received run folder): never read, written or pruned
        # through (a prune deleted every *.json file of the folder it pointed to).
        self.linked = self.folder.is_symlink()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> ExtractedText | None:
        self.used.add(key)
        if self.linked:
            return None
        try:
            data = json_from(read_own_bytes(self._path(key)).decode("utf-8"))
            return ExtractedText(
                text=data["text"],
                format=data["format"],
                pages=tuple((int(start), int(end)) for start, end in data["pages"]),
                removed=tuple(Removed(item["page"], item["text"], item["reason"]) for item in data["removed"]),
                warnings=tuple(data["warnings"]),
                encoding=data["encoding"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: extract again

    def put(self, key: str, extracted: ExtractedText) -> ExtractedText:
        self.used.add(key)
        data = {
            "text": extracted.text,
            "format": extracted.format,
            "pages": [list(span) for span in extracted.pages],
            "removed": [{"page": item.page, "text": item.text, "reason": item.reason} for item in extracted.removed],
            "warnings": list(extracted.warnings),
            "encoding": extracted.encoding,
        }
        if self.linked:
            return extracted
        with atomic_open(self._path(key)) as handle:
            json.dump(data, handle, ensure_ascii=False)
        return extracted

    def prune(self, keep: set[str] | None = None) -> None:
        """Delete the entries whose key is not in `keep` (by default: not used since this object was made)."""
        keep = self.used if keep is None else keep
        if self.linked or not self.folder.is_dir():
            return
        for path in self.folder.glob("*.json"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
