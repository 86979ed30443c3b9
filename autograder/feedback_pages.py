"""A student's feedback page, in HTML and in Markdown: format strings filled with escaped values.

A class of ten thousand has two hundred thousand test rows to show, twice;
as jinja2 macros (the summary page is a jinja2 template) they took most of a
report's time, as `str.format` a tenth of it. Every value that comes from a
student or a test goes through the format's `escape` first: markupsafe's
for HTML, `markdown_text` for Markdown, so nothing a student writes becomes
markup. Each distinct test row is formatted once per report: a class shares
most rows (every passed test, every common failure), and more of the texts in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from markupsafe import escape

from autograder.results import StudentGrade, TestOutcome

STYLE = (Path(__file__).resolve().parent / "templates" / "style.css").read_text()
TEST_CONTENT = attrgetter("name", "status", "score", "max_score", "message")  # all but the duration
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


@dataclass(frozen=True)
class PageFormat:
    """How one kind of page is written: the page, its optional sections, their rows, and the escaping
    every value goes through."""

    escape: Callable[[Any], str]
    page: str  # title, student, score, max_score, status, submitted, late, penalty, sections
    message: str
    adjustments: str  # rows
    adjustment_row: str  # test, points, comment
    tests: str  # rows
    test_row: str  # name, status, score, max_score, message
    answers: str  # rows
    answer_row: str  # question, answer


HTML = PageFormat(
    escape=escape,
    page="""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: feedback for {student}</title>
<style>
""" + STYLE.replace("{", "{{").replace("}", "}}") + """</style>
</head>
<body>
<h1>{title}: feedback for {student}</h1>
<p class="score">{score} / {max_score} points</p>
<table>
  <tr><th>status</th><td class="{status}">{status}</td></tr>
  <tr><th>submitted</th><td>{submitted}{late}</td></tr>
  <tr><th>late penalty</th><td>{penalty}</td></tr>
</table>
{sections}</body>
</html>
""",
    message='<p class="note">{message}</p>\n',
    adjustments="<h2>Adjustments by your instructor</h2>\n<table>\n"
                "  <tr><th>applies to</th><th>points</th><th>comment</th></tr>\n{rows}</table>\n",
    adjustment_row='  <tr><td>{test}</td><td class="number">{points}</td><td>{comment}</td></tr>\n',
    tests="<h2>Tests</h2>\n<table>\n"
          "  <tr><th>test</th><th>result</th><th>points</th><th>what went wrong</th></tr>\n{rows}</table>\n",
    test_row='  <tr><td>{name}</td><td class="{status}">{status}</td>\n'
             '      <td class="number">{score} / {max_score}</td><td>{message}</td></tr>\n',
    answers="<h2>Your quiz answers</h2>\n<table>\n  <tr><th>question</th><th>your answer</th></tr>\n{rows}</table>\n",
    answer_row="  <tr><td>{question}</td><td>{answer}</td></tr>\n",
)

MARKDOWN = PageFormat(
    escape=markdown_text,
    page="""# {title}: feedback for {student}

**{score} / {max_score} points** ({status})

- submitted: {submitted}{late}
- late penalty: {penalty}
{sections}""",
    message="\n> {message}\n",
    adjustments="\n## Adjustments by your instructor\n\n| applies to | points | comment |\n|---|---:|---|\n{rows}",
    adjustment_row="| {test} | {points} | {comment} |\n",
    tests="\n## Tests\n\n| test | result | points | what went wrong |\n|---|---|---:|---|\n{rows}",
    test_row="| {name} | {status} | {score} / {max_score} | {message} |\n",
    answers="\n## Your quiz answers\n\n| question | your answer |\n|---|---|\n{rows}",
    answer_row="| {question} | {answer} |\n",
)


class FeedbackPages:
    """Pages of one format for one assignment; `page(grade)` is a student's page."""

    def __init__(self, page_format: PageFormat, title: str) -> None:
        self.format = page_format
        self.title = page_format.escape(title)
        self._test_rows: dict[tuple, str] = {}
        self._answer_rows: dict[tuple, str] = {}
        self._escapes: dict[str, str] = {}

    def page(self, grade: StudentGrade) -> str:
        shown, escaped = self.format, self.format.escape
        sections = []
        if grade.message:
            sections.append(shown.message.format(message=escaped(grade.message)))
        if grade.adjustments:
            rows = "".join(shown.adjustment_row.format(test=escaped(a.test or "total score"),
                                                       points=f"{a.points:g}", comment=escaped(a.comment))
                           for a in grade.adjustments)
            sections.append(shown.adjustments.format(rows=rows))
        if grade.tests:
            known = self._test_rows
            rows = [known.get(content) or self._test_row(content) for content in map(TEST_CONTENT, grade.tests)]
            sections.append(shown.tests.format(rows="".join(rows)))
        if grade.answers:
            rows = "".join([self._answer_row(question, answer) for question, answer in grade.answers.items()])
            sections.append(shown.answers.format(rows=rows))
        submitted = grade.submitted_at.strftime("%Y-%m-%d %H:%M UTC") if grade.submitted_at else "no submission"
        return shown.page.format(
            title=self.title, student=escaped(grade.student), score=f"{grade.score:g}",
            max_score=f"{grade.max_score:g}", status=escaped(grade.status), submitted=submitted,
            late=" (late)" if grade.late else "", penalty=f"−{grade.penalty:g} points" if grade.penalty else "none",
            sections="".join(sections))

    def _test_row(self, content: tuple) -> str:
        """The row of a test whose TEST_CONTENT is `content`, formatted and kept for the students who share it."""
        name, status, score, max_score, message = content
        row = self._test_rows[content] = self.format.test_row.format(
            name=self._escaped(name), status=self._escaped(status), score=f"{score:g}", max_score=f"{max_score:g}",
            message=self._escaped(message))
        return row

    def _answer_row(self, question: str, answer: Any) -> str:
        """The row of one quiz answer, formatted once per report for the students who gave it."""
        content = (question, type(answer), answer)  # the type, since True == 1 == 1.0 and they read differently
        row = self._answer_rows.get(content)
        if row is None:
            shown = "not answered" if answer is None else self.format.escape(answer)
            row = self._answer_rows[content] = self.format.answer_row.format(question=self._escaped(question),
                                                                             answer=shown)
        return row

    def _escaped(self, text: str) -> str:
        """`escape(text)`, once per distinct text: names, statuses and messages recur across the class."""
        escaped = self._escapes.get(text)
        if escaped is None:
            escaped = self._escapes[text] = self.format.escape(text)
        return escaped
