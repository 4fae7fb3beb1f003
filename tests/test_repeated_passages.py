"""Identical passages in one document (a running header, a question asked again, a pasted paragraph
twice) are segments of their own: each has its id, its review decision, and `diff` sees one go."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke

from coder import runner, streamed
from coder.codebook import parse_codebook
from coder.matching import code_passages, compile_codebook
from coder.models import (
    Document,
    copy_fingerprint,
    numbered_copies,
    passage_fingerprint,
    passage_fingerprints,
    segment_id,
    segment_id_from_fingerprint,
)
from coder.passages import split_passages
from coder.segments import read_segments_csv

REPEATED = "The joint meeting was held in Shanghai."
CORPUS = {
    "a.txt": f"{REPEATED}\n\nThe weather was fine.\n\n{REPEATED}\n\nA barrier remains.\n\n{REPEATED.upper()}\n",
    "b.txt": f"{REPEATED}\n\nNothing else.\n",
}
CODEBOOK = "codes:\n  meeting:\n    keywords: [joint meeting]\n  barrier:\n    keywords: [barrier*]\n"


def _use_engine(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """"streamed": the run codes the corpus in partitions of 100 bytes, as a large corpus is; else the whole table."""
    if engine == "streamed":
        monkeypatch.setattr(runner, "STREAMED_MIN_BYTES", -1)
        monkeypatch.setattr(streamed, "LOCAL_PARTITION_BYTES", 100)


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


ANSWER = "A: We hold a joint meeting every quarter."
TRANSCRIPT = (f"Q: First, the county.\n\n{ANSWER}\n\nQ: Second, the city.\n\n{ANSWER}\n\n"
              f"Q: Third, the province.\n\n{ANSWER}\n")
DECISIONS = {"Q: First, the county.": ("accept", "county level"), "Q: Second, the city.": ("reject", "city level: off topic"),
             "Q: Third, the province.": ("accept", "province level")}
EDITS = {
    "a copy added before the first": ("Q: First", f"Q: Opening.\n\n{ANSWER}\n\nQ: First"),
    "a copy added between two": ("Q: Third", f"Q: Aside.\n\n{ANSWER}\n\nQ: Third"),
    "a question reworded": ("Q: Second, the city.", "Q: Second, the city government."),
    "a copy removed": (f"Q: First, the county.\n\n{ANSWER}\n\n", ""),
}


def _type_decisions_on_answers(transcript: Path, decisions: dict[str, tuple[str, str]], text: str = "") -> None:
    """Run, then type (review, note) on each answer of the transcript (`text`, else TRANSCRIPT) by the question
    before it, as a reviewer would."""
    segments = _run(transcript)
    passages = split_passages(Document("focus.txt", text or TRANSCRIPT))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = decisions.get(passages[segments.at[index, "passage"] - 1].text, ("", ""))
    segments.to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")


def _decisions_by_question(frame: pd.DataFrame, text: str) -> dict[str, tuple[str, str]]:
    """{the question before each coded answer: its (review, note)} in a run's segments."""
    passages = split_passages(Document("focus.txt", text))
    answers = frame[(frame["document"] == "focus.txt") & (frame["code"] == "meeting")]
    return {passages[passage - 1].text: (review, note)
            for passage, review, note in zip(answers["passage"], answers["review"], answers["note"])}


