"""Markdown reader on hostile input: time on `--megabytes` MB of each pattern, and its growth from a
quarter of that (about 4 when linear; 16 would be quadratic).

The patterns are what makes a Markdown parser recurse or backtrack: `>` nested, `[` and `![` never
closed, backtick runs, emphasis runs, comments never closed, lists hundreds deep, a huge table.

    python benchmarks/bench_markdown.py [--megabytes 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coder.extract.markdown import render_markdown  # noqa: E402

CASES = {
    "quotes": lambda n: ">" * n,
    "quote lines": lambda n: (">" * 50 + " a\n") * (n // 53),
    "brackets": lambda n: "[" * n,
    "backticks": lambda n: "`" * n,
    "backticks in text": lambda n: "x " + "`" * n,
    "tick a": lambda n: "`a" * (n // 2),
    "tick runs": lambda n: "".join("`" * k + "a" for k in range(1, int((2 * n) ** 0.5))),
    "emphasis": lambda n: "*a" * (n // 2),
    "star underscore": lambda n: "*_" * (n // 2),
    "links": lambda n: "[a](" * (n // 4),
    "images": lambda n: "![" * (n // 2),
    "angles": lambda n: "<" * n,
    "tags": lambda n: "<a " * (n // 3),
    "comments": lambda n: "<!--" * (n // 4),
    "nested lists": lambda n: "".join("  " * (i % 200) + "- a\n" for i in range(n // 200)),
    "titles": lambda n: '[a](u "' * (n // 7),
    "hashes": lambda n: "#" * n,
    "pipes": lambda n: "|" * n,
    "table": lambda n: "|a|b|\n|-|-|\n" + "|x|y|\n" * (n // 6),
    "fences": lambda n: "```\n" * (n // 4),
    "entities": lambda n: "&#" * (n // 2),
    "escapes": lambda n: "\\" * n,
    "prose": lambda n: ("The joint **meeting** was held in [Shanghai](http://x.org). " * 10 + "\n\n") * (n // 602),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    size = int(parser.parse_args().megabytes * 1_000_000)
    print(f"{'pattern':18} {'MB':>5} {'seconds':>8} {'growth from 1/4':>16}")
    for name, make in CASES.items():
        times = []
        for n in (size // 4, size):
            text = make(n)
            start = time.perf_counter()
            render_markdown(text)
            times.append(time.perf_counter() - start)
        print(f"{name:18} {len(text) / 1e6:5.1f} {times[1]:8.2f} {times[1] / max(times[0], 1e-3):16.1f}", flush=True)


if __name__ == "__main__":
    main()
