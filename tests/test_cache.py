"""The recode cache: plain data only, a recode equals a fresh run, and no cache problem breaks a run.

The property test runs a modest number of examples in the suite; `make fuzz` runs many more:

    CODER_FUZZ_EXAMPLES=2000 python -m pytest -q -p no:cacheprovider tests/test_cache.py -k property
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coder import cache as cache_module
from coder import matching as matching_module
from coder.cache import RecodeCache, code_fingerprints, document_key
from coder.cli import app
from coder.codebook import dump_codebook
from coder.lexicon import contains_cjk
from coder.models import Code, Codebook, Document, Rule
from coder.pipeline import code_corpus
from coder.runner import run_coding
from coder.runs import RunFolder

runner = CliRunner()


def _run(corpus: Path, codebook: Path, out: Path, *more: str) -> None:
    result = runner.invoke(app, ["run", str(corpus), "--codebook", str(codebook), "--out", str(out), "--quiet", *more])
    assert result.exit_code == 0, result.output


def _segments(out: Path) -> bytes:
    """segments.csv without its `status` column: a recode says "unchanged" where a first run says "new"."""
    import pandas as pd

    frame = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame.drop(columns=["status"], errors="ignore").to_csv(index=False).encode("utf-8")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


CHINESE_CORPUS = {
    "a.txt": "我们推进党建联盟工作。印度尼西亚与印度合作。联盟成立。\n\n各地探索跨域协同治理，协同治理成效明显。\n",
    "b.txt": "Mayors held a joint meeting; they co-ordinated regional cooperation.\n\n党建联盟和联席会议。\n",
}


# -- a recode equals a fresh run ------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # The minimal case: b's terms are new dictionary words that split a's hits differently.
        ("a: {keywords: [联盟, 印度]}", "a: {keywords: [联盟, 印度]}\n  b: {keywords: [党建联盟, 印度尼西亚]}"),
        ("a: {keywords: [联盟, 印度]}\n  b: {keywords: [党建联盟, 印度尼西亚]}", "a: {keywords: [联盟, 印度]}"),
        ("a: {keywords: [协同治理]}\n  b: {keywords: [治理]}", "a: {keywords: [协同治理]}\n  b: {keywords: [治理, 跨域协同治理]}"),
        # A Chinese exclusion is a dictionary word too.
        ("a: {keywords: [联盟]}\n  b: {keywords: [合作]}", "a: {keywords: [联盟]}\n  b: {keywords: [合作], exclude: [党建联盟]}"),
        # An English edit of a code with Chinese terms: it is matched with the whole dictionary.
        ("a: {keywords: [联盟]}\n  b: {keywords: [党建联盟]}", "a: {keywords: [联盟]}\n  b: {keywords: [党建联盟, joint meeting]}"),
        # Keywords with a wildcard inside share one word automaton: "co-ordinated" hides "ordinated".
        ("a: {keywords: [ordinated* regional]}", "a: {keywords: [ordinated* regional]}\n  b: {keywords: [coordinated regional* cooperation]}"),
    ],
)
def test_cache_recode_equals_a_fresh_run_after_an_edit(tmp_path: Path, before: str, after: str):
    from coder import parse_codebook

    corpus = tmp_path / "corpus"
    for name, text in CHINESE_CORPUS.items():
        _write(corpus / name, text)
    code_corpus(corpus, parse_codebook(f"codes:\n  {before}\n"), workers=1, cache_dir=tmp_path / "c")
    codebook = parse_codebook(f"codes:\n  {after}\n")
    recode = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(recode.segments, code_corpus(corpus, codebook, workers=1).segments)


@pytest.mark.parametrize(("before", "after"), [("a: {keywords: [联盟, 印度]}", "b: {keywords: [党建联盟, 印度尼西亚]}")])
def test_cache_cli_recode_equals_no_cache_run(tmp_path: Path, before: str, after: str):
    """The issue's minimal case, as a user meets it."""
    corpus = tmp_path / "corpus"
    for name, text in CHINESE_CORPUS.items():
        _write(corpus / name, text)
    codebook = _write(tmp_path / "codebook.yaml", f"codes:\n  {before}\n")
    _run(corpus, codebook, tmp_path / "cached")
    _write(codebook, f"codes:\n  {before}\n  {after}\n")
    _run(corpus, codebook, tmp_path / "cached")
    _run(corpus, codebook, tmp_path / "fresh", "--no-cache")
    assert _segments(tmp_path / "cached") == _segments(tmp_path / "fresh")


@pytest.mark.parametrize("workers", [2])
def test_cache_recode_on_worker_processes_equals_a_fresh_run(tmp_path: Path, monkeypatch, workers):
    from coder import pipeline

    corpus = tmp_path / "corpus"
    for index in range(6):
        for name, text in CHINESE_CORPUS.items():
            _write(corpus / f"{index}_{name}", text)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    code_corpus(corpus, _codebook({"a": ["联盟", "印度"], "c": ["joint meeting"]}), workers=workers, cache_dir=tmp_path / "c")
    codebook = _codebook({"a": ["联盟", "印度"], "b": ["党建联盟", "印度尼西亚"], "c": ["joint meeting"]})
    recode = code_corpus(corpus, codebook, workers=workers, cache_dir=tmp_path / "c")
    assert recode.reused == {"documents_reused": 12, "documents_new": 0, "codes_reused": 12, "codes_matched": 24}
    pd.testing.assert_frame_equal(recode.segments, code_corpus(corpus, codebook, workers=1).segments)


