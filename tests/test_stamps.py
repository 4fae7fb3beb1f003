"""`corpus_unchanged`: the corpus is known to be what the last run read from file stamps, and any doubt says no."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from conftest import invoke, output_files, run_ok

from coder import stamps
from coder.runs import RunFolder
from coder.stamps import CORPUS_STAMPS_FILE, corpus_unchanged, take_corpus_stamps


def _copy(corpus: Path, to: Path) -> Path:
    """Another folder holding the same files (new inodes and times): `to`."""
    for path in corpus.rglob("*"):
        if path.is_file():
            (to / path.relative_to(corpus)).parent.mkdir(parents=True, exist_ok=True)
            (to / path.relative_to(corpus)).write_bytes(path.read_bytes())
    return to


def _run(corpus: Path, codebook: Path, out: Path, *options: str) -> RunFolder:
    result = invoke("run", corpus, "--codebook", codebook, "--out", out, *options)
    assert result.exit_code == 0, result.output
    return RunFolder(out)


def _file_by_file(monkeypatch, way: str) -> None:
    """Check the stamps file by file, as when a file might be extracted, rather than as whole lists."""
    if way == "file by file":
        monkeypatch.setattr(stamps, "_any_extracted", lambda files: True)


_LINES = ("files", "sha256", "formats", "stamps", "inodes")  # after the header's line


def _stamp_data(text: str) -> dict:
    """A stamp file's header and columns, as one dict."""
    header, *lines, end = text.split("\n")
    return {**json.loads(header), **dict(zip(_LINES, lines))}


def _stamp_text(data: dict) -> str:
    """A stamp file holding `data` (as `_stamp_data` gives it), its keys in their order."""
    header = {key: value for key, value in data.items() if key not in _LINES}
    return "\n".join([json.dumps(header, ensure_ascii=False), *(data[name] for name in _LINES), ""])


def _edited(**changes):
    """A damage: the stamp file with `changes` (values, or functions of the value) made to its data."""
    def edit(text: str) -> str:
        data = _stamp_data(text)
        return _stamp_text({**data, **{key: change(data[key]) if callable(change) else change
                                       for key, change in changes.items()}})
    return edit


@pytest.mark.parametrize("way", ["lists", "file by file"])
@pytest.mark.parametrize("racy", [True, False])
def test_stamps_unchanged_corpus_is_known_unchanged(tiny_corpus, tiny_codebook, tmp_path, monkeypatch, racy, way):
    _file_by_file(monkeypatch, way)
    if not racy:
        monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)  # trust every stamp: nothing read again
        monkeypatch.setattr(stamps, "read_document", lambda *args, **kwargs: pytest.fail("read a file"))
    run = _run(tiny_corpus, tiny_codebook, tmp_path / "out")

    assert corpus_unchanged(run, tiny_corpus) is True
    assert corpus_unchanged(run, str(tiny_corpus / ".." / "corpus")) is True


