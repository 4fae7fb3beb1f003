"""REFI-QDA export and agreement speed, as ratios against baselines measured in the same run.

- export: `build_qdpx()` (XML for codes, selections and codings, plus the sources) against a
  baseline that only zips the same source texts (the least any .qdpx writer must do);
- agreement: `compute_agreement()` against a baseline that only counts TP/FP/FN per code with
  Python sets (no kappa, alpha or table).

Documents are the seeds' paragraphs reshuffled with a fixed seed; segments are random
(passage, code) pairs with a fixed seed, about one in three passages coded.

    python benchmarks/bench_interop.py [--documents 400] [--codes 40]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coder.agreement import compute_agreement
from coder.models import Code, Codebook, Document
from coder.refi_qda import build_qdpx


def _data(documents: int, codes: int, seed: int = 11):
    rng = random.Random(seed)
    paragraphs = [
        p.strip()
        for path in sorted((ROOT / "seeds").glob("*.txt"))
        for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8-sig"))
        if p.strip()
    ]
    docs, rows, gold = [], [], []
    for index in range(documents):
        text = "\n\n".join(rng.choice(paragraphs) for _ in range(rng.randint(10, 30))) + "\n"
        path = f"doc_{index:05d}.txt"
        docs.append(Document(path=path, text=text))
        start = 0
        for number, paragraph in enumerate(text.split("\n\n")):
            end = start + len(paragraph.rstrip("\n"))
            for code in range(codes):
                if rng.random() < 1 / (3 * codes) * 3:
                    rows.append({"segment_id": f"{index}-{number}-{code}", "document": path, "passage": number,
                                 "start": start, "end": end, "code": f"c{code}", "code_path": f"g{code % 5}/c{code}",
                                 "review": "", "note": ""})
                if rng.random() < 1 / (3 * codes) * 3:
                    gold.append({"document": path, "passage": number, "code": f"c{code}"})
            start += len(paragraph) + 2
    book = [Code(id=f"g{g}", label=f"Group {g}", path=(f"g{g}",)) for g in range(5)]
    book += [Code(id=f"c{c}", label=f"Code {c}", path=(f"g{c % 5}", f"c{c}"), keywords=("x",)) for c in range(codes)]
    book.sort(key=lambda code: code.path)
    return docs, Codebook(codes=tuple(book)), pd.DataFrame(rows), pd.DataFrame(gold)


def _best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--codes", type=int, default=40)
    options = parser.parse_args()
    documents, codebook, segments, gold = _data(options.documents, options.codes)
    megabytes = sum(len(d.text.encode("utf-8")) for d in documents) / 1e6
    units = sum(d.text.count("\n\n") + 1 for d in documents)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "p.qdpx"

        def baseline_zip() -> None:
            with zipfile.ZipFile(Path(folder) / "b.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for document in documents:
                    archive.writestr(f"sources/{document.path}", document.text.encode("utf-8"))

        zip_seconds = _best(baseline_zip)
        export_seconds = _best(lambda: build_qdpx(documents, codebook, segments, path=target))
        size = target.stat().st_size / 1e6

    def baseline_sets() -> None:
        mine = set(zip(segments["document"], segments["passage"], segments["code"]))
        theirs = set(zip(gold["document"], gold["passage"], gold["code"]))
        for code in {c for *_, c in mine | theirs}:
            a = {k for k in mine if k[2] == code}
            b = {k for k in theirs if k[2] == code}
            len(a & b), len(a - b), len(b - a)

    sets_seconds = _best(baseline_sets)
    agreement_seconds = _best(lambda: compute_agreement(segments, gold, units=units, codebook=codebook))
    print(f"{len(documents)} documents, {megabytes:.1f} MB, {units} passages, {len(segments)} segments, "
          f"{len(gold)} gold rows, {options.codes} codes")
    print(f"export qdpx: {export_seconds:.3f}s ({megabytes / export_seconds:.1f} MB/s, {size:.1f} MB file); "
          f"zip-only baseline {zip_seconds:.3f}s; ratio {export_seconds / zip_seconds:.2f}x")
    print(f"agreement:   {agreement_seconds:.3f}s; set-counting baseline {sets_seconds:.3f}s; "
          f"ratio {agreement_seconds / sets_seconds:.2f}x")


if __name__ == "__main__":
    main()
