"""A large corpus coded in partitions (coder.streamed): the same files as a run holding the whole table.

The threshold and the partition size are lowered, so that small corpora take the streamed path in
several partitions.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import typing
import weakref
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, invoke, output_files

from coder import partitioned, runner, streamed
from coder.errors import CoderError
from coder.runs import RunFolder

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_coding import build_codebook, build_corpus  # noqa: E402

# What a cold run writes into a folder with no run in it yet, then a second run with reviews and a changed document.
_EDITS = {  # on the generated codebook
    "keyword added": ('["scene ning", ', '["scene ning", "regional cooperation", '),
    "label changed": ("  code_001:\n", "  code_001:\n    label: Code one\n"),
}


def _streamed(monkeypatch: pytest.MonkeyPatch, on: bool, partition_bytes: int = 12_000) -> None:
    monkeypatch.setattr(runner, "STREAMED_MIN_BYTES", -1 if on else 10**12)
    monkeypatch.setattr(streamed, "LOCAL_PARTITION_BYTES", partition_bytes)
    monkeypatch.setattr(partitioned, "CODE_COUNTS_CELLS", 1)  # code_counts.csv a row at a time


def _run(corpus: Path, codebook: Path, out: Path, reviews: Path, *options: str) -> str:
    result = invoke("run", corpus, "--codebook", codebook, "--out", out, "--reviews", reviews, *options)
    assert result.exit_code == 0, result.output
    output = re.sub(r"in \d+\.\d\ds\.", "in 0.00s.", result.output)  # the clock
    return re.sub(r"\(\d{4}-\d\d-\d\dT[0-9:+]+\)", "(TIME)", output).replace(str(out), "OUT")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A 0.3 MB corpus of reshuffled seed paragraphs and a 40-code codebook, as bench_coding.py builds them."""
    folder = tmp_path_factory.mktemp("generated")
    build_corpus(folder / "corpus", 0.3)
    build_codebook(folder / "codebook.yaml", 40)
    return folder


def _project(tmp_path: Path, source: str, generated: Path) -> tuple[Path, Path]:
    if source == "seeds":
        shutil.copytree(REPO / "seeds", tmp_path / "corpus")
        shutil.copyfile(REPO / "codebook.yaml", tmp_path / "codebook.yaml")
    else:
        shutil.copytree(generated / "corpus", tmp_path / "corpus")
        shutil.copyfile(generated / "codebook.yaml", tmp_path / "codebook.yaml")
    return tmp_path / "corpus", tmp_path / "codebook.yaml"


def _reviews(out: Path, path: Path) -> None:
    """A review file on the run in `out`: a reject with a note, an accept, a passage coded by hand."""
    from coder.models import segment_id

    segments, passages = RunFolder(out).read_segments(), RunFolder(out).read_passages()
    coded = set(zip(segments["document"], segments["passage"]))
    free = passages[[(document, passage) not in coded and len(text) > 40 for document, passage, text
                      in zip(passages["document"], passages["passage"], passages["text"])]].iloc[-1]
    code = segments["code"].iloc[0]
    rows = [
        {**segments.iloc[1][["segment_id", "document", "code", "text"]].to_dict(), "decision": "reject", "note": "no"},
        {**segments.iloc[-1][["segment_id", "document", "code", "text"]].to_dict(), "decision": "accept", "note": ""},
        {"segment_id": segment_id(free["document"], free["text"], code), "document": free["document"], "code": code,
         "text": free["text"], "decision": "add", "note": "by hand", "passage": str(free["passage"]),
         "start": str(free["start"]), "end": str(free["end"])},
    ]
    pd.DataFrame(rows).assign(reviewed_at="2026-12-01T10:00:00+00:00").to_csv(path, index=False, encoding="utf-8-sig")


