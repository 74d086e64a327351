"""A sandbox that cannot hide files must not expose the masters: the control run's probe.

Before any notebook code runs, the control submission's sandboxed process tries to read the masters, the
gradebook, the roster and the problem sets' own code. Where it can (rlimits always; unshare when the course
folder lets 'nobody' in), autograde refuses before anyone is graded, names the files and says how to fix it;
where it cannot (bubblewrap, or unshare with the course folder closed), grading goes on."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import autograder
import pytest

from autograder.authoring import samples
from autograder.grading import isolation
from conftest import make_course, submit

PS = "ps1"
try:
    MODE = isolation.detect().mode  # AUTOGRADER_SANDBOX, when set
except RuntimeError:  # a mode this machine cannot give: every test skips, saying why (conftest)
    MODE = "unavailable"
PACKAGE = Path(autograder.__file__).resolve().parent / "problemsets"


def autograde(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_TRUSTED_SUBMISSIONS"}
    return subprocess.run([sys.executable, "-m", "autograder", "autograde", PS, *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def recorded_grades(root: Path) -> int:
    with sqlite3.connect(root / "gradebook.db") as db:
        return db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]


@pytest.fixture
def open_course(notebooks):
    """A course in a folder every account may enter (mode 755 all the way), with one honest submission."""
    folder = Path(tempfile.mkdtemp(prefix="open-course-", dir="/tmp"))
    folder.chmod(0o755)
    root = make_course(folder / "course")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    master, release = notebooks[PS]
    submit(root, PS, "alice", samples.full_solution(master, release))
    yield root
    shutil.rmtree(folder, ignore_errors=True)


def test_rlimits_refuses_a_course_whose_masters_it_can_read(open_course):
    run = autograde(open_course, "--sandbox", "rlimits")
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "nothing was graded or recorded" in out and str(open_course / "solutions" / PS / f"{PS}.ipynb") in out, out
    assert "install bubblewrap" in out.lower(), out
    assert "alice" not in run.stdout and recorded_grades(open_course) == 0


@pytest.mark.skipif(MODE == "rlimits", reason="no sandbox but rlimits here (neither bubblewrap nor root)")
def test_the_best_mode_grades_or_refuses_a_world_readable_course(open_course):
    """Under bubblewrap the course is not in the sandbox's view: graded. Under unshare it is readable by
    'nobody': refused, naming the master and the fix (chmod 700 the course folder, or install bubblewrap)."""
    run = autograde(open_course, "--sandbox", MODE)
    out = run.stdout + run.stderr
    if MODE == "bwrap":
        assert run.returncode == 0 and "the sandbox cannot read the masters" in out, out
        assert recorded_grades(open_course) == 1
    else:
        assert run.returncode != 0 and "nothing was graded or recorded" in out, out
        assert str(open_course / "solutions" / PS / f"{PS}.ipynb") in out and str(open_course / "gradebook.db") in out
        fix = next(line for line in out.splitlines() if line.strip().startswith("Fix:"))
        assert "chmod 700" in fix and f" {open_course}" in fix.split("chmod 700", 1)[1].split(";")[0], fix
        assert "install bubblewrap" in fix, fix
        assert recorded_grades(open_course) == 0


@pytest.mark.skipif(MODE != "unshare", reason=f"the sandbox here is {MODE}, not unshare")
def test_unshare_grades_once_the_course_folder_is_closed(open_course):
    open_course.chmod(0o700)
    run = autograde(open_course, "--sandbox", "unshare")
    out = run.stdout + run.stderr
    if isolation.blocked_on_the_way(PACKAGE) is None:
        # this checkout itself is open to 'nobody': its planted bugs and references are what is named
        assert run.returncode != 0 and str(PACKAGE) in out and f"{PS}.ipynb" not in out, out
    else:
        assert run.returncode == 0 and "the sandbox cannot read the masters" in out, out
        assert recorded_grades(open_course) == 1
