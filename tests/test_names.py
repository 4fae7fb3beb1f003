"""Document names: the name in outputs, and the document a typed name means."""

from __future__ import annotations

import unicodedata

import pytest

from coder.names import AmbiguousNameError, DocumentNames

NFD, NFC = unicodedata.normalize("NFD", "Café.txt"), "Café.txt"


@pytest.mark.parametrize("documents, typed, expected", [
    ([NFD, "b.txt"], NFC, NFD),
    ([NFC, "b.txt"], NFD, NFC),
    (["sub/a.txt"], "sub\\a.txt", "sub/a.txt"),
    (["sub/a.txt"], ".\\sub\\a.txt", "sub/a.txt"),
    (["sub/a.txt"], "././sub/a.txt", "sub/a.txt"),
    (["a\\u202eb.txt"], "a\u202eb.txt", "a\\u202eb.txt"),
    ([NFC, NFD], NFD, NFD),  # a name typed as one document has it is that document
    ([NFC, NFD], "./" + NFC, NFC),
    (["sub/a.txt"], "Sub/a.txt", None),
    (["sub/a.txt"], "b.txt", None),
])
def test_names_find_reads_a_name_as_people_type_it(documents, typed, expected):
    assert DocumentNames(documents).find(typed) == expected


@pytest.mark.parametrize("documents, typed", [
    (["x/a.txt", "x\\a.txt"], "./x\\a.txt"),
    # "Ṩ" composed, decomposed, and typed with its two marks the other way round: NFC reads all three as one
    (["\u1e68.txt", "S\u0323\u0307.txt"], "S\u0307\u0323.txt"),
])
def test_names_find_refuses_a_name_that_reads_as_two_documents(documents, typed):
    with pytest.raises(AmbiguousNameError, match="may name '.*' or '.*'; write the name as segments.csv shows it"):
        DocumentNames(documents).find(typed)