@pytest.mark.parametrize("unit", ["sentence"])
def test_cache_recode_equals_a_fresh_run_after_a_unit_change(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, unit):
    _run(tiny_corpus, tiny_codebook, tmp_path / "cached")
    _write(tiny_codebook, f"unit: {unit}\n" + tiny_codebook.read_text(encoding="utf-8"))
    _run(tiny_corpus, tiny_codebook, tmp_path / "cached")
    _run(tiny_corpus, tiny_codebook, tmp_path / "fresh", "--no-cache")
    assert _segments(tmp_path / "cached") == _segments(tmp_path / "fresh")


@pytest.mark.parametrize("edited", ["a: {keywords: [合作]}\n  b: {keywords: [joint meeting, regional cooperation]}"])
def test_cache_english_codes_are_reused_after_a_chinese_edit(tmp_path: Path, edited: str):
    corpus = tmp_path / "corpus"
    for name, text in CHINESE_CORPUS.items():
        _write(corpus / name, text)
    first = code_corpus(corpus, _codebook({"a": ["联盟"], "b": ["joint meeting"]}), workers=1, cache_dir=tmp_path / "c")
    assert first.reused["codes_matched"] == 4
    again = code_corpus(corpus, _codebook({"a": ["联盟", "党建联盟"], "b": ["joint meeting"]}), workers=1,
                        cache_dir=tmp_path / "c")
    assert again.reused == {"documents_reused": 2, "documents_new": 0, "codes_reused": 2, "codes_matched": 2}


@pytest.mark.parametrize(("before", "after"), [({"a": ["联盟"], "b": ["joint meeting"], "c": ["meeting room"]},
                                                {"a": ["联盟"], "b": ["joint meeting", "regional cooperation"],
                                                 "c": ["meeting room"]})])
def test_cache_edit_writes_only_the_edited_codes_rows(tmp_path: Path, before: dict, after: dict):
    """An edited code adds one row per document for itself; what the other codes found is never rewritten."""
    corpus = tmp_path / "corpus"
    for name, text in {**CHINESE_CORPUS, **PROPERTY_CORPUS}.items():
        _write(corpus / name, text)
    database = tmp_path / "c" / "recode.sqlite"
    code_corpus(corpus, _codebook(before), workers=1, cache_dir=tmp_path / "c")
    with sqlite3.connect(database) as db:
        blobs = db.execute("SELECT key, value FROM passages UNION ALL SELECT key, value FROM hits").fetchall()
    db.close()
    codebook = _codebook(after)
    recode = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    assert recode.reused == {"documents_reused": 6, "documents_new": 0, "codes_reused": 12, "codes_matched": 6}
    pd.testing.assert_frame_equal(recode.segments, code_corpus(corpus, codebook, workers=1).segments)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT key, value FROM passages UNION ALL SELECT key, value FROM hits").fetchall() == blobs
        edited = code_fingerprints(codebook).by_code["b"]
        assert db.execute("SELECT DISTINCT code FROM code_hits").fetchall() == [(edited,)]
        assert db.execute("SELECT COUNT(*) FROM code_hits").fetchone() == (6,)
    db.close()
    again = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    assert again.reused["codes_matched"] == 0
    pd.testing.assert_frame_equal(again.segments, recode.segments)


@pytest.mark.parametrize("value", [b"not json", b"[[0, 0, \"x\"]]", b"[[99, 1, \"x\"]]", b"{}"])
def test_cache_malformed_code_rows_are_misses(tmp_path: Path, value: bytes):
    corpus = tmp_path / "corpus"
    for name, text in PROPERTY_CORPUS.items():
        _write(corpus / name, text)
    code_corpus(corpus, _codebook({"a": ["joint meeting"], "b": ["联盟"], "c": ["barrier*"]}), workers=1,
                cache_dir=tmp_path / "c")
    codebook = _codebook({"a": ["joint meeting", "meeting room"], "b": ["联盟"], "c": ["barrier*"]})
    cached = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    with sqlite3.connect(tmp_path / "c" / "recode.sqlite") as db:
        db.execute("UPDATE code_hits SET value = ?", (value,))
    db.close()
    again = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(again.segments, cached.segments)
    assert again.reused["codes_matched"] == 4  # the damaged code, in every document
    third = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    assert third.reused["codes_matched"] == 0  # repaired


@pytest.mark.parametrize("value", [b"not json", b'{"by_code": {"a": "0123456789abcdef"}, "ties": [[], []]}',
                                   b'{"by_code": {}, "ties": []}'])
def test_cache_malformed_fingerprints_are_computed_again(tmp_path: Path, value: bytes):
    corpus = tmp_path / "corpus"
    for name, text in PROPERTY_CORPUS.items():
        _write(corpus / name, text)
    codebook = _codebook({"a": ["joint meeting"], "b": ["联盟"], "c": ["ordinated* regional"]})
    cold = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    with sqlite3.connect(tmp_path / "c" / "recode.sqlite") as db:
        db.execute("UPDATE fingerprints SET value = ?", (value,))
    db.close()
    again = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(again.segments, cold.segments)
    assert again.reused["codes_matched"] == 0


@pytest.mark.parametrize("edit", [{"label": "Renamed", "description": "Now with a description"}])
def test_cache_label_edit_reads_stored_fingerprints(tmp_path: Path, monkeypatch, edit: dict):
    """Codes that match as before need no keyword compiled: their fingerprints come from the cache."""
    import dataclasses

    corpus = tmp_path / "corpus"
    for name, text in PROPERTY_CORPUS.items():
        _write(corpus / name, text)
    codebook = _codebook({"a": ["joint meeting"], "b": ["联盟"], "c": ["ordinated* regional"]})
    code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    edited = Codebook(codes=tuple(dataclasses.replace(code, **edit) if code.id == "a" else code for code in codebook))

    def refuse(*args, **kwargs):
        raise AssertionError("fingerprints computed again")

    monkeypatch.setattr(cache_module, "code_fingerprints", refuse)
    again = code_corpus(corpus, edited, workers=1, cache_dir=tmp_path / "c")
    assert again.reused["codes_matched"] == 0
    assert set(again.segments.loc[again.segments["code"] == "a", "label"]) == {"Renamed"}


