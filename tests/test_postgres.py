"""The gradebook on a real PostgreSQL server, not only SQLite.

A throw-away cluster (Debian's ``postgresql``: initdb in a temporary folder, as the ``postgres`` user when the suite
runs as root) listens on a free loopback port for this module and is stopped by its PID at the end. Each test gets
its own database. On it: release, collect (with the roster), autograde with two parallel jobs, a late penalty,
the LMS exports, and Formgrader's listing through `make lab`. Where PostgreSQL or psycopg is missing the tests skip
and say so (`.ci/run` installs ``postgresql`` with apt when it runs as root).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from conftest import formgrader_assignments, free_port, make_course, start_lab, stop_group

from autograder import instructor
from autograder.instructor import lms
from autograder.authoring import samples
from autograder.config import Course
from autograder.student.lab import gradebook_state

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[postgres]')")


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> list[str]:
    """As root, the server runs as the ``postgres`` account (initdb refuses root); otherwise as this user."""
    if os.geteuid() != 0:
        return []
    return [shutil.which("setpriv") or "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


@pytest.fixture(scope="module")
def server():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it as root)")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account to run the server as")
    base = Path(tempfile.mkdtemp(prefix="dlc-postgres-"))
    if os.geteuid() == 0:
        os.chown(base, account.pw_uid, account.pw_gid)
    data, log = base / "data", base / "server.log"
    init = subprocess.run([*_as_postgres(), str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--no-locale"], capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen([*_as_postgres(), str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                                    "-k", str(base), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                    "-c", "max_connections=60"],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", connect_timeout=5).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"PostgreSQL did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield {"port": port, "pid": process.pid}
    finally:
        process.send_signal(signal.SIGINT)                      # fast shutdown, by the PID we started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def course(server, tmp_path, request):
    """A course whose gradebook is a fresh PostgreSQL database (nothing released yet)."""
    name = "dlc_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40]
    with psycopg.connect(f"host=127.0.0.1 port={server['port']} user=postgres dbname=postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    root = make_course(tmp_path / "course", released=False)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{server['port']}/{name}"
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f'\nc.CourseDirectory.db_url = "{url}"\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    (root / "roster.csv").write_text("id,first_name,last_name,email\nalice,Alice,A,alice@example.org\n"
                                     "bob,Bob,B,bob@example.org\ncarol,Carol,C,carol@example.org\n"
                                     "dave,Dave,D,dave@example.org\n")
    course = Course.load(root)
    assert course.db_url == url
    return course


def test_the_whole_cycle_on_postgresql(course, notebooks):
    for name in ("ps1", "ps2"):
        instructor.release(course, name)
    assert not (course.root / "gradebook.db").exists()                     # nothing fell back to SQLite
    with psycopg.connect(course.db_url.replace("postgresql+psycopg", "postgresql")) as db:
        tables = {row[0] for row in db.execute("select tablename from pg_tables where schemaname = 'public'")}
        assert {"assignment", "grade_cells", "alembic_version"} <= tables
        assert db.execute("select name from assignment order by name").fetchall() == [("ps1",), ("ps2",)]

    master, release = notebooks["ps1"]
    full = samples.full_solution(master, release)
    wrong = samples.with_mutant(master, release, "predict", *samples.mutants("ps1")["predict"][0][1:])
    inbox = course.root / "inbox"
    for student, notebook in (("alice", full), ("bob", wrong), ("carol", full)):
        (inbox / student).mkdir(parents=True)
        nbformat.write(notebook, inbox / student / "ps1.ipynb")
    later = (datetime.now(timezone.utc) + timedelta(days=2)).timestamp()
    os.utime(inbox / "carol" / "ps1.ipynb", (later, later))                # handed in after the due date
    due = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        gb.update_or_create_assignment("ps1", duedate=due)
    report = instructor.collect(course, "ps1", inbox, log=lambda line: None)
    assert report["collected"] == ["alice", "bob", "carol"] and report["missing"] == ["dave"]

    run = instructor.autograde(course, "ps1", jobs=2, log=lambda line: None)
    assert not run.grader_errors
    assert {s: r.score for s, r in run.items()} == {"alice": 10, "bob": 9, "carol": 10}
    with Gradebook(course.db_url, course.course_id) as gb:
        late = gb.find_submission("ps1", "carol")
        assert late.total_seconds_late > 0 and late.late_submission_penalty == late.score == 10
        assert gb.find_submission("ps1", "alice").late_submission_penalty in (None, 0)

    table = lms.read_table(course, ["ps1"])
    assert {s: table.scores[s]["ps1"] for s in table.scores} == {"alice": 10, "bob": 9, "carol": 0, "dave": 0}
    path = lms.export(course, "canvas", course.root / "grades-canvas.csv", ["ps1"], log=lambda line: None)
    rows = {line.split(",")[-3]: line.split(",")[-1] for line in path.read_text().splitlines()[2:]}
    assert rows == {"alice": "10", "bob": "9", "carol": "0", "dave": "0"}

    # Formgrader lists the problem sets and the submissions from PostgreSQL, through `python -m autograder lab`
    port, token, log = free_port(), "pg-token", course.root / "lab.log"
    lab = start_lab(course.root, course.root, port, token, log)
    try:
        listed = formgrader_assignments(port, token, lab, log)
        assert {"ps1", "ps2"} <= set(listed) and listed["ps1"]["num_submissions"] == 3, listed.get("ps1")
    finally:
        stop_group(lab)
    assert gradebook_state(course.root / "gradebook.db") == "missing"
