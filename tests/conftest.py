"""Shared fixtures: throw-away course folders made from the repository's own files.

The problem sets are released once per test run into a template course (nbgrader's
``generate_assignment`` fills its gradebook); each test that needs a course copies it.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
# nbgrader runs alembic as a program: this environment's tools must be on PATH
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
_TEMPLATE: list[Path] = []
EXECUTED_LECTURES: dict = {}
"""{lecture name: the notebook as tests/test_notebooks_execute.py executed it}, for tests/test_site.py."""


def _template() -> Path:
    """A course with this repo's config and masters, every problem set released (once per run)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="course-template-"))
        atexit.register(shutil.rmtree, folder, True)
        shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions", folder / "solutions")
        run = subprocess.run([sys.executable, "-m", "autograder", "release"], cwd=folder, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        _TEMPLATE.append(folder)
    return _TEMPLATE[0]


def make_course(folder: Path, released: bool = True) -> Path:
    """A course folder with this repo's config and masters, the committed releases and (by default)
    a gradebook that knows them, as after `python -m autograder release`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", folder / "solutions")
    shutil.copytree(REPO / "assignments", folder / "assignments")
    if released:
        shutil.copy(_template() / "gradebook.db", folder / "gradebook.db")
    return folder


def submit(course_root: Path, problem_set: str, student: str, notebook) -> Path:
    """Put a submission where nbgrader's collect would: submitted/<student>/<ps>/<ps>.ipynb."""
    folder = course_root / "submitted" / student / problem_set
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{problem_set}.ipynb"
    if isinstance(notebook, bytes):
        path.write_bytes(notebook)
    else:
        nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def template() -> Path:
    return _template()


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def notebooks():
    """(master, release) notebooks of each problem set."""
    from autograder.registry import PROBLEM_SET_NAMES

    return {name: (read(REPO / "solutions" / name / f"{name}.ipynb"),
                   read(REPO / "assignments" / name / f"{name}.ipynb")) for name in PROBLEM_SET_NAMES}
