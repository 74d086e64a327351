"""Shared fixtures: a throw-away course folder made from the repository's own files."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
# nbgrader runs alembic as a program: this environment's tools must be on PATH
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def make_course(folder: Path) -> Path:
    """A course folder with this repo's config, masters and committed releases."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(REPO / "solutions", folder / "solutions")
    shutil.copytree(REPO / "assignments", folder / "assignments")
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


def read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="session")
def notebooks():
    """(master, release) notebooks of each problem set."""
    from autograder.registry import PROBLEM_SET_NAMES

    return {name: (read(REPO / "solutions" / name / f"{name}.ipynb"),
                   read(REPO / "assignments" / name / f"{name}.ipynb")) for name in PROBLEM_SET_NAMES}
