"""The HTML map, GraphML/GEXF exports, network CSVs and the `coder network` command."""

from __future__ import annotations

import json
import re

import networkx as nx
import pandas as pd
import pytest
from conftest import (
    HOSTILE_CODEBOOK,
    PWNED_IMG,
    PWNED_SCRIPT,
    SMALL_CODEBOOK,
    SMALL_PATHS,
    SMALL_ROWS,
    invoke,
    segment_frame,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

import coder.render
from coder.cooccurrence import build_cooccurrence
from coder.errors import CoderError
from coder.models import NetworkOptions
from coder.network import build_network
from coder.render import (
    export_graph,
    highlight,
    relabel_gexf,
    relabel_graphml,
    render_html,
    script_json,
    write_gexf,
    write_graphml,
)
from coder.runner import NETWORK_FILES, write_network_outputs


def frame(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return segment_frame(
        rows, code_path=lambda document, passage, code: SMALL_PATHS[code], matched="red tape; 地方保护",
        text=lambda document, passage, code: f"Red tape and 地方保护 in {document}. {PWNED_SCRIPT} {PWNED_IMG}",
    )


SMALL = frame(SMALL_ROWS)


def graph_of(segments: pd.DataFrame, **options) -> nx.Graph:
    return build_network(build_cooccurrence(segments, total_passages=6), HOSTILE_CODEBOOK, **options)


def page_data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="coder-data">(.*?)</script>', text, re.DOTALL)
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    "text, words, expected",
    [
        ("Joint meeting held; joint work", ["joint meeting", "Joint"],
         [["Joint meeting", True], [" held; ", False], ["joint", True], [" work", False]]),
        ("跨域党建联盟的实践", ["党建联盟"], [["跨域", False], ["党建联盟", True], ["的实践", False]]),
        ("no hit here", ["absent"], [["no hit here", False]]),
        ("a <b> c", ["<b>"], [["a ", False], ["<b>", True], [" c", False]]),
        ("plain", [], [["plain", False]]),
        ("", ["x"], []),
        ("a.b a+b", ["a.b"], [["a.b", True], [" a+b", False]]),
    ],
)
def test_render_highlight_splits_text_into_marked_runs(text, words, expected):
    assert highlight(text, words) == expected


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"t": "</script><b>"}, '{"t": "\\u003c/script\\u003e\\u003cb\\u003e"}'),
        (["a & b"], '["a \\u0026 b"]'),
        (["\u2028\u2029"], '["\\u2028\\u2029"]'),
        (["党建"], '["党建"]'),
    ],
)
def test_render_script_json_escapes_markup_and_line_separators(data, expected):
    assert script_json(data) == expected
    assert json.loads(script_json(data)) == data


def test_render_export_graph_uses_only_legal_attribute_types():
    graph = graph_of(SMALL)
    plain = export_graph(graph)
    values = [value for _, data in plain.nodes(data=True) for value in data.values()]
    values += [value for _, _, data in plain.edges(data=True) for value in data.values()]
    assert {type(value) for value in values} <= {str, int, float, bool}
    assert json.loads(plain.nodes["admin"]["examples"]) == graph.nodes["admin"]["examples"]


@pytest.mark.parametrize("writer, reader, extra", [(write_graphml, nx.read_graphml, set()), (write_gexf, nx.read_gexf, {"id", "viz"})])
def test_render_graph_exports_reread_with_the_same_attributes(tmp_path, writer, reader, extra):
    graph = graph_of(SMALL)
    path = tmp_path / "network.out"
    writer(graph, path)
    again = reader(path)
    plain = export_graph(graph)
    assert sorted(again.nodes) == sorted(plain.nodes)
    for node, data in plain.nodes(data=True):
        assert {key: value for key, value in again.nodes[node].items() if key not in extra} == data
    for source, target, data in plain.edges(data=True):
        reread = again.edges[source, target]
        assert {key: value for key, value in reread.items() if key not in extra} == data
    assert not list(tmp_path.glob(".*.tmp"))


_NODE_TEXT = st.sampled_from(["", "Joint meetings", "联席会议", "é" * 3, "Members' capacity", "a/b: (c) #1 [x]"])
_ESCAPED_TEXT = st.sampled_from([None, "a & b", "<b>", 'say "x"', "line\nbreak", "tab\t", "bell\x07"])
_NODE_COLOR = st.sampled_from(["#d62728", "#abc", "#4E79A7"])


