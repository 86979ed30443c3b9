"""The testkit hidden tests import: checks, quiz helpers, verdicts and partial credit.

Student exceptions are built with `student_error`, exactly as the grader re-raises
them from the sandbox, so no notebook or kernel is needed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from autograder.execute import CallTimeout, KernelDied, NotPlainData, StudentError, student_error
from autograder.testkit import (
    MESSAGE_CHARS,
    Credit,
    assert_close,
    assert_finite,
    assert_raises,
    quiz_answer,
    quiz_choice,
    quiz_check,
    quiz_number,
    verdict,
)


def failure(check, *args, **kwargs) -> str:
    """The message of the AssertionError that `check(*args, **kwargs)` must raise."""
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    return str(info.value)


def raising(error: BaseException):
    def call():
        raise error
    return call


# --- assert_close -----------------------------------------------------------------------

def test_assert_close_passes_within_tolerance():
    assert_close([1.0, 2.0 + 1e-12], np.array([1.0, 2.0]))
    assert_close(3.0, 3.0 + 1e-10, what="a scalar")
    assert_close(np.array([1, 2, 3]), [1.0, 2.0, 3.0])  # integers are numbers too
    assert_close([1.0, 2.1], [1.0, 2.0], rtol=0.1)


def test_assert_close_shape_mismatch_names_both_shapes():
    message = failure(assert_close, np.zeros(6), np.zeros((2, 3)), what="softmax of a batch")
    assert message == "softmax of a batch: shape (6,), expected (2, 3)"


def test_assert_close_nan_where_finite_expected():
    message = failure(assert_close, [1.0, np.nan, np.nan], [1.0, 2.0, 3.0], what="the loss")
    assert message.startswith("the loss: NaN in 2 of 3 entries where a finite value was expected")


def test_assert_close_inf_where_finite_expected():
    message = failure(assert_close, [np.inf, 1.0], [5.0, 1.0])
    assert message.startswith("the result: inf in 1 of 2 entries where a finite value was expected")


def test_assert_close_expected_inf_and_nan_must_match_exactly():
    assert_close([np.inf, -np.inf, np.nan, 1.0], [np.inf, -np.inf, np.nan, 1.0])
    assert "1 entries should be inf or NaN" in failure(assert_close, [1e308, 1.0], [np.inf, 1.0])
    assert "1 entries should be inf or NaN" in failure(assert_close, [np.inf], [-np.inf])
    assert "1 entries should be inf or NaN" in failure(assert_close, [0.0], [np.nan])


def test_assert_close_error_message_hides_the_expected_numbers():
    expected = np.array([[0.123456789, 0.987654321], [4.56789123, 7.65432198]])
    actual = expected.copy()
    actual[1, 0] += 0.5
    message = failure(assert_close, actual, expected, what="softmax")
    assert message == "softmax: 1 of 4 entries are off (worst at index (1, 0))"
    for value in expected.ravel():
        for digits in (2, 3, 4, 6):
            assert f"{value:.{digits}g}" not in message


def test_assert_close_of_zeros_does_not_give_the_expected_numbers_as_the_error():
    expected = np.array([0.0, 31.4159, -2.71828])
    message = failure(assert_close, np.zeros(3), expected, what="f")
    assert message == "f: 2 of 3 entries are off (worst at index (1,))"
    assert not any(digits in message for digits in ("31", "2.7", "4159", "718"))


def test_assert_close_accepts_torch_tensors():
    expected = np.array([0.25, 0.75])
    assert_close(torch.tensor([0.25, 0.75], dtype=torch.float64), expected)
    assert_close(torch.tensor([0.25, 0.75], requires_grad=True), expected, rtol=1e-6)  # float32, needs detach
    assert "2 of 2 entries are off" in failure(assert_close, torch.tensor([0.5, 0.5], dtype=torch.float64), expected)


@pytest.mark.parametrize("value", ["0.5", None, {"p": 0.5}, [1.0, "a"], [[1.0, 2.0], [3.0]], [1 + 2j, 0]])
def test_assert_close_rejects_non_numeric_results(value):
    message = failure(assert_close, value, [0.5, 0.5], what="entropy")
    assert message.startswith(("entropy: the result is not numeric", "entropy: the result is not a numeric array"))


# --- assert_finite ----------------------------------------------------------------------

def test_assert_finite_passes_finite_and_non_float_values():
    assert_finite([1.0, -2.0, 1e300], "a vector")
    assert_finite(np.arange(4), "integers")
    assert_finite(0.5, "a scalar")
    assert_finite(torch.tensor([1.0, 2.0]), "a tensor")
    assert_finite(["a", "b"], "strings are assert_close's business")
    assert_finite([[1.0], [2.0, 3.0]], "a ragged list is too")


def test_assert_finite_counts_nan_and_inf_and_gives_the_hint():
    message = failure(assert_finite, np.array([[1.0, np.nan], [np.inf, -np.inf]]), "softmax of a batch", "subtract the max")
    assert message == "softmax of a batch: 3 of 4 entries are NaN or inf; subtract the max"


def test_assert_finite_without_hint_and_on_scalars_and_tensors():
    assert failure(assert_finite, float("nan"), "the loss") == "the loss: 1 of 1 entries are NaN or inf"
    assert failure(assert_finite, torch.tensor([0.0, math.inf]), "a tensor") == "a tensor: 1 of 2 entries are NaN or inf"


# --- assert_raises ----------------------------------------------------------------------

def test_assert_raises_accepts_the_students_exception():
    assert_raises(ValueError, raising(student_error("ValueError", "labels out of range")), "cross_entropy")


def test_assert_raises_accepts_subclasses_through_the_builtin_bases():
    axis_error = student_error("AxisError", "m", ["ValueError", "IndexError", "Exception"])
    assert_raises(ValueError, raising(axis_error), "softmax(z, axis=5)")
    assert_raises(Exception, raising(axis_error), "softmax(z, axis=5)")
    assert_raises((TypeError, ValueError), raising(axis_error), "softmax(z, axis=5)")


def test_assert_raises_lets_not_implemented_through():
    stub = raising(student_error("NotImplementedError", ""))
    for expected in (ValueError, RuntimeError, Exception):  # RuntimeError and Exception would otherwise match it
        with pytest.raises(NotImplementedError) as info:
            assert_raises(expected, stub, "entropy([-0.5, 1.5])")
        assert isinstance(info.value, StudentError)
        assert verdict(info.value) == ("error", "not implemented yet (raises NotImplementedError)")
    assert_raises(NotImplementedError, stub, "an abstract method")  # unless it is what the test asks for


def test_assert_raises_names_another_exception_of_the_student():
    assert failure(assert_raises, ValueError, raising(student_error("IndexError", "index 4 is out of bounds")),
                   "cross_entropy with label 4") == "cross_entropy with label 4: raised IndexError, expected ValueError"
    assert failure(assert_raises, ValueError, raising(student_error("NameError", "name 'js' is not defined")),
                   "js_divergence") == "js_divergence: raised NameError, expected ValueError"
    custom = student_error("BadProbabilities", "p < 0", ["Exception"])
    assert failure(assert_raises, (ValueError, TypeError), raising(custom),
                   "entropy") == "entropy: raised BadProbabilities, expected ValueError or TypeError"


def test_assert_raises_fails_when_the_call_returns():
    message = failure(assert_raises, ValueError, lambda: 0.0, "binary_entropy(1.5)")
    assert message == "binary_entropy(1.5): returned normally, expected ValueError"


@pytest.mark.parametrize("error", [CallTimeout("ran past 10 s"), KernelDied("killed"), NotPlainData("a generator"),
                                   KeyError("a bug in the test itself")])
def test_assert_raises_lets_the_graders_own_errors_through(error):
    with pytest.raises(type(error)):
        assert_raises(ValueError, raising(error), "softmax")


# --- quiz -------------------------------------------------------------------------------

class FakeStudent:
    """`get` returns the notebook's ANSWERS, or raises as the kernel does when it is not defined."""

    def __init__(self, answers=None, defined=True):
        self.answers = answers
        self.defined = defined

    def get(self, name):
        assert name == "ANSWERS"
        if not self.defined:
            raise student_error("NameError", "name 'ANSWERS' is not defined")
        return self.answers


