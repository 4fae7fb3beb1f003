"""Co-occurrence at scale and a large map in the browser, against baselines measured in the same run.

1. Co-occurrence: random segments for 1,000,000 passages x 1,000 codes (Poisson, about 3 codes
   per passage, 100 passages per document), through `build_cooccurrence()` (counts, documents,
   jaccard, association, npmi). Baselines: a pandas self-merge on (document, passage) with
   groupby counting (counts and documents only) at full size, checked equal to coder's counts;
   and `itertools.combinations` counting in Python on a sample, extrapolated linearly.
2. A 500-code, 20,000-link map: `build_network()` + `render_html()` time, file size, and (when
   chromium and chromedriver are installed) the time headless Chromium takes to open the file
   and draw it (the page's own "drawn" flag), and to show a node's tooltip after a hover.
3. The report page (report.html) on the same segments, drawing the 20,000 strongest links:
   `report_data()` + `render_report()` time, file size, and in headless Chromium the time to open
   and draw it, to redraw after a control changes (minimum count 1 -> 2), and to draw the matrix.

    python benchmarks/bench_network.py [--passages 1000000] [--codes 1000] [--sample 100000]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coder.cooccurrence import build_cooccurrence
from coder.models import NetworkOptions
from coder.network import build_network
from coder.render import render_html, render_report
from coder.report import report_data


def random_segments(passages: int, codes: int, *, per_passage: float = 3.0, seed: int = 0) -> pd.DataFrame:
    """Segments columns for `passages` passages with Poisson(per_passage) distinct codes each."""
    rng = np.random.default_rng(seed)
    counts = np.minimum(rng.poisson(per_passage, passages), codes)
    passage = np.repeat(np.arange(passages), counts)
    code = rng.integers(0, codes, len(passage))
    frame = pd.DataFrame({"passage_key": passage, "code_number": code}).drop_duplicates()
    names = np.array([f"code_{number:04d}" for number in range(codes)], dtype=object)
    return pd.DataFrame({
        "document": (frame["passage_key"].to_numpy() // 100).astype(str),
        "passage": frame["passage_key"].to_numpy() % 100,
        "code": names[frame["code_number"].to_numpy()],
        "code_path": names[frame["code_number"].to_numpy()],
        "label": names[frame["code_number"].to_numpy()],
        "matched": "keyword",
        "text": "A passage of text with a keyword in it.",
        "review": "",
    })


def pandas_self_merge(segments: pd.DataFrame) -> pd.DataFrame:
    """The obvious pandas way: join segments to themselves on the passage and count pairs."""
    left = segments[["document", "passage", "code"]]
    pairs = left.merge(left, on=["document", "passage"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["code_a"] < pairs["code_b"]]
    return pairs.groupby(["code_a", "code_b"]).agg(count=("passage", "size"), documents=("document", "nunique"))


def python_combinations(segments: pd.DataFrame) -> dict:
    """The obvious Python way: codes per passage, then itertools.combinations into a dict."""
    by_passage: dict[tuple[str, int], list[str]] = {}
    for document, passage, code in zip(segments["document"], segments["passage"], segments["code"]):
        by_passage.setdefault((document, passage), []).append(code)
    counts: dict[tuple[str, str], int] = {}
    documents: dict[tuple[str, str], set[str]] = {}
    for (document, _), codes in by_passage.items():
        for pair in itertools.combinations(sorted(codes), 2):
            counts[pair] = counts.get(pair, 0) + 1
            documents.setdefault(pair, set()).add(document)
    return counts


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_cooccurrence(passages: int, codes: int, sample: int) -> None:
    segments = random_segments(passages, codes)
    print(f"co-occurrence: {passages:,} passages x {codes:,} codes, {len(segments):,} segments")
    result, seconds = timed(build_cooccurrence, segments)
    print(f"  coder build_cooccurrence: {seconds:.2f}s ({len(result.pairs):,} pairs, all measures)")
    merged, merge_seconds = timed(pandas_self_merge, segments)
    got = result.pairs.set_index(["source", "target"])[["count", "documents"]].sort_index()
    assert got.to_numpy().tolist() == merged.sort_index().to_numpy().tolist(), "counts differ from the baseline"
    print(f"  baseline pandas self-merge (count and documents only, no measures), full size: {merge_seconds:.2f}s; "
          f"ratio {merge_seconds / seconds:.1f}x")
    part = segments[segments["document"].astype(int) < sample // 100]
    _, python_seconds = timed(python_combinations, part)
    full = python_seconds * len(segments) / len(part)
    print(f"  baseline itertools.combinations: {python_seconds:.2f}s on {len(part):,} segments -> ~{full:.1f}s "
          f"at full size (linear); ratio {full / seconds:.1f}x")


def large_segments(codes: int) -> pd.DataFrame:
    return random_segments(200_000, codes, per_passage=3.0, seed=1)


def large_graph(codes: int, edges: int):
    segments = large_segments(codes)
    cooccurrence = build_cooccurrence(segments)
    return build_network(cooccurrence, None, top_edges=edges)


def bench_page(codes: int, edges: int) -> None:
    graph, network_seconds = timed(large_graph, codes, edges)
    print(f"map: {graph.number_of_nodes()} codes, {graph.number_of_edges():,} links")
    print(f"  build_cooccurrence + build_network (centrality, communities, examples): {network_seconds:.2f}s")
    path = Path(tempfile.mkdtemp(prefix="coder-bench-")) / "network.html"
    _, render_seconds = timed(render_html, graph, path)
    print(f"  render_html (layout, pyvis records, page): {render_seconds:.2f}s, {path.stat().st_size / 1e6:.1f} MB")
    try:
        sys.path.insert(0, str(ROOT / "tests"))
        import pytest
        from test_browser import chromium_driver, hover
    except ImportError as error:
        print(f"  browser: skipped ({error})")
        return
    try:
        driver = chromium_driver()
    except BaseException as error:  # pytest.skip raises a BaseException subclass
        if isinstance(error, (pytest.skip.Exception, pytest.fail.Exception)):
            print(f"  browser: skipped ({error})")
            return
        raise
    try:
        start = time.perf_counter()
        driver.get(path.as_uri())
        while not driver.execute_script("return window.coderReady === true"):
            time.sleep(0.02)
        opened = time.perf_counter() - start
        node = next(iter(graph.nodes))
        start = time.perf_counter()
        hover(driver, node)
        while driver.execute_script("return document.getElementById('coder-tooltip').hidden"):
            time.sleep(0.01)
        hovered = time.perf_counter() - start
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        print(f"  headless Chromium: open to drawn {opened:.2f}s; hover to tooltip {hovered:.2f}s; "
              f"console errors: {len(errors)}")
    finally:
        driver.quit()


def _driver():
    """Headless Chromium from the browser tests, or None (with the reason printed) when missing."""
    try:
        sys.path.insert(0, str(ROOT / "tests"))
        import pytest
        from conftest import chromium_driver
    except ImportError as error:
        print(f"  browser: skipped ({error})")
        return None
    try:
        return chromium_driver()
    except BaseException as error:  # pytest.skip raises a BaseException subclass
        if isinstance(error, (pytest.skip.Exception, pytest.fail.Exception)):
            print(f"  browser: skipped ({error})")
            return None
        raise


def _wait(driver, condition: str, limit: float = 120.0) -> float:
    start = time.perf_counter()
    while not driver.execute_script(condition):
        if time.perf_counter() - start > limit:
            raise TimeoutError(condition)
        time.sleep(0.02)
    return time.perf_counter() - start


def bench_report(codes: int, edges: int) -> None:
    segments = large_segments(codes)
    options = NetworkOptions(min_count=1, top_edges=edges)
    data, data_seconds = timed(report_data, segments, None, options=options)
    path = Path(tempfile.mkdtemp(prefix="coder-bench-")) / "report.html"
    _, render_seconds = timed(render_report, data, path)
    print(f"report: {len(data['codes'])} codes, {len(data['passages']):,} coded passages, {len(segments):,} segments")
    print(f"  report_data (counts, layout, communities, passages): {data_seconds:.2f}s; render_report: "
          f"{render_seconds:.2f}s, {path.stat().st_size / 1e6:.1f} MB")
    driver = _driver()
    if driver is None:
        return
    try:
        start = time.perf_counter()
        driver.get(path.as_uri())
        _wait(driver, "return window.coderReady === true")
        opened = time.perf_counter() - start
        drawn = driver.execute_script("return window.coderReport.drawnLinks().length")
        start = time.perf_counter()
        driver.execute_script("window.coderReport.set({min_count: 2}); window.coderNetwork.redraw();")
        reacted = time.perf_counter() - start
        after = driver.execute_script("return window.coderReport.drawnLinks().length")
        start = time.perf_counter()
        driver.execute_script("window.coderReport.show('matrix')")
        cells = driver.execute_script("return document.querySelectorAll('#coder-matrix td').length")
        matrix = time.perf_counter() - start
        start = time.perf_counter()
        driver.execute_script("document.querySelector('#coder-matrix td[data-source]').click()")
        listed = driver.execute_script("return document.querySelectorAll('#coder-passages .passage').length")
        clicked = time.perf_counter() - start
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        print(f"  headless Chromium: open to drawn ({drawn:,} links) {opened:.2f}s; min count 1 -> 2 redrawn "
              f"({after:,} links) {reacted:.2f}s; matrix ({cells:,} cells) {matrix:.2f}s; a cell's passages "
              f"({listed}) {clicked:.2f}s; console errors: {len(errors)}")
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--codes", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=100_000, help="passages in the baselines' sample")
    parser.add_argument("--map-codes", type=int, default=500)
    parser.add_argument("--map-edges", type=int, default=20_000)
    parser.add_argument("--only-report", action="store_true", help="run part 3 alone")
    arguments = parser.parse_args()
    if not arguments.only_report:
        bench_cooccurrence(arguments.passages, arguments.codes, arguments.sample)
        bench_page(arguments.map_codes, arguments.map_edges)
    bench_report(arguments.map_codes, arguments.map_edges)


if __name__ == "__main__":
    main()
