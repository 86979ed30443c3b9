"""Run an assignment's hidden pytest tests against submissions, in the trusted process.

One pytest session serves a whole chunk of submissions: the `student` fixture
is parametrised over them at session scope, so pytest runs every test for one
submission, tears its kernel down, then moves to the next. Test code never
runs student code in this process: `student.softmax(z)` goes through
`autograder.execute.Kernel` to the sandboxed child.
"""

from __future__ import annotations

import importlib.util
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

from autograder.course import Assignment
from autograder.execute import ForkClient, ForkServer, Kernel, KernelDied, NotebookRun, RemoteObject
from autograder.forbidden_ops import ForbiddenOperation, configured, scan
from autograder.ingest import Submission
from autograder.nbgrader_cells import TESTS_MODULE, GradeCells
from autograder.nbgrader_format import NbgraderError, source_of
from autograder.results import SubmissionResult, TestOutcome
from autograder.testkit import MESSAGE_CHARS, Credit, verdict


class HiddenTestsError(Exception):
    """The hidden tests themselves are broken (they do not collect)."""


class Student:
    """The handle hidden tests get: attribute calls run the student's function remotely."""

    def __init__(self, kernel: Kernel, student_id: str, forbidden: dict[str, str] | None = None) -> None:
        self._kernel = kernel
        self.id = student_id
        self._forbidden = forbidden or {}  # notebook name -> why the static scan refuses it

    def measure(self, name: str, request: dict) -> dict:
        """A round of GPU timing around the notebook's `name` (see autograder.gpu_timing)."""
        if name in self._forbidden:
            raise ForbiddenOperation(self._forbidden[name])
        return self._kernel.measure(name, request)

    def get(self, name: str) -> Any:
        return self._kernel.get(name)

    def new(self, name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        """An object made in the child, e.g. `student.new("Perceptron", learning_rate=0.1)`."""
        return self._kernel.new(name, *args, **kwargs)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in self._forbidden:
                raise ForbiddenOperation(self._forbidden[name])
            return self._kernel.call(name, *args, **kwargs)

        call.__name__ = name
        return call


@dataclass
class Graded:
    """What one submission's session produced, before it is stored."""

    submission: Submission
    tests: list[TestOutcome] = field(default_factory=list)
    run: NotebookRun | None = None
    error: str = ""
    log: str = ""

    def result(self, max_score: float) -> SubmissionResult:
        s = self.submission
        problems = [s.note] if s.note else []
        if self.run is not None:
            problems += [f"cell {cell.index + 1}: {cell.error}" for cell in self.run.errors()]
        return SubmissionResult(
            student=s.student, path=str(s.path), content_hash=s.content_hash, submitted_at=s.submitted_at,
            status="error" if self.error else "graded", max_score=max_score, late=s.late,
            message=self.error or "; ".join(problems)[:4000], log=self.log, tests=self.tests)


def graded_test_name(item: pytest.Item) -> str:
    """The test's name as graded: the function, plus its own parameters (never the student)."""
    callspec = getattr(item, "callspec", None)
    own = [str(value) for key, value in (callspec.params.items() if callspec else ()) if key != "student"]
    return f"{item.originalname}[{'-'.join(own)}]" if own else item.originalname


def _defined_in_its_module(item: pytest.Item) -> bool:
    """False for a function a test file imported (say `quiz_choice` from the testkit)."""
    function = getattr(item, "function", None)
    return function is None or function.__module__ == item.module.__name__


class GradingPlugin:
    """Binds hidden tests to submissions and collects one TestOutcome per test."""

    def __init__(self, assignment: Assignment, submissions: list[Submission], server: ForkServer | ForkClient,
                 seed: int, timeout: float, device: str, on_graded: Callable[[SubmissionResult], None]) -> None:
        self.assignment = assignment
        self.device_name = device
        self.submissions = submissions
        self.server = server
        self.seed = seed
        self.timeout = timeout
        self.on_graded = on_graded
        self.points: dict[str, float] = {}
        self.collect_errors: list[str] = []
        self._current: Graded | None = None

    # --- collection ---------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): the points a hidden test is worth")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "student" in metafunc.fixturenames:
            metafunc.parametrize("student", range(len(self.submissions)), indirect=True, scope="session",
                                 ids=[s.student for s in self.submissions])

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items[:] = [item for item in items if _defined_in_its_module(item)]
        for item in items:
            if "student" not in getattr(item, "fixturenames", ()):
                self.collect_errors.append(f"{item.nodeid}: a hidden test must take the `student` fixture")
            marker = item.get_closest_marker("points")
            self.points[graded_test_name(item)] = float(marker.args[0]) if marker else 1.0
        if self.collect_errors:
            items.clear()

    # --- fixtures -------------------------------------------------------------------------

    @pytest.fixture(scope="session")
    def student(self, request: pytest.FixtureRequest):
        submission = self.submissions[request.param]
        self._current = graded = Graded(submission)
        forbidden = configured(self.assignment.solutions / "assignment.toml")
        kernel = Kernel(self.server, list(submission.cells), timeout=self.timeout,
                        call_timeout=self.assignment.call_timeout, forbidden=forbidden)
        try:
            graded.run = kernel.start()
            yield Student(kernel, submission.student, scan(list(submission.cells), forbidden))
        except KernelDied as error:
            graded.error = f"{submission.path}: the notebook could not be run ({error})"
            raise
        finally:
            kernel.close()
            graded.log = kernel.log
            self._finish(graded)

    @pytest.fixture(scope="session")
    def reference(self):
        spec = importlib.util.spec_from_file_location(f"autograder_reference_{self.assignment.name}",
                                                      self.assignment.reference)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(graded_test_name(request.node).encode())])

    @pytest.fixture(scope="session")
    def device(self) -> str:
        """Where tests put tensors: "cuda" when grading with a GPU, else "cpu"."""
        return self.device_name

    @pytest.fixture
    def credit(self) -> Credit:
        return Credit()

    # --- results --------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if self._current is not None and not self._current.error:
                self._current.tests.append(self._outcome(item, call, report))

    def _outcome(self, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> TestOutcome:
        name = graded_test_name(item)
        points = self.points.get(name, 1.0)
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            return TestOutcome(name, "skipped", 0.0, points, reason.removeprefix("Skipped: "))
        status, message = verdict(call.excinfo.value if call.excinfo else None)
        credit = item.funcargs.get("credit") if hasattr(item, "funcargs") else None
        fraction = 1.0 if status == "passed" else 0.0
        if isinstance(credit, Credit) and credit.parts:
            fraction = credit.fraction(status == "passed")
            message = "; ".join(credit.failures() + ([message] if message else []))[:MESSAGE_CHARS]
            status = "failed" if status == "passed" and fraction < 1.0 else status
        return TestOutcome(name, status, round(points * fraction, 6), points, message,
                           round(report.duration, 4))

    def _finish(self, graded: Graded) -> None:
        self._current = None
        self.on_graded(graded.result(sum(self.points.values())))


def run_hidden_tests(assignment: Assignment, submissions: list[Submission], server: ForkServer | ForkClient, *,
                     seed: int, timeout: float, on_graded: Callable[[SubmissionResult], None],
                     device: str = "cpu") -> dict[str, float]:
    """Grade `submissions` with the assignment's hidden tests; returns the points per test."""
    reported: set[str] = set()

    def graded(result: SubmissionResult) -> None:
        reported.add(result.student)
        on_graded(result)

    plugin = GradingPlugin(assignment, submissions, server, seed, timeout, device, graded)
    plugins: list[object] = [plugin]
    tests = str(assignment.solutions)
    if assignment.format == "nbgrader":  # the grade cells of the source notebook, evaluated here
        try:
            plugins.append(GradeCells(source_of(assignment)))
        except NbgraderError as error:
            raise HiddenTestsError(str(error)) from None
        tests = str(TESTS_MODULE)
    unused_plugins = ("cacheprovider", "terminal", "stepwise", "logging", "warnings", "junitxml", "pastebin",
                      "doctest", "nose", "faulthandler", "legacypath", "recwarn",
                      "setuponly", "setupplan", "unittest", "capture", "unraisableexception", "threadexception")
    arguments = [tests, *(f"-pno:{name}" for name in unused_plugins), "--assert=plain",
                 "--import-mode=importlib", "-o", "python_files=test_*.py", "-o", "python_functions=test_* quiz_*",
                 "--ignore", str(assignment.samples)]
    exit_code = pytest.main(arguments, plugins=plugins)
    where = f"hidden tests of {assignment.name} ({assignment.solutions})"
    if plugin.collect_errors:
        raise HiddenTestsError(f"{where}: " + "; ".join(plugin.collect_errors))
    if exit_code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise HiddenTestsError(f"{where}: no test_* or quiz_* functions found")
    unreported = [s.student for s in submissions if s.student not in reported]
    if exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or unreported:
        raise HiddenTestsError(f"{where}: pytest stopped ({pytest.ExitCode(exit_code).name}) before grading "
                               f"{len(unreported)} submission(s); see the error above")
    return plugin.points

