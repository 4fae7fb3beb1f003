"""Write one large text file of seed paragraphs (chosen at random, seed 3, joined by blank lines): the
corpus of the README's "One large document" figures (a newspaper archive or a scraped site in one file).

    .venv/bin/python benchmarks/one_big_file.py 48 benchmarks/.data/one_big_48mb
    .venv/bin/python -m coder run benchmarks/.data/one_big_48mb --codebook codebook.yaml --out /tmp/one_big_out

The process tree's memory was sampled with psutil every 50 ms (as bench_scale samples it).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_coding import seed_texts  # noqa: E402


def write_one_big_file(megabytes: float, folder: Path, *, seed: int = 3) -> Path:
    rng = random.Random(seed)
    paragraphs = [p for text in seed_texts() for p in re.split(r"\n\s*\n", text) if p.strip()]
    chosen, total = [], 0
    while total < megabytes * 1e6:
        paragraph = rng.choice(paragraphs)
        chosen.append(paragraph)
        total += len(paragraph.encode("utf-8")) + 2
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.txt"
    path.write_text("\n\n".join(chosen), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("megabytes", type=float)
    parser.add_argument("folder", type=Path)
    arguments = parser.parse_args()
    path = write_one_big_file(arguments.megabytes, arguments.folder)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
