"""What the instructor's commands share: running nbgrader, student ids, the course's submissions and releases."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from autograder.config import Course
from autograder.errors import UserError
from autograder.instructor import gradebook
from autograder.registry import get_problem_set

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def nbgrader(course: Course, *args: str, quiet: bool = True) -> None:
    """Run an nbgrader command in the course directory, with this venv's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0 or (not quiet):
        sys.stderr.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise UserError(f"nbgrader {' '.join(args)} failed (exit code {result.returncode}); its log is above")


def timestamp_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def exchange_root(course: Course) -> Path:
    """The nbgrader exchange's folder (``c.Exchange.root``; a relative one is in the course folder)."""
    root = Path(course.config.get("Exchange", {}).get("root", "/usr/local/share/nbgrader/exchange"))
    return root if root.is_absolute() else course.root / root


def check_released(course: Course, problem_set: str) -> None:
    """The gradebook must know the release, with the registry's points (they are written into the
    release by ``release``); otherwise say which command fixes it. Nothing is regenerated here."""
    ps = get_problem_set(problem_set)
    known = gradebook.max_points(course.db_url, course.course_id, problem_set, problem_set)
    command = f"python -m autograder release {problem_set}"
    if known is None:
        raise UserError(f"{problem_set} is not in the gradebook ({course.db_url}): release it first with `{command}`")
    stale = [f"{fn.test_grade_id} ({known.get(fn.test_grade_id, 'missing')} instead of {fn.points})"
             for fn in ps.functions if known.get(fn.test_grade_id) != fn.points]
    if stale:
        raise UserError(f"the gradebook's {problem_set} has points from another release: {', '.join(stale)}. "
                        f"Release it again with `{command}` (and commit assignments/)")


def submissions(course: Course, problem_set: str) -> list[str]:
    if not course.submitted.exists():
        return []
    return sorted(p.parent.name for p in course.submitted.glob(f"*/{problem_set}") if p.is_dir())
