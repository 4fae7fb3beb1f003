"""Stage 8: the concept network -> a self-contained HTML map (the only pyvis import), GraphML, GEXF.

The HTML page makes no network request: vis-network's script and stylesheet (vendored from
the pyvis package into coder/assets/) are inlined, and a Content-Security-Policy allows only
the page's own scripts, so text from the corpus or the codebook can never run as code. That
text reaches the page only as JSON data and is put on screen with `textContent`. The page's
template, stylesheet and script are files in coder/assets/ (page.html, page.css, page.js; the report's
report.*), and both pages take their hover tooltip from tooltip.js, inlined before their own script.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CoderError
from .files import atomic_open, write_text
from .models import ColorBy
from .network import PALETTE

if TYPE_CHECKING:
    import networkx as nx

# Above this size the layout is computed once in Python and physics stays off in the browser.
PHYSICS_MAX_NODES = 150
PHYSICS_MAX_EDGES = 1500
# A browser handles tens of thousands of links; beyond this the page draws only the strongest.
MAX_DRAWN_EDGES = 50_000
# Codes with a link are laid out by the spring layout up to this many, by the spectral layout
# above; codes without a link go in a grid below them.
LAYOUT_SPRING_NODES = 300
_GRID_STEP = 120.0


# --- graph exports ------------------------------------------------------------------------------

# XML 1.0 cannot hold these at all, not even as character references: C0 controls other than tab,
# newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with the characters XML cannot hold replaced by U+FFFD, so a label always exports.

    >>> xml_text("bell\\x07 and \\ud800")
    'bell\\ufffd and \\ufffd'
    """
    return _NOT_XML.sub("\ufffd", text)


