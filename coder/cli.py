"""The `coder` command line: a thin typer layer over the library."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from . import __version__
from .codebook import load_codebook
from .errors import CoderError

app = typer.Typer(
    name="coder",
    help="Code a corpus of documents against a YAML codebook.\n\nExample: coder run seeds --codebook codebook.yaml --out outputs",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _say(message: str = "") -> None:
    typer.echo(message, err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn CoderError into `Error: ...` on stderr and exit 1, never a traceback."""
    try:
        yield
    except CoderError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        typer.echo("Interrupted: earlier outputs are unchanged.", err=True)
        raise typer.Exit(code=130)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None,
) -> None:
    """Code a corpus of documents against a YAML codebook."""


@app.command()
def run(
    corpus: Annotated[Path, typer.Argument(help="A folder of .txt/.md documents (read recursively) or one file.")] = Path("seeds"),
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="The YAML codebook.")] = Path("codebook.yaml"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path("outputs"),
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, help="Processes to use (default: all cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Code every passage of CORPUS with CODEBOOK and write segments.csv, code_counts.csv and run.json.

    Example: coder run seeds --codebook codebook.yaml --out outputs
    """
    from .outputs import run_record, write_coding_outputs
    from .pipeline import code_corpus

    with _user_errors():
        loaded = load_codebook(codebook)
        result = code_corpus(corpus, loaded, workers=workers)
        record = run_record(result, codebook_path=codebook, corpus_path=corpus, workers=workers)
        write_coding_outputs(result, out, record=record)
        if not quiet:
            _say(_summary(result, out))


def _summary(result, out: Path) -> str:
    counts = result.segments.groupby("code", sort=False).size().to_dict() if len(result.segments) else {}
    lines = [
        f"Read {len(result.corpus.documents)} document(s), skipped {len(result.corpus.skipped)}; "
        f"{result.passage_count} passage(s) ({result.codebook.unit}), {len(result.segments)} coded segment(s) "
        f"in {result.seconds:.2f}s.",
    ]
    for skipped in result.corpus.skipped:
        lines.append(f"  skipped {skipped.path}: {skipped.reason}")
    if not result.corpus.documents:
        lines.append("Warning: no documents to code.")
    width = max((len(code.label) + 2 * (code.depth - 1) for code in result.codebook), default=10)
    lines.append("Segments per code:")
    for code in result.codebook:
        name = "  " * (code.depth - 1) + code.label
        lines.append(f"  {name:<{width}}  {counts.get(code.id, 0):>6}")
    lines.append(f"Results in {out}/: segments.csv, code_counts.csv, run.json")
    return "\n".join(lines)
