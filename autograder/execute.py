"""Execute a notebook in a sandboxed child and call its functions from the trusted side.

`Kernel` is one submission: its cells run in a child that the fork server
(`autograder.fork_server`) forks and confines, and `kernel.call("softmax", z)` runs the student's function there and
returns plain data. Every wait has a deadline; on a timeout or a crash the
child gets SIGKILL (it is pid 1 of its own pid namespace where the kernel allows
it, so everything it started dies with it; its process group otherwise), and
the next use forks a fresh child that re-runs the notebook, skipping the cells
that hung or killed the process.
"""

from __future__ import annotations

import builtins
import os
import shutil
import signal
import socket
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import _wire
from autograder.fork_server import ForkClient, ForkServer, KernelDied

LOG_CHARS = 64 * 1024


class StudentError(Exception):
    """The student's code raised; subclasses also derive from the builtin it raised."""

    kind = "Exception"


class NotPlainData(AssertionError):
    """The student's code returned something that is not plain data."""


class CallTimeout(Exception):
    """A call of the student's code ran past its deadline and was killed."""


_ERROR_CLASSES: dict[tuple[str, tuple[type, ...]], type[StudentError]] = {}


def _builtin_bases(names: list[str]) -> tuple[type, ...]:
    """The built-in exception classes among the names of the student's exception's MRO."""
    found = []
    for name in names:
        candidate = getattr(builtins, name, None)
        if isinstance(candidate, type) and issubclass(candidate, Exception) and candidate is not Exception:
            if not any(issubclass(known, candidate) for known in found):
                found.append(candidate)
    return tuple(found)


def student_error(kind: str, message: str, bases: list[str] = ()) -> StudentError:
    """An exception that `pytest.raises(ValueError)` catches when the student raised a ValueError.

    `kind` names the student's exception class and `bases` its ancestors (NumPy's
    AxisError is a ValueError and an IndexError); the class is built here, only from
    built-in classes.
    """
    builtin = _builtin_bases([kind, *bases])
    key = (kind, builtin)
    if key not in _ERROR_CLASSES:
        try:
            _ERROR_CLASSES[key] = type(kind, (StudentError, *builtin), {"kind": kind})
        except TypeError:  # built-ins whose layouts cannot be mixed
            _ERROR_CLASSES[key] = type(kind, (StudentError, *builtin[:1]), {"kind": kind})
    return _ERROR_CLASSES[key](message)


@dataclass(frozen=True)
class CellOutcome:
    index: int
    status: str  # ok, error, skipped, timeout, crashed
    error: str = ""


@dataclass
class NotebookRun:
    """How the notebook's cells went, over every restart."""

    cells: list[CellOutcome] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    restarts: int = 0

    def errors(self) -> list[CellOutcome]:
        return [cell for cell in self.cells if cell.status != "ok"]


