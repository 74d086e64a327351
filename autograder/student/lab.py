"""`make lab`: JupyterLab on the course, on a fresh clone, for a student or an instructor, as root or not.

What a plain `jupyter lab` got wrong here, and what this does instead:

- nbgrader runs ``alembic`` as a program when it makes the gradebook. Without the venv's ``bin`` on PATH that
  fails half-way: Formgrader's first request returns 500 and leaves a ``gradebook.db`` with nbgrader's tables but
  no ``alembic_version``, on which ``nbgrader db upgrade`` then fails ("duplicate column name"). The venv's
  ``bin`` goes first on PATH; the gradebook is made (or checked) before the server starts; a gradebook left
  damaged by such a start is detected, and ``--repair-gradebook`` repairs it (it records the schema version
  nbgrader would have recorded; no row is touched).
- As root (a container, a VM) JupyterLab refuses to start without ``--allow-root``: it is added.
- Opening a lecture or the release in place let autosave write outputs into tracked files, and Validate
  rewrite the committed release. Students work in ``work/`` (git-ignored): it receives a copy of every lecture
  and every problem set's release the first time, never overwriting what is there, and JupyterLab opens on it.
- The Assignment List said "Error fetching courses!": it reloads nbgrader's configuration inside the students'
  folder (``Exchange.assignment_dir``), which had none. ``work/nbgrader_config.py`` loads the course's, whose
  exchange paths are absolute.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

from autograder.config import Course

WORK = "work"


class GradebookDamaged(RuntimeError):
    pass


def sqlite_path(db_url: str) -> Path | None:
    return Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None


def gradebook_state(path: Path) -> str:
    """"missing", "ok" or "damaged" (nbgrader's tables without the alembic_version that a complete start writes)."""
    if not path.exists():
        return "missing"
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
    if tables and "alembic_version" not in tables:
        return "damaged"
    return "ok"


def venv_env() -> dict[str, str]:
    """The environment with this Python's ``bin`` first on PATH (alembic, nbgrader and jupyter live there)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def repair_gradebook(path: Path) -> str:
    """Record the schema version nbgrader records when it makes a gradebook (the tables are already that schema)."""
    from nbgrader.api import get_alembic_version

    os.environ["PATH"] = venv_env()["PATH"]
    version = get_alembic_version()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
    return version


def ensure_gradebook(course: Course, repair: bool = False, log=print) -> None:
    """Make the gradebook if there is none (so that Formgrader's first visit finds one), or check it."""
    path = sqlite_path(course.db_url)
    if path is None:  # PostgreSQL: nbgrader's own tools manage it
        return
    state = gradebook_state(path)
    if state == "damaged" and repair:
        log(f"repaired {path}: recorded schema version {repair_gradebook(path)}")
    elif state == "damaged":
        raise GradebookDamaged(
            f"{path} was left half-made by an earlier start of JupyterLab that could not run 'alembic' (nbgrader's "
            f"tables are there, its schema version is not), and nbgrader cannot upgrade it. Nothing in it is lost: "
            f"repair it with\n    make lab ARGS=--repair-gradebook\n(or: python -m autograder lab --repair-gradebook)")
    elif state == "missing":
        from nbgrader.api import Gradebook

        os.environ["PATH"] = venv_env()["PATH"]
        Gradebook(course.db_url, course.course_id).close()
        log(f"made the gradebook {path}")


def student_copies(course: Course, log=print) -> list[Path]:
    """Copy every lecture and every problem set's release into work/ (git-ignored), leaving existing files alone."""
    made = []
    sources = [(p, Path(WORK) / "course" / p.name) for p in sorted((course.root / "course").glob("*.ipynb"))]
    sources += [(p, Path(WORK) / p.parent.name / p.name) for p in sorted(course.release.glob("*/*.ipynb"))]
    for source, relative in sources:
        target = course.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            made.append(target)
    if made:
        log(f"copied {len(made)} notebook(s) into {WORK}/: students work there, never on the tracked files")
    return made


STUDENT_CONFIG = """\
# Written by `make lab` (git-ignored, rewritten on each start). JupyterLab's Assignment List reads nbgrader's
# configuration again from inside the students' folder, so this file loads the course's own.
from pathlib import Path

load_subconfig("nbgrader_config.py", path=str(Path(__file__).resolve().parent.parent))
"""


def student_config(course: Course) -> Path:
    """work/nbgrader_config.py, which loads the course's configuration: without it the Assignment List, which
    reloads its configuration inside the students' folder, finds no exchange ("Error fetching courses!")."""
    path = course.root / WORK / "nbgrader_config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != STUDENT_CONFIG:
        path.write_text(STUDENT_CONFIG)
    return path


def lab_command(course: Course, port: int | None = None, browser: bool = True, extra=()) -> list[str]:
    argv = [str(Path(sys.executable).parent / "jupyter"), "lab", f"--ServerApp.root_dir={course.root}",
            f"--ServerApp.default_url=/lab/tree/{WORK}"]
    if port:
        argv.append(f"--port={port}")
    if not browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    return argv + list(extra)


def run_lab(args) -> int:
    course = Course.load()
    try:
        if getattr(args, "gradebook", True):  # the student edition has no gradebook to make
            ensure_gradebook(course, repair=args.repair_gradebook)
    except GradebookDamaged as error:
        print(error, file=sys.stderr)
        return 2
    student_copies(course)
    student_config(course)
    argv = lab_command(course, args.port, browser=not args.no_browser, extra=args.extra)
    print(" ".join(argv))
    os.chdir(course.root)
    os.execve(argv[0], argv, venv_env())
