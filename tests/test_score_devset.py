"""The development-set scorer: P/R/F1 on hand-made units, and its sentence splitter (not the dev set)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_scorer():
    path = REPO / "benchmarks" / "score_devset.py"
    spec = importlib.util.spec_from_file_location("score_devset", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_devset"] = module  # dataclasses look the module up while building classes
    spec.loader.exec_module(module)
    return module


score_devset = _load_scorer()


@pytest.mark.parametrize(
    ("gold", "predicted", "expected"),
    [
        # Four units. a: gold in units 0, 1, 2; predicted in 0, 1, 3 -> TP 2, FP 1, FN 1.
        # b: gold in unit 3 only, never predicted -> P undefined, R 0, F1 0.
        # c: never in gold, predicted in unit 2 -> P 0, R undefined, F1 0.
        (
            [{"a"}, {"a"}, {"a"}, {"b"}],
            [{"a"}, {"a"}, {"c"}, {"a"}],
            {
                "a": (2, 1, 1, 3, 2 / 3, 2 / 3, 2 / 3),
                "b": (0, 0, 1, 1, None, 0.0, 0.0),
                "c": (0, 1, 0, 0, 0.0, None, 0.0),
            },
        ),
    ],
)
def test_score_devset_precision_recall_f1(gold, predicted, expected):
    scores = score_devset.score_units(gold, predicted, ["a", "b", "c"])
    got = {
        s.concept: (
            s.true_positives, s.false_positives, s.false_negatives, s.support,
            s.precision, s.recall, s.f1,
        )
        for s in scores
    }
    assert got.keys() == expected.keys()
    for concept, values in expected.items():
        for value, want in zip(got[concept], values):
            assert value == (pytest.approx(want) if want is not None else None)
    assert score_devset.macro_f1(scores) == pytest.approx((2 / 3 + 0 + 0) / 3)


@pytest.mark.parametrize(
    ("gold", "predicted", "precision", "recall", "f1"),
    [
        # P = 1/2, R = 1/3 -> F1 = 2PR / (P + R) = 0.4
        ([{"x"}, {"x"}, {"x"}, set()], [{"x"}, set(), set(), {"x"}], 0.5, 1 / 3, 0.4),
    ],
)
def test_score_devset_f1_is_harmonic_mean(gold, predicted, precision, recall, f1):
    (score,) = score_devset.score_units(gold, predicted, ["x"])
    assert (score.precision, score.recall, score.f1) == pytest.approx((precision, recall, f1))


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        # A match inside unit 1 labels only unit 1; a match across the 0/1 border labels both.
        ([(12, 15, "a")], [set(), {"a"}]),
        ([(8, 13, "b")], [{"b"}, {"b"}]),
    ],
)
def test_score_devset_label_units_by_overlap(spans, expected):
    units = [score_devset.Unit(0, 10), score_devset.Unit(11, 20)]
    assert score_devset.label_units(units, spans) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Title\nFirst one. Second one!\n第一句。第二句？",
            ["Title", "First one.", "Second one!", "第一句。", "第二句？"],
        ),
        # Numbered headings, decimals and "No.2" stay whole; a pasted "area.The" still splits.
        (
            "1.中山大学 广州\nGrowth was 1.5 in No.2 area.The end",
            ["1.中山大学 广州", "Growth was 1.5 in No.2 area.", "The end"],
        ),
        # A wrapped PDF line joins the next; a short heading does not.
        (
            "Heading\n" + "a" * 55 + " ministry of\nthe environment said so.\n\n1",
            ["Heading", "a" * 55 + " ministry of\nthe environment said so."],
        ),
        # Inline list items: " - " before a capital.
        ("Group 1 - The first [1] - The second", ["Group 1", "- The first [1]", "- The second"]),
    ],
)
def test_score_devset_split_units(text, expected):
    assert [text[unit.start : unit.end] for unit in score_devset.split_units(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Cities SHOULD hold a Joint Meeting.", {"joint_meeting", "recommendations"})],
)
def test_score_devset_baseline_is_lowercase_substring_search(text, expected):
    assert {code for _, _, code in score_devset.predict_baseline(text)} == expected
