"""Timing a student's GPU function against the vendor library (cuBLAS, cuDNN), side by side.

The protocol (see shared/research/gpu-grading.md) has three parts:

- the harness (`timed_round`), the same code in the student's sandboxed child
  and in a vendor process that never ran student code (`python -m
  autograder.gpu_timing`): every call gets fresh inputs made on the GPU from a
  seed, an L2 flush of 256 MB before it, CUDA events around it and a
  device-wide synchronisation after it, and leaves a fingerprint of its output;
- the trusted side (`grade_speed`, run by a hidden test): warms both up by
  time (JIT and autotuning), then interleaves rounds of the vendor and the
  student on the same seeds until the standard error of both medians is small;
  checks every student fingerprint against the vendor's for the same inputs;
  and cross-checks the student's event times against the wall-clock time of
  each round measured here, so a patched timer, a side stream or a cached
  result does not pass;
- scoring: speed ratio = vendor median / student median, geometric mean over
  the shapes; full marks at or above the assignment's threshold, ratio /
  threshold below it; a ratio above 10x or a throughput beyond the GPU's peak
  is flagged for an instructor and not credited.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

NO_GPU = "no CUDA device"
FLUSH_BYTES = 256 << 20        # larger than any GPU's L2 (H100: 50 MB)
WARM_UP_SECONDS = 1.0          # covers Triton's JIT compile and autotuning
ROUND_CALLS = 10               # timed calls per round; rounds alternate vendor / student
MIN_ROUNDS = 3
TARGET_REL_STDERR = 0.01       # stop once stderr / median < 1 % on both sides ...
SHAPE_BUDGET_SECONDS = 20.0    # ... or after this long per shape
IMPLAUSIBLE_RATIO = 10.0       # faster than 10x the vendor library: flagged, not credited
WALL_SLACK_SECONDS = 1e-4      # per call: host overhead the student's side may have beyond the vendor's
WALL_SLACK_SHARE = 0.25        # ... plus this share of the student's own median
TOLERANCE = {"float16": 1e-2, "bfloat16": 5e-2, "float32": 1e-5, "float64": 1e-12}
PEAK_FLOPS = {  # dense tensor-core (float16) and plain-FP32 peaks, per second; no TF32 is used
    "H100": {"float16": 989e12, "float32": 67e12},
    "H200": {"float16": 989e12, "float32": 67e12},
    "A100": {"float16": 312e12, "float32": 19.5e12},
}


def tolerance(dtype: str, k: int) -> tuple[float, float]:
    """(rtol, atol) for a sum of `k` products in `dtype`: atol grows like sqrt(k), the typical output."""
    eps = TOLERANCE[dtype]
    return eps, eps * math.sqrt(max(k, 1))


@dataclass(frozen=True)
class Performance:
    """The `[performance]` section of an assignment.toml: what is timed and the bar for full marks."""

    op: str
    dtype: str
    tf32: bool
    threshold: float
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def load(cls, path: Path) -> Performance:
        """Read and check `path`'s [performance] section; ValueError naming the file and the problem."""
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8"))["performance"]
            performance = cls(op=section["op"], dtype=section["dtype"], tf32=section["tf32"],
                              threshold=section["threshold"], shapes=tuple(tuple(s) for s in section["shapes"]))
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: no valid [performance] section ({type(error).__name__}: {error})") from None
        if performance.op not in ARITY or performance.dtype not in TOLERANCE:
            raise ValueError(f"{path}: [performance] op must be one of {sorted(ARITY)} and dtype one of "
                             f"{sorted(TOLERANCE)}, got {performance.op!r} and {performance.dtype!r}")
        if type(performance.tf32) is not bool or not 0 < performance.threshold <= IMPLAUSIBLE_RATIO:
            raise ValueError(f"{path}: [performance] tf32 must be true/false and threshold in (0, 10]")
        if not performance.shapes or any(len(s) != ARITY[performance.op] or min(s) < 0 for s in performance.shapes):
            raise ValueError(f"{path}: [performance] shapes must be lists of {ARITY[performance.op]} sizes "
                             f"for {performance.op}")
        return performance


