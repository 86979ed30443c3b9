"""The class roster: who is enrolled, with the ids each LMS knows them by.

`autograder students import roster.csv` reads a CSV with a header row:

    id,name,email,lms_id,sis_id,login,section
    jdoe,"Doe, Jane",jdoe@uni.edu,12345,S001,jdoe,CS101-01

`id` (required) is the student's id in the gradebook; `lms_id` the LMS's number
for them (Canvas user id, Moodle participant id), `sis_id` the institution's id
(Canvas' SIS User ID, Brightspace's OrgDefinedId), `login` their LMS user name
(Canvas' SIS Login ID, Blackboard's and Brightspace's Username). Empty cells
leave what is stored. A submission whose file name carries a student's
`lms_id` or `login` is graded as that student; enrolled students who hand in
nothing are exported as missing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields, replace
from pathlib import Path

import sqlalchemy as sa

from autograder.gradebook import Gradebook, Student
from autograder.ingest import Submission, newest_per_student, student_id

COLUMNS = {"id": "student", "name": "full_name", "email": "email", "lms_id": "lms_id", "sis_id": "sis_id",
           "login": "login", "section": "section"}
MAX_ROSTER_BYTES = 10 << 20


class RosterError(ValueError):
    """The roster file cannot be imported; nothing was written."""


@dataclass(frozen=True)
class Person:
    """One enrolled student, as the roster knows them."""

    student: str
    full_name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""


DETAILS = tuple(field.name for field in fields(Person))[1:]


def _person(row: Student) -> Person:
    return Person(row.name, *(getattr(row, detail) for detail in DETAILS))


def read_roster(path: Path) -> list[Person]:
    """The people of a roster CSV; raises RosterError naming the file, the line and what is wrong."""
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise RosterError(f"{path}: over {MAX_ROSTER_BYTES >> 20} MB; is it a roster?")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"{path}: cannot be read ({getattr(error, 'strerror', None) or error})") from None
    reader = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if "id" not in header or unknown:
        problem = f"unknown columns {', '.join(unknown)}" if unknown else "no id column"
        raise RosterError(f"{path}: {problem}; the columns are {', '.join(COLUMNS)}")
    reader.fieldnames = header
    people: dict[str, Person] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise RosterError(f"{path}, line {line}: more cells than columns")
        values = {COLUMNS[column]: (value or "").strip() for column, value in row.items()}
        if values["student"] != student_id(values["student"]):
            raise RosterError(f"{path}, line {line}: id {values['student']!r} is not a safe id "
                              f"(letters, digits, . @ + - _; try {student_id(values['student'])!r})")
        if values["student"] in people:
            raise RosterError(f"{path}, line {line}: id {values['student']!r} appears twice")
        people[values["student"]] = Person(**values)
    return list(people.values())


def save_people(gradebook: Gradebook, people: list[Person]) -> tuple[int, int]:
    """Add or update `people` in one transaction (empty details keep what is stored): (added, updated)."""
    added = 0
    with gradebook.session(write=True) as session:
        for person in people:
            row = session.scalars(sa.select(Student).filter_by(name=person.student)).one_or_none()
            if row is None:
                row, added = Student(name=person.student), added + 1
                session.add(row)
            for detail in DETAILS:
                if getattr(person, detail):
                    setattr(row, detail, getattr(person, detail))
    return added, len(people) - added


def roster(gradebook: Gradebook) -> dict[str, Person]:
    """Everyone the gradebook knows, by student id: enrolled or seen in a submission."""
    with gradebook.session() as session:
        return {row.name: _person(row) for row in session.scalars(sa.select(Student).order_by(Student.name))}


def as_enrolled(gradebook: Gradebook, submissions: list[Submission]) -> list[Submission]:
    """`submissions` with each student named as the roster names them, where a file named them by their
    LMS id or login; one per student still, the newest."""
    aliases: dict[str, str] = {}
    for person in roster(gradebook).values():
        for alias in (person.login, person.lms_id):
            if alias and alias != person.student:
                aliases.setdefault(student_id(alias), person.student)
    renamed = [replace(s, student=aliases[s.student]) if s.student in aliases else s for s in submissions]
    return newest_per_student(renamed)
