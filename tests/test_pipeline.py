"""The coding pipeline: parallel runs equal serial runs; the recode cache is reused and invalidated correctly."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coder
import coder.cache
from coder import load_codebook, parse_codebook, pipeline
from coder.pipeline import code_corpus


def _frame(result) -> pd.DataFrame:
    return result.segments.sort_values(["document", "passage", "code"]).reset_index(drop=True)


@pytest.mark.parametrize("workers", [2])
def test_pipeline_parallel_equals_serial(tiny_corpus: Path, tiny_codebook: Path, monkeypatch, workers):
    for index in range(12):
        (tiny_corpus / f"extra_{index}.txt").write_text(
            f"Document {index}: a joint meeting on barriers.\n\nLocal protection, again {index}.\n", encoding="utf-8"
        )
    codebook = load_codebook(tiny_codebook)
    serial = code_corpus(tiny_corpus, codebook, workers=1)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    parallel = code_corpus(tiny_corpus, codebook, workers=workers)
    pd.testing.assert_frame_equal(_frame(parallel), _frame(serial))
    assert parallel.passages == serial.passages
    assert len(serial.segments) == 4 + 12 * 3


def test_pipeline_cache_reuses_everything_on_an_unchanged_rerun(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    warm = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert cold.reused == {"documents_reused": 0, "documents_new": 2, "codes_reused": 0, "codes_matched": 6}
    assert warm.reused == {"documents_reused": 2, "documents_new": 0, "codes_reused": 6, "codes_matched": 0}
    pd.testing.assert_frame_equal(warm.segments, cold.segments)


def test_pipeline_cache_is_invalidated_by_a_changed_document(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    codebook = load_codebook(tiny_codebook)
    code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    (tiny_corpus / "a.txt").write_text("Nothing about meetings here.\n", encoding="utf-8")
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert again.reused["documents_reused"] == 1 and again.reused["documents_new"] == 1
    fresh = code_corpus(tiny_corpus, codebook, workers=1)
    pd.testing.assert_frame_equal(again.segments, fresh.segments)
    assert "a.txt" not in set(again.segments["document"])


def test_pipeline_cache_rematches_only_an_edited_code(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=1, cache_dir=tmp_path / "cache")
    edited = tiny_codebook.read_text(encoding="utf-8").replace("keywords: [local protection]", "keywords: [local protection, remain]")
    edited = edited.replace("label: Barriers", "label: Obstacles")  # a label does not decide matches
    codebook = parse_codebook(edited)
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert again.reused == {"documents_reused": 2, "documents_new": 0, "codes_reused": 4, "codes_matched": 2}
    fresh = code_corpus(tiny_corpus, codebook, workers=1)
    pd.testing.assert_frame_equal(again.segments, fresh.segments)
    assert again.segments.loc[again.segments["code"] == "local_protection", "matched"].tolist() == ["remain; local protection"]
    assert set(again.segments.loc[again.segments["code"] == "barriers", "label"]) == {"Obstacles"}


@pytest.mark.parametrize("edit", [("keywords: [local protection]", "keywords: [local protection, remain]")])
def test_pipeline_cold_cached_run_matches_its_own_codebook(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, edit):
    # Two codebooks coded in one process, each into a new cache: every document takes every code of the
    # codebook it is coded with, never the matcher compiled for the other one.
    original = load_codebook(tiny_codebook)
    edited = parse_codebook(tiny_codebook.read_text(encoding="utf-8").replace(*edit))
    for index, codebook in enumerate([original, edited, original]):
        cached = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / f"cache_{index}")
        assert cached.reused["codes_matched"] == len(codebook) * 2
        pd.testing.assert_frame_equal(cached.segments, code_corpus(tiny_corpus, codebook, workers=1).segments)
    assert "remain" in set(code_corpus(tiny_corpus, edited, workers=1).segments["matched"].str.split("; ").explode())


def test_pipeline_cache_is_invalidated_by_a_new_tool_version(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, monkeypatch):
    codebook = load_codebook(tiny_codebook)
    code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(coder.cache, "__version__", "99.0.0")
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert again.reused == {"documents_reused": 0, "documents_new": 2, "codes_reused": 0, "codes_matched": 6}


def test_pipeline_cache_survives_corrupt_entries(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    import sqlite3

    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / "recode.sqlite") as db:
        db.execute("UPDATE passages SET value = x'00ff'")
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert again.reused["documents_new"] == 2
    pd.testing.assert_frame_equal(again.segments, cold.segments)


def test_pipeline_cache_survives_a_damaged_database(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    codebook = load_codebook(tiny_codebook)
    cold = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    for path in (tmp_path / "cache").iterdir():
        path.write_bytes(b"this is not a database" * 100)
    again = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    pd.testing.assert_frame_equal(again.segments, cold.segments)
    third = code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    assert third.reused["documents_reused"] == 2


def test_pipeline_cache_forgets_documents_that_left_the_corpus(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path):
    import sqlite3

    codebook = load_codebook(tiny_codebook)
    code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    (tiny_corpus / "a.txt").unlink()
    code_corpus(tiny_corpus, codebook, workers=1, cache_dir=tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / "recode.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM passages").fetchone() == (1,)


def test_pipeline_public_api_in_a_few_lines(tiny_corpus: Path, tiny_codebook: Path):
    from coder.corpus import read_corpus
    from coder.matching import code_passages, compile_codebook
    from coder.passages import split_passages

    codebook = load_codebook(tiny_codebook)
    matcher = compile_codebook(codebook)
    corpus = read_corpus(tiny_corpus)
    segments = [s for document in corpus.documents for s in code_passages(split_passages(document), matcher)]
    assert [(s.document, s.code) for s in segments] == [
        ("a.txt", "joint_meeting"), ("a.txt", "barriers"), ("a.txt", "local_protection"), ("sub/b.md", "joint_meeting"),
    ]


def test_pipeline_frame_equals_the_segment_records_of_code_passages(tiny_corpus: Path, tiny_codebook: Path):
    from coder.corpus import read_corpus
    from coder.matching import code_passages, compile_codebook
    from coder.passages import split_passages
    from coder.segments import segments_to_frame

    codebook = load_codebook(tiny_codebook)
    matcher = compile_codebook(codebook)
    segments = [s for d in read_corpus(tiny_corpus).documents for s in code_passages(split_passages(d), matcher)]
    frame = code_corpus(tiny_corpus, codebook, workers=1).segments
    # The text column is a categorical over the passage texts (each held once); its values are the same.
    pd.testing.assert_frame_equal(frame.astype({"text": str}), segments_to_frame(segments))


@pytest.mark.parametrize("cached", [False, True])
def test_pipeline_fingerprints_line_up_with_segment_rows(tiny_corpus: Path, tiny_codebook: Path, tmp_path: Path, cached):
    from coder.models import passage_fingerprint

    result = code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=1,
                         cache_dir=tmp_path / "cache" if cached else None)
    assert result.fingerprints.tolist() == [
        passage_fingerprint(document, text) for document, text in zip(result.segments["document"], result.segments["text"])
    ]


@pytest.mark.parametrize("text", [
    "The joint meeting agreed.", "  The\tjoint \n meeting\u00a0agreed. ", "THE JOINT\u2028MEETING\x1cAGREED.",
])
def test_pipeline_passage_fingerprint_ignores_whitespace_and_case(text):
    from coder.models import passage_fingerprint

    # sha1 of "a.txt\x1fthe joint meeting agreed.": the ids of earlier runs stay valid
    assert passage_fingerprint("a.txt", text) == "07df2f65c12ea47f0c808a7063f36f71b71c7594"


@pytest.mark.parametrize("module", ["coder.pipeline"])
def test_pipeline_coding_workers_load_neither_pandas_nor_pyarrow(module):
    # Each coding worker imports the pipeline; pandas with pyarrow would add ~130 MB to every worker.
    import subprocess
    import sys

    code = f"import sys, {module}; print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "[]"


@pytest.mark.parametrize("workers", [1])
def test_pipeline_segment_text_is_the_passage_text_held_once(tiny_corpus, tiny_codebook, workers):
    import pandas as pd

    from coder.codebook import load_codebook
    from coder.pipeline import code_corpus

    result = code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=workers)
    texts = result.passage_table.set_index(["document", "passage"])["text"]
    expected = [texts[(document, passage)] for document, passage in zip(result.segments["document"], result.segments["passage"])]
    assert isinstance(result.segments["text"].dtype, pd.CategoricalDtype)
    assert result.segments["text"].tolist() == expected
    # Every passage's text differs here: the categories are the passage table's own text (no copy).
    assert result.passage_table["text"].is_unique
    categories = result.segments["text"].cat.categories.array._pa_array
    assert categories.equals(result.passage_table["text"].array._pa_array)
    assert all(mine.buffers()[2].address == theirs.buffers()[2].address
               for mine, theirs in zip(categories.chunks, result.passage_table["text"].array._pa_array.chunks))


def _mixed_corpus(folder: Path) -> None:
    """Text files the workers read (one in GB18030, one empty, one binary, one not a document),
    and an HTML file this process extracts."""
    for index in range(8):
        (folder / f"doc_{index}.txt").write_text(
            f"Document {index}: a joint meeting on barriers.\n\nLocal protection, again {index}.\n", encoding="utf-8")
    (folder / "chinese.txt").write_bytes("区域合作的联席会议。\n\n地方保护。\n".encode("gb18030"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02joint meeting")
    (folder / "notes.xyz").write_text("joint meeting", encoding="utf-8")
    (folder / "page.html").write_text("<html><body><p>A joint meeting, in HTML.</p></body></html>", encoding="utf-8")


@pytest.mark.parametrize("workers", [2])
def test_pipeline_workers_read_the_text_files_as_read_corpus_does(tiny_corpus: Path, tiny_codebook: Path, monkeypatch,
                                                                 workers):
    from coder.corpus import StoredDocument, read_corpus

    _mixed_corpus(tiny_corpus)
    codebook = load_codebook(tiny_codebook)
    serial = code_corpus(tiny_corpus, codebook, workers=1)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    parallel = code_corpus(tiny_corpus, codebook, workers=workers)
    pd.testing.assert_frame_equal(parallel.segments, serial.segments)
    pd.testing.assert_frame_equal(parallel.passage_table, serial.passage_table)
    assert parallel.passages == serial.passages
    read = read_corpus(tiny_corpus)
    assert parallel.corpus.skipped == read.skipped == serial.corpus.skipped
    assert [(document.path, document.encoding, document.format, document.sha256, document.text)
            for document in parallel.corpus.documents] == [
        (document.path, document.encoding, document.format, document.sha256, document.text) for document in read.documents]
    # The main process keeps no text file's text: it is read again when asked (reviews' passage finder).
    stored = [document for document in parallel.corpus.documents if isinstance(document, StoredDocument)]
    assert [document.path for document in stored] == [
        document.path for document in read.documents if not document.is_extracted]
    assert "text" not in vars(stored[0])


@pytest.mark.parametrize("workers", [2])
def test_pipeline_a_text_changed_after_coding_is_refused_not_misread(tiny_corpus: Path, tiny_codebook: Path, monkeypatch,
                                                                    workers):
    from coder.errors import CorpusError

    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    _mixed_corpus(tiny_corpus)
    result = code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=workers)
    document = next(document for document in result.corpus.documents if document.path == "doc_3.txt")
    (tiny_corpus / "doc_3.txt").write_text("Another text altogether.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"^doc_3.txt: the file changed while coder was running"):
        document.text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Zé-\n\t\u00a0\u3000中文.|\x1cİß")), max_size=300))
def test_pipeline_passage_fingerprints_are_passage_fingerprint_of_split_passages(text):
    # The workers hash split_passages' texts without normalising them again: they are normalised already.
    from coder.models import Document, passage_fingerprint, passage_fingerprints
    from coder.passages import split_passages

    passages = split_passages(Document("d.txt", text))
    assert passage_fingerprints("d.txt", [passage.text for passage in passages]) == [
        passage_fingerprint("d.txt", passage.text) for passage in passages]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=45), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)),
                max_size=20))
def test_pipeline_segment_ids_in_bulk_are_segment_id_from_fingerprint(pairs):
    # The workers make a segment's id without a call per segment: the ids a run always wrote ("s" and
    # the first 16 hex digits of the SHA-1 of fingerprint, unit separator, code), one by one or in bulk.
    import hashlib

    from coder.models import segment_id_from_fingerprint, segment_ids_from_fingerprints

    fingerprints, codes = [fingerprint for fingerprint, _ in pairs], [code for _, code in pairs]
    expected = ["s" + hashlib.sha1(f"{fingerprint}\x1f{code}".encode()).hexdigest()[:16] for fingerprint, code in pairs]
    assert segment_ids_from_fingerprints(fingerprints, codes) == expected
    assert [segment_id_from_fingerprint(fingerprint, code) for fingerprint, code in pairs] == expected


@pytest.mark.parametrize("workers", [1])
def test_pipeline_packed_segment_columns_give_the_same_frame(tiny_corpus: Path, tiny_codebook: Path, workers):
    # A worker sends segment ids and fingerprints as one buffer each; the frame must be the one
    # built from the strings.
    from coder.corpus import read_corpus

    codebook = load_codebook(tiny_codebook)
    documents = list(read_corpus(tiny_corpus).documents)
    packed = pipeline._code_rows(documents, codebook)[0]
    unpacked = pipeline.SegmentColumns()
    for name, value in vars(packed).items():
        setattr(unpacked, name, value)
    unpacked.segment_id = [packed.segment_id_data[start:start + 17].decode() for start in range(0, 17 * len(packed), 17)]
    unpacked.fingerprint = [packed.fingerprint_data[start:start + 40].decode() for start in range(0, 40 * len(packed), 40)]
    unpacked.segment_id_data = unpacked.fingerprint_data = None
    assert len(packed) == 4 and packed.segment_id == packed.fingerprint == []
    pd.testing.assert_frame_equal(pipeline._segment_frame(packed, codebook), pipeline._segment_frame(unpacked, codebook))



def test_pipeline_coding_processes_started_early_code_the_run(tiny_corpus: Path, tiny_codebook: Path, monkeypatch):
    for index in range(12):
        (tiny_corpus / f"extra_{index}.txt").write_text(f"Document {index}: a joint meeting on barriers.\n",
                                                        encoding="utf-8")
    serial = code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=1)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    monkeypatch.setattr(pipeline, "_BATCH_CHARS", 100)
    spawned = []
    spawn = pipeline._spawn_pool
    monkeypatch.setattr(pipeline, "_spawn_pool", lambda *arguments: spawned.append(spawn(*arguments)) or spawned[-1])
    # Started from its own load of the codebook, as the CLI does before the run loads it again.
    assert pipeline.start_coding_processes(tiny_corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    early = code_corpus(tiny_corpus, load_codebook(tiny_codebook), workers=2)
    assert len(spawned) == 1 and not pipeline._early_pool  # the run took them, started none of its own
    pd.testing.assert_frame_equal(_frame(early), _frame(serial))


@pytest.mark.skipif(os.name != "posix", reason="symbolic links as POSIX makes them")
@pytest.mark.parametrize(("past", "counted"), [(None, 30), (0, 10), (10, 20), (15, 20), (29, 30), (30, 30), (1000, 30)])
def test_pipeline_corpus_bytes_counted_until_past_the_size_asked(tmp_path: Path, past, counted):
    # Whether a corpus is large enough stats its files (in corpus order) only until it is: the answer is
    # the same as counting all of them.
    for name in ("a.txt", "b.md", "c.txt"):
        (tmp_path / name).write_bytes(b"x" * 10)
    (tmp_path / "d.pdf").write_bytes(b"x" * 100)  # only text files count
    (tmp_path / "b.txt").symlink_to("nowhere.txt")  # a link to nothing counts nothing (reading it says why)
    (tmp_path / ".hidden.txt").write_bytes(b"x" * 100)
    assert pipeline._corpus_bytes(tmp_path, past=past) == counted
    total = pipeline._corpus_bytes(tmp_path)
    for limit in (0, 10, 20, 29, 30, 31):
        assert (pipeline._corpus_bytes(tmp_path, past=limit) > limit) is (total > limit)


def test_pipeline_coding_processes_started_early_but_not_taken_are_stopped(tiny_corpus: Path, tiny_codebook: Path,
                                                                            tmp_path: Path, monkeypatch):
    assert not pipeline.start_coding_processes(tiny_corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    assert not pipeline.start_coding_processes(tiny_corpus, load_codebook(tiny_codebook), workers=1, cache_dir=None)
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    assert pipeline.start_coding_processes(tiny_corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    early = pipeline._early_pool[0][1]
    # Another cache folder: a pool of its own, the early one stopped.
    pool = pipeline._start_pool(2, load_codebook(tiny_codebook), tmp_path / ".cache")
    assert pool is not early and not pipeline._early_pool
    pool.shutdown()
    assert early._shutdown_thread
    assert pipeline.start_coding_processes(tiny_corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    early = pipeline._early_pool[0][1]
    pipeline.stop_coding_processes()
    assert not pipeline._early_pool and early._shutdown_thread


def test_pipeline_no_coding_processes_for_a_corpus_of_one_file(tiny_codebook: Path, tmp_path: Path, monkeypatch):
    """A single document is coded in this process: two processes started beside it sat idle (140 MB of
    a 48 MB file's run)."""
    monkeypatch.setattr(pipeline, "_PARALLEL_MIN_CHARS", 0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "archive.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    assert not pipeline.start_coding_processes(corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    assert not pipeline.start_coding_processes(corpus / "archive.txt", load_codebook(tiny_codebook), workers=2, cache_dir=None)
    (corpus / "second.txt").write_text("Another joint meeting.\n", encoding="utf-8")
    assert pipeline.start_coding_processes(corpus, load_codebook(tiny_codebook), workers=2, cache_dir=None)
    pipeline.stop_coding_processes()


def test_pipeline_workers_compile_at_start_only_for_a_folder_without_cache(tiny_codebook: Path, tmp_path: Path,
                                                                           monkeypatch):
    # A first run into a folder (no cache file): every document needs every code, so each process
    # compiles the codebook (and reads the Chinese dictionary) as it starts, before its first batch,
    # and never asks the cache for an entry (it will hold only this run's own documents).
    arguments = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", lambda **options: arguments.append(options["initargs"])
                        or type("Pool", (), {"submit": lambda self, *task: None})())
    codebook = load_codebook(tiny_codebook)
    cache_dir = tmp_path / ".cache"
    pipeline._spawn_pool(2, codebook, cache_dir)
    cache_dir.mkdir()
    (cache_dir / coder.cache.RecodeCache.FILE).write_bytes(b"")
    pipeline._spawn_pool(2, codebook, cache_dir)  # a later run: the cache may hold every code
    pipeline._spawn_pool(2, codebook, None)
    assert [new_cache for _, _, new_cache in arguments] == [True, False, False]
    monkeypatch.setattr(pipeline, "_worker_state", {})
    for new_cache, folder, compiled, reads in [(True, cache_dir, True, False), (False, cache_dir, False, True),
                                               (False, None, True, None)]:
        pipeline._start_worker(codebook, folder, new_cache)
        assert isinstance(pipeline._worker_state["compiled"], coder.CompiledCodebook) is compiled
        cache = pipeline._worker_state["cache"]
        assert (cache is None and reads is None) or cache.new is not reads


@pytest.mark.parametrize("new_cache", [True, False])
def test_pipeline_workers_of_a_new_cache_hold_the_fingerprints_the_cache_stores(tiny_codebook: Path, tmp_path: Path,
                                                                                monkeypatch, new_cache):
    # A worker of a new cache computes the fingerprints as it starts (the main process stores them while
    # the first batches are coded): they must be those the cache stores, which the next run reads.
    monkeypatch.setattr(pipeline, "_worker_state", {})
    monkeypatch.setattr(pipeline, "_fingerprint_cache", {})
    codebook = load_codebook(tiny_codebook)
    pipeline._start_worker(codebook, tmp_path / "worker", new_cache)
    held = pipeline._fingerprint_cache.get(id(codebook))
    assert (held is not None) is new_cache
    if new_cache:
        stored = coder.cache.RecodeCache(tmp_path / "main").fingerprints(codebook)
        assert held[0] is codebook
        assert (held[1].by_code, held[1].ties, held[1].word_automaton) == (
            stored.by_code, stored.ties, stored.word_automaton)


@pytest.mark.parametrize("new_cache, asked", [(True, True), (False, False)])
def test_pipeline_code_batches_gives_meanwhile_the_fingerprints_a_coding_process_computed(
        tiny_codebook: Path, monkeypatch, new_cache, asked):
    """A new cache: the coding processes computed the code fingerprints as they started; one sends its copy
    (asked before the batches), and `meanwhile` gets it; else meanwhile gets None (read or computed here)."""
    from coder.cache import code_fingerprints
    from coder.models import Document

    codebook = load_codebook(tiny_codebook)
    events, given = [], []

    class Pool:
        def submit(self, function, *arguments):
            events.append(function.__name__)
            future = concurrent.futures.Future()
            if function is pipeline._worker_fingerprints:
                future.set_result(code_fingerprints(codebook))
            else:
                future.set_result(pipeline._code_items(*arguments, codebook, compiled=None, cache=None))
            return future

        def shutdown(self, **options):
            pass

    monkeypatch.setattr(pipeline, "_start_pool", lambda *arguments, **options: Pool())
    batches = [[Document(f"{number}.txt", "A joint meeting.")] for number in range(3)]
    list(pipeline.code_batches(batches, codebook, workers=2, cache=None, cache_dir=None, encoding=None,
                               new_cache=new_cache, meanwhile=given.append))
    assert events == ["_worker_fingerprints"] * asked + ["_code_batch"] * 3
    assert [None if found is None else found.by_code for found in given] == \
        [code_fingerprints(codebook).by_code if asked else None]


@pytest.mark.parametrize("workers", [1, 2])
def test_pipeline_code_batches_calls_meanwhile_once_the_first_batches_are_sent(tiny_codebook: Path, monkeypatch,
                                                                               workers):
    from coder.models import Document

    codebook = load_codebook(tiny_codebook)
    events = []

    class Pool:
        def submit(self, function, batch, encoding):
            events.append(("sent", batch[0].path))
            future = concurrent.futures.Future()
            future.set_result(pipeline._code_items(batch, encoding, codebook, compiled=None, cache=None))
            return future

        def shutdown(self, **options):
            events.append(("stopped",))

    monkeypatch.setattr(pipeline, "_start_pool", lambda *arguments, **options: Pool())
    batches = [[Document(f"{number}.txt", "A joint meeting.")] for number in range(6)]
    for coded in pipeline.code_batches(batches, codebook, workers=workers, cache=None, cache_dir=None, encoding=None,
                                       ahead=2, meanwhile=lambda computed: events.append(("meanwhile",))):
        events.append(("taken", len(coded[0])))
    if workers == 1:  # in this process: before the first batch
        assert events == [("meanwhile",), *[("taken", 1)] * 6]
    else:
        assert events[:5] == [("sent", "0.txt"), ("sent", "1.txt"), ("sent", "2.txt"), ("sent", "3.txt"), ("meanwhile",)]
        assert events.count(("meanwhile",)) == 1 and events[-1] == ("stopped",) and events.count(("taken", 1)) == 6


def test_pipeline_code_batches_keeps_no_batch_it_handed_on(tiny_codebook: Path, monkeypatch):
    """A batch a coding process sent back is the caller's alone once handed on: code_batches kept it in a
    local while the caller finished it and while the next batch was waited for (a 5 MB document's rows
    and passages, ~12 MB, held beside the next ones in the main process)."""
    from coder.models import Document

    codebook = load_codebook(tiny_codebook)

    class Pool:
        def submit(self, function, batch, encoding):
            future = concurrent.futures.Future()
            future.set_result(pipeline._code_items(batch, encoding, codebook, compiled=None, cache=None))
            return future

        def shutdown(self, **options):
            pass

    monkeypatch.setattr(pipeline, "_start_pool", lambda *arguments, **options: Pool())
    batches = [[Document(f"{number}.txt", "A joint meeting.")] for number in range(3)]
    coding = pipeline.code_batches(batches, codebook, workers=2, cache=None, cache_dir=None, encoding=None)
    coded = next(coding)
    rows = weakref.ref(coded[0])
    del coded
    assert rows() is None
    assert len(list(coding)) == 2


def test_pipeline_worker_whose_start_up_compile_fails_reports_it_on_its_first_batch(tiny_corpus: Path,
                                                                                   tiny_codebook: Path, monkeypatch):
    # An exception in a pool's initializer only stops the process (BrokenProcessPool, no reason):
    # the worker starts without a matcher, and the batch that compiles one raises the real error.
    def broken(codebook):
        raise RuntimeError("cannot compile")

    monkeypatch.setattr(pipeline, "_worker_state", {})
    monkeypatch.setattr(pipeline, "compile_codebook", broken)
    codebook = load_codebook(tiny_codebook)
    pipeline._start_worker(codebook, None, True)
    assert pipeline._worker_state["compiled"] is None
    from coder.corpus import corpus_entries

    with pytest.raises(RuntimeError, match="cannot compile"):
        pipeline._code_batch(list(corpus_entries(tiny_corpus)), None)


@pytest.mark.parametrize("modules", [["coder.cli", "coder.runner", "coder.pipeline", "coder.recode", "coder.streamed"]])
def test_pipeline_import_loads_no_multiprocessing_until_a_pool_starts(modules):
    # A recode starts no coding processes: multiprocessing and the process pool (3-5 ms) wait for the first pool.
    script = (
        f"import sys\nimport {', '.join(modules)}\n"
        "print(sorted(name for name in ('multiprocessing', 'concurrent.futures.process') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


@pytest.mark.parametrize("loader_error", [TypeError("LoadLibrary() argument 1 must be str, not None"),
                                          OSError("no such library"), AttributeError("malloc_trim")])
def test_pipeline_trim_heap_and_the_heap_settings_do_nothing_where_the_c_library_is_not_glibc(monkeypatch, loader_error):
    """Windows' loader refuses CDLL(None) with a TypeError, macOS's libc has no malloc_trim or mallopt:
    the run goes on without them, and the settings still reach the environment of spawned processes."""
    import ctypes

    import coder.cli
    from coder.pipeline import trim_heap

    def refuse(*args, **kwargs):
        raise loader_error

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    for name in coder.cli._MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    trim_heap()
    coder.cli._bound_the_heap()
    assert all(name in os.environ for name in coder.cli._MALLOC_SETTINGS)


def test_pipeline_asks_windows_for_no_more_workers_than_it_allows(monkeypatch):
    """CPython refuses a Windows process pool of more than 61 workers: on a 64-thread workstation the
    default run (a worker per core) stopped with "max_workers must be <= 61" (probe R3)."""
    asked = {}

    class Pool:
        def __init__(self, max_workers, **_):
            asked["workers"], asked["started"] = max_workers, 0

        def submit(self, *_):
            asked["started"] += 1

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(pipeline, "MOST_WORKERS", 61)  # what win32 sets
    pipeline._spawn_pool(64, parse_codebook("codes:\n  a: [x]\n"), None, new_cache=True)
    assert asked == {"workers": 61, "started": 61}


@pytest.mark.parametrize("call", ['code_corpus("corpus", load_codebook("codebook.yaml"), workers=2)',
                                  'run_coding("corpus", "codebook.yaml", "out", workers=2)'],
                         ids=["code_corpus", "run_coding"])
def test_pipeline_script_without_the_main_guard_stops_with_the_guard_named(tmp_path: Path, call):
    """spawn runs a script's top level again in each worker: a script that codes a corpus big enough for
    workers, without `if __name__ == "__main__":`, stops with a message naming the guard (probe R8), not
    the bootstrapping RuntimeError, a folder lock held by itself, or a pool traceback from each worker."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraph = "The mayors held a joint meeting on river governance and cross-border barriers.\n\n"
    for number in range(3):  # 2.2 MB in all: over _PARALLEL_MIN_CHARS, so workers start
        (corpus / f"d{number}.txt").write_text(paragraph * 9000, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    script = tmp_path / "analysis.py"
    script.write_text(f"from coder import load_codebook, run_coding\nfrom coder.pipeline import code_corpus\n\n{call}\n",
                      encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            env=environment, timeout=120)
    assert result.returncode == 1
    name = call.split("(")[0]
    worker = (f"coder.errors.CoderError: {name}() ran again in a worker process while it imported your script. To fix "
              'it, put the code that codes the corpus under `if __name__ == "__main__":` in your script')
    assert worker in result.stderr
    assert result.stderr.splitlines()[-1].startswith("coder.errors.CoderError: a coding process stopped before it finished")
    assert 'From a Python script, put the code that codes the corpus under `if __name__ == "__main__":`' in result.stderr
    assert result.stderr.count("Traceback") == 1  # the script's own; each worker shows the message alone
    assert not (tmp_path / "out" / "segments.parquet").exists()


@pytest.mark.parametrize("at_once", [1, 120, 700])
@pytest.mark.parametrize("cached", [False, True])
def test_pipeline_a_long_document_matched_in_slices_gives_the_segments_of_one_call(tmp_path: Path, monkeypatch,
                                                                                     at_once, cached):
    """A long document is matched a slice of passages at a time (matching._MATCHED_AT_ONCE characters, so
    that a worker holding a 5 MB file stays near one holding small ones): the same segments, passages and
    offsets as one call, the keywords at the end of a slice's last passage and the start of the next one's
    included, and rules whose words fall in two passages on either side of a cut coding neither."""
    import coder.matching

    codebook = parse_codebook(
        "codes:\n  jm: [joint meeting*, 联席会议]\n  pb:\n    keywords: [party building]\n"
        "    exclude: [party building site]\n  rule:\n    rules:\n      - near: [[cooperation], [mayors]]\n"
        "        within: 3\n      - all: [[regional], [protection]]\n")
    paragraphs = []
    for number in range(60):
        paragraphs += [f"Joint meeting {number} opened. Words of filler to lengthen the passage, then the mayors.",
                       f"Cooperation came next, paragraph {number}, ending on a joint meeting",
                       f"Party building {number} and the party building site; regional\nprotection, and regional.",
                       f"长三角联席会议第{number}次。Protection alone, then party-\nbuilding."]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    cache = (lambda name: tmp_path / name) if cached else (lambda name: None)
    whole = code_corpus(corpus, codebook, workers=1, cache_dir=cache("whole"))
    monkeypatch.setattr(coder.matching, "_MATCHED_AT_ONCE", at_once)
    sliced = code_corpus(corpus, codebook, workers=1, cache_dir=cache("sliced"))
    pd.testing.assert_frame_equal(sliced.segments, whole.segments)
    pd.testing.assert_frame_equal(sliced.passage_table, whole.passage_table)
    text = (corpus / "long.txt").read_text(encoding="utf-8")
    assert all(text[start:end].startswith(("Joint", "Cooperation", "Party", "长三角"))
               for start, end in zip(whole.segments["start"], whole.segments["end"]))
    counts = whole.segments.groupby("code")["passage"].count().to_dict()
    assert counts == {"jm": 180, "pb": 120, "rule": 60}


def _long_document() -> coder.Document:
    """The seeds (English and Chinese, a double-spaced paste, references) joined five times with a
    table and a repeated question: longer than a few parts of 3,000 characters, passages repeated
    across the parts, the references running on over a cut."""
    seeds = [path.read_text(encoding="utf-8") for path in sorted((Path(__file__).parents[1] / "seeds").glob("*.txt"))]
    table = "| city | joint meeting |\n|---|---|\n| Nanning\t| party building |\n"
    question = "Interviewer: How often does the joint meeting meet?\n"
    text = "\n\n".join(f"{question}\n{table}\n{seed}" for _ in range(5) for seed in seeds)
    return coder.Document("long.txt", text)


@pytest.mark.parametrize("cached", [False, True])
@pytest.mark.parametrize("unit", ["paragraph", "sentence"])
def test_pipeline_a_long_document_coded_a_part_at_a_time_gives_the_same_rows(tmp_path: Path, monkeypatch, cached, unit):
    """A document split in parts is coded a part at a time (pipeline._code_in_parts): its segment
    rows, passage rows, counts and recode cache entry are those of coding its passages whole."""
    from coder import passages

    monkeypatch.setattr(passages, "_SPLIT_AT_ONCE", 3000)
    document = _long_document()
    assert passages.splits_in_parts(document, unit) and len(document.text) > 20 * 3000
    codebook = load_codebook(Path(__file__).parents[1] / "codebook.yaml")
    codebook = coder.models.Codebook(codes=codebook.codes, unit=unit)

    def coded(in_parts: bool, folder: str):
        monkeypatch.setattr(pipeline, "splits_in_parts", passages.splits_in_parts if in_parts else lambda *_: False)
        cache = coder.cache.RecodeCache(tmp_path / folder, new=True) if cached else None
        small = coder.Document("small.txt", "The joint meeting met.\n\nAgain the joint meeting.")
        rows, counts, stats, pending, passage_rows = pipeline._code_rows([small, document, small], codebook,
                                                                        compiled=None if cached else
                                                                        pipeline.compile_codebook(codebook),
                                                                        cache=cache)
        return (pipeline._segment_frame(rows, codebook), counts, stats.as_dict(), pending, passage_rows.as_rows())

    calls = []
    real = pipeline._code_in_parts
    monkeypatch.setattr(pipeline, "_code_in_parts", lambda *args: calls.append(1) or real(*args))
    whole, in_parts = coded(False, "whole"), coded(True, "parts")
    assert calls == [1]
    pd.testing.assert_frame_equal(in_parts[0], whole[0])
    assert len(whole[0]) > 100 and whole[0]["passage"].max() > 50
    assert in_parts[1:3] == whole[1:3]
    assert in_parts[3] == whole[3]  # the cache entries, byte for byte
    assert in_parts[4] == whole[4]
    long = whole[0][whole[0]["document"] == "long.txt"]
    # Repeated passages (numbered copies across the parts) and cache entries to compare.
    assert len(set(long["segment_id"])) == len(long) and len(set(long["fingerprint"])) < len(long)
    assert not cached or len({entry.key for entry in whole[3]}) == 2


def test_pipeline_a_long_document_is_not_held_as_passages_while_coded(monkeypatch):
    """Coding a document split in parts holds one part's passages (views and readable texts) at a
    time: what coding it allocates beyond the rows it returns stays a small multiple of its length
    (holding every passage at once was ~11 bytes a character here; a part at a time ~1.5)."""
    import tracemalloc

    from coder import passages

    monkeypatch.setattr(passages, "_SPLIT_AT_ONCE", 20_000)
    seeds = [path.read_text(encoding="utf-8") for path in sorted((Path(__file__).parents[1] / "seeds").glob("*.txt"))]
    document = coder.Document("long.txt", "\n\n".join(seeds * 20))
    codebook = load_codebook(Path(__file__).parents[1] / "codebook.yaml")
    compiled = pipeline.compile_codebook(codebook)
    pipeline._code_rows([coder.Document("warm.txt", "The joint meeting met.")], codebook, compiled=compiled)
    tracemalloc.start()
    try:
        coded = pipeline._code_rows([document], codebook, compiled=compiled)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(coded[0]) > 1000
    assert peak - held < 4 * len(document.text)
