"""`make lab` on a fresh course folder: Formgrader answers on the first visit, the gradebook is whole, students
get copies in work/ and no tracked file changes; a gradebook damaged by an earlier failed start is named and
repaired without losing a row."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import formgrader_assignments, free_port, make_course, start_lab, stop_group

from autograder.config import Course
from autograder.student.lab import GradebookDamaged, ensure_gradebook, gradebook_state, lab_command, student_copies


REPO = Path(__file__).resolve().parent.parent


def course_folder(path: Path) -> Path:
    """A course folder as a fresh clone has it: config, masters, releases and the lectures; no gradebook."""
    root = make_course(path, released=False)
    shutil.copytree(REPO / "course", root / "course")
    return root


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("course", "assignments", "solutions") for p in sorted((root / folder).rglob("*.ipynb"))}


def damaged_gradebook(root: Path) -> Path:
    """What a first Formgrader request made before: nbgrader's tables, no alembic_version ('alembic' not found)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root)}
    code = "from nbgrader.api import Gradebook\ntry:\n    Gradebook('sqlite:///gradebook.db')\nexcept FileNotFoundError:\n    pass"
    subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True)
    return root / "gradebook.db"


def test_a_damaged_gradebook_is_named_and_repaired_without_losing_rows(tmp_path):
    root = course_folder(tmp_path / "course")
    path = damaged_gradebook(root)
    assert gradebook_state(path) == "damaged"
    with sqlite3.connect(path) as db:
        db.execute("insert into student (id, first_name) values ('ada', 'Ada')")
    course = Course.load(root)
    with pytest.raises(GradebookDamaged, match="--repair-gradebook"):
        ensure_gradebook(course, log=lambda line: None)
    ensure_gradebook(course, repair=True, log=lambda line: None)
    assert gradebook_state(path) == "ok"
    with sqlite3.connect(path) as db:
        assert db.execute("select first_name from student where id = 'ada'").fetchone() == ("Ada",)
    upgrade = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "db", "upgrade"], cwd=root,
                             capture_output=True, text=True, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr


def test_students_copies_never_overwrite_their_work(tmp_path):
    root = course_folder(tmp_path / "course")
    course = Course.load(root)
    made = student_copies(course, log=lambda line: None)
    assert root / "work" / "course" / "01_perceptron.ipynb" in made
    assert root / "work" / "ps1" / "ps1.ipynb" in made
    mine = root / "work" / "ps1" / "ps1.ipynb"
    mine.write_text("my work")
    assert student_copies(course, log=lambda line: None) == [] and mine.read_text() == "my work"


def test_root_gets_allow_root(tmp_path, monkeypatch):
    course = Course.load(course_folder(tmp_path / "course"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in lab_command(course)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "--allow-root" not in lab_command(course)



def test_formgrader_lists_the_problem_sets_on_the_first_visit(tmp_path):
    """`python -m autograder lab` on a fresh course with a PATH that lacks the venv (as a new user's shell), then
    Formgrader's API, as its page asks for it on the first visit; tracked notebooks unchanged."""
    root = course_folder(tmp_path / "course")
    before = digests(root)
    port, token, log = free_port(), "test-token", tmp_path / "lab.log"
    process = start_lab(root, tmp_path, port, token, log)
    try:
        listed = formgrader_assignments(port, token, process, log)
        assert {"ps1", "ps2", "ps6"} <= set(listed), listed
        assert gradebook_state(root / "gradebook.db") == "ok"
        assert (root / "work" / "ps1" / "ps1.ipynb").exists() and (root / "work" / "course").is_dir()
    finally:
        stop_group(process)
    assert digests(root) == before
