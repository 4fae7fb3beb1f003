"""Chinese coding speed on long text without punctuation: characters per second at 0.1, 1 and 4 MB.

Every Chinese keyword hit whose edges a dictionary word could cross needs jieba's word
boundaries around it. The text is the Chinese of the bundled seeds with everything but Han
characters removed (one clause, no punctuation), repeated to size, coded with the shipped
codebook through `compile_codebook().find()`. Linear means chars/s stays flat as the text grows.
The baseline is the same text segmented whole by jieba once (`jieba.tokenize`, HMM off), the
least any exact segmentation can cost; coder should be in the same range.

With --mixed, the keywords mix Chinese with Latin letters or digits instead: one of 999 党 and an
"a" (each used to run its own regex, whose cost grew with the text times its length) and 1,000 shaped
like G60科创走廊, 200 of which occur in the text; no baseline.

    python benchmarks/bench_chinese.py [--sizes 0.1 1 4] [--mixed]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coder.codebook import load_codebook, parse_codebook
from coder.matching import compile_codebook
from coder.models import Passage


def jieba_tokenizer(terms: tuple[str, ...]):
    """The baseline: jieba itself, knowing the codebook's terms as coder's segmenter knows them."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for term in terms:
        tokenizer.add_word(term, freq=10**7)
    tokenizer.initialize()  # its dictionary loaded here, not timed below
    return tokenizer


def unpunctuated_chinese(megabytes: float) -> str:
    """Han characters of the seeds, nothing else, repeated to `megabytes` million characters."""
    han = "".join(re.findall(r"[\u4e00-\u9fff]+", "".join(
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "seeds").iterdir()))))
    size = int(megabytes * 1_000_000)
    return (han * (size // len(han) + 1))[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.1, 1.0, 4.0], help="million characters")
    parser.add_argument("--mixed", action="store_true", help="time 1,001 keywords mixing Chinese with Latin")
    args = parser.parse_args()
    if args.mixed:
        time_mixed_keywords(args.sizes)
        return
    matcher = compile_codebook(load_codebook(ROOT / "codebook.yaml"))
    matcher.find(Passage(document="warm", index=0, start=0, end=4, view="联席会议", text="联席会议"))  # build jieba
    tokenizer = jieba_tokenizer(matcher._cjk_words)
    print(f"{'MB':>5} {'hits':>8} {'coder s':>8} {'chars/s':>10} {'jieba once s':>13} {'ratio':>6}")
    for megabytes in args.sizes:
        text = unpunctuated_chinese(megabytes)
        passage = Passage(document="long", index=0, start=0, end=len(text), view=text, text=text)
        start = time.perf_counter()
        hits = len(matcher.find(passage))
        coder_seconds = time.perf_counter() - start
        start = time.perf_counter()
        sum(1 for _ in tokenizer.tokenize(text, HMM=False))
        jieba_seconds = time.perf_counter() - start
        print(f"{megabytes:>5g} {hits:>8} {coder_seconds:>8.2f} {len(text) / coder_seconds:>10,.0f} "
              f"{jieba_seconds:>13.2f} {coder_seconds / jieba_seconds:>5.2f}x")


def time_mixed_keywords(sizes: list[float]) -> None:
    """The --mixed figures: chars/s stays flat as the text grows when the cost is linear."""
    han = unpunctuated_chinese(0.01)
    keywords = ["党" * 999 + "a", *(f"G{number}{han[number * 7:number * 7 + 4]}" for number in range(1000))]
    codebook = parse_codebook("unit: document\ncodes:\n  mixed: [" + ", ".join(keywords) + "]\n")
    matcher = compile_codebook(codebook)
    matcher.find(Passage(document="warm", index=0, start=0, end=len(keywords[1]), view=keywords[1], text=keywords[1]))
    print(f"{'MB':>5} {'hits':>8} {'coder s':>8} {'chars/s':>10}")
    for megabytes in sizes:
        text = unpunctuated_chinese(megabytes)
        # One keyword in every 1,000 characters (the first 200), and 党 run on before an "a" that ends none.
        pieces = [f"{text[start:start + 1000]}。{keywords[1 + start // 1000 % 200]}。"
                  for start in range(0, len(text), 1000)]
        text = "".join(pieces) + "党" * 1000 + "b a"
        passage = Passage(document="long", index=0, start=0, end=len(text), view=text, text=text)
        start = time.perf_counter()
        hits = len(matcher.find(passage))
        seconds = time.perf_counter() - start
        print(f"{megabytes:>5g} {hits:>8} {seconds:>8.2f} {len(text) / seconds:>10,.0f}")


if __name__ == "__main__":
    main()
