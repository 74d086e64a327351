"""`export --format canvas|moodle|csv`: hand-graded points included, late penalties applied, 0 for a student on the
roster who submitted nothing, and a student the roster does not know reported (never silently dropped)."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
import warnings

import pytest
from conftest import make_course
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.instructor import lms
from autograder.config import Course
from autograder.errors import UserError
from autograder.registry import get_problem_set

ROSTER = ("id,first_name,last_name,email,section,sis_user_id\n"
          "ada,Ada,Lovelace,ada@example.org,A1,S-001\n"
          "bob,Bob,Babbage,bob@example.org,A2,\n"
          "fay,Fay,Nothing,fay@example.org,A1,S-003\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """ps1 and ps2 released; ada: all auto points of ps1 and 1.5 hand-graded points, and ps2 late (a penalty);
    bob: 3 auto points of ps1, his written answers not graded yet; fay: nothing; zed: in the gradebook, not on the
    roster."""
    root = make_course(tmp_path_factory.mktemp("export") / "course")
    (root / "roster.csv").write_text(ROSTER)
    course = Course.load(root)
    ps1, ps2 = get_problem_set("ps1"), get_problem_set("ps2")
    with warnings.catch_warnings(), Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore", SAWarning)   # nbgrader's add_submission autoflushes; harmless
        for student, first, last, email in [("ada", "Ada", "Lovelace", "ada@example.org"),
                                            ("bob", "Bob", "Babbage", "bob@example.org"),
                                            ("fay", "Fay", "Nothing", "fay@example.org"), ("zed", "Zed", "", "")]:
            gb.update_or_create_student(student, first_name=first, last_name=last, email=email)

        def submit(ps, student, auto: dict[str, float], manual: dict[str, float]):
            gb.add_submission(ps.name, student)
            notebook = gb.find_submission_notebook(ps.name, ps.name, student)
            for grade in notebook.grades:
                grade.auto_score = auto.get(grade.name, 0.0 if grade.name.startswith("test_") else None)
                grade.manual_score = manual.get(grade.name)
                grade.needs_manual_grade = grade.auto_score is None and grade.manual_score is None
            return notebook

        submit(ps1, "ada", {fn.test_grade_id: fn.points for fn in ps1.functions}, {"q_bound": 1.5, "q_xor": 0.0})
        late = submit(ps2, "ada", {fn.test_grade_id: fn.points for fn in ps2.functions}, {})
        late.late_submission_penalty = 2.0
        submit(ps1, "bob", {"test_train_perceptron": 3.0}, {})
        submit(ps1, "zed", {"test_predict": 1.0}, {})
        gb.db.commit()
    return course


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_table_has_hand_graded_points_penalties_and_zeros(course):
    table = lms.read_table(course, ["ps1", "ps2"])
    ps1, ps2 = get_problem_set("ps1"), get_problem_set("ps2")
    assert table.scores["ada"]["ps1"] == ps1.total_points + 1.5
    assert table.scores["ada"]["ps2"] == ps2.total_points - 2.0 and table.late["ada"] == {"ps2": 2.0}
    assert table.scores["bob"] == {"ps1": 3.0, "ps2": 0.0} and table.awaiting["bob"] == ["ps1"]
    assert table.scores["fay"] == {"ps1": 0.0, "ps2": 0.0}
    assert table.unknown == ["zed"]
    assert table.points_possible["ps1"] == ps1.total_points + 4       # two written questions, 2 points each


def test_canvas_follows_its_gradebook_import_columns(course, tmp_path):
    lines = []
    path = lms.export(course, "canvas", tmp_path / "canvas.csv", ["ps1", "ps2"], log=lines.append)
    table = rows(path.read_text())
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps1", "ps2"]
    possible = lms.read_table(course, ["ps1", "ps2"]).points_possible
    assert table[1][0].strip() == "Points Possible" and table[1][1:5] == ["", "", "", ""]
    assert table[1][5:] == ["14", f"{possible['ps2']:g}"]
    by_login = {row[3]: row for row in table[2:]}
    assert set(by_login) == {"ada", "bob", "fay"}                       # zed is not on the roster: not in the file
    assert by_login["ada"][:5] == ["Lovelace, Ada", "", "S-001", "ada", "A1"]
    assert by_login["fay"][5:] == ["0", "0"] and by_login["bob"][5:] == ["3", "0"]
    assert any("zed" in line and "NOT in the file" in line for line in lines), lines
    assert any("bob (ps1)" in line for line in lines), lines


def test_moodle_is_matched_on_email(course, tmp_path):
    path = lms.export(course, "moodle", tmp_path / "moodle.csv", ["ps1"], log=lambda line: None)
    table = rows(path.read_text())
    assert table[0] == ["First name", "Last name", "ID number", "Email address", "ps1"]
    assert {row[3]: row[4] for row in table[1:]} == {"ada@example.org": f"{get_problem_set('ps1').total_points + 1.5:g}",
                                                     "bob@example.org": "3", "fay@example.org": "0"}


def test_plain_csv_keeps_the_unknown_student_marked(course, tmp_path):
    path = lms.export(course, "csv", tmp_path / "grades.csv", ["ps1"], log=lambda line: None)
    table = rows(path.read_text())
    assert table[0] == ["student_id", "first_name", "last_name", "email", "on_roster", "ps1", "total"]
    by_id = {row[0]: row for row in table[1:]}
    assert by_id["zed"][4:] == ["no", "1", "1"] and by_id["fay"][4:] == ["yes", "0", "0"]
    assert by_id["points_possible"][5] == "14"


def test_the_cli_and_its_errors(course, tmp_path):
    run = subprocess.run([sys.executable, "-m", "autograder", "export", "--format", "canvas", "--to",
                          str(tmp_path / "c.csv"), "ps1"], cwd=course.root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "c.csv").read_text().startswith("Student,ID,SIS User ID")
    with pytest.raises(UserError, match="release it first"):
        lms.read_table(course, ["ps9"])
    bare = Course.load(make_course(tmp_path / "bare"))
    with pytest.raises(UserError, match="no roster.csv"):
        lms.export(bare, "moodle", tmp_path / "m.csv", log=lambda line: None)