@pytest.mark.parametrize(
    "edit",
    ["changed text", "same size, time put back", "new document", "removed document", "renamed document",
     "new skipped file", pytest.param("link", marks=pytest.mark.needs_symlinks), "encoding", "damaged stamps",
     "a number short", "hash missing", "no-cache run", "other corpus"],
)
@pytest.mark.parametrize("way", ["lists", "file by file"])
def test_stamps_any_change_or_doubt_is_not_unchanged(tiny_corpus, tiny_codebook, tmp_path, monkeypatch, edit, way):
    _file_by_file(monkeypatch, way)
    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)  # stamps alone must notice
    out = tmp_path / "out"
    _run(tiny_corpus, tiny_codebook, out)
    document = tiny_corpus / "a.txt"
    encoding = None
    corpus = tiny_corpus
    if edit == "changed text":
        document.write_text(document.read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    elif edit == "same size, time put back":
        before = document.stat()
        document.write_text(document.read_text(encoding="utf-8").replace("Mayors", "Rulers"), encoding="utf-8")
        os.utime(document, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif edit == "new document":
        (tiny_corpus / "c.txt").write_text("A joint meeting.\n", encoding="utf-8")
    elif edit == "removed document":
        document.unlink()
    elif edit == "renamed document":
        document.rename(tiny_corpus / "a2.txt")
    elif edit == "new skipped file":
        (tiny_corpus / "notes.doc").write_bytes(b"old word file")
    elif edit == "link":
        (tiny_corpus / "c.txt").symlink_to(document)
    elif edit == "encoding":
        encoding = "cp1252"
    elif edit == "damaged stamps":
        (out / ".cache" / CORPUS_STAMPS_FILE).write_text('{"format": 1, "files": [', encoding="utf-8")
    elif edit in ("a number short", "hash missing"):  # not what a run writes
        path = out / ".cache" / CORPUS_STAMPS_FILE
        data = _stamp_data(path.read_text(encoding="utf-8"))
        if edit == "a number short":
            data["stamps"] = base64.b64encode(base64.b64decode(data["stamps"])[:-8]).decode()
        else:
            data["sha256"] = data["sha256"][:65]
        path.write_text(_stamp_text(data), encoding="utf-8")
    elif edit == "no-cache run":
        _run(tiny_corpus, tiny_codebook, out, "--no-cache")
        assert not (out / ".cache" / CORPUS_STAMPS_FILE).exists()
    elif edit == "other corpus":  # a copy elsewhere, one file's text other with its size and times kept
        corpus = _copy(tiny_corpus, tmp_path / "copy")
        copied = corpus / "a.txt"
        copied.write_text(document.read_text(encoding="utf-8").replace("Mayors", "Rulers"), encoding="utf-8")
        os.utime(copied, ns=(document.stat().st_atime_ns, document.stat().st_mtime_ns))

    assert corpus_unchanged(RunFolder(out), corpus, encoding=encoding) is False


@pytest.mark.parametrize("way", ["lists", "file by file"])
def test_stamps_touched_document_is_read_again_and_still_unchanged(tiny_corpus, tiny_codebook, tmp_path, monkeypatch,
                                                                     way):
    _file_by_file(monkeypatch, way)
    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)  # as if the corpus was written long before
    run = _run(tiny_corpus, tiny_codebook, tmp_path / "out")
    read = []
    real = stamps.read_document
    monkeypatch.setattr(stamps, "read_document", lambda path, **kwargs: read.append(Path(path).name) or real(path, **kwargs))
    (tiny_corpus / "a.txt").touch()

    assert corpus_unchanged(run, tiny_corpus) is True
    assert read == ["a.txt"]  # the other file, with its old stamp, is not read


@pytest.mark.parametrize("way", ["lists", "file by file"])
def test_stamps_recently_changed_file_is_read_again(tiny_corpus, tiny_codebook, tmp_path, monkeypatch, way):
    _file_by_file(monkeypatch, way)
    # A change in the same clock tick as the stamp leaves the stamp as it was: a file changed within
    # two seconds of its stamp is read again ("racily clean", as git calls it).
    run = _run(tiny_corpus, tiny_codebook, tmp_path / "out")
    document = tiny_corpus / "a.txt"
    document.write_text(document.read_text(encoding="utf-8").replace("Mayors", "Rulers"), encoding="utf-8")
    path = tmp_path / "out" / ".cache" / CORPUS_STAMPS_FILE
    data = _stamp_data(path.read_text(encoding="utf-8"))
    now = take_corpus_stamps(tiny_corpus)
    numbers, inodes = stamps._packed_stamps(now.files[relative] for relative in data["files"].split("\0"))
    data.update(stamps=stamps._base64(numbers), inodes=stamps._base64(inodes))
    path.write_text(_stamp_text(data), encoding="utf-8")

    assert corpus_unchanged(run, tiny_corpus) is False


def test_stamps_skipped_files_keep_their_reasons(tiny_corpus, tiny_codebook, tmp_path, monkeypatch):
    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)
    (tiny_corpus / "notes.doc").write_bytes(b"old word file")
    (tiny_corpus / "documents.csv").write_text("document,year\na.txt,2020\nsub/b.md,2021\n", encoding="utf-8")
    run = _run(tiny_corpus, tiny_codebook, tmp_path / "out")

    assert corpus_unchanged(run, tiny_corpus) is True
    (tiny_corpus / "notes.doc").write_bytes(b"newer word file")
    assert corpus_unchanged(run, tiny_corpus) is False