def _plain(value: Any) -> Any:
    """A GraphML/GEXF-legal attribute value: str, int, float or bool; lists and dicts as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return xml_text(value)
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return xml_text(json.dumps(value, ensure_ascii=False, default=str))


def export_graph(graph: nx.Graph) -> nx.Graph:
    """A copy of `graph` whose attributes every GraphML/GEXF reader accepts.

    >>> graph = nx.Graph(); graph.add_node("a", examples=[{"text": "x"}], color=None)
    >>> dict(export_graph(graph).nodes["a"])
    {'examples': '[{"text": "x"}]', 'color': ''}
    """
    import networkx as nx

    plain = nx.Graph()
    plain.graph.update({key: _plain(value) for key, value in graph.graph.items()})
    plain.add_nodes_from((_plain(node), {key: _plain(value) for key, value in data.items()}) for node, data in graph.nodes(data=True))
    plain.add_edges_from(
        (_plain(source), _plain(target), {key: _plain(value) for key, value in data.items()})
        for source, target, data in graph.edges(data=True)
    )
    return plain


def write_graphml(graph: nx.Graph, path: str | Path) -> None:
    """network.graphml for Cytoscape, Gephi or yEd, written atomically."""
    import networkx as nx

    with atomic_open(path, "wb") as stream:
        nx.write_graphml(export_graph(graph), stream, encoding="utf-8")


def write_gexf(graph: nx.Graph, path: str | Path) -> None:
    """network.gexf for Gephi, written atomically; nodes carry their map colour and size (GEXF viz)."""
    import networkx as nx

    plain = export_graph(graph)
    plain.graph.clear()  # GEXF has no graph attributes; networkx would reject some of them
    for node, data in plain.nodes(data=True):
        viz: dict[str, Any] = {"size": float(max(1, data.get("passages", 1)))}
        color = str(data.get("color", ""))
        if re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            viz["color"] = {"r": int(color[1:3], 16), "g": int(color[3:5], 16), "b": int(color[5:7], 16), "a": 1.0}
        elif re.fullmatch(r"#[0-9a-fA-F]{3}", color):
            viz["color"] = {"r": int(color[1] * 2, 16), "g": int(color[2] * 2, 16), "b": int(color[3] * 2, 16), "a": 1.0}
        plain.nodes[node]["viz"] = viz
    with atomic_open(path, "wb") as stream:
        nx.write_gexf(plain, stream, encoding="utf-8")


# A value every XML writer puts in a file as it is, in text and in attributes alike.
_AS_IS_IN_XML = re.compile("[^&<>\"\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]*")
# What changes in a node: {attribute: (value written, new value)}, per node id, in the graph's order.
NodeChanges = Sequence[tuple[str, dict[str, tuple[str, str]]]]


def relabel_graphml(text: str, nodes: NodeChanges) -> str:
    """network.graphml as write_graphml wrote it, with the nodes' string attributes changed: the
    bytes write_graphml writes for the changed graph.

    Raises:
        ValueError: `text` does not hold these nodes with these values, or a value is one an XML
            writer escapes (then write the graph again).
    """
    keys = dict(re.findall(r'<key id="(d[0-9]+)" for="node" attr\.name="([^"]+)" attr\.type="string"\s*/>', text))
    names = {name: key for key, name in keys.items()}
    return _relabel_nodes(text, nodes, node=re.compile(r'<node id="([^"]*)">(.*?)</node>', re.S),
                          elements=lambda name, value: (f'<data key="{names[name]}">{value}</data>',))


def relabel_gexf(text: str, nodes: NodeChanges) -> str:
    """network.gexf as write_gexf wrote it, with the nodes' string attributes (the node's `label`,
    its attribute values and, for `color`, its viz colour) changed: the bytes write_gexf writes for
    the changed graph, today's date included.

    Raises:
        ValueError: as relabel_graphml.
    """
    block = re.search(r'<attributes mode="static" class="node">(.*?)</attributes>', text, re.S)
    found = re.findall(r'<attribute id="([0-9]+)" title="([^"]+)" type="string" />', block.group(1) if block else "")
    ids = {title: number for number, title in found}

    def elements(name: str, value: str) -> tuple[str, ...]:
        if name == "label":
            return (f' label="{value}">',)
        attribute = f'<attvalue for="{ids[name]}" value="{value}" />'
        return (f"<viz:color {_viz_color(value)} />", attribute) if name == "color" else (attribute,)

    dated, found_date = re.subn(r'<meta lastmodifieddate="[0-9]{4}-[0-9]{2}-[0-9]{2}"',
                                f'<meta lastmodifieddate="{time.strftime("%Y-%m-%d")}"', text, count=1)
    if not found_date:
        raise ValueError("network.gexf: no date")
    return _relabel_nodes(dated, nodes, node=re.compile(r'<node id="([^"]*)"( label="[^"]*">.*?)</node>', re.S),
                          elements=elements)


def _viz_color(color: str) -> str:
    """The viz:color attributes write_gexf gives a colour."""
    if re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        red, green, blue = (int(color[start:start + 2], 16) for start in (1, 3, 5))
    elif re.fullmatch(r"#[0-9a-fA-F]{3}", color):
        red, green, blue = (int(color[position] * 2, 16) for position in (1, 2, 3))
    else:
        raise ValueError(f"color {color!r}: no viz colour")
    return f'r="{red}" g="{green}" b="{blue}" a="1.0"'


def _relabel_nodes(text: str, nodes: NodeChanges, *, node: re.Pattern,
                   elements: Callable[[str, str], tuple[str, ...]]) -> str:
    """`text` with each node's `elements(name, old)` (each once in the node) made `elements(name, new)`."""
    pieces, position = [], 0
    matches = list(node.finditer(text))
    if [match.group(1) for match in matches] != [node_id for node_id, _ in nodes]:
        raise ValueError("the file's nodes are not the graph's")
    for match, (node_id, changes) in zip(matches, nodes):
        body = match.group(2)
        if not _AS_IS_IN_XML.fullmatch(node_id):
            raise ValueError(f"node {node_id!r}: escaped in XML")
        for name, (old, new) in changes.items():
            if not (_AS_IS_IN_XML.fullmatch(old) and _AS_IS_IN_XML.fullmatch(new)):
                raise ValueError(f"node {node_id!r}: {name} is escaped in XML")
            try:
                pairs = list(zip(elements(name, old), elements(name, new)))
            except KeyError:
                raise ValueError(f"no node attribute {name!r}")
            for before, after in pairs:
                if body.count(before) != 1:
                    raise ValueError(f"node {node_id!r}: {name} is not {old!r}")
                body = body.replace(before, after)
        pieces += [text[position:match.start(2)], body]
        position = match.end(2)
    return "".join([*pieces, text[position:]])


