"""Confinement of a submission's process, applied in the child right after fork.

Layers: a new session; death with the fork server; a private scratch folder as
cwd, HOME and TMPDIR; closed inherited descriptors; rlimits (CPU, address
space, file size, open files, no core dumps); empty network, IPC and host-name
namespaces and, made by the fork server, a pid namespace whose pid 1 is the
submission (killing it kills everything it started); a mount namespace with a
size-limited tmpfs as scratch and its own /proc; uid 65534; Landlock (read
only the runtime, write only the scratch folder, no TCP, scoped signals); no
capabilities; a seccomp filter. The trusted side adds cgroup limits on the
run's processes and memory (`autograder.cgroups`). A layer the kernel refuses reports itself missing
instead of failing; `isolation_gap` says when grading would be unsafe.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import signal
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
RUN_UID = 65534  # "nobody": the uid student code runs as, where we start as root
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ResourceLimits:
    """What one submission may use; sizes in bytes, times in seconds."""

    cpu_seconds: int = 600
    memory_bytes: int = 4 << 30  # per process: address space on top of the fork server's; per run: cgroup
    file_bytes: int = 64 << 20
    open_files: int = 256
    processes: int = 128  # processes and threads of a run together (cgroup pids)
    scratch_bytes: int = 256 << 20  # all files of a run together (its scratch tmpfs)

    def as_dict(self) -> dict:
        return asdict(self)


@functools.cache
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
    if not gpu_device_nodes():  # CUDA reserves far more address space than it uses: there the cgroup bounds memory
        _set_limit(resource.RLIMIT_AS, _current_address_space() + limits.memory_bytes)
    _set_limit(resource.RLIMIT_FSIZE, limits.file_bytes)
    _set_limit(resource.RLIMIT_NOFILE, limits.open_files)
    _set_limit(resource.RLIMIT_CORE, 0)


def _unshare_namespaces() -> list[str]:
    """Enter empty mount, network, IPC and host-name namespaces (as root, else through a user namespace)."""
    libc = _libc()
    others = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    names = ["mount namespace", "network namespace", "ipc namespace", "uts namespace"]
    for flags, layers in ((others, names), (CLONE_NEWUSER | others, ["user namespace", *names])):
        if libc.unshare(flags) == 0:
            return layers
    return [f"network still reachable (unshare: {os.strerror(ctypes.get_errno())})"]


def _hidden_ancestor(path: str) -> str | None:
    """The highest folder above `path` that others may not enter (say /root, mode 0700)."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        folder = os.path.join(*parts[:depth])
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def _expose_runtime() -> None:
    """Cover each folder others could not enter with a tmpfs they can, and bind the runtime back into it."""
    libc = _libc()
    by_cover: dict[str, list[str]] = {}
    for path in readable_paths():
        cover = _hidden_ancestor(path)
        if cover is not None:
            by_cover.setdefault(cover, []).append(path)
    for cover, paths in by_cover.items():
        keep = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths}  # reachable once covered
        if libc.mount(b"tmpfs", cover.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m"):
            raise OSError(ctypes.get_errno(), f"tmpfs over {cover}")
        for path, descriptor in keep.items():
            Path(path).mkdir(parents=True, exist_ok=True) if os.path.isdir(f"/proc/self/fd/{descriptor}") \
                else Path(path).touch()
            source = f"/proc/self/fd/{descriptor}".encode()
            if libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None):
                raise OSError(ctypes.get_errno(), f"bind {path}")
            os.close(descriptor)


def die_with_parent() -> None:
    """Be killed (SIGKILL) when the process that started this one dies, whatever it dies of."""
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _host_uid() -> int:
    """This process's uid outside the user namespace it is in (its uid when it is in none)."""
    uid = os.getuid()
    for line in Path("/proc/self/uid_map").read_text().splitlines():
        inside, outside, count = map(int, line.split())
        if inside <= uid < inside + count:
            return outside + uid - inside
    return uid


def _become(uid: int) -> list[str]:
    """Leave root for `uid` (its runtime made reachable first); capabilities go with it."""
    try:
        _expose_runtime()
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    except OSError as error:
        return [f"still root ({error})"]
    return [f"uid {uid}"]


