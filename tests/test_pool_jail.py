"""The jail around the fork server: bubblewrap, an unprivileged uid, and the fallback tier without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder.execute import ForkServer, Kernel
from autograder.pool_jail import JAIL_LAYER, TIER_BARE, TIER_JAILED, bubblewrap, jail_command

# CI installs bubblewrap and sets this, so that the strongest tier is tested there and never skipped.
REQUIRED = os.environ.get("AUTOGRADER_REQUIRE_BUBBLEWRAP") == "1"
needs_jail = pytest.mark.skipif(
    not REQUIRED and (bubblewrap() is None or os.geteuid() != 0),
    reason="bubblewrap is not installed here, or we are not root (the jailed tier needs both)")

PROBE = """import os
def exists(path):
    return os.path.exists(path)
def ids():
    return open('/proc/self/status').read().split('Uid:')[1].split()[:2]
"""


def server_uid(server: ForkServer) -> int:
    """The host uid of the fork server proper: the youngest process in bubblewrap's tree, once ready."""
    server.clients[0].wait_ready()
    pid = server._process.pid
    while (children := Path(f"/proc/{pid}/task/{pid}/children").read_text().split()):
        pid = int(children[0])
    return int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0])


def test_ci_exercises_the_jailed_tier():
    if REQUIRED:
        assert bubblewrap() is not None, "CI must install bubblewrap (apt package bubblewrap)"


@needs_jail
def test_the_pool_is_jailed_by_default_as_root_and_runs_as_an_unprivileged_uid(fork_server):
    assert fork_server.jailed and fork_server.clients[0].tier == TIER_JAILED
    assert server_uid(fork_server) == 65534
    with Kernel(fork_server, [PROBE], timeout=10) as kernel:
        assert JAIL_LAYER in kernel.start().layers
        assert "uid 65534" in kernel.run.layers


@needs_jail
def test_files_outside_the_runtime_are_not_even_in_the_pools_file_system(fork_server, tmp_path):
    secret = tmp_path / "hidden_test_answers.txt"
    secret.write_text("42")
    package_root = Path(__file__).resolve().parent.parent
    with Kernel(fork_server, [PROBE], timeout=10) as kernel:
        kernel.start()
        # Landlock alone would refuse to open these, but lets their existence be tested: the jail does not.
        assert kernel.call("exists", str(secret)) is False
        assert kernel.call("exists", str(package_root / "solutions")) is False
        assert kernel.call("exists", str(package_root / "tests")) is False
        assert kernel.call("exists", str(package_root / "autograder" / "sandbox.py")) is True  # the runtime


@needs_jail
def test_a_runtime_below_tmp_stays_reachable(tmp_path):
    """CI clones the project into a temporary folder: the jail's own /tmp must not cover it."""
    command = jail_command(tmp_path / "home")
    assert command.index("--tmpfs") < command.index("--ro-bind")


def test_the_bare_tier_still_confines_each_submission(tmp_path):
    with ForkServer(jail=False) as server, Kernel(server, [PROBE], timeout=10) as kernel:
        assert server.clients[0].tier == TIER_BARE
        layers = kernel.start().layers
        assert JAIL_LAYER not in layers
        assert "network namespace" in layers and any(layer.startswith("Landlock") for layer in layers)
        if os.geteuid() == 0:
            assert kernel.call("ids") == ["65534", "65534"]  # each child still leaves root


@needs_jail
def test_the_jail_binds_the_runtime_read_only_and_only_its_home_writable(tmp_path):
    command = jail_command(tmp_path)
    writable = [command[index + 1] for index, argument in enumerate(command) if argument == "--bind"]
    assert writable == ["/proc", str(tmp_path)]
    assert "--unshare-net" in command and "--die-with-parent" in command
    bound = {command[index + 1] for index, argument in enumerate(command) if argument == "--ro-bind"}
    assert str(Path(__file__).resolve().parent.parent / "autograder") in bound
    assert not any(path.endswith(("solutions", "tests", "db")) for path in bound)
