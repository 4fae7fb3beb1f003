"""A run folder may come from someone else (a colleague's project zip, a synced folder): the files coder
keeps in it (the staging manifest, run.json, the texts/ and .extracted/ folders) are read as data, and
nothing they name outside the folder is ever deleted, moved or written (probe N1)."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import run_ok

CODEBOOK = "codes:\n  meeting:\n    keywords: [joint meeting]\n"


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A corpus, a codebook, a run folder coded once, and the user's own files beside them."""
    corpus, codebook, out, mine = tmp_path / "corpus", tmp_path / "codebook.yaml", tmp_path / "out", tmp_path / "mine"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The joint meeting was held.\n", encoding="utf-8")
    codebook.write_text(CODEBOOK, encoding="utf-8")
    (mine / "chapter").mkdir(parents=True)
    for name in ("chapter/draft.txt", "data.csv", "notes.txt", "settings.json", "part-0.parquet"):
        (mine / name).write_text(f"the user's {name}\n", encoding="utf-8")
    run_ok(corpus, codebook, out)
    return {"corpus": corpus, "codebook": codebook, "out": out, "mine": mine, "root": tmp_path}


def _mine(project: dict[str, Path]) -> dict[str, str]:
    return {path.relative_to(project["mine"]).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(project["mine"].rglob("*")) if path.is_file()}


def _rerun(project: dict[str, Path]) -> None:
    before = _mine(project)
    codebook = project["codebook"].read_bytes()
    run_ok(project["corpus"], project["codebook"], project["out"])
    assert _mine(project) == before
    assert project["codebook"].read_bytes() == codebook


@pytest.mark.parametrize("remove", ["{mine}/chapter", "../mine/data.csv", "../../{root_name}/mine/notes.txt"])
def test_a_planted_manifest_removes_nothing_outside_the_folder(project, remove):
    staging = project["out"] / ".staging"
    staging.mkdir()
    name = remove.format(mine=project["mine"], root_name=project["root"].name)
    (staging / "manifest.json").write_text(json.dumps({"files": [], "remove": [name]}), encoding="utf-8")
    _rerun(project)


def test_a_planted_manifest_moves_no_file_over_the_users_codebook(project):
    staging = project["out"] / ".staging"
    (staging / "x").mkdir(parents=True)
    (project["out"] / "codebook.yaml").write_text("codes:\n  planted: [x]\n", encoding="utf-8")
    (staging / "manifest.json").write_text(json.dumps({"files": ["x/../../codebook.yaml"], "remove": []}),
                                           encoding="utf-8")
    _rerun(project)


@pytest.mark.needs_symlinks
def test_a_staging_folder_planted_as_a_link_moves_nothing_out_of_where_it_points(project):
    (project["mine"] / "manifest.json").write_text(json.dumps({"files": ["settings.json"], "remove": []}),
                                                    encoding="utf-8")
    (project["out"] / ".staging").symlink_to(project["mine"], target_is_directory=True)
    before = _mine(project)
    run_ok(project["corpus"], project["codebook"], project["out"])
    assert _mine(project) == before


@pytest.mark.needs_symlinks
def test_a_table_folder_planted_as_a_link_loses_no_part_where_it_points(project):
    staging = project["out"] / ".staging"
    staging.mkdir()
    (project["out"] / "segments.parquet").unlink()
    (project["out"] / "segments.parquet").symlink_to(project["mine"], target_is_directory=True)
    (staging / "manifest.json").write_text(json.dumps(
        {"files": ["segments.parquet/part-9.parquet"], "remove": ["segments.parquet/part-0.parquet"]}), encoding="utf-8")
    _rerun(project)


@pytest.mark.parametrize("path", ["{mine}/notes", "../mine/notes", "../../mine/notes"])
def test_run_json_documents_delete_no_text_outside_texts(project, path):
    (project["out"] / "texts").mkdir(exist_ok=True)
    record = json.loads((project["out"] / "run.json").read_text(encoding="utf-8"))
    record["documents"].append({"path": path.format(mine=project["mine"]), "text": "texts/x.txt"})
    (project["out"] / "run.json").write_text(json.dumps(record), encoding="utf-8")
    _rerun(project)


