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

Then, on the sample, the quality: the share of the body's words (as drawn, from the
`.truth.txt` beside each PDF) recovered in reading order, running headers and page numbers left
in, and words left broken by a line-end hyphen.

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


def _wrap(paragraph: str, font: str, size: float, width: float) -> list[str]:
    """Lines of at most `width` points; a long word that does not fit is hyphenated, as typesetters do."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if re.search(r"[\u4e00-\u9fff]", paragraph):  # Chinese breaks between any two characters
        lines, line = [], ""
        for char in paragraph:
            if line and stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = ""
            line += char
        return [*lines, line] if line else lines
    lines, line = [], ""
    for word in paragraph.split():
        candidate = f"{line} {word}" if line else word
        if stringWidth(candidate, font, size) <= width:
            line = candidate
            continue
        if len(word) >= 8 and word.isalpha() and line:
            cut = len(word) // 2
            head = f"{line} {word[:cut]}-"
            if stringWidth(head, font, size) <= width:
                lines.append(head)
                line = word[cut:]
                continue
        lines.append(line)
        line = word
    return [*lines, line] if line else lines


def build_pdfs(folder: Path, documents: int, *, seed: int = 11) -> list[Path]:
    """Write `documents` report PDFs made of the seeds' paragraphs, each with `<name>.truth.txt`
    holding the body text in reading order (kept if already there)."""
    from reportlab.lib.pagesizes import A4
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
        is_chinese = bool(chinese) and index % 5 == 4
        font = "STSong-Light" if is_chinese else "Helvetica"
        pool = chinese if is_chinese else english
        columns = 2 if index % 2 else 1
        pages = rng.randint(2, 12)
        if path.exists() and path.with_suffix(".truth.txt").exists():
            continue
        column_width = (width - 144 - 24 * (columns - 1)) / columns
        pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
        truth: list[str] = []
        for number in range(1, pages + 1):
            pdf.setFont("Helvetica", 8)
            pdf.drawString(72, height - 40, f"Regional Governance Review, report {index}")
            pdf.drawCentredString(width / 2, 30, str(number))
            pdf.setFont(font, 10)
            for column in range(columns):
                x, y = 72 + column * (column_width + 24), height - 80
                while y > 80:
                    paragraph = rng.choice(pool)
                    for line in _wrap(paragraph, font, 10, column_width):
                        if y <= 80:
                            break
                        pdf.drawString(x, y, line)
                        truth.append(line)
                        y -= 13
                    y -= 8
            pdf.showPage()
        pdf.save()
        path.with_suffix(".truth.txt").write_text("\n".join(truth), encoding="utf-8")
    return paths


_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W\d_]+(?:-[^\W\d_]+)*|\d+")


def _tokens(text: str) -> list[str]:
    """Words (Chinese: characters), with line-end hyphenation undone, for comparing with the truth."""
    return _TOKEN.findall(text.lower())


def _truth_tokens(path: Path) -> list[str]:
    truth = path.with_suffix(".truth.txt").read_text(encoding="utf-8")
    return _tokens(re.sub(r"([^\W\d_])-\n([^\W\d_])", r"\1\2", truth))


def score_text(path: Path, text: str) -> tuple[float, int, int]:
    """(share of the truth's words recovered in reading order, header/page-number lines left in,
    words left split by a line-end hyphen)."""
    from difflib import SequenceMatcher

    truth, found = _truth_tokens(path), _tokens(text)
    matcher = SequenceMatcher(None, truth, found, autojunk=False)
    recovered = sum(block.size for block in matcher.get_matching_blocks()) / max(len(truth), 1)
    furniture = len(re.findall(r"Regional Governance Review|^\s*\d+\s*$", text, flags=re.MULTILINE))
    split = len(re.findall(r"[^\W\d_]-\s*\n\s*[a-z]", text))
    return recovered, furniture, split


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
    print("\nquality on the same sample (words of the body recovered in reading order; furniture = header and")
    print("page-number lines left in; split = words left broken by a line-end hyphen):")
    texts = {
        "coder": lambda path: extract_file(path).text,
        "pypdfium2": lambda path: "\n".join(page.get_textpage().get_text_range() for page in __import__("pypdfium2").PdfDocument(path)),
        "pypdf": lambda path: "\n".join(page.extract_text() for page in __import__("pypdf").PdfReader(path).pages),
        "pdfplumber": lambda path: "\n".join(page.extract_text() for page in __import__("pdfplumber").open(path).pages),
    }
    for name, read in texts.items():
        try:
            scores = [score_text(path, read(path).replace("\r\n", "\n").replace("\ufffe", "-").replace("\x02", "-")) for path in sample]
        except ImportError:
            continue
        recovered = sum(score[0] for score in scores) / len(scores)
        print(f"{name:<11} {100 * recovered:5.1f}% in order  furniture {sum(s[1] for s in scores):>4}  split {sum(s[2] for s in scores):>4}")
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    print(f"coder: {coder_rate:.1f} pages/s, {coder_mb:.2f} MB/s; {coder_rate / pdfium_rate:.2f}x PDFium's plain text dump")
    for name in ("pypdf", "pdfplumber"):
        if name in results:
            print(f"coder is {results['coder (sample)'] / results[name]:.1f}x {name} on the same {len(sample)} PDFs")


if __name__ == "__main__":
    main()
