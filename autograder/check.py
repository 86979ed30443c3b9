"""The student's side: run a notebook in the sandbox and its public tests, no database."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from autograder.execute import CallTimeout, CellOutcome, ForkServer, Kernel, KernelDied, NotPlainData, StudentError
from autograder.ingest import read_submission
from autograder.results import TestOutcome
from autograder.testkit import verdict


@dataclass
class CheckReport:
    """What `autograder check` found in one notebook."""

    notebook: Path
    error: str = ""
    cells: list[CellOutcome] = field(default_factory=list)
    tests: list[TestOutcome] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and all(t.status == "passed" for t in self.tests)


def public_tests(cells: tuple[str, ...]) -> list[str]:
    """Names of the notebook's top-level `test_*` functions that take no arguments."""
    names = []
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # IPython syntax (magics) or a student's typo: the cell's own error says so
        names += [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                  and node.name.startswith("test_") and not node.args.args and node.name not in names]
    return names


def _quiz_gaps(kernel: Kernel) -> list[str]:
    try:
        answers = kernel.get("ANSWERS")
    except StudentError:
        return []
    except (NotPlainData, CallTimeout):  # e.g. a set among the answers: report it, run on
        return ["ANSWERS is not plain data"]
    if not isinstance(answers, dict):
        return ["ANSWERS is not a dict"]
    return sorted(str(key) for key, value in answers.items() if value is None)


def check(notebook: Path, *, timeout: float = 60.0, call_timeout: float = 10.0) -> CheckReport:
    """Run `notebook` and call each of its public tests in the sandbox."""
    submission = read_submission(notebook)
    report = CheckReport(notebook)
    if submission.error:
        report.error = submission.error
        return report
    with ForkServer() as server, Kernel(server, list(submission.cells), timeout=timeout,
                                        call_timeout=call_timeout) as kernel:
        try:
            report.cells = kernel.start().cells
            for name in public_tests(submission.cells):
                try:
                    kernel.call(name)
                    status, message = "passed", ""
                except Exception as error:  # each test's failure is reported, the others still run
                    status, message = verdict(error)
                report.tests.append(TestOutcome(name, status, float(status == "passed"), 1.0, message))
            report.unanswered = _quiz_gaps(kernel)
        except KernelDied as error:
            report.error = f"{notebook}: the notebook could not be run ({error})"
    return report
