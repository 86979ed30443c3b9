"""Hidden tests of assignment 06 (pooling), graded against PyTorch in float64.

Max and average pooling are compared with `torch.nn.functional.max_pool2d` and
`avg_pool2d` (floor mode, zeros counted in the divisor), the gradient with
autograd through `max_pool2d` (whose CPU kernel sends a window's gradient to its
first maximum on ties), and k-max pooling with `torch.topk` put back in the
original order. Feature maps have odd sizes and strides other than the kernel
size; padded max pooling gets all-negative inputs, where a padded 0 would win.
Messages name what failed, never the expected values.
PYTEST_DONT_REWRITE: pytest's assertion rewriting would append the compared
values, expected ones included, to every failure message.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.testkit import assert_close, assert_raises, quiz_check

POOLS = ["max_pool2d", "avg_pool2d"]
ORACLES = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d}
PADDING_HINT = {"max_pool2d": "pad with -inf: a padded 0 beats every negative input",
                "avg_pool2d": "the padded zeros count: every window divides by kernel_size ** 2"}
SIZE_HINT = "the output has floor((H + 2 * padding - kernel_size) / stride) + 1 rows (likewise columns)"

NOTES_INPUT = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
NOTES_OUTPUT = {"max_pool2d": [[[[6.0, 8.0], [14.0, 16.0]]]], "avg_pool2d": [[[[3.5, 5.5], [11.5, 13.5]]]]}


def t64(a):
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def window(kernel_size, stride, padding):
    """Keyword arguments for a call: stride left out when None, so that its default is used."""
    return {"kernel_size": kernel_size, "padding": padding} | ({} if stride is None else {"stride": stride})


def describe(shape, kernel_size, stride, padding):
    return f"a {shape} input, kernel_size={kernel_size}, stride={stride}, padding={padding}"


def check_pool(student, name, x, kernel_size, stride, padding, what):
    """student.<name>(x, ...) against its torch oracle (stride=None: the oracle's default, kernel_size)."""
    expected = ORACLES[name](t64(x), kernel_size, stride, padding).numpy()
    assert_close(getattr(student, name)(x, **window(kernel_size, stride, padding)), expected,
                 what=f"{name} of {describe(np.shape(x), kernel_size, stride, padding)}{what}")


def torch_max_pool_grad(dout, x, kernel_size, stride, padding):
    t = t64(x).requires_grad_()
    F.max_pool2d(t, kernel_size, stride, padding).backward(t64(dout))
    return t.grad.numpy()


def check_backward(student, rng, x, kernel_size, stride, padding, what=""):
    """student.max_pool2d_backward on a random dout against autograd through torch's max_pool2d."""
    dout = rng.normal(size=tuple(F.max_pool2d(t64(x), kernel_size, stride, padding).shape))
    assert_close(student.max_pool2d_backward(dout, x, **window(kernel_size, stride, padding)),
                 torch_max_pool_grad(dout, x, kernel_size, stride, padding),
                 what=f"max_pool2d_backward for {describe(np.shape(x), kernel_size, stride, padding)}{what}")


def torch_kmax(x, k, axis):
    """torch.topk's k largest, gathered back in increasing index order."""
    t = t64(x)
    kept = torch.topk(t, k, dim=axis).indices.sort(dim=axis).values
    return torch.gather(t, axis, kept).numpy()


def check_kmax(student, x, k, axis, what):
    expected = torch_kmax(x, k, axis)
    got = student.kmax_pool1d(x, k, axis=axis)
    in_sorted_order = np.flip(np.sort(expected, axis=axis), axis=axis)
    if np.shape(got) == expected.shape and not np.allclose(expected, in_sorted_order):
        assert not np.allclose(got, in_sorted_order), (
            f"{what}: these are the k largest values sorted; keep them in their original order instead")
    assert_close(got, expected, what=what)


# --- the worked example of the notes ----------------------------------------------

@pytest.mark.points(6)
def test_worked_example(student, credit):
    for name in POOLS:
        with credit.part(0.4, name):
            assert_close(getattr(student, name)(NOTES_INPUT, 2, stride=2), NOTES_OUTPUT[name],
                         what=f"{name} of the notes' 4x4 input 1..16 with a 2x2 window and stride 2")
    with credit.part(0.2, "nested lists"):
        assert_close(student.max_pool2d(NOTES_INPUT.tolist(), 2, stride=2), NOTES_OUTPUT["max_pool2d"],
                     what="max_pool2d of the notes' input given as a nested Python list")


# --- max and average pooling --------------------------------------------------------

@pytest.mark.points(10)
@pytest.mark.parametrize("name", POOLS)
def test_pooling_matches_torch(student, rng, credit, name):
    with credit.part(0.35, "stride = kernel_size on odd sizes"):
        check_pool(student, name, rng.normal(size=(2, 3, 7, 9)), 2, 2, 0, " (the last row is left over)")
    with credit.part(0.35, "overlapping windows"):
        check_pool(student, name, rng.normal(size=(2, 2, 9, 8)), 3, 2, 0, " (windows overlap)")
    with credit.part(0.15, "stride 1"):
        check_pool(student, name, rng.normal(size=(1, 2, 6, 5)), 3, 1, 0, "")
    with credit.part(0.15, "stride > kernel_size"):
        check_pool(student, name, rng.normal(size=(2, 1, 8, 7)), 2, 3, 0, " (gaps between windows)")


@pytest.mark.points(9)
@pytest.mark.parametrize("name", POOLS)
def test_pooling_with_padding(student, rng, credit, name):
    hint = f" ({PADDING_HINT[name]})"
    with credit.part(0.5, "negative inputs"):
        check_pool(student, name, -rng.uniform(1, 5, (2, 3, 7, 8)), 3, 2, 1, f", all inputs negative{hint}")
    with credit.part(0.25, "kernel 2, padding 1"):
        check_pool(student, name, rng.normal(size=(2, 2, 5, 6)), 2, 2, 1, hint)
    with credit.part(0.25, "kernel 5, padding 2"):
        check_pool(student, name, rng.normal(size=(1, 2, 9, 10)) - 3, 5, 3, 2, hint)


@pytest.mark.points(3)
@pytest.mark.parametrize("name", POOLS)
def test_output_shape_floor_mode(student, rng, name):
    for shape, kernel_size, stride, padding in [((1, 2, 7, 9), 2, 2, 0), ((2, 1, 8, 6), 3, 2, 1), ((1, 1, 10, 11), 4, 3, 1)]:
        expected = tuple(ORACLES[name](t64(np.zeros(shape)), kernel_size, stride, padding).shape)
        got = np.shape(getattr(student, name)(rng.normal(size=shape), **window(kernel_size, stride, padding)))
        assert got == expected, (f"{name} of {describe(shape, kernel_size, stride, padding)} "
                                 f"returned shape {got}: {SIZE_HINT}")


@pytest.mark.points(5)
def test_stride_defaults_to_kernel_size(student, rng, credit):
    for name in POOLS:
        with credit.part(0.35, name):
            check_pool(student, name, rng.normal(size=(2, 2, 7, 6)), 3, None, 0, " (stride left out: it defaults to kernel_size)")
    with credit.part(0.3, "max_pool2d_backward"):
        check_backward(student, rng, rng.normal(size=(2, 2, 7, 6)), 3, None, 0, " (stride left out: it defaults to kernel_size)")


# --- the gradient of max pooling ------------------------------------------------------

@pytest.mark.points(12)
def test_max_pool2d_backward_matches_autograd(student, rng, credit):
    with credit.part(0.3, "stride = kernel_size on odd sizes"):
        check_backward(student, rng, rng.normal(size=(2, 3, 7, 9)), 2, 2, 0)
    with credit.part(0.3, "overlapping windows"):
        check_backward(student, rng, rng.normal(size=(2, 2, 7, 8)), 3, 1, 0, " (windows that share a maximum add their gradients)")
    with credit.part(0.2, "stride 2, kernel 3"):
        check_backward(student, rng, rng.normal(size=(1, 2, 9, 7)), 3, 2, 0)
    with credit.part(0.2, "padding with negative inputs"):
        check_backward(student, rng, -rng.uniform(1, 5, (2, 2, 7, 6)), 3, 2, 1, " (padding is -inf, it never receives gradient)")


@pytest.mark.points(8)
def test_max_pool2d_backward_ties(student, rng, credit):
    hint = " (on ties the whole gradient goes to the first maximum of the window, in row-major order)"
    with credit.part(0.4, "ties, stride = kernel_size"):
        check_backward(student, rng, rng.integers(0, 3, (2, 3, 6, 7)).astype(float), 2, 2, 0, hint)
    with credit.part(0.4, "ties, overlapping windows with padding"):
        check_backward(student, rng, rng.integers(-2, 1, (2, 2, 7, 6)).astype(float), 3, 1, 1, hint)
    with credit.part(0.2, "a constant input"):
        check_backward(student, rng, np.full((1, 2, 5, 5), 2.0), 2, 2, 0, hint)


# --- k-max pooling ----------------------------------------------------------------

@pytest.mark.points(10)
def test_kmax_pool1d_matches_topk(student, rng, credit):
    with credit.part(0.3, "a vector"):
        check_kmax(student, rng.normal(size=12), 5, -1, "kmax_pool1d of 12 values, k=5")
    with credit.part(0.4, "rows of a batch"):
        check_kmax(student, rng.normal(size=(6, 9)), 4, -1, "kmax_pool1d of a (6, 9) batch along the last axis, k=4")
    with credit.part(0.3, "axis=1 of a 3-D array"):
        check_kmax(student, rng.normal(size=(3, 8, 5)), 3, 1, "kmax_pool1d(x, 3, axis=1) of a (3, 8, 5) array")


# --- bad arguments ------------------------------------------------------------------

@pytest.mark.points(5)
def test_bad_arguments_raise_value_error(student, rng, credit):
    x = rng.normal(size=(1, 2, 5, 5))
    with credit.part(0.25, "x not 4-D"):
        for name in POOLS:
            assert_raises(ValueError, lambda: getattr(student, name)(x[0], 2), f"{name} of a (2, 5, 5) array")
    with credit.part(0.25, "kernel_size, stride or padding out of range"):
        assert_raises(ValueError, lambda: student.max_pool2d(x, 0), "max_pool2d with kernel_size=0")
        assert_raises(ValueError, lambda: student.avg_pool2d(x, 2, stride=-1), "avg_pool2d with stride=-1")
        assert_raises(ValueError, lambda: student.max_pool2d(x, 2, padding=-1), "max_pool2d with padding=-1")
    with credit.part(0.2, "window larger than the input"):
        assert_raises(ValueError, lambda: student.avg_pool2d(x, 6), "avg_pool2d of a 5x5 input with kernel_size=6")
    with credit.part(0.15, "dout of the wrong shape"):
        assert_raises(ValueError, lambda: student.max_pool2d_backward(np.ones((1, 2, 3, 3)), x, 2),
                      "max_pool2d_backward with dout (1, 2, 3, 3) for a (1, 2, 2, 2) output")
    with credit.part(0.15, "k out of range"):
        assert_raises(ValueError, lambda: student.kmax_pool1d(x[0, 0], 6), "kmax_pool1d with k=6 for rows of 5")
        assert_raises(ValueError, lambda: student.kmax_pool1d(x[0, 0], 0), "kmax_pool1d with k=0")


# --- quiz ---------------------------------------------------------------------

QUIZ_TOLERANCES = {"q1": 1e-6}  # numeric answers; others 1e-3


@pytest.mark.points(2)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4", "q5"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question], QUIZ_TOLERANCES.get(question))
