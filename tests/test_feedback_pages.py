"""Students' feedback pages as format strings: every section in both formats, every student value inert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autograder.feedback_pages import HTML, MARKDOWN, FeedbackPages, markdown_text
from autograder.results import Adjustment, StudentGrade
from autograder.results import TestOutcome as Outcome

HOSTILE = "<script>x</script> *b* | `c` [l](u)"


def _grade(**extra) -> StudentGrade:
    fields = {"student": "ann", "status": "graded", "score": 4.5, "max_score": 10.0, "late": False,
              "submitted_at": datetime(2026, 11, 20, 12, tzinfo=UTC), "message": "",
              "tests": [Outcome("test_a", "passed", 4.5, 5.0), Outcome("test_b", "failed", 0.0, 5.0, "off")]}
    return StudentGrade(**{**fields, **extra})


def test_markdown_text_is_inert():
    assert markdown_text("a|b `c` *d* <b>\n[x](y)") == "a\\|b \\`c\\` \\*d\\* &lt;b&gt; \\[x\\](y)"


def test_a_page_with_every_section_in_markdown():
    grade = _grade(late=True, penalty=1.5, message="could not import torch",
                   adjustments=(Adjustment("test_b", 2.0, "the idea is right"),), answers={"q1": "C", "q2": None})
    assert FeedbackPages(MARKDOWN, "Softmax").page(grade) == """# Softmax: feedback for ann

**4.5 / 10 points** (graded)

- submitted: 2026-11-20 12:00 UTC (late)
- late penalty: −1.5 points

> could not import torch

## Adjustments by your instructor

| applies to | points | comment |
|---|---:|---|
| test\\_b | 2 | the idea is right |

## Tests

| test | result | points | what went wrong |
|---|---|---:|---|
| test\\_a | passed | 4.5 / 5 |  |
| test\\_b | failed | 0 / 5 | off |

## Your quiz answers

| question | your answer |
|---|---|
| q1 | C |
| q2 | not answered |
"""


def test_a_missing_student_gets_a_page_without_sections():
    page = FeedbackPages(HTML, "Softmax").page(_grade(status="missing", score=0.0, submitted_at=None, tests=[]))
    assert "<td>no submission</td>" in page and "<h2>" not in page and page.endswith("</body>\n</html>\n")


@pytest.mark.parametrize(("page_format", "places"), [(HTML, 11), (MARKDOWN, 9)], ids=["html", "markdown"])
def test_every_value_a_student_controls_is_inert(page_format, places):
    """Nine places show such a value (the title and the student twice in HTML: <title> and <h1>)."""
    grade = _grade(student=HOSTILE, message=HOSTILE, adjustments=(Adjustment(HOSTILE, 1.0, HOSTILE),),
                   tests=[Outcome(HOSTILE, "failed", 0.0, 5.0, HOSTILE)], answers={HOSTILE: HOSTILE})
    page = FeedbackPages(page_format, HOSTILE).page(grade)
    assert "<script" not in page and page.count("&lt;script&gt;") == places
    if page_format is MARKDOWN:
        assert "*b*" not in page and "`c`" not in page and "[l](u)" not in page and "| `" not in page


def test_a_row_shared_by_students_is_formatted_once_and_the_same():
    pages = FeedbackPages(HTML, "Softmax")
    first, second = pages.page(_grade()), pages.page(_grade(student="bob"))
    assert first.replace("ann", "bob") == second
    assert len(pages._test_rows) == 2
