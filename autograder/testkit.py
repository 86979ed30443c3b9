"""What hidden tests import: comparisons whose messages never reveal expected values.

Hidden tests also get these fixtures from the grader: `student` (the
submission; `student.softmax(z)` runs in the sandbox, `student.get("ANSWERS")`
reads a variable, `student.id`), `rng` (a NumPy generator seeded by the run's
seed and the test's name), `reference` (the reference module, trusted side
only), `credit` (partial credit: `with credit.part(0.5, "batches"): ...`) and
`device` ("cuda" when grading with a GPU, else "cpu"), and the marker
`@pytest.mark.points(n)`.

Checks: `assert_close` (numbers against an oracle), `assert_finite` (no NaN or
inf, with a hint at the usual cause), `assert_raises` (the student's code must
reject bad arguments) and, for a notebook's `ANSWERS = {...}` dict, `quiz_answer`,
`quiz_choice` and `quiz_number`. Each raises AssertionError with a message for
the student, so a failure inside `credit.part` loses only that part.
`numeric_gradient` (central differences) is an oracle for gradients.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from autograder.execute import CallTimeout, KernelDied, NotPlainData, StudentError

__all__ = ["assert_close", "assert_finite", "assert_raises", "quiz_answer", "quiz_choice", "quiz_number", "quiz_check",
           "numeric_gradient", "verdict", "Credit", "CallTimeout", "KernelDied", "NotPlainData", "StudentError"]

MESSAGE_CHARS = 500


def verdict(error: BaseException | None) -> tuple[str, str]:
    """A test's status and student-facing message from the exception that ended it (None: passed)."""
    if error is None:
        return "passed", ""
    text = str(error).strip()[:MESSAGE_CHARS]
    if isinstance(error, CallTimeout):
        return "timeout", text
    if isinstance(error, AssertionError) or type(error).__name__ == "Failed":  # pytest.fail, pytest.raises
        return "failed", text or "a check failed"
    if isinstance(error, NotImplementedError) and isinstance(error, StudentError):
        return "error", "not implemented yet (raises NotImplementedError)"
    if isinstance(error, NameError) and isinstance(error, StudentError):
        return "error", text
    if isinstance(error, StudentError):
        return "error", f"your code raised {error.kind}: {text}" if text else f"your code raised {error.kind}"
    if isinstance(error, KernelDied):
        return "error", text
    return "error", f"{type(error).__name__}: {text}" if text else type(error).__name__


def _from_torch(value: Any) -> Any:
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, possibly on the GPU
        return value.detach().cpu().numpy()
    return value


def _as_numeric(value: Any, what: str) -> np.ndarray:
    value = _from_torch(value)
    try:
        array = np.asarray(value)
    except Exception:  # ragged lists and the like
        raise AssertionError(f"{what}: the result is not a numeric array") from None
    if array.dtype.kind not in "biuf":
        raise AssertionError(f"{what}: the result is not numeric (got {type(value).__name__} of {array.dtype})")
    return array.astype(np.float64)


def assert_close(actual: Any, expected: Any, *, rtol: float = 1e-7, atol: float = 1e-9,
                 what: str = "the result") -> None:
    """Fail, naming `what` and the kind of mistake, unless `actual` matches `expected`.

    The message gives shapes, where NaN or inf appeared, how many entries are off and
    where the worst is, never the expected numbers nor the size of the error (which,
    for a result of zeros, would be the expected numbers).
    """
    want = np.asarray(expected, dtype=np.float64)
    got = _as_numeric(actual, what)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape}, expected {want.shape}")
    finite = np.isfinite(want)
    bad = finite & ~np.isfinite(got)
    if bad.any():
        kind = "NaN" if np.isnan(got[bad]).any() else "inf"
        raise AssertionError(f"{what}: {kind} in {int(bad.sum())} of {got.size} entries "
                             "where a finite value was expected (overflow? log of 0?)")
    wrong_special = ~finite & ~((got == want) | (np.isnan(got) & np.isnan(want)))
    if wrong_special.any():
        raise AssertionError(f"{what}: {int(wrong_special.sum())} entries should be inf or NaN and are not")
    error = np.where(finite, np.abs(got - np.where(finite, want, 0)), 0)
    allowed = atol + rtol * np.abs(np.where(finite, want, 0))
    if (error > allowed).any():
        where = np.unravel_index(int(np.argmax(error - allowed)), error.shape) if error.ndim else ()
        position = f" (worst at index {tuple(int(i) for i in where)})" if where else ""
        # No size of the error: for a result of zeros it would be the expected value itself.
        raise AssertionError(f"{what}: {int((error > allowed).sum())} of {error.size} entries are off{position}")


def assert_finite(value: Any, what: str, hint: str = "") -> None:
    """Fail unless every number in `value` (array, tensor, list or scalar) is finite.

    The message counts the NaN and inf entries and ends with `hint`, which should
    name the usual cause (overflowing exp, 0 * log 0, ...). Values that are not
    floating point pass: whether they should be numbers at all is assert_close's job.
    """
    try:
        values = np.asarray(_from_torch(value))
    except Exception:  # ragged lists and the like
        return
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        bad = np.count_nonzero(~np.isfinite(values))
        message = f"{what}: {bad} of {values.size} entries are NaN or inf"
        raise AssertionError(f"{message}; {hint}" if hint else message)


