"""Recording verdicts in nbgrader's gradebook, the way nbgrader's own autograde does.

The auto scores are the grader's verdicts (the registry's points for a function that passed);
hand-graded answers are left to nbgrader's formgrader. nbgrader's own tools (formgrader,
feedback, ``nbgrader export``) see ordinary records.
"""
from __future__ import annotations

import warnings

from nbgrader import utils
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.grading.notebooks import nbgrader_meta


def record(db_url: str, course_id: str, problem_set: str, notebook_id: str, student: str,
           autograded_nb, timestamp: str | None, auto_scores: dict[str, float], gb: Gradebook | None = None) -> None:
    """Record one submission. The auto scores come from the grader's verdicts (``auto_scores``:
    test cell grade_id -> points), never from the notebook; hand-graded cells await a grader. ``gb``: a gradebook
    already open (a grading run keeps one for all its submissions: opening one costs tens of milliseconds)."""
    if gb is None:
        with Gradebook(db_url, course_id) as opened:
            return record(db_url, course_id, problem_set, notebook_id, student, autograded_nb, timestamp,
                          auto_scores, gb=opened)
    with warnings.catch_warnings():
        # nbgrader's own add_submission triggers SQLAlchemy autoflush warnings; they are harmless
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(problem_set, student, **kwargs)
        for cell in autograded_nb.cells:
            meta = nbgrader_meta(cell)
            if not meta.get("grade_id"):
                continue
            if meta.get("grade"):
                grade = gb.find_grade(meta["grade_id"], notebook_id, problem_set, student)
                if meta["grade_id"] in auto_scores:
                    grade.auto_score = auto_scores[meta["grade_id"]]
                else:
                    grade.auto_score, _ = utils.determine_grade(cell)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            if meta.get("solution") or meta.get("task"):
                comment = gb.find_comment(meta["grade_id"], notebook_id, problem_set, student)
                unchanged = meta.get("checksum") == utils.compute_checksum(cell)
                comment.auto_comment = "No response." if unchanged and not meta.get("task") else None
        gb.db.commit()


def assign_late_penalty(config, db_url: str, problem_set: str, notebook_id: str, student: str, autograded_nb) -> None:
    """nbgrader's own late-penalty step, with the course's configured plugin
    (``c.LateSubmissionPlugin.penalty_method``, or ``c.AssignLatePenalties.plugin_class``)."""
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"notebook": notebook_id, "assignment": problem_set, "student": student, "db_url": db_url}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        AssignLatePenalties(config=config).preprocess(autograded_nb, resources)


def _score(grade) -> float | None:
    """The manual score if a grader gave one, else the autograder's; None while it awaits a grader."""
    if grade.manual_score is not None:
        return grade.manual_score
    return grade.auto_score


def scores(db_url: str, course_id: str, problem_set: str, notebook_id: str) -> dict[str, dict[str, float | None]]:
    """{student: {grade_id: score}} for every submission of ``problem_set`` (None: awaits a grader)."""
    table: dict[str, dict[str, float]] = {}
    with Gradebook(db_url, course_id) as gb:
        assignment = gb.find_assignment(problem_set)
        for submission in assignment.submissions:
            notebook = gb.find_submission_notebook(notebook_id, problem_set, submission.student.id)
            table[submission.student.id] = {g.name: _score(g) for g in notebook.grades}
    return table


def max_points(db_url: str, course_id: str, problem_set: str, notebook_id: str) -> dict[str, float] | None:
    """{grade_id: max points} of the released notebook as the gradebook knows it; None if not released."""
    from nbgrader.api import MissingEntry

    with Gradebook(db_url, course_id) as gb:
        try:
            notebook = gb.find_notebook(notebook_id, problem_set)
        except MissingEntry:
            return None
        return {cell.name: cell.max_score for cell in notebook.grade_cells}
