"""Grading on Dask distributed: submissions go out as plain records, results come back as plain records.

`autograder grade ... --scheduler tcp://HOST:PORT` makes this process the
coordinator. It sends chunks of submissions (student id, path, content hash,
time, code cells) together with the assignment's hidden-test files (bytes) to
the Dask workers; each worker hosts a pool of sandboxed graders (`Graders`)
for the assignment, runs the hidden tests and returns the chunk's results as
dicts of str, numbers and lists. Dask pickles what crosses, so nothing else
does: no student object ever leaves a sandboxed child, and no object of ours
leaves the coordinator. Only the coordinator writes the gradebook, one
submission at a time as its chunk comes back; a worker that dies mid-chunk
returns nothing, and the scheduler runs the chunk again elsewhere, so no grade
is lost or stored twice.

Start the workers with `dask worker tcp://HOST:PORT --nthreads 1 --no-nanny`
(the pool brings the parallelism; a nanny runs the worker as a daemonic process,
which may not start grader processes) and the `autograder` package importable.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing
import re
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from autograder.course import Assignment, Course
from autograder.graders import Graders, GradingError, chunk_submissions
from autograder.ingest import Submission
from autograder.results import SubmissionResult, TestOutcome
from autograder.sandbox import ResourceLimits

CONNECT_TIMEOUT = "20s"
SCHEDULER_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d{1,5}")


def submission_record(submission: Submission) -> dict[str, Any]:
    """A readable submission as plain data."""
    return {"student": submission.student, "path": str(submission.path), "content_hash": submission.content_hash,
            "submitted_at": submission.submitted_at.isoformat(), "cells": list(submission.cells),
            "note": submission.note, "late": submission.late}


def submission_from_record(record: dict[str, Any]) -> Submission:
    return Submission(record["student"], Path(record["path"]), record["content_hash"],
                      datetime.fromisoformat(record["submitted_at"]), tuple(record["cells"]),
                      note=record["note"], late=record["late"])


def result_record(result: SubmissionResult) -> dict[str, Any]:
    """A result as plain data (the worker's side)."""
    return {**asdict(result), "submitted_at": result.submitted_at.isoformat()}


def result_from_record(record: dict[str, Any]) -> SubmissionResult:
    """A result from a worker's record (the coordinator's side)."""
    return SubmissionResult(**{**record, "submitted_at": datetime.fromisoformat(record["submitted_at"]),
                               "tests": [TestOutcome(**test) for test in record["tests"]]})


def assignment_files(assignment: Assignment) -> dict[str, bytes]:
    """Every file that decides a score (what `tests_hash` covers), by path under the solutions folder."""
    files = {}
    for path in sorted(assignment.solutions.rglob("*")):
        relative = path.relative_to(assignment.solutions)
        if path.is_file() and relative.parts[0] != "samples" and "__pycache__" not in relative.parts:
            files[str(relative)] = path.read_bytes()
    return files


# On a Dask worker: one pool at a time, made and owned by one long-lived thread (the graders die with the
# thread that started them), used by one task at a time.
_pool_owner = ThreadPoolExecutor(1, thread_name_prefix="autograder-pool")
_pool_lock = threading.Lock()
_pools: dict[str, tuple[Graders, list[str]]] = {}


def _unpacked_assignment(job: dict[str, Any]) -> Assignment:
    """The job's assignment, written under a folder of its own tests hash on this host. Workers on one host
    share it and rewrite it as their pools start: each file is written aside (outside `solutions/`, which the
    hash covers) and renamed into place, so that no worker reads one half written."""
    root = Path(tempfile.gettempdir()) / "autograder-dask" / job["tests_hash"]
    folder = root / "solutions" / job["folder"]
    for relative, content in job["files"].items():
        target = (folder / relative).resolve()
        if folder.resolve() not in target.parents:
            raise GradingError(f"the job's file {relative!r} lies outside the assignment's folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = root / f".unpacking-{uuid.uuid4().hex}"
        staged.write_bytes(content)
        staged.replace(target)
    assignment = Course(root).assignment(job["folder"])
    if assignment.tests_hash() != job["tests_hash"]:
        raise GradingError(f"the hidden tests of {job['folder']} arrived changed on a Dask worker")
    return assignment


def _start_pool(job: dict[str, Any]) -> tuple[Graders, list[str]]:
    graders = Graders(_unpacked_assignment(job), job["workers"], job["timeout"], ResourceLimits(**job["limits"]),
                      job["device"])
    try:
        return graders, graders.require_isolation(job["insecure"])
    except GradingError:
        graders.close(finished=False)
        raise


def _pool(job: dict[str, Any]) -> tuple[Graders, list[str]]:
    """This worker's pool for the job, started (and the previous one stopped) when the job differs."""
    key = hashlib.sha256(repr(sorted((k, v) for k, v in job.items() if k != "files")).encode()).hexdigest()
    if key not in _pools:
        _close_pools()
        _pools[key] = _pool_owner.submit(_start_pool, job).result()
    return _pools[key]


@atexit.register
def _close_pools(finished: bool = True) -> None:
    for graders, _ in _pools.values():
        graders.close(finished)
    _pools.clear()


def grade_on_worker(job: dict[str, Any], records: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Run on a Dask worker: grade a chunk; {"layers", "results"} or {"error"}, all plain data."""
    if multiprocessing.current_process().daemon:
        return {"error": "the Dask worker runs as a daemonic process and cannot start graders; "
                         "start it with `dask worker --no-nanny` (or DASK_DISTRIBUTED__WORKER__DAEMON=False)"}
    try:
        with _pool_lock:
            graders, layers = _pool(job)
            submissions = [submission_from_record(record) for record in records]
            results = [result_record(result) for result in graders.grade(submissions, seed)]
    except GradingError as error:
        with _pool_lock:
            _close_pools(finished=False)  # a pool that failed mid-chunk may hold that chunk's leftovers: start afresh
        return {"error": str(error)}
    return {"layers": layers, "results": results}


class DaskGraders:
    """Graders on a Dask cluster, with the interface of `Graders`: chunks out, results back."""

    def __init__(self, scheduler: str, assignment: Assignment, workers: int, timeout: float,
                 limits: ResourceLimits, device: str, insecure: bool) -> None:
        from distributed import Client

        if not SCHEDULER_ADDRESS.fullmatch(scheduler):
            raise GradingError(f"--scheduler {scheduler!r}: give the Dask scheduler's address as tcp://HOST:PORT")
        try:
            self.client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, ValueError, TypeError) as error:
            raise GradingError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
        self.scheduler = scheduler
        self.job = {"folder": assignment.folder, "files": assignment_files(assignment),
                    "tests_hash": assignment.tests_hash(), "workers": workers, "timeout": timeout,
                    "limits": limits.as_dict(), "device": device, "insecure": insecure}
        self.batch = uuid.uuid4().hex[:12]

    def require_isolation(self, insecure: bool) -> list[str]:
        """Start a pool on every worker now (in parallel); the layers in force on all of them."""
        workers = list(self.client.scheduler_info(n_workers=-1)["workers"])
        if not workers:
            raise GradingError(f"the Dask scheduler at {self.scheduler} has no workers")
        probes = [self.client.submit(grade_on_worker, self.job, [], 0, workers=[worker], allow_other_workers=True,
                                     key=f"autograder-probe-{self.batch}-{index}", pure=False)
                  for index, worker in enumerate(workers)]
        replies = [self._reply(probe) for probe in probes]
        common = set.intersection(*(set(reply["layers"]) for reply in replies))
        return [layer for layer in replies[0]["layers"] if layer in common]

    def _reply(self, future: Any) -> dict[str, Any]:
        from distributed.scheduler import KilledWorker

        try:
            reply = future.result()
        except KilledWorker as error:
            raise GradingError(f"Dask workers kept dying on one chunk ({error}); "
                               "run the command again to grade the rest") from None
        if "error" in reply:
            raise GradingError(f"on a Dask worker: {reply['error']}")
        return reply

    def grade(self, submissions: list[Submission], seed: int) -> Iterator[SubmissionResult]:
        """Results of every submission, chunk by chunk as the Dask workers finish them."""
        from distributed import as_completed

        workers = len(self.client.scheduler_info(n_workers=-1)["workers"]) * self.job["workers"]
        futures = [self.client.submit(grade_on_worker, self.job, [submission_record(s) for s in chunk], seed,
                                      key=f"autograder-grade-{self.batch}-{index}", pure=False)
                   for index, chunk in enumerate(chunk_submissions(submissions, max(1, workers)))]
        for future in as_completed(futures, loop=self.client.loop):
            for record in self._reply(future)["results"]:
                yield result_from_record(record)

    def close(self, finished: bool) -> None:
        self.client.close()
