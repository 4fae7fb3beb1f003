"""A codebook edit on a large corpus (past runner.STREAMED_MIN_BYTES) is recoded partition by partition,
with or without documents added, changed or removed at the same time: only the new documents coded and
the edited codes matched again where they can match, the rest read from the last run's tables, and the
files are exactly a fresh run's."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import output_files, run_ok
from test_recode import EDITS, FAST, NOT_FAST, _edit, make_history
from test_recode_documents import _settle, code_by_hand, partitions_watched

import coder.recode_documents
import coder.runner

# Edits of one code's words, and of the codes themselves, for the runs that change only the codebook.
CODEBOOK_ONLY = ["keyword added", "keyword removed", "exclusion added", "code removed", "Chinese keyword added",
                 "regex edited"]
TOGETHER = "took the rest from the last run"


@pytest.fixture
def partitioned(monkeypatch) -> list[dict]:
    """The test corpus coded in partitions of about 2,000 bytes, and every codebook edit recoded in
    partitions (not with the last run's tables in memory); what each engine made by
    code_partitions_from_last_run returned as cache counts ({} for no engine)."""
    monkeypatch.setattr(coder.runner, "RECODE_IN_MEMORY_MAX_BYTES", 1_000)
    return partitions_watched(monkeypatch)


@pytest.fixture
def history(partitioned, tmp_path):
    """test_recode's corpus (the seeds and a messy document) and codebook, coded in partitions into
    `fast` (with the cache) and `full` (the reference)."""
    made = make_history(tmp_path)
    _settle()
    partitioned.clear()
    return made


@pytest.mark.parametrize("edit", list(EDITS))
def test_codebook_edited_and_a_document_added_recodes_in_partitions_as_a_full_run(history, partitioned, edit):
    corpus, codebook, fast, full = history
    _edit(codebook, edit)
    (corpus / "zz_new.txt").write_text("Cross-regional cooperation of governments.\n\nA joint meeting and a "
                                       "coordination council were held.\n\n区域合作 and governance.\n", encoding="utf-8")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)
    if edit in NOT_FAST:  # a regex is matched in every passage: the full run it is
        assert partitioned[0] == {}
        return
    assert len(partitioned) == 1 and partitioned[0]["documents_new"] == 1, partitioned
    assert partitioned[0]["codes_edited"] >= (edit not in ("code removed", "keywords reordered"))
    assert TOGETHER in output


@pytest.mark.parametrize("edit", CODEBOOK_ONLY)
def test_codebook_edited_on_a_large_corpus_recodes_in_partitions_as_a_full_run(history, partitioned, monkeypatch,
                                                                                 edit):
    corpus, codebook, fast, full = history
    in_memory = fast.parent / "in_memory"
    shutil.copytree(fast, in_memory)  # the same tables (by their SHA-256: a copy has other stamps)
    _edit(codebook, edit)

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")
    monkeypatch.setattr(coder.runner, "RECODE_IN_MEMORY_MAX_BYTES", 10**9)
    whole = run_ok(corpus, codebook, in_memory)

    assert output_files(fast) == output_files(full) == output_files(in_memory)
    if edit in NOT_FAST:
        assert partitioned[0] == {} and FAST not in output
        return
    assert TOGETHER in output and partitioned[0]["documents_new"] == 0 and partitioned[0]["documents_reused"] >= 5
    # The same codes matched again in the same passages as the recode that holds the tables in memory.
    assert _matched_again(output) == _matched_again(whole) == (partitioned[0]["codes_edited"],
                                                               partitioned[0]["passages_matched"])


def _matched_again(output: str) -> tuple[int, int]:
    """(codes, passages) of `coder run`'s line "Matched N edited code(s) again in the M passage(s)"."""
    found = re.search(r"Matched (\d+) edited code\(s\) again in the (\d+) passage\(s\)", output)
    assert found is not None, output
    return int(found[1]), int(found[2])


def test_codebook_edits_in_a_row_recode_in_partitions_as_a_full_run(history, partitioned):
    corpus, codebook, fast, full = history
    for edit in ("keyword added", "exclusion added", "code removed"):
        _edit(codebook, edit)
        (corpus / f"zz_{edit.replace(' ', '_')}.txt").write_text(f"Regional cooperation, {edit}.\n", encoding="utf-8")
        run_ok(corpus, codebook, fast)
        run_ok(corpus, codebook, full, "--no-cache")
        assert output_files(fast) == output_files(full)
        _settle()
    assert [call.get("codes_edited", 0) > 0 for call in partitioned] == [True, True, False]


def test_a_kept_document_whose_passages_no_longer_fit_is_coded_afresh(history, partitioned, monkeypatch):
    """When a candidate's stored passages cannot be matched again (recode._match_candidates says None),
    its partition is coded afresh: the files are still a full run's."""
    corpus, codebook, fast, full = history
    monkeypatch.setattr(coder.recode_documents, "_match_candidates", lambda *args, **kwargs: None)
    _edit(codebook, "exclusion added")  # in 11 of the 68 passages

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)
    assert partitioned[0]["documents_new"] > 0 and partitioned[0]["codes_edited"] == 1