@pytest.mark.parametrize("edited", [{"a": ["joint meeting", "summit*"]}, {"c": ["regional"]}, {"d": ["ordinated* council"]}])
def test_cache_keyword_edit_compiles_only_the_edited_codes(tmp_path: Path, monkeypatch, edited: dict):
    """The word automaton's codes of a code spelled as in the last codebook come from the cache;
    the fingerprints are those computed from scratch."""
    codes = {"a": ["joint meeting"], "b": ["联盟"], "c": ["ordinated* regional"]}
    cache = RecodeCache(tmp_path / "c")
    cache.fingerprints(_codebook(codes))
    cache.close()
    codebook = _codebook({**codes, **edited})
    compiled: list[str] = []
    compile_keywords = matching_module._compile_keywords

    def record(codebook):
        compiled.extend(code.id for code in codebook)
        return compile_keywords(codebook)

    monkeypatch.setattr(matching_module, "_compile_keywords", record)  # cache imports it when it compiles
    cache = RecodeCache(tmp_path / "c")
    fingerprints = cache.fingerprints(codebook)
    cache.close()
    monkeypatch.setattr(matching_module, "_compile_keywords", compile_keywords)
    fresh = code_fingerprints(codebook)
    assert compiled == sorted(edited)
    assert (fingerprints.by_code, fingerprints.ties) == (fresh.by_code, fresh.ties)


# -- plain data only ------------------------------------------------------------------------


