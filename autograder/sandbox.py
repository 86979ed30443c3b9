"""Confinement of a submission's process, applied in the child right after fork.

Layers at this tier: a new session (so the whole process group can be killed),
death with the fork server, a private scratch folder as cwd, HOME and TMPDIR,
closed inherited descriptors, rlimits (CPU, address space, file size, open
files, no core dumps), and where the kernel lets us create them a network
namespace (no network at all) and a pid namespace whose pid 1 is the
submission, so that killing it kills everything it started. Further
kernel-level isolation (bubblewrap, Landlock, seccomp) comes as more layers
applied by `confine` in the same place.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ResourceLimits:
    """What one submission may use; sizes in bytes, times in seconds."""

    cpu_seconds: int = 600
    memory_bytes: int = 4 << 30  # address space on top of the fork server's own
    file_bytes: int = 64 << 20
    open_files: int = 256

    def as_dict(self) -> dict:
        return asdict(self)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _current_address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _set_limit(kind: int, value: int) -> None:
    _soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def _apply_rlimits(limits: ResourceLimits) -> None:
    _set_limit(resource.RLIMIT_CPU, limits.cpu_seconds)
    _set_limit(resource.RLIMIT_AS, _current_address_space() + limits.memory_bytes)
    _set_limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    _set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    _set_limit(resource.RLIMIT_CORE, 0)


def _leave_network() -> list[str]:
    """Enter an empty network namespace (as root, else through a user namespace); say which."""
    libc = _libc()
    for flags, layers in ((CLONE_NEWNET, ["network namespace"]),
                          (CLONE_NEWUSER | CLONE_NEWNET, ["user namespace", "network namespace"])):
        if libc.unshare(flags) == 0:
            return layers
    return [f"network still reachable (unshare: {os.strerror(ctypes.get_errno())})"]


class PidNamespaces:
    """Forks each child as pid 1 of a pid namespace of its own, where the kernel allows it.

    When that pid 1 dies, for whatever reason, the kernel kills every process left
    in its namespace: setsid daemons and double forks included. The fork server
    calls `fork()`: unshare(CLONE_NEWPID) before, setns back to its own namespace after.
    """

    def __init__(self) -> None:
        self._own = os.open("/proc/self/ns/pid", os.O_RDONLY)

    def fork(self) -> int:
        libc = _libc()
        fresh = libc.unshare(CLONE_NEWPID) == 0
        pid = os.fork()
        if pid and fresh:
            libc.setns(self._own, CLONE_NEWPID)
        return pid


def _close_inherited(keep: tuple[int, ...]) -> None:
    start = 3
    for fd in sorted(keep):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def confine(scratch: Path, limits: ResourceLimits, keep_fds: tuple[int, ...]) -> list[str]:
    """Confine the calling (freshly forked) process; returns the layers in force."""
    os.setsid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _close_inherited(keep_fds)
    os.chdir(scratch)
    os.environ.update(HOME=str(scratch), TMPDIR=str(scratch))
    os.umask(0o077)
    layers = ["session", "scratch folder", *_leave_network()]
    if os.getpid() == 1:
        layers.append("pid namespace")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with EFBIG instead
    _apply_rlimits(limits)
    return layers + ["rlimits"]
