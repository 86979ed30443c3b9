"""The pool of trusted grader processes, each hosting pytest and its own fork server.

Graders are started (spawned: a clean interpreter, one thread each) before the
gradebook is opened. Each takes chunks of submissions from a queue, runs one
pytest session per chunk and sends the chunk's results back only once that
session ended cleanly; broken hidden tests stop the batch with their reason.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import socket
from typing import Any, Iterator

from autograder.course import Assignment
from autograder.execute import sandbox_layers
from autograder.fork_server import THREAD_VARIABLES, ForkClient, ForkServer
from autograder.hidden_tests import HiddenTestsError, run_hidden_tests
from autograder.ingest import Submission
from autograder.results import SubmissionResult
from autograder.sandbox import ResourceLimits, die_with_parent, gpu_device_nodes, isolation_gap

POLL_SECONDS = 1.0


class GradingError(Exception):
    """The batch could not be graded (broken hidden tests, grader processes gone)."""


def resolve_device(device: str) -> str:
    """"cpu" or "cuda" for a requested "auto", "cpu" or "cuda"; raises if CUDA is asked for and absent.

    Torch is imported only where a GPU's device nodes exist: graders whose hidden tests do not
    use torch then start without it (a second or more each).
    """
    if device == "cpu" or (device == "auto" and not gpu_device_nodes()):
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if device == "cuda" and not available:
        raise GradingError("--device cuda: no CUDA device on this machine")
    if device == "auto":
        return "cuda" if available else "cpu"
    return device


def _grader_process(assignment: Assignment, control: socket.socket, settings: dict[str, Any],
                    timeout: float, device: str, tasks: multiprocessing.Queue,
                    results: multiprocessing.Queue) -> None:
    """A trusted grader: takes chunks of submissions, runs the hidden tests, sends results back."""
    die_with_parent()
    try:
        device = resolve_device(device)
    except GradingError as error:
        results.put(("broken", str(error)))
        return
    server = ForkClient(control, **settings)
    while (task := tasks.get()) is not None:
        seed, chunk = task
        graded: list[SubmissionResult] = []
        try:
            run_hidden_tests(assignment, chunk, server, seed=seed, timeout=timeout, device=device,
                             on_graded=graded.append)
            results.put(("graded", graded))  # only once the whole session ended cleanly
        except HiddenTestsError as error:
            results.put(("broken", str(error)))
        except Exception as error:  # a bug on the trusted side: stop the batch, say what happened
            results.put(("broken", f"the grader failed: {type(error).__name__}: {error}"))
    server.close()
    # Told to stop only once the coordinator has every result: skip the interpreter's teardown of torch,
    # pytest and their modules, which takes seconds and is paid at the end of every batch.
    os._exit(0)


GRADER_PRELOAD = ["autograder._grader_preload"]


class Graders:
    """Grader processes fed through a queue, sharing one fork server (one connection each)."""

    def __init__(self, assignment: Assignment, workers: int, timeout: float, limits: ResourceLimits,
                 device: str) -> None:
        for variable in THREAD_VARIABLES:  # parallelism comes from the workers: one thread each
            os.environ[variable] = "1"
        self.server = ForkServer(limits, clients=workers + 1)  # the last connection is the probe's
        # Graders are forked from multiprocessing's own fork server, a fresh trusted process that imports
        # torch, NumPy and pytest once for all of them (never the sandbox's fork server, which runs student
        # code): on a small machine, one import of torch per grader is most of a batch's start-up.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(GRADER_PRELOAD)
        self.tasks, self.results = context.Queue(), context.Queue()
        self.processes = [
            context.Process(target=_grader_process, daemon=True,
                            args=(assignment, client.control, client.settings(), timeout, device,
                                  self.tasks, self.results))
            for client in self.server.clients[:workers]]
        for process in self.processes:
            process.start()

    def require_isolation(self, insecure: bool) -> list[str]:
        """The sandbox's layers on this machine; refuses to go on without file and network isolation."""
        layers = sandbox_layers(self.server.clients[-1])
        gap = isolation_gap(layers)
        if gap and not insecure:
            raise GradingError(f"refusing to run student code without {gap} on this machine "
                               f"(layers: {', '.join(layers)}); see `autograder doctor`, or pass --insecure")
        return layers

    def grade(self, submissions: list[Submission], seed: int) -> Iterator[SubmissionResult]:
        """Results of every submission, chunk by chunk as the graders finish them."""
        chunks = chunk_submissions(submissions, len(self.processes))
        for chunk in chunks:
            self.tasks.put((seed, chunk))
        for _ in chunks:
            kind, payload = self._next_message()
            if kind == "broken":
                raise GradingError(str(payload))
            yield from payload

    def _next_message(self) -> tuple[str, object]:
        """The next chunk's verdict: ("graded", results) or ("broken", why)."""
        while True:
            try:
                return self.results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [process.exitcode for process in self.processes if not process.is_alive()]
                if dead:
                    raise GradingError(f"a grader process exited (code {dead[0]}); "
                                       "run the command again to grade the rest") from None

    def close(self, finished: bool) -> None:
        """Stop the graders: politely after a finished batch, at once after a failure."""
        for _ in self.processes:
            self.tasks.put(None)
        for process in self.processes:
            if finished:
                process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        self.server.close()


def chunk_submissions(submissions: list[Submission], workers: int) -> list[list[Submission]]:
    """Chunks of at most 32 submissions, about four per worker, so that the last ones finish together."""
    size = max(1, min(32, math.ceil(len(submissions) / (workers * 4))))  # one pytest session a chunk
    return [submissions[i:i + size] for i in range(0, len(submissions), size)]
