"""Hardened grading: the adversarial corpus, graded through the real CLI.

Every attack scores no more than the untouched release, honest grades are identical
before and after the corpus, no process survives, the grader never crashes, and the
gradebook and masters are untouched. The attacks on the trusted side itself (forged
progress lines, deeply nested JSON, a compressed-array bomb, sources the import scan
cannot parse, a deeply nested notebook) are each checked for what they used to do: a
run far past its budget, a RecursionError or MemoryError in the grader, a 400 MB
allocation in the grading process. Nothing the sandbox could read (the gradebook, the
masters) may appear in what the grader writes back.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

import autograder
from adversarial import ATTACKS, FILE_ATTACKS, NOTEBOOK_ATTACKS, notebook_attack
from autograder import instructor
from autograder.authoring import samples
from autograder.config import Course
from autograder.grading import isolation
from conftest import make_course, submit

PS = "ps1"
SETUP_S, FUNCTION_S = 10, 6
try:
    SANDBOX = isolation.detect()  # AUTOGRADER_SANDBOX, when set
except RuntimeError:  # a mode this machine cannot give: every test skips, saying why (conftest)
    SANDBOX = isolation.Isolation("rlimits", False)
NEEDS_HIDING = {"read_master", "read_gradebook", "hidden_import"}
# Without any sandbox (rlimits only, see docs/grading.md, "Security") these attacks succeed
# or harm the machine running the tests, so they are only tried where a sandbox exists.
NEEDS_SANDBOX = NEEDS_HIDING | {"write_gradebook", "fork_bomb"}
TRIED = {name: attack for name, attack in ATTACKS.items() if SANDBOX.mode != "rlimits" or name not in NEEDS_SANDBOX}
# where the packages the sandbox must not reach really are: this interpreter's site-packages (PyTorch)
# and the folder that holds the autograder package (the references)
SITE = sysconfig.get_paths()["purelib"]
REPO = str(Path(autograder.__file__).resolve().parent.parent)
GRADEBOOK_MAGIC = b"SQLite format 3"  # the first bytes of any SQLite file, the gradebook's included
MASTER_SECRETS = ("BEGIN SOLUTION", "np.where(scores >= 0, 1.0, -1.0)")  # in the master's predict only


def substitute(source: str, root, port: int) -> str:
    for key, value in {"course": str(root), "port": str(port), "site": SITE, "repo": REPO}.items():
        source = source.replace("{" + key + "}", value)
    return source


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
    before = instructor.table(course, PS)[1]
    protected = {p: digest(p) for p in [root / "solutions" / PS / f"{PS}.ipynb", root / "nbgrader_config.py"]}

    listener = Listener()
    students = []
    for name, (function, source) in TRIED.items():
        source = substitute(source, root, listener.port)
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
    after = instructor.table(course, PS)[1]
    return {"root": root, "course": course, "run": run, "again": again, "before": before, "after": after,
            "listener": listener, "protected": protected, "students": students}


def total(table, student):
    return sum(v or 0 for k, v in table[student].items() if k.startswith("test_"))


def report(corpus, student) -> dict:
    return json.loads((corpus["course"].autograded / student / PS / "autograder_report.json").read_text())


def predict_feedback(corpus, student) -> str:
    return "\n".join(report(corpus, student)["functions"]["predict"]["messages"])


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
    # these sabotage their own results (forge_ahead claims the next function started, so that one is blamed)
    kills_everything = {"exit_at_top_level", "loop_at_top_level", "fake_results_file", "forge_ahead"}
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


# ------------------------------------------------------------------ attacks on the trusted side
def test_forged_progress_lines_do_not_extend_the_deadline(corpus):
    """deadline_forgery writes "S 0" (and other starts and ends) to the progress pipe every 0.5 s for
    25 s in each of predict's 7 cases. Each line used to restart predict's clock: graded with these
    budgets, the old harness let it run for 175 s. Now predict is cut at its own budget, and the whole
    submission stays far below its cap (setup + every budget = 46 s)."""
    cap = SETUP_S + 6 * FUNCTION_S
    for student in ("code_deadline_forgery", "mixed_deadline_forgery"):
        result = report(corpus, student)
        assert result["functions"]["predict"]["score"] == 0, student
        assert f"timed out after {FUNCTION_S} s" in predict_feedback(corpus, student), student
        assert result["seconds"] < cap, (student, result["seconds"])
        assert result["seconds"] < 20, (student, result["seconds"])  # about FUNCTION_S; the forged loop is 25 s


def test_forged_ends_and_starts_gain_nothing_and_never_outlast_the_cap(corpus):
    """forge_ahead says "D 0" and "S <next>" while predict is still running. The child shares its process
    with the student's code, so a forged end of predict cannot be told from a real one; what holds is that
    it gains nothing (predict has no results, so 0) and that the submission as a whole, over every fresh
    process, stays within setup + the sum of its functions' budgets (it used to be stretched to that cap
    in every process: 119 s in one reproduction)."""
    cap = SETUP_S + 6 * FUNCTION_S
    for student in ("code_forge_ahead", "mixed_forge_ahead"):
        assert report(corpus, student)["functions"]["predict"]["score"] == 0, student
        assert report(corpus, student)["seconds"] < cap + 5, (student, report(corpus, student)["seconds"])
    assert total(corpus["after"], "code_forge_ahead") == 0
    assert total(corpus["after"], "mixed_forge_ahead") <= 9


def test_hostile_json_from_the_sandbox_is_refused(corpus):
    """deep_cells_json makes the child write cells.json and result_0.json as 200 000 nested brackets
    (json.loads raised RecursionError in the grader): predict is refused, everything else graded."""
    for student in ("code_deep_cells_json", "mixed_deep_cells_json"):
        feedback = predict_feedback(corpus, student)
        assert "could not read" in feedback and "nests more than" in feedback, feedback
        assert report(corpus, student)["functions"]["predict"]["score"] == 0
    assert total(corpus["after"], "mixed_deep_cells_json") == 9


def test_a_compressed_array_bomb_is_never_unpacked(corpus):
    """npz_bomb saves predict's results compressed: 400 MB of zeros in about 400 kB."""
    for student in ("code_npz_bomb", "mixed_npz_bomb"):
        feedback = predict_feedback(corpus, student)
        assert "could not read" in feedback and "compressed" in feedback, feedback
        assert report(corpus, student)["functions"]["predict"]["score"] == 0
    assert total(corpus["after"], "mixed_npz_bomb") == 9


