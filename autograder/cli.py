"""The `autograder` command: a thin layer over the library, one short function per command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from autograder.course import Course, CourseError
from autograder.export import FORMATS, export as export_grades
from autograder.gradebook import Gradebook

# The grading machinery (NumPy, pytest, nbformat, the sandbox) is imported by the commands that run
# it, so that `export` on a class of thousands does not pay for it at start-up.
if TYPE_CHECKING:
    from autograder.grade import Batch

console = Console(highlight=False)
DEMO_DB = Path("db") / "demo.sqlite"


class _Failure(click.ClickException):
    """A one-line error, exit status 1, no traceback."""


def _assignment(name: str):
    try:
        return Course().assignment(name)
    except CourseError as error:
        raise _Failure(str(error)) from None


def _line(text: str, style: str | None = None) -> None:
    """One line of plain text: never wrapped, never read as markup (it may hold file names)."""
    console.print(text, style=style, soft_wrap=True, markup=False)


def _print_batch(name: str, batch: Batch) -> None:
    table = Table(title=name)
    for column, justify in (("student", "left"), ("score", "right"), ("max", "right"), ("status", "left")):
        table.add_column(column, justify=justify)
    for result in sorted(batch.results, key=lambda r: r.student):
        style = "red" if result.status == "error" else None
        table.add_row(result.student, f"{result.score:g}", f"{result.max_score:g}", result.status, style=style)
    if batch.results:
        console.print(table)
        _line(f"grading run {batch.run_id}, seed {batch.seed}")
    for result in batch.failed_to_run:
        _line(f"error {result.message}", style="red")
    graded = len(batch.results) - len(batch.failed_to_run)
    _line(f"{graded} graded, {len(batch.failed_to_run)} failed to run, {len(batch.skipped)} skipped"
          + (" (already graded with these tests; --force regrades)" if batch.skipped else ""))


def _run_grading(name: str, paths: list[Path], **options) -> Batch:
    from autograder.grade import GradingError, grade as grade_batch

    assignment = _assignment(name)
    columns = (TextColumn("grading {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(assignment.name, total=None)
        try:
            return grade_batch(assignment, paths, **options,
                               on_plan=lambda count: progress.update(task, total=count),
                               on_result=lambda result: progress.advance(task))
        except (GradingError, CourseError) as error:
            raise _Failure(str(error)) from None


@click.group()
@click.version_option(package_name="autograder")
def main() -> None:
    """Grade deep-learning notebooks in a sandbox, keep scores in a gradebook, export them."""


@main.command()
@click.argument("assignment")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
@click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds each notebook may take to run.")
@click.option("--force", is_flag=True, help="Regrade submissions already graded with these tests.")
@click.option("--seed", type=int, help="Seed of the test inputs (default: the assignment's stored seed).")
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto", show_default=True,
              help="Where hidden tests put tensors; GPU-only tests are skipped on cpu.")
@click.option("--insecure", is_flag=True, help="Grade even where the sandbox cannot isolate files and network.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Grade on the workers of this Dask scheduler (--workers graders on each); only this "
                   "process writes the gradebook.")
def grade(assignment: str, paths: tuple[Path, ...], db_url: str | None, workers: int, timeout: float,
          force: bool, seed: int | None, device: str, insecure: bool, scheduler: str | None) -> None:
    """Grade the notebooks in PATHS for ASSIGNMENT.

    Example: autograder grade softmax submissions/
    """
    batch = _run_grading(assignment, list(paths), db_url=db_url, workers=workers, timeout=timeout,
                         force=force, seed=seed, device=device, insecure=insecure, scheduler=scheduler)
    _print_batch(assignment, batch)


@main.command()
@click.argument("assignment")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def export(assignment: str, fmt: str, output: Path | None, db_url: str | None) -> None:
    """Export ASSIGNMENT's grades.

    Example: autograder export softmax --format csv -o softmax.csv
    """
    name = _assignment(assignment).name
    with Gradebook(db_url) as gradebook:
        text = export_grades(name, gradebook.grades(name), fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text)
        console.print(f"wrote {output}")


@main.command()
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True)
def check(notebook: Path, timeout: float) -> None:
    """Run NOTEBOOK and its public tests locally, as the grader would.

    Example: autograder check softmax.ipynb
    """
    from autograder.check import check as check_notebook

    with console.status(f"running {notebook.name} in the sandbox"):
        report = check_notebook(notebook, timeout=timeout)
    if report.error:
        raise _Failure(report.error)
    for cell in report.cells:
        if cell.status != "ok":
            _line(f"cell {cell.index + 1} {cell.status}: {cell.error}", style="yellow")
    for test in report.tests:
        passed = test.status == "passed"
        _line(f"{'pass' if passed else test.status} {test.name}" + (f": {test.message}" if test.message else ""),
              style="green" if passed else "red")
    if report.unanswered:
        _line(f"quiz unanswered: {', '.join(report.unanswered)}", style="yellow")
    passed = sum(t.status == "passed" for t in report.tests)
    _line(f"{passed} of {len(report.tests)} public tests pass; hidden tests decide the grade.")
    raise SystemExit(0 if report.ok else 1)


@main.command()
def doctor() -> None:
    """Show the sandbox's layers on this machine and what each one blocks.

    Example: autograder doctor
    """
    from autograder.execute import ForkServer, sandbox_layers
    from autograder.sandbox import isolation_gap, what_it_blocks

    with console.status("starting the sandbox"), ForkServer() as server:
        layers = sandbox_layers(server)
    table = Table(title="sandbox layers on this machine")
    table.add_column("layer")
    table.add_column("blocks")
    for layer in layers:
        blocks = what_it_blocks(layer)
        table.add_row(layer, blocks or "[red]not in force[/red]")
    console.print(table)
    gap = isolation_gap(layers)
    if gap:
        raise _Failure(f"grading here is unsafe: no {gap}; `grade` refuses unless --insecure")
    _line("files and network are isolated: `grade` runs student code here")


@main.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("release"),
              show_default=True, help="Folder to write the student version into.")
def release(assignment: str, output: Path) -> None:
    """Write the student version of ASSIGNMENT: no solution, no hidden test, outputs cleared.

    Example: autograder release softmax -o release/
    """
    from autograder.release import LeakError, release as release_assignment

    try:
        folder = release_assignment(_assignment(assignment), output)
    except LeakError as error:
        raise _Failure(str(error)) from None
    _line(f"wrote {folder}")


@main.command()
@click.option("--workers", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True)
def demo(workers: int) -> None:
    """Grade the bundled sample submissions into a fresh db/demo.sqlite and print the tables.

    Example: autograder demo
    """
    if DEMO_DB.exists():
        DEMO_DB.unlink()
    for sidecar in DEMO_DB.parent.glob(DEMO_DB.name + "-*"):
        sidecar.unlink()
    url = f"sqlite:///{DEMO_DB}"
    for assignment in Course().assignments():
        if assignment.samples.is_dir():
            _print_batch(assignment.name, _run_grading(assignment.name, [assignment.samples], db_url=url,
                                                       workers=workers))
    _line(f"Gradebook: {DEMO_DB}. Try: autograder export softmax --format json --db {url}")


if __name__ == "__main__":
    main()
