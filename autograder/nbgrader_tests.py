"""The hidden tests of an nbgrader assignment as pytest collects them: one per grade cell of its source."""

from autograder.nbgrader_cells import evaluate


def test_cell(student, grade_cell, grade_cell_namespace):
    evaluate(grade_cell, grade_cell_namespace)