def test_quiz_answer_returns_the_answer():
    assert quiz_answer(FakeStudent({"q1": 0.75, "q2": "b"}), "q2") == "b"
    assert quiz_answer(FakeStudent({"q1": 0}), "q1") == 0  # falsy answers count


def test_quiz_answer_without_answers():
    message = failure(quiz_answer, FakeStudent(defined=False), "q1")
    assert message == "the notebook defines no ANSWERS dict; keep its last cell `ANSWERS = {...}`"


@pytest.mark.parametrize("answers", [{"q1": None}, {}, ["B"], None])
def test_quiz_answer_unanswered(answers):
    message = failure(quiz_answer, FakeStudent(answers), "q1")
    assert message == "q1 is not answered: set ANSWERS['q1'] in the notebook's last cell"


def test_quiz_choice():
    quiz_choice(FakeStudent({"q2": " b "}), "q2", "B")
    quiz_choice(FakeStudent({"q2": "B"}), "q2", "B")
    message = failure(quiz_choice, FakeStudent({"q2": "A"}), "q2", "B")
    assert message == "q2: 'A' is not the right choice"
    assert "B" not in message
    assert "not answered" in failure(quiz_choice, FakeStudent({"q1": "A"}), "q2", "B")


def test_quiz_check_grades_letters_as_choices_and_numbers_within_a_tolerance():
    quiz_check(FakeStudent({"q1": " b "}), "q1", "B")
    quiz_check(FakeStudent({"q2": 0.7504}), "q2", 0.75)
    quiz_check(FakeStudent({"q3": 14.4}), "q3", 14, tolerance=0.5)
    assert failure(quiz_check, FakeStudent({"q1": "A"}), "q1", "B") == "q1: 'A' is not the right choice"
    assert "0.76 is not right (tolerance 0.001)" in failure(quiz_check, FakeStudent({"q2": 0.76}), "q2", 0.75)


