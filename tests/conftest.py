"""Shared fixtures: a tiny codebook and a tiny corpus written into tmp_path."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

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