class _Payload:
    """Unpickling this creates a file: proof that a planted pickle ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(database: Path, statements: list[str], rows: list[tuple] = ()) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as db:
        for statement in statements:
            db.execute(statement)
        for table, *values in rows:
            db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values))})", values)
    db.close()


@pytest.mark.parametrize("layout", ["old", "current"])
def test_cache_planted_pickle_never_runs(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, layout: str):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    out = tmp_path / "out"
    database = out / ".cache" / "recode.sqlite"
    from coder.corpus import read_corpus

    keys = [document_key(document, unit="paragraph") for document in read_corpus(tiny_corpus).documents]
    if layout == "old":  # the layout of coder <= 0.x: one pickled entry per document
        _plant(database, ["CREATE TABLE entries (key TEXT PRIMARY KEY, entry BLOB)"],
               [("entries", key, payload) for key in keys])
    else:  # today's layout, with pickles where JSON belongs
        _plant(database, [*cache_module._CREATE],
               [("meta", "schema", str(cache_module._SCHEMA)), ("meta", "environment", cache_module.environment()),
                *[("passages", key, payload) for key in keys], *[("hits", key, payload) for key in keys]])
    _run(tiny_corpus, tiny_codebook, out)
    _run(tiny_corpus, tiny_codebook, out)  # and again, on whatever the first run left
    _run(tiny_corpus, tiny_codebook, tmp_path / "fresh", "--no-cache")
    assert not marker.exists()
    assert _segments(out) == _segments(tmp_path / "fresh")
    assert _stored_values(database) and all(_is_json(value) for value in _stored_values(database))


def _stored_values(database: Path) -> list[bytes]:
    with sqlite3.connect(database) as db:
        values = [value for table in ("passages", "hits", "code_hits", "code_sets", "fingerprints")
                  for (value,) in db.execute(f"SELECT value FROM {table}")]
    db.close()
    return values


def _is_json(value: bytes) -> bool:
    try:
        json.loads(value.decode("utf-8"))
    except ValueError:
        return False
    return True


def test_cache_holds_json_only(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    from coder import load_codebook

    code_corpus(tiny_corpus, Codebook(codes=()), workers=1, cache_dir=tmp_path / "c")
    code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=1, cache_dir=tmp_path / "c")
    values = _stored_values(tmp_path / "c" / "recode.sqlite")
    assert len(values) == 6 and all(_is_json(value) for value in values)


# -- no cache problem breaks a run ------------------------------------------------------------


def _damage_rows(database: Path, table: str, value: bytes) -> None:
    with sqlite3.connect(database) as db:
        (hits,) = db.execute("SELECT value FROM hits LIMIT 1").fetchone()
        codes = json.loads(hits)["codes"].encode()  # a hits row names the code set it covers
        db.execute(f"UPDATE {table} SET value = ?", (value.replace(b"CODES", codes),))
    db.close()


MALFORMED = [
    ("passages", b"not json"),
    ("passages", b"\xff\xfe"),
    ("passages", b"{}"),
    ("passages", b"[[0, 10, null, null]]"),  # an older layout
    ("passages", b'{"passages": [[0, 99999, null, null]], "fingerprints": "' + b"0" * 40 + b'"}'),  # outside
    ("passages", b'{"passages": [[5, 2, null, null]], "fingerprints": "' + b"0" * 40 + b'"}'),
    ("passages", b'{"passages": [[0, 3, "too long a view", null]], "fingerprints": "' + b"0" * 40 + b'"}'),
    ("passages", b'{"passages": [[true, 3, null, null]], "fingerprints": "' + b"0" * 40 + b'"}'),
    ("passages", b'{"passages": [[0, 3, null, null]], "fingerprints": "' + b"x" * 40 + b'"}'),
    ("passages", b'{"passages": [[0, 3, null, null]], "fingerprints": ""}'),
    ("passages", b"[" * 100_000 + b"]" * 100_000),  # deep nesting
    ("hits", b"[]"),
    ("hits", b'{"codes": "CODES", "hits": []}'),
    ("hits", b'{"codes": "CODES", "hits": {"0123456789abcdef": [[99, 1, "x"]]}}'),  # no such passage
    ("hits", b'{"codes": "CODES", "hits": {"0123456789abcdef": [[0, 0, "x"]]}}'),
    ("hits", b'{"codes": "CODES", "hits": {"0123456789abcdef": [[0, 1, "x"], [0, 1, "x"]]}}'),
    ("hits", b'{"codes": "CODES", "hits": {"../../etc": [[0, 1, "x"]]}}'),
    ("hits", b'{"codes": "0123456789abcdef", "hits": {}}'),  # a code set that is not there
    ("code_sets", b'["0123456789abcdef"]'),  # a code set that does not match its key
    ("code_sets", b'[1, 2]'),
]


@pytest.mark.parametrize(("table", "value"), MALFORMED)
def test_cache_malformed_rows_are_misses(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, table, value):
    from coder import load_codebook

    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    _damage_rows(tmp_path / "c" / "recode.sqlite", table, value)
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(again.segments, cold.segments)
    third = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    assert third.reused["documents_reused"] == 2 and third.reused["codes_matched"] == 0  # repaired


def _foreign_database(database: Path) -> None:
    for path in database.parent.iterdir():
        path.unlink()
    _plant(database, ["CREATE TABLE passages (key TEXT, value TEXT, extra INTEGER)"], [("passages", "k", "v", 1)])


def _wrong_schema_number(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute("UPDATE meta SET value = '999' WHERE name = 'schema'")
    db.close()


def _with_a_trigger(database: Path) -> None:
    with sqlite3.connect(database) as db:
        db.execute("CREATE TRIGGER t AFTER INSERT ON hits BEGIN DELETE FROM passages; END")
    db.close()


def _garbage(database: Path) -> None:
    for path in database.parent.iterdir():
        path.write_bytes(b"this is not a database" * 100)


def _truncated(database: Path) -> None:
    database.write_bytes(database.read_bytes()[:1000])


def _a_folder(database: Path) -> None:
    for path in database.parent.iterdir():
        path.unlink()
    database.mkdir()


@pytest.mark.parametrize(
    "damage", [_foreign_database, _wrong_schema_number, _with_a_trigger, _garbage, _truncated, _a_folder]
)
def test_cache_damaged_or_foreign_database_never_breaks_a_run(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path,
                                                              damage):
    from coder import load_codebook

    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    damage(tmp_path / "c" / "recode.sqlite")
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(again.segments, cold.segments)


@pytest.mark.parametrize("damage", [_garbage])
def test_cache_cli_damaged_database_never_breaks_a_run(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, damage):
    out = tmp_path / "out"
    _run(tiny_corpus, tiny_codebook, out)
    damage(out / ".cache" / "recode.sqlite")
    _run(tiny_corpus, tiny_codebook, out)
    _run(tiny_corpus, tiny_codebook, tmp_path / "fresh", "--no-cache")
    assert _segments(out) == _segments(tmp_path / "fresh")


@pytest.mark.parametrize("where", ["file", "folder"])
@pytest.mark.needs_symlinks
def test_cache_never_writes_through_a_planted_link(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, where):
    target = tmp_path / "elsewhere"
    target.mkdir()
    victim = _write(target / "recode.sqlite", "someone else's file")
    out = tmp_path / "out"
    (out / ".cache").parent.mkdir(parents=True)
    if where == "file":
        (out / ".cache").mkdir()
        (out / ".cache" / "recode.sqlite").symlink_to(victim)
    else:
        (out / ".cache").symlink_to(target, target_is_directory=True)
    _run(tiny_corpus, tiny_codebook, out)
    assert victim.read_text(encoding="utf-8") == "someone else's file"
    assert sorted(path.name for path in target.iterdir()) == ["recode.sqlite"]


def test_cache_locked_database_never_breaks_a_run(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, monkeypatch):
    from coder import load_codebook

    monkeypatch.setattr(cache_module, "_TIMEOUT", 0.1)
    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    other = sqlite3.connect(tmp_path / "c" / "recode.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    finally:
        other.execute("ROLLBACK")
        other.close()
    pd.testing.assert_frame_equal(again.segments, cold.segments)


def test_cache_read_only_folder_never_breaks_a_run(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, monkeypatch):
    from coder import load_codebook

    def refuse(*args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1)
    monkeypatch.setattr(cache_module.RecodeCache, "_create", staticmethod(refuse))
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    pd.testing.assert_frame_equal(again.segments, cold.segments)


@pytest.mark.parametrize("path", ["caf\udce9.txt", "\ud800.txt"])
def test_cache_undecodable_file_name_is_a_key_like_any_other(tmp_path: Path, path: str):
    document = Document(path=path, text="各市召开联席会议。\n\nA joint meeting here.\n")
    key = document_key(document, unit="paragraph")
    assert key != document_key(Document(path="cafe.txt", text=document.text), unit="paragraph")
    from coder.passages import split_passages

    cache = RecodeCache(tmp_path / "c")
    passages = split_passages(document)
    hits = {"0123456789abcdef": [(0, 1, "联席会议")]}
    fingerprints = [f"{index:040x}" for index in range(len(passages))]
    cache.store(key, document, cache_module.CacheEntry(passages=passages, hits=hits, codes=frozenset(hits),
                                                       fingerprints=fingerprints))
    cache.write(cache.take_pending())
    entry = RecodeCache(tmp_path / "c").load(key, document)
    assert entry is not None and (entry.passages, entry.hits, entry.fingerprints) == (passages, hits, fingerprints)


def test_cache_new_reader_finds_nothing_without_asking(tmp_path: Path, monkeypatch):
    # A coding process of a first run (no cache file when it started) reads nothing: the entries
    # written meanwhile are this run's own documents', each coded once.
    document = Document(path="a.txt", text="A joint meeting here.\n")
    key = document_key(document, unit="paragraph")
    from coder.passages import split_passages

    cache = RecodeCache(tmp_path / "c")
    passages = split_passages(document)
    cache.store(key, document, cache_module.CacheEntry(passages=passages, fingerprints=["0" * 40] * len(passages)))
    cache.write(cache.take_pending())
    assert RecodeCache(tmp_path / "c", writer=False).load(key, document) is not None
    new = RecodeCache(tmp_path / "c", writer=False, new=True)
    monkeypatch.setattr(new, "_db", lambda: pytest.fail("a new cache's reader asked the database"))
    assert new.load(key, document) is None


def test_cache_readers_never_create_or_repair(tmp_path: Path):
    reader = RecodeCache(tmp_path / "c", writer=False)
    assert reader.load("k", Document(path="a.txt", text="x")) is None
    assert not (tmp_path / "c").exists()


# -- the property: random codebook edits, cached recode == fresh run --------------------------

PROPERTY_CORPUS = {
    "en.txt": (
        "Mayors held a joint meeting; the joint meetings of 2019 co-ordinated regional cooperation.\n\n"
        "The meeting room was empty. Regional co-operation and local protection remain barriers.\n\n"
        "Cross-regional governance: cooperating cities, cooperative joint conferences.\n"
    ),
    "zh.txt": (
        "我们推进党建联盟工作。印度尼西亚与印度合作。联盟成立。\n\n"
        "各地探索跨域协同治理，协同治理成效明显，区域党建一体化。\n\n"
        "各市召开联席会议，破除行政壁垒；联席会议制度。长三角区域合作。\n"
    ),
    "mixed.md": "The 党建联盟 (party building alliance) held a joint meeting 联席会议 on 协同治理.\n",
    # Traditional characters read as simplified; derivations; `word-*`.
    "tw.txt": "各市召開聯席會議，區域合作與協同治理。\n\nFragmentation and fragmented self-interest; self-governance of cities.\n",
}
KEYWORDS = [
    "joint meeting", "joint meeting*", "joint* meeting", "meeting", "meeting room", "regional cooperation",
    "regional co-operation", "cooperat*", "co-ordinate", "ordinate*", "local protection", "barrier*",
    "party building alliance", "cross-regional governance", "region* cooperation",
    # One code's "co-ordinated" hides "ordinated" from another in the shared word automaton.
    "coordinated regional* cooperation", "ordinated* regional",
    "联盟", "党建联盟", "印度", "印度尼西亚", "协同治理", "跨域协同治理", "治理", "协同", "联席会议", "联席",
    "会议", "区域党建一体化", "党建", "区域合作", "合作", "壁垒", "行政壁垒", "联盟*", "协同*",
    "~cooperate", "~fragment", "self-*", "區域合作", "聯席*", "www",
]
RULES = [
    Rule("near", (("cooperat*",), ("cit*", "meeting")), within=3),
    Rule("all", (("联席会议",), ("壁垒", "合作"))),
    Rule("near", (("协同",), ("治理",)), within=2, unless=("印度",)),
    Rule("all", (("joint meeting",), ("region*",)), unless=("room",)),
    Rule("near", (("self-*",), ("~fragment",)), within=2),
]
REGEXES = [r"\d{4}", r"长三角", r"meeting\b"]
CODE_IDS = ["a", "b", "c", "d", "e"]

_terms = st.lists(st.sampled_from(KEYWORDS), max_size=4, unique=True).map(tuple)
_code = st.fixed_dictionaries({
    "keywords": _terms,
    "exclude": st.lists(st.sampled_from(KEYWORDS), max_size=1, unique=True).map(tuple),
    "regex": st.lists(st.sampled_from(REGEXES), max_size=1).map(tuple),
    "morphology": st.sampled_from(["inflectional", "inflectional", "derivational"]),
    "rules": st.lists(st.sampled_from(RULES), max_size=2, unique=True).map(tuple),
})
_codebook_spec = st.fixed_dictionaries({
    "codes": st.dictionaries(st.sampled_from(CODE_IDS), _code, min_size=1, max_size=4),
    "unit": st.sampled_from(["paragraph", "paragraph", "sentence"]),
})


@st.composite
def _edited(draw, spec: dict) -> dict:
    """`spec` after a few edits: add, remove or change keywords, exclusions, regexes, codes, unit."""
    codes = {code_id: dict(code) for code_id, code in spec["codes"].items()}
    unit = spec["unit"]
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["add", "remove", "change", "exclude", "regex", "new code", "drop code", "unit",
                                       "morphology", "rules"]))
        code_id = draw(st.sampled_from(sorted(codes)))
        code = codes[code_id]
        if action == "add":
            code["keywords"] = tuple(dict.fromkeys((*code["keywords"], draw(st.sampled_from(KEYWORDS)))))
        elif action == "remove" and code["keywords"]:
            code["keywords"] = tuple(word for word in code["keywords"] if word != draw(st.sampled_from(code["keywords"])))
        elif action == "change" and code["keywords"]:
            old, new = draw(st.sampled_from(code["keywords"])), draw(st.sampled_from(KEYWORDS))
            code["keywords"] = tuple(dict.fromkeys(new if word == old else word for word in code["keywords"]))
        elif action == "exclude":
            code["exclude"] = draw(st.lists(st.sampled_from(KEYWORDS), max_size=1).map(tuple))
        elif action == "regex":
            code["regex"] = draw(st.lists(st.sampled_from(REGEXES), max_size=1).map(tuple))
        elif action == "new code":
            codes[draw(st.sampled_from(CODE_IDS))] = draw(_code)
        elif action == "drop code" and len(codes) > 1:
            del codes[code_id]
        elif action == "unit":
            unit = draw(st.sampled_from(["paragraph", "sentence", "document"]))
        elif action == "morphology":
            code["morphology"] = draw(st.sampled_from(["inflectional", "derivational"]))
        elif action == "rules":
            code["rules"] = draw(st.lists(st.sampled_from(RULES), max_size=2, unique=True).map(tuple))
    return {"codes": codes, "unit": unit}


def _codebook(codes: dict, unit: str = "paragraph") -> Codebook:
    specs = {code_id: (spec if isinstance(spec, dict) else {"keywords": tuple(spec)}) for code_id, spec in codes.items()}
    return Codebook(codes=tuple(
        Code(id=code_id, label=code_id, path=(code_id,), keywords=tuple(spec.get("keywords", ())),
             exclude=tuple(spec.get("exclude", ())), regex=tuple(spec.get("regex", ())),
             morphology=spec.get("morphology", "inflectional"), rules=tuple(spec.get("rules", ())))
        for code_id, spec in sorted(specs.items())
    ), unit=unit)  # type: ignore[arg-type]


# Table rows (tabs, and the line breaks before and after a row, which the split's views hold as tabs)
# and web addresses beside them: probe PP1, where the recode rebuilt such views with spaces.
TABLE_CORPUS = {
    "table.txt": (
        "Mayors of the joint\nmeeting\tregional cooperation\nwww.\n war \t\n\n"
        "www.example.org\tjoint meeting; www.\tco-\noperation\n\n"
        "The joint meeting room\nsite | www.a.cn | barriers\nregional\ncooperation\n"
    ),
}


@pytest.fixture(scope="module")
def property_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("property") / "corpus"
    for name, text in {**PROPERTY_CORPUS, **TABLE_CORPUS}.items():
        _write(folder / name, text)
    return folder


@pytest.fixture(scope="module")
def quick_segmenters():
    """jieba loads its dictionary of 350,000 words for every new set of codebook terms (about 2 s);
    the property test makes hundreds, so each starts from a copy of one loaded dictionary instead."""
    import jieba

    from coder import matching

    if not hasattr(matching, "_segmenter"):  # matching changed: run at full cost
        yield
        return
    base = jieba.Tokenizer()
    base.initialize()

    @functools.lru_cache(maxsize=8)
    def segmenter(terms: tuple[str, ...]):
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base.FREQ), base.total, True
        for term in terms:
            tokenizer.add_word(term, freq=10**7)
        return tokenizer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matching, "_segmenter", segmenter)
        yield


_EXAMPLES = int(os.environ.get("CODER_FUZZ_EXAMPLES", "40"))


@settings(max_examples=_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), first=_codebook_spec)
def test_cache_property_recode_equals_fresh_after_random_edits(property_corpus: Path, quick_segmenters, tmp_path: Path,
                                                              data, first):
    cache_dir = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by every example
    spec = first
    code_corpus(property_corpus, _codebook(spec["codes"], spec["unit"]), workers=1, cache_dir=cache_dir)
    for _ in range(2):  # a chain of edits, each recoded from what the last run cached
        spec = data.draw(_edited(spec))
        codebook = _codebook(spec["codes"], spec["unit"])
        recode = code_corpus(property_corpus, codebook, workers=1, cache_dir=cache_dir)
        fresh = code_corpus(property_corpus, codebook, workers=1)
        pd.testing.assert_frame_equal(recode.segments, fresh.segments)
        assert recode.fingerprints.tolist() == fresh.fingerprints.tolist()


_RUN_EXAMPLES = int(os.environ.get("CODER_FUZZ_RUN_EXAMPLES", "12"))
_RUN_CODE_IDS = [*CODE_IDS, "f", "g", "h"]
_ENGLISH_KEYWORDS = [keyword for keyword in KEYWORDS if not contains_cjk(keyword)]
# Codebooks of more codes, none with a regex: an edit of a few of them is recoded by the plan (one
# matching most codes again, or a code with a regex, is left to the full run).
_run_codebook_spec = st.fixed_dictionaries({
    "codes": st.dictionaries(st.sampled_from(_RUN_CODE_IDS), _code.map(lambda code: {**code, "regex": ()}),
                             min_size=5, max_size=8),
    "unit": st.sampled_from(["paragraph", "paragraph", "sentence"]),
})


@st.composite
def _keyword_edited(draw, spec: dict) -> dict:
    """`spec` after one edit the plan recodes alone: an English keyword or exclusion of one code added or
    removed, or a code added or dropped."""
    codes = {code_id: dict(code) for code_id, code in spec["codes"].items()}
    code_id = draw(st.sampled_from(sorted(codes)))
    code = codes[code_id]
    action = draw(st.sampled_from(["add", "remove", "exclude", "new code", "drop code"]))
    if action == "add":
        code["keywords"] = tuple(dict.fromkeys((*code["keywords"], draw(st.sampled_from(_ENGLISH_KEYWORDS)))))
    elif action == "remove" and code["keywords"]:
        code["keywords"] = tuple(word for word in code["keywords"] if word != draw(st.sampled_from(code["keywords"])))
    elif action == "exclude":
        code["exclude"] = draw(st.lists(st.sampled_from(_ENGLISH_KEYWORDS), max_size=1).map(tuple))
    elif action == "new code":
        codes[draw(st.sampled_from(_RUN_CODE_IDS))] = {
            "keywords": draw(st.lists(st.sampled_from(_ENGLISH_KEYWORDS), min_size=1, max_size=2, unique=True).map(tuple))}
    elif action == "drop code" and len(codes) > 1:
        del codes[code_id]
    return {"codes": codes, "unit": spec["unit"]}


@settings(max_examples=_RUN_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), first=_run_codebook_spec)
def test_cache_property_run_recode_equals_fresh_after_random_edits(property_corpus: Path, quick_segmenters,
                                                                  tmp_path: Path, data, first):
    """As above, through `run_coding`: a recode into the last run's folder matches only the changed codes
    (and those tied to them) and keeps the other codes' rows, `recode_changed_codes`' plan."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    codebook, recoded, fresh = folder / "codebook.yaml", folder / "recoded", folder / "fresh"
    spec = first
    codebook.write_text(dump_codebook(_codebook(spec["codes"], spec["unit"])), encoding="utf-8")
    run_coding(property_corpus, codebook, recoded, workers=1, csv="never")
    for _ in range(3):
        spec = data.draw(_keyword_edited(spec))
        codebook.write_text(dump_codebook(_codebook(spec["codes"], spec["unit"])), encoding="utf-8")
        run_coding(property_corpus, codebook, recoded, workers=1, csv="never")
        run_coding(property_corpus, codebook, fresh, workers=1, csv="never", use_cache=False)
        without_status = [RunFolder(out).read_segments().drop(columns="status") for out in (recoded, fresh)]
        pd.testing.assert_frame_equal(*without_status)


