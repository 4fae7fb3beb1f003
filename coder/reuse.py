"""Reuse the last run's coding when only labels, colours or descriptions changed since it.

A label, colour or description edit changes no match: the segments of the run already in the
folder are the segments a full run would find. `reuse_coding` checks that nothing else changed
(the documents, the extraction options, the unit, the code kinds, every code's keywords and rules,
the tool version) and rebuilds the CodingResult from segments.parquet and passages.parquet with
the labels and code paths of the new codebook; reviews are applied after it, as after coding.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .cache import _matching_key  # what code_fingerprints() reads; labels are not in it
from .corpus import read_corpus
from .errors import CoderError
from .extract.cache import ExtractionCache
from .extract.encodings import check_encoding
from .models import Codebook
from .pipeline import CodingResult
from .runs import RunFolder
from .segments import SEGMENT_COLUMNS, add_page_column, read_parquet

__all__ = ["reuse_coding"]


def reuse_coding(
    run: RunFolder,
    corpus: str | Path,
    codebook: Codebook,
    *,
    encoding: str | None = None,
    extraction_cache: ExtractionCache | None = None,
) -> CodingResult | None:
    """The coding of the run in `run` under `codebook`'s labels, when coding `corpus` again would
    find exactly its segments; None when anything that decides a match changed (then code as usual).

    The corpus is read (its documents' hashes must equal run.json's), but not split or matched.
    `CodingResult.reused` counts as the recode cache would: every document and code reused.

    >>> reuse_coding(RunFolder("outputs"), "seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
    """
    from . import __version__

    started = time.perf_counter()
    if not (run.has_record() and run.segments_parquet_path.exists() and run.passages_parquet_path.exists()):
        return None
    try:
        record = run.record()
        if record.tool_version != __version__ or record.unit != codebook.unit or record.encoding != (check_encoding(encoding) if encoding else None):
            return None
        stored = run.stored_codebook()
    except CoderError:
        return None
    # The key of every code's fingerprint at once (ids, terms, rules, kinds, the tool's own source),
    # without compiling either codebook.
    if _matching_key(stored) != _matching_key(codebook):
        return None
    try:
        corpus_read = read_corpus(corpus, encoding=encoding, extraction_cache=extraction_cache)
    except CoderError:
        return None  # the full run reports it
    documents = list(corpus_read.documents)
    if ([(document.path, document.sha256) for document in documents]
            != [(entry.get("path"), entry.get("sha256")) for entry in record.documents]
            or [{"path": skipped.path, "reason": skipped.reason} for skipped in corpus_read.skipped]
            != list(record.skipped)):
        return None
    try:
        segments = read_parquet(run.segments_parquet_path)
        passages = read_parquet(run.passages_parquet_path)
    except CoderError:
        return None
    # The tool's rows only, as coding left them: the review file adds decisions and hand-coded rows again.
    segments = segments[segments["source"].ne("manual")].reset_index(drop=True)
    labels = {code.id: code.label for code in codebook}
    paths = {code.id: code.code_path for code in codebook}
    if not set(segments["code"]) <= labels.keys():
        return None
    keys = pd.MultiIndex.from_frame(passages[["document", "passage"]])
    rows = keys.get_indexer(pd.MultiIndex.from_frame(segments[["document", "passage"]]))
    if (rows < 0).any():
        return None
    frame = segments.assign(
        label=segments["code"].map(labels), code_path=segments["code"].map(paths), review="", note="",
        text=pd.Series(passages["text"].to_numpy(dtype=object)[rows], dtype=object),
    )[list(SEGMENT_COLUMNS)]
    counts = {str(entry["path"]): int(entry.get("passages", 0)) for entry in record.documents}
    return CodingResult(
        corpus=corpus_read, codebook=codebook, segments=add_page_column(frame, documents), passages=counts,
        seconds=time.perf_counter() - started,
        # What the recode cache would say: every document and code reused, nothing matched.
        reused={"documents_reused": len(documents), "documents_new": 0, "codes_reused": len(documents) * len(codebook),
                "codes_matched": 0},
        fingerprints=segments["fingerprint"], passage_table=passages[["document", "passage", "start", "end", "kind", "text"]],
    )
