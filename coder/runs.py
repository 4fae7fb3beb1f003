"""Runs: read run.json records and compare two runs (codebook changes and segment changes)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import OutputError
from .models import Codebook

RUN_FILE = "run.json"
SEGMENTS_FILE = "segments.csv"
CHANGES_COLUMNS = ("code", "change", "detail", "segments_added", "segments_removed", "segments_unchanged")

# The fields of a code that run.json keeps, in order.
_CODE_FIELDS = ("id", "label", "path", "description", "color", "keywords", "regex", "exclude")


def codebook_to_records(codebook: Codebook) -> list[dict[str, Any]]:
    """The codebook as a list of plain code dicts, as stored under "codebook_codes" in run.json.

    >>> from coder.models import Code
    >>> codebook_to_records(Codebook(codes=(Code(id="a", label="A", path=("a",), keywords=("x",)),)))
    [{'id': 'a', 'label': 'A', 'path': ['a'], 'description': '', 'color': None, 'keywords': ['x'], 'regex': [], 'exclude': []}]
    """
    return [
        {
            "id": code.id,
            "label": code.label,
            "path": list(code.path),
            "description": code.description,
            "color": code.color,
            "keywords": list(code.keywords),
            "regex": list(code.regex),
            "exclude": list(code.exclude),
        }
        for code in codebook.codes
    ]


@dataclass(frozen=True)
class RunRecord:
    """What run.json says about one run; `folder` holds run.json and segments.csv."""

    folder: str
    tool_version: str = ""
    codebook: str = ""
    codebook_sha256: str = ""
    codebook_codes: tuple[dict[str, Any], ...] = ()
    corpus: str = ""
    unit: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    seconds: float | None = None

    @property
    def segments_path(self) -> Path:
        return Path(self.folder) / SEGMENTS_FILE


def _run_json_path(run: str | Path) -> Path:
    path = Path(run)
    if path.is_dir():
        path = path / RUN_FILE
    if not path.is_file():
        raise OutputError(
            f"{path}: no run.json found. Pass a folder written by `coder run --out FOLDER` "
            f"or the path of its run.json."
        )
    return path


def read_run(run: str | Path) -> RunRecord:
    """Read a run folder (or its run.json path) into a RunRecord.

    >>> read_run("outputs").codebook_sha256  # doctest: +SKIP
    '3f1c...'
    """
    path = _run_json_path(run)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise OutputError(f"{path}:{error.lineno}: run.json is not valid JSON ({error.msg}). Run `coder run` again to rewrite it.")
    if not isinstance(data, dict):
        raise OutputError(f"{path}: run.json must hold a JSON object. Run `coder run` again to rewrite it.")
    codes = data.get("codebook_codes", data.get("codebook_records", []))
    if not isinstance(codes, list) or not all(isinstance(code, dict) and "id" in code for code in codes):
        raise OutputError(
            f"{path}: \"codebook_codes\" must be a list of code objects with an \"id\". "
            f"This run.json predates run comparison; run `coder run` again to rewrite it."
        )
    seconds = data.get("seconds")
    return RunRecord(
        folder=str(path.parent),
        tool_version=str(data.get("tool_version", data.get("version", ""))),
        codebook=str(data.get("codebook", "")),
        codebook_sha256=str(data.get("codebook_sha256", "")),
        codebook_codes=tuple(_normalize_code(code) for code in codes),
        corpus=str(data.get("corpus", "")),
        unit=str(data.get("unit", "")),
        counts=dict(data.get("counts") or {}),
        started=str(data.get("started", data.get("time", ""))),
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
    )


def _normalize_code(code: dict[str, Any]) -> dict[str, Any]:
    path = code.get("path") or [code["id"]]
    if isinstance(path, str):
        path = path.split("/")
    return {
        "id": str(code["id"]),
        "label": str(code.get("label") or code["id"]),
        "path": [str(part) for part in path],
        "description": str(code.get("description") or ""),
        "color": code.get("color") or None,
        "keywords": [str(item) for item in code.get("keywords") or []],
        "regex": [str(item) for item in code.get("regex") or []],
        "exclude": [str(item) for item in code.get("exclude") or []],
    }
