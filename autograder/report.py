"""Feedback after grading: a page per student (HTML and Markdown) and a summary page with plots.

Everything a page shows comes from the gradebook: scores, statuses, the late
penalty, instructor adjustments, the hidden tests' failure messages (which say
what is wrong and never an expected value: see `autograder.testkit`) and the
quiz answers the graded notebook gave (kept at grading time,
`autograder.quiz_answers`). The students' pages are format strings filled with
escaped values (`autograder.feedback_pages`); the summary is a jinja2
template (already installed with torch) that autoescapes every value, so a
student id or message cannot inject markup anywhere.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import statistics
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import jinja2

from autograder.feedback_pages import HTML, MARKDOWN, FeedbackPages
from autograder.ingest import student_id
from autograder.report_plots import SummaryPlots
from autograder.results import StudentGrade

TEMPLATES = Path(__file__).resolve().parent / "templates"
HARDEST_TESTS = 10
PAGES_PER_WRITER = 2_000  # a forked page writer pays for itself from about this many students

_HTML = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class TestSummary:
    """How one test went over the class."""

    name: str
    max_score: float
    attempts: int
    passed: int
    mean_share: float  # mean of score / max_score
    typical_failure: str

    @property
    def pass_rate(self) -> float:
        return self.passed / self.attempts if self.attempts else 0.0


def summarise_tests(grades: list[StudentGrade]) -> list[TestSummary]:
    """One summary per test over the graded students, in the tests' order."""
    outcomes: dict[str, list] = {}
    for grade in grades:
        if grade.status == "graded":
            for test in grade.tests:
                outcomes.setdefault(test.name, []).append(test)
    summaries = []
    for name, tests in outcomes.items():
        failures = Counter(t.message for t in tests if t.status != "passed" and t.message)
        shares = [t.score / t.max_score if t.max_score else 1.0 for t in tests]
        summaries.append(TestSummary(name, max(t.max_score for t in tests), len(tests),
                                     sum(t.status == "passed" for t in tests), statistics.fmean(shares),
                                     failures.most_common(1)[0][0] if failures else ""))
    return summaries


@dataclass(frozen=True)
class Reports:
    """What `write_reports` wrote."""

    summary: Path
    feedback: dict[str, tuple[Path, Path]]  # student -> (HTML, Markdown)


def _file_names(students: list[str]) -> dict[str, str]:
    """A distinct, safe file stem per student id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        stem, number = student_id(student), 1
        while stem.lower() in taken:
            number += 1
            stem = f"{student_id(student)}-{number}"
        taken.add(stem.lower())
        names[student] = stem
    return names


def _summary_context(title: str, grades: list[StudentGrade], pages: dict[str, str],
                     plots: SummaryPlots) -> dict[str, Any]:
    scores = [g.score for g in grades if g.status != "missing"]
    max_score = max((g.max_score for g in grades), default=0.0)
    tests = summarise_tests(grades)
    histogram, pass_rates = plots.draw(scores, max_score, {t.name: t.pass_rate for t in tests})
    hardest = sorted(tests, key=lambda t: (t.pass_rate, t.mean_share))[:HARDEST_TESTS]
    return {"title": title, "grades": grades, "pages": pages, "max_score": max_score, "tests": tests,
            "hardest": hardest, "counts": Counter(g.status for g in grades),
            "mean": statistics.fmean(scores) if scores else None,
            "median": statistics.median(scores) if scores else None,
            "histogram": histogram, "pass_rates": pass_rates}


def _write_feedback(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]]) -> None:
    """Each grade's HTML and Markdown page, into its pair of `files`."""
    html_pages, markdown_pages = FeedbackPages(HTML, title), FeedbackPages(MARKDOWN, title)
    for grade, (page, markdown) in zip(grades, files, strict=True):
        _write_if_changed(page, html_pages.page(grade).encode())
        _write_if_changed(markdown, markdown_pages.page(grade).encode())


def _write_if_changed(path: Path, content: bytes) -> None:
    """Write `content` to `path` unless the file holds exactly that already: a report written again after a
    regrade rewrites only the pages that changed (on a disk, reading a page costs far less than rewriting it)
    and the others keep their modification times."""
    try:
        with open(path, "rb") as existing:
            if existing.read(len(content) + 1) == content:
                return
    except FileNotFoundError:
        pass
    with open(path, "wb") as file:
        file.write(content)


def _start_writers(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]]) -> list[BaseProcess]:
    """Forked processes that write the feedback pages between them, one per usable core and
    PAGES_PER_WRITER students; none (the pages are written here, now) on a single core or for a small class."""
    cores = len(os.sched_getaffinity(0))
    writers = min(cores, len(grades) // PAGES_PER_WRITER)
    if cores < 2 or writers < 1:
        _write_feedback(title, grades, files)
        return []
    context = multiprocessing.get_context("fork")  # the children share the grades already in memory
    shares = [range(len(grades))[k::writers] for k in range(writers)]
    processes = [context.Process(target=_write_feedback, name="feedback writer", daemon=True,
                                 args=(title, [grades[i] for i in share], [files[i] for i in share]))
                 for share in shares]
    gc.freeze()  # the children's collector leaves the shared objects alone: their pages are not copied
    try:
        for process in processes:
            process.start()
    finally:
        gc.unfreeze()
    return processes


def write_reports(title: str, grades: list[StudentGrade], output: Path, plots: SummaryPlots | None = None) -> Reports:
    """Write `output/index.html` (the summary) and `output/students/<id>.html` and `.md` for each student.
    The pages of a large class are written by forked processes while this one writes the summary, whose
    plots come from `plots` (started before the grades were read, see autograder.report_plots) or from a
    plotter started now."""
    folder = output / "students"
    folder.mkdir(parents=True, exist_ok=True)
    names = _file_names([grade.student for grade in grades])
    files = [(folder / f"{names[grade.student]}.html", folder / f"{names[grade.student]}.md") for grade in grades]
    with nullcontext(plots) if plots else SummaryPlots() as plotter:  # the caller closes the plots it gave
        writers = _start_writers(title, grades, files)
        try:
            summary = output / "index.html"
            pages = {student: f"students/{names[student]}.html" for student in names}
            context = _summary_context(title, grades, pages, plotter)
            summary.write_text(_HTML.get_template("summary.html").render(context), encoding="utf-8")
        finally:
            for writer in writers:
                writer.join()
    if failed := sum(writer.exitcode != 0 for writer in writers):
        raise OSError(f"{output}: {failed} of {len(writers)} feedback writers failed (their errors are above)")
    return Reports(summary, {grade.student: pair for grade, pair in zip(grades, files)})
