"""The grading path, top to bottom: ingest → execute and test → store.

`grade()` reads the submissions, starts the grader processes (each a trusted
pytest host with its own sandboxed fork server) before the gradebook is
opened, skips what was already graded with the same tests, and records each
submission in its own transaction as its result comes back. Only this process
writes the gradebook; a batch that is killed and started again grades only
what is missing.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import platform
import queue
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.course import Assignment
from autograder.execute import ForkServer
from autograder.gradebook import Gradebook
from autograder.hidden_tests import HiddenTestsError, run_hidden_tests
from autograder.ingest import Submission, collect
from autograder.results import SubmissionResult
from autograder.sandbox import ResourceLimits

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


class GradingError(Exception):
    """The batch could not be graded (broken hidden tests, grader processes gone)."""


@dataclass
class Batch:
    """What one `grade` run did."""

    results: list[SubmissionResult] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)
    run_id: int | None = None
    seed: int | None = None

    @property
    def failed_to_run(self) -> list[SubmissionResult]:
        return [r for r in self.results if r.status == "error"]


def _environment(workers: int, timeout: float, device: str) -> dict:
    import numpy

    from autograder import __version__

    return {"autograder": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "platform": platform.platform(), "workers": workers, "timeout": timeout, "device": device}


def _refused_result(submission: Submission, max_score: float) -> SubmissionResult:
    return SubmissionResult(student=submission.student, path=str(submission.path),
                            content_hash=submission.content_hash, submitted_at=submission.submitted_at,
                            status="error", max_score=max_score, late=submission.late, message=submission.error)


def resolve_device(device: str) -> str:
    """"cpu" or "cuda" for a requested "auto", "cpu" or "cuda"; raises if CUDA is asked for and absent."""
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise GradingError("--device cuda: no CUDA device on this machine")
    if device == "auto":
        return "cuda" if available else "cpu"
    return device


def _grader_process(assignment: Assignment, limits: ResourceLimits, timeout: float, device: str,
                    tasks: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    """A trusted grader: takes chunks of submissions, runs the hidden tests, sends results back."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        device = resolve_device(device)
    except GradingError as error:
        results.put(("broken", str(error)))
        return
    with ForkServer(limits) as server:
        while (task := tasks.get()) is not None:
            seed, chunk = task
            graded: list[SubmissionResult] = []
            try:
                run_hidden_tests(assignment, chunk, server, seed=seed, timeout=timeout, device=device,
                                 on_graded=graded.append)
                results.put(("graded", graded))  # only once the whole session ended cleanly
            except HiddenTestsError as error:
                results.put(("broken", str(error)))
            except Exception as error:  # a bug on the trusted side: stop the batch, say what happened
                results.put(("broken", f"the grader failed: {type(error).__name__}: {error}"))


class _Graders:
    """A pool of grader processes fed through a queue."""

    def __init__(self, assignment: Assignment, workers: int, timeout: float, limits: ResourceLimits,
                 device: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.tasks, self.results = context.Queue(), context.Queue()
        self.processes = [context.Process(target=_grader_process, daemon=True,
                                          args=(assignment, limits, timeout, device, self.tasks, self.results))
                          for _ in range(workers)]
        for process in self.processes:
            process.start()

    def submit(self, seed: int, chunk: list[Submission]) -> None:
        self.tasks.put((seed, chunk))

    def next_message(self) -> tuple[str, object]:
        """The next chunk's verdict: ("graded", results) or ("broken", why)."""
        while True:
            try:
                return self.results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [process.exitcode for process in self.processes if not process.is_alive()]
                if dead:
                    raise GradingError(f"a grader process exited (code {dead[0]}); "
                                       "run the command again to grade the rest") from None

    def close(self, finished: bool) -> None:
        """Stop the graders: politely after a finished batch, at once after a failure."""
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes:
            if finished:
                process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()


def _chunks(submissions: list[Submission], workers: int) -> list[list[Submission]]:
    size = max(1, min(32, math.ceil(len(submissions) / (workers * 4))))  # one pytest session a chunk
    return [submissions[i:i + size] for i in range(0, len(submissions), size)]


def grade(assignment: Assignment, paths: list[Path], *, db_url: str | None = None, workers: int = 1,
          timeout: float = 60.0, force: bool = False, seed: int | None = None, device: str = "auto",
          limits: ResourceLimits = ResourceLimits(),
          on_result: Callable[[SubmissionResult], None] = lambda result: None,
          on_plan: Callable[[int], None] = lambda count: None) -> Batch:
    """Grade every notebook under `paths` into the gradebook at `db_url`."""
    submissions = collect(paths)
    readable = [s for s in submissions if not s.error]
    graders = _Graders(assignment, max(1, min(workers, len(readable))), timeout, limits, device) if readable else None
    finished = False
    try:
        with Gradebook(db_url) as gradebook:
            batch = _grade_into(gradebook, graders, assignment, submissions, force, seed,
                                _environment(workers, timeout, device), on_result, on_plan)
            finished = True
            return batch
    finally:
        if graders is not None:
            graders.close(finished)


def _grade_into(gradebook: Gradebook, graders: _Graders | None, assignment: Assignment,
                submissions: list[Submission], force: bool, seed: int | None, environment: dict,
                on_result: Callable[[SubmissionResult], None], on_plan: Callable[[int], None]) -> Batch:
    tests_hash = assignment.tests_hash()
    batch = Batch(seed=seed if seed is not None else gradebook.assignment_seed(assignment.name))
    todo = []
    for submission in submissions:
        done = gradebook.already_graded(assignment.name, submission.student, submission.content_hash, tests_hash)
        (batch.skipped if done and not force else todo).append(submission)
    on_plan(len(todo))
    if not todo:
        return batch
    batch.run_id = gradebook.start_run(assignment.name, seed=batch.seed, tests_hash=tests_hash,
                                       environment=environment)
    max_score = max((grade.max_score for grade in gradebook.grades(assignment.name)), default=0.0)

    def store(result: SubmissionResult) -> None:
        gradebook.record(batch.run_id, assignment.name, result)
        batch.results.append(result)
        on_result(result)

    chunks = _chunks([s for s in todo if not s.error], len(graders.processes) if graders else 1)
    for chunk in chunks:
        graders.submit(batch.seed, chunk)
    for _ in chunks:
        kind, payload = graders.next_message()
        if kind == "broken":
            raise GradingError(str(payload))
        for result in payload:
            max_score = result.max_score
            store(result)
    for submission in todo:
        if submission.error:
            store(_refused_result(submission, max_score))
    gradebook.finish_run(batch.run_id)
    return batch
