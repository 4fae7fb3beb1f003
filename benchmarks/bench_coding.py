"""Coding throughput against two baselines measured in the same run.

Builds a corpus of at least 50 MB from the seeds (documents made of the seeds' paragraphs and
sentences, reshuffled with a fixed seed, so passages are not verbatim repeats) and a codebook of
300 codes whose keywords are phrases taken from the seeds. Then reports, in MB/s of UTF-8 text:

- coder: `code_corpus()` on the folder (read, decode, split, match, build segments), both cores;
- regex: one compiled alternation of the same keywords (no lemmas), `finditer` over every document;
- spaCy: `spacy.blank("en")` tokenising the same text (`nlp.tokenizer.pipe`).

The two baselines run in one process, as a user would run them; coder uses every core, which is
part of what it offers. Peak memory is the coder process's maximum resident set plus its workers'
at the largest worker's peak (an upper bound). This measures the coding stage alone, in MB/s;
issue 12's targets (the whole `coder run` process against a spaCy PhraseMatcher peer, memory
sampled over the process tree, output size, recodes) are printed by `bench_scale.py`.

    python benchmarks/bench_coding.py [--megabytes 50] [--baseline-sample-mb 5]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / ".data"
STOPWORDS = set(
    ["a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "by", "with", "from", "as", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "which", "who", "whom", "has", "have", "had", "not", "no", "but", "so", "such", "than", "then", "there", "their", "they", "them", "we", "our", "us", "he", "she", "his", "her", "i", "you", "your", "can", "could", "may", "might", "will", "would", "shall", "should", "do", "does", "did", "also", "more", "most", "other", "some", "any", "all", "each", "into", "about", "over", "under", "between", "through", "during", "before", "after", "above", "below", "up", "down", "out", "off", "again", "further", "once", "here", "when", "where", "why", "how", "both", "few", "many", "much", "very", "s", "t", "just", "only", "own", "same", "too", "first", "second", "third", "one", "two"]
)


def seed_texts() -> list[str]:
    return [path.read_text(encoding="utf-8-sig") for path in sorted((ROOT / "seeds").glob("*.txt"))]


def build_corpus(folder: Path, megabytes: float, *, seed: int = 7) -> int:
    """Write documents of reshuffled seed paragraphs and sentences until `megabytes` of UTF-8 text."""
    rng = random.Random(seed)
    paragraphs = [p for text in seed_texts() for p in re.split(r"\n\s*\n", text) if p.strip()]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?。！？])\s*", p) if len(s) > 20]
    folder.mkdir(parents=True, exist_ok=True)
    total, index = 0, 0
    target = int(megabytes * 1_000_000)
    while total < target:
        parts = []
        for _ in range(rng.randint(15, 40)):
            if rng.random() < 0.5:
                parts.append(rng.choice(paragraphs))
            else:
                parts.append(" ".join(rng.choice(sentences) for _ in range(rng.randint(2, 8))))
        text = "\n\n".join(parts) + "\n"
        (folder / f"doc_{index:05d}.txt").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
        index += 1
    return total


def build_codebook(path: Path, codes: int = 300, *, seed: int = 11) -> list[str]:
    """A codebook of `codes` codes with 3-6 keywords each, shaped like a real one.

    Like a researcher's codebook on a new corpus, most keywords are specific: about two codes in
    three hold one phrase that occurs in the seeds (at most twice across their sentences), the other
    keywords are plausible phrases of seed words that do not occur; every tenth code also has a
    Chinese term and a wildcard. That codes a passage with a handful of codes, not dozens.
    """
    rng = random.Random(seed)
    text = "\n".join(seed_texts())
    sentences = [s.lower() for s in re.split(r"(?<=[.!?。！？])\s*", text) if s.strip()]
    words = re.findall(r"[A-Za-z]+", text)
    content = sorted({w.lower() for w in words if len(w) > 3 and w.lower() not in STOPWORDS})
    occurring: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(occurring) < codes and attempts < 200_000:
        attempts += 1
        n = rng.choice([2, 2, 3])
        start = rng.randrange(len(words) - n)
        gram = [w.lower() for w in words[start:start + n]]
        if gram[0] in STOPWORDS or gram[-1] in STOPWORDS or any(len(w) < 3 for w in gram):
            continue
        phrase = " ".join(gram)
        if phrase in seen or sum(phrase in sentence for sentence in sentences) > 2:
            continue
        seen.add(phrase)
        occurring.append(phrase)
    chinese = re.findall(r"[\u4e00-\u9fff]{2,6}", text)
    lines = ["name: benchmark", "unit: paragraph", "codes:"]
    keywords: list[str] = []
    for number in range(codes):
        chosen = [occurring[number]] if rng.random() < 0.67 else []
        while len(chosen) < rng.randint(3, 6):
            phrase = " ".join(rng.sample(content, rng.choice([1, 2, 2])))
            if phrase not in text.lower():
                chosen.append(phrase)
        if number % 10 == 0:
            chosen.append(rng.choice(chinese))
            chosen.append(rng.choice(content)[:6] + "*")
        keywords.extend(chosen)
        lines.append(f"  code_{number:03d}:")
        lines.append(f"    keywords: {json.dumps(chosen, ensure_ascii=False)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keywords


def regex_baseline(texts: list[str], keywords: list[str]) -> float:
    alternation = "|".join(
        re.escape(keyword).replace(r"\ ", r"[\s-]+") for keyword in sorted(keywords, key=len, reverse=True)
    )
    alternation = alternation.replace(r"\*", r"\w*")
    pattern = re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE)
    started = time.perf_counter()
    for text in texts:
        for _ in pattern.finditer(text):
            pass
    return time.perf_counter() - started


def spacy_baseline(texts: list[str]) -> float:
    import spacy

    nlp = spacy.blank("en")
    started = time.perf_counter()
    for _ in nlp.tokenizer.pipe(texts, batch_size=64):
        pass
    return time.perf_counter() - started


CODER_PROBE = """
import json, sys, time
from coder import load_codebook
from coder.pipeline import code_corpus
codebook = load_codebook(sys.argv[1])
started = time.perf_counter()
result = code_corpus(sys.argv[2], codebook, workers=int(sys.argv[3]))
seconds = time.perf_counter() - started
# Upper bound: this process plus every worker at the largest worker's peak. No figure on Windows,
# which has no `resource` module.
try:
    import resource
