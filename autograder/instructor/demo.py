"""``make demo``: an instructor's whole cycle on a built-in sample class.

Runs in ``demo/`` (a fresh course folder made from this one's config and masters, with
the embedded defaults: SQLite gradebook, local folders), so it is safe to run again and
never touches the masters or the real gradebook.
"""
from __future__ import annotations

import csv
import dataclasses
import shutil
import time
from pathlib import Path

import nbformat

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course, find_root
from autograder.registry import PROBLEM_SET_NAMES, get_problem_set


def _step(text: str) -> None:
    print(f"\n=== {text}")


def _same_notebook(a: Path, b: Path) -> bool:
    return b.exists() and nbformat.read(a, as_version=4) == nbformat.read(b, as_version=4)


def run_demo(root: Path | None = None, seed: int | None = None) -> bool:
    """``seed``: grade every problem set with these hidden cases (a fresh seed per problem set by default)."""
    started = time.perf_counter()
    home = find_root(root)
    demo = home / "demo"
    if demo.exists():
        shutil.rmtree(demo)
    demo.mkdir()
    shutil.copy(home / "nbgrader_config.py", demo / "nbgrader_config.py")
    shutil.copytree(home / "solutions", demo / "solutions")
    course = Course.load(demo)
    # the sample class is the course's own code: where the sandbox cannot hide the masters (no bubblewrap), the
    # demo grades it anyway and says so in each control line; a real class would be refused there (docs/grading.md, "Security")
    course.limits = dataclasses.replace(course.limits, trusted_submissions=True)
    ok = True

    _step("1. generate the student versions from the masters (nbgrader generate_assignment)")
    for name in PROBLEM_SET_NAMES:
        released = instructor.release(course, name)
        committed = home / "assignments" / name / released.name
        same = _same_notebook(released, committed)
        ok &= same
        print(f"  {name}: {released.relative_to(home)}  "
              f"({'identical to' if same else 'DIFFERS from'} the committed {committed.relative_to(home)})")

    _step("2. a sample class for each problem set")
    classes = {}
    for name in PROBLEM_SET_NAMES:
        master = nbformat.read(course.master(name), as_version=4)
        release = nbformat.read(course.released(name), as_version=4)
        classes[name] = samples.sample_class(name, master, release)
        for student, what, data, expected in classes[name]:
            if data is not None:
                path = demo / "inbox" / name / student / f"{name}.ipynb"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            print(f"  {name} {student:<5} {what}")
    _step("2b. ps1 through the nbgrader exchange, as a student in JupyterLab's Assignment List would: "
          "fetch, solve, submit")
    from nbgrader.utils import get_username

    user = get_username()  # nbgrader names a submission after the account that submits it
    if instructor.STUDENT_ID.match(user) and user not in {s for s, _, _, _ in classes["ps1"]}:
        instructor.nbgrader(course, "fetch_assignment", "ps1")
        fetched = demo / "work" / course.course_id / "ps1" / "ps1.ipynb"
        master = nbformat.read(course.master("ps1"), as_version=4)
        nbformat.write(samples.full_solution(master, nbformat.read(fetched, as_version=4)), fetched)
        instructor.nbgrader(course, "submit", "ps1")
        classes["ps1"].append((user, "the full solution, fetched and submitted through the exchange", None,
                               get_problem_set("ps1").total_points))
        print(f"  {user} (this account) fetched ps1 into {fetched.relative_to(home)} and submitted it to "
              f"{instructor.exchange_root(course).relative_to(home)}/")
    else:
        print(f"  skipped: this account's name {user!r} is not usable as a student id here")
    roster = sorted({s for cls in classes.values() for s, what, _, _ in cls if "not on the roster" not in what})
    with open(demo / "roster.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for student in roster:
            writer.writerow([student, student.capitalize(), "Sample", f"{student}@example.org"])
    print(f"  roster.csv: {', '.join(roster)}")

    for name in PROBLEM_SET_NAMES:
        _step(f"3. {name}: collect, autograde, feedback")
        report = instructor.collect(course, name, demo / "inbox" / name)
        print(f"  collected: {', '.join(report['collected'])}")
        exchanged = instructor.collect(course, name, None)["collected"]
        if exchanged:
            print(f"  collected from the exchange: {', '.join(exchanged)} (with the submission time)")
            report["missing"] = [s for s in report["missing"] if s not in exchanged]
        for line in report["errors"]:
            print(f"  problem: {line}")
        for student in report["missing"]:
            print(f"  missing: {student} (on the roster, no submission)")
        instructor.autograde(course, name, log=lambda line: print(f"  {line}"), seed=seed)
        instructor.feedback(course, name)
        pages = sorted(course.feedback.glob(f"*/{name}/{name}.html"))
        print(f"  feedback: {len(pages)} HTML page(s) in {course.feedback.relative_to(home)}/<student>/{name}/")

    _step("4. export grades: for Canvas, for Moodle, and as plain CSV")
    from autograder.instructor import lms

    for fmt in ("canvas", "moodle", "csv"):
        lms.export(course, fmt, demo / f"grades-{fmt}.csv", log=lambda line: print(f"  {line}"))

    _step("5. class reports: how the class did on each problem set (open them in a browser)")
    from autograder.instructor.report import write_report

    for name in PROBLEM_SET_NAMES:
        print(f"  {write_report(course, name).relative_to(home)}")

    for name in PROBLEM_SET_NAMES:
        ps = get_problem_set(name)
        _step(f"{name}: points per graded function (hand-graded questions await the formgrader)")
        print(instructor.format_table(course, name))
        _, table = instructor.table(course, name)
        auto = {fn.test_grade_id for fn in ps.functions}
        for student, what, data, expected in classes[name]:
            got = sum(v or 0 for k, v in table.get(student, {}).items() if k in auto)
            good = got == expected
            ok &= good
            print(f"  {'ok ' if good else 'BAD'} {student:<5} expected {expected:>2}, got {got:g}  ({what})")
    print(f"\ndemo {'finished' if ok else 'FAILED'} in {time.perf_counter() - started:.0f} s; "
          f"everything is in {demo.relative_to(home)}/")
    return ok