def _type_a_decision(out: Path) -> None:
    """A reviewer types `accept` into the first row of segments.csv."""
    frame = pd.read_csv(out / "segments.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[0, "review"] = "accept"
    frame.to_csv(out / "segments.csv", index=False, encoding="utf-8-sig")


@pytest.mark.parametrize("source, workers", [("seeds", "1"), ("generated", "2")])
def test_streamed_run_writes_the_files_of_the_whole_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          generated: Path, source: str, workers: str) -> None:
    corpus, codebook = _project(tmp_path, source, generated)
    reviews = tmp_path / "reviews.csv"
    outputs, files, review_files = {}, {}, {}
    for engine in ("memory", "streamed"):
        _streamed(monkeypatch, engine == "streamed")
        out = tmp_path / engine
        outputs[engine] = [_run(corpus, codebook, out, reviews, "--workers", workers)]
        files[engine] = output_files(out)
    assert files["streamed"] == files["memory"]
    # The co-occurrence counts the next run starts from: summed over partitions, the same file.
    counts = [tmp_path / engine / ".cache" / "cooccurrence_counts.json" for engine in ("memory", "streamed")]
    assert counts[0].read_bytes() == counts[1].read_bytes()
    # A second run over the first: reviews (a typed decision, a file of them, a passage coded by
    # hand), a changed document: statuses, changes.csv, the review file rewritten.
    _reviews(tmp_path / "memory", reviews)
    written = reviews.read_bytes()
    first, second = sorted(corpus.glob("*.txt"))[:2]
    first.write_text(first.read_text(encoding="utf-8") + "\n\n" + second.read_text(encoding="utf-8"), encoding="utf-8")
    for engine in ("memory", "streamed"):
        _streamed(monkeypatch, engine == "streamed")
        reviews.write_bytes(written)
        _type_a_decision(tmp_path / engine)
        outputs[engine].append(_run(corpus, codebook, tmp_path / engine, reviews, "--workers", workers))
        files[engine] = output_files(tmp_path / engine)
        review_files[engine] = pd.read_csv(reviews, dtype=str).drop(columns="reviewed_at")  # the clock
    assert files["streamed"] == files["memory"]
    assert counts[0].read_bytes() == counts[1].read_bytes()
    pd.testing.assert_frame_equal(review_files["streamed"], review_files["memory"])
    assert len(review_files["streamed"]) == 4  # the typed decision imported
    assert outputs["streamed"] == outputs["memory"]
    statuses = set(RunFolder(tmp_path / "streamed").read_segments()["status"])
    assert {"new", "unchanged", "accepted", "rejected", "added"} <= statuses
    assert (tmp_path / "streamed" / "changes.csv").is_file()
    assert not (tmp_path / "streamed" / streamed.PARTS_FOLDER).exists()
    assert (tmp_path / "streamed" / "segments.parquet").is_file()  # one file, as the recode paths read it