def test_cache_fingerprints_tie_codes_that_share_a_dictionary():
    codebook = _codebook({"a": ["联盟"], "b": ["joint meeting"], "c": ["党建联盟"]})
    before = code_fingerprints(codebook)
    after = code_fingerprints(_codebook({"a": ["联盟"], "b": ["joint meeting"], "c": ["党建联盟", "印度"]}))
    assert before.by_code["a"] != after.by_code["a"]  # the dictionary changed
    assert before.by_code["b"] == after.by_code["b"]  # English matching does not use it
    # matched alone: a matcher of some codes is told every Chinese term of the codebook
    assert [code.id for code in before.codes_to_match(codebook, [codebook["c"]])] == ["c"]
    english = code_fingerprints(_codebook({"a": ["联盟"], "b": ["joint meeting"], "c": ["党建联盟", "alliance"]}))
    assert [code for code in before.by_code if before.by_code[code] != english.by_code[code]] == ["c"]


@pytest.mark.parametrize(("before", "after"), [
    ({"keywords": ("cooperate",)}, {"keywords": ("cooperate",), "morphology": "derivational"}),
    ({"keywords": ("cooperate",)}, {"keywords": ("~cooperate",)}),
    ({"rules": (RULES[0],)}, {"rules": (RULES[0], RULES[3])}),
    ({"rules": (RULES[0],)}, {"rules": (Rule("near", RULES[0].lists, within=4),)}),
    ({"rules": (RULES[3],)}, {"rules": (Rule("all", RULES[3].lists),)}),
])
def test_cache_fingerprints_cover_derivation_and_rules(before, after):
    assert code_fingerprints(_codebook({"a": before})).by_code["a"] != code_fingerprints(_codebook({"a": after})).by_code["a"]


