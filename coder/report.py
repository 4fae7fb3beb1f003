"""Stage 8: coded segments -> the report page's one embedded data set (map, matrix, frequencies, KWIC).

The page computes every count and measure itself, at any roll-up level, from the per-passage
code sets held here, so that changing a control needs no rerun. Python adds what a browser
should not compute on each change: a seeded layout and Louvain communities per level (on the
default links), and the codes' labels, paths, definitions and colours. Text from the corpus,
the codebook or documents.csv stays plain strings here; the page shows it with `textContent`.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .cooccurrence import Cooccurrence, _PassageKeys, build_cooccurrence
from .models import Codebook, NetworkOptions
from .network import (  # the map's own rules
    PALETTE,
    _add_communities,
    _kept_pairs,
    _ordered_codes,
    _top_level_codes,
    code_color,
    head_per_group,
    page_label,
    snippet,
)
from .render import JsonText, _layout  # the map's seeded spring layout, one definition
from .segments import split_matched

if TYPE_CHECKING:
    import networkx as nx

# A passage shown in the page is cut around its matched words past this many characters.
PASSAGE_CHARACTERS = 600
# Past this many coded passages the page lists (its passage lists, examples and keyword in
# context) a seeded sample of them: the first SAMPLE_PER_CODE passages of each code, then passages
# drawn at random with the map's seed. Every count and measure still comes from all passages.
PASSAGES_SHOWN = 5_000
SAMPLE_PER_CODE = 2
# The layout places codes by at least this many of their strongest pairs, whatever the defaults draw.
LAYOUT_EDGES = 2_000
# Roll-up levels are keyed by depth; 0 means no roll-up (every code as coded).
ALL_CODES = 0


def report_data(
    segments: pd.DataFrame,
    codebook: Codebook | None,
    *,
    options: NetworkOptions = NetworkOptions(),
    total_passages: int | None = None,
    documents: pd.DataFrame | None = None,
    title: str = "Concept network",
    cooccurrence: Cooccurrence | None = None,
    rolled: dict[int, Cooccurrence] | None = None,
    listing: tuple[list[str], list[list[Any]], list[str], list[list[Any]], dict[str, int] | None] | None = None,
    network: nx.Graph | None = None,
    sets_as_json: bool = False,
    passages_by_document: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The report page's data: codes, passages with their codes and matched words, layouts per level.

    `segments` are the counted rows (rejected ones dropped); `options` give the controls'
    starting values and the links the layout and communities are computed on; `documents`,
    when given, holds a `document` column and one column per document variable (documents.csv).

    The counts come from `sets`: one [document number, passages, [code numbers]] per document and
    code set, so passages coded alike are one entry. `passages` holds the passages the page lists,
    with their text: all of them, or past PASSAGES_SHOWN a seeded sample described by `sample`.

    `cooccurrence` is build_cooccurrence(segments, total_passages=..., codebook=...) without a
    level when the caller has built it already (it is not built twice). A partitioned run (the Dask
    engine, coder.partitioned) holds no segment table: it passes every level's co-occurrence in
    `rolled` and the passage data (`_passages`' result) in `listing`, reduced across partitions.
    `network` is build_network's graph of that `cooccurrence` with these `options` (isolated codes
    kept), when the caller has built it: the communities of every code are its own (not found twice).
    `sets_as_json` gives `sets` as their JSON text (render.JsonText), which render_report writes as it is.
    `passages_by_document` (every document of the corpus, coded or not) gives each group of documents its
    passages, the N of the page's measures when the group is chosen, as `coder network --where` counts it.

    >>> frame = pd.DataFrame({"document": ["d", "d"], "passage": [0, 0], "code": ["a", "b"]})
    >>> data = report_data(frame, None, options=NetworkOptions(min_count=1))
    >>> [code["id"] for code in data["codes"]], data["sets"], data["passages"], data["sample"]
    (['a', 'b'], [[0, 1, [0, 1]]], [[0, 0, '', [0, 1], [[], []]]], None)
    """
    base = cooccurrence if cooccurrence is not None and cooccurrence.level is None else build_cooccurrence(
        segments, total_passages=total_passages, codebook=codebook)
    codes = _codes(base.codes, codebook)
    index = {code["id"]: position for position, code in enumerate(codes)}
    colors = _top_level_codes(base.codes, codebook)
    for code in codes:
        code["color"] = code_color(code["path"], colors, codebook)
    depth = max((len(code["path"]) for code in codes), default=1)
    levels = [*range(1, depth), ALL_CODES]
    layouts: dict[str, dict[str, list[float]]] = {}
    communities: dict[str, dict[str, int]] = {}
    for level in levels:
        if level == ALL_CODES:
            at_level = base
        elif rolled is not None and level in rolled:
            at_level = rolled[level]
        else:
            at_level = build_cooccurrence(segments, level=level, total_passages=total_passages, codebook=codebook)
        # build_network drew the same links on the same codes, in the same order: the same communities
        graph = network if level == ALL_CODES and network is not None else _community_graph(at_level, codebook, options)
        positions = _layout(_layout_graph(graph, at_level.pairs, options), options.seed)
        layouts[str(level)] = {node: [round(x, 1), round(y, 1)] for node, (x, y) in positions.items()}
        communities[str(level)] = {node: int(data["community"]) for node, data in graph.nodes(data=True)}
    names, passages, words, sets, sample = listing if listing is not None else _passages(
        base.segments, index, seed=options.seed, keys=base.passage_keys, sets_as_json=sets_as_json)
    return {
        "title": title,
        "total_passages": int(base.total_passages),
        "defaults": {
            "measure": options.measure, "min_count": options.min_count, "top_edges": options.top_edges or 0,
            "level": options.level if options.level in levels else ALL_CODES, "hide_isolated": options.hide_isolated,
            "color_by": options.color_by, "weak": "hidden",
        },
        "levels": levels,
        "codes": codes,
        "documents": names,
        "variables": _variables(documents, names),
        "group_passages": _group_passages(documents, passages_by_document),
        "words": words,
        "sets": sets,
        "passages": passages,
        "sample": sample,
        "layouts": layouts,
        "communities": communities,
        "palette": list(PALETTE),
    }


