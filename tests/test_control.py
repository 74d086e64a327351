"""A grading run checks itself before it records anything.

Every ``autograde`` grades the master first, through the same sandbox, limits and seed. If
the master does not get full marks, nothing is recorded for anyone and the run says why and
what to do. A submission whose sandbox dies before any notebook code ran is the grader's
fault: it is reported, never recorded as a zero.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course
from autograder.errors import GraderFault
from autograder.grading.grader import Grader
from autograder.grading.limits import Limits
from autograder.grading import isolation
from conftest import make_course, submit

PS = "ps1"


def cli(root, *args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=root, capture_output=True, text=True,
                          timeout=600)


def recorded_students(course: Course) -> list[str]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            return sorted(s.student.id for s in gb.find_assignment(PS).submissions)
        except MissingEntry:
            return []


@pytest.fixture
def small_class(tmp_path, notebooks):
    root = make_course(tmp_path / "course")
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    submit(root, PS, "bob", release)
    return root


def test_a_sandbox_that_cannot_start_records_nothing(small_class):
    """Too little memory for Python and NumPy to start: the control fails, the run refuses."""
    run = cli(small_class, "autograde", PS, "--memory-mb", "40")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "GRADING REFUSED" in run.stderr and "nothing was graded or recorded" in run.stderr
    assert "before any notebook code ran" in run.stderr
    assert "Fix:" in run.stderr and "memory" in run.stderr.split("Fix:")[1]
    course = Course.load(small_class)
    assert recorded_students(course) == []
    assert not (course.autograded / "alice").exists() and not (course.autograded / "bob").exists()


def test_a_broken_provided_cell_in_the_master_refuses_the_run(small_class):
    """A master whose own code fails in the sandbox (here: an import the sandbox does not have)."""
    path = small_class / "solutions" / PS / f"{PS}.ipynb"
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    first_code.source = "import no_such_module_in_the_sandbox\n" + first_code.source
    nbformat.write(nb, path)
    run = cli(small_class, "autograde", PS)
    assert run.returncode == 3
    assert "master's own solutions scored" in run.stderr and "no_such_module_in_the_sandbox" in run.stderr
    assert recorded_students(Course.load(small_class)) == []


def test_a_grader_fault_on_one_submission_is_reported_not_recorded(small_class, notebooks, monkeypatch):
    """The grader failing on one submission (a sandbox that did not start, or any exception in the
    grader) leaves that student unrecorded and grades the others as usual."""
    master, release = notebooks[PS]
    submit(small_class, PS, "carol", samples.full_solution(master, release))
    real_run = Grader.run

    def flaky_run(self, cells, only=None, probe=()):
        sources = [c.source for c in cells]
        if any("CAROL" in s for s in sources):
            raise GraderFault("the sandboxed Python was killed by SIGKILL before any notebook code ran", "log")
        if any("BOB" in s for s in sources):
            raise RuntimeError("a bug in the grader")
        return real_run(self, cells, only, probe)

    for student in ("carol", "bob"):
        path = small_class / "submitted" / student / PS / f"{PS}.ipynb"
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "predict")
        cell.source += f"\n# {student.upper()}\n"
        nbformat.write(nb, path)
    monkeypatch.setattr(Grader, "run", flaky_run)
    course = Course.load(small_class)
    lines = []
    run = instructor.autograde(course, PS, log=lines.append)
    assert set(run.grader_errors) == {"bob", "carol"}
    assert any("Traceback" in line and "a bug in the grader" in line for line in lines), "the traceback is logged"
    assert "SIGKILL" in run.grader_errors["carol"] and "a bug in the grader" in run.grader_errors["bob"]
    assert recorded_students(course) == ["alice"]
    assert run["alice"].score == 10
    report = (course.autograded / "bob" / PS / "autograder_report.json").read_text()
    assert "grader_error" in report and not (course.autograded / "bob" / PS / f"{PS}.ipynb").exists()


def test_a_process_that_dies_before_booting_is_a_grader_fault(notebooks):
    master, release = notebooks[PS]
    from autograder.grading.notebooks import program_cells
    from autograder.registry import get_problem_set

    with Grader(get_problem_set(PS), 1, Limits(memory_mb=40)) as grader:
        with pytest.raises(GraderFault, match="before any notebook code ran"):
            grader.grade(program_cells(master, release))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"),
                    reason="the unshare level needs root, unshare and setpriv")
def test_unshare_grades_a_course_kept_in_a_private_folder(tmp_path, notebooks):
    """The advice in docs/instructors.md: keep the course folder chmod 700, with .venv inside it as make creates it.

    The sandbox user cannot enter that folder; the grader gives it its own copy of NumPy, so the
    class is graded correctly (or, were something else out of reach, refused with the fix)."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    root = make_course(private / "course")
    # a virtual environment inside the private folder, as `make` creates it: hard links to this one
    venv = Path(sys.prefix)
    subprocess.run(["cp", "-al", str(venv), str(root / ".venv")], check=True)
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    submit(root, PS, "bob", samples.with_mutant(master, release, "predict", *samples.mutants(PS)["predict"][0][1:]))
    env = {**os.environ, "AUTOGRADER_SANDBOX": "unshare"}
    run = subprocess.run([str(root / ".venv" / "bin" / "python"), "-m", "autograder", "autograde", PS], cwd=root,
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "isolation: unshare" in run.stdout
    table = instructor.table(Course.load(root), PS)[1]
    auto = lambda s: sum(v or 0 for k, v in table[s].items() if k.startswith("test_"))
    assert auto("alice") == 10 and auto("bob") == 9


def test_the_way_to_a_path_is_checked_for_the_sandbox_user():
    base = Path(tempfile.mkdtemp())  # pytest's own tmp_path sits in a private folder already
    os.chmod(base, 0o755)
    try:
        check_the_way(base)
    finally:
        shutil.rmtree(base)


def check_the_way(base: Path):
    private = base / "private"
    (private / "inner").mkdir(parents=True)
    target = private / "inner" / "file.py"
    target.write_text("x = 1\n")
    os.chmod(private, 0o700)
    assert isolation.blocked_on_the_way(target) == private
    os.chmod(private, 0o711)
    os.chmod(target, 0o600)
    assert isolation.blocked_on_the_way(target) == target
    os.chmod(target, 0o644)
    assert isolation.blocked_on_the_way(target) is None
    fixes = isolation.diagnose(isolation.Isolation("unshare", True), {"NumPy": private / "inner"}, "")
    assert fixes and not any("cannot reach" in fix for fix in fixes)
    os.chmod(private, 0o700)
    fixes = isolation.diagnose(isolation.Isolation("unshare", True), {"NumPy": private / "inner"}, "")
    assert str(private) in fixes[0] and "bubblewrap" in fixes[0] and f"chmod o+x {private}" in fixes[0]


def test_an_exception_inside_the_import_scan_is_a_grader_fault_not_a_lost_point(small_class, notebooks,
                                                                                  monkeypatch):
    """Something other than the cell's text making the parser fail (a SystemError when something interrupted it, as
    seen once on a loaded machine) is tried again, and when it persists it is the grader's fault: that student is
    reported, nothing is recorded for them, the others are graded. Once only: the second try grades as usual."""
    from autograder.grading import untrusted

    master, release = notebooks[PS]
    for student in ("carol", "dave"):
        nb = samples.full_solution(master, release)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "predict")
        cell.source += f"\n# {student.upper()}\n"
        submit(small_class, PS, student, nb)
    real_parse, failed_once = untrusted.ast.parse, set()

    def interrupted_parse(source, *args, **kwargs):
        if "CAROL" in source:
            raise SystemError("error return without exception set")
        if "DAVE" in source and "DAVE" not in failed_once:
            failed_once.add("DAVE")
            raise SystemError("error return without exception set")
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(untrusted.ast, "parse", interrupted_parse)
    course = Course.load(small_class)
    run = instructor.autograde(course, PS, log=lambda line: None, jobs=1)
    assert set(run.grader_errors) == {"carol"}, run.grader_errors
    assert "import scan failed twice" in run.grader_errors["carol"] and "grader's fault" in run.grader_errors["carol"]
    assert "carol" not in recorded_students(course)
    assert run["dave"].score == 10 and run["alice"].score == 10, "a parse that fails once is tried again"
    with pytest.raises(untrusted.ScanFault):
        untrusted.scan_imports("import numpy as np  # CAROL")
    with pytest.raises(untrusted.Untrusted, match="null byte"):  # the cell's own content is still the cell's fault
        untrusted.scan_imports("x = 1\0")
