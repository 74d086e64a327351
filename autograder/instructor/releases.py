"""``release``: the student version of a problem set, generated from its master and put in the exchange."""
from __future__ import annotations

from pathlib import Path

from autograder.config import Course
from autograder.errors import UserError
from autograder.instructor.common import exchange_root, nbgrader
from autograder.registry import get_problem_set


def release(course: Course, problem_set: str) -> Path:
    """Generate the student version of ``problem_set`` from its master (nbgrader generate_assignment, with the
    registry's points and budgets written in by the release plugin) and release it into the exchange."""
    get_problem_set(problem_set)
    if not course.master(problem_set).exists():
        raise UserError(f"no master notebook at {course.master(problem_set)}")
    nbgrader(course, "generate_assignment", problem_set, "--force")
    release_to_exchange(course, problem_set)
    return course.released(problem_set)


def release_to_exchange(course: Course, problem_set: str) -> None:
    """Release the student version into the exchange (nbgrader release_assignment), for the Assignment List.
    A course-local exchange is made here; a shared one must exist, writable by everyone (nbgrader's rule)."""
    root = exchange_root(course)
    if not root.is_relative_to(course.root) and not root.is_dir():
        raise UserError(f"the exchange folder {root} (c.Exchange.root) does not exist: create it, writable by every "
                        f"user of the server (e.g. sudo mkdir -p {root} && sudo chmod 777 {root})")
    root.mkdir(parents=True, exist_ok=True)
    nbgrader(course, "release_assignment", problem_set, "--force")
