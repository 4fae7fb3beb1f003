"""Recode after a one-code edit against a cold run, on the coding benchmark's corpus and codebook.

Both are complete `coder run`s (`coder.runner.run_coding`: code, write segments.csv and the
other files, network, comparison with the previous run), in a fresh process each:

- cold: an empty output folder, so nothing to reuse;
- recode: the same folder after adding one keyword to one code, so the cache holds every
  document's passages and the matches of the 299 unchanged codes.

Printed as the ratio recode/cold. Issue 12's recode targets (a rare keyword, a label and a
colour edit, each against a cold run of the `coder` CLI) are checked by `bench_scale.py`.

    python benchmarks/bench_recode.py [--megabytes 50]
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coding import DATA, build_codebook
from benchlib import benchmark_arguments, corpus_folder, run_coding_probe


def main() -> None:
    args = benchmark_arguments(__doc__, megabytes=50.0)
    corpus = corpus_folder(args.megabytes)
    codebook = DATA / "recode_codebook.yaml"
    build_codebook(codebook)
    out = DATA / "recode_out"
    shutil.rmtree(out, ignore_errors=True)

    cold = run_coding_probe(corpus, codebook, out, args.workers)
    text = codebook.read_text(encoding="utf-8")
    head, tail = text.split("  code_007:\n    keywords: [", 1)
    codebook.write_text(f'{head}  code_007:\n    keywords: ["regional cooperation", {tail}', encoding="utf-8")
    recode = run_coding_probe(corpus, codebook, out, args.workers)

    print(f"cold run : {cold['total']:6.1f}s (coding {cold['coding']:.1f}s, {cold['segments']} segments)")
    print(f"recode   : {recode['total']:6.1f}s (coding {recode['coding']:.1f}s, {recode['segments']} segments, "
          f"cache {recode['reused']})")
    print(f"ratio recode/cold: {recode['total'] / cold['total']:.2f}; "
          f"coding stage alone: {recode['coding'] / cold['coding']:.2f}")


if __name__ == "__main__":
    main()
