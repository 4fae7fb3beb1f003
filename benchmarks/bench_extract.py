"""PDF extraction speed on a folder of generated reports, against the libraries' own text dumps.

Writes `--documents` PDFs (default 120) into benchmarks/.data/pdfs: the seeds' paragraphs set
in one or two columns (reportlab, Helvetica; the Chinese seeds in STSong-Light), 2 to 12
pages each, with a running header and page numbers. Then reports pages/s and MB/s (of PDF
file bytes) for:

- coder: `coder.extract.extract_file()` (PDFium characters and boxes, reading order, headers,
  hyphens, page spans), one process;
- pypdfium2: `get_text_range()` per page, PDFium's own text dump (no layout work): the floor;
- pypdf: `extract_text()` per page, on a sample of `--sample` documents;
- pdfplumber: `extract_text()` per page, on the same sample.

Everything runs in one process on one core, one after another, so the ratios are fair; the
machine's load average is printed with the results because the cores are shared.

    python benchmarks/bench_extract.py [--documents 120] [--sample 15]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / ".data" / "pdfs"


def build_pdfs(folder: Path, documents: int, *, seed: int = 11) -> list[Path]:
    """Write `documents` report PDFs made of the seeds' paragraphs (kept if already there)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    rng = random.Random(seed)
    english, chinese = [], []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8-sig")):
            paragraph = " ".join(paragraph.split())
            if len(paragraph) < 80:
                continue
            (chinese if re.search(r"[\u4e00-\u9fff]{10}", paragraph) else english).append(paragraph)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    width, height = A4
    for index in range(documents):
        path = folder / f"report_{index:03d}.pdf"
        paths.append(path)
        if path.exists():
            continue
        is_chinese = chinese and index % 5 == 4
        font = "STSong-Light" if is_chinese else "Helvetica"
        pool = chinese if is_chinese else english
        columns = 2 if index % 2 else 1
        pages = rng.randint(2, 12)
        column_width = (width - 144 - 24 * (columns - 1)) / columns
        pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
        for number in range(1, pages + 1):
            pdf.setFont("Helvetica", 8)
            pdf.drawString(72, height - 40, f"Regional Governance Review, report {index}")
            pdf.drawCentredString(width / 2, 30, str(number))
            pdf.setFont(font, 10)
            for column in range(columns):
                x, y = 72 + column * (column_width + 24), height - 80
                while y > 80:
                    for line in simpleSplit(rng.choice(pool), font, 10, column_width):
                        if y <= 80:
                            break
                        pdf.drawString(x, y, line)
                        y -= 13
                    y -= 8
            pdf.showPage()
        pdf.save()
    return paths


def _pages_per_second(name: str, paths: list[Path], extract) -> tuple[float, float, int]:
    start = time.perf_counter()
    pages = sum(extract(path) for path in paths)
    seconds = time.perf_counter() - start
    megabytes = sum(path.stat().st_size for path in paths) / 1_000_000
    print(f"{name:<11} {len(paths):>4} PDFs {pages:>5} pages {seconds:7.2f} s  {pages / seconds:8.1f} pages/s  {megabytes / seconds:6.2f} MB/s", flush=True)
    return pages / seconds, megabytes / seconds, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=120)
    parser.add_argument("--sample", type=int, default=15)
    options = parser.parse_args()
    paths = build_pdfs(DATA, options.documents)
    sample = paths[: options.sample]

    from coder.extract import extract_file

    def coder_extract(path: Path) -> int:
        return len(extract_file(path).pages)

    def pdfium_dump(path: Path) -> int:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(path)
        for page in document:
            page.get_textpage().get_text_range()
        return len(document)

    def pypdf_dump(path: Path) -> int:
        import pypdf

        reader = pypdf.PdfReader(path)
        for page in reader.pages:
            page.extract_text()
        return len(reader.pages)

    def pdfplumber_dump(path: Path) -> int:
        import pdfplumber

        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
            return len(pdf.pages)

    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())} on {os.cpu_count()} cores")
    coder_rate, coder_mb, _ = _pages_per_second("coder", paths, coder_extract)
    pdfium_rate, _, _ = _pages_per_second("pypdfium2", paths, pdfium_dump)
    results = {"coder (sample)": _pages_per_second("coder", sample, coder_extract)[0]}
    for name, function in (("pypdf", pypdf_dump), ("pdfplumber", pdfplumber_dump)):
        try:
            results[name] = _pages_per_second(name, sample, function)[0]
        except ImportError:
            print(f"{name:<11} not installed, skipped")
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"coder: {coder_rate:.1f} pages/s, {coder_mb:.2f} MB/s; {coder_rate / pdfium_rate:.2f}x PDFium's plain text dump")
    for name in ("pypdf", "pdfplumber"):
        if name in results:
            print(f"coder is {results['coder (sample)'] / results[name]:.1f}x {name} on the same {len(sample)} PDFs")


if __name__ == "__main__":
    main()
