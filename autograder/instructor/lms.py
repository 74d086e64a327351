"""Grades for a learning-management system: `python -m autograder export --format canvas|moodle|csv`.

One table is read from the gradebook, then written in the format asked for:

- a problem set's points are what nbgrader records: the autograder's points, the hand-graded points given in the
  formgrader (a question that still awaits a grader counts 0 and is reported), minus any late penalty;
- every student on ``roster.csv`` has a row; one who submitted nothing gets 0 for that problem set;
- a student the gradebook knows but the roster does not (added by hand, or collected before the roster existed) is
  reported. In ``csv`` they keep their row; in ``canvas`` and ``moodle``, which match rows to accounts by the
  roster's ids and emails, they are left out of the file and named on the console, never dropped silently.

Formats (read in each LMS's documentation of its grade import):

- ``canvas``: Canvas's gradebook import CSV. Columns ``Student`` ("Last, First"), ``ID`` (Canvas's user id),
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per problem set, and a first data row "Points
  Possible". Canvas matches a row by ``ID``, ``SIS User ID`` or ``SIS Login ID``: the roster may give them
  (columns ``canvas_id``, ``sis_user_id``, ``sis_login_id``, ``section``); without them the course's student id
  is used as the SIS Login ID. A problem set column with a new name creates an assignment in Canvas; rename it to
  an existing assignment's ``Name (id)`` to fill that one instead.
- ``moodle``: Moodle's grade import from a CSV file, matched on email. Columns ``First name``, ``Last name``,
  ``ID number``, ``Email address``, then one per problem set. In Moodle: Grades → Import → CSV file, "Map from"
  Email address, "Map to" email address, and each problem set column to its grade item (or a new one).
- ``csv``: plain CSV, one row per student: ``student_id``, ``first_name``, ``last_name``, ``email``,
  ``on_roster``, one column per problem set, ``total``; a last row ``points_possible``.
- ``nbgrader``: nbgrader's own ``nbgrader export`` (one row per student and problem set, with timestamps and late
  penalties).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from autograder.config import Course
from autograder.registry import PROBLEM_SET_NAMES

FORMATS = ("csv", "canvas", "moodle", "nbgrader")


@dataclass
class GradeTable:
    problem_sets: list[str]
    points_possible: dict[str, float]
    people: dict[str, dict[str, str]]                  # student id -> roster fields (first_name, email, ...)
    scores: dict[str, dict[str, float]]                # student id -> problem set -> points (0 without submission)
    on_roster: set[str]
    awaiting: dict[str, list[str]] = field(default_factory=dict)   # student -> problem sets awaiting a grader
    late: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> problem set -> penalty

    @property
    def unknown(self) -> list[str]:
        return sorted(s for s in self.scores if s not in self.on_roster)


def read_table(course: Course, problem_sets: list[str] | None = None) -> GradeTable:
    """The grades of ``problem_sets`` (default: every problem set the gradebook knows, in course order)."""
    from nbgrader.api import Gradebook

    people = course.roster()
    with Gradebook(course.db_url, course.course_id) as gb:
        known = {a.name: a for a in gb.assignments}
        wanted = problem_sets or [name for name in PROBLEM_SET_NAMES if name in known]
        missing = [name for name in wanted if name not in known]
        if missing:
            from autograder.errors import UserError

            raise UserError(f"the gradebook does not know {', '.join(missing)}: release it first "
                            f"(python -m autograder release {missing[0]})")
        table = GradeTable(list(wanted), {}, {}, {}, set(people))
        for student in people:
            table.scores[student] = {name: 0.0 for name in wanted}
        for name in wanted:
            assignment = known[name]
            table.points_possible[name] = float(assignment.max_score)
            for submission in assignment.submissions:
                student = submission.student.id
                row = table.scores.setdefault(student, {n: 0.0 for n in wanted})
                penalty = float(submission.late_submission_penalty or 0.0)
                row[name] = max(0.0, float(submission.score) - penalty)
                if penalty:
                    table.late.setdefault(student, {})[name] = penalty
                if submission.needs_manual_grade:
                    table.awaiting.setdefault(student, []).append(name)
        for student in gb.students:
            table.people.setdefault(student.id, {"first_name": student.first_name or "",
                                                 "last_name": student.last_name or "", "email": student.email or ""})
        for student, fields in people.items():
            table.people[student] = {**table.people.get(student, {}), **{k: v for k, v in fields.items() if v}}
    return table


def _points(value: float) -> str:
    return f"{value:g}"


def canvas_csv(table: GradeTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *table.problem_sets])
    writer.writerow(["    Points Possible", "", "", "", "", *(_points(table.points_possible[p]) for p in table.problem_sets)])
    for student in sorted(table.on_roster):
        person = table.people.get(student, {})
        name = ", ".join(x for x in (person.get("last_name", ""), person.get("first_name", "")) if x) or student
        writer.writerow([name, person.get("canvas_id", ""), person.get("sis_user_id", ""),
                         person.get("sis_login_id") or student, person.get("section", ""),
                         *(_points(table.scores[student][p]) for p in table.problem_sets)])
    return out.getvalue()


def moodle_csv(table: GradeTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["First name", "Last name", "ID number", "Email address", *table.problem_sets])
    for student in sorted(table.on_roster):
        person = table.people.get(student, {})
        writer.writerow([person.get("first_name", ""), person.get("last_name", ""), student, person.get("email", ""),
                         *(_points(table.scores[student][p]) for p in table.problem_sets)])
    return out.getvalue()


def plain_csv(table: GradeTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "first_name", "last_name", "email", "on_roster", *table.problem_sets, "total"])
    for student in sorted(table.scores):
        person = table.people.get(student, {})
        row = [table.scores[student][p] for p in table.problem_sets]
        writer.writerow([student, person.get("first_name", ""), person.get("last_name", ""), person.get("email", ""),
                         "yes" if student in table.on_roster else "no", *map(_points, row), _points(sum(row))])
    writer.writerow(["points_possible", "", "", "", "", *(_points(table.points_possible[p]) for p in table.problem_sets),
                     _points(sum(table.points_possible.values()))])
    return out.getvalue()


WRITERS = {"canvas": canvas_csv, "moodle": moodle_csv, "csv": plain_csv}


def export(course: Course, fmt: str, to: Path, problem_sets: list[str] | None = None, log=print) -> Path:
    """Write the grades in ``fmt`` to ``to`` and report what an instructor must know before importing them."""
    from autograder.errors import UserError

    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "nbgrader":
        from autograder.instructor.common import nbgrader

        to.parent.mkdir(parents=True, exist_ok=True)
        nbgrader(course, "export", "--to", str(to))
        log(f"nbgrader: nbgrader export written to {to}")
        return to
    table = read_table(course, problem_sets)
    if not table.on_roster and fmt != "csv":
        raise UserError(f"no roster.csv (or it is empty): {fmt} matches rows to its accounts by the roster's ids and "
                        f"emails. Write roster.csv (id,first_name,last_name,email) first, or export --format csv")
    if fmt == "moodle":
        no_email = sorted(s for s in table.on_roster if not table.people.get(s, {}).get("email"))
        if no_email:
            log(f"warning: {len(no_email)} student(s) on the roster have no email, so Moodle cannot match them: "
                f"{', '.join(no_email)}")
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(WRITERS[fmt](table))
    unknown = table.unknown
    if unknown:
        where = "kept in the file, marked on_roster=no" if fmt == "csv" else "NOT in the file"
        log(f"warning: {len(unknown)} student(s) in the gradebook are not on roster.csv ({where}): "
            f"{', '.join(unknown)}. Add them to roster.csv (with their LMS ids) and export again.")
    awaiting = sorted(table.awaiting)
    if awaiting:
        log(f"note: {len(awaiting)} student(s) have answers awaiting a grader in the formgrader, counted 0 until "
            f"graded: " + ", ".join(f"{s} ({', '.join(table.awaiting[s])})" for s in awaiting))
    log(f"{fmt}: {len(table.on_roster if fmt != 'csv' else table.scores)} student(s) x {len(table.problem_sets)} "
        f"problem set(s) ({', '.join(table.problem_sets)}) written to {to}")
    return to