@pytest.mark.parametrize("edit", list(_EDITS))
def test_streamed_recode_after_a_streamed_run_equals_a_fresh_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 generated: Path, edit: str) -> None:
    corpus, codebook = _project(tmp_path, "generated", generated)
    _streamed(monkeypatch, True, partition_bytes=60_000)
    reviews = tmp_path / "reviews.csv"
    for out in ("fast", "full"):
        _run(corpus, codebook, tmp_path / out, reviews, "--workers", "1")
    old, new = _EDITS[edit]
    assert old in codebook.read_text(encoding="utf-8")
    codebook.write_text(codebook.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")

    import coder.cooccurrence

    used: list[bool] = []
    patched = coder.cooccurrence._patched_counts
    monkeypatch.setattr(coder.cooccurrence, "_patched_counts",
                        lambda *args, **kwargs: used.append(patched(*args, **kwargs) is not None) or patched(*args, **kwargs))
    output = _run(corpus, codebook, tmp_path / "fast", reviews, "--workers", "1")
    _run(corpus, codebook, tmp_path / "full", reviews, "--workers", "1", "--no-cache")

    fast_path = "edited code(s) again in the" if edit == "keyword added" else "Reused the coding of the last run"
    assert fast_path in output
    # Only the edited code's pairs counted, from the streamed run's counts; after a label edit nothing
    # is counted at all (the shortcut relabels the last run's files, segments.csv written again).
    assert used == ([True] if edit == "keyword added" else [])
    assert output_files(tmp_path / "fast") == output_files(tmp_path / "full")


@pytest.mark.parametrize("step, problem", [
    ("finish_partition", CoderError("codebook regex 'x' ran too long")),
    ("finish_partition", OSError("disk full")),
    ("_write_part", OSError("disk full")),  # in the second thread, beside the next partition's finishing
    ("join_parquet_parts", OSError("disk full")),
])
def test_streamed_failure_leaves_the_earlier_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generated: Path,
                                                 step: str, problem: Exception) -> None:
    """A partition after the first (its parts written already) failing as it is finished, its part files
    failing in the writing thread, or their join failing: the run stops, the earlier run as it was."""
    corpus, codebook = _project(tmp_path, "seeds", generated)
    _streamed(monkeypatch, True)
    reviews, out = tmp_path / "reviews.csv", tmp_path / "out"
    _run(corpus, codebook, out, reviews, "--workers", "1")
    before = output_files(out)
    calls = []

    def fail(*arguments, **options):
        calls.append(1)
        if len(calls) == 2:
            raise problem
        return original(*arguments, **options)

    original = getattr(streamed, step)
    monkeypatch.setattr(streamed, step, fail)
    result = invoke("run", corpus, "--codebook", codebook, "--out", out, "--reviews", reviews, "--workers", "1",
                    "--no-cache")

    assert result.exit_code == 1
    assert output_files(out) == before
    assert not (out / streamed.PARTS_FOLDER).exists()
    assert not RunFolder(out).staging_path.exists()
    if isinstance(problem, CoderError):
        assert result.output == f"Error: {problem}\n"
    else:
        assert "disk full" in result.output


@pytest.mark.parametrize("compared", [True, False])
def test_streamed_partition_statuses_from_decisions_sources_and_the_last_run(compared):
    import numpy as np

    from coder.partitioned import PartitionPlan, _statuses
    from coder.segments import segment_id_numbers_or_zero

    ids = [f"s{number:016x}" for number in range(1, 9)]
    frame = pd.DataFrame({
        "segment_id": ids,
        "review": ["", " Accept", "REJECT", "add", None, "maybe", "", "\u00a0accept\u00a0"],
        "source": ["auto", "auto", "auto", "auto", "auto", "auto", "manual", "auto"],
    })
    plan = PartitionPlan(levels=(), network_level=None, examples=3, previous_ids=np.sort(segment_id_numbers_or_zero(ids[:5:4])),
                         compared=compared, reviews=None)
    kept = "unchanged" if compared else "new"  # the first and the fifth were in the last run
    assert _statuses(frame, plan) == [kept, "accepted", "rejected", "added", kept, "new", "added", "accepted"]


@pytest.mark.parametrize("collect, freed", [("none", set()), ("young", {"young"}), ("all", {"young", "old"})])
def test_streamed_release_memory_collects_the_cycles_asked(collect: str, freed: set[str]) -> None:
    """The end stages free their own reference cycles (young: made since the last collection) without
    walking every object that lives to the end of the run; one full collection frees older ones too."""
    import gc
    import weakref

    class Node:
        pass

    def cycle() -> tuple[Node, weakref.ref]:
        node = Node()
        node.self = node
        return node, weakref.ref(node)

    enabled = gc.isenabled()
    gc.disable()  # no collection but the ones asked
    try:
        old, old_ref = cycle()
        gc.collect()  # the old cycle, alive, moves to the oldest generation
        del old
        young, young_ref = cycle()
        del young
        streamed._release_memory(collect=collect)
        assert {name for name, ref in (("old", old_ref), ("young", young_ref)) if ref() is None} == freed
    finally:
        if enabled:
            gc.enable()
        gc.collect()


