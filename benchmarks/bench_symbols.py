"""Keywords holding a symbol (`50%`, `about 50%`, `co-operation $100`) against a search through the text.

Builds about 500 KB of text with "N%" and "$N" in every paragraph (probes AD4, AE3), compiles 50 keywords
of each shape, and times CompiledCodebook._find_symbols() (each pattern tried only where a match may start,
found from where its symbol part is) against the baseline it replaced: every pattern's finditer() over
the whole text, in the same run. Both must find the same hits; the script stops if they do not.

    python benchmarks/bench_symbols.py [--kilobytes 500] [--keywords 50]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coder import parse_codebook
from coder.matching import _Hit, compile_codebook

VOCABULARY = ("the a of joint meeting government policy cooperation mayors barrier rose fell by percent growth "
              "budget cost firm market share about").split()
SHAPES = {"N%": "{}%", "about N%": "about {}%", "cooperation $N": "cooperation ${}", "co-operation $N": "co-operation ${}"}


def build_text(kilobytes: int, *, seed: int = 2) -> str:
    """Paragraphs of 25 random words with a percentage and a dollar amount in each, folded (lower case)."""
    rng = random.Random(seed)
    paragraphs, size = [], 0
    while size < kilobytes * 1000:
        words = [rng.choice(VOCABULARY) for _ in range(25)]
        words.insert(rng.randrange(25), f"{rng.randint(1, 400)}%")
        words.insert(rng.randrange(25), f"${rng.randint(1, 400)}")
        paragraphs.append(" ".join(words) + ".")
        size += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs).lower()


def through_the_text(compiled, lower: str) -> list[_Hit]:
    """The baseline: each pattern's finditer() over the whole text (where its needle is at all)."""
    return [_Hit(keyword.code, *found.span(), keyword.rule, keyword.exclusion, keyword.term)
            for search in compiled._symbols if search.needle in lower
            for found in search.regex.finditer(lower) for keyword in search.keywords]


def timed(function, *args) -> tuple[float, list]:
    start = time.perf_counter()
    result = list(function(*args))
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilobytes", type=int, default=500)
    parser.add_argument("--keywords", type=int, default=50)
    options = parser.parse_args()
    lower = build_text(options.kilobytes)
    print(f"text {len(lower) // 1000} KB, {options.keywords} keywords of each shape")
    print(f"{'keywords':18s} {'patterns':>8s} {'hits':>6s} {'through the text':>17s} {'near the symbol':>16s} {'ratio':>7s}")
    for label, shape in SHAPES.items():
        keywords = [shape.format(number) for number in range(1, options.keywords + 1)]
        codebook = "codes:\n" + "".join(f"  k{index}: [{json.dumps(keyword)}]\n" for index, keyword in enumerate(keywords))
        compiled = compile_codebook(parse_codebook(codebook))
        baseline, expected = timed(through_the_text, compiled, lower)
        near, found = timed(compiled._find_symbols, lower)
        if found != expected:
            print(f"{label}: {len(found)} hits near the symbol part, {len(expected)} through the text", file=sys.stderr)
            return 1
        print(f"{label:18s} {len(compiled._symbols):8d} {len(found):6d} {baseline:15.2f} s {near:14.3f} s "
              f"{near / baseline:6.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
