"""Document names: the document a name typed by a person means.

A Mac names "Café.txt" decomposed (NFD) on its disk and in its zips; Windows and Linux keep what they are
given, and a keyboard types it composed (NFC). Windows copies a path with backslashes, `find .` lists it
with "./". documents.csv, a workbook's rows and a gold file all read a typed name by one rule (`DocumentNames`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .errors import CoderError
from .files import display_name


class AmbiguousNameError(CoderError):
    """A typed name that reads as more than one document of the corpus."""


def same_file_key(name: str) -> str:
    """What a name is to Windows and macOS, whose disks take "Report.txt" and "report.txt", or a name in
    either Unicode form, for one file.

    >>> same_file_key("Report.txt") == same_file_key("report.txt")
    True
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def one_file_on_windows_and_macos(documents: Iterable[str]) -> list[tuple[str, ...]]:
    """The groups of documents whose names differ only in capitals or Unicode form (`same_file_key`)."""
    groups: dict[str, list[str]] = {}
    for document in documents:
        groups.setdefault(same_file_key(document), []).append(document)
    return [tuple(names) for names in groups.values() if len(names) > 1]


def slashed(name: str) -> str:
    """A document's name with a Windows path's backslashes as slashes."""
    return name.replace("\\", "/")


def name_spellings(name: str) -> list[str]:
    """The names a typed cell may mean, most literal first: as written; with backslashes as slashes;
    with control and bidi characters escaped as segments.csv writes them, and the backslashes of no
    escape as slashes; each without a leading "./" (a list made with `find .` in the corpus)."""
    escaped = display_name(name)
    pieces = _ESCAPE.split(escaped)
    spellings = [name, slashed(name), escaped, "\\".join(slashed(piece) for piece in pieces)]
    return list(dict.fromkeys([*spellings, *(_HERE.sub("", spelling) for spelling in spellings)]))


# An escape as segments.csv writes a name's control or bidi character (files.display_name): "\\u202e", "\\x9c".
_ESCAPE = re.compile(r"\\(?=x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])")
_HERE = re.compile(r"^(?:\./+)+")  # "./a.txt", "././en/a.txt"


class DocumentNames:
    """The documents of a corpus, found by the names people type for them.

    >>> names = DocumentNames(["Cafe\\u0301.txt", "sub/a.txt"])
    >>> names.find("Caf\\u00e9.txt") == "Cafe\\u0301.txt", names.find(".\\\\sub\\\\a.txt"), names.find("b.txt")
    (True, 'sub/a.txt', None)
    """

    def __init__(self, documents: Iterable[str]):
        self.documents = list(dict.fromkeys(documents))
        self._exact = set(self.documents)
        self._composed: dict[str, list[str]] = {}
        self._folded: dict[str, list[str]] = {}
        for document in self.documents:
            self._composed.setdefault(unicodedata.normalize("NFC", document), []).append(document)
            self._folded.setdefault(same_file_key(document), []).append(document)

    def __contains__(self, name: object) -> bool:
        return name in self._exact

    def find(self, typed: str) -> str | None:
        """The document `typed` names: itself, else the one document it names in another Unicode form (NFC or
        NFD), with "\\" for "/", with a leading "./", or with its control characters escaped; None for none.

        Raises:
            AmbiguousNameError: it reads as two documents (both named).
        """
        if typed in self._exact:
            return typed
        spellings = name_spellings(typed)
        found = [spelling for spelling in spellings if spelling in self._exact]
        if not found:  # only then in another Unicode form: a name typed as one document of a pair has it is that one
            found = [document for spelling in spellings
                     for document in self._composed.get(unicodedata.normalize("NFC", spelling), ())]
        return self._one(typed, found)

    def find_in_any_case(self, typed: str) -> str | None:
        """`find`, else the one document whose name differs from `typed` only in capitals (as Windows and macOS
        read a name); None for none, or for several that differ from it so."""
        found = self.find(typed)
        if found is not None:
            return found
        matches = [document for spelling in name_spellings(typed) for document in self._folded.get(same_file_key(spelling), ())]
        matches = list(dict.fromkeys(matches))
        return matches[0] if len(matches) == 1 else None

    @staticmethod
    def _one(typed: str, found: list[str]) -> str | None:
        found = list(dict.fromkeys(found))
        if len(found) > 1:
            raise AmbiguousNameError(f"'{display_name(typed)}' may name '{display_name(found[0])}' or "
                                     f"'{display_name(found[1])}'; write the name as segments.csv shows it")
        return found[0] if found else None