@pytest.mark.parametrize("library", ["opencc-python-reimplemented"])
def test_cache_fingerprints_cover_script_folding(library):
    """Which traditional characters read as simplified comes from OpenCC's tables: its version is
    part of every fingerprint (the folding code itself is in the source digest)."""
    assert f"{library}=" in cache_module.environment()


def test_cache_fingerprints_tie_codes_whose_rules_use_chinese():
    codebook = _codebook({"a": ["联盟"], "b": {"rules": (RULES[1],)}, "c": ["joint meeting"]})
    assert [code.id for code in code_fingerprints(codebook).codes_to_match(codebook, [codebook["a"]])] == ["a"]
    edited = _codebook({"a": ["联盟", "党建"], "b": {"rules": (RULES[1],)}, "c": ["joint meeting"]})
    before, after = code_fingerprints(codebook).by_code, code_fingerprints(edited).by_code
    assert [code for code in before if before[code] != after[code]] == ["a", "b"]  # one dictionary


@pytest.mark.parametrize("sets", [[("a" * 16, "b" * 16), ("a" * 16, "b" * 16), ("c" * 16,), ("a" * 16, "b" * 16)]])
def test_cache_stored_entries_name_the_code_set_they_were_matched_with(tmp_path: Path, sets):
    # The key of the last set is kept between documents: a new set must still get its own key.
    from coder.cache import CacheEntry, code_set_key

    cache = RecodeCache(tmp_path / "cache", writer=False)
    document = Document("a.txt", "Joint meeting.")
    currents = [frozenset(fingerprints) for fingerprints in sets]
    for number, current in enumerate(currents):
        cache.store(f"key{number}", document, CacheEntry(passages=[], codes=current), current=current)
    assert [entry.code_set for entry in cache.take_pending()] == [code_set_key(current) for current in currents]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole-table", "partitioned"])
