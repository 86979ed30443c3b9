"""`autograder report`: feedback pages that never give away an expected value, and a summary that renders."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from autograder import report
from autograder.report import PAGES_PER_WRITER, write_reports
from autograder.report_plots import BAR_COLOUR
from autograder.results import Adjustment, StudentGrade
from autograder.results import TestOutcome as Outcome
from conftest import write_notebook
from test_cli import autograder

# The reference's values: what a wrong submission's feedback must never show.
HIDDEN_VALUES = ("5678.25", "9137.75", "4242.5")
HIDDEN_TESTS = '''import pytest
from autograder.testkit import assert_close, quiz_check


@pytest.mark.points(3)
def test_double(student):
    assert_close(student.double(2839.125), 5678.25, what="double(2839.125)")


def test_double_again(student):
    assert student.double(4568.875) == 9137.75


def quiz_q1(student):
    quiz_check(student, "q1", "C")


def quiz_q2(student):
    quiz_check(student, "q2", 4242.5, 0.1)
'''
CORRECT = "def double(x):\n    return 2 * x\nANSWERS = {'q1': 'C', 'q2': 4242.5}"
WRONG = "def double(x):\n    return 0.0\nANSWERS = {'q1': 'A', 'q2': 17.0}"
INJECTED = ("def double(x):\n    raise ValueError('<script>alert(1)</script>')\n"
            "raise RuntimeError('<img src=x onerror=alert(2)>')")
BAR_RGB = np.array([int(BAR_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]) / 255


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A one-assignment course, three submissions graded and reported through the CLI once the notebooks
    are gone: whatever a page shows comes from the gradebook."""
    root = tmp_path_factory.mktemp("report-course")
    solutions = root / "solutions" / "01_double"
    solutions.mkdir(parents=True)
    (solutions / "assignment.toml").write_text('title = "Doubling"\ncall_timeout = 5\n')
    (solutions / "reference.py").write_text("def double(x):\n    return 2 * x\n\nQUIZ_ANSWERS = {'q1': 'C'}\n")
    (solutions / "test_double.py").write_text(HIDDEN_TESTS)
    for student, source in (("correct", CORRECT), ("wrong", WRONG), ("injected", INJECTED)):
        write_notebook(root / "submissions", source, name=f"{student}.ipynb")
    db = f"sqlite:///{root / 'g.sqlite'}"
    graded = autograder(root, "grade", "double", "submissions", "--db", db, "--workers", "1", "--timeout", "20")
    assert graded.returncode == 0, graded.stderr
    shutil.rmtree(root / "submissions")
    result = autograder(root, "report", "double", "--db", db, "-o", str(root / "out"))
    assert result.returncode == 0, result.stderr
    return root / "out"


def test_correct_submission_gets_full_marks_and_its_answers_shown(reported):
    page = (reported / "students" / "correct.md").read_text()
    assert "**6 / 6 points** (graded)" in page
    assert "| q1 | C |" in page and "| q2 | 4242.5 |" in page  # the student's own answers, right here


def test_wrong_submission_feedback_never_holds_an_expected_value(reported):
    for page in (reported / "students" / "wrong.html", reported / "students" / "wrong.md"):
        text = page.read_text()
        assert "0 / 6 points" in text and "1 of 1 entries are off" in text and "a check failed" in text
        assert "is not the right choice" in text and "17" in text  # the student's answer, not the right one
        for value in HIDDEN_VALUES + ("5.68e", "9.14e", "4.24e"):
            assert value not in text, (page.name, value)
    summary = (reported / "index.html").read_text()
    assert not [value for value in HIDDEN_VALUES if value in summary]


def test_student_text_is_escaped_in_every_page(reported):
    html_page = (reported / "students" / "injected.html").read_text()
    markdown = (reported / "students" / "injected.md").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_page and "&lt;img src=x" in html_page
    assert "&lt;img src=x" in markdown
    for text in (html_page, markdown, (reported / "index.html").read_text()):
        assert "<script" not in text and "<img src=x" not in text