def test_sources_the_import_scan_cannot_parse(corpus):
    """A 400 000-character sum (RecursionError in ast.parse) and 100 000 unary minuses (MemoryError:
    the parser's stack overflows) crashed the grader's import scan; now the cell cannot be graded."""
    for name in ("import_scan_recursion", "import_scan_memory"):
        for student in (f"code_{name}", f"mixed_{name}"):
            assert "cannot be graded" in predict_feedback(corpus, student), student
            assert report(corpus, student)["functions"]["predict"]["score"] == 0, student
        assert total(corpus["after"], f"mixed_{name}") == 9, name


def test_a_deeply_nested_notebook_is_refused_alone(corpus):
    """A metadata value nested 100 000 levels deep: json.loads raised RecursionError and the whole
    autograde run stopped. Now that notebook alone scores 0, with the reason; the others are graded
    (test_the_grader_never_crashes_and_grades_everyone)."""
    result = report(corpus, "structure_deeply_nested_notebook")
    assert result["score"] == 0 and total(corpus["after"], "structure_deeply_nested_notebook") == 0
    assert "nests more than" in (result["problem"] or ""), result


@pytest.mark.skipif(not SANDBOX.hides_files, reason="only bubblewrap hides the site-packages and the course folder")
def test_only_the_sandbox_stops_the_hidden_import(corpus):
    """hidden_import puts the real site-packages and the repository on sys.path and imports torch and
    the references under names built at run time: the static scan cannot see it (no NumPy-only
    verdict), the import fails because those folders do not exist in the sandbox."""
    for student in ("code_hidden_import", "mixed_hidden_import"):
        feedback = predict_feedback(corpus, student)
        assert "NumPy only" not in feedback, feedback
        assert "hidden import failed" in feedback and "No module named" in feedback, feedback


@pytest.mark.skipif(not SANDBOX.hides_files, reason="only bubblewrap hides the course folder")
def test_nothing_read_from_the_course_folder_comes_back(corpus):
    """read_gradebook raises with the gradebook's first bytes in hex, read_master with the master's
    predict in its cell's error (shown in the autograded notebook): neither may appear anywhere."""
    course = corpus["course"]
    for student in corpus["students"]:
        text = (course.autograded / student / PS / "autograder_report.json").read_text()
        assert GRADEBOOK_MAGIC.hex() not in text and GRADEBOOK_MAGIC.decode() not in text, student
    assert "No such file or directory" in predict_feedback(corpus, "code_read_gradebook")
    for name in ("autograder_report.json", f"{PS}.ipynb"):
        text = (course.autograded / "code_read_master" / PS / name).read_text()
        for secret in MASTER_SECRETS:
            assert secret not in text, (name, secret)


PEAK_RSS = """import resource, sys
from autograder.instructor import grading_run
from autograder.cli import main
before = []
run = grading_run.step_run
def step_run(sub, grader):
    before.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return run(sub, grader)
grading_run.step_run = step_run
code = main(sys.argv[1:])
print("PEAK_RSS_KB", before[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""
MAX_GRADER_RSS_MB = 400  # the grading process's peak; about 330 MB here with PyTorch loaded (on the CPU)
MAX_GROWTH_MB = 100      # what grading the bomb may add to it; unpacking it added 400 MB


def test_the_bomb_does_not_inflate_the_grading_process(tmp_path, notebooks):
    """Grade npz_bomb alone through the CLI and read the grading process's own peak RSS
    (RUSAGE_SELF, in the process: /usr/bin/time -v and RUSAGE_CHILDREN also count processes it
    waited for). The old harness unpacked the 400 MB array here (measured: 282 MB -> 665 MB)."""
    root = make_course(tmp_path / "bomb")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Harness.setup_s = {SETUP_S}\nc.Harness.function_s = {FUNCTION_S}\n")
    master, release = notebooks[PS]
    submit(root, PS, "bomb", samples.fill(release, {"predict": ATTACKS["npz_bomb"][1]}))
    env = {**os.environ, "AUTOGRADER_DEVICE": "cpu"}  # a CUDA context would add its own host memory
    run = subprocess.run([sys.executable, "-c", PEAK_RSS, "autograde", PS, "--student", "bomb"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    before, peak = (int(v) / 1024 for v in next(line for line in run.stdout.splitlines()
                                                 if line.startswith("PEAK_RSS_KB")).split()[1:])
    assert peak - before < MAX_GROWTH_MB, f"grading the bomb took the grader from {before:.0f} MB to {peak:.0f} MB"
    assert peak < MAX_GRADER_RSS_MB, f"the grader peaked at {peak:.0f} MB ({before:.0f} MB before the bomb)"
    result = json.loads((root / "autograded" / "bomb" / PS / "autograder_report.json").read_text())
    assert "compressed" in "\n".join(result["functions"]["predict"]["messages"])