@pytest.mark.parametrize("empty", [False, True])
def test_streamed_summary_store_gives_back_what_the_driver_no_longer_holds(tmp_path: Path, empty: bool) -> None:
    from collections import Counter

    import numpy as np

    documents = () if empty else ("a.txt", "b.txt", "skipped.txt")
    counts = np.zeros((4, len(documents)), dtype=np.int64)
    if not empty:
        counts[1, 0], counts[3, 1] = 2, 5
    examples = pd.DataFrame({"document": [] if empty else ["a.txt", "b.txt"], "passage": [] if empty else [3, 0],
                             "code": [] if empty else ["c1", "c3"]})
    read = {} if empty else {"a.txt": ("utf-8", "ab" * 32, 120), "b.txt": ("cp1252", "cd" * 32, 0),
                             "skipped.txt": "not UTF-8 (byte 0xff at 3)"}
    summary = partitioned.PartitionSummary(
        number=7, documents=documents, passages={} if empty else {"a.txt": 4, "b.txt": 1}, segments=0,
        by_code={} if empty else {"c3": 2, "c1": 1}, coded_passages=0, counted_by_code={} if empty else {"c3": 2}, added=0, code_counts=partitioned.CellCounts.from_dense(counts),
        code_totals=counts.sum(axis=1), code_totals_with_children=counts.sum(axis=1), counts_long=pd.DataFrame(),
        cooccurrence={}, examples=examples, words=[] if empty else ["zeta", "alpha"], code_sets=Counter(),
        coded_by_document={} if empty else {"b.txt": 1, "a.txt": 2}, first_passages=pd.DataFrame(), read=dict(read))
    passages = dict(summary.passages)
    store = partitioned.SummaryStore(tmp_path / "store")
    held = {name: store.part(summary, name) for name in typing.get_args(partitioned.StoredPart)}

    store.put(summary)
    store.put_documents(summary)

    assert (summary.code_counts, summary.examples, summary.words, summary.coded_by_document, summary.by_code,
            summary.counted_by_code) == (None,) * 6
    assert list(store.rows_by_code(7).items()) == ([] if empty else [("c3", 2), ("c1", 1)])
    assert store.rows_by_code(7, "counted_by_code") == ({} if empty else {"c3": 2})
    assert (summary.passages, summary.read) == ({}, {})
    assert (store.code_counts(7).toarray() == counts).all() and store.code_counts(7).shape == counts.shape
    assert store.examples(7).astype(object).values.tolist() == examples.astype(object).values.tolist()
    assert store.words(7) == ([] if empty else ["zeta", "alpha"])
    assert list(store.coded_by_document(7).items()) == ([] if empty else [("b.txt", 1), ("a.txt", 2)])
    assert store.documents(7) == (passages, read)
    for name, value in held.items():  # the same parts, asked of the store for the summary that no longer holds them
        stored = store.part(summary, name)
        if isinstance(value, pd.DataFrame):
            assert stored.astype(object).values.tolist() == value.astype(object).values.tolist()
        elif isinstance(value, partitioned.CellCounts):
            assert (stored.toarray() == value.toarray()).all() and stored.shape == value.shape
        else:
            assert stored == value and list(stored) == list(value)


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 3, 1, 4, 0, 2]])
def test_streamed_report_parts_follow_document_and_passage_order(order: list[int]) -> None:
    """A partition's code sets, coded passages per document and each code's first passages (with their rank
    among the document's coded passages) are in (document, passage) order, whatever the rows' order."""
    from collections import Counter

    frame = pd.DataFrame({"document": ["b.txt", "b.txt", "a.txt", "a.txt", "a.txt", "b.txt"], "passage": [3, 3, 5, 1, 1, 0],
                          "code": ["y", "x", "x", "z", "x", "x"], "matched": ["w1", "w2", "w2; w3", "w4", "w2", "w1"]})
    words, code_sets, coded, first = partitioned._report_parts(frame.iloc[order].reset_index(drop=True))

    assert sorted(words) == ["w1", "w2", "w3", "w4"] and (order != [0, 1, 2, 3, 4, 5] or words == ["w1", "w2", "w3", "w4"])
    assert code_sets == Counter({("a.txt", ("x", "z")): 1, ("a.txt", ("x",)): 1, ("b.txt", ("x",)): 1,
                                 ("b.txt", ("x", "y")): 1})
    assert coded == {"a.txt": 2, "b.txt": 2}
    assert sorted(first.itertuples(index=False, name=None)) == [
        ("x", "a.txt", 1, 0), ("x", "a.txt", 5, 1), ("y", "b.txt", 3, 1), ("z", "a.txt", 1, 0)]


