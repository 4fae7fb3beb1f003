"""Shared fixtures: a tiny codebook and a tiny corpus written into tmp_path."""

from __future__ import annotations

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
