"""Reading and splitting throughput against baselines measured in the same run.

For each seed, a document of about `--megabytes / 5` MB is built by repeating the seed
(paragraphs separated by a blank line), then timed:

- split_passages(unit="paragraph", max_chars=1200): blank lines, double spacing, debris,
  long-paragraph packing and readable text, against the baseline `re.split(r"\\n\\s*\\n", text)`;
- decode_bytes (what read_corpus does per file), against `bytes.decode("utf-8")`.

Ratios (coder time / baseline time) are what to compare between machines.

    python benchmarks/bench_passages.py [--megabytes 50]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coder.corpus import decode_bytes, read_corpus
from coder.models import Document
from coder.passages import split_passages


def _best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=50)
    args = parser.parse_args()
    seeds = list(read_corpus(ROOT / "seeds"))
    split_passages(Document("warm.txt", "gover-\nnance"))  # load the word list once
    total_chars = total_split = total_baseline = 0.0
    print(f"{'seed':32} {'MB':>5} {'passages':>8} {'split s':>8} {'MB/s':>6} {'x re.split':>10} {'decode x':>8}")
    for seed in seeds:
        repeats = max(1, int(args.megabytes * 1_000_000 / len(seeds) / len(seed.text)))
        document = Document(seed.path, "\n\n".join([seed.text] * repeats))
        data = document.text.encode("utf-8")
        megabytes = len(data) / 1e6
        passages = split_passages(document)
        split = _best(lambda: split_passages(document), repeat=1)
        baseline = _best(lambda: re.split(r"\n\s*\n", document.text))
        decode = _best(lambda: decode_bytes(data))
        plain = _best(lambda: data.decode("utf-8"))
        total_chars += megabytes
        total_split += split
        total_baseline += baseline
        print(
            f"{seed.path[:32]:32} {megabytes:5.1f} {len(passages):8} {split:8.2f} {megabytes / split:6.1f} "
            f"{split / baseline:10.0f} {decode / plain:8.1f}"
        )
    print(f"{'all':32} {total_chars:5.1f} {'':8} {total_split:8.2f} {total_chars / total_split:6.1f} {total_split / total_baseline:10.0f}")


if __name__ == "__main__":
    main()
