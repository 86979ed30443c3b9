"""Imported by multiprocessing's fork server before it forks the graders (`autograder.graders`).

That server is a child of the coordinator that nobody waits on: it must die with
the coordinator, or a `grade` killed with SIGKILL would leave it, and every grader
forked from it, running. Then it imports what every grader needs, once for all.
"""

from autograder.sandbox import die_with_parent

die_with_parent()

import numpy  # noqa: E402, F401
import pytest  # noqa: E402, F401
import torch  # noqa: E402, F401

import autograder.hidden_tests  # noqa: E402, F401
