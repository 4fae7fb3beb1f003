"""`coder run` after a label, colour or description edit reuses the last run's coding, byte for byte."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coder.cli import app

ROOT = Path(__file__).resolve().parent.parent
REUSED = "Reused the coding of the last run"
CLOCK_FIELDS = ("started", "seconds", "cache")  # cache: B ran without it


def _run(corpus: Path, codebook: Path, out: Path, *options: str) -> str:
    result = CliRunner().invoke(app, ["run", str(corpus), "--codebook", str(codebook), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return result.output


def _files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() or relative.parts[0] in (".cache", ".extracted") or path.name.endswith(".lock"):
            continue
        data = path.read_bytes()
        if path.name == "run.json":
            record = json.loads(data)
            data = json.dumps({key: value for key, value in record.items() if key not in CLOCK_FIELDS}).encode()
        files[str(relative)] = data
    return files


def _edit_codebook(path: Path, edit: str) -> None:
    text = path.read_text(encoding="utf-8")
    edits = {
        "label": ("label: Party-building alliance", "label: Party alliances (renamed)"),
        "colour": ('color: "#d62728"', 'color: "#123456"'),
        "description": ("Party organisations of neighbouring", "Party committees of adjacent"),
        "keyword": ("      - joint construction\n", "      - joint construction\n      - standing alliance\n"),
    }
    old, new = edits[edit]
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_corpus(corpus: Path, edit: str) -> None:
    if edit == "changed document":
        path = sorted(corpus.glob("*.txt"))[0]
        path.write_text(path.read_text(encoding="utf-8") + "\n\nA standing party building alliance met.\n",
                        encoding="utf-8")
    elif edit == "reviews":
        pass  # written by the test, beside the codebook
    elif edit == "new document":
        (corpus / "zz_new.txt").write_text("Joint construction of a party building alliance.\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("codebook_edit", "corpus_edit", "reused"),
    [
        ("label", None, True),
        ("colour", None, True),
        ("description", None, True),
        ("keyword", None, False),
        ("label", "changed document", False),
        ("label", "new document", False),
        ("label", "reviews", True),
    ],
)
def test_reuse_recode_after_edit_matches_a_full_run(tmp_path, codebook_edit, corpus_edit, reused):
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    shutil.copy(ROOT / "codebook.yaml", codebook)
    fast, full = tmp_path / "fast", tmp_path / "full"
    _run(corpus, codebook, fast)
    _run(corpus, codebook, full)
    _edit_codebook(codebook, codebook_edit)
    if corpus_edit:
        _edit_corpus(corpus, corpus_edit)
    if corpus_edit == "reviews":
        with (fast / "segments.csv").open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.DictReader(file))[:3]
        (tmp_path / "reviews.csv").write_text(
            "segment_id,document,code,decision,note,text,reviewed_at\n"
            f"{rows[0]['segment_id']},{rows[0]['document']},{rows[0]['code']},reject,not this one,x,\n"
            f"{rows[2]['segment_id']},{rows[2]['document']},{rows[2]['code']},accept,,x,\n", encoding="utf-8")

    output = _run(corpus, codebook, fast)
    _run(corpus, codebook, full, "--no-cache")

    assert (REUSED in output) is reused
    assert _files(fast) == _files(full)
    if corpus_edit == "reviews":
        assert ",rejected,reject,not this one," in (fast / "segments.csv").read_text(encoding="utf-8-sig")


def test_reuse_recode_relabels_segments(tmp_path):
    corpus, codebook = tmp_path / "corpus", tmp_path / "codebook.yaml"
    shutil.copytree(ROOT / "seeds", corpus)
    shutil.copy(ROOT / "codebook.yaml", codebook)
    out = tmp_path / "out"
    _run(corpus, codebook, out)
    _edit_codebook(codebook, "label")

    _run(corpus, codebook, out)

    text = (out / "segments.csv").read_text(encoding="utf-8-sig")
    assert "Party alliances (renamed)" in text
    assert "Party-building alliance" not in text
