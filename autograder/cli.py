"""The `autograder` command: a thin layer over the library, one short function per command."""

from __future__ import annotations

import atexit
import gc
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from autograder.course import Course, CourseError
from autograder.export import FORMATS, export as export_grades
from autograder.gradebook import Gradebook
from autograder.lms_export import LmsContext, write_gradescope_folder
from autograder.overrides import adjust as set_adjustment, clear_adjustment
from autograder.results import Adjustment
from autograder.roster import COLUMNS as ROSTER_COLUMNS, Person, RosterError, read_roster, roster, save_people
from autograder.scoring import unknown_test

# The grading machinery (NumPy, pytest, nbformat, the sandbox, matplotlib) is imported by the commands
# that run it, so that `export` on a class of thousands does not pay for it at start-up.
if TYPE_CHECKING:
    from autograder.grade import Batch

console = Console(highlight=False)
DEMO_DB = Path("db") / "demo.sqlite"


def _spare_the_collector() -> None:
    """For a command that reads a class of thousands, makes little cyclic garbage and exits: no cycle
    collection while it runs, and its objects frozen on the way out (they are freed all the same, without the
    collector's final passes). Together they took half a second of `report` and `export`."""
    gc.disable()
    atexit.register(gc.freeze)


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
    columns = (("student", "left"), ("score", "right"), ("max", "right"), ("status", "left"), ("late", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for result in sorted(batch.results, key=lambda r: r.student):
        style = "red" if result.status == "error" else None
        late = f"late, -{result.penalty_rate:.0%}" if result.penalty_rate else "late" if result.late else ""
        table.add_row(result.student, f"{result.score:g}", f"{result.max_score:g}", result.status, late, style=style)
    if batch.results:
        console.print(table)
        _line(f"grading run {batch.run_id}, seed {batch.seed}")
    for result in batch.failed_to_run:
        _line(f"error {result.message}", style="red")
    for notice in batch.notices:
        _line(f"note {notice}", style="yellow")
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
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File to write (gradescope without --student: a folder, one <student>/results.json each).")
@click.option("--student", help="Only this student (gradescope: the results.json of one submission).")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def export(assignment: str, fmt: str, output: Path | None, student: str | None, db_url: str | None) -> None:
    """Export ASSIGNMENT's grades: final scores (late penalty and overrides applied), missing students blank.

    Example: autograder export softmax --format canvas -o softmax-canvas.csv
    """
    _spare_the_collector()
    found = _assignment(assignment)
    with Gradebook(db_url) as gradebook:
        grades = [g for g in gradebook.grades(found.name) if student in (None, g.student)]
        context = LmsContext(title=found.title, people=roster(gradebook), columns=found.lms_columns)
    if student is not None and not grades:
        raise _Failure(f"no student {student!r} in the gradebook")
    if fmt == "gradescope" and student is None and output is not None:
        written = write_gradescope_folder(grades, output)
        _line(f"wrote {len(written)} results.json files under {output}")
        return
    try:
        text = export_grades(found.name, grades, fmt, context)
    except ValueError as error:
        raise _Failure(str(error)) from None
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, newline="")
        _line(f"wrote {output}")


@main.command()
@click.argument("assignment")
@click.argument("student")
@click.option("--test", help="The hidden test whose points to set; without it, the student's total.")
@click.option("--points", type=float, help="The points to give (the test's, or the final total).")
@click.option("--comment", default="", help="Why: shown in exports and feedback (required with --points).")
@click.option("--clear", is_flag=True, help="Remove the override instead.")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def adjust(assignment: str, student: str, test: str | None, points: float | None, comment: str, clear: bool,
           db_url: str | None) -> None:
    """Override STUDENT's points on one test (--test) or their total on ASSIGNMENT; regrades keep it.

    Example: autograder adjust softmax alice --test test_softmax_large_logits --points 5 --comment "overflow was the handout's bug"
    """
    setting = points is not None
    if clear == setting or (setting and not comment.strip()):
        raise _Failure("give --points X with --comment \"why\", or --clear")
    name = _assignment(assignment).name
    with Gradebook(db_url) as gradebook:
        if clear:
            found = clear_adjustment(gradebook, name, student, test)
            _line(f"cleared the override of {student}'s {test or 'total'}" if found else "there was no such override")
            return
        grade = next((g for g in gradebook.grades(name) if g.student == student), None)
        if grade is None:
            raise _Failure(f"no student {student!r} in the gradebook")
        if test and (problem := unknown_test(grade, test)):
            raise _Failure(problem)
        try:
            set_adjustment(gradebook, name, student, Adjustment(test, points, comment.strip()))
        except LookupError as error:
            raise _Failure(f"{error}: grade {name} first") from None
    _line(f"{student}'s {test or 'total'} on {name} is now {points:g} points ({comment.strip()})")


@main.group()
def students() -> None:
    """The class roster: import it from a CSV, list it, update one student."""


@students.command("import")
@click.argument("roster_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def import_students(roster_csv: Path, db_url: str | None) -> None:
    """Add or update the students of ROSTER_CSV (columns: id,name,email,lms_id,sis_id,login,section).

    Example: autograder students import roster.csv
    """
    try:
        people = read_roster(roster_csv)
    except RosterError as error:
        raise _Failure(str(error)) from None
    with Gradebook(db_url) as gradebook:
        added, updated = save_people(gradebook, people)
    _line(f"{added} students added, {updated} updated from {roster_csv}")


@students.command("list")
@click.option("--section", help="Only this section.")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def list_students(section: str | None, db_url: str | None) -> None:
    """List the students the gradebook knows.

    Example: autograder students list --section CS101-01
    """
    with Gradebook(db_url) as gradebook:
        people = [p for p in roster(gradebook).values() if section is None or p.section == section]
    table = Table(title=f"{len(people)} students")
    for column in ROSTER_COLUMNS:
        table.add_column(column)
    for person in people:
        table.add_row(*(escape(getattr(person, field)) for field in ROSTER_COLUMNS.values()))
    console.print(table)


@students.command("update")
@click.argument("student")
@click.option("--name", "full_name", help="Full name, as the LMS shows it.")
@click.option("--email")
@click.option("--lms-id", help="The LMS's number: Canvas user id, Moodle participant id.")
@click.option("--sis-id", help="The institution's id: Canvas SIS User ID, Brightspace OrgDefinedId.")
@click.option("--login", help="The LMS user name: Canvas SIS Login ID, Blackboard and Brightspace Username.")
@click.option("--section")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def update_student(student: str, db_url: str | None, **details: str | None) -> None:
    """Add STUDENT or change their details.

    Example: autograder students update jdoe --section CS101-02 --email jane.doe@uni.edu
    """
    from autograder.ingest import student_id

    if student != student_id(student):
        raise _Failure(f"{student!r} is not a safe student id (try {student_id(student)!r})")
    with Gradebook(db_url) as gradebook:
        added, _ = save_people(gradebook, [Person(student, **{k: v or "" for k, v in details.items()})])
    _line(f"{'added' if added else 'updated'} {student}")


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
    from autograder.execute import ForkServer, KernelDied, sandbox_layers
    from autograder.sandbox import isolation_gap, what_it_blocks

    try:
        with console.status("starting the sandbox"), ForkServer() as server:
            tier, layers = server.clients[0].tier, sandbox_layers(server)
    except KernelDied as error:
        raise _Failure(f"the sandbox would not start: {error}") from None
    _line(f"tier: {tier}")
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
    except (LeakError, CourseError) as error:
        raise _Failure(str(error)) from None
    _line(f"wrote {folder}")


@main.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (default: reports/<assignment>).")
@click.option("--db", "db_url", envvar="AUTOGRADER_DB", help="SQLAlchemy URL of the gradebook.")
def report(assignment: str, output: Path | None, db_url: str | None) -> None:
    """Write feedback for each student (HTML and Markdown) and a summary page with plots.

    Example: autograder report softmax -o reports/softmax
    """
    _spare_the_collector()
    from autograder.report import write_class_reports
    from autograder.report_plots import SummaryPlots

    found = _assignment(assignment)
    with SummaryPlots() as plots, Gradebook(db_url) as gradebook:  # matplotlib is imported while grades load
        written = write_class_reports(found.title, gradebook.student_names(), partial(gradebook.grades, found.name),
                                      output or Path("reports") / found.name, plots)
    _line(f"wrote {written.summary} and feedback for {len(written.feedback)} students in "
          f"{written.summary.parent / 'students'}")


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
