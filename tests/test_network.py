"""The concept network: filters, node and edge attributes, centrality, communities, examples."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
from conftest import SMALL_CODEBOOK, SMALL_PATHS, SMALL_ROWS, segment_frame
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coder.codebook import parse_codebook
from coder.cooccurrence import build_cooccurrence
from coder.errors import CoderError
from coder.network import (
    NODE_COLUMNS,
    PALETTE,
    build_network,
    head_per_group,
    network_tables,
    snippet,
)


def frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return segment_frame(
        rows, code_path=lambda document, passage, code: SMALL_PATHS.get(code, f"memos/{code}"),
        label=lambda document, passage, code: code.title(),
    )


SMALL = frame(SMALL_ROWS)


def small_graph(**options):
    return build_network(build_cooccurrence(SMALL, total_passages=6), SMALL_CODEBOOK, **options)


def test_network_nodes_carry_codebook_attributes_and_counts():
    graph = small_graph()
    assert list(graph.nodes) == ["admin", "local", "gov"]  # codebook order
    admin = graph.nodes["admin"]
    assert {key: admin[key] for key in ("label", "code_path", "description", "level", "top", "top_label",
                                        "color", "passages", "documents", "degree")} == {
        "label": "Administrative barriers", "code_path": "barriers/admin",
        "description": "Red tape between jurisdictions.", "level": 2, "top": "barriers",
        "top_label": "Barriers", "color": "#d62728", "passages": 3, "documents": 2, "degree": 2,
    }
    # gov has no colour in the codebook: the first palette colour not taken by codebook order
    assert graph.nodes["gov"]["color"] == PALETTE[0]


@pytest.mark.parametrize(
    "measure, weights, weighted_degree",
    [
        ("jaccard", {("admin", "gov"): 0.75, ("admin", "local"): 0.25, ("local", "gov"): 0.2}, 1.0),
        ("association", {("admin", "gov"): 1.5, ("admin", "local"): 1.0, ("local", "gov"): 0.75}, 2.5),
        ("count", {("admin", "gov"): 3.0, ("admin", "local"): 1.0, ("local", "gov"): 1.0}, 4.0),
    ],
)
def test_network_edge_weight_is_the_chosen_measure(measure, weights, weighted_degree):
    graph = small_graph(measure=measure)
    assert {edge: graph.edges[edge]["weight"] for edge in weights} == pytest.approx(weights)
    assert graph.nodes["admin"]["weighted_degree"] == pytest.approx(weighted_degree)
    assert graph.graph["measure"] == measure
    edge = graph.edges["admin", "gov"]
    assert (edge["count"], edge["documents"], edge["jaccard"], edge["association"]) == (3, 2, 0.75, 1.5)


@pytest.mark.parametrize(
    "options, nodes, edges",
    [
        ({"min_count": 2}, ["admin", "local", "gov"], [("admin", "gov")]),
        ({"min_count": 2, "hide_isolated": True}, ["admin", "gov"], [("admin", "gov")]),
        ({"top_edges": 2}, ["admin", "local", "gov"], [("admin", "gov"), ("admin", "local")]),
        ({"top_edges": 1, "measure": "association"}, ["admin", "local", "gov"], [("admin", "gov")]),
        ({"top_edges": 0, "hide_isolated": True}, [], []),
    ],
)
def test_network_filters_weak_edges(options, nodes, edges):
    graph = small_graph(**options)
    assert list(graph.nodes) == nodes
    assert sorted(tuple(sorted(edge, key=list(graph.nodes).index)) for edge in graph.edges) == edges


@pytest.mark.parametrize(
    "options, message",
    [
        ({"measure": "pmi"}, "measure 'pmi' is not one of jaccard, association, npmi, count. Pass --measure jaccard, for example."),
        ({"min_count": 0}, "min_count 0: a pair needs at least one shared passage. Pass --min-count 1 or more."),
        ({"top_edges": -1}, "top_edges -1: pass a number of edges to keep, 0 or more."),
    ],
)
def test_network_rejects_bad_options_with_the_fix(options, message):
    with pytest.raises(CoderError) as error:
        small_graph(**options)
    assert str(error.value) == message


def test_network_betweenness_of_a_path_centre_is_one():
    # a-b in one passage, b-c in another: b lies on the only a-c path.
    graph = build_network(build_cooccurrence(frame([("d", 0, "a"), ("d", 0, "b"), ("d", 1, "b"), ("d", 1, "c")])), None)
    assert {node: graph.nodes[node]["betweenness"] for node in graph} == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert {node: graph.nodes[node]["degree"] for node in graph} == {"a": 1, "b": 2, "c": 1}


def test_network_betweenness_is_sampled_above_the_budget(monkeypatch):
    import coder.network

    rows = [("d", 0, "a"), ("d", 0, "b"), ("d", 1, "b"), ("d", 1, "c")]
    monkeypatch.setattr(coder.network, "BETWEENNESS_BUDGET", 1)
    calls = []
    real = nx.betweenness_centrality
    monkeypatch.setattr(nx, "betweenness_centrality",
                        lambda graph, **options: calls.append(options) or real(graph, **options))
    graph = build_network(build_cooccurrence(frame(rows)), None, seed=5)
    assert calls == [{"k": 3, "normalized": False, "seed": 5}]
    assert graph.nodes["b"]["betweenness"] == 1.0


@pytest.mark.parametrize("isolated", [0, 30])
def test_network_betweenness_searches_linked_codes_only_and_equals_networkx(monkeypatch, isolated):
    rows = [("d", passage, code) for passage, pair in enumerate(["ab", "bc", "cd", "be", "ef", "fa"]) for code in pair]
    codebook = parse_codebook("codes:\n" + "".join(f"  {code}: [{code}]\n" for code in "abcdef")
                              + "".join(f"  unused_{number}: [u{number}]\n" for number in range(isolated)))
    searched = []
    real = nx.betweenness_centrality
    monkeypatch.setattr(nx, "betweenness_centrality",
                        lambda graph, **options: searched.append(len(graph)) or real(graph, **options))
    graph = build_network(build_cooccurrence(frame(rows), codebook=codebook), codebook)
    assert searched == [6] and len(graph) == 6 + isolated
    expected = real(graph, normalized=True)
    assert {node: graph.nodes[node]["betweenness"] for node in graph} == {
        node: round(expected.get(node, 0.0), 6) for node in graph}


def test_network_communities_are_seeded_and_numbered_from_the_largest():
    # two triangles joined by one weak passage
    rows = []
    for passage in range(3):
        rows += [("d", passage, code) for code in ("a", "b", "c")]
        rows += [("e", passage, code) for code in ("x", "y", "z")]
    rows += [("f", 0, "c"), ("f", 0, "x")]
    cooccurrence = build_cooccurrence(frame(rows))
    first = build_network(cooccurrence, None, seed=7)
    again = build_network(cooccurrence, None, seed=7)
    communities = {node: first.nodes[node]["community"] for node in first}
    assert communities == {node: again.nodes[node]["community"] for node in again}
    assert communities == {"a": 1, "b": 1, "c": 1, "x": 2, "y": 2, "z": 2}


def test_network_npmi_negative_weights_do_not_break_communities():
    # a and b meet once in 4 passages each of 10: npmi < 0
    rows = [("d", 0, "a"), ("d", 0, "b")] + [("d", n, "a") for n in (1, 2, 3)] + [("d", n, "b") for n in (4, 5, 6)]
    graph = build_network(build_cooccurrence(frame(rows), total_passages=10), None, measure="npmi")
    assert graph.edges["a", "b"]["weight"] < 0
    assert {node: graph.nodes[node]["community"] for node in graph} == {"a": 1, "b": 2}


def test_network_codes_missing_from_codebook_use_code_path():
    rows = [("d", 0, "admin"), ("d", 0, "hand")]
    graph = build_network(build_cooccurrence(frame(rows)), SMALL_CODEBOOK)
    hand = graph.nodes["hand"]
    assert (hand["label"], hand["code_path"], hand["top"], hand["level"], hand["description"]) == (
        "Hand", "memos/hand", "memos", 2, "")
    assert list(graph.nodes) == ["admin", "hand"]


def test_network_examples_mark_matched_words_of_both_codes():
    graph = small_graph()
    assert graph.nodes["local"]["examples"] == [
        {"document": "d1", "passage": 1, "text": "In d1 passage 1 the local word appears.", "matched": ["local word"]},
        {"document": "d1", "passage": 2, "text": "In d1 passage 2 the local word appears.", "matched": ["local word"]},
    ]
    assert graph.edges["admin", "gov"]["example"] == {
        "document": "d1", "passage": 0, "text": "In d1 passage 0 the admin word appears.",
        "matched": ["admin word", "gov word"],
    }


@pytest.mark.parametrize("examples, count", [(1, 1), (3, 3), (0, 0)])
def test_network_examples_per_code_are_capped(examples, count):
    graph = small_graph(examples=examples)
    assert len(graph.nodes["gov"]["examples"]) == count


def test_network_tables_one_row_per_code_and_per_edge():
    codes, pairs = network_tables(small_graph(min_count=2))
    assert list(codes.columns) == list(NODE_COLUMNS)
    assert codes[["code", "passages", "documents", "degree", "community"]].values.tolist() == [
        ["admin", 3, 2, 1, 1], ["local", 2, 1, 0, 2], ["gov", 4, 2, 1, 1],
    ]
    assert pairs[["source", "target", "source_label", "target_label", "count", "documents"]].values.tolist() == [
        ["admin", "gov", "Administrative barriers", "Governance", 3, 2]
    ]


@pytest.mark.parametrize("rows, nodes, edges", [([], 0, 0), ([("d", 0, "a")], 1, 0)])
def test_network_empty_and_single_code(rows, nodes, edges):
    segments = frame(rows) if rows else pd.DataFrame(columns=list(SMALL.columns))
    graph = build_network(build_cooccurrence(segments), SMALL_CODEBOOK)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == (nodes, edges)


@pytest.mark.parametrize(
    "text, words, width, expected",
    [
        ("short text", ["text"], 20, "short text"),
        ("x" * 30 + " key " + "y" * 30, ["KEY"], 11, "… xxx key yyy …"),
        ("key " + "y" * 30, ["key"], 10, "key yyyyyy …"),
        ("无关文字" * 10 + "党建联盟" + "其他" * 10, ["党建联盟"], 8, "… 文字党建联盟其他 …"),
        ("lorem ipsum dolor sit amet " * 4 + "the key phrase here " + "consectetur adipiscing elit " * 4,
         ["key phrase"], 60, "… dolor sit amet the key phrase here consectetur …"),
    ],
)
def test_network_snippet_centres_on_the_first_match(text, words, width, expected):
    assert snippet(text, words, width=width) == expected


_TRICKY = "aAsSkKſ\u212aiIİıßẞσΣςµΜé\u0301中文 -"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_TRICKY, max_size=60), words=st.lists(st.text(alphabet=_TRICKY, max_size=4), max_size=6))
def test_network_snippet_first_match_is_the_earliest_of_every_words_first_match(text, words):
    """The bounded searches find what searching each word to its first match finds (case-insensitive,
    Unicode: ſ, the Kelvin sign, dotted and dotless i, sharp s, final sigma, combining accents)."""
    import re

    from coder.network import _first_match

    found = [match.span() for word in words if (match := re.compile(re.escape(word), re.IGNORECASE).search(text))]
    assert _first_match(text, words) == (min(found) if found else (0, 0))


@pytest.mark.parametrize("text, words, expected", [
    ("xxAB ab", ["ab", "a"], (2, 3)),  # the same start: the shorter match
    ("ſ and s", ["S", "and"], (0, 1)),  # long s matches s case-insensitively
    ("\u212aelvin k", ["kelvin", "K"], (0, 1)),
    ("中文 ok", ["ok", "文"], (1, 2)),
    ("nothing", ["else", "other"], (0, 0)),
])
def test_network_snippet_first_match_by_hand(text, words, expected):
    from coder.network import _first_match

    assert _first_match(text, words) == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), max_size=60), st.integers(0, 4))
def test_network_head_per_group_keeps_what_groupby_head_keeps(groups, count):
    frame = pd.DataFrame({"group": pd.Series(groups, dtype=object)})
    expected = frame.groupby("group", sort=False).head(count).index.tolist()
    assert head_per_group(frame["group"], count).tolist() == expected


@pytest.mark.parametrize("groups", [70_000])
def test_network_head_per_group_with_more_groups_than_a_short_holds(groups):
    """Past 2**15 groups the keys are sorted as they are (as 16-bit numbers, two groups would be one)."""
    values = pd.Series([f"g{number % groups}" for number in range(3 * groups)])
    kept = head_per_group(values, 2)
    assert kept.tolist() == list(range(2 * groups))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3"]), st.integers(0, 4), st.sampled_from(["admin", "local", "gov", "memo"])),
                min_size=1, max_size=30),
       st.sampled_from([{}, {"min_count": 2, "top_edges": 1}, {"hide_isolated": True, "min_count": 2}]))
def test_network_examples_found_by_code_numbers_are_the_ones_found_by_name(rows, options):
    """build_network takes each code's example rows by the co-occurrence's code numbers: the examples
    (and link examples) it takes by the rows' code names."""
    from dataclasses import replace

    counted = build_cooccurrence(frame(rows), total_passages=40)
    graph, plain = (build_network(tables, SMALL_CODEBOOK, examples=2, **options)
                    for tables in (counted, replace(counted, passage_keys=None)))
    assert list(graph.nodes(data=True)) == list(plain.nodes(data=True))
    assert list(graph.edges(data=True)) == list(plain.edges(data=True))