def _codes(table: pd.DataFrame, codebook: Codebook | None) -> list[dict[str, Any]]:
    """Every code as coded, then every ancestor it rolls up to, codebook order first."""
    found: dict[str, dict[str, Any]] = {}
    order = {code.id: position for position, code in enumerate(codebook)} if codebook is not None else {}
    for row in table.itertuples(index=False):
        path = str(row.code_path).split("/") if str(row.code_path) else [str(row.code)]
        if codebook is not None and row.code in codebook:
            path = list(codebook[row.code].path)
        for depth in range(1, len(path) + 1):
            code = path[depth - 1]
            if code not in found:
                known = codebook[code] if codebook is not None and code in codebook else None
                found[code] = {
                    "id": code, "label": page_label(known.label if known else (str(row.label) if code == row.code else code)),
                    "path": path[:depth], "description": known.description if known else "", "color": "",
                    "own": False,
                }
        found[path[-1]]["own"] = True  # a code as coded, shown at level 0 (every code)
    return sorted(found.values(), key=lambda code: (order.get(code["id"], len(order)), "/".join(code["path"])))


def _community_graph(cooccurrence: Cooccurrence, codebook: Codebook | None, options: NetworkOptions) -> nx.Graph:
    """The default links at one level with Louvain communities, as build_network draws them (so
    codes.csv agrees), without the centrality and examples the page does not use."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(_ordered_codes(cooccurrence.codes, codebook)["code"])
    pairs = _kept_pairs(cooccurrence.pairs, measure=options.measure, min_count=options.min_count,
                        top_edges=options.top_edges)
    graph.add_weighted_edges_from(zip(pairs["source"].tolist(), pairs["target"].tolist(), pairs["weight"].tolist()))
    _add_communities(graph, seed=options.seed)
    return graph


def _layout_graph(graph: nx.Graph, pairs: pd.DataFrame, options: NetworkOptions) -> nx.Graph:
    """The codes joined by their strongest pairs, weak ones included: a code whose links are hidden
    by default still sits near the codes it shares passages with, and appears there when shown."""
    import networkx as nx

    limit = None if options.top_edges is None else max(options.top_edges, LAYOUT_EDGES)
    ranked = pairs.sort_values([options.measure, "count", "source", "target"], ascending=[False, False, True, True],
                               kind="stable")
    if limit is not None:
        ranked = ranked.head(limit)
    layout = nx.Graph()
    layout.add_nodes_from(graph.nodes)
    layout.add_edges_from(zip(ranked["source"].tolist(), ranked["target"].tolist()))
    return layout


def _passages(
    frame: pd.DataFrame, index: dict[str, int], *, seed: int = 42, keys: _PassageKeys | None = None,
    sets_as_json: bool = False,
) -> tuple[list[str], list[list[Any]], list[str], list[list[Any]] | JsonText, dict[str, int] | None]:
    """Documents, the listed passages, the matched words they refer to by number, the code sets
    with their passage counts, and how the listed passages were sampled (None: all are listed).

    A passage record is [document number, passage number, text, [code numbers], [[word numbers]
    per code]]; the text is cut around the matched words past PASSAGE_CHARACTERS. A code set is
    [document number, number of passages, [code numbers, ascending]], in document order.

    `keys`, when given, are build_cooccurrence's keys of `frame` (its `segments`): its documents and codes
    are then not factorized again, and its rows code each passage once.
    """
    if frame.empty:
        return [], [], [], JsonText(b"[]") if sets_as_json else [], None
    # Integer keys once, then arrays: a big run has hundreds of thousands of rows but only the
    # listed passages need Python objects (and only they need their text).
    if keys is not None and keys.frame is frame:
        document_index, document_names, code_names, code_uniques = (
            keys.document_index, keys.documents, keys.code_index, keys.codes)
    else:
        keys = None
        document_index, document_names = pd.factorize(frame["document"].astype(str), sort=True)
        code_names, code_uniques = pd.factorize(frame["code"].astype(str))
    names = [str(name) for name in document_names]
    passage_numbers = frame["passage"].astype(int).to_numpy(dtype=np.int64)
    code_numbers = np.array([index[str(code)] for code in code_uniques], dtype=np.int64)[code_names]
    matched_index, matched_uniques = pd.factorize(frame["matched"], use_na_sentinel=False)
    # Words are numbered as first met row by row: a matched cell first met later adds its new words later.
    word_number: dict[str, int] = {}
    numbers_of = [[word_number.setdefault(word, len(word_number)) for word in split_matched(matched)]
                  for matched in matched_uniques]
    words = list(word_number)
    # Rows in passage order (document number, passage number); a stable sort keeps each passage's
    # codes in row order.
    span = int(passage_numbers.max()) - int(passage_numbers.min()) + 1
    passage_key = document_index.astype(np.int64) * span + (passage_numbers - int(passage_numbers.min()))
    order = np.argsort(passage_key, kind="stable")
    sorted_key = passage_key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    ends = np.r_[starts[1:], len(order)]
    passage_of_row = np.repeat(np.arange(len(starts)), ends - starts)  # passage position of each sorted row
    sorted_codes = code_numbers[order]
    passage_documents = document_index[order][starts]
    sets = _code_sets(passage_of_row, sorted_codes, passage_documents, len(starts), as_json=sets_as_json)
    chosen = np.arange(len(starts))
    sample = None
    if len(starts) > PASSAGES_SHOWN:
        chosen = _sample(passage_of_row, sorted_codes, len(starts), seed=seed, distinct=keys is not None)
        sample = {"shown": len(chosen), "coded": len(starts), "seed": seed, "per_code": SAMPLE_PER_CODE}
    first_rows = order[starts[chosen]]
    texts = frame["text"].take(first_rows).tolist()  # the listed passages' texts, in one call
    sorted_matched = matched_index[order]
    passages = []
    for position, row, text in zip(chosen.tolist(), first_rows.tolist(), texts):
        first, last = int(starts[position]), int(ends[position])
        text = str(text)
        numbers = [numbers_of[matched] for matched in sorted_matched[first:last].tolist()]
        if len(text) > PASSAGE_CHARACTERS:
            text = snippet(text, [words[number] for each in numbers for number in each], width=PASSAGE_CHARACTERS)
        passages.append([int(passage_documents[position]), int(passage_numbers[row]), text,
                         sorted_codes[first:last].tolist(), numbers])
    return names, passages, words, sets, sample


def _code_sets(passage_of_row: np.ndarray, codes: np.ndarray, passage_documents: np.ndarray,
               count: int, *, as_json: bool = False) -> list[list[Any]] | JsonText:
    """[document number, passages, [code numbers, ascending]] per document and code set, sorted;
    `as_json`: those lists as JSON text, written in Arrow (the page's biggest value, made of numbers).

    Grouped and sorted in Arrow: each passage's codes, ascending, as one binary key of big-endian
    numbers (bytes compare as the code lists do, a shorter list first), so no tuple per passage."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not count:
        return JsonText(b"[]") if as_json else []
    # lexsort((codes, passage_of_row)) as one stable sort of an integer key: 0.037 -> 0.001 s at 437,785 rows.
    order = np.argsort(passage_of_row.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes, kind="stable")
    ascending = codes[order].astype(np.int64)
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(passage_of_row, minlength=count), out=offsets[1:])
    keys = pa.LargeBinaryArray.from_buffers(pa.large_binary(), count, [
        None, pa.py_buffer(offsets * 4), pa.py_buffer(ascending.astype(">u4").tobytes())])
    documents = np.asarray(passage_documents[:count], dtype=np.int64)
    ranked = pc.sort_indices(pa.table({"document": documents, "key": keys}),
                             sort_keys=[("document", "ascending"), ("key", "ascending")]).to_numpy()
    ranked_keys = keys.take(pa.array(ranked))
    ranked_documents = documents[ranked]
    first = np.ones(count, dtype=bool)
    first[1:] = ((ranked_documents[1:] != ranked_documents[:-1])
                 | pc.not_equal(ranked_keys.slice(1), ranked_keys.slice(0, count - 1)).to_numpy(zero_copy_only=False))
    starts = np.flatnonzero(first)
    numbers = np.diff(np.append(starts, count))
    code_lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(ascending)).take(pa.array(ranked[starts]))
    if as_json:
        return _code_sets_json(ranked_documents[starts], numbers, code_lists)
    return [[document, number, codes] for document, number, codes in
            zip(ranked_documents[starts].tolist(), numbers.tolist(), code_lists.to_pylist())]


