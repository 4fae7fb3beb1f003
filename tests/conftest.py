"""Shared fixtures and helpers: a tiny codebook and corpus in tmp_path, `coder` in-process, small segment tables."""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result
from typer.testing import CliRunner

from coder.cli import app
from coder.codebook import parse_codebook
from coder.segments import SEGMENT_COLUMNS

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def can_symlink() -> bool:
    """Whether this OS and account may make symbolic links: Windows refuses them ([WinError 1314])
    without Developer Mode or an administrator's rights. Tried once, in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            os.symlink(folder, os.path.join(folder, "link"), target_is_directory=True)
        except (OSError, NotImplementedError):
            return False
    return True


def require_posix_files() -> None:
    """Skip the calling test or fixture unless this OS makes what a hostile POSIX folder holds: symbolic
    links, named pipes (os.mkfifo) and names with a newline or a colon (Windows refuses all three)."""
    if os.name != "posix" or not hasattr(os, "mkfifo") or not can_symlink():
        pytest.skip("needs symbolic links, named pipes and names with a newline or a colon, as POSIX makes them")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_symlinks: makes symbolic links (skipped where the OS or account refuses them)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_symlinks") and not can_symlink():
        pytest.skip("this OS or account cannot make symbolic links (on Windows: turn on Developer Mode)")


TINY_CODEBOOK = """\
name: Tiny
codes:
  joint_meeting:
    label: Joint meetings
    description: Intergovernmental meetings.
    color: "#1f77b4"
    keywords: [joint meeting, 联席会议]
    exclude: [joint meeting room]
  barriers:
    label: Barriers
    description: Obstacles to cooperation.
    keywords: [barrier*]
    codes:
      local_protection:
        description: Protecting local interests.
        keywords: [local protection]
"""

TINY_CORPUS = {
    "a.txt": "Mayors held a Joint Meeting.\n\nAdministrative barriers remain; local protection too.\n",
    "sub/b.md": "The joint meeting room was empty.\n\n各市召开联席会议，破除行政壁垒。\n",
}


@pytest.fixture
def tiny_codebook(tmp_path: Path) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(TINY_CODEBOOK, encoding="utf-8")
    return path


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for name, text in TINY_CORPUS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# --- the command line, in-process -----------------------------------------------------------


def invoke(*args: object) -> Result:
    """`coder ARGS` through typer's CliRunner, as a user would type it (Paths are fine as arguments)."""
    return CliRunner().invoke(app, [str(argument) for argument in args])


def run_ok(corpus: Path, codebook: Path, out: Path, *options: str) -> str:
    """`coder run CORPUS --codebook CODEBOOK --out OUT [OPTIONS]`, which must succeed: its output."""
    result = invoke("run", corpus, "--codebook", codebook, "--out", out, *options)
    assert result.exit_code == 0, result.output
    return result.output


def output_files(folder: Path, *, run_fields_ignored: tuple[str, ...] = ("started", "seconds", "cache", "started_in")
                 ) -> dict[str, bytes]:
    """Every output a run folder holds, by relative path (not the caches or the lock), with run.json
    re-serialised without `run_fields_ignored` (by default the clock and the cache counts, which a
    `--no-cache` run cannot share, and where the run started, relative to a folder compared with one
    elsewhere)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() or relative.parts[0] in (".cache", ".extracted") or path.name.endswith(".lock"):
            continue
        data = path.read_bytes()
        if path.name == "run.json":
            record = json.loads(data)
            data = json.dumps({key: value for key, value in record.items() if key not in run_fields_ignored}).encode()
        files[str(relative)] = data
    return files


def make_run_folder(folder: Path, documents: dict[str, str], codebook: str) -> Path:
    """Write corpus/ and codebook.yaml into `folder` (the working directory) and `coder run` them into outputs/."""
    for name, text in documents.items():
        (folder / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "corpus" / name).write_text(text, encoding="utf-8")
    (folder / "codebook.yaml").write_text(codebook, encoding="utf-8")
    result = invoke("run", "corpus", "--codebook", "codebook.yaml", "--out", "outputs", "--workers", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return folder


# --- small segment tables, for co-occurrence, network, page and browser tests -------------------

# What a page must never run, in every text a codebook or a document can put on it.
PWNED_SCRIPT = "<script>window.__pwned=1</script>"
PWNED_IMG = '<img src=x onerror="window.__pwned=1">'
SMALL_PATHS = {"admin": "barriers/admin", "local": "barriers/local", "gov": "gov"}
# d1 ¶0: admin gov · d1 ¶1: admin local gov · d1 ¶2: local · d2 ¶0: admin gov · d2 ¶1: gov;
# with one passage no code codes, N = 6: admin-gov share 3 passages, admin-local 1, gov-local 1.
SMALL_ROWS = [
    ("d1", 0, "admin"), ("d1", 0, "gov"),
    ("d1", 1, "admin"), ("d1", 1, "local"), ("d1", 1, "gov"),
    ("d1", 2, "local"),
    ("d2", 0, "admin"), ("d2", 0, "gov"),
    ("d2", 1, "gov"),
]
# The codebook of SMALL_PATHS: two barriers under one parent, governance on its own.
SMALL_CODEBOOK = parse_codebook(
    """
