"""The scale benchmark's spaCy peer and its agreement check on hand-made passages, and its table of targets."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from coder import load_codebook
from coder.pipeline import code_corpus

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    sys.path.insert(0, str(REPO / "benchmarks"))  # bench_scale imports its neighbours
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while building classes
    spec.loader.exec_module(module)
    return module


spacy_peer = _load("spacy_peer")
bench_scale = _load("bench_scale")

CODEBOOK = """\
codes:
  joint_meeting: [joint meeting]
  cross_regional: [cross regional governance]
  city: [city]
  sharing: [resource sharing]
  wildcard: [govern*, 联席会议]
"""
DOCUMENT = """\
Joint Meetings were held every year.

A cross-regional governance body was set up.

The cities cooperated on transport.

Nothing to code here.

To achieve resource sharing;strengthen the ties.
"""


@pytest.mark.parametrize(
    ("codebook", "document"),
    [(CODEBOOK, DOCUMENT)],
)
def test_bench_scale_peer_agreement_with_coder(tmp_path, codebook, document):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(document, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text(codebook, encoding="utf-8")
    loaded = load_codebook(tmp_path / "codebook.yaml")
    result = code_corpus(tmp_path / "corpus", loaded, workers=1)
    passages = result.passage_table

    peer_book = spacy_peer.peer_codebook(loaded)
    nlp, matcher = spacy_peer.build_peer(peer_book)
    found = spacy_peer.match_passages(nlp, matcher, passages["text"])
    peer = spacy_peer.pd.DataFrame(
        [(passages["document"][position], passages["passage"][position], code, matched) for position, code, matched in found],
        columns=spacy_peer.PAIR_COLUMNS,
    )
    agreement = spacy_peer.compare_pairs(result.segments, peer, list(peer_book.keywords), passages=passages)

    assert sorted(peer_book.keywords) == ["city", "cross_regional", "joint_meeting", "sharing"]
    assert peer_book.excluded == {"wildcard": [("govern*", "wildcard"), ("联席会议", "Chinese")]}
    assert peer_book.excluded_keywords == {"wildcard": 1, "Chinese": 1}
    # spaCy's lookup table lemmatises "meeting" as "meet" but "meetings" as "meeting", so the peer
    # misses "Joint Meetings"; its tokenizer keeps "sharing;strengthen" as one token.
    assert sorted(zip(peer["passage"], peer["code"], peer["matched"])) == [(2, "city", "cities")]
    assert agreement.shared == 1
    assert agreement.coder_only[["passage", "code", "matched"]].values.tolist() == [
        [0, "joint_meeting", "Joint Meetings"], [1, "cross_regional", "cross-regional governance"],
        [4, "sharing", "resource sharing"],
    ]
    assert agreement.coder_only["text"][2] == "To achieve resource sharing;strengthen the ties."
    assert agreement.peer_only.empty
    assert (agreement.precision, agreement.recall) == (pytest.approx(1 / 4), 1.0)
    assert agreement.reasons() == {
        "coder only, other": 1, "coder only, hyphen or line break inside the match": 1,
        "coder only, punctuation without a space beside the match": 1,
    }
    assert agreement.worst_codes().values.tolist() == [["cross_regional", 1, 0], ["joint_meeting", 1, 0], ["sharing", 1, 0]]


@pytest.mark.parametrize(
    ("name", "names", "expected"),
    [
        ("segments.csv", {"segments.csv", "passages.csv"}, "segment data"),
        ("segments.csv", {"segments.csv", "segments.parquet"}, "view for people"),
        ("segments.parquet", {"segments.parquet"}, "segment data"),
        (".segments_index.csv", {".segments_index.csv"}, "segment data"),
        (".cache", {".cache"}, "cache"),
        ("report.html", {"report.html"}, "summary, network, report"),
    ],
)
def test_bench_scale_classify_output(name, names, expected):
    assert bench_scale.classify_output(name, names) == expected


def test_bench_scale_prints_every_target(tmp_path, capsys):
    rows = bench_scale.main(["--megabytes", "0.01", "--skip-speed", "--skip-memory", "--data", str(tmp_path)])
    output = capsys.readouterr().out
    table = output.split("\n\n")[-1]

    assert [row.name for row in rows] == list(bench_scale.TARGETS)
    assert [line.split("  ")[0] for line in table.splitlines()[2:2 + len(rows)]] == list(bench_scale.TARGETS)
    assert all(row.status == "-" for row in rows)
    assert "load average before: " in output and "load average after: " in output


def test_bench_scale_repeated_recode_times_each_edit_from_the_same_folder(tmp_path):
    codebook = tmp_path / "codebook.yaml"
    bench_scale.build_codebook(codebook)
    unedited = codebook.read_text(encoding="utf-8")
    corpus, out = bench_scale.corpus_folder(0.02, data=tmp_path), tmp_path / "out"
    bench_scale.coder_run(corpus, codebook, out, workers=1)

    run, walls = bench_scale.repeated_recode(corpus, codebook, out, {"keyword": "cooperation regional"},
                                             workers=1, repeats=2)

    edited = codebook.read_text(encoding="utf-8")
    assert edited.count('"cooperation regional"') == unedited.count('"cooperation regional"') + 1  # added once
    assert len(walls) == 2 and run.wall == sorted(walls)[1]
    # Undone and done again in place, the folder ends as a fresh run with the edited codebook.
    fresh = tmp_path / "fresh"
    bench_scale.coder_run(corpus, codebook, fresh, workers=1, extra=("--no-cache",))
    assert (out / "code_counts.csv").read_bytes() == (fresh / "code_counts.csv").read_bytes()


@pytest.mark.parametrize("megabytes", [0.00006])
def test_bench_scale_large_documents_hold_the_corpus_text_in_order(tmp_path, megabytes):
    source = tmp_path / "corpus"
    source.mkdir()
    texts = [f"Document {number}: a joint meeting.\n" for number in range(7)]
    for number, text in enumerate(texts):
        (source / f"doc_{number:05d}.txt").write_text(text, encoding="utf-8")

    folder = bench_scale.build_large_documents(tmp_path / "large", source, megabytes=megabytes)

    files = sorted(folder.glob("*.txt"))
    assert [path.name for path in files] == ["large_000.txt", "large_001.txt", "large_002.txt"]
    assert "\n".join(path.read_text(encoding="utf-8") for path in files) == "\n".join(texts)
    assert all(len(path.read_bytes()) >= 60 for path in files[:-1])
