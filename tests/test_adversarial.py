"""Hardened grading: the adversarial corpus, graded through the real CLI.

Every attack scores no more than the untouched release, honest grades are identical
before and after the corpus, no process survives, the grader never crashes, and the
gradebook and masters are untouched.
"""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading

import pytest

from adversarial import ATTACKS, FILE_ATTACKS, NOTEBOOK_ATTACKS, notebook_attack
from autograder import pipeline, samples
from autograder.course import Course
from autograder.grading import isolation
from conftest import make_course, submit

PS = "ps1"
SETUP_S, FUNCTION_S = 10, 6
SANDBOX = isolation.detect(os.environ.get("AUTOGRADER_SANDBOX", "auto"))
NEEDS_HIDING = {"read_master", "read_gradebook", "hidden_import"}
# Without any sandbox (rlimits only, see the README's security section) these attacks succeed
# or harm the machine running the tests, so they are only tried where a sandbox exists.
NEEDS_SANDBOX = NEEDS_HIDING | {"write_gradebook", "fork_bomb"}
TRIED = {name: attack for name, attack in ATTACKS.items() if SANDBOX.mode != "rlimits" or name not in NEEDS_SANDBOX}


class Listener:
    """A TCP server on loopback that counts the connections it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.server.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        self.server.close()


def cli(root, *args, timeout=900):
    run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=root, capture_output=True, text=True,
                         timeout=timeout)
    return run


def sandbox_processes() -> list[int]:
    """Processes of the sandbox user or carrying a grading marker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
            with open(f"/proc/{entry}/environ", "rb") as f:
                marked = b"AUTOGRADER_JOB=" in f.read()
        except (OSError, StopIteration):
            continue
        if uid == isolation.NOBODY or marked:
            found.append(int(entry))
    return found


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, notebooks):
    root = make_course(tmp_path_factory.mktemp("hostile"))
    with open(root / "nbgrader_config.py", "a") as f:
        # short enough that the sleeping and looping attacks end soon, long enough (about 30 times what
        # an honest ps1 run needs) that a busy 2-core machine never turns an honest run into a timeout
        f.write(f"\nc.Harness.setup_s = {SETUP_S}\nc.Harness.function_s = {FUNCTION_S}\n")
    master, release = notebooks[PS]
    honest = {
        "honest_full": samples.full_solution(master, release),
        "honest_partial": samples.with_mutant(master, release, "train_perceptron",
                                              *samples.mutants(PS)["train_perceptron"][1][1:]),
    }
    for student, nb in honest.items():
        submit(root, PS, student, nb)
    first = cli(root, "autograde", PS)
    assert first.returncode == 0, first.stderr
    course = Course.load(root)
    before = pipeline.table(course, PS)[1]
    protected = {p: digest(p) for p in [root / "solutions" / PS / f"{PS}.ipynb", root / "nbgrader_config.py"]}

    listener = Listener()
    students = []
    for name, (function, source) in TRIED.items():
        source = source.replace("{course}", str(root)).replace("{port}", str(listener.port))
        submit(root, PS, f"code_{name}", samples.fill(release, {function: source}))
        submit(root, PS, f"mixed_{name}", samples.with_alternative(master, release, function, source))
        students += [f"code_{name}", f"mixed_{name}"]
    for name in NOTEBOOK_ATTACKS:
        submit(root, PS, f"structure_{name}", notebook_attack(release, name))
        students.append(f"structure_{name}")
    for name, data in FILE_ATTACKS.items():
        submit(root, PS, f"file_{name}", data)
        students.append(f"file_{name}")
    run = cli(root, "autograde", PS, *[arg for s in students for arg in ("--student", s)])
    listener.close()
    again = cli(root, "autograde", PS, "--student", "honest_full", "--student", "honest_partial")
    after = pipeline.table(course, PS)[1]
    return {"root": root, "course": course, "run": run, "again": again, "before": before, "after": after,
            "listener": listener, "protected": protected, "students": students}


def total(table, student):
    return sum(v or 0 for k, v in table[student].items() if k.startswith("test_"))


def test_the_grader_never_crashes_and_grades_everyone(corpus):
    assert corpus["run"].returncode == 0, corpus["run"].stderr[-3000:]
    assert corpus["again"].returncode == 0
    course = corpus["course"]
    for student in corpus["students"]:
        assert (course.autograded / student / PS / f"{PS}.ipynb").exists(), student
        assert student in corpus["after"], student


def test_no_attack_scores_above_the_untouched_release(corpus):
    release_score = 0
    above = []
    for student in corpus["students"]:
        name = student.split("_", 1)[1]
        if student.startswith("mixed_"):
            continue
        if name in NEEDS_HIDING and not SANDBOX.hides_files:
            continue
        if total(corpus["after"], student) > release_score:
            above.append(student)
    tried = [s for s in corpus["students"] if not s.startswith("mixed_")]
    print(f"\n{len(tried)} attacks tried with isolation '{SANDBOX.mode}'; {len(above)} scored above the release")
    assert above == []


def test_attacks_only_cost_their_own_function(corpus):
    """On an otherwise full solution, the attacked function gets 0 and the others keep their points
    (except where the attack kills the process before any function runs)."""
    kills_everything = {"exit_at_top_level", "loop_at_top_level", "fake_results_file"}  # sabotage their own results
    for name, (function, _) in TRIED.items():
        row = {k.removeprefix("test_"): v for k, v in corpus["after"][f"mixed_{name}"].items() if k.startswith("test_")}
        if name in NEEDS_HIDING and not SANDBOX.hides_files:
            continue
        assert row[function] == 0, name
        if name not in kills_everything:
            assert sum(row.values()) == 9, (name, row)


def test_honest_grades_identical_before_and_after(corpus):
    for student in ("honest_full", "honest_partial"):
        assert corpus["before"][student] == corpus["after"][student]
    assert total(corpus["after"], "honest_full") == 10 and total(corpus["after"], "honest_partial") == 7


def test_no_process_survives(corpus):
    assert sandbox_processes() == []


def test_masters_config_and_gradebook_untouched(corpus):
    for path, value in corpus["protected"].items():
        assert digest(path) == value, path
    import sqlite3

    db = sqlite3.connect(corpus["root"] / "gradebook.db")
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)


@pytest.mark.skipif(SANDBOX.mode == "rlimits", reason="no network namespace without a sandbox")
def test_no_network_connection_got_out(corpus):
    assert corpus["listener"].connections == 0


@pytest.mark.skipif(not SANDBOX.hides_files, reason="only bubblewrap hides the course folder")
def test_the_course_folder_is_invisible(corpus):
    course = corpus["course"]
    report = (course.autograded / "code_read_master" / PS / "autograder_report.json").read_text()
    assert "No such file or directory" in report


def test_limits_and_policy_are_named_in_the_feedback(corpus):
    course = corpus["course"]
    messages = lambda s: (course.autograded / s / PS / "autograder_report.json").read_text()
    assert f"timed out after {FUNCTION_S} s" in messages("code_sleep")
    assert f"timed out after {SETUP_S} s" in messages("code_loop_at_top_level")
    assert "NumPy only" in messages("code_import_torch")
    assert "not valid JSON" in messages("file_invalid_json")
    assert "limit" in messages("file_oversized")