def test_quiz_number():
    quiz_number(FakeStudent({"q1": 0.7504}), "q1", 0.75, 1e-3)
    quiz_number(FakeStudent({"q1": "0.75"}), "q1", 0.75, 1e-3)
    quiz_number(FakeStudent({"q1": 3}), "q1", 3.0, 0)
    message = failure(quiz_number, FakeStudent({"q1": 0.25}), "q1", 0.1875, 1e-3)
    assert message == "q1: 0.25 is not right (tolerance 0.001)"
    assert "0.1875" not in message and "0.188" not in message
    assert failure(quiz_number, FakeStudent({"q1": "three quarters"}), "q1", 0.75, 1e-3) == (
        "q1 asks for a number, got 'three quarters'")
    assert failure(quiz_number, FakeStudent({"q1": [0.75]}), "q1", 0.75, 1e-3) == "q1 asks for a number, got [0.75]"
    assert "is not right" in failure(quiz_number, FakeStudent({"q1": float("nan")}), "q1", 0.75, 1e-3)
    assert "is not right" in failure(quiz_number, FakeStudent({"q1": "inf"}), "q1", 0.75, 1e-3)


def test_quiz_failures_grade_as_failed_and_lose_only_their_part():
    with pytest.raises(AssertionError) as info:
        quiz_choice(FakeStudent({"q2": "A"}), "q2", "B")
    assert verdict(info.value) == ("failed", "q2: 'A' is not the right choice")
    credit = Credit()
    with credit.part(0.5, "q1"):
        quiz_number(FakeStudent({"q1": 1.0}), "q1", 1.0, 0.01)
    with credit.part(0.5, "q2"):
        quiz_choice(FakeStudent(defined=False), "q2", "B")
    assert credit.fraction(passed=True) == 0.5
    assert credit.failures() == ["q2: the notebook defines no ANSWERS dict; keep its last cell `ANSWERS = {...}`"]


