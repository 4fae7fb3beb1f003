"""Files shared by every stage: decoding what people save, the one CSV reader and writer, atomic writes.

Writes are atomic, so a failed run never damages earlier outputs. Tables are read the way a
spreadsheet may have saved them and written the way Excel opens them (UTF-8 with BOM, CRLF).
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import json
import os
import re
import shlex
import stat
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import CoderError, OutputError
from .imports import LazyPattern
from .models import normalize_segment_id, segment_id

if TYPE_CHECKING:  # pandas loads on first use: coding workers read and match text without it
    import numpy as np
    import pandas as pd

# Characters a terminal acts on or a reader cannot see, shown as escapes in names: C0 and C1
# controls, DEL, lone surrogates (the undecodable bytes of a file name), bidirectional controls,
# line and paragraph separators.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# The lock file of a folder `coder run` or `coder review import` writes in (see `folder_lock`).
LOCK_FILE = ".coder.lock"
# A run folder's recode cache (RunFolder.cache_path), named here so that the CLI finds it before
# it imports runs.py and its pandas.
CACHE_FOLDER = ".cache"
_HELD: set[str] = set()  # lock files this process holds

UNDECODABLE = "cannot decode: not UTF-8, UTF-16 or GB18030 text"
BINARY = "cannot decode: binary data (NUL bytes without a UTF-16 byte order mark)"


# The names Windows keeps for devices, whatever follows a dot ("NUL.txt" is NUL): no file can take one.
DEVICE_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))})


def lies_in(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Is `path` the folder `folder` or inside it? Told by the file system where the places exist, not
    by their spelling alone: a case-insensitive disk (macOS, Windows) holds `Seeds/out` inside `seeds`,
    and a bind mount or junction shows one folder under two names.

    >>> lies_in("seeds/out", "seeds"), lies_in("outputs", "seeds")
    (True, False)
    """
    path, folder = Path(path).resolve(), Path(folder).resolve()
    if path == folder or path.is_relative_to(folder):
        return True
    try:
        folder_status = folder.stat()
    except OSError:
        return False
    for place in (path, *path.parents):
        try:
            if os.path.samestat(place.stat(), folder_status):
                return True
        except OSError:
            continue  # not there (yet): its parent may be
    return False


def same_place(path: str | os.PathLike, other: str | os.PathLike) -> bool:
    """Do two names name one file or folder (by spelling, or by the file system where both exist)?"""
    if Path(path).resolve() == Path(other).resolve():
        return True
    try:
        return os.path.samestat(Path(path).stat(), Path(other).stat())
    except OSError:
        return False


def display_name(name: str | os.PathLike) -> str:
    """A name the user does not control (a file name, a path, a label) made safe to print.

    Control characters, lone surrogates and bidirectional controls become escapes, so a newline
    in a file name cannot forge a line and an escape sequence never reaches the terminal. A
    byte of a non-UTF-8 file name shows as `\\xNN`. Every message that prints such a name uses this.

    >>> print(display_name("a\\nb\\x1b[2J.txt"), display_name(b"caf\\xe9.txt".decode("utf-8", "surrogateescape")))
    a\\nb\\x1b[2J.txt caf\\xe9.txt
    """
    return _UNPRINTABLE.sub(_escape_character, os.fspath(name) if not isinstance(name, str) else name)


def command_argument(value: str | os.PathLike, *, windows: bool | None = None) -> str:
    """A path or name as it goes into a command printed for the user to copy: quoted when a shell
    would split or read it otherwise (a space, as in "My Documents" or "Research Project"), as
    display_name shows it. Single quotes for a POSIX shell (shlex.quote); double quotes on Windows,
    where PowerShell and cmd both take them, single quotes (PowerShell's literal) for a path holding `$`
    or a backtick (`windows`: default, this system).

    >>> command_argument("outputs/segments.csv"), command_argument("my outputs/segments.xlsx", windows=False)
    ('outputs/segments.csv', "'my outputs/segments.xlsx'")
    >>> print(command_argument("my outputs/segments.xlsx", windows=True))
    "my outputs/segments.xlsx"
    >>> print(command_argument("C:/Users/li/$work/out", windows=True))  # PowerShell expands $ in double quotes
    'C:/Users/li/$work/out'
    """
    text = display_name(value)
    windows = os.name == "nt" if windows is None else windows
    if _PLAIN_ARGUMENT.fullmatch(text) and (windows or "\\" not in text):  # a POSIX shell reads \ as an escape
        return text
    if windows and ("$" in text or "`" in text):  # PowerShell reads these inside double quotes (probe AJ6)
        return "'" + text.replace("'", "''") + "'"
    return f'"{text}"' if windows else shlex.quote(text)  # a Windows path holds no double quote


_PLAIN_ARGUMENT = re.compile(r"[\w@%+=:,./\\-]+")  # no shell splits or expands these (letters of any script)


def _escape_character(match: re.Match) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte the file name really holds
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def refuse_overwrite(path: str | Path, *, force: bool, option: str = "--out") -> None:
    """Stop before writing over a file the user has, unless `force` (the CLI's --force).

    >>> refuse_overwrite("reviews.csv", force=False, option="--csv")  # doctest: +SKIP
    Traceback (most recent call last):
    coder.errors.OutputError: reviews.csv: already exists. Pass --force to overwrite it, or choose another file with --csv.
    """
    if Path(path).is_dir():
        raise OutputError(f"{display_name(path)}: is a folder, not a file. Choose a file name with {option}.")
    if Path(path).exists() and not Path(path).is_file():  # a device or a pipe: --force would put a file in its place
        raise OutputError(f"{display_name(path)}: is not a regular file (a device or a pipe). Choose a file name with {option}.")
    if not force and (Path(path).exists() or Path(path).is_symlink()):
        raise OutputError(f"{display_name(path)}: already exists. Pass --force to overwrite it, or choose another file with {option}.")


@contextmanager
def folder_lock(
    path: str | Path, *, timeout: float = 0, if_writable: bool = False, advice: str = "Choose a folder you can write in.",
    busy: str | None = None,
) -> Iterator[None]:
    """Hold the lock file `path` (created if missing) for the block; portable (`filelock`).

    The operating system releases the lock when its process ends, however it ends, so a
    lock left by a killed process never blocks; the file itself stays, empty. With `if_writable`,
    a folder that cannot take the lock file (read-only, or a pipe's /dev/fd) is not locked: no one
    can write there either, and whatever later tries to gets its own error.

    Raises:
        OutputError: another process holds it for longer than `timeout` seconds (`busy`, when given, is
        the message), or (without
        `if_writable`) the folder cannot take the lock file.
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    key = os.path.abspath(path)
    if key in _HELD:  # this process holds it already (a run imports typed decisions under its own lock)
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():  # planted where coder's own lock file goes: never followed (probe S F5)
            path.unlink()
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666))
    except OSError as error:
        if if_writable:
            yield
            return
        raise OutputError(f"{display_name(path.parent)}: cannot write in this folder "
                          f"({error.strerror or error}). {advice}") from None
    lock = FileLock(path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        if busy is not None:  # what the lock guards, said by its owner
            raise OutputError(busy) from None
        raise OutputError(
            f"{display_name(path.parent)}: another coder command (`coder run` or `coder review import`) is "
            f"writing here right now (it holds {display_name(path.name)}). Wait for it to finish, then try again."
        ) from None
    _HELD.add(key)
    try:
        yield
    finally:
        _HELD.discard(key)
        lock.release()


# The most digits a passage number or character offset typed into a table may have (a
# quadrillion characters): past it, int64 and float columns no longer hold the number exactly.
MAX_DIGITS = 15


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is ASCII digits, at most MAX_DIGITS of them; else None
    (a word, a fraction, a sign, nan, inf, a number past any passage or offset).

    >>> whole_number("12"), whole_number("1.5"), whole_number("９"), whole_number("9" * 16)
    (12, None, None, None)
    """
    return int(text) if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS else None


def source_digest(folder: Path, pattern: str) -> str:
    """The files of `folder` that `pattern` matches (each name relative to it, then its bytes), hashed:
    a development checkout's code changes without a version bump."""
    digest = hashlib.sha256()
    try:
        for path in sorted(folder.glob(pattern)):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    except OSError:
        digest.update(b"unreadable")  # an installed package cannot change under us without a version
    return digest.hexdigest()


def package_versions(names: Iterable[str]) -> list[str]:
    """"name=version" of each installed distribution named, "name=?" for one that is not installed."""
    from importlib import metadata

    versions = []
    for name in names:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=?")
    return versions


# The longest file name most file systems take (ext4, APFS, NTFS in UTF-16 units), in UTF-8 bytes.
_NAME_BYTES = 255


def fitting_name(name: str, suffix: str = "", *, limit: int = _NAME_BYTES) -> str:
    """`name + suffix`, or, when that is longer than `limit` bytes, the start of `name`, "~", a hash
    of the whole name, and `suffix`: a document named with 80 Chinese characters takes 240 bytes.

    >>> fitting_name("report.pdf", ".txt")
    'report.pdf.txt'
    >>> len(fitting_name("长" * 84 + ".pdf", ".txt").encode())
    255
    """
    wanted = f"{name}{suffix}"
    if len(wanted.encode("utf-8", "surrogateescape")) <= limit:
        return wanted
    digest = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    room = limit - len((digest + suffix).encode("utf-8", "surrogateescape"))
    start = name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")  # whole characters only
    return f"{start}{digest}{suffix}"


