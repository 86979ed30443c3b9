"""The quiz answers read from a notebook's cells with ast: what release checks and what feedback shows."""

from __future__ import annotations

import json

import pytest

from autograder.quiz_answers import MAX_ANSWER_CHARS, MAX_ANSWERS, literal_answers, shown_answers


def test_the_literal_answers_dict_is_found_in_whichever_cell_holds_it():
    cells = ("import numpy as np", "%matplotlib inline", "ANSWERS = {'q1': 'C', 'q2': 0.5}")
    assert literal_answers(cells) == {"q1": "C", "q2": 0.5}


@pytest.mark.parametrize("source", [
    "ANSWERS = {[]: 1}",  # unhashable key: TypeError from literal_eval
    "ANSWERS = ['C', 0.5]",  # not a dict
    "ANSWERS = {'q1': open('/etc/passwd').read()}",  # not a literal: never run
    "ANSWERS = dict(q1='C')",
    "ANSWERS = {'q1': 'C'}\x00",  # a NUL byte: ast refuses the source
    "ANSWERS = " + "[" * 300 + "]" * 300,  # nested beyond the parser's limit
])
def test_answers_that_are_not_a_literal_dict_read_as_none_without_raising(source):
    assert literal_answers((source,)) == {}


def test_shown_answers_are_json_values_as_the_student_wrote_them():
    cells = ("ANSWERS = {'q1': 'C', 'q2': 1, 'q3': 1.0, 'q4': True, 'q5': None, 'q6': (1, 2), 'q7': {3}, 8: 2j}",)
    shown = shown_answers(cells)
    assert shown == {"q1": "C", "q2": 1, "q3": 1.0, "q4": True, "q5": None, "q6": "(1, 2)", "q7": "{3}", "8": "2j"}
    assert json.loads(json.dumps(shown)) == shown
    assert [type(value) for value in shown.values()][:4] == [str, int, float, bool]


def test_shown_answers_are_capped_in_number_and_length():
    answers = {f"q{i}": "x" * 10_000 for i in range(MAX_ANSWERS + 50)}
    shown = shown_answers((f"ANSWERS = {answers!r}",))
    assert len(shown) == MAX_ANSWERS
    assert {len(value) for value in shown.values()} == {MAX_ANSWER_CHARS} and shown["q0"].endswith("…")
    long_key = shown_answers((f"ANSWERS = {{{'k' * 5000!r}: 1}}",))
    assert [len(key) for key in long_key] == [MAX_ANSWER_CHARS]
