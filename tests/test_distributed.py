"""`autograder grade --scheduler`: a real `dask scheduler` and two `dask worker` processes on loopback.

One worker is killed (SIGKILL) while it holds chunks of the batch: the scheduler
gives them to the other, and the gradebook ends with every submission graded
exactly once, by the coordinator alone.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from distributed import Client

from autograder.course import Course
from autograder.distributed import _unpacked_assignment, assignment_files

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb"
STUB = REPO / "assignments" / "03_softmax" / "softmax.ipynb"
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
DEADLINE = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=output, stderr=subprocess.STDOUT,
                                env=ENVIRONMENT, cwd=REPO)  # `-m` puts the cwd first on sys.path


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict]:
    """A scheduler and the workers `steady` and `victim`, each hosting a pool of one grader."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes = {"scheduler": _start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                     "--no-dashboard", log=tmp_path / "scheduler.log")}
    for name in ("steady", "victim"):
        processes[name] = _start("worker", address, "--name", name, "--nthreads", "1", "--no-nanny",
                                 "--memory-limit", "0", "--no-dashboard", log=tmp_path / f"{name}.log")
    try:
        with Client(address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
            yield {"address": address, "client": client, "processes": processes}
    finally:
        for process in processes.values():
            process.kill()
            process.wait()


def _slow_copy(path: Path, base: Path) -> None:
    """`base` with a last cell that sleeps, so that each chunk takes a while."""
    notebook = nbformat.read(base, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(0.3)"))
    nbformat.write(notebook, path)


def _gradings(db: Path) -> dict[str, int]:
    """Gradings per student so far (none while the gradebook does not exist yet)."""
    if not db.exists():
        return {}
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            return dict(connection.execute(
                "SELECT st.name, count(g.id) FROM students st JOIN submissions s ON s.student_id = st.id "
                "JOIN gradings g ON g.submission_id = s.id GROUP BY st.name").fetchall())
        except sqlite3.OperationalError:  # the schema is not migrated yet
            return {}


def _grade(course: Path, folder: Path, db: Path, scheduler: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder", "grade", "softmax", str(folder), "--db",
                             f"sqlite:///{db}", "--scheduler", scheduler, "--workers", "1", "--timeout", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**ENVIRONMENT, "AUTOGRADER_COURSE": str(course)}, cwd=course)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(course: Path, cluster: dict, tmp_path: Path) -> None:
    folder, db = tmp_path / "submissions", tmp_path / "gradebook.sqlite"
    folder.mkdir()
    correct = {f"correct{index:02d}" for index in range(20)}
    stubs = {f"stub{index}" for index in range(4)}
    for student in correct:
        _slow_copy(folder / f"{student}.ipynb", ALICE)
    for student in stubs:
        _slow_copy(folder / f"{student}.ipynb", STUB)

    coordinator = _grade(course, folder, db, cluster["address"])
    client, victim = cluster["client"], cluster["processes"]["victim"]
    victim_address = next(address for address, worker in client.scheduler_info(n_workers=-1)["workers"].items()
                          if worker["name"] == "victim")
    held: list = []
    started = time.monotonic()
    while not held and coordinator.poll() is None and time.monotonic() - started < DEADLINE:
        if _gradings(db):  # both pools are up and grading
            held = [key for key in client.processing().get(victim_address, ()) if "grade" in str(key)]
        time.sleep(0.05)
    if not held and coordinator.poll() is not None:
        pytest.fail("the batch ended before the victim held a chunk: " + "".join(coordinator.communicate()))
    assert held, "the victim never held a chunk while the batch ran"
    victim.send_signal(signal.SIGKILL)

    stdout, stderr = coordinator.communicate(timeout=DEADLINE)
    assert coordinator.returncode == 0, stdout + stderr
    assert "24 graded, 0 failed to run, 0 skipped" in stdout
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert _gradings(db) == {student: 1 for student in correct | stubs}

    with sqlite3.connect(db) as connection:
        scores = dict(connection.execute(
            "SELECT st.name, sum(t.score) FROM students st JOIN submissions s ON s.student_id = st.id "
            "JOIN gradings g ON g.submission_id = s.id JOIN test_results t ON t.grading_id = g.id "
            "GROUP BY st.name").fetchall())
        unfinished = connection.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
    assert {scores[student] for student in correct} == {100.0}
    assert {scores.get(student, 0.0) for student in stubs} == {0.0}
    assert unfinished == 0


def test_pools_starting_together_on_one_host_never_read_the_assignment_half_written(
        course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assignment = Course(course).assignment("softmax")
    job = {"folder": assignment.folder, "files": assignment_files(assignment), "tests_hash": assignment.tests_hash()}
    with ThreadPoolExecutor(2) as pool:
        hashes = set(pool.map(lambda _: _unpacked_assignment(job).tests_hash(), range(200)))
    assert hashes == {job["tests_hash"]}
    assert not list((tmp_path / "autograder-dask").glob("*/.unpacking-*"))


def test_a_malformed_scheduler_address_is_refused_before_the_gradebook_opens(course: Path, tmp_path: Path) -> None:
    db = tmp_path / "gradebook.sqlite"
    result = _grade(course, ALICE.parent, db, "localhost8786")
    stdout, stderr = result.communicate(timeout=120)
    assert result.returncode == 1
    assert stderr.strip().splitlines() == [
        "Error: --scheduler 'localhost8786': give the Dask scheduler's address as tcp://HOST:PORT"]
    assert not db.exists()
