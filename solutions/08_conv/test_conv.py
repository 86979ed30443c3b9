"""Hidden tests of assignment 08 (conv): im2col and conv2d against PyTorch, and speed against cuDNN.

Correctness is checked against torch.nn.functional (unfold, conv2d) computed in
float64 on the trusted side from the very inputs the student got, with a
tolerance scaled by the dtype and the reduction length C*kh*kw. The speed test
runs only when grading with a GPU (`--device cuda`); elsewhere it is skipped.
PYTEST_DONT_REWRITE: no assertion rewriting, so no expected values in messages.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import gpu_timing
from autograder.testkit import assert_close, assert_raises, quiz_check

PERFORMANCE = gpu_timing.Performance.load(Path(__file__).with_name("assignment.toml"))
DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}


def tensor(rng, shape, device, dtype="float64"):
    return torch.tensor(rng.normal(0, 1, shape), dtype=DTYPES[dtype], device=device)


def returned_tensor(out, device, dtype, what):
    """Fail unless the student returned a tensor of `dtype` that lived on `device`."""
    assert isinstance(out, torch.Tensor), f"{what}: returned a {type(out).__name__}, expected a torch tensor"
    assert out.dtype == DTYPES[dtype], f"{what}: returned {out.dtype} for {dtype} inputs"
    where = getattr(out, "origin_device", "cpu")
    assert where.split(":")[0] == device, f"{what}: the result is on {where}, the inputs were on {device}"


def check_im2col(student, rng, device, shape, kh, kw, stride, padding):
    x = tensor(rng, shape, device)
    what = f"im2col of {tuple(shape)} with a {kh}x{kw} window, stride {stride}, padding {padding}"
    out = student.im2col(x, kh, kw, stride=stride, padding=padding)
    returned_tensor(out, device, "float64", what)
    assert_close(out, F.unfold(x.cpu(), (kh, kw), stride=stride, padding=padding), what=what)


def check_conv2d(student, rng, device, shape, weight_shape, stride=1, padding=0, dtype="float64", bias=True):
    x, weight = tensor(rng, shape, device, dtype), tensor(rng, weight_shape, device, dtype)
    b = tensor(rng, weight_shape[:1], device, dtype) if bias else None
    what = (f"conv2d of {dtype} {tuple(shape)} with weight {tuple(weight_shape)}, stride {stride}, "
            f"padding {padding}{'' if bias else ', no bias'}")
    out = student.conv2d(x, weight, b, stride=stride, padding=padding)
    returned_tensor(out, device, dtype, what)
    expected = F.conv2d(x.cpu().double(), weight.cpu().double(), None if b is None else b.cpu().double(),
                        stride=stride, padding=padding)
    rtol, atol = gpu_timing.tolerance(dtype, int(np.prod(weight_shape[1:])))
    assert_close(out, expected, rtol=rtol, atol=atol, what=what)


@pytest.mark.points(6)
def test_im2col_matches_unfold(student, rng, device, credit):
    with credit.part(0.4, "a 3x3 window, stride 1, no padding"):
        check_im2col(student, rng, device, (2, 3, 6, 6), 3, 3, 1, 0)
    with credit.part(0.3, "stride 2 and padding 1"):
        check_im2col(student, rng, device, (2, 2, 7, 7), 3, 3, 2, 1)
    with credit.part(0.3, "a 2x3 window on a 5x8 image, stride 3, padding 2"):
        check_im2col(student, rng, device, (1, 3, 5, 8), 2, 3, 3, 2)


@pytest.mark.points(8)
def test_conv2d_matches_torch(student, rng, device, credit):
    with credit.part(0.4, "3x3 filters, stride 1, no padding"):
        check_conv2d(student, rng, device, (2, 3, 8, 8), (4, 3, 3, 3))
    with credit.part(0.3, "1x1 filters"):
        check_conv2d(student, rng, device, (2, 5, 4, 4), (3, 5, 1, 1))
    with credit.part(0.3, "no bias"):
        check_conv2d(student, rng, device, (1, 2, 6, 5), (3, 2, 3, 3), bias=False)


@pytest.mark.points(8)
def test_conv2d_stride_padding_odd_sizes(student, rng, device, credit):
    with credit.part(0.35, "padding 1 keeps a 9x7 image's size"):
        check_conv2d(student, rng, device, (2, 3, 9, 7), (4, 3, 3, 3), padding=1)
    with credit.part(0.35, "stride 2 on an odd-sized image"):
        check_conv2d(student, rng, device, (2, 3, 11, 9), (5, 3, 3, 3), stride=2)
    with credit.part(0.3, "a 5x3 filter with stride 3 and padding 2"):
        check_conv2d(student, rng, device, (1, 4, 13, 10), (2, 4, 5, 3), stride=3, padding=2)


@pytest.mark.points(6)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_conv2d_keeps_dtype(student, rng, device, dtype):
    check_conv2d(student, rng, device, (2, 8, 10, 10), (6, 8, 3, 3), stride=1, padding=1, dtype=dtype)


@pytest.mark.points(10)
def test_speed_against_cudnn(student, rng, device, credit):
    gpu_timing.grade_speed(student, "conv2d", PERFORMANCE, device, rng, credit)


@pytest.mark.points(4)
def test_bad_arguments_raise_value_error(student, rng, device, credit):
    x = tensor(rng, (1, 3, 5, 5), device)
    with credit.part(0.4, "channels that do not match"):
        assert_raises(ValueError, lambda: student.conv2d(x, tensor(rng, (2, 4, 3, 3), device)),
                      "conv2d of a 3-channel image with 4-channel filters")
    with credit.part(0.3, "a 3-D input"):
        assert_raises(ValueError, lambda: student.im2col(x[0], 3, 3), "im2col of a (3, 5, 5) tensor")
    with credit.part(0.3, "a window larger than the padded image"):
        assert_raises(ValueError, lambda: student.im2col(x, 8, 8, padding=1), "im2col with an 8x8 window on 5x5")


# --- quiz ---------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question])