def _code_sets_json(documents: np.ndarray, numbers: np.ndarray, code_lists: Any) -> JsonText:
    """json.dumps([[document, number, [codes]], ...]) of these whole numbers, each number written by
    Arrow and each list joined there: no Python object per set (61,071 sets of 437,785 codes at 50 MB:
    to_pylist and json.dumps took 0.07 s)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()

    def piece(value: str) -> pa.Scalar:
        return pa.scalar(value, type=text)

    offsets = code_lists.offsets.to_numpy()
    numbers_of_codes = code_lists.flatten().to_numpy()
    # Code numbers are positions among the page's codes: each number's text made once and taken (casting
    # each of 437,785 took 8 ms)
    written = pa.array([str(number) for number in range(int(numbers_of_codes.max(initial=0)) + 1)], type=text)
    codes = pa.LargeListArray.from_arrays(pa.array(offsets - offsets[0]), written.take(pa.array(numbers_of_codes)))
    sets = pc.binary_join_element_wise(
        piece("["), pc.cast(pa.array(documents, type=pa.int64()), text), piece(", "),
        pc.cast(pa.array(numbers, type=pa.int64()), text), piece(", ["), pc.binary_join(codes, piece(", ")), piece("]]"),
        piece(""))
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(sets)], type=pa.int64()), sets), piece(", "))
    return JsonText(b"[" + joined[0].as_buffer().to_pybytes() + b"]")


def _sample(passage_of_row: np.ndarray, codes: np.ndarray, count: int, *, seed: int,
            distinct: bool = False) -> np.ndarray:
    """The passages the page lists past PASSAGES_SHOWN: the first SAMPLE_PER_CODE of each code (so
    every code has examples), then passages drawn at random with `seed` up to PASSAGES_SHOWN; in
    document order. Rows are given in passage order, as passage positions and code numbers;
    `distinct` when no two rows hold the same passage and code."""
    if distinct:
        first_rows = np.arange(len(codes))
    else:
        # Each (passage, code) once, as one integer key (a frame's drop_duplicates hashed rows of two columns).
        key = passage_of_row.astype(np.int64) * (int(codes.max(initial=0)) + 1) + codes
        first_rows = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())
    per_code = first_rows[head_per_group(codes[first_rows], SAMPLE_PER_CODE)]
    chosen = np.zeros(count, dtype=bool)
    chosen[passage_of_row[per_code]] = True
    taken = int(chosen.sum())
    if taken < PASSAGES_SHOWN:
        rest = np.flatnonzero(~chosen).tolist()
        chosen[random.Random(seed).sample(rest, min(len(rest), PASSAGES_SHOWN - taken))] = True
    return np.flatnonzero(chosen)


def _group_passages(documents: pd.DataFrame | None, passages_by_document: dict[str, int] | None) -> dict[str, dict[str, int]]:
    """{variable: {value: passages of the corpus documents with that value}}, the value spelt as the page
    spells it (value_text); empty without a sheet or without the passages per document."""
    if documents is None or "document" not in documents.columns or not passages_by_document:
        return {}
    from .groups import _plain, value_text

    sheet = documents.drop_duplicates("document")
    totals: dict[str, dict[str, int]] = {}
    for column in sheet.columns:
        if column == "document":
            continue
        found = totals.setdefault(str(column), {})
        for document, value in zip(sheet["document"].astype(str), map(_plain, sheet[column])):
            if document in passages_by_document and value is not None:
                found[value_text(value)] = found.get(value_text(value), 0) + int(passages_by_document[document])
    return totals


def _variables(documents: pd.DataFrame | None, names: list[str]) -> dict[str, list[Any]]:
    """Each document variable's value per document of the page (blank where the sheet has none)."""
    if documents is None or "document" not in documents.columns:
        return {}
    sheet = documents.drop_duplicates("document").set_index(documents.drop_duplicates("document")["document"].astype(str))
    variables: dict[str, list[Any]] = {}
    for column in sheet.columns:
        if column == "document":
            continue
        values = sheet[column].reindex(names)
        variables[str(column)] = ["" if pd.isna(value) else (value.item() if hasattr(value, "item") else value)
                                  for value in values]
    return variables