def test_codebook_edit_recodes_in_memory_below_the_limit(tmp_path, monkeypatch):
    """Up to RECODE_IN_MEMORY_MAX_BYTES a codebook edit is recoded with the last run's tables in memory."""
    monkeypatch.setattr(coder.runner, "STREAMED_MIN_BYTES", 1_000)
    corpus, codebook, fast, full = make_history(tmp_path)
    assert sum(path.stat().st_size for path in corpus.rglob("*.txt")) < coder.runner.RECODE_IN_MEMORY_MAX_BYTES
    _edit(codebook, "keyword added")

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert FAST in output and TOGETHER not in output
    assert output_files(fast) == output_files(full)


@pytest.mark.parametrize("edit", ["exclusion added", "code removed", "code renamed"])
def test_codebook_edited_with_reviews_and_hand_coding_recodes_in_partitions_as_a_full_run(history, partitioned,
                                                                                           tmp_path, edit):
    """Decisions in the review file (one on a row of the edited code), and a passage coded by hand, come
    back as a full run brings them back."""
    corpus, codebook, fast, full = history
    lines = (fast / "segments.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    edited_code = {"exclusion added": "governance", "code removed": "integration", "code renamed": "barriers"}[edit]
    edited = next(row for row in rows if row["code"] == edited_code)
    other = next(row for row in rows if row["code"] == "alliance")
    (tmp_path / "reviews.csv").write_text(
        "segment_id,document,code,decision,note,text,reviewed_at\n"
        f"{edited['segment_id']},{edited['document']},{edited['code']},reject,not this one,x,\n"
        f"{other['segment_id']},{other['document']},{other['code']},accept,a good one,x,\n", encoding="utf-8")
    code_by_hand(other, codebook, fast, tmp_path / "reviews.csv")
    _edit(codebook, edit)
    (corpus / "aa_new.txt").write_text("Party building alliance and joint construction of governance.\n",
                                       encoding="utf-8")

    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert partitioned[0]["documents_new"] == 1 and "codes_edited" in partitioned[0]
    assert output_files(fast) == output_files(full)
    segments = (fast / "segments.csv").read_text(encoding="utf-8-sig")
    assert ",accepted,accept,a good one," in segments and "coded by hand" in segments


def test_codebook_edited_matches_again_in_a_kept_word_document(history, partitioned):
    """A kept document whose text was extracted (a .docx) is matched again from its extracted text."""
    from make_documents import docx_bytes

    corpus, codebook, fast, full = history
    (corpus / "guide.docx").write_bytes(docx_bytes(["Regional governance of the two provinces.",
                                                    "A joint meeting on cross-regional governance mechanisms."]))
    run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")
    _settle()
    partitioned.clear()
    _edit(codebook, "exclusion added")  # "regional governance" excluded from governance

    output = run_ok(corpus, codebook, fast)
    run_ok(corpus, codebook, full, "--no-cache")

    assert output_files(fast) == output_files(full)
    assert partitioned[0]["documents_new"] == 0 and partitioned[0]["codes_edited"] == 1, partitioned
    assert _matched_again(output)[1] > 0
