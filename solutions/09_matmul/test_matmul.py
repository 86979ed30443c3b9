"""Hidden tests of assignment 09 (matmul): correctness against torch.matmul, speed against cuBLAS.

Correctness: the product is computed in float64 on the trusted side from the
very inputs the student got; the tolerance scales with the dtype and K. Sizes
stay small (Triton's interpreter runs them on a CPU) and include M, N, K that
are not multiples of any tile. The speed test runs only when grading with a
GPU (`--device cuda`); elsewhere it is skipped.
PYTEST_DONT_REWRITE: no assertion rewriting, so no expected values in messages.
"""

from pathlib import Path

import pytest
import torch

from autograder import gpu_timing
from autograder.testkit import assert_close, assert_raises, quiz_check

PERFORMANCE = gpu_timing.Performance.load(Path(__file__).with_name("assignment.toml"))
DTYPES = {"float16": torch.float16, "float32": torch.float32}


def matrix(rng, shape, device, dtype):
    return torch.tensor(rng.normal(0, 1, shape), dtype=DTYPES[dtype], device=device)


def check_matmul(student, rng, device, m, n, k, dtype):
    a, b = matrix(rng, (m, k), device, dtype), matrix(rng, (k, n), device, dtype)
    what = f"matmul of {dtype} ({m}, {k}) @ ({k}, {n})"
    c = student.matmul(a, b)
    assert isinstance(c, torch.Tensor), f"{what}: returned a {type(c).__name__}, expected a torch tensor"
    assert c.dtype == DTYPES[dtype], f"{what}: returned {c.dtype}, expected the inputs' dtype"
    where = getattr(c, "origin_device", "cpu")
    assert where.split(":")[0] == device, f"{what}: the result is on {where}, the inputs were on {device}"
    rtol, atol = gpu_timing.tolerance(dtype, k)
    assert_close(c, a.cpu().double() @ b.cpu().double(), rtol=rtol, atol=atol, what=what)


def check_parts(student, rng, device, credit, dtype, parts):
    """Each (weight, what, [(m, n, k), ...]) part earns its weight if every product in it is right."""
    for weight, what, shapes in parts:
        with credit.part(weight, what):
            for m, n, k in shapes:
                check_matmul(student, rng, device, m, n, k, dtype)


@pytest.mark.points(8)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_square_multiples_of_the_tile(student, rng, device, credit, dtype):
    check_parts(student, rng, device, credit, dtype,
                [(0.5, "64 x 64 x 64", [(64, 64, 64)]), (0.5, "128 x 128 x 256", [(128, 128, 256)])])


@pytest.mark.points(8)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_odd_sizes(student, rng, device, credit, dtype):
    check_parts(student, rng, device, credit, dtype,
                [(0.4, "100 x 50 x 70: no size a multiple of a tile", [(100, 50, 70)]),
                 (0.3, "K = 129: one element past a tile boundary", [(33, 65, 129)]),
                 (0.3, "tiny: 1 x 1 x 1 and 3 x 5 x 2", [(1, 1, 1), (3, 5, 2)])])


@pytest.mark.points(4)
def test_thin_shapes(student, rng, device, credit):
    check_parts(student, rng, device, credit, "float32",
                [(0.5, "a matrix times a column (N = 1)", [(96, 1, 80)]),
                 (0.5, "a row times a matrix (M = 1)", [(1, 96, 80)])])


@pytest.mark.points(4)
def test_bad_arguments_raise_value_error(student, rng, device, credit):
    a = matrix(rng, (4, 3), device, "float32")
    with credit.part(0.5, "inner sizes that do not match"):
        assert_raises(ValueError, lambda: student.matmul(a, matrix(rng, (4, 2), device, "float32")),
                      "matmul of (4, 3) and (4, 2)")
    with credit.part(0.25, "a 1-D operand"):
        assert_raises(ValueError, lambda: student.matmul(a, matrix(rng, (3,), device, "float32")),
                      "matmul of (4, 3) and (3,)")
    with credit.part(0.25, "mixed dtypes"):
        assert_raises(ValueError, lambda: student.matmul(a, matrix(rng, (3, 2), device, "float16")),
                      "matmul of float32 and float16")


@pytest.mark.points(10)
def test_speed_against_cublas(student, rng, device, credit):
    gpu_timing.grade_speed(student, "matmul", PERFORMANCE, device, rng, credit)


# --- quiz ---------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("question", ["q1", "q2", "q3", "q4"])
def quiz_answer(student, reference, question):
    quiz_check(student, question, reference.QUIZ_ANSWERS[question])