def _grade(student: str, score: float, tests: list[Outcome], **extra) -> StudentGrade:
    return StudentGrade(student=student, status="graded", score=score, max_score=10.0, tests=tests,
                        **{"late": False, "submitted_at": datetime(2026, 11, 20, 12, tzinfo=UTC), "message": "",
                           **extra})


def test_penalty_and_adjustments_appear_in_the_feedback(tmp_path):
    tests = [Outcome("test_a", "passed", 5.0, 5.0), Outcome("test_b", "failed", 1.0, 5.0, "b is off")]
    late = _grade("late", 5.0, tests, late=True, penalty=2.0,
                  adjustments=(Adjustment("test_b", 1.0, "partial credit for the idea"),))
    written = write_reports("Doubling", [late], tmp_path)
    page, markdown = (path.read_text() for path in written.feedback["late"])
    assert "−2 points" in page and "partial credit for the idea" in page
    assert "- late penalty: −2 points" in markdown
    assert "| test\\_b | 1 | partial credit for the idea |" in markdown


def test_student_ids_become_distinct_safe_file_names(tmp_path):
    grades = [_grade(student, 0.0, []) for student in ("../etc/passwd", "..-etc-passwd", "Ann", "ann")]
    written = write_reports("Doubling", grades, tmp_path)
    files = [html for html, _ in written.feedback.values()]
    assert len({path.name.lower() for path in files}) == 4
    assert all(path.parent == tmp_path / "students" for path in files)


def test_answers_that_compare_equal_are_still_each_shown_as_written(tmp_path):
    grades = [_grade(student, 0.0, [], answers={"q1": answer})
              for student, answer in (("one", 1), ("float", 1.0), ("true", True), ("text", "1"))]
    written = write_reports("Doubling", grades, tmp_path)
    shown = {student: pages[1].read_text().splitlines()[-1] for student, pages in written.feedback.items()}
    assert shown == {"one": "| q1 | 1 |", "float": "| q1 | 1.0 |", "true": "| q1 | True |", "text": "| q1 | 1 |"}


def test_a_report_written_again_rewrites_only_the_pages_that_changed(tmp_path):
    pages = write_reports("Doubling", [_grade("ann", 1.0, []), _grade("bob", 2.0, [])], tmp_path).feedback
    for page in [*pages["ann"], *pages["bob"]]:
        os.utime(page, (0, 0))
    write_reports("Doubling", [_grade("ann", 1.0, []), _grade("bob", 7.0, [])], tmp_path)  # bob regraded
    assert [page.stat().st_mtime for page in pages["ann"]] == [0, 0]
    assert all(page.stat().st_mtime > 0 and "7 / 10 points" in page.read_text() for page in pages["bob"])


