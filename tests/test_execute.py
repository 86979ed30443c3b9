"""Running notebooks in the sandboxed child and calling their functions from the trusted side."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.execute import (
    LOG_CHARS,
    CallTimeout,
    ForkServer,
    Kernel,
    KernelDied,
    NotPlainData,
    StudentError,
)
from autograder.sandbox import ResourceLimits

FUNCTIONS = """
import os, resource, signal, socket, sys
import numpy as np
import torch

def add(a, b=0):
    return a + b

def pid():
    return os.getpid()

def loop():
    while True:
        pass

def stubborn_loop():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass

def die():
    os._exit(3)

def bad_value():
    raise ValueError("z must be 1-D")

def bad_axis():
    return np.sum(np.ones(3), axis=4)

def stub():
    raise NotImplementedError

class Oops(KeyError):
    pass

def oops():
    raise Oops("custom")

def leave():
    sys.exit(2)

def memory_bomb():
    return len(bytearray(8 << 30))

class Liar(np.ndarray):
    pass

def liar():
    return np.zeros(3).view(Liar)

def thing():
    return object()

def numbers():
    return {1, 2, 3}

def gen():
    return (i for i in range(3))

def sparse():
    return torch.eye(2).to_sparse()

def huge():
    return 10 ** 5000

def limits():
    return {name: resource.getrlimit(getattr(resource, name))
            for name in ("RLIMIT_NOFILE", "RLIMIT_CORE", "RLIMIT_FSIZE", "RLIMIT_CPU")}

def where():
    with open("made-here.txt", "w") as handle:
        handle.write("scratch")
    return os.getcwd(), os.environ["HOME"], os.environ["TMPDIR"]

def environment():
    return dict(os.environ)

def connect(port):
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return "connected"

NOT_A_FUNCTION = 42
"""


@pytest.fixture
def notebook(fork_server):
    """`notebook(*cells, **options)`: a started Kernel on the session's fork server, closed afterwards."""
    kernels: list[Kernel] = []

    def start(*cells: str, timeout: float = 10.0, call_timeout: float = 2.0, **options) -> Kernel:
        kernel = Kernel(fork_server, list(cells), timeout=timeout, call_timeout=call_timeout, **options)
        kernels.append(kernel)
        kernel.start()
        return kernel

    yield start
    for kernel in kernels:
        kernel.close()


@pytest.fixture
def functions(notebook) -> Kernel:
    return notebook(FUNCTIONS)


def statuses(kernel: Kernel) -> list[str]:
    return [cell.status for cell in kernel.run.cells]


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process `pid` has ended (the fork server reaps its children)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


# --- running the cells --------------------------------------------------------------------

def test_cells_run_in_order_and_an_error_does_not_stop_the_rest(notebook):
    kernel = notebook("order = ['a']", "order.append('b')\n1 / 0", "def broken(:", "order.append('c')")

    assert statuses(kernel) == ["ok", "error", "error", "ok"]
    assert kernel.run.cells[1].error == "ZeroDivisionError: division by zero"
    assert kernel.run.cells[2].error.startswith("SyntaxError:")
    assert kernel.get("order") == ["a", "b", "c"]


def test_sandbox_layers_are_reported(notebook):
    layers = notebook("x = 1").run.layers

    assert {"session", "scratch folder", "rlimits"} <= set(layers)


@pytest.mark.parametrize("cell", ["!ls /", "files = !ls", "%%bash\nls /\n", "%%sh\nls\n", "%sx ls", "%system ls"])
def test_shell_escapes_are_refused(notebook, cell):
    kernel = notebook(cell, "after = 1")

    assert statuses(kernel) == ["error", "ok"]
    assert "PermissionError: shell commands" in kernel.run.cells[0].error


def test_inline_plots_and_display_work(notebook):
    kernel = notebook("%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom IPython.display import display",
                      "plt.plot([1, 2, 3])\nplt.title('loss')\nplt.show()\ndisplay({'a': 1})\nfigures = 1")

    assert statuses(kernel) == ["ok", "ok"]
    assert kernel.get("figures") == 1


def test_sys_exit_at_top_level_is_a_cell_error(notebook):
    kernel = notebook("import sys\nsys.exit(3)", "after = 1")

    assert statuses(kernel) == ["error", "ok"]
    assert kernel.run.cells[0].error.startswith("SystemExit")
    assert kernel.get("after") == 1


def test_cell_that_kills_the_process_is_skipped_on_restart(notebook):
    kernel = notebook("before = 1", "import os\nos._exit(0)", "after = before + 1")

    assert statuses(kernel) == ["ok", "crashed", "ok"]
    assert "ended during cell 2" in kernel.run.cells[1].error
    assert kernel.get("after") == 2