@pytest.fixture
def transcript(project: Path) -> Path:
    (project / "corpus" / "focus.txt").write_text(TRANSCRIPT, encoding="utf-8")
    return project


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("edit", list(EDITS))
def test_a_decision_on_a_repeated_answer_stays_with_its_copy_when_copies_change(
    transcript: Path, edit: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same answer after three questions: one more copy before the first gave every decision to the copy
    before its own, the "off topic" reject to the county answer, silently (probe W14)."""
    _use_engine(engine, monkeypatch)
    segments = _run(transcript)
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = DECISIONS[passages[segments.at[index, "passage"] - 1].text]
    segments.to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _decisions_by_question(_run(transcript), TRANSCRIPT) == DECISIONS
    old, new = EDITS[edit]
    text = TRANSCRIPT.replace(old, new, 1)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    expected = dict(DECISIONS)
    if edit == "a question reworded":  # the copies as they were: each keeps its decision
        expected["Q: Second, the city government."] = expected.pop("Q: Second, the city.")
    elif edit == "a copy removed":  # its decision is detached, not given to the copy after it
        del expected["Q: First, the county."]
    else:
        expected["Q: Opening." if "Opening" in new else "Q: Aside."] = ("", "")
    recoded = _run(transcript)
    assert _decisions_by_question(recoded, text) == expected
    record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["reviews"]["orphaned"] == (1 if edit == "a copy removed" else 0)
    fresh = _run(transcript, "fresh", "--no-cache")
    pd.testing.assert_frame_equal(recoded.drop(columns="status"), fresh.drop(columns="status"))
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    if edit == "a copy removed":
        assert ("focus.txt, passage 1, meeting: accept \"county level\"; its passage repeats in the document and the "
                "copy it was on is not found by the passages around it") in status.stdout
    else:
        assert "No detached decisions" in status.stdout


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("decided, removed", [
    ({"Q: Second, the city.": ("reject", "city level: off topic")}, "Q: Second, the city."),
    ({"Q: First, the county.": ("accept", "county level"), "Q: Third, the province.": ("reject", "province: off topic")},
     "Q: Third, the province."),
])
def test_a_copy_deleted_with_its_question_leaves_its_decision_detached_not_on_another_copy(
    transcript: Path, decided: dict, removed: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One copy of the repeated answer deleted together with its question: the copy next to the gap shares a
    neighbour with it (the next question, or the document's end), and took its decision, over no decision of
    its own or beside another copy's (probe KK5). The decision is detached, and every other copy keeps its own."""
    _use_engine(engine, monkeypatch)
    _type_decisions_on_answers(transcript, decided)
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    assert _decisions_by_question(_run(transcript), TRANSCRIPT) == {question: decided.get(question, ("", ""))
                                                                    for question in DECISIONS}
    text = "\n\n".join(f"{question}\n\n{ANSWER}" for question in DECISIONS if question != removed) + "\n"
    assert TRANSCRIPT == "\n\n".join(f"{question}\n\n{ANSWER}" for question in DECISIONS) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    recoded = _run(transcript)
    assert _decisions_by_question(recoded, text) == {question: decided.get(question, ("", ""))
                                                     for question in DECISIONS if question != removed}
    record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    decision, note = decided[removed]
    number = passages[[passage.text for passage in passages].index(removed) + 1].index
    assert (f"focus.txt, passage {number}, meeting: {decision} \"{note}\"; its passage repeats in the document and the "
            f"copy it was on is not found by the passages around it") in status.stdout
    assert _decisions_by_question(_run(transcript), text) == _decisions_by_question(recoded, text)  # and again


def _write_review_file_of_an_earlier_version(transcript: Path, segments: pd.DataFrame) -> None:
    """reviews.csv as a version before `context` wrote it: each answer's decision on its copy, by id,
    passage, start and end, with no passages around it."""
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    answers = segments[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]
    pd.DataFrame([
        {"segment_id": identifier, "document": "focus.txt", "passage": str(passage), "start": str(start), "end": str(end),
         "code": "meeting", "decision": DECISIONS[passages[passage - 1].text][0],
         "note": DECISIONS[passages[passage - 1].text][1], "text": ANSWER, "reviewed_at": "2026-12-01T00:00:00+00:00"}
        for identifier, passage, start, end in zip(answers["segment_id"], answers["passage"], answers["start"], answers["end"])
    ]).to_csv(transcript / "reviews.csv", index=False, encoding="utf-8-sig")


def test_decisions_of_earlier_versions_on_copies_learn_their_copy_and_keep_it(transcript: Path) -> None:
    """A review file written before decisions kept the passages around their copy: the next run on the same
    corpus puts each on the copy its id numbers, and from then on it follows that copy."""
    _write_review_file_of_an_earlier_version(transcript, _run(transcript))
    assert _decisions_by_question(_run(transcript), TRANSCRIPT) == DECISIONS
    old, new = EDITS["a copy added before the first"]
    text = TRANSCRIPT.replace(old, new, 1)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    assert _decisions_by_question(_run(transcript), text) == {**DECISIONS, "Q: Opening.": ("", "")}


@pytest.mark.parametrize("edit", ["a copy added before the first", "a copy removed"])
def test_decisions_typed_on_copies_go_to_their_copy_when_the_transcript_changed_before_the_next_run(
    transcript: Path, edit: str
) -> None:
    """Decisions typed into segments.csv, then a copy added to the transcript, then `coder run`: the ids
    typed number the copies of the run that wrote the file, whose passages table tells them apart."""
    segments = _run(transcript)
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = DECISIONS[passages[segments.at[index, "passage"] - 1].text]
    segments.to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    old, new = EDITS[edit]
    text = TRANSCRIPT.replace(old, new, 1)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    expected = {**DECISIONS, "Q: Opening.": ("", "")} if new else {
        question: decision for question, decision in DECISIONS.items() if question != "Q: First, the county."}
    assert _decisions_by_question(_run(transcript), text) == expected


def _typed_on_copies(project: Path) -> None:
    """Run, type DECISIONS on the answer's three copies in segments.csv, run again (the review file takes them)."""
    segments = _run(project)
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = DECISIONS[passages[segments.at[index, "passage"] - 1].text]
    segments.to_csv(project / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _decisions_by_question(_run(project), TRANSCRIPT) == DECISIONS


@pytest.mark.parametrize("edit", ["none", "a copy added before the first", "a copy removed"])
def test_reattach_moves_the_decision_of_every_copy_to_its_copy(transcript: Path, edit: str) -> None:
    """`reattach OLD NEW` gave every copy's decision the first copy's id: one moved, and the others "stay: NEW
    has a decision of its own on that passage", which NEW had not; they stayed detached for good (probe BB10)."""
    _typed_on_copies(transcript)
    # Replaced by a code with other keywords: not a rename `coder diff` recognises, so the decisions are detached.
    (transcript / "codebook.yaml").write_text(CODEBOOK.replace("meeting:\n    keywords: [joint meeting]",
                                                               "gathering:\n    keywords: [meeting]"), encoding="utf-8")
    text = TRANSCRIPT.replace(*EDITS[edit], 1) if edit in EDITS else TRANSCRIPT
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    _run(transcript)
    moved = invoke("review", "reattach", "meeting", "gathering", "--segments", transcript / "out" / "segments.csv")
    assert moved.exit_code == 0, moved.output
    head = f"{transcript / 'reviews.csv'}: 3 decision(s) moved from meeting to gathering."
    if edit == "a copy removed":  # the county answer's decision moves too, and stays detached, saying why
        assert moved.stderr.splitlines() == [
            head, "  1 of them were on a copy of a passage repeated in its document that the last run did not find, so "
                  "the next run leaves them detached until that copy is back:", "    focus.txt, passage 1 (accept)",
            "Run `coder run` to apply them."]
    else:
        assert moved.stderr == f"{head} Run `coder run` to apply them.\n"
    recoded = _run(transcript).replace({"code": {"gathering": "meeting"}})
    expected = {"a copy added before the first": {**DECISIONS, "Q: Opening.": ("", "")}, "none": DECISIONS,
                "a copy removed": {question: decision for question, decision in DECISIONS.items() if "county" not in question}}
    assert _decisions_by_question(recoded, text) == expected[edit]
    status = invoke("review", "status", "--segments", transcript / "out" / "segments.csv")
    if edit == "a copy removed":
        assert ("focus.txt, passage 1, gathering: accept \"county level\"; its passage repeats in the document and the "
                "copy it was on is not found by the passages around it") in status.stdout, status.stdout
    else:
        assert "No detached decisions" in status.stdout, status.stdout


def _hand_coded_by_question(frame: pd.DataFrame, text: str) -> dict[str, tuple[str, str]]:
    """{the question before each passage coded `hand`: its (review, note)} in a run's segments."""
    passages = split_passages(Document("focus.txt", text))
    rows = frame[(frame["document"] == "focus.txt") & (frame["code"] == "hand")]
    return {passages[passage - 1].text: (review, note) for passage, review, note in zip(rows["passage"], rows["review"], rows["note"])}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("edit", ["a copy added before the first", "a copy removed", "a question added at the top",
                                  "its own copy removed"])
def test_a_passage_coded_by_hand_on_a_repeated_answer_stays_on_its_copy(
    transcript: Path, edit: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The city answer's row copied, its code set to `hand` and its review to `add`: after a copy of the answer
    was added above, the hand coding sat on the new first copy, after the opening question, for good (probe BB8)."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    segments = _run(transcript)
    city = segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting") & (segments["passage"] == 3)]
    segments.loc[city, ["review", "note"]] = ["reject", "city level: off topic"]
    added = segments.loc[city].assign(code="hand", review="add", note="city, by hand", segment_id="")
    pd.concat([segments, added]).to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    expected = {"Q: Second, the city.": ("add", "city, by hand")}
    assert _hand_coded_by_question(_run(transcript), TRANSCRIPT) == expected
    old, new = {**EDITS, "a question added at the top": ("Q: First", "Q: Opening.\n\nQ: First"),
                "its own copy removed": (f"{ANSWER}\n\nQ: Third", "Q: Third")}[edit]
    text = TRANSCRIPT.replace(old, new, 1)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    gone = edit == "its own copy removed"
    for _ in range(2):  # and again, from the review file the run rewrote
        recoded = _run(transcript)
        assert _hand_coded_by_question(recoded, text) == ({} if gone else expected)
        assert _decisions_by_question(recoded, text).get("Q: Second, the city.") == (
            None if gone else ("reject", "city level: off topic"))
    fresh = _run(transcript, "fresh", "--no-cache")
    pd.testing.assert_frame_equal(recoded.drop(columns="status"), fresh.drop(columns="status"))
    status = invoke("review", "status", "--segments", transcript / "out" / "segments.csv")
    if gone:  # detached, saying why, never put on the county or province answer
        assert ('focus.txt, passage 3, hand: add "city, by hand"; its passage repeats in the document and the copy it '
                'was on is not found by the passages around it') in status.stdout, status.stdout
    else:
        assert "No detached decisions" in status.stdout, status.stdout


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_a_character_corrected_in_every_copy_keeps_each_decision_on_its_copy(
    transcript: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """並 replaced by 并 throughout a transcript (search and replace): each copy of the answer reads as the other
    copies do, and every decision on them was detached, though its context told its copy (probe BB13)."""
    _use_engine(engine, monkeypatch)
    traditional = TRANSCRIPT.replace(ANSWER, f"{ANSWER} 並且準時。")
    (transcript / "corpus" / "focus.txt").write_text(traditional, encoding="utf-8")
    segments = _run(transcript)
    passages = split_passages(Document("focus.txt", traditional))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = DECISIONS[passages[segments.at[index, "passage"] - 1].text]
    segments.to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _decisions_by_question(_run(transcript), traditional) == DECISIONS
    text = traditional.replace("並", "并")
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file the run rewrote
        recoded = _run(transcript)
        assert _decisions_by_question(recoded, text) == DECISIONS
    fresh = _run(transcript, "fresh", "--no-cache")
    pd.testing.assert_frame_equal(recoded.drop(columns="status"), fresh.drop(columns="status"))
    status = invoke("review", "status", "--segments", transcript / "out" / "segments.csv")
    assert "No detached decisions" in status.stdout, status.stdout


def test_decisions_of_earlier_versions_keep_their_copy_when_one_is_added_before_the_first_new_run(transcript: Path) -> None:
    """A review file written before `context` (its passage, start and end those of the last run), then a copy added
    above before the first run of this version: every decision went to the copy before its own, and that wrong
    copy's context was kept from then on (probe BB3). The last run's passages table tells the copies apart."""
    _write_review_file_of_an_earlier_version(transcript, _run(transcript))
    old, new = EDITS["a copy added before the first"]
    text = TRANSCRIPT.replace(old, new, 1)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _decisions_by_question(_run(transcript), text) == {**DECISIONS, "Q: Opening.": ("", "")}


QUESTIONS = list(DECISIONS)
REORDERED = {
    # The first copy deleted with its question, a copy added with a new question after the second's.
    "one copy deleted, another added": [QUESTIONS[1], "Q: An aside, the township.", QUESTIONS[2]],
    "two blocks swapped": [QUESTIONS[0], QUESTIONS[2], QUESTIONS[1]],
}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("decided", ["all", "second", "third"])
@pytest.mark.parametrize("edit", list(REORDERED))
def test_a_decision_whose_copy_is_not_told_apart_after_copies_moved_is_detached_not_put_on_another(
    transcript: Path, edit: str, decided: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copies deleted and added, or Q/A blocks swapped: a copy sharing only its passage before with a decision's
    copy and another sharing only its passage after are both it, as far as the passages around them tell. The
    copy its id numbers won, though copies before it had changed: the reject of the second answer went to a new
    copy, the third's to the second's (probe NN9). Such a decision is now detached, never put on another copy;
    each is on its own copy or detached, and every other copy keeps its own."""
    _use_engine(engine, monkeypatch)
    chosen = {"all": QUESTIONS, "second": QUESTIONS[1:2], "third": QUESTIONS[2:]}[decided]
    decisions = {question: DECISIONS[question] for question in chosen}
    _type_decisions_on_answers(transcript, decisions)
    assert _decisions_by_question(_run(transcript), TRANSCRIPT) == {question: decisions.get(question, ("", ""))
                                                                    for question in QUESTIONS}
    text = "\n\n".join(f"{question}\n\n{ANSWER}" for question in REORDERED[edit]) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    placed = _decisions_by_question(_run(transcript), text)
    assert set(placed) == set(REORDERED[edit])
    wrong = {question: shown for question, shown in placed.items() if shown not in (("", ""), decisions.get(question))}
    assert wrong == {}
    kept = [question for question, shown in placed.items() if shown != ("", "")]
    record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["reviews"]["orphaned"] == len(decisions) - len(kept)
    assert _decisions_by_question(_run(transcript), text) == placed  # and again


WRAPPED = ["Q: First, the county gover nance.", "Q: Second, the city gover nance.", "Q: Third, the province gover nance."]


def _rewrapped(question: str) -> str:
    """The question as a new extraction of the PDF gives it: a line break where a space was inside a word,
    which the passage split joins ("gover\nnance" reads "governance"): a change in whitespace only."""
    return question.replace("gover nance", "gover\nnance")


MOVED_AND_EDITED = {
    "blocks 2 and 3 swapped, the first question re-wrapped": [_rewrapped(WRAPPED[0]), WRAPPED[2], WRAPPED[1]],
    "blocks 2 and 3 swapped, the moved question re-wrapped": [WRAPPED[0], _rewrapped(WRAPPED[2]), WRAPPED[1]],
    "blocks 2 and 3 swapped, the moved question reworded": [WRAPPED[0], WRAPPED[2].replace("gover nance", "affairs"),
                                                             WRAPPED[1]],
    "the second block deleted, one added before the first": ["Q: An aside, the township.", WRAPPED[0], WRAPPED[2]],
}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("decided", ["all", "second", "third"])
@pytest.mark.parametrize("edit", list(MOVED_AND_EDITED))
def test_a_decision_whose_copy_moved_beside_an_edited_neighbour_is_detached_not_put_on_another(
    transcript: Path, edit: str, decided: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Q/A blocks swapped (or one deleted and another added) and a question beside them edited, if only re-wrapped:
    a copy whose neighbour changed so shared one side alone with another copy's decision, and the copy its id
    numbers, or the one whose other neighbour no copy had, took that decision silently (probe TT1). Each decision
    is on its own copy or detached and reported, and stays so on a rerun."""
    _use_engine(engine, monkeypatch)
    before = "\n\n".join(f"{question}\n\n{ANSWER}" for question in WRAPPED) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    chosen = {"all": WRAPPED, "second": WRAPPED[1:2], "third": WRAPPED[2:]}[decided]
    decisions = {question: (decision, f"{question[3:9]}: {decision}") for question, decision
                 in zip(WRAPPED, ["accept", "reject", "reject"]) if question in chosen}
    _type_decisions_on_answers(transcript, decisions, before)
    assert _decisions_by_question(_run(transcript), before) == {question: decisions.get(question, ("", "")) for question in WRAPPED}
    text = "\n\n".join(f"{question}\n\n{ANSWER}" for question in MOVED_AND_EDITED[edit]) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")

    def by_block(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:  # keyed by the question's first words
        return {question.split(",")[0]: shown for question, shown in _decisions_by_question(frame, text).items()}

    placed = by_block(_run(transcript))
    wrong = {question: shown for question, shown in placed.items()
             if shown != ("", "") and shown != {asked.split(",")[0]: made for asked, made in decisions.items()}.get(question)}
    assert wrong == {}
    kept = [question for question, shown in placed.items() if shown != ("", "")]
    record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
    assert record["reviews"]["orphaned"] == len(decisions) - len(kept)
    assert by_block(_run(transcript)) == placed  # and again


FILLERS = {"after the answer": "Q: Okay.", "before the answer": "A: Well, let me think."}
# The block deleted: the second of three when the filler follows each answer, the first when it comes before it.
FILLED_DELETED = {"after the answer": QUESTIONS[1], "before the answer": QUESTIONS[0]}


def _filled(questions: list[str], where: str) -> str:
    """The transcript with a filler line in each Q/A block, after the answer or between question and answer."""
    filler = FILLERS[where]
    blocks = [[question, ANSWER, filler] if where == "after the answer" else [question, filler, ANSWER] for question in questions]
    return "\n\n".join("\n\n".join(block) for block in blocks) + "\n"


def _decisions_by_block(frame: pd.DataFrame, text: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(the question of each coded answer's block, its code): (review, note)} of a run's decided segments."""
    passages = split_passages(Document("focus.txt", text))
    rows = frame[(frame["document"] == "focus.txt") & frame["review"].astype(bool)]
    asked = {passage.index: next(earlier.text for earlier in reversed(passages[:passage.index]) if earlier.text in QUESTIONS)
             for passage in passages if passage.text == ANSWER}
    return {(asked[passage], code): (review, note) for passage, code, review, note
            in zip(rows["passage"], rows["code"], rows["review"], rows["note"])}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("other", ["no decision", "a decision of the same code", "a decision of another code"])
@pytest.mark.parametrize("where", list(FILLERS))
def test_a_copy_deleted_beside_a_repeated_filler_leaves_its_decision_detached_not_on_the_next_copy(
    transcript: Path, where: str, other: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filler line ("Q: Okay.") beside every copy of the repeated answer, and one Q/A block deleted with its
    filler: the copy the deleted one's id now numbers (the next answer) shares the filler side of its context,
    and took its reject silently, though its full context is the one it had in the run before (it is that copy,
    unchanged), and over that copy's own decision, which was detached instead (probe VV1). The decision is
    detached and reported; every other copy keeps its own."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  quarterly:\n    keywords: [quarter]\n", encoding="utf-8")
    before = _filled(QUESTIONS, where)
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    deleted = FILLED_DELETED[where]
    following = QUESTIONS[QUESTIONS.index(deleted) + 1]
    decisions = {(deleted, "meeting"): ("reject", "off topic")}
    if other != "no decision":
        decisions[following, "meeting" if other == "a decision of the same code" else "quarterly"] = ("accept", "its own")
    segments = _run(transcript)
    asked = {passage.index: passage.text for passage in split_passages(Document("focus.txt", before))}
    for index in segments.index[segments["document"] == "focus.txt"]:
        question = next(asked[number] for number in range(segments.at[index, "passage"], -1, -1) if asked[number] in QUESTIONS)
        segments.loc[index, ["review", "note"]] = decisions.get((question, segments.at[index, "code"]), ("", ""))
    segments.to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _decisions_by_block(_run(transcript), before) == decisions
    text = _filled([question for question in QUESTIONS if question != deleted], where)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    kept = {key: shown for key, shown in decisions.items() if key[0] != deleted}
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _decisions_by_block(_run(transcript), text) == kept
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    number = [passage.text for passage in split_passages(Document("focus.txt", before))].index(deleted) + (
        1 if where == "after the answer" else 2)
    assert (f"focus.txt, passage {number}, meeting: reject \"off topic\"; its passage repeats in the document and the "
            f"copy it was on is not found by the passages around it") in status.stdout, status.stdout


def _two_copies_decided(transcript: Path, answer: str, deleted: str, decided: str) -> tuple[str, str, dict]:
    """The transcript of the first two questions, each answered `answer`; the decisions typed on the copy answering
    `deleted` (or on both copies) and run; (that text, the text with `deleted`'s Q/A block taken out, the decisions)."""
    before = "\n\n".join(f"{question}\n\n{answer}" for question in QUESTIONS[:2]) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    decisions = {question: DECISIONS[question] for question in QUESTIONS[:2] if decided == "both copies" or question == deleted}
    _type_decisions_on_answers(transcript, decisions, before)
    assert _decisions_by_question(_run(transcript), before) == {question: decisions.get(question, ("", ""))
                                                                for question in QUESTIONS[:2]}
    return before, before.replace(f"{deleted}\n\n{answer}\n\n" if deleted == QUESTIONS[0] else f"\n\n{deleted}\n\n{answer}", ""), decisions


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("decided", ["the deleted copy", "both copies"])
@pytest.mark.parametrize("deleted", QUESTIONS[:2])
def test_a_copy_deleted_where_the_answer_was_given_twice_leaves_its_decision_detached_not_on_the_other(
    transcript: Path, deleted: str, decided: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given twice and one Q/A block deleted: place_on_copies detached the decision of the deleted copy,
    and the follow by text put it on the one copy left, the other answer, silently (probe VV1, the filler case's
    two-copy end: a copy left alone is no longer told from the others by its number)."""
    _use_engine(engine, monkeypatch)
    before, text, decisions = _two_copies_decided(transcript, ANSWER, deleted, decided)
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    left = next(question for question in QUESTIONS[:2] if question != deleted)
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _decisions_by_question(_run(transcript), text) == {left: decisions.get(left, ("", ""))}
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    number = 1 if deleted == QUESTIONS[0] else 3
    decision, note = DECISIONS[deleted]
    assert (f"focus.txt, passage {number}, meeting: {decision} \"{note}\"; its passage repeats in the document and the "
            f"copy it was on is not found by the passages around it") in status.stdout, status.stdout


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("deleted", QUESTIONS[:2])
def test_a_copy_deleted_where_the_answer_was_given_twice_leaves_its_hand_coding_detached_not_on_the_other(
    transcript: Path, deleted: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given twice, a passage coded by hand (`add`) on one copy, and that copy's Q/A block deleted:
    place_on_copies found no copy of its, and _manual_rows found its text on the other answer and put the hand
    coding there, silently (probe YY7; decisions were detached, 1d0ee04)."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    before = "\n\n".join(f"{question}\n\n{ANSWER}" for question in QUESTIONS[:2]) + "\n"
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    segments = _run(transcript)
    number = 1 if deleted == QUESTIONS[0] else 3
    answer = segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")
                            & (segments["passage"] == number)]
    added = segments.loc[answer].assign(code="hand", review="add", note="by hand", segment_id="")
    pd.concat([segments, added]).to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _hand_coded_by_question(_run(transcript), before) == {deleted: ("add", "by hand")}
    text = before.replace(f"{deleted}\n\n{ANSWER}\n\n" if deleted == QUESTIONS[0] else f"\n\n{deleted}\n\n{ANSWER}", "")
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _hand_coded_by_question(_run(transcript), text) == {}
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    assert (f'focus.txt, passage {number}, hand: add "by hand"; its passage repeats in the document and the '
            f"copy it was on is not found by the passages around it") in status.stdout, status.stdout


CORRECTED = f"{ANSWER} 並且準時。"  # the answer as a transcript spells it before 並 is corrected to 并


def _coded_by_question(frame: pd.DataFrame, text: str, document: str, code: str) -> dict[str, tuple[str, str]]:
    """{the question before each passage of `document` coded `code`: its (review, note)} in a run's segments."""
    passages = split_passages(Document(document, text))
    rows = frame[(frame["document"] == document) & (frame["code"] == code) & frame["review"].astype(bool)]
    return {passages[passage - 1].text: (review, note) for passage, review, note in zip(rows["passage"], rows["review"], rows["note"])}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("edit", ["the copy left corrected", "the document renamed"])
@pytest.mark.parametrize("decided", ["the deleted copy", "both copies"])
@pytest.mark.parametrize("deleted", QUESTIONS[:2])
def test_a_copy_deleted_as_the_copy_left_is_corrected_or_its_document_renamed_leaves_its_decision_detached(
    transcript: Path, deleted: str, decided: str, edit: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given twice and one Q/A block deleted while, in the same edit, the copy left was corrected (並 ->
    并) or the document renamed: the follow by text put the deleted copy's decision on the one copy left, and that
    copy's own decision was detached, silently: the copy left was found by its text without its context compared
    (probe YY6). The deleted copy's decision is detached, and the copy left keeps its own."""
    _use_engine(engine, monkeypatch)
    before, text, decisions = _two_copies_decided(transcript, CORRECTED, deleted, decided)
    document = "focus.txt"
    if edit == "the copy left corrected":
        text = text.replace("並", "并")
    else:
        (transcript / "corpus" / "focus.txt").unlink()
        document = "renamed.txt"
    (transcript / "corpus" / document).write_text(text, encoding="utf-8")
    left = next(question for question in QUESTIONS[:2] if question != deleted)
    expected = {left: decisions[left]} if left in decisions else {}
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _coded_by_question(_run(transcript), text, document, "meeting") == expected
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    number = 1 if deleted == QUESTIONS[0] else 3
    decision, note = DECISIONS[deleted]
    assert f"focus.txt, passage {number}, meeting: {decision} \"{note}\"; " in status.stdout, status.stdout


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("deleted", QUESTIONS[:2])
def test_a_copy_deleted_as_its_document_is_renamed_leaves_its_hand_coding_detached_not_on_the_other(
    transcript: Path, deleted: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given twice (a filler after each), a passage coded by hand on one copy, and that copy's Q/A block
    deleted while the document was renamed: _manual_rows found its text once in the renamed document, on the other
    answer, and put the hand coding there, silently (probe YY7, renamed; 28c2836 covered the same document)."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    before = _filled(QUESTIONS[:2], "after the answer")
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    segments = _run(transcript)
    number = 1 if deleted == QUESTIONS[0] else 4
    answer = segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")
                            & (segments["passage"] == number)]
    added = segments.loc[answer].assign(code="hand", review="add", note="by hand", segment_id="")
    pd.concat([segments, added]).to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _hand_coded_by_question(_run(transcript), before) == {deleted: ("add", "by hand")}
    text = _filled([question for question in QUESTIONS[:2] if question != deleted], "after the answer")
    (transcript / "corpus" / "focus.txt").unlink()
    (transcript / "corpus" / "renamed.txt").write_text(text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _coded_by_question(_run(transcript), text, "renamed.txt", "hand") == {}
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 1
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    assert f'focus.txt, passage {number}, hand: add "by hand"; ' in status.stdout, status.stdout


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
def test_decisions_and_hand_codings_on_copies_follow_a_renamed_document_to_their_copy(
    transcript: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transcript renamed, its text unchanged: each copy of the repeated answer has the passages around it it had,
    yet every decision and hand coding on a copy was detached, as its text is in the renamed document more than
    once (probe YY8). Each follows to its copy, told by the passages around it."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    segments = _run(transcript)
    passages = split_passages(Document("focus.txt", TRANSCRIPT))
    for index in segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]:
        segments.loc[index, ["review", "note"]] = DECISIONS[passages[segments.at[index, "passage"] - 1].text]
    city = segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting") & (segments["passage"] == 3)]
    added = segments.loc[city].assign(code="hand", review="add", note="city, by hand", segment_id="")
    pd.concat([segments, added]).to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    assert _decisions_by_question(_run(transcript), TRANSCRIPT) == DECISIONS
    (transcript / "corpus" / "focus.txt").rename(transcript / "corpus" / "renamed.txt")
    for _ in range(2):  # and again, from the review file the run rewrote
        recoded = _run(transcript)
        assert _coded_by_question(recoded, TRANSCRIPT, "renamed.txt", "meeting") == DECISIONS
        assert _coded_by_question(recoded, TRANSCRIPT, "renamed.txt", "hand") == {
            "Q: Second, the city.": ("add", "city, by hand")}
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == 0


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("opening", ["Q: First, the towns.", "Q: First, the county."])
def test_a_passage_coded_by_hand_while_it_was_given_once_stays_on_it_when_a_copy_is_added_before(
    transcript: Path, opening: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given once, coded by hand (`add`, kept without a context) and rejected, then a Q/A block with the
    same answer inserted before it: the reject followed its copy (the second now), the hand coding went to the new
    first copy, silently (probe ZZ5; `opening` as long as the question it precedes, or not)."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    before = f"Q: Second, the city.\n\n{ANSWER}\n\nQ: Third, the province.\n"
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    segments = _run(transcript)
    answer = segments.index[(segments["document"] == "focus.txt") & (segments["code"] == "meeting")]
    segments.loc[answer, ["review", "note"]] = ["reject", "off topic"]
    added = segments.loc[answer].assign(code="hand", review="add", note="by hand", segment_id="")
    pd.concat([segments, added]).to_csv(transcript / "out" / "segments.csv", index=False, encoding="utf-8-sig")
    city = {"Q: Second, the city.": ("add", "by hand")}
    assert _hand_coded_by_question(_run(transcript), before) == city
    text = f"{opening}\n\n{ANSWER}\n\n{before}"
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    for _ in range(2):  # and again, from the review file the run rewrote
        recoded = _run(transcript)
        assert _hand_coded_by_question(recoded, text) == city
        assert _decisions_by_question(recoded, text) == {opening: ("", ""), "Q: Second, the city.": ("reject", "off topic")}
    status = invoke("review", "status", "--segments", transcript / "out" / "segments.csv")
    assert "No detached decisions" in status.stdout, status.stdout


def _hand_coded_spans(frame: pd.DataFrame, text: str) -> dict[str, tuple[str, str, str]]:
    """{the question before each span coded `hand`: (its text, review, note)} in a run's segments."""
    passages = split_passages(Document("focus.txt", text))
    rows = frame[(frame["document"] == "focus.txt") & (frame["code"] == "hand")]
    for passage, start, end, words in zip(rows["passage"], rows["start"], rows["end"], rows["text"]):
        assert text[start:end] == words and passages[passage].start <= start < end <= passages[passage].end
    return {passages[passage - 1].text: (words, review, note)
            for passage, words, review, note in zip(rows["passage"], rows["text"], rows["review"], rows["note"])}


@pytest.mark.parametrize("engine", ["whole table", "streamed"])
@pytest.mark.parametrize("edit", ["its block deleted", "the other block deleted", "a copy added at the front"])
@pytest.mark.parametrize("coded", QUESTIONS[:2])
def test_a_span_coded_by_hand_on_a_repeated_answer_stays_on_its_copy(
    transcript: Path, coded: str, edit: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer given twice and part of one copy coded by hand by its start and end: the span was kept without a
    context and put by its text on the first copy, both when its Q/A block was deleted (it is detached) and when a
    copy was added at the front (probe ZZ6)."""
    _use_engine(engine, monkeypatch)
    (transcript / "codebook.yaml").write_text(CODEBOOK + "  hand:\n    description: by hand\n", encoding="utf-8")
    before = "\n\n".join(f"{question}\n\n{ANSWER}" for question in QUESTIONS[:2]) + "\n\nQ: Thanks.\n"
    (transcript / "corpus" / "focus.txt").write_text(before, encoding="utf-8")
    segments = _run(transcript)
    number = 1 if coded == QUESTIONS[0] else 3
    answer = segments[(segments["document"] == "focus.txt") & (segments["code"] == "meeting") & (segments["passage"] == number)]
    start = int(answer["start"].iloc[0]) + len("A: We hold ")
    row = {column: "" for column in segments.columns}
    row.update(document="focus.txt", start=str(start), end=str(start + len("a joint meeting")), code="hand",
               review="add", note="span")
    pd.concat([segments.astype(str), pd.DataFrame([row])]).to_csv(transcript / "out" / "segments.csv", index=False,
                                                                     encoding="utf-8-sig")
    assert _hand_coded_spans(_run(transcript), before) == {coded: ("a joint meeting", "add", "span")}
    deleted = {"its block deleted": coded, "the other block deleted": next(q for q in QUESTIONS[:2] if q != coded)}.get(edit)
    if deleted is None:
        text = f"Q: Opening.\n\n{ANSWER}\n\n{before}"
    else:
        text = before.replace(f"{deleted}\n\n{ANSWER}\n\n", "")
    (transcript / "corpus" / "focus.txt").write_text(text, encoding="utf-8")
    gone = deleted == coded
    for _ in range(2):  # and again, from the review file the run rewrote
        assert _hand_coded_spans(_run(transcript), text) == ({} if gone else {coded: ("a joint meeting", "add", "span")})
        record = json.loads((transcript / "out" / "run.json").read_text(encoding="utf-8"))
        assert record["reviews"]["orphaned"] == (1 if gone else 0)
    status = invoke("review", "status", "--codebook", transcript / "codebook.yaml",
                    "--segments", transcript / "out" / "segments.csv")
    if gone:
        assert (f'focus.txt, passage {number}, hand: add "span"; its passage repeats in the document and the '
                f"copy it was on is not found by the passages around it") in status.stdout, status.stdout
    else:
        assert "No detached decisions" in status.stdout, status.stdout