@pytest.mark.needs_symlinks
def test_stamps_corpus_reached_through_a_link_is_known_unchanged_until_the_link_moves(tiny_corpus, tiny_codebook,
                                                                                       tmp_path, monkeypatch):
    """A corpus named through a link to its folder (a shortcut to a shared drive) keeps its stamps, so a
    recode does not read it again; pointing the link at another folder is a change unless every file
    read there gives the same text (a copy of the same files)."""
    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)
    link = tmp_path / "corpus link"
    link.symlink_to(tiny_corpus, target_is_directory=True)
    assert take_corpus_stamps(link) is not None
    run = _run(link, tiny_codebook, tmp_path / "out")
    assert (tmp_path / "out" / ".cache" / CORPUS_STAMPS_FILE).is_file()
    assert corpus_unchanged(run, link) is True

    link.unlink()
    copy = _copy(tiny_corpus, tmp_path / "copy")
    link.symlink_to(copy, target_is_directory=True)
    read = []
    reading = stamps.read_document
    monkeypatch.setattr(stamps, "read_document", lambda path, **kwargs: read.append(path) or reading(path, **kwargs))
    assert corpus_unchanged(run, link) is True
    assert sorted(read) == sorted(link / path.relative_to(copy) for path in copy.rglob("*") if path.is_file())  # every file

    (copy / "a.txt").write_text((copy / "a.txt").read_text(encoding="utf-8") + "More.\n", encoding="utf-8")
    assert corpus_unchanged(run, link) is False


@pytest.mark.needs_symlinks
def test_stamps_not_kept_when_the_link_to_the_corpus_moved_while_it_was_read(tiny_corpus, tmp_path):
    from coder.corpus import read_corpus
    from coder.stamps import save_corpus_stamps

    link = tmp_path / "corpus link"
    link.symlink_to(tiny_corpus, target_is_directory=True)
    taken = take_corpus_stamps(link)
    link.unlink()
    link.symlink_to(_copy(tiny_corpus, tmp_path / "other"), target_is_directory=True)
    kept = tmp_path / "cache" / CORPUS_STAMPS_FILE
    save_corpus_stamps(kept, taken, read_corpus(link))
    assert not kept.exists()
    save_corpus_stamps(kept, take_corpus_stamps(link), read_corpus(link))
    assert kept.is_file()


def test_stamps_known_corpus_gives_the_documents_reading_gives(tiny_corpus, tiny_codebook, tmp_path, monkeypatch):
    """Its documents (StoredDocuments: no Path or text kept per file) are read_corpus's, and a file
    changed since refuses its text."""
    from coder.corpus import StoredDocument, read_corpus
    from coder.errors import CorpusError

    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)
    run = _run(tiny_corpus, tiny_codebook, tmp_path / "out")
    known = stamps.known_corpus(run, tiny_corpus)

    def shown(corpus):
        return [(document.path, document.sha256, document.encoding, document.format, document.pages, document.text)
                for document in corpus.documents]

    assert all(isinstance(document, StoredDocument) for document in known.documents)
    assert shown(known) == shown(read_corpus(tiny_corpus))
    (tiny_corpus / "a.txt").write_text("Changed.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="a.txt: the file changed while coder was running"):
        known.documents[0].text


@pytest.mark.parametrize("names", [["a.txt", "sub/b.md", "sub/deeper/c.txt", ".hidden.txt", "sub/.d.txt", "new\nline.txt",
                                    "sub/\x1b[2J.txt", "documents.csv", "\u202egnp.txt"]])
def test_stamps_list_the_files_the_corpus_reader_lists(tmp_path, names):
    corpus = tmp_path / "corpus"
    for name in names:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text("Text.\n", encoding="utf-8")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "x.txt").write_text("Not read.\n", encoding="utf-8")
    from coder.corpus import iter_corpus_files

    listed = [(relative, str(path)) for relative, path in iter_corpus_files(corpus)]
    assert stamps._corpus_files(corpus) == listed
    taken = take_corpus_stamps(corpus)
    assert list(taken.files) == [relative for relative, _ in listed if relative != "documents.csv"]
    assert taken.paths == {relative: path for relative, path in listed if relative != "documents.csv"}


@pytest.mark.parametrize("edit", ["none", "touched", "changed", "new document", "racy", "later taken", "damaged",
                                  "other encoding"])
