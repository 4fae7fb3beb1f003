"""The map of a large codebook: network measures and layout at 1,000 to 10,000 codes.

Three shapes: a big codebook on a small corpus (10,000 codes, about 100 of them coded, as the
shipped seeds coded with a 10,000-code codebook), 3,000 codes all coded, 10,000 codes all
coded (random segments, about 3 codes per passage). Timed: `build_network()` (betweenness,
communities, examples) and `render._layout()` (positions: spring layout up to 300 linked codes,
spectral above, codes without a link in a grid). Baseline, in the same run: what the
code did before, exact betweenness over every code and a 50-iteration spring layout over every
code, measured at 1,000 codes and extrapolated as O(codes^2) (both are quadratic or worse).

    python benchmarks/bench_map_scale.py [--baseline-codes 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_network import random_segments

from coder.cooccurrence import build_cooccurrence
from coder.models import Code, Codebook
from coder.network import build_network
from coder.render import _layout


def codebook_of(codes: int) -> Codebook:
    names = [f"code_{number:04d}" for number in range(codes)]
    return Codebook(codes=tuple(Code(id=name, label=name, path=(name,), keywords=(name,)) for name in names))


def shape(codes: int, coded: int, passages: int):
    segments = random_segments(passages, coded, seed=2)
    return build_cooccurrence(segments, codebook=codebook_of(codes)), codebook_of(codes)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def baseline(codes: int) -> float:
    """The old way on `codes` codes all coded: exact betweenness and spring layout on everything."""
    cooccurrence, codebook = shape(codes, codes, codes * 3)
    graph = build_network(cooccurrence, codebook)
    _, between = timed(nx.betweenness_centrality, graph, normalized=True)
    _, layout = timed(nx.spring_layout, graph, seed=42, weight=None, iterations=50)
    return between + layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-codes", type=int, default=1000)
    args = parser.parse_args()
    old = baseline(args.baseline_codes)
    print(f"baseline (exact betweenness + 50-iteration spring layout on every code): {old:.1f}s at "
          f"{args.baseline_codes:,} codes")
    print(f"{'codes':>7} {'coded':>7} {'links':>8} {'network s':>10} {'layout s':>9} {'baseline s (extrapolated)':>26}")
    for codes, coded, passages in ((10_000, 100, 300), (3_000, 3_000, 9_000), (10_000, 10_000, 30_000)):
        cooccurrence, codebook = shape(codes, coded, passages)
        graph, network_seconds = timed(build_network, cooccurrence, codebook)
        _, layout_seconds = timed(_layout, graph, 42)
        extrapolated = old * (codes / args.baseline_codes) ** 2
        print(f"{codes:>7,} {coded:>7,} {graph.number_of_edges():>8,} {network_seconds:>10.2f} {layout_seconds:>9.2f} "
              f"{extrapolated:>26.0f}")


if __name__ == "__main__":
    main()
