"""Feedback after grading: a page per student (HTML and Markdown) and a summary page with plots.

Everything a page shows comes from the gradebook: scores, statuses, the late
penalty, instructor adjustments, the hidden tests' failure messages (which say
what is wrong and never an expected value: see `autograder.testkit`) and the
quiz answers the graded notebook gave (kept at grading time,
`autograder.quiz_answers`). The students' pages are format strings filled with
escaped values (`autograder.feedback_pages`); the summary is a jinja2
template (already installed with torch) that autoescapes every value, so a
student id or message cannot inject markup anywhere.

A class of thousands is loaded in parts (`Gradebook.grades(part=...)`), one
per core: each part's pages are written by a forked process while the next
part loads, and this process writes the summary once all have arrived.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from operator import attrgetter
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


class _FileNames(dict[str, str]):
    """A distinct, safe file stem per student id: in sorted order for the students known at the start,
    then in order of arrival for any graded while the report loads."""

    def __init__(self, students: Iterable[str]) -> None:
        super().__init__()
        self._taken: set[str] = set()
        for student in sorted(students):
            self._name(student)

    def __missing__(self, student: str) -> str:
        return self._name(student)

    def _name(self, student: str) -> str:
        stem, number = student_id(student), 1
        while stem.lower() in self._taken:
            number += 1
            stem = f"{student_id(student)}-{number}"
        self._taken.add(stem.lower())
        self[student] = stem
        return stem


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


def _write_feedback(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]],
                    sizes: dict[str, int]) -> None:
    """Each grade's HTML and Markdown page, into its pair of `files`; `sizes` are those of the files that
    were in the folder already, by name."""
    html_pages, markdown_pages = FeedbackPages(HTML, title), FeedbackPages(MARKDOWN, title)
    for grade, (page, markdown) in zip(grades, files, strict=True):
        _write_if_changed(page, html_pages.page(grade).encode(), sizes.get(page.name))
        _write_if_changed(markdown, markdown_pages.page(grade).encode(), sizes.get(markdown.name))


def _write_if_changed(path: Path, content: bytes, size: int | None) -> None:
    """Write `content` to `path` unless the file there (of `size` bytes, None when there is none) holds
    exactly that already: a report written again after a regrade rewrites only the pages that changed (on a
    disk, reading a page costs far less than rewriting it) and the others keep their modification times.
    Plain system calls: a buffered file object costs as much again as the writing, twenty thousand times."""
    if size == len(content):
        with open(path, "rb") as existing:
            if existing.read() == content:
                return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        unwritten = memoryview(content)
        while unwritten:
            unwritten = unwritten[os.write(descriptor, unwritten):]
    finally:
        os.close(descriptor)


def _sizes(folder: Path) -> dict[str, int]:
    """The size of each file in `folder`, by name: one listing instead of a failed open per new page."""
    with os.scandir(folder) as entries:
        return {entry.name: entry.stat().st_size for entry in entries if entry.is_file(follow_symlinks=False)}


def part_count(students: int) -> int:
    """In how many parts a class of `students` is loaded and its pages written, each part's by a forked
    writer: one per usable core and PAGES_PER_WRITER students; 1 (written in this process, no fork) on a
    single core or for a small class."""
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, students // PAGES_PER_WRITER)) if cores > 1 else 1


def _start_writer(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]],
                  sizes: dict[str, int]) -> BaseProcess:
    """A forked process that writes the pages of `grades` (the children share the grades already in memory)."""
    process = multiprocessing.get_context("fork").Process(
        target=_write_feedback, name="feedback writer", daemon=True, args=(title, grades, files, sizes))
    gc.freeze()  # the child's collector leaves the shared objects alone: their pages are not copied
    try:
        process.start()
    finally:
        gc.unfreeze()
    return process


def write_reports(title: str, grades: list[StudentGrade], output: Path, plots: SummaryPlots | None = None) -> Reports:
    """Write `output/index.html` (the summary) and `output/students/<id>.html` and `.md` for each of
    `grades`; see `write_class_reports`."""
    return write_class_reports(title, [grade.student for grade in grades], lambda part: grades[part[0]::part[1]],
                               output, plots)


def write_class_reports(title: str, students: list[str], load: Callable[[tuple[int, int]], list[StudentGrade]],
                        output: Path, plots: SummaryPlots | None = None) -> Reports:
    """Write `output/index.html` (the summary) and `output/students/<id>.html` and `.md` for each student.
    The class is loaded in `part_count(len(students))` parts, `load((k, n))` giving part k of n (as
    `Gradebook.grades` does); each part's pages are written by a forked writer, started as soon as the part
    is loaded, while this process loads the next and then writes the summary, whose plots come from `plots`
    (started before the grades were read, see autograder.report_plots) or from a plotter started now."""
    folder = output / "students"
    folder.mkdir(parents=True, exist_ok=True)
    names, sizes, parts = _FileNames(students), _sizes(folder), part_count(len(students))
    grades: list[StudentGrade] = []
    feedback: dict[str, tuple[Path, Path]] = {}
    writers: list[BaseProcess] = []
    with nullcontext(plots) if plots else SummaryPlots() as plotter:  # the caller closes the plots it gave
        try:
            for part in map(load, ((k, parts) for k in range(parts))):
                files = [(folder / f"{names[grade.student]}.html", folder / f"{names[grade.student]}.md")
                         for grade in part]
                if parts == 1:
                    _write_feedback(title, part, files, sizes)
                else:
                    writers.append(_start_writer(title, part, files, sizes))
                grades += part
                feedback.update(zip((grade.student for grade in part), files))
            grades.sort(key=attrgetter("student"))
            pages = {student: f"students/{html.name}" for student, (html, _) in feedback.items()}
            summary = output / "index.html"
            context = _summary_context(title, grades, pages, plotter)
            summary.write_text(_HTML.get_template("summary.html").render(context), encoding="utf-8")
        finally:
            for writer in writers:
                writer.join()
    if failed := sum(writer.exitcode != 0 for writer in writers):
        raise OSError(f"{output}: {failed} of {len(writers)} feedback writers failed (their errors are above)")
    return Reports(summary, dict(sorted(feedback.items())))