@given(labels=st.lists(st.tuples(_NODE_TEXT, _NODE_TEXT, _NODE_COLOR), min_size=3, max_size=3), escaped=_ESCAPED_TEXT)
@settings(max_examples=60, deadline=None)
@pytest.mark.parametrize("writer, relabel", [(write_graphml, relabel_graphml), (write_gexf, relabel_gexf)])
def test_render_relabelled_graph_files_are_what_the_writers_write(tmp_path_factory, writer, relabel, labels, escaped):
    """A graph file relabelled in place holds the bytes its writer writes for the relabelled graph;
    a value an XML writer escapes is refused (the graph is written again instead)."""
    folder = tmp_path_factory.mktemp("graph")
    graph = export_graph(build_network(build_cooccurrence(SMALL, total_passages=6), SMALL_CODEBOOK))
    writer(graph, folder / "before")
    changes = []
    for (node, attributes), (label, description, color) in zip(list(graph.nodes(data=True)), labels):
        new = {"label": label, "description": escaped or description, "top_label": label, "color": color}
        changes.append((node, {name: (attributes[name], value) for name, value in new.items()}))
        attributes.update(new)
    writer(graph, folder / "after")
    before = (folder / "before").read_bytes().decode("utf-8")
    if escaped is None:
        assert relabel(before, changes).encode("utf-8") == (folder / "after").read_bytes()
    else:
        with pytest.raises(ValueError):
            relabel(before, changes)


def test_render_gexf_carries_map_colours_and_sizes(tmp_path):
    write_gexf(graph_of(SMALL), tmp_path / "network.gexf")
    again = nx.read_gexf(tmp_path / "network.gexf")
    assert again.nodes["admin"]["viz"] == {"color": {"r": 214, "g": 39, "b": 40, "a": 1.0}, "size": 3.0}


def test_render_html_is_self_contained_utf8_with_a_strict_policy(tmp_path):
    path = tmp_path / "network.html"
    render_html(graph_of(SMALL), path, title="Test <b>map</b>")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE) == []
    assert re.findall(r"<link\b|@import|url\(\s*['\"]?(?:https?:)?//", text, re.IGNORECASE) == []
    assert "sourceMappingURL" not in text  # developer tools would ask for vis-network's .map file
    assert "default-src 'none'; script-src 'sha256-" in text
    assert "connect-src 'none'" in text
    assert "<title>Test &lt;b&gt;map&lt;/b&gt;</title>" in text
    assert "地方保护" in text
    assert page_data(text)["legend"] == [
        {"color": "#d62728", "name": "Barriers", "count": 2}, {"color": "#4e79a7", "name": "Governance <b>bold</b>", "count": 1},
    ]


def test_render_html_never_carries_markup_from_data(tmp_path):
    path = tmp_path / "network.html"
    render_html(graph_of(SMALL), path)
    text = path.read_text(encoding="utf-8")
    assert "<script>window.__pwned" not in text
    assert "<img src=x" not in text
    vis_js = coder.render.vis_network_script()
    assert text.replace(vis_js, "").count("<script") == 3  # the JSON data block, vis-network, the page's own code
    data = page_data(text)
    admin = next(node for node in data["nodes"] if node["id"] == "admin")
    assert admin["info"]["description"] == f"Red tape {PWNED_SCRIPT} {PWNED_IMG}"
    assert "title" not in admin  # vis-network would render a string title as HTML
    assert all("title" not in edge for edge in data["edges"])


def test_render_html_page_data_comes_from_pyvis_records(tmp_path):
    path = tmp_path / "network.html"
    render_html(graph_of(SMALL, measure="association"), path, color_by="community")
    data = page_data(path.read_text(encoding="utf-8"))
    assert [node["id"] for node in data["nodes"]] == ["admin", "local", "gov"]
    admin = next(node for node in data["nodes"] if node["id"] == "admin")
    assert (admin["label"], admin["value"], admin["shape"]) == ("Administrative barriers", 3, "dot")
    assert admin["info"]["examples"][0]["pieces"][:2] == [["Red tape", True], [" and ", False]]
    edge = next(edge for edge in data["edges"] if {edge["from"], edge["to"]} == {"admin", "gov"})
    assert (edge["value"], edge["info"]["count"], edge["info"]["documents"]) == (1.5, 3, 2)
    assert "arrows" not in edge
    assert data["summary"] == "3 codes · 3 links · edge width: association · node size: passages · colour: community"
    assert data["legend"] == [{"color": "#4e79a7", "name": "Community 1", "count": 3}]
    assert data["message"] == ""


@pytest.mark.parametrize(
    "rows, options, message",
    [
        ([], {}, "No coded passages: nothing to draw. Check the codebook's keywords, or the review column (rejected rows are left out)."),
        ([("d", 0, "admin")], {}, "1 code(s), but no two codes share a passage: no edges to draw."),
        ([("d", 0, "admin"), ("d", 0, "gov")], {"min_count": 2}, "2 code(s), but no two codes share a passage at least 2 times: no edges to draw."),
    ],
)
def test_render_html_empty_cases_say_so(tmp_path, rows, options, message):
    segments = frame(rows) if rows else frame([]).reindex(columns=list(SMALL.columns))
    path = tmp_path / "network.html"
    render_html(graph_of(segments, **options), path)
    data = page_data(path.read_text(encoding="utf-8"))
    assert data["message"] == message
    assert len(data["nodes"]) == len({row[2] for row in rows})


