"""``feedback`` and the grade table: what the students get back, and what the instructor reads."""
from __future__ import annotations

from pathlib import Path

from autograder.config import Course
from autograder.instructor import gradebook
from autograder.instructor.common import nbgrader
from autograder.registry import get_problem_set


def feedback(course: Course, problem_set: str) -> Path:
    nbgrader(course, "generate_feedback", problem_set, "--force")
    return course.feedback


def table(course: Course, problem_set: str) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Columns (graded functions, then hand-graded questions) and each student's points."""
    from nbgrader.api import Gradebook

    ps = get_problem_set(problem_set)
    scores = gradebook.scores(course.db_url, course.course_id, problem_set, problem_set)
    with Gradebook(course.db_url, course.course_id) as gb:
        notebook = gb.find_notebook(problem_set, problem_set)
        manual = [g.name for g in notebook.grade_cells if not g.name.startswith("test_")]
    columns = [fn.test_grade_id for fn in ps.functions] + manual
    return columns, scores


def format_table(course: Course, problem_set: str, max_width: int = 120) -> str:
    """Students x graded functions (then the hand-graded questions) with points; columns are
    numbered, with a legend, when the names would not fit in ``max_width``."""
    ps = get_problem_set(problem_set)
    columns, scores = table(course, problem_set)
    points = {fn.test_grade_id: fn.points for fn in ps.functions}
    for student in course.students():
        scores.setdefault(student, {})
    names = [c.removeprefix("test_") for c in columns]
    width = max([7] + [len(s) for s in scores])
    legend = []
    heads = names
    if width + sum(len(h) + 2 for h in heads) + 7 > max_width:
        heads = [f"#{i + 1}" for i in range(len(names))]
        legend = [f"  {h:>4} {n}" for h, n in zip(heads, names)]
    if any(v is None for row in scores.values() for v in row.values()):
        legend.append("  (? = awaits a grader in the formgrader)")
    heads = [h.rjust(max(len(h), 4)) for h in heads]
    lines = legend + [f"{'student':<{width}}  " + "  ".join(heads) + "  total"]
    for student, row in sorted(scores.items()):
        if not row:
            lines.append(f"{student:<{width}}  (no submission)")
            continue
        cells = []
        for column, head in zip(columns, heads):
            score = row.get(column)
            text = "?" if score is None else f"{score:g}"
            if column in points:
                text = f"{text}/{points[column]}"
            cells.append(f"{text:>{len(head)}}")
        total = sum(v for v in row.values() if v is not None)
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {total:g}")
    return "\n".join(lines)