@pytest.mark.parametrize("planted", [".parts", ".staging", ".previous"])
@pytest.mark.parametrize("on", [True, False], ids=["partitioned", "whole-table"])
@pytest.mark.needs_symlinks
def test_a_link_planted_in_the_output_folder_is_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                planted: str, on: bool) -> None:
    """An output folder may come from someone else: a link named like the run's folders (the partitioned
    run's parts, the staged outputs, the previous run) pointing outside is removed as a link, and what
    it points to keeps every file and gains none; the runs code as usual."""
    _streamed(monkeypatch, on)
    corpus, codebook = _project(tmp_path, "seeds", tmp_path)
    outside = tmp_path / "someone_elses"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / planted).symlink_to(outside, target_is_directory=True)
    for _ in range(2):  # the second run keeps the first as the previous run
        result = invoke("run", corpus, "--codebook", codebook, "--out", out)
        assert result.exit_code == 0, result.output
    assert [path.name for path in outside.iterdir()] == ["keep.txt"]
    assert (outside / "keep.txt").read_text(encoding="utf-8") == "precious"
    if planted != ".parts" or on:  # a folder the run works in (a whole-table run makes no parts)
        assert not (out / planted).is_symlink()
    assert (out / "segments.csv").is_file()


def test_streamed_pair_sums_add_counts_and_keep_the_first_example() -> None:
    """Pairs summed over partitions: counts and documents add up, the example is the first passage in
    (document, passage) order whichever partition met it, pairs in (source, target) order."""
    import pyarrow as pa

    def pairs(rows):
        return pa.table({name: pa.array(values, type=pa.large_string() if name in ("source", "target", "example_document")
                                        else pa.int64()) for name, values in zip(
            ("source", "target", "count", "documents", "example_document", "example_passage"), zip(*rows))})

    summed = partitioned._sum_pairs([
        pairs([("b", "c", 2, 1, "z.txt", 4), ("a", "b", 1, 1, "y.txt", 7)]),
        pairs([("a", "b", 3, 2, "y.txt", 2), ("a", "c", 1, 1, "x.txt", 0)]),
        pairs([("a", "b", 1, 1, "x.txt", 9)]),
    ])
    assert summed.to_pylist() == [
        {"source": "a", "target": "b", "count": 5, "documents": 4, "example_document": "x.txt", "example_passage": 9},
        {"source": "a", "target": "c", "count": 1, "documents": 1, "example_document": "x.txt", "example_passage": 0},
        {"source": "b", "target": "c", "count": 2, "documents": 1, "example_document": "z.txt", "example_passage": 4},
    ]


@pytest.mark.parametrize("relative", [True, False])
def test_streamed_entries_go_to_the_workers_by_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             relative: bool) -> None:
    # A worker may run in another folder: each file goes to it by its absolute path (an entry of a corpus
    # given by its absolute path as it is, not copied).
    from coder.corpus import CorpusFile
    from coder.models import Document

    monkeypatch.chdir(tmp_path)
    entry = CorpusFile("a.txt", Path("corpus/a.txt") if relative else tmp_path / "corpus" / "a.txt")
    shared = streamed._shared(entry)
    assert shared == CorpusFile("a.txt", tmp_path / "corpus" / "a.txt")
    assert (shared is entry) is not relative
    document = Document("b.txt", "text")
    assert streamed._shared(document) is document


@pytest.mark.parametrize("shape", ["as coded", "rejected rows", "out of order", "another document", "one document",
                                   "empty", "an uncoded document"])
