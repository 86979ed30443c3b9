"""The untrusted side: a fork server and the per-submission kernel it forks.

Run as ``python -m autograder._kernel FD[,FD...] [--leave-root]``. The fork server imports
NumPy, torch, matplotlib and IPython once (one OpenMP thread, so fork is safe),
then waits on the control sockets, one per trusted grader. For each submission
the trusted side sends a
socket of its own; the server forks a child that confines itself (see
`autograder.sandbox`), runs the notebook's cells in an IPython
`InteractiveShell` and then answers calls of the notebook's functions.
Nothing here ever reads hidden tests, references or the gradebook: only
notebook sources come in, and only plain data (`autograder._wire`) goes out.
"""

from __future__ import annotations

import functools
import gc
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

from autograder import _wire, gpu_timing
from autograder.forbidden_ops import guarded_call
from autograder.pool_jail import leave_root
from autograder.sandbox import PidNamespaces, ResourceLimits, confine, readable_paths

REFUSED_CELL_MAGICS = ("bash", "sh", "script", "perl", "ruby", "python", "python2",
                       "python3", "pypy", "system", "sx", "capture_output")
ERROR_CHARS = 2000


def _preload():
    """Import what every submission uses, so that each fork starts warm."""
    import matplotlib
    import numpy  # noqa: F401
    try:
        import pyseccomp  # noqa: F401  (finds libseccomp with ldconfig: before any child is confined)
    except (ImportError, OSError, AttributeError):
        pass  # no libseccomp here: each child reports the seccomp layer as missing
    import torch
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    torch.set_num_threads(1)
    torch.ones(2) @ torch.ones(2)  # touch cpuinfo and the allocator before any fork
    matplotlib.use("module://matplotlib_inline.backend_inline")
    import matplotlib.pyplot  # noqa: F401

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.xmode = "Plain"
    config.InteractiveShell.autoawait = False  # no top-level await: saves re-parsing every cell
    shell = InteractiveShell.instance(config=config)
    shell.enable_gui = lambda gui=None: None  # inline figures need no GUI event loop
    _refuse_shell_escapes(shell)
    return shell


def _refuse_shell_escapes(shell) -> None:
    def refuse(*_args, **_kwargs):
        raise PermissionError("shell commands (!cmd, %%bash, %sx) are not allowed in graded notebooks")

    shell.system = shell.system_raw = shell.system_piped = shell.getoutput = refuse
    for name in REFUSED_CELL_MAGICS:
        shell.register_magic_function(refuse, "cell", name)
    for name in ("sx", "system", "sc"):
        shell.register_magic_function(refuse, "line", name)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


# --- the child ------------------------------------------------------------------

def _run_cells(shell, sock: socket.socket, cells: list[str], skip: dict[str, str]) -> list[dict]:
    outcomes = []
    for index, source in enumerate(cells):
        if str(index) in skip:
            outcomes.append({"index": index, "status": "skipped", "error": skip[str(index)]})
            continue
        _wire.send(sock, {"event": "cell", "index": index})
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        outcomes.append({"index": index, "status": "error" if error else "ok",
                         "error": _describe(error) if error else ""})
    return outcomes


def _error(kind: str, message: str) -> dict:
    return {"ok": False, "error": {"type": kind, "message": message}}


def _lookup(shell, objects: dict[int, object], header: dict) -> tuple[object, str] | dict:
    """The object a request names (a notebook name, or an attribute of a kept object), or an error reply."""
    name, target = header.get("name"), header.get("target")
    if type(name) is not str:
        return _error("TypeError", "a request without a name")
    if target is None:
        if name not in shell.user_ns:
            return _error("NameError", f"{name!r} is not defined in the notebook")
        return shell.user_ns[name], name
    if target not in objects:
        return _error("NameError", f"no kept object {target!r}")
    try:
        return getattr(objects[target], name), name
    except Exception as error:  # a missing attribute or a property that raises
        return _error(type(error).__name__, str(error)[:ERROR_CHARS])