_SNIPPET_TEXT = st.text(alphabet=st.sampled_from("abkis KIS-区域é\u0130\u0131\u017f\u212a"), min_size=30, max_size=90)


@settings(max_examples=300, deadline=None)
@given(_SNIPPET_TEXT, st.lists(st.text(alphabet=st.sampled_from("abkisKIS -"), min_size=1, max_size=3), max_size=3))
@example("x" * 20 + "\u017f" + "tate policy" + "y" * 20, ["state"])
@example("x" * 20 + "\u212aey " + "key" + "y" * 20, ["key"])
@example("区" * 20 + "\u0130" * 3 + "i" + "y" * 20, ["i"])
def test_network_snippet_finds_ascii_words_in_other_text_as_the_regex_does(text, words):
    """ASCII words in a text beyond ASCII are found with lower() and find() unless the text holds a character
    re.IGNORECASE matches with an ASCII letter: the snippet the case-insensitive regex search cuts."""
    import coder.network

    quick = snippet(text, words, width=20)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coder.network, "_holds_like_ascii_letters", lambda text: True)  # every such text by the regex
        assert quick == snippet(text, words, width=20)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_TRICKY + "区域合作党", max_size=60),
       words=st.lists(st.text(alphabet=_TRICKY + "区域合作党", max_size=4), max_size=6))
