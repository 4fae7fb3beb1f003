"""The `coder` command line: a thin typer layer over the library."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import gc
import hashlib
import inspect
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from . import __version__
from .codebook import load_codebook, refuse_deeper_level
from .errors import CoderError, RegexBudgetError, RegexTimeoutError
from .files import CACHE_FOLDER, command_argument, display_name, lies_in, refuse_overwrite
from .models import Codebook, ColorBy, CsvMode, Engine, Measure, NetworkOptions

if TYPE_CHECKING:
    from .corpus import SkippedFile

app = typer.Typer(
    name="coder",
    help="Code a corpus of documents against a YAML codebook.\n\nExample: coder run seeds --codebook codebook.yaml --out outputs",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The last thing a `coder` process does (atexit runs it after every handler registered later): the
# interpreter's final collections walk every object of pandas, pyarrow and numpy, about 0.2 s of CPU
# on exit; frozen, the objects are freed with the process. Unreferenced objects are still freed
# when the modules are cleared, and every file the tool writes is closed where it is written.
atexit.register(gc.freeze)

# A `coder` process holds the objects of pandas, pyarrow, numpy and networkx and builds tables of
# hundreds of thousands of rows: at the default threshold (a collection every 700 allocations) the
# collector ran about 840 times in a keyword recode of the 50 MB benchmark, and its full collections
# walked the whole heap each time, 0.57-0.70 s of about 5 s CPU. Every 50,000 allocations it still ran
# 6 young collections there (0.07 s) that freed about 2,300 of the 300,000 objects they walked, most
# of which live to the end of the run; every 400,000 none, and the cold runs' peaks stay where they were. Cycles are still collected, only later; the streamed run collects
# where it frees.
gc.set_threshold(400_000, 20, 10)

# Arrow allocates from the C library's heap in a `coder` process (set before anything imports pyarrow;
# the environment's own choice stands): pyarrow's default, mimalloc, keeps much of what its threads
# free, so a long run held each stage's peak, while trim_heap gives the C heap back. 100 MB corpus:
# tree peak 501 -> 477 MB.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# glibc's malloc, in a `coder` process and the processes it spawns (the environment's own choice
# stands): at most two arenas, not eight per core for the threads that read, write and decode beside
# each other, and blocks of 4 MB or more mapped apart, given back to the system when freed (left to
# itself glibc raises that threshold as large blocks are freed, and later ones stay in the arenas).
# A rerun of the 100 MB corpus with a document added: tree peak 494-559 -> 414-441 MB; cold runs
# alike in time.
_MALLOC_SETTINGS = {"MALLOC_ARENA_MAX": (-8, 2), "MALLOC_MMAP_THRESHOLD_": (-3, 4 * 2**20)}


def _bound_the_heap() -> None:
    import ctypes

    for name, (option, value) in _MALLOC_SETTINGS.items():
        if name in os.environ:
            continue
        os.environ[name] = str(value)  # for the processes this one spawns
        try:
            ctypes.CDLL(None).mallopt(option, value)  # for this one, already started
        except (AttributeError, OSError, TypeError):  # not glibc (macOS, Windows): nothing to set
            pass


_bound_the_heap()


# Network options, shared by `run` and `network`: declared once, gathered into NetworkOptions.
_MAX_SEED = 2**32 - 1  # numpy's and networkx's random generators take seeds up to here
_NETWORK = "Network options"
_NETWORK_OPTIONS = {
    "level": Annotated[int | None, typer.Option(
        "--level", min=1, rich_help_panel=_NETWORK,
        help="Roll codes up to their ancestor at this depth (1 = top-level codes).")],
    "measure": Annotated[Measure, typer.Option(
        "--measure", rich_help_panel=_NETWORK, help="Edge width and weight.")],
    "min_count": Annotated[int, typer.Option(
        "--min-count", min=1, rich_help_panel=_NETWORK,
        help="Drop links between codes sharing fewer passages (default 2: one shared passage is no evidence).")],
    "top_edges": Annotated[int | None, typer.Option(
        "--top-edges", min=0, rich_help_panel=_NETWORK, help="Keep only the N strongest links by --measure; 0 keeps every link.")],
    "hide_isolated": Annotated[bool, typer.Option(
        "--hide-isolated", rich_help_panel=_NETWORK, help="Leave out codes without a link.")],
    "color_by": Annotated[ColorBy, typer.Option(
        "--color-by", rich_help_panel=_NETWORK, help="Colour nodes by top-level code or by community.")],
    "seed": Annotated[int, typer.Option(
        "--seed", min=0, max=_MAX_SEED, rich_help_panel=_NETWORK, help="Seed for communities and layout, so runs repeat.")],
}


def _network_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the network options in place of its `options: NetworkOptions` parameter.

    Typer reads the signature, so the wrapper shows one option per NetworkOptions field (its
    default the field's) where `options` stood, and gathers them back into one NetworkOptions.
    """
    signature = inspect.signature(command, eval_str=True)
    defaults = {field.name: field.default for field in dataclasses.fields(NetworkOptions)}
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.name != "options":
            parameters.append(parameter)
            continue
        parameters.extend(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation,
                                            default=defaults[name])
                          for name, annotation in _NETWORK_OPTIONS.items())

    @functools.wraps(command)
    def wrapper(**kwargs: object) -> None:
        options = NetworkOptions(**{name: kwargs.pop(name) for name in _NETWORK_OPTIONS})
        if options.top_edges == 0:  # --top-edges 0: every link, as in the report's control
            options = dataclasses.replace(options, top_edges=None)
        command(options=options, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return wrapper


# Files a command writes where the user says are never replaced without it.
DocumentsOption = Annotated[Path | None, typer.Option(
    "--documents", help="documents.csv: a `document` column and one column per variable (year, region, ...). "
                        "Default: documents.csv in the corpus folder (for `coder network`: the one the run used).")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite the file it writes if that file exists.")]
# The review commands read a run's decisions with the run's codebook, as network and suggest do.
RunCodebookOption = Annotated[Path | None, typer.Option(
    "--codebook", "-c", help="The codebook (default: the one the run's run.json names, else codebook.yaml).",
    show_default=False)]
RunReviewsOption = Annotated[Path | None, typer.Option(
    "--reviews", help="The review file (default: reviews.csv beside --codebook when given, else the one the run used, "
                      "else reviews.csv beside codebook.yaml).", show_default=False)]


def _say(message: str = "") -> None:
    typer.echo(_printable(message), err=True)


def _show(text: str) -> None:
    """Print a report on stdout; names and labels in it are escaped as in every message."""
    typer.echo(_printable(text))


def _printable(text: str) -> str:
    """Every line of `text` through `display_name`: line breaks stay, no other control character
    from a file name, a label or a path reaches the terminal."""
    return "\n".join(display_name(line) for line in str(text).split("\n"))


def _command_group(help: str) -> typer.Typer:
    """A group of subcommands (`coder review ...`) that shows its help when called bare."""
    return typer.Typer(help=help, context_settings={"help_option_names": ["-h", "--help"]}, no_args_is_help=True)


@contextmanager
def _user_errors(*, unchanged: Callable[[], str] = lambda: "Earlier outputs are unchanged.",
                 coding: bool = False) -> Iterator[None]:
    """Turn CoderError into `Error: ...` on stderr and exit 1, never a traceback.

    `unchanged` gives the sentence saying what an OSError or Ctrl-C left as it was; `coding`: the
    command codes a corpus, and says it for an error met while coding (a regex stopped) too.
    """
    try:
        yield
    except CoderError as error:
        # An error met while coding comes after a run began: say what it left (an error in the inputs
        # stops the run before anything is read or written, and says which file).
        _say(f"Error: {error}" + (f" {unchanged()}" if coding and isinstance(error, (RegexTimeoutError, RegexBudgetError)) else ""))
        raise typer.Exit(code=1)
    except OSError as error:  # a full disk, a folder that is a file, no permission: say which file
        where = f"{display_name(os.fsdecode(error.filename))}: " if error.filename else ""
        reason = error.strerror or str(error)
        if isinstance(error, (FileExistsError, NotADirectoryError)) and error.filename:
            path = Path(os.fsdecode(error.filename))
            blocking = next((place for place in (path, *path.parents) if place.is_file()), None)
            if blocking is not None:  # "File exists" said nothing of a file in a folder's place
                where = f"{display_name(blocking)}: "
                reason = "is a file, where a folder is needed" + (f" (to write {display_name(path)})" if blocking != path else "")
        _say(f"Error: {where}{reason}. {unchanged()}")
        raise typer.Exit(code=1)
    except KeyboardInterrupt:
        _say(f"Interrupted. {unchanged()}")
        raise typer.Exit(code=130)
    except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except Exception as error:  # a bug in coder: one line here, the traceback in a file for the report
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        kept = _traceback_file()
        where = f"the traceback is in {kept}" if kept else f"run it again with {TRACEBACK_VARIABLE}=1 to see the traceback"
        _say(f"Error: coder stopped on an internal error ({type(error).__name__}: {str(error)[:200]}). {unchanged()} "
             f"This is a bug in coder: please report it ({where}).")
        raise typer.Exit(code=1)


# Set (to anything) to see an internal error's traceback instead of the one-line report.
TRACEBACK_VARIABLE = "CODER_TRACEBACK"


def _traceback_file() -> str | None:
    """The exception being handled, its traceback written to a new file in the temporary folder; None
    when it cannot be written."""
    import tempfile
    import traceback

    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", prefix="coder-error-", suffix=".txt",
                                         delete=False) as stream:
            stream.write(f"coder {__version__}, Python {sys.version.split()[0]}, {sys.platform}\n\n")
            stream.write(traceback.format_exc())
            return stream.name
    except OSError:
        return None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coder {__version__}")
        raise typer.Exit()


@app.callback()
def app_options(
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None,
) -> None:
    """Code a corpus of documents against a YAML codebook."""


@app.command()
@_network_options
def run(
    corpus: Annotated[Path, typer.Argument(help="A folder of documents (.txt .md .pdf .docx .odt .rtf .html, read recursively) or one file.")] = Path("seeds"),
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="The YAML codebook.")] = Path("codebook.yaml"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the results.")] = Path("outputs"),
    encoding: Annotated[str | None, typer.Option("--encoding", help="Decode .txt/.md files with this encoding (e.g. cp1252, latin-1, gbk, big5) instead of detecting it.")] = None,
    documents: DocumentsOption = None,
    reviews: Annotated[Path | None, typer.Option("--reviews", help="Review decisions to apply (default: reviews.csv beside the codebook).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1, help="Processes to use (default: all cores).")] = None,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse unchanged work from earlier runs (kept in OUT/.cache).")] = True,
    csv: Annotated[CsvMode, typer.Option("--csv", help="Write segments.csv and passages.csv (views of the Parquet tables for people): auto when the run has at most 100,000 segments, always, or never.")] = "auto",
    engine: Annotated[Engine, typer.Option("--engine", help="Where to code: local (processes on this machine) or dask (a Dask cluster; needs pip install \"coder\\[dask]\").")] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: the scheduler's address (tcp://HOST:8786); default: a local cluster of --workers processes.")] = None,
    options: NetworkOptions = NetworkOptions(),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Code every passage of CORPUS with CODEBOOK and write the results to OUT.

    Writes segments.parquet and passages.parquet (the segment data every later command reads),
    segments.csv and passages.csv (see --csv), code_counts.csv, code_counts_long.csv, run.json, changes.csv (what changed
    since the last run), cooccurrence.csv, cooccurrence_matrix.csv, codes.csv, report.html (network.html
    opens it), network.graphml and network.gexf; with documents.csv, code_counts_by_group.csv.
    PDF, Word, OpenDocument, RTF and HTML files are coded on their extracted text, kept in OUT/texts/.
    With --engine dask, the documents are coded on a Dask cluster and the partitions are also
    written as OUT/segments.parquet/ and OUT/passages.parquet/.

    Example: coder run seeds --codebook codebook.yaml --out outputs

    Example: coder run archive --engine dask --scheduler tcp://10.0.0.5:8786 --out outputs
    """
    if scheduler is not None and engine != "dask":
        with _user_errors():
            raise CoderError("--scheduler names a Dask cluster: add --engine dask to code on it (without it, the run "
                             "would be on this machine).")
    cores = os.cpu_count() or 1
    if workers is not None and workers > cores and not (engine == "dask" and scheduler is not None):
        # More processes than cores only cost memory and time (-j 40 on 2 cores: 4x as long, +2.5 GB).
        _say(f"Note: --workers {workers} is more than this machine's {cores} core(s): using {cores}.")
        workers = cores
    # A codebook that is not a regular file (a pipe, `<(...)`) can be read only once: by the run.
    early = engine == "local" and codebook.is_file() and not (cache and (out / CACHE_FOLDER).is_dir())
    if early:
        # A cold run codes every document: its coding processes start (and import) while this one
        # imports pandas, pyarrow and networkx and lists the corpus (about 1-2 s each). A rerun the
        # recode cache may serve imports none of the matcher's modules (a label edit needs none).
        from .pipeline import start_coding_processes

        try:
            start_coding_processes(corpus, load_codebook(codebook), workers=workers,
                                   cache_dir=out / CACHE_FOLDER if cache else None)
        except Exception:  # noqa: BLE001 (a head start only: the run itself reports what is wrong, in its own order)
            pass
    try:
        from .runner import run_coding
        from .runs import RunFolder

        gc.freeze()  # the modules imported so far live as long as the process: no collection need walk them
        with _user_errors(unchanged=RunFolder(out).unchanged_note, coding=True):
            with _progress_bar("Coding documents", enabled=not quiet) as progress:
                report = run_coding(
                    corpus, codebook, out, workers=workers, reviews_path=reviews, use_cache=cache, progress=progress,
                    encoding=encoding, documents_path=documents, csv=csv,
                    network_options=options, engine=engine, scheduler=scheduler,
                )
            if not quiet:
                _say(_summary(report))
                if csv == "auto" and not any(path.name == "segments.csv" for path in report.written.values()):
                    from .runs import CSV_AUTO_MAX_SEGMENTS

                    _say(f"No segments.csv or passages.csv: more than {CSV_AUTO_MAX_SEGMENTS:,} segments, more than a "
                         "person reads through (--csv auto). The segments are in segments.parquet; `coder export xlsx` "
                         "makes a workbook, and --csv always writes the CSV files.")
    finally:
        if early:
            from .pipeline import stop_coding_processes

            stop_coding_processes()  # not taken: the run did not need them (a small corpus, an error)


@contextmanager
def _progress_bar(description: str, *, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr, only when stderr is a terminal (never in pipes, logs or tests)."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


_LISTED_CODES = 60  # a run's summary lists at most this many codes' segments



# Skipped files named one a line up to this many; past it, the rest are counted by reason (run.json
# lists every one), so a scraped corpus of many failed pages does not bury the run's summary.
_SKIPPED_SHOWN = 20


def _skipped_lines(skipped: Sequence[SkippedFile]) -> list[str]:
    """'  skipped PATH: REASON' for the first files, then '  ... and N more: REASON' for each reason."""
    lines = [f"  skipped {display_name(item.path)}: {display_name(item.reason)}" for item in skipped[:_SKIPPED_SHOWN]]
    rest = Counter(item.reason for item in skipped[_SKIPPED_SHOWN:])
    for reason, count in rest.most_common():
        lines.append(f"  ... and {count} more skipped: {display_name(reason)}")
    if rest:
        lines.append("  (run.json lists every skipped file under \"skipped\")")
    return lines


def _one_file_elsewhere_lines(documents: Iterable[str]) -> list[str]:
    """A warning naming documents whose names differ only in capitals (or Unicode form), one file on Windows and
    macOS: there one of them disappears or overwrites the other when the folder is copied, zipped or synced (AH6)."""
    from .names import one_file_on_windows_and_macos

    groups = one_file_on_windows_and_macos(documents)
    if not groups:
        return []
    shown = "; ".join(" and ".join(display_name(name) for name in names) for names in groups[:3])
    more = f"; and {len(groups) - 3} more" if len(groups) > 3 else ""
    return [f"Warning: {len(groups)} set(s) of documents have names that differ only in capitals or Unicode form, "
            f"one file on Windows and macOS: {shown}{more}. Rename one of each before the folder is copied there."]


def _summary(report) -> str:
    from .diff import render_comparison
    from .reviews import detached_count, render_precision

    result = report.result
    if report.tally is not None:  # the segments stay in the run folder
        counts, segment_total, added = report.tally.counted_by_code, report.tally.segments, report.tally.added
    else:
        counted = report.counted_segments
        counts = counted.groupby("code", sort=False).size().to_dict() if len(counted) else {}
        segment_total = len(result.segments)
        added = int(result.segments["source"].eq("manual").sum()) if "source" in result.segments.columns else 0
    counted_total = sum(counts.values())
    lines: list[str] = []
    if report.recovered == "finished":
        lines.append(f"Finished saving the run stopped in {display_name(report.out_dir)} before this one "
                     f"(its files were all written); this run replaced it.")
    elif report.recovered == "discarded":
        lines.append(f"Removed the unfinished files of a run stopped in {display_name(report.out_dir)}; "
                     f"the outputs before it were whole.")
    lines += [imported.render() for imported in report.imported]
    if report.reviews_missed:
        lines.append(f"Warning: {report.reviews_missed}")
    if report.leftover:
        lines.append(f"Warning: {report.leftover}")
    if report.document_variables is not None:
        lines += report.document_variables.warnings()
    lines += [
        f"Read {len(result.corpus.documents)} document(s), skipped {len(result.corpus.skipped)}; "
        f"{result.passage_count} passage(s) ({result.codebook.unit}), {counted_total} coded segment(s) "
        f"in {result.seconds:.2f}s.",
    ]
    lines += _skipped_lines(result.corpus.skipped)
    lines += _one_file_elsewhere_lines(document.path for document in result.corpus.documents)
    extracted = [document for document in result.corpus.documents if document.is_extracted]
    if extracted:
        lines.append(f"Extracted the text of {len(extracted)} document(s) into {report.out_dir / 'texts'} "
                     f"(offsets in segments.csv point into these files).")
        for document in extracted:
            for warning in document.warnings:
                lines.append(f"  Warning: {display_name(document.path)}: {warning}")
    if not len(result.codebook):
        lines.append("Warning: the codebook has no codes.")
    if report.coding_reused:
        including = f", {segment_total - counted_total} rejected among them" if segment_total != counted_total else ""
        lines.append(f"Reused the coding of the last run ({segment_total} segment(s){including}): the documents and "
                     f"every code's keywords and rules are as they were, nothing was matched again.")
    elif "passages_matched" in result.reused and "documents_gone" in result.reused:
        gone = result.reused["documents_gone"]
        lines.append(f"Matched {result.reused['codes_edited']} edited code(s) again in the "
                     f"{result.reused['passages_matched']} passage(s) where an edited term can match, coded "
                     f"{result.reused['documents_new']} new or changed document(s), and took the rest from the last run"
                     + (f"; {gone} of its document(s) are gone or skipped now." if gone else "."))
    elif "passages_matched" in result.reused:
        lines.append(f"Matched {result.reused['codes_edited']} edited code(s) again in the "
                     f"{result.reused['passages_matched']} passage(s) where an edited term can match; the other "
                     f"codes' segments are the last run's (the documents are as they were).")
    elif "documents_gone" in result.reused:
        gone = result.reused["documents_gone"]
        lines.append(f"Coded {result.reused['documents_new']} new or changed document(s) and took the other "
                     f"{result.reused['documents_reused']} from the last run (the codebook matches as it did)"
                     + (f"; {gone} of its document(s) are gone or skipped now." if gone else "."))
    elif result.reused.get("documents_reused"):
        lines.append(f"Reused {result.reused['documents_reused']} document(s) from the cache; "
                     f"matched {result.reused['codes_matched']} (document, code) pair(s) again.")
    codes = list(result.codebook)
    if len(codes) <= _LISTED_CODES:  # the codebook's tree
        lines.append("Segments per code:")
        shown = [("  " * (code.depth - 1) + display_name(code.label), code.id) for code in codes]
    else:  # thousands of lines would bury the rest of the summary
        lines.append(f"Segments per code, the {_LISTED_CODES} with most of {len(codes):,} "
                     f"(code_counts.csv lists every code):")
        codes.sort(key=lambda code: -counts.get(code.id, 0))  # stable: ties in codebook order
        shown = [(display_name(code.label), code.id) for code in codes[:_LISTED_CODES]]
    width = max((len(name) for name, _ in shown), default=10)
    for name, code_id in shown:
        lines.append(f"  {name:<{width}}  {counts.get(code_id, 0):>6}")
    if report.reviews_path is not None:
        rejected = segment_total - counted_total
        lines.append(f"Reviews from {report.reviews_path}: {rejected} rejected segment(s) left out of counts and network"
                     + (f"; {added} passage(s) coded by hand counted." if added else "."))
        if report.carried:
            lines.append(f"  {report.carried} decision(s) followed their renamed code.")
        if report.followed:
            lines.append(f"  {report.followed} decision(s) followed their passage into a renamed document.")
        if report.precision is not None and len(report.precision):
            lines.append(render_precision(report.precision))
        if report.orphans is not None and len(report.orphans):
            lines.append(f"  {detached_count(report.orphans['decision'].ne('(note)'))} detached: this run has no segment for them; "
                         f"they are kept in {report.reviews_path}. See `coder review status`.")
    if report.comparison is not None:
        lines.append(render_comparison(report.comparison, most_codes=_LISTED_CODES))
    elif report.not_compared:
        lines.append(f"Warning: not compared with the previous run (no changes.csv): {report.not_compared}")
    if report.network:
        lines.append(f"Network: {report.network['code_count']} code(s), {report.network['edge_count']} link(s).")
        if report.network.get("matrix_left_out"):
            lines.append(report.network["matrix_left_out"])
    names = ", ".join(path.name for path in report.written.values())
    network = ("cooccurrence.csv, " + ("" if (report.network or {}).get("matrix_left_out") else "cooccurrence_matrix.csv, ")
               + "codes.csv, report.html, network.html, network.graphml, network.gexf")
    lines.append(f"Results in {display_name(report.out_dir)}/: {names}, {network}")
    return "\n".join(lines)


@app.command()
@_network_options
def network(
    segments: Annotated[Path, typer.Argument(help="Coded segments CSV from `coder run` (rows reviewed as rejected are left out).")] = Path("outputs/segments.csv"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the network files (default: the folder of SEGMENTS; with --where, name one).")] = None,
    codebook: Annotated[Path | None, typer.Option("--codebook", "-c", help="The codebook (default: the one run.json names, else its copy in run.json).")] = None,
    options: NetworkOptions = NetworkOptions(),
    reviews: Annotated[Path | None, typer.Option("--reviews", help="The review file that takes decisions typed into SEGMENTS (default: the one the run used).")] = None,
    documents: DocumentsOption = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="Only documents whose variable has this value, as VARIABLE=VALUE (region=Yangtze, year=2020); several --where combine with AND.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Rebuild the concept network from coded segments, without recoding.

    Writes cooccurrence.csv, cooccurrence_matrix.csv, codes.csv, report.html (network.html opens it),
    network.graphml, network.gexf, code_counts.csv and code_counts_long.csv; with document variables,
    code_counts_by_group.csv. Rows reviewed as rejected are left out of every one of them.

    Example: coder network outputs/segments.csv --level 1 --measure association --min-count 2

    Example: coder network outputs/segments.csv --where region=Yangtze --out outputs/yangtze
    """
    from .reviews import applied_as_the_next_run, read_reviews, refuse_reviews_in_corpus
    from .runner import import_typed_decisions, write_count_tables, write_network_outputs
    from .runs import NETWORK_OUTPUT_FILES, RunFolder
    from .segments import check_review_cells, drop_rejected

    with _user_errors():
        run = RunFolder.of_segments(segments)
        out = _network_folder(run, out, where)
        if run.has_record():  # the next run would code the report as a document
            _refuse_replacing_inputs(out / "report.html", {"the run's corpus folder": run.corpus_path()}, run_files=False)
        RunFolder(out).refuse_others_files(NETWORK_OUTPUT_FILES)
        review_file = reviews if reviews is not None else _run_reviews_path(run)
        if run.has_record() and review_file is not None:  # what was typed goes there
            refuse_reviews_in_corpus(review_file, run.corpus_path())
        loaded = run.codebook(codebook)
        # Keep what was typed, as `coder run` does: in segments.csv, or the workbook (a run with --csv never has only it).
        if review_file is not None and (run.segments_path.is_file() or run.workbook_path.is_file()):
            codes = [code.id for code in loaded] if loaded is not None else None
            for imported in import_typed_decisions(run, review_file, codes=codes):
                _say(imported.render())
        variables = _run_document_variables(run, documents, where)
        frame = run.read_segments()
        if review_file is None:  # the review cells are read as they are
            check_review_cells(run.segments_path, frame)
        elif review_file.is_file():  # counted by the review file that took what was typed, as the next run counts
            frame = applied_as_the_next_run(frame, read_reviews(review_file, written=run.read_written_reviews),
                                            run.read_written_reviews())
        _refuse_unknown_codes(frame, loaded, run)
        if loaded is not None:
            refuse_deeper_level(loaded, options.level)
        passages = run.passages_by_document() or {str(document): 0 for document in dict.fromkeys(frame["document"])}
        total = run.passage_total()
        variables = variables.matched(passages) if variables is not None else None
        warnings = variables.warnings() if variables is not None else []
        if where:
            from .groups import select_documents

            chosen = select_documents(variables, where, passages)
            frame = frame[frame["document"].astype(str).isin(chosen)]
            passages = {document: passages[document] for document in chosen}
            total = sum(passages.values()) or None
        written = write_network_outputs(frame, loaded, out, options=options, total_passages=total,
                                         documents=variables.table if variables is not None else None,
                                         passages_by_document=passages if variables is not None else None)
        # The count tables too, as the next run will write them: the folder's files agree (probe W4).
        counts = write_count_tables(drop_rejected(frame), loaded, RunFolder(out), variables=variables,
                                    passages_by_document=passages)
        if not quiet:
            for line in warnings:
                _say(line)
            if where:
                _say(f"{len(passages)} document(s) where {' and '.join(where)}.")
            _say(f"{written['code_count']} code(s), {written['edge_count']} link(s) drawn of "
                 f"{written['pair_count']} co-occurring pair(s).")
            if written.get("matrix_left_out"):
                _say(written["matrix_left_out"])
            _say(f"Results in {out}/: cooccurrence.csv, {'cooccurrence_matrix.csv, ' if 'matrix' in written else ''}"
                 f"codes.csv, report.html, network.html, network.graphml, network.gexf, "
                 + ", ".join(path.name for path in counts.values()))


def _network_folder(run, out: Path | None, where: list[str] | None) -> Path:
    """Where `coder network` writes: the run's own folder unless told otherwise. Never another run's
    folder, whose code_counts.csv and segments would then describe other passages than its network;
    nor, for some documents (--where), the run's own, whose other files describe all of them."""
    from .errors import OutputError

    own = out is None or (out.exists() and run.folder.exists() and os.path.samefile(out, run.folder))
    if where and own:
        raise OutputError(f"--where draws the network of some documents: name a folder for it with --out (for example "
                          f"--out {display_name(run.folder / 'subset')}), as the files of {display_name(run.folder)} "
                          f"describe all of them.")
    if out is None:
        return run.folder
    kept = run.kept_place_holding(out)  # the next run replaces or deletes what is there (probe N11)
    if kept is not None:
        raise OutputError(f"{display_name(out)}: is {display_name(kept[0])} or inside it, a folder coder keeps for the "
                          f"run and replaces. Choose another --out folder.")
    if not own and (out / "run.json").is_file():
        raise OutputError(f"{display_name(out)}: holds another run (its run.json), whose files would then disagree with "
                          f"its network. Choose another --out folder, or leave --out out to write beside "
                          f"{display_name(run.segments_path)}.")
    return out


def _refuse_unknown_codes(frame, codebook, run) -> None:
    """Stop when segments name codes the codebook lacks (an edited segments.csv, another codebook)."""
    from .errors import OutputError

    if codebook is None:  # no codebook (a segments file without its run): the codes are what it names
        return
    known = {code.id for code in codebook}
    unknown = [code for code in dict.fromkeys(frame["code"].astype(str)) if code not in known]
    if unknown:
        row = int((frame["code"].astype(str) == unknown[0]).to_numpy().argmax()) + 2
        shown = ", ".join(f"'{display_name(code)}'" for code in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise OutputError(f"{display_name(run.segments_path)}: {len(unknown)} code(s) the codebook does not have "
                          f"({shown}; first on row {row}). Pass the codebook of the run with --codebook, or "
                          f"correct the code column.")


def _run_document_variables(run, documents: Path | None, where: list[str] | None):
    """The document variables for `coder network`: --documents, else the documents.csv the run used."""
    from .groups import DocumentsError, read_document_variables

    if documents is None and run.has_record() and run.record().document_variables:
        recorded = run.named_path(str(run.record().document_variables.get("path", "")))
        documents = recorded if recorded.is_file() else None
    if documents is None:
        if where:
            raise DocumentsError(f"--where {where[0]}: no document variables. Pass --documents documents.csv "
                                 f"(a `document` column and one column per variable).")
        return None
    return read_document_variables(documents)


def _run_reviews_path(run) -> Path | None:
    """The review file a run applied (run.json says), else the one beside its codebook; None without run.json."""
    from .reviews import default_reviews_path

    if not run.has_record():
        return None
    record = run.record()
    if record.reviews and record.reviews.get("path"):
        return run.named_path(record.reviews["path"])
    if record.review_file:  # --reviews, before a decision was in it
        return run.named_path(record.review_file)
    return default_reviews_path(run.named_path(record.codebook)) if record.codebook else None


# --- the research loop: diff, review, kwic, lint ------------------------------------------------

review_app = _command_group(
    "Keep reviewers' accept/reject decisions and see how precise the codebook is.\n\n"
    "Example: coder review import outputs/segments.csv",
)
app.add_typer(review_app, name="review")


@app.command()
def diff(
    old_run: Annotated[Path, typer.Argument(help="The earlier run: its --out folder, its run.json or its segments.csv.")],
    new_run: Annotated[Path, typer.Argument(help="The later run: its --out folder, its run.json or its segments.csv.")],
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the changes table (changes.csv) here.")] = None,
    force: ForceOption = False,
) -> None:
    """Show what changed between two runs: codebook edits and segments added/removed per code.

    Example: coder diff outputs/.previous outputs --csv changes.csv
    """
    from .diff import compare_runs, render_comparison, write_changes_csv

    with _user_errors():
        if csv_path is not None:
            _refuse_replacing_inputs(csv_path, {**_run_inputs(old_run), **_run_inputs(new_run)}, option="--csv")
            refuse_overwrite(csv_path, force=force, option="--csv")
        comparison = compare_runs(old_run, new_run)
        _show(render_comparison(comparison, old=display_name(old_run)))
        if csv_path is not None:
            write_changes_csv(comparison, csv_path)
            _say(f"Changes written to {display_name(csv_path)}")


def _reviews_path(reviews: Path | None, codebook: Path) -> Path:
    from .reviews import default_reviews_path

    return reviews if reviews is not None else default_reviews_path(codebook)


def _run_review_file(reviews: Path | None, codebook: Path | None, run) -> Path:
    """The review file of a run's decisions: --reviews; else the one beside --codebook; else the one
    the run used, not one beside some codebook.yaml in the current folder; else that one."""
    return reviews or (_reviews_path(None, codebook) if codebook is not None else None) \
        or (_run_reviews_path(run) if run is not None else None) or _reviews_path(None, Path("codebook.yaml"))


def _same_file(first: Path | None, second: Path) -> bool:
    """Do two paths name one file (which need not exist yet)?"""
    try:
        return first is not None and first.resolve() == second.resolve()
    except OSError:
        return False


def _run_code_ids(codebook: Path | None, run) -> list[str] | None:
    """The codes decisions are checked against: --codebook's; else the run's, as it ran (the copy in
    run.json, which its segments name) and as the codebook file it names has them now; else
    ./codebook.yaml's."""
    if codebook is None and run is not None and run.has_record():
        current = run.codebook()
        return list(dict.fromkeys([*(code["id"] for code in run.record().codebook_codes),
                                   *(code.id for code in current or ())]))
    return _code_ids(codebook or Path("codebook.yaml"), run)


def _passage_locator(run):
    """A lazy PassageLocator over the corpus of a run folder (None without run.json)."""
    from .reviews import PassageLocator

    def locate():
        if not run.has_record():
            return None
        return PassageLocator(run.documents(), unit=run.record().unit or "paragraph", recorded_texts=run.recorded_texts)

    return locate


def _code_ids(codebook: Path | None, run=None) -> list[str] | None:
    if codebook is not None and codebook.is_file():
        return [code.id for code in load_codebook(codebook)]
    if run is not None and run.has_record():
        return [code["id"] for code in run.record().codebook_codes]
    return None


@review_app.command("import")
def review_import(
    file: Annotated[Path, typer.Argument(help="segments.csv (or .xlsx) with the review and note columns filled in.")],
    reviews: RunReviewsOption = None,
    codebook: RunCodebookOption = None,
    run_folder: Annotated[Path | None, typer.Option("--run", help="The run whose passages `add` rows name (default: FILE's folder if it holds run.json, else outputs).")] = None,
) -> None:
    """Merge the decisions typed into a segments file into the review file.

    review: accept or reject a segment (y/n, 1/0, ✓/✗ work too); add on a row with document,
    passage (or start and end) and code codes a passage the tool missed. The spreadsheet wins
    over the review file for the rows it names; a blank cell never removes a decision.

    Example: coder review import outputs/segments.csv --reviews reviews.csv
    """
    from .reviews import import_reviews, refuse_reviews_in_corpus
    from .runs import RunFolder

    with _user_errors():
        run = RunFolder(run_folder) if run_folder is not None else RunFolder.of_segments(file)
        if run_folder is None and not run.has_record() and RunFolder("outputs").has_record():
            run = RunFolder("outputs")
        review_file = _run_review_file(reviews, codebook, run)
        if run.has_record():
            refuse_reviews_in_corpus(review_file, run.corpus_path())
        report = import_reviews(file, review_file, locate=_passage_locator(run),
                                codes=_run_code_ids(codebook, run), passages=run.read_passages_if_any)
        _say(report.render())
        if report.conflicts or report.invalid:
            _say(f"{len(report.conflicts)} conflicting and {len(report.invalid)} unreadable rows were not applied.")


@review_app.command("status")
def review_status_command(
    reviews: RunReviewsOption = None,
    codebook: RunCodebookOption = None,
    segments: Annotated[Path, typer.Option("--segments", help="segments.csv of the latest run, for precision and detached decisions.")] = Path("outputs/segments.csv"),
) -> None:
    """Count the decisions, list the detached ones (no segment in the last run) and why, precision and recall per code.

    Example: coder review status --segments outputs/segments.csv
    """
    from .reviews import review_status
    from .runs import RunFolder

    with _user_errors():
        run = RunFolder.of_segments(segments)
        frame = run.read_segments() if run.has_segments() else None
        documents = [item["path"] for item in run.record().documents] if run.has_record() else None
        _show(review_status(_run_review_file(reviews, codebook, run), frame, codes=_run_code_ids(codebook, run),
                                 documents=documents, written=run.read_written_reviews() if frame is not None else None,
                                 passages=run.read_passages_if_any).render())
        if frame is None:
            _say(f"No {segments}: run `coder run` (or pass --segments) to see precision per code.")


@review_app.command("reattach")
def review_reattach(
    old_code: Annotated[str, typer.Argument(help="The code id the detached decisions name.")],
    new_code: Annotated[str, typer.Argument(help="The code id of the codebook they belong to now.")],
    reviews: RunReviewsOption = None,
    codebook: RunCodebookOption = None,
    segments: Annotated[Path, typer.Option("--segments", help="segments.csv of the latest run: decisions still on its segments of OLD_CODE stay.")] = Path("outputs/segments.csv"),
) -> None:
    """Move the decisions of code OLD_CODE to NEW_CODE (after a rename `coder diff` did not recognise,
    or a code split in two). When OLD_CODE is still in the codebook, only its detached decisions move.

    Example: coder review reattach meeting joint_meeting
    """
    from .reviews import reattach
    from .runs import RunFolder

    with _user_errors():
        # Without a run (none yet, or the default path is not one) every decision of OLD_CODE moves.
        run = RunFolder.of_segments(segments) if segments.exists() or (segments.parent / "run.json").exists() else None
        path = _run_review_file(reviews, codebook, run)
        if run is not None and not _same_file(_run_reviews_path(run), path):
            run = None  # a run of another review file (./outputs of another project): its segments tell nothing
        index = run.read_segment_index(columns=("segment_id", "fingerprint")) if run and run.has_segments() else None
        done = reattach(path, old_code, new_code, codes=_run_code_ids(codebook, run),
                        attached=set(index["segment_id"]) if index is not None else None,
                        fingerprints=dict(zip(index["segment_id"], index["fingerprint"])) if index is not None else None)
        _say(done.render(str(path), old_code, new_code))


_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]|^\.+')


def _file_name_of(name: str, suffix: str) -> str:
    """A file name made from `name` (a code id): what no file system takes in a name (\\ / : * ? " < > |,
    control characters, leading dots) as "_", so a code id like "x\\..\\..\\data" names a file in the run
    folder on Windows too, never a path out of it (probe N8); Windows' reserved names get a "_" after them."""
    from .files import DEVICE_NAMES, fitting_name

    safe = _NOT_IN_FILE_NAMES.sub("_", name)
    if safe.split(".")[0].upper() in DEVICE_NAMES:
        safe += "_"
    return fitting_name(safe, suffix)


def _suggestions_file(run: Path, code: str) -> str:
    """suggestions_CODE.csv, with a hash of the id when another code of the run's codebook would share
    that file: ids that differ only in case (`Barrier`, `barrier`: one file on macOS and Windows) or in
    characters no file name takes (`a:b`, `a_b`) (probe R12)."""
    from .runs import RunFolder

    name = _file_name_of(f"suggestions_{code}", ".csv")
    codebook = RunFolder(run).codebook()
    others = [other for other in (codebook.codes if codebook is not None else ()) if other.id != code]
    if any(_file_name_of(f"suggestions_{other.id}", ".csv").casefold() == name.casefold() for other in others):
        digest = hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        name = _file_name_of(f"suggestions_{code}~{digest}", ".csv")
    return name


def _refuse_replacing_inputs(target: Path, inputs: dict[str, Path | None], *, option: str = "--out",
                             run_files: bool = True) -> None:
    """Refuse, even with --force, to write over a file the command reads (the hand coding, the
    codebook, a run's record and tables), or into the corpus folder (the next run would code it);
    with `run_files`, over what a run writes in its folder (`_refuse_run_files`). Called before
    refuse_overwrite, whose advice is to pass --force, which this then refused (probe AJ4)."""
    for what, path in inputs.items():
        if path is None or not path.exists():
            continue
        if path.is_dir():
            if lies_in(target, path):
                raise CoderError(f"{display_name(target)}: is inside {what}, whose every file a run codes. "
                                 f"Choose a place outside it with {option}.")
        elif target.exists() and os.path.samefile(target, path):
            raise CoderError(f"{display_name(target)} is {what}: writing the results there would replace it. "
                             f"Choose another place with {option} (--force never writes over it).")
    if run_files:
        _refuse_run_files(target, option=option)


def _refuse_run_files(target: Path, *, option: str) -> None:
    """Refuse, even with --force, a file of a name a run writes in a run folder (code_counts.csv,
    report.html, ...: the next run writes it again, and until then the folder's files disagree), and
    a place the run keeps for itself (texts/, .previous/, its caches), whatever the run the command reads."""
    from .runs import RUN_FILE, RUN_FILES, RunFolder

    own = {name.casefold() for name in (RUN_FILE, *RUN_FILES)}  # one file on a disk that ignores case
    if (target.parent / RUN_FILE).is_file() and target.name.casefold() in own:
        raise CoderError(f"{display_name(target)}: is {target.name}, a file the run in {display_name(target.parent)} "
                         f"writes: writing the results there would replace the run's own. Choose another name "
                         f"with {option} (--force never writes over it).")
    for folder in (*target.parents, *(() if target.is_absolute() else Path.cwd().parents)):
        kept = RunFolder(folder).kept_place_holding(target) if (folder / RUN_FILE).is_file() else None
        if kept is not None:
            raise CoderError(f"{display_name(target)}: lies inside {display_name(kept[0])}, a folder coder keeps for "
                             f"the run and replaces. Choose a place outside it with {option}.")


def _run_inputs(folder: Path) -> dict[str, Path | None]:
    """The files of a run folder (or of the run a run.json or segments file belongs to) that commands read."""
    from .runs import RUN_FILE, RunFolder

    run = RunFolder(folder.parent if folder.is_file() or folder.name == RUN_FILE else folder)
    inputs: dict[str, Path | None] = {
        f"a file of the run the command reads ({display_name(path)})": path
        for path in (run.run_path, run.segments_path, run.segments_parquet_path, run.passages_path, run.passages_parquet_path)}
    # What the user wrote by hand that the run names: its codebook and review file (probe AB5).
    try:
        record = run.record() if run.has_record() else None
        # Named with their paths: diff merges two runs' inputs, and one name kept only the second run's (probe AF3).
        if record is not None and record.codebook:
            codebook = run.named_path(record.codebook)
            inputs[f"the run's codebook ({display_name(codebook)})"] = codebook
        reviews = _run_reviews_path(run)
        if reviews is not None:
            inputs[f"the run's review file ({display_name(reviews)})"] = reviews
        if record is not None and record.corpus:  # a .txt written there is coded by the next run, as kwic --csv refuses
            corpus = run.corpus_path()
            inputs[f"the run's corpus folder ({display_name(corpus)})"] = corpus
    except CoderError:
        pass  # an unreadable run.json: the command reading it says so
    return inputs


def _load_passages(corpus: Path, codebook: Codebook | None) -> list:
    """The passages of the corpus that a run with `codebook` codes (of its `code_kinds`, in its unit)."""
    from .corpus import read_corpus
    from .models import CODED_KINDS
    from .passages import split_passages

    unit = codebook.unit if codebook is not None else "paragraph"
    kinds = set(codebook.code_kinds if codebook is not None else CODED_KINDS)
    documents = read_corpus(corpus).documents
    return [passage for document in documents for passage in split_passages(document, unit=unit) if passage.kind in kinds]


@app.command()
def kwic(
    query: Annotated[str, typer.Argument(help="A keyword (same rules as the codebook, * wildcard), a /regex/, or a code id.")],
    width: Annotated[int, typer.Option("--width", "-w", min=0, max=10_000, help="Characters of context on each side (at most 10,000).")] = 40,
    corpus: Annotated[Path, typer.Option("--corpus", help="The documents to search.")] = Path("seeds"),
    codebook: Annotated[Path | None, typer.Option("--codebook", "-c", help="The codebook, for code ids, the passage unit and the kinds coded (default: codebook.yaml, when there is one).")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the lines as CSV here.")] = None,
    force: ForceOption = False,
) -> None:
    """Keyword-in-context: every hit of a keyword, pattern or code, with the words around it.

    Example: coder kwic "joint meeting" --width 30 --csv kwic.csv
    """
    from rich.cells import cell_len
    from rich.console import Console
    from rich.text import Text

    from .kwic import describe_query, format_kwic_line, write_kwic_csv
    from .kwic import kwic as find_kwic
    from .matching import compile_codebook

    with _user_errors():
        if csv_path is not None:
            _refuse_replacing_inputs(csv_path, {"the codebook": codebook or Path("codebook.yaml"), "the corpus folder": corpus},
                                     option="--csv")
            refuse_overwrite(csv_path, force=force, option="--csv")
        # Without a codebook a keyword or /regex/ still works; only code ids need one. One named with
        # --codebook must be there.
        if codebook is None and Path("codebook.yaml").is_file():
            codebook = Path("codebook.yaml")
        loaded = load_codebook(codebook) if codebook is not None else None
        compiled = compile_codebook(loaded) if loaded is not None else None
        passages = _load_passages(corpus, loaded)
        lines = find_kwic(passages, query, compiled=compiled, width=width)
        console = Console(highlight=False, soft_wrap=True)
        # Aligned on the longest left context shown, not on --width: 10,000 spaces led every line.
        align = min(width, max((cell_len(line.left) for line in lines), default=0))
        for line in lines:
            left, match, right = format_kwic_line(line, width=width, align=align)
            console.print(Text.assemble(left, (match, "bold red"), right, (f"  {line.document}:{line.passage}", "dim")))
        if csv_path is not None:
            write_kwic_csv(lines, csv_path)
        _say(f"{len(lines)} hit(s) in {len({line.document for line in lines})} document(s)."
             + (f" Lines written to {display_name(csv_path)}" if csv_path is not None else ""))
        _say(describe_query(query, loaded))


@app.command()
def lint(
    corpus: Annotated[Path, typer.Option("--corpus", help="The documents to check the keywords against.")] = Path("seeds"),
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="The codebook to check.")] = Path("codebook.yaml"),
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the per-keyword counts as CSV here.")] = None,
    force: ForceOption = False,
    no_corpus: Annotated[bool, typer.Option("--no-corpus", help="Check the codebook alone, without documents.")] = False,
) -> None:
    """Check the codebook against the corpus: dead, shared, shadowed and near-duplicate keywords.

    Example: coder lint --corpus seeds --codebook codebook.yaml
    """
    from .lint import lint_codebook

    with _user_errors():
        if csv_path is not None:
            _refuse_replacing_inputs(csv_path, {"the codebook": codebook, "the corpus folder": None if no_corpus else corpus},
                                     option="--csv")
            refuse_overwrite(csv_path, force=force, option="--csv")
        loaded = load_codebook(codebook)
        report = lint_codebook(loaded, [] if no_corpus else _load_passages(corpus, loaded))
        _show(report.render())
        if csv_path is not None:
            from .files import write_csv

            write_csv(report.keywords, csv_path)
            _say(f"Keyword counts written to {display_name(csv_path)}")


