"""Collecting submissions: clear messages for user errors, and nothing is ever lost."""
import zipfile

import nbformat
import pytest

from autograder import instructor
from autograder.errors import UserError
from autograder.instructor import collection
from autograder.authoring import samples
from autograder.config import Course
from conftest import make_course


@pytest.fixture
def course(tmp_path):
    root = make_course(tmp_path / "course")
    (root / "roster.csv").write_text("id,first_name,last_name,email\nalice,A,L,a@x\nbob,B,M,b@x\ncarol,C,N,c@x\n")
    return Course.load(root)


def _nb_bytes(notebooks, full=True):
    master, release = notebooks["ps1"]
    return nbformat.writes(samples.full_solution(master, release) if full else release).encode()


def test_collect_from_a_folder_reports_unknown_missing_and_corrupt(course, tmp_path, notebooks):
    inbox = tmp_path / "inbox"
    (inbox / "alice").mkdir(parents=True)
    (inbox / "alice" / "ps1.ipynb").write_bytes(_nb_bytes(notebooks))
    (inbox / "mallory.ipynb").write_bytes(_nb_bytes(notebooks))
    (inbox / "bob_ps1.ipynb").write_bytes(b"{not json")
    report = instructor.collect(course, "ps1", inbox, log=lambda *_: None)
    assert report["collected"] == ["alice", "bob"]
    assert report["missing"] == ["carol"]
    assert any("unknown student 'mallory'" in e for e in report["errors"])
    assert any("bob" in e and "not valid JSON" in e for e in report["errors"])
    assert (course.submitted / "alice" / "ps1" / "timestamp.txt").exists()


def test_collect_from_a_zip_and_recollect_keeps_the_old_copy(course, tmp_path, notebooks):
    archive = tmp_path / "subs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/ps1.ipynb", _nb_bytes(notebooks, full=False))
        z.writestr("__MACOSX/alice/._ps1.ipynb", b"junk")
    assert instructor.collect(course, "ps1", archive, log=lambda *_: None)["collected"] == ["alice"]
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/ps1.ipynb", _nb_bytes(notebooks, full=True))
    instructor.collect(course, "ps1", archive, log=lambda *_: None)
    kept = list((course.root / "archive" / "submitted" / "alice" / "ps1").glob("*/ps1.ipynb"))
    assert len(kept) == 1 and kept[0].read_bytes() == _nb_bytes(notebooks, full=False)
    again = instructor.collect(course, "ps1", archive, log=lambda *_: None)
    assert again["unchanged"] == ["alice"]


def test_collect_refuses_oversized_and_ambiguous(course, tmp_path, notebooks, monkeypatch):
    inbox = tmp_path / "inbox"
    (inbox / "alice").mkdir(parents=True)
    (inbox / "alice" / "a.ipynb").write_bytes(_nb_bytes(notebooks))
    (inbox / "alice" / "b.ipynb").write_bytes(_nb_bytes(notebooks))
    (inbox / "bob").mkdir()
    (inbox / "bob" / "ps1.ipynb").write_bytes(b" " * 2048)
    monkeypatch.setattr(collection, "MAX_NOTEBOOK_BYTES", 1024)
    report = instructor.collect(course, "ps1", inbox, log=lambda *_: None)
    assert report["collected"] == []
    assert any("several notebooks" in e for e in report["errors"])
    assert any("over the" in e for e in report["errors"])


def test_user_errors_are_clear(course, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        instructor.collect(course, "ps1", tmp_path / "nowhere")
    with pytest.raises(UserError, match="nothing to grade"):
        instructor.autograde(course, "ps1", log=lambda *_: None)
    with pytest.raises(KeyError, match="unknown problem set"):
        instructor.autograde(course, "ps9", log=lambda *_: None)


def test_broken_submissions_score_zero_and_the_rest_is_graded(course, notebooks):
    from conftest import submit

    submit(course.root, "ps1", "alice", _nb_bytes(notebooks))
    submit(course.root, "ps1", "bob", b"")
    submit(course.root, "ps1", "carol", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (course.submitted / "dave" / "ps1").mkdir(parents=True)  # a folder without a notebook
    before = {p: p.read_bytes() for p in course.submitted.rglob("*.ipynb")}
    results = instructor.autograde(course, "ps1", log=lambda *_: None)
    _, table = instructor.table(course, "ps1")
    auto = lambda s: sum(v or 0 for k, v in table[s].items() if k.startswith("test_"))
    assert auto("alice") == 10 and auto("bob") == 0 and auto("carol") == 0 and auto("dave") == 0
    assert results["bob"] is None
    assert {p: p.read_bytes() for p in course.submitted.rglob("*.ipynb")} == before, "submissions are never modified"
    graded = nbformat.read(course.autograded / "bob" / "ps1" / "ps1.ipynb", as_version=4)
    assert "is empty" in graded.cells[0].source


def test_late_penalty_follows_nbgraders_plugin(course, notebooks):
    """A due date and c.LateSubmissionPlugin.penalty_method = "zero": a late submission's score becomes 0."""
    from nbgrader.api import Gradebook

    from conftest import submit

    with open(course.root / "nbgrader_config.py", "a") as f:
        f.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    course = Course.load(course.root)
    for student, when in (("alice", "2026-01-01 09:00:00.000000 UTC"), ("bob", "2026-01-03 09:00:00.000000 UTC")):
        submit(course.root, "ps1", student, _nb_bytes(notebooks))
        (course.submitted / student / "ps1" / "timestamp.txt").write_text(when)
    instructor.release(course, "ps1")
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_assignment("ps1", duedate="2026-01-02 00:00:00.000000 UTC")
    instructor.autograde(course, "ps1", log=lambda *_: None)
    with Gradebook(course.db_url, course.course_id) as gb:
        on_time = gb.find_submission("ps1", "alice")
        late = gb.find_submission("ps1", "bob")
        assert on_time.late_submission_penalty in (None, 0) and on_time.score == 10
        assert late.total_seconds_late > 0 and late.late_submission_penalty == late.score == 10


def test_autograde_never_regenerates_a_missing_release(tmp_path, notebooks):
    """A gradebook that does not know the release: autograde says so and names the command; it changes nothing."""
    from conftest import submit

    root = make_course(tmp_path / "unreleased", released=False)
    master, release = notebooks["ps1"]
    submit(root, "ps1", "alice", samples.full_solution(master, release))
    course = Course.load(root)
    before = (root / "assignments" / "ps1" / "ps1.ipynb").read_bytes()
    with pytest.raises(UserError, match=r"`python -m autograder release ps1`"):
        instructor.autograde(course, "ps1", log=lambda *_: None)
    assert (root / "assignments" / "ps1" / "ps1.ipynb").read_bytes() == before
    assert not (root / "autograded").exists()
