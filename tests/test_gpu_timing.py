"""The GPU timing harness: its statistics, scoring and cross-checks on the CPU (the race run against fake
sides that answer like the harness), and on a GPU the red-team notebooks through the real command line."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from autograder import gpu_timing
from autograder.gpu_timing import Performance, Summary
from test_consistency import REPO, autograder

MATMUL = Performance.load(REPO / "solutions" / "09_matmul" / "assignment.toml")
SMALL = {"op": "matmul", "shape": [48, 40, 32], "dtype": "float32", "tf32": False}


class FakeClock:
    """The trusted side's wall clock in the race, moved only by the fake sides: no real timing in tests."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeSide:
    """Answers timing requests as `timed_round` does, on the CPU: `function`'s outputs, `seconds` per call
    as its "events" report, and `wall` seconds per call on the trusted side's clock."""

    device_name = "NVIDIA H200"

    def __init__(self, clock: FakeClock, function, seconds: float, wall: float | None = None) -> None:
        self.clock, self.function, self.seconds = clock, function, seconds
        self.wall = seconds if wall is None else wall

    def request(self, request: dict) -> dict:
        if request.get("warm_up"):
            return {"seconds": [], "fingerprints": []}
        prints = []
        for seed in request["seeds"]:
            args, kwargs = gpu_timing.make_inputs(request["op"], tuple(request["shape"]), request["dtype"], seed, "cpu")
            prints.append(gpu_timing.fingerprint(self.function(*args, **kwargs), seed))
        self.clock.now += (self.wall + 1e-3) * len(request["seeds"])  # 1 ms a call of flush, inputs, fingerprint
        return {"seconds": [self.seconds] * len(request["seeds"]), "fingerprints": prints}

    def measure(self, _name: str, request: dict) -> dict:
        return self.request(request)


def cached(function):
    outputs = []

    def first_output_forever(*args, **kwargs):
        if not outputs:
            outputs.append(function(*args, **kwargs))
        return outputs[0]

    return first_output_forever


def race(student: FakeSide, vendor: FakeSide) -> dict:
    assert student.clock is vendor.clock
    return gpu_timing.race(student, "matmul", vendor, SMALL, np.random.default_rng(0), clock=student.clock)


# --- configuration, workloads, tolerance ------------------------------------------------------------

def test_the_assignments_performance_sections_load():
    conv = Performance.load(REPO / "solutions" / "08_conv" / "assignment.toml")
    assert (MATMUL.op, MATMUL.dtype, MATMUL.tf32, MATMUL.threshold) == ("matmul", "float16", False, 0.7)
    assert (4096, 4096, 4096) in MATMUL.shapes and conv.op == "conv2d" and len(conv.shapes[0]) == 9


@pytest.mark.parametrize("section, problem", [
    ("", r"no valid \[performance\] section"),
    ('[performance]\nop = "fft"\ndtype = "float16"\ntf32 = false\nthreshold = 0.5\nshapes = [[1, 2, 3]]', "op must be"),
    ('[performance]\nop = "matmul"\ndtype = "float16"\ntf32 = false\nthreshold = 0\nshapes = [[1, 2, 3]]', "threshold"),
    ('[performance]\nop = "matmul"\ndtype = "float16"\ntf32 = false\nthreshold = 0.5\nshapes = [[1, 2]]', "3 sizes"),
])
def test_a_bad_performance_section_is_one_line_naming_the_file(tmp_path, section, problem):
    config = tmp_path / "assignment.toml"
    config.write_text(section)
    with pytest.raises(ValueError, match=problem) as raised:
        Performance.load(config)
    assert str(raised.value).startswith(str(config)) and "\n" not in str(raised.value)


def test_inputs_are_fresh_per_seed_and_the_same_for_the_same_seed():
    (a1, b1), _ = gpu_timing.make_inputs("matmul", (5, 3, 4), "float16", 7, "cpu")
    (a2, _), _ = gpu_timing.make_inputs("matmul", (5, 3, 4), "float16", 7, "cpu")
    (a3, _), _ = gpu_timing.make_inputs("matmul", (5, 3, 4), "float16", 8, "cpu")
    assert a1.shape == (5, 4) and b1.shape == (4, 3) and a1.dtype == torch.float16
    assert torch.equal(a1, a2) and not torch.equal(a1, a3)
    (x, w, b), options = gpu_timing.make_inputs("conv2d", (2, 3, 9, 9, 4, 3, 3, 2, 1), "float32", 0, "cpu")
    assert (x.shape, w.shape, b.shape, options) == ((2, 3, 9, 9), (4, 3, 3, 3), (4,), {"stride": 2, "padding": 1})