@app.command()
def suggest(
    code: Annotated[str, typer.Argument(help="The id of the code to find missing terms and passages for.")],
    run: Annotated[Path, typer.Option("--run", help="The folder `coder run` wrote (segments.csv, run.json).")] = Path("outputs"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The CSV to write (default: RUN/suggestions_CODE.csv). An existing file is kept unless --force.")] = None,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="Suggestions of each kind (terms, collocates, passages).")] = 20,
    min_count: Annotated[int, typer.Option("--min-count", min=1, help="Fewest occurrences in the code's passages (or keyword windows) for a term or collocate.")] = 3,
    window: Annotated[int, typer.Option("--window", min=1, help="Collocates: words on each side of a keyword hit.")] = 5,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file named with --out if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the table; only errors.")] = False,
) -> None:
    """Suggest what the codebook misses for CODE: key terms, collocates of its keywords, similar uncoded passages.

    Writes one CSV row per suggestion (kind, candidate, score, effect, count_in, count_out, document,
    passage, example) and prints a short table.

    Example: coder suggest joint_meeting --run outputs --top 10 --out joint_meeting_suggestions.csv
    """
    from .runs import RunFolder
    from .suggest import suggest_for_run, write_suggestions_csv

    with _user_errors():
        report = suggest_for_run(run, code, top=top, min_count=min_count, window=window)
        folder = RunFolder.at(run).folder if run.exists() else run  # --run may name its segments file or run.json
        target = out if out is not None else folder / _suggestions_file(folder, code)
        # The run's own files, its codebook and review file, even with --force (probe AB5).
        _refuse_replacing_inputs(target, _run_inputs(folder))
        write_suggestions_csv(report, target, force=out is None or force)
        if not quiet:
            _show(report.render())
            _say(f"{len(report.suggestions)} suggestion(s) written to {target}")


# --- working with other tools: REFI-QDA export/import, dictionaries, agreement -------------------

# Commands that read a run name it the same way; run.json beside segments.csv supplies the rest.
RunSegments = Annotated[Path, typer.Option("--segments", help="segments.csv of a run (run.json beside it).")]


def _beside_run(segments: Path, name: str) -> Path:
    """`name` in the folder of the run `segments` belongs to (an export's default: a workbook written to
    outputs/ for another run's segments was read by outputs/'s next run, never by its own)."""
    from .runs import PREVIOUS_FOLDER, RunFolder

    folder = RunFolder.of_segments(segments).folder
    if folder.name == PREVIOUS_FOLDER:  # the next run replaces that folder, and a file filled in there with it
        raise CoderError(f"{display_name(folder)}: the next `coder run` replaces this folder, and would delete {name} "
                         f"written into it. Choose where to write it with --out.")
    return folder / name

export_app = _command_group(
    "Export coding for NVivo, ATLAS.ti, MAXQDA and QualCoder (REFI-QDA).\n\n"
    "Example: coder export qdpx --out outputs/project.qdpx",
)
import_app = _command_group(
    "Turn codebooks and dictionaries from other tools into codebook.yaml.\n\n"
    "Example: coder import qdc nvivo_codebook.qdc --out codebook.yaml",
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


@export_app.command("qdpx")
def export_qdpx(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The project file to write (default: project.qdpx in the run's folder).", show_default=False)] = None,
    segments: RunSegments = Path("outputs/segments.csv"),
    name: Annotated[str | None, typer.Option("--name", help="Project name shown in the other tool.")] = None,
    force: ForceOption = False,
) -> None:
    """Write a REFI-QDA project (.qdpx): documents, codebook and coded segments, rejected ones left out.

    Example: coder export qdpx --segments outputs/segments.csv --out outputs/project.qdpx
    """
    from .refi_qda import export_run_qdpx

    with _user_errors():
        out = out or _beside_run(segments, "project.qdpx")
        _refuse_replacing_inputs(out, _run_inputs(segments))
        refuse_overwrite(out, force=force)
        result = export_run_qdpx(segments, path=out, project_name=name)
        _say(
            f"Wrote {display_name(result.path)}: {result.documents} document(s), {result.codes} code(s), "
            f"{result.selections} coded segment(s) ({result.rejected} rejected left out)."
        )


@export_app.command("qdc")
def export_qdc(
    out: Annotated[Path, typer.Option("--out", "-o", help="The codebook file to write.")] = Path("outputs/codebook.qdc"),
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="The YAML codebook.")] = Path("codebook.yaml"),
    force: ForceOption = False,
) -> None:
    """Write the codebook alone as a REFI-QDA codebook (.qdc).

    Example: coder export qdc --codebook codebook.yaml --out codebook.qdc
    """
    from .refi_qda import build_qdc, shared_sibling_labels, write_bytes_atomically

    with _user_errors():
        _refuse_replacing_inputs(out, {"the codebook": codebook})
        refuse_overwrite(out, force=force)
        loaded = load_codebook(codebook)
        write_bytes_atomically(out, build_qdc(loaded))
        _say(f"Wrote {display_name(out)}: {len(loaded)} code(s).")
        for line in shared_sibling_labels(loaded):
            _say(f"Warning: {line}")


@export_app.command("xlsx")
def export_xlsx(
    segments: RunSegments = Path("outputs/segments.csv"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The workbook to write (default: segments.xlsx in the run's folder, where the next `coder run` of it reads the decisions typed in).", show_default=False)] = None,
    reviews: Annotated[Path | None, typer.Option("--reviews", help="Fill review/note from this review file (default: reviews.csv beside --codebook when given, else the one the run used, else reviews.csv beside codebook.yaml).")] = None,
    codebook: Annotated[Path | None, typer.Option("--codebook", "-c", help="The codebook; the review file lives beside it (default: the run's).")] = None,
    force: ForceOption = False,
) -> None:
    """Write the segments as an Excel workbook for reviewers: wrapped text, matched words in bold red, filters.

    Example: coder export xlsx --segments outputs/segments.csv --out outputs/segments.xlsx
    """
    import secrets

    from .files import same_place
    from .reviews import apply_reviews, import_pending, read_reviews, review_file_lock
    from .runs import RunFolder
    from .xlsx import write_segments_xlsx

    with _user_errors():
        out = out or _beside_run(segments, "segments.xlsx")
        if out.suffix.lower() != ".xlsx":  # a workbook under another name is refused when read back
            raise CoderError(f"{display_name(out)}: the workbook's name must end in .xlsx, as Excel and `coder review "
                              f"import` read it by. Choose a name like segments.xlsx with --out.")
        _refuse_replacing_inputs(out, _run_inputs(segments))
        refuse_overwrite(out, force=force)
        run = RunFolder.of_segments(segments)
        frame = run.read_segments()
        # A workbook of a run goes back to the review file that run used, not to one beside some
        # codebook.yaml in the current folder.
        review_file = _run_review_file(reviews, codebook, run)
        if out.is_file():  # a workbook a reviewer may have filled in: keep what was typed there first
            record = run.read_workbook_record(out)  # its cells, and the entries its rows typed by place became
            with review_file_lock(review_file):
                pending = import_pending(out, review_file, written=record[1] if record is not None else None,
                                         entries=record[2] if record is not None else None,
                                         locate=_passage_locator(run), codes=_code_ids(codebook, run))
            if pending is not None:
                _say(pending.render())
        if reviews is not None or review_file.is_file():
            frame, _ = apply_reviews(frame, read_reviews(review_file))
        identifier = secrets.token_hex(16)
        write_segments_xlsx(frame, out, identifier=identifier)
        if same_place(out, run.workbook_path):  # the workbook the folder's next run reads: what it showed noted
            run.remember_workbook(identifier, frame)
        _say(f"Wrote {display_name(out)}: {len(frame)} segment(s). Fill `review` (accept/reject, or add on a new row) and "
             f"import it with `coder review import {command_argument(out)}`.")


def _add_import_command(name: str, module: str, reader: str, *, file_help: str, doc: str) -> None:
    """Register `coder import NAME FILE`: read FILE with `coder.MODULE.READER`, write the codebook YAML.

    Both importers take the same options and report the same way, so they are declared once.
    """

    def command(
        file: Path,
        out: Annotated[Path, typer.Option("--out", "-o", help="The codebook YAML to write.")] = Path("codebook.yaml"),
        force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
    ) -> None:
        from importlib import import_module

        from .codebook import write_codebook

        with _user_errors():
            _refuse_replacing_inputs(out, {f"the file to import ({display_name(file)})": file})
            codebook, report = getattr(import_module(f".{module}", __package__), reader)(file)
            write_codebook(codebook, out, force=force)
            _say(f"Wrote {out}: {len(codebook)} code(s) from {file}.")
            if report:
                _say(f"Adjusted ({len(report)}):")
                for line in report:
                    _say(f"  - {line}")

    # Set as an object: a string annotation (this module uses `from __future__ import annotations`)
    # is evaluated in the module's globals, where `file_help` does not exist.
    command.__annotations__["file"] = Annotated[Path, typer.Argument(help=file_help)]
    command.__name__ = f"import_{name}"
    command.__doc__ = doc
    import_app.command(name)(command)


_add_import_command(
    "qdc", "refi_qda", "read_qdc", file_help="A REFI-QDA codebook (.qdc) or project (.qdpx).",
    doc="""Make a codebook.yaml skeleton (codes, hierarchy, definitions, colours; no keywords) from a .qdc file.

    Example: coder import qdc atlas_codebook.qdc --out codebook.yaml
    """,
)
_add_import_command(
    "dictionary", "dictionaries", "read_dictionary",
    file_help="A quanteda .yml/.yaml, LIWC .dic or WordStat .cat dictionary.",
    doc="""Make a codebook.yaml from a dictionary: categories become codes, entries keywords (or regexes).

    Example: coder import dictionary moral_foundations.dic --out codebook.yaml
    """,
)


@app.command()
def sample(
    size: Annotated[int, typer.Argument(min=1, help="How many passages to draw.")],
    segments: Annotated[Path, typer.Option("--segments", help="segments.csv of the run to sample (run.json beside it).")] = Path("outputs/segments.csv"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="The sheet to write (default: sample.csv beside segments.csv).")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=_MAX_SEED, help="Seed of the random draw: the same seed draws the same sample.")] = 42,
    by_code: Annotated[bool, typer.Option("--by-code", help="Share the coded half evenly among the codes.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT if it exists.")] = False,
) -> None:
    """Draw a random sample of passages to code by hand: half coded by the tool, half not.

    Fill the `code` column (several codes separated by ";", blank for none), then score the
    tool on exactly those passages with `coder agree SHEET`.

    Example: coder sample 60 --segments outputs/segments.csv --by-code --out sample.csv
    """
    from .errors import OutputError
    from .files import write_csv
    from .models import CODED_KINDS
    from .runs import RunFolder
    from .sampling import draw_sample

    with _user_errors():
        run = RunFolder.of_segments(segments)
        target = out if out is not None else run.folder / "sample.csv"
        # The run's own files (a decision typed into segments.csv, not yet imported) and the review file, even with --force.
        _refuse_replacing_inputs(target, {**_run_inputs(run.folder), "the review file": _run_reviews_path(run)})
        if target.exists() and not force:
            raise OutputError(f"{target}: already exists (a sample someone may be coding). Pass --force to replace it, or another --out.")
        refuse_overwrite(target, force=True, option="--out")  # a folder, a device or a pipe, even with --force
        passages = run.read_passages()
        # Only the kinds the run codes: a funding line or a reference hand-coded is a miss the tool cannot but make.
        kinds = run.record().code_kinds or CODED_KINDS
        passages = passages[passages["kind"].isin(list(kinds))].reset_index(drop=True)
        drawn = draw_sample(passages, run.read_segments(), size, seed=seed, by_code=by_code)
        write_csv(drawn.sheet, target)
        _say(drawn.render())
        _say(f"Wrote {target}. Fill `code` for each passage, then: coder agree {command_argument(target)} --segments {command_argument(segments)}")


@app.command()
def agree(
    gold: Annotated[Path, typer.Argument(help="Hand coding: CSV with document,passage,code or document,start,end,code (a filled `coder sample` sheet).")],
    segments: Annotated[Path, typer.Option("--segments", help="segments.csv of the run to check.")] = Path("outputs/segments.csv"),
    level: Annotated[int | None, typer.Option("--level", min=1, help="Compare codes rolled up to this depth (1 = top level).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for agreement.csv (default: the run folder, beside segments.csv).")] = None,
    sample_sheet: Annotated[Path | None, typer.Option("--sample", help="The sample the gold coding came from: its passages count even where the gold file has no row.")] = None,
    whole_corpus: Annotated[bool, typer.Option("--whole-corpus", help="The gold file codes every passage of the corpus: passages it does not name count as uncoded.")] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, max=_MAX_SEED, help="Seed of the bootstrap for the confidence intervals.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite agreement.csv in the --out folder if it exists.")] = False,
) -> None:
    """Compare the automatic coding with hand coding: precision, recall (with 95% bootstrap intervals), F1, kappa, alpha per code.

    Only the passages the gold file names are scored (and those of --sample); a row naming a
    document, passage or code the run does not have stops the command, all listed at once.

    Example: coder agree gold.csv --segments outputs/segments.csv --level 1
    """
    from rich.console import Console

    from .agreement import agreement_for_run, agreement_table, write_agreement
    from .runs import AGREEMENT_FILE, written_by_coder

    with _user_errors():
        # In the run folder when --segments names it (as `coder sample` writes there), else beside segments.csv;
        # a segments.parquet may be a folder of parts.
        run_folder = segments if segments.is_dir() and segments.suffix.lower() != ".parquet" else segments.parent
        target = (out if out is not None else run_folder) / AGREEMENT_FILE
        _refuse_replacing_inputs(target, {"the gold file": gold, "the --sample sheet": sample_sheet})
        # A folder the user named may hold an agreement.csv of their own; the run folder's is coder's,
        # unless it is not what coder writes there.
        if out is not None or (target.exists() and not written_by_coder(target)):
            refuse_overwrite(target, force=force, option="--out")
        agreement, notes = agreement_for_run(gold, segments_path=segments, level=level, sample_path=sample_sheet,
                                             whole_corpus=whole_corpus, seed=seed)
        target = write_agreement(agreement, target)
        console = Console()
        # Piped output defaults to 80 columns, which would cut the table's figures short.
        Console(width=max(console.width, 170)).print(agreement_table(agreement))
        for note in notes:
            _say(f"Note: {note}")
        _say(f"Agreement written to {target}")


