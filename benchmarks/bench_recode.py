"""Recode after a one-code edit against a cold run, on the coding benchmark's corpus and codebook.

Both are complete `coder run`s (`coder.runner.run_coding`: code, write segments.csv and the
other files, network, comparison with the previous run), in a fresh process each:

- cold: an empty output folder, so nothing to reuse;
- recode: the same folder after adding one keyword to one code, so the cache holds every
  document's passages and the matches of the 299 unchanged codes.

Target: the recode takes at most a quarter of the cold run.

    python benchmarks/bench_recode.py [--megabytes 50]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coding import DATA, build_codebook, build_corpus, run_probe

PROBE = """
import json, sys, time
from coder.runner import run_coding
started = time.perf_counter()
report = run_coding(sys.argv[1], sys.argv[2], sys.argv[3], workers=int(sys.argv[4]))
total = time.perf_counter() - started
print(json.dumps({"total": total, "coding": report.result.seconds, "segments": len(report.result.segments),
                  "reused": report.result.reused}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    corpus = DATA / f"corpus_{args.megabytes:g}mb"
    if not corpus.exists():
        build_corpus(corpus, args.megabytes)
    codebook = DATA / "recode_codebook.yaml"
    build_codebook(codebook)
    out = DATA / "recode_out"
    shutil.rmtree(out, ignore_errors=True)

    cold = run_probe(PROBE, corpus, codebook, out, args.workers)
    text = codebook.read_text(encoding="utf-8")
    head, tail = text.split("  code_007:\n    keywords: [", 1)
    codebook.write_text(f'{head}  code_007:\n    keywords: ["regional cooperation", {tail}', encoding="utf-8")
    recode = run_probe(PROBE, corpus, codebook, out, args.workers)

    print(f"cold run : {cold['total']:6.1f}s (coding {cold['coding']:.1f}s, {cold['segments']} segments)")
    print(f"recode   : {recode['total']:6.1f}s (coding {recode['coding']:.1f}s, {recode['segments']} segments, "
          f"cache {recode['reused']})")
    print(f"ratio recode/cold: {recode['total'] / cold['total']:.2f} (target <= 0.25); "
          f"coding stage alone: {recode['coding'] / cold['coding']:.2f}")


if __name__ == "__main__":
    main()
