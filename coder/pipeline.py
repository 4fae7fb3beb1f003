"""The whole coding job: corpus -> passages -> matches -> segments, on every core."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from .corpus import Corpus, read_corpus
from .matching import CompiledCodebook, compile_codebook, segments_from_matches
from .models import Codebook, Document
from .passages import split_passages
from .segments import SEGMENT_COLUMNS, segments_to_frame

# Below this much text, starting worker processes costs more than it saves.
_PARALLEL_MIN_CHARS = 2_000_000
_BATCH_CHARS = 1_000_000


@dataclass(frozen=True)
class CodingResult:
    """Everything `coder run` learns from one pass over the corpus."""

    corpus: Corpus
    codebook: Codebook
    segments: pd.DataFrame  # the columns of segments.csv
    passages: dict[str, int]  # passages per document
    seconds: float = 0.0
    reused: dict[str, int] = field(default_factory=dict)  # what the recode cache saved

    @property
    def passage_count(self) -> int:
        return sum(self.passages.values())


def code_documents(
    documents: Sequence[Document], codebook: Codebook, *, compiled: CompiledCodebook | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Code documents in this process: the segments frame and the passage count per document."""
    compiled = compiled or compile_codebook(codebook)
    segments, counts = [], {}
    for document in documents:
        passages = split_passages(document, unit=codebook.unit)
        counts[document.path] = len(passages)
        for passage in passages:
            matches = compiled.find(passage)
            if matches:
                segments.extend(segments_from_matches(passage, matches, compiled.codes))
    return segments_to_frame(segments), counts


def code_corpus(
    corpus: str | Path | Corpus,
    codebook: Codebook,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CodingResult:
    """Read (if given a path), split and code a corpus; uses every core on large corpora.

    >>> result = code_corpus("seeds", load_codebook("codebook.yaml"))  # doctest: +SKIP
    >>> result.segments[["document", "code", "hits"]].head()  # doctest: +SKIP
    """
    started = time.perf_counter()
    if not isinstance(corpus, Corpus):
        corpus = read_corpus(corpus)
    documents = list(corpus.documents)
    workers = workers or os.cpu_count() or 1
    total_chars = sum(len(document.text) for document in documents)
    batches = _batches(documents, max(_BATCH_CHARS, total_chars // (workers * 8) + 1))
    frames: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    done = 0
    if workers > 1 and total_chars >= _PARALLEL_MIN_CHARS and len(batches) > 1:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("fork"), initializer=_start_worker, initargs=(codebook,)
        ) as pool:
            for frame, batch_counts in pool.map(_code_batch, batches):
                frames.append(frame)
                counts.update(batch_counts)
                done += len(batch_counts)
                if progress:
                    progress(done, len(documents))
    else:
        compiled = compile_codebook(codebook)
        for batch in batches:
            frame, batch_counts = code_documents(batch, codebook, compiled=compiled)
            frames.append(frame)
            counts.update(batch_counts)
            done += len(batch)
            if progress:
                progress(done, len(documents))
    frames = [frame for frame in frames if len(frame)]
    segments = pd.concat(frames, ignore_index=True) if frames else segments_to_frame([])
    segments = segments[list(SEGMENT_COLUMNS)]
    ordered = {document.path: counts.get(document.path, 0) for document in documents}
    return CodingResult(corpus=corpus, codebook=codebook, segments=segments, passages=ordered,
                        seconds=time.perf_counter() - started)


def _batches(documents: list[Document], size: int) -> list[list[Document]]:
    batches: list[list[Document]] = [[]]
    filled = 0
    for document in documents:
        if filled >= size and batches[-1]:
            batches.append([])
            filled = 0
        batches[-1].append(document)
        filled += len(document.text)
    return [batch for batch in batches if batch]


_worker_state: dict[str, object] = {}


def _start_worker(codebook: Codebook) -> None:
    _worker_state["codebook"] = codebook
    _worker_state["compiled"] = compile_codebook(codebook)


def _code_batch(documents: list[Document]) -> tuple[pd.DataFrame, dict[str, int]]:
    return code_documents(documents, _worker_state["codebook"], compiled=_worker_state["compiled"])  # type: ignore[arg-type]