def _private_mounts(scratch: Path, limits: ResourceLimits, host_uid: int) -> list[str]:
    """In the run's own mount namespace: scratch on a size-limited tmpfs, and a /proc of its own.

    Both vanish with the namespace when the run dies; the host sees neither.
    """
    libc = _libc()
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None):
        return [f"shared mounts ({os.strerror(ctypes.get_errno())}): scratch has no size limit"]
    layers = []
    owner = RUN_UID if host_uid == 0 else os.getuid()  # who the run will be in this namespace
    options = f"size={limits.scratch_bytes},mode=0700,uid={owner},gid={owner}".encode()
    if libc.mount(b"tmpfs", str(scratch).encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0:
        layers.append(f"scratch on a {limits.scratch_bytes >> 20} MB tmpfs")
    if os.getpid() == 1 and libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0:
        layers.append("own /proc (only the run's processes)")
    return layers


class PidNamespaces:
    """Forks each child as pid 1 of a pid namespace of its own, where the kernel allows it.

    When that pid 1 dies, for whatever reason, the kernel kills every process left
    in its namespace: setsid daemons and double forks included. The fork server
    calls `fork()`: unshare(CLONE_NEWPID) before, setns back to its own namespace after.
    """

    def __init__(self) -> None:
        self._own = os.open("/proc/self/ns/pid", os.O_RDONLY)

    def fork(self) -> int:
        """Fork; returns 0 in the child, and in the parent the child's pid as the host sees it."""
        libc = _libc()
        fresh = libc.unshare(CLONE_NEWPID) == 0
        pid = os.fork()
        if pid and fresh:
            libc.setns(self._own, CLONE_NEWPID)
        return pid and _host_pid(pid)


def _host_pid(pid: int) -> int:
    """The pid of our child `pid` as /proc's pid namespace (the host's) numbers it.

    A jailed server is pid 1 of a namespace of its own, but its /proc is the host's.
    """
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return pid  # already gone: nothing will be done to it
    try:
        with open(f"/proc/self/fdinfo/{descriptor}") as info:
            return next(int(line.split()[1]) for line in info if line.startswith("Pid:"))
    finally:
        os.close(descriptor)


# --- Landlock: what the child may read and write ------------------------------------------

SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_RULE_PATH_BENEATH, PR_SET_NO_NEW_PRIVS = 1, 1, 38
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_IOCTL_DEV = 1 << 15  # Landlock ABI 5: ioctl on device files (CUDA's driver speaks ioctl)
FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}  # later ABIs: same
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
SYSTEM_READABLE = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/proc", "/sys", "/etc/ld.so.cache",
                   "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ssl",
                   "/etc/fonts", "/dev/urandom", "/dev/zero")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def readable_paths() -> tuple[str, ...]:
    """The runtime a submission needs: system libraries, the interpreter, its packages, this package.

    The same for every child: the fork server computes it once, before it forks any.
    """
    import site
    import sys

    ours = [sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
            str(Path(__file__).resolve().parent), os.environ.get("MPLCONFIGDIR", "")]
    return tuple(path for path in dict.fromkeys([*SYSTEM_READABLE, *ours]) if path and os.path.exists(path))


def gpu_device_nodes() -> tuple[str, ...]:
    """The NVIDIA device nodes a CUDA program opens (/dev/nvidia0, nvidiactl, nvidia-uvm, ...): none without a GPU."""
    return tuple(sorted(str(path) for path in Path("/dev").glob("nvidia*")))


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not os.path.isdir(path):
            access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_IOCTL_DEV  # rights that make sense on a file
        rule = _PathBeneathAttr(access, fd)
        if libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0):
            raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
    finally:
        os.close(fd)


def _landlock(scratch: Path) -> list[str]:
    """Read only the runtime, write only `scratch` and /dev/null, no TCP; scoped signals and sockets."""
    libc = _libc()
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    if abi < 1:
        return [f"no Landlock ({os.strerror(ctypes.get_errno())}): files outside scratch stay reachable"]
    fs = FS_RIGHTS_BY_ABI[max(level for level in FS_RIGHTS_BY_ABI if level <= abi)]
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return [f"no Landlock ruleset ({os.strerror(ctypes.get_errno())})"]
    try:
        for path in readable_paths():
            _allow(libc, ruleset, path, FS_READ)
        _allow(libc, ruleset, "/dev/null", FS_READ_FILE | FS_WRITE_FILE)
        for node in gpu_device_nodes():
            _allow(libc, ruleset, node, (FS_READ_FILE | FS_WRITE_FILE | FS_READ_DIR | FS_IOCTL_DEV) & fs)
        _allow(libc, ruleset, str(scratch), fs)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return [f"Landlock ABI {abi}: read-only runtime, writes only in scratch"
            + (", no TCP" if abi >= 4 else "") + (", scoped signals" if abi >= 6 else "")]


# --- capabilities and system calls -----------------------------------------------------------