# --- workloads: the same inputs from the same seed, in any process ---------------------------

ARITY = {"matmul": 3, "conv2d": 9}  # M, N, K  |  N, C, H, W, O, kh, kw, stride, padding


def make_inputs(op: str, shape: tuple[int, ...], dtype: str, seed: int, device: str) -> tuple[list, dict]:
    """Fresh standard-normal inputs of `op` for `shape`, the same for the same seed on the same GPU."""
    import torch

    generator = torch.Generator(device=device).manual_seed(seed)
    kind = getattr(torch, dtype)

    def normal(*size: int) -> Any:
        return torch.randn(size, generator=generator, device=device, dtype=kind)

    if op == "matmul":
        m, n, k = shape
        return [normal(m, k), normal(k, n)], {}
    n, c, h, w, o, kh, kw, stride, padding = shape
    return [normal(n, c, h, w), normal(o, c, kh, kw), normal(o)], {"stride": stride, "padding": padding}


def flops(op: str, shape: tuple[int, ...]) -> float:
    """Floating-point operations of one call: 2 per multiply-add."""
    if op == "matmul":
        m, n, k = shape
        return 2.0 * m * n * k
    n, c, h, w, o, kh, kw, stride, padding = shape
    out_h, out_w = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    return 2.0 * n * o * c * kh * kw * out_h * out_w


def vendor_function(op: str) -> Callable[..., Any]:
    """What the student is raced against: cuBLAS through torch.matmul, cuDNN through F.conv2d."""
    import torch

    return torch.matmul if op == "matmul" else torch.nn.functional.conv2d


def fingerprint(output: Any, seed: int) -> list[float]:
    """[sum(w * out), norm of w * out] for weights w in [-1, 1] drawn from `seed`: a cached or wrong output
    differs from the right one by about the norm, rounding by a small share of it."""
    import torch

    if not isinstance(output, torch.Tensor) or not output.is_floating_point():
        return [math.nan, math.nan]
    generator = torch.Generator(device=output.device).manual_seed(seed + 1)
    weights = torch.rand(output.shape, generator=generator, device=output.device, dtype=torch.float64) * 2 - 1
    weighted = output.detach().double() * weights
    return [weighted.sum().item(), weighted.norm().item()]


def fingerprints_agree(student: list[float], vendor: list[float], dtype: str) -> bool:
    """Whether two fingerprints of outputs for the same inputs match within `dtype`'s rounding."""
    (got, _), (want, norm) = student, vendor
    return math.isfinite(got) and abs(got - want) <= 5 * TOLERANCE[dtype] * norm + 1e-9


# --- the harness: runs in the student's child and in the vendor process ------------------------

def set_tf32(allowed: bool) -> None:
    """The TF32 policy, explicit: torch 2.13 defaults to TF32 in cuDNN but not in cuBLAS."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed


def timed_round(function: Callable[..., Any], request: dict) -> dict:
    """Run `function` once per seed of `request` (op, shape, dtype, seeds, tf32; or warm_up seconds).

    Returns {"seconds": [...], "fingerprints": [...]}, one entry per call.
    """
    import torch

    set_tf32(bool(request["tf32"]))
    op, shape, dtype = request["op"], tuple(request["shape"]), request["dtype"]
    flush = torch.empty(FLUSH_BYTES // 4, dtype=torch.int32, device="cuda")
    if request.get("warm_up"):
        started, calls = time.perf_counter(), 0
        while calls < 3 or time.perf_counter() - started < float(request["warm_up"]):
            args, kwargs = make_inputs(op, shape, dtype, calls, "cuda")
            function(*args, **kwargs)
            torch.cuda.synchronize()
            calls += 1
        return {"seconds": [], "fingerprints": []}
    seconds, prints = [], []
    for seed in request["seeds"]:
        args, kwargs = make_inputs(op, shape, dtype, int(seed), "cuda")
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        flush.zero_()  # still running while the function's host code launches its kernels, as in do_bench
        start.record()
        output = function(*args, **kwargs)
        end.record()
        torch.cuda.synchronize()  # device-wide: work on any stream has finished
        seconds.append(start.elapsed_time(end) / 1e3)
        prints.append(fingerprint(output, int(seed)))
    return {"seconds": seconds, "fingerprints": prints}


# --- statistics and scoring (pure) --------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """Median, mean and the standard error of the mean of per-call times, in seconds."""

    median: float
    mean: float
    stderr: float
    calls: int

    @classmethod
    def of(cls, seconds: list[float]) -> Summary:
        if not seconds:
            raise ValueError("no timed calls to summarise")
        spread = statistics.stdev(seconds) if len(seconds) > 1 else math.inf
        return cls(statistics.median(seconds), statistics.fmean(seconds), spread / math.sqrt(len(seconds)),
                   len(seconds))

    @property
    def relative_stderr(self) -> float:
        return self.stderr / self.mean if self.mean > 0 else math.inf


def converged(student: list[float], vendor: list[float], rounds: int) -> bool:
    """The stopping rule: enough rounds, and both sides' means known to TARGET_REL_STDERR."""
    return rounds >= MIN_ROUNDS and all(Summary.of(side).relative_stderr < TARGET_REL_STDERR
                                        for side in (student, vendor))