@pytest.mark.parametrize("cell", ["while True:\n    pass",
                                  "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass"],
                         ids=["loop", "SIGTERM ignored"])
def test_cell_that_hangs_times_out_and_the_rest_runs(notebook, cell):
    started = time.monotonic()
    kernel = notebook("before = 1", cell, "after = before + 1", timeout=1.0)

    assert statuses(kernel) == ["ok", "timeout", "ok"]
    assert kernel.run.cells[1].error == "cell 2 ran past the 1 s limit and was stopped"
    assert kernel.get("after") == 2
    assert time.monotonic() - started < 5


def test_too_many_bad_cells_give_up(fork_server):
    crash = "import os\nos._exit(1)"
    with Kernel(fork_server, ["x = 1", crash, crash], timeout=5, max_skipped_cells=1) as kernel:
        with pytest.raises(KernelDied, match="ended during cell 3"):
            kernel.start()


# --- calling the notebook's functions ------------------------------------------------------

def test_values_cross_both_ways(functions):
    assert functions.call("add", 2, b=3) == 5
    assert functions.call("add", "x", "y") == "xy"
    np.testing.assert_array_equal(functions.call("add", np.arange(3), np.ones(3)), [1.0, 2.0, 3.0])
    assert torch.equal(functions.call("add", torch.ones(2, dtype=torch.bfloat16), 1),
                       torch.full((2,), 2.0, dtype=torch.bfloat16))
    assert functions.get("NOT_A_FUNCTION") == 42


def test_a_call_before_start_starts_the_notebook(fork_server):
    with Kernel(fork_server, [FUNCTIONS], timeout=10, call_timeout=2) as kernel:
        assert kernel.call("add", 1, 1) == 2
        assert [cell.status for cell in kernel.run.cells] == ["ok"]


@pytest.mark.parametrize("name", ["loop", "stubborn_loop"])
def test_call_that_hangs_is_killed_and_the_next_call_works(functions, name):
    first = functions.pid
    started = time.monotonic()

    with pytest.raises(CallTimeout, match=rf"{name}\(\.\.\.\) ran past the 2 s limit"):
        functions.call(name)

    assert 2 <= time.monotonic() - started < 5
    assert gone(first)
    assert functions.call("add", 1, 2) == 3
    assert functions.pid not in (first, None)


def _processes_running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            pass  # ended while we looked
    return found