@pytest.mark.parametrize("folder", ["texts", ".extracted"])
@pytest.mark.needs_symlinks
def test_a_folder_of_coders_planted_as_a_link_is_never_pruned_through(project, folder):
    target = project["out"] / folder
    if target.exists():
        import shutil

        shutil.rmtree(target)
    target.symlink_to(project["mine"], target_is_directory=True)
    record = json.loads((project["out"] / "run.json").read_text(encoding="utf-8"))
    record["documents"].append({"path": "notes", "text": "texts/notes.txt"})
    (project["out"] / "run.json").write_text(json.dumps(record), encoding="utf-8")
    _rerun(project)


@pytest.mark.parametrize("damage", ["counts a string", "counts a fraction", "not UTF-8"])
def test_a_damaged_run_json_is_named_or_read_around_never_an_internal_error(project, damage):
    """A run.json whose counts were a string, or bytes that are not UTF-8, stopped every command, coder run
    included, with "internal error ... a bug in coder", run.json unnamed (probe N5)."""
    from conftest import invoke

    path = project["out"] / "run.json"
    if damage == "not UTF-8":
        path.write_bytes(b"{\"counts\": \"\xf7\xfa\"}")
    else:
        record = json.loads(path.read_text(encoding="utf-8"))
        record["counts"] = "many" if damage == "counts a string" else {"passages": 1.5, "segments": "x"}
        path.write_text(json.dumps(record), encoding="utf-8")
    network = invoke("network", str(project["out"]))
    assert "internal error" not in network.output
    assert network.exit_code == 0 or ("run.json" in network.output and network.output.startswith("Error:")), network.output
    run_ok(project["corpus"], project["codebook"], project["out"])


@pytest.mark.parametrize("command", [("export", "xlsx", "--segments", "{out}", "--out", "{root}/x.xlsx"),
                                     ("review", "status", "--segments", "{out}/segments.csv")])
@pytest.mark.needs_symlinks
def test_a_table_planted_as_a_link_is_not_read_through(project, command):
    """`run` and `network` refused a segments.csv link; export xlsx and review status read through it (a
    workbook came out holding another project's notes, probe N6)."""
    from conftest import invoke

    (project["mine"] / "segments.csv").write_text("segment_id,document,passage,code,note\ns1,a.txt,0,meeting,PRIVATE\n",
                                                  encoding="utf-8")
    run_ok(project["corpus"], project["codebook"], project["out"], "--csv", "always")
    (project["out"] / "segments.csv").unlink()
    (project["out"] / "segments.csv").symlink_to(project["mine"] / "segments.csv")
    result = invoke(*[part.format(out=project["out"], root=project["root"]) for part in command])
    assert result.exit_code == 1 and "a link, not the file coder wrote" in result.output, result.output
    assert not (project["root"] / "x.xlsx").exists()


@pytest.mark.parametrize("folder", ["texts", ".previous", ".cache"])
def test_network_never_writes_into_a_folder_the_run_keeps(project, folder):
    """`coder network RUN --out RUN/texts` wrote its eight files into the run's texts/ (probe N11)."""
    from conftest import invoke

    result = invoke("network", str(project["out"]), "--out", str(project["out"] / folder / "map"))
    assert result.exit_code == 1 and "a folder coder keeps for the run" in result.output


@pytest.mark.needs_symlinks
def test_a_link_inside_a_planted_staging_moves_nothing_in_from_where_it_points(project):
    """`.staging/texts -> elsewhere` with a manifest naming texts/notes.txt moved the user's file into the run
    folder, out of its own (probe P4)."""
    staging = project["out"] / ".staging"
    staging.mkdir()
    (staging / "texts").symlink_to(project["mine"], target_is_directory=True)
    (staging / "manifest.json").write_text(json.dumps({"files": ["texts/notes.txt"], "remove": []}), encoding="utf-8")
    _rerun(project)


@pytest.mark.needs_symlinks
def test_a_previous_folder_planted_as_a_link_loses_no_file_where_it_points(project):
    """The clean-up of a stopped run's temporary files followed a .previous link (probe P5)."""
    import shutil

    (project["mine"] / ".run.json.x1.tmp").write_text("the user's file\n", encoding="utf-8")
    previous = project["out"] / ".previous"
    if previous.exists():
        shutil.rmtree(previous)
    previous.symlink_to(project["mine"], target_is_directory=True)
    _rerun(project)


