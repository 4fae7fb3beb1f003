import json

import pytest

from coder.codebook import codebook_to_records, parse_codebook
from coder.errors import OutputError
from coder.runs import RunFolder, RunRecord, read_run

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


@pytest.mark.parametrize("name", ["out"])
def test_runs_folder_layout(tmp_path, name):
    run = RunFolder(tmp_path / name)
    assert [path.relative_to(tmp_path / name).as_posix() for path in (
        run.segments_path, run.code_counts_path, run.run_path, run.index_path, run.changes_path, run.cache_path,
        run.previous.run_path,
    )] == ["segments.csv", "code_counts.csv", "run.json", ".segments_index.csv", "changes.csv", ".cache",
           ".previous/run.json"]
