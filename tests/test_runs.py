import json

import pandas as pd
import pytest
from conftest import run_ok
from hypothesis import given, settings
from hypothesis import strategies as st

from coder.codebook import codebook_to_records, parse_codebook
from coder.errors import OutputError
from coder.runs import RunFolder, RunRecord, _record_text, read_run

CODEBOOK_YAML = """
name: Small
unit: sentence
codes:
  barriers:
    label: Barriers
    codes:
      admin:
        label: Administrative
        keywords: [red tape]
  local:
    label: 地方保护
    keywords: [地方保护]
"""
SEGMENTS_CSV = (
    "segment_id,document,passage,start,end,code,code_path,label,hits,matched,text,review,note\n"
    "s1,a.txt,0,0,9,admin,barriers/admin,Administrative,1,red tape,Red tape.,,\n"
    "s2,a.txt,1,10,14,local,local,地方保护,1,地方保护,地方保护。,reject,\n"
)


def write_run(folder, *, passages=6, codebook="missing.yaml", **fields):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "segments.csv").write_text(SEGMENTS_CSV, encoding="utf-8-sig")
    run = {"tool_version": "0.1.0", "codebook": codebook, "codebook_sha256": "abc", "corpus": "seeds",
           "unit": "sentence", "counts": {"passages": passages}, "seconds": 1.5,
           "codebook_codes": codebook_to_records(parse_codebook(CODEBOOK_YAML)), **fields}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


@pytest.mark.parametrize("content, message", [
    (None, "no run.json found. Pass a folder written by `coder run --out FOLDER` or the path of its run.json."),
    ("{not json", "run.json is not valid JSON"),
    ("[1]", "run.json must hold a JSON object"),
    ('{"codebook_codes": "x"}', "must be a list of code objects"),
])
def test_runs_read_run_errors(tmp_path, content, message):
    if content is not None:
        (tmp_path / "run.json").write_text(content, encoding="utf-8")
    with pytest.raises(OutputError) as error:
        read_run(tmp_path)
    assert message in str(error.value)
    assert str(error.value).startswith(str(tmp_path))


@pytest.mark.parametrize("as_json_path", [False, True])
def test_runs_read_run_fields(tmp_path, as_json_path):
    folder = write_run(tmp_path / "r")
    run = read_run(folder / "run.json" if as_json_path else folder)
    assert (run.tool_version, run.codebook_sha256, run.corpus, run.unit, run.seconds, len(run.codebook_codes)) == (
        "0.1.0", "abc", "seeds", "sentence", 1.5, 3
    )
    assert run.folder == str(folder)


@pytest.mark.parametrize("extra", [{}, {"reviews": {"path": "reviews.csv", "decisions": 2, "orphaned": 0}}])
def test_runs_run_record_round_trip(extra):
    data = {
        "tool": "coder", "tool_version": "0.1.0", "started": "2026-11-24T12:00:00+00:00", "seconds": 1.5,
        "corpus": "seeds", "corpus_absolute": "/data/seeds", "codebook": "codebook.yaml", "codebook_sha256": "abc",
        "codebook_name": "Small", "unit": "sentence", "workers": 2, "counts": {"passages": 6},
        "documents": [{"path": "a.txt", "encoding": "utf-8", "sha256": "f00", "passages": 6}],
        "skipped": [{"path": "b.bin", "reason": "binary"}],
        "codebook_codes": codebook_to_records(parse_codebook(CODEBOOK_YAML)),
        **extra, "cache": {"documents_reused": 1},
    }
    record = RunRecord.from_dict(data, folder="out")
    assert record.folder == "out"
    assert json.dumps(record.to_dict()) == json.dumps(data)


@pytest.mark.parametrize("earlier", ["same documents", "other documents", "other passages", "no note",
                                     "note of another environment", "rewritten since", "rewritten once read"])
def test_runs_documents_text_kept_only_from_the_run_json_this_environment_wrote(tmp_path, earlier):
    """A record whose documents are the last run's takes their text from its run.json only when that
    file is the one `remember_written_files` noted, as `record()` read it; either way run.json is what
    json.dumps writes (a run.json rewritten with escapes decodes to the same documents, not the same text)."""
    documents = [{"path": f"doc_{number}.txt", "encoding": "utf-8", "sha256": f"{number:064x}", "passages": number}
                 for number in range(3)] + [{"path": "é/中文.txt", "encoding": "gb18030", "sha256": "0" * 64, "passages": 2}]
    data = {
        "tool": "coder", "tool_version": "0.1.0", "started": "2026-11-24T12:00:00+00:00", "seconds": 1.5,
        "corpus": "seeds", "corpus_absolute": "/data/seeds", "codebook": "codebook.yaml", "codebook_sha256": "abc",
        "codebook_name": "Small", "unit": "sentence", "workers": 2, "counts": {"passages": 6, "segments_by_code": {"a": 1}},
        "documents": documents, "skipped": [{"path": "b.bin", "reason": "binary"}],
        "codebook_codes": codebook_to_records(parse_codebook(CODEBOOK_YAML)), "cache": {"documents_reused": 4},
    }
    changed = {"other documents": documents[:-1], "other passages": [*documents[:-1], {**documents[-1], "passages": 3}]}
    (tmp_path / "before").mkdir()
    (tmp_path / "new").mkdir()
    before = RunFolder(tmp_path / "before")
    before.write_record(RunRecord.from_dict({**data, "started": "2026-11-23T12:00:00+00:00",
                                             "documents": changed.get(earlier, documents)}, folder="before"))
    if earlier != "no note":
        before.remember_written_files()
    if earlier == "rewritten since":  # the same documents, escaped
        before.run_path.write_text(json.dumps(json.loads(before.run_path.read_text(encoding="utf-8")), indent=2),
                                   encoding="utf-8")
    if earlier == "note of another environment":
        note = before.cache_path / "segments_written.json"
        note.write_text(note.read_text(encoding="utf-8").replace('"environment": "', '"environment": "other '),
                        encoding="utf-8")
    last = RunFolder(tmp_path / "before")
    last.record()
    if earlier == "rewritten once read":
        last.run_path.write_text(last.run_path.read_text(encoding="utf-8").replace("doc_0", "doc_9"), encoding="utf-8")
    record = last.with_documents_text_kept(RunRecord.from_dict(data, folder="out"))
    RunFolder(tmp_path / "new").write_record(record)

    assert (record.documents_text is not None) is (earlier == "same documents")
    assert (tmp_path / "new" / "run.json").read_bytes() == (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def test_runs_keyword_recode_copies_the_documents_text_a_fresh_run_writes(tiny_corpus, tiny_codebook, tmp_path,
                                                                        monkeypatch):
    """A recode of an unchanged corpus copies the documents into run.json as the last run wrote them (none is
    encoded again): the text a fresh run writes."""
    from coder import runs

    fast, fresh = tmp_path / "fast", tmp_path / "fresh"
    run_ok(tiny_corpus, tiny_codebook, fast)
    tiny_codebook.write_text(tiny_codebook.read_text(encoding="utf-8").replace("[barrier*]", "[barrier*, cooperation]"),
                             encoding="utf-8")
    encoded, encode = [], runs._documents_text
    monkeypatch.setattr(runs, "_documents_text", lambda documents: encoded.append(len(documents)) or encode(documents))
    assert "edited code(s) again in the" in run_ok(tiny_corpus, tiny_codebook, fast)
    assert encoded == []
    run_ok(tiny_corpus, tiny_codebook, fresh)
    assert encoded == [2]

    def parts(folder):
        text = (folder / "run.json").read_text(encoding="utf-8")
        head, documents = text.split('\n  "documents": ')
        documents, tail = documents.split(',\n  "skipped": ')
        return documents, {key: value for key, value in json.loads(text).items() if key not in ("started", "seconds", "cache")}

    assert parts(fast) == parts(fresh)


_PLAIN = st.one_of(st.text(), st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                   st.booleans(), st.none())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.dictionaries(st.text(), _PLAIN, max_size=5),
                          st.dictionaries(st.text(), st.lists(_PLAIN, max_size=2), max_size=2)), max_size=6))
def test_runs_record_text_is_what_json_dumps_writes(documents):
    """run.json's documents are written by one C encoder call and its separators turned into line breaks:
    the same text as json.dumps with indent 2, for any plain documents ("}", quotes, control characters
    and line separators in keys and values), and as usual for any others (lists in them, empty ones)."""
    data = {
        "tool": "coder", "tool_version": "0.1.0", "started": "2026-11-24T12:00:00+00:00", "seconds": 1.5,
        "corpus": "seeds", "corpus_absolute": "/data/seeds", "codebook": "codebook.yaml", "codebook_sha256": "abc",
        "codebook_name": "Small", "unit": "sentence", "workers": 2, "counts": {"passages": 6},
        "documents": documents, "skipped": [], "codebook_codes": codebook_to_records(parse_codebook(CODEBOOK_YAML)),
    }
    assert _record_text(RunRecord.from_dict(data, folder="out"), Path("out")) == json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("codebook_file", [False, True])
