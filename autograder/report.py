"""Feedback after grading: a page per student (HTML and Markdown) and a summary page with plots.

Everything a page shows comes from the gradebook: scores, statuses, the late
penalty, instructor adjustments, the hidden tests' failure messages (which say
what is wrong and never an expected value: see `autograder.testkit`) and the
quiz answers the graded notebook gave (kept at grading time,
`autograder.quiz_answers`). Templates are jinja2 (already installed with
torch): the HTML ones autoescape every value, the Markdown ones pass every
value through `markdown_text`, so a student id or message cannot inject markup.
In a class most students share most table rows (the same test, result and
message), so each distinct row is rendered once per report (`_RowCache`).
"""

from __future__ import annotations

import base64
import gc
import io
import multiprocessing
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from autograder.ingest import student_id
from autograder.results import StudentGrade, TestOutcome

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TEMPLATES = Path(__file__).resolve().parent / "templates"
HARDEST_TESTS = 10
BAR_COLOUR = "#1f77b4"
# HTML's three, then Markdown's emphasis, code, link and table characters, each made inert.
MARKDOWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                  **{char: "\\" + char for char in "\\`*_[]|"}})
PAGES_PER_WRITER = 2_000  # a forked page writer pays for itself from about this many students
TEST_CONTENT = attrgetter("name", "status", "score", "max_score", "message")  # what a test's row shows
UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")  # what would break the line or a table row


def markdown_text(value: Any) -> str:
    """A value as one line of inert Markdown: no HTML, no emphasis, links, code or table breaks.
    Rows the Markdown templates rendered themselves (`Markup`, see `_RowCache`) pass as they are."""
    if isinstance(value, Markup):
        return value
    text = str(value)
    if UNTIDY_SPACE.search(text):
        text = re.sub(r"\s+", " ", text)
    return text.translate(MARKDOWN_ESCAPES)


_HTML = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_MARKDOWN = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, auto_reload=False,
                               finalize=markdown_text, undefined=jinja2.StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)


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


def _figure(height: float) -> tuple[Figure, Axes]:
    """A page-wide figure (inches) with one set of axes."""
    from matplotlib.figure import Figure  # imported after the page writers are forked: they never draw

    figure = Figure(figsize=(7, height), layout="constrained")
    return figure, figure.add_subplot()


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float) -> str:
    """The distribution of scores, as a base64 PNG."""
    figure, axes = _figure(height=3.2)
    axes.hist(scores, bins=10, range=(0, max_score or 1.0), color=BAR_COLOUR, edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title="Score distribution")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def pass_rate_chart(tests: list[TestSummary]) -> str:
    """Each test's pass rate as a horizontal bar, as a base64 PNG."""
    figure, axes = _figure(height=0.8 + 0.32 * len(tests))
    bars = axes.barh([t.name for t in tests], [100 * t.pass_rate for t in tests], color=BAR_COLOUR)
    axes.bar_label(bars, fmt="%.0f %%", padding=3)
    axes.invert_yaxis()
    axes.set(xlim=(0, 100), xlabel="students who passed (%)", title="Pass rate per test")
    return _png(figure)


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


def _summary_context(title: str, grades: list[StudentGrade], pages: dict[str, str]) -> dict[str, Any]:
    submitted = [g for g in grades if g.status != "missing"]
    scores = [g.score for g in submitted]
    max_score = max((g.max_score for g in grades), default=0.0)
    tests = summarise_tests(grades)
    hardest = sorted(tests, key=lambda t: (t.pass_rate, t.mean_share))[:HARDEST_TESTS]
    return {"title": title, "grades": grades, "pages": pages, "max_score": max_score, "tests": tests,
            "hardest": hardest, "counts": Counter(g.status for g in grades),
            "mean": statistics.fmean(scores) if scores else None,
            "median": statistics.median(scores) if scores else None,
            "histogram": score_histogram(scores, max_score) if scores else "",
            "pass_rates": pass_rate_chart(tests) if tests else ""}


class _RowCache:
    """Table rows rendered once per distinct content: `rows(macro, items)` is what the macro renders for
    each item, joined. An item's content is a test's fields but its duration, which no page shows, or
    anything else's repr, so that the answers 1, 1.0 and True are three rows."""

    def __init__(self) -> None:
        self._rendered: dict[str, dict[tuple, str]] = {}  # macro name -> content -> row

    def rows(self, macro: Any, items: Any) -> Markup:
        rendered, parts = self._rendered.setdefault(macro.name, {}), []
        for item in items:
            key = TEST_CONTENT(item) if isinstance(item, TestOutcome) else tuple(map(repr, item))
            row = rendered.get(key)
            if row is None:
                row = rendered[key] = str(macro(item))
            parts.append(row)
        return Markup("".join(parts))


def _write_feedback(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]]) -> None:
    """Each grade's HTML and Markdown page, into its pair of `files`."""
    html_page, markdown_page = _HTML.get_template("feedback.html"), _MARKDOWN.get_template("feedback.md")
    html_rows, markdown_rows = _RowCache().rows, _RowCache().rows
    for grade, (page, markdown) in zip(grades, files, strict=True):
        context = {"title": title, "grade": grade}
        page.write_text(html_page.render(context, rows=html_rows), encoding="utf-8")
        markdown.write_text(markdown_page.render(context, rows=markdown_rows), encoding="utf-8")


def _start_writers(title: str, grades: list[StudentGrade], files: list[tuple[Path, Path]]) -> list[BaseProcess]:
    """Forked processes that write the feedback pages between them, one per usable core; none (the pages
    are written here, now) for a class too small to be worth a fork or on a single core."""
    writers = min(len(os.sched_getaffinity(0)), len(grades) // PAGES_PER_WRITER)
    if writers < 2:
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


def write_reports(title: str, grades: list[StudentGrade], output: Path) -> Reports:
    """Write `output/index.html` (the summary) and `output/students/<id>.html` and `.md` for each student.
    The pages of a large class are written by forked processes, one per core, while this one draws the
    summary."""
    folder = output / "students"
    folder.mkdir(parents=True, exist_ok=True)
    names = _file_names([grade.student for grade in grades])
    files = [(folder / f"{names[grade.student]}.html", folder / f"{names[grade.student]}.md") for grade in grades]
    writers = _start_writers(title, grades, files)
    try:
        summary = output / "index.html"
        pages = {student: f"students/{names[student]}.html" for student in names}
        summary.write_text(_HTML.get_template("summary.html").render(_summary_context(title, grades, pages)),
                           encoding="utf-8")
    finally:
        for writer in writers:
            writer.join()
    if failed := sum(writer.exitcode != 0 for writer in writers):
        raise OSError(f"{output}: {failed} of {len(writers)} feedback writers failed (their errors are above)")
    return Reports(summary, {grade.student: pair for grade, pair in zip(grades, files)})
