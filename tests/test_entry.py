"""The `coder` process itself (`python -m coder`, the installed script): exit statuses, output, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def coder(*arguments: str, cwd: Path = REPO, script: str | None = None) -> subprocess.CompletedProcess:
    """`python -m coder ARGUMENTS` in a fresh process (or `script`, run as python -c), from this checkout."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "coder", *arguments]
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=cwd, env=environment,
                          timeout=300)


def test_entry_version_and_help_print_whole_and_exit_0():
    version = coder("--version")
    assert (version.returncode, version.stderr) == (0, "")
    assert version.stdout.startswith("coder ") and version.stdout.endswith("\n")
    helped = coder("--help")
    assert helped.returncode == 0
    assert "Usage:" in helped.stdout and "run" in helped.stdout and helped.stdout.endswith("\n")


def test_entry_errors_keep_their_status_and_message(tmp_path: Path):
    missing = coder("run", str(tmp_path / "nowhere"), "--codebook", str(REPO / "codebook.yaml"), "--out",
                    str(tmp_path / "out"), "--quiet")
    assert missing.returncode == 1
    assert "nowhere" in missing.stderr and "Traceback" not in missing.stderr
    unknown = coder("run", "--no-such-option")
    assert unknown.returncode == 2 and "No such option" in unknown.stderr


def test_entry_run_writes_every_output_and_its_summary(tmp_path: Path):
    """The process ends quickly after a run: everything it wrote is whole, the printed summary too."""
    out = tmp_path / "out"
    done = coder("run", str(REPO / "seeds"), "--codebook", str(REPO / "codebook.yaml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "report.html" in done.stderr  # the summary (on stderr, beside the progress bar)
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["counts"]["segments"] > 0
    assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))


@pytest.mark.parametrize("status", [0, 3])
def test_entry_joins_threads_and_runs_exit_handlers_before_it_ends(tmp_path: Path, status: int):
    """What Python's exit does first still happens: a thread that is not a daemon finishes, atexit
    handlers run (a file they write is whole), buffered output is flushed; the status is the command's."""
    marker = tmp_path / "marker.txt"
    script = (
        "import atexit, sys, threading, time\n"
        "import coder.cli as cli\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        f"    open({str(marker)!r}, 'a', encoding='utf-8').write('thread\\n')\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'a', encoding='utf-8').write('atexit\\n'))\n"
        "@cli.app.command('probe')\n"
        "def probe() -> None:\n"
        "    threading.Thread(target=late).start()\n"
        "    sys.stdout.write('x' * 200_000)\n"  # more than a pipe holds
        "    sys.stdout.write('end')\n"  # left in the stream's buffer: flushed at the end
        f"    raise SystemExit({status})\n"
        "sys.argv = ['coder', 'probe']\n"
        "cli.main()\n"
    )
    ended = coder(script=script)
    assert ended.returncode == status, ended.stderr
    assert ended.stdout == "x" * 200_000 + "end"
    assert marker.read_text(encoding="utf-8") == "thread\natexit\n"


def test_entry_a_message_exit_takes_pythons_way():
    script = "import sys\nimport coder.cli as cli\n@cli.app.command('probe')\ndef probe() -> None:\n    raise SystemExit('stopped: a message')\nsys.argv = ['coder', 'probe']\ncli.main()\n"
    ended = coder(script=script)
    assert ended.returncode == 1 and "stopped: a message" in ended.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_entry_bounds_the_c_heap_for_itself_and_its_processes_unless_the_environment_says_otherwise():
    """A `coder` process sets glibc's arenas and mapping threshold for itself (mallopt) and, through the
    environment, for the coding processes it spawns; values the user set stay as they are."""
    show = ("import os, coder.cli;"
            "print(os.environ['MALLOC_ARENA_MAX'], os.environ['MALLOC_MMAP_THRESHOLD_'])")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    found = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, env=environment, check=True)
    assert found.stdout.split() == ["2", str(4 * 2**20)]
    found = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True, check=True,
                           env={**environment, "MALLOC_ARENA_MAX": "4"})
    assert found.stdout.split() == ["4", str(4 * 2**20)]


def test_entry_output_a_windows_code_page_cannot_hold_is_escaped_not_a_crash(tmp_path: Path):
    """Windows writes redirected output (`coder kwic 联席会议 > hits.txt`) in the ANSI code page, strictly:
    a Chinese document name or label stopped kwic and lint with an encoding error, as an internal error."""
    corpus = tmp_path / "语料"
    corpus.mkdir()
    (corpus / "报告一.txt").write_text("长三角联席会议制度。\n", encoding="utf-8")
    codebook = tmp_path / "cb.yaml"
    codebook.write_text("codes:\n  联席会议:\n    label: 政府间联席会议\n    keywords: [联席会议]\n", encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "cp1252"}
    for arguments in (["kwic", "联席会议", "--corpus", str(corpus), "--codebook", str(codebook)],
                      ["lint", "--codebook", str(codebook), "--corpus", str(corpus)]):
        shown = subprocess.run([sys.executable, "-m", "coder", *arguments], capture_output=True, cwd=tmp_path,
                               env=environment, timeout=300)
        assert shown.returncode in (0, 1), shown.stderr  # lint may find something; never an internal error
        assert b"internal error" not in shown.stderr and b"Traceback" not in shown.stderr
    kwic = subprocess.run([sys.executable, "-m", "coder", "kwic", "联席会议", "--corpus", str(corpus), "--codebook",
                           str(codebook)], capture_output=True, cwd=tmp_path, env=environment, timeout=300)
    assert kwic.returncode == 0 and b"\\u8054\\u5e2d\\u4f1a\\u8bae" in kwic.stdout