# --- verdict ----------------------------------------------------------------------------

def test_verdict_statuses():
    assert verdict(None) == ("passed", "")
    assert verdict(AssertionError("softmax: shape (3,), expected (2,)")) == ("failed", "softmax: shape (3,), expected (2,)")
    assert verdict(AssertionError()) == ("failed", "a check failed")
    assert verdict(NotPlainData("softmax returned a generator")) == ("failed", "softmax returned a generator")
    assert verdict(CallTimeout("softmax ran past 10 s")) == ("timeout", "softmax ran past 10 s")
    assert verdict(KernelDied("the notebook's process was killed")) == ("error", "the notebook's process was killed")
    assert verdict(KeyError("x")) == ("error", "KeyError: 'x'")
    assert verdict(RuntimeError()) == ("error", "RuntimeError")


def test_verdict_of_pytest_outcomes():
    with pytest.raises(pytest.fail.Exception) as info:
        pytest.fail("q1 is not answered")
    assert verdict(info.value) == ("failed", "q1 is not answered")


def test_verdict_of_student_exceptions():
    assert verdict(student_error("NotImplementedError", "todo")) == (
        "error", "not implemented yet (raises NotImplementedError)")
    assert verdict(student_error("NameError", "'softmax_jacobian' is not defined in the notebook")) == (
        "error", "'softmax_jacobian' is not defined in the notebook")
    assert verdict(student_error("ValueError", "bad labels")) == ("error", "your code raised ValueError: bad labels")
    assert verdict(student_error("AxisError", "axis 3 is out of bounds", ["ValueError", "IndexError", "Exception"])) == (
        "error", "your code raised AxisError: axis 3 is out of bounds")
    assert verdict(student_error("ZeroDivisionError", "")) == ("error", "your code raised ZeroDivisionError")


def test_verdict_truncates_long_messages():
    status, message = verdict(AssertionError("x" * (MESSAGE_CHARS + 100)))
    assert status == "failed" and len(message) == MESSAGE_CHARS


# --- Credit -----------------------------------------------------------------------------

def test_credit_all_parts_passed():
    credit = Credit()
    for weight, what in [(0.3, "one vector"), (0.3, "a batch"), (0.2, "axis=0"), (0.2, "lists")]:
        with credit.part(weight, what):
            assert_close([1.0], [1.0])
    assert credit.fraction(passed=True) == 1.0
    assert credit.failures() == []


def test_credit_failed_parts_lose_only_their_weight():
    credit = Credit()
    with credit.part(0.4, "one vector"):
        assert_close([1.0], [1.0])
    with credit.part(0.35, "a batch"):
        assert_close([0.0, 1.0], [1.0, 1.0], what="softmax of a batch")
    with credit.part(0.25, "stub"):
        raise student_error("NotImplementedError", "")
    assert credit.fraction(passed=True) == pytest.approx(0.4)
    assert credit.fraction(passed=False) == pytest.approx(0.4)  # the parts sum to 1: nothing rests on the test
    assert credit.failures() == [
        "a batch: softmax of a batch: 1 of 2 entries are off (worst at index (0,))",
        "stub: not implemented yet (raises NotImplementedError)",
    ]


def test_credit_rest_of_the_points_needs_the_test_to_pass():
    credit = Credit()
    with credit.part(0.25, "a part"):
        pass
    assert credit.fraction(passed=True) == 1.0
    assert credit.fraction(passed=False) == 0.25


def test_credit_without_parts():
    credit = Credit()
    assert credit.fraction(passed=True) == 1.0
    assert credit.fraction(passed=False) == 0.0
    assert credit.failures() == []


def test_credit_lets_the_graders_own_errors_through():
    credit = Credit()
    with pytest.raises(CallTimeout):
        with credit.part(0.5, "slow"):
            raise CallTimeout("ran past 10 s")
    assert credit.parts == []
