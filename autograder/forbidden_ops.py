"""Operations an assignment forbids (`[forbidden] calls` in its assignment.toml), found two ways.

- Statically, on the trusted side (`scan`): the notebook's source is parsed, imports
  are followed (`import torch.nn.functional as F` makes `F.conv2d` a
  `torch.nn.functional.conv2d`), and every top-level function or name that
  uses a forbidden call, directly or through another notebook function, is
  marked. Code in `test_*` functions and top-level statements that bind no
  name (a student checking against `torch.matmul`) is not.
- Dynamically, in the sandboxed child (`guarded_call`): while the student's
  function runs, a TorchFunctionMode sees Python-level calls (`torch.matmul`,
  `@`, `F.conv2d`, however they were reached: `getattr`, aliases) and a
  TorchDispatchMode sees dispatcher ops (`aten.mm`, `aten.convolution`), which
  every path to cuBLAS or cuDNN goes through. A forbidden call raises, and is
  also recorded, so catching the exception does not help. The child is
  untrusted, so this is a detector; the static scan backs it up.

Entries are qualified names (`torch.matmul`, `torch.Tensor.mm`), `aten.NAME`
for dispatcher ops and `@` for the matrix-product operator.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import tomllib
from pathlib import Path
from typing import Any, Callable

MATMUL_OPERATOR = "@"


class ForbiddenOperation(AssertionError):
    """The student's function used an operation that the assignment forbids (a failed test, not an error)."""


def configured(config: Path) -> tuple[str, ...]:
    """The `[forbidden] calls` of an assignment.toml (empty when there are none)."""
    try:
        calls = tomllib.loads(config.read_text(encoding="utf-8")).get("forbidden", {}).get("calls", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{config}: {error}") from None
    if not isinstance(calls, list) or not all(isinstance(call, str) and call for call in calls):
        raise ValueError(f"{config}: [forbidden] calls must be a list of names like \"torch.matmul\"")
    return tuple(calls)


# --- the static scan (trusted side) -------------------------------------------------------------

def _python_source(cell: str) -> ast.Module | None:
    """A cell as Python (IPython's magics turned into calls), or None if it does not parse.

    Line numbers are the cell's own: IPython drops leading blank lines, they are added back.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(cell))
    except (SyntaxError, ValueError):
        return None  # a broken cell fails when it runs; there is nothing to scan
    lines = cell.splitlines()
    return ast.increment_lineno(tree, next((i for i, line in enumerate(lines) if line.strip()), 0))


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Names that imports bind to modules or objects: {"F": "torch.nn.functional", "mm": "torch.mm"}."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:  # `import torch.nn` binds `torch`; `import torch.nn as nn` binds `nn`
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _qualified(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """`F.conv2d` -> "torch.nn.functional.conv2d" when F was imported; None for anything not imported."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _uses(node: ast.AST, forbidden: set[str], aliases: dict[str, str]) -> list[tuple[str, int]]:
    """(forbidden call, line) for everything under `node` that names or applies one."""
    methods = {name.rsplit(".", 1)[1] for name in forbidden if name.startswith("torch.Tensor.")}
    short = {name.rsplit(".", 1)[-1] for name in forbidden}
    found = []
    for child in ast.walk(node):
        line = getattr(child, "lineno", 0)
        if isinstance(child, (ast.BinOp, ast.AugAssign)) and isinstance(child.op, ast.MatMult):
            if MATMUL_OPERATOR in forbidden:
                found.append((MATMUL_OPERATOR, line))
        elif isinstance(child, (ast.Name, ast.Attribute)):
            name = _qualified(child, aliases)
            if name in forbidden:
                found.append((name, line))
            elif name is None and isinstance(child, ast.Attribute) and child.attr in methods:
                found.append((f"torch.Tensor.{child.attr}", line))
        elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "getattr"
              and len(child.args) > 1 and isinstance(child.args[1], ast.Constant) and child.args[1].value in short):
            found.append((f"getattr(..., {child.args[1].value!r})", line))
    return found