name: Test
codes:
  barriers:
    label: Barriers
    description: What stands in the way.
    color: "#d62728"
    codes:
      admin:
        label: Administrative barriers
        description: Red tape between jurisdictions.
        keywords: [red tape]
      local:
        label: Local protection
        keywords: [protectionism]
  gov:
    label: Governance
    keywords: [governance]
"""
)
# The same codes as a page must show safely: markup and scripts in names, labels, descriptions.
HOSTILE_CODEBOOK = parse_codebook(
    f"""
name: "Test <b>codebook</b>"
codes:
  barriers:
    label: Barriers
    color: "#d62728"
    codes:
      admin:
        label: Administrative barriers
        description: 'Red tape {PWNED_SCRIPT} {PWNED_IMG}'
        keywords: [red tape]
      local:
        label: 地方保护
        keywords: [地方保护]
  gov:
    label: Governance <b>bold</b>
    description: '{PWNED_IMG}'
    keywords: [governance]
"""
)
Cell = str | Callable[[str, int, str], object]


def segment_frame(rows: list[tuple[str, int, str]], *, reviews: dict[int, str] | None = None, **cells: Cell) -> pd.DataFrame:
    """Segment rows (document, passage, code) with every column of segments.csv.

    A cell is a value or a function of (document, passage, code). By default `code_path` comes
    from SMALL_PATHS, `label` is the code, `matched` and `text` name the code and the passage;
    `reviews` fills the review column by row number.
    """
    reviews = reviews or {}
    defaults: dict[str, Cell] = {
        "start": 0, "end": 9, "kind": "body", "code_path": lambda document, passage, code: SMALL_PATHS.get(code, code),
        "label": lambda document, passage, code: code, "hits": 1,
        "matched": lambda document, passage, code: f"{code} word",
        "text": lambda document, passage, code: f"In {document} passage {passage} the {code} word appears.",
        "note": "",
    }
    cells = defaults | cells
    records = []
    for number, (document, passage, code) in enumerate(rows):
        record: dict[str, object] = {"segment_id": f"s{number}", "document": document, "passage": passage, "code": code}
        for column, cell in cells.items():
            record[column] = cell(document, passage, code) if callable(cell) else cell
        record["review"] = reviews.get(number, "")
        records.append(record)
    return pd.DataFrame(records, columns=list(SEGMENT_COLUMNS))


# --- headless Chromium, for the browser tests and the asset linter -----------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def chromium_driver(log_performance: bool = False):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail(f"chromium or chromedriver missing ({CHROMIUM}, {CHROMEDRIVER}); run `make browser-deps`.")
        pytest.skip("chromium/chromedriver not installed (make browser-deps); required when CI is set")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1400,900", f"--user-data-dir={tempfile.mkdtemp(prefix='coder-chromium-')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]})
    return driver


def open_drawn_page(driver, path: Path, *, what: str = "page") -> None:
    """Open a written page in the browser, forgetting earlier pages' messages, and wait until it drew."""
    import time

    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri())
    deadline = time.monotonic() + 30
    while not driver.execute_script("return window.coderReady === true"):
        assert time.monotonic() < deadline, f"the {what} never finished drawing"
        time.sleep(0.05)


def requests_leaving(driver, *, allowed: tuple[str, ...] = ("file:", "data:")) -> list[str]:
    """The URLs the page asked for that are not the page itself or inline data."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith(allowed):
                urls.append(url)
    return urls


def console_problems(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def written_as_before_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """`write_segments_xlsx` as `export xlsx` wrote it from 85b5e97 until probe KK13 (85402d4): each text as
    it is, and a docProps/app.xml that names coder without an AppVersion."""
    from coder import xlsx

    monkeypatch.setattr(xlsx, "_escaped", lambda text: text)
    monkeypatch.setattr(xlsx, "_escaped_runs", lambda text, runs: runs)
    monkeypatch.setitem(xlsx._PARTS, "docProps/app.xml", OLD_APP_XML)


OLD_APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
               '<Application>coder</Application></Properties>')
