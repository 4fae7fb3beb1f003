"""coder: code a corpus of documents against a YAML codebook."""

from .codebook import dump_codebook, load_codebook, parse_codebook
from .corpus import Corpus, SkippedFile, read_corpus, read_document
from .errors import CodebookError, CoderError, CorpusError, OutputError
from .models import Code, Codebook, Document, Match, Passage, Segment
from .passages import split_passages

__version__ = "0.1.0"

__all__ = [
    "Code",
    "Codebook",
    "CodebookError",
    "CoderError",
    "Corpus",
    "CorpusError",
    "Document",
    "Match",
    "OutputError",
    "Passage",
    "Segment",
    "SkippedFile",
    "dump_codebook",
    "load_codebook",
    "parse_codebook",
    "read_corpus",
    "read_document",
    "split_passages",
]