def test_streamed_summary_counts_rows_and_passages_as_the_rows_say(shape: str) -> None:
    # A partition's rows per code, rows that count per code and coded passages: taken from the code counts'
    # cells when every row counts, which must give what counting the rows gives, whatever their shape.
    import numpy as np

    from coder import load_codebook
    from coder.models import Document
    from coder.partitioned import PartitionPlan, finish_partition, summarize
    from coder.pipeline import code_documents
    from coder.segments import drop_rejected

    codebook = load_codebook(REPO / "codebook.yaml")
    documents = [Document(path.name, path.read_text(encoding="utf-8")) for path in sorted((REPO / "seeds").glob("*.txt"))[:4]]
    frame, _, _, _, passages = code_documents(documents, codebook)
    plan = PartitionPlan(levels=(), network_level=None, examples=3, previous_ids=np.zeros(0, dtype=np.uint64),
                         compared=False, reviews=None)
    frame, _ = finish_partition(frame, pd.DataFrame(passages, columns=["document", "passage", "start", "end", "kind",
                                                                       "text"]), documents, codebook, plan, 0)
    assert len(frame) > 20 and frame["document"].nunique() == 4
    if shape == "rejected rows":
        frame.loc[[0, 5, 6], "review"] = "reject"
    elif shape == "out of order":
        frame = frame.iloc[::-1].reset_index(drop=True)
    elif shape == "another document":
        frame.loc[3, "document"] = "not in the partition.txt"
    elif shape == "one document":
        frame = frame[frame["document"] == documents[1].path].reset_index(drop=True)
    elif shape == "empty":
        frame = frame.iloc[:0]
    elif shape == "an uncoded document":
        documents = [*documents, Document("uncoded.txt", "Nothing to code here.")]
    summary = summarize(frame, documents, codebook, plan, 0)
    counted = drop_rejected(frame)
    counted = counted[counted["document"].isin([document.path for document in documents])]
    assert summary.by_code == (frame.groupby("code", sort=False).size().to_dict() if len(frame) else {})
    assert summary.counted_by_code == (counted.groupby("code", sort=False).size().to_dict() if len(counted) else {})
    assert summary.coded_passages == len(frame[["document", "passage"]].drop_duplicates())
    assert type(summary.coded_passages) is int


@pytest.mark.parametrize("earlier", [[], [0], [5], [2**64 - 1], [1, 3, 5, 7, 2**63, 2**64 - 1]])
def test_streamed_statuses_tell_the_last_runs_ids_as_np_isin_does(earlier: list[int]) -> None:
    """A partition's ids are looked up in the last run's (sorted once) by binary search, not by np.isin,
    which sorted both on every partition: ids before the first, past the last, between and equal."""
    import numpy as np

    from coder.partitioned import _in_sorted

    previous = np.unique(np.array(earlier, dtype=np.uint64))
    rng = np.random.default_rng(7)
    values = np.concatenate([np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 2**63, 2**64 - 2, 2**64 - 1], dtype=np.uint64),
                             rng.integers(0, 2**64 - 1, size=500, dtype=np.uint64, endpoint=True), previous[::-1]])

    found = _in_sorted(values, previous)

    assert found.dtype == bool and found.tolist() == np.isin(values, previous).tolist()
    assert found.sum() >= len(previous)
    assert _in_sorted(np.zeros(0, dtype=np.uint64), previous).tolist() == []


def test_streamed_partition_writer_releases_memory_once_a_partition_is_written(tmp_path: Path, monkeypatch):
    """The writing thread gives the heap back once a partition's part files are written and its tables
    let go, while the next partition is coded (they went only after the thread's call, and the heap
    they freed stayed until this process finished the next partition)."""
    frame, passages = pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"b": [3]})
    tables = weakref.ref(frame), weakref.ref(passages)
    released, written, dropped = [], [], threading.Event()

    def write_part(*arguments):  # written once this thread's caller has let the tables go, as the run does
        dropped.wait(5)
        written.append(arguments[3])

    monkeypatch.setattr(streamed, "_write_part", write_part)
    monkeypatch.setattr(streamed, "_release_memory", lambda: released.append([table() is None for table in tables]))
    summary = partitioned.PartitionSummary.__new__(partitioned.PartitionSummary)
    summary.number = 7
    with streamed.PartitionWriter(tmp_path, lambda given: given) as writer:
        writer.write(frame, passages, summary)
        del frame, passages
        dropped.set()
        writer.wait()
    assert written == [7] and released == [[True, True]]
