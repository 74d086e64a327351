"""The nbgrader exchange on one machine: `release` publishes a problem set into the course's exchange folder, a
student fetches and submits it (what JupyterLab's Assignment List does, here through nbgrader's own commands), and
`collect <ps>` with no folder collects the latest submission of each student with nbgrader's submission time."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from conftest import make_course
from nbgrader.utils import get_username

from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course

BIN = Path(sys.executable).parent


def student(root: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_release_fetch_submit_and_collect_through_the_exchange(tmp_path):
    root = make_course(tmp_path / "course")
    course = Course.load(root)
    instructor.release(course, "ps1")
    outbound = root / "exchange" / course.course_id / "outbound" / "ps1" / "ps1.ipynb"
    assert outbound.is_file()

    student(root, "fetch_assignment", "ps1")
    fetched = root / "work" / course.course_id / "ps1" / "ps1.ipynb"
    assert nbformat.read(fetched, as_version=4) == nbformat.read(outbound, as_version=4)
    student(root, "submit", "ps1")                        # a first, unsolved submission
    time.sleep(1.1)
    master = nbformat.read(course.master("ps1"), as_version=4)
    nbformat.write(samples.full_solution(master, nbformat.read(fetched, as_version=4)), fetched)
    student(root, "submit", "ps1")                        # then the solved one

    report = instructor.collect(course, "ps1", None, log=lambda line: None)
    user = get_username()
    assert report["collected"] == [user] and not report["errors"], report
    collected = course.submitted / user / "ps1"
    inbound = sorted((root / "exchange" / course.course_id / "inbound").glob(f"{user}+ps1+*"))
    assert len(inbound) == 2
    assert (collected / "timestamp.txt").read_text() == (inbound[-1] / "timestamp.txt").read_text().strip()
    assert (collected / "ps1.ipynb").read_bytes() == (inbound[-1] / "ps1.ipynb").read_bytes()  # the latest one
    assert instructor.collect(course, "ps1", None, log=lambda line: None)["unchanged"] == [user]


def test_the_assignment_list_finds_the_exchange_from_the_students_folder(tmp_path, monkeypatch):
    """JupyterLab's Assignment List reloads nbgrader's configuration inside ``Exchange.assignment_dir`` (work/):
    without work/nbgrader_config.py (written by `make lab`) it found no exchange and said "Error fetching courses!"."""
    from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

    from autograder.student.lab import student_config

    root = make_course(tmp_path / "course")
    course = Course.load(root)
    instructor.release_to_exchange(course, "ps1")
    (root / "work").mkdir()
    monkeypatch.chdir(root)
    lister = AssignmentList()
    lister.root_dir = str(root)
    broken = lister.list_released_assignments()
    assert not broken["success"]                            # the control: what a plain `jupyter lab` showed

    student_config(course)
    listed = lister.list_released_assignments()
    assert listed["success"], listed["value"]
    assert [(a["course_id"], a["assignment_id"], a["status"]) for a in listed["value"]] == \
        [(course.course_id, "ps1", "released")]
    assert os.getcwd() == str(root)
