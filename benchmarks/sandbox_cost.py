"""What the sandbox costs per submission, against a bare fork of a warm worker.

Bare: a process that has imported NumPy, torch and IPython forks a child that
exits at once, and waits for it. Sandboxed: the fork server forks a confined
child (namespaces, Landlock, capabilities, seccomp, cgroups, scratch folder)
that runs an empty notebook and is killed, as for every submission, from a
fork server jailed in bubblewrap as uid 65534 where this machine allows it, and
from one that is not. All are measured side by side in one run; the difference
is the sandbox's cost.

    python benchmarks/sandbox_cost.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from autograder.execute import ForkServer, Kernel


def bare_fork() -> float:
    started = time.perf_counter()
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    return time.perf_counter() - started


def sandboxed(server: ForkServer) -> float:
    started = time.perf_counter()
    with Kernel(server, []) as kernel:
        kernel.start()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    import IPython  # noqa: F401  (a worker as warm as the fork server)
    import numpy  # noqa: F401
    import torch  # noqa: F401

    with ForkServer() as jailed, ForkServer(jail=False) as unjailed:
        for server in (jailed, unjailed):
            server.clients[0].wait_ready()
        bare, confined, unjailed_confined = [], [], []
        for _ in range(runs):  # interleaved, so that drift hits all alike
            bare.append(bare_fork())
            confined.append(sandboxed(jailed))
            unjailed_confined.append(sandboxed(unjailed))
        with Kernel(jailed, []) as kernel:
            layers = len(kernel.start().layers)
        tier = jailed.clients[0].tier
    bare_ms = statistics.median(bare) * 1000
    confined_ms, unjailed_ms = statistics.median(confined) * 1000, statistics.median(unjailed_confined) * 1000
    print(f"{runs} runs each, medians; {layers} sandbox layers; tier: {tier}\n")
    print("| per submission | ms |")
    print("|---|---:|")
    print(f"| bare fork + exit of a warm worker | {bare_ms:.1f} |")
    print(f"| sandboxed child: fork, confine, run an empty notebook, kill | {confined_ms:.1f} |")
    print(f"| the same from a fork server without bubblewrap | {unjailed_ms:.1f} |")
    print(f"| cost of the sandbox (difference, strongest tier) | {confined_ms - bare_ms:.1f} |")


if __name__ == "__main__":
    main()