@pytest.fixture
def two_cores(monkeypatch):
    """Two usable cores, whatever this machine has: a large class's pages get two forked writers."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


def test_a_large_class_is_written_by_forked_writers_exactly_as_one_process_writes_it(tmp_path, two_cores):
    tests = [Outcome(f"test_{k}", ("passed", "failed")[(i := k % 3) % 2], 1.0 - i % 2, 1.0, "off" * (i % 2),
                     duration=0.1 * k) for k in range(5)]
    grades = [_grade(f"s{n:05d}", float(n % 7), tests[n % 5:], answers={"q1": n % 4})
              for n in range(2 * PAGES_PER_WRITER)]
    forked = write_reports("Doubling", grades, tmp_path / "forked")
    sample = grades[:: PAGES_PER_WRITER // 7]  # few enough to be written here, in this process
    alone = write_reports("Doubling", sample, tmp_path / "alone")
    for grade in sample:
        for page, same_page in zip(forked.feedback[grade.student], alone.feedback[grade.student]):
            assert page.read_text() == same_page.read_text()
    assert len(list((tmp_path / "forked" / "students").iterdir())) == 4 * PAGES_PER_WRITER


def test_each_part_of_a_large_class_is_being_written_while_the_next_loads(tmp_path, two_cores, monkeypatch):
    grades = [_grade(f"s{n:05d}", 1.0, []) for n in range(2 * PAGES_PER_WRITER)]
    events, start = [], report._start_writer

    def load(part: tuple[int, int]) -> list[StudentGrade]:
        events.append(f"load {part}")
        return grades[part[0]::part[1]]

    def start_writer(title, part, files, sizes):
        events.append(f"writer for {len(part)} pages")
        return start(title, part, files, sizes)

    monkeypatch.setattr(report, "_start_writer", start_writer)
    written = report.write_class_reports("Doubling", [grade.student for grade in grades], load, tmp_path)
    assert events == ["load (0, 2)", f"writer for {PAGES_PER_WRITER} pages", "load (1, 2)",
                      f"writer for {PAGES_PER_WRITER} pages"]
    assert all(page.is_file() for pair in written.feedback.values() for page in pair)
    assert len(written.feedback) == 2 * PAGES_PER_WRITER


def test_a_student_graded_while_the_report_loads_still_gets_a_page_of_their_own(tmp_path):
    graded = [_grade("ann", 1.0, []), _grade("ANN", 2.0, [])]  # ANN was not a student when the report began
    written = report.write_class_reports("Doubling", ["ann"], lambda part: graded, tmp_path)
    assert {student: html.name for student, (html, _) in written.feedback.items()} == {"ann": "ann.html",
                                                                                      "ANN": "ANN-2.html"}
    assert "2 / 10 points" in written.feedback["ANN"][0].read_text()


def test_a_failed_page_writer_fails_the_report_with_its_folder_named(tmp_path, capfd, two_cores):
    grades = [_grade(f"s{n:05d}", 1.0, []) for n in range(2 * PAGES_PER_WRITER)]
    (tmp_path / "students" / "s00003.md").mkdir(parents=True)  # a folder where a page goes
    with pytest.raises(OSError, match=r"1 of 2 feedback writers failed") as excinfo:
        write_reports("Doubling", grades, tmp_path)
    assert str(tmp_path) in str(excinfo.value) and "IsADirectoryError" in capfd.readouterr().err


def test_hardest_tests_come_first_in_the_summary(tmp_path):
    easy, hard = Outcome("test_easy", "passed", 5.0, 5.0), Outcome("test_hard", "failed", 0.0, 5.0, "x")
    grades = [_grade(f"s{i}", 5.0, [easy, hard if i else Outcome("test_hard", "passed", 5.0, 5.0)])
              for i in range(4)]
    text = write_reports("Doubling", grades, tmp_path).summary.read_text()
    table = text[text.index("Hardest tests"):]
    assert table.index("test_hard") < table.index("test_easy") and "1 / 4 (25 %)" in table


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("AUTOGRADER_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed and AUTOGRADER_REQUIRE_CHROMIUM is set")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def test_summary_renders_with_its_plots_in_headless_chromium(reported, tmp_path):
    screenshot = tmp_path / "summary.png"
    result = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             f"--screenshot={screenshot}", "--window-size=1100,1500",
                             (reported / "index.html").as_uri()],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert screenshot.exists(), result.stderr
    pixels = imread(screenshot)[..., :3]
    assert pixels.shape[:2] == (1500, 1100)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text, tables and plots, not one flat colour
    bars = np.all(np.abs(pixels - BAR_RGB) < 0.02, axis=-1)
    assert bars.sum() > 5000  # the histogram's and the pass-rate chart's bars are drawn
    rows = np.flatnonzero(bars.any(axis=1))
    assert rows.min() > 100 and rows.max() - rows.min() > 300  # below the heading, in two plots