def _bound_names(statement: ast.stmt) -> set[str]:
    """The top-level names a statement defines or assigns."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    names = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return names | {node.name for node in ast.walk(statement)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def scan(cells: list[str], forbidden: tuple[str, ...]) -> dict[str, str]:
    """{notebook name: why it is forbidden} for every top-level name whose code reaches a forbidden call.

    `matmul` is marked if it, or a notebook function it refers to (transitively), uses one.
    """
    if not forbidden:
        return {}
    trees = [(index, tree) for index, cell in enumerate(cells) if (tree := _python_source(cell)) is not None]
    aliases: dict[str, str] = {}
    for _, tree in trees:
        aliases.update(_aliases(tree))
    direct: dict[str, list[str]] = {}
    refers: dict[str, set[str]] = {}
    for index, tree in trees:
        for statement in tree.body:
            owners = {name for name in _bound_names(statement) if not name.startswith("test_")}
            uses = [f"{call} (cell {index + 1}, line {line})"
                    for call, line in _uses(statement, set(forbidden), aliases)]
            loads = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)}
            for owner in owners:
                direct.setdefault(owner, []).extend(uses)
                refers.setdefault(owner, set()).update(loads - {owner})
    marked = {}
    for name in direct:
        seen, todo, uses = {name}, [name], []
        while todo:
            current = todo.pop()
            uses += direct.get(current, [])
            todo += [other for other in refers.get(current, ()) if other in direct and other not in seen]
            seen.update(refers.get(current, ()))
        if uses:
            marked[name] = f"{name} uses {', '.join(dict.fromkeys(uses))}, which this assignment forbids"
    return marked


# --- the dynamic guard (the child) ---------------------------------------------------------------

def _resolve(name: str) -> list[Any]:
    """The Python objects a configured name stands for in this process (none if it does not exist here)."""
    import torch

    if name == MATMUL_OPERATOR:
        return [torch.Tensor.__matmul__, torch.Tensor.__rmatmul__, torch.Tensor.matmul]
    parts = name.split(".")
    value: Any = torch
    for part in parts[1:] if parts[0] == "torch" else ():
        value = getattr(value, part, None)
    return [value] if value is not None and parts[0] == "torch" else []


@functools.cache
def _forbidden_functions(forbidden: tuple[str, ...]) -> dict[int, str]:
    """{id of a Python-level function: its configured name}, resolved once per process and rule list."""
    return {id(value): name for name in reversed(forbidden) for value in _resolve(name)}


def _forbidden_op(func: Any, forbidden: tuple[str, ...]) -> str:
    """The configured name `func` matches ("" if none): by identity, or for a dispatcher op by its schema's
    name ("aten::mm"), which no reassignment of `torch.ops.aten.mm` in Python changes."""
    name = _forbidden_functions(forbidden).get(id(func), "")
    schema = getattr(func, "_schema", None)
    if not name and schema is not None:
        op = "aten." + schema.name.removeprefix("aten::")
        name = op if op in forbidden else ""
    return name


@functools.cache
def _guard_classes() -> tuple[type, type]:
    """A TorchFunctionMode and a TorchDispatchMode that record, then refuse, the forbidden calls."""
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    def refuse(guard: Any, func: Any) -> None:
        name = _forbidden_op(func, guard.forbidden)
        if name:
            guard.violations.append(name)
            raise ForbiddenOperation(f"{name} is not allowed in this assignment")

    class FunctionGuard(TorchFunctionMode):
        def __init__(self, forbidden: tuple[str, ...], violations: list[str]) -> None:
            super().__init__()
            self.forbidden, self.violations = forbidden, violations

        def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None):
            refuse(self, func)
            return func(*args, **(kwargs or {}))

    class DispatchGuard(TorchDispatchMode):
        def __init__(self, forbidden: tuple[str, ...], violations: list[str]) -> None:
            super().__init__()
            self.forbidden, self.violations = forbidden, violations

        def __torch_dispatch__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None):
            refuse(self, func)
            return func(*args, **(kwargs or {}))

    return FunctionGuard, DispatchGuard


def guarded_call(forbidden: tuple[str, ...], function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """`function(*args, **kwargs)` with the forbidden calls refused; ForbiddenOperation names the first one used,
    even when the student's code caught the refusal or removed the guard."""
    if not forbidden:
        return function(*args, **kwargs)
    from torch.overrides import _get_current_function_mode_stack
    from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

    violations: list[str] = []
    function_guard, dispatch_guard = (kind(forbidden, violations) for kind in _guard_classes())
    function_guard.__enter__()
    dispatch_guard.__enter__()
    result, error = None, None
    try:
        result = function(*args, **kwargs)
    except Exception as raised:  # the refusal itself, or the student's error: reported after the checks
        error = raised
    intact = (function_guard in _get_current_function_mode_stack()
              and dispatch_guard in _get_current_dispatch_mode_stack())
    for guard in (dispatch_guard, function_guard):
        with contextlib.suppress(RuntimeError):  # the student's code may have popped it already
            guard.__exit__(None, None, None)
    name = getattr(function, "__name__", "the function")
    if violations:
        raise ForbiddenOperation(f"{name} called {violations[0]}, which this assignment forbids")
    if not intact:
        raise ForbiddenOperation(f"{name} removed the grader's operation guard")
    if error is not None:
        raise error
    return result