@example("区域 and 合作 AND", ["合作", "and"])
@example("x区域合作", ["区域合作", "x区"])
def test_network_snippet_first_found_is_the_first_match_where_it_answers(text, words):
    """Found with str.find (ASCII words in the lower-cased text, words of characters without case as
    written), the first match is the case-insensitive regex search's, wherever lower() keeps the text's
    length; words of other characters (é, σ, ß) are left to the regex."""
    from coder.network import _first_found, _first_match, _holds_like_ascii_letters

    if _holds_like_ascii_letters(text):
        return  # snippet asks the regex
    found = _first_found(text, words)
    assert (found is None) is any(not word.isascii() and not word.lower() == word == word.upper() for word in words)
    assert found in (None, _first_match(text, words))


def test_network_snippet_words_without_case_are_matched_by_re_as_written():
    """A character with no case (lower() and upper() give it back) is one re.IGNORECASE matches only as
    itself, over every code point: no case of it (`unicode_iscased`) and no other character folding to it."""
    import _sre
    import re._casefix
    import sys

    caseless = [point for point in range(sys.maxunicode + 1)
                if not 0xD800 <= point <= 0xDFFF and chr(point).lower() == chr(point) == chr(point).upper()]
    assert len(caseless) > 100_000  # Chinese among them
    assert not [point for point in caseless if _sre.unicode_iscased(point) or point in re._casefix._EXTRA_CASES]


def test_run_level_deeper_than_the_codebook_is_refused_before_coding(tmp_path):
    """`coder network --level 5` on a one-level codebook was refused; `coder run --level 5` drew a network
    of nothing rolled up, silently."""
    from conftest import invoke

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("A joint meeting was held.\n", encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("codes:\n  meeting:\n    keywords: [joint meeting]\n", encoding="utf-8")
    result = invoke("run", str(tmp_path / "corpus"), "-c", str(tmp_path / "codebook.yaml"), "-o", str(tmp_path / "out"),
                    "--level", "5")
    assert result.exit_code == 1
    assert result.output == ("Error: --level 5: the codebook's codes go 1 level(s) deep. Pass --level 1 or less "
                             "(1 rolls codes up to the top level), or leave it out.\n")
    assert not (tmp_path / "out").exists()
