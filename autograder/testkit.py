"""What hidden tests import: comparisons whose messages never reveal expected values.

Hidden tests also get these fixtures from the grader: `student` (the
submission; `student.softmax(z)` runs in the sandbox, `student.get("ANSWERS")`
reads a variable, `student.id`), `rng` (a NumPy generator seeded by the run's
seed and the test's name), `reference` (the reference module, trusted side
only) and `credit` (partial credit: `with credit.part(0.5, "batches"): ...`),
and the marker `@pytest.mark.points(n)`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from autograder.execute import CallTimeout, KernelDied, NotPlainData, StudentError

__all__ = ["assert_close", "verdict", "Credit", "CallTimeout", "KernelDied", "NotPlainData", "StudentError"]

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


def _as_numeric(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
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

    The message gives shapes, where NaN or inf appeared and the largest error, never
    the expected numbers themselves.
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
        raise AssertionError(f"{what}: {int((error > allowed).sum())} of {error.size} entries are off, "
                             f"max abs error {error.max():.3g}{position}")


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