except ImportError:
    peak = None
else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + int(sys.argv[3]) * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "segments": len(result.segments), "passages": result.passage_count,
                  "peak_kb": peak}))
"""


def run_probe(probe: str, *arguments: object) -> dict:
    """Run a timing probe in a fresh process; its last line of output is a JSON object."""
    output = subprocess.run(
        [sys.executable, "-c", probe, *map(str, arguments)], check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _megabytes(kilobytes: float | None) -> str:
    return "not measured here" if kilobytes is None else f"{kilobytes / 1024:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--baseline-sample-mb", type=float, default=5.0,
                        help="the regex baseline is slow: time it on this many MB of the corpus")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    corpus = DATA / f"corpus_{args.megabytes:g}mb"
    if not corpus.exists():
        build_corpus(corpus, args.megabytes)
    codebook = DATA / "codebook_300.yaml"
    keywords = build_codebook(codebook)
    paths = sorted(corpus.glob("*.txt"))
    texts = [path.read_text(encoding="utf-8") for path in paths]
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6

    coder = run_probe(CODER_PROBE, codebook, corpus, args.workers)
    coder_speed = megabytes / coder["seconds"]

    sample, sample_mb = [], 0.0
    for text in texts:
        if sample_mb >= args.baseline_sample_mb:
            break
        sample.append(text)
        sample_mb += len(text.encode("utf-8")) / 1e6
    regex_speed = sample_mb / regex_baseline(sample, keywords)
    spacy_speed = megabytes / spacy_baseline(texts)

    print(f"corpus: {len(paths)} documents, {megabytes:.1f} MB; codebook: 300 codes, {len(keywords)} keywords")
    print(f"coder  : {coder_speed:8.2f} MB/s  ({coder['seconds']:.1f}s, {args.workers} workers, "
          f"{coder['passages']} passages, {coder['segments']} segments, peak memory {_megabytes(coder['peak_kb'])})")
    print(f"regex  : {regex_speed:8.2f} MB/s  (one alternation of the same keywords, timed on {sample_mb:.1f} MB)")
    print(f"spaCy  : {spacy_speed:8.2f} MB/s  (spacy.blank('en') tokenizer, one process)")
    print(f"ratio coder/regex: {coder_speed / regex_speed:.1f}x")
    print(f"ratio coder/spaCy: {coder_speed / spacy_speed:.1f}x")
    print(f"peak memory: {_megabytes(coder['peak_kb'])} (an upper bound)")
    print("issue 12's targets (whole `coder run` against a spaCy PhraseMatcher peer and the tokenizer, "
          "memory of the process tree, output size, recodes): python benchmarks/bench_scale.py")


if __name__ == "__main__":
    main()