@pytest.mark.parametrize("max_edges, drawn, message", [
    (1, 1, "Showing the 1 strongest of 3 links by jaccard. Pass --top-edges (or --min-count) to choose which links to draw."),
    (3, 3, ""),
])
def test_render_html_draws_only_the_strongest_links_above_the_cap(tmp_path, max_edges, drawn, message):
    rows = [("d1", 0, "admin"), ("d1", 0, "gov"), ("d1", 0, "local"), ("d1", 1, "admin"), ("d1", 1, "gov")]
    path = tmp_path / "network.html"
    render_html(graph_of(frame(rows)), path, max_edges=max_edges)
    data = page_data(path.read_text(encoding="utf-8"))
    assert (len(data["nodes"]), len(data["edges"]), data["message"]) == (3, drawn, message)
    assert {data["edges"][0]["from"], data["edges"][0]["to"]} == {"admin", "gov"}  # jaccard 1.0, the strongest


def test_render_html_rejects_unknown_colouring(tmp_path):
    with pytest.raises(CoderError) as error:
        render_html(graph_of(SMALL), tmp_path / "x.html", color_by="size")  # type: ignore[arg-type]
    assert str(error.value) == "color_by 'size' is not one of code, community. Pass --color-by code, for example."


def test_render_write_network_outputs_writes_every_file(tmp_path):
    written = write_network_outputs(SMALL, HOSTILE_CODEBOOK, tmp_path, options=NetworkOptions(min_count=2), total_passages=6)
    assert {key: path.name for key, path in written.items() if key in NETWORK_FILES} == NETWORK_FILES
    assert (written["code_count"], written["edge_count"], written["pair_count"]) == (3, 1, 3)
    pairs = pd.read_csv(tmp_path / "cooccurrence.csv", encoding="utf-8-sig")
    assert pairs[["source", "target", "count", "documents", "jaccard", "association", "in_network"]].values.tolist() == [
        ["admin", "gov", 3, 2, 0.75, 1.5, True],
        ["admin", "local", 1, 1, 0.25, 1.0, False],
        ["gov", "local", 1, 1, 0.2, 0.75, False],
    ]
    codes = pd.read_csv(tmp_path / "codes.csv", encoding="utf-8-sig")
    assert codes[["code", "label", "passages", "degree"]].values.tolist() == [
        ["admin", "Administrative barriers", 3, 1], ["local", "地方保护", 2, 0], ["gov", "Governance <b>bold</b>", 4, 1],
    ]
    assert (tmp_path / "codes.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_render_write_network_outputs_hidden_codes_stay_in_codes_csv(tmp_path):
    write_network_outputs(SMALL, HOSTILE_CODEBOOK, tmp_path, options=NetworkOptions(min_count=2, hide_isolated=True))
    codes = pd.read_csv(tmp_path / "codes.csv", encoding="utf-8-sig", keep_default_na=False)
    assert codes[["code", "passages", "degree", "community"]].astype(str).values.tolist() == [
        ["admin", "3", "1", "1"], ["gov", "4", "1", "1"], ["local", "2", "0", ""],
    ]


def write_run(folder, *, passages=6, codebook="missing.yaml"):
    folder.mkdir(parents=True, exist_ok=True)
    SMALL.to_csv(folder / "segments.csv", index=False, encoding="utf-8-sig")
    codes = [{"id": code.id, "label": code.label, "path": list(code.path), "description": code.description,
              "color": code.color, "keywords": list(code.keywords), "regex": [], "exclude": []} for code in HOSTILE_CODEBOOK]
    run = {"tool_version": "0.1.0", "codebook": codebook, "counts": {"passages": passages}, "codebook_codes": codes}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")


def test_render_cli_network_rebuilds_outputs(tmp_path):
    write_run(tmp_path / "out")
    result = invoke("network", str(tmp_path / "out" / "segments.csv"), "--out", str(tmp_path / "net"),
                    "--level", "1", "--measure", "association")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "2 code(s), 1 link(s) drawn of 1 co-occurring pair(s).\n"
        f"Results in {tmp_path / 'net'}/: cooccurrence.csv, cooccurrence_matrix.csv, codes.csv, report.html, network.html, "
        f"network.graphml, network.gexf, code_counts.csv, code_counts_long.csv\n"
    )
    assert sorted(path.name for path in (tmp_path / "net").iterdir()) == sorted(
        [*NETWORK_FILES.values(), "code_counts.csv", "code_counts_long.csv"])
    pairs = pd.read_csv(tmp_path / "net" / "cooccurrence.csv", encoding="utf-8-sig")
    # barriers (4 passages) with gov (4): 3 shared of N = 6 -> 3*6/16
    assert pairs[["source", "target", "count", "association"]].values.tolist() == [["barriers", "gov", 3, 1.125]]