def test_a_setsid_daemon_dies_with_the_notebook(notebook):
    marker = f"{time.monotonic():.6f}"  # a `sleep` argument no other process has
    kernel = notebook("import os, subprocess\n"
                      "if os.fork() == 0:\n"
                      "    os.setsid()\n"
                      f"    subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
                      "    os._exit(0)\n")
    assert "pid namespace" in kernel.run.layers  # CI runs as root: the kernel allows it
    deadline = time.monotonic() + 5
    while not _processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _processes_running(marker), "the daemon never started"
    kernel.close()
    deadline = time.monotonic() + 5
    while _processes_running(marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _processes_running(marker)


def test_call_that_kills_the_process_raises_kernel_died_and_the_next_call_works(functions):
    with pytest.raises(KernelDied, match=r"exited during die\(\.\.\.\)"):
        functions.call("die")

    assert functions.call("add", 1, 2) == 3


@pytest.mark.parametrize(("name", "builtin", "kind", "message"), [
    ("bad_value", ValueError, "ValueError", "z must be 1-D"),
    ("bad_axis", ValueError, "AxisError", "axis 4 is out of bounds"),
    ("stub", NotImplementedError, "NotImplementedError", ""),
    ("oops", KeyError, "Oops", "custom"),
    ("missing", NameError, "NameError", "'missing' is not defined in the notebook"),
    ("NOT_A_FUNCTION", TypeError, "TypeError", "NOT_A_FUNCTION is not a function"),
    ("memory_bomb", MemoryError, "MemoryError", ""),
])
def test_student_exceptions_are_student_errors_of_the_builtin_kind(functions, name, builtin, kind, message):
    with pytest.raises(builtin) as raised:
        functions.call(name)

    assert isinstance(raised.value, StudentError)
    assert raised.value.kind == kind
    assert message in str(raised.value)
    assert functions.call("add", 1, 2) == 3  # the same process carries on


def test_sys_exit_in_a_call_is_a_student_error(functions):
    with pytest.raises(StudentError) as raised:
        functions.call("leave")

    assert raised.value.kind == "SystemExit"
    assert functions.call("add", 1, 2) == 3


@pytest.mark.parametrize(("what", "message"), [("liar", "Liar is not plain data"),
                                               ("thing", "builtins.object is not plain data"),
                                               ("numbers", "builtins.set is not plain data"),
                                               ("gen", "generator is not plain data"),
                                               ("sparse", "cannot be sent as an array"),
                                               ("huge", "bit limit")])
def test_values_that_are_not_plain_data_are_refused(functions, what, message):
    with pytest.raises(NotPlainData, match=message):
        functions.call(what)

    assert functions.call("add", 1, 2) == 3


def test_getting_a_module_is_refused(functions):
    with pytest.raises(NotPlainData, match="module is not plain data"):
        functions.get("np")


# --- confinement ---------------------------------------------------------------------------

def test_printed_output_is_collected_and_capped(notebook):
    kernel = notebook("print('hello from the notebook')")
    kernel.close()
    assert kernel.log == "hello from the notebook\n"

    kernel = notebook("print('x' * 200_000)", "print('the end')")
    kernel.close()
    assert len(kernel.log) == LOG_CHARS
    assert kernel.log.endswith("x\nthe end\n")


def test_child_runs_in_a_private_scratch_folder_removed_afterwards(functions):
    cwd, home, tmpdir = functions.call("where")

    scratch = Path(cwd)
    assert home == tmpdir == cwd != os.getcwd()
    assert scratch.parent == functions.server.clients[0].runs and scratch.name.startswith("run-")
    assert not (scratch / "made-here.txt").exists()  # its files live in its own tmpfs, seen by it alone
    functions.close()
    assert not scratch.exists()


def test_child_environment_holds_none_of_ours(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SECRET", "x")
    with ForkServer() as server, Kernel(server, [FUNCTIONS], timeout=10) as kernel:
        environment = kernel.call("environment")

    assert "AUTOGRADER_SECRET" not in environment
    assert "PYTEST_CURRENT_TEST" not in environment
    assert environment["PATH"] == "/usr/local/bin:/usr/bin:/bin"


def test_network_is_unreachable_from_the_notebook(functions):
    assert "network namespace" in functions.run.layers  # CI runs as root: the kernel allows it
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)

        with pytest.raises(OSError) as raised:
            functions.call("connect", listener.getsockname()[1])

        assert isinstance(raised.value, StudentError)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_resource_limits_are_in_force(functions):
    limits = ResourceLimits()

    assert functions.call("limits") == {
        "RLIMIT_NOFILE": (limits.open_files, limits.open_files),
        "RLIMIT_CORE": (0, 0),
        "RLIMIT_FSIZE": (limits.file_bytes, limits.file_bytes),
        "RLIMIT_CPU": (limits.cpu_seconds, limits.cpu_seconds),
    }


# --- objects kept in the child ------------------------------------------------------------

MODEL = """import numpy as np
class Model:
    def __init__(self, scale=1.0):
        self.scale = scale
    def fit(self, X):
        self.total_ = float(np.sum(X)) * self.scale
        return self
    def predict(self, X):
        return np.asarray(X) * self.total_
    def hang(self):
        while True:
            pass
"""


def test_a_kept_object_answers_method_calls_and_attribute_reads(notebook):
    model = notebook(MODEL).new("Model", scale=2.0)

    assert model.call("fit", [1.0, 2.0]) is model
    assert model.get("total_") == 6.0 and model.get("scale") == 2.0
    assert np.array_equal(model.call("predict", [1.0, 0.5]), [6.0, 3.0])
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        model.get("nope")


def test_a_kept_object_is_lost_with_its_process(notebook):
    kernel = notebook(MODEL, call_timeout=1.0)
    model = kernel.new("Model")

    with pytest.raises(CallTimeout):
        model.call("hang")
    with pytest.raises(KernelDied, match="lost when the notebook's process was restarted"):
        model.get("scale")
    assert kernel.new("Model", scale=3.0).get("scale") == 3.0


def test_objects_still_never_cross_without_new(notebook):
    with pytest.raises(NotPlainData, match="Model is not plain data"):
        notebook(MODEL).call("Model")


# --- what the notebook may read and write ----------------------------------------------

FILE_PROBES = """import os
def attempt(action, path):
    try:
        if action == 'read':
            open(path).read()
        elif action == 'list':
            os.listdir(path)
        else:
            open(path, 'a').write('x')
        return 'allowed'
    except OSError as error:
        return type(error).__name__
"""


@pytest.mark.parametrize(("action", "path"), [
    ("read", str(Path(__file__).resolve().parent.parent / "solutions" / "03_softmax" / "reference.py")),
    ("list", str(Path(__file__).resolve().parent.parent)),
    ("write", tempfile.gettempdir() + "/autograder-escaped.txt"),
    ("write", str(Path(__file__).resolve().parent.parent / "db" / "gradebook.sqlite")),
    ("list", "/proc/1/root/tmp"),
    ("read", "/etc/shadow"),
])
def test_the_notebook_cannot_reach_files_outside_its_runtime(notebook, action, path):
    kernel = notebook(FILE_PROBES)
    assert any(layer.startswith("Landlock") for layer in kernel.run.layers)  # CI's kernel has it

    # Landlock refuses; where the pool is jailed, the path is not even there.
    assert kernel.call("attempt", action, path) in ("PermissionError", "FileNotFoundError")
    assert not Path(tempfile.gettempdir(), "autograder-escaped.txt").exists()


def test_the_notebook_still_reads_its_runtime_and_writes_its_scratch(notebook):
    kernel = notebook(FILE_PROBES, "import scipy.stats, sklearn.metrics")

    assert kernel.run.errors() == []
    assert kernel.call("attempt", "write", "mine.txt") == "allowed"
    assert kernel.call("attempt", "read", "mine.txt") == "allowed"
    assert kernel.call("attempt", "write", os.devnull) == "allowed"


SYSCALL_PROBES = """import ctypes, os, socket, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def refused(call):
    result = {"unshare a user namespace": lambda: libc.unshare(0x10000000),
              "ptrace pid 1": lambda: libc.syscall(101, 16, 1, 0, 0),
              "mount a tmpfs": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)}[call]()
    return result == -1 and ctypes.get_errno() == 1  # EPERM
def make_socket():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def status(field):
    return next(line.split()[1] for line in open('/proc/self/status') if line.startswith(field + ':'))
def ordinary_work():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), subprocess.run(['true']).returncode
"""


@pytest.mark.parametrize("call", ["unshare a user namespace", "ptrace pid 1", "mount a tmpfs"])
def test_dangerous_system_calls_are_refused(notebook, call):
    assert notebook(SYSCALL_PROBES).call("refused", call) is True


def test_sockets_capabilities_and_ordinary_work(notebook):
    kernel = notebook(SYSCALL_PROBES)

    assert "no capabilities" in kernel.run.layers and any(l.startswith("seccomp") for l in kernel.run.layers)
    with pytest.raises(PermissionError):
        kernel.call("make_socket")
    assert kernel.call("status", "CapEff") == "0000000000000000" and kernel.call("status", "Seccomp") == "2"
    assert kernel.call("ordinary_work") == (7, 0)


FORK_BOMB = """import os, time
def fork_bomb():
    children = 0
    try:
        for _ in range(1000):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
    except OSError as error:
        return children, type(error).__name__
    return children, None
"""


def test_a_fork_bomb_is_stopped_by_the_runs_cgroup_and_dies_with_it(notebook):
    kernel = notebook(FORK_BOMB, call_timeout=10)  # forking a warm interpreter 128 times: slow on a loaded machine
    limit = ResourceLimits().processes
    assert f"cgroup pids (at most {limit})" in kernel.run.layers  # CI runs as root with cgroup v1 writable

    children, refused = kernel.call("fork_bomb")
    assert children < limit and refused == "BlockingIOError"
    members = [group / "cgroup.procs" for group in kernel.server.cgroups.groups]
    kernel.close()
    deadline = time.monotonic() + 5
    while any(path.read_text().strip() for path in members) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(path.read_text().strip() for path in members)  # every process of the run died


SCRATCH_AND_PROC = """import os
def fill_scratch():
    written = 0
    try:
        for index in range(40):  # 40 files of 64 MB: each under the file-size limit
            with open(f'block{index}', 'wb') as handle:
                for _ in range(64):
                    handle.write(b'x' * (1 << 20))
                    written += 1 << 20
    except OSError as error:
        return written, type(error).__name__
    return written, None
def visible_processes():
    return sorted(int(entry) for entry in os.listdir('/proc') if entry.isdigit())
"""


def test_all_files_of_a_run_share_its_scratch_budget(notebook):
    kernel = notebook(SCRATCH_AND_PROC, call_timeout=20.0)
    budget = ResourceLimits().scratch_bytes
    assert f"scratch on a {budget >> 20} MB tmpfs" in kernel.run.layers

    written, refused = kernel.call("fill_scratch")
    assert written <= budget and refused == "OSError"


def test_the_run_sees_only_its_own_processes(notebook):
    kernel = notebook(SCRATCH_AND_PROC)
    assert kernel.call("visible_processes") == [1]


def test_student_code_runs_as_an_unprivileged_user_that_still_imports_its_packages(notebook):
    kernel = notebook("import os, sklearn.metrics, scipy.stats\ndef groups():\n    return os.getgroups()")

    assert "uid 65534" in kernel.run.layers and kernel.run.errors() == []  # CI runs as root
    status = Path(f"/proc/{kernel.pid}/status").read_text()  # as the host sees it (a jailed pool maps 0 to it)
    assert status.split("Uid:")[1].split()[:4] == ["65534"] * 4
    assert status.split("Gid:")[1].split()[:4] == ["65534"] * 4
    assert kernel.call("groups") == []