def main() -> None:
    """The `coder` command (the installed script and `python -m coder`): the app, then a quick exit.

    When a command has finished, every file it wrote is closed (each where it is written); what the
    interpreter's teardown would still do is free the memory of a large run object by object, which
    the process gives back at once when it ends: 0.05-0.1 s after a recode of the 50 MB benchmark.
    So the process ends as Python's own exit would, without that: the output streams flushed, the
    threads joined, the exit handlers run, then the exit status. A SystemExit carrying a message
    (not a status) takes Python's usual way.
    """
    _forgiving_output()
    try:
        app(prog_name="coder")
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            _end_process(stop.code or 0)
        raise


def _forgiving_output() -> None:
    """Standard output escapes what its encoding cannot hold (\\u8054), as standard error does.

    Windows writes redirected output (`coder kwic 联席会议 > hits.txt`, a pipe, Jupyter's `!coder`)
    in the ANSI code page (cp1252), strictly: a Chinese label stopped kwic, diff, lint and suggest
    with an encoding error. The files a command writes are UTF-8 whatever the console's encoding.
    """
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (OSError, ValueError):
            pass  # a stream already written to in another way, or closed: left as it is


def _end_process(status: int) -> None:
    """End the process with `status` after what Python's exit does first (Py_FinalizeEx's order)."""
    import threading

    threading._shutdown()  # joins the threads that are not daemons, as the interpreter does first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120  # a closed pipe: Python's own exit says 120 when flushing fails
    os._exit(status)
