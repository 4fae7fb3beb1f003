"""coder: code a corpus of documents against a YAML codebook."""

from .codebook import dump_codebook, load_codebook, parse_codebook
from .errors import CodebookError, CoderError, CorpusError, OutputError
from .models import Code, Codebook, Document, Match, Passage, Segment

__version__ = "0.1.0"

__all__ = [
    "Code",
    "Codebook",
    "CodebookError",
    "CoderError",
    "CorpusError",
    "Document",
    "Match",
    "OutputError",
    "Passage",
    "Segment",
    "dump_codebook",
    "load_codebook",
    "parse_codebook",
]