def test_stamps_file_kept_only_when_nothing_but_taken_would_change(tiny_corpus, tmp_path, monkeypatch, edit):
    """save_corpus_stamps leaves the file as it is when it would write the same files, stamps and hashes
    under a newer `taken`, none of them stamped within the racy window of the kept one; else it writes."""
    from coder.corpus import read_corpus
    from coder.stamps import save_corpus_stamps

    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)
    kept = tmp_path / "cache" / CORPUS_STAMPS_FILE
    save_corpus_stamps(kept, take_corpus_stamps(tiny_corpus), read_corpus(tiny_corpus))
    before = _stamp_data(kept.read_text(encoding="utf-8"))
    encoding = None
    if edit == "touched":
        os.utime(tiny_corpus / "a.txt", ns=(1, 10**9))
    elif edit == "changed":
        (tiny_corpus / "a.txt").write_text("Changed.\n", encoding="utf-8")
    elif edit == "new document":
        (tiny_corpus / "c.txt").write_text("A joint meeting.\n", encoding="utf-8")
    elif edit == "racy":  # a file stamped within the kept file's window: a newer `taken` tells it otherwise
        monkeypatch.setattr(stamps, "RACY_NANOSECONDS", 2_000_000_000)
    elif edit == "later taken":  # a kept `taken` past the new one would trust more stamps than this run's
        kept.write_text(_stamp_text({**before, "taken": before["taken"] + 10**12}), encoding="utf-8")
        before = _stamp_data(kept.read_text(encoding="utf-8"))
    elif edit == "damaged":
        kept.write_text(_stamp_text({**before, "sha256": before["sha256"][:-1]}), encoding="utf-8")
        before = _stamp_data(kept.read_text(encoding="utf-8"))
    elif edit == "other encoding":
        encoding = "utf-8"
    now = take_corpus_stamps(tiny_corpus)
    save_corpus_stamps(kept, now, read_corpus(tiny_corpus, encoding=encoding), encoding=encoding)
    after = _stamp_data(kept.read_text(encoding="utf-8"))

    if edit == "none":
        assert after == before
        assert now.taken > before["taken"]
    else:
        assert after["taken"] == now.taken
        written = stamps._read_kept_stamps(kept)
        assert written.stamp_list() == list(now.files.values())
        assert written.files() == list(now.files)
        assert after["encoding"] == encoding


