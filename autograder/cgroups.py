"""Cgroup limits over all of a run's processes, applied by the trusted side.

A per-process rlimit cannot stop a fork bomb or memory spread over many
processes; a cgroup can. The trusted side makes the groups (it is root), moves
each child in before any of its code runs, and removes them afterwards.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from autograder.sandbox import ResourceLimits

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroups:
    """Cgroup v1 `pids` and `memory` groups for one grader's runs, where this machine lets us make them.

    A grader runs one submission at a time; the trusted side moves each child in right after
    the fork, before any cell runs, and what the child starts stays inside (it cannot write
    the cgroup files: Landlock, no capabilities). The limits bound everything a run starts.
    """

    _made = 0

    def __init__(self, limits: ResourceLimits) -> None:
        Cgroups._made += 1
        name = f"autograder/{os.getpid()}-{Cgroups._made}"
        self.groups: list[Path] = []
        self.layers: list[str] = []
        for controller, setting, value in (("pids", "pids.max", limits.processes),
                                           ("memory", "memory.limit_in_bytes", limits.memory_bytes)):
            if not (CGROUP_ROOT / controller / "cgroup.procs").exists():
                continue  # no cgroup v1 hierarchy for this controller here
            group = CGROUP_ROOT / controller / name
            try:
                group.parent.mkdir(exist_ok=True)
                group.mkdir(exist_ok=True)
                (group / setting).write_text(str(value))
            except OSError:
                continue  # not writable here: the layer is simply absent
            self.groups.append(group)
            self.layers.append(f"cgroup {controller} (at most {value})")

    def add(self, pid: int) -> None:
        for group in self.groups:
            (group / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Delete the groups once their last processes are gone (they die with each run's pid 1)."""
        deadline = time.monotonic() + 2.0
        for group in self.groups:
            while True:
                try:
                    group.rmdir()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break  # an empty group left behind is harmless; the next run does not reuse it
                    time.sleep(0.005)
        self.groups = []
