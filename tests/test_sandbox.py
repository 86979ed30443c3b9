"""The sandbox's policy: what its layers mean, and grading refused where files or network are open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.grade import GradingError, grade
from autograder.sandbox import isolation_gap, what_it_blocks

REPO = Path(__file__).resolve().parent.parent
FULL = ["session", "scratch folder", "network namespace", "pid namespace", "rlimits",
        "Landlock ABI 7: read-only runtime, writes only in scratch, no TCP, scoped signals",
        "no capabilities", "seccomp: no sockets, ptrace, mounts"]


def test_every_layer_of_the_full_tier_says_what_it_blocks():
    assert all(what_it_blocks(layer) for layer in FULL)
    assert what_it_blocks("no Landlock (Function not implemented): files outside scratch stay reachable") == ""
    assert what_it_blocks("network still reachable (unshare: Operation not permitted)") == ""


@pytest.mark.parametrize(("dropped", "gap"), [
    ("Landlock", "file-system isolation (Landlock)"),
    ("network namespace", "network isolation (a network namespace)"),
])
def test_a_missing_isolation_layer_is_a_gap(dropped, gap):
    assert isolation_gap(FULL) == ""
    assert isolation_gap([layer for layer in FULL if not layer.startswith(dropped)]) == gap


def test_doctor_shows_the_layers_in_force_here():
    result = subprocess.run([sys.executable, "-m", "autograder", "doctor"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "Landlock ABI" in result.stdout and "pid namespace" in result.stdout
    assert "files and network are isolated" in result.stdout and "tier: " in result.stdout


def test_grading_stops_where_the_sandbox_cannot_isolate_files(tmp_path, monkeypatch):
    without_landlock = [layer for layer in FULL if not layer.startswith("Landlock")]
    monkeypatch.setattr("autograder.graders.sandbox_layers", lambda server: without_landlock)
    notebook = tmp_path / "alice.ipynb"
    nbformat.write(nbformat.read(REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb", 4), notebook)
    db = tmp_path / "g.sqlite"

    with pytest.raises(GradingError, match=r"refusing to run student code without file-system isolation"):
        grade(Course(REPO).assignment("softmax"), [notebook], db_url=f"sqlite:///{db}")
    assert not db.exists()  # refused before the gradebook was opened
    batch = grade(Course(REPO).assignment("softmax"), [notebook], db_url=f"sqlite:///{db}", insecure=True)
    assert [result.score for result in batch.results] == [100.0]
