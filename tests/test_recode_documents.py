"""`coder run` after documents were added, changed or removed codes only those documents, and gives
exactly what a fresh run gives."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import invoke, output_files, run_ok
from make_documents import docx_bytes
from test_recode import CODEBOOK

from coder.runs import RunFolder
from coder.stamps import changed_corpus, take_corpus_stamps

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def history(tmp_path):
    """A corpus, the test codebook, and two run folders coded once each: `fast` (with the cache) and
    `full` (coded again without it, the reference)."""
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    (corpus / "empty.txt").write_bytes(b"")  # skipped: an empty file
    (corpus / "guide.docx").write_bytes(docx_bytes(["Regional cooperation of the two provinces.",
                                                    "A joint meeting of the county governments."]))
    codebook.write_text(CODEBOOK, encoding="utf-8")
    fast, full = tmp_path / "fast", tmp_path / "full"
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    _settle()
    return corpus, codebook, fast, full


def _settle() -> None:
    """Past the two seconds in which a file's stamp cannot vouch for it (stamps.RACY_NANOSECONDS)."""
    time.sleep(2.1)


@pytest.fixture
def taken(monkeypatch) -> list[dict]:
    """What each call of recode_changed_documents returned: its cache counts, or {} for None."""
    import coder.recode_documents

    calls: list[dict] = []
    original = coder.recode_documents.recode_changed_documents

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append({} if result is None else result.reused)
        return result

    monkeypatch.setattr(coder.recode_documents, "recode_changed_documents", spy)
    return calls


def _first(corpus: Path) -> Path:
    return sorted(path for path in corpus.glob("*.txt") if path.name != "empty.txt")[0]


CHANGES = {
    "document added last": lambda corpus: (corpus / "zz_new.txt").write_text(
        "Cross-regional cooperation of governments.\n\nA joint meeting was held.\n", encoding="utf-8"),
    "document added first": lambda corpus: (corpus / "aa_new.txt").write_text(
        "Party building alliance and joint construction.\n", encoding="utf-8"),
    "document changed": lambda corpus: _first(corpus).write_text(
        _first(corpus).read_text(encoding="utf-8") + "\n\nRegional cooperation again: a joint meeting.\n",
        encoding="utf-8"),
    "document removed": lambda corpus: _first(corpus).unlink(),
    "skipped file now read": lambda corpus: (corpus / "empty.txt").write_text("Regional integration.\n",
                                                                              encoding="utf-8"),
    "document now skipped": lambda corpus: _first(corpus).write_bytes(b""),
    "document renamed": lambda corpus: _first(corpus).rename(corpus / "zz_renamed.txt"),
    "Word document changed": lambda corpus: (corpus / "guide.docx").write_bytes(docx_bytes(
        ["Regional cooperation of the three provinces.", "Local protection stood in the way."])),
    "several at once": lambda corpus: (
        (corpus / "zz_new.txt").write_text("Administrative barriers.\n", encoding="utf-8"),
        _first(corpus).unlink(),
        sorted(corpus.glob("*.txt"))[-2].write_text("区域合作 and 协同治理.\n", encoding="utf-8")),
}
# How many documents each change leaves to code again.
CODED = {"document renamed": 1, "document added last": 1, "document added first": 1, "document changed": 1, "document removed": 0,
         "skipped file now read": 1, "document now skipped": 0, "Word document changed": 1, "several at once": 2}
# How many of the last run's documents each change leaves uncoded (removed, or skipped now).
GONE = {"document renamed": 1, "document removed": 1, "document now skipped": 1, "several at once": 1}


@pytest.mark.parametrize("change", list(CHANGES))
def test_rerun_after_documents_changed_codes_only_them_and_matches_a_full_run(history, taken, change):
    corpus, codebook, fast, full = history
    CHANGES[change](corpus)

    output = run_ok(corpus, codebook, fast)
    assert len(taken) == 1 and taken[0]["documents_new"] == CODED[change], taken
    assert taken[0]["documents_reused"] >= 4
    gone = GONE.get(change, 0)
    assert (f"Coded {CODED[change]} new or changed document(s) and took the other {taken[0]['documents_reused']} "
            "from the last run (the codebook matches as it did)"
            + (f"; {gone} of its document(s) are gone or skipped now." if gone else ".")) in output
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)