def temporary_prefix(path: Path) -> str:
    """The prefix of a temporary file beside `path` (mkstemp adds 8 characters and the suffix), short
    enough for the file system whatever the length of `path`'s name."""
    return "." + fitting_name(path.name, limit=_NAME_BYTES - 32) + "."


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`; on success it replaces `path`, on error it is removed.

    For libraries that write to a path themselves (openpyxl, zipfile); `atomic_open` wraps it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes owner-only files; outputs are ordinary files
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success it replaces `path`, on error it is removed."""
    binary = "b" in mode
    with atomic_path(path) as temporary, open(
        temporary, mode, encoding=None if binary else encoding, newline=None if binary else newline
    ) as stream:
        yield stream


def _umask() -> int:
    # Linux states the umask in /proc: reading it there leaves it alone, where setting and restoring it
    # would give a file another thread creates meanwhile (a run writes in two) the umask 0. Elsewhere
    # the umask read once, as this module was imported (before any run starts a thread).
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return _UMASK_AT_IMPORT


def _umask_set_and_restored() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK_AT_IMPORT = _umask_set_and_restored()


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically (explicit encoding, whatever the locale)."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as stream:
        stream.write(data)


def write_csv(frame: pd.DataFrame, path: str | Path, *, float_format: str | None = None, line_end: str = "\r\n") -> Path:
    """The one CSV writer: UTF-8 with BOM (so Excel shows Chinese text) and CRLF line ends, atomically.

    `line_end="\n"` only where an existing output's bytes must not change (changes.csv).

    >>> write_csv(pd.DataFrame({"code": ["barrier"]}), "outputs/table.csv")  # doctest: +SKIP
    """
    with atomic_open(path, "w", encoding="utf-8-sig", newline="") as stream:
        _write_frame(stream, frame, header=True, float_format=float_format, line_end=line_end)
    return Path(path)


def _write_frame(stream: IO[str], frame: pd.DataFrame, *, header: bool, float_format: str | None = None,
                 line_end: str = "\r\n") -> None:
    """One table's rows (and its header when asked) as write_csv writes them: in Arrow where it can."""
    frame = neutralize_formulas(frame)
    fields = _csv_fields(frame, line_end, float_format=float_format)
    if fields is not None:
        _write_fields(stream, frame, fields, line_end, header=header)
    else:
        # pandas cuts a table into chunks of 100,000 cells by default, and each chunk costs a pass
        # over every column: a table thousands of columns wide (code_counts.csv) took a second.
        chunk = max(1, _CSV_CHUNK_CELLS // max(len(frame.columns), 1))
        frame.to_csv(stream, header=header, index=False, float_format=float_format, lineterminator=line_end,
                     chunksize=chunk)


# Cells converted to CSV text at a time (a chunk of rows), by the fast writer and by pandas; the fast
# writer takes at most _CSV_CHUNK_ROWS rows at a time.
_CSV_CHUNK_CELLS = 1_000_000
_CSV_CHUNK_ROWS = 4096


def _csv_fields(frame: pd.DataFrame, line_end: str, *, float_format: str | None = None) -> list[tuple[object, object]] | None:
    """The table's columns as CSV fields ready to join in Arrow, without a Python object per cell:
    (None, the integers) for each run of integer columns (a matrix, its rows' text made by
    `_integer_lines`), (codes, the fields of the distinct values) for each text column, (None, fields)
    for a float or boolean column. None when a column is of a kind only pandas writes (mixed objects, nullable
    numbers, text Arrow refuses, a formatted NaN): then pandas writes the whole table.

    Fields come from the csv module itself (the writer pandas uses), so quoting is byte for byte
    pandas' own: integers as str(), floats as numpy's str() (or `float_format % value`), text as is,
    blank for missing.
    """
    import csv

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(frame.columns) < 2 or not len(frame):
        return None  # one column writes a blank cell as "" (a row must not look empty): pandas' rule
    dtypes = list(frame.dtypes)
    # uint64 is left to the other columns' rules: its values need not fit the int64 the runs are read as.
    integer = [isinstance(dtype, np.dtype) and (dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8))
               for dtype in dtypes]
    fields: list[tuple[object, object]] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)  # quoting depends on the line end too
    position = 0
    while position < len(dtypes):
        if integer[position]:
            # A run of integer columns at once (code_counts.csv has one per document), its rows' text
            # made a chunk at a time (`_integer_lines`).
            stop = position
            while stop < len(dtypes) and integer[stop]:
                stop += 1
            fields.append((None, frame.iloc[:, position:stop].to_numpy(dtype=np.int64)))
            position = stop
            continue
        if dtypes[position] == np.float64:
            # A run of float columns at once, as integers (cooccurrence_matrix.csv is a float column per code).
            stop = position
            while stop < len(dtypes) and dtypes[stop] == np.float64:
                stop += 1
            texts = _float_fields(frame.iloc[:, position:stop].to_numpy(dtype=np.float64).ravel(), float_format)
            if texts is None:
                return None
            width = stop - position
            if width > 1:
                if isinstance(texts, pa.ChunkedArray):  # past 2**24 cells (a matrix of 4,097 codes)
                    texts = texts.combine_chunks()
                offsets = pa.array(np.arange(0, len(frame) * width + 1, width, dtype=np.int64 if len(texts) >= 2**31 else np.int32))
                lists = (pa.LargeListArray if len(texts) >= 2**31 else pa.ListArray).from_arrays(offsets, texts)
                texts = pc.binary_join(lists, ",")
            fields.append((None, texts))
            position = stop
            continue
        values, dtype = frame.iloc[:, position], dtypes[position]
        position += 1
        if dtype == np.bool_:
            fields.append((None, pa.array(np.where(values.to_numpy(), "True", "False"), type=pa.string())))
            continue
        if isinstance(dtype, pd.CategoricalDtype):
            codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            codes, uniques = pd.factorize(values)
        else:
            return None
        texts = uniques.tolist() if hasattr(uniques, "tolist") else list(uniques)
        if not all(type(text) is str for text in texts):
            return None
        # Each distinct value written as a row ["value", ""]: its field is what precedes the last comma.
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([text, ""] for text in texts)
        encoded = buffer.getvalue().split("," + line_end)[:-1] if texts else []
        if len(encoded) != len(texts):
            return None  # a quoted field holding a comma and a line end: let pandas write it
        try:
            table = pa.array([*encoded, ""], type=pa.string())  # missing cells (code -1) take the last, blank
        except (pa.ArrowException, UnicodeError):
            return None  # lone surrogates: pandas reports them as it always did
        codes = np.asarray(codes, dtype=np.int64)
        fields.append((np.where(codes < 0, len(encoded), codes), table))
    return fields


def _float_fields(numbers, float_format: str | None):
    """As pandas writes floats: numpy's str() of each and blank for NaN, or `float_format % value`
    (None for a NaN then: pandas writes its own blank). Each distinct value is formatted once
    (told apart by its bits, so 0.0 and -0.0 keep their texts): a matrix of codes holds few."""
    import numpy as np
    import pyarrow as pa

    missing = np.isnan(numbers)
    if float_format is None:
        texts = numbers.astype(str)
        texts[missing] = ""
    elif missing.any():
        return None
    else:
        distinct, inverse = np.unique(numbers.view(np.int64), return_inverse=True)
        texts = np.array([float_format % number for number in distinct.view(np.float64).tolist()],
                         dtype=str)[inverse.reshape(-1)]
    return pa.array(texts, type=pa.string())


def write_csv_parts(frames: Iterable[pd.DataFrame], path: str | Path) -> Path:
    """`write_csv` of a table given a part at a time (the same bytes as of the parts concatenated),
    atomically: only one part is held at once.

    >>> write_csv_parts(pd.read_parquet(part) for part in sorted(Path("parts").glob("*.parquet")), "table.csv")  # doctest: +SKIP
    """
    with atomic_open(path, "w", encoding="utf-8-sig", newline="") as stream:
        for position, frame in enumerate(frames):
            _write_frame(stream, frame, header=position == 0)
    return Path(path)


def _write_fields(stream: IO[str], frame: pd.DataFrame, fields: list[tuple[object, object]], line_end: str, *,
                  header: bool = True) -> None:
    """Write the header (csv module) and the rows, joined chunk by chunk in Arrow and written as the
    UTF-8 bytes Arrow holds (`stream` is a text file of atomic_open: its binary buffer takes them)."""
    import csv

    import numpy as np
    import pyarrow.compute as pc

    if header:
        csv.writer(stream, lineterminator=line_end).writerow([str(column) for column in frame.columns.tolist()])
    stream.flush()  # the header (and the byte order mark) before the rows' bytes
    # The last field carries the line end, so a chunk's lines take one join: a text column's distinct
    # values, a float or boolean column's fields or an integer run's rows (`_integer_lines`) end with it.
    *fields, (codes, table) = fields
    if not isinstance(table, np.ndarray):
        table = pc.binary_join_element_wise(table, "", line_end)
    fields.append((codes, table))
    rows = len(frame)
    # Rows at a time, about _CSV_CHUNK_CELLS cells: a chunk's text is taken and joined at once (segments.csv
    # holds each passage's text).
    cells_per_row = sum(table.shape[1] if isinstance(table, np.ndarray) else 1 for _, table in fields)  # type: ignore[union-attr]
    step = max(1, min(_CSV_CHUNK_CELLS // cells_per_row, _CSV_CHUNK_ROWS))
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        columns = [_integer_lines(table[start:stop], end=line_end if position == len(fields) - 1 else "")  # type: ignore[index]
                   if isinstance(table, np.ndarray)
                   else table.slice(start, stop - start) if codes is None else table.take(codes[start:stop])  # type: ignore[union-attr,index]
                   for position, (codes, table) in enumerate(fields)]
        lines = pc.binary_join_element_wise(*columns, ",") if len(columns) > 1 else columns[0]
        # Past 2 GB of text Arrow gives the lines in chunks (a codebook of thousands of codes' pairs)
        for chunk in getattr(lines, "chunks", (lines,)):
            stream.buffer.write(_string_bytes(chunk))  # type: ignore[attr-defined]


def _string_bytes(strings) -> memoryview:
    """The bytes of an Arrow string array's values, one after another (the array has no nulls)."""
    import numpy as np

    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=4 * strings.offset)
    return memoryview(strings.buffers()[2])[int(offsets[0]):int(offsets[-1])]


def _integer_lines(block: np.ndarray, *, end: str = ""):
    """Each row of an integer matrix as its cells' str() joined by commas, then `end` (ASCII: a line
    end), as an Arrow string array made as bytes in numpy: every cell written as one digit, commas
    between and `end` after, then the other characters of the cells outside 0-9 (from Arrow's cast of
    those alone) inserted. code_counts.csv's 2.5 million cells, mostly 0, took 0.05-0.2 s CPU each cast
    to text and joined in Arrow; this, 0.02 s.

    >>> _integer_lines(np.array([[3, 0, -12], [10, 7, 9]])).to_pylist()
    ['3,0,-12', '10,7,9']
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows, width = block.shape
    ending = np.frombuffer(end.encode("ascii"), dtype=np.uint8)
    line = 2 * width - 1 + len(ending)  # a line's bytes when every cell is one digit
    text = np.empty((rows, line), dtype=np.uint8)
    # uint8 first, in the block's own order: a table's columns come transposed (a column's cells together).
    digits = block.astype(np.uint8)
    digits += ord("0")
    text[:, 0:2 * width:2] = digits
    text[:, 1:2 * width - 1:2] = ord(",")
    text[:, 2 * width - 1:] = ending
    text = text.reshape(-1)
    line_lengths = np.full(rows, line, dtype=np.int64)
    other = np.flatnonzero((block.astype(np.int64, copy=False).view(np.uint64) > 9).ravel())  # negatives too
    if other.size:
        other_rows, other_columns = np.divmod(other, width)
        written = pc.cast(pa.array(block[other_rows, other_columns], type=pa.int64()), pa.string())
        offsets = np.frombuffer(written.buffers()[1], dtype=np.int32, count=len(written) + 1)
        characters = np.frombuffer(written.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))
        starts, lengths = offsets[:-1], np.diff(offsets)
        first = other_rows * line + 2 * other_columns
        text[first] = characters[starts]
        # Each text's other characters go in after its first (np.insert keeps the order of those given one place).
        extra = lengths - 1
        within = np.arange(int(extra.sum())) - np.repeat(np.cumsum(extra) - extra, extra)
        text = np.insert(text, np.repeat(first + 1, extra), characters[np.repeat(starts + 1, extra) + within])
        line_lengths += np.bincount(other_rows, weights=extra, minlength=rows).astype(np.int64)
    line_offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(line_lengths, out=line_offsets[1:])
    return pa.StringArray.from_buffers(rows, pa.py_buffer(line_offsets), pa.py_buffer(text))


# A cell a spreadsheet would run as a formula (CSV injection): one that starts with = + - @, a tab or
# a line break. As OWASP advises, such text cells are written with a leading single quote, which
# Excel and LibreOffice show as text; cells that already start with quotes before such a character get
# one more, so `restore_formulas` (read_table) gives back exactly what was written.
_FORMULA = re.compile(r"^'*[=+\-@\t\r\n]")
_NEUTRALIZED = re.compile(r"^'+[=+\-@\t\r\n]")


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell (and column name) that could start a formula prefixed by "'".

    >>> neutralize_formulas(pd.DataFrame({"text": ["=1+1", "-5 km", "plain"], "n": [-1, 2, 3]}))["text"].tolist()
    ["'=1+1", "'-5 km", 'plain']
    """
    result = frame
    for column, values, flags in _text_cells_matching(frame, _FORMULA):
        result = frame.copy() if result is frame else result
        if values.dtype.name == "category":  # a categorical takes no new values: plain text for this column
            values = values.astype(str)
        result[column] = values.where(~flags, "'" + values.astype(str))
    names = frame.columns.tolist()  # at once: iterating an Arrow-backed index makes a scalar of each name
    columns = [_neutral(column) if isinstance(column, str) else column for column in names]
    if columns != names:
        result = frame.copy() if result is frame else result
        result.columns = columns
    return result


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo `neutralize_formulas` on a table read back (all cells text)."""
    frame.columns = [_restored(str(column)) for column in frame.columns]
    for column, values, flags in _text_cells_matching(frame, _NEUTRALIZED):
        frame[column] = values.where(~flags, values.str[1:])
    return frame


def _text_cells_matching(frame: pd.DataFrame, pattern: re.Pattern[str]) -> Iterator[tuple[object, pd.Series, pd.Series]]:
    """(column, its values, which cells start with `pattern`) for each text column where any does."""
    # Columns that may hold text, found from the dtypes at once (code_counts.csv has thousands of
    # number columns), then asked as before.
    candidates = [position for position, dtype in enumerate(frame.dtypes) if dtype.kind not in "iufcbmM"]
    for position in candidates:
        column, values = frame.columns[position], frame.iloc[:, position]
        if not _is_text(values):
            continue
        flags = values.str.match(pattern.pattern, na=False)
        if flags.any():
            yield column, values, flags


def _is_text(values: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)


def _neutral(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def _restored(text: str) -> str:
    return text[1:] if _NEUTRALIZED.match(text) else text


def read_own_bytes(path: str | Path) -> bytes:
    """The bytes of the regular file at `path` itself: never through a link, never a device or a pipe.

    For the files a run keeps for itself (`.cache/`, the staging manifest, stored texts): the folder may
    have been shared, and a planted link to /dev/zero or a FIFO must cost nothing. Raises OSError otherwise.
    """
    if not hasattr(os, "O_NOFOLLOW") and Path(path).is_symlink():  # Windows: no O_NOFOLLOW
        raise OSError(f"{path}: a link, not read")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    with open(os.open(path, flags), "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise OSError(f"{path}: not a regular file, not read")
        return stream.read()


# What reading a JSON note may cost in memory (json_from): a value is about 100 bytes of Python objects
# however short its text ("[]," is three), so a note of 256 MB of empty lists would take some 9 GB.
JSON_MAX_COST = 1024**3
_JSON_VALUE_BYTES = 100


def json_from(data: bytes | str, *, max_cost: int | None = None) -> Any:
    """json.loads for files the folder may hold from someone else: JSON nested too deeply for the
    parser (a few KB of brackets) is a ValueError, as any other malformed JSON is, not a RecursionError;
    so is JSON whose values would cost more than `max_cost` (JSON_MAX_COST) bytes of memory, counted before
    it is parsed (probe XX6).

    >>> json_from('{"cells": {"s1": ["reject", ""]}}')
    {'cells': {'s1': ['reject', '']}}
    >>> json_from("[" + "[]," * 2000 + "[]]", max_cost=100_000)
    Traceback (most recent call last):
    ...
    ValueError: JSON that would take about 406,204 bytes to read, past 100,000
    """
    comma, colon, bracket, brace = (",", ":", "[", "{") if isinstance(data, str) else (b",", b":", b"[", b"{")
    values = data.count(comma) + data.count(colon) + data.count(bracket) + data.count(brace)
    cost, max_cost = len(data) + values * _JSON_VALUE_BYTES, max_cost or JSON_MAX_COST
    if cost > max_cost:
        raise ValueError(f"JSON that would take about {cost:,} bytes to read, past {max_cost:,}")
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


# What a file a command reads whole (a table, a codebook) may hold: past it, the file is refused
# before it is read (a regular file) or once that much has come (a device or a pipe: /dev/zero never ends).
MAX_READ_BYTES = 4 * 1024**3


# The names a shell gives the pipe of `--codebook <(...)` or `cat x | coder ... /dev/stdin`: the one
# place a pipe is read (a named pipe elsewhere, a file someone left in a folder, may wait for ever).
_SHELL_PIPES = re.compile(r"^/(dev/fd/[0-9]+|dev/stdin|proc/self/fd/[0-9]+)$")


def special_file_kind(mode: int) -> str | None:
    """What a file that is no regular file or folder is ("a named pipe", "a device", "a socket"); None for those."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def not_a_file(path: str | Path, kind: str) -> str:
    """The message for reading a named pipe, a device or a socket where a file is read."""
    return f"{display_name(path)}: is {kind}, not a regular file: not read. Pass the path of a file saved on disk."


def refuse_special_file(path: str | Path, *, error: type[CoderError] = OutputError) -> None:
    """Raise `error` when `path` is a named pipe, a device or a socket (after links); a missing file passes."""
    try:
        kind = special_file_kind(os.stat(path).st_mode)
    except (OSError, ValueError):
        return
    if kind is not None:
        raise error(not_a_file(path, kind))


def read_bytes(path: str | Path, *, error: type[CoderError] = OutputError, missing: str = "file not found.",
               limit: int = MAX_READ_BYTES, what: str = "a table") -> bytes:
    """The bytes of `path`; a missing or unreadable file, or one larger than `limit` bytes, raises
    `error` naming the file (`what` it was read as: "a codebook").

    A named pipe, a device or a socket is refused by what it is, before a byte is read (probe S F7:
    `review import` of a segments.csv that was a pipe waited for ever, /dev/zero took 4 GB), except
    the pipe a shell names /dev/fd/N or /dev/stdin (`--codebook <(...)`), read up to `limit`.
    """
    path = Path(path)
    if path.is_dir():  # Windows opens a folder with "permission denied"
        raise error(f"{display_name(path)}: is a folder, not a file.")
    try:
        # Never waits in open(): a named pipe with no writer opens at once when O_NONBLOCK is asked.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as stream:
            status = os.fstat(stream.fileno())
            kind = special_file_kind(status.st_mode)
            if kind is not None and not (kind == "a named pipe" and _SHELL_PIPES.match(os.fspath(path))):
                raise error(not_a_file(path, kind))
            if kind is not None:
                os.set_blocking(stream.fileno(), True)  # the shell's pipe: its writer may not have written yet
            size = status.st_size
            data = stream.read(limit + 1) if size <= limit else None
    except FileNotFoundError:
        raise error(f"{display_name(path)}: {missing}")
    except OSError as problem:
        raise error(f"{display_name(path)}: cannot read it ({problem.strerror or problem}).")
    if data is None or len(data) > limit:
        raise error(f"{display_name(path)}: larger than {limit / 2**20:,.0f} MB, more than {what} can be: not read.")
    return data


def read_table(path: str | Path, *, missing: str = "file not found.",
               columns: Collection[str] | None = None, blank_rows: bool = False,
               chinese_code_pages: bool = False) -> pd.DataFrame:
    """The one CSV reader: a table as a spreadsheet may have saved it, every cell as text.

    Accepts UTF-8 with or without BOM, UTF-16 with BOM, GB18030, Windows-1252 and Mac Roman text
    (`_likeliest_encoding`), ",", ";" or tab separators and any line ends; `.xlsx` workbooks too. With
    `chinese_code_pages` (documents.csv, review, gold and sample sheets), Big5 or GBK too
    (`chinese_code_page_reading`), and Big5 with a letter beside Chinese when more of a table coder wrote reads
    back so (`_big5_reading_beside_letters`): a sheet's readers keep what such a code page lost (`CODE_PAGE_READINGS`).
    Column names are stripped and lower-cased; blank cells are ""; `table_encoding` tells the
    encoding read. `columns` (names as read: lower-cased) keeps only those the file has, which for a
    text file that decodes as it is (not a legacy code page, told from every cell) are the only ones
    parsed. With `blank_rows`, an empty line of a text file is a row of blank cells, as a workbook's
    empty row is: each row's index + 2 is its line. Problems raise OutputError naming the file.

    >>> read_table("outputs/segments.csv").columns[:2].tolist()  # doctest: +SKIP
    ['segment_id', 'document']
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        refuse_special_file(path)
        if not path.is_file():
            raise OutputError(f"{path}: {missing}")
        return _only(_cleaned(_parsed(path, _read_workbook), encoding=""), columns)
    data = read_bytes(path, missing=missing)
    fast = _read_utf8_columns(path, data, columns) if columns is not None and not blank_rows else None
    if fast is not None:
        header = fast.attrs["header"]
        fast = _cleaned(fast, encoding="utf-8-sig")
        fast.attrs["header"] = header  # every column the file has, read or not
        return fast
    try:
        text, encoding = decode_text(data, chinese_code_pages=chinese_code_pages)
    except DecodeError as problem:
        readings = _legacy_readings(data) if str(problem) == UNDECODABLE else {}
        if readings and chinese_code_pages and (big5 := _big5_reading_beside_letters(data)) is not None:
            readings["cp950"] = big5
        frames = {encoding: _cleaned(_parsed(path, _read_text, text, None, blank_rows), encoding=encoding)
                  for encoding, text in readings.items()}
        likeliest = _likeliest_encoding(frames, data)
        if likeliest is None:
            raise OutputError(f"{path}: {problem}. Save it as CSV UTF-8 and try again.")
        return _only(frames[likeliest], columns)
    if encoding == "utf-8" and data.isascii():  # what Excel's "CSV (Comma delimited)" makes of Chinese and English
        encoding = "ascii"
    del data  # a large file's bytes need not stay beside its text while it is parsed
    return _cleaned(_parsed(path, _read_text, text, columns, blank_rows), encoding=encoding)


def _read_utf8_columns(path: Path, data: bytes, columns: Collection[str]) -> pd.DataFrame | None:
    """`columns` of a table in UTF-8 with its byte order mark (as coder writes every CSV file), parsed by
    Arrow: the other cells never become Python strings (a 103 MB segments.csv: 0.2 s of CPU against 6 s).
    None for any other file, or one Arrow cannot read whole, which `read_table` then reads as before."""
    import pyarrow as pa
    import pyarrow.csv as arrow_csv

    if not data.startswith(codecs.BOM_UTF8) or b"\x00" in data:
        return None
    body = memoryview(data)[len(codecs.BOM_UTF8):]
    try:
        header = bytes(body[:len(re.split(rb"\r|\n", bytes(body[:1_000_000]), maxsplit=1)[0])]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    separator = _sniff_separator(header)
    _refuse_repeated_columns(path, header, separator)  # as read_table says it
    try:
        table = arrow_csv.read_csv(
            pa.py_buffer(body),
            parse_options=arrow_csv.ParseOptions(delimiter=separator, newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=[name for name in _header_names(header, separator) if _column_name(name) in columns],
                column_types={name: pa.string() for name in _header_names(header, separator)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    frame = table.to_pandas()
    frame.attrs["header"] = [_column_name(name) for name in _header_names(header, separator)]
    for column in frame.columns:  # as decode_text gives every line end
        values = frame[column].astype(str)
        if values.str.contains("\r", regex=False).any():
            values = values.str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False)
        frame[column] = values
    return frame


def _header_names(header: str, separator: str) -> list[str]:
    """The cells of a table's header line, as written."""
    import csv

    return next(csv.reader(io.StringIO(header), delimiter=separator), [])


def _only(frame: pd.DataFrame, columns: Collection[str] | None) -> pd.DataFrame:
    return frame if columns is None else frame[[name for name in frame.columns if name in columns]]


def _column_name(name: object) -> str:
    """A header cell as `read_table` names its column."""
    return str(name).strip().lstrip("\ufeff").strip().lower()


def _parsed(path: Path, read: Callable[..., pd.DataFrame], *arguments: Any) -> pd.DataFrame:
    import pandas as pd

    try:
        return read(path, *arguments)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as problem:
        reason = " ".join(str(problem).split())  # pandas ends some messages with a line break
        raise OutputError(f"{path}: cannot read it as a table ({reason}). Save it as CSV (UTF-8) and try again.")


def _read_text(path: Path, text: str, columns: Collection[str] | None = None, blank_rows: bool = False) -> pd.DataFrame:
    import pandas as pd

    if not text.strip():
        raise OutputError(f"{path}: the file is empty. Pass a table with a header row.")
    separator = _sniff_separator(text)
    _refuse_repeated_columns(path, text, separator)
    usecols = None if columns is None else (lambda name: _column_name(name) in columns)
    frame = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False, skip_blank_lines=not blank_rows,
                        usecols=usecols)
    if not isinstance(frame.index, pd.RangeIndex):
        # The first row has a cell more than the header: pandas took the first column for row
        # names and moved every value one column left ("passage" read 'joint_meeting').
        raise OutputError(f"{path}: row 2 has more cells than the header row (an extra comma?). "
                          f"Make it match the header, then try again.")
    return frame


def _cleaned(frame: pd.DataFrame, *, encoding: str) -> pd.DataFrame:
    frame = restore_formulas(frame.fillna(""))
    frame.columns = [_column_name(column) for column in frame.columns]
    frame.attrs["encoding"] = encoding
    return frame


def table_encoding(frame: pd.DataFrame) -> str:
    """The encoding `read_table` read a table's file in: "ascii" for a file of ASCII only, without a byte
    order mark; "" for a workbook.

    >>> table_encoding(read_table("segments.csv"))  # doctest: +SKIP
    'utf-8-sig'
    """
    return frame.attrs.get("encoding", "")


# --- tables saved in a legacy code page ------------------------------------------------------------

# The single-byte code pages spreadsheets save "CSV" in: Excel on a Western Windows ("CSV (Comma
# delimited)") and Excel for Mac ("Comma Separated Values", with CR line ends). Neither holds Chinese:
# the spreadsheet writes "?" for each character it cannot encode.
LEGACY_ENCODINGS = ("cp1252", "mac_roman")
# The encodings of a table that cannot hold Chinese, and how to say which the file was saved in: a file of
# Chinese and English text saved as Windows-1252 is ASCII, Chinese and all turned into "?".
LOSSY_ENCODINGS = (*LEGACY_ENCODINGS, "ascii")
# Every reading of a table saved in a code page that may have lost what was typed there, "?" for each
# character it cannot hold: those, Big5 (no simplified Chinese: 与主题相关 is 与主?相?) and GBK (no ö or ß),
# which is read as GB18030, a superset, unless asked for by name (probes AX4, AX5).
CODE_PAGE_READINGS = (*LOSSY_ENCODINGS, "gb18030", "gbk", "cp950")
SAVED_AS = {
    "cp1252": "as Windows-1252 (Excel's \"CSV (Comma delimited)\")",
    "mac_roman": "as Mac Roman (Excel for Mac's \"Comma Separated Values\")",
    "ascii": "as plain ASCII (Excel's \"CSV (Comma delimited)\", say)",
    "gb18030": "as GBK (Excel's \"CSV (Comma delimited)\" on a Simplified-Chinese Windows)",
    "gbk": "as GBK (Excel's \"CSV (Comma delimited)\" on a Simplified-Chinese Windows)",
    "cp950": "as Big5 (Excel's \"CSV (Comma delimited)\" on a Traditional-Chinese Windows)",
}
# What each reading's code page cannot hold, as messages say it.
CANNOT_HOLD = {
    "gb18030": "most accented letters (ö, ß) and some rare Chinese characters",
    "gbk": "most accented letters (ö, ß) and some rare Chinese characters",
    "cp950": "simplified Chinese and accented letters",
}
# The code page a table read in GB18030 was saved in: Excel writes GBK, which GB18030 reads.
_SAVED_IN = {"gb18030": "gbk"}


def cannot_hold(encoding: str) -> str:
    """What the code page a table was read in (`table_encoding`) cannot hold, as messages say it."""
    return CANNOT_HOLD.get(encoding, "Chinese and most other characters")


def _legacy_readings(data: bytes) -> dict[str, str]:
    """{encoding: text with LF line ends} for each legacy code page that decodes `data`."""
    readings = {}
    for encoding in LEGACY_ENCODINGS:
        text = _strict(data, encoding)
        if text is not None:
            readings[encoding] = text.replace("\r\n", "\n").replace("\r", "\n")
    return readings


def _likeliest_encoding(frames: dict[str, pd.DataFrame], data: bytes) -> str | None:
    """Of a file's readings in legacy code pages, the one whose rows read back as coder wrote them (the
    segment id is the hash of document, text and code) most often; between equals, Mac Roman for a
    file with CR line ends only (as Excel for Mac saves), else Windows-1252. None when only Mac Roman
    reads the file (it decodes any bytes) and nothing else speaks for it. A Big5 reading ("cp950",
    `_big5_reading_beside_letters`) only when more rows read back in it than in any other."""
    scores = {encoding: int(rows_reading_back(frame).sum()) for encoding, frame in frames.items()}
    big5 = scores.pop("cp950", None)
    if big5 is not None and big5 > max(scores.values(), default=0):
        return "cp950"
    best = [encoding for encoding in scores if scores[encoding] == max(scores.values(), default=0)]
    mac_line_ends = b"\r" in data and b"\n" not in data
    if "mac_roman" in best and (mac_line_ends or "cp1252" not in best):
        return "mac_roman" if mac_line_ends or scores["mac_roman"] else None
    return best[0] if best else None


def rows_reading_back(frame: pd.DataFrame) -> pd.Series:
    """For each row of a table coder wrote (segments.csv, reviews.csv): is its segment id the one its
    document, text and code give? A row whose text or document name was decoded wrong, or lost
    characters, does not; nor do rows of a repeated passage's later copies, whose ids are numbered.
    All False when the table has not those columns."""
    import pandas as pd

    if not {"segment_id", "document", "code", "text"} <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    return pd.Series([
        bool(text) and normalize_segment_id(identifier) == segment_id(str(document), str(text), str(code))
        for identifier, document, code, text in zip(frame["segment_id"], frame["document"], frame["code"], frame["text"])
    ], index=frame.index, dtype=bool)


# The CJK ideographs as a character class's ranges (unified, extension A, compatibility).
IDEOGRAPHS = "\u3400-\u9fff\uf900-\ufaff"
# A "?" in a code page's save that stands for a lost character: two together (Chinese in Windows-1252), or one
# beside a Chinese character (华北 saved as Big5 is ?北), where a lone "?" is punctuation or a value.
LOST_CHARACTERS = re.compile(rf"\?(?=[{IDEOGRAPHS}])|(?<=[{IDEOGRAPHS}])\?|\?\?")


def shows_lost_characters(text: str, encoding: str) -> bool:
    """Does `text`, read in the code page `encoding` (CODE_PAGE_READINGS), show "?" for lost characters
    (`LOST_CHARACTERS`)? GBK (read as GB18030) holds every Chinese character, so in it only "??" does: a "?"
    typed beside Chinese there is a question mark (是否相关?, probe AZ2).

    >>> shows_lost_characters("是否相关?", "gb18030"), shows_lost_characters("相关?", "cp950")
    (False, True)
    """
    return bool(lost_characters_pattern(encoding).search(text))


def lost_characters_pattern(encoding: str) -> re.Pattern:
    """What shows a character lost in a text read in the code page `encoding`: "??" in GBK (read as GB18030),
    which holds every Chinese character; else `LOST_CHARACTERS`, a "?" beside Chinese too (Big5 loses
    simplified characters)."""
    return _TWO_QUESTION_MARKS if _SAVED_IN.get(encoding, encoding) == "gbk" else LOST_CHARACTERS


_TWO_QUESTION_MARKS = re.compile(r"\?\?")


def rows_with_lost_characters(frame: pd.DataFrame) -> pd.Series:
    """For each row of a table coder wrote, read in a code page (CODE_PAGE_READINGS): does its passage text
    show "?" for lost characters (`LOST_CHARACTERS`), or its document name "?", where its segment id says
    otherwise? Chinese saved in Windows-1252 is "?" for every character. All False when the table has not
    those columns."""
    import pandas as pd

    if not {"segment_id", "document", "code", "text"} <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    shows = (frame["text"].astype(str).str.contains(LOST_CHARACTERS)
             | frame["document"].astype(str).str.contains("?", regex=False))
    lost = pd.Series(False, index=frame.index)
    if shows.any():
        lost[shows] = ~rows_reading_back(frame[shows])
    return lost


def saved_as(text: str, encoding: str) -> str:
    """`text` as a spreadsheet saving in the code page `encoding` writes it, read back: each character the code
    page cannot hold as "?", or as its compatibility form when the code page holds that (Windows' best-fit
    mapping writes the full-width "，" as ","), and each as the code page reads it back (Big5 writes "£" and "•"
    where it reads "￡" and "‧", probe AZ3). A table read as GB18030 was saved as GBK.

    >>> saved_as("与主题无关，off topic", "cp1252")
    '?????,off topic'
    >>> saved_as("与主题相关 Größe", "cp950")
    '与主?相? Gr??e'
    >>> saved_as("• £5", "cp950")
    '‧ ￡5'
    """
    page = _SAVED_IN.get(encoding, encoding)
    return "".join(_saved_character(char, page) for char in text)


def _saved_character(char: str, encoding: str) -> str:
    for candidate in (char, unicodedata.normalize("NFKC", char)):
        if len(candidate) == 1:
            try:
                return candidate.encode(encoding).decode(encoding)
            except UnicodeEncodeError:
                continue
    return "?"


def with_lost_characters_restored(saved: str, original: str, encoding: str) -> str:
    """A cell saved in the code page `encoding`, with the characters that code page lost taken back from
    `original`, the text the cell held before: where `saved` still reads as `original` saved so, it is
    `original`; what was typed or changed there is kept. A cell changed where characters were lost
    is both, `original / saved`: what was lost is not known.

    >>> with_lost_characters_restored("????? (see p. 4)", "与主题无关", "cp1252")
    '与主题无关 (see p. 4)'
    >>> with_lost_characters_restored("??? (see p. 4)", "与主题无关", "cp1252")
    '与主题无关 / ??? (see p. 4)'
    """
    lossy = saved_as(original, encoding)
    if lossy == original or not saved:
        return saved
    if saved == lossy:
        return original
    from difflib import SequenceMatcher

    lost = {position for position, (char, written) in enumerate(zip(original, lossy)) if char != written}
    pieces, aligned = [], set()
    for operation, start, end, saved_start, saved_end in SequenceMatcher(None, lossy, saved, autojunk=False).get_opcodes():
        pieces.append(original[start:end] if operation == "equal" else saved[saved_start:saved_end])
        if operation == "equal":
            aligned |= lost & set(range(start, end))
    if aligned == lost:
        return "".join(pieces)
    # Changed where characters were lost: which of them the "?" left stand for, nothing tells. Both are kept.
    return f"{original} / {saved}" if len(aligned) >= 2 else saved


def _refuse_repeated_columns(path: Path, text: str, separator: str) -> None:
    """A header naming a column twice: pandas reads the second as "document.1", and every later step
    reads the first, whatever the user meant by the other."""
    names = [_column_name(name) for name in _header_names(text, separator)]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name and name in seen:
            raise OutputError(f"{path}: the header names column '{name}' twice (columns {seen[name]} and {position}). "
                              f"Rename or delete one, then try again.")
        seen[name] = position


def _read_workbook(path: Path) -> pd.DataFrame:
    """The table sheet of an .xlsx (`_table_sheet`), all cells text; a damaged or foreign file is one OutputError."""
    import warnings
    import zipfile
    from xml.etree.ElementTree import ParseError
    from xml.parsers.expat import ExpatError

    import pandas as pd

    try:
        _check_workbook_size(path)
        with warnings.catch_warnings():  # openpyxl warns about parts it skips: the error below says it once
            warnings.simplefilter("ignore")
            loaded, escaped = _load_workbook(path)
            with pd.ExcelFile(loaded, engine="openpyxl") as workbook:
                sheet = _table_sheet(workbook)
                frame = pd.read_excel(workbook, sheet_name=sheet, dtype=object, keep_default_na=False, nrows=_EXCEL_MAX_ROWS)
        if len(frame) >= _EXCEL_MAX_ROWS:
            raise OutputError(f"{path}: its sheet {sheet!r} has more rows than Excel holds ({_EXCEL_MAX_ROWS:,}): not read, "
                              f"as a damaged or hostile file. Save it as CSV.")
        shown = functools.partial(cell_shown, escaped=escaped)
        return frame.apply(lambda column: column.map(shown)) if len(frame.columns) else frame
    except (zipfile.BadZipFile, ParseError, ExpatError, KeyError, EOFError, TypeError, IndexError, ValueError,
            AttributeError, NotImplementedError) as problem:
        first = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
        reason = f"{type(problem).__name__}: {first}" if first else type(problem).__name__
        raise OutputError(
            f"{path}: not a readable Excel workbook ({reason}). Open it in Excel or LibreOffice and save it "
            f"again as .xlsx, or save it as CSV."
        )
    except OSError as problem:
        raise OutputError(f"{path}: cannot read it ({problem.strerror or problem}).")
    except Exception as problem:  # openpyxl raises its own InvalidFileException and lxml errors
        if type(problem).__module__.split(".")[0] not in ("openpyxl", "lxml", "defusedxml", "zipfile"):
            raise
        raise OutputError(
            f"{path}: not a readable Excel workbook ({type(problem).__name__}). Open it in Excel or "
            f"LibreOffice and save it again as .xlsx, or save it as CSV."
        )


def _load_workbook(path: Path) -> tuple[Any, bool]:
    """The workbook as pandas loads it with openpyxl (read only, values, no links), its shared strings as
    spelt: openpyxl drops each "x005F_" from them, so a typed "_x000D_" (saved by Excel as "_x005F_x000D_")
    read as a carriage return (saved as "_x000D_"). `cell_shown` reads the escapes, unless the second value,
    whether the workbook's text is escaped (`_escapes_text`), is False."""
    from openpyxl.cell.text import Text
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    class Reader(ExcelReader):
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is None:
                return
            item = f"{{{SHEET_MAIN_NS}}}si"
            with self.archive.open(part.PartName[1:]) as source:
                for _, node in iterparse(source):
                    if node.tag == item:
                        self.shared_strings.append(Text.from_tree(node).content)
                        node.clear()

    reader = Reader(path, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb, _escapes_text(reader.archive)


# The AppVersion `coder export xlsx` writes in the workbook's docProps/app.xml beside Application "coder"
# since it escapes text (probe KK13). Before, it wrote the Application alone and every text as it is: a
# "_x000D_" in such a workbook is the seven characters coder wrote (probe LL2), though a spreadsheet
# shows a line break. A spreadsheet (or openpyxl) that saves the workbook writes its own app.xml.
ESCAPING_APP_VERSION = "2.0000"
_EXTENDED_PROPERTIES = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}"


def _escapes_text(archive: Any) -> bool:
    """False for a workbook `coder export xlsx` wrote before it escaped text, and never saved since: its
    docProps/app.xml names Application "coder" and no AppVersion. True for every other workbook: those
    coder writes now, and those Excel, LibreOffice or a script saved."""
    from openpyxl.xml.functions import (
        fromstring,  # (defusedxml when installed, as openpyxl reads the rest)
    )

    try:
        properties = fromstring(archive.read("docProps/app.xml"))
    except (KeyError, SyntaxError, ValueError):  # no such part, or not XML: not coder's (openpyxl never reads it)
        return True
    application = properties.findtext(f"{_EXTENDED_PROPERTIES}Application")
    return application != "coder" or properties.find(f"{_EXTENDED_PROPERTIES}AppVersion") is not None


# The custom document property naming a workbook `coder export xlsx` wrote (xlsx.write_segments_xlsx): Excel,
# LibreOffice and openpyxl keep it when they save the workbook, a workbook written anew has another or none.
WORKBOOK_PROPERTY = "coder workbook"
_PROPERTIES_MAX_BYTES = 1024 * 1024


def workbook_carries(path: str | Path, identifier: str) -> bool:
    """Does the workbook at `path` carry `identifier` (WORKBOOK_PROPERTY) in its document properties?
    False for any file that is not such a workbook, unreadable or a link.

    >>> workbook_carries("outputs/segments.xlsx", "0f3a9c1e")  # doctest: +SKIP
    True
    """
    import zipfile

    if not identifier or not re.fullmatch(r"[0-9a-f]+", identifier):
        return False
    # The property's name found first, its value looked for in the 1 KB after each of its first 64 places: one
    # pattern over the part backtracked over every name left open (1 MB of them: 30 s a part, probe XX3).
    named = re.compile(rf'name=["\']{re.escape(WORKBOOK_PROPERTY)}["\']'.encode())
    value = re.compile(rf'[^<>]*>\s*<(?:\w+:)?lpwstr\b[^<>]*>{identifier}</'.encode())
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a link, a pipe someone left: never opened
            return False
        with zipfile.ZipFile(path) as archive:
            for part in archive.infolist():
                if part.filename.lower().startswith("docprops/") and part.file_size <= _PROPERTIES_MAX_BYTES:
                    text = archive.read(part)
                    if any(value.match(text[found.end():found.end() + 1024]) is not None
                           for found in islice(named.finditer(text), 64)):
                        return True
    except (OSError, ValueError, zipfile.BadZipFile, NotImplementedError, EOFError, RuntimeError):
        return False
    return False


def cell_shown(value: Any, *, escaped: bool = True) -> str:
    """A workbook cell as text, as the researcher typed it and the sheet shows it: a date without the
    midnight time Excel stores with it (2019-03-27, not 2019-03-27 00:00:00), a time to the minute or
    second, a whole number without ".0" (a number cell is a float to Excel: 1, not 1.0), text with its
    "_xHHHH_" escapes read (`_unescaped`) unless `escaped` is False (a workbook that wrote text as it is).

    >>> import datetime
    >>> [cell_shown(value) for value in (datetime.datetime(2019, 3, 27), datetime.datetime(2019, 3, 27, 14, 30), 1.0, 2.5, "x")]
    ['2019-03-27', '2019-03-27 14:30', '1', '2.5', 'x']
    """
    import datetime

    if value is None or value != value:  # (NaN, NaT: a blank cell)
        return ""
    if isinstance(value, datetime.datetime):  # pandas' Timestamp too
        if value.microsecond >= 500_000:  # a time Excel stored as a fraction of a day, a hair short of the second
            value = value + datetime.timedelta(microseconds=1_000_000 - value.microsecond)
        value = value.replace(microsecond=0)
        if (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if escaped and isinstance(value, str) and "_x" in value:
        return _unescaped(value)
    return str(value)


# "_xHHHH_" in a cell's text spells the character U+HHHH (ECMA-376 Part 1, 22.9.2.19 ST_Xstring): Excel saves
# a carriage return as "_x000D_" and a typed "_x000D_" as "_x005F_x000D_" (as `coder export xlsx` writes it,
# xlsx._escaped); openpyxl hands both over as spelt. They are read as LibreOffice reads them: "_" and the
# characters an XML file cannot hold (control characters, UTF-16 halves, U+FFFE, U+FFFF), the only ones a
# spreadsheet spells so. A "_x0041_" from a program that wrote it unescaped (pandas) is the text that was
# typed, as LibreOffice shows it (the spec would read "A"); a workbook `export xlsx` wrote before probe
# KK13 is read with no escapes at all (`_escapes_text`).
_SPREADSHEET_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|005[Ff]|[Dd][89A-Fa-f][0-9A-Fa-f]{2}|[Ff]{3}[EeFf])_")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unescaped(text: str) -> str:
    r"""A cell's text as the spreadsheet shows it, its "_xHHHH_" escapes read left to right.

    >>> _unescaped("_x005F_x0041_ _x000D_ _xD83D__xDE00_ _x0041_ _X005F_ _x00")
    '_x0041_ \r 😀 _x0041_ _X005F_ _x00'
    """
    text = _SPREADSHEET_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    if _SURROGATE.search(text) is not None:  # "_xD83D__xDE00_": one character spelt as its UTF-16 halves
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _table_sheet(workbook: Any) -> str | int:
    """The sheet of a workbook that holds the table: the one `coder export xlsx` names `segments`, else
    the first whose header has a `segment_id` or `review` column, else the first. A reviewer may add a
    sheet (a pivot, instructions) that the spreadsheet puts first."""
    import pandas as pd

    names = [str(name) for name in workbook.sheet_names]
    if len(names) <= 1:
        return names[0] if names else 0
    for name in names:
        if name.strip().casefold() == "segments":
            return name
    for name in names:
        header = {str(column).strip().casefold() for column in pd.read_excel(workbook, sheet_name=name, nrows=0).columns}
        if header & {"segment_id", "review"}:
            return name
    return names[0]


# A workbook is a zip file of XML parts: what they may unpack to before openpyxl reads them (its
# memory is about seven times the XML: a 0.6 MB file of one 600 MB cell took 4 GB and 12 s).
_WORKBOOK_MAX_PARTS = 10_000
_WORKBOOK_MAX_EXPANSION = 100  # times the file's size, past _WORKBOOK_EXPANSION_FLOOR
_WORKBOOK_EXPANSION_FLOOR = 64 * 1024 * 1024
_WORKBOOK_MAX_UNPACKED = 1024 * 1024 * 1024
_EXCEL_MAX_ROWS = 1_048_576  # rows of a sheet in Excel, the header's among them


def _check_workbook_size(path: Path) -> None:
    """Raise OutputError when the workbook's parts would unpack to more than a workbook's do: past
    _WORKBOOK_MAX_EXPANSION times its size (and _WORKBOOK_EXPANSION_FLOOR), past
    _WORKBOOK_MAX_UNPACKED, or more than _WORKBOOK_MAX_PARTS parts. The sizes are those the archive
    declares, which zipfile holds each part to when it reads it."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = archive.infolist()
    packed = path.stat().st_size
    unpacked = sum(part.file_size for part in parts)
    budget = min(_WORKBOOK_MAX_UNPACKED, max(_WORKBOOK_EXPANSION_FLOOR, _WORKBOOK_MAX_EXPANSION * packed))
    if len(parts) > _WORKBOOK_MAX_PARTS or unpacked > budget:
        raise OutputError(
            f"{path}: its {len(parts):,} part(s) would unpack to {unpacked / 2**20:,.0f} MB from {packed / 2**10:,.0f} KB, "
            f"more than a workbook holds: not read, as a damaged or hostile file. Open it in Excel or LibreOffice "
            f"and save it again, or save it as CSV.")


def _sniff_separator(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {separator: header.count(separator) for separator in (",", ";", "\t")}
    best = max(counts, key=lambda separator: counts[separator])
    return best if counts[best] else ","


# --- decoding ----------------------------------------------------------------------------------


class DecodeError(CoderError):
    """Bytes that are not text in any encoding `decode_text` tries; the message is the reason."""


_ZERO_WIDTH_SPACE = "\u200b".encode()


def decode_text(data: bytes, *, fallback: str | None = None, chinese_code_pages: bool = False,
                stray_nuls: bool = False) -> tuple[str, str]:
    """The one decoder: (text with LF line ends and no BOM, encoding name).

    In order: a UTF-8 byte order mark ("utf-8-sig"), a UTF-16 LE/BE byte order mark ("utf-16"),
    strict UTF-8 ("utf-8"), then GB18030 ("gb18030", a superset of GBK and GB2312) when the
    result reads as Chinese text; with `chinese_code_pages` (tables people save, dictionaries), Big5 ("cp950") or
    GBK ("gbk") when exactly one reads it clearly as Chinese (`chinese_code_page_reading`), Big5 over a
    GB18030 reading too; then `fallback` (dictionaries pass "cp1252", what older word lists are saved in). `stray_nuls`: a corpus's document may hold a
    NUL byte or two in UTF-8 text, read as zero-width spaces; anything else with a NUL is binary.

    >>> decode_text(b"\\xef\\xbb\\xbfa\\r\\nb\\rc")
    ('a\\nb\\nc', 'utf-8-sig')

    Raises:
        DecodeError: binary data, or none of the encodings fits.
    """
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _strict(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
        if stray_nuls and text is not None and "\x00" in text and text.count("\x00") <= max(2, len(data) // 10_000):
            text = text.replace("\x00", "\u200b")  # as below without a byte order mark (probe AC, NUL1)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # The "utf-16" codec reads the byte order mark and drops it.
        text, encoding = _strict(data, "utf-16"), "utf-16"
        if text is not None and "\x00" in text:  # UTF-32 LE also starts with FF FE
            raise DecodeError(UNDECODABLE)
    elif b"\x00" in data:
        # With `stray_nuls` (a corpus's documents), a stray NUL or two in UTF-8 text (a copy from a terminal,
        # a buggy exporter) is read as a zero-width space, which matching reads through ("联\x00席会议" codes
        # 联席会议) and which keeps every offset after it pointing into the file (dropped, each NUL moved them
        # one character, probe AB3): the whole document was skipped for one invisible byte. More, without
        # UTF-8 around them, or in a table or dictionary (read strictly), is binary.
        nuls = data.count(b"\x00")
        text = (_strict(data.replace(b"\x00", _ZERO_WIDTH_SPACE), "utf-8")
                if stray_nuls and nuls <= max(2, len(data) // 10_000) else None)
        if text is None or not text or text.replace("\u200b", "").isspace() or any(
                char < " " and char not in _ALLOWED_CONTROLS for char in text):
            raise DecodeError(BINARY)
        encoding = "utf-8"
    else:
        text, encoding = _strict(data, "utf-8"), "utf-8"
        if text is None:
            text, encoding = utf8_with_gb18030_runs(data), "utf-8+gb18030"
        if text is None:
            text, encoding = _strict(data, "gb18030"), "gb18030"
            if text is not None and (not _looks_like_chinese_text(text) or _reads_as_japanese(data, text)):
                text = None
            # Read as GB18030, only a Big5 reading can change the answer: the Big5 and GBK readings only when Big5
            # reads it as Chinese (a GBK file read twice more cost 2.3 times a Windows-1252 one's CPU, probe AT4).
            if chinese_code_pages and (text is None or _reads_as_big5_chinese(data)):
                chinese = chinese_code_page_reading(data)
                if chinese is not None and (text is None or chinese[1] == "cp950"):
                    text, encoding = chinese
            if text is None and fallback is not None:
                text, encoding = _strict(data, fallback), fallback
    if text is None:
        raise DecodeError(UNDECODABLE)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


# The code pages Excel on a Chinese Windows saves "CSV (Comma delimited)" in: Big5 in Taiwan and Hong Kong,
# GBK in mainland China (a GBK file that reads as Chinese text is GB18030's already, see decode_text).
CHINESE_CODE_PAGES = {"cp950": "Big5 (cp950)", "gbk": "GBK"}


def chinese_code_page_reading(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) when exactly one of Big5 and GBK reads `data` clearly as Chinese (`_reads_as_chinese`),
    else None: a table or word list then is read as before (Windows-1252). Never for a file with CR line ends
    only (Excel for Mac's Mac Roman), nor for one that reads as Korean (EUC-KR) or Japanese (EUC-JP,
    Shift-JIS) text: their bytes read as Chinese too, and as Chinese that looks real (probe AS4, AS6).

    >>> chinese_code_page_reading("document,地區\\na.txt,臺灣\\n".encode("cp950"))
    ('document,地區\\na.txt,臺灣\\n', 'cp950')
    >>> chinese_code_page_reading("it´s late, O´Neill´s".encode("cp1252")) is None
    True
    """
    if b"\r" in data and b"\n" not in data:
        return None
    readings = [(text, encoding) for encoding in CHINESE_CODE_PAGES
                if (text := _strict(data, encoding)) is not None and _reads_as_chinese(text, encoding)]
    if len(readings) != 1:
        return None
    # Two Big5 characters read as two Hangul one time in six (高雄 as 값땡): a Big5 reading yields to four or more.
    return None if _reads_as_korean_or_japanese(data, 2 if readings[0][1] == "gbk" else 4) else readings[0]


def _big5_reading_beside_letters(data: bytes) -> str | None:
    """`data` read as Big5, with LF line ends, when it reads as Chinese (`_reads_as_chinese`) but for a run of
    ideographs touching an ASCII letter (附錄B相關, 約48°51′N相關), else None. Such a reading is refused
    (Western text gives it: HYVINKÄÄ as HYVINK闡, probe AV3) unless a table coder wrote reads back in it
    (`_likeliest_encoding`): a Big5 review sheet with such a note was read as Windows-1252 mojibake (probe BD3)."""
    text = _strict(data, "cp950")
    if text is None or not _IDEOGRAPH_BESIDE_A_LETTER.search(text) or not _reads_as_chinese(text, "cp950", beside_letters=True):
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reads_as_big5_chinese(data: bytes) -> bool:
    """Whether Big5 reads `data` as Chinese (`_reads_as_chinese`), which chinese_code_page_reading needs to say cp950."""
    text = _strict(data, "cp950")
    return text is not None and _reads_as_chinese(text, "cp950")


def _reads_as_chinese(text: str, encoding: str, *, beside_letters: bool = False) -> bool:
    """True when `text` holds two ideographs or more, nothing beyond ASCII but ideographs and Chinese
    punctuation, half its ideographs or more in runs of two or more, and nine in ten of them among the
    commonest (`lexicon.common_hanzi`). Western text read in a Chinese code page pairs an accented letter with
    the next byte: one ideograph among letters, most often a rare one (it´s as Big5 is it愀s, Genève Gen鋦e).
    So a GBK reading counts only simplified characters of GB2312 (an accent and an ASCII letter make a
    traditional one of GBK's extension: Bosnía Bosn韆), and a Big5 reading (traditional characters, folded to
    simplified) is refused when a run of ideographs touches an ASCII letter (Big5 takes ASCII letters as second
    bytes: YLÖJÄRVI YL烷麗VI, HYVINKÄÄ HYVINK闡) (probes AS1, AV3), unless `beside_letters`; a Big5 sheet
    writing `PPP模式` is read as before, as Windows-1252, but where a table coder wrote reads back as Big5
    (`_big5_reading_beside_letters`)."""
    if not _chinese_code_page_text(encoding).fullmatch(text):
        return False
    runs = _IDEOGRAPH_RUNS.findall(text)
    ideographs = "".join(runs)
    if len(ideographs) < 2 or sum(len(run) for run in runs if len(run) > 1) < 0.5 * len(ideographs):
        return False
    if encoding == "cp950" and not beside_letters and _IDEOGRAPH_BESIDE_A_LETTER.search(text):
        return False
    if encoding == "gbk":
        common = _common_gb2312()
    else:
        from .lexicon import common_hanzi, fold_text

        common, ideographs = common_hanzi(), fold_text(ideographs)
    return sum(char in common for char in ideographs) >= 0.9 * len(ideographs)


@functools.cache
def _common_gb2312() -> frozenset[str]:
    """The common ideographs (`lexicon.common_hanzi`) GB2312 holds."""
    from .lexicon import common_hanzi

    return frozenset(char for char in common_hanzi() if _encodes(char, "gb2312"))


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _reads_as_korean_or_japanese(data: bytes, least: int) -> bool:
    """True when `data` decodes as EUC-KR with nine in ten of its characters beyond ASCII Hangul, or as EUC-JP
    or Shift-JIS with half of them kana, `least` of them or more: text no Chinese file holds so."""
    for encoding, script in (("euc_kr", _HANGUL), ("euc_jp", _KANA), ("shift_jis", _KANA)):
        text = _strict(data, encoding)
        if text is None or text.isascii():
            continue
        beyond_ascii = "".join(_BEYOND_ASCII.findall(text))
        share, found = 0.9 if encoding == "euc_kr" else 0.5, len(script.findall(beyond_ascii))
        if found >= max(least, share * len(beyond_ascii)):
            return True
    return False


def _reads_as_japanese(data: bytes, reading: str) -> bool:
    """True when `reading` (`data` as GB18030) holds kana and EUC-JP or Shift-JIS reads `data` strictly, with
    as many kana and a share of its ideographs among the commonest (`_COMMON_HANZI`, traditional forms folded)
    larger by `_JAPANESE_MARGIN`. GB2312 holds the kana where EUC-JP does, so Japanese in EUC-JP reads as GB18030 with its kana
    right and its kanji as rarer hanzi (東京都と神奈川県 as 澎叠旁と坷凄李俯, probe AZ1); Chinese with a kana
    or two (《千と千寻の神隐し》) reads in EUC-JP as rarer kanji, or not at all (EUC-JP has no "，")."""
    kana = len(_KANA.findall(reading))
    if kana < _JAPANESE_KANA_SHARE * (kana + sum(map(len, _IDEOGRAPH_RUNS.findall(reading)))):
        return False  # Chinese with a kana word (阵营 连年 ね 不妨 网络游戏: 1 in 13, probe BD2); Japanese prose is 1 in 3
    share = _common_share(reading)
    for encoding in ("euc_jp", "shift_jis"):
        text = _strict(data, encoding)
        if text is not None and len(_KANA.findall(text)) >= kana and _common_share(text) >= share + _JAPANESE_MARGIN:
            return True
    return False


# How much more of its ideographs a Japanese reading must have among the commonest: Japanese read as GB18030
# scored 0.31-0.5 less than read as EUC-JP; a GBK list of rarer Chinese words with one kana word 0.06 less, and
# was skipped as undecodable with any margin below that (probe BC1: 画蛇添足 ... ユニクロ).
_JAPANESE_MARGIN = 0.2
# The least share of kana among the kana and ideographs of a Japanese reading: Japanese prose writes its particles
# and endings in kana (a third to a half of its characters); a Chinese list with one kana word holds 1 in 10 or less.
_JAPANESE_KANA_SHARE = 0.2


def _common_share(text: str) -> float:
    """The share of `text`'s ideographs, traditional forms folded, among the commonest (`_COMMON_HANZI`)."""
    from .lexicon import fold_text

    ideographs = fold_text("".join(_IDEOGRAPH_RUNS.findall(text)))
    return sum(char in _COMMON_HANZI for char in ideographs) / len(ideographs) if ideographs else 0.0


_BEYOND_ASCII = LazyPattern("[^\x00-\x7f]+")
_HANGUL = LazyPattern("[\uac00-\ud7a3]")
_KANA = LazyPattern("[\u3041-\u309f\u30a0-\u30ff]")


# A run of bytes that are not UTF-8, through at most two characters that are (a GBK character's two bytes
# make a valid UTF-8 pair about one time in twelve), and a two-byte UTF-8 character at either end.
_STRAY_RUN = LazyPattern("[\u0080-\u07ff]?[\udc80-\udcff]+(?:[\u0080-\uffff]{1,2}[\udc80-\udcff]+)*[\u0080-\u07ff]?")
_CHINESE_RUN = LazyPattern("[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef\u2018-\u201d\u2026\u00b7]+")


def utf8_with_gb18030_runs(data: bytes) -> str | None:
    """UTF-8 text with some Chinese in GBK or GB18030 in it (text pasted from another file), each run
    of those bytes read as GB18030; None unless every byte that is not UTF-8 lies in such a run and the
    text has letters, punctuation or Chinese beyond ASCII outside them (at least 3, and one for every 50
    bytes in them), which a file wholly in GBK, whose pairs only now and then look like UTF-8, has not.

    >>> utf8_with_gb18030_runs("Café, résumé, naïve: ".encode() + "联席会议制度".encode("gbk"))
    'Café, résumé, naïve: 联席会议制度'
    """
    text = data.decode("utf-8", "surrogateescape")
    pieces, at, in_runs = [], 0, 0
    for run in _STRAY_RUN.finditer(text):
        start, end = run.span()
        reading = _chinese_reading(text[start:end])
        if reading is None:  # the characters at its edges as the UTF-8 they are
            start += not _is_stray(text[start])
            end -= not _is_stray(text[end - 1])
            reading = _chinese_reading(text[start:end])
            if reading is None:
                return None
        pieces += [text[at:start], reading]
        at = end
        in_runs += len(text[start:end].encode("utf-8", "surrogateescape"))
    pieces.append(text[at:])
    if not in_runs:
        return None
    outside = sum(1 for piece in pieces[0::2] for char in piece if _UTF8_EVIDENCE.match(char))
    return "".join(pieces) if outside >= max(3, in_runs / 50) else None


# What a UTF-8 file holds beyond ASCII (accented letters, typographic punctuation, Chinese), and a GBK pair
# that happens to be valid UTF-8 seldom gives (it reads as a Latin-1 symbol, Greek, Cyrillic, Hebrew, ...).
_UTF8_EVIDENCE = LazyPattern("[\u00c0-\u024f\u2000-\ud7ff\ue000-\U0010ffff]")


def _is_stray(char: str) -> bool:
    return "\udc80" <= char <= "\udcff"


def _chinese_reading(piece: str) -> str | None:
    """The GB18030 reading of `piece`'s bytes when it is Chinese text only, else None."""
    try:
        reading = piece.encode("utf-8", "surrogateescape").decode("gb18030")
    except UnicodeError:
        return None
    return reading if _CHINESE_RUN.fullmatch(reading) else None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
# What a Chinese sheet or word list holds beyond ASCII: ideographs and CJK, full-width and Big5 punctuation, and
# (`_chinese_code_page_text`) the symbols Big5 and GBK hold.
_CHINESE_CODE_PAGE_TEXT = (f"\t\n\r\f\v\x20-\x7e{IDEOGRAPHS}\u3000-\u303f\uff01-\uff60\uffe0-\uffe6\ufe30-\ufe6b"
                           "\u00b7\u2014\u2015\u2018-\u201d\u2025-\u2027")


@functools.cache
def _chinese_code_page_text(encoding: str) -> re.Pattern[str]:
    """Text a Chinese sheet read in `encoding` (Big5 or GBK) may hold: `_CHINESE_CODE_PAGE_TEXT` and every
    symbol, number and mark either code page holds (25°C, 3×4, €5, ±, ①, ℃, →, ≤; box drawing in Big5, where
    ─ is a dash) (probes BC2, BC5), but none of their letters beyond ideographs (Greek, Cyrillic, pinyin, kana,
    Bopomofo): Western text read in such a code page gives those (ŁUKASZ in Windows-1250 read as Big5 is
    ΣKASZ). Read as GBK, no box drawing or block elements: common Big5 characters read so (育 as ▅, 拉 as ┰,
    府 as ┎), and a Big5 sheet of 教育 then read as GBK too, so as neither (probe BD4)."""
    symbols = [char for char in _code_page_symbols() if not (encoding == "gbk" and "\u2500" <= char <= "\u259f")]
    return re.compile(f"[{_CHINESE_CODE_PAGE_TEXT}{re.escape(''.join(symbols))}]*")


@functools.cache
def _code_page_symbols() -> tuple[str, ...]:
    """Every symbol, number, mark and space Big5 or GBK holds in two bytes, sorted (57 ms to list: once)."""
    return tuple(sorted({char for code_page in CHINESE_CODE_PAGES for char in _double_byte_characters(code_page)
                         if unicodedata.category(char)[0] in "NPSZ"}))


def _double_byte_characters(encoding: str) -> Iterator[str]:
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if (char := _strict(bytes((lead, trail)), encoding)) is not None:
                yield char


_SPACE_BETWEEN_IDEOGRAPHS = LazyPattern(f"(?<=[{IDEOGRAPHS}]) (?=[{IDEOGRAPHS}])")
_IDEOGRAPH_RUNS = LazyPattern(f"[{IDEOGRAPHS}]+")
# An ideograph beside an ASCII letter: an accented letter of a Latin word read as Big5 (HYVINKÄÄ as HYVINK闡).
# Not the C or F of "°C"/"°F" (25°C聯席): Western text gives "°" in Big5 only from "¢X" (probe BC5).
_IDEOGRAPH_BESIDE_A_LETTER = LazyPattern(f"(?<!°)[A-Za-z][{IDEOGRAPHS}]|[{IDEOGRAPHS}][A-Za-z]")
_IDEOGRAPH_RUN = LazyPattern(f"[{IDEOGRAPHS}]{{2,}}")  # 1 ms to compile: on first use (a GB18030 file)


# The 500 or so ideographs written most often in modern Chinese.
_COMMON_HANZI = frozenset(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
    "多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还"
    "因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结"
    "解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级"
    "少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领"
    "七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每"
    "目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影"
    "算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准"
    "精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听"
    "该铁价严"
)


def _looks_like_chinese_text(text: str) -> bool:
    """True if GB18030-decoded text is plausibly real text rather than mis-decoded bytes.

    Real GBK/GB2312 documents use mostly the ideographs of GB2312 (both bytes >= 0xA1; even
    traditional-character text has under half outside it). A Latin-1 or Windows-1252 file
    decoded as GB18030 pairs an accented letter with the next ASCII letter (second byte
    < 0xA1), which gives almost only GBK-only ideographs; binary data
    brings control, private-use and unassigned characters. Real Chinese comes in runs of
    ideographs, while a mis-decoded accent gives one ideograph between Latin letters
    ("w琰s"), so at least half of the ideographs must be in runs of two or more. Punctuation and symbols outside
    GB2312 (no-break spaces, "›") are neutral, so mostly-English GBK files are accepted.
    """
    counts = Counter(text)
    controls = ideographs = rare = 0
    for char, n in counts.items():
        if char < "\x80":
            if char < " " and char not in _ALLOWED_CONTROLS:
                controls += n
            continue
        category = unicodedata.category(char)
        if category in ("Co", "Cn", "Cs"):
            return False
        if category == "Cc":
            controls += n
        elif "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or char >= "\U00020000":
            ideographs += n
            try:
                char.encode("gb2312")
            except UnicodeEncodeError:
                rare += n
    if controls > len(text) // 1000 or rare > 0.5 * ideographs:
        return False
    # Chinese words are runs of ideographs; a mis-decoded accent is one ideograph among letters.
    in_runs = sum(len(run) for run in _IDEOGRAPH_RUN.findall(text)) if ideographs else 0
    if in_runs < 0.5 * ideographs:
        return False
    # Korean (EUC-KR) read as GB18030 gives GB2312 ideographs too, in runs, but seldom the common ones
    # (a fifth of them against three quarters and more in Chinese prose, half in a list of names, a
    # third in traditional characters), and in runs of two to five between spaces, as Korean words are.
    common = sum(n for char, n in counts.items() if char in _COMMON_HANZI)
    if ideographs >= 20 and common < 0.35 * ideographs:
        return len(_SPACE_BETWEEN_IDEOGRAPHS.findall(text)) < 0.1 * ideographs
    # A short text: a title or a line of Chinese holds one of the commonest ideographs (市长联席会议 four);
    # a short Korean line read so ("공동회의 개최" as 傍悼雀狼 俺弥) seldom does.
    if 4 <= ideographs < 20 and not common:
        return False
    # Japanese in EUC-JP reads as GB18030 with its kana right and its kanji wrong: Chinese has no kana.
    kana = sum(n for char, n in counts.items() if "\u3040" <= char <= "\u30ff")
    return kana <= 0.1 * ideographs