def speed_credit(ratio: float, threshold: float) -> float:
    """Share of the speed points: 1 at or above `threshold` (vendor time / student time), ratio / threshold
    below it (a sliding scale, as in CS149), 0 for no valid ratio."""
    if not math.isfinite(ratio) or ratio <= 0:
        return 0.0
    return min(1.0, ratio / threshold)


def wall_clock_gap(student_wall: float, vendor_wall: float, student_events: list[float],
                   vendor_events: list[float]) -> float:
    """Seconds per call that the student's round took on the wall clock and its events do not explain.

    Both rounds do the same calls, flushes and input generation; honest events leave only the
    difference in host overhead. A patched timer, or work on a side stream, shows up here.
    """
    calls = max(len(student_events), 1)
    return ((student_wall - vendor_wall) - (sum(student_events) - sum(vendor_events))) / calls


def wall_clock_disagrees(gap: float, student_median: float) -> bool:
    return gap > WALL_SLACK_SECONDS + WALL_SLACK_SHARE * student_median


def implausible(ratio: float, flops_per_second: float, device_name: str, dtype: str) -> str:
    """Why a speed is not credible ("" if it is): over 10x the vendor library, or beyond the GPU's peak."""
    if ratio > IMPLAUSIBLE_RATIO:
        return f"{ratio:.1f}x the vendor library's speed (over {IMPLAUSIBLE_RATIO:g}x)"
    peak = next((peaks.get(dtype) for name, peaks in PEAK_FLOPS.items() if name in device_name), None)
    if peak and flops_per_second > peak:
        return f"{flops_per_second / 1e12:.0f} TFLOP/s, beyond the {device_name}'s peak of {peak / 1e12:.0f}"
    return ""


# --- the vendor process: never runs student code -------------------------------------------------

