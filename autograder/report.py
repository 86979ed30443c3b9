"""Feedback after grading: a page per student (HTML and Markdown) and a summary page with plots.

What a page shows comes from the gradebook (scores, statuses, the late penalty,
instructor adjustments, and the hidden tests' failure messages, which say what
is wrong and never an expected value: see `autograder.testkit`) and, for the
quiz, the literal `ANSWERS = {...}` of the notebook the student submitted, read
with ast and never run. Templates are jinja2 (already installed with torch):
the HTML ones autoescape every value, the Markdown ones pass every value
through `markdown_text`, so a student id or message cannot inject markup.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure

from autograder.ingest import read_submission, student_id
from autograder.release import literal_answers
from autograder.results import StudentGrade

TEMPLATES = Path(__file__).resolve().parent / "templates"
HARDEST_TESTS = 10
BAR_COLOUR = "#1f77b4"
# HTML's three, then Markdown's emphasis, code, link and table characters, each made inert.
MARKDOWN_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                  **{char: "\\" + char for char in "\\`*_[]|"}})
UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")  # what would break the line or a table row


def markdown_text(value: Any) -> str:
    """A value as one line of inert Markdown: no HTML, no emphasis, links, code or table breaks."""
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
class QuizAnswers:
    """The answers a student's notebook gives (`ANSWERS`), or why they cannot be shown."""

    answers: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def read_quiz_answers(path: str, content_hash: str) -> QuizAnswers:
    """The literal ANSWERS of the graded notebook at `path`, if it is still the one that was graded."""
    submission = read_submission(Path(path))
    if submission.error:
        return QuizAnswers(note="the submitted notebook can no longer be read")
    if submission.content_hash != content_hash:
        return QuizAnswers(note="the submitted notebook has changed since it was graded")
    return QuizAnswers({str(key): value for key, value in literal_answers(submission.cells).items()})


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


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float) -> str:
    """The distribution of scores, as a base64 PNG."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.add_subplot()
    axes.hist(scores, bins=10, range=(0, max_score or 1.0), color=BAR_COLOUR, edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title="Score distribution")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def pass_rate_chart(tests: list[TestSummary]) -> str:
    """Each test's pass rate as a horizontal bar, as a base64 PNG."""
    figure = Figure(figsize=(7, 0.8 + 0.32 * len(tests)), layout="constrained")
    axes = figure.add_subplot()
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


def write_reports(title: str, grades: list[StudentGrade], output: Path,
                  answers: dict[str, QuizAnswers] | None = None) -> Reports:
    """Write `output/index.html` (the summary) and `output/students/<id>.html` and `.md` for each student."""
    folder = output / "students"
    folder.mkdir(parents=True, exist_ok=True)
    names = _file_names([grade.student for grade in grades])
    feedback = {}
    html_page, markdown_page = _HTML.get_template("feedback.html"), _MARKDOWN.get_template("feedback.md")
    for grade in grades:
        context = {"title": title, "grade": grade, "quiz": (answers or {}).get(grade.student, QuizAnswers())}
        page, markdown = folder / f"{names[grade.student]}.html", folder / f"{names[grade.student]}.md"
        page.write_text(html_page.render(context), encoding="utf-8")
        markdown.write_text(markdown_page.render(context), encoding="utf-8")
        feedback[grade.student] = (page, markdown)
    summary = output / "index.html"
    pages = {student: f"students/{names[student]}.html" for student in names}
    summary.write_text(_HTML.get_template("summary.html").render(_summary_context(title, grades, pages)),
                       encoding="utf-8")
    return Reports(summary, feedback)
