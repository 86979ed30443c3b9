"""The grading path, top to bottom: ingest → execute and test → store.

`grade()` reads the submissions (names them as the roster does), starts the grader processes (each a trusted
pytest host with its own sandboxed fork server) before the gradebook is
opened, skips what was already graded with the same tests, and records each
submission in its own transaction as its result comes back. Only this process
writes the gradebook; a batch that is killed and started again grades only
what is missing. With a Dask scheduler the graders run on its workers
(`autograder.distributed`) and this process still does all the writing.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from autograder.course import Assignment
from autograder.distributed import DaskGraders
from autograder.gradebook import Gradebook
from autograder.graders import Graders, GradingError
from autograder.ingest import Submission, collect
from autograder.nbgrader_format import restore
from autograder.quiz_answers import shown_answers
from autograder.results import SubmissionResult
from autograder.roster import as_enrolled
from autograder.sandbox import ResourceLimits

__all__ = ["Batch", "GradingError", "grade"]


@dataclass
class Batch:
    """What one `grade` run did."""

    results: list[SubmissionResult] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # files passed over, duplicates: one line each
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


def grade(assignment: Assignment, paths: list[Path], *, db_url: str | None = None, workers: int = 1,
          timeout: float = 60.0, force: bool = False, seed: int | None = None, device: str = "auto",
          limits: ResourceLimits = ResourceLimits(), insecure: bool = False,
          on_result: Callable[[SubmissionResult], None] = lambda result: None,
          on_plan: Callable[[int], None] = lambda count: None, scheduler: str | None = None) -> Batch:
    """Grade every notebook under `paths` into the gradebook at `db_url`, on the Dask cluster of
    `scheduler` if one is given (`workers` graders on each of its workers), else here."""
    intake = collect(paths)
    submissions = intake.submissions
    if assignment.format == "nbgrader":
        submissions = restore(assignment, submissions)  # locked cells from the source, no grade cell
    readable = [s for s in submissions if not s.error]
    graders: Graders | DaskGraders | None = None
    if readable and scheduler:
        graders = DaskGraders(scheduler, assignment, workers, timeout, limits, device, insecure)
    elif readable:
        graders = Graders(assignment, max(1, min(workers, len(readable))), timeout, limits, device)
    finished = False
    try:
        layers = graders.require_isolation(insecure) if graders else []
        environment = {**_environment(workers, timeout, device), "sandbox": layers, "scheduler": scheduler}
        with Gradebook(db_url) as gradebook:
            batch = _grade_into(gradebook, graders, assignment, as_enrolled(gradebook, submissions), force, seed,
                                environment, on_result, on_plan)
            batch.notices = intake.notices + batch.notices
            finished = True
            return batch
    finally:
        if graders is not None:
            graders.close(finished)


def _grade_into(gradebook: Gradebook, graders: Graders | DaskGraders | None, assignment: Assignment,
                submissions: list[Submission], force: bool, seed: int | None, environment: dict,
                on_result: Callable[[SubmissionResult], None], on_plan: Callable[[int], None]) -> Batch:
    tests_hash = assignment.tests_hash()
    batch = Batch(seed=seed if seed is not None else gradebook.assignment_seed(assignment.name),
                  notices=[s.note for s in submissions if s.note])
    todo = []
    for submission in submissions:
        done = gradebook.already_graded(assignment.name, submission.student, submission.content_hash, tests_hash)
        (batch.skipped if done and not force else todo).append(submission)
    on_plan(len(todo))
    if not todo:
        return batch
    batch.run_id = gradebook.start_run(assignment.name, seed=batch.seed, tests_hash=tests_hash,
                                       environment=environment)
    max_score = gradebook.max_score(assignment.name)

    graded = {submission.student: submission for submission in todo}

    def store(result: SubmissionResult) -> None:
        submission = graded[result.student]
        lateness = assignment.deadline.assess(result.student, result.submitted_at if submission.timed else None,
                                              result.late)
        result = replace(result, late=lateness.late, penalty_rate=lateness.penalty_rate,
                         answers=shown_answers(submission.cells))
        gradebook.record(batch.run_id, assignment.name, result)
        batch.results.append(result)
        on_result(result)

    for result in graders.grade([s for s in todo if not s.error], batch.seed) if graders else ():
        max_score = result.max_score
        store(result)
    for submission in todo:
        if submission.error:
            store(_refused_result(submission, max_score))
    gradebook.finish_run(batch.run_id)
    return batch