def test_rerun_after_documents_changed_twice_matches_a_full_run(history, taken):
    corpus, codebook, fast, full = history
    for change in ("document added first", "document changed", "document removed"):
        CHANGES[change](corpus)
        run_ok(corpus, codebook, fast)
        run_ok(corpus, codebook, full, "--no-cache")
        assert output_files(fast) == output_files(full), change
        _settle()
    assert [calls["documents_new"] for calls in taken] == [1, 1, 0]


def _decisions_filed(corpus: Path, run: Path, reviews: Path) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """Write `reviews` with a decision on a segment of the first document (reject) and on one of
    another (accept), from the run's segments.csv; its lines, its rows, and the accepted row."""
    lines = (run / "segments.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    changed = _first(corpus).name
    on_changed = next(row for row in rows if row["document"] == changed)
    on_kept = next(row for row in rows if row["document"] != changed)
    reviews.write_text(
        "segment_id,document,code,decision,note,text,reviewed_at\n"
        f"{on_changed['segment_id']},{changed},{on_changed['code']},reject,not this one,x,\n"
        f"{on_kept['segment_id']},{on_kept['document']},{on_kept['code']},accept,a good one,x,\n", encoding="utf-8")
    return lines, rows, on_kept


@pytest.mark.parametrize("change", ["document changed", "document renamed"])
def test_rerun_after_documents_changed_keeps_reviews_and_typed_decisions(history, taken, tmp_path, change):
    """A decision in the review file (on a document kept and on the changed one, or on the renamed one,
    which follows its passage) and one typed into segments.csv come back as a full run brings them back."""
    corpus, codebook, fast, full = history
    lines, rows, _ = _decisions_filed(corpus, fast, tmp_path / "reviews.csv")
    typed = [line for line in lines if line.split(",")[0] == rows[-1]["segment_id"]][0]
    for folder in (fast, full):
        text = (folder / "segments.csv").read_text(encoding="utf-8-sig")
        (folder / "segments.csv").write_text(
            text.replace(typed, typed.replace(",,,auto", ",reject,typed here,auto")), encoding="utf-8-sig")
    CHANGES[change](corpus)

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert taken and taken[0]["documents_new"] == 1
    assert output_files(fast) == output_files(full)
    segments = (fast / "segments.csv").read_text(encoding="utf-8-sig")
    assert ",accepted,accept,a good one," in segments
    assert "typed here" in segments


@pytest.mark.parametrize("also", ["keyword added", "corpus moved", "another encoding", "no cache note"])
def test_rerun_codes_everything_when_more_than_the_documents_changed(history, taken, tmp_path, also):
    corpus, codebook, fast, full = history
    CHANGES["document added last"](corpus)
    options: tuple[str, ...] = ()
    if also == "keyword added":
        codebook.write_text(CODEBOOK.replace("[regional integration]", "[regional integration, integration]"),
                            encoding="utf-8")
    elif also == "corpus moved":
        moved = tmp_path / "moved"
        shutil.copytree(corpus, moved)
        shutil.rmtree(corpus)
        moved.rename(corpus)  # the same path, other files: only their texts can tell them
    elif also == "another encoding":
        options = ("--encoding", "utf-8")
    else:
        (fast / ".cache" / "recode.sqlite").unlink()

    run_ok(corpus, codebook, fast, *options)
    run_ok(corpus, codebook, full, "--no-cache", *options)

    assert taken == [{}] or (also == "corpus moved" and taken[0].get("documents_new") == 1)
    assert output_files(fast) == output_files(full)


@pytest.fixture
def partitioned(monkeypatch) -> list[dict]:
    """A corpus past 1,000 bytes coded in partitions of about 2,000 bytes; what each engine made by
    code_partitions_from_last_run returned as cache counts ({} for no engine)."""
    return partitions_watched(monkeypatch)


def code_by_hand(row: dict[str, str], codebook: Path, run: Path, reviews: Path) -> None:
    """Code the passage of `row` (its document and passage) with `barriers` by hand: a sheet beside
    `reviews` imported into it with `coder review import` against the run in `run`."""
    sheet = reviews.with_name("added.csv")
    sheet.write_text(f"document,passage,code,review,note\n{row['document']},{row['passage']},barriers,add,coded by hand\n",
                     encoding="utf-8")
    imported = invoke("review", "import", sheet, "--codebook", codebook, "--reviews", reviews, "--run", run)
    assert imported.exit_code == 0, imported.output


def partitions_watched(monkeypatch) -> list[dict]:
    """The `partitioned` fixture's settings and its list of what each engine returned."""
    import coder.recode_documents
    import coder.runner

    monkeypatch.setattr(coder.runner, "STREAMED_MIN_BYTES", 1_000)
    monkeypatch.setattr(coder.recode_documents, "_PARTITION_BYTES", 2_000)
    calls: list[dict] = []
    original = coder.recode_documents.code_partitions_from_last_run

    def spy(*args, **kwargs):
        engine = original(*args, **kwargs)
        if engine is None:
            calls.append({})
            return None

        def code(*arguments):
            coded = engine(*arguments)
            calls.append(coded.reused)
            return coded

        return code

    monkeypatch.setattr(coder.recode_documents, "code_partitions_from_last_run", spy)
    return calls


@pytest.mark.parametrize("change", list(CHANGES))
def test_rerun_of_a_large_corpus_reads_the_kept_documents_a_partition_at_a_time(history, taken, partitioned, change):
    """Past STREAMED_MIN_BYTES the rerun goes in partitions (its memory stays flat): the kept documents'
    rows are read from the last run's tables, the others coded; the files are a full run's."""
    corpus, codebook, fast, full = history
    CHANGES[change](corpus)

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert taken == []  # not the in-memory path
    assert len(partitioned) == 1 and partitioned[0]["documents_new"] == CODED[change], partitioned
    assert partitioned[0]["documents_gone"] == GONE.get(change, 0)
    assert "from the last run (the codebook matches as it did)" in output
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("change", ["document changed", "document renamed"])
def test_rerun_of_a_large_corpus_keeps_reviews_typed_decisions_and_hand_coding(history, partitioned, tmp_path, change):
    corpus, codebook, fast, full = history
    _, _, on_kept = _decisions_filed(corpus, fast, tmp_path / "reviews.csv")
    code_by_hand(on_kept, codebook, fast, tmp_path / "reviews.csv")
    CHANGES[change](corpus)
    CHANGES["document added first"](corpus)

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert partitioned and partitioned[0]["documents_new"] == 2
    assert output_files(fast) == output_files(full)
    segments = (fast / "segments.csv").read_text(encoding="utf-8-sig")
    assert ",accepted,accept,a good one," in segments and "coded by hand" in segments


@pytest.mark.parametrize("damage", ["passages out of order", "a cell empty", "a code the codebook lacks"])
def test_rerun_of_a_large_corpus_codes_everything_when_the_tables_are_not_as_written(history, partitioned, damage):
    """Tables that do not look as `coder run` writes them (noted anew, so the cache vouches for them)
    are not read from: the whole corpus is coded, as a full run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from coder.cache import remember_coding
    from coder.codebook import load_codebook

    corpus, codebook, fast, full = history
    for folder in (fast, full):  # both alike: the comparison with the last run is then alike too
        if damage == "passages out of order":
            table = pq.read_table(folder / "passages.parquet")
            pq.write_table(table.take(pa.array(list(reversed(range(table.num_rows))))), folder / "passages.parquet")
        else:
            table = pq.read_table(folder / "segments.parquet")
            column = "kind" if damage == "a cell empty" else "code"
            values = table[column].to_pylist()
            values[0] = None if damage == "a cell empty" else "not_a_code"
            table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, type=pa.string()))
            pq.write_table(table, folder / "segments.parquet")
    remember_coding(RunFolder(fast), load_codebook(codebook))
    CHANGES["document added last"](corpus)

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert partitioned == [{}]
    assert output_files(fast) == output_files(full)


def test_changed_corpus_tells_documents_kept_by_stamp_or_text(history):
    corpus, codebook, fast, _ = history
    names = sorted(path.name for path in corpus.glob("*.txt") if path.name != "empty.txt")
    touched, changed, removed = corpus / names[0], corpus / names[1], corpus / names[2]
    os.utime(touched, ns=(time.time_ns(), time.time_ns()))  # a new stamp, the same text
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nMore.\n", encoding="utf-8")
    removed.unlink()
    (corpus / "new.md").write_text("A new note.\n", encoding="utf-8")
    (corpus / "notes.xyz").write_text("not a document type\n", encoding="utf-8")

    changes = changed_corpus(RunFolder(fast), corpus, stamps=take_corpus_stamps(corpus))

    assert changes is not None
    kept = dict(zip([document.path for document in changes.corpus.documents], changes.kept))
    assert kept[names[0]] is True and kept[names[1]] is False and kept["new.md"] is False
    assert names[2] not in kept
    assert kept["guide.docx"] is True  # extracted again, the same text
    assert sum(kept.values()) == len(kept) - 2
    assert [(item.path, item.reason) for item in changes.corpus.skipped] == [
        ("empty.txt", "empty file"), ("notes.xyz", "unsupported file type .xyz")]
    # The documents in a fresh read's order, with its hashes.
    from coder.corpus import read_corpus

    fresh = read_corpus(corpus)
    assert [(document.path, document.sha256) for document in changes.corpus.documents] == [
        (document.path, document.sha256) for document in fresh.documents]
    assert changes.corpus.skipped == fresh.skipped


def test_rerun_of_a_large_corpus_mostly_changed_codes_on_every_core(history, partitioned):
    """Most of the corpus new or changed: the local engine's coding processes code it, not this process alone."""
    corpus, codebook, fast, full = history
    for path in sorted(corpus.glob("*.txt"))[1:]:
        path.write_text(path.read_text(encoding="utf-8") + "\n\nA joint meeting.\n", encoding="utf-8")

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert partitioned == [{}]
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("way", ["in memory", "in partitions"])
def test_rerun_after_documents_changed_with_document_variables_matches_a_full_run(tmp_path, taken, monkeypatch, way):
    """documents.csv beside the corpus (not a document): counts by group and the long table as a full run's."""
    import coder.runner

    if way == "in partitions":
        monkeypatch.setattr(coder.runner, "STREAMED_MIN_BYTES", 1_000)
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    names = sorted(path.name for path in corpus.glob("*.txt"))
    (corpus / "documents.csv").write_text(
        "document,region\n" + "".join(f"{name},{'east' if index % 2 else 'west'}\n" for index, name in enumerate(names)),
        encoding="utf-8")
    codebook.write_text(CODEBOOK, encoding="utf-8")
    fast, full = tmp_path / "fast", tmp_path / "full"
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full)
    _settle()
    (corpus / names[1]).write_text("Regional cooperation and a joint meeting.\n", encoding="utf-8")
    (corpus / "zz_new.txt").write_text("Local protection: administrative barriers.\n", encoding="utf-8")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert "Coded 2 new or changed document(s)" in output
    assert (fast / "code_counts_by_group.csv").is_file()
    assert output_files(fast) == output_files(full)


def test_a_row_group_damaged_after_its_check_stops_the_run_naming_the_file(tmp_path):
    """The tables are checked (footer, types, statistics) before the partitions are read; a data page
    found damaged later (a disk error under an unchanged stamp) is an OutputError naming the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from coder.errors import OutputError
    from coder.recode_documents import _TableRows

    path = tmp_path / "segments.parquet"
    pq.write_table(pa.table({"document": [f"doc {number}" for number in range(2000)]}), path, compression="zstd")
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 200] = b"\xff" * 200  # inside the column chunk, the footer left whole
    path.write_bytes(bytes(data))
    rows = _TableRows(path, ["document"])
    try:
        with pytest.raises(OutputError, match=r"segments\.parquet: cannot read it as Parquet"):
            rows.take([(0, 2000)], pa.schema([("document", pa.large_string())]))
    finally:
        rows.close()