def test_a_finished_run_leaves_the_cache_as_one_file(tmp_path: Path, streamed: bool) -> None:
    """A `coder` process that has ended leaves no write-ahead log beside the recode cache: its entries are
    in recode.sqlite itself, so the output folder can be copied or zipped file by file. In a fresh
    process, as a user runs it (the exit path freezes objects, so only an explicit close folds the log)."""
    import shutil
    import subprocess
    import sys

    from conftest import REPO

    corpus, codebook, out = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "out"
    shutil.copytree(REPO / "seeds", corpus)
    shutil.copyfile(REPO / "codebook.yaml", codebook)
    force = ("from coder import runner, streamed\n"
             "runner.STREAMED_MIN_BYTES = -1\nstreamed.LOCAL_PARTITION_BYTES = 20_000\n") if streamed else ""
    script = (
        "import runpy, sys\n" + force +
        f"sys.argv = ['coder', 'run', {str(corpus)!r}, '--codebook', {str(codebook)!r}, '--out', {str(out)!r}]\n"
        "runpy.run_module('coder', run_name='__main__')\n"
    )
    for edit in (None, "          - 党建共同体\n"):
        if edit:  # a keyword added: the recode path
            text = codebook.read_text(encoding="utf-8")
            assert edit in text
            codebook.write_text(text.replace(edit, edit + "          - regional cooperation\n", 1), encoding="utf-8")
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0, result.stderr
        assert (out / ".cache" / "recode.sqlite").is_file()
        assert not (out / ".cache" / "recode.sqlite-wal").exists(), (edit, result.stderr)
        db = sqlite3.connect(out / ".cache" / "recode.sqlite")
        try:
            assert db.execute("SELECT count(*) FROM passages").fetchone()[0] > 0
        finally:
            db.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["ab", "Z", "é", "-", "\n", "\n\n", " ", "  ", "\t", "\u00a0", "\u3000", "中文", ".", "|",
                                "gover-\nnance", "党建\n联盟", "tri\nggered", "cross-\nregional"]), max_size=40).map("".join))