def test_flops_count_two_per_multiply_add():
    assert gpu_timing.flops("matmul", (4096, 4096, 4096)) == 2 * 4096 ** 3
    assert gpu_timing.flops("conv2d", (2, 3, 9, 9, 4, 3, 3, 2, 1)) == 2 * 2 * 4 * 3 * 3 * 3 * 5 * 5


def test_tolerance_grows_with_k_and_loosens_with_the_dtype():
    assert gpu_timing.tolerance("float32", 100) == (1e-5, 1e-4)
    assert gpu_timing.tolerance("float16", 400)[1] > gpu_timing.tolerance("float16", 100)[1] > \
        gpu_timing.tolerance("float32", 100)[1]


def test_fingerprints_tell_a_right_output_from_a_stale_one_but_not_from_rounding():
    (a, b), _ = gpu_timing.make_inputs("matmul", (64, 64, 256), "float16", 1, "cpu")
    (other, _), _ = gpu_timing.make_inputs("matmul", (64, 64, 256), "float16", 2, "cpu")
    exact = gpu_timing.fingerprint(a.double() @ b.double(), 1)
    assert gpu_timing.fingerprints_agree(gpu_timing.fingerprint(a @ b, 1), exact, "float16")
    assert not gpu_timing.fingerprints_agree(gpu_timing.fingerprint(other @ b, 1), exact, "float16")
    assert not gpu_timing.fingerprints_agree(gpu_timing.fingerprint("not a tensor", 1), exact, "float16")


# --- statistics and scoring ---------------------------------------------------------------------------

def test_summary_records_median_mean_and_standard_error():
    summary = Summary.of([1.0, 2.0, 3.0, 10.0])
    assert (summary.median, summary.mean, summary.calls) == (2.5, 4.0, 4)
    assert summary.stderr == pytest.approx(np.std([1, 2, 3, 10], ddof=1) / 2)
    with pytest.raises(ValueError):
        Summary.of([])


def test_stopping_rule_needs_rounds_and_a_small_standard_error_on_both_sides():
    steady, noisy = [1e-3] * 30, list(np.random.default_rng(0).uniform(0.5e-3, 2e-3, 30))
    assert not gpu_timing.converged(steady, steady, rounds=gpu_timing.MIN_ROUNDS - 1)
    assert gpu_timing.converged(steady, steady, rounds=gpu_timing.MIN_ROUNDS)
    assert not gpu_timing.converged(noisy, steady, rounds=10)


@pytest.mark.parametrize("ratio, credit", [(0.7, 1.0), (1.4, 1.0), (0.35, 0.5), (0.07, 0.1), (0.0, 0.0),
                                           (math.nan, 0.0)])
def test_full_marks_at_the_threshold_and_a_sliding_scale_below(ratio, credit):
    assert gpu_timing.speed_credit(ratio, 0.7) == pytest.approx(credit)


def test_implausible_speeds_are_named():
    assert "over 10x" in gpu_timing.implausible(12.0, 1e12, "NVIDIA H200", "float16")
    assert "beyond the NVIDIA H100 80GB HBM3's peak" in gpu_timing.implausible(2.0, 1.2e15, "NVIDIA H100 80GB HBM3",
                                                                                "float16")
    assert gpu_timing.implausible(1.1, 7e14, "NVIDIA H200", "float16") == ""
    assert gpu_timing.implausible(1.1, 7e16, "an unknown GPU", "float16") == ""


def test_wall_clock_gap_is_what_the_events_do_not_explain():
    honest = gpu_timing.wall_clock_gap(0.030, 0.020, [2e-3] * 10, [1e-3] * 10)
    assert honest == pytest.approx(0.0) and not gpu_timing.wall_clock_disagrees(honest, 2e-3)
    patched = gpu_timing.wall_clock_gap(0.030, 0.020, [1e-5] * 10, [1e-3] * 10)
    assert patched == pytest.approx(1.99e-3) and gpu_timing.wall_clock_disagrees(patched, 1e-5)


# --- the race and the judgement, against fake sides ----------------------------------------------------

def test_an_honest_student_at_half_the_vendors_speed_earns_by_the_sliding_scale():
    clock = FakeClock()
    results = {(48, 40, 32): race(FakeSide(clock, torch.matmul, 2e-3), FakeSide(clock, torch.matmul, 1e-3))}
    result = results[(48, 40, 32)]
    assert result["wrong"] == 0 and result["student"].calls >= gpu_timing.MIN_ROUNDS * gpu_timing.ROUND_CALLS
    assert result["student"].median == 2e-3 and result["vendor"].median == 1e-3
    earned, summary = gpu_timing.judge(results, MATMUL, "NVIDIA H200")
    assert earned == pytest.approx(0.5 / 0.7) and "0.50x the vendor library's speed" in summary


