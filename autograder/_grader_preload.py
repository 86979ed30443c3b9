"""Imported by multiprocessing's fork server before it forks the graders (`autograder.graders`).

That server is a child of the coordinator that nobody waits on: it must die with
the coordinator, or a `grade` killed with SIGKILL would leave it, and every grader
forked from it, running. Then it imports what every grader needs, once for all.
"""

import ctypes
import signal

PR_SET_PDEATHSIG = 1
ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

import numpy  # noqa: E402, F401
import pytest  # noqa: E402, F401
import torch  # noqa: E402, F401

import autograder.hidden_tests  # noqa: E402, F401
