"""How fast `autograder grade` is, against the floor of one fresh interpreter per notebook.

Grades N copies of a correct `softmax` notebook with 1 and 2 workers (each run a
fresh gradebook, start-up included) and times `python -c "import numpy, torch"`,
which any one-kernel-per-notebook grader (nbgrader, Otter) pays per submission
before it runs a single cell. All figures come from one run, side by side;
absolute times drift on shared machines, the ratios are what to compare.

    python benchmarks/grading_speed.py [--copies 200] [--baseline-runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "03_softmax" / "samples" / "alice.ipynb"


def wall(command: list[str], **options) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **options)
    return time.perf_counter() - started


def baseline(runs: int) -> float:
    """Median seconds to start Python and import NumPy and torch."""
    return statistics.median(wall([sys.executable, "-c", "import numpy, torch"]) for _ in range(runs))


def grading(folder: Path, workers: int, work: Path) -> float:
    """Seconds for one `autograder grade` of `folder` into a fresh gradebook."""
    db = work / f"bench-{workers}.sqlite"
    for stale in work.glob(db.name + "*"):
        stale.unlink()
    return wall([sys.executable, "-m", "autograder", "grade", "softmax", str(folder),
                 "--db", f"sqlite:///{db}", "--workers", str(workers)], cwd=REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=5)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    try:
        folder = work / "submissions"
        folder.mkdir()
        for index in range(options.copies):
            shutil.copy(NOTEBOOK, folder / f"student{index:04d}.ipynb")
        floor = baseline(options.baseline_runs)
        rows = [(workers, grading(folder, workers, work)) for workers in (1, 2)]
        floor = (floor + baseline(options.baseline_runs)) / 2  # before and after, against drift
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{options.copies} correct `softmax` notebooks; a fresh `python -c \"import numpy, torch\"` "
          f"takes {floor * 1000:.0f} ms.\n")
    print("| workers | total (s) | per submission (ms) | vs a fresh import per notebook |")
    print("|---:|---:|---:|---:|")
    for workers, seconds in rows:
        per = seconds / options.copies
        print(f"| {workers} | {seconds:.1f} | {per * 1000:.1f} | 1/{floor / per:.0f} |")

if __name__ == "__main__":
    main()
