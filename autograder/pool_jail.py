"""The fork server's own jail: bubblewrap around the pool, and an unprivileged uid inside it.

Where `bwrap` runs, the fork server (and so every child it forks) lives in a
mount namespace made of read-only binds of the runtime and a writable home of
its own, with empty network, IPC and host-name namespaces: hidden tests,
references, the gradebook and the rest of the host's files are not in its file
system at all, whatever the per-submission layers (`autograder.sandbox`) do.

The trusted side starts bubblewrap as root, which can read a runtime kept under
a 0700 home (pyenv under /root). The server's first act is `leave_root`: it
becomes an unprivileged uid and enters a user namespace of its own, where it
keeps the capabilities it needs to make each submission's namespaces and mounts,
and nothing over the host's files.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from autograder.sandbox import (CLONE_NEWPID, CLONE_NEWUSER, RUN_UID, _libc, die_with_parent, gpu_device_nodes,
                                readable_paths)

PR_SET_DUMPABLE = 4
HOST_VIEWS = ("/proc", "/sys", "/dev")  # not bound as runtime: each is mounted on its own terms below
SYS_READABLE = ("/sys/devices/system/cpu",)  # what torch reads of the CPUs
JAIL_LAYER = "bubblewrap around the pool: only the runtime is in its file system"
TIER_JAILED = f"bubblewrap pool as uid {RUN_UID}, each submission in its own namespaces"
TIER_BARE = "per-submission layers only (the fork server runs unjailed, as the caller)"


@functools.cache
def bubblewrap() -> str | None:
    """The `bwrap` program, when it is installed and allowed to make namespaces here."""
    program = shutil.which("bwrap")
    if program is None:
        return None
    probe = [program, "--ro-bind", "/", "/", "--unshare-net", "--unshare-ipc", "--die-with-parent", "true"]
    try:
        works = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    return program if works else None


def _binds(paths: Iterable[str]) -> list[str]:
    """Read-only binds of `paths`, skipping those inside one already bound; links stay links.

    The folders on the way are made enterable: bubblewrap would otherwise make some
    as closed as the host's /root (0700), and the server could not reach the
    runtime once it has left root.
    """
    arguments: list[str] = []
    bound: list[str] = []
    made: set[str] = set()
    for path in sorted(paths):
        if any(path == done or path.startswith(done.rstrip("/") + "/") for done in bound):
            continue
        if os.path.islink(path) and os.path.dirname(path) == "/":
            arguments += ["--symlink", os.readlink(path), path]  # /bin -> usr/bin on merged-/usr systems
        else:
            folders = [str(parent) for parent in reversed(Path(path).parents) if str(parent) not in made | {"/"}]
            for folder in folders:
                arguments += ["--perms", "0755", "--dir", folder]
            made.update(folders)
            arguments += ["--ro-bind", path, path]
        bound.append(path)
    return arguments


def jail_command(home: Path) -> list[str]:
    """The bubblewrap command line that jails a fork server whose home (writable) is `home`."""
    program = bubblewrap()
    assert program is not None, "jail_command needs bwrap (see bubblewrap())"
    runtime = [path for path in readable_paths() if not path.startswith(HOST_VIEWS)]
    devices = [argument for device in gpu_device_nodes() for argument in ("--dev-bind", device, device)]
    system = [argument for path in SYS_READABLE if os.path.exists(path) for argument in ("--ro-bind", path, path)]
    if devices:  # the CUDA driver reads the PCI topology
        system = ["--ro-bind", "/sys", "/sys"]
    return [
        program, "--die-with-parent", "--new-session", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        "--tmpfs", "/tmp",  # first: the runtime or the home may lie below it (a clone in /tmp)
        *_binds(runtime), "--dev", "/dev", *devices,
        # The host's /proc, not a fresh one: a /proc that bubblewrap masks in part would stop
        # each submission from mounting a /proc of its own.
        "--bind", "/proc", "/proc", *system, "--bind", str(home), str(home),
    ]


def prepare_home(home: Path) -> None:
    """Hand the server's home to the uid it will run as (the trusted side, as root, made it)."""
    os.chown(home, RUN_UID, RUN_UID)


def leave_root(uid: int = RUN_UID) -> None:
    """Become `uid`, then root of a user namespace of one's own that maps to it.

    Called first thing by a fork server that bubblewrap started as root. It keeps
    the right to make namespaces and mounts for its children, over nothing but
    what that namespace owns; on the host it is `uid`.
    """
    libc = _libc()
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # so that it may write its own /proc/self maps
    if libc.unshare(CLONE_NEWUSER):
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {uid} 1")
    _become_init_of_pool()


def _become_init_of_pool() -> None:
    """Go on as pid 1 of a pid namespace this user namespace owns; the caller waits and exits with it.

    Each submission's pid namespace is made from there, and the server must be able to
    return to its own pid namespace between forks (`PidNamespaces`), which the kernel
    allows only into one that its user namespace owns.
    """
    libc = _libc()
    if libc.unshare(CLONE_NEWPID):
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWPID)")
    pid = os.fork()
    if pid:
        os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) & 0xFF)
    die_with_parent()
