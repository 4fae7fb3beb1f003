"""Write a coding run's files: segments.csv, code_counts.csv and run.json, each atomically."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from . import __version__
from .codebook import codebook_hash
from .files import write_csv, write_text
from .pipeline import CodingResult
from .reviews import drop_rejected
from .runs import codebook_to_records
from .segments import build_code_counts, write_segments_csv


def run_record(result: CodingResult, *, codebook_path: str | Path, corpus_path: str | Path, workers: int | None = None) -> dict[str, Any]:
    """The contents of run.json: what ran, on what, with which codebook (kept whole for diffs)."""
    frame = result.segments
    by_code = frame.groupby("code", sort=False).size().to_dict() if len(frame) else {}
    return {
        "tool": "coder",
        "tool_version": __version__,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(result.seconds, 3),
        "corpus": str(corpus_path),
        "corpus_absolute": str(Path(corpus_path).resolve()),
        "codebook": str(codebook_path),
        "codebook_sha256": codebook_hash(codebook_path) if Path(codebook_path).is_file() else "",
        "codebook_name": result.codebook.name,
        "unit": result.codebook.unit,
        "workers": workers or os.cpu_count() or 1,
        "counts": {
            "documents": len(result.corpus.documents),
            "skipped": len(result.corpus.skipped),
            "passages": result.passage_count,
            "segments": len(frame),
            "coded_passages": len(frame[["document", "passage"]].drop_duplicates()) if len(frame) else 0,
            "segments_by_code": {code.id: int(by_code.get(code.id, 0)) for code in result.codebook},
        },
        "documents": [
            {"path": document.path, "encoding": document.encoding, "sha256": document.sha256,
             "passages": result.passages.get(document.path, 0)}
            for document in result.corpus.documents
        ],
        "skipped": [{"path": skipped.path, "reason": skipped.reason} for skipped in result.corpus.skipped],
        "codebook_codes": codebook_to_records(result.codebook),
    }


def write_coding_outputs(result: CodingResult, out_dir: str | Path, *, record: dict[str, Any]) -> dict[str, Path]:
    """Write segments.csv, code_counts.csv and run.json into `out_dir`; returns what was written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "segments": out_dir / "segments.csv",
        "code_counts": out_dir / "code_counts.csv",
        "run": out_dir / "run.json",
    }
    write_segments_csv(result.segments, written["segments"])
    frame = result.segments
    counted = drop_rejected(frame)
    counts = build_code_counts(counted, result.codebook, [document.path for document in result.corpus.documents])
    write_csv(counts, written["code_counts"])
    write_text(written["run"], json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return written