class VendorProcess:
    """`python -m autograder.gpu_timing` in a fresh process: answers one JSON request per line."""

    def __init__(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "autograder.gpu_timing"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        self.device_name = str(self.request({"op": "device"})["device"])

    def request(self, request: dict) -> dict:
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the vendor timing process exited")
        return json.loads(line)

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> VendorProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def serve_vendor() -> None:
    """The vendor process's loop: one request per stdin line, one JSON reply per stdout line."""
    import torch

    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "device":
            reply: dict = {"device": torch.cuda.get_device_name()}
        else:
            reply = timed_round(vendor_function(request["op"]), request)
        print(json.dumps(reply), flush=True)


# --- the trusted side: one race per shape, then the credit ----------------------------------------

def race(student: Any, name: str, vendor: VendorProcess, request: dict, rng: Any,
         clock: Callable[[], float] = time.perf_counter) -> dict:
    """Interleave vendor and student rounds on the same fresh seeds until the stopping rule holds.

    `clock` is the trusted side's wall clock, read around every round.
    """
    for side in (lambda r: vendor.request(r), lambda r: student.measure(name, r)):
        side({**request, "warm_up": WARM_UP_SECONDS})
    times: dict[str, list[float]] = {"student": [], "vendor": []}
    wrong, gaps, rounds, started = 0, [], 0, clock()
    while not converged(times["student"], times["vendor"], rounds) and (
            rounds < MIN_ROUNDS or clock() - started < SHAPE_BUDGET_SECONDS):
        seeds = [int(s) for s in rng.integers(0, 2**31, ROUND_CALLS)]
        before = clock()
        theirs = vendor.request({**request, "seeds": seeds})
        between = clock()
        ours = student.measure(name, {**request, "seeds": seeds})
        student_wall, vendor_wall = clock() - between, between - before
        if len(ours.get("seconds", [])) != len(seeds) or len(ours.get("fingerprints", [])) != len(seeds):
            raise AssertionError(f"{name}: the timing harness returned {len(ours.get('seconds', []))} times "
                                 f"for {len(seeds)} calls")
        wrong += sum(not fingerprints_agree(s, v, request["dtype"])
                     for s, v in zip(ours["fingerprints"], theirs["fingerprints"]))
        gaps.append(wall_clock_gap(student_wall, vendor_wall, ours["seconds"], theirs["seconds"]))
        times["student"] += [float(s) for s in ours["seconds"]]
        times["vendor"] += theirs["seconds"]
        rounds += 1
    return {"student": Summary.of(times["student"]), "vendor": Summary.of(times["vendor"]),
            "wrong": wrong, "gap": statistics.median(gaps)}


def judge(results: dict[tuple[int, ...], dict], performance: Performance, device_name: str) -> tuple[float, str]:
    """(share of the speed points, summary) from each shape's race; AssertionError for a wrong result, or
    for a flag (wall clock disagrees, over 10x the vendor library, beyond the GPU's peak): not credited."""
    ratios, notes, flags = [], [], []
    for shape, result in results.items():
        you, them = result["student"], result["vendor"]
        if result["wrong"]:
            raise AssertionError(f"{shape}: {result['wrong']} timed calls returned a wrong result "
                                 "(fresh inputs every call: a cached or approximate output does not pass)")
        if wall_clock_disagrees(result["gap"], you.median):
            flags.append(f"{shape}: the wall clock shows {result['gap'] * 1e3:.2f} ms per call that the "
                         "CUDA events do not (a side stream or a patched timer?)")
        ratio = them.median / you.median if you.median > 0 else math.inf
        why = implausible(ratio, flops(performance.op, shape) / you.median if you.median > 0 else math.inf,
                          device_name, performance.dtype)
        flags += [f"{shape}: {why}"] if why else []
        ratios.append(ratio)
        notes.append(f"{shape}: {you.median * 1e3:.3f} ms (mean {you.mean * 1e3:.3f} +- {you.relative_stderr:.1%}) "
                     f"vs {them.median * 1e3:.3f} ms ({ratio:.2f}x)")
    if flags:
        raise AssertionError("flagged for an instructor, not credited: " + "; ".join(flags))
    overall = math.exp(statistics.fmean(math.log(r) for r in ratios))
    return speed_credit(overall, performance.threshold), (
        f"{overall:.2f}x the vendor library's speed (full marks at {performance.threshold:.2f}x): " + "; ".join(notes))


def grade_speed(student: Any, name: str, performance: Performance, device: str, rng: Any, credit: Any) -> None:
    """The speed test of an assignment: race every shape, judge, give credit by threshold (see module doc).

    Skipped (never failed, never credited) unless grading with a GPU.
    """
    if device != "cuda":
        import pytest

        pytest.skip(NO_GPU)
    with VendorProcess() as vendor:
        results = {shape: race(student, name, vendor, {"op": performance.op, "shape": list(shape),
                                                      "dtype": performance.dtype, "tf32": performance.tf32}, rng)
                   for shape in performance.shapes}
        earned, summary = judge(results, performance, vendor.device_name)
    with credit.part(earned, summary):
        pass
    if earned < 1.0:
        with credit.part(1.0 - earned, summary):
            raise AssertionError("below the threshold")


if __name__ == "__main__":
    serve_vendor()
