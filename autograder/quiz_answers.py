"""The quiz answers a notebook gives: its literal `ANSWERS = {...}`, read with ast and never run.

`literal_answers` is what release checks for leaked right answers;
`shown_answers` is what the gradebook keeps at grading time for the
feedback pages: plain JSON values, capped, so that a report never has to
reread (or trust) ten thousand notebooks.
"""

from __future__ import annotations

import ast
from typing import Any

MAX_ANSWERS = 100  # questions kept per notebook
MAX_ANSWER_CHARS = 300  # characters kept per key and per answer


def literal_answers(cells: list[str] | tuple[str, ...]) -> dict:
    """The literal `ANSWERS` dict of the notebook; empty when there is none or it is not a literal dict."""
    for source in cells:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):  # ValueError: a NUL byte
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ANSWERS" for t in node.targets):
                try:
                    answers = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # e.g. {[]: 1}
                    return {}
                return answers if isinstance(answers, dict) else {}
    return {}


def _shortened(text: str) -> str:
    return text if len(text) <= MAX_ANSWER_CHARS else text[:MAX_ANSWER_CHARS - 1] + "…"


def _shown(value: Any) -> str | int | float | bool | None:
    """A JSON value that reads as the answer did: numbers, booleans and None as they are, the rest as text."""
    if value is None or isinstance(value, (bool, int, float)) and len(repr(value)) <= MAX_ANSWER_CHARS:
        return value
    return _shortened(value if isinstance(value, str) else repr(value))


def shown_answers(cells: list[str] | tuple[str, ...]) -> dict[str, str | int | float | bool | None]:
    """The notebook's answers as the feedback shows them: text keys, JSON values, at most MAX_ANSWERS."""
    answers = list(literal_answers(cells).items())[:MAX_ANSWERS]
    return {_shortened(key if isinstance(key, str) else repr(key)): _shown(value) for key, value in answers}