def _on_origin_device(value: object) -> object:
    """Tensors the trusted side sent from a GPU go back onto it (the wire carries them as CPU arrays)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_on_origin_device(item) for item in value)
    if isinstance(value, dict):
        return {key: _on_origin_device(item) for key, item in value.items()}
    origin = getattr(value, "origin_device", "cpu")
    return value.to(origin) if origin.startswith("cuda") else value


def _answer(shell, objects: dict[int, object], header: dict, blobs: list[bytes]) -> tuple[dict, object]:
    """Get, call, or call-and-keep (`new`) what the request names; returns the reply header and value."""
    found = _lookup(shell, objects, header)
    if isinstance(found, dict):
        return found, None
    value, name = found
    if header.get("op") == "get":
        return {"ok": True}, value
    if not callable(value):
        return _error("TypeError", f"{name} is not a function"), None
    args, kwargs = _on_origin_device(_wire.decode(header.get("value"), blobs))
    forbidden = tuple(str(name) for name in header.get("forbidden") or ())
    try:
        if header.get("op") == "time":  # a round of the GPU timing harness, all of it under the guard
            value = functools.update_wrapper(functools.partial(gpu_timing.timed_round, value), value)
        result = guarded_call(forbidden, value, *args, **kwargs)
    except BaseException as error:  # the student's exception is data to report
        kinds = [kind.__name__ for kind in type(error).__mro__]
        return {"ok": False, "error": {"type": kinds[0], "bases": kinds[1:8], "message": str(error)[:ERROR_CHARS]}}, None
    if header.get("op") == "new":
        objects[len(objects) + 1] = result
        return {"ok": True, "handle": len(objects)}, None
    if header.get("target") is not None and result is objects[header["target"]]:
        return {"ok": True, "self": True}, None  # a method that returns self, like fit()
    return {"ok": True}, result


def _serve_calls(shell, sock: socket.socket) -> None:
    objects: dict[int, object] = {}  # what `new` made, kept for the trusted side's later calls
    while True:
        try:
            header, blobs = _wire.recv(sock)
        except _wire.PeerClosed:
            return
        if header.get("op") == "bye":
            return
        reply, value = _answer(shell, objects, header, blobs)
        try:
            _wire.send_value(sock, reply, value)
        except _wire.WireError as error:
            _wire.send(sock, {"ok": False, "error": {"type": "NotPlainData", "message": str(error)}})


def _child(shell, sock: socket.socket, scratch: Path, limits: ResourceLimits) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    output = os.open(scratch / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, write_through=True)  # nothing lost when killed
    layers = confine(scratch, limits, keep_fds=(sock.fileno(),))
    header, _ = _wire.recv(sock)
    _wire.send(sock, {"event": "started", "layers": layers})
    outcomes = _run_cells(shell, sock, header["cells"], header.get("skip", {}))
    _wire.send(sock, {"event": "done", "cells": outcomes})
    _serve_calls(shell, sock)


def _spawn(shell, namespaces: PidNamespaces, control: socket.socket, controls: list[socket.socket]) -> bool:
    """Fork one child for the request on `control`; False when that connection has ended."""
    try:
        message, fds, _flags, _addr = socket.recv_fds(control, 1 << 16, 1)
    except OSError:
        return False
    if not message or not fds:
        return False
    request = _wire.json.loads(message)
    sock = socket.socket(fileno=fds[0])
    pid = namespaces.fork()
    if pid == 0:
        for connection in controls:
            connection.close()
        try:
            _child(shell, sock, Path(request["scratch"]), ResourceLimits(**request["limits"]))
        finally:
            os._exit(0)
    sock.close()
    control.sendall(_wire.json.dumps({"pid": pid}).encode() + b"\n")
    return True


def main() -> None:
    """Serve fork requests on the control sockets named in argv until every one has closed."""
    controls = [socket.socket(fileno=int(fd)) for fd in sys.argv[1].split(",")]
    if sys.argv[2:] == ["--leave-root"]:
        leave_root()  # bubblewrap started us as root, in its jail
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    started = time.monotonic()
    shell = _preload()
    readable_paths()  # computed once here, inherited by every child that confines itself
    gc.freeze()  # the warm heap stays shared: children's collections don't copy its pages
    namespaces = PidNamespaces()
    ready = _wire.json.dumps({"ready": round(time.monotonic() - started, 3)}).encode() + b"\n"
    for control in controls:
        control.sendall(ready)
    while controls:
        readable, _, _ = select.select(controls, [], [])
        for control in readable:
            if not _spawn(shell, namespaces, control, controls):
                controls.remove(control)
                control.close()


if __name__ == "__main__":
    main()
