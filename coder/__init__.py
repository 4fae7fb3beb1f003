"""coder: code a corpus of documents against a YAML codebook."""

from .codebook import dump_codebook, load_codebook, parse_codebook
from .corpus import Corpus, SkippedFile, read_corpus, read_document
from .errors import CodebookError, CoderError, CorpusError, OutputError
from .models import Code, Codebook, Document, Match, NetworkOptions, Passage, Segment

__version__ = "0.1.0"

# The later stages pull in pandas, scipy, networkx and pyvis (and the splitter and matcher compile
# large patterns): load them on first use, so that `import coder` stays quick for the CLI.
_LAZY = {
    "split_passages": "passages",
    "compile_codebook": "matching", "code_passages": "matching", "CompiledCodebook": "matching",
    "code_corpus": "pipeline", "CodingResult": "pipeline",
    "run_coding": "runner",
    "read_segments_csv": "segments", "segments_to_frame": "segments", "write_segments_csv": "segments",
    "build_cooccurrence": "cooccurrence", "build_network": "network",
    "render_html": "render", "write_network_outputs": "runner",
    "compare_runs": "diff", "RunFolder": "runs", "read_run": "runs", "import_reviews": "reviews", "apply_reviews": "reviews",
    "lint_codebook": "lint",
    "suggest_for_code": "suggest", "suggest_for_run": "suggest",
    "build_qdpx": "refi_qda", "build_qdc": "refi_qda", "read_qdc": "refi_qda",
    "read_dictionary": "dictionaries", "compute_agreement": "agreement",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'coder' has no attribute {name!r}")

__all__ = [  # noqa: RUF022
    *sorted(_LAZY),
    "Code",
    "Codebook",
    "CodebookError",
    "CoderError",
    "Corpus",
    "CorpusError",
    "Document",
    "Match",
    "NetworkOptions",
    "OutputError",
    "Passage",
    "Segment",
    "SkippedFile",
    "dump_codebook",
    "load_codebook",
    "parse_codebook",
    "read_corpus",
    "read_document",
]
