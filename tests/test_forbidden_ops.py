"""Forbidden operations: the static scan of a notebook's source, the guard in the child, and both
through the real command line on the matmul assignment."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from autograder.forbidden_ops import ForbiddenOperation, configured, guarded_call, scan
from autograder.hidden_tests import Student
from test_consistency import REPO, autograder

MATMUL = configured(REPO / "solutions" / "09_matmul" / "assignment.toml")
CONV = configured(REPO / "solutions" / "08_conv" / "assignment.toml")


def cells(*sources: str) -> list[str]:
    return [textwrap.dedent(source) for source in sources]


# --- the static scan ------------------------------------------------------------------------------

def test_configured_reads_the_list_and_names_a_bad_file(tmp_path):
    assert "torch.matmul" in MATMUL and "@" in MATMUL and "aten.mm" in MATMUL
    assert configured(REPO / "solutions" / "03_softmax" / "assignment.toml") == ()
    bad = tmp_path / "assignment.toml"
    bad.write_text('[forbidden]\ncalls = "torch.matmul"\n')
    with pytest.raises(ValueError, match=str(bad)):
        configured(bad)


@pytest.mark.parametrize("source, call", [
    ("import torch\ndef matmul(a, b):\n    return torch.matmul(a, b)", "torch.matmul (cell 1, line 3)"),
    ("from torch import matmul as mm\ndef matmul(a, b):\n    return mm(a, b)", "torch.matmul (cell 1, line 3)"),
    ("def matmul(a, b):\n    return a @ b", "@ (cell 1, line 2)"),
    ("def matmul(a, b):\n    c = a\n    c @= b\n    return c", "@ (cell 1, line 3)"),
    ("def matmul(a, b):\n    return a.mm(b)", "torch.Tensor.mm (cell 1, line 2)"),
    ("import torch\ndef matmul(a, b):\n    return getattr(torch, 'einsum')('ij,jk->ik', a, b)",
     "getattr(..., 'einsum')"),
    ("import torch\nmatmul = torch.matmul", "torch.matmul (cell 1, line 2)"),
])
def test_scan_names_the_forbidden_call(source, call):
    marked = scan(cells(source), MATMUL)
    assert list(marked) == ["matmul"]
    assert call in marked["matmul"] and marked["matmul"].endswith("which this assignment forbids")


def test_scan_follows_imports_across_cells_and_helpers_to_the_graded_function():
    marked = scan(cells("import torch.nn.functional as F", """
        def _windows(x, k):
            return F.unfold(x, k)

        def im2col(x, kh, kw, stride=1, padding=0):
            return _windows(x, (kh, kw))

        def conv2d(x, weight, bias=None, stride=1, padding=0):
            return im2col(x, 3, 3)
        """), CONV)
    assert set(marked) == {"_windows", "im2col", "conv2d"}
    assert "torch.nn.functional.unfold (cell 2, line 3)" in marked["conv2d"]


def test_scan_leaves_tests_checks_and_other_modules_alone():
    marked = scan(cells("""
        import numpy as np
        import torch
        import triton.language as tl

        def matmul(a, b):
            return tl.dot(a, b) + np.dot(a, b).sum()
        """, """
        def test_matmul():
            a = torch.ones(3, 3)
            assert torch.allclose(matmul(a, a), a @ a)

        print(torch.matmul(torch.ones(2, 2), torch.ones(2, 2)))
        """, "%timeit matmul(1, 2)", "def broken(:"), MATMUL)
    assert marked == {}


def test_scan_without_rules_finds_nothing():
    assert scan(cells("import torch\ndef f(a):\n    return a @ a"), ()) == {}


# --- the guard in the child (here: in this process) ----------------------------------------------

A = torch.ones(4, 3)
B = torch.ones(3, 2)


@pytest.mark.parametrize("function, call", [
    (lambda a, b: torch.matmul(a, b), "torch.matmul"),
    (lambda a, b: a @ b, "@"),
    (lambda a, b: getattr(torch, "mat" + "mul")(a, b), "torch.matmul"),
    (lambda a, b: torch.ops.aten.mm.default(a, b), "aten.mm"),
    (lambda a, b: F.linear(a, b.T), "torch.nn.functional.linear"),
    (lambda a, b: torch.einsum("ik,kj->ij", a, b), "torch.einsum"),
    (lambda a, b: torch.tensordot(a, b, dims=1), "torch.tensordot"),
])
def test_guard_refuses_and_names_the_call(function, call):
    with pytest.raises(ForbiddenOperation, match=rf"called {call.replace('.', '[.]')}, which this assignment forbids"):
        guarded_call(MATMUL, function, A, B)


def test_catching_the_refusal_does_not_help():
    def sneaky(a, b):
        try:
            return torch.matmul(a, b)
        except Exception:
            return torch.zeros(a.shape[0], b.shape[1])

    with pytest.raises(ForbiddenOperation, match="sneaky called torch.matmul"):
        guarded_call(MATMUL, sneaky, A, B)


@pytest.mark.parametrize("pop", [torch._C._pop_torch_function_stack,
                                 lambda: __import__("torch.utils._python_dispatch").utils._python_dispatch._pop_mode()])
def test_removing_the_guard_is_detected(pop):
    def unguard(a, b):
        pop()
        return (a[:, :, None] * b[None]).sum(1)

    with pytest.raises(ForbiddenOperation, match="removed the grader's operation guard"):
        guarded_call(MATMUL, unguard, A, B)


def test_allowed_operations_run_unchanged_and_conv_allows_matrix_products():
    blocked = guarded_call(MATMUL, lambda a, b: (a[:, :, None] * b[None]).sum(1), A, B)
    assert torch.equal(blocked, torch.full((4, 2), 3.0))
    assert torch.equal(guarded_call(CONV, lambda a, b: a @ b, A, B), blocked)
    with pytest.raises(ForbiddenOperation, match="torch.nn.functional.conv2d"):
        guarded_call(CONV, F.conv2d, torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))


def test_a_function_the_scan_marked_is_refused_before_it_reaches_the_child():
    student = Student(kernel=None, student_id="alice", forbidden={"matmul": "matmul uses @ (cell 2, line 2)"})
    with pytest.raises(ForbiddenOperation, match="matmul uses @"):
        student.matmul(A, B)
    with pytest.raises(ForbiddenOperation, match="matmul uses @"):
        student.measure("matmul", {"op": "matmul"})


# --- end to end: the matmul assignment through the command line -----------------------------------

BLOCKED = '''
def matmul(a, b, tile=32):
    """A blocked PyTorch matmul: tiles multiplied with * and .sum, accepted for correctness."""
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        raise ValueError("bad operands")
    c = torch.zeros(a.shape[0], b.shape[1], dtype=torch.float32, device=a.device)
    for k0 in range(0, a.shape[1], tile):
        c += (a[:, k0:k0 + tile, None].float() * b[None, k0:k0 + tile].float()).sum(1)
    return c.to(a.dtype)
'''


def test_matmul_grading_accepts_blocked_pytorch_and_names_forbidden_calls(tmp_path, make_notebook):
    folder = tmp_path / "submissions"
    make_notebook(folder, "import torch", BLOCKED, name="blocked.ipynb")
    make_notebook(folder, "import torch", "def matmul(a, b):\n    return getattr(torch, 'mat' + 'mul')(a, b)",
                  name="hidden.ipynb")
    make_notebook(folder, "import torch", "def matmul(a, b):\n    return a @ b", name="operator.ipynb")
    db = f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    autograder("grade", "matmul", str(folder), "--db", db, "--workers", "2")
    students = {entry["student"]: {test["name"]: test for test in entry["tests"]} for entry in
                json.loads(autograder("export", "matmul", "--format", "json", "--db", db))["students"]}
    graded = [name for name in students["blocked"] if not name.startswith(("quiz_", "test_speed"))]
    assert {name: students["blocked"][name]["status"] for name in graded} == dict.fromkeys(graded, "passed")
    assert students["blocked"]["test_speed_against_cublas"]["status"] == "skipped"
    for name in graded:
        assert students["hidden"][name]["status"] == "failed"
        assert "matmul called torch.matmul, which this assignment forbids" in students["hidden"][name]["message"]
        assert students["operator"][name]["status"] == "failed"
        assert "matmul uses @ (cell 2, line 2), which this assignment forbids" in students["operator"][name]["message"]
