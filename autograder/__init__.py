"""autograder: sandboxed grading of deep-learning notebooks.

The grading path, one module a step: `ingest` (notebooks in), `execute` (the
sandboxed child), `hidden_tests` (trusted pytest), `gradebook` (store) and
`export`; `grade.grade()` runs them in order and `check.check()` is the
student's side.
"""

__version__ = "0.1.0"