_DAMAGES = {
    "truncated": lambda text: text[: len(text) // 2],
    "not an object": lambda text: "[]\n" + text.split("\n", 1)[1],
    "a line more": lambda text: text + "\n",
    "extra key": _edited(extra=1),
    "format 2": _edited(format=2),
    "format 2's file": lambda text: json.dumps({**_stamp_data(text), "format": 2, "files": ["a.txt", "sub/b.md"],
                                                "stamps": [1, 2, 3, 4] * 2, "sha256": ["0" * 64] * 2,
                                                "formats": ["text"] * 2, "skipped": [None, None]}) + "\n",
    "taken a float": _edited(taken=1.5),
    "an inode short": _edited(inodes=lambda column: base64.b64encode(base64.b64decode(column)[:-8]).decode()),
    "a byte more": _edited(stamps=lambda column: base64.b64encode(base64.b64decode(column) + b"\0").decode()),
    "a hash short": _edited(sha256=lambda column: column[1:]),
    "a format more": _edited(formats=lambda column: column + "\0text"),
    "a file more": _edited(files=lambda column: column + "\0c.txt"),
    "skipped past the files": _edited(skipped=[[7, "binary"]]),
    "skipped twice": _edited(skipped=[[0, "binary"], [0, "binary"]]),
    "skipped not a pair": _edited(skipped=[[0]]),
    "stamps not base64": _edited(stamps=lambda column: "@@@@" + column[4:]),
    "a hash not 64 long": _edited(sha256=lambda column: column[:63] + "\0" + column[65:] + "0"),
}
# Damage told only once the columns are compared with the corpus's, or taken apart: the file reads.
_TOLD_LATER = {"stamps not base64", "a hash not 64 long"}


@pytest.mark.parametrize("damage", list(_DAMAGES))
def test_stamps_damaged_foreign_or_old_stamp_files_are_not_read(tiny_corpus, tiny_codebook, tmp_path, monkeypatch, damage):
    """A stamp file that is not exactly what this format writes (damaged, truncated, of format 2, a column
    the wrong length or type) is refused: the corpus is read as usual, and the run writes the file again."""
    monkeypatch.setattr(stamps, "RACY_NANOSECONDS", -10**18)
    out = tmp_path / "out"
    run = _run(tiny_corpus, tiny_codebook, out)
    path = out / ".cache" / CORPUS_STAMPS_FILE
    assert stamps._read_kept_stamps(path) is not None and corpus_unchanged(run, tiny_corpus) is True
    path.write_text(_DAMAGES[damage](path.read_text(encoding="utf-8")), encoding="utf-8")

    assert (stamps._read_kept_stamps(path) is None) is (damage not in _TOLD_LATER)
    assert corpus_unchanged(RunFolder(out), tiny_corpus) is False
    if damage in _TOLD_LATER:
        with pytest.raises(ValueError):
            kept = stamps._read_kept_stamps(path)
            kept.stamp_list(), kept.hashes()
    _run(tiny_corpus, tiny_codebook, out)
    assert corpus_unchanged(RunFolder(out), tiny_corpus) is True


@pytest.mark.parametrize("numbers", [
    [(5, 10**18, 10**18 + 1, 7), (0, -10**9, 0, 2**64 - 1)],  # a file from before 1970, an inode past 2**63
    [(2**63 - 1, -2**63, 2**63 - 1, 0), (1, 2, 3, 4)],
])
@pytest.mark.parametrize("skipped", [False, True])
def test_stamps_saved_and_read_back_alike(tiny_corpus, tmp_path, numbers, skipped):
    """Every stamp (signed times, unsigned inodes, the extremes of 8 bytes) and the skipped files' places
    and reasons read back as saved; a number past 8 bytes keeps no stamps."""
    from coder.corpus import read_corpus
    from coder.stamps import CorpusStamps, save_corpus_stamps

    if skipped:
        (tiny_corpus / "notes.doc").write_bytes(b"old word file")
    corpus = read_corpus(tiny_corpus)
    taken = take_corpus_stamps(tiny_corpus)
    files = dict(zip(taken.files, numbers + [(9, 9, 9, 9)]))
    path = tmp_path / "cache" / CORPUS_STAMPS_FILE
    save_corpus_stamps(path, CorpusStamps(root=taken.root, taken=taken.taken, files=files), corpus)
    kept = stamps._read_kept_stamps(path)

    assert (kept.files(), kept.stamp_list()) == (list(files), list(files.values()))
    assert kept.hashes() == [document.sha256 for document in corpus.documents]
    assert {kept.files()[index]: reason for index, reason in kept.skipped.items()} == {
        item.path: item.reason for item in corpus.skipped}
    save_corpus_stamps(path, CorpusStamps(root=taken.root, taken=taken.taken,
                                          files={**files, "a.txt": (2**64, 0, 0, 0)}), corpus)
    assert not path.exists()


@pytest.mark.parametrize("damage", ["truncated", "format 2"])
def test_stamps_damaged_stamps_recode_writes_what_a_fresh_run_writes(tiny_corpus, tiny_codebook, tmp_path, damage):
    """A keyword edit recoded with a refused stamp file reads the corpus and gives what a run without the
    cache gives, and keeps good stamps for the next run."""
    out, full = tmp_path / "out", tmp_path / "full"
    for folder in (out, full):
        _run(tiny_corpus, tiny_codebook, folder)
    path = out / ".cache" / CORPUS_STAMPS_FILE
    path.write_text(_DAMAGES[damage](path.read_text(encoding="utf-8")), encoding="utf-8")
    tiny_codebook.write_text(tiny_codebook.read_text(encoding="utf-8").replace("[barrier*]", "[barrier*, cooperation]"),
                             encoding="utf-8")
    run_ok(tiny_corpus, tiny_codebook, out)
    run_ok(tiny_corpus, tiny_codebook, full, "--no-cache")

    assert output_files(out) == output_files(full)
    assert stamps._read_kept_stamps(path) is not None


def test_stamps_a_file_saved_again_in_another_encoding_is_recorded_so(tmp_path, monkeypatch):
    """The same text saved again as GB18030 kept "encoding": "utf-8" in run.json after a rerun, where a
    fresh run says gb18030 (the text's hash is the same, so its coding is still reused)."""
    import json

    from conftest import invoke

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c").mkdir()
    text = "区域合作与联席会议制度的研究。\n\nMore text on joint meetings.\n"
    (tmp_path / "c" / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "cb.yaml").write_text("codes:\n  m: [joint meeting, 联席会议]\n", encoding="utf-8")
    assert invoke("run", "c", "--codebook", "cb.yaml", "--out", "o", "--quiet").exit_code == 0
    (tmp_path / "c" / "a.txt").write_bytes(text.encode("gb18030"))
    assert invoke("run", "c", "--codebook", "cb.yaml", "--out", "o", "--quiet").exit_code == 0
    assert invoke("run", "c", "--codebook", "cb.yaml", "--out", "fresh", "--quiet", "--no-cache").exit_code == 0
    rerun, fresh = (json.loads((tmp_path / folder / "run.json").read_text(encoding="utf-8")) for folder in ("o", "fresh"))
    assert rerun["documents"] == fresh["documents"]
    assert rerun["documents"][0]["encoding"] == "gb18030"
