"""What the review loop adds to a recode, on the coding benchmark's corpus and codebook.

Three complete `coder run`s into one folder, each in a fresh process (`run_probe`):

- plain: a recode with no review file (the baseline);
- typed: a recode after a reviewer typed decisions into segments.csv (every 20th row rejected,
  every 50th given a note): the run imports them into reviews.csv first, then applies it;
- reviewed: a recode with the review file in place and nothing new typed.

Printed as ratios against the plain recode of the same invocation.

    python benchmarks/bench_review.py [--megabytes 5]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coding import DATA, build_codebook
from benchlib import benchmark_arguments, corpus_folder, run_coding_probe


def main() -> None:
    args = benchmark_arguments(__doc__, megabytes=5.0)
    corpus = corpus_folder(args.megabytes)
    folder = DATA / "review_bench"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    codebook = folder / "codebook.yaml"
    build_codebook(codebook)
    out = folder / "out"

    run_coding_probe(corpus, codebook, out, args.workers)  # cold: fills the cache
    plain = run_coding_probe(corpus, codebook, out, args.workers)
    segments = out / "segments.csv"
    frame = pd.read_csv(segments, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.loc[frame.index[::20], "review"] = "reject"
    frame.loc[frame.index[::50], "note"] = "check"
    frame.to_csv(segments, index=False, encoding="utf-8-sig")
    typed = run_coding_probe(corpus, codebook, out, args.workers)
    reviewed = run_coding_probe(corpus, codebook, out, args.workers)

    decisions = len(frame.index[::20])
    print(f"plain recode   : {plain['total']:6.2f}s ({plain['segments']} segments)")
    print(f"typed decisions: {typed['total']:6.2f}s ({decisions} rejects and {len(frame.index[::50])} notes imported first)"
          f"  ratio {typed['total'] / plain['total']:.2f}")
    print(f"review applied : {reviewed['total']:6.2f}s  ratio {reviewed['total'] / plain['total']:.2f}")


if __name__ == "__main__":
    main()
