"""Bulk downloads as Canvas, Moodle and Blackboard write them (shared/research/lms-formats.md), for tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
from nbformat import v4

WHEN = (2025, 3, 10, 12, 0, 0)


def notebook_bytes(*sources: str) -> bytes:
    return nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(s) for s in sources])).encode()


def write_zip(path: Path, members: dict[str, bytes | tuple[bytes, tuple]]) -> Path:
    """A zip of `members`: name -> data, or name -> (data, its time as (Y, M, D, h, m, s))."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, member in members.items():
            data, when = member if isinstance(member, tuple) else (member, WHEN)
            archive.writestr(zipfile.ZipInfo(name, when), data, zipfile.ZIP_DEFLATED)
    return path


def unpack(archive: Path, folder: Path) -> Path:
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)
    return folder