def test_runs_folder_codebook_and_passage_total(tmp_path, monkeypatch, codebook_file):
    named = tmp_path / "named.yaml"
    if codebook_file:
        named.write_text(CODEBOOK_YAML.replace("name: Small", "name: From file"), encoding="utf-8")
    run = RunFolder.of_segments(write_run(tmp_path / "out", passages=40, codebook=str(named)) / "segments.csv")
    codebook = run.codebook()
    assert [code.id for code in codebook] == ["barriers", "admin", "local"]
    assert codebook["local"].label == "地方保护"
    # The file run.json names when it still exists, else the copy kept in run.json.
    assert (codebook.name, codebook.source) == (("From file", str(named)) if codebook_file else ("", str(run.run_path)))
    assert run.passage_total() == 40
    assert len(run.read_segments()) == 2


@pytest.mark.parametrize("passages", [6])
def test_runs_folder_without_run_json_ignores_working_directory(tmp_path, monkeypatch, passages):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "segments.csv").write_text(SEGMENTS_CSV, encoding="utf-8-sig")
    (tmp_path / "codebook.yaml").write_text(CODEBOOK_YAML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run = RunFolder.of_segments("out/segments.csv")
    assert (run.codebook(), run.passage_total()) == (None, None)
    assert [code.id for code in run.codebook("codebook.yaml")] == ["barriers", "admin", "local"]


@pytest.mark.parametrize("recorded", ["elsewhere/seeds"])
def test_runs_folder_corpus_path_falls_back_to_absolute(tmp_path, recorded):
    corpus = tmp_path / "seeds"
    corpus.mkdir()
    run = RunFolder(write_run(tmp_path / "out", corpus=recorded, corpus_absolute=str(corpus)))
    assert run.corpus_path() == corpus
    assert RunFolder(write_run(tmp_path / "other", corpus=str(corpus))).corpus_path() == corpus


@pytest.mark.parametrize("recorded", [".", "docs"])
def test_runs_folder_corpus_path_is_read_from_where_the_run_started(tmp_path, monkeypatch, recorded):
    """A relative corpus is the one the run coded, not the same name read from where a command runs: "."
    named the current folder, which every command then refused to write in (probe AJ3)."""
    started, elsewhere = (tmp_path / "docs", tmp_path) if recorded == "." else (tmp_path, tmp_path / "docs")
    (tmp_path / "docs" / "docs").mkdir(parents=True)  # a folder of the recorded name where the command runs
    run = RunFolder(write_run(tmp_path / "out", corpus=recorded, corpus_absolute=str(started / recorded),
                              started_in=os.path.relpath(started, tmp_path / "out")))
    monkeypatch.chdir(elsewhere)
    assert run.corpus_path() == tmp_path / "docs"
    monkeypatch.chdir(started)
    assert run.corpus_path() == Path(recorded)  # named as typed where the run started


@pytest.mark.parametrize("name", ["out"])
def test_runs_folder_layout(tmp_path, name):
    run = RunFolder(tmp_path / name)
    assert [path.relative_to(tmp_path / name).as_posix() for path in (
        run.segments_path, run.code_counts_path, run.run_path, run.index_path, run.changes_path, run.cache_path,
        run.previous.run_path,
    )] == ["segments.csv", "code_counts.csv", "run.json", ".segments_index.csv", "changes.csv", ".cache",
           ".previous/run.json"]


# --- a run is one unit: staging, swap, recovery, lock ---------------------------------------------

import errno  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from coder.cli import app  # noqa: E402

cli = CliRunner()


def coder_run(corpus, codebook, out, *extra):
    return cli.invoke(app, ["run", str(corpus), "--codebook", str(codebook), "--out", str(out), "--workers", "1", *extra])


def snapshot(folder):
    """Every file of a run folder (the cache and the lock file aside) with its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).parts[0] != ".cache" and path.name != ".coder.lock"
    }


def add_code(codebook):
    codebook.write_text(codebook.read_text(encoding="utf-8") + "  mayors:\n    keywords: [mayors]\n", encoding="utf-8")


class Killed(BaseException):
    """Stands for kill -9: nothing in the program gets to clean up."""


@pytest.fixture
def two_runs(tiny_corpus, tiny_codebook, tmp_path):
    """A folder holding a first run, the codebook edited for a second."""
    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out).exit_code == 0
    add_code(tiny_codebook)
    return tiny_corpus, tiny_codebook, out


@pytest.mark.parametrize("where, problem, exit_code, message", [
    ("write_graphml", OSError(errno.ENOSPC, "No space left on device", "network.graphml"), 1,
     "Error: network.graphml: No space left on device. The run was not saved: {out} still holds the previous run's outputs, unchanged.\n"),
    # A bug while writing is reported as one (it was "Could not write the outputs", and CODER_TRACEBACK
    # showed no traceback): the line starts so, the traceback's file follows.
    ("write_gexf", ValueError("All strings must be XML compatible"), 1,
     "Error: coder stopped on an internal error (ValueError: All strings must be XML compatible). The run was not saved: {out} still holds the previous run's outputs, unchanged. This is a bug in coder: please report it (the traceback is in "),
    ("write_graphml", KeyboardInterrupt(), 130,
     "Interrupted. The run was not saved: {out} still holds the previous run's outputs, unchanged.\n"),
    ("write_changes_csv", OSError(errno.ENOSPC, "No space left on device"), 1,
     "Error: No space left on device. The run was not saved: {out} still holds the previous run's outputs, unchanged.\n"),
])
def test_runs_failed_run_leaves_previous_set_whole(two_runs, monkeypatch, where, problem, exit_code, message):
    import coder.runner

    corpus, codebook, out = two_runs
    before = snapshot(out)

    def fail(*args, **kwargs):
        raise problem

    monkeypatch.setattr(coder.runner, where, fail)
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == exit_code
    if message.endswith("\n"):
        assert result.output == message.format(out=out)
    else:
        assert result.output.startswith(message.format(out=out))
        kept = Path(result.output.split("(the traceback is in ")[1].split(").")[0])
        assert "ValueError: All strings must be XML compatible" in kept.read_text(encoding="utf-8")
        kept.unlink()
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("held", ["segments.csv", "run.json", "report.html"])
def test_runs_a_file_another_program_holds_leaves_previous_set_whole(two_runs, monkeypatch, held):
    """Windows refuses to rename a file open in Excel (or R, or a viewer): the run stopped halfway
    through its renames, report and counts new beside an old segments.csv and run.json, and said the
    folder was unchanged (probe R4). It now finds the file before it changes anything."""
    corpus, codebook, out = two_runs
    before = snapshot(out)
    locked = os.path.abspath(out / held)
    renames = []
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if os.path.abspath(source) == locked or os.path.abspath(target) == locked:
            raise PermissionError(errno.EACCES, "The process cannot access the file because it is being used by "
                                  "another process", str(source))
        renames.append(target)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {out / held}: The process cannot access the file")
    assert "Close it and run again. The run was not saved: " in result.output
    assert result.output.endswith("still holds the previous run's outputs, unchanged.\n")
    assert snapshot(out) == before and not (out / ".staging").exists() and renames
    monkeypatch.setattr(os, "replace", real_replace)  # closed: the next run saves
    assert coder_run(corpus, codebook, out).exit_code == 0
    assert snapshot(out) != before and "mayors" in (out / "codes.csv").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("problem", [OSError(errno.ENOSPC, "No space left on device", "code_counts.csv")])
def test_runs_code_counts_failing_in_its_writer_thread_leaves_previous_set_whole(two_runs, monkeypatch, problem):
    """code_counts.csv is written in a thread of its own beside the network: its error is the run's."""
    import threading

    import coder.runner
    import coder.runs

    corpus, codebook, out = two_runs
    before = snapshot(out)
    write_csv = coder.runs.write_csv
    writer = threading.current_thread()

    def fail_for_code_counts(frame, path, **options):
        if os.path.basename(path) == "code_counts.csv":
            assert threading.current_thread() is not writer  # not in the run's own thread
            raise problem
        return write_csv(frame, path, **options)

    monkeypatch.setattr(coder.runs, "write_csv", fail_for_code_counts)
    monkeypatch.setattr(coder.runner, "write_csv", fail_for_code_counts)  # `coder run` writes it with the other counts
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output == (f"Error: code_counts.csv: No space left on device. The run was not saved: {out} still "
                             f"holds the previous run's outputs, unchanged.\n")
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("problem", [OSError(errno.ENOSPC, "No space left on device", "segments.parquet")])
def test_runs_segments_table_failing_in_its_writer_thread_leaves_previous_set_whole(two_runs, monkeypatch, problem):
    import coder.segments

    corpus, codebook, out = two_runs
    before = snapshot(out)
    write_parquet = coder.segments.write_parquet

    def fail_for_segments(table, path):
        if os.path.basename(path) == "segments.parquet":
            raise problem
        return write_parquet(table, path)

    monkeypatch.setattr(coder.segments, "write_parquet", fail_for_segments)
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output == (f"Error: segments.parquet: No space left on device. The run was not saved: {out} still "
                             f"holds the previous run's outputs, unchanged.\n")
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


def _network_full(failed):
    """A network writer that finds the disk full, saying so on `failed` (a threading.Event) first."""
    def fail(*args, **kwargs):
        failed.set()
        raise OSError(errno.ENOSPC, "No space left on device", "network.graphml")

    return fail


@pytest.mark.parametrize("later, message", [
    ("write_graphml", "Error: network.graphml: No space left on device. The run was not saved: {out} still holds the "
                      "previous run's outputs, unchanged.\n"),
])
def test_runs_segments_table_still_writing_when_a_later_step_fails_leaves_previous_set_whole(
        two_runs, monkeypatch, later, message):
    """segments.parquet is written beside the network and report: a later step failing while it is being
    written gives that step's error, and the staging folder goes only once the writer is done with it."""
    import threading

    import coder.runner
    import coder.segments

    corpus, codebook, out = two_runs
    before = snapshot(out)
    write_parquet = coder.segments.write_parquet
    failed = threading.Event()

    def slow_segments(table, path):
        if os.path.basename(path) == "segments.parquet":
            assert failed.wait(timeout=30)  # still writing when the network fails
            write_parquet(table, path)
            raise OSError(errno.ENOSPC, "No space left on device", "segments.parquet")
        return write_parquet(table, path)

    monkeypatch.setattr(coder.segments, "write_parquet", slow_segments)
    monkeypatch.setattr(coder.runner, later, _network_full(failed))
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output == message.format(out=out)
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("later, message", [
    ("write_graphml", "Error: network.graphml: No space left on device. The run was not saved: {out} still holds the "
                      "previous run's outputs, unchanged.\n"),
])
def test_runs_changes_still_writing_when_the_network_fails_leaves_previous_set_whole(
        two_runs, monkeypatch, later, message):
    """The count tables and changes.csv are written beside the network and report: the network failing
    while changes.csv is being written gives the network's error, and the staging folder goes only once
    that thread is done with it."""
    import threading

    import coder.runner

    corpus, codebook, out = two_runs
    before = snapshot(out)
    write_changes_csv = coder.runner.write_changes_csv
    failed, finished = threading.Event(), threading.Event()

    def slow_changes(comparison, path):
        assert failed.wait(timeout=30)  # still to write when the network fails
        written = write_changes_csv(comparison, path)
        finished.set()
        return written

    monkeypatch.setattr(coder.runner, "write_changes_csv", slow_changes)
    monkeypatch.setattr(coder.runner, later, _network_full(failed))
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output == message.format(out=out)
    assert finished.is_set()
    assert snapshot(out) == before
    assert not (out / ".staging").exists()


def test_runs_failed_first_run_says_nothing_was_written(tiny_corpus, tiny_codebook, tmp_path, monkeypatch):
    import coder.runner

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(coder.runner, "write_graphml", fail)
    result = coder_run(tiny_corpus, tiny_codebook, tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == (f"Error: No space left on device. The run was not saved: no outputs were written to "
                             f"{tmp_path / 'out'}.\n")
    assert snapshot(tmp_path / "out") == {}


def test_runs_control_character_label_is_a_codebook_error(tiny_corpus, tiny_codebook, tmp_path):
    """A label holding "\\x01" or NUL reached segments.csv and codes.csv as it was, and made the report's SVG
    export unreadable XML (probe AN2)."""
    text = tiny_codebook.read_text(encoding="utf-8").replace("label: Barriers", 'label: "Bar\\x01ri\\x1b[2Jers"')
    tiny_codebook.write_text(text, encoding="utf-8")
    result = coder_run(tiny_corpus, tiny_codebook, tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == (f"Error: {tiny_codebook}:10: code 'barriers': `label` holds the control character U+0001, "
                             f"which outputs cannot show. Remove that escape (a tab or a line break may stay).\n")
    assert not (tmp_path / "out").exists()


def test_runs_lone_surrogate_label_is_a_codebook_error(tiny_corpus, tiny_codebook, tmp_path):
    text = tiny_codebook.read_text(encoding="utf-8").replace("label: Barriers", 'label: "Bar\\ud800riers"')
    tiny_codebook.write_text(text, encoding="utf-8")
    result = coder_run(tiny_corpus, tiny_codebook, tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == (f"Error: {tiny_codebook}:10: code 'barriers': `label` holds a lone surrogate (\\ud800), "
                             f"which no file can store. Remove that escape.\n")
    assert not (tmp_path / "out").exists()


def _stop_before_renames(monkeypatch):
    """Make the next run stop right after writing its manifest, as kill -9 would."""
    def killed(self, manifest):
        raise Killed()

    monkeypatch.setattr(RunFolder, "_make_way", killed)


def test_runs_kill_at_any_rename_leaves_old_or_new_set(two_runs, tmp_path, monkeypatch):
    import coder.runs

    corpus, codebook, out = two_runs
    old = snapshot(out)
    with monkeypatch.context() as patch:
        _stop_before_renames(patch)
        with pytest.raises(Killed):
            from coder.runner import run_coding
            run_coding(corpus, codebook, out, workers=1)
    assert (out / ".staging" / "manifest.json").is_file()
    assert {name: data for name, data in snapshot(out).items() if not name.startswith(".staging/")} == old
    # What the finished swap gives: the reference for every stopping point below.
    complete = tmp_path / "complete"
    shutil.copytree(out, complete)
    assert RunFolder(complete).recover() == "finished"
    new = snapshot(complete)
    assert new != old and "changes.csv" in new and new[".previous/run.json"] == old["run.json"]
    renames = len(json.loads((out / ".staging" / "manifest.json").read_text())["files"])
    real_replace = os.replace
    # Stopped before each rename, then after the renames while deleting .staging/.
    for stop_after in range(renames + 1):
        folder = tmp_path / f"stopped{stop_after}"
        shutil.copytree(out, folder)
        done = []

        def replace(source, target, done=done, stop_after=stop_after):
            if ".staging" in str(source) and ".staging" not in str(target) and len(done) == stop_after:
                raise Killed()
            done.append(source)
            real_replace(source, target)

        def remove(folder):
            raise Killed()

        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", replace)
            if stop_after == renames:
                patch.setattr(coder.runs, "_remove", remove)
            with pytest.raises(Killed):
                RunFolder(folder).recover()
        assert RunFolder(folder).recover() == "finished"
        assert snapshot(folder) == new, stop_after
    # Stopped while the replaced files are moved aside (before the new ones go in): finished the same.
    manifest = json.loads((out / ".staging" / "manifest.json").read_text())
    asides = sum((out / name).is_file() for name in manifest["files"] + manifest["remove"])
    assert asides >= 10
    for stop_after in range(asides):
        folder = tmp_path / f"aside{stop_after}"
        shutil.copytree(out, folder)
        done = []

        def replace(source, target, done=done, stop_after=stop_after):
            if len(done) == stop_after:
                raise Killed()
            done.append(source)
            real_replace(source, target)

        with monkeypatch.context() as patch:
            patch.setattr(os, "replace", replace)
            with pytest.raises(Killed):
                RunFolder(folder)._make_way(manifest)
        assert RunFolder(folder).recover() == "finished"
        assert snapshot(folder) == new, stop_after


def test_runs_next_run_finishes_a_saved_run_and_reports_it(two_runs, monkeypatch):
    corpus, codebook, out = two_runs
    with monkeypatch.context() as patch:
        _stop_before_renames(patch)
        with pytest.raises(Killed):
            from coder.runner import run_coding
            run_coding(corpus, codebook, out, workers=1)
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Finished saving the run stopped in {out} before this one (its files were all "
                                    f"written); this run replaced it.\n")
    assert not (out / ".staging").exists()


def test_runs_next_run_removes_leftovers_of_a_killed_run(two_runs):
    corpus, codebook, out = two_runs
    before = snapshot(out)
    # A run killed while writing: an incomplete staging folder, temporary files of older versions,
    # one of them the hard link of segments.csv that keep_previous made in .previous/.
    (out / ".staging" / ".previous").mkdir(parents=True)
    (out / ".staging" / "segments.csv").write_text("half", encoding="utf-8")
    (out / ".run.json.x1y2z3.tmp").write_text("{", encoding="utf-8")
    (out / ".previous").mkdir(exist_ok=True)
    os.link(out / "segments.csv", out / ".previous" / ".segments.csv.a1b2c3.tmp")
    assert RunFolder(out).recover() == "discarded"
    assert snapshot(out) == before
    (out / ".staging").mkdir()
    os.link(out / "segments.csv", out / ".previous" / ".segments.csv.a1b2c3.tmp")
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Removed the unfinished files of a run stopped in {out}; the outputs before it were whole.\n")
    assert not list(out.rglob("*.tmp")) and not (out / ".staging").exists()
    assert os.stat(out / ".previous" / "segments.parquet").st_nlink == 1  # no orphaned copy holds the old file


def _windows_deletes(patch, *, held=None, folder_renamed=True):
    """os.unlink and os.replace as on Windows: a file without its write bit (Properties > Read-only,
    `attrib +r`) can be renamed but not deleted or replaced. `held` (a function of the path): a file
    that cannot be deleted; with `folder_renamed` False, a folder holding one cannot be renamed either
    (another program has it open)."""
    import stat

    unlink, replace = os.unlink, os.replace

    def refused(path, dir_fd=None):
        try:
            status = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return False
        return stat.S_ISREG(status.st_mode) and not status.st_mode & stat.S_IWUSR or (
            held is not None and held(Path(path)))

    def windows_unlink(path, *, dir_fd=None):
        if refused(path, dir_fd):
            raise PermissionError(errno.EACCES, "Access is denied", str(path))
        return unlink(path, dir_fd=dir_fd)

    def windows_replace(source, target, *args, **kwargs):
        if refused(target) or (not folder_renamed and any(held(path) for path in Path(source).rglob("*"))):
            raise PermissionError(errno.EACCES, "Access is denied", str(target))
        return replace(source, target, *args, **kwargs)

    patch.setattr(shutil, "_use_fd_functions", False)  # rmtree by whole paths, as on Windows
    patch.setattr(os, "unlink", windows_unlink)
    patch.setattr(os, "remove", windows_unlink)
    patch.setattr(os, "replace", windows_replace)


@pytest.mark.parametrize("read_only", ["segments.csv", "report.html"])
def test_runs_read_only_output_on_windows_is_replaced_and_later_runs_go_on(two_runs, monkeypatch, read_only):
    """A segments.csv the user marked read-only was moved into .staging/.replaced/, the new outputs moved
    in, and then .staging/ could not be deleted (Windows deletes no read-only file): the run said "The run
    was not saved: ... unchanged", which was false, and every later run stopped on it (probe AH5)."""
    corpus, codebook, out = two_runs
    (out / read_only).chmod(0o444)
    _windows_deletes(monkeypatch)
    for _ in range(2):
        result = coder_run(corpus, codebook, out)
        assert result.exit_code == 0, result.output
        assert "Error" not in result.output and "Warning" not in result.output
        assert not (out / ".staging").exists()
        assert "mayors" in (out / "codes.csv").read_text(encoding="utf-8-sig")


def test_runs_staging_left_read_only_by_an_earlier_version_is_removed(two_runs, monkeypatch):
    """The .staging/ such a run left (its manifest gone or not) stops the next run no more."""
    corpus, codebook, out = two_runs
    (out / ".staging" / ".replaced").mkdir(parents=True)
    (out / ".staging" / ".replaced" / "segments.csv").write_text("old", encoding="utf-8")
    (out / ".staging" / ".replaced" / "segments.csv").chmod(0o444)
    _windows_deletes(monkeypatch)
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("folder_renamed", [True, False])
def test_runs_staging_that_cannot_be_deleted_after_the_run_is_a_warning(two_runs, monkeypatch, folder_renamed):
    """A file in .staging/.replaced/ another program holds: the run is saved and says so, with a warning
    naming the folder left; the next run is not stopped by it when the folder could be renamed aside,
    and says truly that nothing changed when even that is impossible."""
    corpus, codebook, out = two_runs
    stuck = out / ".staging" / ".replaced" / "report.html"
    with monkeypatch.context() as patch:
        _windows_deletes(patch, held=lambda path: path.name == "report.html" and path.parent.name == ".replaced",
                         folder_renamed=folder_renamed)
        result = coder_run(corpus, codebook, out)
        assert result.exit_code == 0, result.output
        assert "mayors" in (out / "codes.csv").read_text(encoding="utf-8-sig")
        if folder_renamed:
            assert (f"Warning: {out / '.staging'} could not be deleted ({stuck}: Access is denied); it was renamed "
                    f"{out / '.staging-left-1'}. It holds no outputs, only files of an earlier run; delete it by hand.\n"
                    ) in result.output
            assert not (out / ".staging").exists() and (out / ".staging-left-1" / ".replaced" / "report.html").is_file()
        else:
            assert (f"Warning: {out / '.staging'} could not be deleted ({stuck}: Access is denied). It holds no "
                    f"outputs, only files of an earlier run; delete it by hand.\n") in result.output
            before = snapshot(out)
            result = coder_run(corpus, codebook, out)
            assert result.exit_code == 1
            assert result.output == (
                f"Error: {out / '.staging'} could not be deleted ({stuck}: Access is denied). Close the program that "
                f"holds it, or delete the folder by hand, and run again. The run was not saved: {out} still holds the "
                f"previous run's outputs, unchanged.\n")
            assert snapshot(out) == before
    result = coder_run(corpus, codebook, out)  # closed: the next run saves, and removes what was left
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    assert not (out / ".staging").exists() and not (out / ".staging-left-1").exists()


def test_runs_second_run_into_a_locked_folder_stops(two_runs):
    from filelock import FileLock

    corpus, codebook, out = two_runs
    before = snapshot(out)
    with FileLock(out / ".coder.lock", timeout=0):
        result = coder_run(corpus, codebook, out)
    assert result.exit_code == 1
    assert result.output == (f"Error: {out}: another coder command (`coder run` or `coder review import`) is writing "
                             f"here right now (it holds .coder.lock). Wait for it to finish, then try again.\n")
    assert snapshot(out) == before


@pytest.mark.parametrize("codebook_folder", ["."])
def test_runs_run_beside_a_run_of_the_same_codebook_names_the_review_file(tmp_path, monkeypatch, codebook_folder):
    """A run of another corpus into another folder, with the codebook of a run going on, is refused because they
    share the review file: the message said `.: another coder command ... is writing here`, "." being the
    codebook's folder, which read as the output folder (probe HH6)."""
    from conftest import invoke
    from filelock import FileLock

    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Mayors held a joint meeting.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("name: T\ncodes:\n  joint_meeting:\n    keywords: [joint meeting]\n",
                                            encoding="utf-8")
    with FileLock(tmp_path / ".coder.lock", timeout=0):  # what the first run holds for its whole run
        result = invoke("run", "corpus", "--codebook", f"{codebook_folder}/codebook.yaml", "--out", "other", "--quiet")
    assert result.exit_code == 1
    assert result.output == (f"Error: reviews.csv in {tmp_path} is being updated by another coder command right now "
                             f"(a `coder run` with this review file, from its start to its end, or a `coder review "
                             f"import`; it holds {tmp_path / '.coder.lock'}). Runs that share a review file take turns, "
                             f"so that neither loses a decision the other imports: wait for it to finish, then try again.\n")
    assert not (tmp_path / "other" / "run.json").exists()


def test_runs_lock_of_a_killed_process_does_not_block(two_runs):
    corpus, codebook, out = two_runs
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire(); "
                               "print('held', flush=True); time.sleep(60)", str(out / ".coder.lock")],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline() == "held\n"
    assert coder_run(corpus, codebook, out).exit_code == 1
    holder.kill()  # SIGKILL: the process never releases the lock itself
    holder.wait()
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output


def test_runs_review_import_waits_for_no_one_while_a_folder_is_locked(tmp_path):
    from filelock import FileLock

    segments = tmp_path / "segments.csv"
    segments.write_text(SEGMENTS_CSV, encoding="utf-8")
    reviews = tmp_path / "reviews.csv"
    with FileLock(tmp_path / ".coder.lock", timeout=0):
        result = cli.invoke(app, ["review", "import", str(segments), "--reviews", str(reviews)])
    assert result.exit_code == 1
    assert result.output == (f"Error: reviews.csv in {tmp_path} is being updated by another coder command right now "
                             f"(a `coder run` with this review file, from its start to its end, or a `coder review "
                             f"import`; it holds {tmp_path / '.coder.lock'}). Runs that share a review file take turns, "
                             f"so that neither loses a decision the other imports: wait for it to finish, then try again.\n")
    assert not reviews.exists()
    assert cli.invoke(app, ["review", "import", str(segments), "--reviews", str(reviews)]).exit_code == 0
    assert reviews.is_file()


# --- Parquet: the segment data of record ---------------------------------------------------------


def _parquet_only(out):
    for name in ("segments.csv", "passages.csv"):
        (out / name).unlink(missing_ok=True)


@pytest.mark.parametrize("mode, csv_written", [("auto", True), ("always", True), ("never", False)])
def test_runs_parquet_always_written_csv_by_mode(tiny_corpus, tiny_codebook, tmp_path, mode, csv_written):
    from conftest import invoke

    out = tmp_path / "out"
    result = invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "--csv", mode, "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "segments.parquet").is_file() and (out / "passages.parquet").is_file()
    assert (out / "segments.csv").is_file() == csv_written and (out / "passages.csv").is_file() == csv_written
    assert not (out / ".segments_index.csv").exists()  # folded into segments.parquet


@pytest.mark.parametrize("limit", [1])
def test_runs_csv_auto_leaves_out_big_runs_and_removes_an_old_csv(tiny_corpus, tiny_codebook, tmp_path, monkeypatch, limit):
    from conftest import invoke

    import coder.runs

    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q").exit_code == 0
    assert (out / "segments.csv").is_file()
    monkeypatch.setattr(coder.runs, "CSV_AUTO_MAX_SEGMENTS", limit)
    result = invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out)
    assert result.exit_code == 0, result.output
    assert not (out / "segments.csv").exists() and not (out / "passages.csv").exists()
    assert (out / ".previous" / "segments.parquet").is_file() and not (out / ".previous" / "segments.csv").exists()
    # said, not left to be found out (a reviewer who worked from segments.csv finds it gone)
    assert f"No segments.csv or passages.csv: more than {limit:,} segments" in result.output
    never = invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", tmp_path / "never", "--csv", "never")
    assert never.exit_code == 0 and "No segments.csv" not in never.output


@pytest.mark.parametrize("mode", ["sometimes"])
def test_runs_csv_mode_must_be_known(tiny_corpus, tiny_codebook, tmp_path, mode):
    from conftest import invoke

    result = invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", tmp_path / "out", "--csv", mode)
    assert result.exit_code == 2
    assert "--csv" in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("columns", [None])
def test_runs_read_segments_parquet_equals_the_csv(tiny_corpus, tiny_codebook, tmp_path, columns):
    import pandas as pd
    from conftest import invoke

    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q").exit_code == 0
    from_csv, passages_csv = RunFolder(out).read_segments(columns=columns), RunFolder(out).read_passages()
    _parquet_only(out)
    run = RunFolder(out)
    from_parquet = run.read_segments(columns=columns)
    if "text" in from_parquet.columns:  # an object column: a passage's segments share its one string
        assert from_parquet["text"].dtype == object
        shared = from_parquet.groupby(["document", "passage"])["text"].agg(lambda texts: len({id(text) for text in texts}))
        assert shared.max() == 1 and len(shared) < len(from_parquet)
        from_parquet = from_parquet.astype({"text": from_csv["text"].dtype})
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    pd.testing.assert_frame_equal(run.read_passages(), passages_csv)
    assert run.read_segments(columns=["document", "passage", "code"]).columns.tolist() == ["document", "passage", "code"]
    assert len(run.read_segment_index()) == len(from_csv) and len(run.read_written_reviews()) == len(from_csv)


@pytest.mark.parametrize("stored", ["csv", "parquet"])
def test_runs_read_segments_of_some_ids_are_those_rows_of_the_whole(tiny_corpus, tiny_codebook, tmp_path, stored):
    import pandas as pd
    from conftest import invoke

    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q").exit_code == 0
    if stored == "parquet":
        _parquet_only(out)
    run = RunFolder(out)
    whole = run.read_segments()
    first, last = whole["segment_id"].iloc[0], whole["segment_id"].iloc[-1]
    some = run.read_segments(segment_ids={first, "s0000000000000000"})
    pd.testing.assert_frame_equal(some, whole[whole["segment_id"].isin([first])])
    some = run.read_segments(segment_ids={first, last})
    pd.testing.assert_frame_equal(some, whole[whole["segment_id"].isin([first, last])])
    assert run.read_segments(segment_ids=set()).empty


@pytest.mark.parametrize("command", [
    ("network", "{out}/segments.csv", "--out", "{tmp}/net"),
    ("network", "{out}/segments.parquet", "--out", "{tmp}/net"),
    ("network", "{out}", "--out", "{tmp}/net"),
    ("review", "status", "--segments", "{out}/segments.csv", "--codebook", "{codebook}"),
    ("export", "xlsx", "--segments", "{out}/segments.csv", "--out", "{tmp}/book.xlsx", "--codebook", "{codebook}"),
    ("export", "qdpx", "--segments", "{out}/segments.csv", "--out", "{tmp}/p.qdpx"),
    ("sample", "2", "--segments", "{out}/segments.csv", "--out", "{tmp}/sample.csv"),
    ("diff", "{out}/.previous", "{out}"),
])
def test_runs_commands_read_a_run_without_csv(tiny_corpus, tiny_codebook, tmp_path, command):
    from conftest import invoke

    out = tmp_path / "out"
    for _ in range(2):
        assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q", "--csv", "never").exit_code == 0
    assert not (out / "segments.csv").exists()
    args = [part.format(out=out, tmp=tmp_path, codebook=tiny_codebook) for part in command]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "Error" not in result.output


@pytest.mark.parametrize("parts", [2])
def test_runs_segments_in_part_files_read_in_part_order(tiny_corpus, tiny_codebook, tmp_path, parts):
    import pandas as pd
    from conftest import invoke

    from coder.segments import write_segments_part

    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q").exit_code == 0
    whole, passages = RunFolder(out).read_segments(), RunFolder(out).read_passages()
    split = tmp_path / "parts"
    documents = list(dict.fromkeys(whole["document"]))
    for part, chunk in enumerate([documents[: len(documents) // 2], documents[len(documents) // 2:]][:parts]):
        write_segments_part(whole[whole["document"].isin(chunk)].drop(columns="text"),
                            passages[passages["document"].isin(chunk)], split, part)
    (split / "run.json").write_bytes((out / "run.json").read_bytes())
    from_parts = RunFolder(split).read_segments()
    assert from_parts["text"].dtype == object  # (the passages' shared strings)
    pd.testing.assert_frame_equal(from_parts.astype({"text": whole["text"].dtype}), whole)
    pd.testing.assert_frame_equal(RunFolder(split).read_passages(), passages)


def test_runs_damaged_segment_data_of_the_previous_run_does_not_block_the_next(two_runs):
    corpus, codebook, out = two_runs
    (out / "segments.csv").unlink()
    (out / "segments.parquet").write_bytes(b"PAR1 not a table PAR1")
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output
    assert "Warning: not compared with the previous run (no changes.csv): " in result.output
    assert "segments.parquet: cannot read it as Parquet" in result.output
    assert not (out / "changes.csv").exists()
    assert len(pd.read_parquet(out / "segments.parquet")) == len(pd.read_csv(out / "segments.csv", encoding="utf-8-sig"))
    again = coder_run(corpus, codebook, out)
    assert again.exit_code == 0 and "not compared" not in again.output
    assert (out / "changes.csv").is_file()


@pytest.mark.parametrize("table", ["segments.parquet", "passages.parquet"])
@pytest.mark.needs_symlinks
def test_runs_a_link_planted_as_a_parquet_table_is_not_followed(tmp_path, tiny_corpus, tiny_codebook, table):
    """The previous run's tables are linked into .previous/ for the comparison: a link planted in a
    table's place (to a folder outside) was followed, and every file of that folder copied in."""
    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never").exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours", encoding="utf-8")
    if (out / table).is_dir():
        shutil.rmtree(out / table)
    else:
        (out / table).unlink()
    (out / table).symlink_to(outside, target_is_directory=True)
    result = coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never")
    assert result.exit_code == 0, result.output
    assert not [path for path in out.rglob("secret.txt")]
    assert (out / table).is_file() and not (out / table).is_symlink()
    assert (outside / "secret.txt").read_text(encoding="utf-8") == "not yours"
    if table == "segments.parquet":  # the last run's segments not kept: the warning says why
        assert "Warning: not compared with the previous run" in result.output
        assert "no segment table beside run.json" in result.output and "a link in their place" in result.output


@pytest.mark.parametrize("name", [".cache/presented.json", ".cache/cooccurrence_counts.json", ".cache/corpus_stamps.json",
                                  ".cache/segments_written.json", "run.json"])
def test_runs_json_nested_too_deeply_in_a_run_folder_is_damage_not_a_crash(tmp_path, tiny_corpus, tiny_codebook, name):
    """A file of the run folder holding JSON nested deeper than the parser goes (200,000 brackets) ended
    a run or a command with a RecursionError and its traceback: a file the run keeps for itself is
    read as damaged (the run goes on), run.json is named in the message and written anew."""
    from conftest import invoke

    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never").exit_code == 0
    (out / name).write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    if name == "run.json":
        network = invoke("network", out, "--out", tmp_path / "network")
        assert network.exit_code == 1 and "Traceback" not in network.output
        assert "run.json is nested too deeply to be a run's record" in network.output

    result = coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never")

    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert RunFolder(out).record().counts["segments"] > 0  # run.json written anew


def test_runs_a_parquet_table_that_decodes_into_gigabytes_is_not_read(tmp_path, tiny_corpus, tiny_codebook):
    """A segments.parquet left in a run folder whose 8 KB decode into 80 MB (a cell of one repeated
    character; 300 MB of such cells cost a run 1.6 GB and 6 s, 3 GB got it killed) is not read: the run
    goes on without comparing (the warning says why); a command reading it stops, naming the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import invoke

    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never").exit_code == 0
    table = pq.read_table(out / "segments.parquet")
    ids = table["segment_id"].to_pylist()
    ids[0] = "a" * 80_000_000
    table = table.set_column(table.schema.get_field_index("segment_id"), "segment_id", pa.array(ids, type=pa.string()))
    pq.write_table(table, out / "segments.parquet", compression="zstd")
    del table, ids
    assert (out / "segments.parquet").stat().st_size < 100_000

    result = coder_run(tiny_corpus, tiny_codebook, out, "--csv", "never")

    assert result.exit_code == 0, result.output
    assert "Warning: not compared with the previous run" in result.output
    assert "more than a table coder writes ever does" in result.output
    # The file named where it is after the run, not where it was while the run was staged.
    assert f"{out / '.previous' / 'segments.parquet'}: cannot read it as Parquet" in result.output
    assert ".staging" not in result.output and (out / ".previous" / "segments.parquet").is_file()
    assert pq.read_metadata(out / "segments.parquet").num_rows == RunFolder(out).record().counts["segments"]
    network = invoke("network", out / ".previous", "--out", tmp_path / "network")
    assert network.exit_code == 1
    assert "segments.parquet: cannot read it as Parquet (its columns would take 80 MB" in network.output
    assert "Traceback" not in network.output


@pytest.mark.parametrize("columns", [["segment_id", "code", "document", "fingerprint", "passage", "source", "span_text"]])
def test_runs_segment_index_of_table_is_the_index_read(tiny_corpus, tiny_codebook, tmp_path, columns):
    """A recode hands the statuses and the comparison the segment index of the rows it read: the frame
    `read_segment_index` reads (columns, order, types)."""
    import pandas as pd
    import pyarrow.parquet as pq
    from conftest import invoke

    from coder.runs import segment_index_of_table

    out = tmp_path / "out"
    assert invoke("run", tiny_corpus, "--codebook", tiny_codebook, "--out", out, "-q").exit_code == 0
    run = RunFolder(out)
    pd.testing.assert_frame_equal(segment_index_of_table(pq.read_table(run.segments_parquet_path, columns=columns)),
                                  run.read_segment_index())


def test_runs_record_as_read_back_is_the_record_read_from_its_file(tmp_path):
    """A record built by a run, as the folder it is written to reads it back (rules, morphology and
    a Chinese keyword in its codebook; documents with warnings)."""
    codebook = parse_codebook(CODEBOOK_YAML.replace("codes:\n", "codes:\n  rules_code:\n    label: 规则\n"
                                                    "    morphology: derivational\n    keywords: [区域合作]\n"
                                                    "    rules:\n      - near: [[a, b], [c]]\n        within: 3\n", 1))
    record = RunRecord(tool_version="0.1.0", started="2026-11-24T12:00:00+00:00", seconds=1.5, corpus="seeds",
                       codebook="codebook.yaml", codebook_sha256="abc", unit="sentence", workers=2,
                       counts={"passages": 6, "segments_by_code": {"a": 1}},
                       documents=({"path": "é/中文.txt", "encoding": "gb18030", "sha256": "0" * 64, "passages": 2,
                                   "warnings": ["odd bytes"]},),
                       skipped=({"path": "b.bin", "reason": "binary"},),
                       codebook_codes=tuple(codebook_to_records(codebook)), cache={"documents_reused": 1})
    folder = RunFolder(tmp_path)
    folder.write_record(record)

    assert record.as_read_back(tmp_path) == folder.record()


@pytest.mark.parametrize("change", ["none", "rewritten alike", "removed", "never read", "damaged"])
def test_runs_record_if_unchanged_only_while_run_json_is_the_file_read(tmp_path, change):
    run = RunFolder(write_run(tmp_path / "r"))
    if change == "damaged":
        run.run_path.write_text("{", encoding="utf-8")
        with pytest.raises(OutputError):
            run.record()
        assert run.record_if_unchanged() is None
        return
    if change != "never read":
        record = run.record()
    text = run.run_path.read_bytes()
    if change == "rewritten alike":
        run.run_path.unlink()
        run.run_path.write_bytes(text)  # another file, the same text
    elif change == "removed":
        run.run_path.unlink()

    assert run.record_if_unchanged() is (record if change == "none" else None)


@pytest.mark.parametrize("name", ["segments.csv", "the workbook"])
@pytest.mark.needs_symlinks
def test_runs_a_link_planted_where_decisions_are_read_stops_the_run_unread(tmp_path, tiny_corpus, tiny_codebook, name):
    """segments.csv (and the exported workbook) are read for the decisions typed into them: a link
    planted in their place is neither followed (it could point at any file) nor silently replaced
    (it may stand for someone's typing). The run stops, names it, and changes nothing."""
    from coder.runs import WORKBOOK_FILE

    name = WORKBOOK_FILE if name == "the workbook" else name
    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out).exit_code == 0
    outside = tmp_path / "outside.csv"
    outside.write_text("segment_id,review\nsnot_yours,reject\n", encoding="utf-8")
    (out / name).unlink(missing_ok=True)
    (out / name).symlink_to(outside)
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file() and not path.is_symlink()}

    result = coder_run(tiny_corpus, tiny_codebook, out)

    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{name}: a link, not the file coder wrote" in " ".join(result.output.split())
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file() and not path.is_symlink()} == before
    assert (out / name).is_symlink() and not (tiny_codebook.parent / "reviews.csv").exists()
    assert outside.read_text(encoding="utf-8") == "segment_id,review\nsnot_yours,reject\n"


def run_with_piped_codebook(corpus, codebook_text, out, *extra):
    """`coder run` with the codebook read from a pipe, as `--codebook <(...)` gives it in a shell."""
    reading, writing = os.pipe()
    os.write(writing, codebook_text.encode("utf-8"))  # a small codebook fits in the pipe's buffer
    os.close(writing)
    try:
        return subprocess.run(
            [sys.executable, "-m", "coder", "run", str(corpus), "--codebook", f"/dev/fd/{reading}", "--out", str(out),
             "--workers", "1", "--quiet", *extra], pass_fds=(reading,), capture_output=True, text=True, timeout=300)
    finally:
        os.close(reading)


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="no /dev/fd on this system")
def test_runs_codebook_read_from_a_pipe_codes_as_from_its_file(tiny_corpus, tiny_codebook, tmp_path):
    """A pipe can be read once: the run reads it, and the folder it sits in (which takes no files)
    needs no lock while nothing is to be written there."""
    assert coder_run(tiny_corpus, tiny_codebook, tmp_path / "from_file").exit_code == 0
    result = run_with_piped_codebook(tiny_corpus, tiny_codebook.read_text(encoding="utf-8"), tmp_path / "from_pipe")
    assert (result.returncode, result.stderr) == (0, "")
    from_file = pd.read_parquet(tmp_path / "from_file" / "segments.parquet")
    assert len(from_file) > 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "from_pipe" / "segments.parquet"), from_file)


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="no /dev/fd on this system")
def test_runs_decisions_typed_with_a_piped_codebook_need_a_review_file_that_can_be_written(
        tiny_corpus, tiny_codebook, tmp_path):
    out, reviews = tmp_path / "out", tmp_path / "kept" / "reviews.csv"
    codebook_text = tiny_codebook.read_text(encoding="utf-8")
    assert run_with_piped_codebook(tiny_corpus, codebook_text, out).returncode == 0
    typed = pd.read_csv(out / "segments.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    typed.loc[0, "review"] = "reject"
    typed.to_csv(out / "segments.csv", index=False, encoding="utf-8-sig")
    before = snapshot(out)
    refused = run_with_piped_codebook(tiny_corpus, codebook_text, out)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: /dev/fd: cannot write in this folder (")  # a device folder
    assert refused.stderr.endswith("). The decisions typed into segments.csv go to reviews.csv there: pass --reviews "
                                   "with a file in a folder you can write in.\n")
    assert refused.stderr.count("\n") == 1 and snapshot(out) == before
    kept = run_with_piped_codebook(tiny_corpus, codebook_text, out, "--reviews", str(reviews))
    assert (kept.returncode, kept.stderr) == (0, "")
    decisions = pd.read_csv(reviews, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert decisions[["segment_id", "decision"]].values.tolist() == [[typed.loc[0, "segment_id"], "reject"]]


def run_with_codebook_on_stdin(corpus, codebook, out, *extra):
    """`coder run CORPUS --codebook /dev/stdin < codebook.yaml`: stdin redirected from the file."""
    with open(codebook, "rb") as stdin:
        return subprocess.run(
            [sys.executable, "-m", "coder", "run", str(corpus), "--codebook", "/dev/stdin", "--out", str(out),
             "--workers", "1", "--quiet", *extra], stdin=stdin, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not os.path.exists("/dev/stdin"), reason="no /dev/stdin on this system")
@pytest.mark.parametrize("codebook_path", ["/dev/stdin"])
def test_runs_decisions_typed_with_a_codebook_under_dev_need_a_review_file_outside_it(
        tiny_corpus, tiny_codebook, tmp_path, codebook_path):
    """--codebook /dev/stdin < codebook.yaml imported typed decisions into /dev/reviews.csv, which a reboot
    empties (probe KK10), where /dev is writable (as root): refused as a pipe's /dev/fd is, until --reviews."""
    out, reviews = tmp_path / "out", tmp_path / "kept" / "reviews.csv"
    first = run_with_codebook_on_stdin(tiny_corpus, tiny_codebook, out)
    assert (first.returncode, first.stderr) == (0, "")
    typed = pd.read_csv(out / "segments.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    typed.loc[0, "review"] = "reject"
    typed.to_csv(out / "segments.csv", index=False, encoding="utf-8-sig")
    before = snapshot(out)
    refused = run_with_codebook_on_stdin(tiny_corpus, tiny_codebook, out)
    assert (refused.returncode, refused.stderr) == (
        1, "Error: /dev: cannot write in this folder (a device folder, which a reboot empties). The decisions typed "
           "into segments.csv go to reviews.csv there: pass --reviews with a file in a folder you can write in.\n")
    assert snapshot(out) == before
    kept = run_with_codebook_on_stdin(tiny_corpus, tiny_codebook, out, "--reviews", str(reviews))
    assert (kept.returncode, kept.stderr) == (0, "")
    decisions = pd.read_csv(reviews, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert decisions[["segment_id", "decision"]].values.tolist() == [[typed.loc[0, "segment_id"], "reject"]]


@pytest.mark.skipif(not os.path.isdir("/dev/shm") or os.name != "posix", reason="no /dev/shm on this system")
def test_runs_review_file_is_refused_in_dev_through_a_link_but_kept_in_dev_shm(tmp_path):
    """A review file in a folder linked to /dev was made there (probe NN7); one in /dev/shm, a folder of files
    like /tmp, named with --reviews, was refused as a device folder (probe NN8)."""
    from coder.reviews import review_file_lock

    (tmp_path / "linked").symlink_to("/dev")
    with pytest.raises(OutputError, match="cannot write in this folder"):
        with review_file_lock(tmp_path / "linked" / "reviews.csv"):
            pass
    shared = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        with review_file_lock(shared / "reviews.csv"):
            (shared / "reviews.csv").write_text("kept", encoding="utf-8")
        assert (shared / "reviews.csv").read_text(encoding="utf-8") == "kept"
    finally:
        shutil.rmtree(shared)


def test_runs_output_folder_that_cannot_be_made_is_one_error_line(tiny_corpus, tiny_codebook, tmp_path):
    (tmp_path / "a_file").write_text("not a folder", encoding="utf-8")
    result = coder_run(tiny_corpus, tiny_codebook, tmp_path / "a_file" / "out")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {tmp_path / 'a_file' / 'out'}: cannot write in this folder (")
    assert result.output.endswith("). Choose a folder you can write in.\n") and result.output.count("\n") == 1


def test_runs_documents_named_at_the_file_systems_limit_are_coded_and_their_texts_kept(tmp_path):
    """CNKI titles make long names: 80 Chinese characters are 240 bytes, and texts/<name>.txt (or its
    temporary file) passed the 255 bytes a file name may take, which stopped the run. The kept text's
    name is shortened with a hash; every later command finds it there."""
    corpus = tmp_path / "corpus"
    (corpus / "子目录").mkdir(parents=True)
    names = [("长三角区域合作治理研究" * 8)[:78] + ".rtf", "子目录/" + "长" * 82 + ".rtf", "x" * 251 + ".rtf"]
    for name in names:
        (corpus / name).write_bytes(rb"{\rtf1\ansi Cities hold joint meetings.\par}")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  meetings:\n    keywords: [joint meeting]\n", encoding="utf-8")
    out = tmp_path / "out"
    result = coder_run(corpus, codebook, out)
    assert result.exit_code == 0, result.output
    run = RunFolder(out)
    kept = {name: run.text_path(name) for name in names}
    assert all(path.read_text(encoding="utf-8") == "Cities hold joint meetings." for path in kept.values())
    assert all(len(path.name.encode()) <= 255 for path in kept.values())
    assert kept[names[0]].name == names[0] + ".txt"  # a name that fits is kept as it is
    assert sorted(path.relative_to(out / "texts").as_posix() for path in (out / "texts").rglob("*.txt")) == sorted(
        path.relative_to(out / "texts").as_posix() for path in kept.values())
    assert [document.text for document in run.read_corpus().documents] == ["Cities hold joint meetings."] * 3
    assert set(pd.read_parquet(out / "segments.parquet")["document"]) == set(names)
    # run.json names each file as it is (it named texts/<name>.txt for a shortened one too; probe R13)
    recorded = {item["path"]: item["text"] for item in json.loads((out / "run.json").read_text())["documents"]}
    assert all((out / recorded[name]).resolve() == kept[name].resolve() for name in names)
    again = coder_run(corpus, codebook, out, "--no-cache")
    assert again.exit_code == 0, again.output


def test_runs_folder_of_the_researchers_own_files_is_refused_not_overwritten(tiny_corpus, tiny_codebook, tmp_path):
    """`--out .` in a project folder replaced its codes.csv, report.html and segments.csv and deleted its
    changes.csv. A folder without run.json whose files of those names coder did not write is refused,
    untouched; a folder of coder's own outputs (a `coder network` folder too) is written again."""
    project = tmp_path / "project"
    project.mkdir()
    mine = {"codes.csv": "my hand-made list of codes\n", "report.html": "<h1>Chapter 3 draft</h1>\n",
            "changes.csv": "what I changed, by date\n", "segments.csv": "id,quote\n1,from NVivo\n", "notes.txt": "keep\n"}
    for name, text in mine.items():
        (project / name).write_text(text, encoding="utf-8")
    result = coder_run(tiny_corpus, tiny_codebook, project)
    assert result.exit_code == 1
    assert result.output == (f"Error: {project}: holds segments.csv, changes.csv, codes.csv, report.html, which coder did "
                             f"not write (the folder has no run.json): coder would replace them. Choose another --out "
                             f"folder, or move them away.\n")
    assert {path.name: path.read_text(encoding="utf-8") for path in project.iterdir() if path.name != ".coder.lock"} == mine
    # coder's own outputs, without run.json: a network folder, written twice
    out = tmp_path / "out"
    assert coder_run(tiny_corpus, tiny_codebook, out).exit_code == 0
    network = cli.invoke(app, ["network", str(out / "segments.csv"), "--out", str(project)])
    assert network.exit_code == 1 and "which coder did not write" in network.output
    for _ in range(2):
        again = cli.invoke(app, ["network", str(out / "segments.csv"), "--out", str(tmp_path / "network")])
        assert again.exit_code == 0, again.output
    (out / "run.json").unlink()  # a run folder whose run.json was lost is still recognised by its files
    assert coder_run(tiny_corpus, tiny_codebook, out).exit_code == 0


@pytest.mark.parametrize("inside", ["", "out", "deeper/out"])
def test_runs_output_folder_inside_the_corpus_is_refused(tiny_corpus, tiny_codebook, inside):
    """Outputs inside the corpus were read as documents by the next run: 5, 7, then 9 documents."""
    out = tiny_corpus / inside if inside else tiny_corpus
    before = sorted(path.relative_to(tiny_corpus) for path in tiny_corpus.rglob("*"))
    result = coder_run(tiny_corpus, tiny_codebook, out)
    assert result.exit_code == 1
    where = "the corpus folder" if not inside else f"inside the corpus folder {tiny_corpus}"
    assert result.output == (f"Error: {out}: is {where}, so the next run would code its report and texts as documents. "
                             f"Pass an --out folder outside the corpus.\n")
    assert sorted(path.relative_to(tiny_corpus) for path in tiny_corpus.rglob("*")) == before


@pytest.mark.parametrize("inside", ["", "out"])
def test_runs_output_folder_inside_the_corpus_under_another_spelling_is_refused(tiny_corpus, tiny_codebook, monkeypatch,
                                                                                 inside):
    """A case-insensitive disk (macOS, Windows) holds `Corpus/out` inside `corpus`, and a bind mount or
    junction one folder under two names; the check compared spellings, so `--out Seeds/out` passed and the
    next run coded report.html as a document (probe R5). Here the file system says which folder is which."""
    other = tiny_corpus.with_name(tiny_corpus.name.upper())
    real_stat = Path.stat

    def stat(self, *args, **kwargs):  # `other` is `tiny_corpus` to the disk, as on a case-insensitive one
        spelled = str(self)
        if spelled == str(other) or spelled.startswith(str(other) + os.sep):
            self = Path(str(tiny_corpus) + spelled[len(str(other)):])
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    out = other / inside if inside else other
    result = coder_run(tiny_corpus, tiny_codebook, out)
    assert result.exit_code == 1
    assert "so the next run would code its report and texts as documents" in result.output
    assert ("is the corpus folder" in result.output) == (not inside)


@pytest.mark.skipif(os.name != "posix", reason="names only a case-sensitive POSIX disk holds")
def test_runs_a_document_renamed_by_case_keeps_its_new_text_file(tmp_path, tiny_codebook, monkeypatch):
    """On a disk that ignores case (macOS), `texts/Report.html.txt` of the last run and the new
    `texts/report.html.txt` are one file: pruning the old name deleted the new text (probe R7). A hard link
    stands for that here: two names, one file."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "Report.html").write_text("<html><body><p>The mayors held a joint meeting.</p></body></html>",
                                        encoding="utf-8")
    out = tmp_path / "out"
    assert coder_run(corpus, tiny_codebook, out).exit_code == 0
    (corpus / "Report.html").rename(corpus / "report.html")
    real_prune, removed = RunFolder.prune_texts, []

    def prune(self, documents):
        (self.texts_path / "Report.html.txt").unlink()  # the last run's file: one name of the new one there
        os.link(self.texts_path / "report.html.txt", self.texts_path / "Report.html.txt")
        real_unlink = Path.unlink
        with monkeypatch.context() as patch:
            patch.setattr(Path, "unlink", lambda path, *args, **kwargs: (removed.append(path.name),
                                                                          real_unlink(path, *args, **kwargs)))
            real_prune(self, documents)

    monkeypatch.setattr(RunFolder, "prune_texts", prune)
    result = coder_run(corpus, tiny_codebook, out)
    assert result.exit_code == 0, result.output
    assert removed == [] and (out / "texts" / "report.html.txt").is_file()


@pytest.mark.skipif(os.name != "posix", reason="names only a case-sensitive POSIX disk holds")
def test_runs_texts_of_documents_a_case_blind_or_windows_disk_would_mix_are_kept_apart(tmp_path, tiny_codebook):
    """texts/ names were the corpus names: `Report.html` and `report.html` (a Linux corpus, written to a
    Windows or macOS disk, WSL's /mnt/c) shared one file, so one document's offsets pointed into the
    other's text, and `a:b.html` stopped the whole run there (probe R6). Each now has a file of its own,
    named so any disk takes it; run.json names it, and later commands read it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    texts = {"Report.html": "The mayors held a joint meeting.", "report.html": "Party building alliances grew.",
             "a:b.html": "A joint meeting of the two provinces.", "CON.html": "The joint meeting met again.",
             "plain.html": "No clash here."}
    for name, text in texts.items():
        (corpus / name).write_text(f"<html><body><p>{text}</p></body></html>", encoding="utf-8")
    out = tmp_path / "out"
    result = coder_run(corpus, tiny_codebook, out)
    assert result.exit_code == 0, result.output
    recorded = {item["path"]: item["text"] for item in json.loads((out / "run.json").read_text())["documents"]}
    assert recorded["plain.html"] == "texts/plain.html.txt"  # a name no disk minds is kept as it is
    files = [recorded[name] for name in texts]
    assert len({name.casefold() for name in files}) == len(texts)
    assert not any(char in name.split("/", 1)[1] for name in files for char in ':*?"<>|\\')
    assert not any(name.split("/")[-1].split(".")[0].upper() == "CON" for name in files)
    assert {name: (out / recorded[name]).read_text(encoding="utf-8") for name in texts} == texts
    run = RunFolder(out)
    assert {document.path: document.text for document in run.read_corpus().documents} == texts
    again = coder_run(corpus, tiny_codebook, out)  # a rerun keeps (and prunes nothing of) them
    assert again.exit_code == 0, again.output
    assert sorted(path.relative_to(out).as_posix() for path in (out / "texts").rglob("*.txt")) == sorted(files)


def test_runs_a_code_called_code_is_run(tmp_path):
    """cooccurrence_matrix.csv's first column is `code`: a code of that id (a .qdc code named "Code"
    imports as one) stopped the run with "cannot insert code, already exists"."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The joint meeting was held. Party building matters.\n", encoding="utf-8")
    codebook = tmp_path / "codebook.yaml"
    codebook.write_text("codes:\n  code: [joint meeting]\n  other: [party building]\n", encoding="utf-8")
    result = coder_run(corpus, codebook, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "cooccurrence_matrix.csv").read_text(encoding="utf-8-sig").splitlines() == [
        "code,code,other", "code,1,1", "other,1,1"]


def test_runs_a_planted_record_of_many_small_values_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """A folder may come from someone else: a workbook record of empty lists cost about 24 times its size once
    parsed (256 MB of it, several GB), checked only after (probe XX6). What it would cost is counted first."""
    import json

    import coder.files

    run = RunFolder(tmp_path)
    run.remember_workbook("0f3a9c1e", pd.DataFrame({"segment_id": ["s0123456789abcdef"], "review": ["reject"],
                                                    "note": [""]}))
    planted = b'{"workbook": "0f3a9c1e", "cells": {"s0123456789abcdef": [' + b"[]," * 50_000 + b"[]]}}"
    (run.cache_path / "workbook_written.json").write_bytes(planted)
    monkeypatch.setattr(coder.files, "JSON_MAX_COST", 1_000_000)
    parsed = []
    monkeypatch.setattr(coder.files.json, "loads", lambda data: parsed.append(len(data)) or json.JSONDecoder().decode(
        data.decode() if isinstance(data, bytes) else data))
    assert run.read_workbook_record() is None
    assert parsed == []


@pytest.mark.parametrize("record, expected", [
    (None, {"s0123456789abcdef": ("reject", "a note")}),
    (b'{"workbook": "0f3a9c1e", "cells": {"s0123456789abcdef": ["reject"]}}', None),
    (b'{"workbook": "0f3a9c1e", "cells": [', None),
    (b'{"workbook": "ffff", "cells": {}}', None),
])
def test_runs_the_workbook_record_is_used_only_whole_and_for_its_workbook(tmp_path, record, expected):
    """The review and note cells `export xlsx` wrote into a folder's segments.xlsx (probes WW5, WW6): a record of
    another workbook, or one that cannot be read, is none (every cell of the workbook then counts as typed)."""
    from coder.xlsx import write_segments_xlsx

    run = RunFolder(tmp_path)
    frame = pd.DataFrame({"segment_id": ["s0123456789abcdef"], "text": ["t"], "review": ["reject"], "note": [" a note "]})
    write_segments_xlsx(frame, run.workbook_path, identifier="0f3a9c1e")
    run.remember_workbook("0f3a9c1e", frame)
    if record is not None:
        (run.cache_path / "workbook_written.json").write_bytes(record)
    assert run.read_workbook_written() == expected
    assert run.read_workbook_written(tmp_path / "elsewhere.xlsx") is None


def test_runs_the_workbook_record_keeps_the_entries_its_rows_by_place_became(tmp_path):
    """A row coding a passage by hand typed into the workbook is noted by its place, and the entry it became with it
    (probe ZZ3); a record written before (no entries), or entries that are not ids or of no row noted, give none."""
    import json

    from coder.xlsx import write_segments_xlsx

    run = RunFolder(tmp_path)
    place = "add:a.txt\x1fhand_only\x1f2\x1f\x1f"
    frame = pd.DataFrame({"segment_id": ["s0123456789abcdef", ""], "document": ["a.txt", "a.txt"],
                          "code": ["barriers", "hand_only"], "passage": ["1", "2"], "review": ["", "add"],
                          "note": ["", "n1"]})
    write_segments_xlsx(frame, run.workbook_path, identifier="0f3a9c1e")
    run.remember_workbook("0f3a9c1e", frame, {place: "s86d39bec7602c9fb", "add:gone": "s0000000000000000"})
    name, cells, entries = run.read_workbook_record()
    assert (name, cells[place], entries) == ("0f3a9c1e", ("add", "n1"), {place: "s86d39bec7602c9fb"})
    record = run.cache_path / "workbook_written.json"
    noted = json.loads(record.read_text(encoding="utf-8"))
    for damaged in (None, {place: "not an id"}, [place]):
        record.write_text(json.dumps({**{key: value for key, value in noted.items() if key != "entries"},
                                      **({"entries": damaged} if damaged is not None else {})}), encoding="utf-8")
        assert run.read_workbook_record() == ("0f3a9c1e", cells, {})