def assert_raises(exception_type: type[Exception] | tuple[type[Exception], ...],
                  call: Callable[[], Any], what: str) -> None:
    """Fail unless `call()` raises `exception_type`, e.g. the student's code rejecting bad arguments.

    The grader re-raises a student's exception as a StudentError that also derives
    from the same built-in class, so `assert_raises(ValueError, ...)` accepts NumPy's
    AxisError too. A NotImplementedError propagates (the test reads as not implemented
    yet) unless it is what was asked for; any other exception of the student's fails,
    naming what was raised instead; the grader's own (timeouts, a dead kernel) propagate.
    """
    expected = exception_type if isinstance(exception_type, tuple) else (exception_type,)
    names = " or ".join(kind.__name__ for kind in expected)
    try:
        call()
    except Exception as error:
        if isinstance(error, NotImplementedError) and not any(issubclass(k, NotImplementedError) for k in expected):
            raise
        if isinstance(error, expected):
            return
        if not isinstance(error, StudentError) or error.kind == "ForbiddenOperation":
            raise  # the grader's own, or the operation guard's refusal (its message names the call)
        raise AssertionError(f"{what}: raised {error.kind}, expected {names}") from None
    raise AssertionError(f"{what}: returned normally, expected {names}")


# --- quiz: the notebook's `ANSWERS = {"q1": ..., ...}` ----------------------------------

def quiz_answer(student: Any, key: str) -> Any:
    """The student's answer `ANSWERS[key]`; fails if the notebook has no ANSWERS or left it unset (None)."""
    try:
        answers = student.get("ANSWERS")
    except (NameError, LookupError, AttributeError):
        raise AssertionError("the notebook defines no ANSWERS dict; keep its last cell `ANSWERS = {...}`") from None
    if not isinstance(answers, dict) or answers.get(key) is None:
        raise AssertionError(f"{key} is not answered: set ANSWERS[{key!r}] in the notebook's last cell")
    return answers[key]


def quiz_choice(student: Any, key: str, correct: str) -> None:
    """Fail unless the multiple-choice answer `ANSWERS[key]` is `correct` (case and spaces ignored).

    The message repeats the student's choice, never the right one.
    """
    given = quiz_answer(student, key)
    if str(given).strip().upper() != correct.strip().upper():
        raise AssertionError(f"{key}: {given!r} is not the right choice")


def quiz_number(student: Any, key: str, correct: float, tolerance: float) -> None:
    """Fail unless the numeric answer `ANSWERS[key]` is within `tolerance` of `correct`.

    The message repeats the student's number and the tolerance, never the right number.
    """
    given = quiz_answer(student, key)
    try:
        value = float(given)
    except (TypeError, ValueError):
        raise AssertionError(f"{key} asks for a number, got {given!r}") from None
    if not abs(value - correct) <= tolerance:  # `not <=`: NaN fails too
        raise AssertionError(f"{key}: {value} is not right (tolerance {tolerance})")


def quiz_check(student: Any, key: str, correct: str | float, tolerance: float | None = None) -> None:
    """Grade one quiz question: a letter when `correct` is a string, else a number within `tolerance`."""
    if isinstance(correct, str):
        quiz_choice(student, key, correct)
    else:
        quiz_number(student, key, correct, tolerance if tolerance is not None else 1e-3)


def numeric_gradient(f: Callable[[np.ndarray], float], x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central differences: df/dx[i] ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), shaped like `x`.

    An oracle for gradients that needs no autograd: error O(eps^2) for smooth `f`.
    """
    x = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = f(x.copy())
        x[index] = original - eps
        below = f(x.copy())
        x[index] = original
        gradient[index] = (above - below) / (2 * eps)
    return gradient


class Credit:
    """Partial credit inside one test: weighted parts that fail on their own."""

    def __init__(self) -> None:
        self.parts: list[tuple[float, str, str]] = []  # weight, what, failure message ("" if passed)

    @contextmanager
    def part(self, weight: float, what: str) -> Iterator[None]:
        """A part worth `weight` of the test's points; an assertion failing inside loses only it."""
        try:
            yield
        except (AssertionError, StudentError) as error:
            self.parts.append((weight, what, f"{what}: {verdict(error)[1]}"))
        else:
            self.parts.append((weight, what, ""))

    def fraction(self, passed: bool) -> float:
        """Share of the test's points earned: passed parts, plus the rest if the test passed."""
        earned = sum(weight for weight, _, failure in self.parts if not failure)
        rest = max(0.0, 1.0 - sum(weight for weight, _, _ in self.parts))
        return min(1.0, earned + (rest if passed else 0.0))

    def failures(self) -> list[str]:
        return [failure for _, _, failure in self.parts if failure]
