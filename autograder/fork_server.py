"""The trusted side's handle on the fork server: starting it, jailed where possible, and asking it for children.

`ForkServer` starts the pre-warmed fork server (`autograder._kernel`) in a
clean environment, inside bubblewrap where the machine allows it
(`autograder.pool_jail`); each trusted grader process talks to it through a
`ForkClient` of its own, which asks for one confined child per run and puts it
in the grader's cgroups before any of its code runs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from autograder.cgroups import Cgroups
from autograder.pool_jail import JAIL_LAYER, TIER_BARE, TIER_JAILED, bubblewrap, jail_command, prepare_home
from autograder.sandbox import RUN_UID, ResourceLimits

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
START_TIMEOUT = 120.0


class KernelDied(Exception):
    """The notebook's process exited or could not be (re)started."""



def _clean_environment() -> dict[str, str]:
    package_parent = str(Path(__file__).resolve().parent.parent)
    threads = {name: "1" for name in THREAD_VARIABLES}
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": package_parent,
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg", **threads}


class ForkClient:
    """One trusted grader's connection to the fork server."""

    def __init__(self, control: socket.socket, limits: ResourceLimits, log: Path, *, runs: Path,
                 jailed: bool) -> None:
        self.control = control
        self.limits = limits
        self.log = log
        self.runs = runs  # where each run's scratch folder is made: inside the server's jail
        self.jailed = jailed
        self.tier = TIER_JAILED if jailed else TIER_BARE
        self.run_uid = RUN_UID if jailed else None  # who owns the run folders, when the server left root
        self.cgroups = Cgroups(limits)  # one grader runs one submission at a time: its children share them
        jail = [JAIL_LAYER] if jailed else []
        self.pool_layers = jail + self.cgroups.layers  # the layers the trusted side adds to each child's own
        self._replies = control.makefile("rb")
        self.warmup_seconds: float | None = None  # known once the server said it is ready

    def settings(self) -> dict[str, Any]:
        """What another process needs, with `control`, to make this client again (`ForkClient(control, **...)`)."""
        return {"limits": self.limits, "log": self.log, "runs": self.runs, "jailed": self.jailed}

    def wait_ready(self) -> ForkClient:
        """Block until the server has warmed up (the first spawn does this by itself)."""
        if self.warmup_seconds is None:
            self.warmup_seconds = self._read_reply(START_TIMEOUT)["ready"]
        return self

    def _read_reply(self, timeout: float) -> dict:
        self.control.settimeout(timeout)
        try:
            line = self._replies.readline()
        except (TimeoutError, OSError):
            line = b""
        if not line:
            detail = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
            raise KernelDied(f"the fork server did not answer: {detail[-1] if detail else 'no output'}")
        return json.loads(line)

    def make_scratch(self) -> Path:
        """A fresh folder for one run, where the server can reach it."""
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=self.runs))
        if self.run_uid is not None:
            os.chown(scratch, self.run_uid, self.run_uid)
        return scratch

    def spawn(self, scratch: Path) -> tuple[int, socket.socket]:
        """Fork a child confined to `scratch`; returns its pid and our end of its socket."""
        self.wait_ready()
        ours, theirs = socket.socketpair()
        request = json.dumps({"scratch": str(scratch), "limits": self.limits.as_dict()}).encode()
        socket.send_fds(self.control, [request], [theirs.fileno()])
        theirs.close()
        pid = self._read_reply(30.0)["pid"]
        self.cgroups.add(pid)  # before the caller sends the cells: no student code runs outside
        return pid, ours

    def close(self) -> None:
        self._replies.close()  # the file object holds the socket open: close both so the server sees EOF
        self.control.close()
        self.cgroups.remove()


class ForkServer:
    """The pre-warmed process that forks one sandboxed child per submission.

    It serves `clients` connections (one per trusted grader process); `spawn`
    uses the first, for a single grader. Started as root where bubblewrap works,
    it runs jailed (`autograder.pool_jail`) unless `jail` is False.
    """

    def __init__(self, limits: ResourceLimits = ResourceLimits(), clients: int = 1, *,
                 jail: bool | None = None) -> None:
        self.jailed = os.geteuid() == 0 and bubblewrap() is not None and jail is not False
        self.home = Path(tempfile.mkdtemp(prefix="autograder-server-"))
        self.home.chmod(0o711)  # children that left root must reach their scratch folders in runs/
        runs = self.home / "runs"
        runs.mkdir()
        pairs = [socket.socketpair() for _ in range(clients)]
        theirs = [pair[1].fileno() for pair in pairs]
        environment = {**_clean_environment(), "HOME": str(self.home),
                       "MPLCONFIGDIR": str(self.home), "IPYTHONDIR": str(self.home / "ipython")}
        command = [sys.executable, "-s", "-m", "autograder._kernel", ",".join(map(str, theirs))]
        if self.jailed:
            prepare_home(self.home)
            command = [*jail_command(self.home), *command, "--leave-root"]
        log = self.home / "server.log"
        with open(log, "wb") as output:
            self._process = subprocess.Popen(command, pass_fds=theirs, env=environment, cwd=self.home,
                                             stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        for _, their_end in pairs:
            their_end.close()
        self.clients = [ForkClient(ours, limits, log, runs=runs, jailed=self.jailed) for ours, _ in pairs]

    def make_scratch(self) -> Path:
        return self.clients[0].make_scratch()

    def spawn(self, scratch: Path) -> tuple[int, socket.socket]:
        return self.clients[0].spawn(scratch)

    @property
    def cgroups(self) -> Cgroups:
        return self.clients[0].cgroups

    @property
    def pool_layers(self) -> list[str]:
        return self.clients[0].pool_layers

    def close(self) -> None:
        for client in self.clients:
            client.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