# --- the HTML map -------------------------------------------------------------------------------


def highlight(text: str, words: list[str]) -> list[list[Any]]:
    """Split `text` into [piece, is_match] runs, marking every case-insensitive hit of `words`.

    The page turns each run into a text node or a <mark>, never into markup.

    >>> highlight("Joint meeting held; joint work", ["joint meeting", "Joint"])
    [['Joint meeting', True], [' held; ', False], ['joint', True], [' work', False]]
    """
    words = sorted({word for word in words if word.strip()}, key=len, reverse=True)
    if not words or not text:
        return [[text, False]] if text else []
    pieces: list[list[Any]] = []
    position = 0
    for start, end in _word_spans(text, tuple(words)):
        if start > position:
            pieces.append([text[position:start], False])
        pieces.append([text[start:end], True])
        position = end
    if position < len(text):
        pieces.append([text[position:], False])
    return pieces


def _word_spans(text: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Leftmost, then longest, non-overlapping case-insensitive occurrences of `words` in `text`.

    Plain string search rather than a regex per passage: a map shows thousands of examples.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lengthen when lower-cased: fall back
        pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
        return [match.span() for match in pattern.finditer(text)]
    found = []
    for word in words:
        needle = word.lower()
        start = lowered.find(needle)
        while start != -1:
            found.append((start, start + len(needle)))
            start = lowered.find(needle, start + 1)
    spans: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
        if not spans or start >= spans[-1][1]:
            spans.append((start, end))
    return spans


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no "</script>", no HTML, no JS line breaks.

    >>> script_json({"t": "</script><b>&\\u2028"})
    '{"t": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026\\\\u2028"}'
    """
    return _escaped(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")


_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


@dataclass(frozen=True)
class JsonText:
    """A value of a page's data given as its JSON text (json.dumps' own, ASCII, none of the characters
    script_json escapes): render_report writes it as it is."""

    text: bytes


def _script_json_bytes(data: Any) -> list[bytes]:
    """script_json(data) as UTF-8, in pieces, escaped in the bytes: there each character is a byte search
    (memchr), where a text holding Chinese is two bytes a character and each of five searches took 6 ms
    for a big report. A character's bytes never occur across two characters in UTF-8, so the escapes are
    the same. A dict's JsonText values are written as they are, between its other items as json.dumps
    joins them."""
    if not (isinstance(data, dict) and any(isinstance(value, JsonText) for value in data.values())):
        return [_escaped(json.dumps(data, ensure_ascii=False).encode("utf-8"))]
    pieces = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"page data: key {key!r} is not a string")
        pieces.append(_escaped(json.dumps(key, ensure_ascii=False).encode("utf-8")) + b": ")
        pieces.append(value.text if isinstance(value, JsonText) else
                      _escaped(json.dumps(value, ensure_ascii=False).encode("utf-8")))
        pieces.append(b", ")
    pieces[0] = b"{" + pieces[0]
    pieces[-1] = b"}"
    return pieces


def _escaped(encoded: bytes) -> bytes:
    for character, escape in _SCRIPT_ESCAPES:
        encoded = encoded.replace(character.encode("utf-8"), escape.encode("ascii"))
    return encoded


def _asset(name: str) -> str:
    """A file of coder/assets/: the page template, its stylesheet and scripts, vis-network."""
    return resources.files("coder").joinpath("assets", name).read_text(encoding="utf-8")


def vis_network_script() -> str:
    """vis-network as the pages carry it: without its source map comment, for which a browser's
    developer tools would ask the web for the .map file."""
    return re.sub(r"\s*//# sourceMappingURL=\S*\s*$", "\n", _asset("vis-network.min.js"))


def _layout(graph: nx.Graph, seed: int) -> dict[Any, tuple[float, float]]:
    """Positions in screen units: linked codes by networkx's spring layout (seeded, so runs
    repeat), codes without a link in a grid below them."""
    import networkx as nx

    if graph.number_of_nodes() == 0:
        return {}
    linked = [node for node in graph.nodes if graph.degree(node)]
    isolated = [node for node in graph.nodes if not graph.degree(node)]
    positions: dict[Any, tuple[float, float]] = {}
    bottom = 0.0
    if linked:
        part = graph
        if isolated:
            part = nx.Graph()
            part.add_nodes_from(linked)
            part.add_edges_from(graph.edges)
        found = _force_or_spectral(part, seed)
        scale = 120 * math.sqrt(len(linked)) + 150
        positions = {node: (float(x) * scale, float(y) * scale) for node, (x, y) in found.items()}
        bottom = scale + 2 * _GRID_STEP
    if isolated:
        columns = max(1, math.ceil(math.sqrt(len(isolated) * 3)))  # wider than tall, like a page
        left = -(columns - 1) * _GRID_STEP / 2
        for index, node in enumerate(isolated):
            row, column = divmod(index, columns)
            positions[node] = (left + column * _GRID_STEP, bottom + row * _GRID_STEP / 2)
    return positions


def _force_or_spectral(graph: nx.Graph, seed: int) -> dict[Any, Any]:
    """The spring layout (50 iterations, each O(codes^2)) up to LAYOUT_SPRING_NODES codes; above,
    the spectral layout (a few sparse eigenvectors, seconds at 10,000 codes)."""
    import networkx as nx

    if len(graph) <= LAYOUT_SPRING_NODES:
        return nx.spring_layout(graph, seed=seed, weight=None, iterations=50)
    try:
        return nx.spectral_layout(graph)
    except (ArithmeticError, ValueError, RuntimeError):  # the eigensolver did not converge
        return nx.circular_layout(graph)


def _node_info(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": data.get("label", ""),
        "path": data.get("code_path", ""),
        "description": data.get("description", ""),
        "passages": data.get("passages", 0),
        "documents": data.get("documents", 0),
        "degree": data.get("degree", 0),
        "weighted_degree": data.get("weighted_degree", 0),
        "betweenness": data.get("betweenness", 0),
        "community": data.get("community", 0),
        "top": data.get("top_label", ""),
        "examples": [
            {"where": f"{example['document']} ¶{example['passage']}", "pieces": highlight(example["text"], example["matched"])}
            for example in data.get("examples", [])
        ],
    }


def _edge_info(graph: nx.Graph, source: Any, target: Any, data: dict[str, Any]) -> dict[str, Any]:
    example = data.get("example") or {}
    return {
        "source": graph.nodes[source].get("label", str(source)),
        "target": graph.nodes[target].get("label", str(target)),
        "count": data.get("count", 0),
        "documents": data.get("documents", 0),
        "jaccard": data.get("jaccard", 0.0),
        "association": data.get("association", 0.0),
        "npmi": data.get("npmi", 0.0),
        "example": {
            "where": f"{example['document']} ¶{example['passage']}",
            "pieces": highlight(example["text"], example["matched"]),
        } if example else None,
    }


class _IdList(list):
    """pyvis keeps node ids in a list and scans it for every edge; a set makes that O(1)."""

    def __init__(self) -> None:
        super().__init__()
        self._ids: set[Any] = set()

    def append(self, item: Any) -> None:
        self._ids.add(item)
        super().append(item)

    def __contains__(self, item: object) -> bool:
        return item in self._ids


def _strongest(graph: nx.Graph, limit: int) -> nx.Graph:
    """`graph` with only its `limit` strongest edges (by weight, then count), all nodes kept."""
    import networkx as nx

    ranked = sorted(graph.edges(data=True), key=lambda edge: (-edge[2].get("weight", 0.0), -edge[2].get("count", 0)))
    kept = nx.Graph()
    kept.graph.update(graph.graph)
    kept.add_nodes_from(graph.nodes(data=True))
    kept.add_edges_from(ranked[:limit])
    return kept


def _page_data(graph: nx.Graph, *, color_by: ColorBy, seed: int, max_edges: int = MAX_DRAWN_EDGES) -> dict[str, Any]:
    """Nodes and edges for vis-network, converted by pyvis, plus tooltip and legend data."""
    all_edges = graph.number_of_edges()
    if all_edges > max_edges:
        graph = _strongest(graph, max_edges)
    large = graph.number_of_nodes() > PHYSICS_MAX_NODES or graph.number_of_edges() > PHYSICS_MAX_EDGES
    nodes, edges = _vis_records(graph, color_by=color_by, seed=seed)
    measure = graph.graph.get("measure", "jaccard")
    return {
        "nodes": nodes,
        "edges": edges,
        "legend": _legend(graph, color_by=color_by),
        "message": _message(graph, all_edges),
        "physics": not large,
        "summary": (f"{_plural(graph.number_of_nodes(), 'code')} · {_plural(graph.number_of_edges(), 'link')} · "
                    f"edge width: {measure} · node size: passages · colour: "
                    f"{'community' if color_by == 'community' else 'top-level code'}"),
        "total_passages": graph.graph.get("total_passages", 0),
    }


def _community_color(community: int) -> str:
    return PALETTE[(community - 1) % len(PALETTE)]


def _vis_records(graph: nx.Graph, *, color_by: ColorBy, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """vis-network's node and edge records, made by pyvis, in the graph's order and laid out in Python."""
    import networkx as nx
    from pyvis.network import Network

    positions = _layout(graph, seed)
    display = nx.Graph()
    for node, data in graph.nodes(data=True):
        color = data.get("color") or PALETTE[0]
        if color_by == "community":
            color = _community_color(int(data.get("community", 0) or 0))
        x, y = positions[node]
        display.add_node(
            node, label=str(data.get("label", node)), color=color, value=int(data.get("passages", 1)),
            size=10, x=round(x, 2), y=round(y, 2), info=_node_info(data),
        )
    for number, (source, target, data) in enumerate(graph.edges(data=True)):
        display.add_edge(source, target, id=number, weight=float(data.get("weight", 1.0)),
                         info=_edge_info(graph, source, target, data))
    # pyvis turns the networkx graph into vis-network's node and edge records. `directed`
    # skips its duplicate-edge scan, quadratic in the edges; a networkx Graph has none.
    net = Network(directed=True)
    net.node_ids = _IdList()
    net.from_nx(display, edge_scaling=True)
    order = {node: position for position, node in enumerate(graph.nodes)}
    nodes = sorted(net.nodes, key=lambda node: order[node["id"]])
    edges = [{key: value for key, value in edge.items() if key != "arrows"} for edge in net.edges]
    return nodes, edges


def _legend(graph: nx.Graph, *, color_by: ColorBy) -> list[dict[str, Any]]:
    """One entry per community, or per top-level code, with its colour and number of codes."""
    if color_by == "community":
        counts: dict[int, int] = {}
        for _, data in graph.nodes(data=True):
            counts[int(data.get("community", 0) or 0)] = counts.get(int(data.get("community", 0) or 0), 0) + 1
        return [{"color": _community_color(number), "name": f"Community {number}", "count": counts[number]}
                for number in sorted(counts)]
    seen: dict[str, dict[str, Any]] = {}
    for _, data in graph.nodes(data=True):
        entry = seen.setdefault(data.get("top", ""), {"color": data.get("color") or PALETTE[0],
                                                      "name": data.get("top_label", ""), "count": 0})
        entry["count"] += 1
    return list(seen.values())


def _message(graph: nx.Graph, all_edges: int) -> str:
    """What the page says above the map when there is nothing, or not everything, to draw."""
    measure = graph.graph.get("measure", "jaccard")
    if not any(int(data.get("passages", 0) or 0) for _, data in graph.nodes(data=True)):
        return "No coded passages: nothing to draw. Check the codebook's keywords, or the review column (rejected rows are left out)."
    if graph.number_of_edges() == 0:
        return (f"{graph.number_of_nodes()} code(s), but no two codes share a passage"
                + (f" at least {graph.graph.get('min_count')} times" if graph.graph.get("min_count", 1) > 1 else "")
                + ": no edges to draw.")
    if all_edges > graph.number_of_edges():
        return (f"Showing the {graph.number_of_edges():,} strongest of {all_edges:,} links by {measure}. "
                f"Pass --top-edges (or --min-count) to choose which links to draw.")
    return ""


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def render_html(
    graph: nx.Graph,
    path: str | Path,
    *,
    color_by: ColorBy = "code",
    title: str = "Concept network",
    seed: int | None = None,
    max_edges: int = MAX_DRAWN_EDGES,
) -> None:
    """Write the interactive map as one self-contained UTF-8 HTML file, atomically.

    Node size is passages, edge width the graph's measure (`weight`), colour the top-level
    code or the Louvain community. Hovering shows definitions, counts and example passages.
    Only the `max_edges` strongest links are drawn (the page says so when some are left out).

    >>> render_html(graph, "outputs/network.html", color_by="community")  # doctest: +SKIP
    """
    if color_by not in ("code", "community"):
        raise CoderError(f"color_by '{color_by}' is not one of code, community. Pass --color-by code, for example.")
    data = _page_data(graph, color_by=color_by, seed=graph.graph.get("seed", 42) if seed is None else seed,
                      max_edges=max_edges)
    write_text(path, build_page(data, title=title))


def render_report(data: dict[str, Any], path: str | Path) -> None:
    """Write the report page (map, matrix, frequencies, keyword in context) for `report.report_data()`.

    One self-contained UTF-8 file, written atomically; it makes no network request.

    >>> render_report(report_data(segments, codebook), "outputs/report.html")  # doctest: +SKIP
    """
    before, after = _page_around_data(title=str(data.get("title", "Concept network")), template="report")
    data_pieces = _script_json_bytes(data)  # build_page's text in bytes (write_text encoded it): cheaper escapes
    with atomic_open(path, "wb") as stream:
        for piece in (before.encode("utf-8"), *data_pieces, after.encode("utf-8")):
            stream.write(piece)


def render_redirect(path: str | Path, *, target: str = "report.html") -> None:
    """Write a small page that opens `target` (a file name in the same folder): the old name of a
    page keeps working without a second copy of it (network.html was the report's first name).

    >>> render_redirect("outputs/network.html")  # doctest: +SKIP
    """
    write_text(path, _asset("redirect.html").format(target=html.escape(target)))


def build_page(data: dict[str, Any], *, title: str, template: str = "page") -> str:
    """The HTML text of the map (`page`, data from `_page_data`) or of the report (`report`)."""
    before, after = _page_around_data(title=title, template=template)
    return before + script_json(data) + after


def relabel_report(page: bytes, *, title: str, codes: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> bytes:
    """The report page `page` (its bytes) as render_report wrote it, with the title `title` and the codes
    `codes` makes of its codes (labels, descriptions, colours): the bytes render_report would write for
    that data, made without decoding the rest of it (passages, layouts, counts: most of a big report).

    Raises:
        ValueError: `page` is not a report page as this version writes it.
    """
    start = page.index(_DATA_START_BYTES) + len(_DATA_START_BYTES)
    end = page.index(b"</script>", start)
    head, spans = _leading_text(page, start, end, until="codes")
    old_title, (title_start, title_end) = spans["title"]
    old_codes, (codes_start, codes_end) = spans["codes"]
    before, after = _page_around_data(title=str(old_title), template="report")
    if (page[:start] != before.encode("utf-8") or page[end:] != after.encode("utf-8")
            or head[title_start:title_end] != script_json(old_title) or head[codes_start:codes_end] != script_json(old_codes)):
        raise ValueError("report.html: not as this version writes it")

    def at(position: int) -> int:  # a position in `head` as a position in `page`
        return start + len(head[:position].encode("utf-8"))

    before, after = _page_around_data(title=title, template="report")
    return b"".join([before.encode("utf-8"), page[start:at(title_start)], script_json(title).encode("utf-8"),
                     page[at(title_end):at(codes_start)], script_json(codes(old_codes)).encode("utf-8"),
                     page[at(codes_end):end], after.encode("utf-8")])


def _leading_text(page: bytes, start: int, end: int, *, until: str) -> tuple[str, dict[str, tuple[Any, tuple[int, int]]]]:
    """The beginning of the JSON object `page[start:end]` decoded, as far as the value of the key `until`,
    and its leading values (`_leading_values`). Decoded a piece at a time (from 64 KB, doubling)."""
    size = 1 << 16
    while True:
        stop = min(start + size, end)
        piece = page[start:stop]
        try:
            text = piece.decode("utf-8")
        except UnicodeDecodeError as error:
            if stop == end or error.start < len(piece) - 3:
                raise ValueError("report.html: not UTF-8") from None
            text = piece[:error.start].decode("utf-8")  # a character cut at the piece's end
        try:
            return text, _leading_values(text, until=until)
        except ValueError:  # a value cut at the piece's end, else not a report's data
            if stop == end:
                raise
        size *= 2


_DATA_START = '<script type="application/json" id="coder-data">'
_DATA_START_BYTES = _DATA_START.encode("utf-8")
_DATA_MARK = "<coder-data\x00>"  # in no asset, and no escaped title holds "<"


def _leading_values(data: str, *, until: str) -> dict[str, tuple[Any, tuple[int, int]]]:
    """The values of a JSON object's keys up to `until` (included), each with its span in `data`."""
    decoder = json.JSONDecoder()
    found: dict[str, tuple[Any, tuple[int, int]]] = {}
    position = 1 if data.startswith("{") else -1
    while position > 0 and until not in found:
        key, position = decoder.raw_decode(data, position)
        if not isinstance(key, str) or not data.startswith(": ", position):
            break
        value, end = decoder.raw_decode(data, position + 2)
        found[key] = (value, (position + 2, end))
        position = end + 2 if data.startswith(", ", end) else -1
    if until not in found or "title" not in found:
        raise ValueError("report.html: no title and codes in its data")
    return found


def _page_around_data(*, title: str, template: str) -> tuple[str, str]:
    """The HTML text of a page before and after its data."""
    vis_js = vis_network_script()
    app_js = _asset("tooltip.js") + "\n" + _asset(f"{template}.js")  # the shared tooltip, then the page
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode('utf-8')).digest()).decode('ascii')}'"
        for script in (vis_js, app_js)
    )
    policy = (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
              "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    page = _asset(f"{template}.html").format(
        policy=html.escape(policy, quote=False),
        title=html.escape(title),
        vis_css=_asset("vis-network.css").replace("</style", "<\\/style"),
        page_css=_asset(f"{template}.css"),
        data=_DATA_MARK,
        vis_js=vis_js,
        app_js=app_js,
    )
    before, mark, after = page.partition(_DATA_MARK)
    if not mark or _DATA_MARK in after:
        raise ValueError(f"{template}.html: the page's data goes in one place")
    return before, after
