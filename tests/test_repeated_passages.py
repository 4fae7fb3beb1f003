"""Identical passages in one document (a running header, a question asked again, a pasted paragraph
twice) are segments of their own: each has its id, its review decision, and `diff` sees one go."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from coder import runner, streamed
from coder.matching import code_passages, compile_codebook
from coder.codebook import parse_codebook
from coder.models import (Document, copy_fingerprint, numbered_copies, passage_fingerprint, passage_fingerprints, segment_id,
                          segment_id_from_fingerprint)
from coder.passages import split_passages
from coder.segments import read_segments_csv

from conftest import invoke

REPEATED = "The joint meeting was held in Shanghai."
CORPUS = {
    "a.txt": f"{REPEATED}\n\nThe weather was fine.\n\n{REPEATED}\n\nA barrier remains.\n\n{REPEATED.upper()}\n",
    "b.txt": f"{REPEATED}\n\nNothing else.\n",
}
CODEBOOK = "codes:\n  meeting:\n    keywords: [joint meeting]\n  barrier:\n    keywords: [barrier*]\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(CODEBOOK, encoding="utf-8")
    return tmp_path


def _run(project: Path, out: str = "out", *options: str) -> pd.DataFrame:
    result = invoke("run", str(project / "corpus"), "-c", str(project / "codebook.yaml"), "-o", str(project / out),
                    "-q", *options)
    assert result.exit_code == 0, result.output
    return read_segments_csv(project / out / "segments.csv")


def test_numbered_copies_numbers_repeats_and_keeps_the_first() -> None:
    plain = [passage_fingerprint("a.txt", text) for text in ("One.", "Two.", "one.", "ONE.")]
    assert numbered_copies(plain) == [plain[0], plain[1], copy_fingerprint(plain[0], 1), copy_fingerprint(plain[0], 2)]
    assert passage_fingerprints("a.txt", ["One.", "Two.", "one.", "ONE."]) == numbered_copies(plain)
    assert len(set(numbered_copies(plain))) == 4


def test_each_copy_of_a_passage_is_a_segment_of_its_own(project: Path) -> None:
    segments = _run(project)
    meetings = segments[(segments["document"] == "a.txt") & (segments["code"] == "meeting")]
    assert meetings["passage"].tolist() == [0, 2, 4]
    assert meetings["segment_id"].is_unique
    # The first copy has the id it had before copies were told apart: decisions typed on it still apply.
    assert meetings["segment_id"].iloc[0] == segment_id("a.txt", REPEATED, "meeting")
    # The same text in another document was never the same segment.
    assert segments["segment_id"].is_unique


def test_the_python_api_numbers_copies_as_a_run_does(project: Path) -> None:
    document = Document("a.txt", CORPUS["a.txt"])
    codebook = parse_codebook("codes:\n  meeting:\n    keywords: [joint meeting]\n")
    ids = [segment.segment_id for segment in code_passages(split_passages(document), compile_codebook(codebook))]
    ran = _run(project)
    assert ids == ran.loc[(ran["document"] == "a.txt") & (ran["code"] == "meeting"), "segment_id"].tolist()


def test_a_reviewer_decides_each_copy_and_the_decisions_survive_a_rerun(project: Path) -> None:
    segments = _run(project)
    meetings = segments.index[(segments["document"] == "a.txt") & (segments["code"] == "meeting")]
    segments.loc[meetings, "review"] = ["accept", "reject", ""]
    segments.loc[meetings[1], "note"] = "the running header"
    segments.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    (project / "codebook.yaml").write_text(CODEBOOK + "  coordination:\n    keywords: [weather]\n", encoding="utf-8")
    again = _run(project)
    meetings = again[(again["document"] == "a.txt") & (again["code"] == "meeting")]
    assert meetings["review"].tolist() == ["accept", "reject", ""]
    assert meetings["note"].tolist() == ["", "the running header", ""]


def test_diff_sees_a_copy_removed(project: Path) -> None:
    _run(project, "old")
    text = CORPUS["a.txt"].replace(f"{REPEATED.upper()}\n", "")
    (project / "corpus" / "a.txt").write_text(text, encoding="utf-8")
    _run(project, "new")
    result = invoke("diff", str(project / "old"), str(project / "new"))
    assert result.exit_code == 0, result.output
    assert "No changes" not in result.output
    assert "meeting" in result.output and "-1" in result.output.replace(" ", ""), result.output


@pytest.mark.parametrize("edit", ["keyword added", "keyword of the repeated passage added"])
def test_a_recode_numbers_copies_as_a_fresh_run(project: Path, edit: str) -> None:
    _run(project)
    added = "fine" if edit == "keyword added" else "shanghai"
    (project / "codebook.yaml").write_text(CODEBOOK + f"  place:\n    keywords: [{added}]\n", encoding="utf-8")
    recoded = _run(project)
    shutil.rmtree(project / "out")
    fresh = _run(project, "out", "--no-cache")
    pd.testing.assert_frame_equal(recoded.drop(columns="status"), fresh.drop(columns="status"))
    assert recoded["segment_id"].is_unique


def test_the_streamed_engine_numbers_copies_as_the_whole_table(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _run(project, "whole", "--no-cache")
    monkeypatch.setattr(runner, "STREAMED_MIN_BYTES", -1)
    monkeypatch.setattr(streamed, "LOCAL_PARTITION_BYTES", 100)
    parts = _run(project, "parts", "--no-cache")
    pd.testing.assert_frame_equal(parts, whole)


@pytest.mark.parametrize("by", ["passage", "start and end"])
def test_a_passage_coded_by_hand_is_the_copy_the_row_names(project, by):
    """An `add` row for the second copy of a repeated passage coded the first copy (its id was the text's,
    and the passage was found by its text)."""
    (project / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    _run(project)
    second = split_passages(Document("a.txt", CORPUS["a.txt"]))[2]
    row = {"document": "a.txt", "code": "hand", "review": "add"}
    row.update({"passage": "2"} if by == "passage" else {"start": str(second.start), "end": str(second.end)})
    pd.DataFrame([row]).to_csv(project / "added.csv", index=False)
    result = invoke("review", "import", str(project / "added.csv"), "--codebook", str(project / "codebook.yaml"),
                    "--run", str(project / "out"))
    assert result.exit_code == 0, result.output
    for _ in range(2):  # and again, unchanged
        frame = _run(project)
        hand = frame[frame["code"] == "hand"]
        assert hand[["passage", "source"]].values.tolist() == [[2, "manual"]]
        assert hand["segment_id"].tolist() == [segment_id_from_fingerprint(copy_fingerprint(passage_fingerprint("a.txt", REPEATED), 1), "hand")]