@pytest.mark.parametrize(
    "arguments, code, output",
    [
        (["network", "nowhere/segments.csv"], 1,
         "Error: nowhere/segments.csv: no such segments file. Run `coder run` first, or pass the path of a segments.csv.\n"),
    ],
)
def test_render_cli_network_errors(tmp_path, monkeypatch, arguments, code, output):
    monkeypatch.chdir(tmp_path)
    result = invoke(*arguments)
    assert (result.exit_code, result.output) == (code, output)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.lists(st.text(min_size=1, max_size=4), max_size=4))
def test_render_highlight_pieces_rebuild_the_text(text, words):
    pieces = highlight(text, words)
    assert "".join(piece for piece, _ in pieces) == text
    assert all(piece for piece, _ in pieces)


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.text() | st.integers() | st.floats(allow_nan=False), lambda inner: st.lists(inner, max_size=3)))
def test_render_script_json_never_closes_the_script_element(data):
    text = script_json(data)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == data


_PAGE_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from("<>&\u2028\u2029\"\\"))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "codes", "passages", "x"]),
                       st.recursive(_PAGE_TEXT | st.integers() | st.floats(allow_nan=False),
                                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_PAGE_TEXT, inner, max_size=2)),
                       min_size=1))
@example({"title": "</script> & 区", "codes": [{"label": "\u2028\u2029<b>"}], "passages": [[0, "a > b", [1.5]]]})
def test_render_report_bytes_are_the_page_text_as_utf8(tmp_path_factory, data):
    """render_report escapes the data in its UTF-8 bytes: the bytes of build_page's text."""
    from coder.render import build_page, render_report

    path = tmp_path_factory.mktemp("report") / "report.html"
    render_report(data, path)
    assert path.read_bytes() == build_page(data, title=str(data.get("title", "Concept network")),
                                           template="report").encode("utf-8")


@pytest.mark.parametrize("command", ["run", "network"])
@pytest.mark.parametrize("option, value, choices", [
    ("--measure", "bogus", "'jaccard', 'association', 'npmi', 'count'"),
    ("--color-by", "size", "'code', 'community'"),
])
def test_render_cli_network_options_reject_unknown_choices(command, option, value, choices):
    result = invoke(command, option, value)
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # rich wraps the message in a box
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': '{value}' is not one of {choices}." in words


@pytest.mark.parametrize(("linked", "isolated", "layout"), [
    (4, 0, "spring"), (4, 10_000, "spring"), (300, 0, "spring"), (302, 0, "spectral"), (10_000, 5, "spectral"),
])
def test_render_layout_puts_codes_without_links_in_a_grid_and_is_spectral_when_large(monkeypatch, linked, isolated, layout):
    graph = nx.Graph()
    graph.add_nodes_from(f"i{number}" for number in range(isolated // 2))
    graph.add_edges_from((f"l{number}", f"l{number + 1}") for number in range(0, linked, 2))
    graph.add_nodes_from(f"i{number}" for number in range(isolated // 2, isolated))
    calls = []
    for name in ("spring", "spectral"):
        monkeypatch.setattr(nx, f"{name}_layout", lambda part, name=name, **options: calls.append(
            (name, len(part))) or {node: (0.5, 1.0) for node in part})
    positions = coder.render._layout(graph, 42)
    assert calls == [(layout, linked)]
    assert len(positions) == len(graph)
    spread = 120 * linked ** 0.5 + 150
    grid = [positions[f"i{number}"] for number in range(isolated)]
    assert all(y >= spread + 240 for _, y in grid)
    assert len(set(grid)) == isolated


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_PAGE_TEXT, st.recursive(_PAGE_TEXT | st.integers(), lambda inner: st.lists(inner, max_size=3)),
                       min_size=1, max_size=5),
       st.lists(st.lists(st.integers(0, 10**6), max_size=4), max_size=4))
def test_render_report_writes_json_text_values_where_json_dumps_puts_them(tmp_path_factory, data, numbers):
    """A JsonText value of the page's data is written as it is, between the other items as json.dumps
    joins them: the page of the same data with the value itself."""
    from coder.render import JsonText, build_page, render_report

    path = tmp_path_factory.mktemp("report") / "report.html"
    render_report({**data, "sets": JsonText(json.dumps(numbers).encode("ascii"))}, path)
    assert path.read_bytes() == build_page({**data, "sets": numbers}, title=str(data.get("title", "Concept network")),
                                           template="report").encode("utf-8")