def test_a_cached_result_scores_nothing():
    clock = FakeClock()
    results = {(48, 40, 32): race(FakeSide(clock, cached(torch.matmul), 1e-3), FakeSide(clock, torch.matmul, 1e-3))}
    assert results[(48, 40, 32)]["wrong"] == gpu_timing.MIN_ROUNDS * gpu_timing.ROUND_CALLS - 1
    with pytest.raises(AssertionError, match="timed calls returned a wrong result"):
        gpu_timing.judge(results, MATMUL, "NVIDIA H200")


def test_a_timer_that_under_reports_is_flagged_by_the_wall_clock():
    clock = FakeClock()
    results = {(48, 40, 32): race(FakeSide(clock, torch.matmul, 1e-4, wall=2e-3), FakeSide(clock, torch.matmul, 1e-3))}
    with pytest.raises(AssertionError, match="flagged for an instructor.*wall clock shows 1.90 ms per call"):
        gpu_timing.judge(results, MATMUL, "NVIDIA H200")


def test_more_than_ten_times_the_vendor_is_flagged_not_credited():
    results = {(48, 40, 32): {"student": Summary.of([1e-4] * 30), "vendor": Summary.of([2e-3] * 30),
                              "wrong": 0, "gap": 0.0}}
    with pytest.raises(AssertionError, match="flagged for an instructor.*20.0x the vendor"):
        gpu_timing.judge(results, MATMUL, "NVIDIA H200")


def test_without_a_gpu_the_speed_test_is_skipped_with_its_reason():
    with pytest.raises(pytest.skip.Exception, match="no CUDA device"):
        gpu_timing.grade_speed(None, "matmul", MATMUL, "cpu", np.random.default_rng(0), None)


# --- on a GPU: the red team through the command line --------------------------------------------------

RED_TEAM = {
    "honest": "",
    "cached": "_honest = matmul\n_outputs = []\n\ndef matmul(a, b):\n    if not _outputs:\n"
              "        _outputs.append(_honest(a, b))\n    return _outputs[0]",
    "side_stream": "_honest = matmul\n_side = torch.cuda.Stream()\n\ndef matmul(a, b):\n"
                   "    with torch.cuda.stream(_side):\n        return _honest(a, b)",
    "patched_event": "torch.cuda.Event.elapsed_time = lambda self, end: 0.001",
    "hidden_cublas": "_honest = matmul\n\ndef matmul(a, b):\n    return getattr(torch, 'mat' + 'mul')(a, b)",
}


@pytest.mark.skipif(not torch.cuda.is_available(), reason=gpu_timing.NO_GPU)
def test_red_team_on_a_gpu(tmp_path, make_notebook):
    reference = (REPO / "solutions" / "09_matmul" / "reference.py").read_text()
    for name, cheat in RED_TEAM.items():
        make_notebook(tmp_path / "submissions", reference, cheat, name=f"{name}.ipynb")
    db = f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    autograder("grade", "matmul", str(tmp_path / "submissions"), "--db", db, "--device", "cuda", "--workers", "1")
    speed = {entry["student"]: next(t for t in entry["tests"] if t["name"] == "test_speed_against_cublas")
             for entry in json.loads(autograder("export", "matmul", "--format", "json", "--db", db))["students"]}
    print(json.dumps(speed, indent=1))  # the figures, for the README
    assert speed["honest"]["score"] == speed["honest"]["max_score"], speed["honest"]["message"]
    assert speed["cached"]["score"] == 0 and "wrong result" in speed["cached"]["message"]
    for name in ("side_stream", "patched_event"):
        assert speed[name]["score"] == 0 and "wall clock" in speed[name]["message"], speed[name]
    assert speed["hidden_cublas"]["score"] == 0 and "torch.matmul" in speed["hidden_cublas"]["message"]



# --- the sandbox lets a child reach the GPU's device nodes, and nothing else beside them ------------------

CONFINED_WRITES = """
import os
import sys
from pathlib import Path
from autograder import sandbox
node, other, scratch = sys.argv[1:]
sandbox.gpu_device_nodes = lambda: (node,)
print(sandbox._landlock(Path(scratch)))
for path in (node, other):
    try:
        os.write(os.open(path, os.O_RDWR), b"x")  # as the CUDA driver opens /dev/nvidia*: no truncation
        print(path, "written")
    except PermissionError:
        print(path, "refused")
"""


def test_landlock_passes_the_gpu_device_nodes_through(tmp_path):
    node, other, scratch = tmp_path / "nvidia0", tmp_path / "other", tmp_path / "scratch"
    node.touch()
    other.touch()
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-c", CONFINED_WRITES, str(node), str(other), str(scratch)],
                            capture_output=True, text=True, cwd=REPO, check=True)
    if "no Landlock" in result.stdout:
        pytest.skip("no Landlock on this machine")
    assert f"{node} written" in result.stdout and f"{other} refused" in result.stdout, result.stdout
