"""Set-up the run benchmarks share: their options, the benchmark corpus, and one `coder run` in a fresh process.

    from benchlib import benchmark_arguments, corpus_folder, run_coding_probe
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_coding import DATA, build_corpus, run_probe

# One complete `coder run` (coder.runner.run_coding) in this fresh process; prints its figures as JSON.
RUN_CODING_PROBE = """
import json, sys, time
from coder.runner import run_coding
started = time.perf_counter()
report = run_coding(sys.argv[1], sys.argv[2], sys.argv[3], workers=int(sys.argv[4]))
total = time.perf_counter() - started
# a run that reuses the last coding keeps the segments in its folder (result.segments None; tally counts them)
segments = report.tally.segments if report.result.segments is None else len(report.result.segments)
print(json.dumps({"total": total, "coding": report.result.seconds, "segments": segments,
                  "reused": report.result.reused, "imported": len(report.imported)}))
"""


def benchmark_arguments(doc: str | None, *, megabytes: float) -> argparse.Namespace:
    """--megabytes (the corpus size, `megabytes` by default) and --workers, with `doc` as the help."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=megabytes)
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args()


def corpus_folder(megabytes: float, *, data: Path = DATA) -> Path:
    """The benchmark corpus of `megabytes` MB under `data`, built the first time it is asked for."""
    corpus = data / f"corpus_{megabytes:g}mb"
    if not corpus.exists():
        build_corpus(corpus, megabytes)
    return corpus


def run_coding_probe(corpus: Path, codebook: Path, out: Path, workers: int) -> dict:
    """One `coder run` of `corpus` into `out`, in a fresh process: total and coding seconds,
    segments, what the cache reused, review decisions imported."""
    return run_probe(RUN_CODING_PROBE, corpus, codebook, out, workers)