def test_cache_passages_encoded_with_plain_flags_are_the_same_bytes(text):
    # The flags only spare collapsing the views again: the stored row is the one made without them.
    from coder.models import passage_fingerprints
    from coder.passages import split_passages_noting_plain_text

    document = Document("d.txt", text)
    passages, plain = split_passages_noting_plain_text(document)
    fingerprints = passage_fingerprints("d.txt", [passage.text for passage in passages])
    assert cache_module._encode_passages(document, passages, fingerprints, plain) == cache_module._encode_passages(
        document, passages, fingerprints)


@pytest.mark.needs_symlinks
def test_cache_table_digest_reads_the_file_itself_never_through_a_link(tmp_path):
    """The digest that tells a copied run's tables is of the run's own file: a link planted in its
    place (it could point at a device or a pipe) is not followed."""
    import hashlib
    import os

    from coder.cache import file_digest

    table = tmp_path / "segments.parquet"
    table.write_bytes(b"PAR1 rows PAR1")
    assert file_digest(table) == hashlib.sha256(b"PAR1 rows PAR1").hexdigest()
    link = tmp_path / "passages.parquet"
    link.symlink_to(table)
    with pytest.raises(OSError):
        file_digest(link)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.parquet")
        with pytest.raises(OSError):
            file_digest(tmp_path / "pipe.parquet")


def test_cache_recode_of_a_document_split_in_parts_equals_a_fresh_run(tmp_path: Path, monkeypatch):
    """A document longer than the splitter takes at once is split in parts; its cache entry still
    gives a recode what a fresh run gives (passage offsets and numbers run on across the parts)."""
    from coder import passages

    monkeypatch.setattr(passages, "_SPLIT_AT_ONCE", 2000)
    corpus = tmp_path / "corpus"
    _write(corpus / "archive.txt", "\n\n".join(
        f"County {n} held a joint meeting.\nThe party-building alliance of the cross-\nregional "
        f"office grew. 党建联盟 met in 联席会议 {n}." for n in range(120)))
    code_corpus(corpus, _codebook({"a": ["joint meeting"], "c": ["cross-regional office"]}), workers=1, cache_dir=tmp_path / "c")
    codebook = _codebook({"a": ["joint meeting"], "b": ["党建联盟", "party-building alliance"], "c": ["cross-regional office"]})
    recode = code_corpus(corpus, codebook, workers=1, cache_dir=tmp_path / "c")
    assert recode.reused["documents_reused"] == 1
    fresh = code_corpus(corpus, codebook, workers=1)
    pd.testing.assert_frame_equal(recode.segments, fresh.segments)
    assert fresh.segments["code"].value_counts().to_dict() == {"a": 120, "b": 120, "c": 120}


def test_cache_a_hard_linked_cache_is_written_as_a_file_of_its_own(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    """A snapshot made with hard links (`cp -al`, a backup tool's link farm) shares the cache's file: the
    next run wrote it in place, and the snapshot's cache changed with it (probe S F6)."""
    from conftest import run_ok

    out = tmp_path / "out"
    run_ok(tiny_corpus, tiny_codebook, out)
    cache = out / ".cache" / "recode.sqlite"
    snapshot = tmp_path / "snapshot.sqlite"
    os.link(cache, snapshot)
    before = snapshot.read_bytes()
    tiny_codebook.write_text(tiny_codebook.read_text(encoding="utf-8") + "  mayors:\n    keywords: [mayors]\n",
                             encoding="utf-8")
    run_ok(tiny_corpus, tiny_codebook, out)
    assert snapshot.read_bytes() == before and cache.stat().st_ino != snapshot.stat().st_ino


@pytest.mark.parametrize("computed_elsewhere", [True, False])
def test_cache_stores_fingerprints_a_coding_process_computed_as_its_own(tmp_path: Path, computed_elsewhere: bool) -> None:
    """A new cache given the fingerprints a coding process computed stores what it would have computed:
    a later run reads them back and finds every code current."""
    codebook = Codebook(codes=(Code(id="meeting", label="meeting", path=("meeting",), keywords=("joint meeting",)),
                               Code(id="trade", label="trade", path=("trade",), keywords=("trad*",))))
    expected = code_fingerprints(codebook)
    given = code_fingerprints(codebook) if computed_elsewhere else None
    assert RecodeCache(tmp_path).fingerprints(codebook, computed=given).by_code == expected.by_code
    again = RecodeCache(tmp_path).fingerprints(codebook)
    assert (again.by_code, again.ties, again.word_automaton) == (expected.by_code, expected.ties, expected.word_automaton)
