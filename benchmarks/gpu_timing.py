"""The references of the GPU assignments against cuBLAS and cuDNN, with the grader's own harness.

    python benchmarks/gpu_timing.py [--repeats 10] [--assignments matmul conv]

For each assignment and shape of its [performance] section: the reference's and the
vendor library's median time per call, TFLOP/s, the ratio the grader scores, and over
the repeats the coefficient of variation of that ratio (the target: below 2 %). The
reference runs here, in this process, through `gpu_timing.timed_round`; the vendor
library in its own process, interleaved, as when grading. Without a GPU it says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from pathlib import Path

import numpy as np
import torch

from autograder import gpu_timing
from autograder.course import Course

REPO = Path(__file__).resolve().parent.parent


class InProcess:
    """The reference in the role of a student: `measure` runs the harness around it here."""

    def __init__(self, function) -> None:
        self.function = function

    def measure(self, _name: str, request: dict) -> dict:
        return gpu_timing.timed_round(self.function, request)


def reference_function(assignment, name: str):
    spec = importlib.util.spec_from_file_location(f"reference_{assignment.name}", assignment.reference)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--assignments", nargs="+", default=["matmul", "conv"])
    options = parser.parse_args()
    if not torch.cuda.is_available():
        print(gpu_timing.NO_GPU)
        return
    rng = np.random.default_rng(0)
    with gpu_timing.VendorProcess() as vendor:
        print(f"{vendor.device_name}, torch {torch.__version__}, {options.repeats} repeats per shape")
        print(f"{'assignment':>10} {'shape':>34} {'reference ms':>12} {'vendor ms':>10} {'ref TFLOP/s':>11} "
              f"{'ratio':>6} {'ratio CV':>8}")
        for name in options.assignments:
            assignment = Course(REPO).assignment(name)
            performance = gpu_timing.Performance.load(assignment.solutions / "assignment.toml")
            student = InProcess(reference_function(assignment, performance.op))
            for shape in performance.shapes:
                request = {"op": performance.op, "shape": list(shape), "dtype": performance.dtype,
                           "tf32": performance.tf32}
                races = [gpu_timing.race(student, performance.op, vendor, request, rng) for _ in range(options.repeats)]
                ratios = [r["vendor"].median / r["student"].median for r in races]
                ours = statistics.median(r["student"].median for r in races)
                theirs = statistics.median(r["vendor"].median for r in races)
                spread = statistics.stdev(ratios) / statistics.fmean(ratios) if len(ratios) > 1 else float("nan")
                wrong = sum(r["wrong"] for r in races)
                print(f"{name:>10} {str(shape):>34} {ours * 1e3:12.3f} {theirs * 1e3:10.3f} "
                      f"{gpu_timing.flops(performance.op, shape) / ours / 1e12:11.1f} "
                      f"{statistics.median(ratios):6.2f} {spread:8.2%}" + (f"  {wrong} WRONG RESULTS" if wrong else ""))


if __name__ == "__main__":
    main()
