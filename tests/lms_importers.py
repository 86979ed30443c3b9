"""The LMS importers' rules (shared/research/lms-formats.md), as checks: each parses an export back, or fails."""

from __future__ import annotations

import csv
import io
import re

CANVAS_ASSIGNMENT = re.compile(r"\A(.*)\s\((\d+)\)\Z")


def rows(text: str, **options) -> list[list[str]]:
    assert text.endswith("\r\n"), "RFC 4180 line ends"
    return list(csv.reader(io.StringIO(text, newline=""), **options))


def canvas(text: str) -> tuple[str, str, float, dict[str, str]]:
    """(title, assignment id, points possible, {ID: score cell}) as Canvas' gradebook importer reads them."""
    header, points, *students = rows(text)
    assert "Student" in header[0] and "ID" in header[1]
    identity = next(i for i, name in enumerate(header) if "Section" in name)
    assert header[2:identity] in (["SIS User ID", "SIS Login ID"], ["SIS Login ID"], [])
    [title, assignment_id] = CANVAS_ASSIGNMENT.match(header[identity + 1]).groups()
    assert points[0] == "Points Possible" and points[1:identity + 1] == [""] * identity
    assert all(len(row) == len(header) for row in students)
    return title, assignment_id, float(points[identity + 1]), {row[1]: row[identity + 1] for row in students}


def moodle(text: str) -> dict[str, tuple[str, str]]:
    """{participant id: (grade cell, feedback)} as Moodle's offline grading worksheet import reads them."""
    header, *students = rows(text)
    index = {name: i for i, name in enumerate(header)}
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(index)
    result = {}
    for row in students:
        participant = re.fullmatch(r"Participant (\d+|[\w.@+-]+)", row[index["Identifier"]])
        assert participant, row
        result[participant[1]] = (row[index["Grade"]], row[index["Feedback comments"]])
    return result


def blackboard(text: str) -> tuple[str, float, str, dict[str, str]]:
    """(column, total points, column id, {username: score}) as Blackboard's Grade Center upload reads them."""
    assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines()), "all fields quoted"
    header, *students = rows(text)
    assert header[:6] == ["Last Name", "First Name", "Username", "Student ID", "Last Access", "Availability"]
    found = re.fullmatch(r"(.+) \[Total Pts: ([\d.]+) Score\] \|(\d+)", header[6])
    assert found, header[6]
    return found[1], float(found[2]), found[3], {row[2]: row[6] for row in students}


def brightspace(text: str) -> tuple[str, float, dict[str, str]]:
    """(grade item, max points, {username: points}) as Brightspace's grades import reads them."""
    header, *students = rows(text)
    assert header[0] == "OrgDefinedId" and header[1] == "Username" and header[-1] == "End-of-Line Indicator"
    found = re.fullmatch(r"(.+) Points Grade <Numeric MaxPoints:([\d.]+)>", header[2])
    assert found, header[2]
    assert all(row[-1] == "#" and row[1].startswith("#") for row in students)
    assert all(row[0] == "" or row[0].startswith("#") for row in students)
    return found[1], float(found[2]), {row[1][1:]: row[2] for row in students}