PR_CAPBSET_DROP = 24
LINUX_CAPABILITY_VERSION_3 = 0x20080522
NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
REFUSED_SYSCALLS = (
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "userfaultfd", "init_module", "finit_module", "delete_module",
    "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "open_by_handle_at",
    "name_to_handle_at", "settimeofday", "clock_settime", "adjtimex", "syslog", "mknod", "mknodat",
)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> list[str]:
    """Root without capabilities: no mounts, raw sockets, module loading or DAC override."""
    libc = _libc()
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    if libc.capset(ctypes.byref(_CapHeader(LINUX_CAPABILITY_VERSION_3, 0)), ctypes.byref((_CapData * 2)())):
        return [f"capabilities kept (capset: {os.strerror(ctypes.get_errno())})"]
    return ["no capabilities"]


def _seccomp() -> list[str]:
    """Refuse the system calls a notebook has no business making (EPERM); everything else runs."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError) as error:  # no libseccomp on this machine
        return [f"no seccomp ({error})"]
    refused = seccomp.ERRNO(errno.EPERM)
    syscalls = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED_SYSCALLS:
        syscalls.add_rule(refused, name)
    for flag in NAMESPACE_FLAGS:  # clone() that would make a new namespace of any kind
        syscalls.add_rule(refused, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    syscalls.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # its flags are out of reach: glibc falls back
    syscalls.load()
    return ["seccomp: no sockets, ptrace, mounts, namespaces, bpf, perf, keyrings, io_uring, modules"]


# --- what the layers in force mean -------------------------------------------------------------

WHAT_LAYERS_BLOCK = {
    "bubblewrap": "hidden tests, references, the gradebook, any file but the runtime: not in the pool's view",
    "session": "leftover processes of the run (its process group is killed)",
    "scratch folder": "clutter: the run works in a private folder, deleted afterwards",
    "network namespace": "all network traffic (no interfaces but a loopback that is down)",
    "pid namespace": "outliving the run: every process it started dies with it, daemons too",
    "user namespace": "(needed for the namespaces when not running as root)",
    "ipc namespace": "shared memory and semaphores of other processes",
    "mount namespace": "(holds the run's own mounts below)",
    "scratch on a": "filling the disk: all the run's files share a size-limited tmpfs",
    "own /proc": "seeing other processes (their command lines, environments, memory)",
    "uts namespace": "changing the machine's host name",
    "cgroup": "fork bombs and memory use summed over all the run's processes",
    "rlimits": "exhausting CPU, memory, disk (file size) and descriptors",
    "Landlock": "reading outside the runtime, writing outside scratch, TCP, signals to other processes",
    "uid": "what root may do by uid alone: writing root's files, signalling root's processes",
    "no capabilities": "mounts, raw sockets, module loading, overriding file permissions",
    "seccomp": "sockets, ptrace, mounts, new namespaces, bpf, perf, keyrings, io_uring, modules",
}


def what_it_blocks(layer: str) -> str:
    """What a layer reported by a confined child protects against ("" for a missing layer)."""
    return next((blocks for name, blocks in WHAT_LAYERS_BLOCK.items() if layer.startswith(name)), "")


def isolation_gap(layers: list[str]) -> str:
    """Why grading with these layers would be unsafe ("" when files and network are isolated)."""
    missing = [need for need, present in (("file-system isolation (Landlock)", any(l.startswith("Landlock") for l in layers)),
                                          ("network isolation (a network namespace)", "network namespace" in layers))
               if not present]
    return " and ".join(missing)


def _close_inherited(keep: tuple[int, ...]) -> None:
    start = 3
    for fd in sorted(keep):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def confine(scratch: Path, limits: ResourceLimits, keep_fds: tuple[int, ...]) -> list[str]:
    """Confine the calling (freshly forked) process; returns the layers in force."""
    os.setsid()
    die_with_parent()
    _close_inherited(keep_fds)
    layers = ["session", "scratch folder", *_unshare_namespaces()]
    if os.getpid() == 1:
        layers.append("pid namespace")
    if "mount namespace" in layers:
        host_uid = _host_uid()
        layers += _private_mounts(scratch, limits, host_uid)
        if host_uid != 0:
            layers.append(f"uid {host_uid}")  # a jailed pool left root already
        elif any(layer.startswith("scratch on a") for layer in layers):
            layers += _become(RUN_UID)
    os.chdir(scratch)  # after the mounts, so that the run works in its tmpfs
    os.environ.update(HOME=str(scratch), TMPDIR=str(scratch))
    os.umask(0o077)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes fail with EFBIG instead
    _apply_rlimits(limits)
    return layers + ["rlimits", *_landlock(scratch), *_drop_capabilities(), *_seccomp()]
