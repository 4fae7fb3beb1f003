"""File output shared by every stage: atomic writes, so a failed run never damages earlier outputs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pandas as pd


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path`; on success it replaces `path`, on error it is removed.

    For libraries that write to a path themselves (openpyxl, zipfile); `atomic_open` wraps it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    current = os.umask(0)
    os.umask(current)
    return current


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically (explicit encoding, whatever the locale)."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as stream:
        stream.write(data)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV that Excel opens correctly: UTF-8 with BOM, so Chinese text shows."""
    with atomic_open(path, "w", encoding="utf-8-sig", newline="") as stream:
        frame.to_csv(stream, index=False, lineterminator="\r\n")
