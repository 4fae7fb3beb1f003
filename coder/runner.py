"""`coder run` as one library call: code, apply reviews, write every output, compare with the last run.

`write_network_outputs` is the network half of it, which `coder network` calls alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .codebook import load_codebook
from .cooccurrence import build_cooccurrence
from .diff import RunComparison, compare_with_previous, write_changes_csv
from .errors import OutputError
from .models import Codebook, NetworkOptions
from .network import build_network, write_codes_csv, write_cooccurrence_csv
from .pipeline import CodingResult, code_corpus
from .render import render_html, write_gexf, write_graphml
from .reviews import (
    apply_reviews,
    default_reviews_path,
    precision_by_code,
    read_reviews,
)
from .runs import RunFolder, build_run_record, segment_index
from .segments import drop_rejected

NETWORK_FILES = {
    "cooccurrence": "cooccurrence.csv",
    "codes": "codes.csv",
    "html": "network.html",
    "graphml": "network.graphml",
    "gexf": "network.gexf",
}


@dataclass(frozen=True)
class RunReport:
    """What a run did, for the terminal summary and for callers."""

    result: CodingResult
    out_dir: Path
    written: dict[str, Path]
    network: dict[str, Any] = field(default_factory=dict)
    comparison: RunComparison | None = None
    reviews_path: Path | None = None
    orphans: pd.DataFrame | None = None
    precision: pd.DataFrame | None = None

    @property
    def counted_segments(self) -> pd.DataFrame:
        """Segments that count: everything the reviewer has not rejected."""
        frame = self.result.segments
        return drop_rejected(frame)


def run_coding(
    corpus: str | Path,
    codebook_path: str | Path,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    reviews_path: str | Path | None = None,
    use_cache: bool = True,
    network_options: NetworkOptions = NetworkOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> RunReport:
    """Code `corpus` with the codebook and write all outputs into `out_dir`.

    Nothing in `out_dir` is replaced until coding has succeeded; each file is written atomically.

    >>> report = run_coding("seeds", "codebook.yaml", "outputs")  # doctest: +SKIP
    >>> sorted(report.written)  # doctest: +SKIP
    ['changes', 'code_counts', 'run', 'segments']
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file, not a folder. Pass another --out folder.")
    codebook = load_codebook(codebook_path)
    run = RunFolder(out_dir)
    reviews_file = Path(reviews_path) if reviews_path else default_reviews_path(codebook_path)
    reviews = read_reviews(reviews_file) if reviews_file.is_file() else None
    result = code_corpus(
        corpus, codebook, workers=workers, cache_dir=run.cache_path if use_cache else None, progress=progress
    )
    orphans = precision = None
    if reviews is not None:
        segments, orphans = apply_reviews(result.segments, reviews)
        precision = precision_by_code(reviews, segments)
        result = replace(result, segments=segments)
    review_counts = None if reviews is None else {
        "path": str(reviews_file), "decisions": len(reviews), "orphaned": len(orphans) if orphans is not None else 0,
    }
    record = build_run_record(result, codebook_path=codebook_path, corpus_path=corpus, workers=workers,
                              reviews=review_counts)
    run.keep_previous()
    written = run.write_outputs(result, record)
    # The passage fingerprints come from coding, so the index needs no second pass over the text.
    index = segment_index(result.segments.assign(fingerprint=result.fingerprints.to_numpy())
                          if result.fingerprints is not None else result.segments)
    run.write_segment_index(index)
    network = write_network_outputs(
        drop_rejected(result.segments), codebook, out_dir, options=network_options,
        total_passages=result.passage_count,
    )
    comparison = compare_with_previous(run, new_segments=index)
    if comparison is not None:
        written["changes"] = write_changes_csv(comparison, run.changes_path)
    return RunReport(result=result, out_dir=out_dir, written=written, network=network, comparison=comparison,
                     reviews_path=reviews_file if reviews is not None else None, orphans=orphans, precision=precision)


def write_network_outputs(
    segments: pd.DataFrame,
    codebook: Codebook | None,
    out_dir: str | Path,
    *,
    options: NetworkOptions = NetworkOptions(),
    total_passages: int | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Write cooccurrence.csv, codes.csv, network.html, network.graphml and network.gexf.

    Returns the written paths under the keys of NETWORK_FILES plus the counts "code_count"
    (codes drawn), "edge_count" (links drawn) and "pair_count" (rows of cooccurrence.csv).

    >>> options = NetworkOptions(level=1, measure="association")
    >>> written = write_network_outputs(segments, codebook, "outputs", options=options)  # doctest: +SKIP
    >>> written["html"]  # doctest: +SKIP
    PosixPath('outputs/network.html')
    """
    out_dir = Path(out_dir)
    cooccurrence = build_cooccurrence(segments, level=options.level, total_passages=total_passages, codebook=codebook)
    graph = build_network(
        cooccurrence, codebook, measure=options.measure, min_count=options.min_count, top_edges=options.top_edges,
        hide_isolated=options.hide_isolated, seed=options.seed,
    )
    written: dict[str, Any] = {key: out_dir / name for key, name in NETWORK_FILES.items()}
    write_cooccurrence_csv(cooccurrence, graph, written["cooccurrence"])
    write_codes_csv(cooccurrence, graph, written["codes"])
    name = codebook.name if codebook is not None and codebook.name else "Concept network"
    render_html(graph, written["html"], color_by=options.color_by, title=title or name)
    write_graphml(graph, written["graphml"])
    write_gexf(graph, written["gexf"])
    written.update(code_count=graph.number_of_nodes(), edge_count=graph.number_of_edges(),
                   pair_count=len(cooccurrence.pairs))
    return written