@pytest.mark.needs_symlinks
def test_a_segments_parquet_planted_as_a_link_is_not_compared_with(project, tmp_path):
    """`coder run` and `coder diff` compared with another project's segment table through a planted
    segments.parquet link: statuses, changes.csv and the summary came from it (probe S F3)."""
    from conftest import invoke

    other = tmp_path / "other"
    (tmp_path / "other_codebook.yaml").write_text("codes:\n  only:\n    keywords: [held]\n", encoding="utf-8")
    run_ok(project["corpus"], tmp_path / "other_codebook.yaml", other)
    (project["out"] / "segments.parquet").unlink()
    (project["out"] / "segments.parquet").symlink_to(other / "segments.parquet")
    diffed = invoke("diff", str(other), str(project["out"]))
    assert diffed.exit_code == 1 and "a link, not the file coder wrote" in diffed.output, diffed.output
    output = run_ok(project["corpus"], project["codebook"], project["out"])
    assert "not compared with the previous run" in output
    assert not (project["out"] / "changes.csv").exists() or "only" not in (project["out"] / "changes.csv").read_text(
        encoding="utf-8-sig")
    assert (other / "segments.parquet").is_file() and not (project["out"] / "segments.parquet").is_symlink()


@pytest.mark.needs_symlinks
def test_a_lock_file_planted_as_a_link_creates_nothing_where_it_points(project):
    """A `.coder.lock` link made `coder run` create the file it points to, outside the folder, then fail
    with "Too many levels of symbolic links", and so every later run (probe S F5)."""
    target = project["mine"] / "created_by_coder"
    lock = project["out"] / ".coder.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(target)
    _rerun(project)
    assert not target.exists() and lock.is_file() and not lock.is_symlink()


@contextmanager
def _never_waiting_on(pipe: Path) -> Iterator[None]:
    """While the block runs, open `pipe` for writing every second: a reader waiting in open() then reads
    nothing and goes on, so that this test of code that waits on a pipe fails instead of waiting for ever."""
    done = threading.Event()

    def open_for_writing() -> None:
        while not done.wait(1):
            try:
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader yet (ENXIO)
                pass

    thread = threading.Thread(target=open_for_writing, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize(("planted", "command"), [
    ("out/segments.csv", ("review", "import", "{out}/segments.csv", "--codebook", "{codebook}")),
    ("out/segments.parquet", ("diff", "{out}", "{out}")),
    ("out/passages.parquet", ("sample", "2", "--segments", "{out}/segments.csv")),
    ("out/run.json", ("diff", "{out}", "{out}")),
    ("codebook.yaml", ("kwic", "joint", "--corpus", "{corpus}", "--codebook", "{codebook}")),
    ("reviews.csv", ("review", "status", "--segments", "{out}/segments.csv", "--codebook", "{codebook}")),
    ("documents.csv", ("network", "{out}", "--documents", "{root}/documents.csv", "--out", "{root}/net")),
    ("gold.csv", ("agree", "{root}/gold.csv", "--segments", "{out}/segments.csv")),
    ("book.xlsx", ("review", "import", "{root}/book.xlsx", "--codebook", "{codebook}")),
])
def test_a_named_pipe_where_a_file_is_read_is_named_never_waited_on(project, planted, command):
    """`coder review import OUT/segments.csv` waited for ever when segments.csv was a named pipe (probe S F7),
    and so did diff, sample, kwic, review status, network and agree on a pipe in place of the run's tables,
    run.json, the codebook, the review file, documents.csv or the gold coding."""
    from conftest import invoke, require_posix_files

    require_posix_files()
    pipe = project["root"] / planted
    pipe.unlink(missing_ok=True)
    os.mkfifo(pipe)
    with _never_waiting_on(pipe):
        result = invoke(*[part.format(out=project["out"], codebook=project["codebook"], corpus=project["corpus"],
                                      root=project["root"]) for part in command])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {pipe}: ") and "is a named pipe, not a regular file" in result.output, \
        result.output
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("command", [("review", "import", "/dev/zero", "--codebook", "{codebook}"),
                                     ("kwic", "joint", "--corpus", "{corpus}", "--codebook", "/dev/zero")])
def test_a_device_where_a_file_is_read_is_named_not_read(project, command):
    """`review import /dev/zero` (or a segments.csv linked to it) read 4 GB before it stopped (probe S F7)."""
    from conftest import invoke

    result = invoke(*[part.format(codebook=project["codebook"], corpus=project["corpus"]) for part in command])
    assert (result.exit_code, result.output) == (
        1, "Error: /dev/zero: is a device, not a regular file: not read. Pass the path of a file saved on disk.\n")
