"""Hidden tests of assignment 03 (softmax), graded against PyTorch in float64.

Small logits check the formulas; logits of magnitude 1e4 check numerical
stability, where exp overflows (or every term underflows) unless the maximum
is subtracted first. Messages name what failed, never the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.testkit import assert_close, assert_finite, assert_raises, quiz_check

OVERFLOW_HINT = ("exp overflows float64 above about 709 and underflows to 0 below about -745; "
                 "subtract the maximum along the axis before exponentiating")
LOG_HINT = ("log(softmax(z)) is log(0) = -inf once a probability underflows; "
            "compute (z - max) - log(sum(exp(z - max))) instead")


def t64(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def near(rng, offset, shape):
    """Logits close to `offset`, a few units apart: their softmax is far from one-hot."""
    return offset + rng.normal(0, 2, shape)


def spread(rng, shape):
    """Logits thousands of units apart: most probabilities underflow to 0."""
    return rng.normal(0, 1e4, shape)


def torch_cross_entropy(logits, labels):
    """The mean cross-entropy loss and its gradient with respect to the logits."""
    t = t64(logits).requires_grad_()
    loss = F.cross_entropy(t, torch.as_tensor(labels, dtype=torch.long))
    loss.backward()
    return loss.item(), t.grad.numpy()


def check_softmax(student, z, what, **axis):
    """student.softmax(z, **axis) against torch.softmax, with a hint for the usual mistakes; returns it."""
    s = student.softmax(z, **axis)
    dim = axis.get("axis", -1)
    assert_finite(s, what, OVERFLOW_HINT)
    assert np.shape(s) == np.shape(z), f"{what}: softmax returned shape {np.shape(s)} for logits of shape {np.shape(z)}"
    worst = np.max(np.abs(np.sum(s, axis=dim) - 1))
    assert worst < 1e-9, f"{what}: the probabilities along axis {dim} do not sum to 1 (worst off by {worst:.1e})"
    assert_close(s, torch.softmax(t64(z), dim).numpy(), what=what)
    return s


def check_log_softmax(student, z, what, **axis):
    """student.log_softmax(z, **axis) against torch.log_softmax."""
    out = student.log_softmax(z, **axis)
    assert_finite(out, what, LOG_HINT)
    assert_close(out, torch.log_softmax(t64(z), axis.get("axis", -1)).numpy(), what=what)


def check_cross_entropy(student, logits, labels, what):
    loss = student.cross_entropy(logits, labels)
    assert np.ndim(loss) == 0, f"{what}: cross_entropy should return one number (the batch mean), got shape {np.shape(loss)}"
    assert_finite(loss, what, LOG_HINT)
    assert_close(loss, torch_cross_entropy(logits, labels)[0], what=what)


def check_cross_entropy_grad(student, logits, labels, what):
    grad = student.cross_entropy_grad(logits, labels)
    expected = torch_cross_entropy(logits, labels)[1]
    assert_finite(grad, what, OVERFLOW_HINT)
    if len(logits) > 1 and np.shape(grad) == expected.shape:
        assert not np.allclose(grad, len(logits) * expected), (
            f"{what}: this is the gradient of the summed loss; the loss is a mean over the N samples")
    assert_close(grad, expected, what=what)


def check_jacobian(student, z, what):
    jacobian = student.softmax_jacobian(z)
    assert_finite(jacobian, what, OVERFLOW_HINT)
    expected = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, 0), t64(z)).numpy()
    assert_close(jacobian, expected, what=what)


# --- softmax ------------------------------------------------------------------

@pytest.mark.points(8)
def test_softmax_matches_torch(student, rng, credit):
    with credit.part(0.4, "one vector"):
        check_softmax(student, rng.normal(0, 3, 10), "softmax of a vector of 10 logits")
    with credit.part(0.6, "a batch"):
        check_softmax(student, rng.normal(0, 3, (16, 7)), "softmax of a (16, 7) batch of logits")


@pytest.mark.points(12)
def test_softmax_large_logits(student, rng, credit):
    with credit.part(0.35, "logits near +1e4"):
        check_softmax(student, near(rng, 1e4, (8, 6)), "softmax of a (8, 6) batch of logits near +1e4")
    with credit.part(0.35, "logits near -1e4"):
        check_softmax(student, near(rng, -1e4, (8, 6)), "softmax of a (8, 6) batch of logits near -1e4")
    with credit.part(0.3, "logits spread over +-1e4"):
        check_softmax(student, spread(rng, (8, 6)), "softmax of a (8, 6) batch of logits spread over +-1e4")


@pytest.mark.points(7)
def test_softmax_axis(student, rng, credit):
    with credit.part(0.4, "axis=0 of a matrix"):
        check_softmax(student, rng.normal(0, 3, (5, 4)), "softmax(z, axis=0) of a (5, 4) matrix", axis=0)
    with credit.part(0.4, "axis=1 of a 3-D array"):
        check_softmax(student, rng.normal(0, 3, (3, 6, 2)), "softmax(z, axis=1) of a (3, 6, 2) array", axis=1)
    with credit.part(0.2, "default axis of a 3-D array"):
        check_softmax(student, rng.normal(0, 3, (3, 6, 2)), "softmax(z) of a (3, 6, 2) array (default axis -1)")


@pytest.mark.points(3)
def test_accepts_python_lists(student, rng, credit):
    z = rng.normal(0, 3, (4, 5))
    with credit.part(0.4, "softmax of a list"):
        s = check_softmax(student, z.tolist(), "softmax of a (4, 5) nested list")
        assert isinstance(s, np.ndarray) and s.dtype == np.float64, (
            f"softmax of a nested list should return a float64 ndarray, got {type(s).__name__} {getattr(s, 'dtype', '')}")
    with credit.part(0.3, "log_softmax of a list"):
        check_log_softmax(student, z.tolist(), "log_softmax of a (4, 5) nested list")
    with credit.part(0.3, "cross_entropy of lists"):
        check_cross_entropy(student, z.tolist(), rng.integers(0, 5, 4).tolist(), "cross_entropy of a nested list and a list of labels")


# --- log_softmax --------------------------------------------------------------

@pytest.mark.points(7)
def test_log_softmax_matches_torch(student, rng, credit):
    with credit.part(0.3, "one vector"):
        check_log_softmax(student, rng.normal(0, 3, 10), "log_softmax of a vector of 10 logits")
    with credit.part(0.4, "a batch"):
        check_log_softmax(student, rng.normal(0, 3, (16, 7)), "log_softmax of a (16, 7) batch")
    with credit.part(0.3, "axis=0"):
        check_log_softmax(student, rng.normal(0, 3, (5, 4)), "log_softmax(z, axis=0) of a (5, 4) matrix", axis=0)


@pytest.mark.points(10)
def test_log_softmax_large_logits(student, rng, credit):
    with credit.part(0.5, "logits spread over +-1e4"):
        check_log_softmax(student, spread(rng, (8, 6)), "log_softmax of a (8, 6) batch of logits spread over +-1e4")
    with credit.part(0.25, "logits near +1e4"):
        check_log_softmax(student, near(rng, 1e4, (8, 6)), "log_softmax of a (8, 6) batch of logits near +1e4")
    with credit.part(0.25, "logits near -1e4"):
        check_log_softmax(student, near(rng, -1e4, (8, 6)), "log_softmax of a (8, 6) batch of logits near -1e4")


# --- softmax_jacobian ---------------------------------------------------------

@pytest.mark.points(9)
def test_softmax_jacobian_matches_autograd(student, rng, credit):
    with credit.part(0.5, "K = 5"):
        check_jacobian(student, rng.normal(0, 2, 5), "softmax_jacobian of 5 logits")
    with credit.part(0.5, "K = 12"):
        check_jacobian(student, rng.normal(0, 2, 12), "softmax_jacobian of 12 logits")


@pytest.mark.points(4)
def test_softmax_jacobian_large_logits(student, rng, credit):
    with credit.part(0.5, "logits near +1e4"):
        check_jacobian(student, near(rng, 1e4, 6), "softmax_jacobian of 6 logits near +1e4")
    with credit.part(0.5, "logits near -1e4"):
        check_jacobian(student, near(rng, -1e4, 6), "softmax_jacobian of 6 logits near -1e4")


# --- cross_entropy and its gradient -------------------------------------------

@pytest.mark.points(9)
def test_cross_entropy_matches_torch(student, rng, credit):
    with credit.part(0.3, "one sample"):
        check_cross_entropy(student, rng.normal(0, 3, (1, 6)), rng.integers(0, 6, 1), "cross_entropy of one sample")
    with credit.part(0.7, "a batch"):
        check_cross_entropy(student, rng.normal(0, 3, (32, 10)), rng.integers(0, 10, 32), "cross_entropy of a (32, 10) batch")


@pytest.mark.points(6)
def test_cross_entropy_large_logits(student, rng, credit):
    with credit.part(0.5, "logits near +1e4"):
        check_cross_entropy(student, near(rng, 1e4, (8, 6)), rng.integers(0, 6, 8), "cross_entropy of logits near +1e4")
    with credit.part(0.5, "logits spread over +-1e4"):
        check_cross_entropy(student, spread(rng, (8, 6)), rng.integers(0, 6, 8), "cross_entropy of logits spread over +-1e4")


@pytest.mark.points(10)
def test_cross_entropy_grad_matches_autograd(student, rng, credit):
    with credit.part(0.3, "one sample"):
        check_cross_entropy_grad(student, rng.normal(0, 3, (1, 6)), rng.integers(0, 6, 1), "cross_entropy_grad of one sample")
    with credit.part(0.7, "a batch"):
        check_cross_entropy_grad(student, rng.normal(0, 3, (32, 10)), rng.integers(0, 10, 32), "cross_entropy_grad of a (32, 10) batch")


@pytest.mark.points(4)
def test_cross_entropy_grad_large_logits(student, rng, credit):
    with credit.part(0.5, "logits near +1e4"):
        check_cross_entropy_grad(student, near(rng, 1e4, (8, 6)), rng.integers(0, 6, 8), "cross_entropy_grad of logits near +1e4")
    with credit.part(0.5, "logits spread over +-1e4"):
        check_cross_entropy_grad(student, spread(rng, (8, 6)), rng.integers(0, 6, 8), "cross_entropy_grad of logits spread over +-1e4")


@pytest.mark.points(3)
def test_bad_arguments_raise_value_error(student, rng, credit):
    logits = rng.normal(0, 1, (3, 4))
    with credit.part(0.3, "labels of the wrong length"):
        assert_raises(ValueError, lambda: student.cross_entropy(logits, [0, 1]), "cross_entropy with 2 labels for 3 rows")
        assert_raises(ValueError, lambda: student.cross_entropy_grad(logits, [0, 1]), "cross_entropy_grad with 2 labels for 3 rows")
    with credit.part(0.3, "labels out of range"):
        assert_raises(ValueError, lambda: student.cross_entropy(logits, [0, 1, 4]), "cross_entropy with label 4 for 4 classes")
        assert_raises(ValueError, lambda: student.cross_entropy(logits, [0, -1, 2]), "cross_entropy with label -1")
    with credit.part(0.2, "1-D logits"):
        assert_raises(ValueError, lambda: student.cross_entropy(logits[0], [0]), "cross_entropy with 1-D logits")
    with credit.part(0.2, "2-D input to softmax_jacobian"):
        assert_raises(ValueError, lambda: student.softmax_jacobian(logits), "softmax_jacobian of a (3, 4) matrix")


# --- quiz ---------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question])