class Kernel:
    """One submission's notebook, live in a sandboxed child."""

    def __init__(self, server: ForkServer | ForkClient, cells: list[str], *, timeout: float = 60.0,
                 call_timeout: float = 10.0, max_restarts: int = 8, max_skipped_cells: int = 3,
                 forbidden: tuple[str, ...] = ()) -> None:
        self.server = server
        self.forbidden = forbidden  # operations the child refuses while a function runs (forbidden_ops)
        self.cells = cells
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.max_restarts = max_restarts
        self.max_skipped_cells = max_skipped_cells
        self.run = NotebookRun()
        self.log = ""
        self._skipped: dict[int, CellOutcome] = {}  # cells that hung or crashed: skipped on restart
        self._pid: int | None = None
        self._sock: socket.socket | None = None
        self._scratch: Path | None = None
        self._starts = 0

    @property
    def pid(self) -> int | None:
        """The child's process id as the grader sees it (None when no child is running)."""
        return self._pid

    @property
    def generation(self) -> int | None:
        """Which start of the notebook is live (None when none is): kept objects die with it."""
        return self._starts if self._sock is not None else None

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> NotebookRun:
        """Run the notebook; a cell that hangs or kills the process is skipped on a retry."""
        while True:
            self._starts += 1
            if self._starts > self.max_restarts + 1:
                raise KernelDied(f"the notebook's process was restarted {self.max_restarts} times; giving up")
            self._fork()
            verdict = self._run_cells()
            self.run.restarts = self._starts - 1
            if verdict is None:
                return self.run
            self._kill()
            if verdict.index < 0 or len(self._skipped) >= self.max_skipped_cells:
                raise KernelDied(verdict.error)
            self._skipped[verdict.index] = verdict

    def _fork(self) -> None:
        self._scratch = self.server.make_scratch()
        self._pid, self._sock = self.server.spawn(self._scratch)
        skip = {str(index): cell.error for index, cell in self._skipped.items()}
        _wire.send(self._sock, {"cells": self.cells, "skip": skip})

    def _run_cells(self) -> CellOutcome | None:
        """Wait for the cells to finish; on a hang or crash, which cell and why."""
        deadline = time.monotonic() + self.timeout
        current = -1
        try:
            while True:
                header, _ = _wire.recv(self._sock, deadline=deadline)
                event = header.get("event")
                if event == "started":
                    child = [str(layer) for layer in header.get("layers", [])][:16]
                    self.run.layers = child + self.server.pool_layers
                elif event == "cell" and type(header.get("index")) is int:
                    current = header["index"]
                elif event == "done":
                    self.run.cells = self._cell_outcomes(header.get("cells"))
                    return None
        except TimeoutError:
            where = f"cell {current + 1}" if current >= 0 else "start-up"
            return CellOutcome(current, "timeout", f"{where} ran past the {self.timeout:g} s limit and was stopped")
        except _wire.WireError:
            where = f"cell {current + 1}" if current >= 0 else "start-up"
            return CellOutcome(current, "crashed", f"the notebook's process ended during {where}")

    def _cell_outcomes(self, cells: Any) -> list[CellOutcome]:
        reported = {cell.get("index"): cell for cell in cells if type(cell) is dict} if type(cells) is list else {}
        outcomes = []
        for index in range(len(self.cells)):
            cell = reported.get(index, {})
            if index in self._skipped:
                outcomes.append(self._skipped[index])
            else:
                status = cell.get("status") if cell.get("status") in ("ok", "error") else "error"
                outcomes.append(CellOutcome(index, status, str(cell.get("error", ""))[:2000]))
        return outcomes

    def _kill(self) -> None:
        if self._pid is not None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(self._pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self._sock is not None:
            self._sock.close()
        self._collect_output()
        self._pid = self._sock = None

    def _collect_output(self) -> None:
        if self._scratch is None:
            return
        try:  # O_NOFOLLOW: the notebook may have replaced its output file with a link
            descriptor = os.open(self._scratch / "output.txt", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            descriptor = None
        if descriptor is not None:
            with os.fdopen(descriptor, "rb") as handle:
                if stat.S_ISREG(os.fstat(descriptor).st_mode):
                    handle.seek(max(0, os.fstat(descriptor).st_size - LOG_CHARS))
                    self.log = (self.log + handle.read(LOG_CHARS).decode(errors="replace"))[-LOG_CHARS:]
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._scratch = None

    def close(self) -> None:
        if self._sock is not None:
            try:
                _wire.send(self._sock, {"op": "bye"})
            except OSError:
                pass
        self._kill()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # --- calls ------------------------------------------------------------------------

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run the notebook's `name(*args, **kwargs)` in the child; plain data back."""
        return self._request({"op": "call", "name": name}, (list(args), kwargs), f"{name}(...)")[1]

    def get(self, name: str) -> Any:
        """The value of the notebook's variable `name`, as plain data."""
        return self._request({"op": "get", "name": name}, None, name)[1]

    def new(self, name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        """Call `name` (a class, say) and keep the result in the child, for its methods to be called."""
        reply, _ = self._request({"op": "new", "name": name}, (list(args), kwargs), f"{name}(...)")
        if type(reply.get("handle")) is not int:
            raise KernelDied(f"{name}(...) did not return a handle")
        return RemoteObject(self, reply["handle"], self.generation, name)

    def measure(self, name: str, request: dict) -> dict:
        """One round of `autograder.gpu_timing`'s harness around the notebook's `name`, in the child."""
        return self._request({"op": "time", "name": name}, ([request], {}), f"timing {name}(...)")[1]

    def _request(self, header: dict, payload: Any, what: str) -> tuple[dict, Any]:
        if self._sock is None:
            self.start()
        if self.forbidden:
            header = {**header, "forbidden": list(self.forbidden)}
        _wire.send_value(self._sock, header, payload)
        deadline = time.monotonic() + self.call_timeout
        try:
            reply, value = _wire.recv_value(self._sock, deadline=deadline)
        except TimeoutError:
            self._kill()
            raise CallTimeout(f"{what} ran past the {self.call_timeout:g} s limit and was stopped") from None
        except _wire.PeerClosed:
            self._kill()
            raise KernelDied(f"the notebook's process exited during {what}") from None
        except _wire.WireError as error:
            self._kill()
            raise NotPlainData(f"{what} did not return plain data: {error}") from None
        if reply.get("ok") is True:
            return reply, value
        error = reply.get("error") if type(reply.get("error")) is dict else {}
        kind, message = str(error.get("type", "Exception"))[:100], str(error.get("message", ""))[:2000]
        if kind == "NotPlainData":
            raise NotPlainData(f"{what} did not return plain data: {message}")
        bases = error.get("bases") if type(error.get("bases")) is list else []
        raise student_error(kind, message, [str(name)[:100] for name in bases[:8]])


class RemoteObject:
    """An object kept in the child by `Kernel.new`: its methods run there, plain data comes back."""

    def __init__(self, kernel: Kernel, handle: int, generation: int, name: str) -> None:
        self._kernel = kernel
        self._handle = handle
        self._generation = generation
        self._name = name

    def _request(self, op: str, attribute: str, payload: Any, what: str) -> tuple[dict, Any]:
        if self._kernel.generation != self._generation:
            raise KernelDied(f"the {self._name} object was lost when the notebook's process was restarted")
        return self._kernel._request({"op": op, "name": attribute, "target": self._handle}, payload, what)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run `obj.method(*args, **kwargs)` in the child; a method returning the object gives `self`."""
        reply, value = self._request("call", method, (list(args), kwargs), f"{self._name}.{method}(...)")
        return self if reply.get("self") is True else value

    def get(self, attribute: str) -> Any:
        """The object's attribute, as plain data."""
        return self._request("get", attribute, None, f"{self._name}.{attribute}")[1]


def sandbox_layers(server: ForkServer | ForkClient) -> list[str]:
    """The confinement layers a child gets on this machine, from a child that runs nothing."""
    with Kernel(server, [], timeout=30.0) as kernel:
        return kernel.start().layers
