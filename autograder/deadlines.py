"""Due dates, extensions and the late policy, from an assignment's `assignment.toml`:

    due = 2025-03-10T23:59:00+01:00   # a date and time with its offset (or Z)
    [late]
    policy = "percent_per_day"        # none | zero | percent_per_day | percent_per_hour
    percent = 10                      # taken off per started day (or hour) late
    cap = 50                          # at most this many percent in all (default 100)
    grace_minutes = 15                # this late still counts as on time
    [extensions]                      # per student: a new due date, or a number of days more
    alice = 2025-03-12T23:59:00+01:00
    bob = 2

A submission is late when it comes after its due date (the extension's, if the
student has one) plus the grace period; its penalty counts the started days or
hours after the due date. Without a due date, the LMS's own late flag is kept
and nothing is taken off. A submission whose time is unknown (Canvas stamps the
members of its zip with the time of the download) is late when the LMS flags
it and the student has no extension, and is charged one started day (or hour).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

POLICIES = ("none", "zero", "percent_per_day", "percent_per_hour")
UNITS = {"percent_per_day": timedelta(days=1), "percent_per_hour": timedelta(hours=1)}


@dataclass(frozen=True)
class Lateness:
    """How late one submission is, and the share of its score that lateness costs."""

    late: bool
    penalty_rate: float


@dataclass(frozen=True)
class Deadline:
    """An assignment's due date, its extensions and its late policy."""

    due: datetime | None = None
    policy: str = "none"
    percent: float = 0.0
    cap: float = 100.0
    grace: timedelta = timedelta(0)
    extensions: dict[str, datetime] = field(default_factory=dict)

    def due_for(self, student: str) -> datetime | None:
        return self.extensions.get(student, self.due)

    def assess(self, student: str, submitted_at: datetime | None, flagged_late: bool) -> Lateness:
        """The lateness of `student`'s submission at `submitted_at` (None: unknown; `flagged_late`: what the
        LMS said)."""
        due = self.due_for(student)
        if due is None:
            return Lateness(flagged_late, 0.0)
        if submitted_at is None:
            late = flagged_late and student not in self.extensions
            return Lateness(late, self._rate(1) if late else 0.0)
        overdue = submitted_at - due
        if overdue <= self.grace:
            return Lateness(False, 0.0)
        return Lateness(True, self._rate(math.ceil(overdue / UNITS.get(self.policy, timedelta(days=1)))))

    def _rate(self, started_units: int) -> float:
        """The share of the score lost for this many started days (or hours) late."""
        if self.policy in UNITS:
            return min(started_units * self.percent, self.cap) / 100
        return 1.0 if self.policy == "zero" else 0.0


def _moment(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} must be a date and time with its offset, like 2025-03-10T23:59:00+01:00, "
                         f"not {value!r}")
    return value


def _number(table: dict, key: str, default: float, upper: float = math.inf) -> float:
    value = table.get(key, default)
    if type(value) not in (int, float) or not 0 <= value <= upper:
        raise ValueError(f"late.{key} must be a number from 0 to {upper:g}, not {value!r}")
    return float(value)


def _extension(student: str, value: object, due: datetime | None) -> datetime:
    if type(value) in (int, float):
        if due is None:
            raise ValueError(f"extensions.{student} gives days, but there is no due date to add them to")
        return due + timedelta(days=value)
    return _moment(value, f"extensions.{student}")


def parse_deadline(config: dict) -> Deadline:
    """The deadline of an assignment.toml's contents; raises ValueError saying which key is wrong."""
    due = _moment(config["due"], "due") if "due" in config else None
    late = config.get("late", {})
    policy = late.get("policy", "none")
    if policy not in POLICIES:
        raise ValueError(f"late.policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    if policy != "none" and due is None:
        raise ValueError(f"late.policy is {policy!r} but there is no due date (due = ...)")
    extensions = {str(student): _extension(str(student), value, due)
                  for student, value in config.get("extensions", {}).items()}
    return Deadline(due=due, policy=policy, percent=_number(late, "percent", 0.0, 100.0),
                    cap=_number(late, "cap", 100.0, 100.0),
                    grace=timedelta(minutes=_number(late, "grace_minutes", 0.0)), extensions=extensions)
